//! What the engine emits: execution reports and rejects for the FIX trading sessions, book and
//! trade changes for the market-data publisher, and disconnect signals.
//!
//! Every event is a `Copy` value carrying all the fields its FIX message needs (SPEC §4.2,
//! §4.7, §4.11), so the FIX layer only formats: no lookup back into the engine is required
//! except the instrument's symbol and fee currency ([`crate::engine::Engine::instrument`]).

use tickwire_fix::decimal::Decimal;
use tickwire_fix::time::UtcTimestamp;

use super::types::{
    AccountId, ClOrdId, ExecInst, ExecType, InstrumentId, Liquidity, MsgKind, OrdStatus, OrdType,
    OrderId, SessionId, Side, TimeInForce, TradeId, Venue,
};

/// Kraken ExecutionReport texts (SPEC §6.4). `[ASSUME]` ones follow Kraken's REST/WS reasons.
pub mod text {
    /// User cancel (35=F, 35=q).
    pub const CANCELED_BY_USER: &str = "Order canceled by user";
    /// GTD expiry.
    pub const GTD_EXPIRED: &str = "GTD order expired";
    /// Spot post-only that would cross [ASSUME].
    pub const POST_ONLY: &str = "Post only order";
    /// IOC or market remainder [ASSUME].
    pub const IMMEDIATE_OR_CANCEL: &str = "Immediate or cancel";
    /// FOK that could not fill completely [ASSUME].
    pub const FILL_OR_KILL: &str = "Fill or kill";
    /// Self-trade prevention [ASSUME].
    pub const SELF_TRADE: &str = "Self trade prevention";
    /// Cancel-on-disconnect [ASSUME].
    pub const CANCEL_ON_DISCONNECT: &str = "Cancel on disconnect";
    /// A reduce-only order that can no longer reduce.
    pub const REDUCE_ONLY_CLOSED: &str = "EOrder:Reduce only:Position is closed";
    /// Amend to at most the filled quantity: the rest is cancelled [ASSUME text].
    pub const AMENDED_BELOW_FILLED: &str = "Order canceled by user";
    /// A triggered or activated order met a market that does not match [ASSUME].
    pub const MARKET_NOT_MATCHING: &str = "EService:Market in cancel_only mode";
}

/// Why a request was refused before (or instead of) reaching the book (SPEC §6.2, §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// Symbol unknown or hidden (380=2).
    UnknownAssetPair,
    /// Message type not offered on this venue (380=3).
    UnsupportedMessage,
    /// Cancel/amend/status of an unknown, finished or foreign-session order (380=101).
    UnknownOrder,
    /// Spot rate counter (`EOrder:Rate limit exceeded`) or Derivatives bucket (`apiLimitExceeded`).
    RateLimitExceeded,
    /// Open-order cap of the tier (`EOrder:Orders limit exceeded`).
    OrdersLimitExceeded,
    /// Too many untriggered orders (`EOrder:Scheduled orders limit exceeded`).
    ScheduledOrdersLimitExceeded,
    /// ClOrdID already used (`EOrder:Duplicate ClOrdID`).
    DuplicateClOrdId,
    /// Spot ClOrdID not above the previous one, or not an accepted shape.
    ClOrdIdInvalid,
    /// Derivatives COMB UUID time more than 120 s from the venue's clock.
    ClOrdIdOutOfDate,
    /// Derivatives ClOrdID not a COMB UUID (session-level reject 373=5 on tag 11).
    CombUuidRequired,
    /// Quantity below QtyMin.
    OrderMinimumNotMet,
    /// Quantity above QtyMax.
    OrderMaximumExceeded,
    /// Price × quantity below MinimumCost.
    CostMinimumNotMet,
    /// Price not a multiple of TickSize.
    TickSizeCheckFailed,
    /// Price zero or negative.
    InvalidPrice,
    /// Quantity zero, negative, or not a multiple of the lot step.
    InvalidQuantity,
    /// A combination of fields Kraken refuses (`EGeneral:Invalid arguments`).
    InvalidArguments,
    /// 388=1 on an instrument without an index price.
    IndexUnavailable,
    /// Derivatives order without ExecInst `s`.
    SingleFeeRequired,
    /// Instrument in maintenance / delisted.
    MarketUnavailable,
    /// Instrument cancel-only.
    MarketCancelOnly,
    /// Instrument post-only and the order is not a post-only limit order.
    MarketPostOnly,
    /// Instrument limit-only and the order is a market order [ASSUME text].
    MarketLimitOnly,
    /// Instrument reduce-only and the order is not reduce-only [ASSUME text].
    MarketReduceOnly,
    /// ValidUntilTime (62) already passed.
    DeadlineElapsed,
    /// Reduce-only order with no position to reduce.
    ReduceOnlyNoPosition,
    /// Spot reduce-only order without margin (5001=1).
    ReduceOnlyNonPositionClosing,
    /// Post-only order (or amend with 18=P) that would cross, rejected rather than cancelled.
    PostWouldExecute,
    /// Derivatives IOC order that cannot trade at all.
    IocWouldEnterBook,
    /// The simulator's order slab or level pool is full (configured capacity).
    CapacityExhausted,
    /// A required-when field is missing (session-level reject 373=1 on `tag`).
    MissingField {
        /// The missing tag: 44 Price, 99 StopPx, 126 ExpireTime, 55 Symbol.
        tag: u32,
    },
    /// An enum value the venue does not accept (session-level reject 373=5 on `tag`).
    ValueNotSupported {
        /// 40 OrdType or 59 TimeInForce.
        tag: u32,
    },
}

