//! Session scenarios over an in-memory pair (initiator ↔ acceptor) on a virtual clock.
#![allow(clippy::unwrap_used)]

use tickwire_fix::kraken::{ClOrdIdError, ClOrdIdRegistry, Credentials};
use tickwire_fix::message::{frame, FieldIndex, FrameLimits, Message};
use tickwire_fix::session::{
    Capacities, Config, DisconnectReason, Event, Journal, MemoryJournal, ResendPolicy, Role,
    Rollover, Session, State,
};
use tickwire_fix::store::{FlushPolicy, Store, StoreConfig};
use tickwire_fix::time::UtcTimestamp;

const SECRET: &str =
    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==";

fn client_cfg() -> Config {
    let mut c = Config::kraken_initiator("TESTCLIENT", "KRAKEN-TRD").unwrap();
    c.rollover = None;
    c
}

fn venue_cfg() -> Config {
    let mut c = Config::kraken_initiator("KRAKEN-TRD", "TESTCLIENT").unwrap();
    c.role = Role::Acceptor;
    c.resend_policy = ResendPolicy::ReplayApplication;
    c.rollover = None;
    c
}

/// Two sessions and a wire between them that can drop messages.
struct Pair<JA: Journal, JB: Journal> {
    a: Session<JA>,
    b: Session<JB>,
    now: UtcTimestamp,
    a_events: Vec<Event>,
    b_events: Vec<Event>,
    /// Application messages each side received: (seq, msg type, PossDup).
    a_app: Vec<(u64, Vec<u8>, bool)>,
    b_app: Vec<(u64, Vec<u8>, bool)>,
    /// Drop the next n messages a → b.
    drop_a_to_b: usize,
    drop_b_to_a: usize,
}

fn split(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while let Ok(Some(n)) = frame(&bytes[pos..], FrameLimits::default()) {
        out.push(bytes[pos..pos + n].to_vec());
        pos += n;
    }
    out
}

fn app_sink(out: &mut Vec<(u64, Vec<u8>, bool)>) -> impl FnMut(&Message<'_>) + '_ {
    |m: &Message<'_>| {
        out.push((
            m.uint(34).unwrap(),
            m.msg_type().to_vec(),
            m.field(43) == Some(b"Y"),
        ))
    }
}

impl<JA: Journal, JB: Journal> Pair<JA, JB> {
    fn new(a: Session<JA>, b: Session<JB>) -> Self {
        Pair {
            a,
            b,
            now: UtcTimestamp::parse(b"20260407-14:32:01.000").unwrap(),
            a_events: vec![],
            b_events: vec![],
            a_app: vec![],
            b_app: vec![],
            drop_a_to_b: 0,
            drop_b_to_a: 0,
        }
    }

    fn connect(&mut self) {
        self.a.handle_connected(self.now);
        self.b.handle_connected(self.now);
        let creds = Credentials::new("FIXTESTKEY123", SECRET).unwrap();
        let nonce = self.now.as_millis() as u64;
        self.a
            .send_logon(self.now, |seq, e| {
                let pw = creds.password(seq, b"TESTCLIENT", b"KRAKEN-TRD", nonce);
                e.field(553, b"FIXTESTKEY123")
                    .field(554, &pw)
                    .uint(5025, nonce)
                    .field(8674, b"0");
            })
            .unwrap();
        self.pump();
    }

    /// Moves bytes both ways until quiet.
    fn pump(&mut self) {
        for _ in 0..100 {
            let mut moved = false;
            let out = self.a.pending_transmit().to_vec();
            self.a.consume_transmit(out.len());
            for m in split(&out) {
                moved = true;
                if self.drop_a_to_b > 0 {
                    self.drop_a_to_b -= 1;
                    continue;
                }
                self.b
                    .handle_input(self.now, &m, &mut app_sink(&mut self.b_app));
            }
            let out = self.b.pending_transmit().to_vec();
            self.b.consume_transmit(out.len());
            for m in split(&out) {
                moved = true;
                if self.drop_b_to_a > 0 {
                    self.drop_b_to_a -= 1;
                    continue;
                }
                self.a
                    .handle_input(self.now, &m, &mut app_sink(&mut self.a_app));
            }
            while let Some(e) = self.a.poll_event() {
                self.a_events.push(e);
            }
            while let Some(e) = self.b.poll_event() {
                self.b_events.push(e);
            }
            if !moved {
                return;
            }
        }
        panic!("pair did not settle");
    }

