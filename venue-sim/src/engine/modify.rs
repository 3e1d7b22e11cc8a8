//! Requests on existing orders: cancel (35=F), amend (35=G), status (35=H), mass cancel (35=q)
//! and the end of a session (cancel-on-disconnect), SPEC §4.3–4.6, §3.4.
//!
//! Scope rules: single cancel and amend reach only orders placed on the same session (OrderID
//! wins over OrigClOrdID); status reaches any order of the account; mass cancel reaches the
//! session's orders (530=1, 6) or the whole account (530=7).

use tickwire_fix::time::UtcTimestamp;

use super::instrument::{ref_index, Instrument, MAX_PRICE_UNITS};
use super::intake::BucketCost;
use super::order::{Order, State};
use super::request::{AmendRequest, CancelRequest, MassCancelRequest, StatusRequest};
use super::types::{
    AccountId, ClOrdId, ExecType, InstrumentStatus, MassCancelScope, MsgKind, OrdStatus, OrdType,
    SessionId, Venue,
};
use super::{clordid_key, ids, text, Engine, RejectReason, ReportText, SessionError};
use crate::limits::Transaction;

impl Engine {
    /// The live order a request names: by OrderID if given (it wins), else by OrigClOrdID
    /// among `session`'s orders.
    fn find_order(
        &self,
        session: SessionId,
        order_id: Option<&[u8]>,
        orig: Option<&[u8]>,
    ) -> Option<u32> {
        if let Some(oid) = order_id {
            let key = ids::order_key(self.cfg.venue, self.cfg.id_seed, oid)?;
            return self.orders.find(key);
        }
        let orig = orig?;
        let slot = *self.by_clordid.get(&clordid_key(session, orig))?;
        let o = &self.orders.orders[slot as usize];
        (o.state != State::Free && o.session == session && o.cl_ord_id.as_bytes() == orig)
            .then_some(slot)
    }

    /// Handles an OrderCancelRequest: a Canceled report (11 = the cancel's ClOrdID, 41 = the
    /// order's) or a reject.
    ///
    /// # Errors
    /// [`SessionError`] for an unknown or closed session.
    pub fn handle_cancel(
        &mut self,
        session: SessionId,
        req: &CancelRequest<'_>,
        now: UtcTimestamp,
    ) -> Result<(), SessionError> {
        self.order_request(
            session,
            MsgKind::Cancel,
            req.cl_ord_id,
            now,
            |e, account| e.cancel(session, account, req, now),
        )
    }

    fn cancel(
        &mut self,
        session: SessionId,
        account: AccountId,
        req: &CancelRequest<'_>,
        now: UtcTimestamp,
    ) -> Result<(), RejectReason> {
        self.check_clordid_shape(req.cl_ord_id)?;
        let cl = ClOrdId::new(req.cl_ord_id).ok_or(RejectReason::ClOrdIdInvalid)?;
        let slot = self
            .find_order(session, req.order_id, req.orig_cl_ord_id)
            .ok_or(RejectReason::UnknownOrder)?;
        let o = self.orders.orders[slot as usize];
        if o.session != session || self.instrument_id(req.symbol) != Some(o.instrument) {
            return Err(RejectReason::UnknownOrder);
        }
        let tx = Transaction::Cancel {
            age_ns: now.nanos - o.amended_ns,
            filled: false,
        };
        self.charge(session, account, o.instrument, tx, BucketCost::Order, now)?;
        self.register_clordid(account, req.cl_ord_id, now)?;
        if matches!(
            self.instruments[usize::from(o.instrument.0)].status,
            InstrumentStatus::Maintenance | InstrumentStatus::Delisted
        ) {
            return Err(RejectReason::MarketUnavailable);
        }
        self.close_order(
            slot,
            session,
            ExecType::Canceled,
            cl,
            Some(o.cl_ord_id),
            text::CANCELED_BY_USER,
            now,
        );
        Ok(())
    }

