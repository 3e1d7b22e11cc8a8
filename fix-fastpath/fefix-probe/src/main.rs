//! Can fefix 0.7 be the general-purpose baseline of `benches/fastpath.rs`? The issue asks for
//! "a `fefix` 0.7 decoder if it builds here, else a `HashMap<u32, &str>` tag map". It builds.
//! This probe decodes the bench's own messages with it and compares every field the bench
//! reads with tickwire's reading of the same bytes, twice: each message on a decoder of its
//! own, and each on one decoder that has decoded a market-data increment just before (one
//! decoder per connection, as fefix's `Decoder` documentation asks). Then, for the messages it
//! does decode in a stream and for its encoder, it times fefix against tickwire in the same
//! run (interleaved rounds), so its speed can be set beside the tag-map baseline's.
//!
//! Run: `scripts/fefix-probe` (builds this crate, outside the workspace, in release).
#![allow(clippy::unwrap_used, clippy::print_stdout)]

#[path = "../../benches/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::time::Instant;

use fefix::prelude::*;
use fefix::tagvalue::{Config, Decoder, Encoder, FieldAccess, FvWrite, RepeatingGroup};
use tickwire_fix::decimal::Decimal;
use tickwire_fix::message::{frame, FieldIndex, FrameLimits, Message};
use tickwire_fix::time::UtcTimestamp;
use tickwire_fix::views::{ExecutionReport, MarketData};
use tickwire_testutil::race::interleaved;

/// Tags the bench reads of the fill (`er_fields`): eight decimals, three enums, six texts.
const FILL_TAGS: &[&[u32]] = &[
    &[31, 32, 137, 38, 44, 14, 151, 6],
    &[150, 39, 54],
    &[11, 37, 17, 55, 138, 1003],
];
/// Tags the bench reads of the acknowledgement (`er_new_fields`): six decimals, five enums,
/// five texts; the timed fefix side reads them in these groups.
const ACK_DECIMALS: [u32; 6] = [38, 44, 381, 14, 151, 6];
const ACK_ENUMS: [u32; 5] = [150, 39, 54, 40, 59];
const ACK_TEXTS: [u32; 5] = [11, 37, 17, 55, 58];
const ACK_TAGS: &[&[u32]] = &[&ACK_DECIMALS, &ACK_ENUMS, &ACK_TEXTS];

fn soh(text: &str) -> Vec<u8> {
    text.replace('|', "\x01").into_bytes()
}

fn fresh_decoder() -> Decoder<Config> {
    Decoder::<Config>::new(Dictionary::fix44())
}

/// Members of the MiscFees group (136) in Kraken's fills; fefix is asked for them in the
/// group's first entry, where they belong, and for every other tag at the top level.
const MISC_FEES_TAGS: &[u32] = &[137, 138, 139];

/// What differs between fefix's reading of `tags` and tickwire's, as lines.
fn compare_fields(fefix: &mut Decoder<Config>, raw: &[u8], tags: &[&[u32]]) -> Vec<String> {
    let mut idx = FieldIndex::<64>::new();
    let ours = Message::parse(raw, &mut idx).unwrap();
    let theirs = match fefix.decode(raw) {
        Ok(m) => m,
        Err(e) => return vec![format!("decode failed: {e:?}")],
    };
    let fees = theirs.group(&136u32).ok().map(|g| g.entry(0));
    let mut out = Vec::new();
    for &tag in tags.iter().copied().flatten() {
        let want = ours.field(tag);
        let got = if MISC_FEES_TAGS.contains(&tag) {
            fees.as_ref().and_then(|e| e.fv_raw(&tag))
        } else {
            theirs.fv_raw(&tag)
        };
        if want != got {
            out.push(format!(
                "{tag}: fefix {}, the message {}",
                show(got),
                show(want)
            ));
        }
    }
    out
}

/// What differs between fefix's MDEntries (268) and tickwire's, as lines.
fn compare_entries(fefix: &mut Decoder<Config>, raw: &[u8]) -> Vec<String> {
    let mut idx = FieldIndex::<64>::new();
    let msg = Message::parse(raw, &mut idx).unwrap();
    let ours: Vec<_> = MarketData::new_checked(&msg)
        .unwrap()
        .entries()
        .map(|e| e.unwrap())
        .map(|e| (e.action.code(), e.entry_type.code(), e.price, e.size))
        .collect();
    let theirs = match fefix.decode(raw) {
        Ok(m) => m,
        Err(e) => return vec![format!("decode failed: {e:?}")],
    };
    let group = match theirs.group(&268u32) {
        Ok(g) => g,
        Err(_) => return vec!["268: fefix finds no MDEntries group".into()],
    };
    let mut out = Vec::new();
    if group.len() != ours.len() {
        out.push(format!(
            "268: fefix {} entries, the message {}",
            group.len(),
            ours.len()
        ));
    }
    for (i, want) in ours.iter().enumerate().take(group.len()) {
        let e = group.entry(i);
        let code = |tag: u32| e.fv_raw(&tag).and_then(|v| v.first().copied());
        let dec = |tag: u32| e.fv_raw(&tag).and_then(|v| Decimal::parse(v).ok());
        let got = (code(279), code(269), dec(270), dec(271));
        if got != (Some(want.0), Some(want.1), Some(want.2), Some(want.3)) {
            out.push(format!("entry {i}: fefix {got:?}, the message {want:?}"));
        }
    }
    out
}

