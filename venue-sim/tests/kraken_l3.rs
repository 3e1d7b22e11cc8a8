//! Level 3 market data on the L3 ports over TLS 1.3 (SPEC §1.2, §4.9–4.12, §8 items 5, 26,
//! 27): a client logs on to 4005 (Spot L3), subscribes with 266=N, gets a snapshot whose
//! per-order entries are the engine's resting orders in queue order, then follows one order
//! through placement, a partial fill, a price amend and a cancel — keeping its own order book
//! from the entries and checking every 5041 with its own implementation of the level3
//! checksum rule. Bad requests get the 35=Y reasons SPEC assigns.
#![allow(clippy::unwrap_used)]

mod kraken_common;

use std::time::Duration;

use kraken_common::*;
use tickwire_fix::decimal::Decimal;
use tickwire_venue::engine::Side;
use tickwire_venue::kraken::{Port, Server};

const T: Duration = Duration::from_secs(5);
/// BTC/USD's PricePrecision (2349) and QtyPrecision (5010).
const PP: usize = 1;
const QP: usize = 8;

fn dec(s: &str) -> Decimal {
    Decimal::parse(s.as_bytes()).unwrap()
}

/// One order as the client holds it.
#[derive(Debug, Clone, PartialEq)]
struct Held {
    id: String,
    px: Decimal,
    qty: Decimal,
    queue: String,
    px_text: String,
    qty_text: String,
}

/// One MD entry: its fields in order.
fn entries(m: &Msg) -> Vec<Vec<(u32, String)>> {
    let mut out: Vec<Vec<(u32, String)>> = Vec::new();
    let mut in_group = false;
    for (tag, v) in &m.0 {
        match tag {
            268 => in_group = true,
            5041 | 10 => in_group = false,
            279 if in_group => out.push(vec![(*tag, v.clone())]),
            269 if in_group && (m.ty() == "W" || out.is_empty()) => {
                out.push(vec![(*tag, v.clone())])
            }
            _ if in_group => {
                if let Some(e) = out.last_mut() {
                    e.push((*tag, v.clone()));
                }
            }
            _ => {}
        }
    }
    out
}

fn get(e: &[(u32, String)], tag: u32) -> &str {
    e.iter()
        .find(|f| f.0 == tag)
        .map(|f| f.1.as_str())
        .unwrap_or_else(|| panic!("entry without {tag}: {e:?}"))
}

/// ISO-8601 UTC with nanoseconds, as SPEC §4.0.3 shows it.
fn assert_iso_nanos(t: &str) {
    let b = t.as_bytes();
    assert_eq!(b.len(), 30, "{t}");
    assert!(
        b[4] == b'-' && b[7] == b'-' && b[10] == b'T' && b[19] == b'.' && b[29] == b'Z',
        "{t}"
    );
}

#[derive(Debug, Default)]
struct Book {
    bids: Vec<Held>,
    asks: Vec<Held>,
}

impl Book {
    fn side(&mut self, entry_type: &str) -> &mut Vec<Held> {
        match entry_type {
            "0" => &mut self.bids,
            "1" => &mut self.asks,
            other => panic!("L3 entry type {other}"),
        }
    }

    fn apply(&mut self, e: &[(u32, String)], snapshot: bool) {
        let held = Held {
            id: get(e, 278).into(),
            px: dec(get(e, 270)),
            qty: dec(get(e, 271)),
            queue: get(e, 5273).into(),
            px_text: get(e, 270).into(),
            qty_text: get(e, 271).into(),
        };
        assert_iso_nanos(get(e, 5060));
        assert_iso_nanos(&held.queue);
        // L3 MDEntryTime: YYYYMMDD-HH:MM:SS.ssssss (SPEC §8 item 27).
        let t = get(e, 273);
        assert!(t.len() == 24 && t.as_bytes()[8] == b'-', "273={t}");
        let action = if snapshot { "0" } else { get(e, 279) };
        let side = self.side(get(e, 269));
        match action {
            "0" => {
                assert!(side.iter().all(|h| h.id != held.id), "new of a held order");
                side.push(held);
            }
            "1" => {
                let h = side.iter_mut().find(|h| h.id == held.id).expect("held");
                assert_eq!(h.px, held.px, "a change keeps the price");
                h.qty = held.qty;
                h.qty_text = held.qty_text;
            }
            "2" => {
                let before = side.len();
                side.retain(|h| h.id != held.id);
                assert_eq!(side.len(), before - 1, "delete of a held order");
            }
            other => panic!("279={other}"),
        }
        self.sort();
    }

