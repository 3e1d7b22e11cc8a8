//! Small value types of the engine: identifiers, inline strings, FIX enums as Kraken uses them.
//!
//! Everything here is `Copy` and fixed-size, so that requests and events can be moved through
//! the engine without allocating.

use core::fmt;

pub use tickwire_fix::outbound::{OrdType, Side, TimeInForce};

/// Which of Kraken's two FIX venues the engine imitates; it selects rules and reject texts
/// (SPEC §4.15).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Venue {
    /// Kraken Spot (`KRAKEN-TRD`).
    Spot,
    /// Kraken Derivatives / Futures (`KRAKEN-DRV-TRD`).
    Derivatives,
}

/// An instrument, by its position in the list given to [`crate::engine::Engine::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstrumentId(pub u16);

/// A client account (a SenderCompID and everything trading for it), as returned by
/// [`crate::engine::Engine::add_account`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(pub u32);

/// One trading connection. The generation makes an id of a closed session different from the
/// id of the session that later reuses its slot, so orders left by the old one (with
/// cancel-on-disconnect off) can no longer be cancelled singly, as on Kraken (SPEC §4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId {
    pub(crate) index: u32,
    pub(crate) generation: u32,
}

impl SessionId {
    /// The slot number, below [`crate::engine::Config::max_sessions`].
    pub fn index(self) -> u32 {
        self.index
    }
}

/// A short byte string stored inline (ClOrdIDs, OrderIDs, TradeIDs).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct InlineStr<const N: usize> {
    len: u8,
    bytes: [u8; N],
}

impl<const N: usize> InlineStr<N> {
    /// The empty string.
    pub const EMPTY: Self = InlineStr {
        len: 0,
        bytes: [0; N],
    };

    /// Copies `bytes`, or `None` if longer than `N`.
    pub fn new(bytes: &[u8]) -> Option<Self> {
        if bytes.len() > N || bytes.len() > usize::from(u8::MAX) {
            return None;
        }
        let mut s = Self::EMPTY;
        s.bytes[..bytes.len()].copy_from_slice(bytes);
        s.len = bytes.len() as u8;
        Some(s)
    }

    /// The stored bytes.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// True if empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<const N: usize> fmt::Debug for InlineStr<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_bytes()))
    }
}

impl<const N: usize> fmt::Display for InlineStr<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(self.as_bytes()))
    }
}

/// Longest ClOrdID the engine stores: a UUID (36); Spot numeric ids have at most 18 digits.
pub const CLORDID_MAX: usize = 36;

/// A ClOrdID (11) or OrigClOrdID (41).
pub type ClOrdId = InlineStr<CLORDID_MAX>;

/// An OrderID (37): `OXXXXX-XXXXX-XXXXXX` on Spot, a UUID on Derivatives.
pub type OrderId = InlineStr<36>;

/// A TradeID (1003): `TXXXXX-XXXXX-XXXXXX` on Spot, a UUID on Derivatives.
pub type TradeId = InlineStr<36>;

/// ExecInst (18) flags (SPEC §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExecInst {
    /// `E`: reduce-only.
    pub reduce_only: bool,
    /// `P`: post-only.
    pub post_only: bool,
    /// `v`: OrderQty is in the quote currency (Spot).
    pub quote_qty: bool,
    /// `f`: fee in base currency (Spot). Accepted; fees are reported in quote currency.
    pub fee_in_base: bool,
    /// `q`: fee in quote currency (Spot).
    pub fee_in_quote: bool,
    /// `s`: single fee — mandatory on Derivatives.
    pub single_fee: bool,
}

/// ExecInst text held a flag Kraken does not define.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownExecInst(pub u8);

impl ExecInst {
    /// Reads the space-separated flag list (`E P s`).
    ///
    /// # Errors
    /// [`UnknownExecInst`] with the first unknown flag.
    pub fn parse(text: &[u8]) -> Result<ExecInst, UnknownExecInst> {
        let mut e = ExecInst::default();
        for &b in text {
            match b {
                b' ' => {}
                b'E' => e.reduce_only = true,
                b'P' => e.post_only = true,
                b'v' => e.quote_qty = true,
                b'f' => e.fee_in_base = true,
                b'q' => e.fee_in_quote = true,
                b's' => e.single_fee = true,
                other => return Err(UnknownExecInst(other)),
            }
        }
        Ok(e)
    }

