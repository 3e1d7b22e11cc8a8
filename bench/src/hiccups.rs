//! The platform hiccup meter: how often, and for how long, the platform takes the CPU away
//! from a thread that never gives it up (timer ticks, interrupts and IPIs, the hypervisor
//! running something else on this vCPU), measured as OS-jitter meters such as sysjitter and
//! jHiccup's hiccup meter do.
//!
//! ```text
//! thread pinned to the client's CPU (two_core::client_core, engine::runner::pin_current)
//!   Clock::calibrate, then for the requested time:  t = clock.mono_ns(); gaps.record(t)
//!     t - t_prev <  THRESHOLD_NS  →  a normal read: counted (reads and the run's span only)
//!     t - t_prev >= THRESHOLD_NS  →  a gap: HDR histogram, counts at each BOUNDS_NS, time lost
//! Summary ─► gaps ≥ 1, 2, 3, 5, 10, 100 µs per second, largest gap, share of the run lost
//! Estimate ─► share of ticks of length D that contain a gap ≥ 2 µs ≈ R(≥ 2 µs) × D
//! ```
//!
//! A thread that only reads the clock sees any time it did not run as a gap between two
//! consecutive reads; with nothing else to do, a read follows the previous one after a few
//! tens of nanoseconds, so a gap of a microsecond is time the platform took. [`Gaps`] is the
//! accounting alone, fed with timestamps (synthetic ones in the tests); [`spin`] is the loop,
//! [`measure`] the pinned thread around it.
//!
//! Around the spin it also counts the guest kernel's own interrupts of the CPU
//! ([`crate::interrupts`]): each takes the CPU away once, so the gaps beyond their number are
//! the platform's below this kernel (the hypervisor's, the host's).
//!
//! What it does not see: interruptions shorter than [`THRESHOLD_NS`]; what an interruption
//! costs the tick-to-trade path afterwards in caches and TLBs (this loop's working set is a few
//! cache lines); the CPU the meter is not on. It is pinned to [`crate::two_core::client_core`],
//! where `tickwire bench` also pins its one-thread rows (`two_core::on_client_core`) and the
//! `inmem-2core` client.
//!
//! The loop allocates nothing (the histogram is sized before it, values past its range are
//! clamped to the range's top) and makes no system call.

use std::time::Duration;

use hdrhistogram::Histogram;
use tickwire_dataplane::clock::{Clock, Source};
use tickwire_dataplane::engine::runner::PinError;

use crate::two_core::PinnedError;

/// Intervals between two consecutive reads at least this long are gaps, ns. Well above a
/// back-to-back read of the clock (≈ 10–30 ns, TSC or vDSO) and below the smallest bound
/// reported ([`BOUNDS_NS`]).
pub const THRESHOLD_NS: u64 = 250;

/// The gap lengths the meter counts at or above, ns: 1, 2, 3, 5, 10 and 100 µs.
pub const BOUNDS_NS: [u64; 6] = [1_000, 2_000, 3_000, 5_000, 10_000, 100_000];

/// Which of [`BOUNDS_NS`] the estimate ([`Estimate`]) uses.
const ESTIMATE_BOUND: usize = 1;

/// The gap length behind the estimate ([`Estimate`]), ns: a tick of about 1 µs with a gap of
/// 2 µs or more inside it is past the 3 µs p99.9 target.
pub const ESTIMATE_GAP_NS: u64 = BOUNDS_NS[ESTIMATE_BOUND];

/// The share of ticks above which the tail quantile is set by such ticks: p99.9.
pub const P999_SHARE: f64 = 0.001;

/// Largest gap the histogram resolves, ns (60 s; longer ones are recorded as 60 s, and the
/// exact length is still in [`Summary::largest_gap_ns`]).
const HISTOGRAM_MAX_NS: u64 = 60_000_000_000;

