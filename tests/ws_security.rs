//! The admin's security tooling sees WebSocket logins as it sees AMI's: every login outcome
//! reaches the core's security event framework (recorded by the stand-in, which checks each
//! event as main/security_events.c does) with transport WS, both addresses, the session id and
//! the account; and Debian's stock fail2ban `asterisk` filter (`fail2ban-regex`, installed by
//! scripts/setup-debian.sh) matches the lines the module logs for each failure, with the
//! client's address as the host, exactly where it matches manager.c's own lines.

mod common;

use std::collections::HashMap;
use std::process::Command;
use std::time::Duration;

use common::StandIn;
use common::ws::{WsClient, connect, field};
use md5::{Digest, Md5};

const MANAGER: &str = "[general]\nenabled = yes\nbindaddr = 127.0.0.1\n\n\
[admin]\nsecret = adminpw\nread = all\nwrite = all\n\n\
[solo]\nsecret = solopw\nread = all\nwrite = all\nallowmultiplelogin = no\n\n\
[remote]\nsecret = remotepw\nread = all\nwrite = all\ndeny = 0.0.0.0/0.0.0.0\n\
permit = 10.0.0.0/255.0.0.0\n\n\
[nosecret]\nread = all\n\n\
[caller]\nsecret = callerpw\nread = all\nwrite = call,originate\n";

const FILTER: &str = "/etc/fail2ban/filter.d/asterisk.conf";

/// One recorded event: its name and fields.
#[derive(Debug, Clone)]
struct Recorded {
    name: String,
    fields: HashMap<String, String>,
}

/// Parses `Key="value",Key="value"` (res_security_log's format).
fn parse_event(line: &str) -> Recorded {
    let mut fields = HashMap::new();
    let mut rest = line;
    while let Some((key, after)) = rest.split_once("=\"") {
        let Some((value, tail)) = after.split_once('"') else { break };
        fields.insert(key.trim_start_matches(',').to_string(), value.to_string());
        rest = tail;
    }
    Recorded { name: fields.get("SecurityEvent").cloned().unwrap_or_default(), fields }
}

fn events(s: &StandIn) -> Vec<Recorded> {
    let out = s.rx("standin show security");
    let mut lines = out.lines();
    let head = lines.next().unwrap_or_default();
    assert!(head.starts_with("security events: "), "{out}");
    lines.map(parse_event).collect()
}

fn login(c: &mut WsClient, pairs: &[(&str, &str)]) -> serde_json::Value {
    let mut all = vec![("Action", "Login")];
    all.extend_from_slice(pairs);
    let id = c.send_action(&all);
    c.response(&id, Duration::from_secs(10)).expect("no login response")
}

