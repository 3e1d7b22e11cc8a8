//! The venue side of the in-memory harness on the real Kraken profile: a
//! [`tickwire_venue::kraken::Venue`] behind tickwire's userspace stack, one TLS 1.3 server
//! session per accepted connection, the Venue fed the decrypted bytes.
//!
//! ```text
//! MemNic ─► Stack (listens on 4000/4001) ─► tickwire-tls server ─► Venue::handle_input
//! Venue::transmit ─► tickwire-tls seal ─► Stack::send ─► MemNic
//! ```
//!
//! Ticks are real book changes of the Spot engine: a market maker (a participant account on
//! the engine, not throttled, never cancelled on disconnect) rests a bid at 83990.0 and one
//! 0.01 BTC offer that it moves every tick to 84000.0 + k × 0.1 (k = 0..7 from a seeded
//! xorshift, never where it already rests), by a cancel and a new order. The venue publishes
//! each change to the client's L2 subscription as a 35=X (5041-checksummed); on one tick in
//! eight the offer sits at 84000.0, the client's armed IOC buy lifts it in the matching
//! engine and both sides see the trade. One thread, no timer in the loop: same seed, same
//! order flow.

use std::hash::BuildHasher as _;
use std::io::{ErrorKind, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};

use base64::Engine as _;
use tickwire_dataplane::nic::Nic;
use tickwire_dataplane::stack::{ConnId, ConnState, Stack};
use tickwire_fix::decimal::Decimal;
use tickwire_fix::kraken::Credentials;
use tickwire_fix::time::UtcTimestamp;
use tickwire_venue::engine::{AccountId, CancelRequest, InstrumentId, NewOrder, SessionId, Side};
use tickwire_venue::kraken::{self, Client, Port, Venue};

use crate::feed::TRIGGER;

/// The client's CompID on the venue.
pub const COMP_ID: &str = "TESTCLIENT";

/// Freshly generated Kraken API credentials: a random key name and a 64-byte secret, shown
/// base64-encoded as Kraken shows it.
#[derive(Debug, Clone)]
pub struct GeneratedKey {
    /// API key (553).
    pub api_key: String,
    /// Secret, base64.
    pub secret_b64: String,
}

impl GeneratedKey {
    /// New random credentials (from the OS-seeded hasher keys of `RandomState`).
    pub fn generate() -> GeneratedKey {
        let word = |i: u64| std::collections::hash_map::RandomState::new().hash_one(i);
        let secret: Vec<u8> = (0..8u64).flat_map(|i| word(i).to_le_bytes()).collect();
        GeneratedKey {
            api_key: format!("TW{:016X}", word(99)),
            secret_b64: base64::engine::general_purpose::STANDARD.encode(secret),
        }
    }

    /// The client-side credentials.
    ///
    /// # Errors
    /// The credentials' error text.
    pub fn credentials(&self) -> Result<Credentials, String> {
        Credentials::new(&self.api_key, &self.secret_b64).map_err(|e| e.to_string())
    }
}

/// One accepted TCP connection: `T` is the transport's handle (a [`ConnId`] on the userspace
/// stack, a [`TcpStream`] on kernel sockets).
#[derive(Debug)]
struct Conn<T> {
    tcp: T,
    port: Port,
    tls: tickwire_tls::Session,
    venue: Option<kraken::ConnId>,
}

impl<T> Conn<T> {
    fn tls_error(&self, e: tickwire_tls::Error) -> String {
        format!("{} tls: {e}", self.port.name())
    }

    /// Counts `n` ciphertext bytes read; on the trading connection, the first read of a call
    /// runs `on_order_bytes` (the at-venue stamp).
    fn count_read(&self, n: usize, trading_bytes: &mut usize, on_order_bytes: &mut impl FnMut()) {
        if self.port == Port::SpotTrading {
            if *trading_bytes == 0 {
                on_order_bytes();
            }
            *trading_bytes += n;
        }
    }

