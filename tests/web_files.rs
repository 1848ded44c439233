//! The web files over real HTTP from the module in the stand-in: every file of the contract with
//! its content type, `Cache-Control: no-cache` and a build ETag (304 on revalidation), the same
//! bytes as in web/, 404 for anything else, 405 for other methods, CORS only for a listed origin.

mod common;

use common::raw::{get, http};
use common::{Opts, StandIn};

const FILES: &[(&str, &str, &str)] = &[
    ("/", "web/index.html", "text/html; charset=utf-8"),
    ("/index.html", "web/index.html", "text/html; charset=utf-8"),
    ("/ami-ws.js", "web/ami-ws.js", "text/javascript; charset=utf-8"),
    ("/md5.js", "web/md5.js", "text/javascript; charset=utf-8"),
    ("/pbx-state.js", "web/pbx-state.js", "text/javascript; charset=utf-8"),
    ("/panel.js", "web/panel.js", "text/javascript; charset=utf-8"),
    ("/panel-app.js", "web/panel-app.js", "text/javascript; charset=utf-8"),
    ("/panel-calls.js", "web/panel-calls.js", "text/javascript; charset=utf-8"),
    ("/panel.css", "web/panel.css", "text/css; charset=utf-8"),
];

fn start() -> (StandIn, u16) {
    let port = common::free_port();
    let conf = format!(
        "[general]\nbindaddr = 127.0.0.1\nbindport = {port}\nallowed_origins = https://app.example\n"
    );
    let s = StandIn::start(&[("ami_websocket.conf", &conf)], Opts::default());
    (s, port)
}

#[test]
fn every_contract_file_is_served_with_type_and_validator() {
    let (_s, port) = start();
    for (path, file, ty) in FILES {
        let a = get(port, path, &[]);
        assert_eq!(a.status, 200, "{path}: {}", a.head);
        assert_eq!(a.header("Content-Type"), Some(*ty), "{path}");
        assert_eq!(a.header("Cache-Control"), Some("no-cache"), "{path}");
        assert_eq!(a.header("X-Content-Type-Options"), Some("nosniff"), "{path}");
        let want = std::fs::read(common::probe::manifest_dir().join(file)).unwrap();
        assert_eq!(a.body, want, "{path} is not {file}");
        let etag = a.header("ETag").expect("ETag").to_string();
        assert!(etag.starts_with('"') && etag.len() > 2, "{etag}");
        // Revalidation: the same ETag gets 304 without a body; another one the file.
        let again = get(port, path, &[&format!("If-None-Match: {etag}")]);
        assert_eq!(again.status, 304, "{path}: {}", again.head);
        assert!(again.body.is_empty());
        let other = get(port, path, &["If-None-Match: \"other\""]);
        assert_eq!(other.status, 200);
    }
}

#[test]
fn anything_else_is_refused() {
    let (_s, port) = start();
    for path in [
        "/nope.js",
        "/web/panel.js",
        "/ami-ws.d.ts",
        "/package.json",
        "/panel.js?v=2",
        "/%2e%2e/Cargo.toml",
        "/test/client.test.js",
        "/bench/fake.js",
    ] {
        assert_eq!(get(port, path, &[]).status, 404, "{path}");
    }
    let post = http(
        port,
        &format!("POST /panel.js HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\n\r\n"),
    );
    assert_eq!(post.status, 405, "{}", post.head);
}

#[test]
fn a_listed_origin_may_load_the_library_others_get_no_cors() {
    let (_s, port) = start();
    let listed = get(port, "/ami-ws.js", &["Origin: https://app.example"]);
    assert_eq!(listed.header("Access-Control-Allow-Origin"), Some("https://app.example"));
    let other = get(port, "/ami-ws.js", &["Origin: https://evil.example"]);
    assert_eq!(other.status, 200);
    assert_eq!(other.header("Access-Control-Allow-Origin"), None);
    let csp = other.header("Content-Security-Policy").unwrap_or("");
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
}
