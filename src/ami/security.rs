//! What AMI tells the admin's security tooling about a login: the security event manager.c
//! reports for each outcome and the NOTICE lines it logs (which fail2ban's `asterisk` filter reads).
//!
//! Followed from main/manager.c (`authenticate`, `action_login`, `process_message` and the
//! `report_*` functions):
//! - no Username: nothing reported, nothing logged;
//! - unknown user: InvalidAccountID, "`<ip>` tried to authenticate with nonexistent user '`<u>`'";
//! - refused by the user's ACL: FailedACL, "`<ip>` failed to pass IP ACL as '`<u>`'";
//! - MD5 key wrong: ChallengeResponseFailed (challenge, key sent, key expected);
//! - MD5 impossible (no key, no challenge or no secret): a debug line only;
//! - plain secret wrong: InvalidPassword; no secret configured: no event;
//! - every failure above but the first then logs "`<ip>` failed to authenticate as '`<u>`'";
//! - success: SuccessfulAuth (UsingPassword 0, as manager.c leaves it);
//! - Login/Challenge for a user logged in elsewhere without `allowmultiplelogin`: SessionLimit;
//! - before login, an action other than Login/Challenge/Logoff: RequestNotAllowed
//!   (`Action: <name>`); a message without Action: RequestBadFormat (`Action: NONE`);
//! - after login, the same for a message without Action (with the account); an action the
//!   user's write classes do not allow, or one that is known but cannot run (no longer
//!   registered, its module not running): RequestNotAllowed (`Action: <name>`); an unknown
//!   action: RequestBadFormat (`Action: <name>`). Refusals inside an action's own code (Originate
//!   needing `system`, Getvar of SHELL/EVAL) report nothing, as in manager.c.
//!
//! The request type is `Action: <name as sent>`, cut to 63 bytes as manager.c's 64-byte
//! buffer cuts it.
//!
//! `<ip>` is the address alone (`ast_sockaddr_stringify_addr`: IPv4-mapped shown as IPv4, IPv6
//! without brackets). Differences, all documented in the README: the transport is WS or WSS
//! (AMI: TCP or TLS), the module is named (`res_ami_websocket`), the session id is the
//! connection id of `ws show clients`, and the account is the name the client sent even where
//! manager.c's session has none yet (ChallengeResponseFailed, SessionLimit). Our login limiter's
//! refusals (no AMI equivalent) are RequestNotAllowed (`Action: Login`) plus the "failed to
//! authenticate" line, so fail2ban keeps counting them; the module's other refusals of a
//! logged-in action that AMI would run (actions unsafe through the hook, unloading the module
//! from its own action thread) are RequestNotAllowed (`Action: <name>`).
#![forbid(unsafe_code)]

use std::net::{IpAddr, SocketAddr};
use std::time::SystemTime;

use super::login::LoginFailure;
use super::session::{AuthFailure, AuthOutcome};

/// The service name manager.c reports.
pub const SERVICE: &str = "AMI";

/// Where a session's requests come from and arrive, for every event of that session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The connection id (`ws show clients`).
    pub session_id: String,
    /// Our listening address the client reached.
    pub local: SocketAddr,
    /// The client.
    pub remote: SocketAddr,
    /// `wss://` (WSS) rather than `ws://` (WS).
    pub tls: bool,
    /// When the session started (connected).
    pub started: SystemTime,
}

impl Origin {
    /// A session of a client at `remote` that starts now; its id, our address and TLS are
    /// filled in once the connection is registered.
    pub fn new(remote: SocketAddr) -> Self {
        Origin {
            session_id: String::new(),
            local: SocketAddr::from(([0, 0, 0, 0], 0)),
            remote,
            tls: false,
            started: SystemTime::now(),
        }
    }
}

