//! AMI login: plain and MD5-challenge checks, and a per-address/per-user failure limiter.
//!
//! The check follows manager.c's `authenticate`: no Username fails; an unknown user fails; a
//! user whose ACL refuses the address fails; `AuthType: MD5` compares `Key` with the lowercase
//! hex MD5 of challenge + secret (needs a challenge from this session and a secret); anything
//! else compares `Secret` with the secret. A user without a secret cannot log in. Every failure
//! gives the client the same answer (`Authentication failed`); only our logs see the reason.
//! Comparisons run in constant time and an unknown user costs the same work as a known one.
#![forbid(unsafe_code)]

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use md5::{Digest, Md5};

use super::accounts::{Account, ManagerConf};
use crate::host::random;

/// AMI waits this long before answering a failed login (`sleep(1)` in `action_login`); the
/// caller should delay the reply (not block a thread) by this much.
pub const FAILED_LOGIN_DELAY: Duration = Duration::from_secs(1);

/// Why a login failed (for logs and security events; never shown to the client).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginFailure {
    /// No `Username` header.
    MissingUsername,
    /// No such user.
    UnknownUser,
    /// The user's permit/deny (or named ACL) refuses the address.
    AclDenied,
    /// `AuthType: MD5` without a `Key`, without a prior Challenge, or for a user without secret.
    Md5NotPossible,
    /// The user has no secret, so plain login is impossible.
    NoSecret,
    /// Wrong secret (plain login).
    BadCredentials,
    /// Wrong key (MD5 login with a challenge and a secret).
    WrongKey,
}

impl fmt::Display for LoginFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LoginFailure::MissingUsername => "no username given",
            LoginFailure::UnknownUser => "nonexistent user",
            LoginFailure::AclDenied => "address refused by the user's ACL",
            LoginFailure::Md5NotPossible => "MD5 authentication not possible (no key/challenge)",
            LoginFailure::NoSecret => "user has no secret",
            LoginFailure::BadCredentials => "wrong secret",
            LoginFailure::WrongKey => "wrong MD5 key",
        })
    }
}

/// The login-relevant headers of a `Login` action (`Debug` hides the secret and key).
#[derive(Clone, Copy, Default)]
pub struct LoginRequest<'a> {
    /// `Username`.
    pub username: &'a str,
    /// `AuthType` (MD5 selects the challenge check, case-insensitive).
    pub auth_type: &'a str,
    /// `Secret` (plain login).
    pub secret: &'a str,
    /// `Key` (MD5 login).
    pub key: &'a str,
}

impl fmt::Debug for LoginRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden = |v: &str| if v.is_empty() { "" } else { "<redacted>" };
        f.debug_struct("LoginRequest")
            .field("username", &self.username)
            .field("auth_type", &self.auth_type)
            .field("secret", &hidden(self.secret))
            .field("key", &hidden(self.key))
            .finish()
    }
}

/// Checks a login against the accounts. `challenge` is the session's challenge, if it asked.
pub fn authenticate<'c>(
    conf: &'c ManagerConf,
    req: &LoginRequest<'_>,
    challenge: Option<&str>,
    remote: IpAddr,
) -> Result<&'c Account, LoginFailure> {
    if req.username.is_empty() {
        return Err(LoginFailure::MissingUsername);
    }
    let md5 = req.auth_type.eq_ignore_ascii_case("MD5");
    let Some(account) = conf.account(req.username) else {
        // Same work as a real check against a secret of typical length.
        let _ = check_secret(md5, req, challenge, "dummy-secret-of-some-length");
        return Err(LoginFailure::UnknownUser);
    };
    if !account.acl.is_empty() && !account.acl.allows(remote) {
        return Err(LoginFailure::AclDenied);
    }
    let secret = account.secret.as_ref().map(|s| s.expose());
    match (md5, secret) {
        (true, Some(s)) if !req.key.is_empty() && challenge.is_some_and(|c| !c.is_empty()) => {
            check_secret(true, req, challenge, s).map(|()| account)
        }
        (true, _) => Err(LoginFailure::Md5NotPossible),
        (false, Some(s)) => check_secret(false, req, challenge, s).map(|()| account),
        (false, None) => Err(LoginFailure::NoSecret),
    }
}

