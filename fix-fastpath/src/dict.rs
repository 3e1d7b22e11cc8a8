//! A compact FIX 4.4 dictionary as static tables, and message validation against it.
//!
//! ```text
//! Message ──► validate(&msg, &dict::FIX44, &ValidationOptions::default())
//!               ├─ Ok(())
//!               └─ Err(Violation { reason: SessionRejectReason, ref_tag }) ──► session Reject 35=3
//!                    (373 = reason.code(), 371 = ref_tag, 58 = reason.text())
//! ```
//!
//! Coverage: the standard header and trailer; the session messages (A, 0, 1, 2, 3, 4, 5); order
//! entry (D, F, G, H, q) and ExecutionReport (8); BusinessMessageReject (j); market data (V, W,
//! X, Y); SecurityList request and answer (x, y, Kraken's "InstrumentList"); trading session
//! status (g, h); SecurityDefinition (d, used by the QuickFIX acceptance scripts). For each: the
//! required and allowed body fields in FIX 4.4, the repeating groups (NumInGroup tag, delimiter,
//! members, nested groups), and for each field its type and, where FIX 4.4 enumerates it, its
//! values. Two dictionaries share these tables:
//! - [`FIX44`]: plain FIX 4.4, as QuickFIX's FIX44.xml (the venue's conformance profile);
//! - [`KRAKEN`]: FIX 4.4 as Kraken speaks it (SPEC §4): Kraken's custom tags (§4.0.4) allowed
//!   where Kraken sends them, Kraken's extra standard fields per message (55 at the top of 35=X,
//!   62/1138 on orders…), Kraken's enum values beyond FIX 4.4 (OrdType R/T/U/V,
//!   BusinessRejectReason 101/104, TradSesStatus 101/102…), and Kraken's required fields where
//!   they differ (35=F needs only one of 37/41).
//!
//! Tags 1..=956 that the tables do not type are FIX 4.4 fields all the same: they are accepted as
//! strings (so a message may carry any FIX 4.4 field allowed for its type), which makes "invalid
//! tag number" exact above 956 and approximate below.
//!
//! Order of checks (QuickFIX's, so that the first Reject matches what QuickFIX sends): field order
//! (header, body, trailer) → MsgType known → required fields present → per field in wire order:
//! valid tag number, value present, data format, enumerated value → per field in wire order:
//! defined for the message type, not repeated, repeating groups well formed (delimiter first,
//! NumInGroup equal to the entries). Nothing allocates.

use crate::decimal::Decimal;
use crate::parse::{parse_int, parse_uint, FieldRef, Message, INVALID_TAG};
use crate::tags;
use crate::time::UtcTimestamp;

// ───────────────────────────────────────── reasons ──────────────────────────────────────────

/// SessionRejectReason (373) values of FIX 4.4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionRejectReason {
    /// 0: tag number not valid (`0`, negative, not in the dictionary).
    InvalidTagNumber,
    /// 1: a required tag is missing.
    RequiredTagMissing,
    /// 2: the tag is a FIX field, but not one of this message type.
    TagNotDefinedForMessageType,
    /// 3: a tag number in the valid range that no dictionary defines.
    UndefinedTag,
    /// 4: `tag=` with an empty value.
    TagSpecifiedWithoutValue,
    /// 5: the value is not one of the field's enumerated values.
    ValueIsIncorrect,
    /// 6: the value does not have the field's data format.
    IncorrectDataFormat,
    /// 7: decryption problem.
    DecryptionProblem,
    /// 8: signature problem.
    SignatureProblem,
    /// 9: SenderCompID/TargetCompID not the session's.
    CompIdProblem,
    /// 10: SendingTime too far from the receiver's clock.
    SendingTimeAccuracyProblem,
    /// 11: MsgType not known.
    InvalidMsgType,
    /// 12: XML validation error.
    XmlValidationError,
    /// 13: a tag appears more than once outside a repeating group.
    TagAppearsMoreThanOnce,
    /// 14: header, body and trailer fields are not in that order.
    TagSpecifiedOutOfRequiredOrder,
    /// 15: a repeating group entry does not start with its delimiter.
    RepeatingGroupFieldsOutOfOrder,
    /// 16: NumInGroup differs from the number of entries.
    IncorrectNumInGroupCount,
    /// 17: a non-data value holds SOH.
    NonDataValueIncludesFieldDelimiter,
    /// 99: other.
    Other,
}

impl SessionRejectReason {
    /// The value of tag 373.
    pub const fn code(self) -> u32 {
        match self {
            Self::InvalidTagNumber => 0,
            Self::RequiredTagMissing => 1,
            Self::TagNotDefinedForMessageType => 2,
            Self::UndefinedTag => 3,
            Self::TagSpecifiedWithoutValue => 4,
            Self::ValueIsIncorrect => 5,
            Self::IncorrectDataFormat => 6,
            Self::DecryptionProblem => 7,
            Self::SignatureProblem => 8,
            Self::CompIdProblem => 9,
            Self::SendingTimeAccuracyProblem => 10,
            Self::InvalidMsgType => 11,
            Self::XmlValidationError => 12,
            Self::TagAppearsMoreThanOnce => 13,
            Self::TagSpecifiedOutOfRequiredOrder => 14,
            Self::RepeatingGroupFieldsOutOfOrder => 15,
            Self::IncorrectNumInGroupCount => 16,
            Self::NonDataValueIncludesFieldDelimiter => 17,
            Self::Other => 99,
        }
    }

    /// The reason of a 373 value, `None` for values FIX 4.4 does not define.
    pub const fn from_code(code: u32) -> Option<Self> {
        Some(match code {
            0 => Self::InvalidTagNumber,
            1 => Self::RequiredTagMissing,
            2 => Self::TagNotDefinedForMessageType,
            3 => Self::UndefinedTag,
            4 => Self::TagSpecifiedWithoutValue,
            5 => Self::ValueIsIncorrect,
            6 => Self::IncorrectDataFormat,
            7 => Self::DecryptionProblem,
            8 => Self::SignatureProblem,
            9 => Self::CompIdProblem,
            10 => Self::SendingTimeAccuracyProblem,
            11 => Self::InvalidMsgType,
            12 => Self::XmlValidationError,
            13 => Self::TagAppearsMoreThanOnce,
            14 => Self::TagSpecifiedOutOfRequiredOrder,
            15 => Self::RepeatingGroupFieldsOutOfOrder,
            16 => Self::IncorrectNumInGroupCount,
            17 => Self::NonDataValueIncludesFieldDelimiter,
            99 => Self::Other,
            _ => return None,
        })
    }

