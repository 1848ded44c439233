//! Operations on the simulated world (a call between extensions, answer, hold, blind transfer,
//! queue, park, hangup), each raising the manager events a real Asterisk 22 raises for it, in
//! its order (see tests/fixtures/SHAPES.md for the source of every shape and order). One
//! operation runs at a time; its events are raised after the world lock is released.
#![forbid(unsafe_code)]

use std::cell::Cell;
use std::sync::Mutex;
use std::time::Instant;

use crate::devices::{self, CONTEXT};
use crate::events::{Out, cause_text, pair};
use crate::hook::{AGENT, CALL};
use crate::parking::{self, Parked};
use crate::queues::{self, Queue};
use crate::world::{self, Bridge, BridgeKind, Channel, World};

/// An operation's result; errors are one line for the CLI.
pub type R<T> = Result<T, String>;

static OPS: Mutex<()> = Mutex::new(());
thread_local! {
    static IN_OP: Cell<bool> = const { Cell::new(false) };
}

/// Runs one operation: world locked for `f`, then its events raised, one operation at a time
/// (re-entered on this thread, e.g. from an action a hook helper runs, it runs inside).
pub fn op<T>(f: impl FnOnce(&mut World, &mut Out) -> R<T>) -> R<T> {
    let nested = IN_OP.with(|c| c.replace(true));
    let guard = if nested { None } else { Some(OPS.lock().unwrap_or_else(|e| e.into_inner())) };
    let mut out = Out::default();
    let r = world::with(|w| {
        seed(w);
        f(w, &mut out)
    });
    out.fire();
    drop(guard);
    IN_OP.with(|c| c.set(nested));
    r
}

/// Sets up the demo world once: hints and devices of 100..109, queue `support`.
pub fn seed(w: &mut World) {
    if w.seeded {
        return;
    }
    w.seeded = true;
    devices::seed(w);
    let q = Queue::demo();
    w.queues.insert(q.name.clone(), q);
}

fn demo_exten(exten: &str) -> R<()> {
    match exten.parse::<u32>() {
        Ok(n) if devices::EXTENSIONS.contains(&n) => Ok(()),
        _ => Err(format!("error: no such extension {exten} (the demo has 100-109)")),
    }
}

fn chan<'a>(w: &'a World, uid: &str) -> R<&'a Channel> {
    w.find(uid).ok_or_else(|| format!("error: no such channel {uid}"))
}

/// Refuses channels driven by a scripted call (calls.rs): their worker owns their bridge.
fn unscripted(w: &World, uid: &str) -> R<()> {
    let mut all = vec![uid.to_string()];
    all.extend(w.bridge_peers(uid).iter().map(|p| p.uniqueid.clone()));
    match all.iter().filter_map(|u| w.by_uniqueid(u)).find(|c| c.call.is_some()) {
        Some(c) => Err(format!(
            "error: {} is run by a scripted call (Originate with an application or a Local channel)",
            c.name
        )),
        None => Ok(()),
    }
}

fn uid_of(w: &World, id_or_name: &str) -> R<String> {
    Ok(chan(w, id_or_name)?.uniqueid.clone())
}

fn set_state(w: &mut World, out: &mut Out, uid: &str, state: u8) {
    let Some(c) = w.by_uniqueid_mut(uid) else { return };
    if c.state == state {
        return;
    }
    c.state = state;
    let dev = c.device().to_string();
    out.chan(w, "Newstate", uid, "");
    devices::refresh(w, out, &dev);
}

/// A phone of extension `from` starts a call to `exten`: Newchannel (Ring) and its device.
pub fn new_inbound(w: &mut World, out: &mut Out, from: &str, exten: &str) -> String {
    let name = format!("PJSIP/{from}-{}", world::next_chan_suffix());
    let mut c = Channel::new(name.clone(), None, 4, CONTEXT, exten);
    c.cid_num = from.to_string();
    c.cid_name = devices::name_of(from).to_string();
    let uid = c.uniqueid.clone();
    w.channels.insert(name, c);
    out.chan(w, "Newchannel", &uid, "");
    devices::refresh(w, out, &format!("PJSIP/{from}"));
    uid
}

/// The caller runs `Dial(PJSIP/<to>,30)` at `<to>@default`: the callee channel rings.
/// Returns the callee's uniqueid.
pub fn dial(w: &mut World, out: &mut Out, caller: &str, to: &str) -> R<String> {
    let c = chan(w, caller)?.clone();
    out.newexten(w, caller, to, 1, "Dial", &format!("PJSIP/{to},30"));
    let name = format!("PJSIP/{to}-{}", world::next_chan_suffix());
    let mut b = Channel::new(name.clone(), Some(&c.linkedid), 0, CONTEXT, "s");
    b.dialed_by = Some(c.uniqueid.clone());
    let buid = b.uniqueid.clone();
    w.channels.insert(name.clone(), b);
    out.chan(w, "Newchannel", &buid, "");
    out.varset(w, &buid, "DIALEDPEERNUMBER", to);
    out.newexten(w, &buid, to, 1, "AppDial", "(Outgoing Line)");
    if let Some(b) = w.by_uniqueid_mut(&buid) {
        b.cid_num = to.to_string();
        b.cid_name = devices::name_of(to).to_string();
    }
    out.chan(
        w,
        "NewCallerid",
        &buid,
        "CID-CallingPres: 0 (Presentation Allowed, Not Screened)\r\n",
    );
    if let Some(b) = w.by_uniqueid_mut(&buid) {
        b.conn_num = c.cid_num.clone();
        b.conn_name = c.cid_name.clone();
    }
    out.chan(w, "NewConnectedLine", &buid, "");
    dial_begin(w, out, Some(caller), &buid, &format!("PJSIP/{to}"));
    set_state(w, out, &buid, 5);
    Ok(buid)
}

