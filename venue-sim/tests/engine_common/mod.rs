//! Shared harness for the engine tests: a venue with BTC/USD (Spot) or PF_XBTUSD
//! (Derivatives), two accounts A and B, and a compact one-line rendering of every event so that
//! scenarios read as tables.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::HashMap;

use tickwire_fix::decimal::Decimal;
use tickwire_fix::kraken::comb_uuid;
use tickwire_fix::time::UtcTimestamp;
use tickwire_venue::engine::{
    AccountConfig, AmendRequest, CancelRequest, Config, Engine, Event, ExecInst, ExecReport,
    ExecType, InstrumentSpec, Liquidity, MassCancelRequest, MassCancelScope, NewOrder, OrdStatus,
    OrdType, RejectMessage, ReportText, SessionConfig, SessionId, Side, StatusRequest, StpMode,
    TimeInForce, TriggerRef,
};

pub const A: usize = 0;
pub const B: usize = 1;
/// A second session of account A.
pub const A2: usize = 2;

pub const T0: i64 = 1_775_572_325_000_000_000; // 2026-04-07 14:32:05 UTC

pub fn d(s: &str) -> Decimal {
    Decimal::parse(s.as_bytes()).expect("decimal literal")
}

/// An order to send, built fluently.
#[derive(Debug, Clone)]
pub struct Ord {
    pub side: Side,
    pub t: OrdType,
    pub qty: String,
    pub price: Option<String>,
    pub stop: Option<String>,
    pub tif: TimeInForce,
    pub ei: ExecInst,
    pub display: Option<String>,
    pub stp: Option<StpMode>,
    pub trigger_ref: TriggerRef,
    pub expire_ms: Option<i64>,
    pub effective_ms: Option<i64>,
    pub valid_ms: Option<i64>,
    pub leverage: bool,
    pub cl: Option<String>,
}

pub fn lim(side: Side, qty: &str, px: &str) -> Ord {
    Ord {
        side,
        t: OrdType::Limit,
        qty: qty.into(),
        price: Some(px.into()),
        stop: None,
        tif: TimeInForce::GoodTillCancel,
        ei: ExecInst::default(),
        display: None,
        stp: None,
        trigger_ref: TriggerRef::Last,
        expire_ms: None,
        effective_ms: None,
        valid_ms: None,
        leverage: false,
        cl: None,
    }
}

pub fn buy(qty: &str, px: &str) -> Ord {
    lim(Side::Buy, qty, px)
}

pub fn sell(qty: &str, px: &str) -> Ord {
    lim(Side::Sell, qty, px)
}

pub fn mkt(side: Side, qty: &str) -> Ord {
    Ord {
        t: OrdType::Market,
        price: None,
        ..lim(side, qty, "0")
    }
}

/// A trigger order: `price` only for the limit variants.
pub fn trig(side: Side, t: OrdType, qty: &str, stop: &str, price: Option<&str>) -> Ord {
    Ord {
        t,
        stop: Some(stop.into()),
        price: price.map(Into::into),
        ..lim(side, qty, "0")
    }
}

impl Ord {
    pub fn ioc(mut self) -> Self {
        self.tif = TimeInForce::ImmediateOrCancel;
        self
    }
    pub fn fok(mut self) -> Self {
        self.tif = TimeInForce::FillOrKill;
        self
    }
    pub fn gtd(mut self, ms: i64) -> Self {
        self.tif = TimeInForce::GoodTillDate;
        self.expire_ms = Some(ms);
        self
    }
    pub fn post(mut self) -> Self {
        self.ei.post_only = true;
        self
    }
    pub fn reduce(mut self) -> Self {
        self.ei.reduce_only = true;
        self
    }
    pub fn quote_qty(mut self) -> Self {
        self.ei.quote_qty = true;
        self
    }
    pub fn lev(mut self) -> Self {
        self.leverage = true;
        self
    }
    pub fn iceberg(mut self, display: &str) -> Self {
        self.display = Some(display.into());
        self
    }
    pub fn stp(mut self, m: StpMode) -> Self {
        self.stp = Some(m);
        self
    }
    pub fn index(mut self) -> Self {
        self.trigger_ref = TriggerRef::Index;
        self
    }
    pub fn effective(mut self, ms: i64) -> Self {
        self.effective_ms = Some(ms);
        self
    }
    pub fn valid(mut self, ms: i64) -> Self {
        self.valid_ms = Some(ms);
        self
    }
    pub fn cl(mut self, cl: &str) -> Self {
        self.cl = Some(cl.into());
        self
    }
}

