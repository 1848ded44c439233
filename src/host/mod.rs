//! The only code that calls Asterisk: logging, CLI, config files, the manager hook, core facts,
//! security events and ACL lists.
#![warn(missing_docs)]

pub mod acl;
pub mod channel;
pub mod cli;
pub mod config;
pub mod core;
pub mod log;
pub mod manager;
pub mod prometheus;
pub mod random;
pub mod regex;
pub mod regex_cost;
pub mod security;
pub mod status;
pub mod thread;
