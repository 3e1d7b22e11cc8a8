//! # tickwire-dpdk-sys — raw bindings to the system libdpdk
//!
//! Generated at build time by bindgen against the DPDK found through pkg-config, restricted to
//! what tickwire uses (EAL, ethdev, mbuf, mempool, errno, lcore, device hot-plug, Ethernet/IPv4/
//! TCP header structs). DPDK's `static inline` fast-path functions (`rte_eth_rx_burst`,
//! `rte_pktmbuf_alloc`, …) have no symbol, so a small C shim exports them as `tw_*`.
//!
//! Everything here is `unsafe` and unchecked; `tickwire_dataplane::dpdk` is the safe layer.
//! The poll-mode drivers themselves are shared libraries that EAL loads from
//! [`PMD_PATH`] at `rte_eal_init` time; nothing needs to be linked with `--whole-archive`.
#![allow(
    unsafe_code,
    non_camel_case_types,
    non_snake_case,
    non_upper_case_globals,
    missing_debug_implementations,
    clippy::all,
    clippy::pedantic,
    rustdoc::all
)]

include!(concat!(env!("OUT_DIR"), "/bindings.rs"));

/// DPDK version the bindings were generated against (from pkg-config).
pub const DPDK_VERSION: &str = env!("TICKWIRE_DPDK_VERSION");
