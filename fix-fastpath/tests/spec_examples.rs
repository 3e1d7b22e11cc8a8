//! Every example message of SPEC §7 frames, parses, validates against the dictionary, and reads
//! back with the right typed values. The examples are read from `../shared/kraken-fix/SPEC.md`
//! so the tests follow the spec.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use tickwire_fix::decimal::Decimal;
use tickwire_fix::dict::validate_fix44;
use tickwire_fix::message::{frame, FieldIndex, FrameLimits, Message};
use tickwire_fix::views::*;

/// (label, wire bytes) of every example in SPEC §7, in order.
fn examples() -> Vec<(String, Vec<u8>)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/kraken-fix/SPEC.md"
    );
    let spec = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let section = spec.split("## 7.").nth(1).expect("SPEC has §7");
    let section = section.split("\n## 8.").next().unwrap();
    let mut out = Vec::new();
    let mut label = String::new();
    let mut pending: Vec<String> = Vec::new();
    for line in section.lines() {
        if let Some(l) = line.split_whitespace().next() {
            if (l.starts_with('M') || l.starts_with('S'))
                && l.len() == 3
                && l[1..].chars().all(|c| c.is_ascii_digit())
            {
                label = l.to_string();
                pending.clear();
                // "S01 — … and S02 — …": two labels for two lines.
                for w in line.split_whitespace() {
                    if (w.starts_with('S') || w.starts_with('M'))
                        && w.len() == 3
                        && w[1..].chars().all(|c| c.is_ascii_digit())
                    {
                        pending.push(w.to_string());
                    }
                }
                pending.reverse();
            }
        }
        if line.starts_with("8=FIX.4.4|") {
            let name = pending.pop().unwrap_or_else(|| label.clone());
            out.push((name, line.replace('|', "\x01").into_bytes()));
        }
    }
    out
}

