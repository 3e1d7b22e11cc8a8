//! What every tick-to-trade harness shares: the synthetic BTC/USD feed the venue publishes and
//! the armed order the client fires (a `tickwire_dataplane::trigger` table evaluated on every
//! book update, each firing checked by `tickwire_dataplane::risk::Risk` before its
//! precompiled order is patched and sent), so tickwire and the baselines run identical FIX,
//! trigger and risk work.

use tickwire_dataplane::risk::{
    Capacity, Collar, GlobalLimits, InstrumentId, InstrumentLimits, LimitChange, Order, OrderKey,
    Risk, Top,
};
use tickwire_dataplane::trigger::{Condition, Fire, Trigger, TriggerId, Triggers};
use tickwire_fix::book::Book;
use tickwire_fix::decimal::Decimal;
use tickwire_fix::encode::EncodeError;
use tickwire_fix::kraken::SpotClOrdId;
use tickwire_fix::outbound::{self, NewOrder, OrderShape, Side, TimeInForce};
use tickwire_fix::session::{Journal, SendError, Session};
use tickwire_fix::template::Header;
use tickwire_fix::time::UtcTimestamp;
use tickwire_fix::views::ExecutionReport;

/// The trigger price in ticks (84000.0 at PricePrecision 1): buy when the best ask is at or
/// below it. The feed puts the ask there on one tick in eight.
pub const TRIGGER: i64 = 840_000;

/// A seeded synthetic feed of best ask / best bid.
#[derive(Debug, Clone)]
pub struct Feed {
    rng: u64,
    last: Option<(i64, i64)>,
}

impl Default for Feed {
    fn default() -> Self {
        Feed {
            rng: 0x2545_f491_4f6c_dd1d,
            last: None,
        }
    }
}

impl Feed {
    /// True if the tick published last puts the best ask at or below [`TRIGGER`], i.e. the
    /// armed order fires on it (the venue side uses it to know an order is coming).
    pub fn fires(&self) -> bool {
        self.last.is_some_and(|(ask, _)| ask <= TRIGGER)
    }

    /// Publishes the next tick on the venue's market-data session: a full snapshot (35=W) the
    /// first time, then an incremental (35=X) removing the previous levels and adding new ones.
    ///
    /// # Errors
    /// The session's [`SendError`].
    pub fn publish<J: Journal>(
        &mut self,
        md: &mut Session<J>,
        now: UtcTimestamp,
    ) -> Result<(), SendError> {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let ask = TRIGGER + (self.rng % 8) as i64;
        let bid = ask - 2;
        let level = |e: &mut tickwire_fix::encode::Encoder<'_>,
                     action: Option<&[u8]>,
                     side: &[u8],
                     px: i64,
                     size: &[u8]| {
            if let Some(a) = action {
                e.field(279, a);
            }
            e.field(269, side)
                .decimal(270, Decimal::new(px, 1))
                .field(271, size);
        };
        match self.last.replace((ask, bid)) {
            None => md.send_app(now, b"W", |e| {
                e.field(55, b"BTC/USD")
                    .field(262, b"MD-BTCUSD-1")
                    .uint(268, 2);
                level(e, None, b"1", ask, b"0.5");
                level(e, None, b"0", bid, b"0.75");
            }),
            Some((old_ask, old_bid)) => md.send_app(now, b"X", |e| {
                e.field(55, b"BTC/USD")
                    .field(262, b"MD-BTCUSD-1")
                    .uint(268, 4);
                level(e, Some(b"2"), b"1", old_ask, b"0");
                level(e, Some(b"2"), b"0", old_bid, b"0");
                level(e, Some(b"0"), b"1", ask, b"0.5");
                level(e, Some(b"0"), b"0", bid, b"0.75");
            }),
        }
        .map(|_| ())
    }
}

