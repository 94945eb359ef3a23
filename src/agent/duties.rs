//! The validator view (`--beacon-api`, `--watch-validators`): once per finished epoch, what each
//! watched validator did, from the beacon node's standard REST API.
//!
//! When an epoch counts as finished: an attestation for epoch E can be included until the end of
//! E+1 (EIP-7045), so the rewards API answers for E once E+1 has ended, and E is reported during
//! E+2. Without the rewards API, liveness says whether each validator was seen in E; nodes answer
//! it only for the previous, current and next epoch (Lodestar 1.5.1), so E is reported during E+1,
//! from its middle on, when the attestations of E's last slots have long been seen.
//!
//! Nodes give proposer duties only for the current and the next epoch: they are fetched while the
//! epoch runs and kept until it is reported. What the node offers (rewards, which liveness route,
//! a POST for validator states) is learned once per connection and learned again after a failure.
//! Requests per epoch grow with the routes, not the validators: every request carries all the ids.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::SystemTime;

use tokio::sync::Mutex;

use crate::agent::beacon::{BeaconApi, BeaconError};
use crate::wire::beacon_api::{
    AttestationRewards, Genesis, HeaderAnswer, Liveness, ProposerDuty, SlotTimes, SyncDuty,
    SyncReward, ValidatorQuery, ValidatorState, index_list,
};
use crate::wire::validators::{
    AttestationSource, ChainClock, EpochReport, Proposal, Status, SyncParticipation,
    UpcomingProposal, VERSION, ValidatorEpoch, Votes,
};

/// Ids per GET of validator states: 64 public keys make a 6.5 KB query, under every server's
/// limit on a request line.
const IDS_PER_GET: usize = 64;
/// Proposer duties are kept for this many epochs back: enough to report an epoch late.
const DUTY_EPOCHS_KEPT: u64 = 4;

/// A validator as the operator names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValidatorId {
    Index(u64),
    /// `0x` and 96 hex digits, lowercased.
    Pubkey(String),
}

impl ValidatorId {
    pub fn parse(text: &str) -> Result<ValidatorId, String> {
        let text = text.trim();
        if let Some(hex) = text.strip_prefix("0x") {
            if hex.len() == 96 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Ok(ValidatorId::Pubkey(text.to_ascii_lowercase()));
            }
            return Err(format!(
                "{text:?} is not a validator public key (0x and 96 hex digits)"
            ));
        }
        text.parse().map(ValidatorId::Index).map_err(|_| {
            format!("{text:?} is neither a validator index nor a public key (0x and 96 hex digits)")
        })
    }

    fn api_id(&self) -> String {
        match self {
            ValidatorId::Index(index) => index.to_string(),
            ValidatorId::Pubkey(key) => key.clone(),
        }
    }
}

/// Which moment of the epoch clock asks for a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// `run`: an epoch once it is due (see the module's comment), each once.
    Due,
    /// `--dry-run`: the last finished epoch the node still answers for, now.
    Now,
}

/// How the node answers liveness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LivenessRoute {
    /// `POST /eth/v1/validator/liveness/{epoch}`, the standard.
    Post,
    /// `GET /eth/v1/validator/liveness?epoch=E&indices=...`, Lodestar before the standard.
    Get,
}

impl LivenessRoute {
    fn describe(self, epoch: u64) -> String {
        match self {
            LivenessRoute::Post => format!("POST /eth/v1/validator/liveness/{epoch}"),
            LivenessRoute::Get => {
                format!("GET /eth/v1/validator/liveness?epoch={epoch}&indices=...")
            }
        }
    }
}

/// What the node offers; `None` until learned.
#[derive(Debug, Default)]
struct Offers {
    rewards: Option<bool>,
    liveness: Option<LivenessRoute>,
    states_by_post: Option<bool>,
}

/// One epoch's proposer duties, and whether they were asked for while the epoch was current.
#[derive(Debug)]
struct KnownDuties {
    duties: Vec<ProposerDuty>,
    settled: bool,
}

