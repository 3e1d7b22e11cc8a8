//! The FIX 4.4 session layer as a sans-IO state machine, for initiators and acceptors.
//!
//! ```text
//!            handle_input(now, bytes, on_app) ──► frame ─► verify ─► admin / on_app(&Message)
//!  transport ◄── pending_transmit() / consume_transmit(n) ◄── queued Logon, Heartbeat, …, orders
//!            handle_timeout(now) ──► heartbeats, TestRequest, timeouts, rollover
//!            poll_event() ──► LoggedOn, Disconnect { reason }, GapDetected, …
//! ```
//!
//! The session owns no socket and reads no clock: bytes and `now` come in, bytes and events go
//! out. All buffers are sized at construction; steady-state operation does not allocate.
//!
//! Behaviour follows FIX 4.4 as QuickFIX implements it (the acceptance scripts in
//! `shared/fix-conformance` run against it), with Kraken's choices as configuration:
//! - garbled messages (bad framing, BodyLength, CheckSum, or MsgType not third) are dropped
//!   without touching sequence numbers; before logon they end the connection;
//! - MsgSeqNum too high: the message is queued and a ResendRequest sent; queued messages are
//!   processed once the gap is filled;
//! - MsgSeqNum too low without PossDupFlag: Logout with the reason, then disconnect;
//! - ResendRequest: stored application messages are replayed with PossDupFlag=Y and
//!   OrigSendingTime, or everything is gap-filled ([`ResendPolicy`]);
//! - a message failing validation is answered with a session Reject and consumes its MsgSeqNum.
//!
//! Nothing here panics on peer input; every error is an event or a typed error.

mod config;
mod journal;
mod out;

pub use config::{Config, ConfigError, HeaderOrder, ResendPolicy, Role, Rollover, ShortText};
pub(crate) use journal::touch;
pub use journal::{Journal, JournalError, MemoryJournal};
pub use out::TxQueue;

use crate::encode::{EncodeError, Encoder};
use crate::message::{
    frame_boundary, resync, FieldIndex, FieldRef, FrameError, FrameLimits, LayoutId, Message,
    ParseError,
};
use crate::parse::TagSet;
use crate::time::{UtcTimestamp, NANOS_PER_SEC};

/// Most fields one inbound message may have.
pub const MAX_FIELDS: usize = 512;

/// Header tags: never part of a message body.
const HEADER_TAGS: &[u32] = &[
    8, 9, 35, 34, 49, 56, 52, 43, 97, 122, 115, 128, 116, 129, 144, 145, 50, 57, 142, 143, 212,
    213, 347, 369, 627, 628, 629, 630, 90, 91,
];

/// [`HEADER_TAGS`] as a bitmap (all are below 1024): one load per field.
const HEADER_SET: TagSet = TagSet::of(HEADER_TAGS);

#[inline(always)]
fn is_header(tag: u32) -> bool {
    HEADER_SET.contains(tag)
}

/// Index of the first body field (`fields.len()` when there is none), or the Reject for a
/// header field after it (QuickFIX: 373=14).
fn header_end(fields: &[FieldRef]) -> Result<usize, Violation> {
    let mut end = None;
    for (i, f) in fields.iter().enumerate().skip(3) {
        if f.tag == 10 {
            break;
        }
        match (is_header(f.tag), end) {
            (true, Some(_)) => {
                return Err(Violation {
                    reason: 14,
                    ref_tag: Some(i64::from(f.tag)),
                    text: "Tag specified out of required order",
                })
            }
            (false, None) => end = Some(i),
            _ => {}
        }
    }
    Ok(end.unwrap_or(fields.len()))
}

/// The first `tag` among the header fields (`fields[..header_end]`): where the session looks
/// for 43, 49, 56 and 52, instead of scanning the body for them ([`Session::check_message`]
/// has rejected any message with a header field in its body).
#[inline]
fn header_field<'a>(msg: &Message<'a>, header_end: usize, tag: u32) -> Option<&'a [u8]> {
    let fields = msg.fields();
    fields[..header_end.min(fields.len())]
        .iter()
        .find(|f| f.tag == tag)
        .map(|f| msg.value(*f))
}

/// A broken FIX rule found in an inbound message: what the session Reject (35=3) carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Violation {
    /// SessionRejectReason (373).
    pub reason: u32,
    /// RefTagID (371), when one tag is at fault (signed: a peer may send tag `-1`).
    pub ref_tag: Option<i64>,
    /// Text (58).
    pub text: &'static str,
}

/// Validation hook: the dictionary check run on each inbound message when
/// [`Config::validate`] is on.
pub type Validator = fn(&Message<'_>) -> Result<(), Violation>;

/// Where the session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// No transport.
    Disconnected,
    /// Transport up; Logon not yet exchanged.
    AwaitingLogon,
    /// Logged on.
    Active,
    /// We sent Logout and wait for the answer.
    LogoutSent,
}

/// Why the caller must close the transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisconnectReason {
    /// Logout exchanged.
    LoggedOut,
    /// The peer's first message was not a valid Logon.
    BadLogon,
    /// Unexpected SenderCompID/TargetCompID.
    CompIdProblem,
    /// BeginString differs from ours.
    WrongBeginString,
    /// MsgSeqNum lower than expected without PossDupFlag.
    SeqTooLow { expected: u64, received: u64 },
    /// No answer to a TestRequest.
    HeartbeatTimeout,
    /// No Logout answer in time.
    LogoutTimeout,
    /// No Logon in time.
    LogonTimeout,
    /// Garbage before logon, or a message larger than the receive buffer.
    Garbled,
    /// The peer refused our Logon (Logout instead of Logon).
    LogonRejected,
}

