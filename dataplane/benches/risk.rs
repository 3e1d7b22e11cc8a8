//! What pre-trade risk and armed-order evaluation cost on the order path, in one run:
//! - order_path/patch: patch + emit a NewOrderSingle from a precompiled template (the baseline,
//!   as `tickwire-fix`'s fastpath bench does it);
//! - order_path/risk_patch: the same, behind the full risk check set — top of book read from a
//!   live `Book`, kill switch, qty, notional, book age, collar, open orders, position,
//!   duplicate window, Kraken Spot throttle mirror — plus the bookkeeping of the order's fill
//!   (an IOC filled at once), so the state stays steady;
//! - trigger/N: evaluating a table of N armed triggers (mixed conditions) on one book update
//!   where none holds, and trigger/256_one_fires where one of 256 fires.
//!
//! Simulated time advances 300 ms per order, below the Pro tier's decay rate, so the throttle
//! is exercised but never refuses. After criterion has measured, the medians are read back from
//! `target/criterion` and the difference risk_patch − patch is printed against the 20 ns
//! budget. Run: `cargo bench -p tickwire-dataplane --bench risk`.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::hint::black_box;
use std::time::Duration;

use criterion::Criterion;
use tickwire_dataplane::risk::{
    Capacity, Collar, GlobalLimits, InstrumentId, InstrumentLimits, LimitChange, Order, OrderKey,
    Risk, Throttle, Top,
};
use tickwire_dataplane::trigger::{Condition, Trigger, TriggerId, Triggers};
use tickwire_fix::book::{Book, BookSide};
use tickwire_fix::decimal::Decimal;
use tickwire_fix::kraken::rate::Tier;
use tickwire_fix::outbound::{self, OrderShape, Side, TimeInForce};
use tickwire_fix::template::Header;
use tickwire_fix::time::UtcTimestamp;

const BTC: InstrumentId = InstrumentId(0);
const STEP_NS: i64 = 300_000_000;

fn book() -> Book {
    let mut b = Book::new(10, 1, 8);
    b.begin_snapshot(1);
    for i in 0..10 {
        b.apply_snapshot_level(
            BookSide::Ask,
            Decimal::new(840_000 + i, 1),
            Decimal::new(5, 1),
        );
        b.apply_snapshot_level(
            BookSide::Bid,
            Decimal::new(839_998 - i, 1),
            Decimal::new(5, 1),
        );
    }
    b.finish_snapshot();
    b
}

fn risk() -> Risk {
    let mut r = Risk::new(
        Capacity {
            instruments: 8,
            orders: 256,
            recent: 64,
        },
        GlobalLimits {
            max_open_orders: 200,
            max_book_age_ns: 1_000_000_000,
            duplicate_window_ns: 1_000_000_000,
            throttle: Throttle::Spot {
                tier: Tier::Pro.params(),
                headroom: 5,
                max_latency_ns: 1_000_000,
            },
        },
    )
    .unwrap();
    r.apply(LimitChange::Instrument(
        BTC,
        InstrumentLimits {
            max_order_qty: 100_000_000,
            max_notional: 840_010 * 100_000_000,
            collar: Collar::BasisPoints(50),
            max_open_orders: 100,
            max_position: i64::MAX / 4,
        },
    ))
    .unwrap();
    r
}

fn triggers(n: u32, fire_one: bool) -> Triggers {
    let mut t = Triggers::new(n as usize);
    for i in 0..n {
        // Thresholds the benchmark's book never reaches.
        let cond = match i % 5 {
            0 => Condition::AskAtOrBelow(830_000 - i64::from(i)),
            1 => Condition::BidAtOrAbove(850_000 + i64::from(i)),
            2 => Condition::LastAtOrBelow(830_000),
            3 => Condition::LastAtOrAbove(850_000),
            _ => Condition::SpreadAtOrBelow(1),
        };
        let cond = if fire_one && i == n / 2 {
            Condition::AskAtOrBelow(840_000)
        } else {
            cond
        };
        let order = Order {
            instrument: InstrumentId((i % 4) as u16),
            side: Side::Buy,
            price: 840_000,
            qty: 1_000_000,
        };
        // Spread the triggers over 4 instruments, like a real table; the evaluated one is 0.
        let order = if fire_one && i == n / 2 {
            Order {
                instrument: BTC,
                ..order
            }
        } else {
            order
        };
        t.arm(
            TriggerId(i),
            Trigger::rearming(cond, order, TimeInForce::ImmediateOrCancel, 0),
        )
        .unwrap();
    }
    t
}

