//! Every message a Kraken FIX client sends, as precompiled templates; and, in [`venue`], the
//! messages a Kraken-like venue sends, as one-pass encoders ([`venue_l3`]: its Level 3 feed).
//!
//! Each client builder returns a [`Template`] plus the slots the sender patches; field order
//! follows Kraken's examples (SPEC §7), so a template built in [`Layout::Exact`] and patched with
//! an example's values reproduces the example byte for byte. The hot-path messages
//! (NewOrderSingle, OrderCancelRequest, OrderCancelReplaceRequest) also come in a `_with`
//! variant taking a [`Layout`] and [`SlotWidths`]: in [`Layout::Fixed`] their numeric slots are
//! zero-padded to constant widths, so BodyLength never changes and a patch touches only the slot
//! bytes and the checksum (see [`crate::template`]).
//!
//! Call order: build at logon (each template allocates its buffer once), then per send patch
//! the slots — [`NewOrder::patch`], [`Logon::sign`], or [`Template::stamp`] + `set_*` — and hand
//! [`Template::bytes`] to the transport. Patching never allocates; a value that does not fit its
//! slot is a [`TemplateError::SlotOverflow`].

pub mod venue;
pub mod venue_l3;

use crate::decimal::Decimal;
use crate::kraken::PASSWORD_LEN;
use crate::template::{Header, Layout, SlotId, Template, TemplateError};

/// Buffer size of every template: far above any message a client sends.
pub const TEMPLATE_CAPACITY: usize = 1024;

/// Side (54).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// `1`
    Buy,
    /// `2`
    Sell,
}

impl Side {
    /// Wire value.
    pub fn code(self) -> &'static [u8] {
        match self {
            Side::Buy => b"1",
            Side::Sell => b"2",
        }
    }
}

/// OrdType (40) as Kraken uses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrdType {
    /// `1`
    Market,
    /// `2`
    Limit,
    /// `3`
    StopLoss,
    /// `4`
    StopLossLimit,
    /// `R`
    TakeProfit,
    /// `T`
    TakeProfitLimit,
    /// `U`
    TrailingStop,
    /// `V` (Spot only)
    TrailingStopLimit,
}

impl OrdType {
    /// Wire value.
    pub fn code(self) -> &'static [u8] {
        match self {
            OrdType::Market => b"1",
            OrdType::Limit => b"2",
            OrdType::StopLoss => b"3",
            OrdType::StopLossLimit => b"4",
            OrdType::TakeProfit => b"R",
            OrdType::TakeProfitLimit => b"T",
            OrdType::TrailingStop => b"U",
            OrdType::TrailingStopLimit => b"V",
        }
    }

    /// Whether Price (44) is required.
    pub fn has_price(self) -> bool {
        matches!(
            self,
            OrdType::Limit
                | OrdType::StopLossLimit
                | OrdType::TakeProfitLimit
                | OrdType::TrailingStopLimit
        )
    }

    /// Whether StopPx (99) is required.
    pub fn has_stop(self) -> bool {
        !matches!(self, OrdType::Market | OrdType::Limit)
    }
}

/// TimeInForce (59).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeInForce {
    /// `1`
    GoodTillCancel,
    /// `3`
    ImmediateOrCancel,
    /// `4` (Spot only)
    FillOrKill,
    /// `6`, with ExpireTime (Spot only)
    GoodTillDate,
}

impl TimeInForce {
    /// Wire value.
    pub fn code(self) -> &'static [u8] {
        match self {
            TimeInForce::GoodTillCancel => b"1",
            TimeInForce::ImmediateOrCancel => b"3",
            TimeInForce::FillOrKill => b"4",
            TimeInForce::GoodTillDate => b"6",
        }
    }
}

