//! The network view: the chains stream nodes are on, each node's propagation (how long after a
//! block's first sight anywhere it reported that block), block time, finality lag and the chain's
//! diversity. What is measured is computed in `measure`; the routes here read the store and answer them. Like
//! the other stream reads, they need a key unless `--public-reads`.

pub mod measure;
pub mod read;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::serve::auth::Reader;
use crate::serve::error::ApiError;
use crate::serve::fleet::{ChainFigures, encode_chains};
use crate::serve::reply::{Answer, bare, bare_text, json_text};
use crate::serve::state::{AppState, Asked};
use crate::serve::store::network::{ChainBlock, ChainSummary, Delay};
use crate::serve::store::{Database, StoreError};
use measure::{DAY_MS, HOUR_MS, NodeLine, Propagation, block_time_ms, diversity, node_lines};
use read::{ChainReads, chain_reads, chains_with_best, reports_and_blocks};

/// The propagation window without `window`, and the longest one asked for: the blocks and their
/// reports are kept that long (at most the retention), since nothing reads them after.
const DEFAULT_WINDOW: Duration = Duration::from_secs(3_600);
pub const MAX_WINDOW: Duration = Duration::from_secs(7 * 24 * 3_600);

/// Everything the chain's page and answer show, read at `now_ms`.
pub struct ChainView {
    pub summary: ChainSummary,
    /// Its highest block enough nodes reported (`ChainSummary::corroborating_reports`).
    pub best: Option<ChainBlock>,
    pub block_time_ms: Option<i64>,
    pub propagation: Propagation,
    pub nodes: Vec<NodeLine>,
    /// The reports over the window (and at least the last day), those catching up left out, and
    /// how many reports a block needs to count for the chain.
    pub delays: Vec<Delay>,
    pub min_reports: i64,
}

impl ChainView {
    /// `None` when no node is on `chain`.
    pub async fn read<S: Database>(
        shared: &AppState<S>,
        chain: &str,
        window: Duration,
        now_ms: i64,
    ) -> Result<Option<ChainView>, StoreError> {
        let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
        let since_ms = now_ms.saturating_sub(window_ms.max(DAY_MS));
        let read = chain_reads(&*shared.store, &shared.metrics, chain, since_ms).await?;
        let Some(ChainReads {
            summary,
            nodes,
            delays,
            blocks,
            min_reports,
        }) = read
        else {
            return Ok(None);
        };
        let window_since_ms = now_ms.saturating_sub(window_ms);
        Ok(Some(ChainView {
            best: blocks.first().cloned(),
            block_time_ms: block_time_ms(&blocks),
            propagation: Propagation::of(&delays, window_since_ms, window_ms, min_reports),
            nodes: node_lines(&nodes, &delays, now_ms),
            summary,
            delays,
            min_reports,
        }))
    }
}

/// `/metrics` (with `--fleet-metrics`) gives this many chains, those with the most connected
/// nodes: the label set stays bounded whatever chains senders name.
const MAX_EXPORTED_CHAINS: usize = 20;

/// How long the chains' families are kept between scrapes: `/metrics` needs no key, and each
/// computation reads an hour of every exported chain's reports.
const EXPORTED_FOR_MS: i64 = 15_000;

/// The chains' `/metrics` families, computed again when older than `EXPORTED_FOR_MS`.
pub async fn chain_families<S: Database>(shared: &AppState<S>) -> Result<String, StoreError> {
    let now_ms = crate::serve::now_ms();
    shared
        .exported_chains
        .get(
            (),
            // No change is waited for: the families read an hour of every exported chain's
            // reports, and `/metrics` is scraped every few seconds whatever changes.
            Asked {
                at_ms: now_ms,
                changes: 0,
            },
            EXPORTED_FOR_MS,
            encoded_chain_families(shared, now_ms),
        )
        .await
}

