//! The core's ACL lists and named ACLs: `ast_append_acl`, `ast_apply_acl(_nolog)` and
//! `ast_free_acl_list` as main/acl.c implements them, and acl.conf read as main/named_acl.c reads
//! it (`module reload acl` re-reads it; `acl show [name]` lists it).
//!
//! Followed from main/acl.c: a list holds one unnamed base ACL (permit/deny lines, always kept
//! first) and one ACL per named ACL, in the order added. A sense starting with `a`
//! (case-insensitive) adds the comma-separated names (leading blanks skipped); a name already in
//! the list (`strcasecmp`, the base's empty name included) is an ERROR and sets `*error`. Any
//! other sense adds rules to the base with `ast_append_ha`: `p...` permits, anything else denies,
//! `[!]addr[/mask]` entries, numeric addresses only, no port, IPv4-mapped converted to IPv4, mask
//! as CIDR (`%30d`, 0..=32 or 0..=128) or as an address of the same family; the first bad entry
//! stops the line with a WARNING and sets `*error`. Applying a list: every ACL in order; an
//! invalid (undefined) one denies ("Rejecting ... due to use of an invalid ACL"), a non-empty one
//! whose rules deny (last matching rule wins, no match allows, IPv4 rules also match IPv4-mapped
//! peers, IPv6 rules never match IPv4 peers) denies ("Rejecting ... due to a failure to pass
//! ACL"); otherwise allow. NULL list: allow.
//! From main/named_acl.c: acl.conf sections are named ACLs (`permit`/`deny` options), names
//! compared case-sensitively (ao2 string field hash/cmp); an unknown name is WARNING "ACL '%s'
//! does not exist..." and the ACL is marked undefined; a known name without rules is a NOTICE and
//! allows. A list keeps its copy of the named rules until rebuilt (manager.c rebuilds on reload).
//!
//! Freeing a list twice or applying a freed one would corrupt memory in Asterisk: the stand-in
//! aborts there.

use std::collections::HashSet;
use std::ffi::{CStr, c_char, c_int};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Mutex;

use crate::builtins::{Builtin, Status};
use crate::ffi::sys;
use crate::logger::{ERROR, NOTICE, WARNING};

/// One rule: the network (already masked), its mask, and its sense (true = allow).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Ha {
    addr: IpAddr,
    mask: IpAddr,
    allow: bool,
}

/// One ACL of a list.
#[derive(Clone, Debug)]
struct Acl {
    name: String,
    rules: Vec<Ha>,
    invalid: bool,
}

/// An `ast_acl_list`, as handed to the module (a boxed value behind the opaque pointer).
#[derive(Debug, Default)]
struct AclList {
    acls: Vec<Acl>,
}

/// acl.conf: name -> rules, in file order; `None` before the first read.
type NamedAcls = Vec<(String, Vec<Ha>)>;
static NAMED: Mutex<Option<NamedAcls>> = Mutex::new(None);
/// Lists handed out and not yet freed (addresses).
static LIVE: Mutex<Option<HashSet<usize>>> = Mutex::new(None);

fn live() -> std::sync::MutexGuard<'static, Option<HashSet<usize>>> {
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// `ast_sockaddr_parse(.., PARSE_PORT_FORBID)` of a numeric address, `[v6]` accepted;
/// IPv4-mapped IPv6 becomes IPv4 (with acl.c's NOTICE).
fn parse_addr(text: &str, what: &str) -> Option<IpAddr> {
    let inner = match text.strip_prefix('[') {
        Some(rest) => rest.strip_suffix(']')?,
        None => text,
    };
    let ip: IpAddr = inner.parse().ok()?;
    if let IpAddr::V6(v6) = ip
        && let Some(v4) = v6.to_ipv4_mapped()
    {
        crate::slog!(NOTICE, "IPv4-mapped ACL {what} specified. Converting to an IPv4 ACL {what}.");
        return Some(IpAddr::V4(v4));
    }
    Some(ip)
}

/// `parse_cidr_mask`: `sscanf("%30d")`, then 0..=32 (IPv4) or 0..=128 (IPv6).
fn cidr(text: &str, v4: bool) -> Option<IpAddr> {
    let t = text.trim_start();
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let digits: String = t.chars().take_while(char::is_ascii_digit).take(29).collect();
    let bits: i64 = digits.parse().ok()?;
    let bits = if neg { -bits } else { bits };
    match (v4, bits) {
        (true, 0..=32) => {
            Some(IpAddr::V4(Ipv4Addr::from(u32::MAX.checked_shl(32 - bits as u32).unwrap_or(0))))
        }
        (false, 0..=128) => {
            Some(IpAddr::V6(Ipv6Addr::from(u128::MAX.checked_shl(128 - bits as u32).unwrap_or(0))))
        }
        _ => None,
    }
}

