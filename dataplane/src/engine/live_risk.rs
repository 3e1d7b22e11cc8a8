//! Risk limits changed while the engine runs: [`LiveGate`] is a [`Gate`] behind the engine's
//! [`PreTrade`] hook that takes limit changes, kill and re-arm from the control thread through a
//! wait-free queue.
//!
//! ```text
//! control thread: RiskControl::send(Limit(change) | Kill | Rearm) ─► rtrb ─┐
//!                 RiskControl::poll_event() ◄─ rtrb ◄─ Applied / Refused / Risk(event)
//! engine thread:  PreTrade::check / on_book ─► drain the queue ─► Gate ◄┘
//! ```
//!
//! The queue is drained at the start of every [`PreTrade::check`] (so a change is in force for
//! the very next order) and every [`PreTrade::on_book`] (so it is applied while the market
//! moves even when no order is checked). A limit change that does not validate is refused and
//! the previous limits stay in force ([`Risk::apply`](crate::risk::Risk::apply)). The risk
//! state's own events (kill switch on, re-armed) are forwarded to the event queue; when that
//! queue is full an event is dropped (the counters still tell: `counters.risk`).
//!
//! Kill here is the risk half of the kill switch: every new order is refused with `killed`.
//! The daemon also sends the engine's `BlockOrders` and `MassCancel` commands.

use tickwire_fix::time::UtcTimestamp;
use tickwire_fix::views::ExecutionReport;

use crate::counters::{bump, set, Shared};
use crate::risk::{Gate, KillReason, LimitChange, LimitError, RiskEvent};

use super::strategy::{BookUpdate, OrderIntent, PreTrade, Refusal, SessionId};
use super::QueueFull;

/// What the control thread asks of the risk gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RiskCommand {
    /// Change limits.
    Limit(LimitChange),
    /// Turn the kill switch on (an operator kill).
    Kill,
    /// Re-arm after a kill.
    Rearm,
}

/// What the risk gate tells the control thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RiskReply {
    /// The change is in force.
    Applied(LimitChange),
    /// The change was refused; the previous limits stay.
    Refused(LimitChange, LimitError),
    /// An event of the risk state (killed, re-armed).
    Risk(RiskEvent),
}

/// The control thread's handle on a [`LiveGate`].
#[derive(Debug)]
pub struct RiskControl {
    commands: rtrb::Producer<RiskCommand>,
    replies: rtrb::Consumer<RiskReply>,
}

impl RiskControl {
    /// Queues `cmd` for the next check or book update.
    ///
    /// # Errors
    /// [`QueueFull`].
    pub fn send(&mut self, cmd: RiskCommand) -> Result<(), QueueFull> {
        self.commands.push(cmd).map_err(|_| QueueFull)
    }

    /// The next reply, oldest first.
    pub fn poll_event(&mut self) -> Option<RiskReply> {
        self.replies.pop().ok()
    }
}

/// A [`Gate`] whose limits the control thread changes at run time.
#[derive(Debug)]
pub struct LiveGate {
    gate: Gate,
    commands: rtrb::Consumer<RiskCommand>,
    replies: rtrb::Producer<RiskReply>,
    counters: Shared,
}

impl LiveGate {
    /// Wraps `gate` (bound already, or bound later through [`LiveGate::gate_mut`]) with queues
    /// of `queue` entries, counting into `counters` (the engine's block).
    pub fn new(gate: Gate, queue: usize, counters: Shared) -> (LiveGate, RiskControl) {
        let (ctx, crx) = rtrb::RingBuffer::new(queue.max(1));
        let (rtx, rrx) = rtrb::RingBuffer::new(queue.max(1));
        (
            LiveGate {
                gate,
                commands: crx,
                replies: rtx,
                counters,
            },
            RiskControl {
                commands: ctx,
                replies: rrx,
            },
        )
    }

    /// The gate.
    pub fn gate(&self) -> &Gate {
        &self.gate
    }

    /// The gate, mutably (bindings at start-up).
    pub fn gate_mut(&mut self) -> &mut Gate {
        &mut self.gate
    }

    /// Applies every queued command and forwards the risk state's events.
    #[inline]
    fn drain(&mut self, now: UtcTimestamp) {
        if self.commands.is_empty() {
            return;
        }
        let c = &self.counters.counters().risk;
        while let Ok(cmd) = self.commands.pop() {
            bump(&c.commands, 1);
            let risk = self.gate.risk_mut();
            let reply = match cmd {
                RiskCommand::Limit(change) => match risk.apply(change) {
                    Ok(()) => Some(RiskReply::Applied(change)),
                    Err(e) => {
                        bump(&c.refused, 1);
                        Some(RiskReply::Refused(change, e))
                    }
                },
                RiskCommand::Kill => {
                    risk.kill(KillReason::Operator, now);
                    None
                }
                RiskCommand::Rearm => {
                    risk.rearm(now);
                    None
                }
            };
            if let Some(r) = reply {
                let _ = self.replies.push(r);
            }
            while let Some(e) = self.gate.risk_mut().poll_event() {
                let _ = self.replies.push(RiskReply::Risk(e));
            }
            set(&c.killed, u64::from(self.gate.risk().killed()));
        }
    }
}

impl PreTrade for LiveGate {
    #[inline]
    fn check(&mut self, now: UtcTimestamp, order: &OrderIntent<'_>) -> Result<(), Refusal> {
        self.drain(now);
        self.gate.check(now, order)
    }

    #[inline]
    fn on_book(&mut self, now: UtcTimestamp, update: &BookUpdate<'_>) {
        self.drain(now);
        self.gate.on_book(now, update);
    }

    #[inline]
    fn on_execution(&mut self, session: SessionId, report: &ExecutionReport<'_>) {
        self.gate.on_execution(session, report);
    }
}
