//! The stand-in behaves (and bites) like Asterisk: it aborts where Asterisk would crash (Getvar
//! through the hook, a hook registered twice, Hangup at verbosity 3), refuses modules Asterisk
//! refuses, reports a module that stays mapped, parses and answers hook actions as recorded,
//! logs, configures, generates traffic and takes commands as documented. Also runs the unit
//! tests of the stand-in's pure parts (included below).

mod common;

#[path = "host/amimsg.rs"]
#[allow(dead_code)]
mod amimsg;
#[path = "host/cliwords.rs"]
#[allow(dead_code)]
mod cliwords;
#[path = "host/config.rs"]
#[allow(dead_code)]
mod config;
#[path = "host/world.rs"]
#[allow(dead_code)]
mod world;

use std::process::Command;
use std::time::{Duration, Instant};

use common::probe::{self, cc_module, counts, hex, probe, probe_with, send, standin_with};
use common::{Opts, StandIn};

const SIGABRT: i32 = 6;

fn with_tiny(defines: &[&str], name: &str) -> StandIn {
    standin_with("tinymod.c", defines, name, Opts::default())
}

#[test]
fn getvar_forwarded_by_a_test_build_aborts_the_standin() {
    let module = probe::build_variant("unsafe-test-forward-getvar", "bites");
    let mut s = StandIn::start(&[], Opts { module: Some(module), ..Opts::default() });
    let status = s.wait_exit(Duration::from_secs(30));
    assert!(status.is_some(), "the stand-in survived a forwarded Getvar:\n{}", s.log());
    assert_eq!(s.exit_signal(), Some(SIGABRT), "expected SIGABRT:\n{}", s.log());
    s.expect_log("standin: CRASH: Getvar through ast_hook_send_action would crash Asterisk");
}

#[test]
fn module_with_a_bad_key_is_refused() {
    let s = with_tiny(&["BAD_KEY"], "badkey.so");
    let out = s.rx("module load badkey.so");
    assert!(out.contains("Unable to load module badkey.so"), "{out}");
    s.expect_log("Module 'badkey.so' did not provide a valid license key.");
    s.expect_log("Module 'badkey.so' could not be loaded.");
    let log = s.core_log();
    assert!(!log.contains("tinymod loaded"), "load() ran for a refused module:\n{log}");
    assert!(s.rx("module show like badkey").contains("0 modules loaded"));
}

#[test]
fn module_that_does_not_register_is_refused() {
    let s = with_tiny(&["NO_REGISTER"], "noreg.so");
    assert!(s.rx("module load noreg.so").contains("Unable to load module noreg.so"));
    s.expect_log("Module 'noreg.so' did not register itself during load");
}

#[test]
fn module_built_with_other_options_is_refused_and_a_good_one_loads() {
    let s = with_tiny(&["BAD_BUILDOPT"], "badopt.so");
    cc_module("tinymod.c", &[], &s.moddir(), "good.so");
    assert!(s.rx("module load badopt.so").contains("Unable to load module badopt.so"));
    s.expect_log("Module 'badopt.so' was not compiled with the same compile-time options");
    assert!(s.rx("module load good.so").contains("Loaded good.so"), "{}", s.log());
    assert!(s.rx("module show like good").contains("Running"));
    assert!(s.rx("module unload good.so").contains("Unloaded good.so"));
    let log = s.core_log();
    assert!(!log.contains("could not be completely unloaded"), "{log}");
}

#[test]
fn module_that_stays_mapped_is_reported() {
    let s = with_tiny(&["STAY_MAPPED"], "sticky.so");
    assert!(s.rx("module load sticky.so").contains("Loaded sticky.so"), "{}", s.log());
    assert!(s.rx("module unload sticky.so").contains("Unloaded sticky.so"));
    s.expect_log("Module 'sticky.so' could not be completely unloaded");
}

#[test]
fn declined_and_refused_unloads_behave_like_asterisk() {
    let s = with_tiny(&["DECLINE"], "decline.so");
    cc_module("tinymod.c", &["REFUSE_UNLOAD"], &s.moddir(), "stubborn.so");
    assert!(s.rx("module load decline.so").contains("Unable to load module decline.so"));
    assert!(s.rx("module show like decline").contains("Not Running"));
    assert!(s.rx("module unload decline.so").contains("Unloaded decline.so"));
    s.expect_log("Unloading module 'decline.so' that previously declined to load");
    assert!(s.rx("module load stubborn.so").contains("Loaded stubborn.so"));
    assert!(s.rx("module unload stubborn.so").contains("Unable to unload resource stubborn.so"));
    s.expect_log("Firm unload failed for stubborn.so");
    assert!(s.rx("module show like stubborn").contains("Running"));
}