fn dial_begin(w: &World, out: &mut Out, caller: Option<&str>, dest: &str, dialstring: &str) {
    let Some(d) = w.by_uniqueid(dest) else { return };
    let from = caller.and_then(|c| w.by_uniqueid(c)).map(|c| c.state_text("")).unwrap_or_default();
    out.push(
        CALL,
        "DialBegin",
        format!("{from}{}DialString: {dialstring}\r\n", d.state_text("Dest")),
    );
}

fn dial_end(w: &World, out: &mut Out, caller: Option<&str>, dest: &str, status: &str) {
    let Some(d) = w.by_uniqueid(dest) else { return };
    let from = caller.and_then(|c| w.by_uniqueid(c)).map(|c| c.state_text("")).unwrap_or_default();
    out.push(CALL, "DialEnd", format!("{from}{}DialStatus: {status}\r\n", d.state_text("Dest")));
}

/// The ringing callee answers: Newstate Up, DialEnd ANSWER, the caller answered, both in a new
/// basic bridge. Returns the bridge id.
pub fn answer(w: &mut World, out: &mut Out, callee: &str) -> R<String> {
    let b = chan(w, callee)?.clone();
    let Some(caller) = b.dialed_by.clone() else {
        return Err(format!("error: {callee} is not a ringing leg"));
    };
    let a = chan(w, &caller)?.clone();
    set_state(w, out, callee, 6);
    if let Some(ch) = w.by_uniqueid_mut(&caller) {
        ch.conn_num = b.cid_num.clone();
        ch.conn_name = b.cid_name.clone();
    }
    out.chan(w, "NewConnectedLine", &caller, "");
    dial_end(w, out, Some(&caller), callee, "ANSWER");
    out.varset(w, &caller, "DIALSTATUS", "ANSWER");
    out.varset(w, &caller, "DIALEDPEERNAME", &b.name);
    set_state(w, out, &caller, 6);
    if let Some(ch) = w.by_uniqueid_mut(callee) {
        ch.dialed_by = None;
    }
    let id = bridge_two(w, out, callee, &caller);
    let _ = a;
    Ok(id)
}

/// A new basic bridge with `first` then `second` entering, BRIDGEPEER set on both.
fn bridge_two(w: &mut World, out: &mut Out, first: &str, second: &str) -> String {
    let bridge = Bridge::new(BridgeKind::Basic);
    let id = bridge.id.clone();
    out.push(CALL, "BridgeCreate", bridge.state_text());
    w.bridges.insert(id.clone(), bridge);
    for uid in [first, second] {
        enter(w, out, &id, uid);
    }
    let names: Vec<String> =
        [first, second].iter().filter_map(|u| w.by_uniqueid(u).map(|c| c.name.clone())).collect();
    if let [n1, n2] = names.as_slice() {
        out.varset(w, first, "BRIDGEPEER", n2);
        out.varset(w, second, "BRIDGEPEER", n1);
    }
    id
}

fn enter(w: &mut World, out: &mut Out, bridge: &str, uid: &str) {
    let Some(name) = w.by_uniqueid(uid).map(|c| c.name.clone()) else { return };
    let Some(b) = w.bridges.get_mut(bridge) else { return };
    b.channels.push(name.clone());
    let text = b.state_text();
    if let Some(c) = w.channels.get_mut(&name) {
        c.bridge = bridge.to_string();
        out.push(CALL, "BridgeEnter", format!("{text}{}", c.state_text("")));
    }
}

fn leave(w: &mut World, out: &mut Out, uid: &str) {
    let Some(c) = w.by_uniqueid(uid).cloned() else { return };
    let Some(b) = w.bridges.get_mut(&c.bridge) else { return };
    b.channels.retain(|n| *n != c.name);
    let text = b.state_text();
    out.push(CALL, "BridgeLeave", format!("{text}{}", c.state_text("")));
    if let Some(ch) = w.channels.get_mut(&c.name) {
        ch.bridge.clear();
    }
}

fn destroy_if_empty(w: &mut World, out: &mut Out, bridge: &str) {
    if w.bridges.get(bridge).is_some_and(|b| b.channels.is_empty() && b.kind == BridgeKind::Basic)
        && let Some(b) = w.bridges.remove(bridge)
    {
        out.push(CALL, "BridgeDestroy", b.state_text());
    }
}

