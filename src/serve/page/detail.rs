//! `GET /machines/{machine}` and `GET /stream-nodes/{peer_id}`: one machine's or node's row as the
//! overview shows it, then its charts over a chosen window (1 h, 24 h or 7 d), drawn here as SVG.
//! The store thins the history to one point per bucket (the newest), so a week costs as much to
//! draw as an hour.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::chart::{Chart, Series, Unit};
use super::html::{self, escape, url_component};
use super::rows::{
    MACHINE_HEADERS, SIGN_IN_PROMPT, STREAM_HEADERS, StreamFigures, as_of, failure, html_answer,
    machine_row, machine_subject, newest, stream_row,
};
use super::validators;
use crate::serve::auth::Viewer;
use crate::serve::auth::scope_of;
use crate::serve::figures::{
    CpuCounting, Object, cpu_busy_percent, disk_free_percent, field_number, memory_used_percent,
    per_second,
};
use crate::serve::network::measure::{Spread, propagating, propagation_series};
use crate::serve::state::AppState;
use crate::serve::store::Database;
use crate::serve::store::StoreError;
use crate::serve::store::streams::chain_key;
use crate::wire::client_stats::fields::Process;

pub(super) const BLUE: &str = "#0969da";
pub(super) const GREEN: &str = "#1a7f37";
pub(super) const PURPLE: &str = "#8250df";
const DAY_MS: i64 = 24 * 3600 * 1000;

/// The windows a chart can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Span {
    Hour,
    Day,
    Week,
}

impl Span {
    const ALL: [Span; 3] = [Span::Hour, Span::Day, Span::Week];

    /// As `?window=` names it; none is the hour.
    fn parse(name: Option<&String>) -> Result<Span, String> {
        match name.map(String::as_str) {
            None => Ok(Span::Hour),
            Some(name) => Span::ALL
                .into_iter()
                .find(|span| span.name() == name)
                .ok_or_else(|| format!("unknown window {name:?}: 1h, 24h or 7d")),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Span::Hour => "1h",
            Span::Day => "24h",
            Span::Week => "7d",
        }
    }

    fn length_ms(self) -> i64 {
        match self {
            Span::Hour => 3_600_000,
            Span::Day => 86_400_000,
            Span::Week => 7 * 86_400_000,
        }
    }

    /// One point per bucket: 60, 288 and 336 points at most.
    fn bucket_minutes(self) -> i64 {
        match self {
            Span::Hour => 1,
            Span::Day => 5,
            Span::Week => 30,
        }
    }

    fn time_labels(self) -> [&'static str; 3] {
        match self {
            Span::Hour => ["1 h ago", "30 min ago", "now"],
            Span::Day => ["24 h ago", "12 h ago", "now"],
            Span::Week => ["7 d ago", "3.5 d ago", "now"],
        }
    }
}

/// The window a page draws: its span, ending now.
#[derive(Clone, Copy)]
pub(super) struct Window {
    span: Span,
    pub(super) since_ms: i64,
    pub(super) until_ms: i64,
}

impl Window {
    fn ending_now(span: Span) -> Window {
        let until_ms = crate::serve::now_ms();
        Window {
            span,
            since_ms: until_ms - span.length_ms(),
            until_ms,
        }
    }

    /// As `?window=` names it.
    pub(super) fn name(self) -> &'static str {
        self.span.name()
    }

    pub(super) fn length_ms(self) -> i64 {
        self.until_ms - self.since_ms
    }

    pub(super) fn bucket_ms(self) -> i64 {
        self.span.bucket_minutes() * 60_000
    }

    /// Points further apart than two and a half buckets are not joined: something was missing.
    fn gap_ms(self) -> i64 {
        self.bucket_ms() * 5 / 2
    }

    pub(super) fn chart(
        self,
        id: &'static str,
        title: &'static str,
        unit: Unit,
        series: Vec<Series>,
    ) -> Chart {
        Chart {
            id,
            title,
            unit,
            series,
            since_ms: self.since_ms,
            until_ms: self.until_ms,
            gap_ms: self.gap_ms(),
            time_labels: self.span.time_labels(),
        }
    }

    /// Links to the same page over each window; `base` is the page's path and query without
    /// `window`.
    pub(super) fn nav(self, base: &str) -> String {
        let joiner = if base.contains('?') { '&' } else { '?' };
        let mut nav = String::from("<nav>Window: ");
        for span in Span::ALL {
            let class = if span == self.span {
                " class=\"on\""
            } else {
                ""
            };
            nav.push_str(&format!(
                "<a href=\"{}\"{class}>{}</a>",
                escape(&format!("{base}{joiner}window={}", span.name())),
                span.name()
            ));
        }
        nav.push_str("</nav>");
        nav
    }
}