/// Something the caller may want to know or act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Logon exchanged; `reset` when sequence numbers restarted at 1.
    LoggedOn {
        reset: bool,
        heartbeat_interval_s: u32,
    },
    /// Close the transport now (after sending what is pending).
    Disconnect(DisconnectReason),
    /// Inbound MsgSeqNum ahead of expected; a ResendRequest was sent.
    GapDetected { expected: u64, received: u64 },
    /// We sent a session Reject for inbound `ref_seq`.
    RejectSent { ref_seq: u64, reason: u32 },
    /// The peer rejected our message `ref_seq`.
    RejectReceived { ref_seq: u64 },
    /// A garbled message was dropped.
    Garbled(FrameError),
    /// An unparseable message was dropped.
    Unparseable(ParseError),
    /// The peer asked us to resend `begin..=end`.
    ResendRequested { begin: u64, end: u64 },
    /// The daily rollover passed: sequence numbers restart on the next logon.
    RolledOver,
    /// We gap-filled over application messages of ours in `begin..=end` instead of replaying
    /// them ([`ResendPolicy::GapFillAll`]): the peer will never process those orders, even
    /// ones it had received ahead of the gap. Reconcile (OrderStatusRequest) before trusting
    /// their state.
    ApplicationGapFilled { begin: u64, end: u64 },
}

/// Why an application message was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    /// Only a logged-on session sends application messages.
    NotLoggedOn,
    /// Encoding failed (too large for the transmit queue, bad value).
    Encode(EncodeError),
    /// The journal could not record it, so it was not sent.
    Journal(JournalError),
}

impl core::fmt::Display for SendError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NotLoggedOn => f.write_str("session not logged on"),
            Self::Encode(e) => write!(f, "encode: {e}"),
            Self::Journal(e) => write!(f, "journal: {e}"),
        }
    }
}

impl std::error::Error for SendError {}

/// Buffer sizes, fixed at construction.
#[derive(Debug, Clone, Copy)]
pub struct Capacities {
    /// Bytes of unsent output.
    pub transmit: usize,
    /// Bytes of partially received input (at least the largest message).
    pub receive: usize,
    /// Bytes of out-of-order messages held while a gap is filled.
    pub queue_bytes: usize,
    /// Number of out-of-order messages held.
    pub queue_messages: usize,
}

impl Default for Capacities {
    fn default() -> Self {
        Capacities {
            transmit: 256 * 1024,
            receive: 128 * 1024,
            queue_bytes: 256 * 1024,
            queue_messages: 1024,
        }
    }
}

const EVENT_CAPACITY: usize = 64;

/// Messages that arrived ahead of a gap, held until it is filled.
#[derive(Debug)]
struct SeqQueue {
    data: Vec<u8>,
    used: usize,
    entries: Vec<(u64, u32, u32)>,
}

impl SeqQueue {
    fn new(bytes: usize, messages: usize) -> SeqQueue {
        SeqQueue {
            data: vec![0; bytes],
            used: 0,
            entries: Vec::with_capacity(messages),
        }
    }

    fn push(&mut self, seq: u64, msg: &[u8]) -> bool {
        if self.entries.len() == self.entries.capacity()
            || self.used + msg.len() > self.data.len()
            || self.entries.iter().any(|e| e.0 == seq)
        {
            return false;
        }
        self.data[self.used..self.used + msg.len()].copy_from_slice(msg);
        self.entries.push((seq, self.used as u32, msg.len() as u32));
        self.used += msg.len();
        true
    }

    /// Copies out the message with `seq` into `out` and forgets it; returns its length.
    fn take(&mut self, seq: u64, out: &mut [u8]) -> Option<usize> {
        let i = self.entries.iter().position(|e| e.0 == seq)?;
        let (_, start, len) = self.entries.swap_remove(i);
        let (start, len) = (start as usize, len as usize);
        if len > out.len() {
            return None;
        }
        out[..len].copy_from_slice(&self.data[start..start + len]);
        if self.entries.is_empty() {
            self.used = 0;
        }
        Some(len)
    }

    /// Drops messages at or below `seq`.
    fn discard_through(&mut self, seq: u64) {
        self.entries.retain(|e| e.0 > seq);
        if self.entries.is_empty() {
            self.used = 0;
        }
    }

    fn clear(&mut self) {
        self.entries.clear();
        self.used = 0;
    }
}

/// Counters a control plane may read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Messages accepted in sequence.
    pub received: u64,
    /// Messages queued (sent by the caller or by the session).
    pub sent: u64,
    /// Garbled or unparseable messages dropped.
    pub garbled: u64,
    /// Session Rejects sent.
    pub rejects_sent: u64,
    /// ResendRequests sent.
    pub resend_requests_sent: u64,
    /// Messages replayed for the peer.
    pub resent: u64,
    /// Events dropped because the caller did not poll them.
    pub events_dropped: u64,
}

/// One FIX session.
#[derive(Debug)]
pub struct Session<J: Journal> {
    cfg: Config,
    journal: J,
    state: State,
    tx: TxQueue,
    rx: Vec<u8>,
    rx_len: usize,
    scratch: Vec<u8>,
    queue: SeqQueue,
    events: [Option<Event>; EVENT_CAPACITY],
    ev_head: usize,
    ev_len: usize,
    heartbeat_s: u32,
    last_sent_ns: i64,
    last_received_ns: i64,
    test_requests: u32,
    resend_range: Option<(u64, u64)>,
    deadline_ns: Option<i64>,
    next_rollover_ns: Option<i64>,
    rollover_pending: bool,
    validator: Option<Validator>,
    limits: FrameLimits,
    stats: Stats,
    /// The field index every received message is parsed into, allocated once: a
    /// `FieldIndex<MAX_FIELDS>` is 6 KiB, and creating one per message (zeroing it) cost more
    /// than parsing the message.
    index: SpareIndex,
    /// The tag layout ([`LayoutId`]) and header end of the last inbound message that passed
    /// the field-order check.
    order_checked: Option<(LayoutId, usize)>,
    /// The journal's next slot has not been warmed since the last message recorded or the
    /// last change through [`Session::journal_mut`] ([`Session::warm`]).
    warm_due: bool,
}

/// A [`FieldIndex`] lent out while a message is handled (so that the message can borrow it
/// while the session is borrowed mutably) and put back after.
struct SpareIndex(Option<Box<FieldIndex<MAX_FIELDS>>>);

impl core::fmt::Debug for SpareIndex {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SpareIndex")
            .field("capacity", &MAX_FIELDS)
            .field("lent", &self.0.is_none())
            .finish()
    }
}

struct Header {
    seq: u64,
    poss_dup: bool,
}

