//! Throw-away certificates for in-process runs: a CA and a server certificate, made with rcgen.

use tickwire_tls::{ClientConfig, Identity, RootSource, ServerConfig};

/// A CA-signed server identity and the client configuration that trusts it.
#[derive(Debug, Clone)]
pub struct TestPki {
    /// Trusts only the generated CA.
    pub client: ClientConfig,
    /// Presents the generated leaf.
    pub server: ServerConfig,
    /// The name in the leaf certificate.
    pub server_name: String,
    /// The CA certificate, PEM (for engines that read their trust anchors from a file).
    pub ca_pem: String,
}

/// Generates a CA and a leaf for `server_name`.
///
/// # Errors
/// rcgen's error text if key generation or signing fails.
pub fn generate(server_name: &str) -> Result<TestPki, String> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let e = |e: rcgen::Error| e.to_string();
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(e)?;
    ca.distinguished_name
        .push(DnType::CommonName, "tickwire demo CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().map_err(e)?;
    let ca_cert = ca.self_signed(&ca_key).map_err(e)?;
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().map_err(e)?;
    let leaf = CertificateParams::new(vec![server_name.to_string()])
        .map_err(e)?
        .signed_by(&key, &issuer)
        .map_err(e)?;
    Ok(TestPki {
        client: ClientConfig::new(RootSource::Der(vec![ca_cert.der().to_vec()])),
        server: ServerConfig::new(Identity::Der {
            chain: vec![leaf.der().to_vec()],
            pkcs8_key: key.serialize_der(),
        }),
        server_name: server_name.to_string(),
        ca_pem: ca_cert.pem(),
    })
}
