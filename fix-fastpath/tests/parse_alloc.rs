//! The inbound codec allocates nothing: 100k messages (every SPEC §7 example, round robin) are
//! framed out of one stream buffer, indexed, validated against both dictionaries and read through
//! their typed views, with a counting global allocator watching this thread.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;

use tickwire_fix::dict::{self, ValidationOptions};
use tickwire_fix::parse::{frame, resync, FieldIndex, Message};
use tickwire_fix::views::*;

// The tests read this thread's count (the test harness has other threads, and the tests of
// this file run in parallel).
#[global_allocator]
static GLOBAL: tickwire_testutil::CountingAlloc = tickwire_testutil::CountingAlloc;

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

    let ((), allocated) = tickwire_testutil::measure(|| {
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
    });

    black_box(acc);
    assert_eq!(messages, 100_000);
    assert_eq!(
        allocated.this_thread, 0,
        "allocations while handling 100k messages"
    );
}

#[test]
fn the_counter_sees_allocations() {
    let (v, allocated) = tickwire_testutil::measure(|| black_box(Vec::<u8>::with_capacity(64)));
    drop(v);
    assert!(allocated.this_thread > 0);
}
