//! `tickwire bench`: tick-to-trade through tickwire next to the baselines a user would
//! otherwise build, in one run, with HDR percentiles, ratios and `.hgrm` files.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use tickwire_bench::inmem::{self, Report};
use tickwire_bench::kernel::{self, Mode};
use tickwire_bench::report::{hgrm, plot_percentiles, QUANTILES};

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
            "machine: {} CPUs; values in ns, measured inside the client\n",
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
    }
    let r1 = args.rate;
    let r8 = args.rate.saturating_mul(8);
    let names = [
        "tickwire in-memory NIC + userspace TCP + TLS 1.3".to_string(),
        format!("tickwire, paced at 8x ({r8} ticks/s)"),
        format!("tickwire, paced at 1x ({r1} ticks/s)"),
        "baseline (b): kernel TCP + rustls, one thread polling".to_string(),
        "baseline (a): kernel TCP + rustls, blocking threads".to_string(),
    ];
    let ticks = [
        args.ticks,
        args.paced_ticks,
        args.paced_ticks,
        args.ticks,
        args.blocking_ticks,
    ];
    let files = [
        "tickwire-inmem",
        "tickwire-inmem-8x",
        "tickwire-inmem-1x",
        "kernel-polling",
        "kernel-blocking",
    ];
    for (i, name) in names.iter().enumerate() {
        let ticks = ticks[i];
        if text {
            print!("running {name} ({ticks} ticks)… ");
            let _ = std::io::stdout().flush();
        }
        let paced = |rate_per_s| {
            inmem::run(
                inmem::Params {
                    ticks,
                    progress_every: 0,
                    rate_per_s,
                },
                |_| {},
            )
        };
        let report = match i {
            0 => paced(0),
            1 => paced(r8),
            2 => paced(r1),
            3 => kernel::run(Mode::Polling, ticks),
            _ => kernel::run(Mode::Blocking, ticks),
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
        runs.push((name.as_str(), report));
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    for (i, (_, r)) in runs.iter().enumerate() {
        let file = args.out.join(format!("{}.hgrm", files[i]));
        std::fs::write(&file, hgrm(&r.tick_to_trade))
            .with_context(|| format!("writing {}", file.display()))?;
    }
    let plot = args.out.join("tick-to-trade.svg");
    let curves: Vec<_> = runs.iter().map(|(n, r)| (*n, &r.tick_to_trade)).collect();
    plot_percentiles(&plot, "tick-to-trade inside the appliance", &curves)
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("writing {}", plot.display()))?;
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
    println!(
        "\nhistograms (.hgrm), tick-to-trade.svg and report.json in {}",
        args.out.display()
    );
    Ok(())
}
