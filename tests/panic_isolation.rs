//! A bug that panics while one connection is handled ends that connection only (close 1011):
//! the PBX, the listener and every other client carry on. Uses a test build of the module
//! (feature `test-panic-injection`, never for a PBX) where the action `WsTestPanic` panics.

mod common;

use std::time::Duration;

use common::ws::{connect, field};
use common::{Opts, StandIn, probe};

#[test]
fn a_panic_in_one_connection_ends_only_that_connection() {
    let module = probe::build_variant("test-panic-injection", "panic");
    let mut s = StandIn::start(&[], Opts { module: Some(module), ..Opts::default() });
    let port = s.ws_port().unwrap();
    let mut victim = connect(port);
    let mut bystander = connect(port);
    assert_eq!(field(&victim.login("admin", "adminpw"), "Response"), "Success");
    assert_eq!(field(&bystander.login("admin", "adminpw"), "Response"), "Success");

    victim.send_action(&[("Action", "WsTestPanic")]);
    assert_eq!(victim.close_code(Duration::from_secs(10)), Some(1011), "expected close 1011");
    s.expect_log("closed after an internal error");
    s.expect_log("injected test panic");

    // Everyone else is fine: the bystander gets events and answers, new clients connect.
    let id = bystander.send_action(&[("Action", "Ping")]);
    let pong = bystander.response(&id, Duration::from_secs(10)).expect("no Pong after the panic");
    assert_eq!(field(&pong, "Ping"), "Pong");
    bystander.send_action(&[("Action", "UserEvent"), ("UserEvent", "AfterPanic")]);
    assert!(
        bystander
            .wait_for(Duration::from_secs(10), |v| field(v, "UserEvent") == "AfterPanic")
            .is_some()
    );
    let mut fresh = connect(port);
    assert_eq!(field(&fresh.login("admin", "adminpw"), "Response"), "Success");
    assert!(s.try_exit().is_none(), "the stand-in died");
    let clients = s.rx("ws show clients");
    assert!(clients.contains("2 client(s)"), "{clients}");
}
