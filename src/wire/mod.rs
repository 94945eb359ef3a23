//! What crosses the network, in both directions, and the model the encoders read: the Prometheus
//! exposition (parsed and negotiated), client-stats (encoded by the agent, decoded by the server),
//! WebSocket telemetry frames, the Pushgateway body, the beacon node's REST answers, and nodepulse's
//! own validator and execution-client reports. Pure functions over bytes and values:
//! nothing here knows tokio, HTTP or a database, or reads a clock, so every format is tested byte
//! for byte, and the agent and the server meet here and nowhere else.

pub mod beacon_api;
pub mod client_stats;
pub mod execution;
pub mod exposition;
pub mod pushgateway;
pub mod snapshot;
pub mod telemetry;
pub mod validators;
