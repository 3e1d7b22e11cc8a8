//! Engine configuration: capacities decided at start-up, Kraken rules with a switch for every
//! [ASSUME] item of SPEC §8 that the engine implements, and instrument parameters as
//! InstrumentList (35=y) publishes them.

use tickwire_fix::decimal::Decimal;

use super::types::{InstrumentStatus, StpMode, Venue};
use crate::limits::{ErrorRateParams, Tier, TokenBucketParams};

/// What a Spot post-only order that would cross becomes (SPEC §8 item 17).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostOnlyCross {
    /// ExecutionReport 150=4/39=4 `Post only order`, with no New before it (Spot default).
    CanceledReport,
    /// BusinessMessageReject 380=0 (`EGeneral:Other:POST_WOULD_EXECUTE` on Derivatives).
    BusinessReject,
}

/// ClOrdID checks (SPEC §3.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClOrdIdRules {
    /// Refuse a ClOrdID already used by the account today (`EOrder:Duplicate ClOrdID`).
    pub unique: bool,
    /// Spot: only an integer of at most 18 digits or a UUID is accepted.
    pub spot_shape: bool,
    /// Spot: numeric ClOrdIDs must increase per account per trading day.
    pub spot_increasing: bool,
    /// Derivatives: the COMB UUID's time must be within this many nanoseconds of `now`
    /// (`None`: no time check).
    pub comb_window_ns: Option<i64>,
}

impl Default for ClOrdIdRules {
    fn default() -> Self {
        ClOrdIdRules {
            unique: true,
            spot_shape: true,
            spot_increasing: true,
            comb_window_ns: Some(120_000_000_000),
        }
    }
}

/// Everything the engine needs at start-up. Build with [`Config::spot`] or
/// [`Config::derivatives`] and adjust fields.
#[derive(Debug, Clone)]
pub struct Config {
    /// Spot or Derivatives rules and texts.
    pub venue: Venue,
    /// Live orders across all instruments (resting, untriggered, pending). The order slab is
    /// allocated once with this many entries.
    pub max_orders: usize,
    /// Price levels per side per instrument.
    pub max_levels: usize,
    /// Untriggered orders per instrument, per trigger direction and reference price
    /// (beyond it: `EOrder:Scheduled orders limit exceeded`).
    pub max_trigger_orders: usize,
    /// Trading sessions open at once.
    pub max_sessions: usize,
    /// Accounts.
    pub max_accounts: usize,
    /// ClOrdIDs one account may use per trading day (the duplicate/increasing registry).
    pub clordids_per_account: usize,
    /// Events the output queue holds before it has to grow (drain after every call).
    pub event_capacity: usize,
    /// ClOrdID checks.
    pub clordid: ClOrdIdRules,
    /// Spot post-only crossing behaviour; Derivatives always reject.
    pub post_only_cross: PostOnlyCross,
    /// Derivatives: accept OrderCancelReplaceRequest (off in production, on in UAT; default
    /// off → 35=j 380=3).
    pub derivatives_amend: bool,
    /// Derivatives: answer OrderStatusRequest (default off → 35=j 380=3).
    pub derivatives_order_status: bool,
    /// Spot: apply the per-pair rate counter of each account's tier.
    pub spot_rate_limit: bool,
    /// Spot: apply the per-tier open-order cap per pair.
    pub open_order_cap: bool,
    /// Derivatives: per-session token bucket (`None`: unlimited).
    pub derivatives_bucket: Option<TokenBucketParams>,
    /// Error-rate safeguard per session (`None`: off).
    pub error_rate: Option<ErrorRateParams>,
    /// Latest ExpireTime accepted, nanoseconds ahead of now (one month).
    pub max_expire_ahead_ns: i64,
    /// Latest ValidUntilTime accepted, nanoseconds ahead of now (60 s).
    pub max_valid_until_ahead_ns: i64,
    /// Seed of the OrderID/TradeID permutation: same seed, same ids.
    pub id_seed: u64,
    /// First SecondaryExecID (527) of every instrument.
    pub first_trade_seq: u64,
}

impl Config {
    /// UAT-faithful Spot defaults with moderate capacities.
    pub fn spot() -> Config {
        Config {
            venue: Venue::Spot,
            max_orders: 65_536,
            max_levels: 4_096,
            max_trigger_orders: 4_096,
            max_sessions: 64,
            max_accounts: 64,
            clordids_per_account: 65_536,
            event_capacity: 65_536,
            clordid: ClOrdIdRules::default(),
            post_only_cross: PostOnlyCross::CanceledReport,
            derivatives_amend: false,
            derivatives_order_status: false,
            spot_rate_limit: true,
            open_order_cap: true,
            derivatives_bucket: None,
            error_rate: Some(ErrorRateParams::default()),
            max_expire_ahead_ns: 31 * 86_400 * 1_000_000_000,
            max_valid_until_ahead_ns: 60 * 1_000_000_000,
            id_seed: 0x7469_636b_7769_7265,
            first_trade_seq: 1,
        }
    }

