//! The L2 book through its public API: depth truncation, staleness and repair, and random
//! entry streams (valid and arbitrary) that must keep the book ordered and never panic.
//! The SPEC M18 → M19 wire walk-through lives in `spec_examples.rs`.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use tickwire_fix::book::{Action, Book, BookSide, LevelUpdate, StaleReason, State};
use tickwire_fix::Decimal;

fn d(s: &str) -> Decimal {
    Decimal::parse(s.as_bytes()).unwrap()
}

fn update(action: Action, side: BookSide, price: &str, size: &str) -> LevelUpdate {
    LevelUpdate {
        action,
        side,
        price: d(price),
        size: d(size),
    }
}

fn snapshot(book: &mut Book, seq: u64, bids: &[&str], asks: &[&str]) {
    book.begin_snapshot(seq);
    for p in bids {
        book.apply_snapshot_level(BookSide::Bid, d(p), d("1"));
    }
    for p in asks {
        book.apply_snapshot_level(BookSide::Ask, d(p), d("1"));
    }
    book.finish_snapshot();
}

fn check_invariants(book: &Book, depth: usize) -> Result<(), TestCaseError> {
    let bids: Vec<_> = book.levels(BookSide::Bid).collect();
    let asks: Vec<_> = book.levels(BookSide::Ask).collect();
    prop_assert!(bids.windows(2).all(|w| w[0].0 > w[1].0), "bids {bids:?}");
    prop_assert!(asks.windows(2).all(|w| w[0].0 < w[1].0), "asks {asks:?}");
    prop_assert!(bids.iter().chain(&asks).all(|&(p, s)| p > 0 && s > 0));
    prop_assert!(bids.len() <= depth && asks.len() <= depth);
    if book.state() != State::Live {
        prop_assert_eq!(book.best_bid(), None);
        prop_assert_eq!(book.best_ask(), None);
    }
    Ok(())
}

#[test]
fn a_delete_for_leaving_the_depth_lets_the_next_level_in() {
    let mut b = Book::new(2, 2, 8);
    snapshot(&mut b, 1, &["9.90", "9.80"], &["10.00", "10.10", "10.20"]);
    assert_eq!(
        b.levels(BookSide::Ask).count(),
        2,
        "snapshot truncated to depth"
    );
    b.check_sequence(2);
    // A better ask arrives; 10.10 leaves the subscribed depth (Kraken sends 271 = its size).
    b.apply_update(update(Action::New, BookSide::Ask, "9.95", "0.5"));
    b.apply_update(update(Action::Delete, BookSide::Ask, "10.10", "1"));
    b.finish_update(None);
    assert_eq!(b.state(), State::Live);
    let asks: Vec<_> = b.levels(BookSide::Ask).collect();
    assert_eq!(asks, vec![(995, 50_000_000), (1000, 100_000_000)]);
    assert_eq!(b.best_ask(), Some((995, 50_000_000)));
    assert_eq!(b.spread(), Some(5));
    // The best ask goes; 10.10 re-enters the depth as a new level.
    b.check_sequence(3);
    b.apply_update(update(Action::Delete, BookSide::Ask, "9.95", "0"));
    b.apply_update(update(Action::New, BookSide::Ask, "10.10", "1"));
    b.finish_update(None);
    let asks: Vec<_> = b.levels(BookSide::Ask).map(|l| l.0).collect();
    assert_eq!(asks, vec![1000, 1010]);
    assert_eq!(b.spread(), Some(10));
    // A level beyond the depth that was never announced leaving is unknown: stale.
    b.check_sequence(4);
    b.apply_update(update(Action::Change, BookSide::Ask, "10.20", "3"));
    assert_eq!(b.state(), State::Stale(StaleReason::UnknownLevel));
    assert_eq!(b.spread(), None);
}

#[test]
fn stale_book_answers_nothing_until_a_fresh_snapshot() {
    let mut b = Book::new(10, 1, 8);
    assert!(!b.needs_resubscribe(), "no snapshot yet is not a failure");
    assert_eq!(b.best_bid(), None);
    snapshot(&mut b, 10, &["99.0"], &["101.0"]);
    assert_eq!(b.best_bid(), Some((990, 100_000_000)));

    // Checksum mismatch.
    b.check_sequence(11);
    b.apply_update(update(Action::Change, BookSide::Bid, "99.0", "2"));
    let right = {
        let mut probe = b.clone();
        probe.finish_update(None);
        probe.checksum()
    };
    b.finish_update(Some(right ^ 1));
    assert_eq!(
        b.state(),
        State::Stale(StaleReason::ChecksumMismatch {
            expected: right ^ 1,
            computed: right
        })
    );
    assert!(b.needs_resubscribe());
    assert_eq!((b.best_bid(), b.best_ask()), (None, None));
    // Updates on a stale book are ignored, and the first reason is kept.
    b.check_sequence(20);
    b.apply_update(update(Action::Delete, BookSide::Bid, "1.0", "0"));
    assert!(matches!(
        b.state(),
        State::Stale(StaleReason::ChecksumMismatch { .. })
    ));

    snapshot(&mut b, 21, &["98.0"], &["100.0"]);
    assert_eq!(b.state(), State::Live);
    assert!(!b.needs_resubscribe());
    assert_eq!(b.best_ask(), Some((1000, 100_000_000)));
    b.check_sequence(22);
    b.finish_update(Some(b.checksum()));
    assert_eq!(b.state(), State::Live, "matching checksum keeps it live");
}

