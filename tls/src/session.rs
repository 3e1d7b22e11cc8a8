//! The sans-IO TLS session over rustls' unbuffered connections.

use rustls::client::UnbufferedClientConnection;
use rustls::server::UnbufferedServerConnection;
use rustls::unbuffered::{ConnectionState, EncodeError, EncryptError, UnbufferedStatus};

use crate::config::{server_name, ClientConfig, ServerConfig};
use crate::error::Error;
use crate::record::{RecordKey, ALERT, APPLICATION_DATA, HANDSHAKE, MAX_PLAINTEXT};

/// Largest run of post-handshake handshake bytes we hold while a message is incomplete.
const POST_HANDSHAKE_MAX: usize = 16 * 1024;

/// Buffer sizes, fixed at construction.
#[derive(Debug, Clone, Copy)]
pub struct Capacities {
    /// Received ciphertext not yet processed (at least one full record: 16 KiB + overhead).
    pub ciphertext_in: usize,
    /// Ciphertext waiting for the transport.
    pub ciphertext_out: usize,
    /// Decrypted bytes not yet consumed by the application.
    pub plaintext_in: usize,
}

impl Default for Capacities {
    fn default() -> Self {
        Capacities {
            ciphertext_in: 64 * 1024,
            ciphertext_out: 64 * 1024,
            plaintext_in: 64 * 1024,
        }
    }
}

/// Something the caller should know about the session's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Warning {
    /// Certificate verification is off (UAT-only switch).
    VerificationDisabled,
}

/// What [`Session::poll`] achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Still handshaking; send `pending_ciphertext` and feed more input.
    Handshaking,
    /// Established; application data may flow.
    Established,
    /// The peer sent close_notify: no more data will arrive.
    PeerClosed,
    /// Both sides closed.
    Closed,
}

enum Conn {
    Client(UnbufferedClientConnection),
    Server(UnbufferedServerConnection),
    /// After the handshake: our own record layer, rustls only for key updates and tickets.
    Kernel(Box<KernelState>),
    /// Transient, while converting.
    Converting,
}

enum KernelConn {
    Client(rustls::kernel::KernelConnection<rustls::client::ClientConnectionData>),
    Server(rustls::kernel::KernelConnection<rustls::server::ServerConnectionData>),
}

struct KernelState {
    tx: RecordKey,
    rx: RecordKey,
    conn: KernelConn,
}

impl KernelConn {
    fn update_rx(&mut self) -> Result<(u64, rustls::ConnectionTrafficSecrets), rustls::Error> {
        match self {
            KernelConn::Client(c) => c.update_rx_secret(),
            KernelConn::Server(c) => c.update_rx_secret(),
        }
    }

    fn update_tx(&mut self) -> Result<(u64, rustls::ConnectionTrafficSecrets), rustls::Error> {
        match self {
            KernelConn::Client(c) => c.update_tx_secret(),
            KernelConn::Server(c) => c.update_tx_secret(),
        }
    }

    fn ticket(&mut self, body: &[u8]) -> Result<(), rustls::Error> {
        match self {
            KernelConn::Client(c) => c.handle_new_session_ticket(body),
            // Clients do not send tickets; a server ignores one.
            KernelConn::Server(_) => Ok(()),
        }
    }
}

/// A TLS client or server session.
pub struct Session {
    conn: Conn,
    rx: Vec<u8>,
    rx_len: usize,
    tx: Vec<u8>,
    tx_start: usize,
    tx_len: usize,
    plain: Vec<u8>,
    plain_start: usize,
    plain_len: usize,
    established: bool,
    peer_closed: bool,
    closed: bool,
    failed: Option<Error>,
    warnings: Option<Warning>,
    own_records: bool,
    tickets: u32,
    /// Post-handshake handshake bytes awaiting a complete message (capacity fixed).
    hs: Vec<u8>,
}

impl core::fmt::Debug for Session {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Session")
            .field("established", &self.established)
            .field("peer_closed", &self.peer_closed)
            .field("closed", &self.closed)
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

/// Drives one step of a connection; the caller matches on what it needs.
macro_rules! status {
    ($conn:expr, $rx:expr) => {
        match $conn {
            Conn::Client(c) => Step::Client(c.process_tls_records($rx)),
            Conn::Server(s) => Step::Server(s.process_tls_records($rx)),
            Conn::Kernel(_) | Conn::Converting => return Ok((Outcome::NeedInput, false)),
        }
    };
}

enum Step<'c, 'i> {
    Client(UnbufferedStatus<'c, 'i, rustls::client::ClientConnectionData>),
    Server(UnbufferedStatus<'c, 'i, rustls::server::ServerConnectionData>),
}

/// What one state-machine step did, with the borrows released.
enum Outcome {
    Continue,
    NeedInput,
    Writable,
}

impl Session {
    fn with(conn: Conn, caps: Capacities, warnings: Option<Warning>, own_records: bool) -> Session {
        Session {
            conn,
            rx: vec![0; caps.ciphertext_in],
            rx_len: 0,
            tx: vec![0; caps.ciphertext_out],
            tx_start: 0,
            tx_len: 0,
            plain: vec![0; caps.plaintext_in],
            plain_start: 0,
            plain_len: 0,
            established: false,
            peer_closed: false,
            closed: false,
            failed: None,
            warnings,
            own_records,
            tickets: 0,
            hs: Vec::with_capacity(POST_HANDSHAKE_MAX),
        }
    }

