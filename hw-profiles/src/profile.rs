//! The profile schema: what a host must look like for tickwire's dataplane.
//!
//! A profile is a TOML document (see `hw-profiles/profiles/*.toml` for the shipped ones) with
//! the tables `[cores]`, `[hugepages]`, `[nic]`, `[kernel]` and `[eal]`. Loading is two steps
//! in one call: serde parses it (unknown keys are errors), then [`Profile::validate`] checks
//! the cross-field rules (cores inside `0..count`, dataplane cores not shared, one of PCI or
//! vdev, ring sizes, …). Every error names the key it is about, e.g.
//! `cores.dataplane: core 7 is not in 0..=3`.
//!
//! Call order: [`Profile::load`] (shipped name or file path) or [`Profile::from_toml`], then
//! hand the profile to `verify`, `apply` or `eal::args`.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cpulist::CpuList;
use crate::shipped;

/// A hardware profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Short name (`mlx5-colo`).
    pub name: String,
    /// One line on what host this is for.
    #[serde(default)]
    pub description: String,
    /// CPU roles.
    pub cores: Cores,
    /// Hugepage reservation; required unless `eal.no_huge`.
    #[serde(default)]
    pub hugepages: Option<Hugepages>,
    /// The port the dataplane drives.
    pub nic: Nic,
    /// Kernel and OS expectations.
    #[serde(default)]
    pub kernel: Kernel,
    /// EAL options not derived from the other tables.
    #[serde(default)]
    pub eal: Eal,
}

/// CPU roles. All lists use the kernel's list syntax (`"2-3,6"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cores {
    /// Logical CPUs the host must have online: `0..count`.
    pub count: u32,
    /// Busy-polling dataplane cores (one per dataplane thread).
    pub dataplane: CpuList,
    /// Control-plane cores (admin socket, logging, reconnects).
    pub control: CpuList,
    /// Cores left to the OS: IRQs, kernel threads, everything else.
    pub housekeeping: CpuList,
    /// Cores the scheduler must keep free (`isolcpus`, `nohz_full`, `rcu_nocbs`).
    #[serde(default)]
    pub isolated: CpuList,
    /// NUMA node the dataplane and control cores, the hugepages and the NIC must share.
    #[serde(default)]
    pub numa_node: Option<u32>,
}

/// Hugepage size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PageSize {
    /// 2 MiB pages.
    #[serde(rename = "2M")]
    Mib2,
    /// 1 GiB pages.
    #[serde(rename = "1G")]
    Gib1,
}

impl PageSize {
    /// Size in KiB, as in `/sys/kernel/mm/hugepages/hugepages-<kb>kB`.
    pub fn kib(self) -> u64 {
        match self {
            Self::Mib2 => 2048,
            Self::Gib1 => 1_048_576,
        }
    }

    /// The spelling used by hugetlbfs' `pagesize=` option and the kernel command line.
    pub fn label(self) -> &'static str {
        match self {
            Self::Mib2 => "2M",
            Self::Gib1 => "1G",
        }
    }
}

/// Hugepage reservation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hugepages {
    /// Page size.
    pub size: PageSize,
    /// Pages that must be reserved (on `cores.numa_node` when set).
    pub count: u32,
    /// hugetlbfs mount point EAL uses (`--huge-dir`).
    pub mount: PathBuf,
}

impl Hugepages {
    /// Reserved memory in MiB.
    pub fn total_mib(&self) -> u64 {
        u64::from(self.count) * self.size.kib() / 1024
    }
}

/// Offloads requested from the poll-mode driver at port start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Offload {
    /// Receive IPv4 header checksum check.
    RxIpv4Cksum,
    /// Receive TCP checksum check.
    RxTcpCksum,
    /// Transmit IPv4 header checksum insertion.
    TxIpv4Cksum,
    /// Transmit TCP checksum insertion.
    TxTcpCksum,
    /// Hardware receive timestamps.
    RxTimestamp,
}

