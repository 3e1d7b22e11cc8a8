//! Tick-to-trade through the full software path on the in-memory NIC pair, one thread.
//!
//! ```text
//! venue:  MD FIX (35=X) ─► TLS ─► TCP ─► MemNic ══╗
//! client: MemNic ─► allowlist ─► TCP ─► TLS open ─► FIX parse ─► book ─► trigger
//!         ─► template patch (35=D) ─► FIX session ─► TLS seal ─► TCP ─► MemNic ══► venue fills
//! ```
//!
//! Measured per tick that fires: from the start of the client cycle that receives the tick to
//! the order frame handed to the NIC (the next `Stack::poll` egress), with `Instant`.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::feed::{ArmedOrder, Feed};
use tickwire_dataplane::allowlist::{self, Allowlist};
use tickwire_dataplane::link::Link;
use tickwire_dataplane::mem::{self, MemNic};
use tickwire_dataplane::stack::{Stack, StackConfig};
use tickwire_fix::book::Book;
use tickwire_fix::message::Message;
use tickwire_fix::session::{
    Capacities, Config, MemoryJournal, ResendPolicy, Role, Session, State,
};
use tickwire_fix::time::UtcTimestamp;
use tickwire_fix::views::{ExecutionReport, MarketData, OrdStatus};

const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const VENUE: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

/// What to run.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// Book updates the venue publishes.
    pub ticks: u64,
    /// Ticks between progress callbacks (0: none).
    pub progress_every: u64,
    /// Ticks per second the venue publishes; 0 publishes the next tick as soon as the
    /// previous one has been handled (saturating). Between paced ticks the client keeps
    /// polling its stack, as the engine's duty cycle does.
    pub rate_per_s: u64,
}

/// What was measured.
#[derive(Debug)]
pub struct Report {
    /// Ticks published and processed.
    pub ticks: u64,
    /// Orders the trigger fired.
    pub orders: u64,
    /// Fills received back.
    pub fills: u64,
    /// Tick-to-trade inside the appliance, ns.
    pub tick_to_trade: Histogram<u64>,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Frames the client's allowlist dropped (should be 0).
    pub dropped_frames: u64,
}

/// Progress of a run.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Ticks done.
    pub ticks: u64,
    /// Orders sent.
    pub orders: u64,
    /// Fills received.
    pub fills: u64,
    /// Current median, ns.
    pub p50: u64,
    /// Current p99, ns.
    pub p99: u64,
}

fn fix_pair(target: &str) -> Result<(Session<MemoryJournal>, Session<MemoryJournal>), String> {
    let e = |e: tickwire_fix::session::ConfigError| e.to_string();
    let mut c = Config::kraken_initiator("TESTCLIENT", target).map_err(e)?;
    c.rollover = None;
    let mut v = Config::kraken_initiator(target, "TESTCLIENT").map_err(e)?;
    v.role = Role::Acceptor;
    v.resend_policy = ResendPolicy::ReplayApplication;
    v.rollover = None;
    Ok((
        Session::new(c, MemoryJournal::new(1 << 14, 512), Capacities::default()),
        Session::new(v, MemoryJournal::new(1 << 14, 512), Capacities::default()),
    ))
}

struct Side2 {
    stack: Stack<MemNic>,
    md: Link<MemoryJournal>,
    trd: Link<MemoryJournal>,
}

