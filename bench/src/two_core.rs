//! Tick-to-trade on the in-memory path with the venue on the other core: the appliance (the
//! client of [`crate::inmem`]) on one thread pinned to one CPU, the venue on a second thread
//! pinned to another, joined by the two-thread NIC pair `tickwire_dataplane::mem_spsc`.
//!
//! ```text
//! client thread (CPU a)                               venue thread (CPU b)
//! SpscNic ─► TCP ─► TLS ─► FIX ─► book ─► trigger      VenueEnd: publish tick ─► TLS ─► TCP ─► SpscNic
//!   ─► patch ─► TLS ─► TCP ─► SpscNic  ═══════════════► reads the order (at-venue stamp), fills it
//! ```
//!
//! In the one-thread run the venue's work between ticks runs on the appliance's core and
//! takes its caches; here the appliance's core runs only the appliance, as on a deployment
//! where the venue is another machine (what that changes on the development VM, stage by
//! stage: `docs/latency-budget.md`). Each thread busy-polls its own stack; the client runs
//! the same measured path ([`crate::inmem`]'s `tick_to_order`, stamps and [`crate::stages`]
//! breakdown on even ticks), the venue the same [`crate::inmem::VenueEnd`]. The venue times
//! at-venue itself (tick handed to its NIC → the order's bytes read), as in the one-thread run.
//!
//! Pacing is the one-thread run's: the venue publishes tick `n` once tick `n - 1` is resolved
//! and, when paced, once it is due. Resolved: the client has posted its verdict on it (fired
//! or not) and, if it fired, the venue has read the order's bytes. The client posts its verdict
//! when it is back to waiting, after the cycle that reads what came back: a tick published
//! earlier could be taken in by that cycle's `Stack::poll`, outside the measured path (the
//! one-thread run cannot do that: its venue publishes only when the client waits). The
//! threads share only that verdict and three flags (atomics), never on the measured path.
//!
//! The minimal venue only ([`VenueKind::Minimal`]; see [`KRAKEN_UNSUPPORTED`]). No progress
//! callbacks ([`Params::progress_every`] is ignored).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use nix::sched::sched_getaffinity;
use nix::unistd::Pid;
use tickwire_dataplane::clock::Clock;
use tickwire_dataplane::engine::runner::{pin_current, PinError, ThreadConfig};
use tickwire_dataplane::mem_spsc;
use tickwire_dataplane::nic::Nic;

use crate::inmem::{
    client_stack, due_ns, hist, user_stack, venue_side, Client, Measured, Params, Report, VenueEnd,
    VenueKind, CLIENT, TICK_STALL_NS, VENUE,
};
use crate::venue::GeneratedKey;

/// Where the client thread is: a probe runs on that thread at each mark (to read
/// thread-local counters such as `getrusage(RUSAGE_THREAD)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// Logged on, about to wait for the first tick.
    TicksStart,
    /// The last tick handled, before the fills are drained.
    TicksEnd,
}

/// How the two threads run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// CPUs of the client and of the venue (`None`: the first two this process may use).
    pub cores: Option<(usize, usize)>,
    /// `spin_loop` hints (x86 `pause`) the venue runs between two polls of its stack while it
    /// waits (0: none, the polls run back to back; `tickwire bench` asks for at least 1).
    /// More leave more of a shared physical core to the client.
    pub venue_pauses: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            cores: None,
            venue_pauses: 1,
        }
    }
}

/// The CPUs this process may run on, in increasing order.
fn allowed() -> Result<impl Iterator<Item = usize>, String> {
    let set = sched_getaffinity(Pid::from_raw(0)).map_err(|e| format!("sched_getaffinity: {e}"))?;
    Ok((0..nix::sched::CpuSet::count()).filter(move |&c| set.is_set(c).unwrap_or(false)))
}

/// The CPU the client thread is pinned to: the first this process may run on (with two or
/// more, the first of [`cores`]).
///
/// # Errors
/// An empty affinity mask, or `sched_getaffinity` refused.
pub fn client_core() -> Result<usize, String> {
    allowed()?
        .next()
        .ok_or_else(|| "this process may run on no CPU".to_string())
}

