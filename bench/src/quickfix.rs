//! Baseline (c): an off-the-shelf FIX engine — QuickFIX C++ through the `quickfix` crate,
//! with its OpenSSL transport restricted to TLS 1.3 — reacting to the same ticks.
//!
//! QuickFIX is the initiator of both sessions (TESTCLIENT → KRAKEN-MD, TESTCLIENT →
//! KRAKEN-TRD) against the same minimal venue as every other row (tickwire-tls server, the
//! same feed, a fill per order) on kernel TCP over loopback. QuickFIX runs single-threaded
//! (`SSLSocketInitiator`, `Initiator::poll`), so one thread polls it and the venue, as baseline
//! (b) does. Its application callback (`fromApp`) gets each market-data message as QuickFIX
//! parsed and validated it (against a FIX 4.4 data dictionary of the messages exchanged,
//! written next to the settings), updates the same L2 book (the message's text, as QuickFIX
//! renders it, read by tickwire's parser), runs the same trigger table and risk check
//! ([`ArmedOrder::on_book_send`]) and, on a firing, builds the NewOrderSingle as a QuickFIX
//! `Message` (11, 55, 54, 40, 44, 38, 59, 60, as tickwire's template) and sends it with
//! `Session::sendToTarget` from inside the callback — what a QuickFIX user writes.
//!
//! Measured at the venue only (tick written to the socket → the `read` that returns the
//! order): QuickFIX does not expose when its `read` returned, so there is no "inside the
//! appliance" figure for this row.

use std::net::TcpListener;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use quickfix::{
    send_to_target, Application, ApplicationCallback, ConnectionHandler, FieldMap,
    FixSocketServerKind, Initiator, LogFactory, MemoryMessageStoreFactory, Message,
    MsgFromAppError, NullLogger, SessionContainer, SessionId, SessionSettings,
};
use tickwire_dataplane::clock::Clock;
use tickwire_fix::book::Book;
use tickwire_fix::decimal::Decimal;
use tickwire_fix::message::{FieldIndex, Message as FixView};
use tickwire_fix::time::UtcTimestamp;
use tickwire_fix::views::{ExecutionReport, MarketData, OrdStatus};

use crate::feed::{ArmedOrder, PRICE_SCALE, QTY_SCALE};
use crate::inmem::{Report, VenueEnd};
use crate::veth::KernelMinimal;

/// What the callback shares with the polling loop (one thread: QuickFIX calls back from
/// inside `poll`).
struct State {
    book: Book,
    armed: ArmedOrder,
    /// Market-data messages handled.
    ticks_seen: u64,
    orders: u64,
    fills: u64,
    logged_on: u32,
    sessions: Vec<SessionId>,
    trading: Option<SessionId>,
    error: Option<String>,
}

struct Callbacks {
    state: Mutex<State>,
    clock: Clock,
}

impl Callbacks {
    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        match self.state.lock() {
            Ok(mut s) => f(&mut s),
            Err(p) => f(&mut p.into_inner()),
        }
    }
}

/// Largest message (fields) the callback re-reads.
const FIELDS: usize = 64;

impl ApplicationCallback for Callbacks {
    fn on_logon(&self, session: &SessionId) {
        self.with(|s| {
            s.logged_on += 1;
            s.sessions.push(session.clone());
            if session.get_target_comp_id().as_deref() == Some("KRAKEN-TRD") {
                s.trading = Some(session.clone());
            }
        });
    }

    fn on_logout(&self, _session: &SessionId) {
        self.with(|s| {
            s.logged_on = s.logged_on.saturating_sub(1);
            if s.error.is_none() {
                s.error = Some("QuickFIX logged out".into());
            }
        });
    }

