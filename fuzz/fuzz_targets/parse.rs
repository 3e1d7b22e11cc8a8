//! Arbitrary bytes through the framer (and its boundary-only variant), the indexer (also the
//! variant that adds up the CheckSum), dictionary validation and every typed view.
//! Every message is indexed twice: with the index the previous messages of the input went
//! through (which predicts their tag layout) and with a fresh one; both must agree, and so must
//! a second pass with the reused index, which then has the message's own layout; the report
//! and market-data views built with tables kept across the input (`new_cached`) must read as
//! fresh ones.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tickwire_fix::book::Book;
use tickwire_fix::message::{
    frame, frame_boundary, resync, FieldIndex, FrameError, FrameLimits, Message, ParseError,
};
use tickwire_fix::views::*;

fuzz_target!(|data: &[u8]| {
    let mut pos = 0;
    let mut book = Book::new(10, 1, 8);
    let mut reused = Box::new(FieldIndex::<256>::new());
    let (mut er_table, mut md_table) = (ErTable::new(), MdTable::new());
    while pos < data.len() {
        // Boundaries alone: the framing's answer, except that a wrong CheckSum value is a
        // message.
        let framed = frame(&data[pos..], FrameLimits::default());
        let boundary = frame_boundary(&data[pos..], FrameLimits::default());
        match framed {
            Err(FrameError::BadChecksum { .. }) => assert!(matches!(boundary, Ok(Some(_)))),
            other => assert_eq!(boundary, other, "frame_boundary differs from frame"),
        }
        // The framer's CheckSum verdict, taken instead by the indexer: on the bytes of a
        // framed message `parse_summed` is `parse` exactly, and on a message framed with a
        // wrong sum it never succeeds.
        if let Ok(Some(n)) = boundary {
            let bytes = &data[pos..pos + n];
            let summed = Message::parse_summed(bytes, &mut FieldIndex::<256>::new()).map(|m| m.fields().to_vec());
            let plain = Message::parse(bytes, &mut FieldIndex::<256>::new()).map(|m| m.fields().to_vec());
            match framed {
                // `frame` does not ask for SOH before `10=`; the indexer does (a body whose
                // last field runs into the trailer has no CheckSum field).
                Ok(Some(_)) => {
                    let want = match plain {
                        Ok(f) if f.last().map(|f| f.tag) != Some(10) => Err(ParseError::Missing { tag: 10 }),
                        other => other,
                    };
                    assert_eq!(summed, want, "parse_summed differs from frame + parse")
                }
                _ => assert!(summed.is_err() || plain.is_err(), "a wrong CheckSum passed parse_summed"),
            }
        }
        match framed {
            Ok(Some(n)) => {
                inspect(&data[pos..pos + n], &mut book);
                let mut fresh = FieldIndex::<256>::new();
                let want = Message::parse(&data[pos..pos + n], &mut fresh).map(|m| m.fields().to_vec());
                let got = Message::parse(&data[pos..pos + n], &mut reused).map(|m| m.fields().to_vec());
                assert_eq!(got, want, "a reused index parsed differently");
                // Again: now the index holds exactly this message's layout (every tag
                // predicted), which it must report.
                let again = Message::parse_tracking_layout(&data[pos..pos + n], &mut reused)
                    .map(|(m, same)| (m.fields().to_vec(), same));
                assert_eq!(again, want.map(|w| (w, true)), "the same message again parsed differently");
                // The views with tables kept across the input's messages read what fresh
                // views read.
                if let Ok(msg) = Message::parse(&data[pos..pos + n], &mut reused) {
                    let reading = |er: &ExecutionReport<'_>| {
                        format!("{:?}", (er.order_id(), er.exec_id(), er.cl_ord_id(), er.last_px(), er.fee(), er.text(), er.exec_inst(), er.cum_qty(), er.side()))
                    };
                    match (ExecutionReport::new_checked(&msg), ExecutionReport::new_cached(&msg, &mut er_table)) {
                        (Ok(a), Ok(b)) => assert_eq!(reading(&a), reading(&b), "a cached report view read differently"),
                        (a, b) => assert_eq!(a.err(), b.err(), "a cached report view failed differently"),
                    }
                    let reading = |md: &MarketData<'_>| {
                        let mut entries = md.entries();
                        let list: Vec<_> = entries.by_ref().collect();
                        format!("{:?}", (md.entry_count(), list, entries.position(), md.book_checksum()))
                    };
                    match (MarketData::new_checked(&msg), MarketData::new_cached(&msg, &mut md_table)) {
                        (Ok(a), Ok(b)) => assert_eq!(reading(&a), reading(&b), "a cached market-data view read differently"),
                        (a, b) => assert_eq!(a.err(), b.err(), "a cached market-data view failed differently"),
                    }
                }
                pos += n;
            }
            Ok(None) => break,
            Err(_) => pos += resync(&data[pos..]),
        }
    }
    // Also index unframed input directly: the parser must not trust the framer.
    inspect(data, &mut book);
});

fn inspect(bytes: &[u8], book: &mut Book) {
    let mut idx = FieldIndex::<256>::new();
    let Ok(msg) = Message::parse(bytes, &mut idx) else { return };
    let _ = tickwire_fix::dict::validate_fix44(&msg);
    for f in msg.fields() {
        let _ = msg.tag_text(*f);
    }
    if let Ok(er) = ExecutionReport::new_checked(&msg) {
        let _ = (er.last_px(), er.last_qty(), er.fee(), er.order_qty(), er.price(), er.transact_time());
    }
    let _ = BusinessMessageReject::new_checked(&msg);
    let _ = Reject::new_checked(&msg);
    if let Ok(md) = MarketData::new_checked(&msg) {
        for e in md.entries() {
            let _ = e;
        }
        let _ = book.apply_message(&md, msg.uint(34).unwrap_or(0));
        let _ = book.checksum();
    }
    if let Ok(il) = InstrumentList::new_checked(&msg) {
        for i in il.instruments() {
            let _ = i;
        }
    }
    let _ = Logon::new_checked(&msg);
    let _ = ResendRequest::new_checked(&msg);
    let _ = SequenceReset::new_checked(&msg);
    let _ = TestRequestId::new_checked(&msg);
    let _ = TradingSessionStatus::new_checked(&msg);
    let _ = MarketDataRequestReject::new_checked(&msg);
}
