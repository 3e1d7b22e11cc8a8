//! `tickwire hw …` through the built binary: the real host, fake host roots that pass and
//! fail, JSON output, usage and environment errors, and `apply`.
#![allow(clippy::unwrap_used)]

#[path = "../../hw-profiles/tests/support/fake_host.rs"]
mod fake_host;

use std::process::Command;

use fake_host::{FakeHost, FULL_PROFILE};

fn tickwire(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tickwire"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every check key `verify` reports (kept in step with `tickwire_hw::verify::CHECKS`).
fn check_keys() -> &'static [&'static str] {
    &tickwire_hw::verify::CHECKS
}

/// FULL_PROFILE in a file in `host`'s tree (outside its procfs/sysfs).
fn profile_file(host: &FakeHost) -> String {
    host.write("profile.toml", FULL_PROFILE);
    host.path("profile.toml").to_str().unwrap().to_owned()
}

#[test]
fn verify_virtio_loopback_on_this_host_reports_every_check_and_an_honest_verdict() {
    let (code, out, err) = tickwire(&["hw", "verify", "--profile", "virtio-loopback"]);
    assert!(code == 0 || code == 1, "exit {code}: {err}");
    assert!(
        out.starts_with("tickwire hw verify: profile virtio-loopback on /"),
        "{out}"
    );
    for key in check_keys() {
        let line = out
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(*key))
            .unwrap_or_else(|| panic!("no line for {key}:\n{out}"));
        let status = line.split_whitespace().next().unwrap();
        assert!(["passed", "FAILED", "skipped"].contains(&status), "{line}");
        if status == "FAILED" {
            assert!(
                line.contains("current: ") && line.contains("expected: "),
                "{line}"
            );
        }
    }
    let verdicts: Vec<&str> = out.lines().filter(|l| l.starts_with("verdict: ")).collect();
    assert_eq!(verdicts.len(), 1, "{out}");
    let failed = out
        .lines()
        .filter(|l| l.trim_start().starts_with("FAILED"))
        .count();
    if code == 0 {
        assert!(verdicts[0].starts_with("verdict: PASSED"), "{out}");
        assert_eq!(failed, 0);
    } else {
        assert!(verdicts[0].starts_with("verdict: FAILED"), "{out}");
        assert!(failed > 0);
    }
    assert!(
        verdicts[0].contains(&format!("{failed} failed")),
        "{}",
        verdicts[0]
    );
    // A VM has no cpufreq: said as a skip with the reason, not passed.
    if !std::path::Path::new("/sys/devices/system/cpu/cpu0/cpufreq").exists() {
        assert!(
            out.lines().any(|l| l.contains("skipped")
                && l.contains("kernel.governor")
                && l.contains("no cpufreq")),
            "{out}"
        );
    }
}