#[test]
fn bad_levels_are_stale_worthy() {
    let cases = [
        update(Action::Change, BookSide::Bid, "50.0", "1"),
        update(Action::Delete, BookSide::Ask, "50.0", "0"),
        update(Action::New, BookSide::Bid, "50.0", "0"),
        update(Action::New, BookSide::Bid, "-1.0", "1"),
        update(Action::Change, BookSide::Bid, "99.0", "-1"),
    ];
    let reasons = [
        StaleReason::UnknownLevel,
        StaleReason::UnknownLevel,
        StaleReason::InvalidLevel,
        StaleReason::InvalidLevel,
        StaleReason::InvalidLevel,
    ];
    for (u, reason) in cases.into_iter().zip(reasons) {
        let mut b = Book::new(10, 1, 8);
        snapshot(&mut b, 1, &["99.0"], &["101.0"]);
        b.apply_update(u);
        assert_eq!(b.state(), State::Stale(reason), "{u:?}");
        assert!(b.needs_resubscribe());
    }
}

#[test]
fn trades_report_last_trade_and_leave_the_book_alone() {
    let mut b = Book::new(10, 1, 8);
    snapshot(&mut b, 1, &["99.0"], &["101.0"]);
    let sum = b.checksum();
    b.apply_trade(d("100.0"), d("0.25"));
    assert_eq!(b.last_trade(), Some((1000, 25_000_000)));
    assert_eq!(b.checksum(), sum);
}

#[test]
fn sequence_number_at_the_top_of_the_range_does_not_panic() {
    let mut b = Book::new(10, 1, 8);
    snapshot(&mut b, u64::MAX, &["1.0"], &[]);
    b.check_sequence(0);
    assert_eq!(b.state(), State::Live, "wraps rather than overflowing");
}

proptest! {
    /// Valid streams: new levels only where absent, changes and deletes only where present.
    #[test]
    fn valid_streams_stay_live_and_ordered(
        ops in proptest::collection::vec((0u8..3, any::<bool>(), 1i64..40, 1i64..1000), 0..400),
        depth in 1usize..12,
    ) {
        let mut b = Book::new(depth, 1, 3);
        b.begin_snapshot(0);
        b.finish_snapshot();
        for (seq, (action, bid, price, size)) in (1u64..).zip(ops) {
            let side = if bid { BookSide::Bid } else { BookSide::Ask };
            let have = b.levels(side).any(|l| l.0 == price);
            let action = match (action, have) {
                (0, false) | (_, false) => Action::New,
                (1, true) => Action::Change,
                _ => Action::Delete,
            };
            // Keep the book uncrossed like a real venue would.
            let crosses = match side {
                BookSide::Bid => b.levels(BookSide::Ask).next().is_some_and(|a| price >= a.0),
                BookSide::Ask => b.levels(BookSide::Bid).next().is_some_and(|x| price <= x.0),
            };
            b.check_sequence(seq);
            if !(action == Action::New && crosses) {
                b.apply_update(LevelUpdate {
                    action,
                    side,
                    price: Decimal::new(price, 1),
                    size: Decimal::new(size, 3),
                });
            }
            b.finish_update(None);
            prop_assert_eq!(b.state(), State::Live);
            check_invariants(&b, depth)?;
        }
    }

    /// Arbitrary entries (any action, price, size, scale, sequence): never a panic, and the
    /// invariants hold whatever state the book ends in.
    #[test]
    fn arbitrary_entries_never_panic(
        ops in proptest::collection::vec(
            (0u8..3, any::<bool>(), any::<i64>(), 0u8..=18, any::<i64>(), 0u8..=18, any::<u64>(), any::<bool>()),
            0..200,
        ),
    ) {
        let mut b = Book::new(5, 2, 4);
        b.begin_snapshot(0);
        b.finish_snapshot();
        for (action, bid, pm, ps, sm, ss, seq, resnap) in ops {
            let action = [Action::New, Action::Change, Action::Delete][usize::from(action)];
            let side = if bid { BookSide::Bid } else { BookSide::Ask };
            let (price, size) = (Decimal::new(pm, ps), Decimal::new(sm, ss));
            if resnap {
                b.begin_snapshot(seq);
                b.apply_snapshot_level(side, price, size);
                b.finish_snapshot();
            } else {
                b.check_sequence(seq);
                b.apply_update(LevelUpdate { action, side, price, size });
                b.apply_trade(price, size);
                b.finish_update(Some(seq as u32));
            }
            let _ = b.checksum();
            check_invariants(&b, 5)?;
        }
    }
}
