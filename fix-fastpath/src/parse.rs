//! Inbound FIX: streaming framing and a zero-copy view of one message.
//!
//! ```text
//! stream bytes ─► frame(stream) ─► Ok(Some(len)) ─► Message::parse(&stream[..len], &mut index)
//!          │                   └► Ok(None): wait for more bytes      └► field / uint / decimal /
//!          └► Err(FrameError) ─► resync(stream) bytes to skip             group / iter …
//! ```
//!
//! - [`frame`] / [`frame_with`] find the first complete message at the start of a byte stream:
//!   BeginString, BodyLength, the position of `10=` and the three-digit CheckSum are checked.
//!   A framing error means "not a FIX message here": the session drops it silently (FIX says
//!   garbled messages are ignored) and skips [`resync`] bytes.
//! - [`Message::parse`] indexes every `tag=value` field of one framed message into a
//!   caller-owned [`FieldIndex`] of fixed capacity. Nothing allocates; values are slices of the
//!   input. Fields are kept in wire order and looked up by linear scan (messages are small:
//!   a 35-field ExecutionReport is scanned faster than a hash could be computed).
//! - Typed accessors ([`Message::uint`], [`Message::decimal`], …) parse on demand and return a
//!   [`ParseError`] naming the tag; [`Message::group`] iterates repeating-group entries as
//!   [`Entry`] sub-views with the same accessors.
//!
//! `Message::parse` is deliberately lenient about *content*: an empty value, a tag `0` or `-1`,
//! a repeated tag or a header field in the body are indexed, because they are session-level
//! Rejects (see [`crate::dict::validate`]), not framing errors. What it refuses is bytes that are
//! not `tag=value<SOH>` fields at all.
//!
//! Speed: values are delimited by an SOH bitmask built 64 bytes at a time from four 16-byte
//! compares (`wide`'s `u8x16`, SSE2 on x86_64, no `unsafe`); each field is one set bit, found
//! with `trailing_zeros`, so a value costs the same whatever its length. Tags are predicted:
//! the [`FieldIndex`] keeps the tag text each position had in the previous message, and the
//! next message's tag there is checked with one masked word compare; only a position whose
//! tag changed is parsed digit by digit (unrolled byte tests for up to four digits and '=').
//! A feed repeats a few layouts (every increment of a book has the same tags), so in steady
//! state no tag is parsed at all. Measured on the 361-byte, 35-field market-data increment:
//! 108 ns with every tag parsed, 73–76 ns predicted; earlier, 145–186 ns for a byte loop that
//! scanned values eight bytes per bounds check. Also measured and slower: a branch-free tag
//! (word load, mask checks, two multiplies: its dependency chain sits in front of every
//! field's branches) and SWAR for the SOH scan. [`Message::parse_tracking_layout`] tells the caller that
//! the tag sequence is exactly the previous message's, so checks that depend on the tags only
//! (the session's field order) can be carried over. Framing adds the checksum pass and reads
//! BeginString and BodyLength from one 32-byte SOH mask.
//!
//! Length-prefixed data fields (RawDataLength 95 / RawData 96 and the other FIX 4.4 pairs) are
//! honoured: the data field's value is taken by length and may contain SOH.
//!
//! Nothing here panics on any input.

use crate::decimal::{Decimal, DecimalError};
use crate::encode::{sum_lanes, KEEP};
use crate::time::{TimeError, UtcTimestamp};
use wide::u8x16;

/// FIX field delimiter.
pub const SOH: u8 = 0x01;

/// Largest message [`frame`] accepts: 64 KiB.
pub const DEFAULT_MAX_MESSAGE_LEN: usize = 64 * 1024;

/// Longest BeginString value [`FrameConfig`] can expect.
pub const MAX_BEGIN_STRING_LEN: usize = 16;

/// Tag number given to fields whose tag is `0`, negative, has a leading zero or more than nine
/// digits: syntactically a tag, but not a valid one. Validation answers it with
/// SessionRejectReason 0; [`Message::tag_text`] still gives the text as sent.
pub const INVALID_TAG: u32 = 0;

// ───────────────────────────────────────── framing ──────────────────────────────────────────

/// Why a byte stream does not start with a well-framed message.
///
/// Every variant means "drop these bytes": a FIX session ignores garbled messages without
/// answering (FIX 4.4 volume 2, "garbled messages").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// The stream does not start with `8=<BeginString><SOH>`.
    Garbled,
    /// BeginString is not the one the [`FrameConfig`] expects.
    WrongBeginString,
    /// The second field is not `9=<digits><SOH>`, or has more than nine digits.
    BadBodyLength,
    /// The bytes where BodyLength says the trailer starts are not `10=`.
    MissingChecksum,
    /// `10=` is not followed by three digits and SOH.
    BadChecksumField,
    /// The CheckSum does not match the bytes: `expected` is computed, `actual` was received.
    BadChecksum {
        /// Byte sum modulo 256 of the message up to `10=`.
        expected: u8,
        /// The value of the CheckSum field.
        actual: u8,
    },
    /// BodyLength announces a message longer than the configured maximum.
    TooLong {
        /// The configured maximum message length.
        max: usize,
    },
}

impl core::fmt::Display for FrameError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Garbled => f.write_str("stream does not start with 8=<BeginString><SOH>"),
            Self::WrongBeginString => f.write_str("unexpected BeginString"),
            Self::BadBodyLength => f.write_str("second field is not a valid BodyLength"),
            Self::MissingChecksum => f.write_str("CheckSum is not where BodyLength says"),
            Self::BadChecksumField => f.write_str("CheckSum is not three digits and SOH"),
            Self::BadChecksum { expected, actual } => {
                write!(f, "CheckSum {actual:03} received, {expected:03} computed")
            }
            Self::TooLong { max } => write!(f, "message longer than {max} bytes"),
        }
    }
}

impl std::error::Error for FrameError {}

/// What [`frame_with`] accepts: the BeginString (or any) and the largest message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameConfig {
    begin_string: [u8; MAX_BEGIN_STRING_LEN],
    /// 0: any BeginString is accepted.
    begin_string_len: u8,
    max_message_len: usize,
}

impl Default for FrameConfig {
    fn default() -> Self {
        Self::FIX44
    }
}

impl FrameConfig {
    /// `FIX.4.4`, messages up to [`DEFAULT_MAX_MESSAGE_LEN`].
    pub const FIX44: FrameConfig = {
        let mut begin_string = [0u8; MAX_BEGIN_STRING_LEN];
        let text = b"FIX.4.4";
        let mut i = 0;
        while i < text.len() {
            begin_string[i] = text[i];
            i += 1;
        }
        FrameConfig {
            begin_string,
            begin_string_len: text.len() as u8,
            max_message_len: DEFAULT_MAX_MESSAGE_LEN,
        }
    };

    /// Any BeginString, messages up to `max_message_len` bytes. A session that must answer a
    /// wrong BeginString with a Logout (rather than ignore it) frames this way and compares the
    /// value itself.
    pub const fn any_begin_string(max_message_len: usize) -> Self {
        FrameConfig {
            begin_string: [0; MAX_BEGIN_STRING_LEN],
            begin_string_len: 0,
            max_message_len,
        }
    }

    /// Expects `begin_string` (e.g. `b"FIX.4.2"`). `None` when it is empty, longer than
    /// [`MAX_BEGIN_STRING_LEN`] or holds SOH.
    pub fn expecting(begin_string: &[u8], max_message_len: usize) -> Option<Self> {
        if begin_string.is_empty()
            || begin_string.len() > MAX_BEGIN_STRING_LEN
            || begin_string.contains(&SOH)
        {
            return None;
        }
        let mut cfg = Self::any_begin_string(max_message_len);
        cfg.begin_string[..begin_string.len()].copy_from_slice(begin_string);
        cfg.begin_string_len = begin_string.len() as u8;
        Some(cfg)
    }

    /// The same configuration with another maximum message length.
    pub const fn with_max_message_len(mut self, max_message_len: usize) -> Self {
        self.max_message_len = max_message_len;
        self
    }

    /// The expected BeginString, `None` when any is accepted.
    pub fn begin_string(&self) -> Option<&[u8]> {
        match self.begin_string_len {
            0 => None,
            n => Some(&self.begin_string[..usize::from(n)]),
        }
    }

    /// The largest accepted message, header and trailer included.
    pub const fn max_message_len(&self) -> usize {
        self.max_message_len
    }
}

/// Finds the first complete `FIX.4.4` message at the start of `stream` (up to
/// [`DEFAULT_MAX_MESSAGE_LEN`] bytes). See [`frame_with`].
///
/// # Errors
/// [`FrameError`] when the start of the stream is not a well-framed message.
#[inline]
pub fn frame(stream: &[u8]) -> Result<Option<usize>, FrameError> {
    frame_with(stream, &FrameConfig::FIX44)
}

/// Finds the first complete message at the start of `stream`.
///
/// Returns `Ok(None)` when the bytes so far are a valid beginning of a message and more are
/// needed, `Ok(Some(len))` when `stream[..len]` is one message whose framing and CheckSum are
/// right (bytes after it are not looked at).
///
/// # Errors
/// [`FrameError`] as soon as the bytes cannot be the start of a message; the caller skips
/// [`resync`] bytes and tries again.
pub fn frame_with(stream: &[u8], cfg: &FrameConfig) -> Result<Option<usize>, FrameError> {
    frame_checked::<true>(stream, cfg)
}

/// [`frame_with`] without adding up the bytes for the CheckSum: the three digits and the SOH
/// of `10=` are checked, not their value. For bytes whose CheckSum was (or will be) checked
/// elsewhere, where only the message boundary is wanted: the daemon's message log takes each
/// message the FIX session has just framed or written, and a sum would cost as much as the
/// rest of the framing.
///
/// # Errors
/// [`FrameError`], as [`frame_with`] but never [`FrameError::BadChecksum`].
pub fn frame_boundary(stream: &[u8], cfg: &FrameConfig) -> Result<Option<usize>, FrameError> {
    frame_checked::<false>(stream, cfg)
}

