//! Reload revokes access: sessions of a user that a new manager.conf removes, whose secret it
//! changes or whose address it no longer permits end with close 1008 and a NOTICE; changed
//! read/write classes apply to open sessions at once. (AMI over TCP keeps such sessions.)
#![forbid(unsafe_code)]

use std::net::IpAddr;

use super::*;
use crate::ami::accounts::Account;

/// What a reload means for one open session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing that matters to the session changed.
    Keep,
    /// The session ends; the reason is logged and sent in the close frame.
    Revoke(&'static str),
    /// The session stays with these read and write classes.
    Classes { read: u32, write: u32 },
}

/// The verdict for a session of `account` from `ip`, from the account before and after.
pub fn verdict(old: Option<&Account>, new: Option<&Account>, ip: IpAddr) -> Verdict {
    let Some(new) = new else { return Verdict::Revoke("account removed") };
    if new.secret.is_none() || old.is_some_and(|o| o.secret != new.secret) {
        return Verdict::Revoke("secret changed");
    }
    // The rule login applies (login.rs): an empty list allows every address.
    if !new.acl.is_empty() && !new.acl.allows(ip) {
        return Verdict::Revoke("address no longer permitted");
    }
    match old {
        Some(o) if o.read == new.read && o.write == new.write => Verdict::Keep,
        _ => Verdict::Classes { read: new.read, write: new.write },
    }
}

impl Server {
    /// Applies a new manager.conf to the open sessions, then keeps it for new logins.
    pub(super) fn apply_accounts(&mut self, accounts: Arc<ManagerConf>) {
        for conn in self.conns.values_mut() {
            let Phase::Ws(w) = &mut conn.phase else { continue };
            if w.closing {
                continue;
            }
            let Some(user) = w.client.user().map(str::to_string) else { continue };
            let Some(key) = w.client.account_key() else { continue };
            let old = self.accounts.account(&key);
            match verdict(old, accounts.account(&key), conn.peer.ip()) {
                Verdict::Keep => {}
                Verdict::Classes { read, write } => {
                    w.client.set_classes(read, write);
                    crate::ast_notice!(
                        "ws: user '{user}' at {}: read/write classes changed by reload; applied \
                         to the open session",
                        conn.peer
                    );
                }
                Verdict::Revoke(reason) => {
                    crate::ast_notice!(
                        "ws: user '{user}' at {} disconnected by reload: {reason}",
                        conn.peer
                    );
                    w.start_close(1008, reason);
                }
            }
        }
        self.accounts = accounts;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ami::accounts::ManagerConf;
    use crate::rawconf::{RawConfig, Section};

    fn conf(users: &[(&str, &[(&str, &str)])]) -> ManagerConf {
        let sections = users
            .iter()
            .map(|(name, entries)| Section {
                name: (*name).into(),
                entries: entries.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            })
            .collect();
        ManagerConf::from_raw(&RawConfig { sections }).unwrap()
    }

    const BASE: &[(&str, &str)] = &[("secret", "pw"), ("read", "all"), ("write", "all")];

    fn judge(after: &[(&str, &str)], ip: &str) -> Verdict {
        let old = conf(&[("u", BASE)]);
        let new = conf(&[("u", after)]);
        verdict(old.account("u"), new.account("U"), ip.parse().unwrap())
    }

    #[test]
    fn unchanged_users_keep_their_sessions() {
        assert_eq!(judge(BASE, "10.0.0.1"), Verdict::Keep);
        let permit = [BASE, &[("deny", "0.0.0.0/0"), ("permit", "10.0.0.0/8")]].concat();
        assert_eq!(judge(&permit, "10.0.0.1"), Verdict::Keep);
    }

    #[test]
    fn removal_secret_and_acl_changes_revoke() {
        let old = conf(&[("u", BASE)]);
        let gone = conf(&[("other", BASE)]);
        let ip = "10.0.0.1".parse().unwrap();
        assert_eq!(
            verdict(old.account("u"), gone.account("u"), ip),
            Verdict::Revoke("account removed")
        );
        let secret = [("secret", "new"), ("read", "all"), ("write", "all")];
        assert_eq!(judge(&secret, "10.0.0.1"), Verdict::Revoke("secret changed"));
        let narrowed = [BASE, &[("deny", "0.0.0.0/0"), ("permit", "192.168.0.0/16")]].concat();
        assert_eq!(judge(&narrowed, "10.0.0.1"), Verdict::Revoke("address no longer permitted"));
    }

    #[test]
    fn class_changes_are_applied_not_revoked() {
        let narrower = [("secret", "pw"), ("read", "call"), ("write", "system")];
        let new = conf(&[("u", &narrower)]);
        let want = new.account("u").map(|a| (a.read, a.write)).unwrap();
        match judge(&narrower, "10.0.0.1") {
            Verdict::Classes { read, write } => assert_eq!((read, write), want),
            v => panic!("{v:?}"),
        }
    }
}
