//! The recording of a real Asterisk 22.10.1's hook calls (tests/fixtures), embedded in the binary:
//! its `event` rows for `traffic replay`.
#![forbid(unsafe_code)]

const RECORDING: &str = include_str!("../fixtures/hook-capture-22.10.1.jsonl");

/// One recorded event.
#[derive(Debug, Clone)]
pub struct Event {
    pub category: i32,
    pub name: String,
    pub body: String,
    /// Its Timestamp header (seconds), 0 without one.
    pub at: f64,
}

/// Every `event` row, in recorded order.
pub fn events() -> Vec<Event> {
    RECORDING
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v.get("kind").and_then(|k| k.as_str()) == Some("event"))
        .map(|v| {
            let body = v.get("body").and_then(|b| b.as_str()).unwrap_or_default().to_string();
            let at = timestamp_of(&body).unwrap_or_default();
            Event {
                category: v.get("cat").and_then(|c| c.as_i64()).unwrap_or_default() as i32,
                name: v.get("event").and_then(|e| e.as_str()).unwrap_or_default().to_string(),
                body,
                at,
            }
        })
        .collect()
}

fn timestamp_of(body: &str) -> Option<f64> {
    body.split("\r\n").find_map(|l| l.strip_prefix("Timestamp: ")).and_then(|t| t.parse().ok())
}

/// The body with its `Timestamp:` value replaced by the current time (absent stays absent).
pub fn refresh_timestamp(body: &str) -> String {
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let stamp = format!("Timestamp: {}.{:06}", now.as_secs(), now.subsec_micros());
    body.split("\r\n")
        .map(|l| if l.starts_with("Timestamp: ") { stamp.as_str() } else { l })
        .collect::<Vec<_>>()
        .join("\r\n")
}
