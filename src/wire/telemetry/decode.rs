//! Reading telemetry frames as a server receives them: Substrate's flat and wrapped messages and
//! the Starknet stream (seed 002), told apart by their shape.
//!
//! Substrate (sc-telemetry, substrate-telemetry's shard): the flat form `{"msg": ..., "ts": ...}`
//! is node 0 of its connection; the wrapped form `{"id": N, "ts": ..., "payload": {"msg": ...}}`
//! is node N. Starknet: `{"payload": {...}, "ts": ...}` with no `msg`; the first identifies the
//! node, later ones update it. Starknet fields come flat (the seed's example) or grouped under
//! `Node`, `Network` and `System` (its schema), in either case; they are read flat and lower case.

use serde_json::{Map, Value};

/// Substrate's limit on a node's `network_id`.
pub const MAX_NETWORK_ID_CHARS: usize = 64;
/// A node's name, chain, implementation and version are cut to this many bytes: nothing real
/// comes near it, and every page and answer that shows them stays bounded.
pub const MAX_NAME_BYTES: usize = 1024;
/// A message's `msg` longer than this is refused; its `target` is cut to it.
pub const MAX_MSG_BYTES: usize = 128;
/// A value kept in a node's latest state (a height, a hash, a rate) is at most this long as JSON;
/// longer ones are not kept (the message itself still is).
pub const MAX_STATE_VALUE_BYTES: usize = 256;
/// A node's latest state keeps at most this many fields.
pub const MAX_STATE_FIELDS: usize = 64;

#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// A Substrate message of node `id` on its connection (0 in the flat form); `message` holds
    /// `msg` and every field, as the node sent them.
    Substrate {
        id: u64,
        message: Map<String, Value>,
    },
    /// A Starknet update: the fields it carries, flat, keys in lower case.
    Starknet { update: Map<String, Value> },
}

