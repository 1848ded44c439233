//! AMI's checks beyond write classes (Originate, dialplan functions) and the actions the hook
//! must never run.
//!
//! Facts from main/manager.c (`is_originate_app_permitted` and its table, `queue_match`,
//! `action_originate`, `function_capable_string_allowed_with_auths`, `action_getvar`,
//! `action_status`), main/app.c (`__ast_app_separate_args`) and main/pbx_functions.c
//! (`is_read_allowed`), read at Asterisk 22 / master of 2026-08. The hook runs actions with a
//! NULL session, which skips every one of these checks: the module applies them itself.
#![forbid(unsafe_code)]

use super::classes::{AGI, SYSTEM};
use super::message::{Message, skip_blanks};

/// AMI's answer when Originate's application or data is refused.
pub const ORIGINATE_FORBIDDEN: &str = "Originate Access Forbidden: app or data blacklisted";
/// AMI's answer when Getvar's variable is refused.
pub const GETVAR_FORBIDDEN: &str = "GetVar Access Forbidden: Variable";
/// AMI's answer when Status's variables are refused.
pub const STATUS_FORBIDDEN: &str = "Status Access Forbidden: Variables";

/// How an entry of the Originate table looks for its word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Search {
    /// Anywhere in the application name, ASCII case ignored (`strcasestr`).
    App,
    /// An application containing "queue" (case ignored) whose data has a non-empty AGI
    /// argument (the sixth).
    QueueWithAgi,
    /// Anywhere in the data, case-sensitive (`strstr`): dialplan function names.
    Data,
}

/// AMI's Originate table (CVE-2024-42365 list): word, how to look for it, and the classes of
/// which the user needs at least one when it is found.
const ORIGINATE_TABLE: &[(&str, Search, u32)] = &[
    ("agi", Search::App, SYSTEM),
    ("dbdeltree", Search::App, SYSTEM),
    ("exec", Search::App, SYSTEM),
    ("externalivr", Search::App, SYSTEM),
    ("mixmonitor", Search::App, SYSTEM),
    ("originate", Search::App, SYSTEM),
    ("reload", Search::App, SYSTEM),
    ("system", Search::App, SYSTEM),
    ("queue", Search::QueueWithAgi, AGI | SYSTEM),
    ("CURL", Search::Data, SYSTEM),
    ("DB", Search::Data, SYSTEM),
    ("EVAL", Search::Data, SYSTEM),
    ("FILE", Search::Data, SYSTEM),
    ("ODBC", Search::Data, SYSTEM),
    ("REALTIME", Search::Data, SYSTEM),
    ("SHELL", Search::Data, SYSTEM),
];

/// AMI's Originate rules for a user with write classes `user_write`.
///
/// Applies to an `Originate` action (name, ASCII case ignored) that has a non-empty
/// `Application`; the `Exten`/`Context` form runs dialplan written by the administrator and is
/// not checked, as in AMI (its `Data` is unused). `Err` holds AMI's answer,
/// [`ORIGINATE_FORBIDDEN`].
///
/// Stricter than AMI in two ways, both on purpose: every `Application` and `Data` header is
/// checked, not only the first (AMI uses the first; checking all costs nothing); and every
/// entry of the table that matches must be satisfied, where AMI stops at the first match (so
/// AMI lets a user with `agi` run `Queue` with an AGI argument and `SHELL` in the data).
pub fn originate_permitted(msg: &Message, user_write: u32) -> Result<(), &'static str> {
    if !msg.action().is_some_and(|a| a.eq_ignore_ascii_case("Originate")) {
        return Ok(());
    }
    let mut datas: Vec<&str> = msg.get_all("Data").into_iter().map(skip_blanks).collect();
    if datas.is_empty() {
        datas.push("");
    }
    for app in msg.get_all("Application").into_iter().map(skip_blanks) {
        if app.is_empty() {
            continue;
        }
        for data in &datas {
            if !app_permitted(app, data, user_write) {
                return Err(ORIGINATE_FORBIDDEN);
            }
        }
    }
    Ok(())
}

