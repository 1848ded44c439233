//! The `ws ...` CLI commands.
#![forbid(unsafe_code)]

use crate::host::cli::{CliCommand, CliStatus};

/// Every command this module registers.
pub static COMMANDS: &[CliCommand] = &[CliCommand {
    command: c"ws show status",
    summary: c"Show the AMI WebSocket listener status",
    usage: c"Usage: ws show status\n       Shows the listener, client count and event counters.\n",
    run: show_status,
}];

fn show_status(_args: &[String]) -> (CliStatus, String) {
    (CliStatus::Success, "AMI WebSocket: loaded\n".into())
}
