//! The whole stack in one thread: FIX session over TLS 1.3 over userspace TCP over the
//! in-memory NIC pair, client (Kraken dialect initiator) ↔ venue (acceptor). 100k orders and
//! 100k execution reports, every one checked in order, on a clean link and on a link with 1 %
//! loss, 1 % duplication and 1 % reordering.
#![allow(clippy::unwrap_used)]

use std::net::{Ipv4Addr, SocketAddrV4};

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use tickwire_dataplane::allowlist::{self, Allowlist};
use tickwire_dataplane::link::Link;
use tickwire_dataplane::mem::{self, Faults};
use tickwire_dataplane::stack::{Stack, StackConfig};
use tickwire_fix::message::Message;
use tickwire_fix::session::{
    Capacities, Config, Event, MemoryJournal, ResendPolicy, Role, Session, State,
};
use tickwire_fix::time::UtcTimestamp;

const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const VENUE: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

fn tls_pair() -> (tickwire_tls::Session, tickwire_tls::Session) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "venue-sim CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["fix.uat.venue.test".to_string()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let client = tickwire_tls::Session::client(
        &tickwire_tls::ClientConfig::new(tickwire_tls::RootSource::Der(vec![ca_cert
            .der()
            .to_vec()])),
        "fix.uat.venue.test",
        tickwire_tls::Capacities::default(),
    )
    .unwrap();
    let server = tickwire_tls::Session::server(
        &tickwire_tls::ServerConfig::new(tickwire_tls::Identity::Der {
            chain: vec![leaf.der().to_vec()],
            pkcs8_key: key.serialize_der(),
        }),
        tickwire_tls::Capacities::default(),
    )
    .unwrap();
    (client, server)
}

fn fix_sessions() -> (Session<MemoryJournal>, Session<MemoryJournal>) {
    let mut c = Config::kraken_initiator("TESTCLIENT", "KRAKEN-TRD").unwrap();
    c.rollover = None;
    let mut v = Config::kraken_initiator("KRAKEN-TRD", "TESTCLIENT").unwrap();
    v.role = Role::Acceptor;
    v.resend_policy = ResendPolicy::ReplayApplication;
    v.rollover = None;
    (
        Session::new(c, MemoryJournal::new(1 << 16, 512), Capacities::default()),
        Session::new(v, MemoryJournal::new(1 << 16, 512), Capacities::default()),
    )
}

