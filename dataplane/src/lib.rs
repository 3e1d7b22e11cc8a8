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
//! On the order path, [`trigger`] (armed orders) and [`risk`] (pre-trade checks) sit between
//! the book and the precompiled order:
//!
//! ```text
//! Book ─► risk::Top ─► trigger::Triggers::evaluate ─► Fire ─► risk::Risk::check_new ─► patch ─► send
//! ```
//!
//! The [`engine`] runs it all as one duty cycle (`do_work(now)`: NIC, stack, sessions with
//! reconnect, strategy, commands), with [`counters`] in shared memory and a [`clock`] read once
//! per cycle; `engine::runner` is the only code that spawns or pins a thread.
//!
//! Everything else is polled: nothing blocks, sleeps or spawns threads, and time is passed in.
//! Buffers are allocated at construction.
// `unsafe` is allowed only in `af_packet` (socket and ring mapping), `tap` (the TUNSETIFF
// ioctl) and `engine::sys` (rdtsc, sched_setscheduler, the counter mapping), each block with
// a SAFETY note.
#![deny(unsafe_code)]

pub mod af_packet;
pub mod allowlist;
pub mod clock;
pub mod counters;
#[cfg(feature = "dpdk")]
pub mod dpdk;
pub mod engine;
pub mod link;
pub mod mem;
pub mod mem_spsc;
pub mod msglog;
pub mod nic;
pub mod pcap;
pub mod risk;
pub mod stack;
pub mod stamp_nic;
pub mod tap;
pub mod trigger;
