//! An L2 order book per instrument, built from Kraken's snapshot and incremental messages, with
//! Kraken's CRC32 book checksum (SPEC §4.11).
//!
//! ```text
//! W (snapshot) ──► Book::apply_snapshot ─┐
//! X (incremental) ─► Book::apply_update* ─┴► verify(5041) ─► best_bid / best_ask / levels
//!                     MsgSeqNum gap ──► Stale { reason } ──► resubscribe, next snapshot
//! ```
//!
//! Prices and sizes are integers at the instrument's PricePrecision / QtyPrecision. Each side
//! is a sorted array of fixed capacity (the subscribed depth plus headroom), allocated once;
//! updates shift within it and never allocate. A book that failed a check is [`State::Stale`]
//! and answers no price queries until a snapshot repairs it: it is never silently used.

use crate::decimal::Decimal;

/// Book side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookSide {
    /// Bids, best (highest) first.
    Bid,
    /// Asks, best (lowest) first.
    Ask,
}

/// An update of one price level (an entry of 35=X, or of 35=W with `Upsert`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LevelUpdate {
    /// 279: New / Change / Delete.
    pub action: Action,
    /// Side.
    pub side: BookSide,
    /// Price.
    pub price: Decimal,
    /// Size (0, or the size when a level only left the subscribed depth).
    pub size: Decimal,
}

/// MDUpdateAction for book levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// A new level.
    New,
    /// A level's size changed.
    Change,
    /// A level left the book (or the subscribed depth).
    Delete,
}

/// Why the book is not usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaleReason {
    /// No snapshot yet.
    NoSnapshot,
    /// A market-data MsgSeqNum was skipped.
    SequenceGap { expected: u64, received: u64 },
    /// Kraken's checksum disagrees with our book.
    ChecksumMismatch { expected: u32, computed: u32 },
    /// A price or size is not representable at the instrument's precision.
    Precision,
    /// More levels than the book holds.
    Overflow,
    /// Change or delete of a level we do not have.
    UnknownLevel,
    /// A new or changed level with a zero or negative size, or a non-positive price.
    InvalidLevel,
}

/// Book state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// In sync.
    Live,
    /// Must be resubscribed.
    Stale(StaleReason),
}

#[derive(Debug, Clone)]
struct Side {
    prices: Vec<i64>,
    sizes: Vec<i64>,
    len: usize,
    descending: bool,
}

impl Side {
    fn new(capacity: usize, descending: bool) -> Side {
        Side {
            prices: vec![0; capacity],
            sizes: vec![0; capacity],
            len: 0,
            descending,
        }
    }

    /// Index where `price` is or would be inserted.
    ///
    /// Up to 32 levels (the usual subscribed depths) the index is the number of better levels,
    /// counted without a branch per level; deeper books binary-search.
    #[inline(always)]
    fn find(&self, price: i64) -> Result<usize, usize> {
        let slice = &self.prices[..self.len];
        if slice.len() <= 32 {
            let better: usize = if self.descending {
                slice.iter().map(|&p| usize::from(p > price)).sum()
            } else {
                slice.iter().map(|&p| usize::from(p < price)).sum()
            };
            return if slice.get(better) == Some(&price) {
                Ok(better)
            } else {
                Err(better)
            };
        }
        if self.descending {
            slice.binary_search_by(|p| price.cmp(p))
        } else {
            slice.binary_search(&price)
        }
    }

    #[inline(always)]
    fn upsert(&mut self, price: i64, size: i64) -> Result<(), StaleReason> {
        match self.find(price) {
            Ok(i) => self.sizes[i] = size,
            Err(i) => {
                if self.len == self.prices.len() {
                    if i == self.len {
                        return Ok(()); // beyond our depth: ignore
                    }
                    self.len -= 1; // drop the worst level to make room
                }
                shift_up(&mut self.prices[i..=self.len]);
                shift_up(&mut self.sizes[i..=self.len]);
                self.prices[i] = price;
                self.sizes[i] = size;
                self.len += 1;
            }
        }
        Ok(())
    }

