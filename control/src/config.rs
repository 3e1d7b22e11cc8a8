//! The appliance's configuration file (TOML): what `tickwire run` starts and what
//! `tickwire config check` validates without starting anything.
//!
//! ```text
//! text ─► parse (serde, unknown keys refused, errors name the dotted key)
//!      ─► preset (kraken-uat / kraken-prod fill hosts, ports, TargetCompIDs from SPEC §1)
//!      ─► validate (rules serde cannot express, each error names its key)
//!      ─► Config (resolved; secrets still references)
//!      ─► Config::load_secrets (reads files that must be 0600, or environment variables)
//! ```
//!
//! Sessions use QuickFIX's vocabulary (`SenderCompID`, `TargetCompID`, `HeartBtInt`,
//! `StartTime`/`EndTime`/`TimeZone`, `ResetOnLogon`, `FileStorePath`, `FileLogPath`) so an
//! operator who knows QuickFIX settings reads them at a glance. Credentials are always
//! references — `{ file = "…" }` or `{ env = "…" }` — and an inline secret is refused. Secret
//! values are held in [`Secret`], whose `Debug` and `Display` print `<redacted>`.
//!
//! This is the only module of tickwire that parses the appliance configuration.

use std::collections::BTreeSet;
use std::fmt;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use tickwire_fix::decimal::Decimal;

/// Why a configuration could not be used. Every variant names the key at fault.
#[derive(Debug)]
pub enum Error {
    /// The file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        error: std::io::Error,
    },
    /// TOML syntax, a wrong type or an unknown key.
    Parse {
        /// Dotted key (`session[1].HeartBtInt`), empty at the top level.
        key: String,
        /// What is wrong.
        problem: String,
    },
    /// A value that parses but breaks a rule.
    Invalid {
        /// Dotted key.
        key: String,
        /// What is wrong.
        problem: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { path, error } => write!(f, "{}: {error}", path.display()),
            Self::Parse { key, problem } | Self::Invalid { key, problem } if key.is_empty() => {
                f.write_str(problem)
            }
            Self::Parse { key, problem } | Self::Invalid { key, problem } => {
                write!(f, "{key}: {problem}")
            }
        }
    }
}

impl std::error::Error for Error {}

impl Error {
    /// The dotted key at fault (empty for I/O errors and top-level syntax errors).
    pub fn key(&self) -> &str {
        match self {
            Self::Io { .. } => "",
            Self::Parse { key, .. } | Self::Invalid { key, .. } => key,
        }
    }
}

fn invalid(key: impl Into<String>, problem: impl Into<String>) -> Error {
    Error::Invalid {
        key: key.into(),
        problem: problem.into(),
    }
}

/// Presets that fill in a venue's endpoints (SPEC §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Preset {
    /// Kraken's UAT gateway.
    #[serde(rename = "kraken-uat")]
    KrakenUat,
    /// Kraken's production gateway.
    #[serde(rename = "kraken-prod")]
    KrakenProd,
}

impl Preset {
    /// The gateway host (SPEC §1.1, Unified FIX reference).
    pub fn host(self) -> &'static str {
        match self {
            Self::KrakenUat => "colo-london.vip-fix.uat.kraken.com",
            Self::KrakenProd => "colo-london.vip-fix.kraken.com",
        }
    }

    /// The alternative host the FIX introduction guide lists, used as the failover.
    pub fn failover_host(self) -> &'static str {
        match self {
            Self::KrakenUat => "fix.uat.kraken.com",
            Self::KrakenProd => "fix.kraken.com",
        }
    }

    /// The name written in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::KrakenUat => "kraken-uat",
            Self::KrakenProd => "kraken-prod",
        }
    }
}

/// What a session carries (SPEC §1.2: one port each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SessionKind {
    /// Spot market data, L2 (port 4000).
    SpotMdL2,
    /// Spot trading (port 4001).
    SpotTrading,
    /// Derivatives market data, L2 (port 4002).
    DerivativesMdL2,
    /// Derivatives trading (port 4003).
    DerivativesTrading,
    /// Derivatives market data, L3 (port 4004).
    DerivativesMdL3,
    /// Spot market data, L3 (port 4005).
    SpotMdL3,
}

