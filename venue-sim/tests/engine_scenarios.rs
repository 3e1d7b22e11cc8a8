//! Matching-engine scenarios: each test is a short order flow and the table of events it must
//! produce, rendered one per line by the harness (`label ExecType:OrdStatus cum/leaves …`,
//! `REJ <35> j<380>|3:<371>/<373> "<58>"`, `BOOK`, `TRADE`, `DISC`). Kraken texts are checked
//! verbatim (SPEC §6).
#![allow(clippy::unwrap_used)]

mod engine_common;

use engine_common::*;
use tickwire_fix::decimal::Decimal;
use tickwire_fix::kraken::comb_uuid;
use tickwire_fix::time::UtcTimestamp;
use tickwire_venue::engine::{
    AccountConfig, Config, ExecInst, InstrumentSpec, InstrumentStatus, MassCancelScope, NewOrder,
    OrdType, PostOnlyCross, SessionConfig, Side, StpMode, TimeInForce,
};
use tickwire_venue::limits::Tier;

const NEW_BUY: &str = "A1 New:New 0/0.01 \"buy 0.01 BTC/USD @ limit 84000.0\"";

// ---- plain limit and market flow ----

#[test]
fn limit_order_rests_with_kraken_description() {
    let mut h = H::spot();
    h.send(A, buy("0.01", "84000.0"));
    h.expect(&[NEW_BUY, "BOOK B 84000.0 0.01"]);
    assert_eq!(h.book(Side::Buy), ["84000.0:0.01"]);
}

#[test]
fn crossing_limit_trades_at_the_resting_price() {
    let mut h = H::spot();
    h.send(B, sell("0.01", "84000.0"));
    h.trace();
    h.send(A, buy("0.004", "84001.0"));
    h.expect(&[
        "A1 New:New 0/0.004 \"buy 0.004 BTC/USD @ limit 84001.0\"",
        "B1 Trade:Partial 0.004/0.006 fill=0.004@84000.0M",
        "A1 Trade:Filled 0.004/0 fill=0.004@84000.0T",
        "TRADE 0.004@84000.0 B",
        "BOOK S 84000.0 0.006",
    ]);
}

#[test]
fn price_then_time_priority() {
    let mut h = H::spot();
    h.send(A, sell("0.01", "84000.0"));
    h.send(A, sell("0.01", "84000.0"));
    h.send(A, sell("0.01", "83999.9"));
    h.trace();
    h.send(B, buy("0.025", "84000.0"));
    h.expect(&[
        "B1 New:New 0/0.025 \"buy 0.025 BTC/USD @ limit 84000.0\"",
        "A3 Trade:Filled 0.01/0 fill=0.01@83999.9M",
        "B1 Trade:Partial 0.01/0.015 fill=0.01@83999.9T",
        "TRADE 0.01@83999.9 B",
        "A1 Trade:Filled 0.01/0 fill=0.01@84000.0M",
        "B1 Trade:Partial 0.02/0.005 fill=0.01@84000.0T",
        "TRADE 0.01@84000.0 B",
        "A2 Trade:Partial 0.005/0.005 fill=0.005@84000.0M",
        "B1 Trade:Filled 0.025/0 fill=0.005@84000.0T",
        "TRADE 0.005@84000.0 B",
        "BOOK S 83999.9 0",
        "BOOK S 84000.0 0.005",
    ]);
}

#[test]
fn market_order_sweeps_and_cancels_the_remainder() {
    let mut h = H::spot();
    h.send(A, sell("0.01", "84000.0"));
    h.trace();
    h.send(B, mkt(Side::Buy, "0.02"));
    h.expect(&[
        "B1 New:New 0/0.02 \"buy 0.02 BTC/USD @ market\"",
        "A1 Trade:Filled 0.01/0 fill=0.01@84000.0M",
        "B1 Trade:Partial 0.01/0.01 fill=0.01@84000.0T",
        "TRADE 0.01@84000.0 B",
        "B1 Canceled:Canceled 0.01/0 \"Immediate or cancel\"",
        "BOOK S 84000.0 0",
    ]);
}

#[test]
fn market_order_on_an_empty_book_is_cancelled() {
    let mut h = H::spot();
    h.send(B, mkt(Side::Sell, "0.02"));
    h.expect(&[
        "B1 New:New 0/0.02 \"sell 0.02 BTC/USD @ market\"",
        "B1 Canceled:Canceled 0/0 \"Immediate or cancel\"",
    ]);
}

#[test]
fn ioc_limit_fills_what_it_can() {
    let mut h = H::spot();
    h.send(A, sell("0.01", "84000.0"));
    h.send(A, sell("0.01", "84001.0"));
    h.trace();
    h.send(B, buy("0.03", "84000.0").ioc());
    h.expect_only(
        &["B1"],
        &[
            "B1 New:New 0/0.03 \"buy 0.03 BTC/USD @ limit 84000.0\"",
            "B1 Trade:Partial 0.01/0.02 fill=0.01@84000.0T",
            "B1 Canceled:Canceled 0.01/0 \"Immediate or cancel\"",
        ],
    );
    assert_eq!(h.book(Side::Buy), Vec::<String>::new(), "IOC never rests");
}

#[test]
fn fok_cancels_without_fills_when_the_book_is_short() {
    let mut h = H::spot();
    h.send(A, sell("0.01", "84000.0"));
    h.trace();
    h.send(B, buy("0.02", "84000.0").fok());
    h.expect(&[
        "B1 New:New 0/0.02 \"buy 0.02 BTC/USD @ limit 84000.0\"",
        "B1 Canceled:Canceled 0/0 \"Fill or kill\"",
    ]);
    assert_eq!(h.book(Side::Sell), ["84000.0:0.01"], "book untouched");
}

#[test]
fn fok_fills_completely_across_levels_and_hidden_size() {
    let mut h = H::spot();
    h.send(A, sell("0.03", "84000.0").iceberg("0.01"));
    h.send(A, sell("0.01", "84000.5"));
    h.trace();
    h.send(B, buy("0.035", "84000.5").fok());
    h.expect_only(
        &["B1 Trade:Filled", "B1 Canceled"],
        &["B1 Trade:Filled 0.035/0 fill=0.005@84000.5T"],
    );
}