#[derive(Debug, Default)]
struct WatchState {
    clock: Option<ChainClock>,
    offers: Offers,
    proposer_duties: BTreeMap<u64, KnownDuties>,
    last_reported: Option<u64>,
}

/// One route the validator view asks, and what the node answered: `check`'s report.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RouteCheck {
    pub route: String,
    pub answered: bool,
    /// What it answered, or why not.
    pub said: String,
}

/// Watches validators through one beacon node.
#[derive(Debug)]
pub struct DutyWatcher {
    api: BeaconApi,
    watched: Vec<ValidatorId>,
    state: Mutex<WatchState>,
}

/// The attestation verdicts of one epoch, by validator index.
type Verdicts = HashMap<u64, (bool, Option<Votes>)>;

impl DutyWatcher {
    pub fn new(api: BeaconApi, watched: Vec<ValidatorId>) -> Self {
        DutyWatcher {
            api,
            watched,
            state: Mutex::new(WatchState::default()),
        }
    }

    pub fn api(&self) -> &BeaconApi {
        &self.api
    }

    /// Keeps the duties current and reports the epoch that is due, if one is; `Ok(None)` while
    /// none is. After a failure the node's offers are learned afresh.
    pub async fn observe(
        &self,
        now: SystemTime,
        when: When,
    ) -> Result<Option<EpochReport>, BeaconError> {
        let mut state = self.state.lock().await;
        let result = self.observe_locked(&mut state, now, when).await;
        if result.is_err() {
            state.offers = Offers::default();
        }
        result
    }

    async fn observe_locked(
        &self,
        state: &mut WatchState,
        now: SystemTime,
        when: When,
    ) -> Result<Option<EpochReport>, BeaconError> {
        let clock = match state.clock {
            Some(clock) => clock,
            None => {
                let clock = self.learn_clock().await?;
                state.clock = Some(clock);
                clock
            }
        };
        let Some(slot) = clock.slot_at(crate::unix_millis(now) / 1000) else {
            return Ok(None); // before genesis
        };
        let current = clock.epoch_of(slot);
        self.keep_duties(state, &clock, current).await?;
        let unreported = |epoch: u64| state.last_reported.is_none_or(|last| last < epoch);
        let in_second_half = slot % clock.slots_per_epoch * 2 >= clock.slots_per_epoch;
        let rewards_due =
            state.offers.rewards != Some(false) && current >= 2 && unreported(current - 2);
        let liveness_due = state.offers.rewards != Some(true)
            && current >= 1
            && (when == When::Now || in_second_half)
            && unreported(current - 1);
        if !rewards_due && !liveness_due {
            return Ok(None); // nothing is due: no request beyond the duties
        }
        let validators = self.validator_states(state).await?;
        let indices: Vec<u64> = validators
            .iter()
            .filter(|v| Status::from_api(&v.status).is_some_and(Status::attests))
            .map(|v| v.index)
            .collect();

        let mut report = None;
        // Whether the node has the rewards API is learned by asking; an epoch already reported by
        // liveness is asked only to learn it.
        if current >= 2 && (rewards_due || state.offers.rewards.is_none()) {
            let epoch = current - 2;
            match self.rewards(epoch, &indices).await {
                Ok(verdicts) => {
                    state.offers.rewards = Some(true);
                    if rewards_due {
                        report = Some((epoch, AttestationSource::Rewards, Some(verdicts)));
                    }
                }
                Err(err) if err.is_missing_route() => state.offers.rewards = Some(false),
                Err(err) => return Err(err),
            }
        }
        if state.offers.rewards == Some(false) && liveness_due {
            let epoch = current - 1;
            let verdicts = self.liveness(state, epoch, &indices).await?;
            report = Some((epoch, AttestationSource::Liveness, verdicts));
        }
        let Some((epoch, source, verdicts)) = report else {
            return Ok(None);
        };
        // Public keys resolved: every duty names its validator by index.
        let watched: HashSet<u64> = validators.iter().map(|v| v.index).collect();
        let proposals = self.proposals(state, &clock, epoch, &watched).await?;
        let sync = self.sync_committee(state, &clock, epoch, &indices).await;
        state.last_reported = Some(epoch);
        let mut report = build_report(
            clock,
            epoch,
            verdicts.map(|v| (source, v)),
            &validators,
            proposals.as_ref(),
            &sync,
        );
        report.upcoming_proposals = state
            .proposer_duties
            .range(current..)
            .flat_map(|(_, known)| &known.duties)
            .filter(|duty| duty.slot > slot && watched.contains(&duty.validator_index))
            .map(|duty| UpcomingProposal {
                index: duty.validator_index,
                slot: duty.slot,
            })
            .collect();
        Ok(Some(report))
    }

