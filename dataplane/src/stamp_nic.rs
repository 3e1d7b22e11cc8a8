//! Where "inside the appliance" starts and ends: a NIC wrapper that reads the TSC when its
//! receive side hands the stack a frame and when the stack hands it a frame to send.
//!
//! ```text
//! Stack::poll ─► rx_take ─► [inner NIC moves the frame] ─► rx_at = TSC ─► TCP, TLS, FIX, …
//! Stack::transmit ─► TCP egress (frame built in NIC memory) ─► tx_at = TSC ─► tx_commit,
//!                    tx_flush ─► [inner NIC sends]
//! ```
//!
//! The issue defines the appliance's tick-to-trade as "TSC at rx-burst return → TSC at
//! tx-burst call": the NIC's own work on either side (moving the frame out of its ring, putting
//! the order on the wire) is not the appliance's. On the transmit side the mark is the
//! hand-over of the finished frame (`tx_commit`), which the burst call (`tx_flush`) follows at
//! once: on the in-memory pair the commit is itself the delivery, on DPDK it only queues the
//! mbuf for `rte_eth_tx_burst`. `tickwire bench`'s clients clear the marks before the poll
//! that may take a tick and before the order's transmit, and read them after; the engine bench
//! (`dataplane/benches/engine.rs`) clears them before a whole duty cycle. Each mark keeps the
//! first event since it was cleared (the first frame of the poll's burst, the order's
//! segment), the transmit mark the first not before the receive mark: a frame that left ahead
//! of the tick in the same poll is not its answer.

use crate::clock::Clock;
use crate::nic::Nic;

/// `inner`, with the TSC read at the first received frame and at the first frame handed over
/// for transmission (and not before that received frame) since the marks were cleared.
#[derive(Debug)]
pub struct StampNic<N> {
    inner: N,
    clock: Clock,
    rx_at: Option<i64>,
    tx_at: Option<i64>,
}

impl<N: Nic> StampNic<N> {
    /// `inner`, stamped with `clock` (monotonic ns, [`Clock::mono_ns`]).
    pub fn new(inner: N, clock: Clock) -> StampNic<N> {
        StampNic {
            inner,
            clock,
            rx_at: None,
            tx_at: None,
        }
    }

    /// Forgets the receive mark.
    #[inline]
    pub fn clear_rx(&mut self) {
        self.rx_at = None;
    }

    /// Forgets the transmit mark.
    #[inline]
    pub fn clear_tx(&mut self) {
        self.tx_at = None;
    }

    /// When a receive call first returned a frame since [`StampNic::clear_rx`].
    #[inline]
    pub fn rx_at(&self) -> Option<i64> {
        self.rx_at
    }

    /// When a frame was first handed over for transmission since [`StampNic::clear_tx`] and
    /// not before [`StampNic::rx_at`] (read before the inner NIC's `tx_commit` runs).
    #[inline]
    pub fn tx_at(&self) -> Option<i64> {
        self.tx_at
    }

    /// The NIC it stamps.
    pub fn inner(&self) -> &N {
        &self.inner
    }

    /// The NIC it stamps, to configure (fault injection on the in-memory pair).
    pub fn inner_mut(&mut self) -> &mut N {
        &mut self.inner
    }
}

impl<N: Nic> Nic for StampNic<N> {
    fn mac(&self) -> [u8; 6] {
        self.inner.mac()
    }

    #[inline]
    fn rx_peek(&mut self) -> Option<&[u8]> {
        let frame = self.inner.rx_peek();
        if frame.is_some() && self.rx_at.is_none() {
            self.rx_at = Some(self.clock.mono_ns());
        }
        frame
    }

    #[inline]
    fn rx_release(&mut self) {
        self.inner.rx_release();
    }

    #[inline]
    fn tx_alloc(&mut self, len: usize) -> Option<&mut [u8]> {
        self.inner.tx_alloc(len)
    }

