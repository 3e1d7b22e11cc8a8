//! The inbound codec under its first name: everything lives in [`crate::parse`].
//!
//! Kept so that callers written against `tickwire_fix::message` keep compiling; new code uses
//! [`crate::parse`] directly. The one difference is [`frame`], which here takes
//! [`FrameLimits`] and accepts any BeginString (the session compares it itself, because a wrong
//! BeginString must be answered with a Logout, not dropped as garbled).

pub use crate::parse::{
    parse_int, parse_uint, resync, Entry, Field, FieldIndex, FieldRef, Fields, FrameConfig,
    FrameError, Group, LayoutId, Message, ParseError, INVALID_TAG, SOH,
};

/// Framing limits for [`frame`].
#[derive(Debug, Clone, Copy)]
pub struct FrameLimits {
    /// Largest accepted message, header and trailer included.
    pub max_message_len: usize,
}

impl Default for FrameLimits {
    fn default() -> Self {
        FrameLimits {
            max_message_len: crate::parse::DEFAULT_MAX_MESSAGE_LEN,
        }
    }
}

/// [`crate::parse::frame_with`] with any BeginString and `limits.max_message_len`.
///
/// # Errors
/// [`FrameError`] when the start of the stream is not a well-framed message.
#[inline]
pub fn frame(stream: &[u8], limits: FrameLimits) -> Result<Option<usize>, FrameError> {
    crate::parse::frame_with(
        stream,
        &FrameConfig::any_begin_string(limits.max_message_len),
    )
}

/// [`frame`] without the CheckSum's value ([`crate::parse::frame_boundary`]): where a message
/// ends, for bytes whose CheckSum is checked elsewhere.
///
/// # Errors
/// [`FrameError`] when the start of the stream is not a well-framed message (never
/// [`FrameError::BadChecksum`]).
#[inline]
pub fn frame_boundary(stream: &[u8], limits: FrameLimits) -> Result<Option<usize>, FrameError> {
    crate::parse::frame_boundary(
        stream,
        &FrameConfig::any_begin_string(limits.max_message_len),
    )
}
