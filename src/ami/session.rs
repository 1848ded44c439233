//! One client's AMI session: before login, logged in, closed; the actions AMI answers itself.
//!
//! Pure state machine after manager.c (`process_message`, `action_login`, `authenticate`,
//! `action_challenge`, `action_events`, `action_filter`, `action_logoff`, `action_listcommands`,
//! `action_waitevent`):
//! - Before login only Login, Challenge and Logoff are accepted; anything else gets
//!   `Response: Error` / `Message: Permission denied`. A message without `Action` gets
//!   `Missing action in request` in any state.
//! - Login/Challenge naming a user that is logged in elsewhere and has `allowmultiplelogin=no`
//!   get `Login Already In Use` and the session closes.
//! - A failed login answers `Authentication failed` after [`FAILED_LOGIN_DELAY`] and closes the
//!   session, as AMI does. Our [`LoginRateLimiter`] refuses attempts with the same answer.
//! - Once logged in, the session answers Login (`Already authenticated`), Challenge, Logoff,
//!   Events, Filter (needs write `system`), ListCommands and WaitEvent itself; every other
//!   action is for the caller to route ([`Session::handle`] returns `None`).
//! - WaitEvent: AMI holds the reply until an event is queued or `Timeout` passes, then sends
//!   the queued events. Here events are pushed the moment they happen, so there is never
//!   anything to wait for: we answer at once with AMI's `Waiting for Event completed.` and the
//!   `WaitEventComplete` event.
#![forbid(unsafe_code)]

use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::accounts::{Account, ManagerConf};
use super::accounts::{authority_to_str, flag};
use super::classes::strings_to_mask;
use super::filter::EventFilters;
use super::login::{self, FAILED_LOGIN_DELAY, LoginFailure, LoginRateLimiter, LoginRequest};
use super::security::Refused;

/// An AMI message as ordered (name, value) pairs.
pub type Headers = Vec<(String, String)>;

/// An action the user may be shown by ListCommands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandInfo {
    /// The action name.
    pub name: String,
    /// The write classes it needs (EVENT_FLAG bits; 0 = anyone).
    pub authority: u32,
    /// One-line description.
    pub synopsis: String,
}

/// Everything a step needs from outside the session.
pub struct Env<'a> {
    /// The accounts in force.
    pub conf: &'a ManagerConf,
    /// The time now (for the rate limiter).
    pub now: Instant,
    /// Login failure limiter shared by all sessions, if any.
    pub limiter: Option<&'a mut LoginRateLimiter>,
    /// Whether some session is logged in under this name (ASCII case-insensitive).
    pub logged_in_elsewhere: &'a dyn Fn(&str) -> bool,
    /// Actions known to the system, for ListCommands.
    pub commands: &'a [CommandInfo],
}

/// Why a login did not succeed (for logs and security events).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthFailure {
    /// The credentials check failed.
    Login(LoginFailure),
    /// Refused by the rate limiter for this much longer.
    RateLimited(Duration),
    /// The user is logged in elsewhere and may not log in twice.
    InUse,
}

/// A login attempt's result, for the caller to log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthOutcome {
    /// Logged in under `username` (as typed) to account `account` (the section name).
    Success {
        /// The name as typed in the Login.
        username: String,
        /// The manager.conf section.
        account: String,
    },
    /// Not logged in.
    Failure {
        /// The name as typed (may be empty).
        username: String,
        /// Why.
        reason: AuthFailure,
    },
}

/// What to send back for one client message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reply {
    /// Messages to send in order; the first is the response. May be empty (AMI sends nothing).
    pub messages: Vec<Headers>,
    /// Close the session after sending.
    pub close: bool,
    /// Hold the messages back this long before sending (AMI's delay on failed logins).
    pub delay: Duration,
    /// After the response, send a `FullyBooted` event if Asterisk is fully booted
    /// (see [`fully_booted_event`]).
    pub fully_booted: bool,
    /// Set for Login (and refused Login/Challenge) attempts.
    pub auth: Option<AuthOutcome>,
    /// Set when a logged-in action was refused as manager.c's `process_message` refuses it
    /// (Filter without write `system`), for its security event.
    pub refused: Option<Refused>,
}

impl Reply {
    fn one(m: Headers) -> Reply {
        Reply { messages: vec![m], ..Reply::default() }
    }
}

/// A logged-in session's rights and preferences, copied from the account at login. A reload
/// changes only its read/write classes (`Session::set_classes`); the WebSocket loop ends the
/// sessions of removed users and changed secrets or ACLs. AMI over TCP changes nothing.
#[derive(Clone, Debug)]
pub struct LoggedIn {
    /// The user name as typed in the Login.
    pub username: String,
    /// The manager.conf section name.
    pub account: String,
    /// Read classes.
    pub read: u32,
    /// Write classes.
    pub write: u32,
    /// The classes this session receives now: `read` narrowed by the Events action.
    pub send_events: u32,
    /// The user's eventfilters plus any added with the Filter action.
    pub filters: EventFilters,
    /// Log connects and disconnects of this user.
    pub display_connects: bool,
    /// Variables to prepend to Originate.
    pub setvars: Vec<(String, String)>,
    /// When the login succeeded.
    pub since: Instant,
}

