//! EAL (Environment Abstraction Layer) start-up, once per process.
//!
//! [`init`] takes DPDK's argument vector (without the program name) and runs `rte_eal_init`.
//! Failures carry `rte_errno`, DPDK's text for it and a hint for the usual causes (no
//! hugepages, a bad `--vdev`, a second EAL with the same `--file-prefix`).

use std::ffi::CString;
use std::fmt;
use std::sync::atomic::{AtomicU8, Ordering};

use super::{errno, strerror, sys};

const UNINIT: u8 = 0;
const RUNNING: u8 = 1;
const DONE: u8 = 2;
const FAILED: u8 = 3;
static STATE: AtomicU8 = AtomicU8::new(UNINIT);

/// Why EAL did not start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EalError {
    /// EAL already ran (or failed) in this process; DPDK allows one `rte_eal_init` per process.
    AlreadyInitialised,
    /// An argument contains a NUL byte.
    BadArgument(String),
    /// EAL started but a `--vdev`/`-a` device did not probe (DPDK logs the driver's reason;
    /// [`probe`] returns it as a code instead). EAL stays initialised.
    DeviceNotProbed {
        /// The device name (`net_af_packet0`).
        device: String,
        /// What to try.
        hint: &'static str,
    },
    /// `rte_dev_probe` refused a device after start-up.
    Probe {
        /// The device arguments given.
        devargs: String,
        /// The negative errno `rte_dev_probe` returned, made positive.
        errno: i32,
        /// DPDK's text for it.
        reason: String,
    },
    /// `rte_eal_init` failed.
    Init {
        /// `rte_errno` after the call.
        errno: i32,
        /// `rte_strerror(errno)`.
        reason: String,
        /// What to try.
        hint: &'static str,
    },
}

impl fmt::Display for EalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AlreadyInitialised => {
                f.write_str("DPDK EAL already initialised in this process (one init per process)")
            }
            Self::BadArgument(a) => write!(f, "EAL argument contains a NUL byte: {a:?}"),
            Self::DeviceNotProbed { device, hint } => {
                write!(
                    f,
                    "DPDK device {device} did not probe (see the EAL log); {hint}"
                )
            }
            Self::Probe {
                devargs,
                errno,
                reason,
            } => {
                write!(f, "rte_dev_probe({devargs}) failed: {reason} ({errno})")
            }
            Self::Init {
                errno,
                reason,
                hint,
            } => {
                write!(
                    f,
                    "rte_eal_init failed: {reason} (rte_errno {errno}); {hint}"
                )
            }
        }
    }
}

impl std::error::Error for EalError {}

/// Runs `rte_eal_init` with `args` (DPDK spelling, program name excluded).
///
/// The argument strings are kept for the life of the process: EAL keeps pointers into them.
///
/// # Errors
/// [`EalError::AlreadyInitialised`] on a second call, [`EalError::Init`] with DPDK's reason and
/// a hint when EAL refuses the arguments or the host (hugepages, devices, file prefix).
pub fn init<S: AsRef<str>>(args: &[S]) -> Result<(), EalError> {
    if STATE
        .compare_exchange(UNINIT, RUNNING, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        return Err(EalError::AlreadyInitialised);
    }
    let mut owned = Vec::with_capacity(args.len() + 1);
    owned.push(CString::new("tickwire").map_err(|_| EalError::BadArgument(String::new()))?);
    for a in args {
        match CString::new(a.as_ref()) {
            Ok(c) => owned.push(c),
            Err(_) => {
                STATE.store(UNINIT, Ordering::Release);
                return Err(EalError::BadArgument(a.as_ref().to_owned()));
            }
        }
    }
    // EAL may keep and permute argv: leak both the strings and the pointer array (once per
    // process, at start-up).
    let owned: &'static mut [CString] = owned.leak();
    let argv: &'static mut [*mut std::os::raw::c_char] = owned
        .iter_mut()
        .map(|c| c.as_ptr().cast_mut())
        .collect::<Vec<_>>()
        .leak();
    let argc = i32::try_from(argv.len()).unwrap_or(i32::MAX);
    // SAFETY: argv points at `argc` valid NUL-terminated strings that live for the rest of the
    // process; STATE guarantees this runs at most once.
    let rc = unsafe { sys::rte_eal_init(argc, argv.as_mut_ptr()) };
    if rc < 0 {
        STATE.store(FAILED, Ordering::Release);
        let code = errno();
        let joined = args.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(" ");
        return Err(EalError::Init {
            errno: code,
            reason: strerror(code),
            hint: hint(code, &joined),
        });
    }
    STATE.store(DONE, Ordering::Release);
    // A failed vdev probe is not fatal to rte_eal_init: check every named device exists.
    for device in vdev_names(args) {
        if !port_exists(&device) {
            return Err(EalError::DeviceNotProbed {
                device,
                hint: hint(libc::ENODEV, ""),
            });
        }
    }
    Ok(())
}

