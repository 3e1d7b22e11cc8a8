//! Inbound validation for the Kraken profile: the FIX 4.4 dictionary in Kraken's dialect
//! (`tickwire_fix::dict::KRAKEN`), with the session Reject texts Kraken uses (SPEC §6.1):
//! `Missing mandatory field: Side (54)`, `Invalid value for tag 40: OrderType`. Other
//! violations keep QuickFIX's wording.

use tickwire_fix::dict::{self, SessionRejectReason, ValidationOptions};
use tickwire_fix::message::Message;
use tickwire_fix::session::Violation;

/// Kraken's names for the tags a client sends (40 is "OrderType" on Kraken).
const TEXTS: &[(u32, &str, &str)] = &[
    (
        11,
        "Missing mandatory field: ClOrdID (11)",
        "Invalid value for tag 11: ClOrdID",
    ),
    (
        18,
        "Missing mandatory field: ExecInst (18)",
        "Invalid value for tag 18: ExecInst",
    ),
    (
        37,
        "Missing mandatory field: OrderID (37)",
        "Invalid value for tag 37: OrderID",
    ),
    (
        38,
        "Missing mandatory field: OrderQty (38)",
        "Invalid value for tag 38: OrderQty",
    ),
    (
        40,
        "Missing mandatory field: OrderType (40)",
        "Invalid value for tag 40: OrderType",
    ),
    (
        41,
        "Missing mandatory field: OrigClOrdID (41)",
        "Invalid value for tag 41: OrigClOrdID",
    ),
    (
        44,
        "Missing mandatory field: Price (44)",
        "Invalid value for tag 44: Price",
    ),
    (
        54,
        "Missing mandatory field: Side (54)",
        "Invalid value for tag 54: Side",
    ),
    (
        55,
        "Missing mandatory field: Symbol (55)",
        "Invalid value for tag 55: Symbol",
    ),
    (
        59,
        "Missing mandatory field: TimeInForce (59)",
        "Invalid value for tag 59: TimeInForce",
    ),
    (
        60,
        "Missing mandatory field: TransactTime (60)",
        "Invalid value for tag 60: TransactTime",
    ),
    (
        99,
        "Missing mandatory field: StopPx (99)",
        "Invalid value for tag 99: StopPx",
    ),
    (
        126,
        "Missing mandatory field: ExpireTime (126)",
        "Invalid value for tag 126: ExpireTime",
    ),
    (
        146,
        "Missing mandatory field: NoRelatedSym (146)",
        "Invalid value for tag 146: NoRelatedSym",
    ),
    (
        262,
        "Missing mandatory field: MDReqID (262)",
        "Invalid value for tag 262: MDReqID",
    ),
    (
        263,
        "Missing mandatory field: SubscriptionRequestType (263)",
        "Invalid value for tag 263: SubscriptionRequestType",
    ),
    (
        264,
        "Missing mandatory field: MarketDepth (264)",
        "Invalid value for tag 264: MarketDepth",
    ),
    (
        267,
        "Missing mandatory field: NoMDEntryTypes (267)",
        "Invalid value for tag 267: NoMDEntryTypes",
    ),
    (
        269,
        "Missing mandatory field: MDEntryType (269)",
        "Invalid value for tag 269: MDEntryType",
    ),
    (
        320,
        "Missing mandatory field: InstrumentReqID (320)",
        "Invalid value for tag 320: InstrumentReqID",
    ),
    (
        335,
        "Missing mandatory field: TradSesReqID (335)",
        "Invalid value for tag 335: TradSesReqID",
    ),
    (
        336,
        "Missing mandatory field: TradingSessionID (336)",
        "Invalid value for tag 336: TradingSessionID",
    ),
    (
        388,
        "Missing mandatory field: DiscretionInst (388)",
        "Invalid value for tag 388: DiscretionInst",
    ),
    (
        530,
        "Missing mandatory field: MassCancelRequestType (530)",
        "Invalid value for tag 530: MassCancelRequestType",
    ),
    (
        559,
        "Missing mandatory field: InstrumentListRequestType (559)",
        "Invalid value for tag 559: InstrumentListRequestType",
    ),
    (
        1138,
        "Missing mandatory field: DisplayQty (1138)",
        "Invalid value for tag 1138: DisplayQty",
    ),
    (
        7928,
        "Missing mandatory field: SelfTradePrevention (7928)",
        "Invalid value for tag 7928: SelfTradePrevention",
    ),
];

