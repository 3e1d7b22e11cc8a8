//! Tick-to-trade over DPDK ports: the in-memory harness's client and venue ([`inmem::run_pair`],
//! the same FIX/TLS/strategy code and TSC points as every other tickwire row) on the two ends
//! of a DPDK pair, one thread polling both.
//!
//! ```text
//! client: DpdkNic(virtio_user0) ─► Stack ─► TLS 1.3 ─► FIX ─► book ─► trigger ─► order
//!            ║ vhost-user socket (or memif shared memory: net_memif1 client ↔ net_memif0 server)
//! venue:  DpdkNic(net_vhost0)  ─► Stack ─► TLS 1.3 ─► FIX (minimal venue or the Kraken profile)
//! ```
//!
//! EAL starts once per process, so [`Ports::start`] brings up every pair at once — `net_vhost0`
//! (vhost-user socket server), then `virtio_user0` hot-plugged on its socket, `net_memif0`
//! (server) and `net_memif1` (client) on one memif socket, plus any [`Options::extra_vdevs`] —
//! and [`Ports::run`] lends a pair to one run at a time ([`Lent`]), as often as wanted.
//!
//! Needs root and 2 MiB hugepages in a mounted hugetlbfs ([`Options::memory_mib`]; see
//! scripts/setup-host): vhost-user maps the virtio side's memory, which `--no-huge` cannot
//! share, and memif needs EAL's multi-process channel, which `--in-memory` turns off. What is
//! missing is a typed [`Error`] whose text names it ([`Error::is_unavailable`]). Once the ports
//! run, the hugepage files are unlinked (the pages go back when the process ends, however it
//! ends); the sockets and EAL's runtime directory go on drop, and [`Ports::start`] first removes
//! those a dead process of the same prefix left behind. The ports themselves are not stopped on
//! drop: they live until the process ends (see [`Ports`]).

use std::mem::ManuallyDrop;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tickwire_dataplane::dpdk::{self, DpdkNic, EalError, Mempool, MempoolError, PortError};

use crate::inmem::{self, Params, Report};
use crate::lent::{self, Lent};

/// A DPDK pair [`Ports`] runs the tickwire client and venue on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// `virtio_user0` (client) ↔ `net_vhost0` (venue), over a vhost-user socket.
    VirtioVhost,
    /// `net_memif1` (memif client, the tickwire client) ↔ `net_memif0` (memif server, venue).
    Memif,
}

impl Transport {
    /// Every transport, in table order.
    pub const ALL: [Transport; 2] = [Transport::VirtioVhost, Transport::Memif];

    /// How tables name it.
    pub fn name(self) -> &'static str {
        match self {
            Transport::VirtioVhost => "DPDK virtio_user <-> net_vhost",
            Transport::Memif => "DPDK net_memif client <-> server",
        }
    }

    /// A short key for file names (`vhost`, `memif`).
    pub fn key(self) -> &'static str {
        match self {
            Transport::VirtioVhost => "vhost",
            Transport::Memif => "memif",
        }
    }

    /// The DPDK port names: (client end, venue end).
    pub fn ports(self) -> (&'static str, &'static str) {
        match self {
            Transport::VirtioVhost => ("virtio_user0", "net_vhost0"),
            Transport::Memif => ("net_memif1", "net_memif0"),
        }
    }
}

/// Why the DPDK pairs could not be brought up, or a run on them failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// Not running as root (hugepages, vhost-user and memif sockets, EAL's runtime directory).
    NotRoot,
    /// No hugetlbfs with 2 MiB pages is mounted.
    NoHugetlbfs,
    /// Fewer free 2 MiB hugepages than EAL is asked to take.
    Hugepages {
        /// Free, MiB.
        free_mib: u64,
        /// Asked for (`-m`), MiB.
        needed_mib: u64,
    },
    /// The name prefix cannot name files and sockets.
    BadPrefix(String),
    /// EAL did not start (or already ran in this process), or a device did not probe.
    Eal(EalError),
    /// A port's mempool could not be created.
    Mempool {
        /// The port.
        port: String,
        /// DPDK's reason.
        source: MempoolError,
    },
    /// A port did not configure or start.
    Port {
        /// The port.
        port: String,
        /// DPDK's reason.
        source: PortError,
    },
    /// The two ends of a pair did not report link up within 10 s.
    LinkDown {
        /// One end.
        a: String,
        /// The other end.
        b: String,
    },
    /// The ports came up, then the run on them failed.
    Failed {
        /// Which pair.
        transport: Transport,
        /// What failed.
        reason: String,
    },
}

