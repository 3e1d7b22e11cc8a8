//! DPDK `net_af_packet` on one end of a veth pair talks to the Linux kernel on the other end
//! (in a network namespace we create): our port answers ARP and ICMP echo, and the kernel's
//! `ping -f` sends 10k echo requests; ping checks every payload byte of every reply.
//! Needs root, `ip`, `ethtool` and `ping`; the namespace and veth are removed on exit, pass or fail.
#![cfg(feature = "dpdk")]
#![allow(clippy::unwrap_used)]

mod dpdk_util;
use dpdk_util::*;
use std::process::Stdio;
use tickwire_dataplane::nic::Nic;
use tickwire_testutil::netns::Veth;

const OUR_IP: [u8; 4] = [10, 77, 31, 1];

/// Rewrites an ARP request for [`OUR_IP`] or an ICMP echo request to it into the reply, in
/// place. Returns false for anything else.
fn answer(f: &mut [u8], mac: [u8; 6]) -> bool {
    if f.len() >= 42 && f[12..14] == [0x08, 0x06] && f[20..22] == [0, 1] && f[38..42] == OUR_IP {
        let (sha, spa) = (
            <[u8; 6]>::try_from(&f[22..28]).unwrap(),
            <[u8; 4]>::try_from(&f[28..32]).unwrap(),
        );
        f[0..6].copy_from_slice(&sha);
        f[6..12].copy_from_slice(&mac);
        f[21] = 2;
        f[22..28].copy_from_slice(&mac);
        f[28..32].copy_from_slice(&OUR_IP);
        f[32..38].copy_from_slice(&sha);
        f[38..42].copy_from_slice(&spa);
        return true;
    }
    if f.len() >= 42 && f[12..14] == [0x08, 0x00] && f[23] == 1 && f[30..34] == OUR_IP {
        let ihl = usize::from(f[14] & 0x0f) * 4;
        let icmp = 14 + ihl;
        if f[icmp] != 8 {
            return false;
        }
        let (dst, src) = (
            <[u8; 6]>::try_from(&f[0..6]).unwrap(),
            <[u8; 6]>::try_from(&f[6..12]).unwrap(),
        );
        f[0..6].copy_from_slice(&src);
        f[6..12].copy_from_slice(&dst);
        let peer = <[u8; 4]>::try_from(&f[26..30]).unwrap();
        f[26..30].copy_from_slice(&OUR_IP);
        f[30..34].copy_from_slice(&peer);
        f[icmp] = 0;
        // Incremental checksum (RFC 1624): type 8 → 0 lowers the first word by 0x0800.
        let ck = u16::from_be_bytes([f[icmp + 2], f[icmp + 3]]);
        let sum = u32::from(ck) + 0x0800;
        let ck = (sum & 0xffff) as u16 + (sum >> 16) as u16;
        f[icmp + 2..icmp + 4].copy_from_slice(&ck.to_be_bytes());
        return true;
    }
    false
}

#[test]
fn af_packet_port_answers_10k_kernel_pings_on_a_veth() {
    let id = std::process::id() % 100_000;
    let topo = Veth::create(
        &format!("tw-dpdk-{id}"),
        &format!("twda{id}"),
        &format!("twdb{id}"),
        "10.77.31.2/24",
    );

    let args = eal_args(
        "veth",
        0,
        &["--no-huge", "-m", "64"],
        &[format!("net_af_packet0,iface={}", topo.host_if)],
    );
    let mut nic = open(&args, "net_af_packet0");
    wait_link(&mut nic);
    let mac = nic.mac();

    let mut ping = topo
        .command("ping")
        .args(["-f", "-c", "10000", "-w", "120", "-s", "200"])
        .arg("10.77.31.1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run ping");
    let mut answered = 0u64;
    let mut buf = [0u8; 2048];
    while ping.try_wait().expect("ping status").is_none() {
        let Some(f) = nic.rx_peek() else { continue };
        let len = f.len().min(buf.len());
        buf[..len].copy_from_slice(&f[..len]);
        nic.rx_release();
        if answer(&mut buf[..len], mac) {
            loop {
                if let Some(b) = nic.tx_alloc(len) {
                    b.copy_from_slice(&buf[..len]);
                    nic.tx_commit(len);
                    break;
                }
                nic.tx_flush();
            }
            while nic.tx_pending() > 0 {
                nic.tx_flush();
            }
            answered += 1;
        }
    }
    let out = ping.wait_with_output().expect("ping output");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("10000 packets transmitted, 10000 received"),
        "ping: {text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !text.contains("wrong data"),
        "ping saw altered payloads: {text}"
    );
    assert!(answered >= 10_000, "answered {answered}");
    drop(nic);
    drop(topo);
}