/// The constant part of an order: everything but ClOrdID, price, quantity and times.
#[derive(Debug, Clone, Copy)]
pub struct OrderShape<'a> {
    /// Symbol (55).
    pub symbol: &'a [u8],
    /// Side (54).
    pub side: Side,
    /// OrdType (40).
    pub ord_type: OrdType,
    /// TimeInForce (59).
    pub tif: TimeInForce,
    /// ExecInst (18): space-separated flags, e.g. `P`, `E P s`.
    pub exec_inst: Option<&'a [u8]>,
    /// SelfTradePrevention (7928), Spot: 0 both, 1 newest, 2 oldest.
    pub stp: Option<u8>,
    /// DiscretionInst (388): trigger reference, 1 index, 5 last.
    pub trigger_reference: Option<u8>,
    /// Leverage (5001), Spot margin.
    pub margin: bool,
    /// With an iceberg DisplayQty (1138) slot.
    pub iceberg: bool,
    /// With ExpireTime (126), EffectiveTime (168), ValidUntilTime (62) slots.
    pub expire_time: bool,
    /// EffectiveTime (168) slot.
    pub effective_time: bool,
    /// ValidUntilTime (62) slot.
    pub valid_until: bool,
    /// NoAllocs/AllocAccount (78/79): the sub-account the order is for.
    pub alloc_account: Option<&'a [u8]>,
}

impl<'a> OrderShape<'a> {
    /// A plain limit GTC order shape.
    pub fn limit(symbol: &'a [u8], side: Side) -> OrderShape<'a> {
        OrderShape {
            symbol,
            side,
            ord_type: OrdType::Limit,
            tif: TimeInForce::GoodTillCancel,
            exec_inst: None,
            stp: None,
            trigger_reference: None,
            margin: false,
            iceberg: false,
            expire_time: false,
            effective_time: false,
            valid_until: false,
            alloc_account: None,
        }
    }
}

/// A precompiled NewOrderSingle and its slots.
#[derive(Debug, Clone)]
pub struct NewOrder {
    /// The message.
    pub template: Template,
    /// ClOrdID (11).
    pub cl_ord_id: SlotId,
    /// Price (44), for limit-bearing types.
    pub price: Option<SlotId>,
    /// StopPx (99), for trigger types.
    pub stop_px: Option<SlotId>,
    /// OrderQty (38).
    pub qty: SlotId,
    /// DisplayQty (1138), icebergs.
    pub display_qty: Option<SlotId>,
    /// ExpireTime (126).
    pub expire_time: Option<SlotId>,
    /// EffectiveTime (168).
    pub effective_time: Option<SlotId>,
    /// ValidUntilTime (62).
    pub valid_until: Option<SlotId>,
    /// TransactTime (60).
    pub transact_time: SlotId,
}

const TIME0: &[u8] = b"00000000-00:00:00.000";
/// Widest ClOrdID (a UUID).
pub const CLORDID_MAX: u16 = 36;
/// Widest price or quantity text.
pub const DECIMAL_MAX: u16 = 24;

/// Slot widths of an order template in [`Layout::Fixed`] (ignored by [`Layout::Exact`], where
/// [`DECIMAL_MAX`] and [`CLORDID_MAX`] bound them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotWidths {
    /// Price (44), StopPx (99): zero-padded to this width.
    pub price: u16,
    /// OrderQty (38), DisplayQty (1138): zero-padded to this width.
    pub qty: u16,
    /// ClOrdID (11): the width ids will have (16 for Spot microsecond ids, 36 for COMB UUIDs).
    /// A text slot: an id of another width (up to [`CLORDID_MAX`]) is accepted but moves the
    /// tail of the message once.
    pub cl_ord_id: u16,
}

impl SlotWidths {
    /// Spot: 16-digit ClOrdIDs, 16-byte prices and quantities.
    pub const SPOT: SlotWidths = SlotWidths {
        price: 16,
        qty: 16,
        cl_ord_id: 16,
    };
    /// Derivatives: COMB UUID ClOrdIDs.
    pub const DERIVATIVES: SlotWidths = SlotWidths {
        cl_ord_id: 36,
        ..SlotWidths::SPOT
    };
}

impl Default for SlotWidths {
    /// [`SlotWidths::SPOT`]: `84000.00000000` or `1000000.00000000` fit.
    fn default() -> Self {
        SlotWidths::SPOT
    }
}

/// Builds a NewOrderSingle (35=D) template in [`Layout::Exact`] (canonical, byte-identical to
/// SPEC §7 when patched with the example's values).
///
/// # Errors
/// [`TemplateError`] if the constant fields do not fit.
pub fn new_order_single(h: Header<'_>, shape: &OrderShape<'_>) -> Result<NewOrder, TemplateError> {
    new_order_single_with(h, shape, Layout::Exact, SlotWidths::default())
}

