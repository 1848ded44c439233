//! `ami_websocket.conf`: validated settings from the raw file, with every default in one place.
#![forbid(unsafe_code)]

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::rawconf::RawConfig;

/// The config file's name in Asterisk's config directory.
pub const CONFIG_FILE: &str = "ami_websocket.conf";

/// Every option `[general]` accepts (the sample file documents each one).
pub const OPTIONS: &[&str] = &[
    "enabled",
    "bindaddr",
    "tls_enable",
    "tls_cert_file",
    "tls_private_key",
    "bindport",
    "allowed_origins",
    "allow_missing_origin",
    "max_clients",
    "max_clients_per_ip",
    "max_message_size",
    "max_frame_size",
    "max_queued_bytes",
    "messages_per_second",
    "handshake_timeout",
    "ping_interval",
    "pong_timeout",
    "ring_size",
    "slow_client",
    "action_threads",
    "max_actions_per_client",
    "max_actions_total",
    "compression",
    "trusted_proxies",
    "forwarded_header",
    "proxy_protocol",
    "metrics",
    "metrics_allowed",
];

/// What to do with a client whose next event the ring has already overwritten.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlowClientPolicy {
    /// Send a `WsEventsLost` message naming the lost sequence numbers, then carry on.
    Report,
    /// Close the connection with code 4001 ("events lost").
    Disconnect,
}

/// Every option of `ami_websocket.conf`, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// `enabled`: serve at all.
    pub enabled: bool,
    /// `bindaddr` + `bindport`.
    pub bind: SocketAddr,
    /// `tls_enable`: serve `wss://` (TLS) instead of `ws://`.
    pub tls_enable: bool,
    /// `tls_cert_file`: PEM certificate chain.
    pub tls_cert_file: String,
    /// `tls_private_key`: PEM private key.
    pub tls_private_key: String,
    /// `allowed_origins`: exact `scheme://host[:port]` values a browser page may come from.
    pub allowed_origins: Vec<String>,
    /// `allow_missing_origin`: accept handshakes without an Origin header (non-browser clients).
    pub allow_missing_origin: bool,
    /// `max_clients`: connections in total.
    pub max_clients: usize,
    /// `max_clients_per_ip`.
    pub max_clients_per_ip: usize,
    /// `max_message_size`: largest message a client may send, bytes.
    pub max_message_size: usize,
    /// `max_frame_size`: largest frame a client may send, bytes.
    pub max_frame_size: usize,
    /// `max_queued_bytes`: output a client may have waiting: beyond it events wait in the ring
    /// (a slow reader may lose some) and the client's further actions wait (flow control).
    pub max_queued_bytes: usize,
    /// `handshake_timeout`: TCP accept to finished WebSocket handshake.
    pub handshake_timeout: Duration,
    /// `ping_interval`: idle time before we ping a client.
    pub ping_interval: Duration,
    /// `pong_timeout`: time a client has to answer a ping.
    pub pong_timeout: Duration,
    /// `messages_per_second`: messages a client may send per second before it has logged in
    /// (close 1008 above). After login, flow control paces a client instead.
    pub messages_per_second: u32,
    /// `ring_size`: events kept for delivery and resume.
    pub ring_size: usize,
    /// `slow_client`: report or disconnect on lost events.
    pub slow_client: SlowClientPolicy,
    /// `action_threads`: threads running actions.
    pub action_threads: usize,
    /// `max_actions_per_client`: actions one client may have read but not yet answered; when
    /// full, its socket is not read until one is answered (flow control; nothing is refused).
    pub max_actions_per_client: usize,
    /// `max_actions_total`: actions queued or running on the action threads, all clients
    /// together; further actions wait in their client's queue until there is room.
    pub max_actions_total: usize,
    /// `compression`: negotiate permessage-deflate (RFC 7692) with clients that offer it.
    pub compression: bool,
    /// `trusted_proxies`: peers whose forwarded client address (header or PROXY protocol) is
    /// believed. Empty: nobody's.
    pub trusted_proxies: Vec<crate::ws::proxy::Cidr>,
    /// `forwarded_header`: `x-forwarded-for` or `forwarded` (RFC 7239).
    pub forwarded_header: crate::ws::proxy::ForwardedHeader,
    /// `proxy_protocol`: trusted peers start every connection with a PROXY v1/v2 header.
    pub proxy_protocol: bool,
    /// `metrics`: serve the Prometheus text format at `/metrics` on our own port.
    pub metrics: bool,
    /// `metrics_allowed`: client addresses that may read our `/metrics`.
    pub metrics_allowed: Vec<crate::ws::proxy::Cidr>,
    /// The `[nats]` section: the optional NATS publisher.
    pub nats: crate::nats::settings::NatsSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            enabled: true,
            bind: SocketAddr::from(([127, 0, 0, 1], 8765)),
            tls_enable: false,
            tls_cert_file: String::new(),
            tls_private_key: String::new(),
            allowed_origins: Vec::new(),
            allow_missing_origin: true,
            max_clients: 1000,
            max_clients_per_ip: 200,
            max_message_size: 64 * 1024,
            max_frame_size: 64 * 1024,
            max_queued_bytes: 4 * 1024 * 1024,
            handshake_timeout: Duration::from_secs(5),
            ping_interval: Duration::from_secs(30),
            pong_timeout: Duration::from_secs(10),
            messages_per_second: 100,
            ring_size: 65536,
            slow_client: SlowClientPolicy::Report,
            action_threads: 4,
            max_actions_per_client: 16,
            max_actions_total: 256,
            compression: false,
            trusted_proxies: Vec::new(),
            forwarded_header: crate::ws::proxy::ForwardedHeader::XForwardedFor,
            proxy_protocol: false,
            metrics: false,
            metrics_allowed: crate::ws::proxy::parse_list("127.0.0.1/32, ::1/128")
                .unwrap_or_default(),
            nats: Default::default(),
        }
    }
}

