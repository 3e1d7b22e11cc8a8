//! Streaming framing and a zero-copy view of one FIX message.
//!
//! ```text
//! stream bytes ─► frame() ─► Ok(Some(len)) ─► Message::parse(&bytes[..len], &mut index)
//!                         └► Ok(None): need more bytes      └► field(tag) / uint / decimal / group
//! ```
//!
//! [`frame`] checks BeginString, BodyLength and CheckSum and says how long the first message is.
//! [`Message::parse`] indexes every `tag=value` pair into a caller-owned [`FieldIndex`] of fixed
//! capacity: nothing allocates, values are slices of the input.
//!
//! Garbled input never panics: it is an error the session layer turns into "drop silently"
//! (bad framing) or a session Reject (a parseable message with a bad field).

use crate::decimal::{Decimal, DecimalError};
use crate::time::{TimeError, UtcTimestamp};

/// FIX field delimiter.
pub const SOH: u8 = 0x01;

/// Why a byte stream does not start with a well-framed message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// The stream does not start with `8=`.
    NotBeginString,
    /// BeginString is not the one this session speaks.
    WrongBeginString,
    /// The second field is not `9=<digits>`.
    BadBodyLength,
    /// The byte after the body is not where `10=` should start.
    MissingChecksum,
    /// `10=` is not three digits and SOH.
    BadChecksumField,
    /// The checksum does not match the bytes.
    ChecksumMismatch { expected: u8, received: u8 },
    /// BodyLength announces more than the configured maximum message size.
    TooLong { max: usize },
}

impl core::fmt::Display for FrameError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NotBeginString => f.write_str("message does not start with 8="),
            Self::WrongBeginString => f.write_str("unexpected BeginString"),
            Self::BadBodyLength => f.write_str("second field is not a valid BodyLength"),
            Self::MissingChecksum => f.write_str("CheckSum not where BodyLength says"),
            Self::BadChecksumField => f.write_str("CheckSum is not three digits"),
            Self::ChecksumMismatch { expected, received } => {
                write!(
                    f,
                    "CheckSum mismatch: computed {expected:03}, received {received:03}"
                )
            }
            Self::TooLong { max } => write!(f, "message longer than {max} bytes"),
        }
    }
}

impl std::error::Error for FrameError {}

/// Framing limits.
#[derive(Debug, Clone, Copy)]
pub struct FrameLimits {
    /// Largest accepted message, header and trailer included.
    pub max_message_len: usize,
}

impl Default for FrameLimits {
    fn default() -> Self {
        FrameLimits {
            max_message_len: 64 * 1024,
        }
    }
}

#[inline]
fn position(hay: &[u8], needle: u8) -> Option<usize> {
    hay.iter().position(|&b| b == needle)
}

