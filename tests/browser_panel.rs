//! The operator panel end to end: headless Chromium opens the panel the module serves in the
//! stand-in core, logs in through the form (MD5 challenge), and follows simulated calls driven
//! with the stand-in's `standin ...` commands: a call appears, goes on hold and off, ends; a
//! click on hang-up ends a call; a connection kicked mid-call resumes to the same state as a
//! fresh login; a user without the `call` write class sees no hang-up button.
//! Screenshots go to target/screenshots/. Skipped with a message when Chromium is missing.

mod common;

use std::time::Duration;

use common::browser::{Browser, chromium_or_skip, screenshot_path};
use common::{Opts, StandIn};
use serde_json::Value;

/// The demo's two users (see demo/manager.conf): all rights, and read-only for calls.
const MANAGER_CONF: &str = "[general]\nenabled = yes\nbindaddr = 127.0.0.1\ntimestampevents = yes\n\n\
[demo]\nsecret = demo\nread = all\nwrite = all\n\n\
[viewer]\nsecret = viewer\nread = all\nwrite = reporting\n";

const WAIT: Duration = Duration::from_secs(15);

fn start() -> StandIn {
    start_with("")
}

/// The stand-in with the demo users and more `[general]` lines for ami_websocket.conf.
fn start_with(module_conf: &str) -> StandIn {
    let port = common::free_port();
    let conf = format!("{}{module_conf}", common::default_module_conf(port));
    let s = StandIn::start(
        &[("manager.conf", MANAGER_CONF), ("ami_websocket.conf", &conf)],
        Opts::default(),
    );
    PORT.with(|p| p.set(port));
    s
}

thread_local! {
    /// The listener port of the stand-in this test thread started.
    static PORT: std::cell::Cell<u16> = const { std::cell::Cell::new(0) };
}

/// Opens the panel in a fresh browser and logs in through the form (MD5 challenge).
fn open_and_login(s: &StandIn, bin: &str, user: &str, width: u32, height: u32) -> Browser {
    open_and_login_with(s, bin, user, "md5", width, height)
}

/// The same with the given login (`md5` or `plain`).
fn open_and_login_with(
    _s: &StandIn,
    bin: &str,
    user: &str,
    auth: &str,
    width: u32,
    height: u32,
) -> Browser {
    let port = PORT.with(|p| p.get());
    let mut b = Browser::launch(bin, &format!("http://127.0.0.1:{port}/"), width, height);
    assert!(
        b.wait_true(
            "document.readyState === 'complete' && !!document.getElementById('login')",
            Duration::from_secs(20)
        ),
        "page did not load"
    );
    b.eval(&format!(
        "document.getElementById('user').value = {user:?};\
         document.getElementById('secret').value = {user:?};\
         document.getElementById('auth').value = {auth:?};\
         document.getElementById('login').requestSubmit(); true"
    ));
    assert!(
        b.wait_true("document.body.classList.contains('logged-in') && !!window.amiPanel", WAIT),
        "login as {user} failed: {}",
        b.eval("document.querySelector('.login-error').textContent")
    );
    b
}

/// `standin call A B` -> (caller uniqueid, callee uniqueid).
fn call(s: &StandIn, from: &str, to: &str) -> (String, String) {
    let out = s.rx(&format!("standin call {from} {to}"));
    let words: Vec<&str> = out.split_whitespace().collect();
    assert!(words.len() >= 3 && words[0] == "call", "standin call answered: {out}");
    (words[1].to_string(), words[2].to_string())
}

fn party(uid: &str) -> String {
    format!("document.querySelector('#calls-body .party[data-uniqueid=\"{uid}\"]')")
}

fn wait(b: &mut Browser, js: &str, what: &str) {
    assert!(b.wait_true(js, WAIT), "{what}; calls shown: {}", b.eval(
        "[...document.querySelectorAll('#calls-body .call')].map(c => c.textContent).join(' | ')"
    ));
}

fn ok(s: &StandIn, cmd: &str) {
    let out = s.rx(cmd);
    assert!(!out.starts_with("error"), "{cmd}: {out}");
}

