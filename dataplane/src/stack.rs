//! The userspace TCP/IP stack: smoltcp over any [`Nic`], behind the allowlist.
//!
//! ```text
//! poll: egress ─► TCP sockets ─► smoltcp ─► [checksums] ─► Nic::tx_alloc / tx_commit ─► tx_flush
//!       ingress ─► Nic::rx_peek ─► Allowlist::classify ─► (drop + count) | [checksums] ─► smoltcp
//! ```
//!
//! Sockets are created up front (capacity fixed at construction), with Nagle off and no delayed
//! ACK timer: a FIX order leaves in the segment that carries it. Time comes in as an argument.
//!
//! **Order of a poll.** [`Stack::poll`] first sends what the sockets have due (data written
//! since the last poll, retransmissions, ACKs), then takes in up to a burst of received frames.
//! The ACK for data received in one poll therefore leaves with the next poll, which in a
//! busy-polling loop is the next duty cycle: when the application answers in between (the
//! request/response pattern of FIX), the answer carries the ACK and one frame is saved per
//! exchange. Replies smoltcp makes while reading a frame (ARP, RST, ICMP echo) still leave at once.
//! The egress part runs only for connections that may have something due: one a frame was
//! routed to, or that was written, read, opened, closed or transmitted since its last egress
//! pass; and every millisecond for all of them, for smoltcp's own timers (retransmission after
//! 1 s at least, zero-window probe, keep-alive, TIME-WAIT). A poll that finds nothing due goes
//! straight to the receive ring.
//!
//! **Order-first transmit.** Each connection's socket sits in a socket set of its own (a
//! received segment is routed to the set whose socket takes it, as smoltcp would pick it), so
//! that [`Stack::transmit`] can send one connection's new segment and ring the NIC's doorbell
//! before any other connection's pending frame is even built: an order leaves in a tx burst of
//! its own, and the pure ACK owed to the market-data connection for the tick that triggered it
//! follows with the next poll.
//!
//! **Checksums.** smoltcp is told to neither compute nor verify IPv4/TCP/UDP/ICMP checksums; the
//! port does it, per frame, unless the NIC vouches for the frames itself
//! ([`Nic::rx_checksum_trusted`], [`Nic::tx_checksum_offload`]: hardware offload, or an
//! in-memory link that cannot corrupt). Frames failing verification are dropped and counted in
//! [`PortCounters::bad_checksum`].
//!
//! On receive the frame is moved into the port's buffer with [`Nic::rx_take`] (so that smoltcp
//! may transmit a reply while reading it): one copy, or none on backends that hand over their
//! buffers; transmit frames are built in NIC memory directly.

use std::net::{Ipv4Addr, SocketAddrV4};

use smoltcp::iface::PollIngressSingleResult;
use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::phy::{ChecksumCapabilities, Device, DeviceCapabilities, Medium};
use smoltcp::socket::tcp;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{
    EthernetAddress, HardwareAddress, Icmpv4Packet, IpAddress, IpCidr, IpProtocol, Ipv4Cidr,
    Ipv4Packet, TcpPacket, UdpPacket,
};

use crate::allowlist::{DropCounts, Live, Verdict};
use crate::nic::Nic;

/// Frame counters of one port.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PortCounters {
    /// Frames handed to the stack.
    pub rx_frames: u64,
    /// Frames sent.
    pub tx_frames: u64,
    /// Frames the NIC refused because its ring was full.
    pub tx_ring_full: u64,
    /// Frames dropped before the stack, by reason.
    pub drops: DropCounts,
    /// Frames (that passed the allowlist) dropped for a wrong IPv4 header or transport checksum.
    pub bad_checksum: u64,
}

/// Frames taken in, and egress rounds run, per poll (bounded work per duty cycle).
const BURST: usize = 32;

/// How often every connection gets an egress pass even when nothing marked it due, for
/// smoltcp's own timers: retransmission (its RTO is 1 s at least), zero-window probe,
/// keep-alive, TIME-WAIT (10 s); a timer fires at most this late.
const SWEEP: Duration = Duration::from_millis(1);

/// Smallest receive buffer of a port (see [`Nic::rx_take`]).
const RX_BUFFER: usize = 2048;

const ETH_HEADER: usize = 14;
const ETHERTYPE_IPV4: [u8; 2] = [0x08, 0x00];

/// Verifies the IPv4 header checksum and, for unfragmented TCP/UDP/ICMP, the transport
/// checksum of an Ethernet frame. Non-IPv4 frames (ARP) and frames too short to parse pass:
/// smoltcp parses them itself and drops what is malformed.
fn checksums_ok(frame: &[u8]) -> bool {
    if frame.len() < ETH_HEADER || frame[12..14] != ETHERTYPE_IPV4 {
        return true;
    }
    let Ok(ip) = Ipv4Packet::new_checked(&frame[ETH_HEADER..]) else {
        return true;
    };
    if !ip.verify_checksum() {
        return false;
    }
    if ip.more_frags() || ip.frag_offset() != 0 {
        return true;
    }
    let (src, dst) = (
        IpAddress::Ipv4(ip.src_addr()),
        IpAddress::Ipv4(ip.dst_addr()),
    );
    match ip.next_header() {
        IpProtocol::Tcp => {
            TcpPacket::new_checked(ip.payload()).map_or(true, |t| t.verify_checksum(&src, &dst))
        }
        IpProtocol::Udp => UdpPacket::new_checked(ip.payload())
            .map_or(true, |u| u.checksum() == 0 || u.verify_checksum(&src, &dst)),
        IpProtocol::Icmp => {
            Icmpv4Packet::new_checked(ip.payload()).map_or(true, |i| i.verify_checksum())
        }
        _ => true,
    }
}

