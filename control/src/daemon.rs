//! `tickwire run --config FILE`: the appliance daemon.
//!
//! ```text
//! main thread (control)                     engine thread (pinned to the profile's core)
//!  config + secrets ─► plan                  build: NIC ─► Stack ─► Engine ─► sessions
//!  signalfd (SIGTERM/SIGINT/SIGHUP)          loop: do_work(clock.now())
//!  admin::Server::poll ─► Handler ──Commands (wait-free SPSC)──►│
//!  metrics::Server::poll ◄── counters (shared memory) ◄──────────┘
//!  allowlist::Publisher ──(wait-free SPSC)──► engine's filter
//! log thread: msglog::Drain ─► QuickFIX-format files
//! ```
//!
//! Nothing the control thread does can stall the engine: commands travel through the engine's
//! bounded queue (a full queue is reported to the operator, never waited on) and every read
//! comes from the shared counter block. Start-up order: configuration and secrets (exit 2 on
//! any problem, naming the key), the hardware profile, name resolution of every venue host,
//! the session stores, the engine thread (pinned; exit 3 if the OS refuses), the admin socket,
//! the metrics endpoint, then `READY=1` to systemd. SIGTERM: `STOPPING=1`, orders cancelled
//! or kept per `on_shutdown`, every session logged out (bounded wait), the engine stopped, logs
//! and stores flushed.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddrV4, ToSocketAddrs as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::{json, Value};
use tickwire_control::admin::{self, ErrorCode};
use tickwire_control::config::{Backend, Config, OnShutdown, OnStart, SessionKind};
use tickwire_control::{filelog, metrics, notify};
use tickwire_dataplane::af_packet::AfPacket;
use tickwire_dataplane::allowlist::{self, Allowlist, Publisher};
use tickwire_dataplane::clock::Clock;
use tickwire_dataplane::counters::{read, Shared};
use tickwire_dataplane::engine::armed::{Armed, ArmedCommand, ArmedControl, ArmedEvent};
use tickwire_dataplane::engine::live_risk::{LiveGate, RiskCommand, RiskControl, RiskReply};
use tickwire_dataplane::engine::runner::{self, IdlePolicy, ThreadConfig};
use tickwire_dataplane::engine::{
    self, BookSpec, Command, Commands, Engine, MdSubscription, SessionId, SessionSpec,
};
use tickwire_dataplane::msglog;
use tickwire_dataplane::risk::{
    Capacity, Collar, Gate, GlobalLimits, InstrumentId, InstrumentLimits, LimitChange, Order, Risk,
    Throttle,
};
use tickwire_dataplane::stack::StackConfig;
use tickwire_dataplane::trigger::{Condition, Trigger, TriggerId};
use tickwire_fix::decimal::Decimal;
use tickwire_fix::kraken::Credentials;
use tickwire_fix::outbound::{OrderShape, Side, TimeInForce};
use tickwire_fix::session::Config as FixConfig;
use tickwire_fix::store::{Store, StoreConfig};

use crate::cli::{self, Output, Status};

/// How the engine thread idles between cycles with no work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum IdleMode {
    /// Busy-poll (production: owns its core).
    Spin,
    /// Yield the core (shared machines).
    Yield,
    /// Sleep 50 µs (laptops, CI on 2 vCPUs).
    Sleep,
}

/// Options of `tickwire run`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The configuration file (`tickwire config example` prints one).
    #[arg(long)]
    pub config: PathBuf,
    /// What the engine thread does when a cycle found no work.
    #[arg(long, value_enum, default_value_t = IdleMode::Spin)]
    pub idle: IdleMode,
    /// The shared counter file (default: beside the admin socket).
    #[arg(long)]
    pub counters: Option<PathBuf>,
}

/// One configured session as the daemon runs it.
#[derive(Debug, Clone)]
struct Planned {
    name: String,
    kind: SessionKind,
    remote: SocketAddrV4,
    host: String,
    sender: String,
    target: String,
    store: PathBuf,
    log_dir: Option<PathBuf>,
}

fn phase_name(code: u64) -> &'static str {
    match code {
        1 => "stopped",
        2 => "backoff",
        3 => "connecting",
        4 => "handshaking",
        5 => "logging-on",
        6 => "active",
        7 => "closing",
        _ => "starting",
    }
}

/// Resolves `host:port` to its first IPv4 address (resolution happens at start-up; the
/// userspace stack speaks IPv4 only).
fn resolve(host: &str, port: u16) -> Option<SocketAddrV4> {
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return Some(SocketAddrV4::new(ip, port));
    }
    (host, port).to_socket_addrs().ok()?.find_map(|a| match a {
        std::net::SocketAddr::V4(v4) => Some(v4),
        std::net::SocketAddr::V6(_) => None,
    })
}

fn plan(cfg: &Config) -> anyhow::Result<Vec<Planned>> {
    let mut out = Vec::with_capacity(cfg.sessions.len());
    for (s, ep) in cfg.sessions.iter().zip(&cfg.endpoints) {
        let (host, remote) = ep
            .hosts
            .iter()
            .find_map(|h| resolve(h, ep.port).map(|a| (h.clone(), a)))
            .ok_or_else(|| {
                cli::environment(format!(
                    "session {}: none of {:?} resolves to an IPv4 address",
                    s.name, ep.hosts
                ))
            })?;
        let target = s.target_comp_id.clone().unwrap_or_default();
        out.push(Planned {
            name: s.name.clone(),
            kind: s.kind,
            remote,
            host,
            store: s
                .file_store_path
                .join(format!("{}-{}.store", s.sender_comp_id, target)),
            sender: s.sender_comp_id.clone(),
            target,
            log_dir: s.file_log_path.clone(),
        });
    }
    Ok(out)
}

/// Opens a session store, creating its directory; returns it and the highest ClOrdID it
/// journaled (so a restart never reuses one).
fn open_store(path: &Path) -> anyhow::Result<(Store, u64)> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut high = 0u64;
    if path.exists() {
        if let Ok((_, _, mark, records)) = Store::read_records(path) {
            high = mark;
            for r in &records {
                if let Some(id) = num(field(&r.bytes, b"11")) {
                    high = high.max(id);
                }
            }
        }
    }
    let store = Store::open(path, StoreConfig::default())
        .map_err(|e| anyhow::anyhow!("session store {}: {e}", path.display()))?;
    Ok((store, high))
}

/// Sizes of the risk tables: one instrument per market-data symbol (at least one), open orders
/// and the duplicate check's memory.
fn risk_capacity(instruments: usize) -> Capacity {
    Capacity {
        instruments: instruments.max(1),
        orders: 1024,
        recent: 64,
    }
}

fn tls_config(cfg: &Config) -> tickwire_tls::ClientConfig {
    let roots = match &cfg.tls.ca_file {
        Some(p) => tickwire_tls::RootSource::CaFile(p.clone()),
        None => tickwire_tls::RootSource::System,
    };
    let mut t = tickwire_tls::ClientConfig::new(roots);
    t.pin_spki_sha256 = cfg.pin;
    t.allow_tls12 = cfg.tls.allow_tls12;
    t.dangerous_skip_verification_uat_only = cfg.tls.dangerous_skip_verification_uat_only;
    t
}