    /// Asks the node, now, every route the view may use, each once: what `check` reports, so an
    /// operator sees before running which verdicts the node can give.
    pub async fn check_routes(&self, now: SystemTime) -> Vec<RouteCheck> {
        let mut checks = Vec::new();
        let mut note = |route: String, answer: Result<String, BeaconError>| {
            let (answered, said) = match answer {
                Ok(said) => (true, said),
                Err(BeaconError::Refused {
                    status, message, ..
                }) => (false, format!("HTTP {status}: {message}")),
                Err(err) => (false, err.to_string()),
            };
            checks.push(RouteCheck {
                route,
                answered,
                said,
            });
        };
        let clock = match self.learn_clock().await {
            Ok(clock) => clock,
            Err(err) => {
                note(
                    "GET /eth/v1/beacon/genesis and /config/spec".into(),
                    Err(err),
                );
                return checks;
            }
        };
        note(
            "GET /eth/v1/beacon/genesis and /config/spec".into(),
            Ok(format!(
                "genesis {}, {} s slots, {} slots an epoch",
                clock.genesis_time, clock.seconds_per_slot, clock.slots_per_epoch
            )),
        );
        let current = clock
            .slot_at(crate::unix_millis(now) / 1000)
            .map_or(0, |slot| clock.epoch_of(slot));
        let ids: Vec<String> = self.watched.iter().map(ValidatorId::api_id).collect();
        let body = serde_json::to_string(&ValidatorQuery { ids: &ids }).unwrap_or_default();
        let states = self
            .api
            .post::<Vec<ValidatorState>>("/eth/v1/beacon/states/head/validators", body)
            .await;
        let states = match states {
            Err(err) if err.is_missing_route() => {
                note(
                    "POST /eth/v1/beacon/states/head/validators".into(),
                    Err(err),
                );
                let query: Vec<(&str, String)> = ids.iter().map(|id| ("id", id.clone())).collect();
                let route = "GET /eth/v1/beacon/states/head/validators?id=...".to_owned();
                let answer = self
                    .api
                    .get::<Vec<ValidatorState>>("/eth/v1/beacon/states/head/validators", &query)
                    .await;
                (route, answer)
            }
            answer => (
                "POST /eth/v1/beacon/states/head/validators".to_owned(),
                answer,
            ),
        };
        let indices: Vec<u64> = states
            .1
            .as_ref()
            .map(|s| s.iter().map(|v| v.index).collect())
            .unwrap_or_default();
        note(
            states.0,
            states.1.map(|found| {
                format!(
                    "{} of the {} watched validators known",
                    found.len(),
                    ids.len()
                )
            }),
        );
        for epoch in [current, current.saturating_sub(1)] {
            let answer = self.proposer_duties(&clock, epoch).await;
            note(
                format!("GET /eth/v1/validator/duties/proposer/{epoch}"),
                answer.map(|duties| format!("{} duties", duties.len())),
            );
        }
        let rewards_epoch = current.saturating_sub(2);
        let rewards = self.rewards(rewards_epoch, &indices).await;
        note(
            format!("POST /eth/v1/beacon/rewards/attestations/{rewards_epoch}"),
            rewards.map(|verdicts| format!("{} validators' votes and rewards", verdicts.len())),
        );
        let liveness_epoch = current.saturating_sub(1);
        for route in [LivenessRoute::Post, LivenessRoute::Get] {
            let answer = self.liveness_by(route, liveness_epoch, &indices).await;
            note(
                route.describe(liveness_epoch),
                answer.map(|live| format!("{} validators", live.len())),
            );
        }
        let sync = self
            .api
            .post::<Vec<SyncDuty>>(
                &format!("/eth/v1/validator/duties/sync/{current}"),
                index_list(&indices),
            )
            .await;
        note(
            format!("POST /eth/v1/validator/duties/sync/{current}"),
            sync.map(|members| format!("{} of them on the sync committee", members.len())),
        );
        checks
    }

