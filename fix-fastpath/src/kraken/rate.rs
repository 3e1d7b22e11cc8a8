//! Kraken's rate-limit arithmetic (SPEC §5): the Spot per-pair rate counter with its decay and
//! order-age cancel penalty, and the Derivatives per-session token bucket.
//!
//! One model, two users: the venue simulator charges it on receipt and refuses what would pass
//! the threshold; the appliance's pre-trade throttle keeps a mirror of the same counter, charged
//! on send, and never sends what the venue would refuse. Each limiter is a small `Copy` value
//! with no clock: every call takes `now`. Counters are integers (micro-units for the Spot
//! counter, milli-tokens for the bucket), never `f64`, so Kraken's worked examples come out
//! exact; nothing allocates.
//!
//! Spot algorithm (SPEC §5.1, boundary taken as "refuse when counter + cost > threshold"):
//! decay the counter to `now`; cost = fixed part + age part; if the transaction may be refused
//! and the counter would pass the threshold, charge only the fixed part and refuse
//! ([`SpotRateCounter::charge`], the venue's view); otherwise charge the whole cost. Mass
//! cancels are priced as batch cancels and never refused ([`SpotRateCounter::charge_unrefused`]).
//! A sender that must not be refused tests first ([`SpotRateCounter::counter_micros`] + cost
//! against the threshold) and then charges with `charge_unrefused`.
//!
//! Decay and refill are computed from the elapsed time at each call and rounded down, so a
//! mirror that is consulted more often than the venue's counter decays slightly less: it errs on
//! the safe side.

use crate::time::{UtcTimestamp, NANOS_PER_SEC};

/// Micro-units per Spot counter unit.
pub const MICRO: i64 = 1_000_000;

/// Kraken's Spot verification tiers (SPEC §5.1 table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Tier {
    /// Decay 1/s, threshold 60, 60 open orders per pair.
    Starter,
    /// Decay 2.34/s, threshold 125, 80 open orders per pair.
    #[default]
    Intermediate,
    /// Decay 3.75/s, threshold 180, 225 open orders per pair.
    Pro,
}

/// The numbers of one tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TierParams {
    /// Counter decay per second, in micro-units (2.34/s = 2_340_000).
    pub decay_micros_per_sec: i64,
    /// Threshold in whole units: a transaction is refused when counter + cost exceeds it.
    pub threshold: i64,
    /// Most open orders one client may have on one pair.
    pub max_open_orders: u32,
}

impl Tier {
    /// Kraken's published numbers for this tier.
    pub const fn params(self) -> TierParams {
        match self {
            Tier::Starter => TierParams {
                decay_micros_per_sec: MICRO,
                threshold: 60,
                max_open_orders: 60,
            },
            Tier::Intermediate => TierParams {
                decay_micros_per_sec: 2_340_000,
                threshold: 125,
                max_open_orders: 80,
            },
            Tier::Pro => TierParams {
                decay_micros_per_sec: 3_750_000,
                threshold: 180,
                max_open_orders: 225,
            },
        }
    }
}

/// One transaction as the Spot counter prices it. Ages are nanoseconds since the order was
/// created or last amended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transaction {
    /// NewOrderSingle (35=D): +1.
    Add,
    /// Amend (35=G): +1 and +3/+2/+1 below 5/10/15 s.
    Amend {
        /// Order age in nanoseconds.
        age_ns: i64,
    },
    /// Legacy REST edit (not on FIX): +1 and +6/+5/+4/+2/+1 below 5/10/15/45/90 s.
    Edit {
        /// Order age in nanoseconds.
        age_ns: i64,
    },
    /// Cancel (35=F), or an amend to at most the filled quantity: +8/+6/+5/+4/+2/+1 below
    /// 5/10/15/45/90/300 s, nothing for a fully filled order.
    Cancel {
        /// Order age in nanoseconds.
        age_ns: i64,
        /// True if the order was fully filled (no penalty, changelog Oct 2020).
        filled: bool,
    },
    /// Batch add of `n` orders: +n/2.
    BatchAdd {
        /// Number of orders.
        n: u32,
    },
}

/// Age brackets in seconds, shared by the tables below.
const BRACKETS_S: [i64; 6] = [5, 10, 15, 45, 90, 300];

#[inline]
fn age_cost(age_ns: i64, table: &[i64; 6]) -> i64 {
    let age_s_ns = age_ns.max(0);
    for (limit, cost) in BRACKETS_S.iter().zip(table) {
        if age_s_ns < limit * NANOS_PER_SEC {
            return *cost;
        }
    }
    0
}

