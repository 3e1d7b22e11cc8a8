//! `apply`: set what can safely change at run time, and say what needs a reboot.
//!
//! Applied (root only, each reported as one [`Action`]): the hugepage reservation, the
//! hugetlbfs mount (live root only), IRQ affinity (all movable IRQs to the housekeeping cores,
//! the default for new IRQs, the NIC's IRQs to `nic.irq_affinity`), the cpufreq governor of the
//! pinned cores, transparent hugepages and `vm.swappiness`. Never touched: the bootloader
//! (the needed kernel command line is returned in [`ApplyReport::kernel_cmdline`] for the
//! operator to install), services (a running irqbalance is reported, not stopped), and
//! anything not named in the profile. Settings written here do not survive a reboot.
//!
//! Call order: [`require_root`] (or let [`apply`] do it) → [`apply`] → print the report.

use std::fmt;
use std::io::{self, Write as _};

use serde::Serialize;

use crate::cpulist::CpuList;
use crate::host::{cmdline_value, HostRoot};
use crate::profile::{PageSize, Profile};

/// Why `apply` refused to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyError {
    /// The effective user is not root.
    NotRoot {
        /// The effective user id.
        euid: u32,
    },
}

impl fmt::Display for ApplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotRoot { euid } => write!(
                f,
                "applying a hardware profile writes /proc and /sys and needs root (effective uid is {euid})"
            ),
        }
    }
}

impl std::error::Error for ApplyError {}

/// What happened to one setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ActionOutcome {
    /// Written and read back.
    Changed {
        /// Before.
        from: String,
        /// After.
        to: String,
    },
    /// Already as the profile wants.
    Unchanged {
        /// The value.
        value: String,
    },
    /// Tried and failed (partly or wholly).
    Failed {
        /// What went wrong.
        error: String,
    },
    /// Deliberately not done, and why.
    NotApplied {
        /// Why, and what to do instead.
        reason: String,
    },
}

/// One setting `apply` handled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Action {
    /// The profile key (as in `verify`).
    pub key: &'static str,
    /// What happened.
    #[serde(flatten)]
    pub outcome: ActionOutcome,
}

/// What `apply` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApplyReport {
    /// Profile name.
    pub profile: String,
    /// One entry per run-time setting the profile names.
    pub actions: Vec<Action>,
    /// Kernel command line parameters the profile needs at boot.
    pub kernel_cmdline: Vec<String>,
    /// Those of them the running kernel was not booted with.
    pub cmdline_missing: Vec<String>,
}

impl ApplyReport {
    /// Whether any action failed.
    pub fn any_failed(&self) -> bool {
        self.actions
            .iter()
            .any(|a| matches!(a.outcome, ActionOutcome::Failed { .. }))
    }
}

/// Refuses unless `euid` is root.
///
/// # Errors
/// [`ApplyError::NotRoot`] for any other user.
pub fn require_root(euid: u32) -> Result<(), ApplyError> {
    if euid == 0 {
        Ok(())
    } else {
        Err(ApplyError::NotRoot { euid })
    }
}

/// The kernel command line parameters `profile` needs at boot: the ones that cannot be set at
/// run time (CPU isolation, C-state limits, 1 GiB hugepages). THP and IRQ affinity are
/// applied at run time instead.
pub fn kernel_cmdline(profile: &Profile) -> Vec<String> {
    let k = &profile.kernel;
    let iso = &profile.cores.isolated;
    let mut v = Vec::new();
    if k.isolcpus {
        v.push(format!("isolcpus=managed_irq,domain,{iso}"));
    }
    if k.nohz_full {
        v.push(format!("nohz_full={iso}"));
    }
    if k.rcu_nocbs {
        v.push(format!("rcu_nocbs={iso}"));
    }
    if let Some(c) = k.max_cstate {
        v.push(format!("intel_idle.max_cstate={c}"));
        v.push(format!("processor.max_cstate={c}"));
    }
    if let Some(h) = &profile.hugepages {
        // 1 GiB pages can rarely be found contiguous after boot.
        if h.size == PageSize::Gib1 {
            v.push("default_hugepagesz=1G".into());
            v.push("hugepagesz=1G".into());
            v.push(format!("hugepages={}", h.count));
        }
    }
    v
}

/// Parameters of `needed` the running kernel's command line lacks (same key and value).
pub fn missing_cmdline(needed: &[String], cmdline: &str) -> Vec<String> {
    needed
        .iter()
        .filter(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p.as_str(), ""));
            cmdline_value(cmdline, k).as_deref() != Some(v)
        })
        .cloned()
        .collect()
}

fn write(host: &HostRoot, rel: impl AsRef<std::path::Path>, value: &str) -> io::Result<()> {
    let path = host.path(rel);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&path)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    f.write_all(value.as_bytes())
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}

fn failed(e: impl fmt::Display) -> ActionOutcome {
    ActionOutcome::Failed {
        error: e.to_string(),
    }
}

