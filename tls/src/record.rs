//! Our own TLS 1.3 record protection, used after the handshake so that the data path allocates
//! nothing (rustls allocates once per record it seals or opens).
//!
//! ```text
//! seal: [23 03 03 len:2] ‖ AEAD(key, iv ⊕ seq, aad = header, plaintext ‖ inner type) ‖ tag
//! open: header ─► AEAD open in place ─► strip zero padding ─► inner type ─► payload
//! ```
//!
//! Keys and sequence numbers come from rustls (`dangerous_into_kernel_connection`), which still
//! derives new secrets on KeyUpdate and stores session tickets.

use aws_lc_rs::aead::{
    Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM, AES_256_GCM, CHACHA20_POLY1305,
};
use rustls::ConnectionTrafficSecrets;

use crate::error::Error;

/// Largest TLS 1.3 record plaintext.
pub const MAX_PLAINTEXT: usize = 16 * 1024;

/// Inner content types.
pub const APPLICATION_DATA: u8 = 23;
/// Handshake messages after the handshake (NewSessionTicket, KeyUpdate).
pub const HANDSHAKE: u8 = 22;
/// Alerts.
pub const ALERT: u8 = 21;

/// One direction's AEAD key, IV and sequence number.
pub struct RecordKey {
    key: LessSafeKey,
    iv: [u8; 12],
    seq: u64,
}

impl core::fmt::Debug for RecordKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RecordKey")
            .field("seq", &self.seq)
            .finish_non_exhaustive()
    }
}

impl RecordKey {
    /// From rustls' extracted secrets.
    ///
    /// # Errors
    /// [`Error::Other`] if the key material does not fit the algorithm.
    pub fn new(seq: u64, secrets: &ConnectionTrafficSecrets) -> Result<RecordKey, Error> {
        let (alg, key, iv) = match secrets {
            ConnectionTrafficSecrets::Aes128Gcm { key, iv } => {
                (&AES_128_GCM, key.as_ref(), iv.as_ref())
            }
            ConnectionTrafficSecrets::Aes256Gcm { key, iv } => {
                (&AES_256_GCM, key.as_ref(), iv.as_ref())
            }
            ConnectionTrafficSecrets::Chacha20Poly1305 { key, iv } => {
                (&CHACHA20_POLY1305, key.as_ref(), iv.as_ref())
            }
            _ => return Err(Error::Other),
        };
        let key = LessSafeKey::new(UnboundKey::new(alg, key).map_err(|_| Error::Other)?);
        let iv: [u8; 12] = iv.try_into().map_err(|_| Error::Other)?;
        Ok(RecordKey { key, iv, seq })
    }

    fn nonce(&mut self) -> Nonce {
        let mut n = self.iv;
        for (b, s) in n[4..].iter_mut().zip(self.seq.to_be_bytes()) {
            *b ^= s;
        }
        self.seq += 1;
        Nonce::assume_unique_for_key(n)
    }

    /// Seals `payload` of inner type `kind` into `out`; returns the record length.
    ///
    /// # Errors
    /// [`Error::InsufficientSize`] when `out` is too small.
    pub fn seal(&mut self, kind: u8, payload: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        let inner = payload.len() + 1;
        let total = 5 + inner + 16;
        if out.len() < total {
            return Err(Error::InsufficientSize { required: total });
        }
        let body_len = (inner + 16) as u16;
        let header = [
            APPLICATION_DATA,
            3,
            3,
            (body_len >> 8) as u8,
            body_len as u8,
        ];
        out[..5].copy_from_slice(&header);
        let nonce = self.nonce();
        // Out of place: the plaintext is read where the caller has it, the ciphertext written
        // once into `out` (no staging copy); the inner type byte and the tag go after it.
        let (body, rest) = out[5..total].split_at_mut(payload.len());
        self.key
            .seal_out_of_place_scatter(nonce, Aad::from(header), payload, body, &[kind], rest)
            .map_err(|_| Error::Other)?;
        Ok(total)
    }

    /// Reads the header of the record at the start of `buf`: `Ok(None)` while incomplete, else
    /// the record's total length.
    fn record_len(buf: &[u8]) -> Result<Option<usize>, Error> {
        if buf.len() < 5 {
            return Ok(None);
        }
        let len = usize::from(u16::from_be_bytes([buf[3], buf[4]]));
        if buf[0] != APPLICATION_DATA || buf[1] != 3 || !(17..=MAX_PLAINTEXT + 256).contains(&len) {
            return Err(Error::PeerMisbehaved);
        }
        if buf.len() < 5 + len {
            return Ok(None);
        }
        Ok(Some(5 + len))
    }

    /// Length of the inner plaintext (payload, type byte, padding) of the complete record at
    /// the start of `buf`, what [`RecordKey::open_into`] needs: `Ok(None)` while incomplete.
    ///
    /// # Errors
    /// [`Error::PeerMisbehaved`] for a malformed header.
    pub fn inner_len(buf: &[u8]) -> Result<Option<usize>, Error> {
        Ok(Self::record_len(buf)?.map(|n| n - 5 - 16))
    }