    /// Asks ascending, bids descending; within a price by queue time (5273).
    fn sort(&mut self) {
        self.asks
            .sort_by(|a, b| a.px.cmp(&b.px).then(a.queue.cmp(&b.queue)));
        self.bids
            .sort_by(|a, b| b.px.cmp(&a.px).then(a.queue.cmp(&b.queue)));
    }

    /// The level3 checksum, written here from Kraken's description: for the top ten price
    /// levels of asks (ascending) then bids (descending), every order in queue order as
    /// price ‖ qty, each formatted at its precision with the point removed and leading zeros
    /// stripped; CRC32 of the concatenation.
    fn checksum(&self) -> u32 {
        fn digits(text: &str, precision: usize) -> String {
            let (int, frac) = text.split_once('.').unwrap_or((text, ""));
            let mut s = format!("{int}{frac:0<precision$}");
            s.truncate(int.len() + precision);
            let t = s.trim_start_matches('0');
            if t.is_empty() {
                "0".into()
            } else {
                t.into()
            }
        }
        let mut text = String::new();
        for side in [&self.asks, &self.bids] {
            let mut prices: Vec<Decimal> = Vec::new();
            for h in side.iter() {
                if !prices.contains(&h.px) {
                    prices.push(h.px);
                }
                if prices.len() > 10 {
                    break;
                }
                text.push_str(&digits(&h.px_text, PP));
                text.push_str(&digits(&h.qty_text, QP));
            }
        }
        crc32fast::hash(text.as_bytes())
    }

    fn view(&self, side: Side) -> Vec<(String, Decimal, Decimal)> {
        let v = if side == Side::Buy {
            &self.bids
        } else {
            &self.asks
        };
        v.iter().map(|h| (h.id.clone(), h.px, h.qty)).collect()
    }
}

/// The engine's resting orders of BTC/USD (best first, queue order).
fn engine_view(server: &Server, side: Side) -> Vec<(String, Decimal, Decimal)> {
    server
        .call(move |v, _| {
            let e = v.spot_engine();
            let id = e.instrument_id(b"BTC/USD").unwrap();
            e.resting_orders(id, side, 1000)
                .map(|o| {
                    (
                        String::from_utf8_lossy(o.order_id.as_bytes()).into_owned(),
                        o.price,
                        o.qty,
                    )
                })
                .collect::<Vec<_>>()
        })
        .unwrap()
}

fn md_on(server: &Server, pki: &tickwire_venue::kraken::pki::Pki, port: Port) -> Conn {
    let sender = if port.venue() == tickwire_venue::engine::Venue::Spot {
        "TESTCLIENT"
    } else {
        "TESTCLIENT-DRV"
    };
    md_at(server, pki, sender, port)
}

fn place(c: &mut Conn, side: u8, qty: &str, px: &str, tif: u8) -> (u64, String) {
    let (id, body) = nos(side, qty, px, tif, "");
    c.send("D", &body);
    let idtext = id.to_string();
    let r = c.expect(T, "ExecutionReport", |m| {
        m.ty() == "8" && m.get(11) == Some(idtext.as_str())
    });
    (id, r.get(37).unwrap().to_string())
}