/// The port the dataplane drives: a PCI device or a DPDK virtual device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Nic {
    /// Free text (`NVIDIA ConnectX-6 Dx`).
    #[serde(default)]
    pub model: Option<String>,
    /// Kernel driver the PCI device must be bound to at run time (`mlx5_core` stays bound
    /// for DPDK's bifurcated mlx5 driver; `vfio-pci` for ice and sfc ports).
    #[serde(default)]
    pub driver: Option<String>,
    /// PCI address `DDDD:BB:DD.F` (EAL `-a`).
    #[serde(default)]
    pub pci: Option<String>,
    /// Extra device arguments appended to `-a <pci>,` (`rxq_cqe_comp_en=0`).
    #[serde(default)]
    pub devargs: Option<String>,
    /// A kernel network interface the profile relies on (AF_PACKET's veth, mlx5's netdev).
    #[serde(default)]
    pub interface: Option<String>,
    /// A DPDK virtual device (EAL `--vdev`), e.g. `virtio_user0,path=/run/tickwire/vhost.sock`.
    #[serde(default)]
    pub vdev: Option<String>,
    /// DPDK driver name; its plugin is `librte_<pmd>.so` (`net_mlx5`, `net_virtio`).
    #[serde(default)]
    pub pmd: Option<String>,
    /// Receive queues.
    #[serde(default = "one")]
    pub rx_queues: u16,
    /// Transmit queues.
    #[serde(default = "one")]
    pub tx_queues: u16,
    /// Receive ring descriptors per queue (power of two).
    #[serde(default = "ring")]
    pub rx_ring: u16,
    /// Transmit ring descriptors per queue (power of two).
    #[serde(default = "ring")]
    pub tx_ring: u16,
    /// Offloads requested at port start.
    #[serde(default)]
    pub offloads: Vec<Offload>,
    /// CPUs the NIC's interrupts must be steered to.
    #[serde(default)]
    pub irq_affinity: Option<CpuList>,
}

fn one() -> u16 {
    1
}

fn ring() -> u16 {
    1024
}

/// Transparent hugepage mode (`/sys/kernel/mm/transparent_hugepage/enabled`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Thp {
    /// THP everywhere (khugepaged compaction stalls: not for latency hosts).
    Always,
    /// Only where a process asks with `madvise`.
    Madvise,
    /// Off.
    Never,
}

impl Thp {
    /// The kernel's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Always => "always",
            Self::Madvise => "madvise",
            Self::Never => "never",
        }
    }
}

/// Kernel and OS expectations. Unset options are not checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Kernel {
    /// `isolcpus=` must cover `cores.isolated`.
    #[serde(default)]
    pub isolcpus: bool,
    /// `nohz_full=` must cover `cores.isolated`.
    #[serde(default)]
    pub nohz_full: bool,
    /// `rcu_nocbs=` must cover `cores.isolated`.
    #[serde(default)]
    pub rcu_nocbs: bool,
    /// Deepest C-state allowed (`intel_idle.max_cstate`, `processor.max_cstate`).
    #[serde(default)]
    pub max_cstate: Option<u8>,
    /// Transparent hugepage mode.
    #[serde(default)]
    pub thp: Option<Thp>,
    /// `vm.swappiness`.
    #[serde(default)]
    pub swappiness: Option<u8>,
    /// cpufreq governor on the dataplane and control cores (`performance`).
    #[serde(default)]
    pub governor: Option<String>,
    /// `irqbalance` must not run (it would undo IRQ steering).
    #[serde(default)]
    pub irqbalance_off: bool,
    /// Every movable IRQ (and the default affinity for new ones) confined to housekeeping cores.
    #[serde(default)]
    pub irqs_on_housekeeping: bool,
}

/// EAL options that are not derived from the other tables.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Eal {
    /// `--file-prefix`: unique per DPDK process on the host.
    #[serde(default)]
    pub file_prefix: Option<String>,
    /// `--in-memory`: no shared runtime files (single-process DPDK).
    #[serde(default)]
    pub in_memory: bool,
    /// `--no-huge`: anonymous memory instead of hugepages (tests and small VMs only).
    #[serde(default)]
    pub no_huge: bool,
    /// Memory in MiB: `-m` with `no_huge`, else `--socket-mem` (defaults to the reservation).
    #[serde(default)]
    pub memory_mb: Option<u32>,
}

