//! The FIX-over-TLS exchange every DPDK session test runs, whatever carries it.
//!
//! An initiator (the appliance: Kraken-dialect FIX client, TLS 1.3 client with certificate
//! verification against a generated CA) logs on, sends [`MESSAGES`] NewOrderSingles in a
//! window of [`WINDOW`] outstanding, checks one ExecutionReport back per order, then logs out.
//! The acceptor (the venue) checks every order and answers each with a report. Every
//! application message is compared byte for byte between the header and the trailer (the FIX
//! session checks BodyLength, CheckSum, CompIDs and MsgSeqNum of every message around it), and
//! any session-level trouble (reject, gap, garbled message, unexpected disconnect) fails the
//! run.
//!
//! The two ends are [`FixEnd`]s: [`StackEnd`] is the userspace stack + [`Link`] over any
//! [`Nic`] (here a `DpdkNic`), [`KernelEnd`] is kernel TCP (`std::net::TcpStream`) + the same
//! TLS and FIX sessions.

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tickwire_dataplane::allowlist::{self, Allowlist};
use tickwire_dataplane::link::{Link, LinkError};
use tickwire_dataplane::nic::Nic;
use tickwire_dataplane::stack::{ConnState, Stack, StackConfig};
use tickwire_fix::message::Message;
use tickwire_fix::session::{
    Capacities, Config, DisconnectReason, Event, MemoryJournal, ResendPolicy, Role, Session, State,
};
use tickwire_fix::time::UtcTimestamp;

/// Application messages each way.
pub const MESSAGES: u64 = 10_000;
/// Orders in flight before the initiator waits for reports.
pub const WINDOW: u64 = 64;
/// The TLS server name in the leaf certificate.
pub const SERVER_NAME: &str = "fix.venue.h2.test";
/// TCP port the venue listens on.
pub const FIX_PORT: u16 = 4443;
/// Bound on a whole session (a failure, never a speed assertion).
pub const SESSION_LIMIT: Duration = Duration::from_secs(45);

/// Wall-clock time for the FIX session (SendingTime).
pub fn wall() -> UtcTimestamp {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    UtcTimestamp::from_nanos(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// A generated CA and a leaf for [`SERVER_NAME`], as DER.
#[derive(Debug, Clone)]
pub struct Pki {
    /// The CA certificate the client trusts.
    pub ca: Vec<u8>,
    /// The leaf certificate the server presents.
    pub leaf: Vec<u8>,
    /// The leaf's PKCS#8 key.
    pub key: Vec<u8>,
}

impl Pki {
    /// Generates a fresh CA and leaf with rcgen.
    pub fn generate() -> Pki {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.distinguished_name
            .push(DnType::CommonName, "tickwire h2 DPDK test CA");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_key = KeyPair::generate().unwrap();
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca, ca_key);
        let key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec![SERVER_NAME.to_string()])
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        Pki {
            ca: ca_cert.der().to_vec(),
            leaf: leaf.der().to_vec(),
            key: key.serialize_der(),
        }
    }

    /// Writes the three files into `dir` (for a peer process).
    pub fn save(&self, dir: &Path) {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("ca.der"), &self.ca).unwrap();
        std::fs::write(dir.join("leaf.der"), &self.leaf).unwrap();
        std::fs::write(dir.join("key.der"), &self.key).unwrap();
    }

    /// Reads what [`Pki::save`] wrote.
    pub fn load(dir: &Path) -> Pki {
        let r = |f: &str| std::fs::read(dir.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        Pki {
            ca: r("ca.der"),
            leaf: r("leaf.der"),
            key: r("key.der"),
        }
    }

    /// A TLS 1.3 client that trusts only the CA and checks the server name.
    pub fn client(&self) -> tickwire_tls::Session {
        self.client_for(SERVER_NAME)
    }

    /// A TLS 1.3 client that trusts only the CA and expects the server to be `name`.
    pub fn client_for(&self, name: &str) -> tickwire_tls::Session {
        let cfg =
            tickwire_tls::ClientConfig::new(tickwire_tls::RootSource::Der(vec![self.ca.clone()]));
        tickwire_tls::Session::client(&cfg, name, tickwire_tls::Capacities::default()).unwrap()
    }

    /// A TLS 1.3 server presenting the leaf.
    pub fn server(&self) -> tickwire_tls::Session {
        let cfg = tickwire_tls::ServerConfig::new(tickwire_tls::Identity::Der {
            chain: vec![self.leaf.clone()],
            pkcs8_key: self.key.clone(),
        });
        tickwire_tls::Session::server(&cfg, tickwire_tls::Capacities::default()).unwrap()
    }
}

