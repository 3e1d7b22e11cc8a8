//! What every tick-to-trade harness shares: the synthetic BTC/USD feed the venue publishes and
//! the armed order the client fires, so tickwire and the baselines run identical FIX work.

use tickwire_fix::decimal::Decimal;
use tickwire_fix::encode::EncodeError;
use tickwire_fix::kraken::SpotClOrdId;
use tickwire_fix::outbound::{self, NewOrder, OrderShape, Side, TimeInForce};
use tickwire_fix::session::{Journal, SendError, Session};
use tickwire_fix::template::Header;
use tickwire_fix::time::UtcTimestamp;

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

/// The armed order: a precompiled buy IOC 0.01 BTC/USD @ 84000.0 and its ClOrdID generator.
#[derive(Debug)]
pub struct ArmedOrder {
    order: NewOrder,
    ids: SpotClOrdId,
}

impl ArmedOrder {
    /// Precompiles the order for TESTCLIENT → KRAKEN-TRD.
    ///
    /// # Errors
    /// The template error text.
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
        Ok(ArmedOrder {
            order: outbound::new_order_single(header, &shape).map_err(|e| e.to_string())?,
            ids: SpotClOrdId::new(0),
        })
    }

    /// Patches the template (sequence number, times, a fresh ClOrdID) and hands it to the
    /// trading session.
    ///
    /// # Errors
    /// A description of what failed.
    pub fn fire<J: Journal>(
        &mut self,
        trading: &mut Session<J>,
        now: UtcTimestamp,
    ) -> Result<(), String> {
        let id = self.ids.next(now).ok_or("ClOrdID space exhausted")?;
        let mut text = [0u8; 20];
        let w = tickwire_fix::encode::write_u64(&mut text, id).unwrap_or(0);
        let order = &mut self.order;
        trading
            .send_raw(now, |seq, out| {
                let bytes = order
                    .patch(
                        seq,
                        now,
                        &text[..w],
                        Some(Decimal::new(TRIGGER, 1)),
                        Decimal::new(1, 2),
                    )
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
}