/// The gap accounting of one run, fed one timestamp per clock read.
#[derive(Debug)]
pub struct Gaps {
    first: i64,
    last: i64,
    reads: u64,
    gaps: u64,
    gap_ns: u64,
    at_least: [u64; BOUNDS_NS.len()],
    lost_ns: u64,
    largest_ns: u64,
    histogram: Histogram<u64>,
}

/// What a run of [`Gaps`] adds up to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// First read to last read, ns (0 with fewer than two reads).
    pub run_ns: u64,
    /// Clock reads.
    pub reads: u64,
    /// Mean interval between two reads, gaps left out, ns (`None` when no interval was below
    /// [`THRESHOLD_NS`]). The normal cost of a read: gaps are rare, so this is close to the
    /// median interval without a histogram entry per read.
    pub normal_read_ns: Option<f64>,
    /// Intervals of at least [`THRESHOLD_NS`].
    pub gaps: u64,
    /// Gaps of at least each of [`BOUNDS_NS`], same order.
    pub at_least: [u64; BOUNDS_NS.len()],
    /// The longest gap, ns (0 without gaps: intervals below [`THRESHOLD_NS`] are not
    /// compared, which keeps the loop to one compare per read).
    pub largest_gap_ns: u64,
    /// Sum of the gaps of at least 1 µs, ns.
    pub lost_ns: u64,
}

impl Gaps {
    /// An empty run (the gap histogram: 1 ns … 60 s, 3 significant digits, as the bench's
    /// other histograms; a lowest value of 250 would make its finest step 128 ns).
    ///
    /// # Errors
    /// hdrhistogram's error text.
    pub fn new() -> Result<Gaps, String> {
        let histogram =
            Histogram::<u64>::new_with_bounds(1, HISTOGRAM_MAX_NS, 3).map_err(|e| e.to_string())?;
        Ok(Gaps {
            first: 0,
            last: 0,
            reads: 0,
            gaps: 0,
            gap_ns: 0,
            at_least: [0; BOUNDS_NS.len()],
            lost_ns: 0,
            largest_ns: 0,
            histogram,
        })
    }

    /// One clock read at `t` (monotonic ns). A read earlier than the previous one (a clock that
    /// went backwards) counts as an interval of 0.
    #[inline]
    pub fn record(&mut self, t: i64) {
        if self.reads == 0 {
            self.first = t;
            self.last = t;
            self.reads = 1;
            return;
        }
        let d = u64::try_from(t.saturating_sub(self.last)).unwrap_or(0);
        self.last = t;
        self.reads += 1;
        if d >= THRESHOLD_NS {
            self.gap(d);
        }
    }

    /// The rare branch, kept out of the loop's code.
    #[cold]
    #[inline(never)]
    fn gap(&mut self, d: u64) {
        self.gaps += 1;
        self.gap_ns += d;
        self.largest_ns = self.largest_ns.max(d);
        for (n, bound) in self.at_least.iter_mut().zip(BOUNDS_NS) {
            *n += u64::from(d >= bound);
        }
        if d >= BOUNDS_NS[0] {
            self.lost_ns += d;
        }
        // Sized in `new`: never grows, clamps past 60 s.
        self.histogram.saturating_record(d);
    }

    /// The gaps, ns (every interval of at least [`THRESHOLD_NS`]).
    pub fn histogram(&self) -> &Histogram<u64> {
        &self.histogram
    }

    /// What the reads so far add up to.
    pub fn summary(&self) -> Summary {
        let run_ns = u64::try_from(self.last.saturating_sub(self.first)).unwrap_or(0);
        let normal = self.reads.saturating_sub(1) - self.gaps;
        // Intervals that went backwards count 0, so the gaps can sum to more than the span.
        let normal_ns = run_ns.saturating_sub(self.gap_ns);
        Summary {
            run_ns,
            reads: self.reads,
            normal_read_ns: (normal > 0).then(|| normal_ns as f64 / normal as f64),
            gaps: self.gaps,
            at_least: self.at_least,
            largest_gap_ns: self.largest_ns,
            lost_ns: self.lost_ns,
        }
    }
}

