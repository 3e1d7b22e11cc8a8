//! The Kraken profile of the venue: Kraken's Spot (and Derivatives) FIX 4.4 gateways as SPEC
//! describes them, for integration tests, the demo and benchmarks.
//!
//! ```text
//!             ┌──────────────────────────── Venue (sans-IO) ─────────────────────────────┐
//! bytes ─────►│ pre-logon: CompIDs for the port, HMAC credentials + nonce (SPEC §2)      │
//! (plaintext) │ fix::Session (acceptor: heartbeats, resend, gap fill, Rejects, rollover) │
//!             │ trading: 35=D/F/G/H/q ─► engine::Engine ─► 35=8 / 35=j / 35=3, Logout    │
//!             │ market data: 35=V/x/g ─► 35=W/X/Y/y/h, book diff per subscription, 5041  │
//!             │   L2 per price level; L3 (ports 4004/4005) per resting order           │
//!             │ synthetic participants (seeded) or a tick replay ─► the same Engine      │
//! transmit ◄──│ per connection: what to write; wants_close after a Logout                │
//!             └──────────────────────────────────────────────────────────────────────────┘
//! server::Server: kernel TCP listeners (TLS 1.3 via tickwire-tls unless plain TCP is asked
//! for), one polling thread for every connection.
//! ```
//!
//! [`Venue`] owns no socket, thread or clock: a driver hands it connections ([`Venue::handle_connect`]),
//! decrypted bytes ([`Venue::handle_input`]), the time ([`Venue::handle_timeout`]) and
//! transport closures ([`Venue::handle_closed`]), and writes what [`Venue::transmit`] returns.
//! [`server::Server`] is that driver over kernel TCP; the same core can sit behind
//! tickwire's userspace stack.
//!
//! Ports and CompIDs follow SPEC §1.2 ([`Port`]). The L3 ports (4004 Derivatives, 4005 Spot)
//! serve order-by-order books from the same engine (see [`L3Config`] for the choices SPEC
//! marks [ASSUME]); 266=N on an L2 port is refused with 281=B unless configured otherwise.
//! Logon failures follow SPEC §2.6: bad key, signature or nonce → Logout
//! `Logon failed: invalid credentials` then close; unknown SenderCompID, wrong TargetCompID
//! or a first message that is not a Logon → close without a Logout.

pub mod journal;
mod market;
mod md;
mod md_l3;
pub mod pki;
pub mod replay;
pub mod server;
mod validate;
mod venue;

pub use market::MarketConfig;
pub use replay::{ReplayConfig, ReplayError, Speed, Tape};
pub use server::{Server, ServerConfig};
pub use validate::validate_kraken;
pub use venue::{ConnError, ConnId, Stats, Venue};

use tickwire_fix::decimal::Decimal;
use tickwire_fix::session::Rollover;

use crate::engine::{self, InstrumentSpec};
use crate::limits::Tier;

/// The Logout text of a refused logon (SPEC §2.6, §6.1).
pub const LOGON_FAILED: &str = "Logon failed: invalid credentials";

/// One of Kraken's FIX endpoints (SPEC §1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Port {
    /// 4000, `KRAKEN-MD`.
    SpotMd,
    /// 4001, `KRAKEN-TRD`.
    SpotTrading,
    /// 4002, `KRAKEN-DRV-MD`.
    DerivativesMd,
    /// 4003, `KRAKEN-DRV-TRD`.
    DerivativesTrading,
    /// 4004, Derivatives market data L3, `KRAKEN-DRV-MD` (SPEC §1.2 [ASSUME] same target as
    /// L2).
    DerivativesMdL3,
    /// 4005, Spot market data L3, `KRAKEN-MD` ([ASSUME] as above).
    SpotMdL3,
}

impl Port {
    /// Every endpoint served.
    pub const ALL: [Port; 6] = [
        Port::SpotMd,
        Port::SpotTrading,
        Port::DerivativesMd,
        Port::DerivativesTrading,
        Port::DerivativesMdL3,
        Port::SpotMdL3,
    ];

    /// Kraken's port number.
    pub fn default_port(self) -> u16 {
        match self {
            Port::SpotMd => 4000,
            Port::SpotTrading => 4001,
            Port::DerivativesMd => 4002,
            Port::DerivativesTrading => 4003,
            Port::DerivativesMdL3 => 4004,
            Port::SpotMdL3 => 4005,
        }
    }

    /// The TargetCompID clients use (our SenderCompID).
    pub fn comp_id(self) -> &'static str {
        match self {
            Port::SpotMd | Port::SpotMdL3 => "KRAKEN-MD",
            Port::SpotTrading => "KRAKEN-TRD",
            Port::DerivativesMd | Port::DerivativesMdL3 => "KRAKEN-DRV-MD",
            Port::DerivativesTrading => "KRAKEN-DRV-TRD",
        }
    }

    /// True for order entry (authenticated) sessions.
    pub fn is_trading(self) -> bool {
        matches!(self, Port::SpotTrading | Port::DerivativesTrading)
    }

    /// True for the Level 3 (order-by-order) market-data ports.
    pub fn is_l3(self) -> bool {
        matches!(self, Port::SpotMdL3 | Port::DerivativesMdL3)
    }

    /// Spot or Derivatives.
    pub fn venue(self) -> engine::Venue {
        match self {
            Port::SpotMd | Port::SpotTrading | Port::SpotMdL3 => engine::Venue::Spot,
            Port::DerivativesMd | Port::DerivativesTrading | Port::DerivativesMdL3 => {
                engine::Venue::Derivatives
            }
        }
    }

    /// A short name (`spot-md`, `spot-trading`, …).
    pub fn name(self) -> &'static str {
        match self {
            Port::SpotMd => "spot-md",
            Port::SpotTrading => "spot-trading",
            Port::DerivativesMd => "derivatives-md",
            Port::DerivativesTrading => "derivatives-trading",
            Port::DerivativesMdL3 => "derivatives-md-l3",
            Port::SpotMdL3 => "spot-md-l3",
        }
    }
}

