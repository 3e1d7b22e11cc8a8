//! Venue limits: Kraken's Spot per-pair rate counter, the Derivatives per-session token bucket,
//! the per-tier open-order cap and the error-rate safeguard (SPEC §5, §3.6).
//!
//! Each limiter is a small value type with no clock of its own: every call takes `now`, so the
//! matching engine ([`crate::engine`]) owns one per (account, pair) or per session and tests can
//! replay Kraken's worked examples to the microsecond. Counters are integers (micro-units for the
//! Spot counter, milli-tokens for the bucket), never `f64`, so the examples come out exact.
//!
//! ```text
//! 35=D/F/G ─► SpotRateCounter::charge(tx, now) ──Err(RateLimited)──► 35=j "EOrder:Rate limit exceeded"
//! 35=D/F/G/q (derivatives) ─► TokenBucket::take(cost, now) ──Err──► 35=j "apiLimitExceeded"
//! every reject ─► ErrorRate::record(now) ──Exceeded──► Logout "Too many errors", close
//! ```
//!
//! Spot algorithm (SPEC §5.1, boundary taken as "refuse when counter + cost > threshold"):
//! decay the counter to `now`; cost = fixed part + age part; if the transaction may be refused
//! and the counter would pass the threshold, charge only the fixed part and refuse; otherwise
//! charge the whole cost. Mass cancels are priced as batch cancels and never refused
//! ([`SpotRateCounter::charge_unrefused`]).

use tickwire_fix::time::UtcTimestamp;

/// Micro-units per counter unit.
const MICRO: i64 = 1_000_000;
/// Nanoseconds per second.
const NANOS_PER_SEC: i64 = 1_000_000_000;

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

fn age_cost(age_ns: i64, table: &[i64; 6]) -> i64 {
    let age_s_ns = age_ns.max(0);
    for (limit, cost) in BRACKETS_S.iter().zip(table) {
        if age_s_ns < limit * NANOS_PER_SEC {
            return *cost;
        }
    }
    0
}

impl Transaction {
    /// The fixed part in micro-units: charged on receipt even if the transaction is refused.
    pub fn fixed_micros(self) -> i64 {
        match self {
            Transaction::Add | Transaction::Amend { .. } | Transaction::Edit { .. } => MICRO,
            Transaction::Cancel { .. } => 0,
            Transaction::BatchAdd { n } => i64::from(n) * MICRO / 2,
        }
    }

    /// The age-dependent part in micro-units.
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

    fn decay(&mut self, now: UtcTimestamp) {
        if self.last.nanos != i64::MIN && now > self.last {
            let elapsed = i128::from(now.nanos - self.last.nanos);
            let decayed =
                elapsed * i128::from(self.params.decay_micros_per_sec) / i128::from(NANOS_PER_SEC);
            let decayed = i64::try_from(decayed).unwrap_or(i64::MAX);
            self.counter_micros = self.counter_micros.saturating_sub(decayed).max(0);
        }
        if self.last.nanos == i64::MIN || now > self.last {
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

    /// Charges `tx` and never refuses it (a batch cancel, a FIX mass cancel or a
    /// cancel-on-disconnect, SPEC §5.1).
    pub fn charge_unrefused(&mut self, tx: Transaction, now: UtcTimestamp) {
        self.decay(now);
        self.counter_micros += tx.cost_micros();
    }
}

/// Parameters of the Derivatives per-session token bucket (SPEC §5.2, all [ASSUME]).
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

    fn refill(&mut self, now: UtcTimestamp) {
        let cap = self.params.capacity * 1000;
        if self.last.nanos != i64::MIN && now > self.last && self.params.refill_ns > 0 {
            let elapsed = i128::from(now.nanos - self.last.nanos);
            let add = elapsed * i128::from(cap) / i128::from(self.params.refill_ns);
            let add = i64::try_from(add).unwrap_or(i64::MAX);
            self.millis = self.millis.saturating_add(add).min(cap);
        }
        if self.last.nanos == i64::MIN || now > self.last {
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

/// Parameters of the error-rate safeguard (SPEC §3.6, [ASSUME]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorRateParams {
    /// Most errors tolerated in any rolling window (50).
    pub limit: u32,
    /// The window, nanoseconds (1 s).
    pub window_ns: i64,
}

impl Default for ErrorRateParams {
    fn default() -> Self {
        ErrorRateParams {
            limit: 50,
            window_ns: NANOS_PER_SEC,
        }
    }
}

/// The Logout text when the safeguard trips.
pub const TOO_MANY_ERRORS: &str = "Too many errors";

/// What recording an error means for the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorVerdict {
    /// Still within the limit.
    Within,
    /// More than `limit` errors inside the window: log out with [`TOO_MANY_ERRORS`] and close.
    Exceeded,
}

/// Counts rejects (35=3, 35=j, rejected orders) of one session over a rolling window: a ring
/// of the last `limit` error times, sized at construction.
#[derive(Debug, Clone)]
pub struct ErrorRate {
    params: ErrorRateParams,
    times: Vec<i64>,
    next: usize,
    filled: usize,
}

impl ErrorRate {
    /// An empty window (allocates the ring of `params.limit` entries once).
    pub fn new(params: ErrorRateParams) -> ErrorRate {
        ErrorRate {
            params,
            times: vec![0; params.limit as usize],
            next: 0,
            filled: 0,
        }
    }

    /// Records one error at `now`.
    pub fn record(&mut self, now: UtcTimestamp) -> ErrorVerdict {
        let limit = self.times.len();
        if limit == 0 {
            return ErrorVerdict::Exceeded;
        }
        // With the ring full, the slot about to be overwritten holds the error `limit` back:
        // if it is still inside the window, this one is error number limit + 1.
        let verdict =
            if self.filled == limit && now.nanos - self.times[self.next] < self.params.window_ns {
                ErrorVerdict::Exceeded
            } else {
                ErrorVerdict::Within
            };
        self.times[self.next] = now.nanos;
        self.next = (self.next + 1) % limit;
        self.filled = (self.filled + 1).min(limit);
        verdict
    }

    /// Errors inside the window ending at `now`.
    pub fn count(&self, now: UtcTimestamp) -> usize {
        self.times[..self.filled]
            .iter()
            .filter(|&&t| now.nanos - t < self.params.window_ns)
            .count()
    }

    /// Forgets every error (a new connection).
    pub fn reset(&mut self) {
        self.next = 0;
        self.filled = 0;
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

    #[test]
    fn error_rate_trips_above_the_limit_in_a_rolling_second() {
        let mut e = ErrorRate::new(ErrorRateParams::default());
        for i in 0..50 {
            assert_eq!(e.record(ms(i * 10)), ErrorVerdict::Within);
        }
        assert_eq!(e.count(ms(500)), 50);
        assert_eq!(e.record(ms(500)), ErrorVerdict::Exceeded, "51st within 1 s");
        // Spread out: 50 per second forever is fine.
        let mut e = ErrorRate::new(ErrorRateParams::default());
        for i in 0..500 {
            assert_eq!(e.record(ms(i * 20)), ErrorVerdict::Within);
        }
        e.reset();
        assert_eq!(e.count(at(10)), 0);
    }
}
