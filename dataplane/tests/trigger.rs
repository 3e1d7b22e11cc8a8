//! Armed orders: each condition fires exactly at its threshold and not one tick short; missing
//! book values never fire; one-shot triggers leave the table; re-arming ones cool down; crossing
//! triggers fire on the transition only; disarm, duplicate ids, validation and the capacity
//! error; and a fired order goes through risk unchanged.
#![allow(clippy::unwrap_used)]

use tickwire_dataplane::risk::{
    Capacity, Collar, GlobalLimits, InstrumentId, InstrumentLimits, LimitChange, Order, OrderKey,
    Reject, Risk, Top,
};
use tickwire_dataplane::trigger::{
    ArmError, Condition, Edge, Fire, Mode, Trigger, TriggerId, Triggers,
};
use tickwire_fix::outbound::{Side, TimeInForce};
use tickwire_fix::time::UtcTimestamp;

const BTC: InstrumentId = InstrumentId(0);
const ETH: InstrumentId = InstrumentId(1);
const MS: i64 = 1_000_000;

fn at(ns: i64) -> UtcTimestamp {
    UtcTimestamp::from_nanos(1_775_572_320_000_000_000 + ns)
}

fn top(bid: Option<i64>, ask: Option<i64>, last: Option<i64>) -> Top {
    Top {
        bid,
        ask,
        last,
        updated: at(0),
    }
}

fn ioc_buy(price: i64, qty: i64) -> Order {
    Order {
        instrument: BTC,
        side: Side::Buy,
        price,
        qty,
    }
}

fn fire_ids(t: &mut Triggers, inst: InstrumentId, top: &Top, now: i64) -> Vec<u32> {
    let mut ids = Vec::new();
    t.evaluate(inst, top, at(now), |f| ids.push(f.id.0));
    ids
}

/// Arms one one-shot trigger per condition and checks the boundary: fires at the threshold,
/// not one tick short of it.
#[test]
fn each_condition_fires_exactly_at_its_threshold() {
    struct Case {
        cond: Condition,
        short: Top,
        exact: Top,
    }
    let cases = [
        Case {
            cond: Condition::AskAtOrBelow(840_000),
            short: top(Some(839_990), Some(840_001), None),
            exact: top(Some(839_990), Some(840_000), None),
        },
        Case {
            cond: Condition::BidAtOrAbove(840_000),
            short: top(Some(839_999), Some(840_010), None),
            exact: top(Some(840_000), Some(840_010), None),
        },
        Case {
            cond: Condition::LastAtOrBelow(840_000),
            short: top(Some(1), Some(2), Some(840_001)),
            exact: top(Some(1), Some(2), Some(840_000)),
        },
        Case {
            cond: Condition::LastAtOrAbove(840_000),
            short: top(Some(1), Some(2), Some(839_999)),
            exact: top(Some(1), Some(2), Some(840_000)),
        },
        Case {
            cond: Condition::SpreadAtOrBelow(3),
            short: top(Some(840_000), Some(840_004), None),
            exact: top(Some(840_000), Some(840_003), None),
        },
    ];
    for (i, c) in cases.iter().enumerate() {
        let mut t = Triggers::new(4);
        let order = ioc_buy(840_000, 100);
        t.arm(
            TriggerId(7),
            Trigger::one_shot(c.cond, order, TimeInForce::ImmediateOrCancel),
        )
        .unwrap();
        assert!(fire_ids(&mut t, BTC, &c.short, 0).is_empty(), "case {i}");
        let mut fired = Vec::new();
        let n = t.evaluate(BTC, &c.exact, at(1), |f| fired.push(f));
        assert_eq!(n, 1, "case {i}");
        assert_eq!(
            fired,
            [Fire {
                id: TriggerId(7),
                order,
                tif: TimeInForce::ImmediateOrCancel
            }],
            "case {i}"
        );
        assert!(t.is_empty(), "one-shot leaves the table, case {i}");
        assert!(fire_ids(&mut t, BTC, &c.exact, 2).is_empty(), "case {i}");
    }
}

