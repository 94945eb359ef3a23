//! What the alerts keep, so that a restart neither repeats nor forgets a notification and several
//! instances on one PostgreSQL notify once: every rule and subject's alert, and a lease on the
//! rounds, which one instance holds at a time. A trait of its own, beside `Store`, implemented
//! by the same `SqlStore`.

use std::future::Future;

use super::StoreError;
use super::sql::SqlStore;

/// One rule and subject's alert as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAlert {
    pub rule: String,
    pub subject: String,
    /// Since when its condition has held; `None` when it does not hold now (the row is kept for
    /// `last_told_ms`).
    pub held_since_ms: Option<i64>,
    pub firing: bool,
    /// Its firing was told (so its resolving is told too).
    pub told: bool,
    pub detail: String,
    /// When its firing was last told.
    pub last_told_ms: Option<i64>,
}

pub trait AlertStore: Send + Sync + 'static {
    /// Takes or renews the lease on the alert rounds for `holder` until `until_ms`, unless
    /// another holds it past `now_ms`. True when `holder` holds it now.
    fn lease_alert_rounds(
        &self,
        holder: &str,
        now_ms: i64,
        until_ms: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Gives the lease up (a clean stop), so that another instance takes the next round at once.
    fn release_alert_rounds(
        &self,
        holder: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn alert_state(&self) -> impl Future<Output = Result<Vec<StoredAlert>, StoreError>> + Send;
    /// Replaces the stored state with `alerts`, in one transaction, if `holder` still holds the
    /// lease; false (nothing written) when it lost it.
    fn save_alert_state(
        &self,
        holder: &str,
        alerts: &[StoredAlert],
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

const LEASE: &str = "UPDATE alert_rounds SET holder = $1, until_ms = $2 \
     WHERE id = 1 AND (holder = $1 OR until_ms <= $3)";

impl AlertStore for SqlStore {
    async fn lease_alert_rounds(
        &self,
        holder: &str,
        now_ms: i64,
        until_ms: i64,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(LEASE)
            .bind(holder.to_owned())
            .bind(until_ms)
            .bind(now_ms)
            .execute(self.pool())
            .await?;
        Ok(result.rows_affected() == 1)
    }

    async fn release_alert_rounds(&self, holder: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE alert_rounds SET until_ms = 0 WHERE id = 1 AND holder = $1")
            .bind(holder.to_owned())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn alert_state(&self) -> Result<Vec<StoredAlert>, StoreError> {
        use sqlx::Row;
        let rows = sqlx::query(
            "SELECT rule, subject, held_since_ms, firing, told, detail, last_told_ms \
             FROM alert_state",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(StoredAlert {
                    rule: row.try_get("rule")?,
                    subject: row.try_get("subject")?,
                    held_since_ms: row.try_get("held_since_ms")?,
                    firing: row.try_get::<i64, _>("firing")? != 0,
                    told: row.try_get::<i64, _>("told")? != 0,
                    detail: row.try_get("detail")?,
                    last_told_ms: row.try_get("last_told_ms")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    async fn save_alert_state(
        &self,
        holder: &str,
        alerts: &[StoredAlert],
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await?;
        // Held still? (The row stays locked to this transaction on PostgreSQL, so no other
        // instance takes the lease before this state is in.)
        let held =
            sqlx::query("UPDATE alert_rounds SET holder = holder WHERE id = 1 AND holder = $1")
                .bind(holder.to_owned())
                .execute(&mut *tx)
                .await?;
        if held.rows_affected() != 1 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM alert_state")
            .execute(&mut *tx)
            .await?;
        for alert in alerts {
            sqlx::query(
                "INSERT INTO alert_state (rule, subject, held_since_ms, firing, told, detail, \
                 last_told_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(alert.rule.clone())
            .bind(alert.subject.clone())
            .bind(alert.held_since_ms)
            .bind(i64::from(alert.firing))
            .bind(i64::from(alert.told))
            .bind(alert.detail.clone())
            .bind(alert.last_told_ms)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }
}
