//! users.conf's manager users, read as `main/manager.c` of Asterisk 20 and 22 reads them (23 no longer does).
//!
//! Facts kept from `__init_manager` of Asterisk 20 and 22 (its "First, get users from users.conf"
//! block, run after manager.conf's `[general]` and before manager.conf's user sections; the block
//! and every mention of users.conf are gone from 23's manager.c):
//! - A section other than `general` (any case) is a manager user when it says `hasmanager =
//!   <true>`, or says nothing and users.conf's `[general]` says `hasmanager = <true>`.
//! - Each option is the section's first `secret`, `read`, `write`, `displayconnects`,
//!   `allowmultiplelogin`, `writetimeout` (`ast_variable_retrieve`), else `[general]`'s.
//! - A user users.conf creates can read and write everything (`readperm = writeperm = -1`) until
//!   `read`/`write` say otherwise; `displayconnects`/`allowmultiplelogin` default to
//!   manager.conf's `[general]`; an empty secret is ignored (no secret: no login).
//! - A manager.conf section of the same name then continues that user (as a repeated section
//!   does), so manager.conf has the last word.
//!
//! Two differences, on purpose (README, manager.conf prerequisites; checked on real 20 and 22 by
//! `tests/real_asterisk_users_conf.rs`): manager.c never allocates the filter lists of a user
//! this block creates, so a manager.conf `eventfilter` for it is ignored there and applied here;
//! and manager.c marks only users it creates in a pass as kept, so its next `manager reload` of a
//! changed manager.conf drops users.conf-only users, while every module reload reads them again.
#![forbid(unsafe_code)]

use std::time::Duration;

use super::accounts::{Account, General, Secret, atoi, get_perm};
use crate::rawconf::{RawConfig, Section};
use crate::settings::is_true as ast_true;

/// The file's name.
pub const FILE: &str = "users.conf";

/// Whether the running major's manager.c reads users.conf: 20 and 22 do, 23 does not.
pub fn read_by_major(major: u32) -> bool {
    major < 23
}

/// The first value of `key` in a section, as `ast_variable_retrieve` finds it.
fn first<'a>(section: &'a Section, key: &str) -> Option<&'a str> {
    section.entries.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.as_str())
}

