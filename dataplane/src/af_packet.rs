//! AF_PACKET backend: memory-mapped TPACKET_V2 receive and transmit rings on any Linux
//! interface (veth, virtio, a physical NIC), busy-polled.
//!
//! ```text
//! kernel ─► rx ring frame (tp_status = USER) ─► rx_peek / rx_release (status = KERNEL)
//! tx_alloc (status AVAILABLE) ─► tx_commit (status = SEND_REQUEST) ─► tx_flush: one send()
//! ```
//!
//! Receiving costs no syscall: the ring is shared memory the kernel fills. Transmitting costs one
//! `send` per burst (the doorbell), not per frame. PACKET_QDISC_BYPASS is requested so frames
//! skip the qdisc layer. Needs CAP_NET_RAW (root).
//!
//! This module is one of the two places in the dataplane allowed `unsafe`: it owns the socket and
//! the ring mapping, and every access to ring memory goes through the few functions below.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::io;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::nic::Nic;

const FRAME_SIZE: usize = 2048;
const BLOCK_SIZE: usize = 1 << 16;

/// An AF_PACKET socket bound to one interface, with rx and tx rings.
#[derive(Debug)]
pub struct AfPacket {
    fd: libc::c_int,
    map: *mut u8,
    map_len: usize,
    frames: usize,
    rx_next: usize,
    tx_next: usize,
    tx_queued: usize,
    mac: [u8; 6],
    held: bool,
    /// Frames refused because the tx ring was full.
    pub tx_ring_full: u64,
}

/// Why the backend could not start.
#[derive(Debug)]
pub enum OpenError {
    /// No interface of that name.
    NoSuchInterface(String),
    /// A socket call failed; the step and the OS error.
    Os(&'static str, io::Error),
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoSuchInterface(n) => write!(f, "no network interface named {n:?}"),
            Self::Os(step, e) => write!(f, "AF_PACKET {step}: {e} (needs root / CAP_NET_RAW)"),
        }
    }
}

impl std::error::Error for OpenError {}

fn os(step: &'static str) -> OpenError {
    OpenError::Os(step, io::Error::last_os_error())
}

