//! The `tickwire` binary: demo in a short mode, store inspection, and bad input.
#![allow(clippy::unwrap_used)]

use std::process::Command;

mod support;
use support::{bench_json, summary, tickwire, tickwire_as_nobody};

#[test]
fn demo_short_mode_fills_orders_and_reports_percentiles() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = tickwire(&[
        "demo",
        "--ticks",
        "20000",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    let svg = std::fs::read_to_string(dir.path().join("tick-to-trade.svg")).unwrap();
    assert!(svg.starts_with("<svg"));
    let summary = summary(dir.path());
    assert!(summary["tick_to_trade_ns"]["p99.9"].as_u64().unwrap() > 0);
    assert!(
        summary["at_venue_ns"]["p50"].as_u64().unwrap()
            >= summary["tick_to_trade_ns"]["p50"].as_u64().unwrap()
    );
    assert!(dir.path().join("tick-to-trade.hgrm").exists());
    assert!(dir.path().join("tick-to-trade-at-venue.hgrm").exists());
    assert!(out.contains("armed:"), "{out}");
    let sent: u64 = out
        .lines()
        .find(|l| l.contains("orders sent"))
        .unwrap()
        .split_whitespace()
        .last()
        .unwrap()
        .parse()
        .unwrap();
    let filled: u64 = out
        .lines()
        .find(|l| l.contains("orders filled"))
        .unwrap()
        .split_whitespace()
        .last()
        .unwrap()
        .parse()
        .unwrap();
    assert!(sent > 1000, "about one tick in eight fires: {sent}");
    // Real fills from the matching engine, and the venue's own counters.
    assert_eq!(summary["venue"]["logons"], 2, "{summary}");
    assert!(summary["venue"]["execution_reports"].as_u64().unwrap() >= 2 * sent);
    assert_eq!(summary["venue"]["rejects"], 0, "{summary}");
    assert!(out.contains("frames dropped    0"), "{out}");
    assert!(out.contains("risk refused      0 firings"), "{out}");
    assert_eq!(sent, filled);
    for q in ["p50", "p99", "p99.9", "max"] {
        assert!(
            out.lines().any(|l| l.trim_start().starts_with(q)),
            "{q} missing:\n{out}"
        );
    }
}

#[test]
fn bad_arguments_fail_with_a_message() {
    let (code, _, err) = tickwire(&["demo", "--ticks", "0"]);
    assert_eq!(code, 1);
    assert!(err.contains("--ticks must be at least 1"), "{err}");
    let (code, _, err) = tickwire(&["demo", "--ticks", "many"]);
    assert_eq!(code, 2, "clap usage error");
    assert!(err.contains("invalid value"), "{err}");
    let (code, _, err) = tickwire(&["fix", "store", "show", "/nonexistent/store"]);
    assert_eq!(code, 1);
    assert!(err.contains("reading store /nonexistent/store"), "{err}");
    let junk = std::env::temp_dir().join(format!("tickwire-junk-{}", std::process::id()));
    std::fs::write(&junk, b"not a store").unwrap();
    let (code, _, err) = tickwire(&["fix", "store", "show", junk.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("not a tickwire store"), "{err}");
    std::fs::remove_file(junk).unwrap();
}

#[test]
fn store_show_lists_journaled_messages() {
    use tickwire_fix::session::Journal;
    let path = std::env::temp_dir().join(format!("tickwire-cli-store-{}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    {
        let cfg = tickwire_fix::store::StoreConfig {
            log_bytes: 1 << 16,
            index_entries: 64,
            flush: tickwire_fix::store::FlushPolicy::Never,
        };
        let mut s = tickwire_fix::store::Store::open(&path, cfg).unwrap();
        s.record_sent(2, b"8=FIX.4.4\x019=5\x0135=D\x0110=000\x01")
            .unwrap();
        s.set_next_sender_seq(3);
    }
    let (code, out, err) = tickwire(&["fix", "store", "show", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("next sender seq  3"), "{out}");
    assert!(out.contains("35=D"), "{out}");
    std::fs::remove_file(path).unwrap();
}

#[test]
fn bench_runs_every_topology_and_writes_histograms() {
    let out = std::env::temp_dir().join(format!("tickwire-bench-{}", std::process::id()));
    let v = bench_json(
        tickwire,
        &[
            "--ticks",
            "3000",
            "--blocking-ticks",
            "300",
            "--paced-ticks",
            "2000",
            "--rate",
            "4000",
            "--topology",
            "inmem,paced8x,paced1x,kernel-polling,kernel-blocking,kraken",
        ],
        &out,
    );
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 6);
    assert!(runs[5]["topology"]
        .as_str()
        .unwrap()
        .contains("Kraken venue"));
    assert!(runs[1]["topology"]
        .as_str()
        .unwrap()
        .contains("8x (32000 ticks/s)"));
    for r in runs {
        assert!(r["orders"].as_u64().unwrap() > 0, "{r}");
        assert_eq!(
            r["fills"], r["orders"],
            "every venue fills every order: {r}"
        );
        for k in ["ns", "at_venue_ns"] {
            assert!(r[k]["p50"].as_u64().unwrap() > 0, "{r}");
            assert!(r[k]["max"].as_u64().unwrap() >= r[k]["p99"].as_u64().unwrap());
        }
        // The venue's interval contains the appliance's.
        assert!(
            r["at_venue_ns"]["p50"].as_u64() >= r["ns"]["p50"].as_u64(),
            "{r}"
        );
        assert!(r["peak_rss_kib"].as_u64().unwrap() > 1024, "{r}");
        assert_eq!(
            r["risk_refused"], 0,
            "every firing passes the pre-trade limits: {r}"
        );
    }
    let st = &v["stages"];
    let stages = st["stage_ns"].as_array().unwrap();
    assert_eq!(stages.len(), 9);
    let sum: u64 = stages.iter().map(|s| s["p50"].as_u64().unwrap()).sum();
    assert_eq!(st["sum_of_p50"].as_u64().unwrap(), sum);
    assert!(st["end_to_end_p50"].as_u64().unwrap() > 0, "{st}");
    assert!(st["error_vs_end_to_end"].as_f64().is_some(), "{st}");
    // The tail: every stamped tick kept, the slow ones' excess divided among the stages.
    let tail = &st["tail"];
    assert_eq!(tail["threshold_ns"], 3_000, "{tail}");
    assert_eq!(tail["not_kept"], 0, "{tail}");
    assert_eq!(tail["kept"], stages[0]["count"], "{tail}");
    assert!(tail["ticks"].as_u64() <= tail["kept"].as_u64(), "{tail}");
    let parts = tail["stages"].as_array().unwrap();
    let keys: Vec<&str> = parts.iter().map(|p| p["stage"].as_str().unwrap()).collect();
    let names: Vec<&str> = stages
        .iter()
        .map(|p| p["stage"].as_str().unwrap())
        .collect();
    assert_eq!(keys, names);
    let share = |k: &str| parts.iter().map(|p| p[k].as_f64().unwrap()).sum::<f64>();
    assert!((share("p50_share") - 1.0).abs() < 1e-9, "{tail}");
    let excess: u64 = parts.iter().map(|p| p["excess_ns"].as_u64().unwrap()).sum();
    match excess {
        0 => assert_eq!(share("excess_share"), 0.0, "{tail}"),
        _ => assert!((share("excess_share") - 1.0).abs() < 1e-9, "{tail}"),
    }
    // Spikes: counted over every kept tick, as rates per ms of each stage's median time.
    let kept = tail["kept"].as_f64().unwrap();
    let (mut all, mut path_ns) = (0.0, 0.0);
    for (p, s) in parts.iter().zip(stages) {
        let (n, p50) = (p["spikes"].as_f64().unwrap(), s["p50"].as_f64().unwrap());
        assert!(n <= kept, "{tail}");
        let want = if p50 == 0.0 {
            0.0
        } else {
            n * 1e6 / (p50 * kept)
        };
        assert!(
            (p["spikes_per_ms"].as_f64().unwrap() - want).abs() < 1e-6,
            "{tail}"
        );
        (all, path_ns) = (all + n, path_ns + p50);
    }
    let sp = &tail["spikes"];
    assert_eq!(sp["spike_ns"], 1_000, "{sp}");
    let path = sp["path_spikes_per_ms"].as_f64().unwrap();
    assert!((path - all * 1e6 / (path_ns * kept)).abs() < 1e-6, "{sp}");
    for own in sp["own_slow_cases"].as_array().unwrap() {
        let p = parts.iter().find(|p| p["stage"] == *own).unwrap();
        assert!(p["spikes"].as_u64() >= sp["min_spikes"].as_u64(), "{sp}");
        assert!(p["spikes_per_ms"].as_f64().unwrap() >= 3.0 * path, "{sp}");
    }
    for k in ["baseline_a_p50_ratio", "baseline_b_p50_ratio"] {
        assert!(v["at_venue_targets"][k].as_f64().unwrap() > 0.0, "{v}");
    }
    // The four targets, judged on this run's figures.
    let t = &v["targets"];
    assert_eq!(t["inside_p50_ns"], runs[0]["ns"]["p50"], "{t}");
    assert_eq!(t["inside_p99_9_ns"], runs[0]["ns"]["p99.9"], "{t}");
    assert_eq!(
        t["baseline_a_ratio"], v["at_venue_targets"]["baseline_a_p50_ratio"],
        "{t}"
    );
    assert_eq!(
        t["baseline_b_ratio"], v["at_venue_targets"]["baseline_b_p50_ratio"],
        "{t}"
    );
    let met = [
        t["inside_p50_ns"].as_u64().unwrap() <= 1_000,
        t["inside_p99_9_ns"].as_u64().unwrap() <= 3_000,
        t["baseline_a_ratio"].as_f64().unwrap() >= 20.0,
        t["baseline_b_ratio"].as_f64().unwrap() >= 3.0,
    ];
    let keys = [
        "inside_p50_met",
        "inside_p99_9_met",
        "baseline_a_met",
        "baseline_b_met",
    ];
    for (k, m) in keys.iter().zip(met) {
        assert_eq!(t[*k], m, "{k}: {t}");
    }
    let n = met.iter().filter(|&&m| m).count();
    assert_eq!(
        (t["met"].as_u64(), t["judged"].as_u64()),
        (Some(n as u64), Some(4)),
        "{t}"
    );
    assert_eq!(t["all_met"], n == 4, "{t}");
    for f in [
        "tickwire-inmem.hgrm",
        "kernel-polling.hgrm",
        "kernel-blocking.hgrm",
        "tickwire-inmem-8x.hgrm",
        "tickwire-inmem-1x.hgrm",
        "tickwire-inmem-kraken.hgrm",
        "tickwire-inmem-at-venue.hgrm",
        "kernel-polling-at-venue.hgrm",
        "kernel-blocking-at-venue.hgrm",
        "tickwire-inmem-stage-tls_open.hgrm",
        "tickwire-inmem-stage-tcp_egress_tx.hgrm",
        "tick-to-trade.svg",
        "tick-to-trade-at-venue.svg",
        "report.json",
    ] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    std::fs::remove_dir_all(out).unwrap();
    let (code, _, err) = tickwire(&["bench", "--ticks", "0"]);
    assert_eq!(code, 1);
    assert!(err.contains("must be at least 1"), "{err}");
}

/// `--venue-pauses 0` is a usage error naming the flag, refused by the parser before any
/// topology runs (no report folder, nothing on stdout).
#[test]
fn bench_venue_pauses_zero_is_refused_before_running() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bench");
    refused_before_running(
        &[
            "bench",
            "--venue-pauses",
            "0",
            "--ticks",
            "100",
            "--topology",
            "inmem-2core",
        ],
        &out,
        ("'0'", "--venue-pauses", "1.."),
    );
}

/// `tickwire <args> --out <out>` is a clap usage error (exit 2) naming the value, the flag and
/// the accepted range, printed before anything ran: nothing on stdout, no report folder.
fn refused_before_running(
    args: &[&str],
    out: &std::path::Path,
    (value, flag, range): (&str, &str, &str),
) {
    let mut all = args.to_vec();
    all.extend(["--out", out.to_str().unwrap()]);
    let (code, stdout, err) = tickwire(&all);
    assert_eq!(code, 2, "clap usage error: {err}");
    assert!(err.contains(&format!("invalid value {value}")), "{err}");
    assert!(err.contains(flag), "{err}");
    assert!(err.contains(range), "the accepted range: {err}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(!out.exists(), "a benchmark ran and wrote {}", out.display());
}

/// `tickwire bench <args> --out <dir>` in text mode, which must succeed: its stdout and the
/// report.json it wrote.
fn bench_text(args: &[&str], dir: &std::path::Path) -> (String, serde_json::Value) {
    let mut all = vec!["bench"];
    all.extend_from_slice(args);
    all.extend(["--out", dir.to_str().unwrap()]);
    let (code, out, err) = tickwire(&all);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    let report = std::fs::read(dir.join("report.json")).unwrap();
    (out, serde_json::from_slice(&report).unwrap())
}

/// The platform hiccup meter: a text run prints the platform section with the estimate for the
/// in-memory row, and report.json carries the same figures, consistent with each other and
/// with the run that was asked for; the gap histogram is written beside the others.
#[test]
fn bench_measures_platform_hiccups_and_estimates_their_share() {
    let dir = tempfile::tempdir().unwrap();
    let (out, v) = bench_text(
        &[
            "--ticks",
            "3000",
            "--topology",
            "inmem",
            "--hiccup-secs",
            "1",
        ],
        dir.path(),
    );
    // The machine it ran on, in the text and in the JSON alike.
    let host = &v["machine"]["host"];
    let kernel = host["kernel"].as_str().unwrap();
    let online = host["online"].as_str().unwrap();
    let line = out.lines().find(|l| l.starts_with("machine: ")).unwrap();
    assert!(line.contains(&format!("Linux {kernel}")), "{line}");
    assert!(line.contains(&format!("CPUs ({online})")), "{line}");
    let p = &v["platform"];
    assert_eq!(p["available"], true, "{p}");
    let cpu = p["cpu"].as_u64().unwrap();
    assert!(
        out.contains(&format!("platform: hiccups on CPU {cpu} (")),
        "{out}"
    );
    // The one-thread row runs on the CPU the meter measured.
    assert!(out.contains(&format!("[pinned to CPU {cpu}] ")), "{out}");
    for line in [
        "  clock reads ",
        "  gaps per second  ≥ 1 µs ",
        "  largest gap ",
        "  estimate for tickwire in-memory NIC + userspace TCP + TLS 1.3: ticks containing a gap of ≥ 2 µs ≈ R × D = ",
    ] {
        assert!(out.lines().any(|l| l.starts_with(line)), "{line:?} missing:\n{out}");
    }
    assert!(
        out.contains("    above 0.1 %: ") || out.contains("    at most 0.1 %: "),
        "{out}"
    );
    // Asked for 1 s: the loop stops at the first read past it.
    assert_eq!(p["requested_s"].as_f64().unwrap(), 1.0);
    let run_ns = p["run_ns"].as_u64().unwrap();
    assert!((1_000_000_000..1_250_000_000).contains(&run_ns), "{p}");
    let reads = p["reads"].as_u64().unwrap();
    assert!(reads > 1_000_000, "{p}");
    assert!(p["normal_read_ns"].as_f64().unwrap() > 0.0, "{p}");
    assert_eq!(p["gap_threshold_ns"], 250);
    let gaps = p["gaps"].as_u64().unwrap();
    assert!(gaps < reads, "{p}");
    let keys = [
        "ge_1us", "ge_2us", "ge_3us", "ge_5us", "ge_10us", "ge_100us",
    ];
    let counts: Vec<u64> = keys
        .iter()
        .map(|k| p["gap_counts"][k].as_u64().unwrap())
        .collect();
    assert!(
        counts[0] <= gaps && counts.windows(2).all(|w| w[0] >= w[1]),
        "{p}"
    );
    for (k, n) in keys.iter().zip(&counts) {
        let rate = p["gaps_per_s"][k].as_f64().unwrap();
        assert!(
            (rate - *n as f64 * 1e9 / run_ns as f64).abs() < 1e-6,
            "{k}: {p}"
        );
    }
    let largest = p["largest_gap_ns"].as_u64().unwrap();
    assert!(counts[0] == 0 || largest >= 1_000, "{p}");
    let lost = p["lost_fraction_ge_1us"].as_f64().unwrap();
    assert!((0.0..1.0).contains(&lost), "{p}");
    // The estimate: R(≥ 2 µs) × the row's p50, against one tick in a thousand.
    let e = &p["estimates"].as_array().unwrap()[..];
    assert_eq!(e.len(), 1, "{p}");
    let e = &e[0];
    assert_eq!(e["p50_ns"], v["runs"][0]["ns"]["p50"], "{v}");
    assert_eq!(e["p99_9_ns"], v["runs"][0]["ns"]["p99.9"], "{v}");
    let r = p["gaps_per_s"]["ge_2us"].as_f64().unwrap();
    assert_eq!(e["gaps_per_s"].as_f64().unwrap(), r);
    let share = e["share_of_ticks_with_gap"].as_f64().unwrap();
    let d = e["p50_ns"].as_f64().unwrap();
    assert!((share - r * d * 1e-9).abs() < 1e-12, "{e}");
    assert_eq!(e["exceeds_0_1_percent"], share > 0.001, "{e}");
    let observed = e["observed_share_ge_p50_plus_2us"].as_f64().unwrap();
    assert!(
        (0.0..0.5).contains(&observed),
        "below the median by definition: {e}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("    measured in the row: ")),
        "{out}"
    );
    // The guest kernel's interrupts of the meter's CPU over its spin, and of the row's.
    let g = &p["guest_interrupts"];
    assert_eq!(g["cpu"].as_u64(), Some(cpu), "{g}");
    let span = g["span_s"].as_f64().unwrap();
    assert!(span >= run_ns as f64 / 1e9, "counted around the spin: {g}");
    let class_sum: u64 = ["timer", "ipi", "device", "other"]
        .iter()
        .map(|k| g[k].as_u64().unwrap())
        .sum();
    let total = g["total"].as_u64().unwrap();
    assert_eq!(class_sum, total, "{g}");
    // A CPU spinning for a second takes scheduler ticks (CONFIG_HZ ≥ 100; CI's CPUs are not
    // nohz_full).
    let timer = g["timer"].as_u64().unwrap();
    assert!(timer >= 50, "{g}");
    assert!(
        (g["per_s"].as_f64().unwrap() - total as f64 / span).abs() < 1e-6,
        "{g}"
    );
    let unexplained = g["gaps_ge_1us_not_guest_interrupts_per_s_at_least"]
        .as_f64()
        .unwrap();
    let expected = counts[0].saturating_sub(total) as f64 / span;
    assert!((unexplained - expected).abs() < 1e-6, "{g}");
    assert!(
        out.lines()
            .any(|l| l.starts_with(&format!("  guest interrupts on CPU {cpu} over the same "))),
        "{out}"
    );
    let row = &e["guest_interrupts_during_row"];
    assert_eq!(row["cpu"].as_u64(), Some(cpu), "{e}");
    assert!(row["timer"].as_u64().unwrap() > 0, "{e}");
    assert!(
        out.lines().any(|l| l.starts_with(&format!(
            "    guest interrupts on CPU {cpu} during the row ("
        ))),
        "{out}"
    );
    let hgrm = std::fs::read_to_string(dir.path().join("platform-hiccups.hgrm")).unwrap();
    assert!(
        hgrm.ends_with(&format!("Total count = {gaps}] (values in µs)\n")),
        "{hgrm}"
    );
}

/// `--hiccup-secs 0` turns the meter off: no platform section, `platform` null in the report,
/// no gap histogram. Past 600 the parser refuses it before anything runs.
#[test]
fn bench_hiccup_secs_zero_omits_the_platform_section() {
    let dir = tempfile::tempdir().unwrap();
    let (out, v) = bench_text(
        &[
            "--ticks",
            "3000",
            "--topology",
            "inmem",
            "--hiccup-secs",
            "0",
        ],
        dir.path(),
    );
    assert!(!out.contains("\nplatform: "), "{out}");
    assert!(!out.contains("hiccups"), "{out}");
    // The floor is a section of its own, still there.
    assert!(out.contains("\nplatform floor: "), "{out}");
    // The breakdown's tail columns and what they mean.
    assert!(
        out.lines().any(|l| l.starts_with("  stage ")
            && l.ends_with(" p50 share   tail share   spikes     per ms")),
        "{out}"
    );
    assert!(out.contains("\n  tail share: of the "), "{out}");
    // Without the baselines the targets line says the run cannot show all four.
    let targets = out
        .lines()
        .find(|l| l.starts_with("targets, tickwire in-memory row: inside p50 "))
        .unwrap();
    assert!(targets.contains("(a) - (≥ 20x: not measured)"), "{targets}");
    assert!(
        targets.ends_with("of 2 met, so this run cannot show all four"),
        "{targets}"
    );
    assert_eq!(v["targets"]["judged"], 2, "{v}");
    assert_eq!(v["targets"]["all_met"], false, "{v}");
    assert!(
        out.contains("\n  spikes: kept ticks in which a stage ran ≥ 1 µs past its p50"),
        "{out}"
    );
    assert!(v["runs"][0]["ns"]["p50"].as_u64().unwrap() > 0, "{v}");
    assert!(v.as_object().unwrap().contains_key("platform"), "{v}");
    assert!(v["platform"].is_null(), "{v}");
    assert!(!dir.path().join("platform-hiccups.hgrm").exists());
    assert!(dir.path().join("tickwire-inmem.hgrm").exists());

    let out = dir.path().join("refused");
    refused_before_running(
        &["bench", "--hiccup-secs", "601"],
        &out,
        ("'601'", "--hiccup-secs", "0..=600"),
    );
}

/// The platform floor: after each in-memory row a register-only job of the row's p50 (and, after
/// the first, one of the 1 µs p50 target) is timed on the row's CPU; the text section, the
/// report's `platform_floor` entries and the histogram files agree with each other and with
/// the rows they follow.
#[test]
fn bench_measures_the_platform_floor_after_each_inmem_row() {
    let dir = tempfile::tempdir().unwrap();
    let (out, v) = bench_text(
        &[
            "--ticks",
            "3000",
            "--topology",
            "inmem,inmem-2core,kernel-polling",
            "--hiccup-secs",
            "0",
            "--floor-secs",
            "1",
        ],
        dir.path(),
    );
    let runs = v["runs"].as_array().unwrap();
    let floors = v["platform_floor"].as_array().unwrap();
    // Two after the first in-memory row, one after the second, none after the kernel row.
    assert_eq!(floors.len(), 3, "{v}");
    let expected = [(0, "row_p50"), (0, "p50_target"), (1, "row_p50")];
    for (f, (row, at)) in floors.iter().zip(expected) {
        let r = &runs[row];
        assert_eq!(f["after_run"], r["topology"], "{f}");
        assert_eq!(f["at"], at, "{f}");
        assert_eq!(f["available"], true, "{f}");
        let target = f["target_ns"].as_u64().unwrap();
        if at == "row_p50" {
            assert_eq!(target, r["ns"]["p50"].as_u64().unwrap(), "{f}");
            assert_eq!(f["row_p99_9_ns"], r["ns"]["p99.9"], "{f}");
            let ratio = f["row_p99_9_over_floor"].as_f64().unwrap();
            let floor_p999 = f["ns"]["p99.9"].as_f64().unwrap();
            let row_p999 = r["ns"]["p99.9"].as_f64().unwrap();
            assert!((ratio - row_p999 / floor_p999).abs() < 1e-9, "{f}");
            assert!(f["row_share_ge_p50_plus_2us"].as_f64().is_some(), "{f}");
        } else {
            assert_eq!(target, 1_000, "{f}");
            assert!(f["row_p99_9_ns"].is_null(), "{f}");
            assert!(f["row_p99_9_over_floor"].is_null(), "{f}");
            assert!(f["row_share_ge_p50_plus_2us"].is_null(), "{f}");
        }
        assert!(f["iterations"].as_u64().unwrap() >= 1, "{f}");
        let jobs = f["jobs"].as_u64().unwrap();
        assert!(jobs > 0, "{f}");
        let ns = &f["ns"];
        let q: Vec<u64> = ["p50", "p99", "p99.9", "p99.99", "max"]
            .iter()
            .map(|k| ns[k].as_u64().unwrap())
            .collect();
        assert!(q.windows(2).all(|w| w[0] <= w[1]), "{f}");
        assert_eq!(f["p99_9_target_ns"], 3_000);
        assert_eq!(f["above_target"], q[2] > 3_000, "{f}");
        let share = f["share_ge_p50_plus_2us"].as_f64().unwrap();
        assert!((0.0..0.5).contains(&share), "{f}");
        assert_eq!(f["cpu"], 0, "pinned where the one-thread rows run: {f}");
        let file = match (row, at) {
            (0, "row_p50") => "tickwire-inmem-floor.hgrm",
            (0, _) => "tickwire-inmem-floor-at-p50-target.hgrm",
            _ => "tickwire-inmem-2core-floor.hgrm",
        };
        let hgrm = std::fs::read_to_string(dir.path().join(file)).unwrap();
        assert!(
            hgrm.ends_with(&format!("Total count = {jobs}] (values in µs)\n")),
            "{file}: {hgrm}"
        );
        // The text names the same figures.
        let line = format!(
            "D = {target} ns ({} iterations, {jobs} jobs on CPU 0): p50 {}, p99 {}, p99.9 {}, p99.99 {}, max {} ns; ",
            f["iterations"], q[0], q[1], q[2], q[3], q[4]
        );
        assert!(out.contains(&line), "{line:?} missing:\n{out}");
    }
    assert!(
        out.contains("\nplatform floor: right after each in-memory row, "),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "  {}, at its p50: D = ",
            runs[0]["topology"].as_str().unwrap()
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "  at the p50 target, after {}: D = 1000 ns ",
            runs[0]["topology"].as_str().unwrap()
        )),
        "{out}"
    );
    let verdicts = out
        .lines()
        .filter(|l| {
            l.starts_with("    the floor's p99.9 is above the 3 µs p99.9 target: ")
                || l.starts_with("    the floor's p99.9 is within the 3 µs p99.9 target: ")
        })
        .count();
    assert_eq!(verdicts, 3, "{out}");
    assert!(out.contains("-floor), tick-to-trade.svg"), "{out}");
}

/// `--floor-secs 0` turns the floor off (`platform_floor` null, no floor histograms); a run
/// without in-memory rows has an empty list; past 600 the parser refuses it.
#[test]
fn bench_floor_secs_zero_omits_the_floor() {
    let dir = tempfile::tempdir().unwrap();
    let v = bench_json(
        tickwire,
        &[
            "--ticks",
            "3000",
            "--topology",
            "inmem",
            "--hiccup-secs",
            "0",
            "--floor-secs",
            "0",
        ],
        dir.path(),
    );
    assert!(v.as_object().unwrap().contains_key("platform_floor"), "{v}");
    assert!(v["platform_floor"].is_null(), "{v}");
    assert!(!dir.path().join("tickwire-inmem-floor.hgrm").exists());
    let v = bench_json(
        tickwire,
        &[
            "--ticks",
            "3000",
            "--topology",
            "kernel-polling",
            "--hiccup-secs",
            "0",
        ],
        dir.path(),
    );
    assert_eq!(v["platform_floor"], serde_json::json!([]), "{v}");
    let out = dir.path().join("refused");
    refused_before_running(
        &["bench", "--floor-secs", "601"],
        &out,
        ("'601'", "--floor-secs", "0..=600"),
    );
}

/// The venue-on-the-other-core row next to the one-thread row: both measured, with their own
/// stage breakdowns; on one CPU (`taskset -c 0`), asking for it is an error that says why.
#[test]
fn bench_inmem_2core_row_is_measured_or_refused_on_one_cpu() {
    let out = tempfile::tempdir().unwrap();
    let v = bench_json(
        tickwire,
        &["--ticks", "3000", "--topology", "inmem,inmem-2core"],
        out.path(),
    );
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2, "{v}");
    assert!(
        runs[1]["topology"].as_str().unwrap().contains("other core"),
        "{v}"
    );
    for r in runs {
        assert!(r["orders"].as_u64().unwrap() > 0, "{r}");
        assert_eq!(r["fills"], r["orders"], "{r}");
        assert!(r["ns"]["p50"].as_u64().unwrap() > 0, "{r}");
        assert!(
            r["at_venue_ns"]["p50"].as_u64() >= r["ns"]["p50"].as_u64(),
            "{r}"
        );
    }
    for k in ["stages", "stages_inmem_2core"] {
        assert_eq!(v[k]["stage_ns"].as_array().unwrap().len(), 9, "{k}: {v}");
    }
    // The hiccup meter runs by default (2 s) and estimates both in-memory rows.
    let p = &v["platform"];
    assert_eq!(p["requested_s"].as_f64(), Some(2.0), "{p}");
    let e = p["estimates"].as_array().unwrap();
    assert_eq!(e.len(), 2, "{p}");
    for (e, r) in e.iter().zip(runs) {
        assert_eq!(e["run"], r["topology"], "{p}");
        assert_eq!(e["p50_ns"], r["ns"]["p50"], "{p}");
    }
    assert!(v["stages_inmem_2core"]["run"]
        .as_str()
        .unwrap()
        .contains("other core"));
    for f in [
        "tickwire-inmem-2core.hgrm",
        "tickwire-inmem-2core-at-venue.hgrm",
        "tickwire-inmem-2core-stage-tls_seal.hgrm",
    ] {
        assert!(out.path().join(f).exists(), "{f} missing");
    }
    let (code, _, err) = support::run(
        Command::new("taskset")
            .args(["-c", "0"])
            .arg(env!("CARGO_BIN_EXE_tickwire"))
            .args(["bench", "--ticks", "100", "--topology", "inmem-2core"]),
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("needs two CPUs"), "{err}");
}

