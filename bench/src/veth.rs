//! Tick-to-trade wire to wire through a veth pair: the appliance's userspace stack on
//! tickwire's AF_PACKET backend on the host end, the venue on kernel TCP in its own network
//! namespace on the other end.
//!
//! ```text
//! root netns:  client  AfPacket(host end) ─► Stack ─► TLS 1.3 ─► FIX ─► book ─► trigger ─► order
//!                         ║ veth
//! venue netns: kernel TCP (10.79.0.2:4000/4001) ─► tickwire-tls server ─► FIX (minimal venue
//!              or the Kraken profile)
//! ```
//!
//! One thread polls both ends, as baseline (b) does (two busy-polling threads starve each other
//! on a 2-vCPU machine, DESIGN §7): the venue's sockets are created by a short-lived thread
//! that entered the namespace with `setns` (a socket stays in the namespace it was made in),
//! and the polling thread never leaves the root namespace. Measured like the in-memory path
//! ([`crate::inmem`], same client code and TSC points): inside the appliance from the start of
//! the client cycle that receives the tick to the order frame handed to the AF_PACKET ring;
//! at the venue from just before the `write` of the sealed tick to the return of the `read`
//! that brings the order.
//!
//! [`Topology`] makes and always removes the namespace and the veth pair (named after the
//! process id, so runs never collide; [`cleanup_registered`] removes what a run still holds
//! when the process is interrupted, and a new topology first removes those of dead processes).

use std::net::{Ipv4Addr, SocketAddrV4, TcpListener};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tickwire_dataplane::af_packet::AfPacket;
use tickwire_dataplane::clock::Clock;
use tickwire_fix::message::Message;
use tickwire_fix::time::UtcTimestamp;

use crate::feed::{numeric_cl_ord_id, send_fill, Feed};
use crate::inmem::{self, Params, Progress, Report, VenueEnd, VenueKind};
use crate::kernel::KLink;
use crate::venue::{GeneratedKey, KrakenKernel};

/// The client's address on the host end (no kernel address there: only the userspace stack).
pub const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 79, 0, 1);
/// The venue's address in its namespace.
pub const VENUE: Ipv4Addr = Ipv4Addr::new(10, 79, 0, 2);

/// Why the veth topology could not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// This host cannot make it (not root, no `ip`, no network namespaces): the row is shown
    /// as not available, with this reason.
    Unavailable(String),
    /// Set up, then failed while running.
    Failed(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Unavailable(r) => write!(f, "not available: {r}"),
            Error::Failed(r) => f.write_str(r),
        }
    }
}

impl std::error::Error for Error {}