/// The session's state.
#[derive(Clone, Debug)]
pub enum State {
    /// Connected, not logged in.
    PreLogin,
    /// Logged in.
    LoggedIn(Box<LoggedIn>),
    /// Finished (Logoff, failed login); nothing more is processed.
    Closed,
}

/// One client's AMI session.
#[derive(Debug)]
pub struct Session {
    state: State,
    remote: IpAddr,
    started: Instant,
    challenge: Option<String>,
}

impl Session {
    /// A new session for a client at `remote`, connected at `now`.
    pub fn new(remote: IpAddr, now: Instant) -> Session {
        Session { state: State::PreLogin, remote, started: now, challenge: None }
    }

    /// The current state.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The logged-in details, if logged in.
    pub fn logged_in(&self) -> Option<&LoggedIn> {
        match &self.state {
            State::LoggedIn(l) => Some(l),
            _ => None,
        }
    }

    /// A reload changed the account's read/write classes: applied at once. Events narrowed
    /// with the Events action stay narrowed (within the new read classes).
    pub fn set_classes(&mut self, read: u32, write: u32) {
        if let State::LoggedIn(s) = &mut self.state {
            s.send_events = if s.send_events == s.read { read } else { s.send_events & read };
            s.read = read;
            s.write = write;
        }
    }

    /// The client's address.
    pub fn remote(&self) -> IpAddr {
        self.remote
    }

    /// The challenge this session handed out (Challenge action), if any.
    pub fn current_challenge(&self) -> Option<&str> {
        self.challenge.as_deref()
    }

    /// When a not-yet-logged-in session must be dropped (`authtimeout` after connecting).
    pub fn auth_deadline(&self, authtimeout: Duration) -> Option<Instant> {
        match self.state {
            State::PreLogin => Some(self.started + authtimeout),
            _ => None,
        }
    }

    /// Handles one message. `None`: a logged-in action this session does not answer itself;
    /// the caller routes it (and checks its write classes).
    pub fn handle(&mut self, msg: &[(String, String)], env: &mut Env<'_>) -> Option<Reply> {
        match self.state {
            State::PreLogin => Some(self.handle_pre_login(msg, env)),
            State::LoggedIn(_) => self.handle_logged_in(msg, env),
            State::Closed => Some(Reply { close: true, ..Reply::default() }),
        }
    }

    /// Handles a message before login: Login, Challenge, Logoff; anything else is refused.
    pub fn handle_pre_login(&mut self, msg: &[(String, String)], env: &mut Env<'_>) -> Reply {
        let Some(action) = action_of(msg) else {
            return Reply::one(error(msg, "Missing action in request"));
        };
        let is = |name: &str| action.eq_ignore_ascii_case(name);
        if !is("Login") && !is("Challenge") && !is("Logoff") {
            return Reply::one(error(msg, "Permission denied"));
        }
        if is("Logoff") {
            return self.logoff(msg);
        }
        let username = header(msg, "Username");
        if !username.is_empty()
            && (env.logged_in_elsewhere)(username)
            && env.conf.account(username).is_some_and(|a| !a.allow_multiple_login)
        {
            self.state = State::Closed;
            return Reply {
                messages: vec![error(msg, "Login Already In Use")],
                close: true,
                delay: FAILED_LOGIN_DELAY,
                auth: Some(AuthOutcome::Failure {
                    username: username.to_owned(),
                    reason: AuthFailure::InUse,
                }),
                ..Reply::default()
            };
        }
        if is("Challenge") { self.challenge(msg) } else { self.login(msg, env) }
    }

    fn login(&mut self, msg: &[(String, String)], env: &mut Env<'_>) -> Reply {
        let req = LoginRequest {
            username: header(msg, "Username"),
            auth_type: header(msg, "AuthType"),
            secret: header(msg, "Secret"),
            key: header(msg, "Key"),
        };
        let user = Some(req.username).filter(|u| !u.is_empty());
        let limited =
            env.limiter.as_deref().and_then(|l| l.check(self.remote, user, env.now).err());
        let result = match limited {
            Some(wait) => Err(AuthFailure::RateLimited(wait)),
            None => login::authenticate(env.conf, &req, self.challenge.as_deref(), self.remote)
                .map_err(AuthFailure::Login),
        };
        match result {
            Ok(account) => {
                if let Some(l) = env.limiter.as_deref_mut() {
                    l.record_success(req.username);
                }
                let logged = self.start(account, req.username, header(msg, "Events"), env.now);
                let fully_booted = logged.send_events & flag::SYSTEM != 0;
                let account = logged.account.clone();
                self.state = State::LoggedIn(Box::new(logged));
                Reply {
                    messages: vec![response(msg, "Success", Some("Authentication accepted"))],
                    fully_booted,
                    auth: Some(AuthOutcome::Success { username: req.username.to_owned(), account }),
                    ..Reply::default()
                }
            }
            Err(reason) => {
                if let (Some(l), AuthFailure::Login(_)) = (env.limiter.as_deref_mut(), &reason) {
                    l.record_failure(self.remote, user, env.now);
                }
                self.state = State::Closed;
                Reply {
                    messages: vec![error(msg, "Authentication failed")],
                    close: true,
                    delay: FAILED_LOGIN_DELAY,
                    auth: Some(AuthOutcome::Failure { username: req.username.to_owned(), reason }),
                    ..Reply::default()
                }
            }
        }
    }

