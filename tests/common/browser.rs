//! Headless Chromium driven over the DevTools protocol with our own WebSocket client: open a
//! page, evaluate JavaScript, wait for a condition, set the viewport, save screenshots.
//! Debian's `chromium` (scripts/setup-debian.sh installs it); tests skip with a message without it.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tungstenite::{Message, WebSocket};

/// The Chromium binary, if one is installed.
pub fn chromium() -> Option<String> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| Command::new(b).arg("--version").output().is_ok_and(|o| o.status.success()))
        .map(str::to_string)
}

/// The Chromium binary, or `None` after printing why the calling browser test is skipped.
pub fn chromium_or_skip() -> Option<String> {
    let bin = chromium();
    if bin.is_none() {
        eprintln!("skipped: no chromium found (apt-get install chromium) for the browser test");
    }
    bin
}

/// One headless browser with one page; killed on drop.
pub struct Browser {
    child: Child,
    cdp: WebSocket<TcpStream>,
    next_id: u64,
    _profile: PathBuf,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// GET on the DevTools HTTP endpoint (enough for its JSON).
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
    /// Starts Chromium (fresh profile, no network extras) on `url` with a `width`x`height` view.
    pub fn launch(bin: &str, url: &str, width: u32, height: u32) -> Browser {
        let port = super::free_port();
        let profile = super::temp_dir("chromium");
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
                "--hide-scrollbars",
                &format!("--window-size={width},{height}"),
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
        let mut b = Browser { child, cdp, next_id: 0, _profile: profile };
        b.viewport(width, height);
        b
    }

    /// Sends one DevTools command and returns its `result`.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let req = json!({"id": id, "method": method, "params": params});
        self.cdp.send(Message::Text(req.to_string().into())).expect("cdp send");
        loop {
            let msg = self.cdp.read().expect("cdp read");
            if let Message::Text(t) = msg {
                let v: Value = serde_json::from_str(t.as_str()).unwrap();
                if v["id"] == id {
                    assert!(v.get("error").is_none(), "{method}: {v}");
                    return v["result"].clone();
                }
            }
        }
    }

    /// The page's layout size (CSS pixels) for the following renders and screenshots.
    pub fn viewport(&mut self, width: u32, height: u32) {
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}),
        );
    }

    /// Evaluates JavaScript in the page (promises awaited) and returns the value; a thrown
    /// exception panics with its text.
    pub fn eval(&mut self, js: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": js, "returnByValue": true, "awaitPromise": true}),
        );
        if let Some(ex) = r.get("exceptionDetails") {
            panic!("page threw: {ex}\nwhile evaluating: {js:.300}");
        }
        r["result"]["value"].clone()
    }

    /// Polls a JavaScript condition until it is true; false after `timeout`. A condition that
    /// throws (an element not there yet) counts as false.
    pub fn wait_true(&mut self, js: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let guarded = format!(
            "(() => {{ try {{ return ({js}) === true; }} catch (e) {{ return false; }} }})()"
        );
        while Instant::now() < deadline {
            if self.eval(&guarded) == Value::Bool(true) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }

    /// Saves a PNG of the page (whole document when `full`) and returns its path.
    pub fn screenshot(&mut self, path: &Path, full: bool) -> PathBuf {
        let r = self.call(
            "Page.captureScreenshot",
            json!({"format": "png", "captureBeyondViewport": full}),
        );
        let data = base64_decode(r["data"].as_str().expect("screenshot data"));
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("screenshot dir");
        }
        std::fs::write(path, data).expect("write screenshot");
        path.to_path_buf()
    }
}

/// Standard base64 (with padding) to bytes; enough for DevTools' screenshot data.
fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes().filter_map(val) {
        acc = (acc << 6) | c;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// `target/screenshots/<name>.png` (the CI artifacts directory).
pub fn screenshot_path(name: &str) -> PathBuf {
    super::target_dir().join("screenshots").join(format!("{name}.png"))
}
