//! What the message log costs the engine thread per message: `Tap::record` of a 330-byte
//! message (an order's size) into the byte ring, next to the baseline a straightforward
//! writer of the same record would be (and `Tap::record` was until session 14): rtrb's
//! `write_chunk_uninit` filled from a byte iterator over header and message. Only the record
//! is timed; each batch of 1000 is drained untimed before the next. criterion measures both,
//! then both run interleaved in 200 rounds and the median per-round ratio is printed.
//! Run: `cargo bench -p tickwire-dataplane --bench msglog`. With
//! `TICKWIRE_MSGLOG_BENCH_LOOP=N` the binary only records and drains N messages through the
//! `Tap`, for instruction counts under `valgrind --tool=callgrind`.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use tickwire_dataplane::msglog::{record_header, ring, Direction, Drain, Record, Tap, HEADER};

const ORDER: usize = 330;
const BATCH: u64 = 1000;
const ROUNDS: usize = 200;

fn message(len: usize) -> Vec<u8> {
    (0..len).map(|i| b'0' + (i % 10) as u8).collect()
}

/// The two writers measured, each with its ring's reading end.
struct Writers {
    msg: Vec<u8>,
    tap: Tap,
    drain: Drain,
    out: Record,
    naive: rtrb::Producer<u8>,
    naive_out: rtrb::Consumer<u8>,
}

impl Writers {
    fn new() -> Writers {
        let (tap, drain) = ring(1 << 20);
        let (naive, naive_out) = rtrb::RingBuffer::new(1 << 20);
        Writers {
            msg: message(ORDER),
            tap,
            drain,
            out: Record::default(),
            naive,
            naive_out,
        }
    }

    /// `k` records through the `Tap` (timed), then drained (untimed).
    fn tap_batch(&mut self, k: u64) -> Duration {
        let t = Instant::now();
        for i in 0..k {
            assert!(self
                .tap
                .record(0, Direction::Out, i as i64, black_box(&self.msg)));
        }
        let d = t.elapsed();
        for _ in 0..k {
            assert!(self.drain.next(&mut self.out));
        }
        d
    }

    /// `k` of the same records filled from a byte iterator (timed), then discarded (untimed).
    fn naive_batch(&mut self, k: u64) -> Duration {
        let body = black_box(&self.msg[..]);
        let t = Instant::now();
        for i in 0..k {
            let header = record_header(0, Direction::Out, false, body.len(), i as i64);
            let chunk = self.naive.write_chunk_uninit(HEADER + body.len()).unwrap();
            chunk.fill_from_iter(header.iter().chain(body).copied());
        }
        let d = t.elapsed();
        let n = self.naive_out.slots();
        self.naive_out.read_chunk(n).unwrap().commit_all();
        d
    }
}

/// Nanoseconds per record over `iters`, in batches of at most [`BATCH`].
fn per_iters(iters: u64, mut batch: impl FnMut(u64) -> Duration) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let k = left.min(BATCH);
        total += batch(k);
        left -= k;
    }
    total
}

fn main() {
    let mut w = Writers::new();
    if let Some(n) = std::env::var("TICKWIRE_MSGLOG_BENCH_LOOP")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        per_iters(n, |k| w.tap_batch(k));
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    let mut g = c.benchmark_group("msglog");
    g.bench_function("record_330B", |b| {
        b.iter_custom(|iters| per_iters(iters, |k| w.tap_batch(k)))
    });
    g.bench_function("record_330B_byte_iterator", |b| {
        b.iter_custom(|iters| per_iters(iters, |k| w.naive_batch(k)))
    });
    g.finish();
    c.final_summary();
    // Interleaved, so that a host changing speed moves both sides of each round's ratio.
    let race = tickwire_testutil::race::interleaved(
        ROUNDS,
        &mut w,
        |w| w.tap_batch(BATCH).as_nanos() as f64 / BATCH as f64,
        |w| w.naive_batch(BATCH).as_nanos() as f64 / BATCH as f64,
    );
    println!(
        "record of a {ORDER}-byte message, interleaved ({ROUNDS} rounds × {BATCH}): Tap::record \
         {:.1} ns, byte-iterator fill {:.1} ns; median per-round ratio {:.1}x",
        race.ours, race.theirs, race.ratio
    );
}