pub(super) fn line(
    name: &'static str,
    color: &'static str,
    points: Vec<(i64, Option<f64>)>,
) -> Series {
    Series {
        name,
        color,
        points,
    }
}

/// The window a stream node's or a chain's page asks for (`?window=`), once the viewer may read
/// what stream nodes send: signed in, or anyone with `--public-reads`.
pub(super) fn stream_page_window(
    public_reads: bool,
    signed_in: bool,
    query: &HashMap<String, String>,
) -> Result<Window, PageError> {
    if !signed_in && !public_reads {
        return Err(PageError::sign_in());
    }
    let span = Span::parse(query.get("window"))
        .map_err(|err| PageError::new(StatusCode::BAD_REQUEST, signed_in, &err))?;
    Ok(Window::ending_now(span))
}

/// The median and 90th-percentile lines of a propagation series.
pub(super) fn propagation_lines(spreads: &[(i64, Option<Spread>)]) -> Vec<Series> {
    let pick = |value: fn(&Spread) -> i64| {
        spreads
            .iter()
            .map(|(ms, spread)| (*ms, spread.as_ref().map(|spread| value(spread) as f64)))
            .collect()
    };
    vec![
        line("median", BLUE, pick(|spread| spread.median_ms)),
        line("p90", PURPLE, pick(|spread| spread.p90_ms)),
    ]
}

/// A figure of each object.
fn each(
    objects: &[(i64, Object)],
    figure: impl Fn(&Object) -> Option<f64>,
) -> Vec<(i64, Option<f64>)> {
    objects
        .iter()
        .map(|(ms, object)| (*ms, figure(object)))
        .collect()
}

/// A figure between each object and the one before it, when they are near enough to be
/// neighbours (a counter's rate over a gap would smear it).
fn between(
    objects: &[(i64, Object)],
    gap_ms: i64,
    figure: impl Fn(&Object, &Object) -> Option<f64>,
) -> Vec<(i64, Option<f64>)> {
    objects
        .windows(2)
        .map(|pair| {
            let ((earlier_ms, earlier), (later_ms, later)) = (&pair[0], &pair[1]);
            let near = later_ms - earlier_ms <= gap_ms;
            (*later_ms, near.then(|| figure(earlier, later)).flatten())
        })
        .collect()
}

pub(super) fn page(status: StatusCode, title: &str, signed_in: bool, main: &str) -> Response {
    html_answer(status, html::page(title, signed_in, main))
}

/// Why a page cannot be drawn: said on a page of its own, with its status.
pub struct PageError {
    status: StatusCode,
    signed_in: bool,
    main: String,
}

impl PageError {
    pub(super) fn new(
        status: StatusCode,
        signed_in: bool,
        why: &impl std::fmt::Display,
    ) -> PageError {
        PageError {
            status,
            signed_in,
            main: failure(why),
        }
    }

    pub(super) fn sign_in() -> PageError {
        PageError {
            status: StatusCode::UNAUTHORIZED,
            signed_in: false,
            main: SIGN_IN_PROMPT.to_owned(),
        }
    }

    pub(super) fn not_found(what: String, signed_in: bool) -> PageError {
        let mut refusal = PageError::new(StatusCode::NOT_FOUND, signed_in, &what);
        refusal
            .main
            .push_str("<p><a href=\"/\">Back to the fleet</a></p>");
        refusal
    }

    /// For `map_err`: the database did not answer.
    pub(super) fn unavailable(signed_in: bool) -> impl Fn(StoreError) -> PageError {
        move |err| PageError::new(StatusCode::SERVICE_UNAVAILABLE, signed_in, &err)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        page(self.status, "nodepulse", self.signed_in, &self.main)
    }
}

