//! The admin socket: a local Unix socket speaking JSON lines, how operators and the `tickwire`
//! CLI talk to a running daemon.
//!
//! ```text
//! tickwire CLI ──{"id":1,"token":"…","command":"kill","args":{}}\n──► Server::poll (control thread)
//!              ◄─{"id":1,"ok":true,"data":{…}}\n───────────────────── Handler::handle
//!                                                                    │ mutating: engine command over
//!                                                                    │ a wait-free SPSC queue
//!                                                                    └ reads: shared counters
//! ```
//!
//! The server runs on the control thread, never on the engine's core: it is polled
//! (non-blocking accept and reads, bounded clients and line length) so one slow or hostile
//! client cannot stall the others. The socket file is created with mode 0600. Commands that
//! change anything ([`Catalog::mutating`]) must carry the daemon's token; reads need none.
//! A malformed line gets an error response and the connection stays usable.

use std::io::{ErrorKind, Read as _, Write as _};
use std::os::unix::fs::{FileTypeExt as _, PermissionsExt as _};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::Secret;

/// Longest request line accepted; a longer one closes the connection.
pub const MAX_LINE: usize = 64 * 1024;
/// Most clients connected at once; more are answered with an error and closed.
pub const MAX_CLIENTS: usize = 16;

/// One request line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// Echoed in the response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    /// The daemon's token (mutating commands).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// A command name from [`Catalog`] (`status`, `session.logout`, `kill`, …).
    pub command: String,
    /// Command arguments.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub args: Value,
}

/// Why a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not JSON, or not a request.
    BadRequest,
    /// No such command.
    UnknownCommand,
    /// A mutating command without the right token.
    Unauthorized,
    /// Arguments the command cannot use (unknown session, bad value).
    InvalidArgument,
    /// The engine refused or could not take it now (queue full, session down).
    Refused,
    /// Too many clients.
    Busy,
}

/// The error part of a response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The class.
    pub code: ErrorCode,
    /// What is wrong, for a person.
    pub message: String,
}

/// One response line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// The request's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    /// Whether the command was carried out.
    pub ok: bool,
    /// On failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorBody>,
    /// On success.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub data: Value,
}

impl Response {
    fn ok(id: Option<u64>, data: Value) -> Response {
        Response {
            id,
            ok: true,
            error: None,
            data,
        }
    }

    fn err(id: Option<u64>, code: ErrorCode, message: impl Into<String>) -> Response {
        Response {
            id,
            ok: false,
            error: Some(ErrorBody {
                code,
                message: message.into(),
            }),
            data: Value::Null,
        }
    }
}

/// The commands the socket knows: name, whether it changes anything, what it does.
#[derive(Debug, Clone, Copy)]
pub struct Catalog;

/// Every command: (name, mutating, summary).
pub const COMMANDS: &[(&str, bool, &str)] = &[
    ("status", false, "engine, sessions and counters at a glance"),
    (
        "session.list",
        false,
        "every session with state and sequence numbers",
    ),
    ("session.show", false, "one session in detail (args: name)"),
    ("session.logon", true, "log a session on (args: name)"),
    (
        "session.logout",
        true,
        "log a session out (args: name, text?)",
    ),
    (
        "session.reset-seq",
        true,
        "SequenceReset-Reset both ways to 1 (args: name)",
    ),
    (
        "session.set-seq",
        true,
        "set the next sender/target MsgSeqNum (args: name, sender?, target?)",
    ),
    (
        "whitelist.list",
        false,
        "venue addresses allowed through the dataplane filter",
    ),
    ("whitelist.add", true, "allow an address (args: address)"),
    (
        "whitelist.remove",
        true,
        "stop allowing an address (args: address)",
    ),
    ("risk.show", false, "limits and current usage"),
    ("risk.set", true, "change a limit (args: limit, value)"),
    ("order.list", false, "open orders"),
    ("order.cancel", true, "cancel one order (args: cl_ord_id)"),
    (
        "order.mass-cancel",
        true,
        "cancel every order (35=q, 530=7) (args: session?)",
    ),
    ("armed", false, "the armed-order table"),
    (
        "arm",
        true,
        "arm an order (args: symbol, when, level, side, price, qty, rearm_after_ms?, session)",
    ),
    ("disarm", true, "disarm an armed order (args: id)"),
    (
        "kill",
        true,
        "kill switch: block new orders, mass-cancel, optionally log out",
    ),
    ("unkill", true, "re-arm after a kill (manual by design)"),
    ("metrics", false, "counters and latency quantiles"),
    (
        "log.tail",
        false,
        "the last messages of a session, decoded (args: name, lines?)",
    ),
    (
        "probe",
        false,
        "FIX TestRequest → Heartbeat round trips on a live session (args: name, count?)",
    ),
];

