//! Interop with Linux: the userspace stack on one end of a veth pair through the AF_PACKET
//! backend, and a kernel-TCP TLS 1.3 server in another network namespace on the other end:
//! - a real `openssl s_server -tls1_3`: FIX-shaped lines both ways, every byte checked (`-rev`
//!   answers each line reversed);
//! - a small rustls server in this test (tickwire-tls' server session on rustls' own record
//!   layer, over a `std::net::TcpStream` in a thread moved into the namespace with `setns`):
//!   100k FIX NewOrderSingles one way and 100k ExecutionReports the other, the server checking
//!   every byte it receives and the client every byte it gets back.
//!
//! TLS 1.3 with certificate verification throughout. The same runs through a TAP device.
//!
//! Needs root (network namespaces, AF_PACKET), iproute2, ethtool and openssl: CI installs them
//! (scripts/setup-host) and runs as root; elsewhere the test fails and says what is missing.
#![allow(clippy::unwrap_used)]

use std::net::{Ipv4Addr, SocketAddrV4};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tickwire_dataplane::af_packet::AfPacket;
use tickwire_dataplane::allowlist::{self, Allowlist};
use tickwire_dataplane::stack::{ConnState, Stack, StackConfig};
use tickwire_dataplane::tap::Tap;
use tickwire_testutil::netns::{sh, KillOnDrop, Veth};

/// A namespace `{ns}{id}` and a veth pair `{ifp}{id}a` (here) ↔ `{ifp}{id}b` (there) on
/// `10.{net}.x.1/24` ↔ `10.{net}.x.2/24`.
fn veth_pair(ns_prefix: &str, if_prefix: &str, net: u8, id: u32) -> (Veth, Ipv4Addr, Ipv4Addr) {
    let subnet = (id % 200) as u8 + 20;
    let ours = Ipv4Addr::new(10, net, subnet, 1);
    let theirs = Ipv4Addr::new(10, net, subnet, 2);
    let veth = Veth::create(
        &format!("{ns_prefix}{id}"),
        &format!("{if_prefix}{id}a"),
        &format!("{if_prefix}{id}b"),
        &format!("{theirs}/24"),
    );
    (veth, ours, theirs)
}

/// A TAP device `name` with our MAC `mac` for the stack, the kernel's end on
/// `10.{net}.x.2/24` and ours `10.{net}.x.1`, checksum offload off.
fn tap_device(name: &str, mac: [u8; 6], net: u8, id: u32) -> (Tap, Ipv4Addr, Ipv4Addr) {
    let subnet = (id % 200) as u8 + 20;
    let ours = Ipv4Addr::new(10, net, subnet, 1);
    let theirs = Ipv4Addr::new(10, net, subnet, 2);
    let tap = Tap::open(name, mac).unwrap();
    sh(&["ip", "addr", "add", &format!("{theirs}/24"), "dev", name]);
    sh(&["ip", "link", "set", name, "up"]);
    sh(&["ethtool", "-K", name, "tx", "off"]);
    (tap, ours, theirs)
}

/// The venue's certificate: the CA (DER, for the client) and the leaf's PEM files in a
/// temporary directory that goes with it.
struct VenuePki {
    ca_der: Vec<u8>,
    dir: tempfile::TempDir,
}

impl VenuePki {
    fn new() -> VenuePki {
        let (ca_der, cert, key) = tickwire_bench_pki();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("cert.pem"), cert).unwrap();
        std::fs::write(dir.path().join("key.pem"), key).unwrap();
        VenuePki { ca_der, dir }
    }

    fn cert(&self) -> std::path::PathBuf {
        self.dir.path().join("cert.pem")
    }

    fn key(&self) -> std::path::PathBuf {
        self.dir.path().join("key.pem")
    }
}

