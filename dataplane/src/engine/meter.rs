//! Counting without copying: a [`Nic`] wrapper that counts frames and bytes both ways, and a
//! TLS record counter that follows record headers through the received byte stream.

use crate::nic::Nic;

/// A [`Nic`] that counts what passes through it; everything else is the inner NIC's.
#[derive(Debug)]
pub struct Metered<N: Nic> {
    inner: N,
    peeked: usize,
    /// Frames received.
    pub rx_frames: u64,
    /// Bytes received.
    pub rx_bytes: u64,
    /// Frames queued for transmission.
    pub tx_frames: u64,
    /// Bytes queued for transmission.
    pub tx_bytes: u64,
}

impl<N: Nic> Metered<N> {
    /// Wraps `inner`.
    pub fn new(inner: N) -> Metered<N> {
        Metered {
            inner,
            peeked: 0,
            rx_frames: 0,
            rx_bytes: 0,
            tx_frames: 0,
            tx_bytes: 0,
        }
    }

    /// The wrapped NIC.
    pub fn inner(&self) -> &N {
        &self.inner
    }

    /// The wrapped NIC, mutably (fault injection in tests).
    pub fn inner_mut(&mut self) -> &mut N {
        &mut self.inner
    }
}

impl<N: Nic> Nic for Metered<N> {
    #[inline]
    fn mac(&self) -> [u8; 6] {
        self.inner.mac()
    }

    #[inline]
    fn rx_peek(&mut self) -> Option<&[u8]> {
        let f = self.inner.rx_peek()?;
        self.peeked = f.len();
        Some(f)
    }

    #[inline]
    fn rx_release(&mut self) {
        self.rx_frames += 1;
        self.rx_bytes += self.peeked as u64;
        self.peeked = 0;
        self.inner.rx_release();
    }

    #[inline]
    fn tx_alloc(&mut self, len: usize) -> Option<&mut [u8]> {
        self.inner.tx_alloc(len)
    }

    #[inline]
    fn tx_commit(&mut self, len: usize) {
        self.tx_frames += 1;
        self.tx_bytes += len as u64;
        self.inner.tx_commit(len);
    }

    #[inline]
    fn tx_flush(&mut self) -> usize {
        self.inner.tx_flush()
    }

    #[inline]
    fn mtu(&self) -> usize {
        self.inner.mtu()
    }
}

/// Counts TLS records in a byte stream delivered in arbitrary pieces, by reading each 5-byte
/// record header (type, version, length) and skipping the body.
#[derive(Debug, Clone, Copy, Default)]
pub struct RecordCounter {
    /// Body bytes of the current record still to skip.
    remaining: usize,
    header: [u8; 5],
    header_len: usize,
    /// Records whose header has been seen.
    pub records: u64,
}

impl RecordCounter {
    /// Follows `bytes`, the next piece of the stream.
    #[inline]
    pub fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.remaining > 0 {
                let n = self.remaining.min(bytes.len());
                self.remaining -= n;
                bytes = &bytes[n..];
                continue;
            }
            let n = (5 - self.header_len).min(bytes.len());
            self.header[self.header_len..self.header_len + n].copy_from_slice(&bytes[..n]);
            self.header_len += n;
            bytes = &bytes[n..];
            if self.header_len == 5 {
                self.records += 1;
                self.remaining = usize::from(u16::from_be_bytes([self.header[3], self.header[4]]));
                self.header_len = 0;
            }
        }
    }

    /// Starts over (a new connection).
    pub fn reset(&mut self) {
        *self = RecordCounter {
            records: self.records,
            ..RecordCounter::default()
        };
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn records_are_counted_however_the_stream_is_split() {
        let mut stream = Vec::new();
        for len in [0usize, 1, 200, 16_384, 3] {
            stream.extend_from_slice(&[23, 3, 3]);
            stream.extend_from_slice(&(len as u16).to_be_bytes());
            stream.extend(std::iter::repeat_n(0xAB, len));
        }
        for piece in [1, 2, 4, 5, 7, 100, stream.len()] {
            let mut c = RecordCounter::default();
            for chunk in stream.chunks(piece) {
                c.feed(chunk);
            }
            assert_eq!(c.records, 5, "pieces of {piece}");
            assert_eq!((c.remaining, c.header_len), (0, 0));
        }
    }
}
