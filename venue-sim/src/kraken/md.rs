//! Market data on the MD sessions (SPEC §4.9–4.14): MarketDataRequest validation and
//! rejects, L2 snapshots (35=W) and incrementals (35=X) with Kraken's book checksum (5041),
//! trades, InstrumentList (35=y) and TradingSessionStatus (35=h).
//!
//! Each subscription keeps the book exactly as its client holds it (the top `depth` levels
//! per side). After every engine call that touched an instrument the venue diffs the engine's
//! book against that shadow and sends the difference in one 35=X — deletes first, so a
//! depth-bounded client book always has room — with the checksum of the shadow's top ten
//! levels. A level that only fell out of the subscribed depth is deleted with its last size
//! (271>0), a level that left the book with 271=0.0 (as SPEC's example M19 writes it).

use tickwire_fix::decimal::Decimal;
use tickwire_fix::message::Message;
use tickwire_fix::outbound::venue::{self as out, EntryTime, MdEntry};
use tickwire_fix::time::UtcTimestamp;

use super::md_l3;
use super::venue::{send_with, Conn, Stats};
use super::{L3Config, Port};
use crate::engine::{Engine, InstrumentId, InstrumentStatus, PublicTrade, Side};

/// MDEntrySize of a delete for a level (or, on L3, an order) that left the book: zero, written
/// `0.0` as Kraken writes MD sizes (SPEC §4.0.3, example M19).
pub(super) const LEFT_THE_BOOK: Decimal = Decimal::new(0, 1);

/// MarketDepth values Kraken accepts on L2 (0 = full, capped at 1000).
const DEPTHS: &[u64] = &[0, 1, 10, 25, 100, 500, 1000];

/// One live subscription of an MD session.
#[derive(Debug)]
pub(crate) struct Subscription {
    req_id: Vec<u8>,
    instrument: InstrumentId,
    depth: usize,
    book: bool,
    trades: bool,
    /// What the client holds, best first.
    bids: Vec<(Decimal, Decimal)>,
    asks: Vec<(Decimal, Decimal)>,
    pp: u8,
    qp: u8,
}

fn md_reject(c: &mut Conn, now: UtcTimestamp, req_id: &[u8], reason: u8, text: &[u8]) {
    send_with(c, now, |e, s| {
        out::md_request_reject(e, s, req_id, reason, Some(text))
    });
}