impl Summary {
    /// `count` per second of the run (0 for a run of no length).
    pub fn per_second(&self, count: u64) -> f64 {
        if self.run_ns == 0 {
            0.0
        } else {
            count as f64 * 1e9 / self.run_ns as f64
        }
    }

    /// Gaps of at least `BOUNDS_NS[i]` per second, same order as [`BOUNDS_NS`].
    pub fn rates(&self) -> [f64; BOUNDS_NS.len()] {
        self.at_least.map(|n| self.per_second(n))
    }

    /// Gaps of at least `bound_ns` per second, for one of [`BOUNDS_NS`] (`None` for another).
    pub fn rate_at_least(&self, bound_ns: u64) -> Option<f64> {
        let i = BOUNDS_NS.iter().position(|&b| b == bound_ns)?;
        Some(self.per_second(self.at_least[i]))
    }

    /// Most intervals were below [`THRESHOLD_NS`]: the loop reads the clock faster than the
    /// threshold, so a gap is time taken from it. When not (an unoptimised build, a clock read
    /// that traps to the hypervisor), the loop's own pace is counted as gaps.
    pub fn resolved(&self) -> bool {
        self.gaps < self.reads.saturating_sub(1) - self.gaps
    }

    /// Share of the run spent in gaps of at least 1 µs (0 for a run of no length).
    pub fn lost_fraction(&self) -> f64 {
        if self.run_ns == 0 {
            0.0
        } else {
            self.lost_ns as f64 / self.run_ns as f64
        }
    }
}

/// An estimate of how many ticks the platform delays past the target: for ticks of length
/// `D`, the share that contain a gap of at least [`ESTIMATE_GAP_NS`] is ≈ R × D, R the rate of
/// such gaps. It assumes the gaps arrive independently of the ticks and are rare (R × D ≪ 1);
/// it takes the median tick for all of them, and it leaves out what a gap costs afterwards.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// D: the row's tick-to-trade p50, ns.
    pub p50_ns: u64,
    /// R: gaps of at least [`ESTIMATE_GAP_NS`] per second.
    pub rate_per_s: f64,
    /// R × D: the share of ticks expected to contain such a gap.
    pub share: f64,
}

impl Estimate {
    /// The estimate for a row whose tick-to-trade p50 is `p50_ns`.
    pub fn new(summary: &Summary, p50_ns: u64) -> Estimate {
        let rate_per_s = summary.per_second(summary.at_least[ESTIMATE_BOUND]);
        Estimate {
            p50_ns,
            rate_per_s,
            share: rate_per_s * p50_ns as f64 * 1e-9,
        }
    }

    /// The share is above [`P999_SHARE`]: more than one tick in a thousand is expected to
    /// carry a gap of ≥ 2 µs, so p99.9 is set by the platform, not by the code on the path.
    pub fn exceeds_p999(&self) -> bool {
        self.share > P999_SHARE
    }
}

/// What the estimate can be held against: the share of a row's ticks (histogram of ns) that
/// took at least `p50 + ESTIMATE_GAP_NS`, as a tick of median length with such a gap inside
/// would (0 for an empty histogram). A comparison, not a measurement of the gaps' share: gaps
/// are not the only way to get there, and a tick shorter than the median may take a gap and
/// stay below it.
pub fn observed_share(ticks: &Histogram<u64>) -> f64 {
    if ticks.is_empty() {
        return 0.0;
    }
    let at_least = ticks.value_at_quantile(0.5) + ESTIMATE_GAP_NS;
    if at_least > ticks.max() {
        return 0.0;
    }
    ticks.count_between(at_least, ticks.max()) as f64 / ticks.len() as f64
}

// Every gap a bound counts is a gap the histogram records.
const _: () = assert!(THRESHOLD_NS <= BOUNDS_NS[0]);

