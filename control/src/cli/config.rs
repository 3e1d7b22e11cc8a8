//! `tickwire config …`: validate a configuration without starting anything, show it resolved,
//! print the annotated example.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use tickwire_control::config::{self, Config};

use super::{Output, Status};

/// `tickwire config` verbs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate a configuration file: syntax, keys, preset, rules, and that every referenced
    /// secret is readable (files must be 0600). Starts nothing; prints no secret.
    Check {
        /// The configuration file.
        file: PathBuf,
        /// Do not read the referenced secrets (for checking a file on another machine).
        #[arg(long)]
        no_secrets: bool,
    },
    /// Print the configuration with the preset applied: sessions, endpoints, limits.
    Show {
        /// The configuration file.
        file: PathBuf,
    },
    /// Print an annotated example for Kraken UAT.
    Example,
}

/// Runs a `config` command.
///
/// # Errors
/// Configuration errors (exit 2), naming the key at fault.
pub fn run(command: Command, output: Output) -> anyhow::Result<Status> {
    match command {
        Command::Check { file, no_secrets } => check(&file, no_secrets, output),
        Command::Show { file } => show(&file, output),
        Command::Example => {
            #[allow(clippy::print_stdout)]
            {
                print!("{}", config::EXAMPLE);
            }
            Ok(Status::Ok)
        }
    }
}

fn load(file: &Path) -> anyhow::Result<Config> {
    Config::load(file).map_err(|e| super::usage(format!("{}: {e}", file.display())))
}

#[allow(clippy::print_stdout)]
fn check(file: &Path, no_secrets: bool, output: Output) -> anyhow::Result<Status> {
    let cfg = load(file)?;
    if !no_secrets {
        cfg.load_secrets()
            .map_err(|e| super::usage(format!("{}: {e}", file.display())))?;
    }
    if output == Output::Json {
        super::print_json(&serde_json::json!({
            "file": file.display().to_string(),
            "valid": true,
            "sessions": cfg.sessions.len(),
            "secrets_checked": !no_secrets,
        }))?;
    } else {
        println!(
            "{}: OK ({} session(s){}{})",
            file.display(),
            cfg.sessions.len(),
            cfg.preset
                .map(|p| format!(", preset {}", p.as_str()))
                .unwrap_or_default(),
            if no_secrets {
                ", secrets not read"
            } else {
                ", secrets readable"
            }
        );
        if cfg.tls.dangerous_skip_verification_uat_only {
            println!("warning: tls.dangerous_skip_verification_uat_only is on: the venue's certificate is NOT verified");
        }
    }
    Ok(Status::Ok)
}

#[allow(clippy::print_stdout)]
fn show(file: &Path, output: Output) -> anyhow::Result<Status> {
    let cfg = load(file)?;
    let sessions: Vec<_> = cfg
        .sessions
        .iter()
        .zip(&cfg.endpoints)
        .map(|(s, e)| {
            serde_json::json!({
                "name": s.name,
                "kind": s.kind.as_str(),
                "SenderCompID": s.sender_comp_id,
                "TargetCompID": s.target_comp_id,
                "hosts": e.hosts,
                "port": e.port,
                "HeartBtInt": s.heart_bt_int,
                "ResetOnLogon": s.reset_on_logon,
                "CancelOnDisconnect": s.cancel_on_disconnect,
                "FileStorePath": s.file_store_path.display().to_string(),
                "Credentials": s.credentials,
            })
        })
        .collect();
    if output == Output::Json {
        super::print_json(&serde_json::json!({
            "appliance": cfg.appliance.name,
            "preset": cfg.preset.map(|p| p.as_str()),
            "address": format!("{}/{}", cfg.address.0, cfg.address.1),
            "profile": cfg.appliance.profile,
            "sessions": sessions,
            "allowlist": cfg.allowlist,
            "armed": cfg.armed.len(),
            "admin_socket": cfg.admin.socket.display().to_string(),
        }))?;
        return Ok(Status::Ok);
    }
    println!(
        "appliance {} at {}/{} (profile {}){}",
        cfg.appliance.name,
        cfg.address.0,
        cfg.address.1,
        cfg.appliance.profile,
        cfg.preset
            .map(|p| format!(", preset {}", p.as_str()))
            .unwrap_or_default()
    );
    println!(
        "{:<12} {:<20} {:<16} {:<16} endpoint",
        "session", "kind", "SenderCompID", "TargetCompID"
    );
    for (s, e) in cfg.sessions.iter().zip(&cfg.endpoints) {
        println!(
            "{:<12} {:<20} {:<16} {:<16} {}:{}",
            s.name,
            s.kind.as_str(),
            s.sender_comp_id,
            s.target_comp_id.as_deref().unwrap_or(""),
            e.hosts.join("|"),
            e.port
        );
    }
    println!("allowlist    {:?}", cfg.allowlist);
    println!("armed orders {}", cfg.armed.len());
    println!("admin socket {}", cfg.admin.socket.display());
    Ok(Status::Ok)
}
