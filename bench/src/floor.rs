//! The platform's floor under a tick-to-trade row: what the row's tail would be for code with
//! no slow case of its own, measured on the same core with the same clock right after the row.
//!
//! ```text
//! row measured ──► D = its tick-to-trade p50
//! thread pinned to the row's CPU (two_core::on_core), Clock::calibrate
//!   calibrate: iterations of [`job`] whose median time is D   (a few rounds of CALIBRATION_JOBS)
//!   then for the requested time:  a = clock.mono_ns(); job(iterations); b = clock.mono_ns(); record(b - a)
//! Floor ─► p50 ≈ D, p99 / p99.9 / p99.99 / max, share of jobs ≥ D + 2 µs, p99.9 vs the target
//! ```
//!
//! The job is one chain of dependent multiply-rotates in a register: no load or store, and no
//! branch but the loop's. Nothing a platform shares with this thread shortens or lengthens it
//! but time taken from the thread: not caches or TLBs (it has no data), not branch predictors,
//! not much a sibling hyperthread competing for the core's width (a dependent chain runs at
//! the multiplier's latency: in a probe its median moved by 3–4 % from one second to the next
//! while a job of wide independent work moved by up to 1.9×). So each sample is D plus the
//! time the platform took during it, and the floor's p99.9 is a lower bound for any code whose median is D on
//! this core: where the floor's p99.9 is above the target, no change to tickwire's code can
//! bring the row's under it. Real code pays more after an interruption (refilled caches and
//! TLBs), so the bound is not tight. It is the hiccup meter's estimate ([`crate::hiccups`])
//! made measurement: the same question asked of jobs of the row's length instead of inferred
//! from gap rates.
//!
//! Neither loop allocates (the histogram is sized before them, calibration sorts on the stack)
//! or makes a system call with the clock's TSC source.

use std::hint::black_box;
use std::time::Duration;

use hdrhistogram::Histogram;
use tickwire_dataplane::clock::{Clock, Source};

use crate::two_core::PinnedError;

/// The p99.9 the issue asks of the in-memory row inside the appliance, ns.
pub const P999_TARGET_NS: u64 = 3_000;

/// The p50 the issue asks of it, ns: `tickwire bench` also measures the floor of a job this
/// long, the tail that code meeting the median target would get at best.
pub const P50_TARGET_NS: u64 = 1_000;

/// Jobs timed per calibration round (odd: the median is one sample).
const CALIBRATION_JOBS: usize = 1_001;

/// Calibration rounds: each scales the iteration count by target / median.
const CALIBRATION_ROUNDS: usize = 6;

/// Iterations the first calibration round tries.
const FIRST_GUESS: u32 = 64;

/// The most iterations calibration settles on (≈ 25 ms at the ≈ 1.5 ns an iteration takes
/// here): a clock that does not move cannot make a calibration round last for hours.
const MAX_ITERATIONS: u32 = 1 << 24;

/// `iterations` steps of a dependent multiply-rotate chain from `seed`: registers only, its
/// length set by the multiplier's latency. Not inlined, and the iteration count and result go
/// through `black_box` at the call site, so the chain is computed each time.
#[inline(never)]
pub fn job(iterations: u32, seed: u64) -> u64 {
    let mut x = seed;
    for i in 0..iterations {
        x = x.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17) ^ u64::from(i);
    }
    x
}

/// The iteration count whose median time is `target_ns`, given `time(iterations)`, the time one
/// job of that many iterations took (ns). Scales a first guess by target / median a few times:
/// the job's time is linear in its iterations, so the rounds converge at once and only correct
/// for the noise of the first. At least 1, at most [`MAX_ITERATIONS`].
pub fn calibrate(target_ns: u64, mut time: impl FnMut(u32) -> u64) -> u32 {
    let mut iterations = FIRST_GUESS;
    let mut samples = [0u64; CALIBRATION_JOBS];
    for _ in 0..CALIBRATION_ROUNDS {
        for s in &mut samples {
            *s = time(iterations);
        }
        samples.sort_unstable();
        let median = samples[CALIBRATION_JOBS / 2].max(1);
        let scaled = u128::from(iterations) * u128::from(target_ns) / u128::from(median);
        iterations = u32::try_from(scaled)
            .unwrap_or(MAX_ITERATIONS)
            .clamp(1, MAX_ITERATIONS);
    }
    iterations
}

/// Times jobs of `iterations` back to back, each between two reads of `now`, into `histogram`
/// (clamped to its range: it never grows), until a job ends at least `duration_ns` after the
/// first read; at least one job.
pub fn run(
    mut now: impl FnMut() -> i64,
    iterations: u32,
    duration_ns: u64,
    histogram: &mut Histogram<u64>,
) {
    let end = now().saturating_add(i64::try_from(duration_ns).unwrap_or(i64::MAX));
    let mut seed = 0u64;
    loop {
        let start = now();
        black_box(job(black_box(iterations), seed));
        let t = now();
        histogram.saturating_record(u64::try_from(t.saturating_sub(start)).unwrap_or(0));
        if t >= end {
            break;
        }
        seed += 1;
    }
}

