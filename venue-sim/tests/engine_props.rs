//! Properties of the matching engine under random order flow (every order type, TIF, iceberg,
//! post-only, STP mode, amends, cancels, mass cancels, disconnects, time and index moves):
//!
//! - the book is never crossed;
//! - quantity is neither created nor lost: every trade has one maker and one taker fill of the
//!   same size, public trades match them, and each order's CumQty is the sum of its fills;
//! - CumQty + LeavesQty = OrderQty on every report of a live order, LeavesQty = 0 on terminal
//!   ones;
//! - each order's reports follow a legal OrdStatus path and nothing follows a terminal state;
//! - market data (BookUpdate events applied to a shadow book) always equals the engine's book.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap};

use proptest::prelude::*;
use tickwire_fix::decimal::Decimal;
use tickwire_fix::time::UtcTimestamp;
use tickwire_venue::engine::{
    AccountConfig, AmendRequest, CancelRequest, Config, Engine, Event, ExecInst, ExecType,
    InstrumentId, InstrumentSpec, Liquidity, MassCancelRequest, MassCancelScope, NewOrder,
    OrdStatus, OrdType, SessionConfig, SessionId, Side, StpMode, TimeInForce, TriggerRef, Venue,
};

const T0: i64 = 1_775_572_325_000_000_000;

#[derive(Debug, Clone)]
enum Op {
    New {
        who: usize,
        side: bool,
        kind: u8,
        tif: u8,
        px: i64,
        stop: i64,
        qty: i64,
        iceberg: bool,
        post: bool,
        stp: u8,
        index: bool,
        effective: bool,
    },
    Cancel {
        who: usize,
        pick: usize,
    },
    Amend {
        who: usize,
        pick: usize,
        qty: i64,
        dpx: i64,
    },
    Mass {
        who: usize,
        scope: u8,
    },
    Disconnect {
        who: usize,
    },
    Time {
        ms: i64,
    },
    Index {
        px: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (
            0..4usize,
            any::<bool>(),
            0..10u8,
            0..6u8,
            -20..20i64,
            -20..20i64,
            1..40i64,
            prop::bool::weighted(0.15),
            prop::bool::weighted(0.15),
            0..3u8,
            prop::bool::weighted(0.2),
            prop::bool::weighted(0.05),
        )
            .prop_map(
                |(who, side, kind, tif, px, stop, qty, iceberg, post, stp, index, effective)| {
                    Op::New {
                        who,
                        side,
                        kind,
                        tif,
                        px,
                        stop,
                        qty,
                        iceberg,
                        post,
                        stp,
                        index,
                        effective,
                    }
                }
            ),
        2 => (0..4usize, any::<usize>()).prop_map(|(who, pick)| Op::Cancel { who, pick }),
        2 => (0..4usize, any::<usize>(), 1..40i64, -3..4i64)
            .prop_map(|(who, pick, qty, dpx)| Op::Amend { who, pick, qty, dpx }),
        1 => (0..4usize, 0..3u8).prop_map(|(who, scope)| Op::Mass { who, scope }),
        1 => (0..4usize).prop_map(|who| Op::Disconnect { who }),
        1 => (0..3000i64).prop_map(|ms| Op::Time { ms }),
        1 => (-20..20i64).prop_map(|px| Op::Index { px }),
    ]
}

/// What the checker knows about one order from its reports.
#[derive(Debug, Clone)]
struct Seen {
    status: OrdStatus,
    cum: Decimal,
    fills: Decimal,
    terminal: bool,
    cl: Vec<u8>,
    session: SessionId,
}

struct World {
    e: Engine,
    id: InstrumentId,
    sessions: Vec<SessionId>,
    accounts: Vec<tickwire_venue::engine::AccountId>,
    now_ms: i64,
    next_cl: u64,
    orders: BTreeMap<Vec<u8>, Seen>,
    /// TradeID → (maker qty, taker qty, public qty).
    trades: HashMap<Vec<u8>, (Decimal, Decimal, Decimal)>,
    shadow: [BTreeMap<i64, Decimal>; 2],
    /// OrderID → (entered type, last reported price, side, tif), for amends.
    entered: HashMap<Vec<u8>, Entered>,
}

