//! The in-memory journal is sized and touched at start-up: filling every slot of a fresh ring
//! takes no page fault (before, the first message into each page faulted, a few µs on the
//! send path, until the ring had wrapped once).
#![allow(clippy::unwrap_used)]

use nix::sys::resource::{getrusage, UsageWho};
use tickwire_fix::session::{Journal, MemoryJournal};

fn minor_faults() -> i64 {
    getrusage(UsageWho::RUSAGE_THREAD)
        .unwrap()
        .minor_page_faults()
}

#[test]
fn filling_a_fresh_journal_takes_no_page_fault() {
    const SLOTS: usize = 4096;
    const SLOT: usize = 512;
    let message = [b'x'; 300];
    // Warm the code path and the stack first, on a journal of its own.
    let mut warm = MemoryJournal::new(4, SLOT);
    for seq in 1..=8 {
        warm.record_sent(seq, &message).unwrap();
    }
    let mut journal = MemoryJournal::new(SLOTS, SLOT);
    let before = minor_faults();
    for seq in 1..=SLOTS as u64 {
        journal.record_sent(seq, &message).unwrap();
    }
    let faults = minor_faults() - before;
    assert_eq!(journal.sent(SLOTS as u64), Some(&message[..]));
    // 4096 slots of 512 B are 512 pages: a lazily mapped ring faults once per page.
    assert_eq!(faults, 0, "{faults} minor faults filling {SLOTS} slots");
}
