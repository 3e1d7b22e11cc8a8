//! Pre-trade risk: every check refuses exactly past its limit with the limit and the value; the
//! kill switch blocks until re-armed; limits change at run time; a property test drives random
//! orders, fills, cancels and time against a venue model and checks that no configured limit is
//! ever exceeded and that the venue's own rate limiter never refuses what risk let through; and
//! a counting allocator shows that risk checks and trigger evaluation allocate nothing.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use tickwire_dataplane::risk::{
    Capacity, Collar, GlobalLimits, InstrumentId, InstrumentLimits, KillReason, LimitChange,
    LimitError, Order, OrderKey, Reject, RejectKind, Risk, RiskEvent, Throttle, Top,
};
use tickwire_dataplane::trigger::{Condition, Trigger, TriggerId, Triggers};
use tickwire_fix::book::Book;
use tickwire_fix::decimal::Decimal;
use tickwire_fix::kraken::rate::{
    SpotRateCounter, Tier, TierParams, TokenBucket, TokenBucketParams, Transaction, MICRO,
};
use tickwire_fix::outbound::{Side, TimeInForce};
use tickwire_fix::time::UtcTimestamp;

// --- counting allocator (this test thread's allocations) ---

#[global_allocator]
static GLOBAL: tickwire_testutil::CountingAlloc = tickwire_testutil::CountingAlloc;

// --- fixtures ---

const BTC: InstrumentId = InstrumentId(0);
const ETH: InstrumentId = InstrumentId(1);
const T0: i64 = 1_775_572_320_000_000_000;

fn at(ns: i64) -> UtcTimestamp {
    UtcTimestamp::from_nanos(T0 + ns)
}

const MS: i64 = 1_000_000;
const S: i64 = 1_000_000_000;

/// bid 995, ask 1000 (ticks), updated at T0.
fn top() -> Top {
    Top {
        bid: Some(995),
        ask: Some(1000),
        last: Some(998),
        updated: at(0),
    }
}

fn limits() -> InstrumentLimits {
    InstrumentLimits {
        max_order_qty: 100,
        max_notional: 1_000_000,
        collar: Collar::Ticks(10),
        max_open_orders: 5,
        max_position: 300,
    }
}

fn risk_with(global: GlobalLimits, inst: InstrumentLimits) -> Risk {
    let mut r = Risk::new(
        Capacity {
            instruments: 4,
            orders: 256,
            recent: 16,
        },
        global,
    )
    .unwrap();
    r.apply(LimitChange::Instrument(BTC, inst)).unwrap();
    r.apply(LimitChange::Instrument(ETH, inst)).unwrap();
    r
}

fn risk() -> Risk {
    risk_with(GlobalLimits::default(), limits())
}

fn order(side: Side, price: i64, qty: i64) -> Order {
    Order {
        instrument: BTC,
        side,
        price,
        qty,
    }
}

fn buy(price: i64, qty: i64) -> Order {
    order(Side::Buy, price, qty)
}

fn sell(price: i64, qty: i64) -> Order {
    order(Side::Sell, price, qty)
}

/// Checks `o` at T0 under a fresh key.
fn check(r: &mut Risk, key: u64, o: Order) -> Result<(), Reject> {
    r.check_new(OrderKey(key), &o, &top(), at(0))
}

// --- each limit, exactly at its boundary ---

#[test]
fn max_order_qty_passes_at_the_limit_and_refuses_one_lot_more() {
    let mut r = risk();
    assert_eq!(check(&mut r, 1, buy(1000, 100)), Ok(()));
    assert_eq!(
        check(&mut r, 2, buy(1000, 101)),
        Err(Reject::OrderQty {
            limit: 100,
            value: 101
        })
    );
    assert_eq!(r.rejects(RejectKind::OrderQty), 1);
    assert_eq!(r.open_total(), 1, "the refused order is not counted");
}

#[test]
fn max_notional_passes_at_the_limit_and_refuses_one_tick_lot_more() {
    let mut r = risk_with(
        GlobalLimits::default(),
        InstrumentLimits {
            max_notional: 50_000,
            ..limits()
        },
    );
    assert_eq!(check(&mut r, 1, buy(1000, 50)), Ok(()));
    r.apply(LimitChange::Instrument(
        BTC,
        InstrumentLimits {
            max_notional: 49_999,
            ..limits()
        },
    ))
    .unwrap();
    assert_eq!(
        check(&mut r, 2, buy(1000, 50)),
        Err(Reject::Notional {
            limit: 49_999,
            value: 50_000
        })
    );
    // A product beyond i64 saturates and is refused, never wraps.
    r.apply(LimitChange::Instrument(
        BTC,
        InstrumentLimits {
            max_order_qty: i64::MAX,
            max_notional: i64::MAX - 1,
            collar: Collar::Ticks(i64::MAX),
            ..limits()
        },
    ))
    .unwrap();
    assert_eq!(
        check(&mut r, 3, buy(i64::MAX / 2, 4)),
        Err(Reject::Notional {
            limit: i64::MAX - 1,
            value: i64::MAX
        })
    );
}

