//! The peak-RSS probe follows a large allocation and resets. A test binary of its own: the
//! figures are the whole process's, so no other test may allocate beside it.
#![allow(clippy::unwrap_used)]

use tickwire_bench::rss::{peak_kib, process_max_rss_kib, reset_peak};

#[test]
fn peak_follows_a_large_allocation_and_resets() {
    assert!(reset_peak(), "clear_refs refused");
    let before = peak_kib().unwrap();
    let big = vec![1u8; 64 << 20];
    std::hint::black_box(&big);
    let during = peak_kib().unwrap();
    assert!(during >= before + 60 * 1024, "{before} → {during} KiB");
    assert!(process_max_rss_kib().unwrap() > 0);
    drop(big);
    assert!(reset_peak());
    let after = peak_kib().unwrap();
    assert!(
        after + 60 * 1024 <= during,
        "{during} → {after} KiB after reset"
    );
}