/// True when `user_write` satisfies every table entry that `app` with `data` matches.
fn app_permitted(app: &str, data: &str, user_write: u32) -> bool {
    ORIGINATE_TABLE
        .iter()
        .filter(|(word, search, _)| match search {
            Search::App => contains_ignore_case(app, word),
            Search::QueueWithAgi => contains_ignore_case(app, word) && queue_has_agi(data),
            Search::Data => data.contains(word),
        })
        .all(|(_, _, needs)| user_write & needs != 0)
}

/// `strcasestr`: `needle` anywhere in `haystack`, ASCII case ignored.
fn contains_ignore_case(haystack: &str, needle: &str) -> bool {
    let (h, n) = (haystack.as_bytes(), needle.as_bytes());
    n.is_empty() || h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

/// True when the sixth argument (AGI) of Queue's data is non-empty, with Asterisk's argument
/// splitting (`AST_STANDARD_APP_ARGS`: nine slots, quotes and backslashes removed).
fn queue_has_agi(data: &str) -> bool {
    separate_app_args(data, 9).get(5).is_some_and(|agi| !agi.is_empty())
}

/// Asterisk's `__ast_app_separate_args(buf, ',', remove_chars = 1, array, slots)`.
///
/// Splits on commas outside parentheses, square brackets and double quotes; in each argument
/// double quotes and backslashes are removed (a backslash makes the next character literal).
/// The last slot takes the rest of the text untouched, commas and quotes included. A trailing
/// comma makes one more, empty, argument.
pub(crate) fn separate_app_args(data: &str, slots: usize) -> Vec<String> {
    let mut args = Vec::new();
    let mut rest = data;
    let mut after_delim = false;
    while !rest.is_empty() && args.len() + 1 < slots {
        let (arg, next, delim) = one_app_arg(rest);
        args.push(arg);
        rest = next;
        after_delim = delim;
    }
    if slots > 0 && (!rest.is_empty() || after_delim) {
        args.push(rest.to_string());
    }
    args
}

/// One argument of [`separate_app_args`]: its text, what follows its comma, and whether a
/// comma ended it.
fn one_app_arg(text: &str) -> (String, &str, bool) {
    let (mut paren, mut bracket, mut quote) = (0u32, 0u32, false);
    let mut arg = String::new();
    let mut chars = text.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '(' => paren += 1,
            ')' => paren = paren.saturating_sub(1),
            '[' => bracket += 1,
            ']' => bracket = bracket.saturating_sub(1),
            '"' => {
                quote = !quote;
                continue;
            }
            '\\' => {
                if let Some((_, literal)) = chars.next() {
                    arg.push(literal);
                }
                continue;
            }
            ',' if paren == 0 && bracket == 0 && !quote => {
                return (arg, text.get(at + 1..).unwrap_or_default(), true);
            }
            _ => {}
        }
        arg.push(c);
    }
    (arg, "", false)
}

/// AMI's check of a Getvar `Variable` or a Status `Variables` list
/// (`function_capable_string_allowed_with_auths`): without the `system` write class, the text
/// must not contain `SHELL` or `EVAL` anywhere (case-sensitive, as dialplan function names
/// are). Refuse with [`GETVAR_FORBIDDEN`] or [`STATUS_FORBIDDEN`].
///
/// What this cannot decide without the core: every other function is checked by Asterisk when
/// it runs. A function registered as read-escalating (see [`READ_ESCALATING_FUNCTIONS`]) is
/// refused on a thread that called `ast_thread_inhibit_escalations()` unless
/// `live_dangerously = yes` in asterisk.conf, whatever the user's classes (AMI's own network
/// threads inhibit escalations, so the module's action threads must too). Modules loaded at
/// run time may register more such functions.
pub fn function_read_permitted(expr: &str, user_write: u32) -> bool {
    user_write & SYSTEM != 0 || !(expr.contains("SHELL") || expr.contains("EVAL"))
}

/// Dialplan functions that Asterisk registers as escalating on read
/// (`ast_custom_function_register_escalating` with AST_CFE_READ or AST_CFE_BOTH in funcs/ of
/// Asterisk 22): the core refuses them on an escalation-inhibited thread.
pub const READ_ESCALATING_FUNCTIONS: &[&str] = &[
    "DB",
    "DB_DELETE",
    "FILE",
    "FILE_COUNT_LINE",
    "FILE_FORMAT",
    "LOCK",
    "PERIODIC_HOOK",
    "REALTIME_DESTROY",
    "SHELL",
    "STAT",
    "TRYLOCK",
    "UNLOCK",
];