/// The next book 35=X: applied to `book`, its checksum checked; returns its entries.
fn next_x(md: &mut Conn, book: &mut Book) -> Vec<Vec<(u32, String)>> {
    let x = md.expect(T, "L3 incremental", |m| m.ty() == "X");
    assert_eq!(x.get(262), Some("L3-1"));
    assert_eq!(x.get(55), Some("BTC/USD"));
    let list = entries(&x);
    assert_eq!(
        x.get(268).unwrap().parse::<usize>().unwrap(),
        list.len(),
        "NoMDEntries"
    );
    for e in &list {
        book.apply(e, false);
    }
    let sum: u32 = x
        .get(5041)
        .expect("5041 on L3 book updates")
        .parse()
        .unwrap();
    assert_eq!(sum, book.checksum(), "checksum after {list:?}\n{book:#?}");
    list
}

#[test]
fn l3_snapshot_and_order_lifecycle_with_checksums() {
    let pki = pki("l3life");
    let server = start(config(false), &pki);
    assert_eq!(
        server.addr(Port::SpotMdL3).map(|a| a.port() != 0),
        Some(true),
        "4005 is served"
    );
    let mut trd = trading(&server, &pki, "TESTCLIENT", "FIXTESTKEY123", SECRET);
    let (_, b1) = place(&mut trd, 1, "0.01", "84000.0", 1);
    let (_, b2) = place(&mut trd, 1, "0.02", "84000.0", 1);
    let (_, a1) = place(&mut trd, 2, "0.03", "84100.0", 1);

    let mut md = md_on(&server, &pki, Port::SpotMdL3);
    md.send(
        "V",
        "262=L3-1|263=1|264=10|265=1|266=N|267=2|269=0|269=1|146=1|55=BTC/USD",
    );
    let w = md.expect(T, "L3 snapshot", |m| m.ty() == "W");
    assert_eq!(w.get(5041), None, "no checksum on snapshots");
    let list = entries(&w);
    assert_eq!(list.len(), 3);
    let ids: Vec<&str> = list.iter().map(|e| get(e, 278)).collect();
    assert_eq!(
        ids,
        [a1.as_str(), b1.as_str(), b2.as_str()],
        "offers first, then bids in queue order"
    );
    assert!(
        get(&list[1], 5273) < get(&list[2], 5273),
        "5273 orders one price"
    );
    let mut book = Book::default();
    for e in &list {
        book.apply(e, true);
    }
    assert_eq!(book.view(Side::Buy), engine_view(&server, Side::Buy));
    assert_eq!(book.view(Side::Sell), engine_view(&server, Side::Sell));

    // Placed: a new best bid.
    let (x_cl, x) = place(&mut trd, 1, "0.05", "84050.0", 1);
    let list = next_x(&mut md, &mut book);
    assert_eq!(list.len(), 1);
    assert_eq!(
        (
            get(&list[0], 279),
            get(&list[0], 269),
            get(&list[0], 278),
            get(&list[0], 270),
            get(&list[0], 271)
        ),
        ("0", "0", x.as_str(), "84050.0", "0.05")
    );

    // Partly filled by another client's IOC sell.
    let mut other = trading(&server, &pki, "OTHER", "OTHERKEY", "c2VjcmV0");
    place(&mut other, 2, "0.02", "84050.0", 3);
    let list = next_x(&mut md, &mut book);
    assert_eq!(list.len(), 1);
    assert_eq!(
        (get(&list[0], 279), get(&list[0], 278), get(&list[0], 271)),
        ("1", x.as_str(), "0.03")
    );

    // Amended to a new price: deleted there, new at the other price, same OrderID.
    let amend = clordid();
    trd.send(
        "G",
        &format!(
            "11={amend}|37={x}|41={x_cl}|54=1|55=BTC/USD|60={}|38=0.05|40=2|44=84060.0|59=1",
            sending_time()
        ),
    );
    trd.expect(T, "Replaced", |m| m.ty() == "8" && m.get(150) == Some("5"));
    let list = next_x(&mut md, &mut book);
    let got: Vec<_> = list
        .iter()
        .map(|e| (get(e, 279), get(e, 278), get(e, 270), get(e, 271)))
        .collect();
    assert_eq!(
        got,
        [
            ("2", x.as_str(), "84050.0", "0.0"),
            ("0", x.as_str(), "84060.0", "0.03")
        ]
    );

    // Cancelled: gone with 271=0.
    let cancel = clordid();
    trd.send(
        "F",
        &format!(
            "11={cancel}|37={x}|41={amend}|54=1|55=BTC/USD|60={}",
            sending_time()
        ),
    );
    trd.expect(T, "Canceled", |m| m.ty() == "8" && m.get(150) == Some("4"));
    let list = next_x(&mut md, &mut book);
    assert_eq!(list.len(), 1);
    assert_eq!(
        (get(&list[0], 279), get(&list[0], 278), get(&list[0], 271)),
        ("2", x.as_str(), "0.0")
    );
    assert_eq!(book.view(Side::Buy), engine_view(&server, Side::Buy));
    assert_eq!(book.view(Side::Sell), engine_view(&server, Side::Sell));

    // Unsubscribed: no more L3 updates.
    md.send(
        "V",
        "262=L3-1|263=2|264=10|266=N|267=2|269=0|269=1|146=1|55=BTC/USD",
    );
    std::thread::sleep(Duration::from_millis(200));
    place(&mut trd, 1, "0.01", "83000.0", 1);
    assert!(
        md.recv(Duration::from_millis(300))
            .is_none_or(|m| m.ty() != "X"),
        "no update after unsubscribe"
    );
    server.stop();
}

