//! The engine: one duty-cycle loop that owns the NIC, the stack and every venue session.
//!
//! ```text
//! do_work(now) ─┬─ commands, allowlist updates (SPSC queues from the control plane)
//!               ├─ Stack::poll(now)                    NIC rx burst ─► allowlist ─► smoltcp
//!               ├─ for each session:                   Backoff ─► Connecting ─► Handshaking
//!               │    TCP ─► TLS open ─► FIX ─► book ─► Strategy ─► PreTrade ─► template ─► FIX
//!               │    └─ orders for other sessions go out now: FIX ─► TLS seal ─► TCP ─► transmit ─► poll
//!               ├─ timers (heartbeats, TestRequests, logon/logout timeouts) every `timer`
//!               └─ counters (shared memory)
//! ```
//!
//! Time is read once per cycle by the caller (a [`clock::Clock`](crate::clock::Clock)) and
//! passed down as [`Now`]; nothing in the engine reads a clock, sleeps, allocates or makes a
//! system call in steady state (the NIC's own doorbell aside). Each session is TCP
//! ([`ConnId`]) + TLS 1.3 client ([`tickwire_tls::Session`]) + FIX initiator
//! ([`tickwire_fix::session::Session`]), the layering of [`crate::link::Link`], plus what a
//! long-running appliance needs: connect with a timeout, reconnect with bounded exponential
//! backoff and seeded jitter, graceful logout, counters. The FIX session and its journal
//! outlive connections, so a reconnect resumes sequence numbers (unless the FIX config resets
//! them on logon, as Kraken recommends). Reconnecting allocates (a new TLS session); steady
//! state does not.
//!
//! Threads: [`runner`] is the only place in tickwire that spawns or pins threads. Tests and
//! in-process benchmarks call [`Engine::do_work`] themselves.

pub mod armed;
pub mod live_risk;
pub mod meter;
pub mod runner;
pub mod strategy;
pub(crate) mod sys;

use std::net::SocketAddrV4;
use std::time::Duration;

use tickwire_fix::book::Book;
use tickwire_fix::decimal::Decimal;
use tickwire_fix::encode::{EncodeError, Encoder};
use tickwire_fix::message::{frame_boundary, resync, FrameLimits, Message};
use tickwire_fix::outbound::{
    self, MarketDataShape, MassCancelScope, NewOrder, OrderRequest, OrderShape, Side, SlotWidths,
};
use tickwire_fix::session::{
    Capacities, Config as FixConfig, DisconnectReason, Event, HeaderOrder, Journal, Session,
    State as FixState,
};
use tickwire_fix::template::{Header, Layout, Template as FixTemplate, TemplateError};
use tickwire_fix::time::UtcTimestamp;
use tickwire_fix::views::{ErTable, ExecType, ExecutionReport, MarketData, MdTable};

use crate::allowlist::Live;
use crate::clock::Now;
use crate::counters::{self, bump, set, Shared};
use crate::msglog::{Direction, Tap};
use crate::nic::Nic;
use crate::stack::{ConnId, ConnState, Stack, StackConfig, StackError};
use meter::{Metered, RecordCounter};
pub use strategy::{
    AcceptAll, BookUpdate, Context, Idle, OrderError, OrderId, OrderIntent, PreTrade, Refusal,
    SessionChange, SessionId, Strategy, ThresholdBuy,
};

/// Largest plaintext put into one TLS record.
const RECORD_PLAINTEXT: usize = 16 * 1024 - 256;
/// Stop encrypting while this much ciphertext waits for TCP.
const MAX_QUEUED_CIPHERTEXT: usize = 16 * 1024;
/// Orders a strategy may queue for the session whose message is being handled.
const DEFERRED: usize = 64;

/// Reconnect delays: attempt `n` waits `min(max, initial · 2ⁿ)`, of which the upper half is
/// drawn from the engine's seeded generator ("equal jitter"), so sessions that dropped
/// together do not reconnect in lockstep and a test run is reproducible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Delay before the first retry.
    pub initial: Duration,
    /// Largest delay.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(30),
        }
    }
}

impl Backoff {
    /// The delay before retry `attempt` (0-based), in ns, with jitter from `random`.
    pub fn delay_ns(&self, attempt: u32, random: u64) -> i64 {
        let initial = self.initial.as_nanos().min(i64::MAX as u128) as i64;
        let max = self.max.as_nanos().min(i64::MAX as u128) as i64;
        let base = initial
            .saturating_mul(1i64 << attempt.min(40))
            .min(max)
            .max(1);
        let half = base / 2;
        half + (random % (base - half + 1) as u64) as i64
    }
}

/// Engine configuration, fixed at start-up.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// The userspace stack (address, gateway, connection slots, buffers).
    pub stack: StackConfig,
    /// Reconnect delays.
    pub backoff: Backoff,
    /// How long a TCP connect + TLS handshake + logon may take before it is abandoned.
    pub connect_timeout: Duration,
    /// How long a graceful close (logout answered, FIN) may take before the connection is reset.
    pub close_timeout: Duration,
    /// How often session timers run (heartbeats, TestRequests, timeouts).
    pub timer: Duration,
    /// Seed of the jitter generator.
    pub seed: u64,
    /// Capacity of the command queue.
    pub commands: usize,
    /// Capacity of the order-template table.
    pub templates: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            stack: StackConfig::default(),
            backoff: Backoff::default(),
            connect_timeout: Duration::from_secs(10),
            close_timeout: Duration::from_secs(2),
            timer: Duration::from_millis(1),
            seed: 0x7469_636b_7769_7265,
            commands: 64,
            templates: 16,
        }
    }
}

/// A market-data session keeps an L2 book of one instrument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookSpec {
    /// Levels per side.
    pub depth: usize,
    /// PricePrecision (2349).
    pub price_scale: u8,
    /// QtyPrecision (5010).
    pub qty_scale: u8,
}

/// Extra Logon fields (Kraken credentials): gets the Logon's MsgSeqNum.
pub type LogonFields = Box<dyn FnMut(u64, &mut Encoder<'_>) + Send>;

/// Everything needed to run one venue session.
pub struct SessionSpec<J: Journal> {
    /// The venue's address.
    pub remote: SocketAddrV4,
    /// TLS client configuration (roots, pins, versions).
    pub tls: tickwire_tls::ClientConfig,
    /// Name for SNI and certificate verification.
    pub server_name: String,
    /// TLS buffer sizes.
    pub tls_capacities: tickwire_tls::Capacities,
    /// FIX session configuration (initiator).
    pub fix: FixConfig,
    /// Where sequence numbers and sent messages are kept (survives reconnects).
    pub journal: J,
    /// FIX buffer sizes.
    pub fix_capacities: Capacities,
    /// Keep a book from this session's 35=W/35=X messages.
    pub book: Option<BookSpec>,
    /// Subscribe to market data after every logon (Kraken forgets subscriptions at logout,
    /// SPEC §1.3).
    pub subscribe: Option<MdSubscription>,
    /// Extra Logon fields.
    pub logon_fields: Option<LogonFields>,
    /// Connect at start-up (otherwise on [`Command::Connect`]).
    pub connect: bool,
}

impl<J: Journal> core::fmt::Debug for SessionSpec<J> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SessionSpec")
            .field("remote", &self.remote)
            .field("server_name", &self.server_name)
            .field("book", &self.book)
            .field("subscribe", &self.subscribe)
            .finish_non_exhaustive()
    }
}

impl<J: Journal> SessionSpec<J> {
    /// A session to `remote` with default buffer sizes, no book and no extra Logon fields.
    pub fn new(
        remote: SocketAddrV4,
        tls: tickwire_tls::ClientConfig,
        server_name: &str,
        fix: FixConfig,
        journal: J,
    ) -> SessionSpec<J> {
        SessionSpec {
            remote,
            tls,
            server_name: server_name.to_string(),
            tls_capacities: tickwire_tls::Capacities::default(),
            fix,
            journal,
            fix_capacities: Capacities::default(),
            book: None,
            subscribe: None,
            logon_fields: None,
            connect: true,
        }
    }
}

/// A market-data subscription: after every logon the engine sends a MarketDataRequest (35=V,
/// SubscriptionRequestType 263=1, MDUpdateType 265=1 incremental, MarketDepth 264,
/// NoMDEntryTypes 267 = bid and offer, and trade if asked, NoRelatedSym 146=1 / 55), so the
/// session's book fills from the snapshot (35=W) and the incrementals (35=X) that follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MdSubscription {
    /// MDReqID (262).
    pub request_id: String,
    /// Symbol (55), e.g. `BTC/USD`.
    pub symbol: String,
    /// MarketDepth (264): levels per side (0: the full book).
    pub depth: u32,
    /// AggregatedBook (266): `Y` (L2, price levels) or `N` (L3, orders).
    pub aggregated: bool,
    /// Also subscribe to trades (269=2); bids (269=0) and offers (269=1) always.
    pub trades: bool,
}