/// True while `ip` lists the namespace or a link named after it.
fn netns_exists(ns: &str) -> bool {
    let out = |args: &[&str]| {
        Command::new("ip")
            .args(args)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    };
    out(&["netns", "list"])
        .lines()
        .any(|l| l.split_whitespace().next() == Some(ns))
        || out(&["-o", "link", "show"]).contains(&format!(": {ns}h"))
}

/// The veth topology: as root, a row with numbers from a namespace that is gone afterwards;
/// otherwise a row that says why it is not available (and the run still succeeds).
#[test]
fn bench_veth_row_is_measured_and_its_netns_removed() {
    let out = tempfile::tempdir().unwrap();
    let v = bench_json(
        tickwire,
        &[
            "--ticks",
            "4000",
            "--topology",
            "veth,kernel-polling,dpdk",
            "--netns-prefix",
            "ht-t",
        ],
        out.path(),
    );
    let runs = v["runs"].as_array().unwrap();
    // Built with DPDK, the dpdk topology is two rows (virtio_user and memif).
    assert_eq!(
        runs.len(),
        if cfg!(feature = "dpdk") { 4 } else { 3 },
        "{v}"
    );
    let veth = &runs[0];
    assert!(
        veth["topology"]
            .as_str()
            .unwrap()
            .contains("AF_PACKET on veth"),
        "{veth}"
    );
    // Not built with DPDK: said so, not skipped.
    if !cfg!(feature = "dpdk") {
        assert_eq!(runs[2]["available"], false, "{v}");
        assert!(runs[2]["reason"]
            .as_str()
            .unwrap()
            .contains("not built with --features dpdk"));
    }
    if !nix::unistd::geteuid().is_root() {
        assert_eq!(veth["available"], false, "{veth}");
        assert!(veth["reason"].as_str().unwrap().contains("root"), "{veth}");
        return;
    }
    assert_eq!(veth["available"], true, "{veth}");
    assert!(veth["orders"].as_u64().unwrap() > 4000 / 16, "{veth}");
    assert_eq!(veth["fills"], veth["orders"], "{veth}");
    assert_eq!(veth["frames_dropped"], 0, "{veth}");
    for k in ["ns", "at_venue_ns"] {
        assert!(veth[k]["p50"].as_u64().unwrap() > 0, "{veth}");
        assert!(veth[k]["max"].as_u64().unwrap() >= veth[k]["p99.9"].as_u64().unwrap());
    }
    // Wire to wire contains the appliance's part.
    assert!(veth["at_venue_ns"]["p50"].as_u64() > veth["ns"]["p50"].as_u64());
    assert!(v["at_venue_targets"]["baseline_b_p50_ratio_veth"]
        .as_f64()
        .is_some());
    assert!(out.path().join("tickwire-veth.hgrm").exists());
    assert!(out.path().join("tickwire-veth-at-venue.hgrm").exists());
    // The child's namespace: ht-tb<pid>. Its pid is gone, so is any namespace of the prefix.
    let listed = Command::new("ip").args(["netns", "list"]).output().unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(!listed.contains("ht-tb"), "left behind: {listed}");
    let links = Command::new("ip").args(["-o", "link"]).output().unwrap();
    assert!(
        !String::from_utf8_lossy(&links.stdout).contains("ht-tb"),
        "veth left behind"
    );
}

