//! Typed, zero-copy views of the messages a Kraken client receives.
//!
//! A view is checked once at construction (`new_checked`: right MsgType, required fields present
//! and well-formed) and then reads fields without further checks that could fail, except those
//! whose absence Kraken allows (returned as `Option`). Enumerations keep unknown values in an
//! `Other` variant: Kraken documents a narrower set than FIX allows (SPEC §4.2) and may send more.
//!
//! ```text
//! Message ──► ExecutionReport::new_checked(&msg)? ──► .exec_type(), .cum_qty(), .last_px() …
//! ```
//!
//! Views: [`ExecutionReport`] (8), [`BusinessMessageReject`] (j), [`Reject`] (3),
//! [`MarketDataSnapshotFullRefresh`] (W) and [`MarketDataIncrementalRefresh`] (X) (both also as
//! the combined [`MarketData`] the book consumes), [`MarketDataRequestReject`] (Y),
//! [`InstrumentList`] (y), [`TradingSessionStatus`] (h), [`Logon`] (A), [`Logout`] (5),
//! [`Heartbeat`] (0), [`TestRequest`] (1), [`ResendRequest`] (2), [`SequenceReset`] (4).
//! None allocates; all are `Copy` and borrow the message.

use crate::decimal::Decimal;
use crate::dict::SessionRejectReason;
use crate::parse::{parse_uint, Entry, FieldRef, LayoutId, Message, ParseError};
use crate::tags;
use crate::time::UtcTimestamp;

/// Why a message does not fit a view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewError {
    /// MsgType is not the view's.
    WrongMsgType,
    /// A required field is missing or malformed.
    Field(ParseError),
}

impl From<ParseError> for ViewError {
    fn from(e: ParseError) -> Self {
        ViewError::Field(e)
    }
}

impl core::fmt::Display for ViewError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::WrongMsgType => f.write_str("unexpected MsgType"),
            Self::Field(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ViewError {}

macro_rules! char_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident = $code:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name {
            $($(#[$vm])* $variant,)*
            /// A value outside the documented set.
            Other(u8),
        }

        impl $name {
            /// From the wire character: one load from a table of all 256 (a `match` over
            /// the sparse codes compiled to an indirect jump).
            #[inline]
            pub fn from_code(c: u8) -> Self {
                static TABLE: [$name; 256] = {
                    let mut t = [$name::Other(0); 256];
                    let mut i = 0;
                    while i < 256 {
                        t[i] = $name::Other(i as u8);
                        i += 1;
                    }
                    $(t[$code as usize] = $name::$variant;)*
                    t
                };
                TABLE[usize::from(c)]
            }

            /// The wire character.
            pub fn code(self) -> u8 {
                match self {
                    $(Self::$variant => $code,)*
                    Self::Other(c) => c,
                }
            }
        }
    };
}

char_enum!(
    /// ExecType (150).
    ExecType {
        /// 0
        New = b'0',
        /// 4
        Canceled = b'4',
        /// 5
        Replaced = b'5',
        /// 8
        Rejected = b'8',
        /// A
        PendingNew = b'A',
        /// C
        Expired = b'C',
        /// D
        Restated = b'D',
        /// F
        Trade = b'F',
        /// I
        OrderStatus = b'I',
    }
);

char_enum!(
    /// OrdStatus (39).
    OrdStatus {
        /// 0
        New = b'0',
        /// 1
        PartiallyFilled = b'1',
        /// 2
        Filled = b'2',
        /// 4
        Canceled = b'4',
        /// 5
        Replaced = b'5',
        /// 8
        Rejected = b'8',
        /// A
        PendingNew = b'A',
        /// C
        Expired = b'C',
        /// E
        PendingReplace = b'E',
    }
);

impl OrdStatus {
    /// True when the order can no longer trade.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Filled | Self::Canceled | Self::Rejected | Self::Expired
        )
    }
}

char_enum!(
    /// Side (54) as received.
    Side {
        /// 1
        Buy = b'1',
        /// 2
        Sell = b'2',
    }
);

char_enum!(
    /// OrdType (40) as Kraken uses it (SPEC §4.1).
    OrdType {
        /// 1
        Market = b'1',
        /// 2
        Limit = b'2',
        /// 3: stop-loss.
        Stop = b'3',
        /// 4: stop-loss-limit.
        StopLimit = b'4',
        /// R: take-profit (Kraken).
        TakeProfit = b'R',
        /// T: take-profit-limit (Kraken).
        TakeProfitLimit = b'T',
        /// U: trailing stop (Kraken).
        TrailingStop = b'U',
        /// V: trailing stop limit (Kraken, Spot).
        TrailingStopLimit = b'V',
    }
);

char_enum!(
    /// TimeInForce (59) as Kraken uses it.
    TimeInForce {
        /// 0
        Day = b'0',
        /// 1
        GoodTillCancel = b'1',
        /// 3
        ImmediateOrCancel = b'3',
        /// 4
        FillOrKill = b'4',
        /// 6
        GoodTillDate = b'6',
    }
);

char_enum!(
    /// MDEntryType (269).
    EntryType {
        /// 0
        Bid = b'0',
        /// 1
        Offer = b'1',
        /// 2
        Trade = b'2',
    }
);

char_enum!(
    /// MDUpdateAction (279).
    UpdateAction {
        /// 0
        New = b'0',
        /// 1
        Change = b'1',
        /// 2
        Delete = b'2',
    }
);

fn expect_type(msg: &Message<'_>, ty: &[u8]) -> Result<(), ViewError> {
    if msg.msg_type() == ty {
        Ok(())
    } else {
        Err(ViewError::WrongMsgType)
    }
}

/// Tags an ExecutionReport view reads, in slot order.
const ER_TAGS: [u32; 28] = [
    11, 37, 17, 150, 39, 54, 55, 14, 151, 6, 41, 38, 44, 31, 32, 137, 138, 1003, 5050, 58, 60, 40,
    59, 99, 381, 118, 527, 18,
];

/// Slot of [`ExecutionReport::at`] that tags outside [`ER_TAGS`] are written to (and never read).
const ER_OTHER: usize = ER_TAGS.len();

const fn er_table() -> [u8; 1024] {
    let mut t = [ER_OTHER as u8; 1024];
    let mut k = 0;
    while k < ER_TAGS.len() {
        if ER_TAGS[k] < 1024 {
            t[ER_TAGS[k] as usize] = k as u8;
        }
        k += 1;
    }
    t
}

/// Tag → slot of [`ER_TAGS`] ([`ER_OTHER`] for the rest) for tags below 1024: one load per
/// field instead of a compare chain.
static ER_SLOT: [u8; 1024] = er_table();

#[inline(always)]
fn er_slot(tag: u32) -> usize {
    match ER_SLOT.get(tag as usize) {
        Some(&k) => usize::from(k),
        None => match tag {
            1003 => 17,
            5050 => 18,
            _ => ER_OTHER,
        },
    }
}

/// ExecutionReport (35=8). Indexed in one pass at construction; accessors are O(1).
#[derive(Debug, Clone, Copy)]
pub struct ExecutionReport<'a> {
    msg: Message<'a>,
    /// Field index of each of [`ER_TAGS`]; the last entry ([`ER_OTHER`]) takes every other tag.
    at: [u16; ER_TAGS.len() + 1],
    exec_type: ExecType,
    ord_status: OrdStatus,
    side: Side,
    cum_qty: Decimal,
    leaves_qty: Decimal,
    avg_px: Decimal,
}

/// The index of a tag not in the message: beyond every field the table holds (it holds the
/// first [`ABSENT`] fields only), so looking it up finds nothing without a test of its own.
const ABSENT: u16 = u16::MAX;

/// The value of [`ER_TAGS`]`[k]` by the tag → field table `at`, if present.
#[inline(always)]
fn er_get<'a>(msg: &Message<'a>, at: &[u16; ER_TAGS.len() + 1], k: usize) -> Option<&'a [u8]> {
    msg.fields().get(usize::from(at[k])).map(|f| msg.value(*f))
}

/// The value of [`ER_TAGS`]`[k]` during [`ExecutionReport::new_checked`], required.
#[inline(always)]
fn er_value<'a>(
    msg: &Message<'a>,
    at: &[u16; ER_TAGS.len() + 1],
    k: usize,
) -> Result<&'a [u8], ViewError> {
    er_get(msg, at, k).ok_or(ViewError::Field(ParseError::Missing { tag: ER_TAGS[k] }))
}

/// [`er_value`] as one character.
#[inline(always)]
fn er_char(msg: &Message<'_>, at: &[u16; ER_TAGS.len() + 1], k: usize) -> Result<u8, ViewError> {
    match er_value(msg, at, k)? {
        [c] => Ok(*c),
        _ => Err(ViewError::Field(ParseError::BadChar { tag: ER_TAGS[k] })),
    }
}

/// `v`, the value of `tag`, as a decimal; a malformed one is reported with its tag.
#[inline(always)]
fn decimal_of(tag: u32, v: &[u8]) -> Result<Decimal, ViewError> {
    Decimal::parse(v).map_err(|error| ViewError::Field(ParseError::BadDecimal { tag, error }))
}

/// [`er_value`] as a decimal.
#[inline(always)]
fn er_decimal(
    msg: &Message<'_>,
    at: &[u16; ER_TAGS.len() + 1],
    k: usize,
) -> Result<Decimal, ViewError> {
    decimal_of(ER_TAGS[k], er_value(msg, at, k)?)
}

