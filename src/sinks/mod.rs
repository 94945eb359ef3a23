//! Sinks deliver encoded payloads. They know bytes and receivers, nothing of clients or metrics.

pub mod http;
pub mod stdout;
