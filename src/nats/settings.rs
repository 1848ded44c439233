//! The `[nats]` section of `ami_websocket.conf`: the optional NATS publisher, validated.
#![forbid(unsafe_code)]

use std::time::Duration;

use super::subject::valid_prefix;
use crate::ami::classes;
use crate::rawconf::Section;

/// Every option `[nats]` accepts (the sample file documents each one).
pub const OPTIONS: &[&str] = &[
    "enabled",
    "url",
    "subject_prefix",
    "system_name",
    "classes",
    "jetstream",
    "max_in_flight",
    "reconnect_max_delay",
    "user",
    "password",
    "token",
    "creds_file",
    "nkey_seed_file",
    "tls_ca_file",
];

/// One server of the `url` list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerUrl {
    /// `tls://` (TLS from the first byte) rather than `nats://`.
    pub tls: bool,
    /// Host name or address (without brackets).
    pub host: String,
    /// Port (4222 when not given).
    pub port: u16,
    /// `user:password@` from the URL, if any.
    pub user: Option<(String, String)>,
}

impl std::fmt::Display for ServerUrl {
    /// The URL without credentials (for logs and the CLI).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = if self.tls { "tls" } else { "nats" };
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{scheme}://{}:{}", self.host, self.port)
        }
    }
}

/// Validated `[nats]` settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NatsSettings {
    /// `enabled`: publish at all.
    pub enabled: bool,
    /// `url`: servers to try in turn (a cluster's seed list).
    pub servers: Vec<ServerUrl>,
    /// `subject_prefix`: first token(s) of every subject.
    pub subject_prefix: String,
    /// `system_name`: the PBX's name in subjects and payloads (empty: Asterisk's `systemname`,
    /// else the host name).
    pub system_name: String,
    /// `classes`: event classes to publish (manager.conf `read` syntax).
    pub classes: u32,
    /// `jetstream`: publish with a reply inbox and wait for JetStream's acknowledgement; after a
    /// reconnect, unacknowledged events are sent again (JetStream drops duplicates by
    /// `Nats-Msg-Id`).
    pub jetstream: bool,
    /// `max_in_flight`: events sent and not yet acknowledged (JetStream) or written.
    pub max_in_flight: usize,
    /// `reconnect_max_delay`: the backoff's ceiling.
    pub reconnect_max_delay: Duration,
    /// `user` / `password`.
    pub user: String,
    /// `password`.
    pub password: String,
    /// `token`.
    pub token: String,
    /// `creds_file`: a NATS `.creds` file (user JWT and nkey seed).
    pub creds_file: String,
    /// `nkey_seed_file`: a file holding an nkey user seed (`SU...`).
    pub nkey_seed_file: String,
    /// `tls_ca_file`: PEM CA certificates that sign the servers' certificates.
    pub tls_ca_file: String,
}

impl Default for NatsSettings {
    fn default() -> Self {
        NatsSettings {
            enabled: false,
            servers: vec![ServerUrl {
                tls: false,
                host: "127.0.0.1".into(),
                port: 4222,
                user: None,
            }],
            subject_prefix: "ami".into(),
            system_name: String::new(),
            classes: classes::ALL,
            jetstream: false,
            max_in_flight: 4096,
            reconnect_max_delay: Duration::from_secs(5),
            user: String::new(),
            password: String::new(),
            token: String::new(),
            creds_file: String::new(),
            nkey_seed_file: String::new(),
            tls_ca_file: String::new(),
        }
    }
}

/// Parses one `nats://[user:pass@]host[:port]` or `tls://...` URL.
pub fn parse_url(text: &str) -> Result<ServerUrl, String> {
    let (tls, rest) = if let Some(r) = text.strip_prefix("nats://") {
        (false, r)
    } else if let Some(r) = text.strip_prefix("tls://") {
        (true, r)
    } else {
        return Err(format!("url {text}: expected nats://host[:port] or tls://host[:port]"));
    };
    let rest = rest.trim_end_matches('/');
    let (user, hostport) = match rest.rsplit_once('@') {
        Some((cred, hp)) => {
            let (u, p) = cred.split_once(':').unwrap_or((cred, ""));
            (Some((u.to_string(), p.to_string())), hp)
        }
        None => (None, rest),
    };
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (h, after) =
            v6.split_once(']').ok_or_else(|| format!("url {text}: unclosed [ in host"))?;
        (h, after.strip_prefix(':'))
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    let bad_host =
        host.is_empty() || !host.bytes().all(|b| b.is_ascii_alphanumeric() || b".-_:".contains(&b));
    if bad_host {
        return Err(format!("url {text}: bad host"));
    }
    let port = match port {
        None => 4222,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => n,
            _ => return Err(format!("url {text}: bad port")),
        },
    };
    Ok(ServerUrl { tls, host: host.to_string(), port, user })
}

fn yes_no(key: &str, v: &str) -> Result<bool, String> {
    if crate::settings::is_true(v) {
        Ok(true)
    } else if crate::settings::is_false(v) {
        Ok(false)
    } else {
        Err(format!("{key} = {v}: expected yes or no"))
    }
}

fn number(key: &str, v: &str, min: u64, max: u64) -> Result<u64, String> {
    match v.trim().parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!("{key} = {v}: expected a whole number from {min} to {max}")),
    }
}

