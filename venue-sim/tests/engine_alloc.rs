//! The engine does not allocate in steady state: after start-up and a warm-up, 100 000 mixed
//! requests (limit, market, IOC, post-only, iceberg, stop and trailing orders, amends, cancels,
//! status requests, mass cancels, GTD expiry, index moves) with every event drained make zero
//! heap allocations on this thread.
#![allow(clippy::unwrap_used)]

use tickwire_fix::decimal::Decimal;
use tickwire_fix::time::UtcTimestamp;
use tickwire_venue::engine::{
    AccountConfig, AmendRequest, CancelRequest, Config, Engine, Event, ExecInst, InstrumentSpec,
    MassCancelRequest, MassCancelScope, NewOrder, OrdType, SessionConfig, SessionId, Side,
    StatusRequest, TimeInForce, TriggerRef,
};

// The test reads this thread's count (`Counts::this_thread`): tests running in parallel
// threads of this binary do not disturb it.
#[global_allocator]
static GLOBAL: tickwire_testutil::CountingAlloc = tickwire_testutil::CountingAlloc;

const T0: i64 = 1_775_572_325_000_000_000;

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
    sessions: [SessionId; 3],
    rng: u64,
    cl: u64,
    now: i64,
    /// Ring of recent ClOrdIDs per session (fixed size, no allocation).
    recent: [[u64; 64]; 3],
    events: u64,
    trades: u64,
    triggered: u64,
}

impl Flow {
    fn new() -> Flow {
        let mut cfg = Config::spot();
        cfg.max_orders = 8192;
        cfg.spot_rate_limit = false;
        cfg.open_order_cap = false;
        cfg.error_rate = None;
        cfg.clordids_per_account = 1 << 20;
        let mut e = Engine::new(cfg, vec![InstrumentSpec::btc_usd()]).unwrap();
        let sessions = [0, 1, 2].map(|_| {
            let a = e.add_account(AccountConfig::default()).unwrap();
            e.open_session(a, SessionConfig::default()).unwrap()
        });
        Flow {
            e,
            sessions,
            rng: 0x2545_F491_4F6C_DD1D,
            cl: 1_775_572_325_000_000,
            now: T0,
            recent: [[0; 64]; 3],
            events: 0,
            trades: 0,
            triggered: 0,
        }
    }

    fn rand(&mut self) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    fn step(&mut self) {
        let r = self.rand();
        let who = (r % 3) as usize;
        let s = self.sessions[who];
        self.now += 50_000;
        let now = UtcTimestamp::from_nanos(self.now);
        self.cl += 1;
        let mut cl_buf = [0u8; 20];
        let cl = digits(self.cl, &mut cl_buf);
        let side = if (r >> 8) & 1 == 0 {
            Side::Buy
        } else {
            Side::Sell
        };
        let off = ((r >> 12) % 16) as i64 - 3;
        let px = Decimal::new(
            match side {
                Side::Buy => 840_000 - off,
                Side::Sell => 840_000 + off,
            },
            1,
        );
        let qty = Decimal::new(100_000 * (1 + ((r >> 20) % 6) as i64), 8);
        let target = self.recent[who][((r >> 28) % 64) as usize];
        let mut t_buf = [0u8; 20];
        let orig = digits(target, &mut t_buf);
        match (r >> 36) % 20 {
            0..=8 => {
                let mut req = NewOrder::limit(cl, b"BTC/USD", side, qty, px);
                match (r >> 44) % 8 {
                    0 => req.tif = TimeInForce::ImmediateOrCancel,
                    1 => {
                        req.exec_inst = ExecInst {
                            post_only: true,
                            ..ExecInst::default()
                        }
                    }
                    2 => {
                        req.qty = Decimal::new(qty.mantissa * 3, 8);
                        req.display_qty = Some(qty);
                    }
                    3 => {
                        req.tif = TimeInForce::GoodTillDate;
                        req.expire_time = Some(UtcTimestamp::from_nanos(self.now + 20_000_000));
                    }
                    _ => {}
                }
                self.e.handle_new_order(s, &req, now).unwrap();
                self.recent[who][(self.cl % 64) as usize] = self.cl;
            }
            9 => {
                let req = NewOrder::market(cl, b"BTC/USD", side, qty);
                self.e.handle_new_order(s, &req, now).unwrap();
            }
            10 | 11 => {
                let (t, stop) = match (r >> 44) % 3 {
                    0 => (OrdType::StopLoss, px),
                    1 => (OrdType::TakeProfitLimit, px),
                    _ => (OrdType::TrailingStop, Decimal::new(5, 1)),
                };
                let mut req = NewOrder::limit(cl, b"BTC/USD", side, qty, px);
                req.ord_type = t;
                req.stop_px = Some(stop);
                if (r >> 50) & 1 == 0 {
                    req.trigger_ref = TriggerRef::Index;
                }
                self.e.handle_new_order(s, &req, now).unwrap();
                self.recent[who][(self.cl % 64) as usize] = self.cl;
            }
            12..=15 => {
                let req = CancelRequest {
                    cl_ord_id: cl,
                    order_id: None,
                    orig_cl_ord_id: Some(orig),
                    symbol: b"BTC/USD",
                    side,
                };
                self.e.handle_cancel(s, &req, now).unwrap();
            }
            16 | 17 => {
                let req = AmendRequest {
                    cl_ord_id: cl,
                    order_id: None,
                    orig_cl_ord_id: Some(orig),
                    symbol: b"BTC/USD",
                    side,
                    ord_type: OrdType::Limit,
                    tif: TimeInForce::GoodTillCancel,
                    qty,
                    price: Some(px),
                    stop_px: None,
                    display_qty: None,
                    post_only: false,
                    valid_until: None,
                };
                self.e.handle_amend(s, &req, now).unwrap();
                self.recent[who][(self.cl % 64) as usize] = self.cl;
            }
            18 => {
                let req = StatusRequest {
                    cl_ord_id: orig,
                    order_id: None,
                    symbol: b"BTC/USD",
                };
                self.e.handle_status(s, &req, now).unwrap();
            }
            _ => {
                if (r >> 44) % 8 == 0 {
                    let req = MassCancelRequest {
                        cl_ord_id: cl,
                        scope: MassCancelScope::Session,
                        symbol: None,
                    };
                    self.e.handle_mass_cancel(s, &req, now).unwrap();
                } else {
                    let id = self.e.instrument_id(b"BTC/USD").unwrap();
                    self.e.set_index_price(id, px, now).unwrap();
                }
            }
        }
        while let Some(ev) = self.e.poll_event() {
            match ev {
                Event::Trade(_) => self.trades += 1,
                Event::Report(r) if r.trigger_price.is_some() => self.triggered += 1,
                _ => {}
            }
            self.events += 1;
        }
    }
}

#[test]
fn steady_state_requests_do_not_allocate() {
    let mut f = Flow::new();
    for _ in 0..20_000 {
        f.step();
    }
    let events_before = f.events;
    let ((), allocs) = tickwire_testutil::measure(|| {
        for _ in 0..100_000 {
            f.step();
        }
    });
    assert!(
        f.events - events_before > 100_000,
        "the flow produced events"
    );
    assert_eq!(allocs.this_thread, 0, "allocations in steady state");
    assert!(
        f.trades > 10_000 && f.triggered > 1_000,
        "{} trades, {} triggered",
        f.trades,
        f.triggered
    );
    f.e.verify().unwrap();
}
