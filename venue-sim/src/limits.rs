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
//! The rate arithmetic itself (Spot counter, token bucket, tiers, transaction prices) lives in
//! [`tickwire_fix::kraken::rate`] and is re-exported here: the appliance's pre-trade throttle
//! mirrors the very same model, so it never sends what this venue would refuse. This module
//! adds the error-rate safeguard. Spot algorithm: see that module (SPEC §5.1, refuse when
//! counter + cost > threshold, fixed part charged even when refused, mass cancels never
//! refused).

pub use tickwire_fix::kraken::rate::{
    BucketEmpty, RateLimited, SpotRateCounter, Tier, TierParams, TokenBucket, TokenBucketParams,
    Transaction,
};
use tickwire_fix::time::{UtcTimestamp, NANOS_PER_SEC};

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
