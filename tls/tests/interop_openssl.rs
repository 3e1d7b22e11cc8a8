//! Interop with a real `openssl s_server -tls1_3` over kernel TCP on loopback: our client
//! verifies its certificate (generated here with rcgen), completes TLS 1.3 and exchanges data
//! with it (s_server's `-rev` mode answers every line reversed). Halfway through, our client
//! sends a KeyUpdate asking openssl to update too, so both directions change keys mid-stream.
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use tickwire_tls::{Capacities, ClientConfig, RootSource, Session};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn tls13_with_openssl_s_server() {
    let version = Command::new("openssl")
        .arg("version")
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "the openssl CLI is required for this test (scripts/setup-host installs it): {e}"
            )
        });
    assert!(version.status.success(), "openssl version failed");

    let dir = std::env::temp_dir().join(format!("tickwire-openssl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "tickwire interop CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &issuer)
        .unwrap();
    std::fs::write(dir.join("cert.pem"), leaf.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), leaf_key.serialize_pem()).unwrap();
    std::fs::write(dir.join("ca.pem"), ca_cert.pem()).unwrap();

    let port = free_port();
    let _server = Server(
        Command::new("openssl")
            .args(["s_server", "-tls1_3", "-rev", "-quiet", "-naccept", "1"])
            .args(["-accept", &format!("127.0.0.1:{port}")])
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
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut tcp = loop {
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(s) => break s,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("openssl s_server did not listen: {e}"),
        }
    };
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    tcp.set_nodelay(true).unwrap();

    let cfg = ClientConfig::new(RootSource::CaFile(dir.join("ca.pem")));
    let mut tls = Session::client(&cfg, "localhost", Capacities::default()).unwrap();
    let mut buf = vec![0u8; 65536];
    let mut received = Vec::new();
    let lines: Vec<String> = (0..200)
        .map(|i| format!("8=FIX.4.4|34={i}|58=ping {i:06}|"))
        .collect();
    let mut sent = 0;
    while received.len() < lines.iter().map(|l| l.len() + 1).sum::<usize>() {
        assert!(
            Instant::now() < deadline + Duration::from_secs(20),
            "timed out; got {}",
            received.len()
        );
        if tls.is_established() && sent < lines.len() {
            if sent == lines.len() / 2 {
                // KeyUpdate(update_requested) mid-stream: openssl must switch its receive key,
                // answer with its own KeyUpdate and send the remaining replies under new keys.
                tls.update_keys().unwrap();
            }
            tls.write_plaintext(format!("{}\n", lines[sent]).as_bytes())
                .unwrap();
            sent += 1;
        }
        let out = tls.pending_ciphertext();
        if !out.is_empty() {
            tcp.write_all(out).unwrap();
            let n = out.len();
            tls.consume_ciphertext(n);
        }
        if sent == lines.len() || !tls.is_established() {
            let n = tcp.read(&mut buf).unwrap();
            assert!(n > 0, "server closed early");
            let mut off = 0;
            while off < n {
                off += tls.handle_ciphertext(&buf[off..n]);
                tls.poll().unwrap();
            }
            received.extend_from_slice(tls.plaintext());
            let k = tls.plaintext().len();
            tls.consume_plaintext(k);
        }
    }
    let want: Vec<u8> = lines
        .iter()
        .flat_map(|l| format!("{}\n", l.chars().rev().collect::<String>()).into_bytes())
        .collect();
    assert_eq!(
        String::from_utf8_lossy(&received),
        String::from_utf8_lossy(&want)
    );
    std::fs::remove_dir_all(dir).unwrap();
}
