//! Behind a reverse proxy: a real nginx (TLS terminated there with a test certificate, the
//! WebSocket proxied to the module) forwards the client's address in X-Forwarded-For; the
//! manager.conf ACL, the failed-login log and `ws show clients` see that address, only because
//! nginx's address is in `trusted_proxies`. Spoofed headers change nothing; the PROXY protocol
//! (v1 and v2, sent by hand) works from a trusted peer and is required from it.
//! Skipped with a message when nginx is not installed (scripts/setup-debian.sh installs it).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::tls::tls_stream;
use common::{Opts, StandIn};
use serde_json::Value;
use tungstenite::client::IntoClientRequest;
use tungstenite::http::HeaderValue;
use tungstenite::{Message, WebSocket};

/// Users whose ACL admits exactly one address: the real client (127.0.0.1), or an address no
/// test client really has (127.0.0.9). nginx's own upstream address (127.0.0.5) admits nobody.
const MANAGER: &str = "[general]\nenabled = yes\nbindaddr = 127.0.0.1\n\n\
[near]\nsecret = nearpw\nread = all\nwrite = all\ndeny = 0.0.0.0/0.0.0.0\npermit = 127.0.0.1/255.255.255.255\n\n\
[far]\nsecret = farpw\nread = all\nwrite = all\ndeny = 0.0.0.0/0.0.0.0\npermit = 127.0.0.9/255.255.255.255\n";

fn start(port: u16, extra: &str) -> StandIn {
    let conf = format!("[general]\nbindaddr = 127.0.0.1\nbindport = {port}\n{extra}");
    StandIn::start(&[("manager.conf", MANAGER), ("ami_websocket.conf", &conf)], Opts::default())
}

/// nginx in the foreground with a private prefix; killed on drop.
struct Nginx {
    child: Child,
    dir: std::path::PathBuf,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The nginx configuration the README documents, on test ports: TLS on `tls_port`; `/ami` to
/// the module that trusts nginx, `/untrusted/ami` to one that does not.
fn nginx_conf(
    dir: &std::path::Path,
    tls_port: u16,
    trusting: u16,
    untrusting: u16,
    cert: &str,
    key: &str,
) -> String {
    let d = dir.display();
    let proxy = |upstream: u16| {
        format!(
            "proxy_pass http://127.0.0.1:{upstream}/ami;\n\
             proxy_bind 127.0.0.5;\n\
             proxy_http_version 1.1;\n\
             proxy_set_header Upgrade $http_upgrade;\n\
             proxy_set_header Connection $connection_upgrade;\n\
             proxy_set_header Host $http_host;\n\
             proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n\
             proxy_set_header X-Forwarded-Proto $scheme;\n\
             proxy_read_timeout 1h;\n"
        )
    };
    format!(
        "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\n\
         error_log {d}/error.log info;\nevents {{ worker_connections 64; }}\n\
         http {{\n  access_log {d}/access.log;\n  client_body_temp_path {d}/body;\n\
         proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n\
         scgi_temp_path {d}/scgi;\n\
         map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}\n\
         server {{\n    listen 127.0.0.1:{tls_port} ssl;\n    ssl_certificate {cert};\n\
         ssl_certificate_key {key};\n\
         location = /ami {{\n{}    }}\n    location = /untrusted/ami {{\n{}    }}\n  }}\n}}\n",
        proxy(trusting),
        proxy(untrusting)
    )
}

/// nginx on PATH, or Debian's /usr/sbin/nginx (not on a normal user's PATH).
fn nginx_bin() -> Option<&'static str> {
    ["nginx", "/usr/sbin/nginx"]
        .into_iter()
        .find(|b| Command::new(b).arg("-v").output().is_ok_and(|o| o.status.success()))
}

