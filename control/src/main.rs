//! `tickwire`: the appliance's command-line interface.
//!
//! Exit codes: 0 success, 1 a check or run failed, 2 usage or configuration error.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod bench_cmd;
mod demo;

/// Kernel-bypass tick-to-trade appliance for Kraken FIX.
#[derive(Debug, Parser)]
#[command(name = "tickwire", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the embedded demo: a client and a venue session in one process, ticks in, orders out.
    Demo(demo::Args),
    /// Tick-to-trade through tickwire and the kernel baselines, in one run.
    Bench(bench_cmd::Args),
    /// FIX tools.
    Fix {
        #[command(subcommand)]
        command: FixCommand,
    },
}

#[derive(Debug, Subcommand)]
enum FixCommand {
    /// Show a session store: sequence numbers, ClOrdID mark and journaled messages.
    Store {
        #[command(subcommand)]
        command: StoreCommand,
    },
}

#[derive(Debug, Subcommand)]
enum StoreCommand {
    /// Print the store's counters and messages (read-only).
    Show {
        /// The store file.
        path: PathBuf,
        /// Print at most this many messages (the latest).
        #[arg(long, default_value_t = 20)]
        last: usize,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => demo::run(&args),
        Command::Bench(args) => bench_cmd::run(&args),
        Command::Fix {
            command:
                FixCommand::Store {
                    command: StoreCommand::Show { path, last },
                },
        } => store_show(&path, last),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tickwire: {e:#}");
            ExitCode::from(1)
        }
    }
}

#[allow(clippy::print_stdout)]
fn store_show(path: &std::path::Path, last: usize) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let (next_sender, next_target, clordid, records) =
        tickwire_fix::store::Store::read_records(path)
            .with_context(|| format!("reading store {}", path.display()))?;
    println!("store            {}", path.display());
    println!("next sender seq  {next_sender}");
    println!("next target seq  {next_target}");
    println!("ClOrdID mark     {clordid}");
    println!("messages         {}", records.len());
    for r in records.iter().rev().take(last).rev() {
        println!(
            "{:>8}  {}",
            r.seq,
            String::from_utf8_lossy(&r.bytes).replace('\x01', "|")
        );
    }
    Ok(())
}