/// Kraken's trading Logon fields (SPEC §2): 553 key, 554 HMAC password, 5025 nonce, 8674.
fn logon_fields(
    creds: Credentials,
    sender: String,
    target: String,
    cancel_on_disconnect: bool,
) -> engine::LogonFields {
    Box::new(move |seq, enc| {
        let nonce = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let pw = creds.password(seq, sender.as_bytes(), target.as_bytes(), nonce);
        let mut digits = [0u8; 20];
        let n = tickwire_fix::encode::write_u64(&mut digits, nonce).unwrap_or(0);
        enc.field(553, creds.api_key().as_bytes())
            .field(554, &pw)
            .field(5025, &digits[..n])
            .field(8674, if cancel_on_disconnect { b"0" } else { b"1" });
    })
}

/// An instrument the daemon trades: the symbol of a market-data session and its scales.
#[derive(Debug, Clone)]
struct Instrument {
    symbol: String,
    md_session: usize,
    price_scale: u8,
    qty_scale: u8,
}

fn instruments(cfg: &Config) -> Vec<Instrument> {
    let mut out: Vec<Instrument> = Vec::new();
    for (i, s) in cfg.sessions.iter().enumerate() {
        if let Some(sym) = &s.symbol {
            if !out.iter().any(|x| &x.symbol == sym) {
                out.push(Instrument {
                    symbol: sym.clone(),
                    md_session: i,
                    price_scale: s.price_precision,
                    qty_scale: s.qty_precision,
                });
            }
        }
    }
    out
}

/// `text` in units of `10^-scale` (ticks or lots).
fn scaled(key: &str, text: &str, scale: u8) -> anyhow::Result<i64> {
    Decimal::parse(text.as_bytes())
        .ok()
        .and_then(|d| d.to_scaled(scale).ok())
        .ok_or_else(|| cli::usage(format!("{key}: {text:?} does not fit {scale} decimals")))
}

/// Limits of the configuration in the risk module's units (absent limits are off).
fn limits(cfg: &Config, inst: &Instrument) -> anyhow::Result<InstrumentLimits> {
    let r = &cfg.risk;
    let opt = |key: &str, v: &Option<String>, scale: u8| -> anyhow::Result<i64> {
        v.as_deref().map_or(Ok(i64::MAX), |t| scaled(key, t, scale))
    };
    Ok(InstrumentLimits {
        max_order_qty: opt("risk.max_order_qty", &r.max_order_qty, inst.qty_scale)?,
        // Notional is price ticks × quantity lots.
        max_notional: opt(
            "risk.max_notional",
            &r.max_notional,
            inst.price_scale + inst.qty_scale,
        )?,
        collar: r.price_collar_bps.map_or(Collar::Ticks(i64::MAX), |b| {
            Collar::BasisPoints(i64::from(b))
        }),
        max_open_orders: r.max_open_orders_per_instrument.unwrap_or(u32::MAX),
        max_position: opt("risk.max_position", &r.max_position, inst.qty_scale)?,
    })
}

fn global_limits(cfg: &Config, capacity: Capacity) -> GlobalLimits {
    let r = &cfg.risk;
    let tier = match r.rate_tier.as_deref() {
        Some("starter") => Some(tickwire_fix::kraken::rate::Tier::Starter),
        Some("intermediate") => Some(tickwire_fix::kraken::rate::Tier::Intermediate),
        Some("pro") => Some(tickwire_fix::kraken::rate::Tier::Pro),
        _ => None,
    };
    GlobalLimits {
        max_open_orders: r
            .max_open_orders
            .unwrap_or(capacity.orders as u32)
            .min(capacity.orders as u32),
        max_book_age_ns: i64::MAX,
        duplicate_window_ns: r.duplicate_window_ms.map_or(0, |ms| ms as i64 * 1_000_000),
        throttle: match tier {
            None => Throttle::Off,
            Some(t) => Throttle::Spot {
                tier: t.params(),
                headroom: 2,
                max_latency_ns: 5_000_000,
            },
        },
    }
}

/// The trigger of a configured or requested armed order.
#[allow(clippy::too_many_arguments)]
fn trigger(
    key: &str,
    inst: InstrumentId,
    meta: &Instrument,
    when: tickwire_control::config::Condition,
    level: &str,
    side: Side,
    price: &str,
    qty: &str,
    rearm_after_ms: Option<u64>,
    tif: TimeInForce,
) -> anyhow::Result<Trigger> {
    use tickwire_control::config::Condition as C;
    let level_ticks = scaled(&format!("{key}.level"), level, meta.price_scale)?;
    let condition = match when {
        C::AskAtOrBelow => Condition::AskAtOrBelow(level_ticks),
        C::BidAtOrAbove => Condition::BidAtOrAbove(level_ticks),
        C::LastAtOrBelow => Condition::LastAtOrBelow(level_ticks),
        C::LastAtOrAbove => Condition::LastAtOrAbove(level_ticks),
        C::SpreadAtOrBelow => Condition::SpreadAtOrBelow(level_ticks),
    };
    let order = Order {
        instrument: inst,
        side,
        price: scaled(&format!("{key}.price"), price, meta.price_scale)?,
        qty: scaled(&format!("{key}.qty"), qty, meta.qty_scale)?,
    };
    Ok(match rearm_after_ms {
        None => Trigger::one_shot(condition, order, tif),
        Some(ms) => Trigger::rearming(condition, order, tif, ms as i64 * 1_000_000),
    })
}

fn side_of(s: tickwire_control::config::Side) -> Side {
    match s {
        tickwire_control::config::Side::Buy => Side::Buy,
        tickwire_control::config::Side::Sell => Side::Sell,
    }
}

