//! `tickwire bench`: tick-to-trade through tickwire next to the baselines a user would
//! otherwise build, in one run, with HDR percentiles, ratios and `.hgrm` files.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use hdrhistogram::Histogram;
use tickwire_bench::inmem::{self, Report, VenueKind};
use tickwire_bench::kernel::{self, Mode};
use tickwire_bench::report::{hgrm, plot_percentiles, QUANTILES};
use tickwire_bench::stages;

/// A busy minute of Kraken BTC/USD L2 book updates, ticks per second. An assumption (Kraken
/// publishes no rate); `--rate` changes it.
const REALISTIC_RATE: u64 = 2_000;

/// Options of `tickwire bench`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Ticks per topology.
    #[arg(long, default_value_t = 200_000)]
    pub ticks: u64,
    /// Ticks for the blocking kernel baseline (paced at 50 µs per tick).
    #[arg(long, default_value_t = 20_000)]
    pub blocking_ticks: u64,
    /// Ticks for each paced tickwire run (1× and 8× the realistic rate).
    #[arg(long, default_value_t = 20_000)]
    pub paced_ticks: u64,
    /// The "realistic" tick rate, ticks/s (1×); the 8× run publishes eight times as fast.
    #[arg(long, default_value_t = REALISTIC_RATE)]
    pub rate: u64,
    /// Folder for `.hgrm` files, the plot and the JSON report.
    #[arg(long, default_value = "tickwire-out/bench")]
    pub out: PathBuf,
}

