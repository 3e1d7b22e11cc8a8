//! Baselines a user would otherwise build: the same FIX, TLS 1.3 and strategy code over kernel
//! TCP sockets on loopback.
//!
//! - [`Mode::Polling`]: both ends' non-blocking sockets polled by one thread (the best a kernel
//!   design does on this machine, DESIGN §7);
//! - [`Mode::Blocking`]: the venue in its own thread, the client blocking in `read` (what most
//!   hand-written clients do).
//!
//! Measured with the calibrated TSC, two ways, like the in-memory path:
//! - inside the client: from the return of the client's `read` that brought the tick's bytes
//!   to the return of the `write` that hands the order to the kernel;
//! - at the venue: from just before the venue's `write` of the tick to the return of the
//!   venue's `read` that brings the order's bytes (in [`Mode::Blocking`] the venue thread
//!   stamps both itself, so the client thread's wake-up is inside the interval).
//!
//! The venue does what the in-memory harness's minimal venue does: it answers every order with
//! the same fill ([`crate::feed::send_fill`]), and the client reads the fills back.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use tickwire_dataplane::clock::Clock;

use hdrhistogram::Histogram;
use tickwire_fix::book::Book;
use tickwire_fix::message::Message;
use tickwire_fix::session::{
    Capacities, Config, MemoryJournal, ResendPolicy, Role, Session, State,
};
use tickwire_fix::time::UtcTimestamp;
use tickwire_fix::views::{ErTable, ExecutionReport, MarketData, MdTable, OrdStatus};

use crate::feed::{numeric_cl_ord_id, send_fill, ArmedOrder, Feed};
use crate::inmem::Report;

/// Which kernel baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One thread polls both non-blocking sockets.
    Polling,
    /// Venue thread + client thread, blocking reads.
    Blocking,
}

/// TCP socket + TLS + FIX, over the kernel.
pub(crate) struct KLink {
    tcp: TcpStream,
    tls: tickwire_tls::Session,
    pub(crate) fix: Session<MemoryJournal>,
    buf: Vec<u8>,
    up: bool,
    clock: Clock,
    /// When the last `read` that returned bytes returned (clock ns): the start of a measured
    /// interval on the client, the end of one on the venue.
    pub(crate) read_at: i64,
}

impl KLink {
    pub(crate) fn new(
        tcp: TcpStream,
        tls: tickwire_tls::Session,
        fix: Session<MemoryJournal>,
        blocking: bool,
        clock: Clock,
    ) -> Result<KLink, String> {
        tcp.set_nodelay(true).map_err(|e| e.to_string())?;
        tcp.set_nonblocking(!blocking).map_err(|e| e.to_string())?;
        Ok(KLink {
            tcp,
            tls,
            fix,
            buf: vec![0; 64 * 1024],
            up: false,
            clock,
            read_at: 0,
        })
    }

