//! The simulated PBX state: live channels and bridges (what CoreShowChannels, BridgeList and
//! Hangup see), queues, parked calls, device and hint states, global variables, AstDB, the
//! commands "executed" by Originate System, the texts sent to `ast_hook_send_action`, counters.
//! Channel lookups (`World::find`, `World::by_uniqueid`) are the one way other code reads them.
#![forbid(unsafe_code)]

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

/// One channel, with the fields AMI's channel state text carries.
#[derive(Debug, Clone)]
pub struct Channel {
    pub name: String,
    pub uniqueid: String,
    pub linkedid: String,
    pub state: u8,
    pub cid_num: String,
    pub cid_name: String,
    pub conn_num: String,
    pub conn_name: String,
    pub context: String,
    pub exten: String,
    pub priority: u32,
    pub appl: String,
    pub data: String,
    pub created: Instant,
    pub bridge: String,
    /// Set by Hangup: the cause the call's worker tears the call down with.
    pub hangup: Option<i32>,
    /// The call driving this channel: (worker index, call id).
    pub call: Option<(usize, u64)>,
    /// On hold (a Hold event was raised for it and no Unhold yet).
    pub held: bool,
    /// Hearing music on hold (its bridge peer held, or parked): chan_pjsip's hold set.
    pub moh: bool,
    /// Ring state of a dialled leg: the uniqueid of the channel that dials it.
    pub dialed_by: Option<String>,
    /// A queue caller talking to a member: (queue, member interface, hold time in s, since).
    pub queue_link: Option<(String, String, i64, Instant)>,
}

/// One bridge.
#[derive(Debug, Clone)]
pub struct Bridge {
    pub id: String,
    pub channels: Vec<String>,
    /// `basic` (a two-party call, bridge_basic.c) or `parking` (a lot's holding bridge,
    /// res/parking/parking_bridge.c: creator "Parking", name the lot).
    pub kind: BridgeKind,
}

/// The bridge subclasses the stand-in makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BridgeKind {
    Basic,
    Parking,
}

// Queues (behaviour in queues.rs, apps/app_queue.c).

/// One member.
#[derive(Debug, Clone)]
pub struct Member {
    pub interface: String,
    pub name: String,
    pub state_interface: String,
    pub dynamic: bool,
    pub penalty: i32,
    pub calls: i32,
    pub lastcall: i64,
    pub lastpause: i64,
    pub logintime: i64,
    /// Set while the member talks to a caller (`starttime`).
    pub in_call: bool,
    /// `AST_DEVICE_*` of its state interface.
    pub status: u8,
    pub paused: bool,
    pub reason: String,
    pub wrapuptime: i32,
}

/// One waiting caller.
#[derive(Debug, Clone)]
pub struct Entry {
    pub uniqueid: String,
    pub joined: Instant,
    /// Position when it joined (`qe->opos`).
    pub original_position: usize,
}

/// One queue.
#[derive(Debug, Clone)]
pub struct Queue {
    pub name: String,
    pub strategy: &'static str,
    pub members: Vec<Member>,
    pub entries: Vec<Entry>,
    pub completed: i32,
    pub abandoned: i32,
    pub holdtime: i32,
    pub talktime: i32,
}

// Parking (behaviour in parking.rs, res/parking).

/// One parked call.
#[derive(Debug, Clone)]
pub struct Parked {
    pub uniqueid: String,
    /// `ParkerDialString`: the parker's device (PJSIP/101).
    pub parker_dial: String,
    pub at: Instant,
}

