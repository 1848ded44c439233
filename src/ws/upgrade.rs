//! Decides what to do with a request head: serve a web file, refuse, or upgrade to a WebSocket
//! (path, method, version, key, Origin allow-list and subprotocol checked before any upgrade).
#![forbid(unsafe_code)]

use super::http::RequestHead;
use super::page::{self, Asset};

/// The WebSocket endpoint.
pub const WS_PATH: &str = "/ami";
/// Subprotocol for JSON messages (the default when the client asks for none).
pub const PROTO_JSON: &str = "ami-json";
/// Subprotocol for raw AMI text messages.
pub const PROTO_TEXT: &str = "ami-text";

/// How a client's messages are encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// One JSON object per message.
    Json,
    /// Exactly the AMI text.
    Text,
}

impl Encoding {
    /// The subprotocol name shown by `ws show clients`.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Json => PROTO_JSON,
            Encoding::Text => PROTO_TEXT,
        }
    }
}

/// What to answer.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    /// Serve a compiled-in web file.
    Serve {
        /// The file.
        asset: &'static Asset,
        /// A listed (foreign) Origin that may read it: sent back as Access-Control-Allow-Origin.
        cors_origin: Option<String>,
    },
    /// Refuse with an HTTP status and reason.
    Refuse(u16, &'static str),
    /// Upgrade to a WebSocket.
    Upgrade {
        /// `Sec-WebSocket-Accept` value.
        accept_key: String,
        /// The subprotocol to confirm, if the client offered one.
        subprotocol: Option<&'static str>,
        /// The message encoding.
        encoding: Encoding,
    },
}

/// Origin policy inputs.
#[derive(Debug, Clone, Copy)]
pub struct OriginPolicy<'a> {
    /// Exact `scheme://host[:port]` values allowed, lower-case, no trailing slash.
    pub allowed: &'a [String],
    /// Accept a handshake without Origin (non-browser clients never send one).
    pub allow_missing: bool,
    /// Whether this listener speaks TLS (for the same-origin check).
    pub tls: bool,
}

/// Whether a browser Origin may open a socket: a listed origin, or the page we serve ourselves
/// (same scheme and the same host:port as the Host header). `null` is never allowed.
pub fn origin_allowed(origin: Option<&str>, host: Option<&str>, policy: &OriginPolicy) -> bool {
    let Some(origin) = origin else { return policy.allow_missing };
    let origin = origin.trim().trim_end_matches('/').to_ascii_lowercase();
    if origin == "null" || origin.is_empty() {
        return false;
    }
    if policy.allowed.contains(&origin) {
        return true;
    }
    let scheme = if policy.tls { "https://" } else { "http://" };
    match (origin.strip_prefix(scheme), host) {
        (Some(origin_host), Some(host)) => origin_host == host.trim().to_ascii_lowercase(),
        _ => false,
    }
}

/// The request's Origin when it is one of the listed origins (lower-case, as listed). The page's
/// own origin needs no CORS header, and nothing else gets one.
fn listed_origin(head: &RequestHead, policy: &OriginPolicy) -> Option<String> {
    let origin = head.header("Origin")?.trim().trim_end_matches('/').to_ascii_lowercase();
    policy.allowed.iter().find(|a| **a == origin).cloned()
}

/// Picks our subprotocol from the client's offer. `Err` when it offered only unknown ones.
fn pick_subprotocol(head: &RequestHead) -> Result<(Option<&'static str>, Encoding), ()> {
    let offered: Vec<String> = head
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("Sec-WebSocket-Protocol"))
        .flat_map(|(_, v)| v.split(',').map(|p| p.trim().to_string()))
        .filter(|p| !p.is_empty())
        .collect();
    if offered.is_empty() {
        return Ok((None, Encoding::Json));
    }
    for p in &offered {
        if p == PROTO_JSON {
            return Ok((Some(PROTO_JSON), Encoding::Json));
        }
        if p == PROTO_TEXT {
            return Ok((Some(PROTO_TEXT), Encoding::Text));
        }
    }
    Err(())
}