/// `openssl s_server -tls1_3 -rev` at `theirs:4443` with `pki`'s certificate, one connection,
/// started by `openssl` (a command for the `openssl` program, in a namespace or not).
fn openssl_rev_server(mut openssl: Command, theirs: Ipv4Addr, pki: &VenuePki) -> KillOnDrop {
    let server = KillOnDrop(
        openssl
            .args(["s_server", "-tls1_3", "-rev", "-quiet", "-naccept", "1"])
            .args(["-accept", &format!("{theirs}:4443")])
            .arg("-cert")
            .arg(pki.cert())
            .arg("-key")
            .arg(pki.key())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_millis(300));
    server
}

#[test]
fn tls13_fix_lines_with_openssl_in_another_namespace() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test needs root for network namespaces and AF_PACKET (CI runs it as root)"
    );
    let id = std::process::id() % 10_000;
    let (veth, ours, theirs) = veth_pair("twns", "tw", 77, id);
    let pki = VenuePki::new();
    let _server = openssl_rev_server(veth.command("openssl"), theirs, &pki);
    let nic = AfPacket::open(&veth.host_if, 256).unwrap();
    exchange(nic, ours, theirs, &pki.ca_der, 100_000);
}

/// TLS 1.3 client on the userspace stack over `nic`, against `openssl s_server -rev` at
/// `theirs:4443`: `n` FIX lines out, each back reversed, every byte checked.
fn exchange<N: tickwire_dataplane::nic::Nic>(
    nic: N,
    ours: Ipv4Addr,
    theirs: Ipv4Addr,
    ca_pem: &[u8],
    n: usize,
) {
    let cfg = StackConfig {
        address: ours,
        connections: 1,
        ..StackConfig::default()
    };
    let start = Instant::now();
    let now = || start.elapsed().as_nanos() as i64;
    let mut stack = Stack::new(
        nic,
        allowlist::live(Allowlist::new(&[theirs]).unwrap()).1,
        cfg,
        now(),
    );
    let conn = stack.connect(SocketAddrV4::new(theirs, 4443)).unwrap();
    let tls_cfg = tickwire_tls::ClientConfig::new(tickwire_tls::RootSource::Pem(ca_pem.to_vec()));
    let mut tls =
        tickwire_tls::Session::client(&tls_cfg, "venue.test", tickwire_tls::Capacities::default())
            .unwrap();

    let line = |i: usize| {
        format!(
            "8=FIX.4.4|35=D|34={i}|11={:016}|55=BTC/USD|54=1|38=0.01|",
            1_775_572_325_000_000u64 + i as u64
        )
    };
    let want: Vec<u8> = (0..n)
        .flat_map(|i| format!("{}\n", line(i).chars().rev().collect::<String>()).into_bytes())
        .collect();
    let mut got = Vec::with_capacity(want.len());
    let mut sent = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    while got.len() < want.len() {
        assert!(
            Instant::now() < deadline,
            "timed out: {} of {} bytes back, state {:?}",
            got.len(),
            want.len(),
            stack.state(conn)
        );
        stack.poll(now());
        if stack.state(conn) == ConnState::Established || stack.state(conn) == ConnState::PeerClosed
        {
            stack.recv_with(conn, |b| tls.handle_ciphertext(b)).unwrap();
            tls.poll().unwrap();
            got.extend_from_slice(tls.plaintext());
            let k = tls.plaintext().len();
            tls.consume_plaintext(k);
            while tls.is_established() && sent < n && tls.pending_ciphertext().len() < 16 * 1024 {
                let mut chunk = String::new();
                while sent < n && chunk.len() < 8 * 1024 {
                    chunk.push_str(&line(sent));
                    chunk.push('\n');
                    sent += 1;
                }
                tls.write_plaintext(chunk.as_bytes()).unwrap();
            }
            let out = tls.pending_ciphertext();
            if !out.is_empty() {
                let k = stack.send(conn, out).unwrap();
                tls.consume_ciphertext(k);
            }
        }
    }
    assert!(got == want, "every byte came back reversed line by line");
    assert_eq!(stack.counters().drops.not_allowed, 0);
}