/// The appliance's FIX session (Kraken dialect initiator).
pub fn initiator_session() -> Session<MemoryJournal> {
    let mut c = Config::kraken_initiator("TESTCLIENT", "KRAKEN-TRD").unwrap();
    c.rollover = None;
    Session::new(c, MemoryJournal::new(1 << 15, 512), Capacities::default())
}

/// The venue's FIX session (acceptor).
pub fn acceptor_session() -> Session<MemoryJournal> {
    let mut v = Config::kraken_initiator("KRAKEN-TRD", "TESTCLIENT").unwrap();
    v.role = Role::Acceptor;
    v.resend_policy = ResendPolicy::ReplayApplication;
    v.rollover = None;
    Session::new(v, MemoryJournal::new(1 << 15, 512), Capacities::default())
}

/// One end of a FIX-over-TLS session, whatever transport is under it.
pub trait FixEnd {
    /// Moves whatever is ready both ways once (transport, TLS, FIX); application messages go
    /// to `on_app`.
    ///
    /// # Errors
    /// A description of a transport or TLS failure.
    fn pump(
        &mut self,
        now: UtcTimestamp,
        on_app: &mut dyn FnMut(&Message<'_>),
    ) -> Result<(), String>;
    /// The FIX session.
    fn fix(&mut self) -> &mut Session<MemoryJournal>;
    /// TLS is established and the FIX session knows the transport is up.
    fn is_up(&self) -> bool;
    /// Sends what is still queued, closes TLS and TCP, and waits (bounded) for the peer.
    fn finish(&mut self);
}

/// The userspace stack over `N` with one [`Link`].
pub struct StackEnd<N: Nic> {
    /// The stack.
    pub stack: Stack<N>,
    /// TCP + TLS + FIX.
    pub link: Link<MemoryJournal>,
    base: Instant,
}

impl<N: Nic> StackEnd<N> {
    fn stack(nic: N, ours: Ipv4Addr, theirs: Ipv4Addr, base: Instant) -> Stack<N> {
        let cfg = StackConfig {
            address: ours,
            connections: 2,
            ..StackConfig::default()
        };
        Stack::new(
            nic,
            allowlist::live(Allowlist::new(&[theirs]).unwrap()).1,
            cfg,
            base.elapsed().as_nanos() as i64,
        )
    }

    /// The appliance: connects from `ours` to `theirs:FIX_PORT`.
    pub fn connect(nic: N, ours: Ipv4Addr, theirs: Ipv4Addr, pki: &Pki) -> StackEnd<N> {
        let base = Instant::now();
        let mut stack = Self::stack(nic, ours, theirs, base);
        let conn = stack.connect(SocketAddrV4::new(theirs, FIX_PORT)).unwrap();
        StackEnd {
            stack,
            link: Link::new(conn, pki.client(), initiator_session()),
            base,
        }
    }

    /// The venue: listens on `ours:FIX_PORT` for `theirs`.
    pub fn listen(nic: N, ours: Ipv4Addr, theirs: Ipv4Addr, pki: &Pki) -> StackEnd<N> {
        let base = Instant::now();
        let mut stack = Self::stack(nic, ours, theirs, base);
        let conn = stack.listen(FIX_PORT).unwrap();
        StackEnd {
            stack,
            link: Link::new(conn, pki.server(), acceptor_session()),
            base,
        }
    }

    fn now_ns(&self) -> i64 {
        self.base.elapsed().as_nanos() as i64
    }

