//! Seal + open of one 200-byte application-data record, three ways in the same run:
//!
//! - `tickwire`: our zero-allocation TLS 1.3 record layer (keys taken from rustls after the
//!   handshake, aws-lc-rs in place), through the public `Session` API;
//! - `rustls`: the same sessions built with `rustls_record_layer`, i.e. rustls' own unbuffered
//!   record path (allocates once per seal and once per open, DESIGN §7);
//! - `raw_aes128gcm`: aws-lc-rs AES-128-GCM seal + open of 200 bytes with no TLS framing, the
//!   floor.
//!
//! Each iteration: client `write_plaintext`, ciphertext handed to the server, server `poll`,
//! plaintext consumed (the sessions negotiate rustls' first TLS 1.3 suite, AES-256-GCM, so the
//! raw AES-128-GCM line is a slightly optimistic floor). After criterion's report it times a
//! fixed batch of each and prints the ratios of those means. Run briefly:
//! `cargo bench -p tickwire-tls --bench records -- --measurement-time 2 --warm-up-time 1`.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::time::Duration;

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM};
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use tickwire_tls::Session;

mod common;

const RECORD: usize = 200;

fn pair(rustls_records: bool) -> (Session, Session) {
    let (c, s) = common::pair(|server, client| {
        server.rustls_record_layer = rustls_records;
        client.rustls_record_layer = rustls_records;
    });
    assert_eq!(c.is_zero_alloc(), !rustls_records);
    (c, s)
}

/// One record from `c` to `s`: seal, transfer, open, consume.
fn one_record(c: &mut Session, s: &mut Session, msg: &[u8]) {
    c.write_plaintext(msg).unwrap();
    common::shuttle(c, s);
    let got = s.plaintext().len();
    debug_assert_eq!(got, msg.len());
    s.consume_plaintext(got);
}

fn mean_ns(c: &mut Criterion, name: &str, mut f: impl FnMut()) -> f64 {
    c.bench_function(name, |b| b.iter(&mut f));
    // Criterion does not hand its estimate back; time a fixed batch for the ratio line.
    let n = 200_000u32;
    let t = std::time::Instant::now();
    for _ in 0..n {
        f();
    }
    t.elapsed().as_secs_f64() * 1e9 / f64::from(n)
}

fn records(c: &mut Criterion) {
    let msg = [b'x'; RECORD];

    let (mut tc, mut ts) = pair(false);
    let ours = mean_ns(c, "tickwire_zero_alloc_seal_open_200B", || {
        one_record(&mut tc, &mut ts, black_box(&msg));
    });

    let (mut rc, mut rs) = pair(true);
    let theirs = mean_ns(c, "rustls_unbuffered_seal_open_200B", || {
        one_record(&mut rc, &mut rs, black_box(&msg));
    });

    let key = LessSafeKey::new(UnboundKey::new(&AES_128_GCM, &[7; 16]).unwrap());
    let mut buf = [0u8; RECORD];
    let mut seq = 0u64;
    let raw = mean_ns(c, "raw_aws_lc_aes128gcm_seal_open_200B", || {
        seq += 1;
        let mut iv = [0u8; 12];
        iv[4..].copy_from_slice(&seq.to_be_bytes());
        buf.copy_from_slice(black_box(&msg));
        let tag = key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(iv),
                Aad::from([23u8, 3, 3, 0, 217]),
                &mut buf,
            )
            .unwrap();
        let mut sealed = [0u8; RECORD + 16];
        sealed[..RECORD].copy_from_slice(&buf);
        sealed[RECORD..].copy_from_slice(tag.as_ref());
        let opened = key
            .open_in_place(
                Nonce::assume_unique_for_key(iv),
                Aad::from([23u8, 3, 3, 0, 217]),
                &mut sealed,
            )
            .unwrap();
        black_box(opened);
    });

    println!(
        "\nseal+open 200 B (batch means): tickwire {ours:.0} ns, rustls {theirs:.0} ns, \
         raw AES-128-GCM {raw:.0} ns\nratios: rustls/tickwire {:.2}x, tickwire/raw {:.2}x, \
         rustls/raw {:.2}x",
        theirs / ours,
        ours / raw,
        theirs / raw
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
        .sample_size(20);
    targets = records
}
criterion_main!(benches);