#[test]
fn gtd_order_expires_at_expire_time() {
    let mut h = H::spot();
    h.send(A, buy("0.01", "84000.0").gtd(5_000));
    h.expect(&[NEW_BUY, "BOOK B 84000.0 0.01"]);
    h.advance(4_999);
    h.time();
    h.expect(&[]);
    h.advance(1);
    h.time();
    h.expect(&[
        "A1 Expired:Expired 0/0 \"GTD order expired\"",
        "BOOK B 84000.0 0",
    ]);
}

#[test]
fn gtd_in_the_past_or_beyond_a_month_is_refused() {
    let mut h = H::spot();
    h.send(A, buy("0.01", "84000.0").gtd(-1));
    h.send(A, buy("0.01", "84000.0").gtd(32 * 86_400_000));
    h.expect(&[
        "REJ D j0 \"EGeneral:Invalid arguments\"",
        "REJ D j0 \"EGeneral:Invalid arguments\"",
    ]);
}

#[test]
fn effective_time_gives_pending_new_then_new() {
    let mut h = H::spot();
    h.send(A, buy("0.01", "84000.0").effective(1_000));
    h.expect(&["A1 PendingNew:PendingNew 0/0.01 \"buy 0.01 BTC/USD @ limit 84000.0\""]);
    h.status(A, "A1");
    h.expect(&["A1 Status:PendingNew 0/0.01"]);
    assert!(h.book(Side::Buy).is_empty(), "invisible until effective");
    h.advance(1_000);
    h.time();
    h.expect(&[NEW_BUY, "BOOK B 84000.0 0.01"]);
}

#[test]
fn valid_until_time_in_the_past_is_deadline_elapsed() {
    let mut h = H::spot();
    h.send(A, buy("0.01", "84000.0").valid(-1));
    h.send(A, buy("0.01", "84000.0").valid(61_000));
    h.send(A, buy("0.01", "84000.0").valid(30_000));
    h.expect(&[
        "REJ D j0 \"EService:Deadline elapsed\"",
        "REJ D j0 \"EGeneral:Invalid arguments\"",
        "A3 New:New 0/0.01 \"buy 0.01 BTC/USD @ limit 84000.0\"",
        "BOOK B 84000.0 0.01",
    ]);
}

// ---- post-only ----

#[test]
fn spot_post_only_that_would_cross_is_cancelled_without_new() {
    let mut h = H::spot();
    h.send(B, sell("0.01", "84000.0"));
    h.trace();
    h.send(A, buy("0.01", "84000.0").post());
    h.expect(&["A1 Canceled:Canceled 0/0 \"Post only order\""]);
    assert_eq!(h.book(Side::Sell), ["84000.0:0.01"]);
}

#[test]
fn spot_post_only_cross_can_be_a_business_reject() {
    let mut cfg = Config::spot();
    cfg.post_only_cross = PostOnlyCross::BusinessReject;
    let mut h = H::with(cfg, AccountConfig::default());
    h.send(B, sell("0.01", "84000.0"));
    h.trace();
    h.send(A, buy("0.01", "84000.0").post());
    h.expect(&["REJ D j0 \"EOrder:Post only order\""]);
}

#[test]
fn derivatives_post_only_cross_is_post_would_execute() {
    let mut h = H::derivatives();
    h.send(B, sell("0.01", "85000"));
    h.trace();
    h.send(A, buy("0.01", "85000").post());
    h.expect(&["REJ D j0 \"EGeneral:Other:POST_WOULD_EXECUTE\""]);
    h.send(A, buy("0.01", "84999").post());
    h.expect(&[
        "A2 New:New 0/0.01 \"buy 0.01 PF_XBTUSD @ limit 84999\"",
        "BOOK B 84999 0.01",
    ]);
}

// ---- iceberg ----

#[test]
fn iceberg_shows_display_qty_and_reloads_at_the_back() {
    let mut h = H::spot();
    h.send(A, sell("0.03", "84000.0").iceberg("0.01"));
    h.send(A, sell("0.01", "84000.0"));
    h.trace();
    assert_eq!(h.book(Side::Sell), ["84000.0:0.02"]);
    h.send(B, buy("0.015", "84000.0"));
    h.expect(&[
        "B1 New:New 0/0.015 \"buy 0.015 BTC/USD @ limit 84000.0\"",
        "A1 Trade:Partial 0.01/0.02 fill=0.01@84000.0M",
        "B1 Trade:Partial 0.01/0.005 fill=0.01@84000.0T",
        "TRADE 0.01@84000.0 B",
        "A2 Trade:Partial 0.005/0.005 fill=0.005@84000.0M",
        "B1 Trade:Filled 0.015/0 fill=0.005@84000.0T",
        "TRADE 0.005@84000.0 B",
        "BOOK S 84000.0 0.015",
    ]);
    // A2 is now ahead of the reloaded A1.
    h.send(B, buy("0.005", "84000.0"));
    h.expect_only(&["A"], &["A2 Trade:Filled 0.01/0 fill=0.005@84000.0M"]);
    let r = h.reports.iter().find(|r| r.display_qty.is_some()).unwrap();
    assert_eq!(r.display_qty, Some(d("0.01")));
}

#[test]
fn iceberg_display_must_be_at_least_a_fifteenth() {
    let mut h = H::spot();
    h.send(A, sell("0.15", "84000.0").iceberg("0.0099"));
    h.send(A, sell("0.15", "84000.0").iceberg("0.01"));
    h.expect_only(
        &["REJ", "A2 New"],
        &[
            "REJ D j0 \"EGeneral:Invalid arguments\"",
            "A2 New:New 0/0.15 \"sell 0.15 BTC/USD @ limit 84000.0\"",
        ],
    );
}

// ---- self-trade prevention ----

#[test]
fn stp_cancel_newest_is_the_default() {
    let mut h = H::spot();
    h.send(A, sell("0.01", "84000.0"));
    h.trace();
    h.send(A, buy("0.01", "84000.0"));
    h.expect(&[
        "A2 New:New 0/0.01 \"buy 0.01 BTC/USD @ limit 84000.0\"",
        "A2 Canceled:Canceled 0/0 \"Self trade prevention\"",
    ]);
    assert_eq!(h.book(Side::Sell), ["84000.0:0.01"]);
}

