//! Tick-to-trade through the full software path on the in-memory NIC pair, one thread.
//!
//! ```text
//! venue:  MD FIX (35=X) ─► TLS ─► TCP ─► MemNic ══╗
//! client: MemNic ─► allowlist ─► TCP ─► TLS open ─► FIX parse ─► book ─► trigger
//!         ─► template patch (35=D) ─► FIX session ─► TLS seal ─► TCP ─► MemNic ══► venue fills
//! ```
//!
//! [`run_pair`] runs the same two ends on any other pair of NICs ([`crate::dpdk`]: DPDK
//! virtio_user ↔ vhost and memif).
//!
//! Measured per tick that fires, with the calibrated TSC (`tickwire_dataplane::clock::Clock`):
//! - inside the appliance: from the start of the client's `Stack::poll` that receives the tick
//!   to the return of the `Stack::transmit` that hands the order frame to the NIC (its tx
//!   burst; the ACK owed to the market-data connection follows in the next poll), the layers
//!   driven one by one so that [`Params::stages`] can stamp between them ([`crate::stages`]);
//! - at the venue: from just before the venue's `Stack::poll` that transmits the tick frame to
//!   the venue's `recv` that returns the order's bytes. The venue reads before the client does
//!   its bookkeeping for the tick (records the interval, sends the market-data ACK:
//!   [`Client::settle_tick`]), which on two machines would overlap the order's flight.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::feed::{numeric_cl_ord_id, send_fill, ArmedOrder, Feed};
use crate::stages::Stages;
use crate::stamp_nic::StampNic;
use crate::venue::{GeneratedKey, KrakenSide, COMP_ID};
use tickwire_dataplane::allowlist::{self, Allowlist};
use tickwire_dataplane::clock::Clock;
use tickwire_dataplane::link::{seal_record, Link};
use tickwire_dataplane::mem;
use tickwire_dataplane::nic::Nic;
use tickwire_dataplane::stack::{Stack, StackConfig};
use tickwire_fix::book::Book;
use tickwire_fix::message::Message;
use tickwire_fix::session::{
    Capacities, Config, MemoryJournal, ResendPolicy, Role, Session, State,
};
use tickwire_fix::time::UtcTimestamp;
use tickwire_fix::views::{ErTable, ExecutionReport, MarketData, MdTable, OrdStatus};

pub(crate) const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
pub(crate) const VENUE: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

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
    /// The venue end.
    pub venue: VenueKind,
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
    /// Firings the pre-trade risk check refused (no order sent).
    pub risk_refused: u64,
    /// The Kraken venue's counters ([`VenueKind::Kraken`]).
    pub venue_stats: Option<tickwire_venue::kraken::Stats>,
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

/// The FIX session of one end of `target`'s connection (TESTCLIENT ↔ `target`).
pub(crate) fn fix_session(target: &str, venue: bool) -> Result<Session<MemoryJournal>, String> {
    let e = |e: tickwire_fix::session::ConfigError| e.to_string();
    let mut c = if venue {
        let mut v = Config::kraken_initiator(target, "TESTCLIENT").map_err(e)?;
        v.role = Role::Acceptor;
        v.resend_policy = ResendPolicy::ReplayApplication;
        v
    } else {
        Config::kraken_initiator("TESTCLIENT", target).map_err(e)?
    };
    c.rollover = None;
    Ok(Session::new(
        c,
        MemoryJournal::new(1 << 14, 512),
        Capacities::default(),
    ))
}

pub(crate) struct Side2<N: Nic> {
    stack: Stack<N>,
    md: Link<MemoryJournal>,
    trd: Link<MemoryJournal>,
}