impl MdSubscription {
    /// An L2 subscription to `symbol`, `depth` levels, bids and offers and trades.
    pub fn l2(symbol: &str, depth: u32, request_id: &str) -> MdSubscription {
        MdSubscription {
            request_id: request_id.to_string(),
            symbol: symbol.to_string(),
            depth,
            aggregated: true,
            trades: true,
        }
    }
}

/// Where a session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Not connected and not trying (stopped by a command, or a configuration error).
    Stopped,
    /// Waiting to reconnect.
    Backoff,
    /// TCP handshake in progress.
    Connecting,
    /// TLS handshake in progress.
    Handshaking,
    /// Logon sent, waiting for the answer.
    LoggingOn,
    /// Logged on.
    Active,
    /// Logout sent or FIN sent; waiting for the connection to end.
    Closing,
}

impl Phase {
    /// The number the counter block shows.
    pub fn code(self) -> u64 {
        match self {
            Phase::Stopped => 1,
            Phase::Backoff => 2,
            Phase::Connecting => 3,
            Phase::Handshaking => 4,
            Phase::LoggingOn => 5,
            Phase::Active => 6,
            Phase::Closing => 7,
        }
    }
}

/// Why a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Teardown {
    /// The stack refused to open a connection.
    Connect(StackError),
    /// No logon within the connect timeout.
    ConnectTimeout,
    /// TCP connection closed or reset by the peer.
    TcpClosed,
    /// The peer closed its side: TCP FIN, or TLS close_notify.
    PeerClosed,
    /// TLS failed.
    Tls(tickwire_tls::Error),
    /// The FIX session asked to disconnect.
    Fix(DisconnectReason),
    /// A command.
    Command,
}

impl Teardown {
    /// The number the counter block shows (`last_error`).
    pub fn code(self) -> u64 {
        match self {
            Teardown::Connect(_) => 1,
            Teardown::ConnectTimeout => 2,
            Teardown::TcpClosed => 3,
            Teardown::PeerClosed => 4,
            Teardown::Tls(_) => 5,
            Teardown::Fix(_) => 6,
            Teardown::Command => 7,
        }
    }
}

/// What the control plane may ask of the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Start (or restart) a stopped session.
    Connect(SessionId),
    /// Log out and stay down.
    Logout(SessionId),
    /// Reset the connection now (RST) and stay down.
    Abort(SessionId),
    /// Refuse new orders ([`OrderError::Blocked`]).
    BlockOrders,
    /// Accept orders again.
    AllowOrders,
    /// Send an OrderMassCancelRequest (35=q, MassCancelRequestType 530=7: every open order of
    /// the account) with a fresh ClOrdID on a logged-on session. The kill switch is
    /// `BlockOrders`, then `MassCancel` on each trading session, then optionally `Logout`.
    /// Refused (counted in `commands_refused`) when the session is not logged on.
    MassCancel(SessionId),
    /// Set the session's next sender and/or target MsgSeqNum. Only while no FIX session is
    /// up or being set up on a connection (the Logon not yet sent: phases `Stopped`,
    /// `Backoff`, `Connecting`, or `Handshaking`); refused and counted in `commands_refused`
    /// otherwise, and for a value of 0.
    SetSeq {
        /// The session.
        session: SessionId,
        /// Next MsgSeqNum we send.
        sender: Option<u64>,
        /// Next MsgSeqNum we expect.
        target: Option<u64>,
    },
    /// Restart both sequence numbers at 1 with the next Logon, which carries ResetSeqNumFlag
    /// (141=Y). While the session is down its counters show 1/1 at once; while it is up the
    /// reset waits for the next logon (log out and connect to apply it now).
    ResetSeq(SessionId),
    /// Send a TestRequest (35=1) with a unique TestReqID; the Heartbeat answering it
    /// (35=0 with the same 112) records the round trip in `probe_rtt_ns` and `probe_count`.
    /// One probe per session at a time: a new probe replaces an unanswered one. Refused when
    /// the session is not logged on.
    Probe(SessionId),
    /// Send an OrderCancelRequest (35=F) for an order sent through template `order`: a fresh
    /// ClOrdID, OrigClOrdID `orig_cl_ord_id`, the venue's OrderID (37, which Kraken prefers
    /// when both are present) from its ExecutionReport. Refused (counted in
    /// `commands_refused`) when the template's session is not logged on or a value does not
    /// fit its slot.
    Cancel {
        /// The template the order went out through (symbol and side).
        order: OrderId,
        /// The order's ClOrdID.
        orig_cl_ord_id: u64,
        /// The venue's OrderID (37), `order_id_len` bytes.
        order_id: [u8; 40],
        /// Bytes of `order_id` in use.
        order_id_len: u8,
    },
}

/// The command queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueFull;

/// The sending end of the engine's command queue (wait-free, for one other thread).
#[derive(Debug)]
pub struct Commands(rtrb::Producer<Command>);

impl Commands {
    /// Queues `cmd` for the next cycle.
    ///
    /// # Errors
    /// [`QueueFull`].
    pub fn send(&mut self, cmd: Command) -> Result<(), QueueFull> {
        self.0.push(cmd).map_err(|_| QueueFull)
    }
}

/// Why the engine could not be set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetupError {
    /// More sessions than the counter block or the stack has room for.
    TooManySessions,
    /// The order-template table is full.
    TooManyTemplates,
    /// No such session.
    UnknownSession,
    /// The template could not be built.
    Template(TemplateError),
    /// A session's market-data subscription does not fit a MarketDataRequest.
    Subscription(TemplateError),
}

impl core::fmt::Display for SetupError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::TooManySessions => f.write_str("more sessions than configured"),
            Self::TooManyTemplates => f.write_str("order-template table full"),
            Self::UnknownSession => f.write_str("no such session"),
            Self::Template(e) => write!(f, "order template: {e}"),
            Self::Subscription(e) => write!(f, "market-data subscription: {e}"),
        }
    }
}

impl std::error::Error for SetupError {}

struct Slot<J: Journal> {
    remote: SocketAddrV4,
    tls_cfg: tickwire_tls::ClientConfig,
    server_name: String,
    tls_caps: tickwire_tls::Capacities,
    logon_fields: Option<LogonFields>,
    fix: Session<J>,
    book: Option<Book>,
    book_spec: Option<BookSpec>,
    conn: Option<ConnId>,
    tls: Option<tickwire_tls::Session>,
    fix_up: bool,
    phase: Phase,
    /// Backoff: when to retry; Connecting…LoggingOn and Closing: the deadline.
    at_ns: i64,
    attempts: u32,
    want_up: bool,
    dirty: bool,
    /// Bytes went to TCP since the connection was last transmitted ([`Stack::transmit`]).
    written: bool,
    records_in: RecordCounter,
    last_teardown: Option<Teardown>,
    change: Option<SessionChange>,
    /// The MarketDataRequest sent after every logon.
    md_request: Option<FixTemplate>,
    /// OrderMassCancelRequest (530=7).
    mass_cancel: OrderRequest,
    /// Send the next Logon with 141=Y (after restarting the journal at 1).
    reset_next_logon: bool,
    /// Whole inbound messages for the message log and probes.
    inbound: Framer,
    /// Bytes at the head of the FIX transmit queue already recorded in the message log.
    out_logged: usize,
    /// Bytes at the head of the FIX transmit queue already sealed into TLS, kept until
    /// [`Engine::settle`] has recorded them, once the frames holding them are with the NIC
    /// (0 outside a cycle's drive and flush).
    sealed: usize,
    /// Bytes at the head of the TLS plaintext the FIX session has taken, kept until
    /// [`Engine::settle`] has recorded them, after the cycle's tx bursts (0 outside a cycle's
    /// drive and flush).
    delivered: usize,
    /// The ExecutionReport views' tag table, kept while the reports repeat a layout.
    er_table: ErTable,
    /// The market-data views' table, likewise.
    md_table: MdTable,
    /// The unanswered probe.
    probe: Option<Probe>,
}

/// A TestRequest sent by [`Command::Probe`], waiting for its Heartbeat.
#[derive(Debug, Clone, Copy)]
struct Probe {
    /// `\x01112=<TestReqID>\x01`, what the answering Heartbeat contains.
    needle: [u8; 32],
    len: usize,
    sent_ns: i64,
}

/// Cuts a byte stream into whole FIX messages, across the pieces it arrives in. The partial
/// message at the end of a piece waits in a buffer sized at start-up (the FIX session's receive
/// capacity); a longer one is skipped. Boundaries only ([`frame_boundary`]): the FIX session
/// checks each CheckSum itself, and summing the bytes a second time for the log cost as much
/// as the rest of the framing, on the path from the tick to the order.
#[derive(Debug)]
struct Framer {
    carry: Vec<u8>,
    len: usize,
    limits: FrameLimits,
}

impl Framer {
    fn new(capacity: usize) -> Framer {
        Framer {
            carry: vec![0; capacity],
            len: 0,
            limits: FrameLimits {
                max_message_len: capacity,
            },
        }
    }

    fn reset(&mut self) {
        self.len = 0;
    }