#[inline(always)]
fn frame_checked<const SUM: bool>(
    stream: &[u8],
    cfg: &FrameConfig,
) -> Result<Option<usize>, FrameError> {
    if let Some(header) = header_fast(stream, cfg) {
        return trailer::<SUM>(stream, header, cfg);
    }
    // "8=" + BeginString + SOH.
    match stream {
        [] | [b'8'] => return Ok(None),
        [b'8', b'=', ..] => {}
        _ => return Err(FrameError::Garbled),
    }
    let search = &stream[2..stream.len().min(2 + MAX_BEGIN_STRING_LEN + 1)];
    let begin_end = match search.iter().position(|&b| b == SOH) {
        Some(0) => return Err(FrameError::Garbled),
        Some(p) => 2 + p,
        None if search.len() > MAX_BEGIN_STRING_LEN => return Err(FrameError::Garbled),
        None => {
            // Partial BeginString: refuse early if it already differs.
            if let Some(expected) = cfg.begin_string() {
                let seen = &stream[2..];
                if seen.len() > expected.len() || !expected.starts_with(seen) {
                    return Err(FrameError::WrongBeginString);
                }
            }
            return Ok(None);
        }
    };
    if let Some(expected) = cfg.begin_string() {
        if &stream[2..begin_end] != expected {
            return Err(FrameError::WrongBeginString);
        }
    }

    // "9=" + 1..=9 digits + SOH.
    let rest = &stream[begin_end + 1..];
    match rest {
        [] | [b'9'] => return Ok(None),
        [b'9', b'=', ..] => {}
        _ => return Err(FrameError::BadBodyLength),
    }
    let mut body_len: usize = 0;
    let mut i = 2;
    loop {
        match rest.get(i) {
            None => return Ok(None),
            Some(&b) if b.is_ascii_digit() && i < 2 + 9 => {
                body_len = body_len * 10 + usize::from(b - b'0');
            }
            Some(&SOH) if i > 2 => break,
            Some(_) => return Err(FrameError::BadBodyLength),
        }
        i += 1;
    }
    trailer::<SUM>(stream, (begin_end + 1 + i + 1, body_len), cfg)
}

/// `(body start, body length)` of a stream that starts with a well-formed `8=<BeginString>` and
/// `9=<BodyLength>` within its first 32 bytes (every real message): both SOHs from one SIMD
/// mask instead of byte loops. `None` leaves the stream to [`frame_with`]'s byte-by-byte
/// checks, which also tell a partial header from a garbled one.
#[inline(always)]
fn header_fast(stream: &[u8], cfg: &FrameConfig) -> Option<(usize, usize)> {
    let head = stream.first_chunk::<32>()?;
    let soh = u8x16::splat(SOH);
    let lane = |k: usize| {
        let mut b = [0u8; 16];
        b.copy_from_slice(&head[16 * k..16 * k + 16]);
        u32::from(u8x16::new(b).cmp_eq(soh).move_mask() as u16) << (16 * k)
    };
    let mask = lane(0) | lane(1);
    let begin_end = mask.trailing_zeros() as usize;
    let length_end = (mask & mask.wrapping_sub(1)).trailing_zeros() as usize;
    if head[..2] != *b"8=" || !(3..=2 + MAX_BEGIN_STRING_LEN).contains(&begin_end) {
        return None;
    }
    if let Some(expected) = cfg.begin_string() {
        if head[2..begin_end] != *expected {
            return None;
        }
    }
    let digits = head.get(begin_end + 3..length_end)?;
    if head[begin_end + 1..begin_end + 3] != *b"9=" || digits.is_empty() || digits.len() > 9 {
        return None;
    }
    let body_len = usize::try_from(parse_uint(digits)?).ok()?;
    Some((length_end + 1, body_len))
}

/// The rest of [`frame_with`] once the header is read: length limit, `10=`, CheckSum (its
/// value only when `SUM`).
#[inline(always)]
fn trailer<const SUM: bool>(
    stream: &[u8],
    (body_start, body_len): (usize, usize),
    cfg: &FrameConfig,
) -> Result<Option<usize>, FrameError> {
    let trailer = body_start + body_len;
    let total = trailer + 7;
    if total > cfg.max_message_len {
        return Err(FrameError::TooLong {
            max: cfg.max_message_len,
        });
    }
    if stream.len() < total {
        // Fail early on a trailer that is visibly misplaced.
        if let Some(t) = stream.get(trailer..) {
            let n = t.len().min(3);
            if t[..n] != b"10="[..n] {
                return Err(FrameError::MissingChecksum);
            }
        }
        return Ok(None);
    }
    let t = &stream[trailer..total];
    if &t[..3] != b"10=" {
        return Err(FrameError::MissingChecksum);
    }
    let Some(actual) = checksum_digits([t[3], t[4], t[5]]).filter(|_| t[6] == SOH) else {
        return Err(FrameError::BadChecksumField);
    };
    if !SUM {
        return Ok(Some(total));
    }
    let expected = crate::encode::checksum(&stream[..trailer]);
    if actual != u32::from(expected) {
        return Err(FrameError::BadChecksum {
            expected,
            // 256..=999 cannot match any checksum; report it modulo 256.
            actual: actual as u8,
        });
    }
    Ok(Some(total))
}

/// After a [`FrameError`], how many bytes to skip to reach the next plausible message start:
/// `8=FIX` anywhere, or `8=` right after SOH. Always at least 1 for a non-empty stream, so a loop
/// `frame → error → skip resync(..)` always makes progress; a tail that may be the beginning of
/// the next message (`8`, `8=`, `8=F`…) is kept.
pub fn resync(stream: &[u8]) -> usize {
    const START: &[u8] = b"8=FIX";
    for i in 1..stream.len() {
        if stream[i] != b'8' {
            continue;
        }
        let rest = &stream[i..];
        let n = rest.len().min(START.len());
        if rest[..n] == START[..n] {
            return i;
        }
        if stream[i - 1] == SOH && rest.get(1) == Some(&b'=') {
            return i;
        }
    }
    stream.len()
}

// ───────────────────────────────────────── indexing ─────────────────────────────────────────

/// Why a message could not be indexed, or a field could not be read as asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// A field without `=`, or whose tag is not a number, starting at byte `offset`.
    InvalidTag {
        /// Offset of the field's first byte in the message.
        offset: u32,
    },
    /// More fields than the [`FieldIndex`] holds.
    TooManyFields {
        /// The index capacity.
        capacity: u16,
    },
    /// The message does not end with SOH.
    Unterminated,
    /// The message is longer than offsets can address (4 GiB).
    TooLong,
    /// The field is absent.
    Missing {
        /// The tag asked for.
        tag: u32,
    },
    /// The value is not an integer of the asked type.
    BadInt {
        /// The tag asked for.
        tag: u32,
    },
    /// The value is not a decimal.
    BadDecimal {
        /// The tag asked for.
        tag: u32,
        /// What is wrong with it.
        error: DecimalError,
    },
    /// The value is not a UTCTimestamp.
    BadTimestamp {
        /// The tag asked for.
        tag: u32,
        /// What is wrong with it.
        error: TimeError,
    },
    /// The value is not exactly one character.
    BadChar {
        /// The tag asked for.
        tag: u32,
    },
    /// The value is not `Y` or `N`.
    BadBoolean {
        /// The tag asked for.
        tag: u32,
    },
    /// The CheckSum (10) does not match the bytes ([`Message::parse_summed`]).
    BadChecksum {
        /// Byte sum modulo 256 of the message up to `10=`.
        expected: u8,
        /// The value of the CheckSum field (modulo 256).
        actual: u8,
    },
}

impl ParseError {
    /// The tag the error is about, when there is one.
    pub fn tag(self) -> Option<u32> {
        match self {
            Self::Missing { tag }
            | Self::BadInt { tag }
            | Self::BadDecimal { tag, .. }
            | Self::BadTimestamp { tag, .. }
            | Self::BadChar { tag }
            | Self::BadBoolean { tag } => Some(tag),
            Self::InvalidTag { .. } | Self::TooManyFields { .. } | Self::Unterminated => None,
            Self::TooLong | Self::BadChecksum { .. } => None,
        }
    }
}

impl core::fmt::Display for ParseError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::InvalidTag { offset } => write!(f, "no valid tag=value field at byte {offset}"),
            Self::TooManyFields { capacity } => write!(f, "more than {capacity} fields"),
            Self::Unterminated => f.write_str("message does not end with SOH"),
            Self::TooLong => f.write_str("message longer than 4 GiB"),
            Self::Missing { tag } => write!(f, "tag {tag} missing"),
            Self::BadInt { tag } => write!(f, "tag {tag} is not a valid integer"),
            Self::BadDecimal { tag, error } => write!(f, "tag {tag}: {error}"),
            Self::BadTimestamp { tag, error } => write!(f, "tag {tag}: {error}"),
            Self::BadChar { tag } => write!(f, "tag {tag} is not a single character"),
            Self::BadBoolean { tag } => write!(f, "tag {tag} is not Y or N"),
            Self::BadChecksum { expected, actual } => {
                write!(
                    f,
                    "CheckSum {actual:03} does not match the bytes' {expected:03}"
                )
            }
        }
    }
}

impl std::error::Error for ParseError {}

/// One indexed field: its tag and where its value lies in the message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FieldRef {
    /// The tag number ([`INVALID_TAG`] for `0`, negative or over-long tags).
    pub tag: u32,
    /// Offset of the value's first byte in the message.
    pub start: u32,
    /// Value length in bytes (0 for an empty value).
    pub len: u32,
}

/// Caller-owned storage for the field positions of one message, and the tag layout of the
/// last message indexed into it.
///
/// Create it once per stream and pass it to [`Message::parse`] for every message (the message
/// borrows it for its lifetime); `new` is a `const fn`. Reusing it is what makes parsing fast:
/// a FIX stream repeats a handful of field layouts (every market-data increment of a feed has
/// the same tags in the same order), so the index remembers the tag text of each position and
/// the next message's tags are checked against it with one word compare instead of being
/// parsed digit by digit (see [`Message::parse`]). A fresh index per message gives the same
/// results, only slower.
#[derive(Debug, Clone)]
pub struct FieldIndex<const N: usize> {
    /// The fields of the last message indexed (`..last_len`). Always `fields[i].tag ==
    /// layout[i].tag` (both are written together), so a field whose tag was predicted only
    /// needs its value's place written.
    fields: [FieldRef; N],
    layout: [Layout; N],
    /// Number of fields of the last message indexed (`layout[..last_len]` are its tags);
    /// `usize::MAX` when that one failed to index, so that no next message has its layout.
    last_len: usize,
    /// The [`LayoutId`] of the last message indexed.
    layout_id: LayoutId,
}

