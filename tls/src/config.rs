//! Client and server configuration, turned into rustls configurations once at start-up.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use sha2::{Digest, Sha256};

use crate::error::Error;

/// Where trusted CA certificates come from.
#[derive(Debug, Clone)]
pub enum RootSource {
    /// A PEM bundle on disk.
    CaFile(PathBuf),
    /// PEM text.
    Pem(Vec<u8>),
    /// DER certificates (e.g. a CA the venue simulator generated in-process).
    Der(Vec<Vec<u8>>),
    /// The platform's trust store (rustls-native-certs: `SSL_CERT_FILE`/`SSL_CERT_DIR`, or the
    /// distribution's bundle).
    System,
}

/// A TLS 1.3 cipher suite (all three run on our zero-allocation record layer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CipherSuite {
    /// TLS_AES_128_GCM_SHA256
    Aes128Gcm,
    /// TLS_AES_256_GCM_SHA384
    Aes256Gcm,
    /// TLS_CHACHA20_POLY1305_SHA256
    Chacha20Poly1305,
}

impl CipherSuite {
    fn rustls(self) -> rustls::CipherSuite {
        match self {
            CipherSuite::Aes128Gcm => rustls::CipherSuite::TLS13_AES_128_GCM_SHA256,
            CipherSuite::Aes256Gcm => rustls::CipherSuite::TLS13_AES_256_GCM_SHA384,
            CipherSuite::Chacha20Poly1305 => rustls::CipherSuite::TLS13_CHACHA20_POLY1305_SHA256,
        }
    }
}

/// aws-lc-rs with its default groups (X25519, P-256, P-384; QuickFIX offers only P-256) and,
/// when `tls13_suites` is not empty, only those TLS 1.3 suites (TLS 1.2 suites are kept).
fn provider(tls13_suites: &[CipherSuite]) -> Arc<CryptoProvider> {
    let mut p = rustls::crypto::aws_lc_rs::default_provider();
    if !tls13_suites.is_empty() {
        p.cipher_suites.retain(|s| {
            s.tls13().is_none() || tls13_suites.iter().any(|w| w.rustls() == s.suite())
        });
    }
    Arc::new(p)
}

/// How the client authenticates the server.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Trusted roots.
    pub roots: RootSource,
    /// Optional pin: SHA-256 of the server certificate's SubjectPublicKeyInfo. Checked after
    /// normal verification, never instead of it.
    pub pin_spki_sha256: Option<[u8; 32]>,
    /// Accept TLS 1.2 as well as 1.3 (Kraken's logon page allows 1.2; the guide requires 1.3).
    pub allow_tls12: bool,
    /// Skip certificate verification entirely. Kraken's UAT presents a certificate for another
    /// name (SPEC §1.1); never enable this against production.
    pub dangerous_skip_verification_uat_only: bool,
    /// Write session secrets to `$SSLKEYLOGFILE` (for Wireshark). Off by default.
    pub key_log: bool,
    /// Keep rustls' own record layer after the handshake (it allocates per record). For
    /// baselines that show what plain rustls costs; off by default.
    pub rustls_record_layer: bool,
    /// TLS 1.3 suites to offer (in aws-lc-rs' preference order); empty means its defaults
    /// (AES-256-GCM, AES-128-GCM, ChaCha20-Poly1305).
    pub cipher_suites: Vec<CipherSuite>,
}

impl ClientConfig {
    /// Verified TLS 1.3 against `roots`.
    pub fn new(roots: RootSource) -> ClientConfig {
        ClientConfig {
            roots,
            pin_spki_sha256: None,
            allow_tls12: false,
            dangerous_skip_verification_uat_only: false,
            key_log: false,
            rustls_record_layer: false,
            cipher_suites: Vec::new(),
        }
    }

    pub(crate) fn build(&self) -> Result<Arc<rustls::ClientConfig>, Error> {
        let provider = provider(&self.cipher_suites);
        let versions: &[&rustls::SupportedProtocolVersion] = if self.allow_tls12 {
            &[&rustls::version::TLS13, &rustls::version::TLS12]
        } else {
            &[&rustls::version::TLS13]
        };
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(versions)
            .map_err(|_| Error::Config)?;
        let verifier: Arc<dyn ServerCertVerifier> = if self.dangerous_skip_verification_uat_only {
            Arc::new(NoVerification(provider))
        } else {
            let mut roots = RootCertStore::empty();
            for der in load_roots(&self.roots)? {
                roots.add(der).map_err(|_| Error::Config)?;
            }
            let inner = rustls::client::WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .map_err(|_| Error::Config)?;
            Arc::new(Pinned {
                inner,
                pin: self.pin_spki_sha256,
            })
        };
        let mut cfg = builder
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        cfg.enable_secret_extraction = true;
        if self.key_log {
            cfg.key_log = Arc::new(rustls::KeyLogFile::new());
        }
        Ok(Arc::new(cfg))
    }
}