impl Catalog {
    /// Whether `command` exists and changes state (needs the token).
    pub fn mutating(command: &str) -> Option<bool> {
        COMMANDS
            .iter()
            .find(|(n, _, _)| *n == command)
            .map(|&(_, m, _)| m)
    }
}

/// What the daemon does with a request that passed parsing and the token check.
pub trait Handler {
    /// Carries out `command` with `args`.
    ///
    /// # Errors
    /// The code and message the client receives.
    fn handle(&mut self, command: &str, args: &Value) -> Result<Value, (ErrorCode, String)>;
}

/// Equal-time comparison, so the token cannot be guessed byte by byte from response times.
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[derive(Debug)]
struct Client {
    stream: UnixStream,
    inbuf: Vec<u8>,
    outbuf: Vec<u8>,
    closing: bool,
}

/// The listening socket and its clients.
#[derive(Debug)]
pub struct Server {
    path: PathBuf,
    listener: UnixListener,
    token: Secret,
    clients: Vec<Client>,
}

/// Why the socket could not be opened.
#[derive(Debug)]
pub enum BindError {
    /// Something that is not a socket sits at the path.
    NotASocket(PathBuf),
    /// Another daemon answers on it.
    InUse(PathBuf),
    /// The OS refused (directory, permissions).
    Io(PathBuf, std::io::Error),
}

impl std::fmt::Display for BindError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotASocket(p) => write!(f, "{} exists and is not a socket", p.display()),
            Self::InUse(p) => write!(f, "{} is in use by a running daemon", p.display()),
            Self::Io(p, e) => write!(f, "{}: {e}", p.display()),
        }
    }
}

impl std::error::Error for BindError {}

impl Server {
    /// Binds `path` with mode 0600 (creating its directory with 0700 if missing). A stale
    /// socket left by a crashed daemon is replaced; a live one is refused.
    ///
    /// # Errors
    /// [`BindError`].
    pub fn bind(path: &Path, token: Secret) -> Result<Server, BindError> {
        let io = |e| BindError::Io(path.to_owned(), e);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.exists() {
                std::fs::create_dir_all(dir).map_err(io)?;
                std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                    .map_err(io)?;
            }
        }
        match std::fs::symlink_metadata(path) {
            Ok(m) if !m.file_type().is_socket() => {
                return Err(BindError::NotASocket(path.to_owned()))
            }
            Ok(_) => {
                if UnixStream::connect(path).is_ok() {
                    return Err(BindError::InUse(path.to_owned()));
                }
                std::fs::remove_file(path).map_err(io)?;
            }
            Err(_) => {}
        }
        // Bound under a temporary name, made 0600, then renamed into place: the socket never
        // exists at `path` with looser permissions, whatever the umask.
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        let listener = UnixListener::bind(&tmp).map_err(io)?;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)?;
        listener.set_nonblocking(true).map_err(io)?;
        Ok(Server {
            path: path.to_owned(),
            listener,
            token,
            clients: Vec::with_capacity(MAX_CLIENTS),
        })
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Clients connected now.
    pub fn clients(&self) -> usize {
        self.clients.len()
    }

    /// Accepts, reads, answers and writes whatever is ready, once; never blocks. Returns the
    /// number of requests answered.
    pub fn poll(&mut self, handler: &mut dyn Handler) -> usize {
        self.accept();
        let mut answered = 0;
        let mut buf = [0u8; 4096];
        for c in &mut self.clients {
            loop {
                match c.stream.read(&mut buf) {
                    Ok(0) => {
                        c.closing = true;
                        break;
                    }
                    Ok(n) => c.inbuf.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(_) => {
                        c.closing = true;
                        break;
                    }
                }
                if c.inbuf.len() > MAX_LINE {
                    break;
                }
            }
            while let Some(end) = c.inbuf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = c.inbuf.drain(..=end).collect();
                let response = answer(&self.token, &line[..end], handler);
                answered += 1;
                if let Ok(mut text) = serde_json::to_vec(&response) {
                    text.push(b'\n');
                    c.outbuf.extend_from_slice(&text);
                }
            }
            if c.inbuf.len() > MAX_LINE {
                let r = Response::err(None, ErrorCode::BadRequest, "request line too long");
                if let Ok(mut text) = serde_json::to_vec(&r) {
                    text.push(b'\n');
                    c.outbuf.extend_from_slice(&text);
                }
                c.inbuf.clear();
                c.closing = true;
            }
            flush(c);
        }
        // A closing client stays until its last response is written.
        self.clients.retain(|c| !(c.closing && c.outbuf.is_empty()));
        answered
    }

    fn accept(&mut self) {
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    if stream.set_nonblocking(true).is_err() {
                        continue;
                    }
                    let mut c = Client {
                        stream,
                        inbuf: Vec::new(),
                        outbuf: Vec::new(),
                        closing: false,
                    };
                    if self.clients.len() >= MAX_CLIENTS {
                        let r = Response::err(None, ErrorCode::Busy, "too many admin clients");
                        if let Ok(mut text) = serde_json::to_vec(&r) {
                            text.push(b'\n');
                            c.outbuf = text;
                        }
                        c.closing = true;
                        flush(&mut c);
                        continue;
                    }
                    self.clients.push(c);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn flush(c: &mut Client) {
    while !c.outbuf.is_empty() {
        match c.stream.write(&c.outbuf) {
            Ok(0) => {
                c.closing = true;
                c.outbuf.clear();
            }
            Ok(n) => {
                c.outbuf.drain(..n);
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => {
                c.closing = true;
                c.outbuf.clear();
            }
        }
    }
}

fn answer(token: &Secret, line: &[u8], handler: &mut dyn Handler) -> Response {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let req: Request = match serde_json::from_slice(line) {
        Ok(r) => r,
        Err(e) => return Response::err(None, ErrorCode::BadRequest, format!("not a request: {e}")),
    };
    let Some(mutating) = Catalog::mutating(&req.command) else {
        return Response::err(
            req.id,
            ErrorCode::UnknownCommand,
            format!("unknown command {:?}", req.command),
        );
    };
    if mutating {
        let given = req.token.as_deref().unwrap_or("").as_bytes();
        if !same(given, token.expose().as_bytes()) {
            return Response::err(
                req.id,
                ErrorCode::Unauthorized,
                format!("{} changes state and needs the admin token", req.command),
            );
        }
    }
    match handler.handle(&req.command, &req.args) {
        Ok(data) => Response::ok(req.id, data),
        Err((code, message)) => Response::err(req.id, code, message),
    }
}

/// Why the CLI could not get an answer.
#[derive(Debug)]
pub enum ClientError {
    /// Nothing listens on the socket.
    Connect(PathBuf, std::io::Error),
    /// The connection broke or timed out.
    Io(std::io::Error),
    /// The daemon sent something that is not a response.
    Garbled(String),
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Connect(p, e) => write!(
                f,
                "cannot reach the daemon at {}: {e} (is `tickwire run` running? --socket names another path)",
                p.display()
            ),
            Self::Io(e) => write!(f, "admin socket: {e}"),
            Self::Garbled(s) => write!(f, "admin socket: unexpected answer: {s}"),
        }
    }
}

