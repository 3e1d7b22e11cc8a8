//! NewOrderSingle: the checks of SPEC §4.1 in Kraken's layer order — gateway (ClOrdID shape,
//! conditionally required fields, values the venue does not offer → 35=3), order-entry service
//! (symbol, rate limit, ClOrdID reuse, instrument rules, market status → 35=j), engine (open-order
//! cap, reduce-only, post-only, capacity) — then placement.

use tickwire_fix::decimal::{Decimal, DecimalError};
use tickwire_fix::kraken::{comb_uuid_time, ClOrdIdError};
use tickwire_fix::time::UtcTimestamp;

use super::book::Opposite;
use super::instrument::{ref_index, Instrument, MAX_PRICE_UNITS};
use super::order::{Order, State, NIL};
use super::request::NewOrder;
use super::types::{
    AccountId, ClOrdId, InstrumentId, InstrumentStatus, MsgKind, OrdStatus, OrdType, SessionId,
    Side, StpMode, TimeInForce, TriggerRef, Venue,
};
use super::{
    clordid_key, ids, text, Engine, ExecType, PostOnlyCross, RejectReason, ReportText,
    SessionError, TIMER_ACTIVATE, TIMER_EXPIRE,
};
use crate::limits::Transaction;

/// A validated order, in the instrument's integer units.
#[derive(Debug, Clone, Copy)]
struct Prepared {
    qty: i64,
    price: i64,
    stop: i64,
    display: i64,
    expire_ns: i64,
    effective_ns: i64,
    stp: StpMode,
}

fn price_error(e: DecimalError) -> RejectReason {
    match e {
        DecimalError::Inexact => RejectReason::TickSizeCheckFailed,
        _ => RejectReason::InvalidPrice,
    }
}

