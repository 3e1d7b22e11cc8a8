//! A compact FIX 4.4 dictionary and message validation, as static tables.
//!
//! It covers the header and trailer and the messages tickwire and its venue exchange (session
//! messages, orders, execution reports, market data, instrument list, trading session status,
//! SecurityDefinition for the conformance profile), plus Kraken's custom tags. Tags from 1 to
//! 956 that are not listed are treated as defined FIX 4.4 fields of free-text type, so the
//! "invalid tag" verdict is exact for tags outside that range and approximate inside it.
//!
//! [`validate_fix44`] returns the first broken rule as a [`Violation`] carrying the
//! SessionRejectReason (373), the RefTagID (371) and QuickFIX's text, in QuickFIX's order of
//! checks: values present, tag numbers valid, formats, enumerations, tags allowed in the message
//! type, tags not repeated, required tags present, group counts.

use crate::decimal::Decimal;
use crate::message::{parse_uint, FieldRef, Message, INVALID_TAG};
use crate::session::Violation;
use crate::time::UtcTimestamp;

/// Value types that validation distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// Signed integer (also SeqNum, Length, NumInGroup).
    Int,
    /// Decimal number (Price, Qty, Amt, Float).
    Float,
    /// One character.
    Char,
    /// `Y` or `N`.
    Boolean,
    /// UTCTimestamp.
    UtcTimestamp,
    /// Anything printable.
    String,
}

const HEADER_REQUIRED: &[u32] = &[8, 9, 35, 49, 56, 34, 52];
const HEADER_OPTIONAL: &[u32] = &[
    43, 97, 122, 115, 128, 116, 129, 144, 145, 50, 57, 142, 143, 212, 213, 347, 369, 627, 90, 91,
];
const TRAILER: &[u32] = &[10, 93, 89];

/// Kraken's tags outside the FIX 4.4 dictionary (SPEC §4.0.4) and 109 ClientID use.
pub const KRAKEN_TAGS: &[u32] = &[
    1003, 1102, 1138, 2349, 2446, 5001, 5010, 5011, 5012, 5013, 5022, 5025, 5030, 5032, 5041, 5050,
    5051, 5052, 5060, 5273, 7928, 8674,
];

/// The value type of a tag, when the dictionary knows it.
pub fn field_type(tag: u32) -> Option<FieldType> {
    use FieldType::*;
    Some(match tag {
        7 | 9 | 16 | 34 | 36 | 45 | 78 | 95 | 98 | 108 | 136 | 139 | 146 | 264 | 265 | 267
        | 268 | 323 | 354 | 371 | 373 | 380 | 383 | 384 | 393 | 453 | 454 | 527 | 530 | 559
        | 560 | 567 | 2349 | 2446 | 5010 | 5032 | 5041 | 5050 | 5052 | 7928 | 8674 | 340 => Int,
        6 | 14 | 31 | 32 | 38 | 44 | 99 | 110 | 111 | 118 | 137 | 151 | 152 | 210 | 270 | 271
        | 381 | 562 | 1102 | 1138 | 5011 | 5012 | 5013 | 5022 => Float,
        21 | 39 | 40 | 54 | 59 | 150 | 263 | 269 | 279 | 281 | 388 | 891 => Char,
        43 | 97 | 123 | 141 | 266 | 893 | 5030 | 5051 => Boolean,
        52 | 60 | 62 | 122 | 126 | 168 => UtcTimestamp,
        _ if known_string(tag) => String,
        _ => return None,
    })
}

fn known_string(tag: u32) -> bool {
    (1..=956).contains(&tag) || KRAKEN_TAGS.contains(&tag) || tag == 109 || tag == 553 || tag == 554
}

/// Allowed values of enumerated tags.
fn enum_values(tag: u32) -> Option<&'static [&'static [u8]]> {
    Some(match tag {
        21 => &[b"1", b"2", b"3"],
        40 => &[
            b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9", b"A", b"B", b"C", b"D", b"E",
            b"F", b"G", b"H", b"I", b"J", b"K", b"L", b"M", b"P", b"R", b"T", b"U", b"V",
        ],
        54 => &[
            b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9", b"A", b"B", b"C", b"D", b"E",
            b"F", b"G",
        ],
        59 => &[b"0", b"1", b"2", b"3", b"4", b"5", b"6", b"7"],
        98 => &[b"0", b"1", b"2", b"3", b"4", b"5", b"6"],
        150 => &[
            b"0", b"3", b"4", b"5", b"6", b"7", b"8", b"9", b"A", b"B", b"C", b"D", b"E", b"F",
            b"G", b"H", b"I",
        ],
        39 => &[
            b"0", b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9", b"A", b"B", b"C", b"D",
            b"E",
        ],
        167 => &[
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
        ],
        263 => &[b"0", b"1", b"2"],
        269 => &[
            b"0", b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9", b"A", b"B", b"C", b"D",
            b"E", b"F", b"G", b"H", b"J", b"K", b"L", b"M", b"N", b"O", b"P", b"Q",
        ],
        279 => &[b"0", b"1", b"2", b"3", b"4", b"5"],
        373 => &[
            b"0", b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9", b"10", b"11", b"12", b"13",
            b"14", b"15", b"16", b"17", b"99",
        ],
        _ => return None,
    })
}

