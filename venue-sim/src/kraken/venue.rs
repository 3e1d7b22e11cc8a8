//! The sans-IO core of the Kraken profile: connections, logon checks, FIX sessions, the
//! engines and the routing of their events. See the module documentation of
//! [`crate::kraken`] for the data flow.

use std::collections::HashMap;

use hdrhistogram::Histogram;

use tickwire_fix::encode::{EncodeError, Encoder};
use tickwire_fix::kraken::Credentials;
use tickwire_fix::message::{frame, FieldIndex, FrameLimits, Message};
use tickwire_fix::outbound::venue::{self as out, Stamp};
use tickwire_fix::session::{
    Capacities, Config as SessionCfg, Event as SessionEvent, HeaderOrder, Journal, ResendPolicy,
    Role, Session, ShortText, State,
};
use tickwire_fix::time::UtcTimestamp;

use super::journal::VenueJournal;
use super::market::Sim;
use super::md::{self, Subscription};
use super::md_l3;
use super::replay::{Feed, Player};
use super::{Config, Port, LOGON_FAILED};
use crate::engine::{
    AccountConfig, AccountId, AmendRequest, CancelRequest, Engine, Event, ExecInst, ExecReport,
    MassCancelRequest, MassCancelScope, NewOrder, OrdType, PublicTrade, Reject, RejectMessage,
    ReportText, SessionConfig, SessionId, Side, StatusRequest, StpMode, TimeInForce, TriggerRef,
};

/// Largest inbound message before logon.
const MAX_LOGON_LEN: usize = 4096;

/// A connection handed out by [`Venue::handle_connect`]. Stale ids (of closed connections)
/// are ignored by every call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConnId {
    index: u32,
    generation: u32,
}

/// Why a connection was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnError {
    /// `max_connections` are open.
    Full,
    /// The port's venue (Derivatives) is not configured.
    PortDisabled,
}

impl core::fmt::Display for ConnError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Full => "connection limit reached",
            Self::PortDisabled => "venue not configured for this port",
        })
    }
}

impl std::error::Error for ConnError {}

/// Counters for the control plane and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Logons accepted.
    pub logons: u64,
    /// Logons refused with `Logon failed: invalid credentials`.
    pub logon_failures: u64,
    /// Connections closed without a Logout (bad CompIDs, not a Logon first).
    pub silent_closes: u64,
    /// ExecutionReports sent.
    pub reports: u64,
    /// BusinessMessageRejects and engine session Rejects sent.
    pub rejects: u64,
    /// Market-data messages (W, X, Y) sent.
    pub md_messages: u64,
    /// Requests the synthetic market sent to the engine.
    pub market_requests: u64,
    /// Sessions disconnected because their transmit queue was full (slow consumers).
    pub slow_consumers: u64,
}

/// Logon options that apply once the session is up.
#[derive(Debug, Clone, Copy)]
struct LogonOpts {
    cancel_on_disconnect: bool,
    reset_clordids: bool,
}

#[derive(Debug)]
pub(crate) struct Conn {
    generation: u32,
    port: Port,
    pre: Vec<u8>,
    pre_out: Vec<u8>,
    pub(crate) fix: Option<Session<VenueJournal>>,
    client: usize,
    engine_session: Option<SessionId>,
    opts: LogonOpts,
    closing: bool,
    /// Set while the connection is being torn down: cancel-on-disconnect reports go here.
    closed_journal: Option<VenueJournal>,
    pub(crate) subs: Vec<Subscription>,
    pub(crate) l3_subs: Vec<md_l3::L3Subscription>,
    /// MsgSeqNum of the application message being handled (RefSeqNum of rejects).
    last_seq: u64,
}

/// One of the two engines with the account of every client.
#[derive(Debug)]
pub(crate) struct Book {
    pub(crate) engine: Engine,
    accounts: Vec<AccountId>,
}

/// The Kraken profile's core. See [`crate::kraken`].
#[derive(Debug)]
pub struct Venue {
    cfg: Config,
    creds: Vec<Credentials>,
    last_nonce: Vec<u64>,
    books: [Option<Book>; 2],
    conns: Vec<Option<Conn>>,
    generations: Vec<u32>,
    by_session: HashMap<(usize, SessionId), usize>,
    saved: HashMap<(usize, Port), VenueJournal>,
    inbox: Vec<u8>,
    inbox_ends: Vec<usize>,
    touched: Vec<(usize, crate::engine::InstrumentId)>,
    trades: Vec<(usize, PublicTrade)>,
    market: Option<Feed>,
    stats: Stats,
    md_scratch: md::Scratch,
    md_l3_scratch: md_l3::Scratch,
    /// Per client: when its market-data session was last sent something.
    last_tick_ns: Vec<i64>,
    /// Per client: tick sent → NewOrderSingle received, nanoseconds.
    tick_to_order: Vec<Option<Histogram<u64>>>,
}

/// Why the venue could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildError {
    /// An engine refused its instruments or capacities.
    Engine(crate::engine::BuildError),
    /// A client's secret is not base64.
    Secret(String),
    /// A client's CompID is not a usable FIX identifier.
    CompId(String),
    /// More clients than `max_accounts`.
    TooManyClients,
    /// The synthetic market's or the replay's symbols or precisions do not fit the engine, it
    /// cannot open its sessions, or both were configured.
    Market(String),
}