    async fn learn_clock(&self) -> Result<ChainClock, BeaconError> {
        let genesis: Genesis = self.api.get("/eth/v1/beacon/genesis", &[]).await?;
        let spec: HashMap<String, serde_json::Value> =
            self.api.get("/eth/v1/config/spec", &[]).await?;
        let times = SlotTimes::from_spec(&spec).map_err(|reason| BeaconError::Transport {
            route: "GET /eth/v1/config/spec".into(),
            reason,
        })?;
        Ok(ChainClock {
            genesis_time: genesis.genesis_time,
            seconds_per_slot: times.seconds_per_slot,
            slots_per_epoch: times.slots_per_epoch,
        })
    }

    /// Fetches the current epoch's proposer duties once (final by now) and the next epoch's, and
    /// forgets those too old to report.
    async fn keep_duties(
        &self,
        state: &mut WatchState,
        clock: &ChainClock,
        current: u64,
    ) -> Result<(), BeaconError> {
        // The next epoch's duties may still change with a reorg: asked again once it is current.
        for (epoch, settled) in [(current, true), (current + 1, false)] {
            let known = state.proposer_duties.get(&epoch);
            if known.is_none_or(|known| settled && !known.settled) {
                let duties = self.proposer_duties(clock, epoch).await?;
                state
                    .proposer_duties
                    .insert(epoch, KnownDuties { duties, settled });
            }
        }
        state
            .proposer_duties
            .retain(|epoch, _| epoch + DUTY_EPOCHS_KEPT >= current);
        Ok(())
    }

    async fn proposer_duties(
        &self,
        clock: &ChainClock,
        epoch: u64,
    ) -> Result<Vec<ProposerDuty>, BeaconError> {
        let duties: Vec<ProposerDuty> = self
            .api
            .get(&format!("/eth/v1/validator/duties/proposer/{epoch}"), &[])
            .await?;
        // Lodestar 1.5.1 numbers the next epoch's slots as if they were the current epoch's: a
        // duty's slot is its position in the epoch asked for.
        let slots = clock.slots_of(epoch);
        Ok(duties
            .into_iter()
            .map(|duty| ProposerDuty {
                slot: slots
                    .start
                    .saturating_add(duty.slot % clock.slots_per_epoch),
                ..duty
            })
            .collect())
    }

    /// The watched validators' states at the head, for the ids the node knows.
    async fn validator_states(
        &self,
        state: &mut WatchState,
    ) -> Result<Vec<ValidatorState>, BeaconError> {
        const ROUTE: &str = "/eth/v1/beacon/states/head/validators";
        let ids: Vec<String> = self.watched.iter().map(ValidatorId::api_id).collect();
        if state.offers.states_by_post != Some(false) {
            let body = serde_json::to_string(&ValidatorQuery { ids: &ids }).unwrap_or_default();
            match self.api.post::<Vec<ValidatorState>>(ROUTE, body).await {
                Ok(states) => {
                    state.offers.states_by_post = Some(true);
                    return Ok(sorted(states));
                }
                Err(err) if err.is_missing_route() => state.offers.states_by_post = Some(false),
                Err(err) => return Err(err),
            }
        }
        let mut states = Vec::with_capacity(ids.len());
        for batch in ids.chunks(IDS_PER_GET) {
            let query: Vec<(&str, String)> = batch.iter().map(|id| ("id", id.clone())).collect();
            states.extend(self.api.get::<Vec<ValidatorState>>(ROUTE, &query).await?);
        }
        Ok(sorted(states))
    }

