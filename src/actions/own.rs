//! Actions the module answers itself with AMI's meaning because through the hook they would
//! crash the PBX: Getvar, Hangup, ListCommands and Status (in status.rs), without the session
//! manager.c dereferences. Replies are shaped exactly like manager.c's.

use crate::ami::message::Message;
use crate::ami::rules::{GETVAR_FORBIDDEN, function_read_permitted};
use crate::host::channel::{self, Channel};
use crate::host::regex::PosixRegex;

use super::pool::{Job, error_reply};

/// `Response: Success` with the request's ActionID (astman_start_ack / astman_send_ack).
fn ack(action: &Message, message: Option<&str>) -> Message {
    let mut m = Message::default();
    m.push("Response", "Success");
    push_action_id(&mut m, action);
    if let Some(text) = message {
        m.push("Message", text);
    }
    m
}

/// `ActionID: x` as manager.c writes it: the value `astman_get_header` reads, none when empty.
fn push_action_id(reply: &mut Message, action: &Message) {
    let id = action.header("ActionID");
    if !id.is_empty() {
        reply.push("ActionID", id);
    }
}

/// The answer for an action the module handles itself, or `None` when it is not one of them.
pub fn answer(job: &Job) -> Option<Vec<Message>> {
    let name = job.action.action().unwrap_or_default();
    let is = |n: &str| name.eq_ignore_ascii_case(n);
    if is("Getvar") {
        Some(vec![getvar(job)])
    } else if is("Hangup") {
        Some(hangup(&job.action, &job.user))
    } else if is("ListCommands") {
        Some(vec![list_commands(job)])
    } else if is("Status") {
        Some(super::status::status(job))
    } else {
        None
    }
}

/// manager.c's action_getvar, without the session it dereferences.
fn getvar(job: &Job) -> Message {
    let m = &job.action;
    let var = m.header("Variable");
    if var.is_empty() {
        return error_reply(m, "No variable specified");
    }
    if !function_read_permitted(var, job.write) {
        return error_reply(m, GETVAR_FORBIDDEN);
    }
    let name = m.header("Channel");
    let chan = if name.is_empty() {
        None
    } else {
        match Channel::by_name(name) {
            Some(c) => Some(c),
            None => return error_reply(m, "No such channel"),
        }
    };
    let value = if var.ends_with(')') {
        match chan.or_else(Channel::dummy) {
            Some(c) => channel::function(&c, var).unwrap_or_default(),
            None => {
                crate::ast_error!("Unable to allocate a dummy channel for Getvar {var}");
                String::new()
            }
        }
    } else {
        channel::variable(chan.as_ref(), var).unwrap_or_default()
    };
    let mut reply = ack(m, None);
    reply.push("Variable", var);
    reply.push("Value", value);
    reply
}

/// The actions Asterisk knows, with synopses, from `manager show commands`.
fn known_actions() -> Vec<(String, String)> {
    let out = crate::host::cli::run_core_command("manager show commands").unwrap_or_default();
    parse_action_list(&out)
}

/// Parses `manager show commands` (`  Name  Synopsis` rows after a dashed header line).
pub fn parse_action_list(out: &str) -> Vec<(String, String)> {
    out.lines()
        .skip_while(|l| !l.trim_start().starts_with("------"))
        .skip(1)
        .filter_map(|l| {
            let l = l.trim();
            let (name, synopsis) = l.split_once(char::is_whitespace).unwrap_or((l, ""));
            let valid = !name.is_empty() && crate::ami::validate::is_valid_name(name);
            valid.then(|| (name.to_string(), synopsis.trim().to_string()))
        })
        .collect()
}

