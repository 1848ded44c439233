//! Random calls with a full life cycle for `traffic on` (the demo): between idle demo phones
//! (100-109), a call rings, is answered or not, may go on hold and off, be blind-transferred or
//! parked and picked up, or goes through the queue `support`; then someone hangs up. Every step
//! is a world operation (ops.rs) run on the world's timer thread; a step whose channel is gone
//! (hung up from the panel meanwhile) ends the scenario.
#![forbid(unsafe_code)]

use std::time::Duration;

use crate::traffic::rand_u64;
use crate::{devices, ops, sched, world};

fn ms(lo: u64, hi: u64) -> Duration {
    Duration::from_millis(lo + rand_u64() % (hi - lo).max(1))
}

fn chance(percent: u64) -> bool {
    rand_u64() % 100 < percent
}

/// Idle demo extensions (no channel on their phone), shuffled.
fn idle() -> Vec<String> {
    let mut v: Vec<String> = world::with(|w| {
        devices::EXTENSIONS
            .map(|n| n.to_string())
            .filter(|e| {
                let dev = format!("PJSIP/{e}");
                !w.channels.values().any(|c| c.device() == dev)
            })
            .collect()
    });
    for i in (1..v.len()).rev() {
        v.swap(i, (rand_u64() % (i as u64 + 1)) as usize);
    }
    v
}

fn exists(uid: &str) -> bool {
    world::with(|w| w.by_uniqueid(uid).is_some())
}

/// Runs `f` after `d` on the timer thread.
fn later(d: Duration, f: impl FnOnce() + Send + 'static) {
    sched::after(d, f);
}

/// Starts one scenario between idle phones; false when fewer than three phones are idle.
pub fn start() -> bool {
    let phones = idle();
    if phones.len() < 3 {
        return false;
    }
    match rand_u64() % 100 {
        0..=49 => two_party(phones),
        50..=74 => queue(phones),
        _ => parked(phones),
    }
    if chance(10) {
        toggle_pause();
    }
    true
}

/// A member of `support` (not PJSIP/103, paused for lunch) pauses or resumes.
fn toggle_pause() {
    let member = format!("PJSIP/{}", 100 + rand_u64() % 3);
    let paused = world::with(|w| {
        w.queues
            .get("support")
            .and_then(|q| q.members.iter().find(|m| m.interface == member))
            .map(|m| m.paused)
    });
    if let Some(p) = paused {
        let _ = ops::queue_pause("support", &member, !p, if p { "" } else { "break" });
    }
}

/// Rings `to` from `from`; returns (caller, callee).
fn ring(from: &str, to: &str) -> Option<(String, String)> {
    ops::op(|w, out| {
        let a = ops::new_inbound(w, out, from, to);
        let b = ops::dial(w, out, &a, to)?;
        Ok((a, b))
    })
    .ok()
}

fn answer(callee: &str) -> bool {
    ops::op(|w, out| ops::answer(w, out, callee)).is_ok()
}

fn hang(uid: &str) {
    if exists(uid) {
        let _ = ops::hangup(uid, 16, false);
    }
}

/// A two-party call: no answer (10 %), or answer, talk, maybe hold, maybe transfer, hang up.
fn two_party(phones: Vec<String>) {
    let Some((a, b)) = ring(&phones[0], &phones[1]) else { return };
    let third = phones[2].clone();
    if chance(10) {
        later(ms(3000, 6000), move || hang(&a));
        return;
    }
    later(ms(1000, 3000), move || {
        if !answer(&b) {
            return;
        }
        later(ms(2000, 5000), move || {
            if !exists(&a) || !exists(&b) {
                return;
            }
            if chance(50) {
                let holder = if chance(50) { a.clone() } else { b.clone() };
                let _ = ops::hold(&holder, true);
                later(ms(2000, 5000), move || {
                    if exists(&holder) {
                        let _ = ops::hold(&holder, false);
                    }
                    later(ms(2000, 4000), move || transfer_or_end(a, b, third));
                });
            } else {
                transfer_or_end(a, b, third);
            }
        });
    });
}

/// The callee may blind-transfer the caller to a third phone; then someone hangs up.
fn transfer_or_end(a: String, b: String, third: String) {
    if !exists(&a) || !exists(&b) {
        return;
    }
    let third_idle = idle().contains(&third);
    if third_idle && chance(30) {
        let Ok((_, Some(leg))) = ops::blind_transfer(&b, &third, devices::CONTEXT) else { return };
        later(ms(1500, 3000), move || {
            if answer(&leg) {
                later(ms(3000, 7000), move || hang(if chance(50) { &a } else { &leg }));
            }
        });
        return;
    }
    later(ms(1000, 4000), move || hang(if chance(50) { &a } else { &b }));
}

/// A caller waits in `support`; a member answers, or the caller gives up (abandon).
fn queue(phones: Vec<String>) {
    let Ok(caller) = ops::queue_call("support", &phones[0]) else { return };
    later(ms(2000, 6000), move || offer(caller, 0));
}

fn offer(caller: String, tries: u32) {
    if !exists(&caller) {
        return;
    }
    match ops::queue_offer("support") {
        Ok(Some((c, agent))) if c == caller => {
            later(ms(1000, 3000), move || {
                if ops::queue_answer(&agent).is_ok() {
                    later(ms(4000, 9000), move || hang(if chance(70) { &caller } else { &agent }));
                }
            });
        }
        _ if tries < 3 => later(ms(2000, 4000), move || offer(caller, tries + 1)),
        _ => hang(&caller),
    }
}

/// A call is answered, the callee parks the caller; later another phone picks it up, or the
/// parked caller gives up.
fn parked(phones: Vec<String>) {
    let Some((a, b)) = ring(&phones[0], &phones[1]) else { return };
    later(ms(1000, 2500), move || {
        if !answer(&b) {
            return;
        }
        later(ms(2000, 4000), move || {
            let Ok(space) = ops::park(&a) else { return };
            later(ms(4000, 10000), move || {
                if !exists(&a) {
                    return;
                }
                let picker = idle().into_iter().next();
                match picker {
                    Some(p) if chance(60) => {
                        if let Ok(r) = ops::unpark(space, &p) {
                            later(ms(3000, 6000), move || hang(&r));
                        }
                    }
                    _ => hang(&a),
                }
            });
        });
    });
}
