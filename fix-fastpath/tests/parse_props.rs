//! The inbound codec on hostile and on generated input.
//!
//! - Framing: partial messages, several messages in one buffer, garbage before a message, bad
//!   checksum, wrong BodyLength, a lost SOH, a huge BodyLength, non-digit tags; a stream split at
//!   arbitrary points is reassembled into the same messages.
//! - Properties: arbitrary bytes never panic the framer, the indexer, validation or any view;
//!   valid generated messages frame, parse and give back every field in order.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use tickwire_fix::dict::{self, ValidationOptions};
use tickwire_fix::parse::{
    frame, frame_with, resync, FieldIndex, FrameConfig, FrameError, Message, ParseError, SOH,
};
use tickwire_fix::views::*;

/// A complete message with BodyLength and CheckSum computed: `body` is `35=…|…|` with `|` for SOH.
fn build(body: &str) -> Vec<u8> {
    build_bytes(b"FIX.4.4", &body.replace('|', "\x01").into_bytes())
}

fn build_bytes(begin: &[u8], body: &[u8]) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(b"8=");
    m.extend_from_slice(begin);
    m.push(SOH);
    m.extend_from_slice(format!("9={}\x01", body.len()).as_bytes());
    m.extend_from_slice(body);
    let sum = m.iter().map(|&b| u32::from(b)).sum::<u32>() % 256;
    m.extend_from_slice(format!("10={sum:03}\x01").as_bytes());
    m
}

const HB: &str = "35=0|34=2|49=KRAKEN-TRD|56=TESTCLIENT|52=20260407-14:33:20.000|";
const ER: &str = "35=8|34=3|49=KRAKEN-TRD|56=TESTCLIENT|52=20260407-14:32:07.250|6=84000.0|11=1|14=0.004|17=E|31=84000.0|32=0.004|37=O|38=0.01|39=1|40=2|44=84000.0|54=1|55=BTC/USD|59=1|60=20260407-14:32:07.249|150=F|151=0.006|";

/// Frames everything in `stream` the way a session does: frame, or skip `resync` bytes on error.
fn frame_all(stream: &[u8]) -> (Vec<Vec<u8>>, Vec<FrameError>) {
    let (mut msgs, mut errors, mut pos) = (Vec::new(), Vec::new(), 0);
    while pos < stream.len() {
        match frame(&stream[pos..]) {
            Ok(Some(n)) => {
                msgs.push(stream[pos..pos + n].to_vec());
                pos += n;
            }
            Ok(None) => break,
            Err(e) => {
                errors.push(e);
                pos += resync(&stream[pos..]);
            }
        }
    }
    (msgs, errors)
}

#[test]
fn partial_message_waits_for_more() {
    let m = build(ER);
    for cut in 0..m.len() {
        assert_eq!(frame(&m[..cut]), Ok(None), "cut at {cut}");
    }
    assert_eq!(frame(&m), Ok(Some(m.len())));
}

#[test]
fn two_messages_in_one_buffer() {
    let (a, b) = (build(HB), build(ER));
    let stream = [a.clone(), b.clone()].concat();
    assert_eq!(frame(&stream), Ok(Some(a.len())));
    assert_eq!(frame_all(&stream), (vec![a, b], vec![]));
}

#[test]
fn garbage_prefix_is_skipped() {
    let m = build(HB);
    for garbage in [
        &b"junk"[..],
        b"junk\x01",
        b"\x01\x01",
        b"8=",
        b"10=123\x01",
        b"8=FIX.4.4\x019=x\x01",
    ] {
        let stream = [garbage, &m].concat();
        let (msgs, errors) = frame_all(&stream);
        assert_eq!(msgs, vec![m.clone()], "after {garbage:?}");
        assert!(!errors.is_empty(), "after {garbage:?}");
    }
}

#[test]
fn bad_checksum_is_typed() {
    let mut m = build(HB);
    let n = m.len();
    let good = m[n - 4..n - 1].to_vec();
    m[n - 4..n - 1].copy_from_slice(b"999");
    let expected = (u32::from(good[0] - b'0') * 100
        + u32::from(good[1] - b'0') * 10
        + u32::from(good[2] - b'0')) as u8;
    assert_eq!(
        frame(&m),
        Err(FrameError::BadChecksum {
            expected,
            actual: 999u32 as u8
        })
    );
    // A flipped body byte changes the sum.
    let mut m = build(HB);
    m[20] ^= 0x20;
    assert!(matches!(frame(&m), Err(FrameError::BadChecksum { .. })));
}