impl SessionKind {
    /// Kraken's port for this kind.
    pub fn port(self) -> u16 {
        match self {
            Self::SpotMdL2 => 4000,
            Self::SpotTrading => 4001,
            Self::DerivativesMdL2 => 4002,
            Self::DerivativesTrading => 4003,
            Self::DerivativesMdL3 => 4004,
            Self::SpotMdL3 => 4005,
        }
    }

    /// Kraken's TargetCompID for this kind.
    pub fn target_comp_id(self) -> &'static str {
        match self {
            Self::SpotMdL2 | Self::SpotMdL3 => "KRAKEN-MD",
            Self::SpotTrading => "KRAKEN-TRD",
            Self::DerivativesMdL2 | Self::DerivativesMdL3 => "KRAKEN-DRV-MD",
            Self::DerivativesTrading => "KRAKEN-DRV-TRD",
        }
    }

    /// Trading sessions log on with an API key and an HMAC signature (SPEC §2.1).
    pub fn is_trading(self) -> bool {
        matches!(self, Self::SpotTrading | Self::DerivativesTrading)
    }

    /// Derivatives sessions (SenderCompID ends in `DRV`).
    pub fn is_derivatives(self) -> bool {
        matches!(
            self,
            Self::DerivativesMdL2 | Self::DerivativesMdL3 | Self::DerivativesTrading
        )
    }

    /// The name written in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SpotMdL2 => "spot-md-l2",
            Self::SpotTrading => "spot-trading",
            Self::DerivativesMdL2 => "derivatives-md-l2",
            Self::DerivativesTrading => "derivatives-trading",
            Self::DerivativesMdL3 => "derivatives-md-l3",
            Self::SpotMdL3 => "spot-md-l3",
        }
    }
}

/// Where a secret comes from. Never the secret itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// A file readable by its owner only (mode 0600 or 0400).
    File(PathBuf),
    /// An environment variable.
    Env(String),
}

impl<'de> Deserialize<'de> for SecretRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Table(std::collections::BTreeMap<String, String>),
            // Accepted only to say precisely why it is refused.
            Inline(#[allow(dead_code)] String),
        }
        const HOW: &str = "a secret reference is exactly one of { file = \"/path\" } (mode 0600) or { env = \"VAR\" }";
        let table = match Either::deserialize(d)? {
            Either::Inline(_) => {
                return Err(serde::de::Error::custom(format!(
                    "inline secrets are refused: {HOW}"
                )))
            }
            Either::Table(t) => t,
        };
        let mut it = table.into_iter();
        match (it.next(), it.next()) {
            (Some((k, v)), None) if k == "file" => Ok(Self::File(PathBuf::from(v))),
            (Some((k, v)), None) if k == "env" => Ok(Self::Env(v)),
            _ => Err(serde::de::Error::custom(HOW)),
        }
    }
}

/// A secret value. Prints as `<redacted>`; the bytes are reachable only through
/// [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value that is already in memory (a generated token, a test).
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself, for the one place that needs it (the logon signature).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl SecretRef {
    /// Reads the secret. A file must be a regular file that neither group nor others may
    /// read or write; its content is trimmed of surrounding white space.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `key`: missing file or variable, unsafe permissions, empty.
    /// The message never contains the secret.
    pub fn load(&self, key: &str) -> Result<Secret, Error> {
        let value = match self {
            Self::File(path) => {
                use std::os::unix::fs::PermissionsExt as _;
                let meta = std::fs::metadata(path).map_err(|e| {
                    invalid(key, format!("credentials file {}: {e}", path.display()))
                })?;
                if !meta.is_file() {
                    return Err(invalid(
                        key,
                        format!("{} is not a regular file", path.display()),
                    ));
                }
                let mode = meta.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    return Err(invalid(
                        key,
                        format!(
                            "credentials file {} has mode {mode:04o}: group and others must have no access (chmod 600)",
                            path.display()
                        ),
                    ));
                }
                std::fs::read_to_string(path).map_err(|e| {
                    invalid(key, format!("credentials file {}: {e}", path.display()))
                })?
            }
            Self::Env(var) => std::env::var(var)
                .map_err(|_| invalid(key, format!("environment variable {var} is not set")))?,
        };
        let value = value.trim();
        if value.is_empty() {
            return Err(invalid(key, "the secret is empty"));
        }
        Ok(Secret(value.to_owned()))
    }
}

