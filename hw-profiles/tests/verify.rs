//! `verify` against fake procfs/sysfs trees: pass, fail and skip of every check.
#![allow(clippy::unwrap_used)]

mod support;

use support::fake_host::{FakeHost, FULL_PROFILE, PCI};
use tickwire_hw::verify::{verify, Outcome, Verdict, CHECKS};
use tickwire_hw::{HostRoot, Profile};

fn full() -> Profile {
    Profile::from_toml(FULL_PROFILE, "test").unwrap()
}

/// FULL_PROFILE with `edit` applied to its text.
fn full_with(edit: impl Fn(&str) -> String) -> Profile {
    Profile::from_toml(&edit(FULL_PROFILE), "test").unwrap()
}

fn outcome(p: &Profile, h: &FakeHost, key: &str) -> Outcome {
    let r = verify(p, &HostRoot::new(h.root()));
    r.check(key).unwrap().outcome.clone()
}

#[track_caller]
fn passed(p: &Profile, h: &FakeHost, key: &str) {
    let o = outcome(p, h, key);
    assert!(matches!(o, Outcome::Passed { .. }), "{key}: {o:?}");
}

#[track_caller]
fn failed(p: &Profile, h: &FakeHost, key: &str, current_has: &str) {
    match outcome(p, h, key) {
        Outcome::Failed { current, expected } => {
            assert!(current.contains(current_has), "{key}: current {current:?}");
            assert!(!expected.is_empty(), "{key}: no expected value");
        }
        o => panic!("{key}: expected a failure, got {o:?}"),
    }
}

#[track_caller]
fn skipped(p: &Profile, h: &FakeHost, key: &str, reason_has: &str) {
    match outcome(p, h, key) {
        Outcome::Skipped { reason } => assert!(reason.contains(reason_has), "{key}: {reason:?}"),
        o => panic!("{key}: expected a skip, got {o:?}"),
    }
}

#[test]
fn passing_host_passes_every_check_with_one_entry_each() {
    let h = FakeHost::passing();
    let r = verify(&full(), &HostRoot::new(h.root()));
    assert_eq!(r.checks.len(), CHECKS.len());
    for (c, key) in r.checks.iter().zip(CHECKS) {
        assert_eq!(c.key, key);
        assert!(
            matches!(c.outcome, Outcome::Passed { .. }),
            "{}: {:?}",
            c.key,
            c.outcome
        );
    }
    assert_eq!(r.verdict, Verdict::Passed);
    assert_eq!((r.passed, r.failed, r.skipped), (CHECKS.len(), 0, 0));
}

#[test]
fn one_failure_fails_the_verdict() {
    let h = FakeHost::passing();
    h.write("proc/sys/vm/swappiness", "60\n");
    let r = verify(&full(), &HostRoot::new(h.root()));
    assert_eq!(r.verdict, Verdict::Failed);
    assert_eq!(r.failed, 1);
}

#[test]
fn an_empty_host_root_fails_rather_than_passes() {
    let h = FakeHost::empty();
    let r = verify(&full(), &HostRoot::new(h.root()));
    assert_eq!(r.verdict, Verdict::Failed);
    failed(&full(), &h, "cores.online", "unreadable");
}

#[test]
fn cores_online() {
    let h = FakeHost::passing();
    passed(&full(), &h, "cores.online");
    h.write("sys/devices/system/cpu/online", "0-1\n");
    failed(&full(), &h, "cores.online", "0-1");
    // Without the sysfs file, /proc/cpuinfo answers.
    h.remove("sys/devices/system/cpu/online");
    passed(&full(), &h, "cores.online");
    // This check has no skip: a host always has CPUs, and not finding them is a failure.
    h.remove("proc/cpuinfo");
    failed(&full(), &h, "cores.online", "unreadable");
}

#[test]
fn cores_isolated() {
    let h = FakeHost::passing();
    passed(&full(), &h, "cores.isolated");
    h.write("sys/devices/system/cpu/isolated", "\n");
    failed(&full(), &h, "cores.isolated", "none");
    h.write("sys/devices/system/cpu/isolated", "3\n");
    failed(&full(), &h, "cores.isolated", "3");
    let p = Profile::load("virtio-loopback").unwrap();
    skipped(&p, &h, "cores.isolated", "isolates no cores");
}

