//! FIX fast path vs. what a hand-written client does, in one run:
//! - emit: patch + emit a NewOrderSingle from a precompiled template (canonical `Exact`
//!   layout), vs. a `format!` encoder. Every iteration changes MsgSeqNum, SendingTime and
//!   TransactTime (1 µs later), the last ClOrdID digit and the price (five values); OrderQty
//!   stays 0.01, which the template recognises and leaves in place, as it would for a client
//!   re-sending the same size. "Emit" ends with the complete message (CheckSum included) in the
//!   template's buffer, as `patch` returns it; `benches/emit.rs` also formats a 16-digit
//!   ClOrdID each time and copies the message out to a transmit buffer, and measures the
//!   zero-padded `Fixed` layout and values that change width, hence its larger numbers;
//! - parse_er: frame + index + typed view + 15 fields of a 377-byte ExecutionReport (a fill,
//!   SPEC M07), vs. a `HashMap<u32, &str>` tag map with `f64` parsing;
//! - parse_er_new: the same for the 297-byte acknowledgement of a new order (SPEC M06), the
//!   "~300 bytes" of the target (its 16 fields). Both are a stream of one layout,
//!   parsed as the engine does: the CheckSum added up in the index pass, the view's tag table
//!   kept while the layout repeats (`ErTable`);
//! - parse_er_mixed: the fill and the acknowledgement in turn, so that no message repeats the
//!   layout of the one before (no target: what a changing stream costs);
//! - md_apply: parse a 4-entry MarketDataIncrementalRefresh in Kraken's entry layout (279 269
//!   278 270 271 273, 361 bytes) and apply it to the L2 book, vs. a tag-by-tag `Vec` parse into
//!   a `BTreeMap` book;
//! - md_apply_short: the same for the 243-byte increments of `tickwire bench`'s venue (279 269
//!   270 271: two deletes, two adds, alternating between two ticks), nearest in size to the
//!   215-byte message the naive figure was measured on.
//!
//! The general-purpose side is hand-written (the fallback) rather than fefix 0.7: fefix
//! builds here, but its decoder files every field after a repeating group under the group's
//! last entry and keeps the group state into the next message, so it misreads the fill and,
//! once an increment has been decoded, every message after it; where it does read right (a
//! stream of acknowledgements) and for its encoder it is slower than the tag map and
//! `format!` (`scripts/fefix-probe`).
//!
//! After criterion has measured, the medians are read back from `target/criterion` and printed
//! as ratios (naive / tickwire). Run: `cargo bench -p tickwire-fix --bench fastpath`.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::collections::{BTreeMap, HashMap};
use std::hint::black_box;
use std::time::Duration;

mod common;

use common::{er_fields, er_new_fields, feed_message, md_message, ER, ER_NEW};
use criterion::Criterion;
use tickwire_fix::book::{Book, BookSide};
use tickwire_fix::decimal::Decimal;
use tickwire_fix::message::{frame_boundary, FieldIndex, FrameLimits, Message};
use tickwire_fix::time::UtcTimestamp;
use tickwire_fix::views::{ErTable, ExecutionReport, MarketData, MdTable};

/// What a hand-written client does: build the whole message with `format!` each time.
fn naive_emit(seq: u64, now: &str, id: u64, px: f64, qty: f64) -> String {
    let body = format!(
        "35=D\x0134={seq}\x0149=TESTCLIENT\x0156=KRAKEN-TRD\x0152={now}\x0111={id}\x0155=BTC/USD\x0154=1\x0140=2\x0144={px:.1}\x0138={qty}\x0159=1\x0160={now}\x01"
    );
    let head = format!("8=FIX.4.4\x019={}\x01", body.len());
    let sum = head.bytes().chain(body.bytes()).map(u32::from).sum::<u32>() % 256;
    format!("{head}{body}10={sum:03}\x01")
}

/// The tag map a hand-written client splits a message into.
fn naive_tag_map(raw: &str) -> HashMap<u32, &str> {
    raw.split('\x01')
        .filter(|f| !f.is_empty())
        .filter_map(|f| f.split_once('='))
        .filter_map(|(t, v)| t.parse().ok().map(|t| (t, v)))
        .collect()
}

/// What a hand-written client does: split into a tag map, parse floats.
fn naive_parse_er(raw: &str) -> (f64, f64, f64, usize) {
    let map = naive_tag_map(raw);
    let last_px: f64 = map[&31].parse().unwrap();
    let cum: f64 = map[&14].parse().unwrap();
    let leaves: f64 = map[&151].parse().unwrap();
    let n = map[&11].len()
        + map[&37].len()
        + map[&17].len()
        + map[&150].len()
        + map[&39].len()
        + map[&55].len();
    let _: f64 = map[&32].parse().unwrap();
    let _: f64 = map[&6].parse().unwrap();
    let _: f64 = map[&137].parse().unwrap();
    let _: f64 = map[&38].parse().unwrap();
    let _: f64 = map[&44].parse().unwrap();
    (
        last_px,
        cum,
        leaves,
        n + map[&54].len() + map[&138].len() + map[&1003].len(),
    )
}

