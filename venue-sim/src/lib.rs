//! # tickwire-venue — a Kraken-UAT-like venue simulator
//!
//! Layer: a counterparty for tests, demos and benchmarks. It holds the plain FIX 4.4
//! [`conformance`] profile (QuickFIX's acceptance scripts over kernel TCP and TLS 1.3), the
//! matching [`engine`] with Kraken's [`limits`], and the [`kraken`] profile that ties them
//! together behind Kraken's ports and CompIDs: HMAC logon, order entry, market data, a
//! synthetic market, over kernel TCP with TLS 1.3.
#![forbid(unsafe_code)]

pub mod conformance;
pub mod engine;
pub mod kraken;
pub mod limits;
