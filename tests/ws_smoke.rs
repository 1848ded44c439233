//! Smoke test over real sockets: log in, see a UserEvent raised in the core, run Ping.

mod common;

use std::time::Duration;

use common::ws::{connect, field};
use common::{Opts, StandIn};

#[test]
fn login_event_and_action_round_trip() {
    let s = StandIn::start(&[], Opts::default());
    let port = s.ws_port().unwrap();
    let mut c = connect(port);
    let r = c.login("admin", "adminpw");
    assert_eq!(field(&r, "Response"), "Success", "{r}");
    assert_eq!(field(&r, "Message"), "Authentication accepted");
    let id = c.send_action(&[("Action", "UserEvent"), ("UserEvent", "Smoke"), ("Foo", "bar")]);
    let ev = c
        .wait_for(Duration::from_secs(5), |v| field(v, "Event") == "UserEvent")
        .expect("UserEvent not delivered");
    assert_eq!(field(&ev, "UserEvent"), "Smoke");
    assert!(field(&ev, "WsSeq").parse::<u64>().unwrap() > 0);
    let _ = id;
    let id = c.send_action(&[("Action", "Ping")]);
    let pong = c.response(&id, Duration::from_secs(5)).expect("no Ping response");
    assert_eq!(field(&pong, "Response"), "Success", "{pong}");
    assert_eq!(field(&pong, "Ping"), "Pong");
    let clients = s.rx("ws show clients");
    assert!(clients.contains("admin") && clients.contains("1 client(s)"), "{clients}");
}
