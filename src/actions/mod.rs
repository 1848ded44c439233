//! AMI actions from clients: the worker pool that runs them off the network loop, the
//! permission decision, and the actions the module answers itself.

pub mod execute;
pub mod own;
pub mod pool;
pub mod privileges;

use std::sync::Arc;

use crate::settings::Settings;
use pool::ActionPool;

/// Starts the action threads for a listener; each inhibits privilege escalation once.
pub fn start_pool(
    settings: &Settings,
    notify: Box<dyn Fn() + Send + Sync>,
) -> std::io::Result<ActionPool> {
    ActionPool::start(
        settings.action_threads,
        settings.max_actions_per_client,
        settings.max_actions_total,
        Arc::new(execute::execute),
        Arc::new(|| {
            if !crate::host::core::inhibit_escalations() {
                crate::ast_warning!("action thread: could not inhibit privilege escalations");
            }
        }),
        notify,
    )
}