/// Fills the IPv4 header checksum and the TCP/UDP/ICMP checksum of a frame smoltcp built
/// (smoltcp leaves them zero).
fn fill_checksums(frame: &mut [u8]) {
    if frame.len() < ETH_HEADER || frame[12..14] != ETHERTYPE_IPV4 {
        return;
    }
    let Ok(mut ip) = Ipv4Packet::new_checked(&mut frame[ETH_HEADER..]) else {
        return;
    };
    ip.fill_checksum();
    if ip.more_frags() || ip.frag_offset() != 0 {
        return;
    }
    let (src, dst) = (
        IpAddress::Ipv4(ip.src_addr()),
        IpAddress::Ipv4(ip.dst_addr()),
    );
    match ip.next_header() {
        IpProtocol::Tcp => {
            if let Ok(mut t) = TcpPacket::new_checked(ip.payload_mut()) {
                t.fill_checksum(&src, &dst);
            }
        }
        IpProtocol::Udp => {
            if let Ok(mut u) = UdpPacket::new_checked(ip.payload_mut()) {
                u.fill_checksum(&src, &dst);
            }
        }
        IpProtocol::Icmp => {
            if let Ok(mut i) = Icmpv4Packet::new_checked(ip.payload_mut()) {
                i.fill_checksum();
            }
        }
        _ => {}
    }
}

/// A [`Nic`] as a smoltcp device, with the allowlist in front.
#[derive(Debug)]
pub struct Port<N: Nic> {
    nic: N,
    allow: Live,
    rx_buf: Vec<u8>,
    rx_len: usize,
    /// A frame is waiting in `rx_buf[..rx_len]` for smoltcp ([`Port::stage`]).
    staged: bool,
    counters: PortCounters,
}

impl<N: Nic> Port<N> {
    fn new(nic: N, allow: Live) -> Port<N> {
        let mtu = nic.mtu();
        Port {
            nic,
            allow,
            // 2 KiB at least: backends that hand over their own frame buffers (the mem pair)
            // exchange buffers of that size instead of copying.
            rx_buf: vec![0; mtu.max(RX_BUFFER)],
            rx_len: 0,
            staged: false,
            counters: PortCounters::default(),
        }
    }

    /// Takes the next received frame that passes the allowlist and the checksums into
    /// `rx_buf`, for the next [`Device::receive`]; false when none is waiting. (Staged before
    /// smoltcp asks for it, so that the stack can pick the socket it goes to.)
    #[inline]
    fn stage(&mut self) -> bool {
        if self.staged {
            return true;
        }
        loop {
            let trusted = self.nic.rx_checksum_trusted();
            let Some(n) = self.nic.rx_take(&mut self.rx_buf) else {
                return false;
            };
            let frame = &self.rx_buf[..n];
            let verdict = self.allow.table().classify(frame);
            if verdict != Verdict::Pass {
                self.counters.drops.count(verdict);
                continue;
            }
            if !trusted && !checksums_ok(frame) {
                self.counters.bad_checksum += 1;
                continue;
            }
            self.rx_len = n;
            self.staged = true;
            self.counters.rx_frames += 1;
            return true;
        }
    }

    /// The staged frame.
    #[inline]
    fn staged_frame(&self) -> Option<&[u8]> {
        self.staged.then(|| &self.rx_buf[..self.rx_len])
    }
}

/// Receive token: a frame copied out of the NIC.
#[derive(Debug)]
pub struct RxTok<'a> {
    frame: &'a [u8],
}

/// Transmit token: builds the frame in NIC memory.
pub struct TxTok<'a, N: Nic> {
    nic: &'a mut N,
    counters: &'a mut PortCounters,
}

impl<N: Nic> core::fmt::Debug for TxTok<'_, N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("TxTok")
    }
}

impl smoltcp::phy::RxToken for RxTok<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(self.frame)
    }
}

impl<N: Nic> smoltcp::phy::TxToken for TxTok<'_, N> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let offload = self.nic.tx_checksum_offload();
        match self.nic.tx_alloc(len) {
            Some(buf) => {
                let r = f(buf);
                if !offload {
                    fill_checksums(buf);
                }
                self.nic.tx_commit(len);
                self.counters.tx_frames += 1;
                r
            }
            None => {
                // Ring full: build into a scratch frame and drop it here, counted; TCP
                // retransmits. (smoltcp's token API cannot refuse after `transmit` said yes.)
                self.counters.tx_ring_full += 1;
                let mut scratch = [0u8; 1514];
                f(&mut scratch[..len.min(1514)])
            }
        }
    }
}

impl<N: Nic> Device for Port<N> {
    type RxToken<'a>
        = RxTok<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = TxTok<'a, N>
    where
        Self: 'a;

    fn receive(&mut self, _now: Instant) -> Option<(RxTok<'_>, TxTok<'_, N>)> {
        if !self.stage() {
            return None;
        }
        self.staged = false;
        let Port {
            nic,
            rx_buf,
            rx_len,
            counters,
            ..
        } = self;
        Some((
            RxTok {
                frame: &rx_buf[..*rx_len],
            },
            TxTok { nic, counters },
        ))
    }

