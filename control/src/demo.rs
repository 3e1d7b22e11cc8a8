//! `tickwire demo`: the embedded default, no configuration.
//!
//! Runs the appliance's full software path in one process on the in-memory NIC pair (see
//! `tickwire_bench::inmem` and `tickwire_bench::venue`) against the Kraken venue simulator
//! (`tickwire_venue::kraken::Venue`, its matching engine behind tickwire's userspace TCP and
//! TLS 1.3): the client logs on with freshly generated HMAC credentials, subscribes to BTC/USD
//! L2 market data, and a market maker on the venue moves its offer once per tick at a steady
//! rate; the client parses each 35=X, keeps its L2 book (5041 checked), fires an armed order
//! ("best ask ≤ 84000.0 → buy IOC 0.01") through a precompiled template back down the same
//! stack, and the matching engine fills it against the offer. Shows progress live, then a
//! summary table, and writes the histograms (`.hgrm`), a percentile plot (SVG) and
//! `summary.json` to `--out`.
//!
//! `--net veth` (root): the same, but the venue runs on kernel TCP in its own network namespace
//! and the appliance on the AF_PACKET backend on the host end of a veth pair
//! (`tickwire_bench::veth`); the namespace and the pair are removed afterwards, also on Ctrl-C.

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;

use anyhow::{bail, Context as _};
use tickwire_bench::report::{hgrm, plot_percentiles, QUANTILES};

/// Options of `tickwire demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Number of market-data ticks the venue publishes.
    #[arg(long, default_value_t = 1_000_000)]
    pub ticks: u64,
    /// Ticks per second (0: as fast as the path allows). The default makes a run of about
    /// 25 seconds.
    #[arg(long, default_value_t = 40_000)]
    pub rate: u64,
    /// Folder for the histogram, the plot and the summary.
    #[arg(long, default_value = "tickwire-out/demo")]
    pub out: PathBuf,
    /// Where the venue runs: `inmem` (the in-memory NIC pair, one process) or `veth` (root:
    /// kernel TCP in its own network namespace, the appliance on AF_PACKET on a veth pair).
    #[arg(long, value_enum, default_value_t = Net::Inmem)]
    pub net: Net,
    /// Name prefix of the network namespace and veth pair `--net veth` makes
    /// (`<prefix>b<pid>`; removed after the run).
    #[arg(long, default_value = "tw-")]
    pub netns_prefix: String,
}

/// The network between the appliance and the venue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Net {
    /// The in-memory NIC pair, venue on the userspace stack.
    Inmem,
    /// A veth pair: the venue on kernel TCP in its own network namespace.
    Veth,
}

