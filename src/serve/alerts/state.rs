//! Which alerts fire, and who is told: a condition that has held for its rule's time fires; a
//! notification goes when an alert starts firing (at most once per rule and subject per repeat
//! interval) and when it resolves. When 10 or more subjects are watched and 90 % or more of them
//! would start firing at once, that is the server's own outage (it stopped receiving), not the
//! fleet's: one summary goes instead, as beaconcha.in does. Pure: time comes in as `now_ms`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::rules::{Condition, Rule, RuleBook, Subject, holds_at_once};
use crate::serve::store::alerts::StoredAlert;

/// A fleet this small is never called an outage.
const OUTAGE_MIN_SUBJECTS: usize = 10;
const OUTAGE_SHARE: f64 = 0.9;

#[derive(Debug, Clone, PartialEq)]
pub enum Notification {
    Firing(Condition),
    Resolved(Condition),
    /// `firing` of `watched` subjects started firing at once.
    Outage {
        firing: usize,
        watched: usize,
    },
    /// `serve --test-alert`.
    Test,
}

#[derive(Debug, Clone, PartialEq)]
struct Alert {
    /// Since when the condition has held.
    since_ms: i64,
    condition: Condition,
    firing: bool,
    /// Its firing was told (so its resolving is told too).
    told: bool,
}

#[derive(Debug, Default)]
pub struct AlertState {
    alerts: BTreeMap<(Rule, Subject), Alert>,
    /// When each rule and subject's firing was last told.
    last_told: BTreeMap<(Rule, Subject), i64>,
}

impl AlertState {
    /// The state as stored: a row per rule and subject held now or told within the repeat
    /// interval.
    pub fn to_stored(&self) -> Vec<StoredAlert> {
        let keys: BTreeSet<&(Rule, Subject)> =
            self.alerts.keys().chain(self.last_told.keys()).collect();
        keys.into_iter()
            .map(|key| {
                let alert = self.alerts.get(key);
                StoredAlert {
                    rule: key.0.name().to_owned(),
                    subject: key.1.clone(),
                    held_since_ms: alert.map(|alert| alert.since_ms),
                    firing: alert.is_some_and(|alert| alert.firing),
                    told: alert.is_some_and(|alert| alert.told),
                    detail: alert.map_or_else(String::new, |alert| alert.condition.detail.clone()),
                    last_told_ms: self.last_told.get(key).copied(),
                }
            })
            .collect()
    }

    /// The state as stored; rows of a rule this version does not know are left out.
    pub fn from_stored(stored: Vec<StoredAlert>) -> AlertState {
        let mut state = AlertState::default();
        for row in stored {
            let Some(rule) = Rule::from_name(&row.rule) else {
                continue;
            };
            let key = (rule, row.subject);
            if let Some(since_ms) = row.held_since_ms {
                let condition = Condition {
                    rule,
                    subject: key.1.clone(),
                    detail: row.detail,
                };
                state.alerts.insert(
                    key.clone(),
                    Alert {
                        since_ms,
                        condition,
                        firing: row.firing,
                        told: row.told,
                    },
                );
            }
            if let Some(told_ms) = row.last_told_ms {
                state.last_told.insert(key, told_ms);
            }
        }
        state
    }