/// Runs the daemon until SIGTERM / SIGINT.
///
/// # Errors
/// Configuration (exit 2), environment (exit 3: privileges, interface, resolution) or
/// run-time errors.
pub fn run(args: &Args, output: Output) -> anyhow::Result<Status> {
    // The control plane's diagnostics: `tracing` to stderr (journald keeps them under
    // systemd); `TICKWIRE_LOG` sets the filter (default `info`). Nothing on the engine thread
    // logs: its record is the message log and the counters.
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TICKWIRE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .try_init();
    let _ = output;
    let cfg = Config::load(&args.config)
        .map_err(|e| cli::usage(format!("{}: {e}", args.config.display())))?;
    let secrets = cfg
        .load_secrets()
        .map_err(|e| cli::usage(format!("{}: {e}", args.config.display())))?;
    let profile = tickwire_hw::Profile::load(&cfg.appliance.profile)
        .map_err(|e| cli::usage(format!("appliance.profile: {e}")))?;
    let core = profile.cores.dataplane.lowest().map(|c| c as usize);
    let sessions = plan(&cfg)?;
    let Backend::AfPacket = cfg.nic.backend else {
        return Err(cli::usage(
            "nic.backend: this daemon build drives af-packet; tap and dpdk come with their own build",
        ));
    };
    let interface = cfg.nic.interface.clone().unwrap_or_default();

    // Signals are blocked before any thread starts, so every thread inherits the mask and
    // the control loop alone sees them (through a non-blocking signalfd).
    let mut mask = nix::sys::signal::SigSet::empty();
    for s in [
        nix::sys::signal::Signal::SIGTERM,
        nix::sys::signal::Signal::SIGINT,
        nix::sys::signal::Signal::SIGHUP,
    ] {
        mask.add(s);
    }
    mask.thread_block().context("blocking signals")?;
    let signals = nix::sys::signalfd::SignalFd::with_flags(
        &mask,
        nix::sys::signalfd::SfdFlags::SFD_NONBLOCK | nix::sys::signalfd::SfdFlags::SFD_CLOEXEC,
    )
    .context("signalfd")?;

    // Allowlist: the configured addresses and every venue address we connect to.
    let mut allowed: BTreeSet<Ipv4Addr> = cfg.allowlist.iter().copied().collect();
    allowed.extend(sessions.iter().map(|s| *s.remote.ip()));
    let initial: Vec<Ipv4Addr> = allowed.iter().copied().collect();
    let (publisher, live) = allowlist::live(
        Allowlist::new(&initial).map_err(|_| cli::usage("allowlist: more than 64 addresses"))?,
    );

    let counters_path = args.counters.clone().unwrap_or_else(|| {
        cfg.admin
            .socket
            .parent()
            .unwrap_or(Path::new("."))
            .join("counters")
    });
    if let Some(dir) = counters_path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let counters = Shared::create_file(&counters_path)
        .map_err(|e| cli::environment(format!("counters {}: {e}", counters_path.display())))?;

    // Message logs: the engine's tap (wired when the engine records messages) and the writer.
    let (tap, drain) = msglog::ring(4 << 20);
    let targets: Vec<Option<filelog::Target>> = sessions
        .iter()
        .map(|s| {
            s.log_dir.as_ref().map(|d| filelog::Target {
                dir: d.clone(),
                begin: "FIX.4.4".into(),
                sender: s.sender.clone(),
                target: s.target.clone(),
            })
        })
        .collect();
    let mut writer = filelog::Writer::open(drain, &targets).context("opening the message logs")?;

    // Everything the engine thread needs, built here so that errors name the session.
    let mut specs = Vec::with_capacity(sessions.len());
    let mut high_water = 0u64;
    // Trading sessions whose store shows a previous run: reconciled once logged on.
    let mut reconcile = Vec::new();
    for (i, (s, c)) in sessions.iter().zip(&cfg.sessions).enumerate() {
        if s.kind.is_trading() && s.store.exists() && cfg.on_start == OnStart::MassCancel {
            reconcile.push(i);
        }
        let (store, high) = open_store(&s.store)?;
        high_water = high_water.max(high);
        let mut fix = FixConfig::kraken_initiator(&s.sender, &s.target)
            .map_err(|e| cli::usage(format!("session {}: {e}", s.name)))?;
        fix.heartbeat_interval_s = c.heart_bt_int;
        fix.reset_on_logon = c.reset_on_logon;
        let server_name = cfg
            .tls
            .server_name
            .clone()
            .unwrap_or_else(|| s.host.clone());
        let mut spec = SessionSpec::new(s.remote, tls_config(&cfg), &server_name, fix, store);
        if let Some(symbol) = &c.symbol {
            spec.book = Some(BookSpec {
                depth: c.market_depth as usize,
                price_scale: c.price_precision,
                qty_scale: c.qty_precision,
            });
            spec.subscribe = Some(MdSubscription::l2(
                symbol,
                c.market_depth,
                &format!("tw-{}", s.name),
            ));
        }
        if let Some(name) = &c.credentials {
            let (key, secret) = &secrets.credentials[name];
            let creds = Credentials::new(key.expose(), secret.expose())
                .map_err(|e| cli::usage(format!("credentials.{name}: {e}")))?;
            spec.logon_fields = Some(logon_fields(
                creds,
                s.sender.clone(),
                s.target.clone(),
                c.cancel_on_disconnect,
            ));
        }
        specs.push(spec);
    }

    let ecfg = engine::Config {
        stack: StackConfig {
            address: cfg.address.0,
            prefix_len: cfg.address.1,
            gateway: cfg.appliance.gateway,
            connections: sessions.len().max(1),
            ..StackConfig::default()
        },
        ..engine::Config::default()
    };
    let thread = ThreadConfig {
        name: "tickwire-engine".into(),
        core,
        idle: match args.idle {
            IdleMode::Spin => IdlePolicy::Spin,
            IdleMode::Yield => IdlePolicy::Yield,
            IdleMode::Sleep => IdlePolicy::Sleep(Duration::from_micros(50)),
        },
        ..ThreadConfig::default()
    };
    let (clock, fallback) = Clock::calibrate(Duration::from_millis(20));
    // Instruments (one per market-data symbol), pre-trade risk and the armed-order table.
    let insts = instruments(&cfg);
    let trading = sessions.iter().position(|s| s.kind.is_trading());
    let capacity = risk_capacity(insts.len());
    let mut risk = Risk::new(capacity, global_limits(&cfg, capacity))
        .map_err(|e| cli::usage(format!("risk: {e:?}")))?;
    for (k, inst) in insts.iter().enumerate() {
        risk.apply(LimitChange::Instrument(
            InstrumentId(k as u16),
            limits(&cfg, inst)?,
        ))
        .map_err(|e| cli::usage(format!("risk ({}): {e:?}", inst.symbol)))?;
    }
    let (armed, mut armed_control) = Armed::new(64, 64, counters.clone());
    let mut armed_table = ArmedTable::default();
    for (k, a) in cfg.armed.iter().enumerate() {
        let key = format!("armed[{k}]");
        let i = insts
            .iter()
            .position(|x| x.symbol == a.symbol)
            .ok_or_else(|| {
                cli::usage(format!(
                    "{key}.symbol: no market-data session has Symbol = {:?}",
                    a.symbol
                ))
            })?;
        let t = trigger(
            &key,
            InstrumentId(i as u16),
            &insts[i],
            a.when,
            &a.level,
            side_of(a.side),
            &a.price,
            &a.qty,
            a.rearm_after_ms,
            TimeInForce::ImmediateOrCancel,
        )?;
        let id = armed_table.next_id();
        armed_control
            .send(ArmedCommand::Arm(id, t))
            .map_err(|_| cli::usage("armed: more armed orders than the queue holds"))?;
        armed_table.requested(id, json!({"symbol": a.symbol, "when": format!("{:?}", a.when), "level": a.level, "side": format!("{:?}", a.side), "price": a.price, "qty": a.qty, "rearm_after_ms": a.rearm_after_ms, "session": a.session}));
    }
    let binding: Vec<(String, usize, u8, u8)> = insts
        .iter()
        .map(|x| (x.symbol.clone(), x.md_session, x.price_scale, x.qty_scale))
        .collect();

    let (gate, risk_control) = LiveGate::new(Gate::new(risk), 64, counters.clone());
    let engine_counters = counters.clone();
    let (running, (commands, ids, templates)) = runner::spawn(thread, clock, move |now| {
        let nic = AfPacket::open(&interface, 512).map_err(|e| e.to_string())?;
        let (mut engine, commands) =
            Engine::with_risk(nic, live, ecfg, armed, gate, engine_counters, now);
        engine.set_cl_ord_id_high_water(high_water);
        engine.set_message_log(tap);
        let mut ids = Vec::with_capacity(specs.len());
        for spec in specs {
            ids.push(engine.add_session(spec, now).map_err(|e| e.to_string())?);
        }
        let mut templates = Vec::new();
        for (k, (symbol, md, ps, qs)) in binding.iter().enumerate() {
            let inst = InstrumentId(k as u16);
            let gate = engine.risk_mut().gate_mut();
            gate.bind_instrument(inst, symbol.as_bytes(), *ps, *qs)
                .map_err(|e| format!("{e:?}"))?;
            gate.bind_book(ids[*md], inst)
                .map_err(|e| format!("{e:?}"))?;
            engine.strategy_mut().bind_book(ids[*md], inst, *ps, *qs);
            if let Some(t) = trading {
                for (side, tif) in [
                    (Side::Buy, TimeInForce::ImmediateOrCancel),
                    (Side::Sell, TimeInForce::ImmediateOrCancel),
                    (Side::Buy, TimeInForce::GoodTillCancel),
                    (Side::Sell, TimeInForce::GoodTillCancel),
                ] {
                    let shape = OrderShape {
                        tif,
                        ..OrderShape::limit(symbol.as_bytes(), side)
                    };
                    let order = engine
                        .add_order(ids[t], &shape)
                        .map_err(|e| e.to_string())?;
                    engine
                        .risk_mut()
                        .gate_mut()
                        .bind_order(order, inst)
                        .map_err(|e| format!("{e:?}"))?;
                    engine.strategy_mut().bind_order(inst, side, tif, order);
                    templates.push((symbol.clone(), side, tif, order));
                }
            }
        }
        Ok((engine, (commands, ids, templates)))
    })
    .map_err(|e| cli::environment(format!("engine thread: {e}")))?;

    let mut handler = Handler {
        cfg: &cfg,
        sessions: &sessions,
        ids,
        commands,
        publisher,
        allowed,
        counters: counters.clone(),
        killed: false,
        started: Instant::now(),
        core,
        counters_path: counters_path.clone(),
        armed: armed_control,
        armed_table,
        instruments: insts,
        risk: risk_control,
        risk_log: Vec::new(),
        reconcile,
        templates,
        orders: Orders::default(),
        probes: vec![None; sessions.len()],
    };
    let mut admin_server = admin::Server::bind(&cfg.admin.socket, secrets.admin_token.clone())
        .map_err(|e| cli::environment(format!("admin.socket: {e}")))?;
    let mut metrics_server = match cfg.admin.metrics {
        Some(addr) => Some(
            metrics::Server::bind(addr)
                .map_err(|e| cli::environment(format!("admin.metrics {addr}: {e}")))?,
        ),
        None => None,
    };
    let _ = notify::notify("READY=1");
    if let Some(f) = fallback {
        tracing::warn!(reason = ?f, "no invariant TSC: the engine clock reads CLOCK_MONOTONIC");
    }
    tracing::info!(
        sessions = sessions.len(),
        core = ?core,
        admin_socket = %cfg.admin.socket.display(),
        counters = %counters_path.display(),
        "running"
    );

    let names: Vec<&str> = sessions.iter().map(|s| s.name.as_str()).collect();
    let signal = loop {
        match signals.read_signal() {
            Ok(Some(info)) => break info.ssi_signo,
            Ok(None) => {}
            Err(e) => return Err(anyhow::anyhow!("signalfd: {e}")),
        }
        let mut work = admin_server.poll(&mut handler);
        handler.reconcile();
        if let Some(m) = metrics_server.as_mut() {
            let probes = handler.probe_summaries();
            work += m.poll(&mut || metrics::render(counters.counters(), &names, &probes));
        }
        work += writer.drain_with(&mut |r| handler.orders.observe(r));
        if work == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
    };

    // Clean stop.
    let _ = notify::notify("STOPPING=1");
    tracing::info!(signal, "stopping");
    handler.shutdown(cfg.on_shutdown);
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline && !handler.all_down() {
        admin_server.poll(&mut handler);
        writer.drain();
        std::thread::sleep(Duration::from_millis(5));
    }
    let stats = running
        .stop()
        .map_err(|e| anyhow::anyhow!("engine thread: {e}"))?;
    writer.finish();
    tracing::info!(
        cycles = stats.cycles,
        busy_cycles = stats.busy_cycles,
        "stopped"
    );
    Ok(Status::Ok)
}

