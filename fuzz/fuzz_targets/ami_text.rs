//! Fuzz: the AMI text parser (events from the hook, `ami-text` client messages) and the
//! `ami-text` action decoder with its validator.
#![no_main]

use libfuzzer_sys::fuzz_target;
use res_ami_websocket::ami::json::text_action_parse;
use res_ami_websocket::ami::message::parse_ami_text;
use res_ami_websocket::ami::validate::{Limits, validate_action};
use res_ami_websocket::events::encode::{ami_to_json, ami_to_text};

fuzz_target!(|data: &[u8]| {
    for m in parse_ami_text(data) {
        // What we would send for it parses back to the same headers.
        let again = parse_ami_text(m.to_ami_text().as_bytes());
        assert!(again.len() <= 1, "one message became {}", again.len());
    }
    // The event encoders take any hook text.
    let _ = ami_to_json(data, &[("WsSeq", "7")]);
    let _ = ami_to_text(data, &[("WsSeq", "7")]);
    if let Ok(text) = std::str::from_utf8(data) {
        let limits = Limits::default();
        if let Ok(m) = text_action_parse(text, &limits) {
            let _ = validate_action(&m, &limits);
        }
    }
});
