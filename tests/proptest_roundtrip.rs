//! Property tests (proptest) for the round trips the protocol promises:
//! - any valid action survives AMI text -> parse, JSON -> decode, and text <-> JSON unchanged;
//! - every event of the recorded fixture (Asterisk 22.10.1), with any WsSeq and an added header
//!   holding any text, encodes to JSON that decodes to exactly its headers (repeats as arrays,
//!   in order) and to AMI text that parses back to them.

mod common;

use std::sync::OnceLock;

use proptest::prelude::*;
use res_ami_websocket::ami::json::{action_from_json, message_to_json, text_action_parse};
use res_ami_websocket::ami::message::{Message, parse_ami_text};
use res_ami_websocket::ami::validate::{ActionError, Limits, validate_action};
use res_ami_websocket::events::encode::{ami_to_json, ami_to_text};
use serde_json::Value;

fn fixture() -> &'static [common::fixture::Recorded] {
    static EVENTS: OnceLock<Vec<common::fixture::Recorded>> = OnceLock::new();
    EVENTS.get_or_init(common::fixture::replayed)
}

/// Header names the validator accepts.
fn name() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9_-]{0,15}"
}

/// Values the validator accepts: printable text including non-ASCII, quotes and backslashes,
/// no control characters, not starting with a blank (AMI drops leading blanks).
fn value() -> impl Strategy<Value = String> {
    "([!-~\u{a0}-\u{17f}\u{4e00}-\u{4e10}\u{1f600}-\u{1f610}][ -~\u{a0}-\u{17f}\u{1f600}-\u{1f610}]{0,30})?"
        .prop_map(|v| v.trim_end().to_string())
}

fn action() -> impl Strategy<Value = Message> {
    (name(), proptest::collection::vec((name(), value()), 0..12)).prop_map(|(act, headers)| {
        let mut m = Message::new();
        // Action names are names ([A-Za-z0-9_-]); the validator refuses anything else.
        m.push("Action", act);
        for (k, v) in headers {
            // `Action` once, first: the decoder treats it specially.
            if k.eq_ignore_ascii_case("Action") {
                continue;
            }
            // AMI header names are case-insensitive, and the JSON form refuses two keys that
            // differ only in case (`case_variants_of_one_header_are_refused_in_json` below): a
            // repeat is spelled as the name's first appearance, so it becomes an array.
            let k = match m.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(&k)) {
                Some((first, _)) => first.clone(),
                None => k,
            };
            m.push(k, v);
        }
        m
    })
}

/// Headers grouped by name, names in first-appearance order, values in order: what the JSON
/// form keeps (a repeated header becomes one key with an array).
fn grouped(pairs: &[(String, String)]) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for (k, v) in pairs {
        match out.iter_mut().find(|(n, _)| n == k) {
            Some((_, vs)) => vs.push(v.clone()),
            None => out.push((k.clone(), vec![v.clone()])),
        }
    }
    out
}

/// `m` with every repeat moved next to the first header of its name: what its JSON form decodes to.
fn grouped_message(m: &Message) -> Message {
    let mut out = Message::new();
    for (name, values) in grouped(&m.headers) {
        for v in values {
            out.push(name.as_str(), v);
        }
    }
    out
}

fn json_grouped(v: &Value) -> Vec<(String, Vec<String>)> {
    v.as_object()
        .expect("object")
        .iter()
        .map(|(k, val)| {
            let vals = match val {
                Value::String(s) => vec![s.clone()],
                Value::Array(a) => {
                    a.iter().map(|i| i.as_str().expect("string").to_string()).collect()
                }
                other => panic!("{k}: {other}"),
            };
            (k.clone(), vals)
        })
        .collect()
}

fn pairs(m: &Message) -> Vec<(String, String)> {
    let parsed = parse_ami_text(m.to_ami_text().as_bytes());
    assert_eq!(parsed.len(), 1);
    let text = parsed[0].to_ami_text();
    common::fixture::headers(&text)
}

