//! permessage-deflate in a real browser: headless Chromium (driven over the DevTools protocol
//! with our own WebSocket client) negotiates it with the module and receives the same events as
//! a plain client (the panel itself is tested in tests/browser_panel.rs). Skipped with a message when Chromium is not installed
//! (`apt-get install chromium`; scripts/setup-debian.sh installs it).

mod common;

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Opts, StandIn};
use serde_json::{Value, json};
use tungstenite::{Message, WebSocket};

fn chromium() -> Option<String> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| Command::new(b).arg("--version").output().is_ok_and(|o| o.status.success()))
        .map(str::to_string)
}

struct Browser {
    child: Child,
    cdp: WebSocket<TcpStream>,
    next_id: u64,
    _profile: std::path::PathBuf,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// GET on the DevTools HTTP endpoint (plain HTTP/1.0, enough for its JSON).
fn http_get(port: u16, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).ok()?;
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let out = String::from_utf8_lossy(&raw).into_owned();
    out.split_once("\r\n\r\n").map(|(_, b)| b.to_string())
}

impl Browser {
    fn launch(bin: &str, url: &str) -> Browser {
        let port = common::free_port();
        let profile = common::temp_dir("chromium");
        let child = Command::new(bin)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                &format!("--remote-debugging-port={port}"),
                &format!("--user-data-dir={}", profile.display()),
                url,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromium");
        let deadline = Instant::now() + Duration::from_secs(30);
        let ws_url = loop {
            let page = http_get(port, "/json").and_then(|b| {
                let v: Value = serde_json::from_str(&b).ok()?;
                v.as_array()?
                    .iter()
                    .find(|t| {
                        t["type"] == "page"
                            && t["url"].as_str().is_some_and(|u| u.starts_with("http"))
                    })
                    .and_then(|t| t["webSocketDebuggerUrl"].as_str().map(str::to_string))
            });
            if let Some(u) = page {
                break u;
            }
            assert!(Instant::now() < deadline, "chromium DevTools did not come up");
            std::thread::sleep(Duration::from_millis(100));
        };
        let (cdp, _) = tungstenite::connect(ws_url.as_str()).expect("DevTools websocket");
        let cdp = match cdp.into_inner() {
            tungstenite::stream::MaybeTlsStream::Plain(s) => {
                WebSocket::from_raw_socket(s, tungstenite::protocol::Role::Client, None)
            }
            _ => unreachable!("DevTools is plain ws"),
        };
        Browser { child, cdp, next_id: 0, _profile: profile }
    }

    /// Evaluates JavaScript in the page and returns the result value.
    fn eval(&mut self, js: &str) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let req = json!({"id": id, "method": "Runtime.evaluate",
            "params": {"expression": js, "returnByValue": true, "awaitPromise": true}});
        self.cdp.send(Message::Text(req.to_string().into())).expect("cdp send");
        loop {
            let msg = self.cdp.read().expect("cdp read");
            if let Message::Text(t) = msg {
                let v: Value = serde_json::from_str(t.as_str()).unwrap();
                if v["id"] == id {
                    return v["result"]["result"]["value"].clone();
                }
            }
        }
    }

    /// Polls a JavaScript condition until true or timeout.
    fn wait_true(&mut self, js: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.eval(js) == Value::Bool(true) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }
}

/// and every event message as received.
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
    let Some(bin) = chromium() else {
        eprintln!("skipped: no chromium found (apt-get install chromium) for the browser test");
        return;
    };
    let port = common::free_port();
    let conf = format!("[general]\nbindaddr = 127.0.0.1\nbindport = {port}\ncompression = yes\n");
    let s = StandIn::start(&[("ami_websocket.conf", &conf)], Opts::default());
    let mut b = Browser::launch(&bin, &format!("http://127.0.0.1:{port}/"));
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
        let g: Value = serde_json::from_str(g.as_str().unwrap()).unwrap();
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
