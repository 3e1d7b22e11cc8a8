//! FIX over TLS 1.3 over the userspace stack through a virtio NIC: the appliance (this
//! process) owns a `virtio_user` port attached to the vhost-user socket of a `net_vhost` port
//! in the venue (a re-executed copy of the test binary, with its own stack, TLS server and FIX
//! acceptor). 10k orders and 10k reports, every byte checked (`dpdk_util::fix`).
//!
//! vhost-user shares the virtio side's memory, so both use `--in-memory` (hugepage-backed file
//! descriptors) and the virtio side keeps one file per segment list (`--single-file-segments`).
#![cfg(feature = "dpdk")]
#![allow(clippy::unwrap_used)]

mod dpdk_util;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use dpdk_util::fix::{run_acceptor, run_initiator, Outcome, Pki, StackEnd, MESSAGES};
use dpdk_util::*;

const APPLIANCE: Ipv4Addr = Ipv4Addr::new(10, 95, 0, 1);
const VENUE: Ipv4Addr = Ipv4Addr::new(10, 95, 0, 2);
const TEST: &str = "fix_over_tls_over_virtio_user_and_vhost_10k_each_way";

#[test]
fn fix_over_tls_over_virtio_user_and_vhost_10k_each_way() {
    let both = Outcome {
        sent: MESSAGES,
        received: MESSAGES,
    };
    if let Ok(role) = std::env::var(ROLE) {
        assert_eq!(role, "h2-vhost-venue");
        let peer = std::env::var("TICKWIRE_DPDK_PEER_ARGS").unwrap();
        let (sock, dir) = peer.split_once(';').unwrap();
        let args = eal_args(
            "h2fixvh",
            1,
            &[
                "--in-memory",
                "-m",
                "48",
                "--log-level=lib.vhost.config:error",
            ],
            &[format!("net_vhost0,iface={sock},queues=1")],
        );
        let mut nic = open(&args, "net_vhost0");
        wait_link(&mut nic);
        let pki = Pki::load(&PathBuf::from(dir));
        let mut venue = StackEnd::listen(nic, VENUE, APPLIANCE, &pki);
        assert_eq!(run_acceptor(&mut venue), both);
        return;
    }
    let id = std::process::id();
    let sock = format!("/tmp/tw-h2-fixvhost-{id}.sock");
    let dir = std::env::temp_dir().join(format!("tw-h2-fixvhost-{id}"));
    let _ = std::fs::remove_file(&sock);
    let pki = Pki::generate();
    pki.save(&dir);
    // The venue creates the vhost-user socket; the virtio side attaches to it.
    let peer = spawn_peer(TEST, "h2-vhost-venue", &format!("{sock};{}", dir.display()));
    let start = Instant::now();
    while !std::path::Path::new(&sock).exists() {
        assert!(start.elapsed() < STALL, "venue never created {sock}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let args = eal_args(
        "h2fixvu",
        0,
        &["--in-memory", "--single-file-segments", "-m", "48"],
        &[format!("virtio_user0,path={sock},queues=1")],
    );
    let mut nic = open(&args, "virtio_user0");
    wait_link(&mut nic);
    let mut appliance = StackEnd::connect(nic, APPLIANCE, VENUE, &pki);
    assert_eq!(run_initiator(&mut appliance), both);
    assert_eq!(appliance.stack.counters().drops.not_allowed, 0);
    peer.wait_ok();
    let _ = std::fs::remove_file(&sock);
    let _ = std::fs::remove_dir_all(&dir);
}
