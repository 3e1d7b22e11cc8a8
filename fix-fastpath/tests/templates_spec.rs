//! Every client message with an example in SPEC §7, built from a precompiled template patched
//! with the example's values, is byte-identical to the example; so is every venue message
//! written by `outbound::venue`. Also: the fixed layout (constant BodyLength) parses back to the
//! same values, slot overflow is a typed error, and patch + emit allocates nothing.
#![allow(clippy::unwrap_used)]

use tickwire_fix::decimal::Decimal;
use tickwire_fix::encode::Encoder;
use tickwire_fix::kraken::Credentials;
use tickwire_fix::message::{frame, FieldIndex, FrameLimits, Message};
use tickwire_fix::outbound::venue::{self, Stamp};
use tickwire_fix::outbound::{
    self, LogonShape, MarketDataShape, MassCancelScope, OrdType, OrderShape, Side,
};
use tickwire_fix::outbound::{SlotWidths, TimeInForce};
use tickwire_fix::template::{Header, Layout, Template, TemplateError};
use tickwire_fix::time::UtcTimestamp;

// The allocation test reads this thread's count (tests run on several threads at once).
#[global_allocator]
static GLOBAL: tickwire_testutil::CountingAlloc = tickwire_testutil::CountingAlloc;

const SECRET: &str =
    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==";

fn hdr<'a>(sender: &'a str, target: &'a str) -> Header<'a> {
    Header {
        begin_string: b"FIX.4.4",
        sender: sender.as_bytes(),
        target: target.as_bytes(),
        time_after_target: true,
    }
}

fn t(s: &str) -> UtcTimestamp {
    UtcTimestamp::parse(s.as_bytes()).unwrap()
}

fn d(s: &str) -> Decimal {
    Decimal::parse(s.as_bytes()).unwrap()
}

fn assert_spec(tpl: &Template, spec: &str) {
    assert_eq!(
        String::from_utf8_lossy(tpl.bytes()).replace('\x01', "|"),
        spec
    );
}

#[test]
fn m01_md_logon() {
    let mut l = outbound::logon(
        hdr("TESTCLIENT", "KRAKEN-MD"),
        &LogonShape {
            heartbeat_interval_s: 30,
            reset_seq_num: true,
            api_key: None,
            cancel_on_disconnect: None,
            client_id: None,
            force_reset_cl_ord_id: false,
        },
    )
    .unwrap();
    l.template.stamp(1, t("20260407-14:32:01.000")).unwrap();
    assert_spec(&l.template, "8=FIX.4.4|9=80|35=A|34=1|49=TESTCLIENT|56=KRAKEN-MD|52=20260407-14:32:01.000|98=0|108=30|141=Y|10=148|");
}

fn trading_logon(sender: &str, target: &str, spec: &str) {
    let creds = Credentials::new("FIXTESTKEY123", SECRET).unwrap();
    let mut l = outbound::logon(
        hdr(sender, target),
        &LogonShape {
            heartbeat_interval_s: 30,
            reset_seq_num: true,
            api_key: Some(b"FIXTESTKEY123"),
            cancel_on_disconnect: Some(true),
            client_id: None,
            force_reset_cl_ord_id: false,
        },
    )
    .unwrap();
    let nonce = 1_775_572_321_000u64;
    l.sign(
        &creds,
        sender.as_bytes(),
        target.as_bytes(),
        1,
        t("20260407-14:32:01.000"),
        nonce,
    )
    .unwrap();
    assert_spec(&l.template, spec);
}

#[test]
fn m02_spot_trading_logon() {
    trading_logon("TESTCLIENT", "KRAKEN-TRD", "8=FIX.4.4|9=218|35=A|34=1|49=TESTCLIENT|56=KRAKEN-TRD|52=20260407-14:32:01.000|98=0|108=30|141=Y|553=FIXTESTKEY123|554=oWWvxBVJx+RDAxuQBZYu7bh5lgpUeIyDPrn5LbJrUp3IbfRm/4ZhReD0tBgbtZwLTZC/fmqdipqo2LPDlyvMqg==|5025=1775572321000|8674=0|10=050|");
}

#[test]
fn m04_derivatives_trading_logon() {
    trading_logon("TESTCLIENT-DRV", "KRAKEN-DRV-TRD", "8=FIX.4.4|9=226|35=A|34=1|49=TESTCLIENT-DRV|56=KRAKEN-DRV-TRD|52=20260407-14:32:01.000|98=0|108=30|141=Y|553=FIXTESTKEY123|554=63bzJz91TJh7adlNUG7LXP85YBSUS2GaEZCyFtmZtXR3/Us1equH358cirzzrY30jNSFtWYK80RoX8QZVo252w==|5025=1775572321000|8674=0|10=197|");
}

