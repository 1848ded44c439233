//! One WebSocket client's AMI side: decoding its messages, the AMI session (login, Events,
//! Filter, ...), its cursor into the event ring, and encoding what it is sent.
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use tungstenite::Utf8Bytes;

use super::conn::Counters;
use super::upgrade::Encoding;
use crate::actions::pool::Job;
use crate::ami::accounts::ManagerConf;
use crate::ami::json::{action_from_json, message_to_json, text_action_parse};
use crate::ami::login::LoginRateLimiter;
use crate::ami::message::Message;
use crate::ami::security::{self, Md5Attempt, Origin};
use crate::ami::session::{AuthOutcome, Env, Session, fully_booted_event};
use crate::ami::validate::{Limits, validate_action};
use crate::events::encode::ami_to_text;
use crate::events::event::Event;
use crate::events::ring::EventLog;

/// Login header (our extension): resume the event stream after this sequence number.
pub const RESUME_HEADER: &str = "WsResumeAfter";
/// Event name of our lost-events notice.
pub const LOST_EVENT: &str = "WsEventsLost";

/// What the loop must do after a client message.
pub enum Outcome {
    /// Send this frame.
    Reply(Utf8Bytes),
    /// The client logged in as this account (lower-case name).
    LoggedIn(String),
    /// Run this action on an action thread.
    Run(Job),
    /// Close the connection with this code and reason after sending what is queued.
    Close(u16, &'static str),
}

/// A client message waiting for its turn.
pub enum Pending {
    /// A decoded action.
    Action(Message),
    /// A message that could not be accepted: its error reply, sent in its turn.
    Refused(Outcome),
}

/// What one message handler needs from the loop.
pub struct Ctx<'a> {
    /// Accounts in force.
    pub accounts: &'a ManagerConf,
    /// The event ring (for the cursor at login).
    pub log: &'a EventLog,
    /// Failed-login limiter shared by every connection.
    pub limiter: &'a mut LoginRateLimiter,
    /// Logged-in sessions per account (lower-case name).
    pub online: &'a HashMap<String, usize>,
    /// Now.
    pub now: Instant,
}

/// A client's AMI state.
pub struct Client {
    peer: SocketAddr,
    encoding: Encoding,
    session: Session,
    limits: Limits,
    /// Next event sequence number this client needs.
    pub cursor: u64,
    /// Counters for the CLI.
    pub counters: Counters,
    /// Events lost (inclusive range) not yet reported to the client.
    pub pending_lost: Option<(u64, u64)>,
    /// Messages read but not yet answered, oldest first: each waits for the one before it (AMI
    /// answers one session's actions in order). Its length is what flow control bounds.
    pub deferred: std::collections::VecDeque<Pending>,
    /// Frames held back until a time (AMI delays the answer to a failed login), then close?
    held: Option<(Instant, Vec<Utf8Bytes>, bool)>,
    /// Who logged in on this connection; kept after Logoff (the session forgets it then).
    login: Option<LoginRecord>,
    /// Addresses, transport and session id for security events (shared with its actions).
    origin: Arc<Origin>,
    /// Failed login attempts on this connection (for the metrics).
    pub auth_failures: u64,
}

/// What the connection must remember of its login for its end.
struct LoginRecord {
    username: String,
    account_key: String,
    display_connects: bool,
}

impl Client {
    /// A client that just completed the WebSocket handshake.
    pub fn new(peer: SocketAddr, encoding: Encoding) -> Self {
        Client {
            peer,
            encoding,
            session: Session::new(peer.ip(), Instant::now()),
            limits: Limits::default(),
            cursor: u64::MAX,
            counters: Counters::default(),
            pending_lost: None,
            deferred: Default::default(),
            held: None,
            login: None,
            origin: Arc::new(Origin::new(peer)),
            auth_failures: 0,
        }
    }

    /// Where this connection arrived (our listening address), whether over TLS, and its id
    /// (the session id of its security events).
    pub fn set_origin(&mut self, conn_id: u64, local: SocketAddr, tls: bool) {
        let origin = Arc::make_mut(&mut self.origin);
        origin.session_id = conn_id.to_string();
        origin.local = local;
        origin.tls = tls;
    }

