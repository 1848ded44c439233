//! `permit`/`deny`/`acl` lines of a manager.conf user, applied as Asterisk's `ast_apply_ha` does.
//!
//! Semantics (Asterisk `main/acl.c`):
//! - A `permit` or `deny` value is a comma-separated list of entries `[!]address[/mask]`; `!`
//!   inverts the entry's sense. The mask is a prefix length (`/24`, `/64`) or a dotted/colon
//!   netmask (`/255.255.255.0`, non-contiguous masks allowed); without a mask the entry is a
//!   single host. The address is stored already masked.
//! - IPv4-mapped IPv6 rule addresses and masks (`::ffff:10.0.0.0`) become IPv4 rules.
//! - Rules are tried in order and the last one that matches decides; no match allows.
//! - An IPv4 rule applies to IPv4 peers and to IPv4-mapped IPv6 peers; an IPv6 rule applies
//!   only to genuine IPv6 peers.
//! - `acl = name[,name...]` names lists from acl.conf (named ACLs). Those live in the core: the
//!   caller attaches a [`NamedAcls`] that asks the core (`ast_append_acl` builds the core's list
//!   of the named ACLs, `ast_apply_acl` applies it). A list with named ACLs and nothing attached
//!   refuses everyone. The core's own evaluation of a user's list is: every ACL of the list must
//!   allow (the unnamed base list of permit/deny rules first, then each named one), so checking
//!   our base rules and then the core's named-only list gives exactly its verdict.
//! - A bad entry makes the whole line (and the user, in manager.c) invalid, and a named ACL
//!   repeated in one user's list (case-insensitively) is an error, as in `ast_append_acl`. Errors
//!   are returned as an error, which makes the account unusable instead of silently wider.
#![forbid(unsafe_code)]

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

/// Whether a matching rule lets the address in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sense {
    /// `permit` (or `!` on a deny entry).
    Allow,
    /// `deny` (or `!` on a permit entry).
    Deny,
}

/// One network rule: the address (already masked) and its mask, in one family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Net {
    V4 { addr: u32, mask: u32 },
    V6 { addr: u128, mask: u128 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Rule {
    sense: Sense,
    net: Net,
}

/// The core's verdict on a user's named ACLs (acl.conf), attached by the host layer.
pub trait NamedAcls: Send + Sync + fmt::Debug {
    /// Whether every named ACL of the user lets `ip` in.
    fn allows(&self, ip: IpAddr) -> bool;
}

/// A user's access list: the ordered permit/deny rules plus any named ACLs.
#[derive(Clone, Debug, Default)]
pub struct Acl {
    rules: Vec<Rule>,
    named: Vec<String>,
    core: Option<Arc<dyn NamedAcls>>,
}

impl PartialEq for Acl {
    fn eq(&self, other: &Acl) -> bool {
        self.rules == other.rules && self.named == other.named
    }
}

impl Acl {
    /// An empty list (allows everyone, as a user without permit/deny does).
    pub fn new() -> Acl {
        Acl::default()
    }

    /// Adds one config line: `key` is `permit`, `deny` or `acl` (Asterisk looks only at the first
    /// letter, case-insensitively: `a...` is a named ACL, `p...` permit, anything else deny).
    /// On error nothing after the bad entry of this line is added, as in Asterisk, and the
    /// caller should treat the whole account as invalid.
    pub fn add(&mut self, key: &str, value: &str) -> Result<(), String> {
        let first = key.bytes().next().map(|b| b.to_ascii_lowercase());
        if first == Some(b'a') {
            return self.add_named(value);
        }
        let sense = if first == Some(b'p') { Sense::Allow } else { Sense::Deny };
        for entry in value.split(',') {
            let rule = parse_entry(sense, entry).map_err(|e| format!("{key}={value}: {e}"))?;
            self.rules.push(rule);
        }
        Ok(())
    }

    fn add_named(&mut self, value: &str) -> Result<(), String> {
        for name in value.split(',') {
            let name = name.trim_start();
            if self.named.iter().any(|n| n.eq_ignore_ascii_case(name)) {
                return Err(format!("acl={value}: named ACL '{name}' occurs more than once"));
            }
            self.named.push(name.to_owned());
        }
        Ok(())
    }

    /// True when there are no rules at all (Asterisk then skips the check).
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty() && self.named.is_empty()
    }

    /// The named ACLs (`acl=` lines) this list refers to.
    pub fn named(&self) -> &[String] {
        &self.named
    }

    /// Attaches the core's check of the named ACLs.
    pub fn attach_named(&mut self, core: Arc<dyn NamedAcls>) {
        self.core = Some(core);
    }

    /// Whether named ACLs are listed but nothing can check them (everyone is refused).
    pub fn named_unresolved(&self) -> bool {
        !self.named.is_empty() && self.core.is_none()
    }

    /// Whether `ip` may log in: the permit/deny rules (the last matching rule decides; no match
    /// allows), then the named ACLs (every one must allow; unresolved ones refuse).
    pub fn allows(&self, ip: IpAddr) -> bool {
        let mut verdict = Sense::Allow;
        for rule in &self.rules {
            if rule_matches(rule.net, ip) {
                verdict = rule.sense;
            }
        }
        if verdict == Sense::Deny {
            return false;
        }
        if self.named.is_empty() {
            return true;
        }
        self.core.as_ref().is_some_and(|c| c.allows(ip))
    }
}

