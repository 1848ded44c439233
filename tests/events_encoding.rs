//! Event encodings on the wire: the recorded fixture replayed to an `ami-json` and an `ami-text`
//! client at once (keys in order, values intact, WsSeq last and contiguous; the text form is the
//! AMI text plus a `WsSeq:` line), repeated headers as arrays, and JSON escaping.

mod common;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::fixture::{self, headers};
use common::ws::{Recv, WsClient, field, login_as, seq, try_connect};
use common::{Opts, StandIn};

fn text_login(port: u16) -> WsClient {
    let mut c = try_connect(port, Some("ami-text"), None).expect("connect ami-text");
    c.send_text("Action: Login\r\nUsername: admin\r\nSecret: adminpw\r\nActionID: tl\r\n\r\n");
    let r = text_until(&mut c, |t| t.contains("ActionID: tl")).expect("no text login response");
    assert!(r.starts_with("Response: Success\r\n"), "{r:?}");
    assert!(r.contains("Message: Authentication accepted\r\n") && r.ends_with("\r\n\r\n"), "{r:?}");
    c
}

/// The next text message satisfying `pred` within 10 s.
fn text_until(c: &mut WsClient, pred: impl Fn(&str) -> bool) -> Option<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match c.recv(deadline.saturating_duration_since(Instant::now())) {
            Recv::Text(t) if pred(&t) => return Some(t),
            Recv::Text(_) => {}
            _ => return None,
        }
    }
}

/// The WsSeq of an AMI-text event message.
fn text_seq(t: &str) -> Option<u64> {
    headers(t).into_iter().find(|(k, _)| k == "WsSeq").and_then(|(_, v)| v.parse().ok())
}

fn recent_timestamp(v: &str) {
    let t: f64 = v.parse().unwrap_or_else(|_| panic!("Timestamp {v:?} is not a number"));
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64();
    assert!((now - t).abs() < 120.0, "Timestamp {v} is not fresh (now {now})");
}

#[test]
fn replayed_fixture_in_json_and_text() {
    let s = StandIn::start(&[], Opts::default());
    let port = s.ws_port().unwrap();
    let recorded = fixture::replayed();
    let mut json = login_as(port, "admin", "adminpw");
    let mut text = text_login(port);
    while json.recv_json(Duration::from_millis(100)).is_some() {}
    while matches!(text.recv(Duration::from_millis(100)), Recv::Text(_)) {}
    s.rx("traffic replay");

    let got = json.events(recorded.len(), Duration::from_secs(20));
    assert_eq!(got.len(), recorded.len(), "JSON client got {} events", got.len());
    let first = seq(&got[0]).unwrap();
    for (i, (v, e)) in got.iter().zip(&recorded).enumerate() {
        let obj = v.as_object().expect("object");
        let want = e.headers();
        // Keys in AMI order, WsSeq last; every value a string equal to the recorded one.
        let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        assert_eq!(keys.pop(), Some("WsSeq"), "{v}");
        let want_keys: Vec<&str> = want.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, want_keys, "event {i}");
        for (k, val) in &want {
            let got_val = obj[k].as_str().unwrap_or_else(|| panic!("{k} is not a string: {v}"));
            if k == "Timestamp" {
                recent_timestamp(got_val);
            } else {
                assert_eq!(got_val, val, "event {i} header {k}");
            }
        }
        assert_eq!(seq(v), Some(first + i as u64), "WsSeq must rise by one per event");
    }

    let mut texts = Vec::new();
    while texts.len() < recorded.len() {
        match text.recv(Duration::from_secs(20)) {
            Recv::Text(t) if text_seq(&t).is_some() => texts.push(t),
            Recv::Text(_) => {}
            other => panic!("text client: {other:?} after {} events", texts.len()),
        }
    }
    for (i, (t, e)) in texts.iter().zip(&recorded).enumerate() {
        let n = first + i as u64;
        // Exactly the AMI text, with a fresh Timestamp and `WsSeq: n` before the blank line.
        let stamp = headers(t).into_iter().find(|(k, _)| k == "Timestamp").map(|(_, v)| v);
        let mut want = e.body.clone();
        if let Some(stamp) = &stamp {
            recent_timestamp(stamp);
            let old = e.headers().into_iter().find(|(k, _)| k == "Timestamp").unwrap().1;
            want =
                want.replace(&format!("Timestamp: {old}\r\n"), &format!("Timestamp: {stamp}\r\n"));
        }
        let want = format!("{}WsSeq: {n}\r\n\r\n", want.strip_suffix("\r\n").unwrap());
        assert_eq!(t, &want, "text event {i}");
    }
}