    /// Opens a second connection to `theirs:FIX_PORT` with `tls` and drives it until TLS fails;
    /// returns the error (after sending our alert and closing). Panics if the handshake
    /// succeeds or TCP fails instead.
    pub fn refused_handshake(
        &mut self,
        theirs: Ipv4Addr,
        tls: tickwire_tls::Session,
    ) -> tickwire_tls::Error {
        let conn = self
            .stack
            .connect(SocketAddrV4::new(theirs, FIX_PORT))
            .unwrap();
        let mut link = Link::new(conn, tls, initiator_session());
        let start = Instant::now();
        let err = loop {
            assert!(start.elapsed() < SESSION_LIMIT, "TLS never failed");
            let t = self.now_ns();
            self.stack.poll(t);
            match link.pump(&mut self.stack, wall(), &mut |_| {}) {
                Ok(()) => assert!(!link.is_up(), "handshake succeeded but must not"),
                Err(LinkError::Tls(e)) => break e,
                Err(e) => panic!("expected a TLS error, got {e}"),
            }
        };
        // Our alert, then FIN; wait (bounded) for the close.
        let out = link.tls.pending_ciphertext();
        if !out.is_empty() {
            let _ = self.stack.send(conn, out);
        }
        self.stack.close(conn);
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(2)
            && self.stack.state(conn) != ConnState::Closed
        {
            let t = self.now_ns();
            self.stack.poll(t);
        }
        err
    }
}

impl<N: Nic> FixEnd for StackEnd<N> {
    fn pump(
        &mut self,
        now: UtcTimestamp,
        on_app: &mut dyn FnMut(&Message<'_>),
    ) -> Result<(), String> {
        let t = self.now_ns();
        self.stack.poll(t);
        self.link
            .pump(&mut self.stack, now, on_app)
            .map_err(|e| e.to_string())?;
        self.stack.poll(t);
        Ok(())
    }

    fn fix(&mut self) -> &mut Session<MemoryJournal> {
        &mut self.link.fix
    }

    fn is_up(&self) -> bool {
        self.link.is_up()
    }

    fn finish(&mut self) {
        let start = Instant::now();
        let mut closed = false;
        while start.elapsed() < Duration::from_secs(3) {
            let t = self.now_ns();
            self.stack.poll(t);
            let _ = self.link.flush(&mut self.stack, wall());
            let conn = self.link.conn;
            if !closed
                && self.link.fix.pending_transmit().is_empty()
                && self.link.tls.pending_ciphertext().is_empty()
            {
                let _ = self.link.tls.close();
                let _ = self.link.flush(&mut self.stack, wall());
                self.stack.close(conn);
                closed = true;
            }
            if closed && self.stack.state(conn) == ConnState::Closed {
                return;
            }
        }
    }
}

/// Kernel TCP (blocking, with a short read timeout) + TLS + FIX: the venue in a network
/// namespace, or behind a TAP device.
pub struct KernelEnd {
    stream: TcpStream,
    tls: tickwire_tls::Session,
    fix: Session<MemoryJournal>,
    up: bool,
    buf: Vec<u8>,
}

impl KernelEnd {
    /// The venue side of an accepted connection.
    pub fn accepted(stream: TcpStream, pki: &Pki) -> KernelEnd {
        stream.set_nodelay(true).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(5)))
            .unwrap();
        KernelEnd {
            stream,
            tls: pki.server(),
            fix: acceptor_session(),
            up: false,
            buf: vec![0; 64 * 1024],
        }
    }

    fn write_ciphertext(&mut self) -> Result<(), String> {
        let out = self.tls.pending_ciphertext();
        if !out.is_empty() {
            self.stream.write_all(out).map_err(|e| e.to_string())?;
            let n = out.len();
            self.tls.consume_ciphertext(n);
        }
        Ok(())
    }

    fn write_fix(&mut self) -> Result<(), String> {
        while self.tls.is_established() && !self.fix.pending_transmit().is_empty() {
            let n = self.fix.pending_transmit().len().min(16 * 1024 - 256);
            self.tls
                .write_plaintext(&self.fix.pending_transmit()[..n])
                .map_err(|e| e.to_string())?;
            self.fix.consume_transmit(n);
            self.write_ciphertext()?;
        }
        self.write_ciphertext()
    }
}