    fn change(&mut self, price: i64, size: i64) -> Result<(), StaleReason> {
        match self.find(price) {
            Ok(i) => {
                self.sizes[i] = size;
                Ok(())
            }
            Err(_) => Err(StaleReason::UnknownLevel),
        }
    }

    fn delete(&mut self, price: i64) -> Result<(), StaleReason> {
        match self.find(price) {
            Ok(i) => {
                shift_down(&mut self.prices[i..self.len]);
                shift_down(&mut self.sizes[i..self.len]);
                self.len -= 1;
                Ok(())
            }
            Err(_) => Err(StaleReason::UnknownLevel),
        }
    }

    fn truncate(&mut self, depth: usize) {
        self.len = self.len.min(depth);
    }
}

/// Moves `v[..len - 1]` one place up (the last element is overwritten). A loop, not
/// `copy_within`: the shifts are a few levels long, where a call to `memmove` costs more than
/// the copy.
#[inline(always)]
fn shift_up(v: &mut [i64]) {
    for j in (1..v.len()).rev() {
        v[j] = v[j - 1];
    }
}

/// Moves `v[1..]` one place down (the first element is overwritten); see [`shift_up`].
#[inline(always)]
fn shift_down(v: &mut [i64]) {
    for j in 1..v.len() {
        v[j - 1] = v[j];
    }
}

/// An L2 book.
#[derive(Debug, Clone)]
pub struct Book {
    bids: Side,
    asks: Side,
    depth: usize,
    price_scale: u8,
    qty_scale: u8,
    state: State,
    next_md_seq: Option<u64>,
    last_trade: Option<(i64, i64)>,
}

impl Book {
    /// A book of `depth` levels per side at the instrument's PricePrecision (2349) and
    /// QtyPrecision (5010).
    pub fn new(depth: usize, price_scale: u8, qty_scale: u8) -> Book {
        let cap = depth.max(10) + 1;
        Book {
            bids: Side::new(cap, true),
            asks: Side::new(cap, false),
            depth: depth.max(1),
            price_scale,
            qty_scale,
            state: State::Stale(StaleReason::NoSnapshot),
            next_md_seq: None,
            last_trade: None,
        }
    }

    /// Current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// True when the book must be resubscribed (stale for any reason but "no snapshot yet").
    pub fn needs_resubscribe(&self) -> bool {
        matches!(self.state, State::Stale(r) if r != StaleReason::NoSnapshot)
    }

    fn stale(&mut self, reason: StaleReason) {
        if self.state == State::Live {
            self.state = State::Stale(reason);
        }
    }

    /// Checks the MsgSeqNum of a market-data message: a gap makes the book stale.
    #[inline]
    pub fn check_sequence(&mut self, seq: u64) {
        if let Some(expected) = self.next_md_seq {
            if seq != expected {
                self.stale(StaleReason::SequenceGap {
                    expected,
                    received: seq,
                });
            }
        }
        self.next_md_seq = Some(seq.wrapping_add(1));
    }

    #[inline(always)]
    fn ticks(&self, price: Decimal, size: Decimal) -> Result<(i64, i64), StaleReason> {
        let p = price
            .to_scaled(self.price_scale)
            .map_err(|_| StaleReason::Precision)?;
        let s = size
            .to_scaled(self.qty_scale)
            .map_err(|_| StaleReason::Precision)?;
        if p <= 0 || s < 0 {
            return Err(StaleReason::InvalidLevel);
        }
        Ok((p, s))
    }

    /// Like [`Book::ticks`], for a level that must stay in the book (size > 0).
    #[inline(always)]
    fn level_ticks(&self, price: Decimal, size: Decimal) -> Result<(i64, i64), StaleReason> {
        let (p, s) = self.ticks(price, size)?;
        if s == 0 {
            return Err(StaleReason::InvalidLevel);
        }
        Ok((p, s))
    }