/// The minimal venue's answer to a NewOrderSingle with ClOrdID `cl_ord_id`: a full fill
/// (35=8, 150=F, 39=2) at the armed price and quantity. Every baseline's venue sends the same
/// one.
///
/// # Errors
/// The session's [`SendError`].
pub fn send_fill<J: Journal>(
    venue: &mut Session<J>,
    now: UtcTimestamp,
    cl_ord_id: u64,
) -> Result<(), SendError> {
    let mut cl = [0u8; 20];
    let n = tickwire_fix::encode::write_u64(&mut cl, cl_ord_id).unwrap_or(0);
    venue
        .send_app(now, b"8", |e| {
            e.field(37, b"O3KQ7T-XH2LM-ZP4WUA")
                .field(11, &cl[..n])
                .field(17, b"SIMX")
                .field(150, b"F")
                .field(39, b"2")
                .field(55, b"BTC/USD")
                .field(54, b"1")
                .field(31, b"84000.0")
                .field(32, b"0.01")
                .field(151, b"0")
                .field(14, b"0.01")
                .field(6, b"84000.0");
        })
        .map(|_| ())
}

/// The numeric ClOrdID (11) of a message, if it has one (Spot ClOrdIDs are digits).
pub fn numeric_cl_ord_id(v: Option<&[u8]>) -> Option<u64> {
    let v = v?;
    if v.is_empty() || v.len() > 19 {
        return None;
    }
    v.iter().try_fold(0u64, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + u64::from(b - b'0'))
    })
}

/// The armed order: a trigger table (`tickwire_dataplane::trigger`, the same one the engine
/// evaluates) holding "best ask ≤ 84000.0 → buy IOC 0.01 BTC/USD @ 84000.0", re-arming with no
/// cool-down so it fires on every tick that meets it; the precompiled NewOrderSingle it fires;
/// and its ClOrdID generator.
#[derive(Debug)]
pub struct ArmedOrder {
    triggers: Triggers,
    order: NewOrder,
    ids: SpotClOrdId,
    risk: Risk,
    refused: u64,
}

/// The feed's only instrument in the trigger table.
pub const BTC_USD: InstrumentId = InstrumentId(0);
/// PricePrecision and QtyPrecision of the feed's book (`Book::new(10, 1, 8)`).
pub const PRICE_SCALE: u8 = 1;
/// See [`PRICE_SCALE`].
pub const QTY_SCALE: u8 = 8;
/// The armed quantity in lots (0.01 BTC).
pub const QTY: i64 = 1_000_000;

impl ArmedOrder {
    /// Precompiles the order for TESTCLIENT → KRAKEN-TRD and arms its trigger.
    ///
    /// # Errors
    /// The template or arming error text.
    pub fn new() -> Result<ArmedOrder, String> {
        let header = Header {
            begin_string: b"FIX.4.4",
            sender: b"TESTCLIENT",
            target: b"KRAKEN-TRD",
            time_after_target: true,
        };
        let shape = OrderShape {
            tif: TimeInForce::ImmediateOrCancel,
            ..OrderShape::limit(b"BTC/USD", Side::Buy)
        };
        let mut triggers = Triggers::new(16);
        triggers
            .arm(
                TriggerId(1),
                Trigger::rearming(
                    Condition::AskAtOrBelow(TRIGGER),
                    Order {
                        instrument: BTC_USD,
                        side: Side::Buy,
                        price: TRIGGER,
                        qty: QTY,
                    },
                    TimeInForce::ImmediateOrCancel,
                    0,
                ),
            )
            .map_err(|e| e.to_string())?;
        // Pre-trade limits every firing passes: order size and notional, a 100-tick collar
        // off the best ask, open orders; the position limit is left wide (every fill is a
        // buy, and runs are long) but is computed like the others.
        let mut risk = Risk::new(
            Capacity {
                instruments: 1,
                orders: 256,
                recent: 64,
            },
            GlobalLimits {
                max_open_orders: 256,
                ..GlobalLimits::default()
            },
        )
        .map_err(|e| e.to_string())?;
        risk.apply(LimitChange::Instrument(
            BTC_USD,
            InstrumentLimits {
                max_order_qty: QTY * 10,
                max_notional: TRIGGER * QTY * 10,
                collar: Collar::Ticks(100),
                max_open_orders: 256,
                max_position: i64::MAX / 4,
            },
        ))
        .map_err(|e| e.to_string())?;
        Ok(ArmedOrder {
            triggers,
            order: outbound::new_order_single(header, &shape).map_err(|e| e.to_string())?,
            ids: SpotClOrdId::new(0),
            risk,
            refused: 0,
        })
    }