impl FixEnd for KernelEnd {
    fn pump(
        &mut self,
        now: UtcTimestamp,
        on_app: &mut dyn FnMut(&Message<'_>),
    ) -> Result<(), String> {
        self.write_fix()?;
        let n = match self.stream.read(&mut self.buf) {
            Ok(0) => return Err("peer closed the TCP connection".into()),
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) =>
            {
                0
            }
            Err(e) => return Err(e.to_string()),
        };
        let mut off = 0;
        loop {
            off += self.tls.handle_ciphertext(&self.buf[off..n]);
            self.tls.poll().map_err(|e| e.to_string())?;
            if self.tls.is_established() && !self.up {
                self.up = true;
                self.fix.handle_connected(now);
            }
            if !self.tls.plaintext().is_empty() {
                let k = self.tls.plaintext().len();
                self.fix.handle_input(now, self.tls.plaintext(), on_app);
                self.tls.consume_plaintext(k);
            }
            if off >= n {
                break;
            }
        }
        self.write_fix()
    }

    fn fix(&mut self) -> &mut Session<MemoryJournal> {
        &mut self.fix
    }

    fn is_up(&self) -> bool {
        self.up
    }

    fn finish(&mut self) {
        let _ = self.write_fix();
        let _ = self.tls.close();
        let _ = self.write_ciphertext();
        let _ = self.stream.shutdown(std::net::Shutdown::Write);
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(3) {
            match self.stream.read(&mut self.buf) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                    ) => {}
                Err(_) => return,
            }
        }
    }
}

fn pattern(i: u64, len: usize, salt: u64) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..len as u64)
        .map(|j| ALPHABET[(i.wrapping_mul(31).wrapping_add(j * 7 + salt) % 62) as usize])
        .collect()
}

/// The body fields of order `i` (after the standard header, before the trailer).
pub fn order_fields(i: u64) -> Vec<(u32, Vec<u8>)> {
    vec![
        (11, format!("{:012}", 100_000_000 + i).into_bytes()),
        (55, b"BTC/USD".to_vec()),
        (
            54,
            if i % 2 == 0 {
                b"1".to_vec()
            } else {
                b"2".to_vec()
            },
        ),
        (40, b"2".to_vec()),
        (44, format!("84{:03}.{}", i % 1000, i % 10).into_bytes()),
        (38, format!("0.{:04}", 1 + i % 9999).into_bytes()),
        (59, b"1".to_vec()),
        (58, pattern(i, 40 + (i % 64) as usize, 0)),
    ]
}

/// The body fields of the report answering order `i`.
pub fn report_fields(i: u64) -> Vec<(u32, Vec<u8>)> {
    let order = order_fields(i);
    vec![
        (37, format!("OH2{i:09}").into_bytes()),
        (11, order[0].1.clone()),
        (17, format!("EH2{i:09}").into_bytes()),
        (150, b"0".to_vec()),
        (39, b"0".to_vec()),
        (55, b"BTC/USD".to_vec()),
        (54, order[2].1.clone()),
        (151, order[5].1.clone()),
        (14, b"0".to_vec()),
        (6, b"0".to_vec()),
        (58, pattern(i, 30 + (i % 97) as usize, 5)),
    ]
}

