//! What the engine calls with market data and execution reports, and the handle it gives back
//! for sending orders.
//!
//! ```text
//! 35=W/X ─► Book::apply_message ─► Strategy::on_book(ctx, update)
//! 35=8   ─► PreTrade::on_execution ─► Strategy::on_execution(ctx, session, report)
//! ctx.new_order(order, price, qty) ─► kill switch ─► ClOrdID ─► PreTrade::check
//!        ─► template patch (slots + checksum) ─► FIX session (journal, MsgSeqNum) ─► TLS ─► TCP
//! ```
//!
//! A strategy runs on the engine thread, inside the duty cycle: it must not block, allocate or
//! make system calls. Orders go out through templates precompiled at start-up
//! ([`crate::engine::Engine::add_order`]); the strategy chooses only price and quantity.
//!
//! The [`PreTrade`] hook sits between the strategy and the template: every order is checked before
//! a ClOrdID or a MsgSeqNum is spent on it, and sees every execution report first. [`AcceptAll`]
//! accepts everything; the pre-trade risk module (`crate::risk`) plugs in here.

use tickwire_fix::book::Book;
use tickwire_fix::decimal::Decimal;
use tickwire_fix::outbound::Side;
use tickwire_fix::session::SendError;
use tickwire_fix::template::TemplateError;
use tickwire_fix::time::UtcTimestamp;
use tickwire_fix::views::{ExecutionReport, OrdStatus};

/// A session of the engine (its index, in the order sessions were added).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(pub(crate) u8);

impl SessionId {
    /// Index of the session (also its slot in [`crate::counters::Counters::session`]).
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}

/// A precompiled order template registered with the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OrderId(pub(crate) u16);

impl OrderId {
    /// Index of the template.
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}

/// An order about to be sent, as the pre-trade check sees it.
#[derive(Debug, Clone, Copy)]
pub struct OrderIntent<'a> {
    /// Where it goes.
    pub session: SessionId,
    /// Which template.
    pub order: OrderId,
    /// Symbol (55) of the template.
    pub symbol: &'a [u8],
    /// Side (54) of the template.
    pub side: Side,
    /// Price, for priced order types.
    pub price: Option<Decimal>,
    /// Quantity.
    pub qty: Decimal,
    /// The ClOrdID the order will carry (assigned before the check, so that the check can key
    /// open orders by it; a refused order leaves a gap in the ids, which Kraken allows).
    pub cl_ord_id: u64,
}

/// Why the pre-trade check refused an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    /// Which rule refused it (a stable, static name such as `max_order_qty`).
    pub rule: &'static str,
}

/// The pre-trade check every order passes through.
pub trait PreTrade {
    /// Accepts or refuses `order` at `now`. Called before a ClOrdID is assigned.
    ///
    /// # Errors
    /// The [`Refusal`]; the order is not sent.
    fn check(&mut self, now: UtcTimestamp, order: &OrderIntent<'_>) -> Result<(), Refusal>;

    /// Sees every book update before the strategy does (price collars, staleness).
    fn on_book(&mut self, _now: UtcTimestamp, _update: &BookUpdate<'_>) {}

    /// Sees every execution report before the strategy does (positions, open orders).
    fn on_execution(&mut self, _session: SessionId, _report: &ExecutionReport<'_>) {}
}

/// Accepts every order.
#[derive(Debug, Clone, Copy, Default)]
pub struct AcceptAll;

impl PreTrade for AcceptAll {
    #[inline]
    fn check(&mut self, _now: UtcTimestamp, _order: &OrderIntent<'_>) -> Result<(), Refusal> {
        Ok(())
    }
}

/// Why an order was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderError {
    /// No template with this id.
    UnknownOrder,
    /// The template's session is not logged on.
    SessionDown,
    /// Orders are blocked (kill switch).
    Blocked,
    /// The pre-trade check refused it.
    Refused(Refusal),
    /// The ClOrdID space is exhausted.
    IdsExhausted,
    /// A value does not fit its slot.
    Template(TemplateError),
    /// The FIX session refused it (transmit queue or journal full).
    Send(SendError),
    /// Too many orders queued for the session whose message is being handled.
    Busy,
}

impl core::fmt::Display for OrderError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::UnknownOrder => f.write_str("unknown order template"),
            Self::SessionDown => f.write_str("session not logged on"),
            Self::Blocked => f.write_str("orders blocked (kill switch)"),
            Self::Refused(r) => write!(f, "refused by pre-trade check {}", r.rule),
            Self::IdsExhausted => f.write_str("ClOrdID space exhausted"),
            Self::Template(e) => write!(f, "template: {e}"),
            Self::Send(e) => write!(f, "send: {e}"),
            Self::Busy => f.write_str("too many orders queued in one message"),
        }
    }
}

impl std::error::Error for OrderError {}

/// A session came up or went down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionChange {
    /// FIX logon completed.
    LoggedOn,
    /// The connection ended (a reconnect follows unless the session was stopped).
    Down,
}

/// A market-data message was applied to a session's book.
#[derive(Debug, Clone, Copy)]
pub struct BookUpdate<'a> {
    /// The market-data session.
    pub session: SessionId,
    /// The book after the update (check [`Book::state`] before trusting it).
    pub book: &'a Book,
    /// MsgSeqNum of the message.
    pub seq: u64,
}