/// Handles a MarketDataRequest (35=V). On an L3 port a request without AggregatedBook (266)
/// is an L3 request; 266=Y there gets the L2 book as on the L2 ports ([ASSUME]: Kraken does
/// not say).
pub(crate) fn handle_request(
    engine: &Engine,
    c: &mut Conn,
    port: Port,
    l3: &L3Config,
    now: UtcTimestamp,
    m: &Message<'_>,
    stats: &mut Stats,
) {
    let req_id = m.field(262).unwrap_or(b"");
    let srt = m.uint(263).unwrap_or(99);
    if srt == 2 {
        c.subs.retain(|s| s.req_id != req_id);
        c.l3_subs.retain(|s| s.req_id != req_id);
        return;
    }
    stats.md_messages += 1;
    if srt > 1 {
        return md_reject(c, now, req_id, b'4', b"Unsupported SubscriptionRequestType");
    }
    if c.subs.iter().any(|s| s.req_id == req_id) || c.l3_subs.iter().any(|s| s.req_id == req_id) {
        return md_reject(c, now, req_id, b'1', b"Duplicate MDReqID");
    }
    let want_l3 = match m.field(266) {
        Some(b"N") => true,
        None => port.is_l3(),
        Some(_) => false,
    };
    if want_l3 && !port.is_l3() && !l3.on_l2_ports {
        return md_reject(c, now, req_id, b'B', b"Level3 not available on this port");
    }
    let depth = m.uint(264).unwrap_or(u64::MAX);
    let depths: &[u64] = if want_l3 { &l3.depths } else { DEPTHS };
    if !depths.contains(&depth) {
        let text = format!(
            "Unsupported market depth: {}",
            m.field(264)
                .map_or("".into(), |d| String::from_utf8_lossy(d).into_owned())
        );
        return md_reject(c, now, req_id, b'5', text.as_bytes());
    }
    if m.field(265).is_some_and(|t| t != b"1") {
        return md_reject(c, now, req_id, b'6', b"Unsupported MDUpdateType");
    }
    let (mut bid, mut offer, mut trade) = (false, false, false);
    for f in m.iter().filter(|f| f.tag == 269) {
        match f.value {
            b"0" => bid = true,
            b"1" => offer = true,
            b"2" => trade = true,
            _ => return md_reject(c, now, req_id, b'8', b"Unsupported MDEntryType"),
        }
    }
    if want_l3 && trade {
        return md_reject(
            c,
            now,
            req_id,
            b'C',
            b"Trades not available on Level3 request",
        );
    }
    if bid != offer || !(bid || trade) {
        return md_reject(
            c,
            now,
            req_id,
            b'8',
            b"Bid and offer must be requested together",
        );
    }
    let mut ids: Vec<InstrumentId> = Vec::new();
    for f in m.iter().filter(|f| f.tag == 55) {
        match engine
            .instrument_id(f.value)
            .filter(|&id| engine.status(id) != Some(InstrumentStatus::Hidden))
        {
            Some(id) => ids.push(id),
            None => {
                let text = format!("Unknown symbol: {}", String::from_utf8_lossy(f.value));
                return md_reject(c, now, req_id, b'0', text.as_bytes());
            }
        }
    }
    if ids.is_empty() {
        return md_reject(c, now, req_id, b'0', b"Unknown symbol: ");
    }
    stats.md_messages -= 1;
    if want_l3 {
        let levels = md_l3::levels(depth);
        for id in ids {
            md_l3::subscribe(
                engine,
                c,
                now,
                req_id,
                id,
                levels,
                srt == 1,
                l3.checksum,
                stats,
            );
        }
        return;
    }
    let depth = if depth == 0 { 1000 } else { depth as usize };
    for id in ids {
        let Some(spec) = engine.instrument(id) else {
            continue;
        };
        let mut sub = Subscription {
            req_id: req_id.to_vec(),
            instrument: id,
            depth,
            book: bid,
            trades: trade,
            bids: Vec::new(),
            asks: Vec::new(),
            pp: spec.price_precision,
            qp: spec.qty_precision,
        };
        if bid {
            sub.bids.extend(engine.depth(id, Side::Buy).take(depth));
            sub.asks.extend(engine.depth(id, Side::Sell).take(depth));
        }
        let mut ids_buf: Vec<[u8; 40]> = Vec::with_capacity(sub.asks.len() + sub.bids.len());
        let mut lens: Vec<usize> = Vec::with_capacity(ids_buf.capacity());
        for &(px, _) in &sub.asks {
            push_id(&mut ids_buf, &mut lens, b'O', px);
        }
        for &(px, _) in &sub.bids {
            push_id(&mut ids_buf, &mut lens, b'B', px);
        }
        let mut entries = Vec::with_capacity(lens.len());
        for (k, &(px, size)) in sub.asks.iter().chain(sub.bids.iter()).enumerate() {
            entries.push(MdEntry {
                action: None,
                entry_type: if k < sub.asks.len() { b'1' } else { b'0' },
                id: &ids_buf[k][..lens[k]],
                px,
                size,
                time: EntryTime::TimeOnly(now),
                taker_ord_type: None,
                aggressor: None,
            });
        }
        if send_with(c, now, |e, s| {
            out::md_snapshot(e, s, req_id, spec.symbol.as_bytes(), &entries)
        }) {
            stats.md_messages += 1;
        }
        if srt == 1 {
            c.subs.push(sub);
        }
    }
}

