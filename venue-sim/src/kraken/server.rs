//! The kernel-TCP driver of the Kraken profile: one listener per [`Port`], TLS 1.3 on every
//! connection (rustls through `tickwire-tls`) unless plain TCP was asked for, and one thread
//! that polls every non-blocking socket and runs the [`Venue`].
//!
//! ```text
//! TcpListener per port ─► Link { TcpStream, Option<tls::Session>, out buffer } ─► Venue
//! ```
//!
//! Writes never block the thread: ciphertext waits in a per-connection buffer and is written as
//! the socket accepts it. A client that stops reading fills it; once the venue's own queue for
//! it is full too, the venue disconnects that client (a slow consumer) and keeps serving the
//! others. [`Server::call`] runs a closure on the venue inside the thread (tests, stats).

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tickwire_fix::time::UtcTimestamp;

use super::venue::{ConnId, Venue};
use super::{Config, Port};

/// Most ciphertext buffered per connection before the venue's queue is left to fill.
const OUT_LIMIT: usize = 1 << 20;
/// Largest plaintext handed to TLS at once (one record).
const CHUNK: usize = 16 * 1024;

/// The wall clock as the venue sees it.
pub fn utc_now() -> UtcTimestamp {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    UtcTimestamp::from_nanos(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// Where and how to listen.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address of every listener.
    pub bind: IpAddr,
    /// Ports to serve (0 picks a free one). Derivatives ports need `venue.derivatives`.
    pub ports: Vec<(Port, u16)>,
    /// TLS 1.3 identity; `None` serves plain TCP (only when explicitly configured).
    pub tls: Option<tickwire_tls::ServerConfig>,
    /// The venue.
    pub venue: Config,
}

impl ServerConfig {
    /// Every port on 127.0.0.1 with a free port number each (tests).
    pub fn loopback(venue: Config, tls: Option<tickwire_tls::ServerConfig>) -> ServerConfig {
        let ports = Port::ALL
            .iter()
            .filter(|p| venue.derivatives.is_some() || p.venue() == crate::engine::Venue::Spot)
            .map(|&p| (p, 0))
            .collect();
        ServerConfig {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            ports,
            tls,
            venue,
        }
    }
}

/// Why the server did not start.
#[derive(Debug)]
pub enum StartError {
    /// Binding a listener failed.
    Bind(SocketAddr, std::io::Error),
    /// The venue configuration is unusable.
    Venue(super::venue::BuildError),
    /// A Derivatives port without a Derivatives venue.
    PortDisabled(Port),
}

impl core::fmt::Display for StartError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Bind(a, e) => write!(f, "bind {a}: {e}"),
            Self::Venue(e) => write!(f, "venue: {e}"),
            Self::PortDisabled(p) => write!(f, "{} port needs a Derivatives venue", p.name()),
        }
    }
}

impl std::error::Error for StartError {}

type Call = Box<dyn FnOnce(&mut Venue, UtcTimestamp) + Send>;

/// A running venue.
#[derive(Debug)]
pub struct Server {
    addrs: Vec<(Port, SocketAddr)>,
    tls: bool,
    stop: Arc<AtomicBool>,
    calls: Sender<Call>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Binds every listener, builds the venue and serves in a background thread.
    ///
    /// # Errors
    /// [`StartError`].
    pub fn start(cfg: ServerConfig) -> Result<Server, StartError> {
        let mut listeners = Vec::new();
        let mut addrs = Vec::new();
        for &(port, number) in &cfg.ports {
            if port.venue() == crate::engine::Venue::Derivatives && cfg.venue.derivatives.is_none()
            {
                return Err(StartError::PortDisabled(port));
            }
            let addr = SocketAddr::new(cfg.bind, number);
            let l = TcpListener::bind(addr).map_err(|e| StartError::Bind(addr, e))?;
            l.set_nonblocking(true)
                .map_err(|e| StartError::Bind(addr, e))?;
            let local = l.local_addr().map_err(|e| StartError::Bind(addr, e))?;
            addrs.push((port, local));
            listeners.push((port, l));
        }
        let venue = Venue::new(cfg.venue, utc_now()).map_err(StartError::Venue)?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let (tx, rx) = channel::<Call>();
        let tls = cfg.tls.clone();
        let thread = std::thread::Builder::new()
            .name("tw-venue".into())
            .spawn(move || serve(venue, listeners, tls, &flag, &rx))
            .map_err(|e| StartError::Bind(SocketAddr::new(cfg.bind, 0), e))?;
        Ok(Server {
            addrs,
            tls: cfg.tls.is_some(),
            stop,
            calls: tx,
            thread: Some(thread),
        })
    }

    /// Where `port` listens.
    pub fn addr(&self, port: Port) -> Option<SocketAddr> {
        self.addrs.iter().find(|a| a.0 == port).map(|a| a.1)
    }

    /// Every listener.
    pub fn addrs(&self) -> &[(Port, SocketAddr)] {
        &self.addrs
    }

    /// True if connections must speak TLS.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// Runs `f` on the venue inside the serving thread and returns its result (`None` if the
    /// thread is gone).
    pub fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Venue, UtcTimestamp) -> R + Send + 'static,
    ) -> Option<R> {
        let (tx, rx) = channel();
        let call: Call = Box::new(move |v, now| {
            let _ = tx.send(f(v, now));
        });
        self.calls.send(call).ok()?;
        rx.recv_timeout(Duration::from_secs(10)).ok()
    }

    /// Stops serving (every session ends as on a disconnect) and waits for the thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown();
    }
}

