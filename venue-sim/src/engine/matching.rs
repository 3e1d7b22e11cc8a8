//! Matching: an order that is live in the engine (fresh, activated, triggered or re-priced)
//! trades against the opposite side in price-time priority, then rests or is cancelled by its
//! time in force; trades move the last price, which may fire trigger orders, which trade in
//! turn until nothing more fires.
//!
//! ```text
//! activate ─► trigger type? ─► trigger set ─(price)─► fire: 150=D, Market/Limit ─┐
//!     └──────────────────────────────────────────────────────────────────────────┴─► work
//! work ─► status/post-only/FOK checks ─► match_order ─► rest | cancel remainder (IOC/market/FOK)
//! ```

use tickwire_fix::time::UtcTimestamp;

use super::book::Opposite;
use super::event::{Fill, PublicTrade};
use super::instrument::{ref_index, Instrument};
use super::order::{Order, State, NIL};
use super::types::{
    ExecType, InstrumentId, InstrumentStatus, Liquidity, OrdStatus, OrdType, Side, StpMode,
    TimeInForce, TriggerRef, Venue,
};
use super::{ids, text, Engine, Event, RejectReason, ReportText};

/// Whether the order being worked is still live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    Open,
    Closed,
}

#[inline]
fn crosses(side: Side, limit: i64, best: i64) -> bool {
    match side {
        Side::Buy => best <= limit,
        Side::Sell => best >= limit,
    }
}

impl Engine {
    /// A newly live order: trigger types wait for their trigger, others are worked.
    pub(super) fn activate(&mut self, slot: u32, now: UtcTimestamp) {
        let o = self.orders.orders[slot as usize];
        if Order::is_trigger_type(o.entered_type) && o.triggered_at == i64::MIN {
            let inst = &mut self.instruments[usize::from(o.instrument.0)];
            let ord = &mut self.orders.orders[slot as usize];
            ord.state = State::Untriggered;
            if ord.is_trailing() {
                ord.anchor = inst.ref_price(o.trigger_ref).unwrap_or(i64::MIN);
            }
            if inst.triggers[ref_index(o.trigger_ref)]
                .insert(ord, slot)
                .is_err()
            {
                let t = RejectReason::ScheduledOrdersLimitExceeded.text(self.cfg.venue);
                self.cancel_own(slot, t, now);
            }
            return;
        }
        self.work(slot, now);
    }

