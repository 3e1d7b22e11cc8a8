//! FIX over TLS 1.3 between the appliance's DPDK `net_af_packet` port on one end of a veth pair
//! and Linux on the other end, in a network namespace we create: the venue is kernel TCP + a
//! TLS 1.3 server (rustls) + a FIX acceptor in a thread inside the namespace; the appliance is
//! the userspace stack + TLS client (certificate verified) + FIX initiator over `DpdkNic`.
//! 10k orders and 10k reports, every byte checked (`dpdk_util::fix`); then a client that
//! expects another server name refuses the venue's certificate over the same port. Needs
//! root, iproute2 and ethtool; the namespace and veth are removed on exit, pass or fail.
#![cfg(feature = "dpdk")]
#![allow(clippy::unwrap_used)]

mod dpdk_util;
use std::net::{Ipv4Addr, SocketAddrV4};

use dpdk_util::fix::{run_initiator, Outcome, Pki, StackEnd, FIX_PORT, MESSAGES};
use dpdk_util::net::{require_root, spawn_kernel_venue, veth_ns};
use dpdk_util::*;

#[test]
fn fix_over_tls_over_af_packet_veth_to_kernel_tcp_10k_each_way() {
    require_root();
    let subnet = (std::process::id() % 200) as u8 + 20;
    let ours = Ipv4Addr::new(10, 96, subnet, 1);
    let theirs = Ipv4Addr::new(10, 96, subnet, 2);
    let topo = veth_ns("v", theirs);
    let pki = Pki::generate();
    let venue = spawn_kernel_venue(
        Some(&topo.ns),
        SocketAddrV4::new(theirs, FIX_PORT),
        &pki,
        true,
    );
    let args = eal_args(
        "h2fixveth",
        0,
        &["--no-huge", "-m", "64"],
        &[format!("net_af_packet0,iface={}", topo.host_if)],
    );
    let mut nic = open(&args, "net_af_packet0");
    wait_link(&mut nic);
    let mut appliance = StackEnd::connect(nic, ours, theirs, &pki);
    let both = Outcome {
        sent: MESSAGES,
        received: MESSAGES,
    };
    assert_eq!(run_initiator(&mut appliance), both);
    // Certificate verification is on: a client expecting another name refuses the venue.
    let err = appliance.refused_handshake(theirs, pki.client_for("other.venue.h2.test"));
    assert_eq!(
        err,
        tickwire_tls::Error::Certificate(tickwire_tls::CertError::NotValidForName)
    );
    let venue = venue.join().expect("venue thread");
    assert_eq!(venue.outcome, both);
    // The venue's side of that handshake ends in a typed error too (the client's alert, or
    // the end of the stream without close_notify), never a session.
    assert!(
        matches!(
            venue.refused,
            Some(tickwire_tls::Error::PeerAlert(_) | tickwire_tls::Error::UnexpectedEof)
        ),
        "the venue saw {:?}",
        venue.refused
    );
    assert_eq!(appliance.stack.counters().drops.not_allowed, 0);
    drop(appliance);
    drop(topo);
}
