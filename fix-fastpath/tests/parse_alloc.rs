//! The inbound codec allocates nothing: 100k messages (every SPEC §7 example, round robin) are
//! framed out of one stream buffer, indexed, validated against both dictionaries and read through
//! their typed views, with a counting global allocator watching this thread.
#![allow(clippy::unwrap_used)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;

use tickwire_fix::dict::{self, ValidationOptions};
use tickwire_fix::parse::{frame, resync, FieldIndex, Message};
use tickwire_fix::views::*;

struct Counting;

thread_local! {
    /// Only allocations made by a measuring thread count (the test harness has others, and the
    /// tests of this file run in parallel).
    static MEASURING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count() {
    if MEASURING.with(Cell::get) {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
    }
}

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

// SAFETY: forwards every call to the system allocator unchanged; only counts them.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The wire bytes of every SPEC §7 example.
fn spec_examples() -> Vec<Vec<u8>> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/kraken-fix/SPEC.md"
    );
    let spec = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let section = spec.split("## 7.").nth(1).expect("SPEC has §7");
    section
        .split("\n## 8.")
        .next()
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("8=FIX.4.4|"))
        .map(|l| l.replace('|', "\x01").into_bytes())
        .collect()
}

/// Reads a message the way a client does; returns something derived so nothing is optimised out.
fn consume(msg: &Message<'_>) -> u64 {
    let mut acc = msg.fields().len() as u64;
    acc += u64::from(dict::validate(msg, &dict::KRAKEN, &ValidationOptions::default()).is_ok());
    acc += u64::from(dict::validate_fix44(msg).is_ok());
    if let Ok(er) = ExecutionReport::new_checked(msg) {
        acc += er.cum_qty().mantissa as u64;
        acc += er.last_px().unwrap().map_or(0, |d| d.mantissa as u64);
        acc += er.fee().unwrap().map_or(0, |d| d.mantissa as u64);
        acc += er.transact_time().map_or(0, |t| t.nanos as u64);
        acc += er.order_id().len() as u64 + u64::from(er.exec_type().code());
    }
    if let Ok(md) = MarketData::new_checked(msg) {
        let day = md.sending_time().unwrap();
        for e in md.entries() {
            let e = e.unwrap();
            acc += e.price.mantissa as u64 + e.size.mantissa as u64;
            acc += e.timestamp(day).map_or(0, |t| t.nanos as u64);
        }
        acc += u64::from(md.book_checksum().unwrap_or(0));
    }
    if let Ok(il) = InstrumentList::new_checked(msg) {
        for i in il.instruments() {
            acc += i.unwrap().tick_size.mantissa as u64;
        }
    }
    if let Ok(r) = BusinessMessageReject::new_checked(msg) {
        acc += r.reason();
    }
    if let Ok(r) = Reject::new_checked(msg) {
        acc += r.ref_seq();
    }
    if let Ok(l) = Logon::new_checked(msg) {
        acc += l.heartbeat_interval_s();
    }
    if let Ok(t) = TestRequest::new_checked(msg) {
        acc += t.test_req_id.len() as u64;
    }
    if let Ok(r) = ResendRequest::new_checked(msg) {
        acc += r.begin;
    }
    if let Ok(r) = SequenceReset::new_checked(msg) {
        acc += r.new_seq;
    }
    acc
}

#[test]
fn framing_parsing_validating_and_viewing_100k_messages_does_not_allocate() {
    let examples = spec_examples();
    assert_eq!(examples.len(), 27);
    // One receive buffer holding 1000 messages, read 100 times: 100k messages.
    let mut stream = Vec::new();
    for i in 0..1000 {
        stream.extend_from_slice(&examples[i % examples.len()]);
    }
    let mut index = FieldIndex::<256>::new();
    let mut acc = 0u64;
    let mut messages = 0u64;

    let before = allocations();
    MEASURING.with(|m| m.set(true));
    for _ in 0..100 {
        let mut pos = 0;
        while pos < stream.len() {
            match frame(&stream[pos..]) {
                Ok(Some(n)) => {
                    let msg = Message::parse(&stream[pos..pos + n], &mut index).unwrap();
                    acc = acc.wrapping_add(consume(&msg));
                    messages += 1;
                    pos += n;
                }
                Ok(None) => break,
                Err(_) => pos += resync(&stream[pos..]),
            }
        }
    }
    MEASURING.with(|m| m.set(false));
    let allocated = allocations() - before;

    black_box(acc);
    assert_eq!(messages, 100_000);
    assert_eq!(allocated, 0, "allocations while handling 100k messages");
}

#[test]
fn the_counter_sees_allocations() {
    let before = allocations();
    MEASURING.with(|m| m.set(true));
    let v: Vec<u8> = black_box(Vec::with_capacity(64));
    MEASURING.with(|m| m.set(false));
    drop(v);
    assert!(allocations() > before);
}