    /// Whether login succeeded.
    pub fn logged_in(&self) -> bool {
        self.session.logged_in().is_some()
    }

    /// The logged-in user name as typed.
    pub fn user(&self) -> Option<&str> {
        self.session.logged_in().map(|l| l.username.as_str())
    }

    /// The account (manager.conf section), lower-case, for the online-users count: set at
    /// login and kept after Logoff, so the connection's end is always counted.
    pub fn account_key(&self) -> Option<String> {
        self.login.as_ref().map(|l| l.account_key.clone())
    }

    /// Applies new read/write classes from a reload to the logged-in session.
    pub fn set_classes(&mut self, read: u32, write: u32) {
        self.session.set_classes(read, write);
    }

    /// Whether this connection logged in at some point (it may have logged off since).
    pub fn has_logged_in(&self) -> bool {
        self.login.is_some()
    }

    /// Whether events should flow to this client now.
    pub fn receives_events(&self) -> bool {
        self.logged_in() && self.cursor != u64::MAX
    }

    /// AMI's decision for one event (read classes, Events mask, eventfilters).
    pub fn wants(&self, ev: &Event) -> bool {
        self.session.wants_event(ev.category(), ev.name(), ev.body_str())
    }

    /// The frame for an event in this client's encoding (shared bytes, no copy).
    pub fn frame_for(&self, ev: &Event) -> Utf8Bytes {
        match self.encoding {
            Encoding::Json => ev.json_frame(),
            Encoding::Text => ev.text_frame(),
        }
    }

    /// Encodes one AMI message (a response or list event) for this client.
    pub fn encode_reply(&self, m: &Message) -> Utf8Bytes {
        match self.encoding {
            Encoding::Json => Utf8Bytes::from(message_to_json(m)),
            Encoding::Text => Utf8Bytes::from(ami_to_text(m.to_ami_text().as_bytes(), &[])),
        }
    }

    /// The documented notice for events this client lost (inclusive range).
    pub fn lost_notice(&self, first: u64, last: u64) -> Utf8Bytes {
        let mut m = Message::default();
        m.push("Event", LOST_EVENT);
        m.push("FirstLost", first.to_string());
        m.push("LastLost", last.to_string());
        m.push("Count", (last - first + 1).to_string());
        self.encode_reply(&m)
    }

    /// Decodes and validates one text message; `Err` is the error to send back (naming the
    /// problem, with the request's ActionID when it can be read).
    pub fn decode(&self, text: &str) -> Result<Message, Outcome> {
        let parsed = match self.encoding {
            Encoding::Json => action_from_json(text, &self.limits),
            Encoding::Text => text_action_parse(text, &self.limits),
        };
        parsed.and_then(|m| validate_action(&m, &self.limits).map(|()| m)).map_err(|e| {
            let id = match self.encoding {
                Encoding::Json => best_effort_action_id(text),
                Encoding::Text => text_action_id(text),
            };
            // Unreadable as an action (no Action, bad JSON or header): a bad request, as
            // manager.c reports a message without Action.
            self.report_bad_format();
            self.error_outcome(id, &e.to_string())
        })
    }

    /// Whether the session answers `msg` itself (on the loop) rather than an action thread.
    pub fn answered_here(&self, msg: &Message) -> bool {
        if !self.logged_in() {
            return true;
        }
        let action = msg.action().unwrap_or_default();
        ["Login", "Challenge", "Logoff", "Events", "Filter", "WaitEvent"]
            .iter()
            .any(|a| action.eq_ignore_ascii_case(a))
    }