/// A FIX 4.4 message with BodyLength and CheckSum, `fields` after the standard header.
fn fix_message(msg_type: &str, sender: &str, target: &str, seq: u64, fields: &str) -> Vec<u8> {
    let body = format!(
        "35={msg_type}\x0134={seq}\x0149={sender}\x0156={target}\x0152=20261201-08:00:00.000\x01{fields}"
    );
    let head = format!("8=FIX.4.4\x019={}\x01{body}", body.len());
    let sum = head.bytes().map(u32::from).sum::<u32>() % 256;
    format!("{head}10={sum:03}\x01").into_bytes()
}

/// NewOrderSingle `i` (client → venue).
fn order(i: u64) -> Vec<u8> {
    fix_message(
        "D",
        "TESTCLIENT",
        "VENUE",
        i + 2,
        &format!(
            "11={:016}\x0155=BTC/USD\x0154=1\x0160=20261201-08:00:00.000\x0140=2\x0144=84000.0\x0138=0.01\x0159=3\x01",
            1_775_572_325_000_000u64 + i
        ),
    )
}

/// ExecutionReport answering order `i` (venue → client).
fn report(i: u64) -> Vec<u8> {
    fix_message(
        "8",
        "VENUE",
        "TESTCLIENT",
        i + 2,
        &format!(
            "37=O{i:08}\x0111={:016}\x0117=E{i:08}\x01150=F\x0139=2\x0155=BTC/USD\x0154=1\x0131=84000.0\x0132=0.01\x01151=0\x0114=0.01\x016=84000.0\x01",
            1_775_572_325_000_000u64 + i
        ),
    )
}

/// Concatenated messages and the end offset of each.
fn stream(n: u64, f: fn(u64) -> Vec<u8>) -> (Vec<u8>, Vec<usize>) {
    let mut bytes = Vec::new();
    let mut ends = Vec::with_capacity(n as usize);
    for i in 0..n {
        bytes.extend_from_slice(&f(i));
        ends.push(bytes.len());
    }
    (bytes, ends)
}

/// The venue: accepts one TLS 1.3 connection on kernel TCP inside namespace `ns` (this thread
/// moves there with `setns`; `None`: stay in ours), checks every byte of the orders it receives against `orders`
/// and answers each complete order with its report. Returns the orders and bytes checked.
fn rustls_venue(
    ns: Option<&str>,
    addr: SocketAddrV4,
    cfg: tickwire_tls::ServerConfig,
    ready: std::sync::mpsc::Sender<()>,
) -> Result<(usize, usize), String> {
    use std::io::{Read, Write};
    if let Some(ns) = ns {
        let f = std::fs::File::open(format!("/var/run/netns/{ns}")).map_err(|e| e.to_string())?;
        nix::sched::setns(&f, nix::sched::CloneFlags::CLONE_NEWNET).map_err(|e| e.to_string())?;
    }
    let listener = std::net::TcpListener::bind(addr).map_err(|e| e.to_string())?;
    let _ = ready.send(());
    let (mut sock, _) = listener.accept().map_err(|e| e.to_string())?;
    sock.set_nodelay(true).map_err(|e| e.to_string())?;
    sock.set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    let (orders, order_ends) = stream(FIX_MESSAGES, order);
    let (reports, report_ends) = stream(FIX_MESSAGES, report);
    let mut tls = tickwire_tls::Session::server(&cfg, tickwire_tls::Capacities::default())
        .map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 64 * 1024];
    let (mut pos, mut done, mut answered) = (0usize, 0usize, 0usize);
    loop {
        let n = sock.read(&mut buf).map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            break;
        }
        let mut off = 0;
        while off < n {
            off += tls.handle_ciphertext(&buf[off..n]);
            let progress = tls.poll().map_err(|e| format!("tls: {e}"))?;
            let plain = tls.plaintext();
            let k = plain.len();
            if pos + k > orders.len() || plain != &orders[pos..pos + k] {
                return Err(format!("order bytes differ at offset {pos}"));
            }
            pos += k;
            tls.consume_plaintext(k);
            while done < order_ends.len() && order_ends[done] <= pos {
                done += 1;
            }
            // Answer every completed order, in records of at most 16 KiB.
            while answered < done {
                let start = if answered == 0 {
                    0
                } else {
                    report_ends[answered - 1]
                };
                let mut upto = answered + 1;
                while upto < done && report_ends[upto] - start < 16 * 1024 - 512 {
                    upto += 1;
                }
                tls.write_plaintext(&reports[start..report_ends[upto - 1]])
                    .map_err(|e| format!("tls write: {e}"))?;
                answered = upto;
                let out = tls.pending_ciphertext();
                sock.write_all(out).map_err(|e| format!("write: {e}"))?;
                let k = out.len();
                tls.consume_ciphertext(k);
            }
            let out = tls.pending_ciphertext();
            if !out.is_empty() {
                sock.write_all(out).map_err(|e| format!("write: {e}"))?;
                let k = out.len();
                tls.consume_ciphertext(k);
            }
            if progress == tickwire_tls::Progress::PeerClosed {
                let _ = tls.close();
                let _ = sock.write_all(tls.pending_ciphertext());
                return Ok((done, pos));
            }
        }
    }
    Ok((done, pos))
}

