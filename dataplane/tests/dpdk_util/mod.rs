//! Shared pieces of the DPDK tests: EAL arguments with a unique file prefix, a child process
//! that re-runs the same test binary as the other endpoint, and a byte-checked frame exchange.
#![allow(dead_code, clippy::unwrap_used)]

pub mod fix;
pub mod net;

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use tickwire_dataplane::dpdk::{self, DpdkNic, Mempool};
use tickwire_dataplane::nic::Nic;

/// Env var naming the role of a re-executed test binary.
pub const ROLE: &str = "TICKWIRE_DPDK_ROLE";
/// Frames each exchange test moves (each checked byte for byte).
pub const FRAMES: u32 = 10_000;
/// Guard against a hang when a peer never answers (a failure, never a speed assertion).
pub const STALL: Duration = Duration::from_secs(20);

/// EAL arguments: main lcore `lcore` (the two ends of a pair use different cores, or they would
/// share one CPU), no PCI, a per-process file prefix, `memory` (e.g. `--no-huge`) and the devices.
pub fn eal_args(tag: &str, lcore: u32, memory: &[&str], vdevs: &[String]) -> Vec<String> {
    remove_stale_runtime_dirs();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
    let mut a: Vec<String> = vec!["-l".into(), (lcore % cpus).to_string(), "--no-pci".into()];
    a.push("--log-level=lib.eal:error".into());
    a.push(format!(
        "--file-prefix={PREFIX}{}-{tag}",
        std::process::id()
    ));
    a.extend(memory.iter().map(|s| (*s).to_owned()));
    a.extend(vdevs.iter().map(|v| format!("--vdev={v}")));
    a
}

/// Start of every test EAL's `--file-prefix`: `tw-test-<pid>-<tag>`.
pub const PREFIX: &str = "tw-test-";

/// EAL keeps a runtime directory per file prefix in /var/run/dpdk (as root) after the process
/// ends: those of these tests whose process is gone are removed, so runs do not pile them up.
fn remove_stale_runtime_dirs() {
    dpdk::eal::remove_dead_prefixed(std::path::Path::new(dpdk::eal::RUNTIME_DIR), PREFIX);
}

/// Leaves `port` (a memif end, or what owns one) to the process's end instead of stopping it.
/// Once the peer has gone, EAL's interrupt thread is disconnecting this end, and a dev_stop at
/// the same time is a second memif_disconnect of it, which DPDK 22.11 crashes on.
pub fn leave_memif_to_exit<T>(port: T) {
    std::mem::forget(port);
}

/// Starts EAL, a 2047-mbuf pool and the port `name`, and waits for its link.
pub fn open(args: &[String], name: &str) -> DpdkNic {
    dpdk::eal_init(args).unwrap_or_else(|e| panic!("EAL init ({args:?}): {e}"));
    let pool = Mempool::new(&format!("pool_{name}"), 2047, 32, 2048).expect("mempool");
    DpdkNic::new(name, pool, 512).unwrap_or_else(|e| panic!("port {name}: {e}"))
}

