//! QuickFIX's FIX 4.4 acceptance scripts against the session layer in acceptor mode, in memory,
//! on a virtual clock (heartbeat scripts run in microseconds).
//!
//! The acceptor is configured as the scripts expect (`ISLD`, reset on logon, dictionary
//! validation) and its application echoes NewOrderSingle and SecurityDefinition, ignoring a
//! PossResend order whose ClOrdID it has already seen.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use tickwire_fix::conformance::{parse_script, run, FieldFormats, Peer, Received};
use tickwire_fix::message::{frame, FrameLimits, Message};
use tickwire_fix::session::{Capacities, Config, Event, MemoryJournal, Session, State};
use tickwire_fix::time::UtcTimestamp;

fn conformance_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fix-conformance")
}

/// Known failures: script name → reason. Reported in the summary; goal: empty.
const KNOWN_FAILURES: &[(&str, &str)] = &[];

struct Conn {
    session: Session<MemoryJournal>,
    out: Vec<Vec<u8>>,
    closed: bool,
    seen_ids: HashSet<Vec<u8>>,
}

struct MemPeer {
    now: UtcTimestamp,
    conns: [Option<Conn>; 3],
}

impl MemPeer {
    fn new() -> MemPeer {
        let now = UtcTimestamp::from_nanos(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as i64,
        );
        MemPeer {
            now,
            conns: [None, None, None],
        }
    }

    fn new_session() -> Session<MemoryJournal> {
        let cfg = Config::quickfix_acceptor("ISLD", "TW44").unwrap();
        let mut s = Session::new(cfg, MemoryJournal::new(256, 1024), Capacities::default());
        s.set_validator(tickwire_fix::dict::validate_fix44);
        s
    }

    /// Moves what the session produced into the connection's inbox; applies the echo app.
    fn pump(&mut self, conn: usize) {
        let Some(c) = self.conns[conn].as_mut() else {
            return;
        };
        let pending = c.session.pending_transmit();
        let mut used = 0;
        while let Ok(Some(n)) = frame(&pending[used..], FrameLimits::default()) {
            c.out.push(pending[used..used + n].to_vec());
            used += n;
        }
        c.session.consume_transmit(used);
        while let Some(ev) = c.session.poll_event() {
            if let Event::Disconnect(_) = ev {
                c.closed = true;
            }
        }
        if c.session.state() == State::Disconnected {
            c.closed = true;
        }
    }
}

impl Peer for MemPeer {
    fn now(&mut self) -> UtcTimestamp {
        self.now
    }

    fn connect(&mut self, conn: u8) -> Result<(), String> {
        let mut s = Self::new_session();
        s.handle_connected(self.now);
        self.conns[usize::from(conn)] = Some(Conn {
            session: s,
            out: Vec::new(),
            closed: false,
            seen_ids: HashSet::new(),
        });
        Ok(())
    }

    fn disconnect(&mut self, conn: u8) {
        if let Some(c) = self.conns[usize::from(conn)].as_mut() {
            c.session.handle_disconnected();
            c.closed = true;
        }
    }