struct Link {
    id: ConnId,
    tcp: TcpStream,
    tls: Option<tickwire_tls::Session>,
    out: Vec<u8>,
    dead: bool,
}

fn serve(
    mut venue: Venue,
    listeners: Vec<(Port, TcpListener)>,
    tls: Option<tickwire_tls::ServerConfig>,
    stop: &AtomicBool,
    calls: &Receiver<Call>,
) {
    let mut links: Vec<Link> = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    while !stop.load(Ordering::Relaxed) {
        let mut busy = false;
        let now = utc_now();
        for (port, l) in &listeners {
            while let Ok((tcp, _)) = l.accept() {
                busy = true;
                if tcp.set_nonblocking(true).is_err() {
                    continue;
                }
                let _ = tcp.set_nodelay(true);
                let session = match &tls {
                    Some(cfg) => {
                        match tickwire_tls::Session::server(
                            cfg,
                            tickwire_tls::Capacities::default(),
                        ) {
                            Ok(s) => Some(s),
                            Err(_) => continue,
                        }
                    }
                    None => None,
                };
                let Ok(id) = venue.handle_connect(*port, now) else {
                    continue;
                };
                links.push(Link {
                    id,
                    tcp,
                    tls: session,
                    out: Vec::new(),
                    dead: false,
                });
            }
        }
        for link in &mut links {
            busy |= read(link, &mut venue, &mut buf, now);
        }
        venue.handle_timeout(now);
        while let Ok(call) = calls.try_recv() {
            call(&mut venue, now);
        }
        for link in &mut links {
            busy |= write(link, &mut venue);
            if !link.dead && venue.wants_close(link.id) && link.out.is_empty() {
                if let Some(t) = &mut link.tls {
                    let _ = t.close();
                    let o = t.pending_ciphertext().len();
                    let _ = link.tcp.write(t.pending_ciphertext());
                    t.consume_ciphertext(o);
                }
                link.dead = true;
            }
            if link.dead {
                let _ = link.tcp.shutdown(Shutdown::Both);
                venue.handle_closed(link.id, now);
            }
        }
        links.retain(|l| !l.dead);
        if !busy {
            std::thread::sleep(Duration::from_micros(100));
        }
    }
    let now = utc_now();
    for link in &links {
        let _ = link.tcp.shutdown(Shutdown::Both);
        venue.handle_closed(link.id, now);
    }
}

/// Reads what the socket has; true if anything arrived.
fn read(link: &mut Link, venue: &mut Venue, buf: &mut [u8], now: UtcTimestamp) -> bool {
    if link.dead {
        return false;
    }
    let mut any = false;
    for _ in 0..8 {
        match link.tcp.read(buf) {
            Ok(0) => {
                link.dead = true;
                return any;
            }
            Ok(n) => {
                any = true;
                match &mut link.tls {
                    None => venue.handle_input(link.id, now, &buf[..n]),
                    Some(tls) => {
                        let mut off = 0;
                        let mut stalls = 0;
                        while off < n {
                            let used = tls.handle_ciphertext(&buf[off..n]);
                            off += used;
                            if tls.poll().is_err() {
                                link.dead = true;
                                return any;
                            }
                            let plain = tls.plaintext();
                            let k = plain.len();
                            if k > 0 {
                                venue.handle_input(link.id, now, plain);
                                tls.consume_plaintext(k);
                            } else if used == 0 {
                                stalls += 1;
                                if stalls > 2 {
                                    link.dead = true;
                                    return any;
                                }
                            }
                        }
                        if tls.is_peer_closed() {
                            link.dead = true;
                        }
                    }
                }
                if n < buf.len() {
                    return any;
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return any,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => {
                link.dead = true;
                return any;
            }
        }
    }
    any
}

/// Moves the venue's output through TLS into the socket; true if anything was written.
fn write(link: &mut Link, venue: &mut Venue) -> bool {
    if link.dead {
        return false;
    }
    match &mut link.tls {
        None => {
            let pending = venue.transmit(link.id);
            let n = pending.len().min(OUT_LIMIT.saturating_sub(link.out.len()));
            if n > 0 {
                link.out.extend_from_slice(&pending[..n]);
                venue.consume_transmit(link.id, n);
            }
        }
        Some(tls) => loop {
            let c = tls.pending_ciphertext();
            if !c.is_empty() {
                link.out.extend_from_slice(c);
                let k = c.len();
                tls.consume_ciphertext(k);
            }
            if !tls.is_established() || link.out.len() >= OUT_LIMIT {
                break;
            }
            let pending = venue.transmit(link.id);
            if pending.is_empty() {
                break;
            }
            let n = pending.len().min(CHUNK);
            if tls.write_plaintext(&pending[..n]).is_err() {
                link.dead = true;
                return false;
            }
            venue.consume_transmit(link.id, n);
        },
    }
    if link.out.is_empty() {
        return false;
    }
    match link.tcp.write(&link.out) {
        Ok(n) => {
            link.out.drain(..n);
            n > 0
        }
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => false,
        Err(_) => {
            link.dead = true;
            false
        }
    }
}
