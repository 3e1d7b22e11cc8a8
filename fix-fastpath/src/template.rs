//! Precompiled outbound messages.
//!
//! A [`Template`] is encoded once per session and message shape (CompIDs, symbol, side, order
//! type, every constant field in place). Sending it means patching a few *slots* — MsgSeqNum,
//! SendingTime, ClOrdID, Price, OrderQty … — and the checksum:
//!
//! ```text
//! 8=FIX.4.4|9=165|35=D|34=[seq]|49=…|56=…|52=[time]|11=[clordid]|55=BTC/USD|54=1|40=2|44=[px]|…|10=[cs]|
//!                       ▲ slot                ▲ slot       ▲ slot                     ▲ slot      ▲ patched
//! ```
//!
//! Two layouts, chosen per template when it is built ([`Layout`]):
//!
//! - **Fixed** (the hot path): every numeric slot (MsgSeqNum, Price, OrderQty, StopPx …) has a
//!   fixed width and a value narrower than it is right-aligned and zero-padded on the left
//!   (`34=000000002`, `44=0000084000.0`). FIX 4.4 says `int` and `float` values "may contain
//!   leading zeros" (Vol. 1, data types), QuickFIX and Kraken parse them as numbers, so the
//!   message means the same. BodyLength never changes; a patch copies the slot bytes and corrects
//!   the running checksum by the difference of the slot's old and new byte sums — no other byte
//!   is read or written. SendingTime/TransactTime slots are always 21 bytes.
//! - **Exact** (canonical FIX, byte-identical to hand-written examples such as SPEC §7): slots
//!   take the width of their value. A value as wide as the slot's current content takes the same
//!   fast path; a value of another width moves the tail of the message, rewrites BodyLength and
//!   recomputes the checksum (no allocation, a few tens of nanoseconds).
//!
//! Text slots (ClOrdID, OrderID, TestReqID …) cannot be padded — a string with leading zeros is
//! another string — so they behave as in the exact layout under both: a Spot ClOrdID from a
//! microsecond clock is always 16 digits and a COMB UUID always 36, so in steady state they keep
//! their width. In either layout a value longer than the slot's width (numeric) or maximum (text)
//! is refused with [`TemplateError::SlotOverflow`], never truncated.
//!
//! Call order: [`Template::build`] / [`Template::build_with`] once at logon (allocates the
//! buffer), then per send [`Template::stamp`] + `set_*` for the order's values, then
//! [`Template::bytes`] or [`Template::copy_to`]. Nothing after the build allocates.

use crate::decimal::Decimal;
use crate::encode::{write_checksum, write_u64, EncodeError, Encoder, SOH};
use crate::time::{UtcTimestamp, MILLIS_LEN};

/// Most slots one template may have.
pub const MAX_SLOTS: usize = 16;

/// A slot of a template, returned by [`Builder::slot`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotId(u8);

impl SlotId {
    /// The MsgSeqNum slot every template has.
    pub const SEQ: SlotId = SlotId(0);
    /// The SendingTime slot every template has.
    pub const SENDING_TIME: SlotId = SlotId(1);
}

/// Why a template could not be built or patched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateError {
    /// The value is longer than the slot allows (`width`: the fixed width of a numeric slot or
    /// the maximum of a text slot; `needed`: the value's length).
    SlotOverflow { tag: u32, width: u16, needed: u16 },
    /// The value is empty or contains SOH.
    InvalidValue { tag: u32 },
    /// The message would not fit the template's buffer.
    BufferTooSmall { required: usize },
    /// More than [`MAX_SLOTS`] slots.
    TooManySlots,
    /// Encoding failed while building.
    Encode(EncodeError),
}

