//! Opt-in: the module in a real Asterisk. Set AMI_WS_ASTERISK to an install prefix holding
//! sbin/asterisk; the test runs a private Asterisk (its own asterisk.conf, module directory with
//! a copy of our .so, manager.conf, logger.conf), loads the module, checks it runs, and unloads
//! and loads it 20 times, failing on "could not be completely unloaded" or "did not register
//! itself". Without the variable it prints how to run it and passes.

mod common;
mod real_asterisk_pbx;

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
    let setup = Setup {
        users: "[admin]\nsecret = adminpw\nread = all\nwrite = all\n",
        files: &[],
        preload: &[],
    };
    let mut pbx = Pbx::start(&prefix, &setup);
    pbx.load_module();
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
