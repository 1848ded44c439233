//! Runs one action for one user with AMI's meaning: unknown name, write classes, Originate and
//! dialplan-function rules, no unloading of this module from its own thread, the actions that
//! must never reach the hook, then the hook itself. Refusals that manager.c's `process_message`
//! reports to the security framework are reported here too, from the action thread.

use crate::ami::classes::action_permitted;
use crate::ami::message::{Message, parse_ami_text};
use crate::ami::rules;
use crate::ami::security::{self, Refused};
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

/// An action refused before it runs: the reply to send, and the security event to report.
#[derive(Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The error reply.
    pub reply: Message,
    /// What is reported for it (`None`: manager.c reports nothing for this refusal).
    pub report: Option<Refused>,
}

/// The decision before anything runs: `Err` is the reply to send instead (and its report).
///
/// As `process_message`: an unknown action is RequestBadFormat, one the user's write classes
/// do not allow is RequestNotAllowed. Originate's own check (the `system` class for some
/// applications) is inside manager.c's `action_originate` and reports nothing. Unloading this
/// module from its own action thread is our refusal (it would wait for itself): reported as
/// RequestNotAllowed.
pub fn check(job: &Job, required: Option<u32>) -> Result<(), Refusal> {
    let name = job.action.action().unwrap_or_default();
    let refuse = |reply, report| Err(Refusal { reply, report });
    let Some(required) = required else {
        return refuse(unknown_reply(&job.action, name), Some(Refused::Unknown));
    };
    if !action_permitted(job.write, required) {
        return refuse(error_reply(&job.action, "Permission denied"), Some(Refused::NotAllowed));
    }
    if name.eq_ignore_ascii_case("Originate") {
        if let Err(msg) = rules::originate_permitted(&job.action, job.write) {
            return refuse(error_reply(&job.action, msg), None);
        }
    }
    if rules::unloads_module(&job.action, crate::MODULE_NAME) {
        let reply = error_reply(&job.action, rules::SELF_UNLOAD_REFUSED);
        return refuse(reply, Some(Refused::NotAllowed));
    }
    Ok(())
}

/// The security event for a refused action, reported to the core for the job's session.
fn report(job: &Job, refused: Refused) {
    let name = job.action.action().unwrap_or_default();
    let event = security::for_refused_request(refused, name, &job.user);
    host::security::report(&job.origin, &event);
}

/// Executor for the pool: the whole path of one action on an action thread.
pub fn execute(job: &Job) -> Vec<Message> {
    let name = job.action.action().unwrap_or_default().to_string();
    let required = privileges::required(&name, |line| host::cli::run_core_command(line).ok());
    let mut verdict = check(job, required);
    if matches!(&verdict, Err(r) if r.report == Some(Refused::NotAllowed)) {
        // What was learned may be stale (the action unregistered since, its module unloaded):
        // a refusal is decided on what Asterisk says now, as AMI decides it.
        verdict = check(job, fresh_lookup(&name));
    }
    if let Err(refusal) = verdict {
        if let Some(r) = refusal.report {
            report(job, r);
        }
        return vec![refusal.reply];
    }
    if let Some(replies) = super::own::answer(job) {
        return replies;
    }
    // Last line of defence: whatever the session and `own` did not answer must still never
    // reach the hook if it is on the crash list. AMI would run it: a refusal of ours, reported
    // as a request not allowed.
    if rules::must_not_reach_hook(&name) {
        report(job, Refused::NotAllowed);
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
        let now = fresh_lookup(&name);
        let (reply, refused) = silent_answer(job, now, out.ret);
        if let Some(r) = refused {
            report(job, r);
        }
        return vec![reply];
    }
    replies
}

/// What Asterisk knows of `name` now, not from the cache.
fn fresh_lookup(name: &str) -> Option<u32> {
    privileges::forget(name);
    privileges::required(name, |line| host::cli::run_core_command(line).ok())
}

