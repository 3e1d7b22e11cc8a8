//! The synthetic market: seeded simulated participants that quote around a random-walking mid
//! price, cancel, and now and then take liquidity, all through the same matching engine the
//! clients trade on — so the book, the trades and the market data they cause are real engine
//! output.
//!
//! Each action is one request (a passive limit order, a cancel of one of its resting orders,
//! or a marketable IOC order). Actions are spread evenly at `rate_per_sec`, at most `burst` in
//! one [`crate::kraken::Venue::handle_timeout`] call. The participants trade on accounts of
//! [`Engine::add_participant`]: unlimited, so client rate limits do not throttle them; their
//! orders never cancel on disconnect. Same seed, same configuration and same clock: same
//! order flow.

use tickwire_fix::decimal::Decimal;
use tickwire_fix::time::UtcTimestamp;

use crate::engine::{
    CancelRequest, Engine, ExecReport, ExecType, InstrumentId, NewOrder, OrderId, SessionId, Side,
    TimeInForce,
};

/// Synthetic market parameters.
#[derive(Debug, Clone)]
pub struct MarketConfig {
    /// RNG seed.
    pub seed: u64,
    /// Requests per second across all instruments.
    pub rate_per_sec: u32,
    /// Most requests in one `handle_timeout` call (the burst shape: a late call catches up by
    /// at most this many).
    pub burst: u32,
    /// Symbols to quote, with their starting mid price.
    pub symbols: Vec<(String, Decimal)>,
    /// Resting orders per side the participants aim for; prices spread over this many ticks.
    pub levels: u32,
    /// Percentage of actions that take liquidity (IOC orders through the spread).
    pub aggressive_percent: u32,
    /// Participants (accounts); at least 2, so that takers meet other participants' quotes
    /// rather than their own (self-trade prevention).
    pub participants: u32,
}

impl Default for MarketConfig {
    fn default() -> Self {
        MarketConfig {
            seed: 1,
            rate_per_sec: 200,
            burst: 64,
            symbols: vec![
                ("BTC/USD".into(), Decimal::new(840_000, 1)),
                ("ETH/USD".into(), Decimal::new(320_000, 2)),
            ],
            levels: 20,
            aggressive_percent: 10,
            participants: 4,
        }
    }
}

#[derive(Debug)]
struct SimInst {
    id: InstrumentId,
    mid: i64,
    tick: i64,
    min_qty: i64,
    pp: u8,
    qp: u8,
    live: Vec<(OrderId, Side, usize)>,
    symbol: String,
}

/// The participants' state.
#[derive(Debug)]
pub(crate) struct Sim {
    participants: Vec<(crate::engine::AccountId, SessionId)>,
    rng: u64,
    insts: Vec<SimInst>,
    next_cl: u64,
    since_reset: u64,
    rate: u64,
    burst: u64,
    last_ns: i64,
    carry: u64,
    levels: i64,
    aggressive: u64,
}