/// `GET /machines/{machine}?key=K&window=W`: a machine the signed-in key may see (`key` tells
/// apart an admin's machines of one name).
pub async fn machine<S: Database>(
    State(shared): State<Arc<AppState<S>>>,
    Path(name): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    Viewer(record): Viewer,
) -> Result<Response, PageError> {
    let record = record.ok_or_else(PageError::sign_in)?;
    let span = Span::parse(query.get("window"))
        .map_err(|err| PageError::new(StatusCode::BAD_REQUEST, true, &err))?;
    let machines = shared
        .metrics
        .timed(
            "machines",
            shared.store.machines(scope_of(&record), Some(&name)),
        )
        .await
        .map_err(PageError::unavailable(true))?;
    let key = query.get("key");
    let machine = machines
        .iter()
        .find(|m| m.machine == name && key.is_none_or(|key| *key == m.key))
        .ok_or_else(|| PageError::not_found(format!("No machine named {name:?} here."), true))?;
    let window = Window::ending_now(span);
    let mut series = Vec::new();
    for process in [Process::System, Process::BeaconNode] {
        let objects = shared
            .metrics
            .timed(
                "machine_series",
                shared.store.machine_series(
                    machine.id,
                    process,
                    window.since_ms,
                    window.until_ms + 1,
                    span.bucket_minutes(),
                ),
            )
            .await
            .map_err(PageError::unavailable(true))?;
        series.push(
            objects
                .iter()
                .map(|object| (object.received_ms, object.to_json()))
                .collect::<Vec<_>>(),
        );
    }
    let (system, beacon) = (&series[0], &series[1]);
    // The machine's reporter tells how its system objects count the CPU.
    let client = newest(machine, Process::BeaconNode)
        .0
        .or_else(|| newest(machine, Process::Validator).0);
    let cpu = |earlier: &Object, later: &Object| {
        cpu_busy_percent(CpuCounting::of(client.as_ref(), later), earlier, later)
    };
    let gap_ms = window.gap_ms();
    let count = |field: &'static str| move |object: &Object| field_number(object, field);
    let rate = |field: &'static str| move |a: &Object, b: &Object| per_second(a, b, field);
    let charts = [
        window.chart(
            "cpu",
            "CPU busy",
            Unit::Percent,
            vec![line("cpu", BLUE, between(system, gap_ms, cpu))],
        ),
        window.chart(
            "memory",
            "Memory used",
            Unit::Percent,
            vec![line("used", BLUE, each(system, memory_used_percent))],
        ),
        window.chart(
            "disk",
            "Disk free",
            Unit::Percent,
            vec![line("free", BLUE, each(system, disk_free_percent))],
        ),
        window.chart(
            "network",
            "Network",
            Unit::BytesPerSecond,
            vec![
                line(
                    "in",
                    GREEN,
                    between(system, gap_ms, rate("network_node_bytes_total_receive")),
                ),
                line(
                    "out",
                    PURPLE,
                    between(system, gap_ms, rate("network_node_bytes_total_transmit")),
                ),
            ],
        ),
        window.chart(
            "peers",
            "Peers",
            Unit::Count,
            vec![line(
                "peers",
                BLUE,
                each(beacon, count("network_peers_connected")),
            )],
        ),
        window.chart(
            "head-slot",
            "Head slot",
            Unit::Count,
            vec![line(
                "slot",
                BLUE,
                each(beacon, count("sync_beacon_head_slot")),
            )],
        ),
        window.chart(
            "synced",
            "Synced",
            Unit::YesNo,
            vec![line(
                "synced",
                GREEN,
                each(beacon, |object| {
                    object
                        .get("sync_eth2_synced")
                        .and_then(Value::as_bool)
                        .map(|synced| if synced { 1.0 } else { 0.0 })
                }),
            )],
        ),
    ];
    let now_ms = window.until_ms;
    let page_number = query
        .get("validators")
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(0);
    let base = format!(
        "/machines/{}?key={}",
        url_component(&machine.machine),
        url_component(&machine.key)
    );
    let paged = format!("{base}&window={}", span.name());
    let (validator_charts, validator_view) =
        validator_view(&shared, machine.id, &window, page_number, &paged, now_ms)
            .await
            .map_err(PageError::unavailable(true))?;
    let charts: Vec<Chart> = charts.into_iter().chain(validator_charts).collect();
    let firing = shared.alerts.firing_for(&machine_subject(machine));
    let problems = validator_problems_of(&shared, machine.id).await;
    let row = machine_row(&shared, machine, now_ms, &firing, problems);
    let mut main = detail_main(
        &html::table("machine", &MACHINE_HEADERS, &[row], ""),
        &window.nav(&base),
        &charts,
    );
    main.push_str(&validator_view);
    Ok(page(
        StatusCode::OK,
        &format!("nodepulse: {}", machine.machine),
        true,
        &main,
    ))
}

/// How many of a machine's validators had a problem in its last epoch; `None` without a validator
/// view (or when the store cannot say: the cell shows nothing rather than the page failing).
async fn validator_problems_of<S: Database>(shared: &AppState<S>, machine_id: i64) -> Option<u64> {
    let watched = shared.store.validator_machines().await.ok()?;
    if !watched.contains(&machine_id) {
        return None;
    }
    let problems = shared.store.validator_problems().await.ok()?;
    Some(
        problems
            .into_iter()
            .find(|(id, _)| *id == machine_id)
            .map_or(0, |(_, n)| n),
    )
}