fn run(faults: Option<Faults>, orders: u64) {
    let (a, b) = mem::pair(512, [2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
    let cfg = |address| StackConfig {
        address,
        connections: 2,
        ..StackConfig::default()
    };
    let mut cstack = Stack::new(
        a,
        allowlist::live(Allowlist::new(&[VENUE]).unwrap()).1,
        cfg(CLIENT),
        0,
    );
    let mut vstack = Stack::new(
        b,
        allowlist::live(Allowlist::new(&[CLIENT]).unwrap()).1,
        cfg(VENUE),
        0,
    );
    if let Some(f) = faults {
        cstack.nic_mut().set_faults(f);
        vstack.nic_mut().set_faults(Faults {
            seed: f.seed ^ 0x55,
            ..f
        });
    }
    let vconn = vstack.listen(4001).unwrap();
    let cconn = cstack.connect(SocketAddrV4::new(VENUE, 4001)).unwrap();
    let (ctls, vtls) = tls_pair();
    let (cfix, vfix) = fix_sessions();
    let mut client = Link::new(cconn, ctls, cfix);
    let mut venue = Link::new(vconn, vtls, vfix);

    let start = UtcTimestamp::parse(b"20260407-14:32:01.000").unwrap();
    let mut now = start;
    let mut logon_sent = false;
    let (mut sent, mut venue_seen, mut reports) = (0u64, Vec::<u64>::new(), Vec::<u64>::new());
    let mut steps = 0u64;
    let mut backlog = std::collections::VecDeque::new();
    while (reports.len() as u64) < orders {
        steps += 1;
        assert!(
            steps < 20_000_000,
            "stalled: sent {sent}, venue saw {}, reports {}",
            venue_seen.len(),
            reports.len()
        );
        now = UtcTimestamp::from_nanos(now.nanos + 20_000);
        cstack.poll(now.nanos);
        vstack.poll(now.nanos);
        client
            .pump(&mut cstack, now, &mut |m: &Message<'_>| {
                if m.msg_type() == b"8" {
                    reports.push(
                        std::str::from_utf8(m.field(11).unwrap())
                            .unwrap()
                            .parse()
                            .unwrap(),
                    );
                }
            })
            .unwrap();
        let mut new_orders: Vec<u64> = Vec::new();
        venue
            .pump(&mut vstack, now, &mut |m: &Message<'_>| {
                if m.msg_type() == b"D" {
                    new_orders.push(
                        std::str::from_utf8(m.field(11).unwrap())
                            .unwrap()
                            .parse()
                            .unwrap(),
                    );
                }
            })
            .unwrap();
        venue_seen.extend_from_slice(&new_orders);
        backlog.extend(new_orders);
        // Backpressure: report only while the venue's FIX queue has room (a lossy link drains
        // slowly); the rest waits in the backlog.
        while venue.fix.pending_transmit().len() < 16 * 1024 {
            let Some(id) = backlog.pop_front() else { break };
            let text = id.to_string();
            venue
                .fix
                .send_app(now, b"8", |e| {
                    e.field(37, b"O3KQ7T-XH2LM-ZP4WUA")
                        .field(11, text.as_bytes())
                        .field(17, b"E")
                        .field(150, b"0")
                        .field(39, b"0")
                        .field(55, b"BTC/USD")
                        .field(54, b"1")
                        .field(151, b"0.01")
                        .field(14, b"0")
                        .field(6, b"0");
                })
                .unwrap();
        }
        if client.is_up() && !logon_sent {
            client.fix.send_logon(now, |_, _| {}).unwrap();
            logon_sent = true;
        }
        if client.fix.state() == State::Active {
            let mut burst = 0;
            while sent < orders && burst < 8 && client.fix.pending_transmit().len() < 8192 {
                let id = (1_000_000 + sent).to_string();
                client
                    .fix
                    .send_app(now, b"D", |e| {
                        e.field(11, id.as_bytes())
                            .field(55, b"BTC/USD")
                            .field(54, b"1")
                            .field(40, b"2")
                            .field(44, b"84000.0")
                            .field(38, b"0.01")
                            .field(59, b"3");
                    })
                    .unwrap();
                sent += 1;
                burst += 1;
            }
        }
        client.flush(&mut cstack, now).unwrap();
        venue.flush(&mut vstack, now).unwrap();
        client.fix.handle_timeout(now);
        venue.fix.handle_timeout(now);
        while let Some(ev) = client.fix.poll_event() {
            assert!(
                !matches!(ev, Event::Disconnect(_)),
                "client disconnected: {ev:?}"
            );
        }
        while let Some(ev) = venue.fix.poll_event() {
            assert!(
                !matches!(ev, Event::Disconnect(_)),
                "venue disconnected: {ev:?}"
            );
        }
    }
    let want: Vec<u64> = (0..orders).map(|i| 1_000_000 + i).collect();
    assert!(venue_seen == want, "venue saw every order once, in order");
    assert!(reports == want, "client saw every report once, in order");
    if faults.is_some() {
        let s = cstack.nic().fault_stats();
        assert!(s.lost > 0 && s.duplicated > 0 && s.reordered > 0, "{s:?}");
    }
}

#[test]
fn fix_over_tls_over_tcp_100k_orders_and_reports() {
    run(None, 100_000);
}

#[test]
fn fix_over_tls_over_lossy_tcp_100k_orders_and_reports() {
    let f = Faults {
        loss_permille: 10,
        duplicate_permille: 10,
        reorder_permille: 10,
        corrupt_permille: 0,
        seed: 42,
    };
    run(Some(f), 100_000);
}
