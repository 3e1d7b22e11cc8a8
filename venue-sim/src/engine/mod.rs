//! The venue's matching engine: Kraken Spot or Derivatives order handling as pure logic —
//! requests in, events out, time as a parameter, no IO (SPEC §3.6, §3.7, §4.1–4.6, §4.15, §5,
//! §6, §8, Appendix A).
//!
//! ```text
//!            ┌──────────────────────────── Engine ───────────────────────────────┐
//! 35=D ─────►│ handle_new_order ─► limits ─► ClOrdID ─► validation ─► book/match │
//! 35=F/G/H/q►│ handle_cancel / _amend / _status / _mass_cancel                   │──► poll_event()
//! logout ───►│ handle_disconnect (cancel-on-disconnect)                          │    Report  → 35=8
//! clock ────►│ handle_time (GTD expiry, EffectiveTime)   set_index_price/status  │    Reject  → 35=j/3
//!            └───────────────────────────────────────────────────────────────────┘    Book/Trade → MD
//!                                                                                    Disconnect
//! ```
//!
//! Call order: [`Engine::new`] with the instruments, [`Engine::add_account`] per client,
//! [`Engine::open_session`] at each Logon; then any `handle_*` call, each followed by draining
//! [`Engine::poll_event`] (events of one call are complete when it returns: reports and trades
//! in the order they happened, then one [`BookUpdate`] per price level the call touched).
//! Every `handle_*` first runs the timers that fell due up to `now`, so `now` must not go
//! backwards by much (a timestamp in the past is treated as "no time passed").
//!
//! Matching: price-time priority per instrument; trades print at the resting order's price;
//! icebergs show `DisplayQty` and reload at the back of their level; stop, take-profit and
//! trailing orders wait in trigger sets for the last trade price (or an injected index price)
//! and enter as market or limit orders with fresh time priority; self-trade prevention compares
//! accounts. Prices and quantities are `i64` at each instrument's precision; reports carry
//! [`Decimal`]s.
//!
//! Capacities are fixed at start-up ([`Config`]): the order slab, the level pool and sorted level
//! vectors, the trigger vectors, the timer heap, the ClOrdID index (a `HashMap` reserved at twice
//! `max_orders`, which keeps hashbrown from ever growing it) and the event queue (reserved at
//! `event_capacity`; it only grows if a caller lets more than that many events pile up). Steady
//! state therefore does not allocate. A request that would need more than the configured
//! capacity is refused with `EService:Unavailable` (or `EOrder:Scheduled orders limit exceeded`
//! for trigger orders) rather than growing anything.
//!
//! Nothing here panics on peer input: every malformed or unexpected request becomes a reject
//! event. The only `Err` results are API misuse by the FIX layer (an unknown or closed session).

mod book;
mod config;
mod event;
mod ids;
mod instrument;
mod intake;
mod l3;
mod matching;
mod modify;
mod order;
mod request;
mod triggers;
mod types;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

use tickwire_fix::decimal::Decimal;
use tickwire_fix::kraken::ClOrdIdRegistry;
use tickwire_fix::time::UtcTimestamp;

pub use config::{
    AccountConfig, ClOrdIdRules, Config, InstrumentSpec, PostOnlyCross, SessionConfig,
};
pub use event::{
    text, BookUpdate, Disconnect, Event, ExecReport, Fill, PublicTrade, Reject, RejectMessage,
    RejectReason, ReportText,
};
pub use instrument::InstrumentError;
pub use l3::RestingOrder;
pub use request::{AmendRequest, CancelRequest, MassCancelRequest, NewOrder, StatusRequest};
pub use types::{
    AccountId, ClOrdId, ExecInst, ExecType, InlineStr, InstrumentId, InstrumentStatus, Liquidity,
    MassCancelScope, MsgKind, OrdStatus, OrdType, OrderId, SessionId, Side, StpMode, TimeInForce,
    TradeId, TriggerRef, UnknownExecInst, Venue, CLORDID_MAX,
};

use instrument::Instrument;
use order::{Order, Slab, State};

use crate::limits::{ErrorRate, ErrorVerdict, SpotRateCounter, TokenBucket, TOO_MANY_ERRORS};

/// Why the engine could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildError {
    /// An instrument's parameters are inconsistent.
    Instrument(InstrumentError),
    /// More than 65 535 instruments.
    TooManyInstruments,
    /// A capacity in [`Config`] is zero.
    ZeroCapacity(&'static str),
}

impl core::fmt::Display for BuildError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Instrument(e) => e.fmt(f),
            Self::TooManyInstruments => f.write_str("more than 65535 instruments"),
            Self::ZeroCapacity(what) => write!(f, "capacity {what} is zero"),
        }
    }
}

impl std::error::Error for BuildError {}

/// The configured number of accounts or sessions is in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapacityError;

impl core::fmt::Display for CapacityError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("engine capacity exhausted")
    }
}

impl std::error::Error for CapacityError {}

