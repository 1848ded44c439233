//! Manager actions run through `ast_hook_send_action`: a hook "session" whose responses go to the
//! hook's helper one piece per `astman_append`, the response helpers of manager.c, and dispatch.
//! Actions that dereference the (NULL) session in Asterisk abort the stand-in instead.

pub mod channels;
mod config;
mod core;
mod db;
mod lists;
mod world;

use crate::amimsg::Message;
use crate::ffi::{Ptr, sys};
use crate::{hook, mancmds};

/// The fake session of a hook action: responses become HookResponse pieces.
pub struct Session<'a> {
    hook: Ptr<sys::manager_custom_hook>,
    pub m: &'a Message,
}

/// The `msg` argument of `astman_send_response_full`.
pub enum Msg<'a> {
    /// A `Message:` line and the closing blank line.
    Text(&'a str),
    /// Neither: more lines follow in later pieces (`MSG_MOREDATA`).
    MoreData,
}

impl Session<'_> {
    /// `astman_append`: one piece to the helper.
    pub fn append(&self, text: &str) {
        hook::send_piece(self.hook, text);
    }

    /// A header of the action ("" when absent).
    pub fn get(&self, name: &str) -> &str {
        self.m.get(name)
    }

    /// `ActionID: x\r\n`, or "" without an ActionID.
    pub fn id_text(&self) -> String {
        let id = self.get("ActionID");
        if id.is_empty() { String::new() } else { format!("ActionID: {id}\r\n") }
    }

    /// `astman_send_response_full`
    pub fn response_full(&self, resp: &str, msg: Msg<'_>, listflag: Option<&str>) {
        let mut buf = format!("Response: {resp}\r\n{}", self.id_text());
        if let Some(flag) = listflag {
            buf.push_str(&format!("EventList: {flag}\r\n"));
        }
        match msg {
            Msg::MoreData => {}
            Msg::Text(t) => buf.push_str(&format!("Message: {t}\r\n\r\n")),
        }
        self.append(&buf);
    }

    /// `astman_send_error`
    pub fn error(&self, msg: &str) {
        self.response_full("Error", Msg::Text(msg), None);
    }

    /// `astman_send_ack`
    pub fn ack(&self, msg: &str) {
        self.response_full("Success", Msg::Text(msg), None);
    }

    /// `astman_start_ack`
    pub fn start_ack(&self) {
        self.response_full("Success", Msg::MoreData, None);
    }

    /// `astman_send_listack`
    pub fn listack(&self, msg: &str, flag: &str) {
        self.response_full("Success", Msg::Text(msg), Some(flag));
    }

    fn list_complete_text(&self, event: &str, count: usize) -> String {
        format!("Event: {event}\r\n{}EventList: Complete\r\nListItems: {count}\r\n", self.id_text())
    }

    /// `astman_send_list_complete`: the Complete event with its blank line in one piece.
    pub fn list_complete(&self, event: &str, count: usize) {
        self.append(&format!("{}\r\n", self.list_complete_text(event, count)));
    }

    /// `astman_send_list_complete_start`: the Complete event, blank line to follow.
    pub fn list_complete_start(&self, event: &str, count: usize) {
        self.append(&self.list_complete_text(event, count));
    }

    /// `astman_send_list_complete_end`
    pub fn list_complete_end(&self) {
        self.append("\r\n");
    }
}

/// Aborts as Asterisk would crash on the NULL session of a hook action.
pub fn crash(action: &str) -> ! {
    hook::crash(&format!("{action} through ast_hook_send_action would crash Asterisk"))
}

/// Actions with a simulation here (others answer with an error saying so).
const SIMULATED: &[&str] = &[
    "Ping",
    "Events",
    "Logoff",
    "Challenge",
    "Hangup",
    "Status",
    "Setvar",
    "Getvar",
    "GetConfig",
    "ListCategories",
    "Originate",
    "Command",
    "ExtensionState",
    "ListCommands",
    "UserEvent",
    "WaitEvent",
    "CoreSettings",
    "CoreStatus",
    "Reload",
    "CoreShowChannels",
    "ModuleCheck",
    "ModuleLoad",
    "Filter",
    "BridgeList",
    "DBGet",
    "DBPut",
    "DBDel",
    "QueueStatus",
    "PJSIPHangup",
    "PJSIPShowEndpoints",
    "BridgeInfo",
    "ExtensionStateList",
    "DeviceStateList",
    "QueueSummary",
    "Parkinglots",
    "ParkedCalls",
    "BlindTransfer",
    "Redirect",
    "Park",
    "QueuePause",
    "QueueAdd",
    "QueueRemove",
];

/// Whether the stand-in simulates this action.
pub fn simulated(name: &str) -> bool {
    SIMULATED.iter().any(|n| n.eq_ignore_ascii_case(name))
}

/// The action part of `ast_hook_send_action`: Login and unknown actions give no response and 0;
/// otherwise the action's return code (Logoff -1).
pub fn dispatch(hook: Ptr<sys::manager_custom_hook>, m: &Message) -> i32 {
    let action = m.get("Action");
    if action.eq_ignore_ascii_case("login") {
        return 0;
    }
    let Some((name, _)) = mancmds::find(action) else { return 0 };
    let s = Session { hook, m };
    match name {
        "Ping" => core::ping(&s),
        "CoreSettings" => core::core_settings(&s),
        "CoreStatus" => core::core_status(&s),
        "Logoff" => core::logoff(&s),
        "UserEvent" => core::user_event(&s),
        "Command" => core::command(&s),
        "Reload" => core::reload(&s),
        "ModuleCheck" => core::module_check(&s),
        "ModuleLoad" => core::module_load(&s),
        "Events" | "WaitEvent" | "Status" => crash(name),
        "ListCommands" => {
            s.start_ack();
            crash(name)
        }
        "Challenge" => core::challenge(&s),
        "Filter" => core::filter(&s),
        "ListCategories" => config::list_categories(&s),
        "GetConfig" => config::get_config(&s),
        "Originate" => channels::originate(&s),
        "Hangup" | "PJSIPHangup" => channels::hangup(&s, name),
        "Setvar" => channels::setvar(&s),
        "Getvar" => channels::getvar(&s),
        "CoreShowChannels" => channels::core_show_channels(&s),
        "BridgeList" => channels::bridge_list(&s),
        "ExtensionState" => channels::extension_state(&s),
        "DBPut" => db::put(&s),
        "DBGet" => db::get(&s),
        "DBDel" => db::del(&s),
        "QueueStatus" => lists::queue_status(&s),
        "QueueSummary" => lists::queue_summary(&s),
        "BridgeInfo" => lists::bridge_info(&s),
        "ExtensionStateList" => lists::extension_state_list(&s),
        "DeviceStateList" => lists::device_state_list(&s),
        "Parkinglots" => lists::parking_lots(&s),
        "ParkedCalls" => lists::parked_calls(&s),
        "BlindTransfer" => world::blind_transfer(&s),
        "Redirect" => world::redirect(&s),
        "Park" => world::park(&s),
        "QueuePause" => world::queue_pause(&s),
        "QueueAdd" => world::queue_add(&s),
        "QueueRemove" => world::queue_remove(&s),
        "PJSIPShowEndpoints" => db::pjsip_show_endpoints(&s),
        _ if mancmds::is_late(name) => {
            s.ack(&format!("{name} ran (registered at run time)"));
            0
        }
        _ => {
            s.error(&format!("asterisk-standin does not simulate the {name} action"));
            0
        }
    }
}
