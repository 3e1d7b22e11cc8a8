//! `tickwire bench`: tick-to-trade through tickwire next to the baselines a user would
//! otherwise build, in one run, with HDR percentiles, ratios and `.hgrm` files.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use hdrhistogram::Histogram;
use tickwire_bench::inmem::{self, Report};
use tickwire_bench::kernel::{self, Mode};

/// Options of `tickwire bench`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Ticks per topology.
    #[arg(long, default_value_t = 200_000)]
    pub ticks: u64,
    /// Ticks for the blocking kernel baseline (paced at 50 µs per tick).
    #[arg(long, default_value_t = 20_000)]
    pub blocking_ticks: u64,
    /// Folder for `.hgrm` files and the JSON report.
    #[arg(long, default_value = "tickwire-out/bench")]
    pub out: PathBuf,
}

const QUANTILES: [(&str, f64); 5] = [
    ("p50", 0.5),
    ("p90", 0.9),
    ("p99", 0.99),
    ("p99.9", 0.999),
    ("p99.99", 0.9999),
];

fn hgrm(h: &Histogram<u64>) -> String {
    let mut s = String::from("       Value     Percentile TotalCount 1/(1-Percentile)\n\n");
    for v in h.iter_quantiles(2) {
        let q = v.quantile_iterated_to();
        let inv = if q < 1.0 {
            1.0 / (1.0 - q)
        } else {
            f64::INFINITY
        };
        s.push_str(&format!(
            "{:12.3} {:14.12} {:10} {:14.2}\n",
            v.value_iterated_to() as f64 / 1000.0,
            q,
            v.count_since_last_iteration(),
            inv
        ));
    }
    s.push_str(&format!(
        "#[Max = {:.3}, Total count = {}] (values in µs)\n",
        h.max() as f64 / 1000.0,
        h.len()
    ));
    s
}

#[allow(clippy::print_stdout)]
pub fn run(args: &Args, output: crate::cli::Output) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.ticks > 0 && args.blocking_ticks > 0,
        "--ticks and --blocking-ticks must be at least 1"
    );
    let text = output == crate::cli::Output::Text;
    if text {
        println!("tickwire bench: tick-to-trade, same FIX/TLS/strategy code on every path");
        println!(
            "machine: {} CPUs; values in ns, measured inside the client\n",
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
    }
    let mut runs: Vec<(&str, Report)> = Vec::new();
    let topologies: [(&str, u64); 3] = [
        (
            "tickwire in-memory NIC + userspace TCP + TLS 1.3",
            args.ticks,
        ),
        (
            "baseline (b): kernel TCP + rustls, one thread polling",
            args.ticks,
        ),
        (
            "baseline (a): kernel TCP + rustls, blocking threads",
            args.blocking_ticks,
        ),
    ];
    for (i, (name, ticks)) in topologies.iter().enumerate() {
        if text {
            print!("running {name} ({ticks} ticks)… ");
            let _ = std::io::stdout().flush();
        }
        let report = match i {
            0 => inmem::run(
                inmem::Params {
                    ticks: *ticks,
                    progress_every: 0,
                },
                |_| {},
            ),
            1 => kernel::run(Mode::Polling, *ticks),
            _ => kernel::run(Mode::Blocking, *ticks),
        }
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("running {name}"))?;
        if text {
            println!(
                "{} orders in {:.2} s",
                report.orders,
                report.elapsed.as_secs_f64()
            );
        }
        runs.push((name, report));
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    for (i, (_, r)) in runs.iter().enumerate() {
        let file = args.out.join(
            [
                "tickwire-inmem.hgrm",
                "kernel-polling.hgrm",
                "kernel-blocking.hgrm",
            ][i],
        );
        std::fs::write(&file, hgrm(&r.tick_to_trade))
            .with_context(|| format!("writing {}", file.display()))?;
    }
    let p50 = |r: &Report| r.tick_to_trade.value_at_quantile(0.5).max(1) as f64;
    let ours = p50(&runs[0].1);
    let json = serde_json::json!({
        "runs": runs.iter().map(|(name, r)| serde_json::json!({
            "topology": name,
            "ticks": r.ticks,
            "orders": r.orders,
            "ns": QUANTILES
                .iter()
                .map(|(l, q)| (l.to_string(), serde_json::Value::from(r.tick_to_trade.value_at_quantile(*q))))
                .chain([("max".to_string(), serde_json::Value::from(r.tick_to_trade.max()))])
                .collect::<serde_json::Map<String, serde_json::Value>>(),
            "p50_ratio_to_tickwire": p50(r) / ours,
        })).collect::<Vec<_>>(),
    });
    std::fs::write(
        args.out.join("report.json"),
        serde_json::to_vec_pretty(&json)?,
    )?;
    if !text {
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(());
    }
    println!(
        "\n{:<56} {:>8} {:>8} {:>8} {:>9} {:>9} {:>10} {:>10}",
        "topology", "p50", "p90", "p99", "p99.9", "p99.99", "max", "p50 ×"
    );
    for (name, r) in &runs {
        let h = &r.tick_to_trade;
        println!(
            "{:<56} {:>8} {:>8} {:>8} {:>9} {:>9} {:>10} {:>9.1}x",
            name,
            h.value_at_quantile(0.5),
            h.value_at_quantile(0.9),
            h.value_at_quantile(0.99),
            h.value_at_quantile(0.999),
            h.value_at_quantile(0.9999),
            h.max(),
            p50(r) / ours
        );
    }
    println!("\nhistograms and report.json in {}", args.out.display());
    Ok(())
}