    fn on_msg_from_app(&self, msg: &Message, _session: &SessionId) -> Result<(), MsgFromAppError> {
        let now = self.clock.utc(self.clock.mono_ns());
        let Ok(text) = msg.to_fix_string() else {
            return Err(MsgFromAppError::IncorrectDataFormat);
        };
        let mut index = FieldIndex::<FIELDS>::new();
        let Ok(view) = FixView::parse(text.as_bytes(), &mut index) else {
            return Err(MsgFromAppError::IncorrectDataFormat);
        };
        self.with(|s| {
            match view.msg_type() {
                b"W" | b"X" => {
                    s.ticks_seen += 1;
                    let seq = view.uint(34).unwrap_or(0);
                    let applied = MarketData::new_checked(&view)
                        .map_err(|e| e.to_string())
                        .and_then(|md| s.book.apply_message(&md, seq).map_err(|e| e.to_string()));
                    if let Err(e) = applied {
                        s.error = Some(format!("market data: {e}"));
                        return Ok(());
                    }
                    let Some(trading) = s.trading.clone() else {
                        return Ok(());
                    };
                    let State { book, armed, .. } = s;
                    match armed.on_book_send(book, now, |id, price, qty| {
                        send_order(&trading, id, price, qty, now)
                    }) {
                        Ok(true) => s.orders += 1,
                        Ok(false) => {}
                        Err(e) => s.error = Some(e),
                    }
                }
                b"8" => {
                    if let Ok(er) = ExecutionReport::new_checked(&view) {
                        s.fills += u64::from(er.ord_status() == OrdStatus::Filled);
                        s.armed.on_execution(&er);
                    }
                }
                _ => return Err(MsgFromAppError::UnsupportedMessageType),
            }
            Ok(())
        })
    }
}

/// The NewOrderSingle, built field by field as a QuickFIX message and sent on `trading`.
fn send_order(
    trading: &SessionId,
    id: u64,
    price: i64,
    qty: i64,
    now: UtcTimestamp,
) -> Result<(), String> {
    let e = |e: quickfix::QuickFixError| e.to_string();
    let mut m = Message::new();
    m.with_header_mut(|h| h.set_field(35, "D")).map_err(e)?;
    let mut time = [0u8; tickwire_fix::time::MILLIS_LEN];
    now.write_millis(&mut time);
    m.set_field(11, id.to_string()).map_err(e)?;
    m.set_field(55, "BTC/USD").map_err(e)?;
    m.set_field(54, "1").map_err(e)?;
    m.set_field(40, "2").map_err(e)?;
    m.set_field(44, Decimal::new(price, PRICE_SCALE).to_string())
        .map_err(e)?;
    m.set_field(38, Decimal::new(qty, QTY_SCALE).normalize().to_string())
        .map_err(e)?;
    m.set_field(59, "3").map_err(e)?;
    m.set_field(60, String::from_utf8_lossy(&time).into_owned())
        .map_err(e)?;
    send_to_target(m, trading).map_err(e)
}