#[test]
fn collar_in_ticks_bounds_the_far_touch_both_sides() {
    let mut r = risk();
    // Buy: ask 1000 + 10.
    assert_eq!(check(&mut r, 1, buy(1010, 1)), Ok(()));
    assert_eq!(
        check(&mut r, 2, buy(1011, 1)),
        Err(Reject::PriceCollar {
            limit: 1010,
            value: 1011
        })
    );
    // Sell: bid 995 − 10.
    assert_eq!(check(&mut r, 3, sell(985, 1)), Ok(()));
    assert_eq!(
        check(&mut r, 4, sell(984, 1)),
        Err(Reject::PriceCollar {
            limit: 985,
            value: 984
        })
    );
    // Passive prices are not the collar's business.
    assert_eq!(check(&mut r, 5, buy(1, 1)), Ok(()));
    assert_eq!(check(&mut r, 6, sell(5_000, 1)), Ok(()));
    assert_eq!(r.rejects(RejectKind::PriceCollar), 2);
}

#[test]
fn collar_in_basis_points_rounds_the_band_down() {
    let mut r = risk_with(
        GlobalLimits::default(),
        InstrumentLimits {
            collar: Collar::BasisPoints(55),
            ..limits()
        },
    );
    // 55 bp of 1000 = 5.5 ticks → 5.
    assert_eq!(check(&mut r, 1, buy(1005, 1)), Ok(()));
    assert_eq!(
        check(&mut r, 2, buy(1006, 1)),
        Err(Reject::PriceCollar {
            limit: 1005,
            value: 1006
        })
    );
    // 55 bp of 995 = 5.47 → 5: bound 990.
    assert_eq!(check(&mut r, 3, sell(990, 1)), Ok(()));
    assert_eq!(
        check(&mut r, 4, sell(989, 1)),
        Err(Reject::PriceCollar {
            limit: 990,
            value: 989
        })
    );
}

#[test]
fn an_empty_side_or_a_stale_book_refuses() {
    let mut r = risk();
    let one_sided = Top { ask: None, ..top() };
    assert_eq!(
        r.check_new(OrderKey(1), &buy(1000, 1), &one_sided, at(0)),
        Err(Reject::NoMarket)
    );
    assert_eq!(
        r.check_new(OrderKey(2), &sell(995, 1), &one_sided, at(0)),
        Ok(()),
        "a sell needs only the bid"
    );
    // A real book before its snapshot, and after a sequence gap.
    let mut book = Book::new(10, 1, 8);
    let stale = Top::from_book(&book, at(0));
    assert_eq!(
        r.check_new(OrderKey(3), &buy(1000, 1), &stale, at(0)),
        Err(Reject::NoMarket)
    );
    book.begin_snapshot(1);
    book.apply_snapshot_level(
        tickwire_fix::book::BookSide::Ask,
        Decimal::new(1000, 1),
        Decimal::new(1, 0),
    );
    book.apply_snapshot_level(
        tickwire_fix::book::BookSide::Bid,
        Decimal::new(995, 1),
        Decimal::new(1, 0),
    );
    book.finish_snapshot();
    let live = Top::from_book(&book, at(0));
    assert_eq!((live.bid, live.ask), (Some(995), Some(1000)));
    assert_eq!(
        r.check_new(OrderKey(4), &buy(1000, 1), &live, at(0)),
        Ok(())
    );
    book.check_sequence(5); // expected 2: gap
    let gapped = Top::from_book(&book, at(0));
    assert_eq!(
        r.check_new(OrderKey(5), &buy(1000, 1), &gapped, at(0)),
        Err(Reject::NoMarket)
    );
    assert_eq!(r.rejects(RejectKind::NoMarket), 3);
}

#[test]
fn book_age_passes_at_the_limit_and_refuses_one_ns_older() {
    let mut r = risk_with(
        GlobalLimits {
            max_book_age_ns: MS,
            ..GlobalLimits::default()
        },
        limits(),
    );
    assert_eq!(
        r.check_new(OrderKey(1), &buy(1000, 1), &top(), at(MS)),
        Ok(())
    );
    assert_eq!(
        r.check_new(OrderKey(2), &buy(1000, 1), &top(), at(MS + 1)),
        Err(Reject::BookStale {
            limit: MS,
            value: MS + 1
        })
    );
}

#[test]
fn open_orders_per_instrument_pass_at_the_limit_and_free_up_on_close() {
    let mut r = risk();
    for k in 1..=5 {
        assert_eq!(check(&mut r, k, buy(1000, 1)), Ok(()), "order {k}");
    }
    assert_eq!(
        check(&mut r, 6, buy(1000, 1)),
        Err(Reject::OpenOrders { limit: 5, value: 6 })
    );
    // Other instruments are separate.
    let eth = Order {
        instrument: ETH,
        ..buy(1000, 1)
    };
    assert_eq!(r.check_new(OrderKey(7), &eth, &top(), at(0)), Ok(()));
    // A terminal report frees a slot; closing twice changes nothing.
    assert!(r.on_closed(OrderKey(3)));
    assert!(!r.on_closed(OrderKey(3)));
    assert_eq!(check(&mut r, 8, buy(1000, 1)), Ok(()));
    // A complete fill closes the order too.
    r.on_fill(OrderKey(8), BTC, Side::Buy, 1);
    assert!(!r.is_open(OrderKey(8)));
    assert_eq!(check(&mut r, 9, buy(1000, 1)), Ok(()));
    assert_eq!(r.open(BTC).0, 5);
}

