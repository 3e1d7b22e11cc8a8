//! `tickwire hw …`: hardware profiles.
//!
//! | verb | does | exit |
//! |---|---|---|
//! | `verify --profile P [--host-root DIR]` | every check passed / failed (current vs expected) / skipped, one verdict | 0 passed, 1 failed |
//! | `apply --profile P [--host-root DIR]` | run-time settings (root only); prints the kernel command line the profile needs | 0, 1 if a setting failed, 3 without root |
//! | `show [--host-root DIR]` | cores, NUMA, NICs and drivers, hugepages, mounts | 0 |
//! | `profiles` | the shipped profiles | 0 |
//! | `eal-args --profile P` | the DPDK EAL argument vector the profile implies | 0 |
//!
//! `P` is a shipped profile name or a TOML file; an unknown or invalid profile exits 2, a
//! `--host-root` that does not exist exits 3.

use std::path::PathBuf;

use clap::Subcommand;
use tickwire_hw::apply::{self, ActionOutcome, ApplyError};
use tickwire_hw::verify::{self, Outcome, Verdict};
use tickwire_hw::{shipped, HostRoot, Profile};

use super::{environment, print_json, usage, Output, Status};

/// `tickwire hw` verbs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check this host (or a copied tree) against a profile.
    Verify {
        /// Shipped profile name or path to a profile TOML file.
        #[arg(long)]
        profile: String,
        /// Root of the procfs/sysfs tree to read.
        #[arg(long, default_value = "/")]
        host_root: PathBuf,
    },
    /// Apply the run-time part of a profile (root only); print the kernel command line it needs.
    Apply {
        /// Shipped profile name or path to a profile TOML file.
        #[arg(long)]
        profile: String,
        /// Root of the procfs/sysfs tree to write.
        #[arg(long, default_value = "/")]
        host_root: PathBuf,
    },
    /// Show the host: cores, NUMA, NICs and drivers, hugepages, mounts.
    Show {
        /// Root of the procfs/sysfs tree to read.
        #[arg(long, default_value = "/")]
        host_root: PathBuf,
    },
    /// List the shipped profiles.
    Profiles,
    /// Print the DPDK EAL arguments a profile implies.
    EalArgs {
        /// Shipped profile name or path to a profile TOML file.
        #[arg(long)]
        profile: String,
    },
}

/// Runs an `hw` command.
///
/// # Errors
/// Usage errors for a bad profile, environment errors for a missing host root or no root
/// privileges; output errors.
pub fn run(command: Command, output: Output) -> anyhow::Result<Status> {
    match command {
        Command::Verify { profile, host_root } => {
            verify_cmd(&load(&profile)?, &host(host_root)?, output)
        }
        Command::Apply { profile, host_root } => apply_cmd(
            &load(&profile)?,
            &host(host_root)?,
            nix::unistd::geteuid().as_raw(),
            output,
        ),
        Command::Show { host_root } => show_cmd(&host(host_root)?, output),
        Command::Profiles => profiles_cmd(output),
        Command::EalArgs { profile } => eal_cmd(&load(&profile)?, output),
    }
}

fn load(name: &str) -> anyhow::Result<Profile> {
    Profile::load(name).map_err(usage)
}

fn host(root: PathBuf) -> anyhow::Result<HostRoot> {
    if !root.is_dir() {
        return Err(environment(format!(
            "host root {} is not a directory",
            root.display()
        )));
    }
    Ok(HostRoot::new(root))
}

