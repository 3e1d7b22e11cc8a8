//! The plain FIX 4.4 conformance profile of the venue: an acceptor (`ISLD`) over kernel TCP,
//! optionally TLS 1.3, that behaves as QuickFIX's acceptance scripts expect.
//!
//! Sessions reset on logon and are validated against the FIX 4.4 dictionary; the application
//! echoes NewOrderSingle and SecurityDefinition (body fields in tag order, as QuickFIX writes
//! them), ignores a PossResend order whose ClOrdID it has seen, and answers any other
//! application message with a BusinessMessageReject "Unsupported Message Type". A second
//! connection logging on with the CompIDs of an active session is disconnected.
//!
//! ```text
//! TcpListener ─► Connection { TcpStream, Option<tls::Session>, fix::Session } ─► echo app
//! ```
//!
//! One thread polls the listener and every connection (non-blocking sockets), so a test can
//! run the server in the background and stop it through [`Server::stop`].

use std::collections::HashSet;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tickwire_fix::message::{FieldIndex, Message};
use tickwire_fix::session::{Capacities, Config, Event, MemoryJournal, Session, State};
use tickwire_fix::time::UtcTimestamp;

fn utc_now() -> UtcTimestamp {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    UtcTimestamp::from_nanos(d.as_nanos() as i64)
}

struct Connection {
    tcp: TcpStream,
    tls: Option<tickwire_tls::Session>,
    fix: Session<MemoryJournal>,
    seen: HashSet<Vec<u8>>,
    closed: bool,
}

