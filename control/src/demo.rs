//! `tickwire demo`: the embedded default, no configuration.
//!
//! Runs the appliance's full software path in one process on the in-memory NIC pair (see
//! `tickwire_bench::inmem`): a venue side publishes BTC/USD book updates over FIX / TLS 1.3 /
//! userspace TCP; the client parses them, keeps its L2 book, fires an armed order ("best ask ≤
//! 84000.0 → buy IOC 0.01") through a precompiled template back down the same stack, and the
//! venue fills it. Prints progress, then the tick-to-trade percentiles.

use anyhow::bail;

/// Options of `tickwire demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Number of market-data ticks the venue publishes.
    #[arg(long, default_value_t = 1_000_000)]
    pub ticks: u64,
}

#[allow(clippy::print_stdout)]
pub fn run(args: &Args) -> anyhow::Result<()> {
    if args.ticks == 0 {
        bail!("--ticks must be at least 1");
    }
    println!("tickwire demo: venue and appliance in one process, in-memory NIC pair");
    println!("path: NIC → allowlist → TCP (smoltcp) → TLS 1.3 (rustls) → FIX → book → trigger");
    println!("      → precompiled NewOrderSingle → TLS → TCP → NIC; the venue fills every order");
    println!("armed: best ask ≤ 84000.0 → buy IOC 0.01 BTC/USD @ 84000.0\n");
    let every = (args.ticks / 10).max(1);
    let total = args.ticks;
    let report = tickwire_bench::inmem::run(
        tickwire_bench::inmem::Params { ticks: args.ticks, progress_every: every },
        |p| {
            println!(
                "  {:>3}%  ticks {:>8}  orders {:>7}  fills {:>7}  tick-to-trade p50 {:>6} ns  p99 {:>7} ns",
                p.ticks * 100 / total,
                p.ticks,
                p.orders,
                p.fills,
                p.p50,
                p.p99
            );
        },
    )
    .map_err(anyhow::Error::msg)?;
    let h = &report.tick_to_trade;
    println!(
        "\nsummary: {} ticks in {:.2} s",
        report.ticks,
        report.elapsed.as_secs_f64()
    );
    println!("  orders sent       {}", report.orders);
    println!("  orders filled     {}", report.fills);
    println!("  frames dropped    {} (allowlist)", report.dropped_frames);
    println!("  tick-to-trade inside the appliance (tick frame in → order frame to NIC), ns:");
    for (label, q) in [
        ("p50", 0.5),
        ("p90", 0.9),
        ("p99", 0.99),
        ("p99.9", 0.999),
        ("p99.99", 0.9999),
    ] {
        println!("    {label:<7}{:>9}", h.value_at_quantile(q));
    }
    println!("    max    {:>9}", h.max());
    if report.orders == 0 || report.fills != report.orders {
        bail!(
            "expected every order to be filled: {} sent, {} filled",
            report.orders,
            report.fills
        );
    }
    Ok(())
}
