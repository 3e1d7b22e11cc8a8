//! Tick replay (kraken::replay): a recorded tape drives the matching engine in place of the
//! synthetic market, at a multiple of the recorded pace or as fast as possible, looping on
//! request; the book and the L2 and L3 market data that come out are checked message by
//! message with the venue's clock as a parameter. The loader names the line of any bad input
//! and never panics (property tests with garbage lines and bytes).
#![allow(clippy::unwrap_used)]

mod kraken_common;

use kraken_common::*;
use proptest::prelude::*;
use tickwire_fix::time::UtcTimestamp;
use tickwire_venue::engine::Side;
use tickwire_venue::kraken::replay::LineError;
use tickwire_venue::kraken::{ConnId, Port, ReplayConfig, ReplayError, Speed, Tape, Venue};

fn example() -> Tape {
    Tape::load(&repo_path("examples/replay-btcusd.jsonl")).unwrap()
}

fn md(v: &mut Venue, port: Port, now: UtcTimestamp, request: &str) -> ConnId {
    let id = v.handle_connect(port, now).unwrap();
    v.handle_input(
        id,
        now,
        &build("A", 1, "TESTCLIENT", "KRAKEN-MD", "98=0|108=30|141=Y"),
    );
    assert_eq!(take(v, id)[0].ty(), "A");
    v.handle_input(id, now, &build("V", 2, "TESTCLIENT", "KRAKEN-MD", request));
    let w = take(v, id);
    assert_eq!(
        (w.len(), w[0].ty(), w[0].get(268)),
        (1, "W", Some("0")),
        "an empty snapshot before the replay starts: {w:?}"
    );
    id
}

/// The entries of each message: (279, 269, 278 or 270, 271).
fn summary(msgs: &[Msg], id_tag: u32) -> Vec<Vec<(String, String, String, String)>> {
    msgs.iter()
        .filter(|m| m.ty() == "X")
        .map(|m| {
            let (a, t, i, s) = (m.all(279), m.all(269), m.all(id_tag), m.all(271));
            (0..a.len())
                .map(|k| {
                    (
                        a[k].to_string(),
                        t[k].to_string(),
                        i[k].to_string(),
                        s[k].to_string(),
                    )
                })
                .collect()
        })
        .collect()
}

fn e(a: &str, t: &str, i: &str, s: &str) -> (String, String, String, String) {
    (a.into(), t.into(), i.into(), s.into())
}

fn engine_orders(v: &mut Venue, side: Side) -> Vec<(String, String, String)> {
    let eng = v.spot_engine();
    let id = eng.instrument_id(b"BTC/USD").unwrap();
    eng.resting_orders(id, side, 100)
        .map(|o| {
            (
                String::from_utf8_lossy(o.order_id.as_bytes()).into_owned(),
                o.price.to_string(),
                o.qty.to_string(),
            )
        })
        .collect()
}

#[test]
fn replay_at_twice_the_recorded_pace_publishes_l2_and_l3_in_order() {
    let t0 = tickwire_venue::kraken::server::utc_now();
    let mut cfg = config(false);
    cfg.replay = Some(ReplayConfig {
        speed: Speed::Paced(2.0),
        ..ReplayConfig::new(example())
    });
    let mut v = Venue::new(cfg, t0).unwrap();
    let l2 = md(
        &mut v,
        Port::SpotMd,
        t0,
        "262=L2|263=1|264=10|265=1|266=Y|267=3|269=0|269=1|269=2|146=1|55=BTC/USD",
    );
    let l3 = md(
        &mut v,
        Port::SpotMdL3,
        t0,
        "262=L3|263=1|264=10|265=1|266=N|267=2|269=0|269=1|146=1|55=BTC/USD",
    );
    // Recorded 100 ms apart, replayed 50 ms apart.
    let at = |ms: i64| UtcTimestamp::from_nanos(t0.nanos + ms * 1_000_000);
    let mut l2_got = Vec::new();
    let mut l3_got = Vec::new();
    for (k, ms) in [0, 25, 50, 99, 100, 150, 200, 250, 400]
        .into_iter()
        .enumerate()
    {
        v.handle_timeout(at(ms));
        let (a, b) = (take(&mut v, l2), take(&mut v, l3));
        let events = [1, 0, 1, 0, 1, 1, 1, 1, 0][k];
        assert_eq!(
            summary(&b, 278).len(),
            events,
            "at +{ms} ms: {events} event(s) due; got {b:?}"
        );
        l2_got.extend(a);
        l3_got.extend(b);
    }
    assert_eq!(
        summary(&l2_got, 270),
        vec![
            vec![e("0", "0", "84000.0", "0.5")],
            vec![e("0", "1", "84010.0", "0.25")],
            vec![e("1", "0", "84000.0", "0.6")],
            vec![e("0", "2", "84000.0", "0.2")],
            vec![e("1", "0", "84000.0", "0.4")],
            vec![e("2", "1", "84010.0", "0.0")],
            vec![e("0", "1", "84005.0", "0.3")],
        ]
    );
    let trade = l2_got.iter().find(|m| m.get(269) == Some("2")).unwrap();
    assert_eq!(trade.get(2446), Some("2"), "the recorded aggressor sold");
    let l3_sum = summary(&l3_got, 278);
    let id = |k: usize| l3_sum[k][0].2.clone();
    let (b1, a1, b2, a2) = (id(0), id(1), id(2), id(5));
    assert_eq!(
        l3_sum,
        vec![
            vec![e("0", "0", &b1, "0.5")],
            vec![e("0", "1", &a1, "0.25")],
            vec![e("0", "0", &b2, "0.1")],
            vec![e("1", "0", &b1, "0.3")],
            vec![e("2", "1", &a1, "0.0")],
            vec![e("0", "1", &a2, "0.3")],
        ]
    );
    assert!(l3_got
        .iter()
        .filter(|m| m.ty() == "X")
        .all(|m| m.get(5041).is_some()));
    assert_eq!(
        engine_orders(&mut v, Side::Buy),
        [
            (b1.clone(), "84000.0".into(), "0.3".into()),
            (b2, "84000.0".into(), "0.1".into())
        ]
    );
    assert_eq!(
        engine_orders(&mut v, Side::Sell),
        [(a2, "84005.0".into(), "0.3".into())]
    );
    assert_eq!(v.stats().market_requests, 6);
    // Not looping: the tape is done.
    v.handle_timeout(at(5_000));
    assert!(take(&mut v, l3).iter().all(|m| m.ty() != "X"));
    assert_eq!(v.stats().market_requests, 6);
}