/// Builds a NewOrderSingle (35=D) template in `layout`; in [`Layout::Fixed`] BodyLength never
/// changes and every patch touches only its slot's bytes and the checksum.
///
/// # Errors
/// [`TemplateError`] if the constant fields do not fit or a width is out of range.
pub fn new_order_single_with(
    h: Header<'_>,
    shape: &OrderShape<'_>,
    layout: Layout,
    widths: SlotWidths,
) -> Result<NewOrder, TemplateError> {
    let (pw, qw, idw) = match layout {
        Layout::Exact => (DECIMAL_MAX, DECIMAL_MAX, 1),
        Layout::Fixed { .. } => (widths.price, widths.qty, widths.cl_ord_id),
    };
    let zeros = [b'0'; CLORDID_MAX as usize];
    let id0 = zeros.get(..usize::from(idw)).unwrap_or(&zeros);
    let mut slots = (
        SlotId::SEQ,
        None,
        None,
        SlotId::SEQ,
        None,
        None,
        None,
        None,
        SlotId::SEQ,
    );
    let t = Template::build_with(TEMPLATE_CAPACITY, h, b"D", layout, |b| {
        slots.0 = b.slot(11, id0, CLORDID_MAX);
        b.field(55, shape.symbol)
            .field(54, shape.side.code())
            .field(40, shape.ord_type.code());
        if shape.ord_type.has_price() {
            slots.1 = Some(b.numeric_slot(44, pw));
        }
        if shape.ord_type.has_stop() {
            slots.2 = Some(b.numeric_slot(99, pw));
        }
        slots.3 = b.numeric_slot(38, qw);
        if shape.iceberg {
            slots.4 = Some(b.numeric_slot(1138, qw));
        }
        b.field(59, shape.tif.code());
        if shape.expire_time || shape.tif == TimeInForce::GoodTillDate {
            slots.5 = Some(b.slot(126, TIME0, 21));
        }
        if shape.effective_time {
            slots.6 = Some(b.slot(168, TIME0, 21));
        }
        if shape.valid_until {
            slots.7 = Some(b.slot(62, TIME0, 21));
        }
        if let Some(ei) = shape.exec_inst {
            b.field(18, ei);
        }
        if let Some(r) = shape.trigger_reference {
            b.uint(388, u64::from(r));
        }
        if shape.margin {
            b.field(5001, b"1");
        }
        if let Some(stp) = shape.stp {
            b.uint(7928, u64::from(stp));
        }
        if let Some(acct) = shape.alloc_account {
            b.field(78, b"1").field(79, acct);
        }
        slots.8 = b.slot(60, TIME0, 21);
    })?;
    Ok(NewOrder {
        template: t,
        cl_ord_id: slots.0,
        price: slots.1,
        stop_px: slots.2,
        qty: slots.3,
        display_qty: slots.4,
        expire_time: slots.5,
        effective_time: slots.6,
        valid_until: slots.7,
        transact_time: slots.8,
    })
}

impl NewOrder {
    /// Patches the per-order values: ClOrdID, price (if the type has one), quantity and
    /// TransactTime, plus the header stamp. Returns the message to send.
    ///
    /// # Errors
    /// [`TemplateError`] for a value that does not fit its slot.
    #[inline]
    pub fn patch(
        &mut self,
        seq: u64,
        now: crate::time::UtcTimestamp,
        cl_ord_id: &[u8],
        price: Option<Decimal>,
        qty: Decimal,
    ) -> Result<&[u8], TemplateError> {
        // Every slot is patched with the running sum kept up to date; the CheckSum digits are
        // written once at the end (also when a value is refused half-way, so the message always
        // stays well-framed).
        let t = &mut self.template;
        let r = (|| {
            t.stamp_raw(seq, now)?;
            t.set_raw(self.cl_ord_id, cl_ord_id)?;
            if let (Some(slot), Some(p)) = (self.price, price) {
                t.set_decimal_raw(slot, p)?;
            }
            t.set_decimal_raw(self.qty, qty)?;
            t.set_timestamp_raw(self.transact_time, now)
        })();
        t.write_checksum();
        r?;
        Ok(t.bytes())
    }
}

