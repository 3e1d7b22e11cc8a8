//! `tickwire bench`: tick-to-trade through tickwire next to the baselines a user would
//! otherwise build, in one run, with HDR percentiles, ratios and `.hgrm` files.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use hdrhistogram::Histogram;
use tickwire_bench::floor::{self, Floor};
use tickwire_bench::hiccups::{self, Estimate, Hiccups};
use tickwire_bench::inmem::{self, Report, VenueKind};
use tickwire_bench::interrupts::{self, Interval};
use tickwire_bench::kernel::{self, Mode};
use tickwire_bench::report::{hgrm, plot_percentiles, QUANTILES};
use tickwire_bench::stages;
use tickwire_bench::targets;
use tickwire_bench::two_core;
use tickwire_bench::veth;

/// The per-stage breakdown's tail looks at the stamped ticks of at least this many ns: the
/// p99.9 target.
const TAIL_NS: u64 = tickwire_bench::floor::P999_TARGET_NS;

/// A busy minute of Kraken BTC/USD L2 book updates, ticks per second. An assumption (Kraken
/// publishes no rate); `--rate` changes it.
const REALISTIC_RATE: u64 = 2_000;

/// A topology `tickwire bench` can run (`--topology`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Topology {
    /// tickwire on the in-memory NIC pair, saturating (with the per-stage breakdown).
    Inmem,
    /// The same with the venue on the other core: client and venue on two pinned threads over
    /// the two-thread NIC pair (needs 2 CPUs).
    #[value(name = "inmem-2core")]
    Inmem2core,
    /// tickwire in memory, paced at 8× the realistic rate.
    Paced8x,
    /// tickwire in memory, paced at the realistic rate.
    Paced1x,
    /// tickwire on AF_PACKET over veth, the venue on kernel TCP in its own netns (root).
    Veth,
    /// Baseline (b): kernel TCP + rustls, one thread polling.
    KernelPolling,
    /// Baseline (a): kernel TCP + rustls, blocking threads.
    KernelBlocking,
    /// Baseline (c): QuickFIX C++ (the `quickfix` crate) over kernel TCP + OpenSSL TLS 1.3,
    /// one thread polling (needs a build with `--features quickfix`).
    Quickfix,
    /// tickwire in memory against the Kraken venue simulator (matching engine).
    Kraken,
    /// tickwire on DPDK ports, one row per pair in one EAL: virtio_user ↔ vhost and memif
    /// (needs a build with `--features dpdk`, root and hugepages).
    Dpdk,
}

/// Every topology, in table order.
const ALL: [Topology; 10] = [
    Topology::Inmem,
    Topology::Inmem2core,
    Topology::Paced8x,
    Topology::Paced1x,
    Topology::Veth,
    Topology::KernelPolling,
    Topology::KernelBlocking,
    Topology::Quickfix,
    Topology::Kraken,
    Topology::Dpdk,
];

/// Options of `tickwire bench`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Ticks per topology. One tick in eight meets the armed trigger and fires an order, and
    /// half of those are stamped for the stage breakdown, so the default leaves ≈ 100k
    /// un-stamped tick-to-trade samples per row (and ≈ 100k stamped ones).
    #[arg(long, default_value_t = 1_600_000)]
    pub ticks: u64,
    /// Ticks for the blocking kernel baseline (paced at 50 µs per tick).
    #[arg(long, default_value_t = 20_000)]
    pub blocking_ticks: u64,
    /// Ticks for each paced tickwire run (1× and 8× the realistic rate).
    #[arg(long, default_value_t = 20_000)]
    pub paced_ticks: u64,
    /// Ticks for baseline (c), QuickFIX.
    #[arg(long, default_value_t = 20_000)]
    pub quickfix_ticks: u64,
    /// The "realistic" tick rate, ticks/s (1×); the 8× run publishes eight times as fast.
    #[arg(long, default_value_t = REALISTIC_RATE)]
    pub rate: u64,
    /// Topologies to run, comma-separated (default: every one; those this host cannot run
    /// are shown as not available, with the reason).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub topology: Vec<Topology>,
    /// Name prefix of the network namespace and veth pair the veth topology makes
    /// (`<prefix>b<pid>`, host end `…h`, venue end `…v`; removed after the run).
    #[arg(long, default_value = "tw-")]
    pub netns_prefix: String,
    /// Name prefix of the dpdk topology's EAL `--file-prefix`, hugepage files and sockets
    /// (`<prefix><pid>`; removed after the run).
    #[arg(long, default_value = "tw-dpdk-")]
    pub dpdk_prefix: String,
    /// inmem-2core: `spin_loop` hints (x86 `pause`) the venue thread runs between two polls
    /// while it waits; at least 1 (0 is refused). More leave more of a shared physical core
    /// to the appliance.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub venue_pauses: u32,
    /// Seconds of the platform hiccup meter, run once before the rows: a thread pinned to the
    /// CPU the inmem-2core client is pinned to reads the TSC clock back to back and records
    /// every gap of 250 ns or more between two reads (time the platform took: timer ticks,
    /// interrupts, the hypervisor). Shown as the "platform" section, with an estimate of the
    /// share of ticks such gaps reach; 0 turns it off. At most 600.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(0..=600))]
    pub hiccup_secs: u64,
    /// Seconds of each platform floor. After each in-memory row (inmem, inmem-2core), on the
    /// CPU its client ran on, a job of register-only work calibrated to the row's p50 is timed
    /// back to back for this long (after the first such row, a second one of 1 µs, the p50
    /// target). Only time the platform takes lengthens such a job, so its p99.9 is the least
    /// any code with that median gets on this core (the "platform floor" section). 0 turns it
    /// off. At most 600.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(0..=600))]
    pub floor_secs: u64,
    /// Folder for `.hgrm` files, the plot and the JSON report.
    #[arg(long, default_value = "tickwire-out/bench")]
    pub out: PathBuf,
}

/// One row of the tables: measured, or why it could not be.
struct Row {
    topology: Topology,
    name: String,
    file: &'static str,
    outcome: Result<Report, String>,
    /// The guest's interrupts of the row's (client's) CPU while it ran: the in-memory rows.
    guest: Option<Interval>,
}