/// Reads `now` back to back into `gaps` until it returns at least `duration_ns` after the first
/// read (that read included). Allocates nothing and, with the clock's TSC source, makes no
/// system call.
#[inline]
pub fn spin(mut now: impl FnMut() -> i64, duration_ns: u64, gaps: &mut Gaps) {
    let start = now();
    gaps.record(start);
    let end = start.saturating_add(i64::try_from(duration_ns).unwrap_or(i64::MAX));
    loop {
        let t = now();
        gaps.record(t);
        if t >= end {
            break;
        }
    }
}

/// A run of the meter.
#[derive(Debug)]
pub struct Hiccups {
    /// The CPU it ran on.
    pub cpu: usize,
    /// Where the clock's ticks came from (the TSC, or CLOCK_MONOTONIC where the TSC is not
    /// usable).
    pub source: Source,
    /// How long it was asked to run.
    pub requested: Duration,
    /// What it measured.
    pub summary: Summary,
    /// The gaps, ns.
    pub histogram: Histogram<u64>,
    /// The guest kernel's interrupts of the CPU over the same spin (`None` where
    /// `/proc/interrupts` could not be read): what part of the gaps this kernel caused.
    pub guest: Option<crate::interrupts::Interval>,
}

/// Why the meter did not run.
#[derive(Debug)]
pub enum Error {
    /// Pinning to the CPU was refused.
    Pin(PinError),
    /// The thread could not be created.
    Spawn(std::io::Error),
    /// The gap histogram could not be made (hdrhistogram's text).
    Histogram(String),
    /// The meter's thread panicked.
    Panicked,
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Pin(e) => write!(f, "hiccup meter thread: {e}"),
            Self::Spawn(e) => write!(f, "hiccup meter thread not created: {e}"),
            Self::Histogram(e) => write!(f, "hiccup meter histogram: {e}"),
            Self::Panicked => f.write_str("hiccup meter thread panicked"),
        }
    }
}

impl std::error::Error for Error {}