    /// Calls `each` with every message completed by `input`, in order.
    fn feed(&mut self, mut input: &[u8], mut each: impl FnMut(&[u8])) {
        if self.len > 0 {
            let old = self.len;
            let n = input.len().min(self.carry.len() - old);
            self.carry[old..old + n].copy_from_slice(&input[..n]);
            self.len += n;
            match frame_boundary(&self.carry[..self.len], self.limits) {
                Ok(Some(m)) if m > old => {
                    each(&self.carry[..m]);
                    input = &input[m - old..];
                    self.len = 0;
                }
                Ok(None) if self.len < self.carry.len() => return,
                // Too long, or not a message: start over at the next message start.
                _ => self.len = 0,
            }
        }
        let mut pos = 0;
        while pos < input.len() {
            match frame_boundary(&input[pos..], self.limits) {
                Ok(Some(m)) => {
                    each(&input[pos..pos + m]);
                    pos += m;
                }
                Ok(None) => {
                    let rest = &input[pos..];
                    if rest.len() < self.carry.len() {
                        self.carry[..rest.len()].copy_from_slice(rest);
                        self.len = rest.len();
                    }
                    return;
                }
                Err(_) => pos += resync(&input[pos..]),
            }
        }
    }
}

/// An event line formatted on the stack (cut at its capacity).
struct Line {
    buf: [u8; 192],
    len: usize,
}

impl core::fmt::Write for Line {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

/// Records an event line for session `i` (formatting into a stack buffer: no allocation).
fn log_event(tap: &mut Option<Tap>, i: usize, now: UtcTimestamp, args: core::fmt::Arguments<'_>) {
    if let Some(tap) = tap.as_mut() {
        let mut line = Line {
            buf: [0; 192],
            len: 0,
        };
        let _ = core::fmt::Write::write_fmt(&mut line, args);
        tap.record(i as u8, Direction::Event, now.nanos, &line.buf[..line.len]);
    }
}

/// True when `hay` contains `needle`.
fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

impl<J: Journal> Slot<J> {
    fn logged_on(&self) -> bool {
        self.phase == Phase::Active && self.fix.state() == FixState::Active
    }

    /// A book whose session went down is not trusted: empty and stale (no snapshot) until
    /// the next subscription's snapshot. Only on a disconnect, so the allocation is allowed.
    fn forget_book(&mut self) {
        use tickwire_fix::book::{StaleReason, State};
        if let (Some(b), Some(spec)) = (self.book.as_mut(), self.book_spec) {
            if b.state() != State::Stale(StaleReason::NoSnapshot) {
                *b = Book::new(spec.depth, spec.price_scale, spec.qty_scale);
            }
        }
    }
}

struct Template {
    session: SessionId,
    order: NewOrder,
    /// The OrderCancelRequest (35=F) for orders of this template, precompiled with it.
    cancel: OrderRequest,
    symbol: [u8; 32],
    symbol_len: usize,
    side: Side,
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    order: OrderId,
    price: Option<Decimal>,
    qty: Decimal,
    cl_ord_id: u64,
}

/// The engine over NIC `N`, sessions journaled by `J`, strategy `S` and pre-trade check `R`.
pub struct Engine<N: Nic, J: Journal, S: Strategy, R: PreTrade = AcceptAll> {
    cfg: Config,
    stack: Stack<Metered<N>>,
    /// Sessions the stack and the counter block both have room for.
    max_sessions: usize,
    slots: Vec<Slot<J>>,
    templates: Vec<Template>,
    deferred: [Option<Pending>; DEFERRED],
    ids: tickwire_fix::kraken::SpotClOrdId,
    strategy: S,
    risk: R,
    counters: Shared,
    commands: rtrb::Consumer<Command>,
    blocked: bool,
    rng: u64,
    next_timer_ns: i64,
    stack_dirty: bool,
    /// The message log's producer end.
    tap: Option<Tap>,
    /// Probes sent (numbers the TestReqIDs).
    probes: u64,
    /// UTC of the cycle (or command) being handled, for the message log.
    utc_ns: i64,
    /// Records dropped by message-log taps replaced earlier.
    log_dropped_before: u64,
}

impl<N: Nic, J: Journal, S: Strategy, R: PreTrade> core::fmt::Debug for Engine<N, J, S, R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Engine")
            .field("sessions", &self.slots.len())
            .field("templates", &self.templates.len())
            .field("blocked", &self.blocked)
            .finish_non_exhaustive()
    }
}

/// Sends one patched order on `fix`.
fn send_order<J: Journal>(
    fix: &mut Session<J>,
    tpl: &mut Template,
    now: UtcTimestamp,
    p: Pending,
) -> Result<(), OrderError> {
    let mut text = [0u8; 20];
    let w = tickwire_fix::encode::write_u64(&mut text, p.cl_ord_id).unwrap_or(0);
    let mut template_error = None;
    let order = &mut tpl.order;
    let r = fix.send_raw(now, |seq, out| {
        let bytes = match order.patch(seq, now, &text[..w], p.price, p.qty) {
            Ok(b) => b,
            Err(e) => {
                template_error = Some(e);
                return Err(EncodeError::BufferTooSmall { required: 0 });
            }
        };
        let dst = out
            .get_mut(..bytes.len())
            .ok_or(EncodeError::BufferTooSmall {
                required: bytes.len(),
            })?;
        dst.copy_from_slice(bytes);
        Ok(bytes.len())
    });
    match (r, template_error) {
        (Ok(_), _) => Ok(()),
        (Err(_), Some(e)) => Err(OrderError::Template(e)),
        (Err(e), None) => Err(OrderError::Send(e)),
    }
}

/// Sends a precompiled message on `fix` after stamping MsgSeqNum and SendingTime.
fn send_template<J: Journal>(
    fix: &mut Session<J>,
    t: &mut FixTemplate,
    now: UtcTimestamp,
) -> Result<u64, tickwire_fix::session::SendError> {
    fix.send_raw(now, |seq, out| {
        t.stamp(seq, now)
            .map_err(|_| EncodeError::BufferTooSmall { required: 0 })?;
        t.copy_to(out)
    })
}

/// The FIX header of session `fix`'s precompiled messages.
fn header_of(cfg: &FixConfig) -> Header<'_> {
    Header {
        begin_string: cfg.begin_string.as_bytes(),
        sender: cfg.sender_comp_id.as_bytes(),
        target: cfg.target_comp_id.as_bytes(),
        time_after_target: cfg.header_order == HeaderOrder::Kraken,
    }
}

/// The engine's side of [`Context`]: every session but the one being handled, which only
/// queues.
struct DeskImpl<'a, J: Journal, R: PreTrade> {
    before: &'a mut [Slot<J>],
    after: &'a mut [Slot<J>],
    current: usize,
    current_up: bool,
    deferred: &'a mut [Option<Pending>; DEFERRED],
    templates: &'a mut [Template],
    ids: &'a mut tickwire_fix::kraken::SpotClOrdId,
    risk: &'a mut R,
    counters: &'a counters::Counters,
    blocked: bool,
}

impl<J: Journal, R: PreTrade> DeskImpl<'_, J, R> {
    fn refuse(&self, session: usize, e: OrderError) -> Result<u64, OrderError> {
        if let Some(c) = self.counters.session.get(session) {
            bump(&c.orders_refused, 1);
        }
        Err(e)
    }
}

impl<J: Journal, R: PreTrade> strategy::Desk for DeskImpl<'_, J, R> {
    #[inline]
    fn submit(
        &mut self,
        now: UtcTimestamp,
        order: OrderId,
        price: Option<Decimal>,
        qty: Decimal,
    ) -> Result<u64, OrderError> {
        let Some(tpl) = self.templates.get(order.index()) else {
            return Err(OrderError::UnknownOrder);
        };
        let s = tpl.session.index();
        if self.blocked {
            return self.refuse(s, OrderError::Blocked);
        }
        if !self.is_logged_on(tpl.session) {
            return self.refuse(s, OrderError::SessionDown);
        }
        let Some(cl_ord_id) = self.ids.next(now) else {
            return self.refuse(s, OrderError::IdsExhausted);
        };
        let intent = OrderIntent {
            session: tpl.session,
            order,
            symbol: &tpl.symbol[..tpl.symbol_len],
            side: tpl.side,
            price,
            qty,
            cl_ord_id,
        };
        if let Err(r) = self.risk.check(now, &intent) {
            return self.refuse(s, OrderError::Refused(r));
        }
        let p = Pending {
            order,
            price,
            qty,
            cl_ord_id,
        };
        if s == self.current {
            let Some(free) = self.deferred.iter_mut().find(|d| d.is_none()) else {
                return self.refuse(s, OrderError::Busy);
            };
            *free = Some(p);
            return Ok(cl_ord_id);
        }
        let counters = self.counters;
        let slot = if s < self.current {
            self.before.get_mut(s)
        } else {
            self.after.get_mut(s - self.current - 1)
        };
        let (Some(slot), Some(tpl)) = (slot, self.templates.get_mut(order.index())) else {
            return Err(OrderError::UnknownOrder);
        };
        match send_order(&mut slot.fix, tpl, now, p) {
            Ok(()) => {
                slot.dirty = true;
                bump(&counters.session[s].orders_sent, 1);
                Ok(cl_ord_id)
            }
            Err(e) => {
                bump(&counters.session[s].orders_refused, 1);
                Err(e)
            }
        }
    }

    fn is_logged_on(&self, session: SessionId) -> bool {
        let i = session.index();
        if i == self.current {
            return self.current_up;
        }
        let slot = if i < self.current {
            self.before.get(i)
        } else {
            self.after.get(i - self.current - 1)
        };
        slot.is_some_and(Slot::logged_on)
    }
}

