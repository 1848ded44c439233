//! The module under valgrind (memcheck): the stand-in core runs under valgrind and loads the
//! .so (with its C glue), then load/unload/reload cycles, WebSocket clients (plain and TLS) that
//! log in, get events and act, and a clean `core stop now`. Expected: no invalid access and no
//! leak that grows with cycles or connections (a short and a longer run leak the same).
//!
//! Slow (valgrind runs the code ~30x slower), so it runs only with `AMI_WS_VALGRIND=1`, which
//! `scripts/valgrind.sh` (part of ./scripts/test.sh) sets; otherwise it prints `skipped: ...`.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::ws::{field, login_as};
use common::{Opts, StandIn, free_port};

/// What one valgrind run found.
#[derive(Debug, PartialEq, Eq)]
struct Findings {
    /// `ERROR SUMMARY: N errors` (invalid reads/writes, uninitialised use, bad frees and
    /// definite leaks, with `--errors-for-leak-kinds=definite`).
    errors: u64,
    /// Bytes `definitely lost` and `indirectly lost`.
    lost: u64,
}

fn summary_number(log: &str, label: &str) -> u64 {
    log.lines()
        .filter_map(|l| l.split_once(label).map(|(_, rest)| rest))
        .filter_map(|rest| rest.split_whitespace().next())
        .map(|n| n.replace(',', "").parse::<u64>().unwrap_or(0))
        .sum()
}

/// Runs the stand-in under valgrind through `cycles` unload/load cycles and `clients` plain
/// plus one TLS connection per cycle.
fn run(tag: &str, cycles: usize, clients: usize) -> Findings {
    let dir = common::temp_dir(&format!("vg-{tag}"));
    let vg_log = dir.join("valgrind.log");
    let (ca, crt, key) = common::tls::test_pki(&dir).expect("openssl makes the test certificates");
    let port = free_port();
    let tls_port = free_port();
    let conf = |port: u16, tls: bool| {
        let mut c = format!("[general]\nbindaddr = 127.0.0.1\nbindport = {port}\n");
        if tls {
            c.push_str(&format!(
                "tls_enable = yes\ntls_cert_file = {crt}\ntls_private_key = {key}\n"
            ));
        }
        c
    };
    let wrapper = [
        "valgrind",
        "--tool=memcheck",
        "--leak-check=full",
        "--show-leak-kinds=definite,indirect",
        "--errors-for-leak-kinds=definite",
        "--track-origins=no",
        "--num-callers=30",
        // Symbols of the .so stay known after dlclose, so leaks from it have stacks.
        "--keep-debuginfo=yes",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([
        format!("--log-file={}", vg_log.display()),
        format!(
            "--suppressions={}",
            common::probe::manifest_dir().join("tests/valgrind.supp").display()
        ),
    ])
    .collect();
    let mut s = StandIn::start(
        &[("ami_websocket.conf", &conf(port, false))],
        Opts { wrapper, max_lifetime: Duration::from_secs(900), ..Opts::default() },
    );
    let mut keep = Vec::new();
    for cycle in 0..cycles {
        // Alternate plain and TLS listeners through reload, so both paths load and unload.
        let tls = cycle % 2 == 1;
        let this_port = if tls { tls_port } else { port };
        std::fs::write(s.config_dir().join("ami_websocket.conf"), conf(this_port, tls)).unwrap();
        // reload re-reads the file; unload + load builds everything anew from it.
        for cmd in ["module reload", "module unload", "module load"] {
            let out = s.rx(&format!("{cmd} res_ami_websocket.so"));
            assert!(!out.contains("rror"), "{cmd}: {out}");
        }
        wait_port(this_port);
        if tls {
            let mut ws = common::tls::tls_client(this_port, &ca);
            ws.send(tungstenite::Message::text(
                r#"{"Action":"Login","Username":"admin","Secret":"adminpw","ActionID":"1"}"#,
            ))
            .unwrap();
            let reply = ws.read().expect("TLS login answer");
            assert!(reply.to_text().unwrap_or("").contains("Success"), "{reply:?}");
            let _ = ws.close(None);
        } else {
            let mut conns = Vec::new();
            for _ in 0..clients {
                let mut c = login_as(this_port, "admin", "adminpw");
                let id = c.send_action(&[("Action", "UserEvent"), ("UserEvent", "Vg")]);
                let r = c.response(&id, Duration::from_secs(30)).expect("UserEvent answer");
                assert_eq!(field(&r, "Response"), "Success");
                conns.push(c);
            }
            // Half leave now, half stay open into the next cycle's unload (closed with 1001).
            conns.truncate(clients / 2);
            keep.push(conns);
        }
    }
    let _ = s.try_rx("core stop now", Duration::from_secs(60));
    assert!(s.wait_exit(Duration::from_secs(120)).is_some(), "the stand-in did not stop");
    let log = std::fs::read_to_string(&vg_log).expect("valgrind log");
    let kept = common::target_dir().join(format!("valgrind-{tag}.log"));
    let _ = std::fs::copy(&vg_log, &kept);
    println!("{tag}: {} (log kept in {})", summary_line(&log), kept.display());
    Findings {
        errors: summary_number(&log, "ERROR SUMMARY:"),
        lost: summary_number(&log, "definitely lost:") + summary_number(&log, "indirectly lost:"),
    }
}

/// Waits (valgrind is slow) until the module listens on `port`.
fn wait_port(port: u16) {
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < deadline, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn summary_line(log: &str) -> String {
    log.lines()
        .filter(|l| {
            l.contains("ERROR SUMMARY")
                || l.contains("definitely lost")
                || l.contains("indirectly lost")
        })
        .map(|l| l.split_once("== ").map(|(_, r)| r).unwrap_or(l).trim().to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

fn valgrind_wanted() -> bool {
    if std::env::var("AMI_WS_VALGRIND").ok().as_deref() != Some("1") {
        println!("skipped: set AMI_WS_VALGRIND=1 (scripts/valgrind.sh) to run under valgrind");
        return false;
    }
    let ok = Command::new("valgrind").arg("--version").output().is_ok_and(|o| o.status.success());
    assert!(ok, "AMI_WS_VALGRIND=1 but valgrind is not installed");
    assert!(
        Path::new("/usr/bin/openssl").exists()
            || Command::new("openssl").arg("version").output().is_ok()
    );
    true
}

#[test]
fn no_invalid_access_and_no_leak_growing_with_cycles_or_connections() {
    if !valgrind_wanted() {
        return;
    }
    let short = run("short", 2, 3);
    let long = run("long", 6, 12);
    assert_eq!(short.errors, 0, "valgrind errors in the short run: {short:?}");
    assert_eq!(long.errors, 0, "valgrind errors in the long run: {long:?}");
    assert!(
        long.lost <= short.lost,
        "lost bytes grow with cycles and connections: {short:?} -> {long:?}"
    );
}
