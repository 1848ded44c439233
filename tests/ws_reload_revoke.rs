//! A reload that removes a user, changes its secret or narrows its permit/deny ends that
//! user's open WebSocket sessions (close 1008, a NOTICE naming user, address and reason);
//! changed read/write classes apply to open sessions at once; unchanged users keep theirs.

mod common;

use std::time::Duration;

use common::ws::{WsClient, field, login_as};
use common::{StandIn, start_with_manager};

const MODULE: &str = "res_ami_websocket.so";

const BEFORE: &str = "[general]\nenabled = yes\nbindaddr = 127.0.0.1\n\n\
[keep]\nsecret = pw\nread = all\nwrite = all\n\n\
[gone]\nsecret = pw\nread = all\nwrite = all\n\n\
[rekey]\nsecret = pw\nread = all\nwrite = all\n\n\
[moved]\nsecret = pw\nread = all\nwrite = all\ndeny = 0.0.0.0/0.0.0.0\npermit = 127.0.0.0/255.0.0.0\n\n\
[narrow]\nsecret = pw\nread = all\nwrite = all\n";

/// `gone` removed, `rekey`'s secret changed, `moved` permitted only elsewhere, `narrow`'s
/// classes narrowed; `keep` unchanged.
const AFTER: &str = "[general]\nenabled = yes\nbindaddr = 127.0.0.1\n\n\
[keep]\nsecret = pw\nread = all\nwrite = all\n\n\
[rekey]\nsecret = other\nread = all\nwrite = all\n\n\
[moved]\nsecret = pw\nread = all\nwrite = all\ndeny = 0.0.0.0/0.0.0.0\npermit = 10.0.0.0/255.0.0.0\n\n\
[narrow]\nsecret = pw\nread = user\nwrite = call\n";

fn reload_with(s: &StandIn, manager: &str) {
    std::fs::write(s.config_dir().join("manager.conf"), manager).expect("write manager.conf");
    let out = s.rx(&format!("module reload {MODULE}"));
    assert!(out.contains("reloaded successfully"), "{out}");
}

fn address(c: &WsClient) -> String {
    c.ws.get_ref().local_addr().unwrap().to_string()
}

#[test]
fn reload_ends_revoked_sessions_applies_classes_and_keeps_the_rest() {
    let (s, port) = start_with_manager(BEFORE);
    let mut keep = login_as(port, "keep", "pw");
    let mut narrow = login_as(port, "narrow", "pw");
    let mut revoked: Vec<(&str, &str, WsClient)> = [
        ("gone", "account removed"),
        ("rekey", "secret changed"),
        ("moved", "address no longer permitted"),
    ]
    .into_iter()
    .map(|(user, why)| (user, why, login_as(port, user, "pw")))
    .collect();
    // Before the reload `narrow` may run Command (class command) and sees user events.
    let id = narrow.send_action(&[("Action", "Command"), ("Command", "core show version")]);
    let r = narrow.reply(&id, Duration::from_secs(10)).expect("Command before");
    assert_eq!(field(&r, "Response"), "Success", "{r}");

    reload_with(&s, AFTER);

    for (user, why, c) in &mut revoked {
        assert_eq!(c.close_code(Duration::from_secs(5)), Some(1008), "{user}");
        let line = format!("user '{user}' at {} disconnected by reload: {why}", address(c));
        s.expect_log(&line);
        let logged = s.log().lines().find(|l| l.contains(&line)).unwrap_or_default().to_string();
        assert!(logged.contains("NOTICE"), "{logged}");
    }
    // The unchanged user's session stays and works.
    keep.user_event("AfterReload", &[]);
    let v = keep.wait_for(Duration::from_secs(5), |v| field(v, "UserEvent") == "AfterReload");
    assert!(v.is_some(), "the unchanged user's session stopped receiving events");
    // The narrowed user stays, with the new classes: no more Command, no more user events.
    let id = narrow.send_action(&[("Action", "Command"), ("Command", "core show version")]);
    let r = narrow.reply(&id, Duration::from_secs(10)).expect("Command after");
    assert_eq!(field(&r, "Message"), "Permission denied", "{r}");
    // A call raises call-class events, then a user-class marker: `keep` (read all) sees both,
    // in that order; `narrow` (now read user) only the marker.
    let id = keep.send_action(&[
        ("Action", "Originate"),
        ("Channel", "Local/100@default"),
        ("Application", "Wait"),
        ("Data", "1"),
    ]);
    let mut kept_saw = Vec::new();
    let mut narrow_saw = Vec::new();
    loop {
        let v = keep.recv_json(Duration::from_secs(10)).expect("no Originate reply");
        kept_saw.push(field(&v, "Event").to_string());
        if field(&v, "ActionID") == id && v.get("Response").is_some() {
            assert_eq!(field(&v, "Response"), "Success", "{v}");
            break;
        }
    }
    keep.send_action(&[("Action", "UserEvent"), ("UserEvent", "Marker")]);
    for (c, saw) in [(&mut keep, &mut kept_saw), (&mut narrow, &mut narrow_saw)] {
        loop {
            let v = c.recv_json(Duration::from_secs(5)).expect("no Marker");
            saw.push(field(&v, "Event").to_string());
            if field(&v, "UserEvent") == "Marker" {
                break;
            }
        }
    }
    assert!(kept_saw.iter().any(|e| e == "Newchannel"), "no call events: {kept_saw:?}");
    assert!(!narrow_saw.iter().any(|e| e == "Newchannel"), "read not applied: {narrow_saw:?}");
    s.expect_log("user 'narrow' at ");
    // The removed user cannot log in again; the re-keyed one can, with the new secret.
    let mut again = common::ws::connect(port);
    assert_eq!(field(&again.login("gone", "pw"), "Response"), "Error");
    login_as(port, "rekey", "other");
}

#[test]
fn a_reload_that_changes_nothing_for_a_user_keeps_its_sessions() {
    let (s, port) = start_with_manager(BEFORE);
    let mut a = login_as(port, "keep", "pw");
    let mut b = login_as(port, "keep", "pw");
    // Same accounts, written in another order with another user added.
    let reordered = format!("{BEFORE}\n[extra]\nsecret = x\nread = all\n");
    reload_with(&s, &reordered);
    reload_with(&s, BEFORE);
    for c in [&mut a, &mut b] {
        let id = c.send_action(&[("Action", "Ping")]);
        let r = c.reply(&id, Duration::from_secs(5)).expect("the session ended");
        assert_eq!(field(&r, "Ping"), "Pong");
    }
    assert!(!s.log().contains("disconnected by reload"), "{}", s.log());
}