#[test]
fn l3_depth_bounds_the_view_and_out_of_scope_deletes_keep_their_size() {
    let pki = pki("l3depth");
    let server = start(config(false), &pki);
    let mut trd = trading(&server, &pki, "TESTCLIENT", "FIXTESTKEY123", SECRET);
    // Eleven bid levels; depth 10 holds the best ten.
    let mut ids = Vec::new();
    for k in 0..11 {
        ids.push(place(&mut trd, 1, "0.01", &format!("{}.0", 84000 - k * 10), 1).1);
    }
    let mut md = md_on(&server, &pki, Port::SpotMdL3);
    md.send(
        "V",
        "262=L3-1|263=1|264=10|266=N|267=2|269=0|269=1|146=1|55=BTC/USD",
    );
    let w = md.expect(T, "L3 snapshot", |m| m.ty() == "W");
    let list = entries(&w);
    assert_eq!(list.len(), 10);
    assert!(
        list.iter().all(|e| get(e, 278) != ids[10]),
        "11th level outside depth 10"
    );
    let mut book = Book::default();
    for e in &list {
        book.apply(e, true);
    }
    // A better level pushes the 10th out of scope: deleted with its size.
    let (_, best) = place(&mut trd, 1, "0.02", "84010.0", 1);
    let list = next_x(&mut md, &mut book);
    let got: Vec<_> = list
        .iter()
        .map(|e| (get(e, 279), get(e, 278), get(e, 271)))
        .collect();
    assert_eq!(
        got,
        [("2", ids[9].as_str(), "0.01"), ("0", best.as_str(), "0.02")]
    );
    server.stop();
}

#[test]
fn l3_bad_requests_get_the_spec_rejects() {
    let pki = pki("l3rej");
    let server = start(config(false), &pki);
    let mut md = md_on(&server, &pki, Port::SpotMdL3);
    let reject = |md: &mut Conn, req: &str, body: &str| -> (String, String) {
        md.send("V", &format!("262={req}|263=1|{body}|146=1|55=BTC/USD"));
        let y = md.expect(T, "35=Y", |m| m.ty() == "Y" || m.ty() == "W");
        assert_eq!(y.ty(), "Y", "{body}: {y:?}");
        assert_eq!(y.get(262), Some(req));
        (
            y.get(281).unwrap().to_string(),
            y.get(58).unwrap_or("").to_string(),
        )
    };
    let (r, t) = reject(&mut md, "T1", "264=10|266=N|267=3|269=0|269=1|269=2");
    assert_eq!(r, "C", "{t}");
    let (r, t) = reject(&mut md, "T2", "264=25|266=N|267=2|269=0|269=1");
    assert_eq!(
        (r.as_str(), t.as_str()),
        ("5", "Unsupported market depth: 25")
    );
    let (r, _) = reject(&mut md, "T3", "264=1|266=N|267=2|269=0|269=1");
    assert_eq!(r, "5", "top of book is L2 only");
    let (r, _) = reject(&mut md, "T4", "264=10|266=N|267=1|269=0");
    assert_eq!(r, "8", "bid and offer together");
    // Without 266 an L3 port serves L3; a duplicate MDReqID is refused.
    md.send("V", "262=OK|263=1|264=0|267=2|269=0|269=1|146=1|55=BTC/USD");
    md.expect(T, "L3 snapshot", |m| m.ty() == "W");
    let (r, _) = reject(&mut md, "OK", "264=10|266=N|267=2|269=0|269=1");
    assert_eq!(r, "1");

    // 266=N on the L2 port: Level3 not available there.
    let mut l2 = md_on(&server, &pki, Port::SpotMd);
    let (r, t) = reject(&mut l2, "L2", "264=10|266=N|267=2|269=0|269=1");
    assert_eq!(
        (r.as_str(), t.as_str()),
        ("B", "Level3 not available on this port")
    );
    server.stop();
}

