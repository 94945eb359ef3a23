//! The validator tables over SQL, one text for both databases as in `sql.rs`.
//!
//! A validator-epoch is five integers: the key (machine, epoch, validator), the balance as its
//! offset from the effective balance (within a few ETH, so 4 bytes where the balance takes 6), and
//! `duty`, the rest packed into one integer of 3 bytes:
//!   bits 0-2  status (its place in `Status::ALL`)
//!   bits 3-4  attestation: 0 unknown, 1 missed, 2 attested
//!   bit 5     the votes are known; bits 6, 7, 8 head, target and source correct
//!   bits 9-   the effective balance in whole ETH (it moves in steps of 1 ETH)
//! On SQLite that is 24 bytes a validator-epoch with the b-tree's own costs.

use sqlx::{Any, FromRow, Transaction};

use super::StoreError;
use super::rows::{read_all, read_by_name};
use super::sql::{SqlStore, upsert_machine};
use super::stream_sql::Parameters;
use super::validators::{EpochTotal, StoredDuty, ValidatorHistory, ValidatorStore};
use crate::wire::execution::ExecutionReport;
use crate::wire::validators::{
    AttestationSource, ChainClock, EpochReport, Proposal, Status, SyncParticipation, ValidatorEpoch,
};

const GWEI_PER_ETH: u64 = 1_000_000_000;

/// The attestation bits of `duty`, in SQL (both databases divide integers as integers). Sums are
/// cast back to BIGINT: PostgreSQL sums BIGINTs as NUMERIC.
const ATTESTATION: &str = "(duty / 8) % 4";

/// `duty` of one validator-epoch.
fn pack(validator: &ValidatorEpoch) -> i64 {
    let status = Status::ALL
        .iter()
        .position(|status| *status == validator.status)
        .unwrap_or(0) as i64;
    let attested = match validator.attested {
        None => 0,
        Some(false) => 1,
        Some(true) => 2,
    };
    let votes = validator.votes.map_or(0, |votes| {
        1 | i64::from(votes.head) << 1 | i64::from(votes.target) << 2 | i64::from(votes.source) << 3
    });
    let effective_eth = (validator.effective_balance / GWEI_PER_ETH) as i64;
    status | attested << 3 | votes << 5 | effective_eth << 9
}

/// A stored validator-epoch back in the store's terms.
struct DutyRow {
    epoch: i64,
    validator: i64,
    balance_offset: i64,
    duty: i64,
}
read_by_name!(DutyRow {
    epoch,
    validator,
    balance_offset,
    duty
});

impl From<DutyRow> for StoredDuty {
    fn from(row: DutyRow) -> StoredDuty {
        let duty = row.duty;
        let effective_balance = (duty >> 9) as u64 * GWEI_PER_ETH;
        StoredDuty {
            epoch: row.epoch as u64,
            index: row.validator as u64,
            status: Status::ALL[(duty & 0b111) as usize % Status::ALL.len()],
            balance: effective_balance.saturating_add_signed(row.balance_offset),
            effective_balance,
            attested: match duty >> 3 & 0b11 {
                1 => Some(false),
                2 => Some(true),
                _ => None,
            },
            votes: (duty >> 5 & 1 == 1).then_some([
                duty >> 6 & 1 == 1,
                duty >> 7 & 1 == 1,
                duty >> 8 & 1 == 1,
            ]),
        }
    }
}

struct ChainRow {
    genesis_time: i64,
    seconds_per_slot: i64,
    slots_per_epoch: i64,
    last_epoch: i64,
    attestations_from: Option<String>,
    upcoming_proposals: Option<String>,
}
read_by_name!(ChainRow {
    genesis_time,
    seconds_per_slot,
    slots_per_epoch,
    last_epoch,
    attestations_from,
    upcoming_proposals
});

struct ProposalRow {
    slot: i64,
    validator: i64,
    block_root: Option<String>,
}
read_by_name!(ProposalRow {
    slot,
    validator,
    block_root
});

impl From<ProposalRow> for (u64, Proposal) {
    fn from(row: ProposalRow) -> (u64, Proposal) {
        (
            row.validator as u64,
            Proposal {
                slot: row.slot as u64,
                block_root: row.block_root,
            },
        )
    }
}

struct SyncRow {
    epoch: i64,
    validator: i64,
    participated: Option<i64>,
    missed: Option<i64>,
}
read_by_name!(SyncRow {
    epoch,
    validator,
    participated,
    missed
});