impl Frame {
    /// The message kind, as counted and stored: `msg` for Substrate, `starknet` for the other.
    pub fn kind(&self) -> &str {
        match self {
            Frame::Substrate { message, .. } => message
                .get("msg")
                .and_then(Value::as_str)
                .unwrap_or_default(),
            Frame::Starknet { .. } => "starknet",
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FrameError {
    #[error("the frame is not JSON: {0}")]
    NotJson(String),
    #[error("the frame is not a JSON object")]
    NotObject,
    #[error("the frame has neither `msg` nor a `payload` object")]
    Unknown,
    #[error("`msg` must be a non-empty string of at most {MAX_MSG_BYTES} bytes without NUL")]
    BadMsg,
    #[error("`id` must be an unsigned integer")]
    BadId,
    #[error("system.connected lacks {0}")]
    Connected(&'static str),
}

/// Reads one frame (a text or binary WebSocket message).
pub fn decode(bytes: &[u8]) -> Result<Frame, FrameError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|err| FrameError::NotJson(err.to_string()))?;
    let Value::Object(mut frame) = value else {
        return Err(FrameError::NotObject);
    };
    if frame.contains_key("msg") {
        return substrate(0, frame);
    }
    match frame.remove("payload") {
        Some(Value::Object(payload)) if payload.contains_key("msg") => {
            let id = match frame.get("id") {
                None => 0,
                Some(id) => id.as_u64().ok_or(FrameError::BadId)?,
            };
            substrate(id, payload)
        }
        Some(Value::Object(payload)) => Ok(Frame::Starknet {
            update: flatten(payload),
        }),
        _ => Err(FrameError::Unknown),
    }
}

fn substrate(id: u64, message: Map<String, Value>) -> Result<Frame, FrameError> {
    match message.get("msg").and_then(Value::as_str) {
        Some(msg) if !msg.is_empty() && msg.len() <= MAX_MSG_BYTES && !msg.contains('\0') => {
            Ok(Frame::Substrate { id, message })
        }
        _ => Err(FrameError::BadMsg),
    }
}

/// The schema's groups opened up and every key lower-cased, so `CPU_usage` in a `System` group and
/// the example's flat `cpu_usage` are one field.
fn flatten(payload: Map<String, Value>) -> Map<String, Value> {
    let mut flat = Map::new();
    for (key, value) in payload {
        let group = ["node", "network", "system"].contains(&key.to_ascii_lowercase().as_str());
        match value {
            Value::Object(fields) if group => {
                for (field, value) in fields {
                    flat.insert(field.to_ascii_lowercase(), value);
                }
            }
            value => {
                flat.insert(key.to_ascii_lowercase(), value);
            }
        }
    }
    flat
}

/// Who a node is, from Substrate's `system.connected` or a Starknet session's first update.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Identity {
    /// The key: Substrate's `network_id` (its libp2p peer id), Starknet's `peer_id` or else `name`.
    pub peer_id: String,
    /// Substrate's chain `genesis_hash`; empty for Starknet, which has none.
    pub genesis_hash: String,
    pub name: Option<String>,
    pub chain: Option<String>,
    pub implementation: Option<String>,
    pub version: Option<String>,
    pub authority: Option<bool>,
    /// Unix ms, as the node reports it.
    pub startup_time: Option<i64>,
    /// What it says of the machine it runs on (`system.connected`'s build target and `sysinfo`,
    /// under `substrate_machine`'s names); empty for Starknet.
    pub machine: Map<String, Value>,
}

/// The node a `system.connected` message announces. Like the servers, it needs a genesis hash
/// (`0x` and 64 hex digits) and a `network_id` of at most 64 characters.
pub fn substrate_identity(message: &Map<String, Value>) -> Result<Identity, FrameError> {
    let genesis_hash = text(message, "genesis_hash")
        .filter(|hash| is_hash(hash))
        .ok_or(FrameError::Connected(
            "a genesis_hash (0x and 64 hex digits)",
        ))?;
    let peer_id = message
        .get("network_id")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty() && id.chars().count() <= MAX_NETWORK_ID_CHARS)
        .map(storable)
        .ok_or(FrameError::Connected("a network_id of 1 to 64 characters"))?;
    Ok(Identity {
        peer_id,
        genesis_hash,
        name: text(message, "name"),
        chain: text(message, "chain"),
        implementation: text(message, "implementation"),
        version: text(message, "version"),
        authority: message.get("authority").and_then(Value::as_bool),
        // A string of Unix ms in sc-telemetry; a number is taken too.
        startup_time: message
            .get("startup_time")
            .and_then(lenient_number)
            .map(|ms| ms as i64),
        machine: bounded_state(substrate_machine(message)),
    })
}

/// The node a Starknet session's first update announces, if it carries `peer_id` or `name`.
pub fn starknet_identity(update: &Map<String, Value>) -> Option<Identity> {
    let name = text(update, "name");
    let peer_id = text(update, "peer_id")
        .or_else(|| name.clone())
        .filter(|id| !id.is_empty())?;
    Some(Identity {
        peer_id,
        genesis_hash: String::new(),
        name,
        chain: text(update, "network"),
        implementation: text(update, "client"),
        version: text(update, "version"),
        authority: None,
        startup_time: None,
        machine: Map::new(),
    })
}

