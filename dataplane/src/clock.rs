//! The engine's clock: the time-stamp counter calibrated against CLOCK_MONOTONIC, read once per
//! duty cycle and passed down as a [`Now`].
//!
//! ```text
//! start-up: Clock::calibrate(window) ─► (tsc0, ns0, mult) from two (rdtsc, Instant) pairs
//! cycle:    clock.now() ─► rdtsc ─► ns0 + ((tsc - tsc0) * mult) >> 32 ─► Now { mono_ns, utc }
//! ```
//!
//! Ticks become nanoseconds with a 32.32 fixed-point multiplier (one 64×64→128 multiply and a
//! shift, no division, no syscall). The TSC is used only when the CPU says it is invariant
//! (`constant_tsc` and `nonstop_tsc` in `/proc/cpuinfo`); otherwise, and on non-x86 targets,
//! [`Clock`] reads `std::time::Instant` (CLOCK_MONOTONIC through the vDSO). UTC for FIX
//! timestamps is the monotonic time plus an offset taken from the wall clock at calibration,
//! so a wall-clock step never moves the engine's time backwards; recalibrate to follow NTP
//! slew on long runs.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tickwire_fix::time::UtcTimestamp;

use crate::engine::sys;

/// One reading of the clock: what `do_work` passes down a cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    /// Monotonic nanoseconds since the clock's calibration.
    pub mono_ns: i64,
    /// Wall-clock time for FIX fields (SendingTime, TransactTime).
    pub utc: UtcTimestamp,
}

/// Where the ticks come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The invariant time-stamp counter.
    Tsc,
    /// `std::time::Instant` (CLOCK_MONOTONIC).
    Monotonic,
}

/// A calibrated clock; `Copy`, so each thread may hold its own.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    source: Source,
    base: Instant,
    tsc0: u64,
    /// Nanoseconds per tick in 32.32 fixed point.
    mult: u64,
    utc_offset_ns: i64,
}

/// Why calibration fell back to CLOCK_MONOTONIC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    /// Not an x86-64 CPU.
    NoTsc,
    /// The CPU does not report an invariant TSC.
    NotInvariant,
    /// The TSC did not advance during calibration (or ran backwards).
    Unusable,
}

fn invariant_tsc() -> bool {
    let Ok(info) = std::fs::read_to_string("/proc/cpuinfo") else {
        return false;
    };
    info.lines()
        .find(|l| l.starts_with("flags"))
        .is_some_and(|l| {
            let has = |w: &str| l.split_whitespace().any(|x| x == w);
            has("constant_tsc") && has("nonstop_tsc")
        })
}

fn wall_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

impl Clock {
    /// CLOCK_MONOTONIC only.
    pub fn monotonic() -> Clock {
        let base = Instant::now();
        Clock {
            source: Source::Monotonic,
            base,
            tsc0: 0,
            mult: 0,
            utc_offset_ns: wall_ns(),
        }
    }

    /// Calibrates the TSC against CLOCK_MONOTONIC over `window` (10–50 ms is plenty; this
    /// spins for that long). Falls back to [`Clock::monotonic`] when the TSC is not usable,
    /// saying why.
    pub fn calibrate(window: Duration) -> (Clock, Option<Fallback>) {
        let Some(_) = sys::rdtsc() else {
            return (Clock::monotonic(), Some(Fallback::NoTsc));
        };
        if !invariant_tsc() {
            return (Clock::monotonic(), Some(Fallback::NotInvariant));
        }
        // Pair each Instant with the TSC read closest to it (the smaller bracketing gap).
        let pair = || {
            let a = sys::rdtsc().unwrap_or(0);
            let t = Instant::now();
            let b = sys::rdtsc().unwrap_or(0);
            (t, a / 2 + b / 2 + (a % 2 + b % 2) / 2)
        };
        let (t0, c0) = pair();
        while t0.elapsed() < window {
            core::hint::spin_loop();
        }
        let (t1, c1) = pair();
        let ns = t1.duration_since(t0).as_nanos();
        let ticks = c1.wrapping_sub(c0) as u128;
        if ticks == 0 || c1 < c0 || ns == 0 {
            return (Clock::monotonic(), Some(Fallback::Unusable));
        }
        let mult = ((ns << 32) / ticks).min(u128::from(u64::MAX)) as u64;
        let clock = Clock {
            source: Source::Tsc,
            base: t0,
            tsc0: c0,
            mult,
            utc_offset_ns: wall_ns() - t0.elapsed().as_nanos() as i64,
        };
        (clock, None)
    }

    /// Where the ticks come from.
    pub fn source(&self) -> Source {
        self.source
    }

    /// Ticks per second implied by the calibration (0 for [`Source::Monotonic`]).
    pub fn tsc_hz(&self) -> u64 {
        if self.mult == 0 {
            0
        } else {
            ((1_000_000_000u128 << 32) / u128::from(self.mult)) as u64
        }
    }

    /// Monotonic nanoseconds since calibration.
    #[inline]
    pub fn mono_ns(&self) -> i64 {
        match self.source {
            Source::Tsc => {
                let ticks = sys::rdtsc().unwrap_or(self.tsc0).wrapping_sub(self.tsc0);
                ((u128::from(ticks) * u128::from(self.mult)) >> 32) as i64
            }
            Source::Monotonic => self.base.elapsed().as_nanos() as i64,
        }
    }

    /// Reads the clock once.
    #[inline]
    pub fn now(&self) -> Now {
        let mono_ns = self.mono_ns();
        Now {
            mono_ns,
            utc: self.utc(mono_ns),
        }
    }

    /// UTC for a monotonic reading of this clock.
    #[inline]
    pub fn utc(&self, mono_ns: i64) -> UtcTimestamp {
        UtcTimestamp::from_nanos(self.utc_offset_ns + mono_ns)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn calibrated_clock_tracks_monotonic_time() {
        let (clock, fallback) = Clock::calibrate(Duration::from_millis(20));
        if cfg!(target_arch = "x86_64") && invariant_tsc() {
            assert_eq!(fallback, None);
            assert_eq!(clock.source(), Source::Tsc);
            assert!(clock.tsc_hz() > 100_000_000, "{} Hz", clock.tsc_hz());
        }
        let t = Instant::now();
        let a = clock.mono_ns();
        std::thread::sleep(Duration::from_millis(50));
        let b = clock.mono_ns();
        let real = t.elapsed().as_nanos() as i64;
        assert!(b > a);
        // Within 2 % + 1 ms of CLOCK_MONOTONIC over 50 ms (sleep granularity dominates).
        let diff = ((b - a) - real).abs();
        assert!(
            diff < real / 50 + 1_000_000,
            "tsc {} ns vs {} ns",
            b - a,
            real
        );
        let wall = wall_ns();
        assert!((clock.now().utc.nanos - wall).abs() < 50_000_000);
    }

    #[test]
    fn monotonic_fallback_never_goes_backwards() {
        let clock = Clock::monotonic();
        let mut last = clock.mono_ns();
        for _ in 0..10_000 {
            let t = clock.mono_ns();
            assert!(t >= last);
            last = t;
        }
        assert_eq!(clock.tsc_hz(), 0);
    }
}