fn md5_hex(text: &str) -> String {
    Md5::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn challenge(c: &mut WsClient) -> String {
    let id = c.send_action(&[("Action", "Challenge"), ("AuthType", "MD5")]);
    let r = c.response(&id, Duration::from_secs(5)).expect("no Challenge response");
    field(&r, "Challenge").to_string()
}

/// Checks the parts every event of a WebSocket session carries.
fn assert_common(e: &Recorded, port: u16, account: &str) {
    let f = |k: &str| e.fields.get(k).map(String::as_str).unwrap_or("<absent>");
    assert_eq!(f("Service"), "AMI", "{e:?}");
    assert_eq!(f("Module"), "res_ami_websocket", "{e:?}");
    assert_eq!(f("AccountID"), account, "{e:?}");
    assert!(f("SessionID").parse::<u64>().is_ok(), "{e:?}");
    assert_eq!(f("LocalAddress"), format!("IPV4/WS/127.0.0.1/{port}"), "{e:?}");
    let remote = f("RemoteAddress");
    assert!(remote.starts_with("IPV4/WS/127.0.0.1/"), "{e:?}");
    assert!(remote.rsplit('/').next().is_some_and(|p| p.parse::<u16>().is_ok_and(|p| p != port)));
    assert!(e.fields.contains_key("SessionTV") && e.fields.contains_key("EventTV"), "{e:?}");
}

/// Every outcome of manager.c's `authenticate`, one connection each (a failed login closes it).
/// At most 5 failures per address are allowed per minute by our limiter, so the sixth is the
/// limiter's own refusal.
#[test]
fn every_login_outcome_is_a_security_event() {
    let (s, port) = common::start_with_manager(MANAGER);
    // Success, plain and MD5.
    let mut ok = connect(port);
    assert_eq!(
        field(&login(&mut ok, &[("Username", "admin"), ("Secret", "adminpw")]), "Response"),
        "Success"
    );
    let mut ok_md5 = connect(port);
    let ch = challenge(&mut ok_md5);
    let key = md5_hex(&format!("{ch}adminpw"));
    let r = login(&mut ok_md5, &[("Username", "Admin"), ("AuthType", "MD5"), ("Key", &key)]);
    assert_eq!(field(&r, "Response"), "Success", "{r}");

    // The failures, in manager.c's order of checks.
    let mut c = connect(port);
    login(&mut c, &[("Username", "ghost"), ("Secret", "x")]);
    let mut c = connect(port);
    login(&mut c, &[("Username", "remote"), ("Secret", "remotepw")]);
    let mut c = connect(port);
    let ch_bad = challenge(&mut c);
    login(&mut c, &[("Username", "admin"), ("AuthType", "MD5"), ("Key", "0123456789abcdef")]);
    let mut c = connect(port);
    login(&mut c, &[("Username", "admin"), ("Secret", "wrong")]);
    let mut c = connect(port);
    login(&mut c, &[("Username", "nosecret"), ("Secret", "")]);
    // The sixth failure within a minute: our limiter refuses without checking.
    let mut c = connect(port);
    let r = login(&mut c, &[("Username", "admin"), ("Secret", "adminpw")]);
    assert_eq!(field(&r, "Message"), "Authentication failed", "{r}");

    let ev = events(&s);
    let names: Vec<&str> = ev.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "SuccessfulAuth",
            "SuccessfulAuth",
            "InvalidAccountID",
            "FailedACL",
            "ChallengeResponseFailed",
            "InvalidPassword",
            "RequestNotAllowed",
        ],
        "no event for a user without secret (as manager.c); {ev:#?}"
    );
    let accounts = ["admin", "Admin", "ghost", "remote", "admin", "admin", "admin"];
    for (e, account) in ev.iter().zip(accounts) {
        assert_common(e, port, account);
    }
    assert_eq!(ev[0].fields["UsingPassword"], "0", "manager.c leaves UsingPassword at 0");
    assert_eq!(ev[0].fields["Severity"], "Informational");
    assert_eq!(ev[2].fields["Severity"], "Error");
    let chal = &ev[4].fields;
    assert_eq!(chal["Challenge"], ch_bad);
    assert_eq!(chal["Response"], "0123456789abcdef");
    assert_eq!(chal["ExpectedResponse"], md5_hex(&format!("{ch_bad}adminpw")));
    assert_eq!(ev[5].fields["EventVersion"], "2", "InvalidPassword is version 2");
    assert_eq!(ev[6].fields["RequestType"], "Action: Login");
    // Each connection is its own session.
    let ids: std::collections::HashSet<&str> =
        ev.iter().map(|e| e.fields["SessionID"].as_str()).collect();
    assert_eq!(ids.len(), ev.len(), "{ev:#?}");
    drop((ok, ok_md5));
}

/// Session limit (allowmultiplelogin = no), requests before login, and a message without Action.
#[test]
fn session_limit_and_refused_requests_are_security_events() {
    let (s, port) = common::start_with_manager(MANAGER);
    let mut first = connect(port);
    assert_eq!(
        field(&login(&mut first, &[("Username", "solo"), ("Secret", "solopw")]), "Response"),
        "Success"
    );
    let mut second = connect(port);
    let r = login(&mut second, &[("Username", "solo"), ("Secret", "solopw")]);
    assert_eq!(field(&r, "Message"), "Login Already In Use", "{r}");

    let mut pre = connect(port);
    let id = pre.send_action(&[("Action", "Originate"), ("Channel", "Local/1@x")]);
    let r = pre.response(&id, Duration::from_secs(5)).expect("no answer");
    assert_eq!(field(&r, "Message"), "Permission denied", "{r}");
    let id = pre.send_action(&[("Foo", "bar")]);
    let r = pre.response(&id, Duration::from_secs(5)).expect("no answer");
    assert_eq!(field(&r, "Message"), "Missing action in request", "{r}");
    // Logged in, a message without Action is still a bad request, with the account.
    let id = first.send_action(&[("Foo", "bar")]);
    first.response(&id, Duration::from_secs(5)).expect("no answer");

    let ev = events(&s);
    let got: Vec<(&str, &str, &str)> = ev
        .iter()
        .map(|e| {
            let f = |k: &str| e.fields.get(k).map(String::as_str).unwrap_or("");
            (e.name.as_str(), f("AccountID"), f("RequestType"))
        })
        .collect();
    assert_eq!(
        got,
        [
            ("SuccessfulAuth", "solo", ""),
            ("SessionLimit", "solo", ""),
            ("RequestNotAllowed", "", "Action: Originate"),
            ("RequestBadFormat", "", "Action: NONE"),
            ("RequestBadFormat", "solo", "Action: NONE"),
        ],
        "{ev:#?}"
    );
    for e in &ev {
        let account = e.fields.get("AccountID").cloned().unwrap_or_default();
        assert_common(e, port, &account);
    }
}