/// Why [`on_core`] did not run its closure to the end.
#[derive(Debug)]
pub enum PinnedError {
    /// Pinning to the CPU was refused.
    Pin(PinError),
    /// The thread could not be created.
    Spawn(std::io::Error),
    /// The closure panicked.
    Panicked,
}

impl core::fmt::Display for PinnedError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Pin(e) => write!(f, "{e}"),
            Self::Spawn(e) => write!(f, "thread not created: {e}"),
            Self::Panicked => f.write_str("thread panicked"),
        }
    }
}

impl std::error::Error for PinnedError {}

/// Runs `f` on a thread of its own, named `name` and pinned to `cpu` (affinity only,
/// `engine::runner::pin_current`), and waits for it; the caller's affinity is left as it was,
/// so threads it spawns later are not confined to that CPU.
///
/// # Errors
/// [`PinnedError`].
pub fn on_core<T: Send>(
    cpu: usize,
    name: &str,
    f: impl FnOnce() -> T + Send,
) -> Result<T, PinnedError> {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name(name.to_string())
            .spawn_scoped(scope, move || pin(cpu).map(|()| f()))
            .map_err(PinnedError::Spawn)?
            .join()
            .map_err(|_| PinnedError::Panicked)?
            .map_err(PinnedError::Pin)
    })
}

/// [`on_core`] on [`client_core`] (where the two-core run's client and the platform hiccup
/// meter run), as the appliance's engine thread runs on its core. Returns `f`'s result and the
/// CPU.
///
/// # Errors
/// No CPU to pin to, or [`PinnedError`] (as text).
pub fn on_client_core<T: Send>(f: impl FnOnce() -> T + Send) -> Result<(T, usize), String> {
    let cpu = client_core()?;
    on_core(cpu, "tw-client", f)
        .map(|t| (t, cpu))
        .map_err(|e| format!("the run pinned to CPU {cpu}: {e}"))
}

/// The first two CPUs this process may run on (client, venue).
///
/// # Errors
/// Fewer than two CPUs in the affinity mask, or `sched_getaffinity` refused.
pub fn cores() -> Result<(usize, usize), String> {
    let mut allowed = allowed()?;
    match (allowed.next(), allowed.next()) {
        (Some(a), Some(b)) => Ok((a, b)),
        (a, _) => Err(format!(
            "the venue-on-the-other-core run needs two CPUs; this process may run on {} ({})",
            usize::from(a.is_some()),
            a.map_or_else(|| "none".to_string(), |c| format!("CPU {c}"))
        )),
    }
}

/// What both threads read: the run's parameters and set-up, and the hand-off.
#[derive(Clone, Copy)]
struct Run<'a> {
    params: &'a Params,
    clock: &'a Clock,
    pki: &'a crate::pki::TestPki,
    key: &'a GeneratedKey,
    handoff: &'a Handoff,
}

/// What the threads share.
#[derive(Debug, Default)]
struct Handoff {
    /// The client's last verdict, `tick << 1 | fired` (its own cache line: the venue spins on
    /// it).
    verdict: Padded<AtomicU64>,
    /// The client has logged on: the venue starts publishing.
    ready: AtomicBool,
    /// The client has drained the last fills: the venue may stop.
    done: AtomicBool,
    /// One thread failed: the other stops waiting for it.
    failed: AtomicBool,
}

#[derive(Debug, Default)]
#[repr(align(128))]
struct Padded<T>(T);

/// Why the Kraken venue does not run on the other core (yet).
pub const KRAKEN_UNSUPPORTED: &str = "the Kraken venue does not run on the other core yet: the market-data update of each fill would need its own hand-off (the one-thread run reads it in lockstep)";

/// The error of a thread that stopped because the other one failed (the other's error is
/// the one reported).
const PEER_FAILED: &str = "the other thread failed";

/// Runs the in-memory tick-to-trade path with the venue on the other core.
///
/// # Errors
/// As [`crate::inmem::run`], plus: fewer than two CPUs, a CPU that cannot be pinned, a thread
/// that panicked.
pub fn run(params: Params, opts: Options) -> Result<Report, String> {
    run_probed(params, opts, &|_| {})
}