/// manager.c's action_listcommands: every action this user may run, as `Name: synopsis (Priv: x)`.
fn list_commands(job: &Job) -> Message {
    let mut reply = ack(&job.action, None);
    // `manager show commands` gives the names (its synopses are cut to the screen width);
    // `manager show command <name>` (cached) gives the whole synopsis and the classes.
    for (name, _) in known_actions() {
        let lookup = |line: &str| crate::host::cli::run_core_command(line).ok();
        let Some(info) = super::privileges::info(&name, lookup) else { continue };
        if crate::ami::classes::action_permitted(job.write, info.required) {
            let privs = crate::ami::classes::perm_to_str(info.required);
            reply.push(name, format!("{} (Priv: {privs})", info.synopsis));
        }
    }
    reply
}

/// AMI's cause parsing: 0..=127, otherwise 0 (hang up without setting a cause).
fn cause_code(cause: &str) -> i32 {
    match cause.parse::<i32>() {
        Ok(c) if (0..=127).contains(&c) => c,
        _ => {
            if !cause.is_empty() {
                crate::ast_notice!("Invalid 'Cause: {cause}' in manager action Hangup");
            }
            0
        }
    }
}

/// manager.c's action_hangup (name or /regex/ form), without the session it dereferences. Each
/// channel hung up is logged at verbosity 3 with the user's name, as AMI logs it.
fn hangup(m: &Message, user: &str) -> Vec<Message> {
    let log = |name: &str| {
        crate::ast_verb!(3, "WebSocket Manager '{user}' hanging up channel: {name}");
    };
    let target = m.header("Channel");
    if target.is_empty() {
        return vec![error_reply(m, "No channel specified")];
    }
    let cause = cause_code(m.header("Cause"));
    if !target.starts_with('/') {
        let Some(c) = Channel::by_name(target) else {
            crate::ast_notice!("Request to hangup non-existent channel: {target}");
            return vec![error_reply(m, "No such channel")];
        };
        log(&c.name());
        c.soft_hangup(cause);
        return vec![ack(m, Some("Channel Hungup"))];
    }
    let Some(pattern) = target.strip_prefix('/').and_then(|t| t.strip_suffix('/')) else {
        return vec![error_reply(m, "Regex format invalid, Channel param should be /regex/")];
    };
    let Ok(re) = PosixRegex::new(pattern) else {
        return vec![error_reply(m, &format!("Regex compile failed on: {target}"))];
    };
    let mut start = ack(m, None);
    start.headers.insert(start.headers.len().min(2), ("EventList".into(), "start".into()));
    start.push("Message", "Channels hung up will follow");
    let mut out = vec![start];
    for c in Channel::all() {
        let name = c.name();
        if !re.is_match(&name).unwrap_or(false) {
            continue;
        }
        log(&name);
        c.soft_hangup(cause);
        let mut ev = Message::default();
        ev.push("Event", "ChannelHungup");
        ev.push("Channel", name);
        push_action_id(&mut ev, m);
        out.push(ev);
    }
    let mut done = Message::default();
    done.push("Event", "ChannelsHungupListComplete");
    push_action_id(&mut done, m);
    done.push("EventList", "Complete");
    done.push("ListItems", (out.len() - 1).to_string());
    out.push(done);
    out
}

#[cfg(test)]
mod tests {
    use super::{cause_code, parse_action_list};

    #[test]
    fn action_list_rows_are_read_after_the_dashes() {
        let out = "  Action            Synopsis\n  ------            --------\n  Ping              Keepalive command.\n  CoreShowChannels  List currently active channels.\n";
        assert_eq!(
            parse_action_list(out),
            [
                ("Ping".to_string(), "Keepalive command.".to_string()),
                ("CoreShowChannels".to_string(), "List currently active channels.".to_string())
            ]
        );
    }

    #[test]
    fn causes_outside_0_to_127_mean_no_cause() {
        assert_eq!(cause_code("16"), 16);
        assert_eq!(cause_code("127"), 127);
        assert_eq!(cause_code("128"), 0);
        assert_eq!(cause_code("-1"), 0);
        assert_eq!(cause_code("16x"), 0);
        assert_eq!(cause_code(""), 0);
    }
}
