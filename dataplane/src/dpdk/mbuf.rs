//! Mempools and owned mbufs.
//!
//! A [`Mempool`] is a fixed-size pool created at start-up (`rte_pktmbuf_pool_create`); an
//! [`Mbuf`] is one buffer taken from it and returned on drop. Neither allocates after creation.

use std::ffi::CString;
use std::fmt;
use std::ptr::NonNull;

use super::{errno, strerror, sys};

/// Why a mempool could not be created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MempoolError {
    /// EAL has not been initialised in this process.
    EalNotInitialised,
    /// The name contains a NUL byte or is longer than DPDK allows.
    BadName,
    /// `rte_pktmbuf_pool_create` failed.
    Create {
        /// `rte_errno`.
        errno: i32,
        /// `rte_strerror(errno)`.
        reason: String,
    },
}

impl fmt::Display for MempoolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EalNotInitialised => f.write_str("EAL is not initialised"),
            Self::BadName => f.write_str("bad mempool name"),
            Self::Create { errno, reason } => write!(
                f,
                "rte_pktmbuf_pool_create failed: {reason} (rte_errno {errno}); \
                 lower the mbuf count or raise EAL -m"
            ),
        }
    }
}

impl std::error::Error for MempoolError {}

/// A pool of packet mbufs, freed on drop.
#[derive(Debug)]
pub struct Mempool {
    raw: NonNull<sys::rte_mempool>,
}

// SAFETY: a DPDK mempool is designed for use from any lcore/thread (lock-free ring plus
// per-lcore caches for EAL threads); the pointer is only freed in Drop.
unsafe impl Send for Mempool {}

impl Mempool {
    /// Creates a pool of `count` mbufs of `data_room` bytes (plus headroom) on any NUMA socket.
    ///
    /// # Errors
    /// [`MempoolError`] with DPDK's reason when EAL is not up or memory is short.
    pub fn new(name: &str, count: u32, cache: u32, data_room: u16) -> Result<Self, MempoolError> {
        if !super::eal::is_initialised() {
            return Err(MempoolError::EalNotInitialised);
        }
        let cname = CString::new(name).map_err(|_| MempoolError::BadName)?;
        let room =
            data_room.saturating_add(u16::try_from(sys::RTE_PKTMBUF_HEADROOM).unwrap_or(128));
        // SAFETY: EAL is initialised; name is a valid C string (DPDK copies it).
        let p = unsafe {
            sys::rte_pktmbuf_pool_create(cname.as_ptr(), count, cache, 0, room, sys::SOCKET_ID_ANY)
        };
        NonNull::new(p).map(|raw| Self { raw }).ok_or_else(|| {
            let code = errno();
            MempoolError::Create {
                errno: code,
                reason: strerror(code),
            }
        })
    }

    /// Takes one mbuf, or `None` when the pool is empty.
    pub fn alloc(&self) -> Option<Mbuf> {
        // SAFETY: the pool pointer is valid while self lives.
        NonNull::new(unsafe { sys::tw_pktmbuf_alloc(self.raw.as_ptr()) }).map(|raw| Mbuf { raw })
    }

    /// Mbufs currently free in the pool (including per-lcore caches).
    pub fn available(&self) -> u32 {
        // SAFETY: the pool pointer is valid while self lives.
        unsafe { sys::rte_mempool_avail_count(self.raw.as_ptr()) }
    }

    pub(crate) fn as_ptr(&self) -> *mut sys::rte_mempool {
        self.raw.as_ptr()
    }
}

impl Drop for Mempool {
    fn drop(&mut self) {
        // SAFETY: the pool was created by rte_pktmbuf_pool_create; callers must have returned
        // all mbufs (an Mbuf borrows nothing, so ports are stopped before pools drop by field
        // order in DpdkNic).
        unsafe { sys::rte_mempool_free(self.raw.as_ptr()) }
    }
}

/// One single-segment mbuf, returned to its pool on drop.
#[derive(Debug)]
pub struct Mbuf {
    raw: NonNull<sys::rte_mbuf>,
}

// SAFETY: an mbuf is plain memory owned by whoever holds the pointer; freeing from another
// thread is allowed by DPDK.
unsafe impl Send for Mbuf {}

impl Mbuf {
    /// Appends `len` bytes at the tail and returns them, or `None` without tailroom.
    pub fn append(&mut self, len: u16) -> Option<&mut [u8]> {
        // SAFETY: the mbuf is owned; append returns null or a pointer to `len` writable bytes.
        let p = unsafe { sys::tw_pktmbuf_append(self.raw.as_ptr(), len) };
        // SAFETY: p is non-null and spans `len` bytes inside the mbuf's data room.
        NonNull::new(p)
            .map(|p| unsafe { std::slice::from_raw_parts_mut(p.as_ptr(), usize::from(len)) })
    }

    /// The frame bytes.
    pub fn data(&self) -> &[u8] {
        // SAFETY: mtod points at data_len initialised bytes of the first (only) segment.
        unsafe {
            let p = sys::tw_pktmbuf_mtod(self.raw.as_ptr());
            std::slice::from_raw_parts(p, usize::from(sys::tw_pktmbuf_data_len(self.raw.as_ptr())))
        }
    }

    /// The frame bytes, writable.
    pub fn data_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `data`, and self is borrowed mutably.
        unsafe {
            let p = sys::tw_pktmbuf_mtod(self.raw.as_ptr());
            std::slice::from_raw_parts_mut(
                p,
                usize::from(sys::tw_pktmbuf_data_len(self.raw.as_ptr())),
            )
        }
    }

    /// Empties the mbuf (length 0, default headroom).
    pub fn reset(&mut self) {
        // SAFETY: the mbuf is owned and single-segment.
        unsafe { sys::tw_pktmbuf_reset(self.raw.as_ptr()) }
    }

    /// `ol_flags` (RX checksum status, timestamp flag, …).
    pub fn ol_flags(&self) -> u64 {
        // SAFETY: reads a field of an owned mbuf.
        unsafe { sys::tw_mbuf_ol_flags(self.raw.as_ptr()) }
    }

    /// Gives up ownership (for a TX burst).
    pub fn into_raw(self) -> *mut sys::rte_mbuf {
        let p = self.raw.as_ptr();
        std::mem::forget(self);
        p
    }

    /// Takes ownership of a raw mbuf.
    ///
    /// # Safety
    /// `raw` must be a valid mbuf nobody else frees.
    pub unsafe fn from_raw(raw: NonNull<sys::rte_mbuf>) -> Self {
        Self { raw }
    }
}

impl Drop for Mbuf {
    fn drop(&mut self) {
        // SAFETY: we own the mbuf; it goes back to its pool.
        unsafe { sys::tw_pktmbuf_free(self.raw.as_ptr()) }
    }
}
