//! What the engine's duty cycle costs on the tick-to-trade path, next to the same path driven
//! by hand, in one run, on the in-memory NIC pair, one thread.
//!
//! - `engine`: `Engine::do_work` in the cycle that receives a tick — NIC rx, allowlist, smoltcp,
//!   TLS 1.3 open, FIX parse, book, `Strategy::on_book` (ThresholdBuy), kill switch, ClOrdID,
//!   pre-trade hook, template patch, FIX session, TLS seal, TCP, NIC tx — plus everything else
//!   the cycle does (commands, allowlist refresh, every session's state machine, counters);
//! - `by hand` (the baseline): the same layers called directly, as `bench/src/inmem.rs` does:
//!   `Stack::poll`, `Link::pump` into the book, the trigger, `send_raw` with the template,
//!   `Link::flush`, `Stack::poll`;
//! - `engine+log`: the engine as the daemon runs it, recording every message into the message
//!   log's 4 MiB ring, which a writer thread drains (sleeping 1 ms when it finds it empty, as
//!   the daemon's control loop does).
//!
//! All three run against identical venues (the test venue of `tests/engine_util`), interleaved
//! in 25 rounds of 4000 ticks, the order rotating, so that load drifting on a shared machine
//! hits all of them. Each tick gives two samples of the cycle that received it and emitted its
//! order: the whole cycle, timed with `Instant` (for the engine, also what `do_work` does after
//! the order has left: the other session, timers, counters), and `inside`, the tick's frame
//! out of the NIC → the order's frame handed to it, from the client NIC's TSC marks
//! (`StampNic`, the interval `tickwire bench` reports). HDR histograms; the tables give p50,
//! p99, p99.9 and max, then the ratios of the medians, over all samples and per round (median
//! and range). Only that every order was filled and every message logged is asserted.
//! Run: `cargo bench -p tickwire-dataplane --bench engine`.
#![allow(clippy::unwrap_used, clippy::print_stdout, dead_code)]

#[path = "../tests/engine_util/mod.rs"]
mod engine_util;

use std::net::SocketAddrV4;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use engine_util::*;
use hdrhistogram::Histogram;
use tickwire_dataplane::counters::read;
use tickwire_dataplane::link::Link;
use tickwire_dataplane::mem;
use tickwire_dataplane::stack::{Stack, StackConfig};
use tickwire_dataplane::stamp_nic::StampNic;
use tickwire_fix::book::Book;
use tickwire_fix::decimal::Decimal;
use tickwire_fix::encode::EncodeError;
use tickwire_fix::kraken::SpotClOrdId;
use tickwire_fix::message::Message;
use tickwire_fix::outbound::{self, NewOrder, OrderShape, Side, TimeInForce};
use tickwire_fix::session::{Capacities, MemoryJournal, Session, State};
use tickwire_fix::template::Header;
use tickwire_fix::views::{MarketData, MdTable};

const ROUNDS: usize = 25;
const TICKS_PER_ROUND: u64 = 4_000;
const WARMUP: u64 = 5_000;

/// The hand-driven client: the layers of the path, called in order.
struct ByHand {
    stack: Stack<ClientNic>,
    md: Link<MemoryJournal>,
    trd: Link<MemoryJournal>,
    book: Book,
    md_table: MdTable,
    order: NewOrder,
    ids: SpotClOrdId,
    venue: Venue,
    t: i64,
    orders: u64,
    extra_cycles: u64,
}

