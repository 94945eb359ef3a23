//! Prysm (beacon chain and validator): names from its `monitoring/` and `beacon-chain/` packages.

use super::Profile;
use super::detect::Signature;
use super::source::{LabelSource, Source, SyncSignal};
use crate::snapshot::Client;

const VERSION_FAMILY: &[&str] = &["prysm_version"];

/// Prysm's `validator_statuses` value for ACTIVE (0 UNKNOWN, 1 DEPOSITED, 2 PENDING, 3 ACTIVE, ...).
const STATUS_ACTIVE: f64 = 3.0;

pub const PROFILE: Profile = Profile {
    client: Client::Prysm,
    signature: &[Signature::Family("prysm_version")],
    version: LabelSource {
        names: VERSION_FAMILY,
        label: "version",
    },
    // `buildDate` holds the build time in Unix seconds: an integer that grows with every build.
    build: Some(LabelSource {
        names: VERSION_FAMILY,
        label: "buildDate",
    }),
    head_slot: Some(Source::Value("beacon_head_slot")),
    clock_slot: Some(Source::Value("beacon_clock_time_slot")),
    sync: SyncSignal::SlotDistance,
    peers: Some(Source::FirstOf(&[
        Source::Labelled {
            name: "p2p_peer_count",
            label: "state",
            value: "Connected",
        },
        Source::Value("libp2p_peers"),
    ])),
    execution_connected: Some(Source::Value("powchain_sync_eth1_connected")),
    execution_fallback_configured: Some(Source::Value("powchain_sync_eth1_fallback_configured")),
    execution_fallback_connected: Some(Source::Value("powchain_sync_eth1_fallback_connected")),
    // A gauge despite its `_total` suffix.
    database_bytes: Some(Source::Value("bcnode_disk_beaconchain_bytes_total")),
    p2p_bytes_received: None,
    p2p_bytes_sent: None,
    // One series per key, its value the key's status code.
    validators_total: Some(Source::CountSeries("validator_statuses")),
    validators_active: Some(Source::CountValue {
        name: "validator_statuses",
        value: STATUS_ACTIVE,
    }),
};