#[test]
fn verify_json_on_this_host_parses_and_agrees_with_the_exit_code() {
    let (code, out, err) = tickwire(&[
        "hw",
        "verify",
        "--profile",
        "virtio-loopback",
        "--output",
        "json",
    ]);
    assert!(code == 0 || code == 1, "exit {code}: {err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let checks = v["checks"].as_array().unwrap();
    assert_eq!(checks.len(), check_keys().len());
    for (c, key) in checks.iter().zip(check_keys()) {
        assert_eq!(c["key"], *key);
        match c["status"].as_str().unwrap() {
            "passed" => assert!(c["current"].is_string()),
            "failed" => assert!(c["current"].is_string() && c["expected"].is_string(), "{c}"),
            "skipped" => assert!(!c["reason"].as_str().unwrap().is_empty()),
            s => panic!("status {s}"),
        }
    }
    let failed = checks.iter().filter(|c| c["status"] == "failed").count();
    assert_eq!(v["failed"].as_u64().unwrap() as usize, failed);
    assert_eq!(v["verdict"], if code == 0 { "passed" } else { "failed" });
    assert_eq!(code == 0, failed == 0);
}

#[test]
fn a_fake_host_that_passes_exits_0() {
    let h = FakeHost::passing();
    let profile = profile_file(&h);
    let (code, out, err) = tickwire(&[
        "hw",
        "verify",
        "--profile",
        &profile,
        "--host-root",
        h.root().to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains(&format!(
            "verdict: PASSED ({} passed, 0 failed, 0 skipped)",
            check_keys().len()
        )),
        "{out}"
    );
}

#[test]
fn a_fake_host_that_fails_exits_1_with_current_and_expected() {
    let h = FakeHost::passing();
    h.write("proc/sys/vm/swappiness", "60\n");
    h.write("sys/devices/system/cpu/isolated", "\n");
    let profile = profile_file(&h);
    let root = h.root().to_str().unwrap();
    let (code, out, err) = tickwire(&["hw", "verify", "--profile", &profile, "--host-root", root]);
    assert_eq!(code, 1, "{out}\n{err}");
    let line = out
        .lines()
        .find(|l| l.contains("kernel.swappiness"))
        .unwrap();
    assert!(line.trim_start().starts_with("FAILED"), "{line}");
    assert!(line.contains("current: 60; expected: 0"), "{line}");
    assert!(
        out.contains("cores.isolated") && out.contains("current: none; expected: 2-3 isolated"),
        "{out}"
    );
    assert!(out.contains("verdict: FAILED"), "{out}");
    assert!(out.contains("2 failed"), "{out}");

    let (code, out, _) = tickwire(&[
        "hw",
        "verify",
        "--profile",
        &profile,
        "--host-root",
        root,
        "--output",
        "json",
    ]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["verdict"], "failed");
    let swap = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == "kernel.swappiness")
        .unwrap();
    assert_eq!(swap["status"], "failed");
    assert_eq!(swap["current"], "60");
    assert_eq!(swap["expected"], "0");
}

#[test]
fn an_unknown_profile_exits_2_and_names_it() {
    let (code, out, err) = tickwire(&["hw", "verify", "--profile", "warp-drive"]);
    assert_eq!(code, 2, "{out}");
    assert!(err.contains("unknown profile \"warp-drive\""), "{err}");
    assert!(err.contains("virtio-loopback"), "{err}");
    let (code, _, err) = tickwire(&["hw", "eal-args", "--profile", "warp-drive"]);
    assert_eq!(code, 2);
    assert!(err.contains("warp-drive"), "{err}");
}

#[test]
fn an_invalid_profile_file_exits_2_and_names_the_key() {
    let h = FakeHost::empty();
    h.write(
        "bad.toml",
        &FULL_PROFILE.replacen("dataplane = \"2\"", "dataplane = \"7\"", 1),
    );
    let (code, _, err) = tickwire(&[
        "hw",
        "verify",
        "--profile",
        h.path("bad.toml").to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("cores.dataplane: core 7 is not in 0..=3"),
        "{err}"
    );
}

#[test]
fn a_missing_host_root_exits_3() {
    let (code, _, err) = tickwire(&[
        "hw",
        "verify",
        "--profile",
        "virtio-loopback",
        "--host-root",
        "/nonexistent/root",
    ]);
    assert_eq!(code, 3);
    assert!(
        err.contains("host root /nonexistent/root is not a directory"),
        "{err}"
    );
}

#[test]
fn profiles_lists_the_shipped_ones() {
    let (code, out, _) = tickwire(&["hw", "profiles"]);
    assert_eq!(code, 0);
    for name in [
        "virtio-loopback",
        "af-packet-veth",
        "mlx5-colo",
        "e810-colo",
        "sfc-colo",
    ] {
        assert!(out.lines().any(|l| l.starts_with(name)), "{name}:\n{out}");
    }
    let (code, out, _) = tickwire(&["hw", "profiles", "--output", "json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 5);
}

#[test]
fn eal_args_prints_the_vector() {
    let (code, out, _) = tickwire(&["hw", "eal-args", "--profile", "af-packet-veth"]);
    assert_eq!(code, 0);
    assert_eq!(
        out.trim(),
        "-l 0-1 --in-memory --no-huge -m 64 --no-pci --vdev net_af_packet0,iface=tw-veth0,qpairs=1"
    );
    let (code, out, _) = tickwire(&[
        "--output",
        "json",
        "hw",
        "eal-args",
        "--profile",
        "e810-colo",
    ]);
    assert_eq!(code, 0);
    let v: Vec<String> = serde_json::from_str(&out).unwrap();
    assert!(
        v.windows(2).any(|w| w[0] == "-a" && w[1] == "0000:5e:00.0"),
        "{v:?}"
    );
}

#[test]
fn show_describes_a_host() {
    let h = FakeHost::passing();
    let root = h.root().to_str().unwrap();
    let (code, out, err) = tickwire(&["hw", "show", "--host-root", root]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Fake CPU @ 3.00GHz"), "{out}");
    assert!(out.contains("online        0-3"), "{out}");
    assert!(
        out.contains("ens1f0") && out.contains("mlx5_core") && out.contains("0000:3b:00.0"),
        "{out}"
    );
    assert!(out.contains("/dev/hugepages (pagesize=2M)"), "{out}");
    let (code, out, _) = tickwire(&["hw", "show", "--host-root", root, "--output", "json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["online"], "0-3");
    assert_eq!(v["isolated"], "2-3");
    assert_eq!(v["swappiness"], 0);
    // The real host: runs and reports its CPUs.
    let (code, out, err) = tickwire(&["hw", "show"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.lines().any(|l| l.starts_with("online")), "{out}");
}

#[test]
fn apply_on_a_fake_root_fixes_it_and_prints_the_kernel_command_line() {
    let h = FakeHost::passing();
    h.write("proc/sys/vm/swappiness", "60\n");
    h.write("proc/cmdline", "BOOT_IMAGE=/vmlinuz\n");
    let profile = profile_file(&h);
    let root = h.root().to_str().unwrap();
    let (code, out, err) = tickwire(&["hw", "apply", "--profile", &profile, "--host-root", root]);
    if nix::unistd::geteuid().is_root() {
        assert_eq!(code, 0, "{out}\n{err}");
        assert!(
            out.contains("changed") && out.contains("kernel.swappiness") && out.contains("60 -> 0"),
            "{out}"
        );
        assert!(
            out.contains("isolcpus=managed_irq,domain,2-3 nohz_full=2-3 rcu_nocbs=2-3"),
            "{out}"
        );
        assert!(out.contains("missing from the running kernel"), "{out}");
        assert_eq!(h.read("proc/sys/vm/swappiness"), "0");
    } else {
        // The refusal path (also covered as root by the unit test with a given euid).
        assert_eq!(code, 3, "{err}");
        assert!(err.contains("needs root"), "{err}");
        assert_eq!(h.read("proc/sys/vm/swappiness"), "60");
    }
}