/// The tag → field table of [`ExecutionReport`] views, kept by the caller from one report to
/// the next: while the reports keep one tag layout (the same [`LayoutId`]), the table of the
/// first serves them all and [`ExecutionReport::new_cached`] skips the pass over the fields
/// that fills it. Create it once per stream of reports; `new` is a `const fn`.
#[derive(Debug, Clone)]
pub struct ErTable {
    layout: LayoutId,
    at: [u16; ER_TAGS.len() + 1],
}

impl Default for ErTable {
    fn default() -> Self {
        Self::new()
    }
}

impl ErTable {
    /// A table of no layout yet.
    pub const fn new() -> Self {
        ErTable {
            layout: LayoutId::NONE,
            at: [ABSENT; ER_TAGS.len() + 1],
        }
    }
}

/// The first index of each of [`ER_TAGS`] among the first [`ABSENT`] of `fields` ([`ABSENT`]
/// when missing: a report has its fields near the start, and an index must fit the table).
#[inline(always)]
fn er_at(fields: &[FieldRef]) -> [u16; ER_TAGS.len() + 1] {
    // Back to front with unconditional stores, so the first occurrence of each tag is the
    // one left: one table load and one store per field, no branch and no load of `at`.
    let mut at = [ABSENT; ER_TAGS.len() + 1];
    for i in (0..fields.len().min(usize::from(ABSENT))).rev() {
        at[er_slot(fields[i].tag)] = i as u16;
    }
    at
}

impl<'a> ExecutionReport<'a> {
    /// Checks MsgType and the fields every report carries (37, 17, 150, 39, 54, 55, 14, 151, 6).
    ///
    /// # Errors
    /// [`ViewError`].
    #[inline(always)]
    pub fn new_checked(msg: &Message<'a>) -> Result<Self, ViewError> {
        expect_type(msg, b"8")?;
        Self::with_table(msg, er_at(msg.fields()))
    }

    /// [`ExecutionReport::new_checked`] with the tag table taken from `table` when `msg` has
    /// the layout `table` was last filled for (its [`Message::layout_id`]), and filled from
    /// `msg` (for the next report) when not: the same view, without a pass over the fields
    /// while a stream of reports repeats one layout.
    ///
    /// # Errors
    /// [`ViewError`], as [`ExecutionReport::new_checked`].
    #[inline(always)]
    pub fn new_cached(msg: &Message<'a>, table: &mut ErTable) -> Result<Self, ViewError> {
        expect_type(msg, b"8")?;
        if table.layout != msg.layout_id() {
            table.at = er_at(msg.fields());
            table.layout = msg.layout_id();
        }
        Self::with_table(msg, table.at)
    }

    #[inline(always)]
    fn with_table(msg: &Message<'a>, at: [u16; ER_TAGS.len() + 1]) -> Result<Self, ViewError> {
        er_value(msg, &at, 1)?;
        er_value(msg, &at, 2)?;
        er_value(msg, &at, 6)?;
        let exec_type = ExecType::from_code(er_char(msg, &at, 3)?);
        let ord_status = OrdStatus::from_code(er_char(msg, &at, 4)?);
        let side = Side::from_code(er_char(msg, &at, 5)?);
        let cum_qty = er_decimal(msg, &at, 7)?;
        let leaves_qty = er_decimal(msg, &at, 8)?;
        let avg_px = er_decimal(msg, &at, 9)?;
        Ok(ExecutionReport {
            msg: *msg,
            at,
            exec_type,
            ord_status,
            side,
            cum_qty,
            leaves_qty,
            avg_px,
        })
    }

    #[inline(always)]
    fn get(&self, k: usize) -> Option<&'a [u8]> {
        er_get(&self.msg, &self.at, k)
    }

    #[inline(always)]
    fn decimal(&self, k: usize) -> Result<Option<Decimal>, ViewError> {
        match self.get(k) {
            None => Ok(None),
            Some(v) => decimal_of(ER_TAGS[k], v).map(Some),
        }
    }

    /// The underlying message.
    #[inline]
    pub fn message(&self) -> &Message<'a> {
        &self.msg
    }
    /// ExecType (150).
    #[inline]
    pub fn exec_type(&self) -> ExecType {
        self.exec_type
    }
    /// OrdStatus (39).
    #[inline]
    pub fn ord_status(&self) -> OrdStatus {
        self.ord_status
    }
    /// Side (54).
    #[inline]
    pub fn side(&self) -> Side {
        self.side
    }
    /// CumQty (14).
    #[inline]
    pub fn cum_qty(&self) -> Decimal {
        self.cum_qty
    }
    /// LeavesQty (151).
    #[inline]
    pub fn leaves_qty(&self) -> Decimal {
        self.leaves_qty
    }
    /// AvgPx (6).
    #[inline]
    pub fn avg_px(&self) -> Decimal {
        self.avg_px
    }
    /// OrderID (37).
    #[inline]
    pub fn order_id(&self) -> &'a [u8] {
        self.get(1).unwrap_or_default()
    }
    /// ExecID (17).
    #[inline]
    pub fn exec_id(&self) -> &'a [u8] {
        self.get(2).unwrap_or_default()
    }
    /// Symbol (55).
    #[inline]
    pub fn symbol(&self) -> &'a [u8] {
        self.get(6).unwrap_or_default()
    }
    /// ClOrdID (11).
    #[inline]
    pub fn cl_ord_id(&self) -> Option<&'a [u8]> {
        self.get(0)
    }
    /// OrigClOrdID (41).
    #[inline]
    pub fn orig_cl_ord_id(&self) -> Option<&'a [u8]> {
        self.get(10)
    }
    /// OrderQty (38).
    ///
    /// # Errors
    /// Malformed value.
    #[inline]
    pub fn order_qty(&self) -> Result<Option<Decimal>, ViewError> {
        self.decimal(11)
    }
    /// Price (44).
    ///
    /// # Errors
    /// Malformed value.
    #[inline]
    pub fn price(&self) -> Result<Option<Decimal>, ViewError> {
        self.decimal(12)
    }
    /// StopPx (99).
    ///
    /// # Errors
    /// Malformed value.
    #[inline]
    pub fn stop_px(&self) -> Result<Option<Decimal>, ViewError> {
        self.decimal(23)
    }
    /// LastPx (31), on fills.
    ///
    /// # Errors
    /// Malformed value.
    #[inline]
    pub fn last_px(&self) -> Result<Option<Decimal>, ViewError> {
        self.decimal(13)
    }
    /// LastQty (32), on fills.
    ///
    /// # Errors
    /// Malformed value.
    #[inline]
    pub fn last_qty(&self) -> Result<Option<Decimal>, ViewError> {
        self.decimal(14)
    }
    /// Cumulative fee MiscFeeAmt (137) of the first fee entry.
    ///
    /// # Errors
    /// Malformed value.
    #[inline]
    pub fn fee(&self) -> Result<Option<Decimal>, ViewError> {
        self.decimal(15)
    }
    /// Fee currency (138).
    #[inline]
    pub fn fee_currency(&self) -> Option<&'a [u8]> {
        self.get(16)
    }
    /// TradeID (1003).
    #[inline]
    pub fn trade_id(&self) -> Option<&'a [u8]> {
        self.get(17)
    }
    /// LiquidityInd (5050): true when maker.
    #[inline]
    pub fn is_maker(&self) -> Option<bool> {
        self.get(18).map(|v| v == b"0")
    }
    /// Text (58).
    #[inline]
    pub fn text(&self) -> Option<&'a [u8]> {
        self.get(19)
    }
    /// OrdType (40) as sent (after a trigger it becomes 1 or 2).
    #[inline]
    pub fn ord_type(&self) -> Option<OrdType> {
        self.get(21)
            .and_then(|v| v.first().map(|&c| OrdType::from_code(c)))
    }
    /// TimeInForce (59).
    #[inline]
    pub fn time_in_force(&self) -> Option<TimeInForce> {
        self.get(22)
            .and_then(|v| v.first().map(|&c| TimeInForce::from_code(c)))
    }
    /// TriggerPrice (1102): the price that triggered a stop/take-profit/trailing order.
    ///
    /// # Errors
    /// Malformed value.
    #[inline]
    pub fn trigger_price(&self) -> Result<Option<Decimal>, ViewError> {
        self.other_decimal(tags::TRIGGER_PRICE)
    }
    /// DisplayQty (1138) of an iceberg order.
    ///
    /// # Errors
    /// Malformed value.
    #[inline]
    pub fn display_qty(&self) -> Result<Option<Decimal>, ViewError> {
        self.other_decimal(tags::DISPLAY_QTY)
    }
    /// GrossTradeAmt (381): CumQty × AvgPx.
    ///
    /// # Errors
    /// Malformed value.
    #[inline]
    pub fn gross_trade_amt(&self) -> Result<Option<Decimal>, ViewError> {
        self.decimal(24)
    }
    /// NetMoney (118): LastQty × LastPx of this fill.
    ///
    /// # Errors
    /// Malformed value.
    #[inline]
    pub fn net_money(&self) -> Result<Option<Decimal>, ViewError> {
        self.decimal(25)
    }
    /// ExecInst (18) as sent (space-separated flags); Kraken may leave it out.
    #[inline]
    pub fn exec_inst(&self) -> Option<&'a [u8]> {
        self.get(27)
    }
    /// SecondaryExecID (527): per-pair trade sequence on fills.
    #[inline]
    pub fn secondary_exec_id(&self) -> Option<&'a [u8]> {
        self.get(26)
    }
    /// ExecRestatementReason (378) on restatements.
    #[inline]
    pub fn restatement_reason(&self) -> Option<u64> {
        self.msg.uint(tags::EXEC_RESTATEMENT_REASON).ok()
    }
    /// ExpireTime (126) of a GTD order.
    ///
    /// # Errors
    /// Malformed value.
    #[inline]
    pub fn expire_time(&self) -> Result<Option<UtcTimestamp>, ViewError> {
        match self.msg.field(tags::EXPIRE_TIME) {
            None => Ok(None),
            Some(_) => Ok(Some(self.msg.timestamp(tags::EXPIRE_TIME)?)),
        }
    }
    /// MsgSeqNum (34) of the report.
    #[inline]
    pub fn seq_num(&self) -> Option<u64> {
        self.msg.seq_num().ok()
    }

    /// A decimal field outside [`ER_TAGS`] (one scan of the fields).
    fn other_decimal(&self, tag: u32) -> Result<Option<Decimal>, ViewError> {
        match self.msg.field(tag) {
            None => Ok(None),
            Some(v) => decimal_of(tag, v).map(Some),
        }
    }
    /// TransactTime (60).
    ///
    /// # Errors
    /// Missing or malformed.
    pub fn transact_time(&self) -> Result<UtcTimestamp, ViewError> {
        let v = self
            .get(20)
            .ok_or(ViewError::Field(ParseError::Missing { tag: 60 }))?;
        UtcTimestamp::parse(v)
            .map_err(|error| ViewError::Field(ParseError::BadTimestamp { tag: 60, error }))
    }
}