    fn transmit(&mut self, _now: Instant) -> Option<TxTok<'_, N>> {
        Some(TxTok {
            nic: &mut self.nic,
            counters: &mut self.counters,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = self.nic.mtu();
        caps.max_burst_size = Some(BURST);
        // The port verifies and fills checksums itself, per frame, where the NIC does not.
        caps.checksum = ChecksumCapabilities::ignored();
        caps
    }
}

/// Stack configuration, fixed at start-up.
#[derive(Debug, Clone, Copy)]
pub struct StackConfig {
    /// Our address and prefix.
    pub address: Ipv4Addr,
    /// Prefix length.
    pub prefix_len: u8,
    /// Default gateway.
    pub gateway: Option<Ipv4Addr>,
    /// Number of TCP connections (market data + trading sessions).
    pub connections: usize,
    /// Receive buffer per connection.
    pub rx_buffer: usize,
    /// Transmit buffer per connection.
    pub tx_buffer: usize,
    /// TCP keepalive interval.
    pub keepalive: Option<core::time::Duration>,
}

impl Default for StackConfig {
    fn default() -> Self {
        StackConfig {
            address: Ipv4Addr::new(10, 0, 0, 1),
            prefix_len: 24,
            gateway: None,
            connections: 4,
            rx_buffer: 256 * 1024,
            tx_buffer: 256 * 1024,
            keepalive: Some(core::time::Duration::from_secs(10)),
        }
    }
}

/// A TCP connection of the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnId(usize);

/// Why a stack operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StackError {
    /// All connections configured at start-up are in use.
    NoFreeConnection,
    /// smoltcp refused to connect (bad address, port in use).
    Connect,
    /// smoltcp refused to listen.
    Listen,
    /// The connection is not open for this operation.
    NotConnected,
}

impl core::fmt::Display for StackError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::NoFreeConnection => "no free TCP connection slot",
            Self::Connect => "TCP connect refused by the stack",
            Self::Listen => "TCP listen refused by the stack",
            Self::NotConnected => "TCP connection not open",
        })
    }
}

impl std::error::Error for StackError {}

/// Connection state, as the session glue needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnState {
    /// Not open.
    Closed,
    /// SYN sent / listening.
    Connecting,
    /// Data may flow.
    Established,
    /// The peer closed its side (FIN received).
    PeerClosed,
    /// Closing.
    Closing,
}

/// The userspace TCP/IP stack over one NIC.
pub struct Stack<N: Nic> {
    port: Port<N>,
    iface: Interface,
    /// One socket set per connection (so that one connection can be sent ahead of the others,
    /// [`Stack::transmit`]); `handles[i]` is connection `i`'s socket in `sets[i]`.
    sets: Vec<SocketSet<'static>>,
    handles: Vec<SocketHandle>,
    in_use: Vec<bool>,
    keepalive: Option<core::time::Duration>,
    next_port: u16,
    /// Per connection: something may be due (a segment was taken in, the socket written,
    /// read, opened, closed or transmitted since its last egress pass).
    due: Vec<bool>,
    /// When the next sweep of smoltcp's own timers is due (every connection gets a pass).
    next_sweep: Instant,
    /// When a poll next runs an egress round: now if any connection is due, else the sweep.
    egress_at: Instant,
    /// Egress rounds run (tests: how many polls skipped theirs).
    egress_rounds: u64,
}

impl<N: Nic> core::fmt::Debug for Stack<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Stack")
            .field("connections", &self.handles.len())
            .finish_non_exhaustive()
    }
}

fn instant(now_ns: i64) -> Instant {
    Instant::from_micros(now_ns / 1000)
}

