//! The event log (one bounded ring with sequence numbers) and event encoders.

pub mod encode;
pub mod ring;
