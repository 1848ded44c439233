//! Events of one world operation, collected in order while the world is locked and raised after
//! it is released (a hook helper may run actions that read the world), and the channel event
//! texts of main/manager_channels.c.
#![forbid(unsafe_code)]

use crate::hook::{self, CALL, DIALPLAN};
use crate::world::{Channel, World};

/// Events to raise: (category, name, fields).
#[derive(Debug, Default)]
pub struct Out(pub Vec<(i32, &'static str, String)>);

impl Out {
    /// Queues one event.
    pub fn push(&mut self, category: i32, name: &'static str, fields: String) {
        self.0.push((category, name, fields));
    }

    /// A channel event: the channel's state lines, then `extra`.
    pub fn chan(&mut self, w: &World, name: &'static str, uniqueid: &str, extra: &str) {
        if let Some(c) = w.by_uniqueid(uniqueid) {
            self.push(CALL, name, format!("{}{extra}", c.state_text("")));
        }
    }

    /// `Newexten` (category dialplan): the channel at `exten`, `priority`, running `app`.
    pub fn newexten(
        &mut self,
        w: &mut World,
        uniqueid: &str,
        exten: &str,
        prio: u32,
        app: &str,
        data: &str,
    ) {
        let Some(c) = w.by_uniqueid_mut(uniqueid) else { return };
        c.exten = exten.to_string();
        c.priority = prio;
        c.appl = app.to_string();
        c.data = data.to_string();
        let text = format!(
            "{}Extension: {exten}\r\nApplication: {app}\r\nAppData: {data}\r\n",
            c.state_text("")
        );
        self.push(DIALPLAN, "Newexten", text);
    }

    /// `VarSet` (category dialplan) on a channel.
    pub fn varset(&mut self, w: &World, uniqueid: &str, var: &str, value: &str) {
        if let Some(c) = w.by_uniqueid(uniqueid) {
            let text = format!("{}Variable: {var}\r\nValue: {value}\r\n", c.state_text(""));
            self.push(DIALPLAN, "VarSet", text);
        }
    }

    /// Raises the events on this thread, in order (only when AMI is enabled, as bus events).
    pub fn fire(self) {
        for (category, name, fields) in self.0 {
            hook::bus_event(category, name, &fields);
        }
    }
}

/// Two channels' texts, the second with a prefix (`DialBegin`, `AgentCalled`, ...).
pub fn pair(a: &Channel, b: &Channel, prefix: &str) -> String {
    format!("{}{}", a.state_text(""), b.state_text(prefix))
}

/// `ast_cause2str` for the causes the stand-in uses (main/causes table).
pub fn cause_text(cause: i32) -> &'static str {
    match cause {
        16 => "Normal Clearing",
        17 => "User busy",
        18 => "No user responding",
        19 => "User alerting, no answer",
        21 => "Call Rejected",
        34 => "Circuit/channel congestion",
        127 => "Interworking, unspecified",
        _ => "Unknown",
    }
}
