//! Opt-in (AMI_WS_ASTERISK): the module's life in a real Asterisk beyond plain load/unload:
//! unload refused while an action still runs (and accepted once it ended), reloads (new port,
//! invalid files, disable and enable, new manager.conf accounts), the CLI (`ws show clients`,
//! `ws kick`), and a graceful shutdown with a client connected.

mod common;
mod real_asterisk_pbx;

use std::time::{Duration, Instant};

use common::ws::{self, WsClient};
use real_asterisk_pbx::{NAME, Pbx, Setup, prefix_or_skip};

const T: Duration = Duration::from_secs(10);
const USERS: &str = "[admin]\nsecret = adminpw\nread = all\nwrite = all\n";
const EXTENSIONS: &str = "[amiws]\nexten => wait,1,Wait(60)\n";
const PRELOAD: &[&str] = &["pbx_config.so"];

fn start(prefix: &std::path::Path) -> Pbx {
    let setup = Setup { users: USERS, files: &[("extensions.conf", EXTENSIONS)], preload: PRELOAD };
    let pbx = Pbx::start(prefix, &setup);
    pbx.load_module();
    pbx
}

fn login(port: u16, user: &str, secret: &str) -> WsClient {
    let mut c = ws::connect(port);
    let r = c.login(user, secret);
    assert_eq!(ws::field(&r, "Message"), "Authentication accepted", "{r}");
    c
}

fn ping(c: &mut WsClient) -> bool {
    let id = c.send_action(&[("Action", "Ping")]);
    c.response(&id, T).is_some_and(|r| ws::field(&r, "Ping") == "Pong")
}

fn assert_no_unload_leak(pbx: &Pbx) {
    let log = pbx.log();
    assert!(!log.contains("could not be completely unloaded"), "{log}");
    assert!(!log.contains("did not register itself"), "{log}");
}

/// A synchronous Originate keeps an action thread inside Asterisk for its whole Timeout; unload
/// meanwhile must refuse after its 10 s limit (never unmap running code), leave Asterisk
/// healthy, and succeed once the action returned.
#[test]
fn unload_waits_for_a_running_action_then_refuses_and_later_succeeds() {
    let Some(prefix) = prefix_or_skip("unload_waits_for_a_running_action") else { return };
    let mut pbx = start(&prefix);
    let mut c = login(pbx.ws_port, "admin", "adminpw");
    let started = Instant::now();
    c.send_action(&[
        ("Action", "Originate"),
        ("Channel", "Local/wait@amiws"),
        ("Application", "Wait"),
        ("Data", "1"),
        ("Timeout", "16000"),
    ]);
    std::thread::sleep(Duration::from_millis(500));
    let out = pbx.rx(&format!("module unload {NAME}"));
    let took = started.elapsed();
    println!("unload during the action ({took:?}): {}", out.trim());
    assert!(out.contains("Unable to unload"), "unload should be refused: {out}");
    assert!(took >= Duration::from_secs(10), "gave up before its limit: {took:?}");
    assert!(pbx.rx("module show like res_ami_websocket").contains("Running"));
    assert!(pbx.wait_log("cannot unload yet", T), "{}", pbx.log());
    pbx.assert_alive("a refused unload");
    // The Originate times out 16 s after it started; then unload goes through.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = pbx.rx(&format!("module unload {NAME}"));
        if out.contains(&format!("Unloaded {NAME}")) {
            break;
        }
        assert!(Instant::now() < deadline, "unload never succeeded: {out}\n{}", pbx.log());
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(!pbx.module_mapped(), "{NAME} still mapped after the unload");
    pbx.load_module();
    let mut c = login(pbx.ws_port, "admin", "adminpw");
    assert!(ping(&mut c));
    assert_no_unload_leak(&pbx);
    println!("module log lines:\n{}", pbx.module_log_lines());
}