    /// UAT-faithful Derivatives defaults.
    pub fn derivatives() -> Config {
        Config {
            venue: Venue::Derivatives,
            post_only_cross: PostOnlyCross::BusinessReject,
            spot_rate_limit: false,
            open_order_cap: false,
            derivatives_bucket: Some(TokenBucketParams::default()),
            ..Config::spot()
        }
    }
}

/// One instrument as InstrumentList (35=y) describes it. Decimal fields are converted to
/// integers at the instrument's precisions when the engine is built.
#[derive(Debug, Clone)]
pub struct InstrumentSpec {
    /// Symbol (55): `BTC/USD`, `PF_XBTUSD`.
    pub symbol: String,
    /// Base asset (fee currency when paid in base).
    pub base: String,
    /// Quote asset: the fee currency (138).
    pub quote: String,
    /// PricePrecision (2349): price decimals.
    pub price_precision: u8,
    /// QtyPrecision (5010): quantity decimals.
    pub qty_precision: u8,
    /// TickSize (5022).
    pub tick_size: Decimal,
    /// MinTradeVol (562): quantity increment.
    pub lot_step: Decimal,
    /// QtyMin (5011).
    pub min_qty: Decimal,
    /// QtyMax (5012).
    pub max_qty: Option<Decimal>,
    /// MinimumCost (5013): price × qty.
    pub min_cost: Option<Decimal>,
    /// AssetPairStatus (5032) at start.
    pub status: InstrumentStatus,
    /// Maker fee in basis points (16 = 0.16 %).
    pub maker_fee_bps: Decimal,
    /// Taker fee in basis points.
    pub taker_fee_bps: Decimal,
    /// Decimals of fee amounts (137).
    pub fee_precision: u8,
    /// An index price exists for 388=1 triggers (set it with `set_index_price`).
    pub index_available: bool,
}

impl InstrumentSpec {
    /// Kraken's BTC/USD as in SPEC S07: 1 price decimal, tick 0.1, 8 qty decimals, min 0.0001,
    /// min cost 0.5; fees 16/26 bps.
    pub fn btc_usd() -> InstrumentSpec {
        InstrumentSpec {
            symbol: "BTC/USD".into(),
            base: "BTC".into(),
            quote: "USD".into(),
            price_precision: 1,
            qty_precision: 8,
            tick_size: Decimal::new(1, 1),
            lot_step: Decimal::new(1, 8),
            min_qty: Decimal::new(1, 4),
            max_qty: None,
            min_cost: Some(Decimal::new(5, 1)),
            status: InstrumentStatus::Online,
            maker_fee_bps: Decimal::new(16, 0),
            taker_fee_bps: Decimal::new(26, 0),
            fee_precision: 8,
            index_available: true,
        }
    }

    /// A Derivatives linear perpetual like `PF_XBTUSD`: whole-dollar ticks, 4 qty decimals.
    pub fn pf_xbtusd() -> InstrumentSpec {
        InstrumentSpec {
            symbol: "PF_XBTUSD".into(),
            base: "XBT".into(),
            quote: "USD".into(),
            price_precision: 0,
            qty_precision: 4,
            tick_size: Decimal::new(1, 0),
            lot_step: Decimal::new(1, 4),
            min_qty: Decimal::new(1, 4),
            max_qty: None,
            min_cost: None,
            status: InstrumentStatus::Online,
            maker_fee_bps: Decimal::new(2, 0),
            taker_fee_bps: Decimal::new(5, 0),
            fee_precision: 8,
            index_available: true,
        }
    }
}

/// Per-account settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AccountConfig {
    /// Spot rate-limit tier and open-order cap.
    pub tier: Tier,
    /// Derivatives: the account-level STP setting (made via REST on Kraken). Spot orders use
    /// 7928 and default to cancel-newest.
    pub derivatives_stp: StpMode,
    /// Not a Kraken setting: exempt from the Spot rate counter and the open-order cap. For the
    /// simulator's own market participants, whose order flow must not be throttled like a
    /// client's.
    pub unlimited: bool,
}

/// Per-session settings (from Logon).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionConfig {
    /// CancelOrdersOnDisconnect (8674=0, the default): cancel the session's orders when it ends.
    pub cancel_on_disconnect: bool,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            cancel_on_disconnect: true,
        }
    }
}
