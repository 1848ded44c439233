//! The event log (one bounded ring with sequence numbers) and event encoders.