/// Adds the manager users users.conf defines to `accounts` (a name already there, compared as
/// `strcasecmp` does, continues that user), in file order.
pub(super) fn read(
    users: &RawConfig,
    general: &General,
    accounts: &mut Vec<Account>,
    warnings: &mut Vec<String>,
) {
    let gen_section = users.section("general");
    let gen_value = |key: &str| gen_section.and_then(|g| first(g, key));
    let gen_has_manager = ast_true(gen_value("hasmanager").unwrap_or(""));
    for section in &users.sections {
        if section.name.eq_ignore_ascii_case("general") || section.name.is_empty() {
            continue;
        }
        let has = first(section, "hasmanager");
        if !((has.is_none() && gen_has_manager) || has.is_some_and(ast_true)) {
            continue;
        }
        let value = |key: &str| first(section, key).or_else(|| gen_value(key));
        let idx = match accounts.iter().position(|a| a.username.eq_ignore_ascii_case(&section.name))
        {
            Some(i) => i,
            None => {
                let mut a = Account::new(&section.name, general);
                a.read = u32::MAX;
                a.write = u32::MAX;
                accounts.push(a);
                accounts.len() - 1
            }
        };
        let Some(a) = accounts.get_mut(idx) else { continue };
        if let Some(s) = value("secret").filter(|s| !s.is_empty()) {
            a.secret = Some(Secret::new(s));
        }
        if let Some(r) = value("read") {
            a.read = get_perm(r);
        }
        if let Some(w) = value("write") {
            a.write = get_perm(w);
        }
        if let Some(v) = value("displayconnects") {
            a.display_connects = ast_true(v);
        }
        if let Some(v) = value("allowmultiplelogin") {
            a.allow_multiple_login = ast_true(v);
        }
        if let Some(v) = value("writetimeout") {
            match u64::try_from(atoi(v)) {
                Ok(ms) if ms >= 100 => a.write_timeout = Duration::from_millis(ms),
                _ => warnings.push(format!("invalid writetimeout value '{}' in {FILE}", atoi(v))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ami::accounts::{ManagerConf, flag};

    fn section(name: &str, entries: &[(&str, &str)]) -> Section {
        Section::of(name, entries)
    }

    fn conf(manager: Vec<Section>, users: Vec<Section>) -> ManagerConf {
        ManagerConf::from_files(
            &RawConfig { sections: manager },
            Some(&RawConfig { sections: users }),
        )
        .unwrap()
    }

    #[test]
    fn only_majors_before_23_read_it() {
        assert!(read_by_major(20) && read_by_major(22));
        assert!(!read_by_major(23));
    }

    #[test]
    fn hasmanager_per_section_or_from_general() {
        let users = vec![
            section("general", &[("hasmanager", "no"), ("secret", "gensecret")]),
            section("alice", &[("hasmanager", "yes"), ("secret", "a")]),
            section("bob", &[("secret", "b")]),
            section("carol", &[("hasmanager", "no"), ("secret", "c")]),
        ];
        let c = conf(vec![], users.clone());
        let names: Vec<&str> = c.accounts.iter().map(|a| a.username.as_str()).collect();
        assert_eq!(names, ["alice"]);

        let mut on = users;
        on[0].entries[0].1 = "yes".into();
        let c = conf(vec![], on);
        let names: Vec<&str> = c.accounts.iter().map(|a| a.username.as_str()).collect();
        assert_eq!(names, ["alice", "bob"], "bob says nothing: [general] decides; carol says no");
    }

    #[test]
    fn a_new_user_may_do_everything_with_defaults_from_both_generals() {
        let manager = vec![section("general", &[("allowmultiplelogin", "no")])];
        let users = vec![
            section("general", &[("secret", "gensecret"), ("displayconnects", "no")]),
            section("alice", &[("hasmanager", "yes")]),
            section(
                "bob",
                &[
                    ("hasmanager", "yes"),
                    ("secret", "b"),
                    ("read", "call"),
                    ("write", "system,call"),
                ],
            ),
            section("nosecret", &[("hasmanager", "yes"), ("secret", "")]),
        ];
        let mut c = conf(manager.clone(), users.clone());
        let alice = c.account("ALICE").unwrap();
        assert_eq!(alice.secret.as_ref().map(Secret::expose), Some("gensecret"));
        assert_eq!((alice.read, alice.write), (u32::MAX, u32::MAX));
        assert!(!alice.display_connects && !alice.allow_multiple_login);
        let bob = c.account("bob").unwrap();
        assert_eq!(bob.secret.as_ref().map(Secret::expose), Some("b"));
        assert_eq!((bob.read, bob.write), (flag::CALL, flag::SYSTEM | flag::CALL));
        // An empty secret is ignored and [general]'s is not used then either.
        assert!(c.account("nosecret").unwrap().secret.is_none());
        // Without a secret anywhere, the user cannot log in.
        let mut users = users;
        users[0].entries.retain(|(k, _)| k != "secret");
        c = conf(manager, users);
        assert!(c.account("alice").unwrap().secret.is_none());
    }

    #[test]
    fn first_value_wins_and_bad_writetimeout_warns() {
        let users = vec![section(
            "alice",
            &[("hasmanager", "yes"), ("secret", "one"), ("secret", "two"), ("writetimeout", "50")],
        )];
        let c = conf(vec![], users);
        let a = c.account("alice").unwrap();
        assert_eq!(a.secret.as_ref().map(Secret::expose), Some("one"));
        assert_eq!(a.write_timeout, Duration::from_millis(100));
        assert!(
            c.warnings.iter().any(|w| w.contains("invalid writetimeout value '50' in users.conf"))
        );
    }

    #[test]
    fn manager_conf_continues_a_users_conf_user() {
        let manager = vec![section(
            "Alice",
            &[("read", "system"), ("deny", "0.0.0.0/0"), ("permit", "127.0.0.1/32")],
        )];
        let users = vec![section("alice", &[("hasmanager", "yes"), ("secret", "a")])];
        let c = conf(manager, users);
        assert_eq!(c.accounts.len(), 1);
        let a = c.account("alice").unwrap();
        // users.conf's name and secret, manager.conf's read; write stays users.conf's (all).
        assert_eq!(a.username, "alice");
        assert_eq!(a.secret.as_ref().map(Secret::expose), Some("a"));
        assert_eq!((a.read, a.write), (flag::SYSTEM, u32::MAX));
        assert!(a.acl.allows("127.0.0.1".parse::<std::net::IpAddr>().unwrap()));
        assert!(!a.acl.allows("10.0.0.1".parse::<std::net::IpAddr>().unwrap()));
    }

    #[test]
    fn without_users_conf_nothing_changes() {
        let manager = vec![section("admin", &[("secret", "x")])];
        let a = ManagerConf::from_files(&RawConfig { sections: manager.clone() }, None).unwrap();
        let b = ManagerConf::from_raw(&RawConfig { sections: manager }).unwrap();
        assert_eq!(a.accounts.len(), b.accounts.len());
        assert_eq!(a.accounts[0].username, b.accounts[0].username);
    }
}
