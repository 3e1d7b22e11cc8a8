//! An in-process NIC pair: two ends joined by two fixed-capacity frame rings.
//!
//! Both ends are polled from one thread (the in-process benchmark topology of DESIGN §4);
//! the rings live behind `Rc<RefCell<…>>` shared by the ends: a borrow flag, not a lock, and
//! no allocation per frame (frame buffers are allocated once and exchanged, not copied, between
//! an end and the ring).
//!
//! **Buffer reuse.** A ring keeps its free frame buffers on a stack: the receiver returns the
//! buffer it gave up last, the sender takes the one returned most recently. A frame is thus
//! built in a buffer that was in use a frame or two ago (still in cache) rather than in the
//! one a slot held a full ring ago (1024 slots of 2 KiB are 2 MiB, past L2): building the
//! order frame does not wait on cache misses.
//!
//! **Checksums.** Frames only ever move between memory buffers of this process, so a direction
//! without corruption faults cannot damage them: its receiving end reports
//! [`Nic::rx_checksum_trusted`] and the stack skips verification, as it would with hardware
//! offload. The sending end leaves checksums out ([`Nic::tx_checksum_offload`]) only once the
//! receiving end's stack has said it trusts the ring (the answer is recorded in the ring), so
//! a receiver wrapped in something that does not forward the question (a meter, a
//! [`crate::pcap`] capture), or read without a stack, always gets checksummed frames. As soon
//! as the sending end has [`Faults::corrupt_permille`] set, the sender fills checksums and the
//! receiver verifies them.
//!
//! [`Faults`] turns an end into a lossy, duplicating, reordering, corrupting link with a seeded
//! generator, for TCP recovery tests.

use std::cell::RefCell;
use std::rc::Rc;

use crate::nic::Nic;

/// Size of every frame buffer (also [`crate::mem_spsc`]'s).
pub(crate) const SLOT: usize = 2048;

#[derive(Debug)]
struct Ring {
    /// The buffer of each queued frame (empty, unallocated `Vec`s in free slots). Ends
    /// exchange whole buffers with the ring (`mem::swap`), so a frame is written once by the
    /// sender and never copied on the way.
    bufs: Vec<Vec<u8>>,
    /// Free buffers of `SLOT` bytes, most recently returned last (see the module doc). With
    /// the queued frames they number `slots`: one is always free when a frame is committed
    /// (`tx_alloc` keeps a slot spare).
    free: Vec<Vec<u8>>,
    lens: Vec<u16>,
    /// Slot of the oldest frame.
    head: usize,
    /// Slot the next frame goes to.
    tail: usize,
    /// Frames queued.
    queued: usize,
    slots: usize,
    /// The sending end corrupts frames ([`Faults::corrupt_permille`]): the receiver must
    /// verify checksums.
    corrupting: bool,
    /// The receiving end last answered [`Nic::rx_checksum_trusted`] with `true`: the stack
    /// reading this ring relies on its integrity, so the sender may leave checksums out.
    /// Stays `false` when the receiving end sits inside a wrapper that does not forward the
    /// question (its stack then verifies), or is read without a stack.
    receiver_trusts: bool,
}

impl Ring {
    fn new(slots: usize) -> Ring {
        Ring {
            bufs: (0..slots).map(|_| Vec::new()).collect(),
            free: (0..slots).map(|_| vec![0; SLOT]).collect(),
            lens: vec![0; slots],
            head: 0,
            tail: 0,
            queued: 0,
            slots,
            corrupting: false,
            receiver_trusts: false,
        }
    }

    fn len(&self) -> usize {
        self.queued
    }

    /// Takes the buffer of the frame at the head (the caller advances the head) in exchange
    /// for `buf`, which goes on the free stack.
    fn take_head(&mut self, buf: &mut Vec<u8>) {
        let s = self.head;
        let frame = core::mem::take(&mut self.bufs[s]);
        let old = core::mem::replace(buf, frame);
        // Within capacity: buffers in `free` and in the queue never number more than `slots`.
        self.free.push(old);
    }

    /// Frees the head slot of a frame taken by `rx_peek` (its buffer, the receiver's old
    /// one, goes on the free stack) and advances the head.
    fn release_head(&mut self) {
        let s = self.head;
        let old = core::mem::take(&mut self.bufs[s]);
        self.free.push(old);
        self.head = self.next(s);
        self.queued -= 1;
    }

    /// A free buffer for the sender (the most recently returned), or `None` if the stack is
    /// empty (it is not while `tx_alloc` keeps a slot spare).
    fn take_free(&mut self) -> Option<Vec<u8>> {
        self.free.pop()
    }

