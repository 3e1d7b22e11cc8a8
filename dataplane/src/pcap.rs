//! A capture wrapper for any [`Nic`]: every frame received and sent goes to a pcap file with
//! nanosecond timestamps (pcap-file), readable by Wireshark and tcpdump.
//!
//! For debugging and test evidence, not for the hot path: each frame is copied once more and
//! written to the file with one `write` syscall per frame (so nothing is lost if the process
//! dies). The timestamp is the wall clock when the frame passed the wrapper.

use std::fs::File;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::TsResolution;

use crate::nic::Nic;

/// A [`Nic`] that records its traffic.
#[derive(Debug)]
pub struct Capture<N: Nic> {
    inner: N,
    writer: PcapWriter<File>,
    staging: Vec<u8>,
    staged: usize,
    recorded_rx: bool,
    /// Frames that could not be written to the capture file.
    pub write_errors: u64,
}

fn now() -> std::time::Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

impl<N: Nic> Capture<N> {
    /// Wraps `inner`, writing to a new file at `path`.
    ///
    /// # Errors
    /// The file could not be created or the pcap header written.
    pub fn new(inner: N, path: &Path) -> std::io::Result<Capture<N>> {
        let header = PcapHeader {
            ts_resolution: TsResolution::NanoSecond,
            ..PcapHeader::default()
        };
        let writer = PcapWriter::with_header(File::create(path)?, header)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let mtu = inner.mtu();
        Ok(Capture {
            inner,
            writer,
            staging: vec![0; mtu.max(1514)],
            staged: 0,
            recorded_rx: false,
            write_errors: 0,
        })
    }

    /// The wrapped NIC.
    pub fn inner(&self) -> &N {
        &self.inner
    }

    /// The wrapped NIC, mutably.
    pub fn inner_mut(&mut self) -> &mut N {
        &mut self.inner
    }

    fn record(writer: &mut PcapWriter<File>, errors: &mut u64, frame: &[u8]) {
        let packet = PcapPacket::new(now(), frame.len() as u32, frame);
        if writer.write_packet(&packet).is_err() {
            *errors += 1;
        }
    }
}

impl<N: Nic> Nic for Capture<N> {
    fn mac(&self) -> [u8; 6] {
        self.inner.mac()
    }

    fn rx_peek(&mut self) -> Option<&[u8]> {
        let frame = self.inner.rx_peek()?;
        if !self.recorded_rx {
            Self::record(&mut self.writer, &mut self.write_errors, frame);
            self.recorded_rx = true;
        }
        self.inner.rx_peek()
    }

    fn rx_release(&mut self) {
        self.recorded_rx = false;
        self.inner.rx_release();
    }

    fn tx_alloc(&mut self, len: usize) -> Option<&mut [u8]> {
        // Reserve room in the real ring first (backends' tx_alloc holds no state until
        // commit), so a full ring is reported to the caller instead of losing the frame later.
        if len > self.staging.len() || self.inner.tx_alloc(len).is_none() {
            return None;
        }
        self.staged = len;
        Some(&mut self.staging[..len])
    }

    fn tx_commit(&mut self, len: usize) {
        let len = len.min(self.staged);
        if let Some(buf) = self.inner.tx_alloc(len) {
            buf.copy_from_slice(&self.staging[..len]);
            self.inner.tx_commit(len);
            Self::record(
                &mut self.writer,
                &mut self.write_errors,
                &self.staging[..len],
            );
        }
    }

    fn tx_flush(&mut self) -> usize {
        self.inner.tx_flush()
    }

    fn mtu(&self) -> usize {
        self.inner.mtu()
    }
}
