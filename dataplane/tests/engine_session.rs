//! The engine against a venue on the other end of the in-memory NIC pair, in one thread with a
//! synthetic clock: market data and trading sessions over userspace TCP + TLS 1.3 + FIX, the
//! example strategy firing precompiled orders, fills coming back; the kill switch; and a
//! venue that resets the trading connection, refuses reconnects for a while, then accepts:
//! the engine backs off exponentially, reconnects, logs on again and resumes sequence numbers.
#![allow(clippy::unwrap_used)]

mod engine_util;

use engine_util::*;
use tickwire_dataplane::counters::read;
use tickwire_dataplane::engine::{Command, OrderError, Phase, Teardown};
use tickwire_fix::session::State;

#[test]
fn strategy_fires_precompiled_orders_and_fills_come_back() {
    let mut rig = Rig::new(3, true);
    rig.log_on();
    let ticks = 3_000;
    rig.ticks(ticks);

    let expected = (1..=ticks).filter(|n| rig.venue.feed.fires(*n)).count() as u64;
    let s = rig.engine.strategy();
    assert_eq!(
        s.sent, expected,
        "one order per tick at or below the trigger"
    );
    assert_eq!(s.refused, 0, "{:?}", s.last_error);
    assert_eq!(
        rig.venue.orders.len() as u64,
        expected,
        "the venue got every order"
    );
    assert_eq!(rig.venue.check.malformed, 0);
    assert_eq!(rig.venue.check.well_formed, expected);
    assert!(
        rig.venue.orders.windows(2).all(|w| w[0] < w[1]),
        "ClOrdIDs strictly increase"
    );
    assert_eq!(rig.venue.orders.last().copied(), Some(s.last_cl_ord_id));
    assert_eq!(s.fills, expected, "every fill reached the strategy");

    // The book is the venue's last tick.
    let book = rig.engine.book(rig.md).unwrap();
    assert_eq!(book.state(), tickwire_fix::book::State::Live);
    let ask = book.best_ask().unwrap().0;
    assert!((TRIGGER - 3..=TRIGGER + 4).contains(&ask), "best ask {ask}");

    // Counters agree with what both sides saw.
    let c = rig.engine.counters().counters();
    let md = &c.session[rig.md.index()];
    let trd = &c.session[rig.trd.index()];
    assert_eq!(read(&c.sessions), 2);
    assert_eq!(read(&md.book_updates), ticks);
    assert_eq!(read(&trd.orders_sent), expected);
    assert_eq!(read(&trd.execution_reports), expected);
    assert_eq!(read(&trd.orders_refused), 0);
    assert_eq!(read(&trd.order_rejects), 0);
    assert_eq!((read(&md.logons), read(&trd.logons)), (1, 1));
    assert_eq!((read(&md.reconnects), read(&trd.reconnects)), (0, 0));
    assert_eq!(read(&trd.phase), Phase::Active.code());
    // Sent: Logon + orders; received after logon: the ticks (the sessions' own counts).
    assert_eq!(read(&trd.fix_out), 1 + expected);
    assert_eq!(read(&md.fix_in), ticks);
    assert_eq!(read(&trd.fix_in), expected);
    assert!(
        read(&md.tls_records_in) >= ticks,
        "{}",
        read(&md.tls_records_in)
    );
    assert!(read(&trd.tls_records_out) >= expected);
    assert!(read(&c.port.rx_frames) >= ticks + expected);
    assert!(read(&c.port.tx_frames) >= expected);
    assert!(read(&c.port.rx_bytes) > read(&c.port.rx_frames) * 54);
    assert_eq!(read(&c.port.drop_not_allowed), 0);
    assert_eq!(read(&c.port.stack_rx_frames), read(&c.port.rx_frames));
    assert!(read(&c.busy_cycles) <= read(&c.cycles));
}

#[test]
fn kill_switch_refuses_orders_until_allowed_again() {
    let mut rig = Rig::new(1, true);
    rig.log_on();
    rig.ticks(10);
    assert_eq!(rig.engine.strategy().sent, 10);
    rig.engine.command(Command::BlockOrders, at(rig.t));
    rig.ticks(10);
    let s = rig.engine.strategy();
    assert_eq!(s.sent, 10, "no order while blocked");
    assert_eq!(s.refused, 10);
    assert_eq!(s.last_error, Some(OrderError::Blocked));
    assert_eq!(rig.venue.orders.len(), 10, "nothing reached the venue");
    let c = rig.engine.counters().clone();
    let c = c.counters();
    assert_eq!(read(&c.session[rig.trd.index()].orders_refused), 10);
    rig.engine.command(Command::AllowOrders, at(rig.t));
    rig.ticks(5);
    assert_eq!(rig.engine.strategy().sent, 15);
    assert_eq!(rig.venue.orders.len(), 15);
    assert_eq!(rig.engine.strategy().fills, 15);
}