    /// The trigger table, to arm or disarm more triggers. Every trigger must fire a buy IOC on
    /// [`BTC_USD`] (the one precompiled template).
    pub fn triggers_mut(&mut self) -> &mut Triggers {
        &mut self.triggers
    }

    /// Evaluates the trigger table on the book just updated and, for each firing, patches the
    /// template (sequence number, times, a fresh ClOrdID, the trigger's price and quantity) and
    /// hands it to the trading session. Returns whether anything fired.
    ///
    /// # Errors
    /// A description of what failed; later firings of the same update are not sent.
    pub fn on_book<J: Journal>(
        &mut self,
        book: &Book,
        trading: &mut Session<J>,
        now: UtcTimestamp,
    ) -> Result<bool, String> {
        self.on_book_with(book, trading, now, || {})
    }

    /// [`ArmedOrder::on_book`], calling `on_fire` when a trigger fires and risk admitted its
    /// order, before the order is patched and sent (where the per-stage breakdown stamps
    /// "trigger + risk" done). A firing risk refuses is counted ([`ArmedOrder::refused`]) and
    /// sends nothing.
    ///
    /// # Errors
    /// As [`ArmedOrder::on_book`].
    #[inline]
    pub fn on_book_with<J: Journal>(
        &mut self,
        book: &Book,
        trading: &mut Session<J>,
        now: UtcTimestamp,
        mut on_fire: impl FnMut(),
    ) -> Result<bool, String> {
        self.fire(book, now, |order, id, fire| {
            on_fire();
            send(order, id, trading, now, fire)
        })
    }

    /// [`ArmedOrder::on_book`] for an engine that builds its own messages (baseline (c)):
    /// the same trigger table and risk check, each admitted firing handed to `send` as its
    /// fresh ClOrdID, price (ticks at [`PRICE_SCALE`]) and quantity (lots at [`QTY_SCALE`])
    /// instead of the precompiled template. Returns whether anything was sent.
    ///
    /// # Errors
    /// `send`'s error or ClOrdID exhaustion; later firings of the same update are not sent.
    pub fn on_book_send(
        &mut self,
        book: &Book,
        now: UtcTimestamp,
        mut send: impl FnMut(u64, i64, i64) -> Result<(), String>,
    ) -> Result<bool, String> {
        self.fire(book, now, |_, id, fire| {
            send(id, fire.order.price, fire.order.qty)
        })
    }

    /// Evaluates the trigger table on `book`; each firing gets a fresh ClOrdID and the risk
    /// check, and an admitted one is handed to `send` with the template and its ClOrdID (risk
    /// forgets the order again if sending failed). A refused firing is counted. Returns
    /// whether anything was sent.
    #[inline]
    fn fire(
        &mut self,
        book: &Book,
        now: UtcTimestamp,
        mut send: impl FnMut(&mut NewOrder, u64, &Fire) -> Result<(), String>,
    ) -> Result<bool, String> {
        let top = Top::from_book(book, now);
        let (order, ids, risk) = (&mut self.order, &mut self.ids, &mut self.risk);
        let refused = &mut self.refused;
        let mut outcome = Ok(false);
        self.triggers.evaluate(BTC_USD, &top, now, |fire| {
            if outcome.is_err() {
                return;
            }
            let Some(id) = ids.next(now) else {
                outcome = Err("ClOrdID space exhausted".into());
                return;
            };
            if risk
                .check_new(OrderKey(id), &fire.order, &top, now)
                .is_err()
            {
                *refused += 1;
                return;
            }
            let sent = send(order, id, &fire);
            if sent.is_err() {
                risk.on_closed(OrderKey(id));
            }
            outcome = sent.map(|()| true);
        });
        outcome
    }