#[test]
fn wrong_body_length_is_typed() {
    let m = build(HB);
    let text = String::from_utf8(m.clone()).unwrap();
    let len: usize = text.split('\x01').nth(1).unwrap()[2..].parse().unwrap();
    for wrong in [len - 1, len + 1, len + 7] {
        let bad = text.replacen(&format!("9={len}"), &format!("9={wrong}"), 1);
        let r = frame(bad.as_bytes());
        assert!(
            matches!(r, Err(FrameError::MissingChecksum) | Ok(None)),
            "9={wrong}: {r:?}"
        );
    }
    assert_eq!(
        frame(&text.replacen(&format!("9={len}"), "9=-1", 1).into_bytes()),
        Err(FrameError::BadBodyLength)
    );
}

#[test]
fn missing_soh_is_an_error_not_a_panic() {
    let m = build(HB);
    for i in 0..m.len() {
        if m[i] != SOH {
            continue;
        }
        let mut bad = m.clone();
        bad.remove(i);
        let r = frame(&bad);
        assert!(r.is_err() || r == Ok(None), "SOH {i} removed: {r:?}");
        let mut idx = FieldIndex::<64>::new();
        let _ = Message::parse(&bad, &mut idx);
    }
}

#[test]
fn huge_body_length_is_refused_before_waiting() {
    assert_eq!(
        frame(b"8=FIX.4.4\x019=1000000\x01"),
        Err(FrameError::TooLong { max: 65536 })
    );
    assert_eq!(
        frame(b"8=FIX.4.4\x019=99999999999999999999\x01"),
        Err(FrameError::BadBodyLength)
    );
    let small = FrameConfig::FIX44.with_max_message_len(100);
    assert_eq!(
        frame_with(&build(ER), &small),
        Err(FrameError::TooLong { max: 100 })
    );
}

#[test]
fn non_digit_tags_frame_but_do_not_parse() {
    let m = build("35=0|34=2|4x9=A|");
    assert_eq!(frame(&m), Ok(Some(m.len())));
    let mut idx = FieldIndex::<16>::new();
    assert!(matches!(
        Message::parse(&m, &mut idx),
        Err(ParseError::InvalidTag { .. })
    ));
    let m = build("35=0|34=2|=A|");
    let mut idx = FieldIndex::<16>::new();
    assert!(matches!(
        Message::parse(&m, &mut idx),
        Err(ParseError::InvalidTag { .. })
    ));
}

#[test]
fn wrong_begin_string_is_typed_unless_any_is_accepted() {
    let m = build_bytes(b"FIX.4.2", b"35=0\x01");
    assert_eq!(frame(&m), Err(FrameError::WrongBeginString));
    assert_eq!(
        frame_with(&m, &FrameConfig::any_begin_string(1024)),
        Ok(Some(m.len()))
    );
}

/// Exercises every reader on a message; results are ignored, only panics matter.
fn read_everything(bytes: &[u8]) {
    let mut idx = FieldIndex::<128>::new();
    let Ok(msg) = Message::parse(bytes, &mut idx) else {
        return;
    };
    for f in msg.fields() {
        let _ = msg.tag_text(*f);
    }
    for tag in [8, 9, 34, 35, 52, 55, 268, 999_999] {
        let _ = (
            msg.uint(tag),
            msg.int(tag),
            msg.decimal(tag),
            msg.timestamp(tag),
        );
        let _ = (msg.char(tag), msg.boolean(tag), msg.count(tag));
    }
    let _ = msg.iter().count();
    let _ = msg.group(268, 279, &[279, 269, 270, 271]).count();
    let _ = dict::validate(&msg, &dict::FIX44, &ValidationOptions::default());
    let _ = dict::validate(&msg, &dict::KRAKEN, &ValidationOptions::default());
    let _ = dict::validate_fix44(&msg);
    if let Ok(er) = ExecutionReport::new_checked(&msg) {
        let _ = (er.last_px(), er.fee(), er.transact_time(), er.expire_time());
        let _ = (er.ord_type(), er.time_in_force(), er.trigger_price());
    }
    if let Ok(md) = MarketData::new_checked(&msg) {
        let day = md.sending_time();
        for e in md.entries().flatten() {
            if let Ok(day) = day {
                let _ = e.timestamp(day);
            }
        }
    }
    if let Ok(il) = InstrumentList::new_checked(&msg) {
        let _ = il.instruments().count();
    }
    let _ = (
        BusinessMessageReject::new_checked(&msg).map(|r| r.reason()),
        Reject::new_checked(&msg).map(|r| r.session_reject_reason()),
        MarketDataRequestReject::new_checked(&msg).map(|r| r.reason()),
        TradingSessionStatus::new_checked(&msg).map(|s| s.venue_status()),
        Logon::new_checked(&msg).map(|l| l.nonce()),
        Logout::new_checked(&msg).map(|l| l.text()),
        Heartbeat::new_checked(&msg),
        TestRequest::new_checked(&msg),
        ResendRequest::new_checked(&msg),
        SequenceReset::new_checked(&msg),
    );
}

