//! An in-memory NIC pair for two threads: each end is `Send`, and frames cross between the
//! threads through lock-free single-producer single-consumer rings ([`rtrb`]).
//!
//! The two-thread counterpart of [`crate::mem::pair`]: the appliance polls one end on its core,
//! a venue polls the other end on another core (the `inmem-2core` benchmark topology), as a
//! venue on another machine would. Same properties as the one-thread pair: capacity fixed at
//! start, no allocation and no lock per frame, frame buffers allocated once and exchanged (moved,
//! never copied) between the ends.
//!
//! ```text
//!            frames (Vec + length) ──────────────►
//! sender ─┐                                         ┌─ receiver
//!         └◄──────────── free buffers (Vec) ◄───────┘
//! ```
//!
//! Each direction is two rtrb rings: the frames, and the buffers the receiver gives back. The
//! sender keeps the buffers it got back on a small stack of its own and builds the next frame
//! in the one returned most recently (it was in use a frame or two ago: still in cache), as
//! [`crate::mem`] does, rather than in the one a full ring ago.
//!
//! **Capacity.** A direction holds `slots` frames. [`Nic::tx_alloc`] refuses (returns `None`,
//! counted in [`SpscNic::tx_ring_full`]) when the frame ring is full or no free buffer has come
//! back yet: back-pressure, never a silent drop.
//!
//! **Checksums.** As in [`crate::mem`]: frames only move between buffers of this process, so the
//! receiving end reports [`Nic::rx_checksum_trusted`], and the sending end leaves checksums out
//! ([`Nic::tx_checksum_offload`]) only once the receiving end's stack has asked that question
//! (recorded in an atomic flag of the direction, written once). A receiver read without a
//! stack, or inside a wrapper that does not forward the question, gets checksummed frames.
//! There are no fault injectors here (use [`crate::mem::Faults`] on the one-thread pair).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::mem::SLOT;
use crate::nic::Nic;

/// One frame in flight: its buffer (`SLOT` bytes) and the length used.
#[derive(Debug)]
struct Frame {
    buf: Vec<u8>,
    len: u16,
}

/// One end of a [`pair`]. `Send`: move it to the thread that polls it.
#[derive(Debug)]
pub struct SpscNic {
    mac: [u8; 6],
    /// Frames we send.
    tx: rtrb::Producer<Frame>,
    /// Buffers the peer gives back after reading our frames.
    tx_free: rtrb::Consumer<Vec<u8>>,
    /// Buffers back from the peer, most recently returned last; the next frame is built in
    /// the last one. Capacity `slots + 1`: every buffer of the direction fits.
    spare: Vec<Vec<u8>>,
    /// The buffer the frame being built lives in (`SLOT` bytes).
    tx_frame: Vec<u8>,
    /// `tx_alloc` granted a frame (the ring has a slot and `spare` a buffer).
    tx_pending: Option<usize>,
    /// Frames the peer sends us.
    rx: rtrb::Consumer<Frame>,
    /// Buffers we give back to the peer.
    rx_free: rtrb::Producer<Vec<u8>>,
    /// The frame handed out by `rx_peek`, until released.
    rx_held: Option<Frame>,
    /// Our receiving stack trusts the link (set once, by `rx_checksum_trusted`).
    rx_trusts: Arc<AtomicBool>,
    /// The peer's receiving stack trusts the link.
    peer_trusts: Arc<AtomicBool>,
    /// Frames refused because the ring was full (or no buffer had come back).
    pub tx_ring_full: u64,
}

/// The sending end's half of one direction.
struct Outbound {
    frames: rtrb::Producer<Frame>,
    free: rtrb::Consumer<Vec<u8>>,
    spare: Vec<Vec<u8>>,
    trusts: Arc<AtomicBool>,
}

/// The receiving end's half of one direction.
struct Inbound {
    frames: rtrb::Consumer<Frame>,
    free: rtrb::Producer<Vec<u8>>,
    trusts: Arc<AtomicBool>,
}