#[test]
fn cores_numa_node() {
    let h = FakeHost::passing();
    passed(&full(), &h, "cores.numa_node");
    h.remove("sys/devices/system/cpu/cpu2/node0");
    h.mkdir("sys/devices/system/cpu/cpu2/node1");
    failed(&full(), &h, "cores.numa_node", "cpu2 on node1");
    let wide = full_with(|t| {
        t.replace("count = 4", "count = 8")
            .replace("control = \"3\"", "control = \"6\"")
    });
    failed(&wide, &h, "cores.numa_node", "cpu6 absent");
    skipped(
        &Profile::load("virtio-loopback").unwrap(),
        &h,
        "cores.numa_node",
        "no cores.numa_node",
    );
    // A kernel without NUMA: no node entries anywhere.
    for c in 0..4 {
        h.remove(&format!("sys/devices/system/cpu/cpu{c}/node0"));
        h.remove(&format!("sys/devices/system/cpu/cpu{c}/node1"));
    }
    h.remove("sys/devices/system/node");
    skipped(&full(), &h, "cores.numa_node", "no NUMA topology");
}

#[test]
fn hugepages_count() {
    let h = FakeHost::passing();
    passed(&full(), &h, "hugepages.count");
    h.write(
        "sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages",
        "4\n",
    );
    failed(&full(), &h, "hugepages.count", "4 x 2M on node0");
    // Without per-node pools the global pool counts.
    h.remove("sys/devices/system/node/node0/hugepages");
    passed(&full(), &h, "hugepages.count");
    let one_gig = full_with(|t| t.replace("size = \"2M\"", "size = \"1G\""));
    failed(&one_gig, &h, "hugepages.count", "0 x 1G");
    h.remove("sys/kernel/mm/hugepages/hugepages-1048576kB");
    failed(&one_gig, &h, "hugepages.count", "no 1G hugepage pool");
    let p = Profile::load("af-packet-veth").unwrap();
    skipped(&p, &h, "hugepages.count", "no_huge");
}

#[test]
fn hugepages_mount() {
    let h = FakeHost::passing();
    passed(&full(), &h, "hugepages.mount");
    h.write(
        "proc/mounts",
        "nodev /dev/hugepages hugetlbfs rw,pagesize=1G 0 0\n",
    );
    failed(&full(), &h, "hugepages.mount", "pagesize=1G");
    // No pagesize option: the default size from /proc/meminfo.
    h.write(
        "proc/mounts",
        "hugetlbfs /dev/hugepages hugetlbfs rw,relatime 0 0\n",
    );
    passed(&full(), &h, "hugepages.mount");
    h.write(
        "proc/mounts",
        "nodev /mnt/huge hugetlbfs rw,pagesize=2M 0 0\n",
    );
    failed(&full(), &h, "hugepages.mount", "/mnt/huge");
    h.write("proc/mounts", "sysfs /sys sysfs rw 0 0\n");
    failed(&full(), &h, "hugepages.mount", "no hugetlbfs");
    skipped(
        &Profile::load("af-packet-veth").unwrap(),
        &h,
        "hugepages.mount",
        "no_huge",
    );
}

#[test]
fn nic_pmd() {
    let h = FakeHost::passing();
    passed(&full(), &h, "nic.pmd");
    h.remove("usr/lib/x86_64-linux-gnu/dpdk/pmds-23.0/librte_net_mlx5.so");
    failed(&full(), &h, "nic.pmd", "librte_net_mlx5.so absent");
    h.remove("usr");
    skipped(&full(), &h, "nic.pmd", "no DPDK plugin directory");
    let no_pmd = full_with(|t| t.replace("pmd = \"net_mlx5\"\n", ""));
    skipped(&no_pmd, &h, "nic.pmd", "no nic.pmd");
}

#[test]
fn nic_driver() {
    let h = FakeHost::passing();
    passed(&full(), &h, "nic.driver");
    h.mkdir("sys/bus/pci/drivers/vfio-pci");
    h.link(
        &format!("sys/bus/pci/devices/{PCI}/driver"),
        "sys/bus/pci/drivers/vfio-pci",
    );
    failed(&full(), &h, "nic.driver", "bound to vfio-pci");
    h.remove(&format!("sys/bus/pci/devices/{PCI}/driver"));
    failed(&full(), &h, "nic.driver", "bound to no driver");
    h.remove(&format!("sys/bus/pci/devices/{PCI}"));
    failed(&full(), &h, "nic.driver", "no PCI device");
    skipped(
        &Profile::load("virtio-loopback").unwrap(),
        &h,
        "nic.driver",
        "virtual device",
    );
    let no_driver = full_with(|t| t.replace("driver = \"mlx5_core\"\n", ""));
    skipped(&no_driver, &h, "nic.driver", "no nic.driver");
}