/// The whole decision for one request head.
pub fn decide(head: &RequestHead, policy: &OriginPolicy) -> Decision {
    if head.target.contains('?') || head.target.contains('#') {
        return Decision::Refuse(404, "Not Found");
    }
    let wants_upgrade = head.header("Upgrade").is_some();
    // Test-only echo build: the Autobahn runner always asks for `/`.
    let echo_root = super::echo::ENABLED && wants_upgrade && head.path() == "/";
    if head.path() != WS_PATH && !echo_root {
        let Some(asset) = page::find(head.path()).filter(|_| !wants_upgrade) else {
            return Decision::Refuse(404, "Not Found");
        };
        if head.method != "GET" {
            return Decision::Refuse(405, "Method Not Allowed");
        }
        return Decision::Serve { asset, cors_origin: listed_origin(head, policy) };
    }
    if head.method != "GET" {
        return Decision::Refuse(405, "Method Not Allowed");
    }
    if head.version != "HTTP/1.1"
        || !head.header("Upgrade").is_some_and(|u| u.eq_ignore_ascii_case("websocket"))
        || !head.header_has_token("Connection", "upgrade")
    {
        return Decision::Refuse(400, "Bad Request: WebSocket upgrade required");
    }
    if head.header("Sec-WebSocket-Version") != Some("13") {
        return Decision::Refuse(426, "Upgrade Required: Sec-WebSocket-Version 13");
    }
    let Some(key) = head.header("Sec-WebSocket-Key").filter(|k| valid_key(k)) else {
        return Decision::Refuse(400, "Bad Request: Sec-WebSocket-Key");
    };
    if !origin_allowed(head.header("Origin"), head.header("Host"), policy) {
        return Decision::Refuse(403, "Forbidden: Origin not allowed");
    }
    let Ok((subprotocol, encoding)) = pick_subprotocol(head) else {
        return Decision::Refuse(400, "Bad Request: supported subprotocols are ami-json, ami-text");
    };
    let accept_key = tungstenite::handshake::derive_accept_key(key.as_bytes());
    Decision::Upgrade { accept_key, subprotocol, encoding }
}