fn start_nginx(tls_port: u16, trusting: u16, untrusting: u16) -> Option<(Nginx, String)> {
    let Some(bin) = nginx_bin() else {
        eprintln!("skipped: no nginx found (apt-get install nginx) for the reverse-proxy test");
        return None;
    };
    let dir = common::temp_dir("nginx");
    let (ca, cert, key) = common::tls::test_pki(&dir).expect("openssl made the test PKI");
    std::fs::write(
        dir.join("nginx.conf"),
        nginx_conf(&dir, tls_port, trusting, untrusting, &cert, &key),
    )
    .unwrap();
    let child = Command::new(bin)
        .arg("-p")
        .arg(&dir)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .arg("-e")
        .arg(dir.join("error.log"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start nginx");
    let n = Nginx { child, dir };
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", tls_port)).is_err() {
        let log = std::fs::read_to_string(n.dir.join("error.log")).unwrap_or_default();
        assert!(Instant::now() < deadline, "nginx did not start: {log}");
        std::thread::sleep(Duration::from_millis(50));
    }
    Some((n, ca))
}

/// The WebSocket handshake over `stream` with extra request headers.
fn upgrade<S: Read + Write>(stream: S, url: &str, headers: &[(&str, &str)]) -> WebSocket<S> {
    let mut req = url.into_client_request().unwrap();
    for (k, v) in headers {
        let name = tungstenite::http::HeaderName::from_bytes(k.as_bytes()).unwrap();
        req.headers_mut().append(name, HeaderValue::from_str(v).unwrap());
    }
    match tungstenite::client(req, stream) {
        Ok((ws, _)) => ws,
        Err(e) => panic!("handshake to {url}: {e:?}"),
    }
}

/// Logs in and returns the Response field (Success / Error).
fn login<S: Read + Write>(ws: &mut WebSocket<S>, user: &str, secret: &str) -> String {
    let req =
        format!(r#"{{"Action":"Login","Username":"{user}","Secret":"{secret}","ActionID":"x"}}"#);
    ws.send(Message::Text(req.into())).unwrap();
    loop {
        match ws.read() {
            Ok(Message::Text(t)) => {
                let v: Value = serde_json::from_str(t.as_str()).unwrap();
                if v["ActionID"] == "x" {
                    return v["Response"].as_str().unwrap_or_default().to_string();
                }
            }
            Ok(_) => {}
            Err(e) => return format!("closed: {e}"),
        }
    }
}

fn peers(s: &StandIn) -> Vec<String> {
    common::ws::clients(s).0.into_iter().map(|r| r.peer).collect()
}

#[test]
fn behind_nginx_the_acl_sees_the_forwarded_address_and_spoofing_fails() {
    let (trusting, untrusting, tls_port) =
        (common::free_port(), common::free_port(), common::free_port());
    let s = start(trusting, "trusted_proxies = 127.0.0.5/32\n");
    let plain = start(untrusting, "");
    let Some((nginx, ca)) = start_nginx(tls_port, trusting, untrusting) else { return };
    let url = format!("wss://localhost:{tls_port}/ami");
    // A browser-like client: the page's Origin is https://localhost:<nginx port>. The module
    // speaks plain ws; the Origin check passes because nginx says the browser used https.
    let origin = format!("https://localhost:{tls_port}");
    let mut ws = upgrade(tls_stream(tls_port, &ca), &url, &[("Origin", &origin)]);
    assert_eq!(login(&mut ws, "near", "nearpw"), "Success", "{}", s.log());
    let p = peers(&s);
    assert!(
        p.iter().any(|p| p.starts_with("127.0.0.1:0,via=127.0.0.5:")),
        "ws show clients: {p:?}"
    );
    // A header the client made up is kept by nginx, but to the left of the address nginx saw:
    // the rightmost untrusted address (127.0.0.1) is the client, so `far` is refused.
    let mut spoof = upgrade(
        tls_stream(tls_port, &ca),
        &url,
        &[("Origin", &origin), ("X-Forwarded-For", "127.0.0.9")],
    );
    assert_ne!(login(&mut spoof, "far", "farpw"), "Success");
    assert!(s.wait_log("127.0.0.1 failed to authenticate as 'far'", Duration::from_secs(5)));
    assert!(!s.log().contains("127.0.0.5 failed"), "{}", s.log());
    // Straight to the module from an untrusted peer: the header is ignored.
    let direct = TcpStream::connect(("127.0.0.1", trusting)).unwrap();
    direct.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut d = upgrade(
        direct,
        &format!("ws://127.0.0.1:{trusting}/ami"),
        &[("X-Forwarded-For", "127.0.0.9"), ("X-Forwarded-Proto", "https")],
    );
    assert_ne!(login(&mut d, "far", "farpw"), "Success");
    // The same nginx in front of a module that does not trust it: everyone is 127.0.0.5,
    // which manager.conf admits for no user (and the https Origin no longer matches).
    let url2 = format!("wss://localhost:{tls_port}/untrusted/ami");
    let mut u = upgrade(tls_stream(tls_port, &ca), &url2, &[]);
    assert_ne!(login(&mut u, "near", "nearpw"), "Success");
    assert!(plain.wait_log("127.0.0.5 failed to authenticate as 'near'", Duration::from_secs(5)));
    let mut req = url2.as_str().into_client_request().unwrap();
    req.headers_mut().insert("Origin", HeaderValue::from_str(&origin).unwrap());
    let refused = tungstenite::client(req, tls_stream(tls_port, &ca));
    assert!(
        matches!(&refused, Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(r))) if r.status() == 403),
        "{:?}",
        refused.map(|_| ())
    );
    drop(nginx);
}

