//! manager.conf: `[general]` options and the user accounts, read as Asterisk's manager reads them.
//!
//! Facts kept from `main/manager.c` (`__init_manager`, `get_perm`, `get_manager_by_name_locked`):
//! - Every section other than `general` (any case) is a user; user names compare with
//!   `strcasecmp` (ASCII case-insensitive). A second section with the same name continues the
//!   first: its ACL, filters and setvars start afresh, other options keep earlier values unless
//!   set again.
//! - `read`/`write` are class lists read by `get_perm`, case-sensitive, with its quirks: a
//!   comma-separated word that is a prefix of a class name grants that class (`sys` = system,
//!   `a` = agent, agi, aoc *and all*), and the last word must be exact. We keep those quirks (the
//!   same file must grant the same rights) and warn about every word that is not a class name.
//! - A user whose permit/deny/acl line is invalid is deleted (with a warning).
//! - A bad `eventfilter` is skipped (with a warning); the user stays.
//! - Numbers are read with `atoi`; authtimeout/authlimit below 1 and writetimeout below 100 keep
//!   the default, with a warning.
#![forbid(unsafe_code)]

use std::fmt;
use std::time::Duration;

use super::acl::Acl;
use super::filter::EventFilters;
use crate::rawconf::{RawConfig, Section};

/// The config file's name.
pub const CONFIG_FILE: &str = "manager.conf";

/// The class words and bits, shared with the rest of the AMI layer.
pub(crate) use super::classes as flag;
pub(crate) use super::classes::{parse_perm as get_perm, perm_to_str as authority_to_str};
use crate::settings::is_true as ast_true;

/// Words of a class list that are not exact class names (for warnings).
fn unknown_class_words(value: &str) -> Vec<&str> {
    let words: Vec<&str> = value.split(',').collect();
    let last = words.len().saturating_sub(1);
    words
        .into_iter()
        .enumerate()
        .filter(|(i, w)| !(*i == last && w.is_empty()))
        .map(|(_, w)| w)
        .filter(|w| !flag::PERMS.iter().any(|(_, label)| label == w))
        .collect()
}

/// glibc `atoi`: leading blanks, sign, digits; anything else ends the number; no digits is 0.
/// Values beyond `i64` saturate, then are truncated to `int` as glibc's `(int) strtol` does.
pub(crate) fn atoi(text: &str) -> i32 {
    let t = text.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, t.get(1..).unwrap_or("")),
        Some(b'+') => (false, t.get(1..).unwrap_or("")),
        _ => (false, t),
    };
    let mut v: i64 = 0;
    for b in digits.bytes().take_while(u8::is_ascii_digit) {
        v = v.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    let v = if neg { v.saturating_neg() } else { v };
    v as i32
}

/// A user's secret; never shown by `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    /// The secret itself, for the login check only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// `[general]` options that matter to AMI sessions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct General {
    /// `enabled`: AMI (and hence the event feed to hooks) is on.
    pub enabled: bool,
    /// `authtimeout`: time allowed between connect and successful login (default 30 s).
    pub authtimeout: Duration,
    /// `authlimit`: unauthenticated sessions allowed at once (default 50).
    pub authlimit: u32,
    /// `timestampevents`: Asterisk adds `Timestamp:` to events (informational for us).
    pub timestampevents: bool,
    /// `displayconnects`: the default for users (default yes).
    pub displayconnects: bool,
    /// `allowmultiplelogin`: the default for users (default yes).
    pub allowmultiplelogin: bool,
    /// `brokeneventsaction`: the Events action's old reply quirks.
    pub brokeneventsaction: bool,
}

impl Default for General {
    fn default() -> Self {
        General {
            enabled: false,
            authtimeout: Duration::from_secs(30),
            authlimit: 50,
            timestampevents: false,
            displayconnects: true,
            allowmultiplelogin: true,
            brokeneventsaction: false,
        }
    }
}

