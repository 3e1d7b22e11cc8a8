//! Per-session message and event logs in QuickFIX's file naming and line format, written by
//! a thread of their own from the engine's wait-free ring ([`tickwire_dataplane::msglog`]).
//!
//! ```text
//! engine ─► msglog::Tap ══ring══► Writer::drain (log thread) ─► FIX.4.4-SENDER-TARGET.messages.current.log
//!                                                            └► FIX.4.4-SENDER-TARGET.event.current.log
//! ```
//!
//! A line is `YYYYMMDD-HH:MM:SS.sss : <message>` with the message as sent or received (SOH
//! bytes kept), as QuickFIX's `FileLog` writes it, so existing log tooling reads it. Files
//! are appended to, flushed at least every [`FLUSH_EVERY`] and on [`Writer::finish`].

use std::fs::{File, OpenOptions};
use std::io::{BufRead as _, BufReader, BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tickwire_dataplane::msglog::{Direction, Drain, Record};
use tickwire_fix::time::UtcTimestamp;

/// Longest time a written line may sit in a buffer.
pub const FLUSH_EVERY: Duration = Duration::from_millis(200);

/// The two file names QuickFIX uses for a session.
pub fn file_names(begin: &str, sender: &str, target: &str) -> (String, String) {
    let stem = format!("{begin}-{sender}-{target}");
    (
        format!("{stem}.messages.current.log"),
        format!("{stem}.event.current.log"),
    )
}

/// One line: `YYYYMMDD-HH:MM:SS.sss : text`.
pub fn line(nanos: i64, text: &[u8], out: &mut Vec<u8>) {
    let mut ts = [0u8; 21];
    UtcTimestamp::from_nanos(nanos).write_millis(&mut ts);
    out.extend_from_slice(&ts);
    out.extend_from_slice(b" : ");
    out.extend_from_slice(text);
    out.push(b'\n');
}

#[derive(Debug)]
struct SessionFiles {
    messages: BufWriter<File>,
    events: BufWriter<File>,
}

/// Drains the ring into each session's files.
#[derive(Debug)]
pub struct Writer {
    drain: Drain,
    sessions: Vec<Option<SessionFiles>>,
    record: Record,
    line: Vec<u8>,
    last_flush: Instant,
    /// Lines written.
    pub written: u64,
    /// Write errors seen (the log never stops the engine).
    pub errors: u64,
}

/// Where session `i` logs: directory, BeginString, SenderCompID, TargetCompID.
#[derive(Debug, Clone)]
pub struct Target {
    /// Directory (created if missing).
    pub dir: PathBuf,
    /// BeginString (`FIX.4.4`).
    pub begin: String,
    /// SenderCompID.
    pub sender: String,
    /// TargetCompID.
    pub target: String,
}

impl Writer {
    /// Opens (appending) the files of every session; `None` entries are not logged.
    ///
    /// # Errors
    /// The directory or a file cannot be created.
    pub fn open(drain: Drain, targets: &[Option<Target>]) -> std::io::Result<Writer> {
        let mut sessions = Vec::with_capacity(targets.len());
        for t in targets {
            sessions.push(match t {
                None => None,
                Some(t) => {
                    std::fs::create_dir_all(&t.dir)?;
                    let (m, e) = file_names(&t.begin, &t.sender, &t.target);
                    let open = |name: &str| -> std::io::Result<BufWriter<File>> {
                        Ok(BufWriter::new(
                            OpenOptions::new()
                                .create(true)
                                .append(true)
                                .open(t.dir.join(name))?,
                        ))
                    };
                    Some(SessionFiles {
                        messages: open(&m)?,
                        events: open(&e)?,
                    })
                }
            });
        }
        Ok(Writer {
            drain,
            sessions,
            record: Record::default(),
            line: Vec::with_capacity(4096),
            last_flush: Instant::now(),
            written: 0,
            errors: 0,
        })
    }

    /// Writes every record waiting in the ring; returns how many.
    pub fn drain(&mut self) -> usize {
        self.drain_with(&mut |_| {})
    }

    /// Like [`Writer::drain`], showing each record (unredacted) to `observe` first.
    pub fn drain_with(&mut self, observe: &mut dyn FnMut(&Record)) -> usize {
        let mut n = 0;
        while self.drain.next(&mut self.record) {
            n += 1;
            observe(&self.record);
            let Some(Some(files)) = self.sessions.get_mut(usize::from(self.record.session)) else {
                continue;
            };
            self.line.clear();
            redact(&mut self.record.bytes);
            line(self.record.nanos, &self.record.bytes, &mut self.line);
            let file = match self.record.direction() {
                Some(Direction::Event) => &mut files.events,
                _ => &mut files.messages,
            };
            match file.write_all(&self.line) {
                Ok(()) => self.written += 1,
                Err(_) => self.errors += 1,
            }
        }
        if self.last_flush.elapsed() >= FLUSH_EVERY {
            self.flush();
        }
        n
    }

    fn flush(&mut self) {
        for f in self.sessions.iter_mut().flatten() {
            if f.messages.flush().is_err() || f.events.flush().is_err() {
                self.errors += 1;
            }
        }
        self.last_flush = Instant::now();
    }

    /// Drains what is left and flushes every file.
    pub fn finish(&mut self) {
        self.drain();
        self.flush();
    }
}

/// Tags whose values never reach a log file: Password (554, Kraken's logon signature) and
/// RawData (96).
pub const REDACTED: [&[u8]; 2] = [b"554=", b"96="];

/// Overwrites the values of [`REDACTED`] fields with `*` (same length, so BodyLength and the
/// layout stay as they were; the CheckSum of a logged Logon then no longer matches, which is
/// the point: the line records that a signature was sent, not the signature).
pub fn redact(msg: &mut [u8]) {
    let mut start = 0;
    while start < msg.len() {
        let end = msg[start..]
            .iter()
            .position(|&b| b == 1)
            .map_or(msg.len(), |p| start + p);
        let field = &msg[start..end];
        if let Some(prefix) = REDACTED.iter().find(|p| field.starts_with(p)) {
            for b in &mut msg[start + prefix.len()..end] {
                *b = b'*';
            }
        }
        start = end + 1;
    }
}

/// The last `n` lines of a QuickFIX-format log file.
///
/// # Errors
/// The file cannot be read.
pub fn tail(path: &Path, n: usize) -> std::io::Result<Vec<String>> {
    let mut last = std::collections::VecDeque::with_capacity(n + 1);
    for l in BufReader::new(File::open(path)?).split(b'\n') {
        last.push_back(String::from_utf8_lossy(&l?).into_owned());
        if last.len() > n {
            last.pop_front();
        }
    }
    Ok(last.into())
}

/// A log line decoded for people: the time, then `Name(tag)=value` per field, with SOH
/// shown as ` | `. Tags without a name in the dictionary are shown by number.
pub fn decode(line: &str) -> String {
    let (time, msg) = line.split_once(" : ").unwrap_or(("", line));
    let fields: Vec<String> = msg
        .split('\x01')
        .filter(|f| !f.is_empty())
        .map(|f| match f.split_once('=') {
            Some((tag, value)) => {
                match tag.parse::<u32>().ok().and_then(tickwire_fix::tags::name) {
                    Some(name) => format!("{}({tag})={value}", fix_name(name)),
                    None => format!("{tag}={value}"),
                }
            }
            None => f.to_owned(),
        })
        .collect();
    if time.is_empty() {
        fields.join(" | ")
    } else {
        format!("{time}  {}", fields.join(" | "))
    }
}

/// `CL_ORD_ID` → `ClOrdID`: the dictionary's constant name in FIX's own spelling.
fn fix_name(constant: &str) -> String {
    constant
        .split('_')
        .map(|w| match w {
            "ID" => "ID".to_owned(),
            w => {
                let mut c = w.chars();
                c.next().map_or_else(String::new, |f| {
                    f.to_ascii_uppercase().to_string() + &c.as_str().to_ascii_lowercase()
                })
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use tickwire_dataplane::msglog;

    #[test]
    fn lines_land_in_quickfix_named_files() {
        let dir = tempfile::tempdir().unwrap();
        let (mut tap, drain) = msglog::ring(1 << 20);
        let t = Target {
            dir: dir.path().join("log"),
            begin: "FIX.4.4".into(),
            sender: "CLIENT1".into(),
            target: "KRAKEN-TRD".into(),
        };
        let mut w = Writer::open(drain, &[None, Some(t)]).unwrap();
        // 2026-04-07 14:32:07.250 UTC
        let ns = 1_775_572_327_250_000_000;
        let msg = b"8=FIX.4.4\x019=5\x0135=0\x0110=000\x01";
        assert!(tap.record(1, Direction::Out, ns, msg));
        assert!(tap.record(1, Direction::Event, ns, b"Logon contents valid"));
        assert!(tap.record(0, Direction::In, ns, b"not logged"));
        assert_eq!(w.drain(), 3);
        w.finish();
        let m = std::fs::read(
            dir.path()
                .join("log/FIX.4.4-CLIENT1-KRAKEN-TRD.messages.current.log"),
        )
        .unwrap();
        assert_eq!(m, [&b"20260407-14:32:07.250 : "[..], msg, b"\n"].concat());
        let e = std::fs::read_to_string(
            dir.path()
                .join("log/FIX.4.4-CLIENT1-KRAKEN-TRD.event.current.log"),
        )
        .unwrap();
        assert_eq!(e, "20260407-14:32:07.250 : Logon contents valid\n");
        assert_eq!(w.written, 2);
        let lines = tail(
            &dir.path()
                .join("log/FIX.4.4-CLIENT1-KRAKEN-TRD.messages.current.log"),
            5,
        )
        .unwrap();
        assert_eq!(lines.len(), 1);
        let d = decode(&lines[0]);
        assert_eq!(d, "20260407-14:32:07.250  BeginString(8)=FIX.4.4 | BodyLength(9)=5 | MsgType(35)=0 | CheckSum(10)=000");
    }

    #[test]
    fn passwords_are_redacted_in_place() {
        let mut m = b"8=FIX.4.4\x019=20\x0135=A\x01553=KEY\x01554=c2VjcmV0\x0110=1\x01".to_vec();
        let len = m.len();
        redact(&mut m);
        assert_eq!(m.len(), len);
        assert!(
            m.windows(13).any(|w| w == b"554=********\x01"),
            "{}",
            String::from_utf8_lossy(&m)
        );
        assert!(m.windows(8).any(|w| w == b"553=KEY\x01"));
        let mut tail = b"96=abc".to_vec();
        redact(&mut tail);
        assert_eq!(tail, b"96=***");
    }

    #[test]
    fn decode_survives_garbage() {
        assert_eq!(decode(""), "");
        assert_eq!(decode("x : \x01\x01=\x01abc"), "x  = | abc");
        assert_eq!(decode("99999=1"), "99999=1");
        assert_eq!(fix_name("CL_ORD_ID"), "ClOrdID");
        assert_eq!(fix_name("MSG_SEQ_NUM"), "MsgSeqNum");
    }
}
