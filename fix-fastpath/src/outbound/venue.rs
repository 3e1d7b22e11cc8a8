//! Messages a Kraken-like venue sends (the acceptor side, used by the venue simulator), written
//! in one pass with the crate's [`Encoder`] into a caller-owned buffer — no allocation.
//!
//! These messages carry variable-count groups (book entries, fills' fees, instruments), which do
//! not fit fixed slots, and they are not on the client's tick-to-trade path, so they are encoded
//! whole each time instead of from a [`crate::template::Template`]. Field order follows SPEC §7,
//! so each function given an example's values reproduces it byte for byte.
//!
//! Call: `let n = execution_report(&mut Encoder::new(&mut buf), &stamp, &report)?;` then send
//! `buf[..n]`.

use crate::decimal::Decimal;
use crate::encode::{EncodeError, Encoder};
use crate::outbound::{OrdType, Side, TimeInForce};
use crate::time::{UtcTimestamp, MILLIS_LEN};

/// BeginString of every message.
const BEGIN: &[u8] = b"FIX.4.4";

/// The header values of one outgoing message.
#[derive(Debug, Clone, Copy)]
pub struct Stamp<'a> {
    /// SenderCompID (49), e.g. `KRAKEN-TRD`.
    pub sender: &'a [u8],
    /// TargetCompID (56).
    pub target: &'a [u8],
    /// MsgSeqNum (34).
    pub seq: u64,
    /// SendingTime (52).
    pub sending_time: UtcTimestamp,
}

/// `8 9 35 34 49 56 52`, Kraken's header order.
pub(super) fn begin<'e, 'b>(
    enc: &'e mut Encoder<'b>,
    s: &Stamp<'_>,
    msg_type: &[u8],
) -> &'e mut Encoder<'b> {
    enc.begin(BEGIN, msg_type)
        .uint(34, s.seq)
        .field(49, s.sender)
        .field(56, s.target)
        .timestamp(52, s.sending_time)
}

pub(super) fn char_field<'e, 'b>(enc: &'e mut Encoder<'b>, tag: u32, c: u8) -> &'e mut Encoder<'b> {
    enc.field(tag, &[c])
}

/// Logon acknowledgement (35=A): `98=0 108 [141=Y]` (M03). Credentials are never echoed.
///
/// # Errors
/// [`EncodeError`] if `enc`'s buffer is too small or a value contains SOH.
pub fn logon_ack(
    enc: &mut Encoder<'_>,
    s: &Stamp<'_>,
    heartbeat_interval_s: u32,
    reset_seq_num: bool,
) -> Result<usize, EncodeError> {
    begin(enc, s, b"A")
        .uint(98, 0)
        .uint(108, u64::from(heartbeat_interval_s));
    if reset_seq_num {
        enc.boolean(141, true);
    }
    enc.finish()
}

/// TestRequest (35=1) with TestReqID (S01).
///
/// # Errors
/// As [`logon_ack`].
pub fn test_request(
    enc: &mut Encoder<'_>,
    s: &Stamp<'_>,
    test_req_id: &[u8],
) -> Result<usize, EncodeError> {
    begin(enc, s, b"1").field(112, test_req_id);
    enc.finish()
}

/// Heartbeat (35=0), echoing a TestReqID when answering one.
///
/// # Errors
/// As [`logon_ack`].
pub fn heartbeat(
    enc: &mut Encoder<'_>,
    s: &Stamp<'_>,
    test_req_id: Option<&[u8]>,
) -> Result<usize, EncodeError> {
    begin(enc, s, b"0");
    if let Some(id) = test_req_id {
        enc.field(112, id);
    }
    enc.finish()
}

/// Logout (35=5) with an optional reason (S05).
///
/// # Errors
/// As [`logon_ack`].
pub fn logout(
    enc: &mut Encoder<'_>,
    s: &Stamp<'_>,
    text: Option<&[u8]>,
) -> Result<usize, EncodeError> {
    begin(enc, s, b"5");
    if let Some(t) = text {
        enc.field(58, t);
    }
    enc.finish()
}