/// After login, as manager.c's `process_message`: a message without Action is RequestBadFormat
/// (`Action: NONE`), an action the user's write classes do not allow is RequestNotAllowed, an
/// unknown one RequestBadFormat (`Action: <name as sent>`, cut to 63 bytes); each with the user,
/// the session, WS and both addresses. The module's own refusals of what AMI would run (an
/// action unsafe through the hook, unloading the module itself) are RequestNotAllowed. Allowed
/// actions, and refusals inside an action's own code (Originate needing `system`), raise none.
/// An action unregistered after the module learned it is answered as unknown, as AMI does.
#[test]
fn refused_requests_after_login_are_security_events() {
    let (s, port) = common::start_with_manager(MANAGER);
    let mut caller = connect(port);
    let r = login(&mut caller, &[("Username", "Caller"), ("Secret", "callerpw")]);
    assert_eq!(field(&r, "Response"), "Success", "{r}");
    let mut admin = connect(port);
    let r = login(&mut admin, &[("Username", "admin"), ("Secret", "adminpw")]);
    assert_eq!(field(&r, "Response"), "Success", "{r}");
    let base = events(&s).len();
    assert_eq!(base, 2, "two SuccessfulAuth");

    // (Response, Message) of one request.
    let ask = |c: &mut WsClient, pairs: &[(&str, &str)]| -> (String, String) {
        let id = c.send_action(pairs);
        let r = c.response(&id, Duration::from_secs(10)).expect("no answer");
        (field(&r, "Response").to_string(), field(&r, "Message").to_string())
    };
    let unknown = |name: &str| {
        format!(
            "Invalid/unknown command: {name}. Use Action: ListCommands to show available commands."
        )
    };
    let long = format!("NoSuch{}", "x".repeat(58));
    assert_eq!(long.len(), 64, "the longest name the module accepts");
    let not_allowed = |ty: &str| Some(("RequestNotAllowed", ty.to_string()));
    let bad_format = |ty: &str| Some(("RequestBadFormat", ty.to_string()));
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, String, Option<(&'a str, String)>);
    // (user, request, start of the error Message or "" for Success, event and RequestType)
    let cases: Vec<Case> = vec![
        ("caller", vec![("Action", "Ping")], String::new(), None),
        (
            "caller",
            vec![("Action", "Command"), ("Command", "core show uptime")],
            "Permission denied".into(),
            not_allowed("Action: Command"),
        ),
        (
            "caller",
            vec![("Action", "command"), ("Command", "core show uptime")],
            "Permission denied".into(),
            not_allowed("Action: command"),
        ),
        (
            "caller",
            vec![("Action", "Filter"), ("Operation", "Add"), ("Filter", "Event: Hangup")],
            "Permission denied".into(),
            not_allowed("Action: Filter"),
        ),
        (
            "caller",
            vec![("Action", "NoSuchAction")],
            unknown("NoSuchAction"),
            bad_format("Action: NoSuchAction"),
        ),
        (
            "caller",
            vec![("Action", &long)],
            unknown(&long),
            bad_format(&format!("Action: {}", &long[..55])),
        ),
        (
            "caller",
            vec![("Foo", "bar")],
            "Missing action in request".into(),
            bad_format("Action: NONE"),
        ),
        (
            "caller",
            vec![("Action", "Originate"), ("Channel", "Local/1@x"), ("Application", "System")],
            "Originate Access Forbidden".into(),
            None,
        ),
        (
            "admin",
            vec![("Action", "PJSIPHangup"), ("Channel", "PJSIP/nobody-1")],
            "PJSIPHangup is not available over the WebSocket".into(),
            not_allowed("Action: PJSIPHangup"),
        ),
        (
            "admin",
            vec![("Action", "Command"), ("Command", "module unload res_ami_websocket.so")],
            "Could not unload module".into(),
            not_allowed("Action: Command"),
        ),
        (
            "admin",
            vec![("Action", "Command"), ("Command", "core show uptime")],
            String::new(),
            None,
        ),
        ("admin", vec![("Action", "CoreSettings")], String::new(), None),
    ];
    let mut want = Vec::new();
    for (who, pairs, error, event) in &cases {
        let c = if *who == "caller" { &mut caller } else { &mut admin };
        let (response, message) = ask(c, pairs);
        if error.is_empty() {
            assert_eq!(response, "Success", "{pairs:?}: {message}");
        } else {
            assert_eq!(response, "Error", "{pairs:?}");
            assert!(message.starts_with(error.as_str()), "{pairs:?}: {message}");
        }
        if let Some((name, ty)) = event {
            let remote = c.ws.get_ref().local_addr().unwrap().port();
            let account = if *who == "caller" { "Caller" } else { "admin" };
            want.push((name.to_string(), ty.clone(), account, remote));
        }
        // Each request's event (or none) is recorded by the time its answer arrives.
        let now = events(&s);
        assert_eq!(now.len() - base, want.len(), "{pairs:?}\n{now:#?}");
    }
    // An action learned while registered, then unregistered (its module unloaded): the hook
    // finds nothing, so the module looks again and answers as AMI answers an unknown action.
    assert!(s.rx("standin register action WsGoneSoon call").contains("registered"));
    assert_eq!(ask(&mut caller, &[("Action", "WsGoneSoon")]).0, "Success");
    assert!(s.rx("standin unregister action WsGoneSoon").contains("unregistered"));
    let (response, message) = ask(&mut caller, &[("Action", "WsGoneSoon")]);
    assert_eq!((response.as_str(), message), ("Error", unknown("WsGoneSoon")));
    let remote = caller.ws.get_ref().local_addr().unwrap().port();
    want.push(("RequestBadFormat".into(), "Action: WsGoneSoon".into(), "Caller", remote));

    // The same for a user its classes refused: once unregistered it is unknown, not denied.
    assert!(s.rx("standin register action WsGoneLater system").contains("registered"));
    assert_eq!(ask(&mut caller, &[("Action", "WsGoneLater")]).1, "Permission denied");
    want.push(("RequestNotAllowed".into(), "Action: WsGoneLater".into(), "Caller", remote));
    assert!(s.rx("standin unregister action WsGoneLater").contains("unregistered"));
    assert_eq!(ask(&mut caller, &[("Action", "WsGoneLater")]).1, unknown("WsGoneLater"));
    want.push(("RequestBadFormat".into(), "Action: WsGoneLater".into(), "Caller", remote));

    let ev = events(&s);
    let session_of = |account: &str| {
        ev[..base].iter().find(|e| e.fields["AccountID"] == account).unwrap().fields["SessionID"]
            .clone()
    };
    for (e, (name, ty, account, remote)) in ev[base..].iter().zip(&want) {
        assert_eq!(&e.name, name, "{e:?}");
        assert_eq!(&e.fields["RequestType"], ty, "{e:?}");
        assert_common(e, port, account);
        assert_eq!(e.fields["RemoteAddress"], format!("IPV4/WS/127.0.0.1/{remote}"), "{e:?}");
        assert_eq!(e.fields["SessionID"], session_of(account), "{e:?}");
        assert!(!e.fields.contains_key("RequestParams"), "{e:?}");
        assert_eq!(e.fields["Severity"], "Error", "{e:?}");
    }
    assert_eq!(ev.len() - base, want.len(), "{ev:#?}");
    assert_eq!(want.len(), 11);
}

/// Runs fail2ban-regex with the stock filter; returns (matched line, host) pairs.
fn fail2ban_matches(lines: &[String]) -> Vec<(String, String)> {
    let dir = common::temp_dir("f2b");
    let log = dir.join("messages");
    std::fs::write(&log, lines.join("\n") + "\n").unwrap();
    let run = |out: &str| -> Vec<String> {
        let o =
            Command::new("fail2ban-regex").args(["-o", out]).arg(&log).arg(FILTER).output().expect(
                "fail2ban-regex is needed: run scripts/setup-debian.sh (Debian package fail2ban)",
            );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).lines().map(str::to_string).collect()
    };
    let msgs = run("msg");
    let ips = run("ip");
    assert_eq!(msgs.len(), ips.len(), "{msgs:?} {ips:?}");
    msgs.into_iter().zip(ips).collect()
}