/// A FIX 4.4 data dictionary of what the sessions exchange (QuickFIX needs one to keep the
/// market-data repeating groups in order). Unknown tags are allowed by the settings.
const DICTIONARY: &str = r#"<fix type="FIX" major="4" minor="4" servicepack="0">
 <header>
  <field name="BeginString" required="Y"/>
  <field name="BodyLength" required="Y"/>
  <field name="MsgType" required="Y"/>
  <field name="SenderCompID" required="Y"/>
  <field name="TargetCompID" required="Y"/>
  <field name="MsgSeqNum" required="Y"/>
  <field name="PossDupFlag" required="N"/>
  <field name="PossResend" required="N"/>
  <field name="SendingTime" required="Y"/>
  <field name="OrigSendingTime" required="N"/>
 </header>
 <trailer>
  <field name="CheckSum" required="Y"/>
 </trailer>
 <messages>
  <message name="Heartbeat" msgtype="0" msgcat="admin">
   <field name="TestReqID" required="N"/>
  </message>
  <message name="TestRequest" msgtype="1" msgcat="admin">
   <field name="TestReqID" required="Y"/>
  </message>
  <message name="ResendRequest" msgtype="2" msgcat="admin">
   <field name="BeginSeqNo" required="Y"/>
   <field name="EndSeqNo" required="Y"/>
  </message>
  <message name="Reject" msgtype="3" msgcat="admin">
   <field name="RefSeqNum" required="Y"/>
   <field name="RefTagID" required="N"/>
   <field name="RefMsgType" required="N"/>
   <field name="SessionRejectReason" required="N"/>
   <field name="Text" required="N"/>
  </message>
  <message name="SequenceReset" msgtype="4" msgcat="admin">
   <field name="GapFillFlag" required="N"/>
   <field name="NewSeqNo" required="Y"/>
  </message>
  <message name="Logout" msgtype="5" msgcat="admin">
   <field name="Text" required="N"/>
  </message>
  <message name="Logon" msgtype="A" msgcat="admin">
   <field name="EncryptMethod" required="Y"/>
   <field name="HeartBtInt" required="Y"/>
   <field name="ResetSeqNumFlag" required="N"/>
  </message>
  <message name="MarketDataSnapshotFullRefresh" msgtype="W" msgcat="app">
   <field name="MDReqID" required="N"/>
   <field name="Symbol" required="N"/>
   <group name="NoMDEntries" required="Y">
    <field name="MDEntryType" required="Y"/>
    <field name="MDEntryPx" required="N"/>
    <field name="MDEntrySize" required="N"/>
   </group>
  </message>
  <message name="MarketDataIncrementalRefresh" msgtype="X" msgcat="app">
   <field name="MDReqID" required="N"/>
   <field name="Symbol" required="N"/>
   <group name="NoMDEntries" required="Y">
    <field name="MDUpdateAction" required="Y"/>
    <field name="MDEntryType" required="N"/>
    <field name="MDEntryPx" required="N"/>
    <field name="MDEntrySize" required="N"/>
   </group>
  </message>
  <message name="NewOrderSingle" msgtype="D" msgcat="app">
   <field name="ClOrdID" required="Y"/>
   <field name="Symbol" required="Y"/>
   <field name="Side" required="Y"/>
   <field name="OrdType" required="Y"/>
   <field name="Price" required="N"/>
   <field name="OrderQty" required="N"/>
   <field name="TimeInForce" required="N"/>
   <field name="TransactTime" required="Y"/>
  </message>
  <message name="ExecutionReport" msgtype="8" msgcat="app">
   <field name="OrderID" required="Y"/>
   <field name="ClOrdID" required="N"/>
   <field name="ExecID" required="Y"/>
   <field name="ExecType" required="Y"/>
   <field name="OrdStatus" required="Y"/>
   <field name="Symbol" required="N"/>
   <field name="Side" required="Y"/>
   <field name="LastPx" required="N"/>
   <field name="LastQty" required="N"/>
   <field name="LeavesQty" required="Y"/>
   <field name="CumQty" required="Y"/>
   <field name="AvgPx" required="Y"/>
   <field name="Text" required="N"/>
  </message>
 </messages>
 <components>
 </components>
 <fields>
  <field number="6" name="AvgPx" type="PRICE"/>
  <field number="7" name="BeginSeqNo" type="SEQNUM"/>
  <field number="8" name="BeginString" type="STRING"/>
  <field number="9" name="BodyLength" type="LENGTH"/>
  <field number="10" name="CheckSum" type="STRING"/>
  <field number="11" name="ClOrdID" type="STRING"/>
  <field number="14" name="CumQty" type="QTY"/>
  <field number="16" name="EndSeqNo" type="SEQNUM"/>
  <field number="17" name="ExecID" type="STRING"/>
  <field number="31" name="LastPx" type="PRICE"/>
  <field number="32" name="LastQty" type="QTY"/>
  <field number="34" name="MsgSeqNum" type="SEQNUM"/>
  <field number="35" name="MsgType" type="STRING"/>
  <field number="36" name="NewSeqNo" type="SEQNUM"/>
  <field number="37" name="OrderID" type="STRING"/>
  <field number="38" name="OrderQty" type="QTY"/>
  <field number="39" name="OrdStatus" type="CHAR"/>
  <field number="40" name="OrdType" type="CHAR"/>
  <field number="43" name="PossDupFlag" type="BOOLEAN"/>
  <field number="44" name="Price" type="PRICE"/>
  <field number="45" name="RefSeqNum" type="SEQNUM"/>
  <field number="49" name="SenderCompID" type="STRING"/>
  <field number="52" name="SendingTime" type="UTCTIMESTAMP"/>
  <field number="54" name="Side" type="CHAR"/>
  <field number="55" name="Symbol" type="STRING"/>
  <field number="56" name="TargetCompID" type="STRING"/>
  <field number="58" name="Text" type="STRING"/>
  <field number="59" name="TimeInForce" type="CHAR"/>
  <field number="60" name="TransactTime" type="UTCTIMESTAMP"/>
  <field number="97" name="PossResend" type="BOOLEAN"/>
  <field number="98" name="EncryptMethod" type="INT"/>
  <field number="108" name="HeartBtInt" type="INT"/>
  <field number="112" name="TestReqID" type="STRING"/>
  <field number="122" name="OrigSendingTime" type="UTCTIMESTAMP"/>
  <field number="123" name="GapFillFlag" type="BOOLEAN"/>
  <field number="141" name="ResetSeqNumFlag" type="BOOLEAN"/>
  <field number="150" name="ExecType" type="CHAR"/>
  <field number="151" name="LeavesQty" type="QTY"/>
  <field number="262" name="MDReqID" type="STRING"/>
  <field number="268" name="NoMDEntries" type="NUMINGROUP"/>
  <field number="269" name="MDEntryType" type="CHAR"/>
  <field number="270" name="MDEntryPx" type="PRICE"/>
  <field number="271" name="MDEntrySize" type="QTY"/>
  <field number="279" name="MDUpdateAction" type="CHAR"/>
  <field number="371" name="RefTagID" type="INT"/>
  <field number="372" name="RefMsgType" type="STRING"/>
  <field number="373" name="SessionRejectReason" type="INT"/>
 </fields>