/// Removes a channel with its Hangup event, then updates its device.
fn gone(w: &mut World, out: &mut Out, uid: &str, cause: i32) {
    let Some(c) = w.by_uniqueid(uid).cloned() else { return };
    out.push(
        CALL,
        "Hangup",
        format!("{}Cause: {cause}\r\nCause-txt: {}\r\n", c.state_text(""), cause_text(cause)),
    );
    w.channels.remove(&c.name);
    w.processed_calls += 1;
    let dev = c.device().to_string();
    devices::refresh(w, out, &dev);
}

/// `standin call <from> <to>`: ring, answer, bridge at once. Returns (caller, callee, bridge).
pub fn call(from: &str, to: &str) -> R<(String, String, String)> {
    demo_exten(from)?;
    demo_exten(to)?;
    if from == to {
        return Err("error: a phone cannot call itself".into());
    }
    op(|w, out| {
        let a = new_inbound(w, out, from, to);
        let b = dial(w, out, &a, to)?;
        let bridge = answer(w, out, &b)?;
        Ok((a, b, bridge))
    })
}

/// Hangs a channel up with everything it takes with it: its bridge peer in a two-party call,
/// the legs it rings or that ring for it, its queue entry or parking space. `soft`: a
/// SoftHangupRequest (the Hangup action), else a HangupRequest (the phone hung up).
pub fn hangup_in(w: &mut World, out: &mut Out, uid: &str, cause: i32, soft: bool) -> R<()> {
    let c = chan(w, uid)?.clone();
    let kind = if soft { "SoftHangupRequest" } else { "HangupRequest" };
    out.chan(w, kind, uid, &format!("Cause: {cause}\r\n"));
    // A ringing leg: the caller's Dial ends, the caller's dialplan ends too.
    if let Some(caller) = c.dialed_by.clone() {
        let status = if cause == 17 { "BUSY" } else { "NOANSWER" };
        dial_end(w, out, Some(&caller), uid, status);
        gone(w, out, uid, cause);
        let queued = w.queues.values().any(|q| q.entries.iter().any(|e| e.uniqueid == caller));
        if !queued && w.by_uniqueid(&caller).is_some_and(|a| a.bridge.is_empty()) {
            abandon_entry(w, out, &caller);
            gone(w, out, &caller, cause);
        }
        return Ok(());
    }
    // Legs this channel rings (a caller hanging up before the answer).
    let ringing: Vec<String> = w
        .channels
        .values()
        .filter(|r| r.dialed_by.as_deref() == Some(uid))
        .map(|r| r.uniqueid.clone())
        .collect();
    for r in &ringing {
        dial_end(w, out, Some(uid), r, "CANCEL");
        gone(w, out, r, 16);
    }
    abandon_entry(w, out, uid);
    if let Some(space) = parking::space_of(w, uid) {
        if let Some(text) = parking::parked_text(w, space, None) {
            out.push(CALL, "ParkedCallGiveUp", text);
        }
        unpark_leave(w, out, uid, space);
        gone(w, out, uid, cause);
        return Ok(());
    }
    let peers: Vec<String> = w.bridge_peers(uid).iter().map(|p| p.uniqueid.clone()).collect();
    if c.bridge.is_empty() || peers.is_empty() {
        if !c.bridge.is_empty() {
            leave(w, out, uid);
            destroy_if_empty(w, out, &c.bridge);
        }
        gone(w, out, uid, cause);
        return Ok(());
    }
    out.varset(w, uid, "BRIDGEPEER", "");
    for p in &peers {
        out.varset(w, p, "BRIDGEPEER", "");
    }
    leave(w, out, uid);
    for p in &peers {
        leave(w, out, p);
    }
    agent_complete(w, out, uid, &peers, if soft { "agent" } else { "caller" });
    gone(w, out, uid, cause);
    destroy_if_empty(w, out, &c.bridge);
    for p in &peers {
        gone(w, out, p, 16);
    }
    Ok(())
}

/// `standin hangup <uniqueid>` (the phone hangs up) or the Hangup action (`soft`).
pub fn hangup(uid: &str, cause: i32, soft: bool) -> R<()> {
    let scripted =
        world::with(|w| w.find(uid).filter(|c| c.call.is_some()).map(|c| c.name.clone()));
    if let Some(name) = scripted {
        // Its call's worker tears it down (SoftHangupRequest, ...).
        crate::actions::channels::request_hangup(&name, cause);
        return Ok(());
    }
    op(|w, out| {
        let uid = uid_of(w, uid)?;
        hangup_in(w, out, &uid, cause, soft)
    })
}

