//! The three benchmarked FIX operations (and their parts), one at a time in a loop, for
//! counting instructions: `scripts/fix-instructions` runs each under `valgrind
//! --tool=callgrind`, which counts the same total for the same binary and input whatever else
//! the machine is doing, so a change can be judged on a noisy host where timings move ±50 %.
//! The work per call is what `benches/fastpath.rs` measures: the messages, the template and the
//! fields read come from the same module, `benches/common`.
//! Run one by hand: `cargo run --release -p tickwire-fix --example instructions -- md 20000`.
#![allow(clippy::unwrap_used, clippy::print_stdout)]
use std::hint::black_box;

#[path = "../benches/common/mod.rs"]
mod common;

use common::{
    er_fields, er_new_fields, feed_fields, feed_message, md_message, md_session_configs, ER, ER_NEW,
};
use tickwire_fix::book::{Book, BookSide, State};
use tickwire_fix::decimal::Decimal;
use tickwire_fix::message::{frame_boundary, FieldIndex, FrameLimits, Message};
use tickwire_fix::outbound::NewOrder;
use tickwire_fix::session::{Capacities, MemoryJournal, Session, State as SessionState};
use tickwire_fix::time::UtcTimestamp;
use tickwire_fix::views::{ErTable, ExecutionReport, MarketData, MdTable};

#[inline(never)]
fn emit(order: &mut NewOrder, seq: u64, now: UtcTimestamp, id: &[u8; 16]) -> usize {
    let px = Decimal::new(840_000 + (seq % 5) as i64, 1);
    order
        .patch(seq, now, id, Some(px), Decimal::new(1, 2))
        .unwrap()
        .len()
}

#[inline(never)]
fn parse_er(raw: &[u8], idx: &mut FieldIndex<64>, table: &mut ErTable) -> usize {
    let n = frame_boundary(raw, FrameLimits::default())
        .unwrap()
        .unwrap();
    let msg = Message::parse_summed(&raw[..n], idx).unwrap();
    let er = ExecutionReport::new_cached(&msg, table).unwrap();
    let (decimals, exec_type, ord_status, side, text) = er_fields(&er);
    black_box((decimals, exec_type, ord_status, side));
    text
}

#[inline(never)]
fn parse_er_new(raw: &[u8], idx: &mut FieldIndex<64>, table: &mut ErTable) -> usize {
    let n = frame_boundary(raw, FrameLimits::default())
        .unwrap()
        .unwrap();
    let msg = Message::parse_summed(&raw[..n], idx).unwrap();
    let er = ExecutionReport::new_cached(&msg, table).unwrap();
    let (decimals, enums, text) = er_new_fields(&er);
    black_box((decimals, enums));
    text
}

#[inline(never)]
fn md_apply(raw: &[u8], idx: &mut FieldIndex<64>, table: &mut MdTable, book: &mut Book, seq: u64) {
    let n = frame_boundary(raw, FrameLimits::default())
        .unwrap()
        .unwrap();
    let msg = Message::parse_summed(&raw[..n], idx).unwrap();
    let view = MarketData::new_cached(&msg, table).unwrap();
    book.apply_message(&view, seq).unwrap();
    // A stale book would skip the work being counted.
    assert_eq!(
        book.state(),
        State::Live,
        "book went stale at MsgSeqNum {seq}"
    );
    black_box(book.best_bid());
}

/// One market-data increment through the client session (framing, parse, the session's
/// checks and journal), then the view and the book, as the engine's market-data link does.
#[inline(never)]
fn md_session(
    session: &mut Session<MemoryJournal>,
    raw: &[u8],
    now: UtcTimestamp,
    book: &mut Book,
    table: &mut MdTable,
) {
    let mut applied = false;
    session.handle_input(now, raw, &mut |m: &Message<'_>| {
        let seq = m.uint(34).unwrap_or(0);
        let view = MarketData::new_cached(m, table).unwrap();
        book.apply_message(&view, seq).unwrap();
        applied = true;
    });
    assert!(
        applied,
        "the session did not deliver: {:?}",
        session.state()
    );
    assert_eq!(book.state(), State::Live, "book went stale");
    black_box(book.best_bid());
}

#[inline(never)]
fn frame_only(raw: &[u8]) -> usize {
    frame_boundary(raw, FrameLimits::default())
        .unwrap()
        .unwrap()
}