fn apply_mask(addr: IpAddr, mask: IpAddr) -> Option<IpAddr> {
    match (addr, mask) {
        (IpAddr::V4(a), IpAddr::V4(m)) => Some(IpAddr::V4((u32::from(a) & u32::from(m)).into())),
        (IpAddr::V6(a), IpAddr::V6(m)) => Some(IpAddr::V6((u128::from(a) & u128::from(m)).into())),
        _ => None,
    }
}

/// `ast_append_ha`: adds the entries of one line; `Err` at the first bad one.
fn append_ha(sense: &str, stuff: &str, rules: &mut Vec<Ha>) -> Result<(), ()> {
    let allowing = sense.get(..1).is_some_and(|p| p.eq_ignore_ascii_case("p"));
    for entry in stuff.split(',') {
        let (address, mask) = match entry.split_once('/') {
            Some((a, m)) => (a, Some(m)),
            None => (entry, None),
        };
        let (allow, address) = match address.strip_prefix('!') {
            Some(rest) => (!allowing, rest),
            None => (allowing, address),
        };
        let Some(addr) = parse_addr(address, "network address") else {
            crate::slog!(WARNING, "Invalid IP address: {address}");
            return Err(());
        };
        let v4 = addr.is_ipv4();
        let mask = match mask {
            None => cidr(if v4 { "32" } else { "128" }, v4),
            Some(m) if m.contains(':') || m.contains('.') => {
                let Some(n) = parse_addr(m, "netmask") else {
                    crate::slog!(WARNING, "Invalid netmask: {m}");
                    return Err(());
                };
                if n.is_ipv4() != v4 {
                    crate::slog!(WARNING, "Address and mask are not using same address scheme.");
                    return Err(());
                }
                Some(n)
            }
            Some(m) => match cidr(m, v4) {
                Some(n) => Some(n),
                None => {
                    crate::slog!(WARNING, "Invalid CIDR netmask: {m}");
                    return Err(());
                }
            },
        };
        let Some(mask) = mask else { return Err(()) };
        let Some(net) = apply_mask(addr, mask) else { return Err(()) };
        rules.push(Ha { addr: net, mask, allow });
    }
    Ok(())
}

