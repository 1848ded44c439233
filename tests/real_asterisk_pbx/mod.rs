//! Shared harness of the opt-in real-Asterisk tests: a private Asterisk built elsewhere (prefix
//! in AMI_WS_ASTERISK) with its own asterisk.conf and config files, and a small AMI TCP client.
//!
//! Nothing of Asterisk lives in the repository: the tests write their own minimal configs into
//! a temp dir and point Asterisk at it with `-C`. Everything listens on 127.0.0.1 only.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

/// The name our .so gets in the private module directory.
pub const NAME: &str = "res_ami_websocket.so";

/// The install prefix from AMI_WS_ASTERISK, or None after printing how to run the test.
pub fn prefix_or_skip(test: &str) -> Option<PathBuf> {
    match std::env::var_os("AMI_WS_ASTERISK") {
        Some(p) => Some(PathBuf::from(p)),
        None => {
            println!(
                "skipped {test}: set AMI_WS_ASTERISK=/path/to/asterisk/prefix (holding \
                 sbin/asterisk) to run it against a real Asterisk"
            );
            None
        }
    }
}

/// What a private Asterisk is started with.
pub struct Setup<'a> {
    /// manager.conf user sections (appended after the [general] section the harness writes).
    pub users: &'a str,
    /// More config files (name, text), e.g. extensions.conf.
    pub files: &'a [(&'a str, &'a str)],
    /// Modules loaded at startup besides the core (modules.conf has autoload = no).
    pub preload: &'a [&'a str],
}

/// A private Asterisk; stopped (then killed) and its directory removed on drop.
pub struct Pbx {
    bin: PathBuf,
    conf: PathBuf,
    dir: PathBuf,
    child: Child,
    /// AMI over TCP (manager.conf `port`), on 127.0.0.1.
    pub ami_port: u16,
    /// The module's WebSocket port (ami_websocket.conf `bindport`), on 127.0.0.1.
    pub ws_port: u16,
}