impl Sim {
    /// Registers the participants' account and session and seeds each book with `levels`
    /// orders per side.
    pub(crate) fn new(
        cfg: &MarketConfig,
        engine: &mut Engine,
        now: UtcTimestamp,
    ) -> Result<Sim, String> {
        let mut participants = Vec::new();
        for _ in 0..cfg.participants.max(2) {
            participants.push(engine.add_participant().map_err(|e| e.to_string())?);
        }
        let mut insts = Vec::new();
        for (symbol, mid) in &cfg.symbols {
            let id = engine
                .instrument_id(symbol.as_bytes())
                .ok_or_else(|| format!("unknown symbol {symbol}"))?;
            let spec = engine.instrument(id).ok_or("unknown instrument")?;
            let (pp, qp) = (spec.price_precision, spec.qty_precision);
            let tick = spec
                .tick_size
                .to_scaled(pp)
                .map_err(|e| e.to_string())?
                .max(1);
            let mid = mid
                .to_scaled(pp)
                .map_err(|e| format!("{symbol} mid: {e}"))?;
            let min_qty = spec
                .min_qty
                .to_scaled(qp)
                .map_err(|e| e.to_string())?
                .max(1);
            insts.push(SimInst {
                symbol: symbol.clone(),
                id,
                mid,
                tick,
                min_qty,
                pp,
                qp,
                live: Vec::new(),
            });
        }
        if insts.is_empty() {
            return Err("no symbols".into());
        }
        let mut sim = Sim {
            participants,
            rng: cfg.seed ^ 0x9E37_79B9_7F4A_7C15,
            insts,
            next_cl: u64::try_from(now.nanos / 1000).unwrap_or(1).max(1),
            since_reset: 0,
            rate: u64::from(cfg.rate_per_sec),
            burst: u64::from(cfg.burst.max(1)),
            last_ns: now.nanos,
            carry: 0,
            levels: i64::from(cfg.levels.max(1)),
            aggressive: u64::from(cfg.aggressive_percent.min(100)),
        };
        for i in 0..sim.insts.len() {
            for k in 1..=sim.levels {
                for side in [Side::Buy, Side::Sell] {
                    let p = (k as usize) % sim.participants.len();
                    sim.place(engine, p, i, side, k, false, now);
                }
            }
        }
        Ok(sim)
    }

    /// True for the participants' engine session.
    pub(crate) fn owns(&self, session: SessionId) -> bool {
        self.participants.iter().any(|p| p.1 == session)
    }

    /// Requests due at `now` (at most `burst`).
    pub(crate) fn due(&mut self, now: UtcTimestamp) -> u64 {
        if now.nanos <= self.last_ns || self.rate == 0 {
            return 0;
        }
        let elapsed = (now.nanos - self.last_ns) as u64;
        self.last_ns = now.nanos;
        let total = elapsed.saturating_mul(self.rate).saturating_add(self.carry);
        let n = total / 1_000_000_000;
        self.carry = total % 1_000_000_000;
        n.min(self.burst)
    }

