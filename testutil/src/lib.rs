//! # tickwire-testutil — test support, never a runtime dependency
//!
//! Layer: dev-only. The workspace's crates take it as a `[dev-dependencies]` entry for their
//! allocation tests; nothing that ships links it.
//!
//! [`CountingAlloc`] forwards every call to the system allocator and counts allocations
//! (`alloc`, `alloc_zeroed`, `realloc`; frees are not counted) twice: in a process-wide total
//! and in a counter of the calling thread. A global allocator is chosen per binary, so each
//! test binary that measures declares it itself:
//!
//! ```
//! #[global_allocator]
//! static GLOBAL: tickwire_testutil::CountingAlloc = tickwire_testutil::CountingAlloc;
//!
//! fn main() {
//!     let mut sum = 0u64;
//!     let (_, n) = tickwire_testutil::measure(|| (1..=100u64).for_each(|i| sum += i));
//!     assert_eq!((sum, n.this_thread), (5050, 0));
//!     let (v, n) = tickwire_testutil::measure(|| vec![1u8; 16]);
//!     assert_eq!((v.len(), n.this_thread), (16, 1));
//! }
//! ```
//!
//! ```text
//!  test code ─► Vec/Box/… ─► CountingAlloc ─► System
//!                                 ├─► TOTAL        (AtomicU64, every thread)  ─► total()
//!                                 └─► THIS_THREAD  (const thread-local Cell)  ─► this_thread()
//! ```
//!
//! Which count a test reads is its claim: [`Counts::this_thread`] when the code under test runs
//! on the measuring thread and other tests of the binary run in parallel; [`Counts::total`] when
//! it spans threads (the reading then includes whatever else the process does meanwhile, so such
//! a binary runs its measurements one at a time).
//!
//! # Panics
//! Every reading ([`total`], [`this_thread`], [`Counts::now`], [`measure`]) panics when
//! [`CountingAlloc`] is not the binary's global allocator: the counts would stay at zero and
//! every "allocates nothing" assertion would pass without measuring anything.

//! [`race::interleaved`] times two implementations against each other in interleaved rounds,
//! for the benches that set tickwire beside a baseline outside criterion.
//!
//! [`netns::Veth`] is a network namespace behind a veth pair, removed on drop, for the tests
//! that meet Linux's own TCP.

// Only the `GlobalAlloc` impl may use `unsafe`.
#![deny(unsafe_code)]

pub mod netns;
pub mod race;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

/// The system allocator, counting. Declare it as `#[global_allocator]` in each test binary
/// that reads the counts.
#[derive(Debug, Clone, Copy, Default)]
pub struct CountingAlloc;

static TOTAL: AtomicU64 = AtomicU64::new(0);

thread_local! {
    // `const` and without a destructor: bumping it never allocates, and it stays readable
    // while the thread is torn down.
    static THIS_THREAD: Cell<u64> = const { Cell::new(0) };
}

fn count() {
    TOTAL.fetch_add(1, Ordering::Relaxed);
    // `try_with`: should the slot be unavailable (thread teardown), the total still counts.
    let _ = THIS_THREAD.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: every method forwards its arguments unchanged to `System`, which upholds the
// `GlobalAlloc` contract; counting touches only an atomic and a const-initialised
// thread-local `Cell`, neither of which allocates or unwinds.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller's contract for `alloc` (non-zero size layout) is passed on as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller's contract for `alloc_zeroed` is passed on as is.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, i.e. from `System`, with this `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: `ptr` came from `System` with `layout`; `new_size` is the caller's, valid
        // under the same contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Panics unless [`CountingAlloc`] counts this process's allocations. The test harness has
/// allocated long before any test body runs, so a total of zero means it is not installed.
fn assert_installed(total: u64) {
    assert!(
        total > 0,
        "tickwire_testutil::CountingAlloc is not the global allocator of this binary: declare \
         `#[global_allocator] static GLOBAL: tickwire_testutil::CountingAlloc = \
         tickwire_testutil::CountingAlloc;` in the test file"
    );
}

/// Allocations so far, every thread of the process.
///
/// # Panics
/// [`CountingAlloc`] is not the global allocator.
pub fn total() -> u64 {
    let n = TOTAL.load(Ordering::Relaxed);
    assert_installed(n);
    n
}

/// Allocations so far on the calling thread.
///
/// # Panics
/// [`CountingAlloc`] is not the global allocator.
pub fn this_thread() -> u64 {
    assert_installed(TOTAL.load(Ordering::Relaxed));
    THIS_THREAD.with(Cell::get)
}

/// Both counts at one moment, or the difference between two moments ([`Counts::since`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Every thread of the process.
    pub total: u64,
    /// The thread that took the reading.
    pub this_thread: u64,
}

