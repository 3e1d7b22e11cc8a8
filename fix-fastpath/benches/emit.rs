//! Patch + emit a NewOrderSingle from a precompiled template (both layouts) next to what a
//! hand-written client does — build the whole message with `format!` into a fresh `String` —
//! in the same run, then print the ratios.
//!
//! "Emit" means the message ends up in a caller-owned transmit buffer: the template variants
//! copy their bytes out with `Template::copy_to`; the naive one returns its `String`.
//!
//! Compared with the `emit` group of `benches/fastpath.rs` (patch only, message left in the
//! template), each iteration here also formats a 16-digit ClOrdID (`write_u64`), copies the
//! ~190-byte message out, and carries two more constant fields (18, 7928); the `Fixed` variants
//! zero-pad 16-byte price and quantity slots, and the `varying` ones change value widths, which
//! in the `Exact` layout moves the message tail and re-sums it on every send.
//! Run: `cargo bench -p tickwire-fix --bench emit -- --measurement-time 2`.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::hint::black_box;
use std::time::Duration;

use criterion::Criterion;
use tickwire_fix::decimal::Decimal;
use tickwire_fix::encode::write_u64;
use tickwire_fix::outbound::{self, OrderShape, Side, SlotWidths};
use tickwire_fix::template::{Header, Layout};
use tickwire_fix::time::UtcTimestamp;

const GROUP: &str = "emit_nos";

/// What a hand-written client does: the whole message with `format!`, every time.
fn naive_emit(seq: u64, now: &str, id: u64, px: f64, qty: f64) -> String {
    let body = format!(
        "35=D\x0134={seq}\x0149=TESTCLIENT\x0156=KRAKEN-TRD\x0152={now}\x0111={id}\x0155=BTC/USD\x0154=1\x0140=2\x0144={px:.1}\x0138={qty}\x0159=1\x0118=P\x017928=1\x0160={now}\x01"
    );
    let head = format!("8=FIX.4.4\x019={}\x01", body.len());
    let sum = head.bytes().chain(body.bytes()).map(u32::from).sum::<u32>() % 256;
    format!("{head}{body}10={sum:03}\x01")
}

fn benches(c: &mut Criterion) {
    let header = Header {
        begin_string: b"FIX.4.4",
        sender: b"TESTCLIENT",
        target: b"KRAKEN-TRD",
        time_after_target: true,
    };
    let shape = OrderShape {
        exec_inst: Some(b"P"),
        stp: Some(1),
        ..OrderShape::limit(b"BTC/USD", Side::Buy)
    };
    let mut g = c.benchmark_group(GROUP);
    // "same": every value keeps its text width (the exact layout's best case); "varying": the
    // quantity and price change width from order to order (0.01 / 0.015 / 0.2, 84000.1 /
    // 84000.05), which the exact layout pays for by moving the tail and re-summing.
    for (name, layout, varying) in [
        ("fixed_same", Layout::FIXED, false),
        ("exact_same", Layout::Exact, false),
        ("fixed_varying", Layout::FIXED, true),
        ("exact_varying", Layout::Exact, true),
    ] {
        let mut order =
            outbound::new_order_single_with(header, &shape, layout, SlotWidths::SPOT).unwrap();
        let mut now = UtcTimestamp::parse(b"20260407-14:32:05.000").unwrap();
        let mut seq = 1_000u64;
        let mut id = 1_775_572_325_000_000u64;
        let mut out = [0u8; 512];
        let mut id_text = [0u8; 20];
        g.bench_function(name, |b| {
            b.iter(|| {
                seq += 1;
                id += 1;
                now.nanos += 1_000;
                let n = write_u64(&mut id_text, id).unwrap();
                let (px, qty) = if varying {
                    let k = (seq % 3) as usize;
                    (
                        [
                            Decimal::new(840_001, 1),
                            Decimal::new(8_400_005, 2),
                            Decimal::new(840_002, 1),
                        ][k],
                        [Decimal::new(1, 2), Decimal::new(15, 3), Decimal::new(2, 1)][k],
                    )
                } else {
                    (
                        Decimal::new(840_000 + (seq % 5) as i64, 1),
                        Decimal::new(1, 2),
                    )
                };
                order.patch(seq, now, &id_text[..n], Some(px), qty).unwrap();
                black_box(order.template.copy_to(black_box(&mut out)).unwrap())
            })
        });
    }
    let mut seq = 1_000u64;
    g.bench_function("naive", |b| {
        let now_s = "20260407-14:32:05.000";
        b.iter(|| {
            seq += 1;
            black_box(
                naive_emit(
                    seq,
                    now_s,
                    1_775_572_325_000_000 + seq,
                    84000.0 + (seq % 5) as f64 / 10.0,
                    0.01,
                )
                .len(),
            )
        })
    });
    g.finish();
}

fn median_ns(name: &str) -> Option<f64> {
    let dir = std::env::var("CARGO_TARGET_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../target").into());
    let text =
        std::fs::read_to_string(format!("{dir}/criterion/{GROUP}/{name}/new/estimates.json"))
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
    let naive = median_ns("naive");
    println!(
        "\n{:<14} {:>12} {:>16}",
        "variant", "median (ns)", "naive / variant"
    );
    for name in [
        "fixed_same",
        "exact_same",
        "fixed_varying",
        "exact_varying",
        "naive",
    ] {
        match (median_ns(name), naive) {
            (Some(t), Some(n)) => println!("{name:<14} {t:>12.1} {:>15.1}x", n / t),
            _ => println!("{name:<14} (no estimates: run without --test/--list)"),
        }
    }
}
