//! Encoders against the bodies a real Asterisk 22.10.1 handed to the manager hook.

use serde_json::Value;

use super::encode::{ami_to_json, ami_to_text};
use super::event::Event;

const CAPTURE: &str = include_str!("../../tests/fixtures/hook-capture-22.10.1.jsonl");

/// Every AMI message from the capture with its kind: events, events raised during actions, and
/// the response pieces Asterisk produced (`HookResponse`, which come as whole messages or parts).
fn rows() -> Vec<(String, String, u32, String)> {
    CAPTURE
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).expect("capture line is JSON"))
        .map(|v| {
            let s = |k: &str| v[k].as_str().expect("string field").to_string();
            (s("kind"), s("event"), v["cat"].as_i64().expect("cat") as u32, s("body"))
        })
        .collect()
}

/// Event bodies: `event` rows and events raised by an action (category other than hookresponse).
fn event_bodies() -> Vec<(String, u32, String)> {
    rows()
        .into_iter()
        .filter(|(kind, _, cat, _)| kind == "event" || (kind == "in-action" && *cat != 1 << 14))
        .map(|(_, name, cat, body)| (name, cat, body))
        .collect()
}

/// The straightforward parse: split on CRLF, stop at the blank line, split at the first ": ".
fn naive_headers(body: &str) -> Vec<(String, String)> {
    body.split("\r\n")
        .take_while(|l| !l.is_empty())
        .map(|l| match l.split_once(':') {
            Some((n, v)) => (n.to_string(), v.trim_start_matches([' ', '\t']).to_string()),
            None => (l.to_string(), String::new()),
        })
        .collect()
}

/// JSON back to headers: each key once per value, arrays expanded in order; checks key order.
fn json_to_headers(json: &str) -> Vec<(String, String)> {
    let v: Value =
        serde_json::from_str(json).unwrap_or_else(|e| panic!("invalid JSON {json}: {e}"));
    let mut out = Vec::new();
    for (k, v) in v.as_object().expect("an object") {
        match v {
            Value::String(s) => out.push((k.clone(), s.clone())),
            Value::Array(items) => {
                assert!(items.len() > 1, "an array only for a repeated header: {k}");
                for item in items {
                    out.push((k.clone(), item.as_str().expect("string items").to_string()));
                }
            }
            other => panic!("non-string value {other} for {k}"),
        }
    }
    out
}

/// The naive headers grouped as the JSON must be: first-occurrence order, repeats together.
fn grouped(headers: &[(String, String)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (i, (name, _)) in headers.iter().enumerate() {
        if headers[..i].iter().any(|(n, _)| n == name) {
            continue;
        }
        out.extend(headers.iter().filter(|(n, _)| n == name).cloned());
    }
    out
}

#[test]
fn capture_has_the_events_the_tests_rely_on() {
    let events = event_bodies();
    assert!(events.len() >= 240, "{} events", events.len());
    let with_repeat = events
        .iter()
        .filter(|(_, _, body)| {
            let h = naive_headers(body);
            h.iter().enumerate().any(|(i, (n, _))| h[..i].iter().any(|(m, _)| m == n))
        })
        .count();
    assert!(with_repeat >= 1, "the capture holds a UserEvent with a repeated header");
}

#[test]
fn every_event_json_parses_with_headers_in_order_and_repeats_as_arrays() {
    for (seq, (name, cat, body)) in (1u64..).zip(event_bodies()) {
        let event = Event::new(seq, cat, name.as_bytes(), body.as_bytes());
        let json = std::str::from_utf8(event.json()).expect("JSON is UTF-8");
        let mut got = json_to_headers(json);
        assert_eq!(got.pop(), Some(("WsSeq".to_string(), seq.to_string())), "WsSeq last");
        let naive = naive_headers(&body);
        assert_eq!(got, grouped(&naive), "headers of {body:?}");
        assert_eq!(naive.first().map(|(n, v)| (n.as_str(), v.as_str())), Some(("Event", &*name)));
        let v: Value = serde_json::from_str(json).unwrap();
        assert_eq!(v["Event"], name.as_str());
    }
}

#[test]
fn the_captured_user_event_has_foo_as_an_array() {
    let (_, _, body) = event_bodies()
        .into_iter()
        .find(|(_, _, b)| b.contains("Foo: bar\r\nFoo: baz"))
        .expect("UserEvent Probe in capture");
    let v: Value = serde_json::from_str(&ami_to_json(body.as_bytes(), &[("WsSeq", "9")])).unwrap();
    assert_eq!(v["Foo"], serde_json::json!(["bar", "baz"]));
    assert_eq!(v["UserEvent"], "Probe");
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["Event", "Privilege", "Timestamp", "UserEvent", "Foo", "ActionID", "WsSeq"]);
}

#[test]
fn every_event_text_is_the_body_with_wsseq_before_the_blank_line() {
    for (seq, (name, cat, body)) in (1u64..).zip(event_bodies()) {
        let event = Event::new(seq, cat, name.as_bytes(), body.as_bytes());
        let head = body.strip_suffix("\r\n").expect("captured bodies end with a blank line");
        let expected = format!("{head}WsSeq: {seq}\r\n\r\n");
        assert_eq!(std::str::from_utf8(event.text()).unwrap(), expected);
    }
}

#[test]
fn whole_captured_responses_encode_too() {
    // Response pieces that form one whole message on their own (e.g. CoreSettings).
    let mut checked = 0;
    for (kind, _, _, body) in rows() {
        if kind != "in-action" || !body.starts_with("Response:") || !body.ends_with("\r\n\r\n") {
            continue;
        }
        let got = json_to_headers(&ami_to_json(body.as_bytes(), &[]));
        assert_eq!(got, grouped(&naive_headers(&body)));
        assert_eq!(ami_to_text(body.as_bytes(), &[]), body);
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} whole responses");
}
