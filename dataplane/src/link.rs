//! One venue connection as the engine runs it: a TCP connection of the [`Stack`], a TLS
//! session on it, and a FIX session on that.
//!
//! ```text
//! Stack::recv_with ─► tls.handle_ciphertext ─► tls.poll ─► fix.handle_input ─► on_app(&Message)
//! fix.pending_transmit ─► tls.write_plaintext ─► tls.pending_ciphertext ─► Stack::send
//! ```
//!
//! [`Link::pump`] moves whatever is ready in both directions once; the engine calls it every
//! cycle, after [`Stack::poll`]. It neither blocks nor allocates. A record sealed while no
//! ciphertext waits goes straight into TCP's send buffer ([`seal_record`]).

use tickwire_fix::message::Message;
use tickwire_fix::session::{Journal, Session};
use tickwire_fix::time::UtcTimestamp;

use crate::nic::Nic;
use crate::stack::{ConnId, ConnState, Stack, StackError};

/// Largest plaintext put into one TLS record (TLS's own limit is 16 KiB).
const RECORD_PLAINTEXT: usize = 16 * 1024 - 256;
/// Stop encrypting while this much ciphertext waits for TCP.
const MAX_QUEUED_CIPHERTEXT: usize = 16 * 1024;

/// Why a link stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkError {
    /// TCP failed.
    Tcp(StackError),
    /// TLS failed (certificate, alert, bad record…).
    Tls(tickwire_tls::Error),
}

impl core::fmt::Display for LinkError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Tcp(e) => write!(f, "tcp: {e}"),
            Self::Tls(e) => write!(f, "tls: {e}"),
        }
    }
}

impl std::error::Error for LinkError {}

/// Seals `data` (one record at most) as application data for connection `conn`: straight
/// into its TCP send buffer when no ciphertext waits before it (returns `Some(len)`: the
/// record's length, nothing left to send), else into the TLS session's outgoing buffer
/// (`None`: send [`tickwire_tls::Session::pending_ciphertext`] with [`Stack::send`]), as when
/// ciphertext is queued, there is no contiguous room, or the record layer is rustls'. The
/// direct way saves the copy of the record from one buffer to the other.
///
/// # Errors
/// [`LinkError`]: TLS refused (not established, closed, failed, no room) or the connection is
/// not open.
pub fn seal_record<N: Nic>(
    stack: &mut Stack<N>,
    conn: ConnId,
    tls: &mut tickwire_tls::Session,
    data: &[u8],
) -> Result<Option<usize>, LinkError> {
    if tls.pending_ciphertext().is_empty() {
        let direct = stack
            .send_with(conn, |buf| match tls.write_plaintext_into(data, buf) {
                Ok(Some(n)) => (n, Ok(Some(n))),
                Ok(None) => (0, Ok(None)),
                Err(e) => (0, Err(e)),
            })
            .map_err(LinkError::Tcp)?
            .map_err(LinkError::Tls)?;
        if direct.is_some() {
            return Ok(direct);
        }
    }
    tls.write_plaintext(data).map_err(LinkError::Tls)?;
    Ok(None)
}

/// TCP + TLS + FIX for one venue session.
#[derive(Debug)]
pub struct Link<J: Journal> {
    /// The TCP connection.
    pub conn: ConnId,
    /// The TLS session.
    pub tls: tickwire_tls::Session,
    /// The FIX session.
    pub fix: Session<J>,
    fix_connected: bool,
}

impl<J: Journal> Link<J> {
    /// Joins the three layers. The FIX session learns about the transport once TLS is up.
    pub fn new(conn: ConnId, tls: tickwire_tls::Session, fix: Session<J>) -> Link<J> {
        Link {
            conn,
            tls,
            fix,
            fix_connected: false,
        }
    }

    /// True once TLS is established and the FIX session has been told.
    pub fn is_up(&self) -> bool {
        self.fix_connected
    }

    /// Moves ready bytes both ways through TCP, TLS and FIX once.
    ///
    /// # Errors
    /// [`LinkError`] when TCP or TLS fail; the FIX session is told the transport is gone.
    pub fn pump<N: Nic>(
        &mut self,
        stack: &mut Stack<N>,
        now: UtcTimestamp,
        on_app: &mut dyn FnMut(&Message<'_>),
    ) -> Result<(), LinkError> {
        match stack.state(self.conn) {
            ConnState::Connecting => return Ok(()),
            ConnState::Closed => {
                if self.fix_connected {
                    self.fix.handle_disconnected();
                    self.fix_connected = false;
                }
                return Err(LinkError::Tcp(StackError::NotConnected));
            }
            _ => {}
        }
        // TCP → TLS.
        let tls = &mut self.tls;
        stack
            .recv_with(self.conn, |bytes| tls.handle_ciphertext(bytes))
            .map_err(LinkError::Tcp)?;
        self.tls.poll().map_err(|e| self.fail(e))?;
        if self.tls.is_established() && !self.fix_connected {
            self.fix_connected = true;
            self.fix.handle_connected(now);
        }
        // TLS → FIX.
        if !self.tls.plaintext().is_empty() {
            let n = self.tls.plaintext().len();
            self.fix.handle_input(now, self.tls.plaintext(), on_app);
            self.tls.consume_plaintext(n);
        }
        self.flush(stack, now)
    }

    /// FIX → TLS → TCP: sends what the FIX and TLS sessions have queued.
    ///
    /// # Errors
    /// [`LinkError`].
    pub fn flush<N: Nic>(
        &mut self,
        stack: &mut Stack<N>,
        _now: UtcTimestamp,
    ) -> Result<(), LinkError> {
        if stack.state(self.conn) == ConnState::Connecting {
            return Ok(());
        }
        self.send_ciphertext(stack)?;
        // Encrypt FIX output while TLS has room; what TCP cannot take yet stays queued in TLS
        // (backpressure reaches the FIX session's transmit queue, nothing is dropped).
        while self.tls.is_established()
            && !self.fix.pending_transmit().is_empty()
            && self.tls.pending_ciphertext().len() < MAX_QUEUED_CIPHERTEXT
        {
            let n = self.fix.pending_transmit().len().min(RECORD_PLAINTEXT);
            let data = &self.fix.pending_transmit()[..n];
            match seal_record(stack, self.conn, &mut self.tls, data) {
                Ok(_) => {}
                Err(LinkError::Tls(e)) => return Err(self.fail(e)),
                Err(e) => return Err(e),
            }
            self.fix.consume_transmit(n);
            self.send_ciphertext(stack)?;
        }
        Ok(())
    }

    fn send_ciphertext<N: Nic>(&mut self, stack: &mut Stack<N>) -> Result<(), LinkError> {
        let out = self.tls.pending_ciphertext();
        if !out.is_empty() {
            let n = stack.send(self.conn, out).map_err(LinkError::Tcp)?;
            self.tls.consume_ciphertext(n);
        }
        Ok(())
    }

    fn fail(&mut self, e: tickwire_tls::Error) -> LinkError {
        if self.fix_connected {
            self.fix.handle_disconnected();
            self.fix_connected = false;
        }
        LinkError::Tls(e)
    }
}
