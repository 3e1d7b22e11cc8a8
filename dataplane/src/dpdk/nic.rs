//! [`DpdkNic`]: the dataplane [`Nic`] over one DPDK port, zero-copy both ways.
//!
//! RX: `rte_eth_rx_burst` fills a fixed array of mbuf pointers; [`Nic::rx_peek`] lends the
//! current mbuf's bytes and [`Nic::rx_release`] frees it. TX: [`Nic::tx_alloc`] takes an mbuf
//! from the pool and lends its data room; [`Nic::tx_commit`] trims it and queues it;
//! [`Nic::tx_flush`] hands the queue to `rte_eth_tx_burst`. Frames the driver did not take stay
//! queued for the next flush; when the queue is full `tx_alloc` returns `None` and
//! `tx_ring_full` counts it: nothing is dropped silently.

use std::ptr;

use super::{sys, Mempool, Port, PortError};
use crate::nic::Nic;

const BURST: usize = 32;

/// Counters kept by [`DpdkNic`] (plain integers, updated on the hot path).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DpdkNicCounters {
    /// Frames received.
    pub rx_frames: u64,
    /// Multi-segment frames dropped (larger than one mbuf; we never enable scatter).
    pub rx_multiseg_dropped: u64,
    /// Frames handed to the driver.
    pub tx_frames: u64,
    /// `tx_alloc` refused because the TX queue was full.
    pub tx_ring_full: u64,
    /// `tx_alloc` refused because the mempool was empty.
    pub tx_no_mbuf: u64,
}

/// A started DPDK port as a [`Nic`]. Field order matters: the port stops before the pool frees.
#[derive(Debug)]
pub struct DpdkNic {
    port: Port,
    rx: [*mut sys::rte_mbuf; BURST],
    rx_len: usize,
    rx_pos: usize,
    tx: [*mut sys::rte_mbuf; BURST],
    tx_len: usize,
    tx_open: *mut sys::rte_mbuf,
    mac: [u8; 6],
    counters: DpdkNicCounters,
    pool: Mempool,
}

// SAFETY: every mbuf pointer is owned exclusively by this value; DPDK queues may be polled from
// any one thread at a time.
unsafe impl Send for DpdkNic {}

impl DpdkNic {
    /// Opens and starts the port `name` with rings of `ring` descriptors, using `pool`.
    ///
    /// # Errors
    /// [`PortError`] when the port is missing or does not configure/start.
    pub fn new(name: &str, pool: Mempool, ring: u16) -> Result<Self, PortError> {
        let mut port = Port::open(name, &pool, ring, ring)?;
        port.start()?;
        let mac = port.mac();
        Ok(Self {
            port,
            rx: [ptr::null_mut(); BURST],
            rx_len: 0,
            rx_pos: 0,
            tx: [ptr::null_mut(); BURST],
            tx_len: 0,
            tx_open: ptr::null_mut(),
            mac,
            counters: DpdkNicCounters::default(),
            pool,
        })
    }

    /// The port (link state, stats, offloads).
    pub fn port(&self) -> &Port {
        &self.port
    }

    /// Hot-path counters.
    pub fn counters(&self) -> DpdkNicCounters {
        self.counters
    }

    /// The hardware RX timestamp of the frame [`Nic::rx_peek`] returned, in the NIC's clock
    /// units, when the port offers RX timestamps and the driver stamped this frame.
    pub fn rx_timestamp(&self) -> Option<u64> {
        let (offset, flag) = self.port.offloads().rx_timestamp?;
        if self.rx_pos >= self.rx_len {
            return None;
        }
        let m = self.rx[self.rx_pos];
        // SAFETY: m is the current received mbuf; the dynamic field was registered at port
        // open and lies inside every mbuf's dynfield area.
        unsafe {
            (sys::tw_mbuf_ol_flags(m) & flag != 0).then(|| sys::tw_mbuf_dynfield_u64(m, offset))
        }
    }

    /// Frames committed but not yet accepted by the driver.
    pub fn tx_pending(&self) -> usize {
        self.tx_len
    }

    fn refill(&mut self) {
        while self.rx_pos >= self.rx_len {
            // SAFETY: the port is started with queue 0; rx has room for BURST pointers.
            let n =
                unsafe { sys::tw_rx_burst(self.port.id(), 0, self.rx.as_mut_ptr(), BURST as u16) };
            self.rx_len = usize::from(n);
            self.rx_pos = 0;
            if n == 0 {
                return;
            }
            // Drop chained (scattered) frames: a Nic frame is one contiguous slice.
            while self.rx_pos < self.rx_len {
                let m = self.rx[self.rx_pos];
                // SAFETY: m is a valid mbuf just received.
                if unsafe { sys::tw_mbuf_nb_segs(m) } == 1 {
                    break;
                }
                // SAFETY: we own m and never touch it again.
                unsafe { sys::tw_pktmbuf_free(m) };
                self.counters.rx_multiseg_dropped += 1;
                self.rx_pos += 1;
            }
        }
    }
}

impl Nic for DpdkNic {
    fn mac(&self) -> [u8; 6] {
        self.mac
    }

    fn rx_peek(&mut self) -> Option<&[u8]> {
        self.refill();
        let m = *self
            .rx
            .get(self.rx_pos)
            .filter(|_| self.rx_pos < self.rx_len)?;
        // SAFETY: m is an owned single-segment mbuf; mtod spans data_len initialised bytes and
        // stays valid until rx_release frees it (which needs &mut self).
        unsafe {
            let p = sys::tw_pktmbuf_mtod(m);
            Some(std::slice::from_raw_parts(
                p,
                usize::from(sys::tw_pktmbuf_data_len(m)),
            ))
        }
    }

