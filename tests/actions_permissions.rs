//! Who may run what: AMI's permission rule over the WebSocket, as a matrix of manager.conf
//! users x the actions of the recorded fixture (plus Originate application/data variants), and
//! unknown actions (including one the core registers after the module learned the others).
//!
//! Expected answers are derived here from AMI's rules and the write classes Asterisk registers
//! (main/manager.c, main/db.c, main/manager_bridges.c), independently of the module's code.

mod common;

use std::time::{Duration, Instant};

use common::record::{executed, hook_count, hook_texts};
use common::ws::{WsClient, connect, field};
use common::{Opts, StandIn};

const SYSTEM: u32 = 1 << 0;
const CALL: u32 = 1 << 1;
const COMMAND: u32 = 1 << 4;
const USER: u32 = 1 << 6;
const CONFIG: u32 = 1 << 7;
const REPORTING: u32 = 1 << 9;
const ORIGINATE: u32 = 1 << 12;
const AGI: u32 = 1 << 13;
const ALL: u32 = !0;

/// Class names, for reading `manager show command`'s `[Privilege]` line.
const CLASS_NAMES: &[(u32, &str)] = &[
    (SYSTEM, "system"),
    (CALL, "call"),
    (COMMAND, "command"),
    (USER, "user"),
    (CONFIG, "config"),
    (REPORTING, "reporting"),
    (ORIGINATE, "originate"),
    (AGI, "agi"),
];

/// Headers of an action, besides Action and ActionID.
type Headers = &'static [(&'static str, &'static str)];

/// The actions of the recorded fixture with the write classes Asterisk 22 registers them with
/// (`None`: no such action), and the headers that make them succeed when permitted.
const ACTIONS: &[(&str, Option<u32>, Headers)] = &[
    ("Ping", Some(0), &[]),
    ("CoreSettings", Some(SYSTEM | REPORTING), &[]),
    ("CoreStatus", Some(SYSTEM | REPORTING), &[]),
    ("NoSuchAction", None, &[]),
    ("UserEvent", Some(USER), &[("UserEvent", "Matrix"), ("Foo", "bar")]),
    ("Command", Some(COMMAND), &[("Command", "core show version")]),
    ("Setvar", Some(CALL), &[("Variable", "MATRIXVAR"), ("Value", "1")]),
    ("ListCategories", Some(CONFIG), &[("Filename", "matrix.conf")]),
    ("GetConfig", Some(SYSTEM | CONFIG), &[("Filename", "matrix.conf")]),
    (
        "Originate",
        Some(ORIGINATE),
        &[
            ("Channel", "Local/100@default"),
            ("Application", "Playback"),
            ("Data", "hello-world"),
            ("Async", "true"),
            ("Variable", "STANDIN_DURATION=0"),
        ],
    ),
    ("ExtensionState", Some(CALL | REPORTING), &[("Exten", "100"), ("Context", "default")]),
    ("DBPut", Some(SYSTEM), &[("Family", "matrix"), ("Key", "k"), ("Val", "v")]),
    ("DBGet", Some(SYSTEM | REPORTING), &[("Family", "matrix"), ("Key", "k")]),
    ("ModuleCheck", Some(SYSTEM), &[("Module", "app_dial")]),
    ("CoreShowChannels", Some(SYSTEM | REPORTING), &[]),
    ("BridgeList", Some(0), &[]),
];

/// Originate variants: (label, Application, Data, classes of which the user needs one besides
/// `originate`; AMI's `is_originate_app_permitted` table, CVE-2024-42365).
const ORIGINATE_VARIANTS: &[(&str, &str, &str, u32)] = &[
    ("System", "System", "echo matrix-USER", SYSTEM),
    ("Exec", "Exec", "System(id)", SYSTEM),
    ("MixMonitor", "MixMonitor", "x.wav,,rm -f /tmp/matrix", SYSTEM),
    ("Queue+AGI", "Queue", "support,,,,,evil.agi", AGI | SYSTEM),
    ("SHELL", "NoOp", "${SHELL(id)}", SYSTEM),
    ("EVAL", "NoOp", "${EVAL(${X})}", SYSTEM),
    ("CURL", "NoOp", "${CURL(http://127.0.0.1/)}", SYSTEM),
];

