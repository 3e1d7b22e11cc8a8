//! QuickFIX's FIX 4.4 acceptance scripts against the venue's conformance profile over real
//! kernel TCP on loopback, and over TLS 1.3. The heartbeat scripts run in real time (a few
//! seconds each); both runs execute every script.
#![allow(clippy::unwrap_used)]

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use tickwire_fix::conformance::{parse_script, run, FieldFormats, Peer, Received};
use tickwire_fix::message::{frame, FrameLimits};
use tickwire_fix::time::UtcTimestamp;
use tickwire_venue::conformance::Server;

struct Conn {
    tcp: TcpStream,
    tls: Option<tickwire_tls::Session>,
    inbox: Vec<u8>,
}

struct TcpPeer {
    addr: SocketAddr,
    tls: Option<tickwire_tls::ClientConfig>,
    conns: [Option<Conn>; 3],
}

impl TcpPeer {
    fn flush_tls(c: &mut Conn) -> Result<(), String> {
        if let Some(tls) = &mut c.tls {
            let out = tls.pending_ciphertext().to_vec();
            tls.consume_ciphertext(out.len());
            c.tcp.write_all(&out).map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// Reads once (up to `timeout`); false on EOF.
    fn read_some(c: &mut Conn, timeout: Duration) -> Result<bool, String> {
        c.tcp
            .set_read_timeout(Some(timeout.max(Duration::from_millis(1))))
            .map_err(|e| e.to_string())?;
        let mut buf = [0u8; 65536];
        match c.tcp.read(&mut buf) {
            Ok(0) => Ok(false),
            Ok(n) => {
                match &mut c.tls {
                    Some(tls) => {
                        let mut off = 0;
                        while off < n {
                            off += tls.handle_ciphertext(&buf[off..n]);
                            tls.poll().map_err(|e| e.to_string())?;
                        }
                        c.inbox.extend_from_slice(tls.plaintext());
                        let k = tls.plaintext().len();
                        tls.consume_plaintext(k);
                        Self::flush_tls(c)?;
                    }
                    None => c.inbox.extend_from_slice(&buf[..n]),
                }
                Ok(true)
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => Ok(true),
            Err(_) => Ok(false),
        }
    }
}

impl Peer for TcpPeer {
    fn now(&mut self) -> UtcTimestamp {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        UtcTimestamp::from_nanos(d.as_nanos() as i64)
    }

    fn connect(&mut self, conn: u8) -> Result<(), String> {
        let tcp = TcpStream::connect(self.addr).map_err(|e| e.to_string())?;
        tcp.set_nodelay(true).map_err(|e| e.to_string())?;
        let tls = match &self.tls {
            Some(cfg) => Some(
                tickwire_tls::Session::client(
                    cfg,
                    "venue.test",
                    tickwire_tls::Capacities::default(),
                )
                .map_err(|e| e.to_string())?,
            ),
            None => None,
        };
        let mut c = Conn {
            tcp,
            tls,
            inbox: Vec::new(),
        };
        if c.tls.is_some() {
            Self::flush_tls(&mut c)?;
            let deadline = Instant::now() + Duration::from_secs(5);
            while !c.tls.as_ref().is_some_and(|t| t.is_established()) {
                if Instant::now() > deadline || !Self::read_some(&mut c, Duration::from_millis(50))?
                {
                    return Err("TLS handshake with the venue failed".into());
                }
            }
        }
        self.conns[usize::from(conn)] = Some(c);
        Ok(())
    }

    fn disconnect(&mut self, conn: u8) {
        self.conns[usize::from(conn)] = None;
    }

    fn send(&mut self, conn: u8, bytes: &[u8]) -> Result<(), String> {
        let c = self.conns[usize::from(conn)]
            .as_mut()
            .ok_or("not connected")?;
        match &mut c.tls {
            Some(tls) => {
                tls.write_plaintext(bytes).map_err(|e| e.to_string())?;
                Self::flush_tls(c)
            }
            // The acceptor may already have closed the connection: not an error for the runner.
            None => {
                let _ = c.tcp.write_all(bytes);
                Ok(())
            }
        }
    }

    fn recv(&mut self, conn: u8, wait: Duration) -> Received {
        let Some(c) = self.conns[usize::from(conn)].as_mut() else {
            return Received::Disconnected;
        };
        let deadline = Instant::now() + wait;
        loop {
            if let Ok(Some(n)) = frame(&c.inbox, FrameLimits::default()) {
                let m = c.inbox[..n].to_vec();
                c.inbox.drain(..n);
                return Received::Message(m);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Received::Timeout;
            }
            match Self::read_some(c, left.min(Duration::from_millis(100))) {
                Ok(true) => {}
                _ => return Received::Disconnected,
            }
        }
    }
}

fn scripts() -> (FieldFormats, Vec<PathBuf>) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fix-conformance");
    let formats = FieldFormats::parse(
        &std::fs::read_to_string(dir.join("fields.fmt"))
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display())),
    )
    .unwrap();
    let mut all: Vec<_> = std::fs::read_dir(dir.join("quickfix-fix44"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "def"))
        .collect();
    all.sort();
    (formats, all)
}

