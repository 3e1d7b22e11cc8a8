//! Pre-trade risk on the hot path: every new order passes [`Risk::check_new`] between the
//! decision (a fired trigger, a strategy) and the template patch, and a refused order never
//! reaches the wire.
//!
//! ```text
//! Order + Top (book) + now ─► Risk::check_new ─Ok──► patch template ─► send
//!                                   └─Err(Reject { limit, value })──► event, nothing sent
//! ExecutionReport ─► on_fill (150=F) / on_closed (39=2/4/C/8, 35=j) ─► open orders, position
//! control command ─► apply(LimitChange) | kill | rearm   (between polls)
//! ```
//!
//! The checks, in the order they run (the first that fails names the reject):
//! kill switch, instrument configured, order well-formed (price and quantity > 0), max order
//! quantity, max notional (price × quantity), book present and fresh, price collar against the
//! far touch, open orders per instrument and in total, position including the worst case of all
//! open orders on the order's side, duplicate order (same instrument, side, price and quantity
//! inside a window), and the message throttle. Every limit is inclusive: a value equal to its
//! limit passes, one more is refused.
//!
//! The throttle mirrors the venue's own rate-limit model, the very arithmetic the venue
//! simulator charges ([`tickwire_fix::kraken::rate`]): Kraken Spot's per-pair counter (decay
//! per second, +1 per add, a cancel penalty by order age, SPEC §5.1) or Derivatives' per-session
//! token bucket (SPEC §5.2). The mirror is charged when an order or a cancel is admitted, at the
//! send time; it refuses while `counter + cost` would pass `threshold − headroom` (Spot) or while
//! the bucket would fall below `headroom` tokens plus one mass cancel (Derivatives), so the
//! venue — whose clock sees the same messages a little later — never refuses one. The headroom
//! absorbs latency jitter and traffic from other channels (REST, WebSocket) that share Kraken's
//! Spot counter. Mass cancels are priced like the venue prices them; on Spot the venue never
//! refuses them, on Derivatives the reserved mass-cancel cost pays for them.
//!
//! Units: prices in ticks and quantities in lots at the instrument's precision (the integers
//! [`tickwire_fix::book::Book`] uses), notional in ticks × lots, time in nanoseconds; never
//! `f64`. Capacities (instruments, open orders, recent orders for the duplicate check) are fixed
//! at [`Risk::new`]; after that nothing allocates, locks or reads a clock. Limits change at run
//! time through [`Risk::apply`], which the engine calls between polls when a control command
//! arrives. The kill switch blocks new orders (cancels still pass) until an explicit
//! [`Risk::rearm`]; sending the mass cancel and the optional logout is the engine's job.
//!
//! [`Gate`] plugs [`Risk`] into the engine's [`PreTrade`] hook.

use tickwire_fix::book::Book;
use tickwire_fix::kraken::rate::{
    SpotRateCounter, TierParams, TokenBucket, TokenBucketParams, Transaction, MICRO,
};
use tickwire_fix::outbound::Side;
use tickwire_fix::time::UtcTimestamp;
use tickwire_fix::views::{ExecType, ExecutionReport, Side as ReportSide};

use crate::engine::{BookUpdate, OrderId, OrderIntent, PreTrade, Refusal, SessionId};

/// An instrument, as an index the engine assigns (0..[`Capacity::instruments`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstrumentId(pub u16);

/// The engine's unique key of one order (e.g. its numeric Spot ClOrdID), used to match fills
/// and terminal reports to the order risk admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OrderKey(pub u64);

/// A new order as risk sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Order {
    /// Instrument.
    pub instrument: InstrumentId,
    /// Side.
    pub side: Side,
    /// Limit price in ticks.
    pub price: i64,
    /// Quantity in lots.
    pub qty: i64,
}

/// Top of one instrument's book at a point in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Top {
    /// Best bid in ticks; `None` when the side is empty or the book stale.
    pub bid: Option<i64>,
    /// Best ask in ticks; `None` when the side is empty or the book stale.
    pub ask: Option<i64>,
    /// Last trade price in ticks.
    pub last: Option<i64>,
    /// When the book last changed.
    pub updated: UtcTimestamp,
}

impl Top {
    /// The top of `book`, last changed at `updated`. A stale book has neither bid nor ask.
    #[inline]
    pub fn from_book(book: &Book, updated: UtcTimestamp) -> Top {
        Top {
            bid: book.best_bid().map(|(p, _)| p),
            ask: book.best_ask().map(|(p, _)| p),
            last: book.last_trade().map(|(p, _)| p),
            updated,
        }
    }
}

/// How far beyond the far touch (best ask for a buy, best bid for a sell) an order's price may
/// reach. A passive price is never refused by the collar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collar {
    /// A band in price ticks.
    Ticks(i64),
    /// A band in basis points of the touch price, rounded down to whole ticks.
    BasisPoints(i64),
}

/// Limits of one instrument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstrumentLimits {
    /// Largest order quantity, lots.
    pub max_order_qty: i64,
    /// Largest order notional, price ticks × quantity lots.
    pub max_notional: i64,
    /// Price collar.
    pub collar: Collar,
    /// Most open orders on this instrument.
    pub max_open_orders: u32,
    /// Largest net position either way, lots, counting every open order on the side of the
    /// order being checked as if it filled.
    pub max_position: i64,
}

/// The message throttle: a mirror of the venue's rate-limit model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttle {
    /// No throttle.
    Off,
    /// Kraken Spot: one counter per instrument (pair), SPEC §5.1.
    Spot {
        /// The account's tier numbers (decay, threshold).
        tier: TierParams,
        /// Whole counter units kept free below the threshold: at least the decay the venue
        /// misses when messages bunch up on the way (decay per second × `max_latency_ns`), plus
        /// whatever other channels (REST, WebSocket) spend on the same pairs.
        headroom: i64,
        /// The largest one-way latency to the venue, ns: cancel penalties are priced as if
        /// the order were this much younger, so a cancel never costs the venue more than the
        /// mirror charged.
        max_latency_ns: i64,
    },
    /// Kraken Derivatives: one bucket for the session, SPEC §5.2.
    Derivatives {
        /// Bucket size, refill time and message costs.
        bucket: TokenBucketParams,
        /// Tokens never spent: at least the refill the venue misses when messages bunch up on
        /// the way (capacity / refill time × the latency spread). Orders and cancels also leave
        /// one mass cancel's cost in the bucket, so the kill switch's mass cancel is always
        /// affordable.
        headroom: i64,
    },
}

/// Limits across instruments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GlobalLimits {
    /// Most open orders in total (at most [`Capacity::orders`]).
    pub max_open_orders: u32,
    /// Oldest book an order may be priced against, ns (`i64::MAX`: no age limit; a stale or
    /// empty book still refuses).
    pub max_book_age_ns: i64,
    /// Window of the duplicate check, ns (0: off).
    pub duplicate_window_ns: i64,
    /// The message throttle.
    pub throttle: Throttle,
}

impl Default for GlobalLimits {
    /// 100 open orders, no book age limit, duplicate check off, no throttle.
    fn default() -> Self {
        GlobalLimits {
            max_open_orders: 100,
            max_book_age_ns: i64::MAX,
            duplicate_window_ns: 0,
            throttle: Throttle::Off,
        }
    }
}

/// Sizes fixed at construction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    /// Instruments (ids `0..instruments`).
    pub instruments: usize,
    /// Open orders tracked (the ceiling of [`GlobalLimits::max_open_orders`]).
    pub orders: usize,
    /// Orders remembered for the duplicate check (rounded up to a power of two): an order is
    /// compared with the latest admitted order of its hash bucket, so with many orders inside
    /// the window an earlier identical one may have been displaced by another order.
    pub recent: usize,
}

