//! Deterministic OrderIDs and TradeIDs.
//!
//! An order's 64-bit key (slot in the order slab and the slot's generation) goes through a
//! keyed Feistel permutation, so ids look like Kraken's (`O3KQ7T-XH2LM-ZP4WUA` on Spot, a v4
//! UUID on Derivatives), are the same for the same seed and flow, and decode back to the key:
//! looking an order up by OrderID needs no map. A check value derived from the permuted key
//! fills the spare bits, so a made-up id is almost never taken for a live order.

use super::types::{InlineStr, OrderId, TradeId, Venue};

/// Kraken txid alphabet (RFC 4648 base32).
const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

fn round(x: u32, k: u64) -> u32 {
    let mut h = u64::from(x) ^ k;
    h = (h ^ (h >> 31)).wrapping_mul(0x7fb5_d329_728e_a185);
    h = (h ^ (h >> 27)).wrapping_mul(0x81da_def4_bc2d_d44d);
    (h ^ (h >> 33)) as u32
}

fn round_key(seed: u64, i: u64) -> u64 {
    seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(i.wrapping_mul(0xD1B5_4A32_D192_ED03))
}

/// Keyed bijection on 64 bits (four Feistel rounds).
pub(crate) fn permute(seed: u64, x: u64) -> u64 {
    let (mut l, mut r) = ((x >> 32) as u32, x as u32);
    for i in 0..4 {
        let t = l ^ round(r, round_key(seed, i));
        l = r;
        r = t;
    }
    (u64::from(l) << 32) | u64::from(r)
}

/// Inverse of [`permute`].
pub(crate) fn unpermute(seed: u64, y: u64) -> u64 {
    let (mut l, mut r) = ((y >> 32) as u32, y as u32);
    for i in (0..4).rev() {
        let t = r ^ round(l, round_key(seed, i));
        r = l;
        l = t;
    }
    (u64::from(l) << 32) | u64::from(r)
}

fn check(seed: u64, y: u64) -> u64 {
    let mut h = y ^ seed.rotate_left(17) ^ 0xA076_1D64_78BD_642F;
    h = (h ^ (h >> 29)).wrapping_mul(0xE703_7ED1_A0B4_28DB);
    h ^ (h >> 32)
}

/// `prefix` + 16 base32 characters as 5-5-6 groups after the prefix (Kraken txid layout).
fn txid(prefix: u8, seed: u64, key: u64) -> InlineStr<36> {
    let y = permute(seed, key);
    let v: u128 = (u128::from(check(seed, y) & 0xFFFF) << 64) | u128::from(y);
    let mut out = [0u8; 19];
    out[0] = prefix;
    let mut pos = 1;
    for i in 0..16 {
        if pos == 6 || pos == 12 {
            out[pos] = b'-';
            pos += 1;
        }
        out[pos] = BASE32[((v >> (75 - 5 * i)) & 31) as usize];
        pos += 1;
    }
    InlineStr::new(&out).unwrap_or(InlineStr::EMPTY)
}

fn txid_decode(prefix: u8, seed: u64, text: &[u8]) -> Option<u64> {
    if text.len() != 19 || text[0] != prefix || text[6] != b'-' || text[12] != b'-' {
        return None;
    }
    let mut v: u128 = 0;
    for (i, &c) in text.iter().enumerate().skip(1) {
        if i == 6 || i == 12 {
            continue;
        }
        let d = match c {
            b'A'..=b'Z' => c - b'A',
            b'2'..=b'7' => c - b'2' + 26,
            _ => return None,
        };
        v = v << 5 | u128::from(d);
    }
    let y = v as u64;
    if (v >> 64) as u64 != check(seed, y) & 0xFFFF {
        return None;
    }
    Some(unpermute(seed, y))
}

/// A v4 UUID holding the permuted key in 64 of its 122 free bits and a check value in the
/// other 58.
fn uuid(seed: u64, key: u64) -> InlineStr<36> {
    let y = permute(seed, key);
    let payload: u128 = (u128::from(check(seed, y) & ((1 << 58) - 1)) << 64) | u128::from(y);
    let v: u128 = ((payload >> 74) << 80)
        | (0x4 << 76)
        | (((payload >> 62) & 0xFFF) << 64)
        | (0x2 << 62)
        | (payload & ((1u128 << 62) - 1));
    let hex = b"0123456789abcdef";
    let mut out = [0u8; 36];
    let mut pos = 0;
    for i in 0..32 {
        if matches!(i, 8 | 12 | 16 | 20) {
            out[pos] = b'-';
            pos += 1;
        }
        out[pos] = hex[((v >> (124 - 4 * i)) & 0xF) as usize];
        pos += 1;
    }
    InlineStr::new(&out).unwrap_or(InlineStr::EMPTY)
}

