//! Reading a host's tuning state from procfs and sysfs under a root prefix.
//!
//! [`HostRoot`] is a path prefix (`/` for the live host, a directory for a copied or fake
//! tree) and one reader per source file. Readers return `io::Result` so callers decide what an
//! absent file means (a VM has no cpufreq; a kernel without NUMA has no node directories).
//! Nothing here writes; `apply` owns writing.

use std::io;
use std::path::{Path, PathBuf};

use crate::cpulist::CpuList;

/// A host's root directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRoot {
    root: PathBuf,
}

impl Default for HostRoot {
    fn default() -> Self {
        Self::live()
    }
}

/// One `/proc/mounts` line of type hugetlbfs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HugetlbfsMount {
    /// Mount point (as the host sees it).
    pub path: String,
    /// `pagesize=` option (`2M`, `1G`), when given.
    pub pagesize: Option<String>,
}

/// One line of `/proc/interrupts` for a numbered IRQ.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Interrupt {
    /// IRQ number.
    pub irq: u32,
    /// The trailing description (chip, type, device name).
    pub name: String,
}

fn invalid_data(path: &Path, what: impl std::fmt::Display) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{}: {what}", path.display()),
    )
}

impl HostRoot {
    /// The live host (`/`).
    pub fn live() -> Self {
        Self { root: "/".into() }
    }

    /// A tree rooted at `root` (`root/proc/cmdline`, `root/sys/…`).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Whether this is the live root `/`.
    pub fn is_live(&self) -> bool {
        self.root == Path::new("/")
    }

    /// The prefix.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `rel` (an absolute host path like `/proc/cmdline`) under the root.
    pub fn path(&self, rel: impl AsRef<Path>) -> PathBuf {
        let rel = rel.as_ref();
        self.root.join(rel.strip_prefix("/").unwrap_or(rel))
    }

    /// A file's contents, trimmed.
    ///
    /// # Errors
    /// The read error, with the path in the message.
    pub fn read(&self, rel: impl AsRef<Path>) -> io::Result<String> {
        let p = self.path(rel);
        std::fs::read_to_string(&p)
            .map(|s| s.trim().to_owned())
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", p.display())))
    }

    /// Whether a path exists under the root.
    pub fn exists(&self, rel: impl AsRef<Path>) -> bool {
        self.path(rel).exists()
    }

    fn read_cpus(&self, rel: &str) -> io::Result<CpuList> {
        let s = self.read(rel)?;
        CpuList::parse(&s).map_err(|e| invalid_data(&self.path(rel), e))
    }

    fn read_num<T: std::str::FromStr>(&self, rel: impl AsRef<Path>) -> io::Result<T> {
        let s = self.read(rel.as_ref())?;
        s.parse()
            .map_err(|_| invalid_data(&self.path(rel), format!("{s:?} is not a number")))
    }

    /// `/proc/cmdline`.
    ///
    /// # Errors
    /// The read error.
    pub fn cmdline(&self) -> io::Result<String> {
        self.read("/proc/cmdline")
    }

    /// The value of `key=` on the kernel command line (last occurrence wins, as in the kernel).
    ///
    /// # Errors
    /// Reading `/proc/cmdline`.
    pub fn cmdline_param(&self, key: &str) -> io::Result<Option<String>> {
        Ok(cmdline_value(&self.cmdline()?, key))
    }