fn check_secret(
    md5: bool,
    req: &LoginRequest<'_>,
    challenge: Option<&str>,
    secret: &str,
) -> Result<(), LoginFailure> {
    let ok = if md5 {
        let expected = md5_key(challenge.unwrap_or(""), secret);
        constant_time_eq(expected.as_bytes(), req.key.as_bytes())
    } else {
        constant_time_eq(secret.as_bytes(), req.secret.as_bytes())
    };
    match (ok, md5) {
        (true, _) => Ok(()),
        (false, true) => Err(LoginFailure::WrongKey),
        (false, false) => Err(LoginFailure::BadCredentials),
    }
}

/// The `Key` an MD5 login must send: lowercase hex of MD5(challenge followed by secret).
pub fn md5_key(challenge: &str, secret: &str) -> String {
    let mut h = Md5::new();
    h.update(challenge.as_bytes());
    h.update(secret.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Equality whose running time depends only on the lengths, not on where the bytes differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = u8::from(a.len() != b.len());
    for (i, x) in a.iter().enumerate() {
        // Compare against b cyclically so unequal lengths still cost a full pass over `a`.
        let y = b.get(i % b.len().max(1)).copied().unwrap_or(0);
        diff |= x ^ y;
    }
    std::hint::black_box(diff) == 0
}

/// A fresh challenge as AMI makes them: a decimal number of at most 9 digits.
pub fn new_challenge() -> std::io::Result<String> {
    Ok((random::u64()? % 1_000_000_000).to_string())
}

/// Thresholds for one kind of key (address or user name).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    /// Failures within `window` that trigger a lockout.
    pub max_failures: u32,
    /// The counting window, from the first failure.
    pub window: Duration,
    /// The first lockout; each further lockout doubles it.
    pub lockout: Duration,
    /// The longest lockout; also how long a key must stay quiet before it is forgotten.
    pub max_lockout: Duration,
}

/// Limits for the [`LoginRateLimiter`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// Per remote address (IPv6 grouped by /64, IPv4-mapped as IPv4).
    pub per_addr: Limit,
    /// Per user name (ASCII case-folded). Higher, so a stranger cannot easily lock a user out.
    pub per_user: Limit,
    /// Most keys remembered; the least recently touched is forgotten first.
    pub max_entries: usize,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        let min = |m: u64| Duration::from_secs(60 * m);
        RateLimitConfig {
            per_addr: Limit {
                max_failures: 5,
                window: min(1),
                lockout: Duration::from_secs(30),
                max_lockout: min(15),
            },
            per_user: Limit {
                max_failures: 20,
                window: min(1),
                lockout: Duration::from_secs(30),
                max_lockout: min(15),
            },
            max_entries: 4096,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    Addr(IpAddr),
    User(String),
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    failures: u32,
    window_start: Instant,
    last_failure: Instant,
    locked_until: Option<Instant>,
    strikes: u32,
    stamp: (Instant, u64),
}

/// Counts failed logins per address and per user name and refuses further attempts for a
/// while once a limit is hit, with doubling lockouts. Memory is bounded by `max_entries`.
/// Not synchronized: owned by one thread (the network loop) or wrapped by the caller.
#[derive(Debug)]
pub struct LoginRateLimiter {
    cfg: RateLimitConfig,
    entries: HashMap<Key, Entry>,
    /// Entries by last touch, oldest first, for eviction.
    order: BTreeMap<(Instant, u64), Key>,
    seq: u64,
}

impl LoginRateLimiter {
    /// An empty limiter.
    pub fn new(cfg: RateLimitConfig) -> LoginRateLimiter {
        LoginRateLimiter { cfg, entries: HashMap::new(), order: BTreeMap::new(), seq: 0 }
    }