pub fn run(args: &Args, output: crate::cli::Output) -> anyhow::Result<()> {
    let result = report(args, output);
    #[cfg(feature = "quickfix")]
    {
        // QuickFIX's OpenSSL verify callback printf()s to C's stdout, which a pipe buffers
        // until exit: everything of ours is written, so what C flushes at exit goes to stderr
        // and stdout stays one JSON document.
        let _ = std::io::stdout().flush();
        let _ = nix::unistd::dup2(2, 1);
    }
    result
}

/// What a text run prints once a row is done.
#[allow(clippy::print_stdout)]
fn say(name: &str, outcome: &Result<Report, String>) {
    match outcome {
        Ok(report) => println!(
            "{} orders, {} fills in {:.2} s",
            report.orders,
            report.fills,
            report.elapsed.as_secs_f64()
        ),
        Err(reason) => println!("{name}: not available: {reason}"),
    }
}

/// The DPDK row's name in a build without DPDK.
const DPDK_NAME: &str = "tickwire: DPDK ports + userspace TCP + TLS 1.3";
const NOT_BUILT_DPDK: &str = "not built with --features dpdk (the DPDK transports are measured by `cargo bench -p tickwire-bench --features dpdk --bench dpdk_rtt`)";

/// The DPDK rows: tickwire's client and the minimal venue on the two ends of each DPDK pair,
/// the pairs brought up once in this process's one EAL; each row says why not when this host
/// cannot (not root, no hugepages, what DPDK refused). A run that fails after set-up is an
/// error, as for the other rows.
#[cfg(feature = "dpdk")]
#[allow(clippy::print_stdout)]
fn dpdk_rows(args: &Args, text: bool) -> anyhow::Result<Vec<Row>> {
    use tickwire_bench::dpdk::{Options, Ports, Transport};
    let opts = Options {
        prefix: args.dpdk_prefix.clone(),
        ..Options::default()
    };
    let mut ports = Ports::start(&opts);
    let mut rows = Vec::new();
    for t in Transport::ALL {
        let name = format!("tickwire: {} + userspace TCP + TLS 1.3", t.name());
        let file = match t {
            Transport::VirtioVhost => "tickwire-dpdk-vhost",
            Transport::Memif => "tickwire-dpdk-memif",
        };
        let outcome = match &mut ports {
            Err(e) => Err(e.to_string()),
            Ok(ports) => {
                if text {
                    let (c, v) = t.ports();
                    print!(
                        "running {name} ({} ticks)… [EAL {}, {c} ↔ {v}] ",
                        args.ticks,
                        ports.file_prefix()
                    );
                    let _ = std::io::stdout().flush();
                }
                let params = inmem::Params {
                    ticks: args.ticks,
                    progress_every: 0,
                    rate_per_s: 0,
                    stages: false,
                    venue: VenueKind::Minimal,
                };
                Ok(ports
                    .run(t, params)
                    .map_err(|e| anyhow::Error::msg(e.to_string()))
                    .with_context(|| format!("running {name}"))?)
            }
        };
        if text {
            say(&name, &outcome);
        }
        rows.push(Row {
            topology: Topology::Dpdk,
            name,
            file,
            outcome,
            guest: None,
        });
    }
    Ok(rows)
}

/// Without DPDK in the build: one row that says so.
#[cfg(not(feature = "dpdk"))]
fn dpdk_rows(_args: &Args, text: bool) -> anyhow::Result<Vec<Row>> {
    let outcome = Err(NOT_BUILT_DPDK.to_string());
    if text {
        say(DPDK_NAME, &outcome);
    }
    Ok(vec![Row {
        topology: Topology::Dpdk,
        name: DPDK_NAME.to_string(),
        file: "tickwire-dpdk",
        outcome,
        guest: None,
    }])
}

/// The platform hiccup meter for `secs` on the client's CPU, or why it could not run.
#[allow(clippy::print_stdout)]
fn platform_hiccups(secs: u64, text: bool) -> Result<Hiccups, String> {
    let measured = two_core::client_core().and_then(|cpu| {
        if text {
            print!("measuring platform hiccups on CPU {cpu} ({secs} s)… ");
            let _ = std::io::stdout().flush();
        }
        hiccups::measure(cpu, Duration::from_secs(secs)).map_err(|e| e.to_string())
    });
    if text {
        match &measured {
            Ok(h) => println!(
                "{} gaps of ≥ 1 µs in {:.2} s",
                h.summary.at_least[0],
                h.summary.run_ns as f64 / 1e9
            ),
            Err(reason) => println!("platform hiccups: not available: {reason}"),
        }
    }
    measured
}

/// A JSON key for a gap bound: `ge_2us`.
fn bound_key(ns: u64) -> String {
    format!("ge_{}us", ns / 1000)
}

/// The report's `platform` object: the meter's run and the estimates for the tickwire rows.
fn platform_json(
    hiccups: &Result<Hiccups, String>,
    estimates: &[(&str, &Report, Estimate, Option<Interval>)],
) -> serde_json::Value {
    let h = match hiccups {
        Ok(h) => h,
        Err(reason) => {
            return serde_json::json!({ "available": false, "reason": reason });
        }
    };
    let s = &h.summary;
    let by_bound = |v: &dyn Fn(usize) -> serde_json::Value| {
        hiccups::BOUNDS_NS
            .iter()
            .enumerate()
            .map(|(i, &b)| (bound_key(b), v(i)))
            .collect::<serde_json::Map<String, serde_json::Value>>()
    };
    serde_json::json!({
        "available": true,
        "method": format!(
            "before the rows, one thread pinned to CPU {} (the CPU of the inmem-2core client and of the one-thread rows) reads the calibrated clock back to back; an interval of at least {} ns between two reads is a gap",
            h.cpu,
            hiccups::THRESHOLD_NS
        ),
        "cpu": h.cpu,
        "clock": match h.source {
            tickwire_dataplane::clock::Source::Tsc => "tsc",
            tickwire_dataplane::clock::Source::Monotonic => "clock_monotonic",
        },
        "requested_s": h.requested.as_secs_f64(),
        "run_ns": s.run_ns,
        "reads": s.reads,
        "normal_read_ns": s.normal_read_ns,
        "loop_faster_than_threshold": s.resolved(),
        "gap_threshold_ns": hiccups::THRESHOLD_NS,
        "gaps": s.gaps,
        "gap_counts": by_bound(&|i| s.at_least[i].into()),
        "gaps_per_s": by_bound(&|i| s.rates()[i].into()),
        "largest_gap_ns": s.largest_gap_ns,
        "lost_fraction_ge_1us": s.lost_fraction(),
        "guest_interrupts": h.guest.map(|g| guest_json(&g, Some(s.at_least[0]))),
        "estimates": estimates.iter().map(|(run, r, e, guest)| serde_json::json!({
            "run": run,
            "p50_ns": e.p50_ns,
            "p99_9_ns": r.tick_to_trade.value_at_quantile(0.999),
            "gap_ns": hiccups::ESTIMATE_GAP_NS,
            "gaps_per_s": e.rate_per_s,
            "share_of_ticks_with_gap": e.share,
            "exceeds_0_1_percent": e.exceeds_p999(),
            "observed_share_ge_p50_plus_2us": hiccups::observed_share(&r.tick_to_trade),
            "guest_interrupts_during_row": guest.map(|g| guest_json(&g, None)),
            "formula": "share ≈ R × D: R the gaps of at least 2 µs per second, D the row's tick-to-trade p50 (an estimate: gaps independent of the ticks, R × D ≪ 1)",
        })).collect::<Vec<_>>(),
    })
}