impl From<SyncRow> for (u64, u64, SyncParticipation) {
    fn from(row: SyncRow) -> (u64, u64, SyncParticipation) {
        (
            row.epoch as u64,
            row.validator as u64,
            SyncParticipation {
                participated: row.participated.map(|n| n as u32),
                missed: row.missed.map(|n| n as u32),
            },
        )
    }
}

fn source_name(source: AttestationSource) -> &'static str {
    match source {
        AttestationSource::Rewards => "rewards",
        AttestationSource::Liveness => "liveness",
    }
}

async fn insert_duties(
    tx: &mut Transaction<'_, Any>,
    machine_id: i64,
    report: &EpochReport,
) -> Result<(), StoreError> {
    let parameters = Parameters::of(tx);
    for rows in parameters.chunks(&report.validators) {
        let sql = format!(
            "INSERT INTO validator_epochs (machine_id, epoch, validator, balance_offset, duty) \
             VALUES {} ON CONFLICT (machine_id, epoch, validator) DO UPDATE SET \
             balance_offset = excluded.balance_offset, duty = excluded.duty",
            parameters.placeholders(rows.len(), 5)
        );
        let mut query = sqlx::query(&sql);
        for validator in rows {
            let offset = validator.balance as i64 - validator.effective_balance as i64;
            query = query
                .bind(machine_id)
                .bind(report.epoch as i64)
                .bind(validator.index as i64)
                .bind(offset)
                .bind(pack(validator));
        }
        query.execute(&mut **tx).await?;
    }
    for validator in &report.validators {
        for proposal in &validator.proposals {
            sqlx::query(
                "INSERT INTO validator_proposals (machine_id, slot, validator, block_root) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (machine_id, slot) DO UPDATE SET \
                 validator = excluded.validator, block_root = excluded.block_root",
            )
            .bind(machine_id)
            .bind(proposal.slot as i64)
            .bind(validator.index as i64)
            .bind(proposal.block_root.clone())
            .execute(&mut **tx)
            .await?;
        }
        if let Some(sync) = validator.sync_committee {
            sqlx::query(
                "INSERT INTO validator_sync (machine_id, epoch, validator, participated, missed) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (machine_id, epoch, validator) DO UPDATE \
                 SET participated = excluded.participated, missed = excluded.missed",
            )
            .bind(machine_id)
            .bind(report.epoch as i64)
            .bind(validator.index as i64)
            .bind(sync.participated.map(i64::from))
            .bind(sync.missed.map(i64::from))
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}

impl SqlStore {
    /// Two `sums` of machine `machine_id`'s validator-epochs from `since_epoch` on, per value of
    /// `column` (`validator` or `epoch`), in its order.
    async fn sums_by(
        &self,
        column: &str,
        sums: &str,
        machine_id: i64,
        since_epoch: u64,
    ) -> Result<Vec<(i64, i64, i64)>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {column}, {sums} FROM validator_epochs WHERE machine_id = $1 AND epoch >= $2 \
             GROUP BY {column} ORDER BY {column}"
        ))
        .bind(machine_id)
        .bind(since_epoch as i64)
        .fetch_all(self.pool())
        .await?)
    }
}

