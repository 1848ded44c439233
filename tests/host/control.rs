//! Driving the stand-in: commands from stdin (like `asterisk -r`) and from a unix control socket
//! (one command per connection, output returned, like `asterisk -rx`), the `--rx` client, and
//! the stand-in's own commands (standin ..., traffic ..., core stop now).

use std::io::{BufRead, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::builtins::{Args, Builtin, Status};
use crate::logger::{NOTICE, WARNING};
use crate::{cli, hook, loader, logger, slog, traffic, world};

/// The name of the short-lived threads that serve one control connection each.
const RX_THREAD: &str = "standin-rx";

/// Serves the control socket on a persistent thread; each connection gets its own thread.
pub fn serve(path: &Path) -> std::io::Result<()> {
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path)?;
    std::thread::Builder::new().name("control".into()).spawn(move || {
        for conn in listener.incoming().flatten() {
            let _ = std::thread::Builder::new().name(RX_THREAD.into()).spawn(move || handle(conn));
        }
    })?;
    Ok(())
}

/// Reads one command line, runs it with the connection as the CLI fd, then closes it (the
/// client sees the end of the reply only once the descriptor is closed).
fn handle(mut conn: UnixStream) {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while line.len() < 65536 {
        match conn.read(&mut byte) {
            Ok(1) if byte[0] != b'\n' => line.push(byte[0]),
            _ => break,
        }
    }
    let text = String::from_utf8_lossy(&line);
    let cmd = text.trim_end_matches('\r').trim();
    if !cmd.is_empty() {
        cli::command_full(conn.as_raw_fd(), cmd);
    }
    let _ = conn.flush();
    drop(conn);
}

/// Reads commands from stdin until EOF, output on stdout.
pub fn stdin_loop() {
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let cmd = line.trim();
        if !cmd.is_empty() {
            cli::command_full(1, cmd);
        }
    }
}

/// `--rx`: sends one command to a running stand-in and prints the reply. Returns the exit code.
pub fn rx(path: &Path, cmd: &str) -> i32 {
    let mut conn = match UnixStream::connect(path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("Unable to connect to the stand-in at {}: {e}", path.display());
            return 1;
        }
    };
    if conn.write_all(format!("{cmd}\n").as_bytes()).is_err() {
        return 1;
    }
    let mut out = Vec::new();
    let _ = conn.read_to_end(&mut out);
    let _ = std::io::stdout().write_all(&out);
    0
}

/// Entries in a /proc directory (open descriptors in fd/).
fn count_dir(path: &str) -> usize {
    std::fs::read_dir(path).map(|d| d.count()).unwrap_or(0)
}

/// Threads of the process, not counting other control-connection threads (which may still be
/// exiting after serving an earlier command).
fn count_threads() -> usize {
    let me = crate::ffi::tid().to_string();
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else { return 0 };
    dir.flatten()
        .filter(|t| {
            let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
            comm.trim_end() != RX_THREAD || t.file_name().to_string_lossy() == me
        })
        .count()
}

/// Unloads the modules and exits 0 (`core stop now`).
pub fn stop_now() -> ! {
    cli::SHUTTING_DOWN.store(true, Ordering::SeqCst);
    traffic::set_rate(0.0);
    loader::shutdown();
    slog!(NOTICE, "standin: stopped");
    crate::cleanup();
    std::process::exit(0)
}

macro_rules! cmd {
    ($cmd:literal, $summary:literal, $usage:literal, $run:expr) => {
        Builtin { command: $cmd, summary: $summary, usage: $usage, run: $run }
    };
}

