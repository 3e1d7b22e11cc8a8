//! FIX over TLS 1.3 over the userspace stack through a `net_memif` link between two processes:
//! this process is the appliance (memif server, TLS client, FIX initiator), a re-executed copy
//! of the test binary is the venue (memif client, its own stack, TLS server, FIX acceptor).
//! 10k orders and 10k reports, every byte checked (`dpdk_util::fix`).
#![cfg(feature = "dpdk")]
#![allow(clippy::unwrap_used)]

mod dpdk_util;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use dpdk_util::fix::{run_acceptor, run_initiator, Outcome, Pki, StackEnd, MESSAGES};
use dpdk_util::*;

const APPLIANCE: Ipv4Addr = Ipv4Addr::new(10, 94, 0, 1);
const VENUE: Ipv4Addr = Ipv4Addr::new(10, 94, 0, 2);
const TEST: &str = "fix_over_tls_over_memif_10k_each_way";
const MEMORY: &[&str] = &["--no-huge", "-m", "64"];

#[test]
fn fix_over_tls_over_memif_10k_each_way() {
    let both = Outcome {
        sent: MESSAGES,
        received: MESSAGES,
    };
    if let Ok(role) = std::env::var(ROLE) {
        assert_eq!(role, "h2-memif-venue");
        let peer = std::env::var("TICKWIRE_DPDK_PEER_ARGS").unwrap();
        let (sock, dir) = peer.split_once(';').unwrap();
        let args = eal_args(
            "h2fixmc",
            1,
            MEMORY,
            &[format!("net_memif0,role=client,socket={sock}")],
        );
        let mut nic = open(&args, "net_memif0");
        wait_link(&mut nic);
        let pki = Pki::load(&PathBuf::from(dir));
        let mut venue = StackEnd::listen(nic, VENUE, APPLIANCE, &pki);
        assert_eq!(run_acceptor(&mut venue), both);
        return;
    }
    let id = std::process::id();
    let sock = format!("/tmp/tw-h2-fixmemif-{id}.sock");
    let dir = std::env::temp_dir().join(format!("tw-h2-fixmemif-{id}"));
    let _ = std::fs::remove_file(&sock);
    let pki = Pki::generate();
    pki.save(&dir);
    let args = eal_args(
        "h2fixms",
        0,
        MEMORY,
        &[format!("net_memif0,role=server,socket={sock}")],
    );
    let mut nic = open(&args, "net_memif0");
    let peer = spawn_peer(TEST, "h2-memif-venue", &format!("{sock};{}", dir.display()));
    wait_link(&mut nic);
    let mut appliance = StackEnd::connect(nic, APPLIANCE, VENUE, &pki);
    assert_eq!(run_initiator(&mut appliance), both);
    assert_eq!(appliance.stack.counters().drops.not_allowed, 0);
    peer.wait_ok();
    leave_memif_to_exit(appliance);
    let _ = std::fs::remove_file(&sock);
    let _ = std::fs::remove_dir_all(&dir);
}
