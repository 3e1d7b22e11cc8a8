//! The in-memory run with the venue on the other core, briefly: every order the client fires
//! is filled, and both views (inside, stage breakdown, at the venue) are measured.
#![allow(clippy::unwrap_used)]

use tickwire_bench::inmem::{Params, VenueKind};
use tickwire_bench::two_core::{self, Options};

fn params(ticks: u64, venue: VenueKind) -> Params {
    Params {
        ticks,
        progress_every: 0,
        rate_per_s: 0,
        stages: true,
        venue,
    }
}

#[test]
fn orders_are_filled_and_both_views_measured() {
    let r = two_core::run(params(4_000, VenueKind::Minimal), Options::default()).unwrap();
    assert_eq!(r.ticks, 4_000);
    // The feed meets the trigger on one tick in eight.
    assert!(r.orders > 300, "{} orders", r.orders);
    assert_eq!(r.orders, r.fills, "every order filled");
    assert_eq!(r.dropped_frames, 0);
    assert_eq!(r.risk_refused, 0);
    let st = r.stages.as_ref().unwrap();
    // Odd ticks un-stamped, even ticks stamped: each half has about half the orders.
    assert!(!r.tick_to_trade.is_empty() && !st.stamped.is_empty());
    assert_eq!(r.tick_to_trade.len() + st.stamped.len(), r.orders);
    assert!(st.stage.iter().all(|h| h.len() == st.stamped.len()));
    assert_eq!(r.at_venue.len(), r.orders, "every order timed at the venue");
    // The venue's view contains the appliance's.
    assert!(r.at_venue.value_at_quantile(0.5) > r.tick_to_trade.value_at_quantile(0.5));
}

#[test]
fn paced_run() {
    let mut p = params(1_000, VenueKind::Minimal);
    p.rate_per_s = 20_000;
    p.stages = false;
    let started = std::time::Instant::now();
    let r = two_core::run(p, Options::default()).unwrap();
    assert!(r.orders > 60, "{} orders", r.orders);
    assert_eq!(r.orders, r.fills);
    assert_eq!(
        r.tick_to_trade.len(),
        r.orders,
        "no stamped half without stages"
    );
    assert_eq!(r.at_venue.len(), r.orders);
    // 1000 ticks at 20k/s take 50 ms at least.
    assert!(started.elapsed() >= std::time::Duration::from_millis(50));
}

#[test]
fn the_kraken_venue_is_refused_with_the_reason() {
    let e = two_core::run(params(10, VenueKind::Kraken), Options::default()).unwrap_err();
    assert_eq!(e, two_core::KRAKEN_UNSUPPORTED);
}

#[test]
fn a_cpu_that_cannot_be_pinned_is_an_error() {
    let e = two_core::run(
        params(10, VenueKind::Minimal),
        Options {
            cores: Some((0, 4000)),
            ..Options::default()
        },
    )
    .unwrap_err();
    assert!(e.contains("venue") && e.contains("4000"), "{e}");
}