impl ValidatorStore for SqlStore {
    async fn insert_epoch_report(
        &self,
        key_id: i64,
        machine: &str,
        received_ms: i64,
        report: &EpochReport,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        let machine_id = upsert_machine(&mut tx, key_id, machine, received_ms).await?;
        let clock = report.clock;
        sqlx::query(
            "INSERT INTO validator_chains (machine_id, genesis_time, seconds_per_slot, \
             slots_per_epoch, last_epoch, attestations_from, upcoming_proposals) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (machine_id) DO UPDATE SET genesis_time = excluded.genesis_time, \
             seconds_per_slot = excluded.seconds_per_slot, \
             slots_per_epoch = excluded.slots_per_epoch, attestations_from = CASE \
             WHEN excluded.last_epoch >= validator_chains.last_epoch \
             THEN excluded.attestations_from ELSE validator_chains.attestations_from END, \
             upcoming_proposals = CASE WHEN excluded.last_epoch >= validator_chains.last_epoch \
             THEN excluded.upcoming_proposals ELSE validator_chains.upcoming_proposals END, \
             last_epoch = CASE WHEN excluded.last_epoch > validator_chains.last_epoch \
             THEN excluded.last_epoch ELSE validator_chains.last_epoch END",
        )
        .bind(machine_id)
        .bind(clock.genesis_time as i64)
        .bind(clock.seconds_per_slot as i64)
        .bind(clock.slots_per_epoch as i64)
        .bind(report.epoch as i64)
        .bind(report.attestations_from.map(source_name))
        .bind(serde_json::to_string(&report.upcoming_proposals).ok())
        .execute(&mut *tx)
        .await?;
        insert_duties(&mut tx, machine_id, report).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn insert_execution_report(
        &self,
        key_id: i64,
        machine: &str,
        received_ms: i64,
        report: &ExecutionReport,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(report)
            .map_err(|err| StoreError::Failed(format!("the report does not serialize: {err}")))?;
        let mut tx = self.pool().begin().await?;
        let machine_id = upsert_machine(&mut tx, key_id, machine, received_ms).await?;
        sqlx::query(
            "INSERT INTO execution_clients (machine_id, received_ms, report) VALUES ($1, $2, $3) \
             ON CONFLICT (machine_id) DO UPDATE SET received_ms = excluded.received_ms, \
             report = excluded.report WHERE excluded.received_ms >= execution_clients.received_ms",
        )
        .bind(machine_id)
        .bind(received_ms)
        .bind(json)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn validator_history(
        &self,
        machine_id: i64,
        epochs: u32,
    ) -> Result<Option<ValidatorHistory>, StoreError> {
        let chain = sqlx::query(
            "SELECT genesis_time, seconds_per_slot, slots_per_epoch, last_epoch, \
             attestations_from, upcoming_proposals FROM validator_chains WHERE machine_id = $1",
        )
        .bind(machine_id)
        .fetch_optional(self.pool())
        .await?;
        let Some(chain) = chain.as_ref().map(ChainRow::from_row).transpose()? else {
            return Ok(None);
        };
        let since = chain.last_epoch - i64::from(epochs.max(1)) + 1;
        // Bounded above by the chain's last epoch as read: a report committed between these reads
        // would otherwise add a newer epoch's rows to a history that ends before it (an alert
        // then counted epoch E+1's misses as E-1's).
        let from = |sql: &'static str, first: i64, last: i64| {
            sqlx::query(sql)
                .bind(machine_id)
                .bind(first)
                .bind(last)
                .fetch_all(self.pool())
        };
        let duties = from(
            "SELECT epoch, validator, balance_offset, duty FROM validator_epochs \
             WHERE machine_id = $1 AND epoch >= $2 AND epoch <= $3 ORDER BY epoch, validator",
            since,
            chain.last_epoch,
        )
        .await?;
        let proposals = from(
            "SELECT slot, validator, block_root FROM validator_proposals \
             WHERE machine_id = $1 AND slot >= $2 AND slot < $3 ORDER BY slot",
            since.saturating_mul(chain.slots_per_epoch),
            (chain.last_epoch + 1).saturating_mul(chain.slots_per_epoch),
        )
        .await?;
        let sync = from(
            "SELECT epoch, validator, participated, missed FROM validator_sync \
             WHERE machine_id = $1 AND epoch >= $2 AND epoch <= $3 ORDER BY epoch, validator",
            since,
            chain.last_epoch,
        )
        .await?;
        Ok(Some(ValidatorHistory {
            clock: ChainClock {
                genesis_time: chain.genesis_time as u64,
                seconds_per_slot: chain.seconds_per_slot as u64,
                slots_per_epoch: chain.slots_per_epoch as u64,
            },
            last_epoch: chain.last_epoch as u64,
            attestations_from: match chain.attestations_from.as_deref() {
                Some("rewards") => Some(AttestationSource::Rewards),
                Some("liveness") => Some(AttestationSource::Liveness),
                _ => None,
            },
            duties: read_all::<DutyRow, StoredDuty>(&duties)?,
            proposals: read_all::<ProposalRow, (u64, Proposal)>(&proposals)?,
            sync: read_all::<SyncRow, (u64, u64, SyncParticipation)>(&sync)?,
            upcoming_proposals: match chain.upcoming_proposals.as_deref() {
                Some(json) => serde_json::from_str(json).map_err(|err| {
                    StoreError::Failed(format!("a stored list of upcoming proposals: {err}"))
                })?,
                None => Vec::new(),
            },
        }))
    }

    async fn balances_at(
        &self,
        machine_id: i64,
        epoch: u64,
    ) -> Result<Vec<(u64, u64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT epoch, validator, balance_offset, duty FROM validator_epochs \
             WHERE machine_id = $1 AND epoch = $2 ORDER BY validator",
        )
        .bind(machine_id)
        .bind(epoch as i64)
        .fetch_all(self.pool())
        .await?;
        let duties = read_all::<DutyRow, StoredDuty>(&rows)?;
        Ok(duties
            .iter()
            .map(|duty| (duty.index, duty.balance))
            .collect())
    }

