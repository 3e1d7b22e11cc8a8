//! Ethernet ports: configure with one RX and one TX queue, start, stop, link, stats.
//!
//! Offloads are enabled only when `rte_eth_dev_info_get` reports them: IPv4+TCP checksum on
//! TX, hardware RX timestamps (registered as an mbuf dynamic field).

use std::ffi::{CStr, CString};
use std::fmt;

use super::{strerror, sys, Mempool};

/// Why a port operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortError {
    /// No ethdev of that name (the `--vdev`/`-a` did not create one).
    NotFound(String),
    /// A DPDK call returned an error.
    Call {
        /// Which call (`rte_eth_dev_configure`, …).
        call: &'static str,
        /// The negative errno it returned (or `rte_errno`).
        code: i32,
        /// DPDK's text for it.
        reason: String,
        /// What to try.
        hint: &'static str,
    },
}

impl fmt::Display for PortError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound(n) => write!(f, "no DPDK port named {n:?} (check --vdev / -a)"),
            Self::Call {
                call,
                code,
                reason,
                hint,
            } => write!(f, "{call} failed: {reason} ({code}); {hint}"),
        }
    }
}

impl std::error::Error for PortError {}

fn check(call: &'static str, rc: i32) -> Result<(), PortError> {
    if rc < 0 {
        let code = -rc;
        return Err(PortError::Call {
            call,
            code,
            reason: strerror(code),
            hint: hint(call, code),
        });
    }
    Ok(())
}

/// What usually causes `code` from `call`, and what to do about it.
fn hint(call: &str, code: i32) -> &'static str {
    match (call, code) {
        (_, libc::EBUSY) => {
            "the port is running: stop it before configuring it again (one DpdkNic per port)"
        }
        ("rte_eth_dev_start", libc::ENODEV | libc::ENXIO | libc::ENOENT) => {
            "the interface behind the port is gone (deleted, or moved to another network \
             namespace): recreate it and restart the process"
        }
        ("rte_eth_dev_start", _) => {
            "the driver could not start the device: check that the interface or socket \
             behind the vdev exists and is usable, and see the PMD's log line above"
        }
        ("rte_eth_rx_queue_setup" | "rte_eth_tx_queue_setup", libc::ENOMEM) => {
            "not enough mbufs or memory for the ring: raise the mempool's mbuf count or EAL -m"
        }
        ("rte_eth_rx_queue_setup" | "rte_eth_tx_queue_setup", libc::EINVAL) => {
            "the driver refused the ring size or the mbuf data room: check the profile's ring \
             sizes and the mempool's data room (at least 2048 bytes)"
        }
        ("rte_eth_dev_configure", libc::EINVAL) => {
            "the driver refused the queue count or offloads: check the profile's NIC section \
             against what the PMD supports (dpdk-testpmd: show port info)"
        }
        (_, libc::ENOTSUP) => "the driver does not support this operation",
        _ => "see the PMD's log line above for the failing step",
    }
}

/// Offloads the port accepted at configure time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PortOffloads {
    /// IPv4 header and TCP checksums computed by the NIC on TX.
    pub tx_ipv4_tcp_cksum: bool,
    /// RX hardware timestamp: the mbuf dynamic-field offset and flag bit.
    pub rx_timestamp: Option<(i32, u64)>,
}

/// Link state from `rte_eth_link_get_nowait`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkStatus {
    /// Link is up.
    pub up: bool,
    /// Speed in Mbit/s (0 when unknown).
    pub speed_mbps: u32,
}

/// Basic counters from `rte_eth_stats_get`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PortStats {
    /// Frames received.
    pub ipackets: u64,
    /// Frames sent.
    pub opackets: u64,
    /// Bytes received.
    pub ibytes: u64,
    /// Bytes sent.
    pub obytes: u64,
    /// RX frames dropped by the NIC (no descriptor).
    pub imissed: u64,
    /// RX errors.
    pub ierrors: u64,
    /// TX errors.
    pub oerrors: u64,
    /// RX mbuf allocation failures.
    pub rx_nombuf: u64,
}

