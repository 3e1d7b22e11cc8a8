//! Untriggered stop-loss, take-profit and trailing orders of one instrument and one reference
//! price (last trade or index).
//!
//! Fixed triggers sit in two sorted vectors, one for "fires when the price rises to the stop"
//! (buy stop-loss, sell take-profit) and one for "fires when it falls to the stop" (sell
//! stop-loss, buy take-profit), arranged so the next to fire is at the end: firing pops. Trailing
//! stops move with the market, so they sit in an unsorted list and are re-evaluated on every
//! reference price change. All vectors are reserved at start-up (`max_trigger_orders`).
//!
//! Trailing rule (SPEC §4.1 notes: StopPx is a distance in quote currency): a sell trailing stop
//! tracks the highest reference price since placement and fires when the price falls `distance`
//! below it; a buy tracks the lowest and fires `distance` above it.

use super::order::{Order, State};
use super::types::{OrdType, Side};

/// Which vector an order lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Rise,
    Fall,
    Trailing,
}

fn kind(o: &Order) -> Kind {
    match (o.entered_type, o.side) {
        (OrdType::TrailingStop | OrdType::TrailingStopLimit, _) => Kind::Trailing,
        (OrdType::StopLoss | OrdType::StopLossLimit, Side::Buy)
        | (OrdType::TakeProfit | OrdType::TakeProfitLimit, Side::Sell) => Kind::Rise,
        _ => Kind::Fall,
    }
}

/// The trigger vectors are full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TriggersFull;

#[derive(Debug)]
pub(crate) struct Triggers {
    /// (−stop, seq, slot) ascending: the lowest stop is last.
    rise: Vec<(i64, u64, u32)>,
    /// (stop, seq, slot) ascending: the highest stop is last.
    fall: Vec<(i64, u64, u32)>,
    trailing: Vec<u32>,
}

