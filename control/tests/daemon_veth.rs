//! The daemon end to end: `tickwire run` on the host end of a veth pair (AF_PACKET, userspace
//! TCP, TLS 1.3 verified against the venue's CA, Kraken HMAC logon) against `tickwire venue`
//! on kernel TCP in its own network namespace; every operator command goes through the admin
//! socket with the `tickwire` CLI, and its effect is checked on the session and the wire.
//!
//! Needs root (network namespaces, AF_PACKET), iproute2 and ethtool: CI installs them and runs
//! as root; elsewhere the test fails and says what is missing.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tickwire_testutil::netns::{KillOnDrop, Veth};

const SECRET_A: &str =
    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==";
const TOKEN: &str = "daemon-test-token-91c2";

/// Namespace `twd<tag>` and veth `twdh<tag>` ↔ `twdv<tag>` (10.78.0.2/24 there), unique per
/// process and per test (`which`: tests of this file run in parallel).
fn topology(which: u32) -> Veth {
    let tag = (std::process::id() % 10_000) * 10 + which;
    Veth::create(
        &format!("twd{tag}"),
        &format!("twdh{tag}"),
        &format!("twdv{tag}"),
        "10.78.0.2/24",
    )
}

fn write_private(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

fn tickwire(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tickwire"))
        .args(args)
        .env_remove("TICKWIRE_ADMIN_TOKEN")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

struct Daemon {
    proc: KillOnDrop,
    socket: String,
    token: String,
    stderr: std::sync::mpsc::Receiver<String>,
}

impl Daemon {
    fn start(config: &Path, socket: &Path, token: &Path) -> Daemon {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tickwire"))
            .args([
                "run",
                "--config",
                config.to_str().unwrap(),
                "--idle",
                "sleep",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Daemon {
            proc: KillOnDrop(child),
            socket: socket.to_str().unwrap().to_owned(),
            token: token.to_str().unwrap().to_owned(),
            stderr: rx,
        }
    }

    fn cli(&self, args: &[&str]) -> (i32, String, String) {
        let mut a: Vec<&str> = vec!["--output", "json"];
        a.extend_from_slice(args);
        a.extend(["--socket", &self.socket, "--token-file", &self.token]);
        tickwire(&a)
    }

    fn json(&self, args: &[&str]) -> Value {
        let (code, out, err) = self.cli(args);
        assert_eq!(code, 0, "{args:?}: {err}\n{}", self.log());
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
    }

    fn log(&self) -> String {
        self.stderr.try_iter().collect::<Vec<_>>().join("\n")
    }

    fn session(&self, name: &str) -> Value {
        self.json(&["session", "show", name])
    }

    fn wait<F: FnMut(&Daemon) -> bool>(&self, what: &str, secs: u64, mut f: F) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !f(self) {
            if Instant::now() >= deadline {
                let (_, sessions, _) = self.cli(&["session", "list"]);
                let (_, armed, _) = self.cli(&["armed"]);
                let (_, risk, _) = self.cli(&["risk", "show"]);
                let (_, orders, _) = self.cli(&["order", "list"]);
                eprintln!("orders: {orders}");
                let (_, tail, _) = self.cli(&["log", "tail", "trd", "--lines", "400"]);
                eprintln!("trd log: {tail}");

                panic!(
                    "timed out waiting for {what}\n{}\nsessions: {sessions}\narmed: {armed}\nrisk: {risk}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// `tickwire arm` arguments for a BTC/USD buy on the trading session when the best ask is at or
/// below `level`; `more` adds options (`--tif gtc`, `--rearm-after-ms N`).
fn arm_buy<'a>(level: &'a str, price: &'a str, qty: &'a str, more: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec![
        "arm",
        "--symbol",
        "BTC/USD",
        "--when",
        "ask-at-or-below",
        "--level",
        level,
        "--side",
        "buy",
        "--price",
        price,
        "--qty",
        qty,
        "--session",
        "trd",
    ];
    a.extend_from_slice(more);
    a
}

fn scrape(addr: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

/// The venue running in its namespace and a daemon configuration pointing at it.
struct Setup {
    topo: Veth,
    dir: tempfile::TempDir,
    venue: KillOnDrop,
    config: PathBuf,
    socket: PathBuf,
    token: PathBuf,
    metrics: String,
}

fn setup(which: u32, reset_on_logon: bool) -> Setup {
    let topo = topology(which);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    // The venue in its namespace, kernel TCP, TLS 1.3 with a generated CA.
    let venue = topo
        .command(env!("CARGO_BIN_EXE_tickwire"))
        .arg("venue")
        .args([
            "--bind",
            "10.78.0.2",
            "--no-derivatives",
            "--market-rate",
            "50",
        ])
        .args(["--cert-dir", d.join("pki").to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut venue = KillOnDrop(venue);
    let mut lines = BufReader::new(venue.0.stdout.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut ca = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(path) = line.trim().strip_prefix("CA certificate") {
            ca = Some(PathBuf::from(path.trim()));
        }
        if line.starts_with("Ctrl-C") {
            break;
        }
        assert!(Instant::now() < deadline, "venue did not start");
    }
    let ca = ca.expect("venue printed its CA");

    write_private(&d.join("api.key"), "FIXTESTKEY123\n");
    write_private(&d.join("api.secret"), SECRET_A);
    let token = d.join("admin.token");
    write_private(&token, TOKEN);
    let socket = d.join("run/admin.sock");
    let metrics = format!(
        "127.0.0.1:{}",
        20_000 + (std::process::id() % 10_000) * 4 + which
    );
    let config = d.join("tickwire.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[appliance]
name = "daemon-test"
profile = "virtio-loopback"
address = "10.78.0.1/24"

[nic]
backend = "af-packet"
interface = "{iface}"

[tls]
ca_file = "{ca}"
server_name = "colo-london.vip-fix.uat.kraken.com"

[credentials.spot]
api_key = {{ file = "{d}/api.key" }}
api_secret = {{ file = "{d}/api.secret" }}

[[session]]
name = "md"
kind = "spot-md-l2"
SenderCompID = "TESTCLIENT"
TargetCompID = "KRAKEN-MD"
SocketConnectHost = "10.78.0.2"
SocketConnectPort = 4000
HeartBtInt = 1
ResetOnLogon = true
FileStorePath = "{d}/store"
FileLogPath = "{d}/log"
Symbol = "BTC/USD"

[[session]]
name = "trd"
kind = "spot-trading"
SenderCompID = "TESTCLIENT"
TargetCompID = "KRAKEN-TRD"
SocketConnectHost = "10.78.0.2"
SocketConnectPort = 4001
HeartBtInt = 1
ResetOnLogon = {reset}
FileStorePath = "{d}/store"
FileLogPath = "{d}/log"
Credentials = "spot"

[risk]
max_order_qty = "1"
max_open_orders = 50

[admin]
socket = "{socket}"
token = {{ file = "{token}" }}
metrics = "{metrics}"
"#,
            iface = topo.host_if,
            ca = ca.display(),
            d = d.display(),
            socket = socket.display(),
            token = token.display(),
            reset = reset_on_logon,
        ),
    )
    .unwrap();
    let (code, out, err) = tickwire(&["config", "check", config.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");

    // The venue's stdout must keep draining or it blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Setup {
        topo,
        dir,
        venue,
        config,
        socket,
        token,
        metrics,
    }
}

#[test]
fn daemon_against_the_venue_over_veth_with_every_operator_command() {
    let Setup {
        topo: _topo,
        dir,
        venue: _venue,
        config,
        socket,
        token,
        metrics,
    } = setup(1, true);
    let d = dir.path();
    let daemon = Daemon::start(&config, &socket, &token);
    daemon.wait("the admin socket", 20, |_| socket.exists());
    let mode = std::fs::metadata(&socket).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    daemon.wait("logon", 30, |d| d.session("trd")["state"] == "active");
    let s = daemon.session("trd");
    assert_eq!(s["logons"], 1, "{s}");
    daemon.wait("market data", 30, |d| {
        let md = d.session("md");
        md["state"] == "active" && md["book_updates"].as_u64().unwrap() >= 1
    });
    let md = daemon.session("md");
    assert!(md["md_requests"].as_u64().unwrap() >= 1, "{md}");
    let status = daemon.json(&["status"]);
    assert_eq!(status["sessions"][1]["state"], "active");
    for secret in [SECRET_A, TOKEN, "FIXTESTKEY123"] {
        assert!(!status.to_string().contains(secret), "secret in status");
    }

    // Prometheus.
    let m = scrape(&metrics);
    assert!(m.starts_with("HTTP/1.1 200 OK"), "{m}");
    assert!(
        m.contains("tickwire_session_phase{session=\"trd\"} 6\n"),
        "{m}"
    );

    // Whitelist: removing the venue's address makes its frames drop before the stack.
    let before = daemon.json(&["status"])["port"]["dropped_not_allowed"]
        .as_u64()
        .unwrap();
    let r = daemon.json(&["whitelist", "remove", "10.78.0.2"]);
    assert_eq!(r["changed"], true);
    daemon.wait("dropped frames", 10, |d| {
        d.json(&["status"])["port"]["dropped_not_allowed"]
            .as_u64()
            .unwrap()
            > before
    });
    let r = daemon.json(&["whitelist", "add", "10.78.0.2"]);
    assert_eq!(r["allowlist"][0], "10.78.0.2");
    daemon.wait("the session back", 40, |d| {
        d.session("trd")["state"] == "active"
    });

    // FIX round trips through the engine, placed against Kraken's tiers.
    let p = daemon.json(&["probe", "trd", "--count", "20"]);
    assert_eq!(p["round_trips"], 20, "{p}");
    assert!(p["fix_rtt_ns"]["p50"].as_u64().unwrap() > 0);
    assert!(p["closest_tier"].is_string());

    // Sequence numbers: shown per session; changing them is refused while logged on.
    let s = daemon.session("trd");
    assert!(s["next_sender_seq"].as_u64().unwrap() > 1, "{s}");
    let (code, _, err) = daemon.cli(&["session", "set-seq", "trd", "--sender", "500"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("log it out first"), "{err}");

    // Armed order: fires on the venue's book through the precompiled template, is filled.
    let r = daemon.json(&arm_buy("10000000", "10000000", "0.0001", &[]));
    let id = r["id"].as_u64().unwrap();
    daemon.wait("the armed order to fire and be filled", 30, |d| {
        let s = d.session("trd");
        s["orders_sent"].as_u64().unwrap() >= 1 && s["execution_reports"].as_u64().unwrap() >= 1
    });
    let armed = daemon.json(&["armed"]);
    let entry = armed
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == id)
        .unwrap()
        .clone();
    assert_eq!(entry["fired"], 1, "{armed}");
    assert_eq!(entry["state"], "fired", "one-shot: it left the table");
    // Risk limits change live: an order above the new max_order_qty is refused, not sent.
    daemon.json(&["risk", "set", "max_order_qty", "0.00001"]);
    daemon.wait("the limit applied", 10, |d| {
        d.json(&["risk", "show"])["changes"]
            .to_string()
            .contains("applied")
    });
    let sent = daemon.session("trd")["orders_sent"].as_u64().unwrap();
    let refused = daemon.session("trd")["orders_refused"].as_u64().unwrap();
    daemon.json(&arm_buy("10000000", "10000000", "0.0001", &[]));
    daemon.wait("the order refused by risk", 30, |d| {
        d.session("trd")["orders_refused"].as_u64().unwrap() > refused
    });
    assert_eq!(daemon.session("trd")["orders_sent"].as_u64().unwrap(), sent);
    daemon.json(&["risk", "set", "max_order_qty", "1"]);
    let (code, _, err) = daemon.cli(&["risk", "set", "max_banana", "1"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = daemon.cli(&[
        "arm",
        "--symbol",
        "ETH/USD",
        "--when",
        "ask-at-or-below",
        "--level",
        "1",
        "--side",
        "buy",
        "--price",
        "1",
        "--qty",
        "1",
        "--session",
        "trd",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no market-data session"), "{err}");

    // A resting order: a GTC buy far below the market, listed with the venue's OrderID, then
    // cancelled with an OrderCancelRequest (35=F) and gone from the list.
    daemon.json(&arm_buy("10000000", "50000.0", "0.001", &["--tif", "gtc"]));
    let mut open = Value::Null;
    daemon.wait("a resting order with its OrderID", 30, |d| {
        open = d.json(&["order", "list"]);
        open.as_array()
            .unwrap()
            .iter()
            .any(|o| o["order_id"].is_string() && o["status"] == "new")
    });
    let resting = open
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["status"] == "new")
        .unwrap()
        .clone();
    assert_eq!(resting["tif"], "gtc", "{resting}");
    assert_eq!(resting["price"], "50000.0", "{resting}");
    let id = resting["cl_ord_id"].as_str().unwrap().to_owned();
    let r = daemon.json(&["order", "cancel", &id]);
    assert_eq!(r["cancel"], "sent");
    daemon.wait("the order cancelled", 30, |d| {
        !d.json(&["order", "list"]).to_string().contains(&id)
    });
    let (code, _, err) = daemon.cli(&["order", "cancel", &id]);
    assert_eq!(code, 2, "no longer open: {err}");
    let (code, _, err) = daemon.cli(&["order", "cancel", "not-an-id"]);
    assert_eq!(code, 2, "{err}");

    // The rest of the operator commands: whitelist list, metrics over the socket (with the
    // probe's quantiles), disarm, order mass-cancel, reset-seq.
    let wl = daemon.json(&["whitelist", "list"]);
    assert_eq!(wl[0], "10.78.0.2", "{wl}");
    let m = daemon.json(&["metrics"]);
    let text = m["prometheus"].as_str().unwrap();
    assert!(
        text.contains("tickwire_session_orders_sent_total{session=\"trd\"}"),
        "{text}"
    );
    assert!(
        text.contains("tickwire_fix_probe_rtt_seconds{session=\"trd\",quantile=\"0.5\"}"),
        "{text}"
    );
    let scraped = scrape(&metrics);
    assert!(
        scraped.contains("tickwire_fix_probe_rtt_seconds_count{session=\"trd\"} 20"),
        "{scraped}"
    );
    // A trigger that cannot fire (no ask at or below 0.1) is armed, then disarmed.
    let idle = daemon.json(&arm_buy("0.1", "0.1", "0.001", &[]))["id"]
        .as_u64()
        .unwrap();
    let state = |d: &Daemon, id: u64| {
        d.json(&["armed"])
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["id"] == id)
            .map(|e| e["state"].clone())
            .unwrap_or(Value::Null)
    };
    daemon.wait("the idle trigger armed", 10, |d| state(d, idle) == "armed");
    assert_eq!(
        daemon.json(&["disarm", &idle.to_string()])["disarm"],
        "requested"
    );
    daemon.wait("the trigger disarmed", 10, |d| state(d, idle) == "disarmed");
    let (code, _, err) = daemon.cli(&["disarm", "999"]);
    assert_eq!(code, 2, "{err}");
    let q = daemon.session("trd")["mass_cancels"].as_u64().unwrap();
    assert_eq!(
        daemon.json(&["order", "mass-cancel"])["mass_cancel"][0],
        "trd"
    );
    daemon.wait("the operator's 35=q", 10, |d| {
        d.session("trd")["mass_cancels"].as_u64().unwrap() == q + 1
    });
    let r = daemon.json(&["session", "reset-seq", "trd"]);
    assert!(r["reset"].as_str().unwrap().contains("141=Y"), "{r}");

    // Kill switch: orders blocked and a 35=q on the trading session; re-arm.
    let in_before = daemon.session("trd")["fix_in"].as_u64().unwrap();
    let q_before = daemon.session("trd")["mass_cancels"].as_u64().unwrap();
    let r = daemon.json(&["kill"]);
    assert_eq!(r["killed"], true);
    assert_eq!(r["mass_cancel"][0], "trd");
    daemon.wait("the mass cancel sent and answered", 10, |d| {
        let s = d.session("trd");
        s["mass_cancels"].as_u64().unwrap() == q_before + 1
            && s["fix_in"].as_u64().unwrap() > in_before
    });
    assert_eq!(daemon.json(&["status"])["engine"]["killed"], true);
    // The next order is blocked: armed and qualifying, but nothing reaches the wire.
    let sent = daemon.session("trd")["orders_sent"].as_u64().unwrap();
    let refused = daemon.session("trd")["orders_refused"].as_u64().unwrap();
    daemon.json(&arm_buy("10000000", "10000000", "0.0001", &[]));
    daemon.wait("the order blocked by the kill switch", 30, |d| {
        d.session("trd")["orders_refused"].as_u64().unwrap() > refused
    });
    assert_eq!(daemon.session("trd")["orders_sent"].as_u64().unwrap(), sent);
    assert_eq!(daemon.json(&["unkill"])["killed"], false);

    // Wrong token: refused with exit 3, session untouched.
    let bad = d.join("bad.token");
    write_private(&bad, "nope");
    let (code, _, err) = tickwire(&[
        "session",
        "logout",
        "trd",
        "--socket",
        socket.to_str().unwrap(),
        "--token-file",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(code, 3, "{err}");
    assert_eq!(daemon.session("trd")["state"], "active");
    // Unknown session: exit 2.
    let (code, _, err) = daemon.cli(&["session", "logout", "nope"]);
    assert_eq!(code, 2, "{err}");

    // Logout: the session sends 35=5, the venue answers, and it stays down.
    let out_before = daemon.session("trd")["fix_out"].as_u64().unwrap();
    daemon.json(&["session", "logout", "trd"]);
    daemon.wait("logged out", 15, |d| d.session("trd")["state"] == "stopped");
    assert!(daemon.session("trd")["fix_out"].as_u64().unwrap() > out_before);
    // While it is down the sequence numbers may be set; then back on at them.
    daemon.json(&["session", "set-seq", "trd", "--sender", "500"]);
    daemon.wait("seq set", 5, |d| d.session("trd")["next_sender_seq"] == 500);
    daemon.json(&["session", "logon", "trd"]);
    daemon.wait("logon again", 30, |d| d.session("trd")["state"] == "active");
    // ResetOnLogon = true here: the Logon's 141=Y restarts both sides at 1.
    assert!(daemon.session("trd")["next_sender_seq"].as_u64().unwrap() < 500);

    // What went on the wire, from the QuickFIX-format message log and `log tail` (the log
    // thread flushes at least every 200 ms).
    let log_file = d.join("log/FIX.4.4-TESTCLIENT-KRAKEN-TRD.messages.current.log");
    let mut log = String::new();
    daemon.wait("the logout in the message log", 10, |_| {
        log = std::fs::read_to_string(&log_file).unwrap_or_default();
        log.contains("\x0135=5\x01")
    });
    assert!(log.contains("\x0135=q\x01"), "no 35=q in the message log");
    assert!(log.contains("\x0135=5\x01"), "no 35=5 in the message log");
    assert!(log.contains("\x0135=D\x01"), "no 35=D in the message log");
    assert!(log.contains("\x0135=F\x01"), "no 35=F in the message log");
    let tail = daemon.json(&["log", "tail", "trd", "--lines", "200"]);
    assert!(tail.to_string().contains("MsgType(35)=q"), "{tail}");
    let events =
        std::fs::read_to_string(d.join("log/FIX.4.4-TESTCLIENT-KRAKEN-TRD.event.current.log"))
            .unwrap();
    assert!(!events.is_empty());
    for secret in [SECRET_A, TOKEN] {
        assert!(
            !log.contains(secret) && !events.contains(secret),
            "secret in the logs"
        );
    }

    // Every command that needs arguments, sent ill-typed ones over the socket (with the
    // token, so the handler sees them): a typed error for each, the connection answered, and
    // the daemon carries on.
    ill_typed_arguments_are_refused(&socket);
    assert_eq!(daemon.session("trd")["state"], "active");
    assert_eq!(daemon.json(&["status"])["engine"]["killed"], false);

    // SIGTERM: clean stop, socket removed, exit 0.
    let pid = nix::unistd::Pid::from_raw(daemon.proc.0.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let mut daemon = daemon;
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(s) = daemon.proc.0.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "daemon did not stop\n{}",
            daemon.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let log = daemon.log();
    assert!(status.success(), "{status:?}\n{log}");
    assert!(log.contains("stopping"), "{log}");
    assert!(!socket.exists(), "admin socket left behind");
    for secret in [SECRET_A, TOKEN] {
        assert!(!log.contains(secret), "secret in the daemon's output");
    }
}

/// Sends every command whose arguments are required (its summary names them, and not only
/// optional ones) a set of ill-typed arguments: not an object, and an object whose every
/// known key has the wrong type or an impossible value. Each must be refused with
/// `invalid_argument` and a message, not carried out or answered with a dropped connection.
fn ill_typed_arguments_are_refused(socket: &Path) {
    use tickwire_control::admin::{call, ErrorCode, Request, COMMANDS};
    let wrong = serde_json::json!({
        "name": 7, "text": [], "sender": "a", "target": -5, "address": "300.1.2.3",
        "limit": [], "value": "NaN", "cl_ord_id": -1, "session": 3, "symbol": 5,
        "when": {}, "level": "high", "side": "up", "price": "1e999", "qty": -1,
        "rearm_after_ms": "soon", "tif": 9, "id": "x", "lines": "all", "count": {},
    });
    let odd = [
        Value::Null,
        Value::from(7),
        Value::from("x"),
        Value::from(vec![1, 2]),
        wrong,
    ];
    let mut asked = 0;
    let mut checked = Vec::new();
    for (command, _, summary) in COMMANDS {
        let Some(args) = summary.split("(args: ").nth(1) else {
            continue;
        };
        if args
            .split(", ")
            .all(|a| a.trim_end_matches(')').ends_with('?'))
        {
            continue;
        }
        checked.push(*command);
        for args in &odd {
            let request = Request {
                id: Some(asked),
                token: Some(TOKEN.to_string()),
                command: (*command).to_string(),
                args: args.clone(),
            };
            let r = call(socket, &request, Duration::from_secs(5))
                .unwrap_or_else(|e| panic!("{command} {args}: no answer: {e}"));
            assert_eq!(r.id, Some(asked));
            assert!(!r.ok, "{command} {args} was carried out: {r:?}");
            let e = r
                .error
                .unwrap_or_else(|| panic!("{command} {args}: no error"));
            assert_eq!(
                e.code,
                ErrorCode::InvalidArgument,
                "{command} {args}: {e:?}"
            );
            assert!(!e.message.is_empty(), "{command} {args}");
            asked += 1;
        }
    }
    // The catalog's summaries are what picks the commands: a sample that must be among them.
    for c in [
        "session.set-seq",
        "whitelist.add",
        "risk.set",
        "arm",
        "order.cancel",
        "probe",
    ] {
        assert!(checked.contains(&c), "{c} not checked: {checked:?}");
    }
    assert_eq!(asked, 5 * checked.len() as u64);
}

/// Arms a buy that fires on the first ask of the venue's synthetic market, re-arming after 1 s.
fn arm_any_ask() -> Vec<&'static str> {
    arm_buy(
        "10000000",
        "10000000",
        "0.0001",
        &["--rearm-after-ms", "1000"],
    )
}

fn store_seq(store: &Path) -> (u64, u64) {
    let (code, out, err) = tickwire(&[
        "--output",
        "json",
        "fix",
        "store",
        "show",
        store.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    (
        v["next_sender_seq"].as_u64().unwrap(),
        v["next_target_seq"].as_u64().unwrap(),
    )
}

#[test]
fn kill_9_and_restart_resumes_sequence_numbers_from_the_store() {
    let Setup {
        topo: _topo,
        dir,
        venue: _venue,
        config,
        socket,
        token,
        ..
    } = setup(2, false);
    let store = dir.path().join("store/TESTCLIENT-KRAKEN-TRD.store");

    let mut first = Daemon::start(&config, &socket, &token);
    first.wait("the admin socket", 20, |_| socket.exists());
    first.wait("logon", 30, |d| d.session("trd")["state"] == "active");
    // Let a few heartbeats go each way so both sequence numbers move past the logon.
    first.wait("heartbeats", 20, |d| {
        d.session("trd")["fix_in"].as_u64().unwrap() >= 3
    });
    first.proc.0.kill().unwrap();
    first.proc.0.wait().unwrap();
    let (sender, target) = store_seq(&store);
    assert!(
        sender >= 3 && target >= 3,
        "store after the crash: {sender} {target}"
    );

    // The crashed daemon left its socket behind; the new one replaces it.
    assert!(socket.exists());
    let second = Daemon::start(&config, &socket, &token);
    second.wait("logon after the restart", 40, |d| {
        d.cli(&["session", "show", "trd"]).0 == 0 && d.session("trd")["state"] == "active"
    });
    // The Logon went out at the stored sequence number (no 141=Y reset): the journal keeps
    // counting from where the crash left it, and the venue accepted it.
    second.wait("heartbeats", 20, |d| {
        d.session("trd")["fix_in"].as_u64().unwrap() >= 2
    });
    let (sender2, target2) = store_seq(&store);
    assert!(
        sender2 > sender,
        "sender sequence resumed: {sender} → {sender2}"
    );
    assert!(
        target2 > target,
        "target sequence resumed: {target} → {target2}"
    );
    assert_eq!(second.session("trd")["logons"], 1);
    // Reconciliation (on_start = mass-cancel by default): the store shows a previous run, so
    // whatever it left open is cancelled once the session is logged on.
    second.wait("the start-up mass cancel", 10, |d| {
        d.session("trd")["mass_cancels"] == 1
    });
    // A new order after the restart never reuses a ClOrdID of the first run.
    second.wait("market data after the restart", 30, |d| {
        let md = d.session("md");
        md["state"] == "active" && md["book_updates"].as_u64().unwrap() >= 2
    });
    second.json(&arm_any_ask());
    second.wait("an order after the restart", 30, |d| {
        d.session("trd")["orders_sent"].as_u64().unwrap() >= 1
    });
    // The store is the crash-safe record of what was sent (the message log may lose its last
    // buffered lines to a kill -9): every journaled order of both runs.
    let (code, out, err) = tickwire(&[
        "--output",
        "json",
        "fix",
        "store",
        "show",
        store.to_str().unwrap(),
        "--last",
        "100000",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let ids: Vec<u64> = v["last"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["message"].as_str())
        .filter(|m| m.contains("|35=D|") || m.contains("|35=q|"))
        .filter_map(|m| {
            m.split('|')
                .find_map(|f| f.strip_prefix("11="))
                .and_then(|v| v.parse().ok())
        })
        .collect();
    assert!(ids.len() >= 2, "orders of both runs journaled: {ids:?}");
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "ClOrdIDs not strictly increasing across the restart: {ids:?}"
    );

    // Without 141=Y an operator's set-seq carries into the next Logon: the venue sees the
    // gap, asks for a resend and gets a gap fill, and the session stays up.
    second.json(&["session", "logout", "trd"]);
    second.wait("logged out", 15, |d| d.session("trd")["state"] == "stopped");
    second.json(&["session", "set-seq", "trd", "--sender", "500"]);
    second.wait("seq set", 5, |d| d.session("trd")["next_sender_seq"] == 500);
    second.json(&["session", "logon", "trd"]);
    second.wait("logon at 500", 30, |d| {
        d.session("trd")["state"] == "active"
    });
    second.wait("heartbeats after the gap fill", 20, |d| {
        d.session("trd")["next_sender_seq"].as_u64().unwrap() > 502
    });
    assert_eq!(second.session("trd")["state"], "active");
}