impl ByHand {
    fn new() -> ByHand {
        let (client_tls, server_tls) = pki();
        let (a, b) = mem::pair(1024, [2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
        let venue = Venue::new(b, server_tls, 1, true);
        let mut stack = Stack::new(
            StampNic::new(a, stamp_clock()),
            allow(VENUE),
            StackConfig {
                address: CLIENT,
                connections: 2,
                ..StackConfig::default()
            },
            0,
        );
        let link = |stack: &mut Stack<ClientNic>, port, target| {
            let conn = stack.connect(SocketAddrV4::new(VENUE, port)).unwrap();
            let tls = tickwire_tls::Session::client(
                &client_tls,
                SERVER_NAME,
                tickwire_tls::Capacities::default(),
            )
            .unwrap();
            let fix = Session::new(
                client_fix(target, true),
                MemoryJournal::new(1 << 14, 512),
                Capacities::default(),
            );
            Link::new(conn, tls, fix)
        };
        let md = link(&mut stack, MD_PORT, "KRAKEN-MD");
        let trd = link(&mut stack, TRD_PORT, "KRAKEN-TRD");
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
        ByHand {
            stack,
            md,
            trd,
            book: Book::new(10, 1, 8),
            md_table: MdTable::new(),
            order: outbound::new_order_single(header, &shape).unwrap(),
            ids: SpotClOrdId::new(0),
            venue,
            t: 0,
            orders: 0,
            extra_cycles: 0,
        }
    }

    /// One client cycle: everything the tick needs, the order out if it fires.
    #[inline(never)]
    fn cycle(&mut self) -> bool {
        let now = at(self.t);
        self.stack.poll(now.mono_ns);
        let (book, md_table) = (&mut self.book, &mut self.md_table);
        let mut updated = false;
        self.md
            .pump(&mut self.stack, now.utc, &mut |m: &Message<'_>| {
                let seq = m.seq_num().unwrap_or(0);
                if let Ok(md) = MarketData::new_cached(m, md_table) {
                    let _ = book.apply_message(&md, seq);
                    updated = true;
                }
            })
            .unwrap();
        // As the engine's strategy: evaluate on each book update.
        let fire = updated
            && matches!(self.book.best_ask(), Some((ask, _)) if ask <= TRIGGER)
            && self.trd.fix.state() == State::Active;
        if fire {
            let id = self.ids.next(now.utc).unwrap();
            let mut text = [0u8; 20];
            let w = tickwire_fix::encode::write_u64(&mut text, id).unwrap();
            let order = &mut self.order;
            self.trd
                .fix
                .send_raw(now.utc, |seq, out| {
                    let bytes = order
                        .patch(
                            seq,
                            now.utc,
                            &text[..w],
                            Some(Decimal::new(TRIGGER, 1)),
                            Decimal::new(1, 2),
                        )
                        .map_err(|_| EncodeError::BufferTooSmall { required: 0 })?;
                    out[..bytes.len()].copy_from_slice(bytes);
                    Ok(bytes.len())
                })
                .unwrap();
            self.trd.flush(&mut self.stack, now.utc).unwrap();
            self.stack.poll(now.mono_ns);
            self.orders += 1;
        }
        fire
    }

    /// The rest of a step: fills back, timers.
    fn settle(&mut self) {
        let now = at(self.t);
        self.trd
            .pump(&mut self.stack, now.utc, &mut |_| {})
            .unwrap();
        self.md.flush(&mut self.stack, now.utc).unwrap();
        self.md.fix.handle_timeout(now.utc);
        self.trd.fix.handle_timeout(now.utc);
        self.stack.poll(now.mono_ns);
    }

    fn step(&mut self) -> bool {
        self.t += 20_000;
        let fired = self.cycle();
        self.settle();
        self.venue.poll(at(self.t));
        fired
    }

    fn log_on(&mut self) {
        let mut sent = (false, false);
        for _ in 0..20_000 {
            self.step();
            let now = at(self.t);
            if self.md.is_up() && !sent.0 {
                self.md.fix.send_logon(now.utc, |_, _| {}).unwrap();
                sent.0 = true;
            }
            if self.trd.is_up() && !sent.1 {
                self.trd.fix.send_logon(now.utc, |_, _| {}).unwrap();
                sent.1 = true;
            }
            if self.md.fix.state() == State::Active
                && self.trd.fix.state() == State::Active
                && self.venue.md.is_active()
            {
                return;
            }
        }
        panic!("hand-driven client did not log on");
    }

    /// `n` ticks; the client cycle that receives each is timed into `h`.
    fn ticks(&mut self, n: u64, mut h: Option<&mut Times>) {
        for _ in 0..n {
            self.venue.tick(at(self.t));
            self.venue.poll(at(self.t));
            // The cycle that receives the tick and sends the order (the first, unless the
            // tick's frame is still in flight; such extra cycles are counted).
            let mut tries = 0;
            let dt = loop {
                self.t += 20_000;
                clear_marks(self.stack.nic_mut());
                let t0 = Instant::now();
                let fired = self.cycle();
                let dt = t0.elapsed().as_nanos() as u64;
                if fired {
                    break (dt, inside(self.stack.nic()));
                }
                self.settle();
                self.venue.poll(at(self.t));
                tries += 1;
                assert!(tries < 100, "tick never fired");
                self.extra_cycles += 1;
            };
            if let Some(h) = h.as_deref_mut() {
                h.record(dt);
            }
            self.settle();
            for _ in 0..3 {
                self.step();
            }
        }
    }
}

/// `n` ticks through the engine; the `do_work` that receives each is timed into `h`.
fn engine_ticks(rig: &mut Rig, n: u64, mut h: Option<&mut Times>, extra: &mut u64) {
    let sent = |r: &Rig| read(&r.engine.counters().counters().session[r.trd.index()].orders_sent);
    for _ in 0..n {
        rig.venue.tick(at(rig.t));
        rig.venue.poll(at(rig.t));
        let before = sent(rig);
        let mut tries = 0;
        let dt = loop {
            rig.t += 20_000;
            clear_marks(rig.engine.stack_mut().nic_mut().inner_mut());
            let t0 = Instant::now();
            rig.engine.do_work(at(rig.t));
            let dt = t0.elapsed().as_nanos() as u64;
            if sent(rig) > before {
                break (dt, inside(rig.engine.stack_mut().nic_mut().inner()));
            }
            rig.venue.poll(at(rig.t));
            tries += 1;
            assert!(tries < 100, "tick never fired");
            *extra += 1;
        };
        assert_eq!(sent(rig), before + 1, "one order per tick");
        if let Some(h) = h.as_deref_mut() {
            h.record(dt);
        }
        rig.venue.poll(at(rig.t));
        for _ in 0..3 {
            rig.step();
        }
    }
}

/// The two measures of one path: the whole cycle that fired, and inside it the tick's frame
/// leaving the NIC → the order's frame handed to it ([`StampNic`]'s marks, as `tickwire bench`
/// defines tick-to-trade).
struct Times {
    cycle: Histogram<u64>,
    inside: Histogram<u64>,
    /// Firing cycles that had no tick frame in (it came in during an earlier one).
    unstamped: u64,
}

impl Times {
    fn new() -> Times {
        let new = || Histogram::<u64>::new_with_bounds(1, 10_000_000_000, 3).unwrap();
        Times {
            cycle: new(),
            inside: new(),
            unstamped: 0,
        }
    }

