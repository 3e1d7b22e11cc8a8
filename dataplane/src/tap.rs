//! TAP backend: a Linux TAP device (`/dev/net/tun`, `IFF_TAP | IFF_NO_PI`), non-blocking.
//!
//! The host's own network stack sits on the other side of the device, which makes TAP the
//! simplest way to put the userspace stack in front of Linux TCP. Each frame costs one `read` or
//! `write` syscall: this backend is for tests and development, not for the latency path.
//! Needs CAP_NET_ADMIN (root).
#![allow(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;

use crate::nic::Nic;

const IFF_TAP: libc::c_short = 0x0002;
const IFF_NO_PI: libc::c_short = 0x1000;
const TUNSETIFF: libc::c_ulong = 0x4004_54ca;

/// A TAP device.
#[derive(Debug)]
pub struct Tap {
    file: File,
    name: String,
    mac: [u8; 6],
    rx: Vec<u8>,
    rx_len: Option<usize>,
    tx: Vec<u8>,
    tx_len: usize,
    /// Frames the kernel refused (its queue was full).
    pub tx_dropped: u64,
}

impl Tap {
    /// Creates (or attaches to) TAP device `name`; our frames use `mac`.
    ///
    /// # Errors
    /// The open or ioctl error (needs root).
    pub fn open(name: &str, mac: [u8; 6]) -> std::io::Result<Tap> {
        if name.len() >= libc::IFNAMSIZ {
            return Err(std::io::Error::new(
                ErrorKind::InvalidInput,
                "interface name too long",
            ));
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open("/dev/net/tun")?;
        // SAFETY: ifreq is plain old data; zero is valid.
        let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
        for (d, s) in req.ifr_name.iter_mut().zip(name.bytes()) {
            *d = s as libc::c_char;
        }
        req.ifr_ifru.ifru_flags = IFF_TAP | IFF_NO_PI;
        // SAFETY: TUNSETIFF takes a pointer to an ifreq that lives across the call.
        let r = unsafe {
            libc::ioctl(
                file.as_raw_fd(),
                TUNSETIFF as _,
                &mut req as *mut libc::ifreq,
            )
        };
        if r < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Tap {
            file,
            name: name.into(),
            mac,
            rx: vec![0; 2048],
            rx_len: None,
            tx: vec![0; 2048],
            tx_len: 0,
            tx_dropped: 0,
        })
    }

    /// The device name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Nic for Tap {
    fn mac(&self) -> [u8; 6] {
        self.mac
    }

    fn rx_peek(&mut self) -> Option<&[u8]> {
        if self.rx_len.is_none() {
            match self.file.read(&mut self.rx) {
                Ok(n) if n > 0 => self.rx_len = Some(n),
                _ => return None,
            }
        }
        self.rx_len.map(|n| &self.rx[..n])
    }

    fn rx_release(&mut self) {
        self.rx_len = None;
    }

    fn tx_alloc(&mut self, len: usize) -> Option<&mut [u8]> {
        if len > self.tx.len() {
            return None;
        }
        self.tx_len = len;
        Some(&mut self.tx[..len])
    }

    fn tx_commit(&mut self, len: usize) {
        let len = len.min(self.tx_len);
        if self.file.write(&self.tx[..len]).is_err() {
            self.tx_dropped += 1;
        }
    }

    fn tx_flush(&mut self) -> usize {
        0
    }
}
