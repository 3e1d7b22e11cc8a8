//! # tickwire-dataplane — NICs and the userspace TCP/IP stack
//!
//! Layer: the dataplane's network side. A [`nic::Nic`] hands out frames in its own memory; the
//! [`allowlist`] drops frames from sources that are not venue addresses before the
//! [`stack`] (smoltcp) sees them; the stack's TCP connections carry TLS, which carries FIX.
//!
//! ```text
//! mem::MemNic ─┐
//! af_packet::AfPacket (mmap rings) / tap::Tap / dpdk::DpdkNic (feature dpdk) ─► Nic ─► Allowlist ─► smoltcp ─► ConnId (send / recv_with)
//! ```
//!
//! Everything is polled: nothing here blocks, sleeps or spawns threads, and time is passed in.
//! Buffers are allocated at construction.
// `unsafe` is allowed only in `af_packet` (socket and ring mapping) and `tap` (the TUNSETIFF
// ioctl), each block with a SAFETY note.
#![deny(unsafe_code)]

pub mod af_packet;
pub mod allowlist;
#[cfg(feature = "dpdk")]
pub mod dpdk;
pub mod link;
pub mod mem;
pub mod nic;
pub mod pcap;
pub mod stack;
pub mod tap;
