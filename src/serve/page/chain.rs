//! A chain's page (`/chains/{chain}`): its figures, the node list with substrate-telemetry's
//! columns and propagation over an hour and a day, charts of block time and propagation over the
//! window, the propagation histogram, and the diversity tables. Read as the network view's
//! answer is (`serve::network`); shown to the same readers as the stream nodes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::chart::{Unit, bars, milliseconds};
use super::detail::{GREEN, PageError, Window, line, page, propagation_lines, stream_page_window};
use super::html::{self, Cell, Row, escape, url_component};
use super::rows::{ago, as_of};
use crate::serve::auth::Viewer;
use crate::serve::network::measure::{
    HISTOGRAM_BOUNDS_MS, NodeLine, block_time_series, diversity, propagation_series,
};
use crate::serve::network::{CHAIN_VIEWS_FOR_MS, ChainView};
use crate::serve::state::AppState;
use crate::serve::store::network::ChainSummary;
use crate::serve::store::{Database, StoreError};

const NODE_HEADERS: [&str; 21] = [
    "Node",
    "Validator",
    "Implementation",
    "Version",
    "Peers",
    "Transactions",
    "Upload",
    "Download",
    "Block",
    "Block hash",
    "Finalized",
    "Finality lag",
    "Block time",
    "Last block",
    "Propagation",
    "Median 1 h",
    "p90 1 h",
    "p90 24 h",
    "Uptime",
    "CPU",
    "Memory",
];

/// Nodes on one page of the chain's node list.
const NODES_PAGE_SIZE: usize = 100;

/// `/chains/{chain}?window=1h|24h|7d&nodes=N`, N the page of the node list (from 0). What the page
/// shows is the same for every reader: it is kept `CHAIN_VIEWS_FOR_MS` and shared, since it reads
/// every node of the chain and a day of its reports, and with `--public-reads` anyone may ask.
pub async fn chain<S: Database>(
    State(shared): State<Arc<AppState<S>>>,
    Path(chain): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    Viewer(record): Viewer,
) -> Result<Response, PageError> {
    let signed_in = record.is_some();
    let window = stream_page_window(shared.public_reads, signed_in, &query)?;
    let nodes_page = query
        .get("nodes")
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(0);
    let key = (chain.clone(), window.name(), nodes_page);
    let main = shared
        .chain_pages
        .get(
            key,
            shared.asked_now(),
            CHAIN_VIEWS_FOR_MS,
            chain_main(&shared, &chain, window, nodes_page),
        )
        .await
        .map_err(PageError::unavailable(signed_in))?;
    let Some((name, main)) = main else {
        return Err(PageError::not_found(
            format!("No node is on chain {chain:?}."),
            signed_in,
        ));
    };
    Ok(page(
        StatusCode::OK,
        &format!("nodepulse: {name}"),
        signed_in,
        &main,
    ))
}

/// The chain's name and the page's `main` over `window`, with page `nodes_page` of its nodes;
/// `None` when no node is on `chain`.
async fn chain_main<S: Database>(
    shared: &AppState<S>,
    chain: &str,
    window: Window,
    nodes_page: usize,
) -> Result<Option<(String, String)>, StoreError> {
    let length = Duration::from_millis(u64::try_from(window.length_ms()).unwrap_or(0));
    let Some(view) = ChainView::read(shared, chain, length, window.until_ms).await? else {
        return Ok(None);
    };
    let buckets = (window.since_ms, window.until_ms, window.bucket_ms());
    let spreads = propagation_series(&view.delays, buckets, view.min_reports);
    let charts = [
        window.chart(
            "propagation",
            "Propagation",
            Unit::Milliseconds,
            propagation_lines(&spreads),
        ),
        window.chart(
            "block-time",
            "Block time",
            Unit::Milliseconds,
            vec![line(
                "average",
                GREEN,
                block_time_series(&view.delays, buckets, view.min_reports),
            )],
        ),
    ];
    let pages = view.nodes.len().div_ceil(NODES_PAGE_SIZE).max(1);
    let nodes_page = nodes_page.min(pages - 1);
    let rows: Vec<Row> = view
        .nodes
        .iter()
        .skip(nodes_page * NODES_PAGE_SIZE)
        .take(NODES_PAGE_SIZE)
        .map(|node| node_row(node, window.until_ms))
        .collect();
    let base = format!("/chains/{}", url_component(chain));
    let mut main = format!(
        "<p><a href=\"/\">← Fleet</a></p>{}{}<div class=\"charts\">",
        summary(&view, window.until_ms),
        window.nav(&base)
    );
    for chart in &charts {
        main.push_str(&chart.render());
    }
    main.push_str(&histogram(&view));
    main.push_str(&format!("</div><h2>Nodes ({})</h2>", view.nodes.len()));
    main.push_str(&html::table("chain-nodes", &NODE_HEADERS, &rows, ""));
    main.push_str(&html::page_links(
        nodes_page,
        pages,
        &format!("{base}?window={}&nodes=", window.name()),
    ));
    main.push_str(&diversity_tables(&view.nodes));
    main.push_str(&as_of());
    main.push_str(&html::live_marker(&format!(
        "/events?chain={}",
        url_component(chain)
    )));
    let name = view
        .summary
        .name
        .clone()
        .unwrap_or_else(|| chain.to_owned());
    Ok(Some((name, main)))
}

