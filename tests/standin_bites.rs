//! The stand-in bites like Asterisk: it aborts where Asterisk would crash (Getvar through the
//! hook, a hook registered twice, Hangup at verbosity 3), refuses modules Asterisk refuses (bad
//! key, no registration, other build options), reports a module that stays mapped, and parses
//! and answers hook actions exactly as recorded. Also runs the unit tests of the stand-in's pure
//! parts (included below).

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

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{Opts, StandIn};

const SIGABRT: i32 = 6;

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Builds a test module from tests/fixtures/<src> with extra -D flags into `dir/name`.
fn cc_module(src: &str, defines: &[&str], dir: &Path, name: &str) -> PathBuf {
    let root = manifest_dir();
    let out = dir.join(name);
    let status = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .args(["-shared", "-fPIC", "-Wall", "-o"])
        .arg(&out)
        .arg(format!("-I{}", root.join("asterisk-headers").display()))
        .arg(format!("-I{}", root.join("tests/fixtures").display()))
        .args(defines.iter().map(|d| format!("-D{d}")))
        .arg(root.join("tests/fixtures").join(src))
        .arg("-ldl")
        .arg("-lpthread")
        .status()
        .expect("run cc");
    assert!(status.success(), "cc failed for {src} {defines:?}");
    out
}

/// A stand-in with the real module loaded and the given test module built into its moddir.
fn standin_with(src: &str, defines: &[&str], name: &str, verbose: i32) -> StandIn {
    let s = StandIn::start(&[], Opts { verbose, ..Opts::default() });
    cc_module(src, defines, &s.moddir(), name);
    s
}

fn hex(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

fn unhex(h: &str) -> String {
    let bytes: Vec<u8> =
        (0..h.len() / 2).filter_map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).ok()).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// What `hookprobe send` printed: (kind, category, event, body) lines and the return code.
struct Sent {
    lines: Vec<(String, i32, String, String)>,
    ret: i32,
}

impl Sent {
    fn pieces(&self) -> Vec<&str> {
        self.lines.iter().filter(|l| l.0 == "PIECE").map(|l| l.3.as_str()).collect()
    }
    fn events(&self) -> Vec<&(String, i32, String, String)> {
        self.lines.iter().filter(|l| l.0 == "EVENT").collect()
    }
}

fn send(s: &StandIn, action: &str) -> Sent {
    let out = s.rx(&format!("hookprobe send {}", hex(action)));
    let mut sent = Sent { lines: Vec::new(), ret: i32::MIN };
    for line in out.lines() {
        let parts: Vec<&str> = line.splitn(4, ' ').collect();
        match parts.as_slice() {
            ["RET", n] => sent.ret = n.parse().expect("return code"),
            [kind, cat, event, body] => sent.lines.push((
                kind.to_string(),
                cat.parse().expect("category"),
                event.to_string(),
                unhex(body),
            )),
            [kind, cat, event] => {
                sent.lines.push((kind.to_string(), cat.parse().expect("category"), event.to_string(), String::new()))
            }
            _ => panic!("unexpected probe output line {line:?} in:\n{out}"),
        }
    }
    assert_ne!(sent.ret, i32::MIN, "no RET line in:\n{out}\n{}", s.log());
    sent
}

fn probe(verbose: i32) -> StandIn {
    let s = standin_with("hookprobe.c", &[], "hookprobe.so", verbose);
    let out = s.rx("module load hookprobe.so");
    assert!(out.contains("Loaded hookprobe.so"), "{out}\n{}", s.log());
    s
}

#[test]
fn getvar_forwarded_by_a_test_build_aborts_the_standin() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target = common::target_dir().join("bites");
    let status = Command::new(cargo)
        .args(["build", "--lib", "--features", "unsafe-test-forward-getvar", "--manifest-path"])
        .arg(manifest_dir().join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target)
        .status()
        .expect("run cargo");
    assert!(status.success(), "building the test variant failed");
    let module = target.join("debug/libres_ami_websocket.so");
    let mut s = StandIn::start(&[], Opts { module: Some(module), ..Opts::default() });
    let status = s.wait_exit(Duration::from_secs(30));
    assert!(status.is_some(), "the stand-in survived a forwarded Getvar:\n{}", s.log());
    assert_eq!(s.exit_signal(), Some(SIGABRT), "expected SIGABRT:\n{}", s.log());
    s.expect_log("standin: CRASH: Getvar through ast_hook_send_action would crash Asterisk");
}

#[test]
fn module_with_a_bad_key_is_refused() {
    let s = standin_with("tinymod.c", &["BAD_KEY"], "badkey.so", 0);
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
    let s = standin_with("tinymod.c", &["NO_REGISTER"], "noreg.so", 0);
    let out = s.rx("module load noreg.so");
    assert!(out.contains("Unable to load module noreg.so"), "{out}");
    s.expect_log("Module 'noreg.so' did not register itself during load");
}

#[test]
fn module_built_with_other_options_is_refused_and_a_good_one_loads() {
    let s = standin_with("tinymod.c", &["BAD_BUILDOPT"], "badopt.so", 0);
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
    let s = standin_with("tinymod.c", &["STAY_MAPPED"], "sticky.so", 0);
    assert!(s.rx("module load sticky.so").contains("Loaded sticky.so"), "{}", s.log());
    assert!(s.rx("module unload sticky.so").contains("Unloaded sticky.so"));
    s.expect_log("Module 'sticky.so' could not be completely unloaded");
}

