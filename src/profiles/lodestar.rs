//! Lodestar (beacon node and validator client).

use super::Profile;
use super::detect::Signature;
use super::source::{LabelSource, Source, SyncSignal};
use crate::snapshot::Client;

/// `lodestar_sync_status`: 0 Stalled, 1 SyncingFinalized, 2 SyncingHead, 3 Synced.
const SYNC_STATUS_SYNCED: f64 = 3.0;

pub const PROFILE: Profile = Profile {
    client: Client::Lodestar,
    signature: &[Signature::Family("lodestar_version")],
    // `v1.22.0/stable/abc1234`
    version: LabelSource {
        names: &["lodestar_version"],
        label: "version",
    },
    build: None,
    head_slot: Some(Source::Value("beacon_head_slot")),
    clock_slot: Some(Source::Value("beacon_clock_slot")),
    sync: SyncSignal::StatusEquals(Source::Value("lodestar_sync_status"), SYNC_STATUS_SYNCED),
    peers: Some(Source::Value("libp2p_peers")),
    execution_connected: None,
    execution_fallback_configured: None,
    execution_fallback_connected: None,
    database_bytes: Some(Source::Value("lodestar_db_size_bytes_total")),
    p2p_bytes_received: Some(Source::Labelled {
        name: "libp2p_data_transfer_bytes_total",
        label: "protocol",
        value: "global received",
    }),
    p2p_bytes_sent: Some(Source::Labelled {
        name: "libp2p_data_transfer_bytes_total",
        label: "protocol",
        value: "global sent",
    }),
    // Keys loaded, and keys the chain knows an index for.
    validators_total: Some(Source::Value("vc_signers_count")),
    validators_active: Some(Source::Value("vc_indices_count")),
};
