//! Wire formats: pure encoders from a snapshot or scrapes (and a time) to the bytes a receiver
//! takes. Nothing here does I/O or reads a clock, so every format is tested byte for byte.

pub mod client_stats;
pub mod pushgateway;
pub mod telemetry;
