//! The tick-to-trade issue's four targets, judged on one `tickwire bench` run of the in-memory
//! row: inside p50 and p99.9, and the p50 at the venue against baselines (a) and (b) measured
//! in the same run.
//!
//! ```text
//! in-memory row (inside) ──► p50 ≤ 1 µs, p99.9 ≤ 3 µs
//! at the venue, p50:  (a) blocking threads ÷ tickwire ≥ 20×,  (b) one thread polling ÷ tickwire ≥ 3×
//! Verdict ─► each met or missed; a baseline the run left out is "not measured", and then the
//!            run cannot show all four
//! ```

use crate::floor::{P50_TARGET_NS, P999_TARGET_NS};

/// Baseline (a)'s p50 at the venue over tickwire's, at least.
pub const BASELINE_A_RATIO: f64 = 20.0;

/// Baseline (b)'s p50 at the venue over tickwire's, at least.
pub const BASELINE_B_RATIO: f64 = 3.0;

/// One run's figures against the targets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verdict {
    /// The in-memory row's p50 inside the appliance, ns.
    pub p50_ns: u64,
    /// Its p99.9 inside, ns.
    pub p99_9_ns: u64,
    /// Baseline (a) ÷ tickwire, p50 at the venue (`None`: (a) was not run).
    pub baseline_a: Option<f64>,
    /// Baseline (b) ÷ tickwire, p50 at the venue (`None`: (b) was not run).
    pub baseline_b: Option<f64>,
}

impl Verdict {
    /// p50 ≤ [`P50_TARGET_NS`].
    pub fn p50_met(&self) -> bool {
        self.p50_ns <= P50_TARGET_NS
    }

    /// p99.9 ≤ [`P999_TARGET_NS`].
    pub fn p99_9_met(&self) -> bool {
        self.p99_9_ns <= P999_TARGET_NS
    }

    /// (a) ≥ [`BASELINE_A_RATIO`], `None` when not measured.
    pub fn baseline_a_met(&self) -> Option<bool> {
        self.baseline_a.map(|r| r >= BASELINE_A_RATIO)
    }

    /// (b) ≥ [`BASELINE_B_RATIO`], `None` when not measured.
    pub fn baseline_b_met(&self) -> Option<bool> {
        self.baseline_b.map(|r| r >= BASELINE_B_RATIO)
    }

    /// Targets met, of those measured (out of four when both baselines ran).
    pub fn met(&self) -> (usize, usize) {
        let all = [
            Some(self.p50_met()),
            Some(self.p99_9_met()),
            self.baseline_a_met(),
            self.baseline_b_met(),
        ];
        let judged = all.iter().flatten().count();
        let met = all.iter().flatten().filter(|&&m| m).count();
        (met, judged)
    }

    /// All four measured and met; `false` when one is missed or not measured.
    pub fn all_met(&self) -> bool {
        self.met() == (4, 4)
    }
}

/// `met` / `MISSED`, or `not measured`.
fn word(m: Option<bool>) -> &'static str {
    match m {
        Some(true) => "met",
        Some(false) => "MISSED",
        None => "not measured",
    }
}

/// One line: each figure, its target and whether it was met, then the count.
impl core::fmt::Display for Verdict {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let ratio = |r: Option<f64>| r.map_or_else(|| "-".to_string(), |r| format!("{r:.1}x"));
        let (met, judged) = self.met();
        write!(
            f,
            "inside p50 {} ns (≤ {} ns: {}), inside p99.9 {} ns (≤ {} ns: {}), (a) {} (≥ {}x: {}), (b) {} (≥ {}x: {}); {met} of {judged} met{}",
            self.p50_ns,
            P50_TARGET_NS,
            word(Some(self.p50_met())),
            self.p99_9_ns,
            P999_TARGET_NS,
            word(Some(self.p99_9_met())),
            ratio(self.baseline_a),
            BASELINE_A_RATIO,
            word(self.baseline_a_met()),
            ratio(self.baseline_b),
            BASELINE_B_RATIO,
            word(self.baseline_b_met()),
            if judged < 4 {
                ", so this run cannot show all four"
            } else {
                ""
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(p50_ns: u64, p99_9_ns: u64, a: Option<f64>, b: Option<f64>) -> Verdict {
        Verdict {
            p50_ns,
            p99_9_ns,
            baseline_a: a,
            baseline_b: b,
        }
    }

    #[test]
    fn every_target_is_inclusive_at_its_bound() {
        let at = v(1_000, 3_000, Some(20.0), Some(3.0));
        assert!(at.all_met());
        assert_eq!(at.met(), (4, 4));
        assert_eq!(
            at.to_string(),
            "inside p50 1000 ns (≤ 1000 ns: met), inside p99.9 3000 ns (≤ 3000 ns: met), \
             (a) 20.0x (≥ 20x: met), (b) 3.0x (≥ 3x: met); 4 of 4 met"
        );
        let past = v(1_001, 3_001, Some(19.99), Some(2.99));
        assert_eq!(past.met(), (0, 4));
        assert!(!past.all_met());
    }

    #[test]
    fn one_miss_fails_the_run() {
        let r = v(901, 4_017, Some(25.8), Some(8.5));
        assert_eq!(r.met(), (3, 4));
        assert!(!r.all_met());
        assert!(r
            .to_string()
            .contains("inside p99.9 4017 ns (≤ 3000 ns: MISSED)"));
    }

    #[test]
    fn a_baseline_left_out_is_not_measured_and_the_run_cannot_show_all_four() {
        let r = v(900, 2_000, None, Some(8.0));
        assert_eq!(r.met(), (3, 3));
        assert!(!r.all_met());
        let line = r.to_string();
        assert!(line.contains("(a) - (≥ 20x: not measured)"), "{line}");
        assert!(
            line.ends_with("3 of 3 met, so this run cannot show all four"),
            "{line}"
        );
    }
}