    fn next(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn cl_ord_id(&mut self, engine: &mut Engine, now: UtcTimestamp) -> [u8; 20] {
        // The registry of used ClOrdIDs is bounded per trading day: start a new "day" for the
        // participants long before it fills.
        self.since_reset += 1;
        if self.since_reset >= 60_000 {
            self.since_reset = 0;
            for &(account, _) in &self.participants {
                engine.reset_clordids(account);
            }
        }
        let micros = u64::try_from(now.nanos / 1000).unwrap_or(0);
        self.next_cl = (self.next_cl + 1).max(micros);
        let mut buf = [b' '; 20];
        let text = self.next_cl.to_string();
        buf[..text.len()].copy_from_slice(text.as_bytes());
        buf
    }

    #[allow(clippy::too_many_arguments)]
    fn place(
        &mut self,
        engine: &mut Engine,
        p: usize,
        i: usize,
        side: Side,
        ticks: i64,
        take: bool,
        now: UtcTimestamp,
    ) {
        let cl = self.cl_ord_id(engine, now);
        let len = cl.iter().position(|&b| b == b' ').unwrap_or(cl.len());
        let lots = 1 + (self.next() % 40) as i64;
        let inst = &self.insts[i];
        let offset = ticks * inst.tick;
        let px = match (side, take) {
            (Side::Buy, false) | (Side::Sell, true) => inst.mid - offset,
            (Side::Sell, false) | (Side::Buy, true) => inst.mid + offset,
        };
        if px <= 0 {
            return;
        }
        let symbol = inst.symbol.as_bytes();
        let qty = Decimal::new(inst.min_qty * lots, inst.qp).normalize();
        let mut order = NewOrder::limit(&cl[..len], symbol, side, qty, Decimal::new(px, inst.pp));
        if take {
            order.tif = TimeInForce::ImmediateOrCancel;
        }
        let _ = engine.handle_new_order(self.participants[p].1, &order, now);
    }

    /// One request.
    pub(crate) fn act(&mut self, engine: &mut Engine, now: UtcTimestamp) {
        let i = (self.next() % self.insts.len() as u64) as usize;
        let step = self.next() % 16;
        let levels = self.levels;
        {
            let inst = &mut self.insts[i];
            if step == 0 {
                inst.mid += inst.tick;
            } else if step == 1 && inst.mid > (levels * 4 + 1) * inst.tick {
                inst.mid -= inst.tick;
            }
        }
        let r = self.next() % 100;
        let side = if self.next() % 2 == 0 {
            Side::Buy
        } else {
            Side::Sell
        };
        let live = self.insts[i].live.len() as i64;
        let p = (self.next() % self.participants.len() as u64) as usize;
        if r < self.aggressive {
            let ticks = 1 + (self.next() % (levels as u64 / 2 + 1)) as i64;
            self.place(engine, p, i, side, ticks, true, now);
        } else if live < levels * 2 || r < 55 {
            let ticks = 1 + (self.next() % levels as u64) as i64;
            self.place(engine, p, i, side, ticks, false, now);
        } else if live > 0 {
            let k = (self.next() % live as u64) as usize;
            let (order_id, side, owner) = self.insts[i].live[k];
            let cl = self.cl_ord_id(engine, now);
            let len = cl.iter().position(|&b| b == b' ').unwrap_or(cl.len());
            let symbol = self.insts[i].symbol.as_bytes();
            let _ = engine.handle_cancel(
                self.participants[owner].1,
                &CancelRequest {
                    cl_ord_id: &cl[..len],
                    order_id: Some(order_id.as_bytes()),
                    orig_cl_ord_id: None,
                    symbol,
                    side,
                },
                now,
            );
        }
    }

    /// Tracks which of the participants' orders rest.
    pub(crate) fn on_report(&mut self, r: &ExecReport) {
        let Some(inst) = self.insts.iter_mut().find(|x| x.id == r.instrument) else {
            return;
        };
        if r.ord_status.is_terminal() {
            inst.live.retain(|o| o.0 != r.order_id);
        } else if r.exec_type == ExecType::New && !inst.live.iter().any(|o| o.0 == r.order_id) {
            let owner = self
                .participants
                .iter()
                .position(|p| p.1 == r.owner)
                .unwrap_or(0);
            inst.live.push((r.order_id, r.side, owner));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Config, Event, InstrumentSpec, RejectReason};

    #[test]
    fn participants_are_not_throttled_and_make_trades() {
        let mut e = Engine::new(
            Config::spot(),
            vec![InstrumentSpec::btc_usd(), crate::kraken::eth_usd()],
        )
        .expect("engine");
        let t0 = UtcTimestamp::from_nanos(1_775_572_325_000_000_000);
        let mut sim = Sim::new(&MarketConfig::default(), &mut e, t0).expect("sim");
        let (mut trades, mut limited) = (0, 0);
        for k in 0..5_000i64 {
            let now = UtcTimestamp::from_nanos(t0.nanos + k * 1_000_000);
            sim.act(&mut e, now);
            while let Some(ev) = e.poll_event() {
                match ev {
                    Event::Report(r) => sim.on_report(&r),
                    Event::Trade(_) => trades += 1,
                    Event::Reject(r)
                        if matches!(
                            r.reason,
                            RejectReason::RateLimitExceeded | RejectReason::OrdersLimitExceeded
                        ) =>
                    {
                        limited += 1
                    }
                    _ => {}
                }
            }
        }
        assert_eq!(limited, 0, "5000 requests in 5 s, never rate limited");
        assert!(trades > 100, "{trades} trades");
        e.verify().expect("consistent book");
        let live: usize = sim.insts.iter().map(|i| i.live.len()).sum();
        assert!(live > 20 && live < 400, "{live} resting orders");
    }
}
