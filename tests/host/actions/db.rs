//! AstDB actions of main/db.c (DBPut, DBGet, DBDel) over an in-memory database, and the answer
//! of a module the stand-in does not simulate further (PJSIPShowEndpoints).

use super::Session;
use crate::world;

/// Family and Key of a DB action, or None after answering main/db.c's error for a missing
/// one (DBPut's texts end without a full stop, DBGet's and DBDel's with one).
fn family_and_key<'a>(s: &'a Session<'_>, stop: &str) -> Option<(&'a str, &'a str)> {
    let (family, key) = (s.get("Family"), s.get("Key"));
    if family.is_empty() {
        s.error(&format!("No family specified{stop}"));
        return None;
    }
    if key.is_empty() {
        s.error(&format!("No key specified{stop}"));
        return None;
    }
    Some((family, key))
}

pub fn put(s: &Session<'_>) -> i32 {
    let Some((family, key)) = family_and_key(s, "") else { return 0 };
    let val = s.get("Val");
    world::with(|w| w.db.insert((family.to_string(), key.to_string()), val.to_string()));
    s.ack("Updated database successfully");
    0
}

pub fn get(s: &Session<'_>) -> i32 {
    let Some((family, key)) = family_and_key(s, ".") else { return 0 };
    let Some(val) = world::with(|w| w.db.get(&(family.to_string(), key.to_string())).cloned())
    else {
        s.error("Database entry not found");
        return 0;
    };
    s.listack("Result will follow", "start");
    s.append(&format!(
        "Event: DBGetResponse\r\nFamily: {family}\r\nKey: {key}\r\nVal: {val}\r\n{}\r\n",
        s.id_text()
    ));
    s.list_complete_start("DBGetComplete", 1);
    s.list_complete_end();
    0
}

pub fn del(s: &Session<'_>) -> i32 {
    let Some((family, key)) = family_and_key(s, ".") else { return 0 };
    match world::with(|w| w.db.remove(&(family.to_string(), key.to_string()))) {
        Some(_) => s.ack("Key deleted successfully"),
        None => s.error("Database entry not found"),
    }
    0
}

/// No endpoints configured.
pub fn pjsip_show_endpoints(s: &Session<'_>) -> i32 {
    s.error("No endpoints found");
    0
}
