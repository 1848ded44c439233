//! Runs one action for one user with AMI's meaning: unknown name, write classes, Originate and
//! dialplan-function rules, no unloading of this module from its own thread, the actions that
//! must never reach the hook, then the hook itself.

use crate::ami::classes::action_permitted;
use crate::ami::message::{Message, parse_ami_text};
use crate::ami::rules;
use crate::host;

use super::pool::{Job, error_reply};
use super::privileges;

/// AMI's answer for an action name Asterisk does not know.
pub fn unknown_reply(action: &Message, name: &str) -> Message {
    error_reply(
        action,
        &format!(
            "Invalid/unknown command: {name}. Use Action: ListCommands to show available commands."
        ),
    )
}

/// The decision before anything runs: `Err` is the reply to send instead.
pub fn check(job: &Job, required: Option<u32>) -> Result<(), Message> {
    let name = job.action.action().unwrap_or_default();
    let Some(required) = required else { return Err(unknown_reply(&job.action, name)) };
    if !action_permitted(job.write, required) {
        return Err(error_reply(&job.action, "Permission denied"));
    }
    if name.eq_ignore_ascii_case("Originate") {
        rules::originate_permitted(&job.action, job.write)
            .map_err(|msg| error_reply(&job.action, msg))?;
    }
    if rules::unloads_module(&job.action, crate::MODULE_NAME) {
        return Err(error_reply(&job.action, rules::SELF_UNLOAD_REFUSED));
    }
    Ok(())
}

/// Executor for the pool: the whole path of one action on an action thread.
pub fn execute(job: &Job) -> Vec<Message> {
    let name = job.action.action().unwrap_or_default().to_string();
    let required = privileges::required(&name, |line| host::cli::run_core_command(line).ok());
    if let Err(reply) = check(job, required) {
        return vec![reply];
    }
    if let Some(replies) = super::own::answer(job) {
        return replies;
    }
    // Last line of defence: whatever the session and `own` did not answer must still never
    // reach the hook if it is on the crash list.
    if rules::must_not_reach_hook(&name) {
        return vec![error_reply(
            &job.action,
            &format!("{name} is not available over the WebSocket"),
        )];
    }
    let text = job.action.to_ami_text();
    let out = match host::manager::send_action_text(job.conn_id, &text) {
        Ok(out) => out,
        Err(e) => return vec![error_reply(&job.action, e)],
    };
    let replies = parse_ami_text(&out.text);
    if replies.is_empty() {
        return vec![error_reply(&job.action, "No response from Asterisk")];
    }
    replies
}
