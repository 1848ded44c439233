//! The event log (one bounded ring with sequence numbers) and event encoders.

pub mod encode;
pub mod event;
pub mod headers;
pub mod ring;

#[cfg(test)]
mod fixture_tests;