#[test]
fn total_open_orders_pass_at_the_limit_across_instruments() {
    let mut r = risk_with(
        GlobalLimits {
            max_open_orders: 3,
            ..GlobalLimits::default()
        },
        limits(),
    );
    let eth = |qty| Order {
        instrument: ETH,
        ..buy(1000, qty)
    };
    assert_eq!(check(&mut r, 1, buy(1000, 1)), Ok(()));
    assert_eq!(r.check_new(OrderKey(2), &eth(1), &top(), at(0)), Ok(()));
    assert_eq!(check(&mut r, 3, buy(1000, 1)), Ok(()));
    assert_eq!(
        r.check_new(OrderKey(4), &eth(1), &top(), at(0)),
        Err(Reject::TotalOpenOrders { limit: 3, value: 4 })
    );
    assert_eq!(r.open_total(), 3);
}

#[test]
fn position_limit_counts_open_orders_as_if_filled() {
    let mut r = risk_with(
        GlobalLimits::default(),
        InstrumentLimits {
            max_open_orders: 20,
            ..limits()
        },
    );
    for k in 1..=3 {
        assert_eq!(check(&mut r, k, buy(1000, 100)), Ok(()));
    }
    assert_eq!(
        check(&mut r, 4, buy(1000, 1)),
        Err(Reject::Position {
            limit: 300,
            value: 301
        })
    );
    // Fills move quantity from open to position: the worst case does not change.
    r.on_fill(OrderKey(1), BTC, Side::Buy, 60);
    assert_eq!(r.position(BTC), 60);
    assert_eq!(r.open(BTC), (3, 240, 0));
    assert_eq!(
        check(&mut r, 5, buy(1000, 1)),
        Err(Reject::Position {
            limit: 300,
            value: 301
        })
    );
    // Cancelling the rest of an order frees its remaining quantity only.
    assert!(r.on_closed(OrderKey(1)));
    assert_eq!(r.open(BTC), (2, 200, 0));
    assert_eq!(check(&mut r, 6, buy(1000, 40)), Ok(()));
    assert_eq!(
        check(&mut r, 7, buy(1000, 1)),
        Err(Reject::Position {
            limit: 300,
            value: 301
        })
    );
    // Long 60: sells may reach 300 short in the worst case, i.e. 360 lots of sells.
    for k in 10..13 {
        assert_eq!(check(&mut r, k, sell(995, 100)), Ok(()));
    }
    assert_eq!(check(&mut r, 13, sell(995, 60)), Ok(()));
    assert_eq!(
        check(&mut r, 14, sell(995, 1)),
        Err(Reject::Position {
            limit: 300,
            value: 301
        })
    );
}

#[test]
fn fills_of_unknown_orders_still_move_the_position() {
    let mut r = risk();
    r.on_fill(OrderKey(99), BTC, Side::Sell, 250);
    assert_eq!(r.position(BTC), -250);
    assert_eq!(check(&mut r, 1, sell(995, 50)), Ok(()));
    assert_eq!(
        check(&mut r, 2, sell(995, 1)),
        Err(Reject::Position {
            limit: 300,
            value: 301
        })
    );
    r.set_position(BTC, 0);
    assert_eq!(check(&mut r, 3, sell(995, 1)), Ok(()));
}

fn spot(tier: TierParams, headroom: i64) -> GlobalLimits {
    GlobalLimits {
        max_open_orders: 256,
        throttle: Throttle::Spot {
            tier,
            headroom,
            max_latency_ns: 0,
        },
        ..GlobalLimits::default()
    }
}

fn many() -> InstrumentLimits {
    InstrumentLimits {
        max_open_orders: 256,
        max_position: i64::MAX,
        ..limits()
    }
}

#[test]
fn spot_throttle_refuses_the_add_that_would_pass_the_threshold() {
    let mut r = risk_with(spot(Tier::Starter.params(), 0), many());
    for k in 0..60 {
        assert_eq!(check(&mut r, k, buy(1000, 1)), Ok(()), "add {k}");
    }
    assert_eq!(r.spot_counter_micros(BTC, at(0)), 60 * MICRO);
    assert_eq!(
        check(&mut r, 60, buy(1000, 1)),
        Err(Reject::Throttle {
            limit: 60 * MICRO,
            value: 61 * MICRO
        })
    );
    // A refusal charges nothing (it never reaches the venue): 1 s of decay makes room for one.
    assert_eq!(r.spot_counter_micros(BTC, at(0)), 60 * MICRO);
    let mut later = r.clone();
    assert_eq!(
        later.check_new(OrderKey(1_000), &buy(1000, 1), &top(), at(S)),
        Ok(())
    );
    assert!(later
        .check_new(OrderKey(1_001), &buy(1000, 1), &top(), at(S))
        .is_err());
    // Pairs have their own counters.
    let eth = Order {
        instrument: ETH,
        ..buy(1000, 1)
    };
    assert_eq!(r.check_new(OrderKey(500), &eth, &top(), at(0)), Ok(()));
}

