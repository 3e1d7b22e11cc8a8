//! Resident-set high-water marks, per run.
//!
//! Every harness runs in this process, so the process's `getrusage` `ru_maxrss` only grows
//! from one run to the next. To give each run its own figure, [`reset_peak`] writes `5` to
//! `/proc/self/clear_refs` (Linux ≥ 4.0: resets the peak to the current RSS) before a run and
//! [`peak_kib`] reads `VmHWM` from `/proc/self/status` after it: the peak resident set while
//! that run (and anything it started) was the process's only work. [`process_max_rss_kib`] is
//! `getrusage(RUSAGE_SELF).ru_maxrss` for comparison: it also counts threads that have exited
//! since the last reset, so after the blocking baseline it may stay above `VmHWM`.
//!
//! The reset brings the peak down to the *current* RSS, which still holds what the allocator
//! kept from earlier runs (freed heap it has not returned to the kernel), so a run's figure is
//! an upper bound of what it needs alone; the first run's figure is the tightest.

/// Resets the process's peak RSS to its current RSS. Returns false if the kernel refused
/// (no `/proc`, or a kernel without clear_refs).
pub fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", b"5").is_ok()
}

/// `VmHWM` of this process, KiB.
pub fn peak_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// `getrusage(RUSAGE_SELF).ru_maxrss`, KiB.
pub fn process_max_rss_kib() -> Option<u64> {
    nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF)
        .ok()
        .map(|u| u.max_rss().max(0) as u64)
}