/// Finds the first complete message at the start of `stream`.
///
/// Returns `Ok(None)` when more bytes are needed, `Ok(Some(len))` when `stream[..len]` is one
/// well-framed message whose checksum is right.
///
/// # Errors
/// [`FrameError`] when the start of the stream is not a message; the caller decides how many
/// bytes to skip (see [`resync`]).
pub fn frame(stream: &[u8], limits: FrameLimits) -> Result<Option<usize>, FrameError> {
    if stream.len() < 2 {
        return if stream.is_empty() || stream[0] == b'8' {
            Ok(None)
        } else {
            Err(FrameError::NotBeginString)
        };
    }
    if &stream[..2] != b"8=" {
        return Err(FrameError::NotBeginString);
    }
    let Some(begin_end) = position(&stream[2..], SOH).map(|p| p + 2) else {
        return if stream.len() > 32 {
            Err(FrameError::NotBeginString)
        } else {
            Ok(None)
        };
    };
    let len_start = begin_end + 1;
    let rest = &stream[len_start..];
    if rest.len() < 2 {
        return Ok(None);
    }
    if &rest[..2] != b"9=" {
        return Err(FrameError::BadBodyLength);
    }
    let mut body_len: usize = 0;
    let mut i = 2;
    loop {
        let Some(&b) = rest.get(i) else {
            return Ok(None);
        };
        match b {
            b'0'..=b'9' if i < 9 => body_len = body_len * 10 + usize::from(b - b'0'),
            SOH if i > 2 => break,
            _ => return Err(FrameError::BadBodyLength),
        }
        i += 1;
    }
    let body_start = len_start + i + 1;
    let trailer = body_start + body_len;
    let total = trailer + 7;
    if total > limits.max_message_len {
        return Err(FrameError::TooLong {
            max: limits.max_message_len,
        });
    }
    if stream.len() < total {
        return Ok(None);
    }
    let t = &stream[trailer..total];
    if &t[..3] != b"10=" {
        return Err(FrameError::MissingChecksum);
    }
    if !t[3..6].iter().all(u8::is_ascii_digit) || t[6] != SOH {
        return Err(FrameError::BadChecksumField);
    }
    let received =
        u32::from(t[3] - b'0') * 100 + u32::from(t[4] - b'0') * 10 + u32::from(t[5] - b'0');
    let expected = crate::encode::checksum(&stream[..trailer]);
    if received != u32::from(expected) {
        return Err(FrameError::ChecksumMismatch {
            expected,
            received: received as u8,
        });
    }
    Ok(Some(total))
}

/// After a framing error, the number of bytes to skip to reach the next plausible message start
/// (the next `8=` after SOH), or the whole buffer when there is none.
pub fn resync(stream: &[u8]) -> usize {
    let mut i = 1;
    while i + 1 < stream.len() {
        if stream[i] == b'8' && stream[i + 1] == b'=' && stream[i - 1] == SOH {
            return i;
        }
        i += 1;
    }
    // Keep a trailing "8" or "\x01" that might start the next message.
    stream
        .len()
        .saturating_sub(usize::from(
            stream.last() == Some(&SOH) || stream.last() == Some(&b'8'),
        ))
        .max(1)
        .min(stream.len())
}

/// Why a framed message could not be indexed, or a field could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// A field without `=`, or with a tag that is not a positive number.
    InvalidTag { offset: u32 },
    /// More fields than the index holds.
    TooManyFields { capacity: u16 },
    /// The message does not end with SOH.
    Unterminated,
    /// The field is absent.
    Missing { tag: u32 },
    /// The value is not a valid integer.
    BadInt { tag: u32 },
    /// The value is not a valid decimal.
    BadDecimal { tag: u32, error: DecimalError },
    /// The value is not a valid timestamp.
    BadTimestamp { tag: u32, error: TimeError },
    /// The value is not a single character.
    BadChar { tag: u32 },
    /// The value is not `Y` or `N`.
    BadBoolean { tag: u32 },
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
            _ => None,
        }
    }
}

impl core::fmt::Display for ParseError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::InvalidTag { offset } => write!(f, "invalid tag at byte {offset}"),
            Self::TooManyFields { capacity } => write!(f, "more than {capacity} fields"),
            Self::Unterminated => f.write_str("message does not end with SOH"),
            Self::Missing { tag } => write!(f, "required tag {tag} missing"),
            Self::BadInt { tag } => write!(f, "tag {tag} is not an integer"),
            Self::BadDecimal { tag, error } => write!(f, "tag {tag}: {error}"),
            Self::BadTimestamp { tag, error } => write!(f, "tag {tag}: {error}"),
            Self::BadChar { tag } => write!(f, "tag {tag} is not a single character"),
            Self::BadBoolean { tag } => write!(f, "tag {tag} is not Y or N"),
        }
    }
}

impl std::error::Error for ParseError {}

/// One indexed field: its tag and where its value lies in the message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FieldRef {
    /// The tag number.
    pub tag: u32,
    /// Offset of the value's first byte.
    pub start: u32,
    /// Value length in bytes.
    pub len: u32,
}

/// Caller-owned storage for the field positions of one message.
#[derive(Debug, Clone)]
pub struct FieldIndex<const N: usize> {
    fields: [FieldRef; N],
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
        }
    }
}