/// Opens a raw connection, sends `preamble` then a WebSocket upgrade, and logs in.
fn via_proxy_protocol(
    port: u16,
    preamble: &[u8],
    user: &str,
    secret: &str,
) -> (WebSocket<TcpStream>, String) {
    let mut sock = TcpStream::connect(("127.0.0.1", port)).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    sock.write_all(preamble).unwrap();
    let mut ws = upgrade(sock, &format!("ws://127.0.0.1:{port}/ami"), &[]);
    let r = login(&mut ws, user, secret);
    (ws, r)
}

#[test]
fn proxy_protocol_v1_and_v2_from_a_trusted_peer() {
    let port = common::free_port();
    let s = start(port, "trusted_proxies = 127.0.0.1/32\nproxy_protocol = yes\n");
    let v1 = format!("PROXY TCP4 127.0.0.9 127.0.0.1 40001 {port}\r\n");
    let (_a, r) = via_proxy_protocol(port, v1.as_bytes(), "far", "farpw");
    assert_eq!(r, "Success", "{}", s.log());
    let mut v2 = b"\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c".to_vec();
    v2.extend_from_slice(&[127, 0, 0, 9, 127, 0, 0, 1, 0x9c, 0x42, 0, 80]);
    let (_b, r) = via_proxy_protocol(port, &v2, "far", "farpw");
    assert_eq!(r, "Success");
    let p = peers(&s);
    assert!(p.iter().any(|p| p.starts_with("127.0.0.9:40001,via=127.0.0.1:")), "{p:?}");
    assert!(p.iter().any(|p| p.starts_with("127.0.0.9:40002,via=127.0.0.1:")), "{p:?}");
    // From the trusted peer the header is required: a bare request is dropped unanswered.
    let bare = common::raw::get(port, "/", &[]);
    assert_eq!(bare.status, 0, "{bare:?}");
    // A forged address in a broken header gets nothing either.
    let junk = common::raw::http(port, "PROXY TCP4 127.0.0.9 x 1 2\r\nGET / HTTP/1.1\r\n\r\n");
    assert_eq!(junk.status, 0);
    // LOCAL (a health check): the connection is the proxy's own, so `near` (127.0.0.1) logs in.
    let local = b"\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00";
    let (_c, r) = via_proxy_protocol(port, local, "near", "nearpw");
    assert_eq!(r, "Success");
}
