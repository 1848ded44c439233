//! The one owner of everything a load builds: load builds it, unload shuts it down, reload
//! swaps in new settings.

use std::sync::Mutex;

use crate::host;
use crate::rawconf::Loaded;
use crate::settings::{CONFIG_FILE, Settings};
use crate::{MODULE_NAME, ast_notice, ast_warning};

/// Asterisk major versions whose structs we use were checked to be identical to our declarations.
pub const TESTED_MAJORS: &[u32] = &[20, 22, 23];

/// Everything a load owns, in teardown order (Rust drops fields in declaration order).
struct ModuleState {
    cli: host::cli::CliRegistration,
    settings: Settings,
}

/// std's Mutex (not parking_lot): load/unload/reload run on Asterisk's threads, and parking_lot
/// would leave a thread-local destructor on them when contended.
static STATE: Mutex<Option<ModuleState>> = Mutex::new(None);

/// Errors that stop a load or a reload; shown in the log.
pub type Error = String;

/// The major version of a version text such as "22.10.1" or "GIT-master-abc".
/// Only a number that starts a dotted release (`22.` in `certified/22.8-cert1`) counts.
pub fn major_of(version: &str) -> Option<u32> {
    version
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '.')
        .find_map(|word| {
            let (major, rest) = word.split_once('.')?;
            let digits_only = !major.is_empty() && major.bytes().all(|b| b.is_ascii_digit());
            let dotted = rest.starts_with(|c: char| c.is_ascii_digit());
            if digits_only && dotted { major.parse().ok() } else { None }
        })
}

/// Reads `ami_websocket.conf`: defaults (with a notice) when missing, an error when invalid.
fn read_settings() -> Result<Settings, Error> {
    match host::config::load(CONFIG_FILE, MODULE_NAME) {
        Loaded::Missing => {
            ast_notice!("{CONFIG_FILE} not found; using defaults");
            Ok(Settings::default())
        }
        Loaded::Invalid => Err(format!("{CONFIG_FILE} has a syntax error")),
        Loaded::File(raw) => Settings::from_raw(&raw).map_err(|e| format!("{CONFIG_FILE}: {e}")),
    }
}

pub(crate) fn load() -> Result<(), Error> {
    crate::guard::install_panic_hook();
    #[cfg(feature = "unsafe-test-forward-getvar")]
    {
        // Test builds only: forwards an action that crashes Asterisk, to prove the stand-in bites.
        let _ = crate::host::manager::send_action_text("Action: Getvar\r\nVariable: EPOCH\r\n\r\n");
    }
    let version = host::core::version();
    match major_of(&version) {
        Some(m) if TESTED_MAJORS.contains(&m) => {
            ast_notice!("{MODULE_NAME} loading on Asterisk {version}");
        }
        _ => {
            return Err(format!(
                "untested Asterisk version '{version}' (tested majors: 20, 22, 23)"
            ));
        }
    }
    let settings = read_settings()?;
    if !host::manager::manager_enabled() {
        ast_warning!(
            "AMI is disabled (manager.conf [general] enabled = no): Asterisk then sends almost no \
             events to {MODULE_NAME}. Set enabled = yes (bindaddr = 127.0.0.1 keeps TCP AMI local)."
        );
    }
    let cli = host::cli::CliRegistration::register(crate::ws::cli::COMMANDS)
        .map_err(|e| e.to_string())?;
    let mut state = STATE.lock().unwrap_or_else(|e| e.into_inner());
    *state = Some(ModuleState { cli, settings });
    Ok(())
}

pub(crate) fn unload() -> Result<(), Error> {
    let mut state = STATE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(s) = state.take() {
        drop(s.cli);
    }
    Ok(())
}

pub(crate) fn reload() -> Result<(), Error> {
    let settings = read_settings()?;
    let mut state = STATE.lock().unwrap_or_else(|e| e.into_inner());
    match state.as_mut() {
        Some(s) => {
            s.settings = settings;
            Ok(())
        }
        None => Err("not loaded".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::major_of;

    #[test]
    fn majors_are_read_from_version_texts() {
        assert_eq!(major_of("22.10.1"), Some(22));
        assert_eq!(major_of("20.20.1-cert3"), Some(20));
        assert_eq!(major_of("certified/18.9-cert11"), Some(18));
        assert_eq!(major_of("GIT-master-f0c1c1a"), None);
    }
}