/// The FIX layer used a session or account the engine does not know (API misuse, not peer
/// input).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionError {
    /// Never opened, or its slot was reused since.
    Unknown,
    /// Already disconnected.
    Closed,
    /// The account id was not returned by [`Engine::add_account`].
    UnknownAccount,
    /// Every session slot is in use.
    Full,
}

impl core::fmt::Display for SessionError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Unknown => "unknown session",
            Self::Closed => "session closed",
            Self::UnknownAccount => "unknown account",
            Self::Full => "no free session slot",
        })
    }
}

impl std::error::Error for SessionError {}

/// Why [`Engine::add_participant`] failed: the step that did, with its own error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParticipantError {
    /// Registering the account.
    Account(CapacityError),
    /// Opening its session.
    Session(SessionError),
}

impl core::fmt::Display for ParticipantError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Account(e) => e.fmt(f),
            Self::Session(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ParticipantError {}

/// Hasher for keys that are already 64-bit hashes: one multiply-xorshift.
#[derive(Debug, Default, Clone, Copy)]
struct MixHasher(u64);

impl Hasher for MixHasher {
    fn finish(&self) -> u64 {
        let x = self.0.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        x ^ (x >> 29)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 ^= v;
    }
}

type MixMap = HashMap<u64, u32, BuildHasherDefault<MixHasher>>;

/// FNV-1a of a ClOrdID, keyed by the owning session.
fn clordid_key(session: SessionId, id: &[u8]) -> u64 {
    let seed = 0xcbf2_9ce4_8422_2325u64
        ^ (u64::from(session.index) << 32 | u64::from(session.generation)).wrapping_mul(0x9E37);
    id.iter().fold(seed, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// What a timer does when it falls due.
const TIMER_ACTIVATE: u8 = 0;
const TIMER_EXPIRE: u8 = 1;

#[derive(Debug)]
struct Account {
    cfg: AccountConfig,
    /// Spot rate counter per instrument.
    rate: Vec<SpotRateCounter>,
    /// Live orders per instrument (the open-order cap counts these).
    open: Vec<u32>,
    /// Net position per instrument in quantity units (Derivatives, Spot margin).
    position: Vec<i64>,
    /// ClOrdIDs used today (duplicates, increasing numeric ids).
    clordids: Option<ClOrdIdRegistry>,
}

#[derive(Debug)]
struct SessionSlot {
    generation: u32,
    open: bool,
    account: AccountId,
    cfg: SessionConfig,
    bucket: Option<TokenBucket>,
    errors: Option<ErrorRate>,
    disconnect_signalled: bool,
}

/// The matching engine of one venue (Spot or Derivatives) with all its instruments, accounts
/// and sessions. See the module documentation for the call order.
#[derive(Debug)]
pub struct Engine {
    cfg: Config,
    instruments: Vec<Instrument>,
    symbols: HashMap<Box<[u8]>, u16>,
    orders: Slab,
    accounts: Vec<Account>,
    sessions: Vec<SessionSlot>,
    by_clordid: MixMap,
    timers: BinaryHeap<Reverse<(i64, u8, u64)>>,
    timer_capacity: usize,
    events: VecDeque<Event>,
    touched: Vec<(InstrumentId, Side, i64)>,
    fired: Vec<(u64, u32, i64)>,
    scratch_fired: Vec<u32>,
    scratch: Vec<u32>,
    /// (account, instrument) whose position closed or flipped during this call.
    flattened: Vec<(AccountId, InstrumentId)>,
    seq: u64,
    /// Last queue-entry time handed out: L3's 5273 is unique and follows time priority.
    queue_ns: i64,
    exec_id: u64,
    trade_no: u64,
}

impl Engine {
    /// Builds the engine and allocates every capacity of `cfg`.
    ///
    /// # Errors
    /// [`BuildError`] for inconsistent instruments or zero capacities.
    pub fn new(cfg: Config, specs: Vec<InstrumentSpec>) -> Result<Engine, BuildError> {
        for (what, v) in [
            ("max_orders", cfg.max_orders),
            ("max_levels", cfg.max_levels),
            ("max_sessions", cfg.max_sessions),
            ("max_accounts", cfg.max_accounts),
            ("max_trigger_orders", cfg.max_trigger_orders),
        ] {
            if v == 0 {
                return Err(BuildError::ZeroCapacity(what));
            }
        }
        if specs.len() > usize::from(u16::MAX) {
            return Err(BuildError::TooManyInstruments);
        }
        let mut instruments = Vec::with_capacity(specs.len());
        let mut symbols = HashMap::with_capacity(specs.len());
        for (i, spec) in specs.into_iter().enumerate() {
            let sym: Box<[u8]> = spec.symbol.as_bytes().into();
            if symbols.insert(sym, i as u16).is_some() {
                return Err(BuildError::Instrument(InstrumentError::DuplicateSymbol(
                    spec.symbol,
                )));
            }
            instruments.push(
                Instrument::new(
                    spec,
                    cfg.max_levels,
                    cfg.max_trigger_orders,
                    cfg.max_orders,
                    cfg.first_trade_seq,
                )
                .map_err(BuildError::Instrument)?,
            );
        }
        let error_params = cfg.error_rate;
        let sessions = (0..cfg.max_sessions)
            .map(|_| SessionSlot {
                generation: 0,
                open: false,
                account: AccountId(0),
                cfg: SessionConfig::default(),
                bucket: None,
                errors: error_params.map(ErrorRate::new),
                disconnect_signalled: false,
            })
            .collect();
        let mut by_clordid = MixMap::default();
        by_clordid.reserve(cfg.max_orders * 2);
        let timer_capacity = cfg.max_orders.max(16);
        Ok(Engine {
            orders: Slab::new(cfg.max_orders),
            accounts: Vec::with_capacity(cfg.max_accounts),
            sessions,
            by_clordid,
            timers: BinaryHeap::with_capacity(timer_capacity),
            timer_capacity,
            events: VecDeque::with_capacity(cfg.event_capacity),
            touched: Vec::with_capacity(cfg.max_levels * 2),
            fired: Vec::with_capacity(cfg.max_trigger_orders * 6),
            scratch_fired: Vec::with_capacity(cfg.max_trigger_orders * 3),
            scratch: Vec::with_capacity(cfg.max_orders),
            flattened: Vec::with_capacity(cfg.max_accounts * 2),
            seq: 0,
            queue_ns: 0,
            exec_id: 0,
            trade_no: 0,
            instruments,
            symbols,
            cfg,
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Registers a client account.
    ///
    /// # Errors
    /// [`CapacityError`] when `max_accounts` are registered.
    pub fn add_account(&mut self, cfg: AccountConfig) -> Result<AccountId, CapacityError> {
        if self.accounts.len() >= self.cfg.max_accounts {
            return Err(CapacityError);
        }
        let n = self.instruments.len();
        let rules = self.cfg.clordid;
        let increasing = self.cfg.venue == Venue::Spot && rules.spot_increasing;
        let clordids = (rules.unique || increasing)
            .then(|| ClOrdIdRegistry::new(self.cfg.clordids_per_account, increasing));
        self.accounts.push(Account {
            cfg,
            rate: vec![SpotRateCounter::new(cfg.tier.params()); n],
            open: vec![0; n],
            position: vec![0; n],
            clordids,
        });
        Ok(AccountId(self.accounts.len() as u32 - 1))
    }

    /// Registers a participant of the venue's own making (the synthetic market's and the
    /// replay's traders, a benchmark's market maker): an account without limits and one
    /// session on it that outlives any disconnect.
    ///
    /// # Errors
    /// [`ParticipantError`]: no account or no session slot left.
    pub fn add_participant(&mut self) -> Result<(AccountId, SessionId), ParticipantError> {
        let account = self
            .add_account(AccountConfig {
                unlimited: true,
                ..AccountConfig::default()
            })
            .map_err(ParticipantError::Account)?;
        let session = self
            .open_session(
                account,
                SessionConfig {
                    cancel_on_disconnect: false,
                },
            )
            .map_err(ParticipantError::Session)?;
        Ok((account, session))
    }

    /// Opens a trading session for `account` (at Logon).
    ///
    /// # Errors
    /// [`SessionError::UnknownAccount`], or [`SessionError::Full`] when `max_sessions` are open.
    pub fn open_session(
        &mut self,
        account: AccountId,
        cfg: SessionConfig,
    ) -> Result<SessionId, SessionError> {
        if account.0 as usize >= self.accounts.len() {
            return Err(SessionError::UnknownAccount);
        }
        let bucket = self.cfg.derivatives_bucket.map(TokenBucket::new);
        let (index, slot) = self
            .sessions
            .iter_mut()
            .enumerate()
            .find(|(_, s)| !s.open)
            .ok_or(SessionError::Full)?;
        slot.generation = slot.generation.wrapping_add(1);
        slot.open = true;
        slot.account = account;
        slot.cfg = cfg;
        slot.bucket = if self.cfg.venue == Venue::Derivatives {
            bucket
        } else {
            None
        };
        if let Some(e) = slot.errors.as_mut() {
            e.reset();
        }
        slot.disconnect_signalled = false;
        Ok(SessionId {
            index: index as u32,
            generation: slot.generation,
        })
    }

    fn session(&self, id: SessionId) -> Result<&SessionSlot, SessionError> {
        let s = self
            .sessions
            .get(id.index as usize)
            .filter(|s| s.generation == id.generation)
            .ok_or(SessionError::Unknown)?;
        if s.open {
            Ok(s)
        } else {
            Err(SessionError::Closed)
        }
    }

    /// The account a session trades for.
    ///
    /// # Errors
    /// [`SessionError`] for an unknown or closed session.
    pub fn session_account(&self, id: SessionId) -> Result<AccountId, SessionError> {
        self.session(id).map(|s| s.account)
    }

    /// Forgets the account's ClOrdIDs (daily rollover, or Logon with 5030=Y).
    pub fn reset_clordids(&mut self, account: AccountId) {
        if let Some(r) = self
            .accounts
            .get_mut(account.0 as usize)
            .and_then(|a| a.clordids.as_mut())
        {
            r.reset();
        }
    }

    /// The next event, oldest first.
    pub fn poll_event(&mut self) -> Option<Event> {
        let e = self.events.pop_front();
        if self.events.is_empty() {
            // Restart the ring at its front so a drained queue keeps reusing the same
            // (cache-warm) slots instead of walking the whole reserved buffer.
            self.events.clear();
        }
        e
    }

    /// Events waiting to be polled.
    pub fn pending_events(&self) -> usize {
        self.events.len()
    }

    /// Instrument ids and their specs, in the order given to [`Engine::new`].
    pub fn instruments(&self) -> impl Iterator<Item = (InstrumentId, &InstrumentSpec)> {
        self.instruments
            .iter()
            .enumerate()
            .map(|(i, x)| (InstrumentId(i as u16), &x.spec))
    }

    /// The instrument's spec (symbol, quote currency for 138, precisions).
    pub fn instrument(&self, id: InstrumentId) -> Option<&InstrumentSpec> {
        self.instruments.get(usize::from(id.0)).map(|i| &i.spec)
    }

    /// The instrument with this symbol.
    pub fn instrument_id(&self, symbol: &[u8]) -> Option<InstrumentId> {
        self.symbols.get(symbol).map(|&i| InstrumentId(i))
    }

    /// Current AssetPairStatus.
    pub fn status(&self, id: InstrumentId) -> Option<InstrumentStatus> {
        self.instruments.get(usize::from(id.0)).map(|i| i.status)
    }

    /// Changes AssetPairStatus. Resting orders stay; the new status applies to what comes next.
    pub fn set_status(&mut self, id: InstrumentId, status: InstrumentStatus) {
        if let Some(i) = self.instruments.get_mut(usize::from(id.0)) {
            i.status = status;
        }
    }

    /// Price levels of one side, best first: (price, aggregate visible size).
    pub fn depth(
        &self,
        id: InstrumentId,
        side: Side,
    ) -> impl Iterator<Item = (Decimal, Decimal)> + '_ {
        self.instruments
            .get(usize::from(id.0))
            .into_iter()
            .flat_map(move |inst| {
                inst.book
                    .levels(side)
                    .map(move |(p, l)| (inst.px(p), inst.qty(inst.book.level(l).visible)))
            })
    }

    /// Best bid: (price, aggregate visible size).
    pub fn best_bid(&self, id: InstrumentId) -> Option<(Decimal, Decimal)> {
        self.depth(id, Side::Buy).next()
    }

    /// Best offer: (price, aggregate visible size).
    pub fn best_ask(&self, id: InstrumentId) -> Option<(Decimal, Decimal)> {
        self.depth(id, Side::Sell).next()
    }

    /// Last trade price.
    pub fn last_price(&self, id: InstrumentId) -> Option<Decimal> {
        let inst = self.instruments.get(usize::from(id.0))?;
        inst.last_price.map(|p| inst.px(p))
    }

    /// The account's net position (Derivatives, Spot margin), positive long.
    pub fn position(&self, account: AccountId, id: InstrumentId) -> Decimal {
        match (
            self.accounts.get(account.0 as usize),
            self.instruments.get(usize::from(id.0)),
        ) {
            (Some(a), Some(inst)) => Decimal::new(a.position[usize::from(id.0)], inst.qp),
            _ => Decimal::ZERO,
        }
    }

    /// The account's live orders on one instrument (what the open-order cap counts).
    pub fn open_orders(&self, account: AccountId, id: InstrumentId) -> u32 {
        self.accounts
            .get(account.0 as usize)
            .and_then(|a| a.open.get(usize::from(id.0)).copied())
            .unwrap_or(0)
    }

    /// Live orders in the engine.
    pub fn live_orders(&self) -> usize {
        self.orders.live()
    }

    /// The account's Spot rate counter on one instrument at `now`, in micro-units.
    pub fn rate_counter_micros(
        &mut self,
        account: AccountId,
        id: InstrumentId,
        now: UtcTimestamp,
    ) -> i64 {
        self.accounts
            .get_mut(account.0 as usize)
            .and_then(|a| a.rate.get_mut(usize::from(id.0)))
            .map_or(0, |r| r.counter_micros(now))
    }

    /// Sets the index price that 388=1 triggers follow, and fires what it triggers.
    ///
    /// # Errors
    /// [`RejectReason::TickSizeCheckFailed`] if the price does not fit the instrument's
    /// precision, [`RejectReason::InvalidPrice`] if it is not positive or absurdly large,
    /// [`RejectReason::UnknownAssetPair`] for an unknown instrument.
    pub fn set_index_price(
        &mut self,
        id: InstrumentId,
        price: Decimal,
        now: UtcTimestamp,
    ) -> Result<(), RejectReason> {
        let inst = self
            .instruments
            .get_mut(usize::from(id.0))
            .ok_or(RejectReason::UnknownAssetPair)?;
        let p = inst
            .price_units(price)
            .map_err(|_| RejectReason::TickSizeCheckFailed)?;
        if p <= 0 || p > instrument::MAX_PRICE_UNITS {
            return Err(RejectReason::InvalidPrice);
        }
        inst.index_price = Some(p);
        self.run_timers(now);
        self.process_triggers(id, now);
        self.end_call(now);
        Ok(())
    }

    /// Runs the timers due at `now`: GTD expiry (`GTD order expired`) and EffectiveTime
    /// activation (Pending New → New).
    pub fn handle_time(&mut self, now: UtcTimestamp) {
        self.run_timers(now);
        self.end_call(now);
    }

    /// Counts an error the FIX layer produced on this session (a 35=3 it sent) toward the
    /// error-rate safeguard; may queue a [`Disconnect`].
    ///
    /// # Errors
    /// [`SessionError`] for an unknown or closed session.
    pub fn note_error(
        &mut self,
        session: SessionId,
        now: UtcTimestamp,
    ) -> Result<(), SessionError> {
        self.session(session)?;
        self.count_error(session, now);
        Ok(())
    }

    /// Writes the New report's order description (`buy 0.01 BTC/USD @ limit 84000.0`) into
    /// `out`; returns its length, or `None` if `out` is too short (128 bytes always suffice
    /// for symbols up to 40 bytes).
    pub fn write_description(&self, r: &ExecReport, out: &mut [u8]) -> Option<usize> {
        let spec = self.instrument(r.instrument)?;
        let mut w = Writer { out, len: 0 };
        w.put(match r.side {
            Side::Buy => b"buy ",
            Side::Sell => b"sell ",
        })?;
        w.dec(r.order_qty)?;
        w.put(b" ")?;
        w.put(spec.symbol.as_bytes())?;
        w.put(b" @ ")?;
        let price = r.price.unwrap_or(Decimal::ZERO);
        let stop = r.stop_px.unwrap_or(Decimal::ZERO);
        match r.ord_type {
            OrdType::Market => w.put(b"market")?,
            OrdType::Limit => {
                w.put(b"limit ")?;
                w.dec(price)?;
            }
            OrdType::StopLoss | OrdType::StopLossLimit => {
                w.put(b"stop loss ")?;
                w.dec(stop)?;
            }
            OrdType::TakeProfit | OrdType::TakeProfitLimit => {
                w.put(b"take profit ")?;
                w.dec(stop)?;
            }
            OrdType::TrailingStop | OrdType::TrailingStopLimit => {
                w.put(b"trailing stop +")?;
                w.dec(stop)?;
            }
        }
        match r.ord_type {
            OrdType::StopLossLimit | OrdType::TakeProfitLimit => {
                w.put(b" -> limit ")?;
                w.dec(price)?;
            }
            OrdType::TrailingStopLimit => {
                w.put(b" -> limit +")?;
                w.dec(price)?;
            }
            _ => {}
        }
        Some(w.len)
    }

    /// Checks the engine's internal consistency in O(orders + levels): every level's aggregate
    /// equals the sum of its orders' visible quantities and its FIFO links are sound, levels are
    /// sorted and the book is not crossed, resting orders are exactly the linked ones, visible
    /// quantities are within (0, leaves], untriggered orders sit in their trigger set, and the
    /// per-account open-order counts match. For tests and diagnostics (allocates its report).
    ///
    /// # Errors
    /// A description of the first inconsistency found.
    pub fn verify(&self) -> Result<(), String> {
        let orders = &self.orders.orders;
        let mut linked = vec![false; orders.len()];
        for (i, inst) in self.instruments.iter().enumerate() {
            for side in [Side::Buy, Side::Sell] {
                let mut prev: Option<i64> = None;
                for (price, l) in inst.book.levels(side) {
                    if let Some(p) = prev {
                        let better = match side {
                            Side::Buy => p > price,
                            Side::Sell => p < price,
                        };
                        if !better {
                            return Err(format!("instrument {i}: levels out of order at {price}"));
                        }
                    }
                    prev = Some(price);
                    let level = inst.book.level(l);
                    let (mut sum, mut n, mut s, mut back) = (0i64, 0u32, level.head, order::NIL);
                    while s != order::NIL {
                        let o = &orders[s as usize];
                        if o.state != State::Resting || o.price != price || o.side != side {
                            return Err(format!("order in slot {s} misfiled at {price}"));
                        }
                        if o.prev != back {
                            return Err(format!("broken back link at slot {s}"));
                        }
                        if o.visible <= 0 || o.visible > o.leaves() {
                            return Err(format!(
                                "slot {s}: visible {} of leaves {}",
                                o.visible,
                                o.leaves()
                            ));
                        }
                        linked[s as usize] = true;
                        sum += o.visible;
                        n += 1;
                        back = s;
                        s = o.next;
                    }
                    if level.tail != back || sum != level.visible || n != level.count || n == 0 {
                        return Err(format!(
                            "instrument {i} level {price}: aggregate {} count {} vs orders {sum} {n}",
                            level.visible, level.count
                        ));
                    }
                }
            }
            if let (Some((b, _)), Some((a, _))) =
                (inst.book.best(Side::Buy), inst.book.best(Side::Sell))
            {
                if b >= a {
                    return Err(format!("instrument {i}: crossed book {b} >= {a}"));
                }
            }
        }
        let mut open = vec![vec![0u32; self.instruments.len()]; self.accounts.len()];
        for (s, o) in orders.iter().enumerate() {
            if o.state == State::Free {
                continue;
            }
            open[o.account.0 as usize][usize::from(o.instrument.0)] += 1;
            match o.state {
                State::Resting if !linked[s] => {
                    return Err(format!("slot {s} resting but not in its level"))
                }
                State::Working => return Err(format!("slot {s} left in Working state")),
                _ => {}
            }
            if o.cum < 0 || o.cum >= o.qty {
                return Err(format!("slot {s}: cum {} of qty {}", o.cum, o.qty));
            }
        }
        for (a, acct) in self.accounts.iter().enumerate() {
            if acct.open != open[a] {
                return Err(format!(
                    "account {a}: open counts {:?} vs {:?}",
                    acct.open, open[a]
                ));
            }
        }
        let untriggered = orders
            .iter()
            .filter(|o| o.state == State::Untriggered)
            .count();
        let in_sets: usize = self
            .instruments
            .iter()
            .flat_map(|i| i.triggers.iter())
            .map(|t| t.len())
            .sum();
        if untriggered != in_sets {
            return Err(format!(
                "{untriggered} untriggered orders but {in_sets} in trigger sets"
            ));
        }
        Ok(())
    }

    // ---- internal helpers shared by the request handlers ----

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// The queue-entry time of an order taking a new queue position at `now`: `now`, or 1 ns
    /// after the previous one, so that ordering by it is ordering by time priority.
    fn next_queue_ns(&mut self, now: UtcTimestamp) -> i64 {
        self.queue_ns = now.nanos.max(self.queue_ns.saturating_add(1));
        self.queue_ns
    }

    fn push(&mut self, e: Event) {
        self.events.push_back(e);
    }

    /// Counts one error for the safeguard and signals a disconnect once when it trips.
    fn count_error(&mut self, session: SessionId, now: UtcTimestamp) {
        let Some(s) = self.sessions.get_mut(session.index as usize) else {
            return;
        };
        if s.generation != session.generation {
            return;
        }
        let Some(errors) = s.errors.as_mut() else {
            return;
        };
        if errors.record(now) == ErrorVerdict::Exceeded && !s.disconnect_signalled {
            s.disconnect_signalled = true;
            self.events.push_back(Event::Disconnect(Disconnect {
                session,
                text: TOO_MANY_ERRORS,
            }));
        }
    }

    fn reject(
        &mut self,
        session: SessionId,
        msg: MsgKind,
        ref_id: &[u8],
        reason: RejectReason,
        now: UtcTimestamp,
    ) {
        let cut = &ref_id[..ref_id.len().min(CLORDID_MAX)];
        self.push(Event::Reject(Reject {
            session,
            msg,
            ref_id: ClOrdId::new(cut).unwrap_or(ClOrdId::EMPTY),
            reason,
            message: reason.message(),
            text: reason.text(self.cfg.venue),
            time: now,
        }));
        self.count_error(session, now);
    }

    /// Builds an ExecutionReport from the order's current state.
    #[allow(clippy::too_many_arguments)]
    fn report(
        &mut self,
        slot: u32,
        session: SessionId,
        exec_type: ExecType,
        ord_status: OrdStatus,
        cl_ord_id: ClOrdId,
        orig_cl_ord_id: Option<ClOrdId>,
        fill: Option<Fill>,
        text: ReportText,
        now: UtcTimestamp,
    ) {
        self.exec_id += 1;
        let o = &self.orders.orders[slot as usize];
        let inst = &self.instruments[usize::from(o.instrument.0)];
        let triggered = o.triggered_at != i64::MIN;
        let price = if Order::has_limit(o.entered_type) {
            Some(inst.px(o.price))
        } else {
            None
        };
        let stop_px = if Order::is_trigger_type(o.entered_type) {
            Some(inst.px(o.stop))
        } else {
            None
        };
        let leaves = if ord_status.is_terminal() {
            0
        } else {
            o.leaves()
        };
        let r = ExecReport {
            session,
            owner: o.session,
            account: o.account,
            instrument: o.instrument,
            exec_id: self.exec_id,
            order_id: o.order_id,
            cl_ord_id,
            orig_cl_ord_id,
            exec_type,
            ord_status,
            side: o.side,
            ord_type: o.ord_type,
            tif: o.tif,
            exec_inst: o.exec_inst,
            price,
            stop_px,
            trigger_price: triggered.then(|| inst.px(o.triggered_at)),
            order_qty: inst.qty(o.qty),
            cum_qty: inst.qty(o.cum),
            leaves_qty: inst.qty(leaves),
            avg_px: inst.avg_px(o.cum_notional, o.cum),
            gross_trade_amt: inst.money(o.cum_notional),
            display_qty: (o.display > 0).then(|| inst.qty(o.display)),
            expire_time: (o.expire_ns != 0).then(|| UtcTimestamp::from_nanos(o.expire_ns)),
            fill,
            cum_fee: (o.cum > 0).then(|| inst.fee(o.cum_fee)),
            text,
            transact_time: now,
        };
        self.events.push_back(Event::Report(r));
    }

    /// OrdStatus of a live order outside a specific transition.
    fn live_status(o: &Order) -> OrdStatus {
        if o.state == State::PendingNew {
            OrdStatus::PendingNew
        } else if o.cum > 0 {
            OrdStatus::PartiallyFilled
        } else {
            OrdStatus::New
        }
    }

    /// Remembers that a level changed, for one [`BookUpdate`] at the end of the call.
    fn touch(&mut self, inst: InstrumentId, side: Side, price: i64) {
        if !self.touched.contains(&(inst, side, price)) {
            self.touched.push((inst, side, price));
        }
    }

    /// One order request from start to end: the session's account, due timers, the request's
    /// own `work`, a reject naming `cl_ord_id` if it refuses, then [`Engine::end_call`].
    fn order_request(
        &mut self,
        session: SessionId,
        kind: MsgKind,
        cl_ord_id: &[u8],
        now: UtcTimestamp,
        work: impl FnOnce(&mut Self, AccountId) -> Result<(), RejectReason>,
    ) -> Result<(), SessionError> {
        let account = self.session(session)?.account;
        self.run_timers(now);
        if let Err(reason) = work(self, account) {
            self.reject(session, kind, cl_ord_id, reason, now);
        }
        self.end_call(now);
        Ok(())
    }

    /// The end of every request: cancel reduce-only orders whose position closed, then one
    /// book update per touched level.
    fn end_call(&mut self, now: UtcTimestamp) {
        while let Some((account, id)) = self.flattened.pop() {
            for slot in 0..self.orders.high_water() {
                let o = &self.orders.orders[slot];
                if o.account == account
                    && o.instrument == id
                    && o.exec_inst.reduce_only
                    && matches!(
                        o.state,
                        State::Resting | State::Untriggered | State::PendingNew
                    )
                    && self.reducible(o) == 0
                {
                    self.cancel_own(slot as u32, text::REDUCE_ONLY_CLOSED, now);
                }
            }
        }
        self.flush_book_updates(now);
    }

    fn flush_book_updates(&mut self, now: UtcTimestamp) {
        for i in 0..self.touched.len() {
            let (id, side, price) = self.touched[i];
            let inst = &self.instruments[usize::from(id.0)];
            let size = inst.book.size_at(side, price);
            let e = Event::Book(BookUpdate {
                instrument: id,
                side,
                price: inst.px(price),
                size: inst.qty(size),
                time: now,
            });
            self.events.push_back(e);
        }
        self.touched.clear();
    }

    /// Takes a live order out of whatever structure holds it (book, trigger set), releases its
    /// slot and ClOrdID index entry and its open-order count.
    fn finish(&mut self, slot: u32) {
        self.detach(slot);
        let o = self.orders.orders[slot as usize];
        let k = clordid_key(o.session, o.cl_ord_id.as_bytes());
        if self.by_clordid.get(&k) == Some(&slot) {
            self.by_clordid.remove(&k);
        }
        if let Some(a) = self.accounts.get_mut(o.account.0 as usize) {
            let n = &mut a.open[usize::from(o.instrument.0)];
            *n = n.saturating_sub(1);
        }
        self.orders.release(slot);
    }

    /// Removes the order from the book or its trigger set (state becomes Working).
    fn detach(&mut self, slot: u32) {
        let o = self.orders.orders[slot as usize];
        let inst = &mut self.instruments[usize::from(o.instrument.0)];
        match o.state {
            State::Resting => {
                inst.book.remove(&mut self.orders.orders, slot);
                self.touch(o.instrument, o.side, o.price);
            }
            State::Untriggered => {
                inst.triggers[instrument::ref_index(o.trigger_ref)].remove(&o, slot);
                self.orders.orders[slot as usize].state = State::Working;
            }
            State::PendingNew | State::Working | State::Free => {
                self.orders.orders[slot as usize].state = State::Working;
            }
        }
    }

    /// Cancels (or expires) a live order: one terminal report, then the slot is freed.
    #[allow(clippy::too_many_arguments)]
    fn close_order(
        &mut self,
        slot: u32,
        session: SessionId,
        exec_type: ExecType,
        cl_ord_id: ClOrdId,
        orig: Option<ClOrdId>,
        text: &'static str,
        now: UtcTimestamp,
    ) {
        self.detach(slot);
        let status = if exec_type == ExecType::Expired {
            OrdStatus::Expired
        } else {
            OrdStatus::Canceled
        };
        self.report(
            slot,
            session,
            exec_type,
            status,
            cl_ord_id,
            orig,
            None,
            ReportText::Static(text),
            now,
        );
        self.finish(slot);
    }

    /// Cancels with the order's own ClOrdID, reported to its owner.
    fn cancel_own(&mut self, slot: u32, text: &'static str, now: UtcTimestamp) {
        let o = &self.orders.orders[slot as usize];
        let (owner, cl) = (o.session, o.cl_ord_id);
        self.close_order(slot, owner, ExecType::Canceled, cl, None, text, now);
    }

    fn push_timer(&mut self, due_ns: i64, kind: u8, key: u64) {
        if self.timers.len() >= self.timer_capacity {
            // Drop entries of orders that are gone before the heap would have to grow.
            let orders = &self.orders;
            self.timers
                .retain(|Reverse((_, _, k))| orders.find(*k).is_some());
        }
        self.timers.push(Reverse((due_ns, kind, key)));
    }

    fn run_timers(&mut self, now: UtcTimestamp) {
        while let Some(&Reverse((due, kind, key))) = self.timers.peek() {
            if due > now.nanos {
                break;
            }
            self.timers.pop();
            let Some(slot) = self.orders.find(key) else {
                continue;
            };
            let o = self.orders.orders[slot as usize];
            let at = UtcTimestamp::from_nanos(due.max(o.created_ns));
            match kind {
                TIMER_ACTIVATE if o.state == State::PendingNew => {
                    self.activate_pending(slot, at);
                    self.process_triggers(o.instrument, at);
                }
                TIMER_EXPIRE if o.expire_ns == due => {
                    let (owner, cl) = (o.session, o.cl_ord_id);
                    self.close_order(
                        slot,
                        owner,
                        ExecType::Expired,
                        cl,
                        None,
                        text::GTD_EXPIRED,
                        at,
                    );
                }
                _ => {}
            }
        }
    }
}

/// Appends bytes into a caller's buffer, failing instead of truncating.
struct Writer<'a> {
    out: &'a mut [u8],
    len: usize,
}

impl Writer<'_> {
    fn put(&mut self, b: &[u8]) -> Option<()> {
        self.out
            .get_mut(self.len..self.len + b.len())?
            .copy_from_slice(b);
        self.len += b.len();
        Some(())
    }

    fn dec(&mut self, d: Decimal) -> Option<()> {
        let n = d.write(self.out.get_mut(self.len..)?).ok()?;
        self.len += n;
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Spot BTC/USD engine with room for `accounts` accounts and `sessions` sessions.
    fn engine(accounts: usize, sessions: usize) -> Engine {
        let cfg = Config {
            max_accounts: accounts,
            max_sessions: sessions,
            ..Config::spot()
        };
        Engine::new(cfg, vec![InstrumentSpec::btc_usd()]).expect("engine")
    }

    #[test]
    fn participants_keep_their_orders_and_say_which_capacity_ran_out() {
        let mut e = engine(2, 1);
        let (account, session) = e.add_participant().expect("participant");
        let now = UtcTimestamp::from_nanos(1_775_572_325_000_000_000);
        let qty = Decimal::parse(b"1").expect("qty");
        let px = Decimal::parse(b"100.0").expect("px");
        let order = NewOrder::limit(b"1", b"BTC/USD", Side::Buy, qty, px);
        let _ = e.handle_new_order(session, &order, now);
        let btc = e.instrument_id(b"BTC/USD").expect("BTC/USD");
        assert_eq!(e.open_orders(account, btc), 1);
        e.handle_disconnect(session, now).expect("disconnect");
        assert_eq!(e.open_orders(account, btc), 1, "no cancel on disconnect");
        // The session slot is free again; the second participant takes it, a third finds no
        // account left.
        e.add_participant().expect("second participant");
        assert_eq!(
            e.add_participant(),
            Err(ParticipantError::Account(CapacityError))
        );
    }

    #[test]
    fn a_participant_without_a_session_slot_is_refused_as_such() {
        let mut e = engine(4, 1);
        e.add_participant().expect("participant");
        let err = e.add_participant().expect_err("no session slot left");
        assert_eq!(err, ParticipantError::Session(SessionError::Full));
        assert_eq!(err.to_string(), "no free session slot");
    }
}
