//! beaconcha.in client-stats, version 1: one flat JSON object per process, sent as one array.
//!
//! Field names and spellings follow the specification's example payload, which is what receivers
//! accept (`memory_node_bytes_buffers`, `misc_node_boot_ts_seconds`, process `beaconnode`). The
//! receiver decodes numbers into unsigned integers and flags only from JSON booleans, so numbers are
//! truncated to non-negative integers here, and a value that is NaN, infinite or negative is left out
//! like any other unknown value: a missing key is better than a wrong one.

pub mod decode;
pub mod fields;

use serde::Serialize;

use crate::wire::snapshot::{
    BeaconSnapshot, HostSample, NodeSnapshot, OsFamily, ProcessSnapshot, ValidatorSnapshot,
};

/// The specification version this encoder writes.
pub const VERSION: u32 = 1;

/// The fields every object carries.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Envelope {
    pub version: u32,
    /// Unix milliseconds.
    pub timestamp: u64,
    pub process: &'static str,
}

/// The fields of a client process (beacon node or validator client).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ProcessStats {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_process_seconds_total: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_process_bytes: Option<u64>,
    pub client_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_build: Option<u64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BeaconNodeStats {
    #[serde(flatten)]
    pub envelope: Envelope,
    #[serde(flatten)]
    pub process: ProcessStats,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk_beaconchain_bytes_total: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_libp2p_bytes_total_receive: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_libp2p_bytes_total_transmit: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_peers_connected: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync_eth1_connected: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync_eth2_synced: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync_beacon_head_slot: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync_eth1_fallback_configured: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync_eth1_fallback_connected: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slasher_active: Option<bool>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ValidatorStats {
    #[serde(flatten)]
    pub envelope: Envelope,
    #[serde(flatten)]
    pub process: ProcessStats,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validator_total: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validator_active: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync_eth2_fallback_configured: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync_eth2_fallback_connected: Option<bool>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SystemStats {
    #[serde(flatten)]
    pub envelope: Envelope,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_cores: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_threads: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_node_system_seconds_total: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_node_user_seconds_total: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_node_iowait_seconds_total: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_node_idle_seconds_total: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_node_bytes_total: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_node_bytes_free: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_node_bytes_cached: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_node_bytes_buffers: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk_node_bytes_total: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk_node_bytes_free: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk_node_io_seconds: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk_node_reads_total: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk_node_writes_total: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_node_bytes_total_receive: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_node_bytes_total_transmit: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub misc_node_boot_ts_seconds: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub misc_os: Option<&'static str>,
}

/// One object of the array.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(untagged)]
pub enum StatsObject {
    BeaconNode(BeaconNodeStats),
    Validator(ValidatorStats),
    System(SystemStats),
}

impl StatsObject {
    pub fn process(&self) -> &'static str {
        match self {
            StatsObject::BeaconNode(stats) => stats.envelope.process,
            StatsObject::Validator(stats) => stats.envelope.process,
            StatsObject::System(stats) => stats.envelope.process,
        }
    }
}

/// The objects of one cycle: beacon node and validator when they answered, the system always.
/// At most three objects, well under the receiver's limit of ten per request.
pub fn encode(snapshot: &NodeSnapshot, timestamp_ms: u64) -> Vec<StatsObject> {
    let mut objects = Vec::with_capacity(3);
    if let Some(beacon) = &snapshot.beacon_node {
        objects.push(StatsObject::BeaconNode(beacon_node(beacon, timestamp_ms)));
    }
    if let Some(validator) = &snapshot.validator {
        objects.push(StatsObject::Validator(validator_client(
            validator,
            timestamp_ms,
        )));
    }
    objects.push(StatsObject::System(system(&snapshot.host, timestamp_ms)));
    objects
}

/// The request body: a JSON array of the objects.
pub fn to_body(objects: &[StatsObject]) -> Vec<u8> {
    serde_json::to_vec(objects).expect("stats objects are plain data and always serialize")
}

/// The same array, indented for people (`--dry-run`).
pub fn to_pretty(objects: &[StatsObject]) -> String {
    serde_json::to_string_pretty(objects)
        .expect("stats objects are plain data and always serialize")
}

fn envelope(process: &'static str, timestamp_ms: u64) -> Envelope {
    Envelope {
        version: VERSION,
        timestamp: timestamp_ms,
        process,
    }
}

fn process_stats(process: &ProcessSnapshot) -> ProcessStats {
    ProcessStats {
        cpu_process_seconds_total: whole(process.cpu_seconds),
        memory_process_bytes: whole(process.resident_memory_bytes),
        client_name: process.client.clone(),
        client_version: process.version.clone(),
        client_build: whole(process.build),
    }
}

pub fn beacon_node(beacon: &BeaconSnapshot, timestamp_ms: u64) -> BeaconNodeStats {
    BeaconNodeStats {
        envelope: envelope("beaconnode", timestamp_ms),
        process: process_stats(&beacon.process),
        disk_beaconchain_bytes_total: whole(beacon.database_bytes),
        network_libp2p_bytes_total_receive: whole(beacon.p2p_bytes_received),
        network_libp2p_bytes_total_transmit: whole(beacon.p2p_bytes_sent),
        network_peers_connected: whole(beacon.peers),
        sync_eth1_connected: beacon.execution_connected,
        sync_eth2_synced: beacon.synced,
        sync_beacon_head_slot: whole(beacon.head_slot),
        sync_eth1_fallback_configured: beacon.execution_fallback_configured,
        sync_eth1_fallback_connected: beacon.execution_fallback_connected,
        slasher_active: beacon.slasher_active,
    }
}

pub fn validator_client(validator: &ValidatorSnapshot, timestamp_ms: u64) -> ValidatorStats {
    ValidatorStats {
        envelope: envelope("validator", timestamp_ms),
        process: process_stats(&validator.process),
        validator_total: whole(validator.validators_total),
        validator_active: whole(validator.validators_active),
        sync_eth2_fallback_configured: validator.beacon_fallback_configured,
        sync_eth2_fallback_connected: validator.beacon_fallback_connected,
    }
}

pub fn system(host: &HostSample, timestamp_ms: u64) -> SystemStats {
    SystemStats {
        envelope: envelope("system", timestamp_ms),
        cpu_cores: host.cpu_cores,
        cpu_threads: host.cpu_threads,
        cpu_node_system_seconds_total: whole(host.cpu_total_seconds),
        cpu_node_user_seconds_total: whole(host.cpu_user_seconds),
        cpu_node_iowait_seconds_total: whole(host.cpu_iowait_seconds),
        cpu_node_idle_seconds_total: whole(host.cpu_idle_seconds),
        memory_node_bytes_total: host.memory_total_bytes,
        memory_node_bytes_free: host.memory_free_bytes,
        memory_node_bytes_cached: host.memory_cached_bytes,
        memory_node_bytes_buffers: host.memory_buffers_bytes,
        disk_node_bytes_total: host.disk_total_bytes,
        disk_node_bytes_free: host.disk_free_bytes,
        disk_node_io_seconds: host.disk_io_seconds,
        disk_node_reads_total: host.disk_reads,
        disk_node_writes_total: host.disk_writes,
        network_node_bytes_total_receive: host.network_received_bytes,
        network_node_bytes_total_transmit: host.network_sent_bytes,
        misc_node_boot_ts_seconds: host.boot_time_seconds,
        misc_os: host.os.map(os_code),
    }
}

fn os_code(os: OsFamily) -> &'static str {
    match os {
        OsFamily::Linux => "lin",
        OsFamily::Mac => "mac",
        OsFamily::Windows => "win",
        OsFamily::Unknown => "unk",
    }
}

