//! An in-process NIC pair: two ends joined by two fixed-capacity frame rings.
//!
//! Both ends are polled from one thread (the in-process benchmark topology of DESIGN §4);
//! the rings live behind `Rc<RefCell<…>>` shared by the ends: a borrow flag, not a lock, and
//! no allocation per frame (slots are allocated once).
//!
//! [`Faults`] turns an end into a lossy, duplicating, reordering, corrupting link with a seeded
//! generator, for TCP recovery tests.

use std::cell::RefCell;
use std::rc::Rc;

use crate::nic::Nic;

const SLOT: usize = 2048;

#[derive(Debug)]
struct Ring {
    data: Vec<u8>,
    lens: Vec<u16>,
    head: usize,
    tail: usize,
    slots: usize,
}

impl Ring {
    fn new(slots: usize) -> Ring {
        Ring {
            data: vec![0; slots * SLOT],
            lens: vec![0; slots],
            head: 0,
            tail: 0,
            slots,
        }
    }

    fn len(&self) -> usize {
        self.tail - self.head
    }

    fn slot_mut(&mut self, i: usize) -> &mut [u8] {
        let s = i % self.slots;
        &mut self.data[s * SLOT..(s + 1) * SLOT]
    }

    fn frame(&self, i: usize) -> &[u8] {
        let s = i % self.slots;
        &self.data[s * SLOT..s * SLOT + usize::from(self.lens[s])]
    }
}

/// Seeded link impairments, applied on transmit.
#[derive(Debug, Clone, Copy, Default)]
pub struct Faults {
    /// Per-mille of frames dropped.
    pub loss_permille: u16,
    /// Per-mille of frames sent twice.
    pub duplicate_permille: u16,
    /// Per-mille of frames swapped with the next one.
    pub reorder_permille: u16,
    /// Per-mille of frames with one byte flipped.
    pub corrupt_permille: u16,
    /// Generator seed.
    pub seed: u64,
}

/// What the impairments did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultStats {
    /// Frames dropped.
    pub lost: u64,
    /// Frames duplicated.
    pub duplicated: u64,
    /// Frames reordered.
    pub reordered: u64,
    /// Frames corrupted.
    pub corrupted: u64,
}

/// One end of a [`pair`].
#[derive(Debug)]
pub struct MemNic {
    mac: [u8; 6],
    rx: Rc<RefCell<Ring>>,
    tx: Rc<RefCell<Ring>>,
    rx_held: Option<usize>,
    rx_frame: Vec<u8>,
    tx_frame: Vec<u8>,
    tx_pending: usize,
    faults: Faults,
    rng: u64,
    stats: FaultStats,
    /// Frames refused because the ring was full.
    pub tx_ring_full: u64,
}

/// Two connected ends with `slots` frames of buffering per direction.
pub fn pair(slots: usize, mac_a: [u8; 6], mac_b: [u8; 6]) -> (MemNic, MemNic) {
    let ab = Rc::new(RefCell::new(Ring::new(slots)));
    let ba = Rc::new(RefCell::new(Ring::new(slots)));
    let end = |mac, rx, tx| MemNic {
        mac,
        rx,
        tx,
        rx_held: None,
        rx_frame: vec![0; SLOT],
        tx_frame: vec![0; SLOT],
        tx_pending: 0,
        faults: Faults::default(),
        rng: 0,
        stats: FaultStats::default(),
        tx_ring_full: 0,
    };
    (end(mac_a, ba.clone(), ab.clone()), end(mac_b, ab, ba))
}

impl MemNic {
    /// Impairs what this end transmits.
    pub fn set_faults(&mut self, faults: Faults) {
        self.faults = faults;
        self.rng = faults.seed | 1;
    }

    /// What the impairments did so far.
    pub fn fault_stats(&self) -> FaultStats {
        self.stats
    }

    fn roll(&mut self, permille: u16) -> bool {
        if permille == 0 {
            return false;
        }
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng % 1000) < u64::from(permille)
    }
}

impl Nic for MemNic {
    fn mac(&self) -> [u8; 6] {
        self.mac
    }

    fn rx_peek(&mut self) -> Option<&[u8]> {
        if self.rx_held.is_none() {
            let ring = self.rx.borrow();
            if ring.len() == 0 {
                return None;
            }
            // The frame is copied out of the shared ring into this end's buffer: the RefCell
            // borrow cannot outlive this call. (A ring per end with indices would avoid it;
            // in-memory links are for tests and the software-cost benchmark.)
            let f = ring.frame(ring.head);
            self.rx_frame[..f.len()].copy_from_slice(f);
            self.rx_held = Some(f.len());
        }
        self.rx_held.map(|n| &self.rx_frame[..n])
    }

    fn rx_release(&mut self) {
        if self.rx_held.take().is_some() {
            self.rx.borrow_mut().head += 1;
        }
    }

    fn tx_alloc(&mut self, len: usize) -> Option<&mut [u8]> {
        if len > SLOT {
            return None;
        }
        let full = {
            let ring = self.tx.borrow();
            ring.len() + 2 > ring.slots
        };
        if full {
            self.tx_ring_full += 1;
            return None;
        }
        self.tx_pending = len;
        Some(&mut self.tx_frame[..len])
    }

    fn tx_commit(&mut self, len: usize) {
        let len = len.min(self.tx_pending);
        if self.roll(self.faults.loss_permille) {
            self.stats.lost += 1;
            return;
        }
        if self.roll(self.faults.corrupt_permille) && len > 20 {
            let at = 14 + (self.rng as usize % (len - 14));
            self.tx_frame[at] ^= 0x5a;
            self.stats.corrupted += 1;
        }
        let copies = if self.roll(self.faults.duplicate_permille) {
            self.stats.duplicated += 1;
            2
        } else {
            1
        };
        let reorder = self.roll(self.faults.reorder_permille);
        let mut ring = self.tx.borrow_mut();
        for _ in 0..copies {
            if ring.len() == ring.slots {
                break;
            }
            let t = ring.tail;
            ring.slot_mut(t)[..len].copy_from_slice(&self.tx_frame[..len]);
            let s = t % ring.slots;
            ring.lens[s] = len as u16;
            ring.tail += 1;
            if reorder && ring.len() >= 2 {
                // Swap with the frame queued before it.
                let (a, b) = ((t - 1) % ring.slots, t % ring.slots);
                let (la, lb) = (ring.lens[a], ring.lens[b]);
                let mut tmp = [0u8; SLOT];
                tmp.copy_from_slice(&ring.data[a * SLOT..(a + 1) * SLOT]);
                ring.data.copy_within(b * SLOT..(b + 1) * SLOT, a * SLOT);
                ring.data[b * SLOT..(b + 1) * SLOT].copy_from_slice(&tmp);
                ring.lens[a] = lb;
                ring.lens[b] = la;
                self.stats.reordered += 1;
            }
        }
    }

    fn tx_flush(&mut self) -> usize {
        0
    }
}