/// The chain's figures, one line each.
fn summary(view: &ChainView, now_ms: i64) -> String {
    let ChainSummary {
        chain,
        nodes,
        connected,
        ..
    } = &view.summary;
    let best = match &view.best {
        Some(block) => format!(
            "#{} ({}), first seen {}",
            block.height,
            short_hash(&block.hash),
            ago(block.first_seen_ms, now_ms)
        ),
        None => "none reported yet".into(),
    };
    let shown = |ms: Option<i64>| ms.map_or("—".into(), |ms| milliseconds(ms as f64));
    let propagation = &view.propagation;
    format!(
        "<table id=\"chain\"><tbody>\
         <tr><th>Chain</th><td>{}</td></tr>\
         <tr><th>Nodes</th><td>{connected} connected of {nodes}</td></tr>\
         <tr><th>Best block</th><td>{}</td></tr>\
         <tr><th>Block time</th><td>{}</td></tr>\
         <tr><th>Propagation</th><td>median {}, p90 {} ({} reports of {} blocks)</td></tr>\
         </tbody></table>",
        escape(chain),
        escape(&best),
        shown(view.block_time_ms),
        shown(propagation.median_ms),
        shown(propagation.p90_ms),
        propagation.count,
        propagation.blocks,
    )
}

fn histogram(view: &ChainView) -> String {
    // Short, to fit under ten bars: up to 100ms, ..., up to 32s, and more.
    let bound = |ms: i64| match ms {
        ms if ms < 1000 => format!("{ms}ms"),
        ms => format!("{}s", ms / 1000),
    };
    let labels = HISTOGRAM_BOUNDS_MS.iter().map(|ms| bound(*ms)).chain(
        HISTOGRAM_BOUNDS_MS
            .last()
            .map(|ms| format!(">{}", bound(*ms))),
    );
    let counts: Vec<(String, u64)> = labels
        .zip(view.propagation.histogram.iter().map(|bucket| bucket.count))
        .collect();
    bars(
        "propagation-histogram",
        "Propagation, reports by delay (up to)",
        &counts,
    )
}

fn short_hash(hash: &str) -> String {
    if hash.len() > 14 {
        format!("{}…{}", &hash[..8], &hash[hash.len() - 4..])
    } else {
        hash.to_owned()
    }
}

fn node_row(node: &NodeLine, now_ms: i64) -> Row {
    let count = |value: Option<f64>| Cell::number(value, |value| format!("{value:.0}"));
    let height = |value: Option<i64>| Cell::number(value.map(|h| h as f64), |h| format!("{h:.0}"));
    let delay = |value: Option<i64>| Cell::number(value.map(|ms| ms as f64), milliseconds);
    let rate =
        |value: Option<f64>| Cell::number(value, |value| format!("{:.1} kB/s", value / 1000.0));
    let hardware = |key: &str| node.hardware.get(key).cloned();
    let cpu = match (hardware("cpu_model"), hardware("core_count")) {
        (Some(model), Some(cores)) => format!("{} ({cores} cores)", model.as_str().unwrap_or("?")),
        (Some(model), None) => model.as_str().unwrap_or("?").to_owned(),
        (None, _) => "—".into(),
    };
    let memory = hardware("memory_bytes")
        .and_then(|bytes| bytes.as_f64())
        .map(|bytes| bytes / f64::from(1 << 30));
    let name = node.name.clone().unwrap_or_else(|| node.peer_id.clone());
    Row {
        problem: !node.connected,
        cells: vec![
            Cell::text(name).link(format!("/stream-nodes/{}", url_component(&node.peer_id))),
            Cell::text(match node.validator {
                Some(true) => "yes",
                Some(false) => "no",
                None => "—",
            }),
            Cell::text(node.implementation.clone().unwrap_or_default()),
            Cell::text(node.version.clone().unwrap_or_default()),
            count(node.peers),
            count(node.transactions),
            rate(node.upload_bytes_per_second),
            rate(node.download_bytes_per_second),
            height(node.best_height),
            Cell::text(
                node.best_hash
                    .as_deref()
                    .map(short_hash)
                    .unwrap_or_default(),
            ),
            height(node.finalized_height),
            height(node.finality_lag),
            delay(node.block_time_ms),
            Cell::number(node.last_block_ms.map(|ms| ms as f64), |ms| {
                ago(ms as i64, now_ms)
            }),
            delay(node.last_propagation_ms),
            delay(node.propagation_hour.map(|spread| spread.median_ms)),
            delay(node.propagation_hour.map(|spread| spread.p90_ms)),
            delay(node.propagation_day.map(|spread| spread.p90_ms)),
            Cell::number(node.uptime_ms.map(|ms| ms as f64), |ms| {
                humantime::format_duration(Duration::from_secs((ms / 1000.0) as u64)).to_string()
            }),
            Cell::text(cpu),
            Cell::number(memory, |gib| format!("{gib:.0} GiB")),
        ],
    }
}

fn diversity_tables(nodes: &[NodeLine]) -> String {
    let mut html = String::from("<h2>Diversity (connected nodes)</h2><div class=\"charts\">");
    for (field, shares) in diversity(nodes) {
        let total: usize = shares.iter().map(|share| share.nodes).sum();
        let rows: Vec<Row> = shares
            .iter()
            .map(|share| Row {
                problem: false,
                cells: vec![
                    Cell::text(share.value.clone()),
                    Cell::number(Some(share.nodes as f64), |n| format!("{n:.0}")),
                    Cell::number(
                        Some(share.nodes as f64 * 100.0 / total.max(1) as f64),
                        |p| format!("{p:.0} %"),
                    ),
                ],
            })
            .collect();
        html.push_str(&format!(
            "<div><h2>{}</h2>",
            escape(&field.replace('_', " "))
        ));
        html.push_str(&html::table(
            &format!("diversity-{field}"),
            &["Value", "Nodes", "Share"],
            &rows,
            "No connected node.",
        ));
        html.push_str("</div>");
    }
    html.push_str("</div>");
    html
}
