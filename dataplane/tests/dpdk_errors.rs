//! Unhappy paths at start-up: a `--vdev` that does not probe is a typed
//! [`EalError::DeviceNotProbed`], a hot-plugged one an [`EalError::Probe`] with DPDK's reason
//! (not an abort), and configuring a port that is running fails with a typed
//! [`PortError`] (DPDK's EBUSY). Each case needs its own process (one EAL per process): the second runs as a
//! re-executed copy of this binary.
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

    // The port case needs a fresh process.
    spawn_peer("reconfiguring_a_running_port_is_a_typed_error", "busy", "").wait_ok();
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
        Err(PortError::Call { call, code, reason }) => {
            assert_eq!(call, "rte_eth_dev_configure");
            assert_eq!(code, libc::EBUSY);
            assert!(!reason.is_empty());
        }
        other => panic!("expected PortError::Call, got {other:?}"),
    }
    drop(nic);
}