/// Hot-plugs a device after start-up (`rte_dev_probe`, e.g. `net_tap1,iface=tw1`), returning
/// the driver's error code instead of a log line.
///
/// # Errors
/// [`EalError::Probe`] with DPDK's reason; [`EalError::BadArgument`] for a NUL byte.
pub fn probe(devargs: &str) -> Result<(), EalError> {
    let c = CString::new(devargs).map_err(|_| EalError::BadArgument(devargs.to_owned()))?;
    // SAFETY: EAL is up (checked by the caller's contract; rte_dev_probe fails cleanly if not)
    // and c is a valid C string DPDK copies.
    let rc = unsafe { sys::rte_dev_probe(c.as_ptr()) };
    if rc < 0 {
        let code = -rc;
        return Err(EalError::Probe {
            devargs: devargs.to_owned(),
            errno: code,
            reason: strerror(code),
        });
    }
    Ok(())
}

fn vdev_names<S: AsRef<str>>(args: &[S]) -> Vec<String> {
    let mut out = Vec::new();
    let mut it = args.iter().map(AsRef::as_ref);
    while let Some(a) = it.next() {
        let spec = if let Some(v) = a.strip_prefix("--vdev=") {
            Some(v)
        } else if a == "--vdev" {
            it.next()
        } else {
            None
        };
        if let Some(name) = spec.and_then(|v| v.split(',').next()) {
            out.push(name.to_owned());
        }
    }
    out
}

fn port_exists(name: &str) -> bool {
    let Ok(c) = CString::new(name) else {
        return false;
    };
    let mut id = 0u16;
    // SAFETY: valid C string and out-pointer.
    unsafe { sys::rte_eth_dev_get_port_by_name(c.as_ptr(), &mut id) == 0 }
}

/// Whether [`init`] succeeded in this process.
pub fn is_initialised() -> bool {
    STATE.load(Ordering::Acquire) == DONE
}

fn hint(code: i32, args: &str) -> &'static str {
    match code {
        libc::ENOMEM if !args.contains("--no-huge") => {
            "no hugepage memory: try --no-huge -m 64, or reserve hugepages: \
             echo 64 > /proc/sys/vm/nr_hugepages (and mount hugetlbfs)"
        }
        libc::ENOMEM => "not enough memory for -m: raise -m or lower the mempool size",
        libc::EACCES => "permission denied: EAL needs root (or CAP_SYS_ADMIN/CAP_NET_RAW) here",
        libc::EALREADY => "EAL already initialised in this process",
        libc::ENODEV | libc::ENOENT => {
            "a device did not probe: check the --vdev/-a spelling and its arguments \
             (e.g. net_tap0,iface=tw0; net_af_packet0,iface=<existing iface>) and that the \
             PMD exists in the plugin directory"
        }
        libc::EBUSY | libc::EEXIST => {
            "another DPDK process uses this --file-prefix: give each process a unique one \
             or use --in-memory"
        }
        libc::EINVAL => "EAL rejected an argument: check -l/--lcores, -m and --vdev syntax",
        _ => "see the EAL log above for the failing step",
    }
}