/// What a Substrate message changes in its node's latest state: heights, hashes, peers and
/// rates, under one name each whichever message brought them. (`notify.finalized` carries the
/// finalized block as `best` and `height`, the latter a string.)
pub fn substrate_state(message: &Map<String, Value>) -> Map<String, Value> {
    let msg = message
        .get("msg")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let renames: &[(&str, &str)] = match msg {
        "system.interval" => &[
            ("height", "best_height"),
            ("best", "best_hash"),
            ("finalized_height", "finalized_height"),
            ("finalized_hash", "finalized_hash"),
            ("peers", "peers"),
            ("txcount", "txcount"),
            ("bandwidth_upload", "bandwidth_upload"),
            ("bandwidth_download", "bandwidth_download"),
            ("used_state_cache_size", "used_state_cache_size"),
            // Sent by nodes before 2021.
            ("cpu", "cpu"),
            ("memory", "memory"),
        ],
        "block.import" => &[("height", "best_height"), ("best", "best_hash")],
        "notify.finalized" => &[("height", "finalized_height"), ("best", "finalized_hash")],
        // sc-sysinfo's hardware benchmarks, sent once after `system.connected`.
        "sysinfo.hwbench" => &[
            ("cpu_hashrate_score", "cpu_hashrate_score"),
            ("parallel_cpu_hashrate_score", "parallel_cpu_hashrate_score"),
            ("memory_memcpy_score", "memory_memcpy_score"),
            ("disk_sequential_write_score", "disk_sequential_write_score"),
            ("disk_random_write_score", "disk_random_write_score"),
        ],
        _ => &[],
    };
    let mut state = Map::new();
    for (from, to) in renames {
        let Some(value) = message.get(*from) else {
            continue;
        };
        let value = if to.ends_with("_height") {
            match lenient_number(value) {
                Some(height) => Value::from(height as u64),
                None => continue,
            }
        } else {
            value.clone()
        };
        state.insert((*to).to_owned(), value);
    }
    state
}

/// A node's best block, as a message reports it: what propagation is measured on. A report
/// without the block's hash is none: the hash is what shows the node really has the block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BestBlock {
    /// Whole and at least 0: a database's signed 64-bit integer.
    pub height: i64,
    /// `0x` and hex digits, lower case.
    pub hash: String,
}

/// The best block a Substrate `block.import` or `system.interval` reports (others report none;
/// `notify.finalized` reuses the names for the finalized block).
pub fn substrate_best(message: &Map<String, Value>) -> Option<BestBlock> {
    let msg = message.get("msg").and_then(Value::as_str)?;
    if msg != "block.import" && msg != "system.interval" {
        return None;
    }
    best_block(message, "height", "best")
}

/// The L2 block a Starknet update reports, if it carries its number.
pub fn starknet_best(update: &Map<String, Value>) -> Option<BestBlock> {
    best_block(update, "current_block_number_l2", "current_block_hash_l2")
}

fn best_block(fields: &Map<String, Value>, height: &str, hash: &str) -> Option<BestBlock> {
    let height = fields.get(height).and_then(lenient_number)?;
    // Heights are whole and stored as signed 64-bit integers.
    if !(0.0..=i64::MAX as f64).contains(&height) || height.fract() != 0.0 {
        return None;
    }
    let hash = fields
        .get(hash)
        .and_then(Value::as_str)
        .filter(|hash| is_block_hash(hash))?
        .to_ascii_lowercase();
    Some(BestBlock {
        height: height as i64,
        hash,
    })
}

