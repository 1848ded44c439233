//! Autobahn WebSocket conformance: runs the Autobahn case files (with `kosoku`, installed into
//! `.venv` by scripts/setup-debian.sh) against a test-only build of the module whose connections
//! echo (feature `test-echo`: the real handshake, framing, limits and close codes, no AMI).
//!
//! - With the limits raised to the sizes the cases use, every case must be OK, NON-STRICT or
//!   INFORMATIONAL.
//! - With the production defaults, exactly the cases over a limit fail, each closed with that
//!   limit's code (1009 message too big, 1008 message rate); the README lists them.
//!
//! `AMI_WS_AUTOBAHN_COMPRESSION=1` adds the permessage-deflate cases (12.*, 13.*) to the
//! raised-limits run. Reports: `target/autobahn/<run>/index.json` and one HTML page per case.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::{Opts, StandIn, free_port, probe};
use serde_json::Value;

/// The limits the Autobahn cases need: 16 MiB messages and frames (9.1.6), a 64 MiB output cap
/// (the echo of 16 MiB with room), and 1,000 messages in a burst (9.7.x, 9.8.x).
const RAISED_LIMITS: &str = "max_message_size = 16777216\nmax_frame_size = 16777216\n\
max_queued_bytes = 67108864\nmessages_per_second = 100000\n";

/// Echo connections never log in: give them time (the 9.x cases take seconds each).
const MANAGER_CONF: &str = "[general]\nenabled = yes\nbindaddr = 127.0.0.1\nauthtimeout = 600\n";

/// The kosoku runner: `$KOSOKU`, `.venv/bin/kosoku` in the repository, or on PATH.
fn kosoku() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("KOSOKU") {
        return Some(PathBuf::from(p));
    }
    let venv = probe::manifest_dir().join(".venv/bin/kosoku");
    if venv.exists() {
        return Some(venv);
    }
    let found = Command::new("sh").args(["-c", "command -v kosoku"]).output().ok()?;
    let path = String::from_utf8_lossy(&found.stdout).trim().to_string();
    (found.status.success() && !path.is_empty()).then(|| PathBuf::from(path))
}

/// One case's verdicts from the report index.
#[derive(Debug)]
struct Case {
    behavior: String,
    behavior_close: String,
    remote_close_code: Option<u64>,
}

/// Starts the echo module with `limits` added to its config, runs the cases, and returns the
/// runner's success and every case's verdicts (id -> case).
fn run(
    kosoku: &PathBuf,
    name: &str,
    limits: &str,
    compression: bool,
) -> (bool, BTreeMap<String, Case>) {
    let module = probe::build_variant("test-echo", "echo");
    let port = free_port();
    let conf = format!("[general]\nbindaddr = 127.0.0.1\nbindport = {port}\n{limits}");
    let mut s = StandIn::start(
        &[("ami_websocket.conf", &conf), ("manager.conf", MANAGER_CONF)],
        Opts { module: Some(module), ..Opts::default() },
    );
    let out = common::target_dir().join("autobahn").join(name);
    let _ = std::fs::remove_dir_all(&out);
    let mut cmd = Command::new(kosoku);
    cmd.arg(format!("127.0.0.1:{port}")).args(["-p", "2", "-o"]).arg(&out);
    if !compression {
        cmd.args(["-x", "12.*", "-x", "13.*"]);
    }
    let result = cmd.output().expect("run kosoku");
    let stderr = String::from_utf8_lossy(&result.stderr);
    let stdout = String::from_utf8_lossy(&result.stdout);
    let summary = stderr.lines().next().unwrap_or("");
    println!("{name}: kosoku {}: {} {summary}", result.status, stdout.trim());
    assert!(s.try_exit().is_none(), "the stand-in died during the cases:\n{}", s.log());
    assert!(
        common::ws::wait_clients(&s, 0, Duration::from_secs(30)),
        "connections left open after the cases: {}",
        s.rx("ws show clients")
    );
    let index = std::fs::read_to_string(out.join("index.json")).expect("kosoku wrote no index");
    let index: Value = serde_json::from_str(&index).expect("index.json is JSON");
    let mut cases = BTreeMap::new();
    for agent in index.as_object().expect("index is an object").values() {
        for (id, r) in agent.as_object().expect("cases are an object") {
            let text = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            cases.insert(
                id.clone(),
                Case {
                    behavior: text("behavior"),
                    behavior_close: text("behaviorClose"),
                    remote_close_code: r.get("remoteCloseCode").and_then(Value::as_u64),
                },
            );
        }
    }
    (result.status.success(), cases)
}

fn passed(c: &Case) -> bool {
    let ok = |v: &str| matches!(v, "OK" | "NON-STRICT" | "INFORMATIONAL");
    ok(&c.behavior) && ok(&c.behavior_close)
}

/// What a case must do at the production defaults: pass, or be closed with a limit's code.
fn expected_at_production_limits(id: &str) -> Option<u64> {
    let parts: Vec<u32> = id.split('.').filter_map(|p| p.parse().ok()).collect();
    match parts.as_slice() {
        // 9.1.2-9.1.6 and 9.2.2-9.2.6: one message of 256 KiB to 16 MiB (text, binary);
        // 9.3/9.4: 4 MiB fragmented; 9.5/9.6: 1 MiB in small chops. Over max_message_size.
        [9, 1 | 2, n] if *n >= 2 => Some(1009),
        [9, 3..=6, _] => Some(1009),
        // 9.7/9.8: 1,000 messages as fast as possible. Over messages_per_second (100).
        [9, 7 | 8, _] => Some(1008),
        _ => None,
    }
}

#[test]
fn every_case_passes_with_the_limits_raised() {
    let Some(kosoku) = kosoku() else {
        println!("skipped: kosoku not installed (scripts/setup-debian.sh puts it in .venv)");
        return;
    };
    let compression = std::env::var("AMI_WS_AUTOBAHN_COMPRESSION").is_ok_and(|v| v == "1");
    let (ok, cases) = run(&kosoku, "raised-limits", RAISED_LIMITS, compression);
    // The suite has 301 cases without compression; a short list means the runner misbehaved.
    assert!(cases.len() >= 300, "only {} cases ran", cases.len());
    let failed: Vec<_> = cases.iter().filter(|(_, c)| !passed(c)).collect();
    assert!(failed.is_empty(), "cases failed: {failed:#?}");
    assert!(ok, "kosoku reported a failure");
}

#[test]
fn at_the_production_limits_only_the_cases_over_a_limit_fail() {
    let Some(kosoku) = kosoku() else {
        println!("skipped: kosoku not installed (scripts/setup-debian.sh puts it in .venv)");
        return;
    };
    let (ok, cases) = run(&kosoku, "production-limits", "", false);
    assert!(cases.len() >= 300, "only {} cases ran", cases.len());
    let mut wrong = Vec::new();
    let mut over_limit = 0;
    for (id, c) in &cases {
        match expected_at_production_limits(id) {
            None if passed(c) => {}
            Some(code) if c.behavior == "FAILED" && c.remote_close_code == Some(code) => {
                over_limit += 1
            }
            expected => wrong.push(format!("{id}: expected {expected:?}, got {c:?}")),
        }
    }
    assert!(wrong.is_empty(), "unexpected results at the production limits:\n{}", wrong.join("\n"));
    assert_eq!(over_limit, 52, "cases closed by a limit");
    assert!(!ok, "kosoku must report the over-limit cases as failures");
}
