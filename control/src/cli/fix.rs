//! `tickwire fix …`: FIX tools. `fix store show <path>` prints a session store (read-only).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Subcommand;

use super::{Output, Status};

/// `tickwire fix` verbs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show a session store: sequence numbers, ClOrdID mark and journaled messages.
    Store {
        #[command(subcommand)]
        command: StoreCommand,
    },
}

/// `tickwire fix store` verbs.
#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Print the store's counters and messages (read-only).
    Show {
        /// The store file.
        path: PathBuf,
        /// Print at most this many messages (the latest).
        #[arg(long, default_value_t = 20)]
        last: usize,
    },
}

/// Runs a `fix` command.
///
/// # Errors
/// Reading the store.
pub fn run(command: Command, output: Output) -> anyhow::Result<Status> {
    match command {
        Command::Store {
            command: StoreCommand::Show { path, last },
        } => store_show(&path, last, output),
    }
}

#[allow(clippy::print_stdout)]
fn store_show(path: &Path, last: usize, output: Output) -> anyhow::Result<Status> {
    let (next_sender, next_target, clordid, records) =
        tickwire_fix::store::Store::read_records(path)
            .with_context(|| format!("reading store {}", path.display()))?;
    let shown = records.iter().rev().take(last).rev();
    if output == Output::Json {
        super::print_json(&serde_json::json!({
            "store": path.display().to_string(),
            "next_sender_seq": next_sender,
            "next_target_seq": next_target,
            "clordid_mark": clordid,
            "messages": records.len(),
            "last": shown
                .map(|r| serde_json::json!({
                    "seq": r.seq,
                    "message": String::from_utf8_lossy(&r.bytes).replace('\x01', "|"),
                }))
                .collect::<Vec<_>>(),
        }))?;
        return Ok(Status::Ok);
    }
    println!("store            {}", path.display());
    println!("next sender seq  {next_sender}");
    println!("next target seq  {next_target}");
    println!("ClOrdID mark     {clordid}");
    println!("messages         {}", records.len());
    for r in shown {
        println!(
            "{:>8}  {}",
            r.seq,
            String::from_utf8_lossy(&r.bytes).replace('\x01', "|")
        );
    }
    Ok(Status::Ok)
}