/// [`run`], with `probe` called on the client thread at each [`Mark`].
///
/// # Errors
/// As [`run`].
pub fn run_probed(
    params: Params,
    opts: Options,
    probe: &(dyn Fn(Mark) + Sync),
) -> Result<Report, String> {
    if params.venue == VenueKind::Kraken {
        // Its fills move the book: the trade's market-data update reaches the client at no
        // fixed point after the fill, and could be taken for the next tick.
        return Err(KRAKEN_UNSUPPORTED.to_string());
    }
    let (client_core, venue_core) = match opts.cores {
        Some(c) => c,
        None => cores()?,
    };
    crate::rss::reset_peak();
    let (clock, _) = Clock::calibrate(Duration::from_millis(20));
    let pki = crate::pki::generate("fix.venue.test")?;
    let key = GeneratedKey::generate();
    let (a, b) = mem_spsc::pair(1024, [2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
    let handoff = Handoff::default();
    let (client, venue) = std::thread::scope(|scope| {
        let spawn = |name: &str| std::thread::Builder::new().name(name.to_string());
        let run = Run {
            params: &params,
            clock: &clock,
            pki: &pki,
            key: &key,
            handoff: &handoff,
        };
        let venue = spawn("tw-venue").spawn_scoped(scope, move || {
            failing(run.handoff, || {
                pin(venue_core).map_err(|e| e.to_string())?;
                venue_thread(&run, b, opts.venue_pauses)
            })
        });
        let client = spawn("tw-client").spawn_scoped(scope, move || {
            failing(run.handoff, || {
                pin(client_core).map_err(|e| e.to_string())?;
                client_thread(&run, a, probe)
            })
        });
        // Join the client first: if it could not start, the venue sees `failed` and stops.
        let client = joined(client, "client");
        if client.is_err() {
            handoff.failed.store(true, Ordering::Release);
        }
        (client, joined(venue, "venue"))
    });
    match (client, venue) {
        (Ok(mut report), Ok((at_venue, stats))) => {
            report.at_venue = at_venue;
            report.venue_stats = stats;
            report.peak_rss_kib = crate::rss::peak_kib();
            Ok(report)
        }
        (Err(c), Err(v)) if c.ends_with(PEER_FAILED) => Err(format!("venue: {v}")),
        (Err(c), _) => Err(format!("client: {c}")),
        (Ok(_), Err(v)) => Err(format!("venue: {v}")),
    }
}

/// The result of a scoped thread, flattened.
fn joined<T>(
    thread: std::io::Result<std::thread::ScopedJoinHandle<'_, Result<T, String>>>,
    what: &str,
) -> Result<T, String> {
    thread
        .map_err(|e| format!("{what} thread not created: {e}"))?
        .join()
        .map_err(|_| format!("{what} thread panicked"))?
}

/// Runs `body`; if it fails, tells the other thread.
fn failing<T>(handoff: &Handoff, body: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    let r = body();
    if r.is_err() {
        handoff.failed.store(true, Ordering::Release);
    }
    r
}

/// Pins the calling thread to `core` (affinity only).
fn pin(core: usize) -> Result<(), PinError> {
    pin_current(&ThreadConfig {
        core: Some(core),
        ..ThreadConfig::default()
    })
}

fn check_peer(handoff: &Handoff) -> Result<(), String> {
    if handoff.failed.load(Ordering::Acquire) {
        Err(PEER_FAILED.to_string())
    } else {
        Ok(())
    }
}

/// The appliance: logs on, then waits for each tick and runs the measured path on it; between
/// ticks it reads fills (its own duty cycle, as the engine's).
fn client_thread<N: Nic>(
    run: &Run<'_>,
    nic: N,
    probe: &(dyn Fn(Mark) + Sync),
) -> Result<Report, String> {
    let (params, clock, handoff) = (run.params, run.clock, run.handoff);
    let cstack = client_stack(nic, clock, CLIENT, VENUE)?;
    let mut client = Client::connect(params, run.pki, cstack, VENUE)?;
    client.log_on(clock, run.key, &mut |_, _| check_peer(handoff))?;
    handoff.ready.store(true, Ordering::Release);
    // A paced tick may come up to one period after the last.
    let period = match params.rate_per_s {
        0 => 0,
        r => i64::try_from(1_000_000_000 / r).unwrap_or(i64::MAX / 4),
    };
    let mut measured = Measured::new(params)?;
    let started = Instant::now();
    probe(Mark::TicksStart);
    for tick in 1..=params.ticks {
        let from = clock.mono_ns() + period;
        let fired = client.handle_tick(clock, tick, from, &mut measured, &mut |c| {
            check_peer(handoff)?;
            c.pump(clock.utc(clock.mono_ns())).map(|_| ())
        })?;
        client.after_tick(clock, tick)?;
        // Back to waiting: the next tick may come (see the module doc).
        handoff
            .verdict
            .0
            .store(tick << 1 | u64::from(fired), Ordering::Release);
    }
    probe(Mark::TicksEnd);
    client.drain(clock, &mut |_| check_peer(handoff))?;
    handoff.done.store(true, Ordering::Release);
    Ok(client.report(params, measured, hist()?, started, None))
}

/// The venue's histogram of tick sent → order read, and its counters.
type VenueResult = (
    hdrhistogram::Histogram<u64>,
    Option<tickwire_venue::kraken::Stats>,
);

/// The venue: set-up until the client is logged on, then publishes the ticks one by one and
/// times each order's arrival; answers until the client has drained.
fn venue_thread<N: Nic>(run: &Run<'_>, nic: N, pauses: u32) -> Result<VenueResult, String> {
    let (params, clock, handoff) = (run.params, run.clock, run.handoff);
    let utc = |ns: i64| clock.utc(ns);
    let wait = || {
        for _ in 0..pauses {
            std::hint::spin_loop();
        }
    };
    let vstack = user_stack(nic, VENUE, CLIENT, clock.mono_ns())?;
    let mut venue = venue_side(params.venue, vstack, run.pki, run.key, clock)?;
    // The client gives up after 10 s; so does the venue, a little later.
    let deadline = Instant::now() + Duration::from_secs(12);
    while !handoff.ready.load(Ordering::Acquire) {
        check_peer(handoff)?;
        if Instant::now() > deadline {
            return Err("the client did not log on within 12 s".to_string());
        }
        let ns = clock.mono_ns();
        venue.setup_step(ns, utc(ns))?;
        wait();
    }
    let mut at_venue = hist()?;
    let started_ns = clock.mono_ns();
    for tick in 1..=params.ticks {
        if let Some(due) = due_ns(params, started_ns, tick) {
            loop {
                let ns = clock.mono_ns();
                if ns >= due {
                    break;
                }
                venue.idle(ns);
                wait();
            }
        }
        let ns = clock.mono_ns();
        venue.prepare_tick(utc(ns))?;
        let v0 = clock.mono_ns();
        venue.send_tick(v0)?;
        // Until the client's verdict on this tick, and the order's bytes if it fired.
        let mut v1 = None;
        loop {
            let ns = clock.mono_ns();
            venue.step(ns, utc(ns), false, &mut || {
                v1 = v1.or(Some(clock.mono_ns()));
            })?;
            let verdict = handoff.verdict.0.load(Ordering::Acquire);
            if verdict >> 1 == tick && (verdict & 1 == 0 || v1.is_some()) {
                break;
            }
            check_peer(handoff)?;
            if ns > v0 + TICK_STALL_NS {
                return Err(format!(
                    "tick {tick}: no order or verdict from the client within 5 s (verdict {verdict:#x}, order seen {})",
                    v1.is_some()
                ));
            }
            wait();
        }
        if let Some(v1) = v1 {
            at_venue
                .record((v1 - v0).max(1) as u64)
                .map_err(|e| e.to_string())?;
        }
        if tick % 1024 == 0 {
            venue.timeout(utc(clock.mono_ns()));
        }
    }
    while !handoff.done.load(Ordering::Acquire) {
        check_peer(handoff)?;
        let ns = clock.mono_ns();
        venue.step(ns, utc(ns), false, &mut || {})?;
        wait();
    }
    Ok((at_venue, venue.stats()))
}