    /// A client for `server` (DNS name or IP: used for SNI and verification).
    ///
    /// # Errors
    /// [`Error::Config`] for an unusable configuration or name.
    pub fn client(cfg: &ClientConfig, server: &str, caps: Capacities) -> Result<Session, Error> {
        let conn = UnbufferedClientConnection::new(cfg.build()?, server_name(server)?)?;
        let warning = cfg
            .dangerous_skip_verification_uat_only
            .then_some(Warning::VerificationDisabled);
        let mut s = Session::with(Conn::Client(conn), caps, warning, !cfg.rustls_record_layer);
        s.poll()?;
        Ok(s)
    }

    /// A server.
    ///
    /// # Errors
    /// [`Error::Config`] for an unusable certificate or key.
    pub fn server(cfg: &ServerConfig, caps: Capacities) -> Result<Session, Error> {
        let conn = UnbufferedServerConnection::new(cfg.build()?)?;
        Ok(Session::with(
            Conn::Server(conn),
            caps,
            None,
            !cfg.rustls_record_layer,
        ))
    }

    /// Configuration warnings (log them loudly).
    pub fn warnings(&self) -> Option<Warning> {
        self.warnings
    }

    /// True once application data may flow.
    pub fn is_established(&self) -> bool {
        self.established
    }

    /// True once the peer sent close_notify.
    pub fn is_peer_closed(&self) -> bool {
        self.peer_closed
    }

    /// Appends ciphertext received from the transport; returns how many bytes were taken
    /// (less than offered when the input buffer is full: call [`Session::poll`] and retry).
    pub fn handle_ciphertext(&mut self, data: &[u8]) -> usize {
        let n = data.len().min(self.rx.len() - self.rx_len);
        self.rx[self.rx_len..self.rx_len + n].copy_from_slice(&data[..n]);
        self.rx_len += n;
        n
    }

    /// The transport reached end of stream.
    ///
    /// # Errors
    /// [`Error::TruncatedRecord`] if a record was cut, [`Error::UnexpectedEof`] if the peer
    /// never sent close_notify.
    pub fn handle_transport_closed(&mut self) -> Result<(), Error> {
        if self.rx_len > 0 {
            return Err(self.fail(Error::TruncatedRecord));
        }
        if !self.peer_closed && !self.closed {
            return Err(self.fail(Error::UnexpectedEof));
        }
        Ok(())
    }

    fn fail(&mut self, e: Error) -> Error {
        self.failed = Some(e);
        e
    }

    /// Ciphertext to send.
    pub fn pending_ciphertext(&self) -> &[u8] {
        &self.tx[self.tx_start..self.tx_len]
    }

    /// Marks `n` bytes of [`Session::pending_ciphertext`] as sent.
    pub fn consume_ciphertext(&mut self, n: usize) {
        self.tx_start = (self.tx_start + n).min(self.tx_len);
        if self.tx_start == self.tx_len {
            self.tx_start = 0;
            self.tx_len = 0;
        }
    }

    /// Decrypted application data.
    pub fn plaintext(&self) -> &[u8] {
        &self.plain[self.plain_start..self.plain_start + self.plain_len]
    }

    /// Marks `n` bytes of [`Session::plaintext`] as consumed.
    pub fn consume_plaintext(&mut self, n: usize) {
        let n = n.min(self.plain_len);
        self.plain_start += n;
        self.plain_len -= n;
        if self.plain_len == 0 {
            self.plain_start = 0;
        }
    }

    fn compact_tx(&mut self) {
        if self.tx_start > 0 {
            self.tx.copy_within(self.tx_start..self.tx_len, 0);
            self.tx_len -= self.tx_start;
            self.tx_start = 0;
        }
    }

    /// Runs the state machine as far as the buffered input allows.
    ///
    /// # Errors
    /// The session's [`Error`]; after an error every call returns it again.
    pub fn poll(&mut self) -> Result<Progress, Error> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        if matches!(self.conn, Conn::Kernel(_)) {
            self.kernel_rx()?;
        } else {
            while let (Outcome::Continue, _) = self.step(None)? {}
            if self.established && self.own_records {
                self.enter_kernel_mode()?;
                if matches!(self.conn, Conn::Kernel(_)) {
                    self.kernel_rx()?;
                }
            }
        }
        Ok(if self.closed {
            Progress::Closed
        } else if self.peer_closed {
            Progress::PeerClosed
        } else if self.established {
            Progress::Established
        } else {
            Progress::Handshaking
        })
    }

