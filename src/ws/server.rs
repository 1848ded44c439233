//! The network loop: one mio thread owning the listener and every connection. It accepts,
//! reads request heads, upgrades, reads client messages, pumps events from the ring to each
//! client's cursor, routes action replies, and enforces every deadline and limit.
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token};
use tungstenite::Message;
use tungstenite::protocol::WebSocketConfig;

use super::client::{Client, Ctx, Outcome};
use super::conn::{Conn, Ended, Phase, WsConn, close_code_for};
use super::http::{self, HeadError, MAX_HEAD};
use super::shared::{ClientRow, Command, Shared, Snapshot, Status};
use super::stream::{interrupted, would_block};
use super::tls::TlsStream;
use super::transport::Transport;
use super::upgrade::{Decision, OriginPolicy, decide};
use crate::actions::pool::{ActionPool, Done, error_reply};
use crate::ami::accounts::ManagerConf;
use crate::ami::login::{LoginRateLimiter, RateLimitConfig};
use crate::ami::message::Message as AmiMessage;
use crate::settings::{Settings, SlowClientPolicy};

/// Token of the listening socket.
pub const LISTENER: Token = Token(0);
/// Token of the waker.
pub const WAKER: Token = Token(1);
/// Close code we use when a client lost events and the policy is to disconnect.
pub const CLOSE_EVENTS_LOST: u16 = 4001;
/// Close code for `ws kick`.
pub const CLOSE_KICKED: u16 = 4002;
/// Accept failures (EMFILE) are logged at most this often.
const ACCEPT_WARN_EVERY: Duration = Duration::from_secs(60);
/// How long a peer has to read our Close and answer before the connection is dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(10);
/// Events read from the ring per batch.
const BATCH: usize = 512;
/// Bytes handed to one client per pump before giving others a turn.
const PUMP_BYTES: usize = 256 * 1024;

/// Everything the loop owns.
pub struct Server {
    poll: Poll,
    listener: TcpListener,
    shared: Arc<Shared>,
    settings: Settings,
    tls: Option<Arc<rustls::ServerConfig>>,
    accounts: Arc<ManagerConf>,
    actions: ActionPool,
    conns: HashMap<Token, Conn>,
    next_token: usize,
    next_id: u64,
    per_ip: HashMap<IpAddr, usize>,
    unauthenticated: usize,
    accept_paused_until: Option<Instant>,
    /// When the last accept failure was logged (they are logged at most once a minute).
    accept_warned: Option<Instant>,
    status: Status,
    page: &'static [u8],
    limiter: LoginRateLimiter,
    recent: super::recent::RecentEvents,
    online: HashMap<String, usize>,
    /// Some client stopped at its fair share with events left: poll without waiting.
    more_work: bool,
    /// The ring's oldest sequence number at the start of this loop pass.
    ring_first: u64,
}

impl Server {
    /// A loop around a bound listener; `poll` already has the waker registered.
    pub fn new(
        poll: Poll,
        mut listener: TcpListener,
        shared: Arc<Shared>,
        settings: Settings,
        tls: Option<Arc<rustls::ServerConfig>>,
        accounts: Arc<ManagerConf>,
        actions: ActionPool,
    ) -> io::Result<Self> {
        poll.registry().register(&mut listener, LISTENER, Interest::READABLE)?;
        let listening = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
        Ok(Server {
            poll,
            listener,
            shared,
            settings,
            tls,
            accounts,
            actions,
            conns: HashMap::new(),
            next_token: 2,
            next_id: 1,
            per_ip: HashMap::new(),
            unauthenticated: 0,
            accept_paused_until: None,
            accept_warned: None,
            status: Status { listening, ..Status::default() },
            page: super::page::INDEX_HTML,
            limiter: LoginRateLimiter::new(RateLimitConfig::default()),
            recent: Default::default(),
            online: HashMap::new(),
            more_work: false,
            ring_first: 0,
        })
    }

