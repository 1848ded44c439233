//! The stand-in core's own CLI commands, registered as real `ast_cli_entry` structs through the
//! same registration as a module's: module load/unload/refresh/reload/show, core set verbose/debug,
//! core show version/uptime/help/channels, core stop now, manager show command(s), standin ...

use std::ffi::{CStr, c_char, c_int};
use std::sync::OnceLock;

use crate::ffi::{self, Ptr, sys};
use crate::{cli, cliwords, loader, logger, mancmds, world};

/// What a built-in handler returns.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Status {
    Success = 0,
    ShowUsage = 1,
    Failure = 2,
}

/// A call of a built-in: the output fd and the words typed.
pub struct Args {
    pub fd: i32,
    pub argv: Vec<String>,
}

impl Args {
    /// Writes output to the command's fd.
    pub fn out(&self, text: &str) {
        ffi::fd_write(self.fd, text);
    }

    fn arg(&self, i: usize) -> &str {
        self.argv.get(i).map(String::as_str).unwrap_or("")
    }
}

/// One built-in command.
pub struct Builtin {
    pub command: &'static CStr,
    pub summary: &'static CStr,
    pub usage: &'static CStr,
    pub run: fn(&Args) -> Status,
}

static ENTRIES: OnceLock<Ptr<sys::ast_cli_entry>> = OnceLock::new();

fn table() -> Vec<&'static Builtin> {
    let mut all: Vec<&'static Builtin> = Vec::new();
    all.extend(CORE.iter());
    all.extend(crate::control::COMMANDS.iter());
    all.extend(crate::worldcmds::COMMANDS.iter());
    all
}

unsafe extern "C" fn trampoline(
    e: *mut sys::ast_cli_entry,
    cmd: c_int,
    a: *mut sys::ast_cli_args,
) -> *mut c_char {
    let all = table();
    let Some(base) = ENTRIES.get() else { return std::ptr::null_mut() };
    // SAFETY: e is one of the entries allocated in `register_all` (same allocation as base).
    let idx = unsafe { e.offset_from(base.0) };
    let Some(b) = usize::try_from(idx).ok().and_then(|i| all.get(i)) else {
        return std::ptr::null_mut();
    };
    if cmd == sys::AMI_WS_CLI_INIT {
        // SAFETY: the core asks us to fill command and usage; both are static strings.
        unsafe {
            (*e).command = b.command.as_ptr().cast_mut();
            (*e).usage = b.usage.as_ptr();
        }
        return std::ptr::null_mut();
    }
    if cmd == sys::AMI_WS_CLI_GENERATE || a.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: for a real call the core passes argc valid strings in argv.
    let args = unsafe {
        let a = &*a;
        let argv = std::slice::from_raw_parts(a.argv, a.argc.max(0) as usize);
        Args { fd: a.fd, argv: argv.iter().map(|p| ffi::text(*p)).collect() }
    };
    std::ptr::without_provenance_mut((b.run)(&args) as usize)
}

/// Registers every built-in command (once, at startup).
pub fn register_all() {
    let all = table();
    let entries: Vec<sys::ast_cli_entry> = all
        .iter()
        .map(|b| sys::ast_cli_entry {
            summary: b.summary.as_ptr(),
            handler: Some(trampoline),
            ..Default::default()
        })
        .collect();
    let leaked: &'static mut [sys::ast_cli_entry] = Box::leak(entries.into_boxed_slice());
    let base = leaked.as_mut_ptr();
    let _ = ENTRIES.set(Ptr(base));
    // SAFETY: the entries are leaked, so they stay at a fixed address forever.
    unsafe {
        cli::standin_cli_register_multiple(base, leaked.len() as c_int, std::ptr::null_mut())
    };
}

macro_rules! builtin {
    ($cmd:literal, $summary:literal, $usage:literal, $run:expr) => {
        Builtin { command: $cmd, summary: $summary, usage: $usage, run: $run }
    };
}