/// [`naive_parse_er`] for the acknowledgement: the same fields as `er_new_fields`.
fn naive_parse_er_new(raw: &str) -> (f64, f64, f64, usize) {
    let map = naive_tag_map(raw);
    let qty: f64 = map[&38].parse().unwrap();
    let px: f64 = map[&44].parse().unwrap();
    let leaves: f64 = map[&151].parse().unwrap();
    let _: f64 = map[&381].parse().unwrap();
    let _: f64 = map[&14].parse().unwrap();
    let _: f64 = map[&6].parse().unwrap();
    let n = [11, 37, 17, 55, 58, 150, 39, 54, 40, 59]
        .iter()
        .map(|t| map[t].len())
        .sum();
    (qty, px, leaves, n)
}

/// What a hand-written client does for market data: tag vector, f64 prices, BTreeMap book.
fn naive_md(raw: &str, bids: &mut BTreeMap<i64, f64>, asks: &mut BTreeMap<i64, f64>) {
    let fields: Vec<(u32, &str)> = raw
        .split('\x01')
        .filter(|f| !f.is_empty())
        .filter_map(|f| {
            f.split_once('=')
                .and_then(|(t, v)| t.parse().ok().map(|t| (t, v)))
        })
        .collect();
    let mut action = "0";
    let mut side = "0";
    let mut px = 0.0f64;
    for (tag, v) in fields {
        match tag {
            279 => action = v,
            269 => side = v,
            270 => px = v.parse().unwrap(),
            271 => {
                let size: f64 = v.parse().unwrap();
                let key = (px * 10.0).round() as i64;
                let book = if side == "0" { &mut *bids } else { &mut *asks };
                if action == "2" {
                    book.remove(&key);
                } else {
                    book.insert(key, size);
                }
            }
            _ => {}
        }
    }
}

fn benches(c: &mut Criterion) {
    let mut order = common::order();
    let mut now = UtcTimestamp::parse(b"20260407-14:32:05.000").unwrap();
    let mut seq = 1_000u64;
    let mut id = *b"1775572325000000";

    let mut g = c.benchmark_group("emit");
    g.bench_function("tickwire", |b| {
        b.iter(|| {
            seq += 1;
            now.nanos += 1_000;
            id[15] = b'0' + (seq % 10) as u8;
            let bytes = order
                .patch(
                    seq,
                    now,
                    &id,
                    Some(Decimal::new(840_000 + (seq % 5) as i64, 1)),
                    Decimal::new(1, 2),
                )
                .unwrap();
            black_box(bytes.len())
        })
    });
    g.bench_function("naive", |b| {
        let now_s = "20260407-14:32:05.000";
        b.iter(|| {
            seq += 1;
            black_box(
                naive_emit(
                    seq,
                    now_s,
                    1_775_572_325_000_000 + seq,
                    84000.0 + (seq % 5) as f64 / 10.0,
                    0.01,
                )
                .len(),
            )
        })
    });
    g.finish();

    bench_er(c, "parse_er", ER, er_fields, naive_parse_er);
    bench_er(c, "parse_er_new", ER_NEW, er_new_fields, naive_parse_er_new);
    bench_er_mixed(c);

    let mut book = Book::new(10, 1, 8);
    book.begin_snapshot(0);
    book.finish_snapshot();
    bench_md(c, "md_apply", &[md_message()], book);
    // Two ticks in turn, each deleting the levels the other added; the book starts with them.
    let mut book = Book::new(10, 1, 8);
    book.begin_snapshot(0);
    book.apply_snapshot_level(BookSide::Ask, Decimal::new(840_005, 1), Decimal::new(5, 1));
    book.apply_snapshot_level(BookSide::Bid, Decimal::new(840_003, 1), Decimal::new(75, 2));
    book.finish_snapshot();
    bench_md(
        c,
        "md_apply_short",
        &[feed_message(false), feed_message(true)],
        book,
    );
}

