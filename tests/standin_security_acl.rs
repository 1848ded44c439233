//! The stand-in's security event framework and ACL lists bite like Asterisk's: a C test module
//! (tests/fixtures/secmod.c) reports events and builds, applies and frees ACL lists with named
//! ACLs from acl.conf, and the stand-in answers, logs and records what main/security_events.c,
//! res_security_log.c, main/acl.c and main/named_acl.c do (or aborts where Asterisk crashes).

mod common;

use std::time::Duration;

use common::probe::cc_module;
use common::{Opts, StandIn};

const SIGABRT: i32 = 6;

const ACL_CONF: &str = "[office]\ndeny = 0.0.0.0/0\npermit = 10.1.0.0/16\n\n[empty]\n";

fn with_secmod(defines: &[&str]) -> StandIn {
    let opts = Opts { piped_stdin: true, ..Opts::default() };
    let s = StandIn::start(&[("acl.conf", ACL_CONF)], opts);
    cc_module("secmod.c", defines, &s.moddir(), "secmod.so");
    s
}

#[test]
fn security_events_are_checked_recorded_and_logged_as_asterisk_does() {
    let s = with_secmod(&[]);
    assert!(s.rx("module load secmod.so").contains("Loaded secmod.so"), "{}", s.log());
    let log = s.core_log();
    for line in [
        "secmod: good event 0",
        "Security event 12 version mismatch",
        "secmod: wrong version -1",
        "Invalid security event type",
        "secmod: bad type -1",
        "Required IE 'AccountID' for security event type '0' (FailedACL) not present",
        "Failed to issue security event of type FailedACL.",
        "secmod: missing account 0",
    ] {
        assert!(log.contains(line), "no {line:?} in\n{log}");
    }
    let recorded = s.rx("standin show security");
    let mut lines = recorded.lines();
    assert_eq!(lines.next(), Some("security events: 1"), "{recorded}");
    let ev = lines.next().unwrap_or_default();
    for part in [
        "SecurityEvent=\"InvalidPassword\",EventTV=\"",
        "\",Severity=\"Error\",Service=\"TEST\",EventVersion=\"2\",AccountID=\"alice\",\
         SessionID=\"s1\",LocalAddress=\"IPV4/WS/127.0.0.1/8765\",\
         RemoteAddress=\"IPV6/WSS/2001:db8::7/40000\",SessionTV=\"",
        ",ReceivedHash=\"abc\"",
    ] {
        assert!(ev.contains(part), "no {part:?} in {ev}");
    }
    assert!(!ev.contains("Module="), "optional IEs left NULL are omitted: {ev}");
    // res_security_log's line in the messages log, at SECURITY level.
    let messages = s.rx("standin show messages");
    assert!(
        messages.lines().any(|l| l.contains("] SECURITY[")
            && l.contains(" res_security_log.c: SecurityEvent=\"InvalidPassword\"")),
        "{messages}"
    );
}

#[test]
fn acl_lists_and_named_acls_behave_as_acl_c() {
    let s = with_secmod(&[]);
    assert!(s.rx("module load secmod.so").contains("Loaded secmod.so"), "{}", s.log());
    let log = s.core_log();
    for line in [
        "secmod: base error 0 named 0",
        "secmod: office error 0 named 1",
        "secmod: base+office 10.1.2.3 allow 10.9.9.9 deny 192.168.1.1 deny 8.8.8.8 deny",
        "secmod ACL: Rejecting '10.9.9.9' due to a failure to pass ACL 'office'",
        "secmod ACL: Rejecting '8.8.8.8' due to a failure to pass ACL '(BASELINE)'",
        "Named ACL 'Office' occurs multiple times in ACL definition.",
        "secmod: duplicate error 1",
        "ACL 'nosuch' does not exist. The ACL will be marked as undefined",
        "secmod ACL: Rejecting '10.1.2.3' due to use of an invalid ACL 'nosuch'.",
        "secmod: undefined error 0 named 1 10.1.2.3 deny",
        "ACL 'empty' contains no rules.",
        "secmod: empty 8.8.8.8 allow ::1 allow",
        "Invalid IP address: not-an-ip",
        "secmod: bad rule error 1",
        "secmod: NULL list allow",
    ] {
        assert!(log.contains(line), "no {line:?} in\n{log}");
    }
    let shown = s.rx("acl show office");
    assert!(
        shown.contains("deny: 0.0.0.0/0.0.0.0") && shown.contains("allow: 10.1.0.0/255.255.0.0"),
        "{shown}"
    );
}

#[test]
fn a_null_event_or_a_list_freed_twice_aborts_like_asterisk() {
    for (define, says) in [
        ("NULL_EVENT", "standin: CRASH: ast_security_event_report(NULL)"),
        (
            "DOUBLE_FREE",
            "standin: CRASH: ast_free_acl_list of an ACL list that was never made or was already freed",
        ),
    ] {
        let mut s = with_secmod(&[define]);
        s.type_line("module load secmod.so");
        assert!(s.wait_exit(Duration::from_secs(20)).is_some(), "{define}: survived\n{}", s.log());
        assert_eq!(s.exit_signal(), Some(SIGABRT), "{define}:\n{}", s.log());
        s.expect_log(says);
    }
}

#[test]
fn acl_conf_missing_leaves_named_acls_unavailable_as_in_asterisk() {
    let s = StandIn::start(&[], Opts::default());
    cc_module("secmod.c", &[], &s.moddir(), "secmod.so");
    s.rx("module load secmod.so");
    let log = s.core_log();
    assert!(log.contains("Unable to load config file 'acl.conf'"), "{log}");
    assert!(
        log.contains(
            "Attempted to find named ACL 'office', but the ACL configuration isn't available."
        ),
        "{log}"
    );
    // named_acl.c then hands back no rules and does not mark the ACL undefined: it allows.
    assert!(log.contains("secmod: base+office 10.1.2.3 allow 10.9.9.9 allow"), "{log}");
}
