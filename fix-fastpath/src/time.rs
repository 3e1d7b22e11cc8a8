//! UTC timestamps as FIX writes them.
//!
//! FIX UTCTimestamp is `YYYYMMDD-HH:MM:SS` with an optional fraction of 3, 6 or 9 digits; Kraken
//! sends milliseconds. Kraken's L2 MDEntryTime is time-only (`HH:MM:SS.sss`). Values are kept as
//! nanoseconds since the Unix epoch, so that a timestamp can be compared, shifted and written
//! without a calendar library on the hot path.

use core::fmt;

/// Nanoseconds per second.
pub const NANOS_PER_SEC: i64 = 1_000_000_000;
/// Nanoseconds per day.
pub const NANOS_PER_DAY: i64 = 86_400 * NANOS_PER_SEC;

/// Bytes of `YYYYMMDD-HH:MM:SS.sss`, the width of every SendingTime slot we write.
pub const MILLIS_LEN: usize = 21;

/// A point in time, UTC, in nanoseconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct UtcTimestamp {
    /// Nanoseconds since the Unix epoch.
    pub nanos: i64,
}

/// Why a timestamp could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeError {
    /// The text is not one of the accepted layouts.
    Format,
    /// A field is out of range (month 13, 25 o'clock…).
    Range,
}

impl fmt::Display for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Format => "timestamp is not YYYYMMDD-HH:MM:SS[.fff]",
            Self::Range => "timestamp field out of range",
        })
    }
}

impl std::error::Error for TimeError {}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
pub const fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (month as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01, as (year, month, day).
pub const fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };
    (year, month, day)
}

#[inline]
fn digits(text: &[u8]) -> Result<u32, TimeError> {
    let mut v = 0u32;
    for &b in text {
        if !b.is_ascii_digit() {
            return Err(TimeError::Format);
        }
        v = v * 10 + u32::from(b - b'0');
    }
    Ok(v)
}

/// Reads `HH:MM:SS[.f{1,9}]` into nanoseconds since midnight.
fn time_of_day(text: &[u8]) -> Result<i64, TimeError> {
    if text.len() < 8 || text[2] != b':' || text[5] != b':' {
        return Err(TimeError::Format);
    }
    let (h, m, s) = (
        digits(&text[0..2])?,
        digits(&text[3..5])?,
        digits(&text[6..8])?,
    );
    // 60 is a leap second, which FIX allows.
    if h > 23 || m > 59 || s > 60 {
        return Err(TimeError::Range);
    }
    let mut nanos = (i64::from(h) * 3600 + i64::from(m) * 60 + i64::from(s)) * NANOS_PER_SEC;
    match text.get(8) {
        None => {}
        Some(b'.') => {
            let frac = &text[9..];
            if frac.is_empty() || frac.len() > 9 {
                return Err(TimeError::Format);
            }
            let value = i64::from(digits(frac)?);
            nanos += value * 10i64.pow(9 - frac.len() as u32);
        }
        Some(_) => return Err(TimeError::Format),
    }
    Ok(nanos)
}

impl UtcTimestamp {
    /// From seconds and nanoseconds since the epoch.
    #[inline]
    pub const fn from_nanos(nanos: i64) -> Self {
        UtcTimestamp { nanos }
    }

    /// From milliseconds since the epoch (Kraken's nonce unit). Valid until the year 2262, the
    /// range of `i64` nanoseconds.
    #[inline]
    pub const fn from_millis(millis: i64) -> Self {
        UtcTimestamp {
            nanos: millis * 1_000_000,
        }
    }

    /// Milliseconds since the epoch, rounded down.
    #[inline]
    pub const fn as_millis(self) -> i64 {
        self.nanos.div_euclid(1_000_000)
    }