/// Ctrl-C in the middle of the veth run removes its namespace and veth pair, exit 130.
#[test]
fn bench_interrupted_removes_its_netns() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: needs root (network namespaces)");
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_tickwire"))
        .args([
            "bench",
            "--ticks",
            "100000000",
            "--topology",
            "veth",
            "--netns-prefix",
            "ht-i",
            "--out",
            out.path().to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let ns = format!("ht-ib{}", child.id());
    let start = std::time::Instant::now();
    while !netns_exists(&ns) {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "{ns} never appeared"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // Let it reach the measured loop.
    std::thread::sleep(std::time::Duration::from_millis(500));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let done = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(130), "{err}");
    assert!(err.contains(&ns), "{err}");
    assert!(!netns_exists(&ns), "{ns} left behind");
}

/// `demo --net veth`: the venue on kernel TCP in its own namespace, the appliance on AF_PACKET;
/// orders filled, percentiles written, the namespace gone afterwards. Without root it refuses
/// with the reason (exit 3).
#[test]
fn demo_on_veth_fills_orders_and_removes_its_netns() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "demo",
        "--net",
        "veth",
        "--ticks",
        "10000",
        "--rate",
        "20000",
        "--netns-prefix",
        "ht-d",
        "--out",
        dir.path().to_str().unwrap(),
    ];
    let (code, out, err) = tickwire(&args);
    if !nix::unistd::geteuid().is_root() {
        assert_eq!(code, 3, "{out}{err}");
        assert!(err.contains("needs root"), "{err}");
        return;
    }
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(
        out.contains("kernel TCP in its own network namespace"),
        "{out}"
    );
    let summary = summary(dir.path());
    assert_eq!(summary["net"], "veth");
    let fills = summary["fills"].as_u64().unwrap();
    assert!(fills > 10_000 / 16, "{summary}");
    assert_eq!(summary["orders"], summary["fills"], "{summary}");
    assert_eq!(summary["frames_dropped"], 0, "{summary}");
    assert!(
        summary["venue"]["logons"].as_u64().unwrap() == 2,
        "{summary}"
    );
    assert!(summary["tick_to_trade_ns"]["p99"].as_u64().unwrap() > 0);
    assert!(
        summary["at_venue_ns"]["p50"].as_u64().unwrap()
            > summary["tick_to_trade_ns"]["p50"].as_u64().unwrap()
    );
    assert!(dir.path().join("tick-to-trade.svg").exists());
    let ns = out
        .split_whitespace()
        .skip_while(|w| *w != "namespace")
        .nth(1)
        .unwrap()
        .to_string();
    assert!(ns.starts_with("ht-db"), "{out}");
    assert!(!netns_exists(&ns), "{ns} left behind");
}