/// One manager user.
#[derive(Clone, Debug)]
pub struct Account {
    /// The section name as written.
    pub username: String,
    /// `secret`; a user without one cannot log in.
    pub secret: Option<Secret>,
    /// `read` classes (EVENT_FLAG bits).
    pub read: u32,
    /// `write` classes (EVENT_FLAG bits).
    pub write: u32,
    /// `permit`/`deny`/`acl`.
    pub acl: Acl,
    /// `eventfilter` lines.
    pub filters: EventFilters,
    /// `allowmultiplelogin`.
    pub allow_multiple_login: bool,
    /// `displayconnects`.
    pub display_connects: bool,
    /// `writetimeout` (default 100 ms).
    pub write_timeout: Duration,
    /// `setvar = NAME=value` lines, in the order AMI hands them to Originate (it prepends each
    /// line, so the last line of the file comes first).
    pub setvars: Vec<(String, String)>,
}

impl Account {
    pub(super) fn new(username: &str, general: &General) -> Account {
        Account {
            username: username.to_owned(),
            secret: None,
            read: 0,
            write: 0,
            acl: Acl::new(),
            filters: EventFilters::new(),
            allow_multiple_login: general.allowmultiplelogin,
            display_connects: general.displayconnects,
            write_timeout: Duration::from_millis(100),
            setvars: Vec::new(),
        }
    }
}

/// The whole of manager.conf as the module uses it.
#[derive(Clone, Debug, Default)]
pub struct ManagerConf {
    /// `[general]`.
    pub general: General,
    /// Users in file order (names unique ignoring ASCII case).
    pub accounts: Vec<Account>,
    /// Everything Asterisk would have logged as a warning or notice while reading the file.
    pub warnings: Vec<String>,
}

impl ManagerConf {
    /// Reads manager.conf. Like Asterisk, problems in single options or users are warnings (the
    /// option keeps its default, the user or filter is dropped); nothing in the file's content
    /// is fatal, so `Err` is returned only for what cannot be represented at all (a user
    /// section with an empty name).
    pub fn from_raw(raw: &RawConfig) -> Result<ManagerConf, String> {
        ManagerConf::from_files(raw, None)
    }

    /// Reads manager.conf and, when the running Asterisk's manager reads it too (20 and 22,
    /// see [`super::users_conf`]), users.conf: its manager users come first, then manager.conf's
    /// sections add users or continue them.
    pub fn from_files(raw: &RawConfig, users: Option<&RawConfig>) -> Result<ManagerConf, String> {
        let mut conf = ManagerConf::default();
        if let Some(g) = raw.section("general") {
            conf.read_general(g);
        }
        if let Some(users) = users {
            super::users_conf::read(users, &conf.general, &mut conf.accounts, &mut conf.warnings);
        }
        let mut invalid: Vec<Option<String>> = vec![None; conf.accounts.len()];
        for section in &raw.sections {
            if section.name.eq_ignore_ascii_case("general") {
                continue;
            }
            if section.name.is_empty() {
                return Err("manager.conf: a user section has an empty name".to_owned());
            }
            let idx = match conf.index_of(&section.name) {
                Some(i) => {
                    let a = &mut conf.accounts[i];
                    a.acl = Acl::new();
                    a.filters = EventFilters::new();
                    a.setvars.clear();
                    i
                }
                None => {
                    conf.accounts.push(Account::new(&section.name, &conf.general));
                    invalid.push(None);
                    conf.accounts.len() - 1
                }
            };
            let (Some(account), Some(bad)) = (conf.accounts.get_mut(idx), invalid.get_mut(idx))
            else {
                continue;
            };
            *bad = read_user(account, section, &mut conf.warnings);
        }
        let mut kept = Vec::with_capacity(conf.accounts.len());
        for (account, bad) in conf.accounts.drain(..).zip(invalid) {
            match bad {
                Some(why) => conf
                    .warnings
                    .push(format!("manager user '{}' deleted: {why}", account.username)),
                None => kept.push(account),
            }
        }
        conf.accounts = kept;
        Ok(conf)
    }

