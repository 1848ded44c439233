//! The manager actions the stand-in's core has registered, with the write classes
//! (`authority`) the real Asterisk sources register them with, and the `manager show command(s)`
//! CLI output built from them.
#![forbid(unsafe_code)]

use std::sync::Mutex;

use crate::amimsg::{PERMS, authority_to_str};

const SYS: i32 = 1 << 0;
const CALL: i32 = 1 << 1;
const COMMAND: i32 = 1 << 4;
const AGENT: i32 = 1 << 5;
const USER: i32 = 1 << 6;
const CONFIG: i32 = 1 << 7;
const REPORTING: i32 = 1 << 9;
const ORIGINATE: i32 = 1 << 12;
const AGI: i32 = 1 << 13;
const AOC: i32 = 1 << 16;
const MESSAGE: i32 = 1 << 30;

/// (action, authority). Core actions of main/*.c first, then those of loadable modules.
pub const ACTIONS: &[(&str, i32)] = &[
    ("Ping", 0),
    ("Events", 0),
    ("Logoff", 0),
    ("Login", 0),
    ("Challenge", 0),
    ("Hangup", SYS | CALL),
    ("Status", SYS | CALL | REPORTING),
    ("Setvar", CALL),
    ("Getvar", CALL | REPORTING),
    ("GetConfig", SYS | CONFIG),
    ("GetConfigJSON", SYS | CONFIG),
    ("UpdateConfig", CONFIG),
    ("CreateConfig", CONFIG),
    ("ListCategories", CONFIG),
    ("Redirect", CALL),
    ("Atxfer", CALL),
    ("CancelAtxfer", CALL),
    ("Originate", ORIGINATE),
    ("Command", COMMAND),
    ("ExtensionState", CALL | REPORTING),
    ("PresenceState", CALL | REPORTING),
    ("AbsoluteTimeout", SYS | CALL),
    ("MailboxStatus", CALL | REPORTING),
    ("MailboxCount", CALL | REPORTING),
    ("ListCommands", 0),
    ("SendText", CALL),
    ("UserEvent", USER),
    ("WaitEvent", 0),
    ("CoreSettings", SYS | REPORTING),
    ("CoreStatus", SYS | REPORTING),
    ("Reload", CONFIG | SYS),
    ("LoggerRotate", SYS | REPORTING),
    ("CoreShowChannels", SYS | REPORTING),
    ("CoreShowChannelMap", SYS | REPORTING),
    ("ModuleLoad", SYS),
    ("ModuleCheck", SYS),
    ("AOCMessage", AOC),
    ("Filter", SYS),
    ("BlindTransfer", CALL),
    ("BridgeList", 0),
    ("BridgeInfo", 0),
    ("BridgeDestroy", 0),
    ("BridgeKick", 0),
    ("BridgeTechnologyList", 0),
    ("BridgeTechnologySuspend", 0),
    ("BridgeTechnologyUnsuspend", 0),
    ("Bridge", CALL),
    ("MessageSend", MESSAGE),
    ("DBGet", SYS | REPORTING),
    ("DBGetTree", SYS | REPORTING),
    ("DBPut", SYS),
    ("DBDel", SYS),
    ("DBDelTree", SYS),
    ("ExtensionStateList", CALL | REPORTING),
    ("DeviceStateList", CALL | REPORTING),
    ("PresenceStateList", CALL | REPORTING),
    ("LocalOptimizeAway", SYS | CALL),
    ("ShowDialPlan", CONFIG | REPORTING),
    ("DialplanExtensionAdd", SYS),
    ("DialplanExtensionRemove", SYS),
    ("MuteAudio", SYS),
    ("MWIGet", CALL | REPORTING),
    ("MWIDelete", CALL),
    ("MWIUpdate", CALL),
    ("PlayDTMF", CALL),
    ("SendFlash", CALL),
    ("PlayMF", CALL),
    ("MixMonitor", SYS),
    ("MixMonitorMute", SYS | CALL),
    ("StopMixMonitor", SYS | CALL),
    ("ControlPlayback", CALL),
    ("Park", CALL),
    ("ParkedCalls", CALL),
    ("Parkinglots", CALL),
    ("AGI", AGI),
    ("Agents", AGENT),
    ("AgentLogoff", AGENT),
    ("QueueStatus", 0),
    ("QueueSummary", 0),
    ("QueueAdd", AGENT),
    ("QueueRemove", AGENT),
    ("QueuePause", AGENT),
    ("QueueLog", AGENT),
    ("QueuePenalty", AGENT),
    ("QueueMemberRingInUse", AGENT),
    ("QueueRule", 0),
    ("QueueReload", 0),
    ("QueueReset", 0),
    ("QueueChangePriorityCaller", 0),
    ("QueueWithdrawCaller", 0),
    ("ConfbridgeList", REPORTING),
    ("ConfbridgeListRooms", REPORTING),
    ("ConfbridgeMute", CALL),
    ("ConfbridgeUnmute", CALL),
    ("ConfbridgeKick", CALL),
    ("ConfbridgeLock", CALL),
    ("ConfbridgeUnlock", CALL),
    ("ConfbridgeStartRecord", SYS),
    ("ConfbridgeStopRecord", SYS),
    ("ConfbridgeSetSingleVideoSrc", CALL),
    ("VoicemailUsersList", CALL | REPORTING),
    ("VoicemailUserStatus", CALL | REPORTING),
    ("VoicemailRefresh", USER),
    ("VoicemailBoxSummary", CALL | REPORTING),
    ("VoicemailMove", USER),
    ("VoicemailRemove", USER),
    ("VoicemailForward", USER),
    ("FAXSessions", CALL),
    ("FAXSession", CALL),
    ("FAXStats", REPORTING),
    ("PJSIPHangup", SYS | CALL),
    ("PJSIPShowEndpoints", SYS),
    ("PJSIPShowEndpoint", SYS),
    ("PJSIPShowAuths", SYS),
    ("PJSIPShowAors", SYS),
    ("PJSIPShowContacts", SYS),
    ("PJSIPQualify", SYS | REPORTING),
    ("PJSIPNotify", SYS),
    ("PJSIPRegister", SYS | REPORTING),
    ("PJSIPUnregister", SYS | REPORTING),
    ("PJSIPShowRegistrationsOutbound", SYS | REPORTING),
    ("PJSIPShowRegistrationsInbound", SYS),
    ("PJSIPShowRegistrationInboundContactStatuses", SYS),
    ("PJSIPShowSubscriptionsInbound", SYS),
    ("PJSIPShowSubscriptionsOutbound", SYS),
    ("PJSIPShowResourceLists", SYS),
    ("PJSIPSetMaintenance", SYS),
    ("PJSIPShowMaintenance", SYS | REPORTING),
    ("IAXpeers", SYS | REPORTING),
    ("IAXpeerlist", SYS | REPORTING),
    ("IAXnetstats", SYS | REPORTING),
    ("IAXregistry", SYS | REPORTING),
    ("SorceryMemoryCacheExpireObject", SYS),
    ("SorceryMemoryCacheExpire", SYS),
    ("SorceryMemoryCacheStaleObject", SYS),
    ("SorceryMemoryCacheStale", SYS),
    ("SorceryMemoryCachePopulate", SYS),
];

