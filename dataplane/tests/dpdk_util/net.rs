//! Kernel-side plumbing for the DPDK session tests: a network namespace + veth pair removed on
//! drop (`tickwire_testutil::netns`), and the venue as kernel TCP + TLS + FIX in a thread
//! (inside the namespace when one is given).

use std::io::{Read, Write};
use std::net::{SocketAddrV4, TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::fix::{run_acceptor, KernelEnd, Outcome, Pki, SESSION_LIMIT};

use tickwire_testutil::netns::Veth;

/// Fails with the reason when not root (namespaces, AF_PACKET, TAP and DPDK need it).
pub fn require_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test needs root (network namespaces, TAP/AF_PACKET, DPDK); CI runs it as root"
    );
}

/// Namespace `twh2<tag><pid>` and veth `twh2<tag><pid>a` (ours, for DPDK) ↔ `…b` (inside, on
/// `ns_addr/24`, kernel TCP); both removed on drop, pass or fail.
pub fn veth_ns(tag: &str, ns_addr: std::net::Ipv4Addr) -> Veth {
    let id = std::process::id() % 10_000;
    Veth::create(
        &format!("twh2{tag}{id}"),
        &format!("twh2{tag}{id}a"),
        &format!("twh2{tag}{id}b"),
        &format!("{ns_addr}/24"),
    )
}

/// Lets the calling thread run on every CPU again (EAL pinned the thread that initialised it,
/// and threads inherit that mask: the venue must not share the DPDK poller's core).
fn unpin() {
    use nix::sched::{sched_setaffinity, CpuSet};
    // Every CPU the set can name: the kernel keeps the online ones (the thread's current mask
    // says nothing about the machine once EAL has narrowed it).
    let mut set = CpuSet::new();
    for c in 0..CpuSet::count() {
        let _ = set.set(c);
    }
    let _ = sched_setaffinity(nix::unistd::Pid::from_raw(0), &set);
}

/// What the kernel venue saw.
#[derive(Debug)]
pub struct VenueReport {
    /// The FIX session.
    pub outcome: Outcome,
    /// With `then_refused`: the server's TLS error on the second connection.
    pub refused: Option<tickwire_tls::Error>,
}

fn accept(listener: &TcpListener, addr: SocketAddrV4) -> TcpStream {
    let start = Instant::now();
    loop {
        match listener.accept() {
            Ok((s, _)) => {
                s.set_nonblocking(false).unwrap();
                return s;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                assert!(
                    start.elapsed() < SESSION_LIMIT,
                    "venue: no connection on {addr}"
                );
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
}

/// Serves a TLS handshake the client is expected to abort; returns the server's error.
fn refused(mut stream: TcpStream, pki: &Pki) -> tickwire_tls::Error {
    stream
        .set_read_timeout(Some(Duration::from_millis(5)))
        .unwrap();
    let mut tls = pki.server();
    let mut buf = vec![0u8; 64 * 1024];
    let start = Instant::now();
    loop {
        assert!(start.elapsed() < SESSION_LIMIT, "refused handshake hung");
        let out = tls.pending_ciphertext();
        if !out.is_empty() {
            if stream.write_all(out).is_err() {
                return tickwire_tls::Error::UnexpectedEof;
            }
            let n = out.len();
            tls.consume_ciphertext(n);
        }
        let n = match stream.read(&mut buf) {
            Ok(0) => {
                return tls
                    .handle_transport_closed()
                    .err()
                    .unwrap_or(tickwire_tls::Error::Closed)
            }
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                0
            }
            Err(_) => return tickwire_tls::Error::UnexpectedEof,
        };
        let mut off = 0;
        loop {
            off += tls.handle_ciphertext(&buf[off..n]);
            if let Err(e) = tls.poll() {
                return e;
            }
            if off >= n {
                break;
            }
        }
    }
}

/// Starts the venue: kernel TCP listening on `addr` (inside network namespace `netns` when
/// given), TLS 1.3 server with `pki`'s leaf, FIX acceptor running [`run_acceptor`]; with
/// `then_refused`, it then accepts a second connection whose TLS handshake the client aborts.
/// Returns once it listens; join the handle for what it saw.
pub fn spawn_kernel_venue(
    netns: Option<&str>,
    addr: SocketAddrV4,
    pki: &Pki,
    then_refused: bool,
) -> JoinHandle<VenueReport> {
    let (ready_tx, ready_rx) = mpsc::channel::<Result<(), String>>();
    let netns = netns.map(|n| format!("/run/netns/{n}"));
    let pki = pki.clone();
    let handle = std::thread::spawn(move || {
        unpin();
        if let Some(path) = &netns {
            let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{path}: {e}"));
            nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET)
                .unwrap_or_else(|e| panic!("setns {path}: {e}"));
        }
        let listener = match TcpListener::bind(addr) {
            Ok(l) => l,
            Err(e) => {
                let _ = ready_tx.send(Err(format!("bind {addr}: {e}")));
                panic!("bind {addr}: {e}");
            }
        };
        listener.set_nonblocking(true).unwrap();
        let _ = ready_tx.send(Ok(()));
        let mut end = KernelEnd::accepted(accept(&listener, addr), &pki);
        let outcome = run_acceptor(&mut end);
        let refused = then_refused.then(|| refused(accept(&listener, addr), &pki));
        VenueReport { outcome, refused }
    });
    match ready_rx.recv_timeout(Duration::from_secs(10)) {
        Ok(Ok(())) => handle,
        Ok(Err(e)) => panic!("kernel venue: {e}"),
        Err(e) => panic!("kernel venue did not start: {e}"),
    }
}