#[allow(clippy::print_stdout)]
pub fn run(args: &Args) -> anyhow::Result<()> {
    if args.ticks == 0 {
        bail!("--ticks must be at least 1");
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let veth = args.net == Net::Veth;
    if veth {
        crate::cli::interrupt_cleans_netns();
        println!(
            "tickwire demo: Kraken venue simulator on kernel TCP in its own network namespace,"
        );
        println!("               the appliance on AF_PACKET on the host end of a veth pair");
        println!(
            "path: AF_PACKET → allowlist → TCP (smoltcp) → TLS 1.3 (rustls) → FIX → book → trigger"
        );
        println!("      → precompiled NewOrderSingle → TLS → TCP → AF_PACKET → veth → kernel TCP → venue");
    } else {
        println!(
            "tickwire demo: Kraken venue simulator and appliance in one process, in-memory NIC pair"
        );
        println!("path: NIC → allowlist → TCP (smoltcp) → TLS 1.3 (rustls) → FIX → book → trigger");
        println!("      → precompiled NewOrderSingle → TLS → TCP → NIC → venue matching engine");
    }
    println!("venue: HMAC logon with generated credentials, BTC/USD L2 subscription (35=V → W/X),");
    println!("       a market maker moves its 0.01 offer every tick (84000.0 … 84000.7)");
    println!("armed: best ask ≤ 84000.0 → buy IOC 0.01 BTC/USD @ 84000.0");
    match args.rate {
        0 => println!("feed: {} ticks, as fast as the path allows\n", args.ticks),
        r => println!(
            "feed: {} ticks at {r} ticks/s (about {:.0} s)\n",
            args.ticks,
            args.ticks as f64 / r as f64
        ),
    }
    let live = std::io::stdout().is_terminal();
    // A live line four times a second on a terminal; ten lines otherwise (logs, CI).
    let every = match (live, args.rate) {
        (true, r) if r > 0 => (r / 4).max(1),
        _ => (args.ticks / 10).max(1),
    };
    let total = args.ticks;
    let params = tickwire_bench::inmem::Params {
        ticks: args.ticks,
        progress_every: every,
        rate_per_s: args.rate,
        stages: false,
        venue: tickwire_bench::inmem::VenueKind::Kraken,
    };
    let progress = |p: tickwire_bench::inmem::Progress| {
        let line = format!(
                "  {:>3}%  ticks in {:>8}  orders out {:>7}  fills {:>7}  tick-to-trade p50 {:>6} ns  p99 {:>7} ns",
                p.ticks * 100 / total,
                p.ticks,
                p.orders,
                p.fills,
                p.p50,
                p.p99
            );
        if live {
            print!("\r{line}");
            let _ = std::io::stdout().flush();
        } else {
            println!("{line}");
        }
    };
    let report = if veth {
        tickwire_bench::veth::run(
            params,
            &args.netns_prefix,
            |t| {
                println!(
                    "network: namespace {} (venue {}:4000/4001 on {}), appliance {} on {}\n",
                    t.ns,
                    tickwire_bench::veth::VENUE,
                    t.venue_if,
                    tickwire_bench::veth::CLIENT,
                    t.host_if
                )
            },
            progress,
        )
        .map_err(|e| match e {
            tickwire_bench::veth::Error::Unavailable(r) => {
                crate::cli::environment(format!("--net veth: not available: {r}"))
            }
            e @ tickwire_bench::veth::Error::Failed(_) => anyhow::Error::msg(e.to_string()),
        })?
    } else {
        tickwire_bench::inmem::run(params, progress).map_err(anyhow::Error::msg)?
    };
    if live {
        println!();
    }
    let h = &report.tick_to_trade;
    println!(
        "\nsummary: {} ticks in {:.2} s",
        report.ticks,
        report.elapsed.as_secs_f64()
    );
    println!("  orders sent       {}", report.orders);
    println!("  orders filled     {}", report.fills);
    println!("  frames dropped    {} (allowlist)", report.dropped_frames);
    println!("  risk refused      {} firings", report.risk_refused);
    if let Some(v) = report.venue_stats {
        println!(
            "  venue             {} logons, {} execution reports, {} market-data messages, {} rejects",
            v.logons, v.reports, v.md_messages, v.rejects
        );
    }
    println!("  tick-to-trade inside the appliance (tick frame in → order frame to NIC), ns:");
    for (label, q) in QUANTILES {
        println!("    {label:<7}{:>9}", h.value_at_quantile(q));
    }
    println!("    max    {:>9}", h.max());
    let v = &report.at_venue;
    if veth {
        println!("  tick-to-trade at the venue (tick written to its socket → order read, through veth), ns:");
    } else {
        println!("  tick-to-trade at the venue (tick frame to NIC → order frame received), ns:");
    }
    for (label, q) in QUANTILES {
        println!("    {label:<7}{:>9}", v.value_at_quantile(q));
    }
    println!("    max    {:>9}", v.max());
    if let Some(k) = report.peak_rss_kib {
        println!(
            "  peak RSS          {} MiB (process, during the run)",
            k / 1024
        );
    }

    let hgrm_path = args.out.join("tick-to-trade.hgrm");
    std::fs::write(&hgrm_path, hgrm(h))
        .with_context(|| format!("writing {}", hgrm_path.display()))?;
    let venue_hgrm = args.out.join("tick-to-trade-at-venue.hgrm");
    std::fs::write(&venue_hgrm, hgrm(v))
        .with_context(|| format!("writing {}", venue_hgrm.display()))?;
    let plot = args.out.join("tick-to-trade.svg");
    plot_percentiles(
        &plot,
        if veth {
            "tickwire demo: tick-to-trade (AF_PACKET on veth + userspace TCP + TLS 1.3 + FIX; venue on kernel TCP)"
        } else {
            "tickwire demo: tick-to-trade (in-memory NIC + userspace TCP + TLS 1.3 + FIX)"
        },
        &[
            ("inside the appliance (tick in → order to NIC)", h),
            ("at the venue (tick to NIC → order received)", v),
        ],
    )
    .map_err(anyhow::Error::msg)
    .with_context(|| format!("writing {}", plot.display()))?;
    let summary = serde_json::json!({
        "ticks": report.ticks,
        "net": if veth { "veth" } else { "inmem" },
        "rate_per_s": args.rate,
        "orders": report.orders,
        "fills": report.fills,
        "frames_dropped": report.dropped_frames,
        "elapsed_s": report.elapsed.as_secs_f64(),
        "tick_to_trade_ns": QUANTILES
            .iter()
            .map(|(l, q)| (l.to_string(), serde_json::Value::from(h.value_at_quantile(*q))))
            .chain([("max".to_string(), serde_json::Value::from(h.max()))])
            .collect::<serde_json::Map<String, serde_json::Value>>(),
        "at_venue_ns": QUANTILES
            .iter()
            .map(|(l, q)| (l.to_string(), serde_json::Value::from(v.value_at_quantile(*q))))
            .chain([("max".to_string(), serde_json::Value::from(v.max()))])
            .collect::<serde_json::Map<String, serde_json::Value>>(),
        "peak_rss_kib": report.peak_rss_kib,
        "risk_refused": report.risk_refused,
        "venue": report.venue_stats.map(|v| serde_json::json!({
            "logons": v.logons,
            "execution_reports": v.reports,
            "md_messages": v.md_messages,
            "rejects": v.rejects,
        })),
    });
    std::fs::write(
        args.out.join("summary.json"),
        serde_json::to_vec_pretty(&summary)?,
    )?;
    println!(
        "\nwritten to {}: tick-to-trade.svg (percentile plot), tick-to-trade.hgrm, tick-to-trade-at-venue.hgrm, summary.json",
        args.out.display()
    );
    if report.orders == 0 || report.fills != report.orders {
        bail!(
            "expected every order to be filled: {} sent, {} filled",
            report.orders,
            report.fills
        );
    }
    Ok(())
}