    /// Handles one decoded message from the client.
    pub fn handle(&mut self, mut msg: Message, ctx: &mut Ctx<'_>) -> Vec<Outcome> {
        #[cfg(feature = "test-panic-injection")]
        if msg.action().is_some_and(|a| a.eq_ignore_ascii_case("WsTestPanic")) {
            // Test builds only: proves a panic while handling one connection ends only that one.
            panic!("injected test panic (feature test-panic-injection)");
        }
        if self.held.is_some() {
            // A failed login is pending its delayed answer and close; ignore further input.
            return Vec::new();
        }
        let resume = take_header(&mut msg, RESUME_HEADER);
        let was_logged_in = self.logged_in();
        self.report_request(&msg);
        let sent_key = msg.header("Key").to_owned();
        let online = ctx.online;
        let in_use = |name: &str| online.get(&name.to_ascii_lowercase()).is_some_and(|n| *n > 0);
        let mut env = Env {
            conf: ctx.accounts,
            now: ctx.now,
            limiter: Some(&mut *ctx.limiter),
            logged_in_elsewhere: &in_use,
            // ListCommands never reaches the session (see above), so it needs no list.
            commands: &[],
        };
        // ListCommands needs Asterisk's action list: answered on an action thread.
        let on_worker = was_logged_in && !self.answered_here(&msg);
        let handled = if on_worker { None } else { self.session.handle(&msg.headers, &mut env) };
        let Some(reply) = handled else {
            // A logged-in action the session does not answer itself: run it off the loop.
            let Some(l) = self.session.logged_in() else {
                return vec![
                    self.error_outcome(msg.action_id().map(str::to_string), "Permission denied"),
                ];
            };
            return vec![Outcome::Run(Job {
                conn_id: 0,
                write: l.write,
                user: l.username.clone(),
                action: msg,
                origin: Arc::clone(&self.origin),
            })];
        };
        let mut out = Vec::new();
        if let (Some(refused), Some(user)) = (reply.refused, self.user()) {
            let e = security::for_refused_request(refused, msg.action().unwrap_or_default(), user);
            crate::host::security::report(&self.origin, &e);
        }
        if let Some(auth) = &reply.auth {
            self.log_auth(auth, ctx.accounts, sent_key);
            self.auth_failures += u64::from(matches!(auth, AuthOutcome::Failure { .. }));
        }
        let frames: Vec<Utf8Bytes> = reply
            .messages
            .iter()
            .map(|h| self.encode_reply(&Message { headers: h.clone() }))
            .collect();
        if !reply.delay.is_zero() {
            self.held = Some((ctx.now + reply.delay, frames, reply.close));
            return out;
        }
        out.extend(frames.into_iter().map(Outcome::Reply));
        if let (false, Some(l)) = (was_logged_in, self.session.logged_in()) {
            self.login = Some(LoginRecord {
                username: l.username.clone(),
                account_key: l.account.to_ascii_lowercase(),
                display_connects: l.display_connects,
            });
            self.cursor = self.start_cursor(resume.as_deref(), ctx.log);
            if let Some(key) = self.account_key() {
                out.push(Outcome::LoggedIn(key));
            }
            if reply.fully_booted {
                let (uptime, reload) = crate::host::core::uptime_and_last_reload();
                let booted = Message { headers: fully_booted_event(uptime, reload) };
                out.push(Outcome::Reply(self.encode_reply(&booted)));
            }
        }
        if reply.close {
            out.push(Outcome::Close(1000, "logged off"));
        }
        out
    }

    /// Frames whose hold time has come (failed login), and whether to close afterwards.
    pub fn take_due(&mut self, now: Instant) -> Option<(Vec<Utf8Bytes>, bool)> {
        match &self.held {
            Some((due, _, _)) if now >= *due => self.held.take().map(|(_, f, c)| (f, c)),
            _ => None,
        }
    }

    /// Called when the connection ends.
    pub fn on_disconnect(&mut self) {
        if let Some(l) = &self.login {
            if l.display_connects {
                crate::ast_verb!(
                    2,
                    "Manager '{}' logged off from {} (WebSocket)",
                    l.username,
                    self.peer.ip()
                );
            }
        }
    }