fn rule_matches(net: Net, ip: IpAddr) -> bool {
    match (net, ip) {
        (Net::V4 { addr, mask }, IpAddr::V4(v4)) => u32::from(v4) & mask == addr,
        (Net::V4 { addr, mask }, IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => u32::from(v4) & mask == addr,
            None => false,
        },
        (Net::V6 { addr, mask }, IpAddr::V6(v6)) => {
            v6.to_ipv4_mapped().is_none() && u128::from(v6) & mask == addr
        }
        (Net::V6 { .. }, IpAddr::V4(_)) => false,
    }
}

/// Parses `[!]address[/mask]`.
fn parse_entry(line_sense: Sense, entry: &str) -> Result<Rule, String> {
    let (address, mask) = match entry.split_once('/') {
        Some((a, m)) => (a, Some(m)),
        None => (entry, None),
    };
    let (sense, address) = match address.strip_prefix('!') {
        Some(rest) => (flip(line_sense), rest),
        None => (line_sense, address),
    };
    let addr = parse_addr(address).ok_or_else(|| format!("invalid IP address '{address}'"))?;
    let net = match mask {
        None => match addr {
            IpAddr::V4(a) => Net::V4 { addr: u32::from(a), mask: u32::MAX },
            IpAddr::V6(a) => Net::V6 { addr: u128::from(a), mask: u128::MAX },
        },
        Some(m) if m.contains(':') || m.contains('.') => {
            let netmask = parse_addr(m).ok_or_else(|| format!("invalid netmask '{m}'"))?;
            match (addr, netmask) {
                (IpAddr::V4(a), IpAddr::V4(n)) => {
                    Net::V4 { addr: u32::from(a) & u32::from(n), mask: u32::from(n) }
                }
                (IpAddr::V6(a), IpAddr::V6(n)) => {
                    Net::V6 { addr: u128::from(a) & u128::from(n), mask: u128::from(n) }
                }
                _ => return Err(format!("address '{address}' and mask '{m}' differ in family")),
            }
        }
        Some(m) => {
            let bits = scan_int(m).ok_or_else(|| format!("invalid CIDR netmask '{m}'"))?;
            match addr {
                IpAddr::V4(a) => {
                    let mask = prefix_mask_v4(bits).ok_or_else(|| format!("invalid CIDR '{m}'"))?;
                    Net::V4 { addr: u32::from(a) & mask, mask }
                }
                IpAddr::V6(a) => {
                    let mask = prefix_mask_v6(bits).ok_or_else(|| format!("invalid CIDR '{m}'"))?;
                    Net::V6 { addr: u128::from(a) & mask, mask }
                }
            }
        }
    };
    Ok(Rule { sense, net })
}

fn flip(s: Sense) -> Sense {
    match s {
        Sense::Allow => Sense::Deny,
        Sense::Deny => Sense::Allow,
    }
}

/// A numeric address, `[v6]` accepted; IPv4-mapped IPv6 becomes IPv4 (Asterisk converts them).
fn parse_addr(text: &str) -> Option<IpAddr> {
    let inner = match text.strip_prefix('[') {
        Some(rest) => rest.strip_suffix(']')?,
        None => text,
    };
    if let Ok(v4) = inner.parse::<Ipv4Addr>() {
        return Some(IpAddr::V4(v4));
    }
    let v6 = inner.parse::<Ipv6Addr>().ok()?;
    Some(match v6.to_ipv4_mapped() {
        Some(v4) => IpAddr::V4(v4),
        None => IpAddr::V6(v6),
    })
}

/// `sscanf("%d")`: optional leading blanks, optional sign, at least one digit; the rest ignored.
fn scan_int(text: &str) -> Option<i64> {
    let t = text.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    // More than 30 digits is refused by the width limit; large values are out of range anyway.
    let v: i64 = t.get(..digits.min(18))?.parse().ok()?;
    Some(if neg { -v } else { v })
}

fn prefix_mask_v4(bits: i64) -> Option<u32> {
    match bits {
        0 => Some(0),
        1..=32 => Some(u32::MAX << (32 - bits)),
        _ => None,
    }
}

fn prefix_mask_v6(bits: i64) -> Option<u128> {
    match bits {
        0 => Some(0),
        1..=128 => Some(u128::MAX << (128 - bits)),
        _ => None,
    }
}