/// The guest's interrupts of an interval, per second by class, and its steal time.
fn guest_rates(g: &Interval) -> String {
    let c = &g.counts;
    let steal = g
        .steal_ms(interrupts::user_hz())
        .map_or_else(|| "not reported".to_string(), |ms| format!("{ms:.0} ms"));
    format!(
        "{:.1}/s (timer {:.1}/s, IPIs {:.1}/s, devices {:.1}/s, other {:.1}/s); steal time {steal}",
        g.per_second(c.total()),
        g.per_second(c.timer),
        g.per_second(c.ipi),
        g.per_second(c.device),
        g.per_second(c.other),
    )
}

/// The JSON of the guest's interrupts over an interval; with `gaps` (the meter's gaps of
/// ≥ 1 µs over the same interval), also how many of them at least are not the guest's.
fn guest_json(g: &Interval, gaps: Option<u64>) -> serde_json::Value {
    let c = &g.counts;
    let mut v = serde_json::json!({
        "cpu": g.cpu,
        "span_s": g.span.as_secs_f64(),
        "timer": c.timer,
        "ipi": c.ipi,
        "device": c.device,
        "other": c.other,
        "total": c.total(),
        "per_s": g.per_second(c.total()),
        "timer_per_s": g.per_second(c.timer),
        "steal_ms": g.steal_ms(interrupts::user_hz()),
        "classes": "timer: LOC; ipi: RES CAL TLB IWI; device: the numbered rows; other: every other per-CPU row of /proc/interrupts; steal: /proc/stat",
    });
    if let Some(gaps) = gaps {
        v["gaps_ge_1us_not_guest_interrupts_per_s_at_least"] =
            g.unexplained_per_second(gaps).into();
    }
    v
}

/// The text report's platform section.
#[allow(clippy::print_stdout)]
fn print_platform(
    hiccups: &Result<Hiccups, String>,
    estimates: &[(&str, &Report, Estimate, Option<Interval>)],
) {
    let h = match hiccups {
        Ok(h) => h,
        Err(reason) => {
            println!(
                "
platform: hiccups not measured: {reason}"
            );
            return;
        }
    };
    let s = &h.summary;
    println!(
        "
platform: hiccups on CPU {} ({:.2} s of back-to-back clock reads before the rows, on a thread pinned where the one-thread rows and the inmem-2core client run)",
        h.cpu,
        s.run_ns as f64 / 1e9
    );
    println!(
        "  clock reads      {}, normally {} apart (mean of the intervals below the {} ns gap threshold)",
        s.reads,
        s.normal_read_ns
            .map_or_else(|| "-".to_string(), |ns| format!("{ns:.1} ns")),
        hiccups::THRESHOLD_NS
    );
    if !s.resolved() {
        println!(
            "  (most intervals are gaps: reading the clock takes about {} ns or more here, an unoptimised build or a clock read the hypervisor traps, so the loop's own pace is counted with the platform's gaps)",
            hiccups::THRESHOLD_NS
        );
    }
    let rates: Vec<String> = hiccups::BOUNDS_NS
        .iter()
        .zip(s.rates())
        .map(|(b, r)| format!("≥ {} µs {r:.1}", b / 1000))
        .collect();
    println!("  gaps per second  {}", rates.join(", "));
    println!(
        "  largest gap      {:.1} µs; {:.3} % of the run lost in gaps of ≥ 1 µs",
        s.largest_gap_ns as f64 / 1000.0,
        100.0 * s.lost_fraction()
    );
    match &h.guest {
        Some(g) => {
            println!(
                "  guest interrupts on CPU {} over the same {:.2} s: {}",
                g.cpu,
                g.span.as_secs_f64(),
                guest_rates(g)
            );
            println!(
                "    each takes the CPU once, so of the {:.1} gaps/s of ≥ 1 µs at least {:.1}/s are not this kernel's (the hypervisor's or the host's: only the platform removes those; isolcpus, nohz_full and moving IRQs remove the guest's)",
                s.rates()[0],
                g.unexplained_per_second(s.at_least[0])
            );
        }
        None => println!("  guest interrupts: not counted (/proc/interrupts unreadable)"),
    }
    for (run, r, e, guest) in estimates {
        println!(
            "  estimate for {run}: ticks containing a gap of ≥ 2 µs ≈ R × D = {:.1}/s × {} ns ≈ {:.3} %",
            e.rate_per_s,
            e.p50_ns,
            100.0 * e.share,
        );
        if e.exceeds_p999() {
            println!("    above 0.1 %: by this estimate more than one tick in a thousand carries ≥ 2 µs of platform time, which puts p99.9 at D + 2 µs or beyond: p99.9 is then set by the platform, not by tickwire's code");
        } else {
            println!("    at most 0.1 %: by this estimate gaps of ≥ 2 µs reach at most one tick in a thousand, so they alone do not set p99.9");
        }
        println!(
            "    measured in the row: {:.3} % of its ticks took ≥ D + 2 µs (from any cause); p99.9 {} ns",
            100.0 * hiccups::observed_share(&r.tick_to_trade),
            r.tick_to_trade.value_at_quantile(0.999)
        );
        if let Some(g) = guest {
            println!(
                "    guest interrupts on CPU {} during the row ({:.2} s): {}",
                g.cpu,
                g.span.as_secs_f64(),
                guest_rates(g)
            );
        }
    }
    if !estimates.is_empty() {
        println!("    (R from the meter's run, D the row's p50; it assumes the gaps arrive independently of the ticks and leaves out what a gap costs afterwards)");
    }
}

