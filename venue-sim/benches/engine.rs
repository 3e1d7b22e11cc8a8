//! Matching-engine throughput on one core: a mixed flow from four accounts on BTC/USD — 50 %
//! passive limit orders, 40 % cancels, 10 % crossing IOC orders that trade through up to three
//! levels — with events drained after every call as the FIX layer would. Reported as order operations per second (target ≥ 1 M ops/s).
//!
//! `cargo bench -p tickwire-venue --bench engine` (short measurement: the machine is shared).
//! Rate limits, ClOrdID registries and the error-rate safeguard are switched off so the numbers
//! measure matching, not bookkeeping a real venue also does; `engine/with_limits` keeps them on.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tickwire_fix::decimal::Decimal;
use tickwire_fix::time::UtcTimestamp;
use tickwire_venue::engine::{
    AccountConfig, CancelRequest, Config, Engine, Event, InstrumentSpec, NewOrder, SessionConfig,
    SessionId, Side, TimeInForce,
};
use tickwire_venue::limits::Tier;

const T0: i64 = 1_775_572_325_000_000_000;
/// Operations per measured batch.
const BATCH: u64 = 10_000;

/// A deterministic xorshift generator for the flow.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Writes `n` in decimal into `buf`; returns the digits (no allocation in the loop).
fn digits(n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &buf[i..]
}

struct Flow {
    e: Engine,
    sessions: Vec<SessionId>,
    rng: Rng,
    cl: u64,
    now: i64,
    /// Recently placed (session, ClOrdID) pairs, cancelled later.
    recent: Vec<(usize, u64)>,
    ops: u64,
    trades: u64,
    rejects: u64,
}

impl Flow {
    fn new(limits: bool) -> Flow {
        let mut cfg = Config::spot();
        cfg.max_orders = 1 << 16;
        cfg.event_capacity = 1 << 12;
        if !limits {
            cfg.spot_rate_limit = false;
            cfg.open_order_cap = false;
            cfg.error_rate = None;
            cfg.clordid.unique = false;
            cfg.clordid.spot_increasing = false;
        } else {
            // The checks a real session also pays for (duplicate / increasing ClOrdIDs, error
            // counting); the rate counter stays off, or nearly every order would be refused.
            cfg.spot_rate_limit = false;
            cfg.open_order_cap = false;
            cfg.clordids_per_account = 1 << 22;
        }
        let mut e = Engine::new(cfg, vec![InstrumentSpec::btc_usd()]).expect("engine");
        let sessions = (0..4)
            .map(|_| {
                let a = e
                    .add_account(AccountConfig {
                        tier: Tier::Pro,
                        ..AccountConfig::default()
                    })
                    .expect("account");
                e.open_session(a, SessionConfig::default())
                    .expect("session")
            })
            .collect();
        Flow {
            e,
            sessions,
            rng: Rng(0x9E37_79B9_7F4A_7C15),
            cl: 1_775_572_325_000_000,
            now: T0,
            recent: Vec::with_capacity(1 << 16),
            ops: 0,
            trades: 0,
            rejects: 0,
        }
    }

    fn step(&mut self) {
        let r = self.rng.next();
        let who = (r & 3) as usize;
        self.now += 1_000; // 1 µs per operation
        let now = UtcTimestamp::from_nanos(self.now);
        self.cl += 1;
        let mut cl_buf = [0u8; 20];
        let cl = digits(self.cl, &mut cl_buf);
        let mut kind = (r >> 8) % 10;
        if self.e.live_orders() > 20_000 && kind < 5 {
            kind = 5;
        }
        let side = if (r >> 16) & 1 == 0 {
            Side::Buy
        } else {
            Side::Sell
        };
        let qty = Decimal::new(100_000 * (1 + ((r >> 32) % 5) as i64), 8);
        match kind {
            // 50 %: a passive limit order 1–20 ticks from 84000.0 (rests).
            0..=4 => {
                let off = 1 + ((r >> 20) % 20) as i64;
                let px = match side {
                    Side::Buy => 840_000 - off,
                    Side::Sell => 840_000 + off,
                };
                let req = NewOrder::limit(cl, b"BTC/USD", side, qty, Decimal::new(px, 1));
                self.e
                    .handle_new_order(self.sessions[who], &req, now)
                    .expect("session");
                if self.recent.len() < self.recent.capacity() {
                    self.recent.push((who, self.cl));
                }
            }
            // 40 %: cancel a random earlier order (one that has filled meanwhile is rejected
            // as unknown, as on Kraken).
            5..=8 => {
                if self.recent.is_empty() {
                    return;
                }
                let i = ((r >> 24) as usize) % self.recent.len();
                let (s, target) = self.recent.swap_remove(i);
                let mut orig_buf = [0u8; 20];
                let orig = digits(target, &mut orig_buf);
                let req = CancelRequest {
                    cl_ord_id: cl,
                    order_id: None,
                    orig_cl_ord_id: Some(orig),
                    symbol: b"BTC/USD",
                    side: Side::Buy,
                };
                self.e
                    .handle_cancel(self.sessions[s], &req, now)
                    .expect("session");
            }
            // 10 %: an IOC that crosses up to 3 ticks through the touch and trades.
            _ => {
                let px = match side {
                    Side::Buy => 840_003,
                    Side::Sell => 839_997,
                };
                let mut req = NewOrder::limit(cl, b"BTC/USD", side, qty, Decimal::new(px, 1));
                req.tif = TimeInForce::ImmediateOrCancel;
                self.e
                    .handle_new_order(self.sessions[who], &req, now)
                    .expect("session");
            }
        }
        self.ops += 1;
        while let Some(ev) = self.e.poll_event() {
            match ev {
                Event::Trade(_) => self.trades += 1,
                Event::Reject(_) => self.rejects += 1,
                _ => {}
            }
            black_box(ev);
        }
    }
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("engine");
    g.throughput(Throughput::Elements(BATCH));
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(2));
    g.sample_size(20);
    for (name, limits) in [
        ("mixed_add_cancel_match", false),
        ("with_clordid_and_error_checks", true),
    ] {
        let mut flow = Flow::new(limits);
        g.bench_function(name, |b| {
            b.iter(|| {
                for _ in 0..BATCH {
                    flow.step();
                }
            })
        });
        eprintln!(
            "{name}: {} ops, {:.3} trades per op, {:.1} % rejected (cancels of filled orders), \
             {} orders live at the end",
            flow.ops,
            flow.trades as f64 / flow.ops.max(1) as f64,
            100.0 * flow.rejects as f64 / flow.ops.max(1) as f64,
            flow.e.live_orders()
        );
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