/// The largest integer a JSON number carries exactly (2^53): above it the receiver would store a
/// different number than the node reported.
const MAX_EXACT: f64 = 9_007_199_254_740_992.0;

/// A scraped value as the unsigned integer the receiver stores: truncated, and absent when it is
/// not a finite, non-negative number a JSON number carries exactly.
fn whole(value: Option<f64>) -> Option<u64> {
    value
        .filter(|v| v.is_finite() && (0.0..=MAX_EXACT).contains(v))
        .map(|v| v.trunc() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn process(client: &str) -> ProcessSnapshot {
        ProcessSnapshot {
            client: client.to_owned(),
            version: Some("v5.3.0".into()),
            build: None,
            cpu_seconds: Some(6925.9),
            resident_memory_bytes: Some(1_175_138_304.0),
        }
    }

    fn beacon() -> BeaconSnapshot {
        BeaconSnapshot {
            process: process("lighthouse"),
            head_slot: Some(256_552.0),
            synced: Some(true),
            peers: Some(-1.0),
            execution_connected: Some(false),
            execution_fallback_configured: None,
            execution_fallback_connected: None,
            database_bytes: Some(f64::NAN),
            p2p_bytes_received: Some(1e3),
            p2p_bytes_sent: None,
            slasher_active: None,
        }
    }

    #[test]
    fn beacon_node_object_golden() {
        let json =
            serde_json::to_value(beacon_node(&beacon(), 1_618_835_497_239)).expect("serializes");
        assert_eq!(
            json,
            json!({
                "version": 1,
                "timestamp": 1_618_835_497_239u64,
                "process": "beaconnode",
                "cpu_process_seconds_total": 6925,
                "memory_process_bytes": 1_175_138_304u64,
                "client_name": "lighthouse",
                "client_version": "v5.3.0",
                "network_libp2p_bytes_total_receive": 1000,
                "sync_eth1_connected": false,
                "sync_eth2_synced": true,
                "sync_beacon_head_slot": 256_552
            }),
            "negative peers and NaN database size are left out, not sent"
        );
    }

    #[test]
    fn system_object_is_always_sent_and_last() {
        let snapshot = NodeSnapshot {
            beacon_node: None,
            chain_node: None,
            validator: Some(ValidatorSnapshot {
                process: process("teku"),
                validators_total: Some(4.0),
                validators_active: Some(0.0),
                beacon_fallback_configured: Some(true),
                beacon_fallback_connected: None,
            }),
            host: HostSample {
                os: Some(OsFamily::Linux),
                cpu_threads: Some(8),
                ..HostSample::default()
            },
        };
        let objects = encode(&snapshot, 7);
        let processes: Vec<_> = objects.iter().map(StatsObject::process).collect();
        assert_eq!(processes, ["validator", "system"]);
        let body: serde_json::Value =
            serde_json::from_slice(&to_body(&objects)).expect("body is JSON");
        assert_eq!(body[0]["validator_active"], json!(0), "a real zero is sent");
        assert_eq!(body[0]["sync_eth2_fallback_configured"], json!(true));
        assert!(
            body[0].get("sync_eth2_fallback_connected").is_none(),
            "unknown is left out"
        );
        assert_eq!(
            body[1],
            json!({"version": 1, "timestamp": 7, "process": "system",
            "cpu_threads": 8, "misc_os": "lin"})
        );
    }
}