/// One order as the wire shows it.
#[derive(Debug, Clone)]
struct OrderView {
    session: u8,
    symbol: String,
    side: u8,
    tif: u8,
    qty: String,
    price: String,
    order_id: Option<String>,
    status: &'static str,
    open: bool,
}

/// The control thread's view of the orders this run sent, kept from the message log records
/// (35=D out, 35=8 in): what `order list` shows and `order cancel` needs.
#[derive(Debug, Default)]
struct Orders {
    by_id: std::collections::BTreeMap<u64, OrderView>,
}

fn field<'a>(msg: &'a [u8], tag: &[u8]) -> Option<&'a [u8]> {
    msg.split(|&b| b == 1)
        .find_map(|f| f.strip_prefix(tag).and_then(|rest| rest.strip_prefix(b"=")))
}

fn num(v: Option<&[u8]>) -> Option<u64> {
    std::str::from_utf8(v?).ok()?.parse().ok()
}

fn text(v: Option<&[u8]>) -> String {
    v.map(|v| String::from_utf8_lossy(v).into_owned())
        .unwrap_or_default()
}

impl Orders {
    const KEEP_CLOSED: usize = 256;

    fn observe(&mut self, r: &msglog::Record) {
        let m = &r.bytes[..];
        match (r.direction(), field(m, b"35")) {
            (Some(msglog::Direction::Out), Some(b"D")) => {
                if let Some(id) = num(field(m, b"11")) {
                    let first =
                        |t: &[u8], d: u8| field(m, t).and_then(|v| v.first().copied()).unwrap_or(d);
                    self.by_id.insert(
                        id,
                        OrderView {
                            session: r.session,
                            symbol: text(field(m, b"55")),
                            side: first(b"54", b'?'),
                            tif: first(b"59", b'0'),
                            qty: text(field(m, b"38")),
                            price: text(field(m, b"44")),
                            order_id: None,
                            status: "sent",
                            open: true,
                        },
                    );
                }
            }
            // A BusinessMessageReject of a NewOrderSingle: the order never reached the book.
            (Some(msglog::Direction::In), Some(b"j")) if field(m, b"372") == Some(b"D") => {
                if let Some(o) = num(field(m, b"379")).and_then(|k| self.by_id.get_mut(&k)) {
                    o.status = "rejected";
                    o.open = false;
                }
            }
            (Some(msglog::Direction::In), Some(b"8")) => {
                let key = num(field(m, b"41"))
                    .filter(|k| self.by_id.contains_key(k))
                    .or_else(|| num(field(m, b"11")));
                let Some(o) = key.and_then(|k| self.by_id.get_mut(&k)) else {
                    return;
                };
                if let Some(oid) = field(m, b"37") {
                    o.order_id = Some(text(Some(oid)));
                }
                let (status, open) = match field(m, b"39") {
                    Some(b"0") => ("new", true),
                    Some(b"1") => ("partially-filled", true),
                    Some(b"2") => ("filled", false),
                    Some(b"4") => ("canceled", false),
                    Some(b"6") => ("pending-cancel", true),
                    Some(b"8") => ("rejected", false),
                    Some(b"C") => ("expired", false),
                    Some(b"3") => ("done-for-day", false),
                    _ => (o.status, o.open),
                };
                o.status = status;
                o.open = open;
            }
            _ => {}
        }
        // Bounded: forget the oldest closed orders.
        while self.by_id.values().filter(|o| !o.open).count() > Self::KEEP_CLOSED {
            let Some(k) = self.by_id.iter().find(|(_, o)| !o.open).map(|(k, _)| *k) else {
                break;
            };
            self.by_id.remove(&k);
        }
    }
}