impl Pbx {
    /// Writes the configs, starts `asterisk -f -C <dir>/etc/asterisk.conf` and waits until its
    /// control socket answers. Our .so is copied into the private module directory but not
    /// loaded.
    pub fn start(prefix: &Path, setup: &Setup) -> Pbx {
        let bin = prefix.join("sbin/asterisk");
        assert!(bin.exists(), "{} missing (AMI_WS_ASTERISK is an install prefix)", bin.display());
        // XML documentation is required: without it the core refuses to start ("Stasis
        // initialization failed"), so astdatadir is the install's read-only data directory.
        let datadir = prefix.join("var/lib/asterisk");
        assert!(
            datadir.join("documentation").is_dir(),
            "{} has no documentation/ (needed by the core)",
            datadir.display()
        );
        let dir = crate::common::temp_dir("real-asterisk");
        for sub in ["etc", "modules", "lib", "spool", "run", "log", "cache"] {
            std::fs::create_dir_all(dir.join(sub)).expect("create dir");
        }
        // The core's own modules would normally live here too; symlink the ones asked for.
        let installed = prefix.join("lib/asterisk/modules");
        for m in setup.preload {
            let src = installed.join(m);
            assert!(src.exists(), "{} missing in {}", m, installed.display());
            std::os::unix::fs::symlink(&src, dir.join("modules").join(m)).expect("symlink module");
        }
        std::fs::copy(crate::common::module_path(), dir.join("modules").join(NAME))
            .expect("copy module");
        let d = |s: &str| dir.join(s).display().to_string();
        let asterisk_conf = format!(
            "[directories]\nastetcdir => {}\nastmoddir => {}\nastvarlibdir => {}\n\
             astdbdir => {}\nastkeydir => {}\nastdatadir => {}\nastagidir => {}\n\
             astspooldir => {}\nastrundir => {}\nastlogdir => {}\nastcachedir => {}\n\
             astsbindir => {}\n\n[options]\ncache_record_files = no\n",
            d("etc"),
            d("modules"),
            d("lib"),
            d("lib"),
            d("lib"),
            datadir.display(),
            d("lib"),
            d("spool"),
            d("run"),
            d("log"),
            d("cache"),
            prefix.join("sbin").display(),
        );
        let mut modules = "[modules]\nautoload = no\n".to_string();
        for m in setup.preload {
            modules.push_str(&format!("load => {m}\n"));
        }
        let ami_port = crate::common::free_port();
        let ws_port = crate::common::free_port();
        let manager = format!(
            "[general]\nenabled = yes\nbindaddr = 127.0.0.1\nport = {ami_port}\n\
             timestampevents = yes\n\n{}",
            setup.users
        );
        let mut files = vec![
            ("asterisk.conf".to_string(), asterisk_conf),
            ("modules.conf".to_string(), modules),
            (
                "logger.conf".to_string(),
                "[general]\n[logfiles]\nmessages.log => notice,warning,error,verbose\n".to_string(),
            ),
            ("manager.conf".to_string(), manager),
            ("ami_websocket.conf".to_string(), crate::common::default_module_conf(ws_port)),
        ];
        for (name, text) in setup.files {
            files.push((name.to_string(), text.to_string()));
        }
        for (name, text) in &files {
            std::fs::write(dir.join("etc").join(name), text).expect("write config");
        }
        let conf = dir.join("etc/asterisk.conf");
        let child = Command::new(&bin)
            .arg("-f")
            .arg("-C")
            .arg(&conf)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start asterisk");
        let mut pbx = Pbx { bin, conf, dir, child, ami_port, ws_port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !pbx.rx("core show version").starts_with("Asterisk") {
            assert!(pbx.alive(), "Asterisk exited during startup; log:\n{}", pbx.log());
            assert!(Instant::now() < deadline, "Asterisk did not start; log:\n{}", pbx.log());
            std::thread::sleep(Duration::from_millis(200));
        }
        // `core show version` answers before the core is fully booted; wait for that too.
        let deadline = Instant::now() + Duration::from_secs(60);
        while !pbx.rx("core waitfullybooted").contains("fully booted") {
            assert!(Instant::now() < deadline, "Asterisk never fully booted; log:\n{}", pbx.log());
            std::thread::sleep(Duration::from_millis(200));
        }
        pbx
    }

    /// Runs a CLI command through `asterisk -rx` and returns its output.
    pub fn rx(&self, cmd: &str) -> String {
        let out = Command::new(&self.bin).arg("-C").arg(&self.conf).arg("-rx").arg(cmd).output();
        out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default()
    }

    /// messages.log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log/messages.log")).unwrap_or_default()
    }

