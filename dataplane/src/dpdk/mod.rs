//! DPDK backend: EAL start-up, mempools, ports and a zero-copy [`Nic`](crate::nic::Nic).
//!
//! Role: the only place in the dataplane (besides `tickwire-dpdk-sys`) that calls DPDK. It turns
//! DPDK's C conventions (negative return codes, `rte_errno`) into typed errors and owns every
//! mbuf it hands out.
//!
//! Call order (one process):
//! 1. [`eal::init`] once with DPDK's own argument spelling (`-l 0`, `--no-pci`, `--no-huge -m 64`,
//!    `--vdev=net_tap0,iface=tw0`, `--file-prefix=…`). A second call returns
//!    [`eal::EalError::AlreadyInitialised`]; EAL cannot be re-initialised in one process.
//! 2. [`Mempool::new`] with an explicit mbuf count (DPDK's default pools do not fit a 256 MiB
//!    budget).
//! 3. [`Port::open`] by device name (`net_tap0`), then [`Port::start`] (one RX and one TX queue).
//! 4. [`DpdkNic::new`] for the poll loop: frames are read and written in place in mbufs.
//!
//! Poll-mode drivers are shared objects EAL loads from its compiled-in plugin directory
//! ([`pmd_dir`]); pass `-d <file>` to load one from elsewhere.
#![allow(unsafe_code)]

pub mod eal;
mod mbuf;
mod nic;
mod port;

pub use eal::{init as eal_init, pmd_dir, probe, EalError};
pub use mbuf::{Mbuf, Mempool, MempoolError};
pub use nic::{DpdkNic, DpdkNicCounters};
pub use port::{LinkStatus, Port, PortError, PortOffloads, PortStats};

use std::ffi::CStr;
use tickwire_dpdk_sys as sys;

/// `rte_strerror(code)` as text (DPDK's own strings for its `E_RTE_*` codes, libc's otherwise).
pub fn strerror(code: i32) -> String {
    // SAFETY: rte_strerror returns a pointer to a static or thread-local NUL-terminated string
    // for any code; we copy it before returning.
    unsafe {
        let p = sys::rte_strerror(code);
        if p.is_null() {
            return format!("error {code}");
        }
        CStr::from_ptr(p).to_string_lossy().into_owned()
    }
}

/// The current thread's `rte_errno`.
pub fn errno() -> i32 {
    // SAFETY: reads a per-lcore/thread-local integer; no preconditions.
    unsafe { sys::tw_errno() }
}