#[allow(clippy::print_stdout)]
pub fn run(args: &Args, output: crate::cli::Output) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.ticks > 0 && args.blocking_ticks > 0 && args.paced_ticks > 0 && args.rate > 0,
        "--ticks, --blocking-ticks, --paced-ticks and --rate must be at least 1"
    );
    let text = output == crate::cli::Output::Text;
    let mut runs: Vec<(&str, Report)> = Vec::new();
    if text {
        println!("tickwire bench: tick-to-trade, same FIX/TLS/strategy code on every path");
        println!(
            "machine: {} CPUs, load average {}",
            std::thread::available_parallelism().map_or(0, |n| n.get()),
            load_average()
        );
        println!(
            "venue: every row but the last runs against the same minimal venue (publishes the"
        );
        println!("       feed, fills every order), so tickwire and the baselines do the same venue work;");
        println!("       the last row is the Kraken venue simulator with its matching engine (the demo)\n");
    }
    let r1 = args.rate;
    let r8 = args.rate.saturating_mul(8);
    let names = [
        "tickwire in-memory NIC + userspace TCP + TLS 1.3".to_string(),
        format!("tickwire, paced at 8x ({r8} ticks/s)"),
        format!("tickwire, paced at 1x ({r1} ticks/s)"),
        "baseline (b): kernel TCP + rustls, one thread polling".to_string(),
        "baseline (a): kernel TCP + rustls, blocking threads".to_string(),
        "tickwire in-memory against the Kraken venue (matching engine)".to_string(),
    ];
    let ticks = [
        args.ticks,
        args.paced_ticks,
        args.paced_ticks,
        args.ticks,
        args.blocking_ticks,
        args.paced_ticks,
    ];
    let files = [
        "tickwire-inmem",
        "tickwire-inmem-8x",
        "tickwire-inmem-1x",
        "kernel-polling",
        "kernel-blocking",
        "tickwire-inmem-kraken",
    ];
    let load_before = load_average();
    for (i, name) in names.iter().enumerate() {
        let ticks = ticks[i];
        if text {
            print!("running {name} ({ticks} ticks)… ");
            let _ = std::io::stdout().flush();
        }
        let paced = |rate_per_s, stages| {
            inmem::run(
                inmem::Params {
                    ticks,
                    progress_every: 0,
                    rate_per_s,
                    stages,
                    venue: if i == 5 {
                        VenueKind::Kraken
                    } else {
                        VenueKind::Minimal
                    },
                },
                |_| {},
            )
        };
        let report = match i {
            0 => paced(0, true),
            1 => paced(r8, false),
            2 => paced(r1, false),
            3 => kernel::run(Mode::Polling, ticks),
            4 => kernel::run(Mode::Blocking, ticks),
            _ => paced(0, false),
        }
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("running {name}"))?;
        if text {
            println!(
                "{} orders, {} fills in {:.2} s",
                report.orders,
                report.fills,
                report.elapsed.as_secs_f64()
            );
        }
        runs.push((name.as_str(), report));
    }
    let load_after = load_average();
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let write = |file: String, h: &Histogram<u64>| -> anyhow::Result<()> {
        let file = args.out.join(file);
        std::fs::write(&file, hgrm(h)).with_context(|| format!("writing {}", file.display()))
    };
    for (i, (_, r)) in runs.iter().enumerate() {
        write(format!("{}.hgrm", files[i]), &r.tick_to_trade)?;
        write(format!("{}-at-venue.hgrm", files[i]), &r.at_venue)?;
        if let Some(st) = &r.stages {
            for (k, h) in stages::KEYS.iter().zip(&st.stage) {
                write(format!("{}-stage-{k}.hgrm", files[i]), h)?;
            }
        }
    }
    for (file, title, pick) in [
        (
            "tick-to-trade.svg",
            "tick-to-trade inside the appliance",
            (|r: &Report| &r.tick_to_trade) as fn(&Report) -> &Histogram<u64>,
        ),
        (
            "tick-to-trade-at-venue.svg",
            "tick-to-trade at the venue (tick sent → order received)",
            |r: &Report| &r.at_venue,
        ),
    ] {
        let plot = args.out.join(file);
        let curves: Vec<_> = runs.iter().map(|(n, r)| (*n, pick(r))).collect();
        plot_percentiles(&plot, title, &curves)
            .map_err(anyhow::Error::msg)
            .with_context(|| format!("writing {}", plot.display()))?;
    }
    let p50 = |h: &Histogram<u64>| h.value_at_quantile(0.5).max(1) as f64;
    let ours = p50(&runs[0].1.tick_to_trade);
    let ours_venue = p50(&runs[0].1.at_venue);
    let quantiles = |h: &Histogram<u64>| {
        QUANTILES
            .iter()
            .map(|(l, q)| {
                (
                    l.to_string(),
                    serde_json::Value::from(h.value_at_quantile(*q)),
                )
            })
            .chain([("max".to_string(), serde_json::Value::from(h.max()))])
            .collect::<serde_json::Map<String, serde_json::Value>>()
    };
    let breakdown = runs[0].1.stages.as_ref().map(|st| {
        let check = st.check(&runs[0].1.tick_to_trade);
        (st, check)
    });
    let venue_ratio = |i: usize| p50(&runs[i].1.at_venue) / ours_venue;
    let json = serde_json::json!({
        "machine": {
            "cpus": std::thread::available_parallelism().map_or(0, |n| n.get()),
            "load_average_before": load_before,
            "load_average_after": load_after,
        },
        "runs": runs.iter().map(|(name, r)| serde_json::json!({
            "topology": name,
            "ticks": r.ticks,
            "orders": r.orders,
            "fills": r.fills,
            "ns": quantiles(&r.tick_to_trade),
            "at_venue_ns": quantiles(&r.at_venue),
            "p50_ratio_to_tickwire": p50(&r.tick_to_trade) / ours,
            "at_venue_p50_ratio_to_tickwire": p50(&r.at_venue) / ours_venue,
            "peak_rss_kib": r.peak_rss_kib,
            "risk_refused": r.risk_refused,
        })).collect::<Vec<_>>(),
        "at_venue_targets": {
            "baseline_a_p50_ratio": venue_ratio(4),
            "baseline_a_target": 20.0,
            "baseline_b_p50_ratio": venue_ratio(3),
            "baseline_b_target": 3.0,
        },
        "stages": breakdown.map(|(st, c)| serde_json::json!({
            "run": runs[0].0,
            "method": "same run: even ticks stamped at every stage boundary, odd ticks only at both ends",
            "stage_ns": stages::KEYS.iter().zip(stages::NAMES).zip(&st.stage).map(|((k, n), h)| serde_json::json!({
                "stage": k,
                "name": n,
                "p50": h.value_at_quantile(0.5),
                "p99": h.value_at_quantile(0.99),
                "count": h.len(),
            })).collect::<Vec<_>>(),
            "sum_of_p50": c.sum_p50,
            "end_to_end_p50": c.bare_p50,
            "end_to_end_p50_stamped": c.stamped_p50,
            "error_vs_end_to_end": c.error_vs_bare,
            "error_vs_stamped": c.error_vs_stamped,
            "within_10_percent": c.error_vs_bare <= 0.10,
        })),
    });
    std::fs::write(
        args.out.join("report.json"),
        serde_json::to_vec_pretty(&json)?,
    )?;
    if !text {
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(());
    }
    let table = |title: &str, pick: fn(&Report) -> &Histogram<u64>, base: f64, rss: bool| {
        println!("\n{title}");
        println!(
            "{:<62} {:>8} {:>8} {:>8} {:>9} {:>9} {:>10} {:>8}{}",
            "topology",
            "p50",
            "p90",
            "p99",
            "p99.9",
            "p99.99",
            "max",
            "p50 ×",
            if rss { "  peak RSS" } else { "" }
        );
        for (name, r) in &runs {
            let h = pick(r);
            let rss = match (rss, r.peak_rss_kib) {
                (false, _) => String::new(),
                (true, Some(k)) => format!("  {:>5} MiB", k / 1024),
                (true, None) => "         ?".to_string(),
            };
            println!(
                "{:<62} {:>8} {:>8} {:>8} {:>9} {:>9} {:>10} {:>7.1}x{rss}",
                name,
                h.value_at_quantile(0.5),
                h.value_at_quantile(0.9),
                h.value_at_quantile(0.99),
                h.value_at_quantile(0.999),
                h.value_at_quantile(0.9999),
                h.max(),
                p50(h) / base
            );
        }
    };
    table(
        "tick-to-trade inside the appliance, ns (tick read → order written; p50 × = p50 / tickwire's)",
        |r| &r.tick_to_trade,
        ours,
        true,
    );
    table(
        "tick-to-trade at the venue, ns (tick handed to the venue's NIC/socket → order received there)",
        |r| &r.at_venue,
        ours_venue,
        false,
    );
    println!(
        "\nat the venue, p50: baseline (a) / tickwire = {:.1}x (target ≥ 20x), baseline (b) / tickwire = {:.1}x (target ≥ 3x)",
        venue_ratio(4),
        venue_ratio(3)
    );
    if let Some((st, c)) = breakdown {
        println!(
            "\nper-stage breakdown of {} (TSC stamps on even ticks, ns):",
            runs[0].0
        );
        println!("  {:<32} {:>8} {:>8}", "stage", "p50", "p99");
        for (n, h) in stages::NAMES.iter().zip(&st.stage) {
            println!(
                "  {n:<32} {:>8} {:>8}",
                h.value_at_quantile(0.5),
                h.value_at_quantile(0.99)
            );
        }
        println!("  {:<32} {:>8}", "sum of stage p50s", c.sum_p50);
        println!(
            "  {:<32} {:>8}   (un-stamped ticks; sum off by {:.1}%)",
            "end-to-end p50",
            c.bare_p50,
            100.0 * c.error_vs_bare
        );
        println!(
            "  {:<32} {:>8}   (stamped ticks; sum off by {:.1}%)",
            "end-to-end p50, stamped",
            c.stamped_p50,
            100.0 * c.error_vs_stamped
        );
    }
    println!(
        "\npeak RSS: the process's VmHWM during each run (reset before it via /proc/self/clear_refs); process ru_maxrss now {} MiB",
        tickwire_bench::rss::process_max_rss_kib().unwrap_or(0) / 1024
    );
    println!("load average: {} before, {} after", load_before, load_after);
    println!(
        "\nhistograms (.hgrm, inside / -at-venue / -stage-*), tick-to-trade.svg, tick-to-trade-at-venue.svg and report.json in {}",
        args.out.display()
    );
    Ok(())
}

/// The 1, 5 and 15 minute load averages, as `/proc/loadavg` prints them.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}