#[test]
fn spot_throttle_headroom_keeps_units_free() {
    let mut r = risk_with(spot(Tier::Starter.params(), 5), many());
    for k in 0..55 {
        assert_eq!(check(&mut r, k, buy(1000, 1)), Ok(()), "add {k}");
    }
    assert_eq!(
        check(&mut r, 55, buy(1000, 1)),
        Err(Reject::Throttle {
            limit: 55 * MICRO,
            value: 56 * MICRO
        })
    );
}

#[test]
fn spot_throttle_prices_cancels_by_order_age_like_the_venue() {
    // Kraken's worked example: 20 orders placed and cancelled at 3 s reach 180 = Pro threshold.
    let no_decay = TierParams {
        decay_micros_per_sec: 0,
        ..Tier::Pro.params()
    };
    let mut r = risk_with(spot(no_decay, 0), many());
    let mut venue = SpotRateCounter::new(no_decay);
    for k in 0..20 {
        assert_eq!(check(&mut r, k, buy(1000, 1)), Ok(()));
        venue.charge(Transaction::Add, at(0)).unwrap();
    }
    for k in 0..20 {
        assert_eq!(r.check_cancel(OrderKey(k), at(3 * S)), Ok(()), "cancel {k}");
        venue
            .charge(
                Transaction::Cancel {
                    age_ns: 3 * S,
                    filled: false,
                },
                at(3 * S),
            )
            .unwrap();
    }
    assert_eq!(r.spot_counter_micros(BTC, at(3 * S)), 180 * MICRO);
    assert_eq!(venue.counter_micros(at(3 * S)), 180 * MICRO);
    // The orders are still open until their reports; a further add would pass 180.
    assert_eq!(
        r.check_new(OrderKey(100), &buy(1000, 1), &top(), at(3 * S)),
        Err(Reject::Throttle {
            limit: 180 * MICRO,
            value: 181 * MICRO
        })
    );
    // A cancel of an unknown order is refused as such, not charged.
    assert_eq!(
        r.check_cancel(OrderKey(12_345), at(3 * S)),
        Err(Reject::UnknownOrder)
    );
    // Mass cancels are never refused: priced as a batch cancel of the 20 open orders (3 s old,
    // +8 each).
    assert_eq!(r.check_mass_cancel(None, at(3 * S)), Ok(()));
    assert_eq!(r.spot_counter_micros(BTC, at(3 * S)), 340 * MICRO);
}

#[test]
fn spot_cancel_age_is_shortened_by_the_latency_allowance() {
    let no_decay = TierParams {
        decay_micros_per_sec: 0,
        ..Tier::Pro.params()
    };
    let mut r = risk_with(
        GlobalLimits {
            max_open_orders: 256,
            throttle: Throttle::Spot {
                tier: no_decay,
                headroom: 0,
                max_latency_ns: 2 * MS,
            },
            ..GlobalLimits::default()
        },
        many(),
    );
    assert_eq!(check(&mut r, 1, buy(1000, 1)), Ok(()));
    // 5.001 s after sending, the venue may see a 4.999 s old order: priced as < 5 s (+8).
    assert_eq!(r.check_cancel(OrderKey(1), at(5 * S + MS)), Ok(()));
    assert_eq!(r.spot_counter_micros(BTC, at(5 * S + MS)), 9 * MICRO);
}

fn derivatives(headroom: i64) -> GlobalLimits {
    GlobalLimits {
        max_open_orders: 256,
        throttle: Throttle::Derivatives {
            bucket: TokenBucketParams::default(),
            headroom,
        },
        ..GlobalLimits::default()
    }
}

#[test]
fn derivatives_bucket_refuses_when_empty_and_keeps_its_reserve() {
    // Headroom 0: orders still leave one mass cancel (25 tokens): 47 orders fit in 500.
    let mut r = risk_with(derivatives(0), many());
    for k in 0..47 {
        assert_eq!(check(&mut r, k, buy(1000, 1)), Ok(()), "order {k}");
    }
    assert_eq!(
        check(&mut r, 47, buy(1000, 1)),
        Err(Reject::Throttle {
            limit: 500_000,
            value: 505_000
        })
    );
    // 50 tokens/s: after 200 ms one order's 10 tokens are back.
    assert_eq!(
        r.check_new(OrderKey(48), &buy(1000, 1), &top(), at(200 * MS)),
        Ok(())
    );
    assert!(r
        .check_new(OrderKey(49), &buy(1000, 1), &top(), at(200 * MS))
        .is_err());

    // Headroom 5, plus one mass cancel (25) kept by orders and cancels: 470 tokens to spend.
    let mut r = risk_with(derivatives(5), many());
    for k in 0..47 {
        assert_eq!(check(&mut r, k, buy(1000, 1)), Ok(()), "order {k}");
    }
    // 470 spent + 10 + 30 reserve = 510 > 500.
    assert_eq!(
        check(&mut r, 47, buy(1000, 1)),
        Err(Reject::Throttle {
            limit: 500_000,
            value: 510_000
        })
    );
    // Cancels cost an order's 10 too and respect the reserve.
    assert_eq!(
        r.check_cancel(OrderKey(0), at(0)),
        Err(Reject::Throttle {
            limit: 500_000,
            value: 510_000
        })
    );
    // The kill switch's mass cancel is paid from the reserve, leaving the headroom.
    assert_eq!(r.check_mass_cancel(None, at(0)), Ok(()));
    assert_eq!(r.bucket_millis(at(0)), 5_000);
    assert_eq!(
        r.check_mass_cancel(None, at(0)),
        Err(Reject::Throttle {
            limit: 500_000,
            value: 525_000
        })
    );
}