impl core::fmt::Display for BuildError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Engine(e) => write!(f, "engine: {e}"),
            Self::Secret(c) => write!(f, "client {c}: API secret is not base64"),
            Self::CompId(c) => write!(f, "CompID {c:?} is not usable"),
            Self::TooManyClients => f.write_str("more clients than the engine's max_accounts"),
            Self::Market(e) => write!(f, "market feed: {e}"),
        }
    }
}

impl std::error::Error for BuildError {}

fn venue_index(port: Port) -> usize {
    match port.venue() {
        crate::engine::Venue::Spot => 0,
        crate::engine::Venue::Derivatives => 1,
    }
}

impl Venue {
    /// Builds the engines, registers every client and starts the synthetic market.
    ///
    /// # Errors
    /// [`BuildError`].
    pub fn new(cfg: Config, now: UtcTimestamp) -> Result<Venue, BuildError> {
        let mut creds = Vec::with_capacity(cfg.clients.len());
        for c in &cfg.clients {
            ShortText::new(&c.comp_id).map_err(|_| BuildError::CompId(c.comp_id.clone()))?;
            if let Some(d) = &c.derivatives_comp_id {
                ShortText::new(d).map_err(|_| BuildError::CompId(d.clone()))?;
            }
            creds.push(
                Credentials::new(&c.api_key, &c.api_secret)
                    .map_err(|_| BuildError::Secret(c.comp_id.clone()))?,
            );
        }
        let mk = |ecfg: crate::engine::Config,
                  specs: Vec<crate::engine::InstrumentSpec>|
         -> Result<Book, BuildError> {
            let mut engine = Engine::new(ecfg, specs).map_err(BuildError::Engine)?;
            let mut accounts = Vec::new();
            for c in &cfg.clients {
                accounts.push(
                    engine
                        .add_account(AccountConfig {
                            tier: c.tier,
                            ..AccountConfig::default()
                        })
                        .map_err(|_| BuildError::TooManyClients)?,
                );
            }
            Ok(Book { engine, accounts })
        };
        let mut spot = mk(cfg.spot.clone(), cfg.spot_instruments.clone())?;
        let drv = match &cfg.derivatives {
            Some((c, s)) => Some(mk(c.clone(), s.clone())?),
            None => None,
        };
        let market = match (&cfg.market, &cfg.replay) {
            (Some(_), Some(_)) => {
                return Err(BuildError::Market(
                    "a synthetic market and a replay cannot run together".into(),
                ))
            }
            (Some(m), None) => Some(Feed::Synthetic(
                Sim::new(m, &mut spot.engine, now).map_err(BuildError::Market)?,
            )),
            (None, Some(r)) => Some(Feed::Replay(
                Player::new(r, &mut spot.engine, now).map_err(BuildError::Market)?,
            )),
            (None, None) => None,
        };
        let n = cfg.max_connections;
        let mut v = Venue {
            last_nonce: vec![0; cfg.clients.len()],
            creds,
            books: [Some(spot), drv],
            conns: (0..n).map(|_| None).collect(),
            generations: vec![0; n],
            by_session: HashMap::with_capacity(n * 2),
            saved: HashMap::new(),
            inbox: Vec::with_capacity(64 * 1024),
            inbox_ends: Vec::with_capacity(256),
            touched: Vec::with_capacity(64),
            trades: Vec::with_capacity(64),
            market,
            stats: Stats::default(),
            md_scratch: md::Scratch::default(),
            md_l3_scratch: md_l3::Scratch::default(),
            last_tick_ns: vec![0; cfg.clients.len()],
            tick_to_order: (0..cfg.clients.len()).map(|_| None).collect(),
            cfg,
        };
        v.drain(now);
        Ok(v)
    }

    /// Counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The client's tick-sent → order-received latency: for every NewOrderSingle, the time
    /// since the venue last sent that client's market-data session anything (nanoseconds,
    /// at the driver's clock resolution). `None` before the first such order.
    pub fn tick_to_order(&self, comp_id: &str) -> Option<&Histogram<u64>> {
        let i = self.cfg.clients.iter().position(|c| {
            c.comp_id == comp_id || c.derivatives_comp_id.as_deref() == Some(comp_id)
        })?;
        self.tick_to_order[i].as_ref()
    }

    /// Forgets the latency histograms (e.g. after a warm-up).
    pub fn reset_latency(&mut self) {
        for h in self.tick_to_order.iter_mut().flatten() {
            h.reset();
        }
    }

    /// The Spot engine (inspection, status changes, index prices).
    pub fn spot_engine(&mut self) -> &mut Engine {
        match &mut self.books[0] {
            Some(b) => &mut b.engine,
            None => unreachable!("the Spot engine always exists"),
        }
    }

    /// Connections currently open.
    pub fn connections(&self) -> usize {
        self.conns.iter().filter(|c| c.is_some()).count()
    }

    /// Logged-on sessions on `port`.
    pub fn sessions_on(&self, port: Port) -> usize {
        self.conns
            .iter()
            .flatten()
            .filter(|c| {
                c.port == port && c.fix.as_ref().is_some_and(|f| f.state() == State::Active)
            })
            .count()
    }

