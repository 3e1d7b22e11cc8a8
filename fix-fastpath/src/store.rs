//! A crash-safe message and sequence store for one FIX session, in a memory-mapped file.
//!
//! ```text
//! file: [ header 4 KiB: magic, capacity, counters slot A, counters slot B ][ record log … ]
//! record: len u32 | crc32 u32 | seq u64 | message bytes
//! counters: generation, next sender seq, next target seq, ClOrdID high-water, log tail, crc32
//! ```
//!
//! Writes go to a `MAP_SHARED` mapping, so they are in the kernel's page cache the moment they
//! are made: a killed process (`kill -9`, abort, panic) loses nothing it had written. Only a host
//! crash needs the pages on disk; [`FlushPolicy`] decides when `msync` runs (a syscall, so by
//! default never on the hot path: call [`Store::flush`] from a housekeeping thread).
//!
//! Ordering makes torn writes harmless: a record is written in full before the counters that
//! commit it, and counters alternate between two checksummed slots, so recovery always finds
//! the last complete state. On open, every committed record's CRC is verified and the log is
//! truncated at the first bad one.
//!
//! Appends never allocate: the per-sequence index is sized at open.

use std::fs::OpenOptions;
use std::path::Path;
use std::sync::atomic::{fence, Ordering};

use memmap2::MmapMut;

use crate::session::{Journal, JournalError};

const MAGIC: &[u8; 8] = b"TWSTORE1";
const HEADER_LEN: usize = 4096;
const SLOT_A: usize = 64;
const SLOT_B: usize = 128;
const SLOT_LEN: usize = 44;
const RECORD_HEAD: usize = 16;

/// Bytes of the next record [`Journal::warm`] reads ahead: an order with room to spare.
const WARM_BYTES: usize = 512;
const NO_RECORD: u32 = u32::MAX;

/// When the store asks the kernel to write its pages to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushPolicy {
    /// Never from the write path (process crashes lose nothing; call [`Store::flush`]).
    Never,
    /// After every `n` appended messages.
    Every(u32),
}

/// Why a store could not be opened.
#[derive(Debug)]
pub enum OpenError {
    /// The file could not be created, sized or mapped.
    Io(std::io::Error),
    /// The file exists but is not a tickwire store.
    NotAStore,
    /// The file was created with another capacity.
    CapacityMismatch { file: u64, requested: u64 },
    /// Neither counter slot is valid.
    Corrupt,
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Io(e) => write!(f, "store I/O: {e}"),
            Self::NotAStore => f.write_str("file is not a tickwire store"),
            Self::CapacityMismatch { file, requested } => {
                write!(f, "store holds {file} bytes of log, {requested} requested")
            }
            Self::Corrupt => f.write_str("store counters are corrupt"),
        }
    }
}

impl std::error::Error for OpenError {}

impl From<std::io::Error> for OpenError {
    fn from(e: std::io::Error) -> Self {
        OpenError::Io(e)
    }
}

/// Sizes fixed when the store is created.
#[derive(Debug, Clone, Copy)]
pub struct StoreConfig {
    /// Bytes of message log.
    pub log_bytes: u64,
    /// Sequence numbers the resend index covers per epoch.
    pub index_entries: usize,
    /// When to `msync`.
    pub flush: FlushPolicy,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            log_bytes: 64 << 20,
            index_entries: 1 << 20,
            flush: FlushPolicy::Never,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Counters {
    generation: u64,
    next_sender: u64,
    next_target: u64,
    clordid_high_water: u64,
    tail: u64,
}

impl Counters {
    fn encode(&self, out: &mut [u8]) {
        out[0..8].copy_from_slice(&self.generation.to_le_bytes());
        out[8..16].copy_from_slice(&self.next_sender.to_le_bytes());
        out[16..24].copy_from_slice(&self.next_target.to_le_bytes());
        out[24..32].copy_from_slice(&self.clordid_high_water.to_le_bytes());
        out[32..40].copy_from_slice(&self.tail.to_le_bytes());
        let crc = crc32fast::hash(&out[0..40]);
        out[40..44].copy_from_slice(&crc.to_le_bytes());
    }