impl AfPacket {
    /// Opens `interface` with `frames` slots per ring (rounded to whole blocks).
    ///
    /// # Errors
    /// [`OpenError`] with the failing step.
    pub fn open(interface: &str, frames: usize) -> Result<AfPacket, OpenError> {
        let name =
            CString::new(interface).map_err(|_| OpenError::NoSuchInterface(interface.into()))?;
        // SAFETY: `name` is a valid NUL-terminated string for the duration of the call.
        let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
        if index == 0 {
            return Err(OpenError::NoSuchInterface(interface.into()));
        }
        let proto = (libc::ETH_P_ALL as u16).to_be();
        // Protocol 0: the socket receives nothing until `bind` below names the protocol and
        // the interface. Opened with ETH_P_ALL, it would take every interface's frames into
        // the ring until then (seen as foreign frames dropped by the allowlist when other
        // interfaces are busy).
        // SAFETY: plain socket(2) call with constant arguments.
        let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, 0) };
        if fd < 0 {
            return Err(os("socket"));
        }
        let guard = FdGuard(fd);
        let set = |opt: libc::c_int, val: &[u8], step: &'static str| -> Result<(), OpenError> {
            // SAFETY: `val` points to `val.len()` readable bytes for the duration of the call.
            let r = unsafe {
                libc::setsockopt(
                    fd,
                    libc::SOL_PACKET,
                    opt,
                    val.as_ptr().cast(),
                    val.len() as libc::socklen_t,
                )
            };
            if r < 0 {
                Err(os(step))
            } else {
                Ok(())
            }
        };
        set(
            libc::PACKET_VERSION,
            &(libc::tpacket_versions::TPACKET_V2 as libc::c_int).to_ne_bytes(),
            "PACKET_VERSION",
        )?;
        // Best effort: older kernels lack it.
        let _ = set(
            libc::PACKET_QDISC_BYPASS,
            &1i32.to_ne_bytes(),
            "PACKET_QDISC_BYPASS",
        );
        let per_block = BLOCK_SIZE / FRAME_SIZE;
        let blocks = frames.div_ceil(per_block).max(1);
        let frames = blocks * per_block;
        let req = libc::tpacket_req {
            tp_block_size: BLOCK_SIZE as libc::c_uint,
            tp_block_nr: blocks as libc::c_uint,
            tp_frame_size: FRAME_SIZE as libc::c_uint,
            tp_frame_nr: frames as libc::c_uint,
        };
        // SAFETY: tpacket_req is plain old data; we view it as bytes for setsockopt.
        let req_bytes = unsafe {
            std::slice::from_raw_parts(
                (&req as *const libc::tpacket_req).cast::<u8>(),
                std::mem::size_of::<libc::tpacket_req>(),
            )
        };
        set(libc::PACKET_RX_RING, req_bytes, "PACKET_RX_RING")?;
        set(libc::PACKET_TX_RING, req_bytes, "PACKET_TX_RING")?;
        let map_len = 2 * blocks * BLOCK_SIZE;
        // SAFETY: mapping the rings the kernel just allocated for this socket; length matches
        // the two ring requests; the mapping lives until Drop unmaps it.
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_LOCKED,
                fd,
                0,
            )
        };
        if map == libc::MAP_FAILED {
            return Err(os("mmap"));
        }
        // SAFETY: sockaddr_ll is plain old data; zero is a valid starting value.
        let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_protocol = proto;
        addr.sll_ifindex = index as libc::c_int;
        // SAFETY: `addr` is a valid sockaddr_ll of the size passed.
        let r = unsafe {
            libc::bind(
                fd,
                (&addr as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if r < 0 {
            // SAFETY: unmapping what we mapped above.
            unsafe { libc::munmap(map, map_len) };
            return Err(os("bind"));
        }
        let mac = read_mac(interface).unwrap_or([2, 0, 0, 0, 0, 1]);
        std::mem::forget(guard);
        Ok(AfPacket {
            fd,
            map: map.cast(),
            map_len,
            frames,
            rx_next: 0,
            tx_next: 0,
            tx_queued: 0,
            mac,
            held: false,
            tx_ring_full: 0,
        })
    }

    /// Start of frame `i` of the rx ring (tx ring when `tx`).
    fn frame_ptr(&self, tx: bool, i: usize) -> *mut u8 {
        let base = if tx { self.map_len / 2 } else { 0 };
        // SAFETY: `i < self.frames`, and each ring holds `frames` frames of FRAME_SIZE bytes
        // (block size is a multiple of the frame size), so the offset is inside the mapping.
        unsafe { self.map.add(base + i * FRAME_SIZE) }
    }

    /// The status word of a frame, accessed atomically (the kernel writes it concurrently).
    fn status(&self, tx: bool, i: usize) -> &AtomicU32 {
        // SAFETY: tp_status is the first, 4-byte-aligned u32 of every frame header; the frame
        // lives as long as the mapping, which outlives `&self`.
        unsafe { AtomicU32::from_ptr(self.frame_ptr(tx, i).cast::<u32>()) }
    }

    fn header(&self, tx: bool, i: usize) -> *mut libc::tpacket2_hdr {
        self.frame_ptr(tx, i).cast()
    }
}

fn read_mac(interface: &str) -> Option<[u8; 6]> {
    let text = std::fs::read_to_string(format!("/sys/class/net/{interface}/address")).ok()?;
    let mut mac = [0u8; 6];
    for (m, part) in mac.iter_mut().zip(text.trim().split(':')) {
        *m = u8::from_str_radix(part, 16).ok()?;
    }
    Some(mac)
}

struct FdGuard(libc::c_int);

impl Drop for FdGuard {
    fn drop(&mut self) {
        // SAFETY: closing a descriptor we own, once.
        unsafe { libc::close(self.0) };
    }
}

impl Drop for AfPacket {
    fn drop(&mut self) {
        // SAFETY: unmapping and closing what `open` created, once.
        unsafe {
            libc::munmap(self.map.cast(), self.map_len);
            libc::close(self.fd);
        }
    }
}

impl Nic for AfPacket {
    fn mac(&self) -> [u8; 6] {
        self.mac
    }

    fn rx_peek(&mut self) -> Option<&[u8]> {
        let i = self.rx_next;
        if self.status(false, i).load(Ordering::Acquire) & libc::TP_STATUS_USER == 0 {
            return None;
        }
        self.held = true;
        // SAFETY: the kernel handed this frame to us (TP_STATUS_USER, acquire above) and will
        // not touch it until we set TP_STATUS_KERNEL in rx_release; tp_mac/tp_snaplen lie
        // within the frame.
        unsafe {
            let h = &*self.header(false, i);
            let start = usize::from(h.tp_mac);
            let len = (h.tp_snaplen as usize).min(FRAME_SIZE.saturating_sub(start));
            Some(std::slice::from_raw_parts(
                self.frame_ptr(false, i).add(start),
                len,
            ))
        }
    }

    fn rx_release(&mut self) {
        if self.held {
            self.held = false;
            self.status(false, self.rx_next)
                .store(libc::TP_STATUS_KERNEL, Ordering::Release);
            self.rx_next = (self.rx_next + 1) % self.frames;
        }
    }

    fn tx_alloc(&mut self, len: usize) -> Option<&mut [u8]> {
        let data_off = libc::TPACKET2_HDRLEN - std::mem::size_of::<libc::sockaddr_ll>();
        if len > FRAME_SIZE - data_off {
            return None;
        }
        let i = self.tx_next;
        if self.status(true, i).load(Ordering::Acquire) != libc::TP_STATUS_AVAILABLE {
            self.tx_ring_full += 1;
            return None;
        }
        // SAFETY: the frame is ours (TP_STATUS_AVAILABLE) until we set SEND_REQUEST; the data
        // area [data_off, data_off + len) is inside the frame.
        Some(unsafe { std::slice::from_raw_parts_mut(self.frame_ptr(true, i).add(data_off), len) })
    }

    fn tx_commit(&mut self, len: usize) {
        let i = self.tx_next;
        // SAFETY: the frame is still ours; writing its header's length field.
        unsafe { (*self.header(true, i)).tp_len = len as u32 };
        self.status(true, i)
            .store(libc::TP_STATUS_SEND_REQUEST, Ordering::Release);
        self.tx_next = (self.tx_next + 1) % self.frames;
        self.tx_queued += 1;
    }

    fn tx_flush(&mut self) -> usize {
        if self.tx_queued == 0 {
            return 0;
        }
        // SAFETY: send(2) with no buffer asks the kernel to transmit the SEND_REQUEST frames.
        unsafe { libc::send(self.fd, std::ptr::null(), 0, libc::MSG_DONTWAIT) };
        std::mem::take(&mut self.tx_queued)
    }
}