/// A repeating group: its NumInGroup tag, first (delimiter) tag and member tags.
#[derive(Debug, Clone, Copy)]
pub struct GroupDef {
    /// NumInGroup tag.
    pub count: u32,
    /// First field of every entry.
    pub delimiter: u32,
    /// Fields an entry may hold (the delimiter included).
    pub members: &'static [u32],
}

/// What one message type requires and allows in its body.
#[derive(Debug, Clone, Copy)]
pub struct MessageDef {
    /// Body tags that must be present, in the order they are checked.
    pub required: &'static [u32],
    /// Other body tags that may appear.
    pub optional: &'static [u32],
    /// Repeating groups of the body.
    pub groups: &'static [GroupDef],
}

const MD_ENTRY_TYPES: GroupDef = GroupDef {
    count: 267,
    delimiter: 269,
    members: &[269],
};
const RELATED_SYM: GroupDef = GroupDef {
    count: 146,
    delimiter: 55,
    members: &[55, 65, 48, 22, 167, 207],
};
const MD_ENTRIES_W: GroupDef = GroupDef {
    count: 268,
    delimiter: 269,
    members: &[269, 270, 271, 272, 273, 278, 290, 15, 346, 5060, 5273],
};
const MD_ENTRIES_X: GroupDef = GroupDef {
    count: 268,
    delimiter: 279,
    members: &[
        279, 269, 278, 280, 55, 270, 271, 272, 273, 290, 346, 40, 2446, 5060, 5273,
    ],
};
const INSTRUMENTS: GroupDef = GroupDef {
    count: 146,
    delimiter: 55,
    members: &[
        55, 562, 5010, 5011, 5012, 5013, 2349, 5052, 5022, 5032, 167, 15,
    ],
};
const UNDERLYINGS: GroupDef = GroupDef {
    count: 454,
    delimiter: 455,
    members: &[455, 456],
};
const MISC_FEES: GroupDef = GroupDef {
    count: 136,
    delimiter: 137,
    members: &[137, 138, 139, 891],
};
const ALLOCS: GroupDef = GroupDef {
    count: 78,
    delimiter: 79,
    members: &[79, 661, 736, 467, 80],
};
const PARTIES: GroupDef = GroupDef {
    count: 453,
    delimiter: 448,
    members: &[448, 447, 452, 802],
};
const MSG_TYPES: GroupDef = GroupDef {
    count: 384,
    delimiter: 372,
    members: &[372, 385],
};

const ORDER_FIELDS: &[u32] = &[
    1, 11, 15, 18, 21, 22, 37, 38, 40, 41, 44, 48, 54, 55, 58, 59, 60, 62, 65, 99, 100, 110, 111,
    114, 117, 126, 152, 167, 168, 207, 210, 211, 388, 389, 432, 526, 528, 529, 583, 1138, 5001,
    7928,
];

