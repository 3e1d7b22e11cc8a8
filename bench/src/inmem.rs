//! Tick-to-trade through the full software path on the in-memory NIC pair, one thread.
//!
//! ```text
//! venue:  MD FIX (35=X) ─► TLS ─► TCP ─► MemNic ══╗
//! client: MemNic ─► allowlist ─► TCP ─► TLS open ─► FIX parse ─► book ─► trigger
//!         ─► template patch (35=D) ─► FIX session ─► TLS seal ─► TCP ─► MemNic ══► venue fills
//! ```
//!
//! Measured per tick that fires, with the calibrated TSC (`tickwire_dataplane::clock::Clock`):
//! - inside the appliance: from the start of the client's `Stack::poll` that receives the tick
//!   to the return of the `Stack::poll` that hands the order frame to the NIC, the layers
//!   driven one by one so that [`Params::stages`] can stamp between them ([`crate::stages`]);
//! - at the venue: from just before the venue's `Stack::poll` that transmits the tick frame to
//!   the venue's `recv` that returns the order's bytes.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::feed::{send_fill, ArmedOrder, Feed};
use crate::stages::Stages;
use tickwire_dataplane::allowlist::{self, Allowlist};
use tickwire_dataplane::clock::Clock;
use tickwire_dataplane::link::Link;
use tickwire_dataplane::mem::{self, MemNic};
use tickwire_dataplane::stack::{Stack, StackConfig};
use tickwire_fix::book::Book;
use tickwire_fix::message::Message;
use tickwire_fix::session::{
    Capacities, Config, MemoryJournal, ResendPolicy, Role, Session, State,
};
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
    /// Stamp every stage boundary on even ticks ([`crate::stages`]); odd ticks stay
    /// un-stamped and give [`Report::tick_to_trade`]. Off: every tick is un-stamped.
    pub stages: bool,
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
    /// Tick-to-trade inside the appliance, ns (in-memory: the un-stamped ticks, see
    /// [`crate::stages`]).
    pub tick_to_trade: Histogram<u64>,
    /// Tick-to-trade measured at the venue, ns: tick handed to the venue's NIC (in-memory:
    /// just before the `Stack::poll` that transmits it; kernel: just before the `write`) →
    /// the order seen by the venue (the `recv`/`read` that returns its bytes).
    pub at_venue: Histogram<u64>,
    /// The per-stage breakdown (in-memory harness with [`Params::stages`]).
    pub stages: Option<Stages>,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Frames the client's allowlist dropped (should be 0).
    pub dropped_frames: u64,
    /// Peak RSS of the process during this run, KiB (see [`crate::rss`]).
    pub peak_rss_kib: Option<u64>,
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

/// The client's measured path for one tick, driving the layers one by one (what
/// `Link::pump` + `Link::flush` do, minus the state checks the unmeasured part repeats).
/// `s` receives the stage boundaries when `stamped` (s0 and s9 always). Returns whether an
/// order went out.
#[inline]
#[allow(clippy::too_many_arguments)]
fn tick_to_order(
    clock: &Clock,
    client: &mut Side2,
    book: &mut Book,
    armed: &mut ArmedOrder,
    stamped: bool,
    s: &mut [i64; 10],
    md_error: &mut Option<String>,
) -> Result<bool, String> {
    let stamp = |s: &mut [i64; 10], i: usize| {
        if stamped {
            s[i] = clock.mono_ns();
        }
    };
    s[0] = clock.mono_ns();
    let now = clock.utc(s[0]);
    // NIC rx + TCP ingress.
    client.stack.poll(s[0]);
    stamp(s, 1);
    // TCP read: the ciphertext into TLS (twice if the receive ring wraps).
    let md = &mut client.md;
    loop {
        let tls = &mut md.tls;
        let n = client
            .stack
            .recv_with(md.conn, |b| tls.handle_ciphertext(b))
            .map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
    }
    stamp(s, 2);
    // TLS open.
    md.tls.poll().map_err(|e| e.to_string())?;
    stamp(s, 3);
    // FIX parse + book.
    let mut updated = false;
    if !md.tls.plaintext().is_empty() {
        let n = md.tls.plaintext().len();
        md.fix
            .handle_input(now, md.tls.plaintext(), &mut |m: &Message<'_>| {
                let seq = m.uint(34).unwrap_or(0);
                match MarketData::new_checked(m) {
                    Ok(v) => match book.apply_message(&v, seq) {
                        Ok(_) => updated = true,
                        Err(e) => *md_error = Some(e.to_string()),
                    },
                    Err(e) => *md_error = Some(e.to_string()),
                }
            });
        md.tls.consume_plaintext(n);
    }
    stamp(s, 4);
    if !updated {
        return Ok(false);
    }
    // Trigger (stamp 5 when it fires), template patch + FIX session.
    let trd = &mut client.trd;
    let fired = armed.on_book_with(book, &mut trd.fix, now, || stamp(s, 5))?;
    if !fired {
        return Ok(false);
    }
    stamp(s, 6);
    // TLS seal.
    let n = trd.fix.pending_transmit().len().min(RECORD_PLAINTEXT);
    trd.tls
        .write_plaintext(&trd.fix.pending_transmit()[..n])
        .map_err(|e| e.to_string())?;
    trd.fix.consume_transmit(n);
    stamp(s, 7);
    // TCP write.
    let sent = client
        .stack
        .send(trd.conn, trd.tls.pending_ciphertext())
        .map_err(|e| e.to_string())?;
    trd.tls.consume_ciphertext(sent);
    stamp(s, 8);
    // TCP egress + NIC tx.
    client.stack.poll(if stamped { s[8] } else { s[0] });
    s[9] = clock.mono_ns();
    Ok(true)
}

