//! The operator's commands to a running daemon, over its admin socket: `status`, `session`,
//! `whitelist`, `risk`, `order`, `arm`/`disarm`/`armed`, `kill`/`unkill`, `metrics`, `log tail`,
//! `probe`. Each becomes one JSON-lines request ([`tickwire_control::admin`]); mutating ones
//! carry the token from `--token-file` (a 0600 file) or `$TICKWIRE_ADMIN_TOKEN`.
//!
//! Exit codes: 0 done; 1 the daemon refused (queue full, session down, busy); 2 bad arguments
//! or unknown name; 3 no daemon on the socket, or the token is missing or wrong.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use serde_json::{json, Value};
use tickwire_control::admin::{self, ErrorCode, Request};
use tickwire_control::config::SecretRef;

use super::{Output, Status};

/// Where the daemon listens and how to prove who we are.
#[derive(Debug, Clone, Args)]
pub struct Conn {
    /// The daemon's admin socket.
    #[arg(long, global = true, default_value = "/run/tickwire/admin.sock")]
    pub socket: PathBuf,
    /// File holding the admin token (mode 0600); else `$TICKWIRE_ADMIN_TOKEN`.
    #[arg(long, global = true)]
    pub token_file: Option<PathBuf>,
    /// How long to wait for the daemon, milliseconds.
    #[arg(long, global = true, default_value_t = 5000)]
    pub timeout_ms: u64,
}

/// `tickwire session` verbs.
#[derive(Debug, Subcommand)]
pub enum Session {
    /// Every session: state, sequence numbers, endpoint.
    List,
    /// One session in detail.
    Show {
        /// Session name (from the configuration).
        name: String,
    },
    /// Log a session on.
    Logon {
        /// Session name.
        name: String,
    },
    /// Log a session out (35=5).
    Logout {
        /// Session name.
        name: String,
        /// Text (58) of the Logout.
        #[arg(long)]
        text: Option<String>,
    },
    /// Reset both sequence numbers to 1 (SequenceReset-Reset).
    ResetSeq {
        /// Session name.
        name: String,
    },
    /// Set the next sender and/or target MsgSeqNum.
    SetSeq {
        /// Session name.
        name: String,
        /// Next MsgSeqNum we send.
        #[arg(long)]
        sender: Option<u64>,
        /// Next MsgSeqNum we expect.
        #[arg(long)]
        target: Option<u64>,
    },
}

/// `tickwire whitelist` verbs.
#[derive(Debug, Subcommand)]
pub enum Whitelist {
    /// Venue addresses the dataplane lets through.
    List,
    /// Allow an address (applied live to the dataplane filter).
    Add {
        /// IPv4 address.
        address: std::net::Ipv4Addr,
    },
    /// Stop allowing an address (its frames are dropped and counted from then on).
    Remove {
        /// IPv4 address.
        address: std::net::Ipv4Addr,
    },
}

/// `tickwire risk` verbs.
#[derive(Debug, Subcommand)]
pub enum Risk {
    /// Limits and current usage.
    Show,
    /// Change one limit (between polls, without a restart).
    Set {
        /// The limit (`max_order_qty`, `max_notional`, `price_collar_bps`, `max_open_orders`,
        /// `max_open_orders_per_instrument`, `max_position`, `duplicate_window_ms`).
        limit: String,
        /// The new value (decimal text for quantities and prices).
        value: String,
    },
}

/// `tickwire order` verbs.
#[derive(Debug, Subcommand)]
pub enum Order {
    /// Open orders.
    List,
    /// Cancel one order (35=F).
    Cancel {
        /// Its ClOrdID.
        cl_ord_id: String,
    },
    /// Cancel every order (35=q, 530=7).
    MassCancel {
        /// Only on this trading session.
        #[arg(long)]
        session: Option<String>,
    },
}

/// `tickwire log` verbs.
#[derive(Debug, Subcommand)]
pub enum Log {
    /// The last messages of a session, decoded with tag names.
    Tail {
        /// Session name.
        name: String,
        /// How many.
        #[arg(long, default_value_t = 20)]
        lines: u32,
    },
}