#[test]
fn log_lines_and_levels_look_like_asterisk() {
    let s = standin_with("tinymod.c", &[], "tiny.so", Opts { verbose: 2, ..Opts::default() });
    assert!(s.rx("module load tiny.so").contains("Loaded tiny.so"));
    let log = s.core_log();
    let line = log.lines().find(|l| l.contains("tinymod loaded")).expect("the module's notice");
    assert!(line.starts_with('[') && line.contains("] NOTICE["), "{line}");
    assert!(
        line.contains("]: ")
            && line.contains("tinymod.c:")
            && line.ends_with(" load_module: tinymod loaded, verbose 2"),
        "{line}"
    );
    assert!(!log.contains("tinymod debug"), "debug logged with option_debug 0:\n{log}");
    assert_eq!(s.rx("core set debug 1"), "Core debug was OFF and is now 1.\n");
    assert_eq!(s.rx("core set verbose 5"), "Console verbose was 2 and is now 5.\n");
    assert_eq!(s.rx("core set verbose atleast 3"), "Console verbose is still 5.\n");
    assert!(s.rx("module unload tiny.so").contains("Unloaded"));
    assert!(s.rx("module load tiny.so").contains("Loaded"));
    let log = s.core_log();
    assert!(log.contains("tinymod debug 1") && log.contains("tinymod loaded, verbose 5"), "{log}");
}

#[test]
fn cli_dispatch_usage_and_unknown_commands() {
    let s = StandIn::start(&[], Opts::default());
    assert!(s.rx("module load").starts_with("Usage: module load"), "{}", s.rx("module load"));
    assert_eq!(
        s.rx("frob nicate"),
        "No such command 'frob nicate' (type 'core show help frob' for other possible commands)\n"
    );
    let status = s.rx("ws show status");
    assert!(
        !status.contains("No such command"),
        "the module's command is not dispatched: {status}"
    );
    assert!(s.rx("module unload res_ami_websocket.so").contains("Unloaded"));
    assert!(s.rx("ws show status").starts_with("No such command 'ws show status'"));
    assert!(s.rx("core show help module").contains("module show [like]"));
}

#[test]
fn config_files_reach_modules_as_asterisk_lists() {
    let files = [
        (
            "test.conf",
            "[general]\nenabled=yes ; c\n[t](!)\nread => all\n[u](t)\nsecret = x\n#include \"inc.conf\"\n",
        ),
        ("inc.conf", "[inc]\nk=v\n"),
        ("bad.conf", "[open\n"),
        ("manager.conf", "[general]\nenabled = no\n"),
    ];
    let s = probe_with(&files, Opts::default());
    let out = s.rx("hookprobe config test.conf");
    let expected = "CATEGORY general\nVAR enabled=yes 0 0\nCATEGORY u\nVAR read=all 1 1\nVAR secret=x 0 0\n\
                    CATEGORY inc\nVAR k=v 0 0\nENABLED 0\n";
    assert_eq!(out, expected);
    assert_eq!(s.rx("hookprobe config bad.conf"), "INVALID\nENABLED 0\n");
    assert_eq!(s.rx("hookprobe config none.conf"), "MISSING\nENABLED 0\n");
    assert!(probe(0).rx("hookprobe config none.conf").ends_with("ENABLED 1\n"));
}

#[test]
fn hook_parsing_drops_headers_past_128_and_splits_on_bare_lf() {
    let s = probe(0);
    let mut action = String::from("Action: UserEvent\nUserEvent: Many\n");
    for i in 1..=200 {
        action.push_str(&format!("H{i}: {i}\n"));
    }
    action.push('\n');
    let sent = send(&s, &action);
    assert_eq!(sent.ret, 0);
    let events = sent.events();
    assert_eq!(events.len(), 1, "one UserEvent expected: {:?}", sent.lines);
    let body = &events[0].body;
    assert!(body.contains("H126: 126\r\n"), "{body}");
    assert!(!body.contains("H127:"), "header 129 and later must be dropped: {body}");
    let lf = send(&s, "Action: Ping\n\n\nActionID: lf1\n\n");
    let p = lf.pieces();
    assert_eq!(p.len(), 3, "{p:?}");
    assert_eq!((p[0], p[1]), ("Response: Success\r\n", "ActionID: lf1\r\n"));
    assert!(p[2].starts_with("Ping: Pong\r\nTimestamp: "), "{p:?}");
}