/// The control thread's mirror of the armed-order table, kept from the strategy's events.
#[derive(Debug, Default)]
struct ArmedTable {
    next: u32,
    entries: std::collections::BTreeMap<u32, (Value, &'static str, u64)>,
}

impl ArmedTable {
    fn next_id(&mut self) -> TriggerId {
        self.next += 1;
        TriggerId(self.next)
    }

    fn requested(&mut self, id: TriggerId, what: Value) {
        self.entries.insert(id.0, (what, "requested", 0));
    }

    fn apply(&mut self, e: ArmedEvent) {
        let set = |t: &mut Self, id: TriggerId, state: &'static str| {
            if let Some(x) = t.entries.get_mut(&id.0) {
                x.1 = state;
            }
        };
        match e {
            ArmedEvent::Armed(id) => set(self, id, "armed"),
            ArmedEvent::Refused(id, _) => set(self, id, "refused"),
            ArmedEvent::Disarmed(id) => set(self, id, "disarmed"),
            ArmedEvent::NotArmed(id) => set(self, id, "not-armed"),
            ArmedEvent::Fired { id, .. } => {
                if let Some(x) = self.entries.get_mut(&id.0) {
                    x.2 += 1;
                    // A one-shot trigger leaves the table when it fires.
                    if x.0["rearm_after_ms"].is_null() {
                        x.1 = "fired";
                    }
                }
            }
            _ => {}
        }
    }

    fn json(&self) -> Value {
        Value::Array(
            self.entries
                .iter()
                .map(|(id, (what, state, fired))| {
                    let mut v = what.clone();
                    v["id"] = json!(id);
                    v["state"] = json!(state);
                    v["fired"] = json!(fired);
                    v
                })
                .collect(),
        )
    }
}

/// The admin socket's view of the running daemon.
struct Handler<'a> {
    cfg: &'a Config,
    sessions: &'a [Planned],
    ids: Vec<SessionId>,
    commands: Commands,
    publisher: Publisher,
    allowed: BTreeSet<Ipv4Addr>,
    counters: Shared,
    killed: bool,
    started: Instant,
    core: Option<usize>,
    counters_path: PathBuf,
    armed: ArmedControl,
    armed_table: ArmedTable,
    instruments: Vec<Instrument>,
    risk: RiskControl,
    risk_log: Vec<String>,
    /// Trading sessions to mass-cancel on their first logon (a previous run's orders).
    reconcile: Vec<usize>,
    /// Precompiled order templates: symbol, side, TimeInForce.
    templates: Vec<(
        String,
        Side,
        TimeInForce,
        tickwire_dataplane::engine::OrderId,
    )>,
    /// Orders seen on the wire (from the message log).
    orders: Orders,
    /// The last probe of each session: quantiles (ns) and count, for `/metrics`.
    probes: Vec<Option<ProbeQuantiles>>,
}

type Answer = Result<Value, (ErrorCode, String)>;

/// Quantiles (quantile, ns) of a probe and its number of round trips.
type ProbeQuantiles = (Vec<(f64, u64)>, u64);

fn bad(message: impl Into<String>) -> (ErrorCode, String) {
    (ErrorCode::InvalidArgument, message.into())
}