/// Arguments of `tickwire arm`.
#[derive(Debug, Args)]
pub struct Arm {
    /// Instrument (`BTC/USD`).
    #[arg(long)]
    pub symbol: String,
    /// Condition: ask-at-or-below, bid-at-or-above, last-at-or-below, last-at-or-above,
    /// spread-at-or-below.
    #[arg(long)]
    pub when: String,
    /// Level the condition compares with.
    #[arg(long)]
    pub level: String,
    /// buy or sell.
    #[arg(long)]
    pub side: String,
    /// Limit price.
    #[arg(long)]
    pub price: String,
    /// Quantity.
    #[arg(long)]
    pub qty: String,
    /// Re-arm after this many milliseconds (one-shot when absent).
    #[arg(long)]
    pub rearm_after_ms: Option<u64>,
    /// TimeInForce of the order: ioc (the default) or gtc (rests on the book).
    #[arg(long, default_value = "ioc")]
    pub tif: String,
    /// Trading session that sends it.
    #[arg(long)]
    pub session: String,
}

/// A command for the daemon, built from the CLI's nouns and verbs.
#[derive(Debug)]
pub enum Command {
    /// `tickwire status`.
    Status,
    /// `tickwire session …`.
    Session(Session),
    /// `tickwire whitelist …`.
    Whitelist(Whitelist),
    /// `tickwire risk …`.
    Risk(Risk),
    /// `tickwire order …`.
    Order(Order),
    /// `tickwire armed`.
    Armed,
    /// `tickwire arm …`.
    Arm(Arm),
    /// `tickwire disarm ID`.
    Disarm(u32),
    /// `tickwire kill`.
    Kill,
    /// `tickwire unkill`.
    Unkill,
    /// `tickwire metrics`.
    Metrics,
    /// `tickwire log …`.
    Log(Log),
    /// `tickwire probe NAME`.
    Probe {
        /// Session.
        name: String,
        /// Round trips.
        count: u32,
    },
}

impl Command {
    /// The request name and arguments.
    pub fn request(self) -> (&'static str, Value) {
        match self {
            Self::Status => ("status", Value::Null),
            Self::Session(s) => match s {
                Session::List => ("session.list", Value::Null),
                Session::Show { name } => ("session.show", json!({ "name": name })),
                Session::Logon { name } => ("session.logon", json!({ "name": name })),
                Session::Logout { name, text } => {
                    ("session.logout", json!({ "name": name, "text": text }))
                }
                Session::ResetSeq { name } => ("session.reset-seq", json!({ "name": name })),
                Session::SetSeq {
                    name,
                    sender,
                    target,
                } => (
                    "session.set-seq",
                    json!({ "name": name, "sender": sender, "target": target }),
                ),
            },
            Self::Whitelist(w) => match w {
                Whitelist::List => ("whitelist.list", Value::Null),
                Whitelist::Add { address } => {
                    ("whitelist.add", json!({ "address": address.to_string() }))
                }
                Whitelist::Remove { address } => (
                    "whitelist.remove",
                    json!({ "address": address.to_string() }),
                ),
            },
            Self::Risk(r) => match r {
                Risk::Show => ("risk.show", Value::Null),
                Risk::Set { limit, value } => {
                    ("risk.set", json!({ "limit": limit, "value": value }))
                }
            },
            Self::Order(o) => match o {
                Order::List => ("order.list", Value::Null),
                Order::Cancel { cl_ord_id } => ("order.cancel", json!({ "cl_ord_id": cl_ord_id })),
                Order::MassCancel { session } => {
                    ("order.mass-cancel", json!({ "session": session }))
                }
            },
            Self::Armed => ("armed", Value::Null),
            Self::Arm(a) => (
                "arm",
                json!({
                    "symbol": a.symbol, "when": a.when, "level": a.level, "side": a.side,
                    "price": a.price, "qty": a.qty, "rearm_after_ms": a.rearm_after_ms,
                    "session": a.session, "tif": a.tif,
                }),
            ),
            Self::Disarm(id) => ("disarm", json!({ "id": id })),
            Self::Kill => ("kill", Value::Null),
            Self::Unkill => ("unkill", Value::Null),
            Self::Metrics => ("metrics", Value::Null),
            Self::Log(Log::Tail { name, lines }) => {
                ("log.tail", json!({ "name": name, "lines": lines }))
            }
            Self::Probe { name, count } => ("probe", json!({ "name": name, "count": count })),
        }
    }
}

