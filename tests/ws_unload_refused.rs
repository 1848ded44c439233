//! An unload that cannot finish (an action runs longer than the unload limit) is refused
//! cleanly: Asterisk keeps the module, the CLI says the listener stopped, and `module reload`
//! brings it back once the action has ended.

mod common;

use std::time::{Duration, Instant};

use common::ws::{connect, field};
use common::{Opts, StandIn};

const NAME: &str = "res_ami_websocket.so";

#[test]
fn refused_unload_then_reload_listens_again() {
    let s = StandIn::start(&[], Opts::default());
    let port = s.ws_port().unwrap();
    let mut c = connect(port);
    assert_eq!(field(&c.login("admin", "adminpw"), "Response"), "Success");
    // 13 s: longer than the module's 10 s unload limit.
    c.send_action(&[("Action", "Command"), ("Command", "standin sleep 13"), ("ActionID", "slow")]);
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let out = s.rx(&format!("module unload {NAME}"));
    assert!(!out.contains(&format!("Unloaded {NAME}")), "unload should be refused: {out}");
    assert!(started.elapsed() < Duration::from_secs(12), "unload took {:?}", started.elapsed());
    s.expect_log("an action is still running");
    let shown = s.rx("module show like res_ami_websocket");
    assert!(shown.contains("Running") && !shown.contains("Not Running"), "{shown}");
    let status = s.rx("ws show status");
    assert!(status.contains("STOPPED"), "{status}");
    // While the action still runs, reload says why it cannot listen yet.
    let early = s.rx(&format!("module reload {NAME}"));
    assert!(!early.contains("reloaded successfully"), "{early}");
    // Once the action has ended, reload listens again on the same port.
    std::thread::sleep(Duration::from_secs(4));
    let out = s.rx(&format!("module reload {NAME}"));
    assert!(out.contains("reloaded successfully"), "{out}\n{}", s.log());
    let mut again = connect(port);
    assert_eq!(field(&again.login("admin", "adminpw"), "Response"), "Success");
    assert!(s.rx("ws show status").contains("Listening on"));
    // And a plain unload now works.
    drop(again);
    let out = s.rx(&format!("module unload {NAME}"));
    assert!(out.contains(&format!("Unloaded {NAME}")), "{out}");
}
