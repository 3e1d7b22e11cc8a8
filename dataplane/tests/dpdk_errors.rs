//! Unhappy paths at start-up: a `--vdev` that does not probe is a typed
//! [`EalError::DeviceNotProbed`], a hot-plugged one an [`EalError::Probe`] with DPDK's reason
//! (not an abort), configuring a port that is running fails with a typed
//! [`PortError`] (DPDK's EBUSY), and a port whose interface disappeared after configuration
//! does not start (`rte_eth_dev_start`: ENODEV), each with DPDK's reason and a hint. Each case
//! needs its own process (one EAL per process): the port cases run as re-executed copies of
//! this binary.
#![cfg(feature = "dpdk")]
#![allow(clippy::unwrap_used)]

mod dpdk_util;
use dpdk_util::*;
use tickwire_dataplane::dpdk::{self, DpdkNic, EalError, Mempool, Port, PortError};

#[test]
fn bad_vdev_is_a_typed_error_with_dpdks_reason() {
    let args = eal_args(
        "badvdev",
        0,
        &["--no-huge", "-m", "64"],
        &["net_af_packet0,iface=tw-no-such-if0".to_owned()],
    );
    // EAL itself starts (a failed vdev probe is not fatal to it), but the device is reported.
    match dpdk::eal_init(&args) {
        Err(EalError::DeviceNotProbed { device, hint }) => {
            assert_eq!(device, "net_af_packet0");
            assert!(hint.contains("--vdev"), "hint: {hint}");
        }
        other => panic!("expected EalError::DeviceNotProbed, got {other:?}"),
    }
    // Hot-plugging the same bad device returns the driver's code and DPDK's text for it.
    match dpdk::probe("net_af_packet1,iface=tw-no-such-if1") {
        Err(EalError::Probe { errno, reason, .. }) => {
            assert_ne!(errno, 0);
            assert!(!reason.is_empty());
        }
        other => panic!("expected EalError::Probe, got {other:?}"),
    }
    match dpdk::probe("net_no_such_driver0") {
        Err(EalError::Probe { .. }) => {}
        other => panic!("expected EalError::Probe, got {other:?}"),
    }
    // EAL refuses a second attempt in the same process, and says so.
    assert_eq!(dpdk::eal_init(&args), Err(EalError::AlreadyInitialised));

    // The port cases need fresh processes.
    spawn_peer("reconfiguring_a_running_port_is_a_typed_error", "busy", "").wait_ok();
    spawn_peer("a_port_whose_interface_is_gone_does_not_start", "gone", "").wait_ok();
}

#[test]
fn reconfiguring_a_running_port_is_a_typed_error() {
    if std::env::var(ROLE).is_err() {
        return; // run only as the child of the test above (it needs its own process)
    }
    let ifname = format!("twb{}", std::process::id() % 100_000);
    let args = eal_args(
        "busy",
        0,
        &["--no-huge", "-m", "64"],
        &[format!("net_tap0,iface={ifname}")],
    );
    dpdk::eal_init(&args).expect("EAL with net_tap");
    let pool = Mempool::new("busy_pool", 1023, 32, 2048).expect("mempool");
    let nic = DpdkNic::new("net_tap0", pool, 256).expect("tap port starts");
    let pool2 = Mempool::new("busy_pool2", 1023, 32, 2048).expect("second mempool");
    match Port::open("net_tap0", &pool2, 256, 256) {
        Err(PortError::Call {
            call,
            code,
            reason,
            hint,
        }) => {
            assert_eq!(call, "rte_eth_dev_configure");
            assert_eq!(code, libc::EBUSY);
            assert!(!reason.is_empty());
            assert!(hint.contains("stop it"), "hint: {hint}");
        }
        other => panic!("expected PortError::Call, got {other:?}"),
    }
    drop(nic);
}

#[test]
fn a_port_whose_interface_is_gone_does_not_start() {
    if std::env::var(ROLE).is_err() {
        return; // run only as the child of the first test (it needs its own process)
    }
    // net_tap creates its interface at probe and queue set-up; deleting it behind DPDK's back
    // leaves a configured port that rte_eth_dev_start refuses (the link-up ioctl has no
    // interface to act on).
    let ifname = format!("twh2g{}", std::process::id() % 100_000);
    let args = eal_args(
        "h2gone",
        0,
        &["--no-huge", "-m", "64"],
        &[format!("net_tap0,iface={ifname}")],
    );
    dpdk::eal_init(&args).expect("EAL with net_tap");
    let pool = Mempool::new("gone_pool", 1023, 32, 2048).expect("mempool");
    let mut port = Port::open("net_tap0", &pool, 256, 256).expect("tap port configures");
    let out = std::process::Command::new("ip")
        .args(["link", "del", &ifname])
        .output()
        .expect("run ip (iproute2)");
    assert!(
        out.status.success(),
        "ip link del {ifname}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let e = port
        .start()
        .expect_err("a port whose interface is gone must not start");
    let text = e.to_string();
    match e {
        PortError::Call {
            call,
            code,
            reason,
            hint,
        } => {
            assert_eq!(call, "rte_eth_dev_start");
            assert_eq!(code, libc::ENODEV, "{text}");
            assert!(!reason.is_empty());
            assert!(hint.contains("gone"), "hint: {hint}");
            assert!(
                text.contains("rte_eth_dev_start") && text.contains(&reason),
                "{text}"
            );
        }
        other => panic!("expected PortError::Call from rte_eth_dev_start, got {other:?}"),
    }
    // The same through the Nic constructor: an error, not a panic or an abort.
    let pool2 = Mempool::new("gone_pool2", 1023, 32, 2048).expect("second mempool");
    drop(port);
    match DpdkNic::new("net_tap0", pool2, 256) {
        Err(PortError::Call { .. }) => {}
        other => panic!("expected PortError::Call, got {other:?}"),
    }
}
