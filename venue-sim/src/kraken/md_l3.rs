//! Level 3 market data on the L3 ports (4004 Derivatives, 4005 Spot; SPEC §1.2, §4.9–4.11,
//! §8 items 5, 26, 27): one entry per resting order, MDEntryID (278) = its OrderID, with
//! MDEntryTimestamp (5060) and MDEntryTimeQueue (5273).
//!
//! Each L3 subscription keeps the orders its client holds: every resting order of the top
//! `depth` price levels per side, best level first and in queue order within a level (what
//! [`Engine::resting_orders`] yields). After every engine call that touched the instrument the
//! venue walks that shadow and the engine's view together — both sorted by (price, priority),
//! and an order's priority changes whenever it goes to the back of a queue — and sends the
//! difference in one 35=X, deletes first:
//!
//! - an order only in the engine's view: `279=0` (new: placed, triggered, re-queued, or pulled
//!   into the depth as a better level emptied);
//! - in both with another visible size: `279=1` (a partial fill or a size decrease in place);
//! - only in the shadow: `279=2` with `271=0` (filled, cancelled, expired, or re-queued by an
//!   amend: then the same OrderID comes back as a new entry in the same message) or with its
//!   last size when the order only left the subscribed depth (SPEC §4.11).
//!
//! 5041 is the CRC32 of every held order of the top ten levels in queue order — asks
//! ascending, then bids descending, each as price digits ‖ size digits at the instrument's
//! precisions (the WS v2 level3 rule, SPEC §8 item 26). FIX has no per-book sequence number:
//! gaps show as MsgSeqNum gaps (SPEC §4.11 "Sequencing").

use std::cmp::Ordering;

use tickwire_fix::decimal::Decimal;
use tickwire_fix::outbound::venue_l3::{self as out, L3Entry};
use tickwire_fix::time::UtcTimestamp;

use super::md::{checksum_digits, reuse_storage, Resync, LEFT_THE_BOOK};
use super::venue::{send_with, Conn, Stats};
use crate::engine::{Engine, InstrumentId, RestingOrder, Side};

/// Depth when the request says 0 (full book).
const FULL_DEPTH: usize = 1000;

/// One live L3 subscription of an MD session.
#[derive(Debug)]
pub(crate) struct L3Subscription {
    pub(crate) req_id: Vec<u8>,
    instrument: InstrumentId,
    /// Price levels per side.
    depth: usize,
    checksum: bool,
    asks: Vec<RestingOrder>,
    bids: Vec<RestingOrder>,
    pp: u8,
    qp: u8,
}

/// The MarketDepth (264) value as price levels.
pub(crate) fn levels(depth: u64) -> usize {
    if depth == 0 {
        FULL_DEPTH
    } else {
        usize::try_from(depth).unwrap_or(FULL_DEPTH).min(FULL_DEPTH)
    }
}

fn entry_type(side: Side) -> u8 {
    match side {
        Side::Buy => b'0',
        Side::Sell => b'1',
    }
}

/// Subscribes (263=1) or sends one snapshot (263=0) of `id`; the request was validated.
#[allow(clippy::too_many_arguments)]
pub(crate) fn subscribe(
    engine: &Engine,
    c: &mut Conn,
    now: UtcTimestamp,
    req_id: &[u8],
    id: InstrumentId,
    depth: usize,
    keep: bool,
    checksum: bool,
    stats: &mut Stats,
) {
    let Some(spec) = engine.instrument(id) else {
        return;
    };
    let sub = L3Subscription {
        req_id: req_id.to_vec(),
        instrument: id,
        depth,
        checksum,
        asks: engine.resting_orders(id, Side::Sell, depth).collect(),
        bids: engine.resting_orders(id, Side::Buy, depth).collect(),
        pp: spec.price_precision,
        qp: spec.qty_precision,
    };
    let entries: Vec<L3Entry<'_>> = sub
        .asks
        .iter()
        .chain(sub.bids.iter())
        .map(|o| L3Entry {
            action: None,
            entry_type: entry_type(o.side),
            order_id: o.order_id.as_bytes(),
            px: o.price,
            size: o.qty,
            time: o.updated,
            event_time: o.updated,
            queue_time: o.queued,
        })
        .collect();
    let sent = send_with(c, now, |e, s| {
        out::md_snapshot_l3(e, s, req_id, spec.symbol.as_bytes(), &entries)
    });
    if sent {
        stats.md_messages += 1;
    }
    // Incrementals without the snapshot they apply to would be useless: a snapshot that did not
    // fit the session's transmit queue leaves no subscription behind.
    if keep && sent {
        c.l3_subs.push(sub);
    }
}