/// Why an order (or a cancel) was refused. `limit` and `value` are in the limit's own units;
/// unless a variant says otherwise the order is refused when `value > limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reject {
    /// The kill switch is on.
    Killed,
    /// The instrument has no limits configured (or is beyond the capacity).
    UnknownInstrument {
        /// The instrument.
        instrument: u16,
    },
    /// Price or quantity not positive (`limit` = price, `value` = quantity).
    Invalid {
        /// The order's price.
        limit: i64,
        /// The order's quantity.
        value: i64,
    },
    /// Quantity above the maximum (lots).
    OrderQty {
        /// Largest quantity.
        limit: i64,
        /// The order's quantity.
        value: i64,
    },
    /// Notional above the maximum (ticks × lots).
    Notional {
        /// Largest notional.
        limit: i64,
        /// The order's notional.
        value: i64,
    },
    /// No price to check against: the far touch is missing or the book is stale.
    NoMarket,
    /// The book is older than allowed (ns).
    BookStale {
        /// Oldest allowed age.
        limit: i64,
        /// The book's age.
        value: i64,
    },
    /// The price reaches beyond the collar. For a buy refused when `value > limit`, for a sell
    /// when `value < limit`.
    PriceCollar {
        /// The furthest price allowed.
        limit: i64,
        /// The order's price.
        value: i64,
    },
    /// Too many open orders on the instrument.
    OpenOrders {
        /// Most open orders.
        limit: i64,
        /// Open orders with this one.
        value: i64,
    },
    /// Too many open orders in total.
    TotalOpenOrders {
        /// Most open orders.
        limit: i64,
        /// Open orders with this one.
        value: i64,
    },
    /// Position limit: `value` is the exposure on the order's side if it and every open order
    /// on that side filled (lots; long for a buy, short for a sell).
    Position {
        /// Largest position.
        limit: i64,
        /// The worst-case exposure.
        value: i64,
    },
    /// The venue's rate limit would be reached. Spot: counter micro-units, `limit` =
    /// (threshold − headroom) × 10⁶, `value` = counter + cost. Derivatives: milli-tokens used,
    /// `limit` = capacity × 1000, `value` = used + cost + headroom.
    Throttle {
        /// The ceiling.
        limit: i64,
        /// What the message would bring the counter to.
        value: i64,
    },
    /// The same order (instrument, side, price, quantity) was admitted `value` ns ago, inside
    /// the window `limit` (refused when `value < limit`).
    Duplicate {
        /// The window, ns.
        limit: i64,
        /// Age of the earlier order, ns.
        value: i64,
    },
    /// The order key is already in use by an open order.
    KeyInUse,
    /// A cancel for an order risk does not know as open.
    UnknownOrder,
}

/// The limit a [`Reject`] names, without its values: an index into the reject counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectKind {
    /// [`Reject::Killed`]
    Killed,
    /// [`Reject::UnknownInstrument`]
    UnknownInstrument,
    /// [`Reject::Invalid`]
    Invalid,
    /// [`Reject::OrderQty`]
    OrderQty,
    /// [`Reject::Notional`]
    Notional,
    /// [`Reject::NoMarket`]
    NoMarket,
    /// [`Reject::BookStale`]
    BookStale,
    /// [`Reject::PriceCollar`]
    PriceCollar,
    /// [`Reject::OpenOrders`]
    OpenOrders,
    /// [`Reject::TotalOpenOrders`]
    TotalOpenOrders,
    /// [`Reject::Position`]
    Position,
    /// [`Reject::Throttle`]
    Throttle,
    /// [`Reject::Duplicate`]
    Duplicate,
    /// [`Reject::KeyInUse`]
    KeyInUse,
    /// [`Reject::UnknownOrder`]
    UnknownOrder,
}

impl RejectKind {
    /// Number of kinds.
    pub const COUNT: usize = 15;
    /// Every kind, in declaration order.
    pub const ALL: [RejectKind; RejectKind::COUNT] = [
        RejectKind::Killed,
        RejectKind::UnknownInstrument,
        RejectKind::Invalid,
        RejectKind::OrderQty,
        RejectKind::Notional,
        RejectKind::NoMarket,
        RejectKind::BookStale,
        RejectKind::PriceCollar,
        RejectKind::OpenOrders,
        RejectKind::TotalOpenOrders,
        RejectKind::Position,
        RejectKind::Throttle,
        RejectKind::Duplicate,
        RejectKind::KeyInUse,
        RejectKind::UnknownOrder,
    ];

    /// A short snake_case name (for metrics and logs).
    pub fn name(self) -> &'static str {
        match self {
            RejectKind::Killed => "killed",
            RejectKind::UnknownInstrument => "unknown_instrument",
            RejectKind::Invalid => "invalid",
            RejectKind::OrderQty => "order_qty",
            RejectKind::Notional => "notional",
            RejectKind::NoMarket => "no_market",
            RejectKind::BookStale => "book_stale",
            RejectKind::PriceCollar => "price_collar",
            RejectKind::OpenOrders => "open_orders",
            RejectKind::TotalOpenOrders => "total_open_orders",
            RejectKind::Position => "position",
            RejectKind::Throttle => "throttle",
            RejectKind::Duplicate => "duplicate",
            RejectKind::KeyInUse => "key_in_use",
            RejectKind::UnknownOrder => "unknown_order",
        }
    }
}

impl Reject {
    /// The limit this reject names.
    pub fn kind(self) -> RejectKind {
        match self {
            Reject::Killed => RejectKind::Killed,
            Reject::UnknownInstrument { .. } => RejectKind::UnknownInstrument,
            Reject::Invalid { .. } => RejectKind::Invalid,
            Reject::OrderQty { .. } => RejectKind::OrderQty,
            Reject::Notional { .. } => RejectKind::Notional,
            Reject::NoMarket => RejectKind::NoMarket,
            Reject::BookStale { .. } => RejectKind::BookStale,
            Reject::PriceCollar { .. } => RejectKind::PriceCollar,
            Reject::OpenOrders { .. } => RejectKind::OpenOrders,
            Reject::TotalOpenOrders { .. } => RejectKind::TotalOpenOrders,
            Reject::Position { .. } => RejectKind::Position,
            Reject::Throttle { .. } => RejectKind::Throttle,
            Reject::Duplicate { .. } => RejectKind::Duplicate,
            Reject::KeyInUse => RejectKind::KeyInUse,
            Reject::UnknownOrder => RejectKind::UnknownOrder,
        }
    }
}

/// Why the kill switch went on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KillReason {
    /// An operator command.
    Operator,
    /// The engine decided (e.g. a session lost, the venue's error safeguard), with its own code.
    Engine(u16),
}

/// Something the control plane should hear about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RiskEvent {
    /// The kill switch went on: new orders are refused; the engine mass-cancels.
    Killed {
        /// Why.
        reason: KillReason,
        /// When.
        at: UtcTimestamp,
    },
    /// The kill switch was re-armed by hand: new orders are checked again.
    Rearmed {
        /// When.
        at: UtcTimestamp,
    },
}

/// A change of limits, applied between polls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitChange {
    /// Configure (or reconfigure) one instrument.
    Instrument(InstrumentId, InstrumentLimits),
    /// Refuse every new order on one instrument from now on; its open orders and position are
    /// still tracked.
    RemoveInstrument(InstrumentId),
    /// Replace the limits across instruments.
    Global(GlobalLimits),
}