    fn advance(&mut self, ms: i64) {
        let end = self.now.nanos + ms * 1_000_000;
        while self.now.nanos < end {
            self.now = UtcTimestamp::from_nanos((self.now.nanos + 100_000_000).min(end));
            self.a.handle_timeout(self.now);
            self.b.handle_timeout(self.now);
            self.pump();
        }
    }

    fn send_order(&mut self, id: &str) -> u64 {
        self.a
            .send_app(self.now, b"D", |e| {
                e.field(11, id.as_bytes())
                    .field(55, b"BTC/USD")
                    .field(54, b"1")
                    .field(40, b"1");
            })
            .unwrap()
    }

    fn send_report(&mut self, id: &str) -> u64 {
        self.b
            .send_app(self.now, b"8", |e| {
                e.field(11, id.as_bytes()).field(150, b"0").field(39, b"0");
            })
            .unwrap()
    }
}

fn mem_pair() -> Pair<MemoryJournal, MemoryJournal> {
    Pair::new(
        Session::new(
            client_cfg(),
            MemoryJournal::new(1024, 512),
            Capacities::default(),
        ),
        Session::new(
            venue_cfg(),
            MemoryJournal::new(1024, 512),
            Capacities::default(),
        ),
    )
}

#[test]
fn logon_and_application_exchange() {
    let mut p = mem_pair();
    p.connect();
    assert_eq!(p.a.state(), State::Active);
    assert_eq!(p.b.state(), State::Active);
    assert!(p
        .a_events
        .iter()
        .any(|e| matches!(e, Event::LoggedOn { .. })));
    for i in 0..10 {
        p.send_order(&format!("{i}"));
        p.send_report(&format!("{i}"));
    }
    p.pump();
    assert_eq!(p.b_app.len(), 10);
    assert_eq!(p.a_app.len(), 10);
    assert_eq!(p.b_app.last().unwrap().0, 11, "logon was 1");
}

#[test]
fn heartbeats_keep_an_idle_session_alive_and_silence_times_out() {
    let mut p = mem_pair();
    p.connect();
    p.advance(5 * 60 * 1000);
    assert_eq!(
        p.a.state(),
        State::Active,
        "heartbeats flowed for 5 minutes"
    );
    // Now the venue goes silent: drop everything it sends.
    p.drop_b_to_a = usize::MAX;
    p.advance(120 * 1000);
    assert!(
        p.a_events
            .contains(&Event::Disconnect(DisconnectReason::HeartbeatTimeout)),
        "{:?}",
        p.a_events
    );
}

#[test]
fn lost_orders_are_gap_filled_and_lost_reports_replayed() {
    let mut p = mem_pair();
    p.connect();
    p.send_order("1");
    p.pump();
    // Two orders lost on the way to the venue.
    p.drop_a_to_b = 2;
    p.send_order("2");
    p.send_order("3");
    p.pump();
    p.send_order("4");
    p.pump();
    assert!(p.b_events.iter().any(|e| matches!(
        e,
        Event::GapDetected {
            expected: 3,
            received: 5
        }
    )));
    // The client gap-fills its own orders (never replays them, SPEC §3.2) over the whole
    // requested range (16=0), so the order queued ahead of the gap is skipped too, and the
    // client is told which of its orders the venue will never process.
    assert_eq!(p.b_app.iter().map(|x| x.0).collect::<Vec<_>>(), vec![2]);
    assert_eq!(p.b.journal().next_target_seq(), 6);
    assert!(
        p.a_events
            .contains(&Event::ApplicationGapFilled { begin: 3, end: 5 }),
        "{:?}",
        p.a_events
    );
    p.send_order("5");
    p.pump();
    assert_eq!(p.b_app.iter().map(|x| x.0).collect::<Vec<_>>(), vec![2, 6]);
    // Reports lost on the way back are replayed with PossDupFlag.
    p.drop_b_to_a = 2;
    p.send_report("1");
    p.send_report("2");
    p.pump();
    p.send_report("3");
    p.pump();
    let seqs: Vec<_> = p.a_app.iter().map(|x| (x.0, x.2)).collect();
    // Venue seq 2 was its ResendRequest; 3 and 4 were lost and come back as PossDup.
    assert_eq!(seqs, vec![(3, true), (4, true), (5, false)]);
}