/// A zero-copy view of one framed FIX message.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    bytes: &'a [u8],
    fields: &'a [FieldRef],
}

/// How a field is looked up when a tag repeats: FIX allows repeats only inside groups.
/// Reads a tag number. `0`, negative and over-long numbers are syntactically tags but not valid
/// ones: they read as [`INVALID_TAG`] so that validation can reject them with
/// SessionRejectReason 0 (the text is still available through [`Message::tag_text`]).
#[inline]
fn parse_tag(bytes: &[u8]) -> Option<u32> {
    let digits = bytes.strip_prefix(b"-").unwrap_or(bytes);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if bytes[0] == b'-' || digits.len() > 9 || digits.iter().all(|&b| b == b'0') {
        return Some(INVALID_TAG);
    }
    Some(
        digits
            .iter()
            .fold(0u32, |v, &b| v * 10 + u32::from(b - b'0')),
    )
}

/// Tag number given to fields whose tag is `0`, negative or too large.
pub const INVALID_TAG: u32 = 0;

impl<'a> Message<'a> {
    /// Indexes the fields of one message (as delimited by [`frame`]).
    ///
    /// # Errors
    /// [`ParseError`] for a malformed field or more fields than the index holds.
    pub fn parse<const N: usize>(
        bytes: &'a [u8],
        index: &'a mut FieldIndex<N>,
    ) -> Result<Message<'a>, ParseError> {
        if bytes.last() != Some(&SOH) {
            return Err(ParseError::Unterminated);
        }
        let mut count = 0usize;
        let mut pos = 0usize;
        let len = bytes.len();
        while pos < len {
            // Tag: digits up to '=' (one pass; the common case is 1-4 digits).
            let tag_start = pos;
            let mut tag: u32 = 0;
            let mut digits = 0usize;
            loop {
                let Some(&b) = bytes.get(pos) else {
                    return Err(ParseError::InvalidTag {
                        offset: tag_start as u32,
                    });
                };
                match b {
                    b'0'..=b'9' if digits < 10 => {
                        tag = tag.wrapping_mul(10).wrapping_add(u32::from(b - b'0'));
                        digits += 1;
                    }
                    b'=' => break,
                    _ => {
                        // Not plain digits: the slow path decides (negative tags, garbage).
                        let eq = match position(&bytes[tag_start..], b'=') {
                            Some(eq) if !bytes[tag_start..tag_start + eq].contains(&SOH) => eq,
                            _ => {
                                return Err(ParseError::InvalidTag {
                                    offset: tag_start as u32,
                                })
                            }
                        };
                        tag = parse_tag(&bytes[tag_start..tag_start + eq]).ok_or(
                            ParseError::InvalidTag {
                                offset: tag_start as u32,
                            },
                        )?;
                        pos = tag_start + eq;
                        digits = usize::MAX;
                        break;
                    }
                }
                pos += 1;
            }
            if digits == 0 {
                return Err(ParseError::InvalidTag {
                    offset: tag_start as u32,
                });
            }
            if digits != usize::MAX && (digits > 9 || bytes[tag_start] == b'0') {
                tag = INVALID_TAG;
            }
            let value_start = pos + 1;
            // Values are short (typically under 20 bytes): a scalar scan beats SIMD set-up.
            // An empty value is kept (validation answers it with SessionRejectReason 4).
            let value_len = bytes[value_start..]
                .iter()
                .position(|&b| b == SOH)
                .unwrap_or(0);
            if count == N {
                return Err(ParseError::TooManyFields { capacity: N as u16 });
            }
            index.fields[count] = FieldRef {
                tag,
                start: value_start as u32,
                len: value_len as u32,
            };
            count += 1;
            pos = value_start + value_len + 1;
        }
        Ok(Message {
            bytes,
            fields: &index.fields[..count],
        })
    }

    /// The raw bytes of the whole message.
    #[inline]
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Every field, in wire order.
    #[inline]
    pub fn fields(&self) -> &'a [FieldRef] {
        self.fields
    }

    /// The tag as written on the wire (for reporting invalid tags such as `-1`).
    pub fn tag_text(&self, f: FieldRef) -> &'a [u8] {
        let eq = (f.start as usize).saturating_sub(1);
        let start = self.bytes[..eq]
            .iter()
            .rposition(|&b| b == SOH)
            .map_or(0, |p| p + 1);
        &self.bytes[start..eq]
    }

    /// The value bytes of a field reference.
    #[inline]
    pub fn value(&self, f: FieldRef) -> &'a [u8] {
        &self.bytes[f.start as usize..(f.start + f.len) as usize]
    }

    /// MsgType (35), or an empty slice if absent.
    #[inline]
    pub fn msg_type(&self) -> &'a [u8] {
        // 35 is the third field in any valid message; look there first.
        match self.fields.get(2) {
            Some(f) if f.tag == 35 => self.value(*f),
            _ => self.field(35).unwrap_or(b""),
        }
    }

    /// The first value of `tag`.
    #[inline]
    pub fn field(&self, tag: u32) -> Option<&'a [u8]> {
        self.fields
            .iter()
            .find(|f| f.tag == tag)
            .map(|f| self.value(*f))
    }

    /// The first value of `tag`, required.
    ///
    /// # Errors
    /// [`ParseError::Missing`].
    #[inline]
    pub fn required(&self, tag: u32) -> Result<&'a [u8], ParseError> {
        self.field(tag).ok_or(ParseError::Missing { tag })
    }

    /// An unsigned integer field.
    ///
    /// # Errors
    /// Missing or not a number.
    pub fn uint(&self, tag: u32) -> Result<u64, ParseError> {
        parse_uint(self.required(tag)?).ok_or(ParseError::BadInt { tag })
    }

    /// A signed integer field.
    ///
    /// # Errors
    /// Missing or not a number.
    pub fn int(&self, tag: u32) -> Result<i64, ParseError> {
        let v = self.required(tag)?;
        let (neg, digits) = match v.split_first() {
            Some((b'-', d)) => (true, d),
            _ => (false, v),
        };
        let n = parse_uint(digits)
            .filter(|&n| n <= i64::MAX as u64)
            .ok_or(ParseError::BadInt { tag })?;
        Ok(if neg { -(n as i64) } else { n as i64 })
    }

    /// A decimal field.
    ///
    /// # Errors
    /// Missing or not a decimal.
    pub fn decimal(&self, tag: u32) -> Result<Decimal, ParseError> {
        Decimal::parse(self.required(tag)?).map_err(|error| ParseError::BadDecimal { tag, error })
    }

    /// A UTCTimestamp field.
    ///
    /// # Errors
    /// Missing or not a timestamp.
    pub fn timestamp(&self, tag: u32) -> Result<UtcTimestamp, ParseError> {
        UtcTimestamp::parse(self.required(tag)?)
            .map_err(|error| ParseError::BadTimestamp { tag, error })
    }

    /// A single-character field.
    ///
    /// # Errors
    /// Missing or longer than one byte.
    pub fn char(&self, tag: u32) -> Result<u8, ParseError> {
        match self.required(tag)? {
            [c] => Ok(*c),
            _ => Err(ParseError::BadChar { tag }),
        }
    }

    /// A `Y`/`N` field; absent reads as `default`.
    ///
    /// # Errors
    /// Present but not `Y` or `N`.
    pub fn boolean_or(&self, tag: u32, default: bool) -> Result<bool, ParseError> {
        match self.field(tag) {
            None => Ok(default),
            Some(b"Y") => Ok(true),
            Some(b"N") => Ok(false),
            Some(_) => Err(ParseError::BadBoolean { tag }),
        }
    }

    /// The entries of a repeating group: the fields after `count_tag`, split at each
    /// `delimiter` tag. Stops at the first field that is not in `members` (or the delimiter).
    pub fn group(&self, count_tag: u32, delimiter: u32, members: &'a [u32]) -> Group<'a> {
        self.group_by(count_tag, delimiter, Membership::List(members))
    }

    /// As [`Message::group`], with membership decided by a function (a `match` compiles to a
    /// jump table: faster than scanning a list for hot groups such as MD entries).
    pub fn group_with(
        &self,
        count_tag: u32,
        delimiter: u32,
        is_member: fn(u32) -> bool,
    ) -> Group<'a> {
        self.group_by(count_tag, delimiter, Membership::Fn(is_member))
    }

    fn group_by(&self, count_tag: u32, delimiter: u32, members: Membership<'a>) -> Group<'a> {
        let start = self
            .fields
            .iter()
            .position(|f| f.tag == count_tag)
            .map_or(self.fields.len(), |i| i + 1);
        Group {
            msg: *self,
            pos: start,
            delimiter,
            members,
        }
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

/// Iterator over the entries of a repeating group.
#[derive(Debug, Clone)]
pub struct Group<'a> {
    msg: Message<'a>,
    pos: usize,
    delimiter: u32,
    members: Membership<'a>,
}

impl<'a> Iterator for Group<'a> {
    type Item = Entry<'a>;

    fn next(&mut self) -> Option<Entry<'a>> {
        let fields = self.msg.fields;
        if fields.get(self.pos)?.tag != self.delimiter {
            return None;
        }
        let start = self.pos;
        let mut end = start + 1;
        while let Some(f) = fields.get(end) {
            if f.tag == self.delimiter || !self.members.contains(f.tag) {
                break;
            }
            end += 1;
        }
        self.pos = end;
        Some(Entry {
            msg: self.msg,
            fields: &fields[start..end],
        })
    }
}