/// BusinessMessageReject (35=j).
#[derive(Debug, Clone, Copy)]
pub struct BusinessMessageReject<'a> {
    msg: Message<'a>,
    reason: u64,
}

impl<'a> BusinessMessageReject<'a> {
    /// Checks MsgType, 372 and 380.
    ///
    /// # Errors
    /// [`ViewError`].
    pub fn new_checked(msg: &Message<'a>) -> Result<Self, ViewError> {
        expect_type(msg, b"j")?;
        msg.required(372)?;
        Ok(BusinessMessageReject {
            msg: *msg,
            reason: msg.uint(380)?,
        })
    }
    /// BusinessRejectReason (380).
    pub fn reason(&self) -> u64 {
        self.reason
    }
    /// RefMsgType (372).
    pub fn ref_msg_type(&self) -> &'a [u8] {
        self.msg.field(372).unwrap_or_default()
    }
    /// BusinessRejectRefID (379): the rejected ClOrdID.
    pub fn ref_id(&self) -> Option<&'a [u8]> {
        self.msg.field(379)
    }
    /// RefSeqNum (45); Kraken may send 0 (SPEC §8 item 31).
    pub fn ref_seq(&self) -> Option<u64> {
        self.msg.uint(45).ok()
    }
    /// Text (58).
    pub fn text(&self) -> Option<&'a [u8]> {
        self.msg.field(58)
    }
}

/// Session-level Reject (35=3).
#[derive(Debug, Clone, Copy)]
pub struct Reject<'a> {
    msg: Message<'a>,
    ref_seq: u64,
}

impl<'a> Reject<'a> {
    /// Checks MsgType and RefSeqNum.
    ///
    /// # Errors
    /// [`ViewError`].
    pub fn new_checked(msg: &Message<'a>) -> Result<Self, ViewError> {
        expect_type(msg, b"3")?;
        Ok(Reject {
            msg: *msg,
            ref_seq: msg.uint(45)?,
        })
    }
    /// RefSeqNum (45).
    pub fn ref_seq(&self) -> u64 {
        self.ref_seq
    }
    /// RefTagID (371).
    pub fn ref_tag(&self) -> Option<u64> {
        self.msg.uint(371).ok()
    }
    /// SessionRejectReason (373).
    pub fn reason(&self) -> Option<u64> {
        self.msg.uint(373).ok()
    }
    /// SessionRejectReason (373), typed; `None` when absent or not a FIX 4.4 value.
    pub fn session_reject_reason(&self) -> Option<SessionRejectReason> {
        self.reason()
            .and_then(|r| u32::try_from(r).ok())
            .and_then(SessionRejectReason::from_code)
    }
    /// RefMsgType (372).
    pub fn ref_msg_type(&self) -> Option<&'a [u8]> {
        self.msg.field(tags::REF_MSG_TYPE)
    }
    /// Text (58).
    pub fn text(&self) -> Option<&'a [u8]> {
        self.msg.field(58)
    }
}

/// Members of the MDEntries group in W and X messages.
pub const MD_ENTRY_TAGS: &[u32] = &[
    279, 269, 278, 280, 55, 270, 271, 272, 273, 290, 346, 40, 2446, 5060, 5273,
];

/// One typed market-data entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MdEntry<'a> {
    /// MDUpdateAction (279); snapshots report `New`.
    pub action: UpdateAction,
    /// MDEntryType (269).
    pub entry_type: EntryType,
    /// MDEntryID (278).
    pub entry_id: &'a [u8],
    /// MDEntryPx (270).
    pub price: Decimal,
    /// MDEntrySize (271).
    pub size: Decimal,
    /// MDEntryTime (273) as sent.
    pub time: &'a [u8],
    /// AggressorSide (2446), trades.
    pub aggressor: Option<Side>,
}

impl MdEntry<'_> {
    /// MDEntryTime as a timestamp: Kraken sends the time of day only (`HH:MM:SS.sss`) on L2
    /// feeds, which is placed on the UTC day of `day` (use the message's SendingTime); a full
    /// timestamp (L3) is taken as is.
    ///
    /// # Errors
    /// [`ViewError::Field`] when MDEntryTime is absent or malformed.
    pub fn timestamp(&self, day: UtcTimestamp) -> Result<UtcTimestamp, ViewError> {
        if self.time.is_empty() {
            return Err(ViewError::Field(ParseError::Missing {
                tag: tags::MD_ENTRY_TIME,
            }));
        }
        UtcTimestamp::parse_time_only(self.time, day).map_err(|error| {
            ViewError::Field(ParseError::BadTimestamp {
                tag: tags::MD_ENTRY_TIME,
                error,
            })
        })
    }
}

/// Iterator over typed MD entries.
///
/// One pass over the message's fields: each entry's members are matched and typed in the same
/// loop that finds where the entry ends (the same entries as
/// `msg.group(268, delimiter, MD_ENTRY_TAGS)`, without scanning them twice).
#[derive(Debug, Clone)]
pub struct MdEntries<'a> {
    msg: Message<'a>,
    pos: usize,
    delimiter: u32,
    snapshot: bool,
    /// The layout every entry has, known from an [`MdTable`] ([`EntryShape::Mixed`]: found
    /// entry by entry), and how many such entries are left.
    shape: EntryShape,
    shaped_left: usize,
}

/// How the entries of an incremental refresh are laid out, as an [`MdTable`] keeps it for a
/// tag layout: every entry `279 269 278 270 271 273` (Kraken's), every entry `279 269 270 271`
/// (the shortest L2 update), or neither (mixed or other layouts, and snapshots). A message of
/// the table's [`LayoutId`] has the same tags in the same order, so its entries can be taken
/// at fixed offsets without looking at a tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EntryShape {
    Mixed,
    Kraken,
    Short,
}

impl EntryShape {
    /// The fields of one entry of this shape (none for [`EntryShape::Mixed`]).
    const fn len(self) -> usize {
        match self {
            EntryShape::Mixed => 0,
            EntryShape::Kraken => 6,
            EntryShape::Short => 4,
        }
    }

    /// The fixed layout `fields` begin with, by one test of their tags: Kraken's entry, the
    /// short one, or [`EntryShape::Mixed`] for neither.
    #[inline(always)]
    fn at_start(fields: &[FieldRef]) -> EntryShape {
        match fields {
            [a, b, c, d, e, f, ..]
                if (a.tag == 279)
                    & (b.tag == 269)
                    & (c.tag == 278)
                    & (d.tag == 270)
                    & (e.tag == 271)
                    & (f.tag == 273) =>
            {
                EntryShape::Kraken
            }
            [a, b, c, d, ..]
                if (a.tag == 279) & (b.tag == 269) & (c.tag == 270) & (d.tag == 271) =>
            {
                EntryShape::Short
            }
            _ => EntryShape::Mixed,
        }
    }
}

/// The shape of the incremental entries that start at `fields[group]`, and how many there
/// are: [`EntryShape::Kraken`] or [`EntryShape::Short`] when every entry has that layout
/// exactly, which is when the field after the last one is no member of the group (the
/// general reading of [`MdEntries`] would take a member into the last entry, and a 279 would
/// start another).
fn entry_shape(fields: &[FieldRef], group: usize) -> (EntryShape, usize) {
    let shape_at = |i: usize| EntryShape::at_start(fields.get(i..).unwrap_or_default());
    let shape = shape_at(group);
    let mut n = 0;
    while shape != EntryShape::Mixed && shape_at(group + n * shape.len()) == shape {
        n += 1;
    }
    match fields.get(group + n * shape.len()) {
        _ if n == 0 => (EntryShape::Mixed, 0),
        Some(after) if MD_ENTRY_TAGS.contains(&after.tag) => (EntryShape::Mixed, 0),
        _ => (shape, n),
    }
}

impl MdEntries<'_> {
    /// Index (in the message's fields) of the next field the iterator looks at: the first field
    /// after the group once exhausted.
    pub fn position(&self) -> usize {
        self.pos
    }
}

