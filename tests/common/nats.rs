//! A real `nats-server` (Debian's package) started by a test on a free loopback port, and a
//! small blocking NATS client for the test side: subscribe, request, and JetStream's stream,
//! consumer and fetch API (`$JS.API.*`, plain request/reply on the core protocol).

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use res_ami_websocket::nats::proto::{self, ServerOp};
use serde_json::{Value, json};

use super::{free_port, temp_dir};

/// A running nats-server; killed on drop.
pub struct NatsServer {
    child: Option<Child>,
    /// Client port on 127.0.0.1.
    pub port: u16,
    /// Its directory (config, JetStream store, log).
    pub dir: PathBuf,
    conf: PathBuf,
}

/// The nats-server binary (installed by scripts/setup-debian.sh).
pub fn server_bin() -> PathBuf {
    for p in ["/usr/sbin/nats-server", "/usr/bin/nats-server"] {
        if std::path::Path::new(p).exists() {
            return p.into();
        }
    }
    panic!("nats-server is not installed (scripts/setup-debian.sh installs Debian's package)");
}

impl NatsServer {
    /// Starts a server with JetStream on (store under its directory); `extra` is appended to
    /// its config file (authorization, tls, ...).
    pub fn start(extra: &str) -> NatsServer {
        let dir = temp_dir("nats");
        let port = free_port();
        let conf = dir.join("nats.conf");
        let store = dir.join("js");
        std::fs::write(
            &conf,
            format!(
                "listen: 127.0.0.1:{port}\nhttp: 0\njetstream {{ store_dir: \"{}\" }}\n{extra}\n",
                store.display()
            ),
        )
        .expect("write nats.conf");
        let mut s = NatsServer { child: None, port, dir, conf };
        s.spawn();
        s
    }

    fn spawn(&mut self) {
        let log = std::fs::File::create(self.dir.join("server.log")).expect("log file");
        let child = Command::new(server_bin())
            .arg("-c")
            .arg(&self.conf)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn nats-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "nats-server did not listen:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The server's log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    /// Kills the server (SIGKILL: no goodbye to clients).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Stops the server as an admin's restart does (SIGTERM: it closes clients and syncs
    /// JetStream state) and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill").arg("-TERM").arg(c.id().to_string()).status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while c.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port with the same JetStream store.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One message received.
#[derive(Debug, Clone)]
pub struct Msg {
    /// Subject.
    pub subject: String,
    /// Subscription it arrived on.
    pub sid: u64,
    /// Reply subject, if any.
    pub reply: String,
    /// Headers block.
    pub headers: Vec<u8>,
    /// Payload.
    pub payload: Vec<u8>,
}

impl Msg {
    /// The payload as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.payload)
            .unwrap_or_else(|e| panic!("payload of {} is not JSON: {e}", self.subject))
    }

    /// The header status code (e.g. 404 when a fetch finds no messages).
    pub fn status(&self) -> Option<u16> {
        proto::status_of(&self.headers)
    }
}

/// A blocking test client.
pub struct NatsClient {
    sock: TcpStream,
    buf: Vec<u8>,
    /// Bytes of `buf` already parsed (compacted when it grows large).
    pos: usize,
    next_sid: u64,
    inbox_n: u64,
}

impl NatsClient {
    /// Connects (with optional extra CONNECT fields) and waits for the PONG.
    pub fn connect(port: u16, extra: Value) -> NatsClient {
        NatsClient::connect_with(port, |_| extra)
    }

    /// Connects with extra CONNECT fields made from the server's INFO (a signed nonce) and
    /// waits for the PONG.
    pub fn connect_with(port: u16, extra: impl FnOnce(&Value) -> Value) -> NatsClient {
        let sock = TcpStream::connect(("127.0.0.1", port)).expect("connect to nats-server");
        let mut c = NatsClient { sock, buf: Vec::new(), pos: 0, next_sid: 1, inbox_n: 0 };
        let info = match c.op(Duration::from_secs(5)) {
            Some(ServerOp::Info(info)) => serde_json::from_str(&info).expect("INFO is JSON"),
            other => panic!("expected INFO, got {other:?}"),
        };
        let extra = extra(&info);
        let mut connect = json!({"verbose": false, "headers": true, "no_responders": true});
        if let (Some(m), Some(e)) = (connect.as_object_mut(), extra.as_object()) {
            m.extend(e.clone());
        }
        c.send(format!("CONNECT {connect}\r\nPING\r\n").as_bytes());
        loop {
            match c.op(Duration::from_secs(5)) {
                Some(ServerOp::Pong) => break,
                Some(ServerOp::Err(e)) => panic!("CONNECT refused: {e}"),
                Some(_) => {}
                None => panic!("no PONG after CONNECT"),
            }
        }
        c
    }

    fn send(&mut self, bytes: &[u8]) {
        self.sock.write_all(bytes).expect("write to nats-server");
    }

    /// Subscribes; returns the sid.
    pub fn sub(&mut self, subject: &str) -> u64 {
        let sid = self.next_sid;
        self.next_sid += 1;
        self.send(format!("SUB {subject} {sid}\r\n").as_bytes());
        sid
    }

    /// Makes sure the server has processed everything sent so far.
    pub fn flush(&mut self) {
        self.send(b"PING\r\n");
        while !matches!(self.op(Duration::from_secs(5)), Some(ServerOp::Pong) | None) {}
    }

    /// Publishes.
    pub fn publish(&mut self, subject: &str, reply: &str, payload: &[u8]) {
        let mut out = Vec::new();
        proto::push_pub(&mut out, subject, reply, payload);
        self.send(&out);
    }