/// What the engine does for a strategy; implemented by the engine over its sessions.
pub(crate) trait Desk {
    fn submit(
        &mut self,
        now: UtcTimestamp,
        order: OrderId,
        price: Option<Decimal>,
        qty: Decimal,
    ) -> Result<u64, OrderError>;
    fn is_logged_on(&self, session: SessionId) -> bool;
}

/// The strategy's handle on the engine during a callback.
pub struct Context<'a> {
    now: UtcTimestamp,
    desk: &'a mut dyn Desk,
}

impl core::fmt::Debug for Context<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Context").field("now", &self.now).finish()
    }
}

impl<'a> Context<'a> {
    pub(crate) fn new(now: UtcTimestamp, desk: &'a mut dyn Desk) -> Context<'a> {
        Context { now, desk }
    }

    /// The cycle's time (read once per cycle).
    #[inline]
    pub fn now(&self) -> UtcTimestamp {
        self.now
    }

    /// Sends the order of template `order` at `price` (ignored by unpriced types) for `qty`;
    /// returns the ClOrdID it was given.
    ///
    /// # Errors
    /// [`OrderError`]; nothing was sent and no MsgSeqNum was spent, except for an
    /// order to the session whose message is being handled: it is queued and sent as soon as
    /// the message is processed, and a failure then is reported to
    /// [`Strategy::on_order_failed`].
    #[inline]
    pub fn new_order(
        &mut self,
        order: OrderId,
        price: Option<Decimal>,
        qty: Decimal,
    ) -> Result<u64, OrderError> {
        self.desk.submit(self.now, order, price, qty)
    }

    /// True when `session` is logged on.
    pub fn is_logged_on(&self, session: SessionId) -> bool {
        self.desk.is_logged_on(session)
    }
}

/// A trading strategy: reacts to books and execution reports, on the engine thread.
pub trait Strategy {
    /// A market-data message was applied to `update.book`.
    fn on_book(&mut self, _ctx: &mut Context<'_>, _update: &BookUpdate<'_>) {}

    /// An execution report arrived on `session`.
    fn on_execution(
        &mut self,
        _ctx: &mut Context<'_>,
        _session: SessionId,
        _report: &ExecutionReport<'_>,
    ) {
    }

    /// A session logged on or went down.
    fn on_session(&mut self, _ctx: &mut Context<'_>, _session: SessionId, _change: SessionChange) {}

    /// An order accepted by [`Context::new_order`] but queued could not be sent after all.
    fn on_order_failed(&mut self, _cl_ord_id: u64, _error: OrderError) {}
}

/// A strategy that does nothing (sessions only).
#[derive(Debug, Clone, Copy, Default)]
pub struct Idle;

impl Strategy for Idle {}

/// The example strategy: buy when the best ask is at or below a trigger price (the armed
/// order of the benchmarks: "best ask ≤ 84000.0 → buy IOC 0.01").
#[derive(Debug, Clone)]
pub struct ThresholdBuy {
    /// The buy template (registered with the engine after the strategy is made); no order is
    /// sent while it is `None`.
    pub order: Option<OrderId>,
    /// Trigger, in the book's price ticks (84000.0 at scale 1 is 840000).
    pub trigger: i64,
    /// Limit price sent.
    pub price: Decimal,
    /// Quantity sent.
    pub qty: Decimal,
    /// Orders sent.
    pub sent: u64,
    /// Orders the engine refused, by the last reason.
    pub refused: u64,
    /// The last refusal.
    pub last_error: Option<OrderError>,
    /// Fills received (OrdStatus=Filled).
    pub fills: u64,
    /// Execution reports received.
    pub reports: u64,
    /// ClOrdID of the last order sent.
    pub last_cl_ord_id: u64,
}

impl ThresholdBuy {
    /// Buys `qty` at `price` whenever the best ask is at or below `trigger` ticks, once
    /// [`ThresholdBuy::order`] is set.
    pub fn new(trigger: i64, price: Decimal, qty: Decimal) -> ThresholdBuy {
        ThresholdBuy {
            order: None,
            trigger,
            price,
            qty,
            sent: 0,
            refused: 0,
            last_error: None,
            fills: 0,
            reports: 0,
            last_cl_ord_id: 0,
        }
    }
}

impl Strategy for ThresholdBuy {
    #[inline]
    fn on_book(&mut self, ctx: &mut Context<'_>, update: &BookUpdate<'_>) {
        let Some(order) = self.order else {
            return;
        };
        if update.book.state() != tickwire_fix::book::State::Live {
            return;
        }
        match update.book.best_ask() {
            Some((ask, _)) if ask <= self.trigger => {
                match ctx.new_order(order, Some(self.price), self.qty) {
                    Ok(id) => {
                        self.sent += 1;
                        self.last_cl_ord_id = id;
                    }
                    Err(e) => {
                        self.refused += 1;
                        self.last_error = Some(e);
                    }
                }
            }
            _ => {}
        }
    }

    #[inline]
    fn on_execution(
        &mut self,
        _ctx: &mut Context<'_>,
        _session: SessionId,
        report: &ExecutionReport<'_>,
    ) {
        self.reports += 1;
        self.fills += u64::from(report.ord_status() == OrdStatus::Filled);
    }

    fn on_order_failed(&mut self, _cl_ord_id: u64, error: OrderError) {
        self.refused += 1;
        self.last_error = Some(error);
    }
}