/// Applies the run-time part of `profile` to `host` as user `euid`.
///
/// # Errors
/// [`ApplyError::NotRoot`] unless `euid` is 0; nothing is written then. Failures of single
/// settings are reported in the returned actions, not as an error.
pub fn apply(profile: &Profile, host: &HostRoot, euid: u32) -> Result<ApplyReport, ApplyError> {
    require_root(euid)?;
    let mut actions = Vec::new();
    let mut act = |key, outcome| actions.push(Action { key, outcome });
    if let Some(hp) = &profile.hugepages {
        act("hugepages.count", hugepages(profile, host));
        act("hugepages.mount", mount(hp, host));
    }
    if let Some(t) = profile.kernel.thp {
        act(
            "kernel.thp",
            setting(
                host,
                "/sys/kernel/mm/transparent_hugepage/enabled",
                t.as_str(),
                host.thp(),
            ),
        );
    }
    if let Some(s) = profile.kernel.swappiness {
        act(
            "kernel.swappiness",
            setting(
                host,
                "/proc/sys/vm/swappiness",
                &s.to_string(),
                host.swappiness().map(|v| v.to_string()),
            ),
        );
    }
    if let Some(g) = &profile.kernel.governor {
        act("kernel.governor", governor(profile, host, g));
    }
    if profile.kernel.irqbalance_off {
        let outcome = match host.processes_named("irqbalance") {
            Ok(p) if p.is_empty() => ActionOutcome::Unchanged {
                value: "irqbalance not running".into(),
            },
            Ok(_) => ActionOutcome::NotApplied {
                reason: "irqbalance is running and will undo IRQ steering; stop it yourself \
                         (systemctl disable --now irqbalance): tickwire does not manage services"
                    .into(),
            },
            Err(e) => failed(e),
        };
        act("kernel.irqbalance_off", outcome);
    }
    let nic_irqs = nic_irqs(profile, host);
    if let Some(want) = &profile.nic.irq_affinity {
        act("nic.irq_affinity", steer(host, &nic_irqs, want));
    }
    if profile.kernel.irqs_on_housekeeping {
        let hk = &profile.cores.housekeeping;
        let outcome = match host.irqs() {
            Ok(all) => {
                let rest: Vec<u32> = all.into_iter().filter(|i| !nic_irqs.contains(i)).collect();
                steer(host, &rest, hk)
            }
            Err(e) => failed(e),
        };
        act("kernel.irqs_on_housekeeping", outcome);
        let real = CpuList::first(profile.cores.count);
        let outcome = match host.default_irq_affinity() {
            Ok(m) if hk.is_superset(&m.intersection(&real)) => ActionOutcome::Unchanged {
                value: m.intersection(&real).to_string(),
            },
            Ok(m) => match write(host, "/proc/irq/default_smp_affinity", &hk.to_mask()) {
                Ok(()) => ActionOutcome::Changed {
                    from: m.intersection(&real).to_string(),
                    to: hk.to_string(),
                },
                Err(e) => failed(e),
            },
            Err(e) => failed(e),
        };
        act("kernel.irq_default_affinity", outcome);
    }
    let kernel_cmdline = kernel_cmdline(profile);
    let cmdline_missing = match host.cmdline() {
        Ok(c) => missing_cmdline(&kernel_cmdline, &c),
        Err(_) => kernel_cmdline.clone(),
    };
    Ok(ApplyReport {
        profile: profile.name.clone(),
        actions,
        kernel_cmdline,
        cmdline_missing,
    })
}

fn setting(host: &HostRoot, rel: &str, want: &str, current: io::Result<String>) -> ActionOutcome {
    match current {
        Ok(c) if c == want => ActionOutcome::Unchanged { value: c },
        Ok(c) => match write(host, rel, want) {
            Ok(()) => ActionOutcome::Changed {
                from: c,
                to: want.to_owned(),
            },
            Err(e) => failed(e),
        },
        Err(e) => failed(e),
    }
}

fn hugepages(profile: &Profile, host: &HostRoot) -> ActionOutcome {
    let Some(hp) = &profile.hugepages else {
        return ActionOutcome::NotApplied {
            reason: "no hugepages in the profile".into(),
        };
    };
    let kib = hp.size.kib();
    let node = profile
        .cores
        .numa_node
        .filter(|n| host.exists(host.hugepage_dir(kib, Some(*n))));
    let want = u64::from(hp.count);
    let have = match host.hugepages_total(kib, node) {
        Ok(n) => n,
        Err(e) => return failed(e),
    };
    if have >= want {
        return ActionOutcome::Unchanged {
            value: format!("{have} x {}", hp.size.label()),
        };
    }
    let file = host.hugepage_dir(kib, node).join("nr_hugepages");
    if let Err(e) = write(host, &file, &want.to_string()) {
        return failed(e);
    }
    match host.hugepages_total(kib, node) {
        Ok(n) if n >= want => ActionOutcome::Changed {
            from: format!("{have} x {}", hp.size.label()),
            to: format!("{n} x {}", hp.size.label()),
        },
        Ok(n) => failed(format!(
            "asked for {want} x {}, the kernel reserved {n} (memory too fragmented: reserve them at boot)",
            hp.size.label()
        )),
        Err(e) => failed(e),
    }
}