fn load_roots(source: &RootSource) -> Result<Vec<CertificateDer<'static>>, Error> {
    let from_pem = |pem: &[u8]| -> Result<Vec<CertificateDer<'static>>, Error> {
        let certs: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(pem).collect();
        let certs = certs.map_err(|_| Error::Config)?;
        if certs.is_empty() {
            return Err(Error::Config);
        }
        Ok(certs)
    };
    match source {
        RootSource::CaFile(path) => from_pem(&std::fs::read(path).map_err(|_| Error::Config)?),
        RootSource::Pem(pem) => from_pem(pem),
        RootSource::Der(ders) => Ok(ders
            .iter()
            .map(|d| CertificateDer::from(d.clone()))
            .collect()),
        RootSource::System => {
            // Certificates the platform store could not parse are skipped; an empty store is
            // a configuration error.
            let found = rustls_native_certs::load_native_certs();
            if found.certs.is_empty() {
                return Err(Error::Config);
            }
            Ok(found.certs)
        }
    }
}

/// The server's certificate chain and private key.
#[derive(Debug, Clone)]
pub enum Identity {
    /// PEM files: chain (leaf first) and key.
    PemFiles { chain: PathBuf, key: PathBuf },
    /// DER chain (leaf first) and PKCS#8 key, e.g. generated with rcgen at start-up.
    Der {
        chain: Vec<Vec<u8>>,
        pkcs8_key: Vec<u8>,
    },
}

/// How the server presents itself.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Chain and key.
    pub identity: Identity,
    /// Accept TLS 1.2 clients too.
    pub allow_tls12: bool,
    /// Serve only TLS 1.2 (for testing clients against old servers).
    pub tls12_only: bool,
    /// Keep rustls' own record layer after the handshake (see [`ClientConfig`]).
    pub rustls_record_layer: bool,
}

impl ServerConfig {
    /// TLS 1.3 with this identity.
    pub fn new(identity: Identity) -> ServerConfig {
        ServerConfig {
            identity,
            allow_tls12: false,
            tls12_only: false,
            rustls_record_layer: false,
        }
    }

    pub(crate) fn build(&self) -> Result<Arc<rustls::ServerConfig>, Error> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let versions: &[&rustls::SupportedProtocolVersion] =
            match (self.tls12_only, self.allow_tls12) {
                (true, _) => &[&rustls::version::TLS12],
                (false, true) => &[&rustls::version::TLS13, &rustls::version::TLS12],
                (false, false) => &[&rustls::version::TLS13],
            };
        let (chain, key): (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) =
            match &self.identity {
                Identity::PemFiles { chain, key } => {
                    let certs: Result<Vec<_>, _> = CertificateDer::pem_file_iter(chain)
                        .map_err(|_| Error::Config)?
                        .collect();
                    (
                        certs.map_err(|_| Error::Config)?,
                        PrivateKeyDer::from_pem_file(key).map_err(|_| Error::Config)?,
                    )
                }
                Identity::Der { chain, pkcs8_key } => (
                    chain
                        .iter()
                        .map(|c| CertificateDer::from(c.clone()))
                        .collect(),
                    PrivateKeyDer::Pkcs8(pkcs8_key.clone().into()),
                ),
            };
        let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .map_err(|_| Error::Config)?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|_| Error::Config)?;
        cfg.enable_secret_extraction = true;
        Ok(Arc::new(cfg))
    }
}

/// Parses a DNS name or IP address for SNI and verification.
pub(crate) fn server_name(name: &str) -> Result<ServerName<'static>, Error> {
    ServerName::try_from(name.to_owned()).map_err(|_| Error::Config)
}

/// Normal WebPKI verification, then an optional SPKI pin.
#[derive(Debug)]
struct Pinned {
    inner: Arc<rustls::client::WebPkiServerVerifier>,
    pin: Option<[u8; 32]>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verified =
            self.inner
                .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)?;
        if let Some(pin) = self.pin {
            let cert = webpki::EndEntityCert::try_from(end_entity).map_err(|_| {
                rustls::Error::InvalidCertificate(rustls::CertificateError::BadEncoding)
            })?;
            let spki = cert.subject_public_key_info();
            let digest: [u8; 32] = Sha256::digest(spki.as_ref()).into();
            if digest != pin {
                return Err(rustls::Error::InvalidCertificate(
                    rustls::CertificateError::ApplicationVerificationFailure,
                ));
            }
        }
        Ok(verified)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// SHA-256 of a certificate's SubjectPublicKeyInfo: the value to pin.
///
/// # Errors
/// [`Error::Config`] if `der` is not a certificate.
pub fn spki_sha256(der: &[u8]) -> Result<[u8; 32], Error> {
    let cert = CertificateDer::from(der);
    let parsed = webpki::EndEntityCert::try_from(&cert).map_err(|_| Error::Config)?;
    Ok(Sha256::digest(parsed.subject_public_key_info().as_ref()).into())
}

/// UAT only: accepts any certificate, still checks handshake signatures.
#[derive(Debug)]
struct NoVerification(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