/// One entry of a repeating group.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    msg: Message<'a>,
    fields: &'a [FieldRef],
}

impl<'a> Entry<'a> {
    /// The value of `tag` inside this entry.
    #[inline]
    pub fn field(&self, tag: u32) -> Option<&'a [u8]> {
        self.fields
            .iter()
            .find(|f| f.tag == tag)
            .map(|f| self.msg.value(*f))
    }

    /// A decimal inside this entry.
    ///
    /// # Errors
    /// Missing or not a decimal.
    pub fn decimal(&self, tag: u32) -> Result<Decimal, ParseError> {
        let v = self.field(tag).ok_or(ParseError::Missing { tag })?;
        Decimal::parse(v).map_err(|error| ParseError::BadDecimal { tag, error })
    }

    /// A single character inside this entry.
    ///
    /// # Errors
    /// Missing or longer than one byte.
    pub fn char(&self, tag: u32) -> Result<u8, ParseError> {
        match self.field(tag).ok_or(ParseError::Missing { tag })? {
            [c] => Ok(*c),
            _ => Err(ParseError::BadChar { tag }),
        }
    }

    /// The fields of this entry, in wire order.
    pub fn fields(&self) -> &'a [FieldRef] {
        self.fields
    }
}

/// Parses unsigned decimal digits (at most 19).
#[inline]
pub fn parse_uint(bytes: &[u8]) -> Option<u64> {
    if bytes.is_empty() || bytes.len() > 19 {
        return None;
    }
    let mut v = 0u64;
    for &b in bytes {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u64::from(b - b'0');
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn soh(s: &str) -> Vec<u8> {
        s.replace('|', "\x01").into_bytes()
    }

    const M01: &str = "8=FIX.4.4|9=80|35=A|34=1|49=TESTCLIENT|56=KRAKEN-MD|52=20260407-14:32:01.000|98=0|108=30|141=Y|10=148|";

    #[test]
    fn frames_one_partial_and_two() {
        let m = soh(M01);
        let lim = FrameLimits::default();
        assert_eq!(frame(&m, lim), Ok(Some(m.len())));
        for cut in 0..m.len() {
            assert_eq!(frame(&m[..cut], lim), Ok(None), "cut at {cut}");
        }
        let mut two = m.clone();
        two.extend_from_slice(&m);
        assert_eq!(frame(&two, lim), Ok(Some(m.len())));
    }

    #[test]
    fn frame_errors_are_typed() {
        let lim = FrameLimits::default();
        let mut bad = soh(M01);
        let n = bad.len();
        bad[n - 2] = b'9';
        assert!(matches!(
            frame(&bad, lim),
            Err(FrameError::ChecksumMismatch { .. })
        ));
        assert_eq!(frame(b"garbage", lim), Err(FrameError::NotBeginString));
        assert_eq!(
            frame(&soh("8=FIX.4.4|9=x|"), lim),
            Err(FrameError::BadBodyLength)
        );
        assert_eq!(
            frame(&soh("8=FIX.4.4|9=4|35=0|10=000|"), lim),
            Err(FrameError::MissingChecksum)
        );
        assert!(matches!(
            frame(&soh("8=FIX.4.4|9=5|35=0|10=000|"), lim),
            Err(FrameError::ChecksumMismatch { received: 0, .. })
        ));
        assert_eq!(
            frame(&soh("8=FIX.4.4|9=99999999|"), lim),
            Err(FrameError::BadBodyLength),
            "more than 7 length digits"
        );
        assert_eq!(
            frame(&soh("8=FIX.4.4|9=999999|"), lim),
            Err(FrameError::TooLong { max: 65536 })
        );
    }

    #[test]
    fn resync_skips_to_next_message() {
        let mut s = b"junk".to_vec();
        s.push(SOH);
        s.extend_from_slice(&soh(M01));
        assert_eq!(resync(&s), 5);
    }

    #[test]
    fn reads_typed_fields() {
        let m = soh(M01);
        let mut idx = FieldIndex::<32>::new();
        let msg = Message::parse(&m, &mut idx).expect("valid");
        assert_eq!(msg.msg_type(), b"A");
        assert_eq!(msg.uint(34), Ok(1));
        assert_eq!(msg.field(49), Some(&b"TESTCLIENT"[..]));
        assert_eq!(msg.boolean_or(141, false), Ok(true));
        assert_eq!(
            msg.timestamp(52).map(|t| t.as_millis()),
            Ok(1_775_572_321_000)
        );
        assert_eq!(msg.uint(999), Err(ParseError::Missing { tag: 999 }));
        assert_eq!(msg.char(49), Err(ParseError::BadChar { tag: 49 }));
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
            Err(ParseError::InvalidTag { .. })
        ));
        let mut idx = FieldIndex::<8>::new();
        let raw = soh("8=FIX|58=|-1=x|");
        let m = Message::parse(&raw, &mut idx)
            .expect("empty value and bad tag are indexed for validation");
        assert_eq!(m.field(58), Some(&b""[..]));
        assert_eq!(m.fields()[2].tag, INVALID_TAG);
        assert_eq!(m.tag_text(m.fields()[2]), b"-1");
        let mut idx = FieldIndex::<8>::new();
        assert_eq!(
            Message::parse(b"8=FIX", &mut idx).map(|_| ()),
            Err(ParseError::Unterminated)
        );
    }

    #[test]
    fn iterates_groups() {
        let m = soh("8=FIX.4.4|9=1|35=X|268=2|279=0|269=1|270=1.5|271=2|279=2|269=0|270=1.4|271=0|5041=7|10=000|");
        let mut idx = FieldIndex::<32>::new();
        let msg = Message::parse(&m, &mut idx).expect("valid");
        let entries: Vec<_> = msg
            .group(268, 279, &[279, 269, 270, 271, 278, 273])
            .collect();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].decimal(270), Ok(Decimal::new(15, 1)));
        assert_eq!(entries[1].char(279), Ok(b'2'));
        assert_eq!(msg.uint(5041), Ok(7));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = frame(&bytes, FrameLimits::default());
            let _ = resync(&bytes);
            let mut idx = FieldIndex::<64>::new();
            if let Ok(msg) = Message::parse(&bytes, &mut idx) {
                let _ = msg.msg_type();
                let _ = msg.uint(34);
                let _ = msg.group(268, 279, &[269, 270]).count();
            }
        }
    }
}