fn uuid_decode(seed: u64, text: &[u8]) -> Option<u64> {
    if text.len() != 36 {
        return None;
    }
    let mut v: u128 = 0;
    for (i, &c) in text.iter().enumerate() {
        if matches!(i, 8 | 13 | 18 | 23) {
            if c != b'-' {
                return None;
            }
            continue;
        }
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => return None,
        };
        v = v << 4 | u128::from(d);
    }
    if (v >> 76) & 0xF != 4 || (v >> 62) & 0x3 != 2 {
        return None;
    }
    let payload: u128 = ((v >> 80) << 74) | (((v >> 64) & 0xFFF) << 62) | (v & ((1u128 << 62) - 1));
    let y = payload as u64;
    if (payload >> 64) as u64 != check(seed, y) & ((1 << 58) - 1) {
        return None;
    }
    Some(unpermute(seed, y))
}

/// OrderID text of an order key.
pub(crate) fn order_id(venue: Venue, seed: u64, key: u64) -> OrderId {
    match venue {
        Venue::Spot => txid(b'O', seed, key),
        Venue::Derivatives => uuid(seed, key),
    }
}

/// The order key an OrderID encodes, if it is one of ours.
pub(crate) fn order_key(venue: Venue, seed: u64, text: &[u8]) -> Option<u64> {
    match venue {
        Venue::Spot => txid_decode(b'O', seed, text),
        Venue::Derivatives => uuid_decode(seed, text),
    }
}

/// TradeID text of an engine-wide trade number.
pub(crate) fn trade_id(venue: Venue, seed: u64, trade_no: u64) -> TradeId {
    let seed = seed ^ 0x5452_4144_4500_0000;
    match venue {
        Venue::Spot => txid(b'T', seed, trade_no),
        Venue::Derivatives => uuid(seed, trade_no),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutation_round_trips() {
        for x in [0u64, 1, 2, u64::MAX, 0x1234_5678_9abc_def0, 1 << 32] {
            assert_eq!(unpermute(7, permute(7, x)), x);
        }
        assert_ne!(permute(7, 1), permute(8, 1));
    }

    #[test]
    fn spot_order_ids_look_like_kraken_and_decode() {
        let id = order_id(Venue::Spot, 42, 5);
        let s = id.as_bytes();
        assert_eq!(s.len(), 19);
        assert_eq!(s[0], b'O');
        assert_eq!((s[6], s[12]), (b'-', b'-'));
        assert!(s
            .iter()
            .all(|c| c.is_ascii_uppercase() || (b'2'..=b'7').contains(c) || *c == b'-'));
        assert_eq!(order_key(Venue::Spot, 42, s), Some(5));
        assert_eq!(order_key(Venue::Spot, 43, s), None, "other seed");
        assert_eq!(order_key(Venue::Spot, 42, b"O3KQ7T-XH2LM-ZP4WUA"), None);
        assert_eq!(order_key(Venue::Spot, 42, b"garbage"), None);
        assert_ne!(order_id(Venue::Spot, 42, 6), id);
        assert_eq!(order_id(Venue::Spot, 42, 5), id, "deterministic");
    }

    #[test]
    fn derivative_order_ids_are_v4_uuids_and_decode() {
        let key = (3u64 << 32) | 77;
        let id = order_id(Venue::Derivatives, 9, key);
        let s = id.as_bytes();
        assert_eq!(s.len(), 36);
        assert_eq!(s[14], b'4');
        assert!(matches!(s[19], b'8' | b'9' | b'a' | b'b'));
        assert_eq!(order_key(Venue::Derivatives, 9, s), Some(key));
        let upper: Vec<u8> = s.to_ascii_uppercase();
        assert_eq!(order_key(Venue::Derivatives, 9, &upper), Some(key));
        assert_eq!(
            order_key(
                Venue::Derivatives,
                9,
                b"9e58120f-40e0-44dc-beec-6d1b5ea9136c"
            ),
            None
        );
    }

    #[test]
    fn trade_ids_differ_from_order_ids() {
        let t = trade_id(Venue::Spot, 1, 1);
        assert_eq!(t.as_bytes()[0], b'T');
        assert_ne!(trade_id(Venue::Spot, 1, 2), t);
        assert_eq!(trade_id(Venue::Derivatives, 1, 1).as_bytes().len(), 36);
    }
}