type Entered = (OrdType, Option<Decimal>, Side, TimeInForce);

fn dec(units: i64, scale: u8) -> Decimal {
    Decimal::new(units, scale)
}

fn add(a: Decimal, b: Decimal) -> Decimal {
    let s = a.scale.max(b.scale);
    Decimal::new(
        a.rescale(s).unwrap().mantissa + b.rescale(s).unwrap().mantissa,
        s,
    )
}

fn sub(a: Decimal, b: Decimal) -> Decimal {
    add(a, Decimal::new(-b.mantissa, b.scale))
}

impl World {
    fn new(venue: Venue) -> World {
        let mut cfg = match venue {
            Venue::Spot => Config::spot(),
            Venue::Derivatives => Config::derivatives(),
        };
        cfg.spot_rate_limit = false;
        cfg.open_order_cap = false;
        cfg.derivatives_bucket = None;
        cfg.error_rate = None;
        cfg.derivatives_amend = true;
        cfg.clordid.spot_shape = false;
        cfg.clordid.comb_window_ns = None;
        cfg.max_orders = 4096;
        cfg.max_levels = 256;
        cfg.max_trigger_orders = 256;
        let spec = match venue {
            Venue::Spot => InstrumentSpec::btc_usd(),
            Venue::Derivatives => InstrumentSpec::pf_xbtusd(),
        };
        let mut e = Engine::new(cfg, vec![spec]).unwrap();
        let accounts: Vec<_> = (0..3)
            .map(|_| e.add_account(AccountConfig::default()).unwrap())
            .collect();
        // Sessions 0 and 3 belong to account 0.
        let sessions = [0, 1, 2, 0]
            .iter()
            .map(|&a| {
                e.open_session(accounts[a], SessionConfig::default())
                    .unwrap()
            })
            .collect();
        let id = e
            .instrument_id(if venue == Venue::Spot {
                b"BTC/USD"
            } else {
                b"PF_XBTUSD"
            })
            .unwrap();
        World {
            e,
            id,
            sessions,
            accounts,
            now_ms: 0,
            next_cl: 1_000_000,
            orders: BTreeMap::new(),
            trades: HashMap::new(),
            shadow: [BTreeMap::new(), BTreeMap::new()],
            entered: HashMap::new(),
        }
    }

    fn now(&self) -> UtcTimestamp {
        UtcTimestamp::from_nanos(T0 + self.now_ms * 1_000_000)
    }

    fn cl(&mut self) -> Vec<u8> {
        self.next_cl += 1;
        if self.e.config().venue == Venue::Derivatives {
            tickwire_fix::kraken::comb_uuid(self.now(), u128::from(self.next_cl)).to_vec()
        } else {
            self.next_cl.to_string().into_bytes()
        }
    }

    fn session(&mut self, who: usize) -> SessionId {
        let s = self.sessions[who];
        if self.e.session_account(s).is_err() {
            // Reconnect after a disconnect.
            let a = self.accounts[if who == 3 { 0 } else { who }];
            let cod = who != 1; // account 1 keeps orders across disconnects
            self.sessions[who] = self
                .e
                .open_session(
                    a,
                    SessionConfig {
                        cancel_on_disconnect: cod,
                    },
                )
                .unwrap();
        }
        self.sessions[who]
    }

    /// A live order placed on session `who` (for cancel/amend).
    fn pick(&self, who: usize, pick: usize) -> Option<(Vec<u8>, Vec<u8>)> {
        let s = self.sessions[who];
        let live: Vec<_> = self
            .orders
            .iter()
            .filter(|(_, o)| !o.terminal && o.session == s)
            .collect();
        if live.is_empty() {
            return None;
        }
        let (oid, o) = live[pick % live.len()];
        Some((oid.clone(), o.cl.clone()))
    }