    fn start(&self, a: &Account, username: &str, events: &str, now: Instant) -> LoggedIn {
        // With an Events header the mask narrows read; an invalid one leaves nothing (AMI's
        // session starts with no event classes and only a valid mask sets them).
        let send_events = if events.is_empty() {
            a.read
        } else {
            strings_to_mask(events).map_or(0, |m| a.read & m)
        };
        LoggedIn {
            username: username.to_owned(),
            account: a.username.clone(),
            read: a.read,
            write: a.write,
            send_events,
            filters: a.filters.clone(),
            display_connects: a.display_connects,
            setvars: a.setvars.clone(),
            since: now,
        }
    }

    fn challenge(&mut self, msg: &[(String, String)]) -> Reply {
        if !header(msg, "AuthType").eq_ignore_ascii_case("MD5") {
            return Reply::one(error(msg, "Must specify AuthType"));
        }
        if self.challenge.as_deref().is_none_or(str::is_empty) {
            match login::new_challenge() {
                Ok(c) => self.challenge = Some(c),
                Err(_) => return Reply::one(error(msg, "Unable to create a challenge")),
            }
        }
        let mut m = response(msg, "Success", None);
        m.push(("Challenge".into(), self.challenge.clone().unwrap_or_default()));
        Reply::one(m)
    }

    fn logoff(&mut self, msg: &[(String, String)]) -> Reply {
        self.state = State::Closed;
        Reply {
            messages: vec![response(msg, "Goodbye", Some("Thanks for all the fish."))],
            close: true,
            ..Reply::default()
        }
    }

    /// Handles a message after login; `None` for actions the caller must route.
    pub fn handle_logged_in(&mut self, msg: &[(String, String)], env: &Env<'_>) -> Option<Reply> {
        let Some(action) = action_of(msg) else {
            return Some(Reply::one(error(msg, "Missing action in request")));
        };
        let is = |name: &str| action.eq_ignore_ascii_case(name);
        if is("Logoff") {
            return Some(self.logoff(msg));
        }
        if is("Challenge") {
            return Some(self.challenge(msg));
        }
        let broken_events = env.conf.general.brokeneventsaction;
        let State::LoggedIn(s) = &mut self.state else {
            return None;
        };
        let reply = if is("Login") {
            Reply::one(response(msg, "Success", Some("Already authenticated")))
        } else if is("Events") {
            events_action(s, msg, broken_events)
        } else if is("Filter") {
            // Registered with EVENT_FLAG_SYSTEM: without it, process_message refuses it.
            if s.write & flag::SYSTEM == 0 {
                let denied = error(msg, "Permission denied");
                return Some(Reply { refused: Some(Refused::NotAllowed), ..Reply::one(denied) });
            }
            Reply::one(filter_action(s, msg))
        } else if is("ListCommands") {
            Reply::one(list_commands(s.write, msg, env.commands))
        } else if is("WaitEvent") {
            let mut done = vec![("Event".to_owned(), "WaitEventComplete".to_owned())];
            push_action_id(&mut done, msg);
            let ack = response(msg, "Success", Some("Waiting for Event completed."));
            Reply { messages: vec![ack, done], ..Reply::default() }
        } else {
            return None;
        };
        Some(reply)
    }

    /// Whether this session receives an event: logged in, `(send_events & category) ==
    /// category` (so the session needs every class of the event), and the filters pass it.
    pub fn wants_event(&self, category: u32, name: &str, body: &str) -> bool {
        match &self.state {
            State::LoggedIn(s) => {
                s.send_events & category == category && s.filters.allows(name, body)
            }
            _ => false,
        }
    }
}

/// manager.c `strings_to_mask` for EventMask/Events: empty is -1 (invalid), digits are a
/// number, a false word is 0, a true word is every class, anything else a class list.
fn events_action(s: &mut LoggedIn, msg: &[(String, String)], broken: bool) -> Reply {
    // None: empty or negative (AMI's -1 and below), an invalid mask.
    let mask = strings_to_mask(header(msg, "EventMask"));
    if let Some(m) = mask {
        s.send_events = s.read & m;
    }
    let on_off = |v: &str| {
        let mut m = response(msg, "Success", None);
        m.push(("Events".into(), v.into()));
        Reply::one(m)
    };
    match mask {
        Some(m) if broken && m == flag::ALL => Reply::default(),
        Some(0) => on_off("Off"),
        Some(_) => on_off("On"),
        None if broken => Reply::default(),
        None => Reply::one(error(msg, "Invalid event mask")),
    }
}

