//! vhost-user pair: this process owns `net_vhost0` (the vhost-user socket server), a
//! re-executed copy of the test binary attaches `virtio_user0` to the socket and echoes; 10k
//! frames, every byte checked. vhost-user shares guest memory, so both sides use `--in-memory`
//! (hugepage-backed file descriptors) instead of `--no-huge`, and the virtio side keeps its
//! memory in one file per segment list (`--single-file-segments`): vhost-user accepts only a
//! few memory regions.
#![cfg(feature = "dpdk")]
#![allow(clippy::unwrap_used)]

mod dpdk_util;
use dpdk_util::*;

#[test]
fn vhost_virtio_user_echo_10k_frames() {
    if let Ok(role) = std::env::var(ROLE) {
        assert_eq!(role, "virtio-user");
        let sock = std::env::var("TICKWIRE_DPDK_PEER_ARGS").unwrap();
        let args = eal_args(
            "virtio",
            1,
            &["--in-memory", "--single-file-segments", "-m", "48"],
            &[format!("virtio_user0,path={sock},queues=1")],
        );
        let mut nic = open(&args, "virtio_user0");
        wait_link(&mut nic);
        assert_eq!(echo(&mut nic), FRAMES);
        return;
    }
    let sock = format!("/tmp/tw-vhost-{}.sock", std::process::id());
    let _ = std::fs::remove_file(&sock);
    let args = eal_args(
        "vhost",
        0,
        &["--in-memory", "-m", "48"],
        &[format!("net_vhost0,iface={sock},queues=1")],
    );
    let mut nic = open(&args, "net_vhost0");
    let peer = spawn_peer("vhost_virtio_user_echo_10k_frames", "virtio-user", &sock);
    wait_link(&mut nic);
    ping_pong(&mut nic, FRAMES);
    send_stop(&mut nic);
    peer.wait_ok();
    let _ = std::fs::remove_file(&sock);
}
