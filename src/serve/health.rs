//! What watches the server reads: `/healthz` (whether the database answers) and `/metrics` (the
//! server's own metrics, and with `--fleet-metrics` the machines' and the chains').

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::fleet::{self, ValidatorFleet};
use super::network;
use super::state::AppState;
use super::store::{Database, Scope, Store, StoreError};

pub async fn healthz<S: Store>(State(shared): State<Arc<AppState<S>>>) -> Response {
    let reachable = shared.metrics.timed("ping", shared.store.ping()).await;
    match reachable {
        Ok(()) => (StatusCode::OK, axum::Json(json!({"status": "ok"}))).into_response(),
        Err(err) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"status": "unavailable", "reason": err.to_string()})),
        )
            .into_response(),
    }
}

async fn validator_fleet<S: Database>(shared: &AppState<S>) -> Result<ValidatorFleet, StoreError> {
    let store = &shared.store;
    Ok(ValidatorFleet {
        status_counts: shared
            .metrics
            .timed("validator_status_counts", store.validator_status_counts())
            .await?,
        problems: shared
            .metrics
            .timed("validator_problems", store.validator_problems())
            .await?,
        executions: shared
            .metrics
            .timed("execution_reports", store.execution_reports())
            .await?,
    })
}

pub async fn metrics<S: Database>(
    State(shared): State<Arc<AppState<S>>>,
    headers: HeaderMap,
) -> Response {
    let mut text = shared.metrics.encode();
    if shared.fleet_metrics {
        let machines = shared
            .metrics
            .timed("machines", shared.store.machines(Scope::All, None))
            .await;
        match machines {
            Ok(machines) => {
                let now_ms = super::now_ms();
                let mut fleet = fleet::encode(&machines, now_ms, shared.offline_after_ms);
                match validator_fleet(&shared).await {
                    Ok(validators) => {
                        fleet.push_str(&fleet::encode_validator_view(
                            &machines,
                            &validators,
                            now_ms,
                        ));
                    }
                    Err(err) => tracing::warn!("--fleet-metrics, the validator view: {err}"),
                }
                match network::chain_families(&shared).await {
                    Ok(chains) => fleet.push_str(&chains),
                    Err(err) => tracing::warn!("--fleet-metrics, the chains: {err}"),
                }
                // The registry's text ends in `# EOF`; the fleet's families go before it.
                let end = text.rfind("# EOF").unwrap_or(text.len());
                text.insert_str(end, &fleet);
            }
            // Better the server's own metrics without the fleet than no answer: a scrape that
            // fails would hide them too.
            Err(err) => tracing::warn!("--fleet-metrics: {err}"),
        }
    }
    crate::http::metrics_answer(text, &headers)
}
