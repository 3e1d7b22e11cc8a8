//! Per-stage timing of the FIX fast path with a plain loop (quick look, no statistics; the
//! criterion bench `fastpath` is the measurement of record).
//! Run: `cargo run --release -p tickwire-fix --example breakdown`.
#![allow(clippy::unwrap_used, clippy::print_stdout)]
use std::hint::black_box;
use std::time::Instant;
use tickwire_fix::decimal::Decimal;
use tickwire_fix::message::{frame, FieldIndex, FrameLimits, Message};
use tickwire_fix::views::ExecutionReport;
const ER: &str = "8=FIX.4.4|9=354|35=8|34=3|49=KRAKEN-TRD|56=TESTCLIENT|52=20260407-14:32:07.250|6=84000.0|11=1775572325000000|14=0.004|17=SIMX0000002:TRD001|31=84000.0|32=0.004|37=O3KQ7T-XH2LM-ZP4WUA|38=0.01|39=1|40=2|44=84000.0|54=1|55=BTC/USD|59=1|60=20260407-14:32:07.249|118=336.0|136=1|137=0.5376|138=USD|139=4|150=F|151=0.006|381=336.0|527=78211235|1003=THVRQM-33VKH-UCI7BS|5050=0|10=014|";
fn time(name: &str, n: u32, mut f: impl FnMut()) {
    for _ in 0..n / 10 {
        f();
    }
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    println!(
        "{name:<20} {:>8.1} ns",
        t.elapsed().as_nanos() as f64 / n as f64
    );
}
fn main() {
    let er = ER.replace('|', "\x01");
    let raw = er.as_bytes();
    let n = 2_000_000;
    time("checksum", n, || {
        black_box(tickwire_fix::encode::checksum(black_box(raw)));
    });
    time("frame", n, || {
        black_box(frame(black_box(raw), FrameLimits::default()).unwrap());
    });
    time("parse", n, || {
        let mut idx = FieldIndex::<64>::new();
        let m = Message::parse(black_box(raw), &mut idx).unwrap();
        black_box(m.fields().len());
    });
    time("parse+view", n, || {
        let mut idx = FieldIndex::<64>::new();
        let m = Message::parse(black_box(raw), &mut idx).unwrap();
        let v = ExecutionReport::new_checked(&m).unwrap();
        black_box(v.cum_qty());
    });
    time("decimal x1", n, || {
        black_box(Decimal::parse(black_box(b"84000.0")).unwrap());
    });
    let header = tickwire_fix::template::Header {
        begin_string: b"FIX.4.4",
        sender: b"TESTCLIENT",
        target: b"KRAKEN-TRD",
        time_after_target: true,
    };
    let mut order = tickwire_fix::outbound::new_order_single(
        header,
        &tickwire_fix::outbound::OrderShape::limit(b"BTC/USD", tickwire_fix::outbound::Side::Buy),
    )
    .unwrap();
    let mut now = tickwire_fix::time::UtcTimestamp::parse(b"20260407-14:32:05.000").unwrap();
    let mut seq = 1000u64;
    time("emit", n, || {
        seq += 1;
        now.nanos += 1000;
        black_box(
            order
                .patch(
                    seq,
                    now,
                    b"1775572325000000",
                    Some(Decimal::new(840000, 1)),
                    Decimal::new(1, 2),
                )
                .unwrap()
                .len(),
        );
    });
    time("stamp", n, || {
        seq += 1;
        now.nanos += 1000;
        order.template.stamp(seq, now).unwrap();
    });
    time("set price", n, || {
        order
            .template
            .set_decimal(order.price.unwrap(), black_box(Decimal::new(840000, 1)))
            .unwrap();
    });
    time("index init 64", n, || {
        let idx = FieldIndex::<64>::new();
        black_box(&idx);
    });
}
