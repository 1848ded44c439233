//! Opt-in (AMI_WS_ASTERISK=/prefix): in a real Asterisk with res_security_log and a `security`
//! logger channel, WebSocket logins reach the security event framework (transport WS), named
//! ACLs from acl.conf decide `acl =` users (re-evaluated after `module reload acl` and a module
//! reload), and Debian's stock fail2ban `asterisk` filter matches the module's failure lines in
//! the real messages.log with the client's address, as it matches AMI TCP's own lines.

mod common;
mod real_asterisk_pbx;

use std::process::Command;
use std::time::Duration;

use common::ws;
use real_asterisk_pbx::{Ami, NAME, Pbx, Setup, get, prefix_or_skip};

const ACL_CONF: &str = "[loopback]\ndeny = 0.0.0.0/0.0.0.0\npermit = 127.0.0.0/8\n\n\
[lab]\ndeny = 0.0.0.0/0.0.0.0\npermit = 10.0.0.0/8\n";

const USERS: &str = "[admin]\nsecret = adminpw\nread = all\nwrite = all\n\n\
[inside]\nsecret = pw\nread = all\nwrite = all\nacl = loopback\n\n\
[outside]\nsecret = pw\nread = all\nwrite = all\nacl = lab\n\n\
[ghostacl]\nsecret = pw\nread = all\nwrite = all\nacl = nosuch\n";

const LOGGER: &str =
    "[general]\n[logfiles]\nmessages.log => notice,warning,error,verbose,security\n";

fn ws_login(pbx: &Pbx, user: &str, secret: &str) -> String {
    let mut c = ws::connect(pbx.ws_port);
    let id = c.send_action(&[("Action", "Login"), ("Username", user), ("Secret", secret)]);
    let r = c.response(&id, Duration::from_secs(10)).expect("no login response");
    ws::field(&r, "Message").to_string()
}

/// fail2ban-regex with the stock filter over these lines: the hosts of the matched lines, by line.
fn fail2ban(lines: &[&str]) -> Vec<(String, String)> {
    let dir = common::temp_dir("real-f2b");
    let log = dir.join("messages.log");
    std::fs::write(&log, lines.join("\n") + "\n").unwrap();
    let run = |out: &str| -> Vec<String> {
        let o = Command::new("fail2ban-regex")
            .args(["-o", out])
            .arg(&log)
            .arg("/etc/fail2ban/filter.d/asterisk.conf")
            .output()
            .expect("fail2ban-regex (scripts/setup-debian.sh installs it)");
        String::from_utf8_lossy(&o.stdout).lines().map(str::to_string).collect()
    };
    run("msg").into_iter().zip(run("ip")).collect()
}

#[test]
fn security_events_named_acls_and_fail2ban_in_a_real_asterisk() {
    let Some(prefix) = prefix_or_skip("security_events_named_acls_and_fail2ban_in_a_real_asterisk")
    else {
        return;
    };
    let setup = Setup {
        users: USERS,
        files: &[("acl.conf", ACL_CONF), ("logger.conf", LOGGER)],
        preload: &["res_security_log.so"],
    };
    let pbx = Pbx::start(&prefix, &setup);
    pbx.load_module();
    assert!(pbx.wait_log("res_ami_websocket loading on Asterisk", Duration::from_secs(10)));
    println!("{}", pbx.module_log_lines().lines().find(|l| l.contains("loading on")).unwrap_or(""));

    assert_eq!(ws_login(&pbx, "inside", "pw"), "Authentication accepted");
    assert_eq!(ws_login(&pbx, "outside", "pw"), "Authentication failed");
    assert_eq!(ws_login(&pbx, "ghostacl", "pw"), "Authentication failed");
    assert_eq!(ws_login(&pbx, "admin", "wrong"), "Authentication failed");
    assert_eq!(ws_login(&pbx, "nobody", "x"), "Authentication failed");
    // The same two failures over AMI TCP, for the filter's side-by-side check.
    let mut ami = Ami::connect(pbx.ami_port);
    ami.send(&[("Action", "Login"), ("Username", "nobody"), ("Secret", "x"), ("ActionID", "l")]);
    let r = ami.wait_for(Duration::from_secs(10), |m| get(m, "ActionID") == "l");
    assert_eq!(r.as_ref().map(|m| get(m, "Message")), Some("Authentication failed"));

    for line in [
        "Manager User ACL: Rejecting '127.0.0.1' due to a failure to pass ACL 'lab'",
        "ACL 'nosuch' does not exist",
        "127.0.0.1 failed to pass IP ACL as 'outside'",
        "SecurityEvent=\"FailedACL\"",
        "SecurityEvent=\"InvalidPassword\"",
        "SecurityEvent=\"InvalidAccountID\"",
        "SecurityEvent=\"SuccessfulAuth\"",
    ] {
        assert!(pbx.wait_log(line, Duration::from_secs(10)), "no {line:?} in\n{}", pbx.log());
    }
    let log = pbx.log();
    let ours_ws: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("SecurityEvent=") && l.contains("/WS/127.0.0.1/"))
        .collect();
    assert!(
        ours_ws
            .iter()
            .all(|l| l.contains("Service=\"AMI\"") && l.contains("Module=\"res_ami_websocket\"")),
        "{ours_ws:#?}"
    );
    let local = format!("LocalAddress=\"IPV4/WS/127.0.0.1/{}\"", pbx.ws_port);
    assert!(ours_ws.iter().all(|l| l.contains(&local)), "{ours_ws:#?}");
    let names = ["SuccessfulAuth", "FailedACL", "FailedACL", "InvalidPassword", "InvalidAccountID"];
    for (l, n) in ours_ws.iter().zip(names) {
        assert!(l.contains(&format!("SecurityEvent=\"{n}\"")), "{ours_ws:#?}");
    }
    assert_eq!(ours_ws.len(), names.len(), "{ours_ws:#?}");

    // fail2ban: every "failed to authenticate" line (ours: 4; AMI TCP's: 1) and every failure
    // event is matched with 127.0.0.1.
    let failed: Vec<&str> =
        log.lines().filter(|l| l.contains("failed to authenticate as")).collect();
    assert_eq!(failed.len(), 5, "{failed:#?}");
    let events: Vec<&str> = log
        .lines()
        .filter(|l| {
            ["FailedACL", "InvalidPassword", "InvalidAccountID"]
                .iter()
                .any(|n| l.contains(&format!("SecurityEvent=\"{n}\"")))
        })
        .collect();
    let mut wanted = failed.clone();
    wanted.extend(&events);
    let matched = fail2ban(&wanted);
    for line in &wanted {
        let hit = matched.iter().find(|(m, _)| m == line);
        assert_eq!(hit.map(|(_, ip)| ip.as_str()), Some("127.0.0.1"), "{line}\n{matched:#?}");
    }
    println!("fail2ban matched {} lines, e.g.\n  {}\n  {}", matched.len(), failed[0], failed[4]);

    // Reload: acl.conf lets 127.0.0.1 into lab; the core re-reads it, then our reload rebuilds.
    pbx.write_config("acl.conf", &ACL_CONF.replace("permit = 10.0.0.0/8", "permit = 127.0.0.1"));
    pbx.rx("module reload acl");
    let out = pbx.rx(&format!("module reload {NAME}"));
    assert!(!out.contains("failure"), "{out}");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(ws_login(&pbx, "outside", "pw"), "Authentication accepted");
}