    /// The Text (58) QuickFIX puts in the Reject, word for word.
    pub const fn text(self) -> &'static str {
        match self {
            Self::InvalidTagNumber => "Invalid tag number",
            Self::RequiredTagMissing => "Required tag missing",
            Self::TagNotDefinedForMessageType => "Tag not defined for this message type",
            Self::UndefinedTag => "Undefined Tag",
            Self::TagSpecifiedWithoutValue => "Tag specified without a value",
            Self::ValueIsIncorrect => "Value is incorrect (out of range) for this tag",
            Self::IncorrectDataFormat => "Incorrect data format for value",
            Self::DecryptionProblem => "Decryption problem",
            Self::SignatureProblem => "Signature problem",
            Self::CompIdProblem => "CompID problem",
            Self::SendingTimeAccuracyProblem => "SendingTime accuracy problem",
            Self::InvalidMsgType => "Invalid MsgType",
            Self::XmlValidationError => "XML Validation error",
            Self::TagAppearsMoreThanOnce => "Tag appears more than once",
            Self::TagSpecifiedOutOfRequiredOrder => "Tag specified out of required order",
            Self::RepeatingGroupFieldsOutOfOrder => "Repeating group fields out of order",
            Self::IncorrectNumInGroupCount => "Incorrect NumInGroup count for repeating group",
            Self::NonDataValueIncludesFieldDelimiter => {
                "Non Data value includes field delimiter (SOH character)"
            }
            Self::Other => "Other",
        }
    }
}

/// A broken FIX rule: what a session Reject (35=3) carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Violation {
    /// SessionRejectReason (373).
    pub reason: SessionRejectReason,
    /// RefTagID (371) when one tag is at fault. Signed: a peer may send tag `-1`, and QuickFIX
    /// echoes it as written.
    pub ref_tag: Option<i64>,
}

impl Violation {
    /// A violation of `reason` about `tag`.
    pub const fn new(reason: SessionRejectReason, tag: u32) -> Self {
        Violation {
            reason,
            ref_tag: Some(tag as i64),
        }
    }

    /// SessionRejectReason (373) value.
    pub const fn code(&self) -> u32 {
        self.reason.code()
    }

    /// QuickFIX's Text (58) for it.
    pub const fn text(&self) -> &'static str {
        self.reason.text()
    }
}

impl core::fmt::Display for Violation {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.ref_tag {
            Some(t) => write!(f, "{} (tag {t})", self.text()),
            None => f.write_str(self.text()),
        }
    }
}

impl std::error::Error for Violation {}

impl From<Violation> for crate::session::Violation {
    fn from(v: Violation) -> Self {
        crate::session::Violation {
            reason: v.code(),
            ref_tag: v.ref_tag,
            text: v.text(),
        }
    }
}

// ───────────────────────────────────────── types ────────────────────────────────────────────

/// FIX 4.4 value types, as far as validation tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// int: optional `-`, digits.
    Int,
    /// SeqNum: digits.
    SeqNum,
    /// Length: digits.
    Length,
    /// NumInGroup: digits.
    NumInGroup,
    /// float, Price, Qty, Amt, PriceOffset, Percentage: optional `-`, digits, one optional `.`.
    Float,
    /// char: one character.
    Char,
    /// Boolean: `Y` or `N`.
    Boolean,
    /// UTCTimestamp: `YYYYMMDD-HH:MM:SS[.sss…]`.
    UtcTimestamp,
    /// UTCTimeOnly: `HH:MM:SS[.sss…]`.
    UtcTimeOnly,
    /// UTCDateOnly, LocalMktDate: `YYYYMMDD`.
    Date,
    /// MonthYear: `YYYYMM`, `YYYYMMDD` or `YYYYMMwN`.
    MonthYear,
    /// String, MultipleValueString, Currency, Exchange, Country: any bytes but SOH.
    String,
    /// data: any bytes, SOH included (length-prefixed).
    Data,
}

impl FieldType {
    /// True when `value` (non-empty) has this type's format.
    pub fn accepts(self, value: &[u8]) -> bool {
        match self {
            Self::Int => parse_int(value).is_some(),
            Self::SeqNum | Self::Length | Self::NumInGroup => parse_uint(value).is_some(),
            Self::Float => Decimal::parse(value).is_ok(),
            Self::Char => value.len() == 1,
            Self::Boolean => value == b"Y" || value == b"N",
            Self::UtcTimestamp => UtcTimestamp::parse(value).is_ok(),
            Self::UtcTimeOnly => time_only(value),
            Self::Date => value.len() == 8 && date(value),
            Self::MonthYear => {
                value.len() >= 6
                    && value[..6].iter().all(u8::is_ascii_digit)
                    && match &value[6..] {
                        [] => true,
                        [d1, d2] if d1.is_ascii_digit() && d2.is_ascii_digit() => true,
                        [b'w', w] => (b'1'..=b'5').contains(w),
                        _ => false,
                    }
            }
            Self::String => !value.contains(&crate::parse::SOH),
            Self::Data => true,
        }
    }
}

fn digits2(v: &[u8], max: u8) -> bool {
    matches!(v, [a, b] if a.is_ascii_digit() && b.is_ascii_digit() && (a - b'0') * 10 + (b - b'0') <= max)
}

