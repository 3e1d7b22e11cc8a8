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
    /// Reads the memory the next [`Journal::record_sent`] will write, so that its cache lines
    /// (and page-table entries) are at hand when an order is sent. Call it when idle, off the
    /// send path: a journal's next slot was last touched thousands of messages ago, and
    /// writing a message into cold memory cost ≈ 120 ns on the send path of `tickwire bench`
    /// (its stores queue behind the misses and hold up those of the TLS seal that follows).
    /// The default does nothing.
    fn warm(&self) {}
}

/// Reads one byte of every cache line `bytes` spans (what [`Journal::warm`] does with the
/// next slot); the result is opaque to the optimiser, so the loads stay.
pub(crate) fn touch(bytes: &[u8]) {
    const LINE: usize = 64;
    let mut acc = bytes.last().copied().unwrap_or(0);
    for &b in bytes.iter().step_by(LINE) {
        acc ^= b;
    }
    core::hint::black_box(acc);
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

    fn warm(&self) {
        let slot = (self.next_sender % self.seqs.len() as u64) as usize;
        let start = slot * self.slot_len;
        touch(&self.data[start..start + self.slot_len]);
        core::hint::black_box((self.seqs[slot], self.lens[slot]));
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

    /// `warm` reads the next slot wherever the ring stands (including the wrap and a
    /// sequence number the ring has never held) and changes nothing.
    #[test]
    fn warm_changes_nothing_around_the_ring() {
        let mut j = MemoryJournal::new(3, 16);
        for seq in 1..=10u64 {
            j.warm();
            let body = format!("message {seq}");
            j.record_sent(seq, body.as_bytes()).expect("fits");
            j.set_next_sender_seq(seq + 1);
            j.warm();
            for held in seq.saturating_sub(2).max(1)..=seq {
                assert_eq!(j.sent(held), Some(format!("message {held}").as_bytes()));
            }
            assert_eq!(j.sent(seq + 1), None);
        }
        j.set_next_sender_seq(u64::MAX);
        j.warm();
        assert_eq!(
            (j.next_sender_seq(), j.sent(10)),
            (u64::MAX, Some(&b"message 10"[..]))
        );
    }

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
