//! The HTTP side of a connection before it becomes a WebSocket: a strict, bounded request-head
//! parser and the few responses we send (101, the page, and errors).
#![forbid(unsafe_code)]

/// Largest request head we read; more is refused (431) without growing any buffer.
pub const MAX_HEAD: usize = 8 * 1024;
/// Most header lines we accept.
pub const MAX_HEADERS: usize = 64;

/// A parsed request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The request target as sent (path and query).
    pub target: String,
    /// `HTTP/1.1` or `HTTP/1.0`.
    pub version: String,
    /// Header lines in order; names as sent.
    pub headers: Vec<(String, String)>,
}

impl RequestHead {
    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Whether a comma-separated header contains `token` (case-insensitive).
    pub fn header_has_token(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }

    /// The path without the query string.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }
}

/// Why a request head could not be used; each maps to an HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadError {
    /// Malformed request line or header (400).
    Malformed,
    /// Head larger than [`MAX_HEAD`] or more than [`MAX_HEADERS`] lines (431).
    TooLarge,
}

/// Looks for a complete head in `buf`. `Ok(None)`: need more bytes. `Ok(Some((head, used)))`:
/// the head and how many bytes of `buf` it took (the rest was sent after it).
pub fn parse_head(buf: &[u8]) -> Result<Option<(RequestHead, usize)>, HeadError> {
    let Some(end) = find_head_end(buf) else {
        return if buf.len() >= MAX_HEAD { Err(HeadError::TooLarge) } else { Ok(None) };
    };
    if end > MAX_HEAD {
        return Err(HeadError::TooLarge);
    }
    let text = std::str::from_utf8(&buf[..end]).map_err(|_| HeadError::Malformed)?;
    let mut lines = text.split("\r\n").filter(|l| !l.is_empty());
    let request_line = lines.next().ok_or(HeadError::Malformed)?;
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(HeadError::Malformed);
    };
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(HeadError::Malformed);
    }
    if !target.starts_with('/') || !version.starts_with("HTTP/1.") {
        return Err(HeadError::Malformed);
    }
    let mut headers = Vec::new();
    for line in lines {
        if headers.len() >= MAX_HEADERS {
            return Err(HeadError::TooLarge);
        }
        let (name, value) = line.split_once(':').ok_or(HeadError::Malformed)?;
        let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
        if name.is_empty() || !name.bytes().all(token) {
            return Err(HeadError::Malformed);
        }
        if value.bytes().any(|b| b == 0 || b == b'\r' || b == b'\n') {
            return Err(HeadError::Malformed);
        }
        headers.push((name.to_string(), value.trim().to_string()));
    }
    let head = RequestHead {
        method: method.to_string(),
        target: target.to_string(),
        version: version.to_string(),
        headers,
    };
    Ok(Some((head, end + 4)))
}

fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n")
}

/// A complete HTTP response with `Connection: close`; `reason` is plain text we wrote (never
/// echoes request data, so no reflected content).
pub fn simple_response(status: u16, reason: &str, extra_headers: &[(&str, &str)]) -> Vec<u8> {
    let body = format!("{status} {reason}\n");
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\nCache-Control: no-store\r\n",
        body.len()
    );
    for (k, v) in extra_headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(&body);
    out.into_bytes()
}

/// The policy sent with every served file: scripts, styles and sockets from this host only.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self' ws: wss:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// A 200 answer with a generated body (the `/metrics` text), never cached.
pub fn ok_response(content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut bytes = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Connection: close\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n\r\n",
        body.len()
    )
    .into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// The answer for a served file: 200 with the body, or 304 without it when the browser's