    /// Runs until the stop flag is set, then closes every client with 1001.
    pub fn run(mut self) {
        let mut events = Events::with_capacity(1024);
        loop {
            if self.shared.stop.load(Ordering::Acquire) {
                break;
            }
            let timeout = self.next_timeout();
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if !interrupted(&e) {
                    crate::ast_error!("ws loop: poll failed: {e}");
                    std::thread::sleep(Duration::from_millis(50));
                }
                continue;
            }
            // Re-arm the ring's wake before draining it: the ring wakes the loop only once until
            // this is taken, so without it events would wait for the next poll timeout.
            self.shared.log.take_wake();
            self.ring_first = self.shared.log.first_seq();
            self.more_work = false;
            for ev in events.iter() {
                match ev.token() {
                    LISTENER => self.accept_all(),
                    WAKER => {}
                    t => self.on_ready(t),
                }
            }
            if self.accept_paused_until.is_some_and(|t| Instant::now() >= t) {
                // The backlog gives no new readiness edge: retry on the timer.
                self.accept_all();
            }
            self.run_commands();
            self.route_replies();
            self.pump_all();
            self.check_deadlines();
            if let Some(generation) = self.shared.snapshot_wanted() {
                self.shared.publish(generation, self.snapshot());
            }
        }
        self.close_all(1001, "server shutting down");
        self.actions.shutdown();
    }

    fn next_timeout(&self) -> Duration {
        // Deadlines are checked at least every 250 ms; precise enough for second-scale limits.
        if self.more_work {
            Duration::ZERO
        } else if self.accept_paused_until.is_some() {
            Duration::from_millis(50)
        } else {
            Duration::from_millis(250)
        }
    }

    fn ws_config(&self) -> WebSocketConfig {
        let write_buffer = 64 * 1024;
        WebSocketConfig::default()
            .read_buffer_size(8 * 1024)
            .write_buffer_size(write_buffer)
            // Validated at load: max_queued_bytes >= 64 KiB, so this is always > write_buffer
            // (tungstenite panics otherwise).
            .max_write_buffer_size(self.settings.max_queued_bytes.max(write_buffer + 1))
            .max_message_size(Some(self.settings.max_message_size))
            .max_frame_size(Some(self.settings.max_frame_size))
            .accept_unmasked_frames(false)
    }

    fn accept_all(&mut self) {
        if self.accept_paused_until.is_some_and(|t| Instant::now() < t) {
            return;
        }
        self.accept_paused_until = None;
        loop {
            match self.listener.accept() {
                Ok((sock, peer)) => self.admit(sock, peer),
                Err(e) if would_block(&e) => return,
                Err(e) if interrupted(&e) => continue,
                Err(e) => {
                    // EMFILE/ENFILE and friends: the backlog stays, and edge-triggered mio will
                    // not tell us again, so retry on a timer instead of spinning.
                    let now = Instant::now();
                    if self.accept_warned.is_none_or(|t| now.duration_since(t) >= ACCEPT_WARN_EVERY)
                    {
                        self.accept_warned = Some(now);
                        crate::ast_warning!(
                            "ws: accept failed ({e}); retrying every 100 ms (warned at most \
                             once a minute)"
                        );
                    }
                    self.accept_paused_until = Some(now + Duration::from_millis(100));
                    return;
                }
            }
        }
    }

    fn admit(&mut self, mut sock: mio::net::TcpStream, peer: SocketAddr) {
        let ip = peer.ip();
        let from_ip = self.per_ip.get(&ip).copied().unwrap_or(0);
        let reason = if self.conns.len() >= self.settings.max_clients {
            Some("503 too many clients")
        } else if from_ip >= self.settings.max_clients_per_ip {
            Some("503 too many clients from this address")
        } else if self.unauthenticated >= self.accounts.general.authlimit as usize {
            Some("503 too many unauthenticated clients")
        } else {
            None
        };
        if let Some(reason) = reason {
            self.status.refused += 1;
            use std::io::Write;
            let _ = sock.write(&http::simple_response(503, "Service Unavailable", &[]));
            crate::ast_debug!(1, "ws: refused {peer}: {reason}");
            return;
        }
        let _ = sock.set_nodelay(true);
        let token = Token(self.next_token);
        self.next_token += 1;
        if let Err(e) =
            self.poll.registry().register(&mut sock, token, Interest::READABLE | Interest::WRITABLE)
        {
            crate::ast_warning!("ws: cannot watch {peer}: {e}");
            return;
        }
        let transport = match &self.tls {
            None => Transport::Plain(sock),
            Some(config) => match TlsStream::new(Arc::clone(config), sock) {
                Ok(t) => Transport::Tls(Box::new(t)),
                Err(e) => {
                    // Dropping the stream closes it (and removes it from the poll set).
                    crate::ast_warning!("ws: TLS session for {peer} failed to start: {e}");
                    return;
                }
            },
        };
        let id = self.next_id;
        self.next_id += 1;
        *self.per_ip.entry(ip).or_insert(0) += 1;
        self.unauthenticated += 1;
        self.status.accepted += 1;
        let deadline = Instant::now() + self.settings.handshake_timeout;
        self.conns.insert(token, Conn::new(id, peer, transport, deadline));
        self.on_ready(token);
    }

    fn on_ready(&mut self, token: Token) {
        let Some(mut conn) = self.conns.remove(&token) else { return };
        let ended = crate::guard::catch(|| self.drive(&mut conn)).unwrap_or(Ended::Yes);
        if ended == Ended::Yes || matches!(conn.phase, Phase::Done) {
            self.forget(conn);
        } else {
            self.conns.insert(token, conn);
        }
    }

    /// Advances one connection as far as its socket allows.
    fn drive(&mut self, conn: &mut Conn) -> Ended {
        match &mut conn.phase {
            Phase::Head(_) => self.drive_head(conn),
            Phase::Answer { .. } => conn.write_answer(),
            Phase::Ws(_) => self.drive_ws(conn),
            Phase::Done => Ended::Yes,
        }
    }

    fn drive_head(&mut self, conn: &mut Conn) -> Ended {
        if conn.read_head(MAX_HEAD + 1).is_err() {
            return Ended::Yes;
        }
        let Phase::Head(buf) = &conn.phase else { return Ended::Yes };
        let parsed = http::parse_head(buf);
        let (head, used) = match parsed {
            Ok(None) => return Ended::No,
            Ok(Some(x)) => x,
            Err(HeadError::TooLarge) => {
                return conn.answer(http::simple_response(
                    431,
                    "Request Header Fields Too Large",
                    &[],
                ));
            }
            Err(HeadError::Malformed) => {
                return conn.answer(http::simple_response(400, "Bad Request", &[]));
            }
        };
        let leftover = buf[used..].to_vec();
        let policy = OriginPolicy {
            allowed: &self.settings.allowed_origins,
            allow_missing: self.settings.allow_missing_origin,
            tls: self.tls.is_some(),
        };
        match decide(&head, &policy) {
            Decision::Serve(_) => {
                conn.answer(http::ok_response("text/html; charset=utf-8", self.page))
            }
            Decision::Refuse(status, reason) => {
                let extra: &[(&str, &str)] =
                    if status == 426 { &[("Sec-WebSocket-Version", "13")] } else { &[] };
                crate::ast_debug!(1, "ws: {} refused: {status} {reason}", conn.peer);
                conn.answer(http::simple_response(status, reason, extra))
            }
            Decision::Upgrade { accept_key, subprotocol, encoding } => {
                let answer = http::switching_protocols(&accept_key, subprotocol);
                // The 101 answer is small; a fresh socket takes it whole. If not, give up.
                let Some(sock) = conn.socket.as_mut() else { return Ended::Yes };
                use std::io::Write;
                if !matches!(sock.write(&answer), Ok(n) if n == answer.len()) {
                    return Ended::Yes;
                }
                let login_deadline = Instant::now() + self.accounts.general.authtimeout;
                conn.deadline = Some(login_deadline);
                let client = Client::new(conn.peer, encoding);
                if conn.into_websocket(leftover, self.ws_config(), encoding, client).is_err() {
                    return Ended::Yes;
                }
                self.drive_ws(conn)
            }
        }
    }

    fn drive_ws(&mut self, conn: &mut Conn) -> Ended {
        let id = conn.id;
        let peer = conn.peer;
        let Phase::Ws(w) = &mut conn.phase else { return Ended::Yes };
        // Read every complete message (edge-triggered: until WouldBlock).
        loop {
            match w.ws.read() {
                Ok(msg) => {
                    w.last_heard = Instant::now();
                    w.ping_sent = None;
                    if self.on_message(id, peer, w, msg) == Ended::Yes {
                        let _ = w.flush();
                        return Ended::Yes;
                    }
                }
                Err(tungstenite::Error::Io(e)) if would_block(&e) => break,
                Err(tungstenite::Error::Io(e)) if interrupted(&e) => continue,
                Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => {
                    return Ended::Yes;
                }
                Err(tungstenite::Error::Io(_)) => return Ended::Yes,
                Err(e) => {
                    let (code, reason) = close_code_for(&e);
                    crate::ast_debug!(1, "ws: client {id} ({peer}): {e}; closing with {code}");
                    w.abort_with(code, reason);
                    return Ended::Yes;
                }
            }
        }
        if w.drain_backlog().is_err() {
            return Ended::Yes;
        }
        if w.flush().is_err() {
            return Ended::Yes;
        }
        if w.closing && w.flushed && !w.ws.can_write() {
            // Our Close went out and the peer's was read (tungstenite then reports closed).
            return Ended::No;
        }
        self.pump(id, w);
        Ended::No
    }

    /// Handles one message from the client.
    fn on_message(&mut self, id: u64, peer: SocketAddr, w: &mut WsConn, msg: Message) -> Ended {
        let now = Instant::now();
        match msg {
            Message::Ping(_) | Message::Pong(_) => {
                if window_exceeded(&mut w.control_frames, now, 20) {
                    w.start_close(1008, "too many control frames");
                }
                Ended::No
            }
            Message::Close(_) => Ended::No,
            Message::Frame(_) => Ended::No,
            Message::Binary(_) => {
                w.start_close(1003, "binary messages are not accepted");
                Ended::No
            }
            Message::Text(text) => {
                if w.closing {
                    return Ended::No;
                }
                if window_exceeded(&mut w.messages, now, self.settings.messages_per_second) {
                    w.start_close(1008, "message rate limit exceeded");
                    return Ended::No;
                }
                match w.client.decode(text.as_str()) {
                    Ok(msg) => self.dispatch(id, peer, w, msg),
                    Err(error) => self.apply(id, peer, w, vec![error]),
                }
            }
        }
    }

    /// Handles a decoded message now, or queues it behind this client's running action: AMI
    /// answers one session's actions in order, so nothing may overtake an earlier action.
    fn dispatch(&mut self, id: u64, peer: SocketAddr, w: &mut WsConn, msg: AmiMessage) -> Ended {
        let running = self.actions.in_flight_for(id);
        if !w.client.deferred.is_empty() || (running > 0 && w.client.answered_here(&msg)) {
            if w.client.deferred.len() + running >= self.settings.max_actions_per_client {
                let refusal = error_reply(&msg, "Too many actions in progress for this client");
                let frame = w.client.encode_reply(&refusal);
                return self.apply(id, peer, w, vec![Outcome::Reply(frame)]);
            }
            w.client.deferred.push_back(msg);
            return Ended::No;
        }
        self.handle(id, peer, w, msg)
    }

    fn handle(&mut self, id: u64, peer: SocketAddr, w: &mut WsConn, msg: AmiMessage) -> Ended {
        let mut ctx = Ctx {
            accounts: &self.accounts,
            log: &self.shared.log,
            limiter: &mut self.limiter,
            online: &self.online,
            now: Instant::now(),
        };
        let outcomes = w.client.handle(msg, &mut ctx);
        self.apply(id, peer, w, outcomes)
    }

    /// Runs the messages that waited for this client's actions, in order, until one has to wait
    /// again.
    fn run_deferred(&mut self, id: u64, peer: SocketAddr, w: &mut WsConn) -> Ended {
        loop {
            let Some(front) = w.client.deferred.front() else { return Ended::No };
            if self.actions.in_flight_for(id) > 0 && w.client.answered_here(front) {
                return Ended::No;
            }
            let Some(msg) = w.client.deferred.pop_front() else { return Ended::No };
            if self.handle(id, peer, w, msg) == Ended::Yes {
                return Ended::Yes;
            }
        }
    }

    fn apply(
        &mut self,
        id: u64,
        _peer: SocketAddr,
        w: &mut WsConn,
        outcomes: Vec<Outcome>,
    ) -> Ended {
        for o in outcomes {
            match o {
                Outcome::Reply(text) => {
                    if w.queue_reply(text).is_err() {
                        return Ended::Yes;
                    }
                }
                Outcome::LoggedIn(account) => {
                    self.unauthenticated = self.unauthenticated.saturating_sub(1);
                    *self.online.entry(account).or_insert(0) += 1;
                }
                Outcome::Run(mut job) => {
                    job.conn_id = id;
                    match self.actions.submit(job) {
                        Ok(()) => self.status.actions += 1,
                        Err(busy) => {
                            let frame = w.client.encode_reply(&busy);
                            if w.queue_reply(frame).is_err() {
                                return Ended::Yes;
                            }
                        }
                    }
                }
                Outcome::Close(code, reason) => {
                    w.start_close(code, reason);
                }
            }
        }
        Ended::No
    }

    /// Counts the events the ring overwrote before this client got them, even while its socket
    /// is blocked (a client that stops reading would otherwise show no loss and, with
    /// `slow_client = disconnect`, never be closed). Report: the range is kept for the notice
    /// sent once the client can take it, and the cursor moves to the oldest event kept.
    fn note_loss(&mut self, w: &mut WsConn, lost: Option<(u64, u64)>) {
        let Some((first, last)) = lost else { return };
        let n = last - first + 1;
        w.client.counters.events_lost += n;
        self.status.lost += n;
        match self.settings.slow_client {
            SlowClientPolicy::Disconnect => w.start_close(CLOSE_EVENTS_LOST, "events lost"),
            SlowClientPolicy::Report => {
                w.client.pending_lost = match w.client.pending_lost {
                    Some((a, _)) => Some((a, last)),
                    None => Some((first, last)),
                };
                w.client.cursor = w.client.cursor.max(last + 1);
            }
        }
    }

    /// The range a client's cursor has fallen out of the ring, if any, as of the start of this
    /// loop pass (one ring lock per pass, not one per client; `read` catches anything newer).
    fn overwritten(&self, w: &WsConn) -> Option<(u64, u64)> {
        let first = self.ring_first;
        (w.client.cursor < first).then(|| (w.client.cursor, first - 1))
    }

    /// Moves events from the ring to one client, as far as its socket allows.
    fn pump(&mut self, id: u64, w: &mut WsConn) {
        if !w.client.receives_events() || w.closing {
            return;
        }
        let lost = self.overwritten(w);
        self.note_loss(w, lost);
        if w.closing || !w.flushed || !w.backlog.is_empty() {
            return;
        }
        let log = Arc::clone(&self.shared.log);
        let mut batch = Vec::with_capacity(BATCH);
        let mut handed = 0usize;
        loop {
            batch.clear();
            let outcome = self.recent.read(&log, w.client.cursor, BATCH, &mut batch);
            self.note_loss(w, outcome.lost);
            if w.closing {
                return;
            }
            if let Some((first, last)) = w.client.pending_lost.take() {
                let notice = w.client.lost_notice(first, last);
                if w.queue_reply(notice).is_err() {
                    return;
                }
                if !w.backlog.is_empty() {
                    // The notice must go before any later event: wait for the socket. The
                    // events read stay in the ring (the cursor has not passed them).
                    let _ = w.flush();
                    return;
                }
            }
            for ev in &batch {
                if ev.origin() == id && self.actions.in_flight_for(id) > 0 {
                    // Raised by this client's running action: AMI sends the action's response
                    // first, so wait here until it is routed (microseconds later).
                    w.client.cursor = ev.seq();
                    let _ = w.flush();
                    return;
                }
                w.client.cursor = ev.seq() + 1;
                if !w.client.wants(ev) {
                    continue;
                }
                let frame = w.client.frame_for(ev);
                handed += frame.len();
                match w.queue(frame) {
                    Ok(true) => {
                        w.client.counters.events_sent += 1;
                        self.status.delivered += 1;
                    }
                    Ok(false) => {
                        // tungstenite's buffer is full: retry this event when the socket drains.
                        w.client.cursor = ev.seq();
                        let _ = w.flush();
                        return;
                    }
                    Err(_) => return,
                }
            }
            w.client.cursor = w.client.cursor.max(outcome.next);
            if batch.is_empty() {
                break;
            }
            if handed >= PUMP_BYTES {
                // Fair share used; come back at once rather than at the next poll timeout.
                self.more_work = true;
                break;
            }
        }
        let _ = w.flush();
    }

    fn pump_all(&mut self) {
        // One fetch of the new events for every up-to-date client (the wake was re-armed at
        // the top of the iteration, so events appended from then on wake us again).
        self.recent.refresh(&self.shared.log);
        let tokens: Vec<Token> = self.conns.keys().copied().collect();
        for t in tokens {
            let Some(mut conn) = self.conns.remove(&t) else { continue };
            if let Phase::Ws(w) = &mut conn.phase {
                let id = conn.id;
                let _ = crate::guard::catch(|| self.pump(id, w));
            }
            self.conns.insert(t, conn);
        }
    }

    fn route_replies(&mut self) {
        for Done { conn_id, frames } in self.actions.take_done() {
            let Some(token) = self.conns.iter().find(|(_, c)| c.id == conn_id).map(|(t, _)| *t)
            else {
                continue;
            };
            let Some(mut conn) = self.conns.remove(&token) else { continue };
            let mut ended = Ended::No;
            let (id, peer) = (conn.id, conn.peer);
            if let Phase::Ws(w) = &mut conn.phase {
                for f in frames {
                    let f = w.client.encode_reply(&f);
                    if w.queue_reply(f).is_err() {
                        ended = Ended::Yes;
                        break;
                    }
                }
                if ended == Ended::No {
                    ended = self.run_deferred(id, peer, w);
                }
                if ended == Ended::No && w.flush().is_err() {
                    ended = Ended::Yes;
                }
            }
            if ended == Ended::Yes {
                self.forget(conn);
            } else {
                self.conns.insert(token, conn);
            }
        }
    }

    fn run_commands(&mut self) {
        for cmd in self.shared.take_commands() {
            match cmd {
                Command::Kick(id) => {
                    if let Some(t) = self.conns.iter().find(|(_, c)| c.id == id).map(|(t, _)| *t) {
                        if let Some(mut conn) = self.conns.remove(&t) {
                            if let Phase::Ws(w) = &mut conn.phase {
                                w.start_close(CLOSE_KICKED, "kicked by administrator");
                            }
                            crate::ast_notice!("ws: client {id} ({}) kicked", conn.peer);
                            self.forget(conn);
                        }
                    }
                }
                Command::Settings(settings, tls, listener) => {
                    if let Some(l) = listener {
                        self.swap_listener(l);
                    }
                    self.settings = *settings;
                    // New connections use the new TLS config; open ones keep their session.
                    self.tls = tls;
                }
                Command::Accounts(accounts) => {
                    self.accounts = accounts;
                }
            }
        }
    }

    fn swap_listener(&mut self, std_listener: std::net::TcpListener) {
        let mut fresh = TcpListener::from_std(std_listener);
        if let Err(e) = self.poll.registry().register(&mut fresh, LISTENER, Interest::READABLE) {
            crate::ast_error!("ws: cannot watch the new listener ({e}); keeping the old one");
            return;
        }
        let _ = self.poll.registry().deregister(&mut self.listener);
        self.listener = fresh;
        self.status.listening =
            self.listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
        crate::ast_notice!("ws: now listening on {}", self.status.listening);
        self.accept_all();
    }

    fn check_deadlines(&mut self) {
        let now = Instant::now();
        let ping_interval = self.settings.ping_interval;
        let pong_timeout = self.settings.pong_timeout;
        let mut expired = Vec::new();
        for (t, conn) in self.conns.iter_mut() {
            let logged_in = matches!(&conn.phase, Phase::Ws(w) if w.client.logged_in());
            let closing = matches!(&conn.phase, Phase::Ws(w) if w.closing);
            if closing {
                // A Close we started (events lost, logoff, ...): a peer that does not read it
                // and answer within the grace period is dropped.
                let grace = now + CLOSE_GRACE;
                conn.deadline = Some(conn.deadline.map_or(grace, |d| d.min(grace)));
            } else if logged_in {
                conn.deadline = None;
            }
            if conn.deadline.is_some_and(|d| now >= d) {
                if let Phase::Ws(w) = &mut conn.phase {
                    if !w.closing {
                        w.start_close(1008, "login timeout");
                        // Give the Close frame a moment to leave, then drop.
                        conn.deadline = Some(now + Duration::from_secs(1));
                        continue;
                    }
                }
                expired.push(*t);
                continue;
            }
            if let Phase::Ws(w) = &mut conn.phase {
                if let Some((frames, close)) = w.client.take_due(now) {
                    for f in frames {
                        let _ = w.queue_reply(f);
                    }
                    if close {
                        w.start_close(1008, "authentication failed");
                    }
                    let _ = w.flush();
                }
                match w.ping_sent {
                    Some(sent) if now.duration_since(sent) >= pong_timeout => {
                        w.abort_with(1001, "ping timeout");
                        expired.push(*t);
                    }
                    None if now.duration_since(w.last_heard) >= ping_interval => {
                        if w.ws.write(Message::Ping(Default::default())).is_ok() {
                            let _ = w.flush();
                        }
                        w.ping_sent = Some(now);
                    }
                    _ => {}
                }
            }
        }
        for t in expired {
            if let Some(conn) = self.conns.remove(&t) {
                self.forget(conn);
            }
        }
    }

    /// One connection from `ip` fewer.
    fn per_ip_release(&mut self, ip: IpAddr) {
        if let Some(n) = self.per_ip.get_mut(&ip) {
            *n -= 1;
            if *n == 0 {
                self.per_ip.remove(&ip);
            }
        }
    }

    /// Drops a connection and its bookkeeping.
    fn forget(&mut self, mut conn: Conn) {
        if let Some(src) = conn.source() {
            let _ = self.poll.registry().deregister(src);
        }
        self.per_ip_release(conn.peer.ip());
        // Counted as unauthenticated until its login; a Logoff does not make it so again.
        let logged_in = matches!(&conn.phase, Phase::Ws(w) if w.client.has_logged_in());
        if !logged_in {
            self.unauthenticated = self.unauthenticated.saturating_sub(1);
        }
        if let Phase::Ws(w) = &mut conn.phase {
            if let Some(key) = w.client.account_key() {
                if let Some(n) = self.online.get_mut(&key) {
                    *n -= 1;
                    if *n == 0 {
                        self.online.remove(&key);
                    }
                }
            }
            w.client.on_disconnect();
        }
        self.actions.forget_client(conn.id);
    }

    fn close_all(&mut self, code: u16, reason: &str) {
        let tokens: Vec<Token> = self.conns.keys().copied().collect();
        for t in tokens {
            if let Some(mut conn) = self.conns.remove(&t) {
                if let Phase::Ws(w) = &mut conn.phase {
                    w.start_close(code, reason);
                    let _ = w.flush();
                }
                self.forget(conn);
            }
        }
    }

    fn snapshot(&self) -> Snapshot {
        let mut clients: Vec<ClientRow> = self
            .conns
            .values()
            .map(|c| {
                let since =
                    c.since.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
                let mut row = ClientRow {
                    id: c.id,
                    peer: c.peer.to_string(),
                    since,
                    proto: "http".into(),
                    ..ClientRow::default()
                };
                if let Phase::Ws(w) = &c.phase {
                    row.tls = w.ws.get_ref().inner.is_tls();
                    row.user = w.client.user().unwrap_or_default().to_string();
                    row.proto = w.encoding.name().into();
                    row.events_sent = w.client.counters.events_sent;
                    row.events_lost = w.client.counters.events_lost;
                    row.queued = w.queued();
                }
                row
            })
            .collect();
        clients.sort_by_key(|r| r.id);
        let mut status = self.status.clone();
        status.connections = self.conns.len();
        status.logged_in = self
            .conns
            .values()
            .filter(|c| matches!(&c.phase, Phase::Ws(w) if w.client.logged_in()))
            .count();
        Snapshot { clients, status }
    }
}

/// Counts one item in a one-second window; true when the count goes over `limit`.
fn window_exceeded(window: &mut (u32, Instant), now: Instant, limit: u32) -> bool {
    if now.duration_since(window.1) >= Duration::from_secs(1) {
        *window = (0, now);
    }
    window.0 += 1;
    window.0 > limit
}