#[inline(never)]
fn index_only(raw: &[u8], idx: &mut FieldIndex<64>) -> usize {
    Message::parse_summed(raw, idx).unwrap().fields().len()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let op = args.next().unwrap_or_else(|| "md".into());
    let calls: u64 = args.next().map_or(20_000, |s| s.parse().unwrap());
    let er = ER.replace('|', "\x01").into_bytes();
    let er_new = ER_NEW.replace('|', "\x01").into_bytes();
    let md = md_message();
    let feed = [feed_message(false), feed_message(true)];
    let mut idx = FieldIndex::<64>::new();
    let mut table = ErTable::new();
    let mut md_table = MdTable::new();
    let mut session = (op == "md-session").then(|| session_feed(SESSION_MESSAGES));
    // Live from a snapshot at MsgSeqNum 0 holding the levels the first feed message deletes;
    // the market-data operations then apply MsgSeqNum 1, 2, … (a gap would make the book
    // stale, and a stale book skips its updates).
    let mut book = Book::new(10, 1, 8);
    // Through the session the first increment carries MsgSeqNum 2 (the Logon had 1).
    book.begin_snapshot(if session.is_some() { 1 } else { 0 });
    book.apply_snapshot_level(BookSide::Ask, Decimal::new(840_005, 1), Decimal::new(5, 1));
    book.apply_snapshot_level(BookSide::Bid, Decimal::new(840_003, 1), Decimal::new(75, 2));
    book.finish_snapshot();
    let mut order = common::order();
    let mut now = UtcTimestamp::parse(b"20260407-14:32:05.000").unwrap();
    let mut id = *b"1775572325000000";
    for seq in 2..calls + 2 {
        match op.as_str() {
            "emit" => {
                now.nanos += 1_000;
                id[15] = b'0' + (seq % 10) as u8;
                black_box(emit(&mut order, seq, now, &id));
            }
            "er" => drop(black_box(parse_er(black_box(&er), &mut idx, &mut table))),
            "er-new" => drop(black_box(parse_er_new(
                black_box(&er_new),
                &mut idx,
                &mut table,
            ))),
            "er-mixed" => {
                let n = if seq % 2 == 0 {
                    parse_er(black_box(&er), &mut idx, &mut table)
                } else {
                    parse_er_new(black_box(&er_new), &mut idx, &mut table)
                };
                black_box(n);
            }
            "md" => md_apply(black_box(&md), &mut idx, &mut md_table, &mut book, seq - 1),
            "er-frame" => drop(black_box(frame_only(black_box(&er)))),
            "md-frame" => drop(black_box(frame_only(black_box(&md)))),
            "er-index" => drop(black_box(index_only(black_box(&er), &mut idx))),
            "md-index" => drop(black_box(index_only(black_box(&md), &mut idx))),
            "md-feed" => {
                let msg = &feed[(seq % 2) as usize];
                md_apply(black_box(msg), &mut idx, &mut md_table, &mut book, seq - 1);
            }
            "md-session" => {
                let (client, wire, at) = session.as_mut().unwrap();
                let (p, n) = at[(seq - 2) as usize];
                md_session(
                    client,
                    black_box(&wire[p..p + n]),
                    now,
                    &mut book,
                    &mut md_table,
                );
            }
            other => {
                eprintln!("unknown operation {other}: emit, er, er-new, er-mixed, md, md-feed, md-session, er-frame, md-frame, er-index, md-index");
                std::process::exit(2);
            }
        }
    }
}

/// Messages [`session_feed`] makes whatever the number of calls (so that the set-up cancels
/// out of the script's difference of two runs): enough for 20k calls.
const SESSION_MESSAGES: usize = 20_000;

/// A client session of the market-data connection, logged on, and `n` of `tickwire bench`'s
/// increments ([`feed_message`]'s layout) as its venue sends them, MsgSeqNum 2, 3, …: the
/// stream and where each message lies in it.
fn session_feed(n: usize) -> (Session<MemoryJournal>, Vec<u8>, Vec<(usize, usize)>) {
    let (client_cfg, venue_cfg) = md_session_configs();
    let caps = Capacities::default();
    let mut client = Session::new(client_cfg, MemoryJournal::new(1 << 14, 512), caps);
    let mut venue = Session::new(venue_cfg, MemoryJournal::new(n + 16, 512), caps);
    let now = UtcTimestamp::parse(b"20260407-14:32:05.000").unwrap();
    client.handle_connected(now);
    venue.handle_connected(now);
    client.send_logon(now, |_, _| {}).unwrap();
    let logon = client.pending_transmit().to_vec();
    client.consume_transmit(logon.len());
    venue.handle_input(now, &logon, &mut |_| {});
    let answer = venue.pending_transmit().to_vec();
    venue.consume_transmit(answer.len());
    client.handle_input(now, &answer, &mut |_| {});
    assert_eq!(client.state(), SessionState::Active);
    let mut wire = Vec::new();
    let mut at = Vec::with_capacity(n);
    for i in 0..n {
        // feed_message's fields, from 55 on, sent through the venue's session.
        let fields = feed_fields(i % 2 == 1);
        venue
            .send_app(now, b"X", |e| {
                for field in fields.split_terminator('|') {
                    let (tag, value) = field.split_once('=').unwrap();
                    e.field(tag.parse().unwrap(), value.as_bytes());
                }
            })
            .unwrap();
        let out = venue.pending_transmit();
        at.push((wire.len(), out.len()));
        wire.extend_from_slice(out);
        let len = out.len();
        venue.consume_transmit(len);
    }
    (client, wire, at)
}
