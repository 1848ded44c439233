//! Test harness: runs the stand-in Asterisk core (`asterisk-standin`) with the module loaded, in a
//! private config directory, and talks to it like `asterisk -rx`. Std only.
//!
//! ```ignore
//! let s = StandIn::start(&[("ami_websocket.conf", "[general]\nbindport = 0\n")], Opts::default());
//! assert!(s.rx("module show like res_ami_websocket").contains("Running"));
//! ```
#![allow(dead_code)]

pub mod browser;
pub mod fixture;
pub mod nats;
pub mod nats_jwt;
pub mod pipeline;
pub mod pmd;
pub mod probe;
pub mod raw;
pub mod record;
pub mod tls;
pub mod ws;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// manager.conf written when the test gives none: AMI enabled (hooks get events), timestamps on,
/// one admin user.
pub const DEFAULT_MANAGER_CONF: &str = "[general]\nenabled = yes\nbindaddr = 127.0.0.1\n\
timestampevents = yes\n\n[admin]\nsecret = adminpw\nread = all\nwrite = all\n";

/// ami_websocket.conf written when the test gives none: listening on 127.0.0.1 and a port that
/// was free a moment ago (see `StandIn::ws_port`), so parallel tests do not collide.
pub fn default_module_conf(port: u16) -> String {
    format!("[general]\nbindaddr = 127.0.0.1\nbindport = {port}\n")
}

/// A stand-in with the module loaded, this manager.conf and the default module config on a
/// free port; returns the port too.
pub fn start_with_manager(manager_conf: &str) -> (StandIn, u16) {
    let port = free_port();
    let conf = default_module_conf(port);
    let s = StandIn::start(
        &[("manager.conf", manager_conf), ("ami_websocket.conf", &conf)],
        Opts::default(),
    );
    (s, port)
}

/// Runs a stand-in world command (`standin ...`); panics on an `error:` answer. Returns the
/// answer's words.
pub fn world_cmd(s: &StandIn, line: &str) -> Vec<String> {
    let out = s.rx(line);
    assert!(!out.starts_with("error:"), "{line}: {out}");
    out.split_whitespace().map(str::to_string).collect()
}

/// A TCP port on 127.0.0.1 that is free right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}

/// How to start the stand-in.
#[derive(Debug, Clone)]
pub struct Opts {
    /// The module .so (default: the one cargo built next to this test).
    pub module: Option<PathBuf>,
    /// Load the module at startup (`--load`).
    pub load: bool,
    /// Initial `option_verbose`.
    pub verbose: i32,
    /// `--traffic` calls per second.
    pub traffic: Option<f64>,
    /// More arguments for the stand-in.
    pub extra_args: Vec<String>,
    /// The watchdog kills the stand-in after this long, so no test hangs forever.
    pub max_lifetime: Duration,
    /// Keep a pipe to the stand-in's stdin (see `StandIn::type_line`).
    pub piped_stdin: bool,
    /// Run the stand-in under this program and its arguments (e.g. valgrind).
    pub wrapper: Vec<String>,
}

impl Default for Opts {
    fn default() -> Self {
        Opts {
            module: None,
            load: true,
            verbose: 0,
            traffic: None,
            extra_args: Vec::new(),
            max_lifetime: Duration::from_secs(600),
            piped_stdin: false,
            wrapper: Vec::new(),
        }
    }
}

/// A running stand-in; killed (and its directory removed) on drop.
pub struct StandIn {
    child: Child,
    dir: PathBuf,
    socket: PathBuf,
    output: Arc<Mutex<String>>,
    watchdog: Option<Sender<()>>,
    status: Option<ExitStatus>,
    ws_port: Option<u16>,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// `target/<profile>` of the running test executable (`target/<profile>/deps/test-hash`).
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let deps = exe.parent().expect("test executable has a directory");
    deps.parent().unwrap_or(deps).to_path_buf()
}

/// The target directory (the parent of `target/<profile>`).
pub fn target_dir() -> PathBuf {
    let p = profile_dir();
    p.parent().map(Path::to_path_buf).unwrap_or(p)
}