impl<N: Nic, J: Journal, S: Strategy> Engine<N, J, S, AcceptAll> {
    /// An engine on `nic` with no pre-trade check; see [`Engine::with_risk`].
    pub fn new(
        nic: N,
        allow: Live,
        cfg: Config,
        strategy: S,
        counters: Shared,
        now: Now,
    ) -> (Engine<N, J, S, AcceptAll>, Commands) {
        Engine::with_risk(nic, allow, cfg, strategy, AcceptAll, counters, now)
    }
}

impl<N: Nic, J: Journal, S: Strategy, R: PreTrade> Engine<N, J, S, R> {
    /// An engine on `nic` (behind the allowlist `allow`), with every buffer allocated now.
    /// Sessions and order templates are added next ([`Engine::add_session`],
    /// [`Engine::add_order`]); the returned [`Commands`] feeds the command queue.
    pub fn with_risk(
        nic: N,
        allow: Live,
        cfg: Config,
        strategy: S,
        risk: R,
        counters: Shared,
        now: Now,
    ) -> (Engine<N, J, S, R>, Commands) {
        let (tx, rx) = rtrb::RingBuffer::new(cfg.commands.max(1));
        let stack = Stack::new(Metered::new(nic), allow, cfg.stack, now.mono_ns);
        let sessions = cfg.stack.connections.min(counters::MAX_SESSIONS);
        let engine = Engine {
            cfg,
            stack,
            max_sessions: sessions,
            slots: Vec::with_capacity(sessions),
            templates: Vec::with_capacity(cfg.templates),
            deferred: [None; DEFERRED],
            ids: tickwire_fix::kraken::SpotClOrdId::new(0),
            strategy,
            risk,
            counters,
            commands: rx,
            blocked: false,
            rng: cfg.seed | 1,
            next_timer_ns: now.mono_ns,
            stack_dirty: false,
            tap: None,
            probes: 0,
            utc_ns: now.utc.nanos,
            log_dropped_before: 0,
        };
        (engine, Commands(tx))
    }

    /// Adds a session (it connects on the first cycle if `spec.connect`).
    ///
    /// # Errors
    /// [`SetupError::TooManySessions`] beyond the stack's connection slots or
    /// [`counters::MAX_SESSIONS`].
    pub fn add_session(&mut self, spec: SessionSpec<J>, now: Now) -> Result<SessionId, SetupError> {
        if self.slots.len() >= self.max_sessions {
            return Err(SetupError::TooManySessions);
        }
        let id = SessionId(self.slots.len() as u8);
        let header = header_of(&spec.fix);
        let md_request = match &spec.subscribe {
            Some(sub) => {
                let symbols: [&[u8]; 1] = [sub.symbol.as_bytes()];
                let shape = MarketDataShape {
                    request_id: sub.request_id.as_bytes(),
                    subscribe: true,
                    depth: sub.depth,
                    aggregated: sub.aggregated,
                    trades: sub.trades,
                    symbols: &symbols,
                };
                Some(
                    outbound::market_data_request(header, &shape)
                        .map_err(SetupError::Subscription)?,
                )
            }
            None => None,
        };
        let mass_cancel = outbound::order_mass_cancel_request(header, MassCancelScope::Account)
            .map_err(SetupError::Template)?;
        self.slots.push(Slot {
            remote: spec.remote,
            tls_cfg: spec.tls,
            server_name: spec.server_name,
            tls_caps: spec.tls_capacities,
            logon_fields: spec.logon_fields,
            fix: Session::new(spec.fix, spec.journal, spec.fix_capacities),
            book: spec
                .book
                .map(|b| Book::new(b.depth, b.price_scale, b.qty_scale)),
            book_spec: spec.book,
            conn: None,
            tls: None,
            fix_up: false,
            phase: if spec.connect {
                Phase::Backoff
            } else {
                Phase::Stopped
            },
            at_ns: now.mono_ns,
            attempts: 0,
            want_up: spec.connect,
            dirty: false,
            written: false,
            records_in: RecordCounter::default(),
            last_teardown: None,
            change: None,
            md_request,
            mass_cancel,
            reset_next_logon: false,
            inbound: Framer::new(spec.fix_capacities.receive.max(4096)),
            out_logged: 0,
            sealed: 0,
            delivered: 0,
            er_table: ErTable::new(),
            md_table: MdTable::new(),
            probe: None,
        });
        set(&self.counters.counters().sessions, self.slots.len() as u64);
        self.publish_session(id.index());
        Ok(id)
    }

    /// Precompiles a NewOrderSingle for `session` in [`Layout::Exact`] (byte-identical to
    /// Kraken's examples).
    ///
    /// # Errors
    /// [`SetupError`].
    pub fn add_order(
        &mut self,
        session: SessionId,
        shape: &OrderShape<'_>,
    ) -> Result<OrderId, SetupError> {
        self.add_order_with(session, shape, Layout::Exact, SlotWidths::default())
    }

    /// Precompiles a NewOrderSingle for `session` in `layout` ([`Layout::FIXED`]: patches touch
    /// only slot bytes and the checksum).
    ///
    /// # Errors
    /// [`SetupError`].
    pub fn add_order_with(
        &mut self,
        session: SessionId,
        shape: &OrderShape<'_>,
        layout: Layout,
        widths: SlotWidths,
    ) -> Result<OrderId, SetupError> {
        if self.templates.len() >= self.cfg.templates.min(usize::from(u16::MAX)) {
            return Err(SetupError::TooManyTemplates);
        }
        let slot = self
            .slots
            .get(session.index())
            .ok_or(SetupError::UnknownSession)?;
        let header = header_of(slot.fix.config());
        let order = outbound::new_order_single_with(header, shape, layout, widths)
            .map_err(SetupError::Template)?;
        let mut symbol = [0u8; 32];
        let symbol_len = shape.symbol.len().min(32);
        symbol[..symbol_len].copy_from_slice(&shape.symbol[..symbol_len]);
        let cancel = outbound::order_cancel_request(header, shape.symbol, shape.side)
            .map_err(SetupError::Template)?;
        let id = OrderId(self.templates.len() as u16);
        self.templates.push(Template {
            session,
            order,
            cancel,
            symbol,
            symbol_len,
            side: shape.side,
        });
        Ok(id)
    }

    /// Continues ClOrdIDs after `high_water` (the last one used before a restart).
    pub fn set_cl_ord_id_high_water(&mut self, high_water: u64) {
        self.ids = tickwire_fix::kraken::SpotClOrdId::new(high_water);
    }

    /// Records every FIX message from now on into `tap`: each whole message received (in the
    /// order it arrived, before the session checks it, as QuickFIX's incoming log does) and
    /// each message handed to TLS (retransmissions included), with the session index and the
    /// cycle's UTC time; and session events ([`Direction::Event`]: connecting, logon,
    /// logout, closing and disconnect with the [`Teardown`] reason) as short text lines.
    /// Recording copies into the ring and never allocates; a full ring drops the record and
    /// counts it (`log_dropped`, over every tap). Replaces an earlier tap.
    pub fn set_message_log(&mut self, tap: Tap) {
        for s in &mut self.slots {
            s.inbound.reset();
            // What is already queued counts as recorded: the log starts with the next message.
            s.out_logged = s.fix.pending_transmit().len();
        }
        if let Some(old) = self.tap.replace(tap) {
            self.log_dropped_before += old.dropped();
        }
    }

    /// Stops recording and hands the tap back.
    pub fn take_message_log(&mut self) -> Option<Tap> {
        let tap = self.tap.take();
        if let Some(t) = tap.as_ref() {
            self.log_dropped_before += t.dropped();
        }
        tap
    }

    /// The strategy.
    pub fn strategy(&self) -> &S {
        &self.strategy
    }

    /// The strategy, mutably.
    pub fn strategy_mut(&mut self) -> &mut S {
        &mut self.strategy
    }

    /// The pre-trade check.
    pub fn risk(&self) -> &R {
        &self.risk
    }

    /// The pre-trade check, mutably (bindings once sessions and templates exist).
    pub fn risk_mut(&mut self) -> &mut R {
        &mut self.risk
    }

    /// The counter block.
    pub fn counters(&self) -> &Shared {
        &self.counters
    }

    /// The stack (its counters, the NIC for fault injection in tests).
    pub fn stack_mut(&mut self) -> &mut Stack<Metered<N>> {
        &mut self.stack
    }

    /// Where session `id` is.
    pub fn phase(&self, id: SessionId) -> Option<Phase> {
        self.slots.get(id.index()).map(|s| s.phase)
    }