/// The kinds of event the module reports, with their own fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// `AST_SECURITY_EVENT_FAILED_ACL`
    FailedAcl,
    /// `AST_SECURITY_EVENT_INVAL_ACCT_ID`
    InvalidAccountId,
    /// `AST_SECURITY_EVENT_SESSION_LIMIT`
    SessionLimit,
    /// `AST_SECURITY_EVENT_REQ_NOT_ALLOWED` with its request type (`Action: X`).
    RequestNotAllowed(String),
    /// `AST_SECURITY_EVENT_REQ_BAD_FORMAT` with its request type (`Action: NONE`).
    RequestBadFormat(String),
    /// `AST_SECURITY_EVENT_SUCCESSFUL_AUTH`
    SuccessfulAuth,
    /// `AST_SECURITY_EVENT_CHAL_RESP_FAILED`: challenge, response sent, response expected.
    ChallengeResponseFailed {
        /// The session's challenge.
        challenge: String,
        /// The Key the client sent.
        response: String,
        /// The Key that would have been right.
        expected: String,
    },
    /// `AST_SECURITY_EVENT_INVAL_PASSWORD`
    InvalidPassword,
}

/// One event to report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// What happened.
    pub kind: EventKind,
    /// The account (user name as sent; may be empty).
    pub account: String,
}

/// What to report and log for one login outcome.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// The security event, if AMI reports one.
    pub event: Option<Event>,
    /// NOTICE lines, in order.
    pub notices: Vec<String>,
    /// A debug line (level 1), if AMI logs one.
    pub debug: Option<String>,
}

/// The address as `ast_sockaddr_stringify_addr` prints it.
pub fn addr_text(ip: IpAddr) -> String {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(v6.to_string(), |v4| v4.to_string()),
        IpAddr::V4(v4) => v4.to_string(),
    }
}

/// The MD5 details of a failed challenge login, when they are known.
#[derive(Clone, Debug, Default)]
pub struct Md5Attempt {
    /// The session's challenge (empty when it asked for none).
    pub challenge: String,
    /// The Key sent.
    pub key: String,
    /// The Key expected (MD5 of challenge + secret), when the user has a secret.
    pub expected: String,
}

/// The report for a Login (or a refused Login/Challenge) outcome.
pub fn for_auth(outcome: &AuthOutcome, remote: IpAddr, md5: &Md5Attempt) -> Report {
    let ip = addr_text(remote);
    let event = |kind, account: &str| Some(Event { kind, account: account.to_owned() });
    match outcome {
        AuthOutcome::Success { username, .. } => {
            Report { event: event(EventKind::SuccessfulAuth, username), ..Report::default() }
        }
        AuthOutcome::Failure { username: u, reason } => {
            let failed = format!("{ip} failed to authenticate as '{u}'");
            let mut r = Report::default();
            match reason {
                AuthFailure::InUse => {
                    r.event = event(EventKind::SessionLimit, u);
                    return r;
                }
                AuthFailure::RateLimited(wait) => {
                    r.event = event(EventKind::RequestNotAllowed("Action: Login".into()), u);
                    r.notices.push(format!(
                        "{ip} refused for {} s more after repeated failed logins (WebSocket)",
                        wait.as_secs().max(1)
                    ));
                }
                AuthFailure::Login(LoginFailure::MissingUsername) => return r,
                AuthFailure::Login(LoginFailure::UnknownUser) => {
                    r.event = event(EventKind::InvalidAccountId, u);
                    r.notices
                        .push(format!("{ip} tried to authenticate with nonexistent user '{u}'"));
                }
                AuthFailure::Login(LoginFailure::AclDenied) => {
                    r.event = event(EventKind::FailedAcl, u);
                    r.notices.push(format!("{ip} failed to pass IP ACL as '{u}'"));
                }
                AuthFailure::Login(LoginFailure::Md5NotPossible) => {
                    r.debug = Some(format!(
                        "MD5 authentication is not possible.  challenge: '{}'",
                        md5.challenge
                    ));
                }
                AuthFailure::Login(LoginFailure::NoSecret) => {}
                AuthFailure::Login(LoginFailure::WrongKey) => {
                    let kind = EventKind::ChallengeResponseFailed {
                        challenge: md5.challenge.clone(),
                        response: md5.key.clone(),
                        expected: md5.expected.clone(),
                    };
                    r.event = event(kind, u);
                }
                AuthFailure::Login(LoginFailure::BadCredentials) => {
                    r.event = event(EventKind::InvalidPassword, u);
                }
            }
            r.notices.push(failed);
            r
        }
    }
}

