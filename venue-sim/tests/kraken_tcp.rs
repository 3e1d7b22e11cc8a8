//! The Kraken profile over real kernel TCP and TLS 1.3 on loopback, driven by a client written
//! from SPEC (tests/kraken_common): logon with HMAC credentials, the order lifecycle, logon
//! failures, session Rejects for malformed input, market-data rejects, and a flood that
//! meets the rate limit and then the error-rate disconnect while another session keeps being
//! served.
#![allow(clippy::unwrap_used)]

mod kraken_common;

use std::time::{Duration, Instant};

use kraken_common::*;
use tickwire_fix::kraken::Credentials;
use tickwire_venue::kraken::{Port, LOGON_FAILED};

const T: Duration = Duration::from_secs(5);

#[test]
fn order_lifecycle_over_tls_new_amend_cancel_unknown() {
    let pki = pki("life");
    let server = start(config(false), &pki);
    let mut c = trading(&server, &pki, "TESTCLIENT", "FIXTESTKEY123", SECRET);

    let (id, body) = nos(1, "0.01", "84000.0", 1, "18=P|7928=1|");
    let seq = c.send("D", &body);
    let new = c.expect(T, "New", |m| m.ty() == "8");
    assert_eq!(new.get(150), Some("0"));
    assert_eq!(new.get(39), Some("0"));
    assert_eq!(new.get(11), Some(id.to_string().as_str()));
    assert_eq!(new.get(58), Some("buy 0.01 BTC/USD @ limit 84000.0"));
    let order_id = new.get(37).unwrap().to_string();
    assert_eq!(order_id.len(), 19, "Kraken txid shape: {order_id}");
    assert!(seq > 1);

    let amend_id = clordid();
    c.send(
        "G",
        &format!(
            "11={amend_id}|37={order_id}|41={id}|54=1|55=BTC/USD|60={}|38=0.008|40=2|44=84000.0|59=1|18=P",
            sending_time()
        ),
    );
    let rep = c.expect(T, "Replaced", |m| m.ty() == "8");
    assert_eq!((rep.get(150), rep.get(39)), (Some("5"), Some("5")));
    assert_eq!(rep.get(38), Some("0.008"));
    assert_eq!(rep.get(41), Some(id.to_string().as_str()));

    let cancel_id = clordid();
    c.send(
        "F",
        &format!(
            "11={cancel_id}|37={order_id}|41={amend_id}|54=1|55=BTC/USD|60={}",
            sending_time()
        ),
    );
    let can = c.expect(T, "Canceled", |m| m.ty() == "8");
    assert_eq!((can.get(150), can.get(39)), (Some("4"), Some("4")));
    assert_eq!(can.get(58), Some("Order canceled by user"));
    assert_eq!(can.get(151), Some("0"));

    let again = clordid();
    let seq = c.send(
        "F",
        &format!(
            "11={again}|37={order_id}|54=1|55=BTC/USD|60={}",
            sending_time()
        ),
    );
    let rej = c.expect(T, "BusinessMessageReject", |m| m.ty() == "j");
    assert_eq!(rej.get(58), Some("EOrder:Unknown order"));
    assert_eq!(rej.get(380), Some("101"));
    assert_eq!(rej.get(372), Some("F"));
    assert_eq!(rej.get(45), Some(seq.to_string().as_str()));
    assert!(
        c.recv(Duration::from_millis(200))
            .is_none_or(|m| m.ty() != "9"),
        "never 35=9 on Spot"
    );
    server.stop();
}

