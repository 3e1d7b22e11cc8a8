//! memif pair: this process is the memif server, a re-executed copy of the test binary is the
//! client that echoes; 10k frames, every byte checked.
#![cfg(feature = "dpdk")]
#![allow(clippy::unwrap_used)]

mod dpdk_util;
use dpdk_util::*;

#[test]
fn memif_server_client_echo_10k_frames() {
    if let Ok(role) = std::env::var(ROLE) {
        assert_eq!(role, "memif-client");
        let sock = std::env::var("TICKWIRE_DPDK_PEER_ARGS").unwrap();
        let args = eal_args(
            "memifc",
            1,
            &["--no-huge", "-m", "64"],
            &[format!("net_memif0,role=client,socket={sock}")],
        );
        let mut nic = open(&args, "net_memif0");
        wait_link(&mut nic);
        assert_eq!(echo(&mut nic), FRAMES);
        return;
    }
    let sock = format!("/tmp/tw-memif-{}.sock", std::process::id());
    let _ = std::fs::remove_file(&sock);
    let args = eal_args(
        "memifs",
        0,
        &["--no-huge", "-m", "64"],
        &[format!("net_memif0,role=server,socket={sock}")],
    );
    let mut nic = open(&args, "net_memif0");
    let peer = spawn_peer("memif_server_client_echo_10k_frames", "memif-client", &sock);
    wait_link(&mut nic);
    ping_pong(&mut nic, FRAMES);
    send_stop(&mut nic);
    peer.wait_ok();
    leave_memif_to_exit(nic);
    let _ = std::fs::remove_file(&sock);
}
