//! Device and hint states of the simulated PBX: a PJSIP endpoint's state aggregated from its
//! channels as chan_pjsip.c `chan_pjsip_devicestate` does, `DeviceStateChange` when a device's
//! state changes (main/devicestate.c `devstate_to_ami`), and `ExtensionStatus` when a hint's
//! state changes (main/manager.c `manager_state_cb`, states of main/pbx.c).
#![forbid(unsafe_code)]

use crate::events::Out;
use crate::hook::CALL;
use crate::world::World;

/// The demo world's extensions: 100..=109 on PJSIP, hints `<n>@default => PJSIP/<n>`.
pub const EXTENSIONS: std::ops::RangeInclusive<u32> = 100..=109;
/// The dialplan context of the extensions and hints.
pub const CONTEXT: &str = "default";

/// Caller ID names of the demo extensions (CallerIDName of their channels).
const NAMES: &[&str] =
    &["Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy"];

/// The caller ID name of an extension ("" for numbers outside the demo range).
pub fn name_of(exten: &str) -> &'static str {
    exten
        .parse::<u32>()
        .ok()
        .filter(|n| EXTENSIONS.contains(n))
        .and_then(|n| NAMES.get((n - 100) as usize))
        .copied()
        .unwrap_or("")
}

/// `AST_DEVICE_*` values (main/devicestate.c `devstatestring`).
pub const UNKNOWN: u8 = 0;
pub const NOT_INUSE: u8 = 1;
pub const INUSE: u8 = 2;
pub const BUSY: u8 = 3;
pub const INVALID: u8 = 4;
pub const RINGING: u8 = 6;
pub const RINGINUSE: u8 = 7;
pub const ONHOLD: u8 = 8;

/// `ast_devstate_str`
pub fn devstate_str(state: u8) -> &'static str {
    match state {
        0 => "UNKNOWN",
        1 => "NOT_INUSE",
        2 => "INUSE",
        3 => "BUSY",
        4 => "INVALID",
        5 => "UNAVAILABLE",
        6 => "RINGING",
        7 => "RINGINUSE",
        8 => "ONHOLD",
        _ => "UNKNOWN",
    }
}

/// `ast_state_chan2dev` (main/devicestate.c `chan2dev`).
fn chan2dev(state: u8) -> u8 {
    match state {
        0 => NOT_INUSE,
        5 | 9 => RINGING,
        7 => BUSY,
        _ => INUSE,
    }
}

/// `ast_devstate_aggregate_add` / `_result`, starting from AST_DEVICE_INVALID.
fn aggregate(states: impl Iterator<Item = u8>) -> u8 {
    const ORDER: [u8; 9] = [1, 3, 6, 7, 0, 2, 5, 8, 4];
    let (mut agg, mut ringing, mut inuse) = (INVALID, false, false);
    for s in states {
        if s == RINGING {
            ringing = true;
        } else if matches!(s, INUSE | ONHOLD | BUSY) {
            inuse = true;
        }
        if ringing && inuse {
            agg = RINGINUSE;
        } else if ORDER[s as usize] > ORDER[agg as usize] {
            agg = s;
        }
    }
    agg
}

/// `chan_pjsip_devicestate` for an online endpoint: NOT_INUSE without channels, else the
/// aggregate of its channels (ONHOLD for one in the hold set).
pub fn pjsip_state(w: &World, device: &str) -> u8 {
    let states: Vec<u8> = w
        .channels
        .values()
        .filter(|c| c.device().eq_ignore_ascii_case(device))
        .map(|c| if c.moh && c.state == 6 { ONHOLD } else { chan2dev(c.state) })
        .collect();
    if states.is_empty() {
        return NOT_INUSE;
    }
    match aggregate(states.into_iter()) {
        INVALID => NOT_INUSE,
        s => s,
    }
}

/// `ast_devstate_to_extenstate` (main/pbx.c).
pub fn to_extenstate(dev: u8) -> i32 {
    match dev {
        ONHOLD => 16,
        BUSY => 2,
        UNKNOWN | NOT_INUSE => 0,
        4 | 5 => 4,
        RINGINUSE => 9,
        RINGING => 8,
        INUSE => 1,
        _ => 0,
    }
}

/// `ast_extension_state2str` (main/pbx.c `extension_states`).
pub fn extenstate_str(state: i32) -> &'static str {
    match state {
        0 => "Idle",
        1 => "InUse",
        2 => "Busy",
        4 => "Unavailable",
        8 => "Ringing",
        9 => "InUse&Ringing",
        16 => "Hold",
        17 => "InUse&Hold",
        -1 => "Deactivated",
        -2 => "Removed",
        _ => "Unknown",
    }
}

/// Sets up the device cache and hints of the demo world (all idle), once.
pub fn seed(w: &mut World) {
    for n in EXTENSIONS {
        w.devices.insert(format!("PJSIP/{n}"), NOT_INUSE);
        w.hints.insert(n.to_string(), 0);
    }
    w.devices.insert("Queue:support".into(), NOT_INUSE);
}

/// Publishes a device's new state: `DeviceStateChange` when it changed, then the hint that
/// watches it (`ExtensionStatus`), then queue members on it (`QueueMemberStatus`).
pub fn set(w: &mut World, out: &mut Out, device: &str, state: u8) {
    if w.devices.get(device) == Some(&state) {
        return;
    }
    w.devices.insert(device.to_string(), state);
    out.push(
        CALL,
        "DeviceStateChange",
        format!("Device: {device}\r\nState: {}\r\n", devstate_str(state)),
    );
    if let Some(exten) = device.strip_prefix("PJSIP/")
        && let Some(last) = w.hints.get(exten).copied()
    {
        let now = to_extenstate(state);
        if now != last {
            w.hints.insert(exten.to_string(), now);
            out.push(CALL, "ExtensionStatus", hint_text(exten, now));
        }
    }
    crate::queues::member_device_changed(w, out, device, state);
}

/// Recomputes a PJSIP device from its channels and publishes a change.
pub fn refresh(w: &mut World, out: &mut Out, device: &str) {
    if device.starts_with("PJSIP/") {
        let s = pjsip_state(w, device);
        set(w, out, device, s);
    }
}

/// The fields of an ExtensionStatus event or list item for a demo hint.
pub fn hint_text(exten: &str, state: i32) -> String {
    format!(
        "Exten: {exten}\r\nContext: {CONTEXT}\r\nHint: PJSIP/{exten}\r\nStatus: {state}\r\nStatusText: {}\r\n",
        extenstate_str(state)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregation_follows_devicestate_c() {
        assert_eq!(aggregate([INUSE, RINGING].into_iter()), RINGINUSE);
        assert_eq!(aggregate([NOT_INUSE, INUSE].into_iter()), INUSE);
        assert_eq!(aggregate([ONHOLD].into_iter()), ONHOLD);
        assert_eq!(aggregate([ONHOLD, INUSE].into_iter()), INUSE);
        assert_eq!(to_extenstate(RINGINUSE), 9);
        assert_eq!(extenstate_str(9), "InUse&Ringing");
        assert_eq!(name_of("101"), "Bob");
        assert_eq!(name_of("5000"), "");
    }
}