/// Waits (polling, bounded by [`STALL`]) for the link of `nic` to come up.
pub fn wait_link(nic: &mut DpdkNic) {
    let start = Instant::now();
    while !nic.port().link().up {
        assert!(
            start.elapsed() < STALL,
            "link of {} never came up",
            nic.port().name()
        );
        while nic.rx_peek().is_some() {
            nic.rx_release();
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Re-runs the current test binary, only `test`, with `ROLE=role` and `PEER_ARGS`.
pub fn spawn_peer(test: &str, role: &str, peer_args: &str) -> ChildGuard {
    let exe = std::env::current_exe().expect("test binary path");
    let child = Command::new(exe)
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(ROLE, role)
        .env("TICKWIRE_DPDK_PEER_ARGS", peer_args)
        .spawn()
        .expect("spawn peer");
    ChildGuard(Some(child))
}

/// Kills the peer if the test fails before it exits.
#[derive(Debug)]
pub struct ChildGuard(pub Option<Child>);

impl ChildGuard {
    /// Waits for the peer and asserts it succeeded.
    pub fn wait_ok(mut self) {
        let mut c = self.0.take().expect("child");
        let st = c.wait().expect("wait peer");
        assert!(st.success(), "peer process failed: {st}");
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(c) = self.0.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Ethertype of the frame that ends an [`echo`] loop.
pub const STOP: [u8; 2] = [0x88, 0xb6];

/// Echoes frames back unchanged (copied into fresh TX mbufs) until a [`STOP`] frame arrives;
/// returns how many were echoed.
pub fn echo(nic: &mut DpdkNic) -> u32 {
    let mut done = 0;
    let mut last = Instant::now();
    loop {
        let Some(f) = nic.rx_peek() else {
            assert!(last.elapsed() < STALL, "echo stalled after {done} frames");
            continue;
        };
        if f.len() >= 14 && f[12..14] == STOP {
            nic.rx_release();
            return done;
        }
        let len = f.len();
        let mut copy = [0u8; 2048];
        copy[..len].copy_from_slice(f);
        nic.rx_release();
        loop {
            if let Some(b) = nic.tx_alloc(len) {
                b.copy_from_slice(&copy[..len]);
                nic.tx_commit(len);
                break;
            }
            nic.tx_flush();
        }
        while nic.tx_pending() > 0 {
            nic.tx_flush();
        }
        done += 1;
        last = Instant::now();
    }
}

/// Sends the [`STOP`] frame.
pub fn send_stop(nic: &mut DpdkNic) {
    let mac = nic.mac();
    loop {
        if let Some(b) = nic.tx_alloc(60) {
            b.fill(0);
            b[..6].fill(0xff);
            b[6..12].copy_from_slice(&mac);
            b[12..14].copy_from_slice(&STOP);
            nic.tx_commit(60);
            break;
        }
        nic.tx_flush();
    }
    while nic.tx_pending() > 0 {
        nic.tx_flush();
    }
}

/// A 200-byte test frame: broadcast destination, our source, ethertype 0x88b5 (local
/// experimental), sequence number and a sequence-derived pattern.
pub fn fill_frame(buf: &mut [u8], src: [u8; 6], seq: u32) {
    buf[..6].fill(0xff);
    buf[6..12].copy_from_slice(&src);
    buf[12..14].copy_from_slice(&[0x88, 0xb5]);
    buf[14..18].copy_from_slice(&seq.to_be_bytes());
    for (j, b) in buf[18..].iter_mut().enumerate() {
        *b = (seq as usize).wrapping_mul(31).wrapping_add(j) as u8;
    }
}

/// Sends `frames` frames in windows of 16 and checks every echoed byte, in order; ignores
/// frames that are not ours (e.g. kernel IPv6 chatter on a veth).
pub fn ping_pong(nic: &mut DpdkNic, frames: u32) {
    const WINDOW: u32 = 16;
    let mac = nic.mac();
    let mut want = [0u8; 200];
    let mut next_rx = 0u32;
    let mut next_tx = 0u32;
    let mut last = Instant::now();
    while next_rx < frames {
        while next_tx < frames && next_tx - next_rx < WINDOW {
            let Some(b) = nic.tx_alloc(want.len()) else {
                break;
            };
            fill_frame(b, mac, next_tx);
            nic.tx_commit(want.len());
            next_tx += 1;
        }
        nic.tx_flush();
        let Some(f) = nic.rx_peek() else {
            assert!(last.elapsed() < STALL, "no echo for frame {next_rx}");
            continue;
        };
        if f.len() == want.len() && f[12..14] == [0x88, 0xb5] {
            fill_frame(&mut want, mac, next_rx);
            assert_eq!(
                f,
                &want[..],
                "frame {next_rx} came back altered or out of order"
            );
            next_rx += 1;
            last = Instant::now();
        }
        nic.rx_release();
    }
    while nic.tx_pending() > 0 {
        nic.tx_flush();
    }
}
