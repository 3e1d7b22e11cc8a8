//! Where the time of one inbound market-data message goes inside the session layer, with a
//! plain loop (quick look; the criterion bench `fastpath` is the measurement of record): a
//! 4-entry MarketDataIncrementalRefresh through `Session::handle_input`, next to its parts.
//! Run: `cargo run --release -p tickwire-fix --example session_md`.
#![allow(clippy::unwrap_used, clippy::print_stdout)]
use std::hint::black_box;
use std::time::Instant;

#[path = "../benches/common/mod.rs"]
mod common;

use tickwire_fix::book::Book;
use tickwire_fix::message::{frame, FieldIndex, FrameLimits, Message};
use tickwire_fix::session::{Capacities, MemoryJournal, Session};
use tickwire_fix::time::UtcTimestamp;
use tickwire_fix::views::MarketData;

/// Messages per pass: few enough (~1.5 MB) to stay in cache, as a message just decrypted is.
const N: usize = 4096;
/// Passes; each part's figure is the best pass (least disturbed by other work on the host).
const PASSES: usize = 50;

fn main() {
    let (client_cfg, venue_cfg) = common::md_session_configs();
    let caps = Capacities::default();
    let mut client = Session::new(client_cfg.clone(), MemoryJournal::new(4096, 512), caps);
    let mut venue = Session::new(venue_cfg, MemoryJournal::new(4096, 512), caps);
    let now = UtcTimestamp::parse(b"20260407-14:32:01.000").unwrap();
    client.handle_connected(now);
    venue.handle_connected(now);
    client.send_logon(now, |_, _| {}).unwrap();
    let out = client.pending_transmit().to_vec();
    venue.handle_input(now, &out, &mut |_| {});
    client.consume_transmit(out.len());
    let logon_answer = venue.pending_transmit().to_vec();
    venue.consume_transmit(logon_answer.len());
    // A client session just logged on, as often as a pass needs one.
    let fresh_client = || {
        let mut c = Session::new(client_cfg.clone(), MemoryJournal::new(4096, 512), caps);
        c.handle_connected(now);
        c.send_logon(now, |_, _| {}).unwrap();
        let n = c.pending_transmit().len();
        c.consume_transmit(n);
        c.handle_input(now, &logon_answer, &mut |_| {});
        assert_eq!(c.state(), tickwire_fix::session::State::Active);
        c
    };
    drop(client);
    // N incrementals, each moving the prices a little.
    let mut wire = Vec::new();
    for i in 0..N as i64 {
        let p = 840_000 + (i % 5);
        venue
            .send_app(now, b"X", |e| {
                e.field(55, b"BTC/USD").field(262, b"MD-1").uint(268, 4);
                for (side, px) in [(b"1", p + 3), (b"0", p), (b"1", p + 5), (b"0", p - 1)] {
                    let mut id = [0u8; 16];
                    id[0] = if side == b"1" { b'O' } else { b'B' };
                    let price = format!("{}.{}", px / 10, px % 10);
                    id[1..1 + price.len()].copy_from_slice(price.as_bytes());
                    e.uint(279, 0)
                        .field(269, side)
                        .field(278, &id[..1 + price.len()])
                        .field(270, price.as_bytes())
                        .field(271, b"0.25")
                        .field(273, b"14:32:03.104");
                }
            })
            .unwrap();
        let out = venue.pending_transmit();
        wire.extend_from_slice(out);
        let n = out.len();
        venue.consume_transmit(n);
    }
    let mut bounds = Vec::with_capacity(N);
    let mut pos = 0;
    while let Ok(Some(n)) = frame(&wire[pos..], FrameLimits::default()) {
        bounds.push((pos, n));
        pos += n;
    }
    assert_eq!(bounds.len(), N);
    println!("message: {} bytes", bounds[0].1);
    let best = |mut pass: Box<dyn FnMut() -> f64 + '_>| {
        (0..PASSES).map(|_| pass()).fold(f64::INFINITY, f64::min)
    };
    let per = |t: Instant| t.elapsed().as_nanos() as f64 / N as f64;
    let frame_ns = best(Box::new(|| {
        let t = Instant::now();
        for &(p, n) in &bounds {
            black_box(frame(black_box(&wire[p..p + n]), FrameLimits::default()).unwrap());
        }
        per(t)
    }));
    let parse_ns = best(Box::new(|| {
        let mut idx = FieldIndex::<512>::new();
        let t = Instant::now();
        for &(p, n) in &bounds {
            let m = Message::parse(black_box(&wire[p..p + n]), &mut idx).unwrap();
            black_box(m.fields().len());
        }
        per(t)
    }));
    let apply_ns = best(Box::new(|| {
        let mut idx = FieldIndex::<512>::new();
        let mut book = Book::new(10, 1, 8);
        let t = Instant::now();
        for (i, &(p, n)) in bounds.iter().enumerate() {
            let m = Message::parse(black_box(&wire[p..p + n]), &mut idx).unwrap();
            let v = MarketData::new_checked(&m).unwrap();
            book.apply_message(&v, i as u64 + 2).unwrap();
        }
        per(t)
    }));
    let session_ns = best(Box::new(|| {
        let mut client = fresh_client();
        let mut book = Book::new(10, 1, 8);
        let mut applied = 0usize;
        let t = Instant::now();
        for &(p, n) in &bounds {
            client.handle_input(now, &wire[p..p + n], &mut |m: &Message<'_>| {
                let seq = m.uint(34).unwrap_or(0);
                if let Ok(v) = MarketData::new_checked(m) {
                    if book.apply_message(&v, seq).is_ok() {
                        applied += 1;
                    }
                }
            });
        }
        let ns = per(t);
        assert_eq!(applied, N, "{:?}", client.state());
        ns
    }));
    println!("best of {PASSES} passes over {N} messages, ns per message:");
    println!("frame                                  {frame_ns:>7.1}");
    println!("parse                                  {parse_ns:>7.1}");
    println!("parse + view + apply                   {apply_ns:>7.1}");
    println!("session.handle_input + view + apply    {session_ns:>7.1}");
    println!(
        "session's own work (handle_input - frame - parse - view - apply) {:>7.1}",
        session_ns - frame_ns - apply_ns
    );
}