fn time_only(v: &[u8]) -> bool {
    if v.len() < 8 || v[2] != b':' || v[5] != b':' {
        return false;
    }
    let frac_ok = match &v[8..] {
        [] => true,
        [b'.', rest @ ..] => !rest.is_empty() && rest.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    digits2(&v[0..2], 23) && digits2(&v[3..5], 59) && digits2(&v[6..8], 60) && frac_ok
}

fn date(v: &[u8]) -> bool {
    v.iter().all(u8::is_ascii_digit)
        && digits2(&v[4..6], 12)
        && v[4..6] != *b"00"
        && digits2(&v[6..8], 31)
        && v[6..8] != *b"00"
}

/// The FIX 4.4 type of `tag`, for the tags the tables type; `None` for untyped tags.
fn fix44_type(tag: u32) -> Option<FieldType> {
    use FieldType::*;
    Some(match tag {
        7 | 16 | 34 | 36 | 45 | 369 => SeqNum,
        9 | 90 | 93 | 95 | 212 | 348 | 350 | 352 | 354 | 356 | 358 | 360 | 362 | 364 | 383
        | 445 | 618 | 621 => Length,
        78 | 136 | 146 | 232 | 267 | 268 | 384 | 386 | 453 | 454 | 555 | 627 | 711 | 802 | 816
        | 864 => NumInGroup,
        98 | 108 | 264 | 265 | 290 | 323 | 340 | 346 | 371 | 373 | 378 | 380 | 388 | 393 | 559
        | 560 | 567 | 581 | 891 => Int,
        6 | 14 | 31 | 32 | 38 | 44 | 80 | 99 | 110 | 111 | 118 | 137 | 151 | 152 | 202 | 210
        | 211 | 223 | 231 | 270 | 271 | 381 | 389 | 561 | 562 => Float,
        4 | 13 | 21 | 39 | 40 | 47 | 54 | 59 | 63 | 77 | 150 | 263 | 269 | 279 | 281 | 385
        | 447 | 528 | 530 => Char,
        43 | 97 | 114 | 123 | 141 | 266 | 464 | 893 => Boolean,
        52 | 60 | 62 | 122 | 126 | 168 | 629 => UtcTimestamp,
        273 => UtcTimeOnly,
        64 | 75 | 272 | 432 | 541 | 225 => Date,
        200 => MonthYear,
        89 | 91 | 96 | 213 | 349 | 351 | 353 | 355 | 357 | 359 | 361 | 363 | 365 | 446 | 619
        | 622 => Data,
        _ => return None,
    })
}

/// Types of Kraken's custom tags (SPEC §4.0.4, §2.5).
fn kraken_type(tag: u32) -> Option<FieldType> {
    use FieldType::*;
    Some(match tag {
        tags::TRIGGER_PRICE
        | tags::DISPLAY_QTY
        | tags::QTY_MIN
        | tags::QTY_MAX
        | tags::MINIMUM_COST
        | tags::TICK_SIZE => Float,
        tags::PRICE_PRECISION
        | tags::QTY_PRECISION
        | tags::ASSET_PAIR_STATUS
        | tags::LIQUIDITY_IND
        | tags::MD_PRICE_PRECISION
        | tags::SELF_TRADE_PREVENTION
        | tags::CANCEL_ORDERS_ON_DISCONNECT => Int,
        // Unsigned 32-bit CRC.
        tags::CHECKSUM_ORDER_BOOK => SeqNum,
        tags::AGGRESSOR_SIDE => Char,
        tags::FORCE_RESET_CL_ORD_ID | tags::REBASED => Boolean,
        // Nonce is epoch ms text; TradeID and Leverage are strings; 5060/5273 are ISO-8601.
        tags::TRADE_ID
        | tags::LEVERAGE
        | tags::NONCE
        | tags::MD_ENTRY_TIMESTAMP
        | tags::MD_ENTRY_TIME_QUEUE => String,
        _ => return None,
    })
}

/// Enumerated values of FIX 4.4 fields used by the covered messages.
fn fix44_values(tag: u32) -> Option<&'static [&'static [u8]]> {
    Some(match tag {
        13 => &[b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8"],
        21 => &[b"1", b"2", b"3"],
        39 => &[
            b"0", b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9", b"A", b"B", b"C", b"D",
            b"E",
        ],
        40 => &[
            b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9", b"A", b"B", b"C", b"D", b"E",
            b"F", b"G", b"H", b"I", b"J", b"K", b"L", b"M", b"P",
        ],
        54 => &[
            b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9", b"A", b"B", b"C", b"D", b"E",
            b"F", b"G",
        ],
        59 => &[b"0", b"1", b"2", b"3", b"4", b"5", b"6", b"7"],
        77 => &[b"O", b"C", b"R", b"F"],
        98 => &[b"0", b"1", b"2", b"3", b"4", b"5", b"6"],
        139 => &[
            b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9", b"10", b"11", b"12",
        ],
        150 => &[
            b"0", b"3", b"4", b"5", b"6", b"7", b"8", b"9", b"A", b"B", b"C", b"D", b"E", b"F",
            b"G", b"H", b"I",
        ],
        167 => SECURITY_TYPES,
        263 => &[b"0", b"1", b"2"],
        265 => &[b"0", b"1"],
        269 => &[
            b"0", b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9", b"A", b"B", b"C",
        ],
        279 => &[b"0", b"1", b"2"],
        281 => &[
            b"0", b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9", b"A", b"B", b"C",
        ],
        323 => &[b"1", b"2", b"3", b"4", b"5", b"6"],
        340 => &[b"1", b"2", b"3", b"4", b"5", b"6"],
        373 => &[
            b"0", b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9", b"10", b"11", b"12", b"13",
            b"14", b"15", b"16", b"17", b"99",
        ],
        378 => &[b"0", b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"99"],
        380 => &[b"0", b"1", b"2", b"3", b"4", b"5", b"6", b"7"],
        385 => &[b"S", b"R"],
        447 => &[
            b"B", b"C", b"D", b"E", b"F", b"G", b"H", b"I", b"1", b"2", b"3", b"4", b"5", b"6",
            b"7", b"8", b"9", b"A",
        ],
        528 => &[b"A", b"G", b"I", b"P", b"R", b"W"],
        530 => &[b"1", b"2", b"3", b"4", b"5", b"6", b"7"],
        559 => &[b"0", b"1", b"2", b"3", b"4"],
        560 => &[b"0", b"1", b"2", b"3", b"4", b"5"],
        567 => &[b"1", b"99"],
        891 => &[b"0", b"1", b"2"],
        _ => return None,
    })
}

/// Values Kraken sends or accepts beyond FIX 4.4 (SPEC §4).
fn kraken_extra_values(tag: u32) -> &'static [&'static [u8]] {
    match tag {
        // Take-profit, take-profit-limit, trailing stop, trailing stop limit.
        40 => &[b"R", b"T", b"U", b"V"],
        // Unknown order, order too old.
        380 => &[b"101", b"104"],
        // Cancel-only, post-only.
        340 => &[b"0", b"101", b"102"],
        567 => &[b"100", b"101", b"102", b"103"],
        tags::AGGRESSOR_SIDE => &[b"1", b"2"],
        _ => &[],
    }
}

/// FIX 4.4 SecurityType (167) values.
const SECURITY_TYPES: &[&[u8]] = &[
    b"?",
    b"ABS",
    b"AMENDED",
    b"AN",
    b"BA",
    b"BN",
    b"BOX",
    b"BRADY",
    b"BRIDGE",
    b"BUYSELL",
    b"CB",
    b"CD",
    b"CL",
    b"CMBS",
    b"CMO",
    b"COFO",
    b"COFP",
    b"CORP",
    b"CP",
    b"CPP",
    b"CS",
    b"DEFLTED",
    b"DINP",
    b"DN",
    b"DUAL",
    b"EUCD",
    b"EUCORP",
    b"EUCP",
    b"EUSOV",
    b"EUSUPRA",
    b"FAC",
    b"FADN",
    b"FOR",
    b"FORWARD",
    b"FUT",
    b"GO",
    b"IET",
    b"LOFC",
    b"LQN",
    b"MATURED",
    b"MBS",
    b"MF",
    b"MIO",
    b"MLEG",
    b"MPO",
    b"MPP",
    b"MPT",
    b"MT",
    b"MTN",
    b"NONE",
    b"ONITE",
    b"OPT",
    b"PEF",
    b"PFAND",
    b"PN",
    b"PS",
    b"PZFJ",
    b"RAN",
    b"REPLACD",
    b"REPO",
    b"RETIRED",
    b"REVLV",
    b"RVLVTRM",
    b"SECLOAN",
    b"SECPLEDGE",
    b"SPCLA",
    b"SPCLO",
    b"SPCLT",
    b"STN",
    b"STRUCT",
    b"SUPRA",
    b"SWING",
    b"TAN",
    b"TBA",
    b"TBILL",
    b"TBOND",
    b"TCAL",
    b"TD",
    b"TECP",
    b"TERM",
    b"TINT",
    b"TIPS",
    b"TNOTE",
    b"TPRN",
    b"TRAN",
    b"UST",
    b"USTB",
    b"VRDN",
    b"WAR",
    b"WITHDRN",
    b"XCN",
    b"XLINKD",
    b"YANK",
    b"YCD",
    b"CASH",
    b"TS",
];

// ──────────────────────────────────────── structure ─────────────────────────────────────────

/// A repeating group.
#[derive(Debug, Clone, Copy)]
pub struct GroupDef {
    /// NumInGroup tag.
    pub count: u32,
    /// First field of every entry.
    pub delimiter: u32,
    /// Fields an entry may hold (delimiter and nested NumInGroup tags included), as sets.
    pub members: &'static [&'static [u32]],
    /// Groups nested in an entry.
    pub groups: &'static [GroupDef],
}