    fn decode(b: &[u8]) -> Option<Counters> {
        let u = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or([0; 8]));
        let crc = u32::from_le_bytes(b[40..44].try_into().unwrap_or([0; 4]));
        if crc32fast::hash(&b[0..40]) != crc {
            return None;
        }
        Some(Counters {
            generation: u(0),
            next_sender: u(8),
            next_target: u(16),
            clordid_high_water: u(24),
            tail: u(32),
        })
    }

    /// The newer of the two slots of a store file's header `head` whose CRC is right (`None`
    /// when neither is). Generations are compared as serial numbers, so the slot written after
    /// the generation wrapped is still the newer one.
    fn latest(head: &[u8]) -> Option<Counters> {
        let a = Counters::decode(head.get(SLOT_A..SLOT_A + SLOT_LEN)?);
        let b = Counters::decode(head.get(SLOT_B..SLOT_B + SLOT_LEN)?);
        match (a, b) {
            (Some(a), Some(b)) => {
                let b_newer = (b.generation.wrapping_sub(a.generation) as i64) > 0;
                Some(if b_newer { b } else { a })
            }
            (a, b) => a.or(b),
        }
    }
}

/// The records of `log` (a store file's log region) that the counters commit up to `tail`,
/// each verified: (offset in `log`, MsgSeqNum, message length). Stops at the first record that
/// is torn, fails its CRC, is empty, or runs past `tail` or the log: what follows it is not
/// trusted.
fn committed(log: &[u8], tail: u64) -> impl Iterator<Item = (usize, u64, usize)> + '_ {
    let tail = usize::try_from(tail).unwrap_or(usize::MAX).min(log.len());
    let mut pos = 0usize;
    core::iter::from_fn(move || {
        let head = log.get(pos..pos + RECORD_HEAD)?;
        let len = u32::from_le_bytes(head[0..4].try_into().ok()?) as usize;
        let crc = u32::from_le_bytes(head[4..8].try_into().ok()?);
        let seq = u64::from_le_bytes(head[8..16].try_into().ok()?);
        let end = pos + RECORD_HEAD + len;
        if len == 0 || end > tail {
            return None;
        }
        let mut h = crc32fast::Hasher::new();
        h.update(&head[8..16]);
        h.update(&log[pos + RECORD_HEAD..end]);
        if h.finalize() != crc {
            return None;
        }
        let at = pos;
        pos = end;
        Some((at, seq, len))
    })
}

/// One stored message, as the offline reader reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// MsgSeqNum it was sent with.
    pub seq: u64,
    /// The message.
    pub bytes: Vec<u8>,
}

/// The journal of one FIX session.
#[derive(Debug)]
pub struct Store {
    map: MmapMut,
    counters: Counters,
    index: Vec<u32>,
    index_base: u64,
    log_bytes: u64,
    flush: FlushPolicy,
    since_flush: u32,
    recovered_truncation: Option<u64>,
}

