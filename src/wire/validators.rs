//! nodepulse's own validator report: what each watched validator did in one finished epoch. The
//! agent builds it from the beacon node's standard REST API and sends it to `nodepulse serve`,
//! never to a client-stats endpoint (the spec has no such process and beaconcha.in answers 400).
//!
//! Versioned JSON. A figure the node did not answer is left out, never sent as a zero or a false:
//! `attested` is absent when neither the rewards nor the liveness API answered for the epoch.

use serde::{Deserialize, Serialize};

/// The report format's version; a receiver refuses others.
pub const VERSION: u32 = 1;

/// One finished epoch, for every watched validator the node knows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochReport {
    pub version: u32,
    /// The chain's clock, so that a receiver can tell when each epoch was.
    pub clock: ChainClock,
    pub epoch: u64,
    /// Which API the attestation verdicts come from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestations_from: Option<AttestationSource>,
    /// Whether the epoch's proposer duties were known: without them `proposals` stays empty (the
    /// agent started after the epoch began, and the node no longer answers for it).
    pub proposals_known: bool,
    pub validators: Vec<ValidatorEpoch>,
    /// The watched validators' proposals still to come, as far as the node's duties reach (the
    /// current and next epoch).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub upcoming_proposals: Vec<UpcomingProposal>,
}

/// A block a watched validator is due to propose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpcomingProposal {
    pub index: u64,
    pub slot: u64,
}

/// The chain's clock: its genesis and slot times (the Beacon API's genesis and spec).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainClock {
    /// Unix seconds.
    pub genesis_time: u64,
    pub seconds_per_slot: u64,
    pub slots_per_epoch: u64,
}

impl ChainClock {
    /// The slot at `now_seconds` (Unix); `None` before genesis.
    pub fn slot_at(&self, now_seconds: u64) -> Option<u64> {
        let since = now_seconds.checked_sub(self.genesis_time)?;
        Some(since / self.seconds_per_slot.max(1))
    }

    pub fn epoch_of(&self, slot: u64) -> u64 {
        slot / self.slots_per_epoch.max(1)
    }

    // A report's numbers come from outside: the arithmetic saturates instead of overflowing.

    pub fn slots_of(&self, epoch: u64) -> std::ops::Range<u64> {
        let first = epoch.saturating_mul(self.slots_per_epoch);
        first..first.saturating_add(self.slots_per_epoch)
    }

    pub fn seconds_per_epoch(&self) -> u64 {
        self.seconds_per_slot.saturating_mul(self.slots_per_epoch)
    }

    /// When `epoch` starts, Unix seconds.
    pub fn epoch_start(&self, epoch: u64) -> u64 {
        self.genesis_time
            .saturating_add(epoch.saturating_mul(self.seconds_per_epoch()))
    }

    /// The first epoch that starts at or after `unix_seconds`.
    pub fn first_epoch_from(&self, unix_seconds: u64) -> u64 {
        let since = unix_seconds.saturating_sub(self.genesis_time);
        since.div_ceil(self.seconds_per_epoch().max(1))
    }
}

/// Where `attested` comes from: the rewards API says which votes were correct and what they
/// earned; liveness only says whether the validator was seen at all (a proposal counts too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttestationSource {
    Rewards,
    Liveness,
}

/// The beacon chain's validator states, folded into what an operator acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pending,
    Active,
    Exiting,
    Exited,
    Slashed,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Pending,
        Status::Active,
        Status::Exiting,
        Status::Exited,
        Status::Slashed,
    ];

    /// From the Beacon API's nine states (`pending_queued`, `active_ongoing`, ...); `None` for a
    /// word the API does not define.
    pub fn from_api(state: &str) -> Option<Status> {
        Some(match state {
            "pending_initialized" | "pending_queued" => Status::Pending,
            "active_ongoing" => Status::Active,
            "active_exiting" => Status::Exiting,
            "active_slashed" | "exited_slashed" => Status::Slashed,
            "exited_unslashed" | "withdrawal_possible" | "withdrawal_done" => Status::Exited,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Active => "active",
            Status::Exiting => "exiting",
            Status::Exited => "exited",
            Status::Slashed => "slashed",
        }
    }

    /// Whether the validator has attestation duties.
    pub fn attests(self) -> bool {
        matches!(self, Status::Active | Status::Exiting | Status::Slashed)
    }
}

/// One validator in one epoch. Balances are in gwei, as the chain keeps them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidatorEpoch {
    pub index: u64,
    pub status: Status,
    pub balance: u64,
    pub effective_balance: u64,
    /// Whether its attestation for the epoch made it (absent: the node could not say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attested: Option<bool>,
    /// Vote correctness and the attestation reward, from the rewards API only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub votes: Option<Votes>,
    /// Its block proposals due in the epoch (usually none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub proposals: Vec<Proposal>,
    /// Present while it sits on the sync committee.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_committee: Option<SyncParticipation>,
}

/// What the rewards API said of one attestation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Votes {
    pub head: bool,
    pub target: bool,
    pub source: bool,
    /// Head, target and source rewards together, in gwei; negative for penalties.
    pub reward: i64,
}

/// A slot the validator was due to propose in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    pub slot: u64,
    /// The block's root, or `None` when the slot stayed empty: the proposal was missed.
    pub block_root: Option<String>,
}

impl Proposal {
    pub fn missed(&self) -> bool {
        self.block_root.is_none()
    }
}

/// Sync-committee duty in one epoch: of the slots with a block, in how many its signature counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncParticipation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participated: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missed: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_api_state_has_its_status_and_unknown_words_none() {
        let states = [
            ("pending_initialized", Status::Pending),
            ("pending_queued", Status::Pending),
            ("active_ongoing", Status::Active),
            ("active_exiting", Status::Exiting),
            ("active_slashed", Status::Slashed),
            ("exited_unslashed", Status::Exited),
            ("exited_slashed", Status::Slashed),
            ("withdrawal_possible", Status::Exited),
            ("withdrawal_done", Status::Exited),
        ];
        for (state, status) in states {
            assert_eq!(Status::from_api(state), Some(status), "{state}");
        }
        assert_eq!(Status::from_api("active"), None);
    }

    #[test]
    fn unknown_figures_are_left_out_of_the_json() {
        let report = EpochReport {
            version: VERSION,
            clock: ChainClock {
                genesis_time: 1_796_212_870,
                seconds_per_slot: 6,
                slots_per_epoch: 8,
            },
            epoch: 12,
            attestations_from: None,
            proposals_known: true,
            validators: vec![ValidatorEpoch {
                index: 6,
                status: Status::Active,
                balance: 31_996_960_000,
                effective_balance: 32_000_000_000,
                attested: None,
                votes: None,
                proposals: vec![Proposal {
                    slot: 97,
                    block_root: None,
                }],
                sync_committee: None,
            }],
            upcoming_proposals: Vec::new(),
        };
        let json = serde_json::to_value(&report).expect("serializes");
        assert_eq!(
            json,
            serde_json::json!({"version": 1, "epoch": 12, "proposals_known": true,
                "clock": {"genesis_time": 1_796_212_870u64, "seconds_per_slot": 6, "slots_per_epoch": 8},
                "validators": [{
                "index": 6, "status": "active", "balance": 31_996_960_000u64,
                "effective_balance": 32_000_000_000u64,
                "proposals": [{"slot": 97, "block_root": null}]}]})
        );
        let back: EpochReport = serde_json::from_value(json).expect("reads back");
        assert_eq!(back, report);
    }
}