fn run_all(
    tls_server: Option<tickwire_tls::ServerConfig>,
    tls_client: Option<tickwire_tls::ClientConfig>,
    skip_timed: bool,
) {
    let (formats, all) = scripts();
    assert!(all.len() >= 40);
    let mut failures = Vec::new();
    let mut ran = 0;
    for path in &all {
        let text = std::fs::read(path).unwrap();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        // Scripts whose logon asks for a HeartBtInt under 30 s wait for heartbeats in real time.
        let timed = String::from_utf8_lossy(&text).contains("108=2\x01")
            || String::from_utf8_lossy(&text).contains("108=6\x01");
        if skip_timed && timed {
            continue;
        }
        let server = Server::start("127.0.0.1:0", tls_server.clone()).unwrap();
        let mut peer = TcpPeer {
            addr: server.addr(),
            tls: tls_client.clone(),
            conns: [None, None, None],
        };
        let script = parse_script(&text).unwrap();
        ran += 1;
        if let Err(e) = run(&script, &mut peer, &formats, Duration::from_secs(40)) {
            failures.push(format!("{name}: {e}"));
        }
        drop(peer);
        server.stop();
    }
    eprintln!(
        "conformance over {}: {ran} scripts, {} failed",
        if tls_server.is_some() { "TLS" } else { "TCP" },
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn quickfix_scripts_over_tcp() {
    run_all(None, None, false);
}

#[test]
fn quickfix_scripts_over_tls13() {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.distinguished_name
        .push(DnType::CommonName, "venue conformance CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["venue.test".to_string()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let server = tickwire_tls::ServerConfig::new(tickwire_tls::Identity::Der {
        chain: vec![leaf.der().to_vec()],
        pkcs8_key: key.serialize_der(),
    });
    let client = tickwire_tls::ClientConfig::new(tickwire_tls::RootSource::Der(vec![ca_cert
        .der()
        .to_vec()]));
    run_all(Some(server), Some(client), false);
}

#[test]
fn quickfix_itself_logs_on_over_tls13_and_gets_its_orders_echoed() {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let probe = std::process::Command::new("python3")
        .args(["-c", "import quickfix"])
        .output();
    assert!(
        probe.as_ref().is_ok_and(|o| o.status.success()),
        "needs python3 with PyPI quickfix-tls==1.16.0.1rc1 (scripts/setup-host installs it)"
    );
    let work = std::env::temp_dir().join(format!("tickwire-qf-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.distinguished_name
        .push(DnType::CommonName, "venue quickfix CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    std::fs::write(work.join("ca.pem"), ca_cert.pem()).unwrap();
    let server = Server::start(
        "127.0.0.1:0",
        Some(tickwire_tls::ServerConfig::new(
            tickwire_tls::Identity::Der {
                chain: vec![leaf.der().to_vec()],
                pkcs8_key: key.serialize_der(),
            },
        )),
    )
    .unwrap();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/quickfix/initiator.py");
    let out = std::process::Command::new("python3")
        .arg(&script)
        .arg(server.addr().port().to_string())
        .arg(work.join("ca.pem"))
        .arg(&work)
        .arg("1000")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "quickfix initiator failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("sent 1000, echoed 1000"), "{stdout}");
    server.stop();
    std::fs::remove_dir_all(work).unwrap();
}
