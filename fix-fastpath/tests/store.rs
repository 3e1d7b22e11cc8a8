//! The memory-mapped store: resume after reopen, after `abort()` in a child process, after a
//! torn record; refuse when full; offline reading.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use tickwire_fix::session::{Journal, JournalError};
use tickwire_fix::store::{FlushPolicy, OpenError, Store, StoreConfig};

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tickwire-store-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&dir);
    dir
}

fn cfg() -> StoreConfig {
    StoreConfig {
        log_bytes: 1 << 20,
        index_entries: 4096,
        flush: FlushPolicy::Never,
    }
}

fn msg(seq: u64) -> Vec<u8> {
    format!("8=FIX.4.4\x019=5\x0135=D\x0134={seq}\x0111=ORDER-{seq}\x0110=000\x01").into_bytes()
}

#[test]
fn resumes_after_reopen() {
    let path = temp("reopen");
    {
        let mut s = Store::open(&path, cfg()).unwrap();
        for seq in 1..=100 {
            s.record_sent(seq, &msg(seq)).unwrap();
            s.set_next_sender_seq(seq + 1);
        }
        s.set_next_target_seq(42);
        s.set_clordid_high_water(1_775_572_325_000_100);
    }
    let s = Store::open(&path, cfg()).unwrap();
    assert_eq!(s.next_sender_seq(), 101);
    assert_eq!(s.next_target_seq(), 42);
    assert_eq!(s.clordid_high_water(), 1_775_572_325_000_100);
    for seq in 1..=100 {
        assert_eq!(s.sent(seq), Some(msg(seq).as_slice()), "seq {seq}");
    }
    assert_eq!(s.sent(101), None);
    let (next_sender, _, _, records) = Store::read_records(&path).unwrap();
    assert_eq!((next_sender, records.len()), (101, 100));
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn survives_abort_in_a_child_process() {
    // The child re-runs this test binary with TICKWIRE_STORE_CHILD set, appends, and aborts.
    if let Ok(path) = std::env::var("TICKWIRE_STORE_CHILD") {
        let mut s = Store::open(std::path::Path::new(&path), cfg()).unwrap();
        for seq in 1..=500 {
            s.record_sent(seq, &msg(seq)).unwrap();
            s.set_next_sender_seq(seq + 1);
            s.set_clordid_high_water(seq * 10);
        }
        std::process::abort();
    }
    let path = temp("abort");
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "survives_abort_in_a_child_process",
            "--nocapture",
        ])
        .env("TICKWIRE_STORE_CHILD", &path)
        .status()
        .unwrap();
    assert!(!status.success(), "child must have aborted");
    let s = Store::open(&path, cfg()).unwrap();
    assert_eq!(s.next_sender_seq(), 501, "no sequence number lost");
    assert_eq!(s.clordid_high_water(), 5000, "no ClOrdID reusable");
    for seq in 1..=500 {
        assert_eq!(s.sent(seq), Some(msg(seq).as_slice()));
    }
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn torn_last_record_is_dropped_and_the_rest_kept() {
    let path = temp("torn");
    {
        let mut s = Store::open(&path, cfg()).unwrap();
        for seq in 1..=10 {
            s.record_sent(seq, &msg(seq)).unwrap();
        }
    }
    // Corrupt one byte of the last record's message body.
    let mut data = std::fs::read(&path).unwrap();
    let needle = b"ORDER-10";
    let at = data
        .windows(needle.len())
        .rposition(|w| w == needle)
        .unwrap();
    data[at] ^= 0xFF;
    std::fs::write(&path, &data).unwrap();
    let s = Store::open(&path, cfg()).unwrap();
    assert!(s.recovered_truncation().is_some());
    assert_eq!(s.sent(10), None);
    assert_eq!(s.sent(9), Some(msg(9).as_slice()));
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn full_store_and_foreign_files_are_typed_errors() {
    let path = temp("full");
    let small = StoreConfig {
        log_bytes: 256,
        index_entries: 16,
        flush: FlushPolicy::Every(1),
    };
    let mut s = Store::open(&path, small).unwrap();
    let mut seq = 1;
    let err = loop {
        match s.record_sent(seq, &msg(seq)) {
            Ok(()) => seq += 1,
            Err(e) => break e,
        }
    };
    assert_eq!(err, JournalError::Full { capacity: 256 });
    assert!(seq > 1);
    drop(s);
    assert!(matches!(
        Store::open(&path, cfg()),
        Err(OpenError::CapacityMismatch {
            file: 256,
            requested: 1_048_576
        })
    ));
    std::fs::write(&path, vec![7u8; 8192]).unwrap();
    assert!(matches!(
        Store::open(&path, cfg()),
        Err(OpenError::NotAStore)
    ));
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn reset_starts_a_new_epoch_but_keeps_the_clordid_mark() {
    let path = temp("reset");
    let mut s = Store::open(&path, cfg()).unwrap();
    s.record_sent(5, &msg(5)).unwrap();
    s.set_next_sender_seq(6);
    s.set_clordid_high_water(77);
    s.reset();
    assert_eq!((s.next_sender_seq(), s.next_target_seq()), (1, 1));
    assert_eq!(s.sent(5), None);
    assert_eq!(s.clordid_high_water(), 77);
    s.record_sent(1, &msg(1)).unwrap();
    assert_eq!(s.sent(1), Some(msg(1).as_slice()));
    std::fs::remove_file(&path).unwrap();
}

// The no-allocation test reads this thread's count: tests running in parallel threads of
// this binary do not disturb it.
#[global_allocator]
static GLOBAL: tickwire_testutil::CountingAlloc = tickwire_testutil::CountingAlloc;

#[test]
fn appends_after_open_do_not_allocate() {
    let path = temp("noalloc");
    let mut store = Store::open(&path, cfg_for_noalloc()).unwrap();
    let mut buf = *b"8=FIX.4.4\x019=5\x0135=D\x0134=0000000\x0111=ORDER\x0110=000\x01";
    let before = tickwire_testutil::this_thread();
    for seq in 1..=100_000u64 {
        let digits = &mut buf[22..29];
        let mut v = seq;
        for d in digits.iter_mut().rev() {
            *d = b'0' + (v % 10) as u8;
            v /= 10;
        }
        store.record_sent(seq, &buf).unwrap();
        store.set_next_sender_seq(seq + 1);
        store.set_clordid_high_water(seq);
        // What an engine does on an idle cycle between two orders.
        store.warm();
    }
    assert!(store.sent(100_000).is_some());
    let allocations = tickwire_testutil::this_thread() - before;
    assert_eq!(allocations, 0, "allocations during 100k appends");
    drop(store);
    let reopened = Store::open(&path, cfg_for_noalloc()).unwrap();
    assert_eq!(reopened.next_sender_seq(), 100_001);
    assert_eq!(reopened.clordid_high_water(), 100_000);
    assert_eq!(&reopened.sent(54_321).unwrap()[22..29], b"0054321");
    let _ = std::fs::remove_file(&path);
}

fn cfg_for_noalloc() -> StoreConfig {
    StoreConfig {
        log_bytes: 16 << 20,
        index_entries: 100_000,
        flush: FlushPolicy::Never,
    }
}

/// `warm` only reads: the file is byte for byte the same after it, at every tail position up
/// to a full log (where the record it would read ahead of is past the end of the mapping).
#[test]
fn warm_reads_only_up_to_a_full_log() {
    let path = temp("warm");
    let small = StoreConfig {
        log_bytes: 4096,
        index_entries: 256,
        flush: FlushPolicy::Never,
    };
    let mut store = Store::open(&path, small).unwrap();
    let mut seq = 1;
    loop {
        let before = std::fs::read(&path).unwrap();
        store.warm();
        assert_eq!(
            std::fs::read(&path).unwrap(),
            before,
            "warm wrote (next seq {seq})"
        );
        match store.record_sent(seq, &msg(seq)) {
            Ok(()) => store.set_next_sender_seq(seq + 1),
            Err(JournalError::Full { .. }) => break,
            Err(e) => panic!("{e}"),
        }
        seq += 1;
    }
    assert!(seq > 20, "the log took {} records", seq - 1);
    let before = std::fs::read(&path).unwrap();
    store.warm();
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "warm wrote on a full log"
    );
    for s in 1..seq {
        assert_eq!(store.sent(s), Some(msg(s).as_slice()), "seq {s}");
    }
    drop(store);
    let _ = std::fs::remove_file(&path);
}

#[test]
fn sent_range_serves_a_resend_in_order_and_skips_missing() {
    let path = temp("range");
    let mut store = Store::open(&path, cfg()).unwrap();
    for seq in [1u64, 2, 4, 5] {
        store.record_sent(seq, &msg(seq)).unwrap();
    }
    let got: Vec<_> = store
        .sent_range(2, 9)
        .map(|(s, m)| (s, m.to_vec()))
        .collect();
    assert_eq!(got, vec![(2, msg(2)), (4, msg(4)), (5, msg(5))]);
    assert_eq!(store.sent_range(6, 9).count(), 0);
    assert_eq!(store.sent_range(5, 1).count(), 0, "empty range");
    assert_eq!(
        store.sent_range(3, u64::MAX).count(),
        2,
        "EndSeqNo 0 = up to the last"
    );
    let _ = std::fs::remove_file(&path);
}