/// A precompiled cancel, replace or status request and its slots.
#[derive(Debug, Clone)]
pub struct OrderRequest {
    /// The message.
    pub template: Template,
    /// ClOrdID (11) of this request.
    pub cl_ord_id: SlotId,
    /// OrderID (37).
    pub order_id: Option<SlotId>,
    /// OrigClOrdID (41).
    pub orig_cl_ord_id: Option<SlotId>,
    /// TransactTime (60).
    pub transact_time: Option<SlotId>,
    /// OrderQty (38), replace only.
    pub qty: Option<SlotId>,
    /// Price (44), replace only.
    pub price: Option<SlotId>,
}

/// OrderCancelRequest (35=F): `11 37 41 54 55 60`, in [`Layout::Exact`].
///
/// # Errors
/// [`TemplateError`].
pub fn order_cancel_request(
    h: Header<'_>,
    symbol: &[u8],
    side: Side,
) -> Result<OrderRequest, TemplateError> {
    order_cancel_request_with(h, symbol, side, Layout::Exact, SlotWidths::SPOT)
}

/// OrderCancelRequest (35=F) in `layout`; in [`Layout::Fixed`] the ClOrdID/OrigClOrdID slots
/// start at `widths.cl_ord_id` and the OrderID slot at 19 bytes (a Spot txid).
///
/// # Errors
/// [`TemplateError`].
pub fn order_cancel_request_with(
    h: Header<'_>,
    symbol: &[u8],
    side: Side,
    layout: Layout,
    widths: SlotWidths,
) -> Result<OrderRequest, TemplateError> {
    let mut s = (SlotId::SEQ, None, None, None);
    let (id0, oid0) = initial_ids(layout, widths);
    let template = Template::build_with(TEMPLATE_CAPACITY, h, b"F", layout, |b| {
        s.0 = b.slot(11, id0, CLORDID_MAX);
        s.1 = Some(b.slot(37, oid0, ORDER_ID_MAX));
        s.2 = Some(b.slot(41, id0, CLORDID_MAX));
        b.field(54, side.code()).field(55, symbol);
        s.3 = Some(b.slot(60, TIME0, 21));
    })?;
    Ok(OrderRequest {
        template,
        cl_ord_id: s.0,
        order_id: s.1,
        orig_cl_ord_id: s.2,
        transact_time: s.3,
        qty: None,
        price: None,
    })
}

/// Widest OrderID (37) slot.
pub const ORDER_ID_MAX: u16 = 40;

const ZEROS: [u8; CLORDID_MAX as usize] = [b'0'; CLORDID_MAX as usize];

/// Initial ClOrdID and OrderID slot contents: one byte in the exact layout, the expected widths
/// (so the first real value does not move the tail) in the fixed one.
fn initial_ids(layout: Layout, widths: SlotWidths) -> (&'static [u8], &'static [u8]) {
    match layout {
        Layout::Exact => (b"0", b"0"),
        Layout::Fixed { .. } => (
            ZEROS.get(..usize::from(widths.cl_ord_id)).unwrap_or(&ZEROS),
            if widths.cl_ord_id == 36 {
                &ZEROS[..36]
            } else {
                &ZEROS[..19]
            },
        ),
    }
}

/// OrderCancelReplaceRequest (35=G, Spot amend): `11 37 41 54 55 60 38 40 44 59 18`, in
/// [`Layout::Exact`].
///
/// # Errors
/// [`TemplateError`].
pub fn order_cancel_replace_request(
    h: Header<'_>,
    shape: &OrderShape<'_>,
) -> Result<OrderRequest, TemplateError> {
    order_cancel_replace_request_with(h, shape, Layout::Exact, SlotWidths::SPOT)
}