/// A queue call between `uid` and its peers ended: AgentComplete, counters.
fn agent_complete(w: &mut World, out: &mut Out, uid: &str, peers: &[String], reason: &str) {
    let mut all = vec![uid.to_string()];
    all.extend(peers.iter().cloned());
    let Some((caller, link)) = all
        .iter()
        .find_map(|u| w.by_uniqueid(u).and_then(|c| c.queue_link.clone().map(|l| (u.clone(), l))))
    else {
        return;
    };
    let (qname, interface, holdtime, since) = link;
    let Some(agent) = all.iter().find(|u| **u != caller).cloned() else { return };
    let talk = since.elapsed().as_secs() as i64;
    let (Some(a), Some(b)) = (w.by_uniqueid(&caller), w.by_uniqueid(&agent)) else { return };
    let text = pair(a, b, "Dest");
    if let Some(q) = w.queues.get_mut(&qname) {
        q.completed += 1;
        q.holdtime = (q.holdtime * 3 + holdtime as i32) / 4;
        q.talktime = (q.talktime * 3 + talk as i32) / 4;
        if let Some(m) = q.members.iter_mut().find(|m| m.interface == interface) {
            m.calls += 1;
            m.lastcall = queues::now();
            m.in_call = false;
            let reason = if reason == "agent" { "agent" } else { "caller" };
            out.push(
                AGENT,
                "AgentComplete",
                format!(
                    "{text}Queue: {qname}\r\nInterface: {interface}\r\nMemberName: {}\r\n\
                     HoldTime: {holdtime}\r\nTalkTime: {talk}\r\nReason: {reason}\r\n",
                    m.name
                ),
            );
        }
    }
    if let Some(c) = w.by_uniqueid_mut(&caller) {
        c.queue_link = None;
    }
}

/// A waiting queue caller leaves without an answer: QueueCallerAbandon, QueueCallerLeave.
fn abandon_entry(w: &mut World, out: &mut Out, uid: &str) {
    let Some((qname, pos)) = w.queues.values().find_map(|q| {
        q.entries.iter().position(|e| e.uniqueid == uid).map(|p| (q.name.clone(), p))
    }) else {
        return;
    };
    let Some(c) = w.by_uniqueid(uid).cloned() else { return };
    let Some(q) = w.queues.get_mut(&qname) else { return };
    let e = q.entries.remove(pos);
    q.abandoned += 1;
    let hold = e.joined.elapsed().as_secs();
    let text = c.state_text("");
    out.push(
        AGENT,
        "QueueCallerAbandon",
        format!(
            "{text}Queue: {qname}\r\nPosition: {}\r\nOriginalPosition: {}\r\nHoldTime: {hold}\r\n",
            pos + 1,
            e.original_position
        ),
    );
    let count = q.entries.len();
    out.push(
        AGENT,
        "QueueCallerLeave",
        format!("{text}Queue: {qname}\r\nPosition: {}\r\nCount: {count}\r\n", pos + 1),
    );
    if count == 0 {
        devices::set(w, out, &format!("Queue:{qname}"), devices::NOT_INUSE);
    }
}

/// `standin hold <uid>` / `unhold`: Hold or Unhold on the channel; its bridge peers get the
/// indication (chan_pjsip.c: hold set, device state, music on hold).
pub fn hold(uid: &str, on: bool) -> R<()> {
    op(|w, out| {
        let uid = uid_of(w, uid)?;
        let c = chan(w, &uid)?.clone();
        if c.held == on {
            return Err(format!(
                "error: {} is {}on hold",
                c.name,
                if on { "already " } else { "not " }
            ));
        }
        if let Some(ch) = w.by_uniqueid_mut(&uid) {
            ch.held = on;
        }
        if on {
            out.chan(w, "Hold", &uid, "MusicClass: default\r\n");
        } else {
            out.chan(w, "Unhold", &uid, "");
        }
        let peers: Vec<(String, String)> = w
            .bridge_peers(&uid)
            .iter()
            .map(|p| (p.uniqueid.clone(), p.device().to_string()))
            .collect();
        for (p, dev) in peers {
            if let Some(ch) = w.by_uniqueid_mut(&p) {
                ch.moh = on;
            }
            devices::refresh(w, out, &dev);
            if on {
                out.chan(w, "MusicOnHoldStart", &p, "Class: default\r\n");
            } else {
                out.chan(w, "MusicOnHoldStop", &p, "");
            }
        }
        Ok(())
    })
}

/// Moves a channel out of its two-party bridge to `exten` (the peer hangs up, the bridge ends)
/// and dials it there. Returns the new leg's uniqueid, if the exten is a phone.
fn goto_exten(
    w: &mut World,
    out: &mut Out,
    uid: &str,
    exten: &str,
    kick: &[String],
) -> Option<String> {
    let bridge = chan(w, uid).ok()?.bridge.clone();
    if !bridge.is_empty() {
        out.varset(w, uid, "BRIDGEPEER", "");
        leave(w, out, uid);
    }
    for k in kick {
        leave(w, out, k);
    }
    destroy_if_empty(w, out, &bridge);
    for k in kick {
        gone(w, out, k, 16);
    }
    if demo_exten(exten).is_err() {
        out.newexten(w, uid, exten, 1, "Hangup", "");
        gone(w, out, uid, 1);
        return None;
    }
    dial(w, out, uid, exten).ok()
}

