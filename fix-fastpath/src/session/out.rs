//! The session's outbound byte queue.
//!
//! Admin traffic is written into it with the one-pass [`crate::encode::Encoder`]; application
//! messages arrive already encoded (precompiled templates) and are only queued.

use crate::encode::EncodeError;

/// A fixed-capacity byte queue: what the session wants sent, in order.
#[derive(Debug)]
pub struct TxQueue {
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl TxQueue {
    /// A queue of `capacity` bytes, allocated now and never grown.
    pub fn with_capacity(capacity: usize) -> TxQueue {
        TxQueue {
            buf: vec![0; capacity],
            start: 0,
            end: 0,
        }
    }

    /// Bytes waiting to be sent.
    pub fn pending(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Marks `n` pending bytes as sent.
    pub fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Drops everything pending (the connection is gone).
    pub fn clear(&mut self) {
        self.start = 0;
        self.end = 0;
    }

    /// Free space at the end, compacting first if that makes room for `want` bytes.
    pub fn space(&mut self, want: usize) -> &mut [u8] {
        if self.buf.len() - self.end < want && self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        &mut self.buf[self.end..]
    }

    /// Commits `n` bytes written into [`TxQueue::space`].
    pub fn commit(&mut self, n: usize) {
        self.end += n;
    }

    /// Appends `bytes`, or fails without writing anything.
    ///
    /// # Errors
    /// [`EncodeError::BufferTooSmall`] when the queue cannot hold them.
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), EncodeError> {
        let space = self.space(bytes.len());
        if space.len() < bytes.len() {
            return Err(EncodeError::BufferTooSmall {
                required: bytes.len(),
            });
        }
        space[..bytes.len()].copy_from_slice(bytes);
        self.commit(bytes.len());
        Ok(())
    }
}
