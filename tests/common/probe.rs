//! Test modules in C (tests/fixtures/*.c) built with `cc` at test time, and the client side of
//! `hookprobe`, which drives the core's manager hook API from inside a loaded module.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{Opts, StandIn};

/// The project root.
pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Builds tests/fixtures/<src> with extra -D flags into `dir/name` (a loadable .so).
pub fn cc_module(src: &str, defines: &[&str], dir: &Path, name: &str) -> PathBuf {
    let root = manifest_dir();
    let out = dir.join(name);
    let status = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .args(["-shared", "-fPIC", "-Wall", "-o"])
        .arg(&out)
        .arg(format!("-I{}", root.join("asterisk-headers").display()))
        .arg(format!("-I{}", root.join("tests/fixtures").display()))
        .arg(format!("-I{}", root.join("module").display()))
        .args(defines.iter().map(|d| format!("-D{d}")))
        .arg(root.join("tests/fixtures").join(src))
        .arg("-ldl")
        .arg("-lpthread")
        .status()
        .expect("run cc");
    assert!(status.success(), "cc failed for {src} {defines:?}");
    out
}

/// A stand-in (real module loaded) with a test module built into its module directory.
pub fn standin_with(src: &str, defines: &[&str], name: &str, opts: Opts) -> StandIn {
    let s = StandIn::start(&[], opts);
    cc_module(src, defines, &s.moddir(), name);
    s
}

/// A stand-in with hookprobe.so loaded, plus the given config files.
pub fn probe_with(files: &[(&str, &str)], opts: Opts) -> StandIn {
    let s = StandIn::start(files, opts);
    cc_module("hookprobe.c", &[], &s.moddir(), "hookprobe.so");
    let out = s.rx("module load hookprobe.so");
    assert!(out.contains("Loaded hookprobe.so"), "{out}\n{}", s.log());
    s
}

/// A stand-in with hookprobe.so loaded.
pub fn probe(verbose: i32) -> StandIn {
    probe_with(&[], Opts { verbose, ..Opts::default() })
}

pub fn hex(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

pub fn unhex(h: &str) -> String {
    let bytes: Vec<u8> = (0..h.len() / 2)
        .filter_map(|i| u8::from_str_radix(h.get(2 * i..2 * i + 2)?, 16).ok())
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// One line `hookprobe send` printed.
#[derive(Debug, Clone)]
pub struct Line {
    /// PIECE (a response piece) or EVENT (an event raised on the sending thread).
    pub kind: String,
    pub category: i32,
    pub event: String,
    pub body: String,
}

/// What an action sent through the hook produced.
#[derive(Debug)]
pub struct Sent {
    pub lines: Vec<Line>,
    pub ret: i32,
}

impl Sent {
    /// The response pieces, in order.
    pub fn pieces(&self) -> Vec<&str> {
        self.lines.iter().filter(|l| l.kind == "PIECE").map(|l| l.body.as_str()).collect()
    }

    /// The events raised on the sending thread during the call.
    pub fn events(&self) -> Vec<&Line> {
        self.lines.iter().filter(|l| l.kind == "EVENT").collect()
    }
}

/// Sends action text through `ast_hook_send_action` from inside hookprobe.
pub fn send(s: &StandIn, action: &str) -> Sent {
    let out = s.rx(&format!("hookprobe send {}", hex(action)));
    let mut sent = Sent { lines: Vec::new(), ret: i32::MIN };
    for line in out.lines() {
        let parts: Vec<&str> = line.splitn(4, ' ').collect();
        match parts.as_slice() {
            ["RET", n] => sent.ret = n.parse().expect("return code"),
            [kind, cat, event, rest @ ..] => sent.lines.push(Line {
                kind: kind.to_string(),
                category: cat.parse().expect("category"),
                event: event.to_string(),
                body: rest.first().map(|b| unhex(b)).unwrap_or_default(),
            }),
            _ => panic!("unexpected probe output line {line:?} in:\n{out}"),
        }
    }
    assert_ne!(sent.ret, i32::MIN, "no RET line in:\n{out}\n{}", s.log());
    sent
}

/// What hookprobe's event hook has seen.
#[derive(Debug, Default)]
pub struct Counts {
    /// Events by name.
    pub by_name: std::collections::HashMap<String, u64>,
    /// Distinct threads that raised events.
    pub threads: usize,
    /// The last event's name and body.
    pub last: (String, String),
}

impl Counts {
    pub fn of(&self, name: &str) -> u64 {
        self.by_name.get(name).copied().unwrap_or(0)
    }
}

/// `hookprobe count`
pub fn counts(s: &StandIn) -> Counts {
    let out = s.rx("hookprobe count");
    let mut c = Counts::default();
    for line in out.lines() {
        let parts: Vec<&str> = line.splitn(4, ' ').collect();
        match parts.as_slice() {
            ["COUNT", name, n] => {
                c.by_name.insert(name.to_string(), n.parse().unwrap_or(0));
            }
            ["THREADS", n] => c.threads = n.parse().unwrap_or(0),
            ["LAST", _, name, rest @ ..] => {
                c.last = (name.to_string(), rest.first().map(|b| unhex(b)).unwrap_or_default());
            }
            _ => {}
        }
    }
    c
}

/// Builds a test-only variant of the module (`--features <feature>`) into its own target dir
/// under ours and returns the .so. Such builds are never meant for a PBX.
pub fn build_variant(feature: &str, dir_name: &str) -> std::path::PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target = super::target_dir().join(dir_name);
    let status = std::process::Command::new(cargo)
        .args(["build", "--lib", "--features", feature, "--manifest-path"])
        .arg(manifest_dir().join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target)
        .status()
        .expect("run cargo");
    assert!(status.success(), "building the {feature} variant failed");
    target.join("debug/libres_ami_websocket.so")
}