/// The client's measured path for one tick, driving the layers one by one (what
/// `Link::pump` + `Link::flush` do, minus the state checks the unmeasured part repeats).
/// `s` receives the stage boundaries when `stamped` (s0 and s9 always). Returns `None` if no
/// book update arrived in this cycle, else whether an order went out.
#[inline]
#[allow(clippy::too_many_arguments)]
fn tick_to_order<N: Nic>(
    clock: &Clock,
    client: &mut Side2<StampNic<N>>,
    book: &mut Book,
    md_table: &mut MdTable,
    armed: &mut ArmedOrder,
    stamped: bool,
    s: &mut [i64; 10],
    md_error: &mut Option<String>,
) -> Result<Option<bool>, String> {
    let stamp = |s: &mut [i64; 10], i: usize| {
        if stamped {
            s[i] = clock.mono_ns();
        }
    };
    // s0 is the rx-burst return of the frame this poll takes, s9 the hand-over of the
    // order's frame to the NIC ([`StampNic`]): the NIC's own work on either side is not the
    // appliance's.
    let t0 = clock.mono_ns();
    let now = clock.utc(t0);
    // TCP ingress, from the frame's arrival out of the NIC's ring.
    client.stack.nic_mut().clear_rx();
    client.stack.poll(t0);
    s[0] = client.stack.nic_mut().rx_at().unwrap_or(t0);
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
                match MarketData::new_cached(m, md_table) {
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
        return Ok(None);
    }
    // Trigger (stamp 5 when it fires), template patch + FIX session.
    let trd = &mut client.trd;
    let fired = armed.on_book_with(book, &mut trd.fix, now, || stamp(s, 5))?;
    if !fired {
        return Ok(Some(false));
    }
    stamp(s, 6);
    // TLS seal, straight into TCP's send buffer (as `Link::flush` and the engine do).
    let n = trd.fix.pending_transmit().len().min(RECORD_PLAINTEXT);
    let data = &trd.fix.pending_transmit()[..n];
    seal_record(&mut client.stack, trd.conn, &mut trd.tls, data).map_err(|e| e.to_string())?;
    trd.fix.consume_transmit(n);
    stamp(s, 7);
    // TCP write: only ciphertext that could not be sealed in place.
    if !trd.tls.pending_ciphertext().is_empty() {
        let sent = client
            .stack
            .send(trd.conn, trd.tls.pending_ciphertext())
            .map_err(|e| e.to_string())?;
        trd.tls.consume_ciphertext(sent);
    }
    stamp(s, 8);
    // TCP egress: the order's segment, in a tx burst of its own (s9 when its frame goes to
    // the NIC); the ACK owed to the market-data connection follows at once.
    let t = if stamped { s[8] } else { t0 };
    client.stack.nic_mut().clear_tx();
    client.stack.transmit(trd.conn, t);
    s[9] = match client.stack.nic_mut().tx_at() {
        Some(sent) => sent,
        None => return Err("the order's transmit handed no frame to the NIC".into()),
    };
    client.stack.poll(t);
    Ok(Some(true))
}

/// Largest plaintext per TLS record (as `Link`).
const RECORD_PLAINTEXT: usize = 16 * 1024 - 256;

pub(crate) fn hist() -> Result<Histogram<u64>, String> {
    Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).map_err(|e| e.to_string())
}

/// The venue end of the pair, on a userspace stack over `N`.
pub(crate) enum VenueSide<N: Nic> {
    /// Publishes [`Feed`] ticks and fills every order (what the kernel baselines' venue does).
    Minimal { side: Box<Side2<N>>, feed: Feed },
    /// The real Kraken profile with its matching engine ([`crate::venue`]).
    Kraken(Box<KrakenSide<N>>),
}

/// Which venue the in-memory pair runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VenueKind {
    /// The minimal filling venue: the same work as the kernel baselines' venue.
    Minimal,
    /// The Kraken profile (`tickwire_venue::kraken::Venue`): HMAC logon with generated
    /// credentials, an L2 subscription, ticks that are real book changes, IOC orders matched
    /// by the real engine.
    Kraken,
}

/// The venue end of a tick-to-trade run, whatever carries it: the in-memory pair here, kernel
/// sockets in a network namespace in [`crate::veth`].
pub(crate) trait VenueEnd {
    /// Set-up: everything in, everything out (handshakes, logons, subscriptions).
    fn setup_step(&mut self, ns: i64, now: UtcTimestamp) -> Result<(), String>;
    /// Makes the next book update and seals it, ready to be handed to the NIC or socket.
    fn prepare_tick(&mut self, now: UtcTimestamp) -> Result<(), String>;
    /// Hands the prepared tick to the NIC or socket (the at-venue interval starts just
    /// before this call).
    fn send_tick(&mut self, ns: i64) -> Result<(), String>;
    /// While the client waits for a tick: whatever moves frames along on the venue's side
    /// (nothing, by default: the kernel does it for a venue on sockets).
    fn idle(&mut self, ns: i64) {
        let _ = ns;
    }
    /// Receives and answers whatever arrived, then sends what is due. With `order_due` (the
    /// client has just sent an order) it first waits, bounded, for the order's bytes.
    /// `on_order_bytes` runs when the trading connection's read returned bytes, before they
    /// are decrypted (the at-venue stamp).
    fn step(
        &mut self,
        ns: i64,
        now: UtcTimestamp,
        order_due: bool,
        on_order_bytes: &mut dyn FnMut(),
    ) -> Result<(), String>;
    /// FIX timers (heartbeats, test requests).
    fn timeout(&mut self, now: UtcTimestamp);
    /// The Kraken venue's counters, if the venue is the Kraken profile.
    fn stats(&self) -> Option<tickwire_venue::kraken::Stats>;
}

