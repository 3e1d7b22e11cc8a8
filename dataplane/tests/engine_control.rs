//! What the control plane asks of a running engine, checked on the venue's side of the
//! in-memory NIC pair: market-data subscriptions after every logon, the mass cancel of the kill
//! switch, sequence numbers set and reset between connections, the message log, probes.
#![allow(clippy::unwrap_used)]

mod engine_util;

use engine_util::*;
use tickwire_dataplane::counters::read;
use tickwire_dataplane::engine::{
    Command, Engine, Idle, MdSubscription, OrderError, Phase, SetupError, ThresholdBuy,
};
use tickwire_dataplane::msglog::{self, Direction, Drain, Record};
use tickwire_fix::book::State as BookState;
use tickwire_fix::decimal::Decimal;
use tickwire_fix::session::{Journal, ResendPolicy};

fn subscribed_rig() -> Rig<Idle> {
    let sub = MdSubscription::l2("BTC/USD", 10, "MD-BTCUSD-1");
    Rig::build(1_000, true, Idle, |md, _| md.subscribe = Some(sub))
}

#[test]
fn market_data_request_goes_out_after_every_logon_and_the_book_fills() {
    let mut rig = subscribed_rig();
    rig.log_on();
    rig.run_until("MarketDataRequest at the venue", 1_000, |r| {
        !r.venue.md_requests.is_empty()
    });
    assert_eq!(
        rig.venue.md_requests,
        ["262=MD-BTCUSD-1|263=1|264=10|265=1|266=Y|267=3|269=0|269=1|269=2|146=1|55=BTC/USD"]
    );
    // Snapshot then incrementals, after the request.
    rig.ticks(5);
    let book = rig.engine.book(rig.md).unwrap();
    assert_eq!(book.state(), BookState::Live);
    assert!(book.best_ask().is_some() && book.best_bid().is_some());
    let c = rig.engine.counters().clone();
    let c = c.counters();
    assert_eq!(read(&c.session[rig.md.index()].md_requests), 1);
    assert_eq!(read(&c.session[rig.trd.index()].md_requests), 0);
    assert_eq!(read(&c.session[rig.md.index()].book_updates), 5);
    assert!(
        !rig.venue.trd_app_types.contains(&b'V'),
        "the trading session does not subscribe"
    );

    // The venue drops the market-data connection: the engine reconnects, logs on and
    // subscribes again (Kraken forgets subscriptions with the session).
    rig.venue.abort_market_data(at(rig.t));
    rig.run_until("engine saw the reset", 10_000, |r| {
        r.engine.phase(r.md) != Some(Phase::Active)
    });
    // The old book is not trusted once its session is gone.
    let book = rig.engine.book(rig.md).unwrap();
    assert_eq!(
        book.state(),
        BookState::Stale(tickwire_fix::book::StaleReason::NoSnapshot)
    );
    assert_eq!(book.best_ask(), None);
    rig.run_until("resubscribed", 200_000, |r| {
        r.venue.md_requests.len() == 2 && r.engine.phase(r.md) == Some(Phase::Active)
    });
    assert_eq!(rig.venue.md_requests[1], rig.venue.md_requests[0]);
    assert_eq!(read(&c.session[rig.md.index()].logons), 2);
    assert_eq!(read(&c.session[rig.md.index()].md_requests), 2);
    rig.ticks(3);
    assert_eq!(read(&c.session[rig.md.index()].book_updates), 8);
    assert_eq!(rig.engine.book(rig.md).unwrap().state(), BookState::Live);
}

