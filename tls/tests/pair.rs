//! TLS client ↔ server over an in-memory byte pipe: handshake, data both ways with every byte
//! checked, records split at arbitrary boundaries, and every refusal as a typed error.
#![allow(clippy::unwrap_used)]

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use tickwire_tls::{
    spki_sha256, Alert, Capacities, CertError, ClientConfig, Error, Identity, Progress, RootSource,
    ServerConfig, Session,
};

struct Pki {
    ca_der: Vec<u8>,
    leaf_der: Vec<u8>,
    leaf_key: Vec<u8>,
}

fn pki(names: &[&str]) -> Pki {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    let id = std::sync::atomic::AtomicU64::new(0);
    let n = id.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + std::process::id() as u64;
    ca.distinguished_name.push(
        rcgen::DnType::CommonName,
        format!("tickwire test CA {n} {:p}", &ca),
    );
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let leaf =
        CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();
    Pki {
        ca_der: ca_cert.der().to_vec(),
        leaf_der: leaf_cert.der().to_vec(),
        leaf_key: leaf_key.serialize_der(),
    }
}

fn server(p: &Pki) -> Session {
    let cfg = ServerConfig::new(Identity::Der {
        chain: vec![p.leaf_der.clone()],
        pkcs8_key: p.leaf_key.clone(),
    });
    Session::server(&cfg, Capacities::default()).unwrap()
}

fn client_cfg(p: &Pki) -> ClientConfig {
    ClientConfig::new(RootSource::Der(vec![p.ca_der.clone()]))
}

/// Moves ciphertext from one side to the other (in chunks of `chunk` bytes); true if any moved.
fn transfer(from: &mut Session, to: &mut Session, chunk: usize) -> Result<bool, Error> {
    let mut moved = false;
    while !from.pending_ciphertext().is_empty() {
        let out = from.pending_ciphertext();
        let n = out.len().min(chunk);
        let taken = to.handle_ciphertext(&out[..n]);
        from.consume_ciphertext(taken);
        to.poll()?;
        moved |= taken > 0;
        if taken == 0 {
            break;
        }
    }
    Ok(moved)
}

/// Moves ciphertext both ways until neither side has output.
fn pump(a: &mut Session, b: &mut Session, chunk: usize) -> Result<(), Error> {
    for _ in 0..10_000 {
        let ab = transfer(a, b, chunk)?;
        let ba = transfer(b, a, chunk)?;
        if !ab && !ba {
            return Ok(());
        }
    }
    panic!("no quiescence");
}

fn established_pair(chunk: usize) -> (Session, Session) {
    let p = pki(&["venue.test"]);
    let mut c = Session::client(&client_cfg(&p), "venue.test", Capacities::default()).unwrap();
    let mut s = server(&p);
    pump(&mut c, &mut s, chunk).unwrap();
    assert!(c.is_established() && s.is_established());
    (c, s)
}

#[test]
fn handshake_and_100k_messages_each_way() {
    for chunk in [1 << 20, 7] {
        let (mut c, mut s) = established_pair(chunk);
        let n = if chunk == 7 { 2_000 } else { 100_000 };
        let mut got_s = Vec::new();
        let mut got_c = Vec::new();
        for i in 0..n {
            let msg = format!("8=FIX.4.4|34={i}|58=client->server {i:08}|");
            c.write_plaintext(msg.as_bytes()).unwrap();
            let reply = format!("8=FIX.4.4|34={i}|58=server->client {i:08}|");
            s.write_plaintext(reply.as_bytes()).unwrap();
            pump(&mut c, &mut s, chunk).unwrap();
            got_s.extend_from_slice(s.plaintext());
            let k = s.plaintext().len();
            s.consume_plaintext(k);
            got_c.extend_from_slice(c.plaintext());
            let k = c.plaintext().len();
            c.consume_plaintext(k);
        }
        let want_s: Vec<u8> = (0..n)
            .flat_map(|i| format!("8=FIX.4.4|34={i}|58=client->server {i:08}|").into_bytes())
            .collect();
        let want_c: Vec<u8> = (0..n)
            .flat_map(|i| format!("8=FIX.4.4|34={i}|58=server->client {i:08}|").into_bytes())
            .collect();
        assert_eq!(got_s, want_s, "chunk {chunk}");
        assert_eq!(got_c, want_c, "chunk {chunk}");
    }
}