    /// Takes this round's conditions (every one that holds now, for `watched` subjects) and
    /// returns what to tell.
    pub fn evaluate(
        &mut self,
        held: Vec<Condition>,
        watched: usize,
        book: &RuleBook,
        repeat: Duration,
        now_ms: i64,
    ) -> Vec<Notification> {
        let hold_for = |(rule, subject): &(Rule, Subject)| -> i64 {
            if holds_at_once(*rule) {
                return 0;
            }
            let setting = book.for_subject(subject)[rule.index()];
            i64::try_from(setting.after.as_millis()).unwrap_or(i64::MAX)
        };
        let mut notifications = Vec::new();
        let holding: BTreeSet<(Rule, Subject)> =
            held.iter().map(|c| (c.rule, c.subject.clone())).collect();
        // Resolved: held before, not now.
        let gone: Vec<(Rule, Subject)> = self
            .alerts
            .keys()
            .filter(|key| !holding.contains(*key))
            .cloned()
            .collect();
        for key in gone {
            if let Some(alert) = self.alerts.remove(&key)
                && alert.firing
                && alert.told
            {
                notifications.push(Notification::Resolved(alert.condition));
            }
        }
        // Held: start, keep, or start firing.
        let mut starting = Vec::new();
        for condition in held {
            let key = (condition.rule, condition.subject.clone());
            let alert = self.alerts.entry(key.clone()).or_insert_with(|| Alert {
                since_ms: now_ms,
                condition: condition.clone(),
                firing: false,
                told: false,
            });
            alert.condition = condition;
            if !alert.firing && now_ms.saturating_sub(alert.since_ms) >= hold_for(&key) {
                alert.firing = true;
                starting.push(key);
            }
        }
        let repeat_ms = i64::try_from(repeat.as_millis()).unwrap_or(i64::MAX);
        // Told longer ago than the repeat interval is as good as never told: kept no longer, so
        // the state stays as large as what fires.
        self.last_told
            .retain(|_, told| now_ms.saturating_sub(*told) < repeat_ms);
        let starting_subjects: BTreeSet<&Subject> = starting.iter().map(|(_, s)| s).collect();
        let outage = watched >= OUTAGE_MIN_SUBJECTS
            && starting_subjects.len() as f64 >= OUTAGE_SHARE * watched as f64;
        if outage {
            notifications.push(Notification::Outage {
                firing: starting_subjects.len(),
                watched,
            });
        }
        for key in starting {
            let recently = self
                .last_told
                .get(&key)
                .is_some_and(|told| now_ms.saturating_sub(*told) < repeat_ms);
            let Some(alert) = self.alerts.get_mut(&key) else {
                continue;
            };
            // In an outage the summary stands for them all: none is told alone, now or when it
            // resolves.
            if outage || recently {
                continue;
            }
            alert.told = true;
            self.last_told.insert(key, now_ms);
            notifications.push(Notification::Firing(alert.condition.clone()));
        }
        notifications
    }

    /// How many alerts of each rule fire now.
    pub fn firing(&self) -> BTreeMap<Rule, usize> {
        let mut counts: BTreeMap<Rule, usize> = Rule::ALL.iter().map(|rule| (*rule, 0)).collect();
        for ((rule, _), alert) in &self.alerts {
            if alert.firing {
                *counts.entry(*rule).or_default() += 1;
            }
        }
        counts
    }

