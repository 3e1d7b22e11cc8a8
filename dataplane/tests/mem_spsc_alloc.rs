//! The two-thread in-memory NIC pair allocates nothing per frame: each thread counts its own
//! heap allocations (a thread-local counter in a counting allocator) over 100 000 frames each
//! way, after a warm-up, with a small ring that is often full (refusals included).
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use tickwire_dataplane::mem_spsc::{pair, SpscNic};
use tickwire_dataplane::nic::Nic;
use tickwire_testutil::this_thread as allocations;

#[global_allocator]
static GLOBAL: tickwire_testutil::CountingAlloc = tickwire_testutil::CountingAlloc;

const WARM_UP: u32 = 1_000;
const FRAMES: u32 = 100_000;

/// Sends `FRAMES` numbered frames and receives as many from the peer, interleaved, through
/// the Nic trait as the stack uses it (`rx_take` into a port buffer, `rx_peek` on odd
/// frames). Returns the allocations made after the warm-up and the refusals seen.
fn ping(mut nic: SpscNic) -> (u64, u64) {
    let mut port = vec![0u8; 2048];
    let (mut sent, mut got, mut refused) = (0u32, 0u32, 0u64);
    let mut from = 0;
    while sent < FRAMES || got < FRAMES {
        if sent == WARM_UP {
            from = allocations();
        }
        if sent < FRAMES {
            let len = 60 + (sent as usize * 7) % 1400;
            match nic.tx_alloc(len) {
                Some(buf) => {
                    buf[..4].copy_from_slice(&sent.to_le_bytes());
                    nic.tx_commit(len);
                    sent += 1;
                }
                None => refused += 1,
            }
        }
        let seq = if got % 2 == 0 {
            nic.rx_take(&mut port)
                .map(|_| u32::from_le_bytes(port[..4].try_into().unwrap()))
        } else {
            let seq = nic
                .rx_peek()
                .map(|f| u32::from_le_bytes(f[..4].try_into().unwrap()));
            nic.rx_release();
            seq
        };
        if let Some(seq) = seq {
            assert_eq!(seq, got, "frames arrive in order");
            got += 1;
        }
        std::hint::spin_loop();
    }
    (allocations() - from, refused)
}

#[test]
fn no_allocation_per_frame_on_either_thread() {
    let (a, b) = pair(8, [2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
    let peer = std::thread::spawn(move || ping(b));
    let (ours, refused_a) = ping(a);
    let (theirs, refused_b) = peer.join().unwrap();
    assert_eq!(ours, 0, "allocations on this thread after warm-up");
    assert_eq!(theirs, 0, "allocations on the peer thread after warm-up");
    // The 8-frame ring filled at times: back-pressure was exercised, without allocating.
    assert!(refused_a + refused_b > 0, "the ring never filled");
    println!("refused: {refused_a} here, {refused_b} on the peer");
}