#[test]
fn declined_and_refused_unloads_behave_like_asterisk() {
    let s = standin_with("tinymod.c", &["DECLINE"], "decline.so", 0);
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
    let body = &events[0].3;
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
    assert_eq!(ping.ret, 0);
    assert_eq!(ping.pieces().len(), 3);
    assert!(ping.lines.iter().all(|l| l.1 == 1 << 14 && l.2 == "HookResponse"));
    let login = send(&s, "Action: Login\r\nUsername: admin\r\nSecret: adminpw\r\n\r\n");
    assert_eq!((login.ret, login.lines.len()), (0, 0));
    let unknown = send(&s, "Action: NoSuchAction\r\nActionID: x1\r\n\r\n");
    assert_eq!((unknown.ret, unknown.lines.len()), (0, 0));
    let logoff = send(&s, "Action: Logoff\r\nActionID: lo1\r\n\r\n");
    assert_eq!(logoff.ret, -1);
    assert_eq!(logoff.pieces(), ["Response: Goodbye\r\nActionID: lo1\r\nMessage: Thanks for all the fish.\r\n\r\n"]);
    let ue = send(&s, "Action: UserEvent\r\nUserEvent: Probe\r\nFoo: bar\r\nFoo: baz\r\nActionID: u1\r\n\r\n");
    assert_eq!(ue.pieces(), ["Response: Success\r\nActionID: u1\r\nMessage: Event Sent\r\n\r\n"]);
    let ev = ue.events();
    assert_eq!(ev.len(), 1);
    assert_eq!((ev[0].1, ev[0].2.as_str()), (1 << 6, "UserEvent"));
    assert!(ev[0].3.starts_with("Event: UserEvent\r\nPrivilege: user,all\r\nTimestamp: "), "{}", ev[0].3);
    assert!(ev[0].3.ends_with("UserEvent: Probe\r\nFoo: bar\r\nFoo: baz\r\nActionID: u1\r\n\r\n"), "{}", ev[0].3);
    let cmd = send(&s, "Action: Command\r\nCommand: core show uptime\r\nActionID: c1\r\n\r\n");
    let p = cmd.pieces();
    assert_eq!(p.len(), 5, "{p:?}");
    assert_eq!(p[0], "Response: Success\r\nActionID: c1\r\n");
    assert_eq!(p[1], "Message: Command output follows\r\n");
    assert!(p[2].starts_with("Output: System uptime: ") && p[3].starts_with("Output: Last reload: "));
    assert_eq!(p[4], "\r\n");
    let csc = send(&s, "Action: CoreShowChannels\r\nActionID: csc1\r\n\r\n");
    assert_eq!(
        csc.pieces(),
        [
            "Response: Success\r\nActionID: csc1\r\nEventList: start\r\nMessage: Channels will follow\r\n\r\n",
            "Event: CoreShowChannelsComplete\r\nActionID: csc1\r\nEventList: Complete\r\nListItems: 0\r\n\r\n"
        ]
    );
}

#[test]
fn originate_system_is_recorded_and_hangup_at_verbose_3_aborts() {
    let mut s = probe(0);
    let o = send(&s, "Action: Originate\r\nChannel: Local/park@default\r\nApplication: SYSTEM\r\nData: touch /tmp/pwned\r\nVariable: STANDIN_DURATION=60\r\nAsync: true\r\nActionID: o1\r\n\r\n");
    assert_eq!(o.pieces(), ["Response: Success\r\nActionID: o1\r\nMessage: Originate successfully queued\r\n\r\n"]);
    let mut executed = String::new();
    for _ in 0..100 {
        executed = s.rx("standin show executed");
        if executed.contains("touch /tmp/pwned") {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(executed.contains("executed: 1\ntouch /tmp/pwned"), "{executed}");
    let list = send(&s, "Action: CoreShowChannels\r\n\r\n");
    let chan = list
        .pieces()
        .iter()
        .find_map(|p| p.lines().find_map(|l| l.strip_prefix("Channel: ")).map(str::to_string))
        .expect("a live channel");
    let missing = send(&s, "Action: Hangup\r\nChannel: Local/none-00000000;1\r\n\r\n");
    assert_eq!(missing.pieces(), ["Response: Error\r\nMessage: No such channel\r\n\r\n"]);
    s.rx("core set verbose 3");
    let _ = s.try_rx(&format!("hookprobe send {}", hex(&format!("Action: Hangup\r\nChannel: {chan}\r\n\r\n"))), Duration::from_secs(10));
    assert!(s.wait_exit(Duration::from_secs(10)).is_some(), "survived Hangup at verbose 3:\n{}", s.log());
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
    let out = s.rx("manager show command Originate");
    assert!(out.contains("[Privilege]\noriginate,all\n"), "{out}");
    assert!(s.rx("manager show command Ping").contains("[Privilege]\n<none>\n"));
    assert!(s.rx("manager show command hangup").contains("[Privilege]\nsystem,call,all\n"));
    assert!(s.rx("manager show commands").contains("PJSIPShowEndpoints"));
}