/// Why a profile did not load.
#[derive(Debug)]
pub enum ProfileError {
    /// Neither a shipped profile nor an existing file.
    Unknown {
        /// What was asked for.
        name: String,
    },
    /// The file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        error: std::io::Error,
    },
    /// Not valid TOML, a wrong type, or an unknown key.
    Toml {
        /// Profile name or file path.
        origin: String,
        /// The parser's message (names the key and shows the line).
        message: String,
    },
    /// Parsed, but a rule is broken.
    Invalid {
        /// Dotted key (`cores.dataplane`).
        key: &'static str,
        /// What is wrong.
        problem: String,
    },
}

impl fmt::Display for ProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unknown { name } => write!(
                f,
                "unknown profile {name:?}: not a shipped profile ({}) nor a readable file",
                shipped::NAMES.join(", ")
            ),
            Self::Io { path, error } => write!(f, "reading {}: {error}", path.display()),
            Self::Toml { origin, message } => write!(f, "profile {origin}: {}", message.trim_end()),
            Self::Invalid { key, problem } => write!(f, "{key}: {problem}"),
        }
    }
}

impl std::error::Error for ProfileError {}

fn invalid(key: &'static str, problem: impl Into<String>) -> ProfileError {
    ProfileError::Invalid {
        key,
        problem: problem.into(),
    }
}

impl Profile {
    /// Loads a shipped profile by name, or else a TOML file at that path.
    ///
    /// # Errors
    /// [`ProfileError::Unknown`] when `name_or_path` is neither; the parse and validation
    /// errors of [`Profile::from_toml`].
    pub fn load(name_or_path: &str) -> Result<Self, ProfileError> {
        if let Some(text) = shipped::text(name_or_path) {
            return Self::from_toml(text, name_or_path);
        }
        let path = Path::new(name_or_path);
        if !path.is_file() {
            return Err(ProfileError::Unknown {
                name: name_or_path.to_owned(),
            });
        }
        let text = std::fs::read_to_string(path).map_err(|error| ProfileError::Io {
            path: path.to_owned(),
            error,
        })?;
        Self::from_toml(&text, &path.display().to_string())
    }

    /// Parses and validates a profile; `origin` names it in errors.
    ///
    /// # Errors
    /// [`ProfileError::Toml`] for syntax, type and unknown-key errors;
    /// [`ProfileError::Invalid`] from [`Profile::validate`].
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, ProfileError> {
        let profile: Self = toml::from_str(text).map_err(|e| ProfileError::Toml {
            origin: origin.to_owned(),
            message: match e.span().and_then(|s| key_path_at(text, s)) {
                Some(key) => {
                    let full = e.to_string();
                    let at = full.lines().next().unwrap_or_default();
                    let at = at.trim_start_matches("TOML parse error at ");
                    format!("{key}: {} ({at})", e.message().trim_end())
                }
                None => e.to_string(),
            },
        })?;
        profile.validate()?;
        Ok(profile)
    }

