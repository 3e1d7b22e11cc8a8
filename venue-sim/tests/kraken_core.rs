//! The Kraken profile's sans-IO core without any socket: bytes and time in, bytes out, so the
//! same `Venue` can sit behind the kernel driver or tickwire's userspace stack. Deterministic:
//! the clock is a parameter.
#![allow(clippy::unwrap_used)]

mod kraken_common;

use kraken_common::*;
use tickwire_fix::kraken::Credentials;
use tickwire_fix::time::UtcTimestamp;
use tickwire_venue::kraken::{Port, Venue, LOGON_FAILED};

#[test]
fn logon_order_fill_and_heartbeat_in_memory() {
    let t0 = tickwire_venue::kraken::server::utc_now();
    let mut v = Venue::new(config(true), t0).unwrap();
    let creds = Credentials::new("FIXTESTKEY123", SECRET).unwrap();
    let nonce = u64::try_from(t0.as_millis()).unwrap();

    // A refused logon: SPEC's Logout, then the venue asks to close.
    let bad = v.handle_connect(Port::SpotTrading, t0).unwrap();
    let wrong = Credentials::new("FIXTESTKEY123", "c2VjcmV0").unwrap();
    v.handle_input(
        bad,
        t0,
        &build(
            "A",
            1,
            "TESTCLIENT",
            "KRAKEN-TRD",
            &trading_logon_body(&wrong, "TESTCLIENT", "KRAKEN-TRD", nonce),
        ),
    );
    let got = take(&mut v, bad);
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].ty(), got[0].get(58)), ("5", Some(LOGON_FAILED)));
    assert!(v.wants_close(bad));
    v.handle_closed(bad, t0);

    let id = v.handle_connect(Port::SpotTrading, t0).unwrap();
    v.handle_input(
        id,
        t0,
        &build(
            "A",
            1,
            "TESTCLIENT",
            "KRAKEN-TRD",
            &trading_logon_body(&creds, "TESTCLIENT", "KRAKEN-TRD", nonce),
        ),
    );
    let ack = take(&mut v, id);
    assert_eq!(ack[0].ty(), "A");
    assert_eq!(ack[0].get(108), Some("30"));
    assert_eq!(v.sessions_on(Port::SpotTrading), 1);

    let cl = nonce * 1000;
    let body = format!(
        "11={cl}|55=BTC/USD|54=1|40=2|44=90000.0|38=0.001|59=3|60={}",
        sending_time()
    );
    v.handle_input(id, t0, &build("D", 2, "TESTCLIENT", "KRAKEN-TRD", &body));
    let reports = take(&mut v, id);
    assert_eq!(reports[0].get(150), Some("0"));
    assert_eq!(reports.last().unwrap().get(39), Some("2"), "{reports:#?}");

    // 36 s of silence: the venue sends a TestRequest (HeartBtInt + 20 %).
    let later = UtcTimestamp::from_nanos(t0.nanos + 37_000_000_000);
    v.handle_timeout(later);
    let out = take(&mut v, id);
    assert!(out.iter().any(|m| m.ty() == "1"), "{out:#?}");
    assert!(v.stats().market_requests > 0, "the synthetic market ran");

    // The transport goes away: the session ends, the slot is free again.
    v.handle_closed(id, later);
    assert_eq!(v.connections(), 0);
    assert!(v.transmit(id).is_empty(), "stale ids are ignored");
}

