//! Fuzz: the readers of ami_websocket.conf (settings) and manager.conf (accounts, ACLs,
//! eventfilters, classes), over any config Asterisk's parser could hand over.
#![no_main]

use libfuzzer_sys::fuzz_target;
use res_ami_websocket::ami::accounts::ManagerConf;
use res_ami_websocket::settings::Settings;
use res_ami_websocket_fuzz::raw_config;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let raw = raw_config(text);
    if let Ok(s) = Settings::from_raw(&raw) {
        // What load accepts must never make tungstenite's config assertion panic.
        assert!(s.max_frame_size <= s.max_message_size);
        let _ = res_ami_websocket::ws::conn::ws_config(&s);
    }
    let _ = ManagerConf::from_raw(&raw);
});
