//! What one event looks like on NATS: its cached ami-json bytes (encode once), with the PBX's
//! `SystemName` added when Asterisk did not already put it there, and the gap notice.
#![forbid(unsafe_code)]

use crate::events::event::Event;

/// The JSON payload of `ev` for system `system_json` (the name already as a JSON string).
pub fn event_json(ev: &Event, system_json: &str) -> Vec<u8> {
    let json = ev.json();
    // Asterisk adds `SystemName:` to every event itself when asterisk.conf sets systemname.
    if ev.body_str().contains("\r\nSystemName: ") || json.last() != Some(&b'}') {
        return json.to_vec();
    }
    let mut out = Vec::with_capacity(json.len() + system_json.len() + 16);
    out.extend_from_slice(&json[..json.len() - 1]);
    out.extend_from_slice(b",\"SystemName\":");
    out.extend_from_slice(system_json.as_bytes());
    out.push(b'}');
    out
}

/// The notice published when the ring overwrote events before they reached NATS: the same
/// shape a WebSocket client gets (`WsEventsLost`, inclusive range), plus `SystemName`.
pub fn gap_json(first: u64, last: u64, system_json: &str) -> Vec<u8> {
    format!(
        "{{\"Event\":\"WsEventsLost\",\"FirstLost\":\"{first}\",\"LastLost\":\"{last}\",\
         \"Count\":\"{}\",\"SystemName\":{system_json}}}",
        last - first + 1
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(body: &str, seq: u64) -> Event {
        Event::new(seq, 2, b"Hangup", body.as_bytes())
    }

    #[test]
    fn system_name_is_added_once() {
        let ev = event("Event: Hangup\r\nPrivilege: call,all\r\nChannel: PJSIP/1\r\n\r\n", 7);
        let v: serde_json::Value =
            serde_json::from_slice(&event_json(&ev, "\"pbx \\\"1\\\"\"")).unwrap();
        assert_eq!(v["SystemName"], "pbx \"1\"");
        assert_eq!(v["WsSeq"], "7");
        assert_eq!(v["Channel"], "PJSIP/1");
        let ev = event("Event: Hangup\r\nPrivilege: call,all\r\nSystemName: own\r\n\r\n", 8);
        let v: serde_json::Value = serde_json::from_slice(&event_json(&ev, "\"x\"")).unwrap();
        assert_eq!(v["SystemName"], "own");
    }

    #[test]
    fn gap_notice_names_the_range() {
        let v: serde_json::Value = serde_json::from_slice(&gap_json(5, 9, "\"p\"")).unwrap();
        assert_eq!(v["Event"], "WsEventsLost");
        assert_eq!((v["FirstLost"].as_str(), v["LastLost"].as_str()), (Some("5"), Some("9")));
        assert_eq!(v["Count"], "5");
    }
}
