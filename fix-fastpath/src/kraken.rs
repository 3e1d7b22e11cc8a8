//! Kraken's FIX dialect: logon authentication and ClOrdID rules (SPEC §2, §3.7).
//!
//! - [`logon_password`]: `base64(HMAC-SHA512(base64decode(secret), SHA256(MessageInput ‖ nonce)))`
//!   with `MessageInput = "35=A|34=<seq>|49=<sender>|56=<target>|553=<key>|"` (SOH as `|`).
//! - [`Credentials`]: API key and secret; `Debug` never shows the secret.
//! - [`SpotClOrdId`]: strictly increasing integer ClOrdIDs (≤ 18 digits) from a microsecond
//!   clock, never below a persisted high-water mark.
//! - [`comb_uuid`] / [`comb_uuid_time`]: Derivatives' timestamp-first v4 COMB UUID, whose first
//!   48 bits are the time in 10 µs units.
//! - [`rate`]: the rate-limit arithmetic (Spot per-pair counter, Derivatives token bucket),
//!   shared by the venue simulator and the appliance's pre-trade throttle.
//!
//! Logon is not on the hot path; the password is computed into a fixed buffer anyway.

pub mod rate;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};

use crate::time::UtcTimestamp;

/// Length of a Kraken logon password: base64 of 64 bytes.
pub const PASSWORD_LEN: usize = 88;

/// Why a password could not be computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthError {
    /// The API secret is not valid base64.
    SecretNotBase64,
    /// The API secret decodes to nothing.
    EmptySecret,
}

impl core::fmt::Display for AuthError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::SecretNotBase64 => "API secret is not valid base64",
            Self::EmptySecret => "API secret is empty",
        })
    }
}

impl std::error::Error for AuthError {}

/// A Kraken FIX API key and its secret (kept decoded, never printed).
#[derive(Clone)]
pub struct Credentials {
    api_key: String,
    secret: Vec<u8>,
}

impl core::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Credentials")
            .field("api_key", &self.api_key)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl Credentials {
    /// From the API key and the secret as Kraken shows it (base64).
    ///
    /// # Errors
    /// [`AuthError`] if the secret is not base64 or empty.
    pub fn new(api_key: &str, secret_b64: &str) -> Result<Credentials, AuthError> {
        let secret = STANDARD
            .decode(secret_b64.trim())
            .map_err(|_| AuthError::SecretNotBase64)?;
        if secret.is_empty() {
            return Err(AuthError::EmptySecret);
        }
        Ok(Credentials {
            api_key: api_key.to_owned(),
            secret,
        })
    }

    /// The API key (tag 553).
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// The Logon password (tag 554) for this logon's MsgSeqNum, CompIDs and nonce.
    pub fn password(
        &self,
        seq: u64,
        sender: &[u8],
        target: &[u8],
        nonce_ms: u64,
    ) -> [u8; PASSWORD_LEN] {
        password_with_key(
            &self.secret,
            seq,
            sender,
            target,
            self.api_key.as_bytes(),
            nonce_ms,
        )
    }

    /// Checks a received password (the venue side), in constant time.
    pub fn verify(
        &self,
        seq: u64,
        sender: &[u8],
        target: &[u8],
        nonce_ms: u64,
        password: &[u8],
    ) -> bool {
        let Ok(received) = STANDARD.decode(password) else {
            return false;
        };
        let mut mac = hmac_over(
            &self.secret,
            seq,
            sender,
            target,
            self.api_key.as_bytes(),
            nonce_ms,
        );
        mac.update(&[]);
        mac.verify_slice(&received).is_ok()
    }
}

fn hmac_over(
    key: &[u8],
    seq: u64,
    sender: &[u8],
    target: &[u8],
    api_key: &[u8],
    nonce_ms: u64,
) -> Hmac<Sha512> {
    let mut sha = Sha256::new();
    let mut num = [0u8; 20];
    sha.update(b"35=A\x0134=");
    let n = crate::encode::write_u64(&mut num, seq).unwrap_or(0);
    sha.update(&num[..n]);
    sha.update(b"\x0149=");
    sha.update(sender);
    sha.update(b"\x0156=");
    sha.update(target);
    sha.update(b"\x01553=");
    sha.update(api_key);
    sha.update(b"\x01");
    let n = crate::encode::write_u64(&mut num, nonce_ms).unwrap_or(0);
    sha.update(&num[..n]);
    let digest = sha.finalize();
    // HMAC accepts keys of any length; new_from_slice cannot fail for Hmac<Sha512>.
    let mut mac = <Hmac<Sha512> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| <Hmac<Sha512> as Mac>::new_from_slice(&[0]).expect("non-empty key"));
    mac.update(&digest);
    mac
}

