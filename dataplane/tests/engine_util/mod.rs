//! Shared by the engine tests: a venue side on the other end of the in-memory NIC pair (its own
//! userspace stack, TLS 1.3 servers and FIX acceptors, a market-data feed and a filling
//! trading desk, built from the same pieces as the bench harness), the client-side session
//! specs, and a synthetic clock.
//!
//! Nothing here allocates per tick once running (the zero-allocation test counts the venue
//! too): received ClOrdIDs go into a vector reserved up front.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::{Ipv4Addr, SocketAddrV4};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use tickwire_dataplane::allowlist::{self, Allowlist};
use tickwire_dataplane::clock::{Clock, Now};
use tickwire_dataplane::counters::Shared;
use tickwire_dataplane::engine::{
    self, AcceptAll, Commands, Engine, OrderId, Phase, PreTrade, SessionId, SessionSpec, Strategy,
    ThresholdBuy,
};
use tickwire_dataplane::link::Link;
use tickwire_dataplane::mem;
use tickwire_dataplane::mem::MemNic;
use tickwire_dataplane::stack::{ConnId, ConnState, Stack, StackConfig};
use tickwire_dataplane::stamp_nic::StampNic;
use tickwire_fix::decimal::Decimal;
use tickwire_fix::message::Message;
use tickwire_fix::outbound::{OrderShape, Side, TimeInForce};
use tickwire_fix::session::{
    Capacities, Config, Journal, MemoryJournal, ResendPolicy, Role, Session, State,
};
use tickwire_fix::time::UtcTimestamp;

pub const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
pub const VENUE: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
pub const MD_PORT: u16 = 4000;
pub const TRD_PORT: u16 = 4001;
/// 84000.0 at PricePrecision 1.
pub const TRIGGER: i64 = 840_000;
pub const SERVER_NAME: &str = "fix.venue.test";
/// 2026-12-01T08:00:00Z.
pub const EPOCH_NS: i64 = 1_796_112_000_000_000_000;

/// A synthetic reading `ns` after the epoch above.
pub fn at(ns: i64) -> Now {
    Now {
        mono_ns: ns,
        utc: UtcTimestamp::from_nanos(EPOCH_NS + ns),
    }
}

/// A CA-signed server identity and the client configuration that trusts only that CA.
pub fn pki() -> (tickwire_tls::ClientConfig, tickwire_tls::ServerConfig) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.distinguished_name
        .push(DnType::CommonName, "tickwire engine test CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec![SERVER_NAME.to_string()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    (
        tickwire_tls::ClientConfig::new(tickwire_tls::RootSource::Der(vec![ca_cert
            .der()
            .to_vec()])),
        tickwire_tls::ServerConfig::new(tickwire_tls::Identity::Der {
            chain: vec![leaf.der().to_vec()],
            pkcs8_key: key.serialize_der(),
        }),
    )
}

/// Client FIX config: Kraken conventions, no rollover; `reset` restarts sequences at logon.
pub fn client_fix(target: &str, reset: bool) -> Config {
    let mut c = Config::kraken_initiator("TESTCLIENT", target).unwrap();
    c.rollover = None;
    c.reset_on_logon = reset;
    c
}

/// The engine's market-data and trading session specs.
pub fn specs(
    tls: &tickwire_tls::ClientConfig,
    reset: bool,
) -> (SessionSpec<MemoryJournal>, SessionSpec<MemoryJournal>) {
    let mut md = SessionSpec::new(
        SocketAddrV4::new(VENUE, MD_PORT),
        tls.clone(),
        SERVER_NAME,
        client_fix("KRAKEN-MD", reset),
        MemoryJournal::new(64, 512),
    );
    md.book = Some(engine::BookSpec {
        depth: 10,
        price_scale: 1,
        qty_scale: 8,
    });
    let trd = SessionSpec::new(
        SocketAddrV4::new(VENUE, TRD_PORT),
        tls.clone(),
        SERVER_NAME,
        client_fix("KRAKEN-TRD", reset),
        MemoryJournal::new(1 << 14, 512),
    );
    (md, trd)
}

/// Engine configuration for the client end.
pub fn engine_config() -> engine::Config {
    engine::Config {
        stack: StackConfig {
            address: CLIENT,
            connections: 2,
            ..StackConfig::default()
        },
        backoff: engine::Backoff {
            initial: std::time::Duration::from_millis(50),
            max: std::time::Duration::from_millis(400),
        },
        ..engine::Config::default()
    }
}

pub fn allow(ip: Ipv4Addr) -> tickwire_dataplane::allowlist::Live {
    allowlist::live(Allowlist::new(&[ip]).unwrap()).1
}