/// A platform floor measured right after a row: at the row's p50, or at the p50 target.
struct FloorRun {
    /// The row's index in the rows.
    row: usize,
    /// Calibrated to [`floor::P50_TARGET_NS`] rather than to the row's p50.
    at_target: bool,
    result: Result<Floor, String>,
}

/// The platform floor of a job of `p50` ns for `secs`, on the client's CPU, or why it could
/// not be measured.
#[allow(clippy::print_stdout)]
fn platform_floor(p50: u64, secs: Duration, text: bool) -> Result<Floor, String> {
    let measured = two_core::client_core().and_then(|cpu| {
        if text {
            print!(
                "  platform floor after it: jobs of {p50} ns on CPU {cpu} ({} s)… ",
                secs.as_secs()
            );
            let _ = std::io::stdout().flush();
        }
        floor::measure(cpu, p50, secs).map_err(|e| e.to_string())
    });
    if text {
        match &measured {
            Ok(f) => println!(
                "p50 {} ns, p99.9 {} ns",
                f.histogram.value_at_quantile(0.5),
                f.histogram.value_at_quantile(0.999)
            ),
            Err(reason) => println!("not available: {reason}"),
        }
    }
    measured
}

/// The row a floor at its p50 is compared with (`None` for the floor of the p50 target).
fn compared_row<'a>(rows: &'a [Row], run: &FloorRun) -> Option<&'a Report> {
    rows[run.row]
        .outcome
        .as_ref()
        .ok()
        .filter(|_| !run.at_target)
}

/// The compared row's tick-to-trade p99.9 and its ratio to the floor's.
fn over_floor(rows: &[Row], run: &FloorRun, f: &Floor) -> Option<(u64, f64)> {
    let ours = compared_row(rows, run)?
        .tick_to_trade
        .value_at_quantile(0.999);
    Some((
        ours,
        ours as f64 / f.histogram.value_at_quantile(0.999).max(1) as f64,
    ))
}

/// One entry of the report's `platform_floor` array.
fn floor_json(
    rows: &[Row],
    run: &FloorRun,
    quantiles: &dyn Fn(&Histogram<u64>) -> serde_json::Map<String, serde_json::Value>,
) -> serde_json::Value {
    let row = &rows[run.row];
    let at = if run.at_target {
        "p50_target"
    } else {
        "row_p50"
    };
    let f = match &run.result {
        Ok(f) => f,
        Err(reason) => {
            return serde_json::json!({ "after_run": row.name, "at": at, "available": false, "reason": reason });
        }
    };
    let (row_p999, ratio) = over_floor(rows, run, f).unzip();
    serde_json::json!({
        "after_run": row.name,
        "at": at,
        "available": true,
        "method": "right after the row, one thread pinned to the row's client CPU times a register-only job (a dependent multiply-rotate chain, no memory access) calibrated to a median of target_ns (the row's tick-to-trade p50, or the 1 µs p50 target), back to back with the same clock: only time the platform takes lengthens it",
        "cpu": f.cpu,
        "clock": match f.source {
            tickwire_dataplane::clock::Source::Tsc => "tsc",
            tickwire_dataplane::clock::Source::Monotonic => "clock_monotonic",
        },
        "target_ns": f.target_ns,
        "iterations": f.iterations,
        "jobs": f.histogram.len(),
        "ns": quantiles(&f.histogram),
        "share_ge_p50_plus_2us": hiccups::observed_share(&f.histogram),
        "p99_9_target_ns": floor::P999_TARGET_NS,
        "above_target": f.above_target(),
        "row_p99_9_ns": row_p999,
        "row_p99_9_over_floor": ratio,
        "row_share_ge_p50_plus_2us": compared_row(rows, run).map(|r| hiccups::observed_share(&r.tick_to_trade)),
    })
}