#[test]
fn operator_logout_ends_the_session_and_it_stays_down() {
    let mut rig = Rig::new(1, true);
    rig.log_on();
    rig.engine.command(Command::Logout(rig.trd), at(rig.t));
    rig.run_until("trading session stopped", 200_000, |r| {
        r.engine.phase(r.trd) == Some(Phase::Stopped)
    });
    assert_eq!(
        rig.engine.last_teardown(rig.trd),
        Some(Teardown::Fix(
            tickwire_fix::session::DisconnectReason::LoggedOut
        ))
    );
    // Orders now fail typed, the market-data session is unaffected, no reconnect happens.
    rig.ticks(3);
    let s = rig.engine.strategy();
    assert_eq!(s.last_error, Some(OrderError::SessionDown));
    assert_eq!(rig.engine.phase(rig.md), Some(Phase::Active));
    for _ in 0..20_000 {
        rig.step();
    }
    let c = rig.engine.counters().clone();
    let c = c.counters();
    assert_eq!(
        read(&c.session[rig.trd.index()].connects),
        1,
        "no reconnect"
    );
    // And a Connect command brings it back.
    rig.engine.command(Command::Connect(rig.trd), at(rig.t));
    rig.log_on();
    assert_eq!(read(&c.session[rig.trd.index()].logons), 2);
}

#[test]
fn venue_reset_reconnects_with_backoff_and_resumes_sequence_numbers() {
    let mut rig = Rig::new(1, false);
    rig.log_on();
    rig.ticks(20);
    assert_eq!(rig.engine.strategy().fills, 20);
    let seq_before = rig.engine.fix(rig.trd).unwrap().next_sender_seq();
    assert_eq!(seq_before, 22, "Logon + 20 orders");

    // The venue resets the connection and refuses new ones for 1.5 s.
    rig.venue.relisten = false;
    rig.venue.abort_trading(at(rig.t));
    let down_at = rig.t;
    let c = rig.engine.counters().clone();
    let trd = &c.counters().session[rig.trd.index()];
    let mut connect_times = vec![];
    let mut last = read(&trd.connects);
    while rig.t - down_at < 1_500_000_000 {
        rig.step();
        let n = read(&trd.connects);
        if n != last {
            connect_times.push(rig.t);
            last = n;
        }
    }
    assert_eq!(
        rig.engine.last_teardown(rig.trd),
        Some(Teardown::TcpClosed),
        "refused connects end in RST"
    );
    assert_ne!(rig.engine.phase(rig.trd), Some(Phase::Active));
    // Backoff 50 ms doubling to 400 ms, each with up to half of it as jitter.
    assert!(
        connect_times.len() >= 4 && connect_times.len() <= 9,
        "{} attempts in 1.5 s: {connect_times:?}",
        connect_times.len()
    );
    let mut prev = down_at;
    for (k, &t) in connect_times.iter().enumerate() {
        let base = (50_000_000i64 << k.min(3)).min(400_000_000);
        let gap = t - prev;
        assert!(
            gap >= base / 2 && gap <= base + 1_000_000,
            "attempt {k}: waited {gap} ns, backoff base {base} ns"
        );
        prev = t;
    }
    // Orders while down fail typed and are not sent.
    rig.ticks(2);
    assert_eq!(
        rig.engine.strategy().last_error,
        Some(OrderError::SessionDown)
    );

    // The venue accepts again: reconnect, logon with the next sequence number, orders flow.
    rig.venue.relisten = true;
    rig.venue.listen_trading();
    rig.log_on();
    let logons = &rig.venue.trd_logon_seqs;
    assert_eq!(logons.len(), 2, "two logons on the venue side: {logons:?}");
    assert_eq!(logons[0], 2, "first Logon was MsgSeqNum 1");
    assert_eq!(
        logons[1],
        seq_before + 1,
        "second Logon resumed at {seq_before}"
    );
    assert_eq!(read(&trd.logons), 2);
    assert!(read(&trd.reconnects) >= 4);
    assert_eq!(read(&trd.disconnects), 1 + connect_times.len() as u64);
    let fills = rig.engine.strategy().fills;
    rig.ticks(20);
    assert_eq!(rig.engine.strategy().fills, fills + 20);
    assert_eq!(rig.venue.check.malformed, 0);
    assert_eq!(
        rig.engine.fix(rig.trd).unwrap().state(),
        State::Active,
        "still logged on"
    );
    assert_eq!(
        rig.engine.fix(rig.trd).unwrap().next_sender_seq(),
        seq_before + 1 + 20
    );
}