    fn record(&mut self, (cycle, inside): (u64, Option<u64>)) {
        self.cycle.record(cycle.max(1)).unwrap();
        match inside {
            Some(ns) => self.inside.record(ns.max(1)).unwrap(),
            None => self.unstamped += 1,
        }
    }

    fn add(&mut self, other: &Times) {
        self.cycle.add(&other.cycle).unwrap();
        self.inside.add(&other.inside).unwrap();
        self.unstamped += other.unstamped;
    }
}

fn clear_marks(nic: &mut ClientNic) {
    nic.clear_rx();
    nic.clear_tx();
}

/// Tick in → order out of the cycle that fired; `None` when the tick's frame had come in
/// during an earlier cycle (then only the cycle is recorded).
fn inside(nic: &ClientNic) -> Option<u64> {
    match (nic.rx_at(), nic.tx_at()) {
        (Some(rx), Some(tx)) => Some(tx.saturating_sub(rx) as u64),
        (None, Some(_)) => None,
        marks => panic!("the firing cycle sent no order: {marks:?}"),
    }
}

fn row(name: &str, h: &Histogram<u64>) -> String {
    format!(
        "{name:<10} {:>8} {:>8} {:>8} {:>9} {:>9}",
        h.value_at_quantile(0.5),
        h.value_at_quantile(0.99),
        h.value_at_quantile(0.999),
        h.max(),
        h.len()
    )
}

/// The daemon's message-log writer, on a thread of its own: drains the ring, sleeps 1 ms
/// whenever it found it empty (as the daemon's control loop does). Stops when `stop` is set;
/// returns the records it drained.
fn log_writer(
    mut drain: tickwire_dataplane::msglog::Drain,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let mut record = tickwire_dataplane::msglog::Record::default();
        let mut n = 0;
        while !stop.load(Ordering::Relaxed) {
            let mut work = 0;
            while drain.next(&mut record) {
                work += 1;
            }
            n += work;
            if work == 0 {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
        n
    })
}

fn main() {
    let mut rig = Rig::new(1, true);
    rig.log_on();
    // The daemon's configuration: every message recorded into a 4 MiB ring, drained by
    // another thread.
    let mut logged = Rig::new(1, true);
    let (tap, drain) = tickwire_dataplane::msglog::ring(4 << 20);
    logged.engine.set_message_log(tap);
    let stop = Arc::new(AtomicBool::new(false));
    let writer = log_writer(drain, stop.clone());
    logged.log_on();
    let mut hand = ByHand::new();
    hand.log_on();
    let mut engine_extra = 0;
    engine_ticks(&mut rig, WARMUP, None, &mut engine_extra);
    engine_ticks(&mut logged, WARMUP, None, &mut engine_extra);
    hand.ticks(WARMUP, None);

    let (mut he, mut hl, mut hh) = (Times::new(), Times::new(), Times::new());
    let mut ratios = Vec::new();
    let mut inside_ratios = Vec::new();
    let mut log_ratios = Vec::new();
    let p50 = |h: &Histogram<u64>| h.value_at_quantile(0.5) as f64;
    for round in 0..ROUNDS {
        let (mut re, mut rl, mut rh) = (Times::new(), Times::new(), Times::new());
        // Rotate which goes first.
        for k in 0..3 {
            match (round + k) % 3 {
                0 => engine_ticks(&mut rig, TICKS_PER_ROUND, Some(&mut re), &mut engine_extra),
                1 => engine_ticks(
                    &mut logged,
                    TICKS_PER_ROUND,
                    Some(&mut rl),
                    &mut engine_extra,
                ),
                _ => hand.ticks(TICKS_PER_ROUND, Some(&mut rh)),
            }
        }
        ratios.push(p50(&re.cycle) / p50(&rh.cycle));
        inside_ratios.push(p50(&re.inside) / p50(&rh.inside));
        log_ratios.push(p50(&rl.cycle) / p50(&re.cycle));
        he.add(&re);
        hl.add(&rl);
        hh.add(&rh);
    }
    stop.store(true, Ordering::Relaxed);
    let logged_records = writer.join().unwrap();
    let dropped = logged.engine.take_message_log().map_or(0, |t| t.dropped());
    for r in [&rig, &logged] {
        let s = r.engine.strategy();
        assert_eq!(
            (s.sent, s.fills),
            (s.fills, s.sent),
            "every engine order filled"
        );
    }
    // Each tick in and each order out at least (plus fills and admin messages).
    let orders = WARMUP + ROUNDS as u64 * TICKS_PER_ROUND;
    assert!(
        logged_records + dropped >= 2 * orders,
        "{logged_records} records logged, {dropped} dropped, for {orders} ticks"
    );
    assert_eq!(hand.orders, orders);
    println!("tick-to-trade, ns ({ROUNDS} interleaved rounds of {TICKS_PER_ROUND} ticks, every tick fires)");
    for (measure, of) in [
        ("cycle", [&he.cycle, &hl.cycle, &hh.cycle]),
        ("inside", [&he.inside, &hl.inside, &hh.inside]),
    ] {
        println!(
            "{measure:<10} {:>8} {:>8} {:>8} {:>9} {:>9}",
            "p50", "p99", "p99.9", "max", "samples"
        );
        for (name, h) in ["engine", "engine+log", "by hand"].into_iter().zip(of) {
            println!("{}", row(name, h));
        }
    }
    println!(
        "cycles before the one that fired (tick still in flight): engine {engine_extra}, by hand {}; firing cycles without the tick's frame (taken in by an earlier one, not in `inside`): engine {}, engine+log {}, by hand {}",
        hand.extra_cycles, he.unstamped, hl.unstamped, hh.unstamped
    );
    println!(
        "engine / by hand, p50 of the cycle: {:.2} (all samples); per round: {}",
        p50(&he.cycle) / p50(&hh.cycle),
        spread(&mut ratios)
    );
    println!(
        "engine / by hand, p50 inside (tick in → order out): {:.2} (all samples); per round: {}",
        p50(&he.inside) / p50(&hh.inside),
        spread(&mut inside_ratios)
    );
    println!(
        "engine with the message log / without, p50 of the cycle: {:.2} (all samples); per round: {}; {logged_records} records written, {dropped} dropped",
        p50(&hl.cycle) / p50(&he.cycle),
        spread(&mut log_ratios)
    );
}

/// "median (min–max) of N rounds" of per-round p50 ratios: both sides of a ratio ran in the
/// same round, so a host that changes speed between rounds moves both.
fn spread(ratios: &mut [f64]) -> String {
    ratios.sort_by(f64::total_cmp);
    match (ratios.first(), ratios.last()) {
        (Some(lo), Some(hi)) => format!(
            "median {:.2} ({lo:.2}–{hi:.2}) of {} rounds",
            ratios[ratios.len() / 2],
            ratios.len()
        ),
        _ => "no rounds".into(),
    }
}