/// OrderCancelReplaceRequest (35=G) in `layout` (numeric slots as in
/// [`new_order_single_with`], id slots as in [`order_cancel_request_with`]).
///
/// # Errors
/// [`TemplateError`].
pub fn order_cancel_replace_request_with(
    h: Header<'_>,
    shape: &OrderShape<'_>,
    layout: Layout,
    widths: SlotWidths,
) -> Result<OrderRequest, TemplateError> {
    let mut s = (SlotId::SEQ, None, None, None, None, None);
    let (id0, oid0) = initial_ids(layout, widths);
    let (pw, qw) = match layout {
        Layout::Exact => (DECIMAL_MAX, DECIMAL_MAX),
        Layout::Fixed { .. } => (widths.price, widths.qty),
    };
    let template = Template::build_with(TEMPLATE_CAPACITY, h, b"G", layout, |b| {
        s.0 = b.slot(11, id0, CLORDID_MAX);
        s.1 = Some(b.slot(37, oid0, ORDER_ID_MAX));
        s.2 = Some(b.slot(41, id0, CLORDID_MAX));
        b.field(54, shape.side.code()).field(55, shape.symbol);
        s.3 = Some(b.slot(60, TIME0, 21));
        s.4 = Some(b.numeric_slot(38, qw));
        b.field(40, shape.ord_type.code());
        if shape.ord_type.has_price() {
            s.5 = Some(b.numeric_slot(44, pw));
        }
        b.field(59, shape.tif.code());
        if let Some(ei) = shape.exec_inst {
            b.field(18, ei);
        }
    })?;
    Ok(OrderRequest {
        template,
        cl_ord_id: s.0,
        order_id: s.1,
        orig_cl_ord_id: s.2,
        transact_time: s.3,
        qty: s.4,
        price: s.5,
    })
}

/// OrderStatusRequest (35=H): `11 37 55`.
///
/// # Errors
/// [`TemplateError`].
pub fn order_status_request(h: Header<'_>, symbol: &[u8]) -> Result<OrderRequest, TemplateError> {
    let mut s = (SlotId::SEQ, None);
    let template = Template::build(TEMPLATE_CAPACITY, h, b"H", |b| {
        s.0 = b.slot(11, b"0", CLORDID_MAX);
        s.1 = Some(b.slot(37, b"0", ORDER_ID_MAX));
        b.field(55, symbol);
    })?;
    Ok(OrderRequest {
        template,
        cl_ord_id: s.0,
        order_id: s.1,
        orig_cl_ord_id: None,
        transact_time: None,
        qty: None,
        price: None,
    })
}

/// Scope of an OrderMassCancelRequest (530).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MassCancelScope<'a> {
    /// `1`: this session's orders for a symbol.
    Symbol(&'a [u8]),
    /// `6`: all of this session's orders.
    Session,
    /// `7`: all open orders of the account.
    Account,
}

/// OrderMassCancelRequest (35=q): `11 [55] 60 530`. Slots: ClOrdID, TransactTime.
///
/// # Errors
/// [`TemplateError`].
pub fn order_mass_cancel_request(
    h: Header<'_>,
    scope: MassCancelScope<'_>,
) -> Result<OrderRequest, TemplateError> {
    let mut s = (SlotId::SEQ, None);
    let template = Template::build(TEMPLATE_CAPACITY, h, b"q", |b| {
        s.0 = b.slot(11, b"0", CLORDID_MAX);
        let code: &[u8] = match scope {
            MassCancelScope::Symbol(sym) => {
                b.field(55, sym);
                b"1"
            }
            MassCancelScope::Session => b"6",
            MassCancelScope::Account => b"7",
        };
        s.1 = Some(b.slot(60, TIME0, 21));
        b.field(530, code);
    })?;
    Ok(OrderRequest {
        template,
        cl_ord_id: s.0,
        order_id: None,
        orig_cl_ord_id: None,
        transact_time: s.1,
        qty: None,
        price: None,
    })
}

/// Logon (35=A) options.
#[derive(Debug, Clone, Copy)]
pub struct LogonShape<'a> {
    /// HeartBtInt (108).
    pub heartbeat_interval_s: u32,
    /// ResetSeqNumFlag (141=Y).
    pub reset_seq_num: bool,
    /// API key (553) for trading sessions: adds 553, a 554 slot and a 5025 slot.
    pub api_key: Option<&'a [u8]>,
    /// CancelOrdersOnDisconnect (8674): `Some(true)` → 0 (cancel), `Some(false)` → 1 (keep).
    pub cancel_on_disconnect: Option<bool>,
    /// ClientID (109) linking sibling sessions.
    pub client_id: Option<&'a [u8]>,
    /// ForceResetClOrdID (5030=Y).
    pub force_reset_cl_ord_id: bool,
}

/// A precompiled Logon and its slots.
#[derive(Debug, Clone)]
pub struct Logon {
    /// The message.
    pub template: Template,
    /// Password (554), trading sessions.
    pub password: Option<SlotId>,
    /// Nonce (5025), trading sessions.
    pub nonce: Option<SlotId>,
}