impl core::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::SlotOverflow { tag, width, needed } => {
                write!(
                    f,
                    "value for tag {tag} needs {needed} bytes, slot allows {width}"
                )
            }
            Self::InvalidValue { tag } => write!(
                f,
                "value for tag {tag} is empty, contains SOH, or is not numeric in a padded slot"
            ),
            Self::BufferTooSmall { required } => write!(f, "template needs {required} bytes"),
            Self::TooManySlots => write!(f, "more than {MAX_SLOTS} slots"),
            Self::Encode(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for TemplateError {}

impl From<EncodeError> for TemplateError {
    fn from(e: EncodeError) -> Self {
        TemplateError::Encode(e)
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    tag: u32,
    offset: u16,
    len: u16,
    max: u16,
    sum: u32,
    /// Numeric slot of constant width: narrower values are zero-padded on the left.
    padded: bool,
}

/// Widest zero-padded numeric slot.
pub const MAX_PADDED_WIDTH: u16 = 32;

/// How a template sizes its numeric slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Numeric slots take the width of their value (canonical FIX, no padding).
    Exact,
    /// Numeric slots have fixed widths and zero-padded values; BodyLength is constant.
    Fixed {
        /// Digits of the MsgSeqNum slot (9 covers a billion messages a day).
        seq_width: u16,
    },
}

impl Layout {
    /// The usual hot-path layout: MsgSeqNum in 9 digits.
    pub const FIXED: Layout = Layout::Fixed { seq_width: 9 };
}

/// The header fields every template starts with.
#[derive(Debug, Clone, Copy)]
pub struct Header<'a> {
    /// BeginString (`FIX.4.4`).
    pub begin_string: &'a [u8],
    /// SenderCompID.
    pub sender: &'a [u8],
    /// TargetCompID.
    pub target: &'a [u8],
    /// Write SendingTime after TargetCompID (Kraken's examples) instead of before (QuickFIX).
    pub time_after_target: bool,
}

/// A precompiled message: buffer, slots and running checksum.
#[derive(Debug, Clone)]
pub struct Template {
    buf: Vec<u8>,
    len: usize,
    len_digits_at: usize,
    len_digits: usize,
    body_start: usize,
    slots: [Slot; MAX_SLOTS],
    nslots: usize,
    sum: u32,
    /// The last whole second `set_timestamp` wrote and its text: within one second only the
    /// milliseconds need formatting.
    ts_second: i64,
    ts_text: [u8; MILLIS_LEN],
}

/// Adds fields and slots to a template being built.
#[derive(Debug)]
pub struct Builder<'a> {
    enc: Encoder<'a>,
    slots: [Slot; MAX_SLOTS],
    nslots: usize,
    error: Option<TemplateError>,
    layout: Layout,
}

impl Builder<'_> {
    /// A constant field.
    pub fn field(&mut self, tag: u32, value: &[u8]) -> &mut Self {
        self.enc.field(tag, value);
        self
    }

    /// A constant decimal field.
    pub fn decimal(&mut self, tag: u32, value: Decimal) -> &mut Self {
        self.enc.decimal(tag, value);
        self
    }

    /// A constant integer field.
    pub fn uint(&mut self, tag: u32, value: u64) -> &mut Self {
        self.enc.uint(tag, value);
        self
    }

    /// The layout this template is built with.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// A numeric slot (int or float): in [`Layout::Fixed`] exactly `width` bytes, zero-padded
    /// (`width` at most [`MAX_PADDED_WIDTH`]); in [`Layout::Exact`] a text-like slot of at most
    /// `width` bytes starting as `0`.
    pub fn numeric_slot(&mut self, tag: u32, width: u16) -> SlotId {
        match self.layout {
            Layout::Exact => self.slot(tag, b"0", width),
            Layout::Fixed { .. } => self.padded_slot(tag, width),
        }
    }

    /// A numeric slot of constant `width`, zero-padded, whatever the layout.
    pub fn padded_slot(&mut self, tag: u32, width: u16) -> SlotId {
        if width == 0 || width > MAX_PADDED_WIDTH {
            self.error = Some(TemplateError::SlotOverflow {
                tag,
                width: MAX_PADDED_WIDTH,
                needed: width,
            });
            return SlotId(0);
        }
        let zeros = [b'0'; MAX_PADDED_WIDTH as usize];
        let id = self.slot(tag, &zeros[..usize::from(width)], width);
        if let Some(s) = self.slots.get_mut(usize::from(id.0)) {
            s.padded = true;
        }
        id
    }

    /// A patchable field with an initial value and a maximum width.
    pub fn slot(&mut self, tag: u32, initial: &[u8], max: u16) -> SlotId {
        if self.nslots == MAX_SLOTS {
            self.error = Some(TemplateError::TooManySlots);
            return SlotId(0);
        }
        if initial.len() > usize::from(max) {
            self.error = Some(TemplateError::SlotOverflow {
                tag,
                width: max,
                needed: initial.len() as u16,
            });
        }
        let before = self.enc_len();
        self.enc.field(tag, initial);
        let tag_len = self.enc_len() - before - initial.len() - 1;
        let id = SlotId(self.nslots as u8);
        self.slots[self.nslots] = Slot {
            tag,
            offset: (before + tag_len) as u16,
            len: initial.len() as u16,
            max,
            sum: 0,
            padded: false,
        };
        self.nslots += 1;
        id
    }

    fn enc_len(&mut self) -> usize {
        self.enc.position()
    }
}