/// One direction: `slots` frames of capacity, `slots` buffers on the sender's stack (plus the
/// one it builds in). Every buffer of the direction fits in the free ring and on the stack.
fn direction(slots: usize) -> (Outbound, Inbound) {
    let (frames_tx, frames_rx) = rtrb::RingBuffer::new(slots);
    let (free_tx, free_rx) = rtrb::RingBuffer::new(slots + 1);
    let mut spare = Vec::with_capacity(slots + 1);
    spare.extend((0..slots).map(|_| vec![0u8; SLOT]));
    let trusts = Arc::new(AtomicBool::new(false));
    (
        Outbound {
            frames: frames_tx,
            free: free_rx,
            spare,
            trusts: trusts.clone(),
        },
        Inbound {
            frames: frames_rx,
            free: free_tx,
            trusts,
        },
    )
}

/// Two connected ends with `slots` frames of buffering per direction (at least 1), for two
/// threads. All buffers (2 × (`slots` + 2) of 2 KiB) and ring slots are allocated here.
pub fn pair(slots: usize, mac_a: [u8; 6], mac_b: [u8; 6]) -> (SpscNic, SpscNic) {
    let slots = slots.max(1);
    let (ab_out, ab_in) = direction(slots);
    let (ba_out, ba_in) = direction(slots);
    let end = |mac, out: Outbound, inb: Inbound| SpscNic {
        mac,
        tx: out.frames,
        tx_free: out.free,
        spare: out.spare,
        tx_frame: vec![0u8; SLOT],
        tx_pending: None,
        rx: inb.frames,
        rx_free: inb.free,
        rx_held: None,
        rx_trusts: inb.trusts,
        peer_trusts: out.trusts,
        tx_ring_full: 0,
    };
    (end(mac_a, ab_out, ba_in), end(mac_b, ba_out, ab_in))
}

impl SpscNic {
    /// Gives a buffer back to the peer. Cannot fail: a direction's buffers never outnumber
    /// the free ring's capacity (`slots + 1`: all but the one the sender builds in).
    fn give_back(&mut self, buf: Vec<u8>) {
        let returned = self.rx_free.push(buf);
        debug_assert!(returned.is_ok(), "free ring over capacity");
    }

    /// Moves the buffers the peer gave back onto our stack (within its capacity).
    fn collect_free(&mut self) {
        while self.spare.len() < self.spare.capacity() {
            match self.tx_free.pop() {
                Ok(buf) => self.spare.push(buf),
                Err(_) => break,
            }
        }
    }
}

impl Nic for SpscNic {
    fn mac(&self) -> [u8; 6] {
        self.mac
    }

    fn rx_peek(&mut self) -> Option<&[u8]> {
        if self.rx_held.is_none() {
            self.rx_held = Some(self.rx.pop().ok()?);
        }
        self.rx_held.as_ref().map(|f| &f.buf[..usize::from(f.len)])
    }

    fn rx_release(&mut self) {
        if let Some(frame) = self.rx_held.take() {
            self.give_back(frame.buf);
        }
    }

    fn rx_take(&mut self, buf: &mut Vec<u8>) -> Option<usize> {
        let frame = match self.rx_held.take() {
            Some(f) => f,
            None => self.rx.pop().ok()?,
        };
        let n = usize::from(frame.len);
        if buf.len() < SLOT {
            // Too short to stand in for a frame buffer: copy.
            let m = n.min(buf.len());
            buf[..m].copy_from_slice(&frame.buf[..m]);
            self.give_back(frame.buf);
            return Some(m);
        }
        // Hand over the frame's buffer; the caller's goes back to the peer in its place.
        let old = core::mem::replace(buf, frame.buf);
        self.give_back(old);
        Some(n)
    }

    fn rx_checksum_trusted(&self) -> bool {
        // Written once: later calls only read, so the flag's cache line stays shared.
        if !self.rx_trusts.load(Ordering::Relaxed) {
            self.rx_trusts.store(true, Ordering::Relaxed);
        }
        true
    }

    fn tx_checksum_offload(&self) -> bool {
        self.peer_trusts.load(Ordering::Relaxed)
    }

    fn tx_alloc(&mut self, len: usize) -> Option<&mut [u8]> {
        if len > SLOT {
            return None;
        }
        self.collect_free();
        if self.tx.slots() == 0 || self.spare.is_empty() {
            self.tx_pending = None;
            self.tx_ring_full += 1;
            return None;
        }
        self.tx_pending = Some(len);
        Some(&mut self.tx_frame[..len])
    }

