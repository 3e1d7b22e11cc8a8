//! `tickwire venue`: starts the Kraken-profile simulator from flags or a TOML file, prints
//! where it listens and the CA file, serves a TLS 1.3 FIX logon verified against that CA, and
//! stops cleanly on SIGTERM / SIGINT; bad configuration exits 2.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Spot only, every port the OS's choice (printed in the JSON document).
const EPHEMERAL_SPOT: [&str; 7] = [
    "--spot-md-port",
    "0",
    "--spot-trading-port",
    "0",
    "--spot-md-l3-port",
    "0",
    "--no-derivatives",
];

/// `tickwire venue` with `args`, run to the end.
fn venue(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tickwire"))
        .arg("venue")
        .args(args)
        .output()
        .unwrap()
}

fn spawn(args: &[&str]) -> (Child, serde_json::Value) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tickwire"))
        .args(["--output", "json", "venue"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut doc = String::new();
    loop {
        let mut line = String::new();
        if out.read_line(&mut line).unwrap() == 0 {
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            panic!("venue exited before printing its addresses: {doc}\n{err}");
        }
        doc.push_str(&line);
        if line == "}\n" {
            break;
        }
    }
    (child, serde_json::from_str(&doc).unwrap())
}

fn wait(child: &mut Child, within: Duration) -> i32 {
    let deadline = Instant::now() + within;
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s.code().unwrap_or(-1);
        }
        assert!(Instant::now() < deadline, "venue did not stop");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn fix(msg_type: &str, body: &str) -> Vec<u8> {
    let inner = format!(
        "35={msg_type}\x0134=1\x0149=TESTCLIENT\x0156=KRAKEN-MD\x0152=20260407-14:32:01.000\x01{body}"
    );
    let mut m = format!("8=FIX.4.4\x019={}\x01{inner}", inner.len()).into_bytes();
    let sum: u32 = m.iter().map(|&b| u32::from(b)).sum::<u32>() % 256;
    m.extend_from_slice(format!("10={sum:03}\x01").as_bytes());
    m
}

/// A TLS 1.3 MD logon against the printed address, trusting only the printed CA.
fn md_logon(addr: &str, ca: &str) -> String {
    let mut tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let cfg = tickwire_tls::ClientConfig::new(tickwire_tls::RootSource::CaFile(ca.into()));
    let mut tls =
        tickwire_tls::Session::client(&cfg, "localhost", tickwire_tls::Capacities::default())
            .unwrap();
    tls.poll().unwrap();
    let mut sent = false;
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if tls.is_established() && !sent {
            tls.write_plaintext(&fix("A", "98=0\x01108=30\x01141=Y\x01"))
                .unwrap();
            sent = true;
        }
        let c = tls.pending_ciphertext().to_vec();
        tls.consume_ciphertext(c.len());
        tcp.write_all(&c).unwrap();
        let mut buf = [0u8; 16384];
        if let Ok(n) = tcp.read(&mut buf) {
            let mut off = 0;
            while off < n {
                off += tls.handle_ciphertext(&buf[off..n]);
                tls.poll().unwrap();
            }
            got.extend_from_slice(tls.plaintext());
            let k = tls.plaintext().len();
            tls.consume_plaintext(k);
            if got.windows(5).any(|w| w == b"35=A\x01") {
                break;
            }
        }
    }
    String::from_utf8_lossy(&got).replace('\x01', "|")
}

#[test]
fn venue_from_flags_serves_tls_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let certs = dir.path().join("pki");
    let (mut child, doc) = spawn(
        &[
            &EPHEMERAL_SPOT[..],
            &["--cert-dir", certs.to_str().unwrap()],
        ]
        .concat(),
    );
    assert_eq!(doc["tls"], true);
    let ca = doc["ca"].as_str().unwrap().to_string();
    assert!(
        ca.ends_with("ca.pem") && std::path::Path::new(&ca).exists(),
        "{doc}"
    );
    let listening = doc["listening"].as_array().unwrap();
    assert_eq!(listening.len(), 3, "{doc}");
    let l3 = listening
        .iter()
        .find(|l| l["service"] == "spot-md-l3")
        .unwrap();
    assert_eq!(l3["comp_id"], "KRAKEN-MD", "SPEC §1.2: 4005 Spot MD L3");
    let md = listening
        .iter()
        .find(|l| l["service"] == "spot-md")
        .unwrap();
    assert_eq!(md["comp_id"], "KRAKEN-MD");
    let got = md_logon(md["addr"].as_str().unwrap(), &ca);
    assert!(
        got.contains("35=A|") && got.contains("49=KRAKEN-MD|"),
        "{got}"
    );

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert_eq!(wait(&mut child, Duration::from_secs(10)), 0);

    // Second start reuses the certificates (clients configured once keep working).
    let before = std::fs::read(&ca).unwrap();
    let (mut child, doc) = spawn(
        &[
            &EPHEMERAL_SPOT[..],
            &[
                "--market-rate",
                "0",
                "--cert-dir",
                certs.to_str().unwrap(),
                "--duration",
                "0.5",
            ],
        ]
        .concat(),
    );
    assert_eq!(doc["ca"].as_str().unwrap(), ca);
    assert_eq!(std::fs::read(&ca).unwrap(), before);
    assert_eq!(wait(&mut child, Duration::from_secs(10)), 0);
}

