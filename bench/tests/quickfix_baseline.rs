//! Baseline (c) builds and runs: QuickFIX C++ (the `quickfix` crate, OpenSSL restricted to TLS
//! 1.3) logs on to the minimal venue's two sessions over kernel TCP, reacts to a few thousand
//! of the same ticks from its application callback, and every order it sends is filled and
//! measured at the venue.
//!
//! `cargo test -p tickwire-bench --features quickfix --test quickfix_baseline` (needs cmake, a
//! C++ compiler and libssl-dev: scripts/setup-host).
#![allow(clippy::unwrap_used)]

#[test]
fn quickfix_reacts_to_the_same_ticks_and_every_order_is_filled() {
    let ticks = 4000;
    let r = tickwire_bench::quickfix::run(ticks).unwrap();
    eprintln!(
        "{} ticks, {} orders in {:?}; at the venue p50 {} ns, p99 {} ns",
        r.ticks,
        r.orders,
        r.elapsed,
        r.at_venue.value_at_quantile(0.5),
        r.at_venue.value_at_quantile(0.99)
    );
    assert_eq!(r.ticks, ticks);
    // The feed puts the ask at the trigger on about one tick in eight.
    assert!(r.orders > ticks / 16, "{} orders", r.orders);
    assert_eq!(r.fills, r.orders, "every order filled");
    assert_eq!(r.risk_refused, 0);
    assert_eq!(r.at_venue.len(), r.orders, "one at-venue sample per order");
    assert!(r.at_venue.value_at_quantile(0.5) > 0);
    assert!(r.at_venue.max() >= r.at_venue.value_at_quantile(0.999));
    // No inside-the-appliance figure: QuickFIX does not say when its read returned.
    assert!(r.tick_to_trade.is_empty());
}