    /// A transport connected on `port`.
    ///
    /// # Errors
    /// [`ConnError`].
    pub fn handle_connect(&mut self, port: Port, _now: UtcTimestamp) -> Result<ConnId, ConnError> {
        if self.books[venue_index(port)].is_none() {
            return Err(ConnError::PortDisabled);
        }
        let index = self
            .conns
            .iter()
            .position(Option::is_none)
            .ok_or(ConnError::Full)?;
        self.generations[index] = self.generations[index].wrapping_add(1);
        let generation = self.generations[index];
        self.conns[index] = Some(Conn {
            generation,
            port,
            pre: Vec::new(),
            pre_out: Vec::new(),
            fix: None,
            client: 0,
            engine_session: None,
            opts: LogonOpts {
                cancel_on_disconnect: true,
                reset_clordids: false,
            },
            closing: false,
            closed_journal: None,
            subs: Vec::new(),
            l3_subs: Vec::new(),
            last_seq: 0,
        });
        Ok(ConnId {
            index: index as u32,
            generation,
        })
    }

    fn index(&self, id: ConnId) -> Option<usize> {
        let i = id.index as usize;
        match self.conns.get(i) {
            Some(Some(c)) if c.generation == id.generation => Some(i),
            _ => None,
        }
    }

    /// What to write to the connection's transport now.
    pub fn transmit(&self, id: ConnId) -> &[u8] {
        let Some(i) = self.index(id) else {
            return &[];
        };
        let Some(c) = &self.conns[i] else {
            return &[];
        };
        if !c.pre_out.is_empty() {
            return &c.pre_out;
        }
        c.fix.as_ref().map_or(&[], |f| f.pending_transmit())
    }

    /// `n` bytes of [`Venue::transmit`] were written.
    pub fn consume_transmit(&mut self, id: ConnId, n: usize) {
        let Some(i) = self.index(id) else {
            return;
        };
        let Some(c) = &mut self.conns[i] else {
            return;
        };
        if !c.pre_out.is_empty() {
            c.pre_out.drain(..n.min(c.pre_out.len()));
        } else if let Some(f) = &mut c.fix {
            f.consume_transmit(n);
        }
    }

    /// True once the connection should be closed: after a Logout (or a refused logon) and
    /// once everything pending was transmitted. The driver closes the transport and then calls
    /// [`Venue::handle_closed`].
    pub fn wants_close(&self, id: ConnId) -> bool {
        let Some(i) = self.index(id) else {
            return true;
        };
        match &self.conns[i] {
            Some(c) => c.closing && self.transmit(id).is_empty(),
            None => true,
        }
    }

    /// Decrypted bytes arrived on the connection.
    pub fn handle_input(&mut self, id: ConnId, now: UtcTimestamp, bytes: &[u8]) {
        let Some(i) = self.index(id) else {
            return;
        };
        let Some(c) = &mut self.conns[i] else {
            return;
        };
        if c.closing {
            return;
        }
        if c.fix.is_none() {
            c.pre.extend_from_slice(bytes);
            if !self.try_logon(i, now) {
                return;
            }
            let Some(c) = &mut self.conns[i] else {
                return;
            };
            let pending = std::mem::take(&mut c.pre);
            self.feed(i, now, &pending);
        } else {
            self.feed(i, now, bytes);
        }
    }

    /// Drives heartbeats, test requests, rollover, engine timers (GTD, EffectiveTime) and the
    /// synthetic market. Call often (every loop iteration of the driver).
    pub fn handle_timeout(&mut self, now: UtcTimestamp) {
        for i in 0..self.conns.len() {
            let Some(c) = &mut self.conns[i] else {
                continue;
            };
            if let Some(f) = &mut c.fix {
                f.handle_timeout(now);
                self.session_events(i, now);
            }
        }
        for b in self.books.iter_mut().flatten() {
            b.engine.handle_time(now);
        }
        self.drain(now);
        if let Some(mut sim) = self.market.take() {
            let budget = sim.due(now);
            for _ in 0..budget {
                let Some(book) = self.books[0].as_mut() else {
                    break;
                };
                sim.act(&mut book.engine, now);
                self.stats.market_requests += 1;
                self.drain_with(now, Some(&mut sim));
            }
            self.market = Some(sim);
        }
    }

    /// The connection's transport is gone (closed by the peer, or by the driver after
    /// [`Venue::wants_close`]). Cancel-on-disconnect runs now; its reports are kept for a
    /// 141=N resume of the same client on the same port.
    pub fn handle_closed(&mut self, id: ConnId, now: UtcTimestamp) {
        let Some(i) = self.index(id) else {
            return;
        };
        let Some(c) = &mut self.conns[i] else {
            return;
        };
        let journal = c.fix.as_mut().map(|f| {
            f.handle_disconnected();
            std::mem::replace(f.journal_mut(), VenueJournal::market_data())
        });
        let (client, port, sid) = (c.client, c.port, c.engine_session);
        c.closed_journal = journal;
        c.closing = true;
        if let Some(sid) = sid {
            let v = venue_index(port);
            if let Some(b) = self.books[v].as_mut() {
                let _ = b.engine.handle_disconnect(sid, now);
            }
            self.drain(now);
            self.by_session.remove(&(v, sid));
        }
        if let Some(Some(c)) = self.conns.get_mut(i).map(Option::take) {
            if let (Some(j), true) = (c.closed_journal, c.fix.is_some()) {
                self.saved.insert((client, port), j);
            }
        }
    }

