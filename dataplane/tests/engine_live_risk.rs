//! Risk limits changed while the engine runs: the control thread tightens a limit, kills and
//! re-arms through the [`LiveGate`]'s queue; each change is in force for the very next order,
//! a refused change leaves the previous limits, and refused orders never reach the venue.
#![allow(clippy::unwrap_used)]

mod engine_util;

use engine_util::*;
use tickwire_dataplane::counters::{read, Shared};
use tickwire_dataplane::engine::live_risk::{LiveGate, RiskCommand, RiskControl, RiskReply};
use tickwire_dataplane::engine::{OrderError, ThresholdBuy};
use tickwire_dataplane::risk::{
    Capacity, Collar, Gate, GlobalLimits, InstrumentId, InstrumentLimits, KillReason, LimitChange,
    LimitError, Risk, RiskEvent,
};
use tickwire_fix::decimal::Decimal;

const BTC: InstrumentId = InstrumentId(0);

/// 0.01 BTC is 10⁶ lots at QtyPrecision 8: a limit of 2·10⁶ lets the strategy's orders through.
fn limits(max_order_qty: i64) -> InstrumentLimits {
    InstrumentLimits {
        max_order_qty,
        max_notional: i64::MAX / 4,
        collar: Collar::Ticks(1_000),
        max_open_orders: 64,
        max_position: i64::MAX / 4,
    }
}

fn rig() -> (Rig<ThresholdBuy, LiveGate>, RiskControl) {
    let mut risk = Risk::new(
        Capacity {
            instruments: 4,
            orders: 256,
            recent: 64,
        },
        GlobalLimits::default(),
    )
    .unwrap();
    risk.apply(LimitChange::Instrument(BTC, limits(2_000_000)))
        .unwrap();
    let (gate, control) = LiveGate::new(Gate::new(risk), 16, Shared::in_memory());
    let strategy = ThresholdBuy::new(TRIGGER, Decimal::new(TRIGGER, 1), Decimal::new(1, 2));
    let mut rig = Rig::build_with_risk(1, true, strategy, gate, |_, _| {});
    // The gate counts into the engine's block: rebuild it with that handle, same risk state.
    let gate = rig.engine.risk().gate().clone();
    let (mut live, control2) = LiveGate::new(gate, 16, rig.engine.counters().clone());
    drop(control);
    let g = live.gate_mut();
    g.bind_instrument(BTC, b"BTC/USD", 1, 8).unwrap();
    g.bind_book(rig.md, BTC).unwrap();
    g.bind_order(rig.order, BTC).unwrap();
    *rig.engine.risk_mut() = live;
    rig.engine.strategy_mut().order = Some(rig.order);
    rig.log_on();
    (rig, control2)
}

fn replies(control: &mut RiskControl) -> Vec<RiskReply> {
    std::iter::from_fn(|| control.poll_event()).collect()
}

fn refused_rule(rig: &Rig<ThresholdBuy, LiveGate>) -> Option<&'static str> {
    match rig.engine.strategy().last_error {
        Some(OrderError::Refused(r)) => Some(r.rule),
        _ => None,
    }
}

#[test]
fn limits_kill_and_rearm_change_while_the_engine_runs() {
    let (mut rig, control) = rig();
    rig.ticks(5);
    assert_eq!(rig.venue.orders.len(), 5, "within the limits");

    // Tighten from another thread: the next order is refused at the new limit.
    let tight = LimitChange::Instrument(BTC, limits(500_000));
    let bad = LimitChange::Instrument(BTC, limits(-1));
    let mut control = std::thread::spawn(move || {
        let mut control = control;
        control.send(RiskCommand::Limit(tight)).unwrap();
        control.send(RiskCommand::Limit(bad)).unwrap();
        control
    })
    .join()
    .unwrap();
    rig.ticks(3);
    assert_eq!(
        rig.venue.orders.len(),
        5,
        "refused orders never reach the venue"
    );
    assert_eq!(refused_rule(&rig), Some("order_qty"));
    assert_eq!(
        replies(&mut control),
        [
            RiskReply::Applied(tight),
            RiskReply::Refused(
                bad,
                LimitError::Invalid {
                    field: "max_order_qty"
                }
            )
        ]
    );
    assert_eq!(
        rig.engine
            .risk()
            .gate()
            .risk()
            .instrument(BTC)
            .unwrap()
            .max_order_qty,
        500_000,
        "the refused change left the previous limit"
    );

    // Loosen again: orders flow. Kill: refused as killed. Re-arm: flow again.
    control
        .send(RiskCommand::Limit(LimitChange::Instrument(
            BTC,
            limits(2_000_000),
        )))
        .unwrap();
    rig.ticks(2);
    assert_eq!(rig.venue.orders.len(), 7);
    control.send(RiskCommand::Kill).unwrap();
    rig.ticks(3);
    assert_eq!(rig.venue.orders.len(), 7);
    assert_eq!(refused_rule(&rig), Some("killed"));
    let c = rig.engine.counters().clone();
    let c = c.counters();
    assert_eq!(read(&c.risk.killed), 1);
    control.send(RiskCommand::Rearm).unwrap();
    rig.ticks(2);
    assert_eq!(rig.venue.orders.len(), 9);
    assert_eq!(read(&c.risk.killed), 0);
    let r = replies(&mut control);
    assert_eq!(r.len(), 3, "{r:?}");
    assert!(matches!(
        r[1],
        RiskReply::Risk(RiskEvent::Killed {
            reason: KillReason::Operator,
            ..
        })
    ));
    assert!(matches!(r[2], RiskReply::Risk(RiskEvent::Rearmed { .. })));
    assert_eq!(read(&c.risk.commands), 5);
    assert_eq!(read(&c.risk.refused), 1);
    assert_eq!(read(&c.session[rig.trd.index()].orders_refused), 6);
    assert_eq!(rig.venue.check.malformed, 0);
    assert_eq!(rig.engine.strategy().fills, 9);
}
