//! A small test client for the Kraken profile written from SPEC: it frames FIX by hand (so a
//! test can send anything, malformed included) over TLS 1.3 with the venue's generated CA.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use tickwire_fix::kraken::Credentials;
use tickwire_fix::message::{frame, FieldIndex, FrameLimits, Message};
use tickwire_venue::kraken::pki::{Pki, DEFAULT_NAMES};
use tickwire_venue::kraken::{
    Client, Config, ConnId, MarketConfig, Port, Server, ServerConfig, Venue,
};

pub const SECRET: &str =
    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==";

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

pub fn sending_time() -> String {
    let ts = tickwire_venue::kraken::server::utc_now();
    let mut b = [0u8; tickwire_fix::time::MILLIS_LEN];
    ts.write_millis(&mut b);
    String::from_utf8_lossy(&b).into_owned()
}

/// A CA and server certificate generated into a temporary directory, which is removed (keys
/// and all) when the test drops it.
pub struct TestPki {
    pki: Pki,
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for TestPki {
    type Target = Pki;
    fn deref(&self) -> &Pki {
        &self.pki
    }
}

/// A fresh CA + server certificate in a per-test directory (`tag` names it).
pub fn pki(tag: &str) -> TestPki {
    let dir = tempfile::Builder::new()
        .prefix(&format!("tw-h3-{tag}-"))
        .tempdir()
        .unwrap();
    let names: Vec<String> = DEFAULT_NAMES.iter().map(|s| s.to_string()).collect();
    let pki = Pki::ensure(dir.path(), &names).unwrap();
    TestPki { pki, _dir: dir }
}

/// Two clients: TESTCLIENT (SPEC's) and OTHER.
pub fn config(market: bool) -> Config {
    let mut cfg = Config::default();
    cfg.clients.push(Client {
        comp_id: "OTHER".into(),
        derivatives_comp_id: Some("OTHER-DRV".into()),
        api_key: "OTHERKEY".into(),
        api_secret: "c2VjcmV0".into(),
        tier: tickwire_venue::limits::Tier::Starter,
    });
    if market {
        cfg.market = Some(MarketConfig {
            rate_per_sec: 200,
            ..MarketConfig::default()
        });
    }
    cfg
}

pub fn start(cfg: Config, pki: &Pki) -> Server {
    Server::start(ServerConfig::loopback(cfg, Some(pki.server_config()))).unwrap()
}

/// Builds a FIX message from `35=…|…` (header after 35 and the trailer are added).
pub fn build(msg_type: &str, seq: u64, sender: &str, target: &str, body: &str) -> Vec<u8> {
    let mut inner = format!(
        "35={msg_type}\x0134={seq}\x0149={sender}\x0156={target}\x0152={}\x01",
        sending_time()
    );
    for f in body.split('|').filter(|f| !f.is_empty()) {
        inner.push_str(f);
        inner.push('\x01');
    }
    let mut m = format!("8=FIX.4.4\x019={}\x01{inner}", inner.len()).into_bytes();
    let sum: u32 = m.iter().map(|&b| u32::from(b)).sum::<u32>() % 256;
    m.extend_from_slice(format!("10={sum:03}\x01").as_bytes());
    m
}

/// A received message as (tag, value) pairs.
#[derive(Debug, Clone)]
pub struct Msg(pub Vec<(u32, String)>);

impl Msg {
    /// The fields of a parsed message, values as text.
    pub fn of(m: &Message<'_>) -> Msg {
        Msg(m
            .iter()
            .map(|f| (f.tag, String::from_utf8_lossy(f.value).into_owned()))
            .collect())
    }

    pub fn get(&self, tag: u32) -> Option<&str> {
        self.0.iter().find(|f| f.0 == tag).map(|f| f.1.as_str())
    }
    pub fn all(&self, tag: u32) -> Vec<&str> {
        self.0
            .iter()
            .filter(|f| f.0 == tag)
            .map(|f| f.1.as_str())
            .collect()
    }
    pub fn ty(&self) -> &str {
        self.get(35).unwrap_or("")
    }
}

pub struct Conn {
    tcp: TcpStream,
    tls: tickwire_tls::Session,
    inbox: Vec<u8>,
    pub sender: String,
    pub target: String,
    pub seq: u64,
    pub closed: bool,
    nonblocking: bool,
}

impl Conn {
    pub fn connect(addr: SocketAddr, pki: &Pki, sender: &str, port: Port) -> Conn {
        let tcp = TcpStream::connect(addr).unwrap();
        tcp.set_nodelay(true).unwrap();
        let tls = tickwire_tls::Session::client(
            &pki.client_config(),
            "localhost",
            tickwire_tls::Capacities::default(),
        )
        .unwrap();
        let mut c = Conn {
            tcp,
            tls,
            inbox: Vec::new(),
            sender: sender.into(),
            target: port.comp_id().into(),
            seq: 1,
            closed: false,
            nonblocking: false,
        };
        c.tls.poll().unwrap();
        c.flush();
        let deadline = Instant::now() + Duration::from_secs(5);
        while !c.tls.is_established() {
            assert!(Instant::now() < deadline, "TLS handshake timed out");
            c.pump(Duration::from_millis(50));
        }
        c
    }

