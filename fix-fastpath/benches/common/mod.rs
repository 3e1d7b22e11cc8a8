//! The messages and calls of the FIX fast-path measurements, shared by `benches/fastpath.rs`
//! (criterion, timed) and `examples/instructions.rs` (counted under callgrind), so that both
//! measure the same work.
#![allow(dead_code, clippy::unwrap_used)] // each user takes what it measures

use tickwire_fix::decimal::Decimal;
use tickwire_fix::outbound::{self, NewOrder, OrderShape, Side};
use tickwire_fix::template::Header;
use tickwire_fix::views::{ExecType, ExecutionReport, OrdStatus};

/// An ExecutionReport (fill) as Kraken sends it, SPEC M07: 354 bytes, 33 fields; `|` is SOH.
pub const ER: &str = "8=FIX.4.4|9=354|35=8|34=3|49=KRAKEN-TRD|56=TESTCLIENT|52=20260407-14:32:07.250|6=84000.0|11=1775572325000000|14=0.004|17=SIMX0000002:TRD001|31=84000.0|32=0.004|37=O3KQ7T-XH2LM-ZP4WUA|38=0.01|39=1|40=2|44=84000.0|54=1|55=BTC/USD|59=1|60=20260407-14:32:07.249|118=336.0|136=1|137=0.5376|138=USD|139=4|150=F|151=0.006|381=336.0|527=78211235|1003=THVRQM-33VKH-UCI7BS|5050=0|10=014|";

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
