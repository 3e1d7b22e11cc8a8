//! Linux CPU lists (`0-3,8,10-11`), as written in sysfs, procfs and the kernel command line.
//!
//! [`CpuList`] is a sorted set of CPU numbers. [`CpuList::parse`] accepts the kernel's
//! list format (single numbers, `a-b` ranges and `a-b:used/group` strides); `Display` writes
//! the canonical compressed form. [`CpuList::parse_mask`] reads the hex masks of
//! `/proc/irq/default_smp_affinity` (`ff,ffffffff`), [`CpuList::to_mask`] writes one.

use std::collections::BTreeSet;
use std::fmt;

/// A set of CPU numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct CpuList(BTreeSet<u32>);

/// Why a CPU list or mask did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The offending piece of the input.
    pub token: String,
    /// What is wrong with it.
    pub problem: &'static str,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.token, self.problem)
    }
}

impl std::error::Error for ParseError {}

/// Largest CPU number accepted (the kernel's NR_CPUS ceiling).
const MAX_CPU: u32 = 8191;

impl CpuList {
    /// The empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses the kernel list format; surrounding whitespace and an empty string are accepted.
    ///
    /// # Errors
    /// [`ParseError`] naming the first piece that is not a number, range or stride.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let mut set = BTreeSet::new();
        for token in s.trim().split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let err = |problem| ParseError {
                token: token.to_owned(),
                problem,
            };
            let (range, stride) = match token.split_once(':') {
                Some((r, s)) => (r, Some(s)),
                None => (token, None),
            };
            let (lo, hi) = match range.split_once('-') {
                Some((a, b)) => (
                    num(a).ok_or(err("not a CPU range"))?,
                    num(b).ok_or(err("not a CPU range"))?,
                ),
                None => {
                    let n = num(range).ok_or(err("not a CPU number"))?;
                    (n, n)
                }
            };
            if lo > hi {
                return Err(err("range runs backwards"));
            }
            if hi > MAX_CPU {
                return Err(err("CPU number too large"));
            }
            let (used, group) = match stride {
                None => (1, 1),
                Some(s) => {
                    let (u, g) = s.split_once('/').ok_or(err("stride must be used/group"))?;
                    let (u, g) = (
                        num(u).ok_or(err("bad stride"))?,
                        num(g).ok_or(err("bad stride"))?,
                    );
                    if u == 0 || g == 0 || u > g {
                        return Err(err("stride needs 0 < used <= group"));
                    }
                    (u, g)
                }
            };
            set.extend((lo..=hi).filter(|c| (c - lo) % group < used));
        }
        Ok(Self(set))
    }

    /// Parses a comma-separated hex mask (`3`, `ff,ffffffff`), lowest CPUs in the last word.
    ///
    /// # Errors
    /// [`ParseError`] when a word is not hexadecimal.
    pub fn parse_mask(s: &str) -> Result<Self, ParseError> {
        let mut set = BTreeSet::new();
        let mut base = 0u32;
        for word in s.trim().rsplit(',') {
            let err = |problem| ParseError {
                token: word.to_owned(),
                problem,
            };
            let digits = word.trim();
            // `from_str_radix` would also take a sign.
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(err("not a hexadecimal CPU mask word"));
            }
            let v = u32::from_str_radix(digits, 16)
                .map_err(|_| err("not a hexadecimal CPU mask word"))?;
            if v != 0 && base.saturating_add(31 - v.leading_zeros()) > MAX_CPU {
                return Err(err("CPU number too large"));
            }
            set.extend((0..32).filter(|b| v & (1 << b) != 0).map(|b| base + b));
            // Past MAX_CPU only zero words can follow; stop counting before u32 would wrap.
            base = base.saturating_add(32);
        }
        Ok(Self(set))
    }

    /// The mask form of this set, comma-separated 32-bit words as the kernel writes them.
    pub fn to_mask(&self) -> String {
        let words = self.0.iter().next_back().map_or(1, |m| m / 32 + 1);
        let mut out = Vec::with_capacity(words as usize);
        for w in (0..words).rev() {
            let v = self
                .0
                .iter()
                .filter(|c| **c / 32 == w)
                .fold(0u32, |acc, c| acc | 1 << (c % 32));
            out.push(if w == words - 1 {
                format!("{v:x}")
            } else {
                format!("{v:08x}")
            });
        }
        out.join(",")
    }

    /// The CPUs `0..count`.
    pub fn first(count: u32) -> Self {
        Self((0..count).collect())
    }

    /// Whether `cpu` is in the set.
    pub fn contains(&self, cpu: u32) -> bool {
        self.0.contains(&cpu)
    }

    /// Whether every CPU of `other` is in `self`.
    pub fn is_superset(&self, other: &Self) -> bool {
        self.0.is_superset(&other.0)
    }

    /// CPUs in both sets.
    pub fn intersection(&self, other: &Self) -> Self {
        Self(self.0.intersection(&other.0).copied().collect())
    }

    /// CPUs in either set.
    pub fn union(&self, other: &Self) -> Self {
        Self(self.0.union(&other.0).copied().collect())
    }

    /// CPUs of `self` not in `other`.
    pub fn difference(&self, other: &Self) -> Self {
        Self(self.0.difference(&other.0).copied().collect())
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Number of CPUs.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The CPUs in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.0.iter().copied()
    }

    /// The lowest CPU.
    pub fn lowest(&self) -> Option<u32> {
        self.0.iter().next().copied()
    }
}

