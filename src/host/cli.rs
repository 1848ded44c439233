//! CLI commands: registration of our entries, the handler trampoline, and running core commands
//! with their output captured.

use std::ffi::{CStr, CString, c_char, c_int};
use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};

use crate::sys;

/// What a command handler returns besides its output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CliStatus {
    /// `CLI_SUCCESS`
    Success,
    /// `CLI_SHOWUSAGE`: the core prints the usage text.
    ShowUsage,
    /// `CLI_FAILURE`
    Failure,
}

/// One command of ours: fixed words, usage text and a safe handler.
pub struct CliCommand {
    /// The full command, e.g. `c"ws show clients"`.
    pub command: &'static CStr,
    /// One-line summary (< 60 characters).
    pub summary: &'static CStr,
    /// Usage text printed on `CLI_SHOWUSAGE` and by `core show help`.
    pub usage: &'static CStr,
    /// Runs the command with every word (argv) and returns its output.
    pub run: fn(args: &[String]) -> (CliStatus, String),
}

/// Our commands; set once at registration, read by the trampoline.
static COMMANDS: std::sync::OnceLock<&'static [CliCommand]> = std::sync::OnceLock::new();

/// Registered CLI entries; unregistered on drop. The entries stay at a fixed address meanwhile.
pub struct CliRegistration {
    entries: Box<[sys::ast_cli_entry]>,
}

unsafe extern "C" fn cli_trampoline(
    e: *mut sys::ast_cli_entry,
    cmd: c_int,
    a: *mut sys::ast_cli_args,
) -> *mut c_char {
    crate::guard::ffi_guard(code(CliStatus::Failure), || {
        let Some(commands) = COMMANDS.get() else { return code(CliStatus::Failure) };
        // SAFETY: e is one of our registered entries; `summary` is the pointer we set, which
        // identifies the command.
        let summary = unsafe { (*e).summary };
        let Some(spec) = commands.iter().find(|c| c.summary.as_ptr() == summary) else {
            return code(CliStatus::Failure);
        };
        if cmd == sys::AMI_WS_CLI_INIT {
            // SAFETY: on CLI_INIT the core wants command and usage filled in; ours are static.
            unsafe {
                (*e).command = spec.command.as_ptr().cast_mut();
                (*e).usage = spec.usage.as_ptr();
            }
            return std::ptr::null_mut();
        }
        if cmd == sys::AMI_WS_CLI_GENERATE || a.is_null() {
            return std::ptr::null_mut();
        }
        // SAFETY: for a real call the core passes valid args with argc strings in argv.
        let (fd, args) = unsafe {
            let a = &*a;
            let argv = std::slice::from_raw_parts(a.argv, a.argc.max(0) as usize);
            let args: Vec<String> = argv
                .iter()
                .filter(|p| !p.is_null())
                .map(|p| CStr::from_ptr(*p).to_string_lossy().into_owned())
                .collect();
            (a.fd, args)
        };
        let (status, out) = (spec.run)(&args);
        print(fd, &out);
        code(status)
    })
}

/// The `CLI_*` value for a status: a small integer cast to a pointer, as asterisk/cli.h does.
fn code(status: CliStatus) -> *mut c_char {
    let n = match status {
        CliStatus::Success => sys::AMI_WS_CLI_SUCCESS,
        CliStatus::ShowUsage => sys::AMI_WS_CLI_SHOWUSAGE,
        CliStatus::Failure => sys::AMI_WS_CLI_FAILURE,
    };
    std::ptr::without_provenance_mut(n as usize)
}

/// Writes text to a CLI fd through `ast_cli` with a fixed "%s" format.
pub fn print(fd: c_int, text: &str) {
    if text.is_empty() {
        return;
    }
    let c = CString::new(text.replace('\0', "\\0")).unwrap_or_default();
    // SAFETY: constant "%s" format with one NUL-terminated argument valid for the call.
    unsafe { sys::ast_cli(fd, c"%s".as_ptr(), c.as_ptr()) };
}

// SAFETY: the entries are only touched by the core (under its CLI lock) and by Drop; the raw
// pointers inside point at static strings or core-owned data, never at thread-local state.
unsafe impl Send for CliRegistration {}

impl CliRegistration {
    /// Registers `commands` with the core (once per load; the set is fixed for the process image).
    pub fn register(commands: &'static [CliCommand]) -> Result<Self, &'static str> {
        let _ = COMMANDS.set(commands);
        let mut entries: Box<[sys::ast_cli_entry]> = commands
            .iter()
            .map(|c| sys::ast_cli_entry {
                summary: c.summary.as_ptr(),
                handler: Some(cli_trampoline),
                ..Default::default()
            })
            .collect();
        // SAFETY: the entries live in a Box at a fixed address until Drop unregisters them;
        // module_self() is our loader handle.
        let rc = unsafe {
            sys::__ast_cli_register_multiple(
                entries.as_mut_ptr(),
                entries.len() as c_int,
                crate::host::core::module_self(),
            )
        };
        if rc != 0 {
            // SAFETY: the core may have registered some entries before failing; unregistering all
            // of ours is how Asterisk modules clean up.
            unsafe {
                sys::ast_cli_unregister_multiple(entries.as_mut_ptr(), entries.len() as c_int)
            };
            return Err("CLI registration failed");
        }
        Ok(CliRegistration { entries })
    }
}

impl Drop for CliRegistration {
    fn drop(&mut self) {
        // SAFETY: registered in `register`; the core waits for running handlers (inuse) to end.
        unsafe {
            sys::ast_cli_unregister_multiple(self.entries.as_mut_ptr(), self.entries.len() as c_int)
        };
    }
}

/// Runs a core CLI command (as `asterisk -rx` would) and returns what it printed.
pub fn run_core_command(line: &str) -> Result<String, String> {
    let c_line = CString::new(line).map_err(|_| "command contains NUL".to_string())?;
    // SAFETY: memfd_create with a static name; the returned fd is owned below.
    let fd = unsafe { libc::memfd_create(c"ami-ws-cli".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(format!("memfd_create failed: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: fd is a fresh descriptor we own exclusively.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: valid string and fd; CLI_NO_PERMS skips the uid/gid check, as ast_cli_command does.
    let rc = unsafe {
        sys::ast_cli_command_full(
            sys::AMI_WS_CLI_NO_PERMS,
            sys::AMI_WS_CLI_NO_PERMS,
            fd,
            c_line.as_ptr(),
        )
    };
    let mut file = std::fs::File::from(owned);
    use std::io::Seek;
    file.seek(std::io::SeekFrom::Start(0)).map_err(|e| e.to_string())?;
    let mut out = String::new();
    file.read_to_string(&mut out).map_err(|e| e.to_string())?;
    if rc != 0 && out.is_empty() {
        return Err(format!("command failed ({rc})"));
    }
    Ok(out)
}
