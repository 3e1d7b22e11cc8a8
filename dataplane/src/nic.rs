//! The NIC seam: a burst-oriented, zero-copy frame interface every backend implements.
//!
//! ```text
//! rx: rx_peek() ─► &[u8] in NIC memory ─► rx_release()      (one frame at a time, in order)
//! tx: tx_alloc(len) ─► &mut [u8] in NIC memory ─► tx_commit(len) ─► tx_flush() ─► count sent
//! ```
//!
//! Frames are never copied by the seam itself: a backend hands out its own buffers (ring slots,
//! DPDK mbufs). A full transmit ring is reported to the caller (`tx_alloc` returns `None`,
//! counted as `tx_ring_full`): nothing is dropped silently.

/// A network interface as the dataplane sees it.
pub trait Nic {
    /// Our MAC address.
    fn mac(&self) -> [u8; 6];
    /// The next received frame, if any, still owned by the NIC.
    fn rx_peek(&mut self) -> Option<&[u8]>;
    /// Returns the frame from [`Nic::rx_peek`] to the NIC.
    fn rx_release(&mut self);
    /// A transmit buffer of `len` bytes, or `None` when the ring is full.
    fn tx_alloc(&mut self, len: usize) -> Option<&mut [u8]>;
    /// Queues the buffer from [`Nic::tx_alloc`], trimmed to `len` bytes.
    fn tx_commit(&mut self, len: usize);
    /// Hands queued frames to the wire (a doorbell / syscall on real NICs); returns how many.
    fn tx_flush(&mut self) -> usize;
    /// Moves the next received frame into `buf` and releases it; returns its length (`None`
    /// when nothing arrived). The default copies what [`Nic::rx_peek`] returns (truncated to
    /// `buf.len()`). A backend whose frames sit in heap buffers of its own may instead exchange
    /// `buf` with the frame's buffer (no copy); `buf` then comes back no shorter than the
    /// largest frame the backend delivers.
    fn rx_take(&mut self, buf: &mut Vec<u8>) -> Option<usize> {
        let frame = self.rx_peek()?;
        let n = frame.len().min(buf.len());
        buf[..n].copy_from_slice(&frame[..n]);
        self.rx_release();
        Some(n)
    }
    /// Largest frame (without FCS).
    fn mtu(&self) -> usize {
        1514
    }
    /// True when every frame [`Nic::rx_peek`] returns is known to carry correct IPv4 and
    /// TCP/UDP/ICMP checksums (verified by hardware offload, or a link that cannot corrupt),
    /// so the stack may skip verifying them. Default `false`: the stack verifies. A backend
    /// that cannot guarantee it (AF_PACKET, TAP, veth: frames may be corrupted on the way)
    /// must keep the default; wrappers keep it unless they forward the inner NIC's answer
    /// and cannot alter frames.
    fn rx_checksum_trusted(&self) -> bool {
        false
    }
    /// True when frames committed with [`Nic::tx_commit`] need no software checksums: the
    /// hardware fills them, or the only receiver is a peer that trusts the link (see
    /// [`Nic::rx_checksum_trusted`]). Default `false`: the stack fills them.
    fn tx_checksum_offload(&self) -> bool {
        false
    }
}