/// `0x` and 1 to 64 hex digits: Starknet's hashes are field elements, written without leading
/// zeros; Substrate's are 32 bytes.
fn is_block_hash(text: &str) -> bool {
    text.strip_prefix("0x").is_some_and(|hex| {
        (1..=64).contains(&hex.len()) && hex.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

/// `sysinfo.hwbench`'s scores (MB/s), kept under their own names in a node's state, and the
/// score of the reference machine for each (Polkadot's, as substrate-telemetry ranks them).
pub const HWBENCH_REFERENCES: [(&str, u64); 5] = [
    ("cpu_hashrate_score", 1028),
    ("parallel_cpu_hashrate_score", 1028),
    ("memory_memcpy_score", 14899),
    ("disk_sequential_write_score", 485),
    ("disk_random_write_score", 222),
];

/// `system.connected`'s `sysinfo` fields, and the names a node's machine keeps them under.
pub const SYSINFO_NAMES: [(&str, &str); 6] = [
    ("cpu", "cpu_model"),
    ("memory", "memory_bytes"),
    ("core_count", "core_count"),
    ("linux_kernel", "kernel"),
    ("linux_distro", "distro"),
    ("is_virtual_machine", "virtual_machine"),
];

/// What a `system.connected` says of the machine, under these names, for the chain's diversity
/// tables: the build's OS, architecture and C library, and sc-sysinfo's `sysinfo` (CPU, memory,
/// cores, kernel, distribution, virtual machine).
fn substrate_machine(message: &Map<String, Value>) -> Map<String, Value> {
    let mut machine = Map::new();
    for (from, to) in [
        ("target_os", "os"),
        ("target_arch", "arch"),
        ("target_env", "libc"),
    ] {
        if let Some(value) = message.get(from).filter(|value| value.is_string()) {
            machine.insert(to.to_owned(), value.clone());
        }
    }
    if let Some(Value::Object(sysinfo)) = message.get("sysinfo") {
        for (from, to) in SYSINFO_NAMES {
            if let Some(value) = sysinfo.get(from) {
                machine.insert(to.to_owned(), value.clone());
            }
        }
    }
    machine
}

/// The Node Data API's figures (seed 002) from a node's latest state, for either stream.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct NodeFigures {
    pub cpu_usage: Option<f64>,
    pub memory_usage: Option<f64>,
    pub network_traffic: Option<f64>,
    pub block_height: Option<f64>,
}

impl NodeFigures {
    /// Starknet state holds the stream's own fields; Substrate state is `substrate_state`'s.
    pub fn of(state: &Map<String, Value>) -> NodeFigures {
        let get = |key: &str| state.get(key).and_then(lenient_number);
        let bandwidth = match (get("bandwidth_upload"), get("bandwidth_download")) {
            (Some(up), Some(down)) => Some(up + down),
            (one, other) => one.or(other),
        };
        NodeFigures {
            cpu_usage: get("cpu_usage").or_else(|| get("cpu")),
            memory_usage: get("memory_usage"),
            network_traffic: bandwidth,
            block_height: get("current_block_number_l2").or_else(|| get("best_height")),
        }
    }
}

/// A JSON number, or a string holding one: the Starknet schema and its example disagree, and
/// Substrate sends some heights as strings.
pub fn lenient_number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => text.trim().parse::<f64>().ok().filter(|n| n.is_finite()),
        _ => None,
    }
}

/// A string field a node names itself by, made storable, then cut to `MAX_NAME_BYTES` (in that
/// order: the replacement character is longer than the NUL it replaces).
fn text(object: &Map<String, Value>, key: &str) -> Option<String> {
    object
        .get(key)
        .and_then(Value::as_str)
        .map(|text| cut(&storable(text), MAX_NAME_BYTES).to_owned())
}

/// A Substrate message's log `target`, cut to `MAX_MSG_BYTES` and made storable.
pub fn target(message: &Map<String, Value>) -> Option<String> {
    message
        .get("target")
        .and_then(Value::as_str)
        .map(|target| cut(&storable(target), MAX_MSG_BYTES).to_owned())
}

/// Text as every database can hold it: PostgreSQL's `text` cannot hold NUL, which becomes U+FFFD
/// (the replacement character), as in any text that could not be read.
pub fn storable(text: &str) -> String {
    text.replace('\0', "\u{FFFD}")
}

/// At most `max` bytes of `text`, ending on a character boundary.
fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The fields of an update that a node's latest state keeps (every update goes through it): field
/// names and values of bounded size (a node sending a megabyte as its "height" costs only its own
/// message).
pub fn bounded_state(update: Map<String, Value>) -> Map<String, Value> {
    update
        .into_iter()
        .filter(|(key, value)| fits_state(key, value))
        .collect()
}