/// SequenceReset-GapFill (35=4) as a retransmission: `43=Y 122 123=Y 36` (S04). `s.seq` is the
/// first sequence number filled, `new_seq` the next one that will be sent.
///
/// # Errors
/// As [`logon_ack`].
pub fn gap_fill(
    enc: &mut Encoder<'_>,
    s: &Stamp<'_>,
    orig_sending_time: UtcTimestamp,
    new_seq: u64,
) -> Result<usize, EncodeError> {
    begin(enc, s, b"4")
        .boolean(43, true)
        .timestamp(122, orig_sending_time)
        .boolean(123, true)
        .uint(36, new_seq);
    enc.finish()
}

/// Session-level Reject (35=3) values.
#[derive(Debug, Clone, Copy)]
pub struct SessionReject<'a> {
    /// RefSeqNum (45).
    pub ref_seq: u64,
    /// RefTagID (371), when a specific tag is at fault.
    pub ref_tag: Option<u32>,
    /// RefMsgType (372).
    pub ref_msg_type: &'a [u8],
    /// SessionRejectReason (373): 1 required tag missing, 5 value incorrect, …
    pub reason: u32,
    /// Text (58).
    pub text: Option<&'a [u8]>,
}

/// Reject (35=3): `45 [371] 372 373 [58]` (M14).
///
/// # Errors
/// As [`logon_ack`].
pub fn reject(
    enc: &mut Encoder<'_>,
    s: &Stamp<'_>,
    r: &SessionReject<'_>,
) -> Result<usize, EncodeError> {
    begin(enc, s, b"3").uint(45, r.ref_seq);
    if let Some(tag) = r.ref_tag {
        enc.uint(371, u64::from(tag));
    }
    enc.field(372, r.ref_msg_type)
        .uint(373, u64::from(r.reason));
    if let Some(t) = r.text {
        enc.field(58, t);
    }
    enc.finish()
}

/// BusinessMessageReject (35=j) values.
#[derive(Debug, Clone, Copy)]
pub struct BusinessReject<'a> {
    /// RefSeqNum (45).
    pub ref_seq: u64,
    /// Text (58), the Kraken error string.
    pub text: Option<&'a [u8]>,
    /// RefMsgType (372).
    pub ref_msg_type: &'a [u8],
    /// BusinessRejectRefID (379): the rejected message's ClOrdID.
    pub ref_id: Option<&'a [u8]>,
    /// BusinessRejectReason (380).
    pub reason: u32,
}

/// BusinessMessageReject (35=j): `45 [58] 372 [379] 380` (M12, M13).
///
/// # Errors
/// As [`logon_ack`].
pub fn business_reject(
    enc: &mut Encoder<'_>,
    s: &Stamp<'_>,
    r: &BusinessReject<'_>,
) -> Result<usize, EncodeError> {
    begin(enc, s, b"j").uint(45, r.ref_seq);
    if let Some(t) = r.text {
        enc.field(58, t);
    }
    enc.field(372, r.ref_msg_type);
    if let Some(id) = r.ref_id {
        enc.field(379, id);
    }
    enc.uint(380, u64::from(r.reason));
    enc.finish()
}

/// Fee group of a fill (136=1): MiscFeeAmt, MiscFeeCurr, MiscFeeType, optional MiscFeeBasis.
#[derive(Debug, Clone, Copy)]
pub struct MiscFee<'a> {
    /// MiscFeeAmt (137), cumulative for the order.
    pub amount: Decimal,
    /// MiscFeeCurr (138).
    pub currency: &'a [u8],
    /// MiscFeeType (139): 4 exchange fee.
    pub fee_type: u32,
    /// MiscFeeBasis (891): 2 percentage.
    pub basis: Option<u32>,
}

/// Fill details of a 150=F report.
#[derive(Debug, Clone, Copy)]
pub struct Fill<'a> {
    /// LastPx (31).
    pub last_px: Decimal,
    /// LastQty (32).
    pub last_qty: Decimal,
    /// NetMoney (118): LastQty × LastPx.
    pub net_money: Decimal,
    /// SecondaryExecID (527).
    pub secondary_exec_id: Option<u64>,
    /// TradeID (1003).
    pub trade_id: Option<&'a [u8]>,
    /// LiquidityInd (5050): 0 maker, 1 taker.
    pub liquidity: Option<u8>,
}

