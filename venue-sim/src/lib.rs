//! # tickwire-venue — a Kraken-UAT-like venue simulator
//!
//! Layer: a counterparty for tests, demos and benchmarks. Today it holds the plain FIX 4.4
//! [`conformance`] profile (QuickFIX's acceptance scripts over kernel TCP and TLS 1.3); the
//! Kraken profile (HMAC logon, matching engine, market data, rate limits) is still to come.
#![forbid(unsafe_code)]

pub mod conformance;
pub mod engine;
pub mod limits;
