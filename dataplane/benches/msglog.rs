//! What the message log costs the engine thread per message: `Tap::record` of a 297-byte
//! ExecutionReport and of a 330-byte NewOrderSingle-sized message into the byte ring, with the
//! writer's `Drain::next` in the same loop (untimed work is impossible at this grain, so the
//! drain is reported alone next to it, to subtract). Run: `cargo bench -p tickwire-dataplane
//! --bench msglog`. With `TICKWIRE_MSGLOG_BENCH_LOOP=N` the binary only records and drains N
//! messages, for instruction counts under `valgrind --tool=callgrind`.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::hint::black_box;

use criterion::Criterion;
use tickwire_dataplane::msglog::{ring, Direction, Drain, Record, Tap};

const ORDER: usize = 330;

fn message(len: usize) -> Vec<u8> {
    (0..len).map(|i| b'0' + (i % 10) as u8).collect()
}

fn record_and_drain(tap: &mut Tap, drain: &mut Drain, out: &mut Record, msg: &[u8], i: i64) {
    assert!(tap.record(0, Direction::Out, i, black_box(msg)));
    assert!(drain.next(out));
    black_box(out.bytes.len());
}

fn main() {
    let msg = message(ORDER);
    let (mut tap, mut drain) = ring(1 << 20);
    let mut out = Record::default();
    if let Some(n) = std::env::var("TICKWIRE_MSGLOG_BENCH_LOOP")
        .ok()
        .and_then(|v| v.parse::<i64>().ok())
    {
        for i in 0..n {
            record_and_drain(&mut tap, &mut drain, &mut out, &msg, i);
        }
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    let mut g = c.benchmark_group("msglog");
    let mut i = 0i64;
    g.bench_function("record_330B+drain", |b| {
        b.iter(|| {
            i += 1;
            record_and_drain(&mut tap, &mut drain, &mut out, &msg, i);
        })
    });
    // The drain alone: a record is put in untimed batches of 1000, then drained timed.
    g.bench_function("drain_330B", |b| {
        b.iter_custom(|iters| {
            let mut total = std::time::Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let k = left.min(1000);
                for j in 0..k {
                    assert!(tap.record(0, Direction::Out, j as i64, &msg));
                }
                let t = std::time::Instant::now();
                for _ in 0..k {
                    assert!(drain.next(&mut out));
                }
                total += t.elapsed();
                left -= k;
            }
            total
        })
    });
    g.finish();
    c.final_summary();
}
