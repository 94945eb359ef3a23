//! Lighthouse (beacon node and validator client).

use super::Profile;
use super::detect::Signature;
use super::source::{LabelSource, Source, SyncSignal};
use crate::snapshot::Client;

pub const PROFILE: Profile = Profile {
    client: Client::Lighthouse,
    signature: &[Signature::Family("lighthouse_info")],
    // `Lighthouse/v5.3.0-d6ba8c3`
    version: LabelSource {
        names: &["lighthouse_info"],
        label: "version",
    },
    build: None,
    head_slot: Some(Source::FirstOf(&[
        Source::Value("beacon_head_slot"),
        Source::Value("notifier_head_slot"),
    ])),
    clock_slot: Some(Source::Value("slotclock_present_slot")),
    sync: SyncSignal::SyncedFlag(Source::Value("sync_eth2_synced")),
    peers: Some(Source::Value("libp2p_peers")),
    // Removed in newer releases; the field is then left out.
    execution_connected: Some(Source::Value("sync_eth1_connected")),
    execution_fallback_configured: Some(Source::Value("sync_eth1_fallback_configured")),
    execution_fallback_connected: Some(Source::Value("sync_eth1_fallback_connected")),
    // The hot and the freezer (cold) database together make the node's footprint.
    database_bytes: Some(Source::Total(&[
        Source::Value("store_disk_db_size"),
        Source::Value("store_freezer_db_size"),
    ])),
    // One series per protocol set and direction.
    p2p_bytes_received: Some(Source::SumLabelled {
        name: "libp2p_bandwidth_bytes_total",
        label: "direction",
        value: "Inbound",
    }),
    p2p_bytes_sent: Some(Source::SumLabelled {
        name: "libp2p_bandwidth_bytes_total",
        label: "direction",
        value: "Outbound",
    }),
    validators_total: Some(Source::Value("vc_validators_total_count")),
    validators_active: Some(Source::Value("vc_validators_enabled_count")),
};
