//! Every example message of SPEC §7 (M01..M20, S01..S07) frames, parses, validates against the
//! dictionary (Kraken's dialect, and plain FIX 4.4 with Kraken's tags), and reads back with the
//! right typed values. The examples are read from `../shared/kraken-fix/SPEC.md` so the tests
//! follow the spec.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use tickwire_fix::decimal::Decimal;
use tickwire_fix::dict::{self, validate_fix44, SessionRejectReason, ValidationOptions};
use tickwire_fix::parse::{frame, FieldIndex, Message};
use tickwire_fix::tags;
use tickwire_fix::time::UtcTimestamp;
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
        assert_eq!(frame(bytes), Ok(Some(bytes.len())), "{name}");
        with(bytes, |m| {
            assert_eq!(validate_fix44(m), Ok(()), "{name}");
            assert_eq!(
                dict::validate(m, &dict::KRAKEN, &ValidationOptions::default()),
                Ok(()),
                "{name} in Kraken's dialect"
            );
        });
    }
}

#[test]
fn every_example_reads_back_typed_values() {
    let all: BTreeMap<String, Vec<u8>> = examples().into_iter().collect();
    let get = |k: &str| all.get(k).unwrap().as_slice();
    let ts = |s: &str| UtcTimestamp::parse(s.as_bytes()).unwrap();

    // M01: MD logon.
    with(get("M01"), |m| {
        let l = Logon::new_checked(m).unwrap();
        assert_eq!(l.heartbeat_interval_s(), 30);
        assert_eq!(l.encrypt_method(), Some(0));
        assert!(l.reset_seq_num());
        assert_eq!(l.target_comp_id(), Some(&b"KRAKEN-MD"[..]));
        assert_eq!(m.seq_num(), Ok(1));
        assert_eq!(
            m.timestamp(tags::SENDING_TIME),
            Ok(ts("20260407-14:32:01.000"))
        );
    });
    // M04: derivatives logon.
    with(get("M04"), |m| {
        let l = Logon::new_checked(m).unwrap();
        assert_eq!(l.sender_comp_id(), Some(&b"TESTCLIENT-DRV"[..]));
        assert_eq!(l.target_comp_id(), Some(&b"KRAKEN-DRV-TRD"[..]));
        assert_eq!(l.password().map(<[u8]>::len), Some(88));
        assert_eq!(l.nonce(), Some(1_775_572_321_000));
    });
    // M05 / M16: NewOrderSingle as sent (no client-side view: read the message).
    with(get("M05"), |m| {
        assert_eq!(m.msg_type(), b"D");
        assert_eq!(m.field(tags::CL_ORD_ID), Some(&b"1775572325000000"[..]));
        assert_eq!(m.decimal(tags::PRICE), Ok(d("84000.0")));
        assert_eq!(m.decimal(tags::ORDER_QTY), Ok(d("0.01")));
        assert_eq!(m.char(tags::SIDE), Ok(b'1'));
        assert_eq!(
            m.char(tags::ORD_TYPE).map(OrdType::from_code),
            Ok(OrdType::Limit)
        );
        assert_eq!(
            m.char(tags::TIME_IN_FORCE).map(TimeInForce::from_code),
            Ok(TimeInForce::GoodTillCancel)
        );
        assert_eq!(m.field(tags::EXEC_INST), Some(&b"P"[..]));
        assert_eq!(m.uint(tags::SELF_TRADE_PREVENTION), Ok(1));
        assert_eq!(
            m.timestamp(tags::TRANSACT_TIME),
            Ok(ts("20260407-14:32:05.000"))
        );
    });
    with(get("M16"), |m| {
        assert_eq!(
            m.field(tags::CL_ORD_ID),
            Some(&b"a17cc3c5-3d20-4a1b-8c2d-3e4f5a6b7c8d"[..])
        );
        assert_eq!(m.field(tags::SYMBOL), Some(&b"PF_XBTUSD"[..]));
        assert_eq!(m.decimal(tags::PRICE), Ok(d("85000")));
        assert_eq!(m.field(tags::EXEC_INST), Some(&b"P s"[..]));
        assert_eq!(m.char(tags::SIDE).map(Side::from_code), Ok(Side::Sell));
    });
    // M06: New.
    with(get("M06"), |m| {
        let er = ExecutionReport::new_checked(m).unwrap();
        assert_eq!(er.exec_inst(), Some(&b"P"[..]));
        assert_eq!(er.ord_type(), Some(OrdType::Limit));
        assert_eq!(er.time_in_force(), Some(TimeInForce::GoodTillCancel));
        assert_eq!(er.avg_px(), d("0"));
        assert_eq!(er.cum_qty(), d("0"));
        assert_eq!(er.gross_trade_amt().unwrap(), Some(d("0")));
        assert_eq!(er.text(), Some(&b"buy 0.01 BTC/USD @ limit 84000.0"[..]));
        assert_eq!(er.transact_time(), Ok(ts("20260407-14:32:05.003")));
        assert_eq!(er.last_px().unwrap(), None);
        assert_eq!(er.seq_num(), Some(2));
    });
    // M07: fill, more fields.
    with(get("M07"), |m| {
        let er = ExecutionReport::new_checked(m).unwrap();
        assert_eq!(er.avg_px(), d("84000.0"));
        assert_eq!(er.net_money().unwrap(), Some(d("336.0")));
        assert_eq!(er.gross_trade_amt().unwrap(), Some(d("336.0")));
        assert_eq!(er.secondary_exec_id(), Some(&b"78211235"[..]));
        assert_eq!(er.exec_id(), b"SIMX0000002:TRD001");
        assert_eq!(er.side(), Side::Buy);
        assert_eq!(er.symbol(), b"BTC/USD");
        let fees: Vec<_> = m
            .group(
                tags::NO_MISC_FEES,
                tags::MISC_FEE_AMT,
                &[137, 138, 139, 891],
            )
            .collect();
        assert_eq!(fees.len(), 1);
        assert_eq!(fees[0].decimal(tags::MISC_FEE_AMT), Ok(d("0.5376")));
        assert_eq!(fees[0].uint(tags::MISC_FEE_TYPE), Ok(4));
    });
    // M08 / M10: amend and cancel requests as sent.
    with(get("M08"), |m| {
        assert_eq!(m.msg_type(), b"G");
        assert_eq!(
            m.field(tags::ORIG_CL_ORD_ID),
            Some(&b"1775572325000000"[..])
        );
        assert_eq!(m.field(tags::ORDER_ID), Some(&b"O3KQ7T-XH2LM-ZP4WUA"[..]));
        assert_eq!(m.decimal(tags::ORDER_QTY), Ok(d("0.008")));
    });
    with(get("M10"), |m| {
        assert_eq!(m.msg_type(), b"F");
        assert_eq!(m.field(tags::CL_ORD_ID), Some(&b"1775572335000000"[..]));
        assert_eq!(
            m.field(tags::ORIG_CL_ORD_ID),
            Some(&b"1775572330000000"[..])
        );
    });
    // M11: canceled.
    with(get("M11"), |m| {
        let er = ExecutionReport::new_checked(m).unwrap();
        assert_eq!(er.exec_type(), ExecType::Canceled);
        assert_eq!(er.leaves_qty(), d("0"));
        assert_eq!(er.cl_ord_id(), Some(&b"1775572335000000"[..]));
        assert_eq!(er.orig_cl_ord_id(), Some(&b"1775572330000000"[..]));
    });
    // M14: session reject, typed.
    with(get("M14"), |m| {
        let r = Reject::new_checked(m).unwrap();
        assert_eq!(
            r.session_reject_reason(),
            Some(SessionRejectReason::RequiredTagMissing)
        );
        assert_eq!(r.ref_msg_type(), Some(&b"D"[..]));
        assert_eq!(r.text(), Some(&b"Missing mandatory field: Side (54)"[..]));
    });
    // M15: mass cancel as sent.
    with(get("M15"), |m| {
        assert_eq!(m.msg_type(), b"q");
        assert_eq!(m.uint(tags::MASS_CANCEL_REQUEST_TYPE), Ok(1));
        assert_eq!(m.field(tags::SYMBOL), Some(&b"BTC/USD"[..]));
    });
    // M17: MD request groups.
    with(get("M17"), |m| {
        assert_eq!(m.field(tags::MD_REQ_ID), Some(&b"MD-BTCUSD-1"[..]));
        assert_eq!(m.uint(tags::MARKET_DEPTH), Ok(10));
        assert_eq!(m.boolean(tags::AGGREGATED_BOOK), Ok(true));
        let types: Vec<u8> = m
            .group(tags::NO_MD_ENTRY_TYPES, tags::MD_ENTRY_TYPE, &[269])
            .map(|e| e.char(tags::MD_ENTRY_TYPE).unwrap())
            .collect();
        assert_eq!(types, b"012");
        let syms: Vec<_> = m
            .group(tags::NO_RELATED_SYM, tags::SYMBOL, &[55])
            .map(|e| e.field(tags::SYMBOL).unwrap())
            .collect();
        assert_eq!(syms, [&b"BTC/USD"[..]]);
    });
    // M18: snapshot through its own view.
    with(get("M18"), |m| {
        let w = MarketDataSnapshotFullRefresh::new_checked(m).unwrap();
        assert!(MarketDataIncrementalRefresh::new_checked(m).is_err());
        assert_eq!(w.symbol(), Some(&b"BTC/USD"[..]));
        assert_eq!(w.request_id(), Some(&b"MD-BTCUSD-1"[..]));
        assert_eq!(w.entry_count(), 6);
        let day = w.as_market_data().sending_time().unwrap();
        let e: Vec<_> = w.entries().map(Result::unwrap).collect();
        assert!(e.iter().all(|x| x.action == UpdateAction::New));
        assert_eq!(e[1].time, b"14:31:58.112");
        assert_eq!(e[1].timestamp(day), Ok(ts("20260407-14:31:58.112")));
        assert_eq!((e[4].entry_id, e[4].size), (&b"B83999.9"[..], d("2.0")));
    });
    // M19: the three entries of the spec, typed, and 5041.
    with(get("M19"), |m| {
        let x = MarketDataIncrementalRefresh::new_checked(m).unwrap();
        assert_eq!(x.book_checksum(), Some(1_617_386_200));
        assert_eq!(x.symbol(), Some(&b"BTC/USD"[..]));
        let day = x.as_market_data().sending_time().unwrap();
        let e: Vec<_> = x.entries().map(Result::unwrap).collect();
        assert_eq!(e.len(), 3);
        assert_eq!(
            (
                e[0].action,
                e[0].entry_type,
                e[0].entry_id,
                e[0].price,
                e[0].size
            ),
            (
                UpdateAction::Delete,
                EntryType::Offer,
                &b"O84000.1"[..],
                d("84000.1"),
                d("0.0")
            )
        );
        assert_eq!(
            (
                e[1].action,
                e[1].entry_type,
                e[1].entry_id,
                e[1].price,
                e[1].size
            ),
            (
                UpdateAction::New,
                EntryType::Offer,
                &b"O84000.3"[..],
                d("84000.3"),
                d("0.25")
            )
        );
        assert_eq!(
            (
                e[2].action,
                e[2].entry_type,
                e[2].entry_id,
                e[2].price,
                e[2].size
            ),
            (
                UpdateAction::Change,
                EntryType::Bid,
                &b"B84000.0"[..],
                d("84000.0"),
                d("0.5")
            )
        );
        assert_eq!(e[2].timestamp(day), Ok(ts("20260407-14:32:03.104")));
    });
    // S02: the client's heartbeat echo, S01 as a TestRequest view.
    with(get("S01"), |m| {
        assert_eq!(
            TestRequest::new_checked(m).unwrap().test_req_id,
            b"TR-1775572400"
        );
        assert!(Heartbeat::new_checked(m).is_err());
    });
    with(get("S02"), |m| {
        assert_eq!(
            Heartbeat::new_checked(m).unwrap().test_req_id,
            Some(&b"TR-1775572400"[..])
        );
    });
    // S04: gap fill with PossDup and OrigSendingTime.
    with(get("S04"), |m| {
        assert_eq!(m.boolean(tags::POSS_DUP_FLAG), Ok(true));
        assert_eq!(
            m.timestamp(tags::ORIG_SENDING_TIME),
            Ok(ts("20260407-14:33:20.000"))
        );
    });
    // S06: instrument list request as sent.
    with(get("S06"), |m| {
        assert_eq!(m.field(tags::SECURITY_REQ_ID), Some(&b"IL-1"[..]));
        assert_eq!(m.uint(tags::SECURITY_LIST_REQUEST_TYPE), Ok(0));
        assert_eq!(m.uint(tags::SUBSCRIPTION_REQUEST_TYPE), Ok(0));
    });
    // S07: every instrument field.
    with(get("S07"), |m| {
        let il = InstrumentList::new_checked(m).unwrap();
        assert_eq!(il.result(), 0);
        let i = il.instruments().next().unwrap().unwrap();
        assert_eq!(i.lot_step, d("0.00000001"));
        assert_eq!(i.qty_max, None);
        assert_eq!(i.md_price_precision, Some(1));
    });
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