#[test]
fn resend_of_messages_sent_before_a_restart() {
    let path = std::env::temp_dir().join(format!("tickwire-pair-{}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let cfg = StoreConfig {
        log_bytes: 1 << 20,
        index_entries: 1024,
        flush: FlushPolicy::Never,
    };
    let mut venue = venue_cfg();
    venue.reset_on_logon = false;
    let mut client = client_cfg();
    client.reset_on_logon = false;
    {
        let mut p = Pair::new(
            Session::new(
                client.clone(),
                MemoryJournal::new(64, 512),
                Capacities::default(),
            ),
            Session::new(
                venue.clone(),
                Store::open(&path, cfg).unwrap(),
                Capacities::default(),
            ),
        );
        p.connect();
        p.drop_b_to_a = 3;
        p.send_report("A");
        p.send_report("B");
        p.send_report("C");
        p.pump();
        // The venue process dies here: its session is dropped with the reports unacknowledged.
    }
    let store = Store::open(&path, cfg).unwrap();
    assert_eq!(store.next_sender_seq(), 5);
    let mut fresh_client = Session::new(client, MemoryJournal::new(64, 512), Capacities::default());
    // The client resumes its own sequence numbers (logon 1 was used): next 2, expects 2.
    fresh_client.journal_mut().set_next_sender_seq(2);
    fresh_client.journal_mut().set_next_target_seq(2);
    let mut p = Pair::new(
        fresh_client,
        Session::new(venue, store, Capacities::default()),
    );
    p.connect();
    // Venue's logon is seq 5, the client expected 2: it asks for 2..; the reopened store replays.
    let seqs: Vec<_> = p.a_app.iter().map(|x| (x.0, x.1.clone(), x.2)).collect();
    assert_eq!(
        seqs,
        vec![
            (2, b"8".to_vec(), true),
            (3, b"8".to_vec(), true),
            (4, b"8".to_vec(), true)
        ]
    );
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn sequence_too_low_logs_out() {
    let mut p = mem_pair();
    p.connect();
    p.send_order("1");
    p.pump();
    // A message with an old sequence number and no PossDupFlag.
    let stale =
        "8=FIX.4.4|9=59|35=0|34=1|49=TESTCLIENT|56=KRAKEN-TRD|52=20260407-14:32:01.000|10=000|";
    let mut raw = stale.replace('|', "\x01").into_bytes();
    fix_checksum(&mut raw);
    p.b.handle_input(p.now, &raw, &mut |_| {});
    p.pump();
    assert!(p
        .b_events
        .contains(&Event::Disconnect(DisconnectReason::SeqTooLow {
            expected: 3,
            received: 1
        })));
    let logout = p
        .a_events
        .contains(&Event::Disconnect(DisconnectReason::LoggedOut));
    assert!(logout, "client saw the Logout: {:?}", p.a_events);
}

fn fix_checksum(raw: &mut Vec<u8>) {
    let body_start = raw.iter().position(|&b| b == 1).unwrap() + 1;
    let body_start = body_start + raw[body_start..].iter().position(|&b| b == 1).unwrap() + 1;
    let trailer = raw.len() - 7;
    let len = trailer - body_start;
    let text = String::from_utf8(raw.clone()).unwrap();
    let text = text.replacen("9=59", &format!("9={len}"), 1);
    *raw = text.into_bytes();
    let trailer = raw.len() - 7;
    let sum: u32 = raw[..trailer].iter().map(|&b| u32::from(b)).sum::<u32>() % 256;
    raw.truncate(trailer);
    raw.extend_from_slice(format!("10={sum:03}\x01").as_bytes());
}

#[test]
fn daily_rollover_logs_out_and_restarts_sequences() {
    let mut client = client_cfg();
    client.rollover = Some(Rollover::KRAKEN);
    client.reset_on_logon = false;
    let mut p = Pair::new(
        Session::new(client, MemoryJournal::new(64, 512), Capacities::default()),
        Session::new(
            venue_cfg(),
            MemoryJournal::new(64, 512),
            Capacities::default(),
        ),
    );
    p.now = UtcTimestamp::parse(b"20260407-21:59:50.000").unwrap();
    p.connect();
    p.send_order("1");
    p.pump();
    assert_eq!(p.a.journal().next_sender_seq(), 3);
    p.advance(15_000);
    assert!(p.a_events.contains(&Event::RolledOver));
    assert!(p
        .a_events
        .contains(&Event::Disconnect(DisconnectReason::LoggedOut)));
    assert_eq!(p.a.state(), State::Disconnected);
    assert_eq!(
        (
            p.a.journal().next_sender_seq(),
            p.a.journal().next_target_seq()
        ),
        (1, 1),
        "sequences restart at 1 after the rollover"
    );
}

#[test]
fn duplicate_clordid_is_rejected_by_the_registry() {
    let mut venue_ids = ClOrdIdRegistry::new(1024, true);
    let mut p = mem_pair();
    p.connect();
    p.send_order("1775572325000000");
    p.send_order("1775572325000000");
    p.pump();
    let mut verdicts = Vec::new();
    for (_, ty, _) in &p.b_app {
        assert_eq!(ty, b"D");
        verdicts.push(venue_ids.insert(b"1775572325000000"));
    }
    assert_eq!(verdicts, vec![Ok(()), Err(ClOrdIdError::Duplicate)]);
}

#[test]
fn malformed_message_gets_a_session_reject() {
    let mut p = mem_pair();
    p.b.set_validator(tickwire_fix::dict::validate_fix44);
    let mut cfg = venue_cfg();
    cfg.validate = true;
    p.b = Session::new(cfg, MemoryJournal::new(64, 512), Capacities::default());
    p.b.set_validator(tickwire_fix::dict::validate_fix44);
    p.connect();
    // NewOrderSingle without Side (54): SPEC M14's case.
    p.a.send_app(p.now, b"D", |e| {
        e.field(11, b"1")
            .field(55, b"BTC/USD")
            .field(40, b"2")
            .field(60, b"20260407-14:32:01.000");
    })
    .unwrap();
    p.pump();
    assert!(p.b_events.iter().any(|e| matches!(
        e,
        Event::RejectSent {
            ref_seq: 2,
            reason: 1
        }
    )));
    assert!(p
        .a_events
        .iter()
        .any(|e| matches!(e, Event::RejectReceived { ref_seq: 2 })));
    assert!(
        p.b_app.is_empty(),
        "the invalid order never reached the application"
    );
    assert_eq!(p.b.state(), State::Active);
}

#[test]
fn garbage_bytes_never_panic_and_the_session_continues() {
    let mut p = mem_pair();
    p.connect();
    let mut seed = 0x1234_5678_9abc_def0u64;
    for _ in 0..2000 {
        let mut junk = [0u8; 64];
        for b in &mut junk {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            *b = (seed % 96) as u8 + if seed % 7 == 0 { 0 } else { 32 };
        }
        p.b.handle_input(p.now, &junk, &mut |_| {});
    }
    // Framing recovers at the next real message.
    p.b.handle_input(p.now, b"\x01", &mut |_| {});
    p.send_order("after-garbage");
    p.pump();
    assert_eq!(p.b.state(), State::Active);
    assert!(p.b_app.iter().any(|x| x.1 == b"D"));
    let mut idx = FieldIndex::<8>::new();
    assert!(Message::parse(b"\x01\x01", &mut idx).is_err());
}

type MemPair = Pair<MemoryJournal, MemoryJournal>;

/// A logged-on pair, the venue's counters, and the bytes of an order the client has queued
/// (taken off its transmit queue, not delivered).
fn pair_with_order(id: &str) -> (MemPair, tickwire_fix::session::Stats, Vec<u8>) {
    let mut p = mem_pair();
    p.connect();
    let before = p.b.stats();
    p.send_order(id);
    let good = p.a.pending_transmit().to_vec();
    p.a.consume_transmit(good.len());
    (p, before, good)
}

/// `first` and then `good` to the venue in one input; the application messages it delivered.
fn venue_takes(p: &mut MemPair, first: &[u8], good: &[u8]) -> Vec<(u64, Vec<u8>, bool)> {
    let mut app = vec![];
    let input = [first, good].concat();
    p.b.handle_input(p.now, &input, &mut app_sink(&mut app));
    app
}

/// A message whose CheckSum does not match its bytes is dropped as garbled (the sum is taken
/// while the fields are indexed, after framing): not delivered, its sequence number not
/// consumed, and the same message with the right CheckSum, in the same input, goes through.
#[test]
fn a_wrong_checksum_is_garbled_and_the_next_message_is_taken() {
    use tickwire_fix::message::FrameError;
    let (mut p, before, good) = pair_with_order("sum");
    let mut bad = good.clone();
    let last = bad.len() - 2;
    bad[last] = if bad[last] == b'9' {
        b'0'
    } else {
        bad[last] + 1
    };
    let app = venue_takes(&mut p, &bad, &good);
    let events: Vec<_> = std::iter::from_fn(|| p.b.poll_event()).collect();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Garbled(FrameError::BadChecksum { .. }))),
        "{events:?}"
    );
    assert_eq!(p.b.stats().garbled, before.garbled + 1);
    // Only the good copy was delivered, in sequence (no gap, no resend).
    assert_eq!(app.len(), 1, "{app:?}");
    assert_eq!(
        p.b.stats().resend_requests_sent,
        before.resend_requests_sent
    );
    assert_eq!(p.b.state(), State::Active);
}