const FIX_MESSAGES: u64 = 100_000;

#[test]
fn tls13_fix_messages_with_a_rustls_server_in_another_namespace() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test needs root for network namespaces and AF_PACKET (CI runs it as root)"
    );
    let id = std::process::id() % 10_000;
    let (veth, ours, theirs) = veth_pair("twrs", "twr", 80, id);
    let nic = AfPacket::open(&veth.host_if, 256).unwrap();
    with_rustls_venue(Some(&veth.ns), ours, theirs, nic);
}

/// Runs the rustls venue (in namespace `ns`, or ours) at `theirs:4443` and the 100k-message
/// exchange against it from the userspace stack on `nic`.
fn with_rustls_venue<N: tickwire_dataplane::nic::Nic>(
    ns: Option<&str>,
    ours: Ipv4Addr,
    theirs: Ipv4Addr,
    nic: N,
) {
    let pki = VenuePki::new();
    let mut server_cfg = tickwire_tls::ServerConfig::new(tickwire_tls::Identity::PemFiles {
        chain: pki.cert(),
        key: pki.key(),
    });
    // rustls' own record layer on the server: our client's record layer meets rustls'.
    server_cfg.rustls_record_layer = true;
    let (ready_tx, ready) = std::sync::mpsc::channel();
    let ns = ns.map(str::to_string);
    let addr = SocketAddrV4::new(theirs, 4443);
    let server =
        std::thread::spawn(move || rustls_venue(ns.as_deref(), addr, server_cfg, ready_tx));
    if ready.recv_timeout(Duration::from_secs(10)).is_err() {
        panic!("venue did not start: {:?}", server.join());
    }
    let (orders, _) = stream(FIX_MESSAGES, order);
    let (reports, _) = stream(FIX_MESSAGES, report);
    exchange_bytes(nic, ours, addr, &pki.ca_der, &orders, &reports);
    let (checked, bytes) = server.join().unwrap().unwrap();
    assert_eq!(
        checked as u64, FIX_MESSAGES,
        "the venue checked every order"
    );
    assert_eq!(bytes, orders.len());
}

#[test]
fn tls13_fix_messages_through_a_tap_device_to_a_rustls_server() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test needs root for TAP devices (CI runs it as root)"
    );
    let id = std::process::id() % 10_000;
    let (tap, ours, theirs) = tap_device(&format!("twr{id}t"), [2, 0, 0, 0, 0x81, 1], 81, id);
    with_rustls_venue(None, ours, theirs, tap);
}

