#![forbid(unsafe_code)]
//! Hardware profiles: what a colocated host must look like for tickwire's dataplane, and the
//! tools to check and apply it (like `tuned-adm verify`).
//!
//! ```text
//! profiles/*.toml ─► profile::Profile (serde + validate) ─┬─► eal::args      (DPDK argv)
//!                                                          ├─► verify::verify ─► Report (one entry per check)
//! host::HostRoot (procfs/sysfs under a prefix) ────────────┼─► apply::apply   (run-time settings, root only)
//!                                                          └─► show::show     (what the host has)
//! hugebuf::HugeBuffer: a hugepage-backed buffer for the dataplane, normal pages as fallback.
//! ```
//!
//! This crate reads and writes procfs/sysfs files and nothing else: it never edits the
//! bootloader (it prints the kernel command line a profile needs), never starts or stops
//! services, and never parses the appliance's own configuration (that is `control`'s).

pub mod apply;
pub mod cpulist;
pub mod eal;
pub mod host;
pub mod hugebuf;
pub mod profile;
pub mod shipped;
pub mod show;
pub mod verify;

pub use cpulist::CpuList;
pub use host::HostRoot;
pub use profile::{Profile, ProfileError};
