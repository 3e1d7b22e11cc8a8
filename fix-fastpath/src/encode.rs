//! One-pass FIX encoder into a caller-owned buffer.
//!
//! The only place that knows how a FIX message is framed on the way out: BeginString, a
//! BodyLength computed at the end, the body fields, and the CheckSum. Nothing allocates.
//!
//! ```text
//! Encoder::new(buf) ─► begin(b"FIX.4.4", b"D") ─► field(…)* ─► finish() ─► len
//! ```
//!
//! BodyLength is written into a reserved width and the body shifted left once at `finish` when
//! the reserved width was larger than needed, so the output has no padding.

use crate::decimal::Decimal;
use crate::template::{ascii_tail, copy_short, digits8, uint_digits};
use crate::time::{UtcTimestamp, MILLIS_LEN};
use wide::u8x16;

/// Why a message could not be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodeError {
    /// The buffer cannot hold the message; `required` is a lower bound for a retry.
    BufferTooSmall { required: usize },
    /// `finish` or a field was called before `begin`.
    NotStarted,
    /// A value contains SOH, which would break framing.
    ValueContainsSoh { tag: u32 },
}

impl core::fmt::Display for EncodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::BufferTooSmall { required } => write!(f, "buffer too small, need {required}"),
            Self::NotStarted => f.write_str("encoder used before begin()"),
            Self::ValueContainsSoh { tag } => write!(f, "value of tag {tag} contains SOH"),
        }
    }
}

impl std::error::Error for EncodeError {}

/// FIX field delimiter.
pub const SOH: u8 = 0x01;

/// Digits reserved for BodyLength (bodies up to 999 999 bytes).
const LEN_WIDTH: usize = 6;

/// Writes `value` in decimal at the start of `out`; returns the number of bytes (`None`, with
/// nothing written, when `out` is too short).
///
/// Up to sixteen digits are produced eight at a time by multiply-shift rounds (see
/// `template::digits8`), not digit by digit: a 16-digit ClOrdID costs two rounds.
#[inline]
pub fn write_u64(out: &mut [u8], value: u64) -> Option<usize> {
    let n = uint_digits(value);
    let dst = out.get_mut(..n)?;
    if n <= 8 {
        copy_short(dst, &ascii_tail(value as u32, n).to_le_bytes()[..n]);
    } else if n <= 16 {
        let (hi, lo) = ((value / 100_000_000) as u32, (value % 100_000_000) as u32);
        let (a, b) = dst.split_at_mut(n - 8);
        copy_short(a, &ascii_tail(hi, n - 8).to_le_bytes()[..n - 8]);
        b.copy_from_slice(&digits8(lo).to_le_bytes());
    } else {
        let mut v = value;
        for d in dst.iter_mut().rev() {
            *d = b'0' + (v % 10) as u8;
            v /= 10;
        }
    }
    Some(n)
}

/// Sum of bytes modulo 256, the FIX CheckSum.
#[inline]
pub fn checksum(bytes: &[u8]) -> u8 {
    // Only the sum modulo 256 matters, so byte-wide lanes may wrap freely: two 16-byte vector
    // adds per 32 bytes (SSE2 on x86_64 through `wide`), no widening.
    let halves = |c: &[u8]| match (
        c.first_chunk::<16>(),
        c.get(16..).and_then(<[u8]>::first_chunk::<16>),
    ) {
        (Some(lo), Some(hi)) => (u8x16::new(*lo), u8x16::new(*hi)),
        _ => (u8x16::ZERO, u8x16::ZERO),
    };
    let (mut a, mut b) = (u8x16::ZERO, u8x16::ZERO);
    let mut chunks = bytes.chunks_exact(32);
    for c in &mut chunks {
        let (lo, hi) = halves(c);
        a += lo;
        b += hi;
    }
    let rest = chunks.remainder();
    let keep = KEEP
        .get(32 + rest.len()..)
        .and_then(<[u8]>::first_chunk::<32>);
    match (bytes.last_chunk::<32>(), keep) {
        // The remainder as the last 32 bytes with the ones already added masked off: two more
        // vector adds instead of a byte loop of up to 31 steps.
        (Some(last), Some(keep)) => {
            let ((lo, hi), (keep_lo, keep_hi)) = (halves(last), halves(keep));
            a += lo & keep_lo;
            b += hi & keep_hi;
        }
        _ => {
            let mut short = [0u8; 32];
            short[..rest.len()].copy_from_slice(rest);
            let (lo, hi) = halves(&short);
            a += lo;
            b += hi;
        }
    }
    sum_lanes(a + b)
}