#[test]
fn allowlist_replaced_at_run_time_drops_the_venue_and_counts_it() {
    let mut rig = Rig::new(1, true);
    rig.log_on();
    rig.ticks(10);
    let c = rig.engine.counters().clone();
    let c = c.counters();
    let md = &c.session[rig.md.index()];
    assert_eq!(read(&md.book_updates), 10);
    assert_eq!(read(&c.port.drop_not_allowed), 0);
    // The control plane allows another address only: the venue's frames stop at the list.
    rig.allowlist
        .publish(
            tickwire_dataplane::allowlist::Allowlist::new(&[std::net::Ipv4Addr::new(192, 0, 2, 1)])
                .unwrap(),
        )
        .unwrap();
    rig.ticks(10);
    assert_eq!(read(&md.book_updates), 10, "no tick reached the book");
    assert!(read(&c.port.drop_not_allowed) >= 10);
    assert_eq!(
        read(&c.port.rx_frames),
        read(&c.port.stack_rx_frames)
            + read(&c.port.drop_not_allowed)
            + read(&c.port.drop_unsupported)
            + read(&c.port.drop_malformed)
    );
    // Allowed again: TCP retransmits what was dropped and the ticks arrive in order.
    rig.allowlist
        .publish(tickwire_dataplane::allowlist::Allowlist::new(&[VENUE]).unwrap())
        .unwrap();
    rig.run_until("dropped ticks retransmitted", 200_000, |r| {
        read(&r.engine.counters().counters().session[r.md.index()].book_updates) == 20
    });
    assert_eq!(
        rig.engine.book(rig.md).unwrap().state(),
        tickwire_fix::book::State::Live
    );
}

#[test]
fn venue_logout_is_answered_and_the_engine_logs_on_again() {
    let mut rig = Rig::new(1, true);
    rig.log_on();
    rig.ticks(5);
    let link = rig.venue.trd.link.as_mut().unwrap();
    link.fix
        .send_logout(at(rig.t).utc, Some(b"maintenance"))
        .unwrap();
    rig.run_until("trading session down", 100_000, |r| {
        r.engine.phase(r.trd) == Some(Phase::Backoff)
    });
    assert_eq!(
        rig.engine.last_teardown(rig.trd),
        Some(Teardown::Fix(
            tickwire_fix::session::DisconnectReason::LoggedOut
        ))
    );
    rig.log_on();
    let c = rig.engine.counters().clone();
    let trd = &c.counters().session[rig.trd.index()];
    assert_eq!(read(&trd.logons), 2);
    assert_eq!(read(&trd.reconnects), 1);
    assert_eq!(read(&trd.disconnects), 1);
    rig.ticks(5);
    assert_eq!(rig.engine.strategy().fills, 10);
    assert_eq!(rig.venue.trd.accepted, 2);
}

#[test]
fn orders_and_fills_stay_exact_over_a_lossy_duplicating_reordering_link() {
    let mut rig = Rig::new(2, true);
    let faults = tickwire_dataplane::mem::Faults {
        loss_permille: 10,
        duplicate_permille: 10,
        reorder_permille: 10,
        corrupt_permille: 0,
        seed: 7,
    };
    rig.engine
        .stack_mut()
        .nic_mut()
        .inner_mut()
        .inner_mut()
        .set_faults(faults);
    rig.venue
        .stack
        .nic_mut()
        .set_faults(tickwire_dataplane::mem::Faults { seed: 8, ..faults });
    rig.log_on();
    let ticks = 2_000;
    rig.ticks(ticks);
    let expected = (1..=ticks).filter(|n| rig.venue.feed.fires(*n)).count() as u64;
    for _ in 0..2_000_000 {
        if rig.engine.strategy().fills >= expected {
            break;
        }
        rig.step();
    }
    assert_eq!(
        (
            rig.engine.strategy().sent,
            rig.venue.orders.len() as u64,
            rig.engine.strategy().fills
        ),
        (expected, expected, expected),
        "(sent, at the venue, filled)"
    );
    let s = rig.engine.strategy();
    assert_eq!(s.sent, expected, "{:?}", s.last_error);
    assert_eq!(
        rig.venue.orders.len() as u64,
        expected,
        "no order lost or duplicated"
    );
    assert!(rig.venue.orders.windows(2).all(|w| w[0] < w[1]), "in order");
    assert_eq!(rig.venue.check.malformed, 0);
    let c = rig.engine.counters().counters();
    assert_eq!(read(&c.session[rig.md.index()].book_updates), ticks);
    let f = rig
        .engine
        .stack_mut()
        .nic_mut()
        .inner()
        .inner()
        .fault_stats();
    assert!(f.lost > 0 && f.duplicated > 0 && f.reordered > 0, "{f:?}");
}

#[test]
fn tls_close_notify_from_the_venue_closes_and_reconnects() {
    let mut rig = Rig::new(1, true);
    rig.log_on();
    let now = at(rig.t);
    let link = rig.venue.trd.link.as_mut().unwrap();
    link.tls.close().unwrap();
    link.flush(&mut rig.venue.stack, now.utc).unwrap();
    rig.run_until("trading session down", 100_000, |r| {
        r.engine.phase(r.trd) == Some(Phase::Backoff)
    });
    assert_eq!(
        rig.engine.last_teardown(rig.trd),
        Some(Teardown::PeerClosed)
    );
    rig.log_on();
    let c = rig.engine.counters().clone();
    assert_eq!(read(&c.counters().session[rig.trd.index()].logons), 2);
    rig.ticks(3);
    assert_eq!(rig.engine.strategy().fills, 3);
}
