//! Operational metrics in the Prometheus text format: counters the network loop keeps, and
//! their rendering for res_prometheus's `/metrics` or our own.

pub mod render;
pub mod tally;
