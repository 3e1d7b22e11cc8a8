//! An AF_PACKET port takes only its own interface's frames, from the moment it opens: while
//! another interface carries a flood, ports opened and closed again and again on a quiet one
//! never see a frame (root: makes and removes two veth pairs of its own).
#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tickwire_dataplane::af_packet::AfPacket;
use tickwire_dataplane::nic::Nic;

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A veth pair, both ends up, no IPv6 (so the quiet pair is silent); removed on drop.
struct Pair(String);

impl Pair {
    fn new(a: &str, b: &str) -> Pair {
        let _ = Command::new("ip").args(["link", "del", a]).output();
        ip(&["link", "add", a, "type", "veth", "peer", "name", b]);
        for end in [a, b] {
            let out = Command::new("sysctl")
                .args(["-q", "-w", &format!("net.ipv6.conf.{end}.disable_ipv6=1")])
                .output()
                .unwrap();
            assert!(out.status.success());
            ip(&["link", "set", end, "up"]);
        }
        Pair(a.to_string())
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["link", "del", &self.0]).output();
    }
}

#[test]
fn a_port_never_sees_another_interfaces_frames() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "needs root (AF_PACKET sockets and veth pairs); CI runs as root"
    );
    let id = std::process::id() % 10_000;
    let (quiet_a, quiet_b) = (format!("afq{id}a"), format!("afq{id}b"));
    let (busy_a, busy_b) = (format!("afb{id}a"), format!("afb{id}b"));
    let _quiet = Pair::new(&quiet_a, &quiet_b);
    let _busy = Pair::new(&busy_a, &busy_b);

    // Flood the busy pair with broadcast frames of an unused EtherType.
    let stop = Arc::new(AtomicBool::new(false));
    let flood = {
        let stop = Arc::clone(&stop);
        let busy_a = busy_a.clone();
        std::thread::spawn(move || {
            let mut nic = AfPacket::open(&busy_a, 256).unwrap();
            let mut sent = 0u64;
            while !stop.load(Ordering::Relaxed) {
                while let Some(buf) = nic.tx_alloc(64) {
                    buf[..6].copy_from_slice(&[0xff; 6]);
                    buf[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 9]);
                    buf[12..14].copy_from_slice(&0x88b5u16.to_be_bytes());
                    nic.tx_commit(64);
                }
                sent += nic.tx_flush() as u64;
            }
            sent
        })
    };
    std::thread::sleep(Duration::from_millis(50));
    let mut leaked = 0usize;
    for _ in 0..100 {
        let mut port = AfPacket::open(&quiet_a, 256).unwrap();
        std::thread::sleep(Duration::from_millis(2));
        while port.rx_peek().is_some() {
            leaked += 1;
            port.rx_release();
        }
    }
    stop.store(true, Ordering::Relaxed);
    let sent = flood.join().unwrap();
    assert!(sent > 1000, "the flood sent only {sent} frames");
    assert_eq!(
        leaked, 0,
        "{leaked} frames of another interface reached the quiet port"
    );
}