/// `elapsed * rate / per`, rounded down, saturating; in `i64` when the product fits (the common
/// case: a division by a constant or a plain `i64` division), else in `i128`.
#[inline]
fn scale(elapsed: i64, rate: i64, per: i64) -> i64 {
    match elapsed.checked_mul(rate) {
        Some(p) => p / per,
        None => {
            let q = i128::from(elapsed) * i128::from(rate) / i128::from(per);
            i64::try_from(q).unwrap_or(if q < 0 { i64::MIN } else { i64::MAX })
        }
    }
}

impl Transaction {
    /// The fixed part in micro-units: charged on receipt even if the transaction is refused.
    #[inline]
    pub fn fixed_micros(self) -> i64 {
        match self {
            Transaction::Add | Transaction::Amend { .. } | Transaction::Edit { .. } => MICRO,
            Transaction::Cancel { .. } => 0,
            Transaction::BatchAdd { n } => i64::from(n) * MICRO / 2,
        }
    }

    /// The age-dependent part in micro-units.
    #[inline]
    pub fn age_micros(self) -> i64 {
        let units = match self {
            Transaction::Add | Transaction::BatchAdd { .. } => 0,
            Transaction::Amend { age_ns } => age_cost(age_ns, &[3, 2, 1, 0, 0, 0]),
            Transaction::Edit { age_ns } => age_cost(age_ns, &[6, 5, 4, 2, 1, 0]),
            Transaction::Cancel { filled: true, .. } => 0,
            Transaction::Cancel { age_ns, .. } => age_cost(age_ns, &[8, 6, 5, 4, 2, 1]),
        };
        units * MICRO
    }

    /// Fixed plus age part, in micro-units.
    #[inline]
    pub fn cost_micros(self) -> i64 {
        self.fixed_micros() + self.age_micros()
    }
}

/// A Spot transaction was refused: the counter would pass the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimited {
    /// The counter after charging the fixed part, in micro-units.
    pub counter_micros: i64,
}

/// Kraken's Spot rate counter for one client on one pair.
#[derive(Debug, Clone, Copy)]
pub struct SpotRateCounter {
    params: TierParams,
    counter_micros: i64,
    last: UtcTimestamp,
}

impl SpotRateCounter {
    /// A counter at zero.
    pub fn new(params: TierParams) -> SpotRateCounter {
        SpotRateCounter {
            params,
            counter_micros: 0,
            last: UtcTimestamp::from_nanos(i64::MIN),
        }
    }

    /// The tier numbers in use.
    pub fn params(&self) -> TierParams {
        self.params
    }

    /// Replaces the tier numbers (a tier change, or the appliance tightening its mirror); the
    /// counter keeps its value.
    pub fn set_params(&mut self, params: TierParams) {
        self.params = params;
    }

    // `last` starts at i64::MIN: the first call's elapsed time saturates and decays the
    // counter, which is still 0, to 0 — the same as not decaying — and one comparison serves
    // every call.
    #[inline]
    fn decay(&mut self, now: UtcTimestamp) {
        if now > self.last {
            let decayed = scale(
                now.nanos.saturating_sub(self.last.nanos),
                self.params.decay_micros_per_sec,
                NANOS_PER_SEC,
            );
            self.counter_micros = self.counter_micros.saturating_sub(decayed).max(0);
            self.last = now;
        }
    }

    /// The counter at `now`, in micro-units (26.6 → 26_600_000).
    pub fn counter_micros(&mut self, now: UtcTimestamp) -> i64 {
        self.decay(now);
        self.counter_micros
    }

    /// Charges `tx` at `now`.
    ///
    /// # Errors
    /// [`RateLimited`] when counter + cost would exceed the threshold; the fixed part has then
    /// been charged anyway.
    pub fn charge(&mut self, tx: Transaction, now: UtcTimestamp) -> Result<(), RateLimited> {
        self.decay(now);
        let cost = tx.cost_micros();
        if self.counter_micros + cost > self.params.threshold * MICRO {
            self.counter_micros += tx.fixed_micros();
            return Err(RateLimited {
                counter_micros: self.counter_micros,
            });
        }
        self.counter_micros += cost;
        Ok(())
    }

