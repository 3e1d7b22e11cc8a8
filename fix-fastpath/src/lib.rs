//! # tickwire-fix — the FIX 4.4 fast path
//!
//! Layer: protocol core, no IO. This crate never opens a socket, reads a clock or spawns a thread:
//! bytes and time come in as arguments, bytes and events go out through caller-owned buffers.
//!
//! ```text
//!  bytes in ─► framer ─► Message (zero-copy view) ─► typed views ─► session / book
//!  session ─► Template (precompiled) ─► patch slots + checksum ─► bytes out
//! ```
//!
//! Modules:
//! - [`decimal`]: fixed-point prices and quantities (never `f64`).
//! - [`time`]: FIX UTC timestamps.
// Only `store::mapping` (the memory-mapped journal) may use `unsafe`.
#![deny(unsafe_code)]

pub mod book;
pub mod conformance;
pub mod decimal;
pub mod dict;
pub mod encode;
pub mod kraken;
pub mod message;
pub mod outbound;
pub mod parse;
pub mod session;
pub mod store;
pub mod tags;
pub mod template;
pub mod time;
pub mod views;

pub use decimal::Decimal;
pub use time::UtcTimestamp;