#[test]
fn wrong_credentials_get_spec_logout_and_close() {
    let pki = pki("creds");
    let server = start(config(false), &pki);
    let addr = server.addr(Port::SpotTrading).unwrap();

    // Wrong secret.
    let bad = Credentials::new("FIXTESTKEY123", "c2VjcmV0").unwrap();
    let mut c = Conn::connect(addr, &pki, "TESTCLIENT", Port::SpotTrading);
    c.send(
        "A",
        &trading_logon_body(&bad, "TESTCLIENT", "KRAKEN-TRD", now_ms()),
    );
    let got = c.until_closed(T);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].ty(), "5");
    assert_eq!(got[0].get(58), Some(LOGON_FAILED));

    // Right secret, nonce 10 s old.
    let good = Credentials::new("FIXTESTKEY123", SECRET).unwrap();
    let mut c = Conn::connect(addr, &pki, "TESTCLIENT", Port::SpotTrading);
    c.send(
        "A",
        &trading_logon_body(&good, "TESTCLIENT", "KRAKEN-TRD", now_ms() - 10_000),
    );
    let got = c.until_closed(T);
    assert_eq!(
        got.iter().map(|m| m.get(58)).collect::<Vec<_>>(),
        vec![Some(LOGON_FAILED)]
    );

    // A replayed nonce (not increasing) after a successful logon.
    let nonce = now_ms();
    let mut ok = Conn::connect(addr, &pki, "TESTCLIENT", Port::SpotTrading);
    ok.send(
        "A",
        &trading_logon_body(&good, "TESTCLIENT", "KRAKEN-TRD", nonce),
    );
    ok.expect(T, "logon ack", |m| m.ty() == "A");
    let mut c = Conn::connect(addr, &pki, "TESTCLIENT", Port::SpotTrading);
    c.send(
        "A",
        &trading_logon_body(&good, "TESTCLIENT", "KRAKEN-TRD", nonce),
    );
    let got = c.until_closed(T);
    assert_eq!(
        got.iter().map(|m| m.get(58)).collect::<Vec<_>>(),
        vec![Some(LOGON_FAILED)]
    );

    // Unknown SenderCompID, wrong TargetCompID, first message not a Logon: closed silently.
    let mut c = Conn::connect(addr, &pki, "NOBODY", Port::SpotTrading);
    c.send(
        "A",
        &trading_logon_body(&good, "NOBODY", "KRAKEN-TRD", now_ms() + 1),
    );
    assert!(c.until_closed(T).is_empty());
    let mut c = Conn::connect(addr, &pki, "TESTCLIENT", Port::SpotTrading);
    c.target = "KRAKEN-MD".into();
    c.send("A", "98=0|108=30|141=Y");
    assert!(c.until_closed(T).is_empty());
    let mut c = Conn::connect(addr, &pki, "TESTCLIENT", Port::SpotTrading);
    c.send("0", "");
    assert!(c.until_closed(T).is_empty());

    // The session that did log on is still served.
    ok.send("1", "112=STILL-THERE");
    let hb = ok.expect(T, "heartbeat", |m| m.ty() == "0" && m.get(112).is_some());
    assert_eq!(hb.get(112), Some("STILL-THERE"));
    let stats = server.call(|v, _| v.stats()).unwrap();
    assert_eq!(stats.logon_failures, 3);
    assert_eq!(stats.silent_closes, 3);
    server.stop();
}

