//! One instrument's order book: price levels with FIFO queues (price-time priority).
//!
//! Each side is a sorted `Vec<(key, level)>` with the best level last, so the common cases —
//! trading at, adding near or removing the top of book — touch the end of the vector. The key
//! is the price for bids and its negation for asks, so both sides sort ascending. Levels come
//! from a pool allocated at start-up (`max_levels` per side); orders are linked into their
//! level's FIFO through the order slab. Nothing here allocates after construction.

use super::order::{Order, State, NIL};
use super::types::Side;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Level {
    pub price: i64,
    pub head: u32,
    pub tail: u32,
    /// Σ visible quantity of the level's orders (what market data shows).
    pub visible: i64,
    pub count: u32,
}

/// The level pool is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LevelsFull;

#[derive(Debug)]
pub(crate) struct Book {
    bids: Vec<(i64, u32)>,
    asks: Vec<(i64, u32)>,
    levels: Vec<Level>,
    free: Vec<u32>,
}

#[inline]
fn key(side: Side, price: i64) -> i64 {
    match side {
        Side::Buy => price,
        Side::Sell => -price,
    }
}

impl Book {
    pub(crate) fn new(max_levels: usize) -> Book {
        let pool = max_levels * 2;
        Book {
            bids: Vec::with_capacity(max_levels),
            asks: Vec::with_capacity(max_levels),
            levels: vec![
                Level {
                    price: 0,
                    head: NIL,
                    tail: NIL,
                    visible: 0,
                    count: 0,
                };
                pool
            ],
            free: (0..pool as u32).rev().collect(),
        }
    }

    fn side(&self, side: Side) -> &Vec<(i64, u32)> {
        match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        }
    }

    fn side_mut(&mut self, side: Side) -> &mut Vec<(i64, u32)> {
        match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        }
    }

    /// Best level of `side`: (price, level index).
    #[inline]
    pub(crate) fn best(&self, side: Side) -> Option<(i64, u32)> {
        self.side(side)
            .last()
            .map(|&(_, l)| (self.levels[l as usize].price, l))
    }

    pub(crate) fn level(&self, l: u32) -> &Level {
        &self.levels[l as usize]
    }

    pub(crate) fn level_mut(&mut self, l: u32) -> &mut Level {
        &mut self.levels[l as usize]
    }

    /// The level at `price` on `side`.
    pub(crate) fn find(&self, side: Side, price: i64) -> Option<u32> {
        let v = self.side(side);
        let k = key(side, price);
        v.binary_search_by(|&(x, _)| x.cmp(&k)).ok().map(|i| v[i].1)
    }

    /// Aggregate visible size at `price` (0 if no level).
    pub(crate) fn size_at(&self, side: Side, price: i64) -> i64 {
        self.find(side, price)
            .map_or(0, |l| self.levels[l as usize].visible)
    }

    /// True if an order on `side` at limit `price` would trade against the other side.
    pub(crate) fn crosses(&self, side: Side, price: i64) -> bool {
        match self.best(side.opposite()) {
            None => false,
            Some((best, _)) => match side {
                Side::Buy => best <= price,
                Side::Sell => best >= price,
            },
        }
    }

    /// Levels of `side`, best first: (price, level index).
    pub(crate) fn levels(&self, side: Side) -> impl Iterator<Item = (i64, u32)> + '_ {
        self.side(side)
            .iter()
            .rev()
            .map(|&(_, l)| (self.levels[l as usize].price, l))
    }

    #[cfg(test)]
    pub(crate) fn depth(&self, side: Side) -> usize {
        self.side(side).len()
    }

    fn level_for(&mut self, side: Side, price: i64) -> Result<u32, LevelsFull> {
        let k = key(side, price);
        match self.side(side).binary_search_by(|&(x, _)| x.cmp(&k)) {
            Ok(i) => Ok(self.side(side)[i].1),
            Err(i) => {
                let v = self.side(side);
                if v.len() == v.capacity() {
                    return Err(LevelsFull);
                }
                let l = self.free.pop().ok_or(LevelsFull)?;
                self.levels[l as usize] = Level {
                    price,
                    head: NIL,
                    tail: NIL,
                    visible: 0,
                    count: 0,
                };
                self.side_mut(side).insert(i, (k, l));
                Ok(l)
            }
        }
    }

    /// True if a new order at `price` would need a level the pool cannot give.
    pub(crate) fn would_need_level_beyond_capacity(&self, side: Side, price: i64) -> bool {
        self.find(side, price).is_none()
            && (self.side(side).len() == self.side(side).capacity() || self.free.is_empty())
    }

    /// Appends `slot` (side, price and visible taken from the order) at the back of its level.
    pub(crate) fn push_back(&mut self, orders: &mut [Order], slot: u32) -> Result<(), LevelsFull> {
        let (side, price, visible) = {
            let o = &orders[slot as usize];
            (o.side, o.price, o.visible)
        };
        let l = self.level_for(side, price)?;
        let level = &mut self.levels[l as usize];
        let o = &mut orders[slot as usize];
        o.prev = level.tail;
        o.next = NIL;
        o.state = State::Resting;
        if level.tail == NIL {
            level.head = slot;
        } else {
            orders[level.tail as usize].next = slot;
        }
        level.tail = slot;
        level.visible += visible;
        level.count += 1;
        Ok(())
    }

    /// Unlinks a resting order; deletes its level when it empties.
    pub(crate) fn remove(&mut self, orders: &mut [Order], slot: u32) {
        let (side, price, prev, next, visible) = {
            let o = &orders[slot as usize];
            (o.side, o.price, o.prev, o.next, o.visible)
        };
        let Some(l) = self.find(side, price) else {
            return;
        };
        let level = &mut self.levels[l as usize];
        if prev == NIL {
            level.head = next;
        } else {
            orders[prev as usize].next = next;
        }
        if next == NIL {
            level.tail = prev;
        } else {
            orders[next as usize].prev = prev;
        }
        level.visible -= visible;
        level.count -= 1;
        let empty = level.count == 0;
        let o = &mut orders[slot as usize];
        o.prev = NIL;
        o.next = NIL;
        o.state = State::Working;
        if empty {
            let k = key(side, price);
            let v = self.side_mut(side);
            if let Ok(i) = v.binary_search_by(|&(x, _)| x.cmp(&k)) {
                v.remove(i);
            }
            self.free.push(l);
        }
    }

    /// Changes a resting order's visible quantity in place (same position).
    pub(crate) fn set_visible(&mut self, orders: &mut [Order], slot: u32, visible: i64) {
        let o = &mut orders[slot as usize];
        let delta = visible - o.visible;
        o.visible = visible;
        let (side, price) = (o.side, o.price);
        if let Some(l) = self.find(side, price) {
            self.levels[l as usize].visible += delta;
        }
    }

    /// Moves a resting order to the back of its level (iceberg reload, quantity increase).
    pub(crate) fn move_to_back(&mut self, orders: &mut [Order], slot: u32) {
        let (side, price) = {
            let o = &orders[slot as usize];
            (o.side, o.price)
        };
        let Some(l) = self.find(side, price) else {
            return;
        };
        if self.levels[l as usize].tail == slot {
            return;
        }
        let (prev, next) = {
            let o = &orders[slot as usize];
            (o.prev, o.next)
        };
        let level = &mut self.levels[l as usize];
        if prev == NIL {
            level.head = next;
        } else {
            orders[prev as usize].next = next;
        }
        // `next` is not NIL: the order is not the tail.
        orders[next as usize].prev = prev;
        let tail = level.tail;
        orders[tail as usize].next = slot;
        let o = &mut orders[slot as usize];
        o.prev = tail;
        o.next = NIL;
        level.tail = slot;
    }
}

