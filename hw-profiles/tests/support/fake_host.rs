//! A fake procfs/sysfs tree in a temporary directory for `verify`/`apply` tests.
//!
//! [`FakeHost::passing`] writes a 4-CPU, one-NUMA-node host that satisfies [`FULL_PROFILE`]
//! (every check has something to look at); tests then break one thing at a time with
//! [`FakeHost::write`], [`FakeHost::remove`] and [`FakeHost::link`].
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};

/// A profile that exercises every check.
pub const FULL_PROFILE: &str = r#"
name = "test-full"
description = "every check on"

[cores]
count = 4
dataplane = "2"
control = "3"
housekeeping = "0-1"
isolated = "2-3"
numa_node = 0

[hugepages]
size = "2M"
count = 8
mount = "/dev/hugepages"

[nic]
driver = "mlx5_core"
pci = "0000:3b:00.0"
interface = "ens1f0"
pmd = "net_mlx5"
irq_affinity = "0-1"

[kernel]
isolcpus = true
nohz_full = true
rcu_nocbs = true
max_cstate = 1
thp = "never"
swappiness = 0
governor = "performance"
irqbalance_off = true
irqs_on_housekeeping = true
"#;

/// The PCI address in [`FULL_PROFILE`].
pub const PCI: &str = "0000:3b:00.0";

/// A fake host tree.
pub struct FakeHost {
    dir: tempfile::TempDir,
}

impl FakeHost {
    /// An empty tree.
    pub fn empty() -> Self {
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// A tree that passes every check of [`FULL_PROFILE`].
    pub fn passing() -> Self {
        let h = Self::empty();
        h.write(
            "proc/cmdline",
            "BOOT_IMAGE=/vmlinuz root=/dev/sda1 isolcpus=managed_irq,domain,2-3 nohz_full=2-3 \
             rcu_nocbs=2-3 intel_idle.max_cstate=1 processor.max_cstate=1\n",
        );
        let mut cpuinfo = String::new();
        for c in 0..4 {
            cpuinfo.push_str(&format!(
                "processor\t: {c}\nmodel name\t: Fake CPU @ 3.00GHz\n\n"
            ));
            h.mkdir(&format!("sys/devices/system/cpu/cpu{c}/node0"));
            h.write(
                &format!("sys/devices/system/cpu/cpu{c}/cpufreq/scaling_governor"),
                "performance\n",
            );
        }
        h.write("proc/cpuinfo", &cpuinfo);
        h.write("sys/devices/system/cpu/online", "0-3\n");
        h.write("sys/devices/system/cpu/isolated", "2-3\n");
        h.write("sys/devices/system/node/node0/cpulist", "0-3\n");
        for base in [
            "sys/kernel/mm/hugepages/hugepages-2048kB",
            "sys/devices/system/node/node0/hugepages/hugepages-2048kB",
        ] {
            h.write(&format!("{base}/nr_hugepages"), "8\n");
            h.write(&format!("{base}/free_hugepages"), "8\n");
        }
        h.write(
            "sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages",
            "0\n",
        );
        h.write(
            "sys/kernel/mm/hugepages/hugepages-1048576kB/free_hugepages",
            "0\n",
        );
        h.write(
            "proc/mounts",
            "sysfs /sys sysfs rw 0 0\nnodev /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0\n",
        );
        h.write(
            "proc/meminfo",
            "MemTotal: 8000000 kB\nHugepagesize:       2048 kB\n",
        );
        h.write(
            "sys/kernel/mm/transparent_hugepage/enabled",
            "always madvise [never]\n",
        );
        h.write("proc/sys/vm/swappiness", "0\n");
        h.write("sys/module/intel_idle/parameters/max_cstate", "1\n");
        h.write("sys/module/processor/parameters/max_cstate", "1\n");
        h.write(
            "usr/lib/x86_64-linux-gnu/dpdk/pmds-23.0/librte_net_mlx5.so",
            "",
        );
        h.write(&format!("sys/bus/pci/devices/{PCI}/numa_node"), "0\n");
        h.mkdir("sys/bus/pci/drivers/mlx5_core");
        h.link(
            &format!("sys/bus/pci/devices/{PCI}/driver"),
            "sys/bus/pci/drivers/mlx5_core",
        );
        h.mkdir("sys/class/net/ens1f0");
        h.link(
            "sys/class/net/ens1f0/device",
            &format!("sys/bus/pci/devices/{PCI}"),
        );
        h.mkdir("sys/class/net/lo");
        for (irq, aff) in [(24, "0-1"), (25, "0"), (40, "0-1"), (41, "1")] {
            h.write(
                &format!("proc/irq/{irq}/smp_affinity_list"),
                &format!("{aff}\n"),
            );
        }
        h.write("proc/irq/default_smp_affinity", "3\n");
        h.write(
            "proc/interrupts",
            "           CPU0       CPU1       CPU2       CPU3\n \
             24:          1          0          0          0  IO-APIC   5-edge      ACPI:Ged\n \
             25:          0          9          0          0  IO-APIC   4-edge      ttyS0\n \
             40:        100          0          0          0  IR-PCI-MSIX-0000:3b:00.0   0-edge      mlx5_comp0@pci:0000:3b:00.0\n \
             41:         50          0          0          0  IR-PCI-MSIX-0000:3b:00.0   1-edge      mlx5_comp1@pci:0000:3b:00.0\n\
             NMI:          0          0          0          0   Non-maskable interrupts\n",
        );
        h.write("proc/1/comm", "systemd\n");
        h.write("proc/2/comm", "kthreadd\n");
        h
    }

    /// The tree's root.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// A path in the tree.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes a file, creating its parents.
    pub fn write(&self, rel: &str, text: &str) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    /// Reads a file, trimmed.
    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel))
            .unwrap()
            .trim()
            .to_owned()
    }

    /// Creates a directory.
    pub fn mkdir(&self, rel: &str) {
        std::fs::create_dir_all(self.path(rel)).unwrap();
    }

    /// Removes a file, link or directory tree.
    pub fn remove(&self, rel: &str) {
        let p = self.path(rel);
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.is_dir() => std::fs::remove_dir_all(p).unwrap(),
            Ok(_) => std::fs::remove_file(p).unwrap(),
            Err(_) => {}
        }
    }

    /// Makes `rel` a symlink to `target` (both inside the tree), replacing what was there.
    pub fn link(&self, rel: &str, target: &str) {
        self.remove(rel);
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(self.path(target), p).unwrap();
    }
}
