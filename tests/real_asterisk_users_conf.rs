//! Opt-in (AMI_WS_ASTERISK=/prefix): users.conf's manager users (`hasmanager`) log in over the
//! WebSocket exactly when they log in over AMI TCP: on Asterisk 20 and 22, whose manager.c reads
//! users.conf, with the rights it gives them; on 23, which no longer reads it, not at all. One
//! documented difference: an eventfilter that manager.conf adds to a users.conf user is applied
//! by the module and ignored by manager.c.

mod common;
mod real_asterisk_pbx;

use std::time::Duration;

use common::ws::{self, WsClient};
use real_asterisk_pbx::{Ami, Pbx, Setup, get, prefix_or_skip, to_json};
use res_ami_websocket::ami::users_conf;
use res_ami_websocket::compat;
use serde_json::Value;

const T: Duration = Duration::from_secs(10);

/// manager.conf users (after the harness's [general]): an admin to raise events, and `carol` and
/// `dave`, who continue users.conf's (no secret here: on 23 they have none).
const MANAGER_USERS: &str = "[admin]\nsecret = adminpw\nread = all\nwrite = all\n\n\
[carol]\nread = system\nwrite = system,reporting\n\n\
[dave]\neventfilter = !UserEvent: AmiWsUsersConf\n";

/// alice is a manager user by her own line, bob is not ([general] says no), carol is and gets
/// her rights from manager.conf, dave gets an eventfilter there.
const USERS_CONF: &str = "[general]\nhasmanager = no\n\n\
[alice]\nhasmanager = yes\nsecret = alicepw\nfullname = Alice\n\n\
[bob]\nsecret = bobpw\n\n\
[carol]\nhasmanager = yes\nsecret = carolpw\n\n\
[dave]\nhasmanager = yes\nsecret = davepw\n";

fn tcp_login(pbx: &Pbx, user: &str, secret: &str) -> (String, Ami) {
    let mut ami = Ami::connect(pbx.ami_port);
    ami.send(&[("Action", "Login"), ("Username", user), ("Secret", secret), ("ActionID", "l")]);
    let r = ami.wait_for(T, |m| get(m, "ActionID") == "l").expect("AMI TCP login response");
    (get(&r, "Message").to_string(), ami)
}

fn ws_login(pbx: &Pbx, user: &str, secret: &str) -> (String, WsClient) {
    let mut c = ws::connect(pbx.ws_port);
    let r = c.login(user, secret);
    (ws::field(&r, "Message").to_string(), c)
}

/// The action names ListCommands lists (the keys of its one response).
fn tcp_commands(ami: &mut Ami) -> Vec<String> {
    ami.send(&[("Action", "ListCommands"), ("ActionID", "lc")]);
    let r = ami.wait_for(T, |m| get(m, "ActionID") == "lc").expect("ListCommands over TCP");
    to_json(&r).keys().cloned().collect()
}

fn ws_commands(c: &mut WsClient) -> Vec<String> {
    let id = c.send_action(&[("Action", "ListCommands")]);
    let r = c.reply(&id, T).expect("ListCommands over the WebSocket");
    r.as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default()
}