/// The sum of a vector's 16 byte lanes modulo 256: two words, even and odd bytes widened to
/// 16-bit lanes (at most 4 × 255 each), the four lanes added by one multiply into the top one.
#[inline(always)]
pub(crate) fn sum_lanes(v: u8x16) -> u8 {
    let lanes = v.to_array();
    let (mut x, mut y) = ([0u8; 8], [0u8; 8]);
    x.copy_from_slice(&lanes[..8]);
    y.copy_from_slice(&lanes[8..]);
    let (x, y) = (u64::from_le_bytes(x), u64::from_le_bytes(y));
    const EVEN: u64 = 0x00ff_00ff_00ff_00ff;
    let pairs = (x & EVEN) + (y & EVEN) + ((x >> 8) & EVEN) + ((y >> 8) & EVEN);
    (pairs.wrapping_mul(0x0001_0001_0001_0001) >> 48) as u8
}

/// Masks that keep the last bytes of a block: `KEEP[64 - w + r..64 + r]` keeps the last `r`
/// of `w` bytes (byte `k` when `k + r >= w`), for the CheckSum's 32-byte tail and the
/// indexer's 64-byte last block.
pub(crate) static KEEP: [u8; 128] = {
    let mut t = [0u8; 128];
    let mut i = 64;
    while i < 128 {
        t[i] = 0xff;
        i += 1;
    }
    t
};

const fn checksum_digits() -> [[u8; 3]; 256] {
    let mut t = [[0u8; 3]; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = [
            b'0' + (i / 100) as u8,
            b'0' + ((i / 10) % 10) as u8,
            b'0' + (i % 10) as u8,
        ];
        i += 1;
    }
    t
}

static CHECKSUM_DIGITS: [[u8; 3]; 256] = checksum_digits();

/// Writes a three-digit checksum.
#[inline]
pub fn write_checksum(out: &mut [u8; 3], sum: u8) {
    *out = CHECKSUM_DIGITS[usize::from(sum)];
}

/// A one-pass encoder over a caller-owned buffer.
#[derive(Debug)]
pub struct Encoder<'a> {
    buf: &'a mut [u8],
    pos: usize,
    body_start: usize,
    len_at: usize,
    started: bool,
    overflow: usize,
}

impl<'a> Encoder<'a> {
    /// An encoder writing at the start of `buf`.
    pub fn new(buf: &'a mut [u8]) -> Encoder<'a> {
        Encoder {
            buf,
            pos: 0,
            body_start: 0,
            len_at: 0,
            started: false,
            overflow: 0,
        }
    }

    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        let end = self.pos + bytes.len();
        if end <= self.buf.len() {
            self.buf[self.pos..end].copy_from_slice(bytes);
        } else {
            self.overflow = self.overflow.max(end);
        }
        self.pos = end;
    }

    #[inline]
    fn put_tag(&mut self, tag: u32) {
        let mut tmp = [0u8; 11];
        let n = write_u64(&mut tmp, u64::from(tag)).unwrap_or(0);
        tmp[n] = b'=';
        self.put(&tmp[..=n]);
    }

