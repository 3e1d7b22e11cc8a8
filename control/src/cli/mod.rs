//! Shared pieces of the CLI: the global output format, the success statuses and the error
//! classes that map to exit codes (see the table in `main.rs`).
//!
//! Commands return `anyhow::Result<Status>`. An error is exit code 1 unless it was created
//! with [`usage`] (2) or [`environment`] (3) somewhere in its chain.

pub mod admin;
pub mod config;
pub mod fix;
pub mod hw;
pub mod venue;

use std::fmt;

/// Output format (global `--output`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// Human-readable text.
    Text,
    /// One JSON document on stdout.
    Json,
}

/// How a command that ran to the end came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Success: exit 0.
    Ok,
    /// A check or verification failed: exit 1.
    CheckFailed,
}

impl Status {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Self::Ok => 0,
            Self::CheckFailed => 1,
        }
    }
}

/// Error classes with their own exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Usage or configuration error: exit 2.
    Usage,
    /// Environment error (privileges, missing host paths): exit 3.
    Environment,
}

#[derive(Debug)]
struct Classified {
    class: Class,
    message: String,
}

impl fmt::Display for Classified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Classified {}

/// A usage or configuration error (exit 2).
pub fn usage(message: impl fmt::Display) -> anyhow::Error {
    anyhow::Error::new(Classified {
        class: Class::Usage,
        message: message.to_string(),
    })
}

/// An environment error (exit 3).
pub fn environment(message: impl fmt::Display) -> anyhow::Error {
    anyhow::Error::new(Classified {
        class: Class::Environment,
        message: message.to_string(),
    })
}

/// The class of an error, from the first classified error in its chain.
pub fn class(e: &anyhow::Error) -> Option<Class> {
    e.chain()
        .find_map(|c| c.downcast_ref::<Classified>())
        .map(|c| c.class)
}

/// The exit code for an error: 2 usage, 3 environment, else 1.
pub fn exit_code(e: &anyhow::Error) -> u8 {
    match class(e) {
        Some(Class::Usage) => 2,
        Some(Class::Environment) => 3,
        None => 1,
    }
}

/// Prints `value` as pretty JSON on stdout.
///
/// # Errors
/// Serialisation failure (not expected for the report types).
#[allow(clippy::print_stdout)]
pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Makes Ctrl-C and SIGTERM end the process through one thread that first removes the network
/// namespaces and veth pairs a run still holds (`tickwire_bench::veth::cleanup_registered`),
/// then exits with 130. Call before any other thread starts: the signals are blocked in the
/// calling thread, and every thread started later inherits that.
pub fn interrupt_cleans_netns() {
    use nix::sys::signal::{SigSet, Signal};
    let mut set = SigSet::empty();
    set.add(Signal::SIGINT);
    set.add(Signal::SIGTERM);
    if set.thread_block().is_err() {
        return;
    }
    std::thread::spawn(move || {
        if let Ok(signal) = set.wait() {
            let removed = tickwire_bench::veth::cleanup_registered();
            // A DPDK run's sockets and EAL runtime directory (its hugepage files are unlinked
            // once its ports run).
            #[cfg(feature = "dpdk")]
            let _ = tickwire_bench::dpdk::cleanup_registered();
            if removed.is_empty() {
                eprintln!("\ntickwire: {signal}, stopped");
            } else {
                eprintln!(
                    "\ntickwire: {signal}, stopped; removed network namespace {}",
                    removed.join(", ")
                );
            }
            std::process::exit(130);
        }
    });
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use anyhow::Context as _;

    #[test]
    fn classes_survive_context_and_map_to_exit_codes() {
        let e = Err::<(), _>(usage("bad profile"))
            .context("loading")
            .unwrap_err();
        assert_eq!(exit_code(&e), 2);
        assert_eq!(exit_code(&environment("no root")), 3);
        assert_eq!(exit_code(&anyhow::anyhow!("run failed")), 1);
    }
}