#[test]
fn duplicate_inside_the_window_is_refused_and_passes_at_the_window() {
    let mut r = risk_with(
        GlobalLimits {
            duplicate_window_ns: MS,
            ..GlobalLimits::default()
        },
        limits(),
    );
    let o = buy(1000, 7);
    assert_eq!(r.check_new(OrderKey(1), &o, &top(), at(0)), Ok(()));
    assert_eq!(
        r.check_new(OrderKey(2), &o, &top(), at(MS - 1)),
        Err(Reject::Duplicate {
            limit: MS,
            value: MS - 1
        })
    );
    // Any field different: not a duplicate.
    assert_eq!(
        r.check_new(OrderKey(3), &buy(1001, 7), &top(), at(MS - 1)),
        Ok(())
    );
    assert_eq!(
        r.check_new(OrderKey(4), &buy(1000, 8), &top(), at(MS - 1)),
        Ok(())
    );
    assert_eq!(
        r.check_new(OrderKey(5), &sell(1000, 7), &top(), at(MS - 1)),
        Ok(())
    );
    assert_eq!(r.check_new(OrderKey(6), &o, &top(), at(MS)), Ok(()));
    // Window 0 turns the check off.
    let mut r = risk();
    assert_eq!(r.check_new(OrderKey(1), &o, &top(), at(0)), Ok(()));
    assert_eq!(r.check_new(OrderKey(2), &o, &top(), at(0)), Ok(()));
}

#[test]
fn kill_switch_blocks_new_orders_until_rearmed_by_hand() {
    let mut r = risk();
    assert_eq!(check(&mut r, 1, buy(1000, 1)), Ok(()));
    assert!(!r.killed());
    r.kill(KillReason::Operator, at(5));
    assert!(r.killed());
    assert_eq!(
        r.poll_event(),
        Some(RiskEvent::Killed {
            reason: KillReason::Operator,
            at: at(5)
        })
    );
    assert_eq!(r.poll_event(), None);
    assert_eq!(check(&mut r, 2, buy(1000, 1)), Err(Reject::Killed));
    // Killing again is no news; cancels and reports still flow.
    r.kill(KillReason::Engine(7), at(6));
    assert_eq!(r.poll_event(), None);
    assert_eq!(r.check_cancel(OrderKey(1), at(6)), Ok(()));
    assert_eq!(r.check_mass_cancel(None, at(6)), Ok(()));
    assert!(r.on_closed(OrderKey(1)));
    // Time alone does not re-arm.
    assert_eq!(
        r.check_new(OrderKey(3), &buy(1000, 1), &top(), at(3_600 * S)),
        Err(Reject::Killed)
    );
    r.rearm(at(7));
    assert!(!r.killed());
    assert_eq!(r.poll_event(), Some(RiskEvent::Rearmed { at: at(7) }));
    assert_eq!(check(&mut r, 4, buy(1000, 1)), Ok(()));
    assert_eq!(r.rejects(RejectKind::Killed), 2);
}

#[test]
fn unconfigured_instruments_and_malformed_orders_are_refused() {
    let mut r = risk();
    let o = Order {
        instrument: InstrumentId(2),
        ..buy(1000, 1)
    };
    assert_eq!(
        r.check_new(OrderKey(1), &o, &top(), at(0)),
        Err(Reject::UnknownInstrument { instrument: 2 })
    );
    let o = Order {
        instrument: InstrumentId(60_000),
        ..buy(1000, 1)
    };
    assert_eq!(
        r.check_new(OrderKey(1), &o, &top(), at(0)),
        Err(Reject::UnknownInstrument { instrument: 60_000 })
    );
    assert_eq!(
        check(&mut r, 1, buy(1000, 0)),
        Err(Reject::Invalid {
            limit: 1000,
            value: 0
        })
    );
    assert_eq!(
        check(&mut r, 1, buy(-5, 1)),
        Err(Reject::Invalid {
            limit: -5,
            value: 1
        })
    );
    // Removing an instrument refuses new orders but keeps tracking its open ones.
    assert_eq!(check(&mut r, 1, buy(1000, 1)), Ok(()));
    r.apply(LimitChange::RemoveInstrument(BTC)).unwrap();
    assert_eq!(
        check(&mut r, 2, buy(1000, 1)),
        Err(Reject::UnknownInstrument { instrument: 0 })
    );
    assert_eq!(r.open(BTC).0, 1);
    assert!(check(&mut r, 1, sell(995, 1)).is_err());
}