/// ExecutionReport (35=8) values: every field of SPEC §4.2. Optional fields are left out when
/// `None`. Written in ascending tag order (as Kraken's examples are), the fee group kept together.
#[derive(Debug, Clone, Copy)]
pub struct ExecutionReport<'a> {
    /// AvgPx (6).
    pub avg_px: Decimal,
    /// ClOrdID (11).
    pub cl_ord_id: &'a [u8],
    /// CumQty (14).
    pub cum_qty: Decimal,
    /// ExecID (17).
    pub exec_id: &'a [u8],
    /// ExecInst (18), echoed by the simulator.
    pub exec_inst: Option<&'a [u8]>,
    /// LastPx/LastQty/NetMoney/527/1003/5050 of a fill.
    pub fill: Option<Fill<'a>>,
    /// OrderID (37).
    pub order_id: &'a [u8],
    /// OrderQty (38).
    pub order_qty: Decimal,
    /// OrdStatus (39).
    pub ord_status: u8,
    /// OrdType (40).
    pub ord_type: OrdType,
    /// OrigClOrdID (41).
    pub orig_cl_ord_id: Option<&'a [u8]>,
    /// Price (44).
    pub price: Option<Decimal>,
    /// Side (54).
    pub side: Side,
    /// Symbol (55).
    pub symbol: &'a [u8],
    /// Text (58).
    pub text: Option<&'a [u8]>,
    /// TimeInForce (59).
    pub tif: TimeInForce,
    /// TransactTime (60).
    pub transact_time: UtcTimestamp,
    /// NoAllocs=1 / AllocAccount (78/79).
    pub alloc_account: Option<&'a [u8]>,
    /// StopPx (99).
    pub stop_px: Option<Decimal>,
    /// ExpireTime (126), written `YYYYMMDD-HH:MM:SS`.
    pub expire_time: Option<UtcTimestamp>,
    /// Fee group (136=1 137 138 139, optionally 891).
    pub fee: Option<MiscFee<'a>>,
    /// ExecType (150).
    pub exec_type: u8,
    /// LeavesQty (151).
    pub leaves_qty: Decimal,
    /// ExecRestatementReason (378).
    pub restatement_reason: Option<u32>,
    /// GrossTradeAmt (381).
    pub gross_trade_amt: Decimal,
    /// TriggerPrice (1102).
    pub trigger_price: Option<Decimal>,
    /// DisplayQty (1138).
    pub display_qty: Option<Decimal>,
}