    /// Reads what is available (or blocks, in blocking mode) and runs TLS and FIX on it.
    /// Returns true if bytes arrived.
    pub(crate) fn pump(
        &mut self,
        now: UtcTimestamp,
        on_app: &mut dyn FnMut(&Message<'_>),
    ) -> Result<bool, String> {
        let n = self.read_some()?;
        self.process(n, now, on_app)?;
        Ok(n > 0)
    }

    /// One `read` into the link's buffer (stamping [`KLink::read_at`] when it returned
    /// bytes); 0 if nothing was there.
    pub(crate) fn read_some(&mut self) -> Result<usize, String> {
        match self.tcp.read(&mut self.buf) {
            Ok(0) => Err("peer closed".into()),
            Ok(n) => {
                self.read_at = self.clock.mono_ns();
                Ok(n)
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => Ok(0),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Runs TLS and FIX on the `n` bytes [`KLink::read_some`] read.
    pub(crate) fn process(
        &mut self,
        n: usize,
        now: UtcTimestamp,
        on_app: &mut dyn FnMut(&Message<'_>),
    ) -> Result<(), String> {
        let mut off = 0;
        while off < n {
            off += self.tls.handle_ciphertext(&self.buf[off..n]);
            self.tls.poll().map_err(|e| e.to_string())?;
        }
        if n == 0 {
            self.tls.poll().map_err(|e| e.to_string())?;
        }
        if self.tls.is_established() && !self.up {
            self.up = true;
            self.fix.handle_connected(now);
        }
        if !self.tls.plaintext().is_empty() {
            let k = self.tls.plaintext().len();
            self.fix.handle_input(now, self.tls.plaintext(), on_app);
            self.tls.consume_plaintext(k);
        }
        Ok(())
    }

    /// FIX → TLS → socket.
    pub(crate) fn flush(&mut self) -> Result<(), String> {
        self.seal()?;
        self.write_out()
    }

    /// FIX → TLS: seals what the FIX session has queued (one record's worth).
    pub(crate) fn seal(&mut self) -> Result<(), String> {
        if self.tls.is_established() && !self.fix.pending_transmit().is_empty() {
            let k = self.fix.pending_transmit().len().min(16 * 1024 - 256);
            self.tls
                .write_plaintext(&self.fix.pending_transmit()[..k])
                .map_err(|e| e.to_string())?;
            self.fix.consume_transmit(k);
        }
        Ok(())
    }

    /// TLS → socket: writes every sealed byte (spinning while the socket is full).
    pub(crate) fn write_out(&mut self) -> Result<(), String> {
        while !self.tls.pending_ciphertext().is_empty() {
            match self.tcp.write(self.tls.pending_ciphertext()) {
                Ok(n) => self.tls.consume_ciphertext(n),
                Err(e) if e.kind() == ErrorKind::WouldBlock => std::thread::yield_now(),
                Err(e) => return Err(e.to_string()),
            }
        }
        Ok(())
    }
}

fn sessions(target: &str) -> Result<(Session<MemoryJournal>, Session<MemoryJournal>), String> {
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

fn utc() -> UtcTimestamp {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    UtcTimestamp::from_nanos(d.as_nanos() as i64)
}

/// One side's two connections, as on Kraken: market data (4000) and trading (4001).
struct Client {
    md: KLink,
    trd: KLink,
}

impl Client {
    /// Both journals' next slots into the cache ([`Session::warm`]), off the measured path.
    fn warm(&mut self) {
        self.md.fix.warm();
        self.trd.fix.warm();
    }
}

/// The client's strategy: book + trigger + precompiled order.
struct Strategy {
    book: Book,
    /// Market-data messages processed.
    ticks_seen: u64,
    /// Fills read back.
    fills: u64,
    armed: ArmedOrder,
    er_table: ErTable,
    md_table: MdTable,
}

impl Strategy {
    fn new() -> Result<Strategy, String> {
        Ok(Strategy {
            book: Book::new(10, 1, 8),
            ticks_seen: 0,
            fills: 0,
            armed: ArmedOrder::new()?,
            er_table: ErTable::new(),
            md_table: MdTable::new(),
        })
    }

    /// Handles the client's input; sends an order when a book update meets the trigger.
    /// Returns the time the tick's bytes were read if an order was sent.
    fn on_tick(&mut self, client: &mut Client) -> Result<Option<i64>, String> {
        let now = utc();
        let (fills, armed, er_table) = (&mut self.fills, &mut self.armed, &mut self.er_table);
        client.trd.pump(now, &mut |m: &Message<'_>| {
            if let Ok(er) = ExecutionReport::new_cached(m, er_table) {
                *fills += u64::from(er.ord_status() == OrdStatus::Filled);
                armed.on_execution(&er);
            }
        })?;
        let book = &mut self.book;
        let seen = &mut self.ticks_seen;
        let mut err = None;
        let mut updated = false;
        let md_table = &mut self.md_table;
        client.md.pump(now, &mut |m: &Message<'_>| {
            if let Ok(md) = MarketData::new_cached(m, md_table) {
                *seen += 1;
                updated = true;
                if let Err(e) = book.apply_message(&md, m.uint(34).unwrap_or(0)) {
                    err = Some(e.to_string());
                }
            }
        })?;
        if let Some(e) = err {
            return Err(e);
        }
        if !updated {
            return Ok(None);
        }
        if self.armed.on_book(&self.book, &mut client.trd.fix, now)? {
            client.trd.flush()?;
            Ok(Some(client.md.read_at))
        } else {
            Ok(None)
        }
    }
}

/// The venue's side after a tick that fires: read until the order is in (returns when the
/// `read` that brought it returned), then answer every order with a fill.
pub(crate) fn venue_fill(venue: &mut KLink, deadline: Instant) -> Result<i64, String> {
    let (mut ids, mut n) = ([0u64; 16], 0usize);
    while n == 0 {
        if Instant::now() > deadline {
            return Err("the order did not reach the venue".into());
        }
        venue.pump(utc(), &mut |m: &Message<'_>| {
            if m.msg_type() == b"D" && n < ids.len() {
                ids[n] = numeric_cl_ord_id(m.field(11)).unwrap_or(0);
                n += 1;
            }
        })?;
    }
    let seen = venue.read_at;
    for &id in &ids[..n] {
        send_fill(&mut venue.fix, utc(), id).map_err(|e| e.to_string())?;
    }
    venue.flush()?;
    Ok(seen)
}

fn hist() -> Result<Histogram<u64>, String> {
    Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).map_err(|e| e.to_string())
}

fn connect(blocking: bool, clock: Clock) -> Result<(Client, Client), String> {
    let mut pki = crate::pki::generate("fix.venue.test")?;
    // What a user would build: rustls' own record layer (it allocates per record).
    pki.client.rustls_record_layer = true;
    pki.server.rustls_record_layer = true;
    let te = |e: tickwire_tls::Error| e.to_string();
    let pair = |target: &str| -> Result<(KLink, KLink), String> {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let client_tcp = TcpStream::connect(addr).map_err(|e| e.to_string())?;
        let (venue_tcp, _) = listener.accept().map_err(|e| e.to_string())?;
        let (cfix, vfix) = sessions(target)?;
        let ctls = tickwire_tls::Session::client(
            &pki.client,
            &pki.server_name,
            tickwire_tls::Capacities::default(),
        )
        .map_err(te)?;
        let vtls = tickwire_tls::Session::server(&pki.server, tickwire_tls::Capacities::default())
            .map_err(te)?;
        Ok((
            KLink::new(client_tcp, ctls, cfix, false, clock)?,
            KLink::new(venue_tcp, vtls, vfix, false, clock)?,
        ))
    };
    let (cmd, vmd) = pair("KRAKEN-MD")?;
    let (ctrd, vtrd) = pair("KRAKEN-TRD")?;
    let mut client = Client { md: cmd, trd: ctrd };
    let mut venue = Client { md: vmd, trd: vtrd };
    // Handshake and logon, polled.
    let deadline = Instant::now() + Duration::from_secs(10);
    let (mut md_logon, mut trd_logon) = (false, false);
    while client.md.fix.state() != State::Active || client.trd.fix.state() != State::Active {
        if Instant::now() > deadline {
            return Err("kernel baseline did not log on".into());
        }
        for link in [
            &mut client.md,
            &mut client.trd,
            &mut venue.md,
            &mut venue.trd,
        ] {
            link.pump(utc(), &mut |_| {})?;
        }
        for (link, done) in [
            (&mut client.md, &mut md_logon),
            (&mut client.trd, &mut trd_logon),
        ] {
            if link.up && !*done {
                link.fix
                    .send_logon(utc(), |_, _| {})
                    .map_err(|e| e.to_string())?;
                *done = true;
            }
        }
        for link in [
            &mut client.md,
            &mut client.trd,
            &mut venue.md,
            &mut venue.trd,
        ] {
            link.flush()?;
        }
    }
    if blocking {
        // The client blocks reading market data; fills are drained without blocking.
        client
            .md
            .tcp
            .set_nonblocking(false)
            .map_err(|e| e.to_string())?;
    }
    Ok((client, venue))
}

/// Runs one kernel baseline for `ticks` ticks.
///
/// # Errors
/// A description of what failed.
pub fn run(mode: Mode, ticks: u64) -> Result<Report, String> {
    crate::rss::reset_peak();
    let (clock, _) = Clock::calibrate(Duration::from_millis(20));
    let (mut client, mut venue) = connect(mode == Mode::Blocking, clock)?;
    let mut strategy = Strategy::new()?;
    let mut inside = hist()?;
    let mut orders = 0u64;
    let started = Instant::now();
    let limit = || Instant::now() + Duration::from_secs(5);
    let record = |h: &mut Histogram<u64>, d: i64| h.record(d.max(1) as u64);
    let at_venue = match mode {
        Mode::Polling => {
            let mut at_venue = hist()?;
            let mut feed = Feed::default();
            for i in 1..=ticks {
                feed.publish(&mut venue.md.fix, utc())
                    .map_err(|e| e.to_string())?;
                venue.md.seal()?;
                let v0 = clock.mono_ns();
                venue.md.write_out()?;
                // Poll until the client has processed this tick.
                let mut fired = None;
                while strategy.ticks_seen < i {
                    if let Some(t0) = strategy.on_tick(&mut client)? {
                        fired = Some(clock.mono_ns() - t0);
                        orders += 1;
                    }
                }
                if feed.fires() {
                    let seen = venue_fill(&mut venue.trd, limit())
                        .map_err(|e| format!("tick {i}, {orders} orders: {e}"))?;
                    record(&mut at_venue, seen - v0).map_err(|e| e.to_string())?;
                }
                // Recorded once the venue has read the order, as in tickwire's one-thread rows.
                if let Some(d) = fired {
                    record(&mut inside, d).map_err(|e| e.to_string())?;
                }
                venue.md.pump(utc(), &mut |_| {})?;
                // Between ticks, as tickwire's rows do ([`Session::warm`]).
                client.warm();
            }
            let deadline = limit();
            while strategy.fills < orders && Instant::now() < deadline {
                strategy.on_tick(&mut client)?;
            }
            at_venue
        }
        Mode::Blocking => {
            let venue_thread = std::thread::spawn(move || -> Result<Histogram<u64>, String> {
                let mut at_venue = hist()?;
                let mut feed = Feed::default();
                for _ in 1..=ticks {
                    feed.publish(&mut venue.md.fix, utc())
                        .map_err(|e| e.to_string())?;
                    venue.md.seal()?;
                    let v0 = clock.mono_ns();
                    venue.md.write_out()?;
                    if feed.fires() {
                        let seen =
                            venue_fill(&mut venue.trd, Instant::now() + Duration::from_secs(5))?;
                        at_venue
                            .record((seen - v0).max(1) as u64)
                            .map_err(|e| e.to_string())?;
                    }
                    // Pace like a feed (one tick per 50 µs), draining the socket meanwhile.
                    while clock.mono_ns() - v0 < 50_000 {
                        venue.md.pump(utc(), &mut |_| {})?;
                        venue.trd.pump(utc(), &mut |_| {})?;
                    }
                }
                Ok(at_venue)
            });
            let mut client_side = || -> Result<(), String> {
                while strategy.ticks_seen < ticks || strategy.fills < orders {
                    if let Some(t0) = strategy.on_tick(&mut client)? {
                        record(&mut inside, clock.mono_ns() - t0).map_err(|e| e.to_string())?;
                        orders += 1;
                        // The order is out: ready the journal for the next one.
                        client.warm();
                    }
                }
                Ok(())
            };
            let client_result = client_side();
            // The venue's own error first: when it gives up (an order not seen in time), the
            // client only sees its sockets close.
            let venue_result = venue_thread
                .join()
                .map_err(|_| "venue thread panicked".to_string())?;
            match (venue_result, client_result) {
                (Err(venue), Err(client)) => {
                    return Err(format!("venue: {venue} (client: {client})"))
                }
                (Err(venue), Ok(())) => return Err(format!("venue: {venue}")),
                (Ok(_), Err(client)) => return Err(client),
                (Ok(at_venue), Ok(())) => at_venue,
            }
        }
    };
    Ok(Report {
        ticks,
        orders,
        fills: strategy.fills,
        tick_to_trade: inside,
        at_venue,
        stages: None,
        elapsed: started.elapsed(),
        dropped_frames: 0,
        peak_rss_kib: crate::rss::peak_kib(),
        venue_stats: None,
        risk_refused: strategy.armed.refused(),
    })
}
