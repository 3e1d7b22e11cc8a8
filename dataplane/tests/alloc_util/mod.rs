//! A counting global allocator for this crate's allocation tests: each test binary declares
//! `#[global_allocator] static GLOBAL: alloc_util::Counting = alloc_util::Counting;` and reads
//! [`total`] (every thread) or [`this_thread`] (the calling thread only) before and after the
//! code under test. Allocations and reallocations are counted; frees are not.
#![allow(dead_code)] // each test binary uses one of the two readings

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

/// Forwards to the system allocator and counts.
pub struct Counting;

static TOTAL: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static THREAD: Cell<u64> = const { Cell::new(0) };
}

fn count() {
    TOTAL.fetch_add(1, Ordering::Relaxed);
    // `try_with`: during thread teardown the slot may be gone; the total still counts.
    let _ = THREAD.try_with(|c| c.set(c.get() + 1));
}

/// Allocations so far, all threads.
pub fn total() -> u64 {
    TOTAL.load(Ordering::Relaxed)
}

/// Allocations so far on the calling thread.
pub fn this_thread() -> u64 {
    THREAD.with(Cell::get)
}

// SAFETY: forwards to the system allocator unchanged; counting touches only an atomic and a
// const-initialised thread-local `Cell`, neither of which allocates.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}