/// `If-None-Match` already names this build's ETag. `Cache-Control: no-cache` makes browsers
/// revalidate every time, so a module upgrade is picked up at once. `cors_origin`: a listed
/// foreign origin that may read the file (`Access-Control-Allow-Origin`).
pub fn asset_response(
    asset: &super::page::Asset,
    if_none_match: Option<&str>,
    cors_origin: Option<&str>,
) -> Vec<u8> {
    let fresh = if_none_match.is_some_and(|v| {
        v.split(',').any(|t| {
            let t = t.trim();
            t == "*" || t.strip_prefix("W/").unwrap_or(t) == asset.etag
        })
    });
    let (status, body): (&str, &[u8]) =
        if fresh { ("304 Not Modified", b"") } else { ("200 OK", asset.body) };
    let mut out = format!("HTTP/1.1 {status}\r\n");
    if !fresh {
        out.push_str(&format!(
            "Content-Type: {}\r\nContent-Length: {}\r\n",
            asset.content_type,
            body.len()
        ));
    }
    out.push_str(&format!(
        "Connection: close\r\nCache-Control: no-cache\r\nETag: {}\r\n\
         X-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\n\
         Content-Security-Policy: {CSP}\r\n",
        asset.etag
    ));
    if let Some(origin) = cors_origin {
        out.push_str(&format!("Access-Control-Allow-Origin: {origin}\r\nVary: Origin\r\n"));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// The 101 answer that turns the connection into a WebSocket.
pub fn switching_protocols(
    accept_key: &str,
    subprotocol: Option<&str>,
    extensions: Option<&str>,
) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept_key}\r\n"
    );
    if let Some(p) = subprotocol {
        out.push_str(&format!("Sec-WebSocket-Protocol: {p}\r\n"));
    }
    if let Some(e) = extensions {
        out.push_str(&format!("Sec-WebSocket-Extensions: {e}\r\n"));
    }
    out.push_str("\r\n");
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    const UPGRADE: &[u8] =
        b"GET /ami?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8765\r\nUpgrade: websocket\r\n\
Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Version: 13\r\n\r\nEXTRA";

    #[test]
    fn parses_a_complete_head_and_reports_what_follows() {
        let (head, used) = parse_head(UPGRADE).unwrap().unwrap();
        assert_eq!(head.method, "GET");
        assert_eq!(head.path(), "/ami");
        assert_eq!(head.header("sec-websocket-version"), Some("13"));
        assert!(head.header_has_token("Connection", "upgrade"));
        assert_eq!(&UPGRADE[used..], b"EXTRA");
    }

    #[test]
    fn waits_for_more_bytes_then_refuses_oversize() {
        assert_eq!(parse_head(b"GET / HTTP/1.1\r\nHost: x\r\n"), Ok(None));
        let mut big = b"GET / HTTP/1.1\r\nX: ".to_vec();
        big.resize(MAX_HEAD + 10, b'a');
        assert_eq!(parse_head(&big), Err(HeadError::TooLarge));
        let mut many = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..=MAX_HEADERS {
            many.extend_from_slice(format!("H{i}: v\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        assert_eq!(parse_head(&many), Err(HeadError::TooLarge));
    }

    #[test]
    fn refuses_malformed_heads() {
        for bad in [
            &b"GET /\r\n\r\n"[..],
            b"get / HTTP/1.1\r\n\r\n",
            b"GET noslash HTTP/1.1\r\n\r\n",
            b"GET / HTTP/2\r\n\r\n",
            b"GET / HTTP/1.1\r\nNoColon\r\n\r\n",
            b"GET / HTTP/1.1\r\nBad Name: v\r\n\r\n",
            b"GET / HTTP/1.1\r\nX: \xff\r\n\r\n",
        ] {
            assert_eq!(
                parse_head(bad),
                Err(HeadError::Malformed),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn responses_are_complete_http() {
        let r = String::from_utf8(simple_response(403, "Forbidden", &[])).unwrap();
        assert!(r.starts_with("HTTP/1.1 403 Forbidden\r\n"));
        assert!(r.contains("Content-Length: 14\r\n"));
        assert!(r.ends_with("\r\n\r\n403 Forbidden\n"));
        let s = String::from_utf8(switching_protocols("abc", Some("ami-json"), None)).unwrap();
        assert!(s.contains("Sec-WebSocket-Protocol: ami-json\r\n"));
    }

    fn text(b: Vec<u8>) -> String {
        String::from_utf8(b).unwrap()
    }

    #[test]
    fn a_file_is_served_with_type_validator_and_revalidation() {
        let js = crate::ws::page::find("/ami-ws.js").unwrap();
        let r = text(asset_response(js, None, None));
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r:.200}");
        assert!(r.contains("Content-Type: text/javascript; charset=utf-8\r\n"));
        assert!(r.contains(&format!("Content-Length: {}\r\n", js.body.len())));
        assert!(r.contains(&format!("ETag: {}\r\n", js.etag)));
        assert!(r.contains("Cache-Control: no-cache\r\n"));
        assert!(r.contains("X-Content-Type-Options: nosniff\r\n"));
        assert!(r.contains("script-src 'self';"), "module scripts from this host");
        assert!(!r.contains("unsafe-inline"));
        assert!(!r.contains("Access-Control-Allow-Origin"));
        let (head, body) = r.split_once("\r\n\r\n").unwrap();
        assert!(!head.is_empty());
        assert_eq!(body.as_bytes(), js.body);
    }

    #[test]
    fn a_matching_if_none_match_gets_304_without_body() {
        let css = crate::ws::page::find("/panel.css").unwrap();
        for inm in [css.etag.to_string(), format!("W/{}", css.etag), format!("\"x\", {}", css.etag)]
        {
            let r = text(asset_response(css, Some(&inm), None));
            assert!(r.starts_with("HTTP/1.1 304 Not Modified\r\n"), "{inm}: {r}");
            assert!(r.ends_with("\r\n\r\n") && !r.contains("Content-Length"), "{r}");
            assert!(r.contains(&format!("ETag: {}\r\n", css.etag)));
        }
        let stale = text(asset_response(css, Some("\"0000000000000000\""), None));
        assert!(stale.starts_with("HTTP/1.1 200 OK\r\n"));
    }

    #[test]
    fn a_listed_origin_may_read_the_file() {
        let js = crate::ws::page::find("/ami-ws.js").unwrap();
        let r = text(asset_response(js, None, Some("https://app.example")));
        assert!(r.contains("Access-Control-Allow-Origin: https://app.example\r\nVary: Origin\r\n"));
    }
}
