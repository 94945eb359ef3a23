//! The machine page's validator view: the execution client beside its beacon node, and each
//! watched validator, problems first and paged, so that thousands stay readable.

use std::collections::HashMap;

use super::html::{self, Cell, Row};
use crate::serve::store::validators::ValidatorHistory;
use crate::wire::execution::ExecutionReport;
use crate::wire::validators::Status;

/// Validators on one page of the table.
pub const PAGE_SIZE: usize = 100;
/// Epochs read back to count misses in a row; more shows as "32+".
pub const IN_A_ROW_EPOCHS: u32 = 32;

const EXECUTION_HEADERS: [&str; 7] = [
    "Execution client",
    "Version",
    "Chain",
    "Synced",
    "Head",
    "Head age",
    "Peers",
];

const VALIDATOR_HEADERS: [&str; 9] = [
    "Validator",
    "Status",
    "Balance",
    "Effectiveness 24 h",
    "Effectiveness 7 d",
    "Missed in a row",
    "Last proposal",
    "Next proposal",
    "Sync committee",
];

/// The execution client's newest report (received at `received_ms`) as a one-row table.
pub fn execution_table(execution: Option<&(i64, ExecutionReport)>, now_ms: i64) -> String {
    let Some((received_ms, report)) = execution else {
        return String::new();
    };
    let (client, version) = match report.client_version.as_deref() {
        Some(text) => match text.split_once('/') {
            Some((client, rest)) => (
                client.to_owned(),
                rest.split('/').next().unwrap_or(rest).to_owned(),
            ),
            None => (text.to_owned(), String::new()),
        },
        None => ("—".into(), "—".into()),
    };
    let since = now_ms.saturating_sub(*received_ms).max(0) as f64 / 1000.0;
    let head_age = report.head_age_seconds.map(|age| age as f64 + since);
    let synced = match report.synced {
        Some(true) => Cell::text("yes"),
        Some(false) => Cell::text("syncing").class("bad"),
        None => Cell::text("—"),
    };
    let row = Row {
        problem: report.synced == Some(false)
            || head_age.is_some_and(|age| age > 120.0)
            || report.peers == Some(0),
        cells: vec![
            Cell::text(client),
            Cell::text(version),
            Cell::number(report.chain_id.map(|id| id as f64), |id| format!("{id:.0}")),
            synced,
            Cell::number(report.head_block.map(|b| b as f64), |b| format!("{b:.0}")),
            Cell::number(head_age, |age| format!("{age:.0} s")),
            Cell::number(report.peers.map(|p| p as f64), |p| format!("{p:.0}")),
        ],
    };
    format!(
        "<h2>Execution client</h2>{}",
        html::table("execution", &EXECUTION_HEADERS, &[row], "")
    )
}

/// The validators of the last reported epoch, problems first, page `page` (from 0) of
/// `PAGE_SIZE`; `day` and `week` are each validator's (index, made, missed) attestations; `base`
/// the page's URL, for the paging links.
pub fn validators_table(
    history: &ValidatorHistory,
    day: &[(u64, u64, u64)],
    week: &[(u64, u64, u64)],
    page: usize,
    base: &str,
) -> String {
    let last = history.last_epoch;
    let effectiveness = |counts: &[(u64, u64, u64)]| -> HashMap<u64, f64> {
        counts
            .iter()
            .filter(|(_, made, missed)| made + missed > 0)
            .map(|(index, made, missed)| (*index, *made as f64 * 100.0 / (made + missed) as f64))
            .collect()
    };
    let (day, week) = (effectiveness(day), effectiveness(week));
    let mut in_a_row: HashMap<u64, u64> = HashMap::new();
    let mut broken: HashMap<u64, bool> = HashMap::new();
    for duty in history.duties.iter().rev() {
        let streak_over = broken.entry(duty.index).or_insert(false);
        if *streak_over {
            continue;
        }
        match duty.attested {
            Some(false) => *in_a_row.entry(duty.index).or_default() += 1,
            _ => *streak_over = true,
        }
    }
    let mut rows: Vec<(bool, u64, Row)> = history
        .duties
        .iter()
        .filter(|duty| duty.epoch == last)
        .map(|duty| {
            let missed = in_a_row.get(&duty.index).copied().unwrap_or(0);
            let proposal = history
                .proposals
                .iter()
                .rev()
                .find(|(index, _)| *index == duty.index)
                .map(|(_, proposal)| proposal);
            let sync = history
                .sync
                .iter()
                .rev()
                .find(|(epoch, index, _)| *epoch == last && *index == duty.index)
                .map(|(.., sync)| sync);
            let problem = missed > 0
                || duty.status == Status::Slashed
                || proposal.is_some_and(|p| p.missed());
            let percent = |value: f64| format!("{value:.1} %");
            let row = Row {
                problem,
                cells: vec![
                    Cell::number(Some(duty.index as f64), |i| format!("{i:.0}")),
                    Cell::text(duty.status.as_str()),
                    Cell::number(Some(duty.balance as f64 / 1e9), |eth| {
                        format!("{eth:.4} ETH")
                    }),
                    Cell::number(day.get(&duty.index).copied(), percent),
                    Cell::number(week.get(&duty.index).copied(), percent),
                    Cell::number(Some(missed as f64), |n| {
                        if n as u32 >= IN_A_ROW_EPOCHS {
                            format!("{n:.0}+")
                        } else {
                            format!("{n:.0}")
                        }
                    }),
                    match proposal {
                        Some(p) if p.missed() => {
                            Cell::text(format!("missed, slot {}", p.slot)).class("bad")
                        }
                        Some(p) => Cell::text(format!("slot {}", p.slot)),
                        None => Cell::text("—"),
                    },
                    match history
                        .upcoming_proposals
                        .iter()
                        .find(|p| p.index == duty.index)
                    {
                        Some(next) => {
                            Cell::number(Some(next.slot as f64), |slot| format!("slot {slot:.0}"))
                        }
                        None => Cell::text("—"),
                    },
                    match sync {
                        Some(s) => match (s.participated, s.missed) {
                            (Some(done), Some(missed)) => {
                                Cell::text(format!("member: {done} signed, {missed} missed"))
                            }
                            _ => Cell::text("member"),
                        },
                        None => Cell::text("—"),
                    },
                ],
            };
            (problem, duty.index, row)
        })
        .collect();
    rows.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let total = rows.len();
    let problems = rows.iter().filter(|(problem, ..)| *problem).count();
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    let page = page.min(pages - 1);
    let shown: Vec<Row> = rows
        .into_iter()
        .skip(page * PAGE_SIZE)
        .take(PAGE_SIZE)
        .map(|(.., row)| row)
        .collect();
    let mut html = format!(
        "<h2>Validators ({total}, {problems} with problems) in epoch {last}</h2>{}",
        html::table(
            "validators",
            &VALIDATOR_HEADERS,
            &shown,
            "No validator reported."
        )
    );
    html.push_str(&html::page_links(
        page,
        pages,
        &format!("{base}&validators="),
    ));
    html
}
