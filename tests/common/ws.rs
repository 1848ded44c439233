//! A blocking WebSocket test client for the module: connect (with subprotocol and Origin),
//! send JSON or text actions, receive messages with a deadline, log in, read close codes.

use std::io::ErrorKind;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use tungstenite::client::IntoClientRequest;
use tungstenite::http::HeaderValue;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::{Message, WebSocket};

/// One connected client.
pub struct WsClient {
    /// The socket (public so tests can misbehave on purpose).
    pub ws: WebSocket<TcpStream>,
    next_id: u64,
}

/// How a receive ended.
#[derive(Debug)]
pub enum Recv {
    /// A text message.
    Text(String),
    /// The server closed with this code and reason.
    Closed(Option<(u16, String)>),
    /// Nothing within the deadline.
    Timeout,
}

/// Connects to ws://127.0.0.1:port/ami with optional subprotocol and Origin.
pub fn try_connect(
    port: u16,
    subprotocol: Option<&str>,
    origin: Option<&str>,
) -> Result<WsClient, tungstenite::Error> {
    let stream = TcpStream::connect(("127.0.0.1", port)).map_err(tungstenite::Error::Io)?;
    handshake(stream, port, subprotocol, origin)
}

/// Runs the client side of the handshake over an already connected socket (e.g. one with a
/// small receive buffer).
pub fn connect_over(
    stream: TcpStream,
    port: u16,
    subprotocol: Option<&str>,
) -> Result<WsClient, tungstenite::Error> {
    handshake(stream, port, subprotocol, None)
}

fn handshake(
    stream: TcpStream,
    port: u16,
    subprotocol: Option<&str>,
    origin: Option<&str>,
) -> Result<WsClient, tungstenite::Error> {
    let mut req = format!("ws://127.0.0.1:{port}/ami").into_client_request()?;
    if let Some(p) = subprotocol {
        req.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_str(p).unwrap());
    }
    if let Some(o) = origin {
        req.headers_mut().insert("Origin", HeaderValue::from_str(o).unwrap());
    }
    stream.set_nodelay(true).ok();
    let (ws, _resp) = tungstenite::client(req, stream).map_err(|e| match e {
        tungstenite::HandshakeError::Failure(e) => e,
        tungstenite::HandshakeError::Interrupted(_) => {
            tungstenite::Error::Io(std::io::Error::new(ErrorKind::WouldBlock, "interrupted"))
        }
    })?;
    Ok(WsClient { ws, next_id: 0 })
}

/// Connects and logs in, panicking unless the login succeeds.
pub fn login_as(port: u16, user: &str, secret: &str) -> WsClient {
    let mut c = connect(port);
    let r = c.login(user, secret);
    assert_eq!(field(&r, "Response"), "Success", "login as {user}: {r}");
    c
}

/// Connects (JSON subprotocol by default), panicking on failure.
pub fn connect(port: u16) -> WsClient {
    try_connect(port, None, None).expect("websocket connect")
}

impl WsClient {
    /// Sends raw text.
    pub fn send_text(&mut self, text: &str) {
        self.ws.send(Message::Text(text.into())).expect("send");
    }

    /// Sends a JSON object built from pairs (an ActionID is added when missing); returns it.
    pub fn send_action(&mut self, pairs: &[(&str, &str)]) -> String {
        let mut m = Map::new();
        for (k, v) in pairs {
            m.insert((*k).to_string(), Value::String((*v).to_string()));
        }
        let id = match m.get("ActionID").and_then(Value::as_str) {
            Some(id) => id.to_string(),
            None => {
                self.next_id += 1;
                let id = format!("t{}", self.next_id);
                m.insert("ActionID".into(), Value::String(id.clone()));
                id
            }
        };
        self.send_text(&Value::Object(m).to_string());
        id
    }

    /// Receives the next message within `timeout`.
    pub fn recv(&mut self, timeout: Duration) -> Recv {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Recv::Timeout;
            }
            self.ws.get_mut().set_read_timeout(Some(left)).ok();
            match self.ws.read() {
                Ok(Message::Text(t)) => return Recv::Text(t.to_string()),
                Ok(Message::Close(f)) => {
                    // Send tungstenite's queued Close reply, as a polite client does.
                    let _ = self.ws.flush();
                    return Recv::Closed(f.map(|f| (u16::from(f.code), f.reason.to_string())));
                }
                Ok(_) => continue,
                Err(tungstenite::Error::Io(e))
                    if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
                {
                    return Recv::Timeout;
                }
                Err(_) => return Recv::Closed(None),
            }
        }
    }

    /// The next JSON message within `timeout`, or None.
    pub fn recv_json(&mut self, timeout: Duration) -> Option<Value> {
        match self.recv(timeout) {
            Recv::Text(t) => Some(serde_json::from_str(&t).expect("server sent invalid JSON")),
            _ => None,
        }
    }

    /// Messages until one satisfies `pred` (returned) or the deadline passes (None).
    pub fn wait_for(&mut self, timeout: Duration, pred: impl Fn(&Value) -> bool) -> Option<Value> {
        let deadline = Instant::now() + timeout;
        while let Some(v) = self.recv_json(deadline.saturating_duration_since(Instant::now())) {
            if pred(&v) {
                return Some(v);
            }
        }
        None
    }

    /// The response carrying ActionID `id` (other messages are skipped).
    pub fn response(&mut self, id: &str, timeout: Duration) -> Option<Value> {
        self.wait_for(timeout, |v| v.get("ActionID").and_then(Value::as_str) == Some(id))
    }

    /// The response (a message with a `Response` key) carrying ActionID `id`; other messages,
    /// events with that ActionID included (UserEvent copies it into its event), are skipped.
    pub fn reply(&mut self, id: &str, timeout: Duration) -> Option<Value> {
        self.wait_for(timeout, |v| {
            v.get("Response").is_some() && v.get("ActionID").and_then(Value::as_str) == Some(id)
        })
    }

    /// Sends a JSON value as one text message.
    pub fn send_json(&mut self, v: &Value) {
        self.send_text(&v.to_string());
    }

    /// The next text message (any content) within `timeout`, or None.
    pub fn recv_text(&mut self, timeout: Duration) -> Option<String> {
        match self.recv(timeout) {
            Recv::Text(t) => Some(t),
            _ => None,
        }
    }

    /// Plain login; returns the response.
    pub fn login(&mut self, user: &str, secret: &str) -> Value {
        let id = self.send_action(&[("Action", "Login"), ("Username", user), ("Secret", secret)]);
        self.response(&id, Duration::from_secs(10)).expect("no login response")
    }

    /// The close code the server sends next (skipping other messages), within `timeout`.
    pub fn close_code(&mut self, timeout: Duration) -> Option<u16> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.recv(deadline.saturating_duration_since(Instant::now())) {
                Recv::Text(_) => continue,
                Recv::Closed(c) => return c.map(|(code, _)| code),
                Recv::Timeout => return None,
            }
        }
    }

    /// Closes politely.
    pub fn close(mut self) {
        let _ = self.ws.close(Some(tungstenite::protocol::CloseFrame {
            code: CloseCode::Normal,
            reason: "".into(),
        }));
        let _ = self.ws.flush();
    }
}