/// The definition of `msg_type`, if the dictionary knows it.
pub fn message_def(msg_type: &[u8]) -> Option<MessageDef> {
    let def = |required: &'static [u32], optional: &'static [u32], groups: &'static [GroupDef]| {
        MessageDef {
            required,
            optional,
            groups,
        }
    };
    Some(match msg_type {
        b"0" => def(&[], &[112], &[]),
        b"1" => def(&[112], &[], &[]),
        b"2" => def(&[7, 16], &[], &[]),
        b"3" => def(&[45], &[371, 372, 373, 58, 354, 355], &[]),
        b"4" => def(&[36], &[123], &[]),
        b"5" => def(&[], &[58, 354, 355], &[]),
        b"A" => def(
            &[98, 108],
            &[
                95, 96, 109, 141, 383, 464, 553, 554, 925, 5025, 5030, 5051, 8674,
            ],
            &[MSG_TYPES],
        ),
        b"D" => def(&[11, 55, 54, 60, 40], ORDER_FIELDS, &[ALLOCS, PARTIES]),
        b"F" => def(&[11, 55, 54, 60], ORDER_FIELDS, &[PARTIES]),
        b"G" => def(&[11, 55, 54, 60, 40], ORDER_FIELDS, &[ALLOCS, PARTIES]),
        b"H" => def(&[11], &[37, 54, 55, 60, 790], &[PARTIES]),
        b"q" => def(&[11, 530, 60], &[55, 54, 58, 167], &[PARTIES]),
        b"8" => def(
            &[37, 17, 150, 39, 55, 54, 151, 14, 6],
            &[
                1, 11, 18, 31, 32, 38, 40, 41, 44, 58, 59, 60, 99, 103, 118, 126, 167, 378, 381,
                527, 1003, 1102, 1138, 5050, 790,
            ],
            &[MISC_FEES, ALLOCS, PARTIES],
        ),
        b"j" => def(&[372, 380], &[45, 58, 354, 355, 379], &[]),
        b"d" => def(
            &[320, 322, 323],
            &[
                15, 22, 48, 55, 58, 107, 167, 336, 354, 355, 561, 562, 625, 827,
            ],
            &[UNDERLYINGS],
        ),
        b"V" => def(
            &[262, 263, 264],
            &[265, 266],
            &[MD_ENTRY_TYPES, RELATED_SYM],
        ),
        b"W" => def(&[262, 55], &[48, 22, 167], &[MD_ENTRIES_W]),
        b"X" => def(&[262], &[55, 5041], &[MD_ENTRIES_X]),
        b"Y" => def(&[262], &[281, 58], &[]),
        b"x" => def(&[320, 559], &[263, 55, 167, 15], &[]),
        b"y" => def(&[320, 322, 560], &[58, 393, 893], &[INSTRUMENTS]),
        b"g" => def(&[335, 336], &[263], &[]),
        b"h" => def(&[336, 340], &[335, 567, 58], &[]),
        _ => return None,
    })
}

const fn violation(reason: u32, ref_tag: u32, text: &'static str) -> Violation {
    Violation {
        reason,
        ref_tag: Some(ref_tag as i64),
        text,
    }
}

fn check_format(ty: FieldType, value: &[u8]) -> bool {
    match ty {
        FieldType::Int => {
            let digits = value.strip_prefix(b"-").unwrap_or(value);
            parse_uint(digits).is_some()
        }
        FieldType::Float => Decimal::parse(value).is_ok(),
        FieldType::Char => value.len() == 1,
        FieldType::Boolean => value == b"Y" || value == b"N",
        FieldType::UtcTimestamp => UtcTimestamp::parse(value).is_ok(),
        FieldType::String => true,
    }
}

fn group_of(def: &MessageDef, tag: u32) -> Option<&'static GroupDef> {
    def.groups
        .iter()
        .find(|g| g.members.contains(&tag) || g.count == tag)
}

fn in_group(def: &MessageDef, tag: u32) -> bool {
    def.groups.iter().any(|g| g.members.contains(&tag))
}

/// Validates `msg` against the FIX 4.4 dictionary above (with Kraken's tags allowed).
///
/// # Errors
/// The first [`Violation`] found.
pub fn validate_fix44(msg: &Message<'_>) -> Result<(), Violation> {
    let fields = msg.fields();
    // 1. Every tag a valid number, every field with a value.
    for f in fields {
        if f.tag == INVALID_TAG {
            let text = msg.tag_text(*f);
            let n = core::str::from_utf8(text)
                .ok()
                .and_then(|t| t.parse::<i64>().ok())
                .unwrap_or(0);
            return Err(Violation {
                reason: 0,
                ref_tag: Some(n),
                text: "Invalid tag number",
            });
        }
        if f.len == 0 {
            return Err(violation(4, f.tag, "Tag specified without a value"));
        }
        if field_type(f.tag).is_none() {
            return Err(violation(0, f.tag, "Invalid tag number"));
        }
    }
    let msg_type = msg.msg_type();
    let Some(def) = message_def(msg_type) else {
        return Err(violation(11, 35, "Invalid MsgType"));
    };
    // 2. Formats and enumerations.
    for f in fields {
        let value = msg.value(*f);
        if let Some(ty) = field_type(f.tag) {
            if !check_format(ty, value) {
                return Err(violation(6, f.tag, "Incorrect data format for value"));
            }
        }
        if let Some(values) = enum_values(f.tag) {
            if !values.contains(&value) {
                return Err(violation(
                    5,
                    f.tag,
                    "Value is incorrect (out of range) for this tag",
                ));
            }
        }
    }
    // 3. Body tags allowed for this message type; no repeats outside groups.
    for (i, f) in fields.iter().enumerate() {
        let t = f.tag;
        let header_or_trailer =
            HEADER_REQUIRED.contains(&t) || HEADER_OPTIONAL.contains(&t) || TRAILER.contains(&t);
        if !header_or_trailer
            && !def.required.contains(&t)
            && !def.optional.contains(&t)
            && group_of(&def, t).is_none()
            && !KRAKEN_TAGS.contains(&t)
        {
            return Err(violation(2, t, "Tag not defined for this message type"));
        }
        if !in_group(&def, t) && fields[..i].iter().any(|p| p.tag == t) {
            return Err(violation(13, t, "Tag appears more than once"));
        }
    }
    // 4. Required tags.
    for &t in HEADER_REQUIRED.iter().chain(def.required) {
        if !fields.iter().any(|f| f.tag == t) {
            return Err(violation(1, t, "Required tag missing"));
        }
    }
    // 5. Group counts match their entries.
    for g in def.groups {
        if let Some(count_field) = fields.iter().find(|f| f.tag == g.count) {
            let declared = parse_uint(msg.value(*count_field)).unwrap_or(u64::MAX);
            let actual = msg.group(g.count, g.delimiter, g.members).count() as u64;
            if declared != actual {
                return Err(violation(
                    16,
                    g.count,
                    "Incorrect NumInGroup count for repeating group",
                ));
            }
        }
    }
    Ok(())
}