    fn read_general(&mut self, g: &Section) {
        let gen_ = &mut self.general;
        for (key, value) in &g.entries {
            let k = key.to_ascii_lowercase();
            match k.as_str() {
                "enabled" => gen_.enabled = ast_true(value),
                "timestampevents" => gen_.timestampevents = ast_true(value),
                "displayconnects" => gen_.displayconnects = ast_true(value),
                "allowmultiplelogin" => gen_.allowmultiplelogin = ast_true(value),
                "brokeneventsaction" => gen_.brokeneventsaction = ast_true(value),
                "authtimeout" | "authlimit" => {
                    let n = atoi(value);
                    if n < 1 {
                        self.warnings.push(format!("invalid {k} value '{value}', using default"));
                    } else if k == "authtimeout" {
                        gen_.authtimeout = Duration::from_secs(n.unsigned_abs().into());
                    } else {
                        gen_.authlimit = n.unsigned_abs();
                    }
                }
                _ => {}
            }
        }
    }

    fn index_of(&self, username: &str) -> Option<usize> {
        self.accounts.iter().position(|a| a.username.eq_ignore_ascii_case(username))
    }

    /// The account for a login name, compared as `strcasecmp` does.
    pub fn account(&self, username: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.username.eq_ignore_ascii_case(username))
    }
}

