//! Level 3 (order-by-order) market data a Kraken-like venue sends on its L3 ports (4004
//! Derivatives, 4005 Spot; SPEC §1.2, §4.10, §4.11): 35=W and 35=X whose entries are single
//! resting orders — MDEntryID (278) is the order id — with MDEntryTime (273) as a full
//! `YYYYMMDD-HH:MM:SS.ssssss` timestamp (SPEC §8 item 27), MDEntryTimestamp (5060, the event
//! time) and MDEntryTimeQueue (5273, the queue-entry time) in ISO-8601 UTC with nanoseconds
//! (`2026-02-03T10:24:34.650069468Z`, SPEC §4.0.3).
//!
//! Same one-pass encoding into a caller-owned buffer as [`super::venue`]; no allocation.

use super::venue::{begin, char_field, Stamp};
use crate::decimal::Decimal;
use crate::encode::{EncodeError, Encoder};
use crate::time::{UtcTimestamp, MILLIS_LEN};

/// Length of [`write_micros`]'s text: `YYYYMMDD-HH:MM:SS.ssssss`.
pub const MICROS_LEN: usize = 24;
/// Length of [`write_iso_nanos`]'s text: `YYYY-MM-DDTHH:MM:SS.sssssssssZ`.
pub const ISO_NANOS_LEN: usize = 30;

/// Writes `YYYYMMDD-HH:MM:SS.ssssss` (L3 MDEntryTime).
pub fn write_micros(t: UtcTimestamp, out: &mut [u8; MICROS_LEN]) {
    let mut ms = [0u8; MILLIS_LEN];
    t.write_millis(&mut ms);
    out[..MILLIS_LEN].copy_from_slice(&ms);
    let micros = (t.nanos.rem_euclid(1_000_000) / 1_000) as u32;
    put(&mut out[MILLIS_LEN..], micros);
}

/// Writes `YYYY-MM-DDTHH:MM:SS.sssssssssZ` (5060 / 5273).
pub fn write_iso_nanos(t: UtcTimestamp, out: &mut [u8; ISO_NANOS_LEN]) {
    let mut ms = [0u8; MILLIS_LEN];
    t.write_millis(&mut ms);
    out[0..4].copy_from_slice(&ms[0..4]);
    out[4] = b'-';
    out[5..7].copy_from_slice(&ms[4..6]);
    out[7] = b'-';
    out[8..10].copy_from_slice(&ms[6..8]);
    out[10] = b'T';
    out[11..19].copy_from_slice(&ms[9..17]);
    out[19] = b'.';
    put(&mut out[20..29], t.nanos.rem_euclid(1_000_000_000) as u32);
    out[29] = b'Z';
}

fn put(out: &mut [u8], mut v: u32) {
    for b in out.iter_mut().rev() {
        *b = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

/// One L3 entry: a resting order (or its deletion).
#[derive(Debug, Clone, Copy)]
pub struct L3Entry<'a> {
    /// MDUpdateAction (279), incrementals only (snapshots never write it): `0` new, `1`
    /// change, `2` delete.
    pub action: Option<u8>,
    /// MDEntryType (269): `0` bid, `1` offer.
    pub entry_type: u8,
    /// MDEntryID (278): the order id.
    pub order_id: &'a [u8],
    /// MDEntryPx (270).
    pub px: Decimal,
    /// MDEntrySize (271): visible quantity; on a delete 0 (left the book) or the last size
    /// (only left the subscribed depth).
    pub size: Decimal,
    /// MDEntryTime (273).
    pub time: UtcTimestamp,
    /// MDEntryTimestamp (5060): when the order last changed.
    pub event_time: UtcTimestamp,
    /// MDEntryTimeQueue (5273): when the order took its queue position.
    pub queue_time: UtcTimestamp,
}

fn entries(enc: &mut Encoder<'_>, list: &[L3Entry<'_>], incremental: bool) {
    enc.uint(268, list.len() as u64);
    for e in list {
        if let (true, Some(a)) = (incremental, e.action) {
            char_field(enc, 279, a);
        }
        let mut t = [0u8; MICROS_LEN];
        write_micros(e.time, &mut t);
        let (mut ev, mut q) = ([0u8; ISO_NANOS_LEN], [0u8; ISO_NANOS_LEN]);
        write_iso_nanos(e.event_time, &mut ev);
        write_iso_nanos(e.queue_time, &mut q);
        char_field(enc, 269, e.entry_type)
            .field(278, e.order_id)
            .decimal(270, e.px)
            .decimal(271, e.size)
            .field(273, &t)
            .field(5060, &ev)
            .field(5273, &q);
    }
}

