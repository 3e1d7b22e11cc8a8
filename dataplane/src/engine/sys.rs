//! The engine's operating-system seam: the few things the engine needs that safe Rust and
//! `nix` do not offer — reading the time-stamp counter, `sched_setscheduler`, and mapping a
//! file shared and viewing it as the counter block.
//!
//! This is one of the few dataplane modules allowed `unsafe` (with `af_packet`, `tap` and
//! `dpdk`); each block says why it is sound. Everything else in the engine is safe code.
#![allow(unsafe_code)]

use crate::counters::Counters;

/// Reads the time-stamp counter (x86-64), or `None` on other architectures.
#[inline(always)]
pub(crate) fn rdtsc() -> Option<u64> {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: RDTSC has no preconditions: it reads a register, touches no memory and is
        // available on every x86-64 CPU (it is `unsafe` in core::arch only as an intrinsic).
        Some(unsafe { core::arch::x86_64::_rdtsc() })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        None
    }
}

/// Puts the calling thread under SCHED_FIFO at `priority`.
///
/// # Errors
/// The errno `sched_setscheduler(2)` returned (EPERM without CAP_SYS_NICE, EINVAL for a
/// priority outside 1..=99).
pub(crate) fn set_fifo(priority: i32) -> Result<(), i32> {
    let param = libc::sched_param {
        sched_priority: priority,
    };
    // SAFETY: `param` is a valid, initialised sched_param that outlives the call; pid 0 names
    // the calling thread; the call does not retain the pointer.
    let rc = unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EINVAL))
    }
}

/// Maps `file` shared and writable (the counter block).
///
/// # Errors
/// The `mmap` error.
pub(crate) fn map_shared(file: &std::fs::File) -> std::io::Result<memmap2::MmapMut> {
    // SAFETY: memmap2 marks mapping `unsafe` because the file may be changed or truncated
    // behind the mapping. Changes are what the counter file is for and are only ever made
    // through atomics (see `counters_in`); the file is created at a fixed length and never
    // truncated by tickwire; a third party truncating it would make accesses fault (SIGBUS),
    // not read stale memory.
    unsafe { memmap2::MmapOptions::new().map_mut(file) }
}

/// Views the start of a shared mapping as the counter block.
///
/// Returns `None` if the mapping is too short or misaligned.
pub(crate) fn counters_in(map: &memmap2::MmapMut) -> Option<&Counters> {
    // Only the address is taken: no `&[u8]` over the mapping is created, because other
    // threads and processes write it concurrently.
    let ptr = map.as_ptr();
    if map.len() < core::mem::size_of::<Counters>()
        || (ptr as usize) % core::mem::align_of::<Counters>() != 0
    {
        return None;
    }
    // SAFETY: the mapping is at least `size_of::<Counters>()` bytes and suitably aligned (both
    // checked above) and stays mapped while `map` is borrowed, which the returned lifetime
    // enforces; `Counters` is `#[repr(C)]` and made only of `AtomicU64`s, for which every bit
    // pattern (the zeroes of a fresh file included) is valid, and atomics have interior
    // mutability, so writes by other threads or processes through their own mapping are not
    // data races.
    Some(unsafe { &*ptr.cast::<Counters>() })
}