#[test]
fn stp_cancel_oldest_removes_the_resting_order() {
    let mut h = H::spot();
    h.send(A, sell("0.01", "84000.0"));
    h.trace();
    h.send(A, buy("0.01", "84000.0").stp(StpMode::CancelOldest));
    h.expect(&[
        "A2 New:New 0/0.01 \"buy 0.01 BTC/USD @ limit 84000.0\"",
        "A1 Canceled:Canceled 0/0 \"Self trade prevention\"",
        "BOOK S 84000.0 0",
        "BOOK B 84000.0 0.01",
    ]);
}

#[test]
fn stp_cancel_both() {
    let mut h = H::spot();
    h.send(A, sell("0.01", "84000.0"));
    h.trace();
    h.send(A, buy("0.01", "84000.0").stp(StpMode::CancelBoth));
    h.expect(&[
        "A2 New:New 0/0.01 \"buy 0.01 BTC/USD @ limit 84000.0\"",
        "A1 Canceled:Canceled 0/0 \"Self trade prevention\"",
        "A2 Canceled:Canceled 0/0 \"Self trade prevention\"",
        "BOOK S 84000.0 0",
    ]);
}

#[test]
fn stp_stops_a_partially_filled_taker() {
    let mut h = H::spot();
    h.send(B, sell("0.004", "84000.0"));
    h.send(A, sell("0.01", "84000.0"));
    h.trace();
    h.send(A, buy("0.01", "84000.0"));
    h.expect_only(
        &["A2"],
        &[
            "A2 New:New 0/0.01 \"buy 0.01 BTC/USD @ limit 84000.0\"",
            "A2 Trade:Partial 0.004/0.006 fill=0.004@84000.0T",
            "A2 Canceled:Canceled 0.004/0 \"Self trade prevention\"",
        ],
    );
}

// ---- cancel ----

#[test]
fn cancel_by_orig_clordid() {
    let mut h = H::spot();
    h.send(A, buy("0.01", "84000.0"));
    h.trace();
    h.cancel(A, "A1");
    h.expect(&[
        "A2 Canceled:Canceled 0/0 orig=A1 \"Order canceled by user\"",
        "BOOK B 84000.0 0",
    ]);
}

#[test]
fn cancel_by_order_id_wins_over_orig_clordid() {
    let mut h = H::spot();
    h.send(A, buy("0.01", "84000.0"));
    h.trace();
    h.cancel_by_id(A, "A1");
    h.expect(&[
        "A2 Canceled:Canceled 0/0 orig=A1 \"Order canceled by user\"",
        "BOOK B 84000.0 0",
    ]);
}

#[test]
fn cancel_of_unknown_foreign_or_finished_orders_is_380_101() {
    let mut h = H::spot();
    h.send(A, buy("0.01", "84000.0"));
    h.send(B, buy("0.01", "83000.0"));
    h.trace();
    h.cancel(A, "12345"); // never existed
    h.cancel(A2, "A1"); // same account, other session: not cancellable with 35=F
    h.cancel(A, "B1"); // another account's order
    h.cancel(A, "A1");
    h.cancel(A, "A1"); // already cancelled
    h.expect(&[
        "REJ F j101 \"EOrder:Unknown order\"",
        "REJ F j101 \"EOrder:Unknown order\"",
        "REJ F j101 \"EOrder:Unknown order\"",
        "A5 Canceled:Canceled 0/0 orig=A1 \"Order canceled by user\"",
        "BOOK B 84000.0 0",
        "REJ F j101 \"EOrder:Unknown order\"",
    ]);
}

// ---- amend (35=G) and queue priority (SPEC §4.4 table) ----

#[test]
fn amend_quantity_down_keeps_queue_position() {
    let mut h = H::spot();
    h.send(B, sell("0.01", "84000.0"));
    h.send(B, sell("0.01", "84000.0"));
    h.trace();
    h.amend_limit(B, "B1", Side::Sell, "0.005", "84000.0");
    h.expect(&[
        "B3 Replaced:Replaced 0/0.005 orig=B1",
        "BOOK S 84000.0 0.015",
    ]);
    h.send(A, buy("0.005", "84000.0"));
    h.expect_only(&["B3"], &["B3 Trade:Filled 0.005/0 fill=0.005@84000.0M"]);
}

#[test]
fn amend_quantity_up_goes_to_the_back() {
    let mut h = H::spot();
    h.send(B, sell("0.01", "84000.0"));
    h.send(B, sell("0.01", "84000.0"));
    h.trace();
    h.amend_limit(B, "B1", Side::Sell, "0.02", "84000.0");
    h.expect(&["B3 Replaced:Replaced 0/0.02 orig=B1", "BOOK S 84000.0 0.03"]);
    h.send(A, buy("0.01", "84000.0"));
    h.expect_only(
        &["B2", "B3"],
        &["B2 Trade:Filled 0.01/0 fill=0.01@84000.0M"],
    );
}

#[test]
fn amend_price_goes_to_the_back_of_the_new_level() {
    let mut h = H::spot();
    h.send(B, sell("0.01", "84000.0"));
    h.send(B, sell("0.01", "84001.0"));
    h.trace();
    h.amend_limit(B, "B1", Side::Sell, "0.01", "84001.0");
    h.expect(&[
        "B3 Replaced:Replaced 0/0.01 orig=B1",
        "BOOK S 84000.0 0",
        "BOOK S 84001.0 0.02",
    ]);
    h.send(A, buy("0.01", "84001.0"));
    h.expect_only(
        &["B2", "B3"],
        &["B2 Trade:Filled 0.01/0 fill=0.01@84001.0M"],
    );
}

#[test]
fn amend_to_a_crossing_price_trades() {
    let mut h = H::spot();
    h.send(A, buy("0.01", "83999.0"));
    h.send(B, sell("0.01", "84000.0"));
    h.trace();
    h.amend_limit(A, "A1", Side::Buy, "0.01", "84000.0");
    h.expect(&[
        "A2 Replaced:Replaced 0/0.01 orig=A1",
        "B1 Trade:Filled 0.01/0 fill=0.01@84000.0M",
        "A2 Trade:Filled 0.01/0 fill=0.01@84000.0T",
        "TRADE 0.01@84000.0 B",
        "BOOK B 83999.0 0",
        "BOOK S 84000.0 0",
    ]);
}