/// The module cargo built for this profile: `target/<profile>/libres_ami_websocket.so`, or the
/// copy in `deps/` when it was not uplifted; the newer of the two.
pub fn module_path() -> PathBuf {
    let p = profile_dir();
    let candidates = [p.join("libres_ami_websocket.so"), p.join("deps/libres_ami_websocket.so")];
    candidates
        .iter()
        .filter_map(|c| {
            std::fs::metadata(c).and_then(|m| m.modified()).ok().map(|t| (t, c.clone()))
        })
        .max()
        .map(|(_, c)| c)
        .unwrap_or_else(|| {
            panic!("no libres_ami_websocket.so in {} (cargo build first)", p.display())
        })
}

/// The stand-in binary cargo built for the integration tests.
pub fn standin_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_asterisk-standin"))
}

/// A fresh private directory under the system temp dir.
pub fn temp_dir(tag: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("standin-{tag}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

impl StandIn {
    /// Writes the config files (manager.conf and ami_websocket.conf get defaults unless given),
    /// starts the stand-in and returns once its control socket answers, or once it exited
    /// (a crash during load: see `exit_status`). Panics if it is not ready within 60 s.
    pub fn start(config_files: &[(&str, &str)], opts: Opts) -> StandIn {
        let dir = temp_dir("run");
        let etc = dir.join("etc");
        let moddir = dir.join("modules");
        std::fs::create_dir_all(&etc).expect("create etc");
        std::fs::create_dir_all(&moddir).expect("create modules");
        for (name, text) in config_files {
            std::fs::write(etc.join(name), text).expect("write config");
        }
        let given = |name: &str| config_files.iter().any(|(n, _)| *n == name);
        if !given("manager.conf") {
            std::fs::write(etc.join("manager.conf"), DEFAULT_MANAGER_CONF).expect("write config");
        }
        let ws_port = (!given("ami_websocket.conf")).then(free_port);
        if let Some(port) = ws_port {
            std::fs::write(etc.join("ami_websocket.conf"), default_module_conf(port))
                .expect("write config");
        }
        let socket = dir.join("ctl.sock");
        let module = opts.module.clone().unwrap_or_else(module_path);
        let mut cmd = match opts.wrapper.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(standin_bin());
                c
            }
            None => Command::new(standin_bin()),
        };
        cmd.arg("--config-dir")
            .arg(&etc)
            .arg("--moddir")
            .arg(&moddir)
            .arg("--module")
            .arg(&module)
            .arg("--control")
            .arg(&socket)
            .arg("--verbose")
            .arg(opts.verbose.to_string());
        if opts.load {
            cmd.arg("--load");
        }
        if let Some(rate) = opts.traffic {
            cmd.arg("--traffic").arg(rate.to_string());
        }
        cmd.args(&opts.extra_args);
        let stdin = if opts.piped_stdin { Stdio::piped() } else { Stdio::null() };
        cmd.stdin(stdin).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn asterisk-standin");
        let output = Arc::new(Mutex::new(String::new()));
        for stream in [
            child.stdout.take().map(|s| Box::new(s) as Box<dyn Read + Send>),
            child.stderr.take().map(|s| Box::new(s) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let out = Arc::clone(&output);
            std::thread::spawn(move || pump(stream, out));
        }
        let watchdog = spawn_watchdog(child.id(), opts.max_lifetime);
        let mut s =
            StandIn { child, dir, socket, output, watchdog: Some(watchdog), status: None, ws_port };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if s.try_exit().is_some() {
                break;
            }
            if UnixStream::connect(&s.socket).is_ok() {
                break;
            }
            assert!(Instant::now() < deadline, "stand-in not ready after 60 s; log:\n{}", s.log());
            std::thread::sleep(Duration::from_millis(20));
        }
        s
    }

    /// Runs one CLI command in the stand-in (like `asterisk -rx`) and returns its output.
    pub fn rx(&self, cmd: &str) -> String {
        self.try_rx(cmd, Duration::from_secs(120))
            .unwrap_or_else(|e| panic!("rx '{cmd}' failed: {e}; log:\n{}", self.log()))
    }

    /// `rx` with a timeout and errors returned.
    pub fn try_rx(&self, cmd: &str, timeout: Duration) -> Result<String, String> {
        let mut conn = UnixStream::connect(&self.socket).map_err(|e| format!("connect: {e}"))?;
        conn.set_read_timeout(Some(timeout)).map_err(|e| e.to_string())?;
        conn.write_all(format!("{cmd}\n").as_bytes()).map_err(|e| format!("write: {e}"))?;
        let mut out = Vec::new();
        conn.read_to_end(&mut out).map_err(|e| format!("read: {e}"))?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    /// Types a command on the stand-in's console (needs `Opts::piped_stdin`); its output goes to
    /// stdout, so read it with `wait_log`.
    pub fn type_line(&mut self, line: &str) {
        let stdin = self.child.stdin.as_mut().expect("Opts::piped_stdin");
        stdin.write_all(format!("{line}\n").as_bytes()).expect("write to stdin");
        stdin.flush().expect("flush stdin");
    }

    /// Everything the stand-in printed so far (log lines, stdout and stderr).
    pub fn log(&self) -> String {
        self.output.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Waits until the output contains `pattern`; false on timeout. (Log lines arrive through a
    /// pipe, so they can trail the reply of the `rx` that caused them.)
    pub fn wait_log(&self, pattern: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.log().contains(pattern) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The core's in-memory log (`standin log`): complete up to the last `rx`, unlike `log()`.
    pub fn core_log(&self) -> String {
        self.rx("standin log 20000")
    }

    /// Asserts that the output comes to contain `pattern` within 10 s.
    pub fn expect_log(&self, pattern: &str) {
        assert!(
            self.wait_log(pattern, Duration::from_secs(10)),
            "log never showed {pattern:?}; log:\n{}",
            self.log()
        );
    }

    /// The exit status if the stand-in has exited (non-blocking).
    pub fn try_exit(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
            if self.status.is_some()
                && let Some(w) = self.watchdog.take()
            {
                let _ = w.send(());
            }
        }
        self.status
    }

    /// Waits up to `timeout` for the stand-in to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(s) = self.try_exit() {
                // Let the output pumps drain what the process wrote last.
                std::thread::sleep(Duration::from_millis(100));
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// The signal that ended the stand-in (6 = SIGABRT), if it was killed by one.
    pub fn exit_signal(&mut self) -> Option<i32> {
        self.try_exit().and_then(|s| s.signal())
    }

    /// The WebSocket port written into the default ami_websocket.conf (None when the test gave
    /// its own file).
    pub fn ws_port(&self) -> Option<u16> {
        self.ws_port
    }

    /// The stand-in's config directory.
    pub fn config_dir(&self) -> PathBuf {
        self.dir.join("etc")
    }

    /// The stand-in's module directory (`module load x.so` looks here).
    pub fn moddir(&self) -> PathBuf {
        self.dir.join("modules")
    }

    /// The control socket path (for `asterisk-standin --control P --rx ...`).
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// The stand-in's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Threads and fds the stand-in reports (`standin show resources`).
    pub fn resources(&self) -> (usize, usize) {
        let [threads, fds] = self.resource_counts(["threads:", "fds:"]);
        (threads as usize, fds as usize)
    }

    /// The counts `standin show resources` prints on the lines starting with `names`, from one
    /// reading.
    pub fn resource_counts<const N: usize>(&self, names: [&str; N]) -> [u64; N] {
        let out = self.rx("standin show resources");
        names.map(|name| {
            out.lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or_else(|| panic!("no '{name}' in: {out}"))
        })
    }
}

fn pump(mut stream: Box<dyn Read + Send>, out: Arc<Mutex<String>>) {
    let mut buf = [0u8; 8192];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if let Ok(mut s) = out.lock() {
                    s.push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            }
        }
    }
}

/// Kills the process (SIGKILL) if it is still running after `limit`, unless told to stand down.
fn spawn_watchdog(pid: u32, limit: Duration) -> Sender<()> {
    let (tx, rx) = channel::<()>();
    std::thread::spawn(move || {
        if rx.recv_timeout(limit) == Err(std::sync::mpsc::RecvTimeoutError::Timeout) {
            eprintln!("watchdog: stand-in {pid} still running after {limit:?}; killing it");
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
        }
    });
    tx
}

impl Drop for StandIn {
    fn drop(&mut self) {
        if let Some(w) = self.watchdog.take() {
            let _ = w.send(());
        }
        if self.try_exit().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