    /// Builds a timestamp from calendar fields.
    ///
    /// # Errors
    /// [`TimeError::Range`] for an impossible date or time.
    pub fn from_civil(
        year: i64,
        month: u32,
        day: u32,
        hour: u32,
        minute: u32,
        second: u32,
        nanos: u32,
    ) -> Result<Self, TimeError> {
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return Err(TimeError::Range);
        }
        if hour > 23 || minute > 59 || second > 60 || nanos >= 1_000_000_000 {
            return Err(TimeError::Range);
        }
        let days = days_from_civil(year, month, day);
        let secs =
            days * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second);
        Ok(UtcTimestamp {
            nanos: secs * NANOS_PER_SEC + i64::from(nanos),
        })
    }

    /// Reads a FIX UTCTimestamp: `YYYYMMDD-HH:MM:SS` with an optional `.` and 1 to 9 fraction
    /// digits.
    ///
    /// # Errors
    /// [`TimeError`] if the layout or a field is wrong.
    pub fn parse(text: &[u8]) -> Result<Self, TimeError> {
        if text.len() < 17 || text[8] != b'-' {
            return Err(TimeError::Format);
        }
        let year = digits(&text[0..4])?;
        let month = digits(&text[4..6])?;
        let day = digits(&text[6..8])?;
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(i64::from(year), month) {
            return Err(TimeError::Range);
        }
        let tod = time_of_day(&text[9..])?;
        let days = days_from_civil(i64::from(year), month, day);
        Ok(UtcTimestamp {
            nanos: days * NANOS_PER_DAY + tod,
        })
    }

    /// Reads a time-only field (`HH:MM:SS.sss`, Kraken's L2 MDEntryTime) and places it on the
    /// UTC day of `day`. Full UTCTimestamps are accepted too (the L3 form).
    ///
    /// # Errors
    /// [`TimeError`] if the layout or a field is wrong.
    pub fn parse_time_only(text: &[u8], day: UtcTimestamp) -> Result<Self, TimeError> {
        if text.len() >= 17 && text.get(8) == Some(&b'-') {
            return Self::parse(text);
        }
        let midnight = day.nanos.div_euclid(NANOS_PER_DAY) * NANOS_PER_DAY;
        Ok(UtcTimestamp {
            nanos: midnight + time_of_day(text)?,
        })
    }

    /// Writes `YYYYMMDD-HH:MM:SS.sss` (21 bytes) into `out`.
    pub fn write_millis(self, out: &mut [u8; MILLIS_LEN]) {
        let days = self.nanos.div_euclid(NANOS_PER_DAY);
        let in_day = self.nanos.rem_euclid(NANOS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        let millis = in_day / 1_000_000;
        let (secs, ms) = (millis / 1000, millis % 1000);
        let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
        put(&mut out[0..4], year.rem_euclid(10_000) as u32);
        put(&mut out[4..6], month);
        put(&mut out[6..8], day);
        out[8] = b'-';
        put(&mut out[9..11], h as u32);
        out[11] = b':';
        put(&mut out[12..14], m as u32);
        out[14] = b':';
        put(&mut out[15..17], s as u32);
        out[17] = b'.';
        put(&mut out[18..21], ms as u32);
    }

    /// The start of the UTC day this timestamp falls on.
    #[inline]
    pub const fn utc_midnight(self) -> UtcTimestamp {
        UtcTimestamp {
            nanos: self.nanos.div_euclid(NANOS_PER_DAY) * NANOS_PER_DAY,
        }
    }
}

impl fmt::Display for UtcTimestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; MILLIS_LEN];
        self.write_millis(&mut buf);
        f.write_str(core::str::from_utf8(&buf).map_err(|_| fmt::Error)?)
    }
}

/// Writes `value` as zero-padded decimal filling all of `out`.
#[inline]
fn put(out: &mut [u8], mut value: u32) {
    for b in out.iter_mut().rev() {
        *b = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kraken_sending_time() {
        let t = UtcTimestamp::parse(b"20260407-14:32:01.000").expect("valid");
        assert_eq!(t.as_millis(), 1_775_572_321_000);
        assert_eq!(t.to_string(), "20260407-14:32:01.000");
    }

    #[test]
    fn accepts_seconds_micros_nanos() {
        let s = UtcTimestamp::parse(b"20260407-14:32:01").expect("seconds");
        let us = UtcTimestamp::parse(b"20260407-14:32:01.000001").expect("micros");
        let ns = UtcTimestamp::parse(b"20260407-14:32:01.000000001").expect("nanos");
        assert_eq!(us.nanos - s.nanos, 1000);
        assert_eq!(ns.nanos - s.nanos, 1);
    }

    #[test]
    fn rejects_bad_layouts_and_ranges() {
        assert_eq!(
            UtcTimestamp::parse(b"2026-04-07T14:32:01"),
            Err(TimeError::Format)
        );
        assert_eq!(
            UtcTimestamp::parse(b"20261307-14:32:01"),
            Err(TimeError::Range)
        );
        assert_eq!(
            UtcTimestamp::parse(b"20260230-14:32:01"),
            Err(TimeError::Range)
        );
        assert_eq!(
            UtcTimestamp::parse(b"20260407-24:32:01"),
            Err(TimeError::Range)
        );
        assert_eq!(
            UtcTimestamp::parse(b"20260407-14:32:01."),
            Err(TimeError::Format)
        );
        assert_eq!(
            UtcTimestamp::parse(b"20260407-14:32:01.1234567890"),
            Err(TimeError::Format)
        );
        assert_eq!(UtcTimestamp::parse(b""), Err(TimeError::Format));
    }

    #[test]
    fn time_only_lands_on_the_given_day() {
        let day = UtcTimestamp::parse(b"20260407-00:00:00").expect("valid");
        let t = UtcTimestamp::parse_time_only(b"14:32:01.870", day).expect("valid");
        assert_eq!(
            t,
            UtcTimestamp::parse(b"20260407-14:32:01.870").expect("valid")
        );
    }

    proptest::proptest! {
        #[test]
        fn millis_round_trip(ms in 0i64..9_000_000_000_000) {
            let t = UtcTimestamp::from_millis(ms);
            let mut buf = [0u8; MILLIS_LEN];
            t.write_millis(&mut buf);
            proptest::prop_assert_eq!(UtcTimestamp::parse(&buf), Ok(t));
        }
    }
}