/// An API key and secret for trading logons (SPEC §2).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialRefs {
    /// The FIX API key (tag 553).
    pub api_key: SecretRef,
    /// The base64 API secret the HMAC key is decoded from.
    pub api_secret: SecretRef,
}

/// The NIC the dataplane drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    /// AF_PACKET with mmap'd rings on a Linux interface.
    AfPacket,
    /// A TAP device.
    Tap,
    /// A DPDK port (feature `dpdk`; EAL arguments from the hardware profile).
    Dpdk,
}

/// The appliance: who it is and where it sits.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Appliance {
    /// A name for logs and metrics.
    pub name: String,
    /// A hardware profile: a shipped name (`tickwire hw profiles`) or a TOML file.
    pub profile: String,
    /// The dataplane's own IPv4 address with prefix length (`10.0.0.2/24`).
    pub address: String,
    /// The next hop towards the venue.
    pub gateway: Option<Ipv4Addr>,
}

/// The NIC section.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Nic {
    /// Which backend.
    pub backend: Backend,
    /// The Linux interface (AF_PACKET, TAP).
    pub interface: Option<String>,
    /// The DPDK port name (`net_virtio_user0`, a PCI address…), for the DPDK backend.
    pub port: Option<String>,
}

/// The venue's endpoints. Host names are resolved at every connect (SPEC §1.1: 5-minute TTL,
/// never pin addresses).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Venue {
    /// Primary host.
    pub host: Option<String>,
    /// Hosts tried in order when the primary fails.
    #[serde(default)]
    pub failover: Vec<String>,
}

/// TLS towards the venue.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Tls {
    /// PEM bundle of trusted roots; the system store when absent.
    pub ca_file: Option<PathBuf>,
    /// SNI and verified name; the host when absent.
    pub server_name: Option<String>,
    /// Hex SHA-256 of the server certificate's SubjectPublicKeyInfo, checked after
    /// verification.
    pub pin_spki_sha256: Option<String>,
    /// Accept TLS 1.2 too.
    #[serde(default)]
    pub allow_tls12: bool,
    /// Skip certificate verification (Kraken UAT presents a certificate for another name,
    /// SPEC §1.1). Refused with the `kraken-prod` preset.
    #[serde(default)]
    pub dangerous_skip_verification_uat_only: bool,
}

/// One FIX session, in QuickFIX's vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Session {
    /// A name for the CLI (`tickwire session show NAME`).
    pub name: String,
    /// What the session carries; decides port and TargetCompID under a preset.
    pub kind: SessionKind,
    /// Assigned by the venue.
    #[serde(rename = "SenderCompID")]
    pub sender_comp_id: String,
    /// The venue's CompID; from the preset when absent.
    #[serde(rename = "TargetCompID")]
    pub target_comp_id: Option<String>,
    /// Heartbeat interval, seconds (SPEC §1.4: 60 recommended).
    #[serde(rename = "HeartBtInt", default = "default_heartbeat")]
    pub heart_bt_int: u32,
    /// Start of the daily session window, `HH:MM:SS` in `TimeZone`.
    #[serde(rename = "StartTime", default = "default_start")]
    pub start_time: String,
    /// End of the daily session window (Kraken's rollover is 22:00 UTC).
    #[serde(rename = "EndTime", default = "default_end")]
    pub end_time: String,
    /// Only `UTC` is supported.
    #[serde(rename = "TimeZone", default = "default_tz")]
    pub time_zone: String,
    /// Send 141=Y on every logon.
    #[serde(rename = "ResetOnLogon", default)]
    pub reset_on_logon: bool,
    /// Directory of the crash-safe session store.
    #[serde(rename = "FileStorePath")]
    pub file_store_path: PathBuf,
    /// Directory of the message and event logs.
    #[serde(rename = "FileLogPath")]
    pub file_log_path: Option<PathBuf>,
    /// 8674: cancel this session's orders when it disconnects (Kraken's default).
    #[serde(rename = "CancelOnDisconnect", default = "yes")]
    pub cancel_on_disconnect: bool,
    /// Override of the preset's host.
    #[serde(rename = "SocketConnectHost")]
    pub host: Option<String>,
    /// Override of the preset's port.
    #[serde(rename = "SocketConnectPort")]
    pub port: Option<u16>,
    /// Name of a `[credentials.NAME]` table (trading sessions).
    #[serde(rename = "Credentials")]
    pub credentials: Option<String>,
    /// Market-data sessions: the instrument to subscribe to after every logon (`BTC/USD`).
    #[serde(rename = "Symbol")]
    pub symbol: Option<String>,
    /// Market-data sessions: levels per side of the subscription and the book.
    #[serde(rename = "MarketDepth", default = "default_depth")]
    pub market_depth: u32,
    /// Market-data sessions: the instrument's PricePrecision (decimals of a price).
    #[serde(rename = "PricePrecision", default = "default_price_precision")]
    pub price_precision: u8,
    /// Market-data sessions: the instrument's QtyPrecision (decimals of a quantity).
    #[serde(rename = "QtyPrecision", default = "default_qty_precision")]
    pub qty_precision: u8,
}

