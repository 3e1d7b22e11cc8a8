//! Steady state of the engine loop: after start-up and a warm-up, 100k tick → order → fill
//! cycles through the whole path (venue feed, NIC pair, allowlist, smoltcp, TLS 1.3, FIX,
//! book, strategy, template, and back) make no heap allocation and take no minor page fault.
//!
//! The message log is attached (and drained on this thread, as the writer thread would):
//! recording every message costs no allocation either.
//!
//! Both the engine and the venue side run on this thread, so both are counted. Memory is
//! locked the way the engine thread locks it (`mlockall(MCL_CURRENT | MCL_FUTURE)` through
//! `engine::runner::pin_current`), which needs root or CAP_IPC_LOCK: without it the test
//! fails and says so. This file holds one test: the allocator counts every thread.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

mod engine_util;

use engine_util::Rig;
use nix::sys::resource::{getrusage, UsageWho};
use tickwire_dataplane::counters::read;
use tickwire_dataplane::engine::runner::{pin_current, ThreadConfig};
use tickwire_dataplane::msglog;

#[global_allocator]
static GLOBAL: tickwire_testutil::CountingAlloc = tickwire_testutil::CountingAlloc;

fn minor_faults() -> i64 {
    getrusage(UsageWho::RUSAGE_THREAD)
        .unwrap()
        .minor_page_faults()
}

#[test]
fn no_allocation_and_no_page_fault_over_100k_tick_to_order_cycles() {
    let lock = ThreadConfig {
        mlockall: true,
        ..ThreadConfig::default()
    };
    if let Err(e) = pin_current(&lock) {
        panic!("{e}: this test locks memory like the engine thread does (run as root, as CI does)");
    }
    // Every tick fires an order; every order is filled.
    let mut rig = Rig::new(1, true);
    let (tap, mut drain) = msglog::ring(4 << 20);
    rig.engine.set_message_log(tap);
    let mut record = msglog::Record::default();
    let mut chunk = |rig: &mut Rig, n: u64| {
        let mut logged = 0u64;
        for _ in 0..n / 1_000 {
            rig.ticks(1_000);
            while drain.next(&mut record) {
                logged += 1;
            }
        }
        logged
    };
    rig.log_on();
    assert!(chunk(&mut rig, 20_000) >= 3 * 20_000);
    assert_eq!(rig.engine.strategy().fills, 20_000, "warm-up");

    let cycles = 100_000;
    let (a0, f0) = (tickwire_testutil::total(), minor_faults());
    let t = std::time::Instant::now();
    let logged = chunk(&mut rig, cycles);
    let elapsed = t.elapsed();
    let (a1, f1) = (tickwire_testutil::total(), minor_faults());

    let s = rig.engine.strategy();
    assert_eq!(s.sent, 20_000 + cycles, "{:?}", s.last_error);
    assert_eq!(s.fills, 20_000 + cycles);
    assert_eq!(rig.venue.check.malformed, 0);
    let trd = &rig.engine.counters().counters().session[rig.trd.index()];
    assert_eq!(read(&trd.orders_sent), 20_000 + cycles);
    // Tick in, order out, fill in: every one recorded, none dropped.
    assert!(logged >= 3 * cycles, "{logged} records");
    assert_eq!(read(&rig.engine.counters().counters().log_dropped), 0);
    println!(
        "{cycles} tick→order→fill cycles in {elapsed:?} (both sides, one thread, {logged} messages logged): {} allocations, {} minor faults",
        a1 - a0,
        f1 - f0
    );
    assert_eq!(a1 - a0, 0, "heap allocations in the steady state");
    assert_eq!(f1 - f0, 0, "minor page faults in the steady state");
}