impl Template {
    /// Builds a template in [`Layout::Exact`]: header with MsgSeqNum and SendingTime slots,
    /// then what `body` adds. `capacity` bounds the message size for its whole life.
    ///
    /// # Errors
    /// [`TemplateError`] if the message does not fit or a slot is misdeclared.
    pub fn build(
        capacity: usize,
        header: Header<'_>,
        msg_type: &[u8],
        body: impl FnOnce(&mut Builder<'_>),
    ) -> Result<Template, TemplateError> {
        Self::build_with(capacity, header, msg_type, Layout::Exact, body)
    }

    /// Builds a template in the given layout.
    ///
    /// # Errors
    /// [`TemplateError`] if the message does not fit or a slot is misdeclared.
    pub fn build_with(
        capacity: usize,
        header: Header<'_>,
        msg_type: &[u8],
        layout: Layout,
        body: impl FnOnce(&mut Builder<'_>),
    ) -> Result<Template, TemplateError> {
        let mut buf = vec![0u8; capacity];
        let mut b = Builder {
            enc: Encoder::new(&mut buf),
            slots: [Slot::default(); MAX_SLOTS],
            nslots: 0,
            error: None,
            layout,
        };
        b.enc.begin(header.begin_string, msg_type);
        match layout {
            Layout::Exact => b.slot(34, b"1", 20),
            Layout::Fixed { seq_width } => b.padded_slot(34, seq_width),
        };
        let zero_time = [b'0'; MILLIS_LEN];
        b.enc.field(49, header.sender);
        if header.time_after_target {
            b.enc.field(56, header.target);
            b.slot(52, &zero_time, MILLIS_LEN as u16);
        } else {
            b.slot(52, &zero_time, MILLIS_LEN as u16);
            b.enc.field(56, header.target);
        }
        body(&mut b);
        if let Some(e) = b.error {
            return Err(e);
        }
        let mut slots = b.slots;
        let nslots = b.nslots;
        let (len, shift) = b.enc.finish_shifted()?;
        // finish() closed the gap left by the reserved BodyLength width: move slot offsets.
        for s in &mut slots[..nslots] {
            s.offset -= shift as u16;
        }
        let len_digits_at = buf.iter().position(|&c| c == SOH).map_or(0, |p| p + 3);
        let len_digits = buf[len_digits_at..]
            .iter()
            .position(|&c| c == SOH)
            .unwrap_or(0);
        let body_start = len_digits_at + len_digits + 1;
        let mut t = Template {
            buf,
            len,
            len_digits_at,
            len_digits,
            body_start,
            slots,
            nslots,
            sum: 0,
            ts_second: i64::MIN,
            ts_text: [0; MILLIS_LEN],
        };
        t.resum();
        Ok(t)
    }

    fn resum(&mut self) {
        let trailer = self.len - 7;
        self.sum = self.buf[..trailer].iter().map(|&b| u32::from(b)).sum();
        for i in 0..self.nslots {
            let s = self.slots[i];
            let start = usize::from(s.offset);
            self.slots[i].sum = self.buf[start..start + usize::from(s.len)]
                .iter()
                .map(|&b| u32::from(b))
                .sum();
        }
        self.write_checksum();
    }

    #[inline]
    fn write_checksum(&mut self) {
        let mut cs = [0u8; 3];
        write_checksum(&mut cs, (self.sum % 256) as u8);
        let at = self.len - 4;
        self.buf[at..at + 3].copy_from_slice(&cs);
    }

    /// Replaces the value of `slot`.
    ///
    /// # Errors
    /// [`TemplateError::SlotOverflow`] if longer than the slot's maximum,
    /// [`TemplateError::InvalidValue`] if empty or containing SOH,
    /// [`TemplateError::BufferTooSmall`] if the grown message would not fit.
    #[inline]
    pub fn set(&mut self, slot: SlotId, value: &[u8]) -> Result<(), TemplateError> {
        let i = usize::from(slot.0);
        let s = self.slots[i];
        if value.len() > usize::from(s.max) {
            return Err(TemplateError::SlotOverflow {
                tag: s.tag,
                width: s.max,
                needed: value.len() as u16,
            });
        }
        if value.is_empty() || value.contains(&SOH) {
            return Err(TemplateError::InvalidValue { tag: s.tag });
        }
        if s.padded {
            return self.set_padded(i, value);
        }
        if value.len() == usize::from(s.len) {
            self.overwrite(i, value);
            return Ok(());
        }
        self.relayout(i, value)
    }

    /// Copies a value of the slot's current width and corrects the checksum by the delta.
    #[inline]
    fn overwrite(&mut self, i: usize, value: &[u8]) {
        let s = self.slots[i];
        let start = usize::from(s.offset);
        let new_sum = byte_sum(value);
        self.buf[start..start + value.len()].copy_from_slice(value);
        self.sum = self.sum - s.sum + new_sum;
        self.slots[i].sum = new_sum;
        self.write_checksum();
    }

    /// Right-aligns a numeric value in a padded slot: `[-]000digits`, written straight into
    /// the message. The new byte sum is the value's plus one `'0'` per pad byte, so only the
    /// (short) value is summed.
    #[inline]
    fn set_padded(&mut self, i: usize, value: &[u8]) -> Result<(), TemplateError> {
        let s = self.slots[i];
        let (sign, digits): (&[u8], &[u8]) = match value.split_first() {
            Some((b'-', rest)) => (b"-", rest),
            _ => (b"", value),
        };
        let mut dots = 0u32;
        let mut numeric = !digits.is_empty();
        for &c in digits {
            dots += u32::from(c == b'.');
            numeric &= c.is_ascii_digit() || c == b'.';
        }
        if !numeric || dots > 1 {
            return Err(TemplateError::InvalidValue { tag: s.tag });
        }
        self.put_padded(i, sign, digits);
        Ok(())
    }

    /// Writes `sign`, zeros, `digits` over a padded slot (the caller checked the width).
    #[inline]
    fn put_padded(&mut self, i: usize, sign: &[u8], digits: &[u8]) {
        let s = self.slots[i];
        let start = usize::from(s.offset);
        let width = usize::from(s.len);
        let pad = width - sign.len() - digits.len();
        let dst = &mut self.buf[start..start + width];
        dst[..sign.len()].copy_from_slice(sign);
        dst[sign.len()..sign.len() + pad].fill(b'0');
        dst[sign.len() + pad..].copy_from_slice(digits);
        let new_sum = byte_sum(sign) + byte_sum(digits) + pad as u32 * u32::from(b'0');
        self.sum = self.sum - s.sum + new_sum;
        self.slots[i].sum = new_sum;
        self.write_checksum();
    }

    /// The slow path: the value changes width.
    fn relayout(&mut self, i: usize, value: &[u8]) -> Result<(), TemplateError> {
        let s = self.slots[i];
        let start = usize::from(s.offset);
        let old_len = usize::from(s.len);
        let delta = value.len() as isize - old_len as isize;
        let new_len = (self.len as isize + delta) as usize;
        if new_len + 2 > self.buf.len() {
            return Err(TemplateError::BufferTooSmall {
                required: new_len + 2,
            });
        }
        self.buf.copy_within(
            start + old_len..self.len,
            (start as isize + value.len() as isize) as usize,
        );
        self.buf[start..start + value.len()].copy_from_slice(value);
        self.len = new_len;
        self.slots[i].len = value.len() as u16;
        for s2 in &mut self.slots[..self.nslots] {
            if usize::from(s2.offset) > start {
                s2.offset = (s2.offset as isize + delta) as u16;
            }
        }
        // BodyLength: body runs from body_start to the trailer.
        let body_len = self.len - 7 - self.body_start;
        let mut digits = [0u8; 20];
        let n = write_u64(&mut digits, body_len as u64).unwrap_or(0);
        if n != self.len_digits {
            let d = n as isize - self.len_digits as isize;
            let from = self.len_digits_at + self.len_digits;
            self.buf
                .copy_within(from..self.len, (from as isize + d) as usize);
            self.len = (self.len as isize + d) as usize;
            self.body_start = (self.body_start as isize + d) as usize;
            for s2 in &mut self.slots[..self.nslots] {
                s2.offset = (s2.offset as isize + d) as u16;
            }
            self.len_digits = n;
        }
        self.buf[self.len_digits_at..self.len_digits_at + n].copy_from_slice(&digits[..n]);
        self.resum();
        Ok(())
    }

    /// Writes an unsigned integer into `slot`.
    ///
    /// # Errors
    /// As [`Template::set`].
    #[inline]
    pub fn set_uint(&mut self, slot: SlotId, value: u64) -> Result<(), TemplateError> {
        let mut tmp = [0u8; 20];
        let n = write_u64(&mut tmp, value).unwrap_or(0);
        self.set_numeric(slot, &tmp[..n])
    }

    /// [`Template::set`] for text known to be a well-formed number (our own formatting): a
    /// padded slot skips the character checks.
    #[inline]
    fn set_numeric(&mut self, slot: SlotId, value: &[u8]) -> Result<(), TemplateError> {
        let i = usize::from(slot.0);
        let s = self.slots[i];
        if !s.padded || value.is_empty() {
            return self.set(slot, value);
        }
        if value.len() > usize::from(s.len) {
            return Err(TemplateError::SlotOverflow {
                tag: s.tag,
                width: s.len,
                needed: value.len() as u16,
            });
        }
        let (sign, digits): (&[u8], &[u8]) = match value.split_first() {
            Some((b'-', rest)) => (b"-", rest),
            _ => (b"", value),
        };
        self.put_padded(i, sign, digits);
        Ok(())
    }

    /// Writes a decimal into `slot` with its own scale.
    ///
    /// # Errors
    /// As [`Template::set`].
    #[inline]
    pub fn set_decimal(&mut self, slot: SlotId, value: Decimal) -> Result<(), TemplateError> {
        let mut tmp = [0u8; 48];
        let n = value.write(&mut tmp).unwrap_or(0);
        self.set_numeric(slot, &tmp[..n])
    }

    /// Writes a millisecond UTCTimestamp into `slot`.
    ///
    /// # Errors
    /// As [`Template::set`].
    #[inline]
    pub fn set_timestamp(
        &mut self,
        slot: SlotId,
        value: UtcTimestamp,
    ) -> Result<(), TemplateError> {
        let second = value.nanos.div_euclid(1_000_000_000);
        if second == self.ts_second {
            let ms = (value.nanos.rem_euclid(1_000_000_000) / 1_000_000) as u16;
            self.ts_text[18] = b'0' + (ms / 100) as u8;
            self.ts_text[19] = b'0' + ((ms / 10) % 10) as u8;
            self.ts_text[20] = b'0' + (ms % 10) as u8;
        } else {
            value.write_millis(&mut self.ts_text);
            self.ts_second = second;
        }
        let text = self.ts_text;
        self.set(slot, &text)
    }

    /// Patches MsgSeqNum and SendingTime: what every send does.
    ///
    /// # Errors
    /// As [`Template::set`].
    #[inline]
    pub fn stamp(&mut self, seq: u64, now: UtcTimestamp) -> Result<(), TemplateError> {
        self.set_uint(SlotId::SEQ, seq)?;
        self.set_timestamp(SlotId::SENDING_TIME, now)
    }

    /// The message as it stands.
    #[inline]
    pub fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// Copies the message into `out` (a transmit queue) and returns its length.
    ///
    /// # Errors
    /// [`EncodeError::BufferTooSmall`] if `out` is too short.
    #[inline]
    pub fn copy_to(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        let dst = out
            .get_mut(..self.len)
            .ok_or(EncodeError::BufferTooSmall { required: self.len })?;
        dst.copy_from_slice(&self.buf[..self.len]);
        Ok(self.len)
    }
}

/// Sum of a short value's bytes. Values were usually just formatted byte by byte on the stack;
/// a scalar loop reads them back through store forwarding, where a vectorised sum would stall
/// on the freshly written bytes (measured: ~2x slower patch in the fixed layout).
#[inline]
fn byte_sum(value: &[u8]) -> u32 {
    let mut sum = 0u32;
    let mut i = 0;
    while i < value.len() {
        sum += u32::from(value[i]);
        i += 1;
        // Keeps the loop scalar (see above).
        core::hint::black_box(());
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header<'static> {
        Header {
            begin_string: b"FIX.4.4",
            sender: b"TESTCLIENT",
            target: b"KRAKEN-TRD",
            time_after_target: true,
        }
    }

    fn text(t: &Template) -> String {
        String::from_utf8_lossy(t.bytes()).replace('\x01', "|")
    }

    fn valid(t: &Template) {
        let b = t.bytes();
        assert_eq!(
            crate::message::frame(b, crate::message::FrameLimits::default()),
            Ok(Some(b.len())),
            "{}",
            text(t)
        );
    }

    #[test]
    fn patch_keeps_framing_and_checksum_valid() {
        let mut id = SlotId(0);
        let mut t = Template::build(512, header(), b"D", |b| {
            id = b.slot(11, b"1", 18);
            b.field(55, b"BTC/USD");
        })
        .expect("builds");
        valid(&t);
        t.stamp(2, UtcTimestamp::from_millis(1_775_572_325_000))
            .expect("fits");
        valid(&t);
        t.set(id, b"1775572325000000").expect("fits");
        valid(&t);
        for seq in [3, 9, 10, 99, 100, 12_345_678] {
            t.stamp(
                seq,
                UtcTimestamp::from_millis(1_775_572_325_000 + seq as i64),
            )
            .expect("fits");
            valid(&t);
        }
        assert!(text(&t).contains("|34=12345678|"));
        t.set(id, b"7").expect("narrower");
        valid(&t);
        assert!(text(&t).contains("|11=7|55=BTC/USD|"));
    }

    #[test]
    fn overflow_and_bad_values_are_refused() {
        let mut id = SlotId(0);
        let mut t = Template::build(512, header(), b"D", |b| {
            id = b.slot(11, b"1", 4);
        })
        .expect("builds");
        assert_eq!(
            t.set(id, b"12345"),
            Err(TemplateError::SlotOverflow {
                tag: 11,
                width: 4,
                needed: 5
            })
        );
        assert_eq!(t.set(id, b""), Err(TemplateError::InvalidValue { tag: 11 }));
        assert_eq!(
            t.set(id, b"1\x012"),
            Err(TemplateError::InvalidValue { tag: 11 })
        );
        valid(&t);
        let small = Template::build(40, header(), b"D", |b| {
            b.field(58, b"this will not fit in forty bytes");
        });
        assert!(matches!(
            small,
            Err(TemplateError::Encode(EncodeError::BufferTooSmall { .. }))
        ));
    }

    #[test]
    fn fixed_layout_keeps_body_length_and_pads_numbers() {
        let mut px = SlotId(0);
        let mut t = Template::build_with(512, header(), b"D", Layout::FIXED, |b| {
            px = b.numeric_slot(44, 10);
            b.field(55, b"BTC/USD");
        })
        .expect("builds");
        let len = t.bytes().len();
        for (seq, price) in [(2u64, "84000.0"), (10, "85000"), (999_999_999, "-1.5")] {
            t.stamp(seq, UtcTimestamp::from_millis(1_775_572_325_000))
                .expect("fits");
            t.set_decimal(px, Decimal::parse(price.as_bytes()).expect("valid"))
                .expect("fits");
            valid(&t);
            assert_eq!(t.bytes().len(), len, "BodyLength is constant");
        }
        assert!(text(&t).contains("|34=999999999|"), "{}", text(&t));
        assert!(text(&t).contains("|44=-0000001.5|"), "{}", text(&t));
        t.set_uint(SlotId::SEQ, 2).expect("fits");
        assert!(text(&t).contains("|34=000000002|"), "{}", text(&t));
        assert_eq!(
            t.set_uint(SlotId::SEQ, 1_000_000_000),
            Err(TemplateError::SlotOverflow {
                tag: 34,
                width: 9,
                needed: 10
            })
        );
        assert_eq!(
            t.set_decimal(px, Decimal::new(12_345_678_901, 0)),
            Err(TemplateError::SlotOverflow {
                tag: 44,
                width: 10,
                needed: 11
            })
        );
        assert_eq!(
            t.set(px, b"12a"),
            Err(TemplateError::InvalidValue { tag: 44 })
        );
        valid(&t);
        assert_eq!(t.bytes().len(), len);
    }
}