    fn apply(&mut self, op: &Op) {
        let spot = self.e.config().venue == Venue::Spot;
        let (pp, qp) = if spot { (1, 8) } else { (0, 4) };
        let mid: i64 = if spot { 840_000 } else { 85_000 };
        let tick = 1;
        let px = |d: i64| dec(mid + d * tick, pp);
        let qty = |n: i64| dec(n * if spot { 100_000 } else { 10 }, qp);
        match *op {
            Op::New {
                who,
                side,
                kind,
                tif,
                px: p,
                stop,
                qty: q,
                iceberg,
                post,
                stp,
                index,
                effective,
            } => {
                let s = self.session(who);
                let cl = self.cl();
                let ord_type = match kind {
                    0..=3 => OrdType::Limit,
                    4 => OrdType::Market,
                    5 => OrdType::StopLoss,
                    6 => OrdType::StopLossLimit,
                    7 => OrdType::TakeProfit,
                    8 => OrdType::TakeProfitLimit,
                    _ if spot && stop % 2 == 0 => OrdType::TrailingStopLimit,
                    _ => OrdType::TrailingStop,
                };
                let trailing =
                    matches!(ord_type, OrdType::TrailingStop | OrdType::TrailingStopLimit);
                let tif = match tif {
                    0..=2 => TimeInForce::GoodTillCancel,
                    3 => TimeInForce::ImmediateOrCancel,
                    4 if spot => TimeInForce::FillOrKill,
                    5 if spot => TimeInForce::GoodTillDate,
                    _ => TimeInForce::GoodTillCancel,
                };
                let price = if ord_type == OrdType::TrailingStopLimit {
                    Some(dec(p.abs() % 3, pp))
                } else {
                    Some(px(p))
                };
                let stop_px = if trailing {
                    Some(dec(stop.abs() % 5 + 1, pp))
                } else {
                    Some(px(stop))
                };
                let req = NewOrder {
                    cl_ord_id: &cl,
                    symbol: if spot { b"BTC/USD" } else { b"PF_XBTUSD" },
                    side: if side { Side::Buy } else { Side::Sell },
                    ord_type,
                    qty: qty(q),
                    price,
                    stop_px,
                    tif,
                    expire_time: (tif == TimeInForce::GoodTillDate)
                        .then(|| UtcTimestamp::from_nanos(self.now().nanos + 2_000_000_000)),
                    effective_time: (spot && effective)
                        .then(|| UtcTimestamp::from_nanos(self.now().nanos + 1_000_000_000)),
                    valid_until: None,
                    exec_inst: ExecInst {
                        post_only: post,
                        single_fee: !spot,
                        ..ExecInst::default()
                    },
                    display_qty: (spot && iceberg).then(|| qty((q / 4).max(1))),
                    trigger_ref: if index {
                        TriggerRef::Index
                    } else {
                        TriggerRef::Last
                    },
                    leverage: false,
                    stp: StpMode::from_code(u32::from(stp)),
                };
                let now = self.now();
                self.e.handle_new_order(s, &req, now).unwrap();
            }
            Op::Cancel { who, pick } => {
                let s = self.session(who);
                let Some((oid, _)) = self.pick(who, pick) else {
                    return;
                };
                let cl = self.cl();
                let req = CancelRequest {
                    cl_ord_id: &cl,
                    order_id: Some(&oid),
                    orig_cl_ord_id: None,
                    symbol: if spot { b"BTC/USD" } else { b"PF_XBTUSD" },
                    side: Side::Buy,
                };
                let now = self.now();
                self.e.handle_cancel(s, &req, now).unwrap();
            }
            Op::Amend {
                who,
                pick,
                qty: q,
                dpx,
            } => {
                let s = self.session(who);
                let Some((oid, orig)) = self.pick(who, pick) else {
                    return;
                };
                let Some(r) = self.last_report(&oid) else {
                    return;
                };
                let cl = self.cl();
                let price = r.1.map(|p| {
                    if r.0 == OrdType::TrailingStopLimit {
                        p
                    } else {
                        Decimal::new((p.mantissa + dpx).max(1), p.scale)
                    }
                });
                let req = AmendRequest {
                    cl_ord_id: &cl,
                    order_id: None,
                    orig_cl_ord_id: Some(&orig),
                    symbol: if spot { b"BTC/USD" } else { b"PF_XBTUSD" },
                    side: r.2,
                    ord_type: r.0,
                    tif: r.3,
                    qty: qty(q),
                    price,
                    stop_px: None,
                    display_qty: None,
                    post_only: false,
                    valid_until: None,
                };
                let now = self.now();
                self.e.handle_amend(s, &req, now).unwrap();
            }
            Op::Mass { who, scope } => {
                let s = self.session(who);
                let cl = self.cl();
                let scope = match scope {
                    0 => MassCancelScope::SessionSymbol,
                    1 => MassCancelScope::Session,
                    _ => MassCancelScope::Account,
                };
                let req = MassCancelRequest {
                    cl_ord_id: &cl,
                    scope,
                    symbol: Some(if spot { b"BTC/USD" } else { b"PF_XBTUSD" }),
                };
                let now = self.now();
                self.e.handle_mass_cancel(s, &req, now).unwrap();
            }
            Op::Disconnect { who } => {
                let s = self.session(who);
                let now = self.now();
                self.e.handle_disconnect(s, now).unwrap();
            }
            Op::Time { ms } => {
                self.now_ms += ms;
                let now = self.now();
                self.e.handle_time(now);
            }
            Op::Index { px: p } => {
                let now = self.now();
                self.e.set_index_price(self.id, px(p), now).unwrap();
            }
        }
    }