impl<J: Journal> Session<J> {
    /// A session in [`State::Disconnected`], with buffers allocated now.
    pub fn new(cfg: Config, journal: J, caps: Capacities) -> Session<J> {
        let heartbeat_s = cfg.heartbeat_interval_s;
        Session {
            cfg,
            journal,
            state: State::Disconnected,
            tx: TxQueue::with_capacity(caps.transmit),
            rx: vec![0; caps.receive],
            rx_len: 0,
            scratch: vec![0; caps.receive],
            queue: SeqQueue::new(caps.queue_bytes, caps.queue_messages),
            events: [None; EVENT_CAPACITY],
            ev_head: 0,
            ev_len: 0,
            heartbeat_s,
            last_sent_ns: 0,
            last_received_ns: 0,
            test_requests: 0,
            resend_range: None,
            deadline_ns: None,
            next_rollover_ns: None,
            rollover_pending: false,
            validator: None,
            limits: FrameLimits {
                max_message_len: caps.receive,
            },
            stats: Stats::default(),
            index: SpareIndex(Some(Box::new(FieldIndex::new()))),
            order_checked: None,
            warm_due: true,
        }
    }

    /// Installs the dictionary check used when [`Config::validate`] is on.
    pub fn set_validator(&mut self, validator: Validator) {
        self.validator = Some(validator);
    }

    /// Current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The journal (sequence numbers, sent messages).
    pub fn journal(&self) -> &J {
        &self.journal
    }

    /// Brings what the next send will write into the cache: the journal's next slot
    /// ([`Journal::warm`]), once after each message recorded (later calls only test a flag).
    /// An engine calls it on its idle cycles, so that an order does not pay for cold memory
    /// on the send path. Only reads.
    #[inline]
    pub fn warm(&mut self) {
        if self.warm_due {
            self.warm_due = false;
            self.journal.warm();
        }
    }

    /// Mutable journal access, e.g. to set sequence numbers from the control plane.
    pub fn journal_mut(&mut self) -> &mut J {
        self.warm_due = true;
        &mut self.journal
    }

    /// Counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Heartbeat interval in force (the acceptor adopts the initiator's).
    pub fn heartbeat_interval_s(&self) -> u32 {
        self.heartbeat_s
    }

    /// Bytes waiting to be written to the transport.
    pub fn pending_transmit(&self) -> &[u8] {
        self.tx.pending()
    }

    /// Marks `n` bytes of [`Session::pending_transmit`] as written.
    pub fn consume_transmit(&mut self, n: usize) {
        self.tx.consume(n);
    }

    /// The next event, oldest first.
    pub fn poll_event(&mut self) -> Option<Event> {
        if self.ev_len == 0 {
            return None;
        }
        let ev = self.events[self.ev_head].take();
        self.ev_head = (self.ev_head + 1) % EVENT_CAPACITY;
        self.ev_len -= 1;
        ev
    }

    fn push_event(&mut self, ev: Event) {
        if self.ev_len == EVENT_CAPACITY {
            self.ev_head = (self.ev_head + 1) % EVENT_CAPACITY;
            self.ev_len -= 1;
            self.stats.events_dropped += 1;
        }
        let slot = (self.ev_head + self.ev_len) % EVENT_CAPACITY;
        self.events[slot] = Some(ev);
        self.ev_len += 1;
    }

    fn disconnect(&mut self, reason: DisconnectReason) {
        self.state = State::Disconnected;
        self.deadline_ns = None;
        self.queue.clear();
        self.rx_len = 0;
        self.resend_range = None;
        if self.rollover_pending {
            self.rollover_pending = false;
            self.journal.reset();
        }
        self.push_event(Event::Disconnect(reason));
    }

    // ----- transport lifecycle -------------------------------------------------------------

    /// The transport is up. An acceptor now waits for Logon; an initiator must call
    /// [`Session::send_logon`].
    pub fn handle_connected(&mut self, now: UtcTimestamp) {
        self.state = State::AwaitingLogon;
        self.tx.clear();
        self.rx_len = 0;
        self.queue.clear();
        self.test_requests = 0;
        self.resend_range = None;
        self.last_received_ns = now.nanos;
        self.last_sent_ns = now.nanos;
        self.deadline_ns = Some(now.nanos + 10 * NANOS_PER_SEC);
        if let Some(r) = self.cfg.rollover {
            self.next_rollover_ns = Some(r.next_after(now.nanos));
        }
    }

    /// The transport went away (or the caller closed it after [`Event::Disconnect`]).
    pub fn handle_disconnected(&mut self) {
        if self.state != State::Disconnected {
            self.state = State::Disconnected;
            if self.rollover_pending {
                self.rollover_pending = false;
                self.journal.reset();
            }
        }
        self.tx.clear();
        self.rx_len = 0;
        self.queue.clear();
    }

