//! The platform hiccup meter on this host: a short run on the client's CPU measures about as
//! long as asked, reads the clock often, allocates nothing in its loop; a CPU that cannot be
//! pinned is a typed error.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use tickwire_bench::hiccups::{self, Gaps, THRESHOLD_NS};
use tickwire_bench::two_core;
use tickwire_dataplane::clock::Clock;

#[global_allocator]
static GLOBAL: tickwire_testutil::CountingAlloc = tickwire_testutil::CountingAlloc;

#[test]
fn a_short_run_on_the_client_cpu_measures_what_was_asked() {
    let cpu = two_core::client_core().unwrap();
    let started = Instant::now();
    let h = hiccups::measure(cpu, Duration::from_millis(200)).unwrap();
    let wall = started.elapsed();
    assert_eq!(h.cpu, cpu);
    assert_eq!(h.requested, Duration::from_millis(200));
    let s = h.summary;
    // The loop stops at the first read at or past the end: at least 200 ms, and one read (or
    // one gap) later; the thread's start and the 20 ms calibration come on top in wall time.
    assert!(s.run_ns >= 200_000_000, "{s:?}");
    assert!(s.run_ns < 250_000_000, "{s:?}");
    assert!(wall >= Duration::from_millis(220), "{wall:?}");
    // A read of the clock takes tens of ns, not microseconds: a loop that reads it a million
    // times in 200 ms is reading, not waiting.
    assert!(s.reads > 1_000_000, "{s:?}");
    let normal = s.normal_read_ns.unwrap();
    assert!(normal > 0.0 && normal < THRESHOLD_NS as f64, "{s:?}");
    assert!(s.resolved(), "most intervals below the threshold: {s:?}");
    assert_eq!(h.histogram.len(), s.gaps);
    assert!(s.at_least.windows(2).all(|w| w[0] >= w[1]), "{s:?}");
    assert!(s.at_least[0] <= s.gaps);
    assert!(s.lost_fraction() < 1.0, "{s:?}");
    assert!(s.largest_gap_ns >= s.at_least[0].min(1) * 1_000);
}

#[test]
fn the_loop_allocates_nothing() {
    let (clock, _) = Clock::calibrate(Duration::from_millis(20));
    let mut gaps = Gaps::new().unwrap();
    let (_, n) = tickwire_testutil::measure(|| {
        hiccups::spin(|| clock.mono_ns(), 50_000_000, &mut gaps);
    });
    assert_eq!(n.this_thread, 0);
    assert!(gaps.summary().reads > 1_000);
}

#[test]
fn a_cpu_that_cannot_be_pinned_is_an_error() {
    let e = hiccups::measure(4_000, Duration::from_millis(10)).unwrap_err();
    assert!(matches!(e, hiccups::Error::Pin(_)), "{e:?}");
    assert!(e.to_string().contains("4000"), "{e}");
}

#[test]
fn the_histogram_file_of_a_run_without_gaps_is_written() {
    let gaps = Gaps::new().unwrap();
    let text = tickwire_bench::report::hgrm(gaps.histogram());
    assert!(
        text.ends_with("Total count = 0] (values in µs)\n"),
        "{text}"
    );
}
