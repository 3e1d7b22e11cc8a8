//! Round-trip time of a 200-byte message, in one run:
//! userspace TCP and TLS 1.3 on the in-memory NIC pair (two stacks, one thread), next to the
//! AES-GCM work TLS must do (two seals, two opens), kernel loopback TCP (one thread polling two
//! non-blocking sockets; and two blocking threads), and kernel TCP + plain rustls (polling).
//! HDR percentiles per variant and ratios to tickwire's TLS RTT.
//!
//! Run: `cargo bench -p tickwire-bench --bench rtt` (ROUNDS=… to change the sample count).
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM};
use hdrhistogram::Histogram;
use tickwire_dataplane::allowlist::{self, Allowlist};
use tickwire_dataplane::clock::Clock;
use tickwire_dataplane::mem::{self, MemNic};
use tickwire_dataplane::stack::{ConnId, ConnState, Stack, StackConfig};

const MSG: usize = 200;

fn hist() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 10_000_000_000, 3).unwrap()
}

fn stacks() -> (Stack<MemNic>, Stack<MemNic>, ConnId, ConnId) {
    let (a, b) = mem::pair(256, [2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
    let cfg = |address| StackConfig {
        address,
        connections: 1,
        rx_buffer: 65536,
        tx_buffer: 65536,
        ..StackConfig::default()
    };
    let mut c = Stack::new(
        a,
        allowlist::live(Allowlist::allow_all()).1,
        cfg(Ipv4Addr::new(10, 0, 0, 1)),
        0,
    );
    let mut v = Stack::new(
        b,
        allowlist::live(Allowlist::allow_all()).1,
        cfg(Ipv4Addr::new(10, 0, 0, 2)),
        0,
    );
    let vc = v.listen(4001).unwrap();
    let cc = c
        .connect(SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 4001))
        .unwrap();
    let mut t = 0;
    while c.state(cc) != ConnState::Established || v.state(vc) != ConnState::Established {
        t += 100_000;
        c.poll(t);
        v.poll(t);
    }
    (c, v, cc, vc)
}

fn userspace_tcp(rounds: usize) -> Histogram<u64> {
    let (mut c, mut v, cc, vc) = stacks();
    let clock = engine_clock();
    let msg = [b'x'; MSG];
    let mut h = hist();
    for i in 0..rounds + 1000 {
        let t0 = Instant::now();
        c.send(cc, &msg).unwrap();
        c.poll(clock.mono_ns());
        let mut got = 0;
        while got < MSG {
            v.poll(clock.mono_ns());
            v.recv_with(vc, |b| {
                got += b.len();
                b.len()
            })
            .unwrap();
        }
        v.send(vc, &msg).unwrap();
        v.poll(clock.mono_ns());
        let mut back = 0;
        while back < MSG {
            c.poll(clock.mono_ns());
            c.recv_with(cc, |b| {
                back += b.len();
                b.len()
            })
            .unwrap();
        }
        if i >= 1000 {
            h.record(t0.elapsed().as_nanos() as u64).unwrap();
        }
    }
    h
}

/// The clock the engine's stacks run on: the calibrated TSC (CLOCK_MONOTONIC where the CPU
/// has no invariant TSC), read once per duty cycle.
fn engine_clock() -> Clock {
    Clock::calibrate(Duration::from_millis(20)).0
}

/// One duty cycle of one end, as the engine runs it: one clock read; stack poll (egress what is
/// due, then the rx burst); TCP → TLS; `on_plaintext` may answer in the same cycle, as the
/// engine's strategy does; TLS → TCP; a second poll hands the reply to the NIC with the ACK
/// riding on it.
fn cycle(
    clock: &Clock,
    stack: &mut Stack<MemNic>,
    id: ConnId,
    tls: &mut tickwire_tls::Session,
    on_plaintext: impl FnOnce(&mut tickwire_tls::Session),
) {
    let now = clock.mono_ns();
    stack.poll(now);
    stack.recv_with(id, |b| tls.handle_ciphertext(b)).unwrap();
    tls.poll().unwrap();
    on_plaintext(tls);
    let out = tls.pending_ciphertext();
    if !out.is_empty() {
        let n = stack.send(id, out).unwrap();
        tls.consume_ciphertext(n);
        stack.poll(now);
    }
}

fn userspace_tls(rounds: usize) -> Histogram<u64> {
    let (mut c, mut v, cc, vc) = stacks();
    let pki = tickwire_bench::pki::generate("venue.test").unwrap();
    let mut ct = tickwire_tls::Session::client(
        &pki.client,
        "venue.test",
        tickwire_tls::Capacities::default(),
    )
    .unwrap();
    let mut vt =
        tickwire_tls::Session::server(&pki.server, tickwire_tls::Capacities::default()).unwrap();
    let clock = engine_clock();
    let quiet = |_: &mut tickwire_tls::Session| {};
    while !ct.is_established() || !vt.is_established() {
        cycle(&clock, &mut c, cc, &mut ct, quiet);
        cycle(&clock, &mut v, vc, &mut vt, quiet);
    }
    let msg = [b'x'; MSG];
    let mut h = hist();
    for i in 0..rounds + 1000 {
        let t0 = Instant::now();
        ct.write_plaintext(&msg).unwrap();
        cycle(&clock, &mut c, cc, &mut ct, quiet);
        // The far end answers in the cycle that decrypts the request.
        let mut answered = false;
        while !answered {
            cycle(&clock, &mut v, vc, &mut vt, |vt| {
                if vt.plaintext().len() >= MSG {
                    vt.consume_plaintext(MSG);
                    vt.write_plaintext(&msg).unwrap();
                    answered = true;
                }
            });
        }
        while ct.plaintext().len() < MSG {
            cycle(&clock, &mut c, cc, &mut ct, quiet);
        }
        ct.consume_plaintext(MSG);
        if i >= 1000 {
            h.record(t0.elapsed().as_nanos() as u64).unwrap();
        }
    }
    assert!(ct.is_zero_alloc());
    h
}

fn aes_gcm_four_ops(rounds: usize) -> Histogram<u64> {
    let key = LessSafeKey::new(UnboundKey::new(&AES_128_GCM, &[7u8; 16]).unwrap());
    let mut buf = [b'x'; MSG + 1];
    let mut h = hist();
    let mut seq = 0u64;
    let mut nonce = || {
        seq += 1;
        let mut n = [0u8; 12];
        n[4..].copy_from_slice(&seq.to_be_bytes());
        Nonce::assume_unique_for_key(n)
    };
    for i in 0..rounds + 1000 {
        let t0 = Instant::now();
        for _ in 0..2 {
            let n1 = nonce();
            let mut n2 = [0u8; 12];
            n2.copy_from_slice(n1.as_ref());
            let tag = key
                .seal_in_place_separate_tag(n1, Aad::from([23u8, 3, 3, 0, 217]), &mut buf)
                .unwrap();
            let mut sealed = [0u8; MSG + 1 + 16];
            sealed[..MSG + 1].copy_from_slice(&buf);
            sealed[MSG + 1..].copy_from_slice(tag.as_ref());
            let plain = key
                .open_in_place(
                    Nonce::assume_unique_for_key(n2),
                    Aad::from([23u8, 3, 3, 0, 217]),
                    &mut sealed,
                )
                .unwrap();
            std::hint::black_box(plain.len());
        }
        if i >= 1000 {
            h.record(t0.elapsed().as_nanos() as u64).unwrap();
        }
    }
    h
}

/// Stage costs behind the userspace rows, measured after them (p50 of `rounds` samples, each
/// sample the mean of 16 calls so the timer's own cost stays out): one read of the clock the
/// userspace rounds use (once per cycle, as the engine), and one `Stack::poll` with nothing to
/// send or receive.
fn stages(rounds: usize) -> Vec<(&'static str, u64)> {
    const BATCH: u32 = 16;
    let per_call = |h: &Histogram<u64>| h.value_at_quantile(0.5);
    let engine = engine_clock();
    let now = || engine.mono_ns();
    let mut clock = hist();
    let mut sink = 0i64;
    for _ in 0..rounds {
        let t0 = Instant::now();
        for _ in 0..BATCH {
            sink = sink.wrapping_add(std::hint::black_box(now()));
        }
        clock
            .record((t0.elapsed().as_nanos() as u64 / u64::from(BATCH)).max(1))
            .unwrap();
    }
    std::hint::black_box(sink);
    let (mut c, _v, _cc, _vc) = stacks();
    let mut idle = hist();
    let t = now();
    for _ in 0..rounds {
        let t0 = Instant::now();
        for _ in 0..BATCH {
            std::hint::black_box(c.poll(t));
        }
        idle.record((t0.elapsed().as_nanos() as u64 / u64::from(BATCH)).max(1))
            .unwrap();
    }
    vec![
        ("engine clock read (TSC; once per cycle)", per_call(&clock)),
        ("Stack::poll with nothing to do", per_call(&idle)),
    ]
}

fn kernel_pair() -> (TcpStream, TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (v, _) = l.accept().unwrap();
    c.set_nodelay(true).unwrap();
    v.set_nodelay(true).unwrap();
    (c, v)
}

fn read_exact_polling(s: &mut TcpStream, buf: &mut [u8]) {
    let mut got = 0;
    while got < buf.len() {
        match s.read(&mut buf[got..]) {
            Ok(n) => got += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => panic!("{e}"),
        }
    }
}

fn kernel_tcp_polling(rounds: usize) -> Histogram<u64> {
    let (mut c, mut v) = kernel_pair();
    c.set_nonblocking(true).unwrap();
    v.set_nonblocking(true).unwrap();
    let msg = [b'x'; MSG];
    let mut buf = [0u8; MSG];
    let mut h = hist();
    for i in 0..rounds + 1000 {
        let t0 = Instant::now();
        c.write_all(&msg).unwrap();
        read_exact_polling(&mut v, &mut buf);
        v.write_all(&buf).unwrap();
        read_exact_polling(&mut c, &mut buf);
        if i >= 1000 {
            h.record(t0.elapsed().as_nanos() as u64).unwrap();
        }
    }
    h
}

fn kernel_tcp_blocking(rounds: usize) -> Histogram<u64> {
    let (mut c, mut v) = kernel_pair();
    let total = rounds + 1000;
    let echo = std::thread::spawn(move || {
        let mut buf = [0u8; MSG];
        for _ in 0..total {
            v.read_exact(&mut buf).unwrap();
            v.write_all(&buf).unwrap();
        }
    });
    let msg = [b'x'; MSG];
    let mut buf = [0u8; MSG];
    let mut h = hist();
    for i in 0..total {
        let t0 = Instant::now();
        c.write_all(&msg).unwrap();
        c.read_exact(&mut buf).unwrap();
        if i >= 1000 {
            h.record(t0.elapsed().as_nanos() as u64).unwrap();
        }
    }
    echo.join().unwrap();
    h
}

fn kernel_tls_polling(rounds: usize) -> Histogram<u64> {
    let (mut c, mut v) = kernel_pair();
    c.set_nonblocking(true).unwrap();
    v.set_nonblocking(true).unwrap();
    let mut pki = tickwire_bench::pki::generate("venue.test").unwrap();
    pki.client.rustls_record_layer = true;
    pki.server.rustls_record_layer = true;
    let mut ct = tickwire_tls::Session::client(
        &pki.client,
        "venue.test",
        tickwire_tls::Capacities::default(),
    )
    .unwrap();
    let mut vt =
        tickwire_tls::Session::server(&pki.server, tickwire_tls::Capacities::default()).unwrap();
    let mut buf = vec![0u8; 65536];
    // The same cycle as the userspace rows: read what arrived, decrypt, let the far end answer
    // in that cycle, write what is pending.
    let mut cycle = |s: &mut TcpStream,
                     tls: &mut tickwire_tls::Session,
                     on_plaintext: &mut dyn FnMut(&mut tickwire_tls::Session)| {
        match s.read(&mut buf) {
            Ok(n) => {
                let mut off = 0;
                while off < n {
                    off += tls.handle_ciphertext(&buf[off..n]);
                    tls.poll().unwrap();
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => panic!("{e}"),
        }
        on_plaintext(tls);
        let out = tls.pending_ciphertext();
        if !out.is_empty() {
            s.write_all(out).unwrap();
            let n = out.len();
            tls.consume_ciphertext(n);
        }
    };
    let mut quiet = |_: &mut tickwire_tls::Session| {};
    while !ct.is_established() || !vt.is_established() {
        ct.poll().unwrap();
        vt.poll().unwrap();
        cycle(&mut c, &mut ct, &mut quiet);
        cycle(&mut v, &mut vt, &mut quiet);
    }
    let msg = [b'x'; MSG];
    let mut h = hist();
    for i in 0..rounds + 1000 {
        let t0 = Instant::now();
        ct.write_plaintext(&msg).unwrap();
        cycle(&mut c, &mut ct, &mut quiet);
        let mut answered = false;
        while !answered {
            cycle(&mut v, &mut vt, &mut |vt| {
                if vt.plaintext().len() >= MSG {
                    vt.consume_plaintext(MSG);
                    vt.write_plaintext(&msg).unwrap();
                    answered = true;
                }
            });
        }
        while ct.plaintext().len() < MSG {
            cycle(&mut c, &mut ct, &mut quiet);
        }
        ct.consume_plaintext(MSG);
        if i >= 1000 {
            h.record(t0.elapsed().as_nanos() as u64).unwrap();
        }
    }
    h
}

fn main() {
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(100_000);
    let runs: Vec<(&str, Histogram<u64>)> = vec![
        (
            "AES-128-GCM: 2 seals + 2 opens of 200 B (the TLS floor)",
            aes_gcm_four_ops(rounds),
        ),
        (
            "tickwire userspace TCP (smoltcp, mem NIC pair)",
            userspace_tcp(rounds),
        ),
        ("tickwire userspace TCP + TLS 1.3", userspace_tls(rounds)),
        (
            "kernel loopback TCP, one thread polling",
            kernel_tcp_polling(rounds),
        ),
        (
            "kernel TCP + rustls, one thread polling",
            kernel_tls_polling(rounds),
        ),
        (
            "kernel loopback TCP, two blocking threads",
            kernel_tcp_blocking(rounds / 10),
        ),
    ];
    let ours = runs[2].1.value_at_quantile(0.5) as f64;
    println!(
        "200-byte round trip, {rounds} rounds (blocking: {}), ns",
        rounds / 10
    );
    println!(
        "{:<58} {:>8} {:>8} {:>9} {:>9}  {:>12}",
        "variant", "p50", "p99", "p99.9", "max", "p50 / ours"
    );
    for (name, h) in &runs {
        println!(
            "{:<58} {:>8} {:>8} {:>9} {:>9}  {:>11.2}x",
            name,
            h.value_at_quantile(0.5),
            h.value_at_quantile(0.99),
            h.value_at_quantile(0.999),
            h.max(),
            h.value_at_quantile(0.5) as f64 / ours
        );
    }
    println!("stages (p50 per call, ns)");
    for (name, ns) in stages(rounds / 10) {
        println!("{name:<58} {ns:>8}");
    }
}