/// A limit change that was not applied (the previous limits stay in force).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitError {
    /// The instrument id is not below [`Capacity::instruments`].
    UnknownInstrument {
        /// The instrument.
        instrument: u16,
        /// The capacity.
        capacity: usize,
    },
    /// More open orders allowed than the table can track.
    OverCapacity {
        /// The requested limit.
        limit: u32,
        /// [`Capacity::orders`].
        capacity: usize,
    },
    /// A negative limit, a headroom not below the threshold or capacity, or a zero refill time.
    Invalid {
        /// The offending field.
        field: &'static str,
    },
}

impl core::fmt::Display for LimitError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            LimitError::UnknownInstrument {
                instrument,
                capacity,
            } => write!(
                f,
                "instrument {instrument} is beyond the capacity of {capacity}"
            ),
            LimitError::OverCapacity { limit, capacity } => write!(
                f,
                "max_open_orders {limit} exceeds the order table's capacity of {capacity}"
            ),
            LimitError::Invalid { field } => write!(f, "{field} is out of range"),
        }
    }
}

impl std::error::Error for LimitError {}

/// One instrument's limits and state.
#[derive(Debug, Clone, Copy)]
struct Instrument {
    limits: Option<InstrumentLimits>,
    open_orders: u32,
    open_buy: i64,
    open_sell: i64,
    position: i64,
    spot: SpotRateCounter,
}

/// An open order in the table.
#[derive(Debug, Clone, Copy)]
struct Open {
    used: bool,
    side: Side,
    instrument: u16,
    key: u64,
    leaves: i64,
    sent_ns: i64,
}

const EMPTY: Open = Open {
    used: false,
    side: Side::Buy,
    instrument: 0,
    key: 0,
    leaves: 0,
    sent_ns: 0,
};

/// A recently admitted order, for the duplicate check.
#[derive(Debug, Clone, Copy)]
struct Recent {
    at_ns: i64,
    order: Order,
}

const EVENTS: usize = 8;

/// Counters of what risk did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Orders admitted by [`Risk::check_new`].
    pub admitted: u64,
    /// Cancels admitted by [`Risk::check_cancel`].
    pub cancels: u64,
    /// Events dropped because nobody polled them.
    pub events_dropped: u64,
}

/// The pre-trade risk state of one trading session.
#[derive(Debug, Clone)]
pub struct Risk {
    global: GlobalLimits,
    spot_limit_micros: i64,
    instruments: Vec<Instrument>,
    // Open-addressing hash table of open orders (linear probing, backward-shift deletion),
    // a power of two at least twice `Capacity::orders`.
    table: Vec<Open>,
    mask: usize,
    shift: u32,
    open_total: u32,
    // Duplicate check: the latest admitted order of each hash bucket (a power of two).
    recent: Vec<Recent>,
    recent_mask: usize,
    recent_shift: u32,
    bucket: TokenBucket,
    killed: bool,
    events: [Option<RiskEvent>; EVENTS],
    event_head: usize,
    event_len: usize,
    rejects: [u64; RejectKind::COUNT],
    stats: Stats,
}

#[inline]
fn ns(t: UtcTimestamp) -> i64 {
    t.nanos
}

impl Risk {
    /// Risk with the given capacities and global limits; no instrument is configured yet (every
    /// order is refused until [`LimitChange::Instrument`] names its instrument). Allocates every
    /// table now.
    ///
    /// # Errors
    /// [`LimitError`] if `global` is out of range or above the capacity.
    pub fn new(capacity: Capacity, global: GlobalLimits) -> Result<Risk, LimitError> {
        let slots = (capacity.orders.max(1) * 2).next_power_of_two();
        let bits = slots.trailing_zeros();
        let buckets = capacity.recent.max(2).next_power_of_two();
        let spot = SpotRateCounter::new(TierParams {
            decay_micros_per_sec: 0,
            threshold: i64::MAX / MICRO,
            max_open_orders: 0,
        });
        let mut risk = Risk {
            global: GlobalLimits::default(),
            spot_limit_micros: i64::MAX,
            instruments: vec![
                Instrument {
                    limits: None,
                    open_orders: 0,
                    open_buy: 0,
                    open_sell: 0,
                    position: 0,
                    spot,
                };
                capacity.instruments
            ],
            table: vec![EMPTY; slots],
            mask: slots - 1,
            shift: 64 - bits,
            open_total: 0,
            recent: vec![
                Recent {
                    at_ns: i64::MIN,
                    order: Order {
                        instrument: InstrumentId(0),
                        side: Side::Buy,
                        price: 0,
                        qty: 0,
                    },
                };
                buckets
            ],
            recent_mask: buckets - 1,
            recent_shift: 64 - buckets.trailing_zeros(),
            bucket: TokenBucket::new(TokenBucketParams::default()),
            killed: false,
            events: [None; EVENTS],
            event_head: 0,
            event_len: 0,
            rejects: [0; RejectKind::COUNT],
            stats: Stats::default(),
        };
        risk.apply(LimitChange::Global(global))?;
        Ok(risk)
    }

    /// Order-table capacity.
    pub fn capacity(&self) -> Capacity {
        Capacity {
            instruments: self.instruments.len(),
            orders: self.table.len() / 2,
            recent: self.recent.len(),
        }
    }

    /// Applies a limit change. Tightening a limit never touches open orders: new orders are
    /// refused until the state is back within it.
    ///
    /// # Errors
    /// [`LimitError`]; nothing changes then.
    pub fn apply(&mut self, change: LimitChange) -> Result<(), LimitError> {
        match change {
            LimitChange::Instrument(id, limits) => {
                validate_instrument(&limits)?;
                self.instrument_mut(id)?.limits = Some(limits);
            }
            LimitChange::RemoveInstrument(id) => self.instrument_mut(id)?.limits = None,
            LimitChange::Global(g) => self.apply_global(g)?,
        }
        Ok(())
    }

    fn instrument_mut(&mut self, id: InstrumentId) -> Result<&mut Instrument, LimitError> {
        let capacity = self.instruments.len();
        self.instruments
            .get_mut(usize::from(id.0))
            .ok_or(LimitError::UnknownInstrument {
                instrument: id.0,
                capacity,
            })
    }

    fn apply_global(&mut self, g: GlobalLimits) -> Result<(), LimitError> {
        let capacity = self.table.len() / 2;
        if g.max_open_orders as usize > capacity {
            return Err(LimitError::OverCapacity {
                limit: g.max_open_orders,
                capacity,
            });
        }
        if g.max_book_age_ns < 0 {
            return Err(LimitError::Invalid {
                field: "max_book_age_ns",
            });
        }
        if g.duplicate_window_ns < 0 {
            return Err(LimitError::Invalid {
                field: "duplicate_window_ns",
            });
        }
        match g.throttle {
            Throttle::Off => self.spot_limit_micros = i64::MAX,
            Throttle::Spot {
                tier,
                headroom,
                max_latency_ns,
            } => {
                if max_latency_ns < 0 {
                    return Err(LimitError::Invalid {
                        field: "throttle.max_latency_ns",
                    });
                }
                if tier.decay_micros_per_sec < 0 || tier.threshold <= 0 {
                    return Err(LimitError::Invalid {
                        field: "throttle.tier",
                    });
                }
                if headroom < 0 || headroom >= tier.threshold {
                    return Err(LimitError::Invalid {
                        field: "throttle.headroom",
                    });
                }
                self.spot_limit_micros = (tier.threshold - headroom).saturating_mul(MICRO);
                for inst in &mut self.instruments {
                    inst.spot.set_params(tier);
                }
            }
            Throttle::Derivatives { bucket, headroom } => {
                if bucket.capacity <= 0
                    || bucket.refill_ns <= 0
                    || bucket.order_cost < 0
                    || bucket.mass_cancel_cost < 0
                {
                    return Err(LimitError::Invalid {
                        field: "throttle.bucket",
                    });
                }
                if headroom < 0 || headroom >= bucket.capacity {
                    return Err(LimitError::Invalid {
                        field: "throttle.headroom",
                    });
                }
                self.spot_limit_micros = i64::MAX;
                let was = match self.global.throttle {
                    Throttle::Derivatives { .. } => true,
                    Throttle::Off | Throttle::Spot { .. } => false,
                };
                if was {
                    self.bucket.set_params(bucket);
                } else {
                    self.bucket = TokenBucket::new(bucket);
                }
            }
        }
        self.global = g;
        Ok(())
    }

