//! One instrument at run time: its parameters as integers at its own precisions, its book, its
//! trigger sets, its last and index prices and its trade sequence; and the conversions between
//! those integers and [`Decimal`]s for the reports.

use tickwire_fix::decimal::{Decimal, DecimalError};

use super::book::Book;
use super::config::InstrumentSpec;
use super::triggers::Triggers;
use super::types::{InstrumentStatus, TriggerRef};

/// Fee rates are kept in units of 10^-8 (a basis point is 10^4 of them).
const FEE_RATE_SCALE: u32 = 8;

/// Largest price (in ticks of 10^-pp) an order may carry. With quantities capped at
/// `i64::MAX / max_orders`, every sum the engine keeps (level sizes, notionals, fees) fits its
/// integer type, so no peer value can overflow it.
pub(crate) const MAX_PRICE_UNITS: i64 = 1_000_000_000_000_000;

/// Why an instrument could not be set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstrumentError {
    /// A value has more decimals than the instrument's precision, or does not fit.
    Precision {
        /// The symbol.
        symbol: String,
        /// The field: `tick_size`, `lot_step`, `min_qty`, …
        field: &'static str,
    },
    /// Tick size or lot step is zero or negative, or a precision is above 18.
    NotPositive {
        /// The symbol.
        symbol: String,
        /// The field.
        field: &'static str,
    },
    /// Two instruments share a symbol.
    DuplicateSymbol(String),
}

impl core::fmt::Display for InstrumentError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Precision { symbol, field } => {
                write!(
                    f,
                    "{symbol}: {field} does not fit the instrument's precision"
                )
            }
            Self::NotPositive { symbol, field } => write!(f, "{symbol}: {field} must be positive"),
            Self::DuplicateSymbol(s) => write!(f, "duplicate symbol {s}"),
        }
    }
}

impl std::error::Error for InstrumentError {}

#[derive(Debug)]
pub(crate) struct Instrument {
    pub spec: InstrumentSpec,
    pub pp: u8,
    pub qp: u8,
    pub tick: i64,
    pub lot: i64,
    pub min_qty: i64,
    pub max_qty: i64,
    /// MinimumCost at pp + qp decimals.
    pub min_cost: Option<i128>,
    pub maker_rate: i64,
    pub taker_rate: i64,
    pub status: InstrumentStatus,
    pub book: Book,
    /// Indexed by [`TriggerRef`]: last trade, index.
    pub triggers: [Triggers; 2],
    pub last_price: Option<i64>,
    pub index_price: Option<i64>,
    /// SecondaryExecID of the last trade.
    pub trade_seq: u64,
}

pub(crate) fn ref_index(r: TriggerRef) -> usize {
    match r {
        TriggerRef::Last => 0,
        TriggerRef::Index => 1,
    }
}