/// ExecutionReport (35=8) (M06, M07, M09, M11).
///
/// # Errors
/// As [`logon_ack`].
pub fn execution_report(
    enc: &mut Encoder<'_>,
    s: &Stamp<'_>,
    r: &ExecutionReport<'_>,
) -> Result<usize, EncodeError> {
    begin(enc, s, b"8")
        .decimal(6, r.avg_px)
        .field(11, r.cl_ord_id)
        .decimal(14, r.cum_qty)
        .field(17, r.exec_id);
    if let Some(ei) = r.exec_inst {
        enc.field(18, ei);
    }
    if let Some(f) = &r.fill {
        enc.decimal(31, f.last_px).decimal(32, f.last_qty);
    }
    enc.field(37, r.order_id).decimal(38, r.order_qty);
    char_field(enc, 39, r.ord_status).field(40, r.ord_type.code());
    if let Some(id) = r.orig_cl_ord_id {
        enc.field(41, id);
    }
    if let Some(p) = r.price {
        enc.decimal(44, p);
    }
    enc.field(54, r.side.code()).field(55, r.symbol);
    if let Some(t) = r.text {
        enc.field(58, t);
    }
    enc.field(59, r.tif.code()).timestamp(60, r.transact_time);
    if let Some(acct) = r.alloc_account {
        enc.uint(78, 1).field(79, acct);
    }
    if let Some(p) = r.stop_px {
        enc.decimal(99, p);
    }
    if let Some(f) = &r.fill {
        enc.decimal(118, f.net_money);
    }
    if let Some(t) = r.expire_time {
        let mut text = [0u8; MILLIS_LEN];
        t.write_millis(&mut text);
        enc.field(126, &text[..17]);
    }
    if let Some(fee) = &r.fee {
        enc.uint(136, 1)
            .decimal(137, fee.amount)
            .field(138, fee.currency)
            .uint(139, u64::from(fee.fee_type));
        if let Some(b) = fee.basis {
            enc.uint(891, u64::from(b));
        }
    }
    char_field(enc, 150, r.exec_type).decimal(151, r.leaves_qty);
    if let Some(reason) = r.restatement_reason {
        enc.uint(378, u64::from(reason));
    }
    enc.decimal(381, r.gross_trade_amt);
    if let Some(f) = &r.fill {
        if let Some(id) = f.secondary_exec_id {
            enc.uint(527, id);
        }
        if let Some(id) = f.trade_id {
            enc.field(1003, id);
        }
    }
    if let Some(p) = r.trigger_price {
        enc.decimal(1102, p);
    }
    if let Some(q) = r.display_qty {
        enc.decimal(1138, q);
    }
    if let Some(l) = r.fill.and_then(|f| f.liquidity) {
        enc.uint(5050, u64::from(l));
    }
    enc.finish()
}

/// MDEntryTime (273) format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryTime {
    /// `HH:MM:SS.sss` (L2).
    TimeOnly(UtcTimestamp),
    /// `YYYYMMDD-HH:MM:SS.sss`.
    Full(UtcTimestamp),
}

/// One market-data entry (a group member of 35=W / 35=X).
#[derive(Debug, Clone, Copy)]
pub struct MdEntry<'a> {
    /// MDUpdateAction (279), incrementals only: `0` new, `1` change, `2` delete.
    pub action: Option<u8>,
    /// MDEntryType (269): `0` bid, `1` offer, `2` trade.
    pub entry_type: u8,
    /// MDEntryID (278).
    pub id: &'a [u8],
    /// MDEntryPx (270).
    pub px: Decimal,
    /// MDEntrySize (271).
    pub size: Decimal,
    /// MDEntryTime (273).
    pub time: EntryTime,
    /// OrdType (40) of the taker, trades only.
    pub taker_ord_type: Option<OrdType>,
    /// AggressorSide (2446), trades only.
    pub aggressor: Option<Side>,
}

fn md_entries(enc: &mut Encoder<'_>, entries: &[MdEntry<'_>]) {
    enc.uint(268, entries.len() as u64);
    for e in entries {
        if let Some(a) = e.action {
            char_field(enc, 279, a);
        }
        char_field(enc, 269, e.entry_type)
            .field(278, e.id)
            .decimal(270, e.px)
            .decimal(271, e.size);
        let mut text = [0u8; MILLIS_LEN];
        match e.time {
            EntryTime::TimeOnly(t) => {
                t.write_millis(&mut text);
                enc.field(273, &text[9..]);
            }
            EntryTime::Full(t) => {
                enc.timestamp(273, t);
            }
        }
        if let Some(t) = e.taker_ord_type {
            enc.field(40, t.code());
        }
        if let Some(side) = e.aggressor {
            enc.field(2446, side.code());
        }
    }
}