    // ---- logon -----------------------------------------------------------------------------

    /// Checks the first message; true once a session was created for the connection.
    fn try_logon(&mut self, i: usize, now: UtcTimestamp) -> bool {
        let Some(c) = &mut self.conns[i] else {
            return false;
        };
        let n = match frame(
            &c.pre,
            FrameLimits {
                max_message_len: MAX_LOGON_LEN,
            },
        ) {
            Ok(Some(n)) => n,
            Ok(None) if c.pre.len() < MAX_LOGON_LEN => return false,
            _ => {
                c.closing = true;
                self.stats.silent_closes += 1;
                return false;
            }
        };
        let raw = c.pre[..n].to_vec();
        let port = c.port;
        let mut idx = FieldIndex::<128>::new();
        let Ok(m) = Message::parse(&raw, &mut idx) else {
            c.closing = true;
            self.stats.silent_closes += 1;
            return false;
        };
        let sender = m.field(49).unwrap_or(b"");
        let client = self.cfg.clients.iter().position(|cl| {
            let id = if port.venue() == crate::engine::Venue::Spot {
                Some(cl.comp_id.as_str())
            } else {
                cl.derivatives_comp_id.as_deref()
            };
            id.is_some_and(|id| id.as_bytes() == sender)
        });
        let Some(client) = client
            .filter(|_| m.msg_type() == b"A" && m.field(56) == Some(port.comp_id().as_bytes()))
        else {
            c.closing = true;
            self.stats.silent_closes += 1;
            return false;
        };
        let seq = m.seq_num().unwrap_or(0);
        let creds_ok = !port.is_trading() || self.credentials_ok(client, port, &m, seq, now);
        let Some(c) = &mut self.conns[i] else {
            return false;
        };
        if !creds_ok {
            let mut buf = [0u8; 512];
            let stamp = Stamp {
                sender: port.comp_id().as_bytes(),
                target: sender,
                seq: 1,
                sending_time: now,
            };
            if let Ok(len) = out::logout(
                &mut Encoder::new(&mut buf),
                &stamp,
                Some(LOGON_FAILED.as_bytes()),
            ) {
                c.pre_out.extend_from_slice(&buf[..len]);
            }
            c.closing = true;
            self.stats.logon_failures += 1;
            return false;
        }
        let opts = LogonOpts {
            cancel_on_disconnect: m.field(8674) != Some(b"1"),
            reset_clordids: m.field(5030) == Some(b"Y"),
        };
        let reset = m.field(141) == Some(b"Y");
        let Some(cfg) = session_config(port, sender, &self.cfg) else {
            c.closing = true;
            return false;
        };
        let journal = match self.saved.remove(&(client, port)) {
            Some(j) if !reset => j,
            _ if port.is_trading() => VenueJournal::trading(self.cfg.trading_journal_slots, 1024),
            _ => VenueJournal::market_data(),
        };
        let mut fix = Session::new(cfg, journal, Capacities::default());
        fix.set_validator(super::validate::validate_kraken);
        fix.handle_connected(now);
        c.fix = Some(fix);
        c.client = client;
        c.opts = opts;
        true
    }

    fn credentials_ok(
        &mut self,
        client: usize,
        port: Port,
        m: &Message<'_>,
        seq: u64,
        now: UtcTimestamp,
    ) -> bool {
        let creds = &self.creds[client];
        if m.field(553) != Some(creds.api_key().as_bytes()) {
            return false;
        }
        let (Some(password), Ok(nonce)) = (m.field(554), m.uint(5025)) else {
            return false;
        };
        let now_ms = u64::try_from(now.as_millis()).unwrap_or(0);
        if nonce.abs_diff(now_ms) > self.cfg.nonce_window_ms || nonce <= self.last_nonce[client] {
            return false;
        }
        let sender = m.field(49).unwrap_or(b"");
        let target = port.comp_id().as_bytes();
        let ok = creds.verify(seq, sender, target, nonce, password)
            || (port == Port::DerivativesTrading
                && self.cfg.lenient_derivatives_target
                && creds.verify(seq, sender, b"KRAKEN-TRD", nonce, password));
        if ok {
            self.last_nonce[client] = nonce;
        }
        ok
    }

    // ---- sessions --------------------------------------------------------------------------

