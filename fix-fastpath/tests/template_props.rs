//! Properties of everything the outbound side writes: for every message kind, random field
//! values → template patch (or one-pass venue encoder) → frame + parse gives back the same
//! values, with a BodyLength and CheckSum the framer accepts.
//!
//! Parsed with the crate's zero-copy `message::Message` API.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use tickwire_fix::decimal::Decimal;
use tickwire_fix::encode::Encoder;
use tickwire_fix::message::{frame, FieldIndex, FrameLimits, Message};
use tickwire_fix::outbound::venue::{self, Stamp};
use tickwire_fix::outbound::{
    self, LogonShape, MassCancelScope, OrdType, OrderShape, Side, SlotWidths, TimeInForce,
};
use tickwire_fix::template::{Header, Layout, Template};
use tickwire_fix::time::UtcTimestamp;

const HDR: Header<'static> = Header {
    begin_string: b"FIX.4.4",
    sender: b"TESTCLIENT",
    target: b"KRAKEN-TRD",
    time_after_target: true,
};

/// Checks framing and returns the parsed message.
fn parsed<'a>(bytes: &'a [u8], idx: &'a mut FieldIndex<128>) -> Message<'a> {
    assert_eq!(
        frame(bytes, FrameLimits::default()),
        Ok(Some(bytes.len())),
        "{}",
        String::from_utf8_lossy(bytes).replace('\x01', "|")
    );
    Message::parse(bytes, idx).unwrap()
}

fn same_decimal(m: &Message<'_>, tag: u32, want: Decimal) {
    assert_eq!(
        m.decimal(tag).unwrap().normalize(),
        want.normalize(),
        "tag {tag}"
    );
}

fn decimal() -> impl Strategy<Value = Decimal> {
    (1i64..1_000_000_000_000, 0u8..=8).prop_map(|(m, s)| Decimal::new(m, s))
}

fn timestamp() -> impl Strategy<Value = UtcTimestamp> {
    // 2001..2100, millisecond resolution (what the wire carries).
    (1_000_000_000_000i64..4_102_444_800_000).prop_map(UtcTimestamp::from_millis)
}

fn spot_id() -> impl Strategy<Value = String> {
    "[1-9][0-9]{15}"
}

fn text() -> impl Strategy<Value = String> {
    "[ -~]{1,40}"
}

fn ord_type() -> impl Strategy<Value = OrdType> {
    prop_oneof![
        Just(OrdType::Market),
        Just(OrdType::Limit),
        Just(OrdType::StopLoss),
        Just(OrdType::StopLossLimit),
        Just(OrdType::TakeProfit),
        Just(OrdType::TakeProfitLimit),
        Just(OrdType::TrailingStop),
        Just(OrdType::TrailingStopLimit),
    ]
}

fn tif() -> impl Strategy<Value = TimeInForce> {
    prop_oneof![
        Just(TimeInForce::GoodTillCancel),
        Just(TimeInForce::ImmediateOrCancel),
        Just(TimeInForce::FillOrKill),
        Just(TimeInForce::GoodTillDate),
    ]
}

fn stamp_values(t: &Template, seq: u64, now: UtcTimestamp) -> (Vec<u8>, u64, UtcTimestamp) {
    (t.bytes().to_vec(), seq, now)
}