    /// The limits across instruments in force.
    pub fn global(&self) -> GlobalLimits {
        self.global
    }

    /// One instrument's limits, if configured.
    pub fn instrument(&self, id: InstrumentId) -> Option<InstrumentLimits> {
        self.instruments
            .get(usize::from(id.0))
            .and_then(|i| i.limits)
    }

    /// Checks a new order against every limit and, if it passes, records it as sent: it counts
    /// as open (under `key`) until [`Risk::on_closed`] or a fill of its whole quantity, its
    /// quantity counts toward the worst-case position, the throttle is charged and the
    /// duplicate check remembers it. A refused order changes nothing but the reject counters.
    ///
    /// `top` is the instrument's book now; `now` is the send time.
    ///
    /// # Errors
    /// The first [`Reject`] in the order the module documentation lists.
    #[inline]
    pub fn check_new(
        &mut self,
        key: OrderKey,
        order: &Order,
        top: &Top,
        now: UtcTimestamp,
    ) -> Result<(), Reject> {
        match self.check_inner(key, order, top, now) {
            Ok(()) => Ok(()),
            Err(r) => {
                self.rejects[r.kind() as usize] += 1;
                Err(r)
            }
        }
    }

    #[inline]
    fn check_inner(
        &mut self,
        key: OrderKey,
        order: &Order,
        top: &Top,
        now: UtcTimestamp,
    ) -> Result<(), Reject> {
        if self.killed {
            return Err(Reject::Killed);
        }
        let idx = usize::from(order.instrument.0);
        let Some(inst) = self.instruments.get(idx) else {
            return Err(Reject::UnknownInstrument {
                instrument: order.instrument.0,
            });
        };
        let Some(lim) = inst.limits else {
            return Err(Reject::UnknownInstrument {
                instrument: order.instrument.0,
            });
        };
        let (price, qty) = (order.price, order.qty);
        if price <= 0 || qty <= 0 {
            return Err(Reject::Invalid {
                limit: price,
                value: qty,
            });
        }
        if qty > lim.max_order_qty {
            return Err(Reject::OrderQty {
                limit: lim.max_order_qty,
                value: qty,
            });
        }
        let notional = price.saturating_mul(qty);
        if notional > lim.max_notional {
            return Err(Reject::Notional {
                limit: lim.max_notional,
                value: notional,
            });
        }
        let now_ns = ns(now);
        let touch = match order.side {
            Side::Buy => top.ask,
            Side::Sell => top.bid,
        };
        let Some(touch) = touch else {
            return Err(Reject::NoMarket);
        };
        let age = now_ns.saturating_sub(ns(top.updated));
        if age > self.global.max_book_age_ns {
            return Err(Reject::BookStale {
                limit: self.global.max_book_age_ns,
                value: age,
            });
        }
        let band = match lim.collar {
            Collar::Ticks(t) => t,
            Collar::BasisPoints(bp) => touch.saturating_mul(bp) / 10_000,
        };
        match order.side {
            Side::Buy => {
                let bound = touch.saturating_add(band);
                if price > bound {
                    return Err(Reject::PriceCollar {
                        limit: bound,
                        value: price,
                    });
                }
            }
            Side::Sell => {
                let bound = touch.saturating_sub(band);
                if price < bound {
                    return Err(Reject::PriceCollar {
                        limit: bound,
                        value: price,
                    });
                }
            }
        }
        let open = inst.open_orders + 1;
        if open > lim.max_open_orders {
            return Err(Reject::OpenOrders {
                limit: i64::from(lim.max_open_orders),
                value: i64::from(open),
            });
        }
        let total = self.open_total + 1;
        if total > self.global.max_open_orders {
            return Err(Reject::TotalOpenOrders {
                limit: i64::from(self.global.max_open_orders),
                value: i64::from(total),
            });
        }
        let exposure = match order.side {
            Side::Buy => inst.position.saturating_add(inst.open_buy),
            Side::Sell => inst.open_sell.saturating_sub(inst.position),
        }
        .saturating_add(qty);
        if exposure > lim.max_position {
            return Err(Reject::Position {
                limit: lim.max_position,
                value: exposure,
            });
        }
        let window = self.global.duplicate_window_ns;
        if window > 0 {
            self.check_duplicate(order, now_ns, window)?;
        }
        let slot = self.free_slot(key.0)?;
        // The throttle last: everything before it is free of side effects.
        match self.global.throttle {
            Throttle::Off => {}
            Throttle::Spot { .. } => {
                let limit = self.spot_limit_micros;
                if let Err(e) = self.instruments[idx]
                    .spot
                    .try_charge(Transaction::Add, limit, now)
                {
                    return Err(Reject::Throttle {
                        limit,
                        value: e.counter_micros,
                    });
                }
            }
            Throttle::Derivatives { bucket, headroom } => {
                let reserve = headroom.saturating_add(bucket.mass_cancel_cost);
                self.take_tokens(bucket.order_cost, reserve, bucket.capacity, now)?;
            }
        }
        // Commit.
        self.table[slot] = Open {
            used: true,
            side: order.side,
            instrument: order.instrument.0,
            key: key.0,
            leaves: qty,
            sent_ns: now_ns,
        };
        self.open_total = total;
        let inst = &mut self.instruments[idx];
        inst.open_orders = open;
        match order.side {
            Side::Buy => inst.open_buy = inst.open_buy.saturating_add(qty),
            Side::Sell => inst.open_sell = inst.open_sell.saturating_add(qty),
        }
        if window > 0 {
            let b = self.bucket_of(order);
            self.recent[b] = Recent {
                at_ns: now_ns,
                order: *order,
            };
        }
        self.stats.admitted += 1;
        Ok(())
    }

    /// The duplicate-check bucket of `order`: a multiplicative hash of all four fields.
    #[inline(always)]
    fn bucket_of(&self, order: &Order) -> usize {
        let side = match order.side {
            Side::Buy => 0u64,
            Side::Sell => 1,
        };
        let mix = (order.price as u64)
            ^ (order.qty as u64).rotate_left(32)
            ^ ((u64::from(order.instrument.0) << 1 | side) << 47);
        (mix.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.recent_shift) as usize & self.recent_mask
    }

    #[inline(always)]
    fn check_duplicate(&self, order: &Order, now_ns: i64, window: i64) -> Result<(), Reject> {
        let r = &self.recent[self.bucket_of(order)];
        let age = now_ns.saturating_sub(r.at_ns);
        if age < window && r.order == *order {
            return Err(Reject::Duplicate {
                limit: window,
                value: age,
            });
        }
        Ok(())
    }