fn show(v: Option<&[u8]>) -> String {
    match v {
        Some(v) => format!("{:?}", String::from_utf8_lossy(v)),
        None => "absent".into(),
    }
}

fn report(what: &str, diffs: &[String]) -> bool {
    if diffs.is_empty() {
        println!("  {what}: every field as in the message");
    } else {
        println!("  {what}: {} wrong", diffs.len());
        for d in diffs.iter().take(6) {
            println!("      {d}");
        }
        if diffs.len() > 6 {
            println!("      … and {} more", diffs.len() - 6);
        }
    }
    diffs.is_empty()
}

/// `f` called [`CALLS`] times: ns per call.
fn batch(mut f: impl FnMut()) -> f64 {
    let t = Instant::now();
    for _ in 0..CALLS {
        f();
    }
    t.elapsed().as_nanos() as f64 / f64::from(CALLS)
}

const CALLS: u32 = 50_000;
const ROUNDS: usize = 31;

fn main() {
    let fill = soh(common::ER);
    let ack = soh(common::ER_NEW);
    let md = common::md_message();
    let feed = common::feed_message(false);

    println!(
        "fefix 0.7.0 decoding the FIX bench's messages (fields compared with tickwire's reading)"
    );
    let mut all_ok = true;
    for (name, raw, tags) in [
        ("fill", &fill, Some(FILL_TAGS)),
        ("acknowledgement", &ack, Some(ACK_TAGS)),
        ("MD increment, Kraken layout", &md, None),
        ("MD increment, short layout", &feed, None),
    ] {
        println!("{name}:");
        for after_md in [false, true] {
            let mut dec = fresh_decoder();
            if after_md {
                dec.decode(&md[..]).unwrap();
            }
            let diffs = match tags {
                Some(tags) => compare_fields(&mut dec, raw, tags),
                None => compare_entries(&mut dec, raw),
            };
            let what = if after_md {
                "on a decoder that decoded an MD increment before"
            } else {
                "on a fresh decoder"
            };
            all_ok &= report(what, &diffs);
        }
    }
    println!(
        "verdict: {}",
        if all_ok {
            "fefix reads every message right; it can be the baseline"
        } else {
            "fefix misreads these messages, so the bench's baseline is the hand-written tag map"
        }
    );

    // Where it reads right: a stream of acknowledgements, and the encoder.
    println!(
        "\ntimings, median ns per call of {ROUNDS} interleaved rounds × {CALLS} calls (this run)"
    );
    let mut sides = (FieldIndex::<64>::new(), fresh_decoder());
    let race = interleaved(
        ROUNDS,
        &mut sides,
        |(idx, _)| {
            batch(|| {
                let raw = black_box(&ack[..]);
                let n = frame(raw, FrameLimits::default()).unwrap().unwrap();
                let msg = Message::parse(&raw[..n], idx).unwrap();
                let er = ExecutionReport::new_checked(&msg).unwrap();
                black_box(common::er_new_fields(&er));
            })
        },
        |(_, dec)| {
            batch(|| {
                let m = dec.decode(black_box(&ack[..])).unwrap();
                let decimals = ACK_DECIMALS.map(|t| m.fv::<f64>(&t).unwrap());
                let enums = ACK_ENUMS.map(|t| m.fv_raw(&t).unwrap()[0]);
                let text: usize = ACK_TEXTS.iter().map(|t| m.fv_raw(t).unwrap().len()).sum();
                black_box((decimals, enums, text));
            })
        },
    );
    println!(
        "  acknowledgement parse + 16 fields: tickwire {:.1}, fefix {:.1} ({:.1}×)",
        race.ours, race.theirs, race.ratio
    );

    let mut order = common::order();
    let mut now = UtcTimestamp::parse(b"20260407-14:32:05.000").unwrap();
    let (mut seq, mut id) = (1_000u64, *b"1775572325000000");
    let mut enc = Encoder::new(Config::default());
    let mut buf = Vec::with_capacity(512);
    let mut seq2 = 1_000u64;
    let race = interleaved(
        ROUNDS,
        &mut (),
        |_| {
            batch(|| {
                seq += 1;
                now.nanos += 1_000;
                id[15] = b'0' + (seq % 10) as u8;
                let px = Decimal::new(840_000 + (seq % 5) as i64, 1);
                black_box(
                    order
                        .patch(seq, now, &id, Some(px), Decimal::new(1, 2))
                        .unwrap()
                        .len(),
                );
            })
        },
        |_| {
            batch(|| {
                seq2 += 1;
                buf.clear();
                let mut m = enc.start_message(b"FIX.4.4", &mut buf, b"D");
                m.set_fv(&34u32, seq2);
                m.set_fv(&49u32, "TESTCLIENT");
                m.set_fv(&56u32, "KRAKEN-TRD");
                m.set_fv(&52u32, "20260407-14:32:05.000");
                m.set_fv(&11u32, 1_775_572_325_000_000 + seq2);
                m.set_fv(&55u32, "BTC/USD");
                m.set_fv(&54u32, "1");
                m.set_fv(&40u32, "2");
                m.set_fv(&44u32, 84000.0 + (seq2 % 5) as f64 / 10.0);
                m.set_fv(&38u32, 0.01f64);
                m.set_fv(&59u32, "1");
                m.set_fv(&60u32, "20260407-14:32:05.000");
                black_box(m.wrap().len());
            })
        },
    );
    println!(
        "  NewOrderSingle emit: tickwire {:.1}, fefix {:.1} ({:.1}×)",
        race.ours, race.theirs, race.ratio
    );
}