impl std::error::Error for ClientError {}

/// Sends one request and waits (bounded by `timeout`) for its response.
///
/// # Errors
/// [`ClientError`].
pub fn call(path: &Path, request: &Request, timeout: Duration) -> Result<Response, ClientError> {
    let mut s = UnixStream::connect(path).map_err(|e| ClientError::Connect(path.to_owned(), e))?;
    s.set_read_timeout(Some(timeout)).map_err(ClientError::Io)?;
    s.set_write_timeout(Some(timeout))
        .map_err(ClientError::Io)?;
    let mut line = serde_json::to_vec(request).map_err(|e| ClientError::Garbled(e.to_string()))?;
    line.push(b'\n');
    s.write_all(&line).map_err(ClientError::Io)?;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.contains(&b'\n') {
        let n = s.read(&mut buf).map_err(ClientError::Io)?;
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
        if got.len() > 16 * MAX_LINE {
            return Err(ClientError::Garbled("response too long".into()));
        }
    }
    let end = got.iter().position(|&b| b == b'\n').unwrap_or(got.len());
    serde_json::from_slice(&got[..end])
        .map_err(|e| ClientError::Garbled(format!("{e}: {}", String::from_utf8_lossy(&got[..end]))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole() {
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
        assert!(!same(b"abc", b"ab"));
        assert!(!same(b"", b"a"));
    }

    #[test]
    fn every_command_is_listed_once() {
        for (i, (n, _, _)) in COMMANDS.iter().enumerate() {
            assert!(
                COMMANDS[i + 1..].iter().all(|(m, _, _)| m != n),
                "{n} twice"
            );
        }
        assert_eq!(Catalog::mutating("kill"), Some(true));
        assert_eq!(Catalog::mutating("status"), Some(false));
        assert_eq!(Catalog::mutating("rm -rf"), None);
    }
}
