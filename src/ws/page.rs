//! The live page served at `/` (web/index.html, compiled in).
#![forbid(unsafe_code)]

/// The page's bytes.
pub const INDEX_HTML: &[u8] = include_bytes!("../../web/index.html");
