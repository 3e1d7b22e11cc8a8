//! The message log's hot-path half: FIX messages copied, with a timestamp, into a wait-free
//! single-producer byte ring that a writer thread on another core drains to files.
//!
//! ```text
//! engine thread:  Tap::record(session, dir, now, bytes) ─► rtrb byte ring (fixed capacity)
//! writer thread:  Drain::next(&mut record) ─► QuickFIX-format files (tickwire-control)
//! ```
//!
//! A record is a 16-byte header (`len: u32`, `session: u8`, `dir: u8`, two spare bytes,
//! `nanos: i64`, little endian) followed by the message. Recording never blocks, allocates or
//! makes a system call: when the ring lacks room the record is dropped and counted
//! ([`Tap::dropped`]), because the log must never slow the order path. Size the ring for the
//! bursts the writer may fall behind on.

/// Bytes of a record header.
pub const HEADER: usize = 16;
/// Bytes of free ring [`Tap::warm`] prepares: a tick in and an order out, with their headers.
pub const WARM_BYTES: usize = 1024;
/// Longest message recorded whole; longer ones are cut to this length (and flagged).
pub const MAX_MESSAGE: usize = 64 * 1024;

/// Which way a message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Received from the venue.
    In,
    /// Sent to the venue.
    Out,
    /// An event line (session state change, error), not a FIX message.
    Event,
}

impl Direction {
    fn code(self) -> u8 {
        match self {
            Self::In => 0,
            Self::Out => 1,
            Self::Event => 2,
        }
    }

    fn from_code(c: u8) -> Option<Direction> {
        Some(match c {
            0 => Self::In,
            1 => Self::Out,
            2 => Self::Event,
            _ => return None,
        })
    }
}

/// The producer end: owned by the engine thread.
#[derive(Debug)]
pub struct Tap {
    ring: rtrb::Producer<u8>,
    dropped: u64,
    /// A record went in since the last [`Tap::warm`].
    cold: bool,
}

/// The consumer end: owned by the writer thread.
#[derive(Debug)]
pub struct Drain {
    ring: rtrb::Consumer<u8>,
}

/// One record as the writer sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Record {
    /// Session index.
    pub session: u8,
    /// 0 in, 1 out, 2 event (see [`Record::direction`]).
    pub dir: u8,
    /// Nanoseconds since the Unix epoch (UTC).
    pub nanos: i64,
    /// The message or event text.
    pub bytes: Vec<u8>,
    /// The message was longer than [`MAX_MESSAGE`] and was cut.
    pub truncated: bool,
}

impl Record {
    /// Which way it went, when the code is known.
    pub fn direction(&self) -> Option<Direction> {
        Direction::from_code(self.dir)
    }
}

/// A ring of `capacity` bytes (at least one header plus [`MAX_MESSAGE`]).
pub fn ring(capacity: usize) -> (Tap, Drain) {
    let (p, c) = rtrb::RingBuffer::new(capacity.max(HEADER + MAX_MESSAGE));
    (
        Tap {
            ring: p,
            dropped: 0,
            cold: true,
        },
        Drain { ring: c },
    )
}

/// The [`HEADER`] bytes in front of a record of `len` message bytes (`cut`: the message was
/// longer and was cut to [`MAX_MESSAGE`]): length (u32), session, direction, cut flag, one
/// spare byte, timestamp (i64), little-endian. [`Drain::next`] reads them back.
#[inline]
pub fn record_header(
    session: u8,
    dir: Direction,
    cut: bool,
    len: usize,
    nanos: i64,
) -> [u8; HEADER] {
    let mut header = [0u8; HEADER];
    header[..4].copy_from_slice(&(len as u32).to_le_bytes());
    header[4] = session;
    header[5] = dir.code();
    header[6] = u8::from(cut);
    header[8..].copy_from_slice(&nanos.to_le_bytes());
    header
}

impl Tap {
    /// Copies `bytes` into the ring; returns false (and counts it) when there is no room.
    #[inline]
    pub fn record(&mut self, session: u8, dir: Direction, nanos: i64, bytes: &[u8]) -> bool {
        let body = &bytes[..bytes.len().min(MAX_MESSAGE)];
        let header = record_header(session, dir, body.len() < bytes.len(), body.len(), nanos);
        // The chunk's bytes are zeroed first (a memset: `write_chunk` hands out initialised
        // slots, which is what keeps this safe), then header and body are copied in with at
        // most four slice copies; the whole record is committed at once. Filling the chunk
        // from a byte iterator instead was ≈ 15× slower for a 330-byte message (benches/msglog).
        let Ok(mut chunk) = self.ring.write_chunk(HEADER + body.len()) else {
            self.dropped += 1;
            return false;
        };
        let (first, second) = chunk.as_mut_slices();
        let mut put = |from: usize, src: &[u8]| {
            // `src` lands at `from..from + src.len()` of the chunk: `n` bytes in the first
            // slice, the rest at the start of (or further into) the second.
            let n = first.len().saturating_sub(from).min(src.len());
            if n > 0 {
                first[from..from + n].copy_from_slice(&src[..n]);
            }
            let at = (from + n).saturating_sub(first.len());
            second[at..at + src.len() - n].copy_from_slice(&src[n..]);
        };
        put(0, &header);
        put(HEADER, body);
        chunk.commit_all();
        self.cold = true;
        true
    }

    /// Takes the ring's next [`WARM_BYTES`] into this core's cache for writing, once after
    /// each record (call it when idle): they were last read by the writer thread on another
    /// core, and a record written into lines that core still holds waits for each to be
    /// handed over. Zeroes free space only; nothing is committed, the writer sees nothing.
    pub fn warm(&mut self) {
        if !self.cold {
            return;
        }
        self.cold = false;
        let n = self.ring.slots().min(WARM_BYTES);
        // `write_chunk` zero-fills the slots it hands out; dropping the chunk commits none.
        drop(self.ring.write_chunk(n));
    }