/// A key is the base64 text of 16 bytes: 22 base64 characters and "==".
fn valid_key(key: &str) -> bool {
    let b = key.as_bytes();
    b.len() == 24
        && b[22..] == *b"=="
        && b[..22].iter().all(|c| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ws::http::parse_head;

    fn head(extra: &str) -> RequestHead {
        let text = format!(
            "GET /ami HTTP/1.1\r\nHost: 127.0.0.1:8765\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
        );
        parse_head(text.as_bytes()).unwrap().unwrap().0
    }

    fn policy(allowed: &[String]) -> OriginPolicy<'_> {
        OriginPolicy { allowed, allow_missing: true, tls: false }
    }

    #[test]
    fn upgrades_with_the_rfc_accept_key_and_json_by_default() {
        match decide(&head(""), &policy(&[])) {
            Decision::Upgrade { accept_key, subprotocol, encoding } => {
                assert_eq!(accept_key, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
                assert_eq!(subprotocol, None);
                assert_eq!(encoding, Encoding::Json);
            }
            d => panic!("{d:?}"),
        }
        let d = decide(&head("Sec-WebSocket-Protocol: chat, ami-text\r\n"), &policy(&[]));
        assert!(matches!(d, Decision::Upgrade { encoding: Encoding::Text, .. }));
        let d = decide(&head("Sec-WebSocket-Protocol: chat\r\n"), &policy(&[]));
        assert!(matches!(d, Decision::Refuse(400, _)));
    }

    #[test]
    fn origin_policy() {
        let allowed = vec!["https://ok.example".to_string()];
        let p = policy(&allowed);
        let cases = [
            ("Origin: https://ok.example\r\n", true),
            ("Origin: HTTPS://OK.EXAMPLE\r\n", true),
            ("Origin: https://ok.example.evil.com\r\n", false),
            ("Origin: http://ok.example\r\n", false),
            ("Origin: null\r\n", false),
            ("Origin: http://127.0.0.1:8765\r\n", true),
            ("Origin: http://127.0.0.1:9999\r\n", false),
            ("", true),
        ];
        for (h, ok) in cases {
            let d = decide(&head(h), &p);
            assert_eq!(matches!(d, Decision::Upgrade { .. }), ok, "{h}: {d:?}");
            if !ok {
                assert_eq!(d, Decision::Refuse(403, "Forbidden: Origin not allowed"));
            }
        }
        let strict = OriginPolicy { allowed: &allowed, allow_missing: false, tls: false };
        assert!(matches!(decide(&head(""), &strict), Decision::Refuse(403, _)));
    }

    #[test]
    fn refusals() {
        let p = policy(&[]);
        let mut h = head("");
        h.target = "/nope".into();
        assert_eq!(decide(&h, &p), Decision::Refuse(404, "Not Found"));
        h.target = "/ami?resume=1".into();
        assert_eq!(decide(&h, &p), Decision::Refuse(404, "Not Found"));
        let mut h = head("");
        h.method = "POST".into();
        assert!(matches!(decide(&h, &p), Decision::Refuse(405, _)));
        let mut h = head("");
        h.version = "HTTP/1.0".into();
        assert!(matches!(decide(&h, &p), Decision::Refuse(400, _)));
        let mut h = head("");
        h.headers.retain(|(k, _)| k != "Sec-WebSocket-Version");
        h.headers.push(("Sec-WebSocket-Version".into(), "8".into()));
        assert!(matches!(decide(&h, &p), Decision::Refuse(426, _)));
        let mut h = head("");
        h.headers.retain(|(k, _)| k != "Sec-WebSocket-Key");
        assert!(matches!(decide(&h, &p), Decision::Refuse(400, _)));
    }

    fn get(target: &str, extra: &str) -> RequestHead {
        let text = format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1:8765\r\n{extra}\r\n");
        parse_head(text.as_bytes()).unwrap().unwrap().0
    }

    fn served(d: &Decision) -> Option<(&'static str, &'static str)> {
        match d {
            Decision::Serve { asset, .. } => Some((asset.path, asset.content_type)),
            _ => None,
        }
    }

    #[test]
    fn web_files_are_routed_by_exact_path_with_their_type() {
        let p = policy(&[]);
        let cases = [
            ("/", "text/html; charset=utf-8"),
            ("/index.html", "text/html; charset=utf-8"),
            ("/ami-ws.js", "text/javascript; charset=utf-8"),
            ("/pbx-state.js", "text/javascript; charset=utf-8"),
            ("/panel.js", "text/javascript; charset=utf-8"),
            ("/panel-calls.js", "text/javascript; charset=utf-8"),
            ("/panel.css", "text/css; charset=utf-8"),
        ];
        for (path, ty) in cases {
            assert_eq!(served(&decide(&get(path, ""), &p)), Some((path, ty)), "{path}");
        }
        for path in [
            "/nope",
            "/web/panel.js",
            "/panel.js/",
            "//panel.js",
            "/PANEL.JS",
            "/ami-ws.d.ts",
            "/package.json",
            "/../Cargo.toml",
            "/panel.js?v=1",
            "/index.html#x",
        ] {
            assert_eq!(decide(&get(path, ""), &p), Decision::Refuse(404, "Not Found"), "{path}");
        }
        let mut post = get("/panel.js", "");
        post.method = "POST".into();
        assert_eq!(decide(&post, &p), Decision::Refuse(405, "Method Not Allowed"));
        // A WebSocket upgrade is only for /ami; asking it of a file is not found.
        let mut up = head("");
        up.target = "/panel.js".into();
        assert_eq!(decide(&up, &p), Decision::Refuse(404, "Not Found"));
        // /ami without an upgrade is not a file.
        assert!(matches!(decide(&get("/ami", ""), &p), Decision::Refuse(400, _)));
    }

    #[test]
    fn files_get_cors_only_for_a_listed_origin() {
        let allowed = vec!["https://ok.example".to_string()];
        let p = policy(&allowed);
        let cors = |extra: &str| match decide(&get("/ami-ws.js", extra), &p) {
            Decision::Serve { cors_origin, .. } => cors_origin,
            d => panic!("{d:?}"),
        };
        assert_eq!(cors(""), None);
        assert_eq!(cors("Origin: https://ok.example\r\n").as_deref(), Some("https://ok.example"));
        assert_eq!(cors("Origin: HTTPS://OK.example/\r\n").as_deref(), Some("https://ok.example"));
        assert_eq!(cors("Origin: http://127.0.0.1:8765\r\n"), None, "same origin needs none");
        assert_eq!(cors("Origin: https://evil.example\r\n"), None);
        assert_eq!(cors("Origin: null\r\n"), None);
    }
}