    /// Whether application data may be written: an earlier failure, a handshake not yet done
    /// and a close are errors.
    fn check_writable(&self) -> Result<(), Error> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        if !self.established {
            return Err(Error::NotEstablished);
        }
        if self.closed {
            return Err(Error::Closed);
        }
        Ok(())
    }

    /// Encrypts `data` as application data into the outgoing buffer.
    ///
    /// # Errors
    /// [`Error::NotEstablished`] before the handshake ends, [`Error::InsufficientSize`] when
    /// the outgoing buffer cannot hold the record (send pending ciphertext first).
    pub fn write_plaintext(&mut self, data: &[u8]) -> Result<(), Error> {
        self.check_writable()?;
        self.compact_tx();
        if let Conn::Kernel(k) = &mut self.conn {
            for chunk in data.chunks(MAX_PLAINTEXT) {
                let n =
                    k.tx.seal(APPLICATION_DATA, chunk, &mut self.tx[self.tx_len..])?;
                self.tx_len += n;
            }
            return Ok(());
        }
        loop {
            match self.step(Some(Write::Data(data)))? {
                (Outcome::Writable, true) => return Ok(()),
                (Outcome::Continue, _) => {}
                (Outcome::NeedInput, _) | (Outcome::Writable, false) => {
                    return Err(Error::NotEstablished)
                }
            }
        }
    }

    /// Seals `data` (at most one record: [`MAX_PLAINTEXT`] bytes) as application data straight
    /// into `out`, the transport's own send buffer (no staging in the outgoing buffer, no copy
    /// after): returns the record's length, or `None` when it must go the usual way
    /// ([`Session::write_plaintext`]) — ciphertext is already waiting (it must leave first),
    /// the record layer is rustls' own, `data` is longer than one record or `out` too short.
    /// Nothing is sealed and no sequence number used when it returns `None` or an error.
    ///
    /// # Errors
    /// As [`Session::write_plaintext`].
    pub fn write_plaintext_into(
        &mut self,
        data: &[u8],
        out: &mut [u8],
    ) -> Result<Option<usize>, Error> {
        self.check_writable()?;
        let Conn::Kernel(k) = &mut self.conn else {
            return Ok(None);
        };
        if self.tx_len > self.tx_start || data.len() > MAX_PLAINTEXT || out.len() < data.len() + 22
        {
            return Ok(None);
        }
        k.tx.seal(APPLICATION_DATA, data, out).map(Some)
    }

    /// Queues close_notify.
    ///
    /// # Errors
    /// As [`Session::write_plaintext`].
    pub fn close(&mut self) -> Result<(), Error> {
        if !self.established || self.closed {
            return Ok(());
        }
        self.compact_tx();
        if let Conn::Kernel(k) = &mut self.conn {
            let n = k.tx.seal(ALERT, &[1, 0], &mut self.tx[self.tx_len..])?;
            self.tx_len += n;
            self.closed = self.peer_closed;
            return Ok(());
        }
        loop {
            match self.step(Some(Write::CloseNotify))? {
                (Outcome::Writable, true) => {
                    self.closed = self.peer_closed;
                    return Ok(());
                }
                (Outcome::Continue, _) => {}
                _ => return Ok(()),
            }
        }
    }

    /// Sends a KeyUpdate asking the peer to update too, and switches our sending key (TLS 1.3,
    /// our record layer). Long-lived sessions call it before a cipher's confidentiality limit.
    ///
    /// # Errors
    /// [`Error::NotEstablished`] outside our record layer; [`Error::InsufficientSize`].
    pub fn update_keys(&mut self) -> Result<(), Error> {
        self.compact_tx();
        let Conn::Kernel(k) = &mut self.conn else {
            return Err(Error::NotEstablished);
        };
        let n =
            k.tx.seal(HANDSHAKE, &[24, 0, 0, 1, 1], &mut self.tx[self.tx_len..])?;
        self.tx_len += n;
        let (seq, secrets) = k.conn.update_tx().map_err(Error::from)?;
        k.tx = RecordKey::new(seq, &secrets)?;
        Ok(())
    }

    /// NewSessionTicket messages received through our record layer and stored by rustls.
    pub fn tickets_received(&self) -> u32 {
        self.tickets
    }

    /// True when records are protected by our own zero-allocation layer (TLS 1.3, after the
    /// handshake).
    pub fn is_zero_alloc(&self) -> bool {
        matches!(self.conn, Conn::Kernel(_))
    }

    /// Hands record protection over from rustls to [`RecordKey`]s (TLS 1.3 only).
    fn enter_kernel_mode(&mut self) -> Result<(), Error> {
        let tls13 =
            |v: Option<rustls::ProtocolVersion>| v == Some(rustls::ProtocolVersion::TLSv1_3);
        let eligible = match &self.conn {
            Conn::Client(c) => tls13(c.protocol_version()),
            Conn::Server(c) => tls13(c.protocol_version()),
            _ => false,
        };
        if !eligible {
            return Ok(());
        }
        let (secrets, conn) = match core::mem::replace(&mut self.conn, Conn::Converting) {
            Conn::Client(c) => {
                let (s, k) = c
                    .dangerous_into_kernel_connection()
                    .map_err(|e| self.fail(e.into()))?;
                (s, KernelConn::Client(k))
            }
            Conn::Server(c) => {
                let (s, k) = c
                    .dangerous_into_kernel_connection()
                    .map_err(|e| self.fail(e.into()))?;
                (s, KernelConn::Server(k))
            }
            other => {
                self.conn = other;
                return Ok(());
            }
        };
        let tx = RecordKey::new(secrets.tx.0, &secrets.tx.1)?;
        let rx = RecordKey::new(secrets.rx.0, &secrets.rx.1)?;
        self.conn = Conn::Kernel(Box::new(KernelState { tx, rx, conn }));
        Ok(())
    }

    /// Opens every complete record in the input buffer with our own record layer; what is left
    /// (a partial record) moves to the front of the buffer once, at the end.
    fn kernel_rx(&mut self) -> Result<(), Error> {
        let mut at = 0;
        let r = self.kernel_rx_records(&mut at);
        if at > 0 {
            self.rx.copy_within(at..self.rx_len, 0);
            self.rx_len -= at;
        }
        if let Err(e) = r {
            self.failed = Some(e);
        }
        r
    }

    /// The records of `rx[*at..rx_len]`, advancing `at` past each one opened.
    fn kernel_rx_records(&mut self, at: &mut usize) -> Result<(), Error> {
        loop {
            let Some(inner) = RecordKey::inner_len(&self.rx[*at..self.rx_len])? else {
                return Ok(());
            };
            // Decrypt straight into the plaintext buffer when it has room at its end; else in
            // place.
            let room = self.plain_room(inner);
            let Conn::Kernel(k) = &mut self.conn else {
                return Ok(());
            };
            let input = &mut self.rx[*at..self.rx_len];
            let (len, kind, payload) = match room {
                Some(end) => {
                    let (len, kind, n) = k.rx.open_into(input, &mut self.plain[end..])?;
                    (len, kind, Payload::Plain(end..end + n))
                }
                None => {
                    let Some((len, kind, range)) = k.rx.open(input)? else {
                        return Ok(());
                    };
                    (len, kind, Payload::Rx(*at + range.start..*at + range.end))
                }
            };
            *at += len;
            self.handle_inner(kind, payload)?;
        }
    }

    /// Where `inner` bytes can be decrypted at the end of the plaintext buffer (after moving
    /// unread plaintext to the front if that makes room), or `None`.
    fn plain_room(&mut self, inner: usize) -> Option<usize> {
        let end = self.plain_start + self.plain_len;
        if self.plain.len() - end >= inner {
            return Some(end);
        }
        if self.plain.len() - self.plain_len >= inner {
            self.plain.copy_within(self.plain_start..end, 0);
            self.plain_start = 0;
            return Some(self.plain_len);
        }
        None
    }

    /// Acts on one opened record of our record layer.
    fn handle_inner(&mut self, kind: u8, payload: Payload) -> Result<(), Error> {
        let Conn::Kernel(k) = &mut self.conn else {
            return Ok(());
        };
        let bytes: &[u8] = match &payload {
            Payload::Plain(r) => &self.plain[r.clone()],
            Payload::Rx(r) => &self.rx[r.clone()],
        };
        match kind {
            APPLICATION_DATA => match payload {
                Payload::Plain(r) => self.plain_len += r.len(),
                Payload::Rx(r) => {
                    let n = r.len();
                    if self.plain_start + self.plain_len + n > self.plain.len() {
                        if self.plain_len + n > self.plain.len() {
                            return Err(Error::InsufficientSize { required: n });
                        }
                        self.plain
                            .copy_within(self.plain_start..self.plain_start + self.plain_len, 0);
                        self.plain_start = 0;
                    }
                    let end = self.plain_start + self.plain_len;
                    self.plain[end..end + n].copy_from_slice(&self.rx[r]);
                    self.plain_len += n;
                }
            },
            HANDSHAKE => {
                // Post-handshake messages may span records: collect them in `hs` (sized at
                // construction) and act on each complete one.
                if self.hs.len() + bytes.len() > self.hs.capacity() {
                    return Err(Error::PeerMisbehaved);
                }
                self.hs.extend_from_slice(bytes);
                let mut done = 0;
                while done + 4 <= self.hs.len() {
                    let typ = self.hs[done];
                    let l = usize::from(self.hs[done + 1]) << 16
                        | usize::from(self.hs[done + 2]) << 8
                        | usize::from(self.hs[done + 3]);
                    let body = done + 4..done + 4 + l;
                    if body.end > self.hs.len() {
                        break;
                    }
                    match typ {
                        4 => {
                            // A ticket rustls cannot parse only costs resumption; the data
                            // path goes on.
                            if k.conn.ticket(&self.hs[body.clone()]).is_ok() {
                                self.tickets = self.tickets.saturating_add(1);
                            }
                        }
                        24 => {
                            // KeyUpdate: exactly one byte, update_not_requested (0) or
                            // update_requested (1) (RFC 8446 §4.6.3); anything else is a
                            // decode_error or an illegal_parameter.
                            let requested = match &self.hs[body.clone()] {
                                [0] => false,
                                [1] => true,
                                _ => return Err(Error::PeerMisbehaved),
                            };
                            let (seq, secrets) = k.conn.update_rx().map_err(Error::from)?;
                            k.rx = RecordKey::new(seq, &secrets)?;
                            if requested {
                                // Answer with our own KeyUpdate(update_not_requested), then
                                // switch our sending key.
                                let n = k.tx.seal(
                                    HANDSHAKE,
                                    &[24, 0, 0, 1, 0],
                                    &mut self.tx[self.tx_len..],
                                )?;
                                self.tx_len += n;
                                let (seq, secrets) = k.conn.update_tx().map_err(Error::from)?;
                                k.tx = RecordKey::new(seq, &secrets)?;
                            }
                        }
                        _ => return Err(Error::PeerMisbehaved),
                    }
                    done = body.end;
                }
                self.hs.drain(..done);
            }
            ALERT => {
                // Two bytes, level and description (RFC 8446 §6); a record of any other length
                // is a decode_error, not a close_notify.
                let &[_, desc] = bytes else {
                    return Err(Error::PeerMisbehaved);
                };
                if desc == 0 {
                    self.peer_closed = true;
                } else {
                    return Err(match desc {
                        70 => Error::ProtocolVersion,
                        d => Error::PeerAlert(crate::error::alert(d.into())),
                    });
                }
            }
            _ => return Err(Error::PeerMisbehaved),
        }
        Ok(())
    }

    /// One call of `process_tls_records`, its state handled. Returns what happened and whether
    /// the requested write was done.
    fn step(&mut self, write: Option<Write<'_>>) -> Result<(Outcome, bool), Error> {
        let Session {
            conn,
            rx,
            rx_len,
            tx,
            tx_len,
            plain,
            plain_start,
            plain_len,
            ..
        } = self;
        let mut wrote = false;
        let mut extra_discard = 0usize;
        let mut peer_closed = false;
        let mut closed = false;
        let mut established = false;
        let failure = std::cell::Cell::new(None);
        let self_fail = |e: Error| {
            failure.set(Some(e));
            e
        };
        let step = status!(conn, &mut rx[..*rx_len]);
        macro_rules! handle {
            ($status:expr) => {{
                let UnbufferedStatus { discard, state } = $status;
                let state = match state {
                    Ok(s) => s,
                    Err(e) => return Err(self_fail(e.into())),
                };
                let outcome = match state {
                    ConnectionState::ReadTraffic(mut r) => {
                        while let Some(rec) = r.next_record() {
                            let rec = rec.map_err(|e| self_fail(e.into()))?;
                            let end = *plain_start + *plain_len;
                            if rec.payload.len() > plain.len() - end {
                                if *plain_start > 0 && rec.payload.len() <= plain.len() - *plain_len
                                {
                                    plain.copy_within(*plain_start..end, 0);
                                    *plain_start = 0;
                                } else {
                                    return Err(Error::InsufficientSize {
                                        required: rec.payload.len(),
                                    });
                                }
                            }
                            let end = *plain_start + *plain_len;
                            plain[end..end + rec.payload.len()].copy_from_slice(rec.payload);
                            *plain_len += rec.payload.len();
                            extra_discard += rec.discard;
                        }
                        Outcome::Continue
                    }
                    ConnectionState::EncodeTlsData(mut e) => match e.encode(&mut tx[*tx_len..]) {
                        Ok(n) => {
                            *tx_len += n;
                            Outcome::Continue
                        }
                        Err(EncodeError::InsufficientSize(s)) => {
                            return Err(Error::InsufficientSize {
                                required: s.required_size,
                            })
                        }
                        Err(_) => return Err(Error::Other),
                    },
                    ConnectionState::TransmitTlsData(t) => {
                        // Our outgoing buffer already holds the bytes; the caller sends them.
                        t.done();
                        Outcome::Continue
                    }
                    ConnectionState::BlockedHandshake => Outcome::NeedInput,
                    ConnectionState::WriteTraffic(mut w) => {
                        established = true;
                        match write {
                            Some(Write::Data(data)) => match w.encrypt(data, &mut tx[*tx_len..]) {
                                Ok(n) => {
                                    *tx_len += n;
                                    wrote = true;
                                }
                                Err(EncryptError::InsufficientSize(s)) => {
                                    return Err(Error::InsufficientSize {
                                        required: s.required_size,
                                    })
                                }
                                Err(_) => return Err(Error::Other),
                            },
                            Some(Write::CloseNotify) => {
                                match w.queue_close_notify(&mut tx[*tx_len..]) {
                                    Ok(n) => {
                                        *tx_len += n;
                                        wrote = true;
                                    }
                                    Err(EncryptError::InsufficientSize(s)) => {
                                        return Err(Error::InsufficientSize {
                                            required: s.required_size,
                                        })
                                    }
                                    Err(_) => return Err(Error::Other),
                                }
                            }
                            None => {}
                        }
                        if discard == 0 {
                            Outcome::Writable
                        } else {
                            Outcome::Continue
                        }
                    }
                    ConnectionState::PeerClosed => {
                        peer_closed = true;
                        Outcome::Continue
                    }
                    ConnectionState::Closed => {
                        closed = true;
                        Outcome::NeedInput
                    }
                    _ => Outcome::NeedInput,
                };
                (discard, outcome)
            }};
        }
        let result: Result<(usize, Outcome), Error> = (|| {
            Ok(match step {
                Step::Client(st) => handle!(st),
                Step::Server(st) => handle!(st),
            })
        })();
        let (discard, outcome) = match result {
            Ok(r) => r,
            Err(e) => {
                if let Some(f) = failure.get() {
                    self.failed = Some(f);
                }
                return Err(e);
            }
        };
        let discard = discard + extra_discard;
        if discard > 0 {
            self.rx.copy_within(discard..self.rx_len, 0);
            self.rx_len -= discard;
        }
        self.established |= established;
        self.peer_closed |= peer_closed;
        self.closed |= closed;
        // After the peer closed, rustls reports nothing new until we write: stop looping.
        let outcome = match outcome {
            Outcome::Continue if discard == 0 && !wrote && peer_closed => Outcome::NeedInput,
            o => o,
        };
        Ok((outcome, wrote))
    }
}