/// The other side.
pub(crate) trait Opposite {
    fn opposite(self) -> Self;
}

impl Opposite for Side {
    #[inline]
    fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(side: Side, price: i64, qty: i64) -> Order {
        Order {
            side,
            price,
            qty,
            visible: qty,
            state: State::Working,
            ..Order::EMPTY
        }
    }

    fn fifo(book: &Book, orders: &[Order], side: Side, price: i64) -> Vec<u32> {
        let mut out = Vec::new();
        let Some(l) = book.find(side, price) else {
            return out;
        };
        let mut s = book.level(l).head;
        while s != NIL {
            out.push(s);
            s = orders[s as usize].next;
        }
        out
    }

    #[test]
    fn levels_sorted_best_last_and_fifo_within_level() {
        let mut orders = vec![
            order(Side::Buy, 100, 1),
            order(Side::Buy, 102, 2),
            order(Side::Buy, 100, 3),
            order(Side::Sell, 105, 4),
            order(Side::Sell, 103, 5),
        ];
        let mut b = Book::new(8);
        for s in 0..5 {
            b.push_back(&mut orders, s).expect("room");
        }
        assert_eq!(b.best(Side::Buy).map(|x| x.0), Some(102));
        assert_eq!(b.best(Side::Sell).map(|x| x.0), Some(103));
        assert_eq!(
            b.levels(Side::Buy).map(|x| x.0).collect::<Vec<_>>(),
            [102, 100]
        );
        assert_eq!(
            b.levels(Side::Sell).map(|x| x.0).collect::<Vec<_>>(),
            [103, 105]
        );
        assert_eq!(fifo(&b, &orders, Side::Buy, 100), [0, 2]);
        assert_eq!(b.size_at(Side::Buy, 100), 4);
        assert!(b.crosses(Side::Buy, 103) && !b.crosses(Side::Buy, 102));
        assert!(b.crosses(Side::Sell, 102) && !b.crosses(Side::Sell, 103));
        b.move_to_back(&mut orders, 0);
        assert_eq!(fifo(&b, &orders, Side::Buy, 100), [2, 0]);
        b.remove(&mut orders, 2);
        assert_eq!(fifo(&b, &orders, Side::Buy, 100), [0]);
        b.remove(&mut orders, 0);
        assert_eq!(b.find(Side::Buy, 100), None, "empty level deleted");
        assert_eq!(b.depth(Side::Buy), 1);
        b.set_visible(&mut orders, 3, 1);
        assert_eq!(b.size_at(Side::Sell, 105), 1);
    }

    #[test]
    fn level_capacity_is_enforced() {
        let mut orders: Vec<Order> = (0..3).map(|p| order(Side::Buy, p, 1)).collect();
        let mut b = Book::new(2);
        b.push_back(&mut orders, 0).expect("room");
        b.push_back(&mut orders, 1).expect("room");
        assert!(b.would_need_level_beyond_capacity(Side::Buy, 2));
        assert_eq!(b.push_back(&mut orders, 2), Err(LevelsFull));
    }
}
