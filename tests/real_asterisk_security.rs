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

/// One security event line of messages.log (res_security_log's `Key="value",...` format).
fn security_fields(line: &str) -> std::collections::HashMap<String, String> {
    let mut fields = std::collections::HashMap::new();
    let Some(at) = line.find("SecurityEvent=\"") else { return fields };
    let mut rest = &line[at..];
    while let Some((key, after)) = rest.split_once("=\"") {
        let Some((value, tail)) = after.split_once('"') else { break };
        fields.insert(key.trim_start_matches(',').to_string(), value.to_string());
        rest = tail;
    }
    fields
}

/// The request events of one transport (`WS` or `TCP`) in the log, in order: (event,
/// RequestType, AccountID, LocalAddress, RemoteAddress).
fn request_events(log: &str, transport: &str) -> Vec<[String; 5]> {
    log.lines()
        .map(security_fields)
        .filter(|f| {
            let event = f.get("SecurityEvent").map_or("", String::as_str);
            ["RequestNotAllowed", "RequestBadFormat"].contains(&event)
                && f.get("RemoteAddress").is_some_and(|r| r.contains(&format!("/{transport}/")))
        })
        .map(|f| {
            ["SecurityEvent", "RequestType", "AccountID", "LocalAddress", "RemoteAddress"]
                .map(|k| f.get(k).cloned().unwrap_or_default())
        })
        .collect()
}