impl<N: Nic> Stack<N> {
    /// A stack on `nic`, with every connection's buffers allocated now.
    pub fn new(nic: N, allow: Live, cfg: StackConfig, now_ns: i64) -> Stack<N> {
        let mac = nic.mac();
        let mut port = Port::new(nic, allow);
        let mut icfg = Config::new(HardwareAddress::Ethernet(EthernetAddress(mac)));
        icfg.random_seed =
            u64::from_le_bytes([mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], 0x5a, 0xa5]);
        let mut iface = Interface::new(icfg, &mut port, instant(now_ns));
        iface.update_ip_addrs(|addrs| {
            let _ = addrs.push(IpCidr::Ipv4(Ipv4Cidr::new(cfg.address, cfg.prefix_len)));
        });
        if let Some(gw) = cfg.gateway {
            let _ = iface.routes_mut().add_default_ipv4_route(gw);
        }
        let mut sets = Vec::with_capacity(cfg.connections);
        let mut handles = Vec::with_capacity(cfg.connections);
        for _ in 0..cfg.connections {
            let mut s = tcp::Socket::new(
                tcp::SocketBuffer::new(vec![0; cfg.rx_buffer]),
                tcp::SocketBuffer::new(vec![0; cfg.tx_buffer]),
            );
            s.set_nagle_enabled(false);
            s.set_ack_delay(None);
            let mut set = SocketSet::new(Vec::with_capacity(1));
            handles.push(set.add(s));
            sets.push(set);
        }
        let n = handles.len();
        Stack {
            port,
            iface,
            sets,
            handles,
            in_use: vec![false; n],
            keepalive: cfg.keepalive,
            next_port: 49152,
            due: vec![true; n],
            next_sweep: Instant::ZERO,
            egress_at: Instant::ZERO,
            egress_rounds: 0,
        }
    }

    /// Frame counters (drops by reason included).
    pub fn counters(&self) -> PortCounters {
        self.port.counters
    }

    /// Applies allowlist updates published by the control plane (wait-free).
    pub fn refresh_allowlist(&mut self) {
        self.port.allow.refresh();
    }

    /// The NIC (for its own counters).
    pub fn nic(&self) -> &N {
        &self.port.nic
    }

    /// The NIC, mutably (fault injection in tests).
    pub fn nic_mut(&mut self) -> &mut N {
        &mut self.port.nic
    }

    /// Sends what the sockets have due (up to a burst of segments per connection), then
    /// processes up to a burst of received frames (see the module doc for why in this order).
    /// Returns true if any socket may have changed state.
    ///
    /// The egress part is skipped when nothing can be due: no frame was taken in and no
    /// socket touched since the last egress pass, and the 1 ms timer sweep is not due. A poll
    /// that only receives therefore goes straight to the NIC's receive ring.
    pub fn poll(&mut self, now_ns: i64) -> bool {
        let now = instant(now_ns);
        let mut changed = false;
        if self.egress_at <= now {
            changed = self.egress(now);
        }
        let mut received = false;
        for _ in 0..BURST {
            if !self.port.stage() {
                break;
            }
            let k = self.port.staged_frame().and_then(|f| self.route(f));
            received = true;
            match self.iface.poll_ingress_single(
                now,
                &mut self.port,
                &mut self.sets[k.unwrap_or(0)],
            ) {
                PollIngressSingleResult::None => break,
                PollIngressSingleResult::PacketProcessed => {}
                PollIngressSingleResult::SocketStateChanged => changed = true,
            }
            // An ACK may be owed, a state changed: the next poll sends. A frame for no socket
            // (ARP: a neighbour may now be known) may concern them all.
            match k {
                Some(k) => self.mark(k),
                None => (0..self.due.len()).for_each(|k| self.mark(k)),
            }
        }
        if received {
            // Replies smoltcp made while reading (ARP, RST, ICMP).
            self.port.nic.tx_flush();
        }
        changed
    }

    /// Connection `k` needs an egress pass with the next poll.
    fn mark(&mut self, k: usize) {
        if let Some(d) = self.due.get_mut(k) {
            *d = true;
            self.egress_at = Instant::ZERO;
        }
    }

    /// Sends the next segment connection `id` has due (the data just written with
    /// [`Stack::send`]) and hands it to the NIC at once (`tx_flush`: the tx burst carries it
    /// alone), ahead of what the other connections owe (pure ACKs, window updates), which
    /// leaves with the next [`Stack::poll`], as do further segments of a write longer than
    /// one segment. The latency path: an order leaves before the ACK owed to the market-data
    /// connection for the tick that triggered it. Call [`Stack::poll`] after it.
    pub fn transmit(&mut self, id: ConnId, now_ns: i64) {
        let now = instant(now_ns);
        let Some(set) = self.sets.get_mut(id.0) else {
            return;
        };
        if let smoltcp::iface::PollResult::SocketStateChanged =
            self.iface.poll_egress(now, &mut self.port, set)
        {
            self.port.nic.tx_flush();
        }
        // What else it has due (a longer write) goes with the next poll.
        self.mark(id.0);
    }

    /// One egress round: each connection that may have something due sends it (up to a burst
    /// of segments, until a pass finds nothing more), in connection order, then the NIC's
    /// doorbell. Every [`SWEEP`] every connection gets a pass, for smoltcp's own timers.
    fn egress(&mut self, now: Instant) -> bool {
        use smoltcp::iface::PollResult;
        let mut changed = false;
        self.egress_rounds += 1;
        let sweep = now >= self.next_sweep;
        if sweep {
            self.next_sweep = now + SWEEP;
        }
        let mut again = false;
        for k in 0..self.sets.len() {
            if !(core::mem::take(&mut self.due[k]) || sweep) {
                continue;
            }
            let set = &mut self.sets[k];
            let mut done = false;
            for _ in 0..BURST {
                if let PollResult::None = self.iface.poll_egress(now, &mut self.port, set) {
                    done = true;
                    break;
                }
                changed = true;
            }
            // A full burst: the rest with the next poll.
            self.due[k] = !done;
            again |= !done;
        }
        self.port.nic.tx_flush();
        self.egress_at = if again {
            Instant::ZERO
        } else {
            self.next_sweep
        };
        changed
    }

    /// The connection whose socket takes `frame` (a TCP segment to one of our sockets), in the
    /// order smoltcp itself would look (`tcp::Socket::accepts` of smoltcp 0.14: the 4-tuple of
    /// a connected socket, else the listening port, a listener never taking an ACK or RST);
    /// `None` for every other frame (ARP, ICMP, a segment no socket takes: smoltcp answers
    /// with a RST, as it would with every socket in one set), which goes to the first set.
    fn route(&self, frame: &[u8]) -> Option<usize> {
        // One connection: everything goes to its set (and may concern it).
        if self.sets.len() < 2 || frame.len() < ETH_HEADER || frame[12..14] != ETHERTYPE_IPV4 {
            return None;
        }
        let ip = Ipv4Packet::new_checked(&frame[ETH_HEADER..]).ok()?;
        if ip.next_header() != IpProtocol::Tcp || ip.more_frags() || ip.frag_offset() != 0 {
            return None;
        }
        let tcp = TcpPacket::new_checked(ip.payload()).ok()?;
        let (src, dst) = (
            IpAddress::Ipv4(ip.src_addr()),
            IpAddress::Ipv4(ip.dst_addr()),
        );
        let (sport, dport) = (tcp.src_port(), tcp.dst_port());
        let ack_or_rst = tcp.ack() || tcp.rst();
        for (k, set) in self.sets.iter().enumerate() {
            let s = set.get::<tcp::Socket<'static>>(self.handles[k]);
            let takes = match s.state() {
                tcp::State::Closed => false,
                tcp::State::Listen if ack_or_rst => false,
                _ => match (s.local_endpoint(), s.remote_endpoint()) {
                    (Some(l), Some(r)) => {
                        l.addr == dst && l.port == dport && r.addr == src && r.port == sport
                    }
                    _ => {
                        let l = s.listen_endpoint();
                        l.addr.is_none_or(|a| a == dst) && dport != 0 && l.port == dport
                    }
                },
            };
            if takes {
                return Some(k);
            }
        }
        None
    }

    fn free_slot(&mut self) -> Result<usize, StackError> {
        let i = self
            .in_use
            .iter()
            .position(|u| !u)
            .ok_or(StackError::NoFreeConnection)?;
        self.in_use[i] = true;
        Ok(i)
    }

    fn socket(&mut self, id: ConnId) -> &mut tcp::Socket<'static> {
        self.sets[id.0].get_mut::<tcp::Socket<'static>>(self.handles[id.0])
    }

    /// Opens a connection to `remote`.
    ///
    /// # Errors
    /// [`StackError`].
    pub fn connect(&mut self, remote: SocketAddrV4) -> Result<ConnId, StackError> {
        let i = self.free_slot()?;
        self.next_port = if self.next_port >= 65000 {
            49152
        } else {
            self.next_port + 1
        };
        let local = self.next_port;
        let keepalive = self
            .keepalive
            .map(|d| Duration::from_micros(d.as_micros() as u64));
        let handle = self.handles[i];
        let cx = self.iface.context();
        let s = self.sets[i].get_mut::<tcp::Socket<'static>>(handle);
        s.set_keep_alive(keepalive);
        let r = s.connect(cx, (IpAddress::Ipv4(*remote.ip()), remote.port()), local);
        if r.is_err() {
            self.in_use[i] = false;
            return Err(StackError::Connect);
        }
        self.mark(i);
        Ok(ConnId(i))
    }

    /// Listens on `port` (the venue side of in-process tests and benchmarks).
    ///
    /// # Errors
    /// [`StackError`].
    pub fn listen(&mut self, port: u16) -> Result<ConnId, StackError> {
        let i = self.free_slot()?;
        self.mark(i);
        let r = self.socket(ConnId(i)).listen(port);
        if r.is_err() {
            self.in_use[i] = false;
            return Err(StackError::Listen);
        }
        Ok(ConnId(i))
    }

    /// Connection state.
    pub fn state(&mut self, id: ConnId) -> ConnState {
        use tcp::State as S;
        match self.socket(id).state() {
            S::Closed | S::TimeWait => ConnState::Closed,
            S::Listen | S::SynSent | S::SynReceived => ConnState::Connecting,
            S::Established => ConnState::Established,
            S::CloseWait => ConnState::PeerClosed,
            _ => ConnState::Closing,
        }
    }

    /// Queues bytes; returns how many fit in the send buffer.
    ///
    /// # Errors
    /// [`StackError::NotConnected`].
    pub fn send(&mut self, id: ConnId, data: &[u8]) -> Result<usize, StackError> {
        self.mark(id.0);
        self.socket(id)
            .send_slice(data)
            .map_err(|_| StackError::NotConnected)
    }

    /// Writes into the send buffer in place: `f` gets its contiguous free space (possibly
    /// empty, or shorter than the free total when the ring wraps) and returns how many bytes
    /// it wrote there, and a value handed back.
    ///
    /// # Errors
    /// [`StackError::NotConnected`].
    pub fn send_with<R>(
        &mut self,
        id: ConnId,
        f: impl FnOnce(&mut [u8]) -> (usize, R),
    ) -> Result<R, StackError> {
        self.mark(id.0);
        self.socket(id)
            .send(|buf| {
                let (n, r) = f(buf);
                (n.min(buf.len()), r)
            })
            .map_err(|_| StackError::NotConnected)
    }

    /// Received bytes, without copying: `f` sees the contiguous readable bytes and returns how
    /// many it consumed.
    ///
    /// # Errors
    /// [`StackError::NotConnected`].
    pub fn recv_with(
        &mut self,
        id: ConnId,
        f: impl FnOnce(&[u8]) -> usize,
    ) -> Result<usize, StackError> {
        let s = self.socket(id);
        if !s.can_recv() {
            return if s.may_recv() {
                Ok(0)
            } else {
                Err(StackError::NotConnected)
            };
        }
        let n = s
            .recv(|buf| {
                let n = f(buf).min(buf.len());
                (n, n)
            })
            .map_err(|_| StackError::NotConnected)?;
        // Reading may open the window enough to announce it.
        if n > 0 {
            self.mark(id.0);
        }
        Ok(n)
    }

    /// Closes gracefully (FIN).
    pub fn close(&mut self, id: ConnId) {
        self.mark(id.0);
        self.socket(id).close();
    }

    /// Aborts (RST) and frees the slot.
    pub fn abort(&mut self, id: ConnId) {
        self.mark(id.0);
        self.socket(id).abort();
        self.in_use[id.0] = false;
    }

    /// Frees the slot of a closed connection.
    pub fn release(&mut self, id: ConnId) {
        self.in_use[id.0] = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::allowlist::{self, Allowlist};
    use crate::mem::{self, Faults, MemNic};

    /// A NIC wrapper that forwards frames but not the checksum questions (like a meter), and
    /// keeps a copy of the last TCP frame it delivered.
    struct Plain(MemNic, Option<Vec<u8>>);

    impl Nic for Plain {
        fn mac(&self) -> [u8; 6] {
            self.0.mac()
        }
        fn rx_peek(&mut self) -> Option<&[u8]> {
            let f = self.0.rx_peek()?;
            if f.len() > ETH_HEADER + 20 && f[12..14] == ETHERTYPE_IPV4 && f[23] == 6 {
                self.1 = Some(f.to_vec());
            }
            Some(f)
        }
        fn rx_release(&mut self) {
            self.0.rx_release();
        }
        fn tx_alloc(&mut self, len: usize) -> Option<&mut [u8]> {
            self.0.tx_alloc(len)
        }
        fn tx_commit(&mut self, len: usize) {
            self.0.tx_commit(len);
        }
        fn tx_flush(&mut self) -> usize {
            self.0.tx_flush()
        }
    }

    fn cfg(last: u8) -> StackConfig {
        StackConfig {
            address: Ipv4Addr::new(10, 0, 0, last),
            connections: 1,
            rx_buffer: 8192,
            tx_buffer: 8192,
            ..StackConfig::default()
        }
    }

    fn live() -> Live {
        allowlist::live(Allowlist::allow_all()).1
    }

    /// Connects `c` to `v`, then sends `rounds` 200-byte messages each way; returns the bytes
    /// each side received, checked.
    fn exchange<A: Nic, B: Nic>(c: &mut Stack<A>, v: &mut Stack<B>, rounds: usize) {
        let vc = v.listen(4001).expect("listen");
        let cc = c
            .connect(SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 4001))
            .expect("connect");
        let mut t = 0;
        let mut step = |c: &mut Stack<A>, v: &mut Stack<B>| {
            t += 200_000;
            c.poll(t);
            v.poll(t);
        };
        for _ in 0..10_000 {
            if c.state(cc) == ConnState::Established && v.state(vc) == ConnState::Established {
                break;
            }
            step(c, v);
        }
        assert_eq!(c.state(cc), ConnState::Established);
        let msg: Vec<u8> = (0..200u8).collect();
        for _ in 0..rounds {
            assert_eq!(c.send(cc, &msg), Ok(200));
            let mut got = Vec::new();
            for _ in 0..50_000 {
                step(c, v);
                v.recv_with(vc, |b| {
                    got.extend_from_slice(b);
                    b.len()
                })
                .expect("open");
                if got.len() >= 200 {
                    break;
                }
            }
            assert_eq!(got, msg, "venue received the message intact");
            assert_eq!(v.send(vc, &got), Ok(200));
            let mut back = Vec::new();
            for _ in 0..50_000 {
                step(c, v);
                c.recv_with(cc, |b| {
                    back.extend_from_slice(b);
                    b.len()
                })
                .expect("open");
                if back.len() >= 200 {
                    break;
                }
            }
            assert_eq!(back, msg, "client received the echo intact");
        }
    }

    #[test]
    fn frames_corrupted_on_the_link_fail_the_checksum_and_are_counted() {
        let (a, b) = mem::pair(64, [2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
        let mut c = Stack::new(a, live(), cfg(1), 0);
        let mut v = Stack::new(b, live(), cfg(2), 0);
        let corrupt = Faults {
            corrupt_permille: 30,
            seed: 7,
            ..Faults::default()
        };
        c.nic_mut().set_faults(corrupt);
        v.nic_mut().set_faults(Faults { seed: 9, ..corrupt });
        exchange(&mut c, &mut v, 200);
        let corrupted = c.nic().fault_stats().corrupted + v.nic().fault_stats().corrupted;
        assert!(corrupted > 0);
        let caught = c.counters().bad_checksum + v.counters().bad_checksum;
        // Every corrupted IPv4 frame is caught (a flip in an ARP frame may not be).
        assert!(caught > 0 && caught <= corrupted, "{caught} of {corrupted}");
    }

    #[test]
    fn a_receiver_behind_a_wrapper_gets_checksummed_frames() {
        let (a, b) = mem::pair(64, [2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
        // The client trusts its ring, the venue's stack cannot see its MemNic's answer.
        let mut c = Stack::new(a, live(), cfg(1), 0);
        let mut v = Stack::new(Plain(b, None), live(), cfg(2), 0);
        exchange(&mut c, &mut v, 50);
        assert_eq!(v.counters().bad_checksum, 0);
        assert_eq!(c.counters().bad_checksum, 0);
        // The client's frames carried checksums; the venue's were left out only where the
        // client said it trusts the ring.
        assert!(!c.nic().tx_checksum_offload());
        assert!(c.nic().rx_checksum_trusted());
    }

    #[test]
    fn port_checksums_round_trip_and_catch_a_flipped_byte() {
        let (a, b) = mem::pair(64, [2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
        let mut c = Stack::new(a, live(), cfg(1), 0);
        let mut v = Stack::new(Plain(b, None), live(), cfg(2), 0);
        let _ = v.listen(4001);
        let _ = c.connect(SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 4001));
        // ARP, then the SYN: the wrapper keeps the TCP frame the venue's stack verified.
        for t in 1..50 {
            c.poll(t * 1_000_000);
            v.poll(t * 1_000_000);
            if v.nic().1.is_some() {
                break;
            }
        }
        assert_eq!(v.counters().bad_checksum, 0);
        let syn = v.nic().1.clone();
        let mut syn = syn.expect("a TCP frame");
        assert!(checksums_ok(&syn), "filled for a receiver that verifies");
        syn[14 + 20 + 4] ^= 1;
        assert!(
            !checksums_ok(&syn),
            "TCP checksum catches a flipped sequence bit"
        );
        syn[14 + 20 + 4] ^= 1;
        syn[14 + 8] ^= 1;
        assert!(
            !checksums_ok(&syn),
            "IPv4 header checksum catches a flipped TTL bit"
        );
        let mut zeroed = syn.clone();
        zeroed[14 + 8] ^= 1;
        fill_checksums(&mut zeroed);
        assert_eq!(zeroed, {
            syn[14 + 8] ^= 1;
            syn
        });
    }

    /// A NIC wrapper that keeps a copy of every frame sent, and how many had been sent at
    /// each doorbell (`tx_flush`).
    struct Tap(MemNic, Vec<u8>, Vec<Vec<u8>>, Vec<usize>);

    impl Tap {
        fn new(nic: MemNic) -> Tap {
            Tap(nic, vec![0; 2048], Vec::new(), Vec::new())
        }
    }

    impl Nic for Tap {
        fn mac(&self) -> [u8; 6] {
            self.0.mac()
        }
        fn rx_peek(&mut self) -> Option<&[u8]> {
            self.0.rx_peek()
        }
        fn rx_release(&mut self) {
            self.0.rx_release();
        }
        fn tx_alloc(&mut self, len: usize) -> Option<&mut [u8]> {
            self.1.get_mut(..len)
        }
        fn tx_commit(&mut self, len: usize) {
            let frame = self.1[..len].to_vec();
            if let Some(b) = self.0.tx_alloc(len) {
                b.copy_from_slice(&frame);
                self.0.tx_commit(len);
            }
            self.2.push(frame);
        }
        fn tx_flush(&mut self) -> usize {
            if self.3.last() != Some(&self.2.len()) {
                self.3.push(self.2.len());
            }
            self.0.tx_flush()
        }
    }

    /// (source port, destination port, payload length) of a TCP frame.
    fn segment(frame: &[u8]) -> Option<(u16, u16, usize)> {
        let ip = Ipv4Packet::new_checked(frame.get(ETH_HEADER..)?).ok()?;
        if ip.next_header() != IpProtocol::Tcp {
            return None;
        }
        let t = TcpPacket::new_checked(ip.payload()).ok()?;
        Some((t.src_port(), t.dst_port(), t.payload().len()))
    }

    fn two(last: u8) -> StackConfig {
        StackConfig {
            connections: 2,
            ..cfg(last)
        }
    }

    /// Client (10.0.0.1, two connections, its sent frames tapped) and venue (10.0.0.2,
    /// listening on 4000 and 4001), both connected; returns the connections, client's first.
    #[allow(clippy::type_complexity)]
    fn connected(
        keepalive: Option<core::time::Duration>,
    ) -> (Stack<Tap>, Stack<MemNic>, [ConnId; 2], [ConnId; 2], i64) {
        let (a, b) = mem::pair(64, [2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
        let mut c = Stack::new(
            Tap::new(a),
            live(),
            StackConfig {
                keepalive,
                ..two(1)
            },
            0,
        );
        let mut v = Stack::new(b, live(), two(2), 0);
        let vs = [
            v.listen(4000).expect("listen"),
            v.listen(4001).expect("listen"),
        ];
        let to = |port| SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), port);
        let cs = [
            c.connect(to(4000)).expect("connect"),
            c.connect(to(4001)).expect("connect"),
        ];
        let mut t = 0;
        for _ in 0..1000 {
            t += 1000;
            c.poll(t);
            v.poll(t);
            if cs.iter().all(|&x| c.state(x) == ConnState::Established)
                && vs.iter().all(|&x| v.state(x) == ConnState::Established)
            {
                return (c, v, cs, vs, t);
            }
        }
        panic!("not established");
    }

    #[test]
    fn a_connection_transmitted_first_leaves_before_the_ack_another_one_owes() {
        let (mut c, mut v, [md, trd], [vmd, vtrd], mut t) = connected(None);
        // The venue sends market data; the client takes it in (an ACK is now owed on md).
        assert_eq!(v.send(vmd, &[7; 300]), Ok(300));
        v.poll(t);
        c.poll(t);
        let mut got = 0;
        c.recv_with(md, |b| {
            got = b.len();
            b.len()
        })
        .expect("open");
        assert_eq!(got, 300);
        // The order: written, then transmitted ahead of everything else.
        let (sent, doorbells) = (c.nic().2.len(), c.nic().3.len());
        assert_eq!(c.send(trd, &[9; 200]), Ok(200));
        c.transmit(trd, t);
        let out: Vec<_> = c.nic().2[sent..]
            .iter()
            .filter_map(|f| segment(f))
            .collect();
        assert_eq!(out, [(49154, 4001, 200)], "the order alone, no ACK yet");
        assert_eq!(
            c.nic().3[doorbells..],
            [sent + 1],
            "in a tx burst of its own"
        );
        // The ACK owed to md follows with the next poll.
        c.poll(t);
        let out: Vec<_> = c.nic().2[sent..]
            .iter()
            .filter_map(|f| segment(f))
            .collect();
        assert_eq!(out, [(49154, 4001, 200), (49153, 4000, 0)]);
        // Both reach the venue; its ACK of the order comes back and nothing is resent.
        t += 1000;
        v.poll(t);
        let mut order = Vec::new();
        v.recv_with(vtrd, |b| {
            order.extend_from_slice(b);
            b.len()
        })
        .expect("open");
        assert_eq!(order, [9; 200]);
        for _ in 0..100 {
            t += 1000;
            v.poll(t);
            c.poll(t);
        }
        let data: Vec<_> = c.nic().2[sent..]
            .iter()
            .filter_map(|f| segment(f))
            .filter(|s| s.2 > 0)
            .collect();
        assert_eq!(data, [(49154, 4001, 200)], "no retransmission");
    }

    #[test]
    fn a_write_longer_than_a_segment_leaves_its_first_segment_alone_then_the_rest() {
        let (mut c, mut v, [_, trd], [_, vtrd], mut t) = connected(None);
        let msg: Vec<u8> = (0..4000u32).map(|i| i as u8).collect();
        let sent = c.nic().2.len();
        assert_eq!(c.send(trd, &msg), Ok(4000));
        c.transmit(trd, t);
        let data = |c: &Stack<Tap>| -> Vec<usize> {
            c.nic().2[sent..]
                .iter()
                .filter_map(|f| segment(f))
                .map(|s| s.2)
                .collect()
        };
        assert_eq!(data(&c).len(), 1, "one segment in the first burst");
        c.poll(t);
        assert_eq!(
            data(&c).iter().sum::<usize>(),
            4000,
            "the rest with the poll"
        );
        let mut got = Vec::new();
        for _ in 0..100 {
            t += 1000;
            v.poll(t);
            v.recv_with(vtrd, |b| {
                got.extend_from_slice(b);
                b.len()
            })
            .expect("open");
            c.poll(t);
        }
        assert_eq!(got, msg);
    }

    #[test]
    fn idle_polls_send_nothing_yet_keepalives_and_retransmissions_still_leave() {
        let (mut c, mut v, [md, _], _, mut t) = connected(Some(core::time::Duration::from_secs(1)));
        // Settle: the last ACKs of the handshake.
        for _ in 0..10 {
            t += 1_000_000;
            c.poll(t);
            v.poll(t);
        }
        let (sent, rounds) = (c.nic().2.len(), c.egress_rounds);
        for _ in 0..5000 {
            t += 10_000;
            c.poll(t);
        }
        assert_eq!(c.nic().2.len(), sent, "50 ms idle: nothing to send");
        let swept = c.egress_rounds - rounds;
        assert!(
            (49..=51).contains(&swept),
            "5000 polls, an egress round only for the timers every 1 ms: {swept}"
        );
        for _ in 0..450 {
            t += 1_000_000;
            c.poll(t);
        }
        assert_eq!(c.nic().2.len(), sent, "0.5 s idle: nothing to send");
        // Past the keep-alive interval: a keep-alive on each connection.
        for _ in 0..600 {
            t += 1_000_000;
            c.poll(t);
        }
        let keepalives: Vec<_> = c.nic().2[sent..]
            .iter()
            .filter_map(|f| segment(f))
            .collect();
        assert_eq!(keepalives.len(), 2, "{keepalives:?}");
        // A segment the venue never acknowledges is sent again on its own.
        c.nic_mut().0.set_faults(Faults {
            loss_permille: 1000,
            seed: 3,
            ..Faults::default()
        });
        let sent = c.nic().2.len();
        assert_eq!(c.send(md, &[1; 100]), Ok(100));
        for _ in 0..3000 {
            t += 1_000_000;
            c.poll(t);
        }
        let data = c.nic().2[sent..]
            .iter()
            .filter_map(|f| segment(f))
            .filter(|s| s.2 == 100)
            .count();
        assert!(data >= 2, "sent once and retransmitted: {data}");
    }

    #[test]
    fn a_segment_no_socket_takes_is_reset_whatever_the_other_sockets_listen_on() {
        let (a, b) = mem::pair(64, [2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
        let mut c = Stack::new(a, live(), two(1), 0);
        let mut v = Stack::new(b, live(), two(2), 0);
        let _l = v.listen(4000).expect("listen");
        let _m = v.listen(4001).expect("listen");
        let x = c
            .connect(SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 4002))
            .expect("connect");
        let mut t = 0;
        for _ in 0..100 {
            t += 1000;
            c.poll(t);
            v.poll(t);
        }
        assert_eq!(c.state(x), ConnState::Closed, "refused with a RST");
        let _ = c.listen(5000).expect("a listener beside it");
    }
}