    /// Clears the book for a snapshot; follow with [`Book::apply_snapshot_level`] for each entry
    /// and [`Book::finish_snapshot`].
    pub fn begin_snapshot(&mut self, seq: u64) {
        self.bids.len = 0;
        self.asks.len = 0;
        self.state = State::Live;
        self.next_md_seq = Some(seq.wrapping_add(1));
    }

    /// One level of a snapshot.
    pub fn apply_snapshot_level(&mut self, side: BookSide, price: Decimal, size: Decimal) {
        let r = self.level_ticks(price, size).and_then(|(p, s)| match side {
            BookSide::Bid => self.bids.upsert(p, s),
            BookSide::Ask => self.asks.upsert(p, s),
        });
        if let Err(e) = r {
            self.stale(e);
        }
    }

    /// Ends a snapshot: truncates to the subscribed depth.
    pub fn finish_snapshot(&mut self) {
        self.bids.truncate(self.depth);
        self.asks.truncate(self.depth);
    }

    /// Applies one incremental entry, in message order.
    pub fn apply_update(&mut self, u: LevelUpdate) {
        if self.state != State::Live {
            return;
        }
        let ticks = match u.action {
            Action::Delete => self.ticks(u.price, u.size),
            Action::New | Action::Change => self.level_ticks(u.price, u.size),
        };
        let r = ticks.and_then(|(p, s)| {
            let side = match u.side {
                BookSide::Bid => &mut self.bids,
                BookSide::Ask => &mut self.asks,
            };
            match u.action {
                Action::New => side.upsert(p, s),
                Action::Change => side.change(p, s),
                Action::Delete => side.delete(p),
            }
        });
        if let Err(e) = r {
            self.stale(e);
        }
    }

    /// Records a public trade (269=2 entries are not book levels).
    pub fn apply_trade(&mut self, price: Decimal, size: Decimal) {
        if let Ok(t) = self.ticks(price, size) {
            self.last_trade = Some(t);
        }
    }

    /// Ends an incremental message: truncates to depth and checks Kraken's checksum if sent.
    pub fn finish_update(&mut self, checksum: Option<u32>) {
        self.bids.truncate(self.depth);
        self.asks.truncate(self.depth);
        if let (Some(expected), State::Live) = (checksum, self.state) {
            let computed = self.checksum();
            if computed != expected {
                self.stale(StaleReason::ChecksumMismatch { expected, computed });
            }
        }
    }

    /// Best bid (price, size) in ticks, `None` when stale or empty.
    #[inline]
    pub fn best_bid(&self) -> Option<(i64, i64)> {
        (self.state == State::Live && self.bids.len > 0)
            .then(|| (self.bids.prices[0], self.bids.sizes[0]))
    }

    /// Best ask (price, size) in ticks, `None` when stale or empty.
    #[inline]
    pub fn best_ask(&self) -> Option<(i64, i64)> {
        (self.state == State::Live && self.asks.len > 0)
            .then(|| (self.asks.prices[0], self.asks.sizes[0]))
    }

    /// Best ask minus best bid in price ticks (negative when crossed), `None` when stale or
    /// when a side is empty.
    #[inline]
    pub fn spread(&self) -> Option<i64> {
        Some(self.best_ask()?.0 - self.best_bid()?.0)
    }

    /// Last trade (price, size) in ticks.
    pub fn last_trade(&self) -> Option<(i64, i64)> {
        self.last_trade
    }