/// MarketDataSnapshotFullRefresh (35=W): `55 262 268 (269 278 270 271 273)*` (M18).
///
/// # Errors
/// As [`logon_ack`].
pub fn md_snapshot(
    enc: &mut Encoder<'_>,
    s: &Stamp<'_>,
    md_req_id: &[u8],
    symbol: &[u8],
    entries: &[MdEntry<'_>],
) -> Result<usize, EncodeError> {
    begin(enc, s, b"W").field(55, symbol).field(262, md_req_id);
    md_entries(enc, entries);
    enc.finish()
}

/// MarketDataIncrementalRefresh (35=X): `55 262 268 (279 269 278 270 271 273 [40 2446])*
/// [5041]` (M19, M20). `book_checksum` is Kraken's CRC32 of the top ten levels.
///
/// # Errors
/// As [`logon_ack`].
pub fn md_incremental(
    enc: &mut Encoder<'_>,
    s: &Stamp<'_>,
    md_req_id: &[u8],
    symbol: &[u8],
    entries: &[MdEntry<'_>],
    book_checksum: Option<u32>,
) -> Result<usize, EncodeError> {
    begin(enc, s, b"X").field(55, symbol).field(262, md_req_id);
    md_entries(enc, entries);
    if let Some(c) = book_checksum {
        enc.uint(5041, u64::from(c));
    }
    enc.finish()
}

/// MarketDataRequestReject (35=Y): `262 281 [58]`.
///
/// # Errors
/// As [`logon_ack`].
pub fn md_request_reject(
    enc: &mut Encoder<'_>,
    s: &Stamp<'_>,
    md_req_id: &[u8],
    reason: u8,
    text: Option<&[u8]>,
) -> Result<usize, EncodeError> {
    begin(enc, s, b"Y").field(262, md_req_id);
    char_field(enc, 281, reason);
    if let Some(t) = text {
        enc.field(58, t);
    }
    enc.finish()
}

/// One instrument of an InstrumentList (35=y).
#[derive(Debug, Clone, Copy)]
pub struct Instrument<'a> {
    /// Symbol (55).
    pub symbol: &'a [u8],
    /// MinTradeVol (562): quantity step.
    pub min_trade_vol: Decimal,
    /// QtyPrecision (5010).
    pub qty_precision: u8,
    /// QtyMin (5011).
    pub qty_min: Decimal,
    /// QtyMax (5012).
    pub qty_max: Option<Decimal>,
    /// MinimumCost (5013).
    pub min_cost: Option<Decimal>,
    /// PricePrecision (2349).
    pub price_precision: u8,
    /// MDPricePrecision (5052).
    pub md_price_precision: Option<u8>,
    /// TickSize (5022).
    pub tick_size: Decimal,
    /// AssetPairStatus (5032): 1 online, …
    pub status: u8,
}

/// InstrumentList (35=y): `320 322 560 146 (55 562 5010 5011 [5012] [5013] 2349 [5052] 5022
/// 5032)*` (S07).
///
/// # Errors
/// As [`logon_ack`].
pub fn instrument_list(
    enc: &mut Encoder<'_>,
    s: &Stamp<'_>,
    req_id: &[u8],
    response_id: &[u8],
    result: u8,
    instruments: &[Instrument<'_>],
) -> Result<usize, EncodeError> {
    begin(enc, s, b"y")
        .field(320, req_id)
        .field(322, response_id)
        .uint(560, u64::from(result))
        .uint(146, instruments.len() as u64);
    for i in instruments {
        enc.field(55, i.symbol)
            .decimal(562, i.min_trade_vol)
            .uint(5010, u64::from(i.qty_precision))
            .decimal(5011, i.qty_min);
        if let Some(q) = i.qty_max {
            enc.decimal(5012, q);
        }
        if let Some(c) = i.min_cost {
            enc.decimal(5013, c);
        }
        enc.uint(2349, u64::from(i.price_precision));
        if let Some(p) = i.md_price_precision {
            enc.uint(5052, u64::from(p));
        }
        enc.decimal(5022, i.tick_size)
            .uint(5032, u64::from(i.status));
    }
    enc.finish()
}

/// TradingSessionStatus (35=h): `335 336 340 [567]`.
///
/// # Errors
/// As [`logon_ack`].
pub fn trading_session_status(
    enc: &mut Encoder<'_>,
    s: &Stamp<'_>,
    req_id: &[u8],
    session_id: &[u8],
    status: u32,
    reject_reason: Option<u32>,
) -> Result<usize, EncodeError> {
    begin(enc, s, b"h")
        .field(335, req_id)
        .field(336, session_id)
        .uint(340, u64::from(status));
    if let Some(r) = reject_reason {
        enc.uint(567, u64::from(r));
    }
    enc.finish()
}
