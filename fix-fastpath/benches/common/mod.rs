//! The messages and calls of the FIX fast-path measurements, shared by `benches/fastpath.rs`
//! (criterion, timed) and `examples/instructions.rs` (counted under callgrind), so that both
//! measure the same work.
#![allow(dead_code, clippy::unwrap_used)] // each user takes what it measures

use tickwire_fix::decimal::Decimal;
use tickwire_fix::outbound::{self, NewOrder, OrderShape, Side};
use tickwire_fix::session::{Config, ResendPolicy, Role};
use tickwire_fix::template::Header;
use tickwire_fix::views::{ExecType, ExecutionReport, OrdStatus};

/// An ExecutionReport (fill) as Kraken sends it, SPEC M07: 377 bytes (BodyLength 354), 34 fields; `|` is SOH.
pub const ER: &str = "8=FIX.4.4|9=354|35=8|34=3|49=KRAKEN-TRD|56=TESTCLIENT|52=20260407-14:32:07.250|6=84000.0|11=1775572325000000|14=0.004|17=SIMX0000002:TRD001|31=84000.0|32=0.004|37=O3KQ7T-XH2LM-ZP4WUA|38=0.01|39=1|40=2|44=84000.0|54=1|55=BTC/USD|59=1|60=20260407-14:32:07.249|118=336.0|136=1|137=0.5376|138=USD|139=4|150=F|151=0.006|381=336.0|527=78211235|1003=THVRQM-33VKH-UCI7BS|5050=0|10=014|";

/// An ExecutionReport acknowledging a new order as Kraken sends it, SPEC M06: 297 bytes, 26
/// fields (the "~300 bytes" the target names); `|` is SOH.
pub const ER_NEW: &str = "8=FIX.4.4|9=274|35=8|34=2|49=KRAKEN-TRD|56=TESTCLIENT|52=20260407-14:32:05.004|6=0|11=1775572325000000|14=0|17=SIMX0000001:TRD001|18=P|37=O3KQ7T-XH2LM-ZP4WUA|38=0.01|39=0|40=2|44=84000.0|54=1|55=BTC/USD|58=buy 0.01 BTC/USD @ limit 84000.0|59=1|60=20260407-14:32:05.003|150=0|151=0.01|381=0|10=190|";

/// What "15 fields" of [`ER_NEW`] means: its six decimals, five enums and the lengths of
/// five text fields (summed).
pub type ErNewFields = ([Decimal; 6], [u8; 5], usize);

/// Reads the fields of [`ErNewFields`] from a view of [`ER_NEW`].
#[inline(always)]
pub fn er_new_fields(er: &ExecutionReport<'_>) -> ErNewFields {
    let decimals = [
        er.order_qty().unwrap().unwrap(),
        er.price().unwrap().unwrap(),
        er.gross_trade_amt().unwrap().unwrap(),
        er.cum_qty(),
        er.leaves_qty(),
        er.avg_px(),
    ];
    let enums = [
        er.exec_type().code(),
        er.ord_status().code(),
        er.side().code(),
        er.ord_type().unwrap().code(),
        er.time_in_force().unwrap().code(),
    ];
    let text = er.cl_ord_id().unwrap().len()
        + er.order_id().len()
        + er.exec_id().len()
        + er.symbol().len()
        + er.text().unwrap().len();
    (decimals, enums, text)
}

/// The minimal venue's increments of `tickwire bench` (`bench/src/feed.rs`): 243 bytes, four
/// entries of action, side, price and size only (no 278/273), deleting the two levels of the
/// previous tick and adding two new ones; `flip` alternates between two such ticks so that
/// every delete finds its level (start from a book holding ask 84000.5 and bid 84000.3).
pub fn feed_message(flip: bool) -> Vec<u8> {
    let header = "35=X|34=1|49=KRAKEN-MD|56=TESTCLIENT|52=20260407-14:32:03.120|";
    with_trailer(&format!("{header}{}", feed_fields(flip)))
}