/// How the FIX layer must answer a reject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectMessage {
    /// BusinessMessageReject (35=j) with BusinessRejectReason (380).
    Business {
        /// 380.
        reason: u32,
    },
    /// Session-level Reject (35=3) with RefTagID (371) and SessionRejectReason (373).
    Session {
        /// 371.
        ref_tag: u32,
        /// 373.
        reason: u32,
    },
}

impl RejectReason {
    /// The message the reject travels in.
    pub fn message(self) -> RejectMessage {
        match self {
            RejectReason::UnknownAssetPair => RejectMessage::Business { reason: 2 },
            RejectReason::UnsupportedMessage => RejectMessage::Business { reason: 3 },
            RejectReason::UnknownOrder => RejectMessage::Business { reason: 101 },
            RejectReason::CombUuidRequired => RejectMessage::Session {
                ref_tag: 11,
                reason: 5,
            },
            RejectReason::MissingField { tag } => RejectMessage::Session {
                ref_tag: tag,
                reason: 1,
            },
            RejectReason::ValueNotSupported { tag } => RejectMessage::Session {
                ref_tag: tag,
                reason: 5,
            },
            _ => RejectMessage::Business { reason: 0 },
        }
    }

    /// The Text (58) Kraken sends on `venue`.
    pub fn text(self, venue: Venue) -> &'static str {
        let spot = venue == Venue::Spot;
        match self {
            RejectReason::UnknownAssetPair => "EQuery:Unknown asset pair",
            RejectReason::UnsupportedMessage => "Unsupported Message Type",
            RejectReason::UnknownOrder => "EOrder:Unknown order",
            RejectReason::RateLimitExceeded if spot => "EOrder:Rate limit exceeded",
            RejectReason::RateLimitExceeded => "apiLimitExceeded",
            RejectReason::OrdersLimitExceeded => "EOrder:Orders limit exceeded",
            RejectReason::ScheduledOrdersLimitExceeded => "EOrder:Scheduled orders limit exceeded",
            RejectReason::DuplicateClOrdId if spot => "EOrder:Duplicate ClOrdID",
            RejectReason::DuplicateClOrdId => "EGeneral:Other:CLIENT_ORDER_ID_ALREADY_EXIST",
            RejectReason::ClOrdIdInvalid => "ClOrdID invalid value",
            RejectReason::ClOrdIdOutOfDate => "ClOrdID invalid value (timestamp is out of date)",
            RejectReason::CombUuidRequired => "COMB UUIDv4 required for ClOrdID on derivatives",
            RejectReason::OrderMinimumNotMet if spot => "EOrder:Order minimum not met",
            RejectReason::OrderMaximumExceeded if spot => "EGeneral:Invalid arguments:volume",
            RejectReason::OrderMinimumNotMet
            | RejectReason::OrderMaximumExceeded
            | RejectReason::InvalidQuantity
                if !spot =>
            {
                "EGeneral:Other:INVALID_SIZE"
            }
            RejectReason::CostMinimumNotMet => "EOrder:Cost minimum not met",
            RejectReason::TickSizeCheckFailed if spot => "EOrder:Tick size check failed",
            RejectReason::InvalidPrice if spot => "EOrder:Invalid price",
            RejectReason::TickSizeCheckFailed | RejectReason::InvalidPrice => {
                "EGeneral:Other:INVALID_PRICE"
            }
            RejectReason::InvalidQuantity => "EGeneral:Invalid arguments:volume",
            RejectReason::InvalidArguments => "EGeneral:Invalid arguments",
            RejectReason::IndexUnavailable => "EGeneral:Invalid arguments:Index unavailable",
            RejectReason::SingleFeeRequired => "EGeneral:Invalid arguments",
            RejectReason::MarketUnavailable if spot => "EService:Unavailable",
            RejectReason::MarketUnavailable => "EGeneral:Other:MARKET_SUSPENDED",
            RejectReason::MarketCancelOnly if spot => "EService:Market in cancel_only mode",
            RejectReason::MarketCancelOnly => "EGeneral:Other:MARKET_INACTIVE",
            RejectReason::MarketPostOnly => "EService:Market in post_only mode",
            RejectReason::MarketLimitOnly => "EService:Market in limit_only mode",
            RejectReason::MarketReduceOnly => "EService:Market in reduce_only mode",
            RejectReason::DeadlineElapsed => "EService:Deadline elapsed",
            RejectReason::ReduceOnlyNoPosition if spot => "EOrder:Reduce only:No position exists",
            RejectReason::ReduceOnlyNoPosition | RejectReason::ReduceOnlyNonPositionClosing
                if !spot =>
            {
                "EGeneral:Other:WOULD_NOT_REDUCE_POSITION"
            }
            RejectReason::ReduceOnlyNoPosition | RejectReason::ReduceOnlyNonPositionClosing => {
                "EOrder:Reduce only:Non-PC"
            }
            RejectReason::PostWouldExecute if spot => "EOrder:Post only order",
            RejectReason::PostWouldExecute => "EGeneral:Other:POST_WOULD_EXECUTE",
            RejectReason::IocWouldEnterBook => "IOC_WOULD_ENTER_BOOK",
            RejectReason::CapacityExhausted => "EService:Unavailable",
            RejectReason::MissingField { tag } => match tag {
                44 => "Missing mandatory field: Price (44)",
                99 => "Missing mandatory field: StopPx (99)",
                126 => "Missing mandatory field: ExpireTime (126)",
                55 => "Missing mandatory field: Symbol (55)",
                _ => "Missing mandatory field",
            },
            RejectReason::ValueNotSupported { tag } => match tag {
                40 => "Invalid value for tag 40: OrderType",
                59 => "Invalid value for tag 59: TimeInForce",
                _ => "Invalid value",
            },
            // Guards above cover every venue; keep the compiler satisfied without a wildcard
            // hiding new variants.
            RejectReason::OrderMinimumNotMet | RejectReason::OrderMaximumExceeded => {
                "EGeneral:Invalid arguments"
            }
        }
    }
}