/// Engine + accounts + sessions + a clock + labels for ClOrdIDs.
pub struct H {
    pub e: Engine,
    pub now_ms: i64,
    pub sessions: Vec<SessionId>,
    pub accounts: Vec<tickwire_venue::engine::AccountId>,
    pub symbol: &'static str,
    next_cl: u64,
    /// ClOrdID → label (`A1`, `B2`…).
    pub labels: HashMap<Vec<u8>, String>,
    counters: [u32; 2],
    /// OrderID of each order label.
    pub order_ids: HashMap<String, Vec<u8>>,
    /// Every report seen, in order.
    pub reports: Vec<ExecReport>,
}

impl H {
    pub fn spot() -> H {
        H::with(Config::spot(), AccountConfig::default())
    }

    pub fn derivatives() -> H {
        H::with(Config::derivatives(), AccountConfig::default())
    }

    pub fn with(cfg: Config, acct: AccountConfig) -> H {
        let deriv = cfg.venue == tickwire_venue::engine::Venue::Derivatives;
        let spec = if deriv {
            InstrumentSpec::pf_xbtusd()
        } else {
            InstrumentSpec::btc_usd()
        };
        H::with_spec(cfg, acct, spec)
    }

    pub fn with_spec(cfg: Config, acct: AccountConfig, spec: InstrumentSpec) -> H {
        let deriv = cfg.venue == tickwire_venue::engine::Venue::Derivatives;
        let symbol = if deriv { "PF_XBTUSD" } else { "BTC/USD" };
        let mut e = Engine::new(cfg, vec![spec]).expect("engine");
        let a = e.add_account(acct).expect("account A");
        let b = e.add_account(acct).expect("account B");
        let sa = e
            .open_session(a, SessionConfig::default())
            .expect("session");
        let sb = e
            .open_session(b, SessionConfig::default())
            .expect("session");
        let sa2 = e
            .open_session(a, SessionConfig::default())
            .expect("session");
        H {
            e,
            now_ms: 0,
            sessions: vec![sa, sb, sa2],
            accounts: vec![a, b],
            symbol,
            next_cl: 1_775_572_325_000_000,
            labels: HashMap::new(),
            counters: [0; 2],
            order_ids: HashMap::new(),
            reports: Vec::new(),
        }
    }

    pub fn now(&self) -> UtcTimestamp {
        UtcTimestamp::from_nanos(T0 + self.now_ms * 1_000_000)
    }

    pub fn at(&self, ms: i64) -> UtcTimestamp {
        UtcTimestamp::from_nanos(T0 + ms * 1_000_000)
    }

    pub fn advance(&mut self, ms: i64) {
        self.now_ms += ms;
    }

    fn deriv(&self) -> bool {
        self.symbol == "PF_XBTUSD"
    }

    /// A fresh ClOrdID for `who` (numeric increasing on Spot, COMB UUID on Derivatives) and
    /// its label.
    pub fn fresh_cl(&mut self, who: usize) -> (String, String) {
        self.next_cl += 1;
        let cl = if self.deriv() {
            let u = comb_uuid(self.now(), u128::from(self.next_cl) * 0x9E37_79B9_7F4A_7C15);
            String::from_utf8(u.to_vec()).unwrap()
        } else {
            self.next_cl.to_string()
        };
        let acct = if who == B { 1 } else { 0 };
        self.counters[acct] += 1;
        let label = format!("{}{}", ["A", "B"][acct], self.counters[acct]);
        self.labels.insert(cl.as_bytes().to_vec(), label.clone());
        (cl, label)
    }

    /// Sends a NewOrderSingle from session `who`; returns the order's label.
    pub fn send(&mut self, who: usize, mut o: Ord) -> String {
        let (cl, label) = match o.cl.take() {
            Some(c) => {
                let l = self
                    .labels
                    .get(c.as_bytes())
                    .cloned()
                    .unwrap_or_else(|| c.clone());
                (c, l)
            }
            None => self.fresh_cl(who),
        };
        let qty = d(&o.qty);
        let price = o.price.as_deref().map(d);
        let stop = o.stop.as_deref().map(d);
        let display = o.display.as_deref().map(d);
        let mut ei = o.ei;
        if self.deriv() {
            ei.single_fee = true;
        }
        let req = NewOrder {
            cl_ord_id: cl.as_bytes(),
            symbol: self.symbol.as_bytes(),
            side: o.side,
            ord_type: o.t,
            qty,
            price,
            stop_px: stop,
            tif: o.tif,
            expire_time: o.expire_ms.map(|ms| self.at(ms)),
            effective_time: o.effective_ms.map(|ms| self.at(ms)),
            valid_until: o.valid_ms.map(|ms| self.at(ms)),
            exec_inst: ei,
            display_qty: display,
            trigger_ref: o.trigger_ref,
            leverage: o.leverage,
            stp: o.stp,
        };
        let now = self.now();
        self.e
            .handle_new_order(self.sessions[who], &req, now)
            .expect("open session");
        label
    }