fn body_bytes(fields: &[(u32, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (tag, value) in fields {
        out.extend_from_slice(tag.to_string().as_bytes());
        out.push(b'=');
        out.extend_from_slice(value);
        out.push(1);
    }
    out
}

fn send(
    fix: &mut Session<MemoryJournal>,
    now: UtcTimestamp,
    msg_type: &[u8],
    fields: &[(u32, Vec<u8>)],
) {
    fix.send_app(now, msg_type, |e| {
        for (tag, value) in fields {
            e.field(*tag, value);
        }
    })
    .unwrap();
}

/// Checks that the bytes between the header and the trailer of `m` are exactly `want`.
fn check_body(m: &Message<'_>, first_tag: u32, want: &[u8], what: &str) {
    let bytes = m.bytes();
    let marker = format!("\x01{first_tag}=");
    let start = bytes
        .windows(marker.len())
        .position(|w| w == marker.as_bytes())
        .unwrap_or_else(|| panic!("{what}: no tag {first_tag}"))
        + 1;
    assert!(bytes.len() >= start + 7, "{what}: too short");
    let end = bytes.len() - 7;
    assert_eq!(&bytes[end..end + 3], b"10=", "{what}: trailer");
    assert!(
        &bytes[start..end] == want,
        "{what} altered:\n got  {:?}\n want {:?}",
        String::from_utf8_lossy(&bytes[start..end]),
        String::from_utf8_lossy(want)
    );
}

fn check_events(fix: &mut Session<MemoryJournal>, who: &str) -> bool {
    let mut logged_out = false;
    while let Some(ev) = fix.poll_event() {
        match ev {
            Event::LoggedOn { .. } => {}
            Event::Disconnect(DisconnectReason::LoggedOut) => logged_out = true,
            other => panic!("{who}: unexpected session event {other:?}"),
        }
    }
    logged_out
}

/// What one end saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// Application messages sent.
    pub sent: u64,
    /// Application messages received and checked.
    pub received: u64,
}

/// The appliance side: logon, [`MESSAGES`] orders out, one checked report back for each, logout.
pub fn run_initiator(end: &mut dyn FixEnd) -> Outcome {
    let start = Instant::now();
    let (mut sent, mut reports) = (0u64, 0u64);
    let mut logon_sent = false;
    let mut logout_sent = false;
    loop {
        assert!(
            start.elapsed() < SESSION_LIMIT,
            "initiator stalled: sent {sent}, reports {reports}, state {:?}",
            end.fix().state()
        );
        let now = wall();
        let mut bad: Option<String> = None;
        end.pump(now, &mut |m| {
            if m.msg_type() != b"8" {
                bad = Some(format!("unexpected application message {:?}", m.msg_type()));
                return;
            }
            check_body(
                m,
                37,
                &body_bytes(&report_fields(reports)),
                &format!("report {reports}"),
            );
            reports += 1;
        })
        .unwrap_or_else(|e| panic!("initiator transport: {e} (sent {sent}, reports {reports})"));
        assert!(bad.is_none(), "initiator: {bad:?}");
        assert!(reports <= sent, "more reports than orders");
        if end.is_up() && !logon_sent {
            end.fix().send_logon(now, |_, _| {}).unwrap();
            logon_sent = true;
        }
        if end.fix().state() == State::Active {
            while sent < MESSAGES
                && sent - reports < WINDOW
                && end.fix().pending_transmit().len() < 32 * 1024
            {
                send(end.fix(), now, b"D", &order_fields(sent));
                sent += 1;
            }
            if reports == MESSAGES && !logout_sent {
                end.fix().send_logout(now, None).unwrap();
                logout_sent = true;
            }
        }
        end.fix().handle_timeout(now);
        if check_events(end.fix(), "initiator") {
            assert!(logout_sent, "venue logged out first");
            end.finish();
            return Outcome {
                sent,
                received: reports,
            };
        }
    }
}

/// The venue side: waits for logon, checks [`MESSAGES`] orders and answers each with a report,
/// answers the logout.
pub fn run_acceptor(end: &mut dyn FixEnd) -> Outcome {
    let start = Instant::now();
    let (mut orders, mut sent) = (0u64, 0u64);
    loop {
        assert!(
            start.elapsed() < SESSION_LIMIT,
            "acceptor stalled: orders {orders}, reports sent {sent}, state {:?}",
            end.fix().state()
        );
        let now = wall();
        let mut bad: Option<String> = None;
        end.pump(now, &mut |m| {
            if m.msg_type() != b"D" {
                bad = Some(format!("unexpected application message {:?}", m.msg_type()));
                return;
            }
            check_body(
                m,
                11,
                &body_bytes(&order_fields(orders)),
                &format!("order {orders}"),
            );
            orders += 1;
        })
        .unwrap_or_else(|e| panic!("acceptor transport: {e} (orders {orders}, reports {sent})"));
        assert!(bad.is_none(), "acceptor: {bad:?}");
        if end.fix().state() == State::Active {
            while sent < orders && end.fix().pending_transmit().len() < 32 * 1024 {
                send(end.fix(), now, b"8", &report_fields(sent));
                sent += 1;
            }
        }
        end.fix().handle_timeout(now);
        if check_events(end.fix(), "acceptor") {
            assert_eq!(orders, MESSAGES, "initiator logged out early");
            assert_eq!(sent, MESSAGES, "logout before every report was sent");
            end.finish();
            return Outcome {
                sent,
                received: orders,
            };
        }
    }
}