/// A message whose last body field runs into the trailer (no SOH before `10=`, BodyLength and
/// CheckSum consistent with that) has no CheckSum field: dropped as garbled, not delivered and
/// not answered with a Reject; the well-formed copy behind it goes through.
#[test]
fn a_body_running_into_the_trailer_is_garbled() {
    let (mut p, before, good) = pair_with_order("glued");
    // Drop the SOH before "10=", then BodyLength and CheckSum as a framer would check them.
    let text = String::from_utf8(good.clone()).unwrap();
    let trailer = text.rfind("\x0110=").unwrap();
    let body_start = text.find("\x0135=").unwrap() + 1;
    let body = &text[body_start..trailer];
    let head = &text[..text.find("\x019=").unwrap()];
    let mut glued = format!("{head}\x019={}\x01{body}", body.len()).into_bytes();
    let sum = glued.iter().fold(0u8, |s, &b| s.wrapping_add(b));
    glued.extend_from_slice(format!("10={sum:03}\x01").as_bytes());
    assert_eq!(
        frame(&glued, FrameLimits::default()),
        Ok(Some(glued.len())),
        "the framer takes it"
    );
    let app = venue_takes(&mut p, &glued, &good);
    assert_eq!(p.b.stats().garbled, before.garbled + 1);
    assert_eq!(p.b.stats().rejects_sent, before.rejects_sent);
    assert_eq!(app.len(), 1, "{app:?}");
    assert_eq!(p.b.state(), State::Active);
}

