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

/// What a measurement states about the machine it ran on: the CPU, whether it is virtual, the
/// cores the scheduler may use and how they are shared, memory, kernel, and the boot-time
/// isolation that decides a latency tail (`isolcpus`, `nohz_full`). Unreadable sources stay
/// `None`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Machine {
    /// `model name` (a hypervisor may report only the vendor and line, as `AMD EPYC`).
    pub cpu_model: Option<String>,
    /// `cpu family`, `model` and `stepping`, which name the generation when the model name
    /// does not.
    pub cpu_family: Option<u32>,
    /// See [`Machine::cpu_family`].
    pub cpu_model_number: Option<u32>,
    /// See [`Machine::cpu_family`].
    pub cpu_stepping: Option<u32>,
    /// The CPU reports the `hypervisor` flag: a virtual machine.
    pub virtual_machine: bool,
    /// Online CPUs.
    pub online: Option<CpuList>,
    /// Some core runs two hardware threads (`smt/active`).
    pub smt: Option<bool>,
    /// CPUs isolated from the scheduler (empty when none are).
    pub isolated: Option<CpuList>,
    /// `nohz_full=` of the kernel command line: empty when the command line has none, `None`
    /// when it cannot be read.
    pub nohz_full: Option<String>,
    /// `MemTotal`, KiB.
    pub mem_total_kib: Option<u64>,
    /// Kernel release.
    pub kernel: Option<String>,
}

impl Machine {
    /// Reads `host`.
    pub fn read(host: &HostRoot) -> Machine {
        // One read of /proc/cpuinfo for its five fields.
        let info = host.read("/proc/cpuinfo").unwrap_or_default();
        let field = |key: &str| crate::host::cpuinfo_value(&info, key);
        let num = |key: &str| field(key).and_then(|v| v.parse().ok());
        Machine {
            cpu_model: field("model name"),
            cpu_family: num("cpu family"),
            cpu_model_number: num("model"),
            cpu_stepping: num("stepping"),
            virtual_machine: field("flags")
                .is_some_and(|f| f.split_whitespace().any(|x| x == "hypervisor")),
            online: host.online_cpus().ok(),
            smt: host.smt_active().ok(),
            isolated: host.isolated_cpus().ok(),
            nohz_full: host
                .cmdline_param("nohz_full")
                .ok()
                .map(Option::unwrap_or_default),
            mem_total_kib: host.mem_total_kib().ok(),
            kernel: host.kernel_release().ok(),
        }
    }
}

/// One line: `AMD EPYC (family 25, model 17, stepping 1), virtual, 2 CPUs (0-1), SMT off,
/// 23.5 GiB, Linux 6.1.0, no isolated CPUs, no nohz_full`; what is unknown is said so.
impl std::fmt::Display for Machine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.cpu_model.as_deref().unwrap_or("unknown CPU"))?;
        if let (Some(fam), Some(model)) = (self.cpu_family, self.cpu_model_number) {
            write!(f, " (family {fam}, model {model}")?;
            if let Some(s) = self.cpu_stepping {
                write!(f, ", stepping {s}")?;
            }
            f.write_str(")")?;
        }
        f.write_str(if self.virtual_machine {
            ", virtual"
        } else {
            ", bare metal"
        })?;
        match &self.online {
            Some(cpus) => write!(f, ", {} CPUs ({cpus})", cpus.len())?,
            None => f.write_str(", online CPUs unknown")?,
        }
        f.write_str(match self.smt {
            Some(true) => ", SMT on",
            Some(false) => ", SMT off",
            None => ", SMT unknown",
        })?;
        if let Some(kib) = self.mem_total_kib {
            write!(f, ", {:.1} GiB", kib as f64 / (1024.0 * 1024.0))?;
        }
        if let Some(k) = &self.kernel {
            write!(f, ", Linux {k}")?;
        }
        match &self.isolated {
            Some(c) if !c.is_empty() => write!(f, ", isolated CPUs {c}")?,
            Some(_) => f.write_str(", no isolated CPUs")?,
            None => f.write_str(", isolated CPUs unknown")?,
        }
        match self.nohz_full.as_deref() {
            Some("") => f.write_str(", no nohz_full"),
            Some(v) => write!(f, ", nohz_full={v}"),
            None => f.write_str(", nohz_full unknown"),
        }
    }
}