#[test]
fn close_notify_ends_cleanly() {
    let (mut c, mut s) = established_pair(1 << 20);
    c.write_plaintext(b"bye").unwrap();
    c.close().unwrap();
    pump(&mut c, &mut s, 1 << 20).unwrap();
    assert_eq!(s.plaintext(), b"bye");
    assert!(s.is_peer_closed());
    assert_eq!(s.poll(), Ok(Progress::PeerClosed));
    assert_eq!(s.handle_transport_closed(), Ok(()));
}

fn handshake_error(cfg: ClientConfig, name: &str, p: &Pki) -> (Error, Option<Error>) {
    let mut c = Session::client(&cfg, name, Capacities::default()).unwrap();
    let mut s = server(p);
    let mut server_err = None;
    let err = loop {
        match pump(&mut c, &mut s, 1 << 20) {
            Err(e) => break e,
            Ok(()) => {
                if let Err(e) = s.poll() {
                    server_err = Some(e);
                }
                match c.poll() {
                    Err(e) => break e,
                    Ok(_) if c.is_established() => panic!("handshake must fail"),
                    Ok(_) => {}
                }
            }
        }
    };
    assert!(!c.is_established() || c.write_plaintext(b"x").is_err());
    (err, server_err)
}

#[test]
fn wrong_ca_is_refused() {
    let p = pki(&["venue.test"]);
    let other = pki(&["venue.test"]);
    let (e, _) = handshake_error(client_cfg(&other), "venue.test", &p);
    assert_eq!(e, Error::Certificate(CertError::UnknownIssuer));
}

#[test]
fn hostname_mismatch_is_refused() {
    let p = pki(&["venue.test"]);
    let (e, _) = handshake_error(client_cfg(&p), "colo-london.vip-fix.kraken.com", &p);
    assert_eq!(e, Error::Certificate(CertError::NotValidForName));
}

#[test]
fn pin_mismatch_is_refused_and_the_right_pin_accepted() {
    let p = pki(&["venue.test"]);
    let mut cfg = client_cfg(&p);
    cfg.pin_spki_sha256 = Some([0u8; 32]);
    let (e, _) = handshake_error(cfg, "venue.test", &p);
    assert_eq!(e, Error::Certificate(CertError::PinMismatch));
    let mut cfg = client_cfg(&p);
    cfg.pin_spki_sha256 = Some(spki_sha256(&p.leaf_der).unwrap());
    let mut c = Session::client(&cfg, "venue.test", Capacities::default()).unwrap();
    let mut s = server(&p);
    pump(&mut c, &mut s, 1 << 20).unwrap();
    assert!(c.is_established());
}

#[test]
fn tls12_only_server_is_refused_by_a_tls13_client() {
    let p = pki(&["venue.test"]);
    let mut scfg = ServerConfig::new(Identity::Der {
        chain: vec![p.leaf_der.clone()],
        pkcs8_key: p.leaf_key.clone(),
    });
    scfg.tls12_only = true;
    let mut s = Session::server(&scfg, Capacities::default()).unwrap();
    let mut c = Session::client(&client_cfg(&p), "venue.test", Capacities::default()).unwrap();
    let r = pump(&mut c, &mut s, 1 << 20);
    let client_view = c.poll();
    assert!(
        matches!(r, Err(Error::ProtocolVersion))
            || matches!(client_view, Err(Error::ProtocolVersion)),
        "{r:?} / {client_view:?}"
    );
    assert!(!c.is_established());
}

