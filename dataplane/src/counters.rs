//! The engine's counters: a fixed `#[repr(C)]` block of `AtomicU64`s that the engine thread
//! writes and any other thread — or another process, through a memory-mapped file — reads.
//!
//! ```text
//! engine thread ──store(Relaxed)──► Counters { header, port, session[MAX_SESSIONS] }
//!                                      ▲ Arc (same process)  ▲ mmap MAP_SHARED (`tickwire` CLI,
//!                                      │                     │  monitoring, tests)
//!                                   readers: load(Relaxed)
//! ```
//!
//! Contract: one writer (the engine), any number of readers. Each value is atomic on its own;
//! a set of values read one after the other is not a consistent snapshot. The layout is
//! versioned ([`MAGIC`], [`VERSION`]): fields are only ever appended (to a section, or to the
//! block), each is a little-endian `u64` at a fixed offset within a version, so a reader in
//! another language can read the file as an array of `u64`. Version 2 appended sequence
//! numbers, logon time, MD requests, mass cancels and probes to each session (30 words), and
//! `log_dropped`, `commands_unknown`, the armed-order and run-time risk sections to the block. The writer publishes with plain loads and stores (no read-modify-write instruction:
//! it is the only writer), so counting costs a few `mov`s per cycle.

use std::fs::OpenOptions;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use memmap2::MmapMut;

use crate::engine::sys;

/// First word of the block: `TWCOUNT1` in ASCII, little-endian.
pub const MAGIC: u64 = u64::from_le_bytes(*b"TWCOUNT1");
/// Layout version (incremented when fields are appended).
pub const VERSION: u64 = 2;
/// Sessions the block has room for.
pub const MAX_SESSIONS: usize = 8;

/// Counters of the NIC port and the stack in front of the sessions.
#[repr(C)]
#[derive(Debug, Default)]
pub struct Port {
    /// Frames the NIC delivered (before the allowlist).
    pub rx_frames: AtomicU64,
    /// Bytes of those frames.
    pub rx_bytes: AtomicU64,
    /// Frames handed to the NIC for transmission.
    pub tx_frames: AtomicU64,
    /// Bytes of those frames.
    pub tx_bytes: AtomicU64,
    /// Frames the stack could not queue because the NIC's ring was full (TCP retransmits).
    pub tx_ring_full: AtomicU64,
    /// Frames that passed the allowlist into the stack.
    pub stack_rx_frames: AtomicU64,
    /// Dropped before the stack: source address not allowed.
    pub drop_not_allowed: AtomicU64,
    /// Dropped before the stack: EtherType other than IPv4/ARP.
    pub drop_unsupported: AtomicU64,
    /// Dropped before the stack: malformed frame.
    pub drop_malformed: AtomicU64,
}

/// Counters of one venue session (TCP + TLS + FIX).
#[repr(C)]
#[derive(Debug, Default)]
pub struct Session {
    /// Where the session is ([`crate::engine::Phase::code`]).
    pub phase: AtomicU64,
    /// TCP connections opened.
    pub connects: AtomicU64,
    /// Connections opened after the first (reconnects).
    pub reconnects: AtomicU64,
    /// Connections that ended (any reason).
    pub disconnects: AtomicU64,
    /// FIX logons completed.
    pub logons: AtomicU64,
    /// TLS records received (all content types).
    pub tls_records_in: AtomicU64,
    /// TLS application-data records sent.
    pub tls_records_out: AtomicU64,
    /// Ciphertext bytes received.
    pub tls_bytes_in: AtomicU64,
    /// Ciphertext bytes sent.
    pub tls_bytes_out: AtomicU64,
    /// FIX messages accepted in sequence (all connections).
    pub fix_in: AtomicU64,
    /// FIX messages sent (all connections).
    pub fix_out: AtomicU64,
    /// Garbled or unparseable FIX messages dropped.
    pub fix_garbled: AtomicU64,
    /// Session Rejects (35=3) we sent.
    pub rejects_sent: AtomicU64,
    /// Session Rejects (35=3) we received.
    pub rejects_received: AtomicU64,
    /// BusinessMessageRejects (35=j) received.
    pub business_rejects: AtomicU64,
    /// ExecutionReports with ExecType=Rejected (150=8).
    pub order_rejects: AtomicU64,
    /// ExecutionReports received.
    pub execution_reports: AtomicU64,
    /// Market-data messages applied to the session's book.
    pub book_updates: AtomicU64,
    /// Orders sent through a precompiled template.
    pub orders_sent: AtomicU64,
    /// Orders refused before sending (pre-trade check, kill switch, session down).
    pub orders_refused: AtomicU64,
    /// Code of the last error that ended a connection (0: none; see `engine::Teardown::code`).
    pub last_error: AtomicU64,
    // ----- version 2 -----
    /// MsgSeqNum the next message we send gets (from the session's journal).
    pub next_sender_seq: AtomicU64,
    /// MsgSeqNum expected on the next message we receive.
    pub next_target_seq: AtomicU64,
    /// When the last logon completed, ns since the Unix epoch (UTC); 0: never.
    pub logon_ns: AtomicU64,
    /// MarketDataRequests (35=V) sent (one after every logon of a subscribing session).
    pub md_requests: AtomicU64,
    /// OrderMassCancelRequests (35=q) sent.
    pub mass_cancels: AtomicU64,
    /// Commands for this session the engine refused (e.g. `SetSeq` while connected,
    /// `MassCancel` or `Probe` while not logged on).
    pub commands_refused: AtomicU64,
    /// Probe TestRequests (35=1) sent.
    pub probes_sent: AtomicU64,
    /// Probes answered by their Heartbeat (35=0 with the probe's TestReqID).
    pub probe_count: AtomicU64,
    /// Round trip of the last answered probe, ns (engine cycle clock).
    pub probe_rtt_ns: AtomicU64,
}