#[test]
fn key_reuse_is_refused() {
    let mut r = risk();
    assert_eq!(check(&mut r, 1, buy(1000, 1)), Ok(()));
    assert_eq!(check(&mut r, 1, buy(1000, 2)), Err(Reject::KeyInUse));
    assert!(r.on_closed(OrderKey(1)));
    assert_eq!(check(&mut r, 1, buy(1000, 2)), Ok(()));
}

#[test]
fn limit_changes_apply_between_polls_and_bad_ones_change_nothing() {
    let mut r = risk();
    assert_eq!(check(&mut r, 1, buy(1000, 50)), Ok(()));
    r.apply(LimitChange::Instrument(
        BTC,
        InstrumentLimits {
            max_order_qty: 10,
            ..limits()
        },
    ))
    .unwrap();
    assert_eq!(
        check(&mut r, 2, buy(1000, 50)),
        Err(Reject::OrderQty {
            limit: 10,
            value: 50
        })
    );
    let before = r.global();
    assert_eq!(
        r.apply(LimitChange::Global(GlobalLimits {
            max_open_orders: 10_000,
            ..before
        })),
        Err(LimitError::OverCapacity {
            limit: 10_000,
            capacity: 256
        })
    );
    assert_eq!(
        r.apply(LimitChange::Global(spot(Tier::Starter.params(), 60))),
        Err(LimitError::Invalid {
            field: "throttle.headroom"
        })
    );
    assert_eq!(
        r.apply(LimitChange::Global(GlobalLimits {
            duplicate_window_ns: -1,
            ..before
        })),
        Err(LimitError::Invalid {
            field: "duplicate_window_ns"
        })
    );
    assert_eq!(r.global(), before);
    assert_eq!(
        r.apply(LimitChange::Instrument(InstrumentId(4), limits())),
        Err(LimitError::UnknownInstrument {
            instrument: 4,
            capacity: 4
        })
    );
    assert_eq!(
        r.apply(LimitChange::Instrument(
            BTC,
            InstrumentLimits {
                collar: Collar::BasisPoints(-1),
                ..limits()
            }
        )),
        Err(LimitError::Invalid { field: "collar" })
    );
    assert_eq!(r.instrument(BTC).unwrap().max_order_qty, 10);
    // Switching the throttle on takes effect on the next order; the tier can change live.
    r.apply(LimitChange::Global(spot(Tier::Starter.params(), 0)))
        .unwrap();
    assert_eq!(check(&mut r, 3, buy(1000, 1)), Ok(()));
    r.apply(LimitChange::Global(spot(Tier::Pro.params(), 0)))
        .unwrap();
    assert_eq!(r.spot_counter_micros(BTC, at(0)), MICRO, "counter kept");
    assert!(LimitError::OverCapacity {
        limit: 1,
        capacity: 0
    }
    .to_string()
    .contains("capacity"));
}

// --- property: no sequence exceeds a limit, and the venue never refuses ---

#[derive(Debug, Clone)]
enum Op {
    New {
        eth: bool,
        buy: bool,
        price_off: i64,
        qty: i64,
    },
    Fill {
        pick: usize,
        pct: i64,
    },
    Close {
        pick: usize,
    },
    Cancel {
        pick: usize,
    },
    MassCancel,
    Wait {
        ns: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (any::<bool>(), any::<bool>(), -15i64..15, 1i64..130).prop_map(|(eth, buy, price_off, qty)| Op::New { eth, buy, price_off, qty }),
        2 => (any::<usize>(), 1i64..=100).prop_map(|(pick, pct)| Op::Fill { pick, pct }),
        1 => any::<usize>().prop_map(|pick| Op::Close { pick }),
        2 => any::<usize>().prop_map(|pick| Op::Cancel { pick }),
        1 => Just(Op::MassCancel),
        3 => (0i64..400 * MS).prop_map(|ns| Op::Wait { ns }),
    ]
}

/// The venue's view of one instrument: the same rate model, charged at receipt.
struct VenueSide {
    spot: [SpotRateCounter; 2],
    bucket: TokenBucket,
}