/// The stand-in's own commands (registered with the core's).
pub static COMMANDS: &[Builtin] = &[
    cmd!(c"core stop now", c"Shut down the stand-in immediately", c"Usage: core stop now\n       Unloads the modules and exits.\n", |_| stop_now()),
    cmd!(c"standin show executed", c"Commands Originate System would have run", c"Usage: standin show executed\n       Lists the Data of every Originate Application=System (never run).\n", |a| {
        let list = world::with(|w| w.executed.clone());
        a.out(&format!("executed: {}\n", list.len()));
        for d in list {
            a.out(&format!("{d}\n"));
        }
        Status::Success
    }),
    cmd!(c"standin show actions", c"Texts sent to ast_hook_send_action", c"Usage: standin show actions\n       Lists every text that reached ast_hook_send_action (escaped, one per line) with the\n       number of header lines the core kept from it.\n", |a| {
        let list = world::with(|w| w.sent_actions.clone());
        a.out(&format!("actions: {}\n", list.len()));
        for (text, kept) in list {
            a.out(&format!("headers {kept}: {}\n", text.escape_debug()));
        }
        Status::Success
    }),
    cmd!(c"standin register action", c"Register a manager action at run time", c"Usage: standin register action <name> <classes|none>\n       Registers an action (as a module loaded later would) that answers Success.\n", |a| {
        let (Some(name), Some(classes)) = (a.argv.get(3), a.argv.get(4)) else {
            return Status::ShowUsage;
        };
        match crate::mancmds::register_late(name, classes) {
            Ok(bits) => {
                a.out(&format!("registered {name} ({})\n", crate::amimsg::authority_to_str(bits)));
                Status::Success
            }
            Err(e) => {
                a.out(&format!("{e}\n"));
                Status::Failure
            }
        }
    }),
    cmd!(c"standin unregister action", c"Unregister a run-time manager action", c"Usage: standin unregister action <name>\n       Unregisters an action registered with 'standin register action' (as its module's unload would).\n", |a| {
        let Some(name) = a.argv.get(3) else {
            return Status::ShowUsage;
        };
        match crate::mancmds::unregister_late(name) {
            Ok(line) => {
                crate::verb!(5, "{line}");
                a.out(&format!("unregistered {name}\n"));
                Status::Success
            }
            Err(e) => {
                a.out(&format!("{e}\n"));
                Status::Failure
            }
        }
    }),
    cmd!(c"standin show resources", c"Threads and open descriptors of the stand-in", c"Usage: standin show resources\n       Counts /proc/self/task and /proc/self/fd entries; heap in use and heap kept free are glibc mallinfo2 bytes.\n", |a| {
        let (heap_in_use, heap_kept_free) = crate::ffi::heap_in_use_and_kept_free();
        a.out(&format!(
            "threads: {}\nfds: {}\nheap in use: {}\nheap kept free: {}\nchannel handles: {}\nchannel snapshots: {}\nchannel locks held: {}\n",
            count_threads(),
            count_dir("/proc/self/fd"),
            heap_in_use,
            heap_kept_free,
            crate::chanapi::live_handles(),
            crate::statusapi::live_snapshots(),
            crate::statusapi::held_locks()
        ));
        Status::Success
    }),
    cmd!(c"standin hookstats", c"Hook helper call durations", c"Usage: standin hookstats [reset]\n       Distribution of hook helper call times in ns, or clear it.\n", |a| {
        if a.argv.get(2).is_some_and(|w| w == "reset") {
            crate::hookstats::reset();
            a.out("hookstats reset\n");
        } else {
            a.out(&crate::hookstats::report());
        }
        Status::Success
    }),
    cmd!(c"standin show hooks", c"Registered manager hooks", c"Usage: standin show hooks\n       Lists the registered manager hooks.\n", |a| {
        a.out(&format!("hooks: {}\n", hook::count()));
        for f in hook::describe() {
            a.out(&format!("{f}\n"));
        }
        Status::Success
    }),
    cmd!(c"standin log", c"Recent log lines", c"Usage: standin log [lines]\n       Prints the most recent log lines (default 200).\n", |a| {
        let n = a.argv.get(2).and_then(|n| n.parse().ok()).unwrap_or(200);
        a.out(&logger::recent(n));
        Status::Success
    }),
    cmd!(c"standin sleep", c"Block for a number of seconds", c"Usage: standin sleep <seconds>\n       Blocks the caller (a slow command for tests).\n", |a| {
        let Some(secs) = a.argv.get(2).and_then(|s| s.parse::<f64>().ok()).filter(|s| (0.0..=3600.0).contains(s)) else {
            return Status::ShowUsage;
        };
        std::thread::sleep(Duration::from_secs_f64(secs));
        a.out(&format!("slept {secs} s\n"));
        Status::Success
    }),
    cmd!(c"traffic on", c"Start generating calls", c"Usage: traffic on\n       Generates calls at the current rate (1 per second if none).\n", |a| {
        let r = if traffic::rate() > 0.0 { traffic::rate() } else { 1.0 };
        traffic::set_rate(r);
        warn_disabled(a);
        a.out(&format!("traffic on: {r} calls/s\n"));
        Status::Success
    }),
    cmd!(c"traffic off", c"Stop generating calls", c"Usage: traffic off\n       Stops starting new calls (calls in progress finish).\n", |a| {
        traffic::set_rate(0.0);
        a.out("traffic off\n");
        Status::Success
    }),
    cmd!(c"traffic rate", c"Set the call rate", c"Usage: traffic rate <calls per second>\n       Sets the generator's rate (0 stops it).\n", |a| {
        let Some(r) = a.argv.get(2).and_then(|s| s.parse::<f64>().ok()).filter(|r| r.is_finite() && *r >= 0.0) else {
            return Status::ShowUsage;
        };
        traffic::set_rate(r);
        a.out(&format!("traffic rate: {r} calls/s\n"));
        Status::Success
    }),
    cmd!(c"traffic replay", c"Replay the recorded events", c"Usage: traffic replay [speed]\n       Raises the recording's events (speed 0: at once; 1: recorded pace).\n", |a| {
        let speed = a.argv.get(2).and_then(|s| s.parse::<f64>().ok()).unwrap_or(0.0);
        warn_disabled(a);
        a.out(&format!("replaying {} recorded events\n", traffic::replay(speed)));
        Status::Success
    }),
    cmd!(c"traffic burst", c"Raise a burst of UserEvents", c"Usage: traffic burst <count> <per second>\n       Raises UserEvent Burst events with Seq and SentNs (ns since the epoch).\n", |a| {
        let (Some(n), Some(r)) = (a.argv.get(2).and_then(|s| s.parse::<u64>().ok()), a.argv.get(3).and_then(|s| s.parse::<f64>().ok())) else {
            return Status::ShowUsage;
        };
        warn_disabled(a);
        if !traffic::burst(n, r) {
            a.out("a burst is already running\n");
            return Status::Failure;
        }
        a.out(&format!("burst started: {n} events at {r}/s\n"));
        Status::Success
    }),
    cmd!(c"traffic show", c"Traffic generator status", c"Usage: traffic show\n       Shows the call rate and live channels.\n", |a| {
        a.out(&format!("rate: {} calls/s\nchannels: {}\n", traffic::rate(), traffic::live_channels()));
        Status::Success
    }),
];

fn warn_disabled(a: &Args) {
    if !hook::ENABLED.load(Ordering::Relaxed) {
        slog!(
            WARNING,
            "standin: AMI is disabled (manager.conf enabled = no): hooks get no bus events"
        );
        a.out("warning: manager.conf [general] enabled = no, so hooks get none of these events\n");
    }
}
