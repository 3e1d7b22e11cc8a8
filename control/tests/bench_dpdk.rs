//! `tickwire bench` built with `--features dpdk`: the DPDK rows (virtio_user ↔ vhost and memif,
//! one EAL for both) have numbers inside the appliance and at the venue, every order filled,
//! their files written and nothing of theirs left behind; a host that cannot run them gets rows
//! that say why, and the other rows still run; run after run with both CPUs busy, the process
//! ends cleanly (no crash when the ports' run is over).
//!
//! `cargo test -p tickwire-control --features dpdk --test bench_dpdk` (root and 64 MiB of free
//! 2 MiB hugepages for the measured rows, scripts/setup-host).
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

mod support;
use support::{bench_json, tickwire, tickwire_as_nobody};

/// Names in `dir` that start with `prefix`.
fn left(dir: &str, prefix: &str) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(prefix))
                .collect()
        })
        .unwrap_or_default()
}

fn hugetlbfs() -> Option<String> {
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap();
    mounts.lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.len() > 3 && f[2] == "hugetlbfs" && !f[3].contains("pagesize=1G"))
            .then(|| f[1].to_string())
    })
}

/// One EAL at a time: each takes 64 MiB of the 128 MiB of hugepages scripts/setup-host reserves.
static EAL: Mutex<()> = Mutex::new(());

/// The turn to start an EAL ([`EAL`]), which needs root (and hugepages): CI runs as root, and
/// `dpdk_rows_say_why_not_and_the_others_still_run` covers the unprivileged case.
fn one_eal() -> std::sync::MutexGuard<'static, ()> {
    assert!(
        nix::unistd::geteuid().is_root(),
        "needs root (EAL, hugepages); CI runs as root"
    );
    EAL.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[test]
