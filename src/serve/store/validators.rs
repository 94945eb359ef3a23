//! What the validator view keeps: per machine, each watched validator's duty in each finished
//! epoch, its proposals and sync-committee duty, and the newest report of its execution client. A
//! trait of its own beside `Store`, implemented by the same `SqlStore` (`validator_sql.rs`).

use std::future::Future;

use super::StoreError;
use crate::wire::execution::ExecutionReport;
use crate::wire::validators::{
    AttestationSource, ChainClock, EpochReport, Proposal, Status, SyncParticipation,
    UpcomingProposal,
};

/// One validator in one epoch, as stored: the report's figures but the rewards' gwei.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDuty {
    pub epoch: u64,
    pub index: u64,
    pub status: Status,
    pub balance: u64,
    pub effective_balance: u64,
    pub attested: Option<bool>,
    /// Head, target and source correct, where the rewards API said.
    pub votes: Option<[bool; 3]>,
}

/// A machine's recent validator history.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidatorHistory {
    pub clock: ChainClock,
    pub last_epoch: u64,
    pub attestations_from: Option<AttestationSource>,
    /// Oldest epoch first, then by validator index.
    pub duties: Vec<StoredDuty>,
    /// Each with its validator's index, oldest first.
    pub proposals: Vec<(u64, Proposal)>,
    /// (epoch, validator, participation), oldest first.
    pub sync: Vec<(u64, u64, SyncParticipation)>,
    /// The proposals still to come, as its newest report knew them.
    pub upcoming_proposals: Vec<UpcomingProposal>,
}

/// One reported epoch of a machine, all its validators together: a chart's point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochTotal {
    pub epoch: u64,
    /// Their balances together, gwei.
    pub balance: u64,
    pub missed: u64,
}

pub trait ValidatorStore: Send + Sync + 'static {
    /// Stores a machine's epoch report in one transaction; a report sent again overwrites itself.
    fn insert_epoch_report(
        &self,
        key_id: i64,
        machine: &str,
        received_ms: i64,
        report: &EpochReport,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Keeps a machine's newest execution-client report.
    fn insert_execution_report(
        &self,
        key_id: i64,
        machine: &str,
        received_ms: i64,
        report: &ExecutionReport,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Machine `machine_id`'s last `epochs` reported epochs; `None` when it never reported one.
    fn validator_history(
        &self,
        machine_id: i64,
        epochs: u32,
    ) -> impl Future<Output = Result<Option<ValidatorHistory>, StoreError>> + Send;

    /// Machine `machine_id`'s validators' balances (index, gwei) in `epoch`; empty when it did not
    /// report that epoch.
    fn balances_at(
        &self,
        machine_id: i64,
        epoch: u64,
    ) -> impl Future<Output = Result<Vec<(u64, u64)>, StoreError>> + Send;

    /// Per validator of machine `machine_id`, its attestations (made, missed) from `since_epoch`
    /// on: a validator's effectiveness.
    fn attestation_counts(
        &self,
        machine_id: i64,
        since_epoch: u64,
    ) -> impl Future<Output = Result<Vec<(u64, u64, u64)>, StoreError>> + Send;

    /// Machine `machine_id`'s epochs from `since_epoch` on, its validators summed, oldest first.
    fn epoch_totals(
        &self,
        machine_id: i64,
        since_epoch: u64,
    ) -> impl Future<Output = Result<Vec<EpochTotal>, StoreError>> + Send;

    /// Per machine (its id), its validators of its last reported epoch counted by status, and
    /// that epoch.
    fn validator_status_counts(
        &self,
    ) -> impl Future<Output = Result<Vec<(i64, u64, Status, u64)>, StoreError>> + Send;

    /// Every machine's newest execution-client report: (machine id, received, report).
    fn execution_reports(
        &self,
    ) -> impl Future<Output = Result<Vec<(i64, i64, ExecutionReport)>, StoreError>> + Send;

    /// The machines (their ids) that have a validator view.
    fn validator_machines(
        &self,
    ) -> impl Future<Output = Result<std::collections::HashSet<i64>, StoreError>> + Send;

    /// Per machine (its id), how many of its validators had a problem in its last reported epoch:
    /// a missed attestation, or slashed.
    fn validator_problems(
        &self,
    ) -> impl Future<Output = Result<Vec<(i64, u64)>, StoreError>> + Send;

    /// Machine `machine_id`'s newest execution-client report and when it was received.
    fn execution_report(
        &self,
        machine_id: i64,
    ) -> impl Future<Output = Result<Option<(i64, ExecutionReport)>, StoreError>> + Send;

    /// Deletes up to `batch` validator-epochs (and their proposals and sync duty) of epochs that
    /// started before `before_ms`, by each machine's chain clock; returns how many. Once none is
    /// left, the chain clocks and execution reports of machines silent since then go too.
    fn purge_validators(
        &self,
        before_ms: i64,
        batch: u32,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}
