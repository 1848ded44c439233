//! Channel variables of the simulated channels, per uniqueid, kept as Asterisk keeps them
//! (main/pbx_variables.c pbx_builtin_setvar_helper: an existing variable with the same name
//! after its inheritance underscores (`_`, `__`) is removed, case-sensitively, and the new one
//! is inserted at the head of the channel's list; `ast_var_name` shows the name without them).
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::sync::Mutex;

/// Each channel's variables (by uniqueid), head of the list first.
type Vars = HashMap<String, Vec<(String, String)>>;

static VARS: Mutex<Option<Vars>> = Mutex::new(None);

fn with<T>(f: impl FnOnce(&mut Vars) -> T) -> T {
    f(VARS.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert_with(HashMap::new))
}

/// `ast_var_name`: the name without one or two leading underscores.
pub fn tail(name: &str) -> &str {
    let n = name.strip_prefix('_').unwrap_or(name);
    if name.starts_with('_') { n.strip_prefix('_').unwrap_or(n) } else { n }
}

/// Sets `name` on the channel `uniqueid` (Setvar with a Channel).
pub fn set(uniqueid: &str, name: &str, value: &str) {
    with(|m| {
        let list = m.entry(uniqueid.to_string()).or_default();
        list.retain(|(n, _)| tail(n) != tail(name));
        list.insert(0, (name.to_string(), value.to_string()));
    });
}

/// The value of `name` on the channel, if set.
pub fn get(uniqueid: &str, name: &str) -> Option<String> {
    with(|m| m.get(uniqueid)?.iter().find(|(n, _)| tail(n) == name).map(|(_, v)| v.clone()))
}

/// The channel's variables, head of the list first.
pub fn all(uniqueid: &str) -> Vec<(String, String)> {
    with(|m| m.get(uniqueid).cloned().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_first_and_replacing_moves_to_the_head() {
        set("u1", "A", "1");
        set("u1", "B", "2");
        set("u1", "a", "3");
        set("u1", "__A", "4");
        let names: Vec<String> = all("u1").into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["__A", "a", "B"]);
        assert_eq!(get("u1", "A").as_deref(), Some("4"));
        set("u1", "B", "");
        assert_eq!(get("u1", "B").as_deref(), Some(""));
    }
}