/// Whether a state keeps this field: see `bounded_state`.
pub fn fits_state(key: &str, value: &Value) -> bool {
    key.len() <= MAX_MSG_BYTES
        && !key.contains('\0')
        && match value {
            Value::String(text) => text.len() <= MAX_STATE_VALUE_BYTES,
            Value::Array(_) | Value::Object(_) => {
                serde_json::to_string(value).is_ok_and(|json| json.len() <= MAX_STATE_VALUE_BYTES)
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => true,
        }
}

/// What a node's `system.network_state` says of one peer in its peer set.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerReputation {
    pub peer_id: String,
    pub reputation: Value,
    pub connected: Value,
}

/// The peers of a stored `system.network_state` (its JSON text): sc-network reports
/// `state.peerset.nodes`, a map of peer id to reputation and connection. None for text that does
/// not parse or holds no peer set.
pub fn peer_reputations(network_state: &str) -> Vec<PeerReputation> {
    let Ok(state) = serde_json::from_str::<Value>(network_state) else {
        return Vec::new();
    };
    let nodes = state
        .pointer("/state/peerset/nodes")
        .and_then(Value::as_object);
    nodes
        .into_iter()
        .flatten()
        .map(|(peer_id, seen)| PeerReputation {
            peer_id: peer_id.clone(),
            reputation: seen.get("reputation").cloned().unwrap_or(Value::Null),
            connected: seen.get("connected").cloned().unwrap_or(Value::Null),
        })
        .collect()
}