    /// (entered type, price as last reported, side, tif) of an order.
    fn last_report(&self, oid: &[u8]) -> Option<Entered> {
        self.entered.get(oid).copied()
    }
}

struct Checker;

impl Checker {
    fn drain(w: &mut World) -> Result<(), TestCaseError> {
        while let Some(ev) = w.e.poll_event() {
            match ev {
                Event::Report(r) => {
                    let oid = r.order_id.as_bytes().to_vec();
                    let terminal = r.ord_status.is_terminal();
                    prop_assert!(
                        !r.cum_qty.is_zero() || r.ord_status != OrdStatus::Filled,
                        "filled with no quantity"
                    );
                    if terminal {
                        prop_assert!(r.leaves_qty.is_zero(), "leaves on terminal {r:?}");
                    } else {
                        prop_assert_eq!(
                            add(r.cum_qty, r.leaves_qty),
                            r.order_qty,
                            "cum + leaves = qty: {:?}",
                            r
                        );
                    }
                    if r.cum_qty == r.order_qty && !r.cum_qty.is_zero() {
                        prop_assert!(
                            r.ord_status == OrdStatus::Filled || r.exec_type == ExecType::Canceled,
                            "full quantity but not filled: {r:?}"
                        );
                    }
                    let first = !w.orders.contains_key(&oid);
                    if first {
                        prop_assert!(
                            matches!(
                                r.exec_type,
                                ExecType::New | ExecType::PendingNew | ExecType::Canceled
                            ),
                            "first report {r:?}"
                        );
                        w.orders.insert(
                            oid.clone(),
                            Seen {
                                status: r.ord_status,
                                cum: Decimal::ZERO,
                                fills: Decimal::ZERO,
                                terminal: false,
                                cl: r.cl_ord_id.as_bytes().to_vec(),
                                session: r.owner,
                            },
                        );
                        // The first report carries the type as entered.
                        w.entered
                            .insert(oid.clone(), (r.ord_type, r.price, r.side, r.tif));
                    }
                    let seen = w.orders.get_mut(&oid).unwrap();
                    prop_assert!(!seen.terminal, "report after terminal state: {r:?}");
                    prop_assert!(r.cum_qty >= seen.cum, "CumQty went down: {r:?}");
                    if let Some(f) = r.fill {
                        prop_assert_eq!(r.exec_type, ExecType::Trade);
                        seen.fills = add(seen.fills, f.last_qty);
                        let t = w.trades.entry(f.trade_id.as_bytes().to_vec()).or_insert((
                            Decimal::ZERO,
                            Decimal::ZERO,
                            Decimal::ZERO,
                        ));
                        match f.liquidity {
                            Liquidity::Maker => t.0 = add(t.0, f.last_qty),
                            Liquidity::Taker => t.1 = add(t.1, f.last_qty),
                        }
                    } else {
                        prop_assert!(r.exec_type != ExecType::Trade);
                    }
                    prop_assert_eq!(seen.fills, r.cum_qty, "CumQty = Σ fills");
                    if !r.cum_qty.is_zero() && !terminal {
                        prop_assert!(r.ord_status != OrdStatus::New, "New after a fill: {r:?}");
                    }
                    if seen.status == OrdStatus::PendingNew {
                        prop_assert!(
                            matches!(
                                r.ord_status,
                                OrdStatus::PendingNew
                                    | OrdStatus::New
                                    | OrdStatus::PendingReplace
                                    | OrdStatus::Canceled
                                    | OrdStatus::Expired
                            ),
                            "illegal move from Pending New: {r:?}"
                        );
                    }
                    seen.cum = r.cum_qty;
                    seen.terminal = terminal;
                    if r.ord_status != OrdStatus::PendingReplace
                        || seen.status != OrdStatus::PendingNew
                    {
                        seen.status = r.ord_status;
                    }
                    if r.ord_status == OrdStatus::PendingReplace {
                        seen.status = OrdStatus::PendingNew;
                    }
                    seen.cl = r.cl_ord_id.as_bytes().to_vec();
                    if let (Some(p), Some(e)) = (r.price, w.entered.get_mut(&oid)) {
                        e.1 = Some(p);
                    }
                }
                Event::Trade(t) => {
                    let e = w.trades.entry(t.trade_id.as_bytes().to_vec()).or_insert((
                        Decimal::ZERO,
                        Decimal::ZERO,
                        Decimal::ZERO,
                    ));
                    e.2 = add(e.2, t.qty);
                }
                Event::Book(b) => {
                    let side = usize::from(b.side == Side::Sell);
                    if b.size.is_zero() {
                        w.shadow[side].remove(&b.price.rescale(8).unwrap().mantissa);
                    } else {
                        w.shadow[side].insert(b.price.rescale(8).unwrap().mantissa, b.size);
                    }
                }
                Event::Reject(_) | Event::Disconnect(_) => {}
            }
        }
        Ok(())
    }