/// TLS 1.3 client on the userspace stack over `nic`: sends `out`, expects exactly `want` back
/// (every byte compared), then closes with close_notify.
fn exchange_bytes<N: tickwire_dataplane::nic::Nic>(
    nic: N,
    ours: Ipv4Addr,
    venue: SocketAddrV4,
    ca_pem: &[u8],
    out: &[u8],
    want: &[u8],
) {
    let cfg = StackConfig {
        address: ours,
        connections: 1,
        ..StackConfig::default()
    };
    let start = Instant::now();
    let now = || start.elapsed().as_nanos() as i64;
    let mut stack = Stack::new(
        nic,
        allowlist::live(Allowlist::new(&[*venue.ip()]).unwrap()).1,
        cfg,
        now(),
    );
    let conn = stack.connect(venue).unwrap();
    let tls_cfg = tickwire_tls::ClientConfig::new(tickwire_tls::RootSource::Pem(ca_pem.to_vec()));
    let mut tls =
        tickwire_tls::Session::client(&tls_cfg, "venue.test", tickwire_tls::Capacities::default())
            .unwrap();
    let mut got = 0usize;
    let mut sent = 0usize;
    let deadline = Instant::now() + Duration::from_secs(120);
    while got < want.len() {
        assert!(
            Instant::now() < deadline,
            "timed out: {got} of {} bytes back, {sent} of {} sent, state {:?}",
            want.len(),
            out.len(),
            stack.state(conn)
        );
        stack.poll(now());
        if matches!(
            stack.state(conn),
            ConnState::Established | ConnState::PeerClosed
        ) {
            stack.recv_with(conn, |b| tls.handle_ciphertext(b)).unwrap();
            tls.poll().unwrap();
            let plain = tls.plaintext();
            let k = plain.len();
            assert!(
                got + k <= want.len() && plain == &want[got..got + k],
                "report bytes differ at offset {got}"
            );
            got += k;
            tls.consume_plaintext(k);
            while tls.is_established()
                && sent < out.len()
                && tls.pending_ciphertext().len() < 16 * 1024
            {
                let k = (out.len() - sent).min(8 * 1024);
                tls.write_plaintext(&out[sent..sent + k]).unwrap();
                sent += k;
            }
            let pending = tls.pending_ciphertext();
            if !pending.is_empty() {
                let k = stack.send(conn, pending).unwrap();
                tls.consume_ciphertext(k);
            }
        }
    }
    // close_notify, and let it reach the venue.
    tls.close().unwrap();
    let until = Instant::now() + Duration::from_millis(500);
    while Instant::now() < until {
        stack.poll(now());
        let pending = tls.pending_ciphertext();
        if !pending.is_empty() {
            if let Ok(k) = stack.send(conn, pending) {
                tls.consume_ciphertext(k);
            }
        }
        if tls.pending_ciphertext().is_empty() && stack.state(conn) != ConnState::Established {
            break;
        }
    }
    assert_eq!(sent, out.len());
    assert_eq!(stack.counters().drops.not_allowed, 0);
}

#[test]
fn tls13_fix_lines_through_a_tap_device_to_linux_tcp() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test needs root for TAP devices (CI runs it as root)"
    );
    let id = std::process::id() % 10_000;
    let (tap, ours, theirs) = tap_device(&format!("tw{id}t"), [2, 0, 0, 0, 0x77, 1], 78, id);
    let pki = VenuePki::new();
    let _server = openssl_rev_server(Command::new("openssl"), theirs, &pki);
    exchange(tap, ours, theirs, &pki.ca_der, 100_000);
}

/// (CA PEM, leaf certificate PEM, leaf key PEM) for `venue.test`.
fn tickwire_bench_pki() -> (Vec<u8>, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.distinguished_name
        .push(DnType::CommonName, "tickwire veth CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["venue.test".to_string()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    (ca_cert.pem().into_bytes(), leaf.pem(), key.serialize_pem())
}