/// `standin transfer <uid> <exten>` and BlindTransfer: `uid`'s bridge peer is sent to `exten`
/// (IsExternal: Yes, as AMI and a SIP REFER call `ast_bridge_transfer_blind(1, ...)`).
/// Returns (transferee, new leg).
pub fn blind_transfer(uid: &str, exten: &str, context: &str) -> R<(String, Option<String>)> {
    op(|w, out| {
        let uid = uid_of(w, uid)?;
        unscripted(w, &uid)?;
        let c = chan(w, &uid)?.clone();
        let b = w.bridges.get(&c.bridge).cloned();
        let peers: Vec<String> = w.bridge_peers(&uid).iter().map(|p| p.uniqueid.clone()).collect();
        let (Some(b), [transferee]) = (b, peers.as_slice()) else {
            return Err("error: Transfer not permitted (not in a two-party bridge)".into());
        };
        let t = chan(w, transferee)?.clone();
        out.push(
            CALL,
            "BlindTransfer",
            format!(
                "Result: Success\r\n{}{}{}IsExternal: Yes\r\nContext: {context}\r\nExtension: {exten}\r\n",
                c.state_text("Transferer"),
                t.state_text("Transferee"),
                b.state_text()
            ),
        );
        out.varset(w, transferee, "BLINDTRANSFER", &c.name);
        let leg = goto_exten(w, out, transferee, exten, std::slice::from_ref(&uid));
        Ok((transferee.clone(), leg))
    })
}

/// The Redirect action: the channel continues at `exten` (its bridge peer hangs up).
pub fn redirect(uid: &str, exten: &str) -> R<Option<String>> {
    op(|w, out| {
        let uid = uid_of(w, uid)?;
        unscripted(w, &uid)?;
        let peers: Vec<String> = w.bridge_peers(&uid).iter().map(|p| p.uniqueid.clone()).collect();
        Ok(goto_exten(w, out, &uid, exten, &peers))
    })
}

/// `standin queue-call <queue> <from>`: a phone calls the queue (exten 600: Answer, Queue) and
/// waits: QueueCallerJoin, the queue device ringing, music on hold.
pub fn queue_call(queue: &str, from: &str) -> R<String> {
    demo_exten(from)?;
    op(|w, out| {
        if !w.queues.contains_key(queue) {
            return Err(format!("error: no such queue {queue}"));
        }
        let uid = new_inbound(w, out, from, "600");
        out.newexten(w, &uid, "600", 1, "Answer", "");
        set_state(w, out, &uid, 6);
        out.newexten(w, &uid, "600", 2, "Queue", queue);
        let Some(q) = w.queues.get_mut(queue) else { return Err("error: queue vanished".into()) };
        q.entries.push(queues::Entry {
            uniqueid: uid.clone(),
            joined: Instant::now(),
            original_position: q.entries.len() + 1,
        });
        let (pos, count) = (q.entries.len(), q.entries.len());
        if count == 1 {
            devices::set(w, out, &format!("Queue:{queue}"), devices::RINGING);
        }
        let text = chan(w, &uid)?.state_text("");
        out.push(
            AGENT,
            "QueueCallerJoin",
            format!("{text}Queue: {queue}\r\nPosition: {pos}\r\nCount: {count}\r\n"),
        );
        out.chan(w, "MusicOnHoldStart", &uid, "Class: default\r\n");
        Ok(uid)
    })
}

/// The queue rings its first available member for its first caller: AgentCalled, DialBegin,
/// the member's phone ringing. Returns (caller, member leg), or None when nobody can take it.
pub fn queue_offer(queue: &str) -> R<Option<(String, String)>> {
    op(|w, out| {
        let Some(q) = w.queues.get(queue) else {
            return Err(format!("error: no such queue {queue}"));
        };
        let Some(e) = q.entries.first().cloned() else { return Ok(None) };
        let busy = |w: &World, i: &str| w.channels.values().any(|c| c.device() == i);
        let Some(m) = q.members.iter().find(|m| m.available() && !busy(w, &m.interface)).cloned()
        else {
            return Ok(None);
        };
        let c = chan(w, &e.uniqueid)?.clone();
        let name = format!("{}-{}", m.interface, world::next_chan_suffix());
        let exten = m.interface.trim_start_matches("PJSIP/").to_string();
        let mut a = Channel::new(name.clone(), Some(&c.linkedid), 0, CONTEXT, "s");
        a.dialed_by = Some(c.uniqueid.clone());
        a.cid_num = exten.clone();
        a.cid_name = devices::name_of(&exten).to_string();
        a.conn_num = c.cid_num.clone();
        a.conn_name = c.cid_name.clone();
        let auid = a.uniqueid.clone();
        w.channels.insert(name, a);
        out.chan(w, "Newchannel", &auid, "");
        if let (Some(cc), Some(ac)) = (w.by_uniqueid(&e.uniqueid), w.by_uniqueid(&auid)) {
            out.push(
                AGENT,
                "AgentCalled",
                format!(
                    "{}Queue: {queue}\r\nInterface: {}\r\nMemberName: {}\r\n",
                    pair(cc, ac, "Dest"),
                    m.interface,
                    m.name
                ),
            );
        }
        dial_begin(w, out, Some(&e.uniqueid), &auid, &m.interface);
        set_state(w, out, &auid, 5);
        Ok(Some((e.uniqueid.clone(), auid)))
    })
}

