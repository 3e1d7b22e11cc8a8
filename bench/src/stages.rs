//! The per-stage breakdown of tick-to-trade inside the appliance, from TSC stamps.
//!
//! The in-memory harness stamps the client's tick → order path with the calibrated TSC
//! ([`tickwire_dataplane::clock::Clock`]) between its stages:
//!
//! ```text
//! s0 TCP ingress (the rest of Stack::poll) s1 recv_with (TCP read → TLS) s2 tls.poll (TLS
//! open) s3 FIX parse + book s4 trigger + risk s5 template patch + FIX session s6 TLS seal
//! (straight into TCP's send buffer) s7 Stack::send (TCP write: only ciphertext that could not
//! be sealed in place) s8 Stack::transmit (TCP egress of the order, up to its frame's
//! hand-over to the NIC) s9
//! ```
//!
//! s0 and s9 are the issue's "rx-burst return" and "tx-burst call", read by the client's NIC
//! wrapper ([`crate::stamp_nic::StampNic`]): when the frame holding the tick came out of the
//! NIC's receive ring, when the order's frame went into its transmit ring.
//!
//! Stamps cost a TSC read each, so the harness alternates: on even ticks it stamps every
//! boundary (the stage histograms and [`Stages::stamped`] come from those), on odd ticks only
//! s0 and s9 (the headline end-to-end figure, `Report::tick_to_trade`). Both halves run in
//! the same loop over the same feed, so they see the same conditions; [`Check`] compares the
//! sum of the stage medians with both end-to-end medians.

use hdrhistogram::Histogram;

/// Stage names, in path order.
pub const NAMES: [&str; 9] = [
    "TCP ingress",
    "TCP read",
    "TLS open",
    "FIX parse + book",
    "trigger + risk",
    "template patch + FIX session",
    "TLS seal",
    "TCP write",
    "TCP egress",
];

/// Short names for files and JSON keys, same order as [`NAMES`].
pub const KEYS: [&str; 9] = [
    "rx_tcp_ingress",
    "tcp_read",
    "tls_open",
    "fix_parse_book",
    "trigger_risk",
    "template_patch_session",
    "tls_seal",
    "tcp_write",
    "tcp_egress_tx",
];

/// One histogram per stage plus the end-to-end interval of the same (stamped) ticks, ns; and
/// each stamped tick's stages, for [`Stages::tail`].
#[derive(Debug)]
pub struct Stages {
    /// Per stage, in [`NAMES`] order.
    pub stage: [Histogram<u64>; 9],
    /// s0 → s9 of the stamped ticks.
    pub stamped: Histogram<u64>,
    /// The stages of each stamped tick, in order, up to the capacity sized at construction
    /// (keeping one never allocates).
    kept: Vec<[u32; 9]>,
    /// Stamped ticks past that capacity, not kept.
    not_kept: u64,
}

/// Where the slow ticks' time went: over the stamped ticks whose stages add up to at least
/// a threshold, how far each stage ran past its median, summed per stage. A platform
/// interruption lands in a stage in proportion to the stage's length, so for slow ticks made
/// by interruptions the shares of this excess follow the stages' shares of the median tick;
/// a stage whose share of the excess is far above its share of the median has a slow case
/// of its own. The excess is dominated by the few longest interruptions (tens of µs); the
/// spike counts ([`Tail::spikes_per_ms`]) weigh every interruption-sized event once, over all
/// the kept ticks, and ask the same question as a rate per unit of each stage's time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tail {
    /// The threshold, ns.
    pub threshold_ns: u64,
    /// Kept ticks at or above it.
    pub ticks: u64,
    /// Stamped ticks kept, the ones looked at.
    pub kept: u64,
    /// Stamped ticks past the capacity.
    pub not_kept: u64,
    /// Per stage: the median over every stamped tick, ns.
    pub p50_ns: [u64; 9],
    /// Per stage: the sum over the slow ticks of how far the stage ran past its median, ns.
    pub excess_ns: [u64; 9],
    /// Per stage: the kept ticks (slow or not) in which the stage ran at least [`SPIKE_NS`]
    /// past its median.
    pub spikes: [u64; 9],
}

/// How far past its median a stage must run in one tick to count as a spike in
/// [`Tail::spikes`], ns: more than any stage's median here, the size of an interruption
/// rather than of a cache miss.
pub const SPIKE_NS: u64 = 1_000;

