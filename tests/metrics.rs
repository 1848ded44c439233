//! Prometheus metrics: through res_prometheus's callback API (a stand-in res_prometheus.so,
//! built here, implementing it as res/res_prometheus.c does) and on our own `/metrics`, with
//! figures that follow what clients did; the module loads and unloads cleanly either way.

mod common;

use std::time::{Duration, Instant};

use common::probe::cc_module;
use common::raw::get;
use common::ws::{connect, field, login_as};
use common::{Opts, StandIn};

/// The value of one sample line (`name{labels} value`) in a scrape, if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}

/// Polls `scrape` until `series` reaches at least `want` (the published figures lag by up to 1 s).
fn wait_sample(scrape: impl Fn() -> String, series: &str, want: f64) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = scrape();
        if sample(&text, series).is_some_and(|v| v >= want) || Instant::now() >= deadline {
            return text;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn registered_with_res_prometheus_when_it_is_loaded() {
    let s = StandIn::start(&[], Opts { load: false, ..Opts::default() });
    cc_module("res_prometheus_standin.c", &[], &s.moddir(), "res_prometheus.so");
    let out = s.rx("module load res_prometheus.so");
    assert!(out.contains("Loaded res_prometheus"), "{out}\n{}", s.log());
    assert!(!s.rx("prometheus show metrics").contains("asterisk_ami_ws_"));
    s.rx("module load res_ami_websocket.so");
    assert!(
        s.wait_log("metrics registered with res_prometheus", Duration::from_secs(5)),
        "{}",
        s.log()
    );
    let port = s.ws_port().unwrap();
    let mut c = login_as(port, "admin", "adminpw");
    let mut bad = connect(port);
    assert_eq!(field(&bad.login("admin", "wrong"), "Response"), "Error");
    s.rx("traffic replay");
    let n = common::fixture::replayed().len();
    assert_eq!(c.events(n, Duration::from_secs(20)).len(), n);
    let scrape = || s.rx("prometheus show metrics");
    let text = wait_sample(scrape, "asterisk_ami_ws_events_delivered_total", n as f64);
    assert!(text.contains("# TYPE asterisk_ami_ws_events_total counter"), "{text}");
    assert_eq!(sample(&text, "asterisk_ami_ws_logins_total{result=\"success\"}"), Some(1.0));
    assert_eq!(sample(&text, "asterisk_ami_ws_logins_total{result=\"failure\"}"), Some(1.0));
    assert!(sample(&text, "asterisk_ami_ws_events_total").unwrap() >= n as f64);
    assert!(sample(&text, "asterisk_ami_ws_clients{state=\"logged_in\"}").unwrap() >= 1.0);
    // Unloading unregisters: res_prometheus keeps working and no longer calls into us.
    drop(c);
    drop(bad);
    let out = s.rx("module unload res_ami_websocket.so");
    assert!(out.contains("Unloaded"), "{out}");
    let after = s.rx("prometheus show metrics");
    assert!(!after.contains("asterisk_ami_ws_"), "{after}");
    // Loaded again, registered again.
    s.rx("module load res_ami_websocket.so");
    assert!(s.rx("prometheus show metrics").contains("asterisk_ami_ws_events_total"));
}

#[test]
fn own_endpoint_is_off_by_default_and_limited_to_its_allow_list() {
    let s = StandIn::start(&[], Opts::default());
    let port = s.ws_port().unwrap();
    assert_eq!(get(port, "/metrics", &[]).status, 404);

    let port = common::free_port();
    let conf = format!("[general]\nbindaddr = 127.0.0.1\nbindport = {port}\nmetrics = yes\n");
    let s = StandIn::start(&[("ami_websocket.conf", &conf)], Opts::default());
    let _c = login_as(port, "admin", "adminpw");
    let scrape = || {
        let a = get(port, "/metrics", &[]);
        assert_eq!(a.status, 200, "{}", a.head);
        assert_eq!(a.header("Content-Type"), Some("text/plain; version=0.0.4; charset=utf-8"));
        String::from_utf8(a.body).unwrap()
    };
    let text = wait_sample(scrape, "asterisk_ami_ws_logins_total{result=\"success\"}", 1.0);
    assert_eq!(
        sample(&text, "asterisk_ami_ws_logins_total{result=\"success\"}"),
        Some(1.0),
        "{text}"
    );
    // Our own scrapes are plain HTTP requests, not WebSocket handshakes gone wrong.
    assert_eq!(
        sample(&text, "asterisk_ami_ws_handshake_failures_total{reason=\"http_error\"}"),
        Some(0.0)
    );
    // A refused upgrade is counted.
    assert_eq!(get(port, "/nope", &[]).status, 404);
    let text =
        wait_sample(scrape, "asterisk_ami_ws_handshake_failures_total{reason=\"http_error\"}", 1.0);
    assert_eq!(
        sample(&text, "asterisk_ami_ws_handshake_failures_total{reason=\"http_error\"}"),
        Some(1.0)
    );
    // Without res_prometheus nothing is registered and nothing breaks.
    assert!(!s.log().contains("registered with res_prometheus"));

    let port = common::free_port();
    let conf = format!(
        "[general]\nbindaddr = 127.0.0.1\nbindport = {port}\nmetrics = yes\nmetrics_allowed = 10.0.0.0/8\n"
    );
    let _s = StandIn::start(&[("ami_websocket.conf", &conf)], Opts::default());
    assert_eq!(get(port, "/metrics", &[]).status, 403);
}