    /// Levels of one side, best first (also when stale, for inspection).
    pub fn levels(&self, side: BookSide) -> impl Iterator<Item = (i64, i64)> + '_ {
        let s = match side {
            BookSide::Bid => &self.bids,
            BookSide::Ask => &self.asks,
        };
        s.prices[..s.len]
            .iter()
            .copied()
            .zip(s.sizes[..s.len].iter().copied())
    }

    /// Price scale (decimals).
    pub fn price_scale(&self) -> u8 {
        self.price_scale
    }

    /// Kraken's book checksum over the top 10 levels: asks ascending, then bids descending;
    /// each level's price and size as digits without the point and without leading zeros;
    /// CRC32 (IEEE) of the concatenation. Computed without allocating.
    pub fn checksum(&self) -> u32 {
        let mut h = crc32fast::Hasher::new();
        for side in [&self.asks, &self.bids] {
            for i in 0..side.len.min(10) {
                feed_digits(&mut h, side.prices[i]);
                feed_digits(&mut h, side.sizes[i]);
            }
        }
        h.finalize()
    }
}

impl Book {
    /// Applies a whole 35=W or 35=X message (its MsgSeqNum `seq` feeds gap detection; 5041 is
    /// verified after the entries). Trades update the last trade, not the book.
    ///
    /// # Errors
    /// [`crate::views::ViewError`] for a malformed entry; the book is then stale.
    pub fn apply_message(
        &mut self,
        md: &crate::views::MarketData<'_>,
        seq: u64,
    ) -> Result<(), crate::views::ViewError> {
        use crate::views::{EntryType, UpdateAction};
        if md.is_snapshot() {
            self.begin_snapshot(seq);
        } else {
            self.check_sequence(seq);
        }
        let mut entries = md.entries();
        for entry in entries.by_ref() {
            let e = match entry {
                Ok(e) => e,
                Err(err) => {
                    self.stale(StaleReason::Precision);
                    return Err(err);
                }
            };
            let side = match e.entry_type {
                EntryType::Bid => BookSide::Bid,
                EntryType::Offer => BookSide::Ask,
                EntryType::Trade => {
                    self.apply_trade(e.price, e.size);
                    continue;
                }
                EntryType::Other(_) => continue,
            };
            if md.is_snapshot() {
                self.apply_snapshot_level(side, e.price, e.size);
            } else {
                let action = match e.action {
                    UpdateAction::New => Action::New,
                    UpdateAction::Change => Action::Change,
                    UpdateAction::Delete => Action::Delete,
                    UpdateAction::Other(_) => continue,
                };
                self.apply_update(LevelUpdate {
                    action,
                    side,
                    price: e.price,
                    size: e.size,
                });
            }
        }
        if md.is_snapshot() {
            self.finish_snapshot();
        } else {
            self.finish_update(md.book_checksum_after(entries.position()));
        }
        Ok(())
    }
}

