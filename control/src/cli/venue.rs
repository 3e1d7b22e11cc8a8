//! `tickwire venue`: runs the Kraken-UAT-like venue simulator (`tickwire-venue`'s Kraken
//! profile) in the foreground until Ctrl-C / SIGTERM (or `--duration`).
//!
//! Defaults: Kraken's ports (4000 Spot MD, 4001 Spot trading, 4002 Derivatives MD, 4003
//! Derivatives trading, 4004 Derivatives MD L3, 4005 Spot MD L3) on 127.0.0.1, TLS 1.3 with a CA and server certificate generated on
//! first start into `--cert-dir` (clients trust `<cert-dir>/ca.pem`), SPEC §7's client
//! (`TESTCLIENT`, key `FIXTESTKEY123`) and a synthetic market at 200 requests/s — or, with
//! `--replay FILE`, recorded ticks replayed through the matching engine instead (JSON Lines,
//! format in `tickwire_venue::kraken::replay`; `--replay-speed X` plays X times the recorded
//! pace or `max`, `--replay-loop` starts over at the end). A TOML file (`--config`) sets the
//! same things; flags given on the command line win:
//!
//! ```toml
//! bind = "127.0.0.1"
//! cert_dir = "tickwire-out/venue-pki"
//! plain_tcp = false
//! derivatives = true
//! market_rate = 200        # 0: no synthetic market
//! seed = 1
//! replay = "ticks.jsonl"   # instead of the synthetic market
//! replay_speed = "1"       # multiple of the recorded pace, or "max"
//! replay_loop = false
//! [ports]
//! spot_md = 4000
//! spot_trading = 4001
//! derivatives_md = 4002
//! derivatives_trading = 4003
//! derivatives_md_l3 = 4004
//! spot_md_l3 = 4005
//! [[clients]]
//! comp_id = "TESTCLIENT"
//! derivatives_comp_id = "TESTCLIENT-DRV"
//! api_key = "FIXTESTKEY123"
//! api_secret = "AAECAwQF…"   # base64, as Kraken shows it
//! tier = "intermediate"      # starter | intermediate | pro
//! ```
//!
//! Signals are taken synchronously: SIGINT and SIGTERM are blocked before any thread starts
//! and the main thread waits for them with `sigwait`, then stops the server cleanly (every
//! session ends as on a disconnect) and prints the counters.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use nix::sys::signal::{SigSet, Signal};
use serde::Deserialize;
use tickwire_venue::kraken::pki::{Pki, DEFAULT_NAMES};
use tickwire_venue::kraken::{
    self, MarketConfig, Port, ReplayConfig, ReplayError, Server, ServerConfig, Speed, Tape,
};
use tickwire_venue::limits::Tier;

use super::{usage, Output, Status};

/// `tickwire venue` options.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// TOML file with the same settings (flags override it).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Listen address.
    #[arg(long)]
    pub bind: Option<IpAddr>,
    /// Spot market-data port (Kraken: 4000; 0 picks a free one).
    #[arg(long)]
    pub spot_md_port: Option<u16>,
    /// Spot trading port (Kraken: 4001).
    #[arg(long)]
    pub spot_trading_port: Option<u16>,
    /// Derivatives market-data port (Kraken: 4002).
    #[arg(long)]
    pub derivatives_md_port: Option<u16>,
    /// Derivatives trading port (Kraken: 4003).
    #[arg(long)]
    pub derivatives_trading_port: Option<u16>,
    /// Derivatives Level 3 market-data port (Kraken: 4004).
    #[arg(long)]
    pub derivatives_md_l3_port: Option<u16>,
    /// Spot Level 3 market-data port (Kraken: 4005).
    #[arg(long)]
    pub spot_md_l3_port: Option<u16>,
    /// Serve Spot only.
    #[arg(long)]
    pub no_derivatives: bool,
    /// Plain TCP instead of TLS 1.3 (Kraken itself never does this).
    #[arg(long)]
    pub plain_tcp: bool,
    /// Where the CA and server certificate are generated (first start) and read.
    #[arg(long)]
    pub cert_dir: Option<PathBuf>,
    /// Synthetic market requests per second (0: none).
    #[arg(long)]
    pub market_rate: Option<u32>,
    /// Synthetic market seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Replay recorded ticks (JSON Lines) through the matching engine instead of the synthetic
    /// market.
    #[arg(long, value_name = "FILE")]
    pub replay: Option<PathBuf>,
    /// Replay pace: a multiple of the recorded pace (1 = as recorded) or `max`.
    #[arg(long, value_name = "X")]
    pub replay_speed: Option<String>,
    /// Start the replay over after its last event.
    #[arg(long)]
    pub replay_loop: bool,
    /// Stop after this many seconds instead of waiting for a signal.
    #[arg(long)]
    pub duration: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    bind: Option<IpAddr>,
    cert_dir: Option<PathBuf>,
    plain_tcp: Option<bool>,
    derivatives: Option<bool>,
    market_rate: Option<u32>,
    seed: Option<u64>,
    replay: Option<PathBuf>,
    replay_speed: Option<String>,
    replay_loop: Option<bool>,
    #[serde(default)]
    ports: FilePorts,
    #[serde(default)]
    clients: Vec<FileClient>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FilePorts {
    spot_md: Option<u16>,
    spot_trading: Option<u16>,
    derivatives_md: Option<u16>,
    derivatives_trading: Option<u16>,
    derivatives_md_l3: Option<u16>,
    spot_md_l3: Option<u16>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileClient {
    comp_id: String,
    derivatives_comp_id: Option<String>,
    api_key: String,
    api_secret: String,
    #[serde(default)]
    tier: Option<String>,
}

fn read_file(path: &Path) -> anyhow::Result<File> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| usage(format!("venue config {}: {e}", path.display())))?;
    toml::from_str(&text).map_err(|e| usage(format!("venue config {}: {e}", path.display())))
}

