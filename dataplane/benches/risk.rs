//! What pre-trade risk and armed-order evaluation cost on the order path, in one run:
//! - order_path/patch: patch + emit a NewOrderSingle from a precompiled template (the baseline,
//!   as `tickwire-fix`'s fastpath bench does it);
//! - order_path/risk_patch: the same, behind the full risk check set — top of book read from a
//!   live `Book`, kill switch, qty, notional, book age, collar, open orders, position,
//!   duplicate window, Kraken Spot throttle mirror — including recording the order as open;
//! - order_path/fill: the ExecutionReport side, `on_fill` completing an open order.
//!
//! Orders are timed in chunks of 1000; between chunks (untimed) the open orders and the
//! position are reset, standing in for the fills the venue would report.
//! - trigger/N: evaluating a table of N armed triggers (mixed conditions) on one book update
//!   where none holds, and trigger/256_one_fires where one of 256 fires.
//!
//! Simulated time advances 300 ms per order, below the Pro tier's decay rate, so the throttle
//! is exercised but never refuses. After criterion has measured, the medians are read back from
//! `target/criterion` and the difference risk_patch − patch is printed against the 20 ns
//! budget, followed by the same two variants measured interleaved in rounds (the median of the
//! per-round differences), which load drifting between criterion's separate measurements
//! cannot skew. Run: `cargo bench -p tickwire-dataplane --bench risk`. With
//! `TICKWIRE_RISK_BENCH_LOOP=patch:N` (or `risk_patch:N`) the binary only runs that loop, for
//! instruction counts under `valgrind --tool=callgrind`.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use tickwire_dataplane::risk::{
    Capacity, Collar, GlobalLimits, InstrumentId, InstrumentLimits, LimitChange, Order, OrderKey,
    Risk, Throttle, Top,
};
use tickwire_dataplane::trigger::{Condition, Trigger, TriggerId, Triggers};
use tickwire_fix::book::{Book, BookSide};
use tickwire_fix::decimal::Decimal;
use tickwire_fix::kraken::rate::Tier;
use tickwire_fix::outbound::{self, NewOrder, OrderShape, Side, TimeInForce};
use tickwire_fix::template::Header;
use tickwire_fix::time::UtcTimestamp;