    /// Sends a raw NewOrder (for validation cases).
    pub fn send_raw(&mut self, who: usize, req: &NewOrder<'_>) {
        let now = self.now();
        self.e
            .handle_new_order(self.sessions[who], req, now)
            .expect("open session");
    }

    fn cl_of(&self, label: &str) -> Vec<u8> {
        self.labels
            .iter()
            .find(|(_, l)| l.as_str() == label)
            .map(|(c, _)| c.clone())
            .unwrap_or_else(|| label.as_bytes().to_vec())
    }

    /// The OrderID of a labelled order (seen in a report).
    pub fn order_id(&self, label: &str) -> Vec<u8> {
        self.order_ids
            .get(label)
            .cloned()
            .unwrap_or_else(|| panic!("no OrderID seen for {label}"))
    }

    /// Cancels `target` (by OrigClOrdID) from session `who`; returns the cancel's label.
    pub fn cancel(&mut self, who: usize, target: &str) -> String {
        let orig = self.cl_of(target);
        let (cl, label) = self.fresh_cl(who);
        let req = CancelRequest {
            cl_ord_id: cl.as_bytes(),
            order_id: None,
            orig_cl_ord_id: Some(&orig),
            symbol: self.symbol.as_bytes(),
            side: Side::Buy,
        };
        let now = self.now();
        self.e
            .handle_cancel(self.sessions[who], &req, now)
            .expect("open session");
        label
    }

    /// Cancels by OrderID (with a wrong OrigClOrdID: 37 wins).
    pub fn cancel_by_id(&mut self, who: usize, target: &str) -> String {
        let oid = self.order_id(target);
        let (cl, label) = self.fresh_cl(who);
        let req = CancelRequest {
            cl_ord_id: cl.as_bytes(),
            order_id: Some(&oid),
            orig_cl_ord_id: Some(b"999"),
            symbol: self.symbol.as_bytes(),
            side: Side::Buy,
        };
        let now = self.now();
        self.e
            .handle_cancel(self.sessions[who], &req, now)
            .expect("open session");
        label
    }

    /// Amends `target`'s quantity/price/stop/display; returns the amend's label.
    #[allow(clippy::too_many_arguments)]
    pub fn amend(
        &mut self,
        who: usize,
        target: &str,
        side: Side,
        t: OrdType,
        qty: &str,
        price: Option<&str>,
        stop: Option<&str>,
        display: Option<&str>,
        post_only: bool,
    ) -> String {
        let orig = self.cl_of(target);
        let (cl, label) = self.fresh_cl(who);
        let req = AmendRequest {
            cl_ord_id: cl.as_bytes(),
            order_id: None,
            orig_cl_ord_id: Some(&orig),
            symbol: self.symbol.as_bytes(),
            side,
            ord_type: t,
            tif: TimeInForce::GoodTillCancel,
            qty: d(qty),
            price: price.map(d),
            stop_px: stop.map(d),
            display_qty: display.map(d),
            post_only,
            valid_until: None,
        };
        let now = self.now();
        self.e
            .handle_amend(self.sessions[who], &req, now)
            .expect("open session");
        label
    }

    /// Amends a limit order's quantity and price.
    pub fn amend_limit(
        &mut self,
        who: usize,
        target: &str,
        side: Side,
        qty: &str,
        px: &str,
    ) -> String {
        self.amend(
            who,
            target,
            side,
            OrdType::Limit,
            qty,
            Some(px),
            None,
            None,
            false,
        )
    }

    pub fn mass_cancel(&mut self, who: usize, scope: MassCancelScope, symbol: bool) {
        let (cl, _) = self.fresh_cl(who);
        let sym = self.symbol.as_bytes();
        let req = MassCancelRequest {
            cl_ord_id: cl.as_bytes(),
            scope,
            symbol: symbol.then_some(sym),
        };
        let now = self.now();
        self.e
            .handle_mass_cancel(self.sessions[who], &req, now)
            .expect("open session");
    }

    pub fn status(&mut self, who: usize, target: &str) {
        let cl = self.cl_of(target);
        let oid = self.order_ids.get(target).cloned();
        let req = StatusRequest {
            cl_ord_id: &cl,
            order_id: oid.as_deref(),
            symbol: self.symbol.as_bytes(),
        };
        let now = self.now();
        self.e
            .handle_status(self.sessions[who], &req, now)
            .expect("open session");
    }

