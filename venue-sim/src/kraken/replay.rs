//! Tick replay: the market the venue publishes, driven by recorded events instead of the
//! synthetic random walk ([`super::MarketConfig`]). Every event becomes a request to the same
//! matching engine the clients trade on, so the book, the trades and the L2 and L3 market data
//! they cause are engine output exactly as for the synthetic market, and clients' orders meet
//! the replayed liquidity.
//!
//! # Format
//!
//! A UTF-8 text file with one JSON object per line (JSON Lines). Empty lines and lines whose
//! first non-blank character is `#` are skipped. Fields:
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `ts` | integer | event time, nanoseconds since the Unix epoch; never decreasing |
//! | `symbol` | string | a Spot symbol the venue lists, e.g. `"BTC/USD"` |
//! | `kind` | `"add"`, `"cancel"` or `"trade"` | see below |
//! | `id` | string | `add`, `cancel`: the recording's order id (any text, ≤ 64 bytes) |
//! | `side` | `"buy"` or `"sell"` | `add`: the order's side; `trade`: the aggressor's side |
//! | `price` | decimal string | `add`: limit price; `trade`: the taker's limit |
//! | `qty` | decimal string | `add`: order quantity; `trade`: quantity taken |
//!
//! Prices and quantities are decimal strings (`"84000.5"`, `"0.0125"`), never JSON numbers,
//! so nothing passes through binary floating point; they must be positive and fit the
//! instrument's precisions. Unknown fields, and fields that do not belong to the kind, are
//! errors.
//!
//! - `add`: a resting GTC limit order (it trades first if it crosses the book).
//! - `cancel`: cancels the order `id` added earlier in the file (nothing happens if it already
//!   left the book, e.g. filled by a client).
//! - `trade`: a recorded trade, reproduced as an immediate-or-cancel limit order of the
//!   aggressor's side at `price` for `qty`: it takes what rests at that price or better —
//!   replayed orders or clients' — and the rest is cancelled.
//!
//! ```text
//! {"ts":1775572325000000000,"symbol":"BTC/USD","kind":"add","id":"b1","side":"buy","price":"84000.0","qty":"0.5"}
//! {"ts":1775572325300000000,"symbol":"BTC/USD","kind":"trade","side":"sell","price":"84000.0","qty":"0.2"}
//! {"ts":1775572325400000000,"symbol":"BTC/USD","kind":"cancel","id":"b1"}
//! ```
//!
//! `venue-sim/examples/replay-btcusd.jsonl` is a small example. [`Tape::parse`] and
//! [`Tape::load`] check every line and stop at the first bad one with a [`ReplayError`] that
//! names its line number; they never panic on any input.
//!
//! # Pace
//!
//! [`Speed::Paced`]`(x)`: event *i* is sent `(tsᵢ − ts₀) / x` after the venue starts (1.0 is
//! the recorded pace); [`Speed::Max`]: as fast as possible. Either way at most `burst` events
//! go to the engine per [`super::Venue::handle_timeout`] call. With `looping` the tape starts
//! over after its last event, first cancelling what is left of its orders. The events are
//! sent by two participants with unlimited rate limits — a maker for `add`/`cancel` and a taker
//! for `trade`, so a replayed trade never meets self-trade prevention against replayed orders.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use tickwire_fix::decimal::Decimal;
use tickwire_fix::time::UtcTimestamp;

use crate::engine::{
    AccountId, CancelRequest, Engine, ExecReport, ExecType, InstrumentId, NewOrder, OrderId,
    SessionId, Side, TimeInForce,
};

/// Longest line accepted.
pub const MAX_LINE: usize = 4096;
/// Longest recording order id.
pub const MAX_ID: usize = 64;