/// What one 35=X entry says about one order.
#[derive(Debug, Clone, Copy)]
struct Change {
    action: u8,
    order: RestingOrder,
    size: Decimal,
}

impl Change {
    /// A new (`0`) or changed (`1`) entry: the order with its visible size.
    fn shown(action: u8, order: &RestingOrder) -> Change {
        Change {
            action,
            order: *order,
            size: order.qty,
        }
    }
}

/// Book order on one side: better price first, then earlier priority.
fn book_order(side: Side, a: &RestingOrder, b: &RestingOrder) -> Ordering {
    if a.price != b.price {
        let a_better = match side {
            Side::Buy => a.price > b.price,
            Side::Sell => a.price < b.price,
        };
        return if a_better {
            Ordering::Less
        } else {
            Ordering::Greater
        };
    }
    a.priority.cmp(&b.priority)
}

/// Distinct prices in a best-first order list.
fn level_count(orders: &[RestingOrder]) -> usize {
    let mut n = 0;
    let mut last = None;
    for o in orders {
        if last != Some(o.price) {
            n += 1;
            last = Some(o.price);
        }
    }
    n
}

/// Diffs one side: `old` becomes `new` (both in book order).
fn diff(
    side: Side,
    old: &[RestingOrder],
    new: &[RestingOrder],
    depth: usize,
    changes: &mut Vec<Change>,
    deletes: &mut Vec<Change>,
) {
    let full = level_count(new) >= depth;
    let worst_new = new.last().map(|o| o.price);
    let worse = |a: Decimal, b: Decimal| match side {
        Side::Buy => a < b,
        Side::Sell => a > b,
    };
    let mut delete = |o: &RestingOrder| {
        // Beyond the new worst level of a full view: the order only left the depth.
        let out_of_scope = full && worst_new.is_some_and(|w| worse(o.price, w));
        deletes.push(Change {
            action: b'2',
            order: *o,
            size: if out_of_scope { o.qty } else { LEFT_THE_BOOK },
        });
    };
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < new.len() {
        match (old.get(i), new.get(j)) {
            (Some(o), Some(n)) => match book_order(side, o, n) {
                Ordering::Equal if o.order_id == n.order_id => {
                    if o.qty != n.qty {
                        changes.push(Change::shown(b'1', n));
                    }
                    i += 1;
                    j += 1;
                }
                Ordering::Equal => {
                    delete(o);
                    changes.push(Change::shown(b'0', n));
                    i += 1;
                    j += 1;
                }
                Ordering::Less => {
                    delete(o);
                    i += 1;
                }
                Ordering::Greater => {
                    changes.push(Change::shown(b'0', n));
                    j += 1;
                }
            },
            (Some(o), None) => {
                delete(o);
                i += 1;
            }
            (None, Some(n)) => {
                changes.push(Change::shown(b'0', n));
                j += 1;
            }
            (None, None) => break,
        }
    }
}

/// The L3 checksum of what the client holds: every order of the top ten price levels, asks
/// ascending then bids descending, in queue order within a level.
fn checksum(asks: &[RestingOrder], bids: &[RestingOrder], pp: u8, qp: u8) -> u32 {
    let mut h = crc32fast::Hasher::new();
    for side in [asks, bids] {
        let mut levels = 0;
        let mut last = None;
        for o in side {
            if last != Some(o.price) {
                levels += 1;
                if levels > 10 {
                    break;
                }
                last = Some(o.price);
            }
            checksum_digits(&mut h, o.price, pp);
            checksum_digits(&mut h, o.qty, qp);
        }
    }
    h.finalize()
}

/// Buffers [`publish`] reuses across calls.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    book: Resync<RestingOrder, Change>,
    entries: Vec<L3Entry<'static>>,
}

