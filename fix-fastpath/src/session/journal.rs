//! What a session must remember across messages and restarts: both sequence numbers and the
//! application messages it sent (to answer ResendRequests).
//!
//! [`Journal`] is the seam: [`MemoryJournal`] keeps everything in a fixed-capacity ring (tests,
//! the venue simulator's short-lived sessions), [`crate::store::Store`] keeps it in a crash-safe
//! memory-mapped file.

/// Why the journal refused a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JournalError {
    /// The message is larger than a journal slot / the remaining space.
    Full { capacity: usize },
    /// The backing storage failed.
    Io,
}

impl core::fmt::Display for JournalError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Full { capacity } => write!(f, "journal full ({capacity} bytes)"),
            Self::Io => f.write_str("journal storage failed"),
        }
    }
}

impl std::error::Error for JournalError {}

/// Sequence numbers and sent application messages of one session.
pub trait Journal {
    /// MsgSeqNum of the next message we send.
    fn next_sender_seq(&self) -> u64;
    /// MsgSeqNum we expect on the next message we receive.
    fn next_target_seq(&self) -> u64;
    /// Sets the next outbound MsgSeqNum.
    fn set_next_sender_seq(&mut self, seq: u64);
    /// Sets the next expected inbound MsgSeqNum.
    fn set_next_target_seq(&mut self, seq: u64);
    /// Records an application message we sent with MsgSeqNum `seq`.
    ///
    /// # Errors
    /// [`JournalError`] when it cannot be stored; the caller must not send it then.
    fn record_sent(&mut self, seq: u64, bytes: &[u8]) -> Result<(), JournalError>;
    /// The application message we sent with `seq`, if it is still held.
    fn sent(&self, seq: u64) -> Option<&[u8]>;
    /// Starts over: both sequences back to 1, stored messages forgotten.
    fn reset(&mut self);
}

/// An in-memory journal: a ring of `slots` fixed-size message slots, allocated once.
#[derive(Debug)]
pub struct MemoryJournal {
    next_sender: u64,
    next_target: u64,
    slot_len: usize,
    seqs: Vec<u64>,
    lens: Vec<u32>,
    data: Vec<u8>,
}

impl MemoryJournal {
    /// Holds the last `slots` application messages of up to `slot_len` bytes each.
    ///
    /// The memory is touched now, page by page: a zeroed allocation is mapped lazily, and the
    /// first message into each fresh page would otherwise take a page fault (a few µs) on the
    /// send path until the ring has wrapped once.
    pub fn new(slots: usize, slot_len: usize) -> MemoryJournal {
        let slots = slots.max(1);
        MemoryJournal {
            next_sender: 1,
            next_target: 1,
            slot_len,
            seqs: prefaulted(slots),
            lens: prefaulted(slots),
            data: prefaulted(slots * slot_len),
        }
    }
}

/// `len` zeroed elements with every page of them written once, so that none faults later.
fn prefaulted<T: Copy + Default>(len: usize) -> Vec<T> {
    let mut v = vec![T::default(); len];
    let step = (4096 / core::mem::size_of::<T>().max(1)).max(1);
    for x in v.iter_mut().step_by(step) {
        // Opaque to the optimiser: a plain zero store into zeroed memory could be dropped.
        *x = core::hint::black_box(T::default());
    }
    v
}

impl Journal for MemoryJournal {
    fn next_sender_seq(&self) -> u64 {
        self.next_sender
    }

    fn next_target_seq(&self) -> u64 {
        self.next_target
    }

    fn set_next_sender_seq(&mut self, seq: u64) {
        self.next_sender = seq;
    }

    fn set_next_target_seq(&mut self, seq: u64) {
        self.next_target = seq;
    }

    fn record_sent(&mut self, seq: u64, bytes: &[u8]) -> Result<(), JournalError> {
        if bytes.len() > self.slot_len {
            return Err(JournalError::Full {
                capacity: self.slot_len,
            });
        }
        let slot = (seq % self.seqs.len() as u64) as usize;
        let start = slot * self.slot_len;
        self.data[start..start + bytes.len()].copy_from_slice(bytes);
        self.seqs[slot] = seq;
        self.lens[slot] = bytes.len() as u32;
        Ok(())
    }

    fn sent(&self, seq: u64) -> Option<&[u8]> {
        let slot = (seq % self.seqs.len() as u64) as usize;
        if self.seqs[slot] != seq || seq == 0 {
            return None;
        }
        let start = slot * self.slot_len;
        Some(&self.data[start..start + self.lens[slot] as usize])
    }

    fn reset(&mut self) {
        self.next_sender = 1;
        self.next_target = 1;
        self.seqs.iter_mut().for_each(|s| *s = 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_keeps_the_latest_messages() {
        let mut j = MemoryJournal::new(2, 8);
        j.record_sent(1, b"one").expect("fits");
        j.record_sent(2, b"two").expect("fits");
        j.record_sent(3, b"three").expect("fits");
        assert_eq!(j.sent(1), None, "overwritten by 3");
        assert_eq!(j.sent(2), Some(&b"two"[..]));
        assert_eq!(j.sent(3), Some(&b"three"[..]));
        assert_eq!(
            j.record_sent(4, b"too long!"),
            Err(JournalError::Full { capacity: 8 })
        );
        j.reset();
        assert_eq!(j.sent(2), None);
        assert_eq!((j.next_sender_seq(), j.next_target_seq()), (1, 1));
    }
}