/// Found by the property test: `Q0` and `q0` are one AMI header, so the JSON form refuses them as
/// two keys with a clear error (an array carries repeats) instead of guessing which one counts.
#[test]
fn case_variants_of_one_header_are_refused_in_json() {
    let limits = Limits::default();
    let err = action_from_json(r#"{"Action":"a","Q0":"","q0":""}"#, &limits)
        .expect_err("two spellings of one header");
    assert_eq!(err, ActionError::DuplicateKey { key: "q0".into() });
    assert!(err.to_string().starts_with("Duplicate key 'q0'"), "{err}");
    let repeat = action_from_json(r#"{"Action":"a","Q0":["","1"]}"#, &limits).expect("an array");
    assert_eq!(repeat.to_ami_text(), "Action: a\r\nQ0: \r\nQ0: 1\r\n\r\n");
}

proptest! {
    #![proptest_config(ProptestConfig {
        // 256 per run; PROPTEST_CASES=N for a longer search.
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(256),
        // Failures are reported in the test output (CI keeps it); no file beside the sources.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn actions_round_trip_through_ami_text_and_json(m in action()) {
        let limits = Limits::default();
        prop_assert!(validate_action(&m, &limits).is_ok(), "generated action invalid: {m:?}");
        let text = m.to_ami_text();
        let parsed = parse_ami_text(text.as_bytes());
        prop_assert_eq!(parsed.len(), 1);
        prop_assert_eq!(&parsed[0], &m);
        prop_assert_eq!(&text_action_parse(&text, &limits).expect("ami-text decodes"), &m);
        let json = message_to_json(&m);
        let back = action_from_json(&json, &limits).expect("our JSON decodes");
        // JSON keeps each header's values in order and the names in first-appearance order; a
        // repeat interleaved with other names comes back next to its first value (AMI looks
        // headers up by name, so that order carries no meaning).
        let regrouped = grouped_message(&m);
        prop_assert_eq!(&back, &regrouped);
        prop_assert_eq!(message_to_json(&regrouped), json.clone());
        // The JSON is plain JSON with the same headers, repeats as arrays.
        let v: Value = serde_json::from_str(&json).expect("valid JSON");
        prop_assert_eq!(json_grouped(&v), grouped(&pairs(&m)));
    }

    #[test]
    fn every_fixture_event_encodes_and_decodes(
        seq in any::<u64>(),
        extra in proptest::option::of((name(), "[!-~\u{a0}-\u{10ffff}][^\r\n\u{0}]{0,40}")),
    ) {
        for ev in fixture() {
            check_event(&ev.body, seq, extra.as_ref())?;
        }
    }
}

/// One fixture event with `WsSeq` = `seq` and the `extra` header appended: its JSON decodes to
/// exactly its headers and its AMI text parses back to them.
fn check_event(
    body: &str,
    seq: u64,
    extra: Option<&(String, String)>,
) -> Result<(), TestCaseError> {
    let mut body = body.trim_end_matches("\r\n").to_string();
    body.push_str("\r\n");
    if let Some((k, v)) = extra {
        body.push_str(&format!("{k}: {v}\r\n"));
    }
    body.push_str("\r\n");
    let seq = seq.to_string();
    // Values as AMI hands them on: leading blanks dropped (as astman_get_header does).
    let blanks = |h: Vec<(String, String)>| -> Vec<(String, String)> {
        h.into_iter()
            .map(|(k, v)| (k, v.trim_start_matches(|c: char| c <= ' ').to_string()))
            .collect()
    };
    let mut expected = blanks(common::fixture::headers(&body));
    expected.push(("WsSeq".to_string(), seq.clone()));
    let json = ami_to_json(body.as_bytes(), &[("WsSeq", &seq)]);
    let v: Value =
        serde_json::from_str(&json).map_err(|e| TestCaseError::fail(format!("{e}: {json}")))?;
    prop_assert_eq!(json_grouped(&v), grouped(&expected), "{}", json);
    let text = ami_to_text(body.as_bytes(), &[("WsSeq", &seq)]);
    let parsed = parse_ami_text(text.as_bytes());
    prop_assert_eq!(parsed.len(), 1, "{}", text);
    prop_assert_eq!(blanks(common::fixture::headers(&parsed[0].to_ami_text())), expected);
    Ok(())
}

#[test]
fn the_properties_cover_every_fixture_event() {
    // The event property walks the whole fixture; make sure it is the real one, not empty.
    assert!(fixture().len() >= 50, "fixture has {} events", fixture().len());
}
