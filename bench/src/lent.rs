//! [`Lent`]: a NIC lent to a [`Stack`](tickwire_dataplane::stack::Stack) for one run.
//!
//! `Stack::new` takes its NIC by value and never gives it back. A DPDK port can be opened
//! once per process (EAL starts once), so a harness that runs several measurements on the
//! same pair of ports lends each stack a `&mut` to the port instead: when the stack is
//! dropped the port is the caller's again, started, with its counters.

use tickwire_dataplane::nic::Nic;

/// `&mut N` as a [`Nic`]: every call forwards to the NIC it borrows (inlined, so the hot
/// path is the borrowed NIC's own).
#[derive(Debug)]
pub struct Lent<'a, N: Nic>(pub &'a mut N);

impl<N: Nic> Nic for Lent<'_, N> {
    #[inline]
    fn mac(&self) -> [u8; 6] {
        self.0.mac()
    }
    #[inline]
    fn rx_peek(&mut self) -> Option<&[u8]> {
        self.0.rx_peek()
    }
    #[inline]
    fn rx_release(&mut self) {
        self.0.rx_release();
    }
    #[inline]
    fn tx_alloc(&mut self, len: usize) -> Option<&mut [u8]> {
        self.0.tx_alloc(len)
    }
    #[inline]
    fn tx_commit(&mut self, len: usize) {
        self.0.tx_commit(len);
    }
    #[inline]
    fn tx_flush(&mut self) -> usize {
        self.0.tx_flush()
    }
    #[inline]
    fn rx_take(&mut self, buf: &mut Vec<u8>) -> Option<usize> {
        self.0.rx_take(buf)
    }
    #[inline]
    fn mtu(&self) -> usize {
        self.0.mtu()
    }
    #[inline]
    fn rx_checksum_trusted(&self) -> bool {
        self.0.rx_checksum_trusted()
    }
    #[inline]
    fn tx_checksum_offload(&self) -> bool {
        self.0.tx_checksum_offload()
    }
}

/// Drops every frame `nic` has received (what a previous run left in flight), returning how
/// many.
pub fn drain<N: Nic>(nic: &mut N) -> usize {
    let mut n = 0;
    while nic.rx_peek().is_some() {
        nic.rx_release();
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::inmem::{self, Params, VenueKind};
    use tickwire_dataplane::mem;

    #[test]
    fn a_lent_pair_runs_twice_and_forwards_everything() {
        let (mut a, mut b) = mem::pair(1024, [2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
        assert_eq!(Lent(&mut a).mac(), a.mac());
        assert_eq!(Lent(&mut a).mtu(), a.mtu());
        assert_eq!(Lent(&mut a).rx_checksum_trusted(), a.rx_checksum_trusted());
        assert_eq!(Lent(&mut a).tx_checksum_offload(), a.tx_checksum_offload());
        let params = Params {
            ticks: 300,
            progress_every: 0,
            rate_per_s: 0,
            stages: false,
            venue: VenueKind::Minimal,
        };
        for _ in 0..2 {
            drain(&mut a);
            drain(&mut b);
            let r = inmem::run_pair(params, Lent(&mut a), Lent(&mut b)).unwrap();
            assert!(r.orders > 300 / 16, "{r:?}");
            assert_eq!(r.fills, r.orders);
            assert_eq!(r.tick_to_trade.len(), r.orders);
        }
    }

    #[test]
    fn drain_counts_what_was_waiting() {
        let (mut a, mut b) = mem::pair(16, [2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
        for _ in 0..3 {
            let buf = a.tx_alloc(60).unwrap();
            buf.fill(0);
            a.tx_commit(60);
        }
        a.tx_flush();
        assert_eq!(drain(&mut Lent(&mut b)), 3);
        assert_eq!(drain(&mut b), 0);
    }
}