    /// An ExecutionReport for one of the armed orders: fills move risk's position and open
    /// quantity, a terminal status closes the order.
    pub fn on_execution(&mut self, er: &ExecutionReport<'_>) {
        let Some(id) = numeric_cl_ord_id(er.cl_ord_id()) else {
            return;
        };
        if let Ok(Some(q)) = er.last_qty() {
            if let Ok(lots) = q.to_scaled(QTY_SCALE) {
                if lots > 0 {
                    self.risk.on_fill(OrderKey(id), BTC_USD, Side::Buy, lots);
                }
            }
        }
        if er.ord_status().is_terminal() {
            self.risk.on_closed(OrderKey(id));
        }
    }

    /// Firings risk refused.
    pub fn refused(&self) -> u64 {
        self.refused
    }

    /// Orders risk counts as open.
    pub fn open_orders(&self) -> u32 {
        self.risk.open_total()
    }
}

fn send<J: Journal>(
    order: &mut NewOrder,
    id: u64,
    trading: &mut Session<J>,
    now: UtcTimestamp,
    fire: &Fire,
) -> Result<(), String> {
    if fire.order.side != Side::Buy || fire.tif != TimeInForce::ImmediateOrCancel {
        return Err("no template for this trigger's side or TimeInForce".into());
    }
    let mut text = [0u8; 20];
    let w = tickwire_fix::encode::write_u64(&mut text, id).unwrap_or(0);
    let price = Decimal::new(fire.order.price, PRICE_SCALE);
    let qty = Decimal::new(fire.order.qty, QTY_SCALE).normalize();
    trading
        .send_raw(now, |seq, out| {
            let bytes = order
                .patch(seq, now, &text[..w], Some(price), qty)
                .map_err(|_| EncodeError::BufferTooSmall { required: 0 })?;
            let dst = out
                .get_mut(..bytes.len())
                .ok_or(EncodeError::BufferTooSmall {
                    required: bytes.len(),
                })?;
            dst.copy_from_slice(bytes);
            Ok(bytes.len())
        })
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_cl_ord_ids_only() {
        assert_eq!(
            numeric_cl_ord_id(Some(b"1775572325000123")),
            Some(1_775_572_325_000_123)
        );
        assert_eq!(numeric_cl_ord_id(Some(b"12a")), None);
        assert_eq!(numeric_cl_ord_id(Some(b"")), None);
        assert_eq!(numeric_cl_ord_id(Some(b"99999999999999999999")), None);
        assert_eq!(numeric_cl_ord_id(None), None);
    }

    #[test]
    fn the_feed_says_when_the_trigger_holds() {
        let mut feed = Feed::default();
        let mut md = Session::new(
            tickwire_fix::session::Config::kraken_initiator("KRAKEN-MD", "TESTCLIENT")
                .map_err(|e| e.to_string())
                .unwrap_or_else(|e| panic!("{e}")),
            tickwire_fix::session::MemoryJournal::new(64, 512),
            tickwire_fix::session::Capacities::default(),
        );
        assert!(!feed.fires(), "nothing published yet");
        // Not logged on: the session refuses, and the feed still moved.
        let now = UtcTimestamp::from_nanos(1_775_572_325_000_000_000);
        let mut fired = 0;
        for _ in 0..800 {
            let _ = feed.publish(&mut md, now);
            fired += u32::from(feed.fires());
        }
        assert!(
            (50..200).contains(&fired),
            "about one tick in eight: {fired}"
        );
    }
}
