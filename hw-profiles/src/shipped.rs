//! The profiles shipped inside the binary (`hw-profiles/profiles/*.toml`, embedded with
//! `include_str!`). [`text`] returns a profile's TOML by name; `Profile::load` parses it.

/// Names of the shipped profiles.
pub const NAMES: [&str; 5] = [
    "virtio-loopback",
    "af-packet-veth",
    "mlx5-colo",
    "e810-colo",
    "sfc-colo",
];

const TEXTS: [&str; 5] = [
    include_str!("../profiles/virtio-loopback.toml"),
    include_str!("../profiles/af-packet-veth.toml"),
    include_str!("../profiles/mlx5-colo.toml"),
    include_str!("../profiles/e810-colo.toml"),
    include_str!("../profiles/sfc-colo.toml"),
];

/// The TOML of a shipped profile, or `None` when no shipped profile has that name.
pub fn text(name: &str) -> Option<&'static str> {
    NAMES.iter().position(|n| *n == name).map(|i| TEXTS[i])
}