/// One ethdev port with a single RX and TX queue.
#[derive(Debug)]
pub struct Port {
    id: u16,
    name: String,
    offloads: PortOffloads,
    started: bool,
}

impl Port {
    /// Finds the port named `name` (e.g. `net_tap0`, a PCI address) and configures one RX and
    /// one TX queue of the given ring sizes, taking RX buffers from `pool`.
    ///
    /// # Errors
    /// [`PortError`] when the port does not exist or DPDK rejects the configuration.
    pub fn open(name: &str, pool: &Mempool, rx_ring: u16, tx_ring: u16) -> Result<Self, PortError> {
        let cname = CString::new(name).map_err(|_| PortError::NotFound(name.to_owned()))?;
        let mut id = 0u16;
        // SAFETY: cname is a valid C string, id a valid out-pointer.
        let rc = unsafe { sys::rte_eth_dev_get_port_by_name(cname.as_ptr(), &mut id) };
        if rc < 0 {
            return Err(PortError::NotFound(name.to_owned()));
        }
        let mut info = sys::rte_eth_dev_info::default();
        // SAFETY: id is a valid port, info a valid out-struct.
        check("rte_eth_dev_info_get", unsafe {
            sys::rte_eth_dev_info_get(id, &mut info)
        })?;

        let mut conf = sys::rte_eth_conf::default();
        let mut offloads = PortOffloads::default();
        // SAFETY: the tw_* offload constants have no preconditions.
        let (ip_ck, tcp_ck, rx_ts) = unsafe {
            (
                sys::tw_tx_offload_ipv4_cksum(),
                sys::tw_tx_offload_tcp_cksum(),
                sys::tw_rx_offload_timestamp(),
            )
        };
        if info.tx_offload_capa & (ip_ck | tcp_ck) == ip_ck | tcp_ck {
            conf.txmode.offloads |= ip_ck | tcp_ck;
            offloads.tx_ipv4_tcp_cksum = true;
        }
        if info.rx_offload_capa & rx_ts != 0 {
            let mut offset = 0i32;
            let mut flag = 0u64;
            // SAFETY: valid out-pointers; registering the timestamp field is idempotent.
            let rc = unsafe { sys::rte_mbuf_dyn_rx_timestamp_register(&mut offset, &mut flag) };
            if rc == 0 {
                conf.rxmode.offloads |= rx_ts;
                offloads.rx_timestamp = Some((offset, flag));
            }
        }
        // SAFETY: id is valid and conf outlives the call (DPDK copies it).
        check("rte_eth_dev_configure", unsafe {
            sys::rte_eth_dev_configure(id, 1, 1, &conf)
        })?;
        let (mut nrx, mut ntx) = (rx_ring, tx_ring);
        // SAFETY: valid port and out-pointers.
        check("rte_eth_dev_adjust_nb_rx_tx_desc", unsafe {
            sys::rte_eth_dev_adjust_nb_rx_tx_desc(id, &mut nrx, &mut ntx)
        })?;
        // SAFETY: valid port id; socket id query has no preconditions.
        let socket = u32::try_from(unsafe { sys::rte_eth_dev_socket_id(id) }).unwrap_or(0);
        let mut txconf = info.default_txconf;
        txconf.offloads = conf.txmode.offloads;
        // SAFETY: the port is configured with one queue each; pool outlives the port by the
        // owner's field order; null rx_conf selects the driver defaults.
        check("rte_eth_rx_queue_setup", unsafe {
            sys::rte_eth_rx_queue_setup(id, 0, nrx, socket, std::ptr::null(), pool.as_ptr())
        })?;
        // SAFETY: as above; txconf is copied by DPDK.
        check("rte_eth_tx_queue_setup", unsafe {
            sys::rte_eth_tx_queue_setup(id, 0, ntx, socket, &txconf)
        })?;
        Ok(Self {
            id,
            name: name.to_owned(),
            offloads,
            started: false,
        })
    }

