//! The engine thread: pinned to one core, optionally memory-locked and real-time, running
//! duty cycles until told to stop. The only place in tickwire that spawns or pins threads.
//!
//! ```text
//! spawn(cfg, clock, build) ─► thread: pin (affinity mask of exactly cfg.core)
//!                                     ─► mlockall (optional) ─► SCHED_FIFO (optional)
//!                                     ─► build(now): engine allocated on its own core
//!                                     ─► ready ─► loop { do_work(clock.now()); idle if 0 }
//! caller ◄── Running { tid, extra } or the typed error of the step that was refused
//! ```
//!
//! The engine is built on the thread that runs it, so it need not be `Send` (the in-memory NIC
//! is not) and its memory is first touched by the pinned core. Each refused request is a typed
//! [`PinError`] carrying the errno; nothing is retried or silently skipped.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use nix::sched::{sched_setaffinity, CpuSet};
use nix::sys::mman::{mlockall, MlockAllFlags};
use nix::unistd::Pid;

use super::{sys, Duty};
use crate::clock::{Clock, Now};

/// What the loop does after a cycle with no work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdlePolicy {
    /// Spin (production: no system call, lowest latency; owns the core).
    Spin,
    /// `sched_yield` (shares the core with other threads).
    Yield,
    /// Sleep (tests and development machines).
    Sleep(Duration),
}

/// How the engine thread runs.
#[derive(Debug, Clone)]
pub struct ThreadConfig {
    /// Thread name.
    pub name: String,
    /// The one core the thread may run on (`None`: leave the inherited mask).
    pub core: Option<usize>,
    /// Lock all current and future memory (`mlockall(MCL_CURRENT | MCL_FUTURE)`).
    pub mlockall: bool,
    /// Run under SCHED_FIFO at this priority (1..=99).
    pub sched_fifo: Option<i32>,
    /// After an idle cycle.
    pub idle: IdlePolicy,
}

impl Default for ThreadConfig {
    fn default() -> Self {
        ThreadConfig {
            name: "tickwire-engine".to_string(),
            core: None,
            mlockall: false,
            sched_fifo: None,
            idle: IdlePolicy::Spin,
        }
    }
}

/// A request the operating system refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinError {
    /// The core number does not fit a CPU set.
    CoreOutOfRange {
        /// Requested core.
        core: usize,
        /// CPU set capacity.
        limit: usize,
    },
    /// `sched_setaffinity` refused (EINVAL: no such online core in our cpuset).
    Affinity {
        /// Requested core.
        core: usize,
        /// errno.
        errno: i32,
    },
    /// `mlockall` refused (EPERM without CAP_IPC_LOCK, ENOMEM over RLIMIT_MEMLOCK).
    MlockAll {
        /// errno.
        errno: i32,
    },
    /// `sched_setscheduler(SCHED_FIFO)` refused (EPERM without CAP_SYS_NICE, EINVAL for a
    /// priority outside 1..=99).
    SchedFifo {
        /// Requested priority.
        priority: i32,
        /// errno.
        errno: i32,
    },
}

impl core::fmt::Display for PinError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let os = |e: i32| std::io::Error::from_raw_os_error(e);
        match self {
            Self::CoreOutOfRange { core, limit } => {
                write!(f, "core {core} is beyond the CPU set limit {limit}")
            }
            Self::Affinity { core, errno } => {
                write!(f, "cannot pin to core {core}: {}", os(*errno))
            }
            Self::MlockAll { errno } => write!(f, "mlockall: {}", os(*errno)),
            Self::SchedFifo { priority, errno } => {
                write!(f, "SCHED_FIFO priority {priority}: {}", os(*errno))
            }
        }
    }
}

impl std::error::Error for PinError {}

/// Why the engine thread did not start or did not end cleanly.
#[derive(Debug)]
pub enum RunError {
    /// Pinning, locking or scheduling was refused.
    Pin(PinError),
    /// The thread could not be created.
    Spawn(std::io::Error),
    /// The engine could not be built (start-up error text).
    Build(String),
    /// The engine thread panicked.
    Panicked,
}

impl core::fmt::Display for RunError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Pin(e) => write!(f, "engine thread: {e}"),
            Self::Spawn(e) => write!(f, "engine thread not created: {e}"),
            Self::Build(e) => write!(f, "engine set-up: {e}"),
            Self::Panicked => f.write_str("engine thread panicked"),
        }
    }
}

impl std::error::Error for RunError {}