/// A machine's validator view, when it has one: the charts of its validators' balance and missed
/// attestations per epoch over the window, and the execution client's and the validators' tables
/// (page `page_number`, its links built on `page_url`).
async fn validator_view<S: Database>(
    shared: &AppState<S>,
    machine_id: i64,
    window: &Window,
    page_number: usize,
    page_url: &str,
    now_ms: i64,
) -> Result<(Vec<Chart>, String), StoreError> {
    let store = &shared.store;
    let timed = |name, future| shared.metrics.timed(name, future);
    let execution = timed("execution_report", store.execution_report(machine_id)).await?;
    let mut html = validators::execution_table(execution.as_ref(), now_ms);
    let history = shared
        .metrics
        .timed(
            "validator_history",
            store.validator_history(machine_id, validators::IN_A_ROW_EPOCHS),
        )
        .await?;
    let Some(history) = history else {
        return Ok((Vec::new(), html));
    };
    let clock = history.clock;
    let epochs_in = |ms: i64| (ms / 1000) as u64 / clock.seconds_per_epoch().max(1);
    let since = |ms: i64| (history.last_epoch + 1).saturating_sub(epochs_in(ms));
    let day = shared
        .metrics
        .timed(
            "attestation_counts",
            store.attestation_counts(machine_id, since(DAY_MS)),
        )
        .await?;
    let week = shared
        .metrics
        .timed(
            "attestation_counts",
            store.attestation_counts(machine_id, since(7 * DAY_MS)),
        )
        .await?;
    let first = clock.first_epoch_from((window.since_ms / 1000).max(0) as u64);
    let totals = shared
        .metrics
        .timed("epoch_totals", store.epoch_totals(machine_id, first))
        .await?;
    // Each epoch is drawn where it ended.
    let at = |epoch: u64| {
        clock
            .epoch_start(epoch.saturating_add(1))
            .saturating_mul(1000) as i64
    };
    let charts = vec![
        window.chart(
            "validator-balance",
            "Validators' balance (ETH)",
            Unit::Count,
            vec![line(
                "balance",
                BLUE,
                totals
                    .iter()
                    .map(|t| (at(t.epoch), Some(t.balance as f64 / 1e9)))
                    .collect(),
            )],
        ),
        window.chart(
            "validator-misses",
            "Missed attestations per epoch",
            Unit::Count,
            vec![line(
                "missed",
                PURPLE,
                totals
                    .iter()
                    .map(|t| (at(t.epoch), Some(t.missed as f64)))
                    .collect(),
            )],
        ),
    ];
    html.push_str(&validators::validators_table(
        &history,
        &day,
        &week,
        page_number,
        page_url,
    ));
    Ok((charts, html))
}