fn password_with_key(
    key: &[u8],
    seq: u64,
    sender: &[u8],
    target: &[u8],
    api_key: &[u8],
    nonce_ms: u64,
) -> [u8; PASSWORD_LEN] {
    let tag = hmac_over(key, seq, sender, target, api_key, nonce_ms)
        .finalize()
        .into_bytes();
    let mut out = [0u8; PASSWORD_LEN];
    // 64 bytes always encode to exactly 88 base64 characters.
    let _ = STANDARD.encode_slice(tag, &mut out);
    out
}

/// The Kraken logon password, from the secret as Kraken shows it (base64).
///
/// # Errors
/// [`AuthError`] if the secret is not base64.
pub fn logon_password(
    seq: u64,
    sender: &str,
    target: &str,
    api_key: &str,
    secret_b64: &str,
    nonce_ms: u64,
) -> Result<String, AuthError> {
    let creds = Credentials::new(api_key, secret_b64)?;
    let pw = creds.password(seq, sender.as_bytes(), target.as_bytes(), nonce_ms);
    Ok(String::from_utf8_lossy(&pw).into_owned())
}

/// Strictly increasing numeric Spot ClOrdIDs: the microsecond timestamp, bumped by one when
/// the clock has not moved, never at or below the high-water mark (restored from the journal
/// after a restart).
#[derive(Debug, Clone, Copy)]
pub struct SpotClOrdId {
    last: u64,
}

/// The largest Spot ClOrdID (18 digits).
pub const SPOT_CLORDID_MAX: u64 = 999_999_999_999_999_999;

impl SpotClOrdId {
    /// Continues after `high_water` (the last ClOrdID used, 0 if none).
    pub fn new(high_water: u64) -> SpotClOrdId {
        SpotClOrdId { last: high_water }
    }

    /// The next ClOrdID at `now`, or `None` when the 18-digit space is exhausted.
    #[inline]
    pub fn next(&mut self, now: UtcTimestamp) -> Option<u64> {
        let micros = u64::try_from(now.nanos / 1000).unwrap_or(0);
        let id = micros.max(self.last + 1);
        if id > SPOT_CLORDID_MAX {
            return None;
        }
        self.last = id;
        Some(id)
    }

    /// The last ClOrdID handed out (persist it as the high-water mark).
    pub fn high_water(&self) -> u64 {
        self.last
    }
}

/// A derivatives COMB UUID for `now`: 48 bits of time in 10 µs units, version 4, RFC 4122
/// variant, the rest from `random`. Written as 36 lower-case characters.
pub fn comb_uuid(now: UtcTimestamp, random: u128) -> [u8; 36] {
    let ticks = (now.nanos / 10_000) as u128 & 0xFFFF_FFFF_FFFF;
    let mut v = (ticks << 80) | (random & ((1u128 << 80) - 1));
    v = (v & !(0xF << 76)) | (0x4 << 76); // version 4
    v = (v & !(0x3 << 62)) | (0x2 << 62); // variant 10xx
    let mut out = [0u8; 36];
    let hex = b"0123456789abcdef";
    let mut pos = 0;
    for i in 0..32 {
        if matches!(i, 8 | 12 | 16 | 20) {
            out[pos] = b'-';
            pos += 1;
        }
        let nibble = (v >> (124 - 4 * i)) & 0xF;
        out[pos] = hex[nibble as usize];
        pos += 1;
    }
    out
}

