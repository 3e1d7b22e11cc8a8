//! Market-data publishing of the Kraken profile over loopback TLS 1.3, next to a transport
//! baseline measured in the same run.
//!
//! - venue: the Kraken profile's server with its synthetic market running flat out; 10 MD
//!   sessions subscribed to BTC/USD and ETH/USD (depth 10, trades); one client thread reads
//!   all of them. Reported: MD messages/s received by the clients (and published by the
//!   venue), and the venue's tick-sent → order-received latency for one client that answers
//!   every market-data message it reads with a NewOrderSingle at most every 20 ms.
//! - baseline: the same transport without the venue: one thread writes pre-encoded 35=X
//!   messages of the venue's typical size through tickwire-tls server sessions to 10
//!   loopback connections read by the same kind of client thread.
//! - RTT baseline: TestRequest → Heartbeat round trips on the same trading session, measured
//!   by the client, for the latency figure.
//!
//! `cargo bench -p tickwire-venue --bench md_publish [-- SECONDS]`
#![allow(clippy::unwrap_used, clippy::print_stdout)]

#[path = "../tests/kraken_common/mod.rs"]
mod kraken_common;

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use kraken_common::*;
use tickwire_venue::kraken::{MarketConfig, Port};

const SESSIONS: usize = 10;

fn venue_run(secs: f64, rate: u32) -> Option<(f64, f64, Histogram<u64>, Histogram<u64>)> {
    let pki = pki("bench");
    let mut cfg = config(false);
    cfg.clients[0].tier = tickwire_venue::limits::Tier::Pro;
    cfg.market = Some(MarketConfig {
        rate_per_sec: rate,
        burst: 256,
        ..MarketConfig::default()
    });
    cfg.max_connections = 32;
    let server = start(cfg, &pki);
    let mut feeds: Vec<Conn> = (0..SESSIONS)
        .map(|i| {
            let mut c = md(&server, &pki, "TESTCLIENT");
            c.send(
                "V",
                &format!(
                    "262=B{i}|263=1|264=10|267=3|269=0|269=1|269=2|146=2|55=BTC/USD|55=ETH/USD"
                ),
            );
            c
        })
        .collect();
    let mut trader = trading(&server, &pki, "TESTCLIENT", "FIXTESTKEY123", SECRET);
    let mut rtt = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).unwrap();
    for k in 0..200 {
        let t = Instant::now();
        trader.send("1", &format!("112=RTT{k}"));
        trader.expect(Duration::from_secs(5), "heartbeat", |m| {
            m.ty() == "0" && m.get(112).is_some()
        });
        rtt.record(t.elapsed().as_nanos() as u64).unwrap();
    }
    trader.set_nonblocking();

    let warm = Instant::now() + Duration::from_secs(1);
    while Instant::now() < warm {
        for f in &mut feeds {
            f.count(Duration::from_millis(1));
        }
    }
    server.call(|v, _| v.reset_latency()).unwrap();
    let published0 = server.call(|v, _| v.stats().md_messages).unwrap();
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(secs);
    let (mut received, mut last_order) = (0usize, Instant::now());
    let mut cl = now_ms() * 1000;
    while Instant::now() < end {
        for (k, f) in feeds.iter_mut().enumerate() {
            let (n, x) = f.count(Duration::from_millis(1));
            received += n;
            if k == 0 && x && last_order.elapsed() >= Duration::from_millis(20) {
                last_order = Instant::now();
                cl += 1;
                trader.send(
                    "D",
                    &format!(
                        "11={cl}|55=BTC/USD|54=1|40=2|44=1000.0|38=0.001|59=3|60={}",
                        sending_time()
                    ),
                );
            }
        }
        trader.count(Duration::from_millis(0).max(Duration::from_micros(1)));
    }
    let elapsed = start.elapsed().as_secs_f64();
    let (published1, stats, lat) = server
        .call(|v, _| {
            (
                v.stats().md_messages,
                v.stats(),
                v.tick_to_order("TESTCLIENT").cloned(),
            )
        })
        .unwrap();
    server.stop();
    if stats.slow_consumers > 0 {
        println!(
            "  market {rate:>7} req/s: {} of {SESSIONS} subscribers fell behind",
            stats.slow_consumers
        );
        return None;
    }
    println!(
        "  market {rate:>7} req/s: received {:.0} msg/s",
        received as f64 / elapsed
    );
    Some((
        received as f64 / elapsed,
        (published1 - published0) as f64 / elapsed,
        lat.unwrap_or_else(|| Histogram::new(3).unwrap()),
        rtt,
    ))
}