#[test]
fn amend_to_at_most_the_filled_quantity_cancels_the_rest() {
    let mut h = H::spot();
    h.send(B, sell("0.01", "84000.0"));
    h.send(A, buy("0.004", "84000.0"));
    h.trace();
    h.amend_limit(B, "B1", Side::Sell, "0.003", "84000.0");
    h.expect(&[
        "B2 Canceled:Canceled 0.004/0 orig=B1 \"Order canceled by user\"",
        "BOOK S 84000.0 0",
    ]);
    assert_eq!(h.reports.last().unwrap().order_qty, d("0.004"));
}

#[test]
fn amend_with_post_only_that_would_cross_is_refused() {
    let mut h = H::spot();
    h.send(A, buy("0.01", "83999.0").post());
    h.send(B, sell("0.01", "84000.0"));
    h.trace();
    h.amend(
        A,
        "A1",
        Side::Buy,
        OrdType::Limit,
        "0.01",
        Some("84000.0"),
        None,
        None,
        true,
    );
    h.expect(&["REJ G j0 \"EOrder:Post only order\""]);
    assert_eq!(h.book(Side::Buy), ["83999.0:0.01"]);
}

#[test]
fn amend_iceberg_display_keeps_position() {
    let mut h = H::spot();
    h.send(A, sell("0.03", "84000.0").iceberg("0.01"));
    h.trace();
    h.amend(
        A,
        "A1",
        Side::Sell,
        OrdType::Limit,
        "0.03",
        None,
        None,
        Some("0.005"),
        false,
    );
    h.expect(&[
        "A2 Replaced:Replaced 0/0.03 orig=A1",
        "BOOK S 84000.0 0.005",
    ]);
    h.amend(
        A,
        "A2",
        Side::Sell,
        OrdType::Limit,
        "0.03",
        None,
        None,
        Some("0.001"),
        false,
    );
    h.expect(&["REJ G j0 \"EGeneral:Invalid arguments\""]);
}

#[test]
fn amend_of_another_type_or_side_is_refused() {
    let mut h = H::spot();
    h.send(A, buy("0.01", "84000.0"));
    h.trace();
    h.amend_limit(A, "A1", Side::Sell, "0.01", "84000.0");
    h.amend(
        A,
        "A1",
        Side::Buy,
        OrdType::StopLossLimit,
        "0.01",
        Some("84000.0"),
        Some("84000.0"),
        None,
        false,
    );
    h.expect(&[
        "REJ G j0 \"EGeneral:Invalid arguments\"",
        "REJ G j0 \"EGeneral:Invalid arguments\"",
    ]);
}

#[test]
fn derivatives_amend_is_unsupported_by_default() {
    let mut h = H::derivatives();
    h.send(A, buy("0.01", "85000"));
    h.trace();
    h.amend_limit(A, "A1", Side::Buy, "0.02", "85000");
    h.expect(&["REJ G j3 \"Unsupported Message Type\""]);
}

// ---- trigger orders ----

/// A trade at `px` between B (resting sell) and A's second session (buy).
fn print(h: &mut H, px: &str) {
    h.send(B, sell("0.001", px));
    h.send(A2, buy("0.001", px));
}

#[test]
fn stop_loss_fires_on_the_last_trade_and_becomes_market() {
    let mut h = H::spot();
    h.send(
        A,
        trig(Side::Sell, OrdType::StopLoss, "0.01", "83000.0", None),
    );
    h.expect(&["A1 New:New 0/0.01 \"sell 0.01 BTC/USD @ stop loss 83000.0\""]);
    h.send(B, buy("0.02", "82900.0"));
    print(&mut h, "83000.1");
    h.expect_only(&["A1"], &[]);
    // A sell print at 83000.0: resting B bid, A2 sells into it.
    h.send(B, buy("0.001", "83000.0"));
    h.send(A2, sell("0.001", "83000.0"));
    h.expect_only(
        &["A1"],
        &[
            "A1 Restated:New 0/0.01 trig=83000.0",
            "A1 Trade:Filled 0.01/0 fill=0.01@82900.0T trig=83000.0",
        ],
    );
    let restated = h
        .reports
        .iter()
        .find(|r| r.trigger_price.is_some())
        .unwrap();
    assert_eq!(
        restated.ord_type,
        OrdType::Market,
        "40 becomes 1 after the trigger"
    );
}

#[test]
fn take_profit_limit_fires_as_a_limit_order() {
    let mut h = H::spot();
    h.send(
        A,
        trig(
            Side::Buy,
            OrdType::TakeProfitLimit,
            "0.01",
            "83000.0",
            Some("83100.0"),
        ),
    );
    h.send(B, sell("0.01", "83050.0"));
    h.send(B, buy("0.001", "83000.0"));
    h.send(A2, sell("0.001", "83000.0"));
    h.expect_only(
        &["A1"],
        &[
            "A1 New:New 0/0.01 \"buy 0.01 BTC/USD @ take profit 83000.0 -> limit 83100.0\"",
            "A1 Restated:New 0/0.01 trig=83000.0",
            "A1 Trade:Filled 0.01/0 fill=0.01@83050.0T trig=83000.0",
        ],
    );
}

#[test]
fn trailing_stop_tracks_the_peak_by_a_quote_distance() {
    let mut h = H::spot();
    h.send(B, buy("0.01", "80000.0"));
    h.send(
        A,
        trig(Side::Sell, OrdType::TrailingStop, "0.001", "2.0", None),
    );
    for px in ["84000.0", "84010.0", "84009.0"] {
        print(&mut h, px);
    }
    h.expect_only(
        &["A1"],
        &["A1 New:New 0/0.001 \"sell 0.001 BTC/USD @ trailing stop +2.0\""],
    );
    print(&mut h, "84008.0");
    h.expect_only(
        &["A1"],
        &[
            "A1 Restated:New 0/0.001 trig=84008.0",
            "A1 Trade:Filled 0.001/0 fill=0.001@80000.0T trig=84008.0",
        ],
    );
}