/// Everything simulated, behind one lock.
#[derive(Debug, Default)]
pub struct World {
    pub channels: BTreeMap<String, Channel>,
    pub bridges: BTreeMap<String, Bridge>,
    pub globals: HashMap<String, String>,
    pub db: BTreeMap<(String, String), String>,
    pub executed: Vec<String>,
    /// Every text passed to `ast_hook_send_action`, with the number of header lines the
    /// core kept from it (`standin show actions`).
    pub sent_actions: Vec<(String, usize)>,
    pub processed_calls: u64,
    /// Queues (app_queue.c), by name.
    pub queues: BTreeMap<String, Queue>,
    /// Parked calls of the lot `default`, by space.
    pub parked: BTreeMap<u32, Parked>,
    /// The last published state of each device (`stasis_cache` of main/devicestate.c).
    pub devices: BTreeMap<String, u8>,
    /// The last state of each hint (`hint->laststate` of main/pbx.c), by extension.
    pub hints: BTreeMap<String, i32>,
    /// Whether the demo world (queues, lot, hints) was set up.
    pub seeded: bool,
}

impl World {
    /// A channel by uniqueid or name (names case-insensitively, as `ast_channel_get_by_name`).
    pub fn find(&self, id_or_name: &str) -> Option<&Channel> {
        self.by_uniqueid(id_or_name).or_else(|| {
            self.channels.get(id_or_name).or_else(|| {
                self.channels.values().find(|c| c.name.eq_ignore_ascii_case(id_or_name))
            })
        })
    }

    /// A channel by uniqueid.
    pub fn by_uniqueid(&self, uniqueid: &str) -> Option<&Channel> {
        self.channels.values().find(|c| c.uniqueid == uniqueid)
    }

    /// A channel by uniqueid, for changes.
    pub fn by_uniqueid_mut(&mut self, uniqueid: &str) -> Option<&mut Channel> {
        self.channels.values_mut().find(|c| c.uniqueid == uniqueid)
    }

    /// The other channels in this channel's bridge.
    pub fn bridge_peers(&self, uniqueid: &str) -> Vec<&Channel> {
        let Some(c) = self.by_uniqueid(uniqueid) else { return Vec::new() };
        let Some(b) = self.bridges.get(&c.bridge) else { return Vec::new() };
        b.channels.iter().filter(|n| **n != c.name).filter_map(|n| self.channels.get(n)).collect()
    }
}

static WORLD: Mutex<Option<World>> = Mutex::new(None);
static UNIQUE: AtomicU32 = AtomicU32::new(0);
static CHAN_SEQ: AtomicU32 = AtomicU32::new(0);
static BRIDGE_SEQ: AtomicU64 = AtomicU64::new(0);

/// Runs `f` with the world locked.
pub fn with<T>(f: impl FnOnce(&mut World) -> T) -> T {
    let mut guard: MutexGuard<'_, Option<World>> = WORLD.lock().unwrap_or_else(|e| e.into_inner());
    f(guard.get_or_insert_with(World::default))
}

/// A fresh uniqueid: `<epoch seconds>.<counter>` as Asterisk makes them.
pub fn new_uniqueid() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    format!("{secs}.{}", UNIQUE.fetch_add(1, Ordering::Relaxed))
}

/// The next channel-name suffix (`-0000002a`).
pub fn next_chan_suffix() -> String {
    format!("{:08x}", CHAN_SEQ.fetch_add(1, Ordering::Relaxed))
}

/// A fresh bridge uniqueid in UUID shape.
pub fn new_bridge_id() -> String {
    let n = BRIDGE_SEQ.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default();
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        t as u32,
        n & 0xffff,
        n & 0xfff,
        t & 0xfff,
        t & 0xffff_ffff_ffff
    )
}

/// `ast_state2str`
pub fn state_desc(state: u8) -> &'static str {
    match state {
        0 => "Down",
        1 => "Rsrvd",
        2 => "OffHook",
        3 => "Dialing",
        4 => "Ring",
        5 => "Ringing",
        6 => "Up",
        7 => "Busy",
        8 => "Dialing Offhook",
        9 => "Pre-ring",
        _ => "Unknown",
    }
}

fn or_unknown(s: &str) -> &str {
    if s.is_empty() { "<unknown>" } else { s }
}

