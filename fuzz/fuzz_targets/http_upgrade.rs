//! Fuzz: the HTTP request-head parser and the upgrade decision (path, method, version, key,
//! Origin, subprotocol, permessage-deflate offer), and the 101 answer built from it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use res_ami_websocket::ws::deflate;
use res_ami_websocket::ws::http::{MAX_HEAD, parse_head, switching_protocols};
use res_ami_websocket::ws::upgrade::{Decision, OriginPolicy, decide};

fuzz_target!(|data: &[u8]| {
    let Ok(Some((head, used))) = parse_head(data) else { return };
    assert!(used <= data.len() && used <= MAX_HEAD + 4, "head length {used}");
    let allowed = vec!["https://pbx.example.com".to_string()];
    for (allow_missing, tls) in [(true, false), (false, true)] {
        let policy = OriginPolicy { allowed: &allowed, allow_missing, tls };
        if let Decision::Upgrade { accept_key, subprotocol, .. } = decide(&head, &policy) {
            let extension = deflate::response_to(&head);
            let answer = switching_protocols(&accept_key, subprotocol, extension);
            assert!(answer.starts_with(b"HTTP/1.1 101 "));
            if let Some(e) = extension {
                assert!(e.starts_with("permessage-deflate") && !e.contains(['\r', '\n']));
            }
            // Nothing from the request may break the answer's lines.
            assert!(!accept_key.contains(['\r', '\n']));
        }
    }
});
