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
mod daemon;
mod demo;

/// Kernel-bypass tick-to-trade appliance for Kraken FIX.
#[derive(Debug, Parser)]
#[command(name = "tickwire", version, about)]
struct Cli {
    /// Output format: human-readable text or one JSON document on stdout.
    #[arg(long, global = true, value_enum, default_value_t = cli::Output::Text)]
    output: cli::Output,
    #[command(flatten)]
    conn: cli::admin::Conn,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the embedded demo: a client and a venue session in one process, ticks in, orders out.
    Demo(demo::Args),
    /// Tick-to-trade through tickwire and the kernel baselines, in one run.
    Bench(bench_cmd::Args),
    /// Run the appliance daemon from a configuration file (systemd Type=notify).
    Run(daemon::Args),
    /// A running daemon at a glance: engine, sessions, counters.
    Status,
    /// FIX sessions of the running daemon.
    Session {
        #[command(subcommand)]
        command: cli::admin::Session,
    },
    /// Venue addresses allowed through the dataplane filter (applied live).
    Whitelist {
        #[command(subcommand)]
        command: cli::admin::Whitelist,
    },
    /// Pre-trade risk limits.
    Risk {
        #[command(subcommand)]
        command: cli::admin::Risk,
    },
    /// Open orders.
    Order {
        #[command(subcommand)]
        command: cli::admin::Order,
    },
    /// Arm an order: when the condition holds on a book update, send it.
    Arm(cli::admin::Arm),
    /// Disarm an armed order.
    Disarm {
        /// Its id (`tickwire armed`).
        id: u32,
    },
    /// The armed-order table.
    Armed,
    /// Kill switch: block new orders, mass-cancel, optionally log out.
    Kill,
    /// Re-arm after a kill.
    Unkill,
    /// Counters and latency quantiles of the running daemon.
    Metrics,
    /// Session message logs.
    Log {
        #[command(subcommand)]
        command: cli::admin::Log,
    },
    /// FIX round trips (TestRequest → Heartbeat) on a live session, against Kraken's tiers.
    Probe {
        /// Session name.
        name: String,
        /// Round trips.
        #[arg(long, default_value_t = 100)]
        count: u32,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) on stdout: `tickwire man > tickwire.1`.
    Man,
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
    /// Run the Kraken-UAT-like venue simulator (TLS 1.3, Kraken's ports) until Ctrl-C.
    Venue(cli::venue::Args),
}

/// Each x86-64-v3 extension the code may be compiled to use (`.cargo/config.toml`): its name,
/// whether this build uses it, and whether this CPU has it. One list, as both `cfg!` and the
/// run-time test take the name as a literal.
fn cpu_features() -> Vec<(&'static str, bool, bool)> {
    #[allow(unused_mut)] // empty off x86_64
    let mut features = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        macro_rules! features {
            ($($feature:tt),*) => {
                $(features.push((
                    $feature,
                    cfg!(target_feature = $feature),
                    std::arch::is_x86_feature_detected!($feature),
                ));)*
            };
        }
        features!("avx2", "bmi1", "bmi2", "lzcnt", "fma", "movbe");
    }
    features
}

/// The features of `features` ([`cpu_features`]) the build uses and the CPU lacks.
fn missing_cpu_features(features: &[(&'static str, bool, bool)]) -> Vec<&'static str> {
    features
        .iter()
        .filter(|&&(_, used, present)| used && !present)
        .map(|&(name, ..)| name)
        .collect()
}

fn main() -> ExitCode {
    // Before anything else: a build for x86-64-v3 on an older CPU would otherwise die on the
    // first instruction it lacks, with SIGILL and no word of why.
    let missing = missing_cpu_features(&cpu_features());
    if !missing.is_empty() {
        eprintln!(
            "tickwire: this build uses {}, which this CPU does not have; build for it with \
             RUSTFLAGS=\"-C target-cpu=x86-64\" cargo build --release",
            missing.join(", ")
        );
        return ExitCode::from(3);
    }
    // clap exits with 2 on usage errors and 0 for --help / --version.
    let cli = Cli::parse();
    let output = cli.output;
    let conn = cli.conn;
    let daemon = |c| cli::admin::run(c, &conn, output);
    use cli::admin::Command as D;
    let result = match cli.command {
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut cmd, "tickwire", &mut script);
            std::io::Write::write_all(&mut std::io::stdout(), &script)
                .map(|()| cli::Status::Ok)
                .map_err(anyhow::Error::from)
        }
        Command::Man => clap_mangen::Man::new(<Cli as clap::CommandFactory>::command())
            .render(&mut std::io::stdout())
            .map(|()| cli::Status::Ok)
            .map_err(anyhow::Error::from),
        Command::Run(args) => daemon::run(&args, output),
        Command::Status => daemon(D::Status),
        Command::Session { command } => daemon(D::Session(command)),
        Command::Whitelist { command } => daemon(D::Whitelist(command)),
        Command::Risk { command } => daemon(D::Risk(command)),
        Command::Order { command } => daemon(D::Order(command)),
        Command::Arm(a) => daemon(D::Arm(a)),
        Command::Disarm { id } => daemon(D::Disarm(id)),
        Command::Armed => daemon(D::Armed),
        Command::Kill => daemon(D::Kill),
        Command::Unkill => daemon(D::Unkill),
        Command::Metrics => daemon(D::Metrics),
        Command::Log { command } => daemon(D::Log(command)),
        Command::Probe { name, count } => daemon(D::Probe { name, count }),
        Command::Demo(args) => demo::run(&args).map(|()| cli::Status::Ok),
        Command::Bench(args) => bench_cmd::run(&args, output).map(|()| cli::Status::Ok),
        Command::Config { command } => cli::config::run(command, output),
        Command::Fix { command } => cli::fix::run(command, output),
        Command::Hw { command } => cli::hw::run(command, output),
        Command::Venue(args) => cli::venue::run(&args, output),
    };
    match result {
        Ok(status) => ExitCode::from(status.code()),
        Err(e) => {
            eprintln!("tickwire: {e:#}");
            ExitCode::from(cli::exit_code(&e))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_host_has_every_feature_the_build_uses() {
        assert_eq!(missing_cpu_features(&cpu_features()), Vec::<&str>::new());
    }

    #[test]
    fn the_shipped_build_targets_x86_64_v3_and_names_what_a_cpu_lacks() {
        let lacking = |lacks: &dyn Fn(&str) -> bool| {
            let features: Vec<_> = cpu_features()
                .into_iter()
                .map(|(name, used, _)| (name, used, !lacks(name)))
                .collect();
            missing_cpu_features(&features)
        };
        // `.cargo/config.toml` applies to the workspace unless RUSTFLAGS replaces it.
        if std::env::var_os("RUSTFLAGS").is_none() && cfg!(target_arch = "x86_64") {
            assert_eq!(
                lacking(&|_| true),
                ["avx2", "bmi1", "bmi2", "lzcnt", "fma", "movbe"]
            );
        }
        assert_eq!(
            lacking(&|f| f == "bmi2"),
            if cfg!(target_feature = "bmi2") {
                vec!["bmi2"]
            } else {
                vec![]
            }
        );
    }
}
