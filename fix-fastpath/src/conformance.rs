//! Runner for QuickFIX-style acceptance scripts (`*.def`), transport-agnostic.
//!
//! Layer: test tooling. It reads a script, renders the messages it sends
//! (BodyLength, CheckSum and `<TIME±N>` filled in) and checks what the acceptor under test sends
//! back against the script's expectations, using the per-tag patterns of `fields.fmt`. The
//! acceptor is reached through [`Peer`], so the same script runs against an in-memory session, a
//! TCP listener or a TLS listener.
//!
//! Script lines (one action each; see `shared/fix-conformance/README.md`):
//! ```text
//! iCONNECT / i2,CONNECT        open connection 1 / 2
//! iDISCONNECT                  close it
//! eCONNECT / eDISCONNECT       expect the acceptor to accept / to close
//! I<fields>                    send (9= and 10= added when absent, <TIME±N> substituted)
//! E<fields>                    expect the next message to match field by field
//! ```
//!
//! This module allocates freely: it is a test harness, never on a hot path.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use regex::bytes::Regex;

use crate::time::{UtcTimestamp, NANOS_PER_SEC};

const SOH: u8 = 0x01;

/// One action of a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Open connection `conn`.
    Connect { conn: u8 },
    /// Close connection `conn`.
    Disconnect { conn: u8 },
    /// Expect the acceptor to accept connection `conn` (our connect already waits for that).
    ExpectConnect { conn: u8 },
    /// Expect the acceptor to close connection `conn`.
    ExpectDisconnect { conn: u8 },
    /// Send a message as written (it may be deliberately garbled); `<TIME>` placeholders,
    /// BodyLength and CheckSum are filled in at send time.
    Send { conn: u8, raw: Vec<u8> },
    /// Expect the next message on `conn` to match.
    Expect {
        conn: u8,
        fields: Vec<(i64, Vec<u8>)>,
    },
}

/// A step with the script line it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// 1-based line number in the script.
    pub number: usize,
    /// What to do.
    pub step: Step,
}

/// A script that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "script line {}: {}", self.line, self.reason)
    }
}

impl std::error::Error for ScriptError {}

fn split_conn(rest: &[u8]) -> (u8, &[u8]) {
    match rest {
        [d @ b'1'..=b'9', b',', tail @ ..] => (d - b'0', tail),
        _ => (1, rest),
    }
}

fn parse_fields(body: &[u8], line: usize) -> Result<Vec<(i64, Vec<u8>)>, ScriptError> {
    let mut fields = Vec::new();
    for part in body.split(|&b| b == SOH).filter(|p| !p.is_empty()) {
        let eq = part
            .iter()
            .position(|&b| b == b'=')
            .ok_or_else(|| ScriptError {
                line,
                reason: format!("field without '=': {:?}", String::from_utf8_lossy(part)),
            })?;
        let tag = std::str::from_utf8(&part[..eq])
            .ok()
            .and_then(|t| t.parse::<i64>().ok())
            .ok_or_else(|| ScriptError {
                line,
                reason: format!("bad tag in {:?}", String::from_utf8_lossy(part)),
            })?;
        fields.push((tag, part[eq + 1..].to_vec()));
    }
    Ok(fields)
}

/// Reads a script.
///
/// # Errors
/// [`ScriptError`] naming the first line that is not a known action.
pub fn parse_script(text: &[u8]) -> Result<Vec<Line>, ScriptError> {
    let mut out = Vec::new();
    for (i, raw) in text.split(|&b| b == b'\n').enumerate() {
        let number = i + 1;
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        let trimmed = line.trim_ascii();
        if trimmed.is_empty() || trimmed[0] == b'#' {
            continue;
        }
        let (kind, rest) = (trimmed[0], &trimmed[1..]);
        let (conn, rest) = split_conn(rest);
        let step = match (kind, rest) {
            (b'i', b"CONNECT") => Step::Connect { conn },
            (b'i', b"DISCONNECT") => Step::Disconnect { conn },
            (b'e', b"CONNECT") => Step::ExpectConnect { conn },
            (b'e', b"DISCONNECT") => Step::ExpectDisconnect { conn },
            (b'I', body) => Step::Send {
                conn,
                raw: body.to_vec(),
            },
            (b'E', body) => Step::Expect {
                conn,
                fields: parse_fields(body, number)?,
            },
            _ => {
                return Err(ScriptError {
                    line: number,
                    reason: format!("unknown action {:?}", String::from_utf8_lossy(trimmed)),
                })
            }
        };
        out.push(Line { number, step });
    }
    Ok(out)
}

