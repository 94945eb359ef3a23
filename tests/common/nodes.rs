//! Loopback JSON-RPC servers that stand in for a Starknet node (Juno on Sepolia) and a Substrate
//! node (a Polkadot validator), with realistic answers, for the agent's telemetry streams.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};

use super::{Reply, Server};

pub const GENESIS: &str = "0x91b171bb158e2d3848fa23a9f1c25182fb8e20313b2c1eb49219da7a70ce90c3";
pub const PEER_ID: &str = "12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp";

/// A JSON-RPC node answering `answer(method, params)`, or "method not found".
pub fn rpc_node(answer: impl Fn(&str, &Value) -> Option<Value> + Send + Sync + 'static) -> Server {
    Server::start(move |request| {
        let call: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let method = call["method"].as_str().unwrap_or_default();
        let body = match answer(method, &call["params"]) {
            Some(result) => json!({"jsonrpc": "2.0", "id": call["id"], "result": result}),
            None => json!({"jsonrpc": "2.0", "id": call["id"],
                           "error": {"code": -32601, "message": "Method not found"}}),
        };
        Reply::ok(body.to_string())
    })
}

/// The first block of the fake Starknet node, and its time.
pub const STARKNET_FIRST_BLOCK: u64 = 381_000;
pub const STARKNET_FIRST_TIME: u64 = 1_720_698_368;

/// What the fake Starknet node's block `number` carries: its time (Unix seconds) and event count.
pub fn starknet_block_facts(number: u64) -> (u64, u64) {
    (
        STARKNET_FIRST_TIME + (number - STARKNET_FIRST_BLOCK) * 2,
        1_800 + number % 97,
    )
}

/// A Juno node on Sepolia (JSON-RPC 0.8) where blocks come faster than it is asked: a new block
/// arrives before every call, so two calls never see the same head.
pub fn starknet_node() -> Server {
    starknet_node_of(Some("v0.14.2"))
}

/// The same node with Juno's version method answering `juno_version`, or without one (Madara).
pub fn starknet_node_of(juno_version: Option<&'static str>) -> Server {
    let head = AtomicU64::new(STARKNET_FIRST_BLOCK);
    rpc_node(move |method, _| {
        let number = head.fetch_add(1, Ordering::SeqCst) + 1;
        let (timestamp, events) = starknet_block_facts(number);
        match method {
            "starknet_specVersion" => Some(json!("0.8.1")),
            "starknet_chainId" => Some(json!("0x534e5f5345504f4c4941")),
            "starknet_blockHashAndNumber" => {
                Some(json!({"block_hash": format!("0x{number:063x}"), "block_number": number}))
            }
            "starknet_getBlockWithTxHashes" => Some(json!({
                "status": "ACCEPTED_ON_L2",
                "block_hash": format!("0x{number:063x}"),
                "parent_hash": format!("0x{:063x}", number - 1),
                "block_number": number,
                "new_root": "0x4bd2d7a5c5d7c3e1c2a8b0e2f1d2c3b4a5968778695a4b3c2d1e0f9a8b7c6d5",
                "timestamp": timestamp,
                "sequencer_address": "0x1176a1bd84444c89232ec27754698e5d2e7e1a7f1539f12027f28b23ec9f3d8",
                "l1_gas_price": {"price_in_fri": "0x1d1a94a20000", "price_in_wei": "0x3b9aca08"},
                "l2_gas_price": {"price_in_fri": "0x1dcd65000", "price_in_wei": "0x3e8"},
                "l1_data_gas_price": {"price_in_fri": "0x1f3a", "price_in_wei": "0x1"},
                "l1_da_mode": "BLOB",
                "starknet_version": "0.13.4",
                "event_count": events,
                "transactions": ["0x1a", "0x2b", "0x3c"]
            })),
            "juno_version" => juno_version.map(Value::from),
            _ => None,
        }
    })
}

/// A Polkadot validator node whose best block advances one per `chain_getBlockHash` of the head.
pub fn substrate_node() -> Server {
    let head = AtomicU64::new(22_061_040);
    let hash = |number: u64| format!("0x{number:064x}");
    rpc_node(move |method, params| match method {
        "system_chain" => Some(json!("Polkadot")),
        "system_name" => Some(json!("Parity Polkadot")),
        "system_version" => Some(json!("1.15.2-7c4a5b3a6a0")),
        "system_localPeerId" => Some(json!(PEER_ID)),
        "system_nodeRoles" => Some(json!(["Authority"])),
        "system_health" => Some(json!({"peers": 40, "isSyncing": false, "shouldHavePeers": true})),
        "chain_getBlockHash" if params == &json!([0]) => Some(json!(GENESIS)),
        "chain_getBlockHash" => Some(json!(hash(head.fetch_add(1, Ordering::SeqCst) + 1))),
        "chain_getFinalizedHead" => Some(json!(hash(head.load(Ordering::SeqCst) - 2))),
        "chain_getHeader" => {
            let asked = params[0].as_str().unwrap_or_default();
            let number = u64::from_str_radix(asked.trim_start_matches("0x"), 16).unwrap_or(0);
            Some(json!({"number": format!("0x{number:x}"), "parentHash": hash(number - 1)}))
        }
        _ => None,
    })
}

/// Anvil 1.7.1 as recorded (`fixtures/execution-rpc/anvil-1.7.1.json`): each method answers what
/// it answered then, with the error it gave (`net_peerCount`: "Method not found").
pub fn recorded_anvil() -> Server {
    let recording: Value =
        serde_json::from_slice(&super::fixture("execution-rpc/anvil-1.7.1.json"))
            .expect("the Anvil recording is JSON");
    let exchanges = recording["exchanges"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    Server::start(move |request| {
        let call: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let recorded = exchanges.iter().find(|exchange| {
            exchange["request"]["method"] == call["method"]
                && exchange["request"]["params"] == call["params"]
        });
        let mut answer = match recorded {
            Some(exchange) => exchange["answer"].clone(),
            None => {
                json!({"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}})
            }
        };
        answer["id"] = call["id"].clone();
        Reply::ok(answer.to_string())
    })
}
