//! TLS for tests: a throw-away CA and server certificate (openssl), and a wss:// client.

use std::net::TcpStream;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

/// A test CA and a server certificate for `localhost` signed by it (webpki refuses a CA
/// certificate used as the server's own). Returns (ca.crt, server.crt, server.key).
pub fn test_pki(dir: &std::path::Path) -> Option<(String, String, String)> {
    let p = |f: &str| dir.join(f).display().to_string();
    let run = |args: &[&str]| {
        Command::new("openssl").args(args).output().ok().is_some_and(|o| o.status.success())
    };
    let ext = p("ext.cnf");
    std::fs::write(&ext, "basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost\n").ok()?;
    let ok = run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=test-ca",
        "-keyout",
        &p("ca.key"),
        "-out",
        &p("ca.crt"),
    ]) && run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        &p("ws.key"),
        "-out",
        &p("ws.csr"),
    ]) && run(&[
        "x509",
        "-req",
        "-in",
        &p("ws.csr"),
        "-CA",
        &p("ca.crt"),
        "-CAkey",
        &p("ca.key"),
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        &ext,
        "-out",
        &p("ws.crt"),
    ]);
    ok.then(|| (p("ca.crt"), p("ws.crt"), p("ws.key")))
}

/// A TLS stream to 127.0.0.1:`port` (server name `localhost`) that trusts `ca`; reads time
/// out after 10 s.
pub fn tls_stream(port: u16, ca: &str) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let conn =
        rustls::ClientConnection::new(Arc::new(config), ServerName::try_from("localhost").unwrap())
            .unwrap();
    let sock = TcpStream::connect(("127.0.0.1", port)).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    rustls::StreamOwned::new(conn, sock)
}

/// A wss:// client of the module on `port` that trusts `ca`.
pub fn tls_client(
    port: u16,
    ca: &str,
) -> tungstenite::WebSocket<rustls::StreamOwned<rustls::ClientConnection, TcpStream>> {
    let (ws, _) = tungstenite::client(format!("wss://localhost:{port}/ami"), tls_stream(port, ca))
        .expect("wss handshake");
    ws
}