/// The answer for an action that produced no output through the hook, given what a fresh
/// look-up says of it (`now`) and the hook's return code. `ast_hook_send_action` answers
/// nothing when `action_find` finds no such action (0: unregistered since we learned its
/// classes, e.g. its module was unloaded) and when it finds one it cannot run (-1: no longer
/// registered, or its module not running). AMI over TCP answers the first as an unknown action
/// (RequestBadFormat) and the second "Permission denied" (RequestNotAllowed): so do we. An
/// action that is still known and returned 0 simply sent nothing.
pub fn silent_answer(job: &Job, now: Option<u32>, ret: i32) -> (Message, Option<Refused>) {
    let name = job.action.action().unwrap_or_default();
    match (now, ret) {
        (None, _) => (unknown_reply(&job.action, name), Some(Refused::Unknown)),
        (Some(_), -1) => (error_reply(&job.action, "Permission denied"), Some(Refused::NotAllowed)),
        (Some(_), _) => (error_reply(&job.action, "No response from Asterisk"), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ami::classes::{CALL, COMMAND, ORIGINATE, SYSTEM};
    use crate::ami::security::Origin;

    fn job(write: u32, pairs: &[(&str, &str)]) -> Job {
        Job {
            conn_id: 1,
            action: Message::from_pairs(pairs),
            write,
            user: "bob".into(),
            origin: std::sync::Arc::new(Origin::new(std::net::SocketAddr::from((
                [127, 0, 0, 1],
                5,
            )))),
        }
    }

    fn refusal(j: &Job, required: Option<u32>) -> (String, Option<Refused>) {
        let r = check(j, required).unwrap_err();
        (r.reply.get("Message").unwrap_or_default().to_string(), r.report)
    }

    #[test]
    fn refusals_report_as_process_message() {
        let unknown = job(CALL, &[("Action", "NoSuch")]);
        let (text, report) = refusal(&unknown, None);
        assert!(text.starts_with("Invalid/unknown command: NoSuch."), "{text}");
        assert_eq!(report, Some(Refused::Unknown));

        let denied = job(CALL, &[("Action", "Command"), ("Command", "core show uptime")]);
        assert_eq!(
            refusal(&denied, Some(COMMAND)),
            ("Permission denied".to_string(), Some(Refused::NotAllowed))
        );

        // Originate's own check: no event (manager.c's action_originate reports none).
        let shell =
            job(ORIGINATE, &[("Action", "Originate"), ("Application", "System"), ("Data", "id")]);
        let (text, report) = refusal(&shell, Some(ORIGINATE));
        assert_eq!(text, rules::ORIGINATE_FORBIDDEN);
        assert_eq!(report, None);

        // Our own refusal: unloading this module from its action thread.
        let unload = job(
            SYSTEM | COMMAND,
            &[("Action", "Command"), ("Command", "module unload res_ami_websocket.so")],
        );
        assert_eq!(
            refusal(&unload, Some(COMMAND)),
            (rules::SELF_UNLOAD_REFUSED.to_string(), Some(Refused::NotAllowed))
        );

        // Allowed: nothing refused, nothing reported.
        assert_eq!(check(&job(0, &[("Action", "Ping")]), Some(0)), Ok(()));
        assert_eq!(check(&denied, Some(0)), Ok(()));
    }

    #[test]
    fn silent_hook_runs_are_answered_as_process_message() {
        let j = job(CALL, &[("Action", "WsGone"), ("ActionID", "7")]);
        let (reply, report) = silent_answer(&j, None, 0);
        assert!(reply.get("Message").unwrap().starts_with("Invalid/unknown command: WsGone."));
        assert_eq!(reply.get("ActionID"), Some("7"));
        assert_eq!(report, Some(Refused::Unknown));
        let (reply, report) = silent_answer(&j, Some(CALL), -1);
        assert_eq!(reply.get("Message"), Some("Permission denied"));
        assert_eq!(report, Some(Refused::NotAllowed));
        let (reply, report) = silent_answer(&j, Some(CALL), 0);
        assert_eq!(reply.get("Message"), Some("No response from Asterisk"));
        assert_eq!(report, None);
    }
}
