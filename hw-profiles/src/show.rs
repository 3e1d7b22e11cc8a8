//! `show`: what a host has — CPUs and NUMA, NICs and their drivers, hugepages and mounts,
//! the tuning knobs `verify` reads. Read-only; a source that cannot be read leaves its field
//! empty (`show` describes, `verify` judges).

use serde::Serialize;

use crate::cpulist::CpuList;
use crate::host::{HostRoot, HugetlbfsMount};

/// A NUMA node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Node {
    /// Node number.
    pub node: u32,
    /// Its CPUs.
    pub cpus: CpuList,
}

/// A network interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Nic {
    /// Interface name.
    pub name: String,
    /// Bound driver, when it has a bus device.
    pub driver: Option<String>,
    /// Bus id (PCI address for PCI NICs).
    pub bus_id: Option<String>,
    /// The device's NUMA node, when the platform says.
    pub numa_node: Option<i32>,
    /// Interrupts naming it in `/proc/interrupts`.
    pub irqs: usize,
}

/// A hugepage pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HugepagePool {
    /// Page size in KiB.
    pub size_kib: u64,
    /// Reserved pages.
    pub total: u64,
    /// Free pages.
    pub free: u64,
}

/// A host summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostSummary {
    /// CPU model.
    pub cpu_model: Option<String>,
    /// Online CPUs.
    pub online: Option<CpuList>,
    /// Isolated CPUs.
    pub isolated: Option<CpuList>,
    /// NUMA nodes.
    pub numa: Vec<Node>,
    /// cpufreq governor per online CPU (empty without cpufreq).
    pub governors: Vec<(u32, String)>,
    /// Network interfaces.
    pub nics: Vec<Nic>,
    /// Hugepage pools.
    pub hugepages: Vec<HugepagePool>,
    /// hugetlbfs mounts.
    pub hugetlbfs: Vec<HugetlbfsMount>,
    /// Transparent hugepage mode.
    pub thp: Option<String>,
    /// `vm.swappiness`.
    pub swappiness: Option<u32>,
    /// Whether irqbalance runs.
    pub irqbalance_running: Option<bool>,
    /// `/proc/cmdline`.
    pub cmdline: Option<String>,
}

/// Describes `host`.
pub fn show(host: &HostRoot) -> HostSummary {
    let online = host.online_cpus().ok();
    let interrupts = host.interrupts().unwrap_or_default();
    let nics = host
        .interfaces()
        .unwrap_or_default()
        .into_iter()
        .map(|name| {
            let bus_id = host.interface_bus_id(&name).ok();
            let numa_node = bus_id.as_ref().and_then(|b| host.pci_numa_node(b).ok());
            let irqs = interrupts
                .iter()
                .filter(|i| {
                    i.name.contains(name.as_str())
                        || bus_id.as_ref().is_some_and(|b| i.name.contains(b.as_str()))
                })
                .count();
            Nic {
                driver: host.interface_driver(&name).ok(),
                bus_id,
                numa_node,
                irqs,
                name,
            }
        })
        .collect();
    let hugepages = host
        .hugepage_sizes()
        .unwrap_or_default()
        .into_iter()
        .map(|kib| HugepagePool {
            size_kib: kib,
            total: host.hugepages_total(kib, None).unwrap_or(0),
            free: host.hugepages_free(kib, None).unwrap_or(0),
        })
        .collect();
    HostSummary {
        cpu_model: host.cpu_model(),
        governors: online
            .iter()
            .flat_map(CpuList::iter)
            .filter_map(|c| host.governor(c).ok().map(|g| (c, g)))
            .collect(),
        online,
        isolated: host.isolated_cpus().ok(),
        numa: host
            .numa_nodes()
            .unwrap_or_default()
            .into_iter()
            .map(|(node, cpus)| Node { node, cpus })
            .collect(),
        nics,
        hugepages,
        hugetlbfs: host.hugetlbfs_mounts().unwrap_or_default(),
        thp: host.thp().ok(),
        swappiness: host.swappiness().ok(),
        irqbalance_running: host
            .processes_named("irqbalance")
            .ok()
            .map(|p| !p.is_empty()),
        cmdline: host.cmdline().ok(),
    }
}