/// Runs `ops` through risk and a venue model; `bucket` selects the Derivatives throttle with
/// that capacity (else Spot, Starter tier).
fn run_ops(ops: &[Op], lat: &[i64], bucket: Option<i64>) -> Result<Risk, TestCaseError> {
    let derivs = bucket.is_some();
    let capacity = bucket.unwrap_or(200);
    let inst = InstrumentLimits {
        max_order_qty: 100,
        max_notional: 90_000,
        collar: Collar::Ticks(8),
        max_open_orders: 12,
        max_position: 400,
    };
    let max_latency = 50 * MS;
    let tier = Tier::Starter.params();
    let throttle = if derivs {
        Throttle::Derivatives {
            bucket: TokenBucketParams {
                capacity,
                ..TokenBucketParams::default()
            },
            // capacity / 10 s × 50 ms spread, rounded up.
            headroom: capacity / 200 + 1,
        }
    } else {
        Throttle::Spot {
            tier,
            // 1/s × 50 ms, rounded up.
            headroom: 1,
            max_latency_ns: max_latency,
        }
    };
    let global = GlobalLimits {
        max_open_orders: 20,
        max_book_age_ns: i64::MAX,
        duplicate_window_ns: 0,
        throttle,
    };
    let mut r = risk_with(global, inst);
    let mut venue = VenueSide {
        spot: [SpotRateCounter::new(tier); 2],
        bucket: TokenBucket::new(TokenBucketParams {
            capacity,
            ..TokenBucketParams::default()
        }),
    };
    // Orders the venue holds: key, instrument, side, leaves, venue receive time.
    let mut open: Vec<(u64, InstrumentId, Side, i64, i64)> = Vec::new();
    let mut pos = [0i64; 2];
    let mut now = 0i64;
    let mut last_rx = 0i64;
    let mut next_key = 1u64;
    for (n, op) in ops.iter().enumerate() {
        // Receive times at the venue: sent + latency in [0, max], in order.
        let rx = (now + lat[n % lat.len()] % (max_latency + 1)).max(last_rx);
        match *op {
            Op::New {
                eth,
                buy,
                price_off,
                qty,
            } => {
                let instrument = if eth { ETH } else { BTC };
                let side = if buy { Side::Buy } else { Side::Sell };
                let touch = if buy { 1000 } else { 995 };
                let o = Order {
                    instrument,
                    side,
                    price: touch + price_off,
                    qty,
                };
                let key = next_key;
                next_key += 1;
                if r.check_new(OrderKey(key), &o, &top(), at(now)).is_ok() {
                    // Admitted: every per-order limit held.
                    prop_assert!(o.qty <= inst.max_order_qty);
                    prop_assert!(o.price * o.qty <= inst.max_notional);
                    match side {
                        Side::Buy => prop_assert!(o.price <= 1000 + 8),
                        Side::Sell => prop_assert!(o.price >= 995 - 8),
                    }
                    // The venue's limiter must accept it.
                    let accepted = if derivs {
                        venue.bucket.take(10, at(rx)).is_ok()
                    } else {
                        venue.spot[usize::from(instrument.0)]
                            .charge(Transaction::Add, at(rx))
                            .is_ok()
                    };
                    prop_assert!(accepted, "venue refused order {key} at op {n}");
                    last_rx = rx;
                    open.push((key, instrument, side, qty, rx));
                }
            }
            Op::Fill { pick, pct } if !open.is_empty() => {
                let i = pick % open.len();
                let (key, instrument, side, leaves, _) = open[i];
                let q = (leaves * pct / 100).max(1);
                r.on_fill(OrderKey(key), instrument, side, q);
                let p = &mut pos[usize::from(instrument.0)];
                *p += if side == Side::Buy { q } else { -q };
                if q == leaves {
                    open.swap_remove(i);
                } else {
                    open[i].3 -= q;
                }
            }
            Op::Close { pick } if !open.is_empty() => {
                let i = pick % open.len();
                prop_assert!(r.on_closed(OrderKey(open[i].0)));
                open.swap_remove(i);
            }
            Op::Cancel { pick } if !open.is_empty() => {
                let i = pick % open.len();
                let (key, instrument, _, _, created) = open[i];
                if r.check_cancel(OrderKey(key), at(now)).is_ok() {
                    let accepted = if derivs {
                        venue.bucket.take(10, at(rx)).is_ok()
                    } else {
                        venue.spot[usize::from(instrument.0)]
                            .charge(
                                Transaction::Cancel {
                                    age_ns: rx - created,
                                    filled: false,
                                },
                                at(rx),
                            )
                            .is_ok()
                    };
                    prop_assert!(accepted, "venue refused cancel of {key} at op {n}");
                    last_rx = rx;
                    // The venue cancels: terminal report.
                    prop_assert!(r.on_closed(OrderKey(key)));
                    open.swap_remove(i);
                }
            }
            Op::MassCancel => {
                if r.check_mass_cancel(None, at(now)).is_ok() {
                    if derivs {
                        prop_assert!(
                            venue.bucket.take(25, at(rx)).is_ok(),
                            "venue refused mass cancel at op {n}"
                        );
                    } else {
                        for &(_, instrument, _, _, created) in &open {
                            venue.spot[usize::from(instrument.0)].charge_unrefused(
                                Transaction::Cancel {
                                    age_ns: rx - created,
                                    filled: false,
                                },
                                at(rx),
                            );
                        }
                    }
                    last_rx = rx;
                    for &(key, ..) in &open {
                        prop_assert!(r.on_closed(OrderKey(key)));
                    }
                    open.clear();
                }
            }
            Op::Wait { ns } => now += ns,
            Op::Fill { .. } | Op::Close { .. } | Op::Cancel { .. } => {}
        }
        // State limits hold after every step, and risk's books match the venue's.
        prop_assert!(r.open_total() <= 20);
        prop_assert_eq!(r.open_total() as usize, open.len());
        for (i, id) in [BTC, ETH].into_iter().enumerate() {
            let (count, ob, os) = r.open(id);
            prop_assert!(count <= 12);
            prop_assert_eq!(r.position(id), pos[i]);
            let (vb, vs) = open
                .iter()
                .filter(|o| o.1 == id)
                .fold((0, 0), |(b, s), o| match o.2 {
                    Side::Buy => (b + o.3, s),
                    Side::Sell => (b, s + o.3),
                });
            prop_assert_eq!((ob, os), (vb, vs));
            prop_assert!(pos[i] + ob <= 400, "long worst case {}", pos[i] + ob);
            prop_assert!(os - pos[i] <= 400, "short worst case {}", os - pos[i]);
            prop_assert!(pos[i].abs() <= 400);
        }
    }
    Ok(r)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn no_sequence_exceeds_a_limit_spot(
        ops in proptest::collection::vec(op(), 1..400),
        lat in proptest::collection::vec(0i64..i64::MAX, 1..16),
    ) {
        run_ops(&ops, &lat, None)?;
    }

    #[test]
    fn no_sequence_exceeds_a_limit_derivatives(
        ops in proptest::collection::vec(op(), 1..400),
        lat in proptest::collection::vec(0i64..i64::MAX, 1..16),
    ) {
        run_ops(&ops, &lat, Some(200))?;
    }
}