impl Instrument {
    pub(crate) fn new(
        spec: InstrumentSpec,
        max_levels: usize,
        max_triggers: usize,
        max_orders: usize,
        first_trade_seq: u64,
    ) -> Result<Instrument, InstrumentError> {
        let sym = spec.symbol.clone();
        let prec = |field: &'static str| InstrumentError::Precision {
            symbol: sym.clone(),
            field,
        };
        let not_pos = |field: &'static str| InstrumentError::NotPositive {
            symbol: sym.clone(),
            field,
        };
        let (pp, qp) = (spec.price_precision, spec.qty_precision);
        if pp > 18 || qp > 18 || spec.fee_precision > 18 {
            return Err(not_pos("precision"));
        }
        let tick = spec
            .tick_size
            .to_scaled(pp)
            .map_err(|_| prec("tick_size"))?;
        let lot = spec.lot_step.to_scaled(qp).map_err(|_| prec("lot_step"))?;
        if tick <= 0 {
            return Err(not_pos("tick_size"));
        }
        if lot <= 0 {
            return Err(not_pos("lot_step"));
        }
        let min_qty = spec.min_qty.to_scaled(qp).map_err(|_| prec("min_qty"))?;
        // No order may be so large that the level sums of `max_orders` of them overflow.
        let cap = i64::MAX / (max_orders.max(1) as i64);
        let max_qty = match spec.max_qty {
            Some(q) => q.to_scaled(qp).map_err(|_| prec("max_qty"))?.min(cap),
            None => cap,
        };
        let min_cost = match spec.min_cost {
            Some(c) => {
                let s = pp + qp;
                let v = if s <= 18 {
                    i128::from(c.to_scaled(s).map_err(|_| prec("min_cost"))?)
                } else {
                    i128::from(c.to_scaled(18).map_err(|_| prec("min_cost"))?)
                        * 10i128.pow(u32::from(s - 18))
                };
                Some(v)
            }
            None => None,
        };
        let rate = |d: Decimal, f: &'static str| d.to_scaled(4).map_err(|_| prec(f));
        let maker_rate = rate(spec.maker_fee_bps, "maker_fee_bps")?;
        let taker_rate = rate(spec.taker_fee_bps, "taker_fee_bps")?;
        Ok(Instrument {
            status: spec.status,
            spec,
            pp,
            qp,
            tick,
            lot,
            min_qty,
            max_qty,
            min_cost,
            maker_rate,
            taker_rate,
            book: Book::new(max_levels),
            triggers: [Triggers::new(max_triggers), Triggers::new(max_triggers)],
            last_price: None,
            index_price: None,
            trade_seq: first_trade_seq.saturating_sub(1),
        })
    }

    pub(crate) fn ref_price(&self, r: TriggerRef) -> Option<i64> {
        match r {
            TriggerRef::Last => self.last_price,
            TriggerRef::Index => self.index_price,
        }
    }

    /// A price from the wire in ticks of 10^-pp.
    pub(crate) fn price_units(&self, d: Decimal) -> Result<i64, DecimalError> {
        d.to_scaled(self.pp)
    }

    /// A quantity from the wire in units of 10^-qp.
    pub(crate) fn qty_units(&self, d: Decimal) -> Result<i64, DecimalError> {
        d.to_scaled(self.qp)
    }

    /// A price for a report: exactly `pp` decimals (`84000.0`).
    pub(crate) fn px(&self, units: i64) -> Decimal {
        Decimal::new(units, self.pp)
    }

    /// A quantity for a report: trailing zeros trimmed (`0.01`, `0`).
    pub(crate) fn qty(&self, units: i64) -> Decimal {
        Decimal::new(units, self.qp).normalize()
    }

    /// Price × quantity at pp + qp decimals.
    pub(crate) fn notional(price: i64, qty: i64) -> i128 {
        i128::from(price) * i128::from(qty)
    }

    /// A money amount held at `pp + qp` decimals, for a report.
    pub(crate) fn money(&self, v: i128) -> Decimal {
        money(v, u32::from(self.pp) + u32::from(self.qp), 1)
    }

    /// The fee of a fill of `notional` at `rate`, at the fee precision (rounded half up).
    pub(crate) fn fee_units(&self, notional: i128, rate: i64) -> i64 {
        let num = notional.saturating_mul(i128::from(rate));
        let from = u32::from(self.pp) + u32::from(self.qp) + FEE_RATE_SCALE;
        let to = u32::from(self.spec.fee_precision);
        let v = rescale_round(num, from, to);
        i64::try_from(v).unwrap_or(i64::MAX)
    }

    pub(crate) fn fee(&self, units: i64) -> Decimal {
        if units == 0 {
            return Decimal::ZERO;
        }
        let d = Decimal::new(units, self.spec.fee_precision).normalize();
        if d.scale == 0 {
            Decimal::new(d.mantissa * 10, 1)
        } else {
            d
        }
    }

    /// AvgPx: Σ notional / CumQty, four extra decimals, trimmed to at least `pp` (0 before
    /// fills).
    pub(crate) fn avg_px(&self, cum_notional: i128, cum: i64) -> Decimal {
        if cum == 0 {
            return Decimal::ZERO;
        }
        let extra = 4u32.min(18 - u32::from(self.pp));
        let scaled = cum_notional.saturating_mul(10i128.pow(extra));
        let q = i128::from(cum);
        let v = (scaled + q / 2) / q;
        money(v, u32::from(self.pp) + extra, u32::from(self.pp).max(1))
    }
}