impl<'a> Iterator for MdEntries<'a> {
    type Item = Result<MdEntry<'a>, ViewError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let fields = self.msg.fields();
        let (mut entry_type, mut entry_id, mut price, mut size, mut time, mut aggressor) =
            (None, &b""[..], None, None, &b""[..], None);
        // Entries of a layout an [`MdTable`] has seen: the fields at their offsets, no tag
        // read (the shape was found on the same tags).
        if self.shape != EntryShape::Mixed {
            if self.shaped_left == 0 {
                return None;
            }
            let first = |f: &FieldRef| self.msg.first_byte(*f);
            let i = self.pos;
            let action = match (self.shape, fields.get(i..)) {
                (EntryShape::Kraken, Some([a, b, c, d, e, f, ..])) => {
                    entry_type = first(b);
                    entry_id = self.msg.value(*c);
                    price = Some(*d);
                    size = Some(*e);
                    time = self.msg.value(*f);
                    self.pos = i + 6;
                    Some(first(a))
                }
                (EntryShape::Short, Some([a, b, c, d, ..])) => {
                    entry_type = first(b);
                    price = Some(*c);
                    size = Some(*d);
                    self.pos = i + 4;
                    Some(first(a))
                }
                // Not of the table's layout after all: read as any other message below.
                _ => None,
            };
            if let Some(action) = action {
                self.shaped_left -= 1;
                return Some(self.entry(action, entry_type, entry_id, price, size, time, None));
            }
            self.shape = EntryShape::Mixed;
        }
        if fields.get(self.pos)?.tag != self.delimiter {
            return None;
        }
        let mut action = if self.snapshot { Some(b'0') } else { None };
        let mut i = self.pos;
        // Incremental entries come as 279 269 278 270 271 273 (Kraken's) or as 279 269 270 271
        // (no MDEntryID or MDEntryTime: the shortest L2 update, which `tickwire bench`'s
        // minimal venue sends): recognise either layout with one test and take the values
        // directly; what follows (more members, the next delimiter) goes through the general
        // loop below as usual.
        if self.delimiter == 279 {
            let first = |f: &FieldRef| self.msg.first_byte(*f);
            let rest = fields.get(i..).unwrap_or_default();
            match (EntryShape::at_start(rest), rest) {
                (EntryShape::Kraken, [a, b, c, d, e, f, ..]) => {
                    action = first(a);
                    entry_type = first(b);
                    entry_id = self.msg.value(*c);
                    price = Some(*d);
                    size = Some(*e);
                    time = self.msg.value(*f);
                    i += 6;
                }
                (EntryShape::Short, [a, b, c, d, ..]) => {
                    action = first(a);
                    entry_type = first(b);
                    price = Some(*c);
                    size = Some(*d);
                    i += 4;
                }
                _ => {}
            }
        }
        // One `match` per field both decides membership (the set of [`MD_ENTRY_TAGS`])
        // and records the value: the entry ends at the next delimiter or the first non-member.
        while let Some(f) = fields.get(i) {
            if i > self.pos && f.tag == self.delimiter {
                break;
            }
            match f.tag {
                279 => action = self.msg.first_byte(*f),
                269 => entry_type = self.msg.first_byte(*f),
                278 => entry_id = self.msg.value(*f),
                270 => price = Some(*f),
                271 => size = Some(*f),
                273 => time = self.msg.value(*f),
                2446 => aggressor = self.msg.first_byte(*f).map(Side::from_code),
                280 | 55 | 272 | 290 | 346 | 40 | 5060 | 5273 => {}
                _ => break,
            }
            i += 1;
        }
        self.pos = i;
        Some(self.entry(action, entry_type, entry_id, price, size, time, aggressor))
    }
}

impl<'a> MdEntries<'a> {
    /// The typed entry of the members found (the required ones checked here).
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn entry(
        &self,
        action: Option<u8>,
        entry_type: Option<u8>,
        entry_id: &'a [u8],
        price: Option<FieldRef>,
        size: Option<FieldRef>,
        time: &'a [u8],
        aggressor: Option<Side>,
    ) -> Result<MdEntry<'a>, ViewError> {
        let dec = |f: Option<FieldRef>, tag: u32| match f {
            Some(f) => decimal_of(tag, self.msg.value(f)),
            None => Err(ViewError::Field(ParseError::Missing { tag })),
        };
        Ok(MdEntry {
            action: UpdateAction::from_code(
                action.ok_or(ViewError::Field(ParseError::Missing { tag: 279 }))?,
            ),
            entry_type: EntryType::from_code(
                entry_type.ok_or(ViewError::Field(ParseError::Missing { tag: 269 }))?,
            ),
            entry_id,
            price: dec(price, 270)?,
            size: dec(size, 271)?,
            time,
            aggressor,
        })
    }
}

/// MarketDataSnapshotFullRefresh (35=W) or MarketDataIncrementalRefresh (35=X).
#[derive(Debug, Clone, Copy)]
pub struct MarketData<'a> {
    msg: Message<'a>,
    snapshot: bool,
    count: u64,
    /// Index of the first field after NoMDEntries (268): where the entries start.
    group: usize,
    /// The entries' layout and count when an [`MdTable`] knows them (incrementals only).
    shape: (EntryShape, usize),
    /// The first ChecksumOrderBook (5041) before the entries, if any (found by the same scan
    /// that finds 268).
    checksum_before: Option<FieldRef>,
}

/// Where a market-data message's NoMDEntries (268) and first ChecksumOrderBook (5041) before
/// it lie, kept by the caller from one message to the next: while the messages keep one tag
/// layout (the same [`LayoutId`]), [`MarketData::new_cached`] takes them from here instead of
/// scanning the header for them. Create it once per stream; `new` is a `const fn`.
#[derive(Debug, Clone)]
pub struct MdTable {
    layout: LayoutId,
    /// Index of 268 (`None`: the layout has none).
    count_at: Option<usize>,
    checksum_at: Option<usize>,
    /// The layout of the entries after 268 read as an incremental's, and their number.
    shape: (EntryShape, usize),
}

impl Default for MdTable {
    fn default() -> Self {
        Self::new()
    }
}

impl MdTable {
    /// A table of no layout yet.
    pub const fn new() -> Self {
        MdTable {
            layout: LayoutId::NONE,
            count_at: None,
            checksum_at: None,
            shape: (EntryShape::Mixed, 0),
        }
    }
}

/// The index of the first 268 in `fields` and of the first 5041 before it.
#[inline(always)]
fn md_positions(fields: &[FieldRef]) -> (Option<usize>, Option<usize>) {
    let mut checksum_at = None;
    for (i, f) in fields.iter().enumerate() {
        match f.tag {
            268 => return (Some(i), checksum_at),
            5041 if checksum_at.is_none() => checksum_at = Some(i),
            _ => {}
        }
    }
    (None, checksum_at)
}

impl<'a> MarketData<'a> {
    /// Checks MsgType W or X and the entry count.
    ///
    /// # Errors
    /// [`ViewError`].
    #[inline]
    pub fn new_checked(msg: &Message<'a>) -> Result<Self, ViewError> {
        let snapshot = Self::snapshot(msg)?;
        Self::at(
            msg,
            snapshot,
            md_positions(msg.fields()),
            (EntryShape::Mixed, 0),
        )
    }

    /// [`MarketData::new_checked`] with the places of 268 and 5041 taken from `table` when
    /// `msg` has the layout `table` was last filled for (its [`Message::layout_id`]), and
    /// found in `msg` (for the next message) when not.
    ///
    /// # Errors
    /// [`ViewError`], as [`MarketData::new_checked`].
    #[inline]
    pub fn new_cached(msg: &Message<'a>, table: &mut MdTable) -> Result<Self, ViewError> {
        let snapshot = Self::snapshot(msg)?;
        if table.layout != msg.layout_id() {
            (table.count_at, table.checksum_at) = md_positions(msg.fields());
            table.shape = match table.count_at {
                Some(at) => entry_shape(msg.fields(), at + 1),
                None => (EntryShape::Mixed, 0),
            };
            table.layout = msg.layout_id();
        }
        // The shape is that of incremental entries (delimiter 279): a snapshot of the same
        // tags is read entry by entry.
        let shape = if snapshot {
            (EntryShape::Mixed, 0)
        } else {
            table.shape
        };
        Self::at(msg, snapshot, (table.count_at, table.checksum_at), shape)
    }

    #[inline(always)]
    fn snapshot(msg: &Message<'a>) -> Result<bool, ViewError> {
        match msg.msg_type() {
            b"W" => Ok(true),
            b"X" => Ok(false),
            _ => Err(ViewError::WrongMsgType),
        }
    }