fn push_id(ids: &mut Vec<[u8; 40]>, lens: &mut Vec<usize>, prefix: u8, px: Decimal) {
    let (b, n) = entry_id(prefix, px);
    ids.push(b);
    lens.push(n);
}

#[derive(Debug, Clone, Copy)]
struct Change {
    action: u8,
    side: Side,
    px: Decimal,
    size: Decimal,
}

/// Diffs one side: `old` becomes `new` (both best first).
fn diff(
    side: Side,
    old: &[(Decimal, Decimal)],
    new: &[(Decimal, Decimal)],
    depth: usize,
    out: &mut Vec<Change>,
    deletes: &mut Vec<Change>,
) {
    let better = |a: Decimal, b: Decimal| match side {
        Side::Buy => a > b,
        Side::Sell => a < b,
    };
    let full = new.len() >= depth;
    let worst_new = new.last().map(|l| l.0);
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < new.len() {
        match (old.get(i), new.get(j)) {
            (Some(o), Some(n)) if o.0 == n.0 => {
                if o.1 != n.1 {
                    out.push(Change {
                        action: b'1',
                        side,
                        px: n.0,
                        size: n.1,
                    });
                }
                i += 1;
                j += 1;
            }
            (Some(o), Some(n)) if better(o.0, n.0) => {
                deletes.push(Change {
                    action: b'2',
                    side,
                    px: o.0,
                    size: LEFT_THE_BOOK,
                });
                i += 1;
            }
            (Some(_), Some(n)) => {
                out.push(Change {
                    action: b'0',
                    side,
                    px: n.0,
                    size: n.1,
                });
                j += 1;
            }
            (Some(o), None) => {
                // Beyond the new worst level of a full view: it may only have left the depth.
                let out_of_scope = full && worst_new.is_some_and(|w| better(w, o.0));
                let size = if out_of_scope { o.1 } else { LEFT_THE_BOOK };
                deletes.push(Change {
                    action: b'2',
                    side,
                    px: o.0,
                    size,
                });
                i += 1;
            }
            (None, Some(n)) => {
                out.push(Change {
                    action: b'0',
                    side,
                    px: n.0,
                    size: n.1,
                });
                j += 1;
            }
            (None, None) => break,
        }
    }
}

/// Kraken's checksum over the top ten levels the client holds (SPEC §4.11).
fn checksum(sub: &Subscription) -> u32 {
    let mut h = crc32fast::Hasher::new();
    for &(px, size) in sub.asks.iter().take(10).chain(sub.bids.iter().take(10)) {
        checksum_digits(&mut h, px, sub.pp);
        checksum_digits(&mut h, size, sub.qp);
    }
    h.finalize()
}

/// Appends the digits of `d` at `scale` decimals without leading zeros to a checksum (Kraken's
/// rule for L2 and L3 alike: remove the point, strip leading zeros).
pub(super) fn checksum_digits(h: &mut crc32fast::Hasher, d: Decimal, scale: u8) {
    let mut buf = [0u8; 20];
    let n = write_u64(&mut buf, d.to_scaled(scale).unwrap_or(0).unsigned_abs());
    h.update(&buf[..n]);
}

/// One side's diff: `old` (what the client holds) becomes `new` (the engine's view), both best
/// first, within `depth` levels; new and changed entries go to the first vector, deletes to
/// the second.
pub(super) type SideDiff<T, C> = fn(Side, &[T], &[T], usize, &mut Vec<C>, &mut Vec<C>);

/// The buffers, reused across calls, that bring a subscription's book (levels on L2, orders on
/// L3) to the engine's view: the view of one side, and the differences found.
#[derive(Debug)]
pub(super) struct Resync<T, C> {
    fresh: Vec<T>,
    changes: Vec<C>,
    deletes: Vec<C>,
}