/// A refused request, answered as 35=j or 35=3 on the requesting session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reject {
    /// The session that sent the request.
    pub session: SessionId,
    /// RefMsgType (372).
    pub msg: MsgKind,
    /// BusinessRejectRefID (379): the request's ClOrdID.
    pub ref_id: ClOrdId,
    /// Why.
    pub reason: RejectReason,
    /// 35=j with 380, or 35=3 with 371/373.
    pub message: RejectMessage,
    /// Text (58).
    pub text: &'static str,
    /// When.
    pub time: UtcTimestamp,
}

/// The fill part of a 150=F report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fill {
    /// LastPx (31).
    pub last_px: Decimal,
    /// LastQty (32).
    pub last_qty: Decimal,
    /// NetMoney (118): LastQty × LastPx.
    pub net_money: Decimal,
    /// TradeID (1003).
    pub trade_id: TradeId,
    /// SecondaryExecID (527): per-instrument trade sequence.
    pub trade_seq: u64,
    /// LiquidityInd (5050).
    pub liquidity: Liquidity,
}

/// What Text (58) carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportText {
    /// No text.
    None,
    /// The order description of a New: write it with
    /// [`crate::engine::Engine::write_description`] (`buy 0.01 BTC/USD @ limit 84000.0`).
    Description,
    /// A fixed reason (`Order canceled by user`, `GTD order expired`, …).
    Static(&'static str),
}

