#![forbid(unsafe_code)]
//! # tickwire-control — the appliance daemon and its CLI
//!
//! Library side of the `tickwire` binary: the configuration file ([`config`]) and the admin
//! socket ([`admin`]). The CLI itself lives in `src/main.rs` and `src/cli/`.

pub mod admin;
pub mod config;
pub mod filelog;
pub mod metrics;
pub mod notify;