impl Logon {
    /// Stamps the Logon and, for a trading session, signs it: 554 = Kraken's password over
    /// this MsgSeqNum, the CompIDs and `nonce_ms`, and 5025 = the same nonce text (SPEC §2.2).
    /// `sender`/`target` must be the template's CompIDs. Returns the message to send.
    ///
    /// # Errors
    /// [`TemplateError`] if a value does not fit (a sequence number over 20 digits).
    pub fn sign(
        &mut self,
        creds: &crate::kraken::Credentials,
        sender: &[u8],
        target: &[u8],
        seq: u64,
        now: crate::time::UtcTimestamp,
        nonce_ms: u64,
    ) -> Result<&[u8], TemplateError> {
        self.template.stamp(seq, now)?;
        if let (Some(pw), Some(nonce)) = (self.password, self.nonce) {
            let password = creds.password(seq, sender, target, nonce_ms);
            self.template.set(pw, &password)?;
            self.template.set_uint(nonce, nonce_ms)?;
        }
        Ok(self.template.bytes())
    }
}

/// ExecInst (18) flags, written space-separated in Kraken's order `E P v f q s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExecInst(u8);

impl ExecInst {
    /// `E`: reduce-only.
    pub const REDUCE_ONLY: ExecInst = ExecInst(1);
    /// `P`: post-only.
    pub const POST_ONLY: ExecInst = ExecInst(2);
    /// `v`: quantity in quote currency (Spot).
    pub const QTY_IN_QUOTE: ExecInst = ExecInst(4);
    /// `f`: fee in base currency (Spot).
    pub const FEE_IN_BASE: ExecInst = ExecInst(8);
    /// `q`: fee in quote currency (Spot).
    pub const FEE_IN_QUOTE: ExecInst = ExecInst(16);
    /// `s`: single fee — mandatory on Derivatives.
    pub const SINGLE_FEE: ExecInst = ExecInst(32);

    const LETTERS: [u8; 6] = [b'E', b'P', b'v', b'f', b'q', b's'];

    /// Both sets of flags.
    #[must_use]
    pub const fn with(self, other: ExecInst) -> ExecInst {
        ExecInst(self.0 | other.0)
    }

    /// True if every flag of `other` is set.
    pub const fn contains(self, other: ExecInst) -> bool {
        self.0 & other.0 == other.0
    }

    /// True if no flag is set (then tag 18 is left out).
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The wire text, e.g. `E P s`: a buffer and how many bytes of it are used.
    pub fn text(self) -> ([u8; 11], usize) {
        let mut out = [0u8; 11];
        let mut n = 0;
        for (bit, &letter) in Self::LETTERS.iter().enumerate() {
            if self.0 & (1 << bit) != 0 {
                if n > 0 {
                    out[n] = b' ';
                    n += 1;
                }
                out[n] = letter;
                n += 1;
            }
        }
        (out, n)
    }

    /// Reads the space-separated wire text; `None` for an unknown flag.
    pub fn parse(text: &[u8]) -> Option<ExecInst> {
        let mut flags = ExecInst::default();
        for word in text.split(|&c| c == b' ').filter(|w| !w.is_empty()) {
            let [letter] = word else { return None };
            let bit = Self::LETTERS.iter().position(|l| l == letter)?;
            flags.0 |= 1 << bit;
        }
        Some(flags)
    }
}

/// Logon (35=A): `98 108 [141] [109] [553 554 5025] [8674] [5030]`.
///
/// # Errors
/// [`TemplateError`].
pub fn logon(h: Header<'_>, shape: &LogonShape<'_>) -> Result<Logon, TemplateError> {
    let mut s = (None, None);
    let template = Template::build(TEMPLATE_CAPACITY, h, b"A", |b| {
        b.uint(98, 0)
            .uint(108, u64::from(shape.heartbeat_interval_s));
        if shape.reset_seq_num {
            b.field(141, b"Y");
        }
        if let Some(id) = shape.client_id {
            b.field(109, id);
        }
        if let Some(key) = shape.api_key {
            b.field(553, key);
            s.0 = Some(b.slot(554, &[b'A'; PASSWORD_LEN], PASSWORD_LEN as u16));
            s.1 = Some(b.slot(5025, b"0000000000000", 20));
        }
        if let Some(cod) = shape.cancel_on_disconnect {
            b.field(8674, if cod { b"0" } else { b"1" });
        }
        if shape.force_reset_cl_ord_id {
            b.field(5030, b"Y");
        }
    })?;
    Ok(Logon {
        template,
        password: s.0,
        nonce: s.1,
    })
}