/// `8=FIX.4.4|9=<length>|<body>10=<sum>|` from a body written with `|` for SOH.
fn with_trailer(body: &str) -> Vec<u8> {
    let body = body.replace('|', "\x01");
    let mut m = format!("8=FIX.4.4\x019={}\x01{body}", body.len()).into_bytes();
    let sum = m.iter().fold(0u8, |s, &b| s.wrapping_add(b));
    m.extend_from_slice(format!("10={sum:03}\x01").as_bytes());
    m
}

/// The field-order check is kept from a message that passed it only for messages of that
/// message's tag layout: not for one whose layout differs but matches a message in between
/// that never reached the check (here one with an unusable MsgSeqNum).
#[test]
fn a_kept_field_order_check_needs_the_checked_layout() {
    let (mut p, before, good) = pair_with_order("first");
    let mut app = vec![];
    p.b.handle_input(p.now, &good, &mut app_sink(&mut app));
    assert_eq!(app.len(), 1, "the first order passes the check");
    let seq = p.b.journal().next_target_seq();
    // SendingTime (52), a header field, after ClOrdID: out of order.
    let order = |seq: &str| {
        with_trailer(&format!(
            "35=D|34={seq}|49=TESTCLIENT|56=KRAKEN-TRD|11=late|52=20260407-14:32:01.000|55=BTC/USD|54=1|40=1|"
        ))
    };
    p.b.handle_input(p.now, &order("x"), &mut app_sink(&mut app));
    p.b.handle_input(p.now, &order(&seq.to_string()), &mut app_sink(&mut app));
    assert_eq!(
        app.len(),
        1,
        "the out-of-order message was delivered: {app:?}"
    );
    assert_eq!(p.b.stats().rejects_sent, before.rejects_sent + 1);
}