    pub fn disconnect(&mut self, who: usize) {
        let now = self.now();
        self.e
            .handle_disconnect(self.sessions[who], now)
            .expect("open session");
    }

    pub fn time(&mut self) {
        let now = self.now();
        self.e.handle_time(now);
    }

    fn label(&self, cl: &[u8]) -> String {
        self.labels
            .get(cl)
            .cloned()
            .unwrap_or_else(|| String::from_utf8_lossy(cl).into_owned())
    }

    fn render(&mut self, ev: &Event) -> String {
        match ev {
            Event::Report(r) => {
                let label = self.label(r.cl_ord_id.as_bytes());
                if !self.order_ids.contains_key(&label) {
                    self.order_ids
                        .insert(label.clone(), r.order_id.as_bytes().to_vec());
                }
                let exec = match r.exec_type {
                    ExecType::New => "New",
                    ExecType::Canceled => "Canceled",
                    ExecType::Replaced => "Replaced",
                    ExecType::PendingNew => "PendingNew",
                    ExecType::Expired => "Expired",
                    ExecType::Restated => "Restated",
                    ExecType::Trade => "Trade",
                    ExecType::OrderStatus => "Status",
                };
                let status = match r.ord_status {
                    OrdStatus::New => "New",
                    OrdStatus::PartiallyFilled => "Partial",
                    OrdStatus::Filled => "Filled",
                    OrdStatus::Canceled => "Canceled",
                    OrdStatus::Replaced => "Replaced",
                    OrdStatus::PendingNew => "PendingNew",
                    OrdStatus::Expired => "Expired",
                    OrdStatus::PendingReplace => "PendingReplace",
                };
                let mut s = format!("{label} {exec}:{status} {}/{}", r.cum_qty, r.leaves_qty);
                if let Some(o) = r.orig_cl_ord_id {
                    s += &format!(" orig={}", self.label(o.as_bytes()));
                }
                if let Some(f) = r.fill {
                    let liq = if f.liquidity == Liquidity::Maker {
                        "M"
                    } else {
                        "T"
                    };
                    s += &format!(" fill={}@{}{liq}", f.last_qty, f.last_px);
                }
                if let Some(t) = r.trigger_price {
                    s += &format!(" trig={t}");
                }
                match r.text {
                    ReportText::None => {}
                    ReportText::Static(t) => s += &format!(" \"{t}\""),
                    ReportText::Description => {
                        let mut buf = [0u8; 128];
                        let n = self.e.write_description(r, &mut buf).expect("fits");
                        s += &format!(" \"{}\"", String::from_utf8_lossy(&buf[..n]));
                    }
                }
                self.reports.push(*r);
                s
            }
            Event::Reject(j) => {
                let m = match j.message {
                    RejectMessage::Business { reason } => format!("j{reason}"),
                    RejectMessage::Session { ref_tag, reason } => format!("3:{ref_tag}/{reason}"),
                };
                format!("REJ {} {m} \"{}\"", char::from(j.msg.code()), j.text)
            }
            Event::Book(b) => format!(
                "BOOK {} {} {}",
                if b.side == Side::Buy { "B" } else { "S" },
                b.price,
                b.size
            ),
            Event::Trade(t) => format!(
                "TRADE {}@{} {}",
                t.qty,
                t.price,
                if t.aggressor == Side::Buy { "B" } else { "S" }
            ),
            Event::Disconnect(x) => format!("DISC \"{}\"", x.text),
        }
    }

    /// Drains and renders every pending event.
    pub fn trace(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(ev) = self.e.poll_event() {
            out.push(self.render(&ev));
        }
        out
    }

    /// Drains events, asserting nothing is pending beyond `expected`.
    #[track_caller]
    pub fn expect(&mut self, expected: &[&str]) {
        let got = self.trace();
        assert_eq!(
            got,
            expected.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            "\n got: {got:#?}"
        );
    }

    /// Drains events, keeping only the lines that start with one of `prefixes`.
    #[track_caller]
    pub fn expect_only(&mut self, prefixes: &[&str], expected: &[&str]) {
        let got: Vec<String> = self
            .trace()
            .into_iter()
            .filter(|l| prefixes.iter().any(|p| l.starts_with(p)))
            .collect();
        assert_eq!(
            got,
            expected.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            "\n got: {got:#?}"
        );
    }

    /// Book side as "px:size" strings, best first.
    pub fn book(&self, side: Side) -> Vec<String> {
        let id = self.e.instrument_id(self.symbol.as_bytes()).unwrap();
        self.e
            .depth(id, side)
            .map(|(p, q)| format!("{p}:{q}"))
            .collect()
    }
}
