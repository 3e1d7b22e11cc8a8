//! FIX over TLS 1.3 between the appliance's DPDK `net_tap` port and Linux: DPDK creates the
//! TAP interface, the kernel end of it gets the venue's address, and the venue is kernel TCP +
//! a TLS 1.3 server (rustls) + a FIX acceptor in a thread; the appliance is the userspace
//! stack + TLS client (certificate verified) + FIX initiator over `DpdkNic`. 10k orders and
//! 10k reports, every byte checked (`dpdk_util::fix`). Needs root and iproute2; the TAP
//! interface disappears with the port.
#![cfg(feature = "dpdk")]
#![allow(clippy::unwrap_used)]

mod dpdk_util;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::process::Command;

use dpdk_util::fix::{run_initiator, Outcome, Pki, StackEnd, FIX_PORT, MESSAGES};
use dpdk_util::net::{require_root, spawn_kernel_venue};
use dpdk_util::*;
use tickwire_testutil::netns::sh;

#[test]
fn fix_over_tls_over_net_tap_to_kernel_tcp_10k_each_way() {
    require_root();
    let id = std::process::id() % 10_000;
    let subnet = (id % 200) as u8 + 20;
    let ours = Ipv4Addr::new(10, 97, subnet, 1);
    let theirs = Ipv4Addr::new(10, 97, subnet, 2);
    let ifname = format!("twh2t{id}");
    let args = eal_args(
        "h2fixtap",
        0,
        &["--no-huge", "-m", "64"],
        &[format!("net_tap0,iface={ifname}")],
    );
    let mut nic = open(&args, "net_tap0");
    sh(&["ip", "addr", "add", &format!("{theirs}/24"), "dev", &ifname]);
    sh(&["ip", "link", "set", &ifname, "up"]);
    // The kernel must hand the TAP finished checksums (it does without offloads; be explicit).
    let _ = Command::new("ethtool")
        .args(["-K", &ifname, "tx", "off"])
        .output();
    wait_link(&mut nic);
    let pki = Pki::generate();
    let venue = spawn_kernel_venue(None, SocketAddrV4::new(theirs, FIX_PORT), &pki, false);
    let mut appliance = StackEnd::connect(nic, ours, theirs, &pki);
    let both = Outcome {
        sent: MESSAGES,
        received: MESSAGES,
    };
    assert_eq!(run_initiator(&mut appliance), both);
    assert_eq!(venue.join().expect("venue thread").outcome, both);
    assert_eq!(appliance.stack.counters().drops.not_allowed, 0);
}
