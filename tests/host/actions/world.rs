//! Manager actions that change the simulated world: BlindTransfer and Redirect
//! (main/manager.c), Park (res/parking/parking_manager.c), QueuePause, QueueAdd and QueueRemove
//! (apps/app_queue.c), with those sources' answers.

use super::Session;
use crate::{config_c, ops, world};

/// The uniqueid of the channel named by the `Channel` header (case-insensitive, as
/// `ast_channel_get_by_name`).
fn channel(s: &Session<'_>) -> Option<String> {
    let name = s.get("Channel");
    world::with(|w| w.find(name).map(|c| c.uniqueid.clone()))
}

pub fn blind_transfer(s: &Session<'_>) -> i32 {
    if s.get("Channel").is_empty() {
        s.error("No channel specified");
        return 0;
    }
    let exten = s.get("Exten");
    if exten.is_empty() {
        s.error("No extension specified");
        return 0;
    }
    let Some(uid) = channel(s) else {
        s.error("Channel specified does not exist");
        return 0;
    };
    let context = match s.get("Context") {
        "" => world::with(|w| w.by_uniqueid(&uid).map(|c| c.context.clone())).unwrap_or_default(),
        c => c.to_string(),
    };
    match ops::blind_transfer(&uid, exten, &context) {
        Ok((_, leg)) => {
            s.ack("Transfer succeeded");
            ring_then_answer(leg);
        }
        Err(_) => s.error("Transfer not permitted"),
    }
    0
}

/// A new leg rings for a moment, then its phone answers (on the world's timer thread).
fn ring_then_answer(leg: Option<String>) {
    let Some(leg) = leg else { return };
    crate::sched::after(std::time::Duration::from_secs(2), move || {
        let _ = ops::op(|w, out| {
            if w.by_uniqueid(&leg).is_some_and(|c| c.dialed_by.is_some()) {
                ops::answer(w, out, &leg)?;
            }
            Ok(())
        });
    });
}

pub fn redirect(s: &Session<'_>) -> i32 {
    let checks = [
        ("Channel", "Channel not specified"),
        ("Context", "Context not specified"),
        ("Exten", "Exten not specified"),
        ("Priority", "Priority not specified"),
    ];
    for (h, msg) in checks {
        if s.get(h).is_empty() {
            s.error(msg);
            return 0;
        }
    }
    if s.get("Priority").trim().parse::<i32>().is_err() {
        s.error("Priority is invalid");
        return 0;
    }
    let Some(uid) = channel(s) else {
        s.error(&format!("Channel does not exist: {}", s.get("Channel")));
        return 0;
    };
    match ops::redirect(&uid, s.get("Exten")) {
        Ok(leg) => {
            s.ack("Redirect successful");
            ring_then_answer(leg);
        }
        Err(_) => s.error("Redirect failed"),
    }
    0
}

pub fn park(s: &Session<'_>) -> i32 {
    if s.get("Channel").is_empty() {
        s.error("Channel not specified");
        return 0;
    }
    let timeout = s.get("Timeout");
    if !timeout.is_empty() && timeout.trim().parse::<u32>().is_err() {
        s.error("Invalid Timeout value.");
        return 0;
    }
    let Some(uid) = channel(s) else {
        s.error(&format!("Channel does not exist: {}", s.get("Channel")));
        return 0;
    };
    match ops::park(&uid) {
        Ok(_) => s.ack("Park successful\n"),
        Err(_) => s.error("Park action failed\n"),
    }
    0
}

pub fn queue_pause(s: &Session<'_>) -> i32 {
    let (interface, paused) = (s.get("Interface"), s.get("Paused"));
    if interface.is_empty() || paused.is_empty() {
        s.error("Need 'Interface' and 'Paused' parameters.");
        return 0;
    }
    let paused = config_c::ast_true(paused);
    match ops::queue_pause(s.get("Queue"), interface, paused, s.get("Reason")) {
        Ok(()) if paused => s.ack("Interface paused successfully"),
        Ok(()) => s.ack("Interface unpaused successfully"),
        Err(e) => s.error(&e),
    }
    0
}

pub fn queue_add(s: &Session<'_>) -> i32 {
    let (queue, interface) = (s.get("Queue"), s.get("Interface"));
    if queue.is_empty() {
        s.error("'Queue' not specified.");
        return 0;
    }
    if interface.is_empty() {
        s.error("'Interface' not specified.");
        return 0;
    }
    let paused = !s.get("Paused").is_empty() && config_c::ast_true(s.get("Paused"));
    match ops::queue_add(queue, interface, s.get("MemberName"), paused, s.get("Reason")) {
        Ok(()) => s.ack("Added interface to queue"),
        Err(e) => s.error(&e),
    }
    0
}

pub fn queue_remove(s: &Session<'_>) -> i32 {
    let (queue, interface) = (s.get("Queue"), s.get("Interface"));
    if queue.is_empty() || interface.is_empty() {
        s.error("Need 'Queue' and 'Interface' parameters.");
        return 0;
    }
    match ops::queue_remove(queue, interface) {
        Ok(()) => s.ack("Removed interface from queue"),
        Err(e) => s.error(&e),
    }
    0
}