    fn after_op(w: &World) -> Result<(), TestCaseError> {
        if let Err(e) = w.e.verify() {
            return Err(TestCaseError::fail(e));
        }
        if let (Some((bid, _)), Some((ask, _))) = (w.e.best_bid(w.id), w.e.best_ask(w.id)) {
            prop_assert!(bid < ask, "crossed book: {bid} >= {ask}");
        }
        for (tid, (m, t, p)) in &w.trades {
            prop_assert_eq!(m, t, "maker and taker sizes of {:?}", tid);
            prop_assert_eq!(m, p, "public trade size of {:?}", tid);
        }
        for (side, s) in [(Side::Buy, 0), (Side::Sell, 1)] {
            let engine: Vec<(i64, Decimal)> =
                w.e.depth(w.id, side)
                    .map(|(p, q)| (p.rescale(8).unwrap().mantissa, q))
                    .collect();
            let mut shadow: Vec<(i64, Decimal)> =
                w.shadow[s].iter().map(|(p, q)| (*p, *q)).collect();
            if side == Side::Buy {
                shadow.reverse();
            }
            prop_assert_eq!(engine, shadow, "market data diverged from the book");
        }
        Ok(())
    }
}

fn run(venue: Venue, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut w = World::new(venue);
    for op in ops {
        w.apply(op);
        Checker::drain(&mut w)?;
        Checker::after_op(&w)?;
    }
    // Everything cancelled at the end: no live order left behind.
    for who in 0..3 {
        let s = w.session(who);
        let cl = w.cl();
        let req = MassCancelRequest {
            cl_ord_id: &cl,
            scope: MassCancelScope::Account,
            symbol: None,
        };
        let now = w.now();
        w.e.handle_mass_cancel(s, &req, now).unwrap();
        Checker::drain(&mut w)?;
    }
    prop_assert_eq!(w.e.live_orders(), 0);
    prop_assert!(w.e.best_bid(w.id).is_none() && w.e.best_ask(w.id).is_none());
    prop_assert!(w.orders.values().all(|o| o.terminal), "orders left open");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn spot_random_flow_keeps_invariants(ops in prop::collection::vec(op(), 1..160)) {
        run(Venue::Spot, &ops)?;
    }

    #[test]
    fn derivatives_random_flow_keeps_invariants(ops in prop::collection::vec(op(), 1..160)) {
        run(Venue::Derivatives, &ops)?;
    }
}