impl<N: Nic> VenueSide<N> {
    fn stack(&mut self) -> &mut Stack<N> {
        match self {
            VenueSide::Minimal { side, .. } => &mut side.stack,
            VenueSide::Kraken(k) => &mut k.stack,
        }
    }
}

impl<N: Nic> VenueEnd for VenueSide<N> {
    fn setup_step(&mut self, ns: i64, now: UtcTimestamp) -> Result<(), String> {
        match self {
            VenueSide::Minimal { side, .. } => {
                side.stack.poll(ns);
                for link in [&mut side.md, &mut side.trd] {
                    link.pump(&mut side.stack, now, &mut |_| {})
                        .map_err(|e| e.to_string())?;
                    link.flush(&mut side.stack, now)
                        .map_err(|e| e.to_string())?;
                }
                side.stack.poll(ns);
                Ok(())
            }
            VenueSide::Kraken(k) => {
                k.venue.handle_timeout(now);
                self.step(ns, now, false, &mut || {})
            }
        }
    }

    fn prepare_tick(&mut self, now: UtcTimestamp) -> Result<(), String> {
        match self {
            VenueSide::Minimal { side, feed } => {
                feed.publish(&mut side.md.fix, now)
                    .map_err(|e| e.to_string())?;
                side.md
                    .flush(&mut side.stack, now)
                    .map_err(|e| e.to_string())
            }
            VenueSide::Kraken(k) => {
                k.tick(now)?;
                k.egress()
            }
        }
    }

    fn send_tick(&mut self, ns: i64) -> Result<(), String> {
        self.stack().poll(ns);
        Ok(())
    }

    fn idle(&mut self, ns: i64) {
        self.stack().poll(ns);
    }

    fn step(
        &mut self,
        ns: i64,
        utc: UtcTimestamp,
        _order_due: bool,
        on_order_bytes: &mut dyn FnMut(),
    ) -> Result<(), String> {
        match self {
            VenueSide::Minimal { side, .. } => {
                side.stack.poll(ns);
                let trd = &mut side.trd;
                let mut first = true;
                loop {
                    let tls = &mut trd.tls;
                    let n = side
                        .stack
                        .recv_with(trd.conn, |b| tls.handle_ciphertext(b))
                        .map_err(|e| e.to_string())?;
                    if n == 0 {
                        break;
                    }
                    if first {
                        on_order_bytes();
                        first = false;
                    }
                }
                let (mut ids, mut n) = ([0u64; 16], 0usize);
                side.trd
                    .pump(&mut side.stack, utc, &mut |m: &Message<'_>| {
                        if m.msg_type() == b"D" && n < ids.len() {
                            ids[n] = numeric_cl_ord_id(m.field(11)).unwrap_or(0);
                            n += 1;
                        }
                    })
                    .map_err(|e| e.to_string())?;
                for &id in &ids[..n] {
                    send_fill(&mut side.trd.fix, utc, id).map_err(|e| e.to_string())?;
                }
                side.md
                    .pump(&mut side.stack, utc, &mut |_| {})
                    .map_err(|e| e.to_string())?;
                side.trd
                    .flush(&mut side.stack, utc)
                    .map_err(|e| e.to_string())?;
                side.stack.poll(ns);
            }
            VenueSide::Kraken(k) => {
                k.stack.poll(ns);
                k.ingress(utc, &mut *on_order_bytes)?;
                k.egress()?;
                k.stack.poll(ns);
            }
        }
        Ok(())
    }

    fn timeout(&mut self, now: UtcTimestamp) {
        if let VenueSide::Minimal { side, .. } = self {
            for link in [&mut side.md, &mut side.trd] {
                link.fix.handle_timeout(now);
            }
        }
    }

    fn stats(&self) -> Option<tickwire_venue::kraken::Stats> {
        match self {
            VenueSide::Kraken(k) => Some(k.venue.stats()),
            VenueSide::Minimal { .. } => None,
        }
    }
}