fn default_depth() -> u32 {
    10
}
fn default_price_precision() -> u8 {
    1
}
fn default_qty_precision() -> u8 {
    8
}

fn default_heartbeat() -> u32 {
    30
}
fn default_start() -> String {
    "22:01:00".into()
}
fn default_end() -> String {
    "21:59:30".into()
}
fn default_tz() -> String {
    "UTC".into()
}
fn yes() -> bool {
    true
}

/// Pre-trade risk limits (decimals as strings, never floats).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Risk {
    /// Largest OrderQty of one order.
    pub max_order_qty: Option<String>,
    /// Largest price × quantity of one order, in quote currency.
    pub max_notional: Option<String>,
    /// Furthest an order's price may be from the touch, basis points.
    pub price_collar_bps: Option<u32>,
    /// Open orders across all instruments.
    pub max_open_orders: Option<u32>,
    /// Open orders per instrument.
    pub max_open_orders_per_instrument: Option<u32>,
    /// Largest absolute net position per instrument, base currency.
    pub max_position: Option<String>,
    /// Identical orders within this many milliseconds are refused.
    pub duplicate_window_ms: Option<u64>,
    /// Kraken fee tier whose rate-limit model the throttle mirrors
    /// (`starter`, `intermediate`, `pro`).
    pub rate_tier: Option<String>,
    /// What the kill switch does besides blocking new orders.
    #[serde(default)]
    pub kill: Kill,
}

/// Kill-switch actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Kill {
    /// Send OrderMassCancelRequest (35=q, 530=7).
    pub mass_cancel: bool,
    /// Log the trading sessions out.
    pub logout: bool,
}

impl Default for Kill {
    fn default() -> Self {
        Kill {
            mass_cancel: true,
            logout: false,
        }
    }
}

/// Condition of an armed order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Condition {
    /// Best ask at or below the level.
    AskAtOrBelow,
    /// Best bid at or above the level.
    BidAtOrAbove,
    /// Last trade at or below the level.
    LastAtOrBelow,
    /// Last trade at or above the level.
    LastAtOrAbove,
    /// Spread (ask − bid) at or below the level.
    SpreadAtOrBelow,
}

/// An order side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// Buy.
    Buy,
    /// Sell.
    Sell,
}

/// An armed order: a trigger and the order it fires.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Armed {
    /// The instrument (`BTC/USD`).
    pub symbol: String,
    /// What fires it.
    pub when: Condition,
    /// The level the condition compares with.
    pub level: String,
    /// Order side.
    pub side: Side,
    /// Limit price of the order.
    pub price: String,
    /// Order quantity.
    pub qty: String,
    /// Re-arm after this many milliseconds; one-shot when absent.
    pub rearm_after_ms: Option<u64>,
    /// The trading session that sends it (its `name`).
    pub session: String,
}

