//! nodepulse's own report of the execution client beside the beacon node (`--execution-rpc`), from
//! its standard JSON-RPC. Versioned JSON; what the node does not answer is left out, never 0 (Anvil
//! has no `net_peerCount`, and most execution clients expose no sync state in Prometheus at all).

use serde::{Deserialize, Serialize};

/// The report format's version; a receiver refuses others.
pub const VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionReport {
    pub version: u32,
    /// `web3_clientVersion`, as the client spells it (`Geth/v1.14.12-stable-.../linux-amd64/go1.23`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain_id: Option<u64>,
    /// `eth_syncing` said false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synced: Option<bool>,
    /// While syncing, the highest block the client knows of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub highest_block: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_block: Option<u64>,
    /// Seconds between the head block's timestamp and the report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_age_seconds: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peers: Option<u64>,
}

/// A JSON-RPC quantity: `0x` and hex digits, no leading zeros required.
pub fn quantity(value: &serde_json::Value) -> Option<u64> {
    let hex = value.as_str()?.strip_prefix("0x")?;
    u64::from_str_radix(hex, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quantities_are_hex_strings_only() {
        assert_eq!(quantity(&json!("0x7a69")), Some(31337));
        assert_eq!(quantity(&json!("0x0")), Some(0));
        assert_eq!(quantity(&json!("7a69")), None);
        assert_eq!(quantity(&json!(31337)), None);
        assert_eq!(quantity(&json!("0xzz")), None);
    }
}
