//! Raw DPDK bindings (placeholder; built only with the `dpdk` feature of the dataplane).