</fix>
"#;

fn hist() -> Result<Histogram<u64>, String> {
    Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).map_err(|e| e.to_string())
}

/// A bound on set-up and on each tick (a hang guard, not a measurement).
const STALL: Duration = Duration::from_secs(10);

/// Runs baseline (c) for `ticks` ticks.
///
/// # Errors
/// A description of what failed (QuickFIX's own errors included).
pub fn run(ticks: u64) -> Result<Report, String> {
    crate::rss::reset_peak();
    let (clock, _) = Clock::calibrate(Duration::from_millis(20));
    let pki = crate::pki::generate("fix.venue.test")?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let listeners = (0..2)
        .map(|_| {
            let l = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
            l.set_nonblocking(true).map_err(|e| e.to_string())?;
            Ok(l)
        })
        .collect::<Result<Vec<_>, String>>()?;
    let port = |i: usize| {
        listeners[i]
            .local_addr()
            .map(|a| a.port())
            .map_err(|e| e.to_string())
    };
    let (md_port, trd_port) = (port(0)?, port(1)?);
    let file = |name: &str, text: &str| -> Result<String, String> {
        let p = dir.path().join(name);
        std::fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))?;
        Ok(p.display().to_string())
    };
    let ca = file("ca.pem", &pki.ca_pem)?;
    let dictionary = file("FIX44-tickwire.xml", DICTIONARY)?;
    let settings = file(
        "initiator.cfg",
        &format!(
            "[DEFAULT]\n\
             ConnectionType=initiator\n\
             BeginString=FIX.4.4\n\
             SenderCompID=TESTCLIENT\n\
             HeartBtInt=30\n\
             ReconnectInterval=1\n\
             StartTime=00:00:00\n\
             EndTime=00:00:00\n\
             ResetOnLogon=Y\n\
             UseDataDictionary=Y\n\
             DataDictionary={dictionary}\n\
             ValidateUserDefinedFields=N\n\
             AllowUnknownMsgFields=Y\n\
             SocketConnectHost=127.0.0.1\n\
             SocketNodelay=Y\n\
             SSLProtocol=TLSv1_3\n\
             CertificationAuthoritiesFile={ca}\n\
             \n\
             [SESSION]\n\
             TargetCompID=KRAKEN-MD\n\
             SocketConnectPort={md_port}\n\
             \n\
             [SESSION]\n\
             TargetCompID=KRAKEN-TRD\n\
             SocketConnectPort={trd_port}\n"
        ),
    )?;
    let mut venue = KernelMinimal::new(listeners, pki.server.clone(), clock);
    let callbacks = Callbacks {
        state: Mutex::new(State {
            book: Book::new(10, 1, 8),
            armed: ArmedOrder::new()?,
            ticks_seen: 0,
            orders: 0,
            fills: 0,
            logged_on: 0,
            sessions: Vec::new(),
            trading: None,
            error: None,
        }),
        clock,
    };
    let qe = |e: quickfix::QuickFixError| format!("QuickFIX: {e}");
    let settings = SessionSettings::try_from_path(&settings).map_err(qe)?;
    let store = MemoryMessageStoreFactory::new();
    let log = LogFactory::try_new(&NullLogger).map_err(qe)?;
    let app = Application::try_new(&callbacks).map_err(qe)?;
    let mut initiator = Initiator::try_new(
        &settings,
        &app,
        &store,
        &log,
        FixSocketServerKind::SslSingleThreaded,
    )
    .map_err(qe)?;
    let now = || clock.utc(clock.mono_ns());
    let failed = |cb: &Callbacks| cb.with(|s| s.error.take());

    // Connect, TLS 1.3 handshake, logon of both sessions.
    let deadline = Instant::now() + STALL;
    while !(callbacks.with(|s| s.logged_on == 2 && s.trading.is_some()) && venue.logged_on()) {
        if Instant::now() > deadline {
            return Err(format!(
                "QuickFIX did not log on within {} s ({} sessions up)",
                STALL.as_secs(),
                callbacks.with(|s| s.logged_on)
            ));
        }
        initiator.poll().map_err(qe)?;
        venue.setup_step(clock.mono_ns(), now())?;
        if let Some(e) = failed(&callbacks) {
            return Err(e);
        }
    }

    let mut at_venue = hist()?;
    let started = Instant::now();
    for tick in 1..=ticks {
        venue.prepare_tick(now())?;
        let v0 = clock.mono_ns();
        venue.send_tick(v0)?;
        let orders_before = callbacks.with(|s| s.orders);
        // QuickFIX reads, parses, validates and calls back; the callback sends the order.
        let deadline = Instant::now() + STALL;
        while callbacks.with(|s| s.ticks_seen) < tick {
            if Instant::now() > deadline {
                return Err(format!("tick {tick} did not reach QuickFIX's callback"));
            }
            initiator.poll().map_err(qe)?;
        }
        if let Some(e) = failed(&callbacks) {
            return Err(format!("tick {tick}: {e}"));
        }
        let fired = callbacks.with(|s| s.orders) > orders_before;
        // The venue: until the order's bytes are read (QuickFIX polled meanwhile, should its
        // write be queued), then the fill.
        let mut v1 = None;
        let deadline = Instant::now() + STALL;
        loop {
            venue.step(clock.mono_ns(), now(), false, &mut || {
                if v1.is_none() {
                    v1 = Some(clock.mono_ns());
                }
            })?;
            if !fired || v1.is_some() {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!("tick {tick}: the order did not reach the venue"));
            }
            initiator.poll().map_err(qe)?;
        }
        if let Some(v1) = v1.filter(|_| fired) {
            at_venue
                .record((v1 - v0).max(1) as u64)
                .map_err(|e| e.to_string())?;
        }
        initiator.poll().map_err(qe)?;
        if tick % 1024 == 0 {
            venue.timeout(now());
        }
    }
    // The last fills.
    let deadline = Instant::now() + Duration::from_secs(2);
    while callbacks.with(|s| s.fills < s.orders) && Instant::now() < deadline {
        venue.step(clock.mono_ns(), now(), false, &mut || {})?;
        initiator.poll().map_err(qe)?;
    }
    let elapsed = started.elapsed();
    // Log both sessions out while this thread still polls (QuickFIX's stop would otherwise
    // wait seconds for logouts nobody processes).
    for id in callbacks.with(|s| std::mem::take(&mut s.sessions)) {
        if let Ok(mut session) = initiator.session(id) {
            let _ = session.logout();
        }
    }
    let deadline = Instant::now() + Duration::from_secs(2);
    while callbacks.with(|s| s.logged_on > 0) && Instant::now() < deadline {
        initiator.poll().map_err(qe)?;
        let _ = venue.step(clock.mono_ns(), now(), false, &mut || {});
    }
    let _ = initiator.stop();
    let (orders, fills, refused) = callbacks.with(|s| (s.orders, s.fills, s.armed.refused()));
    Ok(Report {
        ticks,
        orders,
        fills,
        tick_to_trade: hist()?,
        at_venue,
        stages: None,
        elapsed,
        dropped_frames: 0,
        peak_rss_kib: crate::rss::peak_kib(),
        risk_refused: refused,
        venue_stats: None,
    })
}
