//! The write classes each action needs, learned from the running Asterisk itself
//! (`manager show command <Action>`), so third-party modules' actions work too. Cached; the
//! cache is cleared on reload, and a name not in it is looked up again every time.
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::sync::Mutex;

use crate::ami::classes::parse_privilege_section;

static CACHE: Mutex<Option<HashMap<String, u32>>> = Mutex::new(None);

/// Forgets every learned privilege (on reload).
pub fn clear() {
    *CACHE.lock().unwrap_or_else(|e| e.into_inner()) = None;
}

/// The write classes `action` needs, or `None` when Asterisk has no such action.
/// `lookup` runs a CLI command and returns its output (injected for tests).
pub fn required(action: &str, lookup: impl Fn(&str) -> Option<String>) -> Option<u32> {
    let key = action.to_ascii_lowercase();
    if let Some(mask) =
        CACHE.lock().unwrap_or_else(|e| e.into_inner()).as_ref().and_then(|c| c.get(&key))
    {
        return Some(*mask);
    }
    // The name was validated ([A-Za-z0-9_-]), so it cannot smuggle words into the command line.
    let out = lookup(&format!("manager show command {action}"))?;
    let mask = parse_privilege_section(&out)?;
    CACHE
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_or_insert_with(HashMap::new)
        .insert(key, mask);
    Some(mask)
}
