//! `tickwire`: the appliance's command-line interface.
//!
//! A noun-verb CLI (`tickwire <noun> <verb> [options]`) built with clap's derive API; each
//! noun lives in its own module under `cli/` (`cli::hw`, `cli::fix`, …) and returns an
//! [`cli::Status`] or an `anyhow::Error`. `--output text|json` is global: every command prints
//! either human-readable text or one JSON document on stdout. Diagnostics go to stderr.
//!
//! # Exit codes
//! | code | meaning |
//! |---|---|
//! | 0 | success (for checks: everything passed or was skipped with a reason) |
//! | 1 | a check or verification failed, or a run failed |
//! | 2 | usage or configuration error: bad arguments, unknown or invalid profile/config |
//! | 3 | environment error: missing privileges (root), a host root or device that is not there |

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod bench_cmd;
mod cli;
mod demo;

/// Kernel-bypass tick-to-trade appliance for Kraken FIX.
#[derive(Debug, Parser)]
#[command(name = "tickwire", version, about)]
struct Cli {
    /// Output format: human-readable text or one JSON document on stdout.
    #[arg(long, global = true, value_enum, default_value_t = cli::Output::Text)]
    output: cli::Output,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the embedded demo: a client and a venue session in one process, ticks in, orders out.
    Demo(demo::Args),
    /// Tick-to-trade through tickwire and the kernel baselines, in one run.
    Bench(bench_cmd::Args),
    /// Configuration files: check, show, example.
    Config {
        #[command(subcommand)]
        command: cli::config::Command,
    },
    /// FIX tools.
    Fix {
        #[command(subcommand)]
        command: cli::fix::Command,
    },
    /// Hardware profiles: verify, apply and show host tuning; EAL arguments.
    Hw {
        #[command(subcommand)]
        command: cli::hw::Command,
    },
}

fn main() -> ExitCode {
    // clap exits with 2 on usage errors and 0 for --help / --version.
    let cli = Cli::parse();
    let output = cli.output;
    let result = match cli.command {
        Command::Demo(args) => demo::run(&args).map(|()| cli::Status::Ok),
        Command::Bench(args) => bench_cmd::run(&args, output).map(|()| cli::Status::Ok),
        Command::Config { command } => cli::config::run(command, output),
        Command::Fix { command } => cli::fix::run(command, output),
        Command::Hw { command } => cli::hw::run(command, output),
    };
    match result {
        Ok(status) => ExitCode::from(status.code()),
        Err(e) => {
            eprintln!("tickwire: {e:#}");
            ExitCode::from(cli::exit_code(&e))
        }
    }
}
