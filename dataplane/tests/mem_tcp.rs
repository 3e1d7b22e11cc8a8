//! Two userspace stacks joined by the in-memory NIC pair, polled from one thread.
#![allow(clippy::unwrap_used)]

use std::net::{Ipv4Addr, SocketAddrV4};

use tickwire_dataplane::allowlist::{self, Allowlist};
use tickwire_dataplane::mem::{self, Faults, MemNic};
use tickwire_dataplane::stack::{ConnId, ConnState, Stack, StackConfig};

const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const VENUE: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

struct Net {
    client: Stack<MemNic>,
    venue: Stack<MemNic>,
    now: i64,
    c: ConnId,
    v: ConnId,
}

fn stacks(client_allows: Allowlist, venue_allows: Allowlist) -> (Stack<MemNic>, Stack<MemNic>) {
    let (a, b) = mem::pair(256, [2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
    let cfg = |address| StackConfig {
        address,
        connections: 2,
        rx_buffer: 64 * 1024,
        tx_buffer: 64 * 1024,
        ..StackConfig::default()
    };
    let client = Stack::new(a, allowlist::live(client_allows).1, cfg(CLIENT), 0);
    let venue = Stack::new(b, allowlist::live(venue_allows).1, cfg(VENUE), 0);
    (client, venue)
}

impl Net {
    fn new(faults: Option<Faults>) -> Net {
        let (mut client, mut venue) = stacks(
            Allowlist::new(&[VENUE]).unwrap(),
            Allowlist::new(&[CLIENT]).unwrap(),
        );
        if let Some(f) = faults {
            client.nic_mut().set_faults(f);
            venue.nic_mut().set_faults(Faults {
                seed: f.seed ^ 0xabc,
                ..f
            });
        }
        let v = venue.listen(4001).unwrap();
        let c = client.connect(SocketAddrV4::new(VENUE, 4001)).unwrap();
        let mut net = Net {
            client,
            venue,
            now: 0,
            c,
            v,
        };
        for _ in 0..10_000 {
            net.step();
            if net.client.state(c) == ConnState::Established
                && net.venue.state(v) == ConnState::Established
            {
                return net;
            }
        }
        panic!("no connection");
    }

    fn step(&mut self) {
        self.now += 50_000; // 50 µs of virtual time per step
        self.client.poll(self.now);
        self.venue.poll(self.now);
    }
}

fn exchange(net: &mut Net, n: usize) {
    let msg = |i: usize, dir: &str| format!("8=FIX.4.4|34={i}|58={dir} {i:0>150}|");
    let (mut sent_c, mut sent_v) = (0, 0);
    let mut pending_c: Vec<u8> = Vec::new();
    let mut pending_v: Vec<u8> = Vec::new();
    let (mut got_v, mut got_c) = (Vec::new(), Vec::new());
    let want_v: Vec<u8> = (0..n).flat_map(|i| msg(i, "c2v").into_bytes()).collect();
    let want_c: Vec<u8> = (0..n).flat_map(|i| msg(i, "v2c").into_bytes()).collect();
    let mut steps = 0u64;
    while got_v.len() < want_v.len() || got_c.len() < want_c.len() {
        steps += 1;
        assert!(
            steps < 50_000_000,
            "stalled at {} / {}",
            got_v.len(),
            got_c.len()
        );
        while sent_c < n && pending_c.len() < 4096 {
            pending_c.extend_from_slice(msg(sent_c, "c2v").as_bytes());
            sent_c += 1;
        }
        while sent_v < n && pending_v.len() < 4096 {
            pending_v.extend_from_slice(msg(sent_v, "v2c").as_bytes());
            sent_v += 1;
        }
        let k = net.client.send(net.c, &pending_c).unwrap();
        pending_c.drain(..k);
        let k = net.venue.send(net.v, &pending_v).unwrap();
        pending_v.drain(..k);
        net.step();
        net.venue
            .recv_with(net.v, |b| {
                got_v.extend_from_slice(b);
                b.len()
            })
            .unwrap();
        net.client
            .recv_with(net.c, |b| {
                got_c.extend_from_slice(b);
                b.len()
            })
            .unwrap();
    }
    assert!(got_v == want_v, "client → venue bytes differ");
    assert!(got_c == want_c, "venue → client bytes differ");
}

#[test]
fn tcp_100k_messages_each_way_every_byte_checked() {
    let mut net = Net::new(None);
    exchange(&mut net, 100_000);
}

#[test]
fn tcp_recovers_from_loss_duplication_and_reordering() {
    let faults = Faults {
        loss_permille: 10,
        duplicate_permille: 10,
        reorder_permille: 10,
        corrupt_permille: 0,
        seed: 7,
    };
    let mut net = Net::new(Some(faults));
    exchange(&mut net, 100_000);
    let s = net.client.nic().fault_stats();
    assert!(
        s.lost > 10 && s.duplicated > 10 && s.reordered > 10,
        "{s:?}"
    );
}

#[test]
fn corrupted_frames_are_dropped_by_checksums_and_recovered() {
    let faults = Faults {
        corrupt_permille: 10,
        seed: 11,
        ..Faults::default()
    };
    let mut net = Net::new(Some(faults));
    exchange(&mut net, 20_000);
    assert!(net.client.nic().fault_stats().corrupted > 10);
}

#[test]
fn syns_from_a_foreign_address_never_reach_a_socket() {
    // The venue only allows 10.0.0.99: the client's SYNs are dropped before smoltcp.
    let (mut client, mut venue) = stacks(
        Allowlist::new(&[VENUE]).unwrap(),
        Allowlist::new(&[Ipv4Addr::new(10, 0, 0, 99)]).unwrap(),
    );
    let v = venue.listen(4001).unwrap();
    let c = client.connect(SocketAddrV4::new(VENUE, 4001)).unwrap();
    let mut now = 0;
    for _ in 0..20_000 {
        now += 1_000_000;
        client.poll(now);
        venue.poll(now);
    }
    assert_eq!(
        venue.state(v),
        ConnState::Connecting,
        "still listening: nothing arrived"
    );
    assert_ne!(client.state(c), ConnState::Established);
    let drops = venue.counters().drops;
    assert!(
        drops.not_allowed >= 2,
        "SYN and retransmissions counted: {drops:?}"
    );
    assert!(
        venue.counters().rx_frames > 0,
        "ARP still reached the stack"
    );
}

#[test]
fn allowlist_update_applies_between_polls() {
    let (a, b) = mem::pair(256, [2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
    let cfg = |address| StackConfig {
        address,
        connections: 2,
        rx_buffer: 8192,
        tx_buffer: 8192,
        ..StackConfig::default()
    };
    let mut client = Stack::new(
        a,
        allowlist::live(Allowlist::new(&[VENUE]).unwrap()).1,
        cfg(CLIENT),
        0,
    );
    let (mut publisher, live) = allowlist::live(Allowlist::new(&[CLIENT]).unwrap());
    let mut venue = Stack::new(b, live, cfg(VENUE), 0);
    let v = venue.listen(4001).unwrap();
    let c = client.connect(SocketAddrV4::new(VENUE, 4001)).unwrap();
    let mut now = 0;
    let mut run = |client: &mut Stack<MemNic>, venue: &mut Stack<MemNic>, n: usize| {
        for _ in 0..n {
            now += 100_000;
            client.poll(now);
            venue.refresh_allowlist();
            venue.poll(now);
        }
    };
    run(&mut client, &mut venue, 1000);
    assert_eq!(venue.state(v), ConnState::Established);
    // The operator removes the client's address: its next segments are dropped and counted.
    publisher.publish(Allowlist::new(&[]).unwrap()).unwrap();
    client.send(c, b"8=FIX.4.4|35=D|").unwrap();
    run(&mut client, &mut venue, 1000);
    let mut got = 0;
    venue
        .recv_with(v, |b| {
            got = b.len();
            b.len()
        })
        .unwrap();
    assert_eq!(got, 0, "no byte reached the socket after removal");
    assert!(venue.counters().drops.not_allowed > 0);
}

#[test]
fn connection_slots_are_bounded() {
    let (mut client, _venue) = stacks(Allowlist::allow_all(), Allowlist::allow_all());
    client.connect(SocketAddrV4::new(VENUE, 1)).unwrap();
    client.connect(SocketAddrV4::new(VENUE, 2)).unwrap();
    assert_eq!(
        client.connect(SocketAddrV4::new(VENUE, 3)).err(),
        Some(tickwire_dataplane::stack::StackError::NoFreeConnection)
    );
}

#[test]
fn capture_wrapper_records_both_directions_as_pcap() {
    use tickwire_dataplane::pcap::Capture;
    let path = std::env::temp_dir().join(format!("tickwire-capture-{}.pcap", std::process::id()));
    let (a, b) = mem::pair(256, [2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
    let cfg = |address| StackConfig {
        address,
        connections: 2,
        rx_buffer: 8192,
        tx_buffer: 8192,
        ..StackConfig::default()
    };
    let mut client = Stack::new(
        Capture::new(a, &path).unwrap(),
        allowlist::live(Allowlist::allow_all()).1,
        cfg(CLIENT),
        0,
    );
    let mut venue = Stack::new(b, allowlist::live(Allowlist::allow_all()).1, cfg(VENUE), 0);
    let v = venue.listen(4001).unwrap();
    let c = client.connect(SocketAddrV4::new(VENUE, 4001)).unwrap();
    let mut now = 0;
    for i in 0..2000 {
        now += 100_000;
        if i == 500 {
            client.send(c, b"8=FIX.4.4|35=D|").unwrap();
        }
        client.poll(now);
        venue.poll(now);
    }
    let mut got = Vec::new();
    venue
        .recv_with(v, |b| {
            got.extend_from_slice(b);
            b.len()
        })
        .unwrap();
    assert_eq!(got, b"8=FIX.4.4|35=D|");
    let mut reader = pcap_file::pcap::PcapReader::new(std::fs::File::open(&path).unwrap()).unwrap();
    let (mut frames, mut from_client, mut with_payload) = (0, 0, 0);
    while let Some(p) = reader.next_packet() {
        let p = p.unwrap();
        frames += 1;
        if p.data[6..12] == [2, 0, 0, 0, 0, 1] {
            from_client += 1;
        }
        if p.data.windows(9).any(|w| w == b"8=FIX.4.4") {
            with_payload += 1;
        }
    }
    assert!(
        frames >= 5 && from_client >= 3 && frames > from_client,
        "ARP, handshake, data and ACKs both ways: {frames}/{from_client}"
    );
    assert_eq!(with_payload, 1, "the FIX bytes were captured once");
    std::fs::remove_file(path).unwrap();
}

/// One hostile frame for [`arbitrary_frames_never_panic_and_the_connection_survives`]: raw
/// bytes, or an Ethernet + IPv4 + TCP frame from the venue's allowed peer whose fields are
/// anything (ports, flags, sequence numbers, options, payload), with its checksums right or
/// not, so that it gets past the allowlist and the checksums into smoltcp and the router.
fn hostile_frame() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
    use proptest::collection::vec;
    use proptest::prelude::*;
    use smoltcp::wire::{IpAddress, Ipv4Packet, TcpPacket};
    let raw = vec(any::<u8>(), 0..120);
    let port = prop_oneof![Just(4001u16), 49152..49160u16, any::<u16>()];
    let tcp = (
        port.clone(),
        port,
        any::<u32>(),
        any::<u32>(),
        any::<u8>(),
        0u8..16,
        vec(any::<u8>(), 0..60),
        any::<bool>(),
        prop_oneof![Just(6u8), any::<u8>()],
    )
        .prop_map(
            |(sport, dport, seq, ack, flags, words, rest, sums, proto)| {
                let mut f = vec![0u8; 14];
                f[0..6].copy_from_slice(&[2, 0, 0, 0, 0, 2]);
                f[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
                f[12..14].copy_from_slice(&[0x08, 0x00]);
                let mut tcp = vec![0u8; 20];
                tcp[0..2].copy_from_slice(&sport.to_be_bytes());
                tcp[2..4].copy_from_slice(&dport.to_be_bytes());
                tcp[4..8].copy_from_slice(&seq.to_be_bytes());
                tcp[8..12].copy_from_slice(&ack.to_be_bytes());
                // Data offset of any value (options from `rest`), then the flags.
                tcp[12] = words << 4;
                tcp[13] = flags;
                tcp[14..16].copy_from_slice(&1024u16.to_be_bytes());
                tcp.extend_from_slice(&rest);
                let total = 20 + tcp.len();
                let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, proto, 0, 0];
                ip[2..4].copy_from_slice(&(total as u16).to_be_bytes());
                ip.extend_from_slice(&CLIENT.octets());
                ip.extend_from_slice(&VENUE.octets());
                ip.extend_from_slice(&tcp);
                if sums {
                    let (src, dst) = (IpAddress::Ipv4(CLIENT), IpAddress::Ipv4(VENUE));
                    let mut p = TcpPacket::new_unchecked(&mut ip[20..]);
                    p.fill_checksum(&src, &dst);
                    Ipv4Packet::new_unchecked(&mut ip[..]).fill_checksum();
                }
                f.extend_from_slice(&ip);
                f
            },
        );
    prop_oneof![1 => raw, 3 => tcp]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

    /// Frames of any content arriving at the venue's stack between the polls of an
    /// established connection (garbage, and TCP segments from the allowed peer with any
    /// ports, flags, sequence numbers and options, checksums right or not) never panic it,
    /// and the connection still carries every byte both ways afterwards.
    #[test]
    fn arbitrary_frames_never_panic_and_the_connection_survives(
        frames in proptest::collection::vec(hostile_frame(), 1..16),
    ) {
        use tickwire_dataplane::nic::Nic as _;
        let mut net = Net::new(None);
        for f in &frames {
            let nic = net.client.nic_mut();
            if let Some(buf) = nic.tx_alloc(f.len()) {
                buf.copy_from_slice(f);
                nic.tx_commit(f.len());
            }
            nic.tx_flush();
            net.step();
        }
        proptest::prop_assert_eq!(net.client.state(net.c), ConnState::Established);
        proptest::prop_assert_eq!(net.venue.state(net.v), ConnState::Established);
        exchange(&mut net, 200);
    }
}
