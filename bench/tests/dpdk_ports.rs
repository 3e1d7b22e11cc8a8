//! `tickwire_bench::dpdk::Ports` in one process: both pairs up in one EAL, each lent to two
//! runs in turn (the minimal venue, then the Kraken venue with its matching engine), every
//! order filled; a second `Ports::start` is refused with a typed reason; dropping the ports
//! removes their sockets and EAL runtime directory.
//!
//! `cargo test -p tickwire-bench --features dpdk --test dpdk_ports` (root and 64 MiB of free
//! 2 MiB hugepages, scripts/setup-host).
#![allow(clippy::unwrap_used)]

use tickwire_bench::dpdk::{Error, Options, Ports, Transport};
use tickwire_bench::inmem::{Params, VenueKind};
use tickwire_dataplane::dpdk::EalError;

#[test]
fn both_pairs_run_twice_in_one_eal_and_a_second_eal_is_refused() {
    let opts = Options {
        prefix: "hp-l".into(),
        ..Options::default()
    };
    let mut ports = match Ports::start(&opts) {
        Ok(p) => p,
        Err(e @ Error::NotRoot) => {
            eprintln!("skipped: {e}");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    let prefix = ports.file_prefix().to_string();
    assert_eq!(prefix, format!("hp-l{}", std::process::id()));
    for venue in [VenueKind::Minimal, VenueKind::Kraken] {
        for t in Transport::ALL {
            let params = Params {
                ticks: 1500,
                progress_every: 0,
                rate_per_s: 0,
                stages: false,
                venue,
            };
            let r = ports
                .run(t, params)
                .unwrap_or_else(|e| panic!("{venue:?}: {e}"));
            assert!(r.orders > 1500 / 16, "{t:?} {venue:?}: {r:?}");
            assert_eq!(r.fills, r.orders, "{t:?} {venue:?}");
            assert_eq!(r.tick_to_trade.len(), r.orders, "{t:?} {venue:?}");
            assert_eq!(r.at_venue.len(), r.orders, "{t:?} {venue:?}");
            assert_eq!(r.dropped_frames, 0, "{t:?} {venue:?}");
            assert_eq!(r.venue_stats.is_some(), venue == VenueKind::Kraken);
        }
    }
    // EAL runs once per process: a second start says so, and is a "not available" reason.
    let again = Ports::start(&Options {
        prefix: "hp-m".into(),
        ..Options::default()
    })
    .unwrap_err();
    assert_eq!(again, Error::Eal(EalError::AlreadyInitialised));
    assert!(again.is_unavailable());
    assert!(again.to_string().contains("already initialised"), "{again}");
    let tmp = std::env::temp_dir();
    let sockets = [
        tmp.join(format!("{prefix}-vhost.sock")),
        tmp.join(format!("{prefix}-memif.sock")),
    ];
    let runtime = std::path::Path::new("/var/run/dpdk").join(&prefix);
    assert!(sockets[0].exists() && runtime.exists());
    drop(ports);
    for s in &sockets {
        assert!(!s.exists(), "{} left behind", s.display());
    }
    assert!(!runtime.exists(), "{} left behind", runtime.display());
    // Nothing to clean up any more.
    assert!(tickwire_bench::dpdk::cleanup_registered().is_empty());
}