/// Largest plaintext per TLS record (as `Link`).
const RECORD_PLAINTEXT: usize = 16 * 1024 - 256;

fn hist() -> Result<Histogram<u64>, String> {
    Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).map_err(|e| e.to_string())
}

/// Runs the in-memory tick-to-trade path.
///
/// # Errors
/// A description of what failed (set-up, TLS, a session that dropped).
pub fn run(params: Params, mut progress: impl FnMut(Progress)) -> Result<Report, String> {
    crate::rss::reset_peak();
    let (clock, _) = Clock::calibrate(Duration::from_millis(20));
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
    let now_ns = || clock.mono_ns();
    let utc = |ns: i64| clock.utc(ns);
    let mut cstack = Stack::new(a, allow(VENUE)?, cfg(CLIENT), now_ns());
    let mut vstack = Stack::new(b, allow(CLIENT)?, cfg(VENUE), now_ns());
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
    let mut inside = hist()?;
    let mut at_venue = hist()?;
    let mut stages = if params.stages {
        Some(Stages::new()?)
    } else {
        None
    };
    let (mut orders, mut fills) = (0u64, 0u64);
    let mut md_error: Option<String> = None;
    let mut s = [0i64; 10];
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
        // At the venue: the tick is handed to the NIC here.
        let v0 = now_ns();
        venue.stack.poll(v0);

        // --- client: tick in, order out (measured) ---
        let stamped = stages.is_some() && tick % 2 == 0;
        let fired = tick_to_order(
            &clock,
            &mut client,
            &mut book,
            &mut armed,
            stamped,
            &mut s,
            &mut md_error,
        )?;
        if let Some(e) = md_error.take() {
            return Err(format!("market data at tick {tick}: {e}"));
        }
        if fired {
            orders += 1;
            match (&mut stages, stamped) {
                (Some(st), true) => st.record(&s)?,
                _ => inside
                    .record((s[9] - s[0]).max(1) as u64)
                    .map_err(|e| e.to_string())?,
            }
        }
        let ns = now_ns();
        client
            .md
            .flush(&mut client.stack, utc(ns))
            .map_err(|e| e.to_string())?;

        // --- venue: sees the order (at-venue stamp), fills it; client reads the fill ---
        venue.stack.poll(now_ns());
        let mut got = 0usize;
        loop {
            let tls = &mut venue.trd.tls;
            let n = venue
                .stack
                .recv_with(venue.trd.conn, |b| tls.handle_ciphertext(b))
                .map_err(|e| e.to_string())?;
            if n == 0 {
                break;
            }
            got += n;
        }
        if fired {
            if got == 0 {
                return Err(format!("tick {tick}: the order did not reach the venue"));
            }
            at_venue
                .record((now_ns() - v0).max(1) as u64)
                .map_err(|e| e.to_string())?;
        }
        let ns = now_ns();
        let mut new_orders = 0u32;
        venue
            .trd
            .pump(&mut venue.stack, utc(ns), &mut |m: &Message<'_>| {
                new_orders += u32::from(m.msg_type() == b"D")
            })
            .map_err(|e| e.to_string())?;
        for _ in 0..new_orders {
            send_fill(&mut venue.trd.fix, utc(ns)).map_err(|e| e.to_string())?;
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
            let h = match (&stages, inside.is_empty()) {
                (Some(st), true) => &st.stamped,
                _ => &inside,
            };
            progress(Progress {
                ticks: tick,
                orders,
                fills,
                p50: h.value_at_quantile(0.5),
                p99: h.value_at_quantile(0.99),
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
        tick_to_trade: inside,
        at_venue,
        stages,
        elapsed: started.elapsed(),
        dropped_frames: client.stack.counters().drops.not_allowed,
        peak_rss_kib: crate::rss::peak_kib(),
    })
}
