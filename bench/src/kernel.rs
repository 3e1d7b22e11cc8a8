//! Baselines a user would otherwise build: the same FIX, TLS 1.3 and strategy code over kernel
//! TCP sockets on loopback.
//!
//! - [`Mode::Polling`]: both ends' non-blocking sockets polled by one thread (the best a kernel
//!   design does on this machine, DESIGN §7);
//! - [`Mode::Blocking`]: the venue in its own thread, the client blocking in `read` (what most
//!   hand-written clients do).
//!
//! Measured like the in-memory path: from the client's `read` that returns the tick's bytes to
//! the `write` that hands the order to the kernel.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tickwire_fix::book::Book;
use tickwire_fix::message::Message;
use tickwire_fix::session::{
    Capacities, Config, MemoryJournal, ResendPolicy, Role, Session, State,
};
use tickwire_fix::time::UtcTimestamp;
use tickwire_fix::views::MarketData;

use crate::feed::{ArmedOrder, Feed};
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
struct KLink {
    tcp: TcpStream,
    tls: tickwire_tls::Session,
    fix: Session<MemoryJournal>,
    buf: Vec<u8>,
    up: bool,
    /// When the last `read` that returned bytes returned: the start of a measured interval.
    read_at: Instant,
}

impl KLink {
    fn new(
        tcp: TcpStream,
        tls: tickwire_tls::Session,
        fix: Session<MemoryJournal>,
        blocking: bool,
    ) -> Result<KLink, String> {
        tcp.set_nodelay(true).map_err(|e| e.to_string())?;
        tcp.set_nonblocking(!blocking).map_err(|e| e.to_string())?;
        Ok(KLink {
            tcp,
            tls,
            fix,
            buf: vec![0; 64 * 1024],
            up: false,
            read_at: Instant::now(),
        })
    }

