//! The write classes each action needs, learned from the running Asterisk itself
//! (`manager show command <Action>`), so third-party modules' actions work too. Cached; the
//! cache is cleared on reload, and a name not in it is looked up again every time; an action
//! that answered nothing through the hook, or that the cache says a user may not run, is
//! forgotten and looked up again (it may have been unregistered by its module's unload).
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::sync::Mutex;

use crate::ami::classes::{parse_privilege_section, parse_synopsis_section};

/// What Asterisk says about one action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActionInfo {
    /// The write classes it needs (0: anyone).
    pub required: u32,
    /// Its synopsis as AMI's ListCommands prints it.
    pub synopsis: String,
}

static CACHE: Mutex<Option<HashMap<String, ActionInfo>>> = Mutex::new(None);

/// Forgets every learned privilege (on reload).
pub fn clear() {
    *CACHE.lock().unwrap_or_else(|e| e.into_inner()) = None;
}

/// Forgets what was learned about one action (it may have been unregistered since).
pub fn forget(action: &str) {
    if let Some(c) = CACHE.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
        c.remove(&action.to_ascii_lowercase());
    }
}

/// The write classes `action` needs, or `None` when Asterisk has no such action.
/// `lookup` runs a CLI command and returns its output (injected for tests).
pub fn required(action: &str, lookup: impl Fn(&str) -> Option<String>) -> Option<u32> {
    info(action, lookup).map(|i| i.required)
}

/// Privileges and synopsis of `action`, or `None` when Asterisk has no such action.
pub fn info(action: &str, lookup: impl Fn(&str) -> Option<String>) -> Option<ActionInfo> {
    let key = action.to_ascii_lowercase();
    let cache = || CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(hit) = cache().as_ref().and_then(|c| c.get(&key).cloned()) {
        return Some(hit);
    }
    // The name was validated ([A-Za-z0-9_-]), so it cannot smuggle words into the command line.
    let out = lookup(&format!("manager show command {action}"))?;
    let required = parse_privilege_section(&out)?;
    let synopsis = parse_synopsis_section(&out).unwrap_or_default();
    let info = ActionInfo { required, synopsis };
    cache().get_or_insert_with(HashMap::new).insert(key, info.clone());
    Some(info)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn learned_once_and_looked_up_again_once_forgotten() {
        let asked = Cell::new(0);
        let classes = Cell::new("call");
        let lookup = |_: &str| {
            asked.set(asked.get() + 1);
            Some(format!("Action: WsPrivTest\nSynopsis: x\nPrivilege: {},all\n", classes.get()))
        };
        assert_eq!(required("WsPrivTest", lookup), Some(crate::ami::classes::CALL));
        assert_eq!(required("wsprivtest", lookup), Some(crate::ami::classes::CALL));
        assert_eq!(asked.get(), 1, "cached, names ignoring case");
        classes.set("system");
        forget("WSPRIVTEST");
        assert_eq!(required("WsPrivTest", lookup), Some(crate::ami::classes::SYSTEM));
        assert_eq!(asked.get(), 2);
        forget("WsPrivTest");
        assert_eq!(required("WsPrivTest", |_| None), None, "unknown once unregistered");
    }
}
