//! `tickwire demo`: the embedded default, no configuration.
//!
//! What runs today: a Kraken-dialect client session and a venue session in one process, joined
//! by an in-memory byte link (no TCP/TLS yet: the userspace stack and TLS layers are separate
//! issues). The venue publishes BTC/USD book updates as real FIX 35=X messages; the client
//! parses each one, applies it to its L2 book, evaluates an armed trigger ("best ask ≤ P → buy
//! IOC at P") and, when it fires, patches the precompiled NewOrderSingle and hands it to its
//! session. The venue answers every order with an ExecutionReport fill. Each tick-to-order
//! interval (MD bytes received → order bytes queued) goes into an HDR histogram.

use std::hint::black_box;
use std::time::Instant;

use anyhow::{bail, Context as _};
use hdrhistogram::Histogram;
use tickwire_fix::book::Book;
use tickwire_fix::decimal::Decimal;
use tickwire_fix::encode::{EncodeError, Encoder};
use tickwire_fix::message::{frame, FieldIndex, FrameLimits, Message};
use tickwire_fix::outbound::{self, OrderShape, Side, TimeInForce};
use tickwire_fix::session::{
    Capacities, Config, Event, MemoryJournal, ResendPolicy, Role, Session,
};
use tickwire_fix::template::Header;
use tickwire_fix::time::UtcTimestamp;
use tickwire_fix::views::{ExecutionReport, MarketData, OrdStatus};

/// Options of `tickwire demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Number of market-data ticks the venue publishes.
    #[arg(long, default_value_t = 1_000_000)]
    pub ticks: u64,
}

fn now_utc() -> UtcTimestamp {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    UtcTimestamp::from_nanos(d.as_nanos() as i64)
}

/// Writes one incremental book update into `out`: the previous best levels leave, new ones
/// arrive (four entries, as a busy book sends them).
fn md_update(
    out: &mut [u8],
    seq: u64,
    now: UtcTimestamp,
    prev: Option<(i64, i64)>,
    ask: i64,
    bid: i64,
) -> Result<usize, EncodeError> {
    let mut e = Encoder::new(out);
    e.begin(b"FIX.4.4", b"X")
        .uint(34, seq)
        .field(49, b"KRAKEN-MD")
        .field(56, b"TESTCLIENT")
        .timestamp(52, now)
        .field(55, b"BTC/USD")
        .field(262, b"MD-BTCUSD-1")
        .uint(268, if prev.is_some() { 4 } else { 2 });
    if let Some((old_ask, old_bid)) = prev {
        e.field(279, b"2")
            .field(269, b"1")
            .decimal(270, Decimal::new(old_ask, 1))
            .field(271, b"0");
        e.field(279, b"2")
            .field(269, b"0")
            .decimal(270, Decimal::new(old_bid, 1))
            .field(271, b"0");
    }
    e.field(279, b"0")
        .field(269, b"1")
        .decimal(270, Decimal::new(ask, 1))
        .field(271, b"0.5")
        .field(279, b"0")
        .field(269, b"0")
        .decimal(270, Decimal::new(bid, 1))
        .field(271, b"0.75");
    e.finish()
}