    /// After the ciphertext was handed to TLS: accepts the venue session once the handshake
    /// completed and gives the venue the decrypted bytes.
    fn deliver(&mut self, venue: &mut Venue, now: UtcTimestamp) -> Result<(), String> {
        self.tls.poll().map_err(|e| self.tls_error(e))?;
        if self.venue.is_none() && self.tls.is_established() {
            self.venue = Some(
                venue
                    .handle_connect(self.port, now)
                    .map_err(|e| e.to_string())?,
            );
        }
        if let Some(id) = self.venue {
            if !self.tls.plaintext().is_empty() {
                let n = self.tls.plaintext().len();
                venue.handle_input(id, now, self.tls.plaintext());
                self.tls.consume_plaintext(n);
            }
        }
        Ok(())
    }

    /// Seals what the venue has to send on this connection, in records, until the venue has
    /// nothing more or `max_pending` ciphertext bytes wait to be written.
    fn seal(&mut self, venue: &mut Venue, max_pending: usize) -> Result<(), String> {
        let Some(id) = self.venue else {
            return Ok(());
        };
        if venue.wants_close(id) {
            return Err(format!("the venue closed {}", self.port.name()));
        }
        loop {
            let out = venue.transmit(id);
            if out.is_empty() || self.tls.pending_ciphertext().len() >= max_pending {
                break;
            }
            let n = out.len().min(RECORD_PLAINTEXT);
            self.tls
                .write_plaintext(&out[..n])
                .map_err(|e| self.tls_error(e))?;
            venue.consume_transmit(id, n);
        }
        Ok(())
    }
}

/// The market maker that makes the ticks.
#[derive(Debug)]
struct Maker {
    account: AccountId,
    session: SessionId,
    instrument: InstrumentId,
    rng: u64,
    /// Offset (0..8) and ClOrdID of the resting offer.
    resting: Option<(i64, u64)>,
    next_cl: u64,
    since_reset: u64,
}

/// Largest plaintext per TLS record.
const RECORD_PLAINTEXT: usize = 16 * 1024 - 256;

/// The Kraken venue on a userspace stack, with the tick maker.
#[derive(Debug)]
pub struct KrakenSide<N: Nic> {
    /// The venue's stack.
    pub stack: Stack<N>,
    /// The venue core.
    pub venue: Venue,
    conns: [Conn<ConnId>; 2],
    maker: Maker,
}

fn cl_text(id: u64, buf: &mut [u8; 20]) -> &[u8] {
    let n = tickwire_fix::encode::write_u64(buf, id).unwrap_or(0);
    &buf[..n]
}

impl<N: Nic> KrakenSide<N> {
    /// A Spot venue serving `key` as [`COMP_ID`] (no Derivatives, no synthetic market, no
    /// rollover; the Spot rate counter off, since the armed order fires thousands of times a
    /// second), listening on 4000 (market data) and 4001 (trading) of `stack`.
    ///
    /// # Errors
    /// What failed to build, as text.
    pub fn new(
        mut stack: Stack<N>,
        server: &tickwire_tls::ServerConfig,
        key: &GeneratedKey,
        now: UtcTimestamp,
    ) -> Result<KrakenSide<N>, String> {
        let (venue, maker) = core(key, now)?;
        let te = |e: tickwire_tls::Error| e.to_string();
        let mut conn = |port: Port| -> Result<Conn<ConnId>, String> {
            Ok(Conn {
                tcp: stack
                    .listen(port.default_port())
                    .map_err(|e| e.to_string())?,
                port,
                tls: tickwire_tls::Session::server(server, tickwire_tls::Capacities::default())
                    .map_err(te)?,
                venue: None,
            })
        };
        let conns = [conn(Port::SpotMd)?, conn(Port::SpotTrading)?];
        Ok(KrakenSide {
            stack,
            venue,
            conns,
            maker,
        })
    }