impl Error {
    /// True when this host cannot run the DPDK pairs (every variant but [`Error::Failed`]): a
    /// table shows the row as not available, with this error's text.
    pub fn is_unavailable(&self) -> bool {
        !matches!(self, Error::Failed { .. })
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::NotRoot => f.write_str(
                "needs root (DPDK hugepages, vhost-user and memif sockets, /var/run/dpdk)",
            ),
            Error::NoHugetlbfs => f.write_str(
                "no hugetlbfs with 2 MiB pages mounted (mount -t hugetlbfs nodev /dev/hugepages; scripts/setup-host)",
            ),
            Error::Hugepages {
                free_mib,
                needed_mib,
            } => write!(
                f,
                "{free_mib} MiB of 2 MiB hugepages free, DPDK needs {needed_mib} MiB (echo 64 > /proc/sys/vm/nr_hugepages; scripts/setup-host)"
            ),
            Error::BadPrefix(p) => write!(
                f,
                "DPDK name prefix {p:?}: letters, digits and '-' only, 1 to {MAX_PREFIX} characters"
            ),
            Error::Eal(e) => write!(f, "DPDK EAL: {e}"),
            Error::Mempool { port, source } => write!(f, "DPDK mempool for {port}: {source}"),
            Error::Port { port, source } => write!(f, "DPDK port {port}: {source}"),
            Error::LinkDown { a, b } => {
                write!(f, "DPDK links of {a} and {b} did not come up within 10 s")
            }
            Error::Failed { transport, reason } => write!(f, "{}: {reason}", transport.name()),
        }
    }
}

impl std::error::Error for Error {}

/// How [`Ports::start`] starts EAL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Names this process's EAL `--file-prefix`, hugepage files and sockets: `<prefix><pid>`.
    pub prefix: String,
    /// Hugepage memory EAL takes (`-m`), MiB.
    pub memory_mib: u64,
    /// More `--vdev` arguments (`net_af_packet0,iface=…`); open their ports with [`open_port`].
    pub extra_vdevs: Vec<String>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            prefix: "tw-dpdk-".into(),
            memory_mib: 64,
            extra_vdevs: Vec::new(),
        }
    }
}

const MAX_PREFIX: usize = 24;

/// The first hugetlbfs mount with 2 MiB pages in `mounts` (the text of `/proc/mounts`).
pub fn hugetlbfs_2m(mounts: &str) -> Option<PathBuf> {
    mounts.lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.len() > 3 && f[2] == "hugetlbfs" && !f[3].split(',').any(|o| o == "pagesize=1G"))
            .then(|| PathBuf::from(f[1]))
    })
}

/// Free hugepages of the default size in `meminfo` (the text of `/proc/meminfo`), MiB, when
/// the default size is 2 MiB (`None` otherwise, or when the fields are missing).
pub fn free_2m_hugepages_mib(meminfo: &str) -> Option<u64> {
    let field = |name: &str| {
        meminfo.lines().find_map(|l| {
            l.strip_prefix(name)?
                .split_whitespace()
                .next()?
                .parse::<u64>()
                .ok()
        })
    };
    let size_kib = field("Hugepagesize:")?;
    (size_kib == 2048).then_some(field("HugePages_Free:")? * 2)
}

/// Whether this host can start EAL as `opts` asks: root, a 2 MiB hugetlbfs and enough free
/// pages, a usable prefix. Returns the hugetlbfs directory.
///
/// # Errors
/// Why not.
pub fn available(opts: &Options) -> Result<PathBuf, Error> {
    if opts.prefix.is_empty()
        || opts.prefix.len() > MAX_PREFIX
        || !opts
            .prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(Error::BadPrefix(opts.prefix.clone()));
    }
    if !nix::unistd::geteuid().is_root() {
        return Err(Error::NotRoot);
    }
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    let dir = hugetlbfs_2m(&mounts).ok_or(Error::NoHugetlbfs)?;
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let free_mib = free_2m_hugepages_mib(&meminfo).unwrap_or(0);
    if free_mib < opts.memory_mib {
        return Err(Error::Hugepages {
            free_mib,
            needed_mib: opts.memory_mib,
        });
    }
    Ok(dir)
}

