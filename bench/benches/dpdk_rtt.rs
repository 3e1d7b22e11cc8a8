//! DPDK paths next to the AF_PACKET backend and kernel TCP, in one run: 200-byte echo round
//! trips (userspace TCP, and TCP + TLS 1.3) and tick-to-trade (market-data tick in → order out,
//! through TCP, TLS 1.3, FIX parse, book, armed trigger and the precompiled order, the same
//! work as `tickwire bench`), HDR percentiles and ratios to the AF_PACKET backend.
//!
//! Transports, each a pair of ports with a userspace stack (smoltcp) on each end:
//! - DPDK `virtio_user` ↔ `net_vhost` (vhost-user socket);
//! - DPDK `net_memif` server ↔ client (shared memory);
//! - DPDK `net_af_packet` on the two ends of a veth pair;
//! - tickwire's AF_PACKET backend (TPACKET_V2 rings) on the two ends of another veth pair —
//!   the baseline the DPDK paths are compared with;
//! - kernel loopback TCP (the same TLS and FIX code over sockets): TCP/TLS echo with both
//!   non-blocking sockets polled by one thread, tick-to-trade from `tickwire_bench::kernel`
//!   (`Mode::Polling`).
//!
//! Tick-to-trade runs through `tickwire_bench::inmem::run_pair`, the harness `tickwire bench`
//! runs on these pairs (the tickwire client against the minimal filling venue, the same TSC
//! points): inside the appliance and at the venue, every order checked filled. The DPDK pairs
//! come from `tickwire_bench::dpdk::Ports` (one EAL, `-l 0`, hugepages in one unlinked file per
//! segment list, every vdev; `virtio_user0` is hot-plugged once `net_vhost0` has created its
//! socket; the `net_af_packet` ports are extra vdevs), lent to each measurement in turn, and
//! one thread polls both ends of every pair: two busy-polling threads on this 2-vCPU machine starve each other
//! (DESIGN §7), and each number is a full round trip on one core. The same TLS code (tickwire's
//! record layer after a rustls handshake) runs on every transport, so only the transport
//! differs.
//!
//! Run (root: veth pairs, AF_PACKET, hugepages; DPDK 22.11 from scripts/setup-host):
//!
//! ```text
//! cargo bench -p tickwire-bench --features dpdk --bench dpdk_rtt
//! ROUNDS=100000 TICKS=100000 cargo bench -p tickwire-bench --features dpdk --bench dpdk_rtt
//! ```
//!
//! Needs 64 MiB of 2 MiB hugepages (`echo 64 > /proc/sys/vm/nr_hugepages`, hugetlbfs
//! mounted): vhost-user maps the virtio side's memory, which `--no-huge` cannot share, and
//! memif needs DPDK's multi-process channel, which `--in-memory` turns off.
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)]

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tickwire_bench::dpdk::{self, Options, Ports, Transport};
use tickwire_bench::inmem::{self, Params, VenueKind};
use tickwire_bench::lent::{self, Lent};
use tickwire_bench::pki::TestPki;
use tickwire_dataplane::af_packet::AfPacket;
use tickwire_dataplane::allowlist::{self, Allowlist};
use tickwire_dataplane::nic::Nic;
use tickwire_dataplane::stack::{ConnId, ConnState, Stack, StackConfig};

const MSG: usize = 200;
const WARMUP: usize = 1000;
const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 98, 0, 1);
const VENUE: Ipv4Addr = Ipv4Addr::new(10, 98, 0, 2);
/// Bound on one round or one tick (a hang guard, not a measurement).
const STALL: Duration = Duration::from_secs(5);

fn hist() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).unwrap()
}