    /// The FIX session of `id` (state, stats, journal).
    pub fn fix(&self, id: SessionId) -> Option<&Session<J>> {
        self.slots.get(id.index()).map(|s| &s.fix)
    }

    /// The book of market-data session `id`.
    pub fn book(&self, id: SessionId) -> Option<&Book> {
        self.slots.get(id.index()).and_then(|s| s.book.as_ref())
    }

    /// Why the last connection of `id` ended.
    pub fn last_teardown(&self, id: SessionId) -> Option<Teardown> {
        self.slots.get(id.index()).and_then(|s| s.last_teardown)
    }

    /// Applies a command now (the same as queueing it through [`Commands`]).
    pub fn command(&mut self, cmd: Command, now: Now) {
        bump(&self.counters.counters().commands, 1);
        self.utc_ns = now.utc.nanos;
        match cmd {
            Command::BlockOrders => self.blocked = true,
            Command::AllowOrders => self.blocked = false,
            Command::Connect(id) => {
                if let Some(s) = self.slots.get_mut(id.index()) {
                    s.want_up = true;
                    if s.phase == Phase::Stopped {
                        s.phase = Phase::Backoff;
                        s.at_ns = now.mono_ns;
                        s.attempts = 0;
                    }
                }
            }
            Command::Logout(id) => {
                let i = id.index();
                if let Some(s) = self.slots.get_mut(i) {
                    s.want_up = false;
                    if s.fix.send_logout(now.utc, Some(b"Operator logout")).is_ok() {
                        log_event(&mut self.tap, i, now.utc, format_args!("logout (operator)"));
                        // The peer's Logout answer makes it `Fix(LoggedOut)`; a connection
                        // that ends before the answer is read ends for the command.
                        s.last_teardown = Some(Teardown::Command);
                        s.phase = Phase::Closing;
                        s.at_ns = now.mono_ns
                            + i64::from(s.fix.config().logout_timeout_s) * 1_000_000_000;
                        s.dirty = true;
                    } else if s.conn.is_some() {
                        self.teardown(i, Teardown::Command, now);
                    } else {
                        s.phase = Phase::Stopped;
                    }
                }
            }
            Command::Abort(id) => {
                let i = id.index();
                if let Some(s) = self.slots.get_mut(i) {
                    s.want_up = false;
                    if s.conn.is_some() {
                        self.teardown(i, Teardown::Command, now);
                    } else {
                        s.phase = Phase::Stopped;
                    }
                }
            }
            Command::MassCancel(id) => self.mass_cancel(id, now),
            Command::SetSeq {
                session,
                sender,
                target,
            } => self.set_seq(session, sender, target),
            Command::ResetSeq(id) => {
                let Some(s) = self.slots.get_mut(id.index()) else {
                    bump(&self.counters.counters().commands_unknown, 1);
                    return;
                };
                s.reset_next_logon = true;
                if s.fix.state() == FixState::Disconnected && !s.fix_up {
                    s.fix.journal_mut().reset();
                }
                self.publish_session(id.index());
            }
            Command::Probe(id) => self.probe(id, now),
            Command::Cancel {
                order,
                orig_cl_ord_id,
                order_id,
                order_id_len,
            } => self.cancel(
                order,
                orig_cl_ord_id,
                &order_id[..usize::from(order_id_len).min(40)],
                now,
            ),
        }
    }

    fn probe(&mut self, id: SessionId, now: Now) {
        let c = self.counters.counters();
        let Some(s) = self.slots.get_mut(id.index()) else {
            bump(&c.commands_unknown, 1);
            return;
        };
        let sc = &c.session[id.index()];
        if !s.logged_on() {
            bump(&sc.commands_refused, 1);
            return;
        }
        self.probes += 1;
        // TestReqID `TWPROBE<n>`; the needle is `SOH 112=TWPROBE<n> SOH`.
        const PREFIX: &[u8] = b"\x01112=TWPROBE";
        let mut needle = [0u8; 32];
        needle[..PREFIX.len()].copy_from_slice(PREFIX);
        let w = tickwire_fix::encode::write_u64(&mut needle[PREFIX.len()..31], self.probes)
            .unwrap_or(0);
        needle[PREFIX.len() + w] = 0x01;
        let len = PREFIX.len() + w + 1;
        if s.fix
            .send_test_request(now.utc, &needle[5..len - 1])
            .is_err()
        {
            bump(&sc.commands_refused, 1);
            return;
        }
        s.probe = Some(Probe {
            needle,
            len,
            sent_ns: now.mono_ns,
        });
        s.dirty = true;
        bump(&sc.probes_sent, 1);
    }

    fn mass_cancel(&mut self, id: SessionId, now: Now) {
        let c = self.counters.counters();
        let Some(s) = self.slots.get_mut(id.index()) else {
            bump(&c.commands_unknown, 1);
            return;
        };
        let sc = &c.session[id.index()];
        if !s.logged_on() {
            bump(&sc.commands_refused, 1);
            return;
        }
        let Some(cl_ord_id) = self.ids.next(now.utc) else {
            bump(&sc.commands_refused, 1);
            return;
        };
        let mut text = [0u8; 20];
        let w = tickwire_fix::encode::write_u64(&mut text, cl_ord_id).unwrap_or(0);
        let req = &mut s.mass_cancel;
        let filled = req.template.set(req.cl_ord_id, &text[..w]).is_ok()
            && req
                .transact_time
                .is_none_or(|slot| req.template.set_timestamp(slot, now.utc).is_ok());
        if filled && send_template(&mut s.fix, &mut req.template, now.utc).is_ok() {
            s.dirty = true;
            bump(&sc.mass_cancels, 1);
        } else {
            bump(&sc.commands_refused, 1);
        }
    }

    fn cancel(&mut self, order: OrderId, orig: u64, order_id: &[u8], now: Now) {
        let c = self.counters.counters();
        let Some(t) = self.templates.get_mut(order.index()) else {
            bump(&c.commands_unknown, 1);
            return;
        };
        let Some(s) = self.slots.get_mut(t.session.index()) else {
            bump(&c.commands_unknown, 1);
            return;
        };
        let sc = &c.session[t.session.index()];
        let Some(cl_ord_id) = (if s.logged_on() && !order_id.is_empty() {
            self.ids.next(now.utc)
        } else {
            None
        }) else {
            bump(&sc.commands_refused, 1);
            return;
        };
        let (mut new_id, mut old_id) = ([0u8; 20], [0u8; 20]);
        let w = tickwire_fix::encode::write_u64(&mut new_id, cl_ord_id).unwrap_or(0);
        let wo = tickwire_fix::encode::write_u64(&mut old_id, orig).unwrap_or(0);
        let req = &mut t.cancel;
        let filled = req.template.set(req.cl_ord_id, &new_id[..w]).is_ok()
            && req
                .orig_cl_ord_id
                .is_none_or(|slot| req.template.set(slot, &old_id[..wo]).is_ok())
            && req
                .order_id
                .is_none_or(|slot| req.template.set(slot, order_id).is_ok())
            && req
                .transact_time
                .is_none_or(|slot| req.template.set_timestamp(slot, now.utc).is_ok());
        if filled && send_template(&mut s.fix, &mut req.template, now.utc).is_ok() {
            s.dirty = true;
        } else {
            bump(&sc.commands_refused, 1);
        }
    }

    fn set_seq(&mut self, id: SessionId, sender: Option<u64>, target: Option<u64>) {
        let c = self.counters.counters();
        let Some(s) = self.slots.get_mut(id.index()) else {
            bump(&c.commands_unknown, 1);
            return;
        };
        let down = s.fix.state() == FixState::Disconnected && !s.fix_up;
        if !down || sender == Some(0) || target == Some(0) {
            bump(&c.session[id.index()].commands_refused, 1);
            return;
        }
        if let Some(seq) = sender {
            s.fix.journal_mut().set_next_sender_seq(seq);
        }
        if let Some(seq) = target {
            s.fix.journal_mut().set_next_target_seq(seq);
        }
        self.publish_session(id.index());
    }

    /// One duty cycle at `now`: commands, NIC and stack, every session, timers, counters.
    /// Returns a measure of the work done (0: idle cycle).
    pub fn do_work(&mut self, now: Now) -> usize {
        let mut work = 0;
        self.utc_ns = now.utc.nanos;
        while let Ok(cmd) = self.commands.pop() {
            self.command(cmd, now);
            work += 1;
        }
        // Allowlist replacements published by the control plane (wait-free).
        self.stack.refresh_allowlist();
        let frames_before = self.stack.nic().rx_frames + self.stack.nic().tx_frames;
        self.stack.poll(now.mono_ns);
        for i in 0..self.slots.len() {
            work += self.drive(i, now);
            self.flush_dirty(now);
        }
        if now.mono_ns >= self.next_timer_ns {
            self.next_timer_ns = now.mono_ns + self.cfg.timer.as_nanos() as i64;
            for i in 0..self.slots.len() {
                self.timers(i, now);
            }
        }
        if self.stack_dirty {
            self.stack.poll(now.mono_ns);
            self.stack_dirty = false;
        }
        let frames_after = self.stack.nic().rx_frames + self.stack.nic().tx_frames;
        work += (frames_after - frames_before) as usize;
        let c = self.counters.counters();
        bump(&c.cycles, 1);
        if work > 0 {
            bump(&c.busy_cycles, 1);
            self.publish(now);
        } else {
            // Idle: what the next order will write, into the cache.
            for s in &mut self.slots {
                if s.fix_up {
                    s.fix.warm();
                }
            }
            if let Some(tap) = self.tap.as_mut() {
                tap.warm();
            }
        }
        work
    }