#[test]
fn trailing_stop_limit_rests_at_trigger_minus_offset() {
    let mut h = H::spot();
    h.send(B, buy("0.01", "80000.0"));
    h.send(
        A,
        trig(
            Side::Sell,
            OrdType::TrailingStopLimit,
            "0.001",
            "2.0",
            Some("1.0"),
        ),
    );
    print(&mut h, "84010.0");
    print(&mut h, "84008.0");
    h.expect_only(
        &["A1"],
        &[
            "A1 New:New 0/0.001 \"sell 0.001 BTC/USD @ trailing stop +2.0 -> limit +1.0\"",
            "A1 Restated:New 0/0.001 trig=84008.0",
        ],
    );
    assert_eq!(h.book(Side::Sell), ["84007.0:0.001"]);
}

#[test]
fn index_price_triggers_when_388_is_1() {
    let mut h = H::spot();
    h.send(B, sell("0.01", "85100.0"));
    h.send(
        A,
        trig(Side::Buy, OrdType::StopLoss, "0.01", "85000.0", None).index(),
    );
    h.trace();
    let id = h.e.instrument_id(b"BTC/USD").unwrap();
    let now = h.now();
    h.e.set_index_price(id, d("84999.9"), now).unwrap();
    h.expect(&[]);
    h.e.set_index_price(id, d("85000.0"), now).unwrap();
    h.expect_only(
        &["A1"],
        &[
            "A1 Restated:New 0/0.01 trig=85000.0",
            "A1 Trade:Filled 0.01/0 fill=0.01@85100.0T trig=85000.0",
        ],
    );
}

#[test]
fn index_trigger_without_an_index_is_refused() {
    let mut spec = InstrumentSpec::btc_usd();
    spec.index_available = false;
    let mut h = H::with_spec(Config::spot(), AccountConfig::default(), spec);
    h.send(
        A,
        trig(Side::Buy, OrdType::StopLoss, "0.01", "85000.0", None).index(),
    );
    h.expect(&["REJ D j0 \"EGeneral:Invalid arguments:Index unavailable\""]);
}

#[test]
fn cancel_of_an_untriggered_stop() {
    let mut h = H::spot();
    h.send(
        A,
        trig(Side::Sell, OrdType::StopLoss, "0.01", "83000.0", None),
    );
    h.trace();
    h.cancel(A, "A1");
    h.expect(&["A2 Canceled:Canceled 0/0 orig=A1 \"Order canceled by user\""]);
    h.send(B, buy("0.001", "83000.0"));
    h.send(A2, sell("0.001", "83000.0"));
    h.expect_only(&["A2 R"], &[]);
}

// ---- mass cancel, status, cancel-on-disconnect ----

fn three_orders(h: &mut H) {
    h.send(A, buy("0.01", "83000.0"));
    h.send(A, buy("0.01", "83001.0"));
    h.send(A2, buy("0.01", "83002.0"));
    h.trace();
}

#[test]
fn mass_cancel_session_and_symbol() {
    let mut h = H::spot();
    three_orders(&mut h);
    h.mass_cancel(A, MassCancelScope::SessionSymbol, true);
    h.expect(&[
        "A1 Canceled:Canceled 0/0 \"Order canceled by user\"",
        "A2 Canceled:Canceled 0/0 \"Order canceled by user\"",
        "BOOK B 83000.0 0",
        "BOOK B 83001.0 0",
    ]);
    assert_eq!(h.book(Side::Buy), ["83002.0:0.01"]);
}

#[test]
fn mass_cancel_account_wide_reaches_other_sessions() {
    let mut h = H::spot();
    three_orders(&mut h);
    h.send(B, buy("0.01", "82000.0"));
    h.trace();
    h.mass_cancel(A, MassCancelScope::Account, false);
    h.expect_only(
        &["A", "B"],
        &[
            "A1 Canceled:Canceled 0/0 \"Order canceled by user\"",
            "A2 Canceled:Canceled 0/0 \"Order canceled by user\"",
            "A3 Canceled:Canceled 0/0 \"Order canceled by user\"",
            "BOOK B 83000.0 0",
            "BOOK B 83001.0 0",
            "BOOK B 83002.0 0",
        ],
    );
    assert_eq!(h.book(Side::Buy), ["82000.0:0.01"]);
}

#[test]
fn mass_cancel_with_nothing_to_cancel_sends_nothing() {
    let mut h = H::spot();
    h.mass_cancel(A, MassCancelScope::Session, false);
    h.expect(&[]);
    h.mass_cancel(A, MassCancelScope::SessionSymbol, false);
    h.expect(&["REJ q 3:55/1 \"Missing mandatory field: Symbol (55)\""]);
}

#[test]
fn order_status_reports_current_state() {
    let mut h = H::spot();
    h.send(B, sell("0.01", "84000.0"));
    h.send(A, buy("0.004", "84000.0"));
    h.trace();
    h.status(B, "B1");
    h.status(A, "A1");
    h.expect(&[
        "B1 Status:Partial 0.004/0.006",
        "REJ H j101 \"EOrder:Unknown order\"",
    ]);
    let mut d = H::derivatives();
    d.send(A, buy("0.01", "85000"));
    d.trace();
    d.status(A, "A1");
    d.expect(&["REJ H j3 \"Unsupported Message Type\""]);
}

#[test]
fn cancel_on_disconnect_cancels_only_that_sessions_orders() {
    let mut h = H::spot();
    three_orders(&mut h);
    h.disconnect(A);
    h.expect(&[
        "A1 Canceled:Canceled 0/0 \"Cancel on disconnect\"",
        "A2 Canceled:Canceled 0/0 \"Cancel on disconnect\"",
        "BOOK B 83000.0 0",
        "BOOK B 83001.0 0",
    ]);
    let now = h.now();
    assert!(h.e.handle_disconnect(h.sessions[A], now).is_err(), "closed");
}

#[test]
fn without_cancel_on_disconnect_orders_survive_and_only_530_7_reaches_them() {
    let mut h = H::spot();
    let keep =
        h.e.open_session(
            h.accounts[0],
            SessionConfig {
                cancel_on_disconnect: false,
            },
        )
        .unwrap();
    h.sessions.push(keep);
    h.send(3, buy("0.01", "83000.0"));
    h.trace();
    h.disconnect(3);
    h.expect(&[]);
    h.cancel(A, "A1");
    h.expect(&["REJ F j101 \"EOrder:Unknown order\""]);
    h.mass_cancel(A, MassCancelScope::Account, false);
    h.expect(&[
        "A1 Canceled:Canceled 0/0 \"Order canceled by user\"",
        "BOOK B 83000.0 0",
    ]);
}