/// One listening venue session: the FIX acceptor survives connections.
pub struct VenueSession {
    pub port: u16,
    pub link: Option<Link<MemoryJournal>>,
    /// The acceptor while no connection is set up.
    spare: Option<Session<MemoryJournal>>,
    /// Connections accepted.
    pub accepted: u64,
}

impl VenueSession {
    fn new(port: u16, fix: Session<MemoryJournal>) -> VenueSession {
        VenueSession {
            port,
            link: None,
            spare: Some(fix),
            accepted: 0,
        }
    }

    pub fn fix(&self) -> &Session<MemoryJournal> {
        match (&self.link, &self.spare) {
            (Some(l), _) => &l.fix,
            (None, Some(f)) => f,
            (None, None) => unreachable!("a venue session always has its FIX session"),
        }
    }

    pub fn fix_mut(&mut self) -> &mut Session<MemoryJournal> {
        match (&mut self.link, &mut self.spare) {
            (Some(l), _) => &mut l.fix,
            (None, Some(f)) => f,
            (None, None) => unreachable!("a venue session always has its FIX session"),
        }
    }

    pub fn is_active(&self) -> bool {
        self.link
            .as_ref()
            .is_some_and(|l| l.fix.state() == State::Active)
    }

    /// Drops the connection's TLS and TCP; keeps the FIX session for the next one.
    fn take_back(&mut self, stack: &mut Stack<MemNic>, abort: bool) {
        if let Some(link) = self.link.take() {
            if abort {
                stack.abort(link.conn);
            } else {
                stack.release(link.conn);
            }
            let Link { mut fix, .. } = link;
            fix.handle_disconnected();
            self.spare = Some(fix);
        }
    }

    fn listen(&mut self, stack: &mut Stack<MemNic>, tls: &tickwire_tls::ServerConfig) {
        if self.link.is_some() {
            return;
        }
        let Some(fix) = self.spare.take() else {
            return;
        };
        let conn: ConnId = stack.listen(self.port).unwrap();
        let server =
            tickwire_tls::Session::server(tls, tickwire_tls::Capacities::default()).unwrap();
        self.link = Some(Link::new(conn, server, fix));
        self.accepted += 1;
    }
}

/// A small market-data feed: a snapshot, then incrementals moving the best ask; every
/// `fire_every`-th tick puts the ask at or below [`TRIGGER`].
pub struct Feed {
    rng: u64,
    last: Option<(i64, i64)>,
    pub fire_every: u64,
    pub ticks: u64,
}

impl Feed {
    pub fn new(fire_every: u64) -> Feed {
        Feed {
            rng: 0x2545_f491_4f6c_dd1d,
            last: None,
            fire_every: fire_every.max(1),
            ticks: 0,
        }
    }

    /// The next tick is a snapshot (35=W) again.
    pub fn restart(&mut self) {
        self.last = None;
    }

    /// True when tick `n` (1-based) puts the ask at or below the trigger.
    pub fn fires(&self, n: u64) -> bool {
        n % self.fire_every == 0
    }

    fn publish(&mut self, md: &mut Session<MemoryJournal>, now: UtcTimestamp) {
        self.ticks += 1;
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let jitter = (self.rng % 4) as i64;
        let ask = if self.fires(self.ticks) {
            TRIGGER - jitter
        } else {
            TRIGGER + 1 + jitter
        };
        let bid = TRIGGER - 10 - jitter;
        let level = |e: &mut tickwire_fix::encode::Encoder<'_>,
                     action: Option<&[u8]>,
                     side: &[u8],
                     px: i64,
                     size: &[u8]| {
            if let Some(a) = action {
                e.field(279, a);
            }
            e.field(269, side)
                .decimal(270, Decimal::new(px, 1))
                .field(271, size);
        };
        match self.last.replace((ask, bid)) {
            None => md.send_app(now, b"W", |e| {
                e.field(55, b"BTC/USD")
                    .field(262, b"MD-BTCUSD-1")
                    .uint(268, 2);
                level(e, None, b"1", ask, b"0.5");
                level(e, None, b"0", bid, b"0.75");
            }),
            Some((old_ask, old_bid)) => md.send_app(now, b"X", |e| {
                e.field(55, b"BTC/USD")
                    .field(262, b"MD-BTCUSD-1")
                    .uint(268, 4);
                level(e, Some(b"2"), b"1", old_ask, b"0");
                level(e, Some(b"2"), b"0", old_bid, b"0");
                level(e, Some(b"0"), b"1", ask, b"0.5");
                level(e, Some(b"0"), b"0", bid, b"0.75");
            }),
        }
        .unwrap();
    }
}