impl GroupDef {
    /// True when `tag` may appear in an entry (nested groups' members excluded).
    pub fn is_member(&self, tag: u32) -> bool {
        self.members.iter().any(|set| set.contains(&tag))
            || self.groups.iter().any(|g| g.count == tag)
    }
}

/// What one message type requires and allows in its body.
#[derive(Debug, Clone, Copy)]
pub struct MessageDef {
    /// MsgType (35).
    pub msg_type: &'static [u8],
    /// FIX name.
    pub name: &'static str,
    /// Body tags that must be present, in the order they are checked (ascending, as QuickFIX).
    pub required: &'static [u32],
    /// Other body tags allowed outside groups, as sets.
    pub optional: &'static [&'static [u32]],
    /// Repeating groups of the body.
    pub groups: &'static [GroupDef],
    /// Standard fields Kraken adds to this message ([`KRAKEN`] only).
    pub kraken_optional: &'static [u32],
    /// Kraken's required fields where they differ from FIX 4.4 ([`KRAKEN`] only).
    pub kraken_required: Option<&'static [u32]>,
}

impl MessageDef {
    fn group(&self, count_tag: u32) -> Option<&'static GroupDef> {
        self.groups.iter().find(|g| g.count == count_tag)
    }
}

/// Standard header fields of FIX 4.4, in header order.
pub const HEADER: &[u32] = &[
    8, 9, 35, 49, 56, 115, 128, 90, 91, 34, 50, 142, 57, 143, 116, 144, 129, 145, 43, 97, 52, 122,
    212, 213, 347, 369, 627,
];
/// Required header fields, ascending.
pub const HEADER_REQUIRED: &[u32] = &[8, 9, 34, 35, 49, 52, 56];
/// Standard trailer fields.
pub const TRAILER: &[u32] = &[93, 89, 10];

/// True for a standard header field.
#[inline]
pub fn is_header(tag: u32) -> bool {
    HEADER.contains(&tag)
}

/// True for a standard trailer field.
#[inline]
pub fn is_trailer(tag: u32) -> bool {
    TRAILER.contains(&tag)
}

const HOPS: GroupDef = GroupDef {
    count: 627,
    delimiter: 628,
    members: &[&[628, 629, 630]],
    groups: &[],
};

const SEC_ALT_IDS: GroupDef = GroupDef {
    count: 454,
    delimiter: 455,
    members: &[&[455, 456]],
    groups: &[],
};

/// The Instrument component (Symbol first), NoSecurityAltID excluded.
const INSTRUMENT: &[u32] = &[
    55, 65, 48, 22, 460, 461, 167, 762, 200, 541, 201, 224, 225, 239, 226, 227, 228, 255, 543, 470,
    471, 472, 240, 202, 947, 206, 231, 223, 207, 106, 348, 349, 107, 350, 351, 691, 667, 875, 876,
    873, 874,
];

const PARTY_SUB_IDS: GroupDef = GroupDef {
    count: 802,
    delimiter: 523,
    members: &[&[523, 803]],
    groups: &[],
};

const PARTIES: GroupDef = GroupDef {
    count: 453,
    delimiter: 448,
    members: &[&[448, 447, 452]],
    groups: &[PARTY_SUB_IDS],
};

const ALLOCS: GroupDef = GroupDef {
    count: 78,
    delimiter: 79,
    members: &[&[79, 661, 736, 467, 80]],
    groups: &[],
};

const MISC_FEES: GroupDef = GroupDef {
    count: 136,
    delimiter: 137,
    members: &[&[137, 138, 139, 891]],
    groups: &[],
};

const MSG_TYPES: GroupDef = GroupDef {
    count: 384,
    delimiter: 372,
    members: &[&[372, 385]],
    groups: &[],
};

const MD_ENTRY_TYPES: GroupDef = GroupDef {
    count: 267,
    delimiter: 269,
    members: &[&[269]],
    groups: &[],
};

const RELATED_SYM: GroupDef = GroupDef {
    count: 146,
    delimiter: 55,
    members: &[INSTRUMENT],
    groups: &[SEC_ALT_IDS],
};

/// Fields of an MD entry shared by W and X (FIX 4.4 MDFullGrp / MDIncGrp), plus the Kraken
/// fields Kraken puts in entries (278 MDEntryID in W, 40 OrdType and 2446 AggressorSide on
/// trades, 5060/5273 L3 times).
const MD_ENTRY_COMMON: &[u32] = &[
    269, 270, 15, 271, 272, 273, 274, 275, 336, 625, 276, 277, 282, 283, 284, 286, 59, 432, 126,
    110, 18, 287, 37, 299, 288, 289, 346, 290, 546, 811, 58, 354, 355, 278, 40, 2446, 5060, 5273,
];

const MD_ENTRIES_FULL: GroupDef = GroupDef {
    count: 268,
    delimiter: 269,
    members: &[MD_ENTRY_COMMON],
    groups: &[],
};

const MD_ENTRIES_INC: GroupDef = GroupDef {
    count: 268,
    delimiter: 279,
    members: &[
        &[279, 285, 280, 291, 292, 387, 449, 450, 451],
        MD_ENTRY_COMMON,
        INSTRUMENT,
    ],
    groups: &[SEC_ALT_IDS],
};

const SEC_LIST: GroupDef = GroupDef {
    count: 146,
    delimiter: 55,
    members: &[
        INSTRUMENT,
        &[
            15, 561, 562, 336, 625, 58, 354, 355, 5010, 5011, 5012, 5013, 2349, 5052, 5022, 5032,
        ],
    ],
    groups: &[SEC_ALT_IDS],
};

/// NewOrderSingle / OrderCancelReplaceRequest body fields (FIX 4.4) besides the Instrument.
const ORDER: &[u32] = &[
    1, 11, 12, 13, 15, 18, 21, 23, 37, 38, 40, 41, 44, 54, 58, 59, 60, 63, 64, 70, 75, 77, 81, 99,
    100, 110, 111, 114, 117, 120, 121, 126, 140, 152, 168, 192, 193, 203, 210, 211, 354, 355, 376,
    377, 388, 389, 423, 427, 432, 468, 469, 479, 497, 516, 526, 528, 529, 544, 581, 582, 583, 589,
    590, 591, 635, 640, 660, 775, 854,
];
const KRAKEN_ORDER: &[u32] = &[62, 1138, 5001, 7928];

const ER: &[u32] = &[
    1, 6, 11, 12, 13, 14, 15, 17, 18, 19, 21, 31, 32, 37, 38, 39, 40, 41, 44, 54, 58, 59, 60, 63,
    64, 75, 77, 99, 103, 110, 111, 113, 118, 119, 120, 126, 150, 151, 152, 155, 156, 168, 198, 210,
    211, 336, 354, 355, 375, 377, 378, 381, 388, 389, 423, 424, 425, 426, 432, 442, 479, 483, 513,
    526, 527, 528, 529, 581, 582, 583, 584, 589, 590, 591, 625, 635, 636, 660, 790, 797, 851,
];

