//! res_ami_websocket: the Asterisk Manager Interface on a WebSocket served by the PBX itself.
//!
//! Layers: `sys` (generated bindings) and `host` (the only code that calls Asterisk) at the
//! bottom; `state` owns everything a load builds; `events`, `ami` and `ws` are pure Rust.
//! The three entry points below are called by the C glue in `module/module.c`.

pub mod actions;
pub mod ami;
pub mod compat;
pub mod events;
pub mod guard;
pub mod host;
pub mod metrics;
pub mod nats;
pub mod rawconf;
pub mod settings;
pub mod state;
pub mod sys;
pub mod ws;

use std::ffi::c_int;

/// The module's name as the loader knows it.
pub const MODULE_NAME: &str = env!("AMI_WS_MODULE_NAME");

/// `load_module`: builds the module state; declines (with a logged reason) on any failure.
#[unsafe(no_mangle)]
pub extern "C" fn res_ami_websocket_rs_load() -> c_int {
    guard::ffi_guard(sys::AMI_WS_MODULE_LOAD_DECLINE, || match state::load() {
        Ok(()) => sys::AMI_WS_MODULE_LOAD_SUCCESS,
        Err(e) => {
            ast_error!("{MODULE_NAME} not loaded: {e}");
            sys::AMI_WS_MODULE_LOAD_DECLINE
        }
    })
}

/// `unload_module`: 0 only when every thread of ours has stopped; -1 keeps the .so mapped.
#[unsafe(no_mangle)]
pub extern "C" fn res_ami_websocket_rs_unload() -> c_int {
    guard::ffi_guard(-1, || match state::unload() {
        Ok(()) => 0,
        Err(e) => {
            ast_error!("{MODULE_NAME} cannot unload yet: {e}");
            -1
        }
    })
}

/// `reload`: applies a new config; a bad one keeps the old config and returns an error.
#[unsafe(no_mangle)]
pub extern "C" fn res_ami_websocket_rs_reload() -> c_int {
    guard::ffi_guard(sys::AMI_WS_MODULE_LOAD_DECLINE, || match state::reload() {
        Ok(()) => sys::AMI_WS_MODULE_LOAD_SUCCESS,
        Err(e) => {
            ast_error!("{MODULE_NAME} reload failed, old configuration kept: {e}");
            sys::AMI_WS_MODULE_LOAD_DECLINE
        }
    })
}