/// `ast_apply_ha`: the last matching rule decides; no match allows.
fn apply_ha(rules: &[Ha], peer: IpAddr) -> bool {
    let mut allow = true;
    for r in rules {
        let candidate = match (r.addr, peer) {
            (IpAddr::V4(_), IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => continue,
            },
            (IpAddr::V4(_), v4) => v4,
            (IpAddr::V6(_), IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => peer,
            _ => continue,
        };
        if apply_mask(candidate, r.mask) == Some(r.addr) {
            allow = r.allow;
        }
    }
    allow
}

/// Reads acl.conf from the config directory (through the stand-in's config parser), as
/// named_acl.c's `aco_process_config` does: a missing or invalid file leaves the named ACL
/// configuration unavailable ("Unable to load config file 'acl.conf'"); on reload the previous
/// configuration stays.
pub fn reload() {
    let loaded = crate::config::load(&crate::config_c::dir(), "acl.conf", &mut |w| {
        crate::slog!(WARNING, "{w}")
    });
    let cfg = match loaded {
        Ok(cfg) => cfg,
        Err(_) => {
            crate::slog!(ERROR, "Unable to load config file 'acl.conf'");
            return;
        }
    };
    let mut named = Vec::new();
    for cat in cfg.categories.iter().filter(|c| !c.template) {
        let mut rules = Vec::new();
        for v in &cat.vars {
            // aco options "permit" and "deny" (ACO_EXACT).
            if (v.name.eq_ignore_ascii_case("permit") || v.name.eq_ignore_ascii_case("deny"))
                && append_ha(&v.name, &v.value, &mut rules).is_err()
            {
                crate::slog!(ERROR, "Error parsing {} at line {} of acl.conf", v.name, v.lineno);
            }
        }
        named.push((cat.name.clone(), rules));
    }
    *NAMED.lock().unwrap_or_else(|e| e.into_inner()) = Some(named);
}

/// `ast_named_acl_find`: (rules, undefined).
fn named_find(name: &str) -> (Vec<Ha>, bool) {
    let guard = NAMED.lock().unwrap_or_else(|e| e.into_inner());
    let Some(named) = guard.as_ref() else {
        crate::slog!(
            ERROR,
            "Attempted to find named ACL '{name}', but the ACL configuration isn't available."
        );
        return (Vec::new(), false);
    };
    match named.iter().find(|(n, _)| n == name) {
        Some((_, rules)) => {
            if rules.is_empty() {
                crate::slog!(
                    NOTICE,
                    "ACL '{name}' contains no rules. It is valid, but it will accept addresses unconditionally."
                );
            }
            (rules.clone(), false)
        }
        None => {
            crate::slog!(
                WARNING,
                "ACL '{name}' does not exist. The ACL will be marked as undefined and will automatically fail if applied."
            );
            (Vec::new(), true)
        }
    }
}

/// # Safety
/// `p` is NULL or a NUL-terminated string.
unsafe fn text(p: *const c_char) -> Option<String> {
    // SAFETY: per the contract.
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

fn set(flag: *mut c_int) {
    if !flag.is_null() {
        // SAFETY: a non-NULL flag pointer is the caller's int.
        unsafe { flag.write(1) };
    }
}

fn check_live(p: usize, what: &str) {
    if !live().as_ref().is_some_and(|s| s.contains(&p)) {
        crate::slog!(
            ERROR,
            "standin: CRASH: {what} of an ACL list that was never made or was already freed (main/acl.c)"
        );
        std::process::abort();
    }
}

/// `ast_append_acl` (exported through c/security_acl.c).
///
/// # Safety
/// `sense`/`stuff` are NUL-terminated strings; `path` points at a list pointer (NULL or one made
/// here); `error`/`named_acl_flag` are NULL or ints.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn standin_append_acl(
    sense: *const c_char,
    stuff: *const c_char,
    path: *mut *mut sys::ast_acl_list,
    error: *mut c_int,
    named_acl_flag: *mut c_int,
) {
    // SAFETY: per the contract; Asterisk dereferences both without checks.
    let (Some(sense), Some(stuff)) = (unsafe { text(sense) }, unsafe { text(stuff) }) else {
        crate::slog!(
            ERROR,
            "standin: CRASH: ast_append_acl with a NULL sense or rule text (main/acl.c)"
        );
        std::process::abort();
    };
    if path.is_null() {
        crate::slog!(ERROR, "standin: CRASH: ast_append_acl with a NULL path (main/acl.c)");
        std::process::abort();
    }
    // SAFETY: path is the caller's pointer variable.
    let mut list_ptr = unsafe { path.read() }.cast::<Mutex<AclList>>();
    if list_ptr.is_null() {
        list_ptr = Box::into_raw(Box::new(Mutex::new(AclList::default())));
        live().get_or_insert_with(HashSet::new).insert(list_ptr as usize);
        // SAFETY: as above.
        unsafe { path.write(list_ptr.cast()) };
    } else {
        check_live(list_ptr as usize, "ast_append_acl");
    }
    // SAFETY: a live list made here; freed only by standin_free_acl_list.
    let list = unsafe { &*list_ptr };
    let mut l = list.lock().unwrap_or_else(|e| e.into_inner());
    if !sense.get(..1).is_some_and(|a| a.eq_ignore_ascii_case("a")) {
        if l.acls.first().is_none_or(|a| !a.name.is_empty()) {
            l.acls.insert(0, Acl { name: String::new(), rules: Vec::new(), invalid: false });
        }
        if append_ha(&sense, &stuff, &mut l.acls[0].rules).is_err() {
            set(error);
        }
        return;
    }
    for name in stuff.split(',') {
        let name = name.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
        if l.acls.iter().any(|a| a.name.eq_ignore_ascii_case(name)) {
            crate::slog!(
                ERROR,
                "Named ACL '{name}' occurs multiple times in ACL definition. Please update your ACL configuration."
            );
            set(error);
            continue;
        }
        let (rules, invalid) = named_find(name);
        set(named_acl_flag);
        l.acls.push(Acl { name: name.to_owned(), rules, invalid });
    }
}

/// `ast_apply_acl` (log = 1, with `purpose` as the prefix) and `ast_apply_acl_nolog`; 1 = allow.
///
/// # Safety
/// `list` is NULL or a live list made here; `addr` points at an `ast_sockaddr`; `purpose` is a
/// NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn standin_apply_acl(
    list: *mut sys::ast_acl_list,
    addr: *const sys::ast_sockaddr,
    purpose: *const c_char,
    log: c_int,
) -> c_int {
    if list.is_null() {
        return 1;
    }
    check_live(list as usize, "ast_apply_acl");
    if addr.is_null() {
        crate::slog!(ERROR, "standin: CRASH: ast_apply_acl with a NULL address (main/acl.c)");
        std::process::abort();
    }
    // SAFETY: per the contract.
    let Some(peer) = (unsafe { crate::security::sockaddr_ip(addr) }) else {
        // An address of no family matches no rule: every ACL allows it.
        return 1;
    };
    // SAFETY: per the contract.
    let prefix = unsafe { text(purpose) }.unwrap_or_default();
    // SAFETY: a live list made here.
    let l = unsafe { &*list.cast::<Mutex<AclList>>() }.lock().unwrap_or_else(|e| e.into_inner());
    let shown = |a: &Acl| if a.name.is_empty() { "(BASELINE)".to_owned() } else { a.name.clone() };
    let peer_text = peer.to_string();
    for a in &l.acls {
        if a.invalid {
            if log != 0 {
                crate::slog!(
                    WARNING,
                    "{prefix}Rejecting '{peer_text}' due to use of an invalid ACL '{}'.",
                    shown(a)
                );
            }
            return 0;
        }
        if !a.rules.is_empty() && !apply_ha(&a.rules, peer) {
            if log != 0 {
                crate::slog!(
                    NOTICE,
                    "{prefix}Rejecting '{peer_text}' due to a failure to pass ACL '{}'",
                    shown(a)
                );
            }
            return 0;
        }
    }
    1
}