    /// Starts the port and turns on promiscuous mode (errors from the latter are ignored:
    /// virtual devices often do not support it).
    ///
    /// # Errors
    /// [`PortError::Call`] with DPDK's reason when the driver cannot start the device.
    pub fn start(&mut self) -> Result<(), PortError> {
        // SAFETY: the port is configured.
        check("rte_eth_dev_start", unsafe {
            sys::rte_eth_dev_start(self.id)
        })?;
        self.started = true;
        // SAFETY: started port; the result only says whether the driver supports it.
        let _ = unsafe { sys::rte_eth_promiscuous_enable(self.id) };
        Ok(())
    }

    /// Stops the port (idempotent).
    ///
    /// # Errors
    /// [`PortError::Call`] when the driver fails to stop.
    pub fn stop(&mut self) -> Result<(), PortError> {
        if self.started {
            self.started = false;
            // SAFETY: the port was started.
            check("rte_eth_dev_stop", unsafe {
                sys::rte_eth_dev_stop(self.id)
            })?;
        }
        Ok(())
    }

    /// The ethdev port id.
    pub fn id(&self) -> u16 {
        self.id
    }

    /// The device name the port was opened by.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Offloads in force.
    pub fn offloads(&self) -> PortOffloads {
        self.offloads
    }

    /// The port's MAC address.
    pub fn mac(&self) -> [u8; 6] {
        let mut addr = sys::rte_ether_addr::default();
        // SAFETY: valid port and out-pointer.
        let _ = unsafe { sys::rte_eth_macaddr_get(self.id, &mut addr) };
        addr.addr_bytes
    }

    /// Current link state, without waiting.
    pub fn link(&self) -> LinkStatus {
        let mut link = sys::rte_eth_link::default();
        // SAFETY: valid port and out-pointer.
        let _ = unsafe { sys::rte_eth_link_get_nowait(self.id, &mut link) };
        LinkStatus {
            up: u32::from(link.link_status()) == sys::RTE_ETH_LINK_UP,
            speed_mbps: link.link_speed,
        }
    }

    /// Basic counters.
    ///
    /// # Errors
    /// [`PortError::Call`] when the driver does not report stats.
    pub fn stats(&self) -> Result<PortStats, PortError> {
        let mut s = sys::rte_eth_stats::default();
        // SAFETY: valid port and out-pointer.
        check("rte_eth_stats_get", unsafe {
            sys::rte_eth_stats_get(self.id, &mut s)
        })?;
        Ok(PortStats {
            ipackets: s.ipackets,
            opackets: s.opackets,
            ibytes: s.ibytes,
            obytes: s.obytes,
            imissed: s.imissed,
            ierrors: s.ierrors,
            oerrors: s.oerrors,
            rx_nombuf: s.rx_nombuf,
        })
    }

    /// Extended counters as (name, value) pairs (allocates: not for the hot path).
    ///
    /// # Errors
    /// [`PortError::Call`] when the driver fails the xstats query.
    pub fn xstats(&self) -> Result<Vec<(String, u64)>, PortError> {
        // SAFETY: null/0 asks for the count only.
        let n = unsafe { sys::rte_eth_xstats_get_names(self.id, std::ptr::null_mut(), 0) };
        check("rte_eth_xstats_get_names", n)?;
        let n = usize::try_from(n).unwrap_or(0);
        let mut names = vec![sys::rte_eth_xstat_name::default(); n];
        let mut vals = vec![sys::rte_eth_xstat::default(); n];
        let cap = u32::try_from(n).unwrap_or(u32::MAX);
        // SAFETY: both arrays hold `n` elements.
        check("rte_eth_xstats_get_names", unsafe {
            sys::rte_eth_xstats_get_names(self.id, names.as_mut_ptr(), cap)
        })?;
        // SAFETY: as above.
        check("rte_eth_xstats_get", unsafe {
            sys::rte_eth_xstats_get(self.id, vals.as_mut_ptr(), cap)
        })?;
        Ok(vals
            .iter()
            .filter_map(|v| {
                let name = names.get(usize::try_from(v.id).ok()?)?;
                // SAFETY: DPDK NUL-terminates names within the fixed array.
                let s = unsafe { CStr::from_ptr(name.name.as_ptr()) };
                Some((s.to_string_lossy().into_owned(), v.value))
            })
            .collect())
    }
}

impl Drop for Port {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}