    fn random(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn timers(&mut self, i: usize, now: Now) {
        let s = &mut self.slots[i];
        if s.fix_up {
            s.fix.handle_timeout(now.utc);
        }
        let overdue = now.mono_ns >= s.at_ns;
        match s.phase {
            Phase::Connecting | Phase::Handshaking | Phase::LoggingOn if overdue => {
                self.teardown(i, Teardown::ConnectTimeout, now);
            }
            Phase::Closing if overdue => self.teardown(i, Teardown::Command, now),
            _ => {}
        }
        self.notify(i, now);
    }

    /// Advances session `i`; returns work done.
    fn drive(&mut self, i: usize, now: Now) -> usize {
        let phase = self.slots[i].phase;
        let work = match phase {
            Phase::Stopped => 0,
            Phase::Backoff => {
                if now.mono_ns >= self.slots[i].at_ns {
                    self.start_connect(i, now);
                    1
                } else {
                    0
                }
            }
            Phase::Connecting => match self.conn_state(i) {
                ConnState::Connecting => 0,
                ConnState::Established | ConnState::PeerClosed => {
                    self.slots[i].phase = Phase::Handshaking;
                    1 + self.pump(i, now)
                }
                ConnState::Closed | ConnState::Closing => {
                    self.teardown(i, Teardown::TcpClosed, now);
                    1
                }
            },
            Phase::Handshaking | Phase::LoggingOn | Phase::Active => self.pump(i, now),
            Phase::Closing => {
                let w = self.pump(i, now);
                if self.slots[i].conn.is_some() && self.conn_state(i) == ConnState::Closed {
                    let reason = self.slots[i].last_teardown.unwrap_or(Teardown::Command);
                    self.teardown(i, reason, now);
                }
                w
            }
        };
        self.notify(i, now);
        work
    }

    fn conn_state(&mut self, i: usize) -> ConnState {
        match self.slots[i].conn {
            Some(c) => self.stack.state(c),
            None => ConnState::Closed,
        }
    }

    fn start_connect(&mut self, i: usize, now: Now) {
        let c = self.counters.counters();
        let s = &mut self.slots[i];
        let tls = match tickwire_tls::Session::client(&s.tls_cfg, &s.server_name, s.tls_caps) {
            Ok(t) => t,
            Err(e) => {
                // A configuration error does not heal by retrying.
                s.phase = Phase::Stopped;
                s.last_teardown = Some(Teardown::Tls(e));
                set(&c.session[i].last_error, Teardown::Tls(e).code());
                return;
            }
        };
        match self.stack.connect(s.remote) {
            Ok(conn) => {
                log_event(
                    &mut self.tap,
                    i,
                    now.utc,
                    format_args!("connecting to {}", s.remote),
                );
                bump(&c.session[i].connects, 1);
                if read_counter(&c.session[i].connects) > 1 {
                    bump(&c.session[i].reconnects, 1);
                }
                s.conn = Some(conn);
                s.tls = Some(tls);
                s.records_in.reset();
                s.phase = Phase::Connecting;
                s.at_ns = now.mono_ns + self.cfg.connect_timeout.as_nanos() as i64;
                self.stack_dirty = true;
            }
            Err(e) => {
                s.last_teardown = Some(Teardown::Connect(e));
                self.schedule_retry(i, now);
            }
        }
    }

    fn schedule_retry(&mut self, i: usize, now: Now) {
        let r = self.random();
        let s = &mut self.slots[i];
        s.phase = if s.want_up {
            Phase::Backoff
        } else {
            Phase::Stopped
        };
        s.at_ns = now.mono_ns + self.cfg.backoff.delay_ns(s.attempts, r);
        s.attempts = s.attempts.saturating_add(1);
    }

    /// Ends the connection of session `i` (RST if still open) and schedules the next one.
    fn teardown(&mut self, i: usize, reason: Teardown, now: Now) {
        // What was delivered and sealed before it is logged, and leaves the queues.
        self.settle(i, now);
        let c = self.counters.counters();
        let s = &mut self.slots[i];
        // A close we started (a Logout sent, a close_notify answered) ends for the reason we
        // started it, even when the peer's FIN or reset gets there first — a peer that answers
        // a Logout and closes at once (QuickFIX) must not look like a lost connection.
        let reason = match (s.phase, reason) {
            (Phase::Closing, Teardown::TcpClosed | Teardown::PeerClosed) => {
                s.last_teardown.unwrap_or(Teardown::Command)
            }
            _ => reason,
        };
        if s.fix_up {
            s.fix.handle_disconnected();
            s.fix_up = false;
            s.change = Some(SessionChange::Down);
        }
        s.forget_book();
        s.out_logged = 0;
        s.probe = None;
        s.inbound.reset();
        log_event(
            &mut self.tap,
            i,
            now.utc,
            format_args!("disconnected: {reason:?}"),
        );
        if let Some(conn) = s.conn.take() {
            self.stack.abort(conn);
            self.stack_dirty = true;
            bump(&c.session[i].disconnects, 1);
        }
        s.tls = None;
        s.dirty = false;
        s.written = false;
        s.last_teardown = Some(reason);
        set(&c.session[i].last_error, reason.code());
        // Queued orders for this session can no longer go out.
        for d in self.deferred.iter_mut() {
            if let Some(p) = d.take() {
                if self
                    .templates
                    .get(p.order.index())
                    .map(|t| t.session.index())
                    == Some(i)
                {
                    self.strategy
                        .on_order_failed(p.cl_ord_id, OrderError::SessionDown);
                } else {
                    *d = Some(p);
                }
            }
        }
        self.schedule_retry(i, now);
        self.publish_session(i);
    }

    /// Starts a graceful close of session `i`: what is queued (a Logout) goes out, then
    /// close_notify and FIN.
    fn close(&mut self, i: usize, reason: Teardown, now: Now) {
        let _ = self.flush_settled(i, now);
        let s = &mut self.slots[i];
        if s.fix_up {
            s.fix.handle_disconnected();
            s.fix_up = false;
            s.change = Some(SessionChange::Down);
        }
        s.forget_book();
        s.out_logged = 0;
        log_event(
            &mut self.tap,
            i,
            now.utc,
            format_args!("closing: {reason:?}"),
        );
        if let Some(tls) = s.tls.as_mut() {
            let _ = tls.close();
        }
        let _ = self.flush_settled(i, now);
        let s = &mut self.slots[i];
        if let Some(conn) = s.conn {
            self.stack.close(conn);
            self.stack_dirty = true;
        }
        s.last_teardown = Some(reason);
        s.phase = Phase::Closing;
        s.at_ns = now.mono_ns + self.cfg.close_timeout.as_nanos() as i64;
    }

    /// TCP → TLS → FIX → strategy, then events; returns work done.
    fn pump(&mut self, i: usize, now: Now) -> usize {
        let Some(conn) = self.slots[i].conn else {
            return 0;
        };
        let state = self.stack.state(conn);
        if state == ConnState::Closed {
            // A close we started ends for the reason we started it.
            let reason = match self.slots[i].phase {
                Phase::Closing => self.slots[i].last_teardown.unwrap_or(Teardown::Command),
                _ => Teardown::TcpClosed,
            };
            self.teardown(i, reason, now);
            return 1;
        }
        if state == ConnState::Connecting {
            return 0;
        }
        let mut work = 0;
        // TCP → TLS (the receive ring may be split in two: at most two pieces).
        {
            let c = self.counters.counters();
            let s = &mut self.slots[i];
            let Some(tls) = s.tls.as_mut() else {
                return 0;
            };
            for _ in 0..2 {
                let rec = &mut s.records_in;
                let n = self
                    .stack
                    .recv_with(conn, |bytes| {
                        let n = tls.handle_ciphertext(bytes);
                        rec.feed(&bytes[..n]);
                        n
                    })
                    .unwrap_or_default();
                if n == 0 {
                    break;
                }
                bump(&c.session[i].tls_bytes_in, n as u64);
                work += 1;
            }
            match tls.poll() {
                Ok(_) => {}
                Err(e) => {
                    self.teardown(i, Teardown::Tls(e), now);
                    return work + 1;
                }
            }
            if tls.is_established() && !s.fix_up {
                s.fix_up = true;
                s.fix.handle_connected(now.utc);
                s.out_logged = 0;
                // ResetSeq: both sides restart at 1, announced by 141=Y (which the session
                // writes itself when its configuration resets on every logon).
                let reset = core::mem::take(&mut s.reset_next_logon);
                let flag = reset && !s.fix.config().reset_on_logon;
                if reset {
                    s.fix.journal_mut().reset();
                }
                let fields = s.logon_fields.as_mut();
                let logon = s.fix.send_logon(now.utc, |seq, e| {
                    if flag {
                        e.boolean(141, true);
                    }
                    if let Some(f) = fields {
                        f(seq, e);
                    }
                });
                if logon.is_err() {
                    self.close(i, Teardown::Fix(DisconnectReason::BadLogon), now);
                    return work + 1;
                }
                s.phase = Phase::LoggingOn;
                s.dirty = true;
                work += 1;
            }
        }
        // TLS → FIX → book / strategy.
        if self.slots[i]
            .tls
            .as_ref()
            .is_some_and(|t| t.plaintext().len() > self.slots[i].delivered)
        {
            self.deliver(i, now);
            self.drain_deferred(i, now);
            work += 1;
        }
        // Session events.
        let c = self.counters.counters();
        while let Some(ev) = self.slots[i].fix.poll_event() {
            work += 1;
            match ev {
                Event::LoggedOn { .. } => {
                    let s = &mut self.slots[i];
                    s.phase = Phase::Active;
                    s.attempts = 0;
                    s.change = Some(SessionChange::LoggedOn);
                    bump(&c.session[i].logons, 1);
                    set(&c.session[i].logon_ns, now.utc.nanos.max(0) as u64);
                    log_event(
                        &mut self.tap,
                        i,
                        now.utc,
                        format_args!(
                            "logged on: next sender seq {}, next target seq {}",
                            s.fix.journal().next_sender_seq(),
                            s.fix.journal().next_target_seq()
                        ),
                    );
                    if let Some(t) = s.md_request.as_mut() {
                        if send_template(&mut s.fix, t, now.utc).is_ok() {
                            bump(&c.session[i].md_requests, 1);
                            s.dirty = true;
                        }
                    }
                }
                Event::Disconnect(reason) => {
                    self.close(i, Teardown::Fix(reason), now);
                    return work;
                }
                Event::RejectReceived { .. } => bump(&c.session[i].rejects_received, 1),
                _ => {}
            }
        }
        // The peer closed its side and everything it sent is consumed.
        let s = &self.slots[i];
        let peer_gone = state == ConnState::PeerClosed
            && s.tls
                .as_ref()
                .is_some_and(|t| t.plaintext().len() == s.delivered);
        if peer_gone && self.slots[i].phase != Phase::Closing {
            let reason = match self.slots[i]
                .tls
                .as_mut()
                .map(|t| t.handle_transport_closed())
            {
                Some(Err(e)) => Teardown::Tls(e),
                _ => Teardown::PeerClosed,
            };
            self.teardown(i, reason, now);
            return work + 1;
        }
        // close_notify on an open TCP connection: answer it and close gracefully.
        let s = &self.slots[i];
        let tls_closed = s
            .tls
            .as_ref()
            .is_some_and(|t| t.is_peer_closed() && t.plaintext().len() == s.delivered);
        if tls_closed && self.slots[i].phase != Phase::Closing {
            self.close(i, Teardown::PeerClosed, now);
            return work + 1;
        }
        let s = &self.slots[i];
        let tls_out = s
            .tls
            .as_ref()
            .is_some_and(|t| !t.pending_ciphertext().is_empty());
        // Settled by the `flush_dirty` that follows every `drive`, after its tx bursts.
        if s.dirty || tls_out || s.fix.pending_transmit().len() > s.sealed {
            if let Err(e) = self.flush(i) {
                self.teardown(i, e, now);
            }
        }
        work
    }

    /// Feeds session `i`'s plaintext to its FIX session, and each application message to the
    /// book, the risk hook and the strategy.
    fn deliver(&mut self, i: usize, now: Now) {
        let c = self.counters.counters();
        let (before, rest) = self.slots.split_at_mut(i);
        let Some((cur, after)) = rest.split_first_mut() else {
            return;
        };
        let current_up = cur.logged_on();
        let Slot {
            fix,
            tls,
            book,
            delivered,
            er_table,
            md_table,
            ..
        } = cur;
        let Some(tls) = tls.as_mut() else {
            return;
        };
        let mut desk = DeskImpl {
            before,
            after,
            current: i,
            current_up,
            deferred: &mut self.deferred,
            templates: &mut self.templates,
            ids: &mut self.ids,
            risk: &mut self.risk,
            counters: c,
            blocked: self.blocked,
        };
        let strategy = &mut self.strategy;
        let session = SessionId(i as u8);
        let sc = &c.session[i];
        // What the FIX session has not had yet; consumed (and logged) by `settle`.
        let input = tls.plaintext().get(*delivered..).unwrap_or_default();
        let n = input.len();
        fix.handle_input(now.utc, input, &mut |m: &Message<'_>| match m.msg_type() {
            b"W" | b"X" => {
                let Some(book) = book.as_mut() else {
                    return;
                };
                let seq = m.seq_num().unwrap_or(0);
                if let Ok(md) = MarketData::new_cached(m, md_table) {
                    let _ = book.apply_message(&md, seq);
                    bump(&sc.book_updates, 1);
                    let update = BookUpdate { session, book, seq };
                    desk.risk.on_book(now.utc, &update);
                    strategy.on_book(&mut Context::new(now.utc, &mut desk), &update);
                }
            }
            b"8" => {
                if let Ok(er) = ExecutionReport::new_cached(m, er_table) {
                    bump(&sc.execution_reports, 1);
                    if er.exec_type() == ExecType::Rejected {
                        bump(&sc.order_rejects, 1);
                    }
                    desk.risk.on_execution(session, &er);
                    strategy.on_execution(&mut Context::new(now.utc, &mut desk), session, &er);
                }
            }
            b"j" => bump(&sc.business_rejects, 1),
            _ => {}
        });
        *delivered += n;
    }