/// manager.conf users: (name, write value, the classes AMI's get_perm reads from it).
const USERS: &[(&str, &str, u32)] = &[
    ("u_all", "all", ALL),
    ("u_originate", "originate", ORIGINATE),
    ("u_call", "call", CALL),
    ("u_system", "system", SYSTEM),
    ("u_none", "", 0),
    ("u_reporting", "reporting", REPORTING),
    ("u_command", "command", COMMAND),
    ("u_origsys", "originate,system", ORIGINATE | SYSTEM),
    ("u_origagi", "originate,agi", ORIGINATE | AGI),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Success,
    Denied,
    Forbidden,
    Unknown,
}

impl Expect {
    fn message(self, action: &str) -> String {
        match self {
            Expect::Success => String::new(),
            Expect::Denied => "Permission denied".into(),
            Expect::Forbidden => "Originate Access Forbidden: app or data blacklisted".into(),
            Expect::Unknown => format!(
                "Invalid/unknown command: {action}. Use Action: ListCommands to show available \
                 commands."
            ),
        }
    }
}

/// AMI's decision: unknown name; any class in common (or none needed); Originate's table.
fn expect(write: u32, required: Option<u32>, originate_needs: u32) -> Expect {
    let Some(required) = required else { return Expect::Unknown };
    if required != 0 && write & required == 0 {
        return Expect::Denied;
    }
    if originate_needs != 0 && write & originate_needs == 0 {
        return Expect::Forbidden;
    }
    Expect::Success
}

fn manager_conf() -> String {
    let mut conf = String::from("[general]\nenabled = yes\nbindaddr = 127.0.0.1\n");
    for (name, write, _) in USERS {
        conf.push_str(&format!("\n[{name}]\nsecret = pw\nread =\nwrite = {write}\n"));
    }
    conf
}

struct Cell {
    label: String,
    action: &'static str,
    headers: Vec<(String, String)>,
    required: Option<u32>,
    originate_needs: u32,
    /// Data that `standin show executed` must list after it succeeded (Originate System).
    executes: Option<String>,
}

fn cells_for(user: &str) -> Vec<Cell> {
    let mut cells = Vec::new();
    for (action, required, headers) in ACTIONS {
        cells.push(Cell {
            label: (*action).to_string(),
            action,
            headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            required: *required,
            originate_needs: 0,
            executes: None,
        });
    }
    for (label, app, data, needs) in ORIGINATE_VARIANTS {
        let data = data.replace("USER", user);
        let headers = [
            ("Channel", "Local/100@default"),
            ("Application", app),
            ("Data", data.as_str()),
            ("Async", "true"),
            ("Variable", "STANDIN_DURATION=0"),
        ];
        cells.push(Cell {
            label: format!("Originate {label}"),
            action: "Originate",
            headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            required: Some(ORIGINATE),
            originate_needs: *needs,
            executes: (*app == "System").then_some(data),
        });
    }
    cells
}

fn login(port: u16, user: &str) -> WsClient {
    let mut c = connect(port);
    let r = c.login(user, "pw");
    assert_eq!(field(&r, "Message"), "Authentication accepted", "{user}: {r}");
    c
}

fn send(c: &mut WsClient, action: &str, id: &str, headers: &[(String, String)]) {
    let mut obj = serde_json::Map::new();
    obj.insert("Action".into(), action.into());
    obj.insert("ActionID".into(), id.into());
    for (k, v) in headers {
        obj.insert(k.clone(), v.clone().into());
    }
    c.send_json(&serde_json::Value::Object(obj));
}

