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

/// One histogram per stage plus the end-to-end interval of the same (stamped) ticks, ns.
#[derive(Debug)]
pub struct Stages {
    /// Per stage, in [`NAMES`] order.
    pub stage: [Histogram<u64>; 9],
    /// s0 → s9 of the stamped ticks.
    pub stamped: Histogram<u64>,
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
        let h =
            || Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).map_err(|e| e.to_string());
        Ok(Stages {
            stage: [h()?, h()?, h()?, h()?, h()?, h()?, h()?, h()?, h()?],
            stamped: h()?,
        })
    }

    /// Records one stamped tick: `s` holds the ten boundaries s0..s9 (monotonic ns).
    /// A stage of 0 ns (two stamps in the same TSC→ns step) is recorded as 0.
    ///
    /// # Errors
    /// hdrhistogram's error text.
    pub fn record(&mut self, s: &[i64; 10]) -> Result<(), String> {
        for (i, h) in self.stage.iter_mut().enumerate() {
            let d = (s[i + 1] - s[i]).max(0) as u64;
            h.record(d).map_err(|e| e.to_string())?;
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
}