/// The `WsSeq` of an event message, if it has one.
pub fn seq(v: &Value) -> Option<u64> {
    v.get("WsSeq").and_then(Value::as_str).and_then(|s| s.parse().ok())
}

impl WsClient {
    /// The next `n` messages that carry a `WsSeq` (others are skipped); stops early on timeout.
    pub fn events(&mut self, n: usize, timeout: Duration) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        let mut out = Vec::new();
        while out.len() < n {
            match self.recv_json(deadline.saturating_duration_since(Instant::now())) {
                Some(v) if seq(&v).is_some() => out.push(v),
                Some(_) => {}
                None => break,
            }
        }
        out
    }

    /// The next message that carries a `WsSeq`, skipping others, within `timeout`.
    pub fn next_event(&mut self, timeout: Duration) -> Option<Value> {
        self.wait_for(timeout, |v| seq(v).is_some())
    }

    /// Raises `UserEvent: <name>` with extra headers through this (logged-in) client and waits
    /// for the action's response.
    pub fn user_event(&mut self, name: &str, extra: &[(&str, &str)]) {
        let mut pairs = vec![("Action", "UserEvent"), ("UserEvent", name)];
        pairs.extend_from_slice(extra);
        let id = self.send_action(&pairs);
        // The event itself carries the ActionID too (and may come first): wait for the Response.
        let r = self
            .wait_for(Duration::from_secs(10), |v| {
                v.get("Response").is_some() && field(v, "ActionID") == id
            })
            .expect("no UserEvent response");
        assert_eq!(field(&r, "Response"), "Success", "UserEvent: {r}");
    }
}

/// `ws show status`: the "Events in" counter (events appended to the ring since load).
pub fn events_in(s: &super::StandIn) -> u64 {
    let out = s.rx("ws show status");
    out.lines()
        .find_map(|l| l.strip_prefix("Events in:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no 'Events in' in: {out}"))
}

/// Waits until `ws show clients` counts `n` clients; false if it still does not after `timeout`.
pub fn wait_clients(s: &super::StandIn, n: usize, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if clients(s).1 == n {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One row of `ws show clients`.
#[derive(Debug, Clone)]
pub struct Row {
    /// Connection id.
    pub id: u64,
    /// Remote address (ip:port).
    pub peer: String,
    /// User or "-".
    pub user: String,
    /// Subprotocol.
    pub proto: String,
    /// Events sent.
    pub sent: u64,
    /// Bytes queued.
    pub queued: u64,
    /// Events lost.
    pub lost: u64,
}

/// `ws show clients` parsed: the rows and the "N client(s)" count.
pub fn clients(s: &super::StandIn) -> (Vec<Row>, usize) {
    let out = s.rx("ws show clients");
    let mut rows = Vec::new();
    let mut count = None;
    for line in out.lines().skip(1) {
        if let Some(n) = line.strip_suffix(" client(s)") {
            count = n.trim().parse().ok();
            continue;
        }
        // ID Address User Date Time Proto TLS Sent Queued Lost
        let w: Vec<&str> = line.split_whitespace().collect();
        if w.len() != 10 {
            continue;
        }
        let num = |i: usize| w[i].parse::<u64>().unwrap_or_else(|_| panic!("bad row: {line}"));
        rows.push(Row {
            id: num(0),
            peer: w[1].to_string(),
            user: w[2].to_string(),
            proto: w[5].to_string(),
            sent: num(7),
            queued: num(8),
            lost: num(9),
        });
    }
    (rows, count.unwrap_or_else(|| panic!("no client count in: {out}")))
}

/// A string field of a JSON message.
pub fn field<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

/// The `Name: value` lines of one AMI text message (`ami-text` subprotocol), in order.
pub fn ami_fields(text: &str) -> Vec<(String, String)> {
    text.split("\r\n")
        .filter_map(|l| l.split_once(": ").map(|(n, v)| (n.to_string(), v.to_string())))
        .collect()
}

/// The first value of header `name` in AMI text ("" when absent).
pub fn ami_field(text: &str, name: &str) -> String {
    ami_fields(text)
        .into_iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
        .unwrap_or_default()
}