/// The time encoded in a COMB UUID's first 48 bits, or `None` if `uuid` is not a UUID.
pub fn comb_uuid_time(uuid: &[u8]) -> Option<UtcTimestamp> {
    if uuid.len() != 36
        || uuid[8] != b'-'
        || uuid[13] != b'-'
        || uuid[18] != b'-'
        || uuid[23] != b'-'
    {
        return None;
    }
    let mut ticks: u64 = 0;
    for &b in uuid[..8].iter().chain(&uuid[9..13]) {
        ticks = ticks << 4 | u64::from(hex_value(b)?);
    }
    for &b in uuid[14..18].iter().chain(&uuid[19..23]).chain(&uuid[24..]) {
        hex_value(b)?;
    }
    Some(UtcTimestamp::from_nanos(ticks as i64 * 10_000))
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Derivatives ClOrdIDs: COMB UUIDs from the clock and a seeded generator. Two ids made in the
/// same 10 µs tick share their first 48 bits and differ in the 74 random bits.
#[derive(Debug, Clone)]
pub struct CombUuids {
    random: UuidRandom,
}

impl CombUuids {
    /// Seed with something that differs between processes (start time, pid).
    pub fn new(seed: u64) -> CombUuids {
        CombUuids {
            random: UuidRandom::new(seed),
        }
    }

    /// The next ClOrdID for `now`.
    #[inline]
    pub fn next(&mut self, now: UtcTimestamp) -> [u8; 36] {
        comb_uuid(now, self.random.next_u128())
    }
}

/// A small, fast, seeded generator (xorshift128+) for the random part of COMB UUIDs.
#[derive(Debug, Clone)]
pub struct UuidRandom {
    s: [u64; 2],
}

impl UuidRandom {
    /// Seeded generator; any seed works (zero is remapped).
    pub fn new(seed: u64) -> UuidRandom {
        let a = seed ^ 0x9E37_79B9_7F4A_7C15;
        UuidRandom {
            s: [a | 1, a.rotate_left(32) ^ 0xD1B5_4A32_D192_ED03],
        }
    }

    /// The next 128 random bits.
    pub fn next_u128(&mut self) -> u128 {
        (u128::from(self.next_u64()) << 64) | u128::from(self.next_u64())
    }

    fn next_u64(&mut self) -> u64 {
        let mut s1 = self.s[0];
        let s0 = self.s[1];
        self.s[0] = s0;
        s1 ^= s1 << 23;
        self.s[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
        self.s[1].wrapping_add(s0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET_A: &str =
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==";

    #[test]
    fn spec_vector_a_and_derivatives_variants() {
        let pw = |sender, target| {
            logon_password(
                1,
                sender,
                target,
                "FIXTESTKEY123",
                SECRET_A,
                1_775_572_321_000,
            )
            .expect("valid secret")
        };
        assert_eq!(
            pw("TESTCLIENT", "KRAKEN-TRD"),
            "oWWvxBVJx+RDAxuQBZYu7bh5lgpUeIyDPrn5LbJrUp3IbfRm/4ZhReD0tBgbtZwLTZC/fmqdipqo2LPDlyvMqg=="
        );
        assert_eq!(
            pw("TESTCLIENT-DRV", "KRAKEN-DRV-TRD"),
            "63bzJz91TJh7adlNUG7LXP85YBSUS2GaEZCyFtmZtXR3/Us1equH358cirzzrY30jNSFtWYK80RoX8QZVo252w=="
        );
        assert_eq!(
            pw("TESTCLIENT-DRV", "KRAKEN-TRD"),
            "k1TP27nGtawVeOehi1sm0CmG8vozTvpEMZFeFlhyUa9F23kwFjHz9dNxEoxaP7n/UCCzWJx6XN0wHhz2Vg4M1A=="
        );
    }

    #[test]
    fn spec_vector_b() {
        assert_eq!(
            logon_password(7, "CLIENT", "KRAKEN-TRD", "APIKEY", "c2VjcmV0", 1_724_512_345_678)
                .expect("valid secret"),
            "MwX+M7nvuHXxD5aGI/TFpghXxg2iblxXYyz7lRzLCPMA4UJYI3osNrUKWCiI3fDnOLkEQ5WKSK58Mp3nvu1Klw=="
        );
    }

    #[test]
    fn verify_accepts_only_the_right_password() {
        let c = Credentials::new("FIXTESTKEY123", SECRET_A).expect("valid");
        let pw = c.password(1, b"TESTCLIENT", b"KRAKEN-TRD", 1_775_572_321_000);
        assert!(c.verify(1, b"TESTCLIENT", b"KRAKEN-TRD", 1_775_572_321_000, &pw));
        assert!(!c.verify(2, b"TESTCLIENT", b"KRAKEN-TRD", 1_775_572_321_000, &pw));
        assert!(!c.verify(1, b"TESTCLIENT", b"KRAKEN-TRD", 1_775_572_321_001, &pw));
        assert!(!c.verify(
            1,
            b"TESTCLIENT",
            b"KRAKEN-TRD",
            1_775_572_321_000,
            b"not base64!"
        ));
    }

    #[test]
    fn secrets_are_redacted_and_validated() {
        let c = Credentials::new("K", SECRET_A).expect("valid");
        assert!(!format!("{c:?}").contains("AAEC"));
        assert_eq!(
            Credentials::new("K", "***").map(|_| ()),
            Err(AuthError::SecretNotBase64)
        );
        assert_eq!(
            Credentials::new("K", "").map(|_| ()),
            Err(AuthError::EmptySecret)
        );
    }

    #[test]
    fn spot_clordids_increase_and_respect_high_water() {
        let t = UtcTimestamp::parse(b"20260407-14:32:05.000").expect("valid");
        let mut g = SpotClOrdId::new(0);
        assert_eq!(g.next(t), Some(1_775_572_325_000_000));
        assert_eq!(
            g.next(t),
            Some(1_775_572_325_000_001),
            "same microsecond still increases"
        );
        let mut restarted = SpotClOrdId::new(1_775_572_325_000_005);
        assert_eq!(
            restarted.next(t),
            Some(1_775_572_325_000_006),
            "never below the journal's mark"
        );
        let mut full = SpotClOrdId::new(SPOT_CLORDID_MAX);
        assert_eq!(full.next(t), None);
    }

    #[test]
    fn comb_uuid_matches_spec_m16() {
        let t = comb_uuid_time(b"a17cc3c5-3d20-4a1b-8c2d-3e4f5a6b7c8d").expect("uuid");
        assert_eq!(t.nanos / 10_000, 177_557_232_500_000);
        assert_eq!(
            t,
            UtcTimestamp::parse(b"20260407-14:32:05.000").expect("valid")
        );
        let u = comb_uuid(t, UuidRandom::new(7).next_u128());
        assert!(u.starts_with(b"a17cc3c5-3d20-4"));
        assert_eq!(comb_uuid_time(&u), Some(t));
        assert!(
            matches!(u[19], b'8' | b'9' | b'a' | b'b'),
            "RFC 4122 variant"
        );
        assert_eq!(u[14], b'4', "version 4");
        // SPEC §8 item 33: the documented a17d49af-1186 is 177559479193990 ticks.
        let doc = comb_uuid_time(b"a17d49af-1186-4000-8000-000000000000").expect("uuid");
        assert_eq!(doc.nanos / 10_000, 177_559_479_193_990);
        assert_eq!(comb_uuid_time(b"1775572325000000"), None);
        let mut ids = CombUuids::new(42);
        let (a, b) = (ids.next(t), ids.next(t));
        assert_ne!(a, b, "same tick, different random part");
        assert_eq!((comb_uuid_time(&a), comb_uuid_time(&b)), (Some(t), Some(t)));
        assert!(a
            .iter()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase() || *c == b'-'));
        assert_eq!(
            comb_uuid_time(b"a17cc3c5-3d20-4a1b-8c2d-3e4f5a6b7cZZ"),
            None
        );
    }
}

/// Why a ClOrdID was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClOrdIdError {
    /// Already used in this session (SPEC §3.7).
    Duplicate,
    /// A numeric Spot ClOrdID not above the previous one.
    NotIncreasing { last: u64 },
    /// The registry is full (sized at start-up).
    Full,
}

impl core::fmt::Display for ClOrdIdError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Duplicate => f.write_str("duplicate ClOrdID"),
            Self::NotIncreasing { last } => write!(f, "ClOrdID not above the previous {last}"),
            Self::Full => f.write_str("ClOrdID registry full"),
        }
    }
}

