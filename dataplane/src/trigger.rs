//! Armed orders: the software twin of an FPGA trigger table. The control plane arms "when this
//! holds on the book, send this order"; the engine evaluates the table on every book update and
//! gets the orders to send, with nothing but risk and the template patch in between.
//!
//! ```text
//! control: arm(id, Trigger) / disarm(id)            (between polls)
//! book update ─► Top ─► Triggers::evaluate(instrument, &top, now, |Fire| …)
//!                                                    └─► Risk::check_new ─► patch ─► send
//! ```
//!
//! Conditions compare one number of the top of book with a threshold, inclusively: best ask
//! ≤ P, best bid ≥ P, last trade ≤ P or ≥ P, spread (ask − bid, ticks) ≤ S. A missing number
//! (empty side, stale book, no trade yet) makes the condition false. With [`Edge::Level`] a
//! trigger fires whenever its condition holds (and it is not cooling down); with [`Edge::Cross`]
//! only on an evaluation where the condition holds and did not hold on the previous evaluation
//! of that instrument — a trigger armed while its condition already holds waits for it to go
//! false first. A [`Mode::OneShot`] trigger leaves the table when it fires; a [`Mode::Rearm`]
//! one stays and is ignored for `cooldown_ns` after each firing (a crossing during the
//! cool-down is not remembered).
//!
//! Firing consumes the trigger (one-shot) or starts its cool-down whatever happens to the order
//! afterwards: a risk reject does not re-fire it on the next tick. Several triggers may fire on
//! one update; they fire in the order they were armed.
//!
//! Capacity is fixed at [`Triggers::new`]; arming beyond it is [`ArmError::Full`]. Evaluation
//! is one pass over a dense array of 24-byte slots with one comparison each, and never
//! allocates.

use tickwire_fix::outbound::TimeInForce;
use tickwire_fix::time::UtcTimestamp;

use crate::risk::{InstrumentId, Order, Top};

/// The control plane's id of an armed trigger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TriggerId(pub u32);

/// What a trigger waits for (prices and spreads in ticks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// Best ask ≤ P.
    AskAtOrBelow(i64),
    /// Best bid ≥ P.
    BidAtOrAbove(i64),
    /// Last trade price ≤ P.
    LastAtOrBelow(i64),
    /// Last trade price ≥ P.
    LastAtOrAbove(i64),
    /// Best ask − best bid ≤ S.
    SpreadAtOrBelow(i64),
}

/// When a holding condition fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    /// On every evaluation where it holds.
    Level,
    /// Only when it starts to hold.
    Cross,
}

/// What happens after a firing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Leave the table.
    OneShot,
    /// Stay armed; ignore the condition for this long after each firing.
    Rearm {
        /// Cool-down, ns.
        cooldown_ns: i64,
    },
}

/// An armed order: condition, order and firing rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trigger {
    /// The condition, on `order.instrument`'s book.
    pub condition: Condition,
    /// Level or crossing.
    pub edge: Edge,
    /// One-shot or re-arming.
    pub mode: Mode,
    /// The order to send.
    pub order: Order,
    /// Its TimeInForce (e.g. IOC): which precompiled template the engine patches.
    pub tif: TimeInForce,
}

impl Trigger {
    /// A one-shot level trigger.
    pub fn one_shot(condition: Condition, order: Order, tif: TimeInForce) -> Trigger {
        Trigger {
            condition,
            edge: Edge::Level,
            mode: Mode::OneShot,
            order,
            tif,
        }
    }

    /// A re-arming level trigger with a cool-down.
    pub fn rearming(
        condition: Condition,
        order: Order,
        tif: TimeInForce,
        cooldown_ns: i64,
    ) -> Trigger {
        Trigger {
            mode: Mode::Rearm { cooldown_ns },
            ..Trigger::one_shot(condition, order, tif)
        }
    }
}

/// A firing: the order to check and send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fire {
    /// Which trigger.
    pub id: TriggerId,
    /// The order.
    pub order: Order,
    /// Its TimeInForce.
    pub tif: TimeInForce,
}

/// Why a trigger was not armed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArmError {
    /// The table is full.
    Full {
        /// Its capacity.
        capacity: usize,
    },
    /// A trigger with this id is armed.
    DuplicateId(TriggerId),
    /// A field is out of range (a price, quantity or price threshold not positive, a negative
    /// spread threshold or cool-down).
    Invalid {
        /// The field.
        field: &'static str,
    },
}

