//! The stand-in's world commands (`standin call|hold|unhold|hangup|transfer|queue-call|park`,
//! `standin world reset`, `standin show world`): one answer line each, errors start `error:`.

use crate::builtins::{Args, Builtin, Status};
use crate::ops;

macro_rules! cmd {
    ($cmd:literal, $summary:literal, $usage:literal, $run:expr) => {
        Builtin { command: $cmd, summary: $summary, usage: $usage, run: $run }
    };
}

/// Prints the answer line of a world operation.
fn answer<T>(a: &Args, r: ops::R<T>, ok: impl FnOnce(T) -> String) -> Status {
    match r {
        Ok(v) => {
            a.out(&format!("{}\n", ok(v)));
            Status::Success
        }
        Err(e) => {
            let e = if e.starts_with("error:") { e } else { format!("error: {e}") };
            a.out(&format!("{e}\n"));
            // The error line is the whole answer (no "Command ... failed." line after it).
            Status::Success
        }
    }
}

fn arg(a: &Args, i: usize) -> Option<&str> {
    a.argv.get(i).map(String::as_str)
}

/// The world commands.
pub static COMMANDS: &[Builtin] = &[
    cmd!(c"standin call", c"A demo phone calls another", c"Usage: standin call <from-exten> <to-exten>\n       PJSIP/<from> dials PJSIP/<to>: ring, answer, bridge. Answers\n       call <caller-uniqueid> <callee-uniqueid> <bridge-id>\n", |a| {
        let (Some(from), Some(to)) = (arg(a, 2), arg(a, 3)) else { return Status::ShowUsage };
        answer(a, ops::call(from, to), |(x, y, b)| format!("call {x} {y} {b}"))
    }),
    cmd!(c"standin hold", c"Put a channel on hold", c"Usage: standin hold <uniqueid>\n       The phone of that channel puts the call on hold (Hold event).\n", |a| {
        let Some(u) = arg(a, 2) else { return Status::ShowUsage };
        answer(a, ops::hold(u, true), |_| format!("hold {u}"))
    }),
    cmd!(c"standin unhold", c"Take a channel off hold", c"Usage: standin unhold <uniqueid>\n       The phone of that channel resumes the call (Unhold event).\n", |a| {
        let Some(u) = arg(a, 2) else { return Status::ShowUsage };
        answer(a, ops::hold(u, false), |_| format!("unhold {u}"))
    }),
    cmd!(c"standin hangup", c"A phone hangs up", c"Usage: standin hangup <uniqueid>\n       The phone of that channel hangs up (HangupRequest, and its bridge peer ends too).\n", |a| {
        let Some(u) = arg(a, 2) else { return Status::ShowUsage };
        answer(a, ops::hangup(u, 16, false), |_| format!("hangup {u}"))
    }),
    cmd!(c"standin transfer", c"Blind transfer of a channel's peer", c"Usage: standin transfer <uniqueid> <exten>\n       That channel's phone blind-transfers its peer to exten; the new leg rings and\n       answers. Answers transfer <transferee-uniqueid> <new-leg-uniqueid>\n", |a| {
        let (Some(u), Some(x)) = (arg(a, 2), arg(a, 3)) else { return Status::ShowUsage };
        let r = ops::blind_transfer(u, x, crate::devices::CONTEXT).and_then(|(t, leg)| {
            let Some(leg) = leg else { return Ok(format!("transfer {t} -")) };
            ops::op(|w, out| ops::answer(w, out, &leg))?;
            Ok(format!("transfer {t} {leg}"))
        });
        answer(a, r, |s| s)
    }),
    cmd!(c"standin queue-call", c"A phone calls a queue", c"Usage: standin queue-call <queue> <from-exten>\n       The caller joins the queue and waits (QueueCallerJoin). Answers queue-call <uniqueid>\n", |a| {
        let (Some(q), Some(from)) = (arg(a, 2), arg(a, 3)) else { return Status::ShowUsage };
        answer(a, ops::queue_call(q, from), |u| format!("queue-call {u}"))
    }),
    cmd!(c"standin queue-answer", c"A queue member takes the first caller", c"Usage: standin queue-answer <queue>\n       The first available member rings and answers the first waiting caller.\n       Answers queue-answer <caller-uniqueid> <member-uniqueid> <bridge-id>\n", |a| {
        let Some(q) = arg(a, 2) else { return Status::ShowUsage };
        let r = ops::queue_offer(q).and_then(|o| {
            let Some((c, m)) = o else { return Err("error: no caller or no available member".into()) };
            let b = ops::queue_answer(&m)?;
            Ok(format!("queue-answer {c} {m} {b}"))
        });
        answer(a, r, |s| s)
    }),
    cmd!(c"standin park", c"Park a channel", c"Usage: standin park <uniqueid>\n       Parks the channel in the lot default (ParkedCall); its peer hangs up.\n       Answers park <space>\n", |a| {
        let Some(u) = arg(a, 2) else { return Status::ShowUsage };
        answer(a, ops::park(u), |s| format!("park {s}"))
    }),
    cmd!(c"standin unpark", c"A phone picks up a parked call", c"Usage: standin unpark <space> <from-exten>\n       The phone dials the space and talks to the parked call (UnParkedCall).\n", |a| {
        let (Some(s), Some(from)) = (arg(a, 2).and_then(|s| s.parse().ok()), arg(a, 3)) else { return Status::ShowUsage };
        answer(a, ops::unpark(s, from), |u| format!("unpark {u}"))
    }),
    cmd!(c"standin world reset", c"End every call", c"Usage: standin world reset\n       Hangs up every channel (Hangup events); queues end empty.\n", |a| {
        answer(a, ops::reset(), |n| format!("reset {n}"))
    }),
    cmd!(c"standin show world", c"The simulated world", c"Usage: standin show world\n       One line per channel, bridge, queue member, queue entry, parked call and hint.\n", |a| {
        a.out(&ops::show());
        Status::Success
    }),
];
