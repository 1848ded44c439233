//! Channel actions over the simulated channels: Originate (Application=System is recorded, never
//! run), Hangup / PJSIPHangup, Setvar, Getvar, CoreShowChannels, BridgeList, ExtensionState.

use std::sync::mpsc::channel;
use std::time::Duration;

use super::{Session, crash};
use crate::calls::Call;
use crate::logger::NOTICE;
use crate::scripts::{self, Originate};
use crate::{config, config_c, hook, logger, slog, traffic, world};

/// Whether the dialplan has `exten` in `context` (any, when there is no extensions.conf).
fn extension_exists(context: &str, exten: &str) -> bool {
    let Ok(cfg) = config::load(&config_c::dir(), "extensions.conf", &mut |_| {}) else {
        return true;
    };
    cfg.categories.iter().filter(|c| c.name.eq_ignore_ascii_case(context)).any(|c| {
        c.vars.iter().any(|v| {
            v.name.eq_ignore_ascii_case("exten")
                && v.value
                    .split(',')
                    .next()
                    .is_some_and(|e| e.trim() == exten || e.starts_with('_'))
        })
    })
}

pub fn originate(s: &Session<'_>) -> i32 {
    let name = s.get("Channel");
    let priority = s.get("Priority");
    if name.is_empty() {
        s.error("Channel not specified");
        return 0;
    }
    let pi: i32 = if priority.is_empty() {
        0
    } else if let Ok(p) = priority.trim().parse() {
        p
    } else {
        s.error("Invalid priority");
        return 0;
    };
    let timeout = s.get("Timeout");
    if !timeout.is_empty() && timeout.trim().parse::<i64>().is_err() {
        s.error("Invalid timeout");
        return 0;
    }
    if !name.contains('/') {
        s.error("Invalid channel");
        return 0;
    }
    let (exten, context) = (s.get("Exten"), s.get("Context"));
    if pi != 0 && !extension_exists(context, exten) {
        s.error("Extension does not exist.");
        return 0;
    }
    let vars = s.m.variables();
    let duration = vars
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("STANDIN_DURATION"))
        .and_then(|(_, v)| v.parse::<f64>().ok())
        .or_else(|| {
            s.get("Application")
                .eq_ignore_ascii_case("Wait")
                .then(|| s.get("Data").parse().ok())
                .flatten()
        })
        .unwrap_or(2.0);
    let o = Originate {
        channel: name.to_string(),
        app: s.get("Application").to_string(),
        data: s.get("Data").to_string(),
        context: context.to_string(),
        exten: exten.to_string(),
        action_id: s.get("ActionID").to_string(),
        duration: Duration::from_secs_f64(duration.clamp(0.0, 86_400.0)),
    };
    if o.app.is_empty() && pi == 0 {
        s.error("Originate with 'Exten' requires 'Context' and 'Priority'");
        return 0;
    }
    if let Some(device) = pjsip_to_exten(&o) {
        return originate_in_world(s, &device, &o);
    }
    if config_c::ast_true(s.get("Async")) {
        traffic::start_call(Call::new(scripts::originate_call(&o), None));
        s.ack("Originate successfully queued");
        return 0;
    }
    let (tx, rx) = channel();
    traffic::start_call(Call::new(scripts::originate_call(&o), Some(tx)));
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(true) => s.ack("Originate successfully queued"),
        _ => s.error("Originate failed"),
    }
    0
}

/// A PJSIP phone originated to an extension (no application): a call of the world (ops.rs).
fn pjsip_to_exten(o: &Originate) -> Option<String> {
    let (tech, rest) = o.channel.split_once('/')?;
    let usable = tech.eq_ignore_ascii_case("PJSIP") && o.app.is_empty() && !o.exten.is_empty();
    usable.then(|| format!("PJSIP/{rest}"))
}

fn originate_in_world(s: &Session<'_>, device: &str, o: &Originate) -> i32 {
    let ring = Duration::from_secs(1);
    let ctx = if o.context.is_empty() { "default" } else { &o.context };
    if config_c::ast_true(s.get("Async")) {
        match crate::ops::originate(device, &o.exten, ctx, &o.action_id, ring, None) {
            Ok(_) => s.ack("Originate successfully queued"),
            Err(_) => s.error("Originate failed"),
        }
        return 0;
    }
    let (tx, rx) = channel();
    let started = crate::ops::originate(device, &o.exten, ctx, &o.action_id, ring, Some(tx));
    match started.ok().and_then(|_| rx.recv_timeout(Duration::from_secs(30)).ok()) {
        Some(true) => s.ack("Originate successfully queued"),
        _ => s.error("Originate failed"),
    }
    0
}