    /// Checks the rules serde cannot express.
    ///
    /// # Errors
    /// [`ProfileError::Invalid`] naming the first key that breaks a rule.
    pub fn validate(&self) -> Result<(), ProfileError> {
        if self.name.is_empty()
            || !self
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(invalid(
                "name",
                "must be non-empty lowercase letters, digits and '-'",
            ));
        }
        self.validate_cores()?;
        self.validate_memory()?;
        self.validate_nic()?;
        let k = &self.kernel;
        for (key, on) in [
            ("kernel.isolcpus", k.isolcpus),
            ("kernel.nohz_full", k.nohz_full),
            ("kernel.rcu_nocbs", k.rcu_nocbs),
        ] {
            if on && self.cores.isolated.is_empty() {
                return Err(invalid(key, "needs a non-empty cores.isolated"));
            }
        }
        if let Some(g) = &k.governor {
            if g.is_empty() || !g.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                return Err(invalid(
                    "kernel.governor",
                    format!("{g:?} is not a cpufreq governor name"),
                ));
            }
        }
        if k.swappiness.is_some_and(|s| s > 200) {
            return Err(invalid("kernel.swappiness", "must be in 0..=200"));
        }
        Ok(())
    }

    fn validate_cores(&self) -> Result<(), ProfileError> {
        let c = &self.cores;
        if c.count == 0 {
            return Err(invalid("cores.count", "must be at least 1"));
        }
        let all = CpuList::first(c.count);
        let lists = [
            ("cores.dataplane", &c.dataplane),
            ("cores.control", &c.control),
            ("cores.housekeeping", &c.housekeeping),
            ("cores.isolated", &c.isolated),
        ];
        for (key, list) in lists {
            if let Some(cpu) = list.difference(&all).lowest() {
                return Err(invalid(
                    key,
                    format!("core {cpu} is not in 0..={}", c.count - 1),
                ));
            }
        }
        for (key, list) in &lists[..3] {
            if list.is_empty() {
                return Err(invalid(key, "needs at least one core"));
            }
        }
        if let Some(cpu) = c.control.intersection(&c.dataplane).lowest() {
            return Err(invalid(
                "cores.control",
                format!("core {cpu} is also a dataplane core"),
            ));
        }
        if let Some(cpu) = c.housekeeping.intersection(&c.dataplane).lowest() {
            return Err(invalid(
                "cores.housekeeping",
                format!("core {cpu} is also a dataplane core"),
            ));
        }
        if let Some(cpu) = c.isolated.intersection(&c.housekeeping).lowest() {
            return Err(invalid(
                "cores.isolated",
                format!("core {cpu} is a housekeeping core; isolated cores get no OS work"),
            ));
        }
        Ok(())
    }

    fn validate_memory(&self) -> Result<(), ProfileError> {
        match (&self.hugepages, self.eal.no_huge) {
            (Some(_), true) => {
                return Err(invalid(
                    "eal.no_huge",
                    "the profile also reserves [hugepages]; choose one",
                ))
            }
            (None, false) => {
                return Err(invalid("hugepages", "required unless eal.no_huge = true"));
            }
            (Some(h), false) => {
                if h.count == 0 {
                    return Err(invalid("hugepages.count", "must be at least 1"));
                }
                if !h.mount.is_absolute() {
                    return Err(invalid(
                        "hugepages.mount",
                        format!("{} is not an absolute path", h.mount.display()),
                    ));
                }
                if let Some(mb) = self.eal.memory_mb {
                    if u64::from(mb) > h.total_mib() {
                        return Err(invalid(
                            "eal.memory_mb",
                            format!("{mb} MiB is more than the {} MiB reserved", h.total_mib()),
                        ));
                    }
                }
            }
            (None, true) => {}
        }
        if self.eal.memory_mb == Some(0) {
            return Err(invalid("eal.memory_mb", "must be at least 1"));
        }
        if let Some(p) = &self.eal.file_prefix {
            if self.eal.in_memory {
                return Err(invalid(
                    "eal.file_prefix",
                    "has no effect with eal.in_memory",
                ));
            }
            if p.is_empty()
                || !p
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                return Err(invalid(
                    "eal.file_prefix",
                    format!("{p:?}: use letters, digits, '_' and '-'"),
                ));
            }
        }
        Ok(())
    }

    fn validate_nic(&self) -> Result<(), ProfileError> {
        let n = &self.nic;
        match (&n.pci, &n.vdev) {
            (Some(_), Some(_)) | (None, None) => {
                return Err(invalid("nic", "give exactly one of nic.pci or nic.vdev"))
            }
            (Some(pci), None) => {
                if !is_pci_address(pci) {
                    return Err(invalid(
                        "nic.pci",
                        format!("{pci:?} is not a PCI address DDDD:BB:DD.F"),
                    ));
                }
            }
            (None, Some(vdev)) => {
                if vdev.is_empty() || vdev.contains(char::is_whitespace) {
                    return Err(invalid(
                        "nic.vdev",
                        format!("{vdev:?} is not a DPDK vdev string"),
                    ));
                }
                if n.devargs.is_some() {
                    return Err(invalid(
                        "nic.devargs",
                        "belongs to a PCI device; put vdev arguments in nic.vdev",
                    ));
                }
                if n.driver.is_some() {
                    return Err(invalid("nic.driver", "a vdev has no kernel driver binding"));
                }
            }
        }
        if let Some(i) = &n.interface {
            if i.is_empty() || i.len() > 15 || i.contains(['/', ' ']) {
                return Err(invalid(
                    "nic.interface",
                    format!("{i:?} is not an interface name"),
                ));
            }
        }
        for (key, q) in [
            ("nic.rx_queues", n.rx_queues),
            ("nic.tx_queues", n.tx_queues),
        ] {
            if q == 0 || q > 64 {
                return Err(invalid(key, format!("{q} is not in 1..=64")));
            }
        }
        for (key, r) in [("nic.rx_ring", n.rx_ring), ("nic.tx_ring", n.tx_ring)] {
            if !r.is_power_of_two() || !(64..=32768).contains(&r) {
                return Err(invalid(
                    key,
                    format!("{r} is not a power of two in 64..=32768"),
                ));
            }
        }
        for (i, o) in n.offloads.iter().enumerate() {
            if n.offloads[..i].contains(o) {
                return Err(invalid("nic.offloads", format!("{o:?} is listed twice")));
            }
        }
        if let Some(irq) = &n.irq_affinity {
            if irq.is_empty() {
                return Err(invalid("nic.irq_affinity", "needs at least one core"));
            }
            if let Some(cpu) = irq.difference(&CpuList::first(self.cores.count)).lowest() {
                return Err(invalid(
                    "nic.irq_affinity",
                    format!("core {cpu} is not in 0..={}", self.cores.count - 1),
                ));
            }
            if let Some(cpu) = irq.intersection(&self.cores.dataplane).lowest() {
                return Err(invalid(
                    "nic.irq_affinity",
                    format!("core {cpu} is a dataplane core; interrupts there stall the poll loop"),
                ));
            }
        }
        Ok(())
    }

    /// Cores the profile pins work to: dataplane and control.
    pub fn pinned_cores(&self) -> CpuList {
        self.cores.dataplane.union(&self.cores.control)
    }
}