/// The first read-escalating function (see [`READ_ESCALATING_FUNCTIONS`]) that `expr` calls:
/// its exact name followed by `(` (blanks allowed between), not preceded by a letter, digit or
/// `_`. For callers that want to refuse these outright instead of relying on the core.
pub fn read_escalating_function(expr: &str) -> Option<&'static str> {
    let bytes = expr.as_bytes();
    READ_ESCALATING_FUNCTIONS.iter().copied().find(|name| {
        expr.match_indices(name).any(|(at, _)| {
            let before = at.checked_sub(1).and_then(|i| bytes.get(i));
            let word_start = !before.is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_');
            let rest = expr.get(at + name.len()..).unwrap_or_default();
            word_start && rest.trim_start_matches([' ', '\t']).starts_with('(')
        })
    })
}

/// AMI's error when an action would unload this module from one of its own threads.
pub const SELF_UNLOAD_REFUSED: &str = "Could not unload module: it cannot unload itself from \
     its own action thread (use the Asterisk CLI or AMI over TCP)";

/// True when `msg` asks Asterisk to unload `module` (its name without `.so`), alone or before
/// loading it again: `ModuleLoad` with `LoadType` `unload` or `refresh`, or a `Command` line
/// `module unload ...` or `module refresh ...` naming it (CLI words match ignoring ASCII case).
///
/// Names are compared loosely (leading blanks and any path dropped, `.so` and ASCII case
/// ignored), so some refused names would not have matched the loader: refusing those costs
/// nothing. Run on one of the module's own action threads, the unload would wait for that very
/// thread to stop and fail after its time limit, leaving the module loaded but stopped.
pub fn unloads_module(msg: &Message, module: &str) -> bool {
    let names = |name: &str| {
        let base = name.trim().rsplit('/').next().unwrap_or_default();
        let base = match base.len().checked_sub(3).and_then(|at| base.get(at..)) {
            Some(ext) if ext.eq_ignore_ascii_case(".so") => base.get(..base.len() - 3),
            _ => Some(base),
        };
        base.is_some_and(|b| b.eq_ignore_ascii_case(module))
    };
    let action = msg.header("Action");
    if action.eq_ignore_ascii_case("ModuleLoad") {
        let kind = msg.header("LoadType");
        return (kind.eq_ignore_ascii_case("unload") || kind.eq_ignore_ascii_case("refresh"))
            && names(msg.header("Module"));
    }
    if action.eq_ignore_ascii_case("Command") {
        let words: Vec<&str> = msg.header("Command").split_whitespace().collect();
        let verb = words.get(1).copied().unwrap_or_default();
        return words.first().is_some_and(|w| w.eq_ignore_ascii_case("module"))
            && (verb.eq_ignore_ascii_case("unload") || verb.eq_ignore_ascii_case("refresh"))
            && words.iter().skip(2).any(|w| names(w));
    }
    false
}

/// Actions that must never be passed to `ast_hook_send_action`: the module answers them itself
/// or refuses them. Most crash the whole PBX, because the hook runs them with a NULL session.
pub const NEVER_THROUGH_HOOK: &[&str] = &[
    // Reads the session's write classes for its SHELL/EVAL check: crashes (seen on 22.10.1).
    "Getvar",
    // Same check on its Variables list: crashes (seen on 22.10.1).
    "Status",
    // Reads the session's write classes to pick actions: crashes (seen on 22.10.1).
    "ListCommands",
    // Locks the session to change its event mask: crashes (seen on 22.10.1). The module keeps
    // the mask per WebSocket session.
    "Events",
    // Stores the challenge in the session: crashes (seen on 22.10.1). The module runs the MD5
    // challenge itself.
    "Challenge",
    // Adds to the session's filter lists: crashes (read in manager.c). The module applies
    // eventfilters itself.
    "Filter",
    // Waits on the session's stream and event queue: crashes (read in manager.c). Events are
    // pushed over the WebSocket anyway.
    "WaitEvent",
    // The hook ignores Login (no response at all, seen); the module authenticates against
    // manager.conf itself.
    "Login",
    // Only answers Goodbye through the hook; the module ends its own session.
    "Logoff",
    // Logs the session's user name at verbosity 3 or more when the channel exists: crashes
    // (seen on 22.10.1 with verbose = 3).
    "Hangup",
    // Uses the same hangup helper as Hangup: crashes at verbosity 3 or more (read in the code).
    "PJSIPHangup",
];