/// Runs the in-memory tick-to-trade path.
///
/// # Errors
/// A description of what failed (set-up, TLS, a session that dropped).
pub fn run(params: Params, progress: impl FnMut(Progress)) -> Result<Report, String> {
    let (a, b) = mem::pair(1024, [2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
    run_pair_with(params, a, b, progress)
}

/// The same run on any pair of NICs that reach each other (the two ends of a DPDK vhost or
/// memif pair, a veth pair): the client's userspace stack on `client`, the venue's (a second
/// userspace stack, `params.venue`) on `venue`, both polled by this thread.
///
/// # Errors
/// As [`run`].
pub fn run_pair<N: Nic>(params: Params, client: N, venue: N) -> Result<Report, String> {
    run_pair_with(params, client, venue, |_| {})
}

/// [`run_pair`] with progress callbacks.
///
/// # Errors
/// As [`run`].
pub fn run_pair_with<N: Nic>(
    params: Params,
    a: N,
    b: N,
    progress: impl FnMut(Progress),
) -> Result<Report, String> {
    crate::rss::reset_peak();
    let (clock, _) = Clock::calibrate(Duration::from_millis(20));
    let pki = crate::pki::generate("fix.venue.test")?;
    let cstack = client_stack(a, &clock, CLIENT, VENUE)?;
    let vstack = user_stack(b, VENUE, CLIENT, clock.mono_ns())?;
    let key = GeneratedKey::generate();
    let mut venue = venue_side(params.venue, vstack, &pki, &key, &clock)?;
    drive(
        &params, &clock, &pki, &key, cstack, VENUE, &mut venue, progress,
    )
}

/// The venue end of `kind` on `vstack`, listening on 4000 (market data) and 4001 (trading).
pub(crate) fn venue_side<N: Nic>(
    kind: VenueKind,
    mut vstack: Stack<N>,
    pki: &crate::pki::TestPki,
    key: &GeneratedKey,
    clock: &Clock,
) -> Result<VenueSide<N>, String> {
    let te = |e: tickwire_tls::Error| e.to_string();
    Ok(match kind {
        VenueKind::Minimal => {
            let vmd = vstack.listen(4000).map_err(|e| e.to_string())?;
            let vtrd = vstack.listen(4001).map_err(|e| e.to_string())?;
            let tls_server =
                || tickwire_tls::Session::server(&pki.server, tickwire_tls::Capacities::default());
            let v_md_fix = fix_session("KRAKEN-MD", true)?;
            let v_trd_fix = fix_session("KRAKEN-TRD", true)?;
            VenueSide::Minimal {
                side: Box::new(Side2 {
                    stack: vstack,
                    md: Link::new(vmd, tls_server().map_err(te)?, v_md_fix),
                    trd: Link::new(vtrd, tls_server().map_err(te)?, v_trd_fix),
                }),
                feed: Feed::default(),
            }
        }
        VenueKind::Kraken => VenueSide::Kraken(Box::new(KrakenSide::new(
            vstack,
            &pki.server,
            key,
            clock.utc(clock.mono_ns()),
        )?)),
    })
}

/// A userspace stack at `address` on `nic` that lets frames from `peer` in only.
pub(crate) fn user_stack<N: Nic>(
    nic: N,
    address: Ipv4Addr,
    peer: Ipv4Addr,
    now_ns: i64,
) -> Result<Stack<N>, String> {
    let allow = Allowlist::new(&[peer])
        .map(|a| allowlist::live(a).1)
        .map_err(|_| "allowlist".to_string())?;
    Ok(Stack::new(
        nic,
        allow,
        StackConfig {
            address,
            connections: 2,
            ..StackConfig::default()
        },
        now_ns,
    ))
}

/// The appliance's [`user_stack`], its NIC wrapped so that the measured path can read when a
/// frame came out of it and when the order went into it ([`StampNic`]).
pub(crate) fn client_stack<N: Nic>(
    nic: N,
    clock: &Clock,
    address: Ipv4Addr,
    peer: Ipv4Addr,
) -> Result<Stack<StampNic<N>>, String> {
    user_stack(StampNic::new(nic, *clock), address, peer, clock.mono_ns())
}

/// The client of every tickwire row, on any NIC, against any [`VenueEnd`] at `venue_addr`
/// (ports 4000 market data, 4001 trading): connects, handshakes, logs on (HMAC with `key` on
/// the Kraken venue), subscribes, then runs `params.ticks` ticks and measures each. One
/// thread runs both ends in lockstep; [`crate::two_core`] runs the same client against a venue
/// on another thread.
#[allow(clippy::too_many_arguments)]
pub(crate) fn drive<N: Nic, V: VenueEnd>(
    params: &Params,
    clock: &Clock,
    pki: &crate::pki::TestPki,
    key: &GeneratedKey,
    cstack: Stack<StampNic<N>>,
    venue_addr: Ipv4Addr,
    venue: &mut V,
    mut progress: impl FnMut(Progress),
) -> Result<Report, String> {
    let now_ns = || clock.mono_ns();
    let utc = |ns: i64| clock.utc(ns);
    let mut client = Client::connect(params, pki, cstack, venue_addr)?;
    let logged_on = client.log_on(clock, key, &mut |ns, now| venue.setup_step(ns, now));
    logged_on.map_err(|e| format!("{e} (venue: {:?})", venue.stats()))?;

    let mut measured = Measured::new(params)?;
    let mut at_venue = hist()?;
    let started = Instant::now();
    let started_ns = now_ns();
    for tick in 1..=params.ticks {
        if let Some(due) = due_ns(params, started_ns, tick) {
            while now_ns() < due {
                client.side.stack.poll(now_ns());
                std::hint::spin_loop();
            }
        }
        // --- venue: one book update, handed to the NIC / socket ---
        let ns = now_ns();
        venue.prepare_tick(utc(ns))?;
        let v0 = now_ns();
        venue.send_tick(v0)?;

        // --- client: tick in, order out (measured: the cycle that receives the tick) ---
        let fired = client.await_order(clock, tick, v0, &mut measured, &mut |_| {
            venue.idle(now_ns());
            Ok(())
        })?;

        // --- venue: sees the order (at-venue stamp), answers; the client reads it all ---
        // Before the client's bookkeeping for the tick (recording what it measured, the
        // market-data link's ACK): on two machines the order is on the wire meanwhile, and a
        // venue sharing this thread would otherwise wait for it (≈ 200 ns at the p50).
        let ns = now_ns();
        let mut v1 = None;
        venue.step(ns, utc(ns), fired, &mut || v1 = Some(clock.mono_ns()))?;
        client.settle_tick(clock, tick, &mut measured, fired)?;
        if fired {
            let v1 = v1.ok_or_else(|| format!("tick {tick}: the order did not reach the venue"))?;
            at_venue
                .record((v1 - v0).max(1) as u64)
                .map_err(|e| e.to_string())?;
        }
        client.after_tick(clock, tick)?;
        if tick % 1024 == 0 {
            venue.timeout(utc(now_ns()));
        }
        if params.progress_every > 0 && tick % params.progress_every == 0 {
            progress(client.progress(tick, &measured));
        }
    }
    client.drain(clock, &mut |ns| venue.step(ns, utc(ns), false, &mut || {}))?;
    Ok(client.report(params, measured, at_venue, started, venue.stats()))
}

/// When tick `tick` is due on a paced run (`None`: saturating, at once).
pub(crate) fn due_ns(params: &Params, started_ns: i64, tick: u64) -> Option<i64> {
    (params.rate_per_s > 0).then(|| {
        started_ns + (i128::from(tick) * 1_000_000_000 / i128::from(params.rate_per_s)) as i64
    })
}

/// How long the client waits for one tick to arrive (a hang guard, not a measurement).
pub(crate) const TICK_STALL_NS: i64 = 5_000_000_000;

/// The client's histograms: un-stamped ticks, and the stage breakdown of stamped ones.
pub(crate) struct Measured {
    inside: Histogram<u64>,
    stages: Option<Stages>,
    s: [i64; 10],
}

impl Measured {
    pub(crate) fn new(params: &Params) -> Result<Measured, String> {
        Ok(Measured {
            inside: hist()?,
            stages: if params.stages {
                // About one tick in eight fires (the feed's draw) and half of those are
                // stamped: room for twice as many; any beyond are counted, not kept.
                let fired = usize::try_from(params.ticks / 8).unwrap_or(usize::MAX);
                Some(Stages::keeping(fired.saturating_add(1))?)
            } else {
                None
            },
            s: [0; 10],
        })
    }
}

/// The appliance end of a run: its stack and sessions, the book, the armed order, and what
/// it counted.
pub(crate) struct Client<N: Nic> {
    side: Side2<StampNic<N>>,
    book: Book,
    armed: ArmedOrder,
    tables: ViewTables,
    md_error: Option<String>,
    orders: u64,
    fills: u64,
    kraken: bool,
}

/// The venue's part of one set-up round: `(now_ns, now)`.
pub(crate) type VenueSetup<'a> = dyn FnMut(i64, UtcTimestamp) -> Result<(), String> + 'a;

impl<N: Nic> Client<N> {
    /// Opens both connections to `venue_addr` (4000 market data, 4001 trading) with TLS and
    /// FIX sessions on top.
    pub(crate) fn connect(
        params: &Params,
        pki: &crate::pki::TestPki,
        mut cstack: Stack<StampNic<N>>,
        venue_addr: Ipv4Addr,
    ) -> Result<Client<N>, String> {
        let te = |e: tickwire_tls::Error| e.to_string();
        let cmd = cstack
            .connect(SocketAddrV4::new(venue_addr, 4000))
            .map_err(|e| e.to_string())?;
        let ctrd = cstack
            .connect(SocketAddrV4::new(venue_addr, 4001))
            .map_err(|e| e.to_string())?;
        let tls_client = || {
            tickwire_tls::Session::client(
                &pki.client,
                &pki.server_name,
                tickwire_tls::Capacities::default(),
            )
        };
        let c_md_fix = fix_session("KRAKEN-MD", false)?;
        let c_trd_fix = fix_session("KRAKEN-TRD", false)?;
        Ok(Client {
            side: Side2 {
                stack: cstack,
                md: Link::new(cmd, tls_client().map_err(te)?, c_md_fix),
                trd: Link::new(ctrd, tls_client().map_err(te)?, c_trd_fix),
            },
            book: Book::new(10, 1, 8),
            armed: ArmedOrder::new()?,
            tables: ViewTables::default(),
            md_error: None,
            orders: 0,
            fills: 0,
            kraken: params.venue == VenueKind::Kraken,
        })
    }

    /// Connect, handshake, log on both sessions (Kraken: HMAC on trading with `key`),
    /// subscribe, until both are active (and, on Kraken, the book has a bid): 10 s at most.
    /// `venue` runs the venue's set-up step twice a round (nothing when the venue runs on a
    /// thread of its own).
    pub(crate) fn log_on(
        &mut self,
        clock: &Clock,
        key: &GeneratedKey,
        venue: &mut VenueSetup<'_>,
    ) -> Result<(), String> {
        let utc = |ns: i64| clock.utc(ns);
        let creds = key.credentials()?;
        let kraken = self.kraken;
        let (mut md_logon, mut trd_logon, mut subscribed) = (false, false, !kraken);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let c = &mut self.side;
            let ready = c.md.fix.state() == State::Active
                && c.trd.fix.state() == State::Active
                && (!kraken || self.book.best_bid().is_some());
            if ready {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "sessions did not log on (and the book fill) within 10 s: md {:?}, trading {:?}, bid {:?}, ask {:?}",
                    c.md.fix.state(),
                    c.trd.fix.state(),
                    self.book.best_bid(),
                    self.book.best_ask(),
                ));
            }
            let ns = clock.mono_ns();
            self.side.stack.poll(ns);
            self.pump(utc(ns))?;
            if let Some(e) = self.md_error.take() {
                return Err(format!("market data during set-up: {e}"));
            }
            venue(ns, utc(ns))?;
            let c = &mut self.side;
            if c.md.is_up() && !md_logon {
                c.md.fix
                    .send_logon(utc(ns), |_, _| {})
                    .map_err(|e| e.to_string())?;
                md_logon = true;
            }
            if c.trd.is_up() && !trd_logon {
                let nonce = u64::try_from(utc(ns).as_millis()).unwrap_or(0);
                c.trd
                    .fix
                    .send_logon(utc(ns), |seq, e| {
                        if kraken {
                            let pw = creds.password(seq, COMP_ID.as_bytes(), b"KRAKEN-TRD", nonce);
                            e.field(553, creds.api_key().as_bytes())
                                .field(554, &pw)
                                .uint(5025, nonce)
                                .uint(8674, 0);
                        }
                    })
                    .map_err(|e| e.to_string())?;
                trd_logon = true;
            }
            if !subscribed && c.md.fix.state() == State::Active {
                c.md.fix
                    .send_app(utc(ns), b"V", |e| {
                        e.field(262, b"tw-btcusd-l2")
                            .field(263, b"1")
                            .uint(264, 10)
                            .field(265, b"1")
                            .field(266, b"Y")
                            .uint(267, 3)
                            .field(269, b"0")
                            .field(269, b"1")
                            .field(269, b"2")
                            .uint(146, 1)
                            .field(55, b"BTC/USD");
                    })
                    .map_err(|e| e.to_string())?;
                subscribed = true;
            }
            let ns = clock.mono_ns();
            for link in [&mut c.md, &mut c.trd] {
                link.flush(&mut c.stack, utc(ns))
                    .map_err(|e| e.to_string())?;
            }
            c.stack.poll(ns);
            venue(ns, utc(ns))?;
        }
    }

    /// Waits for tick `tick` (handed to the venue's NIC at `v0`) and runs the measured path
    /// on the cycle that receives it ([`tick_to_order`]), recording the interval; `idle` runs
    /// after every cycle that received no book update. Returns whether an order went out.
    pub(crate) fn handle_tick(
        &mut self,
        clock: &Clock,
        tick: u64,
        v0: i64,
        m: &mut Measured,
        idle: &mut dyn FnMut(&mut Self) -> Result<(), String>,
    ) -> Result<bool, String> {
        let fired = self.await_order(clock, tick, v0, m, idle)?;
        self.settle_tick(clock, tick, m, fired)?;
        Ok(fired)
    }

    /// [`Client::handle_tick`] up to the order's frame handed to the NIC: what a venue on the
    /// same thread may read before the client's own bookkeeping ([`Client::settle_tick`]).
    pub(crate) fn await_order(
        &mut self,
        clock: &Clock,
        tick: u64,
        v0: i64,
        m: &mut Measured,
        idle: &mut dyn FnMut(&mut Self) -> Result<(), String>,
    ) -> Result<bool, String> {
        let stamped = m.stages.is_some() && tick % 2 == 0;
        let waiting = v0 + TICK_STALL_NS;
        let fired = loop {
            match tick_to_order(
                clock,
                &mut self.side,
                &mut self.book,
                &mut self.tables.md,
                &mut self.armed,
                stamped,
                &mut m.s,
                &mut self.md_error,
            )? {
                Some(fired) => break fired,
                None if m.s[0] > waiting => {
                    return Err(format!("tick {tick} did not reach the client within 5 s"))
                }
                None => idle(self)?,
            }
        };
        if let Some(e) = self.md_error.take() {
            return Err(format!("market data at tick {tick}: {e}"));
        }
        Ok(fired)
    }

    /// The rest of [`Client::handle_tick`] once the order has left: the measured interval
    /// recorded, the market-data link's output (the tick's ACK) sent.
    pub(crate) fn settle_tick(
        &mut self,
        clock: &Clock,
        tick: u64,
        m: &mut Measured,
        fired: bool,
    ) -> Result<(), String> {
        let stamped = m.stages.is_some() && tick % 2 == 0;
        if fired {
            self.orders += 1;
            match (&mut m.stages, stamped) {
                (Some(st), true) => st.record(&m.s)?,
                _ => m
                    .inside
                    .record((m.s[9] - m.s[0]).max(1) as u64)
                    .map_err(|e| e.to_string())?,
            }
        }
        let ns = clock.mono_ns();
        self.side
            .md
            .flush(&mut self.side.stack, clock.utc(ns))
            .map_err(|e| e.to_string())?;
        Ok(())
    }

    /// After a tick: reads what came back (fills), fires on a book change outside the
    /// measured path, sends what is due, warms the journals ([`Session::warm`]), runs the FIX
    /// timers every 1024 ticks.
    pub(crate) fn after_tick(&mut self, clock: &Clock, tick: u64) -> Result<(), String> {
        let ns = clock.mono_ns();
        let now = clock.utc(ns);
        self.side.stack.poll(ns);
        if self.pump(now)?
            && self
                .armed
                .on_book(&self.book, &mut self.side.trd.fix, now)?
        {
            // A book change outside the measured path that meets the trigger (none with
            // these venues: a fill removes the only offer at the trigger price).
            self.orders += 1;
        }
        if let Some(e) = self.md_error.take() {
            return Err(format!("market data after tick {tick}: {e}"));
        }
        let c = &mut self.side;
        c.trd.flush(&mut c.stack, now).map_err(|e| e.to_string())?;
        c.stack.poll(ns);
        // What the engine does on its idle cycles: the journals' next slots into the cache.
        c.md.fix.warm();
        c.trd.fix.warm();
        if tick % 1024 == 0 {
            for link in [&mut c.md, &mut c.trd] {
                link.fix.handle_timeout(now);
            }
        }
        Ok(())
    }

    /// Lets the last fills arrive (100 rounds at least, at most a second); `venue` runs the
    /// venue's step first in each round (nothing when it runs on a thread of its own).
    pub(crate) fn drain(
        &mut self,
        clock: &Clock,
        venue: &mut dyn FnMut(i64) -> Result<(), String>,
    ) -> Result<(), String> {
        let drain = Instant::now() + Duration::from_secs(1);
        for round in 0.. {
            if round >= 100 && (self.fills >= self.orders || Instant::now() > drain) {
                break;
            }
            let ns = clock.mono_ns();
            venue(ns)?;
            self.side.stack.poll(ns);
            self.pump(clock.utc(ns))?;
            self.side.stack.poll(ns);
        }
        Ok(())
    }

    /// The client outside the measured path: market data into the book, fills counted.
    /// Returns whether the book changed.
    pub(crate) fn pump(&mut self, now: UtcTimestamp) -> Result<bool, String> {
        client_pump(
            &mut self.side,
            &mut self.book,
            &mut self.armed,
            &mut self.tables,
            &mut self.md_error,
            &mut self.fills,
            now,
        )
    }

    /// Progress after `tick` ticks.
    pub(crate) fn progress(&self, tick: u64, m: &Measured) -> Progress {
        let h = match (&m.stages, m.inside.is_empty()) {
            (Some(st), true) => &st.stamped,
            _ => &m.inside,
        };
        Progress {
            ticks: tick,
            orders: self.orders,
            fills: self.fills,
            p50: h.value_at_quantile(0.5),
            p99: h.value_at_quantile(0.99),
        }
    }

    /// The run's report.
    pub(crate) fn report(
        &self,
        params: &Params,
        m: Measured,
        at_venue: Histogram<u64>,
        started: Instant,
        venue_stats: Option<tickwire_venue::kraken::Stats>,
    ) -> Report {
        Report {
            ticks: params.ticks,
            orders: self.orders,
            fills: self.fills,
            tick_to_trade: m.inside,
            at_venue,
            stages: m.stages,
            elapsed: started.elapsed(),
            dropped_frames: self.side.stack.counters().drops.not_allowed,
            peak_rss_kib: crate::rss::peak_kib(),
            venue_stats,
            risk_refused: self.armed.refused(),
        }
    }
}