// ---- ClOrdID rules (SPEC §3.7) ----

#[test]
fn duplicate_and_non_increasing_clordids() {
    let mut h = H::spot();
    let (cl, _) = h.fresh_cl(A);
    h.send(A, buy("0.01", "84000.0").cl(&cl));
    h.trace();
    h.send(A, buy("0.01", "84000.0").cl(&cl));
    h.send(A, buy("0.01", "84000.0").cl("1"));
    h.send(A, buy("0.01", "84000.0").cl("ORDER-1"));
    h.expect(&[
        "REJ D j0 \"EOrder:Duplicate ClOrdID\"",
        "REJ D j0 \"ClOrdID invalid value\"",
        "REJ D j0 \"ClOrdID invalid value\"",
    ]);
    // Another account has its own sequence; a UUID is accepted on Spot.
    h.send(B, buy("0.01", "83000.0").cl("1"));
    h.send(
        B,
        buy("0.01", "83000.0").cl("0192f8e4-4d1a-4b5e-8c9d-0123456789ab"),
    );
    h.expect_only(&["REJ"], &[]);
    // After a reset (rollover or 5030=Y) low numbers are fine again.
    h.e.reset_clordids(h.accounts[0]);
    h.send(A, buy("0.01", "84000.0").cl("1"));
    h.expect_only(&["REJ"], &[]);
}

#[test]
fn derivatives_require_recent_comb_uuids() {
    let mut h = H::derivatives();
    h.send(A, buy("0.01", "85000").cl("1775572325000000"));
    let old = comb_uuid(h.at(-121_000), 7);
    h.send(
        A,
        buy("0.01", "85000").cl(std::str::from_utf8(&old).unwrap()),
    );
    let fine = comb_uuid(h.at(-119_000), 8);
    h.send(
        A,
        buy("0.01", "85000").cl(std::str::from_utf8(&fine).unwrap()),
    );
    h.expect_only(
        &["REJ", "BOOK"],
        &[
            "REJ D 3:11/5 \"COMB UUIDv4 required for ClOrdID on derivatives\"",
            "REJ D j0 \"ClOrdID invalid value (timestamp is out of date)\"",
            "BOOK B 85000 0.01",
        ],
    );
}

// ---- validation texts (SPEC §6.2) ----

#[test]
fn validation_rejects_with_kraken_texts() {
    let table: &[(&str, Ord, &str)] = &[
        (
            "below QtyMin",
            buy("0.00009", "84000.0"),
            "REJ D j0 \"EOrder:Order minimum not met\"",
        ),
        (
            "below MinimumCost",
            buy("0.0001", "1000.0"),
            "REJ D j0 \"EOrder:Cost minimum not met\"",
        ),
        (
            "off the tick",
            buy("0.01", "84000.05"),
            "REJ D j0 \"EOrder:Tick size check failed\"",
        ),
        (
            "zero price",
            buy("0.01", "0"),
            "REJ D j0 \"EOrder:Invalid price\"",
        ),
        (
            "negative price",
            buy("0.01", "-1.0"),
            "REJ D j0 \"EOrder:Invalid price\"",
        ),
        (
            "absurd quantity (level sums could overflow)",
            buy("92233720368", "84000.0"),
            "REJ D j0 \"EGeneral:Invalid arguments:volume\"",
        ),
        (
            "absurd price",
            buy("0.01", "922337203685477.0"),
            "REJ D j0 \"EOrder:Invalid price\"",
        ),
        (
            "too many qty decimals",
            buy("0.000000001", "84000.0"),
            "REJ D j0 \"EGeneral:Invalid arguments:volume\"",
        ),
        (
            "zero quantity",
            buy("0", "84000.0"),
            "REJ D j0 \"EGeneral:Invalid arguments:volume\"",
        ),
        (
            "post-only market",
            mkt(Side::Buy, "0.01").post(),
            "REJ D j0 \"EGeneral:Invalid arguments\"",
        ),
        (
            "post-only IOC",
            buy("0.01", "84000.0").post().ioc(),
            "REJ D j0 \"EGeneral:Invalid arguments\"",
        ),
        (
            "iceberg IOC",
            buy("0.15", "84000.0").iceberg("0.01").ioc(),
            "REJ D j0 \"EGeneral:Invalid arguments\"",
        ),
        (
            "reduce-only without margin",
            buy("0.01", "84000.0").reduce(),
            "REJ D j0 \"EOrder:Reduce only:Non-PC\"",
        ),
        (
            "reduce-only margin without position",
            buy("0.01", "84000.0").reduce().lev(),
            "REJ D j0 \"EOrder:Reduce only:No position exists\"",
        ),
        (
            "stop without StopPx",
            Ord {
                stop: None,
                ..trig(Side::Buy, OrdType::StopLoss, "0.01", "1.0", None)
            },
            "REJ D 3:99/1 \"Missing mandatory field: StopPx (99)\"",
        ),
        (
            "limit without Price",
            Ord {
                price: None,
                ..buy("0.01", "1.0")
            },
            "REJ D 3:44/1 \"Missing mandatory field: Price (44)\"",
        ),
        (
            "GTD without ExpireTime",
            Ord {
                tif: TimeInForce::GoodTillDate,
                ..buy("0.01", "84000.0")
            },
            "REJ D 3:126/1 \"Missing mandatory field: ExpireTime (126)\"",
        ),
    ];
    for (name, ord, want) in table {
        let mut h = H::spot();
        h.send(A, ord.clone());
        let got = h.trace();
        assert_eq!(got, [want.to_string()], "{name}");
    }
}

#[test]
fn unknown_and_hidden_symbols_are_380_2() {
    let mut h = H::spot();
    let req = NewOrder::limit(b"1775572325000001", b"XBT/USD", Side::Buy, d("1"), d("1"));
    h.send_raw(A, &req);
    let id = h.e.instrument_id(b"BTC/USD").unwrap();
    h.e.set_status(id, InstrumentStatus::Hidden);
    h.send(A, buy("0.01", "84000.0"));
    h.expect(&[
        "REJ D j2 \"EQuery:Unknown asset pair\"",
        "REJ D j2 \"EQuery:Unknown asset pair\"",
    ]);
}