/// True when `action` (ASCII case ignored, as AMI matches action names) is in
/// [`NEVER_THROUGH_HOOK`].
pub fn must_not_reach_hook(action: &str) -> bool {
    NEVER_THROUGH_HOOK.iter().any(|name| name.eq_ignore_ascii_case(action))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ami::classes::{ALL, CALL, ORIGINATE, REPORTING};

    fn originate(pairs: &[(&str, &str)]) -> Message {
        let mut m = Message::new();
        m.push("Action", "Originate");
        m.push("Channel", "Local/100@default");
        for (n, v) in pairs {
            m.push(*n, *v);
        }
        m
    }

    const QUEUE_AGI: &str = "somequeue,CcdHh,someURL,tt-monkeys,100,SomeAGIScript,gosub,rule,666";
    const QUEUE_NO_AGI: &str = "somequeue,CcdHh,someURL,tt-monkeys,100,,gosub,rule,666";

    #[test]
    fn originate_table() {
        // ROBUSTNESS.md row 29, plus the cases of Asterisk's own originate_permissions_test.
        type Case = (&'static [(&'static str, &'static str)], u32, bool);
        let o = ORIGINATE;
        let cases: &[Case] = &[
            (&[("Application", "Playback"), ("Data", "hello-world")], o, true),
            (&[("Application", "Dial"), ("Data", "PJSIP/100")], o, true),
            (&[("Exten", "100"), ("Context", "default"), ("Priority", "1")], o, true),
            // Exten form: Data is unused and not checked, as in AMI.
            (&[("Exten", "100"), ("Context", "default"), ("Data", "SHELL(id)")], o, true),
            (&[("Application", ""), ("Data", "SHELL(id)")], o, true),
            (&[("Application", "  "), ("Data", "SHELL(id)")], o, true),
            (&[("Application", "System"), ("Data", "id")], o, false),
            (&[("Application", "System"), ("Data", "id")], o | SYSTEM, true),
            (&[("Application", "system")], o, false),
            (&[("Application", " SYSTEM ")], o, false),
            (&[("Application", "TrySystem"), ("Data", "id")], o, false),
            (&[("Application", "Exec"), ("Data", "System(id)")], o, false),
            (&[("Application", "ExecIf"), ("Data", "1?Playback(x)")], o, false),
            (&[("Application", "exec")], SYSTEM, true),
            (&[("Application", "exec")], SYSTEM | AGI, true),
            (&[("Application", "exec")], ALL, true),
            (&[("Application", "exec")], AGI, false),
            (&[("Application", "exec")], 0, false),
            (&[("Application", "MixMonitor"), ("Data", "x.wav,,rm -rf /")], o, false),
            (&[("Application", "ExternalIVR"), ("Data", "/bin/sh")], o, false),
            (&[("Application", "Reload")], o, false),
            (&[("Application", "DBdeltree"), ("Data", "/")], o, false),
            (&[("Application", "AGI"), ("Data", "x.agi")], o, false),
            (&[("Application", "EAGI"), ("Data", "x.agi")], o, false),
            (&[("Application", "Originate"), ("Data", "Local/1@x,app,System,id")], o, false),
            // Queue: only with an AGI argument, and then agi or system is enough.
            (&[("Application", "Queue")], 0, true),
            (&[("Application", "Queue"), ("Data", QUEUE_NO_AGI)], o, true),
            (&[("Application", "Queue"), ("Data", QUEUE_AGI)], o, false),
            (&[("Application", "queue"), ("Data", QUEUE_AGI)], o | AGI, true),
            (&[("Application", "Queue"), ("Data", QUEUE_AGI)], SYSTEM, true),
            (&[("Application", "Queue"), ("Data", QUEUE_AGI)], ALL, true),
            (&[("Application", "Queue"), ("Data", QUEUE_AGI)], 0, false),
            (&[("Application", "AddQueueMember"), ("Data", "q,a,b,c,d,x")], o, false),
            (&[("Application", "Queue"), ("Data", "q,,,,,\"\"")], o, true),
            (&[("Application", "Queue"), ("Data", "q,,,,,\\,")], o, false),
            (&[("Application", "Queue"), ("Data", "q,(a,b,c,d,e),x")], o, true),
            // Stricter than AMI: all matching entries count, not only the first.
            (&[("Application", "Queue"), ("Data", "q,,,,,x.agi,SHELL")], o | AGI, false),
            (&[("Application", "Queue"), ("Data", "q,,,,,x.agi,SHELL")], o | SYSTEM, true),
            // Data: dialplan function names, case-sensitive, anywhere.
            (&[("Application", "someapp"), ("Data", "aaaDBbbb")], SYSTEM, true),
            (&[("Application", "someapp"), ("Data", "aaa DB bbb")], ALL, true),
            (&[("Application", "someapp"), ("Data", "aaaDBbbb")], 0, false),
            (&[("Application", "someapp"), ("Data", "aaa db bbb")], 0, true),
            (&[("Application", "Set"), ("Data", "X=${SHELL(id)}")], o, false),
            (&[("Application", "Set"), ("Data", "X=${EVAL(${Y})}")], o, false),
            (&[("Application", "Set"), ("Data", "X=${CURL(http://x)}")], o, false),
            (&[("Application", "Set"), ("Data", "FILE(/etc/x)=1")], o, false),
            (&[("Application", "Set"), ("Data", "X=${DB(a/b)}")], o, false),
            (&[("Application", "Set"), ("Data", "X=${ODBC_SQL(x)}")], o, false),
            (&[("Application", "Set"), ("Data", "X=${REALTIME(x)}")], o, false),
            (&[("Application", "Set"), ("Data", "X=${shell(id)}")], o, true),
            // Every Application and Data header counts (AMI reads only the first).
            (&[("Application", "Playback"), ("Application", "System")], o, false),
            (&[("Application", "Playback"), ("Data", "x"), ("Data", "SHELL(id)")], o, false),
        ];
        for (pairs, write, ok) in cases {
            let got = originate_permitted(&originate(pairs), *write);
            let want = if *ok { Ok(()) } else { Err(ORIGINATE_FORBIDDEN) };
            assert_eq!(got, want, "{pairs:?} write {write:#x}");
        }
    }

    #[test]
    fn originate_rules_apply_to_originate_only() {
        let mut m = Message::new();
        m.push("Action", "UserEvent");
        m.push("Application", "System");
        assert_eq!(originate_permitted(&m, 0), Ok(()));
        let mut m = Message::new();
        m.push("action", "ORIGINATE");
        m.push("application", "system");
        assert_eq!(originate_permitted(&m, ORIGINATE), Err(ORIGINATE_FORBIDDEN));
        assert_eq!(ORIGINATE_FORBIDDEN, "Originate Access Forbidden: app or data blacklisted");
    }

    #[test]
    fn separate_app_args_table() {
        let cases: &[(&str, usize, &[&str])] = &[
            ("", 9, &[]),
            ("a", 9, &["a"]),
            ("a,b", 9, &["a", "b"]),
            ("a,", 9, &["a", ""]),
            (",", 9, &["", ""]),
            ("a,,b", 9, &["a", "", "b"]),
            ("a(b,c),d", 9, &["a(b,c)", "d"]),
            ("a[b,c],d", 9, &["a[b,c]", "d"]),
            ("\"a,b\",c", 9, &["a,b", "c"]),
            ("a\\,b,c", 9, &["a,b", "c"]),
            ("a\\", 9, &["a"]),
            ("a)),b", 9, &["a))", "b"]),
            ("a,b,c", 2, &["a", "b,c"]),
            ("a,\"b\",c", 2, &["a", "\"b\",c"]),
            ("a,", 2, &["a", ""]),
            ("a,b", 1, &["a,b"]),
            ("a,b", 0, &[]),
            ("1,2,3,4,5,6,7,8,9,10", 9, &["1", "2", "3", "4", "5", "6", "7", "8", "9,10"]),
        ];
        for (data, slots, want) in cases {
            assert_eq!(separate_app_args(data, *slots), *want, "{data:?} {slots}");
        }
    }

    #[test]
    fn function_read_rule() {
        // ROBUSTNESS.md row 30.
        let cases: &[(&str, u32, bool)] = &[
            ("CHANNEL(name)", CALL, true),
            ("MYVAR", 0, true),
            ("SHELL(id)", CALL | REPORTING, false),
            ("SHELL(id)", SYSTEM, true),
            ("EVAL(${X})", CALL, false),
            ("EVAL(${X})", ALL, true),
            ("A,B,SHELL(id)", CALL, false),
            ("X${SHELL(id)}", CALL, false),
            ("MYSHELLVAR", CALL, false),
            ("shell(id)", CALL, true),
            ("FILE(/etc/shadow)", CALL, true),
        ];
        for (expr, write, want) in cases {
            assert_eq!(function_read_permitted(expr, *write), *want, "{expr} {write:#x}");
        }
        assert_eq!(GETVAR_FORBIDDEN, "GetVar Access Forbidden: Variable");
        assert_eq!(STATUS_FORBIDDEN, "Status Access Forbidden: Variables");
    }

    #[test]
    fn read_escalating_function_table() {
        let cases: &[(&str, Option<&str>)] = &[
            ("FILE(/etc/shadow)", Some("FILE")),
            ("FILE_COUNT_LINE(/etc/passwd)", Some("FILE_COUNT_LINE")),
            ("SHELL (id)", Some("SHELL")),
            ("X=${DB(a/b)}", Some("DB")),
            ("DB_EXISTS(a/b)", None),
            ("DB_DELETE(a/b)", Some("DB_DELETE")),
            ("MYFILE(x)", None),
            ("FILE", None),
            ("file(x)", None),
            ("CHANNEL(name),STAT(e,/tmp)", Some("STAT")),
            ("", None),
        ];
        for (expr, want) in cases {
            assert_eq!(read_escalating_function(expr), *want, "{expr}");
        }
    }

    #[test]
    fn self_unload_is_recognised() {
        let ml = |kind: &str, module: &str| {
            Message::from_pairs(&[("Action", "ModuleLoad"), ("LoadType", kind), ("Module", module)])
        };
        let cmd = |line: &str| Message::from_pairs(&[("action", "COMMAND"), ("Command", line)]);
        let me = "res_ami_websocket";
        for m in [
            ml("unload", "res_ami_websocket.so"),
            ml("Refresh", " RES_AMI_WEBSOCKET"),
            ml("unload", "./sub/../res_ami_websocket.SO"),
            cmd("module refresh res_ami_websocket.so"),
            cmd("  Module   Unload  res_ami_websocket "),
            cmd("module unload -h res_x.so res_ami_websocket.so"),
        ] {
            assert!(unloads_module(&m, me), "{m:?}");
        }
        for m in [
            ml("reload", "res_ami_websocket.so"),
            ml("load", "res_ami_websocket.so"),
            ml("unload", "res_ami_websocket2.so"),
            ml("unload", "res_ami_websocket.so.bak"),
            ml("unload", ""),
            cmd("module reload res_ami_websocket.so"),
            cmd("module show like res_ami_websocket"),
            cmd("module unload res_other.so"),
            cmd("module"),
            cmd(""),
            Message::from_pairs(&[("Action", "Ping"), ("Module", "res_ami_websocket")]),
        ] {
            assert!(!unloads_module(&m, me), "{m:?}");
        }
    }

    #[test]
    fn never_through_hook() {
        // ROBUSTNESS.md row 32.
        for name in ["Getvar", "GETVAR", "getvar", "Status", "ListCommands", "Events", "Challenge"]
        {
            assert!(must_not_reach_hook(name), "{name}");
        }
        for name in ["Filter", "WaitEvent", "Login", "logoff", "Hangup", "PJSIPHangup"] {
            assert!(must_not_reach_hook(name), "{name}");
        }
        for name in ["Ping", "Originate", "Command", "CoreShowChannels", "Setvar", "", "Get var"] {
            assert!(!must_not_reach_hook(name), "{name}");
        }
        assert_eq!(NEVER_THROUGH_HOOK.len(), 11);
    }
}
