//! Non-Ethereum nodes (Starknet, Substrate): what their JSON-RPC and metrics say about them, as a
//! `ChainNode`. Identity, chain and blocks come from JSON-RPC; what only metrics carry (peers,
//! ready transactions, network bytes, start time) from the `--node` scrape.

pub mod starknet;
pub mod substrate;

use serde_json::Value;

use crate::agent::profiles::source::Source;
use crate::agent::rpc::{RpcClient, RpcError};
use crate::wire::exposition::Exposition;
use crate::wire::snapshot::ChainNode;
use crate::wire::telemetry::Format;

/// What a node's metrics alone tell, for a node without JSON-RPC or while it does not answer.
pub fn from_metrics(format: Format, metrics: &Exposition) -> ChainNode {
    match format {
        Format::Starknet => starknet::from_metrics(metrics),
        Format::Substrate => substrate::from_metrics(metrics),
    }
}

/// Calls a method that not every client has: `Ok(None)` when the node says it does not exist.
async fn optional(rpc: &RpcClient, method: &str) -> Result<Option<Value>, RpcError> {
    match rpc.call(method, Value::Array(Vec::new())).await {
        Ok(value) => Ok(Some(value)),
        Err(err) if err.is_unknown_method() => Ok(None),
        Err(err) => Err(err),
    }
}

/// A whole, non-negative count from a metrics source.
fn count(metrics: Option<&Exposition>, source: &Source) -> Option<u64> {
    source
        .read(metrics?)
        .filter(|value| value.is_finite() && *value >= 0.0)
        .map(|value| value as u64)
}

/// A finite value from a metrics source.
fn value(metrics: Option<&Exposition>, source: &Source) -> Option<f64> {
    source.read(metrics?).filter(|value| value.is_finite())
}

/// The standard process collector's start time, shared by every client.
const START_TIME: &str = "process_start_time_seconds";

/// A hex quantity (`0x1a2b`) or a plain JSON number.
fn quantity(value: &Value) -> Option<u64> {
    match value {
        Value::Number(number) => number.as_u64(),
        Value::String(text) => u64::from_str_radix(text.strip_prefix("0x")?, 16).ok(),
        _ => None,
    }
}

fn string(value: &Value) -> Option<String> {
    value.as_str().map(str::to_owned)
}