    fn tx_commit(&mut self, len: usize) {
        let Some(granted) = self.tx_pending.take() else {
            return;
        };
        // `tx_alloc` saw a free slot and a spare buffer; only this end takes either.
        let Some(next) = self.spare.pop() else {
            return;
        };
        let buf = core::mem::replace(&mut self.tx_frame, next);
        let len = len.min(granted) as u16;
        if let Err(rtrb::PushError::Full(frame)) = self.tx.push(Frame { buf, len }) {
            // Unreachable (the slot was seen free); keep the buffer rather than lose it.
            self.spare.push(frame.buf);
            self.tx_ring_full += 1;
        }
    }

    fn tx_flush(&mut self) -> usize {
        0
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::mem::tests::send;

    #[test]
    fn a_full_ring_refuses_until_the_receiver_reads() {
        let (mut a, mut b) = pair(4, [2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
        for tag in 0..4 {
            assert!(send(&mut a, tag, 100), "frame {tag} fits");
        }
        assert!(!send(&mut a, 9, 100), "the fifth frame is refused");
        assert_eq!(a.tx_ring_full, 1);
        let mut port = vec![0u8; SLOT];
        assert_eq!(b.rx_take(&mut port), Some(100));
        assert!(port[..100].iter().all(|&x| x == 0));
        assert!(send(&mut a, 4, 60), "room again once one frame was read");
        for tag in 1..5u8 {
            let f = b.rx_peek().unwrap();
            assert!(f.iter().all(|&x| x == tag), "frame {tag} in order");
            b.rx_release();
        }
        assert_eq!(b.rx_peek(), None);
        // b → a is independent of a → b.
        assert!(send(&mut b, 7, 64));
        assert_eq!(a.rx_peek().map(<[u8]>::len), Some(64));
    }

    #[test]
    fn the_next_frame_is_built_in_the_buffer_given_back_last() {
        let (mut a, mut b) = pair(16, [2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
        let mut port = vec![0u8; SLOT];
        assert!(send(&mut a, 1, 100));
        let given_back = port.as_ptr();
        assert_eq!(b.rx_take(&mut port), Some(100));
        assert_ne!(
            port.as_ptr(),
            given_back,
            "the frame's buffer was handed over"
        );
        assert!(send(&mut a, 2, 100));
        assert_eq!(a.tx_alloc(64).unwrap().as_ptr(), given_back);
    }

    #[test]
    fn checksums_are_left_out_only_once_the_receiver_trusts() {
        let (a, b) = pair(4, [2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
        assert!(!a.tx_checksum_offload());
        assert!(b.rx_checksum_trusted());
        assert!(a.tx_checksum_offload());
        assert!(
            !b.tx_checksum_offload(),
            "the other direction is not trusted yet"
        );
    }

    #[test]
    fn frames_cross_between_threads_in_order() {
        let (mut a, mut b) = pair(8, [2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
        const FRAMES: u32 = 50_000;
        let sender = std::thread::spawn(move || {
            let mut refused = 0u64;
            for i in 0..FRAMES {
                let len = 60 + (i as usize * 13) % 1400;
                loop {
                    if let Some(buf) = a.tx_alloc(len) {
                        buf[..4].copy_from_slice(&i.to_le_bytes());
                        a.tx_commit(len);
                        break;
                    }
                    refused += 1;
                    std::hint::spin_loop();
                }
            }
            (refused, a)
        });
        let mut port = vec![0u8; SLOT];
        let mut next = 0u32;
        while next < FRAMES {
            if let Some(n) = b.rx_take(&mut port) {
                assert_eq!(n, 60 + (next as usize * 13) % 1400);
                assert_eq!(u32::from_le_bytes(port[..4].try_into().unwrap()), next);
                next += 1;
            } else {
                std::hint::spin_loop();
            }
        }
        let (refused, a) = sender.join().unwrap();
        assert_eq!(a.tx_ring_full, refused);
        assert_eq!(b.rx_peek(), None);
    }
}