    /// Takes `cost` tokens keeping `reserve` in the bucket.
    #[inline]
    fn take_tokens(
        &mut self,
        cost: i64,
        reserve: i64,
        capacity: i64,
        now: UtcTimestamp,
    ) -> Result<(), Reject> {
        let cap = capacity.saturating_mul(1000);
        let available = self.bucket.available_millis(now);
        let value = cap
            .saturating_sub(available)
            .saturating_add(cost.saturating_add(reserve).saturating_mul(1000));
        if value > cap {
            return Err(Reject::Throttle { limit: cap, value });
        }
        // Cannot fail: at least cost + reserve tokens are there.
        self.bucket
            .take(cost, now)
            .map_err(|_| Reject::Throttle { limit: cap, value })
    }

    /// Checks a cancel (35=F) of the open order `key` against the throttle (Spot: the cancel
    /// penalty by the order's age since it was sent; Derivatives: the order cost) and charges
    /// it. The kill switch does not block cancels. The order stays open until its terminal
    /// report ([`Risk::on_closed`]).
    ///
    /// # Errors
    /// [`Reject::UnknownOrder`] or [`Reject::Throttle`].
    pub fn check_cancel(&mut self, key: OrderKey, now: UtcTimestamp) -> Result<(), Reject> {
        let r = self.cancel_inner(key, now);
        if let Err(r) = r {
            self.rejects[r.kind() as usize] += 1;
        }
        r
    }

    fn cancel_inner(&mut self, key: OrderKey, now: UtcTimestamp) -> Result<(), Reject> {
        let Some(slot) = self.find(key.0) else {
            return Err(Reject::UnknownOrder);
        };
        let o = self.table[slot];
        match self.global.throttle {
            Throttle::Off => {}
            Throttle::Spot { max_latency_ns, .. } => {
                let tx = Transaction::Cancel {
                    age_ns: ns(now)
                        .saturating_sub(o.sent_ns)
                        .saturating_sub(max_latency_ns),
                    filled: false,
                };
                let limit = self.spot_limit_micros;
                let spot = &mut self.instruments[usize::from(o.instrument)].spot;
                if let Err(e) = spot.try_charge(tx, limit, now) {
                    return Err(Reject::Throttle {
                        limit,
                        value: e.counter_micros,
                    });
                }
            }
            Throttle::Derivatives { bucket, headroom } => {
                let reserve = headroom.saturating_add(bucket.mass_cancel_cost);
                self.take_tokens(bucket.order_cost, reserve, bucket.capacity, now)?;
            }
        }
        self.stats.cancels += 1;
        Ok(())
    }

    /// Records a mass cancel (35=q) sent for one instrument (`Some`) or all of them, priced as
    /// the venue prices it: Spot, a batch cancel over the open orders in scope, never refused;
    /// Derivatives, the mass-cancel cost, paid from the reserve orders and cancels leave (the
    /// `headroom` itself is kept). Open orders stay open until their terminal reports.
    ///
    /// # Errors
    /// [`Reject::Throttle`] (Derivatives only) when the bucket cannot pay it (two mass cancels
    /// in a row): the venue would refuse it; nothing is charged.
    pub fn check_mass_cancel(
        &mut self,
        instrument: Option<InstrumentId>,
        now: UtcTimestamp,
    ) -> Result<(), Reject> {
        match self.global.throttle {
            Throttle::Off => Ok(()),
            Throttle::Spot { max_latency_ns, .. } => {
                let now_ns = ns(now).saturating_sub(max_latency_ns);
                for o in self.table.iter().filter(|o| o.used) {
                    if instrument.is_some_and(|i| i.0 != o.instrument) {
                        continue;
                    }
                    if let Some(inst) = self.instruments.get_mut(usize::from(o.instrument)) {
                        inst.spot.charge_unrefused(
                            Transaction::Cancel {
                                age_ns: now_ns.saturating_sub(o.sent_ns),
                                filled: false,
                            },
                            now,
                        );
                    }
                }
                Ok(())
            }
            Throttle::Derivatives { bucket, headroom } => {
                let r = self.take_tokens(bucket.mass_cancel_cost, headroom, bucket.capacity, now);
                if let Err(r) = r {
                    self.rejects[r.kind() as usize] += 1;
                }
                r
            }
        }
    }

    /// A fill (150=F) of `qty` lots on `instrument`/`side`: the net position moves; if `key` is
    /// an open order its remaining quantity shrinks (never below zero), and at zero it closes.
    /// Fills of orders risk does not know (other sessions) still move the position.
    pub fn on_fill(&mut self, key: OrderKey, instrument: InstrumentId, side: Side, qty: i64) {
        let qty = qty.max(0);
        if let Some(inst) = self.instruments.get_mut(usize::from(instrument.0)) {
            match side {
                Side::Buy => inst.position = inst.position.saturating_add(qty),
                Side::Sell => inst.position = inst.position.saturating_sub(qty),
            }
        }
        let Some(slot) = self.find(key.0) else {
            return;
        };
        let o = &mut self.table[slot];
        let done = qty.min(o.leaves);
        o.leaves -= done;
        let (inst_idx, oside, left) = (usize::from(o.instrument), o.side, o.leaves);
        if let Some(inst) = self.instruments.get_mut(inst_idx) {
            match oside {
                Side::Buy => inst.open_buy -= done,
                Side::Sell => inst.open_sell -= done,
            }
        }
        if left == 0 {
            self.remove(slot);
        }
    }

    /// The order `key` reached a terminal state without (further) fills: canceled, expired,
    /// rejected (150=4/C/8), refused before the engine (35=j), or never sent. Returns whether it
    /// was open. Idempotent.
    pub fn on_closed(&mut self, key: OrderKey) -> bool {
        match self.find(key.0) {
            Some(slot) => {
                self.remove(slot);
                true
            }
            None => false,
        }
    }

    /// Forgets every open order (after a reconnect whose cancel-on-disconnect or mass cancel
    /// closed them, or after reconciliation). Positions stay.
    pub fn clear_open_orders(&mut self) {
        for o in &mut self.table {
            *o = EMPTY;
        }
        self.open_total = 0;
        for inst in &mut self.instruments {
            inst.open_orders = 0;
            inst.open_buy = 0;
            inst.open_sell = 0;
        }
    }

    /// Sets the net position of an instrument (reconciliation at start-up), lots, long > 0.
    pub fn set_position(&mut self, instrument: InstrumentId, position: i64) {
        if let Some(inst) = self.instruments.get_mut(usize::from(instrument.0)) {
            inst.position = position;
        }
    }

    /// Net position, lots (long > 0).
    pub fn position(&self, instrument: InstrumentId) -> i64 {
        self.instruments
            .get(usize::from(instrument.0))
            .map_or(0, |i| i.position)
    }

    /// Open orders on one instrument, and their remaining buy and sell quantity.
    pub fn open(&self, instrument: InstrumentId) -> (u32, i64, i64) {
        self.instruments
            .get(usize::from(instrument.0))
            .map_or((0, 0, 0), |i| (i.open_orders, i.open_buy, i.open_sell))
    }

    /// Open orders in total.
    pub fn open_total(&self) -> u32 {
        self.open_total
    }

    /// Whether `key` is an open order.
    pub fn is_open(&self, key: OrderKey) -> bool {
        self.find(key.0).is_some()
    }

    /// The Spot throttle mirror of one instrument at `now`, micro-units (0 without a Spot
    /// throttle).
    pub fn spot_counter_micros(&mut self, instrument: InstrumentId, now: UtcTimestamp) -> i64 {
        match self.global.throttle {
            Throttle::Spot { .. } => self
                .instruments
                .get_mut(usize::from(instrument.0))
                .map_or(0, |i| i.spot.counter_micros(now)),
            Throttle::Off | Throttle::Derivatives { .. } => 0,
        }
    }

    /// Tokens left in the Derivatives throttle mirror at `now`, milli-tokens.
    pub fn bucket_millis(&mut self, now: UtcTimestamp) -> i64 {
        self.bucket.available_millis(now)
    }