impl Counts {
    /// The counts now (reading them allocates nothing).
    ///
    /// # Panics
    /// [`CountingAlloc`] is not the global allocator.
    pub fn now() -> Counts {
        Counts {
            this_thread: this_thread(),
            total: total(),
        }
    }

    /// Allocations between `earlier` and `self`, both read on the same thread.
    pub fn since(self, earlier: Counts) -> Counts {
        Counts {
            total: self.total - earlier.total,
            this_thread: self.this_thread - earlier.this_thread,
        }
    }
}

/// Runs `f` and returns its result with the allocations made while it ran.
///
/// # Panics
/// [`CountingAlloc`] is not the global allocator; or whatever `f` panics with.
pub fn measure<R>(f: impl FnOnce() -> R) -> (R, Counts) {
    let before = Counts::now();
    let r = f();
    (r, Counts::now().since(before))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hint::black_box;
    use std::sync::atomic::AtomicBool;

    #[global_allocator]
    static GLOBAL: CountingAlloc = CountingAlloc;

    #[test]
    fn an_allocation_on_this_thread_counts_in_both() {
        let (v, n) = measure(|| black_box(Vec::<u8>::with_capacity(64)));
        assert!(n.this_thread >= 1 && n.total >= n.this_thread, "{n:?}");
        let (_, grown) = measure(|| {
            let mut v = v;
            v.reserve(4096);
            black_box(v)
        });
        assert!(grown.this_thread >= 1, "a realloc counts: {grown:?}");
        let (_, zeroed) = measure(|| black_box(vec![0u64; 512]));
        assert!(zeroed.this_thread >= 1, "alloc_zeroed counts: {zeroed:?}");
    }

    #[test]
    fn nothing_allocated_reads_zero_on_this_thread() {
        let mut a = [0u64; 64];
        let (_, n) = measure(|| {
            for (i, x) in a.iter_mut().enumerate() {
                *x = black_box(i as u64) * 3;
            }
        });
        assert_eq!(n.this_thread, 0);
        assert_eq!(a[63], 189);
    }

    /// The other thread is spawned (which allocates here) before the measurement, and
    /// synchronised by atomics alone, so the only allocation while measuring is its own.
    #[test]
    fn another_threads_allocation_counts_in_the_total_only() {
        static GO: AtomicBool = AtomicBool::new(false);
        static DONE: AtomicBool = AtomicBool::new(false);
        let other = std::thread::spawn(|| {
            while !GO.load(Ordering::Acquire) {
                std::hint::spin_loop();
            }
            let (v, n) = measure(|| black_box(Vec::<u8>::with_capacity(64)));
            DONE.store(true, Ordering::Release);
            drop(v);
            n
        });
        let (_, here) = measure(|| {
            GO.store(true, Ordering::Release);
            while !DONE.load(Ordering::Acquire) {
                std::hint::spin_loop();
            }
        });
        let there = other.join().expect("the allocating thread");
        assert!(there.this_thread >= 1, "its own counter saw it: {there:?}");
        assert_eq!(here.this_thread, 0, "not counted on this thread: {here:?}");
        assert!(here.total >= 1, "counted in the total: {here:?}");
    }
}
