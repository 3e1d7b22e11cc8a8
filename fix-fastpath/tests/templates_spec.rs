//! Every client message with an example in SPEC §7, built from a precompiled template patched
//! with the example's values, is byte-identical to the example.
#![allow(clippy::unwrap_used)]

use tickwire_fix::decimal::Decimal;
use tickwire_fix::kraken::Credentials;
use tickwire_fix::outbound::{
    self, LogonShape, MarketDataShape, MassCancelScope, OrdType, OrderShape, Side,
};
use tickwire_fix::template::{Header, Template};
use tickwire_fix::time::UtcTimestamp;

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
    l.template.stamp(1, t("20260407-14:32:01.000")).unwrap();
    let pw = creds.password(1, sender.as_bytes(), target.as_bytes(), nonce);
    l.template.set(l.password.unwrap(), &pw).unwrap();
    l.template.set_uint(l.nonce.unwrap(), nonce).unwrap();
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
    use tickwire_fix::message::{frame, FrameLimits};
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