    fn feed(&mut self, i: usize, now: UtcTimestamp, bytes: &[u8]) {
        let mut inbox = std::mem::take(&mut self.inbox);
        let mut ends = std::mem::take(&mut self.inbox_ends);
        inbox.clear();
        ends.clear();
        if let Some(Some(c)) = self.conns.get_mut(i) {
            if let Some(f) = &mut c.fix {
                f.handle_input(now, bytes, &mut |m: &Message<'_>| {
                    inbox.extend_from_slice(m.bytes());
                    ends.push(inbox.len());
                });
            }
        }
        self.session_events(i, now);
        let mut start = 0;
        for &end in &ends {
            self.on_app(i, now, &inbox[start..end]);
            start = end;
        }
        self.drain(now);
        self.session_events(i, now);
        self.inbox = inbox;
        self.inbox_ends = ends;
    }

    fn session_events(&mut self, i: usize, now: UtcTimestamp) {
        loop {
            let Some(Some(c)) = self.conns.get_mut(i) else {
                return;
            };
            let Some(ev) = c.fix.as_mut().and_then(|f| f.poll_event()) else {
                return;
            };
            let v = venue_index(c.port);
            match ev {
                SessionEvent::LoggedOn { .. } => {
                    self.stats.logons += 1;
                    if !c.port.is_trading() || c.engine_session.is_some() {
                        continue;
                    }
                    let Some(b) = self.books[v].as_mut() else {
                        continue;
                    };
                    let account = b.accounts[c.client];
                    match b.engine.open_session(
                        account,
                        SessionConfig {
                            cancel_on_disconnect: c.opts.cancel_on_disconnect,
                        },
                    ) {
                        Ok(sid) => {
                            if c.opts.reset_clordids {
                                b.engine.reset_clordids(account);
                            }
                            c.engine_session = Some(sid);
                            self.by_session.insert((v, sid), i);
                        }
                        Err(_) => {
                            if let Some(f) = &mut c.fix {
                                let _ = f.send_logout(now, Some(b"EService:Unavailable"));
                            }
                            c.closing = true;
                        }
                    }
                }
                SessionEvent::Disconnect(_) => c.closing = true,
                SessionEvent::RejectSent { .. } => {
                    if let (Some(sid), Some(b)) = (c.engine_session, self.books[v].as_mut()) {
                        let _ = b.engine.note_error(sid, now);
                    }
                }
                SessionEvent::RolledOver => {
                    if let Some(b) = self.books[v].as_mut() {
                        let account = b.accounts[c.client];
                        b.engine.reset_clordids(account);
                    }
                    c.subs.clear();
                    c.l3_subs.clear();
                }
                _ => {}
            }
        }
    }

    fn on_app(&mut self, i: usize, now: UtcTimestamp, raw: &[u8]) {
        let mut idx = FieldIndex::<512>::new();
        let Ok(m) = Message::parse(raw, &mut idx) else {
            return;
        };
        let Some(Some(c)) = self.conns.get_mut(i) else {
            return;
        };
        c.last_seq = m.seq_num().unwrap_or(0);
        let v = venue_index(c.port);
        let Some(book) = self.books[v].as_mut() else {
            return;
        };
        let ty = m.msg_type();
        if !c.port.is_trading() {
            let port = c.port;
            match ty {
                b"V" => md::handle_request(
                    &book.engine,
                    c,
                    port,
                    &self.cfg.l3,
                    now,
                    &m,
                    &mut self.stats,
                ),
                b"x" => md::handle_instrument_list(&book.engine, c, now, &m),
                b"g" => md::handle_session_status(c.port, c, now, &m),
                _ => unsupported(c, now, &m, &mut self.stats),
            }
            return;
        }
        let Some(sid) = c.engine_session else {
            return;
        };
        if ty == b"D" {
            let client = c.client;
            let t = self.last_tick_ns[client];
            if t > 0 && now.nanos >= t {
                if self.tick_to_order[client].is_none() {
                    self.tick_to_order[client] =
                        Histogram::new_with_bounds(1, 60_000_000_000, 3).ok();
                }
                if let Some(h) = &mut self.tick_to_order[client] {
                    h.saturating_record((now.nanos - t).max(1) as u64);
                }
            }
        }
        let result = match ty {
            b"D" => new_order(&m).map(|o| book.engine.handle_new_order(sid, &o, now)),
            b"F" => cancel(&m).map(|r| book.engine.handle_cancel(sid, &r, now)),
            b"G" => amend(&m).map(|r| book.engine.handle_amend(sid, &r, now)),
            b"H" => Ok(book.engine.handle_status(
                sid,
                &StatusRequest {
                    cl_ord_id: m.field(11).unwrap_or(b""),
                    order_id: m.field(37),
                    symbol: m.field(55).unwrap_or(b""),
                },
                now,
            )),
            b"q" => mass_cancel(&m).map(|r| book.engine.handle_mass_cancel(sid, &r, now)),
            _ => {
                unsupported(c, now, &m, &mut self.stats);
                let _ = book.engine.note_error(sid, now);
                return;
            }
        };
        if let Err(bad) = result {
            let seq = c.last_seq;
            session_reject(c, now, seq, ty, bad.tag, bad.reason, bad.text);
            self.stats.rejects += 1;
            let _ = book.engine.note_error(sid, now);
        }
    }

    // ---- engine events ---------------------------------------------------------------------

    fn drain(&mut self, now: UtcTimestamp) {
        let mut sim = self.market.take();
        self.drain_with(now, sim.as_mut());
        if self.market.is_none() {
            self.market = sim;
        }
    }

    fn drain_with(&mut self, now: UtcTimestamp, mut sim: Option<&mut Feed>) {
        for v in 0..2 {
            while let Some(book) = self.books[v].as_mut() {
                let Some(ev) = book.engine.poll_event() else {
                    break;
                };
                let book = &*book;
                match ev {
                    Event::Report(r) => {
                        if let Some(s) = sim.as_deref_mut() {
                            if v == 0 && s.owns(r.session) {
                                s.on_report(&r);
                                continue;
                            }
                        }
                        if let Some(&i) = self.by_session.get(&(v, r.session)) {
                            if let Some(Some(c)) = self.conns.get_mut(i) {
                                if send_report(&book.engine, c, &r, now) {
                                    self.stats.reports += 1;
                                } else if c.closed_journal.is_none() {
                                    self.stats.slow_consumers += 1;
                                    c.closing = true;
                                }
                            }
                        }
                    }
                    Event::Reject(r) => {
                        if let Some(&i) = self.by_session.get(&(v, r.session)) {
                            if let Some(Some(c)) = self.conns.get_mut(i) {
                                send_reject(c, &r, now);
                                self.stats.rejects += 1;
                            }
                        }
                    }
                    Event::Book(b) => {
                        if !self.touched.contains(&(v, b.instrument)) {
                            self.touched.push((v, b.instrument));
                        }
                    }
                    Event::Trade(t) => self.trades.push((v, t)),
                    Event::Disconnect(d) => {
                        if let Some(&i) = self.by_session.get(&(v, d.session)) {
                            if let Some(Some(c)) = self.conns.get_mut(i) {
                                if let Some(f) = &mut c.fix {
                                    let _ = f.send_logout(now, Some(d.text.as_bytes()));
                                }
                                c.closing = true;
                            }
                        }
                    }
                }
            }
        }
        if self.touched.is_empty() && self.trades.is_empty() {
            return;
        }
        for c in self.conns.iter_mut().flatten() {
            if (c.subs.is_empty() && c.l3_subs.is_empty()) || c.closing {
                continue;
            }
            let v = venue_index(c.port);
            let Some(book) = self.books[v].as_ref() else {
                continue;
            };
            let before = self.stats.md_messages;
            if !md::publish(
                &book.engine,
                c,
                &self.touched,
                &self.trades,
                now,
                &mut self.stats,
                &mut self.md_scratch,
            ) || !md_l3::publish(
                &book.engine,
                c,
                &self.touched,
                now,
                &mut self.stats,
                &mut self.md_l3_scratch,
            ) {
                self.stats.slow_consumers += 1;
                c.closing = true;
            }
            if self.stats.md_messages != before {
                self.last_tick_ns[c.client] = now.nanos;
            }
        }
        self.touched.clear();
        self.trades.clear();
    }
}