/// Sends `command` to the daemon and prints the answer.
///
/// # Errors
/// Classified errors: no daemon (3), token (3), arguments (2), refused (1).
pub fn run(command: Command, conn: &Conn, output: Output) -> anyhow::Result<Status> {
    let (name, args) = command.request();
    let mutating = admin::Catalog::mutating(name).unwrap_or(true);
    let token = if mutating { Some(token(conn)?) } else { None };
    let request = Request {
        id: Some(1),
        token,
        command: name.to_owned(),
        args,
    };
    let response = admin::call(
        &conn.socket,
        &request,
        Duration::from_millis(conn.timeout_ms),
    )
    .map_err(|e| match e {
        admin::ClientError::Connect(..) => super::environment(e),
        _ => anyhow::Error::new(e),
    })?;
    if let Some(err) = response.error {
        let message = format!("{name}: {}", err.message);
        return Err(match err.code {
            ErrorCode::Unauthorized => super::environment(message),
            ErrorCode::BadRequest | ErrorCode::UnknownCommand | ErrorCode::InvalidArgument => {
                super::usage(message)
            }
            ErrorCode::Refused | ErrorCode::Busy => anyhow::anyhow!(message),
        });
    }
    print(&response.data, output)?;
    Ok(Status::Ok)
}

fn token(conn: &Conn) -> anyhow::Result<String> {
    let r = match &conn.token_file {
        Some(path) => SecretRef::File(path.clone()),
        None => SecretRef::Env("TICKWIRE_ADMIN_TOKEN".into()),
    };
    r.load("--token-file")
        .map(|s| s.expose().to_owned())
        .map_err(|e| {
            super::environment(format!(
                "this command changes state and needs the admin token: {e}"
            ))
        })
}

#[allow(clippy::print_stdout)]
fn print(data: &Value, output: Output) -> anyhow::Result<()> {
    if output == Output::Json {
        return super::print_json(data);
    }
    let mut out = String::new();
    text(data, 0, &mut out);
    print!("{out}");
    Ok(())
}

/// Readable text for any JSON document: `key  value` lines, nested tables indented, arrays of
/// objects one item per block.
fn text(v: &Value, depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    match v {
        Value::Object(m) => {
            let width = m
                .iter()
                .filter(|(_, v)| !v.is_object() && !v.is_array())
                .map(|(k, _)| k.len())
                .max()
                .unwrap_or(0);
            for (k, v) in m {
                match v {
                    Value::Object(_) | Value::Array(_) => {
                        out.push_str(&format!("{pad}{k}:\n"));
                        text(v, depth + 1, out);
                    }
                    _ => out.push_str(&format!("{pad}{k:<width$}  {}\n", scalar(v))),
                }
            }
        }
        Value::Array(items) if items.is_empty() => out.push_str(&format!("{pad}(none)\n")),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                match item {
                    Value::Object(_) | Value::Array(_) => {
                        if i > 0 {
                            out.push('\n');
                        }
                        text(item, depth, out);
                    }
                    _ => out.push_str(&format!("{pad}{}\n", scalar(item))),
                }
            }
        }
        Value::Null => {}
        other => out.push_str(&format!("{pad}{}\n", scalar(other))),
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cli_command_maps_to_a_catalogued_request() {
        let all = [
            Command::Status,
            Command::Session(Session::List),
            Command::Session(Session::Logout {
                name: "trd".into(),
                text: None,
            }),
            Command::Whitelist(Whitelist::Remove {
                address: "10.0.0.2".parse().unwrap_or(std::net::Ipv4Addr::LOCALHOST),
            }),
            Command::Risk(Risk::Show),
            Command::Order(Order::MassCancel { session: None }),
            Command::Armed,
            Command::Disarm(3),
            Command::Kill,
            Command::Unkill,
            Command::Metrics,
            Command::Log(Log::Tail {
                name: "md".into(),
                lines: 5,
            }),
            Command::Probe {
                name: "trd".into(),
                count: 10,
            },
        ];
        for c in all {
            let (name, _) = c.request();
            assert!(admin::Catalog::mutating(name).is_some(), "{name}");
        }
    }

    #[test]
    fn text_lists_keys_and_nests() {
        let mut s = String::new();
        text(
            &json!({"state": "active", "seq": {"next_sender": 5}, "orders": []}),
            0,
            &mut s,
        );
        assert!(s.contains("state  active"), "{s}");
        assert!(s.contains("seq:\n  next_sender  5"), "{s}");
        assert!(s.contains("orders:\n  (none)"), "{s}");
    }
}