#[test]
fn repeated_headers_and_escaping() {
    let s = StandIn::start(&[], Opts::default());
    let port = s.ws_port().unwrap();
    let mut json = login_as(port, "admin", "adminpw");
    let mut text = text_login(port);
    let odd = "say \"hi\" \\ back\u{e9}\u{1F600}\ttab";

    // Raised by a JSON client with an array value...
    json.send_text(
        &serde_json::json!({
            "Action": "UserEvent", "UserEvent": "Probe", "Foo": ["bar", "baz"],
            "Odd": odd, "ActionID": "u1"
        })
        .to_string(),
    );
    // ...and by a text client with the header written twice.
    text.send_text(
        "Action: UserEvent\r\nUserEvent: Probe2\r\nFoo: one\r\nX: y\r\nFoo: two\r\n\r\n",
    );

    // The two clients raise their events concurrently: either may come first, so collect
    // both on each client before checking them.
    let names = ["Probe", "Probe2"];
    let mut json_seen = std::collections::HashMap::new();
    while json_seen.len() < 2 {
        let v = json
            .wait_for(Duration::from_secs(5), |v| names.contains(&field(v, "UserEvent")))
            .unwrap_or_else(|| panic!("JSON client: missing one of {names:?}: {json_seen:?}"));
        json_seen.insert(field(&v, "UserEvent").to_string(), v);
    }
    let mut text_seen = std::collections::HashMap::new();
    while text_seen.len() < 2 {
        let t = text_until(&mut text, |t| {
            names.iter().any(|n| t.contains(&format!("UserEvent: {n}\r\n")))
        })
        .unwrap_or_else(|| panic!("text client: missing one of {names:?}"));
        let name = if t.contains("UserEvent: Probe2\r\n") { "Probe2" } else { "Probe" };
        text_seen.insert(name.to_string(), t);
    }
    for (name, foo) in [("Probe", ["bar", "baz"]), ("Probe2", ["one", "two"])] {
        let v = &json_seen[name];
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(&keys[..2], ["Event", "Privilege"], "{v}");
        assert_eq!(keys.last(), Some(&"WsSeq"), "{v}");
        assert_eq!(keys.iter().filter(|k| **k == "Foo").count(), 1, "{v}");
        assert_eq!(v["Foo"], serde_json::json!(foo), "{v}");
        if name == "Probe" {
            assert_eq!(field(v, "Odd"), odd, "{v}");
            let pos = |k: &str| keys.iter().position(|x| *x == k).unwrap();
            assert!(pos("UserEvent") < pos("Foo") && pos("Foo") < pos("Odd"), "{v}");
        } else {
            let pos = |k: &str| keys.iter().position(|x| *x == k).unwrap();
            assert!(pos("Foo") < pos("X"), "an array stays where the header first came: {v}");
        }
        let t = &text_seen[name];
        assert!(t.contains(&format!("Foo: {}\r\n", foo[0])), "{t:?}");
        assert!(t.contains(&format!("Foo: {}\r\n", foo[1])), "{t:?}");
        assert_eq!(text_seq(t), seq(v), "both clients see the same event number");
        assert!(t.ends_with(&format!("WsSeq: {}\r\n\r\n", seq(v).unwrap())), "{t:?}");
        if name == "Probe" {
            assert!(t.contains(&format!("Odd: {odd}\r\n")), "{t:?}");
        }
    }
    // No subprotocol asked means JSON; `ws show clients` names each client's encoding.
    let (rows, _) = common::ws::clients(&s);
    let mut protos: Vec<&str> = rows.iter().map(|r| r.proto.as_str()).collect();
    protos.sort();
    assert_eq!(protos, ["ami-json", "ami-text"]);
}
