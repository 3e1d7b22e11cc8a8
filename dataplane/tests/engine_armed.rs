//! The armed-order strategy in the engine: triggers armed from another thread through the
//! strategy's queue fire on the next qualifying book update, and the order reaches the venue
//! with the template's fields and the trigger's price and quantity; disarmed triggers do not.
#![allow(clippy::unwrap_used)]

mod engine_util;

use engine_util::*;
use tickwire_dataplane::counters::{read, Shared};
use tickwire_dataplane::engine::armed::{Armed, ArmedCommand, ArmedControl, ArmedEvent};
use tickwire_dataplane::engine::{Command, OrderError};
use tickwire_dataplane::risk::{InstrumentId, Order};
use tickwire_dataplane::trigger::{ArmError, Condition, Trigger, TriggerId};
use tickwire_fix::outbound::{Side, TimeInForce};

const BTC: InstrumentId = InstrumentId(0);

/// Every `fire_every`-th tick has the ask at or below the trigger.
fn rig(fire_every: u64) -> (Rig<Armed>, ArmedControl) {
    // A placeholder until the engine's counter block exists: the strategy counts into the
    // engine's block (in the daemon, a clone of the handle the engine gets).
    let (placeholder, _) = Armed::new(1, 1, Shared::in_memory());
    let mut rig = Rig::build(fire_every, true, placeholder, |_, _| {});
    let (mut armed, control) = Armed::new(16, 64, rig.engine.counters().clone());
    armed.bind_book(rig.md, BTC, 1, 8);
    armed.bind_order(BTC, Side::Buy, TimeInForce::ImmediateOrCancel, rig.order);
    *rig.engine.strategy_mut() = armed;
    rig.log_on();
    (rig, control)
}

/// Buy 0.01 (10⁶ lots at QtyPrecision 8) at 84000.0 IOC when the ask is at or below 84000.0.
fn buy_at_trigger(one_shot: bool) -> Trigger {
    let order = Order {
        instrument: BTC,
        side: Side::Buy,
        price: TRIGGER,
        qty: 1_000_000,
    };
    let cond = Condition::AskAtOrBelow(TRIGGER);
    if one_shot {
        Trigger::one_shot(cond, order, TimeInForce::ImmediateOrCancel)
    } else {
        Trigger::rearming(cond, order, TimeInForce::ImmediateOrCancel, 0)
    }
}

fn events(control: &mut ArmedControl) -> Vec<ArmedEvent> {
    std::iter::from_fn(|| control.poll_event()).collect()
}

/// Sends `cmds` from another thread, as the daemon's control thread does.
fn from_thread(control: ArmedControl, cmds: Vec<ArmedCommand>) -> ArmedControl {
    std::thread::spawn(move || {
        let mut control = control;
        for c in cmds {
            control.send(c).unwrap();
        }
        control
    })
    .join()
    .unwrap()
}

#[test]
fn armed_from_another_thread_fires_on_the_next_qualifying_update_and_disarm_stops_it() {
    let (mut rig, control) = rig(3);
    // Nothing armed: qualifying ticks send nothing.
    rig.ticks(6);
    assert!(rig.venue.orders.is_empty());

    let mut control = from_thread(
        control,
        vec![ArmedCommand::Arm(TriggerId(7), buy_at_trigger(false))],
    );
    // Ticks 7 and 8 do not qualify; tick 9 does and fires.
    rig.ticks(2);
    assert!(rig.venue.orders.is_empty());
    assert_eq!(events(&mut control), [ArmedEvent::Armed(TriggerId(7))]);
    rig.ticks(1);
    assert_eq!(
        rig.venue.orders.len(),
        1,
        "fired on the first qualifying update"
    );
    assert_eq!(rig.venue.check.well_formed, 1, "84000.0 for 0.01, buy IOC");
    assert_eq!(
        events(&mut control),
        [ArmedEvent::Fired {
            id: TriggerId(7),
            result: Ok(rig.venue.orders[0])
        }]
    );
    // Re-arming: fires on every qualifying tick.
    rig.ticks(9);
    assert_eq!(rig.venue.orders.len(), 4);
    assert_eq!(rig.venue.check.malformed, 0);

    let mut control = from_thread(control, vec![ArmedCommand::Disarm(TriggerId(7))]);
    rig.ticks(9);
    assert_eq!(rig.venue.orders.len(), 4, "disarmed: no more orders");
    let ev = events(&mut control);
    assert_eq!(ev.len(), 4);
    assert_eq!(ev[3], ArmedEvent::Disarmed(TriggerId(7)));

    let c = rig.engine.counters().counters();
    assert_eq!(read(&c.armed.fires), 4);
    assert_eq!(read(&c.armed.orders), 4);
    assert_eq!(read(&c.armed.refused), 0);
    assert_eq!(read(&c.armed.armed), 0);
    assert_eq!(read(&c.armed.commands), 2);
    assert_eq!(read(&c.session[rig.trd.index()].orders_sent), 4);
}

#[test]
fn one_shot_fires_once_and_errors_and_refusals_are_reported() {
    let (mut rig, mut control) = rig(1);
    control
        .send(ArmedCommand::Arm(TriggerId(1), buy_at_trigger(true)))
        .unwrap();
    control
        .send(ArmedCommand::Arm(TriggerId(1), buy_at_trigger(true)))
        .unwrap();
    // A sell trigger with no sell template bound.
    let mut sell = buy_at_trigger(false);
    sell.order.side = Side::Sell;
    sell.condition = Condition::BidAtOrAbove(1);
    control.send(ArmedCommand::Arm(TriggerId(2), sell)).unwrap();
    rig.ticks(3);
    assert_eq!(rig.venue.orders.len(), 1, "one-shot: one order");
    let ev = events(&mut control);
    assert_eq!(ev[0], ArmedEvent::Armed(TriggerId(1)));
    assert_eq!(
        ev[1],
        ArmedEvent::Refused(TriggerId(1), ArmError::DuplicateId(TriggerId(1)))
    );
    assert_eq!(ev[2], ArmedEvent::Armed(TriggerId(2)));
    assert!(ev.contains(&ArmedEvent::Fired {
        id: TriggerId(1),
        result: Ok(rig.venue.orders[0])
    }));
    assert!(ev.contains(&ArmedEvent::Fired {
        id: TriggerId(2),
        result: Err(OrderError::UnknownOrder)
    }));
    let c = rig.engine.counters().clone();
    let c = c.counters();
    assert_eq!(read(&c.armed.arm_errors), 1);
    assert_eq!(read(&c.armed.armed), 1, "the one-shot left, the sell stays");
    assert_eq!(read(&c.armed.refused), 3, "the unbound sell, once per tick");

    // The kill switch refuses what fires; the trigger fired all the same.
    control.send(ArmedCommand::DisarmAll).unwrap();
    control
        .send(ArmedCommand::Arm(TriggerId(3), buy_at_trigger(false)))
        .unwrap();
    rig.engine.command(Command::BlockOrders, at(rig.t));
    rig.ticks(2);
    assert_eq!(rig.venue.orders.len(), 1);
    let ev = events(&mut control);
    assert!(ev.contains(&ArmedEvent::DisarmedAll(1)));
    assert!(ev.contains(&ArmedEvent::Fired {
        id: TriggerId(3),
        result: Err(OrderError::Blocked)
    }));
    assert_eq!(read(&c.armed.orders), 1);
}
