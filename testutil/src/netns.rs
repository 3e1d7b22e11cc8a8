//! A network namespace joined to this one by a veth pair, for the tests that put tickwire's
//! stack (AF_PACKET, DPDK `net_af_packet`, the daemon) in front of Linux's own TCP.
//!
//! ```text
//!   this namespace                      namespace `ns`
//!   host_if (up, no address) ◄─veth─►  peer_if (peer address/24, up), lo up
//! ```
//!
//! Both ends have TX checksum offload off: a veth otherwise hands a packet socket frames whose
//! checksums the kernel never finished. [`Veth`] removes the pair and the namespace when it is
//! dropped, so a failing test leaves nothing behind; [`KillOnDrop`] does the same for a
//! process started in the namespace. Needs root and `ip`/`ethtool` (iproute2, ethtool;
//! `scripts/setup-host`): without them the test fails and says so.

use std::process::{Child, Command};

/// Runs `args` (program first) and panics with its stderr unless it succeeds.
///
/// # Panics
/// When the program cannot be started or exits with an error.
pub fn sh(args: &[&str]) {
    let (program, rest) = args.split_first().expect("sh: no program given");
    let out = Command::new(program)
        .args(rest)
        .output()
        .unwrap_or_else(|e| {
            panic!("{program}: {e} (install iproute2/ethtool: scripts/setup-host)")
        });
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A namespace and the veth pair into it; both are deleted on drop.
#[derive(Debug)]
pub struct Veth {
    /// The namespace's name.
    pub ns: String,
    /// The end in this namespace.
    pub host_if: String,
    /// The end inside [`Veth::ns`].
    pub peer_if: String,
}

impl Veth {
    /// Creates namespace `ns` and the pair `host_if` ↔ `peer_if`, gives `peer_if` the address
    /// `peer_cidr` (e.g. `10.78.0.2/24`) and brings up both ends and the namespace's loopback.
    ///
    /// # Panics
    /// When not running as root, or when a command fails (a name already taken, say); what was
    /// created by then is removed.
    pub fn create(ns: &str, host_if: &str, peer_if: &str, peer_cidr: &str) -> Veth {
        assert!(
            is_root(),
            "this test needs root (network namespaces, veth pairs); CI runs it as root"
        );
        sh(&["ip", "netns", "add", ns]);
        // From here on a panic drops `veth`, which removes what exists.
        let veth = Veth {
            ns: ns.to_owned(),
            host_if: host_if.to_owned(),
            peer_if: peer_if.to_owned(),
        };
        sh(&[
            "ip", "link", "add", host_if, "type", "veth", "peer", "name", peer_if,
        ]);
        sh(&["ip", "link", "set", peer_if, "netns", ns]);
        sh(&["ip", "link", "set", host_if, "up"]);
        sh(&["ethtool", "-K", host_if, "tx", "off"]);
        veth.exec(&["ip", "addr", "add", peer_cidr, "dev", peer_if]);
        veth.exec(&["ip", "link", "set", peer_if, "up"]);
        veth.exec(&["ip", "link", "set", "lo", "up"]);
        veth.exec(&["ethtool", "-K", peer_if, "tx", "off"]);
        veth
    }

    /// Runs `args` inside the namespace, as [`sh`] does.
    ///
    /// # Panics
    /// As [`sh`].
    pub fn exec(&self, args: &[&str]) {
        let mut full = vec!["ip", "netns", "exec", self.ns.as_str()];
        full.extend_from_slice(args);
        sh(&full);
    }

    /// A command that runs `program` inside the namespace, for the caller to configure and
    /// spawn.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.ns, program]);
        c
    }
}

impl Drop for Veth {
    fn drop(&mut self) {
        // Deleting one end deletes both; the namespace goes last.
        let _ = Command::new("ip")
            .args(["link", "del", &self.host_if])
            .output();
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).output();
    }
}

/// A child process killed and reaped when dropped, pass or fail.
#[derive(Debug)]
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// True when the effective user is root (`Uid:` of /proc/self/status, second field).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().nth(1))
            == Some("0")
    })
}