/// Actions registered at run time (`standin register action`), as a module loaded later would
/// (`ast_manager_register2`). Names are leaked: a handful per run, for tests.
static LATE: Mutex<Vec<(&'static str, i32)>> = Mutex::new(Vec::new());

/// Every registered action: the built-in table, then those registered at run time.
pub fn all() -> Vec<(&'static str, i32)> {
    let mut v = ACTIONS.to_vec();
    v.extend(LATE.lock().unwrap_or_else(|e| e.into_inner()).iter().copied());
    v
}

/// The registered action of this name (case-insensitive), with its canonical spelling.
pub fn find(name: &str) -> Option<(&'static str, i32)> {
    all().into_iter().find(|(n, _)| n.eq_ignore_ascii_case(name))
}

/// Whether `name` was registered at run time (its hook run answers a plain Success).
pub fn is_late(name: &str) -> bool {
    LATE.lock().unwrap_or_else(|e| e.into_inner()).iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
}

/// Registers an action at run time with the write classes named in `classes` (a comma list of
/// class names, or `none`). Refused, as `ast_manager_register2` refuses, for a name already
/// registered; also for an invalid name or an unknown class word.
pub fn register_late(name: &str, classes: &str) -> Result<i32, String> {
    let valid = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !valid {
        return Err(format!("invalid action name '{name}'"));
    }
    let mut authority = 0;
    for word in classes.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        if word.eq_ignore_ascii_case("none") {
            continue;
        }
        let Some((bit, _)) = PERMS.iter().find(|(_, n)| n.eq_ignore_ascii_case(word)) else {
            return Err(format!("unknown class '{word}'"));
        };
        authority |= bit;
    }
    let mut late = LATE.lock().unwrap_or_else(|e| e.into_inner());
    let known = ACTIONS.iter().chain(late.iter()).any(|(n, _)| n.eq_ignore_ascii_case(name));
    if known {
        return Err(format!("Manager: Action '{name}' already registered"));
    }
    late.push((Box::leak(name.to_string().into_boxed_str()), authority));
    Ok(authority)
}