    /// Starts a message: `8=<begin>|9=<reserved>|35=<msg_type>|`.
    pub fn begin(&mut self, begin_string: &[u8], msg_type: &[u8]) -> &mut Self {
        self.pos = 0;
        self.overflow = 0;
        self.started = true;
        self.put(b"8=");
        self.put(begin_string);
        self.put(b"\x019=");
        self.len_at = self.pos;
        self.put(&[b'0'; LEN_WIDTH]);
        self.put(&[SOH]);
        self.body_start = self.pos;
        self.put(b"35=");
        self.put(msg_type);
        self.put(&[SOH]);
        self
    }

    /// Appends `tag=value|`. A value containing SOH is recorded as an error at `finish`.
    pub fn field(&mut self, tag: u32, value: &[u8]) -> &mut Self {
        if value.contains(&SOH) {
            // Poison the message: finish() reports it.
            self.started = false;
            self.overflow = usize::MAX - u64::from(tag) as usize;
            return self;
        }
        self.put_tag(tag);
        self.put(value);
        self.put(&[SOH]);
        self
    }

    /// Appends an unsigned integer field.
    pub fn uint(&mut self, tag: u32, value: u64) -> &mut Self {
        let mut tmp = [0u8; 20];
        let n = write_u64(&mut tmp, value).unwrap_or(0);
        self.field(tag, &tmp[..n])
    }

    /// Appends a signed integer field.
    pub fn int(&mut self, tag: u32, value: i64) -> &mut Self {
        let mut tmp = [0u8; 21];
        let start = usize::from(value < 0);
        tmp[0] = b'-';
        let n = write_u64(&mut tmp[start..], value.unsigned_abs()).unwrap_or(0);
        self.field(tag, &tmp[..start + n])
    }

    /// Appends a decimal field written with its own scale.
    pub fn decimal(&mut self, tag: u32, value: Decimal) -> &mut Self {
        let mut tmp = [0u8; 48];
        let n = value.write(&mut tmp).unwrap_or(0);
        self.field(tag, &tmp[..n])
    }

    /// Appends a UTCTimestamp with milliseconds.
    pub fn timestamp(&mut self, tag: u32, value: UtcTimestamp) -> &mut Self {
        let mut tmp = [0u8; MILLIS_LEN];
        value.write_millis(&mut tmp);
        self.field(tag, &tmp)
    }

    /// Appends a `Y`/`N` field.
    pub fn boolean(&mut self, tag: u32, value: bool) -> &mut Self {
        self.field(tag, if value { b"Y" } else { b"N" })
    }

    /// Appends pre-encoded `tag=value|` bytes verbatim (copying fields of another message).
    pub fn raw(&mut self, bytes: &[u8]) -> &mut Self {
        self.put(bytes);
        self
    }

    /// Bytes written so far (BodyLength still at its reserved width).
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Writes BodyLength and CheckSum; returns the message length.
    ///
    /// # Errors
    /// [`EncodeError::BufferTooSmall`] with the size needed, [`EncodeError::NotStarted`], or
    /// [`EncodeError::ValueContainsSoh`].
    pub fn finish(&mut self) -> Result<usize, EncodeError> {
        self.finish_shifted().map(|(len, _)| len)
    }