    /// The flags as FIX text (`E P s`) into `out`; returns the length (at most 11).
    pub fn write(self, out: &mut [u8; 11]) -> usize {
        let mut n = 0;
        for (on, c) in [
            (self.reduce_only, b'E'),
            (self.post_only, b'P'),
            (self.quote_qty, b'v'),
            (self.fee_in_base, b'f'),
            (self.fee_in_quote, b'q'),
            (self.single_fee, b's'),
        ] {
            if on {
                if n > 0 {
                    out[n] = b' ';
                    n += 1;
                }
                out[n] = c;
                n += 1;
            }
        }
        n
    }

    /// True if no flag is set.
    pub fn is_empty(self) -> bool {
        self == ExecInst::default()
    }
}

/// SelfTradePrevention (7928), Spot (SPEC §4.1). Derivatives use the account setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StpMode {
    /// `0`: cancel both orders.
    CancelBoth,
    /// `1`: cancel the newest (arriving) order — Kraken's default.
    #[default]
    CancelNewest,
    /// `2`: cancel the oldest (resting) order.
    CancelOldest,
}

impl StpMode {
    /// From the wire value 0/1/2.
    pub fn from_code(code: u32) -> Option<StpMode> {
        match code {
            0 => Some(StpMode::CancelBoth),
            1 => Some(StpMode::CancelNewest),
            2 => Some(StpMode::CancelOldest),
            _ => None,
        }
    }
}

/// DiscretionInst (388): which price fires a trigger order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TriggerRef {
    /// `5`: last trade price (default).
    #[default]
    Last,
    /// `1`: index price (injected with [`crate::engine::Engine::set_index_price`]).
    Index,
}

impl TriggerRef {
    /// From the wire value 1/5.
    pub fn from_code(code: u32) -> Option<TriggerRef> {
        match code {
            5 => Some(TriggerRef::Last),
            1 => Some(TriggerRef::Index),
            _ => None,
        }
    }
}

/// ExecType (150) values Kraken documents (SPEC §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExecType {
    /// `0`
    New,
    /// `4`
    Canceled,
    /// `5`
    Replaced,
    /// `A`
    PendingNew,
    /// `C`
    Expired,
    /// `D` (a trigger fired)
    Restated,
    /// `F`
    Trade,
    /// `I` (answer to 35=H)
    OrderStatus,
}

impl ExecType {
    /// Wire value.
    pub fn code(self) -> u8 {
        match self {
            ExecType::New => b'0',
            ExecType::Canceled => b'4',
            ExecType::Replaced => b'5',
            ExecType::PendingNew => b'A',
            ExecType::Expired => b'C',
            ExecType::Restated => b'D',
            ExecType::Trade => b'F',
            ExecType::OrderStatus => b'I',
        }
    }
}

/// OrdStatus (39) values Kraken documents (SPEC §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrdStatus {
    /// `0`
    New,
    /// `1`
    PartiallyFilled,
    /// `2` (terminal)
    Filled,
    /// `4` (terminal)
    Canceled,
    /// `5`
    Replaced,
    /// `A`
    PendingNew,
    /// `C` (terminal)
    Expired,
    /// `E`
    PendingReplace,
}

impl OrdStatus {
    /// Wire value.
    pub fn code(self) -> u8 {
        match self {
            OrdStatus::New => b'0',
            OrdStatus::PartiallyFilled => b'1',
            OrdStatus::Filled => b'2',
            OrdStatus::Canceled => b'4',
            OrdStatus::Replaced => b'5',
            OrdStatus::PendingNew => b'A',
            OrdStatus::Expired => b'C',
            OrdStatus::PendingReplace => b'E',
        }
    }

