//! `verify`: compare a host with a profile, one entry per check.
//!
//! Every check always produces an entry: [`Outcome::Passed`] (with the value found),
//! [`Outcome::Failed`] (value found vs value expected), or [`Outcome::Skipped`] with the reason
//! (the profile does not ask for it, or the host has nothing to check, e.g. a VM without
//! cpufreq). A source file that should exist but cannot be read is a failure, not a skip, so a
//! wrong `--host-root` cannot pass. The [`Report::verdict`] is `Failed` when any check failed.
//!
//! The checks, by key (the profile key that drives each):
//! `cores.online`, `cores.isolated`, `cores.numa_node`, `hugepages.count`, `hugepages.mount`,
//! `nic.pmd`, `nic.driver`, `nic.interface`, `nic.numa_node`, `nic.irq_affinity`,
//! `kernel.isolcpus`, `kernel.nohz_full`, `kernel.rcu_nocbs`, `kernel.intel_idle.max_cstate`,
//! `kernel.processor.max_cstate`, `kernel.thp`, `kernel.swappiness`, `kernel.governor`,
//! `kernel.irqbalance_off`, `kernel.irqs_on_housekeeping`, `kernel.irq_default_affinity`.

use std::io;

use serde::Serialize;

use crate::cpulist::CpuList;
use crate::host::HostRoot;
use crate::profile::Profile;

/// Every check key, in report order.
pub const CHECKS: [&str; 21] = [
    "cores.online",
    "cores.isolated",
    "cores.numa_node",
    "hugepages.count",
    "hugepages.mount",
    "nic.pmd",
    "nic.driver",
    "nic.interface",
    "nic.numa_node",
    "nic.irq_affinity",
    "kernel.isolcpus",
    "kernel.nohz_full",
    "kernel.rcu_nocbs",
    "kernel.intel_idle.max_cstate",
    "kernel.processor.max_cstate",
    "kernel.thp",
    "kernel.swappiness",
    "kernel.governor",
    "kernel.irqbalance_off",
    "kernel.irqs_on_housekeeping",
    "kernel.irq_default_affinity",
];

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// The host matches.
    Passed {
        /// What was found.
        current: String,
    },
    /// The host does not match.
    Failed {
        /// What was found.
        current: String,
        /// What the profile needs.
        expected: String,
    },
    /// Not checked, and why.
    Skipped {
        /// Why.
        reason: String,
    },
}

/// One check's entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// The check's key (see [`CHECKS`]).
    pub key: &'static str,
    /// The outcome.
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// The overall result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// No check failed.
    Passed,
    /// At least one check failed.
    Failed,
}

/// A verification report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Profile name.
    pub profile: String,
    /// Host root checked.
    pub host_root: String,
    /// One entry per check, in [`CHECKS`] order.
    pub checks: Vec<Check>,
    /// Failed if any check failed.
    pub verdict: Verdict,
    /// Number of passed checks.
    pub passed: usize,
    /// Number of failed checks.
    pub failed: usize,
    /// Number of skipped checks.
    pub skipped: usize,
}

impl Report {
    /// The entry for `key`.
    pub fn check(&self, key: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.key == key)
    }
}

fn pass(current: impl ToString) -> Outcome {
    Outcome::Passed {
        current: current.to_string(),
    }
}

fn fail(current: impl ToString, expected: impl ToString) -> Outcome {
    Outcome::Failed {
        current: current.to_string(),
        expected: expected.to_string(),
    }
}

fn skip(reason: impl ToString) -> Outcome {
    Outcome::Skipped {
        reason: reason.to_string(),
    }
}

fn unreadable(e: &io::Error, expected: impl ToString) -> Outcome {
    fail(format!("unreadable ({e})"), expected)
}

fn show_list(l: &CpuList) -> String {
    if l.is_empty() {
        "none".into()
    } else {
        l.to_string()
    }
}

/// Checks `host` against `profile`.
pub fn verify(profile: &Profile, host: &HostRoot) -> Report {
    let checks: Vec<Check> = CHECKS
        .iter()
        .map(|&key| Check {
            key,
            outcome: run(key, profile, host),
        })
        .collect();
    let count = |f: fn(&Outcome) -> bool| checks.iter().filter(|c| f(&c.outcome)).count();
    let failed = count(|o| matches!(o, Outcome::Failed { .. }));
    Report {
        profile: profile.name.clone(),
        host_root: host.root().display().to_string(),
        passed: count(|o| matches!(o, Outcome::Passed { .. })),
        skipped: count(|o| matches!(o, Outcome::Skipped { .. })),
        failed,
        verdict: if failed == 0 {
            Verdict::Passed
        } else {
            Verdict::Failed
        },
        checks,
    }
}