fn is_uuid_shape(id: &[u8]) -> bool {
    id.len() == 36
        && id.iter().enumerate().all(|(i, &c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                c == b'-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

impl Engine {
    /// Handles a NewOrderSingle. Results arrive as events: a New (or Pending New) report and
    /// any fills, or a Canceled report (post-only, IOC, FOK, STP), or a reject.
    ///
    /// # Errors
    /// [`SessionError`] only for an unknown or closed session (FIX-layer misuse).
    pub fn handle_new_order(
        &mut self,
        session: SessionId,
        req: &NewOrder<'_>,
        now: UtcTimestamp,
    ) -> Result<(), SessionError> {
        self.order_request(
            session,
            MsgKind::NewOrder,
            req.cl_ord_id,
            now,
            |e, account| e.new_order(session, account, req, now),
        )
    }

    /// Gateway check of a ClOrdID's shape (SPEC §3.7).
    pub(super) fn check_clordid_shape(&self, id: &[u8]) -> Result<(), RejectReason> {
        match self.cfg.venue {
            Venue::Derivatives => {
                if comb_uuid_time(id).is_none() {
                    return Err(RejectReason::CombUuidRequired);
                }
            }
            Venue::Spot => {
                let numeric = !id.is_empty()
                    && id.len() <= 18
                    && id.iter().all(u8::is_ascii_digit)
                    && id.iter().any(|&c| c != b'0');
                if self.cfg.clordid.spot_shape && !numeric && !is_uuid_shape(id) {
                    return Err(RejectReason::ClOrdIdInvalid);
                }
            }
        }
        if id.is_empty() || id.len() > super::CLORDID_MAX {
            return Err(RejectReason::ClOrdIdInvalid);
        }
        Ok(())
    }

    /// Engine check of a ClOrdID's time and reuse; registers it.
    pub(super) fn register_clordid(
        &mut self,
        account: AccountId,
        id: &[u8],
        now: UtcTimestamp,
    ) -> Result<(), RejectReason> {
        if self.cfg.venue == Venue::Derivatives {
            if let (Some(window), Some(t)) = (self.cfg.clordid.comb_window_ns, comb_uuid_time(id)) {
                if (t.nanos - now.nanos).abs() > window {
                    return Err(RejectReason::ClOrdIdOutOfDate);
                }
            }
        }
        let Some(reg) = self
            .accounts
            .get_mut(account.0 as usize)
            .and_then(|a| a.clordids.as_mut())
        else {
            return Ok(());
        };
        reg.insert(id).map_err(|e| match e {
            ClOrdIdError::Duplicate => RejectReason::DuplicateClOrdId,
            ClOrdIdError::NotIncreasing { .. } => RejectReason::ClOrdIdInvalid,
            ClOrdIdError::Full => RejectReason::CapacityExhausted,
        })
    }

    /// Charges the Spot rate counter (D/F/G) or the Derivatives bucket.
    pub(super) fn charge(
        &mut self,
        session: SessionId,
        account: AccountId,
        id: InstrumentId,
        tx: Transaction,
        bucket_cost: BucketCost,
        now: UtcTimestamp,
    ) -> Result<(), RejectReason> {
        match self.cfg.venue {
            Venue::Spot
                if self.cfg.spot_rate_limit && !self.accounts[account.0 as usize].cfg.unlimited =>
            {
                self.accounts[account.0 as usize].rate[usize::from(id.0)]
                    .charge(tx, now)
                    .map_err(|_| RejectReason::RateLimitExceeded)
            }
            Venue::Spot => Ok(()),
            Venue::Derivatives => {
                let s = &mut self.sessions[session.index as usize];
                match s.bucket.as_mut() {
                    Some(b) => {
                        let cost = match bucket_cost {
                            BucketCost::Order => b.params().order_cost,
                            BucketCost::MassCancel => b.params().mass_cancel_cost,
                        };
                        b.take(cost, now)
                            .map_err(|_| RejectReason::RateLimitExceeded)
                    }
                    None => Ok(()),
                }
            }
        }
    }

    pub(super) fn lookup_symbol(&self, symbol: &[u8]) -> Result<InstrumentId, RejectReason> {
        match self.instrument_id(symbol) {
            Some(id) if self.instruments[usize::from(id.0)].status != InstrumentStatus::Hidden => {
                Ok(id)
            }
            _ => Err(RejectReason::UnknownAssetPair),
        }
    }

    fn new_order(
        &mut self,
        session: SessionId,
        account: AccountId,
        req: &NewOrder<'_>,
        now: UtcTimestamp,
    ) -> Result<(), RejectReason> {
        // Gateway: format and dialect (35=3).
        self.check_clordid_shape(req.cl_ord_id)?;
        let cl = ClOrdId::new(req.cl_ord_id).ok_or(RejectReason::ClOrdIdInvalid)?;
        self.check_fields(req)?;
        // Order-entry service and engine (35=j).
        let id = self.lookup_symbol(req.symbol)?;
        self.charge(
            session,
            account,
            id,
            Transaction::Add,
            BucketCost::Order,
            now,
        )?;
        self.register_clordid(account, req.cl_ord_id, now)?;
        let p = self.validate(id, account, req, now)?;
        let inst = &self.instruments[usize::from(id.0)];
        let fresh = p.effective_ns == 0;
        let mut post_only_cancel = false;
        if fresh
            && req.exec_inst.post_only
            && req.ord_type == OrdType::Limit
            && inst.book.crosses(req.side, p.price)
        {
            if self.cfg.venue == Venue::Derivatives
                || self.cfg.post_only_cross == PostOnlyCross::BusinessReject
            {
                return Err(RejectReason::PostWouldExecute);
            }
            post_only_cancel = true;
        }
        if fresh
            && self.cfg.venue == Venue::Derivatives
            && req.tif == TimeInForce::ImmediateOrCancel
        {
            let can_trade = match req.ord_type {
                OrdType::Market => inst.book.best(req.side.opposite()).is_some(),
                OrdType::Limit => inst.book.crosses(req.side, p.price),
                _ => true,
            };
            if !can_trade {
                return Err(RejectReason::IocWouldEnterBook);
            }
        }
        self.place(session, account, id, cl, req, p, post_only_cancel, now)
    }

    /// Field-level rules the gateway enforces (35=3).
    fn check_fields(&self, req: &NewOrder<'_>) -> Result<(), RejectReason> {
        let t = req.ord_type;
        if self.cfg.venue == Venue::Derivatives {
            if t == OrdType::TrailingStopLimit {
                return Err(RejectReason::ValueNotSupported { tag: 40 });
            }
            if matches!(req.tif, TimeInForce::FillOrKill | TimeInForce::GoodTillDate) {
                return Err(RejectReason::ValueNotSupported { tag: 59 });
            }
        }
        if Order::has_limit(t) && req.price.is_none() {
            return Err(RejectReason::MissingField { tag: 44 });
        }
        if Order::is_trigger_type(t) && req.stop_px.is_none() {
            return Err(RejectReason::MissingField { tag: 99 });
        }
        if req.tif == TimeInForce::GoodTillDate && req.expire_time.is_none() {
            return Err(RejectReason::MissingField { tag: 126 });
        }
        Ok(())
    }

    fn validate(
        &self,
        id: InstrumentId,
        account: AccountId,
        req: &NewOrder<'_>,
        now: UtcTimestamp,
    ) -> Result<Prepared, RejectReason> {
        let inst = &self.instruments[usize::from(id.0)];
        let spot = self.cfg.venue == Venue::Spot;
        let t = req.ord_type;
        let ei = req.exec_inst;
        if !spot {
            if !ei.single_fee {
                return Err(RejectReason::SingleFeeRequired);
            }
            if req.display_qty.is_some() || req.effective_time.is_some() || ei.quote_qty {
                return Err(RejectReason::InvalidArguments);
            }
        }
        match inst.status {
            InstrumentStatus::Hidden => return Err(RejectReason::UnknownAssetPair),
            InstrumentStatus::Maintenance | InstrumentStatus::Delisted => {
                return Err(RejectReason::MarketUnavailable)
            }
            InstrumentStatus::CancelOnly => return Err(RejectReason::MarketCancelOnly),
            InstrumentStatus::PostOnly if !(t == OrdType::Limit && ei.post_only) => {
                return Err(RejectReason::MarketPostOnly)
            }
            InstrumentStatus::LimitOnly if !Order::has_limit(t) => {
                return Err(RejectReason::MarketLimitOnly)
            }
            InstrumentStatus::ReduceOnly if !ei.reduce_only => {
                return Err(RejectReason::MarketReduceOnly)
            }
            _ => {}
        }
        if let Some(v) = req.valid_until {
            if v < now {
                return Err(RejectReason::DeadlineElapsed);
            }
            if v.nanos - now.nanos > self.cfg.max_valid_until_ahead_ns {
                return Err(RejectReason::InvalidArguments);
            }
        }
        let price = match req.price {
            Some(p) if Order::has_limit(t) => {
                let p = inst.price_units(p).map_err(price_error)?;
                let min = if t == OrdType::TrailingStopLimit {
                    0
                } else {
                    1
                };
                if p < min || p > MAX_PRICE_UNITS {
                    return Err(RejectReason::InvalidPrice);
                }
                if p % inst.tick != 0 {
                    return Err(RejectReason::TickSizeCheckFailed);
                }
                p
            }
            _ => 0,
        };
        let stop = match req.stop_px {
            Some(s) if Order::is_trigger_type(t) => {
                let s = inst.price_units(s).map_err(price_error)?;
                if s <= 0 || s > MAX_PRICE_UNITS {
                    return Err(RejectReason::InvalidPrice);
                }
                if s % inst.tick != 0 {
                    return Err(RejectReason::TickSizeCheckFailed);
                }
                s
            }
            _ => 0,
        };
        let qty = if ei.quote_qty {
            self.quote_to_base(inst, req.side, t, price, req.qty)?
        } else {
            inst.qty_units(req.qty)
                .map_err(|_| RejectReason::InvalidQuantity)?
        };
        if qty <= 0 {
            return Err(if ei.quote_qty {
                RejectReason::OrderMinimumNotMet
            } else {
                RejectReason::InvalidQuantity
            });
        }
        if qty % inst.lot != 0 {
            return Err(RejectReason::InvalidQuantity);
        }
        if qty < inst.min_qty {
            return Err(RejectReason::OrderMinimumNotMet);
        }
        if qty > inst.max_qty {
            return Err(RejectReason::OrderMaximumExceeded);
        }
        if let Some(min_cost) = inst.min_cost {
            let reference = match t {
                OrdType::Limit | OrdType::StopLossLimit | OrdType::TakeProfitLimit => price,
                OrdType::StopLoss | OrdType::TakeProfit => stop,
                _ => 0,
            };
            if reference > 0 && Instrument::notional(reference, qty) < min_cost {
                return Err(RejectReason::CostMinimumNotMet);
            }
        }
        let immediate = matches!(
            req.tif,
            TimeInForce::ImmediateOrCancel | TimeInForce::FillOrKill
        );
        let display = match req.display_qty {
            None => 0,
            Some(d) => {
                if t != OrdType::Limit || immediate {
                    return Err(RejectReason::InvalidArguments);
                }
                let d = inst
                    .qty_units(d)
                    .map_err(|_| RejectReason::InvalidArguments)?;
                if d <= 0 || d > qty || d % inst.lot != 0 || d.saturating_mul(15) < qty {
                    return Err(RejectReason::InvalidArguments);
                }
                d
            }
        };
        if ei.post_only && (!Order::has_limit(t) || immediate) {
            return Err(RejectReason::InvalidArguments);
        }
        if Order::is_trigger_type(t)
            && req.trigger_ref == TriggerRef::Index
            && !inst.spec.index_available
        {
            return Err(RejectReason::IndexUnavailable);
        }
        let expire_ns = if req.tif == TimeInForce::GoodTillDate {
            let e = req
                .expire_time
                .ok_or(RejectReason::MissingField { tag: 126 })?;
            if e <= now || e.nanos - now.nanos > self.cfg.max_expire_ahead_ns {
                return Err(RejectReason::InvalidArguments);
            }
            e.nanos
        } else {
            0
        };
        let effective_ns = req
            .effective_time
            .filter(|&e| e > now)
            .map_or(0, |e| e.nanos);
        if effective_ns != 0 && expire_ns != 0 && expire_ns <= effective_ns {
            return Err(RejectReason::InvalidArguments);
        }
        let acct = &self.accounts[account.0 as usize];
        if ei.reduce_only {
            if spot && !req.leverage {
                return Err(RejectReason::ReduceOnlyNonPositionClosing);
            }
            let pos = acct.position[usize::from(id.0)];
            let reduces = match req.side {
                Side::Sell => pos > 0,
                Side::Buy => pos < 0,
            };
            if !reduces {
                return Err(RejectReason::ReduceOnlyNoPosition);
            }
        }
        let can_rest = t != OrdType::Market && !immediate;
        if spot
            && self.cfg.open_order_cap
            && !acct.cfg.unlimited
            && can_rest
            && acct.open[usize::from(id.0)] >= acct.cfg.tier.params().max_open_orders
        {
            return Err(RejectReason::OrdersLimitExceeded);
        }
        if self.orders.live() >= self.orders.capacity() {
            return Err(RejectReason::CapacityExhausted);
        }
        if Order::is_trigger_type(t) {
            let probe = Order {
                side: req.side,
                entered_type: t,
                ..Order::EMPTY
            };
            if !inst.triggers[ref_index(req.trigger_ref)].has_room(&probe) {
                return Err(RejectReason::ScheduledOrdersLimitExceeded);
            }
        }
        if t == OrdType::Limit
            && can_rest
            && inst.book.would_need_level_beyond_capacity(req.side, price)
        {
            return Err(RejectReason::CapacityExhausted);
        }
        let stp = if spot {
            req.stp.unwrap_or_default()
        } else {
            acct.cfg.derivatives_stp
        };
        Ok(Prepared {
            qty,
            price,
            stop,
            display,
            expire_ns,
            effective_ns,
            stp,
        })
    }

    /// ExecInst `v`: the base quantity a quote amount buys or sells — at the limit price, or
    /// for a market order by walking the opposite side of the book (hidden quantity included).
    fn quote_to_base(
        &self,
        inst: &Instrument,
        side: Side,
        t: OrdType,
        price: i64,
        quote: Decimal,
    ) -> Result<i64, RejectReason> {
        if quote.mantissa <= 0 {
            return Err(RejectReason::InvalidQuantity);
        }
        // The budget at pp + qp decimals.
        let scale = u32::from(inst.pp) + u32::from(inst.qp);
        let budget = super::instrument::rescale_round(
            i128::from(quote.mantissa),
            u32::from(quote.scale),
            scale,
        );
        let base = match t {
            OrdType::Limit | OrdType::StopLossLimit | OrdType::TakeProfitLimit => {
                budget / i128::from(price.max(1))
            }
            OrdType::Market => {
                let mut left = budget;
                let mut base: i128 = 0;
                for (px, l) in inst.book.levels(side.opposite()) {
                    let mut total: i128 = 0;
                    let mut s = inst.book.level(l).head;
                    while s != NIL {
                        let o = &self.orders.orders[s as usize];
                        total += i128::from(o.leaves());
                        s = o.next;
                    }
                    let cost = total * i128::from(px);
                    if cost <= left {
                        base += total;
                        left -= cost;
                    } else {
                        base += left / i128::from(px);
                        break;
                    }
                }
                base
            }
            _ => return Err(RejectReason::InvalidArguments),
        };
        let base = i64::try_from(base).map_err(|_| RejectReason::InvalidQuantity)?;
        Ok(base - base % inst.lot)
    }

    #[allow(clippy::too_many_arguments)]
    fn place(
        &mut self,
        session: SessionId,
        account: AccountId,
        id: InstrumentId,
        cl: ClOrdId,
        req: &NewOrder<'_>,
        p: Prepared,
        post_only_cancel: bool,
        now: UtcTimestamp,
    ) -> Result<(), RejectReason> {
        let (slot, key) = self.orders.alloc().ok_or(RejectReason::CapacityExhausted)?;
        let seq = self.next_seq();
        let queued_ns = self.next_queue_ns(now);
        let order_id = ids::order_id(self.cfg.venue, self.cfg.id_seed, key);
        self.orders.orders[slot as usize] = Order {
            key,
            state: State::Working,
            instrument: id,
            account,
            session,
            side: req.side,
            entered_type: req.ord_type,
            ord_type: req.ord_type,
            tif: req.tif,
            exec_inst: req.exec_inst,
            leverage: req.leverage,
            stp: p.stp,
            trigger_ref: req.trigger_ref,
            price: p.price,
            stop: p.stop,
            anchor: i64::MIN,
            triggered_at: i64::MIN,
            qty: p.qty,
            cum: 0,
            display: p.display,
            visible: 0,
            cum_notional: 0,
            cum_fee: 0,
            cl_ord_id: cl,
            order_id,
            created_ns: now.nanos,
            amended_ns: now.nanos,
            expire_ns: p.expire_ns,
            seq,
            queued_ns,
            updated_ns: now.nanos,
            prev: NIL,
            next: NIL,
        };
        self.by_clordid
            .insert(clordid_key(session, cl.as_bytes()), slot);
        self.accounts[account.0 as usize].open[usize::from(id.0)] += 1;
        if post_only_cancel {
            // Spot: canceled without a New before it (SPEC §8 item 17); it counts as a
            // rejected order for the error-rate safeguard.
            self.close_order(
                slot,
                session,
                ExecType::Canceled,
                cl,
                None,
                text::POST_ONLY,
                now,
            );
            self.count_error(session, now);
            return Ok(());
        }
        if p.expire_ns != 0 {
            self.push_timer(p.expire_ns, TIMER_EXPIRE, key);
        }
        if p.effective_ns != 0 {
            self.orders.orders[slot as usize].state = State::PendingNew;
            self.push_timer(p.effective_ns, TIMER_ACTIVATE, key);
            self.report(
                slot,
                session,
                ExecType::PendingNew,
                OrdStatus::PendingNew,
                cl,
                None,
                None,
                ReportText::Description,
                now,
            );
            return Ok(());
        }
        self.report(
            slot,
            session,
            ExecType::New,
            OrdStatus::New,
            cl,
            None,
            None,
            ReportText::Description,
            now,
        );
        self.activate(slot, now);
        self.process_triggers(id, now);
        Ok(())
    }

    /// EffectiveTime reached: New, then as a fresh order.
    pub(super) fn activate_pending(&mut self, slot: u32, now: UtcTimestamp) {
        let o = self.orders.orders[slot as usize];
        self.orders.orders[slot as usize].state = State::Working;
        self.report(
            slot,
            o.session,
            ExecType::New,
            OrdStatus::New,
            o.cl_ord_id,
            None,
            None,
            ReportText::Description,
            now,
        );
        self.activate(slot, now);
    }
}

/// Which bucket price a request pays on Derivatives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BucketCost {
    /// D, F, G.
    Order,
    /// q.
    MassCancel,
}
