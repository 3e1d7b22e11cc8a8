//! Profile loading and validation: shipped profiles, files, and errors that name the key.
#![allow(clippy::unwrap_used)]

mod support;

use support::fake_host::FULL_PROFILE;
use tickwire_hw::profile::{PageSize, ProfileError};
use tickwire_hw::{shipped, Profile};

fn err(text: &str) -> String {
    Profile::from_toml(text, "test.toml")
        .unwrap_err()
        .to_string()
}

fn edited(from: &str, to: &str) -> String {
    assert!(
        FULL_PROFILE.contains(from),
        "{from:?} not in the test profile"
    );
    FULL_PROFILE.replacen(from, to, 1)
}

#[test]
fn every_shipped_profile_loads_and_validates() {
    for name in shipped::NAMES {
        let p = Profile::load(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(p.name, name);
        assert!(!p.description.is_empty(), "{name} has no description");
        p.validate().unwrap();
    }
    let v = Profile::load("virtio-loopback").unwrap();
    assert_eq!(v.cores.count, 2);
    assert!(v.cores.isolated.is_empty());
    assert_eq!(v.hugepages.as_ref().unwrap().size, PageSize::Mib2);
    assert!(v.nic.vdev.as_deref().unwrap().starts_with("virtio_user"));
    assert_eq!(
        Profile::load("mlx5-colo").unwrap().nic.driver.as_deref(),
        Some("mlx5_core")
    );
    assert_eq!(
        Profile::load("e810-colo").unwrap().nic.pmd.as_deref(),
        Some("net_ice")
    );
    assert_eq!(
        Profile::load("sfc-colo").unwrap().nic.pmd.as_deref(),
        Some("net_sfc")
    );
}

#[test]
fn a_profile_loads_from_a_file_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mine.toml");
    std::fs::write(&path, FULL_PROFILE).unwrap();
    let p = Profile::load(path.to_str().unwrap()).unwrap();
    assert_eq!(p.name, "test-full");
    std::fs::write(&path, edited("dataplane = \"2\"", "dataplane = \"7\"")).unwrap();
    let e = Profile::load(path.to_str().unwrap()).unwrap_err();
    assert_eq!(e.to_string(), "cores.dataplane: core 7 is not in 0..=3");
}

#[test]
fn an_unknown_profile_names_itself_and_the_shipped_ones() {
    let e = Profile::load("no-such-profile").unwrap_err();
    assert!(matches!(e, ProfileError::Unknown { .. }));
    let m = e.to_string();
    assert!(m.contains("\"no-such-profile\""), "{m}");
    assert!(m.contains("virtio-loopback"), "{m}");
}

#[test]
fn bad_toml_reports_the_origin_and_line() {
    let m = err("name = \"x\"\n[cores\ncount = 2\n");
    assert!(m.starts_with("profile test.toml:"), "{m}");
    assert!(m.contains("line 2"), "{m}");
}

#[test]
fn unknown_keys_are_named() {
    let m = err(&edited("[cores]\n", "[cores]\ncpus = 4\n"));
    assert!(m.contains("cores.cpus: unknown field `cpus`"), "{m}");
    let m = err(&edited("[kernel]\n", "[kernel]\nisolcpu = true\n"));
    assert!(m.contains("kernel.isolcpu: unknown field `isolcpu`"), "{m}");
    let m = err(&format!("{FULL_PROFILE}\n[extra]\nx = 1\n"));
    assert!(m.contains("unknown field `extra`"), "{m}");
}

#[test]
fn missing_keys_are_named() {
    let m = err(&edited("dataplane = \"2\"\n", ""));
    assert!(m.contains("cores: missing field `dataplane`"), "{m}");
    let m = err(&edited("count = 4", "count = \"4\""));
    assert!(m.contains("cores.count: invalid type"), "{m}");
}

#[test]
fn wrong_types_and_values_are_named() {
    let m = err(&edited("size = \"2M\"", "size = \"4M\""));
    assert!(m.contains("hugepages.size: unknown variant `4M`"), "{m}");
    let m = err(&edited("dataplane = \"2\"", "dataplane = \"2-x\""));
    assert!(
        m.contains("cores.dataplane: ") && m.contains("not a CPU range"),
        "{m}"
    );
    let m = err(&edited("thp = \"never\"", "thp = \"sometimes\""));
    assert!(m.contains("sometimes"), "{m}");
}