    /// Sends the orders queued for session `i` while its messages were being handled.
    fn drain_deferred(&mut self, i: usize, now: Now) {
        let c = self.counters.counters();
        for d in 0..DEFERRED {
            let Some(p) = self.deferred[d] else {
                continue;
            };
            let Some(tpl) = self.templates.get_mut(p.order.index()) else {
                self.deferred[d] = None;
                continue;
            };
            if tpl.session.index() != i {
                continue;
            }
            self.deferred[d] = None;
            let s = &mut self.slots[i];
            let r = if s.logged_on() {
                send_order(&mut s.fix, tpl, now.utc, p)
            } else {
                Err(OrderError::SessionDown)
            };
            match r {
                Ok(()) => {
                    s.dirty = true;
                    bump(&c.session[i].orders_sent, 1);
                }
                Err(e) => {
                    bump(&c.session[i].orders_refused, 1);
                    self.strategy.on_order_failed(p.cl_ord_id, e);
                }
            }
        }
    }

    /// Flushes every session a strategy sent on, and hands the frames to the NIC: each
    /// session's new segments first, one tx burst per session ([`Stack::transmit`], so an
    /// order leaves before the ACK owed to the market-data connection), then the rest.
    fn flush_dirty(&mut self, now: Now) {
        let mut any = false;
        for i in 0..self.slots.len() {
            if self.slots[i].dirty {
                any = true;
                if let Err(e) = self.flush(i) {
                    self.teardown(i, e, now);
                }
            }
            let s = &mut self.slots[i];
            if core::mem::take(&mut s.written) {
                if let Some(conn) = s.conn {
                    self.stack.transmit(conn, now.mono_ns);
                }
            }
        }
        if any || self.stack_dirty {
            self.stack.poll(now.mono_ns);
            self.stack_dirty = false;
        }
        // The frames are out: now what the cycle received and sent is logged.
        for i in 0..self.slots.len() {
            self.settle(i, now);
        }
    }

    /// FIX → TLS → TCP for session `i`.
    fn flush(&mut self, i: usize) -> Result<(), Teardown> {
        let c = &self.counters.counters().session[i];
        let s = &mut self.slots[i];
        s.dirty = false;
        let (Some(conn), Some(tls)) = (s.conn, s.tls.as_mut()) else {
            return Ok(());
        };
        if self.stack.state(conn) == ConnState::Connecting {
            return Ok(());
        }
        let send = |stack: &mut Stack<Metered<N>>, tls: &mut tickwire_tls::Session| {
            let out = tls.pending_ciphertext();
            if out.is_empty() {
                return Ok(false);
            }
            let n = stack.send(conn, out).map_err(|_| Teardown::TcpClosed)?;
            tls.consume_ciphertext(n);
            bump(&c.tls_bytes_out, n as u64);
            Ok(n > 0)
        };
        s.written |= send(&mut self.stack, tls)?;
        while tls.is_established()
            && s.fix.pending_transmit().len() > s.sealed
            && tls.pending_ciphertext().len() < MAX_QUEUED_CIPHERTEXT
        {
            let unsealed = &s.fix.pending_transmit()[s.sealed..];
            let n = unsealed.len().min(RECORD_PLAINTEXT);
            // Sealed straight into TCP's send buffer when nothing waits before it.
            match crate::link::seal_record(&mut self.stack, conn, tls, &unsealed[..n]) {
                Ok(Some(k)) => {
                    bump(&c.tls_bytes_out, k as u64);
                    s.written = true;
                }
                Ok(None) => {}
                Err(crate::link::LinkError::Tls(e)) => return Err(Teardown::Tls(e)),
                Err(crate::link::LinkError::Tcp(_)) => return Err(Teardown::TcpClosed),
            }
            // Consumed (and recorded) by `settle`, after the NIC has the frames.
            s.sealed += n;
            bump(&c.tls_records_out, 1);
            s.written |= send(&mut self.stack, tls)?;
        }
        self.stack_dirty = true;
        Ok(())
    }

