//! Module lifecycle with clients connected: unload closes every client with 1001 and frees the
//! port, load brings the listener back; reload keeps clients (same port, a new port, or a
//! broken file that is refused with the reason logged) and re-reads manager.conf.

mod common;

use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use common::ws::{WsClient, field, login_as, try_connect};
use common::{DEFAULT_MANAGER_CONF, Opts, StandIn, default_module_conf, free_port};

const MODULE: &str = "res_ami_websocket.so";

fn start() -> (StandIn, u16) {
    let port = free_port();
    let conf = default_module_conf(port);
    let s = StandIn::start(&[("ami_websocket.conf", &conf)], Opts::default());
    (s, port)
}

fn write_conf(s: &StandIn, name: &str, text: &str) {
    std::fs::write(s.config_dir().join(name), text).expect("write config");
}

/// Raises a UserEvent named `name` through `raiser` and checks that every client in `watchers`
/// receives it.
fn everyone_sees(raiser: &mut WsClient, watchers: &mut [&mut WsClient], name: &str) {
    raiser.user_event(name, &[]);
    for (i, c) in watchers.iter_mut().enumerate() {
        let v = c.wait_for(Duration::from_secs(5), |v| field(v, "UserEvent") == name);
        assert!(v.is_some(), "client {i} did not receive {name}");
    }
}

fn refused(port: u16) -> bool {
    matches!(
        TcpStream::connect(("127.0.0.1", port)),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused
    )
}

#[test]
fn unload_closes_clients_with_1001_and_frees_the_port() {
    let (s, port) = start();
    let mut clients: Vec<WsClient> = (0..3).map(|_| login_as(port, "admin", "adminpw")).collect();
    let mut text = try_connect(port, Some("ami-text"), None).expect("ami-text client");
    text.send_text("Action: Login\r\nUsername: admin\r\nSecret: adminpw\r\n\r\n");
    let half_open = std::net::TcpStream::connect(("127.0.0.1", port)).expect("raw connect");
    // Events are flowing while the module goes.
    assert!(s.rx("traffic burst 4000 2000").contains("burst started"));
    let v = clients[0].wait_for(Duration::from_secs(5), |v| field(v, "UserEvent") == "Burst");
    assert!(v.is_some(), "no burst event before the unload");
    let t = std::time::Instant::now();
    let out = s.rx(&format!("module unload {MODULE}"));
    assert!(out.contains(&format!("Unloaded {MODULE}")), "{out}");
    assert!(t.elapsed() < Duration::from_secs(10), "unload took {:?}", t.elapsed());
    for (i, c) in clients.iter_mut().chain(std::iter::once(&mut text)).enumerate() {
        assert_eq!(c.close_code(Duration::from_secs(5)), Some(1001), "client {i}");
    }
    drop(half_open);
    // The port is free again: we can bind it ourselves.
    let l = TcpListener::bind(("127.0.0.1", port)).expect("the port is still held after unload");
    drop(l);
    assert!(s.rx("module show like res_ami_websocket").contains("0 modules loaded"));

    let out = s.rx(&format!("module load {MODULE}"));
    assert!(out.contains(&format!("Loaded {MODULE}")), "{out}");
    let mut a = login_as(port, "admin", "adminpw");
    let mut b = login_as(port, "admin", "adminpw");
    everyone_sees(&mut a, &mut [&mut b], "AfterLoad");
}

#[test]
fn reload_keeps_clients_on_the_same_port_and_rereads_accounts() {
    let (s, port) = start();
    let mut a = login_as(port, "admin", "adminpw");
    let mut b = login_as(port, "admin", "adminpw");
    assert!(try_connect(port, None, None).is_ok());
    // A new account appears with the reload.
    let manager = format!("{DEFAULT_MANAGER_CONF}\n[late]\nsecret = latepw\nread = user\n");
    write_conf(&s, "manager.conf", &manager);
    let out = s.rx(&format!("module reload {MODULE}"));
    assert!(out.contains("reloaded successfully"), "{out}");
    everyone_sees(&mut a, &mut [&mut b], "AfterReload");
    let mut late = login_as(port, "late", "latepw");
    everyone_sees(&mut a, &mut [&mut b, &mut late], "Again");
}

#[test]
fn reload_with_a_new_port_moves_the_listener_and_keeps_clients() {
    let (s, port) = start();
    let mut a = login_as(port, "admin", "adminpw");
    let mut b = login_as(port, "admin", "adminpw");
    let new_port = free_port();
    write_conf(&s, "ami_websocket.conf", &default_module_conf(new_port));
    let out = s.rx(&format!("module reload {MODULE}"));
    assert!(out.contains("reloaded successfully"), "{out}");
    s.expect_log(&format!("now listening on 127.0.0.1:{new_port}"));
    let mut c = login_as(new_port, "admin", "adminpw");
    assert!(refused(port), "the old port still accepts");
    everyone_sees(&mut c, &mut [&mut a, &mut b], "AfterMove");
    assert!(s.rx("ws show status").contains(&format!("127.0.0.1:{new_port}")));
}

#[test]
fn reload_with_a_broken_config_keeps_the_old_one() {
    let (s, port) = start();
    let mut a = login_as(port, "admin", "adminpw");
    let mut b = login_as(port, "admin", "adminpw");
    write_conf(&s, "ami_websocket.conf", "[general]\nbindaddr = 127.0.0.1\nbindport = 99999\n");
    let out = s.rx(&format!("module reload {MODULE}"));
    assert!(out.contains("reported a reload failure"), "{out}");
    s.expect_log("bindport = 99999");
    let line =
        s.log().lines().find(|l| l.contains("bindport = 99999")).unwrap_or_default().to_string();
    assert!(line.contains("old configuration kept"), "{line}");
    // Old listener, old clients, and new logins all still work.
    let mut c = login_as(port, "admin", "adminpw");
    everyone_sees(&mut c, &mut [&mut a, &mut b], "AfterBrokenReload");
    // A port already taken is refused the same way.
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_port = taken.local_addr().unwrap().port();
    write_conf(&s, "ami_websocket.conf", &default_module_conf(taken_port));
    let out = s.rx(&format!("module reload {MODULE}"));
    assert!(!out.contains("reloaded successfully"), "{out}");
    s.expect_log(&format!("cannot listen on 127.0.0.1:{taken_port}"));
    everyone_sees(&mut c, &mut [&mut a, &mut b], "AfterTakenPort");
    assert!(login_as(port, "admin", "adminpw").ws.can_write());
}