/// What the stock filter makes of lines: each of ours, and the same line as manager.c would
/// have written it (file `manager.c`), must be matched (or not) alike.
#[test]
fn stock_fail2ban_filter_bans_websocket_login_failures_as_amis() {
    assert!(std::path::Path::new(FILTER).exists(), "{FILTER} missing: run scripts/setup-debian.sh");
    let (s, port) = common::start_with_manager(MANAGER);
    for (user, secret) in
        [("ghost", "x"), ("remote", "remotepw"), ("admin", "wrong"), ("nosecret", "")]
    {
        let mut c = connect(port);
        let r = login(&mut c, &[("Username", user), ("Secret", secret)]);
        assert_eq!(field(&r, "Message"), "Authentication failed", "{r}");
    }
    let mut c = connect(port);
    challenge(&mut c);
    login(&mut c, &[("Username", "admin"), ("AuthType", "MD5"), ("Key", "00")]);
    let mut c = connect(port);
    login(&mut c, &[("Username", "admin"), ("Secret", "adminpw")]);

    let messages = s.rx("standin show messages");
    let ours: Vec<String> = messages
        .lines()
        .filter(|l| {
            l.contains("authenticate") || l.contains("IP ACL") || l.contains("SecurityEvent=")
        })
        .map(str::to_string)
        .collect();
    let failed: Vec<&String> =
        ours.iter().filter(|l| l.contains("failed to authenticate as")).collect();
    // One per failure: nonexistent, ACL, wrong secret, no secret, wrong key, rate-limited.
    assert_eq!(failed.len(), 6, "{messages}");
    let mut must_match: Vec<&String> = failed.clone();
    must_match.extend(ours.iter().filter(|l| l.contains("tried to authenticate with nonexistent")));
    must_match.extend(ours.iter().filter(|l| {
        ["InvalidAccountID", "FailedACL", "InvalidPassword", "ChallengeResponseFailed"]
            .iter()
            .any(|n| l.contains(&format!("SecurityEvent=\"{n}\"")))
    }));
    assert_eq!(must_match.len(), 6 + 1 + 4, "{messages}");

    let matched = fail2ban_matches(&ours);
    for line in &must_match {
        let hit = matched.iter().find(|(m, _)| m == *line);
        assert!(hit.is_some(), "stock filter did not match:\n{line}\nmatched: {matched:#?}");
        assert_eq!(hit.map(|(_, ip)| ip.as_str()), Some("127.0.0.1"), "{line}");
    }
    // The same texts logged by manager.c: matched exactly where ours are.
    let as_manager: Vec<String> = ours
        .iter()
        .map(|l| match l.split_once("] NOTICE[") {
            Some(_) => {
                let (head, msg) = l.split_once(": ").unwrap();
                let head = head.rsplit_once(' ').map_or(head, |(h, _)| h);
                format!("{head} manager.c: {msg}")
            }
            None => l.clone(),
        })
        .collect();
    let theirs = fail2ban_matches(&as_manager);
    assert_eq!(matched.len(), theirs.len(), "ours: {matched:#?}\nmanager.c's: {theirs:#?}");
    for (a, b) in matched.iter().zip(&theirs) {
        assert_eq!(a.1, b.1);
    }

    // The console format (`[date] NOTICE[tid]: file:line function: message`) matches too.
    let console: Vec<String> = s
        .log()
        .lines()
        .filter(|l| l.contains("failed to authenticate as"))
        .map(str::to_string)
        .collect();
    assert_eq!(console.len(), 6, "{}", s.log());
    let hits = fail2ban_matches(&console);
    assert_eq!(hits.len(), console.len(), "{console:#?}\n{hits:#?}");
    assert!(hits.iter().all(|(_, ip)| ip == "127.0.0.1"), "{hits:#?}");
}
