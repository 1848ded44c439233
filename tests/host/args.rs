//! The command line of asterisk-standin.
#![forbid(unsafe_code)]

use std::path::PathBuf;

/// What the command line asks for.
#[derive(Debug, Default, Clone)]
pub struct Options {
    pub config_dir: Option<PathBuf>,
    pub module: Option<PathBuf>,
    pub moddir: Option<PathBuf>,
    pub load: bool,
    pub control: Option<PathBuf>,
    pub verbose: i32,
    pub debug: i32,
    pub traffic: Option<f64>,
    pub replay: bool,
    pub rx: Option<String>,
    pub version: Option<String>,
    pub version_num: Option<String>,
    pub maxfiles: Option<u64>,
    pub help: bool,
}

pub const USAGE: &str = "\
Usage: asterisk-standin --config-dir DIR [--module PATH] [--moddir DIR] [--load]
                        [--control SOCKET] [--verbose N] [--debug N]
                        [--traffic CALLS_PER_SEC] [--replay] [--asterisk-version V]
                        [--asterisk-version-num N] [--maxfiles N]
       asterisk-standin --control SOCKET --rx \"COMMAND\"

  --config-dir DIR     Asterisk config directory (manager.conf, ami_websocket.conf, ...)
  --module PATH        a module .so; linked into the module directory without a 'lib' prefix
  --moddir DIR         the module directory (default: a private temporary directory)
  --load               load the --module at startup
  --control SOCKET     serve commands on this unix socket (one per connection)
  --verbose N          initial option_verbose      --debug N   initial option_debug
  --traffic R          generate R simulated calls per second
  --replay             replay the recorded events once at startup
  --asterisk-version V the version ast_get_version() reports
  --asterisk-version-num N  what ast_get_version_num() reports (default: made from the
                       version as Asterisk's Makefile makes it; empty for GIT-/SVN- texts)
  --maxfiles N         open-file limit (soft and hard), as asterisk.conf maxfiles;
                       default: the soft limit is raised to the hard limit
  --rx COMMAND         client mode: run COMMAND in a running stand-in and print the reply
Commands are read from stdin too; see tests/host/README.md.
";

/// Parses arguments (without the program name).
pub fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value =
            |name: &str| it.next().cloned().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "--config-dir" => o.config_dir = Some(value(a)?.into()),
            "--module" => o.module = Some(value(a)?.into()),
            "--moddir" => o.moddir = Some(value(a)?.into()),
            "--load" => o.load = true,
            "--control" => o.control = Some(value(a)?.into()),
            "--verbose" => o.verbose = value(a)?.parse().map_err(|_| "--verbose needs a number")?,
            "--debug" => o.debug = value(a)?.parse().map_err(|_| "--debug needs a number")?,
            "--traffic" => {
                o.traffic = Some(value(a)?.parse().map_err(|_| "--traffic needs a rate")?);
            }
            "--replay" => o.replay = true,
            "--rx" => o.rx = Some(value(a)?),
            "--asterisk-version" => o.version = Some(value(a)?),
            "--asterisk-version-num" => o.version_num = Some(value(a)?),
            "--maxfiles" => {
                o.maxfiles = Some(value(a)?.parse().map_err(|_| "--maxfiles needs a number")?);
            }
            "-h" | "--help" => o.help = true,
            other => return Err(format!("unknown argument '{other}'")),
        }
    }
    if o.rx.is_some() && o.control.is_none() {
        return Err("--rx needs --control SOCKET".into());
    }
    if o.rx.is_none() && !o.help && o.config_dir.is_none() {
        return Err("--config-dir is required".into());
    }
    if o.load && o.module.is_none() {
        return Err("--load needs --module PATH".into());
    }
    Ok(o)
}

/// The name a module file gets in the module directory: `libres_x.so` -> `res_x.so`.
pub fn module_file_name(path: &std::path::Path) -> String {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    match name.strip_prefix("lib") {
        Some(rest) if !rest.is_empty() => rest.to_string(),
        _ => name,
    }
}
