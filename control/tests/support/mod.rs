//! What the `tickwire` CLI tests share: running the binary, `bench --output json`, the
//! demo's summary.
#![allow(dead_code)] // each test crate uses its own subset

use std::path::Path;
use std::process::Command;

/// Runs `cmd` to the end: exit code (-1 on a signal), stdout, stderr.
pub fn run(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub fn tickwire(args: &[&str]) -> (i32, String, String) {
    run(Command::new(env!("CARGO_BIN_EXE_tickwire")).args(args))
}

/// `bench` with `args` through `tickwire` (a runner like [`tickwire`]), its report written
/// into `out` and printed as JSON: the successful run's document.
pub fn bench_json(
    tickwire: impl Fn(&[&str]) -> (i32, String, String),
    args: &[&str],
    out: &Path,
) -> serde_json::Value {
    let out = out.to_str().unwrap();
    let args: Vec<&str> = ["bench"]
        .iter()
        .chain(args)
        .chain(&["--output", "json", "--out", out])
        .copied()
        .collect();
    let (code, stdout, err) = tickwire(&args);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

/// The demo's summary.json in `dir`.
pub fn summary(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap()
}

/// `tickwire` run as `nobody` (root drops its privileges with setpriv).
pub fn tickwire_as_nobody(args: &[&str]) -> (i32, String, String) {
    run(Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_tickwire"))
        .args(args))
}
