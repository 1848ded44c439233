//! Fuzz: eventfilter compilation (manager.conf lines and the Filter action) and matching
//! against an event. Input: criteria line, pattern line, then the event's AMI text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use res_ami_websocket::ami::filter::EventFilters;
use res_ami_websocket::ami::message::parse_ami_text;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut parts = text.splitn(3, '\n');
    let (criteria, pattern, body) =
        (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let mut conf = EventFilters::new();
    let _ = conf.add(criteria, pattern);
    let mut action = EventFilters::new();
    let _ = action.add_from_action(criteria, pattern);
    let name = parse_ami_text(body.as_bytes())
        .first()
        .and_then(|m| m.get("Event").map(str::to_string))
        .unwrap_or_default();
    let _ = conf.allows(&name, body);
    let _ = action.allows(&name, body);
});