impl std::error::Error for ClOrdIdError {}

/// ClOrdIDs used in one session: an open-addressing set of their 64-bit hashes (fixed
/// capacity, no allocation after construction), plus the high-water mark of numeric ids.
/// Used by the client to refuse sending a duplicate and by the venue to reject one.
#[derive(Debug, Clone)]
pub struct ClOrdIdRegistry {
    slots: Vec<u64>,
    used: usize,
    numeric_high_water: u64,
    require_increasing: bool,
}

impl ClOrdIdRegistry {
    /// Room for `capacity` ids; `require_increasing` enforces Kraken's Spot rule for numeric ids.
    pub fn new(capacity: usize, require_increasing: bool) -> ClOrdIdRegistry {
        let size = (capacity.max(8) * 2).next_power_of_two();
        ClOrdIdRegistry {
            slots: vec![0; size],
            used: 0,
            numeric_high_water: 0,
            require_increasing,
        }
    }

    fn hash(id: &[u8]) -> u64 {
        // FNV-1a, then never 0 (0 marks an empty slot).
        let h = id.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        h | 1
    }

    /// Registers `id`, or says why it may not be used.
    ///
    /// # Errors
    /// [`ClOrdIdError`].
    pub fn insert(&mut self, id: &[u8]) -> Result<(), ClOrdIdError> {
        if self.require_increasing {
            if let Some(n) = crate::message::parse_uint(id) {
                if n <= self.numeric_high_water {
                    return Err(if self.contains(id) {
                        ClOrdIdError::Duplicate
                    } else {
                        ClOrdIdError::NotIncreasing {
                            last: self.numeric_high_water,
                        }
                    });
                }
            }
        }
        if self.used * 2 >= self.slots.len() {
            return Err(ClOrdIdError::Full);
        }
        let h = Self::hash(id);
        let mask = self.slots.len() - 1;
        let mut i = (h as usize) & mask;
        loop {
            match self.slots[i] {
                0 => {
                    self.slots[i] = h;
                    self.used += 1;
                    if let Some(n) = crate::message::parse_uint(id) {
                        self.numeric_high_water = self.numeric_high_water.max(n);
                    }
                    return Ok(());
                }
                x if x == h => return Err(ClOrdIdError::Duplicate),
                _ => i = (i + 1) & mask,
            }
        }
    }