/// Mutated and random input on every kind of session, before and after logon: the venue never
/// panics, and keeps serving a well-behaved session beside the abused ones.
#[test]
fn mutated_input_never_panics() {
    let t0 = tickwire_venue::kraken::server::utc_now();
    let mut v = Venue::new(config(true), t0).unwrap();
    let creds = Credentials::new("FIXTESTKEY123", SECRET).unwrap();
    let mut rng = 0x1234_5678_9abc_def0u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let samples = [
        "11=1|55=BTC/USD|54=1|40=2|44=84000.0|38=0.01|59=1|60=20260407-14:32:05.000",
        "11=2|37=O3KQ7T-XH2LM-ZP4WUA|41=1|54=1|55=BTC/USD|60=20260407-14:32:10.000|38=0.008|40=2|44=84000.0|59=1|18=P",
        "11=3|37=X|41=2|54=1|55=BTC/USD|60=20260407-14:32:15.000",
        "11=4|55=BTC/USD|60=20260407-14:32:20.000|530=1",
        "262=A|263=1|264=10|265=1|266=Y|267=3|269=0|269=1|269=2|146=1|55=BTC/USD",
        "320=IL|263=0|559=4",
        "335=T|336=SESSION|263=0",
        "7=1|16=0",
        "123=Y|36=5",
    ];
    let types = ["D", "G", "F", "q", "V", "x", "g", "2", "4", "H", "8", "Z"];
    let mut now = t0;
    for round in 0..300 {
        let port = [Port::SpotTrading, Port::SpotMd, Port::DerivativesTrading][round % 3];
        let (sender, target) = match port {
            Port::SpotTrading => ("TESTCLIENT", "KRAKEN-TRD"),
            Port::SpotMd => ("TESTCLIENT", "KRAKEN-MD"),
            _ => ("TESTCLIENT-DRV", "KRAKEN-DRV-TRD"),
        };
        let id = v.handle_connect(port, now).unwrap();
        if round % 4 != 0 {
            now = UtcTimestamp::from_nanos(now.nanos + 1_000_000);
            let nonce = u64::try_from(now.as_millis()).unwrap();
            let body = if port == Port::SpotMd {
                "98=0|108=30|141=Y".to_string()
            } else {
                trading_logon_body(&creds, sender, target, nonce)
            };
            v.handle_input(id, now, &build("A", 1, sender, target, &body));
        }
        for k in 0..20u64 {
            let ty = types[(next() % types.len() as u64) as usize];
            let body = samples[(next() % samples.len() as u64) as usize];
            let mut m = build(ty, k + 2, sender, target, body);
            for _ in 0..(next() % 4) {
                if m.is_empty() {
                    break;
                }
                let at = (next() % m.len() as u64) as usize;
                match next() % 4 {
                    0 => m[at] = (next() & 0xff) as u8,
                    1 => m[at] = 1,
                    2 => m[at] = b'=',
                    _ => {
                        m.truncate(at);
                    }
                }
            }
            if next() % 10 == 0 {
                m = (0..(next() % 300)).map(|_| (next() & 0xff) as u8).collect();
            }
            v.handle_input(id, now, &m);
            let pending = v.transmit(id).len();
            v.consume_transmit(id, pending);
            v.handle_timeout(now);
        }
        v.handle_closed(id, now);
    }
    assert_eq!(v.connections(), 0);
    // Still serving: a clean logon and order.
    let id = v.handle_connect(Port::SpotTrading, now).unwrap();
    now = UtcTimestamp::from_nanos(now.nanos + 1_000_000);
    let nonce = u64::try_from(now.as_millis()).unwrap();
    v.handle_input(
        id,
        now,
        &build(
            "A",
            1,
            "TESTCLIENT",
            "KRAKEN-TRD",
            &trading_logon_body(&creds, "TESTCLIENT", "KRAKEN-TRD", nonce),
        ),
    );
    assert_eq!(take(&mut v, id)[0].ty(), "A");
    let body = format!(
        "11={}|55=BTC/USD|54=1|40=2|44=1000.0|38=0.01|59=1|60={}",
        nonce * 1000 + 7,
        sending_time()
    );
    v.handle_input(id, now, &build("D", 2, "TESTCLIENT", "KRAKEN-TRD", &body));
    let r = take(&mut v, id);
    assert_eq!(r[0].get(150), Some("0"), "{r:#?}");
}