impl<T, C> Default for Resync<T, C> {
    fn default() -> Self {
        Resync {
            fresh: Vec::new(),
            changes: Vec::new(),
            deletes: Vec::new(),
        }
    }
}

impl<T: Copy, C> Resync<T, C> {
    /// Diffs both sides the client holds against `current(side)` and makes them that view.
    /// False when nothing changed.
    pub(super) fn run<I: Iterator<Item = T>>(
        &mut self,
        asks: &mut Vec<T>,
        bids: &mut Vec<T>,
        depth: usize,
        mut current: impl FnMut(Side) -> I,
        diff: SideDiff<T, C>,
    ) -> bool {
        self.changes.clear();
        self.deletes.clear();
        for (side, held) in [(Side::Sell, asks), (Side::Buy, bids)] {
            self.fresh.clear();
            self.fresh.extend(current(side));
            diff(
                side,
                held,
                &self.fresh,
                depth,
                &mut self.changes,
                &mut self.deletes,
            );
            held.clear();
            held.extend_from_slice(&self.fresh);
        }
        !(self.changes.is_empty() && self.deletes.is_empty())
    }

    /// The differences of the last [`Resync::run`] in the order they are sent: deletes first,
    /// so a depth-bounded client book always has room.
    pub(super) fn entries(&self) -> impl Iterator<Item = &C> {
        self.deletes.iter().chain(self.changes.iter())
    }
}

/// Empties `v` and hands its storage back for elements of the same layout — the message entry
/// vectors, whose borrows end with each message, kept between calls as `'static`. Std collects
/// an adapter of a vector's own iterator in place, so nothing is allocated or freed.
pub(super) fn reuse_storage<A, B>(mut v: Vec<A>) -> Vec<B> {
    v.clear();
    v.into_iter().filter_map(|_| None).collect()
}

/// Buffers [`publish`] reuses across calls instead of allocating per message.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    book: Resync<(Decimal, Decimal), Change>,
    ids: Vec<([u8; 40], usize)>,
    entries: Vec<MdEntry<'static>>,
}

/// Decimal digits of `v` into `buf`; returns the length.
fn write_u64(buf: &mut [u8; 20], mut v: u64) -> usize {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let n = tmp.len() - i;
    buf[..n].copy_from_slice(&tmp[i..]);
    n
}

fn entry_id(prefix: u8, px: Decimal) -> ([u8; 40], usize) {
    let mut b = [0u8; 40];
    b[0] = prefix;
    let n = px.write(&mut b[1..]).unwrap_or(0);
    (b, n + 1)
}