    /// `Err(wait)` when an attempt from `addr` (for `username`, if known) must be refused now.
    pub fn check(
        &self,
        addr: IpAddr,
        username: Option<&str>,
        now: Instant,
    ) -> Result<(), Duration> {
        let mut wait = Duration::ZERO;
        for key in keys(addr, username) {
            if let Some(until) = self.entries.get(&key).and_then(|e| e.locked_until) {
                wait = wait.max(until.saturating_duration_since(now));
            }
        }
        if wait.is_zero() { Ok(()) } else { Err(wait) }
    }

    /// Records a failed login.
    pub fn record_failure(&mut self, addr: IpAddr, username: Option<&str>, now: Instant) {
        for key in keys(addr, username) {
            let limit = match key {
                Key::Addr(_) => self.cfg.per_addr,
                Key::User(_) => self.cfg.per_user,
            };
            let stamp = self.next_stamp(now);
            let mut e = match self.entries.remove(&key) {
                Some(old) => {
                    self.order.remove(&old.stamp);
                    old
                }
                None => Entry {
                    failures: 0,
                    window_start: now,
                    last_failure: now,
                    locked_until: None,
                    strikes: 0,
                    stamp,
                },
            };
            if now.saturating_duration_since(e.last_failure) > limit.max_lockout {
                e.strikes = 0;
            }
            if e.locked_until.is_some_and(|u| now >= u) {
                e.locked_until = None;
            }
            if now.saturating_duration_since(e.window_start) > limit.window {
                e.failures = 0;
                e.window_start = now;
            }
            e.failures = e.failures.saturating_add(1);
            e.last_failure = now;
            if e.failures >= limit.max_failures {
                let factor = 1u32.checked_shl(e.strikes.min(31)).unwrap_or(u32::MAX);
                let lock = limit.lockout.saturating_mul(factor).min(limit.max_lockout);
                e.locked_until = Some(now + lock);
                e.strikes = e.strikes.saturating_add(1);
                e.failures = 0;
                e.window_start = now;
            }
            e.stamp = stamp;
            self.insert(key, e, now);
        }
    }

    /// Records a successful login: the user name's record is cleared (the address keeps its
    /// count, so one good account does not reset an address that is guessing others).
    pub fn record_success(&mut self, username: &str) {
        if let Some(e) = self.entries.remove(&Key::User(username.to_ascii_lowercase())) {
            self.order.remove(&e.stamp);
        }
    }

    /// Keys remembered now.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn next_stamp(&mut self, now: Instant) -> (Instant, u64) {
        self.seq = self.seq.wrapping_add(1);
        (now, self.seq)
    }

    fn insert(&mut self, key: Key, e: Entry, now: Instant) {
        // Forget entries that are quiet for good, oldest first, then evict for room.
        while let Some((&stamp, k)) = self.order.first_key_value() {
            let stale = self.entries.get(k).is_none_or(|old| self.is_stale(k, old, now));
            if !stale && self.entries.len() < self.cfg.max_entries.max(1) {
                break;
            }
            if let Some(k) = self.order.remove(&stamp) {
                self.entries.remove(&k);
            }
        }
        self.order.insert(e.stamp, key.clone());
        self.entries.insert(key, e);
    }

    fn is_stale(&self, key: &Key, e: &Entry, now: Instant) -> bool {
        let limit = match key {
            Key::Addr(_) => self.cfg.per_addr,
            Key::User(_) => self.cfg.per_user,
        };
        let quiet = now.saturating_duration_since(e.last_failure);
        e.locked_until.is_none_or(|u| now >= u) && quiet > limit.window.max(limit.max_lockout)
    }
}

fn keys(addr: IpAddr, username: Option<&str>) -> impl Iterator<Item = Key> {
    let user = username.filter(|u| !u.is_empty()).map(|u| Key::User(u.to_ascii_lowercase()));
    std::iter::once(Key::Addr(addr_key(addr))).chain(user)
}

/// IPv4-mapped addresses count as IPv4; IPv6 addresses are grouped by their /64.
fn addr_key(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(_) => addr,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        },
    }
}