/// The text report's platform floor section.
#[allow(clippy::print_stdout)]
fn print_floors(rows: &[Row], floors: &[FloorRun]) {
    println!(
        "
platform floor: right after each in-memory row, a register-only job (no memory access, no branch but its loop's) of the row's p50 (after the first row also of the 1 µs p50 target), timed back to back on the row's CPU; only time the platform takes lengthens it, so its tail is the least any code with that median gets here"
    );
    for run in floors {
        let row = &rows[run.row];
        let what = if run.at_target {
            format!("at the p50 target, after {}", row.name)
        } else {
            format!("{}, at its p50", row.name)
        };
        let f = match &run.result {
            Ok(f) => f,
            Err(reason) => {
                println!("  {what}: not measured: {reason}");
                continue;
            }
        };
        let h = &f.histogram;
        println!(
            "  {what}: D = {} ns ({} iterations, {} jobs on CPU {}): p50 {}, p99 {}, p99.9 {}, p99.99 {}, max {} ns; {:.3} % of jobs took ≥ D + 2 µs",
            f.target_ns,
            f.iterations,
            h.len(),
            f.cpu,
            h.value_at_quantile(0.5),
            h.value_at_quantile(0.99),
            h.value_at_quantile(0.999),
            h.value_at_quantile(0.9999),
            h.max(),
            100.0 * hiccups::observed_share(h),
        );
        let row_tail = over_floor(rows, run, f).map_or_else(String::new, |(p999, ratio)| {
            format!("; the row's p99.9 {p999} ns is {ratio:.2}× the floor's")
        });
        let target = floor::P999_TARGET_NS as f64 / 1000.0;
        let (side, verdict) = if f.above_target() {
            (
                "above",
                "on this core during this run no code with this median meets it",
            )
        } else {
            ("within", "the platform alone leaves room for it")
        };
        println!(
            "    the floor's p99.9 is {side} the {target} µs p99.9 target: {verdict}{row_tail}"
        );
    }
}

/// Baseline (c), or why it is not in this build.
fn quickfix_row(ticks: u64) -> anyhow::Result<Result<Report, String>> {
    #[cfg(feature = "quickfix")]
    {
        tickwire_bench::quickfix::run(ticks)
            .map(Ok)
            .map_err(anyhow::Error::msg)
    }
    #[cfg(not(feature = "quickfix"))]
    {
        let _ = ticks;
        Ok(Err("not built with --features quickfix (builds QuickFIX C++ with cmake: cargo run --release -p tickwire-control --features quickfix --bin tickwire -- bench)".to_string()))
    }
}

#[allow(clippy::print_stdout)]
fn report(args: &Args, output: crate::cli::Output) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.ticks > 0
            && args.blocking_ticks > 0
            && args.paced_ticks > 0
            && args.quickfix_ticks > 0
            && args.rate > 0,
        "--ticks, --blocking-ticks, --paced-ticks, --quickfix-ticks and --rate must be at least 1"
    );
    crate::cli::interrupt_cleans_netns();
    let text = output == crate::cli::Output::Text;
    let mut selected: Vec<Topology> = ALL
        .into_iter()
        .filter(|t| args.topology.is_empty() || args.topology.contains(t))
        .collect();
    // The venue-on-the-other-core row needs two CPUs: asked for, their absence is an error;
    // in the default set the row is left out, saying why.
    let mut omitted = None;
    if selected.contains(&Topology::Inmem2core) {
        if let Err(reason) = two_core::cores() {
            anyhow::ensure!(args.topology.is_empty(), "--topology inmem-2core: {reason}");
            selected.retain(|t| *t != Topology::Inmem2core);
            omitted = Some(reason);
        }
    }
    let machine = tickwire_hw::show::Machine::read(&tickwire_hw::HostRoot::live());
    if text {
        println!("tickwire bench: tick-to-trade, same FIX/TLS/strategy code on every path");
        println!("machine: {machine}");
        println!("load average: {}", load_average());
        println!(
            "venue: every row but the Kraken one runs against the same minimal venue (publishes"
        );
        println!("       the feed, fills every order), so tickwire and the baselines do the same venue work;");
        println!("       the Kraken row is the Kraken venue simulator with its matching engine (the demo)\n");
        if let Some(reason) = &omitted {
            println!("inmem-2core left out: {reason}\n");
        }
    }
    let hiccups = (args.hiccup_secs > 0).then(|| platform_hiccups(args.hiccup_secs, text));
    let r1 = args.rate;
    let r8 = args.rate.saturating_mul(8);
    let mut rows: Vec<Row> = Vec::new();
    let mut floors: Vec<FloorRun> = Vec::new();
    let load_before = load_average();
    for topology in selected {
        if topology == Topology::Dpdk {
            rows.extend(dpdk_rows(args, text)?);
            continue;
        }
        let (name, file, ticks) = match topology {
            Topology::Inmem => (
                "tickwire in-memory NIC + userspace TCP + TLS 1.3".to_string(),
                "tickwire-inmem",
                args.ticks,
            ),
            Topology::Inmem2core => (
                "tickwire in-memory, venue on the other core (2 pinned threads)".to_string(),
                "tickwire-inmem-2core",
                args.ticks,
            ),
            Topology::Paced8x => (
                format!("tickwire, paced at 8x ({r8} ticks/s)"),
                "tickwire-inmem-8x",
                args.paced_ticks,
            ),
            Topology::Paced1x => (
                format!("tickwire, paced at 1x ({r1} ticks/s)"),
                "tickwire-inmem-1x",
                args.paced_ticks,
            ),
            Topology::Veth => (
                "tickwire: AF_PACKET on veth + userspace TCP + TLS 1.3, venue on kernel TCP in its own netns"
                    .to_string(),
                "tickwire-veth",
                args.ticks,
            ),
            Topology::KernelPolling => (
                "baseline (b): kernel TCP + rustls, one thread polling".to_string(),
                "kernel-polling",
                args.ticks,
            ),
            Topology::KernelBlocking => (
                "baseline (a): kernel TCP + rustls, blocking threads".to_string(),
                "kernel-blocking",
                args.blocking_ticks,
            ),
            Topology::Quickfix => (
                "baseline (c): QuickFIX C++ (quickfix crate) + OpenSSL TLS 1.3, kernel TCP, one thread polling"
                    .to_string(),
                "quickfix",
                args.quickfix_ticks,
            ),
            Topology::Kraken => (
                "tickwire in-memory against the Kraken venue (matching engine)".to_string(),
                "tickwire-inmem-kraken",
                args.paced_ticks,
            ),
            Topology::Dpdk => (DPDK_NAME.to_string(), "tickwire-dpdk", args.ticks),
        };
        if text {
            print!("running {name} ({ticks} ticks)… ");
            let _ = std::io::stdout().flush();
        }
        let params = |rate_per_s, stages, venue| inmem::Params {
            ticks,
            progress_every: 0,
            rate_per_s,
            stages,
            venue,
        };
        // The one-thread rows, tickwire's and the polling baselines', run on a thread pinned
        // to the client's CPU (the appliance's engine thread has a core of its own; the meter
        // measured this one); the blocking baseline's threads and DPDK's lcores are placed
        // as they would be.
        let pinned = |f: &(dyn Fn() -> Result<Report, String> + Sync)| {
            let (r, cpu) = two_core::on_client_core(f).map_err(anyhow::Error::msg)?;
            if text {
                print!("[pinned to CPU {cpu}] ");
                let _ = std::io::stdout().flush();
            }
            r.map_err(anyhow::Error::msg)
        };
        let inmem_run =
            |rate, stages, venue| pinned(&|| inmem::run(params(rate, stages, venue), |_| {}));
        let run_row = || -> anyhow::Result<Result<Report, String>> {
            match topology {
                Topology::Inmem => inmem_run(0, true, VenueKind::Minimal).map(Ok),
                Topology::Inmem2core => {
                    let cores = two_core::cores().map_err(anyhow::Error::msg)?;
                    if text {
                        print!("[client on CPU {}, venue on CPU {}] ", cores.0, cores.1);
                        let _ = std::io::stdout().flush();
                    }
                    two_core::run(
                        params(0, true, VenueKind::Minimal),
                        two_core::Options {
                            cores: Some(cores),
                            venue_pauses: args.venue_pauses,
                        },
                    )
                    .map(Ok)
                    .map_err(anyhow::Error::msg)
                }
                Topology::Paced8x => inmem_run(r8, false, VenueKind::Minimal).map(Ok),
                Topology::Paced1x => inmem_run(r1, false, VenueKind::Minimal).map(Ok),
                Topology::Kraken => inmem_run(0, false, VenueKind::Kraken).map(Ok),
                Topology::KernelPolling => pinned(&|| kernel::run(Mode::Polling, ticks)).map(Ok),
                Topology::KernelBlocking => kernel::run(Mode::Blocking, ticks)
                    .map(Ok)
                    .map_err(anyhow::Error::msg),
                Topology::Veth => match veth::run(
                    params(0, false, VenueKind::Minimal),
                    &args.netns_prefix,
                    |t| {
                        if text {
                            print!("[netns {}, {} ↔ {}] ", t.ns, t.host_if, t.venue_if);
                            let _ = std::io::stdout().flush();
                        }
                    },
                    |_| {},
                ) {
                    Ok(r) => Ok(Ok(r)),
                    Err(veth::Error::Unavailable(reason)) => Ok(Err(reason)),
                    Err(e @ veth::Error::Failed(_)) => Err(anyhow::Error::msg(e.to_string())),
                },
                Topology::Quickfix => quickfix_row(ticks),
                Topology::Dpdk => Ok(Err(NOT_BUILT_DPDK.to_string())),
            }
        };
        // The in-memory rows' client runs on the client's CPU (the meter's): count the guest
        // kernel's interrupts there while the row runs.
        let (outcome, guest) = match (topology, two_core::client_core()) {
            (Topology::Inmem | Topology::Inmem2core, Ok(cpu)) => interrupts::around(cpu, run_row),
            _ => (run_row(), None),
        };
        let outcome = outcome.with_context(|| format!("running {name}"))?;
        if text {
            say(&name, &outcome);
        }
        if let (Topology::Inmem | Topology::Inmem2core, Ok(r), 1..) =
            (topology, &outcome, args.floor_secs)
        {
            if !r.tick_to_trade.is_empty() {
                let p50 = r.tick_to_trade.value_at_quantile(0.5);
                let secs = Duration::from_secs(args.floor_secs);
                let first = floors.is_empty();
                floors.push(FloorRun {
                    row: rows.len(),
                    at_target: false,
                    result: platform_floor(p50, secs, text),
                });
                if first {
                    floors.push(FloorRun {
                        row: rows.len(),
                        at_target: true,
                        result: platform_floor(floor::P50_TARGET_NS, secs, text),
                    });
                }
            }
        }
        rows.push(Row {
            topology,
            name,
            file,
            outcome,
            guest,
        });
    }
    let load_after = load_average();
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let write = |file: String, h: &Histogram<u64>| -> anyhow::Result<()> {
        let file = args.out.join(file);
        std::fs::write(&file, hgrm(h)).with_context(|| format!("writing {}", file.display()))
    };
    let measured: Vec<(&Row, &Report)> = rows
        .iter()
        .filter_map(|row| row.outcome.as_ref().ok().map(|r| (row, r)))
        .collect();
    for (row, r) in &measured {
        write(format!("{}.hgrm", row.file), &r.tick_to_trade)?;
        write(format!("{}-at-venue.hgrm", row.file), &r.at_venue)?;
        if let Some(st) = &r.stages {
            for (k, h) in stages::KEYS.iter().zip(&st.stage) {
                write(format!("{}-stage-{k}.hgrm", row.file), h)?;
            }
        }
    }
    if let Some(Ok(h)) = &hiccups {
        write("platform-hiccups.hgrm".to_string(), &h.histogram)?;
    }
    for f in &floors {
        if let Ok(h) = &f.result {
            let at = if f.at_target { "-at-p50-target" } else { "" };
            write(format!("{}-floor{at}.hgrm", rows[f.row].file), &h.histogram)?;
        }
    }
    if !measured.is_empty() {
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
            let curves: Vec<_> = measured
                .iter()
                .map(|(row, r)| (row.name.as_str(), pick(r)))
                .collect();
            plot_percentiles(&plot, title, &curves)
                .map_err(anyhow::Error::msg)
                .with_context(|| format!("writing {}", plot.display()))?;
        }
    }
    let p50 = |h: &Histogram<u64>| h.value_at_quantile(0.5).max(1) as f64;
    let find = |t: Topology| measured.iter().find(|(row, _)| row.topology == t);
    // Ratios are to tickwire in memory, else to the first row measured.
    let base = find(Topology::Inmem).or(measured.first());
    let ours = base.map_or(1.0, |(_, r)| p50(&r.tick_to_trade));
    let ours_venue = base.map_or(1.0, |(_, r)| p50(&r.at_venue));
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
    // The per-stage breakdowns: the one-thread in-memory row and the two-core one.
    let breakdown_of = |t: Topology| {
        find(t).and_then(|(row, r)| {
            r.stages.as_ref().map(|st| {
                let check = st.check(&r.tick_to_trade);
                (row.name.as_str(), st, check, st.tail(TAIL_NS))
            })
        })
    };
    let breakdown = breakdown_of(Topology::Inmem);
    let breakdown_2core = breakdown_of(Topology::Inmem2core);
    let breakdown_json = |(run, st, c, t): (&str, &stages::Stages, stages::Check, stages::Tail)| {
        let tail = serde_json::json!({
            "method": "the stamped ticks whose stages add up to at least threshold_ns: each stage's time past its p50, summed; excess_share against p50_share tells interruptions (in proportion to stage length) from a stage's own slow case",
            "threshold_ns": t.threshold_ns,
            "ticks": t.ticks,
            "kept": t.kept,
            "not_kept": t.not_kept,
            "stages": stages::KEYS.iter().enumerate().map(|(i, k)| serde_json::json!({
                "stage": k,
                "p50_share": t.p50_share()[i],
                "excess_ns": t.excess_ns[i],
                "excess_share": t.excess_share()[i],
                "spikes": t.spikes[i],
                "spikes_per_ms": t.spikes_per_ms()[i],
            })).collect::<Vec<_>>(),
            "spikes": {
                "method": "every kept tick: a stage run at least spike_ns past its p50 is one spike; per ms of the stage's p50 times the kept ticks, interruptions give every stage about the path's rate, and a stage at own_slow_case_ratio times it or more (with min_spikes) has a slow case of its own",
                "spike_ns": stages::SPIKE_NS,
                "path_spikes_per_ms": t.path_spikes_per_ms(),
                "own_slow_case_ratio": stages::OWN_SLOW_CASE_RATIO,
                "min_spikes": stages::MIN_SPIKES,
                "own_slow_cases": t.own_slow_cases().iter().map(|&i| stages::KEYS[i]).collect::<Vec<_>>(),
            },
        });
        serde_json::json!({
            "run": run,
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
            "tail": tail,
        })
    };
    // The platform estimate for the in-memory rows (the two-core one runs on the meter's CPU).
    let estimates: Vec<(&str, &Report, Estimate, Option<Interval>)> = match &hiccups {
        Some(Ok(h)) => [Topology::Inmem, Topology::Inmem2core]
            .into_iter()
            .filter_map(find)
            .filter(|(_, r)| !r.tick_to_trade.is_empty())
            .map(|(row, r)| {
                let e = Estimate::new(&h.summary, r.tick_to_trade.value_at_quantile(0.5));
                (row.name.as_str(), *r, e, row.guest)
            })
            .collect(),
        _ => Vec::new(),
    };
    // At the venue, p50 of a baseline over p50 of a tickwire row.
    let venue_ratio = |baseline: Topology, ours: Topology| {
        Some(p50(&find(baseline)?.1.at_venue) / p50(&find(ours)?.1.at_venue))
    };
    // The same against one row, by its file name (the DPDK topology has two rows).
    let venue_ratio_to = |baseline: Topology, file: &str| {
        let ours = measured.iter().find(|(row, _)| row.file == file)?;
        Some(p50(&find(baseline)?.1.at_venue) / p50(&ours.1.at_venue))
    };
    // The four targets on this run, when the in-memory row ran.
    let verdict = find(Topology::Inmem).map(|(_, r)| targets::Verdict {
        p50_ns: r.tick_to_trade.value_at_quantile(0.5),
        p99_9_ns: r.tick_to_trade.value_at_quantile(0.999),
        baseline_a: venue_ratio(Topology::KernelBlocking, Topology::Inmem),
        baseline_b: venue_ratio(Topology::KernelPolling, Topology::Inmem),
    });
    let json = serde_json::json!({
        "machine": {
            "cpus": std::thread::available_parallelism().map_or(0, |n| n.get()),
            "host": machine,
            "load_average_before": load_before,
            "load_average_after": load_after,
        },
        "runs": rows.iter().map(|row| match &row.outcome {
            Ok(r) => serde_json::json!({
                "topology": row.name,
                "available": true,
                "ticks": r.ticks,
                "orders": r.orders,
                "fills": r.fills,
                "ns": (!r.tick_to_trade.is_empty()).then(|| quantiles(&r.tick_to_trade)),
                "at_venue_ns": quantiles(&r.at_venue),
                "p50_ratio_to_tickwire": (!r.tick_to_trade.is_empty()).then(|| p50(&r.tick_to_trade) / ours),
                "at_venue_p50_ratio_to_tickwire": p50(&r.at_venue) / ours_venue,
                "peak_rss_kib": r.peak_rss_kib,
                "risk_refused": r.risk_refused,
                "frames_dropped": r.dropped_frames,
            }),
            Err(reason) => serde_json::json!({
                "topology": row.name,
                "available": false,
                "reason": reason,
            }),
        }).collect::<Vec<_>>(),
        "targets": verdict.map(|v| serde_json::json!({
            "method": "the in-memory row of this run: inside p50 and p99.9, and baselines (a) and (b) over tickwire at the venue (p50); a baseline not run is null and the run does not show all four",
            "inside_p50_ns": v.p50_ns,
            "inside_p50_target_ns": floor::P50_TARGET_NS,
            "inside_p50_met": v.p50_met(),
            "inside_p99_9_ns": v.p99_9_ns,
            "inside_p99_9_target_ns": floor::P999_TARGET_NS,
            "inside_p99_9_met": v.p99_9_met(),
            "baseline_a_ratio": v.baseline_a,
            "baseline_a_met": v.baseline_a_met(),
            "baseline_b_ratio": v.baseline_b,
            "baseline_b_met": v.baseline_b_met(),
            "met": v.met().0,
            "judged": v.met().1,
            "all_met": v.all_met(),
        })),
        "at_venue_targets": {
            "baseline_a_p50_ratio": verdict.and_then(|v| v.baseline_a),
            "baseline_a_target": targets::BASELINE_A_RATIO,
            "baseline_b_p50_ratio": verdict.and_then(|v| v.baseline_b),
            "baseline_b_target": targets::BASELINE_B_RATIO,
            "baseline_a_p50_ratio_veth": venue_ratio(Topology::KernelBlocking, Topology::Veth),
            "baseline_b_p50_ratio_veth": venue_ratio(Topology::KernelPolling, Topology::Veth),
            "baseline_c_p50_ratio": venue_ratio(Topology::Quickfix, Topology::Inmem),
            "baseline_c_p50_ratio_veth": venue_ratio(Topology::Quickfix, Topology::Veth),
            "baseline_a_p50_ratio_dpdk_vhost": venue_ratio_to(Topology::KernelBlocking, "tickwire-dpdk-vhost"),
            "baseline_b_p50_ratio_dpdk_vhost": venue_ratio_to(Topology::KernelPolling, "tickwire-dpdk-vhost"),
            "baseline_c_p50_ratio_dpdk_vhost": venue_ratio_to(Topology::Quickfix, "tickwire-dpdk-vhost"),
            "baseline_a_p50_ratio_dpdk_memif": venue_ratio_to(Topology::KernelBlocking, "tickwire-dpdk-memif"),
            "baseline_b_p50_ratio_dpdk_memif": venue_ratio_to(Topology::KernelPolling, "tickwire-dpdk-memif"),
            "baseline_c_p50_ratio_dpdk_memif": venue_ratio_to(Topology::Quickfix, "tickwire-dpdk-memif"),
        },
        "platform": hiccups.as_ref().map(|h| platform_json(h, &estimates)),
        "platform_floor": (args.floor_secs > 0).then(|| floors.iter().map(|f| {
            floor_json(&rows, f, &quantiles)
        }).collect::<Vec<_>>()),
        "stages": breakdown.map(breakdown_json),
        "stages_inmem_2core": breakdown_2core.map(breakdown_json),
        "left_out": omitted.as_ref().map(|reason| serde_json::json!({
            "topology": "inmem-2core",
            "reason": reason,
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
    let width = rows
        .iter()
        .map(|r| r.name.chars().count())
        .max()
        .unwrap_or(8)
        .max(8);
    let table = |title: &str, pick: fn(&Report) -> &Histogram<u64>, base: f64, rss: bool| {
        println!("\n{title}");
        println!(
            "{:<width$} {:>8} {:>8} {:>8} {:>9} {:>9} {:>10} {:>8}{}",
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
        for row in &rows {
            let r = match &row.outcome {
                Ok(r) => r,
                Err(reason) => {
                    println!("{:<width$} not available: {reason}", row.name);
                    continue;
                }
            };
            let h = pick(r);
            if h.is_empty() {
                println!(
                    "{:<width$} not measured here (the engine does not say when its read returned; see the venue's view)",
                    row.name
                );
                continue;
            }
            let rss = match (rss, r.peak_rss_kib) {
                (false, _) => String::new(),
                (true, Some(k)) => format!("  {:>5} MiB", k / 1024),
                (true, None) => "         ?".to_string(),
            };
            println!(
                "{:<width$} {:>8} {:>8} {:>8} {:>9} {:>9} {:>10} {:>7.1}x{rss}",
                row.name,
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
    let base_name = base.map_or("tickwire", |(row, _)| row.name.as_str());
    table(
        &format!("tick-to-trade inside the appliance, ns (rx-burst return of the tick → the order handed to the NIC; p50 × = p50 / p50 of {base_name})"),
        |r| &r.tick_to_trade,
        ours,
        true,
    );
    if let Some(h) = &hiccups {
        print_platform(h, &estimates);
    }
    if !floors.is_empty() {
        print_floors(&rows, &floors);
    }
    table(
        "tick-to-trade at the venue, ns (tick handed to the venue's NIC/socket → order received there)",
        |r| &r.at_venue,
        ours_venue,
        false,
    );
    let ratio = |r: Option<f64>| r.map_or("-".to_string(), |r| format!("{r:.1}x"));
    if let Some(v) = &verdict {
        println!(
            "\nat the venue, p50: baseline (a) / tickwire = {} (target ≥ 20x), baseline (b) / tickwire = {} (target ≥ 3x)",
            ratio(v.baseline_a),
            ratio(v.baseline_b)
        );
        println!("targets, tickwire in-memory row: {v}");
    }
    if find(Topology::Quickfix).is_some() {
        println!(
            "at the venue, p50: baseline (c) QuickFIX / tickwire = {}, / tickwire on veth = {}",
            ratio(venue_ratio(Topology::Quickfix, Topology::Inmem)),
            ratio(venue_ratio(Topology::Quickfix, Topology::Veth))
        );
    }
    if find(Topology::Veth).is_some() {
        println!(
            "at the venue, p50: baseline (a) / tickwire on veth = {}, baseline (b) / tickwire on veth = {} (veth: wire to wire through the veth pair and the venue's kernel TCP in its netns; the baselines: loopback)",
            ratio(venue_ratio(Topology::KernelBlocking, Topology::Veth)),
            ratio(venue_ratio(Topology::KernelPolling, Topology::Veth))
        );
    }
    for (file, what) in [
        ("tickwire-dpdk-vhost", "DPDK virtio_user ↔ vhost"),
        ("tickwire-dpdk-memif", "DPDK memif"),
    ] {
        if measured.iter().any(|(row, _)| row.file == file) {
            println!(
                "at the venue, p50: baseline (a) / tickwire on {what} = {}, baseline (b) = {}, baseline (c) = {} (both ends userspace stacks on the DPDK pair; the baselines: loopback)",
                ratio(venue_ratio_to(Topology::KernelBlocking, file)),
                ratio(venue_ratio_to(Topology::KernelPolling, file)),
                ratio(venue_ratio_to(Topology::Quickfix, file)),
            );
        }
    }
    for (run, st, c, tail) in [breakdown, breakdown_2core].into_iter().flatten() {
        println!("\nper-stage breakdown of {run} (TSC stamps on even ticks, ns):");
        println!(
            "  {:<32} {:>8} {:>8} {:>10} {:>12} {:>8} {:>10}",
            "stage", "p50", "p99", "p50 share", "tail share", "spikes", "per ms"
        );
        for ((((n, h), p), e), (k, r)) in stages::NAMES
            .iter()
            .zip(&st.stage)
            .zip(tail.p50_share())
            .zip(tail.excess_share())
            .zip(tail.spikes.iter().zip(tail.spikes_per_ms()))
        {
            println!(
                "  {n:<32} {:>8} {:>8} {:>9.1}% {:>11.1}% {k:>8} {r:>10.2}",
                h.value_at_quantile(0.5),
                h.value_at_quantile(0.99),
                100.0 * p,
                100.0 * e
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
        println!(
            "  tail share: of the {} stamped ticks whose stages add up to ≥ {} µs (of {} kept{}), how their time past each stage's p50 divides among the stages; an interruption lands in a stage in proportion to its length, so slow ticks made by interruptions follow the p50 shares, and a stage far above its p50 share has a slow case of its own",
            tail.ticks,
            TAIL_NS / 1000,
            tail.kept,
            if tail.not_kept > 0 {
                format!(", {} not kept", tail.not_kept)
            } else {
                String::new()
            }
        );
        let own = tail.own_slow_cases();
        println!(
            "  spikes: kept ticks in which a stage ran ≥ {} µs past its p50, per ms of the stage's p50 time; interruptions strike every stage at about the path's rate ({:.2} per ms): {}",
            stages::SPIKE_NS / 1000,
            tail.path_spikes_per_ms(),
            if own.is_empty() {
                format!(
                    "no stage with ≥ {} spikes is at {}× that or more, so none shows a slow case of its own",
                    stages::MIN_SPIKES,
                    stages::OWN_SLOW_CASE_RATIO
                )
            } else {
                format!(
                    "at {}× that or more, a slow case of its own: {}",
                    stages::OWN_SLOW_CASE_RATIO,
                    own.iter().map(|&i| stages::NAMES[i]).collect::<Vec<_>>().join(", ")
                )
            }
        );
    }
    println!(
        "\npeak RSS: the process's VmHWM during each run (reset before it via /proc/self/clear_refs); process ru_maxrss now {} MiB",
        tickwire_bench::rss::process_max_rss_kib().unwrap_or(0) / 1024
    );
    println!("load average: {} before, {} after", load_before, load_after);
    println!(
        "\nhistograms (.hgrm, inside / -at-venue / -stage-*{}), tick-to-trade.svg, tick-to-trade-at-venue.svg and report.json in {}",
        match (matches!(hiccups, Some(Ok(_))), floors.iter().any(|f| f.result.is_ok())) {
            (true, true) => ", platform-hiccups, -floor",
            (true, false) => ", platform-hiccups",
            (false, true) => ", -floor",
            (false, false) => "",
        },
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
