//! One client's messages are answered in the order it sent them, as on an AMI TCP session:
//! nothing the module answers itself overtakes a running action, and an event raised by the
//! client's own action follows that action's response.

mod common;

use std::time::Duration;

use common::ws::{connect, field, try_connect};
use common::{Opts, StandIn};
use serde_json::Value;

const T: Duration = Duration::from_secs(15);

/// Every message until the connection closes or `n` messages arrived.
fn collect(c: &mut common::ws::WsClient, n: usize) -> Vec<Value> {
    let mut out = Vec::new();
    while out.len() < n {
        match c.recv_json(T) {
            Some(v) => out.push(v),
            None => break,
        }
    }
    out
}

#[test]
fn logoff_waits_for_a_slow_action_and_its_reply_comes_first() {
    let s = StandIn::start(&[], Opts::default());
    let mut c = connect(s.ws_port().unwrap());
    assert_eq!(field(&c.login("admin", "adminpw"), "Response"), "Success");
    c.send_action(&[("Action", "Command"), ("Command", "standin sleep 2"), ("ActionID", "slow")]);
    c.send_action(&[("Action", "Events"), ("EventMask", "off"), ("ActionID", "ev")]);
    c.send_action(&[("Action", "Logoff"), ("ActionID", "bye")]);
    let got: Vec<String> = collect(&mut c, 10)
        .iter()
        .filter(|v| !field(v, "ActionID").is_empty())
        .map(|v| field(v, "ActionID").to_string())
        .collect();
    assert_eq!(got.first().map(String::as_str), Some("slow"), "order: {got:?}");
    let pos = |id: &str| got.iter().position(|g| g == id);
    assert!(pos("slow") < pos("ev") && pos("ev") < pos("bye"), "order: {got:?}");
}

#[test]
fn the_event_an_action_raises_follows_its_response_for_the_requester() {
    let s = StandIn::start(&[], Opts::default());
    let mut c = connect(s.ws_port().unwrap());
    c.login("admin", "adminpw");
    for i in 0..20 {
        let id = format!("u{i}");
        c.send_action(&[("Action", "UserEvent"), ("UserEvent", "Ordered"), ("ActionID", &id)]);
        let mut first = None;
        while first.is_none() {
            let v = c.recv_json(T).expect("no message");
            if field(&v, "ActionID") == id {
                first = Some(v);
            }
        }
        let first = first.unwrap();
        assert_eq!(
            field(&first, "Response"),
            "Success",
            "round {i}: the event came before the response: {first}"
        );
        let ev = c.wait_for(T, |v| field(v, "Event") == "UserEvent" && field(v, "ActionID") == id);
        assert!(ev.is_some(), "round {i}: event missing");
    }
}

#[test]
fn errors_over_ami_text_carry_the_action_id() {
    let s = StandIn::start(&[], Opts::default());
    let mut c = try_connect(s.ws_port().unwrap(), Some("ami-text"), None).unwrap();
    c.send_text("Action: Login\r\nUsername: admin\r\nSecret: adminpw\r\nActionID: l\r\n\r\n");
    let login = c.recv_text(T).unwrap();
    assert!(login.contains("Authentication accepted"), "{login}");
    c.send_text("Action: Ping\r\nActionID: bad-1\r\nBad Name: x\r\n\r\n");
    let err = loop {
        let t = c.recv_text(T).expect("no answer");
        if t.starts_with("Response:") {
            break t;
        }
    };
    assert!(err.contains("Response: Error") && err.contains("ActionID: bad-1"), "{err}");
}