/// Kicks the connection of `user` (`ws kick` with its id from `ws show clients`).
fn kick_user(s: &StandIn, user: &str) {
    let clients = s.rx("ws show clients");
    let id = clients
        .lines()
        .find(|l| l.split_whitespace().nth(2) == Some(user))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no {user} client in: {clients}"))
        .to_string();
    ok(s, &format!("ws kick {id}"));
}

#[test]
fn a_call_appears_goes_on_hold_and_off_and_ends() {
    let Some(bin) = chromium_or_skip() else { return };
    let s = start();
    let mut b = open_and_login(&s, &bin, "demo", 1366, 900);
    assert_eq!(b.eval("document.getElementById('conn').dataset.state"), Value::from("open"));
    let (a, c) = call(&s, "100", "101");
    wait(&mut b, &format!("!!{} && !!{}", party(&a), party(&c)), "the call did not show");
    wait(
        &mut b,
        &format!(
            "{}.closest('.call').querySelector('.badge').textContent === 'Talking'",
            party(&a)
        ),
        "the call is not shown as talking",
    );
    b.screenshot(&screenshot_path("panel-call"), false);
    ok(&s, &format!("standin hold {c}"));
    wait(
        &mut b,
        &format!("{}.querySelector('.hold-lamp').classList.contains('on')", party(&c)),
        "hold lamp not on",
    );
    assert_eq!(
        b.eval(&format!("{}.querySelector('.hold-lamp').classList.contains('on')", party(&a))),
        Value::Bool(false),
        "only the held party's lamp is lit"
    );
    b.screenshot(&screenshot_path("panel-call-on-hold"), false);
    ok(&s, &format!("standin unhold {c}"));
    wait(
        &mut b,
        &format!("!{}.querySelector('.hold-lamp').classList.contains('on')", party(&c)),
        "hold lamp not off",
    );
    ok(&s, &format!("standin hangup {a}"));
    wait(&mut b, &format!("!{} && !{}", party(&a), party(&c)), "the call did not end");
    b.screenshot(&screenshot_path("panel-call-ended"), false);
}

#[test]
fn a_click_on_hang_up_ends_the_call() {
    let Some(bin) = chromium_or_skip() else { return };
    let s = start();
    let mut b = open_and_login(&s, &bin, "demo", 1366, 900);
    let (a, c) = call(&s, "102", "103");
    wait(&mut b, &format!("!!{}", party(&a)), "the call did not show");
    b.eval(&format!(
        "{}.closest('.call').querySelector('button[data-action=hangup]').click(); true",
        party(&a)
    ));
    wait(&mut b, &format!("!{} && !{}", party(&a), party(&c)), "hang-up did not end the call");
    let world = s.rx("standin show world");
    assert!(!world.contains(&a) && !world.contains(&c), "the core still has the call: {world}");
}