/// action_filter, for a user with write `system` (checked by the caller).
fn filter_action(s: &mut LoggedIn, msg: &[(String, String)]) -> Headers {
    if !header(msg, "Operation").eq_ignore_ascii_case("Add") {
        return error(msg, "Unknown operation");
    }
    match s.filters.add_from_action(header(msg, "MatchCriteria"), header(msg, "Filter")) {
        Ok(()) => response(msg, "Success", Some("Success")),
        Err(e) => error(msg, e.ami_message()),
    }
}

/// ListCommands: the actions whose classes overlap the user's write classes, or need none
/// (manager.c's rule for this list), each as `Name: synopsis (Priv: classes)`.
fn list_commands(write: u32, msg: &[(String, String)], commands: &[CommandInfo]) -> Headers {
    let mut m = response(msg, "Success", None);
    for c in commands.iter().filter(|c| c.authority == 0 || write & c.authority != 0) {
        m.push((
            c.name.clone(),
            format!("{} (Priv: {})", c.synopsis, authority_to_str(c.authority)),
        ));
    }
    m
}

/// The `FullyBooted` event AMI sends after a login that receives system events.
pub fn fully_booted_event(uptime_secs: u64, last_reload_secs: u64) -> Headers {
    vec![
        ("Event".into(), "FullyBooted".into()),
        ("Privilege".into(), authority_to_str(flag::SYSTEM)),
        ("Uptime".into(), uptime_secs.to_string()),
        ("LastReload".into(), last_reload_secs.to_string()),
        ("Status".into(), "Fully Booted".into()),
    ]
}

/// `astman_get_header`: the first header of that name (ASCII case-insensitive), value without
/// leading blanks; "" when absent.
fn header<'m>(msg: &'m [(String, String)], name: &str) -> &'m str {
    msg.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map_or("", |(_, v)| skip_blanks(v))
}

/// The Action: the first non-empty `Action` header.
fn action_of(msg: &[(String, String)]) -> Option<&str> {
    msg.iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("Action"))
        .map(|(_, v)| skip_blanks(v))
        .find(|v| !v.is_empty())
}

fn skip_blanks(v: &str) -> &str {
    v.trim_start_matches(|c: char| (c as u32) < 33)
}

fn push_action_id(m: &mut Headers, msg: &[(String, String)]) {
    let id = header(msg, "ActionID");
    if !id.is_empty() {
        m.push(("ActionID".into(), id.into()));
    }
}

/// `Response: <resp>`, `ActionID` when the request had one, `Message` when given.
fn response(msg: &[(String, String)], resp: &str, message: Option<&str>) -> Headers {
    let mut m = vec![("Response".to_owned(), resp.to_owned())];
    push_action_id(&mut m, msg);
    if let Some(text) = message {
        m.push(("Message".into(), text.into()));
    }
    m
}