/// The ringing member answers: DialEnd, QueueCallerLeave, AgentConnect, bridge.
pub fn queue_answer(agent: &str) -> R<String> {
    op(|w, out| {
        let a = chan(w, agent)?.clone();
        let Some(caller) = a.dialed_by.clone() else {
            return Err("error: not a ringing member".into());
        };
        let Some((qname, pos)) = w.queues.values().find_map(|q| {
            q.entries.iter().position(|e| e.uniqueid == caller).map(|p| (q.name.clone(), p))
        }) else {
            return Err("error: the caller left the queue".into());
        };
        set_state(w, out, agent, 6);
        dial_end(w, out, Some(&caller), agent, "ANSWER");
        out.chan(w, "MusicOnHoldStop", &caller, "");
        let Some(q) = w.queues.get_mut(&qname) else { return Err("error: queue vanished".into()) };
        let e = q.entries.remove(pos);
        let count = q.entries.len();
        let hold = e.joined.elapsed().as_secs() as i64;
        let member = q.members.iter_mut().find(|m| a.device() == m.interface);
        let (interface, mname) = match member {
            Some(m) => {
                m.in_call = true;
                (m.interface.clone(), m.name.clone())
            }
            None => (a.device().to_string(), a.device().to_string()),
        };
        let text = chan(w, &caller)?.state_text("");
        out.push(
            AGENT,
            "QueueCallerLeave",
            format!("{text}Queue: {qname}\r\nPosition: {}\r\nCount: {count}\r\n", pos + 1),
        );
        if count == 0 {
            devices::set(w, out, &format!("Queue:{qname}"), devices::NOT_INUSE);
        }
        if let Some(c) = w.by_uniqueid_mut(&caller) {
            c.conn_num = a.cid_num.clone();
            c.conn_name = a.cid_name.clone();
            c.queue_link = Some((qname.clone(), interface.clone(), hold, Instant::now()));
        }
        if let (Some(cc), Some(ac)) = (w.by_uniqueid(&caller), w.by_uniqueid(agent)) {
            out.push(
                AGENT,
                "AgentConnect",
                format!(
                    "{}Queue: {qname}\r\nInterface: {interface}\r\nMemberName: {mname}\r\n\
                     HoldTime: {hold}\r\nRingTime: {}\r\n",
                    pair(cc, ac, "Dest"),
                    a.created.elapsed().as_secs()
                ),
            );
        }
        if let Some(ch) = w.by_uniqueid_mut(agent) {
            ch.dialed_by = None;
        }
        Ok(bridge_two(w, out, agent, &caller))
    })
}

/// `standin park <uid>` and the Park action: the channel goes to the first free space of the
/// lot `default`; its bridge peer (the parker) hangs up. Returns the space.
pub fn park(uid: &str) -> R<u32> {
    op(|w, out| {
        let uid = uid_of(w, uid)?;
        unscripted(w, &uid)?;
        let c = chan(w, &uid)?.clone();
        if parking::space_of(w, &uid).is_some() {
            return Err(format!("error: {} is already parked", c.name));
        }
        let Some(space) = parking::free_space(w) else {
            return Err("error: the lot is full".into());
        };
        let peers: Vec<Channel> = w.bridge_peers(&uid).into_iter().cloned().collect();
        let parker =
            peers.first().map(|p| p.device().to_string()).unwrap_or_else(|| c.device().to_string());
        if !c.bridge.is_empty() {
            for p in &peers {
                out.varset(w, &p.uniqueid, "BRIDGEPEER", "");
            }
            leave(w, out, &uid);
        }
        let lot = match w.bridges.values().find(|b| b.kind == BridgeKind::Parking) {
            Some(b) => b.id.clone(),
            None => {
                let b = Bridge::new(BridgeKind::Parking);
                out.push(CALL, "BridgeCreate", b.state_text());
                let id = b.id.clone();
                w.bridges.insert(id.clone(), b);
                id
            }
        };
        enter(w, out, &lot, &uid);
        w.parked.insert(
            space,
            Parked { uniqueid: uid.clone(), parker_dial: parker, at: Instant::now() },
        );
        if let Some(text) = parking::parked_text(w, space, None) {
            out.push(CALL, "ParkedCall", text);
        }
        devices::set(w, out, &format!("park:{space}@{}", parking::CONTEXT), devices::INUSE);
        out.chan(w, "MusicOnHoldStart", &uid, "Class: default\r\n");
        for p in &peers {
            leave(w, out, &p.uniqueid);
        }
        destroy_if_empty(w, out, &c.bridge);
        for p in &peers {
            gone(w, out, &p.uniqueid, 16);
        }
        let when = crate::parking::TIMEOUT;
        let parked = uid.clone();
        crate::sched::after(std::time::Duration::from_secs(when), move || {
            let _ = park_timeout(space, &parked);
        });
        Ok(space)
    })
}

/// The parked channel leaves the lot's bridge; the space's device is free again.
fn unpark_leave(w: &mut World, out: &mut Out, uid: &str, space: u32) {
    out.chan(w, "MusicOnHoldStop", uid, "");
    leave(w, out, uid);
    w.parked.remove(&space);
    devices::set(w, out, &format!("park:{space}@{}", parking::CONTEXT), devices::NOT_INUSE);
}

