//! # tickwire-bench — tick-to-trade harnesses
//!
//! [`inmem::run`] runs the appliance's full software path in one process: the venue side
//! publishes BTC/USD book updates on a market-data FIX session; they cross the in-memory NIC
//! pair, the client's userspace TCP, TLS 1.3 and FIX parser, update the L2 book, fire an armed
//! order through a precompiled template, and leave through TLS, TCP and the NIC. Each
//! tick-to-trade interval (client cycle that received the tick → order frame handed to the NIC)
//! goes into an HDR histogram, next to the same tick measured at the venue. The venue side is
//! either the Kraken profile of the venue simulator with its matching engine ([`venue`], what
//! `tickwire demo` runs) or a minimal responder that fills every order — the same venue the
//! kernel-socket baselines ([`kernel`]) run against, so that `tickwire bench` compares like
//! with like.
#![forbid(unsafe_code)]

#[cfg(feature = "dpdk")]
pub mod dpdk;
pub mod feed;
pub mod floor;
pub mod hiccups;
pub mod inmem;
pub mod interrupts;
pub mod kernel;
pub mod lent;
pub mod pki;
#[cfg(feature = "quickfix")]
pub mod quickfix;
pub mod report;
pub mod rss;
pub mod stages;
pub mod targets;
pub use tickwire_dataplane::stamp_nic;
pub mod two_core;
pub mod venue;
pub mod veth;