/// Sends what the engine's last calls changed to every subscription of `c`. False if the
/// session could not take it (transmit queue full).
#[allow(clippy::too_many_arguments)]
pub(crate) fn publish(
    engine: &Engine,
    c: &mut Conn,
    touched: &[(usize, InstrumentId)],
    trades: &[(usize, PublicTrade)],
    now: UtcTimestamp,
    stats: &mut Stats,
    scratch: &mut Scratch,
) -> bool {
    let mut subs = std::mem::take(&mut c.subs);
    let mut ok = true;
    for sub in &mut subs {
        let Some(spec) = engine.instrument(sub.instrument) else {
            continue;
        };
        let symbol = spec.symbol.as_bytes();
        if sub.trades {
            for (_, t) in trades
                .iter()
                .filter(|(_, t)| t.instrument == sub.instrument)
            {
                let mut id = [0u8; 20];
                let n = write_u64(&mut id, t.trade_seq);
                let entry = MdEntry {
                    action: Some(b'0'),
                    entry_type: b'2',
                    id: &id[..n],
                    px: t.price,
                    size: t.qty,
                    time: EntryTime::TimeOnly(t.time),
                    taker_ord_type: Some(t.taker_ord_type),
                    aggressor: Some(t.aggressor),
                };
                ok &= send_with(c, now, |e, s| {
                    out::md_incremental(e, s, &sub.req_id, symbol, &[entry], None)
                });
                stats.md_messages += 1;
            }
        }
        if !sub.book || !touched.iter().any(|&(_, id)| id == sub.instrument) {
            continue;
        }
        let (instrument, depth) = (sub.instrument, sub.depth);
        let current = |side| engine.depth(instrument, side).take(depth);
        if !scratch
            .book
            .run(&mut sub.asks, &mut sub.bids, depth, current, diff)
        {
            continue;
        }
        scratch.ids.clear();
        for ch in scratch.book.entries() {
            let p = if ch.side == Side::Buy { b'B' } else { b'O' };
            scratch.ids.push(entry_id(p, ch.px));
        }
        // The entries borrow `ids`; the vector's storage is kept between calls.
        let mut entries: Vec<MdEntry<'_>> = std::mem::take(&mut scratch.entries);
        entries.extend(
            scratch
                .book
                .entries()
                .zip(scratch.ids.iter())
                .map(|(ch, (id, len))| MdEntry {
                    action: Some(ch.action),
                    entry_type: if ch.side == Side::Buy { b'0' } else { b'1' },
                    id: &id[..*len],
                    px: ch.px,
                    size: ch.size,
                    time: EntryTime::TimeOnly(now),
                    taker_ord_type: None,
                    aggressor: None,
                }),
        );
        let sum = checksum(sub);
        ok &= send_with(c, now, |e, s| {
            out::md_incremental(e, s, &sub.req_id, symbol, &entries, Some(sum))
        });
        stats.md_messages += 1;
        scratch.entries = reuse_storage(entries);
    }
    c.subs = subs;
    ok
}

/// Handles an InstrumentListRequest (35=x).
pub(crate) fn handle_instrument_list(
    engine: &Engine,
    c: &mut Conn,
    now: UtcTimestamp,
    m: &Message<'_>,
) {
    let req_id = m.field(320).unwrap_or(b"");
    let security_type: &[u8] = match engine.config().venue {
        crate::engine::Venue::Spot => b"CASH",
        crate::engine::Venue::Derivatives => b"FUT",
    };
    let visible = |id: InstrumentId| engine.status(id) != Some(InstrumentStatus::Hidden);
    let mut ids: Vec<InstrumentId> = Vec::new();
    let result = match m.uint(559) {
        Ok(0) => {
            ids.extend(
                m.field(55)
                    .and_then(|s| engine.instrument_id(s))
                    .filter(|&id| visible(id)),
            );
            if ids.is_empty() {
                2
            } else {
                0
            }
        }
        Ok(1) => {
            if m.field(167) == Some(security_type) {
                ids.extend(
                    engine
                        .instruments()
                        .map(|(id, _)| id)
                        .filter(|&id| visible(id)),
                );
                0
            } else {
                2
            }
        }
        Ok(4) => {
            ids.extend(
                engine
                    .instruments()
                    .map(|(id, _)| id)
                    .filter(|&id| visible(id)),
            );
            0
        }
        _ => 1,
    };
    let list: Vec<out::Instrument<'_>> = ids
        .iter()
        .filter_map(|&id| {
            let s = engine.instrument(id)?;
            Some(out::Instrument {
                symbol: s.symbol.as_bytes(),
                min_trade_vol: s.lot_step,
                qty_precision: s.qty_precision,
                qty_min: s.min_qty,
                qty_max: s.max_qty,
                min_cost: s.min_cost,
                price_precision: s.price_precision,
                md_price_precision: Some(s.price_precision),
                tick_size: s.tick_size,
                status: engine.status(id).unwrap_or_default().code(),
            })
        })
        .collect();
    let response_id = now.nanos.to_string();
    send_with(c, now, |e, s| {
        out::instrument_list(e, s, req_id, response_id.as_bytes(), result, &list)
    });
}