/// Waits until `standin show executed` lists `data`.
fn wait_executed(s: &StandIn, data: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if executed(s).iter().any(|d| d == data) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// The class names in `manager show command X`'s `[Privilege]` section, as bits (0 for
/// `<none>`), or None when the core does not know X.
fn core_privilege(s: &StandIn, action: &str) -> Option<u32> {
    let out = s.rx(&format!("manager show command {action}"));
    let mut lines = out.lines().skip_while(|l| l.trim() != "[Privilege]");
    lines.next()?;
    let list = lines.next()?.trim().to_string();
    if list == "<none>" {
        return Some(0);
    }
    let mut bits = 0;
    for word in list.split(',').filter(|w| *w != "all") {
        let (bit, _) = CLASS_NAMES.iter().find(|(_, n)| *n == word)?;
        bits |= bit;
    }
    Some(bits)
}

#[test]
fn permission_matrix_follows_ami_rules() {
    let s = StandIn::start(
        &[("manager.conf", &manager_conf()), ("matrix.conf", "[cat1]\nkey = value\n")],
        Opts::default(),
    );
    let port = s.ws_port().unwrap();
    // The stand-in's privileges are the real ones (they come from the same sources as ours).
    for (action, required, _) in ACTIONS {
        assert_eq!(core_privilege(&s, action), *required, "manager show command {action}");
    }

    let mut counts = [0usize; 4];
    let mut failures = Vec::new();
    let mut total = 0;
    let mut width = 0;
    for (user, _, write) in USERS {
        let mut c = login(port, user);
        let cells = cells_for(user);
        width = cells.len();
        for (n, cell) in cells.iter().enumerate() {
            total += 1;
            let want = expect(*write, cell.required, cell.originate_needs);
            counts[want as usize] += 1;
            let (hooks_before, exec_before) = (hook_count(&s), executed(&s));
            let id = format!("{user}-{n}");
            send(&mut c, cell.action, &id, &cell.headers);
            let Some(r) = c.reply(&id, Duration::from_secs(10)) else {
                failures.push(format!("{user} x {}: no reply", cell.label));
                continue;
            };
            let got_ok = field(&r, "Response") == "Success";
            let ok = match want {
                Expect::Success => got_ok,
                _ => {
                    field(&r, "Response") == "Error"
                        && field(&r, "Message") == want.message(cell.action)
                }
            };
            if !ok {
                failures.push(format!("{user} x {}: want {want:?}, got {r}", cell.label));
            }
            let texts = hook_texts(&s);
            match want {
                Expect::Success => {
                    // Exactly this action reached the core, with the headers sent.
                    let new = texts.get(hooks_before..).unwrap_or_default();
                    let sent_ok = new.len() == 1
                        && new[0].action() == cell.action
                        && new[0].header("ActionID").as_deref() == Some(id.as_str())
                        && cell.headers.iter().all(|(k, v)| new[0].header(k).as_ref() == Some(v));
                    if !sent_ok {
                        failures.push(format!("{user} x {}: core got {new:?}", cell.label));
                    }
                    if let Some(data) = &cell.executes {
                        if !wait_executed(&s, data) {
                            failures.push(format!("{user} x {}: System never ran", cell.label));
                        }
                    }
                }
                _ => {
                    if texts.len() != hooks_before {
                        let new = texts.get(hooks_before..).unwrap_or_default();
                        failures.push(format!("{user} x {}: refused yet sent {new:?}", cell.label));
                    }
                    let exec_after = executed(&s);
                    if exec_after != exec_before {
                        failures.push(format!(
                            "{user} x {}: refused yet executed {exec_after:?}",
                            cell.label
                        ));
                    }
                }
            }
        }
        c.close();
    }
    println!(
        "permission matrix: {} users x {width} actions = {total} cells: {} Success, {} Permission \
         denied, {} Originate forbidden, {} unknown; {} mismatches",
        USERS.len(),
        counts[0],
        counts[1],
        counts[2],
        counts[3],
        failures.len()
    );
    assert!(failures.is_empty(), "{} cells wrong:\n{}", failures.len(), failures.join("\n"));
    assert_eq!(total, USERS.len() * (ACTIONS.len() + ORIGINATE_VARIANTS.len()));
    // Only the users with originate and system ran System; no refused cell ran anything.
    let ran = executed(&s);
    assert_eq!(ran, ["echo matrix-u_all", "echo matrix-u_origsys"], "executed: {ran:?}");
    assert!(s.log().contains("standin: System(echo matrix-u_origsys)"), "{}", s.log());
    // Counted by hand from the tables above (a guard against a model that refuses everything).
    assert_eq!(counts, [71, 114, 13, 9], "matrix shape changed");
}

/// Sends `action` with `headers` and returns its reply.
fn run(c: &mut WsClient, id: &str, action: &str, headers: &[(&str, &str)]) -> serde_json::Value {
    let headers: Vec<(String, String)> =
        headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    send(c, action, id, &headers);
    c.reply(id, Duration::from_secs(10)).unwrap_or_else(|| panic!("no reply to {action} ({id})"))
}

#[test]
fn unknown_actions_get_amis_error_and_later_registrations_work_without_reload() {
    let conf = "[general]\nenabled = yes\n\n[admin]\nsecret = pw\nread =\nwrite = all\n\n\
                [rep]\nsecret = pw\nread =\nwrite = reporting\n";
    let mut s = StandIn::start(&[("manager.conf", conf)], Opts::default());
    let port = s.ws_port().unwrap();
    let mut admin = login(port, "admin");
    let mut rep = login(port, "rep");
    let unknown = |name: &str| Expect::Unknown.message(name);

    // Unknown for everyone, whatever their classes; nothing reaches the core.
    let r = run(&mut admin, "u1", "WsLateAction", &[]);
    assert_eq!(field(&r, "Response"), "Error", "{r}");
    assert_eq!(field(&r, "Message"), unknown("WsLateAction"), "{r}");
    let r = run(&mut rep, "u2", "NoSuchThing", &[]);
    assert_eq!(field(&r, "Message"), unknown("NoSuchThing"), "{r}");
    let r = run(&mut rep, "u3", "WsLateOpen", &[]);
    assert_eq!(field(&r, "Message"), unknown("WsLateOpen"), "{r}");
    assert_eq!(hook_count(&s), 0, "{:?}", hook_texts(&s));

    // A module loaded later registers actions: usable at once, no reload, with their classes.
    let out = s.rx("standin register action WsLateAction system");
    assert!(out.contains("registered WsLateAction"), "{out}");
    let out = s.rx("standin register action WsLateOpen none");
    assert!(out.contains("registered WsLateOpen"), "{out}");
    let r = run(&mut admin, "l1", "WsLateAction", &[("Foo", "bar")]);
    assert_eq!(field(&r, "Response"), "Success", "{r}");
    assert_eq!(field(&r, "Message"), "WsLateAction ran (registered at run time)", "{r}");
    let r = run(&mut admin, "l2", "wslateaction", &[]);
    assert_eq!(field(&r, "Response"), "Success", "AMI matches names ignoring case: {r}");
    let r = run(&mut rep, "l3", "WsLateAction", &[]);
    assert_eq!(field(&r, "Message"), "Permission denied", "{r}");
    let r = run(&mut rep, "l4", "WsLateOpen", &[]);
    assert_eq!(field(&r, "Response"), "Success", "no class needed: {r}");
    let sent: Vec<(String, Option<String>)> =
        hook_texts(&s).iter().map(|t| (t.action(), t.header("ActionID"))).collect();
    let want = [("WsLateAction", "l1"), ("wslateaction", "l2"), ("WsLateOpen", "l4")];
    let want: Vec<(String, Option<String>)> =
        want.iter().map(|(a, i)| (a.to_string(), Some(i.to_string()))).collect();
    assert_eq!(sent, want);
    assert_eq!(s.exit_signal(), None);
}
