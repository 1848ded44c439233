//! Login over real sockets: plain and MD5 challenge logins, identical failures for a wrong
//! secret and an unknown user (then close 1008), ACL refusal, nothing before login, the
//! authtimeout deadline, and what the log says (the address, never the secret).

mod common;

use std::time::{Duration, Instant};

use common::ws::{Recv, connect, field};
use common::{Opts, StandIn, default_module_conf, free_port};
use md5::{Digest, Md5};
use serde_json::Value;

const MANAGER: &str = "[general]\nenabled = yes\nbindaddr = 127.0.0.1\nauthtimeout = 2\n\n\
[admin]\nsecret = adminpw\nread = all\nwrite = all\n\n\
[remote]\nsecret = remotepw\nread = all\nwrite = all\ndeny = 0.0.0.0/0.0.0.0\n\
permit = 10.0.0.0/255.0.0.0\n";

fn start() -> (StandIn, u16) {
    common::start_with_manager(MANAGER)
}

/// Sends a Login and returns (response, time it took to come).
fn login_timed(c: &mut common::ws::WsClient, user: &str, secret: &str) -> (Value, Duration) {
    let t = Instant::now();
    let id = c.send_action(&[
        ("Action", "Login"),
        ("Username", user),
        ("Secret", secret),
        ("ActionID", "L1"),
    ]);
    let r = c.response(&id, Duration::from_secs(10)).expect("no login response");
    (r, t.elapsed())
}

#[test]
fn plain_login_succeeds_and_sends_fully_booted() {
    let (s, port) = start();
    let mut c = connect(port);
    let (r, _) = login_timed(&mut c, "admin", "adminpw");
    assert_eq!(field(&r, "Response"), "Success", "{r}");
    assert_eq!(field(&r, "Message"), "Authentication accepted");
    assert_eq!(field(&r, "ActionID"), "L1");
    // A user reading `system` gets AMI's FullyBooted right after the response.
    let booted = c.recv_json(Duration::from_secs(5)).expect("no FullyBooted");
    assert_eq!(field(&booted, "Event"), "FullyBooted", "{booted}");
    assert_eq!(field(&booted, "Status"), "Fully Booted");
    // Logged in: actions now run, and a second Login is answered as AMI does.
    let id = c.send_action(&[("Action", "Ping")]);
    let pong = c.response(&id, Duration::from_secs(5)).expect("no Ping response");
    assert_eq!(field(&pong, "Ping"), "Pong", "{pong}");
    let id = c.send_action(&[("Action", "Login"), ("Username", "admin"), ("Secret", "x")]);
    let again = c.response(&id, Duration::from_secs(5)).expect("no second login response");
    assert_eq!(field(&again, "Message"), "Already authenticated", "{again}");
    let (rows, n) = common::ws::clients(&s);
    assert_eq!(n, 1);
    assert_eq!(rows[0].user, "admin");
}