/// Names one run of messages indexed one after the other into the same [`FieldIndex`] with
/// the same tags in the same order: a new id is drawn (from a process-wide counter, so no two
/// runs anywhere share one) whenever a message's tags differ from the previous message's or
/// the previous one failed to index. Two messages with the same id therefore have the same
/// tags in the same order, and whatever depends only on the tags (a view's tag → field
/// table, the field-order check) can be kept from one to the next ([`Message::layout_id`]).
/// Drawing an id is one atomic add, only when the layout changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LayoutId(u64);

impl LayoutId {
    /// The id of no run: the one a fresh [`FieldIndex`] holds; no message ever has it.
    pub const NONE: LayoutId = LayoutId(0);

    fn next() -> LayoutId {
        static NEXT: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(1);
        LayoutId(NEXT.fetch_add(1, core::sync::atomic::Ordering::Relaxed))
    }
}

/// The tag of one field position as last seen, and its text: `text` holds the bytes `<tag>=`
/// in its low `len` bytes (little-endian), `mask` selects them. `len == 0`: nothing to
/// predict (the tag is still kept, to tell whether the layout changed); such an entry holds
/// eight SOH bytes under a full mask, which no field can start with (the indexer rejects an
/// empty field before it predicts), so it never matches and needs no test of its own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Layout {
    text: u64,
    mask: u64,
    tag: u32,
    len: u32,
}

impl Layout {
    const NONE: Layout = Layout {
        text: u64::from_le_bytes([SOH; 8]),
        mask: u64::MAX,
        tag: 0,
        len: 0,
    };

    /// What to remember of a field whose tag `tag` was parsed from `bytes[start..eq]`: only
    /// tags of at most seven digits (with '=' they fit a word), valid, and not the length
    /// field of a data pair (`data_length`: its next field is taken by length, not predicted).
    #[inline(always)]
    fn learn(bytes: &[u8], start: usize, tag: u32, eq: usize, data_length: bool) -> Layout {
        let len = eq + 1 - start;
        match bytes.get(start..).and_then(<[u8]>::first_chunk::<8>) {
            Some(word) if len <= 8 && tag != INVALID_TAG && !data_length => {
                let mask = u64::MAX >> (64 - 8 * len);
                Layout {
                    text: u64::from_le_bytes(*word) & mask,
                    mask,
                    tag,
                    len: len as u32,
                }
            }
            _ => Layout {
                tag,
                ..Layout::NONE
            },
        }
    }

    /// The offset of '=' when the field at `start` begins with the remembered text (so its tag
    /// is [`Layout::tag`]), given the eight bytes there (`word`; `None` near the end of the
    /// message). The text was a valid tag and '=' when learnt, so a match is what
    /// [`parse_tag`] would answer for these bytes; the caller has checked that the field is
    /// not empty (see [`Layout`]).
    #[inline(always)]
    fn predict(self, word: Option<u64>, start: usize) -> Option<usize> {
        match word {
            Some(w) if (w ^ self.text) & self.mask == 0 => Some(start + self.len as usize - 1),
            _ => None,
        }
    }
}

impl<const N: usize> Default for FieldIndex<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> FieldIndex<N> {
    /// An empty index holding up to `N` fields.
    pub const fn new() -> Self {
        FieldIndex {
            fields: [FieldRef {
                tag: 0,
                start: 0,
                len: 0,
            }; N],
            layout: [Layout::NONE; N],
            last_len: 0,
            layout_id: LayoutId::NONE,
        }
    }

    /// How many fields it can hold.
    pub const fn capacity(&self) -> usize {
        N
    }
}

/// Parses the tag at `pos`: returns (tag, offset of '='). Fast path: one to four digits (every
/// tag Kraken sends) without a leading zero, then '='. The position of '=' is tested first (two
/// digits, then three, one, four: the common lengths first) and the digits of that length are
/// then checked together with one branch; no loop. Anything else — other lengths, a leading
/// zero, a sign, a value holding '=' right after the tag — takes the general loop, which gives
/// the same answer the fast path would have.
#[inline(always)]
fn parse_tag(bytes: &[u8], pos: usize) -> Option<(u32, usize)> {
    if let Some(&[c0, c1, c2, c3, c4]) = bytes.get(pos..pos + 5) {
        let digit = |c: u8| u32::from(c.wrapping_sub(b'0'));
        let (d0, d1) = (digit(c0), digit(c1));
        let lead = d0.wrapping_sub(1) < 9;
        if c2 == b'=' {
            if lead & (d1 < 10) {
                return Some((d0 * 10 + d1, pos + 2));
            }
        } else if c3 == b'=' {
            let d2 = digit(c2);
            if lead & (d1 < 10) & (d2 < 10) {
                return Some((d0 * 100 + d1 * 10 + d2, pos + 3));
            }
        } else if c1 == b'=' {
            if lead {
                return Some((d0, pos + 1));
            }
        } else if c4 == b'=' {
            let (d2, d3) = (digit(c2), digit(c3));
            if lead & (d1 < 10) & (d2 < 10) & (d3 < 10) {
                return Some((d0 * 1000 + d1 * 100 + d2 * 10 + d3, pos + 4));
            }
        }
    }
    parse_tag_loop(bytes, pos)
}

/// [`parse_tag`] for five to nine digits, or near the end of the message.
#[inline]
fn parse_tag_loop(bytes: &[u8], pos: usize) -> Option<(u32, usize)> {
    let mut tag = 0u32;
    let mut i = pos;
    loop {
        match bytes.get(i) {
            Some(&b @ b'0'..=b'9') => tag = tag.wrapping_mul(10).wrapping_add(u32::from(b - b'0')),
            Some(&b'=') if (1..10).contains(&(i - pos)) && tag != 0 && bytes[pos] != b'0' => {
                return Some((tag, i));
            }
            _ => return parse_tag_slow(bytes, pos),
        }
        i += 1;
    }
}

/// The general case: any tag text up to '=' (within the field). Tags that are numbers but not
/// valid tags (`0`, `-1`, `007`, ten digits) read as [`INVALID_TAG`].
#[cold]
fn parse_tag_slow(bytes: &[u8], pos: usize) -> Option<(u32, usize)> {
    let rest = bytes.get(pos..)?;
    let eq = rest.iter().position(|&b| b == b'=' || b == SOH)?;
    if rest[eq] != b'=' {
        return None;
    }
    let text = &rest[..eq];
    let digits = text.strip_prefix(b"-").unwrap_or(text);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if text[0] == b'-' || digits.len() > 9 || digits[0] == b'0' {
        return Some((INVALID_TAG, pos + eq));
    }
    let tag = digits
        .iter()
        .fold(0u32, |v, &b| v * 10 + u32::from(b - b'0'));
    Some((tag, pos + eq))
}

/// A set of tags below 1024, as a bitmap: membership is one load and a bit test.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TagSet([u64; 16]);

impl TagSet {
    /// The set of `tags` (those of 1024 and above are left out).
    pub(crate) const fn of(tags: &[u32]) -> TagSet {
        let mut bits = [0u64; 16];
        let mut i = 0;
        while i < tags.len() {
            if tags[i] < 1024 {
                bits[(tags[i] / 64) as usize] |= 1 << (tags[i] % 64);
            }
            i += 1;
        }
        TagSet(bits)
    }

    /// True when `tag` is in the set.
    #[inline(always)]
    pub(crate) fn contains(&self, tag: u32) -> bool {
        self.0
            .get((tag / 64) as usize)
            .is_some_and(|w| w & (1 << (tag % 64)) != 0)
    }
}

/// Length fields of the FIX 4.4 data pairs (all below 1024).
const DATA_LENGTH_TAGS: TagSet = TagSet::of(&[
    90, 93, 95, 212, 348, 350, 352, 354, 356, 358, 360, 362, 364, 445, 618, 621,
]);

/// For a length field of a FIX 4.4 data pair, the tag of the data field it announces.
/// One load and a shift for the common "not a length field" answer.
#[inline(always)]
fn data_field_of(length_tag: u32) -> Option<u32> {
    // Every length tag lies in 90..=621: one compare settles almost every field.
    if !(90..=621).contains(&length_tag) {
        return None;
    }
    if !DATA_LENGTH_TAGS.contains(length_tag) {
        return None;
    }
    Some(if length_tag == 93 { 89 } else { length_tag + 1 })
}

/// After a length field whose value is `start..end`: when the field after it is `data_tag`,
/// (value start, value end) of that data field taken by length (its value may hold SOH).
/// `None` leaves the next field to the normal scan (a wrong length is a validation matter).
#[cold]
fn data_field(bytes: &[u8], data_tag: u32, start: usize, end: usize) -> Option<(usize, usize)> {
    let len = usize::try_from(parse_uint(&bytes[start..end])?).ok()?;
    let (tag, eq) = parse_tag(bytes, end + 1)?;
    let value_end = (eq + 1).checked_add(len)?;
    (tag == data_tag && bytes.get(value_end) == Some(&SOH)).then_some((eq + 1, value_end))
}

/// SOH mask of 64 bytes: bit `i` is set when byte `i` is SOH. Four 16-byte compares and
/// byte-mask extractions (SSE2 on x86_64, through `wide`; portable code elsewhere). With `SUM`
/// the four lanes (ANDed with `keep` when given) are also added to `sum` (byte lanes wrapping:
/// only the total modulo 256 is wanted), the same loads serving both.
#[inline(always)]
fn soh_mask<const SUM: bool>(block: &[u8; 64], keep: Option<&[u8; 64]>, sum: &mut u8x16) -> u64 {
    let soh = u8x16::splat(SOH);
    let lane = |b: &[u8; 64], k: usize| {
        let mut v = [0u8; 16];
        v.copy_from_slice(&b[16 * k..16 * k + 16]);
        u8x16::new(v)
    };
    let mut m = 0u64;
    for k in 0..4 {
        let v = lane(block, k);
        m |= u64::from(v.cmp_eq(soh).move_mask() as u16) << (16 * k);
        if SUM {
            *sum += match keep {
                Some(keep) => v & lane(keep, k),
                None => v,
            };
        }
    }
    m
}