/// The directory EAL loads poll-mode drivers from by default (`RTE_EAL_PMD_PATH`).
pub fn pmd_dir() -> &'static str {
    std::str::from_utf8(sys::RTE_EAL_PMD_PATH)
        .unwrap_or("")
        .trim_end_matches('\0')
}

/// Where EAL keeps a runtime directory per `--file-prefix` when it runs as root. EAL does not
/// remove it when its process ends.
pub const RUNTIME_DIR: &str = "/var/run/dpdk";

/// The process id in `name` when it reads `<prefix><digits>…`.
pub fn pid_after_prefix(name: &str, prefix: &str) -> Option<u32> {
    let rest = name.strip_prefix(prefix)?;
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// Removes what an EAL whose process is gone left in `dir` (its runtime directory, hugepage
/// files, vhost or memif sockets): every entry named `<prefix><pid>…` (see
/// [`pid_after_prefix`]) with no `/proc/<pid>`. A name must carry the pid right after the
/// prefix to be touched. Returns the paths removed; one that cannot be read or removed is left.
pub fn remove_dead_prefixed(dir: &std::path::Path, prefix: &str) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = pid_after_prefix(&name, prefix) else {
            continue;
        };
        if std::path::Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        let path = e.path();
        if remove_path(&path).is_ok() {
            removed.push(path);
        }
    }
    removed
}

/// Removes `path`: a directory with everything in it, anything else as a file.
///
/// # Errors
/// What the removal returned.
pub fn remove_path(path: &std::path::Path) -> std::io::Result<()> {
    if path.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_pid_is_read_only_right_after_the_prefix() {
        assert_eq!(
            pid_after_prefix("tw-test-4242-memif", "tw-test-"),
            Some(4242)
        );
        assert_eq!(pid_after_prefix("tw-dpdk-17", "tw-dpdk-"), Some(17));
        assert_eq!(pid_after_prefix("tw-dpdk-17map_0", "tw-dpdk-"), Some(17));
        assert_eq!(pid_after_prefix("tw-dpdk-x17", "tw-dpdk-"), None);
        assert_eq!(pid_after_prefix("tw-dpdk-", "tw-dpdk-"), None);
        assert_eq!(pid_after_prefix("rte", "tw-dpdk-"), None);
    }

    #[test]
    fn only_entries_of_dead_processes_with_the_prefix_go() {
        let dir = std::env::temp_dir().join(format!("tw-eal-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // A pid that has been in use and is gone: a child that has exited and been reaped.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let me = std::process::id();
        let stale_dir = dir.join(format!("tw-x-{dead}-eal"));
        std::fs::create_dir_all(stale_dir.join("fbarray")).unwrap();
        std::fs::write(stale_dir.join("config"), b"c").unwrap();
        let stale_file = dir.join(format!("tw-x-{dead}map_0"));
        let kept = [
            dir.join(format!("tw-x-{me}-eal")),
            dir.join(format!("tw-y-{dead}")),
            dir.join("tw-x-nopid"),
            dir.join("rte"),
        ];
        std::fs::write(&stale_file, b"m").unwrap();
        for k in &kept {
            std::fs::create_dir_all(k).unwrap();
        }
        let mut removed = remove_dead_prefixed(&dir, "tw-x-");
        removed.sort();
        let mut want = vec![stale_dir.clone(), stale_file.clone()];
        want.sort();
        assert_eq!(removed, want);
        assert!(!stale_dir.exists() && !stale_file.exists());
        for k in &kept {
            assert!(k.exists(), "{} was removed", k.display());
        }
        assert!(remove_dead_prefixed(&dir.join("absent"), "tw-x-").is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
