//! The armed-order strategy the daemon runs: the [`Triggers`] table behind the engine's
//! [`Strategy`] hook, fed by the control thread through a wait-free queue.
//!
//! ```text
//! control thread: ArmedControl::send(Arm(id, trigger) | Disarm(id) | DisarmAll) ─► rtrb ─┐
//!                 ArmedControl::poll_event() ◄─ rtrb ◄─ Armed / Refused / Fired …        │
//! engine thread:  every callback ─► drain the queue ◄──────────────────────────────────────┘
//!                 book update (MD session → InstrumentId) ─► Top ─► Triggers::evaluate
//!                   └─► Fire ─► (instrument, side, TIF) → OrderId ─► ctx.new_order(price, qty)
//! ```
//!
//! Bindings are made at start-up ([`Armed::bind_book`], [`Armed::bind_order`]): which
//! market-data session's book is which [`InstrumentId`], with the scales of its prices (ticks)
//! and quantities (lots); and which precompiled order template sends an instrument's orders of
//! one side and TimeInForce. A firing's price goes out as `ticks / 10^price_scale` with all its
//! decimals (`84000.0` at scale 1); its quantity as `lots / 10^qty_scale` without trailing zeros
//! (`0.01`, not `0.01000000`).
//!
//! Commands are taken at the start of every callback (book update, execution report, session
//! change), so an `Arm` takes effect no later than the next book update and a `Disarm` before it
//! is evaluated. Every command and every firing is answered on the event queue; when that queue
//! is full the event is dropped and counted (`counters.armed.events_dropped`), never waited for.
//! The counters block's `armed` section counts commands, refused arms, firings, orders accepted
//! and orders refused, and shows how many triggers are armed.
//!
//! Nothing here allocates after [`Armed::new`] and the bindings.

use tickwire_fix::decimal::Decimal;
use tickwire_fix::outbound::{Side, TimeInForce};
use tickwire_fix::views::ExecutionReport;

use crate::counters::{bump, set, Shared, MAX_SESSIONS};
use crate::risk::{InstrumentId, Top};
use crate::trigger::{ArmError, Trigger, TriggerId, Triggers};

use super::strategy::{
    BookUpdate, Context, OrderError, OrderId, SessionChange, SessionId, Strategy,
};
use super::QueueFull;

/// What the control thread asks of the armed strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArmedCommand {
    /// Arm a trigger under an id.
    Arm(TriggerId, Trigger),
    /// Disarm one trigger.
    Disarm(TriggerId),
    /// Disarm everything.
    DisarmAll,
}

/// What the armed strategy tells the control thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArmedEvent {
    /// The trigger is armed.
    Armed(TriggerId),
    /// The trigger was not armed.
    Refused(TriggerId, ArmError),
    /// The trigger was disarmed.
    Disarmed(TriggerId),
    /// `Disarm` of an id that is not armed (never armed, disarmed, or a one-shot that fired).
    NotArmed(TriggerId),
    /// `DisarmAll` disarmed this many.
    DisarmedAll(usize),
    /// The trigger fired: the ClOrdID of the order sent, or why none was sent
    /// ([`OrderError::UnknownOrder`] when no template is bound for its instrument, side and
    /// TimeInForce). A one-shot trigger is gone after this.
    Fired {
        /// Which trigger.
        id: TriggerId,
        /// The order's ClOrdID, or the refusal.
        result: Result<u64, OrderError>,
    },
}

/// The control thread's handle: sends commands, reads events (wait-free both ways).
#[derive(Debug)]
pub struct ArmedControl {
    commands: rtrb::Producer<ArmedCommand>,
    events: rtrb::Consumer<ArmedEvent>,
}

impl ArmedControl {
    /// Queues `cmd`; it is applied at the start of the engine's next strategy callback.
    ///
    /// # Errors
    /// [`QueueFull`].
    pub fn send(&mut self, cmd: ArmedCommand) -> Result<(), QueueFull> {
        self.commands.push(cmd).map_err(|_| QueueFull)
    }

    /// The next event, oldest first.
    pub fn poll_event(&mut self) -> Option<ArmedEvent> {
        self.events.pop().ok()
    }
}

#[derive(Debug, Clone, Copy)]
struct BookBinding {
    instrument: InstrumentId,
    price_scale: u8,
    qty_scale: u8,
}

#[derive(Debug, Clone, Copy)]
struct OrderBinding {
    instrument: InstrumentId,
    side: Side,
    tif: TimeInForce,
    order: OrderId,
}

/// The armed-order strategy.
#[derive(Debug)]
pub struct Armed {
    triggers: Triggers,
    books: [Option<BookBinding>; MAX_SESSIONS],
    orders: Vec<OrderBinding>,
    commands: rtrb::Consumer<ArmedCommand>,
    events: rtrb::Producer<ArmedEvent>,
    counters: Shared,
}