/// A [`MemoryJournal`] that counts the calls of [`Journal::warm`].
struct WarmCounting {
    inner: MemoryJournal,
    warms: std::rc::Rc<std::cell::Cell<u32>>,
}

impl Journal for WarmCounting {
    fn next_sender_seq(&self) -> u64 {
        self.inner.next_sender_seq()
    }
    fn next_target_seq(&self) -> u64 {
        self.inner.next_target_seq()
    }
    fn set_next_sender_seq(&mut self, seq: u64) {
        self.inner.set_next_sender_seq(seq);
    }
    fn set_next_target_seq(&mut self, seq: u64) {
        self.inner.set_next_target_seq(seq);
    }
    fn record_sent(
        &mut self,
        seq: u64,
        bytes: &[u8],
    ) -> Result<(), tickwire_fix::session::JournalError> {
        self.inner.record_sent(seq, bytes)
    }
    fn sent(&self, seq: u64) -> Option<&[u8]> {
        self.inner.sent(seq)
    }
    fn reset(&mut self) {
        self.inner.reset();
    }
    fn warm(&self) {
        self.warms.set(self.warms.get() + 1);
        self.inner.warm();
    }
}

/// `Session::warm` reaches the journal once after each application message recorded (and
/// after a change through `journal_mut`), and is a flag test otherwise: an engine calls it on
/// every idle cycle.
#[test]
fn warm_reaches_the_journal_once_per_recorded_message() {
    let warms = std::rc::Rc::new(std::cell::Cell::new(0));
    let journal = WarmCounting {
        inner: MemoryJournal::new(1024, 512),
        warms: warms.clone(),
    };
    let mut p = Pair::new(
        Session::new(client_cfg(), journal, Capacities::default()),
        Session::new(
            venue_cfg(),
            MemoryJournal::new(1024, 512),
            Capacities::default(),
        ),
    );
    p.a.warm();
    p.a.warm();
    assert_eq!(warms.get(), 1, "a new session warms once");
    p.connect();
    p.a.warm();
    assert_eq!(warms.get(), 1, "the Logon is not journaled");
    for i in 1..=3 {
        p.send_order(&format!("{i}"));
        p.a.warm();
        p.a.warm();
        assert_eq!(warms.get(), 1 + i, "after order {i}");
    }
    p.a.journal_mut().set_next_sender_seq(100);
    p.a.warm();
    p.a.warm();
    assert_eq!(warms.get(), 5, "after journal_mut");
    p.pump();
    assert_eq!(p.b_app.len(), 3);
    // The template path (what an armed order uses) records too.
    let now = p.now;
    p.a.send_raw(now, |_, space| {
        space[..4].copy_from_slice(b"raw\x01");
        Ok(4)
    })
    .unwrap();
    p.a.warm();
    p.a.warm();
    assert_eq!(warms.get(), 6, "after send_raw");
}