/// What the venue checked in each order it received.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OrderCheck {
    /// Orders whose fields were all as the template says.
    pub well_formed: u64,
    /// Orders with any field off.
    pub malformed: u64,
}

/// The body of an inbound message as `tag=value|…` (header and trailer left out): what the
/// tests compare requests with.
pub fn body_text(m: &Message<'_>) -> String {
    const HEADER: [u32; 12] = [8, 9, 35, 34, 49, 56, 52, 43, 97, 122, 115, 128];
    let mut out = String::new();
    for f in m.fields() {
        if HEADER.contains(&f.tag) || f.tag == 10 {
            continue;
        }
        if !out.is_empty() {
            out.push('|');
        }
        out.push_str(&format!(
            "{}={}",
            f.tag,
            String::from_utf8_lossy(m.value(*f))
        ));
    }
    out
}

/// The venue end: stack, the two sessions, a feed, a filling desk.
pub struct Venue {
    pub stack: Stack<MemNic>,
    pub md: VenueSession,
    pub trd: VenueSession,
    tls: tickwire_tls::ServerConfig,
    pub feed: Feed,
    /// ClOrdIDs of the orders received, in order (reserved up front).
    pub orders: Vec<u64>,
    pub check: OrderCheck,
    /// MsgSeqNum of every Logon received on the trading session.
    pub trd_logon_seqs: Vec<u64>,
    /// Bodies of the MarketDataRequests (35=V) received on the market-data session
    /// ([`body_text`]); each restarts the feed with a snapshot.
    pub md_requests: Vec<String>,
    /// Bodies of the OrderMassCancelRequests (35=q) received on the trading session.
    pub mass_cancels: Vec<String>,
    /// Bodies of the OrderCancelRequests (35=F) received on the trading session.
    pub cancels: Vec<String>,
    /// Every MsgType received on the trading session after logon, in order (app messages).
    pub trd_app_types: Vec<u8>,
    pending_fills: Box<[u64; 4096]>,
    pending: usize,
    /// Listen again after a connection ends.
    pub relisten: bool,
}

fn acceptor(sender: &str, reset: bool) -> Session<MemoryJournal> {
    let mut v = Config::kraken_initiator(sender, "TESTCLIENT").unwrap();
    v.role = Role::Acceptor;
    v.resend_policy = ResendPolicy::ReplayApplication;
    v.rollover = None;
    v.reset_on_logon = reset;
    Session::new(v, MemoryJournal::new(1 << 14, 512), Capacities::default())
}

impl Venue {
    pub fn new(
        nic: MemNic,
        tls: tickwire_tls::ServerConfig,
        fire_every: u64,
        reset: bool,
    ) -> Venue {
        let mut stack = Stack::new(
            nic,
            allow(CLIENT),
            StackConfig {
                address: VENUE,
                connections: 4,
                ..StackConfig::default()
            },
            0,
        );
        let mut md = VenueSession::new(MD_PORT, acceptor("KRAKEN-MD", reset));
        let mut trd = VenueSession::new(TRD_PORT, acceptor("KRAKEN-TRD", reset));
        md.listen(&mut stack, &tls);
        trd.listen(&mut stack, &tls);
        Venue {
            stack,
            md,
            trd,
            tls,
            feed: Feed::new(fire_every),
            orders: Vec::with_capacity(1 << 20),
            check: OrderCheck::default(),
            trd_logon_seqs: Vec::with_capacity(64),
            md_requests: Vec::with_capacity(64),
            mass_cancels: Vec::with_capacity(64),
            cancels: Vec::with_capacity(64),
            trd_app_types: Vec::with_capacity(1 << 20),
            pending_fills: Box::new([0; 4096]),
            pending: 0,
            relisten: true,
        }
    }

    /// Publishes one tick on the market-data session (it must be logged on).
    pub fn tick(&mut self, now: Now) {
        let link = self.md.link.as_mut().unwrap();
        self.feed.publish(&mut link.fix, now.utc);
    }

    /// Resets the trading connection (RST) and, unless `relisten`, stops listening.
    pub fn abort_trading(&mut self, now: Now) {
        self.trd.take_back(&mut self.stack, true);
        self.stack.poll(now.mono_ns);
    }

    /// Resets the market-data connection (RST); it listens again on the next poll.
    pub fn abort_market_data(&mut self, now: Now) {
        self.md.take_back(&mut self.stack, true);
        self.stack.poll(now.mono_ns);
    }

    /// Starts listening on the trading port again.
    pub fn listen_trading(&mut self) {
        self.trd.listen(&mut self.stack, &self.tls);
    }

