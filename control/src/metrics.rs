//! Prometheus `/metrics`: the engine's shared counters in the text exposition format, served
//! by a small polled HTTP responder on the control thread (never the engine's core).
//!
//! Names follow Prometheus' conventions: `tickwire_` prefix, base units (`_seconds`,
//! `_bytes`), `_total` on counters, one label `session` for per-session series. Latency
//! quantiles come from an HDR histogram the caller passes in, as a summary.

use std::fmt::Write as _;
use std::io::{ErrorKind, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use tickwire_dataplane::counters::{read, Counters};

/// A latency summary to export: name (without prefix), help, and quantiles in nanoseconds.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Metric name after `tickwire_`, ending in `_seconds`.
    pub name: &'static str,
    /// Help text.
    pub help: &'static str,
    /// (quantile, nanoseconds).
    pub quantiles: Vec<(f64, u64)>,
    /// Observations.
    pub count: u64,
    /// The session the summary belongs to (a `session` label), if any.
    pub session: Option<String>,
}

/// Reads one field of a session's counters.
type Field = fn(&tickwire_dataplane::counters::Session) -> &std::sync::atomic::AtomicU64;

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP tickwire_{name} {help}");
    let _ = writeln!(out, "# TYPE tickwire_{name} {kind}");
}

/// Escapes a label value (backslash, quote, newline).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Renders the counter block; `sessions` names the sessions in engine order.
pub fn render(c: &Counters, sessions: &[&str], summaries: &[Summary]) -> String {
    let mut out = String::with_capacity(8192);
    let engine = [
        (
            "engine_cycles_total",
            "Duty cycles the engine ran.",
            &c.cycles,
        ),
        (
            "engine_busy_cycles_total",
            "Duty cycles that did work.",
            &c.busy_cycles,
        ),
        (
            "engine_commands_total",
            "Control commands the engine applied.",
            &c.commands,
        ),
    ];
    for (name, help, v) in engine {
        family(&mut out, name, "counter", help);
        let _ = writeln!(out, "tickwire_{name} {}", read(v));
    }
    let p = &c.port;
    let port = [
        (
            "port_rx_frames_total",
            "Frames the NIC delivered.",
            &p.rx_frames,
        ),
        (
            "port_rx_bytes_total",
            "Bytes of frames the NIC delivered.",
            &p.rx_bytes,
        ),
        (
            "port_tx_frames_total",
            "Frames handed to the NIC.",
            &p.tx_frames,
        ),
        (
            "port_tx_bytes_total",
            "Bytes of frames handed to the NIC.",
            &p.tx_bytes,
        ),
        (
            "port_tx_ring_full_total",
            "Frames refused by a full TX ring.",
            &p.tx_ring_full,
        ),
        (
            "port_stack_rx_frames_total",
            "Frames that passed the allowlist.",
            &p.stack_rx_frames,
        ),
    ];
    for (name, help, v) in port {
        family(&mut out, name, "counter", help);
        let _ = writeln!(out, "tickwire_{name} {}", read(v));
    }
    family(
        &mut out,
        "port_dropped_frames_total",
        "counter",
        "Frames dropped before the stack, by reason.",
    );
    for (reason, v) in [
        ("not_allowed", &p.drop_not_allowed),
        ("unsupported", &p.drop_unsupported),
        ("malformed", &p.drop_malformed),
    ] {
        let _ = writeln!(
            out,
            "tickwire_port_dropped_frames_total{{reason=\"{reason}\"}} {}",
            read(v)
        );
    }
    let n = sessions.len().min(c.session.len());
    let per: [(&str, &str, &str, Field); 20] = [
        ("session_phase", "gauge", "Session phase (1 stopped, 2 backoff, 3 connecting, 4 handshaking, 5 logging on, 6 active, 7 closing).", |s| &s.phase),
        ("session_connects_total", "counter", "TCP connections opened.", |s| &s.connects),
        ("session_reconnects_total", "counter", "Connections opened after the first.", |s| &s.reconnects),
        ("session_disconnects_total", "counter", "Connections that ended.", |s| &s.disconnects),
        ("session_logons_total", "counter", "FIX logons completed.", |s| &s.logons),
        ("session_tls_records_in_total", "counter", "TLS records received.", |s| &s.tls_records_in),
        ("session_tls_records_out_total", "counter", "TLS records sent.", |s| &s.tls_records_out),
        ("session_tls_in_bytes_total", "counter", "Ciphertext bytes received.", |s| &s.tls_bytes_in),
        ("session_tls_out_bytes_total", "counter", "Ciphertext bytes sent.", |s| &s.tls_bytes_out),
        ("session_fix_messages_in_total", "counter", "FIX messages accepted in sequence.", |s| &s.fix_in),
        ("session_fix_messages_out_total", "counter", "FIX messages sent.", |s| &s.fix_out),
        ("session_fix_garbled_total", "counter", "Garbled FIX messages dropped.", |s| &s.fix_garbled),
        ("session_rejects_sent_total", "counter", "Session Rejects (35=3) sent.", |s| &s.rejects_sent),
        ("session_rejects_received_total", "counter", "Session Rejects (35=3) received.", |s| &s.rejects_received),
        ("session_business_rejects_total", "counter", "BusinessMessageRejects (35=j) received.", |s| &s.business_rejects),
        ("session_order_rejects_total", "counter", "ExecutionReports with ExecType=Rejected.", |s| &s.order_rejects),
        ("session_execution_reports_total", "counter", "ExecutionReports received.", |s| &s.execution_reports),
        ("session_book_updates_total", "counter", "Market-data messages applied to the book.", |s| &s.book_updates),
        ("session_orders_sent_total", "counter", "Orders sent through a precompiled template.", |s| &s.orders_sent),
        ("session_orders_refused_total", "counter", "Orders refused before sending.", |s| &s.orders_refused),
    ];
    for (name, kind, help, field) in per {
        family(&mut out, name, kind, help);
        for (i, s) in sessions.iter().take(n).enumerate() {
            let _ = writeln!(
                out,
                "tickwire_{name}{{session=\"{}\"}} {}",
                label(s),
                read(field(&c.session[i]))
            );
        }
    }
    let mut declared: Vec<&str> = Vec::new();
    for s in summaries {
        if !declared.contains(&s.name) {
            family(&mut out, s.name, "summary", s.help);
            declared.push(s.name);
        }
        let (sess, sep) = match &s.session {
            Some(n) => (format!("session=\"{}\"", label(n)), ","),
            None => (String::new(), ""),
        };
        for (q, ns) in &s.quantiles {
            let _ = writeln!(
                out,
                "tickwire_{}{{{sess}{sep}quantile=\"{q}\"}} {}",
                s.name,
                *ns as f64 / 1e9
            );
        }
        let braces = if sess.is_empty() {
            String::new()
        } else {
            format!("{{{sess}}}")
        };
        let _ = writeln!(out, "tickwire_{}_count{braces} {}", s.name, s.count);
    }
    out
}