#[test]
fn m05_new_order_single_post_only_stp() {
    let shape = OrderShape {
        exec_inst: Some(b"P"),
        stp: Some(1),
        ..OrderShape::limit(b"BTC/USD", Side::Buy)
    };
    let mut o = outbound::new_order_single(hdr("TESTCLIENT", "KRAKEN-TRD"), &shape).unwrap();
    o.patch(
        2,
        t("20260407-14:32:05.000"),
        b"1775572325000000",
        Some(d("84000.0")),
        d("0.01"),
    )
    .unwrap();
    assert_spec(&o.template, "8=FIX.4.4|9=165|35=D|34=2|49=TESTCLIENT|56=KRAKEN-TRD|52=20260407-14:32:05.000|11=1775572325000000|55=BTC/USD|54=1|40=2|44=84000.0|38=0.01|59=1|18=P|7928=1|60=20260407-14:32:05.000|10=067|");
    // Patch again with other values and back: the fast path restores the same bytes.
    o.patch(
        3,
        t("20260407-14:32:06.123"),
        b"1775572326123000",
        Some(d("84000.5")),
        d("0.02"),
    )
    .unwrap();
    o.patch(
        2,
        t("20260407-14:32:05.000"),
        b"1775572325000000",
        Some(d("84000.0")),
        d("0.01"),
    )
    .unwrap();
    assert_spec(&o.template, "8=FIX.4.4|9=165|35=D|34=2|49=TESTCLIENT|56=KRAKEN-TRD|52=20260407-14:32:05.000|11=1775572325000000|55=BTC/USD|54=1|40=2|44=84000.0|38=0.01|59=1|18=P|7928=1|60=20260407-14:32:05.000|10=067|");
}

#[test]
fn m16_derivatives_new_order_single() {
    let shape = OrderShape {
        exec_inst: Some(b"P s"),
        ..OrderShape::limit(b"PF_XBTUSD", Side::Sell)
    };
    let mut o =
        outbound::new_order_single(hdr("TESTCLIENT-DRV", "KRAKEN-DRV-TRD"), &shape).unwrap();
    o.patch(
        2,
        t("20260407-14:32:05.000"),
        b"a17cc3c5-3d20-4a1b-8c2d-3e4f5a6b7c8d",
        Some(d("85000")),
        d("0.001"),
    )
    .unwrap();
    assert_spec(&o.template, "8=FIX.4.4|9=189|35=D|34=2|49=TESTCLIENT-DRV|56=KRAKEN-DRV-TRD|52=20260407-14:32:05.000|11=a17cc3c5-3d20-4a1b-8c2d-3e4f5a6b7c8d|55=PF_XBTUSD|54=2|40=2|44=85000|38=0.001|59=1|18=P s|60=20260407-14:32:05.000|10=062|");
}

#[test]
fn m08_order_cancel_replace_request() {
    let shape = OrderShape {
        exec_inst: Some(b"P"),
        ..OrderShape::limit(b"BTC/USD", Side::Buy)
    };
    let mut r =
        outbound::order_cancel_replace_request(hdr("TESTCLIENT", "KRAKEN-TRD"), &shape).unwrap();
    let tpl = &mut r.template;
    tpl.stamp(3, t("20260407-14:32:10.000")).unwrap();
    tpl.set(r.cl_ord_id, b"1775572330000000").unwrap();
    tpl.set(r.order_id.unwrap(), b"O3KQ7T-XH2LM-ZP4WUA")
        .unwrap();
    tpl.set(r.orig_cl_ord_id.unwrap(), b"1775572325000000")
        .unwrap();
    tpl.set_timestamp(r.transact_time.unwrap(), t("20260407-14:32:10.000"))
        .unwrap();
    tpl.set_decimal(r.qty.unwrap(), d("0.008")).unwrap();
    tpl.set_decimal(r.price.unwrap(), d("84000.0")).unwrap();
    assert_spec(tpl, "8=FIX.4.4|9=202|35=G|34=3|49=TESTCLIENT|56=KRAKEN-TRD|52=20260407-14:32:10.000|11=1775572330000000|37=O3KQ7T-XH2LM-ZP4WUA|41=1775572325000000|54=1|55=BTC/USD|60=20260407-14:32:10.000|38=0.008|40=2|44=84000.0|59=1|18=P|10=209|");
}

#[test]
fn m10_order_cancel_request() {
    let mut r =
        outbound::order_cancel_request(hdr("TESTCLIENT", "KRAKEN-TRD"), b"BTC/USD", Side::Buy)
            .unwrap();
    let tpl = &mut r.template;
    tpl.stamp(4, t("20260407-14:32:15.000")).unwrap();
    tpl.set(r.cl_ord_id, b"1775572335000000").unwrap();
    tpl.set(r.order_id.unwrap(), b"O3KQ7T-XH2LM-ZP4WUA")
        .unwrap();
    tpl.set(r.orig_cl_ord_id.unwrap(), b"1775572330000000")
        .unwrap();
    tpl.set_timestamp(r.transact_time.unwrap(), t("20260407-14:32:15.000"))
        .unwrap();
    assert_spec(tpl, "8=FIX.4.4|9=167|35=F|34=4|49=TESTCLIENT|56=KRAKEN-TRD|52=20260407-14:32:15.000|11=1775572335000000|37=O3KQ7T-XH2LM-ZP4WUA|41=1775572330000000|54=1|55=BTC/USD|60=20260407-14:32:15.000|10=159|");
}