/// `module reload`: a new port, an invalid value and a syntax error (old configuration kept),
/// enabled = no then yes, and a manager.conf account added while loaded.
#[test]
fn reloads_apply_or_keep_the_configuration() {
    let Some(prefix) = prefix_or_skip("reloads_apply_or_keep_the_configuration") else { return };
    let mut pbx = start(&prefix);
    let reload = |pbx: &Pbx| pbx.rx(&format!("module reload {NAME}"));
    let conf = |port: u16| format!("[general]\nbindaddr = 127.0.0.1\nbindport = {port}\n");

    let new_port = common::free_port();
    pbx.write_config("ami_websocket.conf", &conf(new_port));
    pbx.write_config(
        "manager.conf",
        &format!(
            "[general]\nenabled = yes\nbindaddr = 127.0.0.1\nport = {}\n\n{USERS}\n\
             [second]\nsecret = secondpw\nread = user\nwrite = user\n",
            pbx.ami_port
        ),
    );
    let out = reload(&pbx);
    assert!(out.contains("reloaded successfully"), "{out}");
    let deadline = Instant::now() + T;
    let mut c = loop {
        if let Ok(mut c) = ws::try_connect(new_port, None, None) {
            let r = c.login("second", "secondpw");
            assert_eq!(ws::field(&r, "Message"), "Authentication accepted", "{r}");
            break c;
        }
        assert!(Instant::now() < deadline, "new port {new_port} never listened");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(ping(&mut c));
    assert!(ws::try_connect(pbx.ws_port, None, None).is_err(), "old port still listening");

    pbx.write_config("ami_websocket.conf", "[general]\nbindport = notaport\n");
    assert!(reload(&pbx).contains("reload failure"));
    pbx.write_config("ami_websocket.conf", "[general\nbroken");
    assert!(reload(&pbx).contains("reload failure"));
    assert!(ping(&mut c), "the running configuration was not kept");
    assert!(pbx.wait_log("old configuration kept: ami_websocket.conf has a syntax error", T));

    pbx.write_config("ami_websocket.conf", "[general]\nenabled = no\n");
    assert!(reload(&pbx).contains("reloaded successfully"));
    assert_eq!(c.close_code(T), Some(1001), "close when disabled");
    assert!(pbx.rx("ws show status").contains("not running"));
    pbx.write_config("ami_websocket.conf", &conf(new_port));
    assert!(reload(&pbx).contains("reloaded successfully"));
    let mut c = login(new_port, "admin", "adminpw");
    assert!(ping(&mut c));
    pbx.assert_alive("the reloads");
    println!("module log lines:\n{}", pbx.module_log_lines());
}

/// `ws show clients` lists a logged-in client; `ws kick <id>` closes it with 4002; an unknown id
/// is an error. Then `core stop gracefully` with a client connected: Asterisk unloads the
/// module (client closed with 1001) and exits with status 0.
#[test]
fn cli_kick_and_graceful_shutdown_with_a_client() {
    let Some(prefix) = prefix_or_skip("cli_kick_and_graceful_shutdown_with_a_client") else {
        return;
    };
    let mut pbx = start(&prefix);
    let mut c = login(pbx.ws_port, "admin", "adminpw");
    let clients = pbx.rx("ws show clients");
    println!("{clients}");
    let id = clients
        .lines()
        .find(|l| l.contains(" admin "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no admin row in: {clients}"))
        .to_string();
    assert!(pbx.rx("ws kick 999999").contains("No client with id"));
    let out = pbx.rx(&format!("ws kick {id}"));
    println!("ws kick {id}: {}", out.trim());
    assert_eq!(c.close_code(T), Some(4002), "kick close code");
    assert!(pbx.rx("ws show clients").contains("0 client(s)"));

    let mut c = login(pbx.ws_port, "admin", "adminpw");
    assert!(ping(&mut c));
    let _ = pbx.rx("core stop gracefully");
    assert_eq!(c.close_code(T), Some(1001), "close code at shutdown");
    let status = pbx.wait_exit(Duration::from_secs(30)).expect("Asterisk did not exit");
    let log = pbx.log();
    println!("exit status {status:?}; module log lines:\n{}", pbx.module_log_lines());
    assert!(status.success(), "exit {status:?}\n{log}");
    assert!(!log.contains("Some modules could not be unloaded"), "{log}");
}
