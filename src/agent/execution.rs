//! The execution client beside the beacon node (`--execution-rpc`): its version, sync state, head
//! and its age, peers and chain, from the standard JSON-RPC, every call at once. A method the
//! client does not have leaves its figure out; a node that answers nothing gives no report.

use std::time::SystemTime;

use serde_json::{Value, json};

use crate::agent::rpc::{RpcClient, RpcError};
use crate::wire::execution::{ExecutionReport, VERSION, quantity};

/// Asks the client; `Err` only when it answered none of the calls.
pub async fn observe(rpc: &RpcClient, now: SystemTime) -> Result<ExecutionReport, RpcError> {
    let (client_version, chain_id, syncing, head_block, head, peers) = tokio::join!(
        rpc.call("web3_clientVersion", json!([])),
        rpc.call("eth_chainId", json!([])),
        rpc.call("eth_syncing", json!([])),
        rpc.call("eth_blockNumber", json!([])),
        rpc.call("eth_getBlockByNumber", json!(["latest", false])),
        rpc.call("net_peerCount", json!([])),
    );
    let answers = [
        &client_version,
        &chain_id,
        &syncing,
        &head_block,
        &head,
        &peers,
    ];
    let failures: Vec<&RpcError> = answers.iter().filter_map(|a| a.as_ref().err()).collect();
    if failures.len() == answers.len() {
        return Err(failures[0].clone());
    }
    for failed in failures.iter().filter(|failed| !failed.is_unknown_method()) {
        tracing::debug!(%rpc, "{failed}");
    }
    let now_seconds = crate::unix_millis(now) / 1000;
    let head_time = head
        .as_ref()
        .ok()
        .and_then(|block| quantity(&block["timestamp"]));
    Ok(ExecutionReport {
        version: VERSION,
        client_version: client_version
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned)),
        chain_id: chain_id.ok().as_ref().and_then(quantity),
        synced: syncing.as_ref().ok().map(|s| s == &Value::Bool(false)),
        highest_block: syncing
            .ok()
            .as_ref()
            .and_then(|s| quantity(&s["highestBlock"])),
        head_block: head_block.ok().as_ref().and_then(quantity),
        head_age_seconds: head_time.map(|at| now_seconds.saturating_sub(at)),
        peers: peers.ok().as_ref().and_then(quantity),
    })
}