static CORE: &[Builtin] = &[
    builtin!(c"core show help", c"Display help list, or specific help on a command", c"Usage: core show help [topic]\n       Lists commands, or those starting with the topic.\n", |a| {
        cli::help(a.fd, &a.argv.get(3..).unwrap_or_default().join(" "));
        Status::Success
    }),
    builtin!(c"core show version", c"Display version info", c"Usage: core show version\n       Shows the version of this core.\n", |a| {
        if a.argv.len() != 3 {
            return Status::ShowUsage;
        }
        a.out(&format!("Asterisk {} built by standin @ localhost on a {} running Linux (asterisk-standin)\n", crate::version(), std::env::consts::ARCH));
        Status::Success
    }),
    builtin!(c"core show uptime [seconds]", c"Show uptime information", c"Usage: core show uptime [seconds]\n       Shows the time since start and since the last reload.\n", uptime),
    builtin!(c"core set verbose", c"Set level of verbose chattiness", c"Usage: core set verbose [atleast] <level> [silent]\n       core set verbose off\n       Sets option_verbose.\n", set_verbose),
    builtin!(c"core set debug", c"Set level of debug chattiness", c"Usage: core set debug [atleast] <level>\n       core set debug off\n       Sets option_debug.\n", set_debug),
    builtin!(c"core show channels", c"Display information on channels", c"Usage: core show channels\n       Lists the simulated channels.\n", |a| {
        let (lines, processed) = world::with(|w| {
            let l: Vec<String> = w.channels.values().map(|c| format!("{:<20.20} {:<20.20} {:<7.7} {}\n", c.name, format!("{}@{}:{}", c.exten, c.context, c.priority), crate::world::state_desc(c.state), c.appl)).collect();
            (l, w.processed_calls)
        });
        a.out(&format!("{:<20.20} {:<20.20} {:<7.7} {}\n", "Channel", "Location", "State", "Application(Data)"));
        lines.iter().for_each(|l| a.out(l));
        a.out(&format!("{} active channels\n{} calls processed\n", lines.len(), processed));
        Status::Success
    }),
    builtin!(c"module load", c"Load a module by name", c"Usage: module load <module name>\n       Loads the module from the module directory.\n", |a| {
        if a.argv.len() != 3 {
            return Status::ShowUsage;
        }
        if loader::load(a.arg(2)) != loader::LOAD_SUCCESS {
            a.out(&format!("Unable to load module {}\n", a.arg(2)));
            return Status::Failure;
        }
        a.out(&format!("Loaded {}\n", a.arg(2)));
        Status::Success
    }),
    builtin!(c"module unload", c"Unload a module by name", c"Usage: module unload [-f|-h] <module_1> [<module_2> ... ]\n       Unloads modules; -h unloads even when the module refuses.\n", unload),
    builtin!(c"module refresh", c"Completely unloads and loads a module by name", c"Usage: module refresh <module name> [recursively]\n       Unloads and loads the specified module into Asterisk.\n", refresh),
    builtin!(c"module reload", c"Reload configuration for a module", c"Usage: module reload [module ...]\n       Reloads the listed modules, or all.\n", reload),
    builtin!(c"module show [like]", c"List modules and info", c"Usage: module show [like keyword]\n       Lists the loaded modules.\n", module_show),
    builtin!(c"manager show command", c"Show a manager interface command", c"Usage: manager show command <actionname> [<actionname> [...]]\n       Shows details of manager actions, with their [Privilege].\n", |a| {
        if a.argv.len() < 4 {
            return Status::ShowUsage;
        }
        a.out(&mancmds::show_command(a.argv.get(3..).unwrap_or_default()));
        Status::Success
    }),
    builtin!(c"manager show commands", c"List manager interface commands", c"Usage: manager show commands\n       Lists every manager action.\n", |a| {
        a.out(&mancmds::show_commands());
        Status::Success
    }),
    builtin!(c"manager reload", c"Reload manager configurations", c"Usage: manager reload\n       Re-reads manager.conf [general].\n", |_| {
        crate::config_c::read_manager_conf();
        Status::Success
    }),
];

fn uptime(a: &Args) -> Status {
    let printsec = match a.argv.len() {
        4 if a.arg(3).eq_ignore_ascii_case("seconds") => true,
        3 => false,
        _ => return Status::ShowUsage,
    };
    let up = crate::started().elapsed().as_secs();
    a.out(&cliwords::uptime_str("System uptime: ", up, printsec));
    a.out(&cliwords::uptime_str("Last reload: ", up, printsec));
    Status::Success
}

fn level_text(v: i32) -> String {
    if v == 0 { "OFF".to_string() } else { v.to_string() }
}

fn report(a: &Args, what: &str, old: i32, new: i32) {
    if old == new {
        a.out(&format!("{what} is still {}.\n", level_text(old)));
    } else {
        a.out(&format!("{what} was {} and is now {}.\n", level_text(old), level_text(new)));
    }
}