    /// True if `id` was registered (by hash: a 64-bit collision would read as a duplicate).
    pub fn contains(&self, id: &[u8]) -> bool {
        let h = Self::hash(id);
        let mask = self.slots.len() - 1;
        let mut i = (h as usize) & mask;
        loop {
            match self.slots[i] {
                0 => return false,
                x if x == h => return true,
                _ => i = (i + 1) & mask,
            }
        }
    }

    /// Forgets everything (daily rollover, or 5030=Y).
    pub fn reset(&mut self) {
        self.slots.iter_mut().for_each(|s| *s = 0);
        self.used = 0;
        self.numeric_high_water = 0;
    }
}

#[cfg(test)]
mod registry_tests {
    use super::*;

    #[test]
    fn duplicates_and_decreasing_ids_are_refused() {
        let mut r = ClOrdIdRegistry::new(4, true);
        assert_eq!(r.insert(b"100"), Ok(()));
        assert_eq!(r.insert(b"100"), Err(ClOrdIdError::Duplicate));
        assert_eq!(
            r.insert(b"99"),
            Err(ClOrdIdError::NotIncreasing { last: 100 })
        );
        assert_eq!(r.insert(b"a17cc3c5-3d20-4a1b-8c2d-3e4f5a6b7c8d"), Ok(()));
        assert_eq!(
            r.insert(b"a17cc3c5-3d20-4a1b-8c2d-3e4f5a6b7c8d"),
            Err(ClOrdIdError::Duplicate)
        );
        for i in 0..6 {
            let _ = r.insert(format!("x{i}").as_bytes());
        }
        assert_eq!(r.insert(b"one-too-many"), Err(ClOrdIdError::Full));
        r.reset();
        assert_eq!(r.insert(b"99"), Ok(()));
    }
}