/// Longest request head accepted.
const MAX_REQUEST: usize = 8 * 1024;
/// A client that has not sent its request by then is dropped.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug)]
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    out: Vec<u8>,
    answered: bool,
    eof: bool,
    since: Instant,
}

/// `GET /metrics` over HTTP/1.x, polled: never blocks the control thread.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    conns: Vec<Conn>,
}

impl Server {
    /// Listens on `addr` (the configuration only allows loopback).
    ///
    /// # Errors
    /// The OS error.
    pub fn bind(addr: SocketAddr) -> std::io::Result<Server> {
        let listener = TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        Ok(Server {
            listener,
            conns: Vec::new(),
        })
    }

    /// The bound address.
    ///
    /// # Errors
    /// The OS error.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Accepts, reads and answers what is ready; `body` renders the metrics when asked.
    /// Returns the number of responses queued.
    pub fn poll(&mut self, body: &mut dyn FnMut() -> String) -> usize {
        while let Ok((stream, _)) = self.listener.accept() {
            if stream.set_nonblocking(true).is_ok() && self.conns.len() < 16 {
                self.conns.push(Conn {
                    stream,
                    buf: Vec::new(),
                    out: Vec::new(),
                    answered: false,
                    eof: false,
                    since: Instant::now(),
                });
            }
        }
        let mut answered = 0;
        let mut tmp = [0u8; 2048];
        for c in &mut self.conns {
            if !c.answered {
                loop {
                    match c.stream.read(&mut tmp) {
                        Ok(0) => {
                            // The client gave up before a full request.
                            c.eof = true;
                            break;
                        }
                        Ok(n) => c.buf.extend_from_slice(&tmp[..n]),
                        Err(e) if e.kind() == ErrorKind::Interrupted => {}
                        Err(_) => break,
                    }
                    if c.buf.len() > MAX_REQUEST {
                        break;
                    }
                }
                let head_done = c.buf.windows(4).any(|w| w == b"\r\n\r\n")
                    || c.buf.windows(2).any(|w| w == b"\n\n");
                if head_done || c.buf.len() > MAX_REQUEST {
                    c.out = respond(&c.buf, body);
                    c.answered = true;
                    answered += 1;
                }
            }
            while !c.out.is_empty() {
                match c.stream.write(&c.out) {
                    Ok(0) => c.out.clear(),
                    Ok(n) => {
                        c.out.drain(..n);
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(_) => c.out.clear(),
                }
            }
        }
        // A connection is done once its response is written (Connection: close), or when it
        // stalls before sending a request. Unread input is drained first so that closing does
        // not reset the connection under the response.
        self.conns.retain_mut(|c| {
            let done = c.answered && c.out.is_empty();
            if done {
                let _ = c.stream.shutdown(std::net::Shutdown::Write);
                while matches!(c.stream.read(&mut tmp), Ok(n) if n > 0) {}
            }
            !done && (c.answered || (!c.eof && c.since.elapsed() < CLIENT_TIMEOUT))
        });
        answered
    }
}

fn respond(head: &[u8], body: &mut dyn FnMut() -> String) -> Vec<u8> {
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split_whitespace();
    let (method, path, version) = (parts.next(), parts.next(), parts.next());
    let (status, ctype, text) = match (method, path, version) {
        (Some("GET"), Some(p), Some(v)) if v.starts_with("HTTP/1.") => {
            if p == "/metrics" || p.starts_with("/metrics?") {
                ("200 OK", "text/plain; version=0.0.4; charset=utf-8", body())
            } else {
                (
                    "404 Not Found",
                    "text/plain",
                    "only /metrics here\n".to_owned(),
                )
            }
        }
        (Some(_), Some(_), Some(v)) if v.starts_with("HTTP/1.") => (
            "405 Method Not Allowed",
            "text/plain",
            "GET only\n".to_owned(),
        ),
        _ => (
            "400 Bad Request",
            "text/plain",
            "not an HTTP/1 request\n".to_owned(),
        ),
    };
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        text.len()
    )
    .into_bytes();
    out.extend_from_slice(text.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn renders_families_with_session_labels_and_seconds() {
        let c = Counters::default();
        c.session[1]
            .orders_sent
            .store(7, std::sync::atomic::Ordering::Relaxed);
        c.port
            .drop_not_allowed
            .store(3, std::sync::atomic::Ordering::Relaxed);
        let text = render(
            &c,
            &["md", "trd\"x"],
            &[Summary {
                name: "tick_to_trade_seconds",
                help: "Tick in to order out.",
                quantiles: vec![(0.5, 1500), (0.99, 4000)],
                count: 9,
                session: None,
            }],
        );
        assert!(
            text.contains("tickwire_session_orders_sent_total{session=\"trd\\\"x\"} 7\n"),
            "{text}"
        );
        assert!(text.contains("tickwire_session_orders_sent_total{session=\"md\"} 0\n"));
        assert!(text.contains("tickwire_port_dropped_frames_total{reason=\"not_allowed\"} 3\n"));
        assert!(
            text.contains("tickwire_tick_to_trade_seconds{quantile=\"0.5\"} 0.0000015\n"),
            "{text}"
        );
        assert!(text.contains("# TYPE tickwire_session_phase gauge\n"));
        // Every sample line belongs to a declared family.
        for l in text.lines().filter(|l| !l.starts_with('#')) {
            let name = l.split(['{', ' ']).next().unwrap();
            let base = name.trim_end_matches("_count");
            assert!(
                text.contains(&format!("# TYPE {base} ")),
                "{name} undeclared"
            );
        }
    }

    #[test]
    fn serves_get_metrics_and_refuses_the_rest() {
        let mut srv = Server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = srv.local_addr().unwrap();
        let ask = |srv: &mut Server, req: &[u8]| {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(req).unwrap();
            s.set_read_timeout(Some(Duration::from_millis(10))).unwrap();
            let mut got = Vec::new();
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                srv.poll(&mut || "tickwire_engine_cycles_total 1\n".to_owned());
                let mut b = [0u8; 4096];
                match s.read(&mut b) {
                    Ok(0) => break,
                    Ok(n) => got.extend_from_slice(&b[..n]),
                    Err(_) => {}
                }
                assert!(Instant::now() < deadline, "no answer");
            }
            String::from_utf8(got).unwrap()
        };
        let r = ask(&mut srv, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
        assert!(r.contains("version=0.0.4"));
        assert!(r.ends_with("tickwire_engine_cycles_total 1\n"));
        assert!(ask(&mut srv, b"GET / HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404"));
        assert!(ask(&mut srv, b"POST /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 405"));
        assert!(ask(&mut srv, b"\x00\xffgarbage\r\n\r\n").starts_with("HTTP/1.1 400"));
        let big = vec![b'A'; MAX_REQUEST + 10];
        assert!(ask(&mut srv, &big).starts_with("HTTP/1.1 400"));
    }
}