fn sh(args: &[&str]) {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A veth pair in our namespace with no addresses (the kernel only forwards frames between the
/// ends), IPv6 and TX checksum offload off; deleted on drop.
struct Veth {
    a: String,
    b: String,
}

impl Veth {
    /// Deletes veth pairs an aborted earlier run left behind (the release profile aborts on
    /// panic, so `Drop` does not run then).
    fn remove_stale(tag: &str) {
        let out = Command::new("ip")
            .args(["-o", "link", "show"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        for line in out.lines() {
            let Some(name) = line.split(": ").nth(1) else {
                continue;
            };
            let name = name.split('@').next().unwrap_or(name);
            if name.starts_with(&format!("twh2{tag}")) && name.ends_with('a') {
                let _ = Command::new("ip").args(["link", "del", name]).output();
            }
        }
    }

    fn create(tag: &str) -> Veth {
        Self::remove_stale(tag);
        let id = std::process::id() % 10_000;
        let v = Veth {
            a: format!("twh2{tag}{id}a"),
            b: format!("twh2{tag}{id}b"),
        };
        sh(&[
            "ip", "link", "add", &v.a, "type", "veth", "peer", "name", &v.b,
        ]);
        for end in [&v.a, &v.b] {
            sh(&[
                "sysctl",
                "-q",
                "-w",
                &format!("net.ipv6.conf.{end}.disable_ipv6=1"),
            ]);
            sh(&["ip", "link", "set", end, "up"]);
            sh(&["ethtool", "-K", end, "tx", "off"]);
        }
        v
    }
}

impl Drop for Veth {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["link", "del", &self.a]).output();
    }
}

/// Two userspace stacks over the two ends of one link, polled by this thread.
struct Rig<N: Nic> {
    c: Stack<N>,
    v: Stack<N>,
    base: Instant,
    next_port: u16,
}

impl<N: Nic> Rig<N> {
    fn new(a: N, b: N) -> Rig<N> {
        let cfg = |address| StackConfig {
            address,
            connections: 4,
            rx_buffer: 256 * 1024,
            tx_buffer: 256 * 1024,
            ..StackConfig::default()
        };
        let allow = || allowlist::live(Allowlist::allow_all()).1;
        let base = Instant::now();
        Rig {
            c: Stack::new(a, allow(), cfg(CLIENT), 0),
            v: Stack::new(b, allow(), cfg(VENUE), 0),
            base,
            next_port: 5000,
        }
    }

    fn now(&self) -> i64 {
        self.base.elapsed().as_nanos() as i64
    }

    fn poll(&mut self) {
        let t = self.now();
        self.c.poll(t);
        self.v.poll(t);
    }

    /// A fresh established TCP connection (client, venue).
    fn connect(&mut self) -> (ConnId, ConnId) {
        self.next_port += 1;
        let vc = self.v.listen(self.next_port).unwrap();
        let cc = self
            .c
            .connect(SocketAddrV4::new(VENUE, self.next_port))
            .unwrap();
        let start = Instant::now();
        while self.c.state(cc) != ConnState::Established
            || self.v.state(vc) != ConnState::Established
        {
            assert!(start.elapsed() < STALL, "TCP connection did not establish");
            self.poll();
        }
        (cc, vc)
    }
}

fn guard(start: Instant, what: &str) {
    assert!(start.elapsed() < STALL, "{what} stalled");
}

fn tcp_echo<N: Nic>(rig: &mut Rig<N>, rounds: usize) -> Histogram<u64> {
    let (cc, vc) = rig.connect();
    let msg = [b'x'; MSG];
    let mut h = hist();
    for i in 0..rounds + WARMUP {
        let t0 = Instant::now();
        assert_eq!(rig.c.send(cc, &msg).unwrap(), MSG);
        let t = rig.now();
        rig.c.poll(t);
        let mut got = 0;
        while got < MSG {
            guard(t0, "echo to the venue");
            let t = rig.now();
            rig.v.poll(t);
            rig.v
                .recv_with(vc, |b| {
                    got += b.len();
                    b.len()
                })
                .unwrap();
        }
        assert_eq!(rig.v.send(vc, &msg).unwrap(), MSG);
        let t = rig.now();
        rig.v.poll(t);
        let mut back = 0;
        while back < MSG {
            guard(t0, "echo back");
            let t = rig.now();
            rig.c.poll(t);
            rig.c
                .recv_with(cc, |b| {
                    back += b.len();
                    b.len()
                })
                .unwrap();
        }
        if i >= WARMUP {
            h.record(t0.elapsed().as_nanos() as u64).unwrap();
        }
    }
    h
}

fn tls_pair(pki: &TestPki) -> (tickwire_tls::Session, tickwire_tls::Session) {
    (
        tickwire_tls::Session::client(
            &pki.client,
            &pki.server_name,
            tickwire_tls::Capacities::default(),
        )
        .unwrap(),
        tickwire_tls::Session::server(&pki.server, tickwire_tls::Capacities::default()).unwrap(),
    )
}

fn tls_step<N: Nic>(stack: &mut Stack<N>, t: i64, id: ConnId, tls: &mut tickwire_tls::Session) {
    stack.poll(t);
    stack.recv_with(id, |b| tls.handle_ciphertext(b)).unwrap();
    tls.poll().unwrap();
    let out = tls.pending_ciphertext();
    if !out.is_empty() {
        let n = stack.send(id, out).unwrap();
        tls.consume_ciphertext(n);
        stack.poll(t);
    }
}

fn tls_echo<N: Nic>(rig: &mut Rig<N>, rounds: usize, pki: &TestPki) -> Histogram<u64> {
    let (cc, vc) = rig.connect();
    let (mut ct, mut vt) = tls_pair(pki);
    let start = Instant::now();
    while !ct.is_established() || !vt.is_established() {
        guard(start, "TLS handshake");
        let t = rig.now();
        tls_step(&mut rig.c, t, cc, &mut ct);
        tls_step(&mut rig.v, t, vc, &mut vt);
    }
    let msg = [b'x'; MSG];
    let mut h = hist();
    for i in 0..rounds + WARMUP {
        let t0 = Instant::now();
        ct.write_plaintext(&msg).unwrap();
        {
            let t = rig.now();
            tls_step(&mut rig.c, t, cc, &mut ct);
        }
        while vt.plaintext().len() < MSG {
            guard(t0, "TLS echo to the venue");
            {
                let t = rig.now();
                tls_step(&mut rig.v, t, vc, &mut vt);
            }
        }
        assert!(vt.plaintext() == msg);
        vt.consume_plaintext(MSG);
        vt.write_plaintext(&msg).unwrap();
        {
            let t = rig.now();
            tls_step(&mut rig.v, t, vc, &mut vt);
        }
        while ct.plaintext().len() < MSG {
            guard(t0, "TLS echo back");
            {
                let t = rig.now();
                tls_step(&mut rig.c, t, cc, &mut ct);
            }
        }
        assert!(ct.plaintext() == msg);
        ct.consume_plaintext(MSG);
        if i >= WARMUP {
            h.record(t0.elapsed().as_nanos() as u64).unwrap();
        }
    }
    assert!(ct.is_zero_alloc() && vt.is_zero_alloc());
    h
}

fn kernel_pair() -> (TcpStream, TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (v, _) = l.accept().unwrap();
    for s in [&c, &v] {
        s.set_nodelay(true).unwrap();
        s.set_nonblocking(true).unwrap();
    }
    (c, v)
}

fn read_polling(s: &mut TcpStream, buf: &mut [u8]) -> usize {
    match s.read(buf) {
        Ok(n) => n,
        Err(e) if e.kind() == ErrorKind::WouldBlock => 0,
        Err(e) => panic!("{e}"),
    }
}

fn kernel_tcp_echo(rounds: usize) -> Histogram<u64> {
    let (mut c, mut v) = kernel_pair();
    let msg = [b'x'; MSG];
    let mut buf = [0u8; MSG];
    let mut h = hist();
    for i in 0..rounds + WARMUP {
        let t0 = Instant::now();
        c.write_all(&msg).unwrap();
        let mut got = 0;
        while got < MSG {
            got += read_polling(&mut v, &mut buf[got..]);
        }
        v.write_all(&buf).unwrap();
        let mut back = 0;
        while back < MSG {
            back += read_polling(&mut c, &mut buf[back..]);
        }
        if i >= WARMUP {
            h.record(t0.elapsed().as_nanos() as u64).unwrap();
        }
    }
    h
}

fn kernel_tls_step(s: &mut TcpStream, tls: &mut tickwire_tls::Session, buf: &mut [u8]) {
    let out = tls.pending_ciphertext();
    if !out.is_empty() {
        s.write_all(out).unwrap();
        let n = out.len();
        tls.consume_ciphertext(n);
    }
    let n = read_polling(s, buf);
    let mut off = 0;
    while off < n {
        off += tls.handle_ciphertext(&buf[off..n]);
        tls.poll().unwrap();
    }
    if n == 0 {
        tls.poll().unwrap();
    }
}

fn kernel_tls_echo(rounds: usize, pki: &TestPki) -> Histogram<u64> {
    let (mut c, mut v) = kernel_pair();
    let (mut ct, mut vt) = tls_pair(pki);
    let mut buf = vec![0u8; 65536];
    while !ct.is_established() || !vt.is_established() {
        kernel_tls_step(&mut c, &mut ct, &mut buf);
        kernel_tls_step(&mut v, &mut vt, &mut buf);
    }
    let msg = [b'x'; MSG];
    let mut h = hist();
    for i in 0..rounds + WARMUP {
        let t0 = Instant::now();
        ct.write_plaintext(&msg).unwrap();
        kernel_tls_step(&mut c, &mut ct, &mut buf);
        while vt.plaintext().len() < MSG {
            kernel_tls_step(&mut v, &mut vt, &mut buf);
        }
        vt.consume_plaintext(MSG);
        vt.write_plaintext(&msg).unwrap();
        kernel_tls_step(&mut v, &mut vt, &mut buf);
        while ct.plaintext().len() < MSG {
            kernel_tls_step(&mut c, &mut ct, &mut buf);
        }
        ct.consume_plaintext(MSG);
        if i >= WARMUP {
            h.record(t0.elapsed().as_nanos() as u64).unwrap();
        }
    }
    h
}

/// Every measurement of one transport.
struct Row {
    name: &'static str,
    tcp: Histogram<u64>,
    tls: Histogram<u64>,
    /// Tick-to-trade inside the appliance (`tickwire bench`'s figure).
    ttt: Histogram<u64>,
    /// The same ticks at the venue (tick handed to the venue's stack → order read there).
    venue: Histogram<u64>,
}

/// Echo rounds on a rig lent both ends, then tick-to-trade on the same two ends through the
/// harness `tickwire bench` runs ([`inmem::run_pair`], the tickwire client against the
/// minimal filling venue).
fn measure<N: Nic>(
    name: &'static str,
    a: &mut N,
    b: &mut N,
    rounds: usize,
    ticks: u64,
    pki: &TestPki,
) -> Row {
    eprintln!("measuring {name} …");
    let mut rig = Rig::new(Lent(&mut *a), Lent(&mut *b));
    let tcp = tcp_echo(&mut rig, rounds);
    let tls = tls_echo(&mut rig, rounds, pki);
    drop(rig);
    lent::drain(a);
    lent::drain(b);
    let r = inmem::run_pair(params(ticks), Lent(a), Lent(b))
        .unwrap_or_else(|e| panic!("{name}: tick-to-trade: {e}"));
    check_filled(name, &r);
    Row {
        name,
        tcp,
        tls,
        ttt: r.tick_to_trade,
        venue: r.at_venue,
    }
}

fn params(ticks: u64) -> Params {
    Params {
        ticks,
        progress_every: 0,
        rate_per_s: 0,
        stages: false,
        venue: VenueKind::Minimal,
    }
}

fn check_filled(name: &str, r: &inmem::Report) {
    assert_eq!(r.fills, r.orders, "{name}: every order filled");
    assert!(
        r.orders > r.ticks / 16,
        "{name}: the trigger fired on {} of {} ticks",
        r.orders,
        r.ticks
    );
}

fn print_table(title: &str, rows: &[(&str, &Histogram<u64>)], base: &Histogram<u64>) {
    println!("\n{title}, ns (ratio = AF_PACKET backend / this: >1 is faster)");
    println!(
        "{:<44} {:>8} {:>8} {:>9} {:>9} {:>10} {:>10}",
        "transport", "p50", "p99", "p99.9", "max", "p50 ratio", "p99 ratio"
    );
    let (b50, b99) = (
        base.value_at_quantile(0.5) as f64,
        base.value_at_quantile(0.99) as f64,
    );
    for (name, h) in rows {
        println!(
            "{:<44} {:>8} {:>8} {:>9} {:>9} {:>9.2}x {:>9.2}x",
            name,
            h.value_at_quantile(0.5),
            h.value_at_quantile(0.99),
            h.value_at_quantile(0.999),
            h.max(),
            b50 / h.value_at_quantile(0.5) as f64,
            b99 / h.value_at_quantile(0.99) as f64,
        );
    }
}

fn main() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "dpdk_rtt needs root (veth pairs, AF_PACKET, DPDK hugepages)"
    );
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(50_000);
    let ticks: u64 = std::env::var("TICKS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(50_000);
    // A busy machine shows in the tails: say how busy it was.
    let load_at_start = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let dpdk_veth = Veth::create("d");
    let afp_veth = Veth::create("k");
    let opts = Options {
        prefix: "tw-h2-bench-".into(),
        memory_mib: 64,
        extra_vdevs: vec![
            format!("net_af_packet0,iface={}", dpdk_veth.a),
            format!("net_af_packet1,iface={}", dpdk_veth.b),
        ],
    };
    let mut ports = Ports::start(&opts).unwrap_or_else(|e| panic!("{e}"));
    let mut afp0 = dpdk::open_port("net_af_packet0").unwrap_or_else(|e| panic!("{e}"));
    let mut afp1 = dpdk::open_port("net_af_packet1").unwrap_or_else(|e| panic!("{e}"));
    dpdk::wait_links(&mut afp0, &mut afp1).unwrap_or_else(|e| panic!("{e}"));
    let pki = tickwire_bench::pki::generate("venue.test").unwrap();

    let mut rows = Vec::new();
    for t in Transport::ALL {
        let (a, b) = ports.pair(t);
        rows.push(measure(t.name(), a, b, rounds, ticks, &pki));
    }
    rows.push(measure(
        "DPDK net_af_packet on a veth pair",
        &mut afp0,
        &mut afp1,
        rounds,
        ticks,
        &pki,
    ));
    rows.push(measure(
        "AF_PACKET backend (TPACKET_V2) on a veth pair",
        &mut AfPacket::open(&afp_veth.a, 512).unwrap(),
        &mut AfPacket::open(&afp_veth.b, 512).unwrap(),
        rounds,
        ticks,
        &pki,
    ));
    eprintln!("measuring kernel loopback TCP …");
    let kernel = tickwire_bench::kernel::run(tickwire_bench::kernel::Mode::Polling, ticks).unwrap();
    check_filled("kernel loopback TCP", &kernel);
    rows.push(Row {
        name: "kernel loopback TCP, one thread polling",
        tcp: kernel_tcp_echo(rounds),
        tls: kernel_tls_echo(rounds, &pki),
        ttt: kernel.tick_to_trade,
        venue: kernel.at_venue,
    });
    let base = 3; // the AF_PACKET backend
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "load average at start: {}, at end: {}",
        load_at_start.trim(),
        load.trim()
    );
    println!(
        "DPDK vs AF_PACKET vs kernel TCP: {rounds} echo rounds, {ticks} ticks, one thread per pair"
    );
    type Pick = fn(&Row) -> &Histogram<u64>;
    let tables: [(&str, Pick); 4] = [
        ("200-byte echo RTT, userspace TCP", |r| &r.tcp),
        ("200-byte echo RTT, TCP + TLS 1.3", |r| &r.tls),
        (
            "tick-to-trade inside the appliance (TCP + TLS 1.3 + FIX + book + trigger)",
            |r| &r.ttt,
        ),
        (
            "tick-to-trade at the venue (tick handed to the venue's stack/socket → order read)",
            |r| &r.venue,
        ),
    ];
    for (title, pick) in tables {
        let list: Vec<(&str, &Histogram<u64>)> = rows.iter().map(|r| (r.name, pick(r))).collect();
        print_table(title, &list, pick(&rows[base]));
    }
    println!("\nGoal: DPDK paths ≥ 2x lower p50 than the AF_PACKET backend, and a lower p99");
    for (title, pick) in tables {
        for r in &rows[..2] {
            let (h, b) = (pick(r), pick(&rows[base]));
            let ratio = b.value_at_quantile(0.5) as f64 / h.value_at_quantile(0.5) as f64;
            let p99 = h.value_at_quantile(0.99) < b.value_at_quantile(0.99);
            println!(
                "  {title}: {}: p50 {ratio:.2}x lower ({}), p99 {} ({})",
                r.name,
                if ratio >= 2.0 { "met" } else { "MISSED" },
                if p99 { "lower" } else { "NOT lower" },
                if p99 { "met" } else { "MISSED" },
            );
        }
    }
    // The ports stop, then their sockets and EAL's runtime directory go.
    drop(afp0);
    drop(afp1);
    drop(ports);
}