#[test]
fn sub_is_the_inverse_of_add() {
    let a = Decimal::new(15, 1);
    let b = Decimal::new(25, 2);
    assert_eq!(sub(add(a, b), b), a);
}

/// ClOrdID, side/flag bits, type, TIF, qty (mantissa, scale), price, stop, more flag bits.
type Wild = (Vec<u8>, u8, u8, u8, i64, u8, i64, u8, i64, u8, u8);

/// Arbitrary field values a peer could send: any decimals, ids, types and flags.
fn wild_new() -> impl Strategy<Value = Wild> {
    (
        prop::collection::vec(any::<u8>(), 0..40),
        any::<u8>(),
        0..8u8,
        0..4u8,
        any::<i64>(),
        0..19u8,
        any::<i64>(),
        0..19u8,
        any::<i64>(),
        0..19u8,
        any::<u8>(),
    )
}

fn ord_type(n: u8) -> OrdType {
    [
        OrdType::Market,
        OrdType::Limit,
        OrdType::StopLoss,
        OrdType::StopLossLimit,
        OrdType::TakeProfit,
        OrdType::TakeProfitLimit,
        OrdType::TrailingStop,
        OrdType::TrailingStopLimit,
    ][usize::from(n % 8)]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Garbage in any field is a reject or a legal order, never a panic or a broken book.
    #[test]
    fn arbitrary_field_values_never_panic(
        reqs in prop::collection::vec(wild_new(), 1..60),
        venue in prop::bool::ANY,
    ) {
        let venue = if venue { Venue::Spot } else { Venue::Derivatives };
        let mut w = World::new(venue);
        for (i, (cl, side, t, tif, qm, qs, pm, ps, sm, ss, flags)) in reqs.iter().enumerate() {
            let s = w.sessions[i % 3];
            let now = w.now();
            let sym: &[u8] = if flags & 1 == 0 {
                if venue == Venue::Spot { b"BTC/USD" } else { b"PF_XBTUSD" }
            } else {
                b"ETH/USD"
            };
            let req = NewOrder {
                cl_ord_id: cl,
                symbol: sym,
                side: if side & 1 == 0 { Side::Buy } else { Side::Sell },
                ord_type: ord_type(*t),
                qty: Decimal::new(*qm, *qs),
                price: (flags & 2 == 0).then(|| Decimal::new(*pm, *ps)),
                stop_px: (flags & 4 == 0).then(|| Decimal::new(*sm, *ss)),
                tif: [
                    TimeInForce::GoodTillCancel,
                    TimeInForce::ImmediateOrCancel,
                    TimeInForce::FillOrKill,
                    TimeInForce::GoodTillDate,
                ][usize::from(*tif)],
                expire_time: (flags & 8 == 0).then(|| UtcTimestamp::from_nanos(pm.wrapping_abs())),
                effective_time: (flags & 16 == 0)
                    .then(|| UtcTimestamp::from_nanos(now.nanos.wrapping_add(*sm % 10_000_000_000))),
                valid_until: (flags & 32 == 0).then(|| UtcTimestamp::from_nanos(*qm)),
                exec_inst: ExecInst {
                    post_only: flags & 64 != 0,
                    reduce_only: flags & 128 != 0,
                    quote_qty: side & 2 != 0,
                    single_fee: side & 4 == 0,
                    ..ExecInst::default()
                },
                display_qty: (side & 8 != 0).then(|| Decimal::new(*sm, *qs)),
                trigger_ref: if side & 16 != 0 { TriggerRef::Index } else { TriggerRef::Last },
                leverage: side & 32 != 0,
                stp: StpMode::from_code(u32::from(side >> 6)),
            };
            w.e.handle_new_order(s, &req, now).unwrap();
            let cancel = CancelRequest {
                cl_ord_id: cl,
                order_id: Some(cl),
                orig_cl_ord_id: Some(cl),
                symbol: sym,
                side: Side::Buy,
            };
            w.e.handle_cancel(s, &cancel, now).unwrap();
            w.now_ms += 7;
            Checker::drain(&mut w)?;
            Checker::after_op(&w)?;
        }
    }
}