/// L3 MarketDataSnapshotFullRefresh (35=W): `55 262 268 (269 278 270 271 273 5060 5273)*`,
/// offers first (best first), then bids; within a price, queue order.
///
/// # Errors
/// [`EncodeError`] if `enc`'s buffer is too small or a value contains SOH.
pub fn md_snapshot_l3(
    enc: &mut Encoder<'_>,
    s: &Stamp<'_>,
    md_req_id: &[u8],
    symbol: &[u8],
    list: &[L3Entry<'_>],
) -> Result<usize, EncodeError> {
    begin(enc, s, b"W").field(55, symbol).field(262, md_req_id);
    entries(enc, list, false);
    enc.finish()
}

/// L3 MarketDataIncrementalRefresh (35=X): `55 262 268 (279 269 278 270 271 273 5060 5273)*
/// [5041]`; `book_checksum` is the L3 CRC32 (per order, top ten levels).
///
/// # Errors
/// As [`md_snapshot_l3`].
pub fn md_incremental_l3(
    enc: &mut Encoder<'_>,
    s: &Stamp<'_>,
    md_req_id: &[u8],
    symbol: &[u8],
    list: &[L3Entry<'_>],
    book_checksum: Option<u32>,
) -> Result<usize, EncodeError> {
    begin(enc, s, b"X").field(55, symbol).field(262, md_req_id);
    entries(enc, list, true);
    if let Some(c) = book_checksum {
        enc.uint(5041, u64::from(c));
    }
    enc.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{FieldIndex, Message};

    fn t() -> UtcTimestamp {
        // 2026-02-03T10:24:34.650069468Z, SPEC §4.0.3's example.
        UtcTimestamp::from_civil(2026, 2, 3, 10, 24, 34, 650_069_468).expect("civil")
    }

    #[test]
    fn time_formats_match_spec() {
        let mut iso = [0u8; ISO_NANOS_LEN];
        write_iso_nanos(t(), &mut iso);
        assert_eq!(&iso, b"2026-02-03T10:24:34.650069468Z");
        let mut us = [0u8; MICROS_LEN];
        write_micros(t(), &mut us);
        assert_eq!(&us, b"20260203-10:24:34.650069");
        write_iso_nanos(UtcTimestamp::from_nanos(0), &mut iso);
        assert_eq!(&iso, b"1970-01-01T00:00:00.000000000Z");
    }

    #[test]
    fn incremental_carries_order_entries_and_checksum() {
        let stamp = Stamp {
            sender: b"KRAKEN-MD",
            target: b"TESTCLIENT",
            seq: 7,
            sending_time: t(),
        };
        let list = [
            L3Entry {
                action: Some(b'2'),
                entry_type: b'0',
                order_id: b"OQNCZM-NVAVC-AVD2LO",
                px: Decimal::new(840_000, 1),
                size: Decimal::ZERO,
                time: t(),
                event_time: t(),
                queue_time: UtcTimestamp::from_nanos(t().nanos - 5),
            },
            L3Entry {
                action: Some(b'0'),
                entry_type: b'1',
                order_id: b"OAAAAA-BBBBB-CCCCCC",
                px: Decimal::new(840_010, 1),
                size: Decimal::new(15, 1),
                time: t(),
                event_time: t(),
                queue_time: t(),
            },
        ];
        let mut buf = [0u8; 1024];
        let n = md_incremental_l3(
            &mut Encoder::new(&mut buf),
            &stamp,
            b"R1",
            b"BTC/USD",
            &list,
            Some(42),
        )
        .expect("encode");
        let mut idx = FieldIndex::<64>::new();
        let m = Message::parse(&buf[..n], &mut idx).expect("valid FIX");
        assert_eq!(m.msg_type(), b"X");
        let tags: Vec<u32> = m.iter().map(|f| f.tag).skip_while(|&t| t != 268).collect();
        assert_eq!(
            tags,
            [
                268, 279, 269, 278, 270, 271, 273, 5060, 5273, 279, 269, 278, 270, 271, 273, 5060,
                5273, 5041, 10
            ]
        );
        let q: Vec<&[u8]> = m
            .iter()
            .filter(|f| f.tag == 5273)
            .map(|f| f.value)
            .collect();
        assert_eq!(q[0], b"2026-02-03T10:24:34.650069463Z");
        assert_eq!(m.field(278), Some(&b"OQNCZM-NVAVC-AVD2LO"[..]));
        assert_eq!(m.field(5041), Some(&b"42"[..]));
        let n = md_snapshot_l3(
            &mut Encoder::new(&mut buf),
            &stamp,
            b"R1",
            b"BTC/USD",
            &list[1..],
        )
        .expect("encode");
        let m = Message::parse(&buf[..n], &mut idx).expect("valid FIX");
        assert_eq!(m.msg_type(), b"W");
        assert_eq!(m.field(279), None, "no MDUpdateAction on snapshots");
        assert_eq!(m.field(273), Some(&b"20260203-10:24:34.650069"[..]));
    }
}