/// Applies `cfg`'s affinity, memory locking and scheduling to the calling thread, in that
/// order, stopping at the first refusal.
///
/// # Errors
/// [`PinError`].
pub fn pin_current(cfg: &ThreadConfig) -> Result<(), PinError> {
    if let Some(core) = cfg.core {
        let mut set = CpuSet::new();
        set.set(core).map_err(|_| PinError::CoreOutOfRange {
            core,
            limit: CpuSet::count(),
        })?;
        sched_setaffinity(Pid::from_raw(0), &set).map_err(|e| PinError::Affinity {
            core,
            errno: e as i32,
        })?;
    }
    if cfg.mlockall {
        mlockall(MlockAllFlags::MCL_CURRENT | MlockAllFlags::MCL_FUTURE)
            .map_err(|e| PinError::MlockAll { errno: e as i32 })?;
    }
    if let Some(priority) = cfg.sched_fifo {
        sys::set_fifo(priority).map_err(|errno| PinError::SchedFifo { priority, errno })?;
    }
    Ok(())
}

/// What the loop did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunStats {
    /// Cycles run.
    pub cycles: u64,
    /// Cycles that did work.
    pub busy_cycles: u64,
}

/// A running engine thread. Dropping it stops and joins the thread.
#[derive(Debug)]
pub struct Running {
    tid: Pid,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<RunStats>>,
}

impl Running {
    /// The engine thread's kernel thread id (for `sched_getaffinity`, `/proc`).
    pub fn tid(&self) -> Pid {
        self.tid
    }

    /// Asks the loop to stop after the current cycle and waits for it.
    ///
    /// # Errors
    /// [`RunError::Panicked`].
    pub fn stop(mut self) -> Result<RunStats, RunError> {
        self.stop_and_join()
    }

    fn stop_and_join(&mut self) -> Result<RunStats, RunError> {
        self.stop.store(true, Ordering::Relaxed);
        match self.handle.take() {
            Some(h) => h.join().map_err(|_| RunError::Panicked),
            None => Ok(RunStats::default()),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.stop_and_join();
    }
}

type Ready<T> = Result<(Pid, T), RunError>;

/// Starts the engine thread: pins it per `cfg`, builds the engine there with `build` (which
/// may hand `T` back, e.g. the [`super::Commands`] sender or a counter handle), then runs
/// `do_work(clock.now())` until [`Running::stop`].
///
/// # Errors
/// [`RunError`]: the first refused request, a failed build, or a thread that could not start;
/// the thread has ended by then.
pub fn spawn<E, T, F>(cfg: ThreadConfig, clock: Clock, build: F) -> Result<(Running, T), RunError>
where
    E: Duty,
    T: Send + 'static,
    F: FnOnce(Now) -> Result<(E, T), String> + Send + 'static,
{
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, rx) = std::sync::mpsc::sync_channel::<Ready<T>>(1);
    let flag = stop.clone();
    let idle = cfg.idle;
    let handle = std::thread::Builder::new()
        .name(cfg.name.clone())
        .spawn(move || {
            if let Err(e) = pin_current(&cfg) {
                let _ = tx.send(Err(RunError::Pin(e)));
                return RunStats::default();
            }
            let (mut engine, extra) = match build(clock.now()) {
                Ok(x) => x,
                Err(e) => {
                    let _ = tx.send(Err(RunError::Build(e)));
                    return RunStats::default();
                }
            };
            if tx.send(Ok((nix::unistd::gettid(), extra))).is_err() {
                return RunStats::default();
            }
            drop(tx);
            let mut stats = RunStats::default();
            while !flag.load(Ordering::Relaxed) {
                let work = engine.do_work(clock.now());
                stats.cycles += 1;
                if work > 0 {
                    stats.busy_cycles += 1;
                    continue;
                }
                match idle {
                    IdlePolicy::Spin => core::hint::spin_loop(),
                    IdlePolicy::Yield => std::thread::yield_now(),
                    IdlePolicy::Sleep(d) => std::thread::sleep(d),
                }
            }
            stats
        })
        .map_err(RunError::Spawn)?;
    let mut running = Running {
        tid: Pid::from_raw(0),
        stop,
        handle: Some(handle),
    };
    match rx.recv() {
        Ok(Ok((tid, extra))) => {
            running.tid = tid;
            Ok((running, extra))
        }
        Ok(Err(e)) => {
            let _ = running.stop_and_join();
            Err(e)
        }
        Err(_) => {
            let r = running.stop_and_join();
            Err(r.err().unwrap_or(RunError::Panicked))
        }
    }
}