/// Mbufs per port pool (2 MiB-page budget: four pools of 2047 fit 64 MiB with the rings).
const POOL_MBUFS: u32 = 2047;
/// Descriptors per RX and TX ring.
const RING: u16 = 512;

/// Opens and starts the port `name` with a pool of its own (`pool_<name>`).
///
/// # Errors
/// [`Error::Mempool`] or [`Error::Port`] with DPDK's reason.
pub fn open_port(name: &str) -> Result<DpdkNic, Error> {
    let pool = Mempool::new(&format!("pool_{name}"), POOL_MBUFS, 32, 2048).map_err(|source| {
        Error::Mempool {
            port: name.into(),
            source,
        }
    })?;
    DpdkNic::new(name, pool, RING).map_err(|source| Error::Port {
        port: name.into(),
        source,
    })
}

/// Polls both ports (dropping what arrives) until both report link up, at most 10 s.
///
/// # Errors
/// [`Error::LinkDown`].
pub fn wait_links(a: &mut DpdkNic, b: &mut DpdkNic) -> Result<(), Error> {
    let start = Instant::now();
    while !a.port().link().up || !b.port().link().up {
        if start.elapsed() > Duration::from_secs(10) {
            return Err(Error::LinkDown {
                a: a.port().name().into(),
                b: b.port().name().into(),
            });
        }
        lent::drain(a);
        lent::drain(b);
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(())
}

/// Both DPDK pairs, started, in this process's one EAL.
#[derive(Debug)]
pub struct Ports {
    // The ports are never stopped or freed in the process (not even when `start` fails after
    // opening some): they go when it ends. DPDK 22.11's memif disconnects an end on EAL's
    // interrupt thread when its peer goes, and that runs at the same time as this thread's
    // dev_stop of the same end (two memif_disconnects of it): SIGSEGV in eal-intr-thread in
    // 4 of 40 runs with both CPUs busy. EAL cannot start twice in a process, so stopped ports
    // could never be used again anyway.
    virtio: ManuallyDrop<DpdkNic>,
    vhost: ManuallyDrop<DpdkNic>,
    memif_client: ManuallyDrop<DpdkNic>,
    memif_server: ManuallyDrop<DpdkNic>,
    // Removes the sockets and the runtime directory on drop.
    cleanup: Cleanup,
}

impl Ports {
    /// Starts EAL (lcore 0, every vdev, `opts.memory_mib` of hugepages in one file per segment
    /// list), opens both pairs and waits for their links. EAL pins the calling thread to
    /// lcore 0's CPU; its CPU affinity is put back afterwards, so that what this process runs
    /// next is scheduled as before.
    ///
    /// # Errors
    /// [`Error`] naming what this host lacks or what DPDK refused (all
    /// [`Error::is_unavailable`]); a second call in one process is
    /// `Error::Eal(EalError::AlreadyInitialised)`.
    pub fn start(opts: &Options) -> Result<Ports, Error> {
        if dpdk::eal::is_initialised() {
            return Err(Error::Eal(EalError::AlreadyInitialised));
        }
        let huge_dir = available(opts)?;
        let file_prefix = format!("{}{}", opts.prefix, std::process::id());
        let tmp = std::env::temp_dir();
        remove_stale(&opts.prefix, &huge_dir, &tmp);
        let sockets = [
            tmp.join(format!("{file_prefix}-vhost.sock")),
            tmp.join(format!("{file_prefix}-memif.sock")),
        ];
        for s in &sockets {
            let _ = std::fs::remove_file(s);
        }
        let (vhost_sock, memif_sock) = (sockets[0].display(), sockets[1].display());
        let mut args = vec![
            "-l".to_string(),
            "0".into(),
            "--no-pci".into(),
            "--no-telemetry".into(),
            "--single-file-segments".into(),
            "-m".into(),
            opts.memory_mib.to_string(),
            "--log-level=lib.eal:error".into(),
            "--log-level=lib.vhost.config:error".into(),
            format!("--file-prefix={file_prefix}"),
            "--huge-dir".into(),
            huge_dir.display().to_string(),
            format!("--vdev=net_vhost0,iface={vhost_sock},queues=1"),
            format!("--vdev=net_memif0,role=server,socket={memif_sock}"),
            format!("--vdev=net_memif1,role=client,socket={memif_sock}"),
        ];
        args.extend(opts.extra_vdevs.iter().map(|v| format!("--vdev={v}")));
        // From here on, what fails would leave files behind: they go on the way out.
        let cleanup = Cleanup::register(file_prefix, sockets.clone());
        let affinity = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0)).ok();
        let eal = dpdk::eal_init(&args).map_err(Error::Eal);
        if let Some(cpus) = affinity {
            let _ = nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &cpus);
        }
        eal?;
        let mut vhost = ManuallyDrop::new(open_port("net_vhost0")?);
        // The vhost-user socket exists once net_vhost0 runs: attach the virtio side now.
        // A locally administered MAC of our own (else the driver picks a random one and says so).
        dpdk::probe(&format!(
            "virtio_user0,path={vhost_sock},queues=1,mac=02:74:77:00:00:01"
        ))
        .map_err(Error::Eal)?;
        let mut virtio = ManuallyDrop::new(open_port("virtio_user0")?);
        wait_links(&mut virtio, &mut vhost)?;
        let mut memif_server = ManuallyDrop::new(open_port("net_memif0")?);
        let mut memif_client = ManuallyDrop::new(open_port("net_memif1")?);
        wait_links(&mut memif_client, &mut memif_server)?;
        // Memory is mapped and the pools exist: the hugepage files' names can go now.
        unlink_hugepage_files(&huge_dir, &cleanup.file_prefix);
        Ok(Ports {
            virtio,
            vhost,
            memif_client,
            memif_server,
            cleanup,
        })
    }

    /// The pair of `t`: (client end, venue end).
    pub fn pair(&mut self, t: Transport) -> (&mut DpdkNic, &mut DpdkNic) {
        match t {
            Transport::VirtioVhost => (&mut *self.virtio, &mut *self.vhost),
            Transport::Memif => (&mut *self.memif_client, &mut *self.memif_server),
        }
    }

    /// EAL's `--file-prefix` (`<prefix><pid>`).
    pub fn file_prefix(&self) -> &str {
        &self.cleanup.file_prefix
    }

    /// Runs `params` on the pair of `t` ([`inmem::run_pair`]: the tickwire client on the
    /// client end, the venue on the other), after dropping what an earlier run left in flight.
    ///
    /// # Errors
    /// [`Error::Failed`] with what failed.
    pub fn run(&mut self, t: Transport, params: Params) -> Result<Report, Error> {
        let (client, venue) = self.pair(t);
        lent::drain(client);
        lent::drain(venue);
        inmem::run_pair(params, Lent(client), Lent(venue)).map_err(|reason| Error::Failed {
            transport: t,
            reason,
        })
    }
}