    /// True for 2, 4 and C: the order is closed and gets no further report.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            OrdStatus::Filled | OrdStatus::Canceled | OrdStatus::Expired
        )
    }
}

/// LiquidityInd (5050).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Liquidity {
    /// `0`: the resting order.
    Maker,
    /// `1`: the arriving order.
    Taker,
}

impl Liquidity {
    /// Wire value 0/1.
    pub fn code(self) -> u8 {
        match self {
            Liquidity::Maker => 0,
            Liquidity::Taker => 1,
        }
    }
}

/// AssetPairStatus (5032) of an instrument (SPEC §4.13).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum InstrumentStatus {
    /// `0`: not listed to clients.
    Hidden,
    /// `1`: normal trading.
    #[default]
    Online,
    /// `2`: no new orders, no cancels.
    Maintenance,
    /// `3`: cancels only, no matching.
    CancelOnly,
    /// `4`: only post-only limit orders and cancels, no matching.
    PostOnly,
    /// `5`: only limit-bearing orders.
    LimitOnly,
    /// `6`: no trading.
    Delisted,
    /// `7`: only reduce-only orders.
    ReduceOnly,
}

impl InstrumentStatus {
    /// Wire value of 5032.
    pub fn code(self) -> u8 {
        match self {
            InstrumentStatus::Hidden => 0,
            InstrumentStatus::Online => 1,
            InstrumentStatus::Maintenance => 2,
            InstrumentStatus::CancelOnly => 3,
            InstrumentStatus::PostOnly => 4,
            InstrumentStatus::LimitOnly => 5,
            InstrumentStatus::Delisted => 6,
            InstrumentStatus::ReduceOnly => 7,
        }
    }

    /// True if orders may trade against each other in this status.
    pub fn matches(self) -> bool {
        matches!(
            self,
            InstrumentStatus::Online | InstrumentStatus::LimitOnly | InstrumentStatus::ReduceOnly
        )
    }
}

/// The client message a reject answers (RefMsgType, 372).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MsgKind {
    /// `D` NewOrderSingle.
    NewOrder,
    /// `F` OrderCancelRequest.
    Cancel,
    /// `G` OrderCancelReplaceRequest.
    Amend,
    /// `H` OrderStatusRequest.
    Status,
    /// `q` OrderMassCancelRequest.
    MassCancel,
}

impl MsgKind {
    /// Wire value of 35.
    pub fn code(self) -> u8 {
        match self {
            MsgKind::NewOrder => b'D',
            MsgKind::Cancel => b'F',
            MsgKind::Amend => b'G',
            MsgKind::Status => b'H',
            MsgKind::MassCancel => b'q',
        }
    }
}

/// MassCancelRequestType (530) (SPEC §4.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MassCancelScope {
    /// `1`: this session's orders on one symbol.
    SessionSymbol,
    /// `6`: all of this session's orders.
    Session,
    /// `7`: every open order of the account.
    Account,
}

impl MassCancelScope {
    /// From the wire value 1/6/7.
    pub fn from_code(code: u32) -> Option<MassCancelScope> {
        match code {
            1 => Some(MassCancelScope::SessionSymbol),
            6 => Some(MassCancelScope::Session),
            7 => Some(MassCancelScope::Account),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_inst_round_trip() {
        let e = ExecInst::parse(b"E P s").expect("known flags");
        assert!(e.reduce_only && e.post_only && e.single_fee && !e.quote_qty);
        let mut out = [0u8; 11];
        let n = e.write(&mut out);
        assert_eq!(&out[..n], b"E P s");
        assert_eq!(ExecInst::parse(b"P x"), Err(UnknownExecInst(b'x')));
        let all = ExecInst::parse(b"EPvfqs").expect("known flags");
        assert_eq!(all.write(&mut out), 11);
    }

    #[test]
    fn inline_strings_refuse_overflow() {
        assert!(ClOrdId::new(&[b'1'; 36]).is_some());
        assert!(ClOrdId::new(&[b'1'; 37]).is_none());
        assert_eq!(
            ClOrdId::new(b"abc").expect("fits").as_bytes(),
            b"abc".as_slice()
        );
    }
}