#[test]
fn a_kicked_connection_resumes_to_the_same_state_as_a_fresh_login() {
    let Some(bin) = chromium_or_skip() else { return };
    let s = start();
    let mut b = open_and_login(&s, &bin, "demo", 1366, 900);
    let (a, c) = call(&s, "104", "105");
    wait(&mut b, &format!("!!{}", party(&a)), "the call did not show");
    ok(&s, &format!("standin hold {c}"));
    wait(
        &mut b,
        &format!("{}.querySelector('.hold-lamp').classList.contains('on')", party(&c)),
        "hold lamp not on",
    );
    // Kick the page's connection, and change the world while it is away.
    kick_user(&s, "demo");
    ok(&s, &format!("standin unhold {c}"));
    let (a2, _) = call(&s, "106", "107");
    wait(
        &mut b,
        "document.getElementById('conn').dataset.state === 'open' && window.amiPanel.client.state === 'open'",
        "the page did not reconnect",
    );
    wait(
        &mut b,
        &format!(
            "!!{} && !{}.querySelector('.hold-lamp').classList.contains('on')",
            party(&a2),
            party(&c)
        ),
        "the resumed page missed what happened while it was away",
    );
    b.screenshot(&screenshot_path("panel-resumed"), false);
    // A fresh page logged in now must hold exactly the same state.
    let mut fresh = open_and_login(&s, &bin, "demo", 1366, 900);
    let state = "JSON.stringify(window.amiPanel.pbx.toJSON())";
    let mut same = false;
    let (mut left, mut right) = (Value::Null, Value::Null);
    for _ in 0..50 {
        left = b.eval(state);
        right = fresh.eval(state);
        if left == right {
            same = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(same, "resumed and fresh state differ:\nresumed {left}\nfresh   {right}");
    assert!(left.as_str().unwrap().contains(&a2), "the state has the new call: {left}");
}

#[test]
fn a_user_without_call_rights_sees_no_hang_up_button() {
    let Some(bin) = chromium_or_skip() else { return };
    let s = start();
    let mut b = open_and_login_with(&s, &bin, "viewer", "plain", 360, 780);
    let (a, _) = call(&s, "108", "109");
    wait(&mut b, &format!("!!{}", party(&a)), "the call did not show to the viewer");
    for sel in ["hangup", "transfer", "park", "call", "pause", "unpause"] {
        let n = b.eval(&format!("document.querySelectorAll('[data-action={sel}]').length"));
        assert_eq!(n, Value::from(0), "{sel} button shown to viewer");
    }
    assert_eq!(b.eval("window.amiPanel.pbx.can('Hangup')"), Value::Bool(false));
    let wide = b.eval("document.documentElement.scrollWidth").as_i64().unwrap();
    assert!(wide <= 360, "page is {wide} px wide at 360");
    b.screenshot(&screenshot_path("panel-viewer-360"), true);
}

/// Runs a JavaScript click on the first element matching `selector`; panics if there is none.
fn click(b: &mut Browser, selector: &str) {
    let js = format!(
        "(() => {{ const e = document.querySelector({selector:?}); if (!e) return false; e.click(); return true; }})()"
    );
    assert_eq!(b.eval(&js), Value::Bool(true), "nothing to click at {selector}");
}

fn answer_dialog(b: &mut Browser, value: &str) {
    wait(b, "document.getElementById('ask').open", "the dialog did not open");
    b.eval(&format!(
        "document.querySelector('#ask input').value = {value:?};\
         document.querySelector('#ask button[value=ok]').click(); true"
    ));
}

#[test]
fn queues_parking_and_the_actions_of_the_panel() {
    let Some(bin) = chromium_or_skip() else { return };
    let s = start();
    let mut b = open_and_login(&s, &bin, "demo", 1366, 900);
    // A busy moment: a call, a call on hold, two callers waiting in the queue, a parked call.
    let (talk_a, _) = call(&s, "100", "101");
    let (held_a, _) = call(&s, "102", "103");
    ok(&s, &format!("standin hold {held_a}"));
    ok(&s, "standin queue-call support 104");
    ok(&s, "standin queue-call support 105");
    let (park_a, _) = call(&s, "106", "107");
    ok(&s, &format!("standin park {park_a}"));
    wait(
        &mut b,
        &format!(
            "!!{} && {}.querySelector('.hold-lamp.on') !== null && \
             document.querySelectorAll('#queues-body .entry').length === 2 && \
             document.querySelectorAll('#parking-body .slot').length === 1",
            party(&talk_a),
            party(&held_a)
        ),
        "the busy moment is not shown",
    );
    let slot = b.eval("document.querySelector('#parking-body .slot').textContent");
    assert!(slot.as_str().unwrap().contains("106"), "parked call shows its caller: {slot}");
    b.screenshot(&screenshot_path("panel-desktop"), false);
    b.viewport(360, 780);
    b.screenshot(&screenshot_path("panel-360"), false);
    b.viewport(1366, 900);

    // Queue member pause and unpause from the panel.
    let member = "#queues-body .member[data-interface=\"PJSIP/102\"]";
    click(&mut b, &format!("{member} button[data-action=pause]"));
    wait(
        &mut b,
        &format!("document.querySelector('{member}').dataset.tone === 'paused'"),
        "pause not shown",
    );
    click(&mut b, &format!("{member} button[data-action=unpause]"));
    wait(
        &mut b,
        &format!("document.querySelector('{member}').dataset.tone !== 'paused'"),
        "unpause not shown",
    );

    // Blind transfer: 101 hands its caller 100 over to 108.
    click(&mut b, &format!(".call:has(.party[data-uniqueid=\"{talk_a}\"]) [data-action=transfer]"));
    answer_dialog(&mut b, "108");
    wait(
        &mut b,
        &format!(
            "{}.closest('.call').querySelector('.party[title^=\"PJSIP/108-\"]') !== null",
            party(&talk_a)
        ),
        "the transfer did not bring 108 into the call",
    );

    // Park from the panel: the held call's caller (102) goes to the lot.
    click(&mut b, &format!("[data-call] [data-action=park][data-uniqueid=\"{held_a}\"]"));
    wait(
        &mut b,
        "document.querySelectorAll('#parking-body .slot').length === 2",
        "the park did not show",
    );

    // Click-to-call: from 109, the tile of 104 (its queue call is waiting, so use 103 instead).
    b.eval("const f = document.getElementById('dial-from'); f.value = '109'; f.dispatchEvent(new Event('change')); true");
    click(&mut b, "#ext-body .blf[data-ext^=\"103@\"] button[data-action=call]");
    wait(
        &mut b,
        "[...document.querySelectorAll('#calls-body .call')].some(c => \
           c.querySelector('.party[title^=\"PJSIP/109-\"]') && c.querySelector('.party[title^=\"PJSIP/103-\"]'))",
        "click-to-call did not connect 109 and 103",
    );
    b.screenshot(&screenshot_path("panel-after-actions"), false);
}

#[test]
fn lost_events_are_said_and_the_panel_resyncs() {
    let Some(bin) = chromium_or_skip() else { return };
    // A ring of 16 events: a short absence under a burst cannot be resumed without loss.
    let s = start_with("ring_size = 16\n");
    let mut b = open_and_login(&s, &bin, "demo", 1366, 900);
    let (a, c) = call(&s, "100", "101");
    wait(&mut b, &format!("!!{}", party(&a)), "the call did not show");
    kick_user(&s, "demo");
    ok(&s, "traffic burst 200 100000");
    ok(&s, &format!("standin hangup {a}"));
    wait(
        &mut b,
        "/events were lost .*re-synced/.test(document.getElementById('banner').textContent)",
        "no notice of lost events and re-sync",
    );
    let notice = b.eval("document.getElementById('banner').textContent");
    wait(
        &mut b,
        &format!("!{} && !{}", party(&a), party(&c)),
        "the re-synced panel still shows the ended call",
    );
    b.screenshot(&screenshot_path("panel-lost-resynced"), false);
    eprintln!("notice: {notice}");
}

#[test]
fn a_wrong_secret_is_said_on_the_form_and_not_retried() {
    let Some(bin) = chromium_or_skip() else { return };
    let s = start();
    let port = PORT.with(|p| p.get());
    let mut b = Browser::launch(&bin, &format!("http://127.0.0.1:{port}/"), 1366, 900);
    assert!(b.wait_true("!!document.getElementById('login')", Duration::from_secs(20)));
    b.eval(
        "document.getElementById('user').value = 'demo';\
         document.getElementById('secret').value = 'wrong';\
         document.getElementById('login').requestSubmit(); true",
    );
    wait(
        &mut b,
        "document.querySelector('.login-error').textContent === 'Wrong user name or secret.'",
        "no error on the form",
    );
    assert_eq!(b.eval("document.body.classList.contains('logged-in')"), Value::Bool(false));
    // Bad credentials are final: no reconnect loop keeps logging in.
    std::thread::sleep(Duration::from_secs(2));
    let clients = s.rx("ws show clients");
    assert!(clients.contains("0 client(s)"), "the page keeps a connection: {clients}");
    b.screenshot(&screenshot_path("panel-login-refused"), false);
}
