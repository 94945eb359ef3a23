//! Teku (beacon node, validator client, or both in one process).

use super::Profile;
use super::detect::Signature;
use super::source::{LabelSource, Source, SyncSignal};
use crate::snapshot::Client;

/// Newer releases add `_total`; the validator client has its own family.
const VERSION_FAMILIES: &[&str] = &[
    "beacon_teku_version_total",
    "beacon_teku_version",
    "validator_teku_version_total",
];

pub const PROFILE: Profile = Profile {
    client: Client::Teku,
    signature: &[
        Signature::Family("beacon_teku_version_total"),
        Signature::Family("beacon_teku_version"),
        Signature::Family("validator_teku_version_total"),
    ],
    // `teku/v24.10.0/linux-x86_64/-eclipseadoptium-openjdk64bitservervm-java-21`
    version: LabelSource {
        names: VERSION_FAMILIES,
        label: "version",
    },
    build: None,
    head_slot: Some(Source::Value("beacon_head_slot")),
    clock_slot: Some(Source::Value("beacon_slot")),
    // Inverted: 1 while syncing.
    sync: SyncSignal::SyncingFlag(Source::Value("beacon_node_syncing_active")),
    peers: Some(Source::Value("libp2p_peers")),
    execution_connected: None,
    execution_fallback_configured: None,
    execution_fallback_connected: None,
    database_bytes: None,
    p2p_bytes_received: None,
    p2p_bytes_sent: None,
    // One series per validator status, its value the number of local keys in it.
    validators_total: Some(Source::Sum("validator_local_validator_counts")),
    validators_active: Some(Source::Labelled {
        name: "validator_local_validator_counts",
        label: "status",
        value: "active_ongoing",
    }),
};