/// One ExecutionReport (35=8), every field of SPEC §4.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecReport {
    /// The session to send it on: the requester for request answers (including mass cancels
    /// of other sessions' orders), the owner for fills, expiries and triggers.
    pub session: SessionId,
    /// The session the order belongs to.
    pub owner: SessionId,
    /// The order's account.
    pub account: AccountId,
    /// Instrument (Symbol 55 via `Engine::instrument`).
    pub instrument: InstrumentId,
    /// ExecID (17) number, unique per engine; the FIX layer formats it.
    pub exec_id: u64,
    /// OrderID (37).
    pub order_id: OrderId,
    /// ClOrdID (11).
    pub cl_ord_id: ClOrdId,
    /// OrigClOrdID (41), on cancel/replace answers.
    pub orig_cl_ord_id: Option<ClOrdId>,
    /// ExecType (150).
    pub exec_type: ExecType,
    /// OrdStatus (39).
    pub ord_status: OrdStatus,
    /// Side (54).
    pub side: Side,
    /// OrdType (40): after a trigger, Market or Limit.
    pub ord_type: OrdType,
    /// TimeInForce (59).
    pub tif: TimeInForce,
    /// ExecInst (18), echoed.
    pub exec_inst: ExecInst,
    /// Price (44) of limit-bearing orders (for trailing-stop-limit before the trigger: the
    /// offset).
    pub price: Option<Decimal>,
    /// StopPx (99) of trigger orders (trailing: the distance).
    pub stop_px: Option<Decimal>,
    /// TriggerPrice (1102) once a trigger fired.
    pub trigger_price: Option<Decimal>,
    /// OrderQty (38).
    pub order_qty: Decimal,
    /// CumQty (14).
    pub cum_qty: Decimal,
    /// LeavesQty (151): 0 on terminal states.
    pub leaves_qty: Decimal,
    /// AvgPx (6): 0 before any fill.
    pub avg_px: Decimal,
    /// GrossTradeAmt (381): CumQty × AvgPx.
    pub gross_trade_amt: Decimal,
    /// DisplayQty (1138) of icebergs.
    pub display_qty: Option<Decimal>,
    /// ExpireTime (126) of GTD orders.
    pub expire_time: Option<UtcTimestamp>,
    /// The fill of a 150=F.
    pub fill: Option<Fill>,
    /// Cumulative fee of the order (137), in the instrument's quote currency (138), once
    /// the order has traded.
    pub cum_fee: Option<Decimal>,
    /// Text (58).
    pub text: ReportText,
    /// TransactTime (60).
    pub transact_time: UtcTimestamp,
}

/// A price level changed: its new aggregate visible size (zero: the level is gone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookUpdate {
    /// Instrument.
    pub instrument: InstrumentId,
    /// Bid (buy) or offer (sell).
    pub side: Side,
    /// The level's price.
    pub price: Decimal,
    /// Aggregate visible quantity after the change; zero means deleted.
    pub size: Decimal,
    /// When.
    pub time: UtcTimestamp,
}

/// A public trade, for MD 269=2 entries (M20).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicTrade {
    /// Instrument.
    pub instrument: InstrumentId,
    /// Trade price.
    pub price: Decimal,
    /// Trade quantity.
    pub qty: Decimal,
    /// AggressorSide (2446): the taker's side.
    pub aggressor: Side,
    /// OrdType (40) of the taker (M20 carries it).
    pub taker_ord_type: OrdType,
    /// Per-instrument trade sequence (527 of the fills).
    pub trade_seq: u64,
    /// TradeID (1003) of the fills.
    pub trade_id: TradeId,
    /// When.
    pub time: UtcTimestamp,
}

/// The session must be logged out and closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Disconnect {
    /// The session.
    pub session: SessionId,
    /// Logout Text (58): `Too many errors`.
    pub text: &'static str,
}

/// One engine output. Variants are kept inline (not boxed) so the queue never allocates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)]
pub enum Event {
    /// An ExecutionReport for a trading session.
    Report(ExecReport),
    /// A 35=j / 35=3 for a trading session.
    Reject(Reject),
    /// A book level changed (coalesced per request: one update per touched level).
    Book(BookUpdate),
    /// A trade printed.
    Trade(PublicTrade),
    /// A session must be disconnected.
    Disconnect(Disconnect),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_texts_and_codes() {
        let s = Venue::Spot;
        assert_eq!(
            RejectReason::UnknownOrder.message(),
            RejectMessage::Business { reason: 101 }
        );
        assert_eq!(RejectReason::UnknownOrder.text(s), "EOrder:Unknown order");
        assert_eq!(
            RejectReason::UnknownAssetPair.message(),
            RejectMessage::Business { reason: 2 }
        );
        assert_eq!(
            RejectReason::RateLimitExceeded.text(s),
            "EOrder:Rate limit exceeded"
        );
        assert_eq!(
            RejectReason::RateLimitExceeded.text(Venue::Derivatives),
            "apiLimitExceeded"
        );
        assert_eq!(
            RejectReason::PostWouldExecute.text(Venue::Derivatives),
            "EGeneral:Other:POST_WOULD_EXECUTE"
        );
        assert_eq!(
            RejectReason::CombUuidRequired.message(),
            RejectMessage::Session {
                ref_tag: 11,
                reason: 5
            }
        );
        assert_eq!(
            RejectReason::MissingField { tag: 44 }.text(s),
            "Missing mandatory field: Price (44)"
        );
        for r in [
            RejectReason::OrderMinimumNotMet,
            RejectReason::CostMinimumNotMet,
            RejectReason::TickSizeCheckFailed,
            RejectReason::InvalidPrice,
            RejectReason::OrdersLimitExceeded,
            RejectReason::DeadlineElapsed,
        ] {
            assert!(r.text(s).starts_with('E'), "{r:?}");
            assert_eq!(r.message(), RejectMessage::Business { reason: 0 });
        }
    }
}