/// Where [`Session::kernel_rx_records`] left a record's payload.
enum Payload {
    /// Decrypted into the plaintext buffer, at its end.
    Plain(core::ops::Range<usize>),
    /// Decrypted in place in the input buffer.
    Rx(core::ops::Range<usize>),
}

#[derive(Clone, Copy)]
enum Write<'a> {
    Data(&'a [u8]),
    CloseNotify,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Identity, RootSource};
    use crate::error::Alert;

    /// A client and a server configuration: a CA the client trusts, and a leaf for
    /// `venue.test` signed by it.
    fn configs() -> (ClientConfig, ServerConfig) {
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca_key = rcgen::KeyPair::generate().expect("key");
        let ca_cert = ca.self_signed(&ca_key).expect("ca");
        let issuer = rcgen::Issuer::new(ca, ca_key);
        let leaf_key = rcgen::KeyPair::generate().expect("key");
        let leaf = rcgen::CertificateParams::new(vec!["venue.test".to_string()])
            .expect("params")
            .signed_by(&leaf_key, &issuer)
            .expect("leaf");
        let ccfg = ClientConfig::new(RootSource::Der(vec![ca_cert.der().to_vec()]));
        let scfg = ServerConfig::new(Identity::Der {
            chain: vec![leaf.der().to_vec()],
            pkcs8_key: leaf_key.serialize_der(),
        });
        (ccfg, scfg)
    }

    fn pair() -> (Session, Session) {
        let (ccfg, scfg) = configs();
        let mut c = Session::client(&ccfg, "venue.test", Capacities::default()).expect("client");
        let mut s = Session::server(&scfg, Capacities::default()).expect("server");
        for _ in 0..10 {
            shuttle(&mut c, &mut s);
            shuttle(&mut s, &mut c);
        }
        assert!(c.is_zero_alloc() && s.is_zero_alloc());
        (c, s)
    }

    /// `to` reading what `from` has sent: its `poll` result.
    fn deliver(from: &mut Session, to: &mut Session) -> Result<Progress, Error> {
        let n = to.handle_ciphertext(from.pending_ciphertext());
        from.consume_ciphertext(n);
        to.poll()
    }

    /// [`deliver`], which must succeed.
    fn shuttle(from: &mut Session, to: &mut Session) {
        deliver(from, to).expect("poll");
    }

    /// Seals `payload` as one record of `kind` with `s`'s sending key, as if `s` had sent it.
    fn inject(s: &mut Session, kind: u8, payload: &[u8]) {
        let Conn::Kernel(k) = &mut s.conn else {
            panic!("not on our record layer");
        };
        let n =
            k.tx.seal(kind, payload, &mut s.tx[s.tx_len..])
                .expect("fits");
        s.tx_len += n;
    }

    #[test]
    fn key_update_split_across_two_records_is_reassembled() {
        let (mut c, mut s) = pair();
        // KeyUpdate(update_requested) in two records: header, then body.
        inject(&mut s, HANDSHAKE, &[24, 0, 0]);
        inject(&mut s, HANDSHAKE, &[1, 1]);
        let Conn::Kernel(k) = &mut s.conn else {
            panic!("not on our record layer");
        };
        let (seq, secrets) = k.conn.update_tx().expect("update");
        k.tx = RecordKey::new(seq, &secrets).expect("key");
        s.write_plaintext(b"after").expect("write");
        shuttle(&mut s, &mut c);
        assert_eq!(c.plaintext(), b"after");
        // The client answered with its own KeyUpdate; the server must follow it.
        c.write_plaintext(b"reply").expect("write");
        shuttle(&mut c, &mut s);
        assert_eq!(s.plaintext(), b"reply");
    }

    #[test]
    fn a_malformed_key_update_is_refused_and_keys_are_kept() {
        // Empty, two bytes, and a value that is neither 0 nor 1. The empty one must not read
        // the next message's first byte as its value.
        for body in [
            &[24, 0, 0, 0, 24, 0, 0, 1, 1][..],
            &[24, 0, 0, 2, 1, 0],
            &[24, 0, 0, 1, 2],
        ] {
            let (mut c, mut s) = pair();
            inject(&mut s, HANDSHAKE, body);
            assert_eq!(
                deliver(&mut s, &mut c),
                Err(Error::PeerMisbehaved),
                "{body:?}"
            );
            assert_eq!(
                c.write_plaintext(b"x"),
                Err(Error::PeerMisbehaved),
                "{body:?}"
            );
            assert!(
                c.pending_ciphertext().is_empty(),
                "no KeyUpdate answered: {body:?}"
            );
        }
        // The well-formed one is taken: the client then reads under the new key.
        let (mut c, mut s) = pair();
        inject(&mut s, HANDSHAKE, &[24, 0, 0, 1, 0]);
        let Conn::Kernel(k) = &mut s.conn else {
            panic!("not on our record layer");
        };
        let (seq, secrets) = k.conn.update_tx().expect("update");
        k.tx = RecordKey::new(seq, &secrets).expect("key");
        s.write_plaintext(b"after").expect("write");
        assert_eq!(deliver(&mut s, &mut c), Ok(Progress::Established));
        assert_eq!(c.plaintext(), b"after");
    }

    #[test]
    fn an_alert_of_the_wrong_length_is_not_a_close_notify() {
        for alert in [&[][..], &[1], &[1, 0, 0]] {
            let (mut c, mut s) = pair();
            inject(&mut s, ALERT, alert);
            assert_eq!(
                deliver(&mut s, &mut c),
                Err(Error::PeerMisbehaved),
                "{alert:?}"
            );
            assert!(!c.is_peer_closed(), "{alert:?}");
        }
        let (mut c, mut s) = pair();
        inject(&mut s, ALERT, &[1, 0]);
        assert_eq!(deliver(&mut s, &mut c), Ok(Progress::PeerClosed));
        assert!(c.is_peer_closed());
        let (mut c, mut s) = pair();
        inject(&mut s, ALERT, &[2, 40]);
        assert_eq!(
            deliver(&mut s, &mut c),
            Err(Error::PeerAlert(Alert::HandshakeFailure))
        );
    }

    #[test]
    fn oversized_post_handshake_message_is_refused() {
        let (mut c, mut s) = pair();
        // Claims 16 MiB; the next full record overflows our 16 KiB reassembly buffer.
        inject(&mut s, HANDSHAKE, &[4, 0xff, 0xff, 0xff]);
        inject(&mut s, HANDSHAKE, &[0u8; MAX_PLAINTEXT]);
        let n = c.handle_ciphertext(s.pending_ciphertext());
        s.consume_ciphertext(n);
        assert_eq!(c.poll(), Err(Error::PeerMisbehaved));
        assert_eq!(c.write_plaintext(b"x"), Err(Error::PeerMisbehaved));
    }

    #[test]
    fn records_split_anywhere_arrive_in_order() {
        let (mut c, mut s) = pair();
        let mut expect = Vec::new();
        let mut wire = Vec::new();
        for i in 0..300usize {
            let msg: Vec<u8> = (0..(i * 37) % 700 + 1).map(|b| (b + i) as u8).collect();
            s.write_plaintext(&msg).expect("write");
            expect.extend_from_slice(&msg);
            wire.extend_from_slice(s.pending_ciphertext());
            let n = s.pending_ciphertext().len();
            s.consume_ciphertext(n);
        }
        let mut got = Vec::new();
        let mut off = 0;
        let mut k = 1usize;
        while off < wire.len() {
            k = (k * 7919 + 13) % 1500 + 1;
            let end = (off + k).min(wire.len());
            let mut at = off;
            while at < end {
                let n = c.handle_ciphertext(&wire[at..end]);
                at += n;
                c.poll().expect("poll");
                if n == 0 {
                    break;
                }
            }
            off = at;
            // Consume a part of what arrived, as a FIX parser would.
            let take = c.plaintext().len() / 2 + k % 3;
            let take = take.min(c.plaintext().len());
            got.extend_from_slice(&c.plaintext()[..take]);
            c.consume_plaintext(take);
        }
        c.poll().expect("poll");
        got.extend_from_slice(c.plaintext());
        assert_eq!(got.len(), expect.len());
        assert!(got == expect);
    }

    /// One thing the peer puts on the wire in [`arbitrary_records`]: a record sealed with its
    /// key (any inner type, any payload), or raw bytes.
    #[derive(Debug, Clone)]
    enum Sent {
        Sealed(u8, Vec<u8>),
        Raw(Vec<u8>),
    }

    fn sent() -> impl proptest::strategy::Strategy<Value = Sent> {
        use proptest::collection::vec;
        use proptest::prelude::*;
        let kind = prop_oneof![
            Just(APPLICATION_DATA),
            Just(HANDSHAKE),
            Just(ALERT),
            any::<u8>()
        ];
        // Post-handshake messages whose header is right (a ticket, a KeyUpdate, another type)
        // and whose body is anything, short ones often: their bodies are reached, not only the
        // refusal of a bad header.
        let message = (
            prop_oneof![Just(4u8), Just(24u8), any::<u8>()],
            prop_oneof![vec(any::<u8>(), 0..3), vec(any::<u8>(), 0..64)],
        )
            .prop_map(|(t, body)| {
                let mut m = vec![t, 0, 0, body.len() as u8];
                m.extend(body);
                m
            });
        prop_oneof![
            3 => (kind, vec(any::<u8>(), 0..64)).prop_map(|(k, p)| Sent::Sealed(k, p)),
            3 => message.prop_map(|m| Sent::Sealed(HANDSHAKE, m)),
            // Alerts of every length around the right one.
            1 => vec(any::<u8>(), 0..4).prop_map(|a| Sent::Sealed(ALERT, a)),
            1 => vec(any::<u8>(), 0..40).prop_map(Sent::Raw),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]

        /// Whatever the established peer sends (records of any inner type and payload, sealed
        /// with its key, and raw bytes between them), the client never panics; what it
        /// delivers is a prefix of the application data sent, in order; and its first error
        /// stays: every later `poll` and write fails too.
        #[test]
        fn arbitrary_records(wire in proptest::collection::vec(sent(), 1..10)) {
            let (mut c, mut s) = pair();
            let mut data = Vec::new();
            let mut failed = false;
            for item in wire {
                match item {
                    Sent::Sealed(kind, payload) => {
                        inject(&mut s, kind, &payload);
                        if kind == APPLICATION_DATA {
                            data.extend_from_slice(&payload);
                        }
                    }
                    Sent::Raw(bytes) => {
                        // Straight onto the wire, as a corrupted or hostile transport would.
                        let room = s.tx.len() - s.tx_len;
                        let n = bytes.len().min(room);
                        s.tx[s.tx_len..s.tx_len + n].copy_from_slice(&bytes[..n]);
                        s.tx_len += n;
                    }
                }
                let result = deliver(&mut s, &mut c);
                if failed {
                    proptest::prop_assert!(result.is_err(), "an error did not stay: {result:?}");
                }
                failed |= result.is_err();
                proptest::prop_assert!(data.starts_with(c.plaintext()));
            }
            if failed {
                proptest::prop_assert!(c.poll().is_err());
                proptest::prop_assert!(c.write_plaintext(b"x").is_err());
            }
        }

        /// Bytes that are not a handshake, fed to a fresh client and a fresh server: an error
        /// or a wait for more, never a panic, and an error stays.
        #[test]
        fn garbage_instead_of_a_handshake(
            chunks in proptest::collection::vec(proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200), 1..5)
        ) {
            let (ccfg, scfg) = configs();
            let mut c = Session::client(&ccfg, "venue.test", Capacities::default()).expect("client");
            let mut s = Session::server(&scfg, Capacities::default()).expect("server");
            for end in [&mut c, &mut s] {
                let mut failed = false;
                for chunk in &chunks {
                    end.handle_ciphertext(chunk);
                    let result = end.poll();
                    if failed {
                        proptest::prop_assert!(result.is_err(), "an error did not stay: {result:?}");
                    }
                    failed |= result.is_err();
                    proptest::prop_assert!(end.plaintext().is_empty());
                    proptest::prop_assert!(!end.is_established());
                }
            }
        }
    }
}
