//! The configuration file: presets, overrides, every class of error naming its key, secrets
//! by reference only (0600 files, environment), and garbage that never panics.
#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Command;

use proptest::prelude::*;
use tickwire_control::config::{Config, Error, Preset, SecretRef, EXAMPLE};

const SECRET_B64: &str =
    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==";

/// A minimal valid file; `extra` is appended (tables) and `top` inserted before the first table.
fn minimal(top: &str, extra: &str) -> String {
    format!(
        r#"preset = "kraken-uat"
{top}
[appliance]
name = "t"
profile = "virtio-loopback"
address = "10.0.0.2/24"

[nic]
backend = "af-packet"
interface = "veth0"

[credentials.spot]
api_key = {{ env = "TW_TEST_KEY" }}
api_secret = {{ env = "TW_TEST_SECRET" }}

[admin]
token = {{ env = "TW_TEST_TOKEN" }}

[[session]]
name = "md"
kind = "spot-md-l2"
SenderCompID = "CLIENT1"
FileStorePath = "/tmp/md"

[[session]]
name = "trd"
kind = "spot-trading"
SenderCompID = "CLIENT1"
FileStorePath = "/tmp/trd"
Credentials = "spot"
{extra}"#
    )
}

fn err(text: &str) -> Error {
    Config::from_toml(text).expect_err("must be refused")
}

#[test]
fn the_shipped_example_is_valid_and_uses_the_uat_endpoints() {
    let c = Config::from_toml(EXAMPLE).unwrap();
    assert_eq!(c.preset, Some(Preset::KrakenUat));
    let (md, md_ep) = c.session("spot-md").unwrap();
    assert_eq!(md.target_comp_id.as_deref(), Some("KRAKEN-MD"));
    assert_eq!(md_ep.port, 4000);
    assert_eq!(
        md_ep.hosts,
        ["colo-london.vip-fix.uat.kraken.com", "fix.uat.kraken.com"]
    );
    let (trd, trd_ep) = c.session("spot-trd").unwrap();
    assert_eq!(trd.target_comp_id.as_deref(), Some("KRAKEN-TRD"));
    assert_eq!(trd_ep.port, 4001);
    assert_eq!(c.armed.len(), 1);
    assert_eq!(c.allowlist.len(), 1);
}

#[test]
fn presets_fill_every_kind_from_the_connection_table() {
    for (kind, port, target) in [
        ("spot-md-l2", 4000, "KRAKEN-MD"),
        ("spot-trading", 4001, "KRAKEN-TRD"),
        ("derivatives-md-l2", 4002, "KRAKEN-DRV-MD"),
        ("derivatives-trading", 4003, "KRAKEN-DRV-TRD"),
        ("derivatives-md-l3", 4004, "KRAKEN-DRV-MD"),
        ("spot-md-l3", 4005, "KRAKEN-MD"),
    ] {
        let creds = if kind.ends_with("trading") {
            "Credentials = \"spot\""
        } else {
            ""
        };
        let text = minimal("", "")
            .replace("preset = \"kraken-uat\"", "preset = \"kraken-prod\"")
            .replace(
                "name = \"md\"\nkind = \"spot-md-l2\"\nSenderCompID = \"CLIENT1\"",
                &format!(
                    "name = \"x\"\nkind = \"{kind}\"\nSenderCompID = \"CLIENT1-DRV\"\n{creds}"
                ),
            );
        let c = Config::from_toml(&text).unwrap_or_else(|e| panic!("{kind}: {e}"));
        let (s, ep) = c.session("x").unwrap();
        assert_eq!(ep.port, port, "{kind}");
        assert_eq!(s.target_comp_id.as_deref(), Some(target), "{kind}");
        assert_eq!(ep.hosts[0], "colo-london.vip-fix.kraken.com");
        assert_eq!(s.kind.port(), port);
        assert_eq!(s.kind.is_trading(), kind.ends_with("trading"));
    }
}

