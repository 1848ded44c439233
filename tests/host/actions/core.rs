//! Core actions of main/manager.c: Ping, CoreSettings, CoreStatus, Logoff, UserEvent, Command,
//! Reload, ModuleCheck, ModuleLoad, Challenge, Filter (the last two crash for the inputs that
//! reach the session in Asterisk).

use super::{Msg, Session, crash};
use crate::loader::{self, Reload};
use crate::modules;
use crate::{cli, hook, world};

pub fn ping(s: &Session<'_>) -> i32 {
    s.append("Response: Success\r\n");
    let id = s.get("ActionID");
    if !id.is_empty() {
        s.append(&format!("ActionID: {id}\r\n"));
    }
    s.append(&format!("Ping: Pong\r\nTimestamp: {}\r\n\r\n", hook::timestamp()));
    0
}

fn yes_no(b: bool) -> &'static str {
    if b { "Yes" } else { "No" }
}

pub fn core_settings(s: &Session<'_>) -> i32 {
    s.append(&format!(
        "Response: Success\r\n{}AMIversion: 11.0.0\r\nAsteriskVersion: {}\r\nSystemName: \r\n\
         CoreMaxCalls: 0\r\nCoreMaxLoadAvg: 0.000000\r\nCoreRunUser: \r\nCoreRunGroup: \r\n\
         CoreMaxFilehandles: 0\r\nCoreRealTimeEnabled: No\r\nCoreCDRenabled: Yes\r\n\
         CoreHTTPenabled: {}\r\nSoundsSearchCustomDir: No\r\n\r\n",
        s.id_text(),
        crate::version(),
        yes_no(false),
    ));
    0
}

pub fn core_status(s: &Session<'_>) -> i32 {
    let (date, time) = crate::startup_date_time();
    let (current, processed) = world::with(|w| (w.channels.len(), w.processed_calls));
    s.append(&format!(
        "Response: Success\r\n{}CoreStartupDate: {date}\r\nCoreStartupTime: {time}\r\n\
         CoreReloadDate: {date}\r\nCoreReloadTime: {time}\r\nCoreCurrentCalls: {current}\r\n\
         CoreProcessedCalls: {processed}\r\n\r\n",
        s.id_text(),
    ));
    0
}

pub fn logoff(s: &Session<'_>) -> i32 {
    s.response_full("Goodbye", Msg::Text("Thanks for all the fish."), None);
    -1
}

/// Ack first, then the event, raised now on this thread with every header but Action and
/// UserEvent (repeats kept), as `manager_event` does.
pub fn user_event(s: &Session<'_>) -> i32 {
    let event = s.get("UserEvent").to_string();
    let mut body = String::new();
    for h in &s.m.headers {
        let lower = h.to_ascii_lowercase();
        if !lower.starts_with("userevent:") && !lower.starts_with("action:") {
            body.push_str(h);
            body.push_str("\r\n");
        }
    }
    s.ack("Event Sent");
    hook::manager_event(hook::USER, "UserEvent", &format!("UserEvent: {event}\r\n{body}"));
    0
}

/// Commands the manager refuses to run (`command_blacklist`).
fn blacklisted(cmd: &str) -> bool {
    let words: Vec<String> = cmd
        .split(' ')
        .filter(|w| !w.trim().is_empty())
        .map(|w| w.trim().to_ascii_lowercase())
        .collect();
    let starts = |a: &str, b: &str| {
        words.first().map(String::as_str) == Some(a) && words.get(1).map(String::as_str) == Some(b)
    };
    starts("module", "load") || starts("module", "unload") || starts("restart", "gracefully")
}

/// Runs a CLI command: the status piece, `Message`, one piece per `Output:` line, a blank line.
pub fn command(s: &Session<'_>) -> i32 {
    let cmd = s.get("Command").to_string();
    if cmd.is_empty() {
        s.error("No command provided");
        return 0;
    }
    if blacklisted(&cmd) {
        s.error("Command blacklisted");
        return 0;
    }
    let (rc, out) = cli::run_captured(&cmd);
    let resp = if rc == cli::RESULT_SUCCESS { "Success" } else { "Error" };
    s.response_full(resp, Msg::MoreData, None);
    let out = out.strip_suffix('\n').unwrap_or(&out);
    s.append("Message: Command output follows\r\n");
    for line in out.split('\n') {
        s.append(&format!("Output: {line}\r\n"));
    }
    s.append("\r\n");
    0
}

