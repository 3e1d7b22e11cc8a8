//! How much of a seal is cache misses: one `Session::write_plaintext` of a 330-byte order
//! (what the tick-to-trade path seals), hot (back to back) and after other work has walked
//! over 32 KiB, 256 KiB, 1 MiB and 8 MiB of memory (evicting the key context, the session and
//! its buffers from L1, L2, …), next to the same walk alone so that only the seal is timed.
//! Each line: median ns of the seal, timed with `Instant` (its own cost is printed last), for
//! the default suite and AES-128-GCM.
//! Run: `cargo bench -p tickwire-tls --bench seal_cold`.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::hint::black_box;
use std::time::Instant;

use tickwire_tls::{CipherSuite, Session};

mod common;

fn pair(suites: &[CipherSuite]) -> (Session, Session) {
    common::pair(|_, client| client.cipher_suites = suites.to_vec())
}

fn walk(mem: &mut [u8], round: u8) {
    for line in mem.chunks_mut(64) {
        line[0] = line[0].wrapping_add(round);
    }
    black_box(mem);
}

fn median(v: &mut [u64]) -> u64 {
    v.sort_unstable();
    v[v.len() / 2]
}

fn main() {
    let order = [b'x'; 330];
    let mut mem = vec![0u8; 8 << 20];
    let n = 20_000;
    println!("seal of 330 B (Session::write_plaintext), median ns over {n} samples");
    for (suite, suites) in [
        ("AES-256-GCM (default)", &[][..]),
        ("AES-128-GCM", &[CipherSuite::Aes128Gcm][..]),
    ] {
        let (mut c, _s) = pair(suites);
        println!(" {suite}");
        for (name, bytes) in [
            ("hot", 0usize),
            ("after 32 KiB", 32 << 10),
            ("after 256 KiB", 256 << 10),
            ("after 1 MiB", 1 << 20),
            ("after 8 MiB", 8 << 20),
        ] {
            let mut t = vec![0u64; n];
            for (i, slot) in t.iter_mut().enumerate() {
                walk(&mut mem[..bytes], i as u8);
                let t0 = Instant::now();
                c.write_plaintext(black_box(&order)).unwrap();
                *slot = t0.elapsed().as_nanos() as u64;
                let k = c.pending_ciphertext().len();
                c.consume_ciphertext(k);
            }
            println!("  {name:>14}: {:>5} ns", median(&mut t));
        }
    }
    // What the timer itself costs, to subtract.
    let mut t = vec![0u64; n];
    for slot in t.iter_mut() {
        let t0 = Instant::now();
        *slot = t0.elapsed().as_nanos() as u64;
    }
    println!(" Instant::now + elapsed alone: {} ns", median(&mut t));
}