    #[inline(always)]
    fn at(
        msg: &Message<'a>,
        snapshot: bool,
        (count_at, checksum_at): (Option<usize>, Option<usize>),
        shape: (EntryShape, usize),
    ) -> Result<Self, ViewError> {
        let fields = msg.fields();
        let Some((at, count_field)) = count_at.and_then(|i| fields.get(i).map(|f| (i, f))) else {
            return Err(ViewError::Field(ParseError::Missing { tag: 268 }));
        };
        let count = parse_uint(msg.value(*count_field))
            .ok_or(ViewError::Field(ParseError::BadInt { tag: 268 }))?;
        Ok(MarketData {
            msg: *msg,
            snapshot,
            count,
            group: at + 1,
            shape,
            checksum_before: checksum_at.and_then(|i| fields.get(i)).copied(),
        })
    }
    /// True for a full refresh.
    pub fn is_snapshot(&self) -> bool {
        self.snapshot
    }
    /// MDReqID (262).
    pub fn request_id(&self) -> Option<&'a [u8]> {
        self.msg.field(262)
    }
    /// Symbol (55) of the message (first one).
    pub fn symbol(&self) -> Option<&'a [u8]> {
        self.msg.field(55)
    }
    /// NoMDEntries (268).
    pub fn entry_count(&self) -> u64 {
        self.count
    }
    /// The entries, in order.
    pub fn entries(&self) -> MdEntries<'a> {
        let delimiter = if self.snapshot { 269 } else { 279 };
        MdEntries {
            msg: self.msg,
            pos: self.group,
            delimiter,
            snapshot: self.snapshot,
            shape: self.shape.0,
            shaped_left: self.shape.1,
        }
    }
    /// ChecksumOrderBook (5041), on book updates.
    pub fn book_checksum(&self) -> Option<u32> {
        self.msg.uint(5041).ok().and_then(|v| u32::try_from(v).ok())
    }

    /// [`MarketData::book_checksum`] once [`MarketData::entries`] has run to `group_end` (its
    /// final [`MdEntries::position`]): the entries hold only MDEntries members, never 5041, and
    /// the fields before them were searched by [`MarketData::new_checked`], so only the fields
    /// from `group_end` on are scanned.
    pub(crate) fn book_checksum_after(&self, group_end: usize) -> Option<u32> {
        let f = match self.checksum_before {
            Some(f) => f,
            None => *self
                .msg
                .fields()
                .get(group_end..)?
                .iter()
                .find(|f| f.tag == 5041)?,
        };
        parse_uint(self.msg.value(f)).and_then(|v| u32::try_from(v).ok())
    }
    /// SendingTime (52): the day MDEntryTime values belong to.
    ///
    /// # Errors
    /// Missing or malformed.
    pub fn sending_time(&self) -> Result<UtcTimestamp, ViewError> {
        Ok(self.msg.timestamp(tags::SENDING_TIME)?)
    }
    /// MsgSeqNum (34): the only sequence a FIX book has (SPEC §4.11).
    ///
    /// # Errors
    /// Missing or malformed.
    pub fn seq_num(&self) -> Result<u64, ViewError> {
        Ok(self.msg.seq_num()?)
    }
    /// The underlying message.
    pub fn message(&self) -> &Message<'a> {
        &self.msg
    }
}

/// MarketDataSnapshotFullRefresh (35=W): one symbol's book, entries with action `New`.
#[derive(Debug, Clone, Copy)]
pub struct MarketDataSnapshotFullRefresh<'a>(MarketData<'a>);

impl<'a> MarketDataSnapshotFullRefresh<'a> {
    /// Checks MsgType W and NoMDEntries.
    ///
    /// # Errors
    /// [`ViewError`].
    pub fn new_checked(msg: &Message<'a>) -> Result<Self, ViewError> {
        expect_type(msg, b"W")?;
        Ok(Self(MarketData::new_checked(msg)?))
    }
    /// MDReqID (262).
    pub fn request_id(&self) -> Option<&'a [u8]> {
        self.0.request_id()
    }
    /// Symbol (55).
    pub fn symbol(&self) -> Option<&'a [u8]> {
        self.0.symbol()
    }
    /// NoMDEntries (268).
    pub fn entry_count(&self) -> u64 {
        self.0.entry_count()
    }
    /// The entries, in order.
    pub fn entries(&self) -> MdEntries<'a> {
        self.0.entries()
    }
    /// The combined view (what [`crate::book::Book`] applies).
    pub fn as_market_data(&self) -> &MarketData<'a> {
        &self.0
    }
}

/// MarketDataIncrementalRefresh (35=X): entries to apply in order, then 5041 on book updates.
#[derive(Debug, Clone, Copy)]
pub struct MarketDataIncrementalRefresh<'a>(MarketData<'a>);

impl<'a> MarketDataIncrementalRefresh<'a> {
    /// Checks MsgType X and NoMDEntries.
    ///
    /// # Errors
    /// [`ViewError`].
    pub fn new_checked(msg: &Message<'a>) -> Result<Self, ViewError> {
        expect_type(msg, b"X")?;
        Ok(Self(MarketData::new_checked(msg)?))
    }
    /// MDReqID (262).
    pub fn request_id(&self) -> Option<&'a [u8]> {
        self.0.request_id()
    }
    /// Symbol (55), at the top of the message in Kraken's dialect.
    pub fn symbol(&self) -> Option<&'a [u8]> {
        self.0.symbol()
    }
    /// NoMDEntries (268).
    pub fn entry_count(&self) -> u64 {
        self.0.entry_count()
    }
    /// The entries, in order.
    pub fn entries(&self) -> MdEntries<'a> {
        self.0.entries()
    }
    /// ChecksumOrderBook (5041); absent on trade-only messages.
    pub fn book_checksum(&self) -> Option<u32> {
        self.0.book_checksum()
    }
    /// The combined view (what [`crate::book::Book`] applies).
    pub fn as_market_data(&self) -> &MarketData<'a> {
        &self.0
    }
}

/// MarketDataRequestReject (35=Y).
#[derive(Debug, Clone, Copy)]
pub struct MarketDataRequestReject<'a> {
    msg: Message<'a>,
}

impl<'a> MarketDataRequestReject<'a> {
    /// Checks MsgType and MDReqID.
    ///
    /// # Errors
    /// [`ViewError`].
    pub fn new_checked(msg: &Message<'a>) -> Result<Self, ViewError> {
        expect_type(msg, b"Y")?;
        msg.required(262)?;
        Ok(MarketDataRequestReject { msg: *msg })
    }
    /// MDReqID (262).
    pub fn request_id(&self) -> &'a [u8] {
        self.msg.field(262).unwrap_or_default()
    }
    /// MDReqRejReason (281).
    pub fn reason(&self) -> Option<u8> {
        self.msg.char(281).ok()
    }
    /// Text (58).
    pub fn text(&self) -> Option<&'a [u8]> {
        self.msg.field(58)
    }
}

/// One instrument of an InstrumentList.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instrument<'a> {
    /// Symbol (55).
    pub symbol: &'a [u8],
    /// MinTradeVol (562): lot step.
    pub lot_step: Decimal,
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
    /// AssetPairStatus (5032).
    pub status: u8,
}

/// InstrumentList (35=y).
#[derive(Debug, Clone, Copy)]
pub struct InstrumentList<'a> {
    msg: Message<'a>,
}

const INSTRUMENT_TAGS: &[u32] = &[
    55, 562, 5010, 5011, 5012, 5013, 2349, 5052, 5022, 5032, 167, 15,
];

fn small(e: &Entry<'_>, tag: u32) -> Result<u8, ViewError> {
    let v = e.field(tag).ok_or(ParseError::Missing { tag })?;
    crate::parse::parse_uint(v)
        .and_then(|n| u8::try_from(n).ok())
        .ok_or(ViewError::Field(ParseError::BadInt { tag }))
}

fn opt_decimal(e: &Entry<'_>, tag: u32) -> Result<Option<Decimal>, ViewError> {
    match e.field(tag) {
        None => Ok(None),
        Some(_) => Ok(Some(e.decimal(tag)?)),
    }
}

impl<'a> InstrumentList<'a> {
    /// Checks MsgType and the request result.
    ///
    /// # Errors
    /// [`ViewError`].
    pub fn new_checked(msg: &Message<'a>) -> Result<Self, ViewError> {
        expect_type(msg, b"y")?;
        msg.required(320)?;
        msg.uint(560)?;
        Ok(InstrumentList { msg: *msg })
    }
    /// InstrumentRequestResult (560): 0 valid.
    pub fn result(&self) -> u64 {
        self.msg.uint(560).unwrap_or(0)
    }
    /// The instruments, in order.
    pub fn instruments(&self) -> impl Iterator<Item = Result<Instrument<'a>, ViewError>> + 'a {
        self.msg.group(146, 55, INSTRUMENT_TAGS).map(|e| {
            Ok(Instrument {
                symbol: e.field(55).unwrap_or_default(),
                lot_step: e.decimal(562)?,
                qty_precision: small(&e, 5010)?,
                qty_min: e.decimal(5011)?,
                qty_max: opt_decimal(&e, 5012)?,
                min_cost: opt_decimal(&e, 5013)?,
                price_precision: small(&e, 2349)?,
                md_price_precision: if e.field(5052).is_some() {
                    Some(small(&e, 5052)?)
                } else {
                    None
                },
                tick_size: e.decimal(5022)?,
                status: small(&e, 5032)?,
            })
        })
    }
}

/// Kraken's TradSesStatus (340) values (SPEC §4.14).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VenueStatus {
    /// 0
    Unknown,
    /// 1: no new orders, no cancels.
    Maintenance,
    /// 2
    Online,
    /// 101: cancels accepted, no new orders, no matching.
    CancelOnly,
    /// 102: only post-only limit orders and cancels, no matching.
    PostOnly,
    /// Anything else.
    Other(u64),
}

/// TradingSessionStatus (35=h).
#[derive(Debug, Clone, Copy)]
pub struct TradingSessionStatus<'a> {
    msg: Message<'a>,
    status: u64,
}