/// What is wrong with one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineError {
    /// Not UTF-8.
    NotUtf8,
    /// Longer than [`MAX_LINE`].
    TooLong,
    /// Not a JSON object of this format (the JSON parser's message: syntax, an unknown field
    /// or kind, a number where a string belongs, …).
    Json(String),
    /// A field this kind needs is absent.
    Missing(&'static str),
    /// A field that does not belong to this kind.
    Unexpected(&'static str),
    /// Not a decimal number.
    Decimal {
        /// `price` or `qty`.
        field: &'static str,
        /// As written.
        value: String,
    },
    /// Zero or negative.
    NotPositive(&'static str),
    /// `ts` is before the previous event's.
    TimeBackwards {
        /// The previous event's `ts`.
        previous: i64,
        /// This line's.
        ts: i64,
    },
    /// `cancel` of an id no earlier `add` used.
    UnknownId(String),
    /// An empty or over-long `id` or `symbol`.
    BadText(&'static str),
}

impl core::fmt::Display for LineError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NotUtf8 => f.write_str("not UTF-8"),
            Self::TooLong => write!(f, "longer than {MAX_LINE} bytes"),
            Self::Json(e) => write!(f, "not a replay event: {e}"),
            Self::Missing(field) => write!(f, "missing field `{field}` for this kind"),
            Self::Unexpected(field) => write!(f, "field `{field}` does not belong to this kind"),
            Self::Decimal { field, value } => {
                write!(f, "`{field}` {value:?} is not a decimal number")
            }
            Self::NotPositive(field) => write!(f, "`{field}` must be positive"),
            Self::TimeBackwards { previous, ts } => {
                write!(f, "`ts` {ts} is before the previous event's {previous}")
            }
            Self::UnknownId(id) => write!(f, "cancel of order {id:?} that no earlier add placed"),
            Self::BadText(field) => write!(f, "`{field}` is empty or longer than {MAX_ID} bytes"),
        }
    }
}

/// Why a tape could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplayError {
    /// The file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        message: String,
    },
    /// A line is malformed (line numbers start at 1).
    Line {
        /// Line number.
        line: usize,
        /// What is wrong.
        error: LineError,
    },
    /// No event in the file.
    Empty,
}

impl core::fmt::Display for ReplayError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Io { path, message } => write!(f, "{}: {message}", path.display()),
            Self::Line { line, error } => write!(f, "line {line}: {error}"),
            Self::Empty => f.write_str("no events"),
        }
    }
}

impl std::error::Error for ReplayError {}

/// What one event does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TickKind {
    /// A resting limit order.
    Add {
        /// The recording's order id.
        id: String,
        /// Bid or offer.
        side: Side,
        /// Limit price.
        price: Decimal,
        /// Quantity.
        qty: Decimal,
    },
    /// Cancels an earlier `Add`.
    Cancel {
        /// The recording's order id.
        id: String,
    },
    /// A trade: an IOC order of the aggressor's side.
    Trade {
        /// Aggressor side.
        side: Side,
        /// The taker's limit.
        price: Decimal,
        /// Quantity taken.
        qty: Decimal,
    },
}

/// One recorded event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tick {
    /// Line number in the file.
    pub line: usize,
    /// Event time, ns since the epoch.
    pub ts: i64,
    /// Symbol.
    pub symbol: String,
    /// What happens.
    pub kind: TickKind,
}

