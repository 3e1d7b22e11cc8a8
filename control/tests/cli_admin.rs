//! The operator CLI against an admin socket served in this process: request mapping, token
//! handling (file 0600 or environment), exit codes by error class, text and JSON output;
//! completions and the man page.
#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tickwire_control::admin::{ErrorCode, Handler, Server};
use tickwire_control::config::Secret;

const TOKEN: &str = "c41b-77e0-token";

type Seen = Arc<Mutex<Vec<(String, Value)>>>;

struct Daemonish(Seen);

impl Handler for Daemonish {
    fn handle(&mut self, command: &str, args: &Value) -> Result<Value, (ErrorCode, String)> {
        self.0
            .lock()
            .unwrap()
            .push((command.to_owned(), args.clone()));
        match (command, args["name"].as_str()) {
            ("session.logout", Some("trd")) => Ok(json!({"logout": "sent"})),
            ("session.logout", Some(other)) => Err((
                ErrorCode::InvalidArgument,
                format!("no session named {other:?}"),
            )),
            ("order.mass-cancel", _) => Err((ErrorCode::Refused, "trading session is down".into())),
            ("status", _) => Ok(
                json!({"engine": {"state": "running", "core": 1}, "sessions": [{"name": "trd", "state": "active"}]}),
            ),
            _ => Ok(json!({"ok": command})),
        }
    }
}

fn serve(path: &Path) -> (Seen, Arc<AtomicBool>, std::thread::JoinHandle<()>) {
    let mut server = Server::bind(path, Secret::new(TOKEN)).unwrap();
    let seen: Seen = Arc::default();
    let mut h = Daemonish(seen.clone());
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let t = std::thread::spawn(move || {
        while !s.load(Ordering::Relaxed) {
            if server.poll(&mut h) == 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    });
    (seen, stop, t)
}

fn tickwire(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tickwire"))
        .args(args)
        .env_remove("TICKWIRE_ADMIN_TOKEN")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn commands_reach_the_daemon_with_the_right_requests_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("admin.sock");
    let s = sock.to_str().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let tf = token_file.to_str().unwrap();
    let (seen, stop, t) = serve(&sock);

    let (code, out, err) = tickwire(&["status", "--socket", s], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("engine:\n  core   1\n  state  running"),
        "{out}"
    );
    let (code, out, _) = tickwire(&["--output", "json", "status", "--socket", s], &[]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["sessions"][0]["state"], "active");

    // Mutating without a token: refused locally, exit 3, nothing sent.
    let before = seen.lock().unwrap().len();
    let (code, _, err) = tickwire(&["kill", "--socket", s], &[]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("needs the admin token"), "{err}");
    assert_eq!(seen.lock().unwrap().len(), before);
    // Wrong token from the environment: the daemon refuses, exit 3.
    let (code, _, err) = tickwire(
        &["kill", "--socket", s],
        &[("TICKWIRE_ADMIN_TOKEN", "guess")],
    );
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("kill: kill changes state and needs the admin token"),
        "{err}"
    );
    assert!(!err.contains(TOKEN));
    // Right token from the environment and from the file.
    let (code, _, err) = tickwire(&["kill", "--socket", s], &[("TICKWIRE_ADMIN_TOKEN", TOKEN)]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = tickwire(
        &[
            "session",
            "logout",
            "trd",
            "--text",
            "bye",
            "--socket",
            s,
            "--token-file",
            tf,
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    // The daemon says the argument is wrong: exit 2; refused: exit 1.
    let (code, _, err) = tickwire(
        &[
            "session",
            "logout",
            "nope",
            "--socket",
            s,
            "--token-file",
            tf,
        ],
        &[],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no session named \"nope\""), "{err}");
    let (code, _, err) = tickwire(
        &["order", "mass-cancel", "--socket", s, "--token-file", tf],
        &[],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("trading session is down"), "{err}");
    for args in [
        &["whitelist", "remove", "10.9.0.2"][..],
        &["risk", "set", "max_order_qty", "0.5"],
        &[
            "arm",
            "--symbol",
            "BTC/USD",
            "--when",
            "ask-at-or-below",
            "--level",
            "84000",
            "--side",
            "buy",
            "--price",
            "84000",
            "--qty",
            "0.01",
            "--session",
            "trd",
        ],
        &["disarm", "4"],
        &["unkill"],
        &["session", "set-seq", "trd", "--sender", "40"],
    ] {
        let mut a = args.to_vec();
        a.extend(["--socket", s, "--token-file", tf]);
        let (code, _, err) = tickwire(&a, &[]);
        assert_eq!(code, 0, "{args:?}: {err}");
    }
    for args in [
        &["metrics"][..],
        &["armed"],
        &["order", "list"],
        &["risk", "show"],
        &["whitelist", "list"],
        &["session", "list"],
        &["session", "show", "md"],
        &["log", "tail", "trd", "--lines", "3"],
        &["probe", "trd", "--count", "5"],
    ] {
        let mut a = args.to_vec();
        a.extend(["--socket", s]);
        let (code, _, err) = tickwire(&a, &[]);
        assert_eq!(code, 0, "{args:?}: {err}");
    }
    let got = seen.lock().unwrap().clone();
    let find = |c: &str| {
        got.iter()
            .find(|(n, _)| n == c)
            .map(|(_, a)| a.clone())
            .unwrap_or_else(|| panic!("{c} not sent"))
    };
    assert_eq!(find("session.logout")["text"], "bye");
    assert_eq!(find("whitelist.remove")["address"], "10.9.0.2");
    assert_eq!(
        find("risk.set"),
        json!({"limit": "max_order_qty", "value": "0.5"})
    );
    assert_eq!(find("arm")["when"], "ask-at-or-below");
    assert_eq!(find("disarm")["id"], 4);
    assert_eq!(find("session.set-seq")["sender"], 40);
    assert_eq!(find("session.set-seq")["target"], Value::Null);
    assert_eq!(find("log.tail")["lines"], 3);
    assert_eq!(find("probe")["count"], 5);

    // A token file others can read is refused before anything is sent.
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, _, err) = tickwire(&["kill", "--socket", s, "--token-file", tf], &[]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("mode 0644"), "{err}");
    stop.store(true, Ordering::Relaxed);
    t.join().unwrap();
    // No daemon: exit 3 with the reason.
    let (code, _, err) = tickwire(&["status", "--socket", s], &[]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("cannot reach the daemon"), "{err}");
    // Bad arguments never reach a socket.
    let (code, _, err) = tickwire(&["whitelist", "add", "not-an-ip", "--socket", s], &[]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn completions_and_man_page_are_generated() {
    for shell in ["bash", "zsh", "fish"] {
        let (code, out, err) = tickwire(&["completions", shell], &[]);
        assert_eq!(code, 0, "{err}");
        assert!(
            out.contains("whitelist") && out.contains("mass-cancel"),
            "{shell}"
        );
    }
    let (code, out, _) = tickwire(&["man"], &[]);
    assert_eq!(code, 0);
    assert!(
        out.contains(".TH tickwire 1"),
        "{}",
        &out[..200.min(out.len())]
    );
    let (code, _, err) = tickwire(&["completions", "tcsh"], &[]);
    assert_eq!(code, 2, "{err}");
}
