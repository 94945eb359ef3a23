//! The validator view's routes. Agents send each finished epoch's report and their execution
//! client's newest (`POST /api/v1/client/validators` and `/api/v1/client/execution`, the key and
//! the machine as for client-stats); both answer 200 once the report is committed. A key reads its
//! machines' history back at `GET /api/v1/machines/{machine}/validators`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::StatusCode;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::auth::{Caller, scope_of};
use super::error::ApiError;
use super::ingest::{machine_name, read_body};
use super::metrics::Rejection;
use super::reply::{Answer, enveloped};
use super::state::AppState;
use super::store::Database;
use super::store::validators::{StoredDuty, ValidatorHistory};
use crate::wire::execution::{self, ExecutionReport};
use crate::wire::validators::{self, EpochReport, Proposal, SyncParticipation};

/// An epoch report of 1,000 validators is about 150 KB; this takes some 50,000.
const MAX_REPORT_BYTES: usize = 8 * 1024 * 1024;
/// The largest index, slot, epoch, balance or time a report may carry.
const MAX_NUMBER: u64 = 1 << 62;
/// Epochs one read answers at most: a week of mainnet's.
const MAX_EPOCHS: u32 = 1575;

/// A report a route reads: its one version, and what else it must hold.
pub trait Report: DeserializeOwned + Send {
    const VERSION: u32;
    fn version(&self) -> u32;
    /// What is wrong with it beyond its shape, if anything.
    fn fault(&self) -> Option<&'static str> {
        None
    }
}

impl Report for EpochReport {
    const VERSION: u32 = validators::VERSION;

    fn version(&self) -> u32 {
        self.version
    }

    fn fault(&self) -> Option<&'static str> {
        // Retention and the page count time from the clock; the store keeps 64-bit signed numbers
        // and subtracts balances, so every number stays far from that range's end.
        let clock = self.clock;
        if !(1..=3600).contains(&clock.seconds_per_slot)
            || !(1..=1024).contains(&clock.slots_per_epoch)
        {
            return Some(
                "the report's clock needs 1 to 3600 seconds a slot and 1 to 1024 slots an epoch",
            );
        }
        let numbers = [clock.genesis_time, self.epoch]
            .into_iter()
            .chain(self.validators.iter().flat_map(|v| {
                [v.index, v.balance, v.effective_balance]
                    .into_iter()
                    .chain(v.proposals.iter().map(|p| p.slot))
            }))
            .chain(
                self.upcoming_proposals
                    .iter()
                    .flat_map(|p| [p.index, p.slot]),
            );
        numbers
            .into_iter()
            .any(|n| n > MAX_NUMBER)
            .then_some("a number in the report is over 2^62")
    }
}

impl Report for ExecutionReport {
    const VERSION: u32 = execution::VERSION;

    fn version(&self) -> u32 {
        self.version
    }
}

/// What a report route is sent: by a valid key, as a machine (`?machine=NAME`), a checked report.
pub struct Sent<R> {
    key_id: i64,
    machine: String,
    report: R,
}

impl<S: Database, R: Report> FromRequest<Arc<AppState<S>>> for Sent<R> {
    type Rejection = ApiError;

    async fn from_request(request: Request, shared: &Arc<AppState<S>>) -> Result<Self, ApiError> {
        let (mut parts, body) = request.into_parts();
        let Caller(record) = Caller::from_request_parts(&mut parts, shared).await?;
        let query: Query<HashMap<String, String>> = Query::from_request_parts(&mut parts, shared)
            .await
            .map_err(|err| ApiError::new(StatusCode::BAD_REQUEST, err.body_text()))?;
        let machine = machine_name(query.get("machine").cloned().unwrap_or_default())?;
        let body = read_body(shared, body, MAX_REPORT_BYTES).await?;
        let refuse = |message: String| {
            shared.metrics.rejected(Rejection::Invalid, 1);
            ApiError::new(StatusCode::BAD_REQUEST, message)
        };
        let report: R =
            serde_json::from_slice(&body).map_err(|err| refuse(format!("not a report: {err}")))?;
        if report.version() != R::VERSION {
            return Err(refuse(format!(
                "report version {} is not one this server reads ({})",
                report.version(),
                R::VERSION
            )));
        }
        if let Some(fault) = report.fault() {
            return Err(refuse(fault.to_owned()));
        }
        Ok(Sent {
            key_id: record.id,
            machine,
            report,
        })
    }
}

/// `POST /api/v1/client/validators?machine=NAME`: one finished epoch's report.
pub async fn epoch_report<S: Database>(
    State(shared): State<Arc<AppState<S>>>,
    sent: Sent<EpochReport>,
) -> Result<StatusCode, ApiError> {
    let stored =
        shared
            .store
            .insert_epoch_report(sent.key_id, &sent.machine, super::now_ms(), &sent.report);
    shared.metrics.timed("insert_epoch_report", stored).await?;
    Ok(StatusCode::OK)
}