impl Store {
    /// Opens `path`, creating it with `cfg`'s sizes if absent, and recovers its state.
    ///
    /// # Errors
    /// [`OpenError`].
    pub fn open(path: &Path, cfg: StoreConfig) -> Result<Store, OpenError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        let want = HEADER_LEN as u64 + cfg.log_bytes;
        let len = file.metadata()?.len();
        let fresh = len == 0;
        if fresh {
            file.set_len(want)?;
        } else if len < HEADER_LEN as u64 {
            return Err(OpenError::NotAStore);
        }
        let mut map = mapping::map(&file)?;
        if fresh {
            map[0..8].copy_from_slice(MAGIC);
            map[8..16].copy_from_slice(&cfg.log_bytes.to_le_bytes());
            let c = Counters {
                generation: 1,
                next_sender: 1,
                next_target: 1,
                clordid_high_water: 0,
                tail: 0,
            };
            c.encode(&mut map[SLOT_A..SLOT_A + SLOT_LEN]);
        }
        if &map[0..8] != MAGIC {
            return Err(OpenError::NotAStore);
        }
        let file_log = u64::from_le_bytes(map[8..16].try_into().unwrap_or([0; 8]));
        if file_log != cfg.log_bytes || map.len() as u64 != HEADER_LEN as u64 + file_log {
            return Err(OpenError::CapacityMismatch {
                file: file_log,
                requested: cfg.log_bytes,
            });
        }
        let counters = Counters::latest(&map).ok_or(OpenError::Corrupt)?;
        let mut store = Store {
            map,
            counters,
            index: vec![NO_RECORD; cfg.index_entries.max(1)],
            index_base: 0,
            log_bytes: cfg.log_bytes,
            flush: cfg.flush,
            since_flush: 0,
            recovered_truncation: None,
        };
        store.recover();
        Ok(store)
    }

    /// Verifies committed records, rebuilds the index, truncates at the first bad record.
    fn recover(&mut self) {
        let mut pos = 0u64;
        let mut first = true;
        for (at, seq, len) in committed(&self.map[HEADER_LEN..], self.counters.tail) {
            if first {
                self.index_base = seq;
                first = false;
            }
            if let Some(slot) = seq
                .checked_sub(self.index_base)
                .and_then(|i| self.index.get_mut(i as usize))
            {
                *slot = at as u32;
            }
            pos = (at + RECORD_HEAD + len) as u64;
        }
        if pos != self.counters.tail {
            self.recovered_truncation = Some(self.counters.tail - pos);
            let mut c = self.counters;
            c.tail = pos;
            self.commit(c);
        }
    }

    /// Bytes dropped at open because the log ended in a torn or corrupt record.
    pub fn recovered_truncation(&self) -> Option<u64> {
        self.recovered_truncation
    }

    fn commit(&mut self, mut c: Counters) {
        // Wraps after 2^64 commits, which `Counters::latest` orders correctly.
        c.generation = self.counters.generation.wrapping_add(1);
        let slot = if c.generation % 2 == 0 {
            SLOT_B
        } else {
            SLOT_A
        };
        // The record (if any) must be complete before the counters that commit it.
        fence(Ordering::Release);
        c.encode(&mut self.map[slot..slot + SLOT_LEN]);
        self.counters = c;
    }

    /// The stored messages with MsgSeqNum in `from..=to`, in sequence order, for a resend
    /// (35=2). Sequence numbers not held (admin messages, another epoch) are skipped: the caller
    /// gap-fills them. `to` may be `u64::MAX`. Does not allocate.
    pub fn sent_range(&self, from: u64, to: u64) -> impl Iterator<Item = (u64, &[u8])> + '_ {
        // Bounded by the index, so `to = u64::MAX` (EndSeqNo 0, "infinity") is cheap.
        let last = self
            .index_base
            .saturating_add(self.index.len() as u64)
            .saturating_sub(1);
        (from.max(self.index_base)..=to.min(last))
            .filter_map(move |seq| self.sent(seq).map(|m| (seq, m)))
    }

    /// The ClOrdID high-water mark (last ClOrdID used), for [`crate::kraken::SpotClOrdId`].
    pub fn clordid_high_water(&self) -> u64 {
        self.counters.clordid_high_water
    }

    /// Records the last ClOrdID used. Call before the order leaves.
    pub fn set_clordid_high_water(&mut self, value: u64) {
        if value > self.counters.clordid_high_water {
            let mut c = self.counters;
            c.clordid_high_water = value;
            self.commit(c);
        }
    }

    /// Asks the kernel to write the mapping to disk (a syscall: not for the hot path).
    ///
    /// # Errors
    /// The `msync` failure.
    pub fn flush(&self) -> std::io::Result<()> {
        self.map.flush()
    }

    /// Every committed record of the file at `path` up to the first that fails its CRC (what
    /// [`Store::open`] would serve), without modifying the file (offline reader).
    ///
    /// # Errors
    /// [`OpenError`].
    pub fn read_records(path: &Path) -> Result<(u64, u64, u64, Vec<Record>), OpenError> {
        let data = std::fs::read(path)?;
        if data.len() < HEADER_LEN || &data[0..8] != MAGIC {
            return Err(OpenError::NotAStore);
        }
        let c = Counters::latest(&data).ok_or(OpenError::Corrupt)?;
        let out = committed(&data[HEADER_LEN..], c.tail)
            .map(|(pos, seq, len)| Record {
                seq,
                bytes: data[HEADER_LEN + pos + RECORD_HEAD..][..len].to_vec(),
            })
            .collect();
        Ok((c.next_sender, c.next_target, c.clordid_high_water, out))
    }
}