/// [`soh_mask`] of the bytes `base..base + 64` (fewer at the end of the message, the missing
/// bits clear), their byte sum added to `sum` with `SUM`. The last block of a message of 64
/// bytes or more is read as the message's last 64 bytes and shifted (the bytes before `base`
/// left out of the sum), so nothing is copied.
#[inline(always)]
fn soh_mask_at<const SUM: bool>(bytes: &[u8], base: usize, sum: &mut u8x16) -> u64 {
    if let Some(block) = bytes.get(base..).and_then(<[u8]>::first_chunk::<64>) {
        return soh_mask::<SUM>(block, None, sum);
    }
    match bytes.last_chunk::<64>() {
        // base < len < base + 64: the bytes before `base` are shifted out.
        Some(last) => {
            let fresh = bytes.len() - base;
            let keep = KEEP.get(fresh..).and_then(<[u8]>::first_chunk::<64>);
            soh_mask::<SUM>(last, keep, sum) >> (64 - fresh)
        }
        None => {
            let mut block = [0u8; 64];
            let tail = bytes.get(base..).unwrap_or_default();
            block[..tail.len()].copy_from_slice(tail);
            soh_mask::<SUM>(&block, None, sum)
        }
    }
}

/// The error of a message with more fields than an index of `N` holds, built out of line so
/// that the indexing loop does not set it up for every field.
#[cold]
#[inline(never)]
fn too_many<const N: usize>() -> ParseError {
    ParseError::TooManyFields {
        capacity: N.min(usize::from(u16::MAX)) as u16,
    }
}

/// The value of a CheckSum field's three characters, when all are digits.
#[inline(always)]
fn checksum_digits(d: [u8; 3]) -> Option<u32> {
    let [d0, d1, d2] = d.map(|c| c.wrapping_sub(b'0'));
    (d0 <= 9 && d1 <= 9 && d2 <= 9)
        .then(|| u32::from(d0) * 100 + u32::from(d1) * 10 + u32::from(d2))
}

/// The CheckSum check of [`Message::parse_summed`] once the message is indexed: `sum` is the
/// byte sum of the whole message, `last` its last field, which must be `10=<three digits>`
/// (the trailer's own bytes are taken off the sum).
#[inline(always)]
fn check_sum(bytes: &[u8], last: Option<&FieldRef>, sum: u8) -> Result<(), ParseError> {
    let value = match last {
        Some(f) if f.tag == 10 => bytes.get(f.start as usize..(f.start + f.len) as usize),
        _ => None,
    };
    let Some(&[d0, d1, d2]) = value else {
        return Err(ParseError::Missing { tag: 10 });
    };
    let Some(actual) = checksum_digits([d0, d1, d2]) else {
        return Err(ParseError::BadInt { tag: 10 });
    };
    // `10=`, the digits and SOH.
    let trailer = [b'1', b'0', b'=', d0, d1, d2, SOH]
        .iter()
        .fold(0u8, |s, &b| s.wrapping_add(b));
    let expected = sum.wrapping_sub(trailer);
    if actual != u32::from(expected) {
        return Err(ParseError::BadChecksum {
            expected,
            actual: actual as u8,
        });
    }
    Ok(())
}

/// A zero-copy view of one framed FIX message: the bytes and their field index.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    bytes: &'a [u8],
    fields: &'a [FieldRef],
    layout: LayoutId,
}

impl<'a> Message<'a> {
    /// Indexes the fields of one message (as delimited by [`frame`]; the framing itself is not
    /// re-checked, so a message built in memory can be parsed directly).
    ///
    /// # Errors
    /// [`ParseError::Unterminated`] if the bytes do not end with SOH,
    /// [`ParseError::InvalidTag`] for a field that is not `<digits>=…`,
    /// [`ParseError::TooManyFields`] when the index is full, [`ParseError::TooLong`] beyond
    /// 4 GiB.
    #[inline]
    pub fn parse<const N: usize>(
        bytes: &'a [u8],
        index: &'a mut FieldIndex<N>,
    ) -> Result<Message<'a>, ParseError> {
        Self::index::<N, false>(bytes, index).map(|(msg, _)| msg)
    }

    /// [`Message::parse`], also telling whether the message has exactly the tags, in the same
    /// order, of the message indexed into `index` just before it (which was indexed without
    /// error). Anything that depends only on the tag sequence (field order, header extent) can
    /// then be carried over from that message. (A separate call rather than a field of
    /// [`Message`]: a third field made every `parse` ~10 ns slower.)
    ///
    /// # Errors
    /// As [`Message::parse`].
    #[inline]
    pub fn parse_tracking_layout<const N: usize>(
        bytes: &'a [u8],
        index: &'a mut FieldIndex<N>,
    ) -> Result<(Message<'a>, bool), ParseError> {
        Self::index::<N, false>(bytes, index)
    }

    /// [`Message::parse`] of a message whose CheckSum has not been checked yet (delimited by
    /// [`frame_boundary`], say): also checks that the last field is `10=<three digits>` and
    /// that they are the byte sum of what comes before, modulo 256. The sum is taken in the
    /// indexing pass, from the same 16-byte loads that find the SOHs, instead of in a pass of
    /// its own: on a 300-byte message the separate pass took 156 instructions, the sum in
    /// the index pass ≈ 90.
    ///
    /// # Errors
    /// As [`Message::parse`]; [`ParseError::Missing`] (tag 10) when the last field is not a
    /// CheckSum of three characters, [`ParseError::BadInt`] when they are not digits,
    /// [`ParseError::BadChecksum`] when the sum differs.
    #[inline]
    pub fn parse_summed<const N: usize>(
        bytes: &'a [u8],
        index: &'a mut FieldIndex<N>,
    ) -> Result<Message<'a>, ParseError> {
        Self::index::<N, true>(bytes, index).map(|(msg, _)| msg)
    }

    #[inline(always)]
    fn index<const N: usize, const SUM: bool>(
        bytes: &'a [u8],
        index: &'a mut FieldIndex<N>,
    ) -> Result<(Message<'a>, bool), ParseError> {
        let FieldIndex {
            fields,
            layout,
            last_len,
            layout_id,
        } = index;
        // Until this message is indexed without error, no next message can have its layout.
        // `last` becomes `usize::MAX` as soon as a tag differs from the one its position had
        // in the previous message (one variable for both: a second one live across the loop
        // cost 25 ns in register spills).
        let mut last = core::mem::replace(last_len, usize::MAX);
        if bytes.last() != Some(&SOH) {
            return Err(ParseError::Unterminated);
        }
        if u32::try_from(bytes.len()).is_err() {
            return Err(ParseError::TooLong);
        }
        let n = bytes.len();
        let mut count = 0usize;
        // First byte of the field being looked for: the byte after the previous SOH.
        let mut start = 0usize;
        let mut base = 0usize;
        // 64 bytes per block: an SOH mask from four 16-byte compares, then one field per SOH
        // bit, so a value's end costs a `tzcnt` whatever its length (the byte loop this
        // replaced took a branch per eight bytes that mispredicted on changing lengths).
        // The tag is first compared, as one word, with the tag text this position had in the
        // previous message ([`Layout`]); only a new layout pays for [`parse_tag`]'s digit
        // tests, which were two thirds of the per-field cost.
        let mut sum = u8x16::ZERO;
        while base < n {
            let mut s = soh_mask_at::<SUM>(bytes, base, &mut sum);
            while s != 0 {
                let end = base + s.trailing_zeros() as usize;
                s &= s - 1;
                if end <= start {
                    if end < start {
                        continue; // an SOH inside a data field taken by length
                    }
                    // An empty field: no tag (and what keeps `Layout::NONE` from matching).
                    return Err(ParseError::InvalidTag {
                        offset: start as u32,
                    });
                }
                let (Some(slot), Some(seen)) = (fields.get_mut(count), layout.get_mut(count))
                else {
                    return Err(too_many::<N>());
                };
                let word = bytes
                    .get(start..start + 8)
                    .and_then(|w| w.first_chunk::<8>())
                    .map(|w| u64::from_le_bytes(*w));
                if let Some(eq_at) = seen.predict(word, start) {
                    // The slot holds this tag already (`fields[i].tag == layout[i].tag`
                    // always): only where the value lies is new.
                    debug_assert_eq!(slot.tag, seen.tag);
                    slot.start = (eq_at + 1) as u32;
                    slot.len = (end - eq_at - 1) as u32;
                    count += 1;
                    start = end + 1;
                    continue;
                }
                let Some((tag, eq_at)) = parse_tag(bytes, start) else {
                    return Err(ParseError::InvalidTag {
                        offset: start as u32,
                    });
                };
                if seen.tag != tag {
                    last = usize::MAX;
                }
                let data_tag = data_field_of(tag);
                *seen = Layout::learn(bytes, start, tag, eq_at, data_tag.is_some());
                *slot = FieldRef {
                    tag,
                    start: (eq_at + 1) as u32,
                    len: (end - eq_at - 1) as u32,
                };
                count += 1;
                start = end + 1;
                if let Some(data_tag) = data_tag {
                    if let Some((data_start, data_end)) =
                        data_field(bytes, data_tag, eq_at + 1, end)
                    {
                        let (Some(slot), Some(seen)) =
                            (fields.get_mut(count), layout.get_mut(count))
                        else {
                            return Err(too_many::<N>());
                        };
                        if seen.tag != data_tag {
                            last = usize::MAX;
                        }
                        *seen = Layout {
                            tag: data_tag,
                            ..Layout::NONE
                        };
                        *slot = FieldRef {
                            tag: data_tag,
                            start: data_start as u32,
                            len: (data_end - data_start) as u32,
                        };
                        count += 1;
                        start = data_end + 1;
                    }
                }
            }
            base += 64;
        }
        if SUM {
            check_sum(bytes, fields.get(count.wrapping_sub(1)), sum_lanes(sum))?;
        }
        let same_layout = count == last;
        *last_len = count;
        if !same_layout {
            *layout_id = LayoutId::next();
        }
        Ok((
            Message {
                bytes,
                fields: &fields[..count],
                layout: *layout_id,
            },
            same_layout,
        ))
    }

    /// The run of messages with this message's tags it belongs to ([`LayoutId`]).
    #[inline]
    pub fn layout_id(&self) -> LayoutId {
        self.layout
    }

    /// The raw bytes of the whole message.
    #[inline]
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// MsgType (35), or an empty slice if absent. Looks at the third field first, where every
    /// valid message has it.
    #[inline]
    pub fn msg_type(&self) -> &'a [u8] {
        match self.fields.get(2) {
            Some(f) if f.tag == 35 => self.value(*f),
            _ => self.field(35).unwrap_or_default(),
        }
    }

    /// BeginString (8) when it is the first field, as framing requires.
    #[inline]
    pub fn begin_string(&self) -> Option<&'a [u8]> {
        match self.fields.first() {
            Some(f) if f.tag == 8 => Some(self.value(*f)),
            _ => None,
        }
    }

    /// MsgSeqNum (34).
    ///
    /// # Errors
    /// [`ParseError::Missing`] or [`ParseError::BadInt`].
    #[inline]
    pub fn seq_num(&self) -> Result<u64, ParseError> {
        self.uint(34)
    }

    /// The tag as written on the wire (to report invalid tags such as `-1` or `007`).
    pub fn tag_text(&self, f: FieldRef) -> &'a [u8] {
        let eq = (f.start as usize).saturating_sub(1).min(self.bytes.len());
        let start = self.bytes[..eq]
            .iter()
            .rposition(|&b| b == SOH)
            .map_or(0, |p| p + 1);
        &self.bytes[start..eq]
    }
}