    /// The rules firing for `subject` now.
    pub fn firing_for(&self, subject: &str) -> Vec<Rule> {
        self.alerts
            .iter()
            .filter(|((_, of), alert)| of == subject && alert.firing)
            .map(|((rule, _), _)| *rule)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: i64 = 60_000;

    fn settings() -> RuleBook {
        RuleBook::everyone(Rule::ALL.map(Rule::defaults))
    }

    fn condition(rule: Rule, subject: &str) -> Condition {
        Condition {
            rule,
            subject: subject.into(),
            detail: "detail".into(),
        }
    }

    fn evaluate(
        state: &mut AlertState,
        held: &[Condition],
        watched: usize,
        now_ms: i64,
    ) -> Vec<Notification> {
        state.evaluate(
            held.to_vec(),
            watched,
            &settings(),
            Duration::from_secs(12 * 3600),
            now_ms,
        )
    }

    #[test]
    fn a_condition_fires_after_its_time_and_resolves_once() {
        let mut state = AlertState::default();
        let peers = condition(Rule::Peers, "ops/rig-1");
        assert_eq!(evaluate(&mut state, std::slice::from_ref(&peers), 1, 0), []);
        assert_eq!(
            evaluate(&mut state, std::slice::from_ref(&peers), 1, 9 * MINUTE),
            []
        );
        assert_eq!(
            evaluate(&mut state, std::slice::from_ref(&peers), 1, 10 * MINUTE),
            [Notification::Firing(peers.clone())]
        );
        assert_eq!(state.firing()[&Rule::Peers], 1);
        assert_eq!(state.firing_for("ops/rig-1"), [Rule::Peers]);
        assert_eq!(state.firing_for("ops/rig-2"), []);
        assert_eq!(
            evaluate(&mut state, std::slice::from_ref(&peers), 1, 11 * MINUTE),
            [],
            "told once"
        );
        assert_eq!(
            evaluate(&mut state, &[], 1, 12 * MINUTE),
            [Notification::Resolved(peers.clone())]
        );
        assert_eq!(evaluate(&mut state, &[], 1, 13 * MINUTE), []);
        assert_eq!(state.firing()[&Rule::Peers], 0);
    }

    #[test]
    fn offline_fires_at_once_and_a_flapping_alert_is_told_once_per_repeat_interval() {
        let mut state = AlertState::default();
        let offline = condition(Rule::MachineOffline, "ops/rig-1");
        assert_eq!(
            evaluate(&mut state, std::slice::from_ref(&offline), 1, 0),
            [Notification::Firing(offline.clone())]
        );
        assert_eq!(
            evaluate(&mut state, &[], 1, MINUTE),
            [Notification::Resolved(offline.clone())]
        );
        // Firing again within 12 h: not told, and so its resolving is not told either.
        assert_eq!(
            evaluate(&mut state, std::slice::from_ref(&offline), 1, 2 * MINUTE),
            []
        );
        assert_eq!(evaluate(&mut state, &[], 1, 3 * MINUTE), []);
        let later = 12 * 60 * MINUTE + 1;
        assert_eq!(
            evaluate(&mut state, std::slice::from_ref(&offline), 1, later),
            [Notification::Firing(offline)]
        );
    }

    #[test]
    fn nine_of_ten_at_once_is_one_summary() {
        let mut state = AlertState::default();
        let held: Vec<Condition> = (0..9)
            .map(|n| condition(Rule::MachineOffline, &format!("ops/rig-{n}")))
            .collect();
        assert_eq!(
            evaluate(&mut state, &held, 10, 0),
            [Notification::Outage {
                firing: 9,
                watched: 10
            }]
        );
        assert_eq!(state.firing()[&Rule::MachineOffline], 9);
        // Back: nobody was told alone, so nobody is told it resolved.
        assert_eq!(evaluate(&mut state, &[], 10, MINUTE), []);
        // Eight of ten is a fleet problem: each is told.
        assert_eq!(
            evaluate(&mut state, &held[..8], 10, 20 * 60 * MINUTE).len(),
            8
        );
    }

    #[test]
    fn the_state_read_back_from_the_store_goes_on_where_it_was() {
        let mut state = AlertState::default();
        let offline = condition(Rule::MachineOffline, "ops/rig-1");
        let peers = condition(Rule::Peers, "ops/rig-2");
        evaluate(&mut state, &[offline.clone(), peers.clone()], 2, 0);
        evaluate(&mut state, std::slice::from_ref(&peers), 2, MINUTE);
        // rig-1 fired, was told, resolved; rig-2's peers have held for a minute of ten.
        let mut restored = AlertState::from_stored(state.to_stored());
        assert_eq!(restored.to_stored(), state.to_stored());
        // Offline again within the repeat interval: not told again, after a restart too.
        assert_eq!(
            evaluate(
                &mut restored,
                &[offline.clone(), peers.clone()],
                2,
                2 * MINUTE
            ),
            []
        );
        // The peers condition keeps its start: it fires ten minutes after it began, not after
        // the restart.
        assert_eq!(
            evaluate(&mut restored, &[offline, peers.clone()], 2, 10 * MINUTE),
            [Notification::Firing(peers)]
        );
        // A rule this version does not know is left out.
        let mut unknown = restored.to_stored();
        unknown[0].rule = "gone-rule".into();
        assert_eq!(
            AlertState::from_stored(unknown).to_stored().len(),
            restored.to_stored().len() - 1
        );
    }

    #[test]
    fn what_was_told_is_forgotten_after_the_repeat_interval() {
        let mut state = AlertState::default();
        let offline = condition(Rule::MachineOffline, "ops/rig-1");
        evaluate(&mut state, std::slice::from_ref(&offline), 1, 0);
        evaluate(&mut state, &[], 1, MINUTE);
        assert_eq!(state.to_stored().len(), 1, "told within the interval");
        evaluate(&mut state, &[], 1, 12 * 60 * MINUTE + 1);
        assert_eq!(state.to_stored(), [], "nothing left to remember");
    }
}