/// A client Kraken onboarded: CompIDs and the FIX API key.
#[derive(Debug, Clone)]
pub struct Client {
    /// Spot SenderCompID.
    pub comp_id: String,
    /// Derivatives SenderCompID (`…DRV`), if the client trades Derivatives.
    pub derivatives_comp_id: Option<String>,
    /// API key (553).
    pub api_key: String,
    /// API secret as Kraken shows it (base64).
    pub api_secret: String,
    /// Spot rate-limit tier.
    pub tier: Tier,
}

impl Client {
    /// SPEC §7's client: `TESTCLIENT` / `TESTCLIENT-DRV`, key `FIXTESTKEY123` with the secret
    /// of test vector A.
    pub fn spec_example() -> Client {
        Client {
            comp_id: "TESTCLIENT".into(),
            derivatives_comp_id: Some("TESTCLIENT-DRV".into()),
            api_key: "FIXTESTKEY123".into(),
            api_secret:
                "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw=="
                    .into(),
            tier: Tier::Intermediate,
        }
    }
}

/// Everything the venue needs at start-up.
#[derive(Debug, Clone)]
pub struct Config {
    /// Onboarded clients.
    pub clients: Vec<Client>,
    /// Spot engine rules and capacities.
    pub spot: engine::Config,
    /// Spot instruments (InstrumentList).
    pub spot_instruments: Vec<InstrumentSpec>,
    /// Derivatives engine and instruments; `None`: the Derivatives ports refuse connections.
    pub derivatives: Option<(engine::Config, Vec<InstrumentSpec>)>,
    /// Largest distance between a logon nonce and the venue clock (SPEC §2.2: ±5 s).
    pub nonce_window_ms: u64,
    /// Derivatives: also accept passwords computed with the literal `KRAKEN-TRD` (SPEC §2.3).
    pub lenient_derivatives_target: bool,
    /// Daily rollover (Kraken: 22:00 UTC): sessions are logged out and sequences restart.
    pub rollover: Option<Rollover>,
    /// Connections served at once.
    pub max_connections: usize,
    /// Application messages a trading session keeps for resends.
    pub trading_journal_slots: usize,
    /// The synthetic market on Spot; `None`: only clients trade.
    pub market: Option<MarketConfig>,
    /// Recorded ticks replayed on Spot instead of the synthetic market ([`replay`]); at most
    /// one of `market` and `replay`.
    pub replay: Option<ReplayConfig>,
    /// Level 3 market data.
    pub l3: L3Config,
}

/// Level 3 market-data choices SPEC leaves open (§4.9, §4.11, §8 items 5 and 26).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct L3Config {
    /// MarketDepth (264) values accepted on L3, in price levels (the L3 guide: 0, 10, 100,
    /// 1000; 0 means full depth, capped at 1000 levels).
    pub depths: Vec<u64>,
    /// Send 5041 on L3 book incrementals ([ASSUME] the WS v2 level3 rule: every order of the
    /// top ten levels in queue order).
    pub checksum: bool,
    /// Also serve 266=N on the L2 ports (Kraken's reference: L3 "only for Derivatives"; SPEC
    /// §8 item 5 assumes L3 only on 4004/4005, so this is off and 266=N there gets 281=B).
    pub on_l2_ports: bool,
}

impl Default for L3Config {
    fn default() -> Self {
        L3Config {
            depths: vec![0, 10, 100, 1000],
            checksum: true,
            on_l2_ports: false,
        }
    }
}

impl Default for Config {
    /// SPEC's example client, BTC/USD and ETH/USD on Spot, PF_XBTUSD on Derivatives, Kraken's
    /// rollover, no synthetic market.
    fn default() -> Self {
        Config {
            clients: vec![Client::spec_example()],
            spot: engine::Config::spot(),
            spot_instruments: vec![InstrumentSpec::btc_usd(), eth_usd()],
            derivatives: Some((
                engine::Config::derivatives(),
                vec![InstrumentSpec::pf_xbtusd()],
            )),
            nonce_window_ms: 5_000,
            lenient_derivatives_target: false,
            rollover: Some(Rollover::KRAKEN),
            max_connections: 64,
            trading_journal_slots: 1024,
            market: None,
            replay: None,
            l3: L3Config::default(),
        }
    }
}

/// ETH/USD with Kraken-like parameters: 2 price decimals, tick 0.01, 8 qty decimals.
pub fn eth_usd() -> InstrumentSpec {
    InstrumentSpec {
        symbol: "ETH/USD".into(),
        base: "ETH".into(),
        price_precision: 2,
        tick_size: Decimal::new(1, 2),
        min_qty: Decimal::new(1, 3),
        ..InstrumentSpec::btc_usd()
    }
}