/// A running conformance acceptor.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Listens on `addr` (port 0 picks one) and serves in a background thread; with `tls`,
    /// every connection must speak TLS 1.3 first.
    ///
    /// # Errors
    /// The bind error.
    pub fn start(addr: &str, tls: Option<tickwire_tls::ServerConfig>) -> std::io::Result<Server> {
        let listener = TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || serve(listener, tls, &flag));
        Ok(Server {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops the server and waits for its thread.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn new_session() -> Option<Session<MemoryJournal>> {
    let cfg = Config::quickfix_acceptor("ISLD", "TW44").ok()?;
    let mut s = Session::new(cfg, MemoryJournal::new(1024, 1024), Capacities::default());
    s.set_validator(tickwire_fix::dict::validate_fix44);
    Some(s)
}

fn serve(listener: TcpListener, tls: Option<tickwire_tls::ServerConfig>, stop: &AtomicBool) {
    let mut conns: Vec<Connection> = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    while !stop.load(Ordering::Relaxed) {
        let mut idle = true;
        if let Ok((tcp, _)) = listener.accept() {
            idle = false;
            let tls_session = match &tls {
                Some(cfg) => {
                    tickwire_tls::Session::server(cfg, tickwire_tls::Capacities::default()).ok()
                }
                None => None,
            };
            if tcp.set_nonblocking(true).is_ok() && (tls.is_none() || tls_session.is_some()) {
                let _ = tcp.set_nodelay(true);
                if let Some(mut fix) = new_session() {
                    let now = utc_now();
                    if tls_session.is_none() {
                        fix.handle_connected(now);
                    }
                    conns.push(Connection {
                        tcp,
                        tls: tls_session,
                        fix,
                        seen: HashSet::new(),
                        closed: false,
                    });
                }
            }
        }
        for i in 0..conns.len() {
            let now = utc_now();
            let active_elsewhere = conns
                .iter()
                .enumerate()
                .any(|(j, c)| j != i && !c.closed && c.fix.state() == State::Active);
            let c = &mut conns[i];
            if c.closed {
                continue;
            }
            match c.tcp.read(&mut buf) {
                Ok(0) => {
                    c.closed = true;
                    continue;
                }
                Ok(n) => {
                    idle = false;
                    feed(c, now, &buf[..n], active_elsewhere);
                    if c.closed {
                        let _ = c.tcp.shutdown(std::net::Shutdown::Both);
                        continue;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(_) => {
                    c.closed = true;
                    continue;
                }
            }
            c.fix.handle_timeout(now);
            flush(c);
            while let Some(ev) = c.fix.poll_event() {
                if let Event::Disconnect(_) = ev {
                    flush(c);
                    let _ = c.tcp.shutdown(std::net::Shutdown::Both);
                    c.closed = true;
                }
            }
        }
        conns.retain(|c| !c.closed);
        if idle {
            std::thread::sleep(Duration::from_micros(200));
        }
    }
}

fn feed(c: &mut Connection, now: UtcTimestamp, bytes: &[u8], active_elsewhere: bool) {
    let mut plain: Vec<u8> = Vec::new();
    match &mut c.tls {
        Some(tls) => {
            let mut off = 0;
            while off < bytes.len() {
                off += tls.handle_ciphertext(&bytes[off..]);
                if tls.poll().is_err() {
                    c.closed = true;
                    return;
                }
            }
            if tls.is_established() && c.fix.state() == State::Disconnected {
                c.fix.handle_connected(now);
            }
            plain.extend_from_slice(tls.plaintext());
            let k = tls.plaintext().len();
            tls.consume_plaintext(k);
        }
        None => plain.extend_from_slice(bytes),
    }
    if !plain.is_empty() && c.fix.state() == State::AwaitingLogon && active_elsewhere {
        // Duplicate identity: one session per CompID pair; the newcomer is dropped.
        c.closed = true;
        return;
    }
    let mut app: Vec<Vec<u8>> = Vec::new();
    c.fix.handle_input(now, &plain, &mut |m: &Message<'_>| {
        app.push(m.bytes().to_vec())
    });
    for raw in app {
        respond(c, now, &raw);
    }
}

/// The conformance application.
fn respond(c: &mut Connection, now: UtcTimestamp, raw: &[u8]) {
    let mut idx = FieldIndex::<512>::new();
    let Ok(m) = Message::parse(raw, &mut idx) else {
        return;
    };
    let ty = m.msg_type().to_vec();
    if ty == b"D" || ty == b"d" {
        let poss_resend = m.field(97) == Some(b"Y");
        if let Some(id) = m.field(11) {
            if poss_resend && c.seen.contains(id) {
                return;
            }
            c.seen.insert(id.to_vec());
        }
        let mut body: Vec<_> = m
            .fields()
            .iter()
            .filter(|f| !matches!(f.tag, 8 | 9 | 10 | 35 | 34 | 49 | 52 | 56 | 43 | 122 | 97))
            .copied()
            .collect();
        body.sort_by_key(|f| f.tag);
        let _ = c.fix.send_app(now, &ty, |e| {
            if poss_resend {
                e.field(97, b"Y");
            }
            for f in &body {
                e.field(f.tag, m.value(*f));
            }
        });
    } else {
        let seq = m.uint(34).unwrap_or(0);
        let _ = c.fix.send_app(now, b"j", |e| {
            e.uint(45, seq)
                .field(58, b"Unsupported Message Type")
                .field(372, &ty)
                .uint(380, 3);
        });
    }
}

fn flush(c: &mut Connection) {
    let pending = c.fix.pending_transmit().to_vec();
    c.fix.consume_transmit(pending.len());
    let out: Vec<u8> = match &mut c.tls {
        Some(tls) => {
            if !pending.is_empty() && tls.write_plaintext(&pending).is_err() {
                c.closed = true;
                return;
            }
            let o = tls.pending_ciphertext().to_vec();
            tls.consume_ciphertext(o.len());
            o
        }
        None => pending,
    };
    if out.is_empty() {
        return;
    }
    let _ = c.tcp.set_nonblocking(false);
    if c.tcp.write_all(&out).is_err() {
        c.closed = true;
    }
    let _ = c.tcp.set_nonblocking(true);
}