/// Counters of the armed-order strategy ([`crate::engine::armed::Armed`]).
#[repr(C)]
#[derive(Debug, Default)]
pub struct ArmedCounters {
    /// Triggers armed now.
    pub armed: AtomicU64,
    /// Control commands taken from the armed strategy's queue.
    pub commands: AtomicU64,
    /// `Arm` commands refused (table full, duplicate id, invalid field).
    pub arm_errors: AtomicU64,
    /// Trigger firings.
    pub fires: AtomicU64,
    /// Firings whose order the engine accepted.
    pub orders: AtomicU64,
    /// Firings whose order was refused (kill switch, risk, session down, no template bound),
    /// or that failed after being queued.
    pub refused: AtomicU64,
    /// Events the control thread did not take in time (its queue was full).
    pub events_dropped: AtomicU64,
}

/// Counters of the run-time risk control ([`crate::engine::live_risk::LiveGate`]).
#[repr(C)]
#[derive(Debug, Default)]
pub struct RiskCounters {
    /// Control commands taken from the queue.
    pub commands: AtomicU64,
    /// Limit changes refused (the previous limits stay in force).
    pub refused: AtomicU64,
    /// 1 while the kill switch is on.
    pub killed: AtomicU64,
}

/// The whole block.
#[repr(C)]
#[derive(Debug)]
pub struct Counters {
    /// [`MAGIC`].
    pub magic: AtomicU64,
    /// [`VERSION`].
    pub version: AtomicU64,
    /// Sessions in use (the first `sessions` entries of [`Counters::session`]).
    pub sessions: AtomicU64,
    /// Duty cycles run.
    pub cycles: AtomicU64,
    /// Cycles that did any work.
    pub busy_cycles: AtomicU64,
    /// Commands taken from the command queue.
    pub commands: AtomicU64,
    /// The port.
    pub port: Port,
    /// The sessions, in the order they were added to the engine.
    pub session: [Session; MAX_SESSIONS],
    // ----- version 2 -----
    /// Message-log records dropped because the ring was full.
    pub log_dropped: AtomicU64,
    /// Commands that named no session of the engine.
    pub commands_unknown: AtomicU64,
    /// The armed-order strategy.
    pub armed: ArmedCounters,
    /// The run-time risk control.
    pub risk: RiskCounters,
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            magic: AtomicU64::new(MAGIC),
            version: AtomicU64::new(VERSION),
            sessions: AtomicU64::new(0),
            cycles: AtomicU64::new(0),
            busy_cycles: AtomicU64::new(0),
            commands: AtomicU64::new(0),
            port: Port::default(),
            session: core::array::from_fn(|_| Session::default()),
            log_dropped: AtomicU64::new(0),
            commands_unknown: AtomicU64::new(0),
            armed: ArmedCounters::default(),
            risk: RiskCounters::default(),
        }
    }
}

/// Single-writer store.
#[inline]
pub(crate) fn set(c: &AtomicU64, v: u64) {
    c.store(v, Ordering::Relaxed);
}