#[allow(clippy::print_stdout)]
fn verify_cmd(profile: &Profile, host: &HostRoot, output: Output) -> anyhow::Result<Status> {
    let report = verify::verify(profile, host);
    if output == Output::Json {
        print_json(&report)?;
    } else {
        println!(
            "tickwire hw verify: profile {} on {}",
            report.profile, report.host_root
        );
        let width = report.checks.iter().map(|c| c.key.len()).max().unwrap_or(0);
        for c in &report.checks {
            match &c.outcome {
                Outcome::Passed { current } => {
                    println!("  passed   {:<width$}  {current}", c.key);
                }
                Outcome::Failed { current, expected } => println!(
                    "  FAILED   {:<width$}  current: {current}; expected: {expected}",
                    c.key
                ),
                Outcome::Skipped { reason } => {
                    println!("  skipped  {:<width$}  {reason}", c.key);
                }
            }
        }
        println!(
            "verdict: {} ({} passed, {} failed, {} skipped)",
            match report.verdict {
                Verdict::Passed => "PASSED",
                Verdict::Failed => "FAILED",
            },
            report.passed,
            report.failed,
            report.skipped
        );
    }
    Ok(match report.verdict {
        Verdict::Passed => Status::Ok,
        Verdict::Failed => Status::CheckFailed,
    })
}

/// `hw apply` with the effective uid passed in (so the refusal is testable as root).
///
/// # Errors
/// An environment error (exit 3) naming the uid and the kernel command line when `euid` is
/// not 0.
#[allow(clippy::print_stdout)]
pub fn apply_cmd(
    profile: &Profile,
    host: &HostRoot,
    euid: u32,
    output: Output,
) -> anyhow::Result<Status> {
    let report = match apply::apply(profile, host, euid) {
        Ok(r) => r,
        Err(e @ ApplyError::NotRoot { .. }) => {
            let line = apply::kernel_cmdline(profile).join(" ");
            return Err(environment(format!(
                "{e}; nothing was changed. Run it as root (sudo tickwire hw apply --profile {}).{}",
                profile.name,
                if line.is_empty() {
                    String::new()
                } else {
                    format!(" The kernel command line this profile needs (add it to your bootloader yourself): {line}")
                }
            )));
        }
    };
    if output == Output::Json {
        print_json(&report)?;
    } else {
        println!(
            "tickwire hw apply: profile {} on {}",
            report.profile,
            host.root().display()
        );
        let width = report
            .actions
            .iter()
            .map(|a| a.key.len())
            .max()
            .unwrap_or(0);
        for a in &report.actions {
            match &a.outcome {
                ActionOutcome::Changed { from, to } => {
                    println!("  changed      {:<width$}  {from} -> {to}", a.key);
                }
                ActionOutcome::Unchanged { value } => {
                    println!("  unchanged    {:<width$}  {value}", a.key);
                }
                ActionOutcome::Failed { error } => {
                    println!("  FAILED       {:<width$}  {error}", a.key);
                }
                ActionOutcome::NotApplied { reason } => {
                    println!("  not applied  {:<width$}  {reason}", a.key);
                }
            }
        }
        if report.kernel_cmdline.is_empty() {
            println!("kernel command line: this profile needs no boot parameters");
        } else {
            println!(
                "kernel command line this profile needs (tickwire never edits the bootloader):\n  {}",
                report.kernel_cmdline.join(" ")
            );
            if report.cmdline_missing.is_empty() {
                println!("the running kernel was booted with all of them");
            } else {
                println!(
                    "missing from the running kernel (reboot needed): {}",
                    report.cmdline_missing.join(" ")
                );
            }
        }
        println!("settings written here do not survive a reboot");
    }
    Ok(if report.any_failed() {
        Status::CheckFailed
    } else {
        Status::Ok
    })
}