/// Heartbeat (35=0), with a TestReqID slot when answering a TestRequest.
///
/// # Errors
/// [`TemplateError`].
pub fn heartbeat(
    h: Header<'_>,
    with_test_req_id: bool,
) -> Result<(Template, Option<SlotId>), TemplateError> {
    let mut id = None;
    let t = Template::build(TEMPLATE_CAPACITY, h, b"0", |b| {
        if with_test_req_id {
            id = Some(b.slot(112, b"0", 64));
        }
    })?;
    Ok((t, id))
}

/// TestRequest (35=1) with a TestReqID slot.
///
/// # Errors
/// [`TemplateError`].
pub fn test_request(h: Header<'_>) -> Result<(Template, SlotId), TemplateError> {
    let mut id = SlotId::SEQ;
    let t = Template::build(TEMPLATE_CAPACITY, h, b"1", |b| id = b.slot(112, b"0", 64))?;
    Ok((t, id))
}

/// ResendRequest (35=2): slots BeginSeqNo (7), EndSeqNo (16).
///
/// # Errors
/// [`TemplateError`].
pub fn resend_request(h: Header<'_>) -> Result<(Template, SlotId, SlotId), TemplateError> {
    let mut s = (SlotId::SEQ, SlotId::SEQ);
    let t = Template::build(TEMPLATE_CAPACITY, h, b"2", |b| {
        s.0 = b.slot(7, b"1", 20);
        s.1 = b.slot(16, b"0", 20);
    })?;
    Ok((t, s.0, s.1))
}

/// SequenceReset (35=4): GapFill (`43=Y 122 123=Y 36`) or Reset (`123=N 36`). Slots:
/// OrigSendingTime (gap fill only) and NewSeqNo.
///
/// # Errors
/// [`TemplateError`].
pub fn sequence_reset(
    h: Header<'_>,
    gap_fill: bool,
) -> Result<(Template, Option<SlotId>, SlotId), TemplateError> {
    let mut s = (None, SlotId::SEQ);
    let t = Template::build(TEMPLATE_CAPACITY, h, b"4", |b| {
        if gap_fill {
            b.field(43, b"Y");
            s.0 = Some(b.slot(122, TIME0, 21));
            b.field(123, b"Y");
        } else {
            b.field(123, b"N");
        }
        s.1 = b.slot(36, b"1", 20);
    })?;
    Ok((t, s.0, s.1))
}

/// Logout (35=5), with a fixed Text (58) if given.
///
/// # Errors
/// [`TemplateError`].
pub fn logout(h: Header<'_>, text: Option<&[u8]>) -> Result<Template, TemplateError> {
    Template::build(TEMPLATE_CAPACITY, h, b"5", |b| {
        if let Some(t) = text {
            b.field(58, t);
        }
    })
}

/// Reject (35=3): slots RefSeqNum (45), RefTagID (371), RefMsgType (372), reason (373), Text (58).
#[derive(Debug, Clone)]
pub struct Reject {
    /// The message.
    pub template: Template,
    /// RefSeqNum (45).
    pub ref_seq: SlotId,
    /// RefTagID (371).
    pub ref_tag: SlotId,
    /// RefMsgType (372).
    pub ref_msg_type: SlotId,
    /// SessionRejectReason (373).
    pub reason: SlotId,
    /// Text (58).
    pub text: SlotId,
}

/// Builds a Reject template in Kraken's field order (M14).
///
/// # Errors
/// [`TemplateError`].
pub fn reject(h: Header<'_>) -> Result<Reject, TemplateError> {
    let mut s = [SlotId::SEQ; 5];
    let template = Template::build(TEMPLATE_CAPACITY, h, b"3", |b| {
        s[0] = b.slot(45, b"0", 20);
        s[1] = b.slot(371, b"0", 11);
        s[2] = b.slot(372, b"0", 8);
        s[3] = b.slot(373, b"0", 3);
        s[4] = b.slot(58, b"-", 200);
    })?;
    Ok(Reject {
        template,
        ref_seq: s[0],
        ref_tag: s[1],
        ref_msg_type: s[2],
        reason: s[3],
        text: s[4],
    })
}