    async fn rewards(&self, epoch: u64, indices: &[u64]) -> Result<Verdicts, BeaconError> {
        let rewards: AttestationRewards = self
            .api
            .post(
                &format!("/eth/v1/beacon/rewards/attestations/{epoch}"),
                index_list(indices),
            )
            .await?;
        Ok(rewards
            .total_rewards
            .into_iter()
            .map(|r| {
                // A missed vote costs a penalty; a correct one earns a reward, or nothing during
                // an inactivity leak. The head vote is never penalised, so only a reward counts.
                let votes = Votes {
                    head: r.head > 0,
                    target: r.target >= 0,
                    source: r.source >= 0,
                    reward: r.head.saturating_add(r.target).saturating_add(r.source),
                };
                (r.validator_index, (votes.source, Some(votes)))
            })
            .collect())
    }

    /// Liveness for `epoch`, on the route the node has; `None` when it has neither or no longer
    /// answers for the epoch.
    async fn liveness(
        &self,
        state: &mut WatchState,
        epoch: u64,
        indices: &[u64],
    ) -> Result<Option<Verdicts>, BeaconError> {
        let routes: &[LivenessRoute] = match state.offers.liveness {
            Some(LivenessRoute::Post) => &[LivenessRoute::Post],
            Some(LivenessRoute::Get) => &[LivenessRoute::Get],
            None => &[LivenessRoute::Post, LivenessRoute::Get],
        };
        for &route in routes {
            match self.liveness_by(route, epoch, indices).await {
                Ok(live) => {
                    state.offers.liveness = Some(route);
                    return Ok(Some(
                        live.into_iter()
                            .map(|l| (l.index, (l.is_live, None)))
                            .collect(),
                    ));
                }
                Err(err) if err.is_missing_route() => {}
                Err(err) => {
                    tracing::warn!(api = %self.api, "no attestation verdicts for epoch {epoch}: {err}");
                    return Ok(None);
                }
            }
        }
        Ok(None)
    }

    /// Liveness for `epoch` by one route.
    async fn liveness_by(
        &self,
        route: LivenessRoute,
        epoch: u64,
        indices: &[u64],
    ) -> Result<Vec<Liveness>, BeaconError> {
        match route {
            LivenessRoute::Post => {
                let path = format!("/eth/v1/validator/liveness/{epoch}");
                self.api.post(&path, index_list(indices)).await
            }
            LivenessRoute::Get => {
                let mut query = vec![("epoch", epoch.to_string())];
                query.extend(indices.iter().map(|index| ("indices", index.to_string())));
                self.api.get("/eth/v1/validator/liveness", &query).await
            }
        }
    }

    /// Each watched proposer duty of `epoch`, proposed or missed; `None` when the duties are not
    /// known (the agent started after the epoch began and the node answers only the current
    /// and next epoch's).
    async fn proposals(
        &self,
        state: &WatchState,
        clock: &ChainClock,
        epoch: u64,
        watched: &HashSet<u64>,
    ) -> Result<Option<Vec<(u64, Proposal)>>, BeaconError> {
        let duties = match state.proposer_duties.get(&epoch) {
            Some(known) => known.duties.clone(),
            None => match self.proposer_duties(clock, epoch).await {
                Ok(duties) => duties,
                Err(BeaconError::Refused { .. }) => return Ok(None),
                Err(err) => return Err(err),
            },
        };
        let mut proposals = Vec::new();
        for duty in duties
            .iter()
            .filter(|d| watched.contains(&d.validator_index))
        {
            let block_root = match self
                .api
                .get::<HeaderAnswer>(&format!("/eth/v1/beacon/headers/{}", duty.slot), &[])
                .await
            {
                Ok(header) if header.header.message.proposer_index == duty.validator_index => {
                    Some(header.root)
                }
                Ok(_) => None,
                Err(err) if err.is_not_found() => None,
                Err(err) => return Err(err),
            };
            proposals.push((
                duty.validator_index,
                Proposal {
                    slot: duty.slot,
                    block_root,
                },
            ));
        }
        Ok(Some(proposals))
    }

