//! The order-by-order view of a book that Level 3 market data publishes: every resting order
//! with its visible quantity, best price level first and in queue (time-priority) order within
//! a level, with the times L3 shows (SPEC §4.10: 5060 MDEntryTimestamp, 5273
//! MDEntryTimeQueue). Hidden iceberg quantity, untriggered and in-flight orders are not part of
//! it, as on Kraken's level3 feed.

use tickwire_fix::decimal::Decimal;
use tickwire_fix::time::UtcTimestamp;

use super::order::NIL;
use super::{Engine, InstrumentId, OrderId, Side};

/// One resting order as L3 market data shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestingOrder {
    /// OrderID (37): L3's MDEntryID.
    pub order_id: OrderId,
    /// Bid or offer.
    pub side: Side,
    /// Limit price.
    pub price: Decimal,
    /// Visible quantity (an iceberg's display slice).
    pub qty: Decimal,
    /// Time priority: unique and increasing in queue order; a new value whenever the order
    /// goes to the back of a queue (price amend, size increase, iceberg reload).
    pub priority: u64,
    /// When the order took its queue position (5273): unique per engine, increasing with
    /// `priority` (1 ns apart when several take a position in the same instant).
    pub queued: UtcTimestamp,
    /// Last change of the order's visible state (5060).
    pub updated: UtcTimestamp,
}

impl Engine {
    /// Resting orders of one side in the best `levels` price levels: best level first, queue
    /// order within a level.
    pub fn resting_orders(
        &self,
        id: InstrumentId,
        side: Side,
        levels: usize,
    ) -> impl Iterator<Item = RestingOrder> + '_ {
        let orders = &self.orders.orders;
        self.instruments
            .get(usize::from(id.0))
            .into_iter()
            .flat_map(move |inst| {
                inst.book.levels(side).take(levels).flat_map(move |(_, l)| {
                    let mut slot = inst.book.level(l).head;
                    std::iter::from_fn(move || {
                        let o = orders.get(slot as usize).filter(|_| slot != NIL)?;
                        slot = o.next;
                        Some(RestingOrder {
                            order_id: o.order_id,
                            side: o.side,
                            price: inst.px(o.price),
                            qty: inst.qty(o.visible),
                            priority: o.seq,
                            queued: UtcTimestamp::from_nanos(o.queued_ns),
                            updated: UtcTimestamp::from_nanos(o.updated_ns),
                        })
                    })
                })
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Config, InstrumentSpec, NewOrder, SessionConfig};

    #[test]
    fn orders_in_level_then_queue_order_with_visible_qty() {
        let mut e = Engine::new(Config::spot(), vec![InstrumentSpec::btc_usd()]).expect("engine");
        let a = e
            .add_account(crate::engine::AccountConfig::default())
            .expect("account");
        let s = e
            .open_session(
                a,
                SessionConfig {
                    cancel_on_disconnect: false,
                },
            )
            .expect("session");
        let t = |k: i64| UtcTimestamp::from_nanos(1_775_572_325_000_000_000 + k);
        let px = |p: &str| Decimal::parse(p.as_bytes()).expect("px");
        let q = |p: &str| Decimal::parse(p.as_bytes()).expect("qty");
        let sym = b"BTC/USD";
        let _ = e.handle_new_order(
            s,
            &NewOrder::limit(b"1", sym, Side::Buy, q("1"), px("100.0")),
            t(1),
        );
        let _ = e.handle_new_order(
            s,
            &NewOrder::limit(b"2", sym, Side::Buy, q("2"), px("101.0")),
            t(2),
        );
        let _ = e.handle_new_order(
            s,
            &NewOrder::limit(b"3", sym, Side::Buy, q("3"), px("100.0")),
            t(3),
        );
        let mut ice = NewOrder::limit(b"4", sym, Side::Buy, q("5"), px("99.0"));
        ice.display_qty = Some(q("1"));
        let _ = e.handle_new_order(s, &ice, t(4));
        while e.poll_event().is_some() {}
        let view: Vec<_> = e
            .resting_orders(crate::engine::InstrumentId(0), Side::Buy, 2)
            .map(|o| (o.price, o.qty, o.queued.nanos - t(0).nanos))
            .collect();
        assert_eq!(
            view,
            [
                (px("101.0"), q("2"), 2),
                (px("100.0"), q("1"), 1),
                (px("100.0"), q("3"), 3),
            ]
        );
        let all: Vec<_> = e
            .resting_orders(crate::engine::InstrumentId(0), Side::Buy, 10)
            .collect();
        assert_eq!(all.len(), 4);
        assert_eq!(all[3].qty, q("1"), "iceberg shows its display slice only");
        let mut by_priority = all.clone();
        by_priority.sort_by_key(|o| o.priority);
        assert!(
            by_priority.windows(2).all(|w| w[0].queued < w[1].queued),
            "queue times unique and in priority order"
        );
        assert!(all.windows(2).all(|w| w[0].price > w[1].price
            || (w[0].price == w[1].price && w[0].priority < w[1].priority)));
        assert_eq!(
            e.resting_orders(crate::engine::InstrumentId(0), Side::Sell, 10)
                .count(),
            0
        );
        assert_eq!(
            e.resting_orders(crate::engine::InstrumentId(9), Side::Buy, 10)
                .count(),
            0
        );
    }
}
