//! The web files served over plain HTTP (the operator panel and the client library), compiled in.
#![forbid(unsafe_code)]

/// One file the module serves.
#[derive(Debug, PartialEq, Eq)]
pub struct Asset {
    /// URL path (exact match, no query).
    pub path: &'static str,
    /// `Content-Type` value.
    pub content_type: &'static str,
    /// The file's bytes.
    pub body: &'static [u8],
    /// Strong validator: a hash of the bytes, quoted (`"<16 hex>"`), fixed at build time.
    pub etag: &'static str,
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// FNV-1a over the bytes; enough to tell two builds' files apart (not a security hash).
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    h
}

/// The quoted hex ETag of a hash, as bytes of a fixed-size array.
const fn etag_bytes(h: u64) -> [u8; 18] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [b'"'; 18];
    let mut i = 0;
    while i < 16 {
        out[1 + i] = HEX[((h >> (60 - 4 * i)) & 0xf) as usize];
        i += 1;
    }
    out
}

/// Declares a file: `asset!("/url", "web/file", TYPE)`.
macro_rules! asset {
    ($path:literal, $file:literal, $ty:expr) => {{
        const BODY: &[u8] = include_bytes!(concat!("../../", $file));
        const TAG: [u8; 18] = etag_bytes(fnv1a(BODY));
        Asset {
            path: $path,
            content_type: $ty,
            body: BODY,
            etag: match std::str::from_utf8(&TAG) {
                Ok(s) => s,
                Err(_) => panic!("hex is ASCII"),
            },
        }
    }};
}

/// Every file served. `/` and `/index.html` are the same page. The client library is
/// `ami-ws.js` (with `md5.js` for the challenge login) and `pbx-state.js`; the rest is the panel.
pub static ASSETS: &[Asset] = &[
    asset!("/", "web/index.html", HTML),
    asset!("/index.html", "web/index.html", HTML),
    asset!("/ami-ws.js", "web/ami-ws.js", JS),
    asset!("/md5.js", "web/md5.js", JS),
    asset!("/pbx-state.js", "web/pbx-state.js", JS),
    asset!("/panel.js", "web/panel.js", JS),
    asset!("/panel-app.js", "web/panel-app.js", JS),
    asset!("/panel-dom.js", "web/panel-dom.js", JS),
    asset!("/panel-login.js", "web/panel-login.js", JS),
    asset!("/panel-status.js", "web/panel-status.js", JS),
    asset!("/panel-calls.js", "web/panel-calls.js", JS),
    asset!("/panel-extensions.js", "web/panel-extensions.js", JS),
    asset!("/panel-queues.js", "web/panel-queues.js", JS),
    asset!("/panel-parking.js", "web/panel-parking.js", JS),
    asset!("/panel-log.js", "web/panel-log.js", JS),
    asset!("/panel-actions.js", "web/panel-actions.js", JS),
    asset!("/panel.css", "web/panel.css", CSS),
];

/// The file served at `path`, if any.
pub fn find(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.path == path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_is_unique_absolute_and_typed_by_extension() {
        for (i, a) in ASSETS.iter().enumerate() {
            assert!(a.path.starts_with('/'), "{}", a.path);
            assert!(ASSETS[..i].iter().all(|b| b.path != a.path), "duplicate {}", a.path);
            let want = match a.path.rsplit_once('.').map(|(_, e)| e) {
                Some("js") => JS,
                Some("css") => CSS,
                _ => HTML,
            };
            assert_eq!(a.content_type, want, "{}", a.path);
        }
    }

    #[test]
    fn root_and_index_are_the_same_page() {
        let (root, index) = (find("/").unwrap(), find("/index.html").unwrap());
        assert_eq!(root.body, index.body);
        assert_eq!(root.etag, index.etag);
        assert!(find("/ami-ws.js").is_some() && find("/panel.css").is_some());
        assert!(find("/nope.js").is_none() && find("/web/panel.js").is_none());
        assert!(find("/panel.js/").is_none() && find("/PANEL.JS").is_none());
    }

    #[test]
    fn etags_are_quoted_hex_of_the_content() {
        let tag = etag_bytes(fnv1a(b"a"));
        assert_eq!(&tag, b"\"af63dc4c8601ec8c\"", "FNV-1a 64 of 'a'");
        for a in ASSETS {
            assert_eq!(a.etag.len(), 18);
            assert!(a.etag.starts_with('"') && a.etag.ends_with('"'));
            assert_eq!(a.etag.as_bytes(), etag_bytes(fnv1a(a.body)));
        }
        for a in ASSETS {
            for b in ASSETS.iter().filter(|b| b.body != a.body) {
                assert_ne!(a.etag, b.etag, "{} vs {}", a.path, b.path);
            }
        }
        assert_ne!(etag_bytes(fnv1a(b"panel v1")), etag_bytes(fnv1a(b"panel v2")));
    }

    #[test]
    fn the_page_loads_only_served_modules() {
        // Every `/x.js` or `/x.css` the page and panel modules name is in the table.
        let library = ["/ami-ws.js", "/md5.js", "/pbx-state.js"];
        for a in ASSETS.iter().filter(|a| !library.contains(&a.path)) {
            let text = std::str::from_utf8(a.body).unwrap();
            for part in text.split(['"', '\'']) {
                let Some(name) = part.strip_prefix("./").or_else(|| part.strip_prefix('/')) else {
                    continue;
                };
                if (name.ends_with(".js") || name.ends_with(".css")) && !name.contains(['/', ' ']) {
                    assert!(find(&format!("/{name}")).is_some(), "{} names {part}", a.path);
                }
            }
        }
    }
}