impl<'a> TradingSessionStatus<'a> {
    /// Checks MsgType and TradSesStatus.
    ///
    /// # Errors
    /// [`ViewError`].
    pub fn new_checked(msg: &Message<'a>) -> Result<Self, ViewError> {
        expect_type(msg, b"h")?;
        Ok(TradingSessionStatus {
            msg: *msg,
            status: msg.uint(340)?,
        })
    }
    /// TradSesStatus (340): 2 online, 1 maintenance, 101 cancel-only, 102 post-only.
    pub fn status(&self) -> u64 {
        self.status
    }
    /// TradSesStatus (340), typed with Kraken's meanings (SPEC §4.14).
    pub fn venue_status(&self) -> VenueStatus {
        match self.status {
            0 => VenueStatus::Unknown,
            1 => VenueStatus::Maintenance,
            2 => VenueStatus::Online,
            101 => VenueStatus::CancelOnly,
            102 => VenueStatus::PostOnly,
            other => VenueStatus::Other(other),
        }
    }
    /// TradSesStatusRejReason (567) when the request was refused.
    pub fn reject_reason(&self) -> Option<u64> {
        self.msg.uint(tags::TRAD_SES_STATUS_REJ_REASON).ok()
    }
    /// TradSesReqID (335).
    pub fn request_id(&self) -> Option<&'a [u8]> {
        self.msg.field(tags::TRAD_SES_REQ_ID)
    }
    /// TradingSessionID (336).
    pub fn session_id(&self) -> Option<&'a [u8]> {
        self.msg.field(336)
    }
}

/// Logon (35=A) as received.
#[derive(Debug, Clone, Copy)]
pub struct Logon<'a> {
    msg: Message<'a>,
    heartbeat_interval_s: u64,
}

impl<'a> Logon<'a> {
    /// Checks MsgType and HeartBtInt.
    ///
    /// # Errors
    /// [`ViewError`].
    pub fn new_checked(msg: &Message<'a>) -> Result<Self, ViewError> {
        expect_type(msg, b"A")?;
        Ok(Logon {
            msg: *msg,
            heartbeat_interval_s: msg.uint(108)?,
        })
    }
    /// HeartBtInt (108).
    pub fn heartbeat_interval_s(&self) -> u64 {
        self.heartbeat_interval_s
    }
    /// ResetSeqNumFlag (141).
    pub fn reset_seq_num(&self) -> bool {
        self.msg.field(141) == Some(b"Y")
    }
    /// Username (553): the API key on trading sessions.
    pub fn api_key(&self) -> Option<&'a [u8]> {
        self.msg.field(553)
    }
    /// Password (554).
    pub fn password(&self) -> Option<&'a [u8]> {
        self.msg.field(554)
    }
    /// Nonce (5025).
    pub fn nonce(&self) -> Option<u64> {
        self.msg.uint(5025).ok()
    }
    /// CancelOrdersOnDisconnect (8674): `true` when orders are cancelled (0, the default).
    pub fn cancel_on_disconnect(&self) -> bool {
        self.msg.field(8674) != Some(b"1")
    }
    /// EncryptMethod (98): always 0 on Kraken.
    pub fn encrypt_method(&self) -> Option<u64> {
        self.msg.uint(tags::ENCRYPT_METHOD).ok()
    }
    /// ClientID (109): links a trading and an MD connection.
    pub fn client_id(&self) -> Option<&'a [u8]> {
        self.msg.field(tags::CLIENT_ID)
    }
    /// SenderCompID (49).
    pub fn sender_comp_id(&self) -> Option<&'a [u8]> {
        self.msg.field(tags::SENDER_COMP_ID)
    }
    /// TargetCompID (56).
    pub fn target_comp_id(&self) -> Option<&'a [u8]> {
        self.msg.field(tags::TARGET_COMP_ID)
    }
}

/// Logout (35=5).
#[derive(Debug, Clone, Copy)]
pub struct Logout<'a> {
    msg: Message<'a>,
}

impl<'a> Logout<'a> {
    /// Checks MsgType.
    ///
    /// # Errors
    /// [`ViewError`].
    pub fn new_checked(msg: &Message<'a>) -> Result<Self, ViewError> {
        expect_type(msg, b"5")?;
        Ok(Logout { msg: *msg })
    }
    /// Text (58): the reason, e.g. `Logon failed: invalid credentials`.
    pub fn text(&self) -> Option<&'a [u8]> {
        self.msg.field(58)
    }
}

/// TestRequest (35=1) or Heartbeat (35=0), with the TestReqID.
#[derive(Debug, Clone, Copy)]
pub struct TestRequestId<'a> {
    /// TestReqID (112), if present.
    pub id: Option<&'a [u8]>,
}

impl<'a> TestRequestId<'a> {
    /// From a TestRequest (112 required) or a Heartbeat (112 optional).
    ///
    /// # Errors
    /// [`ViewError`].
    pub fn new_checked(msg: &Message<'a>) -> Result<Self, ViewError> {
        match msg.msg_type() {
            b"1" => Ok(TestRequestId {
                id: Some(msg.required(112)?),
            }),
            b"0" => Ok(TestRequestId { id: msg.field(112) }),
            _ => Err(ViewError::WrongMsgType),
        }
    }
}

/// Heartbeat (35=0): an answer to a TestRequest carries its TestReqID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Heartbeat<'a> {
    /// TestReqID (112), if present.
    pub test_req_id: Option<&'a [u8]>,
}

impl<'a> Heartbeat<'a> {
    /// Checks MsgType.
    ///
    /// # Errors
    /// [`ViewError`].
    pub fn new_checked(msg: &Message<'a>) -> Result<Self, ViewError> {
        expect_type(msg, b"0")?;
        Ok(Heartbeat {
            test_req_id: msg.field(tags::TEST_REQ_ID),
        })
    }
}

/// TestRequest (35=1): to be answered by a Heartbeat echoing TestReqID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TestRequest<'a> {
    /// TestReqID (112).
    pub test_req_id: &'a [u8],
}

impl<'a> TestRequest<'a> {
    /// Checks MsgType and TestReqID.
    ///
    /// # Errors
    /// [`ViewError`].
    pub fn new_checked(msg: &Message<'a>) -> Result<Self, ViewError> {
        expect_type(msg, b"1")?;
        Ok(TestRequest {
            test_req_id: msg.required(tags::TEST_REQ_ID)?,
        })
    }
}

/// ResendRequest (35=2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResendRequest {
    /// BeginSeqNo (7).
    pub begin: u64,
    /// EndSeqNo (16); 0 means "to the latest".
    pub end: u64,
}

impl ResendRequest {
    /// Reads 7 and 16.
    ///
    /// # Errors
    /// [`ViewError`].
    pub fn new_checked(msg: &Message<'_>) -> Result<Self, ViewError> {
        expect_type(msg, b"2")?;
        Ok(ResendRequest {
            begin: msg.uint(7)?,
            end: msg.uint(16)?,
        })
    }
}

/// SequenceReset (35=4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SequenceReset {
    /// NewSeqNo (36).
    pub new_seq: u64,
    /// GapFillFlag (123=Y).
    pub gap_fill: bool,
}