    fn flush(&mut self) {
        let out = self.tls.pending_ciphertext().to_vec();
        self.tls.consume_ciphertext(out.len());
        if !out.is_empty() && self.tcp.write_all(&out).is_err() {
            self.closed = true;
        }
    }

    /// From now on reads never wait (`pump` ignores its `wait`): for polling many sessions
    /// from one thread.
    pub fn set_nonblocking(&mut self) {
        self.tcp.set_nonblocking(true).unwrap();
        self.nonblocking = true;
    }

    /// Reads once (up to `wait`).
    pub fn pump(&mut self, wait: Duration) {
        if self.closed {
            return;
        }
        if !self.nonblocking {
            self.tcp
                .set_read_timeout(Some(wait.max(Duration::from_millis(1))))
                .unwrap();
        }
        let mut buf = [0u8; 65536];
        match self.tcp.read(&mut buf) {
            Ok(0) => self.closed = true,
            Ok(n) => {
                let mut off = 0;
                while off < n {
                    off += self.tls.handle_ciphertext(&buf[off..n]);
                    if self.tls.poll().is_err() {
                        self.closed = true;
                        return;
                    }
                    self.inbox.extend_from_slice(self.tls.plaintext());
                    let k = self.tls.plaintext().len();
                    self.tls.consume_plaintext(k);
                }
                if self.tls.is_peer_closed() {
                    self.closed = true;
                }
                self.flush();
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => self.closed = true,
        }
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8192) {
            self.tls.write_plaintext(chunk).unwrap();
            self.flush();
        }
    }

    /// Sends `35=ty` with the next MsgSeqNum.
    pub fn send(&mut self, ty: &str, body: &str) -> u64 {
        let seq = self.seq;
        let m = build(ty, seq, &self.sender.clone(), &self.target.clone(), body);
        self.seq += 1;
        self.send_raw(&m);
        seq
    }

    /// Reads once (up to `wait`) and counts the complete messages received, without parsing
    /// them (benchmarks); also returns whether any of them is a 35=X.
    pub fn count(&mut self, wait: Duration) -> (usize, bool) {
        self.pump(wait);
        let (mut n, mut x, mut off) = (0, false, 0);
        while let Ok(Some(len)) = frame(
            &self.inbox[off..],
            FrameLimits {
                max_message_len: 1 << 20,
            },
        ) {
            x |= self.inbox[off..off + len]
                .windows(6)
                .any(|w| w == b"\x0135=X\x01");
            off += len;
            n += 1;
        }
        self.inbox.drain(..off);
        (n, x)
    }

    /// The next complete message, if one arrives within `wait`.
    pub fn recv(&mut self, wait: Duration) -> Option<Msg> {
        let deadline = Instant::now() + wait;
        loop {
            if let Ok(Some(n)) = frame(
                &self.inbox,
                FrameLimits {
                    max_message_len: 1 << 20,
                },
            ) {
                let raw: Vec<u8> = self.inbox.drain(..n).collect();
                let mut idx = FieldIndex::<4096>::new();
                return Some(Msg::of(&Message::parse(&raw, &mut idx).unwrap()));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || self.closed {
                return None;
            }
            self.pump(left.min(Duration::from_millis(50)));
        }
    }

    /// Skips messages (answering TestRequests) until one matches.
    pub fn expect(&mut self, wait: Duration, what: &str, pred: impl Fn(&Msg) -> bool) -> Msg {
        let deadline = Instant::now() + wait;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Some(m) = self.recv(left) else {
                panic!(
                    "{what}: not received (closed={}); got {seen:#?}",
                    self.closed
                );
            };
            if m.ty() == "1" {
                let id = m.get(112).unwrap_or("").to_string();
                self.send("0", &format!("112={id}"));
            }
            if pred(&m) {
                return m;
            }
            if seen.len() < 20 {
                seen.push(m);
            }
        }
    }