    /// A fresh inbox subject.
    pub fn inbox(&mut self) -> String {
        self.inbox_n += 1;
        format!("_INBOX.test{}.{}", std::process::id(), self.inbox_n)
    }

    /// The next server operation within `timeout` (answers PING itself).
    fn op(&mut self, timeout: Duration) -> Option<ServerOp> {
        self.op_with_reply(timeout).map(|(op, _)| op)
    }

    /// The next server operation and, for a message, its reply subject.
    fn op_with_reply(&mut self, timeout: Duration) -> Option<(ServerOp, Option<(u64, String)>)> {
        let deadline = Instant::now() + timeout;
        loop {
            match proto::parse(&self.buf[self.pos..]).expect("server protocol") {
                Some((ServerOp::Ping, n)) => {
                    self.pos += n;
                    self.send(b"PONG\r\n");
                    continue;
                }
                Some((op, n)) => {
                    let reply = reply_of(&self.buf[self.pos..]);
                    self.pos += n;
                    return Some((op, reply));
                }
                None => {
                    self.buf.drain(..self.pos);
                    self.pos = 0;
                }
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            self.sock.set_read_timeout(Some(left.max(Duration::from_millis(1)))).ok()?;
            let mut chunk = [0u8; 65536];
            match self.sock.read(&mut chunk) {
                Ok(0) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(_) => return None,
            }
        }
    }

    /// The next message within `timeout` (the reply subject is kept from the control line).
    pub fn next_msg(&mut self, timeout: Duration) -> Option<Msg> {
        loop {
            match self.op_with_reply(timeout)? {
                (ServerOp::Msg { subject, headers, payload }, control) => {
                    let (sid, reply) = control.unwrap_or_default();
                    return Some(Msg { subject, sid, reply, headers, payload });
                }
                (ServerOp::Err(e), _) => panic!("server error: {e}"),
                _ => {}
            }
        }
    }

    /// Sends a request and waits for one reply.
    pub fn request(&mut self, subject: &str, payload: &[u8], timeout: Duration) -> Msg {
        let inbox = self.inbox();
        let sid = self.sub(&inbox);
        self.publish(subject, &inbox, payload);
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let m = self.next_msg(left).unwrap_or_else(|| panic!("no reply to {subject}"));
            if m.sid == sid {
                self.send(format!("UNSUB {sid}\r\n").as_bytes());
                return m;
            }
        }
    }

    /// Creates (or finds) a JetStream stream over `subjects`.
    pub fn create_stream(&mut self, name: &str, subjects: &[&str]) -> Value {
        let cfg = json!({
            "name": name, "subjects": subjects, "retention": "limits", "storage": "file",
            "max_age": 0, "duplicate_window": 120_000_000_000u64, "discard": "old",
        });
        let m = self.request(
            &format!("$JS.API.STREAM.CREATE.{name}"),
            cfg.to_string().as_bytes(),
            Duration::from_secs(10),
        );
        let v = m.json();
        assert!(v.get("error").is_none(), "stream create failed: {v}");
        v
    }

    /// Stream info (`state.messages`, `state.last_seq`, ...).
    pub fn stream_info(&mut self, name: &str) -> Value {
        self.request(&format!("$JS.API.STREAM.INFO.{name}"), b"", Duration::from_secs(10)).json()
    }

    /// Creates a durable pull consumer delivering everything from the start.
    pub fn create_consumer(&mut self, stream: &str, durable: &str) {
        let cfg = json!({
            "stream_name": stream,
            "config": {"durable_name": durable, "deliver_policy": "all", "ack_policy": "explicit",
                       "max_ack_pending": 100_000},
        });
        let m = self.request(
            &format!("$JS.API.CONSUMER.DURABLE.CREATE.{stream}.{durable}"),
            cfg.to_string().as_bytes(),
            Duration::from_secs(10),
        );
        let v = m.json();
        assert!(v.get("error").is_none(), "consumer create failed: {v}");
    }

    /// Fetches up to `batch` messages from a pull consumer, acknowledging each; stops at the
    /// first status message (no more messages / request expired).
    pub fn fetch(&mut self, stream: &str, durable: &str, batch: usize) -> Vec<Msg> {
        let inbox = self.inbox();
        let sid = self.sub(&inbox);
        let req = json!({"batch": batch, "expires": 1_000_000_000u64});
        self.publish(
            &format!("$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}"),
            &inbox,
            req.to_string().as_bytes(),
        );
        let mut got = Vec::new();
        while got.len() < batch {
            let Some(m) = self.next_msg(Duration::from_secs(3)) else { break };
            if m.sid != sid {
                continue;
            }
            if m.status().is_some() {
                break;
            }
            if !m.reply.is_empty() {
                let ack = m.reply.clone();
                self.publish(&ack, "", b"+ACK");
            }
            got.push(m);
        }
        self.send(format!("UNSUB {sid}\r\n").as_bytes());
        self.flush();
        got
    }
}

/// The sid and reply subject (empty when none) of the MSG/HMSG control line at the start of
/// `buf`.
fn reply_of(buf: &[u8]) -> Option<(u64, String)> {
    let eol = buf.windows(2).position(|w| w == b"\r\n")?;
    let line = std::str::from_utf8(&buf[..eol]).ok()?;
    let words: Vec<&str> = line.split_ascii_whitespace().collect();
    let sizes = match words.first().map(|w| w.to_ascii_uppercase()).as_deref() {
        Some("MSG") => 1,
        Some("HMSG") => 2,
        _ => return None,
    };
    let sid = words.get(2)?.parse().ok()?;
    let reply = if words.len() == 4 + sizes { words[3].to_string() } else { String::new() };
    Some((sid, reply))
}
