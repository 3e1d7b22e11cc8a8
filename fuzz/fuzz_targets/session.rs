//! A logged-on acceptor session fed arbitrary bytes in arbitrary chunks, with timers firing in
//! between: it must never panic, hang or grow.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tickwire_fix::session::{Capacities, Config, MemoryJournal, Session};
use tickwire_fix::time::UtcTimestamp;

const LOGON: &[u8] = b"8=FIX.4.4\x019=63\x0135=A\x0134=1\x0149=TW44\x0152=20260407-14:32:01.000\x0156=ISLD\x0198=0\x01108=30\x0110=000\x01";

fuzz_target!(|data: &[u8]| {
    let Ok(cfg) = Config::quickfix_acceptor("ISLD", "TW44") else { return };
    let caps = Capacities { transmit: 64 * 1024, receive: 8 * 1024, queue_bytes: 16 * 1024, queue_messages: 64 };
    let mut s = Session::new(cfg, MemoryJournal::new(64, 512), caps);
    s.set_validator(tickwire_fix::dict::validate_fix44);
    let mut now = UtcTimestamp::parse(b"20260407-14:32:01.000").unwrap_or_default();
    s.handle_connected(now);
    // A logon with a correct checksum, so the fuzzer reaches the logged-on state.
    let mut logon = LOGON.to_vec();
    let trailer = logon.len() - 7;
    let sum = logon[..trailer].iter().map(|&b| u32::from(b)).sum::<u32>() % 256;
    logon.truncate(trailer);
    logon.extend_from_slice(format!("10={sum:03}\x01").as_bytes());
    s.handle_input(now, &logon, &mut |_| {});
    let mut rest = data;
    while let Some((&n, tail)) = rest.split_first() {
        let take = usize::from(n % 64).min(tail.len());
        s.handle_input(now, &tail[..take], &mut |m| {
            let _ = m.msg_type();
        });
        rest = &tail[take..];
        now = UtcTimestamp::from_nanos(now.nanos + i64::from(n) * 50_000_000);
        s.handle_timeout(now);
        let pending = s.pending_transmit().len();
        s.consume_transmit(pending);
        while s.poll_event().is_some() {}
    }
});
