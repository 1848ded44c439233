//! Fuzz: the JSON action decoder and the validator; a valid action survives the round trip
//! through our JSON encoder unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use res_ami_websocket::ami::json::{action_from_json, message_to_json};
use res_ami_websocket::ami::validate::{Limits, validate_action};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let limits = Limits::default();
    let Ok(m) = action_from_json(text, &limits) else { return };
    if validate_action(&m, &limits).is_err() {
        return;
    }
    let json = message_to_json(&m);
    let back = action_from_json(&json, &limits)
        .unwrap_or_else(|e| panic!("our own JSON {json:?} does not decode: {e}"));
    assert_eq!(back, m, "round trip changed the action");
});
