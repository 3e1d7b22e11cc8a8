//! The admin socket over a real Unix socket: 0600, token on mutating commands only, garbage
//! answered without losing the connection, bounded lines and clients, stale sockets replaced.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead as _, BufReader, Write as _};
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tickwire_control::admin::{self, BindError, ErrorCode, Handler, Request, Server};
use tickwire_control::config::Secret;

const TOKEN: &str = "0f3c9a7e41d2";

/// Records what reached it; answers `status` with a fixed document.
#[derive(Default)]
struct Recorder(Arc<Mutex<Vec<String>>>);

impl Handler for Recorder {
    fn handle(&mut self, command: &str, args: &Value) -> Result<Value, (ErrorCode, String)> {
        self.0.lock().unwrap().push(command.to_owned());
        match command {
            "status" => Ok(json!({"engine": "running"})),
            "session.logout" if args["name"] != "trd" => Err((
                ErrorCode::InvalidArgument,
                format!("no session {}", args["name"]),
            )),
            _ => Ok(json!({"done": command})),
        }
    }
}

struct Running {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

fn serve(path: &Path) -> Running {
    let mut server = Server::bind(path, Secret::new(TOKEN)).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut handler = Recorder(seen.clone());
    let s = stop.clone();
    let thread = std::thread::spawn(move || {
        while !s.load(Ordering::Relaxed) {
            if server.poll(&mut handler) == 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    });
    Running {
        stop,
        thread: Some(thread),
        seen,
    }
}

fn req(command: &str, token: Option<&str>, args: Value) -> Request {
    Request {
        id: Some(7),
        token: token.map(str::to_owned),
        command: command.to_owned(),
        args,
    }
}

const T: Duration = Duration::from_secs(5);

#[test]
fn socket_is_private_and_reads_need_no_token() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run/admin.sock");
    let srv = serve(&path);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let dir_mode = std::fs::metadata(path.parent().unwrap())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(dir_mode, 0o700);
    let r = admin::call(&path, &req("status", None, Value::Null), T).unwrap();
    assert!(r.ok, "{r:?}");
    assert_eq!(r.id, Some(7));
    assert_eq!(r.data["engine"], "running");
    assert_eq!(*srv.seen.lock().unwrap(), ["status"]);
}

#[test]
fn mutating_commands_need_the_exact_token() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("admin.sock");
    let srv = serve(&path);
    for token in [
        None,
        Some(""),
        Some("0f3c9a7e41d"),
        Some("0f3c9a7e41d3"),
        Some("0f3c9a7e41d2 "),
    ] {
        let r = admin::call(&path, &req("kill", token, Value::Null), T).unwrap();
        assert!(!r.ok);
        let e = r.error.unwrap();
        assert_eq!(e.code, ErrorCode::Unauthorized, "{token:?}");
        assert!(e.message.contains("needs the admin token"), "{}", e.message);
        assert!(!e.message.contains(TOKEN));
    }
    assert!(
        srv.seen.lock().unwrap().is_empty(),
        "nothing reached the handler"
    );
    let r = admin::call(&path, &req("kill", Some(TOKEN), Value::Null), T).unwrap();
    assert!(r.ok, "{r:?}");
    let r = admin::call(
        &path,
        &req("session.logout", Some(TOKEN), json!({"name": "md9"})),
        T,
    )
    .unwrap();
    assert_eq!(r.error.unwrap().code, ErrorCode::InvalidArgument);
    assert_eq!(*srv.seen.lock().unwrap(), ["kill", "session.logout"]);
}

#[test]
fn garbage_gets_an_error_and_the_connection_stays_usable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("admin.sock");
    let _srv = serve(&path);
    let mut s = UnixStream::connect(&path).unwrap();
    s.set_read_timeout(Some(T)).unwrap();
    let mut lines = BufReader::new(s.try_clone().unwrap());
    let mut next = || {
        let mut l = String::new();
        lines.read_line(&mut l).unwrap();
        serde_json::from_str::<admin::Response>(&l).unwrap()
    };
    for bad in [
        &b"\x00\xff\xfe garbage\n"[..],
        b"{\"command\": 5}\n",
        b"{\"command\": \"status\", \"surprise\": 1}\n",
        b"[1,2,3]\n",
        b"\n",
    ] {
        s.write_all(bad).unwrap();
        let r = next();
        assert!(!r.ok);
        assert_eq!(r.error.unwrap().code, ErrorCode::BadRequest, "{bad:?}");
    }
    s.write_all(b"{\"id\":1,\"command\":\"rm -rf /\"}\n")
        .unwrap();
    let r = next();
    assert_eq!(r.error.unwrap().code, ErrorCode::UnknownCommand);
    assert_eq!(r.id, Some(1));
    // Two requests in one write, split across writes, CRLF endings.
    s.write_all(b"{\"id\":2,\"command\":\"status\"}\r\n{\"id\":3,\"comm")
        .unwrap();
    std::thread::sleep(Duration::from_millis(20));
    s.write_all(b"and\":\"metrics\"}\n").unwrap();
    assert_eq!(next().id, Some(2));
    let r = next();
    assert_eq!(r.id, Some(3));
    assert!(r.ok);
}

#[test]
fn an_endless_line_is_cut_off_and_others_keep_being_served() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("admin.sock");
    let _srv = serve(&path);
    let mut s = UnixStream::connect(&path).unwrap();
    s.set_read_timeout(Some(T)).unwrap();
    let chunk = vec![b'a'; 8192];
    let mut cut = false;
    for _ in 0..(admin::MAX_LINE / chunk.len() + 64) {
        if s.write_all(&chunk).is_err() {
            cut = true;
            break;
        }
        // Meanwhile another client is answered.
        assert!(
            admin::call(&path, &req("status", None, Value::Null), T)
                .unwrap()
                .ok
        );
    }
    let mut got = String::new();
    let _ = BufReader::new(&s).read_line(&mut got);
    assert!(cut || got.contains("too long"), "{got}");
}

#[test]
fn clients_beyond_the_limit_are_told_busy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("admin.sock");
    let _srv = serve(&path);
    let held: Vec<UnixStream> = (0..admin::MAX_CLIENTS)
        .map(|_| UnixStream::connect(&path).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(50));
    let r = admin::call(&path, &req("status", None, Value::Null), T).unwrap();
    assert_eq!(r.error.unwrap().code, ErrorCode::Busy);
    drop(held);
    std::thread::sleep(Duration::from_millis(50));
    assert!(
        admin::call(&path, &req("status", None, Value::Null), T)
            .unwrap()
            .ok
    );
}

#[test]
fn bind_replaces_a_stale_socket_and_refuses_a_live_one_or_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("admin.sock");
    {
        // A socket file whose daemon is gone.
        let l = std::os::unix::net::UnixListener::bind(&path).unwrap();
        drop(l);
    }
    let srv = serve(&path);
    match Server::bind(&path, Secret::new(TOKEN)) {
        Err(BindError::InUse(p)) => assert_eq!(p, path),
        other => panic!("{other:?}"),
    }
    drop(srv);
    assert!(!path.exists(), "removed when the server stops");
    std::fs::write(&path, b"not a socket").unwrap();
    let e = Server::bind(&path, Secret::new(TOKEN)).unwrap_err();
    assert!(matches!(e, BindError::NotASocket(_)), "{e}");
    assert!(e.to_string().contains("is not a socket"));
    let e = admin::call(
        &dir.path().join("none.sock"),
        &req("status", None, Value::Null),
        T,
    )
    .unwrap_err();
    assert!(e.to_string().contains("is `tickwire run` running?"), "{e}");
}