/// Sends what the engine's last calls changed to every L3 subscription of `c`. False if the
/// session could not take it (transmit queue full).
pub(crate) fn publish(
    engine: &Engine,
    c: &mut Conn,
    touched: &[(usize, InstrumentId)],
    now: UtcTimestamp,
    stats: &mut Stats,
    scratch: &mut Scratch,
) -> bool {
    let mut subs = std::mem::take(&mut c.l3_subs);
    let mut ok = true;
    for sub in &mut subs {
        if !touched.iter().any(|&(_, id)| id == sub.instrument) {
            continue;
        }
        let Some(spec) = engine.instrument(sub.instrument) else {
            continue;
        };
        let (instrument, depth) = (sub.instrument, sub.depth);
        let current = |side| engine.resting_orders(instrument, side, depth);
        if !scratch
            .book
            .run(&mut sub.asks, &mut sub.bids, depth, current, diff)
        {
            continue;
        }
        // The entries borrow the changes' OrderIDs; the vector's storage is kept between calls.
        let mut entries: Vec<L3Entry<'_>> = std::mem::take(&mut scratch.entries);
        entries.extend(scratch.book.entries().map(|ch| L3Entry {
            action: Some(ch.action),
            entry_type: entry_type(ch.order.side),
            order_id: ch.order.order_id.as_bytes(),
            px: ch.order.price,
            size: ch.size,
            time: now,
            event_time: if ch.action == b'2' {
                now
            } else {
                ch.order.updated
            },
            queue_time: ch.order.queued,
        }));
        let sum = sub
            .checksum
            .then(|| checksum(&sub.asks, &sub.bids, sub.pp, sub.qp));
        let symbol = spec.symbol.as_bytes();
        ok &= send_with(c, now, |e, s| {
            out::md_incremental_l3(e, s, &sub.req_id, symbol, &entries, sum)
        });
        stats.md_messages += 1;
        scratch.entries = reuse_storage(entries);
    }
    c.l3_subs = subs;
    ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::OrderId;

    fn d(s: &str) -> Decimal {
        Decimal::parse(s.as_bytes()).expect("decimal")
    }

    fn o(id: &str, side: Side, px: &str, qty: &str, priority: u64) -> RestingOrder {
        RestingOrder {
            order_id: OrderId::new(id.as_bytes()).expect("id"),
            side,
            price: d(px),
            qty: d(qty),
            priority,
            queued: UtcTimestamp::from_nanos(priority as i64),
            updated: UtcTimestamp::from_nanos(priority as i64),
        }
    }

    #[test]
    fn diff_finds_new_changed_requeued_and_out_of_scope_orders() {
        let old = [
            o("A", Side::Buy, "10.0", "1", 1),
            o("B", Side::Buy, "10.0", "2", 2),
            o("C", Side::Buy, "9.0", "3", 3),
        ];
        // A partly filled, B re-queued at a new price (new priority), D new at 9.5 pushing 9.0
        // out of a depth of 2 levels.
        let new = [
            o("A", Side::Buy, "10.0", "0.5", 1),
            o("D", Side::Buy, "9.5", "4", 5),
            o("B", Side::Buy, "9.5", "2", 6),
        ];
        let (mut ch, mut del) = (Vec::new(), Vec::new());
        diff(Side::Buy, &old, &new, 2, &mut ch, &mut del);
        let del: Vec<_> = del
            .iter()
            .map(|c| (c.order.order_id.as_bytes().to_vec(), c.size))
            .collect();
        assert_eq!(del, [(b"B".to_vec(), d("0.0")), (b"C".to_vec(), d("3"))]);
        let ch: Vec<_> = ch
            .iter()
            .map(|c| (c.action, c.order.order_id.as_bytes().to_vec(), c.size))
            .collect();
        assert_eq!(
            ch,
            [
                (b'1', b"A".to_vec(), d("0.5")),
                (b'0', b"D".to_vec(), d("4")),
                (b'0', b"B".to_vec(), d("2")),
            ]
        );
    }

    #[test]
    fn checksum_walks_orders_of_top_ten_levels() {
        // Two orders at one price count separately, in queue order: asks 10.0×1 then 10.0×2,
        // then the bid 9.9×1.
        let asks = [
            o("A", Side::Sell, "10.0", "1", 1),
            o("B", Side::Sell, "10.0", "2", 2),
        ];
        let bids = [o("C", Side::Buy, "9.9", "1", 3)];
        let mut h = crc32fast::Hasher::new();
        h.update(b"1001");
        h.update(b"1002");
        h.update(b"991");
        assert_eq!(checksum(&asks, &bids, 1, 0), h.finalize());
        // Eleven levels: the eleventh is ignored.
        let many: Vec<_> = (0..11)
            .map(|k| o("X", Side::Sell, &format!("{}.0", 10 + k), "1", k))
            .collect();
        let mut h = crc32fast::Hasher::new();
        for k in 0..10 {
            h.update(format!("{}01", 10 + k).as_bytes());
        }
        assert_eq!(checksum(&many, &[], 1, 0), h.finalize());
    }
}
