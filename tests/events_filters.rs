//! Which events each user receives: read classes, manager.conf eventfilters (legacy and
//! advanced forms, include and exclude), and the Events and Filter actions on one connection.
//! Several users are connected at once; the expected sets come from the recorded fixture and
//! AMI's rules (needs every class of the event; includes, then excludes).

mod common;

use std::time::Duration;

use common::StandIn;
use common::fixture::{self, Recorded};
use common::ws::{WsClient, field, login_as, seq};
use serde_json::Value;

const CALL: u32 = 1 << 1;
const USER: u32 = 1 << 6;
const ALL: u32 = 0x7fff_ffff;

const MANAGER: &str = "[general]\nenabled = yes\nbindaddr = 127.0.0.1\n\n\
[admin]\nsecret = pw\nread = all\nwrite = all\n\n\
[calls]\nsecret = pw\nread = call\nwrite = call\n\n\
[users]\nsecret = pw\nread = user\nwrite = user\n\n\
[legacy]\nsecret = pw\nread = all\neventfilter = Event: UserEvent\n\n\
[mixed]\nsecret = pw\nread = call,user\neventfilter = Event: (UserEvent|Hangup)\n\
eventfilter = !Seq: 1\n\n\
[advanced]\nsecret = pw\nread = all\n\
eventfilter(action(include),name(Newexten),header(Application),method(exact)) = UserEvent\n\n\
[advexcl]\nsecret = pw\nread = all\n\
eventfilter(action(exclude),header(Variable),method(starts_with)) = DIAL\n";

fn start() -> (StandIn, u16) {
    common::start_with_manager(MANAGER)
}

/// AMI's class rule: the session must read every class the event has.
fn reads(mask: u32, e: &Recorded) -> bool {
    mask & e.category == e.category
}

/// A header filter's test as manager.c does it: some `Name:` line with a non-empty value that
/// satisfies `test`.
fn some_header(e: &Recorded, name: &str, test: impl Fn(&str) -> bool) -> bool {
    e.body.split("\r\n").any(|l| {
        l.strip_prefix(name)
            .and_then(|r| r.strip_prefix(':'))
            .map(|v| v.trim_start())
            .is_some_and(|v| !v.is_empty() && test(v))
    })
}

/// Each user and the oracle of what it must receive. The legacy patterns are literal (or a
/// plain alternation), so a regex search in the event text is a substring test.
/// What one user must receive, as a test on the recorded event.
type Oracle = Box<dyn Fn(&Recorded) -> bool>;

fn users() -> Vec<(&'static str, Oracle)> {
    vec![
        ("admin", Box::new(|e| reads(ALL, e))),
        ("calls", Box::new(|e| reads(CALL, e))),
        ("users", Box::new(|e| reads(USER, e))),
        ("legacy", Box::new(|e| reads(ALL, e) && e.body.contains("Event: UserEvent"))),
        (
            "mixed",
            Box::new(|e| {
                reads(CALL | USER, e)
                    && (e.body.contains("Event: UserEvent") || e.body.contains("Event: Hangup"))
                    && !e.body.contains("Seq: 1")
            }),
        ),
        (
            "advanced",
            Box::new(|e| {
                e.name == "Newexten" && some_header(e, "Application", |v| v == "UserEvent")
            }),
        ),
        ("advexcl", Box::new(|e| !some_header(e, "Variable", |v| v.starts_with("DIAL")))),
    ]
}

/// Collects `n` events, then makes sure no further one comes.
fn take_exactly(c: &mut WsClient, n: usize, who: &str) -> Vec<Value> {
    let got = c.events(n, Duration::from_secs(20));
    assert_eq!(got.len(), n, "{who}: only {} of {n} events arrived", got.len());
    let extra = c.next_event(Duration::from_millis(300));
    assert!(extra.is_none(), "{who}: unexpected extra event {extra:?}");
    got
}

#[test]
fn each_user_receives_exactly_what_ami_would_send_it() {
    let (s, port) = start();
    let recorded = fixture::replayed();
    let users = users();
    let mut clients: Vec<WsClient> = users.iter().map(|(u, _)| login_as(port, u, "pw")).collect();
    // Drain what login sends (FullyBooted for system readers).
    for c in &mut clients {
        while c.recv_json(Duration::from_millis(100)).is_some() {}
    }
    assert!(s.rx("traffic replay").contains(&format!("replaying {}", recorded.len())));
    let mut base = None;
    for ((user, wants), c) in users.iter().zip(&mut clients) {
        let expected: Vec<(usize, &Recorded)> =
            recorded.iter().enumerate().filter(|(_, e)| wants(e)).collect();
        assert!(!expected.is_empty() && expected.len() < recorded.len() || *user == "admin");
        let got = take_exactly(c, expected.len(), user);
        // admin reads everything: its first event fixes the sequence number of the first one.
        let base = *base.get_or_insert_with(|| seq(&got[0]).unwrap() - 1);
        for (v, (i, e)) in got.iter().zip(&expected) {
            assert_eq!(field(v, "Event"), e.name, "{user}: {v}");
            assert_eq!(seq(v), Some(base + *i as u64 + 1), "{user}: wrong event {v}");
            assert_eq!(
                fixture::without_timestamp(&fixture::json_headers(v)),
                fixture::without_timestamp(&e.headers()),
                "{user}"
            );
        }
    }
}