/// Parses `[atleast] <level> [silent]` | `off` after the three command words.
fn parse_level(a: &Args, allow_silent: bool) -> Option<(i32, bool, bool)> {
    if a.argv.len() <= 3 {
        return None;
    }
    if a.argv.len() == 4 && a.arg(3).eq_ignore_ascii_case("off") {
        return Some((0, false, false));
    }
    let atleast = a.arg(3).eq_ignore_ascii_case("atleast");
    let at = 3 + usize::from(atleast);
    let silent =
        allow_silent && a.argv.len() == at + 2 && a.arg(at + 1).eq_ignore_ascii_case("silent");
    if a.argv.len() != at + 1 + usize::from(silent) {
        return None;
    }
    let level = a.arg(at).parse().ok()?;
    Some((level, atleast, silent))
}

fn set_verbose(a: &Args) -> Status {
    let Some((level, atleast, silent)) = parse_level(a, true) else { return Status::ShowUsage };
    let old = logger::verbose();
    let new = if !atleast || level > old { level } else { old };
    logger::set_verbose(new);
    if !silent {
        report(a, "Console verbose", old, new);
    }
    Status::Success
}

fn set_debug(a: &Args) -> Status {
    let Some((level, atleast, _)) = parse_level(a, false) else { return Status::ShowUsage };
    let old = logger::debug();
    let new = if !atleast || level > old { level } else { old };
    logger::set_debug(new);
    report(a, "Core debug", old, new);
    Status::Success
}

fn unload(a: &Args) -> Status {
    if a.argv.len() < 3 {
        return Status::ShowUsage;
    }
    let mut x = 2;
    let mut hard = false;
    if a.arg(2).starts_with('-') {
        match a.arg(2).as_bytes().get(1) {
            Some(b'f') => {}
            Some(b'h') => hard = true,
            _ => return Status::ShowUsage,
        }
        if a.argv.len() < 4 {
            return Status::ShowUsage;
        }
        x = 3;
    }
    for name in a.argv.iter().skip(x) {
        if loader::unload(name, hard) != 0 {
            a.out(&format!("Unable to unload resource {name}\n"));
            return Status::Failure;
        }
        a.out(&format!("Unloaded {name}\n"));
    }
    Status::Success
}

/// `module refresh <module>`: a soft unload, then a load (`ast_refresh_resource`).
fn refresh(a: &Args) -> Status {
    if !(3..=4).contains(&a.argv.len()) {
        return Status::ShowUsage;
    }
    let name = a.arg(2);
    let res = if loader::unload(name, false) != 0 { 1 } else { -loader::load(name).abs() };
    if res != 0 {
        a.out(&format!("Unable to {} resource {name}\n", if res > 0 { "unload" } else { "load" }));
        return Status::Failure;
    }
    a.out(&format!("Unloaded and loaded {name}\n"));
    Status::Success
}

fn reload(a: &Args) -> Status {
    use loader::Reload;
    if a.argv.len() == 2 {
        loader::reload(None);
        return Status::Success;
    }
    for name in a.argv.iter().skip(2) {
        let msg = match loader::reload(Some(name)) {
            Reload::NotFound => format!("No such module '{name}'\n"),
            Reload::NotImplemented => format!("The module '{name}' does not support reloads\n"),
            Reload::Error => format!("The module '{name}' reported a reload failure\n"),
            Reload::InProgress => {
                "A module reload request is already in progress; please be patient\n".to_string()
            }
            Reload::Uninitialized => format!(
                "The module '{name}' was not properly initialized. Before reloading the module, you must run \"module load {name}\" and fix whatever is preventing the module from being initialized.\n"
            ),
            Reload::Success => format!("Module '{name}' reloaded successfully.\n"),
        };
        a.out(&msg);
    }
    Status::Success
}

fn module_show(a: &Args) -> Status {
    let like = match a.argv.len() {
        2 => "",
        4 if a.arg(2).eq_ignore_ascii_case("like") => a.arg(3),
        _ => return Status::ShowUsage,
    };
    a.out(&format!(
        "{:<30} {:<40.40} {:<10} {:<11} {:>13}\n",
        "Module", "Description", "Use Count", "Status", "Support Level"
    ));
    let mods = crate::modules::list(like);
    for (name, description, status, level) in &mods {
        a.out(&format!("{name:<30} {description:<40.40} {:<10} {status:<11} {level:>13}\n", 0));
    }
    a.out(&format!("{} modules loaded\n", mods.len()));
    Status::Success
}