/// One ExecutionReport group: frame + index + view + the fields `read` takes of `text` (`|` for
/// SOH), against `naive` on the same message.
fn bench_er<R>(
    c: &mut Criterion,
    group: &str,
    text: &str,
    read: impl Fn(&ExecutionReport<'_>) -> R,
    naive: impl Fn(&str) -> (f64, f64, f64, usize),
) {
    let raw = text.replace('|', "\x01");
    let mut g = c.benchmark_group(group);
    g.bench_function("tickwire", |b| {
        let mut idx = FieldIndex::<64>::new();
        let mut table = ErTable::new();
        b.iter(|| {
            let raw = black_box(raw.as_bytes());
            let n = frame_boundary(raw, FrameLimits::default())
                .unwrap()
                .unwrap();
            let msg = Message::parse_summed(&raw[..n], &mut idx).unwrap();
            let er = ExecutionReport::new_cached(&msg, &mut table).unwrap();
            black_box(read(&er))
        })
    });
    g.bench_function("naive", |b| b.iter(|| black_box(naive(black_box(&raw)))));
    g.finish();
}

/// The fill and the acknowledgement in turn, each with its own fields read: every message
/// changes the tag layout, so nothing learnt from the previous one applies (the index parses
/// the tags after the first that differs, the view fills its tag table again). What a report
/// costs in a stream that does not repeat itself; no target.
fn bench_er_mixed(c: &mut Criterion) {
    let raws = [ER.replace('|', "\x01"), ER_NEW.replace('|', "\x01")];
    let mut g = c.benchmark_group("parse_er_mixed");
    g.bench_function("tickwire", |b| {
        let mut idx = FieldIndex::<64>::new();
        let mut table = ErTable::new();
        let mut k = 0usize;
        b.iter(|| {
            k ^= 1;
            let raw = black_box(raws[k].as_bytes());
            let n = frame_boundary(raw, FrameLimits::default())
                .unwrap()
                .unwrap();
            let msg = Message::parse_summed(&raw[..n], &mut idx).unwrap();
            let er = ExecutionReport::new_cached(&msg, &mut table).unwrap();
            if k == 0 {
                black_box(er_fields(&er).4)
            } else {
                black_box(er_new_fields(&er).2)
            }
        })
    });
    g.bench_function("naive", |b| {
        let mut k = 0usize;
        b.iter(|| {
            k ^= 1;
            let raw = black_box(raws[k].as_str());
            black_box(if k == 0 {
                naive_parse_er(raw)
            } else {
                naive_parse_er_new(raw)
            })
        })
    });
    g.finish();
}

/// One market-data group: `msgs` in turn (MsgSeqNum 1, 2, …) parsed and applied to `book`,
/// against [`naive_md`] on the same messages.
fn bench_md(c: &mut Criterion, group: &str, msgs: &[Vec<u8>], mut book: Book) {
    let texts: Vec<String> = msgs
        .iter()
        .map(|m| String::from_utf8(m.clone()).unwrap())
        .collect();
    let mut g = c.benchmark_group(group);
    // Across criterion's calls of the routine: the book has seen every message so far.
    let (mut seq, mut k) = (1u64, 0usize);
    g.bench_function("tickwire", |b| {
        let mut idx = FieldIndex::<64>::new();
        let mut table = MdTable::new();
        b.iter(|| {
            let raw = black_box(msgs[k].as_slice());
            let n = frame_boundary(raw, FrameLimits::default())
                .unwrap()
                .unwrap();
            let msg = Message::parse_summed(&raw[..n], &mut idx).unwrap();
            let view = MarketData::new_cached(&msg, &mut table).unwrap();
            book.apply_message(&view, seq).unwrap();
            seq += 1;
            k = if k + 1 == msgs.len() { 0 } else { k + 1 };
            black_box(book.best_bid())
        })
    });
    assert!(book.best_bid().is_some(), "{group}: the book went stale");
    let (mut bids, mut asks) = (BTreeMap::new(), BTreeMap::new());
    let mut k = 0usize;
    g.bench_function("naive", |b| {
        b.iter(|| {
            naive_md(black_box(&texts[k]), &mut bids, &mut asks);
            k = if k + 1 == texts.len() { 0 } else { k + 1 };
            black_box(bids.iter().next_back().map(|(p, s)| (*p, *s)))
        })
    });
    g.finish();
}

fn median_ns(group: &str, name: &str) -> Option<f64> {
    let dir = std::env::var("CARGO_TARGET_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../target").into());
    let text =
        std::fs::read_to_string(format!("{dir}/criterion/{group}/{name}/new/estimates.json"))
            .ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["median"]["point_estimate"].as_f64()
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    benches(&mut c);
    c.final_summary();
    println!(
        "\n{:<14} {:>14} {:>14} {:>8}  target",
        "stage", "tickwire (ns)", "naive (ns)", "ratio"
    );
    for (group, target) in [
        ("emit", Some(30.0)),
        ("parse_er", Some(100.0)),
        ("parse_er_new", Some(100.0)),
        ("parse_er_mixed", None),
        ("md_apply", Some(150.0)),
        ("md_apply_short", Some(150.0)),
    ] {
        match (
            median_ns(group, "tickwire"),
            median_ns(group, "naive"),
            target,
        ) {
            (Some(t), Some(n), Some(target)) => println!(
                "{group:<14} {t:>14.1} {n:>14.1} {:>7.1}x  median ≤ {target} ns: {}; ≥ 5x: {}",
                n / t,
                if t <= target { "met" } else { "MISSED" },
                if n / t >= 5.0 { "met" } else { "MISSED" },
            ),
            (Some(t), Some(n), None) => println!(
                "{group:<14} {t:>14.1} {n:>14.1} {:>7.1}x  (fill and ack in turn: no target)",
                n / t,
            ),
            _ => println!("{group:<14} (no estimates: run without --test/--list)"),
        }
    }
}
