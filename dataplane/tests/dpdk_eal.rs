//! DPDK EAL start-up in its own process: `--no-huge` works, a second init is refused with a
//! typed error, a mempool and a `net_null`-free virtual port come up, and a port name that does
//! not exist is a typed error. Needs the DPDK runtime (scripts/setup-host).
#![cfg(feature = "dpdk")]
#![allow(clippy::unwrap_used)]

use tickwire_dataplane::dpdk::{self, EalError, Mempool, Port, PortError};
use tickwire_dataplane::nic::Nic;

#[test]
fn eal_no_huge_ring_port_loopback_and_typed_errors() {
    let prefix = format!("tw-test-{}-eal", std::process::id()); // as dpdk_util names them
    let args = [
        "-l",
        "0",
        "--no-pci",
        "--no-huge",
        "-m",
        "64",
        "--log-level=lib.eal:error",
        &format!("--file-prefix={prefix}"),
        "--vdev=net_ring0",
    ];
    dpdk::eal_init(&args).expect("EAL init with --no-huge");
    assert_eq!(dpdk::eal_init(&args), Err(EalError::AlreadyInitialised));
    assert!(
        dpdk::pmd_dir().contains("pmds"),
        "PMD dir {}",
        dpdk::pmd_dir()
    );

    let pool = Mempool::new("tw_eal_pool", 1023, 32, 2048).expect("mempool");
    assert!(pool.available() > 0);
    let mut m = pool.alloc().expect("mbuf");
    m.append(60).expect("tailroom").fill(0xab);
    assert_eq!(m.data().len(), 60);
    drop(m);

    match Port::open("net_nonexistent9", &pool, 256, 256) {
        Err(PortError::NotFound(n)) => assert_eq!(n, "net_nonexistent9"),
        other => panic!("expected NotFound, got {other:?}"),
    }

    // net_ring loops TX back to RX: frames go round in the same mbufs, every byte checked.
    let mut nic = dpdk::DpdkNic::new("net_ring0", pool, 256).expect("net_ring0 port");
    assert!(nic.port().link().up);
    for i in 0..10_000u32 {
        let buf = nic.tx_alloc(200).expect("tx buffer");
        for (j, b) in buf.iter_mut().enumerate() {
            *b = (i as usize + j) as u8;
        }
        nic.tx_commit(200);
        assert_eq!(nic.tx_flush(), 1);
        let f = nic.rx_peek().expect("frame back");
        assert_eq!(f.len(), 200);
        assert!(f
            .iter()
            .enumerate()
            .all(|(j, &b)| b == (i as usize + j) as u8));
        nic.rx_release();
    }
    let st = nic.port().stats().expect("stats");
    assert_eq!(st.opackets, 10_000);
    assert!(!nic.port().xstats().expect("xstats").is_empty());
}