fn session_config(port: Port, client: &[u8], cfg: &Config) -> Option<SessionCfg> {
    Some(SessionCfg {
        role: Role::Acceptor,
        begin_string: ShortText::new("FIX.4.4").ok()?,
        sender_comp_id: ShortText::new(port.comp_id()).ok()?,
        target_comp_id: ShortText::new(core::str::from_utf8(client).ok()?).ok()?,
        heartbeat_interval_s: 30,
        reset_on_logon: false,
        max_clock_skew_s: None,
        resend_policy: if port.is_trading() {
            ResendPolicy::ReplayApplication
        } else {
            ResendPolicy::GapFillAll
        },
        header_order: HeaderOrder::Kraken,
        rollover: cfg.rollover,
        test_request_id: ShortText::new("TR").ok()?,
        logout_timeout_s: 5,
        validate: true,
    })
}

/// Sends one application message the caller encodes completely (Kraken header included).
/// On a connection being torn down the message goes into its journal for a later resume.
pub(crate) fn send_with(
    c: &mut Conn,
    now: UtcTimestamp,
    encode: impl FnOnce(&mut Encoder<'_>, &Stamp<'_>) -> Result<usize, EncodeError>,
) -> bool {
    if let Some(j) = &mut c.closed_journal {
        let Some(f) = &c.fix else {
            return false;
        };
        let (s, t) = (f.config().sender_comp_id, f.config().target_comp_id);
        let seq = j.next_sender_seq();
        let mut buf = [0u8; 2048];
        let stamp = Stamp {
            sender: s.as_bytes(),
            target: t.as_bytes(),
            seq,
            sending_time: now,
        };
        let Ok(n) = encode(&mut Encoder::new(&mut buf), &stamp) else {
            return false;
        };
        if j.record_sent(seq, &buf[..n]).is_ok() {
            j.set_next_sender_seq(seq + 1);
        }
        return true;
    }
    let Some(f) = &mut c.fix else {
        return false;
    };
    let (s, t) = (f.config().sender_comp_id, f.config().target_comp_id);
    f.send_raw(now, |seq, buf| {
        let stamp = Stamp {
            sender: s.as_bytes(),
            target: t.as_bytes(),
            seq,
            sending_time: now,
        };
        encode(&mut Encoder::new(buf), &stamp)
    })
    .is_ok()
}