/// Handles a TradingSessionStatusRequest (35=g): `340=2` online on Spot; Derivatives answer
/// 567=1 (SPEC §8 item 6).
pub(crate) fn handle_session_status(port: Port, c: &mut Conn, now: UtcTimestamp, m: &Message<'_>) {
    let req_id = m.field(335).unwrap_or(b"");
    let session = m.field(336).unwrap_or(b"");
    let (status, reason) = match port.venue() {
        crate::engine::Venue::Spot => (2, None),
        crate::engine::Venue::Derivatives => (0, Some(1)),
    };
    send_with(c, now, |e, s| {
        out::trading_session_status(e, s, req_id, session, status, reason)
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::parse(s.as_bytes()).expect("decimal")
    }

    #[test]
    fn checksum_matches_kraken_example() {
        let asks = [
            ("28013.0", "0.00096506"),
            ("28039.8", "0.001"),
            ("28066.5", "0.001"),
            ("28093.3", "0.001"),
            ("28120.0", "0.001"),
            ("28146.7", "0.001"),
            ("28173.5", "0.001"),
            ("28200.2", "0.001"),
            ("28227.0", "0.001"),
            ("28253.7", "0.001"),
        ];
        let bids = [
            ("28003.0", "0.001"),
            ("27999.9", "0.00096375"),
            ("27969.9", "0.73860423"),
            ("27700.1", "0.0035"),
            ("27573.2", "0.0032"),
            ("27137.4", "0.01"),
            ("27091.3", "0.004"),
            ("26729.4", "0.001"),
            ("26702.6", "0.001"),
            ("26675.9", "0.001"),
        ];
        let sub = Subscription {
            req_id: Vec::new(),
            instrument: InstrumentId(0),
            depth: 10,
            book: true,
            trades: false,
            asks: asks.iter().map(|(p, q)| (d(p), d(q))).collect(),
            bids: bids.iter().map(|(p, q)| (d(p), d(q))).collect(),
            pp: 1,
            qp: 8,
        };
        assert_eq!(checksum(&sub), 3_341_325_816);
    }

    #[test]
    fn entry_vectors_keep_their_storage() {
        let id = b"O1".to_vec();
        let mut v: Vec<MdEntry<'_>> = Vec::with_capacity(16);
        v.push(MdEntry {
            action: Some(b'0'),
            entry_type: b'1',
            id: &id,
            px: d("1.0"),
            size: d("1"),
            time: EntryTime::TimeOnly(UtcTimestamp::from_nanos(0)),
            taker_ord_type: None,
            aggressor: None,
        });
        let at = v.as_ptr() as usize;
        let w: Vec<MdEntry<'static>> = reuse_storage(v);
        assert!(w.is_empty());
        assert_eq!((w.capacity(), w.as_ptr() as usize), (16, at));
    }

    #[test]
    fn diff_deletes_first_and_marks_out_of_scope() {
        let old = [(d("10.0"), d("1")), (d("9.0"), d("2"))];
        let new = [(d("9.5"), d("3")), (d("9.0"), d("2"))];
        let (mut ch, mut del) = (Vec::new(), Vec::new());
        diff(Side::Buy, &old, &new, 2, &mut ch, &mut del);
        assert_eq!(del.len(), 1);
        assert_eq!((del[0].px, del[0].size), (d("10.0"), LEFT_THE_BOOK));
        assert_eq!(ch.len(), 1);
        assert_eq!((ch[0].action, ch[0].px), (b'0', d("9.5")));
        // 9.0 pushed beyond depth 2 by two better levels: deleted with its size.
        let new2 = [(d("10.0"), d("1")), (d("9.5"), d("3"))];
        let (mut ch, mut del) = (Vec::new(), Vec::new());
        diff(Side::Buy, &old, &new2, 2, &mut ch, &mut del);
        assert_eq!(del.len(), 1);
        assert_eq!((del[0].px, del[0].size), (d("9.0"), d("2")));
    }
}
