//! FIX tag numbers, named after the FIX 4.4 field (SCREAMING_CASE of the field name).
//!
//! Every tag the Kraken dialect (SPEC §3–§4, including the custom tags of §4.0.4) and the FIX 4.4
//! messages tickwire validates use lives here, so code reads `tags::LAST_PX` instead of `31`.
//! Where Kraken renames a standard field (e.g. 320 "InstrumentReqID") the FIX 4.4 name is kept
//! and Kraken's name is given in the doc comment.
//!
//! Tag numbers are `u32` because that is what [`crate::parse::Message`] indexes.

/// Defines `pub const NAME: u32 = number;` items with their doc comments.
macro_rules! tags {
    ($($(#[$m:meta])* $name:ident = $num:literal;)*) => {
        $($(#[$m])* pub const $name: u32 = $num;)*

        /// Every tag of this module as (number, FIX field name), in ascending tag order.
        pub const ALL: &[(u32, &str)] = &[$(($num, stringify!($name))),*];
    };
}

tags! {
    // ── Standard header and trailer ────────────────────────────────────────────────────────
    /// AvgPx (6): average price of all fills.
    AVG_PX = 6;
    /// BeginSeqNo (7): first message to resend.
    BEGIN_SEQ_NO = 7;
    /// BeginString (8): `FIX.4.4`; always the first field.
    BEGIN_STRING = 8;
    /// BodyLength (9): bytes from after this field to before `10=`; always the second field.
    BODY_LENGTH = 9;
    /// CheckSum (10): byte sum modulo 256 as three digits; always the last field.
    CHECK_SUM = 10;
    /// ClOrdID (11).
    CL_ORD_ID = 11;
    /// CumQty (14).
    CUM_QTY = 14;
    /// Currency (15).
    CURRENCY = 15;
    /// EndSeqNo (16): last message to resend, 0 for "to the latest".
    END_SEQ_NO = 16;
    /// ExecID (17).
    EXEC_ID = 17;
    /// ExecInst (18): space-separated flags (`E` reduce-only, `P` post-only, …).
    EXEC_INST = 18;
    /// HandlInst (21).
    HANDL_INST = 21;
    /// SecurityIDSource (22).
    SECURITY_ID_SOURCE = 22;
    /// LastPx (31).
    LAST_PX = 31;
    /// LastQty (32).
    LAST_QTY = 32;
    /// MsgSeqNum (34).
    MSG_SEQ_NUM = 34;
    /// MsgType (35): always the third field.
    MSG_TYPE = 35;
    /// NewSeqNo (36).
    NEW_SEQ_NO = 36;
    /// OrderID (37).
    ORDER_ID = 37;
    /// OrderQty (38).
    ORDER_QTY = 38;
    /// OrdStatus (39).
    ORD_STATUS = 39;
    /// OrdType (40); Kraken calls it "OrderType".
    ORD_TYPE = 40;
    /// OrigClOrdID (41).
    ORIG_CL_ORD_ID = 41;
    /// PossDupFlag (43).
    POSS_DUP_FLAG = 43;
    /// Price (44).
    PRICE = 44;
    /// RefSeqNum (45).
    REF_SEQ_NUM = 45;
    /// SecurityID (48).
    SECURITY_ID = 48;
    /// SenderCompID (49).
    SENDER_COMP_ID = 49;
    /// SenderSubID (50).
    SENDER_SUB_ID = 50;
    /// SendingTime (52).
    SENDING_TIME = 52;
    /// Side (54).
    SIDE = 54;
    /// Symbol (55).
    SYMBOL = 55;
    /// TargetCompID (56).
    TARGET_COMP_ID = 56;
    /// TargetSubID (57).
    TARGET_SUB_ID = 57;
    /// Text (58).
    TEXT = 58;
    /// TimeInForce (59).
    TIME_IN_FORCE = 59;
    /// TransactTime (60).
    TRANSACT_TIME = 60;
    /// ValidUntilTime (62).
    VALID_UNTIL_TIME = 62;
    /// SettlType (63).
    SETTL_TYPE = 63;
    /// SymbolSfx (65).
    SYMBOL_SFX = 65;
    /// NoAllocs (78).
    NO_ALLOCS = 78;
    /// AllocAccount (79).
    ALLOC_ACCOUNT = 79;
    /// AllocQty (80).
    ALLOC_QTY = 80;
    /// Signature (89).
    SIGNATURE = 89;
    /// SecureDataLen (90).
    SECURE_DATA_LEN = 90;
    /// SecureData (91).
    SECURE_DATA = 91;
    /// SignatureLength (93).
    SIGNATURE_LENGTH = 93;
    /// RawDataLength (95).
    RAW_DATA_LENGTH = 95;
    /// RawData (96).
    RAW_DATA = 96;
    /// PossResend (97).
    POSS_RESEND = 97;
    /// EncryptMethod (98).
    ENCRYPT_METHOD = 98;
    /// StopPx (99).
    STOP_PX = 99;
    /// ExDestination (100).
    EX_DESTINATION = 100;
    /// Issuer (106).
    ISSUER = 106;
    /// SecurityDesc (107).
    SECURITY_DESC = 107;
    /// HeartBtInt (108).
    HEART_BT_INT = 108;
    /// ClientID (109).
    CLIENT_ID = 109;
    /// MinQty (110).
    MIN_QTY = 110;
    /// MaxFloor (111).
    MAX_FLOOR = 111;
    /// TestReqID (112).
    TEST_REQ_ID = 112;
    /// LocateReqd (114).
    LOCATE_REQD = 114;
    /// OnBehalfOfCompID (115).
    ON_BEHALF_OF_COMP_ID = 115;
    /// OnBehalfOfSubID (116).
    ON_BEHALF_OF_SUB_ID = 116;
    /// QuoteID (117).
    QUOTE_ID = 117;
    /// NetMoney (118).
    NET_MONEY = 118;
    /// OrigSendingTime (122).
    ORIG_SENDING_TIME = 122;
    /// GapFillFlag (123); Kraken labels it "SequenceReset".
    GAP_FILL_FLAG = 123;
    /// ExpireTime (126).
    EXPIRE_TIME = 126;
    /// DeliverToCompID (128).
    DELIVER_TO_COMP_ID = 128;
    /// DeliverToSubID (129).
    DELIVER_TO_SUB_ID = 129;
    /// NoMiscFees (136).
    NO_MISC_FEES = 136;
    /// MiscFeeAmt (137).
    MISC_FEE_AMT = 137;
    /// MiscFeeCurr (138).
    MISC_FEE_CURR = 138;
    /// MiscFeeType (139).
    MISC_FEE_TYPE = 139;
    /// ResetSeqNumFlag (141).
    RESET_SEQ_NUM_FLAG = 141;
    /// SenderLocationID (142).
    SENDER_LOCATION_ID = 142;
    /// TargetLocationID (143).
    TARGET_LOCATION_ID = 143;
    /// OnBehalfOfLocationID (144).
    ON_BEHALF_OF_LOCATION_ID = 144;
    /// DeliverToLocationID (145).
    DELIVER_TO_LOCATION_ID = 145;
    /// NoRelatedSym (146).
    NO_RELATED_SYM = 146;
    /// ExecType (150).
    EXEC_TYPE = 150;
    /// LeavesQty (151).
    LEAVES_QTY = 151;
    /// CashOrderQty (152).
    CASH_ORDER_QTY = 152;
    /// SecurityType (167).
    SECURITY_TYPE = 167;
    /// EffectiveTime (168).
    EFFECTIVE_TIME = 168;
    /// SecondaryOrderID (198).
    SECONDARY_ORDER_ID = 198;
    /// MaturityMonthYear (200).
    MATURITY_MONTH_YEAR = 200;
    /// SecurityExchange (207).
    SECURITY_EXCHANGE = 207;
    /// MaxShow (210).
    MAX_SHOW = 210;
    /// PegOffsetValue (211).
    PEG_OFFSET_VALUE = 211;
    /// XmlDataLen (212).
    XML_DATA_LEN = 212;
    /// XmlData (213).
    XML_DATA = 213;
    /// MDReqID (262).
    MD_REQ_ID = 262;
    /// SubscriptionRequestType (263).
    SUBSCRIPTION_REQUEST_TYPE = 263;
    /// MarketDepth (264).
    MARKET_DEPTH = 264;
    /// MDUpdateType (265).
    MD_UPDATE_TYPE = 265;
    /// AggregatedBook (266).
    AGGREGATED_BOOK = 266;
    /// NoMDEntryTypes (267).
    NO_MD_ENTRY_TYPES = 267;
    /// NoMDEntries (268).
    NO_MD_ENTRIES = 268;
    /// MDEntryType (269).
    MD_ENTRY_TYPE = 269;
    /// MDEntryPx (270).
    MD_ENTRY_PX = 270;
    /// MDEntrySize (271).
    MD_ENTRY_SIZE = 271;
    /// MDEntryDate (272).
    MD_ENTRY_DATE = 272;
    /// MDEntryTime (273).
    MD_ENTRY_TIME = 273;
    /// MDEntryID (278).
    MD_ENTRY_ID = 278;
    /// MDUpdateAction (279).
    MD_UPDATE_ACTION = 279;
    /// MDEntryRefID (280).
    MD_ENTRY_REF_ID = 280;
    /// MDReqRejReason (281).
    MD_REQ_REJ_REASON = 281;
    /// MDEntryPositionNo (290).
    MD_ENTRY_POSITION_NO = 290;
    /// SecurityReqID (320); Kraken calls it "InstrumentReqID".
    SECURITY_REQ_ID = 320;
    /// SecurityResponseID (322); Kraken calls it "InstrumentResponseID".
    SECURITY_RESPONSE_ID = 322;
    /// SecurityResponseType (323).
    SECURITY_RESPONSE_TYPE = 323;
    /// TradSesReqID (335).
    TRAD_SES_REQ_ID = 335;
    /// TradingSessionID (336).
    TRADING_SESSION_ID = 336;
    /// TradSesStatus (340).
    TRAD_SES_STATUS = 340;
    /// NumberOfOrders (346).
    NUMBER_OF_ORDERS = 346;
    /// MessageEncoding (347).
    MESSAGE_ENCODING = 347;
    /// EncodedTextLen (354).
    ENCODED_TEXT_LEN = 354;
    /// EncodedText (355).
    ENCODED_TEXT = 355;
    /// LastMsgSeqNumProcessed (369).
    LAST_MSG_SEQ_NUM_PROCESSED = 369;
    /// RefTagID (371).
    REF_TAG_ID = 371;
    /// RefMsgType (372).
    REF_MSG_TYPE = 372;
    /// SessionRejectReason (373).
    SESSION_REJECT_REASON = 373;
    /// ExecRestatementReason (378).
    EXEC_RESTATEMENT_REASON = 378;
    /// BusinessRejectRefID (379).
    BUSINESS_REJECT_REF_ID = 379;
    /// BusinessRejectReason (380).
    BUSINESS_REJECT_REASON = 380;
    /// GrossTradeAmt (381).
    GROSS_TRADE_AMT = 381;
    /// MaxMessageSize (383).
    MAX_MESSAGE_SIZE = 383;
    /// NoMsgTypes (384).
    NO_MSG_TYPES = 384;
    /// MsgDirection (385).
    MSG_DIRECTION = 385;
    /// DiscretionInst (388).
    DISCRETION_INST = 388;
    /// DiscretionOffsetValue (389).
    DISCRETION_OFFSET_VALUE = 389;
    /// TotNoRelatedSym (393).
    TOT_NO_RELATED_SYM = 393;
    /// ExpireDate (432).
    EXPIRE_DATE = 432;
    /// PartyIDSource (447).
    PARTY_ID_SOURCE = 447;
    /// PartyID (448).
    PARTY_ID = 448;
    /// PartyRole (452).
    PARTY_ROLE = 452;
    /// NoPartyIDs (453).
    NO_PARTY_IDS = 453;
    /// NoSecurityAltID (454).
    NO_SECURITY_ALT_ID = 454;
    /// SecurityAltID (455).
    SECURITY_ALT_ID = 455;
    /// SecurityAltIDSource (456).
    SECURITY_ALT_ID_SOURCE = 456;
    /// TestMessageIndicator (464).
    TEST_MESSAGE_INDICATOR = 464;
    /// IndividualAllocID (467).
    INDIVIDUAL_ALLOC_ID = 467;
    /// PartySubID (523).
    PARTY_SUB_ID = 523;
    /// SecondaryClOrdID (526).
    SECONDARY_CL_ORD_ID = 526;
    /// SecondaryExecID (527).
    SECONDARY_EXEC_ID = 527;
    /// OrderCapacity (528).
    ORDER_CAPACITY = 528;
    /// OrderRestrictions (529).
    ORDER_RESTRICTIONS = 529;
    /// MassCancelRequestType (530).
    MASS_CANCEL_REQUEST_TYPE = 530;
    /// Username (553): the API key on Kraken trading sessions.
    USERNAME = 553;
    /// Password (554): Kraken's HMAC logon signature.
    PASSWORD = 554;
    /// SecurityListRequestType (559); Kraken calls it "InstrumentListRequestType".
    SECURITY_LIST_REQUEST_TYPE = 559;
    /// SecurityRequestResult (560); Kraken calls it "InstrumentRequestResult".
    SECURITY_REQUEST_RESULT = 560;
    /// RoundLot (561).
    ROUND_LOT = 561;
    /// MinTradeVol (562): Kraken's lot step.
    MIN_TRADE_VOL = 562;
    /// TradSesStatusRejReason (567).
    TRAD_SES_STATUS_REJ_REASON = 567;
    /// AccountType (581).
    ACCOUNT_TYPE = 581;
    /// ClOrdLinkID (583).
    CL_ORD_LINK_ID = 583;
    /// TradingSessionSubID (625).
    TRADING_SESSION_SUB_ID = 625;
    /// NoHops (627).
    NO_HOPS = 627;
    /// HopCompID (628).
    HOP_COMP_ID = 628;
    /// HopSendingTime (629).
    HOP_SENDING_TIME = 629;
    /// HopRefID (630).
    HOP_REF_ID = 630;
    /// AllocAcctIDSource (661).
    ALLOC_ACCT_ID_SOURCE = 661;
    /// AllocSettlCurrency (736).
    ALLOC_SETTL_CURRENCY = 736;
    /// OrdStatusReqID (790).
    ORD_STATUS_REQ_ID = 790;
    /// NoPartySubIDs (802).
    NO_PARTY_SUB_IDS = 802;
    /// ExpirationCycle (827).
    EXPIRATION_CYCLE = 827;
    /// MiscFeeBasis (891).
    MISC_FEE_BASIS = 891;
    /// LastFragment (893).
    LAST_FRAGMENT = 893;
    /// NewPassword (925).
    NEW_PASSWORD = 925;

    // ── FIX 5.0 tags Kraken uses on FIX 4.4 (SPEC §4.0.4) ─────────────────────────────────
    /// TradeID (1003): exchange trade id on fills.
    TRADE_ID = 1003;
    /// TriggerPrice (1102): the price that actually triggered a stop/take-profit/trailing order.
    TRIGGER_PRICE = 1102;
    /// DisplayQty (1138): iceberg visible quantity.
    DISPLAY_QTY = 1138;
    /// PricePrecision (2349): price decimals of an instrument.
    PRICE_PRECISION = 2349;
    /// AggressorSide (2446): taker side of a public trade.
    AGGRESSOR_SIDE = 2446;

    // ── Kraken custom tags (SPEC §4.0.4) ───────────────────────────────────────────────────
    /// Leverage (5001): spot margin 0/1.
    LEVERAGE = 5001;
    /// QtyPrecision (5010): quantity decimals.
    QTY_PRECISION = 5010;
    /// QtyMin (5011): minimum order quantity.
    QTY_MIN = 5011;
    /// QtyMax (5012): maximum order quantity.
    QTY_MAX = 5012;
    /// MinimumCost (5013): minimum price × quantity.
    MINIMUM_COST = 5013;
    /// TickSize (5022): price increment.
    TICK_SIZE = 5022;
    /// Nonce (5025): logon nonce.
    NONCE = 5025;
    /// ForceResetClOrdID (5030): reset the ClOrdID sequence at logon.
    FORCE_RESET_CL_ORD_ID = 5030;
    /// AssetPairStatus (5032): instrument status.
    ASSET_PAIR_STATUS = 5032;
    /// ChecksumOrderBook (5041): CRC32 of the top 10 book levels.
    CHECKSUM_ORDER_BOOK = 5041;
    /// LiquidityInd (5050): 0 maker, 1 taker.
    LIQUIDITY_IND = 5050;
    /// Rebased (5051): xStocks quantity mode.
    REBASED = 5051;
    /// MDPricePrecision (5052): price decimals on market-data feeds.
    MD_PRICE_PRECISION = 5052;
    /// MDEntryTimestamp (5060): L3 event time, ISO-8601 with ns.
    MD_ENTRY_TIMESTAMP = 5060;
    /// MDEntryTimeQueue (5273): L3 queue-entry time, ISO-8601 with ns.
    MD_ENTRY_TIME_QUEUE = 5273;
    /// SelfTradePrevention (7928): 0 cancel both, 1 cancel newest, 2 cancel oldest.
    SELF_TRADE_PREVENTION = 7928;
    /// CancelOrdersOnDisconnect (8674): 0 cancel (default), 1 keep.
    CANCEL_ORDERS_ON_DISCONNECT = 8674;
}

/// Kraken's tags outside the FIX 4.4 dictionary (SPEC §4.0.4), ascending.
pub const KRAKEN_CUSTOM: &[u32] = &[
    TRADE_ID,
    TRIGGER_PRICE,
    DISPLAY_QTY,
    PRICE_PRECISION,
    AGGRESSOR_SIDE,
    LEVERAGE,
    QTY_PRECISION,
    QTY_MIN,
    QTY_MAX,
    MINIMUM_COST,
    TICK_SIZE,
    NONCE,
    FORCE_RESET_CL_ORD_ID,
    ASSET_PAIR_STATUS,
    CHECKSUM_ORDER_BOOK,
    LIQUIDITY_IND,
    REBASED,
    MD_PRICE_PRECISION,
    MD_ENTRY_TIMESTAMP,
    MD_ENTRY_TIME_QUEUE,
    SELF_TRADE_PREVENTION,
    CANCEL_ORDERS_ON_DISCONNECT,
];

/// The FIX field name of `tag` when this module names it (`"LAST_PX"` style).
pub fn name(tag: u32) -> Option<&'static str> {
    ALL.binary_search_by_key(&tag, |&(t, _)| t)
        .ok()
        .map(|i| ALL[i].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        // `name` relies on binary search.
        assert!(
            ALL.windows(2).all(|w| w[0].0 < w[1].0),
            "tags out of order or repeated: {:?}",
            ALL.windows(2).find(|w| w[0].0 >= w[1].0)
        );
        assert!(KRAKEN_CUSTOM.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn names_resolve() {
        assert_eq!(name(31), Some("LAST_PX"));
        assert_eq!(name(5041), Some("CHECKSUM_ORDER_BOOK"));
        assert_eq!(name(4), None);
        assert!(KRAKEN_CUSTOM.iter().all(|&t| name(t).is_some()));
    }
}