/// `0x` and 64 hex digits: a block or genesis hash.
pub(super) fn is_hash(text: &str) -> bool {
    text.strip_prefix("0x")
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const GENESIS: &str = "0x91b171bb158e2d3848fa23a9f1c25182fb8e20313b2c1eb49219da7a70ce90c3";

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            other => panic!("not an object: {other}"),
        }
    }

    #[test]
    fn best_blocks_come_from_imports_and_intervals_only() {
        let hash = format!("0x{:064x}", 7);
        let import = object(json!({"msg": "block.import", "height": 7, "best": hash}));
        assert_eq!(
            substrate_best(&import),
            Some(BestBlock {
                height: 7,
                hash: hash.clone()
            })
        );
        let interval = object(json!({"msg": "system.interval", "height": "8", "best": hash}));
        assert_eq!(substrate_best(&interval).map(|best| best.height), Some(8));
        let unproven = object(json!({"msg": "system.interval", "height": 9, "best": "nope"}));
        assert_eq!(substrate_best(&unproven), None, "no hash, no report");
        let finalized = object(json!({"msg": "notify.finalized", "height": "6", "best": hash}));
        assert_eq!(substrate_best(&finalized), None);
        for height in [json!(-1), json!(1.5), json!("x"), json!(1e300)] {
            let bad = object(json!({"msg": "block.import", "height": height, "best": hash}));
            assert_eq!(substrate_best(&bad), None, "{height}");
        }
        let starknet =
            object(json!({"current_block_number_l2": 12, "current_block_hash_l2": "0x7AEF"}));
        assert_eq!(
            starknet_best(&starknet),
            Some(BestBlock {
                height: 12,
                hash: "0x7aef".into()
            })
        );
    }

    #[test]
    fn system_connected_tells_the_machine() {
        let connected = object(json!({
            "msg": "system.connected", "target_os": "linux", "target_arch": "x86_64",
            "target_env": "gnu",
            "sysinfo": {"cpu": "AMD EPYC 7B13", "memory": 33_654_108_160_u64, "core_count": 8,
                        "linux_kernel": "6.1.0", "linux_distro": "Debian", "is_virtual_machine": true}
        }));
        let machine = substrate_machine(&connected);
        assert_eq!(machine["os"], "linux");
        assert_eq!(machine["core_count"], 8);
        assert_eq!(machine["virtual_machine"], true);
        assert_eq!(machine.len(), 9);
        assert!(substrate_machine(&object(json!({"msg": "system.connected"}))).is_empty());
    }

    #[test]
    fn the_three_forms_are_told_apart() {
        let flat = decode(br#"{"msg":"system.interval","ts":"2024-01-01T00:00:00Z","peers":3}"#);
        assert!(matches!(flat, Ok(Frame::Substrate { id: 0, .. })));
        let wrapped = decode(
            br#"{"id":7,"ts":"2024-01-01T00:00:00Z","payload":{"msg":"block.import","height":5}}"#,
        )
        .expect("wrapped");
        assert_eq!(wrapped.kind(), "block.import");
        assert!(matches!(wrapped, Frame::Substrate { id: 7, .. }));
        let starknet = decode(
            br#"{"payload":{"name":"Starknode","peer_id":"12D3"},"ts":"2024-07-11T11:46:08Z"}"#,
        )
        .expect("starknet");
        assert_eq!(starknet.kind(), "starknet");
    }

    #[test]
    fn garbage_is_refused_with_its_reason() {
        assert!(matches!(decode(b"{not json"), Err(FrameError::NotJson(_))));
        assert_eq!(decode(b"[1,2]"), Err(FrameError::NotObject));
        assert_eq!(decode(br#"{"ts":"x"}"#), Err(FrameError::Unknown));
        assert_eq!(decode(br#"{"payload":"x"}"#), Err(FrameError::Unknown));
        assert_eq!(decode(br#"{"msg":5}"#), Err(FrameError::BadMsg));
        assert_eq!(
            decode(br#"{"id":-1,"payload":{"msg":"system.interval"}}"#),
            Err(FrameError::BadId)
        );
    }

    #[test]
    fn starknet_groups_and_case_are_read_flat() {
        let Ok(Frame::Starknet { update }) = decode(
            br#"{"payload":{"Node":{"name":"n","peer_id":"p"},"System":{"CPU_usage":3},"current_block_number_l2":"12"},"ts":"x"}"#,
        ) else {
            panic!("not a Starknet frame");
        };
        assert_eq!(update["name"], "n");
        assert_eq!(update["cpu_usage"], 3);
        let figures = NodeFigures::of(&update);
        assert_eq!(figures.cpu_usage, Some(3.0));
        assert_eq!(figures.block_height, Some(12.0));
        assert_eq!(
            starknet_identity(&update).map(|id| id.peer_id),
            Some("p".into())
        );
    }

    #[test]
    fn a_starknet_node_is_named_by_peer_id_or_else_name() {
        let named = object(json!({"name": "Starknode", "client": "Madara", "version": "0.1.0"}));
        let identity = starknet_identity(&named).expect("identified by name");
        assert_eq!(identity.peer_id, "Starknode");
        assert_eq!(identity.implementation.as_deref(), Some("Madara"));
        assert_eq!(starknet_identity(&object(json!({"peer_count": 3}))), None);
    }

    #[test]
    fn system_connected_needs_a_genesis_hash_and_a_network_id() {
        let connected = object(json!({
            "msg": "system.connected", "ts": "2024-01-01T00:00:00Z", "chain": "Polkadot",
            "genesis_hash": GENESIS, "name": "alice", "implementation": "Parity Polkadot",
            "version": "1.15.2-7f6e4a0", "authority": true, "network_id": "12D3KooWabc",
            "startup_time": "1718000000000",
        }));
        let identity = substrate_identity(&connected).expect("valid");
        assert_eq!(identity.peer_id, "12D3KooWabc");
        assert_eq!(identity.startup_time, Some(1_718_000_000_000));
        assert_eq!(identity.authority, Some(true));

        let mut short = connected.clone();
        short.insert("genesis_hash".into(), "0x1234".into());
        assert!(substrate_identity(&short).is_err());
        let mut long = connected;
        long.insert("network_id".into(), "x".repeat(65).into());
        assert!(substrate_identity(&long).is_err());
    }

    #[test]
    fn substrate_state_names_each_height_once() {
        let interval = object(
            json!({"msg": "system.interval", "height": 10, "best": "0xaa",
            "finalized_height": 8, "peers": 12, "bandwidth_upload": 100.5, "bandwidth_download": 50.0}),
        );
        let finalized = object(json!({"msg": "notify.finalized", "height": "9", "best": "0xbb"}));
        let mut state = substrate_state(&interval);
        state.extend(substrate_state(&finalized));
        assert_eq!(state["best_height"], 10);
        assert_eq!(state["finalized_height"], 9);
        assert_eq!(state["finalized_hash"], "0xbb");
        let figures = NodeFigures::of(&state);
        assert_eq!(figures.block_height, Some(10.0));
        assert_eq!(figures.network_traffic, Some(150.5));
        assert_eq!(figures.cpu_usage, None);
        assert!(substrate_state(&object(json!({"msg": "afg.finalized", "height": 3}))).is_empty());
        let hwbench = object(json!({"msg": "sysinfo.hwbench", "cpu_hashrate_score": 1141,
            "memory_memcpy_score": 15832, "disk_sequential_write_score": 2175}));
        let scores = substrate_state(&hwbench);
        assert_eq!(scores.len(), 3, "{scores:?}");
        assert_eq!(scores["cpu_hashrate_score"], 1141);
    }

    #[test]
    fn what_a_node_names_is_bounded_and_storable() {
        assert_eq!(decode(br#"{"msg":"a\u0000b"}"#), Err(FrameError::BadMsg));
        let long_msg = format!(r#"{{"msg":"{}"}}"#, "m".repeat(MAX_MSG_BYTES + 1));
        assert_eq!(decode(long_msg.as_bytes()), Err(FrameError::BadMsg));

        let mut connected = object(json!({
            "msg": "system.connected", "genesis_hash": GENESIS, "network_id": "12D3\u{0}x",
            "name": format!("{}\u{0}", "é".repeat(MAX_NAME_BYTES)), "chain": "Pol\u{0}kadot",
        }));
        let identity = substrate_identity(&connected).expect("valid");
        assert_eq!(identity.peer_id, "12D3\u{FFFD}x");
        assert_eq!(identity.chain.as_deref(), Some("Pol\u{FFFD}kadot"));
        let name = identity.name.expect("a name");
        assert_eq!(name.len(), MAX_NAME_BYTES, "cut on a character boundary");
        assert!(name.chars().all(|c| c == 'é'));
        connected.insert("target".into(), json!(format!("{}\u{0}", "t".repeat(200))));
        assert_eq!(target(&connected), Some("t".repeat(MAX_MSG_BYTES)));

        let update = object(json!({
            "peers": 3, "best": "0xab", "huge": "x".repeat(MAX_STATE_VALUE_BYTES + 1),
            "nested": {"a": [1, 2]}, "deep": {"a": "y".repeat(MAX_STATE_VALUE_BYTES)},
        }));
        let kept = bounded_state(update);
        let mut keys: Vec<&str> = kept.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["best", "nested", "peers"]);
    }

    #[test]
    fn a_network_states_peers_are_read_from_its_peer_set() {
        let state = json!({"state": {"peerset": {"nodes": {
            "12D3KooWA": {"reputation": -40, "connected": true},
            "12D3KooWB": {"connected": false},
        }}, "peerId": "12D3KooWSelf"}})
        .to_string();
        assert_eq!(
            peer_reputations(&state),
            [
                PeerReputation {
                    peer_id: "12D3KooWA".into(),
                    reputation: json!(-40),
                    connected: json!(true),
                },
                PeerReputation {
                    peer_id: "12D3KooWB".into(),
                    reputation: Value::Null,
                    connected: json!(false),
                },
            ]
        );
        assert!(peer_reputations(r#"{"state": {"peerset": {}}}"#).is_empty());
        assert!(peer_reputations("not json").is_empty());
    }
}