#[test]
fn cores_out_of_range_are_named() {
    assert_eq!(
        err(&edited("dataplane = \"2\"", "dataplane = \"7\"")),
        "cores.dataplane: core 7 is not in 0..=3"
    );
    assert_eq!(
        err(&edited(
            "housekeeping = \"0-1\"",
            "housekeeping = \"0-1,4\""
        )),
        "cores.housekeeping: core 4 is not in 0..=3"
    );
    assert_eq!(
        err(&edited("isolated = \"2-3\"", "isolated = \"2-5\"")),
        "cores.isolated: core 4 is not in 0..=3"
    );
    assert_eq!(
        err(&edited("irq_affinity = \"0-1\"", "irq_affinity = \"9\"")),
        "nic.irq_affinity: core 9 is not in 0..=3"
    );
    assert_eq!(
        err(&edited("count = 4", "count = 0")),
        "cores.count: must be at least 1"
    );
}

#[test]
fn overlapping_roles_are_named() {
    assert_eq!(
        err(&edited("control = \"3\"", "control = \"2-3\"")),
        "cores.control: core 2 is also a dataplane core"
    );
    assert_eq!(
        err(&edited("housekeeping = \"0-1\"", "housekeeping = \"0-2\"")),
        "cores.housekeeping: core 2 is also a dataplane core"
    );
    assert!(err(&edited("isolated = \"2-3\"", "isolated = \"1-3\""))
        .starts_with("cores.isolated: core 1 is a housekeeping core"));
    assert!(
        err(&edited("irq_affinity = \"0-1\"", "irq_affinity = \"1-2\""))
            .starts_with("nic.irq_affinity: core 2 is a dataplane core")
    );
    assert_eq!(
        err(&edited("dataplane = \"2\"", "dataplane = \"\"")),
        "cores.dataplane: needs at least one core"
    );
}

#[test]
fn nic_rules_are_named() {
    assert_eq!(
        err(&edited(
            "pci = \"0000:3b:00.0\"",
            "pci = \"0000:3b:00.0\"\nvdev = \"net_tap0\""
        )),
        "nic: give exactly one of nic.pci or nic.vdev"
    );
    assert!(err(&edited("pci = \"0000:3b:00.0\"", "pci = \"3b:00.0\"")).starts_with("nic.pci:"));
    assert!(err(&edited(
        "pmd = \"net_mlx5\"",
        "pmd = \"net_mlx5\"\nrx_ring = 1000"
    ))
    .starts_with("nic.rx_ring: 1000 is not a power of two"));
    assert!(err(&edited(
        "pmd = \"net_mlx5\"",
        "pmd = \"net_mlx5\"\ntx_queues = 0"
    ))
    .starts_with("nic.tx_queues:"));
    assert!(err(&edited(
        "pmd = \"net_mlx5\"",
        "pmd = \"net_mlx5\"\noffloads = [\"rx_tcp_cksum\", \"rx_tcp_cksum\"]"
    ))
    .starts_with("nic.offloads:"));
    assert!(err(&edited(
        "pmd = \"net_mlx5\"",
        "pmd = \"net_mlx5\"\noffloads = [\"lro\"]"
    ))
    .contains("unknown variant `lro`"));
    assert!(
        err(&edited("interface = \"ens1f0\"", "interface = \"a/b\"")).starts_with("nic.interface:")
    );
}

#[test]
fn memory_and_kernel_rules_are_named() {
    let no_huge = edited("[hugepages]", "[eal]\nno_huge = true\n\n[hugepages]");
    assert!(
        err(&no_huge).starts_with("eal.no_huge:"),
        "{}",
        err(&no_huge)
    );
    let start = FULL_PROFILE.find("[hugepages]").unwrap();
    let end = FULL_PROFILE.find("[nic]").unwrap();
    let without = format!("{}{}", &FULL_PROFILE[..start], &FULL_PROFILE[end..]);
    assert_eq!(
        err(&without),
        "hugepages: required unless eal.no_huge = true"
    );
    assert_eq!(
        err(&edited("count = 8", "count = 0")),
        "hugepages.count: must be at least 1"
    );
    assert!(err(&edited(
        "mount = \"/dev/hugepages\"",
        "mount = \"hugepages\""
    ))
    .starts_with("hugepages.mount:"));
    assert!(err(&format!("{FULL_PROFILE}\n[eal]\nmemory_mb = 100\n"))
        .starts_with("eal.memory_mb: 100 MiB is more than the 16 MiB reserved"));
    assert!(err(&format!(
        "{FULL_PROFILE}\n[eal]\nin_memory = true\nfile_prefix = \"a\"\n"
    ))
    .starts_with("eal.file_prefix:"));
    assert!(err(&edited("isolated = \"2-3\"\n", ""))
        .starts_with("kernel.isolcpus: needs a non-empty cores.isolated"));
    assert!(err(&edited("swappiness = 0", "swappiness = 201")).starts_with("kernel.swappiness:"));
    assert!(err(&edited(
        "governor = \"performance\"",
        "governor = \"Fast!\""
    ))
    .starts_with("kernel.governor:"));
    assert!(err(&edited("name = \"test-full\"", "name = \"Test Full\"")).starts_with("name:"));
}