fn benches(c: &mut Criterion) {
    let header = Header {
        begin_string: b"FIX.4.4",
        sender: b"TESTCLIENT",
        target: b"KRAKEN-TRD",
        time_after_target: true,
    };
    let shape = OrderShape {
        tif: TimeInForce::ImmediateOrCancel,
        ..OrderShape::limit(b"BTC/USD", Side::Buy)
    };
    let mut order = outbound::new_order_single(header, &shape).unwrap();
    let mut now = UtcTimestamp::parse(b"20260407-14:32:05.000").unwrap();
    let mut seq = 1_000u64;
    let mut id = *b"1775572325000000";
    let book = book();
    let mut risk = risk();

    let mut g = c.benchmark_group("order_path");
    g.bench_function("patch", |b| {
        b.iter(|| {
            seq += 1;
            now.nanos += STEP_NS;
            id[15] = b'0' + (seq % 10) as u8;
            let px = 840_000 + (seq % 5) as i64;
            let bytes = order
                .patch(
                    seq,
                    now,
                    &id,
                    Some(Decimal::new(px, 1)),
                    Decimal::new(1_000_000, 8),
                )
                .unwrap();
            black_box(bytes.len())
        })
    });
    let mut refused = 0u64;
    g.bench_function("risk_patch", |b| {
        b.iter(|| {
            seq += 1;
            now.nanos += STEP_NS;
            id[15] = b'0' + (seq % 10) as u8;
            let px = 840_000 + (seq % 5) as i64;
            let o = Order {
                instrument: BTC,
                side: Side::Buy,
                price: px,
                qty: 1_000_000,
            };
            let top = Top::from_book(black_box(&book), UtcTimestamp::from_nanos(now.nanos - 1));
            let len = match risk.check_new(OrderKey(seq), &o, &top, now) {
                Ok(()) => {
                    let bytes = order
                        .patch(
                            seq,
                            now,
                            &id,
                            Some(Decimal::new(px, 1)),
                            Decimal::new(o.qty, 8),
                        )
                        .unwrap();
                    let n = bytes.len();
                    // The IOC's fill report, later on the same core.
                    risk.on_fill(OrderKey(seq), BTC, Side::Buy, o.qty);
                    n
                }
                Err(_) => {
                    refused += 1;
                    0
                }
            };
            black_box(len)
        })
    });
    g.finish();
    assert_eq!(refused, 0, "the benchmark's orders must all pass risk");

    let mut g = c.benchmark_group("trigger");
    let top = Top::from_book(&book, now);
    for (name, n, fire) in [
        ("16", 16, false),
        ("256", 256, false),
        ("256_one_fires", 256, true),
    ] {
        let mut t = triggers(n, fire);
        let mut fired = 0usize;
        g.bench_function(name, |b| {
            b.iter(|| {
                now.nanos += 1;
                t.evaluate(BTC, black_box(&top), now, |f| {
                    fired += 1;
                    black_box(f);
                })
            })
        });
        assert_eq!(fired > 0, fire, "{name}: fired {fired}");
    }
    g.finish();
}

fn median_ns(group: &str, name: &str) -> Option<f64> {
    let dir = std::env::var("CARGO_TARGET_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../target").into());
    let text =
        std::fs::read_to_string(format!("{dir}/criterion/{group}/{name}/new/estimates.json"))
            .ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["median"]["point_estimate"].as_f64()
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    benches(&mut c);
    c.final_summary();
    match (
        median_ns("order_path", "patch"),
        median_ns("order_path", "risk_patch"),
    ) {
        (Some(p), Some(r)) => {
            let d = r - p;
            println!(
                "\norder path medians: patch {p:.1} ns, risk + patch {r:.1} ns, ratio {:.2}x; \
                 risk adds {d:.1} ns (target ≤ 20 ns: {})",
                r / p,
                if d <= 20.0 { "met" } else { "MISSED" }
            );
        }
        _ => println!("\norder path: no estimates (run without --test/--list)"),
    }
    for name in ["16", "256", "256_one_fires"] {
        match median_ns("trigger", name) {
            Some(t) => println!("trigger evaluation, {name:>13} armed: {t:.1} ns median"),
            None => println!("trigger evaluation, {name:>13}: no estimate"),
        }
    }
}