/// `GET /stream-nodes/{peer_id}?window=W`: for any signed-in key, or anyone with `--public-reads`.
pub async fn stream_node<S: Database>(
    State(shared): State<Arc<AppState<S>>>,
    Path(peer_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    Viewer(record): Viewer,
) -> Result<Response, PageError> {
    let signed_in = record.is_some();
    let window = stream_page_window(shared.public_reads, signed_in, &query)?;
    let node = shared
        .metrics
        .timed("stream_node", shared.store.stream_node(&peer_id))
        .await
        .map_err(PageError::unavailable(signed_in))?
        .ok_or_else(|| {
            PageError::not_found(
                format!("No stream node with peer id {peer_id:?} here."),
                signed_in,
            )
        })?;
    let samples = shared
        .metrics
        .timed(
            "stream_series",
            shared.store.stream_series(
                &peer_id,
                window.since_ms,
                window.until_ms + 1,
                window.bucket_ms(),
            ),
        )
        .await
        .map_err(PageError::unavailable(signed_in))?;
    // The minutes' samples are each node's state at its first contact in the minute; its state
    // now ends the line, so that a node that just connected, or changed since, shows it.
    let now = (window.since_ms..=window.until_ms)
        .contains(&node.last_seen_ms)
        .then_some(node.last_seen_ms);
    let figures: Vec<(i64, StreamFigures)> = samples
        .iter()
        .filter(|sample| now.is_none_or(|now| sample.at_ms < now))
        .map(|sample| (sample.at_ms, StreamFigures::of(&sample.state)))
        .chain(now.map(|now| (now, StreamFigures::of(&node.state))))
        .collect();
    // The node's own reports of new blocks, each block counted (min_reports 1).
    let chain = chain_key(&node.identity);
    let delays = shared
        .metrics
        .timed(
            "delays",
            shared.store.delays(&chain, Some(&peer_id), window.since_ms),
        )
        .await
        .map_err(PageError::unavailable(signed_in))?;
    let buckets = (window.since_ms, window.until_ms, window.bucket_ms());
    let spreads = propagation_series(&propagating(delays), buckets, 1);
    let points = |pick: fn(&StreamFigures) -> Option<f64>| {
        figures
            .iter()
            .map(|(ms, figures)| (*ms, pick(figures)))
            .collect::<Vec<_>>()
    };
    let charts = [
        window.chart(
            "height",
            "Block height",
            Unit::Count,
            vec![
                line("best", BLUE, points(|f| f.best)),
                line("finalized", GREEN, points(|f| f.finalized)),
            ],
        ),
        window.chart(
            "peers",
            "Peers",
            Unit::Count,
            vec![line("peers", BLUE, points(|f| f.peers))],
        ),
        window.chart(
            "finality-lag",
            "Finality lag (blocks)",
            Unit::Count,
            vec![line(
                "best − finalized",
                PURPLE,
                points(|f| {
                    f.best
                        .zip(f.finalized)
                        .map(|(best, finalized)| best - finalized)
                }),
            )],
        ),
        window.chart(
            "propagation",
            "Propagation",
            Unit::Milliseconds,
            propagation_lines(&spreads),
        ),
        window.chart(
            "bandwidth",
            "Bandwidth",
            Unit::BytesPerSecond,
            vec![
                line("upload", BLUE, points(|f| f.upload)),
                line("download", GREEN, points(|f| f.download)),
            ],
        ),
        window.chart(
            "transactions",
            "Transaction pool",
            Unit::Count,
            vec![line("ready", BLUE, points(|f| f.transactions))],
        ),
    ];
    let firing = shared.alerts.firing_for(&node.identity.peer_id);
    let row = stream_row(&node, window.until_ms, &firing);
    let base = format!("/stream-nodes/{}", url_component(&peer_id));
    let main = detail_main(
        &html::table("stream-node", &STREAM_HEADERS, &[row], ""),
        &window.nav(&base),
        &charts,
    );
    let name = node.identity.name.as_deref().unwrap_or(&peer_id);
    Ok(page(
        StatusCode::OK,
        &format!("nodepulse: {name}"),
        signed_in,
        &main,
    ))
}

/// A detail page's `main`: back to the fleet, the subject's row, the window links, the charts.
fn detail_main(row: &str, nav: &str, charts: &[Chart]) -> String {
    let mut main = format!("<p><a href=\"/\">← Fleet</a></p>{row}{nav}<div class=\"charts\">");
    for chart in charts {
        main.push_str(&chart.render());
    }
    main.push_str("</div>");
    main.push_str(&as_of());
    main
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_named_as_in_the_url() {
        assert_eq!(Span::parse(None), Ok(Span::Hour));
        assert_eq!(Span::parse(Some(&"7d".to_owned())), Ok(Span::Week));
        assert!(Span::parse(Some(&"2h".to_owned())).is_err());
        let window = Window {
            span: Span::Day,
            since_ms: 0,
            until_ms: 86_400_000,
        };
        let nav = window.nav("/machines/rig?key=ops");
        assert!(
            nav.contains("href=\"/machines/rig?key=ops&amp;window=7d\""),
            "{nav}"
        );
        assert!(nav.contains("class=\"on\">24h<"), "{nav}");
        assert_eq!(window.gap_ms(), 750_000);
    }

    #[test]
    fn figures_between_objects_skip_gaps() {
        let object = |idle: i64, busy: i64| {
            let mut object = Object::new();
            for (field, value) in [
                ("cpu_node_idle_seconds_total", idle),
                ("cpu_node_user_seconds_total", busy),
                // The specification's total of every mode.
                ("cpu_node_system_seconds_total", idle + busy),
                ("cpu_node_iowait_seconds_total", 0),
            ] {
                object.insert(field.into(), value.into());
            }
            object
        };
        let objects = vec![
            (0, object(100, 100)),
            (60_000, object(190, 130)),
            // Ten minutes later: not a neighbour.
            (660_000, object(300, 200)),
        ];
        let cpu = |a: &Object, b: &Object| cpu_busy_percent(CpuCounting::Total, a, b);
        assert_eq!(
            between(&objects, 150_000, cpu),
            vec![(60_000, Some(25.0)), (660_000, None)]
        );
    }
}
