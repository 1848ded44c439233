//! NATS subjects for events: `<prefix>.<system>.<category>.<Event>`, each token escaped.
#![forbid(unsafe_code)]

use crate::ami::classes::PERMS;

/// One subject token from any text: `A-Z a-z 0-9 _ -` are kept, every other byte (dots,
/// spaces, `*`, `>`, `%`, non-ASCII) becomes `%XX` (its hex value), so a token never splits,
/// never acts as a wildcard, and distinct texts stay distinct. An empty text becomes `_`.
pub fn token(text: &str) -> String {
    if text.is_empty() {
        return "_".into();
    }
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The category token of an event: the AMI class name of the lowest class bit it was raised
/// with (`call`, `system`, `agent`, ...), `none` for an event without a class.
pub fn category(bits: u32) -> &'static str {
    PERMS
        .iter()
        .filter(|(bit, _)| bit.count_ones() == 1)
        .find(|(bit, _)| bits & bit != 0)
        .map(|(_, name)| *name)
        .unwrap_or("none")
}

/// `<prefix>.<system>.` with the system name escaped; the prefix is used as configured
/// (validated at load: dot-separated tokens without wildcards).
pub fn base(prefix: &str, system: &str) -> String {
    format!("{prefix}.{}.", token(system))
}

/// The full subject of one event, from its [`base`].
pub fn for_event(base: &str, category_bits: u32, event: &str) -> String {
    format!("{base}{}.{}", category(category_bits), token(event))
}

/// Whether `prefix` is a usable subject prefix: non-empty tokens of printable ASCII without
/// spaces or wildcards, joined by dots.
pub fn valid_prefix(prefix: &str) -> bool {
    !prefix.is_empty()
        && prefix.split('.').all(|t| {
            !t.is_empty() && t.bytes().all(|b| b.is_ascii_graphic() && b != b'*' && b != b'>')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ami::classes::{AGENT, CALL, SYSTEM};

    #[test]
    fn tokens_escape_what_subjects_cannot_hold() {
        assert_eq!(token("pbx-1_a"), "pbx-1_a");
        assert_eq!(token("pbx1.example.com"), "pbx1%2Eexample%2Ecom");
        assert_eq!(token("a b*>%"), "a%20b%2A%3E%25");
        assert_eq!(token("é"), "%C3%A9");
        assert_eq!(token(""), "_");
        assert_ne!(token("a.b"), token("a%2Eb"));
    }

    #[test]
    fn subjects_name_system_category_and_event() {
        let b = base("ami", "pbx.one");
        assert_eq!(for_event(&b, CALL, "Newchannel"), "ami.pbx%2Eone.call.Newchannel");
        assert_eq!(for_event(&b, AGENT | CALL, "AgentCalled"), "ami.pbx%2Eone.call.AgentCalled");
        assert_eq!(for_event(&b, SYSTEM, "FullyBooted"), "ami.pbx%2Eone.system.FullyBooted");
        assert_eq!(for_event(&b, 0, "X"), "ami.pbx%2Eone.none.X");
    }

    #[test]
    fn prefixes_are_checked() {
        assert!(valid_prefix("ami") && valid_prefix("site1.ami"));
        for bad in ["", "a..b", "a.*", "a b", ">", "a."] {
            assert!(!valid_prefix(bad), "{bad}");
        }
    }
}