/// What a MarketDataRequest subscribes to.
#[derive(Debug, Clone, Copy)]
pub struct MarketDataShape<'a> {
    /// MDReqID (262).
    pub request_id: &'a [u8],
    /// SubscriptionRequestType (263): `1` subscribe, `2` unsubscribe.
    pub subscribe: bool,
    /// MarketDepth (264).
    pub depth: u32,
    /// AggregatedBook (266): `Y` for L2, `N` for L3.
    pub aggregated: bool,
    /// Include trades (269=2).
    pub trades: bool,
    /// Symbols (146 group).
    pub symbols: &'a [&'a [u8]],
}

/// MarketDataRequest (35=V): `262 263 264 265=1 266 267 269… 146 55…` (M17). No slots but the
/// header: market-data requests are sent once per subscription.
///
/// # Errors
/// [`TemplateError`].
pub fn market_data_request(
    h: Header<'_>,
    shape: &MarketDataShape<'_>,
) -> Result<Template, TemplateError> {
    Template::build(TEMPLATE_CAPACITY, h, b"V", |b| {
        b.field(262, shape.request_id)
            .field(263, if shape.subscribe { b"1" } else { b"2" })
            .uint(264, u64::from(shape.depth))
            .field(265, b"1")
            .field(266, if shape.aggregated { b"Y" } else { b"N" })
            .uint(267, 2 + u64::from(shape.trades))
            .field(269, b"0")
            .field(269, b"1");
        if shape.trades {
            b.field(269, b"2");
        }
        b.uint(146, shape.symbols.len() as u64);
        for s in shape.symbols {
            b.field(55, s);
        }
    })
}

/// InstrumentListRequest (35=x, FIX SecurityListRequest): `263 320 559 [55]` (S06).
///
/// # Errors
/// [`TemplateError`].
pub fn instrument_list_request(
    h: Header<'_>,
    request_id: &[u8],
    symbol: Option<&[u8]>,
) -> Result<Template, TemplateError> {
    Template::build(TEMPLATE_CAPACITY, h, b"x", |b| {
        b.field(263, b"0").field(320, request_id);
        match symbol {
            Some(s) => {
                b.field(559, b"0").field(55, s);
            }
            None => {
                b.field(559, b"4");
            }
        }
    })
}

/// InstrumentListRequest (35=x) by SecurityType: `263=0 320 559=1 167` (`CASH`, `FUT`, `OPT`,
/// `TS`).
///
/// # Errors
/// [`TemplateError`].
pub fn instrument_list_request_by_type(
    h: Header<'_>,
    request_id: &[u8],
    security_type: &[u8],
) -> Result<Template, TemplateError> {
    Template::build(TEMPLATE_CAPACITY, h, b"x", |b| {
        b.field(263, b"0")
            .field(320, request_id)
            .field(559, b"1")
            .field(167, security_type);
    })
}

/// TradingSessionStatusRequest (35=g): `335 336 263`.
///
/// # Errors
/// [`TemplateError`].
pub fn trading_session_status_request(
    h: Header<'_>,
    request_id: &[u8],
    subscribe: bool,
) -> Result<Template, TemplateError> {
    Template::build(TEMPLATE_CAPACITY, h, b"g", |b| {
        b.field(335, request_id)
            .field(336, b"SESSION")
            .field(263, if subscribe { b"1" } else { b"0" });
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_inst_text_and_parse() {
        let f = ExecInst::SINGLE_FEE
            .with(ExecInst::POST_ONLY)
            .with(ExecInst::REDUCE_ONLY);
        let (buf, n) = f.text();
        assert_eq!(&buf[..n], b"E P s");
        assert_eq!(ExecInst::parse(b"E P s"), Some(f));
        assert_eq!(ExecInst::parse(b"s P  E"), Some(f));
        assert!(f.contains(ExecInst::POST_ONLY) && !f.contains(ExecInst::FEE_IN_BASE));
        let all = ExecInst(63);
        let (buf, n) = all.text();
        assert_eq!(&buf[..n], b"E P v f q s");
        assert_eq!(ExecInst::parse(b"P x"), None);
        assert_eq!(ExecInst::parse(b"PE"), None);
        assert!(ExecInst::parse(b"").is_some_and(ExecInst::is_empty));
    }
}