/// `parkingtime` ran out: ParkedCallTimeOut, then the parked call rings the parker again.
pub fn park_timeout(space: u32, uid: &str) -> R<Option<String>> {
    op(|w, out| {
        if w.parked.get(&space).is_none_or(|p| p.uniqueid != uid) {
            return Ok(None);
        }
        let parker = w.parked.get(&space).map(|p| p.parker_dial.clone()).unwrap_or_default();
        if let Some(text) = parking::parked_text(w, space, None) {
            out.push(CALL, "ParkedCallTimeOut", text);
        }
        unpark_leave(w, out, uid, space);
        let exten = parker.trim_start_matches("PJSIP/").to_string();
        if demo_exten(&exten).is_ok() && !w.channels.values().any(|c| c.device() == parker) {
            return Ok(dial(w, out, uid, &exten).ok());
        }
        gone(w, out, uid, 16);
        Ok(None)
    })
}

/// A phone dials the space (ParkedCall application): UnParkedCall, then a basic bridge with
/// the parked call. Returns the retriever's uniqueid.
pub fn unpark(space: u32, from: &str) -> R<String> {
    demo_exten(from)?;
    op(|w, out| {
        let Some(p) = w.parked.get(&space).cloned() else {
            return Err(format!("error: space {space} is empty"));
        };
        let r = new_inbound(w, out, from, &space.to_string());
        out.newexten(
            w,
            &r,
            &space.to_string(),
            1,
            "ParkedCall",
            &format!("{},{space}", parking::LOT),
        );
        set_state(w, out, &r, 6);
        if let Some(text) = parking::parked_text(w, space, Some(&r)) {
            out.push(CALL, "UnParkedCall", text);
        }
        unpark_leave(w, out, &p.uniqueid, space);
        if let (Some(pc), Some(rc)) =
            (w.by_uniqueid(&p.uniqueid).cloned(), w.by_uniqueid(&r).cloned())
        {
            if let Some(c) = w.by_uniqueid_mut(&r) {
                c.conn_num = pc.cid_num.clone();
                c.conn_name = pc.cid_name.clone();
            }
            if let Some(c) = w.by_uniqueid_mut(&p.uniqueid) {
                c.conn_num = rc.cid_num.clone();
                c.conn_name = rc.cid_name.clone();
            }
        }
        bridge_two(w, out, &p.uniqueid, &r);
        Ok(r)
    })
}

/// The QueuePause action: `Err` when no member has this interface (in this queue, if given).
pub fn queue_pause(queue: &str, interface: &str, paused: bool, reason: &str) -> R<()> {
    op(|w, out| {
        let mut found = false;
        for q in
            w.queues.values_mut().filter(|q| queue.is_empty() || q.name.eq_ignore_ascii_case(queue))
        {
            for m in q.members.iter_mut().filter(|m| m.interface.eq_ignore_ascii_case(interface)) {
                found = true;
                m.paused = paused;
                m.reason = if paused { reason.to_string() } else { String::new() };
                m.lastpause = if paused { queues::now() } else { m.lastpause };
                out.push(AGENT, "QueueMemberPause", m.blob(&q.name));
            }
        }
        if found { Ok(()) } else { Err("Interface not found".into()) }
    })
}

/// QueueAdd: (`Err` text as app_queue.c answers).
pub fn queue_add(queue: &str, interface: &str, name: &str, paused: bool, reason: &str) -> R<()> {
    op(|w, out| {
        let device = w.devices.get(interface).copied();
        let Some(q) = w.queues.get_mut(queue) else {
            return Err("Unable to add interface to queue: No such queue".into());
        };
        if q.members.iter().any(|m| m.interface.eq_ignore_ascii_case(interface)) {
            return Err("Unable to add interface: Already there".into());
        }
        let mut m = queues::Member::new(interface, name, paused, reason);
        m.status = device.unwrap_or(devices::INVALID);
        out.push(AGENT, "QueueMemberAdded", m.blob(&q.name));
        q.members.push(m);
        Ok(())
    })
}

/// QueueRemove.
pub fn queue_remove(queue: &str, interface: &str) -> R<()> {
    op(|w, out| {
        let Some(q) = w.queues.get_mut(queue) else {
            return Err("Unable to remove interface from queue: No such queue".into());
        };
        let Some(pos) = q.members.iter().position(|m| m.interface.eq_ignore_ascii_case(interface))
        else {
            return Err("Unable to remove interface: Not there".into());
        };
        if !q.members[pos].dynamic {
            return Err("Member not dynamic".into());
        }
        let m = q.members.remove(pos);
        out.push(AGENT, "QueueMemberRemoved", m.blob(&q.name));
        Ok(())
    })
}