impl Armed {
    /// A strategy with room for `capacity` triggers, command and event queues of `queue`
    /// entries, counting into `counters` (the engine's block); and the control thread's handle.
    pub fn new(capacity: usize, queue: usize, counters: Shared) -> (Armed, ArmedControl) {
        let (ctx, crx) = rtrb::RingBuffer::new(queue.max(1));
        let (etx, erx) = rtrb::RingBuffer::new(queue.max(1));
        (
            Armed {
                triggers: Triggers::new(capacity),
                books: [None; MAX_SESSIONS],
                orders: Vec::new(),
                commands: crx,
                events: etx,
                counters,
            },
            ArmedControl {
                commands: ctx,
                events: erx,
            },
        )
    }

    /// Market-data session `session`'s book is `instrument`, with prices in ticks of
    /// `10^-price_scale` and quantities in lots of `10^-qty_scale` (the session's
    /// [`BookSpec`](super::BookSpec) scales). A later binding of the same session replaces it.
    pub fn bind_book(
        &mut self,
        session: SessionId,
        instrument: InstrumentId,
        price_scale: u8,
        qty_scale: u8,
    ) {
        if let Some(b) = self.books.get_mut(session.index()) {
            *b = Some(BookBinding {
                instrument,
                price_scale,
                qty_scale,
            });
        }
    }

    /// Firings on `instrument` with `side` and `tif` send through template `order`
    /// (registered with [`Engine::add_order`](super::Engine::add_order)). A later binding of
    /// the same triple replaces it.
    pub fn bind_order(
        &mut self,
        instrument: InstrumentId,
        side: Side,
        tif: TimeInForce,
        order: OrderId,
    ) {
        let b = OrderBinding {
            instrument,
            side,
            tif,
            order,
        };
        match self
            .orders
            .iter_mut()
            .find(|o| o.instrument == instrument && o.side == side && o.tif == tif)
        {
            Some(o) => *o = b,
            None => self.orders.push(b),
        }
    }

    /// The trigger table (to list what is armed, on the engine thread).
    pub fn triggers(&self) -> &Triggers {
        &self.triggers
    }

    fn emit(&mut self, e: ArmedEvent) {
        if self.events.push(e).is_err() {
            bump(&self.counters.counters().armed.events_dropped, 1);
        }
    }

    /// Applies every queued command.
    fn drain(&mut self) {
        while let Ok(cmd) = self.commands.pop() {
            bump(&self.counters.counters().armed.commands, 1);
            let e = match cmd {
                ArmedCommand::Arm(id, trigger) => match self.triggers.arm(id, trigger) {
                    Ok(()) => ArmedEvent::Armed(id),
                    Err(err) => {
                        bump(&self.counters.counters().armed.arm_errors, 1);
                        ArmedEvent::Refused(id, err)
                    }
                },
                ArmedCommand::Disarm(id) => match self.triggers.disarm(id) {
                    Some(_) => ArmedEvent::Disarmed(id),
                    None => ArmedEvent::NotArmed(id),
                },
                ArmedCommand::DisarmAll => {
                    let n = self.triggers.len();
                    self.triggers.disarm_all();
                    ArmedEvent::DisarmedAll(n)
                }
            };
            self.emit(e);
            set(
                &self.counters.counters().armed.armed,
                self.triggers.len() as u64,
            );
        }
    }
}

impl Strategy for Armed {
    #[inline]
    fn on_book(&mut self, ctx: &mut Context<'_>, update: &BookUpdate<'_>) {
        self.drain();
        if self.triggers.is_empty() {
            return;
        }
        let Some(Some(b)) = self.books.get(update.session.index()).copied() else {
            return;
        };
        let now = ctx.now();
        let top = Top::from_book(update.book, now);
        let Armed {
            triggers,
            orders,
            events,
            counters,
            ..
        } = self;
        let c = &counters.counters().armed;
        let fired = triggers.evaluate(b.instrument, &top, now, |fire| {
            bump(&c.fires, 1);
            let result = match orders.iter().find(|o| {
                o.instrument == fire.order.instrument
                    && o.side == fire.order.side
                    && o.tif == fire.tif
            }) {
                Some(o) => ctx.new_order(
                    o.order,
                    Some(Decimal::new(fire.order.price, b.price_scale)),
                    Decimal::new(fire.order.qty, b.qty_scale).normalize(),
                ),
                None => Err(OrderError::UnknownOrder),
            };
            bump(
                if result.is_ok() {
                    &c.orders
                } else {
                    &c.refused
                },
                1,
            );
            if events
                .push(ArmedEvent::Fired {
                    id: fire.id,
                    result,
                })
                .is_err()
            {
                bump(&c.events_dropped, 1);
            }
        });
        if fired > 0 {
            set(&c.armed, triggers.len() as u64);
        }
    }

    fn on_execution(
        &mut self,
        _ctx: &mut Context<'_>,
        _session: SessionId,
        _report: &ExecutionReport<'_>,
    ) {
        self.drain();
    }

    fn on_session(&mut self, _ctx: &mut Context<'_>, _session: SessionId, _change: SessionChange) {
        self.drain();
    }

    fn on_order_failed(&mut self, _cl_ord_id: u64, _error: OrderError) {
        // Accepted when it fired (counted in `orders`), failed on the way out.
        bump(&self.counters.counters().armed.refused, 1);
    }
}