/// The views' tables of the client's two links, kept from message to message.
#[derive(Debug, Default)]
struct ViewTables {
    er: ErTable,
    md: MdTable,
}

/// The client outside the measured path: market data into the book, fills counted.
/// Returns whether the book changed.
fn client_pump<N: Nic>(
    client: &mut Side2<N>,
    book: &mut Book,
    armed: &mut ArmedOrder,
    tables: &mut ViewTables,
    md_error: &mut Option<String>,
    fills: &mut u64,
    now: UtcTimestamp,
) -> Result<bool, String> {
    let mut updated = false;
    client
        .md
        .pump(&mut client.stack, now, &mut |m: &Message<'_>| {
            let seq = m.uint(34).unwrap_or(0);
            if let Ok(v) = MarketData::new_cached(m, &mut tables.md) {
                match book.apply_message(&v, seq) {
                    Ok(_) => updated = true,
                    Err(e) => *md_error = Some(e.to_string()),
                }
            }
        })
        .map_err(|e| e.to_string())?;
    client
        .trd
        .pump(&mut client.stack, now, &mut |m: &Message<'_>| {
            if let Ok(er) = ExecutionReport::new_cached(m, &mut tables.er) {
                *fills += u64::from(er.ord_status() == OrdStatus::Filled);
                armed.on_execution(&er);
            }
        })
        .map_err(|e| e.to_string())?;
    Ok(updated)
}
