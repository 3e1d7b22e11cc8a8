//! `apply` on fake trees: root only, run-time settings written and verified afterwards,
//! boot-only settings returned as a kernel command line.
#![allow(clippy::unwrap_used)]

mod support;

use support::fake_host::{FakeHost, FULL_PROFILE};
use tickwire_hw::apply::{
    apply, kernel_cmdline, missing_cmdline, require_root, ActionOutcome, ApplyError,
};
use tickwire_hw::verify::{verify, Outcome, Verdict};
use tickwire_hw::{HostRoot, Profile};

fn full() -> Profile {
    Profile::from_toml(FULL_PROFILE, "test").unwrap()
}

/// A passing host with every run-time setting undone.
fn drifted() -> FakeHost {
    let h = FakeHost::passing();
    h.write(
        "sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages",
        "2\n",
    );
    h.write(
        "sys/kernel/mm/transparent_hugepage/enabled",
        "[always] madvise never\n",
    );
    h.write("proc/sys/vm/swappiness", "60\n");
    h.write(
        "sys/devices/system/cpu/cpu2/cpufreq/scaling_governor",
        "powersave\n",
    );
    h.write("proc/irq/24/smp_affinity_list", "0-3\n");
    h.write("proc/irq/41/smp_affinity_list", "2\n");
    h.write("proc/irq/default_smp_affinity", "f\n");
    h
}

#[test]
fn a_non_root_user_is_refused_and_nothing_is_written() {
    assert_eq!(require_root(0), Ok(()));
    assert_eq!(require_root(1000), Err(ApplyError::NotRoot { euid: 1000 }));
    let h = drifted();
    let e = apply(&full(), &HostRoot::new(h.root()), 1000).unwrap_err();
    assert_eq!(e, ApplyError::NotRoot { euid: 1000 });
    assert!(e.to_string().contains("needs root"), "{e}");
    assert_eq!(h.read("proc/sys/vm/swappiness"), "60");
    assert_eq!(h.read("proc/irq/24/smp_affinity_list"), "0-3");
}

#[test]
fn apply_fixes_the_run_time_settings_and_verify_then_passes() {
    let h = drifted();
    let host = HostRoot::new(h.root());
    let before = verify(&full(), &host);
    assert_eq!(before.failed, 7, "{:#?}", before.checks);
    let report = apply(&full(), &host, 0).unwrap();
    assert!(!report.any_failed(), "{report:#?}");
    let outcome = |k: &str| {
        report
            .actions
            .iter()
            .find(|a| a.key == k)
            .unwrap()
            .outcome
            .clone()
    };
    for key in [
        "hugepages.count",
        "kernel.thp",
        "kernel.swappiness",
        "kernel.governor",
        "nic.irq_affinity",
        "kernel.irqs_on_housekeeping",
        "kernel.irq_default_affinity",
    ] {
        assert!(
            matches!(outcome(key), ActionOutcome::Changed { .. }),
            "{key}: {:?}",
            outcome(key)
        );
    }
    assert!(matches!(
        outcome("hugepages.mount"),
        ActionOutcome::Unchanged { .. }
    ));
    assert!(matches!(
        outcome("kernel.irqbalance_off"),
        ActionOutcome::Unchanged { .. }
    ));
    assert_eq!(h.read("proc/sys/vm/swappiness"), "0");
    assert_eq!(
        h.read("sys/kernel/mm/transparent_hugepage/enabled"),
        "never"
    );
    assert_eq!(h.read("proc/irq/24/smp_affinity_list"), "0-1");
    assert_eq!(h.read("proc/irq/default_smp_affinity"), "3");
    assert_eq!(
        h.read("sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages"),
        "8"
    );
    // THP in a real sysfs reads back with brackets; the fake file holds what was written.
    h.write(
        "sys/kernel/mm/transparent_hugepage/enabled",
        "always madvise [never]\n",
    );
    let after = verify(&full(), &host);
    assert_eq!(after.verdict, Verdict::Passed, "{:#?}", after.checks);
    // A second run changes nothing.
    let again = apply(&full(), &host, 0).unwrap();
    assert!(
        again
            .actions
            .iter()
            .all(|a| matches!(a.outcome, ActionOutcome::Unchanged { .. })),
        "{again:#?}"
    );
}

#[test]
fn what_cannot_be_applied_is_said() {
    let h = FakeHost::passing();
    h.write("proc/mounts", "sysfs /sys sysfs rw 0 0\n");
    h.write("proc/88/comm", "irqbalance\n");
    for c in 0..4 {
        h.remove(&format!("sys/devices/system/cpu/cpu{c}/cpufreq"));
    }
    let report = apply(&full(), &HostRoot::new(h.root()), 0).unwrap();
    let outcome = |k: &str| {
        report
            .actions
            .iter()
            .find(|a| a.key == k)
            .unwrap()
            .outcome
            .clone()
    };
    match outcome("hugepages.mount") {
        ActionOutcome::NotApplied { reason } => {
            assert!(
                reason.contains("mount -t hugetlbfs -o pagesize=2M nodev /dev/hugepages"),
                "{reason}"
            )
        }
        o => panic!("{o:?}"),
    }
    match outcome("kernel.irqbalance_off") {
        ActionOutcome::NotApplied { reason } => {
            assert!(reason.contains("systemctl disable --now irqbalance"))
        }
        o => panic!("{o:?}"),
    }
    assert!(matches!(
        outcome("kernel.governor"),
        ActionOutcome::NotApplied { .. }
    ));
}

#[test]
fn the_kernel_command_line_covers_boot_only_settings() {
    let line = kernel_cmdline(&Profile::load("mlx5-colo").unwrap()).join(" ");
    assert_eq!(
        line,
        "isolcpus=managed_irq,domain,4-7 nohz_full=4-7 rcu_nocbs=4-7 intel_idle.max_cstate=1 \
         processor.max_cstate=1 default_hugepagesz=1G hugepagesz=1G hugepages=4"
    );
    let v = kernel_cmdline(&Profile::load("virtio-loopback").unwrap());
    assert!(v.is_empty(), "{v:?}");
    let h = FakeHost::passing();
    let report = apply(&full(), &HostRoot::new(h.root()), 0).unwrap();
    assert!(
        report.cmdline_missing.is_empty(),
        "{:?}",
        report.cmdline_missing
    );
    h.write(
        "proc/cmdline",
        "BOOT_IMAGE=/vmlinuz isolcpus=2-3 nohz_full=2-3\n",
    );
    let report = apply(&full(), &HostRoot::new(h.root()), 0).unwrap();
    assert_eq!(
        report.cmdline_missing,
        [
            "isolcpus=managed_irq,domain,2-3",
            "rcu_nocbs=2-3",
            "intel_idle.max_cstate=1",
            "processor.max_cstate=1"
        ]
    );
    assert_eq!(
        missing_cmdline(&["a=1".into(), "b".into()], "a=1 b c=2"),
        Vec::<String>::new()
    );
}

#[test]
fn verify_sees_what_apply_left_undone() {
    let h = drifted();
    h.write("proc/99/comm", "irqbalance\n");
    let host = HostRoot::new(h.root());
    apply(&full(), &host, 0).unwrap();
    let r = verify(&full(), &host);
    assert!(matches!(
        r.check("kernel.irqbalance_off").unwrap().outcome,
        Outcome::Failed { .. }
    ));
}