    /// Moves the maker's offer (one book change, published to the subscription by the venue).
    /// Returns whether the offer now sits at the trigger price (the armed order fires on it).
    ///
    /// # Errors
    /// An engine refusal, as text.
    pub fn tick(&mut self, now: UtcTimestamp) -> Result<bool, String> {
        maker_tick(&mut self.venue, &mut self.maker, now)
    }

    /// TCP → TLS → Venue on both connections; accepts a connection's session once its TLS
    /// handshake completes. `on_order_bytes` runs when the trading connection's `recv`
    /// returned bytes, before they are decrypted and handled (the at-venue stamp). Returns
    /// the ciphertext bytes read on the trading connection.
    ///
    /// # Errors
    /// TCP or TLS failures, as text.
    pub fn ingress(
        &mut self,
        now: UtcTimestamp,
        mut on_order_bytes: impl FnMut(),
    ) -> Result<usize, String> {
        let mut trading_bytes = 0;
        for c in &mut self.conns {
            if matches!(self.stack.state(c.tcp), ConnState::Connecting) {
                continue;
            }
            loop {
                let tls = &mut c.tls;
                let n = self
                    .stack
                    .recv_with(c.tcp, |b| tls.handle_ciphertext(b))
                    .map_err(|e| format!("{}: {e}", c.port.name()))?;
                if n == 0 {
                    break;
                }
                c.count_read(n, &mut trading_bytes, &mut on_order_bytes);
            }
            c.deliver(&mut self.venue, now)?;
        }
        Ok(trading_bytes)
    }

    /// Venue → TLS → TCP on both connections (what the venue has to send).
    ///
    /// # Errors
    /// TCP or TLS failures, as text.
    pub fn egress(&mut self) -> Result<(), String> {
        for c in &mut self.conns {
            c.seal(&mut self.venue, 16 * 1024)?;
            // The handshake's flights too.
            let out = c.tls.pending_ciphertext();
            if !out.is_empty() {
                let n = self
                    .stack
                    .send(c.tcp, out)
                    .map_err(|e| format!("{}: {e}", c.port.name()))?;
                c.tls.consume_ciphertext(n);
            }
        }
        Ok(())
    }
}

/// The venue core serving `key` as [`COMP_ID`] (no Derivatives, no synthetic market, no
/// rollover; the Spot rate counter off, since the armed order fires thousands of times a
/// second) and its market maker, the standing bid placed.
fn core(key: &GeneratedKey, now: UtcTimestamp) -> Result<(Venue, Maker), String> {
    let mut spot = tickwire_venue::engine::Config::spot();
    spot.spot_rate_limit = false;
    spot.open_order_cap = false;
    spot.error_rate = None;
    spot.max_accounts = 4;
    spot.max_sessions = 8;
    spot.clordids_per_account = 1 << 18;
    let cfg = kraken::Config {
        clients: vec![Client {
            comp_id: COMP_ID.into(),
            derivatives_comp_id: None,
            api_key: key.api_key.clone(),
            api_secret: key.secret_b64.clone(),
            tier: tickwire_venue::limits::Tier::Pro,
        }],
        spot,
        derivatives: None,
        rollover: None,
        max_connections: 4,
        market: None,
        ..kraken::Config::default()
    };
    let mut venue = Venue::new(cfg, now).map_err(|e| e.to_string())?;
    let engine = venue.spot_engine();
    let instrument = engine
        .instrument_id(b"BTC/USD")
        .ok_or("the venue has no BTC/USD")?;
    let (account, session) = engine.add_participant().map_err(|e| e.to_string())?;
    let mut maker = Maker {
        account,
        session,
        instrument,
        rng: 0x2545_f491_4f6c_dd1d,
        resting: None,
        next_cl: 1,
        since_reset: 0,
    };
    // The standing bid.
    let mut buf = [0u8; 20];
    let cl = maker.next_cl;
    maker.next_cl += 1;
    let bid = NewOrder::limit(
        cl_text(cl, &mut buf),
        b"BTC/USD",
        Side::Buy,
        Decimal::new(75, 2),
        Decimal::new(TRIGGER - 100, 1),
    );
    venue
        .spot_engine()
        .handle_new_order(session, &bid, now)
        .map_err(|e| format!("maker bid: {e:?}"))?;
    venue.handle_timeout(now);
    Ok((venue, maker))
}