    /// One venue cycle: receive, fill new orders, send, timers.
    pub fn poll(&mut self, now: Now) {
        self.stack.poll(now.mono_ns);
        let Venue {
            stack,
            md,
            trd,
            tls,
            orders,
            check,
            trd_logon_seqs,
            md_requests,
            mass_cancels,
            cancels,
            trd_app_types,
            pending_fills,
            pending,
            relisten,
            feed,
        } = self;
        for (which, vs) in [(0, &mut *md), (1, &mut *trd)] {
            let Some(link) = vs.link.as_mut() else {
                if *relisten {
                    vs.listen(stack, tls);
                }
                continue;
            };
            let r = link.pump(stack, now.utc, &mut |m: &Message<'_>| {
                if which == 0 && m.msg_type() == b"V" {
                    md_requests.push(body_text(m));
                    feed.restart();
                }
                if which == 1 {
                    trd_app_types.push(m.msg_type().first().copied().unwrap_or(b'?'));
                }
                if which == 1 && m.msg_type() == b"q" {
                    mass_cancels.push(body_text(m));
                }
                if which == 1 && m.msg_type() == b"F" {
                    cancels.push(body_text(m));
                }
                if which == 1 && m.msg_type() == b"D" {
                    let ok = m.field(55) == Some(b"BTC/USD".as_slice())
                        && m.field(54) == Some(b"1".as_slice())
                        && m.field(40) == Some(b"2".as_slice())
                        && m.field(59) == Some(b"3".as_slice())
                        && m.field(44) == Some(b"84000.0".as_slice())
                        && m.field(38) == Some(b"0.01".as_slice());
                    if ok {
                        check.well_formed += 1;
                    } else {
                        check.malformed += 1;
                    }
                    let id = m
                        .field(11)
                        .and_then(|v| std::str::from_utf8(v).ok())
                        .and_then(|s| s.parse::<u64>().ok())
                        .unwrap_or(0);
                    orders.push(id);
                    if *pending < pending_fills.len() {
                        pending_fills[*pending] = id;
                        *pending += 1;
                    }
                }
            });
            if which == 1 {
                // Logon MsgSeqNums, from the session's own view: the next expected inbound
                // sequence after the Logon was accepted.
                while let Some(ev) = link.fix.poll_event() {
                    if let tickwire_fix::session::Event::LoggedOn { .. } = ev {
                        trd_logon_seqs.push(link.fix.journal().next_target_seq());
                    }
                }
            } else {
                while link.fix.poll_event().is_some() {}
            }
            if stack.state(link.conn) == ConnState::PeerClosed {
                stack.close(link.conn);
            }
            if r.is_err() {
                vs.take_back(stack, false);
                if *relisten {
                    vs.listen(stack, tls);
                }
            }
        }
        // Fill what arrived; what the session cannot take now (transmit queue full) waits.
        let mut filled = 0;
        if let Some(link) = trd.link.as_mut() {
            for &id in &pending_fills[..*pending] {
                let mut text = [0u8; 20];
                let w = tickwire_fix::encode::write_u64(&mut text, id).unwrap();
                let sent = link.fix.send_app(now.utc, b"8", |e| {
                    e.field(37, b"O3KQ7T-XH2LM-ZP4WUA")
                        .field(11, &text[..w])
                        .field(17, b"SIMX")
                        .field(150, b"F")
                        .field(39, b"2")
                        .field(55, b"BTC/USD")
                        .field(54, b"1")
                        .field(31, b"84000.0")
                        .field(32, b"0.01")
                        .field(151, b"0")
                        .field(14, b"0.01")
                        .field(6, b"84000.0");
                });
                if sent.is_err() {
                    break;
                }
                filled += 1;
            }
        }
        pending_fills.copy_within(filled..*pending, 0);
        *pending -= filled;
        for vs in [&mut *md, &mut *trd] {
            if let Some(link) = vs.link.as_mut() {
                let _ = link.flush(stack, now.utc);
                link.fix.handle_timeout(now.utc);
            }
        }
        stack.poll(now.mono_ns);
    }
}

/// The engine's NIC: its end of the in-memory pair, stamped where a frame comes in and where
/// one goes out ([`StampNic`], read by the engine bench).
pub type ClientNic = StampNic<mem::MemNic>;

pub type ClientEngine<S = ThresholdBuy, R = AcceptAll> = Engine<ClientNic, MemoryJournal, S, R>;

