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
    /// What the slot was last written with by a typed setter, so that the same value is not
    /// formatted again and a timestamp in the same second rewrites only its milliseconds.
    held: Held,
}

/// The value a slot holds, as far as the typed setters know.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Held {
    /// Bytes written by [`Template::set`] (or the initial value): nothing known.
    #[default]
    Other,
    /// `set_uint(value)`.
    Uint(u64),
    /// `set_decimal(Decimal { mantissa, scale })`, by representation.
    Decimal(i64, u8),
    /// A millisecond timestamp in this Unix second (`YYYYMMDD-HH:MM:SS.` is in place).
    Second(i64),
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
    /// The UTC day (days since the epoch) whose `YYYYMMDD` is cached in `ts_date`: within a
    /// day, a timestamp slot only needs its time-of-day digits formatted.
    ts_day: i64,
    ts_date: [u8; 8],
    ts_date_sum: u32,
    /// The last time `set_timestamp` was given (SendingTime and TransactTime of one send share
    /// it), its millisecond, that millisecond's second, three digits and their byte sum.
    ts_nanos: i64,
    ts_millis: i64,
    ts_second: i64,
    ts_ms: [u8; 3],
    ts_ms_sum: u32,
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
            held: Held::Other,
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
            ts_day: i64::MIN,
            ts_date: [0; 8],
            ts_date_sum: 0,
            // The memo starts as the epoch, whose values these are.
            ts_nanos: 0,
            ts_millis: 0,
            ts_second: 0,
            ts_ms: [b'0'; 3],
            ts_ms_sum: 3 * u32::from(b'0'),
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

    /// Writes the three CheckSum digits from the running sum.
    #[inline]
    pub(crate) fn write_checksum(&mut self) {
        let mut cs = [0u8; 3];
        write_checksum(&mut cs, (self.sum % 256) as u8);
        let at = self.len - 4;
        if let Some(dst) = self.buf.get_mut(at..at + 3) {
            dst.copy_from_slice(&cs);
        }
    }

    /// Replaces a slot's byte sum in the running checksum.
    #[inline(always)]
    fn resum_slot(&mut self, i: usize, new_sum: u32) {
        self.sum = self.sum - self.slots[i].sum + new_sum;
        self.slots[i].sum = new_sum;
    }

    /// Replaces the value of `slot`.
    ///
    /// # Errors
    /// [`TemplateError::SlotOverflow`] if longer than the slot's maximum,
    /// [`TemplateError::InvalidValue`] if empty or containing SOH,
    /// [`TemplateError::BufferTooSmall`] if the grown message would not fit.
    #[inline]
    pub fn set(&mut self, slot: SlotId, value: &[u8]) -> Result<(), TemplateError> {
        let r = self.set_raw(slot, value);
        self.write_checksum();
        r
    }

    /// [`Template::set`] without writing the CheckSum digits (the running sum is kept): for a
    /// batch of patches followed by one [`Template::write_checksum`]. Nothing is changed on
    /// error.
    #[inline(always)]
    pub(crate) fn set_raw(&mut self, slot: SlotId, value: &[u8]) -> Result<(), TemplateError> {
        let i = usize::from(slot.0);
        let s = self.slots[i];
        if value.len() > usize::from(s.max) {
            return Err(TemplateError::SlotOverflow {
                tag: s.tag,
                width: s.max,
                needed: value.len() as u16,
            });
        }
        let (new_sum, has_soh) = scan_value(value);
        if value.is_empty() || has_soh {
            return Err(TemplateError::InvalidValue { tag: s.tag });
        }
        if s.padded {
            let r = self.set_padded(i, value);
            if r.is_ok() {
                self.slots[i].held = Held::Other;
            }
            return r;
        }
        self.slots[i].held = Held::Other;
        if value.len() == usize::from(s.len) {
            let start = usize::from(s.offset);
            copy_short(&mut self.buf[start..start + value.len()], value);
            self.resum_slot(i, new_sum);
            return Ok(());
        }
        self.relayout(i, value)
    }

    /// Right-aligns a numeric value in a padded slot: `[-]000digits`, written straight into
    /// the message.
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
        let start = usize::from(s.offset);
        let width = usize::from(s.len);
        let dst = &mut self.buf[start..start + width];
        fill_zeros(dst);
        let pad = width - sign.len() - digits.len();
        dst[..sign.len()].copy_from_slice(sign);
        copy_short(&mut dst[sign.len() + pad..], digits);
        let new_sum = scan_value(sign).0 + scan_value(digits).0 + pad as u32 * u32::from(b'0');
        self.resum_slot(i, new_sum);
        Ok(())
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
        self.slots[i].held = Held::Other;
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
        let r = self.set_uint_raw(slot, value);
        self.write_checksum();
        r
    }

    /// [`Template::set_uint`] without writing the CheckSum digits. In the common case (a padded
    /// slot, or a value as wide as the slot's current one) the digits are written straight into
    /// the message and summed as they are produced.
    #[inline(always)]
    pub(crate) fn set_uint_raw(&mut self, slot: SlotId, value: u64) -> Result<(), TemplateError> {
        let i = usize::from(slot.0);
        let s = self.slots[i];
        if s.held == Held::Uint(value) {
            return Ok(());
        }
        // The next number (MsgSeqNum on consecutive sends) whose last digit is not a 9 only
        // changes that digit: one byte written, the sum one more.
        if s.held == Held::Uint(value.wrapping_sub(1)) && value != 0 {
            let last = usize::from(s.offset) + usize::from(s.len) - 1;
            if let Some(d @ b'0'..=b'8') = self.buf.get(last).copied() {
                self.buf[last] = d + 1;
                self.slots[i].held = Held::Uint(value);
                self.resum_slot(i, s.sum + 1);
                return Ok(());
            }
        }
        let n = uint_digits(value);
        if s.padded || n == usize::from(s.len) {
            if n > usize::from(s.len) {
                return Err(TemplateError::SlotOverflow {
                    tag: s.tag,
                    width: s.len,
                    needed: n as u16,
                });
            }
            let start = usize::from(s.offset);
            let end = start + usize::from(s.len);
            if s.padded {
                fill_zeros(&mut self.buf[start..end]);
            }
            let new_sum = put_digits(&mut self.buf, start, end, value);
            self.slots[i].held = Held::Uint(value);
            self.resum_slot(i, new_sum);
            return Ok(());
        }
        let mut tmp = [0u8; 20];
        let n = write_u64(&mut tmp, value).unwrap_or(0);
        self.set_raw(slot, &tmp[..n])
    }

    /// Writes a decimal into `slot` with its own scale.
    ///
    /// # Errors
    /// As [`Template::set`].
    #[inline]
    pub fn set_decimal(&mut self, slot: SlotId, value: Decimal) -> Result<(), TemplateError> {
        let r = self.set_decimal_raw(slot, value);
        self.write_checksum();
        r
    }

    /// [`Template::set_decimal`] without writing the CheckSum digits; formats straight into
    /// the message like [`Template::set_uint_raw`].
    #[inline(always)]
    pub(crate) fn set_decimal_raw(
        &mut self,
        slot: SlotId,
        value: Decimal,
    ) -> Result<(), TemplateError> {
        let i = usize::from(slot.0);
        let s = self.slots[i];
        if s.held == Held::Decimal(value.mantissa, value.scale) {
            return Ok(());
        }
        let n = decimal_text_len(value);
        if s.padded || n == usize::from(s.len) {
            if n > usize::from(s.len) {
                return Err(TemplateError::SlotOverflow {
                    tag: s.tag,
                    width: s.len,
                    needed: n as u16,
                });
            }
            let start = usize::from(s.offset);
            let end = start + usize::from(s.len);
            if s.padded {
                fill_zeros(&mut self.buf[start..end]);
            }
            let new_sum = put_decimal(&mut self.buf, start, end, value);
            self.slots[i].held = Held::Decimal(value.mantissa, value.scale);
            self.resum_slot(i, new_sum);
            return Ok(());
        }
        let mut tmp = [0u8; 48];
        let n = value.write(&mut tmp).unwrap_or(0);
        self.set_raw(slot, &tmp[..n])
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
        let r = self.set_timestamp_raw(slot, value);
        self.write_checksum();
        r
    }

    /// [`Template::set_timestamp`] without writing the CheckSum digits.
    ///
    /// Within the second the slot already holds, only the three millisecond digits are written
    /// (and the checksum corrected by their difference); within the day, the cached `YYYYMMDD`
    /// is copied and only the time of day is formatted.
    #[inline(always)]
    pub(crate) fn set_timestamp_raw(
        &mut self,
        slot: SlotId,
        value: UtcTimestamp,
    ) -> Result<(), TemplateError> {
        let i = usize::from(slot.0);
        let s = self.slots[i];
        if s.padded || usize::from(s.len) != MILLIS_LEN {
            let mut text = [0u8; MILLIS_LEN];
            value.write_millis(&mut text);
            return self.set_raw(slot, &text);
        }
        if value.nanos != self.ts_nanos {
            self.ts_nanos = value.nanos;
            let millis = value.nanos.div_euclid(1_000_000);
            if millis != self.ts_millis {
                let ms = millis.rem_euclid(1000) as u32;
                self.ts_millis = millis;
                self.ts_second = millis.div_euclid(1000);
                self.ts_ms = [
                    b'0' + (ms / 100) as u8,
                    b'0' + ((ms / 10) % 10) as u8,
                    b'0' + (ms % 10) as u8,
                ];
                self.ts_ms_sum = 3 * u32::from(b'0') + ms / 100 + (ms / 10) % 10 + ms % 10;
            }
        }
        let (second, ms_digits, ms_sum) = (self.ts_second, self.ts_ms, self.ts_ms_sum);
        let start = usize::from(s.offset);
        if s.held == Held::Second(second) {
            let dst = &mut self.buf[start + 18..start + MILLIS_LEN];
            let old = u32::from(dst[0]) + u32::from(dst[1]) + u32::from(dst[2]);
            dst.copy_from_slice(&ms_digits);
            self.resum_slot(i, s.sum - old + ms_sum);
            return Ok(());
        }
        let day = second.div_euclid(86_400);
        if day != self.ts_day {
            let mut text = [0u8; MILLIS_LEN];
            value.write_millis(&mut text);
            self.ts_date.copy_from_slice(&text[..8]);
            self.ts_date_sum = text[..8].iter().map(|&b| u32::from(b)).sum();
            self.ts_day = day;
        }
        let in_day = second.rem_euclid(86_400) as u32;
        let (h, m, sec) = (in_day / 3600, (in_day / 60) % 60, in_day % 60);
        let mut text = [0u8; MILLIS_LEN];
        text[..8].copy_from_slice(&self.ts_date);
        text[8] = b'-';
        text[9] = b'0' + (h / 10) as u8;
        text[10] = b'0' + (h % 10) as u8;
        text[11] = b':';
        text[12] = b'0' + (m / 10) as u8;
        text[13] = b'0' + (m % 10) as u8;
        text[14] = b':';
        text[15] = b'0' + (sec / 10) as u8;
        text[16] = b'0' + (sec % 10) as u8;
        text[17] = b'.';
        text[18..].copy_from_slice(&ms_digits);
        let new_sum = self.ts_date_sum
            + u32::from(b'-' + b'.')
            + 2 * u32::from(b':')
            + 6 * u32::from(b'0')
            + h / 10
            + h % 10
            + m / 10
            + m % 10
            + sec / 10
            + sec % 10
            + ms_sum;
        self.buf[start..start + MILLIS_LEN].copy_from_slice(&text);
        self.slots[i].held = Held::Second(second);
        self.resum_slot(i, new_sum);
        Ok(())
    }

    /// Patches MsgSeqNum and SendingTime: what every send does.
    ///
    /// # Errors
    /// As [`Template::set`].
    #[inline]
    pub fn stamp(&mut self, seq: u64, now: UtcTimestamp) -> Result<(), TemplateError> {
        let r = self.stamp_raw(seq, now);
        self.write_checksum();
        r
    }

    /// [`Template::stamp`] without writing the CheckSum digits.
    #[inline(always)]
    pub(crate) fn stamp_raw(&mut self, seq: u64, now: UtcTimestamp) -> Result<(), TemplateError> {
        self.set_uint_raw(SlotId::SEQ, seq)?;
        self.set_timestamp_raw(SlotId::SENDING_TIME, now)
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

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Byte sum of the eight bytes of `w` (pairs into 16-bit lanes, then one multiply adds the
/// lanes into the top one).
#[inline(always)]
fn word_sum(w: u64) -> u32 {
    const LOW: u64 = 0x00FF_00FF_00FF_00FF;
    let pairs = (w & LOW) + ((w >> 8) & LOW);
    (pairs.wrapping_mul(0x0001_0001_0001_0001) >> 48) as u32
}

/// True when a byte of `w` is SOH.
#[inline(always)]
fn word_has_soh(w: u64) -> bool {
    let x = w ^ ONES;
    x.wrapping_sub(ONES) & !x & HIGHS != 0
}

/// Up to eight bytes as a little-endian word, zero-filled; one or two loads, no byte loop.
#[inline(always)]
fn load_short(v: &[u8]) -> u64 {
    let n = v.len();
    match n {
        0 => 0,
        1..=3 => {
            u64::from(v[0])
                | u64::from(v[n / 2]) << (8 * (n / 2))
                | u64::from(v[n - 1]) << (8 * (n - 1))
        }
        4..=7 => {
            let lo = u32::from_le_bytes([v[0], v[1], v[2], v[3]]);
            let hi = u32::from_le_bytes([v[n - 4], v[n - 3], v[n - 2], v[n - 1]]);
            u64::from(lo) | u64::from(hi) << (8 * (n - 4))
        }
        _ => u64::from_le_bytes([v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]]),
    }
}

/// (byte sum, contains SOH) of a value, eight bytes at a time.
#[inline(always)]
fn scan_value(value: &[u8]) -> (u32, bool) {
    let mut sum = 0u32;
    let mut soh = false;
    let mut chunks = value.chunks_exact(8);
    for c in &mut chunks {
        let w = load_short(c);
        sum += word_sum(w);
        soh |= word_has_soh(w);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let w = load_short(rest);
        sum += word_sum(w);
        soh |= word_has_soh(w);
    }
    (sum, soh)
}

/// `dst.copy_from_slice(src)` for short values with fixed-size moves (a variable-length copy
/// would be a `memcpy` call). `dst` and `src` have the same length.
#[inline(always)]
pub(crate) fn copy_short(dst: &mut [u8], src: &[u8]) {
    let n = src.len().min(dst.len());
    let (dst, src) = (&mut dst[..n], &src[..n]);
    if n >= 8 {
        let mut j = 0;
        while j + 8 <= n {
            dst[j..j + 8].copy_from_slice(&src[j..j + 8]);
            j += 8;
        }
        if j < n {
            dst[n - 8..].copy_from_slice(&src[n - 8..]);
        }
    } else if n >= 4 {
        dst[..4].copy_from_slice(&src[..4]);
        dst[n - 4..].copy_from_slice(&src[n - 4..]);
    } else {
        for (d, s) in dst.iter_mut().zip(src) {
            *d = *s;
        }
    }
}

/// Fills `dst` with `'0'` using eight-byte stores.
#[inline]
fn fill_zeros(dst: &mut [u8]) {
    const ZEROS: [u8; 8] = [b'0'; 8];
    let n = dst.len();
    if n >= 8 {
        let mut j = 0;
        while j + 8 <= n {
            dst[j..j + 8].copy_from_slice(&ZEROS);
            j += 8;
        }
        if j < n {
            dst[n - 8..].copy_from_slice(&ZEROS);
        }
    } else {
        dst.fill(b'0');
    }
}

/// Decimal digits of `v`.
#[inline(always)]
pub(crate) fn uint_digits(v: u64) -> usize {
    v.checked_ilog10().map_or(1, |l| l as usize + 1)
}

/// Bytes of `value`'s text as [`Decimal::write`] produces it.
#[inline(always)]
fn decimal_text_len(value: Decimal) -> usize {
    let digits = uint_digits(value.mantissa.unsigned_abs()).max(usize::from(value.scale) + 1);
    usize::from(value.mantissa < 0) + digits + usize::from(value.scale > 0)
}

/// `v` (below 10^8) as eight ASCII digits with leading zeros, the most significant in the
/// lowest byte: two multiply-shift rounds split it into hundreds, then tens, in all lanes at
/// once (no digit-by-digit division chain).
#[inline(always)]
pub(crate) fn digits8(v: u32) -> u64 {
    let x = u64::from(v / 10_000) | u64::from(v % 10_000) << 32;
    let hundreds = ((x * 10_486) >> 20) & 0x0000_007F_0000_007F;
    let pairs = hundreds | (x - hundreds * 100) << 16;
    let tens = ((pairs * 103) >> 10) & 0x000F_000F_000F_000F;
    (tens | (pairs - tens * 10) << 8) + 0x3030_3030_3030_3030
}

/// `v` (below 10^4) as four ASCII digits with leading zeros, most significant in the lowest
/// byte: [`digits8`] without its first split.
#[inline(always)]
pub(crate) fn digits4(v: u32) -> u64 {
    let hundreds = (v * 5_243) >> 19;
    let pairs = u64::from(hundreds | (v - hundreds * 100) << 16);
    let tens = ((pairs * 103) >> 10) & 0x000F_000F;
    (tens | (pairs - tens * 10) << 8) + 0x3030_3030
}

/// The last `n` (1..=8) decimal digits of `v` (below 10^8) as ASCII in the low `n` bytes.
#[inline(always)]
pub(crate) fn ascii_tail(v: u32, n: usize) -> u64 {
    if n <= 4 {
        digits4(v) >> (8 * (4 - n))
    } else {
        digits8(v) >> (8 * (8 - n))
    }
}

/// Writes the low `n` (1..=8) bytes of the ASCII word `w` so that they end at `buf[end]`;
/// returns their byte sum. With eight bytes before `end` (always, past a template's header)
/// this is one load, a merge and one store on the message itself: no byte array on the stack
/// to read back.
#[inline(always)]
fn put_word_tail(buf: &mut [u8], end: usize, w: u64, n: usize) -> u32 {
    let shift = 8 * (8 - n);
    match end.checked_sub(8).and_then(|at| buf.get_mut(at..end)) {
        Some(cell) => {
            let mut word = [0u8; 8];
            word.copy_from_slice(cell);
            let keep = !(u64::MAX << shift);
            let merged = (u64::from_le_bytes(word) & keep) | (w << shift);
            cell.copy_from_slice(&merged.to_le_bytes());
        }
        None => copy_short(&mut buf[end - n..end], &w.to_le_bytes()[..n]),
    }
    word_sum(w)
}

/// Writes the digits of `v` right-aligned into `buf[start..end]` (which holds `'0'`s wherever
/// no digit lands, or is exactly as long as the digits) and returns the byte sum of that range.
/// Sums are counted from the digit values as they are produced, never read back.
#[inline(always)]
fn put_digits(buf: &mut [u8], start: usize, end: usize, mut v: u64) -> u32 {
    let width = end - start;
    let n = uint_digits(v);
    if let (Ok(small), true) = (u32::try_from(v), n <= 8 && n <= width) {
        if small < 100_000_000 {
            return put_word_tail(buf, end, ascii_tail(small, n), n)
                + (width - n) as u32 * u32::from(b'0');
        }
    }
    let dst = &mut buf[start..end];
    let mut sum = width as u32 * u32::from(b'0');
    let mut i = width;
    while i > 0 {
        i -= 1;
        let d = (v % 10) as u8;
        dst[i] = b'0' + d;
        sum += u32::from(d);
        v /= 10;
        if v == 0 {
            break;
        }
    }
    sum
}

/// Writes `value` right-aligned into `buf[start..end]` as `[-]0…0I.F` (no zeros when the range
/// is exactly the text's length; otherwise it was filled with `'0'`), returns the byte sum of
/// the range. The caller checked that the text fits.
#[inline(always)]
fn put_decimal(buf: &mut [u8], start: usize, end: usize, value: Decimal) -> u32 {
    let zero = u32::from(b'0');
    let width = end - start;
    // Common case: a non-negative value of at most 7 digits (prices, quantities): the digits
    // come from one `digits8` word (its leading zeros give the `0.0…` forms) and the point is
    // inserted with shifts.
    let scale = usize::from(value.scale);
    if let Ok(m) = u32::try_from(value.mantissa) {
        let digits = uint_digits(u64::from(m)).max(scale + 1);
        if m < 100_000_000 && digits <= 7 && digits < width + usize::from(scale == 0) {
            let ascii = ascii_tail(m, digits);
            let text = if scale == 0 {
                ascii
            } else {
                let int = 8 * (digits - scale);
                let low = ascii & ((1u64 << int) - 1);
                low | u64::from(b'.') << int | (ascii >> int) << (int + 8)
            };
            let n = digits + usize::from(scale > 0);
            return put_word_tail(buf, end, text, n) + (width - n) as u32 * zero;
        }
    }
    let mut sum = width as u32 * zero;
    let mut m = value.mantissa.unsigned_abs();
    let mut i = end;
    for _ in 0..value.scale {
        i -= 1;
        let d = (m % 10) as u8;
        buf[i] = b'0' + d;
        sum += u32::from(d);
        m /= 10;
    }
    if value.scale > 0 {
        i -= 1;
        buf[i] = b'.';
        sum = sum - zero + u32::from(b'.');
    }
    sum += put_digits(buf, start, i, m) - (i - start) as u32 * zero;
    if value.mantissa < 0 {
        buf[start] = b'-';
        sum = sum - zero + u32::from(b'-');
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
    fn timestamps_patch_only_what_changed_and_stay_exact() {
        let mut t = Template::build(512, header(), b"D", |b| {
            b.slot(60, &[b'0'; MILLIS_LEN], MILLIS_LEN as u16);
        })
        .expect("builds");
        let slot = SlotId(2);
        let at = |t: &Template| {
            let s = text(t);
            let i = s.find("|60=").expect("60 present") + 4;
            s[i..i + MILLIS_LEN].to_string()
        };
        // Same second (ms only), next second, next day, a year later, before 1970, and a
        // foreign value written by `set` in between (the cache must not survive it).
        let base = UtcTimestamp::parse(b"20260407-23:59:58.998").expect("valid");
        let steps: [i64; 9] = [0, 1, 1_001, 2_001, 86_400_000, 366 * 86_400_000, 0, -1, 0];
        for (k, ms) in steps.into_iter().enumerate() {
            let now = if k == 7 {
                UtcTimestamp::from_millis(-1)
            } else if k == 8 {
                UtcTimestamp::from_nanos(0)
            } else {
                UtcTimestamp::from_millis(base.as_millis() + ms)
            };
            if k == 6 {
                t.set(slot, b"20260407-23:59:58.999").expect("fits");
                valid(&t);
            }
            t.set_timestamp(slot, now).expect("fits");
            t.stamp(k as u64 + 1, now).expect("fits");
            valid(&t);
            assert_eq!(at(&t), now.to_string(), "step {k}");
            assert!(text(&t).contains(&format!("|52={now}|")), "step {k}");
        }
        // Sub-millisecond steps inside one second keep the text and the checksum right.
        for ns in [1i64, 999_999, 1_000_000, 999_999_999] {
            let now = UtcTimestamp::from_nanos(base.nanos - base.nanos % 1_000_000_000 + ns);
            t.set_timestamp(slot, now).expect("fits");
            valid(&t);
            assert_eq!(at(&t), now.to_string());
        }
    }

    #[test]
    fn consecutive_numbers_patch_the_last_digit_and_carry_through_nines() {
        let mut exact = Template::build(512, header(), b"D", |_| {}).expect("builds");
        let mut fixed =
            Template::build_with(512, header(), b"D", Layout::FIXED, |_| {}).expect("builds");
        let now = UtcTimestamp::from_millis(1_775_572_325_000);
        let mut runs = vec![(0u64..25).collect::<Vec<_>>(), (95..=112).collect()];
        runs.push(vec![
            998, 999, 1000, 1001, 1000, 999, 9_999_999, 10_000_000, 10_000_001,
        ]);
        runs.push(vec![u64::MAX - 1, u64::MAX, 0, 1]);
        for run in runs {
            for seq in run {
                for t in [&mut exact, &mut fixed] {
                    match t.stamp(seq, now) {
                        Ok(()) => {
                            valid(t);
                            let s = text(t);
                            let field = s.split('|').find(|f| f.starts_with("34=")).expect("34");
                            assert_eq!(field[3..].parse::<u64>().ok(), Some(seq), "{s}");
                        }
                        // Only the padded slot's width may refuse a value (and stays valid).
                        Err(TemplateError::SlotOverflow { .. }) => valid(t),
                        Err(e) => panic!("{seq}: {e:?}"),
                    }
                }
            }
        }
    }

    #[test]
    fn numbers_are_written_in_place_with_the_right_checksum() {
        let (mut px, mut qty) = (SlotId(0), SlotId(0));
        let mut exact = Template::build(512, header(), b"D", |b| {
            px = b.numeric_slot(44, 24);
            qty = b.numeric_slot(38, 24);
        })
        .expect("builds");
        let (mut fpx, mut fqty) = (SlotId(0), SlotId(0));
        let mut fixed = Template::build_with(512, header(), b"D", Layout::FIXED, |b| {
            fpx = b.numeric_slot(44, 16);
            fqty = b.numeric_slot(38, 16);
        })
        .expect("builds");
        let values = [
            "84000.0",
            "84000.1",
            "0.01",
            "0.02",
            "-0.05",
            "-12.5",
            "7",
            "8",
            "0",
            "123456789.12345678",
            "-9223372036854775808",
        ];
        for v in values {
            let d = Decimal::parse(v.as_bytes()).expect("valid");
            for seq in [9u64, 10, 11, 999, 1000] {
                exact
                    .stamp(seq, UtcTimestamp::from_millis(1_775_572_325_000))
                    .expect("fits");
                exact.set_decimal(px, d).expect("fits");
                exact.set_decimal(qty, d).expect("fits");
                valid(&exact);
                let s = text(&exact);
                assert!(s.contains(&format!("|44={v}|38={v}|")), "{s}");
                assert!(s.contains(&format!("|34={seq}|")), "{s}");
            }
            match fixed.set_decimal(fpx, d) {
                Ok(()) => {
                    let s = text(&fixed);
                    let i = s.find("|44=").expect("44") + 4;
                    let padded = &s[i..i + 16];
                    assert_eq!(Decimal::parse(padded.as_bytes()), Ok(d), "{padded}");
                }
                Err(e) => assert!(v.len() > 16, "{v}: {e}"),
            }
            valid(&fixed);
        }
    }

    #[test]
    fn in_place_formatting_matches_decimal_write() {
        let mut buf = [0u8; 48];
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for k in 0..200_000u64 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            let mantissa = match k % 4 {
                0 => (k / 4) as i64,
                1 => (state >> 40) as i64,
                2 => state as i64,
                _ => -((state >> 45) as i64),
            };
            let d = Decimal::new(mantissa, (state % 19) as u8);
            let n = d.write(&mut buf).expect("fits");
            assert_eq!(decimal_text_len(d), n, "{d}");
            for (pad, at) in [(0usize, 0usize), (3, 0), (11, 0), (0, 9), (3, 9)] {
                let mut all = [b'#'; 80];
                all[at..at + n + pad].fill(b'0');
                let sum = put_decimal(&mut all, at, at + n + pad, d);
                assert!(all[..at]
                    .iter()
                    .chain(&all[at + n + pad..])
                    .all(|&b| b == b'#'));
                let dst = &all[at..];
                if mantissa < 0 && pad > 0 {
                    // Padded layout: the sign leads, zeros follow it.
                    assert_eq!(dst[0], b'-');
                    assert_eq!(&dst[pad + 1..n + pad], &buf[1..n], "{d} pad {pad}");
                } else {
                    assert_eq!(&dst[pad..n + pad], &buf[..n], "{d} pad {pad}");
                }
                assert_eq!(
                    Decimal::parse(&dst[..n + pad]).map(|p| (p.mantissa, p.scale)),
                    Ok((mantissa, d.scale))
                );
                assert_eq!(sum, scan_value(&dst[..n + pad]).0, "{d} pad {pad}");
            }
            let v = state >> (k % 64);
            let digits = uint_digits(v);
            let mut all = [b'0'; 40];
            let sum = put_digits(&mut all, 9, 11 + digits, v);
            let dst = &all[9..];
            assert_eq!(
                core::str::from_utf8(&dst[..digits + 2]).ok(),
                Some(&*format!("{v:0w$}", w = digits + 2))
            );
            assert_eq!(sum, scan_value(&dst[..digits + 2]).0);
        }
    }

    #[test]
    fn a_repeated_value_is_kept_and_a_foreign_write_forgets_it() {
        for layout in [Layout::Exact, Layout::FIXED] {
            let mut px = SlotId(0);
            let mut t = Template::build_with(512, header(), b"D", layout, |b| {
                px = b.numeric_slot(44, 12);
            })
            .expect("builds");
            let d = Decimal::new(840_001, 1);
            let value = |t: &Template| {
                let s = text(t);
                let i = s.find("|44=").expect("44") + 4;
                let j = s[i..].find('|').expect("SOH") + i;
                Decimal::parse(&s.as_bytes()[i..j]).expect("decimal")
            };
            for other in [&b"1.5"[..], b"84000.2", b"0000084000.3"] {
                t.set_decimal(px, d).expect("fits");
                t.set_decimal(px, d).expect("same value again");
                assert_eq!(value(&t), d);
                t.set(px, other).expect("fits");
                assert_ne!(value(&t), d);
                t.set_decimal(px, d).expect("fits");
                assert_eq!(value(&t), d, "{layout:?} after {other:?}");
                valid(&t);
            }
            t.set_uint(SlotId::SEQ, 7).expect("fits");
            t.set(SlotId::SEQ, b"8").expect("fits");
            t.set_uint(SlotId::SEQ, 7).expect("fits");
            assert!(text(&t).contains("7|49="), "{}", text(&t));
            valid(&t);
        }
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