/// Runs the meter for `duration` on a thread pinned to `cpu` (as [`crate::two_core`] pins its
/// client: `engine::runner::pin_current`, affinity only), with a clock calibrated there as the
/// bench's runs calibrate theirs. The calling thread waits; its own affinity is untouched.
///
/// # Errors
/// [`Error`].
pub fn measure(cpu: usize, duration: Duration) -> Result<Hiccups, Error> {
    crate::two_core::on_core(cpu, "tw-hiccups", move || {
        let (clock, _) = Clock::calibrate(Duration::from_millis(20));
        let mut gaps = Gaps::new().map_err(Error::Histogram)?;
        let ns = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
        let ((), guest) =
            crate::interrupts::around(cpu, || spin(|| clock.mono_ns(), ns, &mut gaps));
        Ok(Hiccups {
            cpu,
            source: clock.source(),
            requested: duration,
            summary: gaps.summary(),
            histogram: gaps.histogram,
            guest,
        })
    })
    .map_err(|e| match e {
        PinnedError::Pin(e) => Error::Pin(e),
        PinnedError::Spawn(e) => Error::Spawn(e),
        PinnedError::Panicked => Error::Panicked,
    })?
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// `Gaps` fed with `ts`.
    fn fed(ts: &[i64]) -> Gaps {
        let mut g = Gaps::new().unwrap();
        ts.iter().for_each(|&t| g.record(t));
        g
    }

    /// Timestamps 10 ns apart from 0, with `extra` added to the interval after read `i` for
    /// each `(i, extra)`.
    fn reads(n: usize, gaps: &[(usize, i64)]) -> Vec<i64> {
        let mut t = 0;
        (0..n)
            .map(|i| {
                let now = t;
                t += 10 + gaps.iter().filter(|g| g.0 == i).map(|g| g.1).sum::<i64>();
                now
            })
            .collect()
    }

    #[test]
    fn an_empty_run_reports_nothing_and_divides_by_nothing() {
        for ts in [&[][..], &[12_345][..]] {
            let s = fed(ts).summary();
            assert_eq!(s.run_ns, 0);
            assert_eq!(s.reads, ts.len() as u64);
            assert_eq!(s.normal_read_ns, None);
            assert_eq!(
                (s.gaps, s.at_least, s.largest_gap_ns, s.lost_ns),
                (0, [0; 6], 0, 0)
            );
            assert_eq!(s.rates(), [0.0; 6]);
            assert_eq!(s.lost_fraction(), 0.0);
            assert!(!s.resolved(), "no interval: nothing resolved");
            assert_eq!(Estimate::new(&s, 1_000).share, 0.0);
        }
    }

    #[test]
    fn steady_reads_have_no_gaps() {
        let s = fed(&reads(1_001, &[])).summary();
        assert_eq!((s.run_ns, s.reads, s.gaps), (10_000, 1_001, 0));
        assert!(s.resolved());
        assert_eq!(s.normal_read_ns, Some(10.0));
        assert_eq!(s.largest_gap_ns, 0);
    }

    #[test]
    fn each_bound_counts_gaps_at_or_above_it() {
        // Intervals (10 ns + extra) exactly at and just below each boundary.
        let lengths: [i64; 15] = [
            249, 250, 999, 1_000, 1_999, 2_000, 2_999, 3_000, 4_999, 5_000, 9_999, 10_000, 99_999,
            100_000, 250_000,
        ];
        let extra: Vec<(usize, i64)> = lengths
            .iter()
            .enumerate()
            .map(|(k, &l)| (10 * k + 5, l - 10))
            .collect();
        let g = fed(&reads(200, &extra));
        let s = g.summary();
        assert_eq!(s.reads, 200);
        // 249 is below the threshold, everything else a gap.
        assert_eq!(s.gaps, 14);
        assert_eq!(s.at_least, [12, 10, 8, 6, 4, 2]);
        assert_eq!(s.largest_gap_ns, 250_000);
        let lost: i64 = lengths.iter().filter(|&&l| l >= 1_000).sum();
        assert_eq!(s.lost_ns, lost as u64);
        let gap_ns: i64 = lengths[1..].iter().sum();
        assert_eq!(
            s.run_ns as i64,
            199 * 10 + lengths.iter().sum::<i64>() - 15 * 10
        );
        // The 185 intervals below the threshold: 184 of 10 ns and one of 249.
        let normal = (s.run_ns as i64 - gap_ns) as f64 / 185.0;
        assert_eq!(s.normal_read_ns, Some(normal));
        assert!((normal - (184.0 * 10.0 + 249.0) / 185.0).abs() < 1e-9);
        assert_eq!(g.histogram().len(), 14);
        assert_eq!(g.histogram().min(), 250);
        assert!(g.histogram().max() >= 250_000 && g.histogram().max() < 250_300);
        // Rates over the run's length; the 1 µs share is the lost time over it.
        let per_s = |n: f64| n * 1e9 / s.run_ns as f64;
        assert_eq!(s.rates(), [12.0, 10.0, 8.0, 6.0, 4.0, 2.0].map(per_s));
        assert_eq!(s.rate_at_least(2_000), Some(per_s(10.0)));
        assert_eq!(s.rate_at_least(4_000), None);
        assert_eq!(s.lost_fraction(), lost as f64 / s.run_ns as f64);
    }

    #[test]
    fn a_loop_slower_than_the_threshold_is_not_resolved() {
        // Half the intervals gaps: not most below the threshold.
        let s = fed(&[0, 10, 300, 310, 600]).summary();
        assert_eq!(s.gaps, 2);
        assert!(!s.resolved());
        let s = fed(&[0, 10, 300, 310, 320]).summary();
        assert!(s.resolved());
        let s = fed(&(0..100).map(|i| i * 300).collect::<Vec<_>>()).summary();
        assert_eq!((s.gaps, s.normal_read_ns), (99, None));
        assert!(!s.resolved());
    }

    #[test]
    fn a_clock_that_steps_back_counts_zero_not_a_huge_gap() {
        let s = fed(&[1_000, 1_010, 500, 510, 2_000]).summary();
        // 1010 → 500 is 0; 510 → 2000 is a gap of 1490.
        assert_eq!((s.gaps, s.at_least[0], s.largest_gap_ns), (1, 1, 1_490));
        assert_eq!(s.run_ns, 1_000);
        assert_eq!(s.reads, 5);
    }

    #[test]
    fn a_gap_past_the_histogram_is_clamped_and_its_length_kept() {
        let g = fed(&[0, 10, 10 + 100_000_000_000]);
        assert_eq!(g.summary().largest_gap_ns, 100_000_000_000);
        assert_eq!(g.histogram().len(), 1);
        assert!(g.histogram().max() <= HISTOGRAM_MAX_NS * 1001 / 1000);
    }

    #[test]
    fn spin_stops_at_the_first_read_past_the_duration() {
        // A synthetic clock: 10 ns per read, a 3 µs gap at the 50th.
        let mut n = 0i64;
        let now = || {
            n += 1;
            n * 10 + if n >= 50 { 3_000 } else { 0 }
        };
        let mut g = Gaps::new().unwrap();
        spin(now, 5_000, &mut g);
        let s = g.summary();
        // Reads at 10, 20, …, 490, then 3500, 3510, …: the last one at or past 5010.
        assert_eq!(s.run_ns, 5_000);
        assert_eq!(s.reads, 201);
        assert_eq!(s.gaps, 1);
        assert_eq!(s.at_least, [1, 1, 1, 0, 0, 0]);
        assert_eq!(s.largest_gap_ns, 3_010);
        // 199 intervals of 10 ns besides the gap.
        assert_eq!(s.normal_read_ns, Some(10.0));
    }

    #[test]
    fn the_estimate_is_rate_times_the_median_tick() {
        // 2 ms of 10 ns reads with two gaps of 2.5 µs and one of 1.5 µs: 1000 per second
        // ≥ 2 µs (1500 ≥ 1 µs, which the estimate does not use).
        let gaps = [(1_000, 2_490), (80_000, 1_490), (150_000, 2_490)];
        let s = fed(&reads(199_354, &gaps)).summary();
        assert_eq!(s.run_ns, 2_000_000);
        assert_eq!(s.at_least, [3, 2, 0, 0, 0, 0]);
        assert_eq!(s.rate_at_least(2_000), Some(1_000.0));
        let e = Estimate::new(&s, 1_050);
        assert_eq!(e.rate_per_s, 1_000.0);
        assert!((e.share - 1.05e-3).abs() < 1e-12, "{e:?}");
        assert!(e.exceeds_p999());
        let e = Estimate::new(&s, 950);
        assert!((e.share - 0.95e-3).abs() < 1e-12, "{e:?}");
        assert!(!e.exceeds_p999());
        // Exactly one in a thousand is not above it.
        assert!(!Estimate::new(&s, 1_000).exceeds_p999());
    }

    #[test]
    fn the_observed_share_counts_ticks_of_at_least_the_median_plus_2_us() {
        let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).unwrap();
        assert_eq!(observed_share(&h), 0.0);
        // 990 ticks of 1000 ns, 4 of 2999 (below 1000 + 2000), 6 of 3000 and more.
        h.record_n(1_000, 990).unwrap();
        h.record_n(2_999, 4).unwrap();
        assert_eq!(observed_share(&h), 0.0, "none at or past 3000");
        h.record_n(3_000, 3).unwrap();
        h.record_n(50_000, 3).unwrap();
        assert_eq!(observed_share(&h), 6.0 / 1000.0);
    }
}