#[allow(clippy::print_stdout)]
fn show_cmd(host: &HostRoot, output: Output) -> anyhow::Result<Status> {
    let s = tickwire_hw::show::show(host);
    if output == Output::Json {
        print_json(&s)?;
        return Ok(Status::Ok);
    }
    let opt = |v: Option<String>| v.unwrap_or_else(|| "unknown".into());
    println!("host root     {}", host.root().display());
    println!("cpu           {}", opt(s.cpu_model.clone()));
    println!(
        "online        {}",
        opt(s.online.as_ref().map(ToString::to_string))
    );
    println!(
        "isolated      {}",
        opt(s.isolated.as_ref().map(|l| if l.is_empty() {
            "none".into()
        } else {
            l.to_string()
        }))
    );
    for n in &s.numa {
        println!("numa node{:<4} cpus {}", n.node, n.cpus);
    }
    if s.governors.is_empty() {
        println!("governor      no cpufreq");
    } else {
        for (cpu, g) in &s.governors {
            println!("governor      cpu{cpu} {g}");
        }
    }
    for n in &s.nics {
        println!(
            "nic           {:<12} driver {:<14} bus {:<14} numa {:<4} irqs {}",
            n.name,
            n.driver.as_deref().unwrap_or("-"),
            n.bus_id.as_deref().unwrap_or("-"),
            n.numa_node.map_or("-".into(), |v| v.to_string()),
            n.irqs
        );
    }
    for p in &s.hugepages {
        println!(
            "hugepages     {:>8} kB  total {:<6} free {}",
            p.size_kib, p.total, p.free
        );
    }
    if s.hugetlbfs.is_empty() {
        println!("hugetlbfs     not mounted");
    }
    for m in &s.hugetlbfs {
        println!(
            "hugetlbfs     {} (pagesize={})",
            m.path,
            m.pagesize.as_deref().unwrap_or("default")
        );
    }
    println!("thp           {}", opt(s.thp.clone()));
    println!("swappiness    {}", opt(s.swappiness.map(|v| v.to_string())));
    println!(
        "irqbalance    {}",
        match s.irqbalance_running {
            Some(true) => "running",
            Some(false) => "not running",
            None => "unknown",
        }
    );
    println!("cmdline       {}", opt(s.cmdline.clone()));
    Ok(Status::Ok)
}

#[allow(clippy::print_stdout)]
fn profiles_cmd(output: Output) -> anyhow::Result<Status> {
    let mut list = Vec::new();
    for name in shipped::NAMES {
        // Shipped profiles are validated by tests; a failure here is a build defect.
        let p = Profile::load(name).map_err(|e| anyhow::anyhow!("shipped profile {name}: {e}"))?;
        list.push(p);
    }
    if output == Output::Json {
        print_json(
            &list
                .iter()
                .map(|p| serde_json::json!({ "name": p.name, "description": p.description }))
                .collect::<Vec<_>>(),
        )?;
    } else {
        for p in &list {
            println!("{:<16} {}", p.name, p.description);
        }
    }
    Ok(Status::Ok)
}

#[allow(clippy::print_stdout)]
fn eal_cmd(profile: &Profile, output: Output) -> anyhow::Result<Status> {
    let args = tickwire_hw::eal::args(profile);
    if output == Output::Json {
        print_json(&args)?;
    } else {
        println!(
            "{}",
            args.iter()
                .map(|a| shell_word(a))
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    Ok(Status::Ok)
}

/// `s` quoted for a POSIX shell when it needs it.
fn shell_word(s: &str) -> String {
    let safe = |b: u8| b.is_ascii_alphanumeric() || b"-_=,./:@%+".contains(&b);
    if !s.is_empty() && s.bytes().all(safe) {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn apply_refuses_a_non_root_user_with_the_kernel_command_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = Profile::load("mlx5-colo").unwrap();
        let e = apply_cmd(&p, &HostRoot::new(dir.path()), 1000, Output::Text).unwrap_err();
        assert_eq!(super::super::exit_code(&e), 3);
        let msg = format!("{e:#}");
        assert!(msg.contains("needs root (effective uid is 1000)"), "{msg}");
        assert!(msg.contains("isolcpus=managed_irq,domain,4-7"), "{msg}");
        assert!(msg.contains("nothing was changed"), "{msg}");
    }

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(shell_word("--vdev"), "--vdev");
        assert_eq!(shell_word("net_tap0,iface=tw0"), "net_tap0,iface=tw0");
        assert_eq!(shell_word("a b"), "'a b'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
    }
}