    async fn attestation_counts(
        &self,
        machine_id: i64,
        since_epoch: u64,
    ) -> Result<Vec<(u64, u64, u64)>, StoreError> {
        let sums = format!(
            "CAST(SUM(CASE WHEN {ATTESTATION} = 2 THEN 1 ELSE 0 END) AS BIGINT), \
             CAST(SUM(CASE WHEN {ATTESTATION} = 1 THEN 1 ELSE 0 END) AS BIGINT)"
        );
        let rows = self
            .sums_by("validator", &sums, machine_id, since_epoch)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(index, made, missed)| (index as u64, made as u64, missed as u64))
            .collect())
    }

    async fn epoch_totals(
        &self,
        machine_id: i64,
        since_epoch: u64,
    ) -> Result<Vec<EpochTotal>, StoreError> {
        let sums = format!(
            "CAST(SUM(balance_offset + (duty / 512) * {GWEI_PER_ETH}) AS BIGINT), \
             CAST(SUM(CASE WHEN {ATTESTATION} = 1 THEN 1 ELSE 0 END) AS BIGINT)"
        );
        let rows = self
            .sums_by("epoch", &sums, machine_id, since_epoch)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(epoch, balance, missed)| EpochTotal {
                epoch: epoch as u64,
                balance: balance.max(0) as u64,
                missed: missed as u64,
            })
            .collect())
    }

    async fn validator_status_counts(&self) -> Result<Vec<(i64, u64, Status, u64)>, StoreError> {
        let rows: Vec<(i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT e.machine_id, e.epoch, e.duty % 8, COUNT(*) FROM validator_epochs e \
             JOIN validator_chains c ON c.machine_id = e.machine_id AND e.epoch = c.last_epoch \
             GROUP BY e.machine_id, e.epoch, e.duty % 8 ORDER BY e.machine_id",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(machine_id, epoch, status, count)| {
                let status = *Status::ALL.get(usize::try_from(status).ok()?)?;
                Some((machine_id, epoch as u64, status, count as u64))
            })
            .collect())
    }

    async fn execution_reports(&self) -> Result<Vec<(i64, i64, ExecutionReport)>, StoreError> {
        let rows: Vec<(i64, i64, String)> = sqlx::query_as(
            "SELECT machine_id, received_ms, report FROM execution_clients ORDER BY machine_id",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(machine_id, received_ms, json)| {
                let report = serde_json::from_str(&json).ok()?;
                Some((machine_id, received_ms, report))
            })
            .collect())
    }

    async fn validator_machines(&self) -> Result<std::collections::HashSet<i64>, StoreError> {
        let ids: Vec<i64> = sqlx::query_scalar("SELECT machine_id FROM validator_chains")
            .fetch_all(self.pool())
            .await?;
        Ok(ids.into_iter().collect())
    }

    async fn validator_problems(&self) -> Result<Vec<(i64, u64)>, StoreError> {
        let slashed = Status::ALL
            .iter()
            .position(|status| *status == Status::Slashed)
            .unwrap_or(0);
        let rows: Vec<(i64, i64)> = sqlx::query_as(&format!(
            "SELECT e.machine_id, COUNT(*) FROM validator_epochs e JOIN validator_chains c \
             ON c.machine_id = e.machine_id AND e.epoch = c.last_epoch \
             WHERE {ATTESTATION} = 1 OR e.duty % 8 = {slashed} GROUP BY e.machine_id"
        ))
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(machine_id, count)| (machine_id, count as u64))
            .collect())
    }

    async fn execution_report(
        &self,
        machine_id: i64,
    ) -> Result<Option<(i64, ExecutionReport)>, StoreError> {
        let row: Option<(i64, String)> = sqlx::query_as(
            "SELECT received_ms, report FROM execution_clients WHERE machine_id = $1",
        )
        .bind(machine_id)
        .fetch_optional(self.pool())
        .await?;
        row.map(|(received_ms, json)| {
            serde_json::from_str(&json)
                .map(|report| (received_ms, report))
                .map_err(|err| StoreError::Failed(format!("a stored execution report: {err}")))
        })
        .transpose()
    }

    async fn purge_validators(&self, before_ms: i64, batch: u32) -> Result<u64, StoreError> {
        // An epoch is purged once it started before the cutoff, by its machine's chain clock.
        let before_seconds = before_ms.div_euclid(1000);
        let result = sqlx::query(
            "DELETE FROM validator_epochs WHERE (machine_id, epoch, validator) IN \
             (SELECT e.machine_id, e.epoch, e.validator FROM validator_epochs e \
             JOIN validator_chains c ON c.machine_id = e.machine_id \
             WHERE c.genesis_time + e.epoch * c.seconds_per_slot * c.slots_per_epoch < $1 \
             LIMIT $2)",
        )
        .bind(before_seconds)
        .bind(i64::from(batch))
        .execute(self.pool())
        .await?;
        let deleted = result.rows_affected();
        if deleted < u64::from(batch) {
            let mut tx = self.pool().begin().await?;
            for statement in [
                "DELETE FROM validator_proposals WHERE EXISTS (SELECT 1 FROM validator_chains c \
                 WHERE c.machine_id = validator_proposals.machine_id \
                 AND c.genesis_time + validator_proposals.slot * c.seconds_per_slot < $1)",
                "DELETE FROM validator_sync WHERE EXISTS (SELECT 1 FROM validator_chains c \
                 WHERE c.machine_id = validator_sync.machine_id AND c.genesis_time \
                 + validator_sync.epoch * c.seconds_per_slot * c.slots_per_epoch < $1)",
                "DELETE FROM validator_chains WHERE machine_id IN (SELECT id FROM machines \
                 WHERE last_seen_ms < $1 * 1000) AND NOT EXISTS (SELECT 1 FROM validator_epochs \
                 e WHERE e.machine_id = validator_chains.machine_id)",
                "DELETE FROM execution_clients WHERE received_ms < $1 * 1000",
            ] {
                sqlx::query(statement)
                    .bind(before_seconds)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        }
        Ok(deleted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;
    use crate::serve::store::Store;

    fn report(epoch: u64) -> EpochReport {
        serde_json::from_value(serde_json::json!({
            "version": 1,
            "clock": {"genesis_time": 1_606_824_023u64, "seconds_per_slot": 12, "slots_per_epoch": 32},
            "epoch": epoch, "attestations_from": "liveness", "proposals_known": true,
            "validators": [
                {"index": 6, "status": "active", "balance": 32_000_000_000u64,
                 "effective_balance": 32_000_000_000u64, "attested": false,
                 "proposals": [{"slot": epoch * 32 + 3, "block_root": null}]},
                {"index": 7, "status": "active", "balance": 32_000_000_000u64,
                 "effective_balance": 32_000_000_000u64, "attested": true}
            ]
        }))
        .expect("a report")
    }

    /// The chain's row read before a newer report commits, its duties after: the history must
    /// still end at the epoch the row says (the race that made an alert name the wrong epochs).
    #[tokio::test]
    async fn a_history_holds_nothing_past_the_last_epoch_it_read() {
        let folder = std::env::temp_dir().join(format!(
            "nodepulse-validator-history-{}",
            std::process::id()
        ));
        std::fs::create_dir_all(&folder).expect("a folder");
        let store = SqlStore::open(&format!("sqlite://{}/store.db", folder.display()))
            .await
            .expect("open");
        store
            .add_key("ops", &Secret::new("a-key".into()), false, 0)
            .await
            .expect("key");
        let key = store
            .find_key(&Secret::new("a-key".into()))
            .await
            .expect("read")
            .expect("the key");
        for epoch in [5, 6] {
            store
                .insert_epoch_report(key.id, "m1", 0, &report(epoch))
                .await
                .expect("stored");
        }
        // As the reader saw the chain before epoch 6's report committed.
        sqlx::query("UPDATE validator_chains SET last_epoch = 5")
            .execute(store.pool())
            .await
            .expect("update");
        let machine: i64 = sqlx::query_scalar("SELECT id FROM machines")
            .fetch_one(store.pool())
            .await
            .expect("machine");
        let history = store
            .validator_history(machine, 2)
            .await
            .expect("read")
            .expect("a history");
        store.close().await;
        let _ = std::fs::remove_dir_all(&folder);
        assert_eq!(history.last_epoch, 5);
        let epochs: Vec<u64> = history.duties.iter().map(|duty| duty.epoch).collect();
        assert_eq!(epochs, [5, 5]);
        let slots: Vec<u64> = history.proposals.iter().map(|(_, p)| p.slot).collect();
        assert_eq!(slots, [5 * 32 + 3]);
    }
}
