//! Finds libdpdk through pkg-config, compiles the inline-function shim with its cflags, and
//! generates bindings for the allowlisted API with bindgen.
//!
//! Nothing is hard-coded: include paths, `-include rte_config.h`, `-march=…` and the library
//! list all come from `pkg-config --cflags --libs libdpdk`, so a newer DPDK LTS works unchanged.

use std::env;
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=shim/shim.c");
    println!("cargo:rerun-if-changed=shim/shim.h");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");

    let lib = match pkg_config::Config::new().atleast_version("21.11").probe("libdpdk") {
        Ok(lib) => lib,
        Err(e) => panic!(
            "tickwire-dpdk-sys: libdpdk not found through pkg-config ({e}); install the DPDK \
             development package (Debian: apt-get install dpdk-dev libdpdk-dev) or run scripts/setup-host"
        ),
    };
    // Whole cflags as DPDK ships them (`-include rte_config.h`, `-march=…`, defines).
    let cflags = pkg_config_cflags();

    let mut build = cc::Build::new();
    build.file("shim/shim.c").warnings(false).opt_level(2);
    for flag in &cflags {
        build.flag(flag);
    }
    build.compile("tickwire_dpdk_shim");

    // Expose the DPDK version and the PMD plugin directory to the wrapper crate.
    println!("cargo:rustc-env=TICKWIRE_DPDK_VERSION={}", lib.version);
    if let Ok(libdir) = pkg_config::get_variable("libdpdk", "libdir") {
        println!("cargo:rustc-env=TICKWIRE_DPDK_LIBDIR={libdir}");
    }

    let bindings = bindgen::Builder::default()
        .header("shim/shim.h")
        .clang_args(&cflags)
        .allowlist_function("rte_eal_.*")
        .allowlist_function("rte_eth_.*")
        .allowlist_function("rte_pktmbuf_.*")
        .allowlist_function("rte_mempool_.*")
        .allowlist_function("rte_mbuf_.*")
        .allowlist_function("rte_strerror")
        .allowlist_function("rte_dev_.*")
        .allowlist_function("rte_lcore_.*")
        .allowlist_function("rte_socket_id")
        .allowlist_function("rte_version")
        .allowlist_function("tw_.*")
        .allowlist_type("rte_ether_.*")
        .allowlist_type("rte_eth_.*")
        .allowlist_type("rte_ipv4_hdr")
        .allowlist_type("rte_tcp_hdr")
        .allowlist_var("RTE_ETH_.*")
        .allowlist_var("RTE_MBUF_.*")
        .allowlist_var("RTE_PKTMBUF_.*")
        .allowlist_var("RTE_EAL_PMD_PATH")
        .allowlist_var("RTE_MAX_ETHPORTS")
        .allowlist_var("SOCKET_ID_ANY")
        .allowlist_var("E.*")
        .opaque_type("rte_mbuf_sched")
        .derive_default(true)
        .layout_tests(false)
        .generate_comments(false)
        .prepend_enum_name(false)
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()))
        .generate()
        .expect("tickwire-dpdk-sys: bindgen failed on the DPDK headers");
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR is set by cargo"));
    bindings
        .write_to_file(out.join("bindings.rs"))
        .expect("tickwire-dpdk-sys: cannot write bindings.rs");
}

/// `pkg-config --cflags libdpdk`, split into arguments (DPDK's flags contain no quoted spaces).
fn pkg_config_cflags() -> Vec<String> {
    let pc = env::var("PKG_CONFIG").unwrap_or_else(|_| "pkg-config".to_owned());
    let out = std::process::Command::new(pc)
        .args(["--cflags", "libdpdk"])
        .output()
        .expect("tickwire-dpdk-sys: cannot run pkg-config");
    assert!(out.status.success(), "pkg-config --cflags libdpdk failed");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}
