//! The record layer allocates nothing after a TLS 1.3 handshake: records are protected by our
//! own layer (rustls alone would allocate once per sealed and once per opened record).
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use tickwire_tls::{Capacities, ClientConfig, Identity, RootSource, ServerConfig, Session};

// The test reads the process-wide count (`Counts::total`), the one test of this binary.
#[global_allocator]
static GLOBAL: tickwire_testutil::CountingAlloc = tickwire_testutil::CountingAlloc;

#[test]
fn allocations_per_record_after_the_handshake() {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["venue.test".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &issuer)
        .unwrap();
    let mut c = Session::client(
        &ClientConfig::new(RootSource::Der(vec![ca_cert.der().to_vec()])),
        "venue.test",
        Capacities::default(),
    )
    .unwrap();
    let mut s = Session::server(
        &ServerConfig::new(Identity::Der {
            chain: vec![leaf.der().to_vec()],
            pkcs8_key: leaf_key.serialize_der(),
        }),
        Capacities::default(),
    )
    .unwrap();
    let move_bytes = |from: &mut Session, to: &mut Session| {
        let n = from.pending_ciphertext().len();
        let taken = to.handle_ciphertext(from.pending_ciphertext());
        assert_eq!(taken, n);
        from.consume_ciphertext(n);
        to.poll().unwrap();
    };
    for _ in 0..6 {
        move_bytes(&mut c, &mut s);
        move_bytes(&mut s, &mut c);
    }
    assert!(c.is_established() && s.is_established());
    assert!(
        c.is_zero_alloc() && s.is_zero_alloc(),
        "both sides left rustls' record layer"
    );
    let msg = [b'x'; 200];
    let round = |c: &mut Session, s: &mut Session| {
        c.write_plaintext(&msg).unwrap();
        move_bytes(c, s);
        let k = s.plaintext().len();
        s.consume_plaintext(k);
    };
    for _ in 0..100 {
        round(&mut c, &mut s);
    }
    let back = |c: &mut Session, s: &mut Session| {
        s.write_plaintext(&msg).unwrap();
        move_bytes(s, c);
        let k = c.plaintext().len();
        c.consume_plaintext(k);
    };
    for _ in 0..100 {
        back(&mut c, &mut s);
    }
    const N: u64 = 100_000;
    let ((), allocations) = tickwire_testutil::measure(|| {
        for _ in 0..N {
            round(&mut c, &mut s);
            back(&mut c, &mut s);
        }
    });
    let allocations = allocations.total;
    assert_eq!(
        allocations, 0,
        "{allocations} allocations across {N} 200-byte records each way (seal + open)"
    );
}
