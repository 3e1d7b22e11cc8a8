//! The IP allowlist in front of the TCP/IP stack.
//!
//! Every received frame is classified before smoltcp sees it: ARP passes (so our own address
//! still resolves), IPv4 from an allowed source passes, everything else is dropped and counted
//! by reason. The table is a fixed-capacity sorted array; the control plane replaces it by
//! sending a new table through a wait-free SPSC queue (`rtrb`) that the dataplane drains
//! between polls: no lock on the hot path.

use std::net::Ipv4Addr;

/// Most entries an allowlist holds.
pub const CAPACITY: usize = 64;

/// A set of allowed IPv4 source addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowlist {
    addrs: [u32; CAPACITY],
    len: usize,
    allow_all: bool,
}

/// Why a frame was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Hand it to the stack.
    Pass,
    /// IPv4 from a source not on the list.
    NotAllowed,
    /// Not ARP or IPv4 (IPv6, LLDP…).
    UnsupportedEtherType,
    /// Too short to be what its header says.
    Malformed,
}

/// Counters of dropped frames by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DropCounts {
    /// Source not allowed.
    pub not_allowed: u64,
    /// Other EtherType.
    pub unsupported: u64,
    /// Malformed.
    pub malformed: u64,
}

/// Why an allowlist could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyAddresses;

impl Allowlist {
    /// Allows exactly `addrs`.
    ///
    /// # Errors
    /// [`TooManyAddresses`] beyond [`CAPACITY`].
    pub fn new(addrs: &[Ipv4Addr]) -> Result<Allowlist, TooManyAddresses> {
        if addrs.len() > CAPACITY {
            return Err(TooManyAddresses);
        }
        let mut a = Allowlist {
            addrs: [0; CAPACITY],
            len: addrs.len(),
            allow_all: false,
        };
        for (slot, ip) in a.addrs.iter_mut().zip(addrs) {
            *slot = u32::from(*ip);
        }
        a.addrs[..a.len].sort_unstable();
        Ok(a)
    }

    /// Allows every source (tests, lab setups); say so loudly where it is used.
    pub fn allow_all() -> Allowlist {
        Allowlist {
            addrs: [0; CAPACITY],
            len: 0,
            allow_all: true,
        }
    }

    /// The allowed addresses.
    pub fn addresses(&self) -> impl Iterator<Item = Ipv4Addr> + '_ {
        self.addrs[..self.len].iter().map(|&a| Ipv4Addr::from(a))
    }

    /// True if `ip` may reach the stack.
    #[inline]
    pub fn allows(&self, ip: u32) -> bool {
        self.allow_all || self.addrs[..self.len].binary_search(&ip).is_ok()
    }

    /// Classifies an Ethernet frame.
    #[inline]
    pub fn classify(&self, frame: &[u8]) -> Verdict {
        if frame.len() < 14 {
            return Verdict::Malformed;
        }
        match u16::from_be_bytes([frame[12], frame[13]]) {
            0x0806 => Verdict::Pass,
            0x0800 => {
                if frame.len() < 34 {
                    return Verdict::Malformed;
                }
                let src = u32::from_be_bytes([frame[26], frame[27], frame[28], frame[29]]);
                if self.allows(src) {
                    Verdict::Pass
                } else {
                    Verdict::NotAllowed
                }
            }
            _ => Verdict::UnsupportedEtherType,
        }
    }
}

impl DropCounts {
    /// Counts a non-pass verdict.
    #[inline]
    pub fn count(&mut self, v: Verdict) {
        match v {
            Verdict::Pass => {}
            Verdict::NotAllowed => self.not_allowed += 1,
            Verdict::UnsupportedEtherType => self.unsupported += 1,
            Verdict::Malformed => self.malformed += 1,
        }
    }
}

/// The dataplane has not applied earlier updates yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueFull;

/// The control side of a live allowlist: publishes replacement tables.
#[derive(Debug)]
pub struct Publisher(rtrb::Producer<Allowlist>);

/// The dataplane side: the table in force, updated between polls.
#[derive(Debug)]
pub struct Live {
    current: Allowlist,
    updates: rtrb::Consumer<Allowlist>,
}

/// A live allowlist starting with `initial`, and its publisher.
pub fn live(initial: Allowlist) -> (Publisher, Live) {
    let (tx, rx) = rtrb::RingBuffer::new(4);
    (
        Publisher(tx),
        Live {
            current: initial,
            updates: rx,
        },
    )
}

impl Publisher {
    /// Sends a new table.
    ///
    /// # Errors
    /// [`QueueFull`] when the dataplane has not drained earlier updates yet (retry later).
    pub fn publish(&mut self, table: Allowlist) -> Result<(), QueueFull> {
        self.0.push(table).map_err(|_| QueueFull)
    }
}

impl Live {
    /// Applies the newest published table (call between polls; wait-free).
    #[inline]
    pub fn refresh(&mut self) {
        while let Ok(t) = self.updates.pop() {
            self.current = t;
        }
    }

    /// The table in force.
    #[inline]
    pub fn table(&self) -> &Allowlist {
        &self.current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ipv4_frame(src: [u8; 4]) -> Vec<u8> {
        let mut f = vec![0u8; 60];
        f[12] = 0x08;
        f[13] = 0x00;
        f[26..30].copy_from_slice(&src);
        f
    }

    #[test]
    fn classifies_by_source_and_ethertype() {
        let a = Allowlist::new(&[Ipv4Addr::new(10, 0, 0, 2), Ipv4Addr::new(10, 0, 0, 9)])
            .expect("fits");
        assert_eq!(a.classify(&ipv4_frame([10, 0, 0, 2])), Verdict::Pass);
        assert_eq!(a.classify(&ipv4_frame([10, 0, 0, 3])), Verdict::NotAllowed);
        let mut arp = vec![0u8; 42];
        arp[12] = 0x08;
        arp[13] = 0x06;
        assert_eq!(a.classify(&arp), Verdict::Pass);
        let mut v6 = vec![0u8; 60];
        v6[12] = 0x86;
        v6[13] = 0xdd;
        assert_eq!(a.classify(&v6), Verdict::UnsupportedEtherType);
        assert_eq!(a.classify(&[0u8; 10]), Verdict::Malformed);
        assert_eq!(
            a.classify(&ipv4_frame([10, 0, 0, 2])[..20]),
            Verdict::Malformed
        );
        assert!(Allowlist::new(&[Ipv4Addr::LOCALHOST; CAPACITY + 1]).is_err());
    }

    #[test]
    fn live_replacement_without_locks() {
        let (mut publisher, mut live) =
            live(Allowlist::new(&[Ipv4Addr::new(10, 0, 0, 2)]).expect("fits"));
        assert!(live.table().allows(u32::from(Ipv4Addr::new(10, 0, 0, 2))));
        publisher
            .publish(Allowlist::new(&[]).expect("fits"))
            .expect("room");
        live.refresh();
        assert!(!live.table().allows(u32::from(Ipv4Addr::new(10, 0, 0, 2))));
    }
}