/// After login, every request AMI TCP reports to the security framework (no Action, an action
/// the user's write classes do not allow, an unknown one) is reported alike for the same
/// request over the WebSocket: same event, RequestType and account, same reply; allowed
/// actions and Originate's own refusal raise none on either. An action whose module was
/// unloaded after the module learned it (res_mutestream's MuteAudio) is unknown on both.
#[test]
fn refused_requests_after_login_match_ami_tcp_in_a_real_asterisk() {
    let Some(prefix) =
        prefix_or_skip("refused_requests_after_login_match_ami_tcp_in_a_real_asterisk")
    else {
        return;
    };
    let users = "[limited]\nsecret = pw\nread = all\nwrite = call,originate\n\n\
                 [admin]\nsecret = adminpw\nread = all\nwrite = all\n";
    // res_mutestream registers MuteAudio (write system); unloading it unregisters the action.
    let setup = Setup {
        users,
        files: &[("logger.conf", LOGGER)],
        preload: &["res_security_log.so", "res_mutestream.so"],
    };
    let pbx = Pbx::start(&prefix, &setup);
    pbx.load_module();
    assert!(pbx.wait_log("res_ami_websocket loading on Asterisk", Duration::from_secs(10)));

    let mut wsc = ws::connect(pbx.ws_port);
    let r = wsc.login("Limited", "pw");
    assert_eq!(ws::field(&r, "Response"), "Success", "{r}");
    let ws_remote = wsc.ws.get_ref().local_addr().unwrap().port();
    let mut ami = Ami::connect(pbx.ami_port);
    ami.send(&[("Action", "Login"), ("Username", "Limited"), ("Secret", "pw"), ("ActionID", "l")]);
    let r = ami.wait_for(Duration::from_secs(10), |m| get(m, "ActionID") == "l");
    assert_eq!(r.as_ref().map(|m| get(m, "Message")), Some("Authentication accepted"));

    let mut wsa = ws::connect(pbx.ws_port);
    let r = wsa.login("admin", "adminpw");
    assert_eq!(ws::field(&r, "Response"), "Success", "{r}");
    let mut amia = Ami::connect(pbx.ami_port);
    amia.login("admin", "adminpw");

    // The Message of one request over the WebSocket and over TCP, whose answers must agree.
    let both = |w: &mut ws::WsClient, t: &mut Ami, pairs: &[(&str, &str)], id: &str| {
        let mut with_id = pairs.to_vec();
        with_id.push(("ActionID", id));
        let wid = w.send_action(&with_id);
        let wr = w.response(&wid, Duration::from_secs(10)).expect("no WebSocket answer");
        t.send(&with_id);
        let tr = t.wait_for(Duration::from_secs(10), |m| get(m, "ActionID") == id);
        let tr = tr.unwrap_or_else(|| panic!("no AMI answer to {pairs:?}"));
        for k in ["Response", "Message"] {
            assert_eq!(ws::field(&wr, k), get(&tr, k), "{k} of {pairs:?}: {wr} vs {tr:?}");
        }
        ws::field(&wr, "Message").to_string()
    };
    // MuteAudio while its module runs: the admin runs it (its own error), the limited user is
    // denied; the module learns its classes. Then res_mutestream is unloaded: AMI answers it as
    // unknown for both, and so must the module (not from what it learned).
    let mute = [("Action", "MuteAudio")];
    assert_eq!(both(&mut wsa, &mut amia, &mute, "m1"), "Channel not specified");
    assert_eq!(both(&mut wsc, &mut ami, &mute, "m2"), "Permission denied");
    let out = pbx.rx("module unload res_mutestream.so");
    assert!(out.contains("Unloaded res_mutestream.so"), "{out}");
    let gone = "Invalid/unknown command: MuteAudio. Use Action: ListCommands to show available \
                commands.";
    assert_eq!(both(&mut wsa, &mut amia, &mute, "m3"), gone);
    assert_eq!(both(&mut wsc, &mut ami, &mute, "m4"), gone);

    let long = format!("NoSuch{}", "x".repeat(58));
    let end = "ZzEndOfCases";
    let not_allowed = |ty: &str| Some(("RequestNotAllowed", format!("Action: {ty}")));
    let bad_format = |ty: &str| Some(("RequestBadFormat", format!("Action: {ty}")));
    type Case<'a> = (Vec<(&'a str, &'a str)>, Option<(&'a str, String)>);
    let cases: Vec<Case> = vec![
        (vec![("Action", "Ping")], None),
        (vec![("Action", "Command"), ("Command", "core show uptime")], not_allowed("Command")),
        (vec![("Action", "command"), ("Command", "core show uptime")], not_allowed("command")),
        (
            vec![("Action", "Filter"), ("Operation", "Add"), ("Filter", "Event: Hangup")],
            not_allowed("Filter"),
        ),
        (vec![("Action", "NoSuchAction")], bad_format("NoSuchAction")),
        (vec![("Action", &long)], bad_format(&long[..55])),
        (vec![("Foo", "bar")], bad_format("NONE")),
        (vec![("Action", "Originate"), ("Channel", "Local/1@x"), ("Application", "System")], None),
        // Needs system or reporting.
        (vec![("Action", "CoreSettings")], not_allowed("CoreSettings")),
        (vec![("Action", "Getvar"), ("Variable", "AMI_WS_UNSET")], None),
        (vec![("Action", end)], bad_format(end)),
    ];
    for (n, (pairs, _)) in cases.iter().enumerate() {
        both(&mut wsc, &mut ami, pairs, &format!("c{n}"));
    }
    let last = format!("RequestType=\"Action: {end}\"");
    let logged = || {
        let log = pbx.log();
        log.lines().filter(|l| l.contains(&last)).count() == 2
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !logged() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = pbx.log();
    let (ours, theirs) = (request_events(&log, "WS"), request_events(&log, "TCP"));
    let kinds = |evs: &[[String; 5]]| -> Vec<(String, String, String)> {
        evs.iter().map(|e| (e[0].clone(), e[1].clone(), e[2].clone())).collect()
    };
    let row = |e: &str, t: &str, a: &str| (e.to_string(), t.to_string(), a.to_string());
    let mut expected = vec![
        row("RequestNotAllowed", "Action: MuteAudio", "Limited"),
        row("RequestBadFormat", "Action: MuteAudio", "admin"),
        row("RequestBadFormat", "Action: MuteAudio", "Limited"),
    ];
    expected.extend(cases.iter().filter_map(|c| c.1.clone()).map(|(e, t)| row(e, &t, "Limited")));
    assert_eq!(kinds(&theirs), expected, "AMI TCP's events (the reference)");
    assert_eq!(kinds(&ours), kinds(&theirs), "WebSocket events differ from AMI TCP's");
    let admin_remote = wsa.ws.get_ref().local_addr().unwrap().port();
    for e in &ours {
        assert_eq!(e[3], format!("IPV4/WS/127.0.0.1/{}", pbx.ws_port), "{e:?}");
        let remote = if e[2] == "admin" { admin_remote } else { ws_remote };
        assert_eq!(e[4], format!("IPV4/WS/127.0.0.1/{remote}"), "{e:?}");
    }
    for e in &theirs {
        assert_eq!(e[3], format!("IPV4/TCP/127.0.0.1/{}", pbx.ami_port), "{e:?}");
    }
    let ws_lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("/WS/") && l.contains("SecurityEvent=\"Request"))
        .collect();
    assert!(ws_lines.iter().all(|l| l.contains("Module=\"res_ami_websocket\"")), "{ws_lines:#?}");
    println!(
        "{} request events on each side, e.g.\n  WS:  {:?}\n  TCP: {:?}",
        ours.len(),
        ours.get(1),
        theirs.get(1)
    );
}
