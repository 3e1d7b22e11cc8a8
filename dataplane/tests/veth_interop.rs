//! Interop with Linux: the userspace stack on one end of a veth pair through the AF_PACKET
//! backend, and a real `openssl s_server -tls1_3` on the kernel's TCP in another network
//! namespace on the other end. TLS 1.3 with certificate verification, FIX-shaped lines both
//! ways, every byte checked (`-rev` answers each line reversed).
//!
//! Needs root (network namespaces, AF_PACKET), iproute2, ethtool and openssl: CI installs them
//! (scripts/setup-host) and runs as root; elsewhere the test fails and says what is missing.
#![allow(clippy::unwrap_used)]

use std::net::{Ipv4Addr, SocketAddrV4};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tickwire_dataplane::af_packet::AfPacket;
use tickwire_dataplane::allowlist::{self, Allowlist};
use tickwire_dataplane::stack::{ConnState, Stack, StackConfig};

fn sh(args: &[&str]) {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (install iproute2/ethtool: scripts/setup-host)",
                args[0]
            )
        });
    assert!(
        out.status.success(),
        "{:?} failed: {}",
        args,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A namespace and a veth pair, deleted on drop even when the test fails.
struct Topology {
    ns: String,
    host_if: String,
}

impl Drop for Topology {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.host_if])
            .output();
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).output();
    }
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn tls13_fix_lines_with_openssl_in_another_namespace() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test needs root for network namespaces and AF_PACKET (CI runs it as root)"
    );
    let id = std::process::id() % 10_000;
    let subnet = (id % 200) as u8 + 20;
    let topo = Topology {
        ns: format!("twns{id}"),
        host_if: format!("tw{id}a"),
    };
    let peer_if = format!("tw{id}b");
    let ours = Ipv4Addr::new(10, 77, subnet, 1);
    let theirs = Ipv4Addr::new(10, 77, subnet, 2);
    sh(&["ip", "netns", "add", &topo.ns]);
    sh(&[
        "ip",
        "link",
        "add",
        &topo.host_if,
        "type",
        "veth",
        "peer",
        "name",
        &peer_if,
    ]);
    sh(&["ip", "link", "set", &peer_if, "netns", &topo.ns]);
    sh(&["ip", "link", "set", &topo.host_if, "up"]);
    sh(&["ethtool", "-K", &topo.host_if, "tx", "off"]);
    let ns = |args: &[&str]| {
        let mut full = vec!["ip", "netns", "exec", topo.ns.as_str()];
        full.extend_from_slice(args);
        sh(&full);
    };
    ns(&[
        "ip",
        "addr",
        "add",
        &format!("{theirs}/24"),
        "dev",
        &peer_if,
    ]);
    ns(&["ip", "link", "set", &peer_if, "up"]);
    ns(&["ip", "link", "set", "lo", "up"]);
    ns(&["ethtool", "-K", &peer_if, "tx", "off"]);

    let pki = tickwire_bench_pki();
    let dir = std::env::temp_dir().join(format!("tickwire-veth-{id}"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("cert.pem"), &pki.1).unwrap();
    std::fs::write(dir.join("key.pem"), &pki.2).unwrap();
    let _server = Server(
        Command::new("ip")
            .args([
                "netns", "exec", &topo.ns, "openssl", "s_server", "-tls1_3", "-rev", "-quiet",
                "-naccept", "1",
            ])
            .args(["-accept", &format!("{theirs}:4443")])
            .arg("-cert")
            .arg(dir.join("cert.pem"))
            .arg("-key")
            .arg(dir.join("key.pem"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_millis(300));

    let nic = AfPacket::open(&topo.host_if, 256).unwrap();
    exchange(nic, ours, theirs, &pki.0, 100_000);
    std::fs::remove_dir_all(dir).unwrap();
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

#[test]
fn tls13_fix_lines_through_a_tap_device_to_linux_tcp() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test needs root for TAP devices (CI runs it as root)"
    );
    let id = std::process::id() % 10_000;
    let subnet = (id % 200) as u8 + 20;
    let name = format!("tw{id}t");
    let ours = Ipv4Addr::new(10, 78, subnet, 1);
    let theirs = Ipv4Addr::new(10, 78, subnet, 2);
    let tap = tickwire_dataplane::tap::Tap::open(&name, [2, 0, 0, 0, 0x77, 1]).unwrap();
    sh(&["ip", "addr", "add", &format!("{theirs}/24"), "dev", &name]);
    sh(&["ip", "link", "set", &name, "up"]);
    let _ = Command::new("ethtool")
        .args(["-K", &name, "tx", "off"])
        .output();
    let pki = tickwire_bench_pki();
    let dir = std::env::temp_dir().join(format!("tickwire-tap-{id}"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("cert.pem"), &pki.1).unwrap();
    std::fs::write(dir.join("key.pem"), &pki.2).unwrap();
    let _server = Server(
        Command::new("openssl")
            .args(["s_server", "-tls1_3", "-rev", "-quiet", "-naccept", "1"])
            .args(["-accept", &format!("{theirs}:4443")])
            .arg("-cert")
            .arg(dir.join("cert.pem"))
            .arg("-key")
            .arg(dir.join("key.pem"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_millis(300));
    exchange(tap, ours, theirs, &pki.0, 100_000);
    std::fs::remove_dir_all(dir).unwrap();
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