/// Applies one user section; returns why the user must be deleted, if so.
fn read_user(a: &mut Account, section: &Section, warnings: &mut Vec<String>) -> Option<String> {
    let user = section.name.as_str();
    let mut invalid = None;
    for (key, value) in &section.entries {
        let k = key.to_ascii_lowercase();
        match k.as_str() {
            "secret" => {
                if value.is_empty() {
                    warnings.push(format!(
                        "manager user '{user}' has an empty secret: a login with no secret works"
                    ));
                }
                a.secret = Some(Secret::new(value.as_str()));
            }
            "deny" | "permit" | "acl" => {
                if let Err(e) = a.acl.add(&k, value) {
                    invalid = Some(format!("invalid ACL: {e}"));
                }
            }
            "read" | "write" => {
                for w in unknown_class_words(value) {
                    warnings.push(format!(
                        "manager user '{user}': '{w}' in {k} = {value} is not a class name \
                         (AMI reads a word as every class it is a prefix of)"
                    ));
                }
                if k == "read" {
                    a.read = get_perm(value);
                } else {
                    a.write = get_perm(value);
                }
            }
            "displayconnects" => a.display_connects = ast_true(value),
            "allowmultiplelogin" => a.allow_multiple_login = ast_true(value),
            "writetimeout" => match u64::try_from(atoi(value)) {
                Ok(ms) if ms >= 100 => a.write_timeout = Duration::from_millis(ms),
                _ => {
                    warnings.push(format!("manager user '{user}': invalid writetimeout '{value}'"))
                }
            },
            "setvar" => {
                if let Some((name, val)) = value.split_once('=') {
                    a.setvars.insert(0, (name.to_owned(), val.to_owned()));
                }
            }
            _ if key.starts_with("eventfilter") => {
                if let Err(e) = a.filters.add(key, value) {
                    warnings.push(format!("manager user '{user}': {e}"));
                }
            }
            _ => {}
        }
    }
    invalid
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rawconf::Section;
    use std::net::IpAddr;

    fn section(name: &str, entries: &[(&str, &str)]) -> Section {
        Section::of(name, entries)
    }

    fn conf(sections: Vec<Section>) -> ManagerConf {
        ManagerConf::from_raw(&RawConfig { sections }).unwrap()
    }

    #[test]
    fn get_perm_like_manager_c() {
        use flag::*;
        let cases: &[(&str, u32)] = &[
            ("", 0),
            ("none", 0),
            ("system", SYSTEM),
            ("system,call,log", SYSTEM | CALL | LOG),
            ("call,reporting,originate", CALL | REPORTING | ORIGINATE),
            ("all", ALL),
            ("message", MESSAGE),
            ("security,test,aoc,cc,agi", SECURITY | TEST | AOC | CC | AGI),
            ("dtmf,cdr,dialplan,config,user,agent,command,verbose", {
                DTMF | CDR | DIALPLAN | CONFIG | USER | AGENT | COMMAND | VERBOSE
            }),
            // Case-sensitive, no trimming around commas.
            ("System", 0),
            ("system, call", SYSTEM),
            (" system,call", CALL),
            // A non-last word that is a prefix of a class name grants that class...
            ("sys,call", SYSTEM | CALL),
            ("c,log", CALL | COMMAND | CONFIG | CDR | CC | LOG),
            ("a,none", AGENT | AGI | AOC | ALL),
            // ...but the last word must be exact.
            ("call,sys", CALL),
            // An empty inner word matches every class (all included); a trailing comma is inert.
            ("call,,log", ALL),
            ("call,", CALL),
            ("hookresponse", 0),
        ];
        for (value, want) in cases {
            assert_eq!(get_perm(value), *want, "{value:?}");
        }
    }

    #[test]
    fn atoi_and_truth_like_libc() {
        let nums: &[(&str, i32)] = &[
            ("30", 30),
            ("  45s", 45),
            ("-7", -7),
            ("+8", 8),
            ("x9", 0),
            ("", 0),
            ("2147483647", i32::MAX),
            ("99999999999999999999999", -1),
        ];
        for (t, want) in nums {
            assert_eq!(atoi(t), *want, "{t:?}");
        }
    }

    #[test]
    fn general_defaults_and_values() {
        let c = conf(vec![]);
        assert_eq!(c.general, General::default());
        assert_eq!(c.general.authtimeout, Duration::from_secs(30));
        assert_eq!(c.general.authlimit, 50);
        assert!(c.general.displayconnects && c.general.allowmultiplelogin && !c.general.enabled);

        let c = conf(vec![section(
            "General",
            &[
                ("enabled", "yes"),
                ("AuthTimeout", "12"),
                ("authlimit", "5"),
                ("timestampevents", "on"),
                ("displayconnects", "no"),
                ("allowmultiplelogin", "no"),
                ("port", "5038"),
            ],
        )]);
        let g = &c.general;
        assert!(g.enabled && g.timestampevents && !g.displayconnects && !g.allowmultiplelogin);
        assert_eq!((g.authtimeout, g.authlimit), (Duration::from_secs(12), 5));
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);

        let c = conf(vec![section("general", &[("authtimeout", "0"), ("authlimit", "-3")])]);
        assert_eq!((c.general.authtimeout, c.general.authlimit), (Duration::from_secs(30), 50));
        assert_eq!(c.warnings.len(), 2);
    }

    #[test]
    fn users_with_every_option() {
        let c = conf(vec![
            section("general", &[("enabled", "yes"), ("allowmultiplelogin", "no")]),
            section(
                "admin",
                &[
                    ("secret", "s3cret"),
                    ("read", "system,call"),
                    ("write", "all"),
                    ("deny", "0.0.0.0/0.0.0.0"),
                    ("permit", "127.0.0.1/255.255.255.0"),
                    ("eventfilter", "!Event: VarSet"),
                    ("eventfilter(name(Hangup))", ""),
                    ("writetimeout", "250"),
                    ("setvar", "A=1"),
                    ("setvar", "B=x=y"),
                    ("setvar", "novalue"),
                    ("displayconnects", "no"),
                ],
            ),
            section("viewer", &[("secret", "v"), ("read", "call"), ("allowmultiplelogin", "yes")]),
        ]);
        assert_eq!(c.accounts.len(), 2);
        let a = c.account("ADMIN").unwrap();
        assert_eq!(a.username, "admin");
        assert_eq!(a.secret.as_ref().map(Secret::expose), Some("s3cret"));
        assert_eq!((a.read, a.write), (flag::SYSTEM | flag::CALL, flag::ALL));
        assert!(a.acl.allows("127.0.0.9".parse::<IpAddr>().unwrap()));
        assert!(!a.acl.allows("10.0.0.1".parse::<IpAddr>().unwrap()));
        assert_eq!(a.filters.counts(), (1, 1));
        assert_eq!(a.write_timeout, Duration::from_millis(250));
        assert_eq!(a.setvars, [("B".into(), "x=y".into()), ("A".into(), "1".into())]);
        assert!(!a.display_connects);
        assert!(!a.allow_multiple_login, "[general] default applies");
        let v = c.account("viewer").unwrap();
        assert!(v.allow_multiple_login && v.display_connects);
        assert_eq!(v.write_timeout, Duration::from_millis(100));
        assert!(v.acl.is_empty() && v.filters.is_empty());
        assert!(c.account("nobody").is_none());
    }

    #[test]
    fn secrets_never_in_debug_output() {
        let c = conf(vec![section("u", &[("secret", "hunter2-topsecret")])]);
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("hunter2"), "{dbg}");
        assert!(dbg.contains("redacted"));
    }

    #[test]
    fn problems_become_warnings_or_deleted_users() {
        let c = conf(vec![
            section("badacl", &[("secret", "x"), ("permit", "not-an-ip")]),
            section("named", &[("secret", "x"), ("acl", "office")]),
            section(
                "badfilter",
                &[("secret", "x"), ("eventfilter", "[oops"), ("eventfilter", "ok")],
            ),
            section("oddclasses", &[("secret", "x"), ("read", "system, call")]),
            section("nosecret", &[("read", "all")]),
            section("empty", &[("secret", ""), ("writetimeout", "50")]),
            section("EventFilterCase", &[("EventFilter", "x")]),
        ]);
        let names: Vec<&str> = c.accounts.iter().map(|a| a.username.as_str()).collect();
        assert_eq!(
            names,
            ["named", "badfilter", "oddclasses", "nosecret", "empty", "EventFilterCase"]
        );
        let w = c.warnings.join("\n");
        for needle in [
            "'badacl' deleted",
            "[oops",
            "' call' in read",
            "'empty' has an empty secret",
            "invalid writetimeout '50'",
        ] {
            assert!(w.contains(needle), "missing {needle:?} in\n{w}");
        }
        // Named ACLs are the core's: until the host attaches its check, nobody passes.
        let named = &c.account("named").unwrap().acl;
        assert!(named.named_unresolved());
        assert!(!named.allows("127.0.0.1".parse::<IpAddr>().unwrap()));
        assert_eq!(c.account("badfilter").unwrap().filters.counts(), (1, 0));
        assert_eq!(c.account("oddclasses").unwrap().read, flag::SYSTEM);
        assert!(c.account("nosecret").unwrap().secret.is_none());
        // The key test is case-sensitive, as ast_begins_with.
        assert!(c.account("EventFilterCase").unwrap().filters.is_empty());
    }

    #[test]
    fn duplicate_sections_continue_the_first_user() {
        let c = conf(vec![
            section(
                "Ops",
                &[
                    ("secret", "one"),
                    ("read", "call"),
                    ("permit", "10.0.0.1"),
                    ("deny", "0.0.0.0/0"),
                    ("eventfilter", "Hangup"),
                    ("setvar", "X=1"),
                ],
            ),
            section("ops", &[("write", "system")]),
        ]);
        assert_eq!(c.accounts.len(), 1);
        let a = c.account("OPS").unwrap();
        assert_eq!(a.username, "Ops");
        assert_eq!(a.secret.as_ref().map(Secret::expose), Some("one"));
        assert_eq!((a.read, a.write), (flag::CALL, flag::SYSTEM));
        assert!(a.acl.is_empty(), "ACL starts afresh");
        assert!(a.filters.is_empty() && a.setvars.is_empty());

        // Validity is decided by the last section of that name, as the keep flag in manager.c.
        let c = conf(vec![
            section("x", &[("secret", "s"), ("permit", "bad")]),
            section("X", &[("permit", "127.0.0.1")]),
        ]);
        assert!(c.account("x").is_some());
        let c = conf(vec![section("x", &[("secret", "s")]), section("X", &[("permit", "bad")])]);
        assert!(c.account("x").is_none());
    }

    #[test]
    fn empty_section_name_is_an_error() {
        let raw = RawConfig { sections: vec![section("", &[("secret", "x")])] };
        assert!(ManagerConf::from_raw(&raw).is_err());
    }

    #[test]
    fn authority_to_str_like_manager_c() {
        assert_eq!(authority_to_str(0), "<none>");
        assert_eq!(authority_to_str(flag::CALL), "call,all");
        assert_eq!(authority_to_str(flag::ORIGINATE | flag::SYSTEM), "system,originate,all");
        assert_eq!(authority_to_str(1 << 14), "all", "hookresponse has no name of its own");
    }
}
