//! Opt-in (AMI_WS_ASTERISK): in a real Asterisk with res_prometheus loaded (http.conf and
//! prometheus.conf enabled on a private port), our metrics appear on Asterisk's own `/metrics`
//! next to the core's, follow a login, and disappear cleanly when the module is unloaded.

mod common;
mod real_asterisk_pbx;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use real_asterisk_pbx::{NAME, Pbx, Setup, prefix_or_skip};

fn scrape(port: u16) -> String {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else { return String::new() };
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let req =
        format!("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn metrics_appear_on_asterisks_own_metrics_page() {
    let Some(prefix) = prefix_or_skip("real_asterisk_metrics") else { return };
    if !prefix.join("lib/asterisk/modules/res_prometheus.so").exists() {
        println!("skipped real_asterisk_metrics: this Asterisk has no res_prometheus.so");
        return;
    }
    let http_port = common::free_port();
    let http = format!("[general]\nenabled = yes\nbindaddr = 127.0.0.1\nbindport = {http_port}\n");
    let files = [
        ("http.conf", http.as_str()),
        ("prometheus.conf", "[general]\nenabled = yes\nuri = metrics\n"),
    ];
    let setup = Setup {
        users: "[admin]\nsecret = adminpw\nread = all\nwrite = all\n",
        files: &files,
        preload: &["res_prometheus.so"],
    };
    let pbx = Pbx::start(&prefix, &setup);
    let before = scrape(http_port);
    assert!(before.starts_with("HTTP/1.1 200"), "{before}\n{}", pbx.log());
    assert!(before.contains("asterisk_core_uptime_seconds"), "{before}");
    assert!(!before.contains("asterisk_ami_ws_"));
    pbx.load_module();
    assert!(
        pbx.wait_log("metrics registered with res_prometheus", Duration::from_secs(5)),
        "{}",
        pbx.log()
    );
    let mut c = common::ws::login_as(pbx.ws_port, "admin", "adminpw");
    let deadline = Instant::now() + Duration::from_secs(10);
    let page = loop {
        let page = scrape(http_port);
        if page.contains("asterisk_ami_ws_logins_total{result=\"success\"} 1\n")
            || Instant::now() >= deadline
        {
            break page;
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    assert!(page.contains("asterisk_ami_ws_logins_total{result=\"success\"} 1\n"), "{page}");
    assert!(page.contains("asterisk_ami_ws_clients{state=\"logged_in\"} 1\n"), "{page}");
    assert!(page.contains("# TYPE asterisk_ami_ws_events_total counter"), "{page}");
    println!(
        "{}",
        page.lines().filter(|l| l.starts_with("asterisk_ami_ws_")).collect::<Vec<_>>().join("\n")
    );
    c.user_event("MetricsCheck", &[]);
    drop(c);
    let out = pbx.rx(&format!("module unload {NAME}"));
    assert!(out.contains("Unloaded"), "{out}\n{}", pbx.log());
    let after = scrape(http_port);
    assert!(
        after.contains("asterisk_core_uptime_seconds") && !after.contains("asterisk_ami_ws_"),
        "{after}"
    );
}