    /// As [`Encoder::finish`], also returning by how many bytes everything after BodyLength
    /// moved left (offsets taken with [`Encoder::position`] must be reduced by it).
    ///
    /// # Errors
    /// As [`Encoder::finish`].
    pub fn finish_shifted(&mut self) -> Result<(usize, usize), EncodeError> {
        if !self.started {
            if self.overflow > usize::MAX / 2 {
                return Err(EncodeError::ValueContainsSoh {
                    tag: (usize::MAX - self.overflow) as u32,
                });
            }
            return Err(EncodeError::NotStarted);
        }
        let required = self.pos + 7;
        if self.overflow > 0 || required > self.buf.len() {
            return Err(EncodeError::BufferTooSmall {
                required: required.max(self.overflow + 7),
            });
        }
        let body_len = self.pos - self.body_start;
        let mut digits = [0u8; 20];
        let n = write_u64(&mut digits, body_len as u64).unwrap_or(0);
        // Close the gap left by the reserved width.
        let shift = LEN_WIDTH - n;
        self.buf[self.len_at..self.len_at + n].copy_from_slice(&digits[..n]);
        self.buf
            .copy_within(self.len_at + LEN_WIDTH..self.pos, self.len_at + n);
        self.pos -= shift;
        let sum = checksum(&self.buf[..self.pos]);
        let mut cs = [0u8; 3];
        write_checksum(&mut cs, sum);
        self.buf[self.pos..self.pos + 3].copy_from_slice(b"10=");
        self.buf[self.pos + 3..self.pos + 6].copy_from_slice(&cs);
        self.buf[self.pos + 6] = SOH;
        self.started = false;
        Ok((self.pos + 7, shift))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_u64_matches_formatting_at_every_width() {
        let mut values = vec![
            0u64,
            9,
            10,
            99_999_999,
            100_000_000,
            u64::MAX,
            9_999_999_999_999_999,
        ];
        for k in 0..20 {
            let p = 10u64.pow(k);
            values.extend([p, p - 1, p + 1, p.wrapping_mul(7) / 3]);
        }
        let mut state = 1u64;
        for _ in 0..100_000 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            values.push(state >> (state % 64));
        }
        for v in values {
            let text = v.to_string();
            let mut out = [b'#'; 24];
            assert_eq!(write_u64(&mut out, v), Some(text.len()));
            assert_eq!(&out[..text.len()], text.as_bytes());
            assert!(out[text.len()..].iter().all(|&b| b == b'#'));
            let mut short = [b'#'; 24];
            assert_eq!(write_u64(&mut short[..text.len() - 1], v), None);
            assert!(
                short.iter().all(|&b| b == b'#'),
                "nothing written when too short"
            );
        }
    }

    #[test]
    fn checksum_is_the_byte_sum_modulo_256_at_every_length() {
        let bytes: Vec<u8> = (0..1100u32).map(|i| (i * 151 + i / 7) as u8).collect();
        for len in 0..bytes.len() {
            let want = bytes[..len].iter().map(|&b| u32::from(b)).sum::<u32>() % 256;
            assert_eq!(u32::from(checksum(&bytes[..len])), want, "len {len}");
        }
        // Every lane at its largest: the final fold's 16-bit lanes must not carry.
        let ones = [0xffu8; 600];
        for len in 0..ones.len() {
            assert_eq!(
                u32::from(checksum(&ones[..len])),
                (255 * len as u32) % 256,
                "len {len}"
            );
        }
    }

    #[test]
    fn encodes_spec_m01() {
        let mut buf = [0u8; 256];
        let mut e = Encoder::new(&mut buf);
        e.begin(b"FIX.4.4", b"A")
            .uint(34, 1)
            .field(49, b"TESTCLIENT")
            .field(56, b"KRAKEN-MD")
            .timestamp(
                52,
                UtcTimestamp::parse(b"20260407-14:32:01.000").expect("valid"),
            )
            .uint(98, 0)
            .uint(108, 30)
            .boolean(141, true);
        let n = e.finish().expect("fits");
        let want = "8=FIX.4.4|9=80|35=A|34=1|49=TESTCLIENT|56=KRAKEN-MD|52=20260407-14:32:01.000|98=0|108=30|141=Y|10=148|";
        assert_eq!(
            String::from_utf8_lossy(&buf[..n]).replace('\x01', "|"),
            want
        );
    }

    #[test]
    fn reports_small_buffer_and_soh() {
        let mut buf = [0u8; 16];
        let mut e = Encoder::new(&mut buf);
        e.begin(b"FIX.4.4", b"0").uint(34, 1);
        assert!(matches!(
            e.finish(),
            Err(EncodeError::BufferTooSmall { .. })
        ));
        let mut big = [0u8; 128];
        let mut e = Encoder::new(&mut big);
        e.begin(b"FIX.4.4", b"0").field(58, b"a\x01b");
        assert_eq!(e.finish(), Err(EncodeError::ValueContainsSoh { tag: 58 }));
    }
}