    /// Ends a flush of session `i`: the FIX bytes it sealed leave the transmit queue, and the
    /// message log records each message whose first byte was among them. Called once the
    /// frames are with the NIC (or a flush failed), so that the log's framing and copies are
    /// not between a tick and the order it fires.
    fn settle(&mut self, i: usize, now: Now) {
        self.settle_input(i, now);
        let s = &mut self.slots[i];
        let sealed = core::mem::take(&mut s.sealed);
        if sealed == 0 {
            return;
        }
        if let Some(tap) = self.tap.as_mut() {
            let queue = s.fix.pending_transmit();
            let limits = FrameLimits {
                max_message_len: queue.len().max(1),
            };
            while s.out_logged < sealed {
                let rest = &queue[s.out_logged..];
                let m = match frame_boundary(rest, limits) {
                    Ok(Some(m)) => m,
                    _ => rest.len(),
                };
                tap.record(i as u8, Direction::Out, self.utc_ns, &rest[..m]);
                s.out_logged += m;
            }
        }
        s.out_logged = s.out_logged.saturating_sub(sealed);
        s.fix.consume_transmit(sealed);
    }

    /// The received half of [`Engine::settle`]: the plaintext the FIX session has taken leaves
    /// TLS's buffer, and the message log records each whole message in it (the probe's
    /// Heartbeat is found there too).
    fn settle_input(&mut self, i: usize, now: Now) {
        let c = self.counters.counters();
        let s = &mut self.slots[i];
        let delivered = core::mem::take(&mut s.delivered);
        if delivered == 0 {
            return;
        }
        let Some(tls) = s.tls.as_mut() else {
            return;
        };
        let input = tls.plaintext().get(..delivered).unwrap_or_default();
        if self.tap.is_some() || s.probe.is_some() {
            let (tap, probe) = (&mut self.tap, &mut s.probe);
            let sc = &c.session[i];
            s.inbound.feed(input, |msg| {
                if let Some(t) = tap.as_mut() {
                    t.record(i as u8, Direction::In, now.utc.nanos, msg);
                }
                if let Some(p) = probe {
                    if contains(msg, b"\x0135=0\x01") && contains(msg, &p.needle[..p.len]) {
                        set(&sc.probe_rtt_ns, (now.mono_ns - p.sent_ns).max(0) as u64);
                        bump(&sc.probe_count, 1);
                        *probe = None;
                    }
                }
            });
        } else {
            s.inbound.reset();
        }
        tls.consume_plaintext(delivered);
    }

    /// [`Engine::flush`] then [`Engine::settle`], before the session's queues change (a close).
    fn flush_settled(&mut self, i: usize, now: Now) -> Result<(), Teardown> {
        let r = self.flush(i);
        self.settle(i, now);
        r
    }

    /// Tells the strategy about a session that came up or went down.
    fn notify(&mut self, i: usize, now: Now) {
        let Some(change) = self.slots[i].change.take() else {
            return;
        };
        let c = self.counters.counters();
        let (before, rest) = self.slots.split_at_mut(i);
        let Some((cur, after)) = rest.split_first_mut() else {
            return;
        };
        let mut desk = DeskImpl {
            before,
            after,
            current: i,
            current_up: cur.logged_on(),
            deferred: &mut self.deferred,
            templates: &mut self.templates,
            ids: &mut self.ids,
            risk: &mut self.risk,
            counters: c,
            blocked: self.blocked,
        };
        self.strategy.on_session(
            &mut Context::new(now.utc, &mut desk),
            SessionId(i as u8),
            change,
        );
        self.drain_deferred(i, now);
        self.publish_session(i);
    }

    fn publish_session(&self, i: usize) {
        let c = &self.counters.counters().session[i];
        let s = &self.slots[i];
        let st = s.fix.stats();
        set(&c.phase, s.phase.code());
        set(&c.fix_in, st.received);
        set(&c.fix_out, st.sent);
        set(&c.fix_garbled, st.garbled);
        set(&c.rejects_sent, st.rejects_sent);
        set(&c.tls_records_in, s.records_in.records);
        set(&c.next_sender_seq, s.fix.journal().next_sender_seq());
        set(&c.next_target_seq, s.fix.journal().next_target_seq());
    }

    fn publish(&self, _now: Now) {
        let c = self.counters.counters();
        let nic = self.stack.nic();
        let pc = self.stack.counters();
        set(&c.port.rx_frames, nic.rx_frames);
        set(&c.port.rx_bytes, nic.rx_bytes);
        set(&c.port.tx_frames, nic.tx_frames);
        set(&c.port.tx_bytes, nic.tx_bytes);
        set(&c.port.tx_ring_full, pc.tx_ring_full);
        set(&c.port.stack_rx_frames, pc.rx_frames);
        set(&c.port.drop_not_allowed, pc.drops.not_allowed);
        set(&c.port.drop_unsupported, pc.drops.unsupported);
        set(&c.port.drop_malformed, pc.drops.malformed);
        let dropped = self.tap.as_ref().map_or(0, Tap::dropped);
        set(&c.log_dropped, self.log_dropped_before + dropped);
        for i in 0..self.slots.len() {
            self.publish_session(i);
        }
    }
}

fn read_counter(c: &std::sync::atomic::AtomicU64) -> u64 {
    counters::read(c)
}

/// What a runner thread drives: one duty cycle at a time.
pub trait Duty {
    /// One cycle at `now`; returns the work done (0: idle).
    fn do_work(&mut self, now: Now) -> usize;
}

impl<N: Nic, J: Journal, S: Strategy, R: PreTrade> Duty for Engine<N, J, S, R> {
    #[inline]
    fn do_work(&mut self, now: Now) -> usize {
        Engine::do_work(self, now)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn message(seq: u64, text: &[u8]) -> Vec<u8> {
        let mut buf = vec![0u8; 512];
        let mut e = Encoder::new(&mut buf);
        e.begin(b"FIX.4.4", b"0")
            .uint(34, seq)
            .field(49, b"A")
            .field(56, b"B")
            .field(58, text);
        let n = e.finish().unwrap();
        buf.truncate(n);
        buf
    }

    #[test]
    fn framer_finds_every_message_across_any_split_and_skips_garbage() {
        let mut stream = Vec::new();
        let mut want = Vec::new();
        for seq in 1..=5 {
            let m = message(seq, &vec![b'x'; 10 * seq as usize]);
            stream.extend_from_slice(&m);
            want.push(m);
            if seq == 3 {
                stream.extend_from_slice(b"garbage\x01");
            }
        }
        for cut in 0..=stream.len() {
            for cut2 in cut..=stream.len() {
                if cut2 != cut && cut2 % 7 != 0 {
                    continue;
                }
                let mut f = Framer::new(4096);
                let mut got = Vec::new();
                for piece in [&stream[..cut], &stream[cut..cut2], &stream[cut2..]] {
                    f.feed(piece, |m| got.push(m.to_vec()));
                }
                assert_eq!(got, want, "cut at {cut} and {cut2}");
            }
        }
        // A message longer than the buffer is skipped; the next one is found.
        let long = message(9, &[b'y'; 300]);
        let short = message(10, b"z");
        let mut f = Framer::new(256);
        let mut got = Vec::new();
        f.feed(&long[..100], |m| got.push(m.to_vec()));
        f.feed(&long[100..], |m| got.push(m.to_vec()));
        f.feed(&short, |m| got.push(m.to_vec()));
        assert_eq!(got, [short]);
    }

    #[test]
    fn event_lines_are_cut_at_their_capacity() {
        let (tap, mut drain) = crate::msglog::ring(0);
        let mut tap = Some(tap);
        let long = "y".repeat(500);
        log_event(
            &mut tap,
            3,
            UtcTimestamp::from_nanos(7),
            format_args!("a {long}"),
        );
        let mut r = crate::msglog::Record::default();
        assert!(drain.next(&mut r));
        assert_eq!((r.session, r.nanos, r.bytes.len()), (3, 7, 192));
        assert!(r.bytes.starts_with(b"a yyy"));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_bounded_jitter() {
        let b = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(2),
        };
        let ms = 1_000_000;
        for (attempt, base) in [
            (0, 100),
            (1, 200),
            (2, 400),
            (4, 1600),
            (5, 2000),
            (60, 2000),
        ] {
            for r in [0, 1, 12345, u64::MAX] {
                let d = b.delay_ns(attempt, r);
                assert!(
                    d >= base * ms / 2 && d <= base * ms,
                    "attempt {attempt}: {d} ns"
                );
            }
        }
        assert_eq!(b.delay_ns(0, 0), 50 * ms);
    }
}
