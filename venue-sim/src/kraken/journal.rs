//! The venue's session journals: trading sessions keep their ExecutionReports for resends
//! (and for a 141=N resume after a disconnect), market-data sessions keep only sequence numbers
//! (their resends are gap-filled, SPEC §3.2 [ASSUME]).

use tickwire_fix::session::{Journal, JournalError, MemoryJournal};

/// A trading session's ring of sent messages, or a market-data session's sequence numbers.
#[derive(Debug)]
pub struct VenueJournal {
    ring: Option<MemoryJournal>,
    next_sender: u64,
    next_target: u64,
}

impl VenueJournal {
    /// Keeps the last `slots` application messages of up to `slot_len` bytes.
    pub fn trading(slots: usize, slot_len: usize) -> VenueJournal {
        VenueJournal {
            ring: Some(MemoryJournal::new(slots, slot_len)),
            next_sender: 1,
            next_target: 1,
        }
    }

    /// Sequence numbers only.
    pub fn market_data() -> VenueJournal {
        VenueJournal {
            ring: None,
            next_sender: 1,
            next_target: 1,
        }
    }
}

impl Journal for VenueJournal {
    fn next_sender_seq(&self) -> u64 {
        match &self.ring {
            Some(r) => r.next_sender_seq(),
            None => self.next_sender,
        }
    }

    fn next_target_seq(&self) -> u64 {
        match &self.ring {
            Some(r) => r.next_target_seq(),
            None => self.next_target,
        }
    }

    fn set_next_sender_seq(&mut self, seq: u64) {
        match &mut self.ring {
            Some(r) => r.set_next_sender_seq(seq),
            None => self.next_sender = seq,
        }
    }

    fn set_next_target_seq(&mut self, seq: u64) {
        match &mut self.ring {
            Some(r) => r.set_next_target_seq(seq),
            None => self.next_target = seq,
        }
    }

    fn record_sent(&mut self, seq: u64, bytes: &[u8]) -> Result<(), JournalError> {
        match &mut self.ring {
            Some(r) => r.record_sent(seq, bytes),
            None => Ok(()),
        }
    }

    fn sent(&self, seq: u64) -> Option<&[u8]> {
        self.ring.as_ref().and_then(|r| r.sent(seq))
    }

    fn reset(&mut self) {
        match &mut self.ring {
            Some(r) => r.reset(),
            None => {
                self.next_sender = 1;
                self.next_target = 1;
            }
        }
    }
}