    fn start_cursor(&self, resume: Option<&str>, log: &EventLog) -> u64 {
        let next = log.next_seq();
        match resume.and_then(|r| r.trim().parse::<u64>().ok()) {
            // Everything after `after` that is still in the ring; read() reports what is gone.
            Some(after) if after < next => after + 1,
            _ => next,
        }
    }

    /// Security events for requests AMI reports in `process_message` before routing them: no
    /// Action (any time), or an action other than Login/Challenge/Logoff before login. Refusals
    /// of logged-in actions are reported where they are decided (the session's `refused`, and
    /// `actions::execute` on the action thread).
    fn report_request(&self, msg: &Message) {
        let action = Some(msg.header("Action")).filter(|a| !a.is_empty());
        match (self.session.logged_in(), action) {
            (_, None) => self.report_bad_format(),
            (None, Some(a)) => {
                if let Some(e) = security::for_pre_login_request(Some(a)) {
                    crate::host::security::report(&self.origin, &e);
                }
            }
            (Some(_), Some(_)) => {}
        }
    }

    /// RequestBadFormat (`Action: NONE`) for this session, with its user once logged in.
    fn report_bad_format(&self) {
        if let Some(e) = security::for_pre_login_request(None) {
            let account = self.user().unwrap_or_default().to_owned();
            crate::host::security::report(&self.origin, &security::Event { account, ..e });
        }
    }

    fn log_auth(&self, auth: &AuthOutcome, conf: &ManagerConf, sent_key: String) {
        if let AuthOutcome::Success { username, .. } = auth {
            let shown = self.session.logged_in().is_some_and(|l| l.display_connects);
            if shown {
                crate::ast_verb!(
                    2,
                    "Manager '{username}' logged on from {} (WebSocket)",
                    self.peer.ip()
                );
            }
        }
        let md5 = self.md5_attempt(auth, conf, sent_key);
        let report = security::for_auth(auth, self.peer.ip(), &md5);
        crate::host::security::log_report(&report);
        if let Some(e) = &report.event {
            crate::host::security::report(&self.origin, e);
        }
    }

    /// The challenge, the Key sent and the Key expected of a failed MD5 login (what manager.c's
    /// ChallengeResponseFailed event carries).
    fn md5_attempt(&self, auth: &AuthOutcome, conf: &ManagerConf, key: String) -> Md5Attempt {
        let challenge = self.session.current_challenge().unwrap_or_default().to_owned();
        let AuthOutcome::Failure { username, .. } = auth else {
            return Md5Attempt { challenge, ..Md5Attempt::default() };
        };
        let expected = conf
            .account(username)
            .and_then(|a| a.secret.as_ref())
            .map(|s| crate::ami::login::md5_key(&challenge, s.expose()))
            .unwrap_or_default();
        Md5Attempt { challenge, key, expected }
    }

    fn error_outcome(&self, action_id: Option<String>, text: &str) -> Outcome {
        let mut m = Message::default();
        m.push("Response", "Error");
        if let Some(id) = action_id {
            m.push("ActionID", id);
        }
        m.push("Message", text);
        Outcome::Reply(self.encode_reply(&m))
    }
}

/// The ActionID of an ami-text message we could not accept, when it is readable and harmless.
fn text_action_id(text: &str) -> Option<String> {
    let id = text.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.trim().eq_ignore_ascii_case("ActionID").then(|| value.trim().to_string())
    })?;
    let ok = id.len() <= 128 && !id.chars().any(|c| c.is_control());
    ok.then_some(id)
}

/// Removes a header from a message and returns its (first) value.
fn take_header(msg: &mut Message, name: &str) -> Option<String> {
    let pos = msg.headers.iter().position(|(k, _)| k.eq_ignore_ascii_case(name))?;
    Some(msg.headers.remove(pos).1)
}

/// The ActionID of a message we could not accept, when it is recoverable and harmless, so the
/// client can match the error to its request.
fn best_effort_action_id(text: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    let id = v.get("ActionID")?.as_str()?;
    let ok = id.len() <= 128 && !id.chars().any(|c| c.is_control());
    ok.then(|| id.to_string())
}