/// Moves the maker's offer (see [`KrakenSide::tick`]).
fn maker_tick(venue: &mut Venue, m: &mut Maker, now: UtcTimestamp) -> Result<bool, String> {
    m.rng ^= m.rng << 13;
    m.rng ^= m.rng >> 7;
    m.rng ^= m.rng << 17;
    let mut k = (m.rng % 8) as i64;
    let engine = venue.spot_engine();
    // The maker's open orders: the bid, and the offer unless it was lifted.
    let still_rests = engine.open_orders(m.account, m.instrument) > 1;
    m.since_reset += 1;
    if m.since_reset >= 60_000 {
        // A new ClOrdID "day" long before the registry fills.
        m.since_reset = 0;
        engine.reset_clordids(m.account);
    }
    let (mut a, mut b) = ([0u8; 20], [0u8; 20]);
    if let (Some((old_k, old_cl)), true) = (m.resting, still_rests) {
        if k == old_k {
            k = (k + 1) % 8;
        }
        let cl = m.next_cl;
        m.next_cl += 1;
        engine
            .handle_cancel(
                m.session,
                &CancelRequest {
                    cl_ord_id: cl_text(cl, &mut a),
                    order_id: None,
                    orig_cl_ord_id: Some(cl_text(old_cl, &mut b)),
                    symbol: b"BTC/USD",
                    side: Side::Sell,
                },
                now,
            )
            .map_err(|e| format!("maker cancel: {e:?}"))?;
    }
    let cl = m.next_cl;
    m.next_cl += 1;
    let offer = NewOrder::limit(
        cl_text(cl, &mut a),
        b"BTC/USD",
        Side::Sell,
        Decimal::new(1, 2),
        Decimal::new(TRIGGER + k, 1),
    );
    engine
        .handle_new_order(m.session, &offer, now)
        .map_err(|e| format!("maker offer: {e:?}"))?;
    m.resting = Some((k, cl));
    // Drains the engine: reports, market data to the subscription.
    venue.handle_timeout(now);
    Ok(k == 0)
}

/// The same Kraken venue and market maker as [`KrakenSide`], on kernel TCP sockets (the
/// listeners are made by the caller, e.g. inside a network namespace: [`crate::veth`]).
/// Non-blocking sockets, polled by the caller's thread.
#[derive(Debug)]
pub struct KrakenKernel {
    /// The venue core.
    pub venue: Venue,
    maker: Maker,
    listeners: Vec<(TcpListener, Port)>,
    conns: Vec<Conn<TcpStream>>,
    server: tickwire_tls::ServerConfig,
    buf: Box<[u8]>,
}

impl KrakenKernel {
    /// Serves `key` (see [`KrakenSide::new`]) on `md` (Spot market data) and `trading` (Spot
    /// trading), both non-blocking.
    ///
    /// # Errors
    /// What failed to build, as text.
    pub fn new(
        md: TcpListener,
        trading: TcpListener,
        server: &tickwire_tls::ServerConfig,
        key: &GeneratedKey,
        now: UtcTimestamp,
    ) -> Result<KrakenKernel, String> {
        let (venue, maker) = core(key, now)?;
        Ok(KrakenKernel {
            venue,
            maker,
            listeners: vec![(md, Port::SpotMd), (trading, Port::SpotTrading)],
            conns: Vec::with_capacity(2),
            server: server.clone(),
            buf: vec![0u8; 64 * 1024].into_boxed_slice(),
        })
    }