pub fn reload(s: &Session<'_>) -> i32 {
    let module = s.get("Module");
    match loader::reload(if module.is_empty() { None } else { Some(module) }) {
        Reload::NotFound => s.error("No such module"),
        Reload::NotImplemented => s.error("Module does not support reload"),
        Reload::Error => s.error("An unknown error occurred"),
        Reload::InProgress => s.error("A reload is in progress"),
        Reload::Uninitialized => s.error("Module not initialized"),
        Reload::Success => s.ack("Module Reloaded"),
    }
    0
}

/// `file_in_modules_dir`: 1 inside the module directory, 0 outside, -1 not found. The
/// directory part is resolved as `realpath` would; the file itself may be the link the stand-in
/// installs for the module under test (Asterisk's installed modules are plain files).
fn file_in_modules_dir(module: &str) -> i32 {
    let dir = loader::moddir();
    let path = dir.join(module);
    let parent = path.parent().map(std::fs::canonicalize);
    let (Some(Ok(real_parent)), Ok(real_dir), true) =
        (parent, std::fs::canonicalize(&dir), path.symlink_metadata().is_ok())
    else {
        return -1;
    };
    i32::from(real_parent.starts_with(real_dir))
}

/// `manager_moduleload`: load, unload (soft), refresh (soft unload, then load) or reload, with
/// manager.c's messages (including its missing returns after the first two errors).
pub fn module_load(s: &Session<'_>) -> i32 {
    let (module, loadtype) = (s.get("Module"), s.get("LoadType"));
    if loadtype.is_empty() {
        s.error("Incomplete ModuleLoad action.");
    }
    if module.is_empty() && !loadtype.eq_ignore_ascii_case("reload") {
        s.error("Need module name");
    }
    match file_in_modules_dir(module) {
        0 => {
            s.error("Module must be in the configured modules directory.");
            return 0;
        }
        -1 => {
            s.error("Module not found.");
            return 0;
        }
        _ => {}
    }
    let is = |t: &str| loadtype.eq_ignore_ascii_case(t);
    if is("load") {
        if loader::load(module) != 0 {
            s.error("Could not load module.");
        } else {
            s.ack("Module loaded.");
        }
    } else if is("unload") {
        if loader::unload(module, false) != 0 {
            s.error("Could not unload module.");
        } else {
            s.ack("Module unloaded.");
        }
    } else if is("refresh") {
        if loader::unload(module, false) != 0 || loader::load(module) != 0 {
            s.error("Could not refresh module.");
        } else {
            s.ack("Module unloaded and loaded.");
        }
    } else if is("reload") {
        if module.is_empty() {
            loader::reload(None);
            s.ack("All modules reloaded");
            return 0;
        }
        match loader::reload(Some(module)) {
            Reload::NotFound => s.error("No such module."),
            Reload::NotImplemented => s.error("Module does not support reload action."),
            Reload::Error => s.error("An unknown error occurred"),
            Reload::InProgress => s.error("A reload is in progress"),
            Reload::Uninitialized => s.error("Module not initialized"),
            Reload::Success => s.ack("Module reloaded."),
        }
    } else {
        s.error("Incomplete ModuleLoad action.");
    }
    0
}

/// Modules a stock Asterisk has running besides the ones the stand-in loaded.
const BUILTIN_MODULES: &[&str] = &[
    "app_dial",
    "app_queue",
    "app_userevent",
    "chan_pjsip",
    "pbx_config",
    "res_pjsip",
    "res_hookprobe",
    "app_system",
    "func_db",
    "res_agi",
];

pub fn module_check(s: &Session<'_>) -> i32 {
    let module = s.get("Module");
    let base = module.strip_suffix(".so").unwrap_or(module);
    let builtin = BUILTIN_MODULES.iter().any(|m| m.eq_ignore_ascii_case(base));
    if base.is_empty() || !(builtin || modules::check(module)) {
        s.error("Module not loaded");
        return 0;
    }
    s.append("Response: Success\r\n");
    let id = s.get("ActionID");
    if !id.is_empty() {
        s.append(&format!("ActionID: {id}\r\n"));
    }
    s.append("Version: \r\n");
    s.append("\r\n");
    0
}

/// MD5 challenges are stored in the session: NULL for a hook, so that path crashes.
pub fn challenge(s: &Session<'_>) -> i32 {
    if s.get("AuthType").eq_ignore_ascii_case("MD5") {
        crash("Challenge");
    }
    s.error("Must specify AuthType");
    0
}

/// Adding a filter writes to the session's filter lists: a crash for a hook.
pub fn filter(s: &Session<'_>) -> i32 {
    if s.get("Operation").eq_ignore_ascii_case("Add") {
        crash("Filter");
    }
    s.error("Unknown operation");
    0
}
