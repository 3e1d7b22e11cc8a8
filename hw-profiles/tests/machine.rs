//! `show::Machine`, the machine line a benchmark prints: read from fake trees (a VM like the
//! development one, a tuned bare-metal host, a tree with nothing in it) and from this host.
#![allow(clippy::unwrap_used)]

mod support;

use support::fake_host::FakeHost;
use tickwire_hw::show::Machine;
use tickwire_hw::{CpuList, HostRoot};

/// A 2-vCPU VM: cpuinfo as a hypervisor masks it, no SMT, nothing isolated.
fn vm() -> FakeHost {
    let h = FakeHost::empty();
    let mut cpuinfo = String::new();
    for c in 0..2 {
        cpuinfo.push_str(&format!(
            "processor\t: {c}\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 17\n\
             model name\t: AMD EPYC\nstepping\t: 1\nflags\t\t: fpu sse2 hypervisor avx2\n\n"
        ));
    }
    h.write("proc/cpuinfo", &cpuinfo);
    h.write("sys/devices/system/cpu/online", "0-1\n");
    h.write("sys/devices/system/cpu/smt/active", "0\n");
    h.write("sys/devices/system/cpu/isolated", "\n");
    h.write("proc/cmdline", "console=ttyS0 quiet\n");
    h.write(
        "proc/meminfo",
        "MemTotal:       24683664 kB\nMemFree: 1 kB\n",
    );
    h.write("proc/sys/kernel/osrelease", "6.18.44-fc\n");
    h
}

#[test]
fn a_vm_is_described_field_by_field_and_in_one_line() {
    let h = vm();
    let m = Machine::read(&HostRoot::new(h.root()));
    assert_eq!(m.cpu_model.as_deref(), Some("AMD EPYC"));
    assert_eq!(
        (m.cpu_family, m.cpu_model_number, m.cpu_stepping),
        (Some(25), Some(17), Some(1))
    );
    assert!(m.virtual_machine);
    assert_eq!(m.online, Some(CpuList::parse("0-1").unwrap()));
    assert_eq!(m.smt, Some(false));
    assert_eq!(m.isolated, Some(CpuList::new()));
    assert_eq!(m.nohz_full.as_deref(), Some(""), "read, and not set");
    assert_eq!(m.mem_total_kib, Some(24_683_664));
    assert_eq!(m.kernel.as_deref(), Some("6.18.44-fc"));
    assert_eq!(
        m.to_string(),
        "AMD EPYC (family 25, model 17, stepping 1), virtual, 2 CPUs (0-1), SMT off, 23.5 GiB, \
         Linux 6.18.44-fc, no isolated CPUs, no nohz_full"
    );
}

#[test]
fn a_tuned_host_shows_its_isolation() {
    let h = vm();
    // "model name" must not be taken for "model", nor "flags" found in another key's value.
    h.write(
        "proc/cpuinfo",
        "processor\t: 0\nmodel name\t: Xeon model 9\ncpu family\t: 6\nmodel\t\t: 143\n\
         flags\t\t: fpu sse2 avx512f\nbugs\t\t: hypervisor\n\n",
    );
    h.write("sys/devices/system/cpu/smt/active", "1\n");
    h.write("sys/devices/system/cpu/isolated", "2-3\n");
    h.write("sys/devices/system/cpu/online", "0-3\n");
    h.write("proc/cmdline", "isolcpus=2-3 nohz_full=1 nohz_full=2-3\n");
    let m = Machine::read(&HostRoot::new(h.root()));
    assert_eq!((m.cpu_family, m.cpu_model_number), (Some(6), Some(143)));
    assert_eq!(m.cpu_stepping, None);
    assert!(!m.virtual_machine);
    assert_eq!(m.smt, Some(true));
    assert_eq!(m.nohz_full.as_deref(), Some("2-3"), "the last one wins");
    assert_eq!(
        m.to_string(),
        "Xeon model 9 (family 6, model 143), bare metal, 4 CPUs (0-3), SMT on, 23.5 GiB, \
         Linux 6.18.44-fc, isolated CPUs 2-3, nohz_full=2-3"
    );
}

#[test]
fn what_cannot_be_read_is_said_to_be_unknown() {
    let h = FakeHost::empty();
    h.write("sys/devices/system/cpu/smt/active", "2\n");
    h.write("proc/meminfo", "MemTotal: lots\n");
    let m = Machine::read(&HostRoot::new(h.root()));
    assert_eq!(m.smt, None, "a value other than 0 or 1 is not taken");
    assert_eq!(m.mem_total_kib, None);
    assert_eq!(m.nohz_full, None, "no command line to read");
    assert_eq!(
        m.to_string(),
        "unknown CPU, bare metal, online CPUs unknown, SMT unknown, isolated CPUs unknown, \
         nohz_full unknown"
    );
}

#[test]
fn this_host_has_a_cpu_memory_and_a_kernel() {
    let m = Machine::read(&HostRoot::live());
    let online = m.online.as_ref().expect("/sys/devices/system/cpu/online");
    assert!(!online.is_empty());
    assert!(m.mem_total_kib.unwrap() > 0);
    let kernel = m.kernel.as_deref().expect("/proc/sys/kernel/osrelease");
    assert!(m.to_string().contains(&format!("Linux {kernel}")), "{m}");
}