impl FromIterator<u32> for CpuList {
    fn from_iter<I: IntoIterator<Item = u32>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

fn num(s: &str) -> Option<u32> {
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl fmt::Display for CpuList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        let mut it = self.0.iter().copied().peekable();
        while let Some(lo) = it.next() {
            let mut hi = lo;
            while it.peek() == Some(&(hi + 1)) {
                hi += 1;
                it.next();
            }
            if !first {
                f.write_str(",")?;
            }
            first = false;
            if hi == lo {
                write!(f, "{lo}")?;
            } else {
                write!(f, "{lo}-{hi}")?;
            }
        }
        Ok(())
    }
}

impl serde::Serialize for CpuList {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for CpuList {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_and_prints_lists() {
        let l = CpuList::parse("0-3,8, 10-11\n").unwrap();
        assert_eq!(l.iter().collect::<Vec<_>>(), [0, 1, 2, 3, 8, 10, 11]);
        assert_eq!(l.to_string(), "0-3,8,10-11");
        assert!(CpuList::parse("").unwrap().is_empty());
        assert_eq!(CpuList::parse("0-7:2/4").unwrap().to_string(), "0-1,4-5");
        assert_eq!(CpuList::parse("5,4,3").unwrap().to_string(), "3-5");
    }

    #[test]
    fn rejects_bad_lists_naming_the_token() {
        let e = CpuList::parse("0-3,x").unwrap_err();
        assert_eq!(e.token, "x");
        assert_eq!(
            CpuList::parse("3-1").unwrap_err().problem,
            "range runs backwards"
        );
        assert!(CpuList::parse("0-99999").is_err());
        assert!(CpuList::parse("0-7:3/2").is_err());
        assert!(CpuList::parse("-1").is_err());
    }

    #[test]
    fn masks_refuse_signs_and_cpus_past_the_limit() {
        assert!(CpuList::parse_mask("+3").is_err());
        assert!(CpuList::parse_mask("3,,1").is_err());
        // CPU 8191 is the last one: 256 words, the top bit of the first.
        let mut words = vec!["00000000"; 255];
        words.insert(0, "80000000");
        assert_eq!(
            CpuList::parse_mask(&words.join(","))
                .unwrap()
                .iter()
                .collect::<Vec<_>>(),
            [8191]
        );
        words.insert(0, "1");
        let e = CpuList::parse_mask(&words.join(",")).unwrap_err();
        assert_eq!((e.token.as_str(), e.problem), ("1", "CPU number too large"));
        // Leading zero words past the limit are only zeros: accepted.
        words[0] = "0";
        assert_eq!(CpuList::parse_mask(&words.join(",")).unwrap().len(), 1);
    }

    proptest::proptest! {
        /// Any text: a list or an error, never a panic; what parses prints in the canonical
        /// form, which parses back to the same set, as does its mask.
        #[test]
        fn any_text_parses_or_is_refused(s in "[0-9a-fx:/, -]{0,24}") {
            if let Ok(l) = CpuList::parse(&s) {
                proptest::prop_assert_eq!(CpuList::parse(&l.to_string()).unwrap(), l.clone());
                proptest::prop_assert_eq!(CpuList::parse_mask(&l.to_mask()).unwrap(), l);
            }
            if let Ok(l) = CpuList::parse_mask(&s) {
                proptest::prop_assert_eq!(CpuList::parse_mask(&l.to_mask()).unwrap(), l.clone());
                proptest::prop_assert_eq!(CpuList::parse(&l.to_string()).unwrap(), l);
            }
        }

        /// Any set of CPUs round-trips through both forms.
        #[test]
        fn any_set_round_trips(cpus in proptest::collection::btree_set(0..=MAX_CPU, 0..40)) {
            let l = CpuList(cpus);
            proptest::prop_assert_eq!(CpuList::parse(&l.to_string()).unwrap(), l.clone());
            proptest::prop_assert_eq!(CpuList::parse_mask(&l.to_mask()).unwrap(), l);
        }
    }

    #[test]
    fn masks_round_trip() {
        let l = CpuList::parse_mask("3").unwrap();
        assert_eq!(l.to_string(), "0-1");
        assert_eq!(l.to_mask(), "3");
        let wide = CpuList::parse("0,33").unwrap();
        assert_eq!(wide.to_mask(), "2,00000001");
        assert_eq!(CpuList::parse_mask("2,00000001").unwrap(), wide);
        assert_eq!(CpuList::new().to_mask(), "0");
        assert!(CpuList::parse_mask("zz").is_err());
    }
}