/// A FIX-looking field: small tag, value without SOH (and sometimes with '=').
fn field() -> impl Strategy<Value = (u32, Vec<u8>)> {
    (
        prop_oneof![1u32..1000, 1000u32..10_000, Just(55u32), Just(268u32)],
        proptest::collection::vec(prop_oneof![0x20u8..0x7f, Just(b'='), Just(b'0')], 1..24),
    )
        .prop_filter("not a framing or data-length field", |(t, _)| {
            ![
                8, 9, 10, 35, 90, 93, 95, 212, 348, 350, 352, 354, 356, 358, 360, 362, 364, 445,
                618, 621,
            ]
            .contains(t)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = frame(&bytes);
        let skip = resync(&bytes);
        prop_assert!(skip <= bytes.len());
        prop_assert!(bytes.is_empty() || skip >= 1);
        read_everything(&bytes);
        let _ = frame_all(&bytes);
    }

    #[test]
    fn fix_shaped_noise_never_panics(
        fields in proptest::collection::vec(field(), 0..40),
        msg_type in prop_oneof![Just("8"), Just("X"), Just("W"), Just("y"), Just("A"), Just("3"), Just("j"), Just("0")],
    ) {
        let mut body = format!("35={msg_type}\x01").into_bytes();
        for (t, v) in &fields {
            body.extend_from_slice(format!("{t}=").as_bytes());
            body.extend_from_slice(v);
            body.push(SOH);
        }
        let m = build_bytes(b"FIX.4.4", &body);
        prop_assert_eq!(frame(&m), Ok(Some(m.len())));
        read_everything(&m);
    }

    #[test]
    fn generated_messages_round_trip(fields in proptest::collection::vec(field(), 0..60)) {
        let mut body = b"35=0\x01".to_vec();
        for (t, v) in &fields {
            body.extend_from_slice(format!("{t}=").as_bytes());
            body.extend_from_slice(v);
            body.push(SOH);
        }
        let m = build_bytes(b"FIX.4.4", &body);
        prop_assert_eq!(frame(&m), Ok(Some(m.len())));
        let mut idx = FieldIndex::<128>::new();
        let msg = Message::parse(&m, &mut idx).unwrap();
        let got: Vec<(u32, Vec<u8>)> = msg.iter().map(|f| (f.tag, f.value.to_vec())).collect();
        prop_assert_eq!(got.len(), fields.len() + 4);
        prop_assert_eq!(&got[0], &(8u32, b"FIX.4.4".to_vec()));
        prop_assert_eq!(got[1].0, 9);
        prop_assert_eq!(&got[2], &(35u32, b"0".to_vec()));
        prop_assert_eq!(&got[3..3 + fields.len()], &fields[..]);
        prop_assert_eq!(got[got.len() - 1].0, 10);
        for (t, _) in &fields {
            // First occurrence wins.
            let first = fields.iter().find(|(ft, _)| ft == t).map(|(_, fv)| fv.as_slice());
            prop_assert_eq!(msg.field(*t), first);
        }
    }

    #[test]
    fn a_stream_split_anywhere_reassembles(cuts in proptest::collection::vec(0usize..2000, 0..8)) {
        let msgs = vec![build(HB), build(ER), build(HB), build(ER)];
        let stream: Vec<u8> = msgs.concat();
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (stream.len() + 1)).collect();
        cuts.push(stream.len());
        cuts.sort_unstable();
        // Feed the stream chunk by chunk into a receive buffer, framing as bytes arrive.
        let (mut buf, mut out, mut last) = (Vec::new(), Vec::new(), 0);
        for c in cuts {
            buf.extend_from_slice(&stream[last..c]);
            last = c;
            loop {
                match frame(&buf) {
                    Ok(Some(n)) => {
                        out.push(buf[..n].to_vec());
                        buf.drain(..n);
                    }
                    Ok(None) => break,
                    Err(e) => prop_assert!(false, "valid stream gave {:?}", e),
                }
            }
        }
        prop_assert_eq!(out, msgs);
        prop_assert!(buf.is_empty());
    }

    #[test]
    fn garbage_between_messages_loses_only_the_garbage(
        garbage in proptest::collection::vec(
            any::<u8>().prop_filter("no 8 (it could start a message)", |b| *b != b'8'),
            1..40,
        ),
    ) {
        let (a, b) = (build(HB), build(ER));
        let stream = [a.clone(), garbage, b.clone()].concat();
        let (msgs, _) = frame_all(&stream);
        prop_assert_eq!(msgs, vec![a, b]);
    }
}