/// The dotted key (`cores.cpus`) at byte range `span` of a TOML text: the key there, behind
/// the nearest `[table]` header above it. `None` when the span is not on a bare key.
fn key_path_at(text: &str, span: std::ops::Range<usize>) -> Option<String> {
    let bare = |k: &str| {
        !k.is_empty()
            && k.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
    };
    let line_start = text.get(..span.start)?.rfind('\n').map_or(0, |i| i + 1);
    let before = text[line_start..span.start].trim();
    if let Some(header) = text.get(span.clone())?.trim().strip_prefix('[') {
        // A whole table (e.g. a missing field): name the table.
        let name = header.split(']').next().unwrap_or_default().trim();
        return bare(name).then(|| name.to_owned());
    }
    if before.starts_with('[') {
        // An unknown table: the span is its name.
        let name = text.get(span)?.trim();
        return bare(name).then(|| name.to_owned());
    }
    // Either the span is the key itself, or it is the value after `key =`.
    let key = match before.strip_suffix('=') {
        Some(k) => k.trim(),
        None if before.is_empty() => text.get(span)?.trim(),
        None => return None,
    };
    if !bare(key) {
        return None;
    }
    let table = text[..line_start].lines().rev().find_map(|l| {
        let l = l.trim();
        l.strip_prefix('[')?.split(']').next().map(str::trim)
    });
    Some(match table {
        Some(t) if bare(t) => format!("{t}.{key}"),
        _ => key.to_owned(),
    })
}

/// Whether `s` is a full PCI address `DDDD:BB:DD.F` (hex digits, function 0-7).
pub fn is_pci_address(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 12
        && b[4] == b':'
        && b[7] == b':'
        && b[10] == b'.'
        && [0, 1, 2, 3, 5, 6, 8, 9]
            .iter()
            .all(|&i| b[i].is_ascii_hexdigit())
        && (b'0'..=b'7').contains(&b[11])
}