#[test]
fn m15_order_mass_cancel_request() {
    let mut r = outbound::order_mass_cancel_request(
        hdr("TESTCLIENT", "KRAKEN-TRD"),
        MassCancelScope::Symbol(b"BTC/USD"),
    )
    .unwrap();
    let tpl = &mut r.template;
    tpl.stamp(8, t("20260407-14:32:20.000")).unwrap();
    tpl.set(r.cl_ord_id, b"1775572340000000").unwrap();
    tpl.set_timestamp(r.transact_time.unwrap(), t("20260407-14:32:20.000"))
        .unwrap();
    assert_spec(tpl, "8=FIX.4.4|9=125|35=q|34=8|49=TESTCLIENT|56=KRAKEN-TRD|52=20260407-14:32:20.000|11=1775572340000000|55=BTC/USD|60=20260407-14:32:20.000|530=1|10=063|");
}

#[test]
fn m17_market_data_request() {
    let mut tpl = outbound::market_data_request(
        hdr("TESTCLIENT", "KRAKEN-MD"),
        &MarketDataShape {
            request_id: b"MD-BTCUSD-1",
            subscribe: true,
            depth: 10,
            aggregated: true,
            trades: true,
            symbols: &[b"BTC/USD"],
        },
    )
    .unwrap();
    tpl.stamp(2, t("20260407-14:32:02.000")).unwrap();
    assert_spec(&tpl, "8=FIX.4.4|9=144|35=V|34=2|49=TESTCLIENT|56=KRAKEN-MD|52=20260407-14:32:02.000|262=MD-BTCUSD-1|263=1|264=10|265=1|266=Y|267=3|269=0|269=1|269=2|146=1|55=BTC/USD|10=187|");
}

#[test]
fn s02_heartbeat_answering_test_request() {
    let (mut tpl, id) = outbound::heartbeat(hdr("TESTCLIENT", "KRAKEN-TRD"), true).unwrap();
    tpl.stamp(9, t("20260407-14:33:20.004")).unwrap();
    tpl.set(id.unwrap(), b"TR-1775572400").unwrap();
    assert_spec(&tpl, "8=FIX.4.4|9=81|35=0|34=9|49=TESTCLIENT|56=KRAKEN-TRD|52=20260407-14:33:20.004|112=TR-1775572400|10=080|");
}

#[test]
fn s03_resend_request() {
    let (mut tpl, begin, end) = outbound::resend_request(hdr("TESTCLIENT", "KRAKEN-TRD")).unwrap();
    tpl.stamp(10, t("20260407-14:33:21.000")).unwrap();
    tpl.set_uint(begin, 9).unwrap();
    tpl.set_uint(end, 0).unwrap();
    assert_spec(&tpl, "8=FIX.4.4|9=73|35=2|34=10|49=TESTCLIENT|56=KRAKEN-TRD|52=20260407-14:33:21.000|7=9|16=0|10=080|");
}

#[test]
fn s06_instrument_list_request() {
    let mut tpl = outbound::instrument_list_request(
        hdr("TESTCLIENT", "KRAKEN-MD"),
        b"IL-1",
        Some(b"BTC/USD"),
    )
    .unwrap();
    tpl.stamp(3, t("20260407-14:32:01.500")).unwrap();
    assert_spec(&tpl, "8=FIX.4.4|9=94|35=x|34=3|49=TESTCLIENT|56=KRAKEN-MD|52=20260407-14:32:01.500|263=0|320=IL-1|559=0|55=BTC/USD|10=013|");
}