/// Single-writer increment (a load and a store, no locked instruction).
#[inline]
pub(crate) fn bump(c: &AtomicU64, n: u64) {
    c.store(c.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
}

/// Reads one counter.
#[inline]
pub fn read(c: &AtomicU64) -> u64 {
    c.load(Ordering::Relaxed)
}

/// Why a counter file could not be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenError {
    /// open/ftruncate/mmap failed with this errno.
    Io(i32),
    /// The file is shorter than the block.
    TooShort {
        /// Bytes found.
        len: u64,
    },
    /// The first word is not [`MAGIC`]: not a tickwire counter file.
    BadMagic,
    /// A layout version this build does not know.
    Version(u64),
}

impl core::fmt::Display for OpenError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Io(e) => write!(f, "counter file: {}", std::io::Error::from_raw_os_error(*e)),
            Self::TooShort { len } => write!(
                f,
                "counter file has {len} bytes, the block needs {}",
                core::mem::size_of::<Counters>()
            ),
            Self::BadMagic => f.write_str("not a tickwire counter file (bad magic)"),
            Self::Version(v) => write!(f, "counter layout version {v}, this build reads {VERSION}"),
        }
    }
}

impl std::error::Error for OpenError {}

fn io(e: std::io::Error) -> OpenError {
    OpenError::Io(e.raw_os_error().unwrap_or(libc::EIO))
}

#[derive(Debug)]
enum Backing {
    Heap(Box<Counters>),
    File(MmapMut),
}

/// A handle on a counter block; clone it to give another thread read access.
#[derive(Debug, Clone)]
pub struct Shared(Arc<Backing>);

impl Shared {
    /// A block in this process's memory.
    pub fn in_memory() -> Shared {
        Shared(Arc::new(Backing::Heap(Box::default())))
    }

    /// Creates (or truncates) the counter file at `path` and maps it shared, for the engine.
    ///
    /// # Errors
    /// [`OpenError::Io`].
    pub fn create_file(path: &Path) -> Result<Shared, OpenError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .map_err(io)?;
        file.set_len(core::mem::size_of::<Counters>() as u64)
            .map_err(io)?;
        let map = sys::map_shared(&file).map_err(io)?;
        let shared = Shared(Arc::new(Backing::File(map)));
        let c = shared.counters();
        set(&c.version, VERSION);
        set(&c.magic, MAGIC);
        Ok(shared)
    }

    /// Maps an existing counter file (a reader in another process).
    ///
    /// # Errors
    /// [`OpenError`].
    pub fn open_file(path: &Path) -> Result<Shared, OpenError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        if len < core::mem::size_of::<Counters>() as u64 {
            return Err(OpenError::TooShort { len });
        }
        let map = sys::map_shared(&file).map_err(io)?;
        let shared = Shared(Arc::new(Backing::File(map)));
        let c = shared.counters();
        if read(&c.magic) != MAGIC {
            return Err(OpenError::BadMagic);
        }
        if read(&c.version) != VERSION {
            return Err(OpenError::Version(read(&c.version)));
        }
        Ok(shared)
    }

    /// The block.
    #[inline]
    pub fn counters(&self) -> &Counters {
        match &*self.0 {
            Backing::Heap(c) => c,
            // The length was set (create) or checked (open) above, and mappings are
            // page-aligned, so `counters_in` cannot fail here; fall back to a static block
            // rather than panic if it ever did.
            Backing::File(map) => sys::counters_in(map).unwrap_or(&EMPTY),
        }
    }
}

static EMPTY: Counters = Counters {
    magic: AtomicU64::new(0),
    version: AtomicU64::new(0),
    sessions: AtomicU64::new(0),
    cycles: AtomicU64::new(0),
    busy_cycles: AtomicU64::new(0),
    commands: AtomicU64::new(0),
    port: Port {
        rx_frames: AtomicU64::new(0),
        rx_bytes: AtomicU64::new(0),
        tx_frames: AtomicU64::new(0),
        tx_bytes: AtomicU64::new(0),
        tx_ring_full: AtomicU64::new(0),
        stack_rx_frames: AtomicU64::new(0),
        drop_not_allowed: AtomicU64::new(0),
        drop_unsupported: AtomicU64::new(0),
        drop_malformed: AtomicU64::new(0),
    },
    session: [ZERO_SESSION; MAX_SESSIONS],
    log_dropped: AtomicU64::new(0),
    commands_unknown: AtomicU64::new(0),
    armed: ArmedCounters {
        armed: AtomicU64::new(0),
        commands: AtomicU64::new(0),
        arm_errors: AtomicU64::new(0),
        fires: AtomicU64::new(0),
        orders: AtomicU64::new(0),
        refused: AtomicU64::new(0),
        events_dropped: AtomicU64::new(0),
    },
    risk: RiskCounters {
        commands: AtomicU64::new(0),
        refused: AtomicU64::new(0),
        killed: AtomicU64::new(0),
    },
};

