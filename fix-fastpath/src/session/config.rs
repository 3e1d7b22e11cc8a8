//! Session configuration: decided once, before the session starts.

use crate::time::NANOS_PER_SEC;

/// Which end of the connection this session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Connects and sends the first Logon (tickwire towards Kraken).
    Initiator,
    /// Accepts and answers the Logon (the venue simulator).
    Acceptor,
}

/// How this side answers a ResendRequest for its own application messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResendPolicy {
    /// Replay stored application messages with PossDupFlag=Y and OrigSendingTime; gap-fill
    /// admin messages. What a venue does with ExecutionReports.
    ReplayApplication,
    /// Gap-fill everything. Kraken's advice to clients (SPEC §3.2): a replayed NewOrderSingle is
    /// a new order, so never replay orders.
    GapFillAll,
}

/// The order of MsgSeqNum, SenderCompID, SendingTime and TargetCompID after MsgType.
///
/// FIX does not care; byte-exact peers and golden tests do. Kraken's examples use
/// `34 49 56 52`, QuickFIX writes `34 49 52 56`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderOrder {
    /// `35 34 49 56 52` (Kraken's examples).
    Kraken,
    /// `35 34 49 52 56` (QuickFIX).
    QuickFix,
}

/// A short ASCII identifier stored inline (CompIDs, BeginString, TestReqID prefix).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ShortText {
    bytes: [u8; 48],
    len: u8,
}

impl ShortText {
    /// Builds from a string of at most 48 printable ASCII bytes without `=` or SOH.
    ///
    /// # Errors
    /// [`ConfigError::BadText`] otherwise.
    pub fn new(text: &str) -> Result<ShortText, ConfigError> {
        let b = text.as_bytes();
        if b.is_empty()
            || b.len() > 48
            || b.iter().any(|&c| !(0x20..0x7f).contains(&c) || c == b'=')
        {
            return Err(ConfigError::BadText);
        }
        let mut bytes = [0u8; 48];
        bytes[..b.len()].copy_from_slice(b);
        Ok(ShortText {
            bytes,
            len: b.len() as u8,
        })
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl core::fmt::Debug for ShortText {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_bytes()))
    }
}

/// A configuration value that cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigError {
    /// Empty, too long, or containing `=`, SOH or non-printable bytes.
    BadText,
    /// HeartBtInt of zero or above a day.
    BadHeartbeat,
}

impl core::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::BadText => "identifier must be 1-48 printable ASCII bytes without '='",
            Self::BadHeartbeat => "heartbeat interval must be 1..=86400 s",
        })
    }
}

impl std::error::Error for ConfigError {}

/// Daily rollover: at this UTC time of day both sequence numbers restart at 1 (Kraken: 22:00).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rollover {
    /// Seconds after UTC midnight.
    pub utc_seconds: u32,
}

impl Rollover {
    /// Kraken's daily rollover at 22:00 UTC.
    pub const KRAKEN: Rollover = Rollover {
        utc_seconds: 22 * 3600,
    };

    /// The first rollover instant strictly after `after_nanos` (ns since the epoch).
    pub fn next_after(self, after_nanos: i64) -> i64 {
        let day = crate::time::NANOS_PER_DAY;
        let midnight = after_nanos.div_euclid(day) * day;
        let today = midnight + i64::from(self.utc_seconds) * NANOS_PER_SEC;
        if today > after_nanos {
            today
        } else {
            today + day
        }
    }
}

/// Everything a session needs to know before it starts.
#[derive(Debug, Clone)]
pub struct Config {
    /// Initiator or acceptor.
    pub role: Role,
    /// `FIX.4.4`.
    pub begin_string: ShortText,
    /// Our CompID (tag 49 on what we send).
    pub sender_comp_id: ShortText,
    /// Their CompID (tag 56 on what we send).
    pub target_comp_id: ShortText,
    /// HeartBtInt (108) in seconds. An acceptor adopts the initiator's value.
    pub heartbeat_interval_s: u32,
    /// Send 141=Y on Logon and restart both sequences at 1 (Kraken: recommended).
    pub reset_on_logon: bool,
    /// Reject messages whose SendingTime is further than this from our clock (QuickFIX: 120 s).
    /// `None` disables the check.
    pub max_clock_skew_s: Option<u32>,
    /// How we answer ResendRequests for our own application messages.
    pub resend_policy: ResendPolicy,
    /// Header field order on what we send.
    pub header_order: HeaderOrder,
    /// Daily sequence reset; `None` for a session that never rolls over.
    pub rollover: Option<Rollover>,
    /// TestReqID we send (QuickFIX conformance expects `TEST`).
    pub test_request_id: ShortText,
    /// How long to wait for the peer's Logout answer before disconnecting anyway.
    pub logout_timeout_s: u32,
    /// Validate every inbound message against the FIX 4.4 dictionary.
    pub validate: bool,
}

impl Config {
    /// A FIX 4.4 initiator with Kraken's conventions: 30 s heartbeat, reset on logon, gap-fill
    /// all resends, Kraken header order, rollover at 22:00 UTC.
    ///
    /// # Errors
    /// [`ConfigError`] for an unusable CompID.
    pub fn kraken_initiator(sender: &str, target: &str) -> Result<Config, ConfigError> {
        Ok(Config {
            role: Role::Initiator,
            begin_string: ShortText::new("FIX.4.4")?,
            sender_comp_id: ShortText::new(sender)?,
            target_comp_id: ShortText::new(target)?,
            heartbeat_interval_s: 30,
            reset_on_logon: true,
            max_clock_skew_s: None,
            resend_policy: ResendPolicy::GapFillAll,
            header_order: HeaderOrder::Kraken,
            rollover: Some(Rollover::KRAKEN),
            test_request_id: ShortText::new("TR")?,
            logout_timeout_s: 5,
            validate: false,
        })
    }

    /// A plain FIX 4.4 acceptor as QuickFIX's acceptance scripts expect it (`ISLD`): replays
    /// application messages, validates against the dictionary, checks SendingTime within 120 s.
    ///
    /// # Errors
    /// [`ConfigError`] for an unusable CompID.
    pub fn quickfix_acceptor(sender: &str, target: &str) -> Result<Config, ConfigError> {
        Ok(Config {
            role: Role::Acceptor,
            begin_string: ShortText::new("FIX.4.4")?,
            sender_comp_id: ShortText::new(sender)?,
            target_comp_id: ShortText::new(target)?,
            heartbeat_interval_s: 30,
            reset_on_logon: true,
            max_clock_skew_s: Some(120),
            resend_policy: ResendPolicy::ReplayApplication,
            header_order: HeaderOrder::QuickFix,
            rollover: None,
            test_request_id: ShortText::new("TEST")?,
            logout_timeout_s: 5,
            validate: true,
        })
    }
}