fn with<R>(bytes: &[u8], f: impl FnOnce(&Message<'_>) -> R) -> R {
    let mut idx = FieldIndex::<256>::new();
    let msg = Message::parse(bytes, &mut idx).unwrap();
    f(&msg)
}

fn d(s: &str) -> Decimal {
    Decimal::parse(s.as_bytes()).unwrap()
}

#[test]
fn all_examples_frame_parse_and_validate() {
    let all = examples();
    let names: Vec<_> = all.iter().map(|(n, _)| n.as_str()).collect();
    for want in ["M01", "M05", "M19", "M20", "S01", "S02", "S07"] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    assert_eq!(all.len(), 27, "M01..M20 and S01..S07");
    for (name, bytes) in &all {
        assert_eq!(
            frame(bytes, FrameLimits::default()),
            Ok(Some(bytes.len())),
            "{name}"
        );
        with(bytes, |m| assert_eq!(validate_fix44(m), Ok(()), "{name}"));
    }
}

#[test]
fn typed_values_match_the_spec() {
    let all: BTreeMap<String, Vec<u8>> = examples().into_iter().collect();
    let get = |k: &str| all.get(k).unwrap().as_slice();

    with(get("M03"), |m| {
        let l = Logon::new_checked(m).unwrap();
        assert_eq!(l.heartbeat_interval_s(), 30);
        assert!(l.reset_seq_num());
        assert_eq!(l.api_key(), None, "credentials are not echoed");
    });
    with(get("M02"), |m| {
        let l = Logon::new_checked(m).unwrap();
        assert_eq!(l.api_key(), Some(&b"FIXTESTKEY123"[..]));
        assert_eq!(l.nonce(), Some(1_775_572_321_000));
        assert!(l.cancel_on_disconnect());
    });
    with(get("M06"), |m| {
        let er = ExecutionReport::new_checked(m).unwrap();
        assert_eq!(er.exec_type(), ExecType::New);
        assert_eq!(er.ord_status(), OrdStatus::New);
        assert_eq!(er.order_id(), b"O3KQ7T-XH2LM-ZP4WUA");
        assert_eq!(er.leaves_qty(), d("0.01"));
        assert_eq!(er.price().unwrap(), Some(d("84000.0")));
    });
    with(get("M07"), |m| {
        let er = ExecutionReport::new_checked(m).unwrap();
        assert_eq!(er.exec_type(), ExecType::Trade);
        assert_eq!(er.ord_status(), OrdStatus::PartiallyFilled);
        assert_eq!(er.last_px().unwrap(), Some(d("84000.0")));
        assert_eq!(er.last_qty().unwrap(), Some(d("0.004")));
        assert_eq!(er.cum_qty(), d("0.004"));
        assert_eq!(er.leaves_qty(), d("0.006"));
        assert_eq!(er.fee().unwrap(), Some(d("0.5376")));
        assert_eq!(er.fee_currency(), Some(&b"USD"[..]));
        assert_eq!(er.is_maker(), Some(true));
        assert_eq!(er.trade_id(), Some(&b"THVRQM-33VKH-UCI7BS"[..]));
    });
    with(get("M09"), |m| {
        let er = ExecutionReport::new_checked(m).unwrap();
        assert_eq!(er.exec_type(), ExecType::Replaced);
        assert_eq!(er.orig_cl_ord_id(), Some(&b"1775572325000000"[..]));
        assert_eq!(er.order_qty().unwrap(), Some(d("0.008")));
    });
    with(get("M11"), |m| {
        let er = ExecutionReport::new_checked(m).unwrap();
        assert_eq!(er.ord_status(), OrdStatus::Canceled);
        assert!(er.ord_status().is_terminal());
        assert_eq!(er.text(), Some(&b"Order canceled by user"[..]));
    });
    with(get("M12"), |m| {
        let r = BusinessMessageReject::new_checked(m).unwrap();
        assert_eq!(r.reason(), 101);
        assert_eq!(r.ref_msg_type(), b"F");
        assert_eq!(r.text(), Some(&b"EOrder:Unknown order"[..]));
    });
    with(get("M13"), |m| {
        let r = BusinessMessageReject::new_checked(m).unwrap();
        assert_eq!((r.reason(), r.ref_seq()), (0, Some(6)));
        assert_eq!(r.ref_id(), Some(&b"1775572337000000"[..]));
    });
    with(get("M14"), |m| {
        let r = Reject::new_checked(m).unwrap();
        assert_eq!(
            (r.ref_seq(), r.ref_tag(), r.reason()),
            (7, Some(54), Some(1))
        );
    });
    with(get("M18"), |m| {
        let md = MarketData::new_checked(m).unwrap();
        assert!(md.is_snapshot());
        let e: Vec<_> = md.entries().map(Result::unwrap).collect();
        assert_eq!(e.len(), 6);
        assert_eq!(
            (e[0].entry_type, e[0].price, e[0].size),
            (EntryType::Offer, d("84000.1"), d("0.5"))
        );
        assert_eq!(
            (e[5].entry_type, e[5].price, e[5].size),
            (EntryType::Bid, d("83999.5"), d("0.1"))
        );
        assert_eq!(e[3].entry_id, b"B84000.0");
    });
    with(get("M19"), |m| {
        let md = MarketData::new_checked(m).unwrap();
        assert!(!md.is_snapshot());
        assert_eq!(md.book_checksum(), Some(1_617_386_200));
        let e: Vec<_> = md.entries().map(Result::unwrap).collect();
        let summary: Vec<_> = e
            .iter()
            .map(|x| (x.action, x.entry_type, x.price, x.size))
            .collect();
        assert_eq!(
            summary,
            vec![
                (
                    UpdateAction::Delete,
                    EntryType::Offer,
                    d("84000.1"),
                    d("0.0")
                ),
                (UpdateAction::New, EntryType::Offer, d("84000.3"), d("0.25")),
                (UpdateAction::Change, EntryType::Bid, d("84000.0"), d("0.5")),
            ]
        );
    });
    with(get("M20"), |m| {
        let md = MarketData::new_checked(m).unwrap();
        let e: Vec<_> = md.entries().map(Result::unwrap).collect();
        assert_eq!(e[0].entry_type, EntryType::Trade);
        assert_eq!(e[0].aggressor, Some(Side::Buy));
        assert_eq!(md.book_checksum(), None);
    });
    with(get("S01"), |m| {
        assert_eq!(
            TestRequestId::new_checked(m).unwrap().id,
            Some(&b"TR-1775572400"[..])
        );
    });
    with(get("S03"), |m| {
        assert_eq!(
            ResendRequest::new_checked(m).unwrap(),
            ResendRequest { begin: 9, end: 0 }
        );
    });
    with(get("S04"), |m| {
        assert_eq!(
            SequenceReset::new_checked(m).unwrap(),
            SequenceReset {
                new_seq: 10,
                gap_fill: true
            }
        );
    });
    with(get("S05"), |m| {
        assert_eq!(
            Logout::new_checked(m).unwrap().text(),
            Some(&b"Logon failed: invalid credentials"[..])
        );
    });
    with(get("S07"), |m| {
        let il = InstrumentList::new_checked(m).unwrap();
        let i: Vec<_> = il.instruments().map(Result::unwrap).collect();
        assert_eq!(i.len(), 1);
        assert_eq!(i[0].symbol, b"BTC/USD");
        assert_eq!((i[0].price_precision, i[0].qty_precision), (1, 8));
        assert_eq!(i[0].tick_size, d("0.1"));
        assert_eq!(i[0].qty_min, d("0.0001"));
        assert_eq!(i[0].min_cost, Some(d("0.5")));
        assert_eq!(i[0].status, 1);
    });
}

#[test]
fn views_refuse_the_wrong_message() {
    let all: BTreeMap<String, Vec<u8>> = examples().into_iter().collect();
    with(all.get("M12").unwrap(), |m| {
        assert_eq!(
            ExecutionReport::new_checked(m).err(),
            Some(ViewError::WrongMsgType)
        );
    });
    let broken = "8=FIX.4.4|9=1|35=8|34=2|49=K|56=C|52=20260407-14:32:05.004|37=X|17=E|55=S|150=0|39=0|54=1|14=abc|151=0|6=0|10=000|"
        .replace('|', "\x01");
    with(broken.as_bytes(), |m| {
        assert!(matches!(
            ExecutionReport::new_checked(m),
            Err(ViewError::Field(_))
        ));
    });
}

#[test]
fn m18_snapshot_then_m19_incremental_matches_the_spec_book_and_checksum() {
    use tickwire_fix::book::{Book, BookSide, State};
    let all: BTreeMap<String, Vec<u8>> = examples().into_iter().collect();
    let mut book = Book::new(10, 1, 8);
    with(all.get("M18").unwrap(), |m| {
        book.apply_message(&MarketData::new_checked(m).unwrap(), m.uint(34).unwrap())
            .unwrap();
    });
    with(all.get("M19").unwrap(), |m| {
        book.apply_message(&MarketData::new_checked(m).unwrap(), m.uint(34).unwrap())
            .unwrap();
    });
    assert_eq!(book.state(), State::Live, "5041=1617386200 verified");
    let asks: Vec<_> = book.levels(BookSide::Ask).collect();
    let bids: Vec<_> = book.levels(BookSide::Bid).collect();
    assert_eq!(
        asks,
        vec![
            (840003, 25_000_000),
            (840005, 125_000_000),
            (840010, 200_000)
        ]
    );
    assert_eq!(
        bids,
        vec![
            (840000, 50_000_000),
            (839999, 200_000_000),
            (839995, 10_000_000)
        ]
    );
    assert_eq!(book.checksum(), 1_617_386_200);
    // M20 is a trade: last trade moves, book does not.
    with(all.get("M20").unwrap(), |m| {
        book.apply_message(&MarketData::new_checked(m).unwrap(), m.uint(34).unwrap())
            .unwrap();
    });
    assert_eq!(book.last_trade(), Some((840001, 50_000_000)));
    assert_eq!(book.state(), State::Live);
}