/// The admin socket and metrics endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Admin {
    /// The Unix socket (created 0600).
    #[serde(default = "default_socket")]
    pub socket: PathBuf,
    /// The token mutating commands must carry.
    pub token: SecretRef,
    /// Prometheus `/metrics` listen address; local only.
    pub metrics: Option<std::net::SocketAddr>,
}

fn default_socket() -> PathBuf {
    PathBuf::from("/run/tickwire/admin.sock")
}

/// What a clean shutdown does with open orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum OnShutdown {
    /// Mass-cancel before logging out.
    #[default]
    Cancel,
    /// Leave them (8674=1 sessions keep them at the venue).
    Keep,
}

/// What a (re)started daemon does about orders a previous run may have left open at the
/// venue, once each trading session has logged on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum OnStart {
    /// Mass-cancel (35=q, 530=7) when the session store shows a previous run.
    #[default]
    MassCancel,
    /// Leave them.
    Keep,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    preset: Option<Preset>,
    appliance: Appliance,
    nic: Nic,
    #[serde(default)]
    venue: Venue,
    #[serde(default)]
    tls: Tls,
    #[serde(default)]
    credentials: std::collections::BTreeMap<String, CredentialRefs>,
    #[serde(default, rename = "session")]
    sessions: Vec<Session>,
    #[serde(default)]
    allowlist: Vec<Ipv4Addr>,
    #[serde(default)]
    risk: Risk,
    #[serde(default, rename = "armed")]
    armed: Vec<Armed>,
    admin: Admin,
    #[serde(default)]
    on_shutdown: OnShutdown,
    #[serde(default)]
    on_start: OnStart,
}

/// A resolved session endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Hosts in the order tried (primary first).
    pub hosts: Vec<String>,
    /// TCP port.
    pub port: u16,
}

/// A validated configuration. Secrets are still references ([`Config::load_secrets`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The preset used, if any.
    pub preset: Option<Preset>,
    /// Identity and placement.
    pub appliance: Appliance,
    /// The appliance's address and prefix length, parsed.
    pub address: (Ipv4Addr, u8),
    /// NIC.
    pub nic: Nic,
    /// TLS.
    pub tls: Tls,
    /// The SPKI pin, decoded.
    pub pin: Option<[u8; 32]>,
    /// Credential references by name.
    pub credentials: std::collections::BTreeMap<String, CredentialRefs>,
    /// Sessions with `target_comp_id`, host and port resolved.
    pub sessions: Vec<Session>,
    /// Where each session connects (same order as `sessions`).
    pub endpoints: Vec<Endpoint>,
    /// Venue addresses allowed through the dataplane filter.
    pub allowlist: Vec<Ipv4Addr>,
    /// Risk limits.
    pub risk: Risk,
    /// Armed orders.
    pub armed: Vec<Armed>,
    /// Admin socket and metrics.
    pub admin: Admin,
    /// Shutdown behaviour.
    pub on_shutdown: OnShutdown,
    /// Start-up reconciliation of orders left by a previous run.
    pub on_start: OnStart,
}

/// The loaded secrets of a configuration.
#[derive(Debug, Clone)]
pub struct Secrets {
    /// `(api_key, api_secret)` by credentials name.
    pub credentials: std::collections::BTreeMap<String, (Secret, Secret)>,
    /// The admin token.
    pub admin_token: Secret,
}

impl Config {
    /// Reads and validates a file.
    ///
    /// # Errors
    /// [`Error`] naming the key at fault.
    pub fn load(path: &Path) -> Result<Config, Error> {
        let text = std::fs::read_to_string(path).map_err(|error| Error::Io {
            path: path.to_owned(),
            error,
        })?;
        Config::from_toml(&text)
    }

    /// Parses, applies the preset and validates.
    ///
    /// # Errors
    /// [`Error::Parse`] or [`Error::Invalid`] naming the key at fault.
    pub fn from_toml(text: &str) -> Result<Config, Error> {
        let de = toml::Deserializer::new(text);
        let file: File = serde_path_to_error::deserialize(de).map_err(|e| {
            let key = dotted(e.path());
            let inner = e.into_inner();
            // A syntax error has no key: keep toml's full text, which shows line and column.
            let problem = match inner.message().trim() {
                m if m.is_empty() || key.is_empty() => inner.to_string().trim_end().to_owned(),
                m => m.to_owned(),
            };
            Error::Parse { key, problem }
        })?;
        resolve(file)
    }