impl core::fmt::Display for ArmError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ArmError::Full { capacity } => {
                write!(f, "the trigger table is full ({capacity} armed)")
            }
            ArmError::DuplicateId(id) => write!(f, "trigger {} is already armed", id.0),
            ArmError::Invalid { field } => write!(f, "{field} is out of range"),
        }
    }
}

impl std::error::Error for ArmError {}

/// One armed trigger as the control plane lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Armed {
    /// Its id.
    pub id: TriggerId,
    /// What was armed.
    pub trigger: Trigger,
    /// How often it fired.
    pub fired: u64,
    /// Cooling down until then (ns since the epoch; in the past when ready).
    pub ready_at_ns: i64,
}

// Indices into the per-evaluation value array: each condition is `values[sel] <= key`, with
// "≥ P" conditions negated into "−v ≤ −P" and missing values as i64::MAX (never ≤ anything
// a trigger can hold).
const ASK: u8 = 0;
const NEG_BID: u8 = 1;
const LAST: u8 = 2;
const NEG_LAST: u8 = 3;
const SPREAD: u8 = 4;

// Flags of a hot slot.
const CROSS: u8 = 1;
const ONE_SHOT: u8 = 2;
const WAS_TRUE: u8 = 4;
const SPENT: u8 = 8;

/// What the evaluation loop reads for every armed trigger: 24 bytes, so a table of 256 is 6 KiB
/// of consecutive memory.
#[derive(Debug, Clone, Copy)]
struct Hot {
    key: i64,
    ready_at_ns: i64,
    instrument: u16,
    sel: u8,
    flags: u8,
}

/// The rest of a trigger, read only when it fires or is listed (same index as its [`Hot`]).
#[derive(Debug, Clone, Copy)]
struct Cold {
    fire: Fire,
    trigger: Trigger,
    cooldown_ns: i64,
    fired: u64,
}

/// The trigger table.
#[derive(Debug, Clone)]
pub struct Triggers {
    hot: Vec<Hot>,
    cold: Vec<Cold>,
    capacity: usize,
}

#[inline]
fn values(top: &Top) -> [i64; 8] {
    let spread = match (top.ask, top.bid) {
        (Some(a), Some(b)) => a.saturating_sub(b),
        _ => i64::MAX,
    };
    [
        top.ask.unwrap_or(i64::MAX),
        top.bid.map_or(i64::MAX, |b| b.saturating_neg()),
        top.last.unwrap_or(i64::MAX),
        top.last.map_or(i64::MAX, |l| l.saturating_neg()),
        spread,
        i64::MAX,
        i64::MAX,
        i64::MAX,
    ]
}

impl Triggers {
    /// An empty table of `capacity` triggers (allocated now).
    pub fn new(capacity: usize) -> Triggers {
        Triggers {
            hot: Vec::with_capacity(capacity),
            cold: Vec::with_capacity(capacity),
            capacity,
        }
    }

    /// Capacity.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Armed triggers.
    pub fn len(&self) -> usize {
        self.hot.len()
    }

    /// True when nothing is armed.
    pub fn is_empty(&self) -> bool {
        self.hot.is_empty()
    }

    /// Arms `trigger` under `id`; it is evaluated from the next update on.
    ///
    /// # Errors
    /// [`ArmError::Full`], [`ArmError::DuplicateId`] or [`ArmError::Invalid`]; nothing changes.
    pub fn arm(&mut self, id: TriggerId, trigger: Trigger) -> Result<(), ArmError> {
        let invalid = |field| Err(ArmError::Invalid { field });
        if trigger.order.price <= 0 {
            return invalid("order.price");
        }
        if trigger.order.qty <= 0 {
            return invalid("order.qty");
        }
        let (sel, key) = match trigger.condition {
            Condition::AskAtOrBelow(p) => (ASK, p),
            Condition::BidAtOrAbove(p) => (NEG_BID, p.saturating_neg()),
            Condition::LastAtOrBelow(p) => (LAST, p),
            Condition::LastAtOrAbove(p) => (NEG_LAST, p.saturating_neg()),
            Condition::SpreadAtOrBelow(s) => (SPREAD, s),
        };
        let valid = match trigger.condition {
            Condition::AskAtOrBelow(p)
            | Condition::BidAtOrAbove(p)
            | Condition::LastAtOrBelow(p)
            | Condition::LastAtOrAbove(p) => p > 0,
            Condition::SpreadAtOrBelow(s) => s >= 0,
        };
        if !valid || key == i64::MAX {
            return invalid("condition");
        }
        let cooldown_ns = match trigger.mode {
            Mode::OneShot => 0,
            Mode::Rearm { cooldown_ns } if cooldown_ns < 0 => return invalid("cooldown_ns"),
            Mode::Rearm { cooldown_ns } => cooldown_ns,
        };
        if self.cold.iter().any(|c| c.fire.id == id) {
            return Err(ArmError::DuplicateId(id));
        }
        if self.hot.len() >= self.capacity {
            return Err(ArmError::Full {
                capacity: self.capacity,
            });
        }
        let cross = trigger.edge == Edge::Cross;
        let mut flags = 0;
        if cross {
            // A crossing trigger must first see its condition false.
            flags |= CROSS | WAS_TRUE;
        }
        if trigger.mode == Mode::OneShot {
            flags |= ONE_SHOT;
        }
        self.hot.push(Hot {
            key,
            ready_at_ns: i64::MIN,
            instrument: trigger.order.instrument.0,
            sel,
            flags,
        });
        self.cold.push(Cold {
            fire: Fire {
                id,
                order: trigger.order,
                tif: trigger.tif,
            },
            trigger,
            cooldown_ns,
            fired: 0,
        });
        Ok(())
    }