#[test]
fn every_other_kind_frames_correctly() {
    let h = hdr("TESTCLIENT", "KRAKEN-TRD");
    let mut all: Vec<Template> = vec![
        outbound::order_status_request(h, b"BTC/USD")
            .unwrap()
            .template,
        outbound::order_mass_cancel_request(h, MassCancelScope::Account)
            .unwrap()
            .template,
        outbound::order_mass_cancel_request(h, MassCancelScope::Session)
            .unwrap()
            .template,
        outbound::test_request(h).unwrap().0,
        outbound::sequence_reset(h, true).unwrap().0,
        outbound::sequence_reset(h, false).unwrap().0,
        outbound::logout(h, Some(b"bye")).unwrap(),
        outbound::reject(h).unwrap().template,
        outbound::trading_session_status_request(h, b"TS-1", true).unwrap(),
        outbound::instrument_list_request_by_type(h, b"IL-2", b"CASH").unwrap(),
        outbound::instrument_list_request(h, b"IL-3", None).unwrap(),
    ];
    for kind in [
        OrdType::Market,
        OrdType::StopLoss,
        OrdType::StopLossLimit,
        OrdType::TakeProfit,
        OrdType::TakeProfitLimit,
        OrdType::TrailingStop,
        OrdType::TrailingStopLimit,
    ] {
        let shape = OrderShape {
            ord_type: kind,
            iceberg: true,
            expire_time: true,
            effective_time: true,
            valid_until: true,
            margin: true,
            trigger_reference: Some(5),
            alloc_account: Some(b"SUB-1"),
            exec_inst: Some(b"E P"),
            ..OrderShape::limit(b"BTC/USD", Side::Sell)
        };
        let o = outbound::new_order_single(h, &shape).unwrap();
        assert_eq!(o.price.is_some(), kind.has_price());
        assert_eq!(o.stop_px.is_some(), kind.has_stop());
        all.push(o.template);
    }
    for (i, tpl) in all.iter_mut().enumerate() {
        tpl.stamp(1000 + i as u64, t("20260407-14:32:05.000"))
            .unwrap();
        let b = tpl.bytes();
        assert_eq!(
            frame(b, FrameLimits::default()),
            Ok(Some(b.len())),
            "template {i}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Fixed layout, overflow, allocation.

fn m05_shape() -> OrderShape<'static> {
    OrderShape {
        exec_inst: Some(b"P"),
        stp: Some(1),
        ..OrderShape::limit(b"BTC/USD", Side::Buy)
    }
}

#[test]
fn fixed_layout_new_order_single_parses_back_with_constant_body_length() {
    let mut o = outbound::new_order_single_with(
        hdr("TESTCLIENT", "KRAKEN-TRD"),
        &m05_shape(),
        Layout::FIXED,
        SlotWidths::default(),
    )
    .unwrap();
    let len = o.template.bytes().len();
    let cases = [
        (
            2u64,
            "20260407-14:32:05.000",
            "1775572325000000",
            "84000.0",
            "0.01",
        ),
        (
            10,
            "20260407-14:32:05.999",
            "1775572325999000",
            "9.12345678",
            "1000000",
        ),
        (
            999_999_999,
            "20260407-23:59:59.001",
            "1775606399001000",
            "123456789012.5",
            "0.00000001",
        ),
    ];
    for (seq, now, id, px, qty) in cases {
        let bytes = o
            .patch(seq, t(now), id.as_bytes(), Some(d(px)), d(qty))
            .unwrap();
        assert_eq!(bytes.len(), len, "BodyLength and size never change");
        assert_eq!(frame(bytes, FrameLimits::default()), Ok(Some(len)));
        let mut idx = FieldIndex::<64>::new();
        let m = Message::parse(bytes, &mut idx).unwrap();
        assert_eq!(m.uint(34).unwrap(), seq);
        assert_eq!(m.timestamp(52).unwrap(), t(now));
        assert_eq!(m.timestamp(60).unwrap(), t(now));
        assert_eq!(m.field(11).unwrap(), id.as_bytes());
        assert_eq!(m.decimal(44).unwrap().normalize(), d(px).normalize());
        assert_eq!(m.decimal(38).unwrap().normalize(), d(qty).normalize());
        assert_eq!(m.field(18).unwrap(), b"P");
    }
    let text = String::from_utf8_lossy(o.template.bytes()).replace('\x01', "|");
    assert!(text.contains("|34=999999999|"), "{text}");
    o.patch(
        2,
        t("20260407-14:32:05.000"),
        b"1775572325000000",
        Some(d("84000.0")),
        d("0.01"),
    )
    .unwrap();
    let text = String::from_utf8_lossy(o.template.bytes()).replace('\x01', "|");
    assert!(
        text.contains("|34=000000002|")
            && text.contains("|44=00000000084000.0|")
            && text.contains("|38=0000000000000.01|"),
        "{text}"
    );
}

#[test]
fn slot_overflow_is_a_typed_error_never_truncation() {
    let mut o = outbound::new_order_single_with(
        hdr("TESTCLIENT", "KRAKEN-TRD"),
        &m05_shape(),
        Layout::Fixed { seq_width: 4 },
        SlotWidths {
            price: 8,
            qty: 6,
            cl_ord_id: 16,
        },
    )
    .unwrap();
    let now = t("20260407-14:32:05.000");
    o.patch(2, now, b"1775572325000000", Some(d("84000.0")), d("0.01"))
        .unwrap();
    let before = o.template.bytes().to_vec();
    // Price too wide.
    assert_eq!(
        o.patch(3, now, b"1775572325000001", Some(d("184000.00")), d("0.01"))
            .map(|_| ()),
        Err(TemplateError::SlotOverflow {
            tag: 44,
            width: 8,
            needed: 9
        })
    );
    // ClOrdID longer than a UUID.
    assert_eq!(
        o.patch(3, now, &[b'7'; 37], Some(d("84000.0")), d("0.01"))
            .map(|_| ()),
        Err(TemplateError::SlotOverflow {
            tag: 11,
            width: 36,
            needed: 37
        })
    );
    // Sequence number beyond its width.
    assert_eq!(
        o.patch(
            10_000,
            now,
            b"1775572325000001",
            Some(d("84000.0")),
            d("0.01")
        )
        .map(|_| ()),
        Err(TemplateError::SlotOverflow {
            tag: 34,
            width: 4,
            needed: 5
        })
    );
    // Quantity too wide.
    assert_eq!(
        o.patch(
            3,
            now,
            b"1775572325000001",
            Some(d("84000.0")),
            d("0.000001")
        )
        .map(|_| ()),
        Err(TemplateError::SlotOverflow {
            tag: 38,
            width: 6,
            needed: 8
        })
    );
    // A refused patch may have written earlier slots, but the message is still a valid frame.
    let b = o.template.bytes();
    assert_eq!(b.len(), before.len());
    assert_eq!(frame(b, FrameLimits::default()), Ok(Some(b.len())));
    // Exact layout: overflow too.
    let mut e = outbound::new_order_single(hdr("TESTCLIENT", "KRAKEN-TRD"), &m05_shape()).unwrap();
    assert!(e
        .patch(2, now, b"1", Some(Decimal::new(i64::MAX, 0)), d("1"))
        .is_ok());
    assert_eq!(
        e.patch(2, now, &[b'1'; 40], Some(d("1")), d("1"))
            .map(|_| ()),
        Err(TemplateError::SlotOverflow {
            tag: 11,
            width: 36,
            needed: 40
        })
    );
}

#[test]
fn patch_and_emit_new_order_single_allocates_nothing() {
    for layout in [Layout::FIXED, Layout::Exact] {
        let mut o = outbound::new_order_single_with(
            hdr("TESTCLIENT", "KRAKEN-TRD"),
            &OrderShape {
                tif: TimeInForce::ImmediateOrCancel,
                ..m05_shape()
            },
            layout,
            SlotWidths::default(),
        )
        .unwrap();
        let mut ids = tickwire_fix::kraken::SpotClOrdId::new(0);
        let mut out = [0u8; 512];
        let mut id_text = [0u8; 20];
        let mut total = 0usize;
        let start = t("20260407-14:32:05.000");
        let before = tickwire_testutil::this_thread();
        for i in 0..100_000u64 {
            let now = UtcTimestamp::from_nanos(start.nanos + (i as i64) * 1_337_000);
            let id = ids.next(now).unwrap();
            let n = tickwire_fix::encode::write_u64(&mut id_text, id).unwrap();
            let price = Decimal::new(840_000 + (i % 97) as i64, 1);
            let qty = Decimal::new(1 + (i % 13) as i64, 3);
            o.patch(i + 2, now, &id_text[..n], Some(price), qty)
                .unwrap();
            total += o.template.copy_to(&mut out).unwrap();
        }
        assert_eq!(tickwire_testutil::this_thread() - before, 0, "{layout:?}");
        assert!(total > 100_000 * 100);
    }
}

// ---------------------------------------------------------------------------------------------
// Venue (acceptor) messages.

fn stamp<'a>(sender: &'a str, target: &'a str, seq: u64, now: &str) -> Stamp<'a> {
    Stamp {
        sender: sender.as_bytes(),
        target: target.as_bytes(),
        seq,
        sending_time: t(now),
    }
}

fn encoded(
    f: impl FnOnce(&mut Encoder<'_>) -> Result<usize, tickwire_fix::encode::EncodeError>,
) -> String {
    let mut buf = [0u8; 1024];
    let n = f(&mut Encoder::new(&mut buf)).unwrap();
    String::from_utf8_lossy(&buf[..n]).replace('\x01', "|")
}

#[test]
fn m03_logon_ack() {
    let s = stamp("KRAKEN-TRD", "TESTCLIENT", 1, "20260407-14:32:01.012");
    assert_eq!(
        encoded(|e| venue::logon_ack(e, &s, 30, true)),
        "8=FIX.4.4|9=81|35=A|34=1|49=KRAKEN-TRD|56=TESTCLIENT|52=20260407-14:32:01.012|98=0|108=30|141=Y|10=241|"
    );
}

fn er_base() -> venue::ExecutionReport<'static> {
    venue::ExecutionReport {
        avg_px: d("0"),
        cl_ord_id: b"1775572325000000",
        cum_qty: d("0"),
        exec_id: b"SIMX0000001:TRD001",
        exec_inst: None,
        fill: None,
        order_id: b"O3KQ7T-XH2LM-ZP4WUA",
        order_qty: d("0.01"),
        ord_status: b'0',
        ord_type: OrdType::Limit,
        orig_cl_ord_id: None,
        price: Some(d("84000.0")),
        side: Side::Buy,
        symbol: b"BTC/USD",
        text: None,
        tif: TimeInForce::GoodTillCancel,
        transact_time: t("20260407-14:32:05.003"),
        alloc_account: None,
        stop_px: None,
        expire_time: None,
        fee: None,
        exec_type: b'0',
        leaves_qty: d("0.01"),
        restatement_reason: None,
        gross_trade_amt: d("0"),
        trigger_price: None,
        display_qty: None,
    }
}

#[test]
fn m06_m07_m09_m11_execution_reports() {
    let m06 = venue::ExecutionReport {
        exec_inst: Some(b"P"),
        text: Some(b"buy 0.01 BTC/USD @ limit 84000.0"),
        ..er_base()
    };
    let s = stamp("KRAKEN-TRD", "TESTCLIENT", 2, "20260407-14:32:05.004");
    assert_eq!(encoded(|e| venue::execution_report(e, &s, &m06)), "8=FIX.4.4|9=274|35=8|34=2|49=KRAKEN-TRD|56=TESTCLIENT|52=20260407-14:32:05.004|6=0|11=1775572325000000|14=0|17=SIMX0000001:TRD001|18=P|37=O3KQ7T-XH2LM-ZP4WUA|38=0.01|39=0|40=2|44=84000.0|54=1|55=BTC/USD|58=buy 0.01 BTC/USD @ limit 84000.0|59=1|60=20260407-14:32:05.003|150=0|151=0.01|381=0|10=190|");

    let m07 = venue::ExecutionReport {
        avg_px: d("84000.0"),
        cum_qty: d("0.004"),
        exec_id: b"SIMX0000002:TRD001",
        fill: Some(venue::Fill {
            last_px: d("84000.0"),
            last_qty: d("0.004"),
            net_money: d("336.0"),
            secondary_exec_id: Some(78_211_235),
            trade_id: Some(b"THVRQM-33VKH-UCI7BS"),
            liquidity: Some(0),
        }),
        ord_status: b'1',
        transact_time: t("20260407-14:32:07.249"),
        fee: Some(venue::MiscFee {
            amount: d("0.5376"),
            currency: b"USD",
            fee_type: 4,
            basis: None,
        }),
        exec_type: b'F',
        leaves_qty: d("0.006"),
        gross_trade_amt: d("336.0"),
        ..er_base()
    };
    let s = stamp("KRAKEN-TRD", "TESTCLIENT", 3, "20260407-14:32:07.250");
    assert_eq!(encoded(|e| venue::execution_report(e, &s, &m07)), "8=FIX.4.4|9=354|35=8|34=3|49=KRAKEN-TRD|56=TESTCLIENT|52=20260407-14:32:07.250|6=84000.0|11=1775572325000000|14=0.004|17=SIMX0000002:TRD001|31=84000.0|32=0.004|37=O3KQ7T-XH2LM-ZP4WUA|38=0.01|39=1|40=2|44=84000.0|54=1|55=BTC/USD|59=1|60=20260407-14:32:07.249|118=336.0|136=1|137=0.5376|138=USD|139=4|150=F|151=0.006|381=336.0|527=78211235|1003=THVRQM-33VKH-UCI7BS|5050=0|10=014|");

    let m09 = venue::ExecutionReport {
        avg_px: d("84000.0"),
        cl_ord_id: b"1775572330000000",
        cum_qty: d("0.004"),
        exec_id: b"SIMX0000003:TRD001",
        order_qty: d("0.008"),
        ord_status: b'5',
        orig_cl_ord_id: Some(b"1775572325000000"),
        transact_time: t("20260407-14:32:10.002"),
        exec_type: b'5',
        leaves_qty: d("0.004"),
        gross_trade_amt: d("336.0"),
        ..er_base()
    };
    let s = stamp("KRAKEN-TRD", "TESTCLIENT", 4, "20260407-14:32:10.003");
    assert_eq!(encoded(|e| venue::execution_report(e, &s, &m09)), "8=FIX.4.4|9=269|35=8|34=4|49=KRAKEN-TRD|56=TESTCLIENT|52=20260407-14:32:10.003|6=84000.0|11=1775572330000000|14=0.004|17=SIMX0000003:TRD001|37=O3KQ7T-XH2LM-ZP4WUA|38=0.008|39=5|40=2|41=1775572325000000|44=84000.0|54=1|55=BTC/USD|59=1|60=20260407-14:32:10.002|150=5|151=0.004|381=336.0|10=179|");

    let m11 = venue::ExecutionReport {
        cl_ord_id: b"1775572335000000",
        exec_id: b"SIMX0000004:TRD001",
        ord_status: b'4',
        orig_cl_ord_id: Some(b"1775572330000000"),
        text: Some(b"Order canceled by user"),
        transact_time: t("20260407-14:32:15.001"),
        exec_type: b'4',
        leaves_qty: d("0"),
        ..m09
    };
    let s = stamp("KRAKEN-TRD", "TESTCLIENT", 5, "20260407-14:32:15.002");
    assert_eq!(encoded(|e| venue::execution_report(e, &s, &m11)), "8=FIX.4.4|9=291|35=8|34=5|49=KRAKEN-TRD|56=TESTCLIENT|52=20260407-14:32:15.002|6=84000.0|11=1775572335000000|14=0.004|17=SIMX0000004:TRD001|37=O3KQ7T-XH2LM-ZP4WUA|38=0.008|39=4|40=2|41=1775572330000000|44=84000.0|54=1|55=BTC/USD|58=Order canceled by user|59=1|60=20260407-14:32:15.001|150=4|151=0|381=336.0|10=197|");
}

#[test]
fn m12_m13_business_rejects_and_m14_session_reject() {
    let s = stamp("KRAKEN-TRD", "TESTCLIENT", 6, "20260407-14:32:16.001");
    let r = venue::BusinessReject {
        ref_seq: 5,
        text: Some(b"EOrder:Unknown order"),
        ref_msg_type: b"F",
        ref_id: Some(b"1775572336000000"),
        reason: 101,
    };
    assert_eq!(encoded(|e| venue::business_reject(e, &s, &r)), "8=FIX.4.4|9=127|35=j|34=6|49=KRAKEN-TRD|56=TESTCLIENT|52=20260407-14:32:16.001|45=5|58=EOrder:Unknown order|372=F|379=1775572336000000|380=101|10=214|");
    let s = stamp("KRAKEN-TRD", "TESTCLIENT", 7, "20260407-14:32:17.001");
    let r = venue::BusinessReject {
        ref_seq: 6,
        text: Some(b"EOrder:Rate limit exceeded"),
        ref_msg_type: b"D",
        ref_id: Some(b"1775572337000000"),
        reason: 0,
    };
    assert_eq!(encoded(|e| venue::business_reject(e, &s, &r)), "8=FIX.4.4|9=131|35=j|34=7|49=KRAKEN-TRD|56=TESTCLIENT|52=20260407-14:32:17.001|45=6|58=EOrder:Rate limit exceeded|372=D|379=1775572337000000|380=0|10=103|");
    let s = stamp("KRAKEN-TRD", "TESTCLIENT", 8, "20260407-14:32:18.001");
    let r = venue::SessionReject {
        ref_seq: 7,
        ref_tag: Some(54),
        ref_msg_type: b"D",
        reason: 1,
        text: Some(b"Missing mandatory field: Side (54)"),
    };
    assert_eq!(encoded(|e| venue::reject(e, &s, &r)), "8=FIX.4.4|9=125|35=3|34=8|49=KRAKEN-TRD|56=TESTCLIENT|52=20260407-14:32:18.001|45=7|371=54|372=D|373=1|58=Missing mandatory field: Side (54)|10=116|");
}

fn entry(
    action: Option<u8>,
    kind: u8,
    id: &'static str,
    px: &str,
    size: &str,
    time: &str,
) -> venue::MdEntry<'static> {
    venue::MdEntry {
        action,
        entry_type: kind,
        id: id.as_bytes(),
        px: d(px),
        size: d(size),
        time: venue::EntryTime::TimeOnly(t(&format!("20260407-{time}"))),
        taker_ord_type: None,
        aggressor: None,
    }
}

#[test]
fn m18_m19_m20_market_data() {
    let s = stamp("KRAKEN-MD", "TESTCLIENT", 2, "20260407-14:32:02.004");
    let snapshot = [
        entry(None, b'1', "O84000.1", "84000.1", "0.5", "14:32:01.870"),
        entry(None, b'1', "O84000.5", "84000.5", "1.25", "14:31:58.112"),
        entry(None, b'1', "O84001.0", "84001.0", "0.002", "14:31:40.005"),
        entry(None, b'0', "B84000.0", "84000.0", "0.75", "14:32:01.990"),
        entry(None, b'0', "B83999.9", "83999.9", "2.0", "14:31:59.431"),
        entry(None, b'0', "B83999.5", "83999.5", "0.1", "14:31:12.777"),
    ];
    assert_eq!(encoded(|e| venue::md_snapshot(e, &s, b"MD-BTCUSD-1", b"BTC/USD", &snapshot)), "8=FIX.4.4|9=435|35=W|34=2|49=KRAKEN-MD|56=TESTCLIENT|52=20260407-14:32:02.004|55=BTC/USD|262=MD-BTCUSD-1|268=6|269=1|278=O84000.1|270=84000.1|271=0.5|273=14:32:01.870|269=1|278=O84000.5|270=84000.5|271=1.25|273=14:31:58.112|269=1|278=O84001.0|270=84001.0|271=0.002|273=14:31:40.005|269=0|278=B84000.0|270=84000.0|271=0.75|273=14:32:01.990|269=0|278=B83999.9|270=83999.9|271=2.0|273=14:31:59.431|269=0|278=B83999.5|270=83999.5|271=0.1|273=14:31:12.777|10=018|");

    let s = stamp("KRAKEN-MD", "TESTCLIENT", 3, "20260407-14:32:03.120");
    let inc = [
        entry(
            Some(b'2'),
            b'1',
            "O84000.1",
            "84000.1",
            "0.0",
            "14:32:03.101",
        ),
        entry(
            Some(b'0'),
            b'1',
            "O84000.3",
            "84000.3",
            "0.25",
            "14:32:03.102",
        ),
        entry(
            Some(b'1'),
            b'0',
            "B84000.0",
            "84000.0",
            "0.5",
            "14:32:03.104",
        ),
    ];
    assert_eq!(encoded(|e| venue::md_incremental(e, &s, b"MD-BTCUSD-1", b"BTC/USD", &inc, Some(1_617_386_200))), "8=FIX.4.4|9=298|35=X|34=3|49=KRAKEN-MD|56=TESTCLIENT|52=20260407-14:32:03.120|55=BTC/USD|262=MD-BTCUSD-1|268=3|279=2|269=1|278=O84000.1|270=84000.1|271=0.0|273=14:32:03.101|279=0|269=1|278=O84000.3|270=84000.3|271=0.25|273=14:32:03.102|279=1|269=0|278=B84000.0|270=84000.0|271=0.5|273=14:32:03.104|5041=1617386200|10=194|");

    let s = stamp("KRAKEN-MD", "TESTCLIENT", 4, "20260407-14:32:03.121");
    let trade = [venue::MdEntry {
        taker_ord_type: Some(OrdType::Limit),
        aggressor: Some(Side::Buy),
        ..entry(
            Some(b'0'),
            b'2',
            "78211236",
            "84000.1",
            "0.5",
            "14:32:03.101",
        )
    }];
    assert_eq!(encoded(|e| venue::md_incremental(e, &s, b"MD-BTCUSD-1", b"BTC/USD", &trade, None)), "8=FIX.4.4|9=169|35=X|34=4|49=KRAKEN-MD|56=TESTCLIENT|52=20260407-14:32:03.121|55=BTC/USD|262=MD-BTCUSD-1|268=1|279=0|269=2|278=78211236|270=84000.1|271=0.5|273=14:32:03.101|40=2|2446=1|10=147|");
}

#[test]
fn s01_s04_s05_s07_session_and_reference_messages() {
    let s = stamp("KRAKEN-TRD", "TESTCLIENT", 9, "20260407-14:33:20.000");
    assert_eq!(encoded(|e| venue::test_request(e, &s, b"TR-1775572400")), "8=FIX.4.4|9=81|35=1|34=9|49=KRAKEN-TRD|56=TESTCLIENT|52=20260407-14:33:20.000|112=TR-1775572400|10=077|");
    let s = stamp("KRAKEN-TRD", "TESTCLIENT", 9, "20260407-14:33:21.002");
    assert_eq!(encoded(|e| venue::gap_fill(e, &s, t("20260407-14:33:20.000"), 10)), "8=FIX.4.4|9=106|35=4|34=9|49=KRAKEN-TRD|56=TESTCLIENT|52=20260407-14:33:21.002|43=Y|122=20260407-14:33:20.000|123=Y|36=10|10=253|");
    let s = stamp("KRAKEN-TRD", "TESTCLIENT", 1, "20260407-14:32:01.010");
    assert_eq!(encoded(|e| venue::logout(e, &s, Some(b"Logon failed: invalid credentials"))), "8=FIX.4.4|9=100|35=5|34=1|49=KRAKEN-TRD|56=TESTCLIENT|52=20260407-14:32:01.010|58=Logon failed: invalid credentials|10=227|");
    let s = stamp("KRAKEN-MD", "TESTCLIENT", 3, "20260407-14:32:01.503");
    let btc = venue::Instrument {
        symbol: b"BTC/USD",
        min_trade_vol: d("0.00000001"),
        qty_precision: 8,
        qty_min: d("0.0001"),
        qty_max: None,
        min_cost: Some(d("0.5")),
        price_precision: 1,
        md_price_precision: Some(1),
        tick_size: d("0.1"),
        status: 1,
    };
    assert_eq!(encoded(|e| venue::instrument_list(e, &s, b"IL-1", b"1775572321503000001", 0, &[btc])), "8=FIX.4.4|9=191|35=y|34=3|49=KRAKEN-MD|56=TESTCLIENT|52=20260407-14:32:01.503|320=IL-1|322=1775572321503000001|560=0|146=1|55=BTC/USD|562=0.00000001|5010=8|5011=0.0001|5013=0.5|2349=1|5052=1|5022=0.1|5032=1|10=205|");
}

#[test]
fn venue_messages_without_spec_examples_frame_and_read_back() {
    let s = stamp("KRAKEN-MD", "TESTCLIENT", 12, "20260407-14:32:01.503");
    let mut buf = [0u8; 512];
    let n = venue::md_request_reject(
        &mut Encoder::new(&mut buf),
        &s,
        b"MD-1",
        b'0',
        Some(b"Unknown symbol: FOO/BAR"),
    )
    .unwrap();
    let mut idx = FieldIndex::<64>::new();
    let m = Message::parse(&buf[..n], &mut idx).unwrap();
    assert_eq!(frame(&buf[..n], FrameLimits::default()), Ok(Some(n)));
    assert_eq!(
        (m.msg_type(), m.field(262), m.field(281)),
        (&b"Y"[..], Some(&b"MD-1"[..]), Some(&b"0"[..]))
    );
    let n = venue::trading_session_status(
        &mut Encoder::new(&mut buf),
        &s,
        b"TS-1",
        b"SESSION",
        101,
        None,
    )
    .unwrap();
    let mut idx = FieldIndex::<64>::new();
    let m = Message::parse(&buf[..n], &mut idx).unwrap();
    assert_eq!(frame(&buf[..n], FrameLimits::default()), Ok(Some(n)));
    assert_eq!((m.msg_type(), m.uint(340).unwrap()), (&b"h"[..], 101));
    let n = venue::heartbeat(&mut Encoder::new(&mut buf), &s, None).unwrap();
    assert_eq!(frame(&buf[..n], FrameLimits::default()), Ok(Some(n)));
    // A value with SOH is refused, a too-small buffer says how much it needs.
    assert_eq!(
        venue::logout(&mut Encoder::new(&mut buf), &s, Some(b"a\x01b")),
        Err(tickwire_fix::encode::EncodeError::ValueContainsSoh { tag: 58 })
    );
    let mut small = [0u8; 40];
    assert!(matches!(
        venue::logout(&mut Encoder::new(&mut small), &s, Some(b"bye")),
        Err(tickwire_fix::encode::EncodeError::BufferTooSmall { .. })
    ));
}
