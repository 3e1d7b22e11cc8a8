//! Two implementations timed against each other in interleaved rounds, for the benches that
//! set tickwire beside a baseline outside criterion: each round times one batch of each, so a
//! host that changes speed between rounds (this VM does, by ±50 %) moves both sides of that
//! round's ratio, and the median of the per-round ratios is steadier than a ratio of medians.

/// The medians of an [`interleaved`] race.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Race {
    /// Median of the first side's per-round figures.
    pub ours: f64,
    /// Median of the second side's.
    pub theirs: f64,
    /// Median of the per-round ratios `theirs / ours`.
    pub ratio: f64,
}

/// Runs `rounds` rounds (at least one), each calling `ours` and then `theirs` once; each call
/// times one batch and returns its figure (ns per call, say). `state` is lent to both (the
/// two sides often share their fixture); pass `&mut ()` when they need nothing in common.
pub fn interleaved<S: ?Sized>(
    rounds: usize,
    state: &mut S,
    mut ours: impl FnMut(&mut S) -> f64,
    mut theirs: impl FnMut(&mut S) -> f64,
) -> Race {
    let rounds = rounds.max(1);
    let (mut a, mut b, mut r) = (
        Vec::with_capacity(rounds),
        Vec::with_capacity(rounds),
        Vec::with_capacity(rounds),
    );
    for _ in 0..rounds {
        let x = ours(state);
        let y = theirs(state);
        a.push(x);
        b.push(y);
        r.push(y / x);
    }
    Race {
        ours: median(&mut a),
        theirs: median(&mut b),
        ratio: median(&mut r),
    }
}

/// The middle value (the upper one of an even count); `v` must not be empty.
fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_is_the_median_of_each_rounds_ratio_not_the_ratio_of_medians() {
        // Rounds: (1, 3), (2, 2), (10, 50): per-round ratios 3, 1, 5 → median 3; the medians
        // of each side are 2 and 3 (ratio of medians 1.5).
        let mut ours = [1.0, 2.0, 10.0].into_iter();
        let mut theirs = [3.0, 2.0, 50.0].into_iter();
        let race = interleaved(
            3,
            &mut (),
            |_| ours.next().expect("three rounds"),
            |_| theirs.next().expect("three rounds"),
        );
        assert_eq!(
            race,
            Race {
                ours: 2.0,
                theirs: 3.0,
                ratio: 3.0
            }
        );
    }

    #[test]
    fn sides_alternate_within_each_round() {
        let mut order = Vec::new();
        interleaved(
            2,
            &mut order,
            |o| {
                o.push('a');
                1.0
            },
            |o| {
                o.push('b');
                1.0
            },
        );
        assert_eq!(order, ['a', 'b', 'a', 'b']);
    }
}