impl Channel {
    /// A new channel in state `state`.
    pub fn new(
        name: String,
        linkedid: Option<&str>,
        state: u8,
        context: &str,
        exten: &str,
    ) -> Self {
        let uniqueid = new_uniqueid();
        Channel {
            name,
            linkedid: linkedid.map(str::to_string).unwrap_or_else(|| uniqueid.clone()),
            uniqueid,
            state,
            cid_num: String::new(),
            cid_name: String::new(),
            conn_num: String::new(),
            conn_name: String::new(),
            context: context.to_string(),
            exten: exten.to_string(),
            priority: 1,
            appl: String::new(),
            data: String::new(),
            created: Instant::now(),
            bridge: String::new(),
            hangup: None,
            call: None,
            held: false,
            moh: false,
            dialed_by: None,
            queue_link: None,
        }
    }

    /// The device of a channel: its name without the `-0000002a` suffix (`PJSIP/100`), as
    /// `ast_channel_get_device_name`.
    pub fn device(&self) -> &str {
        match self.name.rfind('-') {
            Some(i) if self.name.contains('/') => &self.name[..i],
            _ => &self.name,
        }
    }

    /// `ast_manager_build_channel_state_string_prefix`: the channel's header lines.
    pub fn state_text(&self, prefix: &str) -> String {
        let p = prefix;
        format!(
            "{p}Channel: {}\r\n{p}ChannelState: {}\r\n{p}ChannelStateDesc: {}\r\n\
             {p}CallerIDNum: {}\r\n{p}CallerIDName: {}\r\n{p}ConnectedLineNum: {}\r\n\
             {p}ConnectedLineName: {}\r\n{p}Language: en\r\n{p}AccountCode: \r\n\
             {p}Context: {}\r\n{p}Exten: {}\r\n{p}Priority: {}\r\n{p}Uniqueid: {}\r\n\
             {p}Linkedid: {}\r\n",
            self.name,
            self.state,
            state_desc(self.state),
            or_unknown(&self.cid_num),
            or_unknown(&self.cid_name),
            or_unknown(&self.conn_num),
            or_unknown(&self.conn_name),
            self.context,
            self.exten,
            self.priority,
            self.uniqueid,
            self.linkedid,
        )
    }

    /// `HH:MM:SS` since creation, as CoreShowChannel's Duration.
    pub fn duration(&self) -> String {
        let s = self.created.elapsed().as_secs();
        format!("{:02}:{:02}:{:02}", s / 3600, (s % 3600) / 60, s % 60)
    }
}

impl Bridge {
    /// A new empty bridge of this kind.
    pub fn new(kind: BridgeKind) -> Self {
        Bridge { id: new_bridge_id(), channels: Vec::new(), kind }
    }

    /// `ast_manager_build_bridge_state_string`: the bridge's header lines.
    pub fn state_text(&self) -> String {
        let (kind, tech, creator, name) = match self.kind {
            BridgeKind::Basic => ("basic", "simple_bridge", "<unknown>", "<unknown>"),
            BridgeKind::Parking => ("parking", "holding_bridge", "Parking", "default"),
        };
        format!(
            "BridgeUniqueid: {}\r\nBridgeType: {kind}\r\nBridgeTechnology: {tech}\r\n\
             BridgeCreator: {creator}\r\nBridgeName: {name}\r\nBridgeNumChannels: {}\r\n\
             BridgeVideoSourceMode: none\r\n",
            self.id,
            self.channels.len()
        )
    }

    /// The bridge technology (BridgeList's `BridgeType` filter compares it).
    pub fn technology(&self) -> &'static str {
        match self.kind {
            BridgeKind::Basic => "simple_bridge",
            BridgeKind::Parking => "holding_bridge",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_text_has_asterisk_fields_in_order() {
        let c = Channel::new("PJSIP/100-00000001".into(), None, 6, "default", "100");
        let t = c.state_text("Dest");
        assert!(t.starts_with("DestChannel: PJSIP/100-00000001\r\nDestChannelState: 6\r\n"));
        assert!(t.contains("DestChannelStateDesc: Up\r\n"));
        assert!(t.contains(&format!("DestLinkedid: {}\r\n", c.uniqueid)));
    }
}