    /// Charges `tx` only if the counter stays within `ceiling_micros` (micro-units), else
    /// charges nothing: the sender's mirror of the counter, for which a refused transaction
    /// never reaches the venue. With `ceiling_micros = threshold × 10⁶` it refuses exactly what
    /// [`SpotRateCounter::charge`] refuses.
    ///
    /// # Errors
    /// [`RateLimited`] carrying the counter plus cost that would have been reached.
    // Always inlined: the appliance calls it on every order with a known transaction kind,
    // which then folds to a constant cost.
    #[inline(always)]
    pub fn try_charge(
        &mut self,
        tx: Transaction,
        ceiling_micros: i64,
        now: UtcTimestamp,
    ) -> Result<(), RateLimited> {
        self.decay(now);
        let value = self.counter_micros.saturating_add(tx.cost_micros());
        if value > ceiling_micros {
            return Err(RateLimited {
                counter_micros: value,
            });
        }
        self.counter_micros = value;
        Ok(())
    }

    /// Charges `tx` and never refuses it (a batch cancel, a FIX mass cancel or a
    /// cancel-on-disconnect, SPEC §5.1).
    pub fn charge_unrefused(&mut self, tx: Transaction, now: UtcTimestamp) {
        self.decay(now);
        self.counter_micros += tx.cost_micros();
    }
}

/// Parameters of the Derivatives per-session token bucket (SPEC §5.2; every number is an
/// assumption of the spec, Kraken publishes none for FIX).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenBucketParams {
    /// Bucket size in tokens (500).
    pub capacity: i64,
    /// Time to refill an empty bucket, nanoseconds (10 s).
    pub refill_ns: i64,
    /// Cost of NewOrderSingle, OrderCancelRequest and OrderCancelReplaceRequest (10).
    pub order_cost: i64,
    /// Cost of OrderMassCancelRequest (25).
    pub mass_cancel_cost: i64,
}

impl Default for TokenBucketParams {
    fn default() -> Self {
        TokenBucketParams {
            capacity: 500,
            refill_ns: 10 * NANOS_PER_SEC,
            order_cost: 10,
            mass_cancel_cost: 25,
        }
    }
}

/// The bucket had fewer tokens than the request costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BucketEmpty {
    /// Tokens left, in milli-tokens.
    pub available_millis: i64,
}

/// A token bucket refilled linearly, full at start.
#[derive(Debug, Clone, Copy)]
pub struct TokenBucket {
    params: TokenBucketParams,
    millis: i64,
    last: UtcTimestamp,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(params: TokenBucketParams) -> TokenBucket {
        TokenBucket {
            params,
            millis: params.capacity * 1000,
            last: UtcTimestamp::from_nanos(i64::MIN),
        }
    }

    /// The parameters in use.
    pub fn params(&self) -> TokenBucketParams {
        self.params
    }

    /// Replaces the parameters; the tokens left are kept, clipped to the new capacity.
    pub fn set_params(&mut self, params: TokenBucketParams) {
        self.params = params;
        self.millis = self.millis.min(params.capacity.saturating_mul(1000));
    }

    // As for the counter's decay: from `last = i64::MIN` the first refill saturates a bucket
    // that is already full.
    #[inline]
    fn refill(&mut self, now: UtcTimestamp) {
        if now > self.last {
            if self.params.refill_ns > 0 {
                let cap = self.params.capacity.saturating_mul(1000);
                let add = scale(
                    now.nanos.saturating_sub(self.last.nanos),
                    cap,
                    self.params.refill_ns,
                );
                self.millis = self.millis.saturating_add(add).min(cap);
            }
            self.last = now;
        }
    }

    /// Tokens available at `now`, in milli-tokens.
    pub fn available_millis(&mut self, now: UtcTimestamp) -> i64 {
        self.refill(now);
        self.millis
    }

