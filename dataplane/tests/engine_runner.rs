//! The engine thread: pinned to exactly the configured core (read back with
//! `sched_getaffinity` and from `/proc`), memory locked, its counters read live by this thread
//! through a second mapping of the counter file and by another process through the file;
//! refused requests (a core that does not exist, one beyond any CPU set, an invalid SCHED_FIFO
//! priority) are typed errors and no thread keeps running.
//!
//! Needs root for mlockall (CI runs as root); elsewhere the test fails and says so.
#![allow(clippy::unwrap_used)]

mod engine_util;

use std::time::{Duration, Instant};

use engine_util::*;
use nix::sched::{sched_getaffinity, CpuSet};
use tickwire_dataplane::clock::Clock;
use tickwire_dataplane::counters::{read, Shared};
use tickwire_dataplane::engine::runner::{spawn, IdlePolicy, PinError, RunError, ThreadConfig};
use tickwire_dataplane::engine::{Command, Commands, Engine, Idle, Phase, SessionId};
use tickwire_dataplane::mem;
use tickwire_fix::session::MemoryJournal;

fn online_cpus() -> Vec<usize> {
    let set = sched_getaffinity(nix::unistd::Pid::from_raw(0)).unwrap();
    (0..CpuSet::count())
        .filter(|&c| set.is_set(c).unwrap_or(false))
        .collect()
}

/// An engine with one session to an address nobody answers (each connect times out after
/// 50 ms and is retried with backoff): enough to run real cycles on the thread.
type Built = Result<
    (
        Engine<mem::MemNic, MemoryJournal, Idle>,
        (Commands, SessionId),
    ),
    String,
>;