#[test]
fn missing_values_and_other_instruments_never_fire() {
    let mut t = Triggers::new(8);
    let o = ioc_buy(100, 1);
    let tif = TimeInForce::ImmediateOrCancel;
    for (i, cond) in [
        Condition::AskAtOrBelow(i64::MAX - 1),
        Condition::BidAtOrAbove(1),
        Condition::LastAtOrBelow(i64::MAX - 1),
        Condition::LastAtOrAbove(1),
        Condition::SpreadAtOrBelow(i64::MAX - 1),
    ]
    .into_iter()
    .enumerate()
    {
        t.arm(TriggerId(i as u32), Trigger::one_shot(cond, o, tif))
            .unwrap();
    }
    // Stale or empty book, no trade yet.
    assert!(fire_ids(&mut t, BTC, &top(None, None, None), 0).is_empty());
    // Spread needs both sides: a bid-only book fires the bid trigger alone.
    assert_eq!(fire_ids(&mut t, BTC, &top(Some(5), None, None), 0), [1]);
    // Another instrument's book leaves BTC's triggers alone.
    assert!(fire_ids(&mut t, ETH, &top(Some(5), Some(6), Some(5)), 0).is_empty());
    assert_eq!(t.len(), 4);
    // With everything present, the other four fire, in arming order.
    assert_eq!(
        fire_ids(&mut t, BTC, &top(Some(5), Some(6), Some(5)), 0),
        [0, 2, 3, 4]
    );
}

#[test]
fn rearming_trigger_cools_down_for_exactly_its_cooldown() {
    let mut t = Triggers::new(2);
    t.arm(
        TriggerId(1),
        Trigger::rearming(
            Condition::AskAtOrBelow(100),
            ioc_buy(100, 1),
            TimeInForce::ImmediateOrCancel,
            5 * MS,
        ),
    )
    .unwrap();
    let hit = top(Some(99), Some(100), None);
    assert_eq!(fire_ids(&mut t, BTC, &hit, 0), [1]);
    assert!(fire_ids(&mut t, BTC, &hit, MS).is_empty());
    assert!(fire_ids(&mut t, BTC, &hit, 5 * MS - 1).is_empty());
    assert_eq!(fire_ids(&mut t, BTC, &hit, 5 * MS), [1]);
    // Condition false after the cool-down: nothing; true again: fires.
    assert!(fire_ids(&mut t, BTC, &top(Some(99), Some(101), None), 20 * MS).is_empty());
    assert_eq!(fire_ids(&mut t, BTC, &hit, 21 * MS), [1]);
    let armed: Vec<_> = t.iter().collect();
    assert_eq!(armed.len(), 1);
    assert_eq!(armed[0].fired, 3);
    assert_eq!(armed[0].ready_at_ns, at(26 * MS).nanos);
    // Cool-down 0: fires on every update while the condition holds.
    let mut t = Triggers::new(1);
    t.arm(
        TriggerId(2),
        Trigger::rearming(
            Condition::AskAtOrBelow(100),
            ioc_buy(100, 1),
            TimeInForce::GoodTillCancel,
            0,
        ),
    )
    .unwrap();
    for now in 0..10 {
        assert_eq!(fire_ids(&mut t, BTC, &hit, now), [2]);
    }
}

#[test]
fn crossing_trigger_fires_on_the_transition_only() {
    let mut t = Triggers::new(2);
    t.arm(
        TriggerId(3),
        Trigger {
            condition: Condition::LastAtOrBelow(100),
            edge: Edge::Cross,
            mode: Mode::Rearm { cooldown_ns: 0 },
            order: ioc_buy(100, 1),
            tif: TimeInForce::ImmediateOrCancel,
        },
    )
    .unwrap();
    let below = top(Some(1), Some(2), Some(99));
    let above = top(Some(1), Some(2), Some(101));
    // Armed while already below: waits for the price to come back first.
    assert!(fire_ids(&mut t, BTC, &below, 0).is_empty());
    assert!(fire_ids(&mut t, BTC, &above, 1).is_empty());
    assert_eq!(fire_ids(&mut t, BTC, &below, 2), [3]);
    assert!(fire_ids(&mut t, BTC, &below, 3).is_empty(), "still below");
    assert!(fire_ids(&mut t, BTC, &above, 4).is_empty());
    assert_eq!(fire_ids(&mut t, BTC, &below, 5), [3]);
    // No trade counts as "not below".
    assert!(fire_ids(&mut t, BTC, &top(None, None, None), 6).is_empty());
    assert_eq!(fire_ids(&mut t, BTC, &below, 7), [3]);
}

#[test]
fn disarm_by_id_and_duplicate_ids() {
    let mut t = Triggers::new(3);
    let tr = Trigger::rearming(
        Condition::BidAtOrAbove(50),
        ioc_buy(50, 2),
        TimeInForce::ImmediateOrCancel,
        0,
    );
    for id in [10, 11, 12] {
        t.arm(TriggerId(id), tr).unwrap();
    }
    assert_eq!(
        t.arm(TriggerId(11), tr),
        Err(ArmError::DuplicateId(TriggerId(11)))
    );
    assert_eq!(t.disarm(TriggerId(11)), Some(tr));
    assert_eq!(t.disarm(TriggerId(11)), None);
    let hit = top(Some(50), Some(51), None);
    assert_eq!(fire_ids(&mut t, BTC, &hit, 0), [10, 12]);
    // The freed slot can be armed again; arming order is firing order.
    t.arm(TriggerId(11), tr).unwrap();
    assert_eq!(fire_ids(&mut t, BTC, &hit, 1), [10, 12, 11]);
    t.disarm_all();
    assert!(t.is_empty());
    assert!(fire_ids(&mut t, BTC, &hit, 2).is_empty());
}