    fn status_text(&self, status: InstrumentStatus) -> &'static str {
        let r = match status {
            InstrumentStatus::CancelOnly => RejectReason::MarketCancelOnly,
            InstrumentStatus::PostOnly => RejectReason::MarketPostOnly,
            _ => RejectReason::MarketUnavailable,
        };
        r.text(self.cfg.venue)
    }

    /// Trades the order (state Working, in no structure) and then rests or cancels it.
    pub(super) fn work(&mut self, slot: u32, now: UtcTimestamp) {
        self.orders.orders[slot as usize].state = State::Working;
        let o = self.orders.orders[slot as usize];
        let inst = &self.instruments[usize::from(o.instrument.0)];
        let would_cross = o.is_market() || inst.book.crosses(o.side, o.price);
        if !inst.status.matches() {
            if would_cross {
                let t = self.status_text(inst.status);
                self.cancel_own(slot, t, now);
            } else {
                self.rest(slot, now);
            }
            return;
        }
        if o.exec_inst.post_only && would_cross {
            self.cancel_own(slot, text::POST_ONLY, now);
            return;
        }
        if o.tif == TimeInForce::FillOrKill && self.fillable(slot) < o.leaves() {
            self.cancel_own(slot, text::FILL_OR_KILL, now);
            return;
        }
        if self.match_order(slot, now) == Outcome::Closed {
            return;
        }
        let o = &self.orders.orders[slot as usize];
        if o.is_market()
            || matches!(
                o.tif,
                TimeInForce::ImmediateOrCancel | TimeInForce::FillOrKill
            )
        {
            self.cancel_own(slot, text::IMMEDIATE_OR_CANCEL, now);
        } else {
            self.rest(slot, now);
        }
    }

    /// Puts the order in its level (visible part: display size for icebergs).
    pub(super) fn rest(&mut self, slot: u32, now: UtcTimestamp) {
        let o = &mut self.orders.orders[slot as usize];
        o.visible = if o.display > 0 {
            o.display.min(o.leaves())
        } else {
            o.leaves()
        };
        let (id, side, price) = (o.instrument, o.side, o.price);
        let inst = &mut self.instruments[usize::from(id.0)];
        match inst.book.push_back(&mut self.orders.orders, slot) {
            Ok(()) => self.touch(id, side, price),
            Err(_) => {
                let t = RejectReason::CapacityExhausted.text(self.cfg.venue);
                self.cancel_own(slot, t, now);
            }
        }
    }

    /// Quantity an order could trade right now (FOK check): resting quantity at acceptable
    /// prices in priority order, hidden iceberg quantity included, stopping where self-trade
    /// prevention would stop the order.
    fn fillable(&self, slot: u32) -> i64 {
        let o = &self.orders.orders[slot as usize];
        let need = o.leaves();
        let inst = &self.instruments[usize::from(o.instrument.0)];
        let mut sum = 0;
        for (px, l) in inst.book.levels(o.side.opposite()) {
            if !o.is_market() && !crosses(o.side, o.price, px) {
                break;
            }
            let mut s = inst.book.level(l).head;
            while s != NIL {
                let r = &self.orders.orders[s as usize];
                if r.account == o.account {
                    if o.stp != StpMode::CancelOldest {
                        return sum;
                    }
                } else {
                    sum += r.leaves();
                    if sum >= need {
                        return sum;
                    }
                }
                s = r.next;
            }
        }
        sum
    }

    /// Position quantity a reduce-only order may still trade.
    pub(super) fn reducible(&self, o: &Order) -> i64 {
        let pos = self.accounts[o.account.0 as usize].position[usize::from(o.instrument.0)];
        match o.side {
            Side::Sell => pos.max(0),
            Side::Buy => (-pos).max(0),
        }
    }

    fn match_order(&mut self, slot: u32, now: UtcTimestamp) -> Outcome {
        loop {
            let o = self.orders.orders[slot as usize];
            if o.leaves() <= 0 {
                return Outcome::Open;
            }
            let inst = &self.instruments[usize::from(o.instrument.0)];
            let Some((best, l)) = inst.book.best(o.side.opposite()) else {
                return Outcome::Open;
            };
            if !o.is_market() && !crosses(o.side, o.price, best) {
                return Outcome::Open;
            }
            let r = inst.book.level(l).head;
            let ro = self.orders.orders[r as usize];
            if ro.account == o.account {
                match o.stp {
                    StpMode::CancelNewest => {
                        self.cancel_own(slot, text::SELF_TRADE, now);
                        return Outcome::Closed;
                    }
                    StpMode::CancelOldest => {
                        self.cancel_own(r, text::SELF_TRADE, now);
                        continue;
                    }
                    StpMode::CancelBoth => {
                        self.cancel_own(r, text::SELF_TRADE, now);
                        self.cancel_own(slot, text::SELF_TRADE, now);
                        return Outcome::Closed;
                    }
                }
            }
            let mut q = o.leaves().min(ro.visible);
            if o.exec_inst.reduce_only {
                let cap = self.reducible(&o);
                if cap == 0 {
                    self.cancel_own(slot, text::REDUCE_ONLY_CLOSED, now);
                    return Outcome::Closed;
                }
                q = q.min(cap);
            }
            if ro.exec_inst.reduce_only {
                let cap = self.reducible(&ro);
                if cap == 0 {
                    self.cancel_own(r, text::REDUCE_ONLY_CLOSED, now);
                    continue;
                }
                q = q.min(cap);
            }
            if self.fill(r, l, slot, q, best, now) == Outcome::Closed {
                return Outcome::Closed;
            }
        }
    }

    /// One trade of `q` at `px` between resting `maker` (in level `l`) and `taker`. Returns
    /// whether the taker is done.
    fn fill(
        &mut self,
        maker: u32,
        l: u32,
        taker: u32,
        q: i64,
        px: i64,
        now: UtcTimestamp,
    ) -> Outcome {
        self.trade_no += 1;
        let trade_id = ids::trade_id(self.cfg.venue, self.cfg.id_seed, self.trade_no);
        let derivatives = self.cfg.venue == Venue::Derivatives;
        let m = self.orders.orders[maker as usize];
        let t = self.orders.orders[taker as usize];
        let id = m.instrument;
        let inst = &mut self.instruments[usize::from(id.0)];
        inst.trade_seq += 1;
        let trade_seq = inst.trade_seq;
        inst.last_price = Some(px);
        let notional = Instrument::notional(px, q);
        let maker_fee = inst.fee_units(notional, inst.maker_rate);
        let taker_fee = inst.fee_units(notional, inst.taker_rate);
        inst.book.level_mut(l).visible -= q;
        let fill = |liquidity| Fill {
            last_px: inst.px(px),
            last_qty: inst.qty(q),
            net_money: inst.money(notional),
            trade_id,
            trade_seq,
            liquidity,
        };
        let (maker_fill, taker_fill) = (fill(Liquidity::Maker), fill(Liquidity::Taker));
        let trade = PublicTrade {
            instrument: id,
            price: inst.px(px),
            qty: inst.qty(q),
            aggressor: t.side,
            taker_ord_type: t.ord_type,
            trade_seq,
            trade_id,
            time: now,
        };
        for (slot, fee) in [(maker, maker_fee), (taker, taker_fee)] {
            let o = &mut self.orders.orders[slot as usize];
            o.cum += q;
            o.cum_notional += notional;
            o.cum_fee = o.cum_fee.saturating_add(fee);
            if slot == maker {
                o.visible -= q;
                o.updated_ns = now.nanos;
            }
            if derivatives || o.leverage {
                let delta = match o.side {
                    Side::Buy => q,
                    Side::Sell => -q,
                };
                let pos = &mut self.accounts[o.account.0 as usize].position[usize::from(id.0)];
                let before = *pos;
                *pos = pos.saturating_add(delta);
                let closed = before != 0 && (*pos == 0 || (before > 0) != (*pos > 0));
                if closed && !self.flattened.contains(&(o.account, id)) {
                    self.flattened.push((o.account, id));
                }
            }
        }
        for (slot, f) in [(maker, maker_fill), (taker, taker_fill)] {
            let o = &self.orders.orders[slot as usize];
            let status = if o.leaves() == 0 {
                OrdStatus::Filled
            } else {
                OrdStatus::PartiallyFilled
            };
            let (owner, cl) = (o.session, o.cl_ord_id);
            self.report(
                slot,
                owner,
                ExecType::Trade,
                status,
                cl,
                None,
                Some(f),
                ReportText::None,
                now,
            );
        }
        self.push(Event::Trade(trade));
        self.touch(id, m.side, px);
        let mo = self.orders.orders[maker as usize];
        if mo.leaves() == 0 {
            self.finish(maker);
        } else if mo.visible == 0 {
            // Iceberg reload: a new display slice at the back of the queue.
            let v = mo.display.max(1).min(mo.leaves());
            let seq = self.next_seq();
            let queued_ns = self.next_queue_ns(now);
            let inst = &mut self.instruments[usize::from(id.0)];
            inst.book.set_visible(&mut self.orders.orders, maker, v);
            inst.book.move_to_back(&mut self.orders.orders, maker);
            let o = &mut self.orders.orders[maker as usize];
            o.seq = seq;
            o.queued_ns = queued_ns;
        }
        if self.orders.orders[taker as usize].leaves() == 0 {
            self.finish(taker);
            return Outcome::Closed;
        }
        Outcome::Open
    }

    /// Fires every trigger order the instrument's reference prices meet, in time priority,
    /// repeating while the resulting trades fire more.
    pub(super) fn process_triggers(&mut self, id: InstrumentId, now: UtcTimestamp) {
        let mut fired_slots = std::mem::take(&mut self.scratch_fired);
        loop {
            self.fired.clear();
            for r in [TriggerRef::Last, TriggerRef::Index] {
                let inst = &mut self.instruments[usize::from(id.0)];
                let Some(p) = inst.ref_price(r) else {
                    continue;
                };
                fired_slots.clear();
                inst.triggers[ref_index(r)].collect(p, &mut self.orders.orders, &mut fired_slots);
                for &s in &fired_slots {
                    let o = &self.orders.orders[s as usize];
                    self.fired.push((o.seq, s, p));
                }
            }
            if self.fired.is_empty() {
                break;
            }
            self.fired.sort_unstable();
            let batch = std::mem::take(&mut self.fired);
            for &(seq, slot, p) in &batch {
                let o = &self.orders.orders[slot as usize];
                if o.state == State::Untriggered && o.seq == seq {
                    self.fire(slot, p, now);
                }
            }
            self.fired = batch;
        }
        self.fired.clear();
        self.scratch_fired = fired_slots;
    }

    /// A trigger fired at reference price `p`: 150=D with the new type and 1102, then work.
    fn fire(&mut self, slot: u32, p: i64, now: UtcTimestamp) {
        let seq = self.next_seq();
        let queued_ns = self.next_queue_ns(now);
        let tick =
            self.instruments[usize::from(self.orders.orders[slot as usize].instrument.0)].tick;
        let o = &mut self.orders.orders[slot as usize];
        o.triggered_at = p;
        o.ord_type = Order::triggered_type(o.entered_type);
        o.state = State::Working;
        o.seq = seq;
        o.queued_ns = queued_ns;
        o.updated_ns = now.nanos;
        if o.entered_type == OrdType::TrailingStopLimit {
            // The limit is the trigger price moved by the offset, on the tick grid, on the
            // passive side.
            o.price = match o.side {
                Side::Sell => {
                    let x = p - o.price;
                    (x + tick - 1).div_euclid(tick) * tick
                }
                Side::Buy => (p + o.price).div_euclid(tick) * tick,
            }
            .max(tick);
        }
        let (owner, cl) = (o.session, o.cl_ord_id);
        let status = Engine::live_status(o);
        self.report(
            slot,
            owner,
            ExecType::Restated,
            status,
            cl,
            None,
            None,
            ReportText::None,
            now,
        );
        self.work(slot, now);
    }
}