fn build(
    counters: Shared,
) -> impl FnOnce(tickwire_dataplane::clock::Now) -> Built + Send + 'static {
    move |now| {
        let (client_tls, _) = pki();
        let (a, _b) = mem::pair(64, [2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
        let cfg = tickwire_dataplane::engine::Config {
            connect_timeout: Duration::from_millis(50),
            ..engine_config()
        };
        let (mut e, commands) = Engine::new(a, allow(VENUE), cfg, Idle, counters, now);
        let (md, _) = specs(&client_tls, true);
        let id = e.add_session(md, now).map_err(|e| e.to_string())?;
        Ok((e, (commands, id)))
    }
}

#[test]
fn engine_thread_runs_on_exactly_its_core_and_publishes_counters() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test locks memory on the engine thread (mlockall): run as root, as CI does"
    );
    let cpus = online_cpus();
    let core = *cpus.last().unwrap();
    let dir = std::env::temp_dir().join(format!("tickwire-engine-runner-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("counters");
    let counters = Shared::create_file(&path).unwrap();
    let (clock, _) = Clock::calibrate(Duration::from_millis(10));
    let cfg = ThreadConfig {
        name: "tw-h4-engine".to_string(),
        core: Some(core),
        mlockall: true,
        sched_fifo: None,
        idle: IdlePolicy::Sleep(Duration::from_micros(200)),
    };
    let (running, (mut commands, session)) = spawn(cfg, clock, build(counters)).unwrap();

    let mask = sched_getaffinity(running.tid()).unwrap();
    let allowed: Vec<usize> = (0..CpuSet::count())
        .filter(|&c| mask.is_set(c).unwrap())
        .collect();
    assert_eq!(allowed, vec![core], "affinity mask of the engine thread");
    let status =
        std::fs::read_to_string(format!("/proc/self/task/{}/status", running.tid())).unwrap();
    let line = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .map(|l| l[key.len()..].trim().to_string())
            .unwrap()
    };
    assert_eq!(line("Cpus_allowed_list:"), core.to_string());
    assert_eq!(line("Name:"), "tw-h4-engine");
    // Our own thread kept its mask: only the engine thread was pinned.
    assert_eq!(online_cpus(), cpus);

    // A second mapping of the counter file (as the control plane would have) sees the cycles
    // and the session's connection attempts advance.
    let reader = Shared::open_file(&path).unwrap();
    let c = reader.counters();
    let deadline = Instant::now() + Duration::from_secs(10);
    let c0 = read(&c.cycles);
    while read(&c.cycles) < c0 + 100 || read(&c.session[0].connects) < 3 {
        assert!(
            Instant::now() < deadline,
            "counters did not move: cycles {} connects {}",
            read(&c.cycles),
            read(&c.session[0].connects)
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(read(&c.sessions), 1);
    assert_eq!(
        read(&c.session[0].last_error),
        tickwire_dataplane::engine::Teardown::ConnectTimeout.code()
    );
    // Another process reads the same file: word 3 is `cycles`.
    let other = std::process::Command::new("python3")
        .arg("-c")
        .arg("import struct,sys; d=open(sys.argv[1],'rb').read(); print(struct.unpack_from('<4Q', d, 0)[3])")
        .arg(&path)
        .output()
        .expect("python3 (scripts/setup-host installs it)");
    assert!(
        other.status.success(),
        "{}",
        String::from_utf8_lossy(&other.stderr)
    );
    let seen: u64 = String::from_utf8_lossy(&other.stdout)
        .trim()
        .parse()
        .unwrap();
    assert!(seen >= c0 + 100, "other process saw {seen} cycles");

    // A command from this thread through the engine's queue: stop the session.
    commands.send(Command::Abort(session)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while read(&c.session[0].phase) != Phase::Stopped.code() {
        assert!(Instant::now() < deadline, "Abort not applied");
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(read(&c.commands) >= 1);
    let connects = read(&c.session[0].connects);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        read(&c.session[0].connects),
        connects,
        "a stopped session stays down"
    );

    let stats = running.stop().unwrap();
    assert!(stats.cycles >= seen, "{stats:?}");
    let after = read(&c.cycles);
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(read(&c.cycles), after, "the loop stopped");
    std::fs::remove_dir_all(dir).unwrap();
}

fn refused(cfg: ThreadConfig) -> RunError {
    let (clock, _) = Clock::calibrate(Duration::from_millis(1));
    match spawn(cfg, clock, build(Shared::in_memory())) {
        Ok(_) => panic!("the request should have been refused"),
        Err(e) => e,
    }
}

#[test]
fn refused_requests_are_typed_errors() {
    // A core this machine does not have (but that fits a CPU set).
    let missing = CpuSet::count() - 1;
    assert!(!online_cpus().contains(&missing));
    match refused(ThreadConfig {
        core: Some(missing),
        ..ThreadConfig::default()
    }) {
        RunError::Pin(PinError::Affinity { core, errno }) => {
            assert_eq!(core, missing);
            assert_eq!(errno, libc::EINVAL);
        }
        e => panic!("unexpected: {e}"),
    }
    match refused(ThreadConfig {
        core: Some(CpuSet::count() + 5),
        ..ThreadConfig::default()
    }) {
        RunError::Pin(PinError::CoreOutOfRange { core, limit }) => {
            assert_eq!((core, limit), (CpuSet::count() + 5, CpuSet::count()));
        }
        e => panic!("unexpected: {e}"),
    }
    // SCHED_FIFO priorities run 1..=99: 0 is refused whatever our privileges.
    match refused(ThreadConfig {
        core: None,
        sched_fifo: Some(0),
        ..ThreadConfig::default()
    }) {
        RunError::Pin(PinError::SchedFifo { priority, errno }) => {
            assert_eq!((priority, errno), (0, libc::EINVAL));
        }
        e => panic!("unexpected: {e}"),
    }
    // A failing build is reported too, after pinning succeeded.
    let (clock, _) = Clock::calibrate(Duration::from_millis(1));
    let r = spawn(ThreadConfig::default(), clock, |_| {
        Err::<(Engine<mem::MemNic, MemoryJournal, Idle>, ()), _>("no NIC".to_string())
    });
    match r {
        Err(RunError::Build(e)) => assert_eq!(e, "no NIC"),
        Err(e) => panic!("unexpected: {e}"),
        Ok(_) => panic!("build error expected"),
    }
    // The messages name the cause.
    let e = PinError::Affinity {
        core: 7,
        errno: libc::EINVAL,
    };
    assert!(e.to_string().contains("core 7"), "{e}");
}