#[test]
fn flipped_byte_is_a_bad_mac() {
    let (mut c, mut s) = established_pair(1 << 20);
    c.write_plaintext(b"8=FIX.4.4|35=D|").unwrap();
    let mut wire = c.pending_ciphertext().to_vec();
    let n = wire.len();
    c.consume_ciphertext(n);
    wire[n - 3] ^= 0x40;
    s.handle_ciphertext(&wire);
    assert_eq!(s.poll(), Err(Error::BadRecordMac));
    assert!(
        s.plaintext().is_empty(),
        "nothing from the tampered record is delivered"
    );
    assert_eq!(s.poll(), Err(Error::BadRecordMac), "the error sticks");
}

#[test]
fn truncated_record_is_reported_at_end_of_stream() {
    let (mut c, mut s) = established_pair(1 << 20);
    c.write_plaintext(b"8=FIX.4.4|35=D|").unwrap();
    let wire = c.pending_ciphertext().to_vec();
    s.handle_ciphertext(&wire[..wire.len() - 5]);
    assert_eq!(s.poll(), Ok(Progress::Established));
    assert!(s.plaintext().is_empty());
    assert_eq!(s.handle_transport_closed(), Err(Error::TruncatedRecord));
}

#[test]
fn eof_without_close_notify_is_an_error() {
    let (_c, mut s) = established_pair(1 << 20);
    assert_eq!(s.handle_transport_closed(), Err(Error::UnexpectedEof));
}

#[test]
fn peer_alert_is_reported() {
    // A plaintext fatal alert (handshake_failure) instead of a ServerHello.
    let p = pki(&["venue.test"]);
    let mut c = Session::client(&client_cfg(&p), "venue.test", Capacities::default()).unwrap();
    let hello = c.pending_ciphertext().len();
    c.consume_ciphertext(hello);
    c.handle_ciphertext(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 40]);
    assert_eq!(c.poll(), Err(Error::PeerAlert(Alert::HandshakeFailure)));
}

#[test]
fn garbage_from_the_peer_is_an_error_not_a_panic() {
    let p = pki(&["venue.test"]);
    let mut s = server(&p);
    s.handle_ciphertext(b"8=FIX.4.4\x019=5\x0135=A\x0110=000\x01 plain FIX is not TLS");
    assert!(
        matches!(s.poll(), Err(Error::PeerMisbehaved | Error::Other)),
        "{:?}",
        s.poll()
    );
}

#[test]
fn data_before_handshake_and_bad_config_are_refused() {
    let p = pki(&["venue.test"]);
    let mut c = Session::client(&client_cfg(&p), "venue.test", Capacities::default()).unwrap();
    assert_eq!(c.write_plaintext(b"too early"), Err(Error::NotEstablished));
    let bad = ClientConfig::new(RootSource::Pem(b"not pem".to_vec()));
    assert_eq!(
        Session::client(&bad, "venue.test", Capacities::default()).err(),
        Some(Error::Config)
    );
    assert_eq!(
        Session::client(&client_cfg(&p), "not a valid name!", Capacities::default()).err(),
        Some(Error::Config)
    );
    let mut uat = client_cfg(&p);
    uat.dangerous_skip_verification_uat_only = true;
    let c = Session::client(&uat, "wrong.name", Capacities::default()).unwrap();
    assert_eq!(
        c.warnings(),
        Some(tickwire_tls::Warning::VerificationDisabled)
    );
}

#[test]
fn key_updates_both_ways_keep_the_data_flowing() {
    let (mut c, mut s) = established_pair(1 << 20);
    assert!(c.is_zero_alloc() && s.is_zero_alloc());
    let mut got_s = Vec::new();
    let mut got_c = Vec::new();
    for round in 0..50u32 {
        if round % 10 == 3 {
            c.update_keys().unwrap();
        }
        if round % 10 == 7 {
            s.update_keys().unwrap();
        }
        c.write_plaintext(format!("c{round};").as_bytes()).unwrap();
        s.write_plaintext(format!("s{round};").as_bytes()).unwrap();
        pump(&mut c, &mut s, 1 << 20).unwrap();
        got_s.extend_from_slice(s.plaintext());
        let k = s.plaintext().len();
        s.consume_plaintext(k);
        got_c.extend_from_slice(c.plaintext());
        let k = c.plaintext().len();
        c.consume_plaintext(k);
    }
    let want = |p: &str| {
        (0..50)
            .map(|r| format!("{p}{r};"))
            .collect::<String>()
            .into_bytes()
    };
    assert_eq!(got_s, want("c"));
    assert_eq!(got_c, want("s"));
}

