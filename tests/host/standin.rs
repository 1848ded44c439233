//! asterisk-standin: plays the Asterisk core for tests and the demo. It loads a module .so the
//! way main/loader.c does and implements every Asterisk function the module imports with
//! Asterisk's behaviour (see tests/host/README.md).

mod actions;
mod amimsg;
mod args;
mod builtins;
mod calls;
mod chanapi;
mod cli;
mod cliwords;
mod config;
mod config_c;
mod control;
mod devices;
mod events;
mod ffi;
mod fixture;
mod hook;
mod hookstats;
mod lifecycle;
mod loader;
mod logger;
mod mancmds;
mod modules;
mod ops;
mod parking;
mod queues;
mod sched;
mod scripts;
mod traffic;
mod world;
mod worldcmds;

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

use logger::{ERROR, NOTICE};

static VERSION: OnceLock<CString> = OnceLock::new();
static STARTED: OnceLock<(Instant, String, String)> = OnceLock::new();
static RUNTIME_DIR: OnceLock<PathBuf> = OnceLock::new();

/// The version `ast_get_version` reports.
pub fn version_cstr() -> &'static CString {
    VERSION.get_or_init(|| CString::new("22.10.1-standin").unwrap_or_default())
}

/// The version as text.
pub fn version() -> String {
    version_cstr().to_string_lossy().into_owned()
}

/// When the stand-in started.
pub fn started() -> Instant {
    STARTED.get().map(|s| s.0).unwrap_or_else(Instant::now)
}

/// The start date and time as CoreStatus prints them (`%Y-%m-%d`, `%H:%M:%S`, local time).
pub fn startup_date_time() -> (String, String) {
    STARTED.get().map(|s| (s.1.clone(), s.2.clone())).unwrap_or_default()
}

fn local_now(fmt: &std::ffi::CStr) -> String {
    let mut buf = [0u8; 64];
    // SAFETY: time/localtime_r/strftime with valid pointers into locals; strftime bounds writes.
    let n = unsafe {
        let now = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&now, &mut tm);
        libc::strftime(buf.as_mut_ptr().cast(), buf.len(), fmt.as_ptr(), &tm)
    };
    String::from_utf8_lossy(buf.get(..n).unwrap_or_default()).into_owned()
}

/// Sets the open-file limit like Asterisk's `maxfiles` (asterisk.conf): soft and hard to
/// `maxfiles` when given, else the soft limit raised to the hard one (a PBX serving many
/// clients needs more than the usual 1024). Best effort.
fn set_fd_limit(maxfiles: Option<u64>) {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit with a pointer to a live local.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return;
        }
        match maxfiles {
            Some(n) => {
                lim.rlim_cur = n as libc::rlim_t;
                lim.rlim_max = n as libc::rlim_t;
            }
            None => lim.rlim_cur = lim.rlim_max,
        }
        if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
            eprintln!("asterisk-standin: setrlimit: {}", std::io::Error::last_os_error());
        }
    }
}

/// Removes the private runtime directory (best effort, at exit).
pub fn cleanup() {
    if let Some(dir) = RUNTIME_DIR.get() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Links the module into the module directory under its Asterisk name.
fn install_module(moddir: &Path, module: &Path) -> Result<String, String> {
    let name = args::module_file_name(module);
    let abs = std::fs::canonicalize(module).map_err(|e| format!("{}: {e}", module.display()))?;
    let link = moddir.join(&name);
    if std::fs::symlink_metadata(&link).is_ok() {
        if std::fs::canonicalize(&link).ok().as_deref() == Some(abs.as_path()) {
            return Ok(name);
        }
        std::fs::remove_file(&link).map_err(|e| format!("{}: {e}", link.display()))?;
    }
    std::os::unix::fs::symlink(&abs, &link).map_err(|e| format!("{}: {e}", link.display()))?;
    Ok(name)
}

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let o = match args::parse(&argv) {
        Ok(o) if o.help => {
            print!("{}", args::USAGE);
            return;
        }
        Ok(o) => o,
        Err(e) => {
            eprintln!("asterisk-standin: {e}\n\n{}", args::USAGE);
            std::process::exit(2);
        }
    };
    if let (Some(cmd), Some(sock)) = (&o.rx, &o.control) {
        std::process::exit(control::rx(sock, cmd));
    }
    if let Some(v) = &o.version {
        let _ = VERSION.set(CString::new(v.as_str()).unwrap_or_default());
    }
    let _ = STARTED.set((Instant::now(), local_now(c"%Y-%m-%d"), local_now(c"%H:%M:%S")));
    set_fd_limit(o.maxfiles);
    ffi::set_start_time();
    logger::set_verbose(o.verbose);
    logger::set_debug(o.debug);
    let config_dir = o.config_dir.clone().unwrap_or_default();
    config_c::set_dir(std::fs::canonicalize(&config_dir).unwrap_or(config_dir));
    config_c::read_manager_conf();

    let runtime = std::env::temp_dir().join(format!("asterisk-standin-{}", std::process::id()));
    let moddir = o.moddir.clone().unwrap_or_else(|| runtime.join("modules"));
    if o.moddir.is_none() {
        let _ = RUNTIME_DIR.set(runtime);
    }
    if let Err(e) = std::fs::create_dir_all(&moddir) {
        eprintln!("asterisk-standin: {}: {e}", moddir.display());
        std::process::exit(1);
    }
    loader::set_moddir(moddir.clone());
    let module_name = match o.module.as_deref().map(|m| install_module(&moddir, m)) {
        Some(Err(e)) => {
            eprintln!("asterisk-standin: {e}");
            std::process::exit(1);
        }
        Some(Ok(name)) => Some(name),
        None => None,
    };

    builtins::register_all();
    world::with(ops::seed);
    hook::start_stasis();
    traffic::start();
    slog!(
        NOTICE,
        "standin: Asterisk {} stand-in (config {}, modules {}, AMI {})",
        version(),
        config_c::dir().display(),
        moddir.display(),
        if hook::ENABLED.load(std::sync::atomic::Ordering::Relaxed) {
            "enabled"
        } else {
            "disabled"
        }
    );
    if o.load
        && let Some(name) = &module_name
        && loader::load(name) != loader::LOAD_SUCCESS
    {
        slog!(ERROR, "standin: Unable to load module {name}");
    }
    if let Some(sock) = &o.control
        && let Err(e) = control::serve(sock)
    {
        slog!(ERROR, "standin: control socket {}: {e}", sock.display());
        cleanup();
        std::process::exit(1);
    }
    if let Some(rate) = o.traffic {
        traffic::set_rate(rate);
    }
    if o.replay {
        traffic::replay(0.0);
    }
    slog!(NOTICE, "standin: ready");
    control::stdin_loop();
    if o.control.is_none() {
        control::stop_now();
    }
    loop {
        std::thread::park();
    }
}