    /// Turns the kill switch on: every new order is refused with [`Reject::Killed`] until
    /// [`Risk::rearm`]. Queues [`RiskEvent::Killed`] unless it was already on. The engine sends
    /// the mass cancel (35=q) and, if configured, the logout.
    pub fn kill(&mut self, reason: KillReason, now: UtcTimestamp) {
        if !self.killed {
            self.killed = true;
            self.push_event(RiskEvent::Killed { reason, at: now });
        }
    }

    /// Re-arms after a kill (manual only: nothing in this module re-arms by itself). Queues
    /// [`RiskEvent::Rearmed`] if it was killed.
    pub fn rearm(&mut self, now: UtcTimestamp) {
        if self.killed {
            self.killed = false;
            self.push_event(RiskEvent::Rearmed { at: now });
        }
    }

    /// Whether the kill switch is on.
    #[inline]
    pub fn killed(&self) -> bool {
        self.killed
    }

    fn push_event(&mut self, e: RiskEvent) {
        if self.event_len == EVENTS {
            self.stats.events_dropped += 1;
            return;
        }
        self.events[(self.event_head + self.event_len) % EVENTS] = Some(e);
        self.event_len += 1;
    }

    /// The next event, oldest first.
    pub fn poll_event(&mut self) -> Option<RiskEvent> {
        if self.event_len == 0 {
            return None;
        }
        let e = self.events[self.event_head].take();
        self.event_head = (self.event_head + 1) % EVENTS;
        self.event_len -= 1;
        e
    }

    /// How many checks were refused for `kind`.
    pub fn rejects(&self, kind: RejectKind) -> u64 {
        self.rejects[kind as usize]
    }

    /// Counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    // --- the open-order table ---

    #[inline]
    fn home(&self, key: u64) -> usize {
        (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize & self.mask
    }

    #[inline]
    fn find(&self, key: u64) -> Option<usize> {
        let mut i = self.home(key);
        loop {
            let o = &self.table[i];
            if !o.used {
                return None;
            }
            if o.key == key {
                return Some(i);
            }
            i = (i + 1) & self.mask;
        }
    }

    /// The empty slot `key` would go to.
    ///
    /// The table is at most half full (`open_total ≤ max_open_orders ≤ capacity`), so the probe
    /// ends.
    #[inline(always)]
    fn free_slot(&self, key: u64) -> Result<usize, Reject> {
        let mut i = self.home(key);
        loop {
            let o = &self.table[i];
            if !o.used {
                return Ok(i);
            }
            if o.key == key {
                return Err(Reject::KeyInUse);
            }
            i = (i + 1) & self.mask;
        }
    }

    fn remove(&mut self, slot: usize) {
        let o = self.table[slot];
        if let Some(inst) = self.instruments.get_mut(usize::from(o.instrument)) {
            inst.open_orders = inst.open_orders.saturating_sub(1);
            match o.side {
                Side::Buy => inst.open_buy -= o.leaves,
                Side::Sell => inst.open_sell -= o.leaves,
            }
        }
        self.open_total = self.open_total.saturating_sub(1);
        // Backward-shift deletion keeps every probe chain unbroken without tombstones.
        let mut hole = slot;
        let mut j = slot;
        loop {
            j = (j + 1) & self.mask;
            if !self.table[j].used {
                break;
            }
            let h = self.home(self.table[j].key);
            // Leave entry j where it is if its home lies cyclically in (hole, j].
            let stays = if hole <= j {
                hole < h && h <= j
            } else {
                hole < h || h <= j
            };
            if !stays {
                self.table[hole] = self.table[j];
                hole = j;
            }
        }
        self.table[hole] = EMPTY;
    }
}

/// [`Risk`] behind the engine's [`PreTrade`] hook: maps the engine's order templates and
/// market-data sessions to instruments, keeps each instrument's top of book from the engine's
/// book updates, converts decimal prices and quantities to ticks and lots, and turns execution
/// reports into [`Risk::on_fill`] / [`Risk::on_closed`]. The binding tables are filled at
/// start-up (`bind_*` may allocate); checks, book updates and reports never allocate.
///
/// Orders are keyed by the ClOrdID the engine assigns ([`OrderIntent::cl_ord_id`]); a report
/// is matched by its OrigClOrdID (41) if present, else its ClOrdID (11), read as a decimal
/// integer. A refused order is [`Refusal`] with the reject's [`RejectKind::name`] as the rule;
/// the full [`Reject`] (limit and value) is kept in [`Gate::last_reject`].
#[derive(Debug, Clone)]
pub struct Gate {
    risk: Risk,
    orders: Vec<Option<Binding>>,
    books: Vec<Option<InstrumentId>>,
    symbols: Vec<Symbol>,
    tops: Vec<Top>,
    last_reject: Option<Reject>,
}

#[derive(Debug, Clone, Copy)]
struct Binding {
    instrument: InstrumentId,
    price_scale: u8,
    qty_scale: u8,
}

/// Longest symbol a [`Gate`] binds.
pub const SYMBOL_MAX: usize = 32;

#[derive(Debug, Clone, Copy)]
struct Symbol {
    text: [u8; SYMBOL_MAX],
    len: u8,
    price_scale: u8,
    qty_scale: u8,
    bound: bool,
}

/// A binding that was not made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindError {
    /// The instrument id is not below [`Capacity::instruments`].
    UnknownInstrument(InstrumentId),
    /// The instrument was not bound with [`Gate::bind_instrument`] first.
    UnboundInstrument(InstrumentId),
    /// The symbol is empty or longer than [`SYMBOL_MAX`].
    Symbol,
}

impl core::fmt::Display for BindError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            BindError::UnknownInstrument(i) => write!(f, "instrument {} beyond capacity", i.0),
            BindError::UnboundInstrument(i) => write!(f, "instrument {} not bound", i.0),
            BindError::Symbol => write!(f, "symbol empty or longer than {SYMBOL_MAX} bytes"),
        }
    }
}

impl std::error::Error for BindError {}

fn parse_key(text: &[u8]) -> Option<u64> {
    if text.is_empty() || text.len() > 19 {
        return None;
    }
    let mut v = 0u64;
    for &b in text {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u64::from(b - b'0');
    }
    Some(v)
}

impl Gate {
    /// Wraps `risk`; nothing is bound yet (every order is refused as `unbound_order`).
    pub fn new(risk: Risk) -> Gate {
        let n = risk.instruments.len();
        Gate {
            risk,
            orders: Vec::new(),
            books: Vec::new(),
            symbols: vec![
                Symbol {
                    text: [0; SYMBOL_MAX],
                    len: 0,
                    price_scale: 0,
                    qty_scale: 0,
                    bound: false,
                };
                n
            ],
            tops: vec![
                Top {
                    bid: None,
                    ask: None,
                    last: None,
                    updated: UtcTimestamp::from_nanos(i64::MIN),
                };
                n
            ],
            last_reject: None,
        }
    }

    /// Names `instrument`: its symbol (55) as in execution reports, its PricePrecision and
    /// QtyPrecision (the book's scales, which orders' decimals are converted to).
    ///
    /// # Errors
    /// [`BindError::UnknownInstrument`] or [`BindError::Symbol`].
    pub fn bind_instrument(
        &mut self,
        instrument: InstrumentId,
        symbol: &[u8],
        price_scale: u8,
        qty_scale: u8,
    ) -> Result<(), BindError> {
        if symbol.is_empty() || symbol.len() > SYMBOL_MAX {
            return Err(BindError::Symbol);
        }
        let s = self
            .symbols
            .get_mut(usize::from(instrument.0))
            .ok_or(BindError::UnknownInstrument(instrument))?;
        s.text[..symbol.len()].copy_from_slice(symbol);
        s.len = symbol.len() as u8;
        s.price_scale = price_scale;
        s.qty_scale = qty_scale;
        s.bound = true;
        Ok(())
    }