/// Per-tag value patterns (`fields.fmt`): expected values of these tags are not compared; the
/// actual value must start with a match of the pattern instead.
#[derive(Debug, Clone, Default)]
pub struct FieldFormats {
    patterns: HashMap<u32, Regex>,
}

impl FieldFormats {
    /// Reads `fields.fmt` (`<tag>=<regex>` per line).
    ///
    /// # Errors
    /// [`ScriptError`] for a malformed line or an invalid pattern.
    pub fn parse(text: &str) -> Result<FieldFormats, ScriptError> {
        let mut patterns = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let err = |reason: String| ScriptError {
                line: i + 1,
                reason,
            };
            let (tag, pattern) = line
                .split_once('=')
                .ok_or_else(|| err("expected <tag>=<regex>".into()))?;
            let tag: u32 = tag.parse().map_err(|_| err(format!("bad tag {tag:?}")))?;
            // Anchored at the start only: QuickFIX's runner accepts a value that begins with a
            // match (a millisecond timestamp matches the seconds pattern of 122).
            let re = Regex::new(&format!("^(?:{pattern})"))
                .map_err(|e| err(format!("bad pattern: {e}")))?;
            patterns.insert(tag, re);
        }
        Ok(FieldFormats { patterns })
    }

    fn pattern(&self, tag: i64) -> Option<&Regex> {
        u32::try_from(tag).ok().and_then(|t| self.patterns.get(&t))
    }
}

/// Writes `<TIME>`, `<TIME+N>`, `<TIME-N>` as `YYYYMMDD-HH:MM:SS` (QuickFIX's script form).
fn substitute_time(value: &[u8], now: UtcTimestamp) -> Vec<u8> {
    let Some(start) = value.windows(5).position(|w| w == b"<TIME") else {
        return value.to_vec();
    };
    let Some(end) = value[start..]
        .iter()
        .position(|&b| b == b'>')
        .map(|e| start + e)
    else {
        return value.to_vec();
    };
    let shift: i64 = std::str::from_utf8(&value[start + 5..end])
        .ok()
        .and_then(|s| {
            if s.is_empty() {
                Some(0)
            } else {
                s.trim_start_matches('+').parse().ok()
            }
        })
        .unwrap_or(0);
    let t = UtcTimestamp::from_nanos(now.nanos + shift * NANOS_PER_SEC);
    let mut ms = [0u8; crate::time::MILLIS_LEN];
    t.write_millis(&mut ms);
    let mut out = value[..start].to_vec();
    out.extend_from_slice(&ms[..17]);
    out.extend_from_slice(&value[end + 1..]);
    out
}

/// Renders a script message: substitutes `<TIME±N>`, inserts BodyLength after the first field
/// when the script has none, and appends a correct CheckSum when it has none. Fields are not
/// interpreted otherwise, so garbled test messages stay garbled.
pub fn render(raw: &[u8], now: UtcTimestamp) -> Vec<u8> {
    let mut text = raw.to_vec();
    while text.windows(5).any(|w| w == b"<TIME") {
        text = substitute_time(&text, now);
    }
    let parts: Vec<&[u8]> = text
        .split(|&b| b == SOH)
        .filter(|p| !p.is_empty())
        .collect();
    let has_len = parts.iter().any(|p| p.starts_with(b"9="));
    let has_sum = parts.iter().any(|p| p.starts_with(b"10="));
    let mut msg = Vec::with_capacity(text.len() + 16);
    let mut body = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        let target = if i == 0 { &mut msg } else { &mut body };
        target.extend_from_slice(p);
        target.push(SOH);
    }
    if !has_len {
        msg.extend_from_slice(format!("9={}\x01", body.len()).as_bytes());
    }
    msg.extend_from_slice(&body);
    if !has_sum {
        let sum = msg.iter().fold(0u32, |s, &b| s + u32::from(b)) % 256;
        msg.extend_from_slice(format!("10={sum:03}\x01").as_bytes());
    }
    msg
}