    /// Reads what is available (or blocks, in blocking mode) and runs TLS and FIX on it.
    /// Returns true if bytes arrived.
    fn pump(
        &mut self,
        now: UtcTimestamp,
        on_app: &mut dyn FnMut(&Message<'_>),
    ) -> Result<bool, String> {
        let n = match self.tcp.read(&mut self.buf) {
            Ok(0) => return Err("peer closed".into()),
            Ok(n) => {
                self.read_at = Instant::now();
                n
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => 0,
            Err(e) => return Err(e.to_string()),
        };
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
        Ok(n > 0)
    }

    fn flush(&mut self) -> Result<(), String> {
        if self.tls.is_established() && !self.fix.pending_transmit().is_empty() {
            let k = self.fix.pending_transmit().len().min(16 * 1024 - 256);
            self.tls
                .write_plaintext(&self.fix.pending_transmit()[..k])
                .map_err(|e| e.to_string())?;
            self.fix.consume_transmit(k);
        }
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

fn sessions() -> Result<(Session<MemoryJournal>, Session<MemoryJournal>), String> {
    let e = |e: tickwire_fix::session::ConfigError| e.to_string();
    let mut c = Config::kraken_initiator("TESTCLIENT", "KRAKEN-TRD").map_err(e)?;
    c.rollover = None;
    let mut v = Config::kraken_initiator("KRAKEN-TRD", "TESTCLIENT").map_err(e)?;
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

/// The venue's side: publish the next tick and send it.
fn publish(venue: &mut KLink, feed: &mut Feed) -> Result<(), String> {
    feed.publish(&mut venue.fix, utc())
        .map_err(|e| e.to_string())?;
    venue.flush()
}

/// The client's strategy: book + trigger + precompiled order.
struct Strategy {
    book: Book,
    /// Market-data messages processed.
    ticks_seen: u64,
    armed: ArmedOrder,
}

impl Strategy {
    fn new() -> Result<Strategy, String> {
        Ok(Strategy {
            book: Book::new(10, 1, 8),
            ticks_seen: 0,
            armed: ArmedOrder::new()?,
        })
    }

    /// Handles the client's input; sends an order when the trigger holds. Returns the time
    /// the tick's bytes were read if an order was sent.
    fn on_tick(&mut self, client: &mut KLink) -> Result<Option<Instant>, String> {
        let now = utc();
        let book = &mut self.book;
        let seen = &mut self.ticks_seen;
        let mut err = None;
        let got = client.pump(now, &mut |m: &Message<'_>| {
            if let Ok(md) = MarketData::new_checked(m) {
                *seen += 1;
                if let Err(e) = book.apply_message(&md, m.uint(34).unwrap_or(0)) {
                    err = Some(e.to_string());
                }
            }
        })?;
        if let Some(e) = err {
            return Err(e);
        }
        if !got {
            return Ok(None);
        }
        if self.armed.on_book(&self.book, &mut client.fix, now)? {
            client.flush()?;
            Ok(Some(client.read_at))
        } else {
            Ok(None)
        }
    }
}

fn connect(blocking: bool) -> Result<(KLink, KLink), String> {
    let mut pki = crate::pki::generate("fix.venue.test")?;
    // What a user would build: rustls' own record layer (it allocates per record).
    pki.client.rustls_record_layer = true;
    pki.server.rustls_record_layer = true;
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let client_tcp = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    let (venue_tcp, _) = listener.accept().map_err(|e| e.to_string())?;
    let (cfix, vfix) = sessions()?;
    let te = |e: tickwire_tls::Error| e.to_string();
    let ctls = tickwire_tls::Session::client(
        &pki.client,
        &pki.server_name,
        tickwire_tls::Capacities::default(),
    )
    .map_err(te)?;
    let vtls = tickwire_tls::Session::server(&pki.server, tickwire_tls::Capacities::default())
        .map_err(te)?;
    let mut client = KLink::new(client_tcp, ctls, cfix, false)?;
    let mut venue = KLink::new(venue_tcp, vtls, vfix, false)?;
    // Handshake and logon, polled.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut logon = false;
    while client.fix.state() != State::Active {
        if Instant::now() > deadline {
            return Err("kernel baseline did not log on".into());
        }
        client.pump(utc(), &mut |_| {})?;
        venue.pump(utc(), &mut |_| {})?;
        if client.up && !logon {
            client
                .fix
                .send_logon(utc(), |_, _| {})
                .map_err(|e| e.to_string())?;
            logon = true;
        }
        client.flush()?;
        venue.flush()?;
    }
    if blocking {
        client
            .tcp
            .set_nonblocking(false)
            .map_err(|e| e.to_string())?;
        venue
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
    let (mut client, mut venue) = connect(mode == Mode::Blocking)?;
    let mut strategy = Strategy::new()?;
    let mut hist =
        Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).map_err(|e| e.to_string())?;
    let mut orders = 0u64;
    let started = Instant::now();
    match mode {
        Mode::Polling => {
            let mut feed = Feed::default();
            for i in 1..=ticks {
                publish(&mut venue, &mut feed)?;
                // Poll until the client has processed this tick.
                while strategy.ticks_seen < i {
                    if let Some(t0) = strategy.on_tick(&mut client)? {
                        hist.record((t0.elapsed().as_nanos() as u64).max(1))
                            .map_err(|e| e.to_string())?;
                        orders += 1;
                    }
                }
                venue.pump(utc(), &mut |_| {})?;
            }
        }
        Mode::Blocking => {
            let venue_thread = std::thread::spawn(move || -> Result<(), String> {
                let mut feed = Feed::default();
                venue.tcp.set_nonblocking(true).map_err(|e| e.to_string())?;
                for _ in 1..=ticks {
                    publish(&mut venue, &mut feed)?;
                    // Pace like a feed (one tick per 50 µs), draining the orders meanwhile.
                    let until = Instant::now() + Duration::from_micros(50);
                    while Instant::now() < until {
                        venue.pump(utc(), &mut |_| {})?;
                    }
                }
                Ok(())
            });
            while strategy.ticks_seen < ticks {
                if let Some(t0) = strategy.on_tick(&mut client)? {
                    hist.record((t0.elapsed().as_nanos() as u64).max(1))
                        .map_err(|e| e.to_string())?;
                    orders += 1;
                }
            }
            venue_thread
                .join()
                .map_err(|_| "venue thread panicked".to_string())??;
        }
    }
    // The baselines do not read fills back: their venue only publishes.
    Ok(Report {
        ticks,
        orders,
        fills: 0,
        tick_to_trade: hist,
        elapsed: started.elapsed(),
        dropped_frames: 0,
    })
}