/// A field for the layout property: tag texts that are prefixes of one another (`2`, `27`,
/// `270`, `2700`), not valid tags (`007`, `-1`, ten digits), longer than a word holds, and the
/// RawDataLength/RawData pair, whose data may hold SOH and '='.
fn layout_field() -> impl Strategy<Value = Vec<u8>> {
    let tag = prop_oneof![
        Just("2"),
        Just("27"),
        Just("270"),
        Just("2700"),
        Just("279"),
        Just("7"),
        Just("007"),
        Just("-1"),
        Just("58"),
        Just("1234567"),
        Just("12345678"),
        Just("1234567890"),
        Just("95"),
    ];
    let value = proptest::collection::vec(prop_oneof![0x20u8..0x7f, Just(b'='), Just(SOH)], 0..12);
    (tag, value).prop_map(|(tag, value)| {
        if tag == "95" {
            // A data pair: 95=<len> then 96=<data>, the data taken by length.
            let mut f = format!("95={}\x0196=", value.len()).into_bytes();
            f.extend_from_slice(&value);
            f.push(SOH);
            return f;
        }
        let mut f = format!("{tag}=").into_bytes();
        f.extend(value.into_iter().filter(|&b| b != SOH));
        f.push(SOH);
        f
    })
}

/// A framed 35=0 whose body continues with `fields`.
fn heartbeat_with(fields: &[u8]) -> Vec<u8> {
    build_bytes(b"FIX.4.4", &[&b"35=0\x01"[..], fields].concat())
}

/// The tags of a message, in order.
fn tags(msg: &Message<'_>) -> Vec<u32> {
    msg.fields().iter().map(|f| f.tag).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    /// An index that parsed other messages before (and so predicts their tag layout) gives
    /// exactly what a fresh index gives: the same fields, or the same error.
    #[test]
    fn a_reused_index_parses_like_a_fresh_one(
        messages in proptest::collection::vec(
            (proptest::collection::vec(layout_field(), 0..24), any::<bool>()),
            1..6,
        ),
    ) {
        let mut reused = FieldIndex::<20>::new();
        // Tags of the message indexed just before, if it was indexed without error: what
        // `same_layout` compares with.
        let mut last_tags: Option<Vec<u32>> = None;
        for (fields, framed) in &messages {
            let body = fields.concat();
            // Framed like a real message, or bare fields as a test may build them in memory.
            let m = if *framed { heartbeat_with(&body) } else { body };
            let mut fresh = FieldIndex::<20>::new();
            let want = Message::parse(&m, &mut fresh).map(|msg| msg.fields().to_vec());
            let got = Message::parse_tracking_layout(&m, &mut reused);
            if let Ok((msg, same_layout)) = &got {
                let tags = tags(msg);
                prop_assert_eq!(*same_layout, last_tags.as_ref() == Some(&tags));
                last_tags = Some(tags);
            } else {
                last_tags = None;
            }
            prop_assert_eq!(got.map(|(msg, _)| msg.fields().to_vec()), want);
        }
    }

    /// The same on message pairs that differ in one tag only: the second is where a
    /// prediction from the first is most nearly right.
    #[test]
    fn a_changed_tag_is_not_mistaken_for_the_predicted_one(
        fields in proptest::collection::vec(layout_field(), 1..16),
        at in any::<prop::sample::Index>(),
        other in layout_field(),
    ) {
        let first = heartbeat_with(&fields.concat());
        let mut changed = fields.clone();
        changed[at.index(fields.len())] = other;
        let second = heartbeat_with(&changed.concat());
        let mut reused = FieldIndex::<24>::new();
        let first_tags = Message::parse(&first, &mut reused).ok().map(|msg| tags(&msg));
        let mut fresh = FieldIndex::<24>::new();
        let want = Message::parse(&second, &mut fresh).map(|msg| msg.fields().to_vec());
        let got = Message::parse_tracking_layout(&second, &mut reused);
        if let Ok((msg, same_layout)) = &got {
            prop_assert_eq!(*same_layout, first_tags == Some(tags(msg)));
        }
        prop_assert_eq!(got.map(|(msg, _)| msg.fields().to_vec()), want);
    }
}

#[test]
fn same_layout_follows_the_tags_of_the_message_before() {
    let er = build(ER);
    let er_other_values = build(&ER.replace("84000.0", "84001.25").replace("34=3", "34=40"));
    let hb = build(HB);
    let mut idx = FieldIndex::<64>::new();
    let same =
        |m: &[u8], idx: &mut FieldIndex<64>| Message::parse_tracking_layout(m, idx).unwrap().1;
    assert!(!same(&er, &mut idx), "first message: nothing before it");
    assert!(same(&er, &mut idx));
    assert!(same(&er_other_values, &mut idx), "other values, same tags");
    assert!(!same(&hb, &mut idx), "other tags");
    assert!(!same(&er, &mut idx));
    // A message that fails to index breaks the chain.
    assert!(Message::parse(b"34=1\x01x\x01", &mut idx).is_err());
    assert!(!same(&er, &mut idx));
    assert!(same(&er, &mut idx));
}