/// `ast_manager_hangup_helper`: by name or `/regex/`; at verbosity 3 or more the session's
/// name is logged for a found channel, which crashes Asterisk for a hook (NULL session).
pub fn hangup(s: &Session<'_>, action: &str) -> i32 {
    let target = s.get("Channel").to_string();
    if target.is_empty() {
        s.error("No channel specified");
        return 0;
    }
    let cause = s.get("Cause");
    let mut code = 0;
    if !cause.is_empty() {
        match cause.parse::<i32>() {
            Ok(c) if (0..=127).contains(&c) => code = c,
            _ => slog!(NOTICE, "Invalid 'Cause: {cause}' in manager action Hangup"),
        }
    }
    let cause = if code > 0 { code } else { 16 };
    if let Some(pattern) = target.strip_prefix('/') {
        let Some(pattern) = pattern.strip_suffix('/') else {
            s.error("Regex format invalid, Channel param should be /regex/");
            return 0;
        };
        let names: Vec<String> =
            world::with(|w| w.channels.keys().filter(|n| n.contains(pattern)).cloned().collect());
        s.listack("Channels hung up will follow", "start");
        for n in &names {
            if logger::verbose() >= 3 {
                crash(action);
            }
            request_hangup(n, cause);
            s.append(&format!("Event: ChannelHungup\r\nChannel: {n}\r\n{}\r\n", s.id_text()));
        }
        s.list_complete("ChannelsHungupListComplete", names.len());
        return 0;
    }
    if !world::with(|w| w.channels.contains_key(&target)) {
        slog!(NOTICE, "Request to hangup non-existent channel: {target}");
        s.error("No such channel");
        return 0;
    }
    if logger::verbose() >= 3 {
        crash(action);
    }
    request_hangup(&target, cause);
    s.ack("Channel Hungup");
    0
}

/// Soft-hangs a channel up: a scripted call's worker is flagged and woken; a channel of the
/// world's operations (ops.rs) is hung up at once (SoftHangupRequest, ...).
pub fn request_hangup(name: &str, cause: i32) {
    let found = world::with(|w| {
        let c = w.channels.get_mut(name)?;
        if c.call.is_some() {
            c.hangup = Some(cause);
        }
        Some((c.call, c.uniqueid.clone()))
    });
    match found {
        Some((Some((worker, id)), _)) => traffic::wake(worker, id),
        Some((None, uid)) => {
            let _ = crate::ops::hangup(&uid, cause, true);
        }
        None => {}
    }
}

pub fn setvar(s: &Session<'_>) -> i32 {
    let (chan, var, value) = (s.get("Channel"), s.get("Variable"), s.get("Value"));
    if var.is_empty() {
        s.error("No variable specified");
        return 0;
    }
    let found = world::with(|w| {
        if chan.is_empty() {
            w.globals.insert(var.to_string(), value.to_string());
            Some(None)
        } else {
            w.channels.get(chan).map(|c| Some(c.state_text("")))
        }
    });
    let Some(chan_text) = found else {
        s.error("No such channel");
        return 0;
    };
    let prefix = chan_text.unwrap_or_else(|| "Channel: none\r\nUniqueid: none\r\n".to_string());
    hook::post(hook::DIALPLAN, "VarSet", format!("{prefix}Variable: {var}\r\nValue: {value}\r\n"));
    s.ack("Variable Set");
    0
}

/// Getvar checks the session's write permissions before anything else: a crash for a hook.
pub fn getvar(s: &Session<'_>) -> i32 {
    if s.get("Variable").is_empty() {
        s.error("No variable specified");
        return 0;
    }
    crash("Getvar")
}

pub fn core_show_channels(s: &Session<'_>) -> i32 {
    let id = s.id_text();
    let items: Vec<String> = world::with(|w| {
        w.channels
            .values()
            .map(|c| {
                format!(
                    "Event: CoreShowChannel\r\n{id}{}Application: {}\r\nApplicationData: {}\r\nDuration: {}\r\nBridgeId: {}\r\n\r\n",
                    c.state_text(""),
                    c.appl,
                    c.data,
                    c.duration(),
                    c.bridge
                )
            })
            .collect()
    });
    s.listack("Channels will follow", "start");
    for item in &items {
        s.append(item);
    }
    s.list_complete("CoreShowChannelsComplete", items.len());
    0
}

pub fn bridge_list(s: &Session<'_>) -> i32 {
    let id = s.id_text();
    let filter = s.get("BridgeType");
    let items: Vec<String> = world::with(|w| {
        w.bridges
            .values()
            .filter(|b| filter.is_empty() || filter == b.technology())
            .map(|b| format!("Event: BridgeListItem\r\n{id}{}\r\n", b.state_text()))
            .collect()
    });
    s.listack("Bridge listing will follow", "start");
    for item in &items {
        s.append(item);
    }
    s.list_complete_start("BridgeListComplete", items.len());
    s.list_complete_end();
    0
}

pub fn extension_state(s: &Session<'_>) -> i32 {
    let exten = s.get("Exten");
    if exten.is_empty() {
        s.error("Extension not specified");
        return 0;
    }
    let context = if s.get("Context").is_empty() { "default" } else { s.get("Context") };
    let hint = world::with(|w| {
        crate::ops::seed(w);
        w.hints.get(exten).copied().filter(|_| context == crate::devices::CONTEXT)
    });
    s.start_ack();
    let text = match hint {
        Some(state) => {
            let t = crate::devices::hint_text(exten, state);
            format!("Message: Extension Status\r\n{t}\r\n")
        }
        None => format!(
            "Message: Extension Status\r\nExten: {exten}\r\nContext: {context}\r\nHint: \r\nStatus: -1\r\nStatusText: Unknown\r\n\r\n"
        ),
    };
    s.append(&text);
    0
}
