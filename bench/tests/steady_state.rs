//! Steady-state cost of the full in-memory path (both the appliance and the venue side run in
//! this process): heap allocations and minor page faults per tick, measured as the difference
//! between a long and a short run so that start-up cancels out.
//!
//! The whole path, the venue side included, allocates nothing per tick: FIX is allocation-free
//! and TLS records are protected by tickwire-tls' own layer after the handshake.
//!
//! The run with the venue on the other core ([`tickwire_bench::two_core`]) is measured on its
//! client thread alone (the appliance): its own allocations (a thread-local count) and minor
//! faults (`getrusage(RUSAGE_THREAD)` on that thread) from the first tick to the last.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use nix::sys::resource::{getrusage, UsageWho};
use tickwire_bench::inmem::{run, Params, VenueKind};
use tickwire_bench::two_core::{self, Mark, Options};

// Every run reads a thread's own count (`Counts::this_thread`): the one-thread runs happen on
// the test's thread, the two-core run is read on its client thread. A process-wide count would
// also take in what the test harness allocates on its threads meanwhile (another test ending,
// its result being recorded), which under load pushed a run's difference past the tolerance.
#[global_allocator]
static GLOBAL: tickwire_testutil::CountingAlloc = tickwire_testutil::CountingAlloc;

fn measure(ticks: u64) -> (u64, i64, u64) {
    measure_on(VenueKind::Minimal, ticks)
}

/// The counters are process-wide: one measurement at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn measure_on(venue: VenueKind, ticks: u64) -> (u64, i64, u64) {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let a0 = tickwire_testutil::this_thread();
    let f0 = getrusage(UsageWho::RUSAGE_THREAD)
        .unwrap()
        .minor_page_faults();
    let report = run(
        Params {
            ticks,
            progress_every: 0,
            rate_per_s: 0,
            stages: true,
            venue,
        },
        |_| {},
    )
    .unwrap();
    assert_eq!(report.orders, report.fills);
    let f1 = getrusage(UsageWho::RUSAGE_THREAD)
        .unwrap()
        .minor_page_faults();
    (
        tickwire_testutil::this_thread() - a0,
        f1 - f0,
        report.orders,
    )
}

#[test]
fn allocations_and_page_faults_per_tick() {
    let _warm = measure(2_000);
    let (a_short, f_short, _) = measure(20_000);
    let (a_long, f_long, orders) = measure(120_000);
    let ticks = 100_000f64;
    let per_tick = (a_long as f64 - a_short as f64) / ticks;
    let faults_per_tick = (f_long - f_short) as f64 / ticks;
    println!("steady state: {per_tick:.3} allocations per tick, {faults_per_tick:.5} minor faults per tick, {orders} orders in the long run");
    // Start-up varies by a handful of allocations between runs; 100k more ticks add none.
    let extra = a_long as i64 - a_short as i64;
    assert!(
        extra.abs() <= 16,
        "{extra} allocations over 100k extra ticks ({per_tick} per tick)"
    );
    assert!(
        faults_per_tick < 0.001,
        "{faults_per_tick} minor page faults per tick in steady state"
    );
}

/// The demo's configuration: the Kraken venue (its matching engine, market data and sessions
/// in this process too). Whatever the venue allocates counts here, the appliance included:
/// neither allocates per tick.
#[test]
fn allocations_and_page_faults_per_tick_on_the_kraken_venue() {
    let _warm = measure_on(VenueKind::Kraken, 2_000);
    let (a_short, f_short, _) = measure_on(VenueKind::Kraken, 20_000);
    let (a_long, f_long, orders) = measure_on(VenueKind::Kraken, 120_000);
    let per_tick = (a_long as f64 - a_short as f64) / 100_000.0;
    let faults_per_tick = (f_long - f_short) as f64 / 100_000.0;
    println!("kraken venue: {per_tick:.3} allocations per tick, {faults_per_tick:.5} minor faults per tick, {orders} orders in the long run");
    let extra = a_long as i64 - a_short as i64;
    assert!(
        extra.abs() <= 16,
        "{extra} allocations over 100k extra ticks on the Kraken venue ({per_tick} per tick)"
    );
    assert!(
        faults_per_tick < 0.001,
        "{faults_per_tick} minor page faults per tick in steady state on the Kraken venue"
    );
}

/// Allocations and minor faults of the two-core run's client thread from its first tick to its
/// last, and the orders it sent.
fn measure_two_core(ticks: u64) -> (u64, i64, u64) {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    static START: (AtomicU64, AtomicI64) = (AtomicU64::new(0), AtomicI64::new(0));
    static DELTA: (AtomicU64, AtomicI64) = (AtomicU64::new(u64::MAX), AtomicI64::new(i64::MAX));
    let probe = |mark: Mark| {
        let allocations = tickwire_testutil::this_thread();
        let faults = getrusage(UsageWho::RUSAGE_THREAD)
            .unwrap()
            .minor_page_faults();
        match mark {
            Mark::TicksStart => {
                START.0.store(allocations, Ordering::Relaxed);
                START.1.store(faults, Ordering::Relaxed);
            }
            Mark::TicksEnd => {
                DELTA.0.store(
                    allocations - START.0.load(Ordering::Relaxed),
                    Ordering::Relaxed,
                );
                DELTA
                    .1
                    .store(faults - START.1.load(Ordering::Relaxed), Ordering::Relaxed);
            }
        }
    };
    let report = two_core::run_probed(
        Params {
            ticks,
            progress_every: 0,
            rate_per_s: 0,
            stages: true,
            venue: VenueKind::Minimal,
        },
        Options::default(),
        &probe,
    )
    .unwrap();
    assert_eq!(report.orders, report.fills);
    (
        DELTA.0.load(Ordering::Relaxed),
        DELTA.1.load(Ordering::Relaxed),
        report.orders,
    )
}

/// The appliance's thread of the two-core run: nothing allocated from the first tick to the
/// last, and no more minor faults in a long run than in a short one (first touches of
/// histogram buckets and ring buffers happen in both; the venue, on the other thread, is not
/// counted).
#[test]
fn the_two_core_client_thread_allocates_and_faults_nothing_per_tick() {
    let (a_short, f_short, _) = measure_two_core(20_000);
    let (a_long, f_long, orders) = measure_two_core(120_000);
    let faults_per_tick = (f_long - f_short) as f64 / 100_000.0;
    println!("two-core client thread: {a_short} / {a_long} allocations, {f_short} / {f_long} minor faults over 20k / 120k ticks ({orders} orders in the long run)");
    assert!(orders > 10_000, "{orders} orders");
    assert_eq!(
        (a_short, a_long),
        (0, 0),
        "allocations on the client thread over 20k and 120k ticks"
    );
    assert!(
        faults_per_tick < 0.001,
        "{faults_per_tick} minor page faults per tick on the client thread in steady state"
    );
}