#[test]
fn replay_as_fast_as_possible_loops_with_fresh_orders() {
    let t0 = tickwire_venue::kraken::server::utc_now();
    let mut cfg = config(false);
    cfg.replay = Some(ReplayConfig {
        speed: Speed::Max,
        looping: true,
        burst: 4,
        ..ReplayConfig::new(example())
    });
    let mut v = Venue::new(cfg, t0).unwrap();
    let at = |us: i64| UtcTimestamp::from_nanos(t0.nanos + us * 1_000);
    v.handle_timeout(at(0));
    assert_eq!(v.stats().market_requests, 4, "burst bounds one call");
    v.handle_timeout(at(1));
    assert_eq!(v.stats().market_requests, 6);
    let first = (
        engine_orders(&mut v, Side::Buy),
        engine_orders(&mut v, Side::Sell),
    );
    assert_eq!(first.0.len(), 2);
    // Second cycle: what was left is cancelled, the tape plays again.
    v.handle_timeout(at(2));
    v.handle_timeout(at(3));
    assert_eq!(v.stats().market_requests, 12);
    let second = (
        engine_orders(&mut v, Side::Buy),
        engine_orders(&mut v, Side::Sell),
    );
    let strip = |o: &[(String, String, String)]| -> Vec<(String, String)> {
        o.iter().map(|x| (x.1.clone(), x.2.clone())).collect()
    };
    assert_eq!(strip(&first.0), strip(&second.0), "same book each cycle");
    assert_eq!(strip(&first.1), strip(&second.1));
    assert!(
        first.0.iter().all(|o| second.0.iter().all(|p| p.0 != o.0)),
        "new orders"
    );
    assert!(
        v.spot_engine().live_orders() == 3,
        "the first cycle's orders are gone"
    );
}

#[test]
fn replay_refuses_unknown_symbols_and_precision_and_the_synthetic_market_beside_it() {
    let t0 = tickwire_venue::kraken::server::utc_now();
    let bad = |text: &str| {
        let mut cfg = config(false);
        cfg.replay = Some(ReplayConfig::new(Tape::parse(text.as_bytes()).unwrap()));
        Venue::new(cfg, t0).unwrap_err().to_string()
    };
    let e = bad(r#"{"ts":1,"symbol":"XBT/EUR","kind":"trade","side":"buy","price":"1","qty":"1"}"#);
    assert!(e.contains("line 1") && e.contains("unknown symbol"), "{e}");
    let e = bad(
        "\n{\"ts\":1,\"symbol\":\"BTC/USD\",\"kind\":\"trade\",\"side\":\"buy\",\"price\":\"1.25\",\"qty\":\"1\"}",
    );
    assert!(e.contains("line 2") && e.contains("decimals"), "{e}");
    let mut cfg = config(true);
    cfg.replay = Some(ReplayConfig::new(example()));
    assert!(Venue::new(cfg, t0).is_err());
}

fn valid_line(k: usize) -> String {
    format!(
        r#"{{"ts":{k},"symbol":"BTC/USD","kind":"add","id":"o{k}","side":"buy","price":"100.0","qty":"1"}}"#
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Any bytes: an error names a line that exists, or the tape is valid; never a panic.
    #[test]
    fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let lines = bytes.split(|&b| b == b'\n').count();
        match Tape::parse(&bytes) {
            Ok(t) => prop_assert!(!t.ticks().is_empty()),
            Err(ReplayError::Line { line, .. }) => prop_assert!(line >= 1 && line <= lines),
            Err(ReplayError::Empty) => {}
            Err(e) => prop_assert!(false, "{e}"),
        }
    }

    /// One garbage line among valid ones: the error names exactly that line.
    #[test]
    fn a_garbage_line_is_named(
        n in 1usize..12,
        at in 0usize..12,
        junk in "[^}\n#]{0,60}",
        kind in 0u8..4,
    ) {
        let at = at % (n + 1);
        let bad = match kind {
            0 => format!("{{{junk}"),
            1 => format!("x{junk}"),
            2 => format!(r#"{{"ts":{at},"symbol":"BTC/USD","kind":"add","id":"z","side":"buy","price":"{junk}x","qty":"1"}}"#),
            _ => format!(r#"{{"ts":{at},"symbol":"BTC/USD","kind":"add","id":"z","side":"buy","price":1.5,"qty":"1"}}"#),
        };
        let mut lines: Vec<String> = (0..n).map(valid_line).collect();
        lines.insert(at, bad);
        let text = lines.join("\n");
        match Tape::parse(text.as_bytes()) {
            Err(ReplayError::Line { line, error }) => {
                prop_assert_eq!(line, at + 1, "{}", error);
                prop_assert!(matches!(error, LineError::Json(_) | LineError::Decimal { .. }), "{}", error);
            }
            other => prop_assert!(false, "{other:?}"),
        }
    }
}