fn error(msg: &[(String, String)], text: &str) -> Headers {
    response(msg, "Error", Some(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ami::login::{Limit, RateLimitConfig, md5_key};
    use crate::rawconf::{RawConfig, Section};
    use std::collections::HashSet;

    fn msg(pairs: &[(&str, &str)]) -> Headers {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn conf(general: &[(&str, &str)]) -> ManagerConf {
        let sec = |name: &str, e: &[(&str, &str)]| Section {
            name: name.into(),
            entries: e.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        };
        ManagerConf::from_raw(&RawConfig {
            sections: vec![
                sec("general", general),
                sec("admin", &[("secret", "adminpw"), ("read", "all"), ("write", "all")]),
                sec(
                    "caller",
                    &[
                        ("secret", "callerpw"),
                        ("read", "call,dialplan"),
                        ("write", "call"),
                        ("eventfilter", "!Channel: Local/"),
                    ],
                ),
                sec("single", &[("secret", "s"), ("read", "call"), ("allowmultiplelogin", "no")]),
                sec("local", &[("secret", "l"), ("deny", "0.0.0.0/0"), ("permit", "127.0.0.1")]),
            ],
        })
        .unwrap()
    }

    struct World {
        conf: ManagerConf,
        limiter: LoginRateLimiter,
        in_use: HashSet<String>,
        commands: Vec<CommandInfo>,
        now: Instant,
    }

    impl World {
        fn new() -> World {
            World::with(conf(&[]))
        }

        fn with(conf: ManagerConf) -> World {
            let s = Duration::from_secs;
            let limit =
                Limit { max_failures: 3, window: s(60), lockout: s(30), max_lockout: s(60) };
            let cmd = |name: &str, authority, synopsis: &str| CommandInfo {
                name: name.into(),
                authority,
                synopsis: synopsis.into(),
            };
            World {
                conf,
                limiter: LoginRateLimiter::new(RateLimitConfig {
                    per_addr: limit,
                    per_user: limit,
                    max_entries: 64,
                }),
                in_use: HashSet::new(),
                commands: vec![
                    cmd("Ping", 0, "Keepalive command."),
                    cmd("Originate", flag::ORIGINATE, "Originate a call."),
                    cmd(
                        "Status",
                        flag::SYSTEM | flag::CALL | flag::REPORTING,
                        "List channel status.",
                    ),
                    cmd("Command", flag::COMMAND, "Execute Asterisk CLI Command."),
                ],
                now: Instant::now(),
            }
        }

        fn step(&mut self, s: &mut Session, m: &[(&str, &str)]) -> Option<Reply> {
            let in_use = &self.in_use;
            let f = |u: &str| in_use.contains(&u.to_ascii_lowercase());
            let mut env = Env {
                conf: &self.conf,
                now: self.now,
                limiter: Some(&mut self.limiter),
                logged_in_elsewhere: &f,
                commands: &self.commands,
            };
            s.handle(&msg(m), &mut env)
        }

        fn login(&mut self, user: &str, secret: &str, from: &str) -> (Session, Reply) {
            let mut s = Session::new(from.parse().unwrap(), self.now);
            let m =
                [("Action", "Login"), ("Username", user), ("Secret", secret), ("ActionID", "L")];
            let r = self.step(&mut s, &m).unwrap();
            (s, r)
        }
    }

    fn resp(r: &str, id: Option<&str>, message: Option<&str>) -> Headers {
        let mut m = msg(&[("Response", r)]);
        if let Some(id) = id {
            m.push(("ActionID".into(), id.into()));
        }
        if let Some(t) = message {
            m.push(("Message".into(), t.into()));
        }
        m
    }

    #[test]
    fn before_login_only_login_challenge_logoff() {
        let mut w = World::new();
        let cases: &[(&[(&str, &str)], Headers)] = &[
            (
                &[("Action", "Ping"), ("ActionID", "7")],
                resp("Error", Some("7"), Some("Permission denied")),
            ),
            (&[("Action", "Originate")], resp("Error", None, Some("Permission denied"))),
            (
                &[("Action", "Events"), ("EventMask", "on")],
                resp("Error", None, Some("Permission denied")),
            ),
            (&[("Action", "Filter")], resp("Error", None, Some("Permission denied"))),
            (&[("Action", "WaitEvent")], resp("Error", None, Some("Permission denied"))),
            (&[("Action", "ListCommands")], resp("Error", None, Some("Permission denied"))),
            (&[("ActionID", "x")], resp("Error", Some("x"), Some("Missing action in request"))),
            (
                &[("Action", ""), ("ActionID", "y")],
                resp("Error", Some("y"), Some("Missing action in request")),
            ),
            (&[("Action", "Challenge")], resp("Error", None, Some("Must specify AuthType"))),
        ];
        for (m, want) in cases {
            let mut s = Session::new("10.0.0.1".parse().unwrap(), w.now);
            let r = w.step(&mut s, m).unwrap();
            assert_eq!(r.messages, std::slice::from_ref(want), "{m:?}");
            assert!(!r.close && r.auth.is_none());
            assert!(matches!(s.state(), State::PreLogin), "{m:?}");
        }
    }

    #[test]
    fn plain_login_success_and_fully_booted_flag() {
        let mut w = World::new();
        let (s, r) = w.login("Admin", "adminpw", "10.0.0.1");
        assert_eq!(r.messages, [resp("Success", Some("L"), Some("Authentication accepted"))]);
        assert!(r.fully_booted && !r.close && r.delay.is_zero());
        assert_eq!(
            r.auth,
            Some(AuthOutcome::Success { username: "Admin".into(), account: "admin".into() })
        );
        let l = s.logged_in().unwrap();
        assert_eq!((l.username.as_str(), l.read, l.write), ("Admin", flag::ALL, flag::ALL));
        assert_eq!(l.send_events, flag::ALL);

        let (s, r) = w.login("caller", "callerpw", "10.0.0.1");
        assert!(!r.fully_booted, "no system read, no FullyBooted");
        assert_eq!(s.logged_in().unwrap().send_events, flag::CALL | flag::DIALPLAN);
    }

    #[test]
    fn wrong_secret_and_unknown_user_look_the_same() {
        let mut w = World::new();
        let (s1, wrong) = w.login("admin", "nope", "10.0.0.1");
        let (s2, unknown) = w.login("nobody", "nope", "10.0.0.2");
        let (s3, acl) = w.login("local", "l", "10.0.0.3");
        for (s, r) in [(&s1, &wrong), (&s2, &unknown), (&s3, &acl)] {
            assert_eq!(r.messages, [resp("Error", Some("L"), Some("Authentication failed"))]);
            assert!(r.close && !r.fully_booted);
            assert_eq!(r.delay, FAILED_LOGIN_DELAY);
            assert!(matches!(s.state(), State::Closed));
        }
        let reason = |r: &Reply| match &r.auth {
            Some(AuthOutcome::Failure { reason, .. }) => reason.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(reason(&wrong), AuthFailure::Login(LoginFailure::BadCredentials));
        assert_eq!(reason(&unknown), AuthFailure::Login(LoginFailure::UnknownUser));
        assert_eq!(reason(&acl), AuthFailure::Login(LoginFailure::AclDenied));
        // A closed session processes nothing more.
        let mut s1 = s1;
        let r =
            w.step(&mut s1, &[("Action", "Login"), ("Username", "admin"), ("Secret", "adminpw")]);
        assert_eq!(r, Some(Reply { close: true, ..Reply::default() }));
        // The ACL lets the right address in.
        let (s, _) = w.login("local", "l", "127.0.0.1");
        assert!(s.logged_in().is_some());
    }

    #[test]
    fn md5_challenge_login() {
        let mut w = World::new();
        let mut s = Session::new("10.0.0.1".parse().unwrap(), w.now);
        let r = w.step(&mut s, &[("Action", "Challenge"), ("AuthType", "md5"), ("ActionID", "c")]);
        let m = &r.unwrap().messages[0];
        assert_eq!(m[..2], resp("Success", Some("c"), None)[..]);
        let (name, challenge) = &m[2];
        assert_eq!(name, "Challenge");
        assert!(challenge.bytes().all(|b| b.is_ascii_digit()) && !challenge.is_empty());
        // Asking again gives the same challenge.
        let again = w.step(&mut s, &[("Action", "Challenge"), ("AuthType", "MD5")]).unwrap();
        assert_eq!(&again.messages[0][1].1, challenge);
        let key = md5_key(challenge, "adminpw");
        let login =
            [("Action", "Login"), ("AuthType", "MD5"), ("Username", "admin"), ("Key", &key)];
        let r = w.step(&mut s, &login).unwrap();
        assert_eq!(r.messages, [resp("Success", None, Some("Authentication accepted"))]);
        assert!(s.logged_in().is_some());

        // MD5 login without a challenge first fails.
        let mut s = Session::new("10.0.0.2".parse().unwrap(), w.now);
        let r = w.step(&mut s, &login).unwrap();
        assert_eq!(r.messages, [resp("Error", None, Some("Authentication failed"))]);
    }

    #[test]
    fn allowmultiplelogin_no_refuses_a_second_login() {
        let mut w = World::new();
        w.in_use.insert("single".into());
        w.in_use.insert("caller".into());
        let (s, r) = w.login("SINGLE", "s", "10.0.0.1");
        assert_eq!(r.messages, [resp("Error", Some("L"), Some("Login Already In Use"))]);
        assert!(r.close && matches!(s.state(), State::Closed));
        assert!(matches!(r.auth, Some(AuthOutcome::Failure { reason: AuthFailure::InUse, .. })));
        // Challenge naming the user is refused too.
        let mut s = Session::new("10.0.0.1".parse().unwrap(), w.now);
        let r = w
            .step(&mut s, &[("Action", "Challenge"), ("AuthType", "MD5"), ("Username", "single")])
            .unwrap();
        assert_eq!(r.messages, [resp("Error", None, Some("Login Already In Use"))]);
        // Users allowing it log in again; unknown names just fail normally.
        assert!(w.login("caller", "callerpw", "10.0.0.1").0.logged_in().is_some());
        w.in_use.insert("ghost".into());
        let (_, r) = w.login("ghost", "x", "10.0.0.9");
        assert_eq!(r.messages, [resp("Error", Some("L"), Some("Authentication failed"))]);
    }

    #[test]
    fn rate_limiter_refuses_even_the_right_secret() {
        let mut w = World::new();
        for _ in 0..3 {
            let (_, r) = w.login("admin", "bad", "192.0.2.5");
            assert!(matches!(r.auth, Some(AuthOutcome::Failure { .. })));
        }
        let (s, r) = w.login("admin", "adminpw", "192.0.2.5");
        assert_eq!(r.messages, [resp("Error", Some("L"), Some("Authentication failed"))]);
        assert!(s.logged_in().is_none());
        match r.auth {
            Some(AuthOutcome::Failure { reason: AuthFailure::RateLimited(d), .. }) => {
                assert_eq!(d, Duration::from_secs(30))
            }
            other => panic!("{other:?}"),
        }
        // The per-user limit was hit too; once the lockout passes, the right secret works.
        w.now += Duration::from_secs(31);
        assert!(w.login("admin", "adminpw", "192.0.2.5").0.logged_in().is_some());
    }

    #[test]
    fn events_action_table() {
        // (EventMask, expected reply's Events value or error, expected send_events)
        let read = flag::CALL | flag::DIALPLAN;
        let cases: &[(&str, Result<&str, &str>, u32)] = &[
            ("off", Ok("Off"), 0),
            ("on", Ok("On"), read),
            ("call", Ok("On"), flag::CALL),
            ("system", Ok("On"), 0), // mask > 0 says On even when it grants nothing
            ("call,system", Ok("On"), flag::CALL),
            ("dialplan,sys", Ok("On"), flag::DIALPLAN), // the last word must be exact
            ("system,call", Ok("On"), flag::CALL),
            ("2", Ok("On"), flag::CALL),
            ("0", Ok("Off"), 0),
            ("nonsense", Ok("Off"), 0),
            ("", Err("Invalid event mask"), read),
            ("99999999999999999999", Err("Invalid event mask"), read),
        ];
        for (mask, want, send) in cases {
            let mut w = World::new();
            let (mut s, _) = w.login("caller", "callerpw", "10.0.0.1");
            let r = w.step(&mut s, &[("Action", "Events"), ("EventMask", mask), ("ActionID", "e")]);
            let expected = match want {
                Ok(v) => {
                    let mut m = resp("Success", Some("e"), None);
                    m.push(("Events".into(), v.to_string()));
                    m
                }
                Err(e) => resp("Error", Some("e"), Some(e)),
            };
            assert_eq!(r.unwrap().messages, [expected], "{mask:?}");
            assert_eq!(s.logged_in().unwrap().send_events, *send, "{mask:?}");
        }
    }

    #[test]
    fn events_action_broken_mode() {
        let mut w = World::with(conf(&[("brokeneventsaction", "yes")]));
        let (mut s, _) = w.login("admin", "adminpw", "10.0.0.1");
        for (mask, answered) in [("on", false), ("", false), ("call", true), ("off", true)] {
            let r = w.step(&mut s, &[("Action", "Events"), ("EventMask", mask)]).unwrap();
            assert_eq!(!r.messages.is_empty(), answered, "{mask:?}");
        }
    }

    #[test]
    fn login_events_header_sets_the_mask() {
        let cases: &[(&str, u32, bool)] = &[
            ("off", 0, false),
            ("call", flag::CALL, false),
            ("system,call", flag::SYSTEM | flag::CALL, true),
            ("on", flag::ALL, true),
        ];
        for (events, send, booted) in cases {
            let mut w = World::new();
            let mut s = Session::new("10.0.0.1".parse().unwrap(), w.now);
            let m = [
                ("Action", "Login"),
                ("Username", "admin"),
                ("Secret", "adminpw"),
                ("Events", events),
            ];
            let r = w.step(&mut s, &m).unwrap();
            assert_eq!(r.fully_booted, *booted, "{events}");
            assert_eq!(s.logged_in().unwrap().send_events, *send, "{events}");
        }
    }

    #[test]
    fn filter_action() {
        let mut w = World::new();
        let (mut caller, _) = w.login("caller", "callerpw", "10.0.0.1");
        let add = [("Action", "Filter"), ("Operation", "Add"), ("Filter", "Event: Hangup")];
        let r = w.step(&mut caller, &add).unwrap();
        assert_eq!(r.messages, [resp("Error", None, Some("Permission denied"))], "needs system");
        assert_eq!(r.refused, Some(Refused::NotAllowed), "reported as process_message does");

        let (mut s, _) = w.login("admin", "adminpw", "10.0.0.1");
        let hangup = "Event: Hangup\r\nChannel: PJSIP/a-1\r\n\r\n";
        let newchan = "Event: Newchannel\r\nChannel: PJSIP/a-1\r\n\r\n";
        assert!(s.wants_event(flag::CALL, "Newchannel", newchan));
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("Operation", "Add"), ("Filter", "Event: Hangup")], "Success"),
            (&[("Operation", "add"), ("Filter", "!Channel: Local/")], "Success"),
            (
                &[
                    ("Operation", "Add"),
                    ("MatchCriteria", "name(Foo),method(exact)"),
                    ("Filter", "x"),
                ],
                "Success",
            ),
            (&[("Operation", "Remove"), ("Filter", "x")], "Unknown operation"),
            (&[("Filter", "x")], "Unknown operation"),
            (
                &[("Operation", "Add"), ("Filter", "")],
                "Filter was formatted incorrectly.  Check the syntax of the filter given.",
            ),
            (
                &[("Operation", "Add"), ("Filter", "a(")],
                "Filter did not compile.  Check the syntax of the filter given.",
            ),
        ];
        for (extra, want) in cases {
            let mut m = vec![("Action", "Filter"), ("ActionID", "f")];
            m.extend_from_slice(extra);
            let r = w.step(&mut s, &m).unwrap();
            let kind = if *want == "Success" { "Success" } else { "Error" };
            assert_eq!(r.messages, [resp(kind, Some("f"), Some(want))], "{extra:?}");
            assert_eq!(r.refused, None, "action_filter's own errors report nothing");
        }
        assert_eq!(s.logged_in().unwrap().filters.counts(), (2, 1));
        assert!(s.wants_event(flag::CALL, "Hangup", hangup));
        assert!(!s.wants_event(flag::CALL, "Newchannel", newchan));
        assert!(!s.wants_event(flag::CALL, "Hangup", "Event: Hangup\r\nChannel: Local/x\r\n"));
    }

    #[test]
    fn wants_event_read_rule_and_user_filters() {
        let mut w = World::new();
        let pre = Session::new("10.0.0.1".parse().unwrap(), w.now);
        assert!(!pre.wants_event(0, "Any", "Event: Any\r\n\r\n"));
        let (s, _) = w.login("caller", "callerpw", "10.0.0.1");
        let body = "Event: X\r\nChannel: PJSIP/a\r\n\r\n";
        let cases: &[(u32, bool)] = &[
            (flag::CALL, true),
            (flag::DIALPLAN, true),
            (flag::CALL | flag::DIALPLAN, true),
            (flag::CALL | flag::SYSTEM, false),
            (flag::SYSTEM, false),
            (0, true),
        ];
        for (cat, want) in cases {
            assert_eq!(s.wants_event(*cat, "X", body), *want, "category {cat:#x}");
        }
        // The user's eventfilter from manager.conf applies.
        assert!(!s.wants_event(flag::CALL, "X", "Event: X\r\nChannel: Local/1@c\r\n\r\n"));
    }

    #[test]
    fn logged_in_answers_and_routing() {
        let mut w = World::new();
        let (mut s, _) = w.login("caller", "callerpw", "10.0.0.1");
        let r = w.step(&mut s, &[("Action", "login"), ("ActionID", "2")]).unwrap();
        assert_eq!(r.messages, [resp("Success", Some("2"), Some("Already authenticated"))]);

        for action in ["Ping", "Originate", "Command", "CoreShowChannels", "Status", "GetVar"] {
            assert_eq!(w.step(&mut s, &[("Action", action)]), None, "{action}");
        }
        let r = w.step(&mut s, &[("Action", "WaitEvent"), ("Timeout", "30"), ("ActionID", "w")]);
        assert_eq!(
            r.unwrap().messages,
            [
                resp("Success", Some("w"), Some("Waiting for Event completed.")),
                msg(&[("Event", "WaitEventComplete"), ("ActionID", "w")]),
            ]
        );
        let r = w.step(&mut s, &[("Action", "ListCommands"), ("ActionID", "lc")]).unwrap();
        let mut want = resp("Success", Some("lc"), None);
        want.push(("Ping".into(), "Keepalive command. (Priv: <none>)".into()));
        want.push((
            "Status".into(),
            "List channel status. (Priv: system,call,reporting,all)".into(),
        ));
        assert_eq!(r.messages, [want]);

        let r = w.step(&mut s, &[("Action", "Logoff"), ("ActionID", "bye")]).unwrap();
        assert_eq!(r.messages, [resp("Goodbye", Some("bye"), Some("Thanks for all the fish."))]);
        assert!(r.close && matches!(s.state(), State::Closed));
    }

    #[test]
    fn logoff_before_login() {
        let mut w = World::new();
        let mut s = Session::new("10.0.0.1".parse().unwrap(), w.now);
        let r = w.step(&mut s, &[("Action", "LOGOFF")]).unwrap();
        assert_eq!(r.messages, [resp("Goodbye", None, Some("Thanks for all the fish."))]);
        assert!(r.close);
    }

    #[test]
    fn header_lookup_like_astman_get_header() {
        let m = msg(&[
            ("action", ""),
            ("ACTION", "  Login"),
            ("username", " admin"),
            ("Username", "x"),
        ]);
        assert_eq!(action_of(&m), Some("Login"));
        assert_eq!(header(&m, "UserName"), "admin");
        assert_eq!(header(&m, "Secret"), "");
        let mut w = World::new();
        let mut s = Session::new("10.0.0.1".parse().unwrap(), w.now);
        let r = w.step(
            &mut s,
            &[("action", "LOGIN"), ("USERNAME", "admin"), ("secret", "adminpw"), ("actionid", "9")],
        );
        assert_eq!(
            r.unwrap().messages,
            [resp("Success", Some("9"), Some("Authentication accepted"))]
        );
    }

    #[test]
    fn auth_deadline_only_before_login() {
        let mut w = World::new();
        let t = w.now;
        let s = Session::new("10.0.0.1".parse().unwrap(), t);
        let d = Duration::from_secs(30);
        assert_eq!(s.auth_deadline(d), Some(t + d));
        let (s, _) = w.login("admin", "adminpw", "10.0.0.1");
        assert_eq!(s.auth_deadline(d), None);
    }

    #[test]
    fn session_and_conf_can_move_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Session>();
        assert_send_sync::<ManagerConf>();
        assert_send_sync::<LoginRateLimiter>();
    }

    #[test]
    fn fully_booted_event_headers() {
        assert_eq!(
            fully_booted_event(12, 3),
            msg(&[
                ("Event", "FullyBooted"),
                ("Privilege", "system,all"),
                ("Uptime", "12"),
                ("LastReload", "3"),
                ("Status", "Fully Booted"),
            ])
        );
    }
}