/// A config file that cannot be used, with the reason for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsError(pub String);

impl std::fmt::Display for SettingsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn err<T>(msg: String) -> Result<T, SettingsError> {
    Err(SettingsError(msg))
}

/// Asterisk's `ast_true`: yes, true, y, t, 1, on.
pub fn is_true(v: &str) -> bool {
    matches!(v.trim().to_ascii_lowercase().as_str(), "yes" | "true" | "y" | "t" | "1" | "on")
}

/// Asterisk's `ast_false`: no, false, n, f, 0, off.
pub fn is_false(v: &str) -> bool {
    matches!(v.trim().to_ascii_lowercase().as_str(), "no" | "false" | "n" | "f" | "0" | "off")
}

fn parse_bool(key: &str, v: &str) -> Result<bool, SettingsError> {
    if is_true(v) {
        Ok(true)
    } else if is_false(v) {
        Ok(false)
    } else {
        err(format!("{key} = {v}: expected yes or no"))
    }
}

fn parse_num(key: &str, v: &str, min: u64, max: u64) -> Result<u64, SettingsError> {
    match v.trim().parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => err(format!("{key} = {v}: expected a whole number from {min} to {max}")),
    }
}

impl Settings {
    /// Validates the `[general]` section of the file; unknown options are errors (typos matter).
    pub fn from_raw(raw: &RawConfig) -> Result<Settings, SettingsError> {
        let mut s = Settings::default();
        let mut addr: IpAddr = s.bind.ip();
        let mut port = s.bind.port();
        for section in &raw.sections {
            if section.name.eq_ignore_ascii_case("nats") {
                s.nats = crate::nats::settings::NatsSettings::from_section(section)
                    .map_err(|e| SettingsError(format!("[nats] {e}")))?;
                continue;
            }
            if !section.name.eq_ignore_ascii_case("general") {
                return err(format!(
                    "unknown section [{}]: only [general] and [nats] are read",
                    section.name
                ));
            }
            for (key, value) in &section.entries {
                let v = value.trim();
                let k = key.to_ascii_lowercase();
                match k.as_str() {
                    "enabled" => s.enabled = parse_bool(&k, v)?,
                    "bindaddr" => {
                        addr = v.trim_matches(|c| c == '[' || c == ']').parse().map_err(|_| {
                            SettingsError(format!("bindaddr = {v}: not an IP address"))
                        })?
                    }
                    "bindport" => port = parse_num(&k, v, 1, 65535)? as u16,
                    "tls_enable" => s.tls_enable = parse_bool(&k, v)?,
                    "tls_cert_file" => s.tls_cert_file = v.to_string(),
                    "tls_private_key" => s.tls_private_key = v.to_string(),
                    "allowed_origins" => {
                        s.allowed_origins = v
                            .split(',')
                            .map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase())
                            .filter(|o| !o.is_empty())
                            .collect();
                        for o in &s.allowed_origins {
                            if !(o.starts_with("http://") || o.starts_with("https://")) {
                                return err(format!(
                                    "allowed_origins: {o} is not of the form http[s]://host[:port]"
                                ));
                            }
                        }
                    }
                    "allow_missing_origin" => s.allow_missing_origin = parse_bool(&k, v)?,
                    "max_clients" => s.max_clients = parse_num(&k, v, 1, 100_000)? as usize,
                    "max_clients_per_ip" => {
                        s.max_clients_per_ip = parse_num(&k, v, 1, 100_000)? as usize
                    }
                    "max_message_size" => {
                        s.max_message_size = parse_num(&k, v, 1024, 16 << 20)? as usize
                    }
                    "max_frame_size" => {
                        s.max_frame_size = parse_num(&k, v, 1024, 16 << 20)? as usize
                    }
                    "max_queued_bytes" => {
                        s.max_queued_bytes = parse_num(&k, v, 64 * 1024, 1 << 30)? as usize
                    }
                    "handshake_timeout" => {
                        s.handshake_timeout = Duration::from_secs(parse_num(&k, v, 1, 300)?)
                    }
                    "ping_interval" => {
                        s.ping_interval = Duration::from_secs(parse_num(&k, v, 1, 3600)?)
                    }
                    "pong_timeout" => {
                        s.pong_timeout = Duration::from_secs(parse_num(&k, v, 1, 3600)?)
                    }
                    "messages_per_second" => {
                        s.messages_per_second = parse_num(&k, v, 1, 100_000)? as u32
                    }
                    "ring_size" => s.ring_size = parse_num(&k, v, 16, 1 << 24)? as usize,
                    "slow_client" => {
                        s.slow_client = match v.to_ascii_lowercase().as_str() {
                            "report" => SlowClientPolicy::Report,
                            "disconnect" => SlowClientPolicy::Disconnect,
                            _ => {
                                return err(format!(
                                    "slow_client = {v}: expected report or disconnect"
                                ));
                            }
                        }
                    }
                    "action_threads" => s.action_threads = parse_num(&k, v, 1, 64)? as usize,
                    "max_actions_per_client" => {
                        s.max_actions_per_client = parse_num(&k, v, 1, 10_000)? as usize
                    }
                    "max_actions_total" => {
                        s.max_actions_total = parse_num(&k, v, 1, 100_000)? as usize
                    }
                    "compression" => s.compression = parse_bool(&k, v)?,
                    "trusted_proxies" => {
                        s.trusted_proxies = crate::ws::proxy::parse_list(v)
                            .map_err(|e| SettingsError(format!("trusted_proxies: {e}")))?
                    }
                    "forwarded_header" => {
                        use crate::ws::proxy::ForwardedHeader;
                        s.forwarded_header = match v.to_ascii_lowercase().as_str() {
                            "x-forwarded-for" => ForwardedHeader::XForwardedFor,
                            "forwarded" => ForwardedHeader::Forwarded,
                            _ => {
                                return err(format!(
                                    "forwarded_header = {v}: expected x-forwarded-for or forwarded"
                                ));
                            }
                        }
                    }
                    "proxy_protocol" => s.proxy_protocol = parse_bool(&k, v)?,
                    "metrics" => s.metrics = parse_bool(&k, v)?,
                    "metrics_allowed" => {
                        s.metrics_allowed = crate::ws::proxy::parse_list(v)
                            .map_err(|e| SettingsError(format!("metrics_allowed: {e}")))?
                    }
                    _ => return err(format!("unknown option {key} in [general]")),
                }
            }
        }
        if s.max_frame_size > s.max_message_size {
            return err(format!(
                "max_frame_size ({}) must not exceed max_message_size ({})",
                s.max_frame_size, s.max_message_size
            ));
        }
        if s.tls_enable && (s.tls_cert_file.is_empty() || s.tls_private_key.is_empty()) {
            return err("tls_enable = yes needs tls_cert_file and tls_private_key".into());
        }
        if s.proxy_protocol && s.trusted_proxies.is_empty() {
            return err(
                "proxy_protocol = yes needs trusted_proxies (the proxies that send it)".into()
            );
        }
        if s.max_clients_per_ip > s.max_clients {
            s.max_clients_per_ip = s.max_clients;
        }
        s.bind = SocketAddr::new(addr, port);
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rawconf::Section;