    /// Handles an OrderCancelReplaceRequest (amend in place, SPEC §4.4): a Replaced report
    /// (39=E while the order is Pending New) and any fills a new crossing price causes, or a
    /// Canceled report when the new quantity is at most the filled one, or a reject.
    ///
    /// # Errors
    /// [`SessionError`] for an unknown or closed session.
    pub fn handle_amend(
        &mut self,
        session: SessionId,
        req: &AmendRequest<'_>,
        now: UtcTimestamp,
    ) -> Result<(), SessionError> {
        self.order_request(session, MsgKind::Amend, req.cl_ord_id, now, |e, account| {
            e.amend(session, account, req, now)
        })
    }

    fn amend(
        &mut self,
        session: SessionId,
        account: AccountId,
        req: &AmendRequest<'_>,
        now: UtcTimestamp,
    ) -> Result<(), RejectReason> {
        if self.cfg.venue == Venue::Derivatives && !self.cfg.derivatives_amend {
            return Err(RejectReason::UnsupportedMessage);
        }
        self.check_clordid_shape(req.cl_ord_id)?;
        let cl = ClOrdId::new(req.cl_ord_id).ok_or(RejectReason::ClOrdIdInvalid)?;
        let slot = self
            .find_order(session, req.order_id, req.orig_cl_ord_id)
            .ok_or(RejectReason::UnknownOrder)?;
        let o = self.orders.orders[slot as usize];
        if o.session != session || self.instrument_id(req.symbol) != Some(o.instrument) {
            return Err(RejectReason::UnknownOrder);
        }
        let id = o.instrument;
        let inst = &self.instruments[usize::from(id.0)];
        let new_qty = inst
            .qty_units(req.qty)
            .map_err(|_| RejectReason::InvalidQuantity)?;
        if new_qty <= 0 || new_qty % inst.lot != 0 {
            return Err(RejectReason::InvalidQuantity);
        }
        let to_cancel = new_qty <= o.cum;
        let age_ns = now.nanos - o.amended_ns;
        let tx = if to_cancel {
            Transaction::Cancel {
                age_ns,
                filled: false,
            }
        } else {
            Transaction::Amend { age_ns }
        };
        self.charge(session, account, id, tx, BucketCost::Order, now)?;
        self.register_clordid(account, req.cl_ord_id, now)?;
        let inst = &self.instruments[usize::from(id.0)];
        match inst.status {
            InstrumentStatus::Maintenance | InstrumentStatus::Delisted => {
                return Err(RejectReason::MarketUnavailable)
            }
            InstrumentStatus::CancelOnly => return Err(RejectReason::MarketCancelOnly),
            InstrumentStatus::PostOnly if !o.exec_inst.post_only => {
                return Err(RejectReason::MarketPostOnly)
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
        if req.side != o.side || req.ord_type != o.entered_type || req.tif != o.tif {
            return Err(RejectReason::InvalidArguments);
        }
        if to_cancel {
            // Quantity at or below the filled quantity: the order keeps what it has filled
            // and the rest is cancelled (SPEC §4.4).
            self.orders.orders[slot as usize].qty = o.cum;
            self.close_order(
                slot,
                session,
                ExecType::Canceled,
                cl,
                Some(o.cl_ord_id),
                text::AMENDED_BELOW_FILLED,
                now,
            );
            return Ok(());
        }
        if new_qty < inst.min_qty {
            return Err(RejectReason::OrderMinimumNotMet);
        }
        if new_qty > inst.max_qty {
            return Err(RejectReason::OrderMaximumExceeded);
        }
        let triggered = o.triggered_at != i64::MIN;
        let new_price = match req.price {
            Some(p) if Order::has_limit(o.entered_type) => {
                let p = inst.price_units(p).map_err(|e| match e {
                    tickwire_fix::decimal::DecimalError::Inexact => {
                        RejectReason::TickSizeCheckFailed
                    }
                    _ => RejectReason::InvalidPrice,
                })?;
                let offset = o.entered_type == OrdType::TrailingStopLimit && !triggered;
                if p < i64::from(!offset) || p > MAX_PRICE_UNITS {
                    return Err(RejectReason::InvalidPrice);
                }
                if p % inst.tick != 0 {
                    return Err(RejectReason::TickSizeCheckFailed);
                }
                p
            }
            _ => o.price,
        };
        let new_stop = match req.stop_px {
            Some(s) if Order::is_trigger_type(o.entered_type) => {
                let s = inst
                    .price_units(s)
                    .map_err(|_| RejectReason::TickSizeCheckFailed)?;
                if s <= 0 || s > MAX_PRICE_UNITS {
                    return Err(RejectReason::InvalidPrice);
                }
                if s % inst.tick != 0 {
                    return Err(RejectReason::TickSizeCheckFailed);
                }
                s
            }
            _ => o.stop,
        };
        let new_display = match req.display_qty {
            None => o.display,
            Some(d) => {
                if o.display == 0 {
                    return Err(RejectReason::InvalidArguments);
                }
                let d = inst
                    .qty_units(d)
                    .map_err(|_| RejectReason::InvalidArguments)?;
                let remaining = new_qty - o.cum;
                if d <= 0 || d % inst.lot != 0 || d > new_qty || d.saturating_mul(15) < remaining {
                    return Err(RejectReason::InvalidArguments);
                }
                d
            }
        };
        if let Some(min_cost) = inst.min_cost {
            let reference = match o.ord_type {
                OrdType::Limit | OrdType::StopLossLimit | OrdType::TakeProfitLimit => new_price,
                OrdType::StopLoss | OrdType::TakeProfit => new_stop,
                _ => 0,
            };
            if reference > 0 && Instrument::notional(reference, new_qty) < min_cost {
                return Err(RejectReason::CostMinimumNotMet);
            }
        }
        let price_changed = new_price != o.price;
        if (req.post_only || o.exec_inst.post_only)
            && o.state == State::Resting
            && price_changed
            && inst.book.crosses(o.side, new_price)
        {
            return Err(RejectReason::PostWouldExecute);
        }
        if price_changed
            && o.state == State::Resting
            && inst
                .book
                .would_need_level_beyond_capacity(o.side, new_price)
        {
            return Err(RejectReason::CapacityExhausted);
        }

        // Apply: the order keeps its OrderID and fills and takes the new ClOrdID.
        let old_cl = o.cl_ord_id;
        let old_key = clordid_key(session, old_cl.as_bytes());
        if self.by_clordid.get(&old_key) == Some(&slot) {
            self.by_clordid.remove(&old_key);
        }
        self.by_clordid
            .insert(clordid_key(session, cl.as_bytes()), slot);
        {
            let ord = &mut self.orders.orders[slot as usize];
            ord.cl_ord_id = cl;
            ord.amended_ns = now.nanos;
            ord.updated_ns = now.nanos;
        }
        match o.state {
            State::Resting if price_changed => {
                // Back of the new price's queue; a crossing price trades first.
                self.detach(slot);
                let seq = self.next_seq();
                let queued_ns = self.next_queue_ns(now);
                let ord = &mut self.orders.orders[slot as usize];
                ord.price = new_price;
                ord.qty = new_qty;
                ord.display = new_display;
                ord.stop = new_stop;
                ord.seq = seq;
                ord.queued_ns = queued_ns;
                self.report(
                    slot,
                    session,
                    ExecType::Replaced,
                    OrdStatus::Replaced,
                    cl,
                    Some(old_cl),
                    None,
                    ReportText::None,
                    now,
                );
                self.work(slot, now);
                self.process_triggers(id, now);
            }
            State::Resting => {
                let leaves = new_qty - o.cum;
                let mut visible = if o.display > 0 {
                    o.visible.min(new_display).min(leaves)
                } else {
                    leaves
                };
                if visible == 0 {
                    visible = new_display.max(1).min(leaves);
                }
                let seq = self.next_seq();
                let queued_ns = self.next_queue_ns(now);
                let inst = &mut self.instruments[usize::from(id.0)];
                {
                    let ord = &mut self.orders.orders[slot as usize];
                    ord.qty = new_qty;
                    ord.display = new_display;
                    ord.stop = new_stop;
                }
                inst.book
                    .set_visible(&mut self.orders.orders, slot, visible);
                if new_qty > o.qty {
                    // A larger order goes to the back of its queue.
                    inst.book.move_to_back(&mut self.orders.orders, slot);
                    let ord = &mut self.orders.orders[slot as usize];
                    ord.seq = seq;
                    ord.queued_ns = queued_ns;
                }
                self.touch(id, o.side, o.price);
                self.report(
                    slot,
                    session,
                    ExecType::Replaced,
                    OrdStatus::Replaced,
                    cl,
                    Some(old_cl),
                    None,
                    ReportText::None,
                    now,
                );
            }
            State::Untriggered => {
                let inst = &mut self.instruments[usize::from(id.0)];
                let set = &mut inst.triggers[ref_index(o.trigger_ref)];
                set.remove(&o, slot);
                let ord = &mut self.orders.orders[slot as usize];
                ord.qty = new_qty;
                ord.price = new_price;
                ord.stop = new_stop;
                let reinserted = set.insert(ord, slot).is_ok();
                self.report(
                    slot,
                    session,
                    ExecType::Replaced,
                    OrdStatus::Replaced,
                    cl,
                    Some(old_cl),
                    None,
                    ReportText::None,
                    now,
                );
                if reinserted {
                    self.process_triggers(id, now);
                } else {
                    let t = RejectReason::ScheduledOrdersLimitExceeded.text(self.cfg.venue);
                    self.cancel_own(slot, t, now);
                }
            }
            State::PendingNew => {
                let ord = &mut self.orders.orders[slot as usize];
                ord.qty = new_qty;
                ord.price = new_price;
                ord.stop = new_stop;
                ord.display = new_display;
                self.report(
                    slot,
                    session,
                    ExecType::Replaced,
                    OrdStatus::PendingReplace,
                    cl,
                    Some(old_cl),
                    None,
                    ReportText::None,
                    now,
                );
            }
            State::Working | State::Free => return Err(RejectReason::UnknownOrder),
        }
        Ok(())
    }

    /// Handles an OrderStatusRequest: a 150=I report with the order's current state
    /// (11 = the order's ClOrdID), or 380=101 for an unknown or finished order.
    ///
    /// # Errors
    /// [`SessionError`] for an unknown or closed session.
    pub fn handle_status(
        &mut self,
        session: SessionId,
        req: &StatusRequest<'_>,
        now: UtcTimestamp,
    ) -> Result<(), SessionError> {
        let account = self.session(session)?.account;
        self.run_timers(now);
        let found = if self.cfg.venue == Venue::Derivatives && !self.cfg.derivatives_order_status {
            Err(RejectReason::UnsupportedMessage)
        } else {
            self.find_order(session, req.order_id, Some(req.cl_ord_id))
                .filter(|&s| {
                    let o = &self.orders.orders[s as usize];
                    o.account == account && self.instrument_id(req.symbol) == Some(o.instrument)
                })
                .ok_or(RejectReason::UnknownOrder)
        };
        match found {
            Ok(slot) => {
                let o = &self.orders.orders[slot as usize];
                let (cl, status) = (o.cl_ord_id, Engine::live_status(o));
                self.report(
                    slot,
                    session,
                    ExecType::OrderStatus,
                    status,
                    cl,
                    None,
                    None,
                    ReportText::None,
                    now,
                );
            }
            Err(reason) => self.reject(session, MsgKind::Status, req.cl_ord_id, reason, now),
        }
        self.end_call(now);
        Ok(())
    }

    /// Handles an OrderMassCancelRequest: one Canceled report per cancelled order (11 = the
    /// order's own ClOrdID, no 41, `Order canceled by user`); nothing if nothing matched. On
    /// Spot it is priced as a batch cancel and never refused by the rate counter.
    ///
    /// # Errors
    /// [`SessionError`] for an unknown or closed session.
    pub fn handle_mass_cancel(
        &mut self,
        session: SessionId,
        req: &MassCancelRequest<'_>,
        now: UtcTimestamp,
    ) -> Result<(), SessionError> {
        self.order_request(
            session,
            MsgKind::MassCancel,
            req.cl_ord_id,
            now,
            |e, account| e.mass_cancel(session, account, req, now),
        )
    }

    fn mass_cancel(
        &mut self,
        session: SessionId,
        account: AccountId,
        req: &MassCancelRequest<'_>,
        now: UtcTimestamp,
    ) -> Result<(), RejectReason> {
        self.check_clordid_shape(req.cl_ord_id)?;
        let only = match req.scope {
            MassCancelScope::SessionSymbol => {
                let sym = req.symbol.ok_or(RejectReason::MissingField { tag: 55 })?;
                Some(self.lookup_symbol(sym)?)
            }
            _ => None,
        };
        if self.cfg.venue == Venue::Derivatives {
            // The bucket is per session; the instrument argument is unused there.
            self.charge(
                session,
                account,
                only.unwrap_or(super::InstrumentId(0)),
                Transaction::Add,
                BucketCost::MassCancel,
                now,
            )?;
        }
        self.register_clordid(account, req.cl_ord_id, now)?;
        let mut list = std::mem::take(&mut self.scratch);
        list.clear();
        for slot in 0..self.orders.high_water() {
            let o = &self.orders.orders[slot];
            if o.state == State::Free || o.account != account {
                continue;
            }
            if req.scope != MassCancelScope::Account && o.session != session {
                continue;
            }
            if only.is_some_and(|i| i != o.instrument) {
                continue;
            }
            if matches!(
                self.instruments[usize::from(o.instrument.0)].status,
                InstrumentStatus::Maintenance | InstrumentStatus::Delisted
            ) {
                continue;
            }
            list.push(slot as u32);
        }
        self.cancel_batch(&list, session, text::CANCELED_BY_USER, now);
        self.scratch = list;
        Ok(())
    }

    /// Cancels `slots` (priced as one batch cancel, never refused), reporting to `session`.
    fn cancel_batch(
        &mut self,
        slots: &[u32],
        session: SessionId,
        reason: &'static str,
        now: UtcTimestamp,
    ) {
        for &slot in slots {
            let o = self.orders.orders[slot as usize];
            if o.state == State::Free {
                continue;
            }
            if self.cfg.venue == Venue::Spot && self.cfg.spot_rate_limit {
                self.accounts[o.account.0 as usize].rate[usize::from(o.instrument.0)]
                    .charge_unrefused(
                        Transaction::Cancel {
                            age_ns: now.nanos - o.amended_ns,
                            filled: false,
                        },
                        now,
                    );
            }
            self.close_order(
                slot,
                session,
                ExecType::Canceled,
                o.cl_ord_id,
                None,
                reason,
                now,
            );
        }
    }

    /// The session ended (Logout or connection loss). With cancel-on-disconnect on (8674=0)
    /// every order placed on it is cancelled with `Cancel on disconnect`; the reports are
    /// addressed to the closed session (the FIX layer stores them for a 141=N resume). The
    /// session id is invalid afterwards.
    ///
    /// # Errors
    /// [`SessionError`] for an unknown or already closed session.
    pub fn handle_disconnect(
        &mut self,
        session: SessionId,
        now: UtcTimestamp,
    ) -> Result<(), SessionError> {
        let cod = self.session(session)?.cfg.cancel_on_disconnect;
        self.run_timers(now);
        self.sessions[session.index as usize].open = false;
        if cod {
            let mut list = std::mem::take(&mut self.scratch);
            list.clear();
            for slot in 0..self.orders.high_water() {
                let o = &self.orders.orders[slot];
                if o.state != State::Free && o.session == session {
                    list.push(slot as u32);
                }
            }
            self.cancel_batch(&list, session, text::CANCEL_ON_DISCONNECT, now);
            self.scratch = list;
        }
        self.end_call(now);
        Ok(())
    }
}
