//! Requests as the FIX layer hands them to the engine: the parsed fields of 35=D/F/G/H/q,
//! borrowed from the inbound message (nothing is copied until the engine keeps it).

use tickwire_fix::decimal::Decimal;
use tickwire_fix::time::UtcTimestamp;

use super::types::{ExecInst, MassCancelScope, OrdType, Side, StpMode, TimeInForce, TriggerRef};

/// NewOrderSingle (35=D), SPEC §4.1.
#[derive(Debug, Clone, Copy)]
pub struct NewOrder<'a> {
    /// ClOrdID (11).
    pub cl_ord_id: &'a [u8],
    /// Symbol (55).
    pub symbol: &'a [u8],
    /// Side (54).
    pub side: Side,
    /// OrdType (40).
    pub ord_type: OrdType,
    /// OrderQty (38): base quantity, or quote amount with ExecInst `v`.
    pub qty: Decimal,
    /// Price (44): limit price; for trailing-stop-limit the offset from the trigger price.
    pub price: Option<Decimal>,
    /// StopPx (99): trigger price; for trailing types the distance.
    pub stop_px: Option<Decimal>,
    /// TimeInForce (59).
    pub tif: TimeInForce,
    /// ExpireTime (126), with GTD.
    pub expire_time: Option<UtcTimestamp>,
    /// EffectiveTime (168): the order is Pending New until then.
    pub effective_time: Option<UtcTimestamp>,
    /// ValidUntilTime (62): refuse the order if it arrives later.
    pub valid_until: Option<UtcTimestamp>,
    /// ExecInst (18).
    pub exec_inst: ExecInst,
    /// DisplayQty (1138): iceberg.
    pub display_qty: Option<Decimal>,
    /// DiscretionInst (388): trigger reference.
    pub trigger_ref: TriggerRef,
    /// Leverage (5001=1): Spot margin order (positions are tracked, reduce-only allowed).
    pub leverage: bool,
    /// SelfTradePrevention (7928), Spot; `None` → cancel newest.
    pub stp: Option<StpMode>,
}

impl<'a> NewOrder<'a> {
    /// A GTC limit order with every optional field absent.
    pub fn limit(
        cl_ord_id: &'a [u8],
        symbol: &'a [u8],
        side: Side,
        qty: Decimal,
        price: Decimal,
    ) -> NewOrder<'a> {
        NewOrder {
            cl_ord_id,
            symbol,
            side,
            ord_type: OrdType::Limit,
            qty,
            price: Some(price),
            stop_px: None,
            tif: TimeInForce::GoodTillCancel,
            expire_time: None,
            effective_time: None,
            valid_until: None,
            exec_inst: ExecInst::default(),
            display_qty: None,
            trigger_ref: TriggerRef::Last,
            leverage: false,
            stp: None,
        }
    }

    /// A market order (IOC behaviour whatever the TIF).
    pub fn market(cl_ord_id: &'a [u8], symbol: &'a [u8], side: Side, qty: Decimal) -> Self {
        NewOrder {
            ord_type: OrdType::Market,
            price: None,
            ..NewOrder::limit(cl_ord_id, symbol, side, qty, Decimal::ZERO)
        }
    }
}

/// OrderCancelRequest (35=F), SPEC §4.3. OrderID wins over OrigClOrdID.
#[derive(Debug, Clone, Copy)]
pub struct CancelRequest<'a> {
    /// ClOrdID (11) of the cancel.
    pub cl_ord_id: &'a [u8],
    /// OrderID (37).
    pub order_id: Option<&'a [u8]>,
    /// OrigClOrdID (41): the order's last ClOrdID.
    pub orig_cl_ord_id: Option<&'a [u8]>,
    /// Symbol (55).
    pub symbol: &'a [u8],
    /// Side (54).
    pub side: Side,
}

/// OrderCancelReplaceRequest (35=G), SPEC §4.4. Absent price/stop/display keep the current
/// values.
#[derive(Debug, Clone, Copy)]
pub struct AmendRequest<'a> {
    /// ClOrdID (11): the order's new ClOrdID.
    pub cl_ord_id: &'a [u8],
    /// OrderID (37).
    pub order_id: Option<&'a [u8]>,
    /// OrigClOrdID (41).
    pub orig_cl_ord_id: Option<&'a [u8]>,
    /// Symbol (55): must match.
    pub symbol: &'a [u8],
    /// Side (54): must match.
    pub side: Side,
    /// OrdType (40): must match the type as entered.
    pub ord_type: OrdType,
    /// TimeInForce (59): must match.
    pub tif: TimeInForce,
    /// OrderQty (38): new total quantity.
    pub qty: Decimal,
    /// Price (44).
    pub price: Option<Decimal>,
    /// StopPx (99).
    pub stop_px: Option<Decimal>,
    /// DisplayQty (1138).
    pub display_qty: Option<Decimal>,
    /// ExecInst `P`: refuse the amend if the new price would cross.
    pub post_only: bool,
    /// ValidUntilTime (62).
    pub valid_until: Option<UtcTimestamp>,
}

/// OrderStatusRequest (35=H), SPEC §4.5.
#[derive(Debug, Clone, Copy)]
pub struct StatusRequest<'a> {
    /// ClOrdID (11): the order's ClOrdID.
    pub cl_ord_id: &'a [u8],
    /// OrderID (37).
    pub order_id: Option<&'a [u8]>,
    /// Symbol (55).
    pub symbol: &'a [u8],
}

/// OrderMassCancelRequest (35=q), SPEC §4.6.
#[derive(Debug, Clone, Copy)]
pub struct MassCancelRequest<'a> {
    /// ClOrdID (11).
    pub cl_ord_id: &'a [u8],
    /// MassCancelRequestType (530).
    pub scope: MassCancelScope,
    /// Symbol (55), required with [`MassCancelScope::SessionSymbol`].
    pub symbol: Option<&'a [u8]>,
}
