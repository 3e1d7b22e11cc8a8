//! The DPDK EAL argument vector a profile implies, in DPDK's own spelling.
//!
//! | profile | EAL |
//! |---|---|
//! | `cores.control` ∪ `cores.dataplane` | `-l <list>` (+ `--main-lcore <first control core>` when it is not the lowest) |
//! | `[hugepages]` | `--huge-dir <mount>`, `--socket-mem <MiB per node>` (node from `cores.numa_node`) |
//! | `eal.no_huge` | `--no-huge -m <memory_mb>` |
//! | `eal.in_memory` / `eal.file_prefix` | `--in-memory` / `--file-prefix <p>` |
//! | `nic.pci` (+ `nic.devargs`) | `-a <pci>[,<devargs>]` |
//! | `nic.vdev` | `--no-pci --vdev <vdev>` |
//!
//! The vector excludes the program name; `tickwire_dataplane::dpdk::eal::init` takes it as is.

use crate::profile::Profile;

/// `--no-huge` memory when the profile gives no `eal.memory_mb`.
pub const DEFAULT_NO_HUGE_MB: u32 = 64;

/// Derives the EAL arguments for `profile` (which must have passed validation).
pub fn args(profile: &Profile) -> Vec<String> {
    let mut a: Vec<String> = Vec::new();
    let cores = &profile.cores;
    let lcores = profile.pinned_cores();
    a.push("-l".into());
    a.push(lcores.to_string());
    if let Some(main) = cores.control.lowest() {
        if lcores.lowest() != Some(main) {
            a.push("--main-lcore".into());
            a.push(main.to_string());
        }
    }
    let eal = &profile.eal;
    if eal.in_memory {
        a.push("--in-memory".into());
    } else if let Some(p) = &eal.file_prefix {
        a.push("--file-prefix".into());
        a.push(p.clone());
    }
    match (&profile.hugepages, eal.no_huge) {
        (_, true) => {
            a.push("--no-huge".into());
            a.push("-m".into());
            a.push(eal.memory_mb.unwrap_or(DEFAULT_NO_HUGE_MB).to_string());
        }
        (Some(h), false) => {
            a.push("--huge-dir".into());
            a.push(h.mount.display().to_string());
            let mb = eal.memory_mb.map_or(h.total_mib(), u64::from).to_string();
            // --socket-mem lists MiB per NUMA node, node 0 first.
            let node = cores.numa_node.unwrap_or(0) as usize;
            let mut per_node = vec!["0".to_string(); node];
            per_node.push(mb);
            a.push("--socket-mem".into());
            a.push(per_node.join(","));
        }
        (None, false) => {}
    }
    let nic = &profile.nic;
    if let Some(pci) = &nic.pci {
        a.push("-a".into());
        a.push(match &nic.devargs {
            Some(d) => format!("{pci},{d}"),
            None => pci.clone(),
        });
    }
    if let Some(vdev) = &nic.vdev {
        a.push("--no-pci".into());
        a.push("--vdev".into());
        a.push(vdev.clone());
    }
    a
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn shipped(name: &str) -> Vec<String> {
        args(&Profile::load(name).unwrap())
    }

    #[test]
    fn virtio_loopback_uses_vdev_hugepages_and_prefix() {
        assert_eq!(
            shipped("virtio-loopback").join(" "),
            "-l 0-1 --file-prefix tickwire --huge-dir /dev/hugepages --socket-mem 64 \
             --no-pci --vdev virtio_user0,path=/run/tickwire/vhost.sock,queues=1"
        );
    }

    #[test]
    fn af_packet_runs_in_memory_without_hugepages() {
        assert_eq!(
            shipped("af-packet-veth").join(" "),
            "-l 0-1 --in-memory --no-huge -m 64 --no-pci --vdev net_af_packet0,iface=tw-veth0,qpairs=1"
        );
    }

    #[test]
    fn colo_profiles_allow_the_pci_port_with_devargs_and_main_lcore() {
        assert_eq!(
            shipped("mlx5-colo").join(" "),
            "-l 4-6 --main-lcore 6 --file-prefix tickwire --huge-dir /dev/hugepages1G \
             --socket-mem 2048 -a 0000:3b:00.0,rxq_cqe_comp_en=0"
        );
        let e810 = shipped("e810-colo");
        assert!(e810.windows(2).any(|w| w == ["-a", "0000:5e:00.0"]));
        assert!(!e810.contains(&"--no-pci".to_string()));
    }

    #[test]
    fn socket_mem_lands_on_the_profile_numa_node() {
        let mut p = Profile::load("sfc-colo").unwrap();
        p.cores.numa_node = Some(1);
        p.eal.memory_mb = None;
        let a = args(&p);
        let i = a.iter().position(|x| x == "--socket-mem").unwrap();
        assert_eq!(a[i + 1], "0,2048");
    }
}