impl Handler<'_> {
    fn send(&mut self, cmd: Command) -> Result<(), (ErrorCode, String)> {
        self.commands.send(cmd).map_err(|_| {
            (
                ErrorCode::Refused,
                "the engine's command queue is full; try again".to_string(),
            )
        })
    }

    fn session(&self, args: &Value) -> Result<usize, (ErrorCode, String)> {
        let name = args["name"]
            .as_str()
            .ok_or_else(|| bad("missing argument: name"))?;
        self.sessions
            .iter()
            .position(|s| s.name == name)
            .ok_or_else(|| bad(format!("no session named {name:?}")))
    }

    fn session_json(&self, i: usize) -> Value {
        let s = &self.sessions[i];
        let c = &self.counters.counters().session[i];
        json!({
            "name": s.name,
            "kind": s.kind.as_str(),
            "state": phase_name(read(&c.phase)),
            "SenderCompID": s.sender,
            "TargetCompID": s.target,
            "remote": s.remote.to_string(),
            "host": s.host,
            "logons": read(&c.logons),
            "reconnects": read(&c.reconnects),
            "fix_in": read(&c.fix_in),
            "fix_out": read(&c.fix_out),
            "orders_sent": read(&c.orders_sent),
            "orders_refused": read(&c.orders_refused),
            "rejects_received": read(&c.rejects_received),
            "rejects_sent": read(&c.rejects_sent),
            "fix_garbled": read(&c.fix_garbled),
            "last_error": read(&c.last_error),
            "next_sender_seq": read(&c.next_sender_seq),
            "next_target_seq": read(&c.next_target_seq),
            "logon_ns": read(&c.logon_ns),
            "book_updates": read(&c.book_updates),
            "execution_reports": read(&c.execution_reports),
            "md_requests": read(&c.md_requests),
            "mass_cancels": read(&c.mass_cancels),
            "commands_refused": read(&c.commands_refused),
            "store": s.store.display().to_string(),
        })
    }

    fn publish_allowlist(&mut self) -> Result<(), (ErrorCode, String)> {
        let list: Vec<Ipv4Addr> = self.allowed.iter().copied().collect();
        let table =
            Allowlist::new(&list).map_err(|_| bad("the allowlist holds at most 64 addresses"))?;
        self.publisher.publish(table).map_err(|_| {
            (
                ErrorCode::Refused,
                "the engine has not taken the previous allowlist yet; try again".to_string(),
            )
        })
    }

    fn trading(&self) -> impl Iterator<Item = usize> + '_ {
        self.sessions
            .iter()
            .enumerate()
            .filter(|(_, s)| s.kind.is_trading())
            .map(|(i, _)| i)
    }

    fn shutdown(&mut self, on_shutdown: OnShutdown) {
        if on_shutdown == OnShutdown::Cancel {
            let _ = self.send(Command::BlockOrders);
            for i in self.trading().collect::<Vec<_>>() {
                let _ = self.send(Command::MassCancel(self.ids[i]));
            }
        }
        for i in 0..self.ids.len() {
            let _ = self.send(Command::Logout(self.ids[i]));
        }
    }

    fn all_down(&self) -> bool {
        (0..self.sessions.len())
            .all(|i| matches!(read(&self.counters.counters().session[i].phase), 1 | 2))
    }

    /// FIX-level round trips (TestRequest → Heartbeat) through the engine, one at a time,
    /// bounded in count and time; quantiles placed against Kraken's connectivity tiers.
    fn probe(&mut self, args: &Value) -> Answer {
        let i = self.session(args)?;
        let count = args["count"].as_u64().unwrap_or(100).clamp(1, 10_000);
        let shared = self.counters.clone();
        let c = &shared.counters().session[i];
        if read(&c.phase) != 6 {
            return Err((
                ErrorCode::Refused,
                format!("session {} is not logged on", self.sessions[i].name),
            ));
        }
        let mut h = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3)
            .map_err(|e| (ErrorCode::Refused, e.to_string()))?;
        let deadline = Instant::now() + Duration::from_secs(10);
        for _ in 0..count {
            let before = read(&c.probe_count);
            self.send(Command::Probe(self.ids[i]))?;
            while read(&c.probe_count) == before {
                if Instant::now() > deadline {
                    break;
                }
                std::thread::sleep(Duration::from_micros(20));
            }
            if read(&c.probe_count) == before {
                break;
            }
            let _ = h.record(read(&c.probe_rtt_ns).max(1));
        }
        if h.is_empty() {
            return Err((
                ErrorCode::Refused,
                "no TestRequest was answered within 10 s".into(),
            ));
        }
        let p50 = h.value_at_quantile(0.5);
        self.probes[i] = Some((
            [0.5, 0.9, 0.99, 1.0]
                .iter()
                .map(|&q| (q, h.value_at_quantile(q)))
                .collect(),
            h.len(),
        ));
        // Kraken's published round-trip tiers (SPEC: connectivity guide).
        let tiers = [
            ("cross-connect", 200_000u64),
            ("AWS London", 2_000_000),
            ("US", 60_000_000),
            ("Tokyo", 140_000_000),
        ];
        let nearest = tiers
            .iter()
            .min_by_key(|(_, ns)| (p50 as i64 - *ns as i64).unsigned_abs())
            .map_or("", |t| t.0);
        Ok(json!({
            "session": self.sessions[i].name,
            "round_trips": h.len(),
            "fix_rtt_ns": {
                "p50": p50,
                "p90": h.value_at_quantile(0.9),
                "p99": h.value_at_quantile(0.99),
                "max": h.max(),
            },
            "tiers_ns": tiers.iter().map(|(n, v)| json!({"tier": n, "rtt": v})).collect::<Vec<_>>(),
            "closest_tier": nearest,
        }))
    }

    /// Sends the start-up mass cancel of each session in `reconcile` once it is logged on.
    fn reconcile(&mut self) {
        let shared = self.counters.clone();
        let mut i = 0;
        while i < self.reconcile.len() {
            let s = self.reconcile[i];
            if read(&shared.counters().session[s].phase) == 6
                && self.send(Command::MassCancel(self.ids[s])).is_ok()
            {
                tracing::info!(
                    session = %self.sessions[s].name,
                    "previous run found in the store: mass cancel sent"
                );
                self.reconcile.swap_remove(i);
            } else {
                i += 1;
            }
        }
    }

    /// OrderCancelRequest for one open order, through its template's precompiled 35=F.
    fn cancel(&mut self, args: &Value) -> Answer {
        let id: u64 = args["cl_ord_id"]
            .as_str()
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| bad("cl_ord_id: expected the order's numeric ClOrdID"))?;
        let o = self
            .orders
            .by_id
            .get(&id)
            .filter(|o| o.open)
            .ok_or_else(|| bad(format!("no open order {id} (see tickwire order list)")))?
            .clone();
        let oid = o.order_id.clone().ok_or_else(|| {
            (
                ErrorCode::Refused,
                format!("order {id} has no OrderID from the venue yet"),
            )
        })?;
        let side = if o.side == b'1' {
            Side::Buy
        } else {
            Side::Sell
        };
        let tif = if o.tif == b'1' {
            TimeInForce::GoodTillCancel
        } else {
            TimeInForce::ImmediateOrCancel
        };
        let template = self
            .templates
            .iter()
            .find(|(s, sd, t, _)| *s == o.symbol && *sd == side && *t == tif)
            .map(|x| x.3)
            .ok_or_else(|| bad(format!("no precompiled template for order {id}")))?;
        let mut order_id = [0u8; 40];
        let n = oid.len().min(40);
        order_id[..n].copy_from_slice(&oid.as_bytes()[..n]);
        self.send(Command::Cancel {
            order: template,
            orig_cl_ord_id: id,
            order_id,
            order_id_len: n as u8,
        })?;
        Ok(json!({"cl_ord_id": id.to_string(), "cancel": "sent"}))
    }

    /// FIX round-trip quantiles of the last probe of each session, as Prometheus summaries
    /// (one family per session, named after it).
    fn probe_summaries(&self) -> Vec<metrics::Summary> {
        self.probes
            .iter()
            .zip(self.sessions)
            .filter_map(|(p, s)| {
                let (q, n) = p.as_ref()?;
                Some(metrics::Summary {
                    name: "fix_probe_rtt_seconds",
                    help: "FIX TestRequest to Heartbeat round trips of the last probe.",
                    quantiles: q.clone(),
                    count: *n,
                    session: Some(s.name.clone()),
                })
            })
            .collect()
    }

    fn drain_risk(&mut self) {
        while let Some(r) = self.risk.poll_event() {
            let line = match r {
                RiskReply::Applied(c) => format!("applied {c:?}"),
                RiskReply::Refused(c, e) => format!("refused {c:?}: {e:?}"),
                RiskReply::Risk(e) => format!("{e:?}"),
            };
            self.risk_log.push(line);
            if self.risk_log.len() > 32 {
                self.risk_log.remove(0);
            }
        }
    }

    /// Changes one limit: every instrument's, or the global ones, from the configured values
    /// with the one named replaced.
    fn risk_set(&mut self, args: &Value) -> Answer {
        let limit = args["limit"]
            .as_str()
            .ok_or_else(|| bad("missing argument: limit"))?;
        let value = args["value"]
            .as_str()
            .ok_or_else(|| bad("missing argument: value"))?;
        let mut r = self.cfg.risk.clone();
        let num = |v: &str| -> Result<u64, (ErrorCode, String)> {
            v.parse()
                .map_err(|_| bad(format!("{limit}: {v:?} is not a whole number")))
        };
        match limit {
            "max_order_qty" => r.max_order_qty = Some(value.to_owned()),
            "max_notional" => r.max_notional = Some(value.to_owned()),
            "max_position" => r.max_position = Some(value.to_owned()),
            "price_collar_bps" => r.price_collar_bps = Some(num(value)? as u32),
            "max_open_orders_per_instrument" => {
                r.max_open_orders_per_instrument = Some(num(value)? as u32)
            }
            "max_open_orders" => r.max_open_orders = Some(num(value)? as u32),
            "duplicate_window_ms" => r.duplicate_window_ms = Some(num(value)?),
            other => return Err(bad(format!("unknown limit {other:?}"))),
        }
        let mut cfg = self.cfg.clone();
        cfg.risk = r;
        let mut changes = Vec::new();
        if matches!(limit, "max_open_orders" | "duplicate_window_ms") {
            let capacity = risk_capacity(self.instruments.len());
            changes.push(LimitChange::Global(global_limits(&cfg, capacity)));
        } else {
            for (k, inst) in self.instruments.iter().enumerate() {
                let l = limits(&cfg, inst).map_err(|e| bad(e.to_string()))?;
                changes.push(LimitChange::Instrument(InstrumentId(k as u16), l));
            }
        }
        for c in changes {
            self.risk.send(RiskCommand::Limit(c)).map_err(|_| {
                (
                    ErrorCode::Refused,
                    "the risk queue is full; try again".to_string(),
                )
            })?;
        }
        Ok(json!({"limit": limit, "value": value, "change": "requested (see risk show)"}))
    }

    fn drain_armed(&mut self) {
        while let Some(e) = self.armed.poll_event() {
            self.armed_table.apply(e);
        }
    }

    fn arm(&mut self, args: &Value) -> Answer {
        let text = |k: &str| -> Result<String, (ErrorCode, String)> {
            args[k]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| bad(format!("missing argument: {k}")))
        };
        let symbol = text("symbol")?;
        let session = text("session")?;
        let k = self
            .instruments
            .iter()
            .position(|x| x.symbol == symbol)
            .ok_or_else(|| bad(format!("no market-data session subscribes to {symbol:?}")))?;
        let trd = self.sessions.iter().position(|s| s.kind.is_trading());
        if trd.map(|t| self.sessions[t].name.as_str()) != Some(session.as_str()) {
            return Err(bad(format!(
                "orders are precompiled for the trading session {:?}, not {session:?}",
                trd.map(|t| self.sessions[t].name.clone())
                    .unwrap_or_default()
            )));
        }
        let when: tickwire_control::config::Condition =
            serde_json::from_value(args["when"].clone()).map_err(|_| {
                bad("when: one of ask-at-or-below, bid-at-or-above, last-at-or-below, last-at-or-above, spread-at-or-below")
            })?;
        let side: tickwire_control::config::Side =
            serde_json::from_value(args["side"].clone()).map_err(|_| bad("side: buy or sell"))?;
        let (level, price, qty) = (text("level")?, text("price")?, text("qty")?);
        let rearm = args["rearm_after_ms"].as_u64();
        let tif = match args["tif"].as_str().unwrap_or("ioc") {
            "ioc" => TimeInForce::ImmediateOrCancel,
            "gtc" => TimeInForce::GoodTillCancel,
            other => return Err(bad(format!("tif: {other:?}: expected ioc or gtc"))),
        };
        let t = trigger(
            "arm",
            InstrumentId(k as u16),
            &self.instruments[k],
            when,
            &level,
            side_of(side),
            &price,
            &qty,
            rearm,
            tif,
        )
        .map_err(|e| bad(e.to_string()))?;
        if t.order.qty <= 0 || (t.order.price <= 0) {
            return Err(bad("price and qty must be positive"));
        }
        let id = self.armed_table.next_id();
        self.armed.send(ArmedCommand::Arm(id, t)).map_err(|_| {
            (
                ErrorCode::Refused,
                "the armed-order queue is full; try again".to_string(),
            )
        })?;
        self.armed_table.requested(
            id,
            json!({"symbol": symbol, "when": args["when"], "level": level, "side": args["side"],
                   "price": price, "qty": qty, "rearm_after_ms": rearm, "session": session,
                   "tif": args["tif"]}),
        );
        Ok(json!({"id": id.0, "arm": "requested"}))
    }

    fn kill(&mut self) -> Answer {
        self.send(Command::BlockOrders)?;
        let _ = self.risk.send(RiskCommand::Kill);
        self.killed = true;
        let mut cancelled = Vec::new();
        if self.cfg.risk.kill.mass_cancel {
            for i in self.trading().collect::<Vec<_>>() {
                self.send(Command::MassCancel(self.ids[i]))?;
                cancelled.push(self.sessions[i].name.clone());
            }
        }
        let mut logged_out = Vec::new();
        if self.cfg.risk.kill.logout {
            for i in self.trading().collect::<Vec<_>>() {
                self.send(Command::Logout(self.ids[i]))?;
                logged_out.push(self.sessions[i].name.clone());
            }
        }
        Ok(
            json!({"killed": true, "orders": "blocked", "mass_cancel": cancelled, "logged_out": logged_out}),
        )
    }
}