/// The text Kraken puts on a session Reject for a missing tag.
pub fn missing_text(tag: u32) -> &'static str {
    TEXTS
        .iter()
        .find(|t| t.0 == tag)
        .map_or("Required tag missing", |t| t.1)
}

/// The text Kraken puts on a session Reject for a bad value.
pub fn invalid_text(tag: u32) -> &'static str {
    TEXTS
        .iter()
        .find(|t| t.0 == tag)
        .map_or("Value is incorrect (out of range) for this tag", |t| t.2)
}

const OPTIONS: ValidationOptions = ValidationOptions {
    allow_unknown_tags: false,
    allow_kraken_tags: true,
    check_field_order: true,
    undefined_tag: SessionRejectReason::InvalidTagNumber,
};

/// The session layer's validator for Kraken-profile sessions.
///
/// # Errors
/// The first violation, with Kraken's text where Kraken documents one.
pub fn validate_kraken(msg: &Message<'_>) -> Result<(), Violation> {
    let v = match dict::validate(msg, &dict::KRAKEN, &OPTIONS) {
        Ok(()) => return Ok(()),
        Err(v) => v,
    };
    let tag = v.ref_tag.and_then(|t| u32::try_from(t).ok());
    let text = match (v.reason, tag) {
        (SessionRejectReason::RequiredTagMissing, Some(t)) => missing_text(t),
        (SessionRejectReason::ValueIsIncorrect, Some(t)) => invalid_text(t),
        _ => v.text(),
    };
    Err(Violation {
        reason: v.code(),
        ref_tag: v.ref_tag,
        text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tickwire_fix::message::FieldIndex;

    fn check(raw: &str) -> Result<(), Violation> {
        let bytes = raw.replace('|', "\x01");
        let mut idx = FieldIndex::<128>::new();
        let m = Message::parse(bytes.as_bytes(), &mut idx).expect("parse");
        validate_kraken(&m)
    }

    #[test]
    fn kraken_texts_for_missing_side_and_bad_ordtype() {
        // M14's request: NewOrderSingle without Side (checksum is not re-checked here).
        let e = check("8=FIX.4.4|9=1|35=D|34=7|49=TESTCLIENT|56=KRAKEN-TRD|52=20260407-14:32:18.000|11=1775572338000000|55=BTC/USD|40=2|44=84000.0|38=0.01|59=1|60=20260407-14:32:18.000|10=000|")
            .expect_err("no side");
        assert_eq!(
            (e.reason, e.ref_tag, e.text),
            (1, Some(54), "Missing mandatory field: Side (54)")
        );
        let e = check("8=FIX.4.4|9=1|35=D|34=7|49=TESTCLIENT|56=KRAKEN-TRD|52=20260407-14:32:18.000|11=1775572338000000|55=BTC/USD|54=1|40=Z|44=84000.0|38=0.01|59=1|60=20260407-14:32:18.000|10=000|")
            .expect_err("bad type");
        assert_eq!(
            (e.reason, e.ref_tag, e.text),
            (5, Some(40), "Invalid value for tag 40: OrderType")
        );
    }

    #[test]
    fn spec_order_passes() {
        check("8=FIX.4.4|9=165|35=D|34=2|49=TESTCLIENT|56=KRAKEN-TRD|52=20260407-14:32:05.000|11=1775572325000000|55=BTC/USD|54=1|40=2|44=84000.0|38=0.01|59=1|18=P|7928=1|60=20260407-14:32:05.000|10=067|")
            .expect("M05 is valid");
    }
}