/// Whether this host can make the topology: root, iproute2, ethtool, network namespaces.
///
/// # Errors
/// The reason it cannot.
pub fn available() -> Result<(), String> {
    if !nix::unistd::geteuid().is_root() {
        return Err("needs root (network namespaces, veth, AF_PACKET)".into());
    }
    for (tool, arg, package) in [
        ("ip", "-V", "iproute2"),
        ("ethtool", "--version", "ethtool"),
    ] {
        match Command::new(tool).arg(arg).output() {
            Ok(o) if o.status.success() => {}
            Ok(o) => {
                return Err(format!(
                    "`{tool} {arg}` failed: {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                ))
            }
            Err(e) => return Err(format!("`{tool}` not found ({e}; install {package})")),
        }
    }
    if !std::path::Path::new("/proc/self/ns/net").exists() {
        return Err("the kernel has no network namespaces (/proc/self/ns/net)".into());
    }
    Ok(())
}

/// Namespaces this process still holds, for [`cleanup_registered`].
static LIVE: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Removes every namespace and veth pair this process made and has not removed yet (for a
/// signal handler: Ctrl-C during a run). Returns the namespaces removed.
pub fn cleanup_registered() -> Vec<String> {
    let names = match LIVE.lock() {
        Ok(mut l) => std::mem::take(&mut *l),
        Err(p) => std::mem::take(&mut *p.into_inner()),
    };
    for ns in &names {
        remove(ns);
    }
    names
}

fn remove(ns: &str) {
    // Deleting the host end removes the pair at once; the namespace goes when its last
    // socket is closed.
    let _ = Command::new("ip")
        .args(["link", "del", &format!("{ns}h")])
        .output();
    let _ = Command::new("ip").args(["netns", "del", ns]).output();
}

fn run_cmd(args: &[&str]) -> Result<(), String> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .map_err(|e| format!("{}: {e}", args[0]))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`{}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// A network namespace holding the venue end of a veth pair; the host end stays here.
/// Removed on drop.
#[derive(Debug)]
pub struct Topology {
    /// The namespace (`<prefix>b<pid>`).
    pub ns: String,
    /// The host end (`<ns>h`), where the AF_PACKET backend runs.
    pub host_if: String,
    /// The venue end (`<ns>v`), inside the namespace, [`VENUE`]/24.
    pub venue_if: String,
}

impl Topology {
    /// Makes `<prefix>b<pid>` with a veth pair, after removing those a dead process of the same
    /// prefix left behind.
    ///
    /// # Errors
    /// The failing command (what was made so far is removed).
    pub fn create(prefix: &str) -> Result<Topology, String> {
        let ns = format!("{prefix}b{}", std::process::id());
        if ns.len() + 1 > 15
            || !prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(format!(
                "netns prefix {prefix:?}: letters, digits and '-' only, at most {} characters",
                15 - (ns.len() + 1 - prefix.len())
            ));
        }
        remove_stale(prefix);
        let t = Topology {
            host_if: format!("{ns}h"),
            venue_if: format!("{ns}v"),
            ns,
        };
        match LIVE.lock() {
            Ok(mut l) => l.push(t.ns.clone()),
            Err(p) => p.into_inner().push(t.ns.clone()),
        }
        let (ns, h, v) = (t.ns.as_str(), t.host_if.as_str(), t.venue_if.as_str());
        let addr = format!("{VENUE}/24");
        run_cmd(&["ip", "netns", "add", ns])?;
        run_cmd(&["ip", "link", "add", h, "type", "veth", "peer", "name", v])?;
        run_cmd(&["ip", "link", "set", v, "netns", ns])?;
        // No IPv6 on the host end: nothing but the venue's traffic reaches the ring.
        run_cmd(&[
            "sysctl",
            "-q",
            "-w",
            &format!("net.ipv6.conf.{h}.disable_ipv6=1"),
        ])?;
        run_cmd(&["ip", "link", "set", h, "up"])?;
        // Nor on the venue's end: its kernel's IPv6 chatter would only be dropped.
        run_cmd(&[
            "ip",
            "netns",
            "exec",
            ns,
            "sysctl",
            "-q",
            "-w",
            &format!("net.ipv6.conf.{v}.disable_ipv6=1"),
        ])?;
        run_cmd(&["ip", "-n", ns, "addr", "add", &addr, "dev", v])?;
        run_cmd(&["ip", "-n", ns, "link", "set", v, "up"])?;
        run_cmd(&["ip", "-n", ns, "link", "set", "lo", "up"])?;
        // veth hands AF_PACKET frames with unfinished checksums unless TX offload is off.
        run_cmd(&["ethtool", "-K", h, "tx", "off"])?;
        run_cmd(&["ip", "netns", "exec", ns, "ethtool", "-K", v, "tx", "off"])?;
        Ok(t)
    }

    /// True while the namespace or the host end exists.
    pub fn exists(ns: &str) -> bool {
        let list = |args: &[&str]| {
            Command::new("ip")
                .args(args)
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default()
        };
        let netns = list(&["netns", "list"]);
        let links = list(&["-o", "link", "show"]);
        netns
            .lines()
            .any(|l| l.split_whitespace().next() == Some(ns))
            || links.contains(&format!(": {ns}h"))
    }

    /// Kernel TCP listeners inside the namespace, on [`VENUE`]:`port`, non-blocking.
    ///
    /// # Errors
    /// What failed (entering the namespace, binding).
    pub fn listen(&self, ports: &[u16]) -> Result<Vec<TcpListener>, String> {
        let path = format!("/run/netns/{}", self.ns);
        let ports = ports.to_vec();
        std::thread::spawn(move || -> Result<Vec<TcpListener>, String> {
            let f = std::fs::File::open(&path).map_err(|e| format!("{path}: {e}"))?;
            nix::sched::setns(&f, nix::sched::CloneFlags::CLONE_NEWNET)
                .map_err(|e| format!("setns {path}: {e}"))?;
            ports
                .iter()
                .map(|&p| {
                    let l = TcpListener::bind(SocketAddrV4::new(VENUE, p))
                        .map_err(|e| format!("bind {VENUE}:{p}: {e}"))?;
                    l.set_nonblocking(true).map_err(|e| e.to_string())?;
                    Ok(l)
                })
                .collect()
        })
        .join()
        .map_err(|_| "the thread entering the namespace panicked".to_string())?
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        remove(&self.ns);
        let mut l = match LIVE.lock() {
            Ok(l) => l,
            Err(p) => p.into_inner(),
        };
        l.retain(|n| n != &self.ns);
    }
}

/// Removes `<prefix>b<pid>` namespaces (and their host ends) whose process is gone.
fn remove_stale(prefix: &str) {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    let head = format!("{prefix}b");
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        let Some(pid) = name.strip_prefix(&head) else {
            continue;
        };
        if !pid.is_empty()
            && pid.bytes().all(|b| b.is_ascii_digit())
            && !std::path::Path::new(&format!("/proc/{pid}")).exists()
        {
            remove(name);
        }
    }
}

/// The minimal filling venue ([`crate::kernel`]'s, [`crate::inmem`]'s) on kernel sockets.
pub(crate) struct KernelMinimal {
    listeners: Vec<TcpListener>,
    md: Option<KLink>,
    trd: Option<KLink>,
    feed: Feed,
    server: tickwire_tls::ServerConfig,
    clock: Clock,
}

/// A bound on waiting for an order the client has sent (a hang guard, not a measurement).
const ORDER_STALL: Duration = Duration::from_secs(5);

impl KernelMinimal {
    /// Serves market data on the first listener and trading on the second (non-blocking).
    pub(crate) fn new(
        listeners: Vec<TcpListener>,
        server: tickwire_tls::ServerConfig,
        clock: Clock,
    ) -> KernelMinimal {
        KernelMinimal {
            listeners,
            md: None,
            trd: None,
            feed: Feed::default(),
            server,
            clock,
        }
    }

    /// True once both connections are accepted and their FIX sessions active.
    #[cfg(feature = "quickfix")]
    pub(crate) fn logged_on(&self) -> bool {
        use tickwire_fix::session::State;
        [&self.md, &self.trd]
            .iter()
            .all(|l| l.as_ref().is_some_and(|l| l.fix.state() == State::Active))
    }

    fn links(&mut self) -> Result<(&mut KLink, &mut KLink), String> {
        match (&mut self.md, &mut self.trd) {
            (Some(md), Some(trd)) => Ok((md, trd)),
            _ => Err("the client is not connected".into()),
        }
    }
}

impl VenueEnd for KernelMinimal {
    fn setup_step(&mut self, _ns: i64, now: UtcTimestamp) -> Result<(), String> {
        for (i, target) in ["KRAKEN-MD", "KRAKEN-TRD"].into_iter().enumerate() {
            let slot = if i == 0 { &mut self.md } else { &mut self.trd };
            if slot.is_none() {
                match self.listeners[i].accept() {
                    Ok((tcp, _)) => {
                        let tls = tickwire_tls::Session::server(
                            &self.server,
                            tickwire_tls::Capacities::default(),
                        )
                        .map_err(|e| e.to_string())?;
                        let fix = inmem::fix_session(target, true)?;
                        *slot = Some(KLink::new(tcp, tls, fix, false, self.clock)?);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(format!("accept on {target}: {e}")),
                }
            }
            if let Some(link) = slot {
                link.pump(now, &mut |_| {})?;
                link.flush()?;
            }
        }
        Ok(())
    }

    fn prepare_tick(&mut self, now: UtcTimestamp) -> Result<(), String> {
        let feed = &mut self.feed;
        let (md, _) = match (&mut self.md, &mut self.trd) {
            (Some(md), Some(trd)) => (md, trd),
            _ => return Err("the client is not connected".into()),
        };
        feed.publish(&mut md.fix, now).map_err(|e| e.to_string())?;
        md.seal()
    }

    fn send_tick(&mut self, _ns: i64) -> Result<(), String> {
        self.links()?.0.write_out()
    }

    fn step(
        &mut self,
        _ns: i64,
        now: UtcTimestamp,
        order_due: bool,
        on_order_bytes: &mut dyn FnMut(),
    ) -> Result<(), String> {
        let (md, trd) = self.links()?;
        let (mut ids, mut n) = ([0u64; 16], 0usize);
        let deadline = order_due.then(|| Instant::now() + ORDER_STALL);
        let mut first = true;
        loop {
            let got = trd.read_some()?;
            if got > 0 && first {
                on_order_bytes();
                first = false;
            }
            trd.process(got, now, &mut |m: &Message<'_>| {
                if m.msg_type() == b"D" && n < ids.len() {
                    ids[n] = numeric_cl_ord_id(m.field(11)).unwrap_or(0);
                    n += 1;
                }
            })?;
            match deadline {
                Some(d) if n == 0 => {
                    if Instant::now() > d {
                        return Err("the order did not reach the venue within 5 s".into());
                    }
                }
                _ => break,
            }
        }
        for &id in &ids[..n] {
            send_fill(&mut trd.fix, now, id).map_err(|e| e.to_string())?;
        }
        trd.flush()?;
        md.pump(now, &mut |_| {})?;
        md.flush()
    }

    fn timeout(&mut self, now: UtcTimestamp) {
        for link in [&mut self.md, &mut self.trd].into_iter().flatten() {
            link.fix.handle_timeout(now);
        }
    }

    fn stats(&self) -> Option<tickwire_venue::kraken::Stats> {
        None
    }
}

impl VenueEnd for KrakenKernel {
    fn setup_step(&mut self, _ns: i64, now: UtcTimestamp) -> Result<(), String> {
        self.accept()?;
        self.venue.handle_timeout(now);
        self.ingress(now, || {})?;
        self.seal()?;
        self.write_out()
    }

    fn prepare_tick(&mut self, now: UtcTimestamp) -> Result<(), String> {
        self.tick(now)?;
        self.seal()
    }

    fn send_tick(&mut self, _ns: i64) -> Result<(), String> {
        self.write_out()
    }

    fn step(
        &mut self,
        _ns: i64,
        now: UtcTimestamp,
        order_due: bool,
        on_order_bytes: &mut dyn FnMut(),
    ) -> Result<(), String> {
        let deadline = Instant::now() + ORDER_STALL;
        while self.ingress(now, &mut *on_order_bytes)? == 0 && order_due {
            if Instant::now() > deadline {
                return Err("the order did not reach the venue within 5 s".into());
            }
        }
        self.seal()?;
        self.write_out()
    }

    fn timeout(&mut self, now: UtcTimestamp) {
        self.venue.handle_timeout(now);
    }

    fn stats(&self) -> Option<tickwire_venue::kraken::Stats> {
        Some(self.venue.stats())
    }
}

/// Runs the tickwire client on AF_PACKET over a fresh [`Topology`] named with `prefix`
/// against `params.venue` on kernel TCP in the namespace. `on_topology` is told the names
/// once it exists (they are gone when this returns, whatever it returns).
///
/// # Errors
/// [`Error::Unavailable`] when this host cannot make the topology, [`Error::Failed`] when the
/// run failed.
pub fn run(
    params: Params,
    prefix: &str,
    on_topology: impl FnOnce(&Topology),
    progress: impl FnMut(Progress),
) -> Result<Report, Error> {
    available().map_err(Error::Unavailable)?;
    let topo = Topology::create(prefix).map_err(Error::Unavailable)?;
    on_topology(&topo);
    let result = run_on(&topo, params, progress).map_err(Error::Failed);
    drop(topo);
    result
}

fn run_on(
    topo: &Topology,
    params: Params,
    progress: impl FnMut(Progress),
) -> Result<Report, String> {
    crate::rss::reset_peak();
    let (clock, _) = Clock::calibrate(Duration::from_millis(20));
    let pki = crate::pki::generate("fix.venue.test")?;
    let key = GeneratedKey::generate();
    let listeners = topo.listen(&[4000, 4001])?;
    let nic = AfPacket::open(&topo.host_if, 512)
        .map_err(|e| format!("AF_PACKET on {}: {e}", topo.host_if))?;
    let cstack = inmem::client_stack(nic, &clock, CLIENT, VENUE)?;
    match params.venue {
        VenueKind::Minimal => {
            let mut venue = KernelMinimal::new(listeners, pki.server.clone(), clock);
            inmem::drive(
                &params, &clock, &pki, &key, cstack, VENUE, &mut venue, progress,
            )
        }
        VenueKind::Kraken => {
            let mut it = listeners.into_iter();
            let (Some(md), Some(trading)) = (it.next(), it.next()) else {
                return Err("two listeners expected".into());
            };
            let mut venue =
                KrakenKernel::new(md, trading, &pki.server, &key, clock.utc(clock.mono_ns()))?;
            inmem::drive(
                &params, &clock, &pki, &key, cstack, VENUE, &mut venue, progress,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_that_cannot_name_an_interface_are_refused_before_anything_is_made() {
        for bad in ["much-too-long-prefix", "a b", "x/y", "ns;rm"] {
            let e = Topology::create(bad).err();
            assert!(
                e.as_deref().is_some_and(|e| e.contains("netns prefix")),
                "{bad}: {e:?}"
            );
        }
        assert!(LIVE.lock().map(|l| l.is_empty()).unwrap_or(false));
    }

    #[test]
    fn unavailable_and_failed_say_which() {
        assert_eq!(
            Error::Unavailable("needs root".into()).to_string(),
            "not available: needs root"
        );
        assert_eq!(Error::Failed("tick 3".into()).to_string(), "tick 3");
    }
}