#[test]
fn responses_come_in_pieces_like_the_recording() {
    let s = probe(0);
    let ping = send(&s, "Action: Ping\r\nActionID: p1\r\n\r\n");
    assert_eq!((ping.ret, ping.pieces().len()), (0, 3));
    assert!(ping.lines.iter().all(|l| l.category == 1 << 14 && l.event == "HookResponse"));
    let login = send(&s, "Action: Login\r\nUsername: admin\r\nSecret: adminpw\r\n\r\n");
    assert_eq!((login.ret, login.lines.len()), (0, 0));
    let unknown = send(&s, "Action: NoSuchAction\r\nActionID: x1\r\n\r\n");
    assert_eq!((unknown.ret, unknown.lines.len()), (0, 0));
    let logoff = send(&s, "Action: Logoff\r\nActionID: lo1\r\n\r\n");
    assert_eq!(logoff.ret, -1);
    assert_eq!(
        logoff.pieces(),
        ["Response: Goodbye\r\nActionID: lo1\r\nMessage: Thanks for all the fish.\r\n\r\n"]
    );
    let ue = send(
        &s,
        "Action: UserEvent\r\nUserEvent: Probe\r\nFoo: bar\r\nFoo: baz\r\nActionID: u1\r\n\r\n",
    );
    assert_eq!(ue.pieces(), ["Response: Success\r\nActionID: u1\r\nMessage: Event Sent\r\n\r\n"]);
    let ev = ue.events();
    assert_eq!(ev.len(), 1);
    assert_eq!((ev[0].category, ev[0].event.as_str()), (1 << 6, "UserEvent"));
    assert!(
        ev[0].body.starts_with("Event: UserEvent\r\nPrivilege: user,all\r\nTimestamp: "),
        "{}",
        ev[0].body
    );
    assert!(
        ev[0].body.ends_with("UserEvent: Probe\r\nFoo: bar\r\nFoo: baz\r\nActionID: u1\r\n\r\n")
    );
    let cmd = send(&s, "Action: Command\r\nCommand: core show uptime\r\nActionID: c1\r\n\r\n");
    let p = cmd.pieces();
    assert_eq!(p.len(), 5, "{p:?}");
    assert_eq!(
        (p[0], p[1]),
        ("Response: Success\r\nActionID: c1\r\n", "Message: Command output follows\r\n")
    );
    assert!(
        p[2].starts_with("Output: System uptime: ") && p[3].starts_with("Output: Last reload: ")
    );
    assert_eq!(p[4], "\r\n");
    let csc = send(&s, "Action: CoreShowChannels\r\nActionID: csc1\r\n\r\n");
    assert_eq!(
        csc.pieces(),
        [
            "Response: Success\r\nActionID: csc1\r\nEventList: start\r\nMessage: Channels will follow\r\n\r\n",
            "Event: CoreShowChannelsComplete\r\nActionID: csc1\r\nEventList: Complete\r\nListItems: 0\r\n\r\n"
        ]
    );
    let put =
        send(&s, "Action: DBPut\r\nFamily: probe\r\nKey: k\r\nVal: v\r\nActionID: db1\r\n\r\n");
    assert_eq!(
        put.pieces(),
        ["Response: Success\r\nActionID: db1\r\nMessage: Updated database successfully\r\n\r\n"]
    );
    let get = send(&s, "Action: DBGet\r\nFamily: probe\r\nKey: k\r\nActionID: db2\r\n\r\n");
    assert_eq!(
        get.pieces(),
        [
            "Response: Success\r\nActionID: db2\r\nEventList: start\r\nMessage: Result will follow\r\n\r\n",
            "Event: DBGetResponse\r\nFamily: probe\r\nKey: k\r\nVal: v\r\nActionID: db2\r\n\r\n",
            "Event: DBGetComplete\r\nActionID: db2\r\nEventList: Complete\r\nListItems: 1\r\n",
            "\r\n"
        ]
    );
    let lc = send(&s, "Action: ListCategories\r\nFilename: manager.conf\r\nActionID: lc1\r\n\r\n");
    assert_eq!(
        lc.pieces(),
        [
            "Response: Success\r\nActionID: lc1\r\n",
            "Category-000000: general\r\n",
            "Category-000001: admin\r\n",
            "\r\n"
        ]
    );
    let outside = send(&s, "Action: GetConfig\r\nFilename: /etc/passwd\r\n\r\n");
    assert_eq!(
        outside.pieces(),
        ["Response: Error\r\nMessage: File requires escalated privileges\r\n\r\n"]
    );
}

