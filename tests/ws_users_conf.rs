//! users.conf's manager users (`hasmanager`) log in when the running Asterisk's manager reads
//! users.conf (20 and 22) and not on 23, whose manager no longer does; a module reload re-reads
//! it and ends the sessions of a user it no longer defines.

mod common;

use std::time::Duration;

use common::ws::{connect, field};
use common::{Opts, StandIn, default_module_conf, free_port};

const MODULE: &str = "res_ami_websocket.so";

const MANAGER: &str = "[general]\nenabled = yes\nbindaddr = 127.0.0.1\n\n\
[carol]\nread = system\nwrite = system\n";

const USERS: &str = "[general]\nhasmanager = no\n\n\
[alice]\nhasmanager = yes\nsecret = alicepw\n\n\
[bob]\nsecret = bobpw\n\n\
[carol]\nhasmanager = yes\nsecret = carolpw\n";

fn start_as(version: &str) -> (StandIn, u16) {
    let port = free_port();
    let conf = default_module_conf(port);
    let files = [("manager.conf", MANAGER), ("users.conf", USERS), ("ami_websocket.conf", &conf)];
    let opts =
        Opts { extra_args: vec!["--asterisk-version".into(), version.into()], ..Opts::default() };
    (StandIn::start(&files, opts), port)
}

fn login(port: u16, user: &str, secret: &str) -> (String, common::ws::WsClient) {
    let mut c = connect(port);
    let r = c.login(user, secret);
    (field(&r, "Message").to_string(), c)
}

#[test]
fn users_conf_users_log_in_on_20_and_22_only() {
    for (version, reads) in [("20.20.1", true), ("22.10.1", true), ("23.1.0", false)] {
        let (s, port) = start_as(version);
        let want = if reads { "Authentication accepted" } else { "Authentication failed" };
        assert_eq!(login(port, "alice", "alicepw").0, want, "alice on {version}: {}", s.log());
        assert_eq!(login(port, "carol", "carolpw").0, want, "carol on {version}");
        assert_eq!(login(port, "bob", "bobpw").0, "Authentication failed", "bob on {version}");
    }
}

#[test]
fn carol_gets_manager_confs_classes_and_alice_every_class() {
    let (_s, port) = start_as("22.10.1");
    let (_, mut alice) = login(port, "alice", "alicepw");
    let (_, mut carol) = login(port, "carol", "carolpw");
    // Command needs class command: alice (users.conf's -1) has it, carol (system) does not.
    for (c, want) in [(&mut alice, "Success"), (&mut carol, "Error")] {
        let id = c.send_action(&[("Action", "Command"), ("Command", "core show version")]);
        let r = c.reply(&id, Duration::from_secs(10)).expect("Command reply");
        assert_eq!(field(&r, "Response"), want, "{r}");
    }
}

#[test]
fn a_reload_rereads_users_conf_and_ends_a_removed_users_sessions() {
    let (s, port) = start_as("22.10.1");
    let (r, mut alice) = login(port, "alice", "alicepw");
    assert_eq!(r, "Authentication accepted");
    let without_alice = USERS.replace("[alice]\nhasmanager = yes", "[alice]\nhasmanager = no");
    std::fs::write(s.config_dir().join("users.conf"), without_alice).expect("write users.conf");
    let out = s.rx(&format!("module reload {MODULE}"));
    assert!(out.contains("reloaded successfully"), "{out}");
    assert_eq!(alice.close_code(Duration::from_secs(5)), Some(1008));
    assert_eq!(login(port, "alice", "alicepw").0, "Authentication failed");
    assert_eq!(login(port, "carol", "carolpw").0, "Authentication accepted");
}