const fn message(
    msg_type: &'static [u8],
    name: &'static str,
    required: &'static [u32],
    optional: &'static [&'static [u32]],
    groups: &'static [GroupDef],
) -> MessageDef {
    MessageDef {
        msg_type,
        name,
        required,
        optional,
        groups,
        kraken_optional: &[],
        kraken_required: None,
    }
}

const fn kraken(mut def: MessageDef, optional: &'static [u32]) -> MessageDef {
    def.kraken_optional = optional;
    def
}

const fn kraken_required(mut def: MessageDef, required: &'static [u32]) -> MessageDef {
    def.kraken_required = Some(required);
    def
}

/// Every message the dictionaries know.
pub static MESSAGES: &[MessageDef] = &[
    message(b"0", "Heartbeat", &[], &[&[112]], &[]),
    message(b"1", "TestRequest", &[112], &[], &[]),
    message(b"2", "ResendRequest", &[7, 16], &[], &[]),
    message(
        b"3",
        "Reject",
        &[45],
        &[&[371, 372, 373, 58, 354, 355]],
        &[],
    ),
    message(b"4", "SequenceReset", &[36], &[&[123]], &[]),
    message(b"5", "Logout", &[], &[&[58, 354, 355]], &[]),
    kraken(
        message(
            b"A",
            "Logon",
            &[98, 108],
            &[&[95, 96, 141, 789, 383, 464, 553, 554, 925]],
            &[MSG_TYPES],
        ),
        &[109],
    ),
    kraken(
        message(
            b"D",
            "NewOrderSingle",
            &[11, 40, 54, 55, 60],
            &[ORDER, INSTRUMENT],
            &[PARTIES, ALLOCS, SEC_ALT_IDS],
        ),
        KRAKEN_ORDER,
    ),
    kraken_required(
        message(
            b"F",
            "OrderCancelRequest",
            &[11, 41, 54, 55, 60],
            &[
                &[
                    1, 11, 37, 38, 41, 54, 58, 60, 66, 109, 152, 354, 355, 376, 516, 526, 583, 660,
                    468, 469,
                ],
                INSTRUMENT,
            ],
            &[PARTIES, SEC_ALT_IDS],
        ),
        &[11, 54, 55, 60],
    ),
    kraken(
        message(
            b"G",
            "OrderCancelReplaceRequest",
            &[11, 40, 41, 54, 55, 60],
            &[ORDER, INSTRUMENT],
            &[PARTIES, ALLOCS, SEC_ALT_IDS],
        ),
        KRAKEN_ORDER,
    ),
    kraken_required(
        kraken(
            message(
                b"H",
                "OrderStatusRequest",
                &[11, 54, 55],
                &[&[1, 37, 526, 581, 660, 790], INSTRUMENT],
                &[PARTIES, SEC_ALT_IDS],
            ),
            &[60],
        ),
        &[11, 37, 55],
    ),
    message(
        b"q",
        "OrderMassCancelRequest",
        &[11, 60, 530],
        &[&[54, 58, 336, 354, 355, 526, 625], INSTRUMENT],
        &[SEC_ALT_IDS],
    ),
    kraken(
        message(
            b"8",
            "ExecutionReport",
            &[6, 14, 17, 37, 39, 54, 55, 150, 151],
            &[ER, INSTRUMENT],
            &[PARTIES, ALLOCS, MISC_FEES, SEC_ALT_IDS],
        ),
        &[1003, 1102, 1138, 5050],
    ),
    message(
        b"j",
        "BusinessMessageReject",
        &[372, 380],
        &[&[45, 58, 354, 355, 379]],
        &[],
    ),
    message(
        b"V",
        "MarketDataRequest",
        &[262, 263, 264],
        &[&[265, 266, 286, 546, 547]],
        &[MD_ENTRY_TYPES, RELATED_SYM],
    ),
    message(
        b"W",
        "MarketDataSnapshotFullRefresh",
        &[55],
        &[&[262, 291, 292, 387, 813], INSTRUMENT],
        &[MD_ENTRIES_FULL, SEC_ALT_IDS],
    ),
    kraken(
        message(
            b"X",
            "MarketDataIncrementalRefresh",
            &[],
            &[&[262]],
            &[MD_ENTRIES_INC],
        ),
        &[55, 5041],
    ),
    message(
        b"Y",
        "MarketDataRequestReject",
        &[262],
        &[&[281, 58, 354, 355]],
        &[],
    ),
    message(
        b"x",
        "SecurityListRequest",
        &[320, 559],
        &[&[15, 58, 263, 336, 354, 355, 625], INSTRUMENT],
        &[SEC_ALT_IDS],
    ),
    message(
        b"y",
        "SecurityList",
        &[320, 322, 560],
        &[&[58, 354, 355, 393, 893]],
        &[SEC_LIST],
    ),
    kraken_required(
        message(
            b"g",
            "TradingSessionStatusRequest",
            &[263, 335],
            &[&[336, 338, 339, 625]],
            &[],
        ),
        &[335, 336],
    ),
    message(
        b"h",
        "TradingSessionStatus",
        &[336, 340],
        &[&[
            58, 325, 335, 338, 339, 341, 342, 343, 344, 345, 354, 355, 387, 567, 625,
        ]],
        &[],
    ),
    message(
        b"d",
        "SecurityDefinition",
        &[320, 322, 323],
        &[&[15, 58, 336, 354, 355, 561, 562, 625, 827], INSTRUMENT],
        &[SEC_ALT_IDS],
    ),
];

// ──────────────────────────────────────── dictionary ────────────────────────────────────────

/// A dictionary: the shared FIX 4.4 tables, read plainly or with Kraken's dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dictionary {
    name: &'static str,
    kraken: bool,
}

/// Plain FIX 4.4 (QuickFIX's FIX44.xml for the covered messages).
pub static FIX44: Dictionary = Dictionary {
    name: "FIX.4.4",
    kraken: false,
};

/// FIX 4.4 as Kraken speaks it (SPEC §4): custom tags, extra fields, extra enum values.
pub static KRAKEN: Dictionary = Dictionary {
    name: "FIX.4.4 (Kraken)",
    kraken: true,
};

impl Dictionary {
    /// A name for logs.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// True for the Kraken dialect.
    pub fn is_kraken(&self) -> bool {
        self.kraken
    }