/// The one `unsafe` operation of this crate: mapping the store file.
#[allow(unsafe_code)]
mod mapping {
    /// Maps `file` read-write and shared.
    pub(super) fn map(file: &std::fs::File) -> std::io::Result<memmap2::MmapMut> {
        // SAFETY: `MmapMut::map_mut` is unsafe because another process (or this one through
        // another handle) could truncate or modify the file while it is mapped, which would
        // make our slices change under us or fault. A store file belongs to exactly one
        // session of one process for its whole life (documented on `Store`); we never shrink
        // it, and the length was set before mapping.
        // MAP_POPULATE: the pages are read in and mapped now, not faulted in one by one on
        // the send path.
        unsafe { memmap2::MmapOptions::new().populate().map_mut(file) }
    }
}

impl Journal for Store {
    fn next_sender_seq(&self) -> u64 {
        self.counters.next_sender
    }

    fn next_target_seq(&self) -> u64 {
        self.counters.next_target
    }

    fn set_next_sender_seq(&mut self, seq: u64) {
        let mut c = self.counters;
        c.next_sender = seq;
        self.commit(c);
    }

    fn set_next_target_seq(&mut self, seq: u64) {
        let mut c = self.counters;
        c.next_target = seq;
        self.commit(c);
    }

    fn record_sent(&mut self, seq: u64, bytes: &[u8]) -> Result<(), JournalError> {
        let need = (RECORD_HEAD + bytes.len()) as u64;
        let tail = self.counters.tail;
        if tail + need > self.log_bytes || bytes.is_empty() {
            return Err(JournalError::Full {
                capacity: self.log_bytes as usize,
            });
        }
        if tail == 0 {
            self.index_base = seq;
            self.index.iter_mut().for_each(|s| *s = NO_RECORD);
        }
        let Some(slot) = seq
            .checked_sub(self.index_base)
            .filter(|&i| (i as usize) < self.index.len())
        else {
            return Err(JournalError::Full {
                capacity: self.index.len(),
            });
        };
        let p = HEADER_LEN + tail as usize;
        let seq_bytes = seq.to_le_bytes();
        let mut h = crc32fast::Hasher::new();
        h.update(&seq_bytes);
        h.update(bytes);
        let crc = h.finalize();
        self.map[p..p + 4].copy_from_slice(&(bytes.len() as u32).to_le_bytes());
        self.map[p + 4..p + 8].copy_from_slice(&crc.to_le_bytes());
        self.map[p + 8..p + 16].copy_from_slice(&seq_bytes);
        self.map[p + RECORD_HEAD..p + RECORD_HEAD + bytes.len()].copy_from_slice(bytes);
        self.index[slot as usize] = tail as u32;
        let mut c = self.counters;
        c.tail = tail + need;
        self.commit(c);
        if let FlushPolicy::Every(n) = self.flush {
            self.since_flush += 1;
            if self.since_flush >= n {
                self.since_flush = 0;
                self.flush().map_err(|_| JournalError::Io)?;
            }
        }
        Ok(())
    }

    fn warm(&self) {
        // The next record goes at the tail, never written since the file was mapped: its
        // head and an order's worth of bytes after it.
        let p = HEADER_LEN + self.counters.tail as usize;
        let end = (p + RECORD_HEAD + WARM_BYTES).min(self.map.len());
        if let Some(next) = self.map.get(p..end) {
            crate::session::touch(next);
        }
        let slot = self.counters.next_sender.saturating_sub(self.index_base) as usize;
        core::hint::black_box(self.index.get(slot).copied());
    }