/// What one EAL of this process leaves outside it, removed on drop: the sockets and EAL's
/// runtime directory.
#[derive(Debug)]
struct Cleanup {
    file_prefix: String,
    sockets: [PathBuf; 2],
}

/// Files and directories a live [`Ports`] made, for [`cleanup_registered`].
static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn live() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    match LIVE.lock() {
        Ok(l) => l,
        Err(p) => p.into_inner(),
    }
}

impl Cleanup {
    fn register(file_prefix: String, sockets: [PathBuf; 2]) -> Cleanup {
        let c = Cleanup {
            file_prefix,
            sockets,
        };
        live().extend(c.paths());
        c
    }

    fn paths(&self) -> Vec<PathBuf> {
        let mut p = self.sockets.to_vec();
        p.push(Path::new(dpdk::eal::RUNTIME_DIR).join(&self.file_prefix));
        p
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let paths = self.paths();
        for p in &paths {
            let _ = dpdk::eal::remove_path(p);
        }
        live().retain(|p| !paths.contains(p));
    }
}

/// Removes the sockets and EAL runtime directory of a [`Ports`] this process still holds (for
/// a signal handler: Ctrl-C during a run; the hugepage files are unlinked once the ports run).
/// Returns what was removed.
pub fn cleanup_registered() -> Vec<PathBuf> {
    let paths = std::mem::take(&mut *live());
    for p in &paths {
        let _ = dpdk::eal::remove_path(p);
    }
    paths
}

/// Removes hugepage files, sockets and runtime directories of `<prefix><pid>` whose process is
/// gone (an earlier run that was killed or aborted).
fn remove_stale(prefix: &str, huge_dir: &Path, tmp: &Path) {
    for dir in [huge_dir, tmp, Path::new(dpdk::eal::RUNTIME_DIR)] {
        dpdk::eal::remove_dead_prefixed(dir, prefix);
    }
}