    /// The definition of `msg_type`.
    pub fn message(&self, msg_type: &[u8]) -> Option<&'static MessageDef> {
        MESSAGES.iter().find(|m| m.msg_type == msg_type)
    }

    /// The type of `tag` (Kraken's custom tags included when `kraken_tags`); `None` for a tag
    /// the dictionary does not define.
    pub fn field_type(&self, tag: u32, kraken_tags: bool) -> Option<FieldType> {
        if let Some(t) = fix44_type(tag) {
            // Kraken's MDEntryTime is a full timestamp on L3 feeds (SPEC §4.0.3).
            if self.kraken && tag == tags::MD_ENTRY_TIME {
                return Some(FieldType::String);
            }
            return Some(t);
        }
        if (1..=956).contains(&tag) {
            return Some(FieldType::String);
        }
        if kraken_tags || self.kraken {
            return kraken_type(tag);
        }
        None
    }

    /// True when `value` is one of `tag`'s enumerated values, or `tag` is not enumerated.
    /// With `kraken_values` (always for [`KRAKEN`]) Kraken's values beyond FIX 4.4 count too.
    pub fn value_allowed(&self, tag: u32, value: &[u8], kraken_values: bool) -> bool {
        let kraken = self.kraken || kraken_values;
        let extra = kraken_extra_values(tag);
        if kraken && extra.contains(&value) {
            return true;
        }
        match fix44_values(tag) {
            Some(values) => values.contains(&value),
            None if kraken && !extra.is_empty() => false,
            None => true,
        }
    }

    fn required(&self, def: &MessageDef) -> &'static [u32] {
        match def.kraken_required {
            Some(r) if self.kraken => r,
            _ => def.required,
        }
    }

    /// True when `tag` may appear at the top level of `def`'s body.
    fn allowed(&self, def: &MessageDef, tag: u32, opts: &ValidationOptions) -> bool {
        def.required.contains(&tag)
            || def.optional.iter().any(|set| set.contains(&tag))
            || def.groups.iter().any(|g| g.count == tag)
            || ((self.kraken || opts.allow_kraken_tags)
                && (def.kraken_optional.contains(&tag) || tags::KRAKEN_CUSTOM.contains(&tag)))
    }
}

/// What [`validate`] checks beyond the dictionary itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidationOptions {
    /// Accept tags the dictionary does not define (they are then not checked at all).
    pub allow_unknown_tags: bool,
    /// Accept Kraken's custom tags (SPEC §4.0.4), Kraken's extra standard fields per message
    /// and Kraken's enum values beyond FIX 4.4 with the plain [`FIX44`] dictionary ([`KRAKEN`]
    /// always accepts them). Required fields stay FIX 4.4's.
    pub allow_kraken_tags: bool,
    /// Check that header fields come first and trailer fields last (373=14).
    pub check_field_order: bool,
    /// Reason given for a positive tag number that no dictionary defines. QuickFIX answers
    /// [`SessionRejectReason::InvalidTagNumber`] (0); FIX also has
    /// [`SessionRejectReason::UndefinedTag`] (3).
    pub undefined_tag: SessionRejectReason,
}

impl Default for ValidationOptions {
    /// QuickFIX's defaults: unknown tags rejected, field order checked.
    fn default() -> Self {
        ValidationOptions {
            allow_unknown_tags: false,
            allow_kraken_tags: false,
            check_field_order: true,
            undefined_tag: SessionRejectReason::InvalidTagNumber,
        }
    }
}

/// Validates `msg` against `dict`.
///
/// # Errors
/// The first [`Violation`] in the order given in the module documentation.
pub fn validate(
    msg: &Message<'_>,
    dict: &Dictionary,
    opts: &ValidationOptions,
) -> Result<(), Violation> {
    use SessionRejectReason as R;
    let fields = msg.fields();

    // 1. Header, then body, then trailer (CheckSum last).
    if opts.check_field_order {
        check_order(fields)?;
    }

    // 2. MsgType.
    let Some(def) = dict.message(msg.msg_type()) else {
        return Err(Violation::new(R::InvalidMsgType, tags::MSG_TYPE));
    };

    // 3. Required fields: header, trailer, then body, each ascending.
    let present = |t: u32| fields.iter().any(|f| f.tag == t);
    for &t in HEADER_REQUIRED
        .iter()
        .chain(&[tags::CHECK_SUM])
        .chain(dict.required(def))
    {
        if !present(t) {
            return Err(Violation::new(R::RequiredTagMissing, t));
        }
    }

    // 4. Every field on its own: tag number, value present, format, enumeration.
    for f in fields {
        if f.tag == INVALID_TAG {
            let text = msg.tag_text(*f);
            return Err(Violation {
                reason: R::InvalidTagNumber,
                ref_tag: Some(parse_int(text).unwrap_or(0)),
            });
        }
        if f.len == 0 {
            return Err(Violation::new(R::TagSpecifiedWithoutValue, f.tag));
        }
        let Some(ty) = dict.field_type(f.tag, opts.allow_kraken_tags) else {
            if opts.allow_unknown_tags {
                continue;
            }
            return Err(Violation::new(opts.undefined_tag, f.tag));
        };
        let value = msg.value(*f);
        if !ty.accepts(value) {
            return Err(Violation::new(R::IncorrectDataFormat, f.tag));
        }
        if !dict.value_allowed(f.tag, value, opts.allow_kraken_tags) {
            return Err(Violation::new(R::ValueIsIncorrect, f.tag));
        }
    }

    // 5. Structure: each body field allowed for this type, no repeats, groups well formed.
    let mut seen = Seen::default();
    let mut i = 0;
    while i < fields.len() {
        let f = fields[i];
        let t = f.tag;
        if !seen.insert(t, &fields[..i]) {
            return Err(Violation::new(R::TagAppearsMoreThanOnce, t));
        }
        if is_header(t) || is_trailer(t) {
            if t == tags::NO_HOPS {
                i = walk_group(msg, fields, i, &HOPS)?;
            } else {
                i += 1;
            }
            continue;
        }
        if let Some(g) = def.group(t) {
            i = walk_group(msg, fields, i, g)?;
            continue;
        }
        let known = dict.field_type(t, opts.allow_kraken_tags).is_some();
        if known && !dict.allowed(def, t, opts) {
            return Err(Violation::new(R::TagNotDefinedForMessageType, t));
        }
        i += 1;
    }
    Ok(())
}

/// Plain FIX 4.4 with Kraken's tags accepted: the validator the session layer installs
/// ([`crate::session::Session::set_validator`]) for the venue's FIX 4.4 conformance profile and
/// tests. QuickFIX's answers for every acceptance script (14a–14h, 15, 21, 2r, 2t) come out of it.
///
/// # Errors
/// The first violation, converted for the session's Reject.
pub fn validate_fix44(msg: &Message<'_>) -> Result<(), crate::session::Violation> {
    const OPTIONS: ValidationOptions = ValidationOptions {
        allow_unknown_tags: false,
        allow_kraken_tags: true,
        check_field_order: true,
        undefined_tag: SessionRejectReason::InvalidTagNumber,
    };
    validate(msg, &FIX44, &OPTIONS).map_err(Into::into)
}

/// Kraken's dialect, unknown tags rejected: for messages a Kraken client receives.
///
/// # Errors
/// The first violation, converted for the session's Reject.
pub fn validate_kraken(msg: &Message<'_>) -> Result<(), crate::session::Violation> {
    validate(msg, &KRAKEN, &ValidationOptions::default()).map_err(Into::into)
}

fn check_order(fields: &[FieldRef]) -> Result<(), Violation> {
    use SessionRejectReason as R;
    for (f, want) in fields.iter().zip([8, 9, 35]) {
        if f.tag != want {
            return Err(Violation::new(R::TagSpecifiedOutOfRequiredOrder, f.tag));
        }
    }
    // 0 header, 1 body, 2 trailer.
    let mut section = 0u8;
    let mut in_hops = false;
    for f in fields.iter().skip(3) {
        let t = f.tag;
        // HopCompID/HopSendingTime/HopRefID belong to the header's NoHops group.
        let header = is_header(t) || (in_hops && matches!(t, 628..=630));
        in_hops = t == tags::NO_HOPS || (in_hops && matches!(t, 628..=630));
        let s = if header {
            0
        } else if is_trailer(t) {
            2
        } else {
            1
        };
        if s < section {
            return Err(Violation::new(R::TagSpecifiedOutOfRequiredOrder, t));
        }
        section = s;
    }
    match fields.last() {
        Some(f) if f.tag == tags::CHECK_SUM => Ok(()),
        _ => {
            // CheckSum present but not last: the field after it is out of order.
            match fields.iter().position(|f| f.tag == tags::CHECK_SUM) {
                Some(p) if p + 1 < fields.len() => Err(Violation::new(
                    R::TagSpecifiedOutOfRequiredOrder,
                    fields[p + 1].tag,
                )),
                _ => Ok(()),
            }
        }
    }
}

