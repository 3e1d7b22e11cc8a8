//! What the TLS benches share: a client and a server session, handshaken in memory with a
//! generated CA and leaf certificate.
#![allow(dead_code, clippy::unwrap_used)]

use tickwire_tls::{Capacities, ClientConfig, Identity, RootSource, ServerConfig, Session};

/// A handshaken (client, server) pair; `configure` adjusts both configurations first.
pub fn pair(configure: impl FnOnce(&mut ServerConfig, &mut ClientConfig)) -> (Session, Session) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["venue.test".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &issuer)
        .unwrap();
    let mut scfg = ServerConfig::new(Identity::Der {
        chain: vec![leaf.der().to_vec()],
        pkcs8_key: leaf_key.serialize_der(),
    });
    let mut ccfg = ClientConfig::new(RootSource::Der(vec![ca.der().to_vec()]));
    configure(&mut scfg, &mut ccfg);
    let mut c = Session::client(&ccfg, "venue.test", Capacities::default()).unwrap();
    let mut s = Session::server(&scfg, Capacities::default()).unwrap();
    for _ in 0..100 {
        let moved = shuttle(&mut c, &mut s) | shuttle(&mut s, &mut c);
        if !moved {
            break;
        }
    }
    assert!(c.is_established() && s.is_established());
    (c, s)
}

/// Moves `from`'s pending ciphertext into `to` and lets `to` process it; false when there
/// was nothing to move.
pub fn shuttle(from: &mut Session, to: &mut Session) -> bool {
    let out = from.pending_ciphertext();
    if out.is_empty() {
        return false;
    }
    let n = to.handle_ciphertext(out);
    from.consume_ciphertext(n);
    to.poll().unwrap();
    true
}