    /// Initiator: queues our Logon. `extra` adds fields after HeartBtInt/ResetSeqNumFlag (Kraken
    /// credentials need the MsgSeqNum, which it receives).
    ///
    /// # Errors
    /// [`SendError::Encode`] if the Logon does not fit.
    pub fn send_logon(
        &mut self,
        now: UtcTimestamp,
        extra: impl FnOnce(u64, &mut Encoder<'_>),
    ) -> Result<(), SendError> {
        if self.cfg.reset_on_logon {
            self.journal.reset();
        }
        let reset = self.cfg.reset_on_logon;
        let hb = self.cfg.heartbeat_interval_s;
        self.send_admin(now, b"A", |seq, e| {
            e.uint(98, 0).uint(108, u64::from(hb));
            if reset {
                e.boolean(141, true);
            }
            extra(seq, e);
        })
        .map_err(SendError::Encode)
    }

    /// Starts the Logout handshake (operator action, rollover, kill switch).
    ///
    /// # Errors
    /// [`SendError::NotLoggedOn`] if there is no session to log out of.
    pub fn send_logout(&mut self, now: UtcTimestamp, text: Option<&[u8]>) -> Result<(), SendError> {
        if self.state != State::Active {
            return Err(SendError::NotLoggedOn);
        }
        self.logout(now, text).map_err(SendError::Encode)?;
        self.state = State::LogoutSent;
        self.deadline_ns = Some(now.nanos + i64::from(self.cfg.logout_timeout_s) * NANOS_PER_SEC);
        Ok(())
    }

    /// Queues a TestRequest (35=1) with TestReqID `id` (an operator's probe); the peer answers
    /// with a Heartbeat carrying the same TestReqID (112). An admin message: not journaled.
    ///
    /// # Errors
    /// [`SendError::NotLoggedOn`], or [`SendError::Encode`] if it does not fit.
    pub fn send_test_request(&mut self, now: UtcTimestamp, id: &[u8]) -> Result<(), SendError> {
        if self.state != State::Active {
            return Err(SendError::NotLoggedOn);
        }
        self.send_admin(now, b"1", |_, e| {
            e.field(112, id);
        })
        .map_err(SendError::Encode)
    }

    // ----- outbound --------------------------------------------------------------------------

    /// Queues an admin message with the next MsgSeqNum; not journaled (resends gap-fill it).
    fn send_admin(
        &mut self,
        now: UtcTimestamp,
        msg_type: &[u8],
        body: impl FnOnce(u64, &mut Encoder<'_>),
    ) -> Result<(), EncodeError> {
        let seq = self.journal.next_sender_seq();
        let space = self.tx.space(1024);
        let mut e = Encoder::new(space);
        write_header(&self.cfg, &mut e, msg_type, seq, now);
        body(seq, &mut e);
        let n = e.finish()?;
        self.tx.commit(n);
        self.journal.set_next_sender_seq(seq + 1);
        self.last_sent_ns = now.nanos;
        self.stats.sent += 1;
        Ok(())
    }

    /// Sends an application message encoded by `body` after a standard header. Journaled for
    /// resend. For the venue's ExecutionReports and other one-off messages; the trading hot
    /// path uses [`Session::send_raw`] with a precompiled template.
    ///
    /// # Errors
    /// [`SendError`].
    pub fn send_app(
        &mut self,
        now: UtcTimestamp,
        msg_type: &[u8],
        body: impl FnOnce(&mut Encoder<'_>),
    ) -> Result<u64, SendError> {
        if self.state != State::Active {
            return Err(SendError::NotLoggedOn);
        }
        let seq = self.journal.next_sender_seq();
        let mut buf = core::mem::take(&mut self.scratch);
        let result = (|| {
            let mut e = Encoder::new(&mut buf);
            write_header(&self.cfg, &mut e, msg_type, seq, now);
            body(&mut e);
            let n = e.finish().map_err(SendError::Encode)?;
            self.commit_app(now, seq, &buf[..n])
        })();
        self.scratch = buf;
        result.map(|()| seq)
    }

    /// Sends an application message the caller wrote completely (a patched template) for
    /// MsgSeqNum [`Session::next_sender_seq`]. `write` gets the sequence number and the space to
    /// write into, and returns the length.
    ///
    /// # Errors
    /// [`SendError`]; nothing is sent and the sequence number is not used then.
    pub fn send_raw(
        &mut self,
        now: UtcTimestamp,
        write: impl FnOnce(u64, &mut [u8]) -> Result<usize, EncodeError>,
    ) -> Result<u64, SendError> {
        if self.state != State::Active {
            return Err(SendError::NotLoggedOn);
        }
        let seq = self.journal.next_sender_seq();
        let space = self.tx.space(2048);
        let n = write(seq, space).map_err(SendError::Encode)?;
        let bytes = &self.tx.space(0)[..n];
        self.journal
            .record_sent(seq, bytes)
            .map_err(SendError::Journal)?;
        self.warm_due = true;
        self.tx.commit(n);
        self.journal.set_next_sender_seq(seq + 1);
        self.last_sent_ns = now.nanos;
        self.stats.sent += 1;
        Ok(seq)
    }

    fn commit_app(&mut self, now: UtcTimestamp, seq: u64, bytes: &[u8]) -> Result<(), SendError> {
        if self.tx.space(bytes.len()).len() < bytes.len() {
            return Err(SendError::Encode(EncodeError::BufferTooSmall {
                required: bytes.len(),
            }));
        }
        self.journal
            .record_sent(seq, bytes)
            .map_err(SendError::Journal)?;
        self.warm_due = true;
        self.tx.push(bytes).map_err(SendError::Encode)?;
        self.journal.set_next_sender_seq(seq + 1);
        self.last_sent_ns = now.nanos;
        self.stats.sent += 1;
        Ok(())
    }

    /// MsgSeqNum the next outbound message gets.
    pub fn next_sender_seq(&self) -> u64 {
        self.journal.next_sender_seq()
    }

    fn heartbeat(
        &mut self,
        now: UtcTimestamp,
        test_req_id: Option<&[u8]>,
    ) -> Result<(), EncodeError> {
        self.send_admin(now, b"0", |_, e| {
            if let Some(id) = test_req_id {
                e.field(112, id);
            }
        })
    }

    fn logout(&mut self, now: UtcTimestamp, text: Option<&[u8]>) -> Result<(), EncodeError> {
        self.send_admin(now, b"5", |_, e| {
            if let Some(t) = text {
                e.field(58, t);
            }
        })
    }

    fn reject(
        &mut self,
        now: UtcTimestamp,
        ref_seq: u64,
        ref_msg_type: &[u8],
        v: Violation,
    ) -> Result<(), EncodeError> {
        self.reject_routed(now, ref_seq, ref_msg_type, v, &Route::default())
    }

    fn reject_routed(
        &mut self,
        now: UtcTimestamp,
        ref_seq: u64,
        ref_msg_type: &[u8],
        v: Violation,
        route: &Route,
    ) -> Result<(), EncodeError> {
        self.stats.rejects_sent += 1;
        self.push_event(Event::RejectSent {
            ref_seq,
            reason: v.reason,
        });
        // Copy the type out: it borrows the inbound message, which lives in self.scratch.
        let mut ty = [0u8; 8];
        let tlen = ref_msg_type.len().min(8);
        ty[..tlen].copy_from_slice(&ref_msg_type[..tlen]);
        self.send_admin(now, b"3", |_, e| {
            route.write(e);
            e.uint(45, ref_seq).field(58, v.text.as_bytes());
            if let Some(tag) = v.ref_tag {
                e.int(371, tag);
            }
            if tlen > 0 {
                e.field(372, &ty[..tlen]);
            }
            e.uint(373, u64::from(v.reason));
        })
    }

    fn resend_request(
        &mut self,
        now: UtcTimestamp,
        begin: u64,
        received: u64,
    ) -> Result<(), EncodeError> {
        self.stats.resend_requests_sent += 1;
        self.resend_range = Some((begin, received.saturating_sub(1)));
        self.send_admin(now, b"2", |_, e| {
            e.uint(7, begin).uint(16, 0);
        })
    }

    // ----- timers ----------------------------------------------------------------------------

    /// Drives heartbeats, TestRequests, timeouts and the daily rollover. Call at least every
    /// few hundred milliseconds (the engine calls it every cycle; it is cheap).
    pub fn handle_timeout(&mut self, now: UtcTimestamp) {
        let t = now.nanos;
        if let (Some(r), State::Active) = (self.next_rollover_ns, self.state) {
            if t >= r {
                self.next_rollover_ns = self.cfg.rollover.map(|ro| ro.next_after(t));
                self.rollover_pending = true;
                self.push_event(Event::RolledOver);
                let _ = self.send_logout(now, Some(b"Daily rollover"));
                return;
            }
        }
        match self.state {
            State::Disconnected => {}
            State::AwaitingLogon | State::LogoutSent => {
                if matches!(self.deadline_ns, Some(d) if t >= d) {
                    let reason = if self.state == State::AwaitingLogon {
                        DisconnectReason::LogonTimeout
                    } else {
                        DisconnectReason::LogoutTimeout
                    };
                    self.disconnect(reason);
                }
            }
            State::Active => {
                let hb = i64::from(self.heartbeat_s) * NANOS_PER_SEC;
                if hb == 0 {
                    return;
                }
                let silent = t - self.last_received_ns;
                if silent * 10 >= hb * 24 {
                    self.disconnect(DisconnectReason::HeartbeatTimeout);
                    return;
                }
                if silent * 10 >= hb * 12 * i64::from(self.test_requests + 1) {
                    let id = self.cfg.test_request_id;
                    self.test_requests += 1;
                    let _ = self.send_admin(now, b"1", |_, e| {
                        e.field(112, id.as_bytes());
                    });
                } else if self.test_requests == 0 && t - self.last_sent_ns >= hb {
                    let _ = self.heartbeat(now, None);
                }
            }
        }
    }

    // ----- inbound ---------------------------------------------------------------------------

    /// Feeds bytes from the transport. Complete messages are processed now; application
    /// messages go to `on_app` in sequence order; a partial message is kept for the next call.
    pub fn handle_input(
        &mut self,
        now: UtcTimestamp,
        mut input: &[u8],
        on_app: &mut dyn FnMut(&Message<'_>),
    ) {
        if self.state == State::Disconnected {
            return;
        }
        if self.rx_len == 0 {
            let used = self.process_stream(now, input, on_app);
            input = &input[used..];
            if input.is_empty() || self.state == State::Disconnected {
                return;
            }
        }
        while !input.is_empty() && self.state != State::Disconnected {
            let free = self.rx.len() - self.rx_len;
            if free == 0 {
                self.disconnect(DisconnectReason::Garbled);
                return;
            }
            let n = free.min(input.len());
            self.rx[self.rx_len..self.rx_len + n].copy_from_slice(&input[..n]);
            self.rx_len += n;
            input = &input[n..];
            let rx = core::mem::take(&mut self.rx);
            let used = self.process_stream(now, &rx[..self.rx_len], on_app);
            self.rx = rx;
            self.rx.copy_within(used..self.rx_len, 0);
            self.rx_len -= used;
        }
    }

    fn process_stream(
        &mut self,
        now: UtcTimestamp,
        buf: &[u8],
        on_app: &mut dyn FnMut(&Message<'_>),
    ) -> usize {
        let mut pos = 0;
        while pos < buf.len() && self.state != State::Disconnected {
            // The boundary only: the CheckSum is added up by the indexer ([`Session::dispatch_with`]).
            match frame_boundary(&buf[pos..], self.limits) {
                Ok(Some(n)) => {
                    self.process_message(now, &buf[pos..pos + n], on_app);
                    pos += n;
                }
                Ok(None) => break,
                Err(e) => {
                    self.stats.garbled += 1;
                    self.push_event(Event::Garbled(e));
                    if self.state == State::AwaitingLogon {
                        self.disconnect(DisconnectReason::Garbled);
                        return buf.len();
                    }
                    pos += resync(&buf[pos..]);
                }
            }
        }
        pos
    }

    fn process_message(
        &mut self,
        now: UtcTimestamp,
        bytes: &[u8],
        on_app: &mut dyn FnMut(&Message<'_>),
    ) {
        self.dispatch(now, bytes, on_app);
        // Messages that arrived ahead of a gap, now in sequence.
        while self.state != State::Disconnected && !self.queue.entries.is_empty() {
            let expected = self.journal.next_target_seq();
            self.queue.discard_through(expected.saturating_sub(1));
            let mut buf = core::mem::take(&mut self.scratch);
            let Some(n) = self.queue.take(expected, &mut buf) else {
                self.scratch = buf;
                break;
            };
            self.dispatch(now, &buf[..n], on_app);
            self.scratch = buf;
        }
    }

    fn dispatch(&mut self, now: UtcTimestamp, bytes: &[u8], on_app: &mut dyn FnMut(&Message<'_>)) {
        // Lent for the message; only allocated again if a previous one was never put back.
        let mut index = self
            .index
            .0
            .take()
            .unwrap_or_else(|| Box::new(FieldIndex::new()));
        self.dispatch_with(&mut index, now, bytes, on_app);
        self.index.0 = Some(index);
    }

    fn dispatch_with(
        &mut self,
        index: &mut FieldIndex<MAX_FIELDS>,
        now: UtcTimestamp,
        bytes: &[u8],
        on_app: &mut dyn FnMut(&Message<'_>),
    ) {
        let msg = match Message::parse_summed(bytes, index) {
            Ok(m) => m,
            Err(e) => {
                self.stats.garbled += 1;
                self.push_event(match e {
                    // A framing error, found in the pass that indexes the fields.
                    ParseError::BadChecksum { expected, actual } => {
                        Event::Garbled(FrameError::BadChecksum { expected, actual })
                    }
                    e => Event::Unparseable(e),
                });
                if self.state == State::AwaitingLogon {
                    self.disconnect(DisconnectReason::Garbled);
                }
                return;
            }
        };
        let fields = msg.fields();
        if fields.len() < 3 || fields[0].tag != 8 || fields[1].tag != 9 || fields[2].tag != 35 {
            self.stats.garbled += 1;
            self.push_event(Event::Unparseable(ParseError::InvalidTag { offset: 0 }));
            if self.state == State::AwaitingLogon {
                self.disconnect(DisconnectReason::Garbled);
            }
            return;
        }
        self.last_received_ns = now.nanos;
        self.test_requests = 0;
        if msg.value(fields[0]) != self.cfg.begin_string.as_bytes() {
            if self.state == State::Active {
                let _ = self.logout(now, Some(b"Incorrect BeginString"));
            }
            self.disconnect(DisconnectReason::WrongBeginString);
            return;
        }
        let msg_type = msg.msg_type();
        let Ok(seq) = msg.uint(34) else {
            // No usable MsgSeqNum: QuickFIX treats it as garbled.
            self.stats.garbled += 1;
            self.push_event(Event::Unparseable(ParseError::Missing { tag: 34 }));
            return;
        };
        if self.state == State::AwaitingLogon {
            self.on_logon_expected(now, &msg, seq);
            return;
        }
        // Dictionary and field-order checks come first (QuickFIX validates before verifying
        // identity and sequence); a rejected message consumes its sequence number.
        // The field-order check depends on the tags only: a message with the tag layout of one
        // that passed passes too (and its header ends at the same field).
        let passed = self
            .order_checked
            .take()
            .filter(|&(layout, _)| layout == msg.layout_id())
            .map(|(_, end)| end);
        let header_end = match self.check_message(&msg, passed) {
            Ok(end) => {
                self.order_checked = Some((msg.layout_id(), end));
                end
            }
            Err(v) => {
                let route = Route::reversed(&msg);
                let _ = self.reject_routed(now, seq, msg_type, v, &route);
                if seq == self.journal.next_target_seq() {
                    self.journal.set_next_target_seq(seq + 1);
                }
                return;
            }
        };
        let poss_dup = header_field(&msg, header_end, 43) == Some(b"Y");
        let header = Header { seq, poss_dup };

        // Messages processed whatever their sequence number.
        if msg_type == b"A" && matches!(msg.boolean_or(141, false), Ok(true)) {
            // Logon with ResetSeqNumFlag while logged on: both sides restart at 1.
            self.journal.reset();
            self.journal.set_next_target_seq(seq + 1);
            self.queue.clear();
            self.resend_range = None;
            let hb = self.heartbeat_s;
            let _ = self.send_admin(now, b"A", |_, e| {
                e.uint(98, 0).uint(108, u64::from(hb)).boolean(141, true);
            });
            self.push_event(Event::LoggedOn {
                reset: true,
                heartbeat_interval_s: hb,
            });
            return;
        }
        if msg_type == b"5" {
            self.on_logout(now, &msg, seq);
            return;
        }
        let gap_fill = msg_type == b"4" && matches!(msg.boolean_or(123, false), Ok(true));
        if msg_type == b"4" && !gap_fill {
            self.on_sequence_reset(now, &msg, seq, false);
            return;
        }
        if msg_type == b"2" {
            if !self.verify_identity_and_time(now, &msg, header_end, seq) {
                return;
            }
            self.on_resend_request(now, &msg);
            if seq == self.journal.next_target_seq() {
                self.journal.set_next_target_seq(seq + 1);
            } else if seq > self.journal.next_target_seq() {
                self.on_too_high(now, bytes, seq, true);
            }
            return;
        }
        if !self.verify_identity_and_time(now, &msg, header_end, seq) {
            return;
        }
        let expected = self.journal.next_target_seq();
        if seq > expected {
            self.on_too_high(now, bytes, seq, false);
            return;
        }
        if seq < expected {
            self.on_too_low(now, &msg, &header, expected);
            return;
        }
        if let Some((_, end)) = self.resend_range {
            if seq >= end {
                self.resend_range = None;
            }
        }
        self.stats.received += 1;
        match msg_type {
            b"0" => {}
            b"1" => {
                let id = msg.field(112);
                let mut tmp = [0u8; 64];
                let id = id.map(|v| {
                    let n = v.len().min(64);
                    tmp[..n].copy_from_slice(&v[..n]);
                    &tmp[..n]
                });
                let _ = self.heartbeat(now, id);
            }
            b"3" => {
                let ref_seq = msg.uint(45).unwrap_or(0);
                self.push_event(Event::RejectReceived { ref_seq });
            }
            b"4" => {
                self.on_sequence_reset(now, &msg, seq, true);
                return;
            }
            // A Logon without ResetSeqNumFlag while logged on changes nothing.
            b"A" => {}
            _ => on_app(&msg),
        }
        self.journal.set_next_target_seq(seq + 1);
    }

    /// CompIDs and SendingTime. On failure the session has already answered.
    fn verify_identity_and_time(
        &mut self,
        now: UtcTimestamp,
        msg: &Message<'_>,
        header_end: usize,
        seq: u64,
    ) -> bool {
        let sender = header_field(msg, header_end, 49);
        if sender != Some(self.cfg.target_comp_id.as_bytes())
            || header_field(msg, header_end, 56) != Some(self.cfg.sender_comp_id.as_bytes())
        {
            let tag = if sender != Some(self.cfg.target_comp_id.as_bytes()) {
                49
            } else {
                56
            };
            let _ = self.reject(
                now,
                seq,
                msg.msg_type(),
                Violation {
                    reason: 9,
                    ref_tag: Some(tag),
                    text: "CompID problem",
                },
            );
            let _ = self.logout(now, None);
            self.disconnect(DisconnectReason::CompIdProblem);
            return false;
        }
        if let Some(skew) = self.cfg.max_clock_skew_s {
            let bad = match msg.timestamp(52) {
                Ok(t) => (t.nanos - now.nanos).abs() > i64::from(skew) * NANOS_PER_SEC,
                Err(_) => true,
            };
            if bad {
                let _ = self.reject(
                    now,
                    seq,
                    msg.msg_type(),
                    Violation {
                        reason: 10,
                        ref_tag: None,
                        text: "SendingTime accuracy problem",
                    },
                );
                if seq == self.journal.next_target_seq() {
                    self.journal.set_next_target_seq(seq + 1);
                }
                let _ = self.send_logout(now, None);
                return false;
            }
        }
        true
    }

    /// Field order and, when [`Config::validate`] is on, the dictionary. `Ok` holds the index of
    /// the first body field (the end of the header). `passed` skips the order check with the
    /// header end it had for the previous message of the same tag layout.
    fn check_message(&self, msg: &Message<'_>, passed: Option<usize>) -> Result<usize, Violation> {
        let header_end = match passed {
            Some(end) => end,
            None => header_end(msg.fields())?,
        };
        if self.cfg.validate {
            if let Some(v) = self.validator {
                v(msg)?;
            }
        }
        Ok(header_end)
    }

    fn on_logon_expected(&mut self, now: UtcTimestamp, msg: &Message<'_>, seq: u64) {
        let ty = msg.msg_type();
        if self.cfg.role == Role::Initiator && ty == b"5" {
            self.disconnect(DisconnectReason::LogonRejected);
            return;
        }
        if ty != b"A"
            || msg.field(49) != Some(self.cfg.target_comp_id.as_bytes())
            || msg.field(56) != Some(self.cfg.sender_comp_id.as_bytes())
        {
            self.disconnect(if ty == b"A" {
                DisconnectReason::CompIdProblem
            } else {
                DisconnectReason::BadLogon
            });
            return;
        }
        let hb = match msg.uint(108) {
            Ok(h) if h <= 86_400 => h as u32,
            _ => {
                self.disconnect(DisconnectReason::BadLogon);
                return;
            }
        };
        let reset = matches!(msg.boolean_or(141, false), Ok(true));
        if self.cfg.role == Role::Acceptor {
            if reset || self.cfg.reset_on_logon {
                self.journal.reset();
            }
            self.heartbeat_s = hb;
            let _ = self.send_admin(now, b"A", |_, e| {
                e.uint(98, 0).uint(108, u64::from(hb));
                if reset {
                    e.boolean(141, true);
                }
            });
        } else if reset {
            self.journal.set_next_target_seq(1);
        }
        self.state = State::Active;
        self.deadline_ns = None;
        self.push_event(Event::LoggedOn {
            reset,
            heartbeat_interval_s: self.heartbeat_s,
        });
        let expected = self.journal.next_target_seq();
        if seq > expected {
            let _ = self.resend_request(now, expected, seq);
            self.push_event(Event::GapDetected {
                expected,
                received: seq,
            });
        } else if seq < expected {
            let text = too_low_text(expected, seq);
            let _ = self.logout(now, Some(text.as_bytes()));
            self.disconnect(DisconnectReason::SeqTooLow {
                expected,
                received: seq,
            });
        } else {
            self.journal.set_next_target_seq(seq + 1);
        }
    }

    fn on_logout(&mut self, now: UtcTimestamp, _msg: &Message<'_>, seq: u64) {
        if seq == self.journal.next_target_seq() {
            self.journal.set_next_target_seq(seq + 1);
        }
        if self.state != State::LogoutSent {
            let _ = self.logout(now, None);
        }
        self.disconnect(DisconnectReason::LoggedOut);
    }

    fn on_sequence_reset(
        &mut self,
        now: UtcTimestamp,
        msg: &Message<'_>,
        seq: u64,
        gap_fill: bool,
    ) {
        let expected = self.journal.next_target_seq();
        let Ok(new_seq) = msg.uint(36) else {
            let _ = self.reject(
                now,
                seq,
                b"4",
                Violation {
                    reason: 1,
                    ref_tag: Some(36),
                    text: "Required tag missing",
                },
            );
            return;
        };
        if new_seq > expected {
            self.journal.set_next_target_seq(new_seq);
            self.queue.discard_through(new_seq - 1);
        } else if new_seq < expected || (gap_fill && new_seq == expected && seq < expected) {
            let _ = self.reject(
                now,
                seq,
                b"4",
                Violation {
                    reason: 5,
                    ref_tag: None,
                    text: "Value is incorrect (out of range) for this tag",
                },
            );
        } else if gap_fill {
            self.journal.set_next_target_seq(new_seq);
        }
    }

    fn on_too_high(&mut self, now: UtcTimestamp, bytes: &[u8], seq: u64, already_processed: bool) {
        let expected = self.journal.next_target_seq();
        if !already_processed {
            self.queue.push(seq, bytes);
        }
        let outstanding = matches!(self.resend_range, Some((begin, _)) if seq >= begin);
        if !outstanding {
            let _ = self.resend_request(now, expected, seq);
            self.push_event(Event::GapDetected {
                expected,
                received: seq,
            });
        }
    }

    fn on_too_low(&mut self, now: UtcTimestamp, msg: &Message<'_>, header: &Header, expected: u64) {
        if header.poss_dup {
            match (msg.timestamp(122), msg.timestamp(52)) {
                (Err(_), _) if msg.msg_type() != b"4" => {
                    let _ = self.reject(
                        now,
                        header.seq,
                        msg.msg_type(),
                        Violation {
                            reason: 1,
                            ref_tag: Some(122),
                            text: "Required tag missing",
                        },
                    );
                }
                (Ok(orig), Ok(sent)) if orig > sent => {
                    let _ = self.reject(
                        now,
                        header.seq,
                        msg.msg_type(),
                        Violation {
                            reason: 10,
                            ref_tag: None,
                            text: "SendingTime accuracy problem",
                        },
                    );
                    let _ = self.send_logout(now, None);
                }
                _ => {}
            }
            return;
        }
        let text = too_low_text(expected, header.seq);
        let _ = self.logout(now, Some(text.as_bytes()));
        self.disconnect(DisconnectReason::SeqTooLow {
            expected,
            received: header.seq,
        });
    }

    fn on_resend_request(&mut self, now: UtcTimestamp, msg: &Message<'_>) {
        let (Ok(begin), Ok(end)) = (msg.uint(7), msg.uint(16)) else {
            let tag = if msg.uint(7).is_err() { 7 } else { 16 };
            let seq = msg.uint(34).unwrap_or(0);
            let _ = self.reject(
                now,
                seq,
                b"2",
                Violation {
                    reason: 1,
                    ref_tag: Some(tag),
                    text: "Required tag missing",
                },
            );
            return;
        };
        let last = self.journal.next_sender_seq().saturating_sub(1);
        let end = if end == 0 || end > last { last } else { end };
        self.push_event(Event::ResendRequested { begin, end });
        if begin == 0 || begin > end {
            return;
        }
        if self.cfg.resend_policy == ResendPolicy::GapFillAll
            && (begin..=end).any(|seq| self.journal.sent(seq).is_some())
        {
            self.push_event(Event::ApplicationGapFilled { begin, end });
        }
        let mut gap_start: Option<u64> = None;
        for seq in begin..=end {
            let replay = self.cfg.resend_policy == ResendPolicy::ReplayApplication
                && self.journal.sent(seq).is_some();
            if replay {
                if let Some(g) = gap_start.take() {
                    self.gap_fill(now, g, seq);
                }
                self.replay(now, seq);
            } else if gap_start.is_none() {
                gap_start = Some(seq);
            }
        }
        if let Some(g) = gap_start {
            self.gap_fill(now, g, end + 1);
        }
    }

    fn gap_fill(&mut self, now: UtcTimestamp, seq: u64, new_seq: u64) {
        let mut orig = [0u8; crate::time::MILLIS_LEN];
        now.write_millis(&mut orig);
        let space = self.tx.space(512);
        let mut e = Encoder::new(space);
        write_resend_header(&self.cfg, &mut e, b"4", seq, now, &orig);
        match self.cfg.header_order {
            HeaderOrder::QuickFix => e.uint(36, new_seq).boolean(123, true),
            HeaderOrder::Kraken => e.boolean(123, true).uint(36, new_seq),
        };
        if let Ok(n) = e.finish() {
            self.tx.commit(n);
            self.last_sent_ns = now.nanos;
            self.stats.sent += 1;
        }
    }

    /// Re-sends stored message `seq` with PossDupFlag=Y, OrigSendingTime, a new SendingTime.
    fn replay(&mut self, now: UtcTimestamp, seq: u64) {
        let Some(stored) = self.journal.sent(seq) else {
            return;
        };
        let mut index = FieldIndex::<MAX_FIELDS>::new();
        let Ok(orig) = Message::parse(stored, &mut index) else {
            return;
        };
        let orig_time = orig.field(52).unwrap_or(b"");
        let mut e = Encoder::new(self.tx.space(stored.len() + 128));
        write_resend_header(&self.cfg, &mut e, orig.msg_type(), seq, now, orig_time);
        for f in orig.fields() {
            if !matches!(f.tag, 8 | 9 | 10 | 35 | 34 | 43 | 49 | 52 | 56 | 122) {
                e.field(f.tag, orig.value(*f));
            }
        }
        if let Ok(n) = e.finish() {
            self.tx.commit(n);
            self.last_sent_ns = now.nanos;
            self.stats.resent += 1;
        }
    }
}

/// Starts a message with the standard header in the configured order.
fn write_header(cfg: &Config, e: &mut Encoder<'_>, msg_type: &[u8], seq: u64, now: UtcTimestamp) {
    e.begin(cfg.begin_string.as_bytes(), msg_type);
    e.uint(34, seq);
    match cfg.header_order {
        HeaderOrder::Kraken => {
            e.field(49, cfg.sender_comp_id.as_bytes())
                .field(56, cfg.target_comp_id.as_bytes())
                .timestamp(52, now);
        }
        HeaderOrder::QuickFix => {
            e.field(49, cfg.sender_comp_id.as_bytes())
                .timestamp(52, now)
                .field(56, cfg.target_comp_id.as_bytes());
        }
    }
}

/// The header of a retransmission: PossDupFlag=Y and OrigSendingTime `orig` beside the standard
/// fields, in the configured order (QuickFIX sorts by tag; Kraken's examples put 43/122 last).
fn write_resend_header(
    cfg: &Config,
    e: &mut Encoder<'_>,
    msg_type: &[u8],
    seq: u64,
    now: UtcTimestamp,
    orig: &[u8],
) {
    e.begin(cfg.begin_string.as_bytes(), msg_type);
    e.uint(34, seq);
    match cfg.header_order {
        HeaderOrder::QuickFix => {
            e.boolean(43, true)
                .field(49, cfg.sender_comp_id.as_bytes())
                .timestamp(52, now)
                .field(56, cfg.target_comp_id.as_bytes())
                .field(122, orig);
        }
        HeaderOrder::Kraken => {
            e.field(49, cfg.sender_comp_id.as_bytes())
                .field(56, cfg.target_comp_id.as_bytes())
                .timestamp(52, now)
                .boolean(43, true)
                .field(122, orig);
        }
    }
}

/// Routing header fields of an inbound message, reversed for the answer (OnBehalfOf ↔
/// DeliverTo), as QuickFIX does on Rejects.
#[derive(Default)]
struct Route {
    fields: [(u32, [u8; 32], u8); 6],
    len: usize,
}

impl Route {
    fn reversed(msg: &Message<'_>) -> Route {
        const PAIRS: [(u32, u32); 6] = [
            (115, 128),
            (128, 115),
            (116, 129),
            (129, 116),
            (144, 145),
            (145, 144),
        ];
        let mut r = Route::default();
        for (from, to) in PAIRS {
            if let Some(v) = msg.field(from).filter(|v| !v.is_empty()) {
                let n = v.len().min(32);
                let mut buf = [0u8; 32];
                buf[..n].copy_from_slice(&v[..n]);
                r.fields[r.len] = (to, buf, n as u8);
                r.len += 1;
            }
        }
        r.fields[..r.len].sort_by_key(|f| f.0);
        r
    }

    fn write(&self, e: &mut Encoder<'_>) {
        for (tag, buf, n) in &self.fields[..self.len] {
            e.field(*tag, &buf[..usize::from(*n)]);
        }
    }
}

fn too_low_text(expected: u64, received: u64) -> TooLowText {
    let mut t = TooLowText {
        buf: [0; 96],
        len: 0,
    };
    let mut put = |s: &[u8]| {
        let n = s.len().min(96 - t.len);
        t.buf[t.len..t.len + n].copy_from_slice(&s[..n]);
        t.len += n;
    };
    let mut num = [0u8; 20];
    put(b"MsgSeqNum too low, expecting ");
    let n = crate::encode::write_u64(&mut num, expected).unwrap_or(0);
    put(&num[..n]);
    put(b" but received ");
    let n = crate::encode::write_u64(&mut num, received).unwrap_or(0);
    put(&num[..n]);
    t
}

struct TooLowText {
    buf: [u8; 96],
    len: usize,
}

impl TooLowText {
    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}