/// Why a received message does not match the script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch(pub String);

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn show(fields: &[(i64, Vec<u8>)]) -> String {
    fields
        .iter()
        .map(|(t, v)| format!("{t}={}", String::from_utf8_lossy(v)))
        .collect::<Vec<_>>()
        .join("|")
}

/// Compares a received message with an expectation: same tags in the same order, same values,
/// except tags with a pattern in `formats` (their value must match the pattern). A trailing
/// `10=` missing from the expectation is not required.
///
/// # Errors
/// [`Mismatch`] describing the first difference.
pub fn check(
    expected: &[(i64, Vec<u8>)],
    actual: &[u8],
    formats: &FieldFormats,
) -> Result<(), Mismatch> {
    let actual_fields = parse_fields(actual, 0).map_err(|e| Mismatch(e.reason))?;
    let mut want: Vec<&(i64, Vec<u8>)> = expected.iter().collect();
    let mut got: Vec<&(i64, Vec<u8>)> = actual_fields.iter().collect();
    if want.last().map(|f| f.0) != Some(10) && got.last().map(|f| f.0) == Some(10) {
        got.pop();
    }
    if !want.iter().any(|f| f.0 == 9) {
        got.retain(|f| f.0 != 9);
    }
    let context = || {
        format!(
            "expected {}\n     got {}",
            show(expected),
            show(&actual_fields)
        )
    };
    if want.len() != got.len() {
        return Err(Mismatch(format!(
            "field count differs\nexpected {}",
            context()
        )));
    }
    for (w, g) in want.drain(..).zip(got) {
        if w.0 != g.0 {
            return Err(Mismatch(format!(
                "tag {} where {} expected\n{}",
                g.0,
                w.0,
                context()
            )));
        }
        let ok = match formats.pattern(w.0) {
            Some(re) => re.is_match(&g.1) || w.1 == g.1,
            None => {
                let w_value = if w.1.starts_with(b"<TIME") {
                    None
                } else {
                    Some(&w.1)
                };
                match w_value {
                    Some(v) => *v == g.1,
                    None => g.1.len() >= 17,
                }
            }
        };
        if !ok {
            return Err(Mismatch(format!(
                "tag {}: {:?} does not match {:?}\n{}",
                w.0,
                String::from_utf8_lossy(&g.1),
                String::from_utf8_lossy(&w.1),
                context()
            )));
        }
    }
    Ok(())
}

/// What a peer saw when asked for the next message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// One complete FIX message.
    Message(Vec<u8>),
    /// The acceptor closed the connection.
    Disconnected,
    /// Nothing arrived within the wait.
    Timeout,
}

/// The acceptor under test, as the runner sees it.
pub trait Peer {
    /// The current time (wall clock for real transports, virtual for in-memory ones).
    fn now(&mut self) -> UtcTimestamp;
    /// Opens connection `conn`.
    ///
    /// # Errors
    /// A description of why the connection could not be opened.
    fn connect(&mut self, conn: u8) -> Result<(), String>;
    /// Closes connection `conn` from our side.
    fn disconnect(&mut self, conn: u8);
    /// Sends raw bytes on `conn`.
    ///
    /// # Errors
    /// A description of why the bytes could not be sent.
    fn send(&mut self, conn: u8, bytes: &[u8]) -> Result<(), String>;
    /// Waits up to `wait` for the next message or a disconnect on `conn`. In-memory peers
    /// advance their virtual clock instead of sleeping.
    fn recv(&mut self, conn: u8, wait: Duration) -> Received;
}