#[test]
fn any_field_can_be_overridden() {
    let text = minimal("", "")
        .replace(
            "FileStorePath = \"/tmp/md\"",
            "FileStorePath = \"/tmp/md\"\nTargetCompID = \"SIM-MD\"\nSocketConnectHost = \"127.0.0.1\"\nSocketConnectPort = 14000\nHeartBtInt = 5",
        );
    let c = Config::from_toml(&text).unwrap();
    let (md, ep) = c.session("md").unwrap();
    assert_eq!(md.target_comp_id.as_deref(), Some("SIM-MD"));
    assert_eq!(ep.hosts, ["127.0.0.1"]);
    assert_eq!(ep.port, 14000);
    assert_eq!(md.heart_bt_int, 5);
    // [venue] host and failover list replace the preset's for every session.
    let text = minimal(
        "",
        "\n[venue]\nhost = \"a.example\"\nfailover = [\"b.example\", \"c.example\"]\n",
    );
    let c = Config::from_toml(&text).unwrap();
    assert_eq!(
        c.session("trd").unwrap().1.hosts,
        ["a.example", "b.example", "c.example"]
    );
}

#[test]
fn errors_name_the_key_and_the_problem() {
    let cases: &[(String, &str, &str)] = &[
        (
            minimal("", "").replace("Credentials = \"spot\"", "Credentials = \"spot\"\nHeartBtIntt = 3"),
            "session[1].HeartBtIntt",
            "unknown field",
        ),
        (
            minimal("", "").replace("FileStorePath = \"/tmp/md\"", "FileStorePath = \"/tmp/md\"\nHeartBtInt = \"thirty\""),
            "session[0].HeartBtInt",
            "invalid type",
        ),
        (
            minimal("", "").replace("FileStorePath = \"/tmp/md\"", "FileStorePath = \"/tmp/md\"\nHeartBtInt = 0"),
            "session[0].HeartBtInt",
            "1..=3600",
        ),
        (minimal("", "").replace("10.0.0.2/24", "10.0.0.2"), "appliance.address", "prefix length"),
        (minimal("", "").replace("kraken-uat", "kraken-moon"), "preset", "unknown variant"),
        (minimal("", "").replace("spot-md-l2", "spot-md-l9"), "session[0].kind", "unknown variant"),
        (
            minimal("", "").replace("Credentials = \"spot\"", ""),
            "session[1].Credentials",
            "needs credentials",
        ),
        (
            minimal("", "").replace("Credentials = \"spot\"", "Credentials = \"derivs\""),
            "session[1].Credentials",
            "no [credentials.derivs] table",
        ),
        (
            minimal("", "").replace("name = \"trd\"", "name = \"md\""),
            "session[1].name",
            "used twice",
        ),
        (
            minimal("", "").replace("StartTime", "x").replace(
                "FileStorePath = \"/tmp/md\"",
                "FileStorePath = \"/tmp/md\"\nStartTime = \"25:00:00\"",
            ),
            "session[0].StartTime",
            "HH:MM:SS",
        ),
        (
            minimal("", "").replace(
                "FileStorePath = \"/tmp/md\"",
                "FileStorePath = \"/tmp/md\"\nTimeZone = \"Europe/London\"",
            ),
            "session[0].TimeZone",
            "only UTC",
        ),
        (
            minimal("", "").replace("kind = \"spot-md-l2\"", "kind = \"derivatives-md-l2\""),
            "session[0].SenderCompID",
            "ends in DRV",
        ),
        (minimal("", "").replace("preset = \"kraken-uat\"", ""), "session[0].TargetCompID", "without a preset"),
        (minimal("", "\n[risk]\nmax_order_qty = \"lots\"\n"), "risk.max_order_qty", "not a decimal"),
        (minimal("", "\n[risk]\nmax_notional = \"-5\"\n"), "risk.max_notional", "positive"),
        (minimal("", "\n[risk]\nrate_tier = \"gold\"\n"), "risk.rate_tier", "starter"),
        (
            minimal("", "\n[[armed]]\nsymbol = \"BTC/USD\"\nwhen = \"ask-at-or-below\"\nlevel = \"1\"\nside = \"buy\"\nprice = \"1\"\nqty = \"1\"\nsession = \"md\"\n"),
            "armed[0].session",
            "not a trading session",
        ),
        (
            minimal("", "\n[[armed]]\nsymbol = \"BTC/USD\"\nwhen = \"ask-at-or-below\"\nlevel = \"1\"\nside = \"buy\"\nprice = \"1\"\nqty = \"0\"\nsession = \"trd\"\n"),
            "armed[0].qty",
            "positive",
        ),
        (
            minimal("", "").replace("[admin]", "[admin]\nmetrics = \"0.0.0.0:9464\""),
            "admin.metrics",
            "loopback",
        ),
        (
            minimal("", "\n[tls]\npin_spki_sha256 = \"abc\"\n"),
            "tls.pin_spki_sha256",
            "64 hex digits",
        ),
        (
            minimal("", "\n[tls]\nca_file = \"/nonexistent/ca.pem\"\n"),
            "tls.ca_file",
            "is not a file",
        ),
        (
            minimal("", "").replace("interface = \"veth0\"", ""),
            "nic.interface",
            "required",
        ),
        (
            minimal("", "").replace("Credentials = \"spot\"", "Credentials = \"spot\"\nSymbol = \"BTC/USD\""),
            "session[1].Symbol",
            "only market-data sessions",
        ),
        (
            minimal("", "").replace("FileStorePath = \"/tmp/md\"", "FileStorePath = \"/tmp/md\"\nSymbol = \"BTCUSD\""),
            "session[0].Symbol",
            "BASE/QUOTE",
        ),
        (
            minimal("", "").replace("FileStorePath = \"/tmp/md\"", "FileStorePath = \"/tmp/md\"\nMarketDepth = 0"),
            "session[0].MarketDepth",
            "1..=1000",
        ),
    ];
    for (text, key, problem) in cases {
        let e = err(text);
        assert_eq!(e.key(), *key, "{e}");
        assert!(e.to_string().contains(problem), "{key}: {e}");
        assert!(e.to_string().starts_with(key), "{e}");
    }
    // Missing required field of a section.
    let e = err(&minimal("", "").replace("profile = \"virtio-loopback\"\n", ""));
    assert!(e.to_string().contains("profile"), "{e}");
}