#[test]
fn users_conf_manager_users_log_in_as_over_ami_tcp() {
    let Some(prefix) = prefix_or_skip("users_conf_manager_users_log_in_as_over_ami_tcp") else {
        return;
    };
    let setup = Setup { users: MANAGER_USERS, files: &[("users.conf", USERS_CONF)], preload: &[] };
    let mut pbx = Pbx::start(&prefix, &setup);
    pbx.load_module();
    assert!(pbx.wait_log("res_ami_websocket loading on Asterisk", T), "{}", pbx.log());
    let version = pbx.rx("core show version");
    let major = version
        .split_whitespace()
        .nth(1)
        .and_then(compat::major_of_text)
        .unwrap_or_else(|| panic!("no major in {version:?}"));
    let read = users_conf::read_by_major(major);
    println!("Asterisk major {major}: its manager reads users.conf: {read}");

    let accepted = "Authentication accepted";
    let failed = "Authentication failed";
    let want = |manager_user: bool| if manager_user && read { accepted } else { failed };
    let mut sessions = Vec::new();
    for (user, secret, manager_user) in [
        ("alice", "alicepw", true),
        ("bob", "bobpw", false),
        ("carol", "carolpw", true),
        ("dave", "davepw", true),
    ] {
        let (tcp, ami) = tcp_login(&pbx, user, secret);
        let (wsr, c) = ws_login(&pbx, user, secret);
        println!("{user}: AMI TCP '{tcp}', WebSocket '{wsr}'");
        assert_eq!(tcp, want(manager_user), "{user} over AMI TCP on major {major}");
        assert_eq!(wsr, tcp, "{user}: the WebSocket login differs from AMI TCP's");
        if tcp == accepted {
            sessions.push((user, ami, c));
        }
    }
    assert_eq!(sessions.len(), if read { 3 } else { 0 });

    // The rights users.conf gives (alice: every class, as manager.c's -1) and manager.conf's
    // narrowing (carol), seen through what each may run and what each receives.
    let mut admin = Ami::connect(pbx.ami_port);
    admin.login("admin", "adminpw");
    let mut counts = Vec::new();
    for (user, ami, c) in &mut sessions {
        let (t, w) = (tcp_commands(ami), ws_commands(c));
        println!("{user}: ListCommands lists {} actions over TCP and the WebSocket alike", t.len());
        assert!(t.len() > 5, "{user}: {t:?}");
        assert_eq!(t, w, "{user}: ListCommands differs");
        counts.push(t.len());
    }
    if let [alice, carol, ..] = counts[..] {
        assert!(
            alice > carol,
            "alice (users.conf: all) runs more actions than carol ({alice} vs {carol})"
        );
    }
    admin.send(&[("Action", "UserEvent"), ("UserEvent", "AmiWsUsersConf"), ("ActionID", "ue")]);
    for (user, ami, c) in &mut sessions {
        let is_ours = |v: &Value| ws::field(v, "UserEvent") == "AmiWsUsersConf";
        let over_ws = c.wait_for(Duration::from_secs(3), is_ours).is_some();
        let over_tcp = ami
            .wait_for(Duration::from_secs(3), |m| get(m, "UserEvent") == "AmiWsUsersConf")
            .is_some();
        println!("{user}: UserEvent received over TCP {over_tcp}, over the WebSocket {over_ws}");
        match *user {
            "alice" => assert!(over_tcp && over_ws, "alice reads every class"),
            "carol" => assert!(!over_tcp && !over_ws, "carol reads only system"),
            // The documented difference: manager.c never allocates the filter lists of a user
            // users.conf creates, so it drops dave's manager.conf eventfilter and sends him the
            // event; the module applies the filter the admin wrote.
            _ => assert!(over_tcp && !over_ws, "dave: TCP ignores his eventfilter, we apply it"),
        }
    }
    pbx.assert_alive("users.conf logins");
    if !read {
        return;
    }
    // The other documented difference: a `manager reload` that re-reads a changed manager.conf
    // drops alice (manager.c keeps only users it created or found in manager.conf in that pass,
    // and skips the unchanged users.conf); the module, not reloaded, keeps her; carol stays.
    let changed = pbx.read_config("manager.conf") + "\n; changed\n";
    pbx.write_config("manager.conf", &changed);
    println!("manager reload: {}", pbx.rx("manager reload").trim());
    std::thread::sleep(Duration::from_secs(1));
    let tcp_alice = tcp_login(&pbx, "alice", "alicepw").0;
    let tcp_carol = tcp_login(&pbx, "carol", "carolpw").0;
    let ws_alice = ws_login(&pbx, "alice", "alicepw").0;
    println!(
        "after manager reload: alice over TCP '{tcp_alice}', carol over TCP '{tcp_carol}', alice over the WebSocket '{ws_alice}'"
    );
    assert_eq!((tcp_alice.as_str(), tcp_carol.as_str()), (failed, accepted));
    assert_eq!(ws_alice, accepted);
    pbx.assert_alive("manager reload");
}
