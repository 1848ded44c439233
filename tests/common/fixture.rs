//! The recorded hook capture (tests/fixtures) as the tests' oracle: the `event` rows that
//! `traffic replay` raises, in order, with helpers to split AMI text into headers.

use serde_json::Value;

/// One recorded event.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// EVENT_FLAG_* bits it was raised with.
    pub category: u32,
    /// Event name.
    pub name: String,
    /// Full AMI text.
    pub body: String,
}

impl Recorded {
    /// The headers in order.
    pub fn headers(&self) -> Vec<(String, String)> {
        headers(&self.body)
    }
}

/// The events `traffic replay` raises, in order.
pub fn replayed() -> Vec<Recorded> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/hook-capture-22.10.1.jsonl");
    std::fs::read_to_string(path)
        .expect("read the fixture")
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["kind"] == "event")
        .map(|v| Recorded {
            category: v["cat"].as_u64().expect("cat") as u32,
            name: v["event"].as_str().expect("event").to_string(),
            body: v["body"].as_str().expect("body").to_string(),
        })
        .collect()
}

/// `Name: value` lines of AMI text, in order (value without the blank after the colon).
pub fn headers(text: &str) -> Vec<(String, String)> {
    text.split("\r\n")
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.strip_prefix(' ').unwrap_or(v).to_string()))
        .collect()
}

/// The headers with `Timestamp` removed (the replay refreshes it).
pub fn without_timestamp(h: &[(String, String)]) -> Vec<(String, String)> {
    h.iter().filter(|(k, _)| k != "Timestamp").cloned().collect()
}

/// A JSON event turned back into headers (arrays become repeated headers), `WsSeq` dropped.
pub fn json_headers(v: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (k, val) in v.as_object().expect("event is an object") {
        if k == "WsSeq" {
            continue;
        }
        match val {
            Value::String(s) => out.push((k.clone(), s.clone())),
            Value::Array(items) => {
                for i in items {
                    out.push((k.clone(), i.as_str().expect("array of strings").to_string()));
                }
            }
            other => panic!("{k}: not a string or array: {other}"),
        }
    }
    out
}
