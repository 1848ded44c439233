//! The publisher thread's work: one connection at a time to a NATS server (round robin over
//! the `url` list, exponential backoff with jitter), a cursor into the event ring like a
//! WebSocket client's, a bounded window of unconfirmed events, and gap notices when the ring
//! overwrote events before they could be published. Nothing here ever waits on Asterisk: the
//! thread only reads the ring, and a down server only makes its cursor fall behind.
#![forbid(unsafe_code)]

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token};
use serde_json::Value;

use super::auth::{Auth, connect_json};
use super::link::Link;
use super::payload::{event_json, gap_json};
use super::proto::{self, ServerOp};
use super::settings::NatsSettings;
use super::subject;
use super::window::Window;
use super::{PubShared, Stats};
use crate::ami::classes;
use crate::events::ring::EventLog;

/// Token of the publisher's waker.
pub const WAKE: Token = Token(0);
const SOCKET: Token = Token(1);
/// From TCP connect to the server's PONG after our CONNECT.
const CONNECT_LIMIT: Duration = Duration::from_secs(5);
/// We PING the server this often; two unanswered PINGs end the connection.
const PING_EVERY: Duration = Duration::from_secs(20);
/// JetStream must acknowledge the oldest event within this, or we reconnect and resend.
const ACK_LIMIT: Duration = Duration::from_secs(10);
/// Output not yet written to the socket that makes us stop reading the ring for a while.
const OUT_HIGH: usize = 1 << 20;
/// Bytes kept from the server before parsing (a control line or an ack is far smaller).
const IN_LIMIT: usize = 2 * proto::MAX_CONTROL_LINE;
/// First reconnect delay.
const BACKOFF_START: Duration = Duration::from_millis(100);
/// Events read from the ring per batch.
const BATCH: usize = 256;

#[derive(PartialEq, Eq, Debug, Clone, Copy)]
enum Phase {
    /// TCP connect under way.
    Connecting,
    /// Waiting for the server's INFO.
    Info,
    /// CONNECT + PING sent; waiting for PONG (or -ERR).
    Handshake,
    /// Publishing.
    Ready,
}

struct Connection {
    link: Link,
    phase: Phase,
    server: usize,
    started: Instant,
    headers: bool,
    /// Bytes of `out` already written.
    out_pos: usize,
    /// Bytes removed from the front of `out` (all written) since the connection started, so
    /// `drained + index` is a position in the connection's whole output stream.
    drained: u64,
    out: Vec<u8>,
    input: Vec<u8>,
    last_ping: Instant,
    pings_unanswered: u32,
}

/// What a session is made from (checked by `Publisher::start`).
pub struct Setup {
    /// The `[nats]` settings.
    pub settings: NatsSettings,
    /// Credentials, read at load.
    pub auth: Auth,
    /// TLS client config when a server needs TLS.
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// System name in subjects and payloads.
    pub system: String,
    /// Instance and first event.
    pub resume: super::Resume,
}

/// Everything the publisher thread owns.
pub struct Session {
    settings: NatsSettings,
    auth: Auth,
    tls: Option<Arc<rustls::ClientConfig>>,
    log: Arc<EventLog>,
    shared: Arc<PubShared>,
    poll: Poll,
    /// The next sequence number to read from the ring.
    cursor: u64,
    window: Window,
    conn: Option<Connection>,
    next_server: usize,
    backoff: Duration,
    retry_at: Instant,
    inbox: String,
    base: String,
    system_json: String,
    msg_id_prefix: String,
    rng: u64,
    stats: Stats,
    warned_rejects: Option<Instant>,
    /// When a failed connect was last logged (at most once a minute while the server is down).
    warned_down: Option<Instant>,
}

impl Session {
    /// A session for `setup`, reading `log`, stopped through `shared`.
    pub fn new(setup: Setup, log: Arc<EventLog>, shared: Arc<PubShared>, poll: Poll) -> Session {
        let Setup { settings, auth, tls, system, resume } = setup;
        let (instance, cursor) = (resume.instance, resume.cursor);
        let system = system.as_str();
        let rng = instance ^ 0x9e37_79b9_7f4a_7c15;
        let inbox = format!("_INBOX.amiws{instance:x}");
        Session {
            base: subject::base(&settings.subject_prefix, system),
            system_json: serde_json::to_string(system).unwrap_or_else(|_| "\"\"".into()),
            msg_id_prefix: format!("{}-{instance:x}-", subject::token(system)),
            settings,
            auth,
            tls,
            log,
            shared,
            poll,
            cursor,
            window: Window::default(),
            conn: None,
            next_server: 0,
            backoff: BACKOFF_START,
            retry_at: Instant::now(),
            inbox,
            rng,
            stats: Stats::default(),
            warned_rejects: None,
            warned_down: None,
        }
    }