    /// The slot after `i` (no division on the per-frame path).
    fn next(&self, i: usize) -> usize {
        if i + 1 == self.slots {
            0
        } else {
            i + 1
        }
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
        self.tx.borrow_mut().corrupting = faults.corrupt_permille > 0;
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
            let mut ring = self.rx.borrow_mut();
            if ring.len() == 0 {
                return None;
            }
            // Take the slot's buffer and leave ours in its place (the slot is free once
            // released): the RefCell borrow cannot outlive this call, the buffer can.
            // (The slot keeps a full-size buffer while the frame is held: a reordering sender
            // may swap it; it goes on the free stack on release.)
            let s = ring.head;
            let len = usize::from(ring.lens[s]);
            core::mem::swap(&mut ring.bufs[s], &mut self.rx_frame);
            self.rx_held = Some(len);
        }
        self.rx_held.map(|n| &self.rx_frame[..n])
    }

    fn rx_release(&mut self) {
        if self.rx_held.take().is_some() {
            self.rx.borrow_mut().release_head();
        }
    }

    fn rx_take(&mut self, buf: &mut Vec<u8>) -> Option<usize> {
        if buf.len() < SLOT {
            // Too short to be a slot buffer: copy.
            let frame = self.rx_peek()?;
            let n = frame.len().min(buf.len());
            buf[..n].copy_from_slice(&frame[..n]);
            self.rx_release();
            return Some(n);
        }
        if let Some(n) = self.rx_held.take() {
            // A frame peeked before: hand over its buffer.
            core::mem::swap(buf, &mut self.rx_frame);
            self.rx.borrow_mut().release_head();
            return Some(n);
        }
        let mut ring = self.rx.borrow_mut();
        if ring.len() == 0 {
            return None;
        }
        let s = ring.head;
        let n = usize::from(ring.lens[s]);
        ring.take_head(buf);
        ring.head = ring.next(s);
        ring.queued -= 1;
        Some(n)
    }

    fn rx_checksum_trusted(&self) -> bool {
        let mut ring = self.rx.borrow_mut();
        ring.receiver_trusts = !ring.corrupting;
        ring.receiver_trusts
    }

    fn tx_checksum_offload(&self) -> bool {
        self.faults.corrupt_permille == 0 && self.tx.borrow().receiver_trusts
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
        for copy in 0..copies {
            if ring.len() == ring.slots {
                break;
            }
            let s = ring.tail;
            // A free buffer: our next frame's (the last copy), or the duplicate's.
            let Some(mut free) = ring.take_free() else {
                break;
            };
            if copy + 1 == copies {
                // Hand the frame's buffer to the ring, take the free buffer back.
                core::mem::swap(&mut free, &mut self.tx_frame);
            } else {
                free[..len].copy_from_slice(&self.tx_frame[..len]);
            }
            ring.bufs[s] = free;
            ring.lens[s] = len as u16;
            ring.tail = ring.next(s);
            ring.queued += 1;
            if reorder && ring.len() >= 2 {
                // Swap with the frame queued before it.
                let a = if s == 0 { ring.slots - 1 } else { s - 1 };
                ring.bufs.swap(a, s);
                ring.lens.swap(a, s);
                self.stats.reordered += 1;
            }
        }
    }

    fn tx_flush(&mut self) -> usize {
        0
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Sends a frame of `len` bytes of `tag`; false if refused.
    pub(crate) fn send(nic: &mut impl Nic, tag: u8, len: usize) -> bool {
        let Some(buf) = nic.tx_alloc(len) else {
            return false;
        };
        buf.fill(tag);
        nic.tx_commit(len);
        true
    }

    #[test]
    fn a_frame_is_built_in_the_buffer_the_receiver_gave_up_last() {
        let (mut a, mut b) = pair(1024, [2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
        let mut port = vec![0u8; SLOT];
        assert!(send(&mut a, 1, 100));
        let returned = port.as_ptr();
        assert_eq!(b.rx_take(&mut port), Some(100));
        assert!(port.iter().take(100).all(|&x| x == 1));
        assert_ne!(
            port.as_ptr(),
            returned,
            "the frame's buffer was handed over"
        );
        // The buffer the receiver gave up is the next free one: after this commit the sender
        // builds its following frame in it.
        assert!(send(&mut a, 2, 100));
        let next = a.tx_alloc(64).expect("room").as_ptr();
        assert_eq!(next, returned);
        assert_eq!(b.rx_take(&mut port), Some(100));
        assert!(port.iter().take(100).all(|&x| x == 2));
        assert_eq!(b.rx_take(&mut port), None);
    }

    #[test]
    fn buffers_are_conserved_through_faults_peeks_and_a_full_ring() {
        let (mut a, mut b) = pair(8, [2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
        a.set_faults(Faults {
            duplicate_permille: 300,
            reorder_permille: 300,
            seed: 11,
            ..Faults::default()
        });
        let mut port = vec![0u8; SLOT];
        let mut short = vec![0u8; 64];
        let (mut sent, mut got, mut refused) = (0u64, 0u64, 0u64);
        for i in 0..20_000u32 {
            let tag = (i % 251) as u8;
            let len = 60 + (i as usize * 7) % 1400;
            if send(&mut a, tag, len) {
                sent += 1;
            } else {
                refused += 1;
            }
            // Drain at varying paces and through every receive path.
            let frames = i % 3;
            for k in 0..frames {
                let frame: Option<(u8, usize)> = match (i + k) % 3 {
                    0 => b.rx_take(&mut port).map(|n| (port[0], n)),
                    1 => b.rx_take(&mut short).map(|n| (short[0], n)),
                    _ => {
                        let f = b.rx_peek().map(|f| (f[0], f.len()));
                        b.rx_release();
                        f
                    }
                };
                let Some((first, n)) = frame else { break };
                assert!((60..=SLOT).contains(&n), "length {n}");
                assert!(first < 251);
                got += 1;
            }
            let ring = a.tx.borrow();
            assert_eq!(
                ring.free.len() + ring.queued,
                ring.slots,
                "buffers conserved"
            );
            assert!(
                ring.free.capacity() == ring.slots,
                "the free stack never grew"
            );
        }
        assert!(sent > 0 && refused > 0 && got > 0);
        assert!(port.len() >= SLOT, "handed-over buffers are full-size");
        let stats = a.fault_stats();
        assert!(stats.duplicated > 0 && stats.reordered > 0);
    }
}
