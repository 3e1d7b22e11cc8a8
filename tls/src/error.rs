//! Typed TLS errors that say who is at fault.

use core::fmt;

/// Why the peer's certificate was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertError {
    /// Not signed by a trusted CA.
    UnknownIssuer,
    /// Valid, but not for the name we connected to.
    NotValidForName,
    /// Expired or not yet valid.
    Expired,
    /// Its public key is not the pinned one.
    PinMismatch,
    /// Revoked, malformed, wrong usage, or another reason.
    Other,
}

/// A TLS alert the peer sent (or that ended the handshake).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alert {
    /// handshake_failure (40)
    HandshakeFailure,
    /// bad_certificate (42)
    BadCertificate,
    /// unknown_ca (48)
    UnknownCa,
    /// decrypt_error (51)
    DecryptError,
    /// protocol_version (70)
    ProtocolVersion,
    /// internal_error (80)
    InternalError,
    /// any other alert, by its code
    Other(u8),
}

/// What went wrong in a TLS session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// We refused the peer's certificate.
    Certificate(CertError),
    /// The peer sent a fatal alert.
    PeerAlert(Alert),
    /// No TLS version both sides accept (e.g. a TLS 1.2-only peer while we require 1.3).
    ProtocolVersion,
    /// A record failed authentication (tampered or corrupted bytes).
    BadRecordMac,
    /// The peer sent bytes that are not valid TLS.
    PeerMisbehaved,
    /// The transport closed in the middle of a record.
    TruncatedRecord,
    /// The transport closed without close_notify.
    UnexpectedEof,
    /// A buffer of this session is too small; `required` more bytes are needed.
    InsufficientSize { required: usize },
    /// Application data before the handshake finished.
    NotEstablished,
    /// The session is closed.
    Closed,
    /// Invalid configuration (bad PEM, unusable key, bad server name).
    Config,
    /// Any other rustls error (logged by the caller with [`Error::describe`]-style context).
    Other,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Certificate(c) => write!(f, "peer certificate refused: {c:?}"),
            Self::PeerAlert(a) => write!(f, "peer sent alert {a:?}"),
            Self::ProtocolVersion => f.write_str("no common TLS version"),
            Self::BadRecordMac => f.write_str("record failed authentication (bad MAC)"),
            Self::PeerMisbehaved => f.write_str("peer sent invalid TLS"),
            Self::TruncatedRecord => f.write_str("transport closed inside a TLS record"),
            Self::UnexpectedEof => f.write_str("transport closed without close_notify"),
            Self::InsufficientSize { required } => {
                write!(f, "buffer too small, {required} more bytes needed")
            }
            Self::NotEstablished => f.write_str("TLS handshake not finished"),
            Self::Closed => f.write_str("TLS session closed"),
            Self::Config => f.write_str("invalid TLS configuration"),
            Self::Other => f.write_str("TLS error"),
        }
    }
}

impl std::error::Error for Error {}

pub(crate) fn alert(a: rustls::AlertDescription) -> Alert {
    use rustls::AlertDescription as A;
    match a {
        A::HandshakeFailure => Alert::HandshakeFailure,
        A::BadCertificate => Alert::BadCertificate,
        A::UnknownCA => Alert::UnknownCa,
        A::DecryptError => Alert::DecryptError,
        A::ProtocolVersion => Alert::ProtocolVersion,
        A::InternalError => Alert::InternalError,
        other => Alert::Other(u8::from(other)),
    }
}

impl From<rustls::Error> for Error {
    fn from(e: rustls::Error) -> Self {
        use rustls::CertificateError as C;
        match e {
            rustls::Error::InvalidCertificate(c) => Error::Certificate(match c {
                // A chain that does not verify against our roots: unknown or impostor issuer.
                C::UnknownIssuer | C::BadSignature => CertError::UnknownIssuer,
                C::NotValidForName | C::NotValidForNameContext { .. } => CertError::NotValidForName,
                C::Expired
                | C::ExpiredContext { .. }
                | C::NotValidYet
                | C::NotValidYetContext { .. } => CertError::Expired,
                C::ApplicationVerificationFailure => CertError::PinMismatch,
                _ => CertError::Other,
            }),
            rustls::Error::AlertReceived(rustls::AlertDescription::ProtocolVersion) => {
                Error::ProtocolVersion
            }
            rustls::Error::AlertReceived(a) => Error::PeerAlert(alert(a)),
            rustls::Error::PeerIncompatible(_) => Error::ProtocolVersion,
            rustls::Error::DecryptError => Error::BadRecordMac,
            rustls::Error::InvalidMessage(_)
            | rustls::Error::InappropriateMessage { .. }
            | rustls::Error::InappropriateHandshakeMessage { .. }
            | rustls::Error::PeerMisbehaved(_) => Error::PeerMisbehaved,
            _ => Error::Other,
        }
    }
}