/// A loaded recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tape {
    ticks: Vec<Tick>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    ts: i64,
    symbol: String,
    kind: RawKind,
    id: Option<String>,
    side: Option<RawSide>,
    price: Option<String>,
    qty: Option<String>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum RawKind {
    Add,
    Cancel,
    Trade,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum RawSide {
    Buy,
    Sell,
}

fn positive(field: &'static str, text: Option<String>) -> Result<Decimal, LineError> {
    let text = text.ok_or(LineError::Missing(field))?;
    let d =
        Decimal::parse(text.as_bytes()).map_err(|_| LineError::Decimal { field, value: text })?;
    if d <= Decimal::ZERO {
        return Err(LineError::NotPositive(field));
    }
    Ok(d)
}

fn text(field: &'static str, s: String) -> Result<String, LineError> {
    if s.is_empty() || s.len() > MAX_ID {
        return Err(LineError::BadText(field));
    }
    Ok(s)
}

fn side(s: Option<RawSide>) -> Result<Side, LineError> {
    match s.ok_or(LineError::Missing("side"))? {
        RawSide::Buy => Ok(Side::Buy),
        RawSide::Sell => Ok(Side::Sell),
    }
}

fn parse_line(line: &str) -> Result<Tick, LineError> {
    let raw: Raw = serde_json::from_str(line).map_err(|e| {
        // The parser counts lines within this one line: keep only its column.
        let mut text = e.to_string();
        if let Some(i) = text.rfind(" at line ") {
            text.truncate(i);
        }
        LineError::Json(format!("{text} (column {})", e.column()))
    })?;
    let symbol = text("symbol", raw.symbol)?;
    let kind = match raw.kind {
        RawKind::Add => TickKind::Add {
            id: text("id", raw.id.ok_or(LineError::Missing("id"))?)?,
            side: side(raw.side)?,
            price: positive("price", raw.price)?,
            qty: positive("qty", raw.qty)?,
        },
        RawKind::Cancel => {
            for (present, field) in [
                (raw.side.is_some(), "side"),
                (raw.price.is_some(), "price"),
                (raw.qty.is_some(), "qty"),
            ] {
                if present {
                    return Err(LineError::Unexpected(field));
                }
            }
            TickKind::Cancel {
                id: text("id", raw.id.ok_or(LineError::Missing("id"))?)?,
            }
        }
        RawKind::Trade => {
            if raw.id.is_some() {
                return Err(LineError::Unexpected("id"));
            }
            TickKind::Trade {
                side: side(raw.side)?,
                price: positive("price", raw.price)?,
                qty: positive("qty", raw.qty)?,
            }
        }
    };
    Ok(Tick {
        line: 0,
        ts: raw.ts,
        symbol,
        kind,
    })
}

impl Tape {
    /// Parses a recording (see the module documentation for the format).
    ///
    /// # Errors
    /// The first bad line as [`ReplayError::Line`]; [`ReplayError::Empty`] without events.
    pub fn parse(bytes: &[u8]) -> Result<Tape, ReplayError> {
        let mut ticks = Vec::new();
        let mut added: std::collections::HashSet<(String, String)> = Default::default();
        for (k, raw) in bytes.split(|&b| b == b'\n').enumerate() {
            let line = k + 1;
            let err = |error| ReplayError::Line { line, error };
            if raw.len() > MAX_LINE {
                return Err(err(LineError::TooLong));
            }
            let s = core::str::from_utf8(raw).map_err(|_| err(LineError::NotUtf8))?;
            let s = s.trim();
            if s.is_empty() || s.starts_with('#') {
                continue;
            }
            let mut tick = parse_line(s).map_err(err)?;
            tick.line = line;
            if let Some(prev) = ticks.last().map(|t: &Tick| t.ts) {
                if tick.ts < prev {
                    return Err(err(LineError::TimeBackwards {
                        previous: prev,
                        ts: tick.ts,
                    }));
                }
            }
            match &tick.kind {
                TickKind::Add { id, .. } => {
                    added.insert((tick.symbol.clone(), id.clone()));
                }
                TickKind::Cancel { id } => {
                    if !added.contains(&(tick.symbol.clone(), id.clone())) {
                        return Err(err(LineError::UnknownId(id.clone())));
                    }
                }
                TickKind::Trade { .. } => {}
            }
            ticks.push(tick);
        }
        if ticks.is_empty() {
            return Err(ReplayError::Empty);
        }
        Ok(Tape { ticks })
    }

    /// Reads and parses a recording file.
    ///
    /// # Errors
    /// [`ReplayError::Io`] if it cannot be read, else as [`Tape::parse`].
    pub fn load(path: &Path) -> Result<Tape, ReplayError> {
        let bytes = std::fs::read(path).map_err(|e| ReplayError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Tape::parse(&bytes)
    }

    /// The events in file order.
    pub fn ticks(&self) -> &[Tick] {
        &self.ticks
    }
}

/// How fast the tape plays.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    /// A multiple of the recorded pace (1.0: as recorded, 10.0: ten times faster).
    Paced(f64),
    /// As fast as the venue takes them (`burst` per loop iteration).
    Max,
}

impl Speed {
    /// `max` or a positive number (`1`, `0.5`, `20`).
    ///
    /// # Errors
    /// A message for anything else.
    pub fn parse(text: &str) -> Result<Speed, String> {
        if text == "max" {
            return Ok(Speed::Max);
        }
        match text.parse::<f64>() {
            Ok(x) if x.is_finite() && x > 0.0 => Ok(Speed::Paced(x)),
            _ => Err(format!(
                "replay speed {text:?}: a positive number (1 = recorded pace) or `max`"
            )),
        }
    }
}

/// A replay the venue runs instead of the synthetic market.
#[derive(Debug, Clone)]
pub struct ReplayConfig {
    /// The recording.
    pub tape: Tape,
    /// Pace.
    pub speed: Speed,
    /// Start over after the last event.
    pub looping: bool,
    /// Most events per `handle_timeout` call.
    pub burst: u32,
}

impl ReplayConfig {
    /// At the recorded pace, once, 1024 events per call at most.
    pub fn new(tape: Tape) -> ReplayConfig {
        ReplayConfig {
            tape,
            speed: Speed::Paced(1.0),
            looping: false,
            burst: 1024,
        }
    }
}

#[derive(Debug)]
struct Step {
    symbol: String,
    /// Offset from the cycle start, wall-clock ns (speed applied).
    at_ns: i64,
    kind: TickKind,
}

/// The market the venue runs beside its clients: the synthetic random walk or a replay.
#[derive(Debug)]
pub(crate) enum Feed {
    /// [`super::MarketConfig`].
    Synthetic(super::market::Sim),
    /// [`ReplayConfig`].
    Replay(Player),
}

impl Feed {
    /// True for the feed's engine sessions.
    pub(crate) fn owns(&self, session: SessionId) -> bool {
        match self {
            Feed::Synthetic(s) => s.owns(session),
            Feed::Replay(p) => p.owns(session),
        }
    }

    /// Requests due at `now`.
    pub(crate) fn due(&mut self, now: UtcTimestamp) -> u64 {
        match self {
            Feed::Synthetic(s) => s.due(now),
            Feed::Replay(p) => p.due(now),
        }
    }

    /// One request (or a replay event).
    pub(crate) fn act(&mut self, engine: &mut Engine, now: UtcTimestamp) {
        match self {
            Feed::Synthetic(s) => s.act(engine, now),
            Feed::Replay(p) => p.act(engine, now),
        }
    }

    /// A report for one of the feed's sessions.
    pub(crate) fn on_report(&mut self, r: &ExecReport) {
        match self {
            Feed::Synthetic(s) => s.on_report(r),
            Feed::Replay(p) => p.on_report(r),
        }
    }
}

/// The replaying participants' state.
#[derive(Debug)]
pub(crate) struct Player {
    steps: Vec<Step>,
    cursor: usize,
    looping: bool,
    max: bool,
    burst: u64,
    cycle_start_ns: i64,
    maker: (AccountId, SessionId),
    taker: (AccountId, SessionId),
    next_cl: u64,
    since_reset: u64,
    /// ClOrdID → recording id, until the engine acknowledges the add.
    pending: HashMap<u64, String>,
    /// Recording id → the engine's order, while it rests.
    live: HashMap<String, (OrderId, InstrumentId, Side)>,
    by_order: HashMap<OrderId, String>,
    restart: bool,
}

impl Player {
    /// Opens the two participants' sessions and checks every symbol and precision against the
    /// engine.
    pub(crate) fn new(
        cfg: &ReplayConfig,
        engine: &mut Engine,
        now: UtcTimestamp,
    ) -> Result<Player, String> {
        let mut open = || engine.add_participant().map_err(|e| e.to_string());
        let (maker, taker) = (open()?, open()?);
        let ticks = cfg.tape.ticks();
        let t0 = ticks.first().map_or(0, |t| t.ts);
        let mut steps = Vec::with_capacity(ticks.len());
        for t in ticks {
            let at = |m: &str| format!("replay line {}: {m}", t.line);
            let instrument = engine
                .instrument_id(t.symbol.as_bytes())
                .ok_or_else(|| at(&format!("unknown symbol {:?}", t.symbol)))?;
            let spec = engine
                .instrument(instrument)
                .ok_or_else(|| at("no instrument"))?;
            if let TickKind::Add { price, qty, .. } | TickKind::Trade { price, qty, .. } = &t.kind {
                if price.to_scaled(spec.price_precision).is_err() {
                    return Err(at(&format!(
                        "price {price} has more than {}'s {} decimals",
                        t.symbol, spec.price_precision
                    )));
                }
                if qty.to_scaled(spec.qty_precision).is_err() {
                    return Err(at(&format!(
                        "qty {qty} has more than {}'s {} decimals",
                        t.symbol, spec.qty_precision
                    )));
                }
            }
            let delta = t.ts.saturating_sub(t0);
            let at_ns = match cfg.speed {
                Speed::Max => 0,
                Speed::Paced(1.0) => delta,
                Speed::Paced(x) => (delta as f64 / x) as i64,
            };
            steps.push(Step {
                symbol: t.symbol.clone(),
                at_ns,
                kind: t.kind.clone(),
            });
        }
        Ok(Player {
            steps,
            cursor: 0,
            looping: cfg.looping,
            max: cfg.speed == Speed::Max,
            burst: u64::from(cfg.burst.max(1)),
            cycle_start_ns: now.nanos,
            maker,
            taker,
            next_cl: u64::try_from(now.nanos / 1000).unwrap_or(1).max(1),
            since_reset: 0,
            pending: HashMap::new(),
            live: HashMap::new(),
            by_order: HashMap::new(),
            restart: false,
        })
    }

    /// True for the participants' engine sessions.
    pub(crate) fn owns(&self, session: SessionId) -> bool {
        self.maker.1 == session || self.taker.1 == session
    }

    /// Events due at `now` (at most `burst`); starts the next cycle when looping.
    pub(crate) fn due(&mut self, now: UtcTimestamp) -> u64 {
        if self.cursor >= self.steps.len() {
            let last = self.steps.last().map_or(0, |s| s.at_ns);
            if !self.looping || self.steps.is_empty() || now.nanos < self.cycle_start_ns + last {
                return 0;
            }
            self.cursor = 0;
            self.cycle_start_ns = if self.max {
                now.nanos
            } else {
                self.cycle_start_ns + last
            };
            self.restart = true;
        }
        let elapsed = now.nanos.saturating_sub(self.cycle_start_ns);
        let due = self.steps[self.cursor..]
            .iter()
            .take(self.burst as usize)
            .take_while(|s| self.max || s.at_ns <= elapsed)
            .count() as u64;
        due.max(u64::from(self.restart))
    }

    fn cl_ord_id(&mut self, engine: &mut Engine, now: UtcTimestamp) -> u64 {
        self.since_reset += 1;
        if self.since_reset >= 60_000 {
            self.since_reset = 0;
            engine.reset_clordids(self.maker.0);
            engine.reset_clordids(self.taker.0);
        }
        let micros = u64::try_from(now.nanos / 1000).unwrap_or(0);
        self.next_cl = (self.next_cl + 1).max(micros);
        self.next_cl
    }

    /// Sends the next event (after a restart's cancels).
    pub(crate) fn act(&mut self, engine: &mut Engine, now: UtcTimestamp) {
        if self.restart {
            self.restart = false;
            let live: Vec<_> = self.live.values().copied().collect();
            for (order_id, instrument, side) in live {
                self.cancel(engine, order_id, instrument, side, now);
            }
            // Their reports arrive after this call: forget them now so the new cycle's ids
            // are free.
            self.pending.clear();
            self.live.clear();
            self.by_order.clear();
        }
        let Some(step) = self.steps.get(self.cursor) else {
            return;
        };
        self.cursor += 1;
        let (kind, symbol) = (step.kind.clone(), step.symbol.clone());
        match kind {
            TickKind::Add {
                id,
                side,
                price,
                qty,
            } => {
                if self.live.contains_key(&id) {
                    return;
                }
                let cl = self.cl_ord_id(engine, now);
                let text = cl.to_string();
                self.pending.insert(cl, id);
                let order = NewOrder::limit(text.as_bytes(), symbol.as_bytes(), side, qty, price);
                let _ = engine.handle_new_order(self.maker.1, &order, now);
            }
            TickKind::Cancel { id } => {
                if let Some(&(order_id, instrument, side)) = self.live.get(&id) {
                    self.cancel(engine, order_id, instrument, side, now);
                }
            }
            TickKind::Trade { side, price, qty } => {
                let cl = self.cl_ord_id(engine, now);
                let text = cl.to_string();
                let mut order =
                    NewOrder::limit(text.as_bytes(), symbol.as_bytes(), side, qty, price);
                order.tif = TimeInForce::ImmediateOrCancel;
                let _ = engine.handle_new_order(self.taker.1, &order, now);
            }
        }
    }

    fn cancel(
        &mut self,
        engine: &mut Engine,
        order_id: OrderId,
        instrument: InstrumentId,
        side: Side,
        now: UtcTimestamp,
    ) {
        let cl = self.cl_ord_id(engine, now).to_string();
        let Some(symbol) = engine.instrument(instrument).map(|s| s.symbol.clone()) else {
            return;
        };
        let _ = engine.handle_cancel(
            self.maker.1,
            &CancelRequest {
                cl_ord_id: cl.as_bytes(),
                order_id: Some(order_id.as_bytes()),
                orig_cl_ord_id: None,
                symbol: symbol.as_bytes(),
                side,
            },
            now,
        );
    }

    /// Tracks which replayed orders rest.
    pub(crate) fn on_report(&mut self, r: &ExecReport) {
        if r.session != self.maker.1 {
            return;
        }
        if r.exec_type == ExecType::New {
            let cl = core::str::from_utf8(r.cl_ord_id.as_bytes())
                .ok()
                .and_then(|s| s.parse::<u64>().ok());
            if let Some(id) = cl.and_then(|cl| self.pending.remove(&cl)) {
                self.by_order.insert(r.order_id, id.clone());
                self.live.insert(id, (r.order_id, r.instrument, r.side));
            }
        }
        if r.ord_status.is_terminal() {
            if let Some(id) = self.by_order.remove(&r.order_id) {
                self.live.remove(&id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line_err(text: &str) -> (usize, LineError) {
        match Tape::parse(text.as_bytes()) {
            Err(ReplayError::Line { line, error }) => (line, error),
            other => panic!("{other:?}"),
        }
    }

    const ADD: &str = r#"{"ts":10,"symbol":"BTC/USD","kind":"add","id":"a","side":"buy","price":"1.5","qty":"2"}"#;

    #[test]
    fn parses_every_kind_and_skips_comments() {
        let text = format!(
            "# header\n\n{ADD}\n{}\n{}\n",
            r#"{"ts":11,"symbol":"BTC/USD","kind":"trade","side":"sell","price":"1.5","qty":"0.5"}"#,
            r#"{"ts":11,"symbol":"BTC/USD","kind":"cancel","id":"a"}"#
        );
        let tape = Tape::parse(text.as_bytes()).expect("valid");
        let t = tape.ticks();
        assert_eq!(t.len(), 3);
        assert_eq!((t[0].line, t[1].line, t[2].line), (3, 4, 5));
        assert_eq!(
            t[0].kind,
            TickKind::Add {
                id: "a".into(),
                side: Side::Buy,
                price: Decimal::new(15, 1),
                qty: Decimal::new(2, 0)
            }
        );
        assert!(matches!(
            t[1].kind,
            TickKind::Trade {
                side: Side::Sell,
                ..
            }
        ));
        assert_eq!(t[2].kind, TickKind::Cancel { id: "a".into() });
    }

    #[test]
    fn bad_lines_are_named() {
        let bad = |l: &str| line_err(&format!("{ADD}\n{l}"));
        assert!(matches!(bad("{"), (2, LineError::Json(_))));
        let float = r#"{"ts":11,"symbol":"BTC/USD","kind":"add","id":"b","side":"buy","price":1.5,"qty":"2"}"#;
        assert!(matches!(bad(float), (2, LineError::Json(e)) if e.contains("string")));
        let nan = r#"{"ts":11,"symbol":"BTC/USD","kind":"add","id":"b","side":"buy","price":"1e3","qty":"2"}"#;
        assert!(matches!(
            bad(nan),
            (2, LineError::Decimal { field: "price", .. })
        ));
        let zero =
            r#"{"ts":11,"symbol":"BTC/USD","kind":"trade","side":"buy","price":"1","qty":"0"}"#;
        assert_eq!(bad(zero), (2, LineError::NotPositive("qty")));
        let back = r#"{"ts":9,"symbol":"BTC/USD","kind":"cancel","id":"a"}"#;
        assert_eq!(
            bad(back),
            (
                2,
                LineError::TimeBackwards {
                    previous: 10,
                    ts: 9
                }
            )
        );
        let unknown = r#"{"ts":11,"symbol":"BTC/USD","kind":"cancel","id":"zz"}"#;
        assert_eq!(bad(unknown), (2, LineError::UnknownId("zz".into())));
        let extra = r#"{"ts":11,"symbol":"BTC/USD","kind":"cancel","id":"a","qty":"1"}"#;
        assert_eq!(bad(extra), (2, LineError::Unexpected("qty")));
        let no_side = r#"{"ts":11,"symbol":"BTC/USD","kind":"trade","price":"1","qty":"1"}"#;
        assert_eq!(bad(no_side), (2, LineError::Missing("side")));
        let field = r#"{"ts":11,"symbol":"BTC/USD","kind":"trade","side":"buy","price":"1","qty":"1","x":1}"#;
        assert!(matches!(bad(field), (2, LineError::Json(e)) if e.contains("unknown field")));
        assert!(matches!(bad("\u{0}"), (2, LineError::Json(_))));
        assert_eq!(
            Tape::parse(b"\xff\n"),
            Err(ReplayError::Line {
                line: 1,
                error: LineError::NotUtf8
            })
        );
        assert_eq!(Tape::parse(b"# nothing\n\n"), Err(ReplayError::Empty));
        let msg = ReplayError::Line {
            line: 2,
            error: LineError::NotPositive("qty"),
        }
        .to_string();
        assert_eq!(msg, "line 2: `qty` must be positive");
    }

    #[test]
    fn speed_parses_multiples_and_max() {
        assert_eq!(Speed::parse("max"), Ok(Speed::Max));
        assert_eq!(Speed::parse("2.5"), Ok(Speed::Paced(2.5)));
        for bad in ["0", "-1", "inf", "NaN", "fast", ""] {
            assert!(Speed::parse(bad).is_err(), "{bad}");
        }
    }
}