    fn send(&mut self, conn: u8, bytes: &[u8]) -> Result<(), String> {
        let idx = usize::from(conn);
        let now = self.now;
        // Duplicate identity: a second connection logging on while another is active.
        let other_active = self.conns.iter().enumerate().any(|(i, c)| {
            i != idx
                && c.as_ref()
                    .is_some_and(|c| !c.closed && c.session.state() == State::Active)
        });
        let c = self.conns[idx].as_mut().ok_or("not connected")?;
        if c.closed {
            return Ok(());
        }
        if other_active && c.session.state() == State::AwaitingLogon {
            c.session.handle_disconnected();
            c.closed = true;
            return Ok(());
        }
        let mut echoes: Vec<Vec<u8>> = Vec::new();
        let mut unsupported: Vec<(u64, Vec<u8>)> = Vec::new();
        c.session.handle_input(now, bytes, &mut |m: &Message<'_>| {
            if matches!(m.msg_type(), b"D" | b"d") {
                echoes.push(m.bytes().to_vec());
            } else {
                unsupported.push((m.uint(34).unwrap_or(0), m.msg_type().to_vec()));
            }
        });
        for (seq, ty) in unsupported {
            c.session
                .send_app(now, b"j", |e| {
                    e.uint(45, seq)
                        .field(58, b"Unsupported Message Type")
                        .field(372, &ty)
                        .uint(380, 3);
                })
                .map_err(|e| e.to_string())?;
        }
        for raw in echoes {
            let mut idx_buf = tickwire_fix::message::FieldIndex::<256>::new();
            let m = Message::parse(&raw, &mut idx_buf).unwrap();
            let poss_resend = m.field(97) == Some(b"Y");
            if let Some(id) = m.field(11) {
                if poss_resend && c.seen_ids.contains(id) {
                    continue;
                }
                c.seen_ids.insert(id.to_vec());
            }
            let ty = m.msg_type().to_vec();
            // QuickFIX keeps fields in tag order: PossResend (a header field) first, then the
            // body sorted by tag.
            let mut body: Vec<_> = m
                .fields()
                .iter()
                .filter(|f| !matches!(f.tag, 8 | 9 | 10 | 35 | 34 | 49 | 52 | 56 | 43 | 122 | 97))
                .copied()
                .collect();
            body.sort_by_key(|f| f.tag);
            c.session
                .send_app(now, &ty, |e| {
                    if poss_resend {
                        e.field(97, b"Y");
                    }
                    for f in &body {
                        e.field(f.tag, m.value(*f));
                    }
                })
                .map_err(|e| e.to_string())?;
        }
        self.pump(idx);
        Ok(())
    }

    fn recv(&mut self, conn: u8, wait: Duration) -> Received {
        let idx = usize::from(conn);
        let deadline = self.now.nanos + wait.as_nanos() as i64;
        loop {
            self.pump(idx);
            let Some(c) = self.conns[idx].as_mut() else {
                return Received::Disconnected;
            };
            if !c.out.is_empty() {
                return Received::Message(c.out.remove(0));
            }
            if c.closed {
                return Received::Disconnected;
            }
            if self.now.nanos >= deadline {
                return Received::Timeout;
            }
            self.now = UtcTimestamp::from_nanos(self.now.nanos + 50_000_000);
            c.session.handle_timeout(self.now);
        }
    }
}

#[test]
fn quickfix_fix44_acceptance_scripts_in_memory() {
    let dir = conformance_dir();
    let formats = FieldFormats::parse(
        &std::fs::read_to_string(dir.join("fields.fmt"))
            .unwrap_or_else(|e| panic!("{}: {e} (the scripts live in ../shared)", dir.display())),
    )
    .unwrap();
    let mut scripts: Vec<_> = std::fs::read_dir(dir.join("quickfix-fix44"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "def"))
        .collect();
    scripts.sort();
    assert!(
        scripts.len() >= 40,
        "expected the 47 QuickFIX scripts, found {}",
        scripts.len()
    );
    let mut failures = Vec::new();
    let mut known = 0;
    for path in &scripts {
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let script = parse_script(&std::fs::read(path).unwrap()).unwrap();
        let mut peer = MemPeer::new();
        let result = run(&script, &mut peer, &formats, Duration::from_secs(60));
        let known_reason = KNOWN_FAILURES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, r)| *r);
        match (result, known_reason) {
            (Ok(()), None) => {}
            (Ok(()), Some(_)) => {
                failures.push(format!("{name}: passes but is listed as known failure"))
            }
            (Err(e), Some(reason)) => {
                known += 1;
                eprintln!("known failure {name}: {reason} ({e})");
            }
            (Err(e), None) => failures.push(format!("{name}: {e}")),
        }
    }
    eprintln!(
        "conformance: {} scripts, {} passed, {} known failures, {} failed",
        scripts.len(),
        scripts.len() - known - failures.len(),
        known,
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} scripts failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