#[test]
fn arming_beyond_capacity_is_a_typed_error() {
    let mut t = Triggers::new(2);
    let tr = Trigger::one_shot(
        Condition::AskAtOrBelow(1),
        ioc_buy(1, 1),
        TimeInForce::ImmediateOrCancel,
    );
    t.arm(TriggerId(1), tr).unwrap();
    t.arm(TriggerId(2), tr).unwrap();
    assert_eq!(t.arm(TriggerId(3), tr), Err(ArmError::Full { capacity: 2 }));
    assert_eq!(t.len(), 2);
    assert_eq!(t.capacity(), 2);
    // A one-shot firing frees its slot.
    assert_eq!(fire_ids(&mut t, BTC, &top(None, Some(1), None), 0), [1, 2]);
    t.arm(TriggerId(3), tr).unwrap();
    let mut none = Triggers::new(0);
    assert_eq!(
        none.arm(TriggerId(1), tr),
        Err(ArmError::Full { capacity: 0 })
    );
    assert!(ArmError::Full { capacity: 2 }.to_string().contains("full"));
}

#[test]
fn invalid_triggers_are_refused() {
    let mut t = Triggers::new(4);
    let tif = TimeInForce::ImmediateOrCancel;
    let bad = |cond, order, mode| Trigger {
        condition: cond,
        edge: Edge::Level,
        mode,
        order,
        tif,
    };
    let ok = ioc_buy(100, 1);
    for (tr, field) in [
        (
            bad(Condition::AskAtOrBelow(100), ioc_buy(0, 1), Mode::OneShot),
            "order.price",
        ),
        (
            bad(Condition::AskAtOrBelow(100), ioc_buy(100, 0), Mode::OneShot),
            "order.qty",
        ),
        (
            bad(Condition::AskAtOrBelow(0), ok, Mode::OneShot),
            "condition",
        ),
        (
            bad(Condition::BidAtOrAbove(-1), ok, Mode::OneShot),
            "condition",
        ),
        (
            bad(Condition::SpreadAtOrBelow(-1), ok, Mode::OneShot),
            "condition",
        ),
        (
            bad(Condition::LastAtOrBelow(i64::MAX), ok, Mode::OneShot),
            "condition",
        ),
        (
            bad(
                Condition::AskAtOrBelow(100),
                ok,
                Mode::Rearm { cooldown_ns: -1 },
            ),
            "cooldown_ns",
        ),
    ] {
        assert_eq!(t.arm(TriggerId(1), tr), Err(ArmError::Invalid { field }));
    }
    assert!(t.is_empty());
    t.arm(
        TriggerId(1),
        bad(Condition::SpreadAtOrBelow(0), ok, Mode::OneShot),
    )
    .unwrap();
}

#[test]
fn a_fired_order_goes_through_risk_as_armed() {
    let mut risk = Risk::new(
        Capacity {
            instruments: 2,
            orders: 128,
            recent: 4,
        },
        GlobalLimits::default(),
    )
    .unwrap();
    risk.apply(LimitChange::Instrument(
        BTC,
        InstrumentLimits {
            max_order_qty: 1_000_000,
            max_notional: i64::MAX,
            collar: Collar::Ticks(0),
            max_open_orders: 1,
            max_position: i64::MAX,
        },
    ))
    .unwrap();
    let mut t = Triggers::new(4);
    t.arm(
        TriggerId(1),
        Trigger::rearming(
            Condition::AskAtOrBelow(840_000),
            ioc_buy(840_000, 1_000_000),
            TimeInForce::ImmediateOrCancel,
            0,
        ),
    )
    .unwrap();
    let book = Top {
        bid: Some(839_998),
        ask: Some(840_000),
        last: None,
        updated: at(0),
    };
    let mut results = Vec::new();
    let mut key = 0;
    for now in 0..2 {
        t.evaluate(BTC, &book, at(now), |f| {
            key += 1;
            results.push(risk.check_new(OrderKey(key), &f.order, &book, at(now)));
        });
    }
    assert_eq!(
        results,
        [Ok(()), Err(Reject::OpenOrders { limit: 1, value: 2 })]
    );
}