    /// Reads every secret the configuration references: the credentials of trading
    /// sessions and the admin token.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the key: missing file or variable, unsafe file mode.
    pub fn load_secrets(&self) -> Result<Secrets, Error> {
        let mut credentials = std::collections::BTreeMap::new();
        for (name, refs) in &self.credentials {
            let key = refs.api_key.load(&format!("credentials.{name}.api_key"))?;
            let secret = refs
                .api_secret
                .load(&format!("credentials.{name}.api_secret"))?;
            credentials.insert(name.clone(), (key, secret));
        }
        Ok(Secrets {
            credentials,
            admin_token: self.admin.token.load("admin.token")?,
        })
    }

    /// The session called `name`.
    pub fn session(&self, name: &str) -> Option<(&Session, &Endpoint)> {
        let i = self.sessions.iter().position(|s| s.name == name)?;
        Some((&self.sessions[i], &self.endpoints[i]))
    }
}

/// `session[1].HeartBtInt` from serde_path_to_error's path (`session.1.HeartBtInt`).
fn dotted(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for seg in path.iter() {
        match seg {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Unknown => {}
        }
    }
    out
}

fn resolve(file: File) -> Result<Config, Error> {
    let address = parse_cidr(&file.appliance.address).ok_or_else(|| {
        invalid(
            "appliance.address",
            "expected an IPv4 address with a prefix length, e.g. 10.0.0.2/24",
        )
    })?;
    if file.appliance.name.trim().is_empty() {
        return Err(invalid("appliance.name", "must not be empty"));
    }
    match file.nic.backend {
        Backend::AfPacket | Backend::Tap if file.nic.interface.is_none() => {
            return Err(invalid(
                "nic.interface",
                "required for the af-packet and tap backends",
            ));
        }
        Backend::Dpdk if file.nic.port.is_none() => {
            return Err(invalid("nic.port", "required for the dpdk backend"));
        }
        _ => {}
    }
    let pin = match &file.tls.pin_spki_sha256 {
        None => None,
        Some(hex) => Some(parse_hex32(hex).ok_or_else(|| {
            invalid(
                "tls.pin_spki_sha256",
                "expected 64 hex digits (SHA-256 of the SubjectPublicKeyInfo)",
            )
        })?),
    };
    if file.tls.dangerous_skip_verification_uat_only && file.preset == Some(Preset::KrakenProd) {
        return Err(invalid(
            "tls.dangerous_skip_verification_uat_only",
            "refused with preset kraken-prod: certificate verification must be on in production",
        ));
    }
    if let Some(ca) = &file.tls.ca_file {
        if !ca.is_file() {
            return Err(invalid(
                "tls.ca_file",
                format!("{} is not a file", ca.display()),
            ));
        }
    }
    if file.sessions.is_empty() {
        return Err(invalid("session", "at least one [[session]] is needed"));
    }
    let mut names = BTreeSet::new();
    let mut sessions = Vec::with_capacity(file.sessions.len());
    let mut endpoints = Vec::with_capacity(file.sessions.len());
    for (i, s) in file.sessions.into_iter().enumerate() {
        let (s, e) = resolve_session(i, s, file.preset, &file.venue, &file.credentials)?;
        if !names.insert(s.name.clone()) {
            return Err(invalid(
                format!("session[{i}].name"),
                format!("{:?} is used twice", s.name),
            ));
        }
        sessions.push(s);
        endpoints.push(e);
    }
    validate_risk(&file.risk)?;
    for (i, a) in file.armed.iter().enumerate() {
        let key = |k: &str| format!("armed[{i}].{k}");
        for (k, v) in [("level", &a.level), ("price", &a.price), ("qty", &a.qty)] {
            let d = decimal(&key(k), v)?;
            if d.mantissa <= 0 && (k != "level" || a.when != Condition::SpreadAtOrBelow) {
                return Err(invalid(key(k), "must be positive"));
            }
        }
        if a.symbol.is_empty() || !a.symbol.contains('/') {
            return Err(invalid(key("symbol"), "expected BASE/QUOTE, e.g. BTC/USD"));
        }
        match sessions.iter().find(|s| s.name == a.session) {
            None => {
                return Err(invalid(
                    key("session"),
                    format!("no session named {:?}", a.session),
                ))
            }
            Some(s) if !s.kind.is_trading() => {
                return Err(invalid(
                    key("session"),
                    format!("{:?} is not a trading session", a.session),
                ))
            }
            Some(_) => {}
        }
    }
    if file.allowlist.len() > 64 {
        return Err(invalid("allowlist", "at most 64 addresses"));
    }
    if let Some(m) = file.admin.metrics {
        if !m.ip().is_loopback() {
            return Err(invalid(
                "admin.metrics",
                "must be a loopback address (metrics are local; scrape through a proxy)",
            ));
        }
    }
    Ok(Config {
        preset: file.preset,
        appliance: file.appliance,
        address,
        nic: file.nic,
        tls: file.tls,
        pin,
        credentials: file.credentials,
        sessions,
        endpoints,
        allowlist: file.allowlist,
        risk: file.risk,
        armed: file.armed,
        admin: file.admin,
        on_shutdown: file.on_shutdown,
        on_start: file.on_start,
    })
}