fn send_report(engine: &Engine, c: &mut Conn, r: &ExecReport, now: UtcTimestamp) -> bool {
    let Some(spec) = engine.instrument(r.instrument) else {
        return false;
    };
    let mut exec_id = [0u8; 32];
    let exec_len = write_exec_id(&mut exec_id, r.exec_id, engine.config().venue);
    let mut text = [0u8; 160];
    let text: Option<&[u8]> = match r.text {
        ReportText::None => None,
        ReportText::Static(s) => Some(s.as_bytes()),
        ReportText::Description => engine.write_description(r, &mut text).map(|n| &text[..n]),
    };
    let mut ei = [0u8; 11];
    let ei_len = r.exec_inst.write(&mut ei);
    let report = out::ExecutionReport {
        avg_px: r.avg_px,
        cl_ord_id: r.cl_ord_id.as_bytes(),
        cum_qty: r.cum_qty,
        exec_id: &exec_id[..exec_len],
        exec_inst: (ei_len > 0).then_some(&ei[..ei_len]),
        fill: r.fill.as_ref().map(|f| out::Fill {
            last_px: f.last_px,
            last_qty: f.last_qty,
            net_money: f.net_money,
            secondary_exec_id: Some(f.trade_seq),
            trade_id: Some(f.trade_id.as_bytes()),
            liquidity: Some(f.liquidity.code()),
        }),
        order_id: r.order_id.as_bytes(),
        order_qty: r.order_qty,
        ord_status: r.ord_status.code(),
        ord_type: r.ord_type,
        orig_cl_ord_id: r.orig_cl_ord_id.as_ref().map(|c| c.as_bytes()),
        price: r.price,
        side: r.side,
        symbol: spec.symbol.as_bytes(),
        text,
        tif: r.tif,
        transact_time: r.transact_time,
        alloc_account: None,
        stop_px: r.stop_px,
        expire_time: r.expire_time,
        fee: r.cum_fee.map(|amount| out::MiscFee {
            amount,
            currency: spec.quote.as_bytes(),
            fee_type: 4,
            basis: None,
        }),
        exec_type: r.exec_type.code(),
        leaves_qty: r.leaves_qty,
        restatement_reason: None,
        gross_trade_amt: r.gross_trade_amt,
        trigger_price: r.trigger_price,
        display_qty: r.display_qty,
    };
    send_with(c, now, |e, s| out::execution_report(e, s, &report))
}

/// `SIMX0000001:TRD001` (Spot) / `SIMD0000001:DRV001` (Derivatives): opaque and unique.
fn write_exec_id(buf: &mut [u8; 32], n: u64, venue: crate::engine::Venue) -> usize {
    use std::io::Write as _;
    let mut cur = std::io::Cursor::new(&mut buf[..]);
    let _ = match venue {
        crate::engine::Venue::Spot => write!(cur, "SIMX{n:07}:TRD001"),
        crate::engine::Venue::Derivatives => write!(cur, "SIMD{n:07}:DRV001"),
    };
    cur.position() as usize
}

fn send_reject(c: &mut Conn, r: &Reject, now: UtcTimestamp) {
    let seq = c.last_seq;
    let ty = [r.msg.code()];
    match r.message {
        RejectMessage::Business { reason } => {
            let id = r.ref_id.as_bytes();
            let rej = out::BusinessReject {
                ref_seq: seq,
                text: Some(r.text.as_bytes()),
                ref_msg_type: &ty,
                ref_id: (!id.is_empty()).then_some(id),
                reason,
            };
            send_with(c, now, |e, s| out::business_reject(e, s, &rej));
        }
        RejectMessage::Session { ref_tag, reason } => {
            session_reject(c, now, seq, &ty, ref_tag, reason, r.text);
        }
    }
}

pub(crate) fn session_reject(
    c: &mut Conn,
    now: UtcTimestamp,
    ref_seq: u64,
    ref_msg_type: &[u8],
    ref_tag: u32,
    reason: u32,
    text: &str,
) {
    let mut ty = [0u8; 8];
    let n = ref_msg_type.len().min(8);
    ty[..n].copy_from_slice(&ref_msg_type[..n]);
    let rej = out::SessionReject {
        ref_seq,
        ref_tag: Some(ref_tag),
        ref_msg_type: &ty[..n],
        reason,
        text: Some(text.as_bytes()),
    };
    send_with(c, now, |e, s| out::reject(e, s, &rej));
}

/// 35=j 380=3 for a message type this session does not take.
fn unsupported(c: &mut Conn, now: UtcTimestamp, m: &Message<'_>, stats: &mut Stats) {
    let seq = c.last_seq;
    let mut ty = [0u8; 8];
    let n = m.msg_type().len().min(8);
    ty[..n].copy_from_slice(&m.msg_type()[..n]);
    let id = m.field(11);
    let rej = out::BusinessReject {
        ref_seq: seq,
        text: Some(b"Unsupported Message Type"),
        ref_msg_type: &ty[..n],
        ref_id: id,
        reason: 3,
    };
    send_with(c, now, |e, s| out::business_reject(e, s, &rej));
    stats.rejects += 1;
}

// ---- request parsing -----------------------------------------------------------------------

/// A field the FIX layer refuses before the engine sees the request (35=3).
#[derive(Debug, Clone, Copy)]
struct BadField {
    tag: u32,
    reason: u32,
    text: &'static str,
}

fn missing(tag: u32) -> BadField {
    BadField {
        tag,
        reason: 1,
        text: super::validate::missing_text(tag),
    }
}

fn invalid(tag: u32) -> BadField {
    BadField {
        tag,
        reason: 5,
        text: super::validate::invalid_text(tag),
    }
}

fn format(tag: u32) -> BadField {
    BadField {
        tag,
        reason: 6,
        text: "Incorrect data format for value",
    }
}

