//! permessage-deflate in a real browser: headless Chromium (driven over the DevTools protocol
//! with our own WebSocket client) negotiates it with the module and receives the same events as
//! a plain client (the panel itself is tested in tests/browser_panel.rs). Skipped with a message
//! when Chromium is not installed (`apt-get install chromium`; scripts/setup-debian.sh installs it).

mod common;

use std::time::Duration;

use common::browser::{Browser, chromium_or_skip};
use common::{Opts, StandIn};
use serde_json::json;

/// Run in the page: a WebSocket with subprotocol ami-json that logs in and records the
/// negotiated extensions, the Login and Ping answers and every event message as received.
const DEFLATE_JS: &str = r#"(() => {
window.__r = {ext: null, login: null, pong: null, msgs: []};
const ws = new WebSocket(`ws://${location.host}/ami`, 'ami-json');
ws.onopen = () => {
  __r.ext = ws.extensions;
  ws.send(JSON.stringify({Action: 'Login', Username: 'admin', Secret: 'adminpw', ActionID: 'b1'}));
};
ws.onclose = (e) => { __r.closed = [e.code, e.reason]; };
ws.onmessage = (m) => {
  const v = JSON.parse(m.data);
  if (v.ActionID === 'b1') __r.login = v.Response;
  if (v.ActionID === 'b2') __r.pong = v.Ping;
  if (v.WsSeq && v.Event !== 'FullyBooted') __r.msgs.push(m.data);
};
window.__ws = ws;
return true;
})()
"#;

#[test]
fn chromium_negotiates_permessage_deflate_and_gets_the_same_events() {
    let Some(bin) = chromium_or_skip() else { return };
    let port = common::free_port();
    let conf = format!("[general]\nbindaddr = 127.0.0.1\nbindport = {port}\ncompression = yes\n");
    let s = StandIn::start(&[("ami_websocket.conf", &conf)], Opts::default());
    let mut b = Browser::launch(&bin, &format!("http://127.0.0.1:{port}/"), 1280, 800);
    assert!(
        b.wait_true("document.readyState === 'complete'", Duration::from_secs(20)),
        "page did not load"
    );
    b.eval(DEFLATE_JS);
    assert!(
        b.wait_true("__r.login === 'Success'", Duration::from_secs(10)),
        "login failed: {} {}",
        b.eval("JSON.stringify({r: __r, state: __ws.readyState})"),
        s.log()
    );
    assert_eq!(
        b.eval("__r.ext"),
        json!("permessage-deflate; server_no_context_takeover; client_no_context_takeover")
    );
    let mut plain = common::ws::login_as(port, "admin", "adminpw");
    std::thread::sleep(Duration::from_millis(300));
    while plain.recv_json(Duration::from_millis(100)).is_some() {}
    b.eval("__r.msgs = []; true");
    s.rx("traffic replay");
    let n = common::fixture::replayed().len();
    let want = plain.events(n, Duration::from_secs(20));
    assert_eq!(want.len(), n);
    assert!(
        b.wait_true(&format!("__r.msgs.length >= {n}"), Duration::from_secs(20)),
        "browser got {} of {n} events",
        b.eval("__r.msgs.length")
    );
    let got = b.eval("__r.msgs");
    for (w, g) in want.iter().zip(got.as_array().unwrap()) {
        let g: serde_json::Value = serde_json::from_str(g.as_str().unwrap()).unwrap();
        assert_eq!(&g, w);
    }
    // Chromium compresses what it sends; the server inflated the Login and this Ping.
    b.eval("__ws.send(JSON.stringify({Action: 'Ping', ActionID: 'b2'})); true");
    assert!(b.wait_true("__r.pong === 'Pong'", Duration::from_secs(10)), "no Pong");
    let status = s.rx("ws show status");
    let line = status.lines().find(|l| l.starts_with("Compressing:")).unwrap_or_default();
    assert!(line.contains(" 1 (") && line.contains("; 2 compressed messages in"), "{status}");
    let bytes = status.lines().find(|l| l.starts_with("Bytes out:")).unwrap_or_default();
    println!("{line}\n{bytes}");
}
