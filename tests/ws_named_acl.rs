//! `acl = name` in manager.conf, as manager.c applies it: the named ACLs come from acl.conf
//! through the core (`ast_append_acl`, `ast_apply_acl`), together with the user's permit/deny
//! lines (every list must allow); an unknown name refuses everyone; a reload (after
//! `module reload acl` for acl.conf) changes who may log in; without a readable acl.conf the
//! user is refused with a warning (Asterisk would let everyone pass).

mod common;

use std::time::Duration;

use common::ws::{WsClient, connect, field};
use common::{Opts, StandIn, default_module_conf, free_port};

const MODULE: &str = "res_ami_websocket.so";

const ACL_CONF: &str = "[loopback]\ndeny = 0.0.0.0/0.0.0.0\npermit = 127.0.0.0/8\n\n\
[lab]\ndeny = 0.0.0.0/0.0.0.0\npermit = 10.0.0.0/8\n";

const MANAGER: &str = "[general]\nenabled = yes\nbindaddr = 127.0.0.1\n\n\
[inside]\nsecret = pw\nread = all\nwrite = all\nacl = loopback\n\n\
[outside]\nsecret = pw\nread = all\nwrite = all\nacl = lab\n\n\
[both]\nsecret = pw\nread = all\nwrite = all\ndeny = 0.0.0.0/0\npermit = 127.0.0.1\nacl = loopback\n\n\
[narrowed]\nsecret = pw\nread = all\nwrite = all\ndeny = 0.0.0.0/0\npermit = 127.0.0.2\nacl = loopback\n\n\
[ghostacl]\nsecret = pw\nread = all\nwrite = all\nacl = nosuch\n";

fn start(files: &[(&str, &str)]) -> (StandIn, u16) {
    let port = free_port();
    let conf = default_module_conf(port);
    let mut all = vec![("ami_websocket.conf", conf.as_str())];
    all.extend_from_slice(files);
    (StandIn::start(&all, Opts::default()), port)
}

fn try_login(port: u16, user: &str) -> (String, WsClient) {
    let mut c = connect(port);
    let id = c.send_action(&[("Action", "Login"), ("Username", user), ("Secret", "pw")]);
    let r = c.response(&id, Duration::from_secs(10)).expect("no login response");
    (field(&r, "Message").to_string(), c)
}

fn security_events(s: &StandIn) -> Vec<String> {
    s.rx("standin show security").lines().skip(1).map(str::to_string).collect()
}

#[test]
fn named_acls_from_acl_conf_decide_with_permit_and_deny() {
    let (s, port) = start(&[("acl.conf", ACL_CONF), ("manager.conf", MANAGER)]);
    assert_eq!(try_login(port, "inside").0, "Authentication accepted");
    assert_eq!(try_login(port, "both").0, "Authentication accepted");
    assert_eq!(try_login(port, "outside").0, "Authentication failed");
    assert_eq!(try_login(port, "narrowed").0, "Authentication failed");
    assert_eq!(try_login(port, "ghostacl").0, "Authentication failed");
    let log = s.core_log();
    for line in [
        // The core refused with manager.c's prefix: the named ACL, then the undefined one.
        "Manager User ACL: Rejecting '127.0.0.1' due to a failure to pass ACL 'lab'",
        "ACL 'nosuch' does not exist. The ACL will be marked as undefined",
        "Manager User ACL: Rejecting '127.0.0.1' due to use of an invalid ACL 'nosuch'.",
        "127.0.0.1 failed to pass IP ACL as 'outside'",
        "127.0.0.1 failed to pass IP ACL as 'narrowed'",
        "127.0.0.1 failed to pass IP ACL as 'ghostacl'",
    ] {
        assert!(log.contains(line), "no {line:?} in\n{log}");
    }
    // narrowed's own permit/deny refuses before the core is asked.
    assert!(!log.contains("due to a failure to pass ACL 'loopback'"), "{log}");
    let failed: Vec<String> =
        security_events(&s).into_iter().filter(|e| e.contains("\"FailedACL\"")).collect();
    assert_eq!(failed.len(), 3, "{failed:#?}");
    assert!(failed[0].contains("AccountID=\"outside\""), "{failed:#?}");
}

#[test]
fn reload_re_evaluates_named_acls() {
    let (s, port) = start(&[("acl.conf", ACL_CONF), ("manager.conf", MANAGER)]);
    assert_eq!(try_login(port, "outside").0, "Authentication failed");
    // acl.conf changes: the core re-reads it on `module reload acl`, our users take the new
    // rules on our reload.
    let lab_open = ACL_CONF.replace("permit = 10.0.0.0/8", "permit = 127.0.0.1");
    std::fs::write(s.config_dir().join("acl.conf"), lab_open).unwrap();
    assert!(s.rx("standin acl reload").contains("reloaded successfully"));
    let out = s.rx(&format!("module reload {MODULE}"));
    assert!(out.contains("reloaded successfully"), "{out}");
    assert_eq!(try_login(port, "outside").0, "Authentication accepted");
    // manager.conf changes: inside now names lab's former rules through a new ACL name.
    let acl2 = format!("{ACL_CONF}\n[tenonly]\ndeny = 0.0.0.0/0\npermit = 10.0.0.0/8\n");
    std::fs::write(s.config_dir().join("acl.conf"), acl2).unwrap();
    s.rx("standin acl reload");
    let manager = MANAGER.replace("acl = loopback\n\n[outside]", "acl = tenonly\n\n[outside]");
    std::fs::write(s.config_dir().join("manager.conf"), manager).unwrap();
    assert!(s.rx(&format!("module reload {MODULE}")).contains("reloaded successfully"));
    assert_eq!(try_login(port, "inside").0, "Authentication failed");
    assert!(s.core_log().contains("due to a failure to pass ACL 'tenonly'"));
}

#[test]
fn without_acl_conf_named_acl_users_are_refused_with_a_warning() {
    let (s, port) = start(&[("manager.conf", MANAGER)]);
    assert_eq!(try_login(port, "inside").0, "Authentication failed");
    let log = s.core_log();
    assert!(log.contains("acl.conf cannot be read, so Asterisk has no named ACLs"), "{log}");
    assert!(log.contains("inside, outside, both, narrowed, ghostacl"), "{log}");
}