/// A stage whose spikes per ms of its median time are at least this many times those of the
/// whole path has a slow case of its own ([`Tail::own_slow_cases`]).
pub const OWN_SLOW_CASE_RATIO: f64 = 3.0;

/// Fewer spikes than this in a stage say nothing about its rate.
pub const MIN_SPIKES: u64 = 10;

impl Tail {
    /// Each stage's share of the median tick (its p50 over the sum of the p50s).
    pub fn p50_share(&self) -> [f64; 9] {
        shares(&self.p50_ns)
    }

    /// Each stage's share of the slow ticks' excess (all 0 without slow ticks).
    pub fn excess_share(&self) -> [f64; 9] {
        shares(&self.excess_ns)
    }

    /// Spikes per ms of each stage's median time (its p50 times the kept ticks): the rate at
    /// which something of interruption size befalls the stage. Interruptions arrive at one
    /// rate wherever the path is, so every stage shows about the same; a stage well above
    /// the rest has a slow case of its own. 0 for a stage with a median of 0.
    pub fn spikes_per_ms(&self) -> [f64; 9] {
        core::array::from_fn(|i| rate(self.spikes[i], self.p50_ns[i], self.kept))
    }

    /// Spikes per ms of the whole path's median time (the sum of the stage p50s).
    pub fn path_spikes_per_ms(&self) -> f64 {
        rate(
            self.spikes.iter().sum(),
            self.p50_ns.iter().sum(),
            self.kept,
        )
    }

    /// The stages (indices into [`NAMES`]) with at least [`MIN_SPIKES`] spikes at a rate of
    /// at least [`OWN_SLOW_CASE_RATIO`] times the path's.
    pub fn own_slow_cases(&self) -> Vec<usize> {
        let path = self.path_spikes_per_ms();
        let per = self.spikes_per_ms();
        (0..9)
            .filter(|&i| self.spikes[i] >= MIN_SPIKES && per[i] >= OWN_SLOW_CASE_RATIO * path)
            .collect()
    }
}

/// `count` events per ms of `ticks` × `p50_ns` (0 when that is 0).
fn rate(count: u64, p50_ns: u64, ticks: u64) -> f64 {
    let ns = p50_ns as f64 * ticks as f64;
    if ns == 0.0 {
        0.0
    } else {
        count as f64 * 1e6 / ns
    }
}

/// `v[i]` over the sum of `v` (0 for an empty sum).
fn shares(v: &[u64; 9]) -> [f64; 9] {
    let total: u64 = v.iter().sum();
    v.map(|x| {
        if total == 0 {
            0.0
        } else {
            x as f64 / total as f64
        }
    })
}

/// How the breakdown adds up.
#[derive(Debug, Clone, Copy)]
pub struct Check {
    /// Sum of the stage p50s, ns.
    pub sum_p50: u64,
    /// p50 of s0 → s9 on the stamped ticks.
    pub stamped_p50: u64,
    /// p50 of s0 → s9 on the un-stamped ticks (the headline figure).
    pub bare_p50: u64,
    /// |sum − bare| / bare.
    pub error_vs_bare: f64,
    /// |sum − stamped| / stamped.
    pub error_vs_stamped: f64,
}

impl Stages {
    /// Empty histograms (1 ns … 60 s, 3 significant digits).
    ///
    /// # Errors
    /// hdrhistogram's error text.
    pub fn new() -> Result<Stages, String> {
        Stages::keeping(0)
    }