/// Counts sessions not yet logged in against `authlimit`, as AMI's `unauth_sessions`.
#[derive(Debug, Default)]
pub struct PreAuthCounter {
    current: usize,
}

impl PreAuthCounter {
    /// Counts a new connection; false (and nothing counted) when `limit` is already reached.
    pub fn admit(&mut self, limit: u32) -> bool {
        if self.current >= usize::try_from(limit).unwrap_or(usize::MAX) {
            return false;
        }
        self.current += 1;
        true
    }

    /// A counted connection logged in or went away.
    pub fn release(&mut self) {
        self.current = self.current.saturating_sub(1);
    }

    /// Connections counted now.
    pub fn current(&self) -> usize {
        self.current
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rawconf::{RawConfig, Section};

    fn conf() -> ManagerConf {
        let sec = |name: &str, e: &[(&str, &str)]| Section {
            name: name.into(),
            entries: e.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        };
        ManagerConf::from_raw(&RawConfig {
            sections: vec![
                sec("admin", &[("secret", "jumps over the lazy dog"), ("read", "all")]),
                sec("local", &[("secret", "pw"), ("deny", "0.0.0.0/0"), ("permit", "127.0.0.1")]),
                sec("nosecret", &[("read", "all")]),
                sec("named", &[("secret", "pw"), ("acl", "office")]),
            ],
        })
        .unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn md5_key_known_vectors() {
        assert_eq!(md5_key("", ""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(md5_key("ab", "c"), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(
            md5_key("The quick brown fox ", "jumps over the lazy dog"),
            "9e107d9d372bb6826bd81d3542a419d6"
        );
    }

    #[test]
    fn login_outcomes() {
        use LoginFailure::*;
        let c = conf();
        let good_key = md5_key("123456789", "jumps over the lazy dog");
        let upper_key = good_key.to_uppercase();
        type Case<'a> = (&'a str, &'a str, &'a str, &'a str, Option<&'a str>, &'a str);
        // (username, authtype, secret, key, challenge, remote) -> expected
        let cases: &[(Case, Result<&str, LoginFailure>)] = &[
            (("admin", "", "jumps over the lazy dog", "", None, "10.0.0.1"), Ok("admin")),
            (("ADMIN", "plain", "jumps over the lazy dog", "", None, "::1"), Ok("admin")),
            (("admin", "", "jumps over the lazy do", "", None, "10.0.0.1"), Err(BadCredentials)),
            (("admin", "", "", "", None, "10.0.0.1"), Err(BadCredentials)),
            (("ghost", "", "jumps over the lazy dog", "", None, "10.0.0.1"), Err(UnknownUser)),
            (("", "", "x", "", None, "10.0.0.1"), Err(MissingUsername)),
            // MD5.
            (("admin", "MD5", "", &good_key, Some("123456789"), "10.0.0.1"), Ok("admin")),
            (("admin", "md5", "", &good_key, Some("123456789"), "10.0.0.1"), Ok("admin")),
            (("admin", "MD5", "", &upper_key, Some("123456789"), "10.0.0.1"), Err(WrongKey)),
            (("admin", "MD5", "", &good_key, Some("987654321"), "10.0.0.1"), Err(WrongKey)),
            (("admin", "MD5", "", &good_key, None, "10.0.0.1"), Err(Md5NotPossible)),
            (("admin", "MD5", "", &good_key, Some(""), "10.0.0.1"), Err(Md5NotPossible)),
            (("admin", "MD5", "", "", Some("123456789"), "10.0.0.1"), Err(Md5NotPossible)),
            // With MD5 the Secret header is ignored.
            (("admin", "MD5", "jumps over the lazy dog", "x", Some("1"), "1.1.1.1"), Err(WrongKey)),
            (("ghost", "MD5", "", &good_key, Some("123456789"), "10.0.0.1"), Err(UnknownUser)),
            // ACL before secret.
            (("local", "", "pw", "", None, "127.0.0.1"), Ok("local")),
            (("local", "", "pw", "", None, "::ffff:127.0.0.1"), Ok("local")),
            (("local", "", "pw", "", None, "10.0.0.1"), Err(AclDenied)),
            (("local", "", "wrong", "", None, "10.0.0.1"), Err(AclDenied)),
            (("named", "", "pw", "", None, "127.0.0.1"), Err(AclDenied)),
            // No secret: never.
            (("nosecret", "", "", "", None, "127.0.0.1"), Err(NoSecret)),
            (
                ("nosecret", "MD5", "", &md5_key("1", ""), Some("1"), "127.0.0.1"),
                Err(Md5NotPossible),
            ),
        ];
        for ((username, auth_type, secret, key, challenge, remote), want) in cases {
            let req = LoginRequest { username, auth_type, secret, key };
            let got = authenticate(&c, &req, *challenge, ip(remote)).map(|a| a.username.as_str());
            assert_eq!(got, *want, "{req:?} challenge {challenge:?} from {remote}");
        }
    }

    #[test]
    fn request_debug_hides_secret_and_key() {
        let req = LoginRequest { username: "u", auth_type: "MD5", secret: "pw-123", key: "abcdef" };
        let dbg = format!("{req:?}");
        assert!(!dbg.contains("pw-123") && !dbg.contains("abcdef"), "{dbg}");
        assert!(dbg.contains("\"u\"") && dbg.contains("redacted"), "{dbg}");
    }

    #[test]
    fn constant_time_eq_is_plain_equality() {
        let cases: &[(&[u8], &[u8], bool)] = &[
            (b"", b"", true),
            (b"a", b"a", true),
            (b"abc", b"abd", false),
            (b"abc", b"ab", false),
            (b"ab", b"abc", false),
            (b"", b"a", false),
            (b"a", b"", false),
            (b"abcabc", b"abc", false),
        ];
        for (a, b, want) in cases {
            assert_eq!(constant_time_eq(a, b), *want, "{a:?} {b:?}");
        }
    }

    #[test]
    fn challenges_are_short_decimal_and_fresh() {
        let all: std::collections::HashSet<String> =
            (0..50).map(|_| new_challenge().unwrap()).collect();
        assert!(all.len() > 45);
        for c in &all {
            assert!(!c.is_empty() && c.len() <= 9 && c.bytes().all(|b| b.is_ascii_digit()), "{c}");
        }
    }

    fn small() -> RateLimitConfig {
        let s = Duration::from_secs;
        RateLimitConfig {
            per_addr: Limit { max_failures: 3, window: s(60), lockout: s(10), max_lockout: s(40) },
            per_user: Limit { max_failures: 5, window: s(60), lockout: s(20), max_lockout: s(40) },
            max_entries: 100,
        }
    }

    #[test]
    fn lockout_after_failures_and_doubling_backoff() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let a = ip("192.0.2.1");
        let mut rl = LoginRateLimiter::new(small());
        for n in 0..2 {
            rl.record_failure(a, None, t0 + s(n));
            assert_eq!(rl.check(a, None, t0 + s(n)), Ok(()));
        }
        rl.record_failure(a, None, t0 + s(2));
        assert_eq!(rl.check(a, None, t0 + s(2)), Err(s(10)));
        assert_eq!(rl.check(a, None, t0 + s(7)), Err(s(5)));
        assert_eq!(rl.check(a, None, t0 + s(12)), Ok(()));
        // Another address is not affected.
        assert_eq!(rl.check(ip("192.0.2.2"), None, t0 + s(3)), Ok(()));
        // Second strike: 20 s; third: capped at 40 s.
        for n in 0..3 {
            rl.record_failure(a, None, t0 + s(13 + n));
        }
        assert_eq!(rl.check(a, None, t0 + s(15)), Err(s(20)));
        for n in 0..3 {
            rl.record_failure(a, None, t0 + s(36 + n));
        }
        assert_eq!(rl.check(a, None, t0 + s(38)), Err(s(40)));
        // After a long quiet spell the strikes are forgotten: back to 10 s.
        for n in 0..3 {
            rl.record_failure(a, None, t0 + s(200 + n));
        }
        assert_eq!(rl.check(a, None, t0 + s(202)), Err(s(10)));
    }

    #[test]
    fn failures_outside_the_window_do_not_add_up() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let a = ip("198.51.100.7");
        let mut rl = LoginRateLimiter::new(small());
        for n in 0..10 {
            rl.record_failure(a, None, t0 + s(n * 40));
            assert_eq!(rl.check(a, None, t0 + s(n * 40)), Ok(()), "failure {n}");
        }
    }

    #[test]
    fn per_user_limit_spans_addresses_and_ignores_case() {
        let t0 = Instant::now();
        let mut rl = LoginRateLimiter::new(small());
        for n in 0..5u8 {
            let a = IpAddr::from([203, 0, 113, n]);
            assert_eq!(rl.check(a, Some("Admin"), t0), Ok(()));
            rl.record_failure(a, Some(if n % 2 == 0 { "admin" } else { "ADMIN" }), t0);
        }
        let fresh = ip("203.0.113.200");
        assert_eq!(rl.check(fresh, Some("admin"), t0), Err(Duration::from_secs(20)));
        assert_eq!(rl.check(fresh, Some("other"), t0), Ok(()));
        assert_eq!(rl.check(fresh, None, t0), Ok(()));
        // Success clears the user, not the addresses.
        rl.record_success("aDmin");
        assert_eq!(rl.check(fresh, Some("admin"), t0), Ok(()));
    }

    #[test]
    fn ipv6_grouped_by_64_and_mapped_v4_as_v4() {
        let t0 = Instant::now();
        let mut rl = LoginRateLimiter::new(small());
        for host in ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::9"] {
            rl.record_failure(ip(host), None, t0);
        }
        assert!(rl.check(ip("2001:db8:1:2::77"), None, t0).is_err());
        assert_eq!(rl.check(ip("2001:db8:1:3::1"), None, t0), Ok(()));
        for _ in 0..3 {
            rl.record_failure(ip("::ffff:10.1.1.1"), None, t0);
        }
        assert!(rl.check(ip("10.1.1.1"), None, t0).is_err());
    }

    #[test]
    fn memory_is_bounded_and_recent_keys_survive() {
        let t0 = Instant::now();
        let mut cfg = small();
        cfg.max_entries = 16;
        let mut rl = LoginRateLimiter::new(cfg);
        for n in 0..1000u32 {
            let a = IpAddr::from((0x0a00_0000u32 + n).to_be_bytes());
            rl.record_failure(a, Some(&format!("user{n}")), t0 + Duration::from_millis(n.into()));
            assert!(rl.len() <= 16, "{} entries", rl.len());
        }
        // The most recent address is still counted: two more failures lock it.
        let last = IpAddr::from((0x0a00_0000u32 + 999).to_be_bytes());
        let t = t0 + Duration::from_secs(2);
        rl.record_failure(last, None, t);
        rl.record_failure(last, None, t);
        assert!(rl.check(last, None, t).is_err());
    }

    #[test]
    fn quiet_entries_are_forgotten() {
        let t0 = Instant::now();
        let mut rl = LoginRateLimiter::new(small());
        for n in 0..10u8 {
            rl.record_failure(IpAddr::from([192, 0, 2, n]), Some("u"), t0);
        }
        assert_eq!(rl.len(), 11);
        rl.record_failure(ip("192.0.2.100"), None, t0 + Duration::from_secs(3600));
        assert_eq!(rl.len(), 1);
        assert!(!rl.is_empty());
    }

    #[test]
    fn pre_auth_counter() {
        let mut c = PreAuthCounter::default();
        assert!(c.admit(2) && c.admit(2));
        assert!(!c.admit(2));
        assert_eq!(c.current(), 2);
        c.release();
        assert!(c.admit(2));
        c.release();
        c.release();
        c.release();
        assert_eq!(c.current(), 0);
    }
}