/// A floor, measured.
#[derive(Debug)]
pub struct Floor {
    /// The CPU it ran on.
    pub cpu: usize,
    /// Where the clock's ticks came from.
    pub source: Source,
    /// The median it was calibrated to (the row's p50), ns.
    pub target_ns: u64,
    /// Iterations of [`job`] per job.
    pub iterations: u32,
    /// The jobs' times, ns.
    pub histogram: Histogram<u64>,
}

impl Floor {
    /// The floor's p99.9 is above [`P999_TARGET_NS`]: on this core, during this run, code with
    /// the row's median cannot meet the target however little it does in its slow cases.
    pub fn above_target(&self) -> bool {
        self.histogram.value_at_quantile(0.999) > P999_TARGET_NS
    }
}

/// Why the floor was not measured.
#[derive(Debug)]
pub enum Error {
    /// The pinned thread did not run to the end.
    Pinned(PinnedError),
    /// The histogram could not be made (hdrhistogram's text).
    Histogram(String),
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Pinned(e) => write!(f, "platform floor thread: {e}"),
            Self::Histogram(e) => write!(f, "platform floor histogram: {e}"),
        }
    }
}

impl std::error::Error for Error {}

/// Calibrates [`job`] to `target_ns` and times such jobs for `duration` on a thread pinned to
/// `cpu` (as the one-thread rows and the hiccup meter are), with a clock calibrated there. The
/// calling thread waits; its own affinity is untouched.
///
/// # Errors
/// [`Error`].
pub fn measure(cpu: usize, target_ns: u64, duration: Duration) -> Result<Floor, Error> {
    crate::two_core::on_core(cpu, "tw-floor", move || {
        let mut histogram = crate::inmem::hist().map_err(Error::Histogram)?;
        let (clock, _) = Clock::calibrate(Duration::from_millis(20));
        let iterations = calibrate(target_ns, |n| {
            let start = clock.mono_ns();
            black_box(job(black_box(n), 0));
            u64::try_from(clock.mono_ns().saturating_sub(start)).unwrap_or(0)
        });
        let ns = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
        run(|| clock.mono_ns(), iterations, ns, &mut histogram);
        Ok(Floor {
            cpu,
            source: clock.source(),
            target_ns,
            iterations,
            histogram,
        })
    })
    .map_err(Error::Pinned)?
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_job_depends_on_every_iteration() {
        assert_eq!(job(0, 7), 7);
        let one = 7u64.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17);
        assert_eq!(job(1, 7), one);
        assert_eq!(
            job(2, 7),
            one.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17) ^ 1
        );
        assert_ne!(job(1000, 7), job(999, 7));
        assert_ne!(job(1000, 7), job(1000, 8));
    }

    #[test]
    fn calibration_finds_the_iterations_of_the_target() {
        // 3 ns an iteration plus 20 ns of clock reads: 1000 ns is 326 iterations.
        assert_eq!(calibrate(1_000, |n| 20 + 3 * u64::from(n)), 326);
        // The median, not the mean: one job in ten taking 50 µs changes nothing.
        let mut k = 0u32;
        let noisy = calibrate(1_000, |n| {
            k += 1;
            3 * u64::from(n) + if k % 10 == 0 { 50_000 } else { 0 }
        });
        assert_eq!(noisy, 333);
    }

    #[test]
    fn calibration_stays_in_its_range() {
        // A clock that does not move (median 0 is taken as 1 ns): as many as allowed.
        assert_eq!(calibrate(1_000, |_| 0), MAX_ITERATIONS);
        // A target shorter than one iteration: one.
        assert_eq!(calibrate(1, |n| 100 * u64::from(n)), 1);
        assert_eq!(calibrate(0, u64::from), 1);
    }

    #[test]
    fn each_job_is_one_sample_between_two_reads_until_the_time_is_up() {
        // A clock that advances 10 ns a read, and 5 µs once (inside the third job); asked for
        // 95 ns after the first read (at 10): the job ending at 5090 is the last.
        let mut t = 0i64;
        let mut reads = 0;
        let now = || {
            reads += 1;
            t += if reads == 7 { 5_000 } else { 10 };
            t
        };
        let mut h = crate::inmem::hist().unwrap();
        run(now, 10, 95, &mut h);
        assert_eq!(h.len(), 3);
        assert_eq!(h.count_at(10), 2);
        assert_eq!(h.count_at(5_000), 1);
        // No time at all: still one job. A clock that steps back counts 0, not a huge sample.
        let mut back = [0i64, 100, 40].into_iter();
        let mut h = crate::inmem::hist().unwrap();
        run(|| back.next().unwrap_or(i64::MAX), 10, 0, &mut h);
        assert_eq!((h.len(), h.max()), (1, 0));
    }
}