/// Baseline (c) in `tickwire bench` (a build with `--features quickfix`): QuickFIX's row has
/// numbers at the venue, none inside, and stdout stays one JSON document although QuickFIX's
/// OpenSSL callback prints to C's stdout.
#[cfg(feature = "quickfix")]
#[test]
fn bench_quickfix_row_is_measured_at_the_venue() {
    let out = tempfile::tempdir().unwrap();
    let v = bench_json(
        tickwire,
        &[
            "--ticks",
            "3000",
            "--quickfix-ticks",
            "3000",
            "--topology",
            "kernel-polling,quickfix",
        ],
        out.path(),
    );
    let runs = v["runs"].as_array().unwrap();
    let c = &runs[1];
    assert!(c["topology"].as_str().unwrap().contains("QuickFIX"), "{c}");
    assert_eq!(c["available"], true, "{c}");
    assert!(c["orders"].as_u64().unwrap() > 3000 / 16, "{c}");
    assert_eq!(c["fills"], c["orders"], "{c}");
    assert!(c["at_venue_ns"]["p50"].as_u64().unwrap() > 0, "{c}");
    assert!(c["ns"].is_null(), "{c}");
    assert!(out.path().join("quickfix-at-venue.hgrm").exists());
}

/// Run as an unprivileged user (root drops to `nobody` with setpriv): the veth row says why it
/// is not available and the other rows still run; `demo --net veth` refuses with exit 3.
#[test]
fn veth_without_root_is_reported_not_skipped() {
    use std::os::unix::fs::PermissionsExt as _;
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: already unprivileged (bench_veth_row_is_measured_and_its_netns_removed covers it)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let v = bench_json(
        tickwire_as_nobody,
        &["--ticks", "2000", "--topology", "veth,kernel-polling"],
        &dir.path().join("bench"),
    );
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs[0]["available"], false, "{v}");
    assert!(
        runs[0]["reason"].as_str().unwrap().contains("needs root"),
        "{v}"
    );
    assert_eq!(runs[1]["available"], true, "{v}");
    assert!(v["at_venue_targets"]["baseline_b_p50_ratio_veth"].is_null());
    let (code, _, err) = tickwire_as_nobody(&[
        "demo",
        "--net",
        "veth",
        "--ticks",
        "100",
        "--out",
        dir.path().join("demo").to_str().unwrap(),
    ]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("not available: needs root"), "{err}");
}