    /// Accepts what is waiting (at most one connection per port).
    ///
    /// # Errors
    /// An accept or TLS failure, as text.
    pub fn accept(&mut self) -> Result<(), String> {
        for (l, port) in &self.listeners {
            if self.conns.iter().any(|c| c.port == *port) {
                continue;
            }
            match l.accept() {
                Ok((tcp, _)) => {
                    tcp.set_nonblocking(true).map_err(|e| e.to_string())?;
                    tcp.set_nodelay(true).map_err(|e| e.to_string())?;
                    let tls = tickwire_tls::Session::server(
                        &self.server,
                        tickwire_tls::Capacities::default(),
                    )
                    .map_err(|e| e.to_string())?;
                    self.conns.push(Conn {
                        tcp,
                        port: *port,
                        tls,
                        venue: None,
                    });
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => return Err(format!("accept on {}: {e}", port.name())),
            }
        }
        Ok(())
    }

    /// Moves the maker's offer (see [`KrakenSide::tick`]).
    ///
    /// # Errors
    /// An engine refusal, as text.
    pub fn tick(&mut self, now: UtcTimestamp) -> Result<bool, String> {
        maker_tick(&mut self.venue, &mut self.maker, now)
    }

    /// socket → TLS → Venue on every connection. `on_order_bytes` runs when a `read` on the
    /// trading connection returned bytes, before they are decrypted (the at-venue stamp).
    /// Returns the bytes read on the trading connection.
    ///
    /// # Errors
    /// Socket or TLS failures, a closed connection, as text.
    pub fn ingress(
        &mut self,
        now: UtcTimestamp,
        mut on_order_bytes: impl FnMut(),
    ) -> Result<usize, String> {
        let mut trading_bytes = 0;
        for c in &mut self.conns {
            loop {
                let n = match c.tcp.read(&mut self.buf) {
                    Ok(0) => return Err(format!("{}: the client closed", c.port.name())),
                    Ok(n) => n,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => 0,
                    Err(e) => return Err(format!("{}: {e}", c.port.name())),
                };
                if n == 0 {
                    break;
                }
                c.count_read(n, &mut trading_bytes, &mut on_order_bytes);
                let mut off = 0;
                while off < n {
                    off += c.tls.handle_ciphertext(&self.buf[off..n]);
                    c.tls.poll().map_err(|e| c.tls_error(e))?;
                }
            }
            c.deliver(&mut self.venue, now)?;
        }
        Ok(trading_bytes)
    }

    /// Venue → TLS on every connection: seals what the venue has to send.
    ///
    /// # Errors
    /// TLS failures, a connection the venue closed, as text.
    pub fn seal(&mut self) -> Result<(), String> {
        for c in &mut self.conns {
            c.seal(&mut self.venue, usize::MAX)?;
        }
        Ok(())
    }

    /// TLS → socket on every connection (handshake flights too), spinning while a socket is
    /// full.
    ///
    /// # Errors
    /// Socket failures, as text.
    pub fn write_out(&mut self) -> Result<(), String> {
        for c in &mut self.conns {
            while !c.tls.pending_ciphertext().is_empty() {
                match c.tcp.write(c.tls.pending_ciphertext()) {
                    Ok(n) => c.tls.consume_ciphertext(n),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => std::thread::yield_now(),
                    Err(e) => return Err(format!("{}: {e}", c.port.name())),
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn generated_keys_differ_and_sign() {
        let (a, b) = (GeneratedKey::generate(), GeneratedKey::generate());
        assert_ne!(a.secret_b64, b.secret_b64);
        let c = a.credentials().unwrap();
        let pw = c.password(1, b"TESTCLIENT", b"KRAKEN-TRD", 1);
        assert!(c.verify(1, b"TESTCLIENT", b"KRAKEN-TRD", 1, &pw));
        assert!(!c.verify(2, b"TESTCLIENT", b"KRAKEN-TRD", 1, &pw));
    }
}