/// Accessors shared by [`Message`] and [`Entry`]: both are (bytes, fields) views.
macro_rules! field_access {
    ($ty:ident) => {
        impl<'a> $ty<'a> {
            /// Every field, in wire order.
            #[inline]
            pub fn fields(&self) -> &'a [FieldRef] {
                self.fields
            }

            /// Number of fields.
            #[inline]
            pub fn len(&self) -> usize {
                self.fields.len()
            }

            /// True when there are no fields.
            #[inline]
            pub fn is_empty(&self) -> bool {
                self.fields.is_empty()
            }

            /// The value bytes of a field reference taken from [`Self::fields`]; empty for a
            /// reference whose range lies outside the message (one not taken from it).
            /// Never panics, so a value the caller does not use costs nothing: the compiler
            /// drops the whole lookup.
            #[inline]
            pub fn value(&self, f: FieldRef) -> &'a [u8] {
                let start = f.start as usize;
                self.bytes
                    .get(start..start + f.len as usize)
                    .unwrap_or_default()
            }

            /// The first byte of [`Self::value`] of a reference taken from [`Self::fields`]
            /// (`None` for an empty value): a char or enum field with one bounds check instead
            /// of building the slice. A reference from elsewhere gets the byte at its start if
            /// that lies in the message (where [`Self::value`] would check the whole range).
            #[inline]
            pub fn first_byte(&self, f: FieldRef) -> Option<u8> {
                match f.len {
                    0 => None,
                    _ => self.bytes.get(f.start as usize).copied(),
                }
            }

            /// (tag, value) of every field, in wire order.
            #[inline]
            pub fn iter(&self) -> Fields<'a> {
                Fields {
                    bytes: self.bytes,
                    fields: self.fields.iter(),
                }
            }

            /// The value of the first `tag`.
            #[inline]
            pub fn field(&self, tag: u32) -> Option<&'a [u8]> {
                self.fields
                    .iter()
                    .find(|f| f.tag == tag)
                    .map(|f| self.value(*f))
            }

            /// True when `tag` is present.
            #[inline]
            pub fn has(&self, tag: u32) -> bool {
                self.fields.iter().any(|f| f.tag == tag)
            }

            /// How many times `tag` occurs.
            pub fn count(&self, tag: u32) -> usize {
                self.fields.iter().filter(|f| f.tag == tag).count()
            }

            /// The value of the first `tag`, required.
            ///
            /// # Errors
            /// [`ParseError::Missing`].
            #[inline]
            pub fn required(&self, tag: u32) -> Result<&'a [u8], ParseError> {
                self.field(tag).ok_or(ParseError::Missing { tag })
            }

            /// An unsigned integer (at most 19 digits, no sign).
            ///
            /// # Errors
            /// Missing, or not digits.
            #[inline]
            pub fn uint(&self, tag: u32) -> Result<u64, ParseError> {
                parse_uint(self.required(tag)?).ok_or(ParseError::BadInt { tag })
            }

            /// A signed integer (optional leading `-`).
            ///
            /// # Errors
            /// Missing, or not a number that fits an `i64`.
            #[inline]
            pub fn int(&self, tag: u32) -> Result<i64, ParseError> {
                parse_int(self.required(tag)?).ok_or(ParseError::BadInt { tag })
            }

            /// A decimal (Price, Qty, Amt, Float).
            ///
            /// # Errors
            /// Missing, or not a decimal.
            #[inline]
            pub fn decimal(&self, tag: u32) -> Result<Decimal, ParseError> {
                Decimal::parse(self.required(tag)?)
                    .map_err(|error| ParseError::BadDecimal { tag, error })
            }

            /// A UTCTimestamp (`YYYYMMDD-HH:MM:SS[.fff…]`).
            ///
            /// # Errors
            /// Missing, or not a timestamp.
            #[inline]
            pub fn timestamp(&self, tag: u32) -> Result<UtcTimestamp, ParseError> {
                UtcTimestamp::parse(self.required(tag)?)
                    .map_err(|error| ParseError::BadTimestamp { tag, error })
            }

            /// A single-character field.
            ///
            /// # Errors
            /// Missing, or not exactly one byte.
            #[inline]
            pub fn char(&self, tag: u32) -> Result<u8, ParseError> {
                match self.required(tag)? {
                    [c] => Ok(*c),
                    _ => Err(ParseError::BadChar { tag }),
                }
            }

            /// A `Y`/`N` field.
            ///
            /// # Errors
            /// Missing, or neither `Y` nor `N`.
            #[inline]
            pub fn boolean(&self, tag: u32) -> Result<bool, ParseError> {
                match self.required(tag)? {
                    b"Y" => Ok(true),
                    b"N" => Ok(false),
                    _ => Err(ParseError::BadBoolean { tag }),
                }
            }

            /// A `Y`/`N` field whose absence means `default`.
            ///
            /// # Errors
            /// Present but neither `Y` nor `N`.
            #[inline]
            pub fn boolean_or(&self, tag: u32, default: bool) -> Result<bool, ParseError> {
                match self.field(tag) {
                    None => Ok(default),
                    Some(b"Y") => Ok(true),
                    Some(b"N") => Ok(false),
                    Some(_) => Err(ParseError::BadBoolean { tag }),
                }
            }

            /// The entries of the repeating group counted by `count_tag`: the fields after the
            /// first `count_tag`, split at each `delimiter` (every entry starts with it), up to
            /// the first field that is neither the delimiter nor in `members`.
            ///
            /// Entries are yielded as found; compare with [`Group::declared`] to check the
            /// count (validation does).
            pub fn group(&self, count_tag: u32, delimiter: u32, members: &'a [u32]) -> Group<'a> {
                self.group_by(count_tag, delimiter, Membership::List(members))
            }

            /// As [`Self::group`], with membership decided by a function: a `match` on the tag
            /// compiles to a jump table, faster than scanning a list for hot groups such as
            /// market-data entries.
            pub fn group_with(
                &self,
                count_tag: u32,
                delimiter: u32,
                is_member: fn(u32) -> bool,
            ) -> Group<'a> {
                self.group_by(count_tag, delimiter, Membership::Fn(is_member))
            }

            fn group_by(
                &self,
                count_tag: u32,
                delimiter: u32,
                members: Membership<'a>,
            ) -> Group<'a> {
                let (pos, declared) = match self.fields.iter().position(|f| f.tag == count_tag) {
                    Some(i) => (i + 1, parse_uint(self.value(self.fields[i]))),
                    None => (self.fields.len(), Some(0)),
                };
                Group {
                    bytes: self.bytes,
                    fields: self.fields,
                    pos,
                    delimiter,
                    members,
                    declared,
                }
            }
        }
    };
}

field_access!(Message);
field_access!(Entry);

/// One field: its tag and value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field<'a> {
    /// The tag number.
    pub tag: u32,
    /// The value bytes.
    pub value: &'a [u8],
}

/// Iterator over the fields of a message or entry, in wire order.
#[derive(Debug, Clone)]
pub struct Fields<'a> {
    bytes: &'a [u8],
    fields: core::slice::Iter<'a, FieldRef>,
}

impl<'a> Iterator for Fields<'a> {
    type Item = Field<'a>;

    #[inline]
    fn next(&mut self) -> Option<Field<'a>> {
        let f = self.fields.next()?;
        Some(Field {
            tag: f.tag,
            value: &self.bytes[f.start as usize..(f.start + f.len) as usize],
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.fields.size_hint()
    }
}

impl ExactSizeIterator for Fields<'_> {}

impl<'a> IntoIterator for &Message<'a> {
    type Item = Field<'a>;
    type IntoIter = Fields<'a>;

    fn into_iter(self) -> Fields<'a> {
        self.iter()
    }
}

#[derive(Debug, Clone, Copy)]
enum Membership<'a> {
    List(&'a [u32]),
    Fn(fn(u32) -> bool),
}

impl Membership<'_> {
    #[inline]
    fn contains(&self, tag: u32) -> bool {
        match self {
            Membership::List(l) => l.contains(&tag),
            Membership::Fn(f) => f(tag),
        }
    }
}

/// Iterator over the entries of a repeating group (see [`Message::group`]).
#[derive(Debug, Clone)]
pub struct Group<'a> {
    bytes: &'a [u8],
    fields: &'a [FieldRef],
    pos: usize,
    delimiter: u32,
    members: Membership<'a>,
    declared: Option<u64>,
}

impl Group<'_> {
    /// The NumInGroup value as sent: `Some(0)` when the count tag is absent, `None` when its
    /// value is not a number.
    pub fn declared(&self) -> Option<u64> {
        self.declared
    }

    /// Index (in the message's fields) of the next field the iterator looks at: after the last
    /// entry once exhausted, i.e. the first field after the group.
    pub fn position(&self) -> usize {
        self.pos
    }
}

impl<'a> Iterator for Group<'a> {
    type Item = Entry<'a>;