fn first_user_event(c: &mut WsClient) -> String {
    let v = c
        .wait_for(Duration::from_secs(5), |v| field(v, "Event") == "UserEvent")
        .expect("no UserEvent arrived");
    field(&v, "UserEvent").to_string()
}

fn action(c: &mut WsClient, pairs: &[(&str, &str)]) -> Value {
    let id = c.send_action(pairs);
    c.response(&id, Duration::from_secs(5)).expect("no response")
}

#[test]
fn events_action_switches_one_connection() {
    let (_s, port) = start();
    let mut raiser = login_as(port, "admin", "pw");
    let mut a = login_as(port, "admin", "pw");
    let mut other = login_as(port, "admin", "pw");

    let r = action(&mut a, &[("Action", "Events"), ("EventMask", "off")]);
    assert_eq!((field(&r, "Response"), field(&r, "Events")), ("Success", "Off"), "{r}");
    raiser.user_event("WhileOff", &[]);
    let r = action(&mut a, &[("Action", "Events"), ("EventMask", "call")]);
    assert_eq!(field(&r, "Events"), "On", "{r}");
    raiser.user_event("WhileCallOnly", &[]);
    let r = action(&mut a, &[("Action", "Events"), ("EventMask", "user")]);
    assert_eq!(field(&r, "Events"), "On", "{r}");
    raiser.user_event("WhileUser", &[]);
    assert_eq!(first_user_event(&mut a), "WhileUser");
    // The other connection of the same user was not touched.
    for name in ["WhileOff", "WhileCallOnly", "WhileUser"] {
        assert_eq!(first_user_event(&mut other), name);
    }
    // A mask the user cannot read grants nothing; `on` restores its read classes.
    let mut calls = login_as(port, "calls", "pw");
    let r = action(&mut calls, &[("Action", "Events"), ("EventMask", "on")]);
    assert_eq!(field(&r, "Events"), "On", "{r}");
    let r = action(&mut calls, &[("Action", "Events"), ("EventMask", "nonsense-class")]);
    assert_eq!(field(&r, "Events"), "Off", "{r}");
}

#[test]
fn filter_action_narrows_one_connection() {
    let (_s, port) = start();
    let mut raiser = login_as(port, "admin", "pw");
    let mut legacy = login_as(port, "admin", "pw");
    let mut advanced = login_as(port, "admin", "pw");
    let mut plain = login_as(port, "admin", "pw");

    let r = action(
        &mut legacy,
        &[("Action", "Filter"), ("Operation", "Add"), ("Filter", "UserEvent: Keep")],
    );
    assert_eq!(field(&r, "Response"), "Success", "{r}");
    let r = action(
        &mut advanced,
        &[
            ("Action", "Filter"),
            ("Operation", "Add"),
            ("MatchCriteria", "action(exclude),name(UserEvent),header(UserEvent),method(exact)"),
            ("Filter", "Drop"),
        ],
    );
    assert_eq!(field(&r, "Response"), "Success", "{r}");
    let r = action(&mut plain, &[("Action", "Filter"), ("Operation", "Add"), ("Filter", "a(")]);
    assert_eq!(field(&r, "Response"), "Error", "{r}");
    assert!(field(&r, "Message").contains("did not compile"), "{r}");

    raiser.user_event("Drop", &[]);
    raiser.user_event("Keep", &[]);
    raiser.user_event("Dropped", &[]);
    raiser.user_event("Keep", &[("Last", "1")]);
    assert_eq!(first_user_event(&mut legacy), "Keep");
    let v = legacy.next_event(Duration::from_secs(5)).expect("second Keep");
    assert_eq!((field(&v, "UserEvent"), field(&v, "Last")), ("Keep", "1"), "{v}");
    // Exact match: "Dropped" is not "Drop".
    for name in ["Keep", "Dropped", "Keep"] {
        assert_eq!(first_user_event(&mut advanced), name);
    }
    for name in ["Drop", "Keep", "Dropped", "Keep"] {
        assert_eq!(first_user_event(&mut plain), name);
    }

    // Filter needs write=system, as in AMI.
    let mut calls = login_as(port, "calls", "pw");
    let r = action(&mut calls, &[("Action", "Filter"), ("Operation", "Add"), ("Filter", "x")]);
    assert_eq!(field(&r, "Message"), "Permission denied", "{r}");
}
