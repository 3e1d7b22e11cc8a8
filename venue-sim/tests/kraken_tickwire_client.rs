//! tickwire's own client side against the Kraken profile: the `tickwire-fix` initiator
//! session with Kraken's HMAC logon and a precompiled NewOrderSingle template, over the
//! `tickwire-tls` client on a std `TcpStream`, verifying the venue's generated CA. Logon,
//! an IOC buy through the synthetic market's offers, fills.
#![allow(clippy::unwrap_used)]

mod kraken_common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use kraken_common::*;
use tickwire_fix::decimal::Decimal;
use tickwire_fix::encode::EncodeError;
use tickwire_fix::kraken::Credentials;
use tickwire_fix::message::Message;
use tickwire_fix::outbound::{new_order_single, OrderShape, Side, TimeInForce};
use tickwire_fix::session::{Capacities, Config, Event, MemoryJournal, Session, State};
use tickwire_fix::template::Header;
use tickwire_venue::kraken::server::utc_now;
use tickwire_venue::kraken::Port;

struct Client {
    tcp: TcpStream,
    tls: tickwire_tls::Session,
    fix: Session<MemoryJournal>,
    app: Vec<Vec<u8>>,
}

impl Client {
    fn pump(&mut self) {
        let out = self.fix.pending_transmit().to_vec();
        self.fix.consume_transmit(out.len());
        if !out.is_empty() && self.tls.is_established() {
            self.tls.write_plaintext(&out).unwrap();
        }
        let c = self.tls.pending_ciphertext().to_vec();
        self.tls.consume_ciphertext(c.len());
        self.tcp.write_all(&c).unwrap();
        let mut buf = [0u8; 65536];
        match self.tcp.read(&mut buf) {
            Ok(0) => panic!("venue closed the connection"),
            Ok(n) => {
                let mut off = 0;
                while off < n {
                    off += self.tls.handle_ciphertext(&buf[off..n]);
                    self.tls.poll().unwrap();
                }
                if self.tls.is_established() && self.fix.state() == State::Disconnected {
                    self.fix.handle_connected(utc_now());
                }
                let plain = self.tls.plaintext().to_vec();
                self.tls.consume_plaintext(plain.len());
                let app = &mut self.app;
                self.fix
                    .handle_input(utc_now(), &plain, &mut |m: &Message<'_>| {
                        app.push(m.bytes().to_vec())
                    });
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => panic!("read: {e}"),
        }
        self.fix.handle_timeout(utc_now());
    }
}

fn field(raw: &[u8], tag: u32) -> Option<String> {
    let mut idx = tickwire_fix::message::FieldIndex::<256>::new();
    let m = Message::parse(raw, &mut idx).ok()?;
    m.field(tag)
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

#[test]
fn tickwire_initiator_over_tickwire_tls_logs_on_orders_and_fills() {
    let pki = pki("tickwire-client");
    let server = start(config(true), &pki);
    let addr = server.addr(Port::SpotTrading).unwrap();
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_nodelay(true).unwrap();
    tcp.set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let tls = tickwire_tls::Session::client(
        &pki.client_config(),
        "localhost",
        tickwire_tls::Capacities::default(),
    )
    .unwrap();
    let cfg = Config::kraken_initiator("TESTCLIENT", "KRAKEN-TRD").unwrap();
    let fix = Session::new(cfg, MemoryJournal::new(256, 1024), Capacities::default());
    let mut c = Client {
        tcp,
        tls,
        fix,
        app: Vec::new(),
    };
    c.tls.poll().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while c.fix.state() != State::AwaitingLogon {
        assert!(Instant::now() < deadline, "TLS handshake");
        c.pump();
    }
    let creds = Credentials::new("FIXTESTKEY123", SECRET).unwrap();
    let nonce = now_ms();
    c.fix
        .send_logon(utc_now(), |seq, e| {
            let pw = creds.password(seq, b"TESTCLIENT", b"KRAKEN-TRD", nonce);
            e.field(553, creds.api_key().as_bytes())
                .field(554, &pw)
                .uint(5025, nonce)
                .uint(8674, 0);
        })
        .unwrap();
    let mut logged_on = false;
    while !logged_on {
        assert!(Instant::now() < deadline, "logon");
        c.pump();
        while let Some(ev) = c.fix.poll_event() {
            assert!(!matches!(ev, Event::Disconnect(_)), "{ev:?}");
            logged_on |= matches!(ev, Event::LoggedOn { .. });
        }
    }

    let shape = OrderShape {
        tif: TimeInForce::ImmediateOrCancel,
        ..OrderShape::limit(b"BTC/USD", Side::Buy)
    };
    let mut order = new_order_single(
        Header {
            begin_string: b"FIX.4.4",
            sender: b"TESTCLIENT",
            target: b"KRAKEN-TRD",
            time_after_target: true,
        },
        &shape,
    )
    .unwrap();
    let cl = (now_ms() * 1000).to_string();
    let now = utc_now();
    c.fix
        .send_raw(now, |seq, buf| {
            let bytes = order
                .patch(
                    seq,
                    now,
                    cl.as_bytes(),
                    Some(Decimal::new(900_000, 1)),
                    Decimal::new(2, 3),
                )
                .map_err(|_| EncodeError::NotStarted)?;
            buf.get_mut(..bytes.len())
                .ok_or(EncodeError::BufferTooSmall {
                    required: bytes.len(),
                })?
                .copy_from_slice(bytes);
            Ok(bytes.len())
        })
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut reports: Vec<Vec<u8>> = Vec::new();
    loop {
        assert!(
            Instant::now() < deadline,
            "no complete fill; got {:?}",
            reports
                .iter()
                .map(|r| String::from_utf8_lossy(r).into_owned())
                .collect::<Vec<_>>()
        );
        c.pump();
        reports.append(&mut c.app);
        if reports.iter().any(|r| field(r, 39).as_deref() == Some("2")) {
            break;
        }
    }
    let types: Vec<String> = reports.iter().filter_map(|r| field(r, 150)).collect();
    assert_eq!(types[0], "0", "New first: {types:?}");
    assert!(types[1..].iter().all(|t| t == "F"), "{types:?}");
    let last = reports.last().unwrap();
    assert_eq!(field(last, 14).as_deref(), Some("0.002"));
    assert_eq!(field(last, 11).as_deref(), Some(cl.as_str()));
    for r in &reports[1..] {
        let px: f64 = field(r, 31).unwrap().parse().unwrap();
        assert!(px > 80_000.0 && px <= 90_000.0, "fill at {px}");
        assert_eq!(field(r, 5050).as_deref(), Some("1"), "taker");
    }
    server.stop();
}
