//! Hugepage-backed buffers for the dataplane (rings, mempools, socket buffers).
//!
//! [`HugeBuffer::new`] maps anonymous memory with `MAP_HUGETLB` (2 MiB pages) and
//! `MAP_POPULATE`, so the buffer is resident and TLB-friendly before the hot path touches it.
//! When the host has no free 2 MiB pages (or `prefer_huge` is false) it falls back to normal
//! pages, logs a warning once per buffer, and says which it got in [`HugeBuffer::backing`]:
//! callers that must not run on normal pages check it instead of guessing.
//!
//! Allocate at start-up only; mapping is a syscall. The mapping is released on drop.

use std::fmt;
use std::ops::{Deref, DerefMut};

use memmap2::{MmapMut, MmapOptions};

/// Size of the hugepages requested.
pub const HUGE_PAGE: usize = 2 * 1024 * 1024;
const HUGE_PAGE_BITS: u8 = 21;

/// What memory backs a [`HugeBuffer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backing {
    /// 2 MiB hugepages.
    Huge2M,
    /// Normal pages.
    Normal {
        /// Why not hugepages (`not requested`, or the OS error).
        reason: String,
    },
}

impl fmt::Display for Backing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Huge2M => f.write_str("2 MiB hugepages"),
            Self::Normal { reason } => write!(f, "normal pages ({reason})"),
        }
    }
}

/// A zero-initialised, page-aligned, resident byte buffer.
pub struct HugeBuffer {
    map: MmapMut,
    len: usize,
    backing: Backing,
}

impl fmt::Debug for HugeBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HugeBuffer")
            .field("len", &self.len)
            .field("mapped", &self.map.len())
            .field("backing", &self.backing)
            .finish()
    }
}

impl HugeBuffer {
    /// Maps `len` bytes (rounded up to 2 MiB when hugepages are used), hugepages first when
    /// `prefer_huge`.
    ///
    /// # Errors
    /// The OS error when even normal pages cannot be mapped (`len` of 0 is `InvalidInput`).
    pub fn new(len: usize, prefer_huge: bool) -> std::io::Result<Self> {
        if len == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "a HugeBuffer needs a non-zero length",
            ));
        }
        let reason = if prefer_huge {
            let rounded = len.div_ceil(HUGE_PAGE) * HUGE_PAGE;
            match MmapOptions::new()
                .len(rounded)
                .huge(Some(HUGE_PAGE_BITS))
                .populate()
                .map_anon()
            {
                Ok(map) => {
                    return Ok(Self {
                        map,
                        len,
                        backing: Backing::Huge2M,
                    })
                }
                Err(e) => {
                    tracing::warn!(
                        len,
                        error = %e,
                        "no 2 MiB hugepages for a dataplane buffer; using normal pages"
                    );
                    format!("hugepage mapping failed: {e}")
                }
            }
        } else {
            "hugepages not requested".to_owned()
        };
        let map = MmapOptions::new().len(len).populate().map_anon()?;
        Ok(Self {
            map,
            len,
            backing: Backing::Normal { reason },
        })
    }

    /// What backs the buffer.
    pub fn backing(&self) -> &Backing {
        &self.backing
    }

    /// Whether it is on hugepages.
    pub fn is_huge(&self) -> bool {
        self.backing == Backing::Huge2M
    }

    /// Usable length (as requested).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the usable length is zero (never, by construction).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Deref for HugeBuffer {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.map[..self.len]
    }
}

impl DerefMut for HugeBuffer {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.map[..self.len]
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn normal_pages_when_not_asked() {
        let mut b = HugeBuffer::new(10_000, false).unwrap();
        assert_eq!(b.len(), 10_000);
        assert!(!b.is_huge());
        assert!(b.iter().all(|&x| x == 0));
        b[9_999] = 7;
        assert_eq!(b[9_999], 7);
        assert!(b.backing().to_string().contains("not requested"));
    }

    #[test]
    fn hugepages_or_a_stated_fallback() {
        // Whether the host has free 2 MiB pages decides which; either way the buffer works and
        // says what it is.
        let mut b = HugeBuffer::new(3 * 1024 * 1024, true).unwrap();
        assert_eq!(b.len(), 3 * 1024 * 1024);
        b[0] = 1;
        let last = b.len() - 1;
        b[last] = 2;
        match b.backing() {
            Backing::Huge2M => assert!(b.map.len() == 2 * HUGE_PAGE),
            Backing::Normal { reason } => {
                assert!(reason.contains("hugepage mapping failed"), "{reason}")
            }
        }
    }

    #[test]
    fn zero_length_is_refused() {
        assert_eq!(
            HugeBuffer::new(0, true).unwrap_err().kind(),
            std::io::ErrorKind::InvalidInput
        );
    }
}
