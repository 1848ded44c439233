//! AMI actions from clients: the worker pool that runs them off the network loop, the
//! permission decision, and the actions the module answers itself.

pub mod execute;
pub mod own;
pub mod pool;
pub mod privileges;

use std::cell::Cell;
use std::sync::Arc;

use crate::settings::Settings;
use pool::ActionPool;

thread_local! {
    /// Set on our action threads. Const-initialised `Cell<bool>`: reading it on any thread
    /// (Asterisk's too) registers no thread-local destructor.
    static ON_ACTION_THREAD: Cell<bool> = const { Cell::new(false) };
}

/// Whether the caller is one of our action threads (which must never wait for the listener to
/// stop: the listener waits for them).
pub fn on_action_thread() -> bool {
    ON_ACTION_THREAD.with(Cell::get)
}

/// Starts the action threads for a listener; each inhibits privilege escalation once.
pub fn start_pool(
    settings: &Settings,
    notify: Box<dyn Fn() + Send + Sync>,
) -> std::io::Result<ActionPool> {
    ActionPool::start(
        settings.action_threads,
        settings.max_actions_total,
        Arc::new(execute::execute),
        Arc::new(|| {
            ON_ACTION_THREAD.with(|c| c.set(true));
            if !crate::host::core::inhibit_escalations() {
                crate::ast_warning!("action thread: could not inhibit privilege escalations");
            }
        }),
        notify,
    )
}