    /// Takes `cost` tokens.
    ///
    /// # Errors
    /// [`BucketEmpty`] if fewer than `cost` tokens are left; nothing is taken.
    pub fn take(&mut self, cost: i64, now: UtcTimestamp) -> Result<(), BucketEmpty> {
        self.refill(now);
        if self.millis < cost * 1000 {
            return Err(BucketEmpty {
                available_millis: self.millis,
            });
        }
        self.millis -= cost * 1000;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ms` milliseconds after a fixed start.
    fn ms(ms: i64) -> UtcTimestamp {
        UtcTimestamp::from_nanos(1_775_572_320_000_000_000 + ms * 1_000_000)
    }

    fn at(s: i64) -> UtcTimestamp {
        ms(s * 1000)
    }

    const S: i64 = NANOS_PER_SEC;

    #[test]
    fn kraken_example_add_amend_cancel_costs_8() {
        // Add, amend after 7 s, cancel 36 s after the amend: +1, +1 +2, +4.
        let total = Transaction::Add.cost_micros()
            + Transaction::Amend { age_ns: 7 * S }.cost_micros()
            + Transaction::Cancel {
                age_ns: 36 * S,
                filled: false,
            }
            .cost_micros();
        assert_eq!(total, 8 * MICRO);
        // The same sequence on a counter with no decay between the steps.
        let mut c = SpotRateCounter::new(TierParams {
            decay_micros_per_sec: 0,
            ..Tier::Starter.params()
        });
        c.charge(Transaction::Add, at(0)).expect("room");
        c.charge(Transaction::Amend { age_ns: 7 * S }, at(7))
            .expect("room");
        c.charge(
            Transaction::Cancel {
                age_ns: 36 * S,
                filled: false,
            },
            at(43),
        )
        .expect("room");
        assert_eq!(c.counter_micros(at(43)), 8 * MICRO);
    }

    #[test]
    fn kraken_example_intermediate_decays_to_26_6() {
        let mut c = SpotRateCounter::new(Tier::Intermediate.params());
        for _ in 0..50 {
            c.charge(Transaction::Add, at(0)).expect("room");
        }
        assert_eq!(c.counter_micros(at(0)), 50 * MICRO);
        assert_eq!(c.counter_micros(at(10)), 26_600_000);
        // Decay stops at zero.
        assert_eq!(c.counter_micros(at(100)), 0);
    }

    #[test]
    fn kraken_example_pro_20_orders_cancelled_at_3s_reach_180() {
        let mut c = SpotRateCounter::new(Tier::Pro.params());
        let t = at(0);
        for _ in 0..20 {
            c.charge(Transaction::Add, t).expect("room");
            c.charge(
                Transaction::Cancel {
                    age_ns: 3 * S,
                    filled: false,
                },
                t,
            )
            .expect("180 is reached, not exceeded");
        }
        assert_eq!(c.counter_micros(t), 180 * MICRO);
        // One more add exceeds: refused, and its fixed part is still charged.
        assert_eq!(
            c.charge(Transaction::Add, t),
            Err(RateLimited {
                counter_micros: 181 * MICRO
            })
        );
        // A cancel has no fixed part: refused without charge.
        assert!(c
            .charge(
                Transaction::Cancel {
                    age_ns: 0,
                    filled: false
                },
                t
            )
            .is_err());
        assert_eq!(c.counter_micros(t), 181 * MICRO);
        // Mass cancels are never refused.
        c.charge_unrefused(
            Transaction::Cancel {
                age_ns: 0,
                filled: false,
            },
            t,
        );
        assert_eq!(c.counter_micros(t), 189 * MICRO);
    }

    #[test]
    fn age_brackets_are_half_open() {
        let cancel = |s: i64| {
            Transaction::Cancel {
                age_ns: s,
                filled: false,
            }
            .cost_micros()
                / MICRO
        };
        assert_eq!(cancel(0), 8);
        assert_eq!(cancel(5 * S - 1), 8);
        assert_eq!(cancel(5 * S), 6);
        assert_eq!(cancel(10 * S), 5);
        assert_eq!(cancel(15 * S), 4);
        assert_eq!(cancel(45 * S), 2);
        assert_eq!(cancel(90 * S), 1);
        assert_eq!(cancel(300 * S), 0);
        assert_eq!(
            Transaction::Cancel {
                age_ns: 0,
                filled: true
            }
            .cost_micros(),
            0,
            "fully filled orders carry no cancel penalty"
        );
        let amend = |s: i64| Transaction::Amend { age_ns: s }.cost_micros() / MICRO;
        assert_eq!(
            (amend(0), amend(5 * S), amend(10 * S), amend(15 * S)),
            (4, 3, 2, 1)
        );
        let edit = |s: i64| Transaction::Edit { age_ns: s }.cost_micros() / MICRO;
        assert_eq!(
            [0, 5, 10, 15, 45, 90].map(|x| edit(x * S)),
            [7, 6, 5, 3, 2, 1]
        );
        assert_eq!(Transaction::BatchAdd { n: 5 }.cost_micros(), 2_500_000);
    }

    #[test]
    fn refused_add_recovers_after_decay() {
        let mut c = SpotRateCounter::new(Tier::Starter.params());
        for _ in 0..60 {
            c.charge(Transaction::Add, at(0)).expect("room");
        }
        assert!(c.charge(Transaction::Add, at(0)).is_err());
        assert_eq!(c.counter_micros(at(0)), 61 * MICRO);
        // 61 → 59 after 2 s at 1/s: room for one more.
        assert!(c.charge(Transaction::Add, at(2)).is_ok());
        assert!(c.charge(Transaction::Add, at(2)).is_err());
    }

    #[test]
    fn open_order_caps_per_tier() {
        assert_eq!(
            [Tier::Starter, Tier::Intermediate, Tier::Pro].map(|t| t.params().max_open_orders),
            [60, 80, 225]
        );
    }

    #[test]
    fn token_bucket_refills_linearly() {
        let mut b = TokenBucket::new(TokenBucketParams::default());
        for _ in 0..50 {
            b.take(10, at(0)).expect("500 tokens");
        }
        assert_eq!(
            b.take(10, at(0)),
            Err(BucketEmpty {
                available_millis: 0
            })
        );
        // 50 tokens per second.
        assert_eq!(b.available_millis(ms(100)), 5_000);
        assert!(b.take(10, ms(100)).is_err());
        assert!(b.take(10, ms(200)).is_ok());
        assert!(b.take(25, at(1)).is_ok());
        assert_eq!(b.available_millis(at(100)), 500_000, "never above capacity");
    }
}

#[cfg(test)]
mod mirror_tests {
    use super::*;

    fn at_ns(ns: i64) -> UtcTimestamp {
        UtcTimestamp::from_nanos(1_775_572_320_000_000_000 + ns)
    }

    #[test]
    fn scale_matches_wide_arithmetic_and_saturates() {
        assert_eq!(scale(1_500_000_000, 2_340_000, NANOS_PER_SEC), 3_510_000);
        // Product beyond i64: the i128 path gives the same floor.
        let e = i64::MAX / 3;
        assert_eq!(
            scale(e, 9, 10),
            i64::try_from(i128::from(e) * 9 / 10).expect("fits")
        );
        assert_eq!(scale(i64::MAX, i64::MAX, 1), i64::MAX);
    }

    #[test]
    fn long_idle_decays_to_zero_without_overflow() {
        let mut c = SpotRateCounter::new(Tier::Pro.params());
        c.charge(Transaction::Add, at_ns(0)).expect("room");
        assert_eq!(c.counter_micros(UtcTimestamp::from_nanos(i64::MAX)), 0);
        let mut b = TokenBucket::new(TokenBucketParams::default());
        b.take(500, at_ns(0)).expect("full");
        assert_eq!(
            b.available_millis(UtcTimestamp::from_nanos(i64::MAX)),
            500_000
        );
    }

    #[test]
    fn try_charge_refuses_what_charge_refuses_without_charging() {
        let mut venue = SpotRateCounter::new(Tier::Starter.params());
        let mut mirror = venue;
        let ceiling = Tier::Starter.params().threshold * MICRO;
        for i in 0..70 {
            let t = at_ns(i * 100_000_000);
            let v = venue.charge(Transaction::Add, t).is_ok();
            let m = mirror.try_charge(Transaction::Add, ceiling, t).is_ok();
            assert_eq!(v, m, "transaction {i}");
        }
        let t = at_ns(7_000_000_000);
        let before = mirror.counter_micros(t);
        assert_eq!(
            mirror.try_charge(Transaction::Add, before, t),
            Err(RateLimited {
                counter_micros: before + MICRO
            })
        );
        assert_eq!(
            mirror.counter_micros(t),
            before,
            "a refusal charges nothing"
        );
        assert!(mirror
            .try_charge(Transaction::Add, before + MICRO, t)
            .is_ok());
    }

    #[test]
    fn set_params_keeps_the_counter_and_clips_the_bucket() {
        let mut c = SpotRateCounter::new(Tier::Starter.params());
        for _ in 0..10 {
            c.charge(Transaction::Add, at_ns(0)).expect("room");
        }
        c.set_params(Tier::Pro.params());
        assert_eq!(c.counter_micros(at_ns(0)), 10 * MICRO);
        assert_eq!(c.params(), Tier::Pro.params());
        let mut b = TokenBucket::new(TokenBucketParams::default());
        b.set_params(TokenBucketParams {
            capacity: 100,
            ..TokenBucketParams::default()
        });
        assert_eq!(b.available_millis(at_ns(0)), 100_000);
    }

    #[test]
    fn a_mirror_consulted_often_never_decays_more_than_the_venue() {
        // The venue decays at 3 transactions; the mirror looks every 1 ms in between.
        let mut venue = SpotRateCounter::new(Tier::Intermediate.params());
        let mut mirror = venue;
        for i in 0..3 {
            let t = at_ns(i * 777_777_777);
            venue.charge(Transaction::Add, t).expect("room");
            mirror.charge(Transaction::Add, t).expect("room");
            for k in 1..700 {
                mirror.counter_micros(at_ns(i * 777_777_777 + k * 1_000_003));
            }
        }
        let end = at_ns(3 * 777_777_777);
        assert!(mirror.counter_micros(end) >= venue.counter_micros(end));
    }
}