/// The application fields of [`feed_message`] (55 onwards, after the header), `|` for SOH.
pub fn feed_fields(flip: bool) -> String {
    let (old, new) = if flip {
        ((840_003, 840_001), (840_005, 840_003))
    } else {
        ((840_005, 840_003), (840_003, 840_001))
    };
    let px = |p: i64| format!("{}.{}", p / 10, p % 10);
    format!(
        "55=BTC/USD|262=MD-BTCUSD-1|268=4|279=2|269=1|270={}|271=0|279=2|269=0|270={}|271=0|279=0|269=1|270={}|271=0.5|279=0|269=0|270={}|271=0.75|",
        px(old.0), px(old.1), px(new.0), px(new.1)
    )
}

/// The body of a 4-entry MarketDataIncrementalRefresh in Kraken's entry layout (279 269 278
/// 270 271 273), all four `New`; `|` is SOH.
pub const MD_BODY: &str = "35=X|34=1|49=KRAKEN-MD|56=TESTCLIENT|52=20260407-14:32:03.120|55=BTC/USD|262=MD-1|268=4|279=0|269=1|278=O84000.3|270=84000.3|271=0.25|273=14:32:03.101|279=0|269=0|278=B84000.0|270=84000.0|271=0.5|273=14:32:03.104|279=0|269=1|278=O84000.5|270=84000.5|271=1.25|273=14:32:03.104|279=0|269=0|278=B83999.9|270=83999.9|271=2.0|273=14:32:03.104|";

/// [`MD_BODY`] as a complete message.
pub fn md_message() -> Vec<u8> {
    with_trailer(MD_BODY)
}

/// A complete message from a body written with `|` for SOH: BeginString and BodyLength in
/// front, CheckSum behind.
pub fn with_trailer(body: &str) -> Vec<u8> {
    let body = body.replace('|', "\x01");
    let mut m = format!("8=FIX.4.4\x019={}\x01{body}", body.len()).into_bytes();
    let sum = m.iter().map(|&b| u32::from(b)).sum::<u32>() % 256;
    m.extend_from_slice(format!("10={sum:03}\x01").as_bytes());
    m
}

/// The NewOrderSingle template both measurements patch: a limit buy of BTC/USD.
pub fn order() -> NewOrder {
    let header = Header {
        begin_string: b"FIX.4.4",
        sender: b"TESTCLIENT",
        target: b"KRAKEN-TRD",
        time_after_target: true,
    };
    outbound::new_order_single(header, &OrderShape::limit(b"BTC/USD", Side::Buy)).unwrap()
}

/// What "15 fields" of an ExecutionReport means in the measurements: eight decimals, three
/// enums, and the lengths of six text fields (summed).
pub type ErFields = (
    [Decimal; 8],
    ExecType,
    OrdStatus,
    tickwire_fix::views::Side,
    usize,
);

/// Reads the fields of [`ErFields`] from a view of [`ER`].
#[inline(always)]
pub fn er_fields(er: &ExecutionReport<'_>) -> ErFields {
    let decimals = [
        er.last_px().unwrap().unwrap(),
        er.last_qty().unwrap().unwrap(),
        er.fee().unwrap().unwrap(),
        er.order_qty().unwrap().unwrap(),
        er.price().unwrap().unwrap(),
        er.cum_qty(),
        er.leaves_qty(),
        er.avg_px(),
    ];
    let text = er.cl_ord_id().unwrap().len()
        + er.order_id().len()
        + er.exec_id().len()
        + er.symbol().len()
        + er.fee_currency().unwrap().len()
        + er.trade_id().unwrap().len();
    (decimals, er.exec_type(), er.ord_status(), er.side(), text)
}

/// The two ends of a market-data connection as `tickwire bench` runs them: the client
/// (TESTCLIENT, initiator) and the venue (KRAKEN-MD, acceptor answering resends with the
/// application messages), both without the daily rollover.
pub fn md_session_configs() -> (Config, Config) {
    let mut client = Config::kraken_initiator("TESTCLIENT", "KRAKEN-MD").unwrap();
    client.rollover = None;
    let mut venue = Config::kraken_initiator("KRAKEN-MD", "TESTCLIENT").unwrap();
    venue.role = Role::Acceptor;
    venue.resend_policy = ResendPolicy::ReplayApplication;
    venue.rollover = None;
    (client, venue)
}