#[test]
fn production_refuses_the_uat_only_verification_switch() {
    let text = minimal("", "\n[tls]\ndangerous_skip_verification_uat_only = true\n");
    Config::from_toml(&text).expect("allowed for UAT");
    let e = err(&text.replace("kraken-uat", "kraken-prod"));
    assert_eq!(e.key(), "tls.dangerous_skip_verification_uat_only");
    assert!(e.to_string().contains("production"), "{e}");
}

#[test]
fn inline_secrets_are_refused() {
    let text = minimal("", "").replace(
        "api_secret = { env = \"TW_TEST_SECRET\" }",
        &format!("api_secret = \"{SECRET_B64}\""),
    );
    let e = err(&text);
    assert_eq!(e.key(), "credentials.spot.api_secret");
    assert!(e.to_string().contains("inline secrets are refused"), "{e}");
    assert!(
        !e.to_string().contains(SECRET_B64),
        "the secret leaked: {e}"
    );
    let e = err(&minimal("", "").replace(
        "{ env = \"TW_TEST_TOKEN\" }",
        "{ env = \"A\", file = \"/b\" }",
    ));
    assert_eq!(e.key(), "admin.token");
    assert!(e.to_string().contains("exactly one of"), "{e}");
}

fn write_mode(path: &Path, text: &str, mode: u32) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn secret_files_must_be_private_and_never_print() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secret");
    write_mode(&path, &format!("{SECRET_B64}\n"), 0o644);
    let r = SecretRef::File(path.clone());
    let e = r
        .load("credentials.spot.api_secret")
        .expect_err("world-readable");
    assert!(e.to_string().contains("mode 0644"), "{e}");
    assert!(e.to_string().contains("chmod 600"), "{e}");
    assert!(!e.to_string().contains(SECRET_B64));
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let s = r.load("k").unwrap();
    assert_eq!(s.expose(), SECRET_B64, "trimmed");
    assert_eq!(format!("{s:?} {s}"), "<redacted> <redacted>");
    let e = SecretRef::File(dir.path().join("absent"))
        .load("admin.token")
        .unwrap_err();
    assert_eq!(e.key(), "admin.token");
    write_mode(&path, "  \n", 0o600);
    assert!(r.load("k").unwrap_err().to_string().contains("empty"));
    let e = SecretRef::Env("TW_TEST_SURELY_UNSET_VAR".into())
        .load("k")
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("TW_TEST_SURELY_UNSET_VAR is not set"),
        "{e}"
    );
}

