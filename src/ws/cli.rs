//! The `ws ...` CLI commands: `ws show clients`, `ws show status`, `ws kick <id>`.
#![forbid(unsafe_code)]

use std::fmt::Write;
use std::time::Duration;

use super::shared::{Command, Snapshot};
use crate::host::cli::{CliCommand, CliStatus};

/// Every command this module registers.
pub static COMMANDS: &[CliCommand] = &[
    CliCommand {
        command: c"ws show clients",
        summary: c"List AMI WebSocket clients",
        usage: c"Usage: ws show clients\n       Lists every connection: id, remote address, user, connected since,\n       subprotocol, TLS, events sent, bytes queued, events lost.\n",
        run: show_clients,
    },
    CliCommand {
        command: c"ws show status",
        summary: c"Show the AMI WebSocket listener status",
        usage: c"Usage: ws show status\n       Shows the listener, clients, the event ring and counters.\n",
        run: show_status,
    },
    CliCommand {
        command: c"ws show nats",
        summary: c"Show the AMI WebSocket NATS publisher",
        usage: c"Usage: ws show nats\n       Shows the NATS publisher ([nats] in ami_websocket.conf): server,\n       events published, confirmed, in flight, rejected, lost, reconnects.\n",
        run: show_nats,
    },
    CliCommand {
        command: c"ws kick",
        summary: c"Disconnect an AMI WebSocket client",
        usage: c"Usage: ws kick <id>\n       Closes the connection with the given id (see ws show clients).\n",
        run: kick,
    },
];

const SNAPSHOT_WAIT: Duration = Duration::from_millis(500);

fn not_running() -> (CliStatus, String) {
    (CliStatus::Success, "AMI WebSocket listener is not running.\n".into())
}

/// UTC `YYYY-MM-DD HH:MM:SS` for a Unix time (civil-from-days, no time zone database needed).
pub fn format_utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The `ws show clients` table.
pub fn render_clients(snap: &Snapshot) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<6} {:<40} {:<16} {:<19} {:<9} {:<4} {:>10} {:>10} {:>8}",
        "ID", "Address", "User", "Connected since", "Proto", "TLS", "Sent", "Queued", "Lost"
    );
    for c in &snap.clients {
        let _ = writeln!(
            out,
            "{:<6} {:<40} {:<16} {:<19} {:<9} {:<4} {:>10} {:>10} {:>8}",
            c.id,
            c.peer,
            if c.user.is_empty() { "-" } else { &c.user },
            format_utc(c.since),
            c.proto,
            if c.tls { "Yes" } else { "No" },
            c.events_sent,
            c.queued,
            c.events_lost
        );
    }
    let _ = writeln!(out, "{} client(s)", snap.clients.len());
    out
}

fn show_clients(args: &[String]) -> (CliStatus, String) {
    if args.len() != 3 {
        return (CliStatus::ShowUsage, String::new());
    }
    let Some(shared) = crate::state::shared() else { return not_running() };
    if shared.stop.load(std::sync::atomic::Ordering::Acquire) {
        return (
            CliStatus::Success,
            "AMI WebSocket listener is stopped (unload pending).\n".into(),
        );
    }
    (CliStatus::Success, render_clients(&shared.fresh_snapshot(SNAPSHOT_WAIT)))
}

fn show_status(args: &[String]) -> (CliStatus, String) {
    if args.len() != 3 {
        return (CliStatus::ShowUsage, String::new());
    }
    let Some(shared) = crate::state::shared() else { return not_running() };
    let snap = shared.fresh_snapshot(SNAPSHOT_WAIT);
    let s = &snap.status;
    let log = &shared.log;
    let mut out = String::new();
    if shared.stop.load(std::sync::atomic::Ordering::Acquire) {
        let _ = writeln!(
            out,
            "Listener:            STOPPED (a refused unload waits for a running action; \
             'module reload' listens again once it ends)"
        );
        return (CliStatus::Success, out);
    }
    let _ = writeln!(out, "Listening on:        {}", s.listening);
    let _ = writeln!(out, "Connections:         {} ({} logged in)", s.connections, s.logged_in);
    let _ = writeln!(out, "Accepted / refused:  {} / {}", s.accepted, s.refused);
    let _ = writeln!(out, "Event ring:          {} of {} events", log.len(), log.capacity());
    let _ = writeln!(out, "Events in:           {}", log.next_seq().saturating_sub(1));
    let _ = writeln!(out, "Events delivered:    {}", s.delivered);
    let _ = writeln!(out, "Events lost:         {}", s.lost);
    let _ = writeln!(out, "Actions run:         {}", s.actions);
    let _ = writeln!(
        out,
        "Compressing:         {} (permessage-deflate clients; {} compressed messages in)",
        s.compressing, s.inflated_in
    );
    let _ = writeln!(
        out,
        "Bytes out:           {} raw, {} on the wire",
        s.bytes_out_raw, s.bytes_out_wire
    );
    let _ = writeln!(
        out,
        "Rates (last second): {:.0} events/s in, {:.0} deliveries/s out",
        s.in_per_sec, s.out_per_sec
    );
    (CliStatus::Success, out)
}

fn show_nats(args: &[String]) -> (CliStatus, String) {
    if args.len() != 3 {
        return (CliStatus::ShowUsage, String::new());
    }
    match crate::state::nats_stats() {
        Some((stats, system)) => (CliStatus::Success, crate::nats::cli::render(&stats, &system)),
        None => {
            (CliStatus::Success, "NATS publisher is not enabled ([nats] enabled = no).\n".into())
        }
    }
}

fn kick(args: &[String]) -> (CliStatus, String) {
    let Some(id) = args.get(2).and_then(|a| a.parse::<u64>().ok()).filter(|_| args.len() == 3)
    else {
        return (CliStatus::ShowUsage, String::new());
    };
    let Some(shared) = crate::state::shared() else { return not_running() };
    let before = shared.fresh_snapshot(SNAPSHOT_WAIT);
    if !before.clients.iter().any(|c| c.id == id) {
        return (CliStatus::Failure, format!("No client with id {id}.\n"));
    }
    shared.send(Command::Kick(id));
    (CliStatus::Success, format!("Client {id} disconnected.\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ws::shared::ClientRow;

    #[test]
    fn utc_dates() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00");
        assert_eq!(format_utc(1_795_299_369), "2026-11-21 22:16:09");
        assert_eq!(format_utc(951_782_400), "2000-02-29 00:00:00");
    }

    #[test]
    fn clients_table_has_a_row_per_client_and_a_count() {
        let snap = Snapshot {
            clients: vec![ClientRow {
                id: 7,
                peer: "127.0.0.1:5000".into(),
                user: "admin".into(),
                proto: "ami-json".into(),
                events_sent: 42,
                ..ClientRow::default()
            }],
            ..Snapshot::default()
        };
        let t = render_clients(&snap);
        let row = t.lines().nth(1).unwrap();
        assert!(row.starts_with("7 "));
        assert!(row.contains("admin") && row.contains("ami-json") && row.contains(" 42 "));
        assert!(t.ends_with("1 client(s)\n"));
    }
}
