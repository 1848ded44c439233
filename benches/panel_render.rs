//! The operator panel rendering live calls in headless Chromium: the page the module serves in
//! the stand-in, mounted on a store with the contract's shapes (web/bench/fake.js) holding 20 and
//! 200 two-party calls. Measured per update (store change -> DOM updated and laid out, i.e. JS +
//! style + layout, not paint), side by side for 20 and 200 calls and against a 60 Hz frame.
//! `cargo bench --bench panel_render` (needs `chromium`). Prints a table.

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports)]
mod common;

use common::browser::{Browser, chromium};
use common::{Opts, StandIn};
use serde_json::Value;

const FAKE: &str = include_str!("../web/bench/fake.js");
const ROUNDS: u32 = 300;

/// Runs the measurements for `calls` live calls; returns [initial, one change, churn, burst] ms
/// (medians, with p95 for the per-update cases).
fn measure(b: &mut Browser, calls: u32) -> Value {
    b.eval("document.body.classList.remove('logged-in'); globalThis.fake?.app.destroy(); true");
    b.eval(&format!(
        r#"(async () => {{
  const {{ mountApp }} = await import('/panel-app.js');
  const F = globalThis.PanelFake;
  const pbx = F.world({calls}); const client = new F.FakeClient();
  const layout = () => document.body.getBoundingClientRect().height;
  let t = performance.now();
  const app = mountApp(document, {{ client, pbx, username: 'bench' }});
  layout();
  const initial = performance.now() - t;
  globalThis.fake = {{ pbx, client, app }};
  const chans = [...pbx.channels.values()];
  const stats = (xs) => {{ xs.sort((a, b) => a - b); return {{ median: xs[xs.length >> 1], p95: xs[Math.floor(xs.length * 0.95)] }}; }};
  let seed = 7; const rnd = (n) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
  // One channel goes on or off hold per update.
  const one = [];
  for (let i = 0; i < {ROUNDS}; i++) {{
    const c = chans[rnd(chans.length)]; c.onHold = !c.onHold;
    t = performance.now(); pbx.change('channel', c.uniqueid, c); app.flush(); layout(); one.push(performance.now() - t);
  }}
  // Churn: the oldest call hangs up and a new one starts, per update.
  const churn = [];
  for (let i = 0; i < {ROUNDS} / 3; i++) {{
    const [first] = pbx.channels.values();
    t = performance.now();
    for (const c of [...pbx.channels.values()].filter((c) => c.linkedid === first.linkedid)) {{ pbx.channels.delete(c.uniqueid); pbx.change('channel', c.uniqueid, null); }}
    const [a, b2] = F.addCall(pbx, String(5000 + i), String(6000 + i), 0);
    pbx.change('channel', a, pbx.channels.get(a)); pbx.change('channel', b2, pbx.channels.get(b2));
    app.flush(); layout(); churn.push(performance.now() - t);
  }}
  // Burst: every channel changes, one render.
  const burst = [];
  for (let i = 0; i < 20; i++) {{
    t = performance.now();
    for (const c of pbx.channels.values()) {{ c.onHold = !c.onHold; pbx.change('channel', c.uniqueid, c); }}
    app.flush(); layout(); burst.push(performance.now() - t);
  }}
  const shown = document.querySelectorAll('#calls-body .call').length;
  return {{ initial, one: stats(one), churn: stats(churn), burst: stats(burst), shown }};
}})()"#
    ))
}

fn main() {
    let Some(bin) = chromium() else {
        eprintln!("panel_render: no chromium found (apt-get install chromium); nothing measured");
        return;
    };
    let s = StandIn::start(&[], Opts::default());
    let port = s.ws_port().unwrap();
    let mut b = Browser::launch(&bin, &format!("http://127.0.0.1:{port}/"), 1366, 900);
    assert!(b.wait_true("document.readyState === 'complete'", std::time::Duration::from_secs(20)));
    b.eval(FAKE);
    measure(&mut b, 20); // warm-up: JIT and style caches
    let small = measure(&mut b, 20);
    let big = measure(&mut b, 200);
    assert_eq!(big["shown"], Value::from(200), "the panel did not show 200 calls");
    let ms = |v: &Value, k: &str, q: &str| {
        if q.is_empty() { v[k].as_f64().unwrap() } else { v[k][q].as_f64().unwrap() }
    };
    println!(
        "panel_render: Chromium headless, 1366x900, {ROUNDS} updates per case; ms = JS + style + layout"
    );
    println!(
        "{:<44} {:>10} {:>10} {:>8} {:>13}",
        "case", "20 calls", "200 calls", "ratio", "200: % frame"
    );
    for (label, k, q) in [
        ("first render (mount)", "initial", ""),
        ("one channel holds/unholds, median", "one", "median"),
        ("one channel holds/unholds, p95", "one", "p95"),
        ("a call ends + a call starts, median", "churn", "median"),
        ("a call ends + a call starts, p95", "churn", "p95"),
        ("every channel changes at once, median", "burst", "median"),
    ] {
        let (a, c) = (ms(&small, k, q), ms(&big, k, q));
        println!(
            "{label:<44} {a:>8.2}ms {c:>8.2}ms {:>7.1}x {:>12.0}%",
            c / a.max(0.001),
            c / (1000.0 / 60.0) * 100.0
        );
    }
}