fn tickwire(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tickwire"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn config_check_exits_by_verdict_and_never_prints_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("api.secret");
    let token = dir.path().join("admin.token");
    write_mode(&secret, SECRET_B64, 0o600);
    write_mode(&token, "tok-5f2e9a", 0o600);
    let text = minimal("", "")
        .replace(
            "{ env = \"TW_TEST_SECRET\" }",
            &format!("{{ file = \"{}\" }}", secret.display()),
        )
        .replace(
            "{ env = \"TW_TEST_TOKEN\" }",
            &format!("{{ file = \"{}\" }}", token.display()),
        );
    let file = dir.path().join("tw.toml");
    std::fs::write(&file, &text).unwrap();
    let f = file.to_str().unwrap();
    let env = [("TW_TEST_KEY", "FIXTESTKEY123")];

    let (code, out, err) = tickwire(&["config", "check", f], &env);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("OK (2 session(s), preset kraken-uat, secrets readable)"),
        "{out}"
    );
    let (code, out, err) = tickwire(&["--output", "json", "config", "show", f], &env);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["sessions"][1]["port"], 4001);
    for printed in [&out, &err] {
        for s in [SECRET_B64, "tok-5f2e9a", "FIXTESTKEY123"] {
            assert!(!printed.contains(s), "secret printed: {printed}");
        }
    }

    // A credentials file others can read: exit 2, key and file named.
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o640)).unwrap();
    let (code, out, err) = tickwire(&["config", "check", f], &env);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("credentials.spot.api_secret"), "{err}");
    assert!(err.contains("mode 0640"), "{err}");
    assert!(!err.contains(SECRET_B64) && !out.contains(SECRET_B64));
    // --no-secrets checks the file alone.
    let (code, _, err) = tickwire(&["config", "check", "--no-secrets", f], &[]);
    assert_eq!(code, 0, "{err}");
    // A missing environment variable.
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (code, _, err) = tickwire(&["config", "check", f], &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains("credentials.spot.api_key: environment variable TW_TEST_KEY is not set"),
        "{err}"
    );
}

#[test]
fn config_check_rejects_garbage_and_missing_files_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("garbage.toml");
    std::fs::write(&file, b"\x00\xff[[[ = = \n\x01").unwrap();
    let (code, _, err) = tickwire(&["config", "check", file.to_str().unwrap()], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.starts_with("tickwire: "), "{err}");
    let (code, _, err) = tickwire(&["config", "check", "/nonexistent/tw.toml"], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("/nonexistent/tw.toml"), "{err}");
    let (code, out, _) = tickwire(&["config", "example"], &[]);
    assert_eq!(code, 0);
    assert_eq!(out, EXAMPLE);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    /// Arbitrary text, and the valid file with a random byte range replaced, never panic.
    #[test]
    fn arbitrary_text_never_panics(s in ".{0,400}") {
        let _ = Config::from_toml(&s);
    }

    #[test]
    fn mutated_files_never_panic(at in 0usize..1400, len in 0usize..40, junk in "[ -~\n]{0,40}") {
        let text = minimal("", "");
        let at = at.min(text.len());
        let end = (at + len).min(text.len());
        if text.is_char_boundary(at) && text.is_char_boundary(end) {
            let mutated = format!("{}{}{}", &text[..at], junk, &text[end..]);
            if let Err(e) = Config::from_toml(&mutated) {
                prop_assert!(!e.to_string().is_empty());
            }
        }
    }
}