#[test]
fn the_property_run_reaches_every_limit() {
    // The property above is only worth something if its sequences reach the limits: a dense
    // deterministic mix of the same operations must meet every one of them.
    let ops: Vec<Op> = (0..600i64)
        .map(|i| match i % 5 {
            4 => Op::Close { pick: i as usize },
            3 if i % 15 == 3 => Op::Fill {
                pick: i as usize,
                pct: 100,
            },
            _ => Op::New {
                eth: i % 3 == 0,
                buy: i % 2 == 0,
                price_off: i % 40 - 20,
                qty: 20 + i % 120,
            },
        })
        .collect();
    for bucket in [None, Some(1_000)] {
        let derivs = bucket.is_some();
        let r = run_ops(&ops, &[0, 7 * MS, 50 * MS], bucket).unwrap();
        for kind in [
            RejectKind::OrderQty,
            RejectKind::Notional,
            RejectKind::PriceCollar,
            RejectKind::OpenOrders,
            RejectKind::Position,
            RejectKind::Throttle,
        ] {
            assert!(
                r.rejects(kind) > 0,
                "{} never reached (derivatives: {derivs})",
                kind.name()
            );
        }
        assert!(r.stats().admitted > 50);
    }
}

// --- zero allocations ---

#[test]
fn risk_and_trigger_evaluation_allocate_nothing() {
    let mut r = risk_with(
        GlobalLimits {
            max_open_orders: 256,
            max_book_age_ns: S,
            duplicate_window_ns: 10 * MS,
            throttle: Throttle::Spot {
                tier: Tier::Pro.params(),
                headroom: 2,
                max_latency_ns: MS,
            },
        },
        many(),
    );
    let mut triggers = Triggers::new(64);
    for i in 0..64u32 {
        let p = 990 + i64::from(i % 20);
        let cond = match i % 5 {
            0 => Condition::AskAtOrBelow(p),
            1 => Condition::BidAtOrAbove(p),
            2 => Condition::LastAtOrBelow(p),
            3 => Condition::LastAtOrAbove(p),
            _ => Condition::SpreadAtOrBelow(5),
        };
        let side = if i % 2 == 0 { Side::Buy } else { Side::Sell };
        let o = Order {
            instrument: BTC,
            side,
            price: if side == Side::Buy { 1000 } else { 995 },
            qty: 1 + i64::from(i),
        };
        triggers
            .arm(
                TriggerId(i),
                Trigger::rearming(cond, o, TimeInForce::ImmediateOrCancel, 3 * MS),
            )
            .unwrap();
    }
    let mut admitted = 0u64;
    let mut refused = 0u64;
    let mut fired = 0usize;
    let mut key = 0u64;
    let mut open_keys = [0u64; 16];
    let before = tickwire_testutil::this_thread();
    for i in 0..100_000i64 {
        let now = at(i * 50 * MS);
        let ask = 998 + i % 5;
        let t = Top {
            bid: Some(ask - 3),
            ask: Some(ask),
            last: Some(ask - 1 - i % 3),
            updated: now,
        };
        fired += triggers.evaluate(BTC, &t, now, |f| {
            key += 1;
            match r.check_new(OrderKey(key), &f.order, &t, now) {
                Ok(()) => {
                    admitted += 1;
                    let slot = (key % 16) as usize;
                    let old = core::mem::replace(&mut open_keys[slot], key);
                    if old != 0 {
                        if key % 2 == 0 {
                            r.on_fill(OrderKey(old), BTC, f.order.side, 1_000);
                        } else {
                            let _ = r.check_cancel(OrderKey(old), now);
                            r.on_closed(OrderKey(old));
                        }
                    }
                }
                Err(_) => refused += 1,
            }
        });
        while r.poll_event().is_some() {}
    }
    let after = tickwire_testutil::this_thread();
    assert_eq!(after - before, 0, "allocations on the hot path");
    // The loop did real work: triggers fired, orders passed and were refused.
    assert!(fired > 50_000, "fired {fired}");
    assert!(admitted > 10_000, "admitted {admitted}");
    assert!(refused > 1_000, "refused {refused}");
}