fn run(key: &str, p: &Profile, h: &HostRoot) -> Outcome {
    match key {
        "cores.online" => cores_online(p, h),
        "cores.isolated" => cores_isolated(p, h),
        "cores.numa_node" => cores_numa(p, h),
        "hugepages.count" => hugepages_count(p, h),
        "hugepages.mount" => hugepages_mount(p, h),
        "nic.pmd" => nic_pmd(p, h),
        "nic.driver" => nic_driver(p, h),
        "nic.interface" => nic_interface(p, h),
        "nic.numa_node" => nic_numa(p, h),
        "nic.irq_affinity" => nic_irqs(p, h),
        "kernel.isolcpus" => cmdline_cpus(p, h, "isolcpus", p.kernel.isolcpus),
        "kernel.nohz_full" => cmdline_cpus(p, h, "nohz_full", p.kernel.nohz_full),
        "kernel.rcu_nocbs" => cmdline_cpus(p, h, "rcu_nocbs", p.kernel.rcu_nocbs),
        "kernel.intel_idle.max_cstate" => max_cstate(p, h, "intel_idle"),
        "kernel.processor.max_cstate" => max_cstate(p, h, "processor"),
        "kernel.thp" => thp(p, h),
        "kernel.swappiness" => swappiness(p, h),
        "kernel.governor" => governor(p, h),
        "kernel.irqbalance_off" => irqbalance(p, h),
        "kernel.irqs_on_housekeeping" => irqs_on_housekeeping(p, h),
        "kernel.irq_default_affinity" => irq_default(p, h),
        _ => skip("unknown check"),
    }
}

fn cores_online(p: &Profile, h: &HostRoot) -> Outcome {
    let need = CpuList::first(p.cores.count);
    match h.online_cpus() {
        Ok(online) if online.is_superset(&need) => pass(online),
        Ok(online) => fail(show_list(&online), format!("{need} online")),
        Err(e) => unreadable(&e, format!("{need} online")),
    }
}

fn cores_isolated(p: &Profile, h: &HostRoot) -> Outcome {
    let want = &p.cores.isolated;
    if want.is_empty() {
        return skip("profile isolates no cores");
    }
    match h.isolated_cpus() {
        Ok(iso) if iso.is_superset(want) => pass(iso),
        Ok(iso) => fail(show_list(&iso), format!("{want} isolated")),
        Err(e) => unreadable(&e, format!("{want} isolated")),
    }
}