    fn bound(&self, instrument: InstrumentId) -> Result<Symbol, BindError> {
        match self.symbols.get(usize::from(instrument.0)) {
            None => Err(BindError::UnknownInstrument(instrument)),
            Some(s) if !s.bound => Err(BindError::UnboundInstrument(instrument)),
            Some(s) => Ok(*s),
        }
    }

    /// Orders of the engine's template `order` are on `instrument`.
    ///
    /// # Errors
    /// [`BindError`] if the instrument is unknown or unbound.
    pub fn bind_order(
        &mut self,
        order: OrderId,
        instrument: InstrumentId,
    ) -> Result<(), BindError> {
        let s = self.bound(instrument)?;
        let i = order.index();
        if self.orders.len() <= i {
            self.orders.resize(i + 1, None);
        }
        self.orders[i] = Some(Binding {
            instrument,
            price_scale: s.price_scale,
            qty_scale: s.qty_scale,
        });
        Ok(())
    }

    /// The book of market-data session `session` is `instrument`'s.
    ///
    /// # Errors
    /// [`BindError`] if the instrument is unknown or unbound.
    pub fn bind_book(
        &mut self,
        session: SessionId,
        instrument: InstrumentId,
    ) -> Result<(), BindError> {
        self.bound(instrument)?;
        let i = session.index();
        if self.books.len() <= i {
            self.books.resize(i + 1, None);
        }
        self.books[i] = Some(instrument);
        Ok(())
    }

    /// The risk state.
    pub fn risk(&self) -> &Risk {
        &self.risk
    }

    /// The risk state, to apply limit changes, kill or re-arm between polls.
    pub fn risk_mut(&mut self) -> &mut Risk {
        &mut self.risk
    }

    /// The last reject, with its limit and value.
    pub fn last_reject(&self) -> Option<Reject> {
        self.last_reject
    }

    /// The top of book the gate holds for `instrument`.
    pub fn top(&self, instrument: InstrumentId) -> Option<Top> {
        self.tops.get(usize::from(instrument.0)).copied()
    }

    /// A business reject (35=j) of the order whose ClOrdID is `cl_ord_id`
    /// (BusinessRejectRefID, 379): it never became an order, so it is closed.
    pub fn on_business_reject(&mut self, cl_ord_id: &[u8]) {
        if let Some(k) = parse_key(cl_ord_id) {
            self.risk.on_closed(OrderKey(k));
        }
    }

    #[inline]
    fn refuse(&mut self, r: Reject) -> Refusal {
        self.last_reject = Some(r);
        Refusal {
            rule: r.kind().name(),
        }
    }
}

impl PreTrade for Gate {
    #[inline]
    fn check(&mut self, now: UtcTimestamp, intent: &OrderIntent<'_>) -> Result<(), Refusal> {
        let Some(Some(b)) = self.orders.get(intent.order.index()).copied() else {
            return Err(Refusal {
                rule: "unbound_order",
            });
        };
        let Some(price) = intent.price else {
            return Err(Refusal {
                rule: "market_order",
            });
        };
        let (Ok(price), Ok(qty)) = (
            price.to_scaled(b.price_scale),
            intent.qty.to_scaled(b.qty_scale),
        ) else {
            return Err(Refusal { rule: "precision" });
        };
        let order = Order {
            instrument: b.instrument,
            side: intent.side,
            price,
            qty,
        };
        let top = self.tops[usize::from(b.instrument.0)];
        match self
            .risk
            .check_new(OrderKey(intent.cl_ord_id), &order, &top, now)
        {
            Ok(()) => Ok(()),
            Err(r) => Err(self.refuse(r)),
        }
    }

    #[inline]
    fn on_book(&mut self, now: UtcTimestamp, update: &BookUpdate<'_>) {
        if let Some(Some(i)) = self.books.get(update.session.index()).copied() {
            if let Some(t) = self.tops.get_mut(usize::from(i.0)) {
                *t = Top::from_book(update.book, now);
            }
        }
    }

    fn on_execution(&mut self, _session: SessionId, er: &ExecutionReport<'_>) {
        let symbol = er.symbol();
        let Some(idx) = self
            .symbols
            .iter()
            .position(|s| s.bound && &s.text[..usize::from(s.len)] == symbol)
        else {
            return;
        };
        let instrument = InstrumentId(idx as u16);
        let qty_scale = self.symbols[idx].qty_scale;
        let key = er
            .orig_cl_ord_id()
            .or(er.cl_ord_id())
            .and_then(parse_key)
            .map_or(OrderKey(u64::MAX), OrderKey);
        if er.exec_type() == ExecType::Trade {
            let side = match er.side() {
                ReportSide::Buy => Some(Side::Buy),
                ReportSide::Sell => Some(Side::Sell),
                ReportSide::Other(_) => None,
            };
            if let (Some(side), Ok(Some(q))) = (side, er.last_qty()) {
                if let Ok(lots) = q.to_scaled(qty_scale) {
                    self.risk.on_fill(key, instrument, side, lots);
                }
            }
        }
        if er.ord_status().is_terminal() {
            self.risk.on_closed(key);
        }
    }
}