    fn rx_release(&mut self) {
        if self.rx_pos < self.rx_len {
            // SAFETY: the mbuf at rx_pos is owned and not referenced any more.
            unsafe { sys::tw_pktmbuf_free(self.rx[self.rx_pos]) };
            self.rx_pos += 1;
            self.counters.rx_frames += 1;
            // Skip any chained frames that follow.
            self.refill_skip_multiseg();
        }
    }

    fn tx_alloc(&mut self, len: usize) -> Option<&mut [u8]> {
        if !self.tx_open.is_null() {
            // SAFETY: an allocated-but-uncommitted mbuf is ours; reuse it from scratch.
            unsafe { sys::tw_pktmbuf_free(self.tx_open) };
            self.tx_open = ptr::null_mut();
        }
        if self.tx_len == BURST {
            self.tx_flush();
            if self.tx_len == BURST {
                self.counters.tx_ring_full += 1;
                return None;
            }
        }
        let len16 = u16::try_from(len).ok()?;
        // SAFETY: the pool is valid for the life of self.
        let m = unsafe { sys::tw_pktmbuf_alloc(self.pool.as_ptr()) };
        if m.is_null() {
            self.counters.tx_no_mbuf += 1;
            return None;
        }
        // SAFETY: m is a fresh mbuf; append returns null or `len` writable bytes.
        let p = unsafe { sys::tw_pktmbuf_append(m, len16) };
        if p.is_null() {
            // SAFETY: m is ours.
            unsafe { sys::tw_pktmbuf_free(m) };
            return None;
        }
        self.tx_open = m;
        // SAFETY: p spans len bytes inside m, which lives until commit/flush.
        Some(unsafe { std::slice::from_raw_parts_mut(p, len) })
    }

    fn tx_commit(&mut self, len: usize) {
        let m = std::mem::replace(&mut self.tx_open, ptr::null_mut());
        if m.is_null() {
            return;
        }
        // SAFETY: m is ours; trimming removes bytes past `len` from the tail.
        unsafe {
            let have = usize::from(sys::tw_pktmbuf_data_len(m));
            if len < have {
                let _ = sys::tw_pktmbuf_trim(m, u16::try_from(have - len).unwrap_or(0));
            }
        }
        if self.port.offloads().tx_ipv4_tcp_cksum {
            mark_tcp_cksum_offload(m);
        }
        self.tx[self.tx_len] = m;
        self.tx_len += 1;
    }

    fn tx_flush(&mut self) -> usize {
        if self.tx_len == 0 {
            return 0;
        }
        // SAFETY: tx[..tx_len] are owned mbufs; the driver takes ownership of the first `sent`.
        let sent = usize::from(unsafe {
            sys::tw_tx_burst(self.port.id(), 0, self.tx.as_mut_ptr(), self.tx_len as u16)
        });
        self.tx.copy_within(sent..self.tx_len, 0);
        self.tx_len -= sent;
        self.counters.tx_frames += sent as u64;
        sent
    }

    fn mtu(&self) -> usize {
        1514
    }
}

impl DpdkNic {
    fn refill_skip_multiseg(&mut self) {
        while self.rx_pos < self.rx_len {
            let m = self.rx[self.rx_pos];
            // SAFETY: m is a valid received mbuf.
            if unsafe { sys::tw_mbuf_nb_segs(m) } == 1 {
                return;
            }
            // SAFETY: we own m.
            unsafe { sys::tw_pktmbuf_free(m) };
            self.counters.rx_multiseg_dropped += 1;
            self.rx_pos += 1;
        }
    }
}

/// Sets checksum-offload metadata on an Ethernet/IPv4/TCP frame; leaves other frames alone.
fn mark_tcp_cksum_offload(m: *mut sys::rte_mbuf) {
    // SAFETY: m is an owned mbuf with data_len initialised bytes.
    let frame = unsafe {
        std::slice::from_raw_parts(
            sys::tw_pktmbuf_mtod(m),
            usize::from(sys::tw_pktmbuf_data_len(m)),
        )
    };
    if frame.len() < 54 || frame[12..14] != [0x08, 0x00] || frame[23] != 6 {
        return;
    }
    let l3 = u16::from(frame[14] & 0x0f) * 4;
    if usize::from(14 + l3) + 20 > frame.len() {
        return;
    }
    // SAFETY: the frame holds a full IPv4 header of l3 bytes and a TCP header after it.
    unsafe { sys::tw_mbuf_tx_cksum_ipv4_tcp(m, 14, l3) };
}

impl Drop for DpdkNic {
    fn drop(&mut self) {
        let _ = self.port.stop();
        for &m in &self.rx[self.rx_pos.min(self.rx_len)..self.rx_len] {
            // SAFETY: unreleased received mbufs are ours.
            unsafe { sys::tw_pktmbuf_free(m) };
        }
        for &m in &self.tx[..self.tx_len] {
            // SAFETY: unsent mbufs are ours.
            unsafe { sys::tw_pktmbuf_free(m) };
        }
        if !self.tx_open.is_null() {
            // SAFETY: the uncommitted mbuf is ours.
            unsafe { sys::tw_pktmbuf_free(self.tx_open) };
        }
    }
}