/// `standin world reset`: every channel of the world hung up (Hangup events), queues empty.
pub fn reset() -> R<usize> {
    let mut n = 0;
    loop {
        let next = world::with(|w| {
            w.channels
                .values()
                .find(|c| c.call.is_none() && c.dialed_by.is_none())
                .or_else(|| w.channels.values().find(|c| c.call.is_none()))
                .map(|c| c.uniqueid.clone())
        });
        let Some(uid) = next else { break };
        hangup(&uid, 16, true)?;
        n += 1;
    }
    let scripted: Vec<String> =
        world::with(|w| w.channels.values().map(|c| c.name.clone()).collect());
    for name in &scripted {
        crate::actions::channels::request_hangup(name, 16);
    }
    let deadline = Instant::now() + std::time::Duration::from_secs(5);
    while world::with(|w| !w.channels.is_empty()) && Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    op(|w, out| {
        for q in w.queues.values_mut() {
            q.entries.clear();
        }
        let empty: Vec<String> =
            w.bridges.values().filter(|b| b.channels.is_empty()).map(|b| b.id.clone()).collect();
        for id in empty {
            if let Some(b) = w.bridges.remove(&id) {
                out.push(CALL, "BridgeDestroy", b.state_text());
            }
        }
        Ok(())
    })?;
    Ok(n + scripted.len())
}

/// `standin show world`: one line per channel, bridge, queue member and entry, parked call.
pub fn show() -> String {
    world::with(|w| {
        seed(w);
        let mut s = String::new();
        for c in w.channels.values() {
            s.push_str(&format!(
                "channel {} {} state={} bridge={} hold={} cid={} connected={}\n",
                c.uniqueid,
                c.name,
                world::state_desc(c.state),
                if c.bridge.is_empty() { "-" } else { &c.bridge },
                u8::from(c.held),
                c.cid_num,
                if c.conn_num.is_empty() { "-" } else { &c.conn_num },
            ));
        }
        for b in w.bridges.values() {
            let uids: Vec<String> = b
                .channels
                .iter()
                .filter_map(|n| w.channels.get(n).map(|c| c.uniqueid.clone()))
                .collect();
            s.push_str(&format!("bridge {} {} {}\n", b.id, b.technology(), uids.join(",")));
        }
        for q in w.queues.values() {
            for m in &q.members {
                s.push_str(&format!(
                    "member {} {} status={} paused={} incall={}\n",
                    q.name,
                    m.interface,
                    m.status,
                    u8::from(m.paused),
                    u8::from(m.in_call)
                ));
            }
            for (i, e) in q.entries.iter().enumerate() {
                s.push_str(&format!("entry {} {} {}\n", q.name, i + 1, e.uniqueid));
            }
        }
        for (space, p) in &w.parked {
            s.push_str(&format!("parked {} {space} {}\n", parking::LOT, p.uniqueid));
        }
        for (exten, st) in &w.hints {
            s.push_str(&format!("hint {exten}@{CONTEXT} {}\n", devices::extenstate_str(*st)));
        }
        s
    })
}

/// Originate of a PJSIP phone to an extension: the phone rings, answers after `ring`, then runs
/// `Dial` to the extension, whose phone answers after `ring` again (main/manager.c
/// `action_originate` -> `ast_pbx_outgoing_exten`). `answered` learns whether the first leg
/// came up (a synchronous Originate waits for it). Returns the phone's channel uniqueid.
pub fn originate(
    device: &str,
    exten: &str,
    context: &str,
    action_id: &str,
    ring: std::time::Duration,
    answered: Option<std::sync::mpsc::Sender<bool>>,
) -> R<String> {
    let from = device.trim_start_matches("PJSIP/").to_string();
    let uid = op(|w, out| {
        let name = format!("{device}-{}", world::next_chan_suffix());
        let c = Channel::new(name.clone(), None, 0, context, exten);
        let uid = c.uniqueid.clone();
        w.channels.insert(name, c);
        out.chan(w, "Newchannel", &uid, "");
        dial_begin(w, out, None, &uid, &from);
        set_state(w, out, &uid, 5);
        Ok(uid)
    })?;
    let (u, exten, context, id) =
        (uid.clone(), exten.to_string(), context.to_string(), action_id.to_string());
    crate::sched::after(ring, move || {
        let callee = op(|w, out| {
            let Some(c) = w.by_uniqueid(&u).cloned() else { return Err("gone".to_string()) };
            set_state(w, out, &u, 6);
            dial_end(w, out, None, &u, "ANSWER");
            let idt = if id.is_empty() { String::new() } else { format!("ActionID: {id}\r\n") };
            out.push(
                CALL,
                "OriginateResponse",
                format!(
                    "{idt}Response: Success\r\nChannel: {}\r\nContext: {context}\r\nExten: {exten}\r\n\
                     Reason: 4\r\nUniqueid: {u}\r\nCallerIDNum: <unknown>\r\nCallerIDName: <unknown>\r\n",
                    c.name
                ),
            );
            if let Some(ch) = w.by_uniqueid_mut(&u) {
                ch.context = context.clone();
            }
            if demo_exten(&exten).is_ok() {
                return dial(w, out, &u, &exten).map(Some);
            }
            out.newexten(w, &u, &exten, 1, "Wait", "3600");
            Ok(None)
        });
        if let Some(tx) = answered {
            let _ = tx.send(callee.is_ok());
        }
        if let Ok(Some(callee)) = callee {
            crate::sched::after(ring, move || {
                let _ = op(|w, out| {
                    if w.by_uniqueid(&callee).is_some_and(|c| c.dialed_by.is_some()) {
                        answer(w, out, &callee)?;
                    }
                    Ok(())
                });
            });
        }
    });
    Ok(uid)
}