    /// The log lines that mention our module (for the report).
    pub fn module_log_lines(&self) -> String {
        self.log()
            .lines()
            .filter(|l| l.contains("res_ami_websocket") || l.contains("src/"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// A config file of the private etc directory, as written.
    pub fn read_config(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join("etc").join(name)).expect("read config")
    }

    /// Writes (replaces) a config file in the private etc directory.
    pub fn write_config(&self, name: &str, text: &str) {
        std::fs::write(self.dir.join("etc").join(name), text).expect("write config");
    }

    /// Waits up to `timeout` for the process to exit; its status, or None while it runs.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(s)) = self.child.try_wait() {
                return Some(s);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until messages.log contains `pattern` (the logger writes asynchronously).
    pub fn wait_log(&self, pattern: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while !self.log().contains(pattern) {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        true
    }

    /// Whether the asterisk process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Whether our .so is mapped in the asterisk process (/proc/<pid>/maps).
    pub fn module_mapped(&self) -> bool {
        let maps = std::fs::read_to_string(format!("/proc/{}/maps", self.child.id()));
        maps.map(|m| m.contains(NAME)).unwrap_or(false)
    }

    /// Names of the asterisk process's threads that are ours (`ami-ws*`).
    pub fn module_threads(&self) -> Vec<String> {
        let tasks = std::fs::read_dir(format!("/proc/{}/task", self.child.id()));
        let mut names: Vec<String> = tasks
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
            .map(|n| n.trim().to_string())
            .filter(|n| n.starts_with("ami-ws"))
            .collect();
        names.sort();
        names
    }

    /// The asterisk process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `module load` of our .so; panics with the log unless it loaded and runs.
    pub fn load_module(&self) {
        let out = self.rx(&format!("module load {NAME}"));
        assert!(out.contains(&format!("Loaded {NAME}")), "{out}\n{}", self.log());
        let shown = self.rx("module show like res_ami_websocket");
        assert!(shown.contains("Running"), "{shown}\n{}", self.log());
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.ws_port)).is_err() {
            assert!(Instant::now() < deadline, "WebSocket port never opened:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A remote console (`asterisk -r`) kept open with `core set verbose <level>` typed on it:
    /// the way an admin raises the verbosity (`-rx` would drop the level as it disconnects).
    /// Its stdin stays open (at EOF rasterisk spins); it is killed on drop.
    pub fn verbose_console(&self, level: u32) -> Console {
        let out = self.dir.join(format!("console-{level}.txt"));
        let file = std::fs::File::create(&out).expect("console output file");
        let mut child = Command::new(&self.bin)
            .arg("-C")
            .arg(&self.conf)
            .arg("-r")
            .stdin(Stdio::piped())
            .stdout(file.try_clone().expect("clone file"))
            .stderr(file)
            .spawn()
            .expect("start a remote console");
        let line = format!("core set verbose {level}\n");
        if let Some(stdin) = child.stdin.as_mut() {
            stdin.write_all(line.as_bytes()).expect("type on the console");
            stdin.flush().ok();
        }
        let console = Console { child, out };
        let want = format!("is now {level}");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !console.output().contains(&want) {
            assert!(Instant::now() < deadline, "console never said {want:?}: {}", console.output());
            std::thread::sleep(Duration::from_millis(50));
        }
        console
    }

    /// Panics unless the process lives and `core show uptime` answers.
    pub fn assert_alive(&mut self, after: &str) {
        assert!(self.alive(), "Asterisk died after {after}; log:\n{}", self.log());
        let up = self.rx("core show uptime");
        assert!(up.contains("System uptime"), "no uptime after {after}: {up:?}\n{}", self.log());
    }
}

impl Drop for Pbx {
    fn drop(&mut self) {
        let _ = self.rx("core stop now");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline && self.alive() {
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::env::var_os("AMI_WS_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// A remote console process; killed on drop.
pub struct Console {
    child: Child,
    out: PathBuf,
}

impl Console {
    /// What the console printed so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One AMI message: its header lines in order.
pub type Msg = Vec<(String, String)>;

/// The first value of header `k` (case-insensitive name), or "".
pub fn get<'a>(m: &'a Msg, k: &str) -> &'a str {
    m.iter().find(|(n, _)| n.eq_ignore_ascii_case(k)).map(|(_, v)| v.as_str()).unwrap_or("")
}

/// The agreed JSON form of an AMI message: keys in order of first appearance, string values,
/// a repeated header becomes an array of its values in order.
pub fn to_json(m: &Msg) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in m {
        match out.get_mut(k) {
            None => {
                out.insert(k.clone(), Value::String(v.clone()));
            }
            Some(Value::Array(a)) => a.push(Value::String(v.clone())),
            Some(old) => {
                let first = old.take();
                *old = Value::Array(vec![first, Value::String(v.clone())]);
            }
        }
    }
    out
}

/// A blocking AMI-over-TCP client.
pub struct Ami {
    reader: BufReader<TcpStream>,
    /// Messages read while looking for something else, oldest first.
    pub backlog: VecDeque<Msg>,
    /// The greeting line (`Asterisk Call Manager/x.y.z`).
    pub banner: String,
}

impl Ami {
    /// Connects to 127.0.0.1:port and reads the greeting.
    pub fn connect(port: u16) -> Ami {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect to AMI");
        s.set_read_timeout(Some(Duration::from_secs(10))).ok();
        let mut reader = BufReader::new(s);
        let mut banner = String::new();
        reader.read_line(&mut banner).expect("AMI banner");
        assert!(banner.starts_with("Asterisk Call Manager"), "banner {banner:?}");
        Ami { reader, backlog: VecDeque::new(), banner: banner.trim_end().to_string() }
    }

    /// Sends one action built from header pairs.
    pub fn send(&mut self, pairs: &[(&str, &str)]) {
        let mut text = String::new();
        for (k, v) in pairs {
            text.push_str(&format!("{k}: {v}\r\n"));
        }
        text.push_str("\r\n");
        self.reader.get_mut().write_all(text.as_bytes()).expect("write to AMI");
    }

    /// Reads the next message from the socket within `timeout`.
    fn read_msg(&mut self, timeout: Duration) -> Option<Msg> {
        let deadline = Instant::now() + timeout;
        let mut msg = Msg::new();
        let mut line = String::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            self.reader.get_mut().set_read_timeout(Some(left)).ok();
            line.clear();
            match self.reader.read_line(&mut line) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    // A partial line stays in `line` only if read_line appended; retry.
                    if msg.is_empty() && line.is_empty() {
                        return None;
                    }
                    continue;
                }
                Err(_) => return None,
            }
            let l = line.trim_end_matches(['\r', '\n']);
            if l.is_empty() {
                if msg.is_empty() {
                    continue;
                }
                return Some(msg);
            }
            match l.split_once(':') {
                Some((k, v)) => msg.push((k.to_string(), v.trim_start_matches(' ').to_string())),
                None => msg.push((l.to_string(), String::new())),
            }
        }
    }

    /// The next message (backlog first) within `timeout`.
    pub fn next(&mut self, timeout: Duration) -> Option<Msg> {
        self.backlog.pop_front().or_else(|| self.read_msg(timeout))
    }

    /// The first message satisfying `pred` within `timeout`; others go to the backlog.
    pub fn wait_for(&mut self, timeout: Duration, pred: impl Fn(&Msg) -> bool) -> Option<Msg> {
        if let Some(i) = self.backlog.iter().position(&pred) {
            return self.backlog.remove(i);
        }
        let deadline = Instant::now() + timeout;
        loop {
            let m = self.read_msg(deadline.saturating_duration_since(Instant::now()))?;
            if pred(&m) {
                return Some(m);
            }
            self.backlog.push_back(m);
        }
    }

    /// Plain login; panics unless accepted.
    pub fn login(&mut self, user: &str, secret: &str) {
        self.send(&[
            ("Action", "Login"),
            ("Username", user),
            ("Secret", secret),
            ("ActionID", "login"),
        ]);
        let r = self
            .wait_for(Duration::from_secs(10), |m| get(m, "ActionID") == "login")
            .expect("AMI login response");
        assert_eq!(get(&r, "Message"), "Authentication accepted", "{r:?}");
    }

    /// Everything answering ActionID `id`: the response, then (for list actions, whose response
    /// says `EventList: start`) the items up to the one saying `EventList: Complete`.
    pub fn reply(&mut self, id: &str, timeout: Duration) -> Vec<Msg> {
        let is_mine = |m: &Msg| get(m, "ActionID") == id;
        let Some(first) = self.wait_for(timeout, |m| is_mine(m) && !get(m, "Response").is_empty())
        else {
            return Vec::new();
        };
        let mut more = get(&first, "EventList").eq_ignore_ascii_case("start");
        let mut out = vec![first];
        while more {
            let Some(m) = self.wait_for(timeout, is_mine) else { break };
            more = !get(&m, "EventList").eq_ignore_ascii_case("Complete");
            out.push(m);
        }
        out
    }
}