    /// Records dropped for want of room.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

impl Drain {
    /// Moves the next whole record into `out` (reusing its buffer); false when the ring is
    /// empty. A record is always committed whole, so a partial one is never seen.
    pub fn next(&mut self, out: &mut Record) -> bool {
        if self.ring.slots() < HEADER {
            return false;
        }
        let mut header = [0u8; HEADER];
        let Ok(chunk) = self.ring.read_chunk(HEADER) else {
            return false;
        };
        let (a, b) = chunk.as_slices();
        header[..a.len()].copy_from_slice(a);
        header[a.len()..].copy_from_slice(b);
        chunk.commit_all();
        let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
        out.session = header[4];
        out.dir = header[5];
        out.truncated = header[6] != 0;
        out.nanos = i64::from_le_bytes([
            header[8], header[9], header[10], header[11], header[12], header[13], header[14],
            header[15],
        ]);
        out.bytes.clear();
        if let Ok(chunk) = self.ring.read_chunk(len) {
            let (a, b) = chunk.as_slices();
            out.bytes.extend_from_slice(a);
            out.bytes.extend_from_slice(b);
            chunk.commit_all();
        }
        true
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn records_come_out_whole_in_order_across_the_wrap() {
        let (mut tap, mut drain) = ring(HEADER + MAX_MESSAGE + 100);
        let mut r = Record::default();
        for round in 0..50u32 {
            let msg = vec![b'a' + (round % 26) as u8; 1000 + round as usize * 37];
            assert!(tap.record(3, Direction::Out, i64::from(round), &msg));
            assert!(drain.next(&mut r));
            assert_eq!(
                (r.session, r.direction(), r.nanos),
                (3, Some(Direction::Out), i64::from(round))
            );
            assert_eq!(r.bytes, msg);
            assert!(!r.truncated);
        }
        assert!(!drain.next(&mut r));
    }

    /// The ring's end falls at every offset of a record in turn, inside its header and inside
    /// its body: each comes out whole.
    #[test]
    fn a_record_split_anywhere_by_the_ring_end_comes_out_whole() {
        let cap = HEADER + MAX_MESSAGE;
        let (mut tap, mut drain) = ring(cap);
        let mut r = Record::default();
        let mut written = 0usize;
        for k in 1..=HEADER + 40 {
            // A filler that leaves the write position `k` bytes before the end.
            let filler = (2 * cap - k - written % cap - HEADER) % cap;
            assert!(filler <= MAX_MESSAGE, "k {k}");
            assert!(tap.record(0, Direction::In, 0, &vec![b'f'; filler]));
            assert!(drain.next(&mut r));
            assert_eq!(r.bytes.len(), filler);
            let msg: Vec<u8> = (0..32u8).map(|b| b'A' + b % 26).collect();
            assert!(tap.record(7, Direction::Out, k as i64, &msg));
            assert!(drain.next(&mut r), "k {k}");
            assert_eq!(
                (r.session, r.direction(), r.nanos, &r.bytes),
                (7, Some(Direction::Out), k as i64, &msg),
                "k {k}"
            );
            written += 2 * HEADER + filler + msg.len();
        }
        assert_eq!(tap.dropped(), 0);
    }

    /// `warm` commits nothing, leaves what is queued alone, and works on a full ring.
    #[test]
    fn warm_commits_nothing() {
        let (mut tap, mut drain) = ring(0);
        let mut r = Record::default();
        tap.warm();
        assert!(!drain.next(&mut r), "warm on an empty ring made a record");
        assert!(tap.record(1, Direction::In, 5, b"8=FIX.4.4\x01"));
        tap.warm();
        tap.warm();
        assert!(drain.next(&mut r));
        assert_eq!((r.nanos, &r.bytes[..]), (5, &b"8=FIX.4.4\x01"[..]));
        assert!(!drain.next(&mut r));
        // Full: nothing free to warm.
        let big = vec![b'z'; MAX_MESSAGE];
        assert!(tap.record(1, Direction::Out, 6, &big));
        tap.warm();
        assert!(drain.next(&mut r));
        assert_eq!(r.bytes, big);
        assert!(!drain.next(&mut r));
        assert_eq!(tap.dropped(), 0);
    }

    #[test]
    fn a_full_ring_drops_and_counts_never_blocks() {
        let (mut tap, mut drain) = ring(0);
        let big = vec![b'x'; MAX_MESSAGE];
        assert!(tap.record(0, Direction::In, 1, &big));
        assert!(!tap.record(0, Direction::In, 2, b"8=FIX.4.4"));
        assert_eq!(tap.dropped(), 1);
        let mut r = Record::default();
        assert!(drain.next(&mut r));
        assert_eq!(r.nanos, 1);
        assert!(tap.record(0, Direction::Event, 3, b"logon"));
        assert!(drain.next(&mut r));
        assert_eq!(
            (r.bytes.as_slice(), r.direction()),
            (&b"logon"[..], Some(Direction::Event))
        );
    }

    #[test]
    fn oversized_messages_are_cut_and_flagged() {
        let (mut tap, mut drain) = ring(0);
        let huge = vec![b'y'; MAX_MESSAGE + 10];
        assert!(tap.record(1, Direction::In, 5, &huge));
        let mut r = Record::default();
        assert!(drain.next(&mut r));
        assert_eq!(r.bytes.len(), MAX_MESSAGE);
        assert!(r.truncated);
    }
}