/// The clock the stamps read: the TSC, calibrated once per test process.
pub fn stamp_clock() -> Clock {
    static CLOCK: std::sync::OnceLock<Clock> = std::sync::OnceLock::new();
    *CLOCK.get_or_init(|| Clock::calibrate(std::time::Duration::from_millis(10)).0)
}

/// The engine (client) and the venue on the two ends of one in-memory NIC pair.
pub struct Rig<S: Strategy = ThresholdBuy, R: PreTrade = AcceptAll> {
    pub engine: ClientEngine<S, R>,
    pub venue: Venue,
    pub md: SessionId,
    pub trd: SessionId,
    /// The buy IOC 0.01 BTC/USD template on the trading session.
    pub order: OrderId,
    pub t: i64,
    /// Replaces the engine's allowlist at run time.
    pub allowlist: allowlist::Publisher,
    /// The engine's command queue.
    pub commands: Commands,
}

impl Rig<ThresholdBuy> {
    pub fn new(fire_every: u64, reset: bool) -> Rig {
        let strategy = ThresholdBuy::new(TRIGGER, Decimal::new(TRIGGER, 1), Decimal::new(1, 2));
        let mut rig = Rig::build(fire_every, reset, strategy, |_, _| {});
        rig.engine.strategy_mut().order = Some(rig.order);
        rig
    }
}

impl<S: Strategy> Rig<S> {
    /// A rig running `strategy`; `customize` adjusts the market-data and trading specs.
    pub fn build(
        fire_every: u64,
        reset: bool,
        strategy: S,
        customize: impl FnOnce(&mut SessionSpec<MemoryJournal>, &mut SessionSpec<MemoryJournal>),
    ) -> Rig<S> {
        Rig::build_with_risk(fire_every, reset, strategy, AcceptAll, customize)
    }
}

impl<S: Strategy, R: PreTrade> Rig<S, R> {
    /// A rig running `strategy` behind the pre-trade check `risk`.
    pub fn build_with_risk(
        fire_every: u64,
        reset: bool,
        strategy: S,
        risk: R,
        customize: impl FnOnce(&mut SessionSpec<MemoryJournal>, &mut SessionSpec<MemoryJournal>),
    ) -> Rig<S, R> {
        let (client_tls, server_tls) = pki();
        let (a, b) = mem::pair(1024, [2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
        let venue = Venue::new(b, server_tls, fire_every, reset);
        let (publisher, live) = allowlist::live(Allowlist::new(&[VENUE]).unwrap());
        let (mut engine, commands) = Engine::with_risk(
            StampNic::new(a, stamp_clock()),
            live,
            engine_config(),
            strategy,
            risk,
            Shared::in_memory(),
            at(0),
        );
        let (mut md_spec, mut trd_spec) = specs(&client_tls, reset);
        customize(&mut md_spec, &mut trd_spec);
        let md = engine.add_session(md_spec, at(0)).unwrap();
        let trd = engine.add_session(trd_spec, at(0)).unwrap();
        let shape = OrderShape {
            tif: TimeInForce::ImmediateOrCancel,
            ..OrderShape::limit(b"BTC/USD", Side::Buy)
        };
        let order = engine.add_order(trd, &shape).unwrap();
        Rig {
            engine,
            venue,
            md,
            trd,
            order,
            t: 0,
            allowlist: publisher,
            commands,
        }
    }

    /// One step: 20 µs of synthetic time, the engine's cycle, the venue's cycle.
    pub fn step(&mut self) {
        self.t += 20_000;
        self.engine.do_work(at(self.t));
        self.venue.poll(at(self.t));
    }

    pub fn run_until(
        &mut self,
        what: &str,
        limit: u64,
        mut done: impl FnMut(&mut Rig<S, R>) -> bool,
    ) {
        for _ in 0..limit {
            if done(self) {
                return;
            }
            self.step();
        }
        panic!(
            "{what}: not reached after {limit} steps; md {:?} trd {:?}, last teardown {:?}",
            self.engine.phase(self.md),
            self.engine.phase(self.trd),
            self.engine.last_teardown(self.trd)
        );
    }

    pub fn log_on(&mut self) {
        self.run_until("both sessions logged on", 20_000, |r| {
            r.engine.phase(r.md) == Some(Phase::Active)
                && r.engine.phase(r.trd) == Some(Phase::Active)
                && r.venue.md.is_active()
                && r.venue.trd.is_active()
        });
    }

    /// Publishes `n` ticks, each followed by enough steps for the order and its fill.
    pub fn ticks(&mut self, n: u64) {
        for _ in 0..n {
            self.venue.tick(at(self.t));
            for _ in 0..4 {
                self.step();
            }
        }
        for _ in 0..50 {
            self.step();
        }
    }
}