    fn raw(entries: &[(&str, &str)]) -> RawConfig {
        RawConfig {
            sections: vec![Section {
                name: "general".into(),
                entries: entries.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            }],
        }
    }

    /// The sample's commented-out `;option = value` lines, as a config.
    fn sample_defaults() -> RawConfig {
        let sample = include_str!("../configs/ami_websocket.conf.sample");
        // [general] only: the [nats] section has options of the same names.
        let general = sample.split("\n[nats]\n").next().unwrap_or_default();
        let entries = general
            .lines()
            .filter_map(|l| l.strip_prefix(';'))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| {
                (k.trim().to_string(), v.split(';').next().unwrap_or("").trim().to_string())
            })
            .filter(|(k, _)| OPTIONS.contains(&k.as_str()))
            .collect();
        RawConfig { sections: vec![Section { name: "general".into(), entries }] }
    }

    #[test]
    fn the_sample_documents_every_option_with_its_default() {
        let raw = sample_defaults();
        let keys: Vec<&str> = raw.sections[0].entries.iter().map(|(k, _)| k.as_str()).collect();
        for o in OPTIONS {
            assert!(keys.contains(o), "sample lacks {o}");
        }
        assert_eq!(Settings::from_raw(&raw).unwrap(), Settings::default());
    }

    #[test]
    fn the_sample_and_the_readme_document_only_real_options() {
        let sample = include_str!("../configs/ami_websocket.conf.sample");
        let (general, nats) = sample.split_once("\n[nats]\n").unwrap_or((sample, ""));
        for line in nats.lines().filter_map(|l| l.strip_prefix(';')) {
            let Some((key, _)) = line.split_once('=') else { continue };
            let key = key.trim();
            if !key.is_empty() && key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                assert!(
                    crate::nats::settings::OPTIONS.contains(&key),
                    "the sample's [nats] documents unknown option {key}"
                );
            }
        }
        for line in general.lines().filter_map(|l| l.strip_prefix(';')) {
            let Some((key, _)) = line.split_once('=') else { continue };
            let key = key.trim();
            if !key.is_empty() && key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                assert!(OPTIONS.contains(&key), "the sample documents unknown option {key}");
            }
        }
        let readme = include_str!("../README.md");
        for o in OPTIONS {
            assert!(readme.contains(&format!("`{o}`")), "README's table lacks {o}");
        }
    }

    #[test]
    fn asterisk_booleans() {
        for t in ["yes", "YES", "true", "y", "T", "1", "on"] {
            assert!(is_true(t) && !is_false(t), "{t}");
        }
        for t in ["no", "False", "n", "f", "0", "OFF"] {
            assert!(is_false(t) && !is_true(t), "{t}");
        }
        for t in ["", "maybe", "2", "yess"] {
            assert!(!is_true(t) && !is_false(t), "{t}");
        }
    }

    #[test]
    fn empty_file_gives_defaults() {
        assert_eq!(Settings::from_raw(&RawConfig::default()).unwrap(), Settings::default());
    }

    #[test]
    fn options_are_read_and_validated() {
        let s = Settings::from_raw(&raw(&[
            ("bindaddr", "::1"),
            ("bindport", "9000"),
            ("slow_client", "disconnect"),
            ("allowed_origins", "https://pbx.example.com, http://localhost:8765/"),
        ]))
        .unwrap();
        assert_eq!(s.bind, "[::1]:9000".parse().unwrap());
        assert_eq!(s.slow_client, SlowClientPolicy::Disconnect);
        assert_eq!(s.allowed_origins, ["https://pbx.example.com", "http://localhost:8765"]);
    }

    #[test]
    fn bad_values_are_refused_with_the_reason() {
        for (k, v) in [
            ("bindport", "70000"),
            ("bindaddr", "pbx"),
            ("enabled", "maybe"),
            ("nosuch", "1"),
            ("allowed_origins", "example.com"),
            ("ring_size", "-1"),
            ("trusted_proxies", "10.0.0.1/8"),
            ("forwarded_header", "x-real-ip"),
            ("proxy_protocol", "yes"),
        ] {
            let e = Settings::from_raw(&raw(&[(k, v)])).unwrap_err();
            assert!(e.0.contains(k), "{e}");
        }
        let e =
            Settings::from_raw(&raw(&[("max_frame_size", "65536"), ("max_message_size", "4096")]));
        assert!(e.is_err());
    }
}