fn req<'a>(m: &Message<'a>, tag: u32) -> Result<&'a [u8], BadField> {
    m.field(tag).ok_or(missing(tag))
}

fn side(m: &Message<'_>) -> Result<Side, BadField> {
    match req(m, 54)? {
        b"1" => Ok(Side::Buy),
        b"2" => Ok(Side::Sell),
        _ => Err(invalid(54)),
    }
}

fn ord_type(m: &Message<'_>) -> Result<OrdType, BadField> {
    Ok(match req(m, 40)? {
        b"1" => OrdType::Market,
        b"2" => OrdType::Limit,
        b"3" => OrdType::StopLoss,
        b"4" => OrdType::StopLossLimit,
        b"R" => OrdType::TakeProfit,
        b"T" => OrdType::TakeProfitLimit,
        b"U" => OrdType::TrailingStop,
        b"V" => OrdType::TrailingStopLimit,
        _ => return Err(invalid(40)),
    })
}

fn tif(m: &Message<'_>) -> Result<TimeInForce, BadField> {
    Ok(match m.field(59).unwrap_or(b"1") {
        b"1" => TimeInForce::GoodTillCancel,
        b"3" => TimeInForce::ImmediateOrCancel,
        b"4" => TimeInForce::FillOrKill,
        b"6" => TimeInForce::GoodTillDate,
        _ => return Err(invalid(59)),
    })
}

fn dec(m: &Message<'_>, tag: u32) -> Result<Option<tickwire_fix::decimal::Decimal>, BadField> {
    match m.field(tag) {
        None => Ok(None),
        Some(_) => m.decimal(tag).map(Some).map_err(|_| format(tag)),
    }
}

fn time(m: &Message<'_>, tag: u32) -> Result<Option<UtcTimestamp>, BadField> {
    match m.field(tag) {
        None => Ok(None),
        Some(_) => m.timestamp(tag).map(Some).map_err(|_| format(tag)),
    }
}

fn exec_inst(m: &Message<'_>) -> Result<ExecInst, BadField> {
    match m.field(18) {
        None => Ok(ExecInst::default()),
        Some(t) => ExecInst::parse(t).map_err(|_| invalid(18)),
    }
}

fn new_order<'a>(m: &Message<'a>) -> Result<NewOrder<'a>, BadField> {
    let qty = dec(m, 38)?.ok_or(missing(38))?;
    let trigger_ref = match m.field(388) {
        None => TriggerRef::Last,
        Some(_) => m
            .uint(388)
            .ok()
            .and_then(|c| TriggerRef::from_code(c as u32))
            .ok_or(invalid(388))?,
    };
    let stp = match m.field(7928) {
        None => None,
        Some(_) => Some(
            m.uint(7928)
                .ok()
                .and_then(|c| StpMode::from_code(c as u32))
                .ok_or(invalid(7928))?,
        ),
    };
    Ok(NewOrder {
        cl_ord_id: req(m, 11)?,
        symbol: req(m, 55)?,
        side: side(m)?,
        ord_type: ord_type(m)?,
        qty,
        price: dec(m, 44)?,
        stop_px: dec(m, 99)?,
        tif: tif(m)?,
        expire_time: time(m, 126)?,
        effective_time: time(m, 168)?,
        valid_until: time(m, 62)?,
        exec_inst: exec_inst(m)?,
        display_qty: dec(m, 1138)?,
        trigger_ref,
        leverage: m.field(5001) == Some(b"1"),
        stp,
    })
}

fn cancel<'a>(m: &Message<'a>) -> Result<CancelRequest<'a>, BadField> {
    let (order_id, orig) = (m.field(37), m.field(41));
    if order_id.is_none() && orig.is_none() {
        return Err(missing(41));
    }
    Ok(CancelRequest {
        cl_ord_id: req(m, 11)?,
        order_id,
        orig_cl_ord_id: orig,
        symbol: req(m, 55)?,
        side: side(m)?,
    })
}

fn amend<'a>(m: &Message<'a>) -> Result<AmendRequest<'a>, BadField> {
    Ok(AmendRequest {
        cl_ord_id: req(m, 11)?,
        order_id: m.field(37),
        orig_cl_ord_id: m.field(41),
        symbol: req(m, 55)?,
        side: side(m)?,
        ord_type: ord_type(m)?,
        tif: tif(m)?,
        qty: dec(m, 38)?.ok_or(missing(38))?,
        price: dec(m, 44)?,
        stop_px: dec(m, 99)?,
        display_qty: dec(m, 1138)?,
        post_only: exec_inst(m)?.post_only,
        valid_until: time(m, 62)?,
    })
}

fn mass_cancel<'a>(m: &Message<'a>) -> Result<MassCancelRequest<'a>, BadField> {
    let scope = m
        .uint(530)
        .map_err(|_| missing(530))
        .and_then(|c| MassCancelScope::from_code(c as u32).ok_or(invalid(530)))?;
    let symbol = m.field(55);
    if scope == MassCancelScope::SessionSymbol && symbol.is_none() {
        return Err(missing(55));
    }
    Ok(MassCancelRequest {
        cl_ord_id: req(m, 11)?,
        scope,
        symbol,
    })
}