#[test]
fn venue_from_toml_and_bad_configs() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("venue.toml");
    std::fs::write(
        &file,
        format!(
            "bind = \"127.0.0.1\"\nplain_tcp = true\nderivatives = false\nmarket_rate = 0\n\
             cert_dir = \"{}\"\n[ports]\nspot_md = 0\nspot_trading = 0\nspot_md_l3 = 0\n\
             [[clients]]\ncomp_id = \"ACME\"\napi_key = \"K\"\napi_secret = \"c2VjcmV0\"\ntier = \"pro\"\n",
            dir.path().join("pki").display()
        ),
    )
    .unwrap();
    let (mut child, doc) = spawn(&["--config", file.to_str().unwrap(), "--duration", "0.5"]);
    assert_eq!(doc["tls"], false);
    assert!(doc["ca"].is_null());
    assert_eq!(doc["clients"], serde_json::json!(["ACME"]));
    assert_eq!(wait(&mut child, Duration::from_secs(10)), 0);

    let run = venue;
    std::fs::write(&file, "no_such_key = 1\n").unwrap();
    let out = run(&["--config", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no_such_key"));
    std::fs::write(
        &file,
        "[[clients]]\ncomp_id = \"ACME\"\napi_key = \"K\"\napi_secret = \"!!not base64\"\n",
    )
    .unwrap();
    let out = run(&["--config", file.to_str().unwrap(), "--plain-tcp"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not base64"),
        "{out:?}"
    );
    let out = run(&[
        "--config",
        dir.path().join("missing.toml").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

#[test]
fn venue_replays_a_tick_file_and_refuses_missing_or_bad_ones() {
    let dir = tempfile::tempdir().unwrap();
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../venue-sim/examples/replay-btcusd.jsonl"
    );
    let ports = [&EPHEMERAL_SPOT[..], &["--plain-tcp"]].concat();
    let mut args = ports.clone();
    args.extend([
        "--replay",
        example,
        "--replay-speed",
        "max",
        "--replay-loop",
        "--duration",
        "0.5",
    ]);
    let (mut child, doc) = spawn(&args);
    assert_eq!(doc["replay_events"], 6, "{doc}");
    assert_eq!(
        doc["market_rate"], 0,
        "the replay replaces the synthetic market"
    );
    assert_eq!(wait(&mut child, Duration::from_secs(10)), 0);

    let run = |extra: &[&str]| {
        let out = venue(&[&ports[..], extra].concat());
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let missing = dir.path().join("missing.jsonl");
    let (code, err) = run(&["--replay", missing.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("missing.jsonl") && err.contains("No such file"),
        "{err}"
    );

    let bad = dir.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"ts\":1,\"symbol\":\"BTC/USD\",\"kind\":\"add\",\"id\":\"a\",\"side\":\"buy\",\"price\":\"1.0\",\"qty\":\"1\"}\n\
         {\"ts\":2,\"symbol\":\"BTC/USD\",\"kind\":\"add\",\"id\":\"b\",\"side\":\"buy\",\"price\":84000.5,\"qty\":\"1\"}\n",
    )
    .unwrap();
    let (code, err) = run(&["--replay", bad.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("bad.jsonl: line 2"), "{err}");

    let unknown = dir.path().join("unknown.jsonl");
    std::fs::write(
        &unknown,
        "{\"ts\":1,\"symbol\":\"DOGE/JPY\",\"kind\":\"trade\",\"side\":\"buy\",\"price\":\"1.0\",\"qty\":\"1\"}\n",
    )
    .unwrap();
    let (code, err) = run(&["--replay", unknown.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("line 1") && err.contains("unknown symbol"),
        "{err}"
    );

    let (code, err) = run(&["--replay", example, "--replay-speed", "fast"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("replay speed"), "{err}");
    let (code, err) = run(&["--replay-loop"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("need --replay"), "{err}");
}