fn md5_hex(text: &str) -> String {
    Md5::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn md5_challenge_login() {
    let (_s, port) = start();
    let mut c = connect(port);
    let id = c.send_action(&[("Action", "Challenge"), ("AuthType", "MD5")]);
    let r = c.response(&id, Duration::from_secs(5)).expect("no Challenge response");
    assert_eq!(field(&r, "Response"), "Success", "{r}");
    let challenge = field(&r, "Challenge").to_string();
    assert!(!challenge.is_empty(), "{r}");
    let key = md5_hex(&format!("{challenge}adminpw"));
    let id = c.send_action(&[
        ("Action", "Login"),
        ("AuthType", "MD5"),
        ("Username", "admin"),
        ("Key", &key),
    ]);
    let r = c.response(&id, Duration::from_secs(5)).expect("no Login response");
    assert_eq!(field(&r, "Message"), "Authentication accepted", "{r}");

    // A key made from the wrong secret fails like any failed login.
    let mut c = connect(port);
    let id = c.send_action(&[("Action", "Challenge"), ("AuthType", "MD5")]);
    let r = c.response(&id, Duration::from_secs(5)).expect("no Challenge response");
    let key = md5_hex(&format!("{}wrong", field(&r, "Challenge")));
    let id = c.send_action(&[
        ("Action", "Login"),
        ("AuthType", "MD5"),
        ("Username", "admin"),
        ("Key", &key),
    ]);
    let r = c.response(&id, Duration::from_secs(5)).expect("no Login response");
    assert_eq!(field(&r, "Message"), "Authentication failed", "{r}");
    assert_eq!(c.close_code(Duration::from_secs(5)), Some(1008));
}

#[test]
fn wrong_secret_and_unknown_user_fail_identically_and_close_1008() {
    let (s, port) = start();
    let secret = "Wr0ng-S3cret-7f3a";
    let mut answers = Vec::new();
    for user in ["admin", "nosuchuser"] {
        let mut c = connect(port);
        let (r, took) = login_timed(&mut c, user, secret);
        // AMI answers a failed login after about a second.
        assert!(took >= Duration::from_millis(900), "{user}: answered after {took:?}");
        assert_eq!(c.close_code(Duration::from_secs(5)), Some(1008), "{user}");
        answers.push(r);
    }
    assert_eq!(answers[0], answers[1], "the answers must not tell the two cases apart");
    assert_eq!(field(&answers[0], "Response"), "Error");
    assert_eq!(field(&answers[0], "Message"), "Authentication failed");
    // The failures are logged with the remote address and the user name, never the secret.
    s.expect_log("failed to authenticate as 'nosuchuser'");
    let log = s.log() + &s.core_log();
    let lines: Vec<&str> = log.lines().filter(|l| l.contains("failed to authenticate")).collect();
    assert!(lines.len() >= 2, "{log}");
    assert!(lines.iter().all(|l| l.contains("127.0.0.1")), "{lines:?}");
    assert!(!log.contains(secret), "the secret was logged:\n{log}");
    assert!(common::ws::wait_clients(&s, 0, Duration::from_secs(3)), "failed clients linger");
}

#[test]
fn acl_that_excludes_the_client_refuses_login() {
    let (s, port) = start();
    let mut c = connect(port);
    let (r, _) = login_timed(&mut c, "remote", "remotepw");
    assert_eq!(field(&r, "Response"), "Error", "{r}");
    assert_eq!(field(&r, "Message"), "Authentication failed");
    assert_eq!(c.close_code(Duration::from_secs(5)), Some(1008));
    // The secret was right: the log names the ACL as the reason.
    s.expect_log("failed to authenticate as 'remote'");
    // As manager.c: the ACL refusal has its own line before the "failed to authenticate" one.
    let line =
        s.log().lines().find(|l| l.contains("IP ACL as 'remote'")).unwrap_or_default().to_string();
    assert!(line.contains("127.0.0.1 failed to pass IP ACL as 'remote'"), "{line}");
}

#[test]
fn nothing_but_login_before_login() {
    let (_s, port) = start();
    let mut c = connect(port);
    for action in ["Ping", "UserEvent", "Events", "Filter", "Command", "Originate", "Status"] {
        let id = c.send_action(&[("Action", action)]);
        let r = c.response(&id, Duration::from_secs(5)).expect("no response");
        assert_eq!(field(&r, "Response"), "Error", "{action}: {r}");
        assert_eq!(field(&r, "Message"), "Permission denied", "{action}: {r}");
    }
    // The connection stays usable: the login still works.
    let r = c.login("admin", "adminpw");
    assert_eq!(field(&r, "Response"), "Success", "{r}");
}

#[test]
fn no_login_within_authtimeout_closes_1008() {
    let (s, port) = start();
    let start = Instant::now();
    let mut idle = connect(port);
    let mut chatty = connect(port);
    // Talking without logging in does not extend the deadline.
    let id = chatty.send_action(&[("Action", "Ping")]);
    assert!(chatty.response(&id, Duration::from_secs(1)).is_some());
    let mut done = connect(port);
    assert_eq!(field(&done.login("admin", "adminpw"), "Response"), "Success");
    assert_eq!(idle.close_code(Duration::from_secs(6)), Some(1008));
    let after = start.elapsed();
    assert!(after >= Duration::from_millis(1900), "closed after {after:?}, authtimeout is 2 s");
    assert!(after < Duration::from_secs(4), "closed only after {after:?}");
    assert_eq!(chatty.close_code(Duration::from_secs(3)), Some(1008));
    // The logged-in client is not affected.
    let id = done.send_action(&[("Action", "Ping")]);
    let r = done.response(&id, Duration::from_secs(5)).expect("logged-in client lost");
    assert_eq!(field(&r, "Ping"), "Pong");
    assert!(matches!(done.recv(Duration::from_millis(200)), Recv::Timeout));
    assert!(common::ws::wait_clients(&s, 1, Duration::from_secs(3)), "{}", s.rx("ws show clients"));
}

#[test]
fn allowmultiplelogin_no_is_enforced_across_connections() {
    let port = free_port();
    let manager =
        format!("{MANAGER}\n[single]\nsecret = pw\nread = user\nallowmultiplelogin = no\n");
    let conf = default_module_conf(port);
    let _s = StandIn::start(
        &[("manager.conf", &manager), ("ami_websocket.conf", &conf)],
        Opts::default(),
    );
    let first = common::ws::login_as(port, "single", "pw");
    let mut second = connect(port);
    let r = second.login("single", "pw");
    assert_eq!(field(&r, "Message"), "Login Already In Use", "{r}");
    assert_eq!(second.close_code(Duration::from_secs(5)), Some(1008));
    // Once the first session is gone (closed, or ended with Logoff), the user may log in again.
    first.close();
    let mut again = login_when_free(port);
    let id = again.send_action(&[("Action", "Logoff")]);
    let bye = again.response(&id, Duration::from_secs(5)).expect("no Logoff response");
    assert_eq!(field(&bye, "Response"), "Goodbye", "{bye}");
    assert!(again.close_code(Duration::from_secs(5)).is_some());
    login_when_free(port);
}

/// Logs in as `single`, retrying for a while (the server notices a closed session shortly).
fn login_when_free(port: u16) -> common::ws::WsClient {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut c = connect(port);
        let r = c.login("single", "pw");
        if field(&r, "Response") == "Success" {
            return c;
        }
        assert!(Instant::now() < deadline, "still refused after the session ended: {r}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn authlimit_caps_connections_not_logged_in() {
    let port = free_port();
    let manager = MANAGER.replacen("[general]\n", "[general]\nauthlimit = 2\n", 1);
    let conf = default_module_conf(port);
    let s = StandIn::start(
        &[("manager.conf", &manager), ("ami_websocket.conf", &conf)],
        Opts::default(),
    );
    let mut a = connect(port);
    let _b = connect(port);
    // A third unauthenticated connection is refused before the upgrade.
    let refused = common::raw::get(port, "/ami", common::raw::UPGRADE_HEADERS);
    assert_eq!(refused.status, 503, "{}", refused.head);
    // Logging in frees a place.
    assert_eq!(field(&a.login("admin", "adminpw"), "Response"), "Success");
    let _c = connect(port);
    // A logged-in client that logs off does not free a second place on its way out.
    let id = a.send_action(&[("Action", "Logoff")]);
    assert!(a.response(&id, Duration::from_secs(5)).is_some());
    assert!(a.close_code(Duration::from_secs(5)).is_some());
    assert!(common::ws::wait_clients(&s, 2, Duration::from_secs(3)));
    let refused = common::raw::get(port, "/ami", common::raw::UPGRADE_HEADERS);
    assert_eq!(refused.status, 503, "b and c are still not logged in: {}", refused.head);
}