    /// Waits until the venue closes the connection; the messages before it.
    pub fn until_closed(&mut self, wait: Duration) -> Vec<Msg> {
        let deadline = Instant::now() + wait;
        let mut got = Vec::new();
        while Instant::now() < deadline {
            match self.recv(Duration::from_millis(100)) {
                Some(m) => got.push(m),
                None if self.closed => return got,
                None => {}
            }
        }
        panic!("connection not closed within {wait:?}; got {got:#?}");
    }
}

/// Logon fields of a trading session for `creds` at MsgSeqNum 1.
pub fn trading_logon_body(creds: &Credentials, sender: &str, target: &str, nonce: u64) -> String {
    logon_body_at(creds, sender, target, nonce, 1, true, 0)
}

/// Logon fields for MsgSeqNum `seq`, ResetSeqNumFlag `reset`, CancelOrdersOnDisconnect `cod`.
pub fn logon_body_at(
    creds: &Credentials,
    sender: &str,
    target: &str,
    nonce: u64,
    seq: u64,
    reset: bool,
    cod: u8,
) -> String {
    let pw = creds.password(seq, sender.as_bytes(), target.as_bytes(), nonce);
    format!(
        "98=0|108=30|141={}|553={}|554={}|5025={nonce}|8674={cod}",
        if reset { "Y" } else { "N" },
        creds.api_key(),
        String::from_utf8_lossy(&pw)
    )
}

/// A logged-on Spot trading session of TESTCLIENT.
pub fn trading(server: &Server, pki: &Pki, sender: &str, key: &str, secret: &str) -> Conn {
    let addr = server.addr(Port::SpotTrading).unwrap();
    let mut c = Conn::connect(addr, pki, sender, Port::SpotTrading);
    let creds = Credentials::new(key, secret).unwrap();
    let body = trading_logon_body(&creds, sender, "KRAKEN-TRD", now_ms());
    c.send("A", &body);
    let ack = c.expect(Duration::from_secs(5), "logon ack", |m| m.ty() == "A");
    assert_eq!(ack.get(553), None, "credentials never echoed");
    c
}

/// A logged-on Spot MD session of `sender`.
pub fn md(server: &Server, pki: &Pki, sender: &str) -> Conn {
    md_at(server, pki, sender, Port::SpotMd)
}

/// A logged-on MD session of `sender` on `port`.
pub fn md_at(server: &Server, pki: &Pki, sender: &str, port: Port) -> Conn {
    let addr = server.addr(port).unwrap();
    let mut c = Conn::connect(addr, pki, sender, port);
    c.send("A", "98=0|108=30|141=Y");
    c.expect(Duration::from_secs(5), "MD logon ack", |m| m.ty() == "A");
    c
}

/// A fresh ClOrdID: strictly increasing per test process (the Spot rule), microseconds since
/// the epoch.
pub fn clordid() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = now_ms() * 1000;
    let prev = LAST.fetch_max(now, Ordering::SeqCst);
    if prev >= now {
        LAST.fetch_add(1, Ordering::SeqCst) + 1
    } else {
        now
    }
}

/// A fresh ClOrdID and the body of a BTC/USD limit NewOrderSingle with it; `extra` (fields
/// ending in `|`) goes before TransactTime.
pub fn nos(side: u8, qty: &str, px: &str, tif: u8, extra: &str) -> (u64, String) {
    let id = clordid();
    (
        id,
        format!(
            "11={id}|55=BTC/USD|54={side}|40=2|44={px}|38={qty}|59={tif}|{extra}60={}",
            sending_time()
        ),
    )
}

/// What the sans-IO venue has to send on `id`, taken and parsed.
pub fn take(v: &mut Venue, id: ConnId) -> Vec<Msg> {
    let bytes = v.transmit(id).to_vec();
    v.consume_transmit(id, bytes.len());
    let mut out = Vec::new();
    let mut off = 0;
    while let Ok(Some(n)) = frame(
        &bytes[off..],
        FrameLimits {
            max_message_len: 1 << 20,
        },
    ) {
        let mut idx = FieldIndex::<1024>::new();
        out.push(Msg::of(
            &Message::parse(&bytes[off..off + n], &mut idx).unwrap(),
        ));
        off += n;
    }
    out
}

pub fn repo_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}
