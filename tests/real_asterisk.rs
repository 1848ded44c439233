//! Opt-in: the module in a real Asterisk. Set AMI_WS_ASTERISK to an install prefix holding
//! sbin/asterisk; the test runs a private Asterisk (its own asterisk.conf, module directory with
//! a copy of our .so, manager.conf, logger.conf), loads the module, checks it runs, and unloads
//! and loads it 20 times, failing on "could not be completely unloaded" or "did not register
//! itself". Without the variable it prints how to run it and passes.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CYCLES: usize = 20;
const NAME: &str = "res_ami_websocket.so";

/// A private Asterisk, stopped (then killed) on drop.
struct Asterisk {
    bin: PathBuf,
    conf: PathBuf,
    dir: PathBuf,
    child: Child,
}

impl Asterisk {
    fn start(prefix: &Path) -> Asterisk {
        let bin = prefix.join("sbin/asterisk");
        assert!(
            bin.exists(),
            "{} does not exist (AMI_WS_ASTERISK is an install prefix)",
            bin.display()
        );
        let dir = common::temp_dir("asterisk");
        for sub in ["etc", "modules", "lib", "spool", "run", "log", "cache"] {
            std::fs::create_dir_all(dir.join(sub)).expect("create dir");
        }
        std::fs::copy(common::module_path(), dir.join("modules").join(NAME)).expect("copy module");
        let d = |s: &str| dir.join(s).display().to_string();
        let asterisk_conf = format!(
            "[directories]\nastetcdir => {}\nastmoddir => {}\nastvarlibdir => {}\nastdbdir => {}\n\
             astkeydir => {}\nastdatadir => {}\nastagidir => {}\nastspooldir => {}\nastrundir => {}\n\
             astlogdir => {}\nastcachedir => {}\nastsbindir => {}\n\n[options]\ncache_record_files = no\n",
            d("etc"),
            d("modules"),
            d("lib"),
            d("lib"),
            d("lib"),
            d("lib"),
            d("lib"),
            d("spool"),
            d("run"),
            d("log"),
            d("cache"),
            prefix.join("sbin").display(),
        );
        let files = [
            ("asterisk.conf", asterisk_conf),
            ("modules.conf", "[modules]\nautoload = no\n".to_string()),
            (
                "logger.conf",
                "[general]\n[logfiles]\nmessages.log => notice,warning,error,verbose\n".to_string(),
            ),
            (
                "manager.conf",
                format!(
                    "[general]\nenabled = yes\nbindaddr = 127.0.0.1\nport = {}\n",
                    common::free_port()
                ),
            ),
            ("ami_websocket.conf", common::default_module_conf(common::free_port())),
        ];
        for (name, text) in &files {
            std::fs::write(dir.join("etc").join(name), text).expect("write config");
        }
        let conf = dir.join("etc/asterisk.conf");
        let child = Command::new(&bin)
            .arg("-f")
            .arg("-C")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start asterisk");
        let a = Asterisk { bin, conf, dir, child };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !a.rx("core show version").starts_with("Asterisk") {
            assert!(Instant::now() < deadline, "Asterisk did not start; log:\n{}", a.log());
            std::thread::sleep(Duration::from_millis(200));
        }
        a
    }

    fn rx(&self, cmd: &str) -> String {
        let out = Command::new(&self.bin).arg("-C").arg(&self.conf).arg("-rx").arg(cmd).output();
        out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log/messages.log")).unwrap_or_default()
    }
}

impl Drop for Asterisk {
    fn drop(&mut self) {
        let _ = self.rx("core stop now");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline && self.child.try_wait().ok().flatten().is_none() {
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn check_log(a: &Asterisk) {
    let log = a.log();
    assert!(!log.contains("could not be completely unloaded"), "the .so stayed mapped:\n{log}");
    assert!(!log.contains("did not register itself"), "a load found no constructor run:\n{log}");
}

#[test]
fn module_loads_runs_and_cycles_in_a_real_asterisk() {
    let Some(prefix) = std::env::var_os("AMI_WS_ASTERISK") else {
        println!(
            "skipped: set AMI_WS_ASTERISK=/path/to/asterisk/prefix to run against a real Asterisk"
        );
        return;
    };
    let a = Asterisk::start(Path::new(&prefix));
    let out = a.rx(&format!("module load {NAME}"));
    assert!(out.contains(&format!("Loaded {NAME}")), "{out}\n{}", a.log());
    let shown = a.rx("module show like res_ami_websocket");
    assert!(shown.contains("Running"), "{shown}\n{}", a.log());
    for i in 0..CYCLES {
        let out = a.rx(&format!("module unload {NAME}"));
        assert!(out.contains(&format!("Unloaded {NAME}")), "cycle {i}: {out}\n{}", a.log());
        let out = a.rx(&format!("module load {NAME}"));
        assert!(out.contains(&format!("Loaded {NAME}")), "cycle {i}: {out}\n{}", a.log());
        check_log(&a);
    }
    assert!(a.rx("module show like res_ami_websocket").contains("Running"));
    check_log(&a);
    println!("{CYCLES} unload/load cycles in {}", a.rx("core show version").trim());
}