fn tier(name: Option<&str>) -> anyhow::Result<Tier> {
    Ok(match name.unwrap_or("intermediate") {
        "starter" => Tier::Starter,
        "intermediate" => Tier::Intermediate,
        "pro" => Tier::Pro,
        other => {
            return Err(usage(format!(
                "unknown tier {other:?} (starter, intermediate, pro)"
            )))
        }
    })
}

/// Runs `tickwire venue`.
///
/// # Errors
/// Usage errors (bad config, unusable ports or clients) exit 2; a bind failure exits 1.
#[allow(clippy::print_stdout)]
pub fn run(args: &Args, output: Output) -> anyhow::Result<Status> {
    let file = match &args.config {
        Some(p) => read_file(p)?,
        None => File::default(),
    };
    let bind = args
        .bind
        .or(file.bind)
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    let derivatives = !args.no_derivatives && file.derivatives.unwrap_or(true);
    let plain = args.plain_tcp || file.plain_tcp.unwrap_or(false);
    let cert_dir = args
        .cert_dir
        .clone()
        .or(file.cert_dir)
        .unwrap_or_else(|| PathBuf::from("tickwire-out/venue-pki"));
    let rate = args.market_rate.or(file.market_rate).unwrap_or(200);
    let seed = args.seed.or(file.seed).unwrap_or(1);
    let replay_path = args.replay.clone().or(file.replay);
    let replay = match &replay_path {
        None => None,
        Some(path) => {
            if args.market_rate.is_some_and(|r| r > 0) {
                return Err(usage(
                    "--replay replaces the synthetic market: drop --market-rate",
                ));
            }
            let speed = args
                .replay_speed
                .clone()
                .or(file.replay_speed)
                .map_or(Ok(Speed::Paced(1.0)), |s| Speed::parse(&s))
                .map_err(usage)?;
            let tape = Tape::load(path).map_err(|e| match e {
                ReplayError::Io { .. } => usage(format!("replay {e}")),
                _ => usage(format!("replay {}: {e}", path.display())),
            })?;
            Some(ReplayConfig {
                speed,
                looping: args.replay_loop || file.replay_loop.unwrap_or(false),
                ..ReplayConfig::new(tape)
            })
        }
    };
    if replay.is_none() && (args.replay_speed.is_some() || args.replay_loop) {
        return Err(usage("--replay-speed and --replay-loop need --replay FILE"));
    }

    let mut venue = kraken::Config::default();
    if !file.clients.is_empty() {
        venue.clients = file
            .clients
            .iter()
            .map(|c| {
                Ok(kraken::Client {
                    comp_id: c.comp_id.clone(),
                    derivatives_comp_id: c.derivatives_comp_id.clone(),
                    api_key: c.api_key.clone(),
                    api_secret: c.api_secret.clone(),
                    tier: tier(c.tier.as_deref())?,
                })
            })
            .collect::<anyhow::Result<_>>()?;
    }
    if !derivatives {
        venue.derivatives = None;
    }
    let events = replay.as_ref().map(|r| r.tape.ticks().len());
    if replay.is_some() {
        venue.replay = replay;
    } else if rate > 0 {
        venue.market = Some(MarketConfig {
            seed,
            rate_per_sec: rate,
            ..MarketConfig::default()
        });
    }
    let mut ports = vec![
        (
            Port::SpotMd,
            args.spot_md_port.or(file.ports.spot_md).unwrap_or(4000),
        ),
        (
            Port::SpotTrading,
            args.spot_trading_port
                .or(file.ports.spot_trading)
                .unwrap_or(4001),
        ),
        (
            Port::SpotMdL3,
            args.spot_md_l3_port
                .or(file.ports.spot_md_l3)
                .unwrap_or(4005),
        ),
    ];
    if derivatives {
        ports.push((
            Port::DerivativesMd,
            args.derivatives_md_port
                .or(file.ports.derivatives_md)
                .unwrap_or(4002),
        ));
        ports.push((
            Port::DerivativesTrading,
            args.derivatives_trading_port
                .or(file.ports.derivatives_trading)
                .unwrap_or(4003),
        ));
        ports.push((
            Port::DerivativesMdL3,
            args.derivatives_md_l3_port
                .or(file.ports.derivatives_md_l3)
                .unwrap_or(4004),
        ));
    }
    let pki = if plain {
        None
    } else {
        let names: Vec<String> = DEFAULT_NAMES.iter().map(|s| s.to_string()).collect();
        Some(
            Pki::ensure(&cert_dir, &names)
                .with_context(|| format!("certificates in {}", cert_dir.display()))?,
        )
    };

    // Block the signals before the server thread exists, so only sigwait below sees them.
    let mut signals = SigSet::empty();
    signals.add(Signal::SIGINT);
    signals.add(Signal::SIGTERM);
    signals.thread_block().context("blocking SIGINT/SIGTERM")?;

    let server = Server::start(ServerConfig {
        bind,
        ports,
        tls: pki.as_ref().map(Pki::server_config),
        venue: venue.clone(),
    })
    .map_err(|e| match e {
        kraken::server::StartError::Bind(..) => anyhow::anyhow!("{e}"),
        other => usage(other),
    })?;

    let listen: Vec<_> = server
        .addrs()
        .iter()
        .map(|(p, a)| (p.name(), p.comp_id(), a.to_string()))
        .collect();
    let ca = pki.as_ref().map(|p| p.ca_pem.display().to_string());
    if output == Output::Json {
        super::print_json(&serde_json::json!({
            "listening": listen.iter().map(|(n, c, a)| serde_json::json!({
                "service": n, "comp_id": c, "addr": a,
            })).collect::<Vec<_>>(),
            "tls": !plain,
            "ca": ca,
            "clients": venue.clients.iter().map(|c| &c.comp_id).collect::<Vec<_>>(),
            "market_rate": if events.is_some() { 0 } else { rate },
            "replay": replay_path.as_ref().map(|p| p.display().to_string()),
            "replay_events": events,
        }))?;
    } else {
        println!(
            "tickwire venue (Kraken profile) — {}",
            if plain { "plain TCP" } else { "TLS 1.3" }
        );
        for (n, c, a) in &listen {
            println!("  {n:<20} {a:<22} TargetCompID {c}");
        }
        match &ca {
            Some(ca) => println!("  CA certificate       {ca}"),
            None => println!("  no TLS (--plain-tcp)"),
        }
        for c in &venue.clients {
            println!(
                "  client               {} / {} key {}",
                c.comp_id,
                c.derivatives_comp_id.as_deref().unwrap_or("-"),
                c.api_key
            );
        }
        match (&replay_path, events) {
            (Some(p), Some(n)) => println!("  replay               {} ({n} events)", p.display()),
            _ => println!("  synthetic market     {rate} requests/s"),
        }
        println!("Ctrl-C to stop.");
    }
    use std::io::Write as _;
    let _ = std::io::stdout().flush();

    if let Some(secs) = args.duration {
        if !(secs.is_finite() && secs >= 0.0) {
            return Err(usage("--duration must be a non-negative number of seconds"));
        }
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs_f64(secs));
            let _ = nix::sys::signal::kill(nix::unistd::getpid(), Signal::SIGTERM);
        });
    }
    let sig = signals.wait().context("waiting for a signal")?;
    let stats = server.call(|v, _| v.stats());
    server.stop();
    if output == Output::Text {
        eprintln!("tickwire venue: {sig:?}, stopped");
        if let Some(s) = stats {
            eprintln!(
                "  logons {} (failed {}), reports {}, rejects {}, market-data messages {}, market requests {}",
                s.logons, s.logon_failures, s.reports, s.rejects, s.md_messages, s.market_requests
            );
        }
    }
    Ok(Status::Ok)
}