impl NatsSettings {
    /// Validates a `[nats]` section; unknown options are errors. Errors name the option.
    pub fn from_section(section: &Section) -> Result<NatsSettings, String> {
        let mut s = NatsSettings::default();
        for (key, value) in &section.entries {
            let v = value.trim();
            let k = key.to_ascii_lowercase();
            match k.as_str() {
                "enabled" => s.enabled = yes_no(&k, v)?,
                "url" => {
                    s.servers = v
                        .split(',')
                        .map(str::trim)
                        .filter(|u| !u.is_empty())
                        .map(parse_url)
                        .collect::<Result<_, _>>()?;
                    if s.servers.is_empty() {
                        return Err("url: no server given".into());
                    }
                }
                "subject_prefix" => {
                    if !valid_prefix(v) {
                        return Err(format!(
                            "subject_prefix = {v}: expected dot-separated tokens without \
                             spaces, * or >"
                        ));
                    }
                    s.subject_prefix = v.to_string();
                }
                "system_name" => s.system_name = v.to_string(),
                "classes" => {
                    s.classes = classes::parse_perm(v);
                    if s.classes == 0 {
                        return Err(format!("classes = {v}: no event class named"));
                    }
                }
                "jetstream" => s.jetstream = yes_no(&k, v)?,
                "max_in_flight" => s.max_in_flight = number(&k, v, 1, 1 << 20)? as usize,
                "reconnect_max_delay" => {
                    s.reconnect_max_delay = Duration::from_secs(number(&k, v, 1, 3600)?)
                }
                "user" => s.user = v.to_string(),
                "password" => s.password = v.to_string(),
                "token" => s.token = v.to_string(),
                "creds_file" => s.creds_file = v.to_string(),
                "nkey_seed_file" => s.nkey_seed_file = v.to_string(),
                "tls_ca_file" => s.tls_ca_file = v.to_string(),
                _ => return Err(format!("unknown option {key} in [nats]")),
            }
        }
        let ways = [!s.user.is_empty(), !s.token.is_empty(), !s.creds_file.is_empty()]
            .into_iter()
            .chain([!s.nkey_seed_file.is_empty()])
            .filter(|w| *w)
            .count();
        if ways > 1 {
            return Err("give one of user, token, creds_file or nkey_seed_file".into());
        }
        if !s.password.is_empty() && s.user.is_empty() {
            return Err("password needs user".into());
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(entries: &[(&str, &str)]) -> Section {
        Section {
            name: "nats".into(),
            entries: entries.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }
    }

    #[test]
    fn the_sample_documents_every_option_with_its_default() {
        let sample = include_str!("../../configs/ami_websocket.conf.sample");
        let nats = sample.split("\n[nats]\n").nth(1).expect("a [nats] section in the sample");
        let entries: Vec<(String, String)> = nats
            .lines()
            .filter_map(|l| l.strip_prefix(';'))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_string(), v.split(';').next().unwrap_or("").trim().into()))
            .filter(|(k, _)| OPTIONS.contains(&k.as_str()))
            .collect();
        for o in OPTIONS {
            assert!(entries.iter().any(|(k, _)| k == o), "sample lacks {o}");
        }
        let raw = Section { name: "nats".into(), entries };
        assert_eq!(NatsSettings::from_section(&raw).unwrap(), NatsSettings::default());
    }

    #[test]
    fn urls_of_every_shape() {
        let u = parse_url("nats://127.0.0.1").unwrap();
        assert_eq!((u.tls, u.host.as_str(), u.port, u.user), (false, "127.0.0.1", 4222, None));
        let u = parse_url("tls://a:b@nats.example.com:7422").unwrap();
        assert!(u.tls);
        assert_eq!(u.user, Some(("a".into(), "b".into())));
        assert_eq!(u.to_string(), "tls://nats.example.com:7422");
        let u = parse_url("nats://[::1]:4223").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("::1", 4223));
        assert_eq!(u.to_string(), "nats://[::1]:4223");
        for bad in ["http://x", "nats://", "nats://h:0", "nats://h:x", "nats://[::1", "nats://a b"]
        {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_section_is_read_and_checked() {
        let s = NatsSettings::from_section(&section(&[
            ("enabled", "yes"),
            ("url", "nats://10.0.0.1:4222, nats://10.0.0.2"),
            ("subject_prefix", "site1.ami"),
            ("classes", "call,agent"),
            ("jetstream", "yes"),
            ("token", "t0k"),
        ]))
        .unwrap();
        assert!(s.enabled && s.jetstream);
        assert_eq!(s.servers.len(), 2);
        assert_eq!(s.subject_prefix, "site1.ami");
        assert_eq!(s.classes, classes::CALL | classes::AGENT);
        for (k, v) in [
            ("enabled", "maybe"),
            ("url", " , "),
            ("subject_prefix", "a.>"),
            ("classes", "nosuch"),
            ("max_in_flight", "0"),
            ("nosuch", "1"),
        ] {
            let e = NatsSettings::from_section(&section(&[(k, v)])).unwrap_err();
            assert!(e.contains(k), "{e}");
        }
        assert!(NatsSettings::from_section(&section(&[("user", "u"), ("token", "t")])).is_err());
        assert!(NatsSettings::from_section(&section(&[("password", "p")])).is_err());
    }
}