fn resolve_session(
    i: usize,
    mut s: Session,
    preset: Option<Preset>,
    venue: &Venue,
    credentials: &std::collections::BTreeMap<String, CredentialRefs>,
) -> Result<(Session, Endpoint), Error> {
    let key = |k: &str| format!("session[{i}].{k}");
    if s.name.is_empty()
        || !s
            .name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(invalid(key("name"), "letters, digits, '-' and '_' only"));
    }
    comp_id(&key("SenderCompID"), &s.sender_comp_id)?;
    if s.kind.is_derivatives() && !s.sender_comp_id.ends_with("DRV") {
        return Err(invalid(
            key("SenderCompID"),
            "a derivatives SenderCompID ends in DRV (SPEC §1.2); use the one Kraken assigned",
        ));
    }
    if s.target_comp_id.is_none() {
        if preset.is_none() {
            return Err(invalid(key("TargetCompID"), "required without a preset"));
        }
        s.target_comp_id = Some(s.kind.target_comp_id().to_owned());
    }
    if let Some(t) = &s.target_comp_id {
        comp_id(&key("TargetCompID"), t)?;
    }
    if !(1..=3600).contains(&s.heart_bt_int) {
        return Err(invalid(
            key("HeartBtInt"),
            "must be 1..=3600 seconds (Kraken recommends 60)",
        ));
    }
    for (k, v) in [("StartTime", &s.start_time), ("EndTime", &s.end_time)] {
        if parse_hms(v).is_none() {
            return Err(invalid(key(k), format!("{v:?} is not HH:MM:SS")));
        }
    }
    if s.time_zone != "UTC" {
        return Err(invalid(
            key("TimeZone"),
            "only UTC is supported (Kraken's schedule is in UTC)",
        ));
    }
    match (&s.credentials, s.kind.is_trading()) {
        (None, true) => {
            return Err(invalid(
                key("Credentials"),
                "a trading session needs credentials (SPEC §2.1)",
            ))
        }
        (Some(_), false) => {
            return Err(invalid(
                key("Credentials"),
                "market-data sessions do not authenticate (SPEC §2.1)",
            ))
        }
        (Some(c), true) if !credentials.contains_key(c) => {
            return Err(invalid(
                key("Credentials"),
                format!("no [credentials.{c}] table"),
            ))
        }
        _ => {}
    }
    match (&s.symbol, s.kind.is_trading()) {
        (Some(_), true) => {
            return Err(invalid(
                key("Symbol"),
                "only market-data sessions subscribe to a symbol",
            ))
        }
        (Some(sym), false) if !sym.contains('/') => {
            return Err(invalid(key("Symbol"), "expected BASE/QUOTE, e.g. BTC/USD"))
        }
        _ => {}
    }
    if !(1..=1000).contains(&s.market_depth) {
        return Err(invalid(key("MarketDepth"), "must be 1..=1000"));
    }
    if s.price_precision > 12 || s.qty_precision > 12 {
        return Err(invalid(key("PricePrecision"), "precisions must be 0..=12"));
    }
    let mut hosts = Vec::new();
    if let Some(h) = s.host.clone().or_else(|| venue.host.clone()) {
        hosts.push(h);
    } else if let Some(p) = preset {
        hosts.push(p.host().to_owned());
    }
    if venue.failover.is_empty() && s.host.is_none() && venue.host.is_none() {
        if let Some(p) = preset {
            hosts.push(p.failover_host().to_owned());
        }
    } else if s.host.is_none() {
        hosts.extend(venue.failover.iter().cloned());
    }
    if hosts.is_empty() {
        return Err(invalid(
            key("SocketConnectHost"),
            "required without a preset or [venue] host",
        ));
    }
    for h in &hosts {
        if h.is_empty() || h.contains(char::is_whitespace) {
            return Err(invalid(
                key("SocketConnectHost"),
                format!("{h:?} is not a host name"),
            ));
        }
    }
    let port = match (s.port, preset) {
        (Some(0), _) => return Err(invalid(key("SocketConnectPort"), "must not be 0")),
        (Some(p), _) => p,
        (None, Some(_)) => s.kind.port(),
        (None, None) => {
            return Err(invalid(
                key("SocketConnectPort"),
                "required without a preset",
            ))
        }
    };
    Ok((s, Endpoint { hosts, port }))
}