/// Unlinks this EAL's hugepage files (EAL keeps them mapped).
fn unlink_hugepage_files(huge_dir: &Path, file_prefix: &str) {
    let Ok(entries) = std::fs::read_dir(huge_dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        // `<file_prefix>map_<n>`: the prefix followed by anything but another digit.
        if name
            .strip_prefix(file_prefix)
            .is_some_and(|rest| !rest.starts_with(|c: char| c.is_ascii_digit()))
        {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_2m_hugetlbfs_mount_is_found_and_1g_ones_skipped() {
        let mounts = "proc /proc proc rw 0 0\n\
                      nodev /mnt/huge1g hugetlbfs rw,relatime,pagesize=1G 0 0\n\
                      nodev /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0\n";
        assert_eq!(hugetlbfs_2m(mounts), Some(PathBuf::from("/dev/hugepages")));
        assert_eq!(hugetlbfs_2m("proc /proc proc rw 0 0\n"), None);
        assert_eq!(
            hugetlbfs_2m("nodev /mnt/huge1g hugetlbfs rw,pagesize=1G 0 0\n"),
            None
        );
        assert_eq!(hugetlbfs_2m("short line\n"), None);
    }

    #[test]
    fn free_hugepages_are_counted_in_mib_of_2m_pages_only() {
        let m = "MemTotal: 4000000 kB\nHugePages_Total:      64\nHugePages_Free:       40\n\
                 Hugepagesize:       2048 kB\n";
        assert_eq!(free_2m_hugepages_mib(m), Some(80));
        let g = m.replace("2048 kB", "1048576 kB");
        assert_eq!(free_2m_hugepages_mib(&g), None);
        assert_eq!(free_2m_hugepages_mib("MemTotal: 1 kB\n"), None);
        assert_eq!(
            free_2m_hugepages_mib("Hugepagesize: 2048 kB\nHugePages_Free: x\n"),
            None
        );
    }

    #[test]
    fn prefixes_that_cannot_name_files_are_refused_before_anything_is_made() {
        for bad in ["", "a b", "x/y", "../up", "a-prefix-that-is-far-too-long"] {
            let opts = Options {
                prefix: bad.into(),
                ..Options::default()
            };
            assert_eq!(available(&opts), Err(Error::BadPrefix(bad.into())));
        }
    }

    #[test]
    fn too_few_hugepages_and_unavailable_errors_say_what_is_missing() {
        let opts = Options {
            memory_mib: u64::MAX,
            ..Options::default()
        };
        match available(&opts) {
            Err(Error::Hugepages {
                free_mib,
                needed_mib,
            }) => {
                assert_eq!(needed_mib, u64::MAX);
                assert!(free_mib < needed_mib);
            }
            Err(e @ (Error::NotRoot | Error::NoHugetlbfs)) => assert!(e.is_unavailable()),
            other => panic!("{other:?}"),
        }
        let e = Error::Hugepages {
            free_mib: 10,
            needed_mib: 64,
        };
        assert!(e.is_unavailable());
        assert!(e.to_string().contains("10 MiB") && e.to_string().contains("64 MiB"));
        assert!(Error::NotRoot.to_string().contains("root"));
        let eal = Error::Eal(EalError::AlreadyInitialised);
        assert!(eal.is_unavailable() && eal.to_string().contains("already initialised"));
        let failed = Error::Failed {
            transport: Transport::Memif,
            reason: "tick 3 did not reach the client".into(),
        };
        assert!(!failed.is_unavailable());
        assert!(failed.to_string().starts_with("DPDK net_memif"));
    }

    #[test]
    fn stale_files_of_dead_runs_go_and_this_runs_hugepage_files_are_unlinked() {
        let dir = std::env::temp_dir().join(format!("tw-dpdk-stale-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // A pid that cannot be running (above pid_max) and ours.
        let dead = dir.join("hq-4294967295map_0");
        let live = dir.join(format!("hq-{}map_0", std::process::id()));
        let other = dir.join("unrelated-1");
        for f in [&dead, &live, &other] {
            std::fs::write(f, b"").unwrap();
        }
        remove_stale("hq-", &dir, &dir);
        assert!(!dead.exists());
        assert!(live.exists() && other.exists());
        unlink_hugepage_files(&dir, &format!("hq-{}", std::process::id()));
        assert!(!live.exists() && other.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