    #[inline]
    fn tx_commit(&mut self, len: usize) {
        // A frame sent before the receive mark (an ACK going out in the same poll, ahead of
        // the tick) is not the answer to it.
        let keep = match (self.tx_at, self.rx_at) {
            (Some(tx), Some(rx)) => tx >= rx,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if !keep {
            self.tx_at = Some(self.clock.mono_ns());
        }
        self.inner.tx_commit(len);
    }

    #[inline]
    fn tx_flush(&mut self) -> usize {
        self.inner.tx_flush()
    }

    #[inline]
    fn rx_take(&mut self, buf: &mut Vec<u8>) -> Option<usize> {
        let n = self.inner.rx_take(buf)?;
        if self.rx_at.is_none() {
            self.rx_at = Some(self.clock.mono_ns());
        }
        Some(n)
    }

    fn mtu(&self) -> usize {
        self.inner.mtu()
    }

    fn rx_checksum_trusted(&self) -> bool {
        self.inner.rx_checksum_trusted()
    }

    fn tx_checksum_offload(&self) -> bool {
        self.inner.tx_checksum_offload()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::time::Duration;

    use crate::mem;

    use super::*;

    #[test]
    fn marks_the_first_frame_each_way_since_cleared() {
        let (clock, _) = Clock::calibrate(Duration::from_millis(5));
        let (a, b) = mem::pair(16, [2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
        let (mut a, mut b) = (StampNic::new(a, clock), StampNic::new(b, clock));
        let mut buf = vec![0u8; 2048];
        assert_eq!(b.rx_take(&mut buf), None);
        assert_eq!(b.rx_at(), None, "no frame, no mark");

        let before = clock.mono_ns();
        a.tx_alloc(60).unwrap().fill(1);
        assert_eq!(a.tx_at(), None, "a buffer taken is not a frame handed over");
        a.tx_commit(60);
        let sent = a.tx_at().unwrap();
        assert!(sent >= before);
        a.tx_alloc(60).unwrap().fill(2);
        a.tx_commit(60);
        a.tx_flush();
        assert_eq!(a.tx_at(), Some(sent), "the first frame is kept");

        assert_eq!(b.rx_take(&mut buf), Some(60));
        assert_eq!(buf[0], 1);
        let first = b.rx_at().unwrap();
        assert!(first >= sent);
        assert_eq!(b.rx_take(&mut buf), Some(60));
        assert_eq!(buf[0], 2);
        assert_eq!(b.rx_at(), Some(first), "the burst's first frame is kept");

        b.clear_rx();
        a.clear_tx();
        assert_eq!((b.rx_at(), a.tx_at()), (None, None));
        a.tx_alloc(60).unwrap().fill(3);
        a.tx_commit(60);
        assert!(b.rx_peek().is_some());
        let peeked = b.rx_at().unwrap();
        assert!(peeked >= a.tx_at().unwrap(), "rx_peek marks too");
        b.rx_release();
        assert_eq!(b.rx_take(&mut buf), None);

        // A frame out before the frame in is replaced by the first one after it.
        b.clear_rx();
        b.clear_tx();
        b.tx_alloc(60).unwrap().fill(4);
        b.tx_commit(60);
        let early = b.tx_at().unwrap();
        a.tx_alloc(60).unwrap().fill(5);
        a.tx_commit(60);
        assert_eq!(b.rx_take(&mut buf), Some(60));
        let tick = b.rx_at().unwrap();
        assert!(tick >= early);
        assert_eq!(b.tx_at(), Some(early), "kept until the next frame out");
        b.tx_alloc(60).unwrap().fill(6);
        b.tx_commit(60);
        let answer = b.tx_at().unwrap();
        assert!(answer >= tick, "{early} {tick} {answer}");
        b.tx_alloc(60).unwrap().fill(7);
        b.tx_commit(60);
        assert_eq!(
            b.tx_at(),
            Some(answer),
            "then the first after the frame in is kept"
        );
    }
}