/// Delivers all of `from`'s pending ciphertext to `to` in pseudo-random slices (1..=max bytes),
/// polling after each slice, so records arrive split at arbitrary boundaries and several at once.
fn deliver_randomly(from: &mut Session, to: &mut Session, rng: &mut u64, max: usize) {
    while !from.pending_ciphertext().is_empty() {
        *rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let want = 1 + (*rng >> 33) as usize % max;
        let out = from.pending_ciphertext();
        let n = want.min(out.len());
        let taken = to.handle_ciphertext(&out[..n]);
        from.consume_ciphertext(taken);
        to.poll().unwrap();
        assert!(taken > 0, "receiver input buffer stuck");
    }
}

#[test]
fn records_split_at_random_boundaries_and_batched_100k_each_way() {
    let (mut c, mut s) = established_pair(1 << 20);
    assert!(c.is_zero_alloc() && s.is_zero_alloc());
    let mut rng = 0x5eed_u64;
    let (mut got_s, mut got_c) = (Vec::new(), Vec::new());
    let (mut want_s, mut want_c) = (Vec::new(), Vec::new());
    let mut i = 0u32;
    while i < 100_000 {
        // A batch of records of varying length sits in one buffer before delivery.
        for _ in 0..40 {
            let len = (i as usize * 37) % 300;
            let m: Vec<u8> = (0..len).map(|k| (i as usize + k) as u8).collect();
            c.write_plaintext(&m).unwrap();
            want_s.extend_from_slice(&m);
            let r: Vec<u8> = (0..len + 1).map(|k| (i as usize ^ k) as u8).collect();
            s.write_plaintext(&r).unwrap();
            want_c.extend_from_slice(&r);
            i += 1;
        }
        deliver_randomly(&mut c, &mut s, &mut rng, 700);
        deliver_randomly(&mut s, &mut c, &mut rng, 700);
        got_s.extend_from_slice(s.plaintext());
        s.consume_plaintext(usize::MAX);
        got_c.extend_from_slice(c.plaintext());
        c.consume_plaintext(usize::MAX);
    }
    assert_eq!(got_s.len(), want_s.len());
    assert!(got_s == want_s, "client->server bytes differ");
    assert!(got_c == want_c, "server->client bytes differ");
}

#[test]
fn new_session_tickets_after_the_handshake_do_not_disturb_data() {
    let p = pki(&["venue.test"]);
    let mut c = Session::client(&client_cfg(&p), "venue.test", Capacities::default()).unwrap();
    let mut s = server(&p);
    // Handshake until the client is established, then send data before the server's tickets
    // (which travel in the same flight as its first records) reach the client.
    while !c.is_established() {
        transfer(&mut c, &mut s, 1 << 20).unwrap();
        transfer(&mut s, &mut c, 1 << 20).unwrap();
        transfer(&mut c, &mut s, 1 << 20).unwrap();
    }
    assert!(c.is_zero_alloc());
    s.write_plaintext(b"first").unwrap();
    c.write_plaintext(b"hello").unwrap();
    pump(&mut c, &mut s, 1 << 20).unwrap();
    assert!(
        c.tickets_received() >= 1,
        "rustls servers send tickets by default; none arrived"
    );
    assert_eq!(c.plaintext(), b"first");
    assert_eq!(s.plaintext(), b"hello");
    c.consume_plaintext(5);
    s.write_plaintext(b"second").unwrap();
    pump(&mut c, &mut s, 1 << 20).unwrap();
    assert_eq!(c.plaintext(), b"second");
}