fn validate_risk(r: &Risk) -> Result<(), Error> {
    for (k, v) in [
        ("risk.max_order_qty", &r.max_order_qty),
        ("risk.max_notional", &r.max_notional),
        ("risk.max_position", &r.max_position),
    ] {
        if let Some(v) = v {
            if decimal(k, v)?.mantissa <= 0 {
                return Err(invalid(k, "must be positive"));
            }
        }
    }
    if r.price_collar_bps == Some(0) {
        return Err(invalid(
            "risk.price_collar_bps",
            "must be positive (omit it to switch the collar off)",
        ));
    }
    if let Some(t) = &r.rate_tier {
        if !["starter", "intermediate", "pro"].contains(&t.as_str()) {
            return Err(invalid(
                "risk.rate_tier",
                format!("{t:?}: expected starter, intermediate or pro"),
            ));
        }
    }
    Ok(())
}

fn decimal(key: &str, v: &str) -> Result<Decimal, Error> {
    Decimal::parse(v.as_bytes()).map_err(|_| invalid(key, format!("{v:?} is not a decimal number")))
}

fn comp_id(key: &str, v: &str) -> Result<(), Error> {
    if v.is_empty() || v.len() > 64 || !v.bytes().all(|b| b.is_ascii_graphic() && b != b'=') {
        return Err(invalid(
            key,
            format!("{v:?} is not a CompID (printable ASCII, no '=', 1..=64)"),
        ));
    }
    Ok(())
}

fn parse_cidr(s: &str) -> Option<(Ipv4Addr, u8)> {
    let (a, p) = s.split_once('/')?;
    let p: u8 = p.parse().ok()?;
    (p <= 32).then_some((a.parse().ok()?, p))
}

fn parse_hex32(s: &str) -> Option<[u8; 32]> {
    let s = s.trim();
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

fn parse_hms(s: &str) -> Option<u32> {
    let mut it = s.split(':');
    let (h, m, sec) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() || h.len() != 2 || m.len() != 2 || sec.len() != 2 {
        return None;
    }
    let (h, m, sec): (u32, u32, u32) = (h.parse().ok()?, m.parse().ok()?, sec.parse().ok()?);
    (h < 24 && m < 60 && sec < 60).then_some(h * 3600 + m * 60 + sec)
}

/// An example configuration for Kraken UAT with placeholders; `tickwire config example`
/// prints it and the README quotes it.
pub const EXAMPLE: &str = include_str!("../examples/kraken-uat.toml");