async fn encoded_chain_families<S: Database>(
    shared: &AppState<S>,
    now_ms: i64,
) -> Result<String, StoreError> {
    let since_ms = now_ms.saturating_sub(HOUR_MS);
    let chains = shared
        .metrics
        .timed("chains", shared.store.chains())
        .await?;
    let mut figures = Vec::new();
    for summary in chains.into_iter().take(MAX_EXPORTED_CHAINS) {
        let min_reports = summary.corroborating_reports();
        let (delays, blocks) = reports_and_blocks(
            &*shared.store,
            &shared.metrics,
            &summary.chain,
            min_reports,
            since_ms,
        )
        .await?;
        figures.push(ChainFigures {
            block_time_ms: block_time_ms(&blocks),
            propagation: Propagation::of(&delays, since_ms, HOUR_MS, min_reports),
            summary,
        });
    }
    Ok(encode_chains(&figures))
}

/// `?window=` as a duration (`1h`, `24h`, `7d`), at most `MAX_WINDOW`.
pub fn window(query: &HashMap<String, String>) -> Result<Duration, ApiError> {
    let Some(text) = query.get("window") else {
        return Ok(DEFAULT_WINDOW);
    };
    humantime::parse_duration(text)
        .ok()
        .filter(|window| !window.is_zero() && *window <= MAX_WINDOW)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("`window` must be a duration from 1s to 7d, like 1h or 24h; got {text:?}"),
            )
        })
}

fn best_json(best: Option<&ChainBlock>, now_ms: i64) -> Value {
    match best {
        None => Value::Null,
        Some(block) => json!({
            "height": block.height,
            "hash": block.hash,
            "first_seen_ms": block.first_seen_ms,
            "age_ms": now_ms.saturating_sub(block.first_seen_ms),
        }),
    }
}

fn summary_json(summary: &ChainSummary, best: Option<&ChainBlock>, now_ms: i64) -> Value {
    json!({
        "chain": summary.chain,
        "name": summary.name,
        "node_count": summary.nodes,
        "connected": summary.connected,
        "best": best_json(best, now_ms),
    })
}

/// `GET /api/chains`: the chains stream nodes are on, those with the most connected nodes first,
/// with their best blocks.
pub async fn chains<S: Database>(State(shared): State<Arc<AppState<S>>>, _: Reader) -> Answer {
    let now_ms = crate::serve::now_ms();
    let chains = chains_with_best(&*shared.store, &shared.metrics).await?;
    let answer: Vec<Value> = chains
        .iter()
        .map(|(summary, best)| summary_json(summary, best.as_ref(), now_ms))
        .collect();
    bare(answer.into())
}

/// How long a chain's answer and page are shown from one read: each reads every node of the chain
/// and a day of its reports, and with `--public-reads` anyone may ask.
pub const CHAIN_VIEWS_FOR_MS: i64 = 5_000;

/// `GET /api/chains/{chain}?window=1h`: the chain's figures, its node list and its diversity;
/// kept `CHAIN_VIEWS_FOR_MS` and shared.
pub async fn chain<S: Database>(
    State(shared): State<Arc<AppState<S>>>,
    _: Reader,
    Path(chain): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Answer {
    let window = window(&query)?;
    let asked = shared.asked_now();
    let now_ms = asked.at_ms;
    let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
    let answer = shared
        .chain_answers
        .get(
            (chain.clone(), window_ms),
            asked,
            CHAIN_VIEWS_FOR_MS,
            chain_answer(&shared, &chain, window, now_ms),
        )
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                format!("no node is on chain {chain:?}"),
            )
        })?;
    bare_text(answer)
}

/// The chain's answer as sent; `None` when no node is on `chain`.
async fn chain_answer<S: Database>(
    shared: &AppState<S>,
    chain: &str,
    window: Duration,
    now_ms: i64,
) -> Result<Option<Bytes>, ApiError> {
    let Some(view) = ChainView::read(shared, chain, window, now_ms).await? else {
        return Ok(None);
    };
    let mut answer = summary_json(&view.summary, view.best.as_ref(), now_ms);
    answer["block_time_ms"] = json!(view.block_time_ms);
    answer["propagation"] = json!(view.propagation);
    answer["nodes"] = json!(view.nodes);
    answer["diversity"] = diversity(&view.nodes)
        .into_iter()
        .map(|(field, shares)| (field.to_owned(), json!(shares)))
        .collect::<serde_json::Map<String, Value>>()
        .into();
    json_text(&answer).map(Some)
}