#[test]
fn every_tls13_suite_runs_on_our_record_layer_with_key_updates() {
    use tickwire_tls::CipherSuite;
    for suite in [
        CipherSuite::Aes128Gcm,
        CipherSuite::Aes256Gcm,
        CipherSuite::Chacha20Poly1305,
    ] {
        let p = pki(&["venue.test"]);
        let mut cfg = client_cfg(&p);
        cfg.cipher_suites = vec![suite];
        let mut c = Session::client(&cfg, "venue.test", Capacities::default()).unwrap();
        let mut s = server(&p);
        pump(&mut c, &mut s, 1 << 20).unwrap();
        assert!(c.is_zero_alloc() && s.is_zero_alloc(), "{suite:?}");
        let (mut got_s, mut got_c) = (Vec::new(), Vec::new());
        for i in 0..300u32 {
            if i == 100 {
                c.update_keys().unwrap();
            }
            if i == 200 {
                s.update_keys().unwrap();
            }
            c.write_plaintext(&i.to_be_bytes()).unwrap();
            s.write_plaintext(&(!i).to_be_bytes()).unwrap();
            pump(&mut c, &mut s, 1 << 20).unwrap();
            got_s.extend_from_slice(s.plaintext());
            s.consume_plaintext(usize::MAX);
            got_c.extend_from_slice(c.plaintext());
            c.consume_plaintext(usize::MAX);
        }
        let want_s: Vec<u8> = (0..300u32).flat_map(|i| i.to_be_bytes()).collect();
        let want_c: Vec<u8> = (0..300u32).flat_map(|i| (!i).to_be_bytes()).collect();
        assert_eq!(got_s, want_s, "{suite:?}");
        assert_eq!(got_c, want_c, "{suite:?}");
    }
}

#[test]
fn system_roots_load_and_do_not_trust_a_private_ca() {
    let cfg = ClientConfig::new(RootSource::System);
    let mut c = Session::client(&cfg, "venue.test", Capacities::default()).expect(
        "the platform trust store must be readable (install ca-certificates or set SSL_CERT_FILE)",
    );
    let p = pki(&["venue.test"]);
    let mut s = server(&p);
    let err = pump(&mut c, &mut s, 1 << 20).unwrap_err();
    assert_eq!(err, Error::Certificate(CertError::UnknownIssuer));
}

#[test]
fn a_record_sealed_into_the_callers_buffer_decrypts_in_order_and_refusals_use_no_sequence_number() {
    let (mut c, mut s) = established_pair(1 << 20);
    let mut wire = vec![0u8; 1024];
    // Straight into the transport's buffer: one record, 22 bytes of overhead.
    let n = c
        .write_plaintext_into(b"first", &mut wire)
        .unwrap()
        .expect("sealed in place");
    assert_eq!(n, 5 + 22);
    assert!(c.pending_ciphertext().is_empty(), "nothing staged");
    // Refused, nothing sealed: too short, longer than a record, ciphertext waiting.
    assert_eq!(c.write_plaintext_into(b"second", &mut [0u8; 27]), Ok(None));
    assert_eq!(
        c.write_plaintext_into(&vec![b'x'; 16 * 1024 + 1], &mut vec![0u8; 20_000]),
        Ok(None)
    );
    c.write_plaintext(b"second").unwrap();
    assert_eq!(c.write_plaintext_into(b"third", &mut wire[n..]), Ok(None));
    // The peer reads the in-place record, then the staged one: the refusals used no sequence
    // number (else the second would fail to authenticate).
    assert_eq!(s.handle_ciphertext(&wire[..n]), n);
    s.poll().unwrap();
    transfer(&mut c, &mut s, 1 << 20).unwrap();
    assert_eq!(s.plaintext(), b"firstsecond");
    // Not established.
    let p = pki(&["venue.test"]);
    let mut fresh = Session::client(&client_cfg(&p), "venue.test", Capacities::default()).unwrap();
    assert_eq!(
        fresh.write_plaintext_into(b"x", &mut wire),
        Err(Error::NotEstablished)
    );
}