/// `POST /api/v1/client/execution?machine=NAME`: the execution client's newest report.
pub async fn execution_report<S: Database>(
    State(shared): State<Arc<AppState<S>>>,
    sent: Sent<ExecutionReport>,
) -> Result<StatusCode, ApiError> {
    let stored = shared.store.insert_execution_report(
        sent.key_id,
        &sent.machine,
        super::now_ms(),
        &sent.report,
    );
    shared
        .metrics
        .timed("insert_execution_report", stored)
        .await?;
    Ok(StatusCode::OK)
}

/// `GET /api/v1/machines/{machine}/validators?epochs=N`: the last N reported epochs (1 unless
/// asked) of each machine of that name the key sees, and its execution client's newest report.
pub async fn history<S: Database>(
    State(shared): State<Arc<AppState<S>>>,
    Caller(record): Caller,
    Path(machine): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Answer {
    let epochs = match query.get("epochs") {
        None => 1,
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_EPOCHS).contains(n))
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    format!("`epochs` must be a whole number from 1 to {MAX_EPOCHS}, got {text:?}"),
                )
            })?,
    };
    let machines = shared
        .metrics
        .timed(
            "machines",
            shared.store.machines(scope_of(&record), Some(&machine)),
        )
        .await?;
    if machines.is_empty() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no machine named {machine:?}"),
        ));
    }
    let mut answers = Vec::with_capacity(machines.len());
    for summary in &machines {
        let history = shared
            .metrics
            .timed(
                "validator_history",
                shared.store.validator_history(summary.id, epochs),
            )
            .await?;
        let execution = shared
            .metrics
            .timed(
                "execution_report",
                shared.store.execution_report(summary.id),
            )
            .await?;
        answers.push(MachineValidators {
            machine: &summary.machine,
            key: &summary.key,
            validators: history.map(HistoryAnswer::from),
            execution: execution.map(|(received, report)| ExecutionAnswer { received, report }),
        });
    }
    enveloped(answers)
}

#[derive(Serialize)]
struct MachineValidators<'a> {
    machine: &'a str,
    key: &'a str,
    validators: Option<HistoryAnswer>,
    execution: Option<ExecutionAnswer>,
}

#[derive(Serialize)]
struct ExecutionAnswer {
    /// When the server received it, Unix ms.
    received: i64,
    report: ExecutionReport,
}

#[derive(Serialize)]
struct HistoryAnswer {
    clock: validators::ChainClock,
    last_epoch: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    attestations_from: Option<validators::AttestationSource>,
    epochs: Vec<EpochAnswer>,
    upcoming_proposals: Vec<validators::UpcomingProposal>,
}

#[derive(Serialize)]
struct EpochAnswer {
    epoch: u64,
    validators: Vec<DutyAnswer>,
}

#[derive(Serialize)]
struct DutyAnswer {
    index: u64,
    status: validators::Status,
    balance: u64,
    effective_balance: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    attested: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    head: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    target: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    proposals: Vec<Proposal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sync_committee: Option<SyncParticipation>,
}

impl From<ValidatorHistory> for HistoryAnswer {
    fn from(history: ValidatorHistory) -> HistoryAnswer {
        let clock = history.clock;
        let mut epochs: Vec<EpochAnswer> = Vec::new();
        for duty in history.duties {
            let StoredDuty { epoch, index, .. } = duty;
            let proposals = history
                .proposals
                .iter()
                .filter(|(validator, proposal)| {
                    *validator == index && clock.epoch_of(proposal.slot) == epoch
                })
                .map(|(_, proposal)| proposal.clone())
                .collect();
            let sync_committee = history
                .sync
                .iter()
                .find(|(e, validator, _)| *e == epoch && *validator == index)
                .map(|(.., participation)| *participation);
            let answer = DutyAnswer {
                index,
                status: duty.status,
                balance: duty.balance,
                effective_balance: duty.effective_balance,
                attested: duty.attested,
                head: duty.votes.map(|[head, _, _]| head),
                target: duty.votes.map(|[_, target, _]| target),
                source: duty.votes.map(|[_, _, source]| source),
                proposals,
                sync_committee,
            };
            match epochs.last_mut() {
                Some(last) if last.epoch == epoch => last.validators.push(answer),
                _ => epochs.push(EpochAnswer {
                    epoch,
                    validators: vec![answer],
                }),
            }
        }
        HistoryAnswer {
            clock,
            last_epoch: history.last_epoch,
            attestations_from: history.attestations_from,
            epochs,
            upcoming_proposals: history.upcoming_proposals,
        }
    }
}