/// `ast_free_acl_list` (exported through c/security_acl.c); returns NULL.
///
/// # Safety
/// `list` is NULL or a live list made here.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn standin_free_acl_list(
    list: *mut sys::ast_acl_list,
) -> *mut sys::ast_acl_list {
    if list.is_null() {
        return std::ptr::null_mut();
    }
    check_live(list as usize, "ast_free_acl_list");
    live().get_or_insert_with(HashSet::new).remove(&(list as usize));
    // SAFETY: made by Box::into_raw in standin_append_acl and removed from LIVE just now.
    drop(unsafe { Box::from_raw(list.cast::<Mutex<AclList>>()) });
    std::ptr::null_mut()
}

/// Lists handed out and not yet freed (for `acl show`).
fn live_count() -> usize {
    live().as_ref().map_or(0, HashSet::len)
}

fn show_rules(rules: &[Ha]) -> String {
    rules
        .iter()
        .map(|r| format!("  {}: {}/{}\n", if r.allow { "allow" } else { "deny" }, r.addr, r.mask))
        .collect()
}

macro_rules! cmd {
    ($cmd:literal, $summary:literal, $usage:literal, $run:expr) => {
        Builtin { command: $cmd, summary: $summary, usage: $usage, run: $run }
    };
}

/// `acl show [name]` (named_acl.c), `standin acl reload` (as `module reload acl`).
pub static COMMANDS: &[Builtin] = &[
    cmd!(c"acl show", c"Show a named ACL or list all named ACLs", c"Usage: acl show [name]\n       Shows a list of named ACLs or lists all entries in a given named ACL.\n", |a| {
        let guard = NAMED.lock().unwrap_or_else(|e| e.into_inner());
        let named = guard.as_deref().unwrap_or_default();
        match a.argv.get(2) {
            None => {
                a.out("\nacl\n---\n");
                for (n, _) in named {
                    a.out(&format!("{n}\n"));
                }
                a.out(&format!("(lists in use by modules: {})\n", live_count()));
            }
            Some(name) => match named.iter().find(|(n, _)| n == name) {
                Some((n, rules)) => a.out(&format!("\nACL: {n}\n{}\n", show_rules(rules))),
                None => {
                    a.out(&format!("ACL '{name}' could not be found.\n"));
                    return Status::Failure;
                }
            },
        }
        Status::Success
    }),
    cmd!(c"standin acl reload", c"Re-read acl.conf", c"Usage: standin acl reload\n       Re-reads acl.conf, as 'module reload acl' does in Asterisk.\n", |a| {
        reload();
        a.out("Module 'acl' reloaded successfully.\n");
        Status::Success
    }),
];