/// manager.c's request type for `action`: `Action: <name>` in a 64-byte buffer (`snprintf`),
/// so at most 63 bytes (cut at a character boundary; validated names are ASCII anyway).
pub fn request_type(action: &str) -> String {
    const MAX: usize = 63;
    let mut t = format!("Action: {action}");
    if t.len() > MAX {
        let mut end = MAX;
        while !t.is_char_boundary(end) {
            end -= 1;
        }
        t.truncate(end);
    }
    t
}

/// Why a logged-in request is refused, as `process_message` tells the security framework.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// Not allowed to this user or not runnable (`report_req_not_allowed`): RequestNotAllowed.
    NotAllowed,
    /// No such action (`report_req_bad_format`): RequestBadFormat.
    Unknown,
}

/// The event for a logged-in request refused as `refused`, for `account` (the user as typed).
pub fn for_refused_request(refused: Refused, action: &str, account: &str) -> Event {
    let ty = request_type(action);
    let kind = match refused {
        Refused::NotAllowed => EventKind::RequestNotAllowed(ty),
        Refused::Unknown => EventKind::RequestBadFormat(ty),
    };
    Event { kind, account: account.to_owned() }
}

/// The event for a message refused before login, as `process_message` reports it: no Action
/// (RequestBadFormat, `Action: NONE`) or an action other than Login, Challenge and Logoff
/// (RequestNotAllowed, `Action: <name>`). `None` for what is allowed before login.
pub fn for_pre_login_request(action: Option<&str>) -> Option<Event> {
    let account = String::new();
    match action.filter(|a| !a.is_empty()) {
        None => Some(Event { kind: EventKind::RequestBadFormat("Action: NONE".into()), account }),
        Some(a) if ["Login", "Challenge", "Logoff"].iter().any(|x| a.eq_ignore_ascii_case(x)) => {
            None
        }
        Some(a) => Some(Event { kind: EventKind::RequestNotAllowed(request_type(a)), account }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn fail(u: &str, reason: AuthFailure) -> AuthOutcome {
        AuthOutcome::Failure { username: u.into(), reason }
    }

    #[test]
    fn each_outcome_as_manager_c() {
        let ip: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        let md5 = Md5Attempt { challenge: "123".into(), key: "abc".into(), expected: "def".into() };
        let failed = "192.0.2.7 failed to authenticate as 'bob'".to_owned();
        let cases: Vec<(AuthFailure, Option<EventKind>, Vec<String>)> = vec![
            (AuthFailure::Login(LoginFailure::MissingUsername), None, vec![]),
            (
                AuthFailure::Login(LoginFailure::UnknownUser),
                Some(EventKind::InvalidAccountId),
                vec![
                    "192.0.2.7 tried to authenticate with nonexistent user 'bob'".into(),
                    failed.clone(),
                ],
            ),
            (
                AuthFailure::Login(LoginFailure::AclDenied),
                Some(EventKind::FailedAcl),
                vec!["192.0.2.7 failed to pass IP ACL as 'bob'".into(), failed.clone()],
            ),
            (
                AuthFailure::Login(LoginFailure::WrongKey),
                Some(EventKind::ChallengeResponseFailed {
                    challenge: "123".into(),
                    response: "abc".into(),
                    expected: "def".into(),
                }),
                vec![failed.clone()],
            ),
            (AuthFailure::Login(LoginFailure::Md5NotPossible), None, vec![failed.clone()]),
            (AuthFailure::Login(LoginFailure::NoSecret), None, vec![failed.clone()]),
            (
                AuthFailure::Login(LoginFailure::BadCredentials),
                Some(EventKind::InvalidPassword),
                vec![failed.clone()],
            ),
            (AuthFailure::InUse, Some(EventKind::SessionLimit), vec![]),
        ];
        for (reason, kind, notices) in cases {
            let r = for_auth(&fail("bob", reason.clone()), ip, &md5);
            assert_eq!(r.event.map(|e| e.kind), kind, "{reason:?}");
            assert_eq!(r.notices, notices, "{reason:?}");
        }
        let r = for_auth(&fail("bob", AuthFailure::Login(LoginFailure::Md5NotPossible)), ip, &md5);
        assert_eq!(
            r.debug.as_deref(),
            Some("MD5 authentication is not possible.  challenge: '123'")
        );
        let limited =
            for_auth(&fail("bob", AuthFailure::RateLimited(Duration::from_secs(30))), ip, &md5);
        assert_eq!(limited.notices.last(), Some(&failed));
        assert_eq!(
            limited.event.map(|e| e.kind),
            Some(EventKind::RequestNotAllowed("Action: Login".into()))
        );
        let ok = AuthOutcome::Success { username: "Bob".into(), account: "bob".into() };
        let r = for_auth(&ok, ip, &md5);
        assert_eq!(r.event, Some(Event { kind: EventKind::SuccessfulAuth, account: "Bob".into() }));
        assert!(r.notices.is_empty());
    }

    #[test]
    fn addresses_as_asterisk_prints_them() {
        assert_eq!(addr_text("::ffff:10.0.0.1".parse().unwrap()), "10.0.0.1");
        assert_eq!(addr_text("2001:db8::1".parse().unwrap()), "2001:db8::1");
        assert_eq!(addr_text("127.0.0.1".parse().unwrap()), "127.0.0.1");
    }

    #[test]
    fn pre_login_requests() {
        assert_eq!(
            for_pre_login_request(None).map(|e| e.kind),
            Some(EventKind::RequestBadFormat("Action: NONE".into()))
        );
        assert_eq!(
            for_pre_login_request(Some("Originate")).map(|e| e.kind),
            Some(EventKind::RequestNotAllowed("Action: Originate".into()))
        );
        for ok in ["login", "Challenge", "LOGOFF"] {
            assert_eq!(for_pre_login_request(Some(ok)), None);
        }
        let long = "A".repeat(64);
        let Some(EventKind::RequestNotAllowed(t)) =
            for_pre_login_request(Some(&long)).map(|e| e.kind)
        else {
            panic!("not RequestNotAllowed")
        };
        assert_eq!(t, format!("Action: {}", &long[..55]));
    }

    #[test]
    fn logged_in_refusals() {
        assert_eq!(
            for_refused_request(Refused::NotAllowed, "originate", "Bob"),
            Event {
                kind: EventKind::RequestNotAllowed("Action: originate".into()),
                account: "Bob".into()
            }
        );
        assert_eq!(
            for_refused_request(Refused::Unknown, "NoSuch", "bob").kind,
            EventKind::RequestBadFormat("Action: NoSuch".into())
        );
    }

    #[test]
    fn request_types_are_cut_as_in_a_64_byte_buffer() {
        assert_eq!(request_type("Ping"), "Action: Ping");
        let name = "x".repeat(55);
        assert_eq!(request_type(&name).len(), 63);
        assert_eq!(request_type(&format!("{name}yz")), format!("Action: {name}"));
        // A multi-byte character straddling byte 63 is dropped whole.
        let t = request_type(&format!("{}\u{e9}", "x".repeat(54)));
        assert_eq!(t, format!("Action: {}", "x".repeat(54)));
    }
}