/// Unregisters an action registered at run time, as `ast_manager_unregister` (main/manager.c)
/// does when its module unloads: removed from the list, so `action_find` (hence
/// `ast_hook_send_action` and `manager show command`) no longer finds it; the verbose line is
/// manager.c's (level 5). Built-in actions stay (the stand-in's core keeps them).
pub fn unregister_late(name: &str) -> Result<String, String> {
    let mut late = LATE.lock().unwrap_or_else(|e| e.into_inner());
    let Some(at) = late.iter().position(|(n, _)| n.eq_ignore_ascii_case(name)) else {
        return Err(format!("'{name}' was not registered at run time"));
    };
    late.remove(at);
    Ok(format!("Manager unregistered action {name}"))
}

/// A one-line synopsis of the stand-in's own (never Asterisk's documentation text).
pub fn synopsis(name: &str) -> String {
    if crate::actions::simulated(name) || is_late(name) {
        format!("Stand-in simulation of the {name} action.")
    } else {
        "Not available".to_string()
    }
}

/// `manager show command <action>...`: the XML-documentation layout of a build with docs and
/// no colours; `[Privilege]` holds the authority text.
pub fn show_command(names: &[String]) -> String {
    let mut out = String::new();
    for (action, authority) in &all() {
        if !names.iter().any(|n| n.eq_ignore_ascii_case(action)) {
            continue;
        }
        let sections = [
            ("[Synopsis]", synopsis(action)),
            ("[Provided By]", "asterisk-standin".to_string()),
            ("[Since]", "Not available".to_string()),
            ("[Description]", "Not available".to_string()),
            ("[Syntax]", format!("Action: {action}")),
            ("[Arguments]", "Not available".to_string()),
            ("[Privilege]", authority_to_str(*authority)),
            ("[See Also]", "Not available".to_string()),
        ];
        out.push_str(&format!("\n  -= Info about Manager Command '{action}' =- \n\n"));
        for (title, body) in sections {
            out.push_str(&format!("{title}\n{body}\n\n"));
        }
        out.push_str("[List Responses]\nNone\n\n[End List Responses]\n");
        out.push_str("\n[Final Response]\nNone\n\n[End Final Response]\n");
    }
    out
}

/// `manager show commands`: a two-column table of every action and its synopsis.
pub fn show_commands() -> String {
    let actions = all();
    let width = actions.iter().map(|(n, _)| n.len()).max().unwrap_or(1);
    let rest = 80usize.saturating_sub(width + 4);
    let mut out = format!("  {:<width$}  {:.rest$}\n", "Action", "Synopsis");
    out.push_str(&format!("  {:<width$}  {:.rest$}\n", "------", "--------"));
    for (n, _) in &actions {
        out.push_str(&format!("  {:<width$}  {:.rest$}\n", n, synopsis(n)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_unregistered_at_run_time_are_gone() {
        assert!(register_late("WsGoneSoon", "call").is_ok());
        assert!(find("wsgonesoon").is_some());
        assert_eq!(
            unregister_late("wsgonesoon").as_deref(),
            Ok("Manager unregistered action wsgonesoon")
        );
        assert!(find("WsGoneSoon").is_none());
        assert!(unregister_late("WsGoneSoon").is_err());
        assert!(unregister_late("Ping").is_err(), "built-ins stay");
    }

    #[test]
    fn actions_registered_at_run_time_are_found_and_shown() {
        assert!(find("StandinLateUnitTest").is_none());
        assert_eq!(register_late("StandinLateUnitTest", "system,reporting"), Ok(1 | 512));
        assert_eq!(find("standinlateunittest"), Some(("StandinLateUnitTest", 1 | 512)));
        assert!(is_late("STANDINLATEUNITTEST"));
        assert!(show_command(&["StandinLateUnitTest".into()]).contains("system,reporting,all"));
        assert!(show_commands().contains("StandinLateUnitTest"));
        assert!(register_late("StandinLateUnitTest", "none").is_err());
        assert!(register_late("Ping", "none").is_err());
        assert!(register_late("Bad Name", "none").is_err());
        assert!(register_late("StandinLateOther", "nosuchclass").is_err());
        assert_eq!(register_late("StandinLateNone", "none"), Ok(0));
    }
}