/// Feeds the decimal digits of `v` (a non-negative integer: the scaled value with the point
/// removed), without leading zeros.
#[inline]
fn feed_digits(h: &mut crc32fast::Hasher, v: i64) {
    let mut buf = [0u8; 20];
    let n = crate::encode::write_u64(&mut buf, v.unsigned_abs()).unwrap_or(0);
    h.update(&buf[..n]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::parse(s.as_bytes()).expect("decimal")
    }

    #[test]
    fn spec_worked_example_checksum() {
        let asks = [
            ("28013.0", "0.00096506"),
            ("28039.8", "0.001"),
            ("28066.5", "0.001"),
            ("28093.3", "0.001"),
            ("28120.0", "0.001"),
            ("28146.7", "0.001"),
            ("28173.5", "0.001"),
            ("28200.2", "0.001"),
            ("28227.0", "0.001"),
            ("28253.7", "0.001"),
        ];
        let bids = [
            ("28003.0", "0.001"),
            ("27999.9", "0.00096375"),
            ("27969.9", "0.73860423"),
            ("27700.1", "0.0035"),
            ("27573.2", "0.0032"),
            ("27137.4", "0.01"),
            ("27091.3", "0.004"),
            ("26729.4", "0.001"),
            ("26702.6", "0.001"),
            ("26675.9", "0.001"),
        ];
        let mut b = Book::new(10, 1, 8);
        b.begin_snapshot(1);
        for (p, s) in asks {
            b.apply_snapshot_level(BookSide::Ask, d(p), d(s));
        }
        for (p, s) in bids {
            b.apply_snapshot_level(BookSide::Bid, d(p), d(s));
        }
        b.finish_snapshot();
        assert_eq!(b.checksum(), 3_341_325_816);
    }

    #[test]
    fn updates_keep_order_and_depth() {
        let mut b = Book::new(3, 1, 8);
        b.begin_snapshot(1);
        for p in ["10.0", "10.1", "10.2", "10.3"] {
            b.apply_snapshot_level(BookSide::Ask, d(p), d("1"));
        }
        b.finish_snapshot();
        assert_eq!(b.levels(BookSide::Ask).count(), 3, "truncated to depth");
        b.apply_update(LevelUpdate {
            action: Action::New,
            side: BookSide::Ask,
            price: d("9.9"),
            size: d("2"),
        });
        b.finish_update(None);
        assert_eq!(b.best_ask(), Some((99, 200_000_000)));
        let prices: Vec<_> = b.levels(BookSide::Ask).map(|l| l.0).collect();
        assert_eq!(prices, vec![99, 100, 101]);
    }

    #[test]
    fn gap_and_mismatch_make_it_stale_until_a_snapshot() {
        let mut b = Book::new(10, 1, 8);
        assert_eq!(b.best_bid(), None, "no snapshot yet");
        b.begin_snapshot(5);
        b.apply_snapshot_level(BookSide::Bid, d("1.0"), d("1"));
        b.finish_snapshot();
        assert!(b.best_bid().is_some());
        b.check_sequence(7);
        assert_eq!(
            b.state(),
            State::Stale(StaleReason::SequenceGap {
                expected: 6,
                received: 7
            })
        );
        assert_eq!(b.best_bid(), None);
        assert!(b.needs_resubscribe());
        b.begin_snapshot(8);
        b.apply_snapshot_level(BookSide::Bid, d("1.0"), d("1"));
        b.finish_snapshot();
        b.finish_update(Some(1));
        assert!(matches!(
            b.state(),
            State::Stale(StaleReason::ChecksumMismatch { expected: 1, .. })
        ));
        b.begin_snapshot(9);
        b.apply_update(LevelUpdate {
            action: Action::Delete,
            side: BookSide::Ask,
            price: d("5.0"),
            size: d("0"),
        });
        assert_eq!(b.state(), State::Stale(StaleReason::UnknownLevel));
        b.begin_snapshot(10);
        b.apply_snapshot_level(BookSide::Bid, d("1.00001"), d("1"));
        assert_eq!(b.state(), State::Stale(StaleReason::Precision));
    }

    proptest::proptest! {
        #[test]
        fn random_updates_keep_invariants(ops in proptest::collection::vec((0u8..3, proptest::bool::ANY, 1i64..50, 0i64..5), 0..300)) {
            let mut b = Book::new(10, 1, 0);
            b.begin_snapshot(1);
            b.finish_snapshot();
            for (action, bid, price, size) in ops {
                let action = [Action::New, Action::Change, Action::Delete][usize::from(action)];
                let side = if bid { BookSide::Bid } else { BookSide::Ask };
                b.apply_update(LevelUpdate { action, side, price: Decimal::new(price, 1), size: Decimal::new(size, 0) });
                b.finish_update(None);
                if b.state() != State::Live {
                    b.begin_snapshot(1);
                    b.finish_snapshot();
                }
                let bids: Vec<_> = b.levels(BookSide::Bid).map(|l| l.0).collect();
                let asks: Vec<_> = b.levels(BookSide::Ask).map(|l| l.0).collect();
                proptest::prop_assert!(bids.windows(2).all(|w| w[0] > w[1]));
                proptest::prop_assert!(asks.windows(2).all(|w| w[0] < w[1]));
                proptest::prop_assert!(bids.len() <= 10 && asks.len() <= 10);
            }
        }
    }
}