    /// Sync-committee members among `indices` in `epoch`, and with the rewards API, in how many
    /// of the epoch's blocks each signature counted. Empty before Altair or when the node cannot
    /// say: sync duties are a courtesy of the report, never a reason to hold it.
    async fn sync_committee(
        &self,
        state: &WatchState,
        clock: &ChainClock,
        epoch: u64,
        indices: &[u64],
    ) -> HashMap<u64, SyncParticipation> {
        let members: Vec<SyncDuty> = match self
            .api
            .post(
                &format!("/eth/v1/validator/duties/sync/{epoch}"),
                index_list(indices),
            )
            .await
        {
            Ok(members) => members,
            Err(err) => {
                tracing::debug!(api = %self.api, "no sync-committee duties for epoch {epoch}: {err}");
                return HashMap::new();
            }
        };
        let members: Vec<u64> = members.iter().map(|m| m.validator_index).collect();
        let mut participation: HashMap<u64, SyncParticipation> = members
            .iter()
            .map(|&index| {
                let counted = state.offers.rewards == Some(true);
                let zero = counted.then_some(0);
                (
                    index,
                    SyncParticipation {
                        participated: zero,
                        missed: zero,
                    },
                )
            })
            .collect();
        if members.is_empty() || state.offers.rewards != Some(true) {
            return participation;
        }
        for slot in clock.slots_of(epoch) {
            let rewards: Vec<SyncReward> = match self
                .api
                .post(
                    &format!("/eth/v1/beacon/rewards/sync_committee/{slot}"),
                    index_list(&members),
                )
                .await
            {
                Ok(rewards) => rewards,
                Err(err) if err.is_not_found() => continue, // an empty slot: no signatures to count
                Err(err) => {
                    tracing::debug!(api = %self.api, "sync-committee rewards of slot {slot}: {err}");
                    let unknown = SyncParticipation {
                        participated: None,
                        missed: None,
                    };
                    return members.iter().map(|&index| (index, unknown)).collect();
                }
            };
            for reward in rewards {
                if let Some(entry) = participation.get_mut(&reward.validator_index) {
                    let counter = if reward.reward > 0 {
                        &mut entry.participated
                    } else {
                        &mut entry.missed
                    };
                    *counter = counter.map(|n| n + 1);
                }
            }
        }
        participation
    }
}

fn sorted(mut states: Vec<ValidatorState>) -> Vec<ValidatorState> {
    states.sort_by_key(|state| state.index);
    states.dedup_by_key(|state| state.index);
    states
}

/// The report of `epoch` from what the node answered.
fn build_report(
    clock: ChainClock,
    epoch: u64,
    verdicts: Option<(AttestationSource, Verdicts)>,
    validators: &[ValidatorState],
    proposals: Option<&Vec<(u64, Proposal)>>,
    sync: &HashMap<u64, SyncParticipation>,
) -> EpochReport {
    let (source, verdicts) = match verdicts {
        Some((source, verdicts)) => (Some(source), verdicts),
        None => (None, Verdicts::new()),
    };
    let validators = validators
        .iter()
        .filter_map(|state| {
            let Some(status) = Status::from_api(&state.status) else {
                tracing::warn!(
                    index = state.index,
                    "validator status {:?} is not one the Beacon API defines; left out",
                    state.status
                );
                return None;
            };
            let verdict = verdicts.get(&state.index).filter(|_| status.attests());
            Some(ValidatorEpoch {
                index: state.index,
                status,
                balance: state.balance,
                effective_balance: state.validator.effective_balance,
                attested: verdict.map(|(attested, _)| *attested),
                votes: verdict.and_then(|(_, votes)| *votes),
                proposals: proposals
                    .into_iter()
                    .flatten()
                    .filter(|(index, _)| *index == state.index)
                    .map(|(_, proposal)| proposal.clone())
                    .collect(),
                sync_committee: sync.get(&state.index).copied(),
            })
        })
        .collect();
    EpochReport {
        version: VERSION,
        clock,
        epoch,
        attestations_from: source,
        proposals_known: proposals.is_some(),
        validators,
        upcoming_proposals: Vec::new(),
    }
}