/// A failed script run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Script line that failed.
    pub line: usize,
    /// What went wrong.
    pub reason: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// Runs a parsed script against `peer`. `wait` bounds each expectation (heartbeat scripts need
/// a few heartbeat intervals).
///
/// # Errors
/// The first [`Failure`].
pub fn run(
    script: &[Line],
    peer: &mut dyn Peer,
    formats: &FieldFormats,
    wait: Duration,
) -> Result<(), Failure> {
    for line in script {
        let fail = |reason: String| Failure {
            line: line.number,
            reason,
        };
        match &line.step {
            Step::Connect { conn } => peer.connect(*conn).map_err(fail)?,
            Step::Disconnect { conn } => peer.disconnect(*conn),
            Step::ExpectConnect { .. } => {}
            Step::Send { conn, raw } => {
                let now = peer.now();
                peer.send(*conn, &render(raw, now)).map_err(fail)?;
            }
            Step::Expect { conn, fields } => match peer.recv(*conn, wait) {
                Received::Message(m) => check(fields, &m, formats).map_err(|e| fail(e.0))?,
                Received::Disconnected => {
                    return Err(fail(format!("disconnected; expected {}", show(fields))))
                }
                Received::Timeout => {
                    return Err(fail(format!("timeout; expected {}", show(fields))))
                }
            },
            Step::ExpectDisconnect { conn } => match peer.recv(*conn, wait) {
                Received::Disconnected => {}
                Received::Message(m) => {
                    return Err(fail(format!(
                        "expected disconnect, got {}",
                        String::from_utf8_lossy(&m).replace('\x01', "|")
                    )))
                }
                Received::Timeout => return Err(fail("expected disconnect, timed out".into())),
            },
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn soh(s: &str) -> Vec<u8> {
        s.replace('|', "\x01").into_bytes()
    }

    #[test]
    fn parses_actions_and_connections() {
        let script =
            soh("# c\n\niCONNECT\nI8=FIX.4.4|35=A|34=1|\ne2,DISCONNECT\nE1,8=FIX.4.4|10=0|\n");
        let lines = parse_script(&script).expect("valid");
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[0].step, Step::Connect { conn: 1 });
        assert_eq!(lines[2].step, Step::ExpectDisconnect { conn: 2 });
        assert!(matches!(lines[3].step, Step::Expect { conn: 1, .. }));
        assert_eq!(lines[3].number, 6);
    }

    #[test]
    fn rejects_unknown_actions() {
        let err = parse_script(b"xFOO\n").expect_err("unknown");
        assert_eq!(err.line, 1);
    }

    #[test]
    fn renders_length_checksum_and_time() {
        let now = UtcTimestamp::parse(b"20260407-14:32:01").expect("valid");
        let msg = render(&soh("8=FIX.4.4|35=0|52=<TIME-1>|"), now);
        assert_eq!(msg, soh("8=FIX.4.4|9=26|35=0|52=20260407-14:32:00|10=219|"));
        let sum = msg[..msg.len() - 7]
            .iter()
            .fold(0u32, |s, &b| s + u32::from(b))
            % 256;
        assert_eq!(sum, 219);
    }

    #[test]
    fn checks_with_patterns() {
        let formats = FieldFormats::parse("10=\\d{3}\n52=\\d{8}-\\d{2}:\\d{2}:\\d{2}[.]\\d{3}\n")
            .expect("valid");
        let want =
            parse_fields(&soh("8=FIX.4.4|9=5|52=00000000-00:00:00.000|10=0|"), 1).expect("valid");
        assert!(check(
            &want,
            &soh("8=FIX.4.4|9=5|52=20260407-14:32:00.123|10=201|"),
            &formats
        )
        .is_ok());
        assert!(check(
            &want,
            &soh("8=FIX.4.4|9=6|52=20260407-14:32:00.123|10=201|"),
            &formats
        )
        .is_err());
        assert!(check(&want, &soh("8=FIX.4.4|9=5|52=2026|10=201|"), &formats).is_err());
    }
}