/// The first field of `msg` with `tag`, as a field reference.
pub fn find(msg: &Message<'_>, tag: u32) -> Option<FieldRef> {
    msg.fields().iter().copied().find(|f| f.tag == tag)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::FieldIndex;

    fn check(text: &str) -> Result<(), Violation> {
        let raw = text.replace('|', "\x01").into_bytes();
        let mut idx = FieldIndex::<128>::new();
        let msg = Message::parse(&raw, &mut idx).expect("parses");
        validate_fix44(&msg)
    }

    const HB: &str = "8=FIX.4.4|9=1|35=0|34=2|49=A|52=20260407-14:32:01|56=B|";

    #[test]
    fn accepts_valid_messages() {
        assert_eq!(check(&format!("{HB}10=000|")), Ok(()));
        assert_eq!(
            check("8=FIX.4.4|9=1|35=D|34=2|49=A|52=20260407-14:32:01|56=B|11=X|21=1|38=200|40=2|44=1.5|54=1|55=INTC|60=20260407-14:32:01|10=000|"),
            Ok(())
        );
    }

    #[test]
    fn reports_each_rule_with_quickfix_reason() {
        let reason = |r: Result<(), Violation>| r.err().map(|v| (v.reason, v.ref_tag));
        assert_eq!(
            reason(check(&format!("{HB}999=HI|10=000|"))),
            Some((0, Some(999)))
        );
        assert_eq!(
            reason(check(&format!("{HB}-1=HI|10=000|"))),
            Some((0, Some(-1)))
        );
        assert_eq!(
            reason(check(&format!("{HB}55=MSFT|10=000|"))),
            Some((2, Some(55)))
        );
        assert_eq!(
            reason(check(
                "8=FIX.4.4|9=1|35=0|34=2|49=A|52=20260407-14:32:01|56=|10=000|"
            )),
            Some((4, Some(56)))
        );
        assert_eq!(
            reason(check(
                "8=FIX.4.4|9=1|35=0|34=2|49=A|52=20260407-14:32:01|10=000|"
            )),
            Some((1, Some(56)))
        );
        assert_eq!(
            reason(check("8=FIX.4.4|9=1|35=D|34=2|49=A|52=20260407-14:32:01|56=B|11=X|21=4|40=1|54=1|55=I|60=20260407-14:32:01|10=000|")),
            Some((5, Some(21)))
        );
        assert_eq!(
            reason(check("8=FIX.4.4|9=1|35=D|34=2|49=A|52=20260407-14:32:01|56=B|11=X|38=+2|40=1|54=1|55=I|60=20260407-14:32:01|10=000|")),
            Some((6, Some(38)))
        );
        assert_eq!(
            reason(check("8=FIX.4.4|9=1|35=D|34=2|49=A|52=20260407-14:32:01|56=B|11=X|40=1|40=2|54=1|55=I|60=20260407-14:32:01|10=000|")),
            Some((13, Some(40)))
        );
        assert_eq!(
            reason(check("8=FIX.4.4|9=1|35=V|34=2|49=A|52=20260407-14:32:01|56=B|262=R|263=1|264=10|267=2|269=0|146=1|55=X|10=000|")),
            Some((16, Some(267)))
        );
        assert_eq!(
            reason(check(
                "8=FIX.4.4|9=1|35=ZZ|34=2|49=A|52=20260407-14:32:01|56=B|10=000|"
            )),
            Some((11, Some(35)))
        );
    }
}
