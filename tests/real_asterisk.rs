//! Opt-in: the module in a real Asterisk. Set AMI_WS_ASTERISK to an install prefix holding
//! sbin/asterisk; the test runs a private Asterisk (its own asterisk.conf, module directory with
//! a copy of our .so, manager.conf, logger.conf), loads the module, checks it runs, and unloads
//! and loads it 20 times, failing on "could not be completely unloaded" or "did not register
//! itself". Without the variable it prints how to run it and passes.

mod common;
mod real_asterisk_pbx;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::ws;
use real_asterisk_pbx::{NAME, Pbx, Setup, prefix_or_skip};

const CYCLES: usize = 20;

fn check_log(pbx: &Pbx, cycle: usize) {
    let log = pbx.log();
    assert!(
        !log.contains("could not be completely unloaded"),
        "cycle {cycle}: the .so stayed mapped:\n{log}"
    );
    assert!(
        !log.contains("did not register itself"),
        "cycle {cycle}: a load found no constructor run:\n{log}"
    );
}

/// Logs in over the WebSocket and pings, proving the listener of this load works.
fn ws_ping(pbx: &Pbx, cycle: usize) {
    let mut c = ws::connect(pbx.ws_port);
    let r = c.login("admin", "adminpw");
    assert_eq!(ws::field(&r, "Message"), "Authentication accepted", "cycle {cycle}: {r}");
    let id = c.send_action(&[("Action", "Ping")]);
    let r = c.response(&id, Duration::from_secs(10)).expect("Ping response");
    assert_eq!(ws::field(&r, "Ping"), "Pong", "cycle {cycle}: {r}");
    c.close();
}

#[test]
fn module_loads_runs_and_cycles_in_a_real_asterisk() {
    let Some(prefix) = prefix_or_skip("module_loads_runs_and_cycles_in_a_real_asterisk") else {
        return;
    };
    let mut pbx = admin_pbx(&prefix);
    assert!(pbx.module_mapped(), "/proc/<pid>/maps does not show {NAME} after load");
    // The network loop and the default 4 action threads.
    let threads = pbx.module_threads();
    println!("threads of ours: {threads:?}");
    assert_eq!(threads.len(), 5, "{threads:?}");
    ws_ping(&pbx, 0);
    for i in 1..=CYCLES {
        let out = pbx.rx(&format!("module unload {NAME}"));
        assert!(out.contains(&format!("Unloaded {NAME}")), "cycle {i}: {out}\n{}", pbx.log());
        let shown = pbx.rx("module show like res_ami_websocket");
        assert!(shown.contains("0 modules loaded"), "cycle {i}: still listed: {shown}");
        assert!(!pbx.module_mapped(), "cycle {i}: {NAME} still mapped after unload");
        let left = pbx.module_threads();
        assert!(left.is_empty(), "cycle {i}: threads of ours after unload: {left:?}");
        pbx.load_module();
        check_log(&pbx, i);
        // A client on every other load, so some unloads happen with a connection open.
        if i % 2 == 0 {
            ws_ping(&pbx, i);
        }
    }
    let mut open = ws::connect(pbx.ws_port);
    open.login("admin", "adminpw");
    let out = pbx.rx(&format!("module unload {NAME}"));
    assert!(out.contains(&format!("Unloaded {NAME}")), "unload with a client: {out}");
    assert_eq!(open.close_code(Duration::from_secs(10)), Some(1001), "client close on unload");
    pbx.load_module();
    check_log(&pbx, CYCLES + 1);
    pbx.assert_alive("the unload/load cycles");
    println!("{CYCLES} unload/load cycles in {}", pbx.rx("core show version").trim());
    println!("module log lines:\n{}", pbx.module_log_lines());
}

/// Floods UserEvents over AMI TCP (replies drained, events off) until `stop`, counting in `sent`.
fn flood(port: u16, stop: Arc<AtomicBool>, sent: Arc<AtomicUsize>) {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else { return };
    let login = "Action: Login\r\nUsername: admin\r\nSecret: adminpw\r\nEvents: off\r\n\r\n";
    if s.write_all(login.as_bytes()).is_err() {
        return;
    }
    let mut drain = s.try_clone().expect("clone AMI socket");
    std::thread::spawn(move || {
        let mut buf = [0u8; 65536];
        while matches!(drain.read(&mut buf), Ok(n) if n > 0) {}
    });
    let chunk: String = (0..100)
        .map(|i| format!("Action: UserEvent\r\nUserEvent: Flood\r\nN: {i}\r\n\r\n"))
        .collect();
    while !stop.load(Ordering::Relaxed) {
        if s.write_all(chunk.as_bytes()).is_err() {
            return;
        }
        sent.fetch_add(100, Ordering::Relaxed);
    }
}

/// Unload/load while events pour in from another Asterisk thread (the hook helper runs
/// concurrently with unregistration) and clients are connected: no crash, no leak, and each
/// new load delivers events again.
#[test]
fn cycles_under_an_event_flood_with_clients() {
    let Some(prefix) = prefix_or_skip("cycles_under_an_event_flood_with_clients") else {
        return;
    };
    let mut pbx = admin_pbx(&prefix);
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicUsize::new(0));
    let flooder = {
        let (port, stop, sent) = (pbx.ami_port, Arc::clone(&stop), Arc::clone(&sent));
        std::thread::spawn(move || flood(port, stop, sent))
    };
    for i in 1..=CYCLES {
        let mut c = ws::connect(pbx.ws_port);
        c.login("admin", "adminpw");
        let flood_event =
            c.wait_for(Duration::from_secs(10), |v| ws::field(v, "UserEvent") == "Flood");
        assert!(flood_event.is_some(), "cycle {i}: no flood event reached the client");
        let out = pbx.rx(&format!("module unload {NAME}"));
        assert!(out.contains(&format!("Unloaded {NAME}")), "cycle {i}: {out}\n{}", pbx.log());
        assert!(!pbx.module_mapped(), "cycle {i}: still mapped");
        assert!(pbx.module_threads().is_empty(), "cycle {i}: {:?}", pbx.module_threads());
        pbx.load_module();
        check_log(&pbx, i);
    }
    stop.store(true, Ordering::Relaxed);
    let _ = flooder.join();
    pbx.assert_alive("cycles under a flood");
    println!(
        "{CYCLES} cycles while {} UserEvents were sent over AMI TCP",
        sent.load(Ordering::Relaxed)
    );
}

/// A private PBX with one all-classes `admin` user and the module loaded.
fn admin_pbx(prefix: &std::path::Path) -> Pbx {
    let setup = Setup {
        users: "[admin]\nsecret = adminpw\nread = all\nwrite = all\n",
        files: &[],
        preload: &[],
    };
    let pbx = Pbx::start(prefix, &setup);
    pbx.load_module();
    pbx
}