    /// Opens the complete record at the start of `buf` into `out` (at least
    /// [`RecordKey::inner_len`] bytes), leaving `buf` untouched: returns the record's total
    /// length, its inner type and the payload's length (the payload is `out[..len]`).
    ///
    /// # Errors
    /// [`Error::PeerMisbehaved`] for a malformed or incomplete record or a short `out`,
    /// [`Error::BadRecordMac`] when authentication fails.
    pub fn open_into(&mut self, buf: &[u8], out: &mut [u8]) -> Result<(usize, u8, usize), Error> {
        let Some(total) = Self::record_len(buf)? else {
            return Err(Error::PeerMisbehaved);
        };
        let inner = total - 5 - 16;
        if out.len() < inner {
            return Err(Error::PeerMisbehaved);
        }
        let mut header = [0u8; 5];
        header.copy_from_slice(&buf[..5]);
        let nonce = self.nonce();
        let out = &mut out[..inner];
        self.key
            .open_separate_gather(
                nonce,
                Aad::from(header),
                &buf[5..5 + inner],
                &buf[5 + inner..total],
                out,
            )
            .map_err(|_| Error::BadRecordMac)?;
        let Some(end) = out.iter().rposition(|&b| b != 0) else {
            return Err(Error::PeerMisbehaved);
        };
        Ok((total, out[end], end))
    }

    /// Opens the record at the start of `buf` in place. Returns `Ok(None)` when the record is
    /// incomplete, else the record's total length, its inner type and the payload's range.
    ///
    /// # Errors
    /// [`Error::PeerMisbehaved`] for a malformed header, [`Error::BadRecordMac`] when
    /// authentication fails.
    pub fn open(
        &mut self,
        buf: &mut [u8],
    ) -> Result<Option<(usize, u8, core::ops::Range<usize>)>, Error> {
        let Some(total) = Self::record_len(buf)? else {
            return Ok(None);
        };
        let len = total - 5;
        let mut header = [0u8; 5];
        header.copy_from_slice(&buf[..5]);
        let nonce = self.nonce();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(header), &mut buf[5..5 + len])
            .map_err(|_| Error::BadRecordMac)?;
        let Some(end) = plain.iter().rposition(|&b| b != 0) else {
            return Err(Error::PeerMisbehaved);
        };
        Ok(Some((5 + len, plain[end], 5..5 + end)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> RecordKey {
        // AeadKey is built from its 32-byte maximum; use AES-256-GCM so every byte is key.
        let secrets = ConnectionTrafficSecrets::Aes256Gcm {
            key: [7u8; 32].into(),
            iv: [9u8; 12].into(),
        };
        RecordKey::new(0, &secrets).expect("valid")
    }

    #[test]
    fn seal_then_open_round_trips_and_detects_tampering() {
        let (mut tx, mut rx) = (key(), key());
        let mut wire = [0u8; 256];
        let n = tx
            .seal(APPLICATION_DATA, b"8=FIX.4.4|35=D|", &mut wire)
            .expect("fits");
        let (len, kind, range) = rx
            .open(&mut wire[..n])
            .expect("authentic")
            .expect("complete");
        assert_eq!((len, kind), (n, APPLICATION_DATA));
        assert_eq!(&wire[range], b"8=FIX.4.4|35=D|");
        let n = tx
            .seal(APPLICATION_DATA, b"second", &mut wire)
            .expect("fits");
        wire[7] ^= 1;
        assert_eq!(rx.open(&mut wire[..n]), Err(Error::BadRecordMac));
        assert_eq!(rx.open(&mut wire[..4]), Ok(None));
        let mut small = [0u8; 10];
        assert!(matches!(
            tx.seal(APPLICATION_DATA, b"too big for ten", &mut small),
            Err(Error::InsufficientSize { .. })
        ));
    }

    #[test]
    fn open_into_decrypts_out_of_place_and_detects_tampering() {
        let (mut tx, mut rx) = (key(), key());
        let mut wire = [0u8; 256];
        let n = tx
            .seal(APPLICATION_DATA, b"8=FIX.4.4|35=0|", &mut wire)
            .expect("fits");
        assert_eq!(RecordKey::inner_len(&wire[..n - 1]), Ok(None));
        let inner = RecordKey::inner_len(&wire[..n])
            .expect("header")
            .expect("complete");
        assert_eq!(inner, 16);
        let before = wire;
        let mut out = [0u8; 64];
        let (len, kind, payload) = rx.open_into(&wire[..n], &mut out).expect("authentic");
        assert_eq!((len, kind), (n, APPLICATION_DATA));
        assert_eq!(&out[..payload], b"8=FIX.4.4|35=0|");
        assert_eq!(wire, before, "input untouched");
        let n = tx.seal(ALERT, &[1, 0], &mut wire).expect("fits");
        assert_eq!(
            rx.open_into(&wire[..n], &mut out[..2]),
            Err(Error::PeerMisbehaved),
            "output shorter than the inner plaintext"
        );
        let (mut tx, mut rx) = (key(), key());
        let n = tx.seal(APPLICATION_DATA, b"x", &mut wire).expect("fits");
        wire[n - 1] ^= 1;
        assert_eq!(rx.open_into(&wire[..n], &mut out), Err(Error::BadRecordMac));
    }
}