/// Runs the in-memory tick-to-trade path.
///
/// # Errors
/// A description of what failed (set-up, TLS, a session that dropped).
pub fn run(params: Params, mut progress: impl FnMut(Progress)) -> Result<Report, String> {
    let pki = crate::pki::generate("fix.venue.test")?;
    let (a, b) = mem::pair(1024, [2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
    let cfg = |address| StackConfig {
        address,
        connections: 2,
        ..StackConfig::default()
    };
    let allow = |ip| {
        Allowlist::new(&[ip])
            .map(|a| allowlist::live(a).1)
            .map_err(|_| "allowlist".to_string())
    };
    let base = Instant::now();
    let epoch = UtcTimestamp::from_nanos(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|e| e.to_string())?
            .as_nanos() as i64,
    );
    let now_ns = || base.elapsed().as_nanos() as i64;
    let utc = |ns: i64| UtcTimestamp::from_nanos(epoch.nanos + ns);
    let mut cstack = Stack::new(a, allow(VENUE)?, cfg(CLIENT), 0);
    let mut vstack = Stack::new(b, allow(CLIENT)?, cfg(VENUE), 0);
    let vmd = vstack.listen(4000).map_err(|e| e.to_string())?;
    let vtrd = vstack.listen(4001).map_err(|e| e.to_string())?;
    let cmd = cstack
        .connect(SocketAddrV4::new(VENUE, 4000))
        .map_err(|e| e.to_string())?;
    let ctrd = cstack
        .connect(SocketAddrV4::new(VENUE, 4001))
        .map_err(|e| e.to_string())?;
    let tls_client = || {
        tickwire_tls::Session::client(
            &pki.client,
            &pki.server_name,
            tickwire_tls::Capacities::default(),
        )
    };
    let tls_server =
        || tickwire_tls::Session::server(&pki.server, tickwire_tls::Capacities::default());
    let (c_md_fix, v_md_fix) = fix_pair("KRAKEN-MD")?;
    let (c_trd_fix, v_trd_fix) = fix_pair("KRAKEN-TRD")?;
    let te = |e: tickwire_tls::Error| e.to_string();
    let mut client = Side2 {
        stack: cstack,
        md: Link::new(cmd, tls_client().map_err(te)?, c_md_fix),
        trd: Link::new(ctrd, tls_client().map_err(te)?, c_trd_fix),
    };
    let mut venue = Side2 {
        stack: vstack,
        md: Link::new(vmd, tls_server().map_err(te)?, v_md_fix),
        trd: Link::new(vtrd, tls_server().map_err(te)?, v_trd_fix),
    };

    // Connect, handshake, log on both sessions.
    let (mut md_logon, mut trd_logon) = (false, false);
    let deadline = Instant::now() + Duration::from_secs(10);
    while client.md.fix.state() != State::Active || client.trd.fix.state() != State::Active {
        if Instant::now() > deadline {
            return Err("sessions did not log on within 10 s".into());
        }
        let ns = now_ns();
        for side in [&mut client, &mut venue] {
            side.stack.poll(ns);
            side.md
                .pump(&mut side.stack, utc(ns), &mut |_| {})
                .map_err(|e| e.to_string())?;
            side.trd
                .pump(&mut side.stack, utc(ns), &mut |_| {})
                .map_err(|e| e.to_string())?;
        }
        if client.md.is_up() && !md_logon {
            client
                .md
                .fix
                .send_logon(utc(ns), |_, _| {})
                .map_err(|e| e.to_string())?;
            md_logon = true;
        }
        if client.trd.is_up() && !trd_logon {
            client
                .trd
                .fix
                .send_logon(utc(ns), |_, _| {})
                .map_err(|e| e.to_string())?;
            trd_logon = true;
        }
        for side in [&mut client, &mut venue] {
            let ns = now_ns();
            side.md
                .flush(&mut side.stack, utc(ns))
                .map_err(|e| e.to_string())?;
            side.trd
                .flush(&mut side.stack, utc(ns))
                .map_err(|e| e.to_string())?;
            side.stack.poll(ns);
        }
    }

    let mut armed = ArmedOrder::new()?;
    let mut feed = Feed::default();
    let mut book = Book::new(10, 1, 8);
    let mut hist =
        Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).map_err(|e| e.to_string())?;
    let (mut orders, mut fills) = (0u64, 0u64);
    let mut md_error: Option<String> = None;
    let started = Instant::now();

    let started_ns = now_ns();
    for tick in 1..=params.ticks {
        if params.rate_per_s > 0 {
            let due = started_ns
                + (i128::from(tick) * 1_000_000_000 / i128::from(params.rate_per_s)) as i64;
            while now_ns() < due {
                client.stack.poll(now_ns());
                std::hint::spin_loop();
            }
        }
        // --- venue publishes one book update ---
        let ns = now_ns();
        feed.publish(&mut venue.md.fix, utc(ns))
            .map_err(|e| e.to_string())?;
        venue
            .md
            .flush(&mut venue.stack, utc(ns))
            .map_err(|e| e.to_string())?;
        venue.stack.poll(ns);

        // --- client: tick in, order out (measured) ---
        let t0 = Instant::now();
        let ns = now_ns();
        let now = utc(ns);
        client.stack.poll(ns);
        let mut md_seq = 0;
        let book_ref = &mut book;
        client
            .md
            .pump(&mut client.stack, now, &mut |m: &Message<'_>| {
                md_seq = m.uint(34).unwrap_or(0);
                match MarketData::new_checked(m) {
                    Ok(md) => {
                        if let Err(e) = book_ref.apply_message(&md, md_seq) {
                            md_error = Some(e.to_string());
                        }
                    }
                    Err(e) => md_error = Some(e.to_string()),
                }
            })
            .map_err(|e| e.to_string())?;
        let fired = armed.on_book(&book, &mut client.trd.fix, now)?;
        if fired {
            client
                .trd
                .flush(&mut client.stack, now)
                .map_err(|e| e.to_string())?;
            client.stack.poll(ns);
        }
        if fired {
            hist.record((t0.elapsed().as_nanos() as u64).max(1))
                .map_err(|e| e.to_string())?;
            orders += 1;
        }
        if let Some(e) = md_error.take() {
            return Err(format!("market data at tick {tick}: {e}"));
        }

        // --- venue fills, client reads fills and ACKs (not measured) ---
        let ns = now_ns();
        venue.stack.poll(ns);
        let mut new_orders = 0u32;
        venue
            .trd
            .pump(&mut venue.stack, utc(ns), &mut |m: &Message<'_>| {
                new_orders += u32::from(m.msg_type() == b"D")
            })
            .map_err(|e| e.to_string())?;
        for _ in 0..new_orders {
            venue
                .trd
                .fix
                .send_app(utc(ns), b"8", |e| {
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
                })
                .map_err(|e| e.to_string())?;
        }
        venue
            .md
            .pump(&mut venue.stack, utc(ns), &mut |_| {})
            .map_err(|e| e.to_string())?;
        venue
            .trd
            .flush(&mut venue.stack, utc(ns))
            .map_err(|e| e.to_string())?;
        venue.stack.poll(ns);
        client.stack.poll(ns);
        client
            .trd
            .pump(&mut client.stack, utc(ns), &mut |m: &Message<'_>| {
                if let Ok(er) = ExecutionReport::new_checked(m) {
                    fills += u64::from(er.ord_status() == OrdStatus::Filled);
                }
            })
            .map_err(|e| e.to_string())?;
        client.stack.poll(ns);
        if tick % 1024 == 0 {
            for link in [
                &mut client.md,
                &mut client.trd,
                &mut venue.md,
                &mut venue.trd,
            ] {
                link.fix.handle_timeout(utc(ns));
            }
        }
        if params.progress_every > 0 && tick % params.progress_every == 0 {
            progress(Progress {
                ticks: tick,
                orders,
                fills,
                p50: hist.value_at_quantile(0.5),
                p99: hist.value_at_quantile(0.99),
            });
        }
    }
    // Let the last fills arrive.
    for _ in 0..100 {
        let ns = now_ns();
        venue.stack.poll(ns);
        client.stack.poll(ns);
        client
            .trd
            .pump(&mut client.stack, utc(ns), &mut |m: &Message<'_>| {
                if let Ok(er) = ExecutionReport::new_checked(m) {
                    fills += u64::from(er.ord_status() == OrdStatus::Filled);
                }
            })
            .map_err(|e| e.to_string())?;
    }
    Ok(Report {
        ticks: params.ticks,
        orders,
        fills,
        tick_to_trade: hist,
        elapsed: started.elapsed(),
        dropped_frames: client.stack.counters().drops.not_allowed,
    })
}