#[test]
fn derivatives_dialect_checks() {
    let mut h = H::derivatives();
    let cl = comb_uuid(h.now(), 1);
    let mut req = NewOrder::limit(&cl, b"PF_XBTUSD", Side::Buy, d("0.01"), d("85000"));
    h.send_raw(A, &req); // no `s`
    req.exec_inst = ExecInst {
        single_fee: true,
        ..ExecInst::default()
    };
    req.tif = TimeInForce::FillOrKill;
    let cl2 = comb_uuid(h.now(), 2);
    req.cl_ord_id = &cl2;
    h.send_raw(A, &req);
    req.tif = TimeInForce::GoodTillCancel;
    req.ord_type = OrdType::TrailingStopLimit;
    h.send_raw(A, &req);
    h.expect(&[
        "REJ D j0 \"EGeneral:Invalid arguments\"",
        "REJ D 3:59/5 \"Invalid value for tag 59: TimeInForce\"",
        "REJ D 3:40/5 \"Invalid value for tag 40: OrderType\"",
    ]);
    h.send(A, buy("0.01", "80000").ioc());
    h.expect(&["REJ D j0 \"IOC_WOULD_ENTER_BOOK\""]);
}

// ---- market status (5032 / 340) ----

#[test]
fn market_status_rules() {
    let mut h = H::spot();
    let id = h.e.instrument_id(b"BTC/USD").unwrap();
    h.send(A, buy("0.01", "84000.0"));
    h.trace();
    h.e.set_status(id, InstrumentStatus::CancelOnly);
    h.send(A, buy("0.01", "84000.0"));
    h.e.set_status(id, InstrumentStatus::PostOnly);
    h.send(A, buy("0.01", "83000.0"));
    h.send(A, buy("0.01", "83000.0").post());
    h.e.set_status(id, InstrumentStatus::LimitOnly);
    h.send(A, mkt(Side::Sell, "0.01"));
    h.e.set_status(id, InstrumentStatus::Maintenance);
    h.cancel(A, "A1");
    h.e.set_status(id, InstrumentStatus::CancelOnly);
    h.cancel(A, "A1");
    h.expect(&[
        "REJ D j0 \"EService:Market in cancel_only mode\"",
        "REJ D j0 \"EService:Market in post_only mode\"",
        "A4 New:New 0/0.01 \"buy 0.01 BTC/USD @ limit 83000.0\"",
        "BOOK B 83000.0 0.01",
        "REJ D j0 \"EService:Market in limit_only mode\"",
        "REJ F j0 \"EService:Unavailable\"",
        "A7 Canceled:Canceled 0/0 orig=A1 \"Order canceled by user\"",
        "BOOK B 84000.0 0",
    ]);
}

// ---- reduce-only and positions (Derivatives) ----

#[test]
fn reduce_only_is_capped_by_the_position() {
    let mut h = H::derivatives();
    h.send(A, sell("0.01", "85000").reduce());
    h.expect(&["REJ D j0 \"EGeneral:Other:WOULD_NOT_REDUCE_POSITION\""]);
    h.send(B, sell("0.01", "85000"));
    h.send(A, buy("0.01", "85000"));
    h.trace();
    let id = h.e.instrument_id(b"PF_XBTUSD").unwrap();
    assert_eq!(h.e.position(h.accounts[0], id), d("0.01"));
    assert_eq!(h.e.position(h.accounts[1], id), d("-0.01"));
    h.send(B, buy("0.05", "84000"));
    h.send(A, sell("0.02", "84000").reduce());
    h.expect_only(
        &["A3"],
        &[
            "A3 New:New 0/0.02 \"sell 0.02 PF_XBTUSD @ limit 84000\"",
            "A3 Trade:Partial 0.01/0.01 fill=0.01@84000T",
            "A3 Canceled:Canceled 0.01/0 \"EOrder:Reduce only:Position is closed\"",
        ],
    );
    assert_eq!(h.e.position(h.accounts[0], id), Decimal::ZERO);
}

#[test]
fn resting_reduce_only_is_cancelled_when_the_position_closes() {
    let mut h = H::derivatives();
    h.send(B, sell("0.01", "85000"));
    h.send(A, buy("0.01", "85000"));
    h.send(A, sell("0.01", "86000").reduce());
    h.send(B, buy("0.01", "84000"));
    h.trace();
    assert_eq!(h.book(Side::Sell), ["86000:0.01"]);
    // Closing the position another way leaves the reduce-only order nothing to reduce.
    h.send(A, sell("0.01", "84000"));
    h.expect_only(
        &["A2", "BOOK S"],
        &[
            "A2 Canceled:Canceled 0/0 \"EOrder:Reduce only:Position is closed\"",
            "BOOK S 86000 0",
        ],
    );
}

// ---- limits ----

#[test]
fn spot_rate_limit_rejects_with_the_exact_text_then_recovers() {
    let acct = AccountConfig {
        tier: Tier::Starter,
        ..AccountConfig::default()
    };
    let mut h = H::with(Config::spot(), acct);
    for _ in 0..60 {
        h.send(A, buy("0.001", "84000.0"));
    }
    h.trace();
    h.send(A, buy("0.001", "84000.0"));
    h.expect(&["REJ D j0 \"EOrder:Rate limit exceeded\""]);
    let id = h.e.instrument_id(b"BTC/USD").unwrap();
    let now = h.now();
    assert_eq!(
        h.e.rate_counter_micros(h.accounts[0], id, now),
        61_000_000,
        "the refused add still costs its fixed part"
    );
    // A cancel of a fresh order costs 8: refused while the counter is high.
    h.cancel(A, "A1");
    h.expect(&["REJ F j0 \"EOrder:Rate limit exceeded\""]);
    // 2 s of decay at 1/s: room for one add, but the Starter open-order cap is 60.
    h.advance(2_000);
    h.send(A, buy("0.001", "84000.0"));
    h.expect(&["REJ D j0 \"EOrder:Orders limit exceeded\""]);
    // A mass cancel is never refused, even far above the threshold.
    h.mass_cancel(A, MassCancelScope::Session, false);
    let n = h
        .trace()
        .iter()
        .filter(|l| l.ends_with("\"Order canceled by user\""))
        .count();
    assert_eq!(n, 60);
    let now = h.now();
    assert!(h.e.rate_counter_micros(h.accounts[0], id, now) > 500_000_000);
}

