//! The Kraken profile's sans-IO core without any socket: bytes and time in, bytes out, so the
//! same `Venue` can sit behind the kernel driver or tickwire's userspace stack. Deterministic:
//! the clock is a parameter.
#![allow(clippy::unwrap_used)]

mod kraken_common;

use kraken_common::*;
use tickwire_fix::kraken::Credentials;
use tickwire_fix::message::{frame, FieldIndex, FrameLimits, Message};
use tickwire_fix::time::UtcTimestamp;
use tickwire_venue::kraken::{ConnId, Port, Venue, LOGON_FAILED};

fn take(v: &mut Venue, id: ConnId) -> Vec<Msg> {
    let mut out = Vec::new();
    let bytes = v.transmit(id).to_vec();
    v.consume_transmit(id, bytes.len());
    let mut off = 0;
    while let Ok(Some(n)) = frame(
        &bytes[off..],
        FrameLimits {
            max_message_len: 1 << 20,
        },
    ) {
        let mut idx = FieldIndex::<1024>::new();
        let m = Message::parse(&bytes[off..off + n], &mut idx).unwrap();
        out.push(Msg(m
            .iter()
            .map(|f| (f.tag, String::from_utf8_lossy(f.value).into_owned()))
            .collect()));
        off += n;
    }
    out
}

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