    /// [`Stages::new`] that also keeps the stages of the first `ticks` stamped ticks for
    /// [`Stages::tail`] (36 bytes each, allocated now).
    ///
    /// # Errors
    /// hdrhistogram's error text.
    pub fn keeping(ticks: usize) -> Result<Stages, String> {
        let h =
            || Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).map_err(|e| e.to_string());
        Ok(Stages {
            stage: [h()?, h()?, h()?, h()?, h()?, h()?, h()?, h()?, h()?],
            stamped: h()?,
            kept: Vec::with_capacity(ticks),
            not_kept: 0,
        })
    }

    /// The slow ticks' excess by stage, for the kept ticks whose stages add up to at least
    /// `threshold_ns` ([`Tail`]).
    pub fn tail(&self, threshold_ns: u64) -> Tail {
        let p50_ns: [u64; 9] = core::array::from_fn(|i| self.stage[i].value_at_quantile(0.5));
        let mut excess_ns = [0u64; 9];
        let mut spikes = [0u64; 9];
        let mut ticks = 0;
        for t in &self.kept {
            for (n, (&d, &p)) in spikes.iter_mut().zip(t.iter().zip(&p50_ns)) {
                *n += u64::from(u64::from(d).saturating_sub(p) >= SPIKE_NS);
            }
            if t.iter().map(|&d| u64::from(d)).sum::<u64>() < threshold_ns {
                continue;
            }
            ticks += 1;
            for (e, (&d, &p)) in excess_ns.iter_mut().zip(t.iter().zip(&p50_ns)) {
                *e += u64::from(d).saturating_sub(p);
            }
        }
        Tail {
            threshold_ns,
            ticks,
            kept: self.kept.len() as u64,
            not_kept: self.not_kept,
            p50_ns,
            excess_ns,
            spikes,
        }
    }

    /// Records one stamped tick: `s` holds the ten boundaries s0..s9 (monotonic ns).
    /// A stage of 0 ns (two stamps in the same TSC→ns step) is recorded as 0.
    ///
    /// # Errors
    /// hdrhistogram's error text.
    pub fn record(&mut self, s: &[i64; 10]) -> Result<(), String> {
        let mut tick = [0u32; 9];
        for (i, h) in self.stage.iter_mut().enumerate() {
            let d = (s[i + 1] - s[i]).max(0) as u64;
            h.record(d).map_err(|e| e.to_string())?;
            tick[i] = u32::try_from(d).unwrap_or(u32::MAX);
        }
        if self.kept.len() < self.kept.capacity() {
            self.kept.push(tick);
        } else {
            self.not_kept += 1;
        }
        self.stamped
            .record(((s[9] - s[0]).max(1)) as u64)
            .map_err(|e| e.to_string())
    }

    /// Sum of the stage medians against the end-to-end medians; `bare` is the histogram of
    /// the un-stamped ticks of the same run.
    pub fn check(&self, bare: &Histogram<u64>) -> Check {
        let sum_p50: u64 = self.stage.iter().map(|h| h.value_at_quantile(0.5)).sum();
        let stamped_p50 = self.stamped.value_at_quantile(0.5);
        let bare_p50 = bare.value_at_quantile(0.5);
        let err = |x: u64| (sum_p50 as f64 - x as f64).abs() / (x.max(1) as f64);
        Check {
            sum_p50,
            stamped_p50,
            bare_p50,
            error_vs_bare: err(bare_p50),
            error_vs_stamped: err(stamped_p50),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn stages_sum_to_the_interval_they_split() {
        let mut st = Stages::new().unwrap();
        let mut bare = Histogram::<u64>::new(3).unwrap();
        for k in 0..100i64 {
            let s: [i64; 10] = core::array::from_fn(|i| 1000 + k + 10 * i as i64);
            st.record(&s).unwrap();
            bare.record(95).unwrap();
        }
        let c = st.check(&bare);
        assert_eq!(c.sum_p50, 90);
        assert_eq!(c.stamped_p50, 90);
        assert!((c.error_vs_bare - 5.0 / 95.0).abs() < 1e-9, "{c:?}");
        assert_eq!(c.error_vs_stamped, 0.0);
        // A stamp that went backwards counts as 0, never as a huge value.
        let mut s: [i64; 10] = core::array::from_fn(|i| 10 * i as i64);
        s[3] = 0;
        st.record(&s).unwrap();
        assert_eq!(st.stage[2].min(), 0);
        assert!(st.stage[2].max() < 100);
    }

    /// Stamps of a tick whose stages take `d`.
    fn ticks(d: [i64; 9]) -> [i64; 10] {
        let mut s = [0i64; 10];
        for i in 0..9 {
            s[i + 1] = s[i] + d[i];
        }
        s
    }

    #[test]
    fn the_tail_shows_which_stage_the_slow_ticks_spent_their_excess_in() {
        let mut st = Stages::keeping(200).unwrap();
        let normal = [100, 10, 100, 300, 50, 100, 150, 10, 80];
        for _ in 0..100 {
            st.record(&ticks(normal)).unwrap();
        }
        // Four slow ticks: three with 4 µs more in FIX parse, one with 2 µs more in TLS seal
        // and 1 µs more in TCP ingress.
        let mut fix = normal;
        fix[3] += 4_000;
        let mut seal = normal;
        seal[6] += 2_000;
        seal[0] += 1_000;
        for d in [fix, fix, fix, seal] {
            st.record(&ticks(d)).unwrap();
        }
        let t = st.tail(3_000);
        assert_eq!((t.ticks, t.kept, t.not_kept), (4, 104, 0));
        assert_eq!(t.p50_ns, normal.map(|d| d as u64));
        assert_eq!(t.excess_ns, [1_000, 0, 0, 12_000, 0, 0, 2_000, 0, 0]);
        let e = t.excess_share();
        assert!((e[3] - 12.0 / 15.0).abs() < 1e-12, "{e:?}");
        assert!((t.p50_share()[3] - 300.0 / 900.0).abs() < 1e-12);
        assert!((t.p50_share().iter().sum::<f64>() - 1.0).abs() < 1e-12);
        // Every kept tick counts for the spikes, slow or not: the 1 µs in TCP ingress too.
        assert_eq!(t.spikes, [1, 0, 0, 3, 0, 0, 1, 0, 0]);
        assert!((t.spikes_per_ms()[3] - 3e6 / (300.0 * 104.0)).abs() < 1e-9);
        assert!((t.path_spikes_per_ms() - 5e6 / (900.0 * 104.0)).abs() < 1e-9);
        assert_eq!(t.spikes_per_ms()[1], 0.0);
        assert!(t.own_slow_cases().is_empty(), "too few spikes to judge");
        // Above every tick: none, and shares of nothing are 0.
        let none = st.tail(10_000);
        assert_eq!((none.ticks, none.excess_ns), (0, [0; 9]));
        assert_eq!(none.excess_share(), [0.0; 9]);
    }

    /// 1000 ticks of `normal`; in `spiky[i]` of them stage i runs 1.5 µs long.
    fn with_spikes(normal: [i64; 9], spiky: [usize; 9]) -> Tail {
        let mut st = Stages::keeping(1000).unwrap();
        for k in 0..1000 {
            let mut d = normal;
            for i in 0..9 {
                if k % 50 < spiky[i] {
                    d[i] += 1_500;
                }
            }
            st.record(&ticks(d)).unwrap();
        }
        st.tail(3_000)
    }

    #[test]
    fn spikes_in_proportion_to_stage_length_are_interruptions_and_flag_nothing() {
        // Interruptions: spikes in proportion to each stage's median.
        let t = with_spikes(
            [100, 100, 100, 300, 100, 100, 200, 100, 100],
            [1, 1, 1, 3, 1, 1, 2, 1, 1],
        );
        assert_eq!(t.spikes, [20, 20, 20, 60, 20, 20, 40, 20, 20]);
        let per = t.spikes_per_ms();
        assert!(per.iter().all(|&r| (r - 200.0).abs() < 1e-9), "{per:?}");
        assert!((t.path_spikes_per_ms() - 200.0).abs() < 1e-9);
        assert!(t.own_slow_cases().is_empty());
    }

    #[test]
    fn a_stage_spiking_more_often_than_its_length_explains_is_named() {
        // Trigger + risk (50 ns) spikes as often as FIX parse (300 ns): six times its rate.
        let t = with_spikes(
            [100, 10, 100, 300, 50, 100, 150, 10, 80],
            [0, 0, 0, 1, 1, 0, 0, 0, 0],
        );
        assert_eq!(t.spikes, [0, 0, 0, 20, 20, 0, 0, 0, 0]);
        let per = t.spikes_per_ms();
        assert!((per[4] - 400.0).abs() < 1e-9, "{per:?}");
        assert!((t.path_spikes_per_ms() - 40e6 / 900_000.0).abs() < 1e-9);
        assert_eq!(t.own_slow_cases(), vec![4]);
        // No spikes at all: nothing to name, and every rate is 0.
        let t = with_spikes(
            [100, 10, 100, 300, 50, 100, 150, 10, 80],
            [0, 0, 0, 0, 0, 0, 0, 0, 0],
        );
        assert!(t.own_slow_cases().is_empty());
        assert_eq!((t.spikes_per_ms(), t.path_spikes_per_ms()), ([0.0; 9], 0.0));
    }

    #[test]
    fn ticks_past_the_capacity_are_counted_not_kept() {
        let mut st = Stages::keeping(3).unwrap();
        for _ in 0..5 {
            st.record(&ticks([10; 9])).unwrap();
        }
        let t = st.tail(0);
        assert_eq!((t.ticks, t.kept, t.not_kept), (3, 3, 2));
        assert_eq!(st.stamped.len(), 5, "the histograms take every tick");
        let t = Stages::new().unwrap().tail(0);
        assert_eq!((t.kept, t.not_kept), (0, 0));
    }
}