    /// Online CPUs (`/sys/devices/system/cpu/online`, else the `processor` lines of
    /// `/proc/cpuinfo`).
    ///
    /// # Errors
    /// When neither source can be read or parsed.
    pub fn online_cpus(&self) -> io::Result<CpuList> {
        match self.read_cpus("/sys/devices/system/cpu/online") {
            Ok(l) => Ok(l),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let info = self.read("/proc/cpuinfo")?;
                Ok(info
                    .lines()
                    .filter_map(|l| l.strip_prefix("processor"))
                    .filter_map(|l| l.trim_start().strip_prefix(':'))
                    .filter_map(|n| n.trim().parse().ok())
                    .collect())
            }
            Err(e) => Err(e),
        }
    }

    /// `model name` from `/proc/cpuinfo`, when present.
    pub fn cpu_model(&self) -> Option<String> {
        self.cpuinfo_field("model name")
    }

    /// The value of the first `key : value` line of `/proc/cpuinfo` whose key is exactly `key`
    /// (`cpu family`, `model`, `flags`, …): the first CPU's, as every CPU of a host normally
    /// reports the same. `None` when the file or the key is absent.
    pub fn cpuinfo_field(&self, key: &str) -> Option<String> {
        cpuinfo_value(&self.read("/proc/cpuinfo").ok()?, key)
    }

    /// The running kernel's release (`/proc/sys/kernel/osrelease`).
    ///
    /// # Errors
    /// The read error.
    pub fn kernel_release(&self) -> io::Result<String> {
        self.read("/proc/sys/kernel/osrelease")
    }

    /// `MemTotal:` of `/proc/meminfo`, in KiB.
    ///
    /// # Errors
    /// The read error, or no parsable `MemTotal:` line.
    pub fn mem_total_kib(&self) -> io::Result<u64> {
        self.meminfo_field("MemTotal")?
            .as_deref()
            .and_then(|v| v.strip_suffix("kB"))
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| invalid_data(&self.path("/proc/meminfo"), "no MemTotal in kB"))
    }

    /// The value of the `key:` line of `/proc/meminfo`, trimmed (`24683664 kB`); `None` when
    /// no line has that key.
    ///
    /// # Errors
    /// The read error.
    fn meminfo_field(&self, key: &str) -> io::Result<Option<String>> {
        Ok(self
            .read("/proc/meminfo")?
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
            .map(|v| v.trim().to_owned()))
    }

    /// Whether simultaneous multithreading is active (`/sys/devices/system/cpu/smt/active`:
    /// `1` when some core runs two or more hardware threads).
    ///
    /// # Errors
    /// The read error (kernels before 4.19 have no such file), or a value other than 0 or 1.
    pub fn smt_active(&self) -> io::Result<bool> {
        let rel = "/sys/devices/system/cpu/smt/active";
        match self.read_num::<u8>(rel)? {
            0 => Ok(false),
            1 => Ok(true),
            n => Err(invalid_data(
                &self.path(rel),
                format!("{n} is neither 0 nor 1"),
            )),
        }
    }

    /// CPUs isolated from the scheduler (`/sys/devices/system/cpu/isolated`).
    ///
    /// # Errors
    /// The read or parse error (the file is absent on old kernels).
    pub fn isolated_cpus(&self) -> io::Result<CpuList> {
        self.read_cpus("/sys/devices/system/cpu/isolated")
    }

    /// NUMA nodes and their CPUs (`/sys/devices/system/node/node<N>/cpulist`), sorted by node.
    ///
    /// # Errors
    /// Listing the node directory (absent without NUMA support).
    pub fn numa_nodes(&self) -> io::Result<Vec<(u32, CpuList)>> {
        let dir = self.path("/sys/devices/system/node");
        let mut nodes = Vec::new();
        for entry in std::fs::read_dir(&dir)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", dir.display())))?
        {
            let name = entry?.file_name();
            let Some(n) = name.to_str().and_then(|s| s.strip_prefix("node")) else {
                continue;
            };
            let Ok(n) = n.parse::<u32>() else { continue };
            let cpus = self
                .read_cpus(&format!("/sys/devices/system/node/node{n}/cpulist"))
                .unwrap_or_default();
            nodes.push((n, cpus));
        }
        nodes.sort_by_key(|(n, _)| *n);
        Ok(nodes)
    }

    /// The NUMA node of a CPU, from the `node<N>` entry in `/sys/devices/system/cpu/cpu<C>/`.
    ///
    /// # Errors
    /// Listing the CPU directory; `NotFound` when it has no node entry.
    pub fn cpu_node(&self, cpu: u32) -> io::Result<u32> {
        let dir = self.path(format!("/sys/devices/system/cpu/cpu{cpu}"));
        for entry in std::fs::read_dir(&dir)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", dir.display())))?
        {
            let name = entry?.file_name();
            if let Some(n) = name.to_str().and_then(|s| s.strip_prefix("node")) {
                if let Ok(n) = n.parse() {
                    return Ok(n);
                }
            }
        }
        Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{}: no node entry", dir.display()),
        ))
    }

    /// The cpufreq governor of a CPU.
    ///
    /// # Errors
    /// `NotFound` when the CPU has no cpufreq directory (VMs, no driver).
    pub fn governor(&self, cpu: u32) -> io::Result<String> {
        self.read(format!(
            "/sys/devices/system/cpu/cpu{cpu}/cpufreq/scaling_governor"
        ))
    }

    /// The sysfs directory of a hugepage pool: global, or one NUMA node's.
    pub fn hugepage_dir(&self, size_kib: u64, node: Option<u32>) -> PathBuf {
        match node {
            None => format!("/sys/kernel/mm/hugepages/hugepages-{size_kib}kB").into(),
            Some(n) => {
                format!("/sys/devices/system/node/node{n}/hugepages/hugepages-{size_kib}kB").into()
            }
        }
    }

    /// Reserved pages of a pool (`nr_hugepages`).
    ///
    /// # Errors
    /// `NotFound` when the kernel does not offer that size (or node).
    pub fn hugepages_total(&self, size_kib: u64, node: Option<u32>) -> io::Result<u64> {
        self.read_num(self.hugepage_dir(size_kib, node).join("nr_hugepages"))
    }

    /// Free pages of a pool (`free_hugepages`).
    ///
    /// # Errors
    /// As [`HostRoot::hugepages_total`].
    pub fn hugepages_free(&self, size_kib: u64, node: Option<u32>) -> io::Result<u64> {
        self.read_num(self.hugepage_dir(size_kib, node).join("free_hugepages"))
    }

    /// Hugepage sizes the kernel offers, in KiB, ascending.
    ///
    /// # Errors
    /// Listing `/sys/kernel/mm/hugepages`.
    pub fn hugepage_sizes(&self) -> io::Result<Vec<u64>> {
        let mut sizes: Vec<u64> = std::fs::read_dir(self.path("/sys/kernel/mm/hugepages"))?
            .filter_map(Result::ok)
            .filter_map(|e| {
                let n = e.file_name();
                n.to_str()?
                    .strip_prefix("hugepages-")?
                    .strip_suffix("kB")?
                    .parse()
                    .ok()
            })
            .collect();
        sizes.sort_unstable();
        Ok(sizes)
    }

    /// The default hugepage size in KiB (`Hugepagesize:` in `/proc/meminfo`).
    pub fn default_hugepage_kib(&self) -> Option<u64> {
        self.meminfo_field("Hugepagesize")
            .ok()??
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()
    }

    /// hugetlbfs mounts from `/proc/mounts`.
    ///
    /// # Errors
    /// Reading `/proc/mounts`.
    pub fn hugetlbfs_mounts(&self) -> io::Result<Vec<HugetlbfsMount>> {
        let mounts = self.read("/proc/mounts")?;
        Ok(mounts
            .lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (f.len() >= 4 && f[2] == "hugetlbfs").then(|| HugetlbfsMount {
                    path: f[1].replace("\\040", " "),
                    pagesize: f[3]
                        .split(',')
                        .find_map(|o| o.strip_prefix("pagesize="))
                        .map(str::to_owned),
                })
            })
            .collect())
    }

    /// The selected transparent hugepage mode (the bracketed word).
    ///
    /// # Errors
    /// Reading the file (absent without THP support), or no bracketed word.
    pub fn thp(&self) -> io::Result<String> {
        let rel = "/sys/kernel/mm/transparent_hugepage/enabled";
        let s = self.read(rel)?;
        s.split_whitespace()
            .find_map(|w| w.strip_prefix('[')?.strip_suffix(']'))
            .map(str::to_owned)
            .ok_or_else(|| invalid_data(&self.path(rel), format!("no selected mode in {s:?}")))
    }

    /// `vm.swappiness`.
    ///
    /// # Errors
    /// Reading or parsing `/proc/sys/vm/swappiness`.
    pub fn swappiness(&self) -> io::Result<u32> {
        self.read_num("/proc/sys/vm/swappiness")
    }

    /// A module parameter (`/sys/module/<module>/parameters/<name>`).
    ///
    /// # Errors
    /// `NotFound` when the module is not loaded or has no such parameter.
    pub fn module_param(&self, module: &str, name: &str) -> io::Result<String> {
        self.read(format!("/sys/module/{module}/parameters/{name}"))
    }

    /// Numbered IRQs with an `smp_affinity_list` under `/proc/irq`, ascending.
    ///
    /// # Errors
    /// Listing `/proc/irq`.
    pub fn irqs(&self) -> io::Result<Vec<u32>> {
        let dir = self.path("/proc/irq");
        let mut v: Vec<u32> = std::fs::read_dir(&dir)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", dir.display())))?
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().to_str()?.parse().ok())
            .collect();
        v.sort_unstable();
        Ok(v)
    }

    /// The CPUs an IRQ may be delivered to.
    ///
    /// # Errors
    /// Reading or parsing `/proc/irq/<irq>/smp_affinity_list`.
    pub fn irq_affinity(&self, irq: u32) -> io::Result<CpuList> {
        self.read_cpus(&format!("/proc/irq/{irq}/smp_affinity_list"))
    }

    /// The affinity new IRQs get (`/proc/irq/default_smp_affinity`, a hex mask).
    ///
    /// # Errors
    /// Reading or parsing the mask.
    pub fn default_irq_affinity(&self) -> io::Result<CpuList> {
        let rel = "/proc/irq/default_smp_affinity";
        let s = self.read(rel)?;
        CpuList::parse_mask(&s).map_err(|e| invalid_data(&self.path(rel), e))
    }

    /// Numbered IRQs in `/proc/interrupts` with their descriptions.
    ///
    /// # Errors
    /// Reading `/proc/interrupts`.
    pub fn interrupts(&self) -> io::Result<Vec<Interrupt>> {
        let text = self.read("/proc/interrupts")?;
        let mut lines = text.lines();
        let ncpu = lines.next().map_or(0, |h| h.split_whitespace().count());
        Ok(lines
            .filter_map(|l| {
                let (irq, rest) = l.trim_start().split_once(':')?;
                let irq = irq.parse().ok()?;
                let name = rest
                    .split_whitespace()
                    .skip(ncpu)
                    .collect::<Vec<_>>()
                    .join(" ");
                Some(Interrupt { irq, name })
            })
            .collect())
    }

    /// Network interfaces (`/sys/class/net`), sorted.
    ///
    /// # Errors
    /// Listing `/sys/class/net`.
    pub fn interfaces(&self) -> io::Result<Vec<String>> {
        let mut v: Vec<String> = std::fs::read_dir(self.path("/sys/class/net"))?
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        v.sort();
        Ok(v)
    }

    /// The driver bound to an interface's device (`/sys/class/net/<if>/device/driver`).
    ///
    /// # Errors
    /// `NotFound` for devices without a bus device (veth, lo) or an unbound device.
    pub fn interface_driver(&self, iface: &str) -> io::Result<String> {
        link_name(&self.path(format!("/sys/class/net/{iface}/device/driver")))
    }

    /// The PCI address (or other bus id) of an interface's device.
    ///
    /// # Errors
    /// `NotFound` for interfaces without a bus device.
    pub fn interface_bus_id(&self, iface: &str) -> io::Result<String> {
        link_name(&self.path(format!("/sys/class/net/{iface}/device")))
    }

    /// The driver bound to a PCI device (`/sys/bus/pci/devices/<addr>/driver`).
    ///
    /// # Errors
    /// `NotFound` when the device is absent or unbound.
    pub fn pci_driver(&self, addr: &str) -> io::Result<String> {
        link_name(&self.path(format!("/sys/bus/pci/devices/{addr}/driver")))
    }

    /// Whether a PCI device exists.
    pub fn pci_exists(&self, addr: &str) -> bool {
        self.exists(format!("/sys/bus/pci/devices/{addr}"))
    }

    /// A PCI device's NUMA node (`-1` when the platform does not say).
    ///
    /// # Errors
    /// Reading or parsing `numa_node`.
    pub fn pci_numa_node(&self, addr: &str) -> io::Result<i32> {
        self.read_num(format!("/sys/bus/pci/devices/{addr}/numa_node"))
    }

    /// PIDs whose `comm` equals `name` (`/proc/<pid>/comm`).
    ///
    /// # Errors
    /// Listing `/proc`.
    pub fn processes_named(&self, name: &str) -> io::Result<Vec<u32>> {
        let mut pids: Vec<u32> = std::fs::read_dir(self.path("/proc"))?
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().to_str()?.parse().ok())
            .filter(|pid: &u32| {
                self.read(format!("/proc/{pid}/comm"))
                    .is_ok_and(|c| c == name)
            })
            .collect();
        pids.sort_unstable();
        Ok(pids)
    }

    /// Directories holding DPDK poll-mode driver plugins (`usr/lib*/…/dpdk/pmds-*`).
    pub fn dpdk_pmd_dirs(&self) -> Vec<PathBuf> {
        let mut found = Vec::new();
        let mut libdirs = Vec::new();
        for base in [
            "/usr/lib",
            "/usr/lib64",
            "/usr/local/lib",
            "/usr/local/lib64",
        ] {
            let base = self.path(base);
            libdirs.push(base.clone());
            if let Ok(rd) = std::fs::read_dir(&base) {
                // Multiarch directories (x86_64-linux-gnu).
                libdirs.extend(rd.filter_map(Result::ok).map(|e| e.path()).filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.contains("-linux-"))
                }));
            }
        }
        for lib in libdirs {
            if let Ok(rd) = std::fs::read_dir(lib.join("dpdk")) {
                found.extend(rd.filter_map(Result::ok).map(|e| e.path()).filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("pmds-"))
                }));
            }
        }
        found.sort();
        found
    }
}