#[test]
fn nic_interface() {
    let h = FakeHost::passing();
    passed(&full(), &h, "nic.interface");
    h.mkdir("sys/bus/pci/devices/0000:af:00.0");
    h.link(
        "sys/class/net/ens1f0/device",
        "sys/bus/pci/devices/0000:af:00.0",
    );
    failed(
        &full(),
        &h,
        "nic.interface",
        "ens1f0 is device 0000:af:00.0",
    );
    h.remove("sys/class/net/ens1f0");
    failed(&full(), &h, "nic.interface", "no interface ens1f0");
    // A veth has no bus device; existing is enough when the profile names no PCI address.
    h.mkdir("sys/class/net/tw-veth0");
    passed(
        &Profile::load("af-packet-veth").unwrap(),
        &h,
        "nic.interface",
    );
    skipped(
        &Profile::load("virtio-loopback").unwrap(),
        &h,
        "nic.interface",
        "no nic.interface",
    );
}

#[test]
fn nic_numa_node() {
    let h = FakeHost::passing();
    passed(&full(), &h, "nic.numa_node");
    h.write(&format!("sys/bus/pci/devices/{PCI}/numa_node"), "1\n");
    failed(&full(), &h, "nic.numa_node", "on node1");
    h.write(&format!("sys/bus/pci/devices/{PCI}/numa_node"), "-1\n");
    skipped(&full(), &h, "nic.numa_node", "reports no NUMA node");
    h.remove(&format!("sys/bus/pci/devices/{PCI}"));
    failed(&full(), &h, "nic.numa_node", "no PCI device");
    skipped(
        &Profile::load("virtio-loopback").unwrap(),
        &h,
        "nic.numa_node",
        "virtual device",
    );
}

#[test]
fn nic_irq_affinity() {
    let h = FakeHost::passing();
    passed(&full(), &h, "nic.irq_affinity");
    h.write("proc/irq/41/smp_affinity_list", "2\n");
    failed(&full(), &h, "nic.irq_affinity", "irq 41 on 2");
    h.write(
        "proc/interrupts",
        "           CPU0       CPU1\n 24:  1  0  IO-APIC 5-edge ACPI:Ged\n",
    );
    skipped(
        &full(),
        &h,
        "nic.irq_affinity",
        "no interrupts of 0000:3b:00.0 / ens1f0",
    );
    skipped(
        &Profile::load("e810-colo").unwrap(),
        &h,
        "nic.irq_affinity",
        "no nic.irq_affinity",
    );
}

#[test]
fn kernel_command_line_cpu_lists() {
    for (key, param) in [
        ("kernel.isolcpus", "isolcpus=managed_irq,domain,2-3"),
        ("kernel.nohz_full", "nohz_full=2-3"),
        ("kernel.rcu_nocbs", "rcu_nocbs=2-3"),
    ] {
        let h = FakeHost::passing();
        passed(&full(), &h, key);
        let cmdline = h.read("proc/cmdline");
        let name = param.split('=').next().unwrap();
        h.write("proc/cmdline", &cmdline.replace(param, ""));
        failed(&full(), &h, key, &format!("no {name}="));
        h.write(
            "proc/cmdline",
            &cmdline.replace(param, &format!("{name}=3")),
        );
        failed(&full(), &h, key, &format!("{name}=3"));
        h.write(
            "proc/cmdline",
            &cmdline.replace(param, &format!("{name}=bogus")),
        );
        failed(&full(), &h, key, "bogus");
        let off = full_with(|t| t.replace(&format!("{name} = true"), &format!("{name} = false")));
        skipped(&off, &h, key, &format!("does not require {name}="));
    }
}

#[test]
fn c_state_limits() {
    for module in ["intel_idle", "processor"] {
        let key = if module == "intel_idle" {
            "kernel.intel_idle.max_cstate"
        } else {
            "kernel.processor.max_cstate"
        };
        let h = FakeHost::passing();
        passed(&full(), &h, key);
        let live = format!("sys/module/{module}/parameters/max_cstate");
        h.write(&live, "9\n");
        failed(&full(), &h, key, &format!("{module}.max_cstate=9 (live)"));
        // Without the live parameter, the command line decides.
        h.remove(&live);
        passed(&full(), &h, key);
        let cmdline = h.read("proc/cmdline");
        h.write(
            "proc/cmdline",
            &cmdline.replace(&format!("{module}.max_cstate=1"), ""),
        );
        failed(&full(), &h, key, "unset");
        h.remove(&format!("sys/module/{module}"));
        skipped(&full(), &h, key, "not in this kernel");
        skipped(
            &Profile::load("virtio-loopback").unwrap(),
            &h,
            key,
            "does not limit C-states",
        );
    }
}