fn validate_instrument(l: &InstrumentLimits) -> Result<(), LimitError> {
    let bad = |field| Err(LimitError::Invalid { field });
    if l.max_order_qty < 0 {
        return bad("max_order_qty");
    }
    if l.max_notional < 0 {
        return bad("max_notional");
    }
    if l.max_position < 0 {
        return bad("max_position");
    }
    match l.collar {
        Collar::Ticks(t) if t < 0 => bad("collar"),
        Collar::BasisPoints(b) if b < 0 => bad("collar"),
        Collar::Ticks(_) | Collar::BasisPoints(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ns: i64) -> UtcTimestamp {
        UtcTimestamp::from_nanos(1_775_572_320_000_000_000 + ns)
    }

    fn risk(orders: usize) -> Risk {
        let mut r = Risk::new(
            Capacity {
                instruments: 2,
                orders,
                recent: 4,
            },
            GlobalLimits {
                max_open_orders: orders as u32,
                ..GlobalLimits::default()
            },
        )
        .expect("limits");
        r.apply(LimitChange::Instrument(
            InstrumentId(0),
            InstrumentLimits {
                max_order_qty: 1_000,
                max_notional: i64::MAX,
                collar: Collar::Ticks(1_000_000),
                max_open_orders: orders as u32,
                max_position: i64::MAX,
            },
        ))
        .expect("limits");
        r
    }

    fn buy(qty: i64) -> Order {
        Order {
            instrument: InstrumentId(0),
            side: Side::Buy,
            price: 100,
            qty,
        }
    }

    const TOP: Top = Top {
        bid: Some(99),
        ask: Some(100),
        last: None,
        updated: UtcTimestamp::from_nanos(0),
    };

    #[test]
    fn table_survives_colliding_inserts_and_removes() {
        let mut r = risk(64);
        // Keys chosen to share home slots: insert, remove in a scrambled order, re-find all.
        let keys: Vec<u64> = (0..64).map(|i| i * 128).collect();
        for &k in &keys {
            r.check_new(OrderKey(k), &buy(1), &TOP, t(0)).expect("room");
        }
        assert_eq!(r.open_total(), 64);
        for (n, &k) in keys.iter().enumerate().filter(|(n, _)| n % 3 == 0) {
            assert!(r.on_closed(OrderKey(k)), "key {n}");
        }
        for (n, &k) in keys.iter().enumerate() {
            assert_eq!(r.is_open(OrderKey(k)), n % 3 != 0, "key {n}");
        }
        assert_eq!(r.open(InstrumentId(0)).0, r.open_total());
        assert_eq!(
            r.check_new(OrderKey(keys[1]), &buy(1), &TOP, t(0)),
            Err(Reject::KeyInUse)
        );
    }

    #[test]
    fn duplicate_buckets_hold_the_latest_order_and_stop_at_the_window() {
        let mut r = risk(64);
        r.apply(LimitChange::Global(GlobalLimits {
            max_open_orders: 64,
            duplicate_window_ns: 1_000,
            ..GlobalLimits::default()
        }))
        .expect("limits");
        for k in 0..10 {
            r.check_new(OrderKey(k), &buy(k as i64 + 1), &TOP, t(k as i64))
                .expect("distinct");
        }
        // The latest order is always in its bucket.
        assert_eq!(
            r.check_new(OrderKey(100), &buy(10), &TOP, t(10)),
            Err(Reject::Duplicate {
                limit: 1_000,
                value: 1
            })
        );
        // Only 4 buckets for 10 orders: some earlier ones were displaced, never a false alarm.
        let mut caught = 0;
        for q in 1..10 {
            match r.check_new(OrderKey(200 + q as u64), &buy(q), &TOP, t(10)) {
                Err(Reject::Duplicate { .. }) => caught += 1,
                Ok(()) => {
                    r.on_closed(OrderKey(200 + q as u64));
                }
                Err(e) => panic!("unexpected {e:?}"),
            }
        }
        assert!(caught <= 3, "at most 3 other buckets: {caught}");
        // At exactly the window the earlier order no longer counts.
        assert!(r
            .check_new(OrderKey(102), &buy(10), &TOP, t(9 + 1_000))
            .is_ok());
    }

    #[test]
    fn events_queue_and_count_drops() {
        let mut r = risk(4);
        for i in 0..10 {
            r.kill(KillReason::Operator, t(i));
            r.rearm(t(i));
        }
        let mut n = 0;
        while r.poll_event().is_some() {
            n += 1;
        }
        assert_eq!(n, EVENTS);
        assert_eq!(r.stats().events_dropped, 20 - EVENTS as u64);
    }
    fn with_er(fields: &str, f: impl FnOnce(&ExecutionReport<'_>)) {
        use tickwire_fix::message::{FieldIndex, Message};
        let text =
            format!("8=FIX.4.4|9=0|35=8|37=O1|17=E1|6=0|{fields}10=000|").replace('|', "\x01");
        let mut idx = FieldIndex::<64>::new();
        let msg = Message::parse(text.as_bytes(), &mut idx).expect("parses");
        f(&ExecutionReport::new_checked(&msg).expect("a report"));
    }

    #[test]
    fn gate_maps_templates_books_and_reports_onto_risk() {
        let mut gate = Gate::new(risk(16));
        let order = OrderId(3);
        let intent = |cl_ord_id, px: i64, qty: i64| OrderIntent {
            session: SessionId(1),
            order,
            symbol: b"BTC/USD",
            side: Side::Buy,
            price: Some(tickwire_fix::decimal::Decimal::new(px, 1)),
            qty: tickwire_fix::decimal::Decimal::new(qty, 2),
            cl_ord_id,
        };
        // Nothing bound: refused by name, not a panic.
        assert_eq!(
            gate.check(t(0), &intent(1, 1000, 1)),
            Err(Refusal {
                rule: "unbound_order"
            })
        );
        assert_eq!(
            gate.bind_order(order, InstrumentId(0)),
            Err(BindError::UnboundInstrument(InstrumentId(0)))
        );
        assert_eq!(
            gate.bind_instrument(InstrumentId(9), b"X", 1, 2),
            Err(BindError::UnknownInstrument(InstrumentId(9)))
        );
        gate.bind_instrument(InstrumentId(0), b"BTC/USD", 1, 2)
            .expect("bind");
        gate.bind_order(order, InstrumentId(0)).expect("bind");
        gate.bind_book(SessionId(0), InstrumentId(0)).expect("bind");
        // No book yet: no market.
        assert_eq!(
            gate.check(t(0), &intent(1, 1000, 1)),
            Err(Refusal { rule: "no_market" })
        );
        assert_eq!(gate.last_reject(), Some(Reject::NoMarket));
        let mut book = Book::new(10, 1, 2);
        book.begin_snapshot(1);
        book.apply_snapshot_level(
            tickwire_fix::book::BookSide::Ask,
            tickwire_fix::decimal::Decimal::new(1000, 1),
            tickwire_fix::decimal::Decimal::new(1, 0),
        );
        book.finish_snapshot();
        gate.on_book(
            t(0),
            &BookUpdate {
                session: SessionId(0),
                book: &book,
                seq: 1,
            },
        );
        assert_eq!(gate.top(InstrumentId(0)).and_then(|t| t.ask), Some(1000));
        // 0.05 at scale 2 = 5 lots.
        assert_eq!(gate.check(t(0), &intent(77, 1000, 5)), Ok(()));
        assert_eq!(gate.risk().open(InstrumentId(0)), (1, 5, 0));
        // A partial fill, then the IOC remainder cancelled.
        with_er(
            "11=77|150=F|39=1|54=1|55=BTC/USD|14=0.02|151=0.03|32=0.02|",
            |er| gate.on_execution(SessionId(1), er),
        );
        assert_eq!(gate.risk().position(InstrumentId(0)), 2);
        assert_eq!(gate.risk().open(InstrumentId(0)), (1, 3, 0));
        with_er("11=77|150=4|39=4|54=1|55=BTC/USD|14=0.02|151=0|", |er| {
            gate.on_execution(SessionId(1), er)
        });
        assert_eq!(gate.risk().open(InstrumentId(0)), (0, 0, 0));
        // A cancel's report names the order in 41; a 35=j closes by 379.
        assert_eq!(gate.check(t(0), &intent(78, 1000, 1)), Ok(()));
        assert_eq!(gate.check(t(0), &intent(79, 1000, 1)), Ok(()));
        with_er("11=90|41=78|150=4|39=4|54=1|55=BTC/USD|14=0|151=0|", |er| {
            gate.on_execution(SessionId(1), er)
        });
        gate.on_business_reject(b"79");
        assert_eq!(gate.risk().open_total(), 0);
        // Unknown symbols and garbage ids change nothing.
        with_er("11=abc|150=F|39=2|54=1|55=ETH/USD|14=1|151=0|32=1|", |er| {
            gate.on_execution(SessionId(1), er)
        });
        assert_eq!(gate.risk().position(InstrumentId(0)), 2);
        // Market orders and unrepresentable decimals are refused by name.
        let market = OrderIntent {
            price: None,
            ..intent(80, 1000, 1)
        };
        assert_eq!(
            gate.check(t(0), &market),
            Err(Refusal {
                rule: "market_order"
            })
        );
        let fine = OrderIntent {
            qty: tickwire_fix::decimal::Decimal::new(1, 3),
            ..intent(81, 1000, 1)
        };
        assert_eq!(gate.check(t(0), &fine), Err(Refusal { rule: "precision" }));
        // Limit changes and the kill switch go through risk_mut.
        gate.risk_mut().kill(KillReason::Operator, t(1));
        assert_eq!(
            gate.check(t(1), &intent(82, 1000, 1)),
            Err(Refusal { rule: "killed" })
        );
    }
}
