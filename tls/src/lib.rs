//! # tickwire-tls — TLS 1.3 over any byte transport
//!
//! Layer: protocol core, no IO. A [`Session`] is a TLS client or server driven by the caller:
//! ciphertext from the transport goes in, ciphertext for the transport and decrypted plaintext
//! come out of caller-visible fixed buffers. It never touches a socket or a clock, so the same
//! session runs over the userspace TCP stack, a kernel socket, or an in-memory pipe in tests.
//!
//! ```text
//!  transport ──► handle_ciphertext(bytes) ──► poll() ──► plaintext() / consume_plaintext(n)
//!  transport ◄── pending_ciphertext() / consume_ciphertext(n) ◄── write_plaintext(bytes)
//! ```
//!
//! Call order: feed received bytes with [`Session::handle_ciphertext`], call [`Session::poll`]
//! (it advances the handshake and decrypts what is complete), send
//! [`Session::pending_ciphertext`] and mark it with [`Session::consume_ciphertext`]; once
//! [`Session::is_established`], encrypt with [`Session::write_plaintext`].
//!
//! Only this crate names rustls types; the record layer is rustls' unbuffered API with
//! the aws-lc-rs provider. TLS 1.3 only unless [`ClientConfig::allow_tls12`] says otherwise.
//! Certificates are verified against a CA bundle (or the system's roots), optionally pinned
//! by SPKI SHA-256; turning verification off needs the loudly named
//! [`ClientConfig::dangerous_skip_verification_uat_only`], and [`Session::warnings`] reports it.
//!
//! Allocation: buffers are sized at construction. rustls allocates while sealing and opening
//! records (DESIGN §7), so once a TLS 1.3 handshake is done the session takes the traffic
//! secrets (`dangerous_into_kernel_connection`) and protects records itself with aws-lc-rs,
//! in place, without allocating; rustls keeps deriving keys on KeyUpdate and storing session
//! tickets. TLS 1.2 stays on rustls' record layer. `tests/alloc_count.rs` proves the count.
//!
//! Post-handshake messages on our record layer: NewSessionTicket goes to rustls for storage
//! ([`Session::tickets_received`] counts them), KeyUpdate switches the receive key and, when
//! the peer asks, answers with our own KeyUpdate and switches the send key
//! ([`Session::update_keys`] starts one). close_notify ends the stream cleanly; any other alert
//! is [`Error::PeerAlert`]. Post-handshake messages may span records (reassembled in a 16 KiB
//! buffer allocated with the session; a longer run is [`Error::PeerMisbehaved`]).
//!
//! `benches/records.rs` compares a 200-byte seal + open through this layer with rustls' own
//! unbuffered record path and with raw aws-lc-rs AES-128-GCM.
#![forbid(unsafe_code)]

mod config;
mod error;
mod record;
mod session;

pub use config::{spki_sha256, CipherSuite, ClientConfig, Identity, RootSource, ServerConfig};
pub use error::{Alert, CertError, Error};
pub use session::{Capacities, Progress, Session, Warning};