fn cores_numa(p: &Profile, h: &HostRoot) -> Outcome {
    let Some(node) = p.cores.numa_node else {
        return skip("profile sets no cores.numa_node");
    };
    let mut wrong = Vec::new();
    let mut found_any = false;
    for cpu in p.pinned_cores().iter() {
        match h.cpu_node(cpu) {
            Ok(n) => {
                found_any = true;
                if n != node {
                    wrong.push(format!("cpu{cpu} on node{n}"));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                wrong.push(if h.exists(format!("/sys/devices/system/cpu/cpu{cpu}")) {
                    format!("cpu{cpu} has no node")
                } else {
                    format!("cpu{cpu} absent")
                })
            }
            Err(e) => return unreadable(&e, format!("node{node}")),
        }
    }
    if !found_any && !h.exists("/sys/devices/system/node") {
        return skip("host exposes no NUMA topology (/sys/devices/system/node absent)");
    }
    if wrong.is_empty() {
        pass(format!("{} on node{node}", p.pinned_cores()))
    } else {
        fail(
            wrong.join(", "),
            format!("{} on node{node}", p.pinned_cores()),
        )
    }
}

fn hugepages_count(p: &Profile, h: &HostRoot) -> Outcome {
    let Some(hp) = &p.hugepages else {
        return skip("eal.no_huge: EAL runs without hugepages");
    };
    let kib = hp.size.kib();
    let node = p
        .cores
        .numa_node
        .filter(|n| h.exists(h.hugepage_dir(kib, Some(*n))));
    let where_ = node.map_or(String::new(), |n| format!(" on node{n}"));
    let expected = format!(">= {} x {}{where_}", hp.count, hp.size.label());
    match h.hugepages_total(kib, node) {
        Ok(n) if n >= u64::from(hp.count) => pass(format!("{n} x {}{where_}", hp.size.label())),
        Ok(n) => fail(format!("{n} x {}{where_}", hp.size.label()), expected),
        Err(e) if e.kind() == io::ErrorKind::NotFound => fail(
            format!(
                "no {} hugepage pool (size not enabled in this kernel/CPU)",
                hp.size.label()
            ),
            expected,
        ),
        Err(e) => unreadable(&e, expected),
    }
}

fn hugepages_mount(p: &Profile, h: &HostRoot) -> Outcome {
    let Some(hp) = &p.hugepages else {
        return skip("eal.no_huge: EAL runs without hugepages");
    };
    let mount = hp.mount.display().to_string();
    let expected = format!("hugetlbfs pagesize={} at {mount}", hp.size.label());
    let mounts = match h.hugetlbfs_mounts() {
        Ok(m) => m,
        Err(e) => return unreadable(&e, expected),
    };
    let default_kib = h.default_hugepage_kib();
    let size_of = |m: &crate::host::HugetlbfsMount| match &m.pagesize {
        Some(s) => s.clone(),
        None => match default_kib {
            Some(2048) => "2M".into(),
            Some(1_048_576) => "1G".into(),
            Some(k) => format!("{k}kB"),
            None => "default".into(),
        },
    };
    match mounts.iter().find(|m| m.path == mount) {
        Some(m) if size_of(m) == hp.size.label() => {
            pass(format!("hugetlbfs pagesize={} at {mount}", size_of(m)))
        }
        Some(m) => fail(
            format!("hugetlbfs pagesize={} at {mount}", size_of(m)),
            expected,
        ),
        None if mounts.is_empty() => fail("no hugetlbfs mounted", expected),
        None => fail(
            format!(
                "hugetlbfs at {}",
                mounts
                    .iter()
                    .map(|m| m.path.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            expected,
        ),
    }
}

fn nic_pmd(p: &Profile, h: &HostRoot) -> Outcome {
    let Some(pmd) = &p.nic.pmd else {
        return skip("profile names no nic.pmd");
    };
    let dirs = h.dpdk_pmd_dirs();
    if dirs.is_empty() {
        return skip("no DPDK plugin directory (usr/lib*/dpdk/pmds-*): DPDK not installed as shared libraries");
    }
    let file = format!("librte_{pmd}.so");
    match dirs.iter().map(|d| d.join(&file)).find(|f| f.exists()) {
        Some(f) => pass(f.strip_prefix(h.root()).unwrap_or(&f).display()),
        None => fail(
            format!(
                "{file} absent from {}",
                dirs.iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            format!("{file} installed"),
        ),
    }
}

fn nic_driver(p: &Profile, h: &HostRoot) -> Outcome {
    let n = &p.nic;
    let Some(pci) = &n.pci else {
        return skip("nic.vdev: a virtual device has no kernel driver binding");
    };
    let Some(driver) = &n.driver else {
        return skip("profile names no nic.driver");
    };
    if !h.pci_exists(pci) {
        return fail(
            format!("no PCI device {pci}"),
            format!("{pci} bound to {driver}"),
        );
    }
    match h.pci_driver(pci) {
        Ok(d) if d == *driver => pass(format!("{pci} bound to {d}")),
        Ok(d) => fail(
            format!("{pci} bound to {d}"),
            format!("{pci} bound to {driver}"),
        ),
        Err(e) if e.kind() == io::ErrorKind::NotFound => fail(
            format!("{pci} bound to no driver"),
            format!("{pci} bound to {driver}"),
        ),
        Err(e) => unreadable(&e, format!("{pci} bound to {driver}")),
    }
}

fn nic_interface(p: &Profile, h: &HostRoot) -> Outcome {
    let Some(iface) = &p.nic.interface else {
        return skip("profile names no nic.interface");
    };
    if !h.exists(format!("/sys/class/net/{iface}")) {
        return fail(
            format!("no interface {iface}"),
            format!("interface {iface} present"),
        );
    }
    match (&p.nic.pci, h.interface_bus_id(iface)) {
        (Some(pci), Ok(bus)) if bus != *pci => fail(
            format!("{iface} is device {bus}"),
            format!("{iface} is device {pci}"),
        ),
        (Some(pci), Err(_)) => fail(
            format!("{iface} has no device"),
            format!("{iface} is device {pci}"),
        ),
        _ => pass(format!("interface {iface} present")),
    }
}

fn nic_numa(p: &Profile, h: &HostRoot) -> Outcome {
    let Some(pci) = &p.nic.pci else {
        return skip("nic.vdev: a virtual device has no NUMA node");
    };
    let Some(node) = p.cores.numa_node else {
        return skip("profile sets no cores.numa_node");
    };
    if !h.pci_exists(pci) {
        return fail(
            format!("no PCI device {pci}"),
            format!("{pci} on node{node}"),
        );
    }
    match h.pci_numa_node(pci) {
        Ok(-1) => skip(format!("the platform reports no NUMA node for {pci}")),
        Ok(n) if n == node as i32 => pass(format!("{pci} on node{n}")),
        Ok(n) => fail(format!("{pci} on node{n}"), format!("{pci} on node{node}")),
        Err(e) => unreadable(&e, format!("{pci} on node{node}")),
    }
}

fn nic_irqs(p: &Profile, h: &HostRoot) -> Outcome {
    let Some(want) = &p.nic.irq_affinity else {
        return skip("profile sets no nic.irq_affinity");
    };
    let expected = format!("NIC IRQs on {want}");
    let ints = match h.interrupts() {
        Ok(i) => i,
        Err(e) => return unreadable(&e, expected),
    };
    let needles: Vec<&str> = [p.nic.pci.as_deref(), p.nic.interface.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    let mine: Vec<u32> = ints
        .iter()
        .filter(|i| needles.iter().any(|n| i.name.contains(n)))
        .map(|i| i.irq)
        .collect();
    if mine.is_empty() {
        return skip(format!(
            "no interrupts of {} in /proc/interrupts (port on vfio-pci, down, or absent)",
            needles.join(" / ")
        ));
    }
    irqs_within(h, &mine, want, expected)
}

fn irqs_within(h: &HostRoot, irqs: &[u32], want: &CpuList, expected: String) -> Outcome {
    let mut off = Vec::new();
    for &irq in irqs {
        match h.irq_affinity(irq) {
            Ok(a) if want.is_superset(&a) => {}
            Ok(a) => off.push(format!("irq {irq} on {}", show_list(&a))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return unreadable(&e, expected),
        }
    }
    if off.is_empty() {
        pass(format!("{} IRQs on {want}", irqs.len()))
    } else {
        let n = off.len();
        off.truncate(4);
        let more = if n > 4 {
            format!(" (+{} more)", n - 4)
        } else {
            String::new()
        };
        fail(format!("{}{more}", off.join(", ")), expected)
    }
}

/// The CPU list of `isolcpus=[flags,]list`, `nohz_full=list` or `rcu_nocbs=list`.
fn param_cpus(value: &str) -> Result<CpuList, crate::cpulist::ParseError> {
    let list: Vec<&str> = value
        .split(',')
        .skip_while(|t| matches!(*t, "nohz" | "domain" | "managed_irq"))
        .collect();
    CpuList::parse(&list.join(","))
}

fn cmdline_cpus(p: &Profile, h: &HostRoot, param: &str, wanted: bool) -> Outcome {
    if !wanted {
        return skip(format!("profile does not require {param}="));
    }
    let want = &p.cores.isolated;
    let expected = format!("{param}= covering {want}");
    match h.cmdline_param(param) {
        Err(e) => unreadable(&e, expected),
        Ok(None) => fail(format!("no {param}= on the kernel command line"), expected),
        Ok(Some(v)) => match param_cpus(&v) {
            Ok(l) if l.is_superset(want) => pass(format!("{param}={v}")),
            Ok(_) => fail(format!("{param}={v}"), expected),
            Err(e) => fail(format!("{param}={v} ({e})"), expected),
        },
    }
}

fn max_cstate(p: &Profile, h: &HostRoot, module: &str) -> Outcome {
    let Some(max) = p.kernel.max_cstate else {
        return skip("profile does not limit C-states");
    };
    let expected = format!("{module}.max_cstate <= {max}");
    let live = h.module_param(module, "max_cstate");
    let (value, source) = match live {
        Ok(v) => (v, "live"),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            match h.cmdline_param(&format!("{module}.max_cstate")) {
                Ok(Some(v)) => (v, "cmdline"),
                Ok(None) if !h.exists(format!("/sys/module/{module}")) => {
                    return skip(format!(
                        "{module} is not in this kernel (other cpuidle driver)"
                    ));
                }
                Ok(None) => return fail(format!("{module}.max_cstate unset"), expected),
                Err(e) => return unreadable(&e, expected),
            }
        }
        Err(e) => return unreadable(&e, expected),
    };
    match value.parse::<u32>() {
        Ok(v) if v <= u32::from(max) => pass(format!("{module}.max_cstate={v} ({source})")),
        _ => fail(format!("{module}.max_cstate={value} ({source})"), expected),
    }
}

fn thp(p: &Profile, h: &HostRoot) -> Outcome {
    let Some(want) = p.kernel.thp else {
        return skip("profile sets no kernel.thp");
    };
    match h.thp() {
        Ok(m) if m == want.as_str() => pass(m),
        Ok(m) => fail(m, want.as_str()),
        Err(e) if e.kind() == io::ErrorKind::NotFound && want == crate::profile::Thp::Never => {
            pass("THP not built into this kernel")
        }
        Err(e) => unreadable(&e, want.as_str()),
    }
}

fn swappiness(p: &Profile, h: &HostRoot) -> Outcome {
    let Some(want) = p.kernel.swappiness else {
        return skip("profile sets no kernel.swappiness");
    };
    match h.swappiness() {
        Ok(v) if v == u32::from(want) => pass(v),
        Ok(v) => fail(v, want),
        Err(e) => unreadable(&e, want),
    }
}

fn governor(p: &Profile, h: &HostRoot) -> Outcome {
    let Some(want) = &p.kernel.governor else {
        return skip("profile sets no kernel.governor");
    };
    let cores = p.pinned_cores();
    let mut found = Vec::new();
    let mut missing = 0;
    for cpu in cores.iter() {
        match h.governor(cpu) {
            Ok(g) => found.push((cpu, g)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => missing += 1,
            Err(e) => return unreadable(&e, format!("{want} on {cores}")),
        }
    }
    if found.is_empty() {
        return skip(
            "no cpufreq on this host (VM or no frequency driver): frequency is not the OS's to set",
        );
    }
    let wrong: Vec<String> = found
        .iter()
        .filter(|(_, g)| g != want)
        .map(|(c, g)| format!("cpu{c}={g}"))
        .collect();
    if wrong.is_empty() && missing == 0 {
        pass(format!("{want} on {cores}"))
    } else {
        let mut cur = wrong;
        if missing > 0 {
            cur.push(format!("{missing} cores without cpufreq"));
        }
        fail(cur.join(", "), format!("{want} on {cores}"))
    }
}

fn irqbalance(p: &Profile, h: &HostRoot) -> Outcome {
    if !p.kernel.irqbalance_off {
        return skip("profile does not require irqbalance off");
    }
    match h.processes_named("irqbalance") {
        Ok(pids) if pids.is_empty() => pass("irqbalance not running"),
        Ok(pids) => fail(
            format!(
                "irqbalance running (pid {})",
                pids.iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "irqbalance not running",
        ),
        Err(e) => unreadable(&e, "irqbalance not running"),
    }
}

fn irqs_on_housekeeping(p: &Profile, h: &HostRoot) -> Outcome {
    if !p.kernel.irqs_on_housekeeping {
        return skip("profile does not confine IRQs");
    }
    let hk = &p.cores.housekeeping;
    let expected = format!("every IRQ on {hk}");
    let irqs = match h.irqs() {
        Ok(i) => i,
        Err(e) => return unreadable(&e, expected),
    };
    // IRQs the NIC profile steers elsewhere are checked by nic.irq_affinity.
    let nic: Vec<u32> = match (&p.nic.irq_affinity, h.interrupts()) {
        (Some(_), Ok(ints)) => {
            let needles: Vec<&str> = [p.nic.pci.as_deref(), p.nic.interface.as_deref()]
                .into_iter()
                .flatten()
                .collect();
            ints.iter()
                .filter(|i| needles.iter().any(|n| i.name.contains(n)))
                .map(|i| i.irq)
                .collect()
        }
        _ => Vec::new(),
    };
    let rest: Vec<u32> = irqs.into_iter().filter(|i| !nic.contains(i)).collect();
    irqs_within(h, &rest, hk, expected)
}

fn irq_default(p: &Profile, h: &HostRoot) -> Outcome {
    if !p.kernel.irqs_on_housekeeping {
        return skip("profile does not confine IRQs");
    }
    let hk = &p.cores.housekeeping;
    let expected = format!("default IRQ affinity within {hk}");
    match h.default_irq_affinity() {
        // The mask has bits for CPUs that do not exist; only real CPUs matter.
        Ok(m) if hk.is_superset(&m.intersection(&CpuList::first(p.cores.count))) => pass(format!(
            "default IRQ affinity {}",
            show_list(&m.intersection(&CpuList::first(p.cores.count)))
        )),
        Ok(m) => fail(
            format!(
                "default IRQ affinity {}",
                show_list(&m.intersection(&CpuList::first(p.cores.count)))
            ),
            expected,
        ),
        Err(e) => unreadable(&e, expected),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn isolcpus_flags_are_stripped() {
        assert_eq!(
            param_cpus("managed_irq,domain,2-3").unwrap().to_string(),
            "2-3"
        );
        assert_eq!(param_cpus("4-7").unwrap().to_string(), "4-7");
        assert!(param_cpus("domain,x").is_err());
    }
}