/// `v × 10^-from` at `to` decimals, rounded half away from zero.
pub(crate) fn rescale_round(v: i128, from: u32, to: u32) -> i128 {
    if to >= from {
        v.saturating_mul(10i128.saturating_pow(to - from))
    } else {
        let d = 10i128.saturating_pow(from - to);
        let half = d / 2;
        if v >= 0 {
            (v + half) / d
        } else {
            (v - half) / d
        }
    }
}

/// A value at `scale` decimals as a [`Decimal`]: zero is `0`; otherwise trailing zeros are
/// trimmed down to `min_scale` decimals, and digits beyond what an `i64` holds are rounded off.
pub(crate) fn money(v: i128, scale: u32, min_scale: u32) -> Decimal {
    if v == 0 {
        return Decimal::ZERO;
    }
    // Fast path: the value already fits an i64 (always, for realistic prices and sizes);
    // i64 division by a constant is far cheaper than i128 division.
    if scale <= 18 {
        if let Ok(mut m) = i64::try_from(v) {
            let mut scale = scale;
            while scale > min_scale && m % 10 == 0 {
                m /= 10;
                scale -= 1;
            }
            return widen(m, scale, min_scale);
        }
    }
    let (mut v, mut scale) = (v, scale);
    while scale > 18 || i64::try_from(v).is_err() {
        if scale == 0 {
            return Decimal::new(i64::MAX, 0);
        }
        v = rescale_round(v, scale, scale - 1);
        scale -= 1;
    }
    while scale > min_scale && v % 10 == 0 {
        v /= 10;
        scale -= 1;
    }
    widen(v as i64, scale, min_scale)
}

/// Adds trailing zeros up to `min_scale` decimals while the mantissa fits.
fn widen(mut m: i64, mut scale: u32, min_scale: u32) -> Decimal {
    while scale < min_scale && scale < 18 {
        match m.checked_mul(10) {
            Some(x) => {
                m = x;
                scale += 1;
            }
            None => break,
        }
    }
    Decimal::new(m, scale as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(d: Decimal) -> String {
        d.to_string()
    }

    #[test]
    fn spec_m07_values() {
        let i = Instrument::new(InstrumentSpec::btc_usd(), 4, 4, 16, 1).expect("valid");
        let px = i.price_units(Decimal::new(840000, 1)).expect("fits");
        let q = i.qty_units(Decimal::new(4, 3)).expect("fits");
        let n = Instrument::notional(px, q);
        assert_eq!(text(i.money(n)), "336.0");
        assert_eq!(text(i.px(px)), "84000.0");
        assert_eq!(text(i.qty(q)), "0.004");
        assert_eq!(text(i.qty(0)), "0");
        assert_eq!(text(i.fee(i.fee_units(n, i.maker_rate))), "0.5376");
        assert_eq!(text(i.avg_px(n, q)), "84000.0");
        assert_eq!(text(i.avg_px(0, 0)), "0");
        assert_eq!(text(i.money(0)), "0");
    }

    #[test]
    fn average_price_keeps_extra_digits() {
        let i = Instrument::new(InstrumentSpec::btc_usd(), 4, 4, 16, 1).expect("valid");
        // 1 @ 100.0 and 2 @ 100.1 → 100.0666…
        let n = Instrument::notional(1000, 100_000_000) + Instrument::notional(1001, 200_000_000);
        assert_eq!(text(i.avg_px(n, 300_000_000)), "100.06667");
    }

    #[test]
    fn bad_specs_are_refused() {
        let mut s = InstrumentSpec::btc_usd();
        s.tick_size = Decimal::new(1, 2);
        assert!(matches!(
            Instrument::new(s, 4, 4, 16, 1),
            Err(InstrumentError::Precision {
                field: "tick_size",
                ..
            })
        ));
        let mut s = InstrumentSpec::btc_usd();
        s.lot_step = Decimal::ZERO;
        assert!(matches!(
            Instrument::new(s, 4, 4, 16, 1),
            Err(InstrumentError::NotPositive {
                field: "lot_step",
                ..
            })
        ));
    }

    #[test]
    fn money_rounds_what_does_not_fit() {
        assert_eq!(text(money(123_000, 3, 1)), "123.0");
        assert_eq!(text(money(5, 1, 1)), "0.5");
        assert_eq!(text(money(10i128.pow(20) + 6, 20, 1)), "1.0");
        assert_eq!(rescale_round(-15, 1, 0), -2);
    }
}