#[test]
fn command_action_refuses_blacklisted_and_can_be_slow() {
    let s = probe(0);
    let bl = send(&s, "Action: Command\r\nCommand: module  unload res_ami_websocket.so\r\n\r\n");
    assert_eq!(bl.pieces(), ["Response: Error\r\nMessage: Command blacklisted\r\n\r\n"]);
    let t = Instant::now();
    let slow = send(&s, "Action: Command\r\nCommand: standin sleep 1\r\n\r\n");
    assert!(t.elapsed() >= Duration::from_secs(1), "Command returned before the command ended");
    assert!(slow.pieces().contains(&"Output: slept 1 s\r\n"), "{:?}", slow.pieces());
}

#[test]
fn originate_system_is_recorded_and_hangup_at_verbose_3_aborts() {
    let mut s = probe(0);
    let o = send(
        &s,
        "Action: Originate\r\nChannel: Local/park@default\r\nApplication: SYSTEM\r\nData: touch /tmp/pwned\r\n\
         Variable: STANDIN_DURATION=60\r\nAsync: true\r\nActionID: o1\r\n\r\n",
    );
    assert_eq!(
        o.pieces(),
        ["Response: Success\r\nActionID: o1\r\nMessage: Originate successfully queued\r\n\r\n"]
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut executed = String::new();
    while Instant::now() < deadline && !executed.contains("touch /tmp/pwned") {
        std::thread::sleep(Duration::from_millis(50));
        executed = s.rx("standin show executed");
    }
    assert_eq!(executed, "executed: 1\ntouch /tmp/pwned\n");
    assert!(!std::path::Path::new("/tmp/pwned").exists(), "System must never run");
    let list = send(&s, "Action: CoreShowChannels\r\n\r\n");
    let chan = list
        .pieces()
        .iter()
        .find_map(|p| p.lines().find_map(|l| l.strip_prefix("Channel: ")).map(str::to_string))
        .expect("a live channel");
    let missing = send(&s, "Action: Hangup\r\nChannel: Local/none-00000000;1\r\n\r\n");
    assert_eq!(missing.pieces(), ["Response: Error\r\nMessage: No such channel\r\n\r\n"]);
    s.rx("core set verbose 3");
    let hangup = format!("Action: Hangup\r\nChannel: {chan}\r\n\r\n");
    let _ = s.try_rx(&format!("hookprobe send {}", hex(&hangup)), Duration::from_secs(10));
    assert!(
        s.wait_exit(Duration::from_secs(10)).is_some(),
        "survived Hangup at verbose 3:\n{}",
        s.log()
    );
    assert_eq!(s.exit_signal(), Some(SIGABRT));
    s.expect_log("standin: CRASH: Hangup through ast_hook_send_action would crash Asterisk");
}

#[test]
fn registering_the_same_hook_twice_aborts() {
    let mut s = probe(0);
    let _ = s.try_rx("hookprobe register-twice", Duration::from_secs(10));
    assert!(s.wait_exit(Duration::from_secs(10)).is_some(), "survived a double registration");
    assert_eq!(s.exit_signal(), Some(SIGABRT));
    s.expect_log("standin: CRASH: the same manager_custom_hook registered twice");
}

#[test]
fn manager_show_command_prints_the_write_classes() {
    let s = StandIn::start(&[], Opts::default());
    assert!(s.rx("manager show command Originate").contains("[Privilege]\noriginate,all\n"));
    assert!(s.rx("manager show command Ping").contains("[Privilege]\n<none>\n"));
    assert!(s.rx("manager show command hangup").contains("[Privilege]\nsystem,call,all\n"));
    assert!(s.rx("manager show command DBGet").contains("[Privilege]\nsystem,reporting,all\n"));
    assert!(s.rx("manager show commands").contains("PJSIPShowEndpoints"));
}

/// Parses CoreShowChannel items into (Channel, Uniqueid, Linkedid).
fn live_channels(s: &StandIn) -> Vec<(String, String, String)> {
    let sent = send(s, "Action: CoreShowChannels\r\n\r\n");
    let field = |p: &str, name: &str| {
        p.lines().find_map(|l| l.strip_prefix(name)).unwrap_or("").to_string()
    };
    sent.pieces()
        .iter()
        .filter(|p| p.starts_with("Event: CoreShowChannel\r\n"))
        .map(|p| (field(p, "Channel: "), field(p, "Uniqueid: "), field(p, "Linkedid: ")))
        .collect()
}

#[test]
fn traffic_makes_live_calls_from_several_threads() {
    let s = probe(0);
    assert!(s.rx("traffic rate 30").contains("30"));
    std::thread::sleep(Duration::from_secs(4));
    let live = live_channels(&s);
    assert!(!live.is_empty(), "no live channels under traffic");
    for (_, uid, linked) in &live {
        let group: Vec<_> = live.iter().filter(|c| &c.2 == linked).collect();
        if group.len() == 2 {
            assert!(
                group.iter().any(|c| &c.1 == linked),
                "Linkedid {linked} names no channel of its call"
            );
        }
        assert!(!uid.is_empty());
    }
    let (victim, _, _) = live[0].clone();
    let h = send(&s, &format!("Action: Hangup\r\nChannel: {victim}\r\n\r\n"));
    assert_eq!(h.pieces(), ["Response: Success\r\nMessage: Channel Hungup\r\n\r\n"]);
    s.rx("traffic off");
    let deadline = Instant::now() + Duration::from_secs(5);
    while live_channels(&s).iter().any(|c| c.0 == victim) {
        assert!(Instant::now() < deadline, "{victim} still up after Hangup");
        std::thread::sleep(Duration::from_millis(50));
    }
    let c = counts(&s);
    for name in [
        "Newchannel",
        "Newexten",
        "VarSet",
        "DialBegin",
        "DialEnd",
        "Newstate",
        "BridgeCreate",
        "BridgeEnter",
        "SoftHangupRequest",
        "Hangup",
    ] {
        assert!(c.of(name) > 0, "no {name} events: {:?}", c.by_name);
    }
    assert!(c.of("Newchannel") >= 20, "{:?}", c.by_name);
    assert!(c.threads >= 2, "events came from {} thread(s)", c.threads);
}

#[test]
fn replay_and_burst_raise_the_expected_events() {
    let s = probe(0);
    let recorded: Vec<String> = std::fs::read_to_string(
        probe::manifest_dir().join("tests/fixtures/hook-capture-22.10.1.jsonl"),
    )
    .expect("fixture")
    .lines()
    .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
    .filter(|v| v["kind"] == "event")
    .map(|v| v["event"].as_str().unwrap_or_default().to_string())
    .collect();
    let before = counts(&s);
    assert!(
        s.rx("traffic replay").contains(&format!("replaying {} recorded events", recorded.len()))
    );
    s.expect_log(&format!("standin: replayed {} recorded events", recorded.len()));
    let after = counts(&s);
    for name in ["Newexten", "VarSet", "UserEvent", "Hangup", "BridgeEnter"] {
        let n = recorded.iter().filter(|e| *e == name).count() as u64;
        assert_eq!(after.of(name) - before.of(name), n, "{name}");
    }
    assert!(s.rx("traffic burst 2000 20000").contains("burst started"));
    s.expect_log("standin: burst done: 2000 events");
    let burst = counts(&s);
    assert_eq!(burst.of("UserEvent") - after.of("UserEvent"), 2000);
    let (name, body) = &burst.last;
    assert_eq!(name, "UserEvent");
    assert!(body.contains("UserEvent: Burst\r\nSeq: 1999\r\nSentNs: "), "{body}");
    let sent_ns: u128 = body
        .lines()
        .find_map(|l| l.strip_prefix("SentNs: "))
        .and_then(|v| v.parse().ok())
        .expect("SentNs");
    let now_ns =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    assert!(
        now_ns > sent_ns && now_ns - sent_ns < 60_000_000_000,
        "SentNs is not a recent time: {sent_ns}"
    );
}

#[test]
fn console_rx_client_and_core_stop_now() {
    let mut s = StandIn::start(&[], Opts { piped_stdin: true, ..Opts::default() });
    s.type_line("core show version");
    s.expect_log("Asterisk 22.10.1-standin built by standin");
    let out = Command::new(common::standin_bin())
        .arg("--control")
        .arg(s.socket())
        .args(["--rx", "module show like res_ami_websocket"])
        .output()
        .expect("run --rx");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("Running"));
    let _ = s.try_rx("core stop now", Duration::from_secs(10));
    let status = s.wait_exit(Duration::from_secs(10)).expect("core stop now did not exit");
    assert_eq!(status.code(), Some(0));
    s.expect_log("standin: stopped");
}