impl Triggers {
    pub(crate) fn new(capacity: usize) -> Triggers {
        Triggers {
            rise: Vec::with_capacity(capacity),
            fall: Vec::with_capacity(capacity),
            trailing: Vec::with_capacity(capacity),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.rise.len() + self.fall.len() + self.trailing.len()
    }

    /// True if one more order of this shape fits.
    pub(crate) fn has_room(&self, o: &Order) -> bool {
        match kind(o) {
            Kind::Rise => self.rise.len() < self.rise.capacity(),
            Kind::Fall => self.fall.len() < self.fall.capacity(),
            Kind::Trailing => self.trailing.len() < self.trailing.capacity(),
        }
    }

    fn entry(o: &Order, slot: u32) -> (Kind, (i64, u64, u32)) {
        match kind(o) {
            Kind::Rise => (Kind::Rise, (-o.stop, o.seq, slot)),
            k => (k, (o.stop, o.seq, slot)),
        }
    }

    pub(crate) fn insert(&mut self, o: &Order, slot: u32) -> Result<(), TriggersFull> {
        let (k, e) = Self::entry(o, slot);
        let v = match k {
            Kind::Rise => &mut self.rise,
            Kind::Fall => &mut self.fall,
            Kind::Trailing => {
                if self.trailing.len() == self.trailing.capacity() {
                    return Err(TriggersFull);
                }
                self.trailing.push(slot);
                return Ok(());
            }
        };
        if v.len() == v.capacity() {
            return Err(TriggersFull);
        }
        let i = v.partition_point(|x| *x < e);
        v.insert(i, e);
        Ok(())
    }

    /// Removes the order (its stop and seq must be those it was inserted with).
    pub(crate) fn remove(&mut self, o: &Order, slot: u32) {
        let (k, e) = Self::entry(o, slot);
        let v = match k {
            Kind::Rise => &mut self.rise,
            Kind::Fall => &mut self.fall,
            Kind::Trailing => {
                if let Some(i) = self.trailing.iter().position(|&s| s == slot) {
                    self.trailing.swap_remove(i);
                }
                return;
            }
        };
        if let Ok(i) = v.binary_search(&e) {
            v.remove(i);
        }
    }

    /// Moves every order whose trigger `price` meets into `fired`, updating trailing anchors.
    pub(crate) fn collect(&mut self, price: i64, orders: &mut [Order], fired: &mut Vec<u32>) {
        while let Some(&(k, _, slot)) = self.rise.last() {
            if -k > price {
                break;
            }
            self.rise.pop();
            fired.push(slot);
        }
        while let Some(&(k, _, slot)) = self.fall.last() {
            if k < price {
                break;
            }
            self.fall.pop();
            fired.push(slot);
        }
        let mut i = 0;
        while i < self.trailing.len() {
            let slot = self.trailing[i];
            let o = &mut orders[slot as usize];
            let fire = if o.state != State::Untriggered {
                false
            } else if o.anchor == i64::MIN {
                o.anchor = price;
                false
            } else {
                match o.side {
                    Side::Sell => {
                        o.anchor = o.anchor.max(price);
                        price <= o.anchor - o.stop
                    }
                    Side::Buy => {
                        o.anchor = o.anchor.min(price);
                        price >= o.anchor + o.stop
                    }
                }
            };
            if fire {
                self.trailing.swap_remove(i);
                fired.push(slot);
            } else {
                i += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stop(side: Side, t: OrdType, stop: i64, seq: u64) -> Order {
        Order {
            side,
            entered_type: t,
            ord_type: t,
            stop,
            seq,
            state: State::Untriggered,
            ..Order::EMPTY
        }
    }

    #[test]
    fn fixed_triggers_fire_in_the_right_direction() {
        let mut orders = vec![
            stop(Side::Buy, OrdType::StopLoss, 110, 1),
            stop(Side::Sell, OrdType::StopLoss, 90, 2),
            stop(Side::Buy, OrdType::TakeProfit, 95, 3),
            stop(Side::Sell, OrdType::TakeProfitLimit, 105, 4),
        ];
        let mut t = Triggers::new(8);
        for (i, o) in orders.iter().enumerate() {
            t.insert(o, i as u32).expect("room");
        }
        let mut fired = Vec::new();
        t.collect(100, &mut orders, &mut fired);
        assert!(fired.is_empty());
        t.collect(105, &mut orders, &mut fired);
        assert_eq!(fired, [3]);
        fired.clear();
        t.collect(111, &mut orders, &mut fired);
        assert_eq!(fired, [0]);
        fired.clear();
        t.collect(90, &mut orders, &mut fired);
        fired.sort_unstable();
        assert_eq!(fired, [1, 2]);
        assert_eq!(t.len(), 0);
    }

    #[test]
    fn trailing_stop_follows_the_peak() {
        let mut orders = vec![stop(Side::Sell, OrdType::TrailingStop, 20, 1)];
        let mut t = Triggers::new(4);
        t.insert(&orders[0], 0).expect("room");
        let mut fired = Vec::new();
        for p in [100, 120, 110, 101] {
            t.collect(p, &mut orders, &mut fired);
            assert!(fired.is_empty(), "at {p}");
        }
        assert_eq!(orders[0].anchor, 120);
        t.collect(100, &mut orders, &mut fired);
        assert_eq!(fired, [0]);
    }

    #[test]
    fn removal_and_capacity() {
        let orders = [
            stop(Side::Buy, OrdType::StopLoss, 110, 1),
            stop(Side::Buy, OrdType::StopLoss, 111, 2),
        ];
        let mut t = Triggers::new(1);
        t.insert(&orders[0], 0).expect("room");
        assert!(!t.has_room(&orders[1]));
        assert_eq!(t.insert(&orders[1], 1), Err(TriggersFull));
        t.remove(&orders[0], 0);
        assert_eq!(t.len(), 0);
    }
}