#[test]
fn transparent_hugepages() {
    let h = FakeHost::passing();
    passed(&full(), &h, "kernel.thp");
    h.write(
        "sys/kernel/mm/transparent_hugepage/enabled",
        "[always] madvise never\n",
    );
    failed(&full(), &h, "kernel.thp", "always");
    h.write(
        "sys/kernel/mm/transparent_hugepage/enabled",
        "always madvise never\n",
    );
    failed(&full(), &h, "kernel.thp", "no selected mode");
    let unset = full_with(|t| t.replace("thp = \"never\"\n", ""));
    skipped(&unset, &h, "kernel.thp", "no kernel.thp");
}

#[test]
fn swappiness() {
    let h = FakeHost::passing();
    passed(&full(), &h, "kernel.swappiness");
    h.write("proc/sys/vm/swappiness", "60\n");
    failed(&full(), &h, "kernel.swappiness", "60");
    skipped(
        &Profile::load("virtio-loopback").unwrap(),
        &h,
        "kernel.swappiness",
        "no kernel.swappiness",
    );
}

#[test]
fn cpufreq_governor() {
    let h = FakeHost::passing();
    passed(&full(), &h, "kernel.governor");
    h.write(
        "sys/devices/system/cpu/cpu2/cpufreq/scaling_governor",
        "powersave\n",
    );
    failed(&full(), &h, "kernel.governor", "cpu2=powersave");
    for c in 0..4 {
        h.remove(&format!("sys/devices/system/cpu/cpu{c}/cpufreq"));
    }
    skipped(&full(), &h, "kernel.governor", "no cpufreq");
    let unset = full_with(|t| t.replace("governor = \"performance\"\n", ""));
    skipped(&unset, &h, "kernel.governor", "no kernel.governor");
}

#[test]
fn irqbalance() {
    let h = FakeHost::passing();
    passed(&full(), &h, "kernel.irqbalance_off");
    h.write("proc/777/comm", "irqbalance\n");
    failed(&full(), &h, "kernel.irqbalance_off", "pid 777");
    let off = full_with(|t| t.replace("irqbalance_off = true", "irqbalance_off = false"));
    skipped(
        &off,
        &h,
        "kernel.irqbalance_off",
        "does not require irqbalance off",
    );
}

#[test]
fn irqs_on_housekeeping() {
    let h = FakeHost::passing();
    passed(&full(), &h, "kernel.irqs_on_housekeeping");
    h.write("proc/irq/24/smp_affinity_list", "0-3\n");
    failed(&full(), &h, "kernel.irqs_on_housekeeping", "irq 24 on 0-3");
    let off = full_with(|t| {
        t.replace(
            "irqs_on_housekeeping = true",
            "irqs_on_housekeeping = false",
        )
    });
    skipped(
        &off,
        &h,
        "kernel.irqs_on_housekeeping",
        "does not confine IRQs",
    );
}

#[test]
fn irq_default_affinity() {
    let h = FakeHost::passing();
    passed(&full(), &h, "kernel.irq_default_affinity");
    // Bits beyond the host's CPUs do not count.
    h.write("proc/irq/default_smp_affinity", "ffffff03\n");
    passed(&full(), &h, "kernel.irq_default_affinity");
    h.write("proc/irq/default_smp_affinity", "f\n");
    failed(&full(), &h, "kernel.irq_default_affinity", "0-3");
    let off = full_with(|t| {
        t.replace(
            "irqs_on_housekeeping = true",
            "irqs_on_housekeeping = false",
        )
    });
    skipped(
        &off,
        &h,
        "kernel.irq_default_affinity",
        "does not confine IRQs",
    );
}

#[test]
fn every_check_is_covered_by_a_test_here() {
    // Guards the list above: a new check must come with its pass/fail/skip test.
    let src = include_str!("verify.rs");
    for key in CHECKS {
        assert!(src.contains(&format!("\"{key}\"")), "no test names {key}");
    }
}
