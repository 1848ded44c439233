//! The panel's views in a real browser without a PBX: the page the module serves, mounted on a
//! stand-in client and store with the contract's shapes (web/bench/fake.js), checked for what
//! they show (calls, hold lamps, BLF lamps, queue members and callers, parked calls, hidden
//! buttons) at desktop and 360 px widths. Screenshots go to target/screenshots/.

mod common;

use std::time::Duration;

use common::browser::{Browser, chromium_or_skip, screenshot_path};
use common::{Opts, StandIn};
use serde_json::Value;

const FAKE: &str = include_str!("../web/bench/fake.js");

/// Opens the served page and mounts the panel on the fake world; returns the browser.
fn mounted(s: &StandIn, bin: &str, width: u32, height: u32, js_setup: &str) -> Browser {
    let port = s.ws_port().unwrap();
    let mut b = Browser::launch(bin, &format!("http://127.0.0.1:{port}/"), width, height);
    assert!(
        b.wait_true("document.readyState === 'complete'", Duration::from_secs(20)),
        "page did not load"
    );
    b.eval(FAKE);
    b.eval(&format!(
        "(async () => {{ const {{ mountApp }} = await import('/panel-app.js');\
         const F = globalThis.PanelFake; const pbx = F.world(3); const client = new F.FakeClient();\
         {js_setup}\
         globalThis.fake = {{ pbx, client, app: mountApp(document, {{ client, pbx, username: 'demo' }}) }};\
         return true; }})()"
    ));
    b
}

fn count(b: &mut Browser, selector: &str) -> i64 {
    b.eval(&format!("document.querySelectorAll({selector:?}).length")).as_i64().unwrap()
}

#[test]
fn the_panel_shows_the_world_and_follows_changes() {
    let Some(bin) = chromium_or_skip() else { return };
    let s = StandIn::start(&[], Opts::default());
    let mut b = mounted(&s, &bin, 1366, 900, "");
    // Three calls: one talking, one on hold (its lamp lit), one ringing.
    assert_eq!(count(&mut b, "#calls-body .call"), 3);
    assert_eq!(count(&mut b, "#calls-body .hold-lamp.on"), 1);
    let badges = b.eval(
        "[...document.querySelectorAll('#calls-body .badge')].map(e => e.textContent).join(',')",
    );
    assert_eq!(badges, Value::from("Talking,On hold,Ringing"));
    assert_eq!(count(&mut b, "#calls-body button[data-action=hangup]"), 3);
    // Ten BLF tiles, lamps by state; queue members with one paused; two callers waiting; one parked.
    assert_eq!(count(&mut b, "#ext-body .blf"), 10);
    assert_eq!(count(&mut b, "#ext-body .blf[data-tone=busy]"), 2);
    assert_eq!(count(&mut b, "#ext-body .blf[data-tone=ring]"), 1);
    assert_eq!(count(&mut b, "#queues-body .member"), 4);
    assert_eq!(count(&mut b, "#queues-body .member[data-tone=paused]"), 1);
    assert_eq!(count(&mut b, "#queues-body .entry"), 2);
    assert_eq!(count(&mut b, "#parking-body .slot"), 1);
    assert_eq!(b.eval("document.getElementById('count-calls').textContent"), Value::from("3"));
    b.screenshot(&screenshot_path("panel-render-desktop"), false);

    // A store change re-renders: hold goes off, a call ends, the durations tick.
    let dur0 = b.eval("document.querySelector('#calls-body .call .dur').textContent");
    b.eval(
        "const p = fake.pbx; const held = [...p.channels.values()].find(c => c.onHold);\
         held.onHold = false; p.change('channel', held.uniqueid, held);\
         const ringing = [...p.channels.values()].find(c => c.stateDesc === 'Ringing');\
         p.channels.delete(ringing.uniqueid); p.change('channel', ringing.uniqueid, null); true",
    );
    assert!(
        b.wait_true(
            "document.querySelectorAll('#calls-body .call').length === 2 && \
             document.querySelectorAll('#calls-body .hold-lamp.on').length === 0",
            Duration::from_secs(5)
        ),
        "changes not rendered"
    );
    std::thread::sleep(Duration::from_millis(1100));
    let dur1 = b.eval("document.querySelector('#calls-body .call .dur').textContent");
    assert_ne!(dur0, dur1, "duration does not tick");

    // Clicking hang-up sends a Hangup for that call's first channel.
    b.eval("document.querySelector('#calls-body button[data-action=hangup]').click(); true");
    let sent = b.eval("JSON.stringify(fake.client.sent)");
    let sent = sent.as_str().unwrap();
    assert!(
        sent.contains(r#""Action":"Hangup""#) && sent.contains(r#""Channel":"PJSIP/100-"#),
        "{sent}"
    );

    // The event log tab shows events, filters and pauses.
    b.eval(
        "document.getElementById('tabbtn-log').click();\
         for (const e of ['Newchannel', 'Hangup', 'Hold']) fake.client.emit('*', {Event: e, Channel: 'PJSIP/100-1', WsSeq: '7'});\
         true",
    );
    assert!(
        b.wait_true("document.querySelectorAll('.log-row').length === 3", Duration::from_secs(5))
    );
    b.eval("const f = document.querySelector('.log-filter'); f.value = 'hangup'; f.dispatchEvent(new Event('input')); true");
    assert_eq!(count(&mut b, ".log-row"), 1);
    b.screenshot(&screenshot_path("panel-render-log"), false);
    // Paused: new events are counted but not drawn until resumed.
    b.eval("document.querySelector('.log-tools .btn').click(); fake.client.emit('*', {Event: 'Hangup', WsSeq: '8'}); true");
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(count(&mut b, ".log-row"), 1);
    b.eval("document.querySelector('.log-tools .btn').click(); true");
    assert!(
        b.wait_true("document.querySelectorAll('.log-row').length === 2", Duration::from_secs(5))
    );
}

#[test]
fn a_user_without_call_rights_sees_no_call_buttons_and_360px_fits() {
    let Some(bin) = chromium_or_skip() else { return };
    let s = StandIn::start(&[], Opts::default());
    let mut b = mounted(
        &s,
        &bin,
        360,
        780,
        "for (const a of ['Hangup', 'Originate', 'BlindTransfer', 'Park', 'QueuePause']) pbx.denied.add(a);",
    );
    assert_eq!(count(&mut b, "#calls-body .call"), 3);
    for sel in [
        "[data-action=hangup]",
        "[data-action=transfer]",
        "[data-action=park]",
        "[data-action=call]",
        "[data-action=pause]",
        "[data-action=unpause]",
        "[data-action=pickup]",
    ] {
        assert_eq!(count(&mut b, sel), 0, "{sel} shown to a user who may not use it");
    }
    assert_eq!(b.eval("document.getElementById('dial').hidden"), Value::Bool(true));
    // Nothing wider than the 360 px screen.
    let wide = b.eval("document.documentElement.scrollWidth");
    assert!(wide.as_i64().unwrap() <= 360, "page is {wide} px wide at 360");
    b.screenshot(&screenshot_path("panel-render-360-viewer"), true);
}
