//! The order record and the slab that holds every live order.
//!
//! The slab is a `Vec<Order>` allocated once with `max_orders` entries and a free list threaded
//! through it; a slot's generation grows each time it is reused, and the (generation, slot)
//! pair is the order's key, from which its OrderID is derived ([`super::ids`]). Orders in a
//! price level form an intrusive doubly-linked FIFO through `prev`/`next`.

use super::types::{
    AccountId, ClOrdId, ExecInst, InstrumentId, OrdType, OrderId, SessionId, Side, StpMode,
    TimeInForce, TriggerRef,
};

/// "No order" in links.
pub(crate) const NIL: u32 = u32::MAX;

/// Where a live order is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// Slot unused.
    Free,
    /// Accepted, waiting for EffectiveTime (39=A).
    PendingNew,
    /// A trigger order waiting for its trigger.
    Untriggered,
    /// Being matched (not in any book structure).
    Working,
    /// In a price level.
    Resting,
}

/// One order. Prices are in ticks of 10^-price_precision, quantities in units of
/// 10^-qty_precision of its instrument.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Order {
    pub key: u64,
    pub state: State,
    pub instrument: InstrumentId,
    pub account: AccountId,
    pub session: SessionId,
    pub side: Side,
    /// OrdType as entered.
    pub entered_type: OrdType,
    /// Market or Limit once triggered, else as entered.
    pub ord_type: OrdType,
    pub tif: TimeInForce,
    pub exec_inst: ExecInst,
    pub leverage: bool,
    pub stp: StpMode,
    pub trigger_ref: TriggerRef,
    /// Limit price (0 for market). For an untriggered trailing-stop-limit: the offset.
    pub price: i64,
    /// Absolute trigger price, or the trailing distance.
    pub stop: i64,
    /// Trailing: best reference price seen since placement (`i64::MIN`: none yet).
    pub anchor: i64,
    /// The reference price that fired the trigger (`i64::MIN`: not triggered).
    pub triggered_at: i64,
    pub qty: i64,
    pub cum: i64,
    /// Iceberg display size (0: not an iceberg).
    pub display: i64,
    /// Visible part while resting.
    pub visible: i64,
    /// Σ price × qty of fills, at price_precision + qty_precision.
    pub cum_notional: i128,
    /// Cumulative fee at the instrument's fee precision.
    pub cum_fee: i64,
    pub cl_ord_id: ClOrdId,
    pub order_id: OrderId,
    pub created_ns: i64,
    /// Creation or last amend: the age the rate counter uses.
    pub amended_ns: i64,
    /// GTD expiry (0: none).
    pub expire_ns: i64,
    /// Time priority (engine-wide sequence).
    pub seq: u64,
    /// When `seq` was taken: the queue-entry time L3 market data shows (5273).
    pub queued_ns: i64,
    /// Last change of what L3 market data shows (placement, fill, amend, reload; 5060).
    pub updated_ns: i64,
    pub prev: u32,
    pub next: u32,
}

impl Order {
    pub(crate) const EMPTY: Order = Order {
        key: 0,
        state: State::Free,
        instrument: InstrumentId(0),
        account: AccountId(0),
        session: SessionId {
            index: 0,
            generation: 0,
        },
        side: Side::Buy,
        entered_type: OrdType::Limit,
        ord_type: OrdType::Limit,
        tif: TimeInForce::GoodTillCancel,
        exec_inst: ExecInst {
            reduce_only: false,
            post_only: false,
            quote_qty: false,
            fee_in_base: false,
            fee_in_quote: false,
            single_fee: false,
        },
        leverage: false,
        stp: StpMode::CancelNewest,
        trigger_ref: TriggerRef::Last,
        price: 0,
        stop: 0,
        anchor: i64::MIN,
        triggered_at: i64::MIN,
        qty: 0,
        cum: 0,
        display: 0,
        visible: 0,
        cum_notional: 0,
        cum_fee: 0,
        cl_ord_id: ClOrdId::EMPTY,
        order_id: OrderId::EMPTY,
        created_ns: 0,
        amended_ns: 0,
        expire_ns: 0,
        seq: 0,
        queued_ns: 0,
        updated_ns: 0,
        prev: NIL,
        next: NIL,
    };

    #[inline]
    pub(crate) fn leaves(&self) -> i64 {
        self.qty - self.cum
    }

    pub(crate) fn is_market(&self) -> bool {
        self.ord_type == OrdType::Market
    }

    pub(crate) fn is_trigger_type(t: OrdType) -> bool {
        !matches!(t, OrdType::Market | OrdType::Limit)
    }

    pub(crate) fn is_trailing(&self) -> bool {
        matches!(
            self.entered_type,
            OrdType::TrailingStop | OrdType::TrailingStopLimit
        )
    }

    /// True for types that carry a limit price after the trigger.
    pub(crate) fn has_limit(t: OrdType) -> bool {
        matches!(
            t,
            OrdType::Limit
                | OrdType::StopLossLimit
                | OrdType::TakeProfitLimit
                | OrdType::TrailingStopLimit
        )
    }

    /// The type once triggered.
    pub(crate) fn triggered_type(t: OrdType) -> OrdType {
        if Self::has_limit(t) {
            OrdType::Limit
        } else {
            OrdType::Market
        }
    }
}

/// Fixed-capacity store of live orders.
#[derive(Debug)]
pub(crate) struct Slab {
    pub orders: Vec<Order>,
    generations: Vec<u32>,
    free: Vec<u32>,
    live: usize,
    high_water: usize,
}

impl Slab {
    pub(crate) fn new(capacity: usize) -> Slab {
        let capacity = capacity.min(u32::MAX as usize - 1);
        Slab {
            orders: vec![Order::EMPTY; capacity],
            generations: vec![0; capacity],
            // Pop from the end: lowest slots first, so scans over the used prefix stay short.
            free: (0..capacity as u32).rev().collect(),
            live: 0,
            high_water: 0,
        }
    }

    /// A fresh slot and its key, or `None` when full.
    pub(crate) fn alloc(&mut self) -> Option<(u32, u64)> {
        let slot = self.free.pop()?;
        let g = &mut self.generations[slot as usize];
        *g = g.wrapping_add(1);
        self.live += 1;
        self.high_water = self.high_water.max(slot as usize + 1);
        Some((slot, (u64::from(*g) << 32) | u64::from(slot)))
    }

    pub(crate) fn release(&mut self, slot: u32) {
        let o = &mut self.orders[slot as usize];
        if o.state != State::Free {
            o.state = State::Free;
            self.free.push(slot);
            self.live -= 1;
        }
    }

    /// The slot of a live order with this key.
    pub(crate) fn find(&self, key: u64) -> Option<u32> {
        let slot = (key & 0xFFFF_FFFF) as u32;
        let o = self.orders.get(slot as usize)?;
        (o.state != State::Free && o.key == key).then_some(slot)
    }

    /// One past the highest slot ever used: scans over live orders stop here.
    pub(crate) fn high_water(&self) -> usize {
        self.high_water
    }

    pub(crate) fn live(&self) -> usize {
        self.live
    }

    pub(crate) fn capacity(&self) -> usize {
        self.orders.len()
    }
}