fn check_header(m: &Message<'_>, msg_type: &[u8], seq: u64, now: UtcTimestamp) {
    assert_eq!(m.msg_type(), msg_type);
    assert_eq!(m.uint(34).unwrap(), seq);
    assert_eq!(m.timestamp(52).unwrap(), now);
    assert_eq!(m.field(49), Some(&b"TESTCLIENT"[..]));
    assert_eq!(m.field(56), Some(&b"KRAKEN-TRD"[..]));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn new_order_single_round_trips(
        fixed in any::<bool>(),
        ord_type in ord_type(),
        tif in tif(),
        side in prop_oneof![Just(Side::Buy), Just(Side::Sell)],
        seq in 1u64..1_000_000_000,
        now in timestamp(),
        id in spot_id(),
        price in decimal(),
        stop in decimal(),
        qty in decimal(),
        display in decimal(),
        expire in timestamp(),
        iceberg in any::<bool>(),
    ) {
        let layout = if fixed { Layout::FIXED } else { Layout::Exact };
        let shape = OrderShape {
            ord_type,
            tif,
            iceberg,
            exec_inst: Some(b"E P s"),
            stp: Some(2),
            trigger_reference: Some(1),
            margin: true,
            alloc_account: Some(b"SUB-7"),
            ..OrderShape::limit(b"ETH/USD", side)
        };
        let mut o = outbound::new_order_single_with(HDR, &shape, layout, SlotWidths::SPOT).unwrap();
        o.patch(seq, now, id.as_bytes(), Some(price), qty).unwrap();
        if let Some(s) = o.stop_px {
            o.template.set_decimal(s, stop).unwrap();
        }
        if let Some(s) = o.display_qty {
            o.template.set_decimal(s, display).unwrap();
        }
        if let Some(s) = o.expire_time {
            o.template.set_timestamp(s, expire).unwrap();
        }
        let bytes = o.template.bytes();
        let mut idx = FieldIndex::<128>::new();
        let m = parsed(bytes, &mut idx);
        check_header(&m, b"D", seq, now);
        prop_assert_eq!(m.field(11), Some(id.as_bytes()));
        prop_assert_eq!(m.field(55), Some(&b"ETH/USD"[..]));
        prop_assert_eq!(m.field(54), Some(side.code()));
        prop_assert_eq!(m.field(40), Some(ord_type.code()));
        prop_assert_eq!(m.field(59), Some(tif.code()));
        prop_assert_eq!(m.field(18), Some(&b"E P s"[..]));
        prop_assert_eq!(m.field(7928), Some(&b"2"[..]));
        prop_assert_eq!(m.field(388), Some(&b"1"[..]));
        prop_assert_eq!(m.field(5001), Some(&b"1"[..]));
        prop_assert_eq!(m.field(79), Some(&b"SUB-7"[..]));
        same_decimal(&m, 38, qty);
        prop_assert_eq!(m.timestamp(60).unwrap(), now);
        prop_assert_eq!(m.field(44).is_some(), ord_type.has_price());
        if ord_type.has_price() {
            same_decimal(&m, 44, price);
        }
        prop_assert_eq!(m.field(99).is_some(), ord_type.has_stop());
        if ord_type.has_stop() {
            same_decimal(&m, 99, stop);
        }
        prop_assert_eq!(m.field(1138).is_some(), iceberg);
        if iceberg {
            same_decimal(&m, 1138, display);
        }
        prop_assert_eq!(m.field(126).is_some(), tif == TimeInForce::GoodTillDate);
        if tif == TimeInForce::GoodTillDate {
            prop_assert_eq!(m.timestamp(126).unwrap(), expire);
        }
    }

    #[test]
    fn cancel_replace_status_and_mass_cancel_round_trip(
        seq in 1u64..1_000_000_000,
        now in timestamp(),
        id in spot_id(),
        orig in spot_id(),
        order_id in "[A-Z0-9]{6}-[A-Z0-9]{5}-[A-Z0-9]{6}",
        price in decimal(),
        qty in decimal(),
        scope in 0u8..3,
        fixed in any::<bool>(),
    ) {
        let layout = if fixed { Layout::FIXED } else { Layout::Exact };
        let mut f = outbound::order_cancel_request_with(HDR, b"BTC/USD", Side::Sell, layout, SlotWidths::SPOT).unwrap();
        let mut g = outbound::order_cancel_replace_request_with(HDR, &OrderShape::limit(b"BTC/USD", Side::Sell), layout, SlotWidths::SPOT).unwrap();
        let (f_len, g_len) = (f.template.bytes().len(), g.template.bytes().len());
        let mut h = outbound::order_status_request(HDR, b"BTC/USD").unwrap();
        let scope = [MassCancelScope::Symbol(b"BTC/USD"), MassCancelScope::Session, MassCancelScope::Account][usize::from(scope)];
        let mut q = outbound::order_mass_cancel_request(HDR, scope).unwrap();
        for r in [&mut f, &mut g, &mut h, &mut q] {
            r.template.stamp(seq, now).unwrap();
            r.template.set(r.cl_ord_id, id.as_bytes()).unwrap();
            if let Some(s) = r.order_id { r.template.set(s, order_id.as_bytes()).unwrap(); }
            if let Some(s) = r.orig_cl_ord_id { r.template.set(s, orig.as_bytes()).unwrap(); }
            if let Some(s) = r.transact_time { r.template.set_timestamp(s, now).unwrap(); }
            if let Some(s) = r.qty { r.template.set_decimal(s, qty).unwrap(); }
            if let Some(s) = r.price { r.template.set_decimal(s, price).unwrap(); }
            let (bytes, seq, now) = stamp_values(&r.template, seq, now);
            let mut idx = FieldIndex::<128>::new();
            let m = parsed(&bytes, &mut idx);
            check_header(&m, m.msg_type(), seq, now);
            prop_assert_eq!(m.field(11), Some(id.as_bytes()));
            if r.order_id.is_some() { prop_assert_eq!(m.field(37), Some(order_id.as_bytes())); }
            if r.orig_cl_ord_id.is_some() { prop_assert_eq!(m.field(41), Some(orig.as_bytes())); }
            if r.transact_time.is_some() { prop_assert_eq!(m.timestamp(60).unwrap(), now); }
            if r.qty.is_some() { same_decimal(&m, 38, qty); }
            if r.price.is_some() { same_decimal(&m, 44, price); }
        }
        if fixed {
            // Spot ids (16) and txids (19) are the widths the fixed templates start with.
            prop_assert_eq!(f.template.bytes().len(), f_len);
            prop_assert_eq!(g.template.bytes().len(), g_len);
        }
        let mut idx = FieldIndex::<128>::new();
        let m = parsed(q.template.bytes(), &mut idx);
        let want: &[u8] = match scope { MassCancelScope::Symbol(_) => b"1", MassCancelScope::Session => b"6", MassCancelScope::Account => b"7" };
        prop_assert_eq!(m.field(530), Some(want));
    }

    #[test]
    fn session_messages_round_trip(
        seq in 1u64..1_000_000_000,
        now in timestamp(),
        nonce in 1_000_000_000_000u64..9_999_999_999_999,
        heartbeat in 1u32..3600,
        test_req_id in "[A-Za-z0-9-]{1,40}",
        begin in 1u64..1_000_000,
        new_seq in 1u64..1_000_000,
        reason in 0u32..20,
        ref_tag in 1u32..10_000,
        txt in text(),
    ) {
        let creds = tickwire_fix::kraken::Credentials::new("KEY", "c2VjcmV0").unwrap();
        let mut l = outbound::logon(HDR, &LogonShape {
            heartbeat_interval_s: heartbeat,
            reset_seq_num: true,
            api_key: Some(b"KEY"),
            cancel_on_disconnect: Some(false),
            client_id: Some(b"sibling"),
            force_reset_cl_ord_id: true,
        }).unwrap();
        l.template.stamp(seq, now).unwrap();
        let pw = creds.password(seq, b"TESTCLIENT", b"KRAKEN-TRD", nonce);
        l.template.set(l.password.unwrap(), &pw).unwrap();
        l.template.set_uint(l.nonce.unwrap(), nonce).unwrap();
        let mut idx = FieldIndex::<128>::new();
        let m = parsed(l.template.bytes(), &mut idx);
        check_header(&m, b"A", seq, now);
        prop_assert_eq!(m.uint(108).unwrap(), u64::from(heartbeat));
        prop_assert_eq!(m.uint(5025).unwrap(), nonce);
        prop_assert!(creds.verify(seq, b"TESTCLIENT", b"KRAKEN-TRD", nonce, m.field(554).unwrap()));
        prop_assert_eq!((m.field(8674), m.field(5030), m.field(109)), (Some(&b"1"[..]), Some(&b"Y"[..]), Some(&b"sibling"[..])));

        let (mut hb, id) = outbound::heartbeat(HDR, true).unwrap();
        hb.stamp(seq, now).unwrap();
        hb.set(id.unwrap(), test_req_id.as_bytes()).unwrap();
        let (mut tr, trid) = outbound::test_request(HDR).unwrap();
        tr.stamp(seq, now).unwrap();
        tr.set(trid, test_req_id.as_bytes()).unwrap();
        for t in [&hb, &tr] {
            let mut idx = FieldIndex::<128>::new();
            let m = parsed(t.bytes(), &mut idx);
            check_header(&m, m.msg_type(), seq, now);
            prop_assert_eq!(m.field(112), Some(test_req_id.as_bytes()));
        }

        let (mut rr, b, e) = outbound::resend_request(HDR).unwrap();
        rr.stamp(seq, now).unwrap();
        rr.set_uint(b, begin).unwrap();
        rr.set_uint(e, 0).unwrap();
        let mut idx = FieldIndex::<128>::new();
        let m = parsed(rr.bytes(), &mut idx);
        check_header(&m, b"2", seq, now);
        prop_assert_eq!((m.uint(7).unwrap(), m.uint(16).unwrap()), (begin, 0));

        for gap_fill in [true, false] {
            let (mut sr, orig, ns) = outbound::sequence_reset(HDR, gap_fill).unwrap();
            sr.stamp(seq, now).unwrap();
            if let Some(o) = orig { sr.set_timestamp(o, now).unwrap(); }
            sr.set_uint(ns, new_seq).unwrap();
            let mut idx = FieldIndex::<128>::new();
            let m = parsed(sr.bytes(), &mut idx);
            check_header(&m, b"4", seq, now);
            prop_assert_eq!(m.uint(36).unwrap(), new_seq);
            prop_assert_eq!(m.field(123), Some(if gap_fill { &b"Y"[..] } else { &b"N"[..] }));
        }

        let mut lo = outbound::logout(HDR, Some(txt.as_bytes())).unwrap();
        lo.stamp(seq, now).unwrap();
        let mut idx = FieldIndex::<128>::new();
        let m = parsed(lo.bytes(), &mut idx);
        prop_assert_eq!(m.field(58), Some(txt.as_bytes()));

        let mut rj = outbound::reject(HDR).unwrap();
        rj.template.stamp(seq, now).unwrap();
        rj.template.set_uint(rj.ref_seq, begin).unwrap();
        rj.template.set_uint(rj.ref_tag, u64::from(ref_tag)).unwrap();
        rj.template.set(rj.ref_msg_type, b"D").unwrap();
        rj.template.set_uint(rj.reason, u64::from(reason)).unwrap();
        rj.template.set(rj.text, txt.as_bytes()).unwrap();
        let mut idx = FieldIndex::<128>::new();
        let m = parsed(rj.template.bytes(), &mut idx);
        check_header(&m, b"3", seq, now);
        prop_assert_eq!((m.uint(45).unwrap(), m.uint(371).unwrap(), m.uint(373).unwrap()), (begin, u64::from(ref_tag), u64::from(reason)));
        prop_assert_eq!((m.field(372), m.field(58)), (Some(&b"D"[..]), Some(txt.as_bytes())));
    }

    #[test]
    fn venue_messages_round_trip(
        seq in 1u64..1_000_000_000,
        now in timestamp(),
        id in spot_id(),
        px in decimal(),
        qty in decimal(),
        cum in decimal(),
        fee in decimal(),
        txt in text(),
        n in 0usize..20,
        checksum in any::<u32>(),
    ) {
        let s = Stamp { sender: b"TESTCLIENT", target: b"KRAKEN-TRD", seq, sending_time: now };
        let mut buf = vec![0u8; 8192];
        let er = venue::ExecutionReport {
            avg_px: px, cl_ord_id: id.as_bytes(), cum_qty: cum, exec_id: b"E-1", exec_inst: Some(b"P"),
            fill: Some(venue::Fill { last_px: px, last_qty: qty, net_money: fee, secondary_exec_id: Some(seq), trade_id: Some(b"T-1"), liquidity: Some(1) }),
            order_id: b"OID", order_qty: qty, ord_status: b'1', ord_type: OrdType::StopLossLimit,
            orig_cl_ord_id: Some(b"41"), price: Some(px), side: Side::Sell, symbol: b"BTC/USD", text: Some(txt.as_bytes()),
            tif: TimeInForce::GoodTillDate, transact_time: now, alloc_account: Some(b"SUB"), stop_px: Some(qty),
            expire_time: Some(UtcTimestamp::from_millis(now.as_millis() / 1000 * 1000)),
            fee: Some(venue::MiscFee { amount: fee, currency: b"USD", fee_type: 4, basis: Some(2) }),
            exec_type: b'F', leaves_qty: cum, restatement_reason: Some(3), gross_trade_amt: fee,
            trigger_price: Some(px), display_qty: Some(qty),
        };
        let len = venue::execution_report(&mut Encoder::new(&mut buf), &s, &er).unwrap();
        let mut idx = FieldIndex::<128>::new();
        let m = parsed(&buf[..len], &mut idx);
        check_header(&m, b"8", seq, now);
        prop_assert_eq!((m.field(11), m.field(58)), (Some(id.as_bytes()), Some(txt.as_bytes())));
        for (tag, v) in [(6, px), (14, cum), (31, px), (32, qty), (38, qty), (44, px), (99, qty), (118, fee), (137, fee), (151, cum), (381, fee), (1102, px), (1138, qty)] {
            same_decimal(&m, tag, v);
        }
        prop_assert_eq!(m.timestamp(126).unwrap(), UtcTimestamp::from_millis(now.as_millis() / 1000 * 1000));
        prop_assert_eq!((m.uint(527).unwrap(), m.uint(5050).unwrap(), m.uint(891).unwrap()), (seq, 1, 2));

        let entries: Vec<venue::MdEntry<'_>> = (0..n).map(|i| venue::MdEntry {
            action: Some(b"012"[i % 3]),
            entry_type: b"01"[i % 2],
            id: b"B1",
            px: Decimal::new(px.mantissa + i as i64, px.scale),
            size: qty,
            time: if i % 2 == 0 { venue::EntryTime::TimeOnly(now) } else { venue::EntryTime::Full(now) },
            taker_ord_type: None,
            aggressor: None,
        }).collect();
        let len = venue::md_incremental(&mut Encoder::new(&mut buf), &s, b"MD-1", b"BTC/USD", &entries, Some(checksum)).unwrap();
        let mut idx = FieldIndex::<128>::new();
        let m = parsed(&buf[..len], &mut idx);
        prop_assert_eq!(m.uint(268).unwrap(), n as u64);
        prop_assert_eq!(m.uint(5041).unwrap(), u64::from(checksum));
        let group = m.group(268, 279, &[279, 269, 278, 270, 271, 273]);
        let mut count = 0;
        for (i, e) in group.enumerate() {
            same_decimal_entry(&e, 270, Decimal::new(px.mantissa + i as i64, px.scale));
            count += 1;
        }
        prop_assert_eq!(count, n);

        let br = venue::BusinessReject { ref_seq: seq, text: Some(txt.as_bytes()), ref_msg_type: b"D", ref_id: Some(id.as_bytes()), reason: 101 };
        let len = venue::business_reject(&mut Encoder::new(&mut buf), &s, &br).unwrap();
        let mut idx = FieldIndex::<128>::new();
        let m = parsed(&buf[..len], &mut idx);
        prop_assert_eq!((m.uint(45).unwrap(), m.uint(380).unwrap()), (seq, 101));
        prop_assert_eq!(m.field(379), Some(id.as_bytes()));
    }
}

fn same_decimal_entry(e: &tickwire_fix::message::Entry<'_>, tag: u32, want: Decimal) {
    assert_eq!(
        e.decimal(tag).unwrap().normalize(),
        want.normalize(),
        "tag {tag}"
    );
}