    /// Runs until the stop flag is set; then tries briefly to hand what is buffered to the
    /// socket and closes it.
    pub fn run(mut self) {
        let mut events = Events::with_capacity(16);
        while !self.shared.stop.load(Ordering::Acquire) {
            let timeout = self.timeout();
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if e.kind() != io::ErrorKind::Interrupted {
                    crate::ast_error!("nats: poll failed: {e}");
                    std::thread::sleep(Duration::from_millis(50));
                }
                continue;
            }
            if let Err(reason) = self.step() {
                self.drop_connection(&reason);
            }
            self.publish_stats();
        }
        if let Some(mut c) = self.conn.take() {
            let _ = c.link.write_some(&c.out[c.out_pos..]);
            c.link.shutdown();
        }
        let resume = self.resume_point();
        self.shared.cursor.store(resume, Ordering::Release);
        self.publish_stats();
    }

    /// Where a successor should start: the oldest unconfirmed event, else the cursor.
    fn resume_point(&mut self) -> u64 {
        self.window.rewind().map_or(self.cursor, |s| s.min(self.cursor))
    }

    fn timeout(&self) -> Duration {
        let now = Instant::now();
        match &self.conn {
            None => self.retry_at.saturating_duration_since(now),
            // More events wait in the ring and there is room for them: no wake-up will come
            // for those (the loop pokes once per burst), so go on at once.
            Some(c)
                if c.phase == Phase::Ready
                    && self.window.len() < self.settings.max_in_flight
                    && c.out.len() - c.out_pos < OUT_HIGH
                    && self.cursor < self.log.next_seq() =>
            {
                Duration::ZERO
            }
            Some(_) => Duration::from_secs(1),
        }
    }

    fn step(&mut self) -> Result<(), String> {
        let now = Instant::now();
        if self.conn.is_none() {
            if now >= self.retry_at {
                self.connect()?;
            }
            return Ok(());
        }
        self.read_and_handle()?;
        let Some(c) = self.conn.as_mut() else { return Ok(()) };
        if c.phase == Phase::Connecting {
            let sock = c.link.socket();
            if let Ok(Some(e)) | Err(e) = sock.take_error() {
                return Err(format!("connect failed: {e}"));
            }
            if sock.peer_addr().is_ok() {
                c.phase = Phase::Info;
            }
        }
        if c.phase != Phase::Ready && now.duration_since(c.started) > CONNECT_LIMIT {
            return Err("no answer from the server in time".into());
        }
        if c.phase == Phase::Ready {
            if now.duration_since(c.last_ping) >= PING_EVERY {
                if c.pings_unanswered >= 2 {
                    return Err("server stopped answering PING".into());
                }
                c.out.extend_from_slice(b"PING\r\n");
                c.last_ping = now;
                c.pings_unanswered += 1;
            }
            if self.settings.jetstream
                && self.window.oldest_sent_at().is_some_and(|t| now.duration_since(t) > ACK_LIMIT)
            {
                return Err("JetStream did not acknowledge in time".into());
            }
            self.fill(now);
        }
        self.flush()
    }

    fn connect(&mut self) -> Result<(), String> {
        let idx = self.next_server % self.settings.servers.len();
        self.next_server = idx + 1;
        let server = self.settings.servers[idx].clone();
        self.stats.server = server.to_string();
        let addr: SocketAddr = (server.host.as_str(), server.port)
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve {server}: {e}"))?
            .next()
            .ok_or_else(|| format!("cannot resolve {server}"))?;
        let mut sock =
            mio::net::TcpStream::connect(addr).map_err(|e| format!("connect to {server}: {e}"))?;
        self.poll
            .registry()
            .register(&mut sock, SOCKET, Interest::READABLE | Interest::WRITABLE)
            .map_err(|e| format!("register: {e}"))?;
        let _ = sock.set_nodelay(true);
        let now = Instant::now();
        self.conn = Some(Connection {
            link: Link::Plain(sock),
            phase: Phase::Connecting,
            server: idx,
            started: now,
            headers: false,
            out_pos: 0,
            drained: 0,
            out: Vec::new(),
            input: Vec::new(),
            last_ping: now,
            pings_unanswered: 0,
        });
        Ok(())
    }

    /// Ends the connection; the next try waits for the backoff. Unconfirmed events will be
    /// sent again from the oldest.
    fn drop_connection(&mut self, reason: &str) {
        let Some(mut c) = self.conn.take() else {
            self.schedule_retry(reason);
            return;
        };
        let _ = self.poll.registry().deregister(c.link.socket());
        c.link.shutdown();
        if let Some(first) = self.window.rewind() {
            self.cursor = self.cursor.min(first);
        }
        let server = &self.settings.servers[c.server];
        if c.phase == Phase::Ready {
            self.backoff = BACKOFF_START;
            self.warned_down = None;
            crate::ast_warning!("nats: connection to {server} lost: {reason}; reconnecting");
        } else if self.warned_down.is_none_or(|t| t.elapsed() >= Duration::from_secs(60)) {
            self.warned_down = Some(Instant::now());
            crate::ast_warning!("nats: cannot publish to {server}: {reason}; retrying");
        }
        self.schedule_retry(reason);
    }

    fn schedule_retry(&mut self, reason: &str) {
        self.stats.last_error = reason.to_string();
        self.stats.reconnects += 1;
        // xorshift: jitter of +-25% so many PBXs do not reconnect in lockstep.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let base = self.backoff.as_millis() as u64;
        let jitter = if base >= 4 { self.rng % (base / 2) } else { 0 };
        let delay = Duration::from_millis(base - base / 4 + jitter);
        self.retry_at = Instant::now() + delay;
        self.backoff = (self.backoff * 2).min(self.settings.reconnect_max_delay);
    }

    fn read_and_handle(&mut self) -> Result<(), String> {
        let Some(c) = self.conn.as_mut() else { return Ok(()) };
        if c.phase == Phase::Connecting {
            return Ok(());
        }
        let open = c.link.read_available(&mut c.input, IN_LIMIT).map_err(|e| e.to_string())?;
        let mut used = 0;
        loop {
            let Some(c) = self.conn.as_mut() else { return Ok(()) };
            let Some((op, n)) = proto::parse(&c.input[used..]).map_err(|e| e.to_string())? else {
                break;
            };
            used += n;
            self.handle(op)?;
        }
        if let Some(c) = self.conn.as_mut() {
            c.input.drain(..used);
        }
        if !open {
            return Err("server closed the connection".into());
        }
        Ok(())
    }

    fn handle(&mut self, op: ServerOp) -> Result<(), String> {
        let Some(c) = self.conn.as_mut() else { return Ok(()) };
        match op {
            ServerOp::Ping => c.out.extend_from_slice(b"PONG\r\n"),
            ServerOp::Pong => {
                c.pings_unanswered = 0;
                if c.phase == Phase::Handshake {
                    c.phase = Phase::Ready;
                    self.backoff = BACKOFF_START;
                    self.stats.connected = true;
                    crate::ast_notice!(
                        "nats: connected to {}, publishing from event {}",
                        self.settings.servers[c.server],
                        self.cursor
                    );
                }
            }
            ServerOp::Ok => {}
            ServerOp::Err(e) => return Err(format!("server error: {e}")),
            ServerOp::Info(json) if c.phase == Phase::Info => self.on_info(&json)?,
            ServerOp::Info(_) => {}
            ServerOp::Msg { subject, headers, payload } => {
                self.on_ack(&subject, &headers, &payload)
            }
        }
        Ok(())
    }

    fn on_info(&mut self, json: &str) -> Result<(), String> {
        let info: Value =
            serde_json::from_str(json).map_err(|e| format!("bad INFO from server: {e}"))?;
        let Some(mut c) = self.conn.take() else { return Ok(()) };
        let server = self.settings.servers[c.server].clone();
        let wants_tls =
            server.tls || info.get("tls_required").and_then(Value::as_bool) == Some(true);
        if wants_tls {
            let Some(config) = self.tls.clone() else {
                return Err(format!("{server} requires TLS: set tls_ca_file and use tls://"));
            };
            c.link = c.link.start_tls(config, &server.host).map_err(|e| e.to_string())?;
        }
        c.headers = info.get("headers").and_then(Value::as_bool) == Some(true);
        if self.settings.jetstream && !c.headers {
            return Err(format!("{server} does not support headers (NATS 2.2 or later needed)"));
        }
        let name = format!("res_ami_websocket {}", self.system_json.trim_matches('"'));
        let connect = connect_json(&self.auth, &server, &info, wants_tls, &name);
        c.out.extend_from_slice(b"CONNECT ");
        c.out.extend_from_slice(connect.as_bytes());
        c.out.extend_from_slice(b"\r\n");
        if self.settings.jetstream {
            c.out.extend_from_slice(format!("SUB {}.* 1\r\n", self.inbox).as_bytes());
        }
        c.out.extend_from_slice(b"PING\r\n");
        c.phase = Phase::Handshake;
        self.conn = Some(c);
        Ok(())
    }

    /// A JetStream acknowledgement on our inbox: `{"stream":..,"seq":..}`, an error object, or
    /// a 503 status (no stream captures the subject).
    fn on_ack(&mut self, subject: &str, headers: &[u8], payload: &[u8]) {
        let Some(seq) = subject
            .strip_prefix(self.inbox.as_str())
            .and_then(|t| t.strip_prefix('.'))
            .and_then(|t| t.parse::<u64>().ok())
        else {
            return;
        };
        let status = proto::status_of(headers);
        let ok = status.is_none()
            && serde_json::from_slice::<Value>(payload)
                .is_ok_and(|v| v.get("error").is_none() && v.get("seq").is_some());
        if !ok {
            self.stats.rejected += 1;
            let quiet = self.warned_rejects.is_some_and(|t| t.elapsed() < Duration::from_secs(60));
            if !quiet {
                self.warned_rejects = Some(Instant::now());
                let why = match status {
                    Some(503) => "no JetStream stream captures its subject".to_string(),
                    _ => String::from_utf8_lossy(payload).chars().take(200).collect(),
                };
                crate::ast_warning!("nats: JetStream did not store event {seq}: {why}");
            }
        }
        let n = self.window.acked(seq);
        self.stats.confirmed += n as u64;
    }

    /// Moves events from the ring into the output, as far as the window and buffer allow.
    fn fill(&mut self, now: Instant) {
        let Some(c) = self.conn.as_mut() else { return };
        let mut batch = Vec::with_capacity(BATCH);
        while self.window.len() < self.settings.max_in_flight && c.out.len() - c.out_pos < OUT_HIGH
        {
            batch.clear();
            let room = (self.settings.max_in_flight - self.window.len()).min(BATCH);
            let outcome = self.log.read(self.cursor, room, &mut batch);
            if let Some((first, last)) = outcome.lost {
                // Announced once the server is reachable again, in the stream itself.
                self.stats.lost += last - first + 1;
                let subject = format!("{}ws.WsEventsLost", self.base);
                let body = gap_json(first, last, &self.system_json);
                let id = format!("{}gap{first}", self.msg_id_prefix);
                let reply = if self.settings.jetstream {
                    format!("{}.gap", self.inbox)
                } else {
                    String::new()
                };
                proto::push_hpub(&mut c.out, &subject, &reply, &id, &body);
                crate::ast_warning!(
                    "nats: events {first}-{last} were overwritten in the ring before they could \
                     be published"
                );
            }
            self.cursor = outcome.next;
            if batch.is_empty() {
                break;
            }
            for ev in &batch {
                if !classes::event_visible(self.settings.classes, ev.category()) {
                    continue;
                }
                let subject = subject::for_event(&self.base, ev.category(), ev.name());
                let payload = event_json(ev, &self.system_json);
                let id = format!("{}{}", self.msg_id_prefix, ev.seq());
                if self.settings.jetstream {
                    let reply = format!("{}.{}", self.inbox, ev.seq());
                    proto::push_hpub(&mut c.out, &subject, &reply, &id, &payload);
                } else if c.headers {
                    proto::push_hpub(&mut c.out, &subject, "", &id, &payload);
                } else {
                    proto::push_pub(&mut c.out, &subject, "", &payload);
                }
                self.window.push(ev.seq(), c.drained + c.out.len() as u64, now);
                self.stats.published += 1;
            }
        }
    }

    /// Writes what the socket takes; in core NATS mode, events fully written are confirmed.
    fn flush(&mut self) -> Result<(), String> {
        let Some(c) = self.conn.as_mut() else { return Ok(()) };
        if matches!(c.phase, Phase::Connecting | Phase::Info) {
            return Ok(());
        }
        let n = c.link.write_some(&c.out[c.out_pos..]).map_err(|e| e.to_string())?;
        c.out_pos += n;
        if c.out_pos == c.out.len() || c.out_pos > OUT_HIGH {
            c.drained += c.out_pos as u64;
            c.out.drain(..c.out_pos);
            c.out_pos = 0;
        }
        if !self.settings.jetstream {
            let done = self.window.written(c.drained + c.out_pos as u64);
            self.stats.confirmed += done as u64;
        }
        Ok(())
    }

    fn publish_stats(&mut self) {
        let ready = self.conn.as_ref().is_some_and(|c| c.phase == Phase::Ready);
        self.stats.connected = ready;
        self.stats.in_flight = self.window.len() as u64;
        self.stats.cursor = self.cursor;
        if let Some(c) = &self.conn {
            self.stats.server = self.settings.servers[c.server].to_string();
        }
        *self.shared.stats.lock().unwrap_or_else(|e| e.into_inner()) = self.stats.clone();
    }
}