    #[inline]
    fn next(&mut self) -> Option<Entry<'a>> {
        if self.fields.get(self.pos)?.tag != self.delimiter {
            return None;
        }
        let start = self.pos;
        let mut end = start + 1;
        while let Some(f) = self.fields.get(end) {
            if f.tag == self.delimiter || !self.members.contains(f.tag) {
                break;
            }
            end += 1;
        }
        self.pos = end;
        Some(Entry {
            bytes: self.bytes,
            fields: &self.fields[start..end],
        })
    }
}

/// One entry of a repeating group: the same accessors as [`Message`], over the entry's fields.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    bytes: &'a [u8],
    fields: &'a [FieldRef],
}

/// Parses unsigned decimal digits (1 to 19 of them).
#[inline]
pub fn parse_uint(bytes: &[u8]) -> Option<u64> {
    if bytes.is_empty() || bytes.len() > 19 {
        return None;
    }
    let mut v = 0u64;
    for &b in bytes {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + u64::from(d);
    }
    Some(v)
}

/// Parses a signed integer: optional `-`, then 1 to 19 digits, within `i64`.
#[inline]
pub fn parse_int(bytes: &[u8]) -> Option<i64> {
    let (neg, digits) = match bytes.split_first() {
        Some((b'-', d)) => (true, d),
        _ => (false, bytes),
    };
    let n = parse_uint(digits)?;
    if neg {
        0i64.checked_sub_unsigned(n)
    } else {
        i64::try_from(n).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn soh(s: &str) -> Vec<u8> {
        s.replace('|', "\x01").into_bytes()
    }

    /// SPEC §7 M01.
    const M01: &str = "8=FIX.4.4|9=80|35=A|34=1|49=TESTCLIENT|56=KRAKEN-MD|52=20260407-14:32:01.000|98=0|108=30|141=Y|10=148|";

    #[test]
    fn frames_one_partial_and_two() {
        let m = soh(M01);
        assert_eq!(frame(&m), Ok(Some(m.len())));
        for cut in 0..m.len() {
            assert_eq!(frame(&m[..cut]), Ok(None), "cut at {cut}");
        }
        let mut two = m.clone();
        two.extend_from_slice(&m);
        assert_eq!(frame(&two), Ok(Some(m.len())));
        assert_eq!(frame(&two[m.len()..]), Ok(Some(m.len())));
    }

    /// `frame_boundary` is `frame_with` without the CheckSum's value: the same answer for
    /// every prefix of a message and for a garbled trailer, the message's length where only
    /// the sum is wrong.
    #[test]
    fn frame_boundary_skips_only_the_sum() {
        let cfg = FrameConfig::FIX44;
        let m = soh(M01);
        for cut in 0..=m.len() {
            assert_eq!(
                frame_boundary(&m[..cut], &cfg),
                frame_with(&m[..cut], &cfg),
                "cut at {cut}"
            );
        }
        let n = m.len();
        let mut wrong_sum = m.clone();
        wrong_sum[n - 2] = b'9';
        assert!(matches!(
            frame_with(&wrong_sum, &cfg),
            Err(FrameError::BadChecksum { .. })
        ));
        assert_eq!(frame_boundary(&wrong_sum, &cfg), Ok(Some(n)));
        let mut not_digits = m.clone();
        not_digits[n - 3] = b'x';
        assert_eq!(
            frame_boundary(&not_digits, &cfg),
            Err(FrameError::BadChecksumField)
        );
        let mut misplaced = m;
        misplaced[n - 7] = b'1';
        misplaced[n - 6] = b'1';
        assert_eq!(
            frame_boundary(&misplaced, &cfg),
            Err(FrameError::MissingChecksum)
        );
    }

    #[test]
    fn frame_errors_are_typed() {
        let mut bad = soh(M01);
        let n = bad.len();
        bad[n - 2] = b'9';
        assert_eq!(
            frame(&bad),
            Err(FrameError::BadChecksum {
                expected: 148,
                actual: 149
            })
        );
        assert_eq!(frame(b"garbage"), Err(FrameError::Garbled));
        assert_eq!(frame(&soh("8=|9=5|")), Err(FrameError::Garbled));
        assert_eq!(
            frame(&soh("8=FIX.4.4|9=x|")),
            Err(FrameError::BadBodyLength)
        );
        assert_eq!(frame(&soh("8=FIX.4.4|9=|")), Err(FrameError::BadBodyLength));
        assert_eq!(
            frame(&soh("8=FIX.4.4|35=0|")),
            Err(FrameError::BadBodyLength)
        );
        assert_eq!(
            frame(&soh("8=FIX.4.4|9=4|35=0|10=000|")),
            Err(FrameError::MissingChecksum)
        );
        assert_eq!(
            frame(&soh("8=FIX.4.4|9=5|35=0|10=0x0|")),
            Err(FrameError::BadChecksumField)
        );
        assert!(matches!(
            frame(&soh("8=FIX.4.4|9=5|35=0|10=000|")),
            Err(FrameError::BadChecksum { actual: 0, .. })
        ));
        assert_eq!(
            frame(&soh("8=FIX.4.4|9=9999999999|")),
            Err(FrameError::BadBodyLength),
            "ten length digits"
        );
        assert_eq!(
            frame(&soh("8=FIX.4.4|9=999999|")),
            Err(FrameError::TooLong {
                max: DEFAULT_MAX_MESSAGE_LEN
            })
        );
        assert_eq!(
            frame(&soh("8=FIX.4.2|9=5|")),
            Err(FrameError::WrongBeginString)
        );
        assert_eq!(frame(b"8=FIX.5"), Err(FrameError::WrongBeginString));
        assert_eq!(frame(b"8=FIX.4"), Ok(None));
        assert_eq!(
            frame(b"8=FIX.4.4.4.4.4.4.4.4.4.4.4"),
            Err(FrameError::Garbled),
            "BeginString never terminated"
        );
    }

    #[test]
    fn any_begin_string_and_custom_limits() {
        let m = soh("8=FIX.4.2|9=5|35=0|10=161|");
        let cfg = FrameConfig::any_begin_string(1024);
        assert_eq!(frame_with(&m, &cfg), Ok(Some(m.len())));
        let fix42 = FrameConfig::expecting(b"FIX.4.2", 1024).expect("valid");
        assert_eq!(fix42.begin_string(), Some(&b"FIX.4.2"[..]));
        assert_eq!(frame_with(&m, &fix42), Ok(Some(m.len())));
        assert_eq!(
            frame_with(&m, &fix42.with_max_message_len(10)),
            Err(FrameError::TooLong { max: 10 })
        );
        assert_eq!(FrameConfig::expecting(b"", 10), None);
        assert_eq!(FrameConfig::expecting(b"A\x01", 10), None);
    }

    #[test]
    fn resync_skips_to_next_message() {
        let mut s = b"junk".to_vec();
        s.push(SOH);
        s.extend_from_slice(&soh(M01));
        assert_eq!(resync(&s), 5);
        assert_eq!(resync(b""), 0);
        assert_eq!(resync(b"x"), 1);
        assert_eq!(resync(b"8"), 1, "progress even on a lone 8");
        assert_eq!(resync(b"xx\x01"), 3);
        assert_eq!(resync(b"xx8=F"), 2, "keeps what may start the next message");
        assert_eq!(resync(b"xx8=FIX.4.4"), 2, "no SOH needed before 8=FIX");
        assert_eq!(resync(b"x\x018=FIXT.1.1"), 2);
        assert_eq!(resync(b"x\x018=X"), 2, "8= after SOH");
        assert_eq!(resync(b"x8=X"), 4, "8= inside garbage is not a start");
    }

    #[test]
    fn reads_typed_fields() {
        let m = soh(M01);
        let mut idx = FieldIndex::<32>::new();
        let msg = Message::parse(&m, &mut idx).expect("valid");
        assert_eq!(msg.msg_type(), b"A");
        assert_eq!(msg.begin_string(), Some(&b"FIX.4.4"[..]));
        assert_eq!(msg.seq_num(), Ok(1));
        assert_eq!(msg.int(108), Ok(30));
        assert_eq!(msg.field(49), Some(&b"TESTCLIENT"[..]));
        assert_eq!(msg.boolean(141), Ok(true));
        assert_eq!(msg.boolean(49), Err(ParseError::BadBoolean { tag: 49 }));
        assert_eq!(msg.boolean_or(43, false), Ok(false));
        assert_eq!(
            msg.timestamp(52).map(|t| t.as_millis()),
            Ok(1_775_572_321_000)
        );
        assert_eq!(msg.uint(999), Err(ParseError::Missing { tag: 999 }));
        assert_eq!(msg.char(49), Err(ParseError::BadChar { tag: 49 }));
        assert_eq!(msg.char(98), Ok(b'0'));
        assert_eq!(msg.uint(49), Err(ParseError::BadInt { tag: 49 }));
        let tags: Vec<u32> = msg.iter().map(|f| f.tag).collect();
        assert_eq!(tags, [8, 9, 35, 34, 49, 56, 52, 98, 108, 141, 10]);
        assert_eq!(msg.len(), 11);
        assert!(msg.has(10) && !msg.has(11));
    }

    #[test]
    fn integers_and_tags_at_the_edges() {
        assert_eq!(parse_int(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_int(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_int(b"9223372036854775808"), None);
        assert_eq!(parse_int(b"-"), None);
        assert_eq!(parse_int(b"+1"), None);
        assert_eq!(parse_uint(b"18446744073709551615"), None, "20 digits");
        assert_eq!(parse_uint(b"0001"), Some(1));
        // Tags of every length through both tag paths.
        for tag in [
            1u32,
            12,
            123,
            1234,
            12345,
            123_456,
            1_234_567,
            12_345_678,
            123_456_789,
        ] {
            let raw = format!("{tag}=v\x01");
            let mut idx = FieldIndex::<2>::new();
            let m = Message::parse(raw.as_bytes(), &mut idx).expect("valid");
            assert_eq!(m.fields()[0].tag, tag);
            assert_eq!(m.field(tag), Some(&b"v"[..]));
            let padded = format!("{raw}1=xxxxxxxxxx\x01");
            let mut idx = FieldIndex::<2>::new();
            let m = Message::parse(padded.as_bytes(), &mut idx).expect("valid");
            assert_eq!(m.fields()[0].tag, tag, "fast path for {tag}");
        }
        for bad in ["0", "00", "07", "-1", "1234567890"] {
            let raw = format!("{bad}=v\x011=xxxxxxxxxx\x01");
            let mut idx = FieldIndex::<2>::new();
            let m = Message::parse(raw.as_bytes(), &mut idx).expect("indexed");
            assert_eq!(m.fields()[0].tag, INVALID_TAG, "{bad}");
            assert_eq!(m.tag_text(m.fields()[0]), bad.as_bytes());
        }
        // A value that starts with (or holds) '=' right after a short tag (a field follows, so
        // the tag fast path has its five-byte window).
        for (field, tag, value) in [
            ("1==", 1u32, &b"="[..]),
            ("1=2=", 1, b"2="),
            ("12==3", 12, b"=3"),
            ("5=a=b=", 5, b"a=b="),
            ("123==", 123, b"="),
            ("1234==", 1234, b"="),
        ] {
            let raw = format!("{field}\x011=xxxxxxxx\x01");
            let mut idx = FieldIndex::<4>::new();
            let m = Message::parse(raw.as_bytes(), &mut idx).expect("valid");
            assert_eq!(
                (m.fields()[0].tag, m.value(m.fields()[0])),
                (tag, value),
                "{raw:?}"
            );
        }
        for garbage in [
            "a=1\x01",
            "=1\x01",
            "1a=1\x01",
            "12\x01",
            "1:2=x\x01",
            "--1=x\x01",
        ] {
            let mut idx = FieldIndex::<2>::new();
            assert!(
                matches!(
                    Message::parse(garbage.as_bytes(), &mut idx),
                    Err(ParseError::InvalidTag { offset: 0 })
                ),
                "{garbage:?}"
            );
        }
    }

    #[test]
    fn parse_summed_errors_are_typed() {
        let mut idx = FieldIndex::<8>::new();
        // "8=FIX.4.4|9=5|35=0|" adds up to 163.
        let good = soh("8=FIX.4.4|9=5|35=0|10=163|");
        assert_eq!(
            Message::parse_summed(&good, &mut idx).map(|m| m.len()),
            Ok(4)
        );
        let cases = [
            (
                "8=FIX.4.4|9=5|35=0|10=164|",
                ParseError::BadChecksum {
                    expected: 163,
                    actual: 164,
                },
            ),
            (
                "8=FIX.4.4|9=5|35=0|10=419|",
                ParseError::BadChecksum {
                    expected: 163,
                    actual: 163,
                },
            ),
            ("8=FIX.4.4|9=5|35=0|10=16x|", ParseError::BadInt { tag: 10 }),
            ("8=FIX.4.4|9=5|35=0|10=63|", ParseError::Missing { tag: 10 }),
            ("8=FIX.4.4|9=5|35=0|", ParseError::Missing { tag: 10 }),
            ("", ParseError::Unterminated),
        ];
        for (text, want) in cases {
            assert_eq!(
                Message::parse_summed(&soh(text), &mut idx).map(|_| ()),
                Err(want),
                "{text}"
            );
        }
        assert!(ParseError::BadChecksum {
            expected: 20,
            actual: 21
        }
        .to_string()
        .contains("021"));
    }

    #[test]
    fn parse_errors_are_typed() {
        let mut idx = FieldIndex::<4>::new();
        assert_eq!(
            Message::parse(&soh("8=FIX.4.4|9=1|35=0|34=1|49=X|"), &mut idx).map(|_| ()),
            Err(ParseError::TooManyFields { capacity: 4 })
        );
        let mut idx = FieldIndex::<8>::new();
        assert!(matches!(
            Message::parse(&soh("8=FIX|4garbled9=TW|"), &mut idx),
            Err(ParseError::InvalidTag { offset: 6 })
        ));
        let mut idx = FieldIndex::<8>::new();
        let raw = soh("8=FIX|58=|-1=x|55=a=b|");
        let m = Message::parse(&raw, &mut idx).expect("empty value and bad tag are indexed");
        assert_eq!(m.field(58), Some(&b""[..]));
        assert_eq!(m.fields()[2].tag, INVALID_TAG);
        assert_eq!(m.tag_text(m.fields()[2]), b"-1");
        assert_eq!(m.field(55), Some(&b"a=b"[..]), "'=' inside a value");
        // Empty fields (runs of SOH) are not fields, also where the index remembers nothing
        // to predict (a data pair's length, a fresh index): the entry that never matches
        // holds eight SOH bytes, which is what such a run looks like.
        let mut idx = FieldIndex::<8>::new();
        for (raw, want) in [
            ("8=FIX|95=2|96=ab|10=000|", Ok(4)),
            ("8=FIX|95=2|96=ab|10=000|", Ok(4)),
            (
                "8=FIX|||||||||||||",
                Err(ParseError::InvalidTag { offset: 6 }),
            ),
            (
                "8=FIX|95=2|||||||||||||",
                Err(ParseError::InvalidTag { offset: 11 }),
            ),
            ("8=FIX|95=2|96=ab|10=000|", Ok(4)),
        ] {
            let got = Message::parse(&soh(raw), &mut idx).map(|m| m.fields().len());
            assert_eq!(got, want, "{raw}");
        }
        let mut idx = FieldIndex::<8>::new();
        assert_eq!(
            Message::parse(b"8=FIX", &mut idx).map(|_| ()),
            Err(ParseError::Unterminated)
        );
        assert_eq!(
            Message::parse(b"", &mut idx).map(|_| ()),
            Err(ParseError::Unterminated)
        );
    }

    /// A run of empty fields reaching past a 64-byte block, where the previous messages left
    /// entries that predict nothing (a data pair's) or entries beyond the last message's
    /// fields (both hold eight SOH bytes, which is what such a run looks like): the error
    /// names the first empty field, whatever the index remembers.
    #[test]
    fn a_run_of_empty_fields_is_refused_where_it_starts() {
        let x = |k: usize| "X".repeat(k);
        let runs = "|".repeat(20);
        for (before, bad, offset) in [
            (
                vec![format!("8={}|{}10=000|", x(52), "95=1|96=a|".repeat(5))],
                format!("8={}|{runs}10=000|", x(52)),
                55,
            ),
            (
                vec![
                    format!("8=FIX|{}10=000|", "95=1|96=a|".repeat(5)),
                    format!("8={}|", x(60)),
                ],
                format!("8={}|{runs}10=000|", x(60)),
                63,
            ),
        ] {
            let mut idx = FieldIndex::<64>::new();
            for ok in &before {
                Message::parse(&soh(ok), &mut idx).expect("indexed");
            }
            assert_eq!(
                Message::parse(&soh(&bad), &mut idx).map(|_| ()),
                Err(ParseError::InvalidTag { offset }),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_foreign_field_reference_reads_as_empty() {
        let raw = soh("8=FIX.4.4|9=5|35=0|10=000|");
        let mut idx = FieldIndex::<8>::new();
        let m = Message::parse(&raw, &mut idx).expect("indexed");
        let own = m.fields()[2];
        assert_eq!(m.value(own), b"0");
        assert_eq!(m.first_byte(own), Some(b'0'));
        let empty = FieldRef { len: 0, ..own };
        assert_eq!(m.first_byte(empty), None);
        assert_eq!(
            m.first_byte(FieldRef {
                tag: 35,
                start: 100,
                len: 1
            }),
            None
        );
        for foreign in [
            FieldRef {
                tag: 35,
                start: 20,
                len: 10,
            },
            FieldRef {
                tag: 35,
                start: u32::MAX,
                len: u32::MAX,
            },
            FieldRef {
                tag: 35,
                start: 100,
                len: 0,
            },
        ] {
            assert_eq!(m.value(foreign), b"", "{foreign:?}");
        }
    }

    #[test]
    fn data_fields_may_hold_soh() {
        let raw = soh("8=FIX.4.4|9=1|35=A|95=5|96=a|b|c|108=30|");
        let mut idx = FieldIndex::<16>::new();
        let m = Message::parse(&raw, &mut idx).expect("valid");
        assert_eq!(m.field(96), Some(&b"a\x01b\x01c"[..]));
        assert_eq!(m.uint(108), Ok(30));
        // A wrong length falls back to SOH scanning.
        let raw = soh("95=50|96=ab|108=30|");
        let mut idx = FieldIndex::<16>::new();
        let m = Message::parse(&raw, &mut idx).expect("valid");
        assert_eq!(m.field(96), Some(&b"ab"[..]));
    }

    #[test]
    fn iterates_groups_and_nested_groups() {
        let m = soh("8=FIX.4.4|9=1|35=X|268=2|279=0|269=1|270=1.5|271=2|279=2|269=0|270=1.4|271=0|5041=7|10=000|");
        let mut idx = FieldIndex::<32>::new();
        let msg = Message::parse(&m, &mut idx).expect("valid");
        let mut g = msg.group(268, 279, &[279, 269, 270, 271, 278, 273]);
        assert_eq!(g.declared(), Some(2));
        let entries: Vec<_> = g.by_ref().collect();
        assert_eq!(g.position(), 12, "5041 follows the group");
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].decimal(270), Ok(Decimal::new(15, 1)));
        assert_eq!(entries[1].char(279), Ok(b'2'));
        assert_eq!(entries[1].uint(271), Ok(0));
        assert_eq!(entries[1].len(), 4);
        assert_eq!(msg.uint(5041), Ok(7));
        assert_eq!(msg.group(146, 55, &[55]).count(), 0, "absent group");

        let m = soh("453=2|448=A|452=1|802=1|523=s|448=B|452=3|58=t|");
        let mut idx = FieldIndex::<32>::new();
        let msg = Message::parse(&m, &mut idx).expect("valid");
        let parties: Vec<_> = msg
            .group(453, 448, &[448, 447, 452, 802, 523, 803])
            .collect();
        assert_eq!(parties.len(), 2);
        let subs: Vec<_> = parties[0].group(802, 523, &[523, 803]).collect();
        assert_eq!(subs.len(), 1);
        assert_eq!(subs[0].field(523), Some(&b"s"[..]));
        assert_eq!(parties[1].field(452), Some(&b"3"[..]));
    }

    // The indexer before the SOH-mask pass (byte loop for values), kept as the reference the
    // mask pass is compared with: same fields or the same error on any input.
    /// Offset of the first SOH at or after `start`, eight bytes per bounds check (an unrolled byte
    /// test rather than a word trick: the byte tests are control dependencies the CPU predicts and
    /// runs ahead of, where a word's bit arithmetic would put its latency on every field).
    fn find_soh(bytes: &[u8], start: usize) -> Option<usize> {
        let mut i = start;
        while let Some(&[b0, b1, b2, b3, b4, b5, b6, b7]) = bytes.get(i..i + 8) {
            if b0 == SOH {
                return Some(i);
            }
            if b1 == SOH {
                return Some(i + 1);
            }
            if b2 == SOH {
                return Some(i + 2);
            }
            if b3 == SOH {
                return Some(i + 3);
            }
            if b4 == SOH {
                return Some(i + 4);
            }
            if b5 == SOH {
                return Some(i + 5);
            }
            if b6 == SOH {
                return Some(i + 6);
            }
            if b7 == SOH {
                return Some(i + 7);
            }
            i += 8;
        }
        bytes
            .get(i..)?
            .iter()
            .position(|&b| b == SOH)
            .map(|p| i + p)
    }

    fn reference_parse(bytes: &[u8], capacity: usize) -> Result<Vec<FieldRef>, ParseError> {
        if bytes.last() != Some(&SOH) {
            return Err(ParseError::Unterminated);
        }
        let too_many = ParseError::TooManyFields {
            capacity: capacity as u16,
        };
        let mut out = Vec::new();
        let mut pos = 0usize;
        while pos < bytes.len() {
            // The indexer's order: an empty field, then a full index, then the tag.
            if bytes[pos] != SOH && out.len() == capacity {
                return Err(too_many);
            }
            let Some((tag, eq)) = parse_tag(bytes, pos) else {
                return Err(ParseError::InvalidTag { offset: pos as u32 });
            };
            let start = eq + 1;
            let Some(mut end) = find_soh(bytes, start) else {
                return Err(ParseError::Unterminated);
            };
            out.push(FieldRef {
                tag,
                start: start as u32,
                len: (end - start) as u32,
            });
            if let Some(data_tag) = data_field_of(tag) {
                if let Some((data_start, data_end)) = data_field(bytes, data_tag, start, end) {
                    if out.len() == capacity {
                        return Err(too_many);
                    }
                    out.push(FieldRef {
                        tag: data_tag,
                        start: data_start as u32,
                        len: (data_end - data_start) as u32,
                    });
                    end = data_end;
                }
            }
            pos = end + 1;
        }
        Ok(out)
    }

    fn same_as_reference(bytes: &[u8]) -> Result<(), proptest::test_runner::TestCaseError> {
        let mut idx = FieldIndex::<64>::new();
        let got = Message::parse(bytes, &mut idx).map(|m| m.fields().to_vec());
        proptest::prop_assert_eq!(got, reference_parse(bytes, 64), "{:?}", bytes);
        Ok(())
    }

    /// A FIX-shaped field: tags of one to six digits (sometimes a data-length tag and its data
    /// field, a leading zero, a sign, no '=' at all), values with '=' and digits mixed in and
    /// sometimes an SOH.
    fn noisy_field() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        (
            prop_oneof![
                1u32..10,
                10u32..100,
                100u32..1000,
                1000u32..10_000,
                10_000u32..1_000_000,
                Just(95u32),
                Just(96u32),
                Just(93u32),
                Just(89u32),
            ],
            proptest::collection::vec(
                prop_oneof![12 => 0x20u8..0x7f, 1 => Just(b'='), 2 => Just(b'3')],
                0..80,
            ),
            0u8..32,
        )
            .prop_map(|(tag, value, quirk)| {
                let mut f = match quirk {
                    0 => format!("0{tag}="),
                    1 => format!("-{tag}="),
                    2 => format!("{tag}"),
                    _ => format!("{tag}="),
                }
                .into_bytes();
                let mut value = value;
                if quirk == 4 || (quirk == 3 && value.len() % 3 == 0) {
                    value.insert(value.len() / 2, SOH);
                }
                if quirk == 3 && tag % 2 == 1 {
                    // A length field announcing the next value exactly.
                    f.extend_from_slice(value.len().to_string().as_bytes());
                    f.push(SOH);
                    f.extend_from_slice(format!("{}=", tag + 1).as_bytes());
                }
                f.extend_from_slice(&value);
                f.push(SOH);
                f
            })
    }

    proptest::proptest! {
        #[test]
        fn mask_pass_matches_the_byte_loop_on_noise(
            bytes in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::num::u8::ANY,
                    proptest::strategy::Just(SOH),
                    proptest::strategy::Just(b'='),
                    b'0'..=b'9',
                ],
                0..400,
            ),
        ) {
            same_as_reference(&bytes)?;
            let mut terminated = bytes.clone();
            terminated.push(SOH);
            same_as_reference(&terminated)?;
        }

        #[test]
        fn mask_pass_matches_the_byte_loop_on_fields(
            fields in proptest::collection::vec(noisy_field(), 0..68),
            flip in proptest::option::of((0usize..4000, proptest::num::u8::ANY)),
        ) {
            let mut bytes: Vec<u8> = fields.concat();
            same_as_reference(&bytes)?;
            if let Some((at, b)) = flip {
                if !bytes.is_empty() {
                    let at = at % bytes.len();
                    bytes[at] = b;
                    same_as_reference(&bytes)?;
                }
            }
        }

        /// One index reused over a run of messages that each differ a little from the one
        /// before (as a stream's messages do, the case the predicted paths exist for): every
        /// message indexes as a fresh index would, and `parse_tracking_layout` reports the
        /// same layout exactly when the tags are those of the previous message, indexed
        /// without error.
        #[test]
        fn a_reused_index_gives_what_a_fresh_one_does(
            first in proptest::collection::vec(noisy_field(), 0..40),
            edits in proptest::collection::vec(
                (0u8..6, 0usize..64, noisy_field(), 0usize..4000, proptest::num::u8::ANY),
                1..8,
            ),
        ) {
            let mut idx = FieldIndex::<64>::new();
            let mut fields = first;
            let mut previous: Option<Vec<u32>> = None;
            let mut previous_id: Option<LayoutId> = None;
            for (op, at, field, byte_at, byte) in edits {
                let i = if fields.is_empty() { 0 } else { at % fields.len() };
                match op {
                    // 0, 1: the same message again (values may change length below)
                    2 if !fields.is_empty() => fields[i] = field,
                    3 if !fields.is_empty() => drop(fields.remove(i)),
                    4 => fields.insert(i.min(fields.len()), field),
                    _ => {}
                }
                let mut bytes = fields.concat();
                if op == 5 && !bytes.is_empty() {
                    let at = byte_at % bytes.len();
                    bytes[at] = byte;
                }
                let want = reference_parse(&bytes, 64);
                let got = Message::parse_tracking_layout(&bytes, &mut idx)
                    .map(|(m, same)| (m.fields().to_vec(), same, m.layout_id()));
                match (&got, &want) {
                    (Ok((got, same, id)), Ok(want)) => {
                        proptest::prop_assert_eq!(got, want, "{:?}", bytes);
                        let tags: Vec<u32> = want.iter().map(|f| f.tag).collect();
                        proptest::prop_assert_eq!(*same, previous.as_ref() == Some(&tags));
                        // The run's id is kept exactly while the layout is.
                        proptest::prop_assert_eq!(*same, previous_id == Some(*id));
                        proptest::prop_assert!(*id != LayoutId::NONE);
                        previous = Some(tags);
                        previous_id = Some(*id);
                    }
                    (Err(got), Err(want)) => {
                        proptest::prop_assert_eq!(got, want, "{:?}", bytes);
                        previous = None;
                        previous_id = None;
                    }
                    _ => proptest::prop_assert!(false, "{:?}: {:?} against {:?}", bytes, got, want),
                }
            }
        }

        /// `parse_summed` indexes as `parse` does and accepts exactly the messages whose last
        /// field is `10=` and three digits giving the byte sum of the rest, whatever the
        /// message's length (the sum is taken block by block, the last block overlapping).
        #[test]
        fn parse_summed_is_parse_and_the_checksum(
            fields in proptest::collection::vec(noisy_field(), 0..48),
            wrong in proptest::option::of(0u16..1000),
            reuse in proptest::bool::ANY,
        ) {
            let mut bytes: Vec<u8> = fields.concat();
            let sum = bytes.iter().fold(0u8, |s, &b| s.wrapping_add(b));
            let digits = wrong.unwrap_or(u16::from(sum));
            bytes.extend_from_slice(format!("10={digits:03}\x01").as_bytes());
            let mut idx = FieldIndex::<64>::new();
            if reuse {
                // The predicted path: the same message indexed once before.
                let _ = Message::parse(&bytes, &mut idx);
            }
            let plain = Message::parse(&bytes, &mut FieldIndex::<64>::new())
                .map(|m| m.fields().to_vec());
            let summed = Message::parse_summed(&bytes, &mut idx).map(|m| m.fields().to_vec());
            let want = match plain {
                Err(e) => Err(e),
                Ok(_) if digits == u16::from(sum) => plain.clone(),
                Ok(ref f) if f.last().map(|f| f.tag) != Some(10) => Err(ParseError::Missing { tag: 10 }),
                Ok(_) => Err(ParseError::BadChecksum { expected: sum, actual: digits as u8 }),
            };
            proptest::prop_assert_eq!(summed, want, "{:?}", bytes);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let framed = frame(&bytes);
            let boundary = frame_boundary(&bytes, &FrameConfig::FIX44);
            match framed {
                Err(FrameError::BadChecksum { .. }) => proptest::prop_assert!(matches!(boundary, Ok(Some(_)))),
                other => proptest::prop_assert_eq!(boundary, other),
            }
            let _ = frame_with(&bytes, &FrameConfig::any_begin_string(128));
            let skip = resync(&bytes);
            proptest::prop_assert!(skip <= bytes.len());
            proptest::prop_assert!(bytes.is_empty() || skip >= 1);
            let mut idx = FieldIndex::<64>::new();
            if let Ok(msg) = Message::parse(&bytes, &mut idx) {
                let _ = msg.msg_type();
                let _ = msg.uint(34);
                for f in msg.fields() {
                    let _ = msg.tag_text(*f);
                }
                let _ = msg.group(268, 279, &[269, 270]).count();
            }
        }
    }
}