#[test]
fn plain_tcp_is_refused_by_a_tls_port() {
    use std::io::{Read, Write};
    let pki = pki("plain");
    let server = start(config(false), &pki);
    let mut tcp = std::net::TcpStream::connect(server.addr(Port::SpotMd).unwrap()).unwrap();
    tcp.set_read_timeout(Some(T)).unwrap();
    tcp.write_all(&build(
        "A",
        1,
        "TESTCLIENT",
        "KRAKEN-MD",
        "98=0|108=30|141=Y",
    ))
    .unwrap();
    let mut buf = [0u8; 512];
    let mut got = Vec::new();
    while let Ok(n) = tcp.read(&mut buf) {
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    assert!(
        !got.windows(5).any(|w| w == b"35=A\x01"),
        "no FIX over plain TCP"
    );
    if let Some(&first) = got.first() {
        assert_eq!(first, 0x15, "a TLS alert record, got {got:?}");
    }
    server.stop();
}

#[test]
fn malformed_messages_get_session_rejects_and_garbage_is_dropped() {
    let pki = pki("malformed");
    let server = start(config(false), &pki);
    let mut c = trading(&server, &pki, "TESTCLIENT", "FIXTESTKEY123", SECRET);

    // M14: NewOrderSingle without Side.
    let id = clordid();
    let seq = c.send(
        "D",
        &format!(
            "11={id}|55=BTC/USD|40=2|44=84000.0|38=0.01|59=1|60={}",
            sending_time()
        ),
    );
    let r = c.expect(T, "Reject", |m| m.ty() == "3");
    assert_eq!(r.get(45), Some(seq.to_string().as_str()));
    assert_eq!(r.get(371), Some("54"));
    assert_eq!(r.get(372), Some("D"));
    assert_eq!(r.get(373), Some("1"));
    assert_eq!(r.get(58), Some("Missing mandatory field: Side (54)"));

    // Bad OrdType value.
    let id = clordid();
    c.send(
        "D",
        &format!(
            "11={id}|55=BTC/USD|54=1|40=Z|44=84000.0|38=0.01|59=1|60={}",
            sending_time()
        ),
    );
    let r = c.expect(T, "Reject", |m| m.ty() == "3");
    assert_eq!(r.get(371), Some("40"));
    assert_eq!(r.get(373), Some("5"));
    assert_eq!(r.get(58), Some("Invalid value for tag 40: OrderType"));

    // Bad checksum: dropped silently, no sequence number consumed.
    let mut raw = build(
        "D",
        c.seq,
        "TESTCLIENT",
        "KRAKEN-TRD",
        "11=1|55=BTC/USD|54=1|40=2|44=1.0|38=1|59=1|60=20260101-00:00:00.000",
    );
    let n = raw.len();
    raw[n - 2] = if raw[n - 2] == b'0' { b'1' } else { b'0' };
    c.send_raw(&raw);
    // Unparseable bytes between messages.
    c.send_raw(b"this is not FIX\x01");
    // The session is intact and in sequence.
    c.send("1", "112=AFTER-GARBAGE");
    let hb = c.expect(T, "heartbeat", |m| m.ty() == "0" && m.get(112).is_some());
    assert_eq!(hb.get(112), Some("AFTER-GARBAGE"));
    assert!(!c.closed);

    // An unsupported application message on a trading session.
    c.send("V", "262=X|263=1|264=1|267=1|269=0|146=1|55=BTC/USD");
    let j = c.expect(T, "BusinessMessageReject", |m| m.ty() == "j");
    assert_eq!(j.get(380), Some("3"));
    assert_eq!(j.get(58), Some("Unsupported Message Type"));
    server.stop();
}

#[test]
fn market_data_rejects_use_spec_reasons() {
    let pki = pki("mdrej");
    let server = start(config(true), &pki);
    let mut c = md(&server, &pki, "TESTCLIENT");
    let cases = [
        (
            "262=R1|263=1|264=10|267=2|269=0|269=1|146=1|55=FOO/BAR",
            "0",
            "Unknown symbol: FOO/BAR",
        ),
        (
            "262=R2|263=1|264=7|267=2|269=0|269=1|146=1|55=BTC/USD",
            "5",
            "Unsupported market depth: 7",
        ),
        (
            "262=R3|263=1|264=10|267=1|269=0|146=1|55=BTC/USD",
            "8",
            "Bid and offer must be requested together",
        ),
        (
            "262=R4|263=1|264=10|266=N|267=2|269=0|269=1|146=1|55=BTC/USD",
            "B",
            "Level3 not available on this port",
        ),
    ];
    for (body, reason, text) in cases {
        c.send("V", body);
        let y = c.expect(T, "MarketDataRequestReject", |m| m.ty() == "Y");
        assert_eq!(
            (y.get(281), y.get(58)),
            (Some(reason), Some(text)),
            "{body}"
        );
    }
    c.send(
        "V",
        "262=OK|263=1|264=10|267=3|269=0|269=1|269=2|146=1|55=BTC/USD",
    );
    let w = c.expect(T, "snapshot", |m| m.ty() == "W");
    assert_eq!(w.get(262), Some("OK"));
    assert_eq!(w.get(268), Some("20"), "10 offers + 10 bids");
    let ids = w.all(278);
    assert!(
        ids[0].starts_with('O') && ids[19].starts_with('B'),
        "{ids:?}"
    );
    c.send(
        "V",
        "262=OK|263=1|264=10|267=2|269=0|269=1|146=1|55=BTC/USD",
    );
    let y = c.expect(T, "duplicate", |m| m.ty() == "Y");
    assert_eq!(
        (y.get(281), y.get(58)),
        (Some("1"), Some("Duplicate MDReqID"))
    );
    let x = c.expect(T, "incremental", |m| m.ty() == "X" && m.get(5041).is_some());
    assert_eq!(x.get(262), Some("OK"));
    c.send("x", "320=IL-1|263=0|559=0|55=BTC/USD");
    let y = c.expect(T, "InstrumentList", |m| m.ty() == "y");
    assert_eq!(
        (y.get(320), y.get(560), y.get(55)),
        (Some("IL-1"), Some("0"), Some("BTC/USD"))
    );
    assert_eq!(
        (y.get(2349), y.get(5010), y.get(5022)),
        (Some("1"), Some("8"), Some("0.1"))
    );
    c.send("g", "335=TS-1|336=SESSION|263=0");
    let h = c.expect(T, "TradingSessionStatus", |m| m.ty() == "h");
    assert_eq!((h.get(335), h.get(340)), (Some("TS-1"), Some("2")));
    server.stop();
}

#[test]
fn flood_hits_rate_limit_then_error_rate_disconnect_while_another_session_trades() {
    let pki = pki("flood");
    let server = start(config(true), &pki);
    let mut calm = trading(&server, &pki, "TESTCLIENT", "FIXTESTKEY123", SECRET);
    let mut feed = md(&server, &pki, "TESTCLIENT");
    feed.send(
        "V",
        "262=F1|263=1|264=10|267=2|269=0|269=1|146=1|55=BTC/USD",
    );
    feed.expect(T, "snapshot", |m| m.ty() == "W");
    let mut flood = trading(&server, &pki, "OTHER", "OTHERKEY", "c2VjcmV0");

    // IOC orders far below the market: each is a valid add (+1 on a Starter counter of 60).
    let mut batch = Vec::new();
    for _ in 0..400 {
        let (_, body) = nos(1, "0.001", "1000.0", 3, "");
        let seq = flood.seq;
        flood.seq += 1;
        batch.extend_from_slice(&build("D", seq, "OTHER", "KRAKEN-TRD", &body));
    }
    flood.send_raw(&batch);
    let got = flood.until_closed(Duration::from_secs(10));
    let rate = got
        .iter()
        .filter(|m| m.ty() == "j" && m.get(58) == Some("EOrder:Rate limit exceeded"))
        .count();
    let accepted = got
        .iter()
        .filter(|m| m.ty() == "8" && m.get(150) == Some("0"))
        .count();
    let first_rate = got.iter().position(|m| m.ty() == "j").unwrap();
    let j = &got[first_rate];
    assert_eq!((j.get(380), j.get(372)), (Some("0"), Some("D")));
    assert!(j.get(379).is_some());
    assert!(
        (55..=61).contains(&accepted),
        "accepted {accepted} adds before the limit"
    );
    assert!(rate >= 40, "rate-limit rejects: {rate}");
    let last = got.last().unwrap();
    assert_eq!((last.ty(), last.get(58)), ("5", Some("Too many errors")));

    // Throughout: the other session fills and answers heartbeats, market data flows.
    calm.send("1", "112=CALM");
    let hb = calm.expect(T, "heartbeat", |m| m.ty() == "0" && m.get(112).is_some());
    assert_eq!(hb.get(112), Some("CALM"));
    // A tick reaches this client before its order, so tick-sent → order-received has a sample
    // (with a quiet synthetic market the order could otherwise come first).
    feed.expect(T, "a tick before the order", |m| m.ty() == "X");
    let (_, body) = nos(1, "0.001", "90000.0", 3, "");
    calm.send("D", &body);
    let fill = calm.expect(T, "complete fill", |m| {
        m.ty() == "8" && m.get(150) == Some("F") && m.get(39) == Some("2")
    });
    assert_eq!((fill.get(14), fill.get(151)), (Some("0.001"), Some("0")));
    assert_eq!(fill.get(5050), Some("1"), "taker");
    assert!(fill.get(1003).is_some() && fill.get(527).is_some());
    let samples = server
        .call(|v, _| v.tick_to_order("TESTCLIENT").map(|h| h.len()))
        .unwrap();
    assert!(
        samples >= Some(1),
        "tick-to-order latency recorded: {samples:?}"
    );
    let start = Instant::now();
    let x = feed.expect(T, "incremental after the flood", |m| m.ty() == "X");
    assert!(start.elapsed() < T && x.get(262) == Some("F1"));
    server.stop();
}

/// A Python client written from SPEC alone (stdlib `ssl` + PyPI `simplefix`) logs on with
/// HMAC credentials, checks market-data checksums, places, amends and cancels an order,
/// verifying the server certificate against the generated CA.
#[test]
fn python_simplefix_client_written_from_spec() {
    let probe = std::process::Command::new("python3")
        .args(["-c", "import simplefix, ssl"])
        .status();
    assert!(
        matches!(probe, Ok(s) if s.success()),
        "needs python3 with PyPI simplefix (scripts/setup-host installs it)"
    );
    let pki = pki("python");
    let server = start(config(true), &pki);
    let out = std::process::Command::new("python3")
        .arg(repo_path("tests/python/kraken_client.py"))
        .args(["--ca", pki.ca_pem.to_str().unwrap()])
        .args([
            "--md-port",
            &server.addr(Port::SpotMd).unwrap().port().to_string(),
        ])
        .args([
            "--trd-port",
            &server.addr(Port::SpotTrading).unwrap().port().to_string(),
        ])
        .args(["--secret", SECRET])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.starts_with("OK "),
        "python client: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("python client: {stdout}");
    // The same client with another CA must fail certificate verification.
    let other = kraken_common::pki("python-other");
    let out = std::process::Command::new("python3")
        .arg(repo_path("tests/python/kraken_client.py"))
        .args(["--ca", other.ca_pem.to_str().unwrap()])
        .args([
            "--md-port",
            &server.addr(Port::SpotMd).unwrap().port().to_string(),
        ])
        .args([
            "--trd-port",
            &server.addr(Port::SpotTrading).unwrap().port().to_string(),
        ])
        .args(["--secret", SECRET])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(stdout.contains("CERTIFICATE_VERIFY_FAILED"), "{stdout}");
    server.stop();
}

#[test]
fn cancel_on_disconnect_and_resume_with_replayed_report() {
    let pki = pki("cod");
    let server = start(config(false), &pki);
    let addr = server.addr(Port::SpotTrading).unwrap();
    let creds = Credentials::new("FIXTESTKEY123", SECRET).unwrap();

    // TESTCLIENT with 8674=0 (cancel), OTHER with 8674=1 (keep); both rest a bid.
    let mut a = Conn::connect(addr, &pki, "TESTCLIENT", Port::SpotTrading);
    a.send(
        "A",
        &logon_body_at(&creds, "TESTCLIENT", "KRAKEN-TRD", now_ms(), 1, true, 0),
    );
    a.expect(T, "logon", |m| m.ty() == "A");
    let (_, body) = nos(1, "0.01", "80000.0", 1, "");
    a.send("D", &body);
    a.expect(T, "New", |m| m.ty() == "8" && m.get(150) == Some("0"));
    let other = Credentials::new("OTHERKEY", "c2VjcmV0").unwrap();
    let mut b = Conn::connect(addr, &pki, "OTHER", Port::SpotTrading);
    b.send(
        "A",
        &logon_body_at(&other, "OTHER", "KRAKEN-TRD", now_ms(), 1, true, 1),
    );
    b.expect(T, "logon", |m| m.ty() == "A");
    let (_, body) = nos(1, "0.01", "80000.5", 1, "");
    b.send("D", &body);
    b.expect(T, "New", |m| m.ty() == "8" && m.get(150) == Some("0"));
    let bids = || {
        server
            .call(|v, _| {
                let e = v.spot_engine();
                let id = e.instrument_id(b"BTC/USD").unwrap();
                e.depth(id, tickwire_venue::engine::Side::Buy)
                    .map(|(p, _)| p.to_string())
                    .collect::<Vec<_>>()
            })
            .unwrap()
    };
    assert_eq!(bids(), vec!["80000.5", "80000.0"]);

    // Abnormal disconnects (no Logout).
    drop(a);
    drop(b);
    let deadline = Instant::now() + T;
    while bids() != vec!["80000.5"] {
        assert!(Instant::now() < deadline, "CoD did not run: {:?}", bids());
        std::thread::sleep(Duration::from_millis(20));
    }

    // Resume with 141=N: the Cancel-on-disconnect report is replayed on request.
    let mut a = Conn::connect(addr, &pki, "TESTCLIENT", Port::SpotTrading);
    a.seq = 3;
    a.send(
        "A",
        &logon_body_at(&creds, "TESTCLIENT", "KRAKEN-TRD", now_ms(), 3, false, 0),
    );
    let ack = a.expect(T, "logon", |m| m.ty() == "A");
    assert_eq!(
        ack.get(34),
        Some("4"),
        "ack after logon(1), New(2), CoD report(3)"
    );
    a.send("2", "7=3|16=0");
    let replay = a.expect(T, "replayed report", |m| m.ty() == "8");
    assert_eq!(replay.get(34), Some("3"));
    assert_eq!(replay.get(43), Some("Y"));
    assert_eq!(
        (replay.get(150), replay.get(58)),
        (Some("4"), Some("Cancel on disconnect"))
    );
    server.stop();
}

#[test]
fn derivatives_logon_comb_uuid_and_reject() {
    let pki = pki("drv");
    let server = start(config(false), &pki);
    let addr = server.addr(Port::DerivativesTrading).unwrap();
    let creds = Credentials::new("FIXTESTKEY123", SECRET).unwrap();

    // The literal-KRAKEN-TRD password variant is refused unless the lenient flag is set.
    let mut c = Conn::connect(addr, &pki, "TESTCLIENT-DRV", Port::DerivativesTrading);
    c.send(
        "A",
        &trading_logon_body(&creds, "TESTCLIENT-DRV", "KRAKEN-TRD", now_ms()),
    );
    let got = c.until_closed(T);
    assert_eq!(
        got.iter().map(|m| m.get(58)).collect::<Vec<_>>(),
        vec![Some(LOGON_FAILED)]
    );

    let mut c = Conn::connect(addr, &pki, "TESTCLIENT-DRV", Port::DerivativesTrading);
    c.send(
        "A",
        &trading_logon_body(&creds, "TESTCLIENT-DRV", "KRAKEN-DRV-TRD", now_ms()),
    );
    let ack = c.expect(T, "logon", |m| m.ty() == "A");
    assert_eq!(ack.get(49), Some("KRAKEN-DRV-TRD"));
    let now = tickwire_venue::kraken::server::utc_now();
    let uuid = tickwire_fix::kraken::comb_uuid(now, 0x1234_5678_9abc_def0_1122);
    let uuid = String::from_utf8_lossy(&uuid).into_owned();
    c.send(
        "D",
        &format!(
            "11={uuid}|55=PF_XBTUSD|54=2|40=2|44=95000|38=0.001|59=1|18=P s|60={}",
            sending_time()
        ),
    );
    let new = c.expect(T, "New", |m| m.ty() == "8");
    assert_eq!(
        (new.get(150), new.get(11)),
        (Some("0"), Some(uuid.as_str()))
    );
    let order_id = new.get(37).unwrap().to_string();
    assert_eq!(order_id.len(), 36, "UUID OrderID: {order_id}");
    c.send(
        "D",
        &format!(
            "11=12345|55=PF_XBTUSD|54=2|40=2|44=95000|38=0.001|59=1|18=P s|60={}",
            sending_time()
        ),
    );
    let r = c.expect(T, "Reject", |m| m.ty() == "3");
    assert_eq!((r.get(371), r.get(373)), (Some("11"), Some("5")));
    assert_eq!(
        r.get(58),
        Some("COMB UUIDv4 required for ClOrdID on derivatives")
    );

    // Derivatives market data (port 4002, KRAKEN-DRV-MD) shows the resting offer; the order's
    // cancel reaches the subscriber as an incremental delete with the book checksum.
    let mut md = Conn::connect(
        server.addr(Port::DerivativesMd).unwrap(),
        &pki,
        "TESTCLIENT-DRV",
        Port::DerivativesMd,
    );
    md.send("A", "98=0|108=30|141=Y");
    md.expect(T, "MD logon", |m| m.ty() == "A");
    md.send(
        "V",
        "262=D1|263=1|264=10|267=2|269=0|269=1|146=1|55=PF_XBTUSD",
    );
    let w = md.expect(T, "snapshot", |m| m.ty() == "W");
    assert_eq!(
        (w.get(268), w.get(278), w.get(270)),
        (Some("1"), Some("O95000"), Some("95000"))
    );
    let cancel = tickwire_fix::kraken::comb_uuid(
        tickwire_venue::kraken::server::utc_now(),
        0x2234_5678_9abc_def0_1122,
    );
    c.send(
        "F",
        &format!(
            "11={}|37={order_id}|54=2|55=PF_XBTUSD|60={}",
            String::from_utf8_lossy(&cancel),
            sending_time()
        ),
    );
    c.expect(T, "Canceled", |m| m.ty() == "8" && m.get(150) == Some("4"));
    let x = md.expect(T, "delete", |m| m.ty() == "X");
    assert_eq!(
        (x.get(279), x.get(278), x.get(271)),
        (Some("2"), Some("O95000"), Some("0.0"))
    );
    assert_eq!(x.get(5041), Some("0"), "CRC32 of an empty book");
    md.send("g", "335=TS-D|336=SESSION|263=0");
    let h = md.expect(T, "TradingSessionStatus", |m| m.ty() == "h");
    assert_eq!(h.get(567), Some("1"), "derivatives: SPEC §8 item 6");
    server.stop();
}

#[test]
fn rollover_logs_sessions_out_at_the_configured_time() {
    let pki = pki("rollover");
    let mut cfg = config(false);
    let in_two_s = (tickwire_venue::kraken::server::utc_now().nanos / 1_000_000_000 + 2) % 86_400;
    cfg.rollover = Some(tickwire_fix::session::Rollover {
        utc_seconds: in_two_s as u32,
    });
    let server = start(cfg, &pki);
    let mut c = trading(&server, &pki, "TESTCLIENT", "FIXTESTKEY123", SECRET);
    let mut m = md(&server, &pki, "TESTCLIENT");
    for conn in [&mut c, &mut m] {
        let out = conn.expect(Duration::from_secs(6), "rollover Logout", |m| m.ty() == "5");
        assert_eq!(out.get(58), Some("Daily rollover"));
        conn.send("5", "");
    }
    assert!(c.until_closed(T).is_empty());
    server.stop();
}