#[test]
fn open_order_cap_per_tier() {
    let mut h = H::spot(); // Intermediate: 80
    for _ in 0..80 {
        h.send(A, buy("0.001", "84000.0"));
    }
    h.trace();
    h.send(A, buy("0.001", "84000.0"));
    h.send(A, mkt(Side::Buy, "0.001")); // cannot rest: not capped
    h.expect_only(
        &["REJ", "A82 New"],
        &[
            "REJ D j0 \"EOrder:Orders limit exceeded\"",
            "A82 New:New 0/0.001 \"buy 0.001 BTC/USD @ market\"",
        ],
    );
}

#[test]
fn derivatives_token_bucket_rejects_with_api_limit_exceeded() {
    let mut h = H::derivatives();
    for _ in 0..50 {
        h.send(A, buy("0.01", "80000"));
    }
    h.trace();
    h.send(A, buy("0.01", "80000"));
    h.mass_cancel(A, MassCancelScope::Session, false);
    h.expect(&[
        "REJ D j0 \"apiLimitExceeded\"",
        "REJ q j0 \"apiLimitExceeded\"",
    ]);
    // Another session has its own bucket.
    h.send(A2, buy("0.01", "80000"));
    h.expect_only(&["REJ"], &[]);
    h.advance(500); // 25 tokens
    h.mass_cancel(A, MassCancelScope::Session, false);
    assert_eq!(
        h.trace().iter().filter(|l| l.contains("Canceled")).count(),
        50
    );
}

#[test]
fn error_rate_safeguard_disconnects_once_with_too_many_errors() {
    let mut h = H::spot();
    let req = NewOrder::limit(b"1", b"NOPE/USD", Side::Buy, d("1"), d("1"));
    for i in 0..52 {
        h.advance(if i % 10 == 0 { 1 } else { 0 });
        h.send_raw(A, &req);
    }
    let got = h.trace();
    assert_eq!(got.len(), 53);
    assert_eq!(got[50], "REJ D j2 \"EQuery:Unknown asset pair\"");
    assert_eq!(got[51], "DISC \"Too many errors\"", "right after the 51st");
    assert_eq!(got.iter().filter(|l| l.starts_with("DISC")).count(), 1);
    // Slow errors never trip it.
    let mut h = H::spot();
    for _ in 0..200 {
        h.advance(25);
        h.send_raw(A, &req);
    }
    assert!(h.trace().iter().all(|l| !l.starts_with("DISC")));
}

// ---- reports: fees, ids, quote quantity ----

#[test]
fn fill_reports_carry_fees_money_and_ids_like_m07() {
    let mut h = H::spot();
    h.send(A, buy("0.01", "84000.0"));
    h.send(B, sell("0.004", "84000.0"));
    h.trace();
    let maker = h
        .reports
        .iter()
        .find(|r| r.fill.is_some() && r.account == h.accounts[0])
        .unwrap();
    let f = maker.fill.unwrap();
    assert_eq!(f.net_money.to_string(), "336.0");
    assert_eq!(maker.cum_fee.unwrap().to_string(), "0.5376");
    assert_eq!(maker.avg_px.to_string(), "84000.0");
    assert_eq!(maker.gross_trade_amt.to_string(), "336.0");
    assert_eq!(maker.leaves_qty.to_string(), "0.006");
    assert_eq!(f.trade_seq, 1);
    let oid = maker.order_id.as_bytes();
    assert!(oid.len() == 19 && oid[0] == b'O' && oid[6] == b'-' && oid[12] == b'-');
    let taker = h
        .reports
        .iter()
        .find(|r| r.fill.is_some() && r.account == h.accounts[1])
        .unwrap();
    assert_eq!(taker.cum_fee.unwrap().to_string(), "0.8736", "26 bps");
    assert_eq!(taker.fill.unwrap().trade_id, f.trade_id);
    assert_eq!(taker.exec_id, maker.exec_id + 1);
}

#[test]
fn quote_quantity_orders_convert_to_base() {
    let mut h = H::spot();
    h.send(B, sell("0.005", "84000.0"));
    h.send(B, sell("0.01", "84100.0"));
    h.trace();
    // 840.5 USD buys 0.005 @ 84000.0 (420.0) and 0.005 @ 84100.0 (420.5).
    h.send(A, mkt(Side::Buy, "840.5").quote_qty());
    h.expect_only(
        &["A1"],
        &[
            "A1 New:New 0/0.01 \"buy 0.01 BTC/USD @ market\"",
            "A1 Trade:Partial 0.005/0.005 fill=0.005@84000.0T",
            "A1 Trade:Filled 0.01/0 fill=0.005@84100.0T",
        ],
    );
    h.send(A, buy("100", "80000.0").quote_qty());
    h.expect_only(
        &["A2"],
        &["A2 New:New 0/0.00125 \"buy 0.00125 BTC/USD @ limit 80000.0\""],
    );
}

#[test]
fn derivatives_ids_are_uuids_and_avg_px_is_set() {
    let mut h = H::derivatives();
    h.send(B, sell("0.01", "85000"));
    h.send(A, buy("0.01", "85000"));
    h.trace();
    let r = h.reports.iter().rev().find(|r| r.fill.is_some()).unwrap();
    assert_eq!(r.order_id.as_bytes().len(), 36);
    assert_eq!(r.fill.unwrap().trade_id.as_bytes().len(), 36);
    assert_eq!(r.avg_px.to_string(), "85000.0");
}

#[test]
fn events_only_go_to_known_sessions() {
    let mut h = H::spot();
    let now = UtcTimestamp::from_nanos(T0);
    h.disconnect(B);
    let req = NewOrder::limit(b"1", b"BTC/USD", Side::Buy, d("1"), d("1"));
    assert!(h.e.handle_new_order(h.sessions[B], &req, now).is_err());
    assert!(h.e.poll_event().is_none(), "nothing for a closed session");
    let id = h.e.instrument_id(b"BTC/USD").unwrap();
    assert!(h.e.set_index_price(id, d("-1.0"), now).is_err());
    assert!(h.e.set_index_price(id, d("84000.05"), now).is_err());
}
