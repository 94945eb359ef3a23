//! Nimbus (beacon node; its validators run inside it and have no local count metric).

use super::Profile;
use super::detect::Signature;
use super::source::{LabelSource, Source, SyncSignal};
use crate::snapshot::Client;

pub const PROFILE: Profile = Profile {
    client: Client::Nimbus,
    signature: &[
        Signature::Prefix("nbc_"),
        Signature::FamilyWithLabel {
            name: "version",
            label: "version",
        },
    ],
    // A bare `version{version="v24.10.0-a1b2c3-stateofus",commit="..."}`.
    version: LabelSource {
        names: &["version"],
        label: "version",
    },
    build: None,
    head_slot: Some(Source::Value("beacon_head_slot")),
    clock_slot: Some(Source::Value("beacon_slot")),
    sync: SyncSignal::SlotDistance,
    peers: Some(Source::FirstOf(&[
        Source::Value("nbc_peers"),
        Source::Value("libp2p_peers"),
    ])),
    execution_connected: None,
    execution_fallback_configured: None,
    execution_fallback_connected: None,
    database_bytes: None,
    p2p_bytes_received: Some(Source::SumLabelled {
        name: "libp2p_network_bytes_total",
        label: "direction",
        value: "in",
    }),
    p2p_bytes_sent: Some(Source::SumLabelled {
        name: "libp2p_network_bytes_total",
        label: "direction",
        value: "out",
    }),
    validators_total: None,
    validators_active: None,
};