    fn sent(&self, seq: u64) -> Option<&[u8]> {
        let i = seq.checked_sub(self.index_base)? as usize;
        let off = *self.index.get(i)?;
        if off == NO_RECORD || u64::from(off) >= self.counters.tail {
            return None;
        }
        let p = HEADER_LEN + off as usize;
        let len = u32::from_le_bytes(self.map[p..p + 4].try_into().ok()?) as usize;
        let stored_seq = u64::from_le_bytes(self.map[p + 8..p + 16].try_into().ok()?);
        (stored_seq == seq).then(|| &self.map[p + RECORD_HEAD..p + RECORD_HEAD + len])
    }

    fn reset(&mut self) {
        let mut c = self.counters;
        c.next_sender = 1;
        c.next_target = 1;
        c.tail = 0;
        self.commit(c);
        self.index.iter_mut().for_each(|s| *s = NO_RECORD);
        self.index_base = 0;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    const LOG: u64 = 4096;

    fn cfg() -> StoreConfig {
        StoreConfig {
            log_bytes: LOG,
            index_entries: 64,
            flush: FlushPolicy::Never,
        }
    }

    /// A path of its own for each call in this process.
    fn temp() -> std::path::PathBuf {
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        std::env::temp_dir().join(format!("tickwire-store-unit-{}-{n}", std::process::id()))
    }

    /// A counters slot as the file holds it: values, and whether its CRC is right.
    fn slot() -> impl Strategy<Value = (Counters, bool)> {
        let value = prop_oneof![
            0..8u64,
            Just(LOG),
            Just(u64::MAX),
            Just(u64::MAX - 1),
            any::<u64>()
        ];
        let tail = prop_oneof![0..LOG + 64, Just(u64::MAX), any::<u64>()];
        (
            value.clone(),
            value.clone(),
            value.clone(),
            value,
            tail,
            any::<bool>(),
        )
            .prop_map(
                |(generation, next_sender, next_target, clordid_high_water, tail, valid)| {
                    (
                        Counters {
                            generation,
                            next_sender,
                            next_target,
                            clordid_high_water,
                            tail,
                        },
                        valid,
                    )
                },
            )
    }

    /// A record as the log holds it: declared length, CRC right or not, seq, body.
    fn record() -> impl Strategy<Value = (Option<u32>, bool, u64, Vec<u8>)> {
        (
            prop_oneof![3 => Just(None), 1 => any::<u32>().prop_map(Some)],
            any::<bool>(),
            prop_oneof![0..70u64, any::<u64>()],
            proptest::collection::vec(any::<u8>(), 0..80),
        )
    }

    /// A store file of `LOG` bytes of log with these slots and records, CRCs computed where
    /// they are meant to be right.
    fn image(
        slots: [(Counters, bool); 2],
        records: &[(Option<u32>, bool, u64, Vec<u8>)],
    ) -> Vec<u8> {
        let mut f = vec![0u8; HEADER_LEN + LOG as usize];
        f[0..8].copy_from_slice(MAGIC);
        f[8..16].copy_from_slice(&LOG.to_le_bytes());
        for ((c, valid), at) in slots.iter().zip([SLOT_A, SLOT_B]) {
            c.encode(&mut f[at..at + SLOT_LEN]);
            if !valid {
                f[at + 40] ^= 1;
            }
        }
        let mut p = HEADER_LEN;
        for (len, crc_ok, seq, body) in records {
            if p + RECORD_HEAD + body.len() > f.len() {
                break;
            }
            let mut h = crc32fast::Hasher::new();
            h.update(&seq.to_le_bytes());
            h.update(body);
            let crc = h.finalize() ^ u32::from(!crc_ok);
            let len = len.unwrap_or(body.len() as u32);
            f[p..p + 4].copy_from_slice(&len.to_le_bytes());
            f[p + 4..p + 8].copy_from_slice(&crc.to_le_bytes());
            f[p + 8..p + 16].copy_from_slice(&seq.to_le_bytes());
            f[p + RECORD_HEAD..p + RECORD_HEAD + body.len()].copy_from_slice(body);
            p += RECORD_HEAD + body.len();
        }
        f
    }

    #[test]
    fn a_generation_that_wraps_still_orders_the_slots() {
        let path = temp();
        let last = Counters {
            generation: u64::MAX,
            next_sender: 7,
            next_target: 3,
            clordid_high_water: 0,
            tail: 0,
        };
        let stale = Counters {
            generation: u64::MAX - 1,
            next_sender: 6,
            ..last
        };
        std::fs::write(&path, image([(last, true), (stale, true)], &[])).unwrap();
        let mut s = Store::open(&path, cfg()).unwrap();
        assert_eq!(s.next_sender_seq(), 7);
        // Generation 0 goes to slot B, over the stale one: it must win over u64::MAX.
        s.set_next_sender_seq(8);
        drop(s);
        let s = Store::open(&path, cfg()).unwrap();
        assert_eq!((s.next_sender_seq(), s.counters.generation), (8, 0));
        assert_eq!(Store::read_records(&path).unwrap().0, 8);
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn the_offline_reader_shows_only_verified_records() {
        let path = temp();
        let c = Counters {
            generation: 1,
            next_sender: 4,
            next_target: 1,
            clordid_high_water: 0,
            tail: LOG,
        };
        // Seq 1 and 2 verified, seq 3 with a bad CRC, seq 4 after it.
        let records = [
            (None, true, 1, b"one".to_vec()),
            (None, true, 2, b"two".to_vec()),
            (None, false, 3, b"three".to_vec()),
            (None, true, 4, b"four".to_vec()),
        ];
        std::fs::write(&path, image([(c, true), (c, false)], &records)).unwrap();
        let (_, _, _, got) = Store::read_records(&path).unwrap();
        let seqs: Vec<u64> = got.iter().map(|r| r.seq).collect();
        assert_eq!(seqs, [1, 2]);
        assert_eq!(got[1].bytes, b"two");
        // What open serves is the same.
        let s = Store::open(&path, cfg()).unwrap();
        let served: Vec<u64> = s.sent_range(0, u64::MAX).map(|(q, _)| q).collect();
        assert_eq!(served, [1, 2]);
        assert_eq!(
            s.recovered_truncation(),
            Some(LOG - 2 * RECORD_HEAD as u64 - 6)
        );
        std::fs::remove_file(&path).unwrap();
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Whatever the file holds behind a valid magic and size (counters of any value with
        /// right or wrong CRCs, records of any length, CRC and sequence number), opening it
        /// and reading it offline never panic; an opened store serves only records it
        /// verified, takes a new message, and gives it back after a reopen.
        #[test]
        fn any_counters_and_records_open_without_panic(
            a in slot(),
            b in slot(),
            records in proptest::collection::vec(record(), 0..8),
        ) {
            let path = temp();
            let file = image([a, b], &records);
            std::fs::write(&path, &file).unwrap();
            let _ = Store::read_records(&path);
            match Store::open(&path, cfg()) {
                Err(e) => prop_assert!(matches!(e, OpenError::Corrupt), "{e}"),
                Ok(mut s) => {
                    prop_assert!(a.1 || b.1, "opened with no valid slot");
                    prop_assert!(s.counters.tail <= LOG);
                    for (seq, bytes) in s.sent_range(0, u64::MAX) {
                        prop_assert!(
                            records.iter().any(|r| r.2 == seq && r.1 && r.3 == bytes),
                            "seq {seq} served but never stored with a right CRC"
                        );
                    }
                    let seq = s.next_sender_seq();
                    let sent = s.record_sent(seq, b"8=FIX.4.4\x01");
                    s.set_next_sender_seq(seq.wrapping_add(1));
                    s.warm();
                    drop(s);
                    let s = Store::open(&path, cfg()).unwrap();
                    prop_assert_eq!(s.next_sender_seq(), seq.wrapping_add(1));
                    if sent.is_ok() {
                        prop_assert_eq!(s.sent(seq), Some(&b"8=FIX.4.4\x01"[..]));
                    }
                    let _ = Store::read_records(&path);
                }
            }
            std::fs::remove_file(&path).unwrap();
        }
    }
}
