//! Queues as apps/app_queue.c keeps them: members (with their device status, paused state and
//! counters), waiting callers in order, the member blob of the QueueMember* events
//! (`queue_member_blob_create`, field order of its `ast_json_pack`), and the QueueStatus /
//! QueueSummary items (`manager_queues_status`, `manager_queues_summary`).
#![forbid(unsafe_code)]

use std::time::{SystemTime, UNIX_EPOCH};

use crate::devices::{self, NOT_INUSE};
use crate::events::Out;
use crate::hook::AGENT;
use crate::world::World;
pub use crate::world::{Entry, Member, Queue};

/// Seconds since the epoch (`time(NULL)`).
pub fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or_default()
}

impl Member {
    /// A dynamic member on a PJSIP interface (as added by QueueAdd and kept in AstDB).
    pub fn new(interface: &str, name: &str, paused: bool, reason: &str) -> Self {
        Member {
            interface: interface.to_string(),
            name: if name.is_empty() { interface.to_string() } else { name.to_string() },
            state_interface: interface.to_string(),
            dynamic: true,
            penalty: 0,
            calls: 0,
            lastcall: 0,
            lastpause: if paused { now() } else { 0 },
            logintime: now(),
            in_call: false,
            status: NOT_INUSE,
            paused,
            reason: reason.to_string(),
            wrapuptime: 0,
        }
    }

    /// `member_status_available`: NOT_INUSE or UNKNOWN.
    pub fn available(&self) -> bool {
        !self.paused && matches!(self.status, NOT_INUSE | 0) && !self.in_call
    }

    /// `queue_member_blob_create`: the fields of QueueMemberStatus/Added/Removed/Pause.
    pub fn blob(&self, queue: &str) -> String {
        format!(
            "Queue: {queue}\r\nMemberName: {}\r\nInterface: {}\r\nStateInterface: {}\r\n\
             Membership: {}\r\nPenalty: {}\r\nCallsTaken: {}\r\nLastCall: {}\r\nLastPause: {}\r\n\
             LoginTime: {}\r\nInCall: {}\r\nStatus: {}\r\nPaused: {}\r\nPausedReason: {}\r\n\
             Ringinuse: 1\r\nWrapuptime: {}\r\n",
            self.name,
            self.interface,
            self.state_interface,
            if self.dynamic { "dynamic" } else { "static" },
            self.penalty,
            self.calls,
            self.lastcall,
            self.lastpause,
            self.logintime,
            u8::from(self.in_call),
            self.status,
            u8::from(self.paused),
            self.reason,
            self.wrapuptime,
        )
    }

    /// A `QueueMember` item of QueueStatus (ActionID last, as app_queue.c prints it).
    pub fn status_item(&self, queue: &str, id_text: &str) -> String {
        format!(
            "Event: QueueMember\r\nQueue: {queue}\r\nName: {}\r\nLocation: {}\r\nStateInterface: {}\r\n\
             Membership: {}\r\nPenalty: {}\r\nCallsTaken: {}\r\nLastCall: {}\r\nLastPause: {}\r\n\
             LoginTime: {}\r\nInCall: {}\r\nStatus: {}\r\nPaused: {}\r\nPausedReason: {}\r\n\
             Wrapuptime: {}\r\n{id_text}\r\n",
            self.name,
            self.interface,
            self.state_interface,
            if self.dynamic { "dynamic" } else { "static" },
            self.penalty,
            self.calls,
            self.lastcall,
            self.lastpause,
            self.logintime,
            u8::from(self.in_call),
            self.status,
            u8::from(self.paused),
            self.reason,
            self.wrapuptime,
        )
    }
}

impl Queue {
    /// The demo queue `support`: members PJSIP/100..103, PJSIP/103 paused.
    pub fn demo() -> Self {
        let members = (100..=103)
            .map(|n| {
                let i = format!("PJSIP/{n}");
                let name = devices::name_of(&n.to_string());
                if n == 103 {
                    Member::new(&i, name, true, "lunch")
                } else {
                    Member::new(&i, name, false, "")
                }
            })
            .collect();
        Queue {
            name: "support".into(),
            strategy: "ringall",
            members,
            entries: Vec::new(),
            completed: 0,
            abandoned: 0,
            holdtime: 0,
            talktime: 0,
        }
    }

    /// The `QueueParams` item of QueueStatus.
    pub fn params_item(&self, id_text: &str) -> String {
        format!(
            "Event: QueueParams\r\nQueue: {}\r\nMax: 0\r\nStrategy: {}\r\nCalls: {}\r\nHoldtime: {}\r\n\
             TalkTime: {}\r\nCompleted: {}\r\nAbandoned: {}\r\nServiceLevel: 0\r\n\
             ServicelevelPerf: 0.0\r\nServicelevelPerf2: 0.0\r\nWeight: 0\r\n{id_text}\r\n",
            self.name,
            self.strategy,
            self.entries.len(),
            self.holdtime,
            self.talktime,
            self.completed,
            self.abandoned,
        )
    }

    /// The `QueueSummary` item.
    pub fn summary_item(&self, id_text: &str) -> String {
        let logged_in = self.members.iter().filter(|m| !matches!(m.status, 4 | 5)).count();
        let available = self.members.iter().filter(|m| m.available()).count();
        let longest = self.entries.iter().map(|e| e.joined.elapsed().as_secs()).max().unwrap_or(0);
        format!(
            "Event: QueueSummary\r\nQueue: {}\r\nLoggedIn: {logged_in}\r\nAvailable: {available}\r\n\
             Callers: {}\r\nHoldTime: {}\r\nTalkTime: {}\r\nLongestHoldTime: {longest}\r\n{id_text}\r\n",
            self.name,
            self.entries.len(),
            self.holdtime,
            self.talktime,
        )
    }
}

/// A device changed: members on it get the new status and `QueueMemberStatus`
/// (app_queue.c `device_state_cb` -> `update_status`).
pub fn member_device_changed(w: &mut World, out: &mut Out, device: &str, state: u8) {
    for q in w.queues.values_mut() {
        for m in q.members.iter_mut().filter(|m| m.state_interface.eq_ignore_ascii_case(device)) {
            if m.status != state {
                m.status = state;
                out.push(AGENT, "QueueMemberStatus", m.blob(&q.name));
            }
        }
    }
}