impl admin::Handler for Handler<'_> {
    fn handle(&mut self, command: &str, args: &Value) -> Answer {
        self.drain_armed();
        self.drain_risk();
        let c = self.counters.counters();
        match command {
            "status" => Ok(json!({
                "engine": {
                    "core": self.core,
                    "uptime_s": self.started.elapsed().as_secs(),
                    "cycles": read(&c.cycles),
                    "busy_cycles": read(&c.busy_cycles),
                    "killed": self.killed,
                },
                "port": {
                    "rx_frames": read(&c.port.rx_frames),
                    "tx_frames": read(&c.port.tx_frames),
                    "dropped_not_allowed": read(&c.port.drop_not_allowed),
                },
                "sessions": (0..self.sessions.len()).map(|i| json!({
                    "name": self.sessions[i].name,
                    "state": phase_name(read(&c.session[i].phase)),
                })).collect::<Vec<_>>(),
                "counters_file": self.counters_path.display().to_string(),
            })),
            "session.list" => Ok(Value::Array(
                (0..self.sessions.len())
                    .map(|i| self.session_json(i))
                    .collect(),
            )),
            "session.show" => self.session(args).map(|i| self.session_json(i)),
            "session.logon" => {
                let i = self.session(args)?;
                self.send(Command::Connect(self.ids[i]))?;
                Ok(json!({"session": self.sessions[i].name, "logon": "requested"}))
            }
            "session.logout" => {
                let i = self.session(args)?;
                self.send(Command::Logout(self.ids[i]))?;
                Ok(json!({"session": self.sessions[i].name, "logout": "sent"}))
            }
            "session.set-seq" => {
                let i = self.session(args)?;
                let num = |k: &str| -> Result<Option<u64>, (ErrorCode, String)> {
                    match &args[k] {
                        Value::Null => Ok(None),
                        v => v
                            .as_u64()
                            .filter(|&n| n > 0)
                            .map(Some)
                            .ok_or_else(|| bad(format!("{k}: expected a sequence number ≥ 1"))),
                    }
                };
                let (sender, target) = (num("sender")?, num("target")?);
                if sender.is_none() && target.is_none() {
                    return Err(bad("give --sender and/or --target"));
                }
                let phase = read(&c.session[i].phase);
                if !matches!(phase, 1..=4) {
                    return Err((
                        ErrorCode::Refused,
                        format!(
                            "session {} is {}: log it out first (sequence numbers change only before a Logon)",
                            self.sessions[i].name,
                            phase_name(phase)
                        ),
                    ));
                }
                self.send(Command::SetSeq {
                    session: self.ids[i],
                    sender,
                    target,
                })?;
                Ok(json!({"session": self.sessions[i].name, "sender": sender, "target": target}))
            }
            "session.reset-seq" => {
                let i = self.session(args)?;
                self.send(Command::ResetSeq(self.ids[i]))?;
                Ok(
                    json!({"session": self.sessions[i].name, "reset": "next logon with 141=Y at 1/1"}),
                )
            }
            "probe" => self.probe(args),
            "armed" => {
                self.drain_armed();
                Ok(self.armed_table.json())
            }
            "arm" => self.arm(args),
            "disarm" => {
                let id = args["id"]
                    .as_u64()
                    .ok_or_else(|| bad("missing argument: id"))? as u32;
                if !self.armed_table.entries.contains_key(&id) {
                    return Err(bad(format!("no armed order {id}")));
                }
                self.armed
                    .send(ArmedCommand::Disarm(TriggerId(id)))
                    .map_err(|_| {
                        (
                            ErrorCode::Refused,
                            "the armed-order queue is full; try again".to_string(),
                        )
                    })?;
                Ok(json!({"id": id, "disarm": "requested"}))
            }
            "whitelist.list" => Ok(json!(self
                .allowed
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>())),
            "whitelist.add" | "whitelist.remove" => {
                let ip: Ipv4Addr = args["address"]
                    .as_str()
                    .and_then(|a| a.parse().ok())
                    .ok_or_else(|| bad("address: expected an IPv4 address"))?;
                let changed = if command == "whitelist.add" {
                    self.allowed.insert(ip)
                } else {
                    self.allowed.remove(&ip)
                };
                if changed {
                    if let Err(e) = self.publish_allowlist() {
                        // Keep the table we show equal to the one the engine uses.
                        if command == "whitelist.add" {
                            self.allowed.remove(&ip);
                        } else {
                            self.allowed.insert(ip);
                        }
                        return Err(e);
                    }
                }
                Ok(json!({"address": ip.to_string(), "changed": changed,
                          "allowlist": self.allowed.iter().map(ToString::to_string).collect::<Vec<_>>()}))
            }
            "kill" => self.kill(),
            "order.list" => Ok(Value::Array(
                self.orders
                    .by_id
                    .iter()
                    .filter(|(_, o)| o.open)
                    .map(|(id, o)| {
                        json!({
                            "cl_ord_id": id.to_string(),
                            "session": self.sessions.get(usize::from(o.session)).map(|s| s.name.clone()),
                            "symbol": o.symbol,
                            "side": if o.side == b'1' { "buy" } else { "sell" },
                            "tif": match o.tif { b'1' => "gtc", b'3' => "ioc", _ => "other" },
                            "qty": o.qty,
                            "price": o.price,
                            "order_id": o.order_id,
                            "status": o.status,
                        })
                    })
                    .collect(),
            )),
            "order.cancel" => self.cancel(args),
            "order.mass-cancel" => {
                let only = args["session"].as_str();
                let targets: Vec<usize> = self
                    .trading()
                    .filter(|&i| only.is_none_or(|n| self.sessions[i].name == n))
                    .collect();
                if targets.is_empty() {
                    return Err(bad(format!("no trading session named {only:?}")));
                }
                for &i in &targets {
                    if read(&c.session[i].phase) != 6 {
                        return Err((
                            ErrorCode::Refused,
                            format!("session {} is not logged on", self.sessions[i].name),
                        ));
                    }
                }
                let names: Vec<String> = targets
                    .iter()
                    .map(|&i| self.sessions[i].name.clone())
                    .collect();
                for i in targets {
                    self.send(Command::MassCancel(self.ids[i]))?;
                }
                Ok(json!({"mass_cancel": names}))
            }
            "unkill" => {
                self.send(Command::AllowOrders)?;
                let _ = self.risk.send(RiskCommand::Rearm);
                self.killed = false;
                Ok(json!({"killed": false, "orders": "allowed"}))
            }
            "risk.set" => self.risk_set(args),
            "risk.show" => Ok(json!({
                "changes": self.risk_log.clone(),
                "max_order_qty": self.cfg.risk.max_order_qty,
                "max_notional": self.cfg.risk.max_notional,
                "price_collar_bps": self.cfg.risk.price_collar_bps,
                "max_open_orders": self.cfg.risk.max_open_orders,
                "max_open_orders_per_instrument": self.cfg.risk.max_open_orders_per_instrument,
                "max_position": self.cfg.risk.max_position,
                "duplicate_window_ms": self.cfg.risk.duplicate_window_ms,
                "rate_tier": self.cfg.risk.rate_tier,
                "killed": self.killed,
            })),
            "metrics" => {
                let names: Vec<&str> = self.sessions.iter().map(|s| s.name.as_str()).collect();
                let probes = self.probe_summaries();
                Ok(json!({ "prometheus": metrics::render(c, &names, &probes) }))
            }
            "log.tail" => {
                let i = self.session(args)?;
                let s = &self.sessions[i];
                let dir = s
                    .log_dir
                    .as_ref()
                    .ok_or_else(|| bad(format!("session {} has no FileLogPath", s.name)))?;
                let n = args["lines"].as_u64().unwrap_or(20).min(10_000) as usize;
                let (file, _) = filelog::file_names("FIX.4.4", &s.sender, &s.target);
                let lines = filelog::tail(&dir.join(file), n)
                    .map_err(|e| (ErrorCode::Refused, format!("{}: {e}", dir.display())))?;
                Ok(json!(lines
                    .iter()
                    .map(|l| filelog::decode(l))
                    .collect::<Vec<_>>()))
            }
            other => Err((
                ErrorCode::Refused,
                format!("{other} is not available in this daemon yet"),
            )),
        }
    }
}