#[test]
fn a_subscription_that_does_not_fit_a_message_is_a_setup_error() {
    let (client_tls, _) = pki();
    let (a, _b) = tickwire_dataplane::mem::pair(16, [2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
    let (mut engine, _) = Engine::<_, _, _>::new(
        a,
        allow(VENUE),
        engine_config(),
        Idle,
        tickwire_dataplane::counters::Shared::in_memory(),
        at(0),
    );
    let (mut md, _) = specs(&client_tls, true);
    md.subscribe = Some(MdSubscription::l2(&"X".repeat(4096), 10, "MD-1"));
    assert!(matches!(
        engine.add_session(md, at(0)),
        Err(SetupError::Subscription(_))
    ));
}

#[test]
fn kill_switch_flow_sends_a_mass_cancel_and_blocks_the_next_order() {
    let mut rig = Rig::new(1, true);
    rig.log_on();
    rig.ticks(5);
    assert_eq!(rig.venue.orders.len(), 5);
    // Through the queue, as the control thread does.
    rig.commands.send(Command::BlockOrders).unwrap();
    rig.commands.send(Command::MassCancel(rig.trd)).unwrap();
    rig.run_until("35=q at the venue", 1_000, |r| {
        !r.venue.mass_cancels.is_empty()
    });
    let q = &rig.venue.mass_cancels[0];
    let fields: Vec<&str> = q.split('|').collect();
    assert_eq!(fields.len(), 3, "{q}");
    let id: u64 = fields[0].strip_prefix("11=").unwrap().parse().unwrap();
    assert!(
        id > *rig.venue.orders.last().unwrap(),
        "a fresh ClOrdID after the orders' ones: {q}"
    );
    assert!(fields[1].starts_with("60=2026"), "{q}");
    assert_eq!(fields[2], "530=7");
    rig.ticks(5);
    let s = rig.engine.strategy();
    assert_eq!(s.last_error, Some(OrderError::Blocked));
    assert_eq!(rig.venue.orders.len(), 5, "no order after the kill switch");
    assert_eq!(
        rig.venue
            .trd_app_types
            .iter()
            .filter(|t| **t == b'q')
            .count(),
        1
    );
    let c = rig.engine.counters().counters();
    assert_eq!(read(&c.session[rig.trd.index()].mass_cancels), 1);

    // A mass cancel on a session that is down is refused and counted; nothing is sent.
    rig.engine.command(Command::Abort(rig.trd), at(rig.t));
    rig.engine.command(Command::MassCancel(rig.trd), at(rig.t));
    let c = rig.engine.counters().counters();
    assert_eq!(read(&c.session[rig.trd.index()].commands_refused), 1);
    assert_eq!(read(&c.session[rig.trd.index()].mass_cancels), 1);
}

#[test]
fn cancel_sends_an_order_cancel_request_through_the_templates_precompiled_cancel() {
    let mut rig = Rig::new(1, true);
    rig.log_on();
    rig.ticks(3);
    let orig = *rig.venue.orders.last().unwrap();
    let mut order_id = [0u8; 40];
    order_id[..19].copy_from_slice(b"O3KQ7T-XH2LM-ZP4WUA");
    rig.commands
        .send(Command::Cancel {
            order: rig.order,
            orig_cl_ord_id: orig,
            order_id,
            order_id_len: 19,
        })
        .unwrap();
    rig.run_until("35=F at the venue", 1_000, |r| !r.venue.cancels.is_empty());
    let f = rig.venue.cancels[0].clone();
    let fields: Vec<&str> = f.split('|').collect();
    let id: u64 = fields[0].strip_prefix("11=").unwrap().parse().unwrap();
    assert!(id > orig, "a fresh ClOrdID: {f}");
    assert_eq!(fields[1], "37=O3KQ7T-XH2LM-ZP4WUA", "{f}");
    assert_eq!(fields[2], format!("41={orig}"), "{f}");
    assert_eq!(fields[3], "54=1", "{f}");
    assert_eq!(fields[4], "55=BTC/USD", "{f}");
    assert!(fields[5].starts_with("60=2026"), "{f}");
    // Without an OrderID, or with the session down, nothing is sent and the refusal counted.
    rig.engine.command(
        Command::Cancel {
            order: rig.order,
            orig_cl_ord_id: orig,
            order_id,
            order_id_len: 0,
        },
        at(rig.t),
    );
    let c = rig.engine.counters().counters();
    assert_eq!(read(&c.session[rig.trd.index()].commands_refused), 1);
    rig.engine.command(Command::Abort(rig.trd), at(rig.t));
    rig.engine.command(
        Command::Cancel {
            order: rig.order,
            orig_cl_ord_id: orig,
            order_id,
            order_id_len: 19,
        },
        at(rig.t),
    );
    let c = rig.engine.counters().counters();
    assert_eq!(read(&c.session[rig.trd.index()].commands_refused), 2);
    assert_eq!(rig.venue.cancels.len(), 1);
}

fn seqs(rig: &Rig) -> (u64, u64) {
    let c = &rig.engine.counters().counters().session[rig.trd.index()];
    (read(&c.next_sender_seq), read(&c.next_target_seq))
}

fn reconnect_trading(rig: &mut Rig, what: &str) {
    rig.engine.command(Command::Connect(rig.trd), at(rig.t));
    rig.run_until(what, 200_000, |r| {
        r.engine.phase(r.trd) == Some(Phase::Active) && r.venue.trd.is_active()
    });
    for _ in 0..20 {
        rig.step();
    }
}

fn stop_trading(rig: &mut Rig) {
    rig.engine.command(Command::Abort(rig.trd), at(rig.t));
    rig.run_until("venue saw the reset", 10_000, |r| !r.venue.trd.is_active());
    assert_eq!(rig.engine.phase(rig.trd), Some(Phase::Stopped));
}

#[test]
fn sequence_numbers_are_published_set_while_down_and_reset_with_the_next_logon() {
    // Sequences carry over connections (no reset on logon).
    let mut rig = Rig::new(1, false);
    rig.log_on();
    rig.ticks(5);
    // Logon + 5 orders out, Logon + 5 fills in.
    assert_eq!(seqs(&rig), (7, 7));
    let fix = rig.engine.fix(rig.trd).unwrap();
    assert_eq!(fix.next_sender_seq(), 7);
    let c = rig.engine.counters().clone();
    let trd = &c.counters().session[rig.trd.index()];
    let logon_ns = read(&trd.logon_ns) as i64;
    assert!(
        logon_ns > EPOCH_NS && logon_ns <= EPOCH_NS + rig.t,
        "logon at {logon_ns}"
    );

    // Refused while logged on, and for 0; nothing changes.
    let session = rig.trd;
    let set = |sender, target| Command::SetSeq {
        session,
        sender,
        target,
    };
    rig.engine.command(set(Some(100), Some(50)), at(rig.t));
    assert_eq!(read(&trd.commands_refused), 1);
    assert_eq!(seqs(&rig), (7, 7));

    stop_trading(&mut rig);
    rig.engine.command(set(Some(0), None), at(rig.t));
    assert_eq!(read(&trd.commands_refused), 2);
    rig.engine.command(set(Some(100), Some(50)), at(rig.t));
    assert_eq!(read(&trd.commands_refused), 2);
    assert_eq!(seqs(&rig), (100, 50));
    // The venue is told the same out of band: the next Logon is 34=100 and answers 34=50.
    let v = rig.venue.trd.fix_mut().journal_mut();
    v.set_next_target_seq(100);
    v.set_next_sender_seq(50);
    reconnect_trading(&mut rig, "logged on at 100/50");
    assert_eq!(rig.venue.trd_logon_seqs.last(), Some(&101));
    assert_eq!(seqs(&rig), (101, 51));
    assert_eq!(read(&trd.logons), 2);
    assert!(read(&trd.logon_ns) as i64 > logon_ns);

    // ResetSeq while down: 1/1 at once, and the next Logon carries 141=Y at 34=1 (the
    // venue, still at 101/51, restarts because of the flag).
    stop_trading(&mut rig);
    rig.engine.command(Command::ResetSeq(rig.trd), at(rig.t));
    assert_eq!(seqs(&rig), (1, 1));
    reconnect_trading(&mut rig, "logged on after a reset");
    assert_eq!(rig.venue.trd_logon_seqs.last(), Some(&2));
    assert_eq!(seqs(&rig), (2, 2));

    // ResetSeq while up waits for the next logon.
    rig.ticks(2);
    assert_eq!(seqs(&rig), (4, 4));
    rig.engine.command(Command::ResetSeq(rig.trd), at(rig.t));
    assert_eq!(seqs(&rig), (4, 4));
    stop_trading(&mut rig);
    assert_eq!(seqs(&rig), (4, 4));
    reconnect_trading(&mut rig, "logged on after a deferred reset");
    assert_eq!(rig.venue.trd_logon_seqs.last(), Some(&2));
    assert_eq!(seqs(&rig), (2, 2));
    assert_eq!(read(&trd.commands_refused), 2);
    rig.ticks(3);
    assert_eq!(
        rig.engine.strategy().fills,
        10,
        "orders flow after every change"
    );
}

/// (session, direction, MsgType, MsgSeqNum or 0, text of an event, nanos).
type Logged = (u8, Direction, String, u64, String, i64);

fn drain_all(drain: &mut Drain) -> Vec<Logged> {
    let mut out = Vec::new();
    let mut r = Record::default();
    while drain.next(&mut r) {
        let dir = r.direction().unwrap();
        let (ty, seq, text) = if dir == Direction::Event {
            (
                String::new(),
                0,
                String::from_utf8(r.bytes.clone()).unwrap(),
            )
        } else {
            let mut index = tickwire_fix::message::FieldIndex::<512>::new();
            let m = tickwire_fix::message::Message::parse(&r.bytes, &mut index).unwrap();
            (
                String::from_utf8(m.msg_type().to_vec()).unwrap(),
                m.seq_num().unwrap(),
                String::new(),
            )
        };
        out.push((r.session, dir, ty, seq, text, r.nanos));
    }
    out
}

fn messages(log: &[Logged], session: u8, dir: Direction) -> Vec<(String, u64)> {
    log.iter()
        .filter(|l| l.0 == session && l.1 == dir)
        .map(|l| (l.2.clone(), l.3))
        .collect()
}

fn pairs(v: &[(&str, u64)]) -> Vec<(String, u64)> {
    v.iter().map(|(t, s)| (t.to_string(), *s)).collect()
}

#[test]
fn message_log_records_every_message_both_ways_in_order_and_session_events() {
    let mut rig = Rig::new(1, true);
    let (tap, mut drain) = msglog::ring(1 << 20);
    rig.engine.set_message_log(tap);
    rig.log_on();
    rig.ticks(3);
    let log = drain_all(&mut drain);
    let (md, trd) = (rig.md.index() as u8, rig.trd.index() as u8);
    assert_eq!(
        messages(&log, trd, Direction::Out),
        pairs(&[("A", 1), ("D", 2), ("D", 3), ("D", 4)])
    );
    assert_eq!(
        messages(&log, trd, Direction::In),
        pairs(&[("A", 1), ("8", 2), ("8", 3), ("8", 4)])
    );
    assert_eq!(messages(&log, md, Direction::Out), pairs(&[("A", 1)]));
    assert_eq!(
        messages(&log, md, Direction::In),
        pairs(&[("A", 1), ("W", 2), ("X", 3), ("X", 4)])
    );
    // In the order things happened: each order before its fill, and after the tick that fired it.
    let pos = |s: u8, d: Direction, ty: &str, seq: u64| {
        log.iter()
            .position(|l| l.0 == s && l.1 == d && l.2 == ty && l.3 == seq)
            .unwrap()
    };
    for k in 2..=4 {
        assert!(
            pos(md, Direction::In, if k == 2 { "W" } else { "X" }, k)
                < pos(trd, Direction::Out, "D", k)
        );
        assert!(pos(trd, Direction::Out, "D", k) < pos(trd, Direction::In, "8", k));
    }
    assert!(
        log.windows(2).all(|w| w[0].5 <= w[1].5),
        "time never goes back"
    );
    assert!(log
        .iter()
        .all(|l| l.5 > EPOCH_NS && l.5 <= EPOCH_NS + rig.t));
    let events: Vec<&str> = log
        .iter()
        .filter(|l| l.0 == trd && l.1 == Direction::Event)
        .map(|l| l.4.as_str())
        .collect();
    assert_eq!(
        events,
        [
            "connecting to 10.0.0.2:4001",
            "logged on: next sender seq 2, next target seq 2"
        ]
    );
    assert!(pos(trd, Direction::Out, "A", 1) < pos(trd, Direction::In, "A", 1));

    // A reset connection is an event with its reason; the operator's logout too.
    rig.engine.command(Command::Abort(rig.trd), at(rig.t));
    rig.engine.command(Command::Logout(rig.md), at(rig.t));
    rig.run_until("md stopped", 200_000, |r| {
        r.engine.phase(r.md) == Some(Phase::Stopped)
    });
    let log = drain_all(&mut drain);
    let events: Vec<(u8, &str)> = log
        .iter()
        .filter(|l| l.1 == Direction::Event)
        .map(|l| (l.0, l.4.as_str()))
        .collect();
    assert_eq!(events[0], (trd, "disconnected: Command"));
    assert_eq!(events[1], (md, "logout (operator)"));
    assert!(
        events.contains(&(md, "closing: Fix(LoggedOut)")),
        "{events:?}"
    );
    assert_eq!(messages(&log, md, Direction::Out), pairs(&[("5", 2)]));
    assert_eq!(messages(&log, md, Direction::In), pairs(&[("5", 5)]));
    assert_eq!(read(&rig.engine.counters().counters().log_dropped), 0);
}

#[test]
fn a_full_message_log_drops_and_counts_and_trading_goes_on() {
    let mut rig = Rig::new(1, true);
    rig.log_on();
    // The smallest ring (one maximum-size record), never drained.
    let (tap, mut drain) = msglog::ring(0);
    rig.engine.set_message_log(tap);
    rig.ticks(1_000);
    assert_eq!(rig.engine.strategy().fills, 1_000);
    let dropped = read(&rig.engine.counters().counters().log_dropped);
    let kept = drain_all(&mut drain).len() as u64;
    assert!(
        kept > 100 && dropped > 1_000,
        "kept {kept}, dropped {dropped}"
    );
    // A new tap: the count goes on over taps.
    let (tap, _drain) = msglog::ring(1 << 20);
    rig.engine.set_message_log(tap);
    rig.ticks(10);
    assert_eq!(read(&rig.engine.counters().counters().log_dropped), dropped);
    assert_eq!(
        kept + dropped,
        3 * 1_000,
        "tick in, order out, fill in: each recorded or counted"
    );
}

#[test]
fn probes_measure_test_request_to_heartbeat_round_trips() {
    let mut rig = Rig::new(1, true);
    rig.log_on();
    let c = rig.engine.counters().clone();
    let trd = &c.counters().session[rig.trd.index()];
    for k in 1..=5 {
        rig.commands.send(Command::Probe(rig.trd)).unwrap();
        rig.run_until("probe answered", 1_000, |_| read(&trd.probe_count) == k);
        let rtt = read(&trd.probe_rtt_ns);
        // One engine cycle sends it; the venue answers in its cycle; the next engine cycle
        // reads it: 20 µs steps of synthetic time.
        assert!(
            (20_000..=100_000).contains(&rtt) && rtt % 20_000 == 0,
            "rtt {rtt}"
        );
    }
    assert_eq!(read(&trd.probes_sent), 5);

    // The venue's frames are dropped: no answer, no count; once allowed, TCP retransmits the
    // Heartbeat and the long round trip is what is recorded.
    rig.allowlist
        .publish(
            tickwire_dataplane::allowlist::Allowlist::new(&[std::net::Ipv4Addr::new(192, 0, 2, 1)])
                .unwrap(),
        )
        .unwrap();
    rig.commands.send(Command::Probe(rig.trd)).unwrap();
    for _ in 0..500 {
        rig.step();
    }
    assert_eq!(read(&trd.probe_count), 5);
    rig.allowlist
        .publish(tickwire_dataplane::allowlist::Allowlist::new(&[VENUE]).unwrap())
        .unwrap();
    rig.run_until("late answer", 200_000, |_| read(&trd.probe_count) == 6);
    assert!(read(&trd.probe_rtt_ns) > 500 * 20_000);

    // Not logged on: refused, nothing sent.
    rig.engine.command(Command::Abort(rig.trd), at(rig.t));
    rig.engine.command(Command::Probe(rig.trd), at(rig.t));
    assert_eq!(read(&trd.commands_refused), 1);
    assert_eq!(read(&trd.probes_sent), 6);
}

/// The trading session's outbound records after it sent `orders` orders, reconnected with the
/// message log attached, and was asked for everything from `resend_from` on: (MsgType,
/// MsgSeqNum, PossDupFlag, length) of each, every record checked to hold one whole message.
fn logged_replay(orders: u64, resend_from: u64) -> Vec<(String, u64, bool, usize)> {
    // Sequences carry over; the engine replays its orders when asked.
    let strategy = ThresholdBuy::new(TRIGGER, Decimal::new(TRIGGER, 1), Decimal::new(1, 2));
    let mut rig = Rig::build(1, false, strategy, |_, trd| {
        trd.fix.resend_policy = ResendPolicy::ReplayApplication;
    });
    rig.engine.strategy_mut().order = Some(rig.order);
    rig.log_on();
    rig.ticks(orders);
    stop_trading(&mut rig);
    let (tap, mut drain) = msglog::ring(4 << 20);
    rig.engine.set_message_log(tap);
    // The venue lost track: it asks for `resend_from..` again at the next logon.
    rig.venue
        .trd
        .fix_mut()
        .journal_mut()
        .set_next_target_seq(resend_from);
    reconnect_trading(&mut rig, "logged on again");
    let mut r = Record::default();
    let mut out = Vec::new();
    while drain.next(&mut r) {
        if r.session == rig.trd.index() as u8 && r.direction() == Some(Direction::Out) {
            assert_eq!(
                tickwire_fix::parse::frame(&r.bytes),
                Ok(Some(r.bytes.len())),
                "one whole message per record"
            );
            let mut index = tickwire_fix::message::FieldIndex::<512>::new();
            let m = tickwire_fix::message::Message::parse(&r.bytes, &mut index).unwrap();
            out.push((
                String::from_utf8(m.msg_type().to_vec()).unwrap(),
                m.seq_num().unwrap(),
                m.field(43) == Some(b"Y".as_slice()),
                r.bytes.len(),
            ));
        }
    }
    out
}

#[test]
fn message_log_records_retransmissions() {
    // Three orders (2..=4); the venue lost track after the first one.
    let out: Vec<_> = logged_replay(3, 3)
        .into_iter()
        .map(|(t, n, dup, _)| (t, n, dup))
        .collect();
    let s = |t: &str, n: u64, dup: bool| (t.to_string(), n, dup);
    // Logon, the two orders replayed with PossDupFlag, and a gap fill over the Logon (an
    // admin message is never replayed).
    assert_eq!(
        out,
        [
            s("A", 5, false),
            s("D", 3, true),
            s("D", 4, true),
            s("4", 5, true)
        ]
    );
}

#[test]
fn message_log_records_a_replay_longer_than_a_tls_record_once_each() {
    // 150 orders replayed in one go: more than one TLS record of FIX bytes, sealed across
    // several passes of the flush and recorded after them, each message exactly once.
    let orders = 150u64;
    let out = logged_replay(orders, 2);
    let bytes: usize = out.iter().map(|o| o.3).sum();
    assert!(
        bytes > 16 * 1024,
        "the replay fits one record: {bytes} bytes"
    );
    let logon_seq = orders + 2;
    let mut want = vec![("A".to_string(), logon_seq, false)];
    want.extend((2..2 + orders).map(|k| ("D".to_string(), k, true)));
    want.push(("4".to_string(), logon_seq, true));
    let got: Vec<_> = out.into_iter().map(|(t, n, dup, _)| (t, n, dup)).collect();
    assert_eq!(got, want);
}