#[allow(clippy::print_stdout)]
pub fn run(args: &Args) -> anyhow::Result<()> {
    if args.ticks == 0 {
        bail!("--ticks must be at least 1");
    }
    println!("tickwire demo — FIX fast path, client and venue sessions in one process");
    println!("(in-memory link; the TCP/TLS dataplane is not wired in yet)\n");

    let mut client_cfg = Config::kraken_initiator("TESTCLIENT", "KRAKEN-TRD")?;
    client_cfg.rollover = None;
    let mut venue_cfg = Config::kraken_initiator("KRAKEN-TRD", "TESTCLIENT")?;
    venue_cfg.role = Role::Acceptor;
    venue_cfg.resend_policy = ResendPolicy::ReplayApplication;
    venue_cfg.rollover = None;
    let mut client = Session::new(
        client_cfg,
        MemoryJournal::new(8192, 512),
        Capacities::default(),
    );
    let mut venue = Session::new(
        venue_cfg,
        MemoryJournal::new(8192, 512),
        Capacities::default(),
    );

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
    let mut order = outbound::new_order_single(header, &shape)?;
    let mut ids = tickwire_fix::kraken::SpotClOrdId::new(0);
    let mut book = Book::new(10, 1, 8);
    book.begin_snapshot(0);
    book.finish_snapshot();

    let mut now = now_utc();
    client.handle_connected(now);
    venue.handle_connected(now);
    client.send_logon(now, |_, _| {}).context("logon")?;
    let pending = client.pending_transmit().len();
    venue.handle_input(now, client.pending_transmit(), &mut |_| {});
    client.consume_transmit(pending);
    let pending = venue.pending_transmit().len();
    client.handle_input(now, venue.pending_transmit(), &mut |_| {});
    venue.consume_transmit(pending);
    let mut logged_on = false;
    while let Some(ev) = client.poll_event() {
        logged_on |= matches!(ev, Event::LoggedOn { .. });
    }
    if !logged_on {
        bail!("client did not log on");
    }
    println!(
        "logged on: TESTCLIENT ↔ KRAKEN-TRD, armed: best ask ≤ 84000.0 → buy IOC 0.01 @ 84000.0"
    );

    let mut hist = Histogram::<u64>::new_with_bounds(1, 10_000_000, 3)?;
    let mut md_buf = vec![0u8; 1024];
    let (mut fired, mut filled) = (0u64, 0u64);
    let trigger = 840_000i64; // 84000.0 at PricePrecision 1
    let start = Instant::now();
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut prev = None;
    for seq in 1..=args.ticks {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let ask = trigger + (rng % 8) as i64; // fires when the offset is 0: one tick in eight
        let n = md_update(&mut md_buf, seq, now, prev, ask, ask - 2)?;
        prev = Some((ask, ask - 2));
        // --- tick to trade ---
        let t0 = Instant::now();
        let raw = &md_buf[..n];
        let len = frame(raw, FrameLimits::default())?.context("incomplete MD message")?;
        let mut idx = FieldIndex::<64>::new();
        let msg = Message::parse(&raw[..len], &mut idx)?;
        book.apply_message(&MarketData::new_checked(&msg)?, seq)?;
        if let Some((best_ask, _)) = book.best_ask() {
            if best_ask <= trigger {
                let id = ids.next(now).context("ClOrdID space exhausted")?;
                let mut text = [0u8; 20];
                let w = tickwire_fix::encode::write_u64(&mut text, id).unwrap_or(0);
                client.send_raw(now, |s, out| {
                    let bytes = order
                        .patch(
                            s,
                            now,
                            &text[..w],
                            Some(Decimal::new(trigger, 1)),
                            Decimal::new(1, 2),
                        )
                        .map_err(|_| EncodeError::BufferTooSmall { required: 0 })?;
                    let dst = out
                        .get_mut(..bytes.len())
                        .ok_or(EncodeError::BufferTooSmall {
                            required: bytes.len(),
                        })?;
                    dst.copy_from_slice(bytes);
                    Ok(bytes.len())
                })?;
                hist.record((t0.elapsed().as_nanos() as u64).max(1))?;
                fired += 1;
            }
        }
        black_box(&book);
        // --- venue: fill every order ---
        let pending = client.pending_transmit().len();
        let mut orders = 0u32;
        venue.handle_input(now, client.pending_transmit(), &mut |m: &Message<'_>| {
            orders += u32::from(m.msg_type() == b"D")
        });
        client.consume_transmit(pending);
        for _ in 0..orders {
            venue.send_app(now, b"8", |e| {
                e.field(37, b"O3KQ7T-XH2LM-ZP4WUA")
                    .field(17, b"SIMX")
                    .field(150, b"F")
                    .field(39, b"2")
                    .field(55, b"BTC/USD")
                    .field(54, b"1")
                    .field(31, b"84000.0")
                    .field(32, b"0.01")
                    .field(151, b"0")
                    .field(14, b"0.01")
                    .field(6, b"84000.0");
            })?;
        }
        let pending = venue.pending_transmit().len();
        client.handle_input(now, venue.pending_transmit(), &mut |m: &Message<'_>| {
            if let Ok(er) = ExecutionReport::new_checked(m) {
                filled += u64::from(er.ord_status() == OrdStatus::Filled);
            }
        });
        venue.consume_transmit(pending);
        if seq % 1000 == 0 {
            now = now_utc();
            client.handle_timeout(now);
            venue.handle_timeout(now);
        }
        if seq % (args.ticks / 10).max(1) == 0 {
            println!(
                "  {:>3}%  ticks {seq:>8}  orders {fired:>7}  fills {filled:>7}  p50 {:>6} ns  p99 {:>6} ns",
                seq * 100 / args.ticks,
                hist.value_at_quantile(0.5),
                hist.value_at_quantile(0.99)
            );
        }
    }
    let elapsed = start.elapsed();
    println!(
        "\nsummary ({} ticks in {:.2} s)",
        args.ticks,
        elapsed.as_secs_f64()
    );
    println!("  orders sent      {fired}");
    println!("  orders filled    {filled}");
    println!("  tick-to-order (MD bytes in → order bytes queued), FIX layer only, ns:");
    for (label, q) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p99.9", 0.999)] {
        println!("    {label:<6} {:>8}", hist.value_at_quantile(q));
    }
    println!("    max    {:>8}", hist.max());
    if filled != fired || fired == 0 {
        bail!("expected every order to be filled: {fired} sent, {filled} filled");
    }
    Ok(())
}