    /// Disarms `id`, returning what was armed (`None` if it was not).
    pub fn disarm(&mut self, id: TriggerId) -> Option<Trigger> {
        let i = self.cold.iter().position(|c| c.fire.id == id)?;
        // `remove` keeps the arming order; it shifts but never allocates.
        self.hot.remove(i);
        Some(self.cold.remove(i).trigger)
    }

    /// Disarms everything.
    pub fn disarm_all(&mut self) {
        self.hot.clear();
        self.cold.clear();
    }

    /// The armed triggers, in arming order.
    pub fn iter(&self) -> impl Iterator<Item = Armed> + '_ {
        self.hot.iter().zip(&self.cold).map(|(h, c)| Armed {
            id: c.fire.id,
            trigger: c.trigger,
            fired: c.fired,
            ready_at_ns: h.ready_at_ns,
        })
    }

    /// Evaluates every trigger on `instrument` against its new top of book, calling `fire` for
    /// each that fires, in arming order. Returns how many fired. One-shot triggers that fired
    /// are gone when this returns.
    #[inline]
    pub fn evaluate<F: FnMut(Fire)>(
        &mut self,
        instrument: InstrumentId,
        top: &Top,
        now: UtcTimestamp,
        mut fire: F,
    ) -> usize {
        let v = values(top);
        let now_ns = now.nanos;
        let inst = instrument.0;
        let mut fired = 0;
        let mut spent = false;
        for (h, c) in self.hot.iter_mut().zip(self.cold.iter_mut()) {
            if h.instrument != inst {
                continue;
            }
            let holds = v[usize::from(h.sel & 7)] <= h.key;
            let mut go = holds && now_ns >= h.ready_at_ns;
            if h.flags & CROSS != 0 {
                go &= h.flags & WAS_TRUE == 0;
                h.flags = if holds {
                    h.flags | WAS_TRUE
                } else {
                    h.flags & !WAS_TRUE
                };
            }
            if go {
                fire(c.fire);
                fired += 1;
                c.fired += 1;
                if h.flags & ONE_SHOT != 0 {
                    h.flags |= SPENT;
                    h.ready_at_ns = i64::MAX;
                    spent = true;
                } else {
                    h.ready_at_ns = now_ns.saturating_add(c.cooldown_ns);
                }
            }
        }
        if spent {
            self.compact();
        }
        fired
    }

    /// Drops spent one-shot triggers, keeping the order of the rest.
    fn compact(&mut self) {
        let mut keep = 0;
        for r in 0..self.hot.len() {
            if self.hot[r].flags & SPENT == 0 {
                self.hot[keep] = self.hot[r];
                self.cold[keep] = self.cold[r];
                keep += 1;
            }
        }
        self.hot.truncate(keep);
        self.cold.truncate(keep);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_values_never_hold() {
        let v = values(&Top {
            bid: None,
            ask: None,
            last: None,
            updated: UtcTimestamp::from_nanos(0),
        });
        assert!(v.iter().all(|&x| x == i64::MAX));
        let v = values(&Top {
            bid: Some(10),
            ask: Some(12),
            last: Some(11),
            updated: UtcTimestamp::from_nanos(0),
        });
        assert_eq!(v[..5], [12, -10, 11, -11, 2]);
    }
}