fn mount(hp: &crate::profile::Hugepages, host: &HostRoot) -> ActionOutcome {
    let mounted = host.hugetlbfs_mounts().map(|ms| {
        ms.into_iter()
            .find(|m| std::path::Path::new(&m.path) == hp.mount)
    });
    match mounted {
        Err(e) => failed(e),
        Ok(Some(m)) => ActionOutcome::Unchanged {
            value: format!(
                "hugetlbfs at {} (pagesize={})",
                m.path,
                m.pagesize.as_deref().unwrap_or("default")
            ),
        },
        Ok(None) if !host.is_live() => ActionOutcome::NotApplied {
            reason: format!(
                "mounting only happens on the live root: mount -t hugetlbfs -o pagesize={} nodev {}",
                hp.size.label(),
                hp.mount.display()
            ),
        },
        Ok(None) => {
            if let Err(e) = std::fs::create_dir_all(&hp.mount) {
                return failed(format!("creating {}: {e}", hp.mount.display()));
            }
            let opts = format!("pagesize={}", hp.size.label());
            match nix::mount::mount(
                Some("nodev"),
                &hp.mount,
                Some("hugetlbfs"),
                nix::mount::MsFlags::empty(),
                Some(opts.as_str()),
            ) {
                Ok(()) => ActionOutcome::Changed {
                    from: "not mounted".into(),
                    to: format!("hugetlbfs {opts} at {}", hp.mount.display()),
                },
                Err(e) => failed(format!("mount hugetlbfs at {}: {e}", hp.mount.display())),
            }
        }
    }
}

fn governor(profile: &Profile, host: &HostRoot, want: &str) -> ActionOutcome {
    let mut changed = Vec::new();
    let mut errors = Vec::new();
    let mut seen = 0;
    for cpu in profile.pinned_cores().iter() {
        match host.governor(cpu) {
            Ok(g) if g == want => seen += 1,
            Ok(g) => {
                seen += 1;
                let rel = format!("/sys/devices/system/cpu/cpu{cpu}/cpufreq/scaling_governor");
                match write(host, &rel, want) {
                    Ok(()) => changed.push(format!("cpu{cpu} {g}")),
                    Err(e) => errors.push(e.to_string()),
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => errors.push(e.to_string()),
        }
    }
    if !errors.is_empty() {
        failed(errors.join("; "))
    } else if seen == 0 {
        ActionOutcome::NotApplied {
            reason: "no cpufreq on this host (VM or no frequency driver)".into(),
        }
    } else if changed.is_empty() {
        ActionOutcome::Unchanged {
            value: want.to_owned(),
        }
    } else {
        ActionOutcome::Changed {
            from: changed.join(", "),
            to: want.to_owned(),
        }
    }
}

fn nic_irqs(profile: &Profile, host: &HostRoot) -> Vec<u32> {
    if profile.nic.irq_affinity.is_none() {
        return Vec::new();
    }
    let needles: Vec<&str> = [profile.nic.pci.as_deref(), profile.nic.interface.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    host.interrupts()
        .map(|ints| {
            ints.iter()
                .filter(|i| needles.iter().any(|n| i.name.contains(n)))
                .map(|i| i.irq)
                .collect()
        })
        .unwrap_or_default()
}

/// Writes `want` to the affinity of every IRQ in `irqs` not already within it.
fn steer(host: &HostRoot, irqs: &[u32], want: &CpuList) -> ActionOutcome {
    let mut moved = 0usize;
    let mut stuck = Vec::new();
    for &irq in irqs {
        match host.irq_affinity(irq) {
            Ok(a) if want.is_superset(&a) => {}
            Ok(_) => match write(
                host,
                format!("/proc/irq/{irq}/smp_affinity_list"),
                &want.to_string(),
            ) {
                Ok(()) => moved += 1,
                Err(e) => stuck.push(format!("irq {irq}: {}", e.kind())),
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => stuck.push(format!("irq {irq}: {e}")),
        }
    }
    if !stuck.is_empty() {
        let n = stuck.len();
        stuck.truncate(4);
        failed(format!(
            "moved {moved} IRQs to {want}; {n} could not move (kernel-managed or per-CPU): {}",
            stuck.join(", ")
        ))
    } else if moved == 0 {
        ActionOutcome::Unchanged {
            value: format!("{} IRQs on {want}", irqs.len()),
        }
    } else {
        ActionOutcome::Changed {
            from: format!("{moved} IRQs elsewhere"),
            to: format!("on {want}"),
        }
    }
}