/// The value of the first `key : value` line of a `/proc/cpuinfo` text whose key is exactly
/// `key`, trimmed ([`HostRoot::cpuinfo_field`] on text already read).
pub fn cpuinfo_value(info: &str, key: &str) -> Option<String> {
    info.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim() == key)
        .map(|(_, v)| v.trim().to_owned())
}

/// The value of `key=` on a kernel command line (last occurrence wins); `Some("")` for a bare
/// `key`. Stops at a ` -- ` (arguments for init).
pub fn cmdline_value(cmdline: &str, key: &str) -> Option<String> {
    let mut found = None;
    for word in cmdline.split_whitespace() {
        if word == "--" {
            break;
        }
        match word.split_once('=') {
            Some((k, v)) if k == key => found = Some(v.to_owned()),
            None if word == key => found = Some(String::new()),
            _ => {}
        }
    }
    found
}

fn link_name(path: &Path) -> io::Result<String> {
    let target = std::fs::read_link(path)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    target
        .file_name()
        .and_then(|n| n.to_str())
        .map(str::to_owned)
        .ok_or_else(|| invalid_data(path, "link has no file name"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmdline_values_stop_at_init_arguments() {
        let c = "quiet isolcpus=2-3 nohz_full=2-3 isolcpus=4 -- isolcpus=9";
        assert_eq!(cmdline_value(c, "isolcpus").as_deref(), Some("4"));
        assert_eq!(cmdline_value(c, "quiet").as_deref(), Some(""));
        assert_eq!(cmdline_value(c, "rcu_nocbs"), None);
    }
}