/// Walks the group whose NumInGroup field is `fields[at]`; returns the index after the group.
fn walk_group(
    msg: &Message<'_>,
    fields: &[FieldRef],
    at: usize,
    g: &GroupDef,
) -> Result<usize, Violation> {
    use SessionRejectReason as R;
    let declared = parse_uint(msg.value(fields[at])).unwrap_or(u64::MAX);
    let mut i = at + 1;
    let mut entries = 0u64;
    if declared > 0 {
        if let Some(f) = fields.get(i) {
            if f.tag != g.delimiter && g.is_member(f.tag) {
                return Err(Violation::new(R::RepeatingGroupFieldsOutOfOrder, f.tag));
            }
        }
    }
    while fields.get(i).is_some_and(|f| f.tag == g.delimiter) {
        entries += 1;
        let start = i;
        i += 1;
        while let Some(f) = fields.get(i) {
            let t = f.tag;
            if t == g.delimiter {
                break;
            }
            if let Some(nested) = g.groups.iter().find(|n| n.count == t) {
                if fields[start..i].iter().any(|p| p.tag == t) {
                    return Err(Violation::new(R::TagAppearsMoreThanOnce, t));
                }
                i = walk_group(msg, fields, i, nested)?;
                continue;
            }
            if !g.is_member(t) {
                break;
            }
            if fields[start..i].iter().any(|p| p.tag == t) {
                return Err(Violation::new(R::TagAppearsMoreThanOnce, t));
            }
            i += 1;
        }
    }
    if entries != declared {
        return Err(Violation::new(R::IncorrectNumInGroupCount, g.count));
    }
    Ok(i)
}

/// Tags seen at the top level: a bitmap below 1024, a scan of earlier fields above.
#[derive(Default)]
struct Seen {
    low: [u64; 16],
}

impl Seen {
    /// False when `tag` was seen before (`earlier` holds every field before this one, groups
    /// included: a top-level tag above 1024 repeated only inside a group is not a repeat).
    fn insert(&mut self, tag: u32, earlier: &[FieldRef]) -> bool {
        match self.low.get_mut((tag / 64) as usize) {
            Some(word) => {
                let bit = 1u64 << (tag % 64);
                let fresh = *word & bit == 0;
                *word |= bit;
                fresh
            }
            None => !earlier.iter().any(|f| f.tag == tag),
        }
    }
}