impl fmt::Display for Acl {
    /// Rules in Asterisk's `ast_ha_join` spirit: `!` marks an allow rule, `addr/mask`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        for r in &self.rules {
            let bang = if r.sense == Sense::Allow { "!" } else { "" };
            match r.net {
                Net::V4 { addr, mask } => {
                    write!(f, "{sep}{bang}{}/{}", Ipv4Addr::from(addr), Ipv4Addr::from(mask))?
                }
                Net::V6 { addr, mask } => {
                    write!(f, "{sep}{bang}{}/{}", Ipv6Addr::from(addr), Ipv6Addr::from(mask))?
                }
            }
            sep = ",";
        }
        for n in &self.named {
            write!(f, "{sep}acl:{n}")?;
            sep = ",";
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acl(lines: &[(&str, &str)]) -> Acl {
        let mut a = Acl::new();
        for (k, v) in lines {
            a.add(k, v).unwrap_or_else(|e| panic!("{k}={v}: {e}"));
        }
        a
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn rules_apply_in_order_last_match_wins_default_allow() {
        type Case<'a> = (&'a [(&'a str, &'a str)], &'a [(&'a str, bool)]);
        let cases: &[Case] = &[
            // No rules: everybody.
            (&[], &[("1.2.3.4", true), ("::1", true)]),
            // The manager.conf.sample pattern.
            (
                &[("deny", "0.0.0.0/0.0.0.0"), ("permit", "127.0.0.1/255.255.255.0")],
                &[("127.0.0.1", true), ("127.0.0.200", true), ("127.0.1.1", false)],
            ),
            // Order matters: a later deny overrides the earlier permit.
            (
                &[("permit", "10.0.0.0/8"), ("deny", "10.1.0.0/16")],
                &[("10.2.3.4", true), ("10.1.3.4", false), ("11.0.0.1", true)],
            ),
            (&[("deny", "10.1.0.0/16"), ("permit", "10.0.0.0/8")], &[("10.1.3.4", true)]),
            // Single host without mask; deny-all by /0.
            (
                &[("deny", "0.0.0.0/0"), ("permit", "192.168.1.10")],
                &[("192.168.1.10", true), ("192.168.1.11", false)],
            ),
            // Address given with host bits is masked at load.
            (&[("deny", "0.0.0.0/0"), ("permit", "10.9.8.7/24")], &[("10.9.8.200", true)]),
            // `!` inverts an entry; several entries on one line.
            (&[("deny", "0.0.0.0/0,!172.16.0.0/12")], &[("172.20.1.1", true), ("8.8.8.8", false)]),
            // Non-contiguous dotted mask.
            (
                &[("deny", "0.0.0.0/0"), ("permit", "10.0.0.1/255.0.0.255")],
                &[("10.77.66.1", true), ("10.77.66.2", false)],
            ),
            // /32 and /0 edges.
            (
                &[("deny", "0.0.0.0/0"), ("permit", "1.2.3.4/32")],
                &[("1.2.3.4", true), ("1.2.3.5", false)],
            ),
        ];
        for (lines, checks) in cases {
            let a = acl(lines);
            for (addr, want) in *checks {
                assert_eq!(a.allows(ip(addr)), *want, "{lines:?} with {addr}");
            }
        }
    }

    #[test]
    fn families_ipv6_and_ipv4_mapped() {
        // IPv4 rules reach IPv4-mapped peers, never plain IPv6 peers.
        let v4only = acl(&[("deny", "0.0.0.0/0"), ("permit", "127.0.0.1")]);
        assert!(v4only.allows(ip("127.0.0.1")));
        assert!(v4only.allows(ip("::ffff:127.0.0.1")));
        assert!(!v4only.allows(ip("::ffff:127.0.0.2")));
        assert!(v4only.allows(ip("::1")), "a v4 deny-all does not touch IPv6 peers");

        // IPv6 rules never touch IPv4 or IPv4-mapped peers.
        let v6 = acl(&[("deny", "::/0"), ("permit", "2001:db8::/32"), ("permit", "::1")]);
        assert!(v6.allows(ip("2001:db8:1::5")));
        assert!(v6.allows(ip("::1")));
        assert!(!v6.allows(ip("2001:db9::1")));
        assert!(v6.allows(ip("10.0.0.1")));
        assert!(v6.allows(ip("::ffff:10.0.0.1")));

        // Both families closed, then opened for loopback only.
        let both = acl(&[
            ("deny", "0.0.0.0/0"),
            ("deny", "::/0"),
            ("permit", "127.0.0.1"),
            ("permit", "[::1]"),
        ]);
        for (a, want) in [("127.0.0.1", true), ("::1", true), ("::2", false), ("10.0.0.1", false)] {
            assert_eq!(both.allows(ip(a)), want, "{a}");
        }

        // An IPv4-mapped rule becomes an IPv4 rule, mask included.
        let mapped = acl(&[("deny", "0.0.0.0/0"), ("permit", "::ffff:10.0.0.0/::ffff:255.0.0.0")]);
        assert!(mapped.allows(ip("10.3.3.3")));
        assert!(!mapped.allows(ip("11.3.3.3")));
        let mapped_cidr = acl(&[("deny", "0.0.0.0/0"), ("permit", "::ffff:10.0.0.1")]);
        assert!(mapped_cidr.allows(ip("10.0.0.1")));

        // A v6 /64 and a dotted v6 mask.
        let p64 = acl(&[("deny", "::/0"), ("permit", "fd00:1:2:3::/64")]);
        assert!(p64.allows(ip("fd00:1:2:3:ffff::1")));
        assert!(!p64.allows(ip("fd00:1:2:4::1")));
        let colon = acl(&[("deny", "::/0"), ("permit", "fd00::/ffff:ffff::")]);
        assert!(colon.allows(ip("fd00:0:1::1")));
        assert!(!colon.allows(ip("fd01::1")));
    }

    #[test]
    fn key_is_read_by_first_letter_like_asterisk() {
        let mut a = Acl::new();
        a.add("Deny", "0.0.0.0/0").unwrap();
        a.add("PERMIT", "127.0.0.1").unwrap();
        assert!(a.allows(ip("127.0.0.1")));
        assert!(!a.allows(ip("127.0.0.2")));
    }

    #[test]
    fn cidr_like_sscanf() {
        // Leading blanks and trailing junk are what sscanf("%d") accepts.
        let a = acl(&[("deny", "0.0.0.0/0"), ("permit", "10.0.0.0/ 8"), ("permit", "11.0.0.0/8x")]);
        assert!(a.allows(ip("10.1.1.1")));
        assert!(a.allows(ip("11.1.1.1")));
    }

    #[test]
    fn bad_entries_are_errors() {
        let bad: &[(&str, &str)] = &[
            ("permit", "10.0.0.0/33"),
            ("permit", "10.0.0.0/-1"),
            ("permit", "::/129"),
            ("permit", "10.0.0.0/"),
            ("permit", "10.0.0.0/abc"),
            ("permit", "host.example.com"),
            ("permit", "10.0.0.256"),
            ("permit", ""),
            ("permit", "10.0.0.0/8,"),
            ("permit", " 10.0.0.1"),
            ("permit", "10.0.0.0/ffff::"),
            ("permit", "fd00::/255.0.0.0"),
            ("permit", "10.0.0.0/255.0.0.x"),
            ("deny", "[::1"),
            ("deny", "127.0.0.1:5038"),
            ("acl", "office,OFFICE"),
        ];
        for (k, v) in bad {
            assert!(Acl::new().add(k, v).is_err(), "{k}={v} was accepted");
        }
    }

    #[derive(Debug)]
    struct Only(IpAddr);

    impl NamedAcls for Only {
        fn allows(&self, ip: IpAddr) -> bool {
            ip == self.0
        }
    }

    #[test]
    fn named_acls_need_the_core_and_every_list_must_allow() {
        let mut a = acl(&[("deny", "0.0.0.0/0"), ("permit", "10.0.0.0/8")]);
        a.add("acl", "office, lab").unwrap();
        assert_eq!(a.named(), ["office", "lab"]);
        assert!(a.named_unresolved());
        assert!(!a.allows(ip("10.0.0.1")), "nothing attached: refused");
        assert!(!a.is_empty());
        a.attach_named(Arc::new(Only(ip("10.0.0.1"))));
        assert!(!a.named_unresolved());
        assert!(a.allows(ip("10.0.0.1")), "base and named allow");
        assert!(!a.allows(ip("10.0.0.2")), "named refuses");
        // The base list refuses before the core is asked (Only would allow 8.8.8.8).
        let mut b = acl(&[("deny", "0.0.0.0/0")]);
        b.add("acl", "x").unwrap();
        b.attach_named(Arc::new(Only(ip("8.8.8.8"))));
        assert!(!b.allows(ip("8.8.8.8")));
        assert!(Acl::new().is_empty() && !Acl::new().named_unresolved());
        // Equality ignores what is attached.
        let mut c = acl(&[("deny", "0.0.0.0/0")]);
        c.add("acl", "x").unwrap();
        assert_eq!(b, c);
    }

    #[test]
    fn display_shows_masked_rules() {
        let a = acl(&[("deny", "0.0.0.0/0"), ("permit", "10.9.8.7/24"), ("permit", "fd00::1/16")]);
        assert_eq!(a.to_string(), "0.0.0.0/0.0.0.0,!10.9.8.0/255.255.255.0,!fd00::/ffff::");
    }
}