const BTC: InstrumentId = InstrumentId(0);
const STEP_NS: i64 = 300_000_000;
/// Orders between two resets of the open-order table (outside the timed part).
const CHUNK: u64 = 1_000;

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
            orders: CHUNK as usize,
            recent: 64,
        },
        GlobalLimits {
            max_open_orders: CHUNK as u32,
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
            max_open_orders: CHUNK as u32,
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

/// The order path's state: one template, risk, a live book, the running values.
struct Rig {
    order: NewOrder,
    risk: Risk,
    book: Book,
    seq: u64,
    now: UtcTimestamp,
    id: [u8; 16],
    refused: u64,
}

impl Rig {
    fn new() -> Rig {
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
        Rig {
            order: outbound::new_order_single(header, &shape).unwrap(),
            risk: risk(),
            book: book(),
            seq: 1_000,
            now: UtcTimestamp::parse(b"20260407-14:32:05.000").unwrap(),
            id: *b"1775572325000000",
            refused: 0,
        }
    }

    /// Patch + emit.
    #[inline]
    fn patch(&mut self) -> usize {
        self.seq += 1;
        self.now.nanos += STEP_NS;
        self.id[15] = b'0' + (self.seq % 10) as u8;
        let px = 840_000 + (self.seq % 5) as i64;
        let bytes = self
            .order
            .patch(
                self.seq,
                self.now,
                &self.id,
                Some(Decimal::new(px, 1)),
                Decimal::new(1_000_000, 8),
            )
            .unwrap();
        bytes.len()
    }

    /// Top of book + every risk check + the same patch + emit.
    #[inline]
    fn risk_patch(&mut self) -> usize {
        self.seq += 1;
        self.now.nanos += STEP_NS;
        self.id[15] = b'0' + (self.seq % 10) as u8;
        let px = 840_000 + (self.seq % 5) as i64;
        let o = Order {
            instrument: BTC,
            side: Side::Buy,
            price: px,
            qty: 1_000_000,
        };
        let top = Top::from_book(
            black_box(&self.book),
            UtcTimestamp::from_nanos(self.now.nanos - 1),
        );
        match self.risk.check_new(OrderKey(self.seq), &o, &top, self.now) {
            Ok(()) => {
                let n = self
                    .order
                    .patch(
                        self.seq,
                        self.now,
                        &self.id,
                        Some(Decimal::new(px, 1)),
                        Decimal::new(o.qty, 8),
                    )
                    .unwrap()
                    .len();
                n
            }
            Err(_) => {
                self.refused += 1;
                0
            }
        }
    }
}

impl Rig {
    /// Forgets the open orders and the position (between timed chunks: the fills of the IOC
    /// orders, which the venue would report, are not part of the order path).
    fn reset(&mut self) {
        self.risk.clear_open_orders();
        self.risk.set_position(BTC, 0);
    }

    /// Times `n` calls of `f`, in chunks of [`CHUNK`] with a reset between chunks.
    fn timed(&mut self, n: u64, f: fn(&mut Rig) -> usize) -> Duration {
        let mut total = Duration::ZERO;
        let mut left = n;
        let mut sink = 0usize;
        while left > 0 {
            let k = left.min(CHUNK);
            let t = Instant::now();
            for _ in 0..k {
                sink += f(self);
            }
            total += t.elapsed();
            left -= k;
            self.reset();
        }
        black_box(sink);
        total
    }

    /// Times `n` fills, each completing one open order (the ExecutionReport path).
    fn timed_fills(&mut self, n: u64) -> Duration {
        let mut total = Duration::ZERO;
        let mut left = n;
        while left > 0 {
            let k = left.min(CHUNK);
            let first = self.seq + 1;
            for _ in 0..k {
                black_box(self.risk_patch());
            }
            let t = Instant::now();
            for key in first..first + k {
                self.risk
                    .on_fill(OrderKey(key), BTC, Side::Buy, black_box(1_000_000));
            }
            total += t.elapsed();
            left -= k;
            self.reset();
        }
        total
    }
}

/// Runs one variant `n` times and nothing else: for counting instructions with
/// `valgrind --tool=callgrind` (stable on a shared machine, where times are not). The
/// difference of two runs with different `n`, divided by the difference of `n`, is the count
/// per order.
fn fixed_loop(spec: &str) -> Result<(), String> {
    let (variant, n) = spec
        .split_once(':')
        .ok_or("TICKWIRE_RISK_BENCH_LOOP=patch|risk_patch:N")?;
    let n: u64 = n.parse().map_err(|_| "N must be a number")?;
    let mut rig = Rig::new();
    let f: fn(&mut Rig) -> usize = match variant {
        "patch" => Rig::patch,
        "risk_patch" => Rig::risk_patch,
        _ => return Err(format!("unknown variant {variant}")),
    };
    rig.timed(n, f);
    if rig.refused != 0 {
        return Err(format!("{} orders refused", rig.refused));
    }
    Ok(())
}

/// Both variants interleaved in rounds of `k` orders, alternating which goes first: per-order
/// medians of each and the median of the per-round differences, robust to load that drifts
/// between criterion's separate measurements on a shared machine.
fn paired(rounds: usize, k: u64) -> (f64, f64, f64) {
    let mut rig = Rig::new();
    let (mut a, mut b, mut d) = (Vec::new(), Vec::new(), Vec::new());
    for r in 0..rounds {
        let run = |risk: bool, rig: &mut Rig| {
            let f: fn(&mut Rig) -> usize = if risk { Rig::risk_patch } else { Rig::patch };
            rig.timed(k, f).as_nanos() as f64 / k as f64
        };
        let (pa, pb) = if r % 2 == 0 {
            let pa = run(false, &mut rig);
            (pa, run(true, &mut rig))
        } else {
            let pb = run(true, &mut rig);
            (run(false, &mut rig), pb)
        };
        a.push(pa);
        b.push(pb);
        d.push(pb - pa);
    }
    assert_eq!(rig.refused, 0, "the benchmark's orders must all pass risk");
    let med = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    (med(&mut a), med(&mut b), med(&mut d))
}

fn benches(c: &mut Criterion) {
    let mut rig = Rig::new();
    let mut g = c.benchmark_group("order_path");
    g.bench_function("patch", |b| b.iter_custom(|n| rig.timed(n, Rig::patch)));
    g.bench_function("risk_patch", |b| {
        b.iter_custom(|n| rig.timed(n, Rig::risk_patch))
    });
    g.bench_function("fill", |b| b.iter_custom(|n| rig.timed_fills(n)));
    g.finish();
    assert_eq!(rig.refused, 0, "the benchmark's orders must all pass risk");
    let mut now = rig.now;
    let book = rig.book.clone();

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
    if let Ok(spec) = std::env::var("TICKWIRE_RISK_BENCH_LOOP") {
        if let Err(e) = fixed_loop(&spec) {
            eprintln!("{e}");
            std::process::exit(2);
        }
        return;
    }
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
    if let Some(f) = median_ns("order_path", "fill") {
        println!("fill bookkeeping (on_fill closing an order, the ExecutionReport path): {f:.1} ns median");
    }
    let (p, r, d) = paired(400, CHUNK);
    println!(
        "order path, interleaved (400 rounds × 1000 orders): patch {p:.1} ns, risk + patch \
         {r:.1} ns, ratio {:.2}x; median per-round difference {d:.1} ns (target ≤ 20 ns: {})",
        r / p,
        if d <= 20.0 { "met" } else { "MISSED" }
    );
    for name in ["16", "256", "256_one_fires"] {
        match median_ns("trigger", name) {
            Some(t) => println!("trigger evaluation, {name:>13} armed: {t:.1} ns median"),
            None => println!("trigger evaluation, {name:>13}: no estimate"),
        }
    }
}
