//! The platform floor on this host: a short run on the client's CPU is calibrated near the
//! asked median, lasts about as long as asked and allocates nothing in its loop; a CPU that
//! cannot be pinned is a typed error.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tickwire_bench::floor;
use tickwire_bench::two_core;
use tickwire_dataplane::clock::Clock;

#[global_allocator]
static GLOBAL: tickwire_testutil::CountingAlloc = tickwire_testutil::CountingAlloc;

#[test]
fn a_short_run_on_the_client_cpu_measures_what_was_asked() {
    let cpu = two_core::client_core().unwrap();
    let started = Instant::now();
    let f = floor::measure(cpu, 2_000, Duration::from_millis(200)).unwrap();
    let wall = started.elapsed();
    assert_eq!((f.cpu, f.target_ns), (cpu, 2_000));
    assert!(f.iterations >= 1);
    // Jobs of about 2 µs for 200 ms: tens of thousands, not a handful (a calibration that
    // settled on far too many iterations) nor millions (far too few).
    let jobs = f.histogram.len();
    assert!((10_000..1_000_000).contains(&jobs), "{jobs} jobs");
    assert!(wall >= Duration::from_millis(200), "{wall:?}");
    assert_eq!(
        f.above_target(),
        f.histogram.value_at_quantile(0.999) > floor::P999_TARGET_NS
    );
}

#[test]
fn the_loop_allocates_nothing() {
    let (clock, _) = Clock::calibrate(Duration::from_millis(20));
    let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).unwrap();
    let (_, n) = tickwire_testutil::measure(|| {
        floor::run(|| clock.mono_ns(), 300, 50_000_000, &mut h);
    });
    assert_eq!(n.this_thread, 0);
    assert!(h.len() > 1_000);
}

#[test]
fn a_cpu_that_cannot_be_pinned_is_an_error() {
    let e = floor::measure(4_000, 1_000, Duration::from_millis(10)).unwrap_err();
    assert!(matches!(e, floor::Error::Pinned(_)), "{e:?}");
    assert!(e.to_string().contains("4000"), "{e}");
    assert!(e.to_string().starts_with("platform floor thread: "), "{e}");
}
