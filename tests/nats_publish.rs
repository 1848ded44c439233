//! The NATS publisher against a real nats-server (Debian's package, started here on a free
//! loopback port): subjects and order, JetStream catch-up across a server restart with nothing
//! lost or duplicated, gap notices after a long outage, an unreachable server that changes
//! nothing for WebSocket clients, nkey, `.creds` (operator mode) and TLS authentication, and
//! refused bad configs.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::nats::{NatsClient, NatsServer};
use common::nats_jwt::{Key, Operator, User, creds};
use common::ws::{field, login_as};
use common::{DEFAULT_MANAGER_CONF, Opts, StandIn, free_port};
use res_ami_websocket::nats::nkey::KeyKind;
use serde_json::{Value, json};

fn module_conf(ws_port: u16, nats: &str) -> String {
    format!("[general]\nbindaddr = 127.0.0.1\nbindport = {ws_port}\n\n[nats]\n{nats}\n")
}

fn start(nats: &str) -> (StandIn, u16) {
    let port = free_port();
    let s = StandIn::start(&[("ami_websocket.conf", &module_conf(port, nats))], Opts::default());
    (s, port)
}

/// Waits until `ws show nats` contains `text`.
fn wait_nats(s: &StandIn, text: &str, limit: Duration) -> String {
    let deadline = Instant::now() + limit;
    loop {
        let out = s.rx("ws show nats");
        if out.contains(text) {
            return out;
        }
        assert!(Instant::now() < deadline, "'{text}' not in ws show nats:\n{out}\n{}", s.log());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Raises `n` UserEvent Burst events and waits until the stand-in says the burst is done.
fn burst(s: &StandIn, n: usize) {
    let before = s.log().matches("burst done").count();
    s.rx(&format!("traffic burst {n} 0"));
    let deadline = Instant::now() + Duration::from_secs(30);
    while s.log().matches("burst done").count() == before {
        assert!(Instant::now() < deadline, "burst did not finish");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A number from a `ws show nats` line such as `Published:   500`.
fn counter(stats: &str, label: &str) -> u64 {
    let line = stats.lines().find(|l| l.starts_with(label)).unwrap_or_default();
    line[label.len().min(line.len())..].trim().parse().unwrap_or(0)
}

fn ws_seq(v: &Value) -> u64 {
    field(v, "WsSeq").parse().unwrap_or_else(|_| panic!("no WsSeq in {v}"))
}

#[test]
fn events_arrive_on_their_subjects_in_order_while_websocket_clients_get_them_too() {
    let server = NatsServer::start("");
    let mut sub = NatsClient::connect(server.port, json!({}));
    // Consumers filter by subject: user-class UserEvents of any system.
    sub.sub("ami.*.user.UserEvent");
    sub.flush();
    let (s, port) =
        start(&format!("enabled = yes\nurl = {}\nsystem_name = pbx.test 1", server.url()));
    wait_nats(&s, "NATS publisher:      connected", Duration::from_secs(10));
    let mut ws = login_as(port, "admin", "adminpw");
    burst(&s, 500);
    let mut last = 0;
    for i in 0..500 {
        let m = sub.next_msg(Duration::from_secs(10)).unwrap_or_else(|| panic!("message {i}"));
        assert_eq!(m.subject, "ami.pbx%2Etest%201.user.UserEvent");
        let v = m.json();
        assert_eq!(field(&v, "Event"), "UserEvent");
        assert_eq!(field(&v, "SystemName"), "pbx.test 1");
        assert_eq!(field(&v, "Seq"), i.to_string(), "order");
        let seq = ws_seq(&v);
        assert!(last == 0 || seq == last + 1, "WsSeq {seq} after {last}");
        last = seq;
        let id = String::from_utf8_lossy(&m.headers).to_string();
        assert!(id.contains("Nats-Msg-Id: pbx%2Etest%201-"), "{id}");
    }
    let mut seen = 0;
    while seen < 500 {
        let v = ws.wait_for(Duration::from_secs(10), |v| field(v, "UserEvent") == "Burst");
        assert!(v.is_some(), "WebSocket client got {seen} of 500");
        seen += 1;
    }
    let stats = s.rx("ws show nats");
    assert!(counter(&stats, "Published:") >= 500, "{stats}");
}

#[test]
fn jetstream_keeps_everything_across_a_server_restart_and_a_consumer_catches_up() {
    let mut server = NatsServer::start("");
    let mut admin = NatsClient::connect(server.port, json!({}));
    admin.create_stream("AMI", &["ami.>"]);
    admin.create_consumer("AMI", "panel");
    let (s, _) = start(&format!("enabled = yes\nurl = {}\njetstream = yes", server.url()));
    wait_nats(&s, "NATS publisher:      connected", Duration::from_secs(10));
    burst(&s, 300);
    wait_nats(&s, "In flight:           0", Duration::from_secs(20));
    // The consumer reads part, then is "down" while more happens.
    let first = admin.fetch("AMI", "panel", 100);
    assert_eq!(first.len(), 100);
    admin.flush();
    drop(admin);
    // Mid-stream the server restarts: events raised meanwhile wait in the ring.
    server.stop();
    burst(&s, 200);
    wait_nats(&s, "not connected", Duration::from_secs(10));
    server.restart();
    wait_nats(&s, "NATS publisher:      connected", Duration::from_secs(20));
    burst(&s, 100);
    wait_nats(&s, "In flight:           0", Duration::from_secs(20));
    let mut admin = NatsClient::connect(server.port, json!({}));
    let bursts = |msgs: &[common::nats::Msg]| -> Vec<u64> {
        msgs.iter()
            .map(|m| m.json())
            .filter(|v| field(v, "UserEvent") == "Burst")
            .map(|v| ws_seq(&v))
            .collect()
    };
    let mut all = bursts(&first);
    loop {
        let more = admin.fetch("AMI", "panel", 500);
        if more.is_empty() {
            break;
        }
        all.extend(bursts(&more));
    }
    let unique: BTreeSet<u64> = all.iter().copied().collect();
    assert_eq!(unique.len(), all.len(), "duplicates delivered");
    assert_eq!(all.len(), 600, "events stored: {}", all.len());
    let (lo, hi) = (*unique.first().unwrap(), *unique.last().unwrap());
    assert_eq!(hi - lo + 1, 600, "a gap in {lo}..={hi}");
    let stats = s.rx("ws show nats");
    assert!(stats.contains("Lost (ring overrun): 0"), "{stats}");
    assert!(!stats.contains("Reconnects:          0"), "{stats}");
}

#[test]
fn an_outage_longer_than_the_ring_is_announced_as_a_gap() {
    let mut server = NatsServer::start("");
    // A stream records what arrives while nobody is subscribed (no race with the reconnect).
    NatsClient::connect(server.port, json!({})).create_stream("AMI", &["ami.>"]);
    let port = free_port();
    let conf = format!(
        "[general]\nbindaddr = 127.0.0.1\nbindport = {port}\nring_size = 16\n\n[nats]\n\
         enabled = yes\nurl = {}\n",
        server.url()
    );
    let s = StandIn::start(&[("ami_websocket.conf", &conf)], Opts::default());
    wait_nats(&s, "NATS publisher:      connected", Duration::from_secs(10));
    wait_nats(&s, "In flight:           0", Duration::from_secs(10));
    server.stop();
    wait_nats(&s, "not connected", Duration::from_secs(10));
    burst(&s, 100);
    server.restart();
    wait_nats(&s, "NATS publisher:      connected", Duration::from_secs(20));
    wait_nats(&s, "In flight:           0", Duration::from_secs(10));
    let mut admin = NatsClient::connect(server.port, json!({}));
    admin.create_consumer("AMI", "after");
    let msgs = admin.fetch("AMI", "after", 1000);
    let at = msgs.iter().position(|m| m.subject.ends_with(".ws.WsEventsLost")).expect("gap notice");
    let v = msgs[at].json();
    assert_eq!(field(&v, "Count"), "84", "{v}");
    let first: u64 = field(&v, "FirstLost").parse().unwrap();
    let last: u64 = field(&v, "LastLost").parse().unwrap();
    assert_eq!(last - first + 1, 84);
    let kept: Vec<u64> = msgs[at + 1..].iter().map(|m| ws_seq(&m.json())).collect();
    assert_eq!(kept, (last + 1..=last + 16).collect::<Vec<_>>(), "the 16 events still in the ring");
    assert!(s.rx("ws show nats").contains("Lost (ring overrun): 84"));
}

#[test]
fn an_unreachable_server_changes_nothing_for_websocket_clients() {
    let dead = free_port();
    let (s, port) = start(&format!("enabled = yes\nurl = nats://127.0.0.1:{dead}"));
    let mut ws = login_as(port, "admin", "adminpw");
    burst(&s, 2000);
    for i in 0..2000 {
        let v = ws.wait_for(Duration::from_secs(10), |v| field(v, "UserEvent") == "Burst");
        let v = v.unwrap_or_else(|| panic!("WebSocket client got {i} of 2000"));
        assert_eq!(field(&v, "Seq"), i.to_string());
    }
    let stats = wait_nats(&s, "not connected", Duration::from_secs(5));
    assert!(stats.contains("Last error:"), "{stats}");
    assert!(s.log().contains("nats: cannot publish to"), "{}", s.log());
}

#[test]
fn nkey_authentication_against_the_server() {
    use res_ami_websocket::nats::nkey::UserKey;
    let seed = UserKey::encode_seed(&[42u8; 32]);
    let public = UserKey::from_seed(&seed).unwrap().public();
    let server =
        NatsServer::start(&format!("authorization {{ users = [ {{ nkey: {public} }} ] }}"));
    let dir = common::temp_dir("nkey");
    let good = dir.join("good.nk");
    std::fs::write(&good, &seed).unwrap();
    let (s, _) = start(&format!(
        "enabled = yes\nurl = {}\nnkey_seed_file = {}",
        server.url(),
        good.display()
    ));
    wait_nats(&s, "NATS publisher:      connected", Duration::from_secs(10));
    drop(s);
    let bad = dir.join("bad.nk");
    std::fs::write(&bad, UserKey::encode_seed(&[7u8; 32])).unwrap();
    let (s, _) = start(&format!(
        "enabled = yes\nurl = {}\nnkey_seed_file = {}",
        server.url(),
        bad.display()
    ));
    let out = wait_nats(&s, "Authorization Violation", Duration::from_secs(10));
    assert!(out.contains("not connected"), "{out}");
}

#[test]
fn tls_to_the_server_with_our_ca() {
    let dir = common::temp_dir("nats-tls");
    let run = |args: &[&str]| {
        let ok = std::process::Command::new("openssl")
            .args(args)
            .current_dir(&dir)
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(ok, "openssl {args:?} failed");
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=test CA",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "srv.key",
        "-out",
        "srv.csr",
        "-subj",
        "/CN=localhost",
    ]);
    std::fs::write(dir.join("ext.cnf"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n").unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "srv.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "srv.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
    let server = NatsServer::start(&format!(
        "tls {{ cert_file: \"{0}/srv.pem\", key_file: \"{0}/srv.key\" }}",
        dir.display()
    ));
    let mut_url = format!("tls://localhost:{}", server.port);
    let (s, _) =
        start(&format!("enabled = yes\nurl = {mut_url}\ntls_ca_file = {}/ca.pem", dir.display()));
    wait_nats(&s, "NATS publisher:      connected", Duration::from_secs(10));
    burst(&s, 50);
    let deadline = Instant::now() + Duration::from_secs(10);
    while counter(&s.rx("ws show nats"), "Confirmed:") < 50 {
        assert!(Instant::now() < deadline, "{}", s.rx("ws show nats"));
        std::thread::sleep(Duration::from_millis(50));
    }
    let stats = s.rx("ws show nats");
    assert!(stats.contains("tls://localhost"), "{stats}");
}

#[test]
fn bad_nats_settings_are_refused_at_load_and_reload() {
    for (bad, reason) in [
        ("enabled = yes\nurl = http://x", "[nats] url http://x"),
        ("enabled = yes\ncreds_file = /nonexistent.creds", "creds_file /nonexistent.creds"),
        ("enabled = yes\nurl = tls://127.0.0.1:1", "tls:// needs tls_ca_file"),
        ("enabled = yes\nnosuch = 1", "unknown option nosuch in [nats]"),
    ] {
        let (s, _) = start(bad);
        assert!(s.wait_log(reason, Duration::from_secs(10)), "{bad}: {}", s.log());
        assert!(s.rx("module show like res_ami").contains("Not Running"), "{bad}");
    }
    // Reload with a bad section keeps the running configuration.
    let server = NatsServer::start("");
    let port = free_port();
    let good = module_conf(port, &format!("enabled = yes\nurl = {}", server.url()));
    let s = StandIn::start(
        &[("ami_websocket.conf", &good), ("manager.conf", DEFAULT_MANAGER_CONF)],
        Opts::default(),
    );
    wait_nats(&s, "NATS publisher:      connected", Duration::from_secs(10));
    std::fs::write(
        s.config_dir().join("ami_websocket.conf"),
        module_conf(port, "enabled = yes\nnkey_seed_file = /nonexistent.nk"),
    )
    .unwrap();
    s.rx("module reload res_ami_websocket.so");
    assert!(s.wait_log("nkey_seed_file /nonexistent.nk", Duration::from_secs(10)), "{}", s.log());
    wait_nats(&s, "NATS publisher:      connected", Duration::from_secs(5));
}

/// How many threads of the stand-in process carry `name` (set by the module's thread spawner).
fn threads_named(s: &StandIn, name: &str) -> usize {
    std::fs::read_dir(format!("/proc/{}/task", s.pid()))
        .expect("the stand-in's /proc task list")
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.trim_end() == name)
        .count()
}

#[test]
fn reload_moves_to_another_server_without_a_gap_and_unload_stops_the_publisher() {
    let a = NatsServer::start("");
    let b = NatsServer::start("");
    let mut sub_b = NatsClient::connect(b.port, json!({}));
    sub_b.sub("ami.*.user.UserEvent");
    sub_b.flush();
    let port = free_port();
    let s = StandIn::start(
        &[("ami_websocket.conf", &module_conf(port, &format!("enabled = yes\nurl = {}", a.url())))],
        Opts::default(),
    );
    wait_nats(&s, "NATS publisher:      connected (nats://127.0.0.1", Duration::from_secs(10));
    std::fs::write(
        s.config_dir().join("ami_websocket.conf"),
        module_conf(port, &format!("enabled = yes\nurl = {}", b.url())),
    )
    .unwrap();
    s.rx("module reload res_ami_websocket.so");
    wait_nats(&s, &format!("connected ({})", b.url()), Duration::from_secs(10));
    burst(&s, 20);
    for i in 0..20 {
        let m = sub_b.next_msg(Duration::from_secs(10)).expect("event on the new server");
        assert_eq!(field(&m.json(), "Seq"), i.to_string());
    }
    // Counted by name in this process (other threads of the core start and end on their own).
    assert_eq!(threads_named(&s, "ami-ws-nats"), 1, "one publisher thread while enabled");
    s.rx("module unload res_ami_websocket.so");
    assert!(s.rx("ws show nats").contains("No such command"), "CLI gone with the module");
    assert_eq!(threads_named(&s, "ami-ws-nats"), 0, "the publisher thread ends with the module");
    assert_eq!(threads_named(&s, "ami-ws-loop"), 0, "the network thread ends with the module");
}

#[test]
fn a_backlog_many_windows_long_flows_at_once_after_a_restart() {
    let mut server = NatsServer::start("");
    let (s, _) = start(&format!("enabled = yes\nurl = {}\nmax_in_flight = 64", server.url()));
    wait_nats(&s, "NATS publisher:      connected", Duration::from_secs(10));
    server.stop();
    wait_nats(&s, "not connected", Duration::from_secs(10));
    let before = counter(&s.rx("ws show nats"), "Confirmed:");
    burst(&s, 5000);
    server.restart();
    wait_nats(&s, "NATS publisher:      connected", Duration::from_secs(20));
    // 5,000 events through a window of 64 (78 windows) are written to the server at once: the
    // publisher must not wait for a timer between windows (it once did, one second each).
    let start = Instant::now();
    while counter(&s.rx("ws show nats"), "Confirmed:") < before + 5000 {
        assert!(start.elapsed() < Duration::from_secs(30), "{}", s.rx("ws show nats"));
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn token_and_user_password_authentication_against_the_server() {
    let server = NatsServer::start("authorization { token: \"s3cret\" }");
    let (s, _) = start(&format!("enabled = yes\nurl = {}\ntoken = s3cret", server.url()));
    wait_nats(&s, "NATS publisher:      connected", Duration::from_secs(10));
    drop(s);
    let (s, _) = start(&format!("enabled = yes\nurl = {}\ntoken = wrong", server.url()));
    wait_nats(&s, "Authorization Violation", Duration::from_secs(10));
    drop(s);
    let server = NatsServer::start("authorization { user: pbx, password: \"pw 1\" }");
    let (s, _) =
        start(&format!("enabled = yes\nurl = {}\nuser = pbx\npassword = pw 1", server.url()));
    wait_nats(&s, "NATS publisher:      connected", Duration::from_secs(10));
    drop(s);
    // Credentials in the URL, as NATS clients accept them.
    let url = format!("nats://pbx:nope@127.0.0.1:{}", server.port);
    let (s, _) = start(&format!("enabled = yes\nurl = {url}"));
    let out = wait_nats(&s, "Authorization Violation", Duration::from_secs(10));
    assert!(!out.contains("nope"), "the password is never shown: {out}");
}

/// A subscriber on `ami.>` as a user of `op`'s account, on a server that requires auth.
fn creds_subscriber(server: &NatsServer, op: &Operator) -> NatsClient {
    let panel = User::new(&op.account, "panel");
    let mut sub = NatsClient::connect_with(server.port, |info| {
        assert_eq!(info["auth_required"], true, "operator mode requires credentials: {info}");
        panel.connect_fields(info)
    });
    sub.sub("ami.>");
    sub.flush();
    sub
}

/// `[nats]` for `server` with the creds file `text` written under `dir` as `name`.
fn creds_conf(server: &NatsServer, dir: &std::path::Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    format!(
        "enabled = yes\nurl = {}\nsystem_name = pbx1\ncreds_file = {}",
        server.url(),
        path.display()
    )
}

#[test]
fn creds_file_authentication_in_operator_mode_against_the_server() {
    // Operator, accounts and users with fresh keys; the server trusts only the operator.
    let op = Operator::new();
    let server = NatsServer::start(&op.server_config());
    let mut sub = creds_subscriber(&server, &op);
    // JetStream in the account: the acks come back on the module's creds connection too.
    sub.create_stream("AMI", &["ami.>"]);
    let dir = common::temp_dir("creds");
    let pbx = User::new(&op.account, "pbx1");
    let conf = creds_conf(&server, &dir, "pbx1.creds", &pbx.creds());
    let (s, _) = start(&format!("{conf}\njetstream = yes"));
    wait_nats(&s, "NATS publisher:      connected", Duration::from_secs(10));
    burst(&s, 100);
    let mut bursts = Vec::new();
    while bursts.len() < 100 {
        let m = sub.next_msg(Duration::from_secs(10));
        let m = m.unwrap_or_else(|| panic!("{} of 100 bursts arrived", bursts.len()));
        assert!(m.subject.starts_with("ami.pbx1."), "{}", m.subject);
        let v = m.json();
        if field(&v, "UserEvent") == "Burst" {
            assert_eq!(m.subject, "ami.pbx1.user.UserEvent");
            bursts.push(field(&v, "Seq").to_string());
        }
    }
    assert_eq!(bursts, (0..100).map(|i| i.to_string()).collect::<Vec<_>>(), "order");
    let stats = wait_nats(&s, "In flight:           0", Duration::from_secs(20));
    assert!(stats.contains("Rejected by server:  0"), "{stats}");
    let confirmed = counter(&stats, "Confirmed:");
    assert!(confirmed >= 100, "{stats}");
    let stored = sub.stream_info("AMI")["state"]["messages"].as_u64();
    assert_eq!(stored, Some(confirmed), "every acknowledged event is in the stream");
}

#[test]
fn a_wrong_creds_file_is_refused_by_the_server_and_nothing_is_published() {
    let op = Operator::new();
    let server = NatsServer::start(&op.server_config());
    let mut sub = creds_subscriber(&server, &op);
    let dir = common::temp_dir("creds-bad");
    let stranger = Key::generate(KeyKind::Account);
    let good = User::new(&op.account, "pbx1");
    for (name, text) in [
        // A user JWT signed by an account the server does not know.
        ("unknown-account.creds", User::new(&stranger, "pbx1").creds()),
        // A valid user JWT with another user's seed: the nonce signature does not match.
        ("other-seed.creds", creds(&good.jwt, &User::new(&op.account, "other").seed())),
    ] {
        let (s, port) = start(&creds_conf(&server, &dir, name, &text));
        let out = wait_nats(&s, "Authorization Violation", Duration::from_secs(10));
        assert!(out.contains("not connected"), "{name}: {out}");
        // The module stays up: WebSocket clients get every event.
        let mut ws = login_as(port, "admin", "adminpw");
        burst(&s, 20);
        for i in 0..20 {
            let v = ws.wait_for(Duration::from_secs(10), |v| field(v, "UserEvent") == "Burst");
            assert!(v.is_some(), "{name}: WebSocket client got {i} of 20");
        }
        let stats = s.rx("ws show nats");
        assert_eq!(counter(&stats, "Published:"), 0, "{name}: {stats}");
        assert!(stats.contains("Authorization Violation"), "{name}: {stats}");
    }
    assert!(sub.next_msg(Duration::from_secs(1)).is_none(), "an event reached the server");
}