/// Kraken's tags outside the FIX 4.4 dictionary (SPEC §4.0.4).
pub const KRAKEN_TAGS: &[u32] = tags::KRAKEN_CUSTOM;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::FieldIndex;

    fn check_with(
        text: &str,
        dict: &Dictionary,
        opts: &ValidationOptions,
    ) -> Result<(), Violation> {
        let raw = text.replace('|', "\x01").into_bytes();
        let mut idx = FieldIndex::<128>::new();
        let msg = Message::parse(&raw, &mut idx).expect("parses");
        validate(&msg, dict, opts)
    }

    fn check(text: &str) -> Option<(u32, Option<i64>)> {
        check_with(text, &FIX44, &ValidationOptions::default())
            .err()
            .map(|v| (v.code(), v.ref_tag))
    }

    const HB: &str = "8=FIX.4.4|9=1|35=0|34=2|49=A|52=20260407-14:32:01|56=B|";
    const D: &str = "8=FIX.4.4|9=1|35=D|34=2|49=A|52=20260407-14:32:01|56=B|";

    #[test]
    fn accepts_valid_messages() {
        assert_eq!(check(&format!("{HB}10=000|")), None);
        assert_eq!(
            check(&format!(
                "{D}11=X|21=1|38=200|40=2|44=1.5|54=1|55=INTC|60=20260407-14:32:01|10=000|"
            )),
            None
        );
        assert_eq!(check(&format!("{HB}112=T|10=000|")), None);
        assert_eq!(
            check("8=FIX.4.4|9=1|35=d|34=2|49=A|56=B|52=20260407-14:32:01|320=J|322=1|323=6|55=TBS|22=8|167=CS|336=ONE|58=x|454=0|10=000|"),
            None,
            "script 21: NumInGroup 0"
        );
    }

    #[test]
    fn reports_each_rule_with_quickfix_reason() {
        use SessionRejectReason as R;
        let cases: &[(String, SessionRejectReason, i64)] = &[
            (format!("{HB}999=HI|10=000|"), R::InvalidTagNumber, 999),
            (format!("{HB}0=HI|10=000|"), R::InvalidTagNumber, 0),
            (format!("{HB}-1=HI|10=000|"), R::InvalidTagNumber, -1),
            (format!("{HB}5000=HI|10=000|"), R::InvalidTagNumber, 5000),
            (format!("{HB}55=MSFT|10=000|"), R::TagNotDefinedForMessageType, 55),
            (
                "8=FIX.4.4|9=1|35=0|34=2|49=A|52=20260407-14:32:01|56=|10=000|".into(),
                R::TagSpecifiedWithoutValue,
                56,
            ),
            (
                "8=FIX.4.4|9=1|35=0|34=2|49=A|52=20260407-14:32:01|10=000|".into(),
                R::RequiredTagMissing,
                56,
            ),
            (
                "8=FIX.4.4|9=1|35=D|49=A|34=3|56=B|52=20260407-14:32:01|40=1|60=20260407-14:32:01|54=1|21=3|10=000|".into(),
                R::RequiredTagMissing,
                11,
            ),
            (
                format!("{D}11=X|21=4|38=1|40=1|54=1|55=I|60=20260407-14:32:01|10=000|"),
                R::ValueIsIncorrect,
                21,
            ),
            (
                format!("{D}11=X|21=1|38=1|40=1|54=1|55=I|60=20260407-14:32:01|167=BOO|10=000|"),
                R::ValueIsIncorrect,
                167,
            ),
            (
                format!("{D}11=X|21=1|38=+200.00|40=1|54=1|55=I|60=20260407-14:32:01|10=000|"),
                R::IncorrectDataFormat,
                38,
            ),
            (
                format!("{D}11=X|21=1|38=1|40=1|40=2|54=1|55=I|60=20260407-14:32:01|10=000|"),
                R::TagAppearsMoreThanOnce,
                40,
            ),
            (
                "8=FIX.4.4|9=1|35=D|11=id|21=3|40=1|54=1|55=MSFT|60=20260407-14:32:01|34=2|49=A|52=20260407-14:32:01|56=B|38=1|10=000|".into(),
                R::TagSpecifiedOutOfRequiredOrder,
                34,
            ),
            (
                "8=FIX.4.4|35=0|9=1|34=2|49=A|52=20260407-14:32:01|56=B|10=000|".into(),
                R::TagSpecifiedOutOfRequiredOrder,
                35,
            ),
            (
                format!("{HB}10=000|112=x|"),
                R::TagSpecifiedOutOfRequiredOrder,
                112,
            ),
            (
                "8=FIX.4.4|9=1|35=V|34=2|49=A|52=20260407-14:32:01|56=B|262=R|263=1|264=10|267=2|269=0|146=1|55=X|10=000|".into(),
                R::IncorrectNumInGroupCount,
                267,
            ),
            (
                "8=FIX.4.4|9=1|35=X|34=2|49=A|52=20260407-14:32:01|56=B|268=1|269=0|279=0|270=1|10=000|".into(),
                R::RepeatingGroupFieldsOutOfOrder,
                269,
            ),
            (
                "8=FIX.4.4|9=1|35=ZZ|34=2|49=A|52=20260407-14:32:01|56=B|10=000|".into(),
                R::InvalidMsgType,
                35,
            ),
            (
                format!("{HB}43=X|10=000|"),
                R::IncorrectDataFormat,
                43,
            ),
            (
                "8=FIX.4.4|9=1|35=0|34=x|49=A|52=20260407-14:32:01|56=B|10=000|".into(),
                R::IncorrectDataFormat,
                34,
            ),
            (
                "8=FIX.4.4|9=1|35=0|34=2|49=A|52=20260407-25:32:01|56=B|10=000|".into(),
                R::IncorrectDataFormat,
                52,
            ),
        ];
        for (text, reason, tag) in cases {
            assert_eq!(
                check(text),
                Some((reason.code(), Some(*tag))),
                "{text} should be {reason:?}"
            );
        }
    }

    #[test]
    fn kraken_dialect_and_options() {
        let x = "8=FIX.4.4|9=1|35=X|34=2|49=A|52=20260407-14:32:01|56=B|55=BTC/USD|268=1|279=0|269=2|278=1|270=1.5|271=2|273=14:32:03.101|40=2|2446=1|5041=7|10=000|";
        assert_eq!(
            check(x),
            Some((0, Some(2446))),
            "plain FIX 4.4 does not know Kraken's tags"
        );
        let kraken_opts = ValidationOptions {
            allow_kraken_tags: true,
            ..ValidationOptions::default()
        };
        assert_eq!(check_with(x, &FIX44, &kraken_opts), Ok(()));
        assert_eq!(
            check_with(x, &KRAKEN, &ValidationOptions::default()),
            Ok(())
        );
        let unknown = ValidationOptions {
            allow_unknown_tags: true,
            ..ValidationOptions::default()
        };
        assert_eq!(
            check_with(&format!("{HB}7777=x|10=000|"), &FIX44, &unknown),
            Ok(())
        );
        let undefined = ValidationOptions {
            undefined_tag: SessionRejectReason::UndefinedTag,
            ..ValidationOptions::default()
        };
        assert_eq!(
            check_with(&format!("{HB}7777=x|10=000|"), &FIX44, &undefined).map_err(|v| v.code()),
            Err(3)
        );
        let unordered = ValidationOptions {
            check_field_order: false,
            ..ValidationOptions::default()
        };
        assert_eq!(
            check_with(
                "8=FIX.4.4|9=1|35=0|112=T|34=2|49=A|52=20260407-14:32:01|56=B|10=000|",
                &FIX44,
                &unordered
            ),
            Ok(())
        );
        // Kraken enum extensions and required-field differences.
        let tp = format!("{D}11=X|38=1|40=R|54=1|55=I|60=20260407-14:32:01|99=5|10=000|");
        assert_eq!(
            check_with(&tp, &FIX44, &ValidationOptions::default()).map_err(|v| v.code()),
            Err(5)
        );
        assert_eq!(check_with(&tp, &FIX44, &kraken_opts), Ok(()));
        assert_eq!(
            check_with(&tp, &KRAKEN, &ValidationOptions::default()),
            Ok(())
        );
        let cancel = "8=FIX.4.4|9=1|35=F|34=2|49=A|52=20260407-14:32:01|56=B|11=C|37=O|54=1|55=I|60=20260407-14:32:01|10=000|";
        assert_eq!(
            check_with(cancel, &FIX44, &ValidationOptions::default()),
            Err(Violation::new(SessionRejectReason::RequiredTagMissing, 41))
        );
        assert_eq!(
            check_with(cancel, &KRAKEN, &ValidationOptions::default()),
            Ok(())
        );
    }

    #[test]
    fn nested_groups_and_group_repeats() {
        let ok = format!("{D}11=X|38=1|40=1|54=1|55=I|60=20260407-14:32:01|453=2|448=P|452=1|802=1|523=S|803=2|448=Q|452=3|10=000|");
        assert_eq!(check(&ok), None);
        let dup = format!(
            "{D}11=X|38=1|40=1|54=1|55=I|60=20260407-14:32:01|453=1|448=P|452=1|452=3|10=000|"
        );
        assert_eq!(check(&dup), Some((13, Some(452))));
        let nested_count = format!(
            "{D}11=X|38=1|40=1|54=1|55=I|60=20260407-14:32:01|453=1|448=P|802=2|523=S|10=000|"
        );
        assert_eq!(check(&nested_count), Some((16, Some(802))));
    }

    #[test]
    fn texts_are_quickfix_texts() {
        use SessionRejectReason as R;
        for code in (0..=17).chain([99]) {
            let r = R::from_code(code).expect("defined");
            assert_eq!(r.code(), code);
            assert!(!r.text().is_empty());
        }
        assert_eq!(R::from_code(18), None);
        assert_eq!(R::RequiredTagMissing.text(), "Required tag missing");
        let v: crate::session::Violation = Violation::new(R::ValueIsIncorrect, 21).into();
        assert_eq!(
            (v.reason, v.ref_tag, v.text),
            (
                5,
                Some(21),
                "Value is incorrect (out of range) for this tag"
            )
        );
    }

    #[test]
    fn field_formats() {
        use FieldType::*;
        assert!(Int.accepts(b"-12") && !Int.accepts(b"+12") && !Int.accepts(b"1.0"));
        assert!(SeqNum.accepts(b"12") && !SeqNum.accepts(b"-1"));
        assert!(Float.accepts(b"002000.00") && Float.accepts(b"-1.5") && !Float.accepts(b"+1"));
        assert!(!Float.accepts(b"1e5"));
        assert!(UtcTimeOnly.accepts(b"14:32:01.870") && UtcTimeOnly.accepts(b"14:32:01"));
        assert!(!UtcTimeOnly.accepts(b"24:00:00") && !UtcTimeOnly.accepts(b"14:32:01."));
        assert!(Date.accepts(b"20260407") && !Date.accepts(b"20261301"));
        assert!(MonthYear.accepts(b"202604") && MonthYear.accepts(b"202604w2"));
        assert!(!MonthYear.accepts(b"2026"));
        assert!(Char.accepts(b"x") && !Char.accepts(b"xy"));
        assert!(!String.accepts(b"a\x01b") && Data.accepts(b"a\x01b"));
    }
}