#[test]
fn l3_assumptions_are_configurable() {
    let pki = pki("l3cfg");
    let mut cfg = config(false);
    cfg.l3.on_l2_ports = true;
    cfg.l3.checksum = false;
    cfg.l3.depths = vec![5];
    let server = start(cfg, &pki);
    let mut trd = trading(&server, &pki, "TESTCLIENT", "FIXTESTKEY123", SECRET);
    let mut l2 = md_on(&server, &pki, Port::SpotMd);
    // 266=N served on the L2 port, with the configured depth set.
    l2.send(
        "V",
        "262=X1|263=1|264=10|266=N|267=2|269=0|269=1|146=1|55=BTC/USD",
    );
    let y = l2.expect(T, "35=Y", |m| m.ty() == "Y");
    assert_eq!(y.get(281), Some("5"));
    l2.send(
        "V",
        "262=X2|263=1|264=5|266=N|267=2|269=0|269=1|146=1|55=BTC/USD",
    );
    l2.expect(T, "L3 snapshot on 4000", |m| m.ty() == "W");
    let (_, id) = place(&mut trd, 1, "0.01", "84000.0", 1);
    let x = l2.expect(T, "L3 incremental", |m| m.ty() == "X");
    assert_eq!(x.get(278), Some(id.as_str()), "MDEntryID is the order id");
    assert_eq!(x.get(5041), None, "checksum switched off");
    server.stop();
}

/// The synthetic market's flow (quotes, cancels, trades, levels entering and leaving depth 10):
/// every L3 update applies to the client's book and its 5041 matches the client's own checksum;
/// 5273 is unique, so ordering by it is the venue's queue order.
#[test]
fn l3_checksums_hold_under_the_synthetic_market() {
    let pki = pki("l3soak");
    let server = start(config(true), &pki);
    let mut md = md_on(&server, &pki, Port::SpotMdL3);
    md.send(
        "V",
        "262=L3-1|263=1|264=10|266=N|267=2|269=0|269=1|146=1|55=BTC/USD",
    );
    let w = md.expect(T, "L3 snapshot", |m| m.ty() == "W");
    let mut book = Book::default();
    for e in &entries(&w) {
        book.apply(e, true);
    }
    assert!(
        book.bids.len() >= 10,
        "the synthetic market quotes: {book:?}"
    );
    let (mut updates, mut deletes, mut changes) = (0, 0, 0);
    while updates < 150 {
        let list = next_x(&mut md, &mut book);
        updates += 1;
        deletes += list.iter().filter(|e| get(e, 279) == "2").count();
        changes += list.iter().filter(|e| get(e, 279) == "1").count();
        let mut q: Vec<&str> = book
            .bids
            .iter()
            .chain(book.asks.iter())
            .map(|h| h.queue.as_str())
            .collect();
        let n = q.len();
        q.sort_unstable();
        q.dedup();
        assert_eq!(q.len(), n, "5273 unique");
    }
    assert!(
        deletes > 0 && changes > 0,
        "{deletes} deletes, {changes} changes"
    );
    server.stop();
}