impl SequenceReset {
    /// Reads 36 and 123.
    ///
    /// # Errors
    /// [`ViewError`].
    pub fn new_checked(msg: &Message<'_>) -> Result<Self, ViewError> {
        expect_type(msg, b"4")?;
        Ok(SequenceReset {
            new_seq: msg.uint(36)?,
            gap_fill: msg.boolean_or(123, false)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::FieldIndex;

    /// `steps` (which of `messages`, through which of two indexes, whether a view is built)
    /// with one `table` across them: each view built with the table (`cached`) reads what a
    /// fresh one reads (`fresh`), both as text or the same error.
    fn cached_reads_as_fresh<T>(
        messages: &[String],
        steps: &[(usize, usize, bool)],
        table: &mut T,
        fresh: impl Fn(&Message<'_>) -> Result<String, ViewError>,
        cached: impl Fn(&Message<'_>, &mut T) -> Result<String, ViewError>,
    ) -> Result<(), proptest::test_runner::TestCaseError> {
        let mut indexes = [FieldIndex::<64>::new(), FieldIndex::<64>::new()];
        for &(m, i, view) in steps {
            let msg = Message::parse(messages[m].as_bytes(), &mut indexes[i]).expect("indexes");
            if view {
                proptest::prop_assert_eq!(fresh(&msg), cached(&msg, table), "message {}", m);
            }
        }
        Ok(())
    }

    /// Everything a report view reads, as text, for comparing two views.
    fn er_reading(er: &ExecutionReport<'_>) -> String {
        format!(
            "{:?}",
            (
                (er.cl_ord_id(), er.order_id(), er.exec_id(), er.symbol()),
                (
                    er.orig_cl_ord_id(),
                    er.order_qty(),
                    er.price(),
                    er.stop_px()
                ),
                (er.last_px(), er.last_qty(), er.fee(), er.fee_currency()),
                (er.trade_id(), er.is_maker(), er.text(), er.ord_type()),
                (er.time_in_force(), er.gross_trade_amt(), er.net_money()),
                (er.exec_inst(), er.secondary_exec_id(), er.cum_qty()),
                (
                    er.leaves_qty(),
                    er.avg_px(),
                    er.exec_type(),
                    er.ord_status()
                ),
                er.side(),
            )
        )
    }

    proptest::proptest! {
        /// One `ErTable` over any run of messages, through one of two indexes, with views built
        /// for some of them only: `new_cached` reads exactly what `new_checked` reads, whether
        /// the table was kept (the layout repeated) or filled again (another layout, another
        /// index, a message between whose view was not built, a message that was no report).
        #[test]
        fn a_cached_report_view_reads_as_a_fresh_one(
            steps in proptest::collection::vec((0usize..9, 0usize..2, proptest::bool::ANY), 1..40),
        ) {
            let head = "8=FIX.4.4|9=1|35=8|34=2|49=K|56=C|52=20260407-14:32:05.004|6=0|11=1|14=0|";
            let messages = [
                format!("{head}17=E1|37=O1|39=0|54=1|55=BTC/USD|150=0|151=0.01|381=336.0|118=12.5|527=78|18=P|"),
                // The same layout, other values.
                format!("{head}17=E22|37=O333|39=1|54=2|55=ETH/USD|150=F|151=0|381=1.5|118=0.25|527=9|18=R|"),
                format!("{head}17=E1|37=O1|39=0|54=1|55=BTC/USD|150=0|151=0.01|"),
                // 17 and 37 swapped: the same tags elsewhere.
                format!("{head}37=O1|17=E1|39=0|54=1|55=BTC/USD|150=0|151=0.01|"),
                format!("{head}17=E1|37=O1|39=0|54=1|55=BTC/USD|150=0|151=0.01|58=hi|11=dup|31=1|32=2|"),
                format!("{head}17=E1|37=O1|39=0|54=1|55=BTC/USD|150=0|151=0.01|381=1|381=2|118=3|118=4|"),
                // Without OrdStatus (39): the view is refused.
                format!("{head}17=E1|37=O1|54=1|55=BTC/USD|150=0|151=0.01|"),
                "8=FIX.4.4|9=1|35=0|34=3|49=K|56=C|52=20260407-14:32:05.004|".to_string(),
                format!("{head}17=E1|37=O1|39=0|54=1|55=BTC/USD|150=0|151=x|"),
            ]
            .map(|m| format!("{m}10=000|").replace('|', "\x01"));
            cached_reads_as_fresh(
                &messages,
                &steps,
                &mut ErTable::new(),
                |m| ExecutionReport::new_checked(m).map(|v| er_reading(&v)),
                |m, t| ExecutionReport::new_cached(m, t).map(|v| er_reading(&v)),
            )?;
        }
    }

    /// Everything a market-data view reads, as text, for comparing two views.
    fn md_reading(md: &MarketData<'_>) -> String {
        let mut entries = md.entries();
        let list: Vec<_> = entries.by_ref().collect();
        format!(
            "{:?}",
            (
                md.is_snapshot(),
                md.entry_count(),
                md.request_id(),
                md.symbol(),
                list,
                md.book_checksum(),
                md.book_checksum_after(entries.position()),
            )
        )
    }

    proptest::proptest! {
        /// One `MdTable` over any run of messages, as `ErTable`'s test: `new_cached` reads
        /// exactly what `new_checked` reads, with 268 and 5041 in different places, snapshot
        /// and increment, no 268, messages that are no market data in between, and entries
        /// the table takes at fixed offsets (Kraken's and the short layout) beside ones it
        /// must not (mixed layouts, a member after the last entry, a snapshot of the same
        /// tags, an empty required value).
        #[test]
        fn a_cached_market_data_view_reads_as_a_fresh_one(
            steps in proptest::collection::vec((0usize..18, 0usize..2, proptest::bool::ANY), 1..60),
        ) {
            let messages = [
                "35=X|34=2|55=X|5041=7|268=1|279=0|269=0|270=1|271=1|58=x|",
                // The same layout, other values.
                "35=X|34=3|55=Y|5041=9|268=2|279=1|269=1|270=2.5|271=0|58=y|",
                "35=X|34=2|55=X|268=1|279=0|269=0|270=1|271=1|5041=8|",
                "35=X|34=2|5041=6|268=1|279=0|269=0|270=1|271=1|5041=8|",
                "35=W|34=2|55=X|262=R|268=2|269=0|270=1|271=1|269=1|270=2|271=1|",
                "35=X|34=2|55=X|262=R|268=2|279=0|269=0|270=1|271=1|279=2|269=1|270=2|271=0|",
                // No NoMDEntries: refused.
                "35=X|34=2|55=X|279=0|269=0|270=1|271=1|",
                "35=0|34=3|",
                "35=X|34=2|55=X|268=x|279=0|269=0|270=1|271=1|",
                // Kraken's entry layout, twice with other values, then as a snapshot.
                "35=X|34=2|55=X|268=2|279=0|269=1|278=O1|270=84000.3|271=0.25|273=14:32:03.101|279=2|269=0|278=B1|270=84000.0|271=0|273=14:32:03.104|5041=9|",
                "35=X|34=3|55=X|268=2|279=1|269=0|278=B2|270=1.5|271=2|273=14:32:03.105|279=0|269=1|278=O2|270=-1|271=x|273=|5041=1|",
                "35=W|34=3|55=X|268=2|279=1|269=0|278=B2|270=1.5|271=2|273=14:32:03.105|279=0|269=1|278=O2|270=2|271=1|273=1|5041=1|",
                // The short layout, then with an empty action and an empty side.
                "35=X|34=2|55=X|262=R|268=2|279=0|269=0|270=1|271=1|279=2|269=1|270=2|271=0|5041=4|",
                "35=X|34=2|55=X|262=R|268=2|279=|269=0|270=1|271=1|279=2|269=|270=2|271=0|5041=4|",
                // Mixed: Kraken's then the short one, and the short then Kraken's.
                "35=X|34=2|55=X|268=2|279=0|269=1|278=O1|270=1|271=1|273=1|279=2|269=0|270=2|271=0|",
                "35=X|34=2|55=X|268=2|279=2|269=0|270=2|271=0|279=0|269=1|278=O1|270=1|271=1|273=1|",
                // A member after the last entry of each layout (it belongs to that entry).
                "35=X|34=2|55=X|268=1|279=0|269=2|278=T1|270=1|271=1|273=1|2446=1|",
                "35=X|34=2|55=X|268=1|279=0|269=2|270=1|271=1|2446=2|5041=3|",
            ]
            .map(|m| format!("8=FIX.4.4|9=1|{m}10=000|").replace('|', "\x01"));
            cached_reads_as_fresh(
                &messages,
                &steps,
                &mut MdTable::new(),
                |m| MarketData::new_checked(m).map(|v| md_reading(&v)),
                |m, t| MarketData::new_cached(m, t).map(|v| md_reading(&v)),
            )?;
        }
    }

    /// The entry layouts an `MdTable` takes entries by: every entry alike, and nothing of the
    /// group after the last.
    #[test]
    fn entry_shapes_are_found_only_for_uniform_groups() {
        let shape = |body: &str| {
            let raw = format!("8=FIX.4.4|9=1|35=X|34=2|268=9|{body}10=000|").replace('|', "\x01");
            let mut idx = FieldIndex::<64>::new();
            let msg = Message::parse(raw.as_bytes(), &mut idx).expect("indexes");
            entry_shape(msg.fields(), 5)
        };
        let kraken = "279=0|269=1|278=O|270=1|271=1|273=1|";
        let short = "279=0|269=1|270=1|271=1|";
        assert_eq!(shape(&kraken.repeat(3)), (EntryShape::Kraken, 3));
        assert_eq!(
            shape(&format!("{short}{short}5041=1|")),
            (EntryShape::Short, 2)
        );
        assert_eq!(shape(&format!("{kraken}{short}")), (EntryShape::Mixed, 0));
        assert_eq!(shape(&format!("{short}{kraken}")), (EntryShape::Mixed, 0));
        assert_eq!(shape(&format!("{kraken}2446=1|")), (EntryShape::Mixed, 0));
        assert_eq!(shape(&format!("{short}279=0|")), (EntryShape::Mixed, 0));
        assert_eq!(shape("269=1|279=0|270=1|271=1|"), (EntryShape::Mixed, 0));
        assert_eq!(shape(""), (EntryShape::Mixed, 0));
    }

    /// A run of reports of one layout shares one id; the table is filled by the first only.
    #[test]
    fn reports_of_one_layout_share_the_table() {
        let raw = |exec_id: &str| {
            format!("8=FIX.4.4|9=1|35=8|34=2|49=K|56=C|6=0|11=1|14=0|17={exec_id}|37=O1|39=0|54=1|55=BTC/USD|150=0|151=0|10=000|")
                .replace('|', "\x01")
        };
        let (a, b) = (raw("E1"), raw("E22"));
        let mut idx = FieldIndex::<64>::new();
        let mut table = ErTable::new();
        let id = Message::parse(a.as_bytes(), &mut idx)
            .expect("a")
            .layout_id();
        assert_ne!(id, LayoutId::NONE);
        let msg = Message::parse(b.as_bytes(), &mut idx).expect("b");
        assert_eq!(msg.layout_id(), id, "same tags, same run");
        let er = ExecutionReport::new_cached(&msg, &mut table).expect("view");
        assert_eq!(er.exec_id(), b"E22");
        assert_eq!(table.layout, id);
        // Another index draws its own id for the same tags.
        let mut other = FieldIndex::<64>::new();
        assert_ne!(
            Message::parse(a.as_bytes(), &mut other)
                .expect("a")
                .layout_id(),
            id
        );
    }

    /// The report's optional fields read from its slot table give what a scan of the message
    /// gives: the first occurrence, `None` when absent, the tag named in a malformed value's
    /// error.
    #[test]
    fn er_slot_fields_read_as_the_message_does() {
        let head = "8=FIX.4.4|9=1|35=8|34=2|49=K|56=C|52=20260407-14:32:05.004|6=0|11=1|14=0|17=E1|37=O1|39=0|54=1|55=BTC/USD|150=0|151=0.01|";
        let cases = [
            (
                "381=336.0|118=12.5|527=78|18=P|",
                Some("336.0"),
                Some("12.5"),
                Some("78"),
                Some("P"),
            ),
            ("", None, None, None, None),
            (
                "381=1|381=2|118=3|118=4|527=a|527=b|18=P s|18=x|",
                Some("1"),
                Some("3"),
                Some("a"),
                Some("P s"),
            ),
            (
                "18=|381=1.2.3|118=-|",
                Some("1.2.3"),
                Some("-"),
                None,
                Some(""),
            ),
        ];
        for (tail, gross, net, secondary, exec_inst) in cases {
            let raw = format!("{head}{tail}10=000|").replace('|', "\x01");
            let mut idx = FieldIndex::<64>::new();
            let msg = Message::parse(raw.as_bytes(), &mut idx).expect("indexes");
            let er = ExecutionReport::new_checked(&msg).expect("view");
            let field = |tag| msg.field(tag);
            assert_eq!(field(381), gross.map(str::as_bytes), "{tail}");
            assert_eq!(field(118), net.map(str::as_bytes), "{tail}");
            let as_view = |tag: u32| match msg.field(tag) {
                None => Ok(None),
                Some(_) => msg.decimal(tag).map(Some).map_err(ViewError::Field),
            };
            assert_eq!(er.gross_trade_amt(), as_view(381), "{tail}");
            assert_eq!(er.net_money(), as_view(118), "{tail}");
            assert_eq!(
                er.secondary_exec_id(),
                secondary.map(str::as_bytes),
                "{tail}"
            );
            assert_eq!(er.exec_inst(), exec_inst.map(str::as_bytes), "{tail}");
        }
        // The malformed case names its tag.
        let raw = format!("{head}381=1.2.3|118=-|10=000|").replace('|', "\x01");
        let mut idx = FieldIndex::<64>::new();
        let msg = Message::parse(raw.as_bytes(), &mut idx).expect("indexes");
        let er = ExecutionReport::new_checked(&msg).expect("view");
        assert!(matches!(
            er.gross_trade_amt(),
            Err(ViewError::Field(ParseError::BadDecimal { tag: 381, .. }))
        ));
        assert!(matches!(
            er.net_money(),
            Err(ViewError::Field(ParseError::BadDecimal { tag: 118, .. }))
        ));
        assert_eq!(
            er.gross_trade_amt(),
            Err(ViewError::Field(msg.decimal(381).expect_err("malformed")))
        );
    }

    /// Kraken's entry layout (279 269 278 270 271 273) read in one step, then more members,
    /// the next entry, and a non-member ending the group.
    #[test]
    fn kraken_layout_entries_and_what_follows_them() {
        let raw = "8=FIX.4.4\x019=1\x0135=X\x0134=2\x01268=3\x01279=0\x01269=2\x01278=T1\x01270=84000.1\x01271=0.5\x01273=14:32:03.101\x012446=2\x01279=2\x01269=0\x01278=B1\x01270=83999.9\x01271=0\x01273=14:32:03.104\x01279=1\x01269=1\x01278=O1\x01270=84000.2\x01271=1.5\x01273=14:32:03.105\x0158=x\x0110=000\x01";
        let mut idx = FieldIndex::<64>::new();
        let msg = Message::parse(raw.as_bytes(), &mut idx).expect("indexes");
        let md = MarketData::new_checked(&msg).expect("view");
        let e: Vec<_> = md.entries().map(|e| e.expect("entry")).collect();
        assert_eq!(e.len(), 3);
        assert_eq!(
            (e[0].action, e[0].entry_type, e[0].entry_id, e[0].aggressor),
            (
                UpdateAction::New,
                EntryType::Trade,
                &b"T1"[..],
                Some(Side::Sell)
            )
        );
        assert_eq!(
            (e[0].price, e[0].size),
            (Decimal::new(840_001, 1), Decimal::new(5, 1))
        );
        assert_eq!(
            (e[1].action, e[1].entry_type, e[1].aggressor),
            (UpdateAction::Delete, EntryType::Bid, None)
        );
        assert_eq!(e[1].time, b"14:32:03.104");
        assert_eq!(
            (e[2].action, e[2].price),
            (UpdateAction::Change, Decimal::new(840_002, 1))
        );
        let mut group = msg.group(268, 279, MD_ENTRY_TAGS);
        let mut entries = md.entries();
        assert_eq!(entries.by_ref().count(), group.by_ref().count());
        assert_eq!(entries.position(), group.position(), "58 ends the group");
    }

    /// The short entry layout (279 269 270 271) read in one step, with and without members
    /// after it, next to Kraken's layout and to one that takes the general loop (278 without
    /// 273): the same entries, values and group end as the generic group iterator gives.
    #[test]
    fn short_layout_entries_and_mixed_layouts() {
        let raw = "8=FIX.4.4|9=1|35=X|34=2|55=BTC/USD|268=5|279=2|269=1|270=84000.3|271=0|279=0|269=0|270=84000.1|271=0.75|273=14:32:03.104|2446=1|279=0|269=1|278=O1|270=84000.5|271=0.5|273=14:32:03.105|279=1|269=0|278=B2|270=83999.9|271=2|279=0|269=2|270=84000.2|271=0.1|5041=7|10=000|".replace('|', "\x01");
        let mut idx = FieldIndex::<64>::new();
        let msg = Message::parse(raw.as_bytes(), &mut idx).expect("indexes");
        let md = MarketData::new_checked(&msg).expect("view");
        let e: Vec<_> = md.entries().map(|e| e.expect("entry")).collect();
        let got: Vec<_> = e
            .iter()
            .map(|e| {
                (
                    e.action,
                    e.entry_type,
                    e.entry_id,
                    e.price,
                    e.size,
                    e.time,
                    e.aggressor,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    UpdateAction::Delete,
                    EntryType::Offer,
                    &b""[..],
                    Decimal::new(840_003, 1),
                    Decimal::new(0, 0),
                    &b""[..],
                    None
                ),
                (
                    UpdateAction::New,
                    EntryType::Bid,
                    &b""[..],
                    Decimal::new(840_001, 1),
                    Decimal::new(75, 2),
                    &b"14:32:03.104"[..],
                    Some(Side::Buy)
                ),
                (
                    UpdateAction::New,
                    EntryType::Offer,
                    &b"O1"[..],
                    Decimal::new(840_005, 1),
                    Decimal::new(5, 1),
                    &b"14:32:03.105"[..],
                    None
                ),
                (
                    UpdateAction::Change,
                    EntryType::Bid,
                    &b"B2"[..],
                    Decimal::new(839_999, 1),
                    Decimal::new(2, 0),
                    &b""[..],
                    None
                ),
                (
                    UpdateAction::New,
                    EntryType::Trade,
                    &b""[..],
                    Decimal::new(840_002, 1),
                    Decimal::new(1, 1),
                    &b""[..],
                    None
                ),
            ]
        );
        let mut group = msg.group(268, 279, MD_ENTRY_TAGS);
        let mut entries = md.entries();
        assert_eq!(entries.by_ref().count(), group.by_ref().count());
        assert_eq!(entries.position(), group.position(), "5041 ends the group");
        assert_eq!(md.book_checksum_after(entries.position()), Some(7));
    }

    #[test]
    fn book_checksum_before_or_after_the_entries() {
        for (layout, want) in [
            ("55=X|5041=7|268=1|279=0|269=0|270=1|271=1|58=x|", Some(7)),
            ("55=X|268=1|279=0|269=0|270=1|271=1|5041=8|", Some(8)),
            ("5041=6|268=1|279=0|269=0|270=1|271=1|5041=8|", Some(6)),
            ("55=X|268=1|279=0|269=0|270=1|271=1|58=x|", None),
            ("5041=x|268=1|279=0|269=0|270=1|271=1|", None),
        ] {
            let raw = format!("8=FIX.4.4|9=1|35=X|34=2|{layout}10=000|").replace('|', "\x01");
            let mut idx = FieldIndex::<32>::new();
            let msg = Message::parse(raw.as_bytes(), &mut idx).expect("indexes");
            let md = MarketData::new_checked(&msg).expect("view");
            let mut entries = md.entries();
            assert_eq!(entries.by_ref().count(), 1, "{layout}");
            assert_eq!(md.book_checksum_after(entries.position()), want, "{layout}");
            assert_eq!(
                md.book_checksum(),
                want,
                "the general lookup agrees: {layout}"
            );
        }
    }

    /// MdEntries splits entries exactly where the generic group iterator does, for every
    /// member tag and for a non-member ending the group.
    #[test]
    fn md_entries_end_where_the_group_does() {
        for &member in MD_ENTRY_TAGS {
            for (snapshot, delimiter) in [(false, 279u32), (true, 269)] {
                let other = if delimiter == 279 { 269 } else { 279 };
                let raw = format!(
                    "8=FIX.4.4\x019=1\x0135={}\x0134=2\x01268=2\x01{delimiter}=0\x01{other}=1\x01{member}=7\x01270=1.5\x01271=2\x01{delimiter}=0\x01{other}=0\x01270=1.4\x01271=1\x015041=9\x0158=x\x0110=000\x01",
                    if snapshot { "W" } else { "X" }
                );
                let mut idx = FieldIndex::<64>::new();
                let msg = Message::parse(raw.as_bytes(), &mut idx).expect("indexes");
                let md = MarketData::new_checked(&msg).expect("view");
                let mut group = msg.group(268, delimiter, MD_ENTRY_TAGS);
                let want = group.by_ref().count();
                let mut entries = md.entries();
                let got = entries.by_ref().count();
                assert_eq!(
                    (got, entries.position()),
                    (want, group.position()),
                    "{member}"
                );
                assert_eq!(md.book_checksum(), Some(9));
                let end = entries.position();
                assert_eq!(md.book_checksum_after(end), Some(9));
                assert_eq!(
                    md.book_checksum_after(end + 1),
                    None,
                    "5041 follows the group"
                );
            }
        }
    }
}