/// The transport alone: pre-encoded 35=X messages through tickwire-tls to 10 loopback peers.
fn baseline_run(secs: f64) -> f64 {
    let pki = pki("bench-base");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let server_cfg = pki.server_config();
    let msg = build(
        "X",
        1,
        "KRAKEN-MD",
        "TESTCLIENT",
        "55=BTC/USD|262=B0|268=2|279=2|269=1|278=O84000.5|270=84000.5|271=0|273=14:32:03.101|279=0|269=1|278=O84000.3|270=84000.3|271=0.25|273=14:32:03.102|5041=1617386200",
    );
    let writer = std::thread::spawn(move || {
        let mut conns: Vec<(TcpStream, tickwire_tls::Session, Vec<u8>)> = Vec::new();
        listener.set_nonblocking(true).unwrap();
        let mut buf = vec![0u8; 65536];
        let batch: Vec<u8> = msg.iter().copied().cycle().take(msg.len() * 16).collect();
        while !flag.load(Ordering::Relaxed) {
            if let Ok((tcp, _)) = listener.accept() {
                tcp.set_nodelay(true).unwrap();
                tcp.set_nonblocking(true).unwrap();
                let tls =
                    tickwire_tls::Session::server(&server_cfg, tickwire_tls::Capacities::default())
                        .unwrap();
                conns.push((tcp, tls, Vec::new()));
            }
            for (tcp, tls, out) in &mut conns {
                if let Ok(n) = tcp.read(&mut buf) {
                    let mut off = 0;
                    while off < n {
                        off += tls.handle_ciphertext(&buf[off..n]);
                        let _ = tls.poll();
                    }
                    let k = tls.plaintext().len();
                    tls.consume_plaintext(k);
                }
                if tls.is_established() && out.len() < (1 << 20) {
                    let _ = tls.write_plaintext(&batch);
                }
                let c = tls.pending_ciphertext();
                out.extend_from_slice(c);
                let k = c.len();
                tls.consume_ciphertext(k);
                match tcp.write(out) {
                    Ok(n) => {
                        out.drain(..n);
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(_) => return,
                }
            }
        }
    });
    let mut peers: Vec<Conn> = (0..SESSIONS)
        .map(|_| Conn::connect(addr, &pki, "TESTCLIENT", Port::SpotMd))
        .collect();
    let warm = Instant::now() + Duration::from_secs(1);
    while Instant::now() < warm {
        for p in &mut peers {
            p.count(Duration::from_millis(1));
        }
    }
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(secs);
    let mut received = 0usize;
    while Instant::now() < end {
        for p in &mut peers {
            received += p.count(Duration::from_millis(1)).0;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    drop(peers);
    let _ = writer.join();
    received as f64 / elapsed
}

fn q(h: &Histogram<u64>, p: f64) -> String {
    format!("{:.1}", h.value_at_quantile(p) as f64 / 1000.0)
}

fn main() {
    let secs: f64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(2.0);
    // Ramp the synthetic market until the subscribers cannot keep up; report the best
    // sustained run.
    println!("md_publish: {SESSIONS} TLS 1.3 MD sessions on loopback, {secs} s per step");
    let mut best = None;
    for rate in [5_000, 10_000, 20_000, 40_000, 80_000, 160_000] {
        match venue_run(secs, rate) {
            Some(r) => best = Some((rate, r)),
            None => break,
        }
    }
    let Some((rate, (received, published, lat, rtt))) = best else {
        println!("  no sustained rate");
        return;
    };
    let base = baseline_run(secs);
    println!("  venue     received {received:>12.0} msg/s   (published {published:.0} msg/s, market {rate} req/s)");
    println!("  baseline  received {base:>12.0} msg/s   (pre-encoded 35=X, TLS only)");
    println!("  ratio venue/baseline {:.3}", received / base);
    println!(
        "tick-sent -> order-received (venue clock), µs: n={} p50={} p99={} p99.9={} max={}",
        lat.len(),
        q(&lat, 0.5),
        q(&lat, 0.99),
        q(&lat, 0.999),
        q(&lat, 1.0)
    );
    println!(
        "TestRequest -> Heartbeat RTT (client clock),  µs: n={} p50={} p99={} p99.9={} max={}",
        rtt.len(),
        q(&rtt, 0.5),
        q(&rtt, 0.99),
        q(&rtt, 0.999),
        q(&rtt, 1.0)
    );
    if !rtt.is_empty() && !lat.is_empty() {
        println!(
            "  ratio p50 tick->order / RTT {:.2}",
            lat.value_at_quantile(0.5) as f64 / rtt.value_at_quantile(0.5) as f64
        );
    }
}