#[allow(clippy::declare_interior_mutable_const)]
const ZERO_SESSION: Session = Session {
    phase: AtomicU64::new(0),
    connects: AtomicU64::new(0),
    reconnects: AtomicU64::new(0),
    disconnects: AtomicU64::new(0),
    logons: AtomicU64::new(0),
    tls_records_in: AtomicU64::new(0),
    tls_records_out: AtomicU64::new(0),
    tls_bytes_in: AtomicU64::new(0),
    tls_bytes_out: AtomicU64::new(0),
    fix_in: AtomicU64::new(0),
    fix_out: AtomicU64::new(0),
    fix_garbled: AtomicU64::new(0),
    rejects_sent: AtomicU64::new(0),
    rejects_received: AtomicU64::new(0),
    business_rejects: AtomicU64::new(0),
    order_rejects: AtomicU64::new(0),
    execution_reports: AtomicU64::new(0),
    book_updates: AtomicU64::new(0),
    orders_sent: AtomicU64::new(0),
    orders_refused: AtomicU64::new(0),
    last_error: AtomicU64::new(0),
    next_sender_seq: AtomicU64::new(0),
    next_target_seq: AtomicU64::new(0),
    logon_ns: AtomicU64::new(0),
    md_requests: AtomicU64::new(0),
    mass_cancels: AtomicU64::new(0),
    commands_refused: AtomicU64::new(0),
    probes_sent: AtomicU64::new(0),
    probe_count: AtomicU64::new(0),
    probe_rtt_ns: AtomicU64::new(0),
};

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_fixed() {
        assert_eq!(core::mem::size_of::<Port>(), 9 * 8);
        assert_eq!(core::mem::size_of::<Session>(), 30 * 8);
        assert_eq!(core::mem::size_of::<ArmedCounters>(), 7 * 8);
        assert_eq!(core::mem::size_of::<RiskCounters>(), 3 * 8);
        let sessions_end = 6 * 8 + 9 * 8 + MAX_SESSIONS * 30 * 8;
        assert_eq!(
            core::mem::size_of::<Counters>(),
            sessions_end + 2 * 8 + 7 * 8 + 3 * 8
        );
        assert_eq!(core::mem::offset_of!(Counters, port), 48);
        assert_eq!(core::mem::offset_of!(Counters, session), 48 + 72);
        // Version 2 fields follow version 1's within each session and after the sessions.
        assert_eq!(core::mem::offset_of!(Session, last_error), 20 * 8);
        assert_eq!(core::mem::offset_of!(Session, next_sender_seq), 21 * 8);
        assert_eq!(core::mem::offset_of!(Session, probe_rtt_ns), 29 * 8);
        assert_eq!(core::mem::offset_of!(Counters, log_dropped), sessions_end);
        assert_eq!(core::mem::offset_of!(Counters, armed), sessions_end + 16);
        assert_eq!(core::mem::offset_of!(Counters, risk), sessions_end + 72);
    }

    #[test]
    fn a_file_written_through_one_mapping_reads_back_through_another() {
        let dir = tempfile_dir();
        let path = dir.join("counters");
        let w = Shared::create_file(&path).unwrap();
        bump(&w.counters().port.rx_frames, 41);
        bump(&w.counters().port.rx_frames, 1);
        set(&w.counters().session[3].orders_sent, 7);
        let r = Shared::open_file(&path).unwrap();
        assert_eq!(read(&r.counters().port.rx_frames), 42);
        assert_eq!(read(&r.counters().session[3].orders_sent), 7);
        // And through plain file reads: the page cache is the mapping.
        let bytes = std::fs::read(&path).unwrap();
        let word = |i: usize| u64::from_le_bytes(bytes[i * 8..i * 8 + 8].try_into().unwrap());
        assert_eq!(word(0), MAGIC);
        assert_eq!(word(6), 42);
        std::fs::write(dir.join("junk"), vec![1u8; 4096]).unwrap();
        assert_eq!(
            Shared::open_file(&dir.join("junk")).unwrap_err(),
            OpenError::BadMagic
        );
        std::fs::write(dir.join("short"), [0u8; 8]).unwrap();
        assert_eq!(
            Shared::open_file(&dir.join("short")).unwrap_err(),
            OpenError::TooShort { len: 8 }
        );
        assert!(matches!(
            Shared::open_file(&dir.join("absent")).unwrap_err(),
            OpenError::Io(libc::ENOENT)
        ));
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("tickwire-counters-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
