//! Steady state allocates nothing: 100k orders patched from a template, sent through a client
//! session, parsed and validated by a venue session, answered with an ExecutionReport encoded by
//! the venue, parsed into a typed view by the client; plus 100k market-data messages parsed and
//! applied to a book. A counting global allocator proves it.
#![allow(clippy::unwrap_used)]

use tickwire_fix::book::Book;
use tickwire_fix::decimal::Decimal;
use tickwire_fix::message::{FieldIndex, Message};
use tickwire_fix::outbound::{self, OrderShape, Side};
use tickwire_fix::session::{Capacities, Config, MemoryJournal, ResendPolicy, Role, Session};
use tickwire_fix::template::Header;
use tickwire_fix::time::UtcTimestamp;
use tickwire_fix::views::{ExecutionReport, MarketData};

// The test reads the process-wide count (`Counts::total`), the one test of this binary.
#[global_allocator]
static GLOBAL: tickwire_testutil::CountingAlloc = tickwire_testutil::CountingAlloc;

const N: u64 = 100_000;

#[test]
fn order_round_trip_and_market_data_do_not_allocate() {
    let mut client_cfg = Config::kraken_initiator("TESTCLIENT", "KRAKEN-TRD").unwrap();
    client_cfg.rollover = None;
    let mut venue_cfg = Config::kraken_initiator("KRAKEN-TRD", "TESTCLIENT").unwrap();
    venue_cfg.role = Role::Acceptor;
    venue_cfg.resend_policy = ResendPolicy::ReplayApplication;
    venue_cfg.rollover = None;
    venue_cfg.validate = true;
    let mut client = Session::new(
        client_cfg,
        MemoryJournal::new(4096, 512),
        Capacities::default(),
    );
    let mut venue = Session::new(
        venue_cfg,
        MemoryJournal::new(4096, 512),
        Capacities::default(),
    );
    venue.set_validator(tickwire_fix::dict::validate_fix44);
    let header = Header {
        begin_string: b"FIX.4.4",
        sender: b"TESTCLIENT",
        target: b"KRAKEN-TRD",
        time_after_target: true,
    };
    let mut order =
        outbound::new_order_single(header, &OrderShape::limit(b"BTC/USD", Side::Buy)).unwrap();
    let md_raw = "8=FIX.4.4|9=000|35=X|34=1|49=KRAKEN-MD|56=TESTCLIENT|52=20260407-14:32:03.120|55=BTC/USD|262=MD-1|268=4|279=0|269=1|278=O84000.3|270=84000.3|271=0.25|273=14:32:03.101|279=0|269=0|278=B84000.0|270=84000.0|271=0.5|273=14:32:03.104|279=0|269=1|278=O84000.5|270=84000.5|271=1.25|273=14:32:03.104|279=0|269=0|278=B83999.9|270=83999.9|271=2.0|273=14:32:03.104|10=000|"
        .replace('|', "\x01");
    let md_raw = md_raw.as_bytes();
    let mut book = Book::new(10, 1, 8);

    let mut now = UtcTimestamp::parse(b"20260407-14:32:01.000").unwrap();
    client.handle_connected(now);
    venue.handle_connected(now);
    client.send_logon(now, |_, _| {}).unwrap();

    let mut reports = 0u64;
    let mut orders_seen = 0u64;
    let mut run = |client: &mut Session<MemoryJournal>,
                   venue: &mut Session<MemoryJournal>,
                   now: UtcTimestamp,
                   i: u64| {
        if i > 0 {
            let mut id = [b'0'; 16];
            let mut v = 1_775_572_325_000_000 + i;
            for b in id.iter_mut().rev() {
                *b = b'0' + (v % 10) as u8;
                v /= 10;
            }
            client
                .send_raw(now, |seq, out| {
                    let bytes = order
                        .patch(
                            seq,
                            now,
                            &id,
                            Some(Decimal::new(840_000 + (i % 7) as i64, 1)),
                            Decimal::new(1, 2),
                        )
                        .map_err(|_| tickwire_fix::encode::EncodeError::BufferTooSmall {
                            required: 0,
                        })?;
                    out.get_mut(..bytes.len())
                        .ok_or(tickwire_fix::encode::EncodeError::BufferTooSmall {
                            required: bytes.len(),
                        })?
                        .copy_from_slice(bytes);
                    Ok(bytes.len())
                })
                .unwrap();
        }
        let out = client.pending_transmit();
        let n = out.len();
        let mut new_orders = 0u32;
        venue.handle_input(now, out, &mut |m: &Message<'_>| {
            if m.msg_type() == b"D" {
                new_orders += 1;
            }
        });
        client.consume_transmit(n);
        for _ in 0..new_orders {
            orders_seen += 1;
            venue
                .send_app(now, b"8", |e| {
                    e.field(37, b"O3KQ7T-XH2LM-ZP4WUA")
                        .field(17, b"EXEC")
                        .field(150, b"0")
                        .field(39, b"0")
                        .field(55, b"BTC/USD")
                        .field(54, b"1")
                        .field(151, b"0.01")
                        .field(14, b"0")
                        .field(6, b"0");
                })
                .unwrap();
        }
        let out = venue.pending_transmit();
        let n = out.len();
        client.handle_input(now, out, &mut |m: &Message<'_>| {
            if let Ok(er) = ExecutionReport::new_checked(m) {
                if er.leaves_qty() == Decimal::new(1, 2) {
                    reports += 1;
                }
            }
        });
        venue.consume_transmit(n);
        while client.poll_event().is_some() {}
        while venue.poll_event().is_some() {}
        // Market data: parse + view + book.
        let mut idx = FieldIndex::<128>::new();
        let msg = Message::parse(md_raw, &mut idx).unwrap();
        let md = MarketData::new_checked(&msg).unwrap();
        if i == 0 {
            book.begin_snapshot(0);
            book.finish_snapshot();
        }
        book.apply_message(&md, i + 1).unwrap();
    };

    // Warm-up: logon, first orders.
    for i in 0..100 {
        now = UtcTimestamp::from_nanos(now.nanos + 1_000_000);
        run(&mut client, &mut venue, now, i);
    }
    let ((), during) = tickwire_testutil::measure(|| {
        for i in 100..100 + N {
            now = UtcTimestamp::from_nanos(now.nanos + 1_000_000);
            run(&mut client, &mut venue, now, i);
        }
    });
    assert_eq!(orders_seen, N + 99);
    assert_eq!(reports, N + 99);
    assert!(book.best_bid().is_some());
    assert_eq!(
        during.total, 0,
        "allocations in steady state over {N} round trips"
    );
}