fn dpdk_rows_have_numbers_and_every_order_is_filled() {
    let _eal = one_eal();
    let out = tempfile::tempdir().unwrap();
    let v = bench_json(
        tickwire,
        &[
            "--ticks",
            "4000",
            "--topology",
            "inmem,dpdk",
            "--dpdk-prefix",
            "hp-t",
        ],
        out.path(),
    );
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3, "inmem, then one row per DPDK pair: {v}");
    assert!(runs[0]["topology"].as_str().unwrap().contains("in-memory"));
    for (run, pair) in runs[1..]
        .iter()
        .zip(["virtio_user <-> net_vhost", "net_memif"])
    {
        assert!(run["topology"].as_str().unwrap().contains(pair), "{run}");
        assert_eq!(run["available"], true, "{run}");
        assert_eq!(run["ticks"], 4000, "{run}");
        assert!(run["orders"].as_u64().unwrap() > 4000 / 16, "{run}");
        assert_eq!(run["fills"], run["orders"], "every order filled: {run}");
        assert_eq!(run["frames_dropped"], 0, "{run}");
        assert_eq!(run["risk_refused"], 0, "{run}");
        for k in ["ns", "at_venue_ns"] {
            assert!(run[k]["p50"].as_u64().unwrap() > 0, "{run}");
            assert!(
                run[k]["max"].as_u64().unwrap() >= run[k]["p99.9"].as_u64().unwrap(),
                "{run}"
            );
        }
        // At the venue contains the appliance's part (and the venue's stack on the pair).
        assert!(
            run["at_venue_ns"]["p50"].as_u64() > run["ns"]["p50"].as_u64(),
            "{run}"
        );
        assert!(run["p50_ratio_to_tickwire"].as_f64().unwrap() > 0.0);
        assert!(run["at_venue_p50_ratio_to_tickwire"].as_f64().unwrap() > 0.0);
    }
    for f in [
        "tickwire-dpdk-vhost.hgrm",
        "tickwire-dpdk-vhost-at-venue.hgrm",
        "tickwire-dpdk-memif.hgrm",
        "tickwire-dpdk-memif-at-venue.hgrm",
        "tick-to-trade.svg",
        "tick-to-trade-at-venue.svg",
    ] {
        assert!(out.path().join(f).exists(), "{f}");
    }
    let svg = std::fs::read_to_string(out.path().join("tick-to-trade.svg")).unwrap();
    assert!(svg.contains("net_vhost") && svg.contains("net_memif"));
    // Nothing of the run's EAL is left: sockets, runtime directory, hugepage files.
    assert_eq!(
        left(&std::env::temp_dir().to_string_lossy(), "hp-t"),
        Vec::<String>::new()
    );
    assert_eq!(left("/var/run/dpdk", "hp-t"), Vec::<String>::new());
    if let Some(h) = hugetlbfs() {
        assert_eq!(left(&h, "hp-t"), Vec::<String>::new());
    }

    // The text tables: both rows with numbers, ratios to the baselines at the venue.
    let (code, stdout, err) = tickwire(&[
        "bench",
        "--ticks",
        "2000",
        "--topology",
        "kernel-polling,dpdk",
        "--dpdk-prefix",
        "hp-t",
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(!stdout.contains("not available"), "{stdout}");
    for pair in ["virtio_user <-> net_vhost", "net_memif client <-> server"] {
        let name = format!("tickwire: DPDK {pair} + userspace TCP + TLS 1.3");
        let rows: Vec<&str> = stdout
            .lines()
            .filter_map(|l| l.strip_prefix(name.as_str()))
            .collect();
        assert_eq!(rows.len(), 2, "inside and at the venue: {stdout}");
        for r in rows {
            let p50 = r.split_whitespace().next().unwrap_or("");
            assert!(p50.parse::<u64>().is_ok_and(|n| n > 0), "{r}");
        }
    }
    for what in ["DPDK virtio_user ↔ vhost", "DPDK memif"] {
        let line = stdout
            .lines()
            .find(|l| l.contains(&format!("baseline (a) / tickwire on {what} = ")))
            .unwrap_or_else(|| panic!("{what}: {stdout}"));
        let b = line
            .split("baseline (b) = ")
            .nth(1)
            .and_then(|r| r.split('x').next())
            .and_then(|r| r.parse::<f64>().ok());
        assert!(b.is_some_and(|b| b > 0.0), "{line}");
    }
    assert!(stdout.contains("[EAL hp-t"), "{stdout}");
}

#[test]
fn dpdk_rows_say_why_not_and_the_others_still_run() {
    // A prefix that cannot name files: refused before EAL starts, the run goes on.
    let out = tempfile::tempdir().unwrap();
    let v = bench_json(
        tickwire,
        &[
            "--ticks",
            "1000",
            "--topology",
            "dpdk,kernel-polling",
            "--dpdk-prefix",
            "../x",
        ],
        out.path(),
    );
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3, "{v}");
    // Table order: the baseline, then the DPDK rows.
    assert_eq!(runs[0]["available"], true, "{v}");
    assert_eq!(runs[0]["fills"], runs[0]["orders"], "{v}");
    for run in &runs[1..] {
        assert_eq!(run["available"], false, "{run}");
        assert!(
            run["reason"]
                .as_str()
                .unwrap()
                .contains("DPDK name prefix \"../x\""),
            "{run}"
        );
    }

    // Unprivileged (root drops to nobody): the rows say it needs root.
    if !nix::unistd::geteuid().is_root() {
        return;
    }
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let bench_out = dir.path().join("bench");
    let (code, stdout, err) = tickwire_as_nobody(&[
        "bench",
        "--ticks",
        "1000",
        "--topology",
        "inmem,dpdk",
        "--dpdk-prefix",
        "hp-n",
        "--out",
        bench_out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    for pair in ["virtio_user <-> net_vhost", "net_memif client <-> server"] {
        assert!(
            stdout.contains(&format!(
                "tickwire: DPDK {pair} + userspace TCP + TLS 1.3: not available: needs root"
            )),
            "{stdout}"
        );
    }
    assert!(Path::new(&bench_out).join("tickwire-inmem.hgrm").exists());
    assert!(!Path::new(&bench_out)
        .join("tickwire-dpdk-vhost.hgrm")
        .exists());
}

/// `n` threads spinning until dropped (also when a test fails while they run).
struct Busy {
    stop: std::sync::Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Busy {
    fn new(n: usize) -> Busy {
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let threads = (0..n)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::hint::spin_loop();
                    }
                })
            })
            .collect();
        Busy { stop, threads }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// DPDK 22.11's memif disconnects an end on EAL's interrupt thread when its peer stops, at the
/// same time as the main thread stops that end: stopping the ports after the rows crashed the
/// process (SIGSEGV in eal-intr-thread) in about one run in ten with both CPUs busy, as CI's
/// are. Twenty-four runs on a loaded host, each ending cleanly with both rows measured.
#[test]
fn dpdk_runs_end_cleanly_run_after_run_with_both_cpus_busy() {
    let _eal = one_eal();
    let out = tempfile::tempdir().unwrap();
    let out_dir = out.path().to_str().unwrap();
    let busy = Busy::new(2);
    for run in 0..24 {
        let (code, stdout, err) = tickwire(&[
            "bench",
            "--ticks",
            "300",
            "--hiccup-secs",
            "0",
            "--topology",
            "dpdk",
            "--dpdk-prefix",
            "hp-s",
            "--output",
            "json",
            "--out",
            out_dir,
        ]);
        assert_eq!(code, 0, "run {run} (-1: killed by a signal): {err}");
        let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        let runs = v["runs"].as_array().unwrap();
        assert_eq!(runs.len(), 2, "{v}");
        for r in runs {
            assert_eq!(r["available"], true, "run {run}: {r}");
            assert_eq!(r["fills"], r["orders"], "run {run}: {r}");
        }
    }
    drop(busy);
    assert_eq!(
        left(&std::env::temp_dir().to_string_lossy(), "hp-s"),
        Vec::<String>::new()
    );
    assert_eq!(left("/var/run/dpdk", "hp-s"), Vec::<String>::new());
}
