//! The only code that calls Asterisk: logging, CLI, config files, the manager hook, core facts.
#![warn(missing_docs)]

pub mod channel;
pub mod cli;
pub mod config;
pub mod core;
pub mod log;
pub mod manager;
pub mod prometheus;
pub mod random;
pub mod regex;
pub mod thread;
