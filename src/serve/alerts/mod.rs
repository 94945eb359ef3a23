//! Alerts: every `evaluate-every` (a minute) the fleet is observed from the store, the `rules`
//! say which conditions hold, the `state` which alerts start firing or resolve and who is told,
//! and `notify` shapes each notification for each webhook, delivered with retries, each webhook
//! on its own so that one failing holds up no other.

pub mod notify;
pub mod rules;
pub mod state;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use serde_json::{Map, Value};
use tokio::sync::watch;

use super::figures::{field_number, parse_object};
use super::metrics::ServeMetrics;
use super::store::alerts::AlertStore;
use super::store::{Database, Scope, StoreError};
use crate::cli::{AlertRuleSettings, AlertSettings};
use crate::retry::{self, BASE_DELAY, Backoff, Jitter, Verdict};
use crate::secret::Secret;
use crate::settings::{ConfigError, duration, invalid};
use crate::wire::client_stats::fields::Process;
use notify::Kind;
use rules::{Observation, Rule, RuleBook, RuleSettings, ValidatorFacts};
use state::{AlertState, Notification};

/// Attempts per notification and webhook: about a minute of retries with the backoff's growth.
const ATTEMPTS: u32 = 6;
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);
const DAY_MS: i64 = 24 * 3600 * 1000;

#[derive(Debug, Clone)]
pub struct Webhook {
    /// Often carries a token: only `notify::redacted` of it is ever logged.
    pub url: Secret,
    pub kind: Kind,
}

#[derive(Debug, Clone)]
pub struct AlertConfig {
    pub evaluate_every: Duration,
    pub repeat: Duration,
    pub rules: RuleBook,
    pub webhooks: Vec<Webhook>,
}

impl AlertConfig {
    /// The `[alerts]` table of the config file, checked; the defaults without one.
    pub fn from_settings(settings: Option<AlertSettings>) -> Result<AlertConfig, ConfigError> {
        let settings = settings.unwrap_or_default();
        let everyone = with_changes(Rule::ALL.map(Rule::defaults), &settings.rules)?;
        let keys = settings
            .keys
            .iter()
            .map(|(key, rules)| Ok((key.clone(), with_changes(everyone, rules)?)))
            .collect::<Result<HashMap<_, _>, ConfigError>>()?;
        let machines = settings
            .machines
            .iter()
            .map(|(subject, rules)| {
                let Some((key, _)) = subject.split_once('/') else {
                    return Err(invalid(
                        "alerts",
                        format!("`machines.{subject}` must name a machine as KEY/MACHINE"),
                    ));
                };
                let base = keys.get(key).copied().unwrap_or(everyone);
                Ok((subject.clone(), with_changes(base, rules)?))
            })
            .collect::<Result<HashMap<_, _>, ConfigError>>()?;
        let rules = RuleBook {
            everyone,
            keys,
            machines,
        };
        let webhooks = settings
            .webhooks
            .into_iter()
            .enumerate()
            .map(|(index, webhook)| {
                if !(webhook.url.starts_with("http://") || webhook.url.starts_with("https://")) {
                    return Err(invalid(
                        "alerts",
                        format!("webhook {} needs an http(s) URL", index + 1),
                    ));
                }
                let name = webhook.kind.as_deref().unwrap_or("json");
                let Some(kind) = Kind::from_name(name) else {
                    return Err(invalid(
                        "alerts",
                        format!(
                            "webhook {}: kind `{name}` is not json, ntfy, discord or slack",
                            index + 1
                        ),
                    ));
                };
                Ok(Webhook {
                    url: Secret::new(webhook.url),
                    kind,
                })
            })
            .collect::<Result<_, _>>()?;
        let evaluate_every = duration(
            "alerts",
            settings.evaluate_every.as_deref(),
            Duration::from_secs(60),
        )?;
        if evaluate_every.is_zero() {
            return Err(invalid("alerts", "evaluate-every must be longer than 0s"));
        }
        Ok(AlertConfig {
            evaluate_every,
            repeat: duration(
                "alerts",
                settings.repeat_interval.as_deref(),
                Duration::from_secs(12 * 3600),
            )?,
            rules,
            webhooks,
        })
    }
}

/// `base` with the config file's changes to its rules.
fn with_changes(
    mut base: [RuleSettings; Rule::COUNT],
    changes: &BTreeMap<String, AlertRuleSettings>,
) -> Result<[RuleSettings; Rule::COUNT], ConfigError> {
    for (name, given) in changes {
        let rule = Rule::from_name(name).ok_or_else(|| {
            let known: Vec<&str> = Rule::ALL.iter().map(|rule| rule.name()).collect();
            invalid(
                "alerts",
                format!("no rule `{name}` (rules: {})", known.join(", ")),
            )
        })?;
        let setting = &mut base[rule.index()];
        setting.enabled = given.enabled.unwrap_or(setting.enabled);
        setting.threshold = given.threshold.unwrap_or(setting.threshold);
        if let Some(after) = &given.after {
            setting.after = duration("alerts", Some(after), setting.after)?;
        }
    }
    Ok(base)
}

pub struct Alerts {
    config: AlertConfig,
    /// The newest state, as this instance evaluated it or read it from the store.
    state: Mutex<AlertState>,
    /// This instance's name on the lease of the alert rounds: the same after a restart, so that
    /// a restarted instance goes on at once; no two live instances share one.
    holder: String,
    client: reqwest::Client,
    metrics: Arc<ServeMetrics>,
}

impl Alerts {
    pub fn new(
        config: AlertConfig,
        holder: String,
        metrics: Arc<ServeMetrics>,
    ) -> Result<Alerts, String> {
        // The client every outgoing request uses, with our User-Agent.
        let client = crate::http_client(WEBHOOK_TIMEOUT).map_err(|err| err.to_string())?;
        Ok(Alerts {
            config,
            state: Mutex::default(),
            holder,
            client,
            metrics,
        })
    }

    fn state(&self) -> MutexGuard<'_, AlertState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Each rule with its settings.
    pub fn rules(&self) -> impl Iterator<Item = (Rule, RuleSettings)> + '_ {
        Rule::ALL.into_iter().zip(self.config.rules.everyone)
    }

    /// `rule`'s settings for `subject` (`KEY/MACHINE`, or a stream node's peer id).
    pub fn settings(&self, rule: Rule, subject: &str) -> RuleSettings {
        self.config.rules.for_subject(subject)[rule.index()]
    }

    /// The names of the rules firing for `subject` now.
    pub fn firing_for(&self, subject: &str) -> Vec<&'static str> {
        self.state()
            .firing_for(subject)
            .into_iter()
            .map(Rule::name)
            .collect()
    }

    /// One round. With webhooks, the instance holding the lease on the rounds (one at a time
    /// among those sharing the database) observes, evaluates from the stored state, stores the
    /// new state and only then hands each notification to each webhook's delivery; every other
    /// instance reads the state, for its page and `/metrics`. So a restart neither repeats nor
    /// forgets a notification, and several instances send each once. Without webhooks there is
    /// nobody to tell: the instance evaluates for its own page and takes no part in the lease.
    pub async fn evaluate<S: Database + AlertStore>(
        self: &Arc<Self>,
        store: &S,
    ) -> Result<(), StoreError> {
        let now_ms = super::now_ms();
        if self.config.webhooks.is_empty() {
            let (held, watched) = self.observe(store, now_ms).await?;
            let mut state = std::mem::take(&mut *self.state());
            state.evaluate(
                held,
                watched,
                &self.config.rules,
                self.config.repeat,
                now_ms,
            );
            self.show(state);
            return Ok(());
        }
        let every_ms = i64::try_from(self.config.evaluate_every.as_millis()).unwrap_or(i64::MAX);
        let leading = store
            .lease_alert_rounds(&self.holder, now_ms, now_ms.saturating_add(2 * every_ms))
            .await?;
        let mut state = AlertState::from_stored(store.alert_state().await?);
        if !leading {
            self.show(state);
            return Ok(());
        }
        let (held, watched) = self.observe(store, now_ms).await?;
        let notifications = state.evaluate(
            held,
            watched,
            &self.config.rules,
            self.config.repeat,
            now_ms,
        );
        if !store
            .save_alert_state(&self.holder, &state.to_stored())
            .await?
        {
            // Another instance took the rounds meanwhile: it tells what there is to tell.
            return Ok(());
        }
        self.show(state);
        for notification in notifications {
            tracing::info!(?notification, "alert");
            for webhook in &self.config.webhooks {
                let alerts = Arc::clone(self);
                let (webhook, notification) = (webhook.clone(), notification.clone());
                tokio::spawn(async move {
                    let delivered = alerts.deliver(&webhook, &notification, now_ms).await;
                    alerts.metrics.alert_notification(delivered.is_ok());
                    if let Err(reason) = delivered {
                        tracing::warn!(webhook = %notify::redacted(webhook.url.expose()), "an alert was not delivered: {reason}");
                    }
                });
            }
        }
        Ok(())
    }

    /// The conditions that hold now, and how many subjects were watched.
    async fn observe<S: Database>(
        &self,
        store: &S,
        now_ms: i64,
    ) -> Result<(Vec<rules::Condition>, usize), StoreError> {
        let observations = observe(store, &self.config.rules, now_ms).await?;
        let held = observations
            .iter()
            .flat_map(|observation| {
                let settings = self.config.rules.for_subject(&observation.subject());
                rules::conditions(observation, settings, now_ms)
            })
            .collect();
        Ok((held, observations.len()))
    }

    /// `state` is what fires now, for the page and `/metrics`.
    fn show(&self, state: AlertState) {
        self.metrics.alerts_firing(&state.firing());
        *self.state() = state;
    }

    /// Sends one notification to one webhook, retrying transient failures with backoff.
    async fn deliver(
        &self,
        webhook: &Webhook,
        notification: &Notification,
        at_ms: i64,
    ) -> Result<(), String> {
        let mut backoff = Backoff::new(BASE_DELAY, Duration::from_secs(30), Jitter::from_entropy());
        let request = notify::request(webhook.kind, notification, at_ms);
        let mut attempt = 1;
        loop {
            let mut post = self
                .client
                .post(webhook.url.expose())
                .header(reqwest::header::CONTENT_TYPE, request.content_type)
                .body(request.body.clone());
            for (name, value) in &request.headers {
                post = post.header(*name, value);
            }
            let verdict = match post.send().await {
                Ok(answer) => {
                    let retry_after = retry::asked_wait(answer.headers(), SystemTime::now());
                    let status = answer.status();
                    retry::classify(status.as_u16(), format!("answered {status}"), retry_after)
                }
                // The URL may hold a token: the error is told without it.
                Err(err) => Verdict::Retry {
                    reason: err.without_url().to_string(),
                    after: None,
                },
            };
            match verdict {
                Verdict::Delivered => return Ok(()),
                Verdict::Rejected { reason } => return Err(reason),
                Verdict::Retry { reason, after } => {
                    if attempt == ATTEMPTS {
                        return Err(format!("{reason}, after {ATTEMPTS} attempts"));
                    }
                    tracing::debug!(webhook = %notify::redacted(webhook.url.expose()), attempt, "retrying an alert: {reason}");
                    tokio::time::sleep(after.unwrap_or_else(|| backoff.next_delay())).await;
                    attempt += 1;
                }
            }
        }
    }

    /// `serve --test-alert`: one test notification to every webhook; true when each took it.
    pub async fn test(&self) -> bool {
        if self.config.webhooks.is_empty() {
            eprintln!("no webhooks: add [[alerts.webhooks]] entries to the config file");
            return false;
        }
        let now_ms = super::now_ms();
        let mut all = true;
        for webhook in &self.config.webhooks {
            let shown = notify::redacted(webhook.url.expose());
            match self.deliver(webhook, &Notification::Test, now_ms).await {
                Ok(()) => eprintln!("{shown} ({}): delivered", webhook.kind.name()),
                Err(reason) => {
                    eprintln!("{shown} ({}): not delivered: {reason}", webhook.kind.name());
                    all = false;
                }
            }
        }
        all
    }

    pub fn every(&self) -> Duration {
        self.config.evaluate_every
    }
}

/// Evaluates every `evaluate-every` until the server stops, then gives up the lease on the rounds.
/// A round the store cannot answer is skipped: a database outage is not the fleet going offline.
pub async fn watch<S: Database + AlertStore>(
    store: Arc<S>,
    alerts: Arc<Alerts>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        if let Err(err) = alerts.evaluate(&*store).await {
            tracing::warn!("alerts were not evaluated this round: {err}");
        }
        tokio::select! {
            _ = stop.changed() => break,
            _ = tokio::time::sleep(alerts.every()) => {}
        }
    }
    if let Err(err) = store.release_alert_rounds(&alerts.holder).await {
        tracing::debug!("the alert rounds' lease was not given up (it runs out): {err}");
    }
}

/// The fleet as the rules read it: each client-stats machine's newest objects, its validator view
/// and a day of its free disk; each stream node.
async fn observe<S: Database>(
    store: &S,
    book: &RuleBook,
    now_ms: i64,
) -> Result<Vec<Observation>, StoreError> {
    let mut observations = Vec::new();
    // A removed key's machines no longer report by design: they are not watched.
    let machines = store.machines(Scope::All, None).await?;
    for machine in machines.iter().filter(|machine| !machine.key_removed) {
        let newest = |process: Process| -> Option<Map<String, Value>> {
            machine
                .newest_of(process)
                .and_then(|newest| parse_object(&newest.json))
        };
        let rules = book.for_subject(&format!("{}/{}", machine.key, machine.machine));
        let in_a_row = rules[Rule::AttestationsMissed.index()].threshold.max(1.0) as u32;
        let validators = match store.validator_history(machine.id, in_a_row).await? {
            Some(history) => {
                let epochs_a_day = DAY_MS as u64 / 1000 / history.clock.seconds_per_epoch().max(1);
                let day_before = match history.last_epoch.checked_sub(epochs_a_day) {
                    Some(epoch) => store.balances_at(machine.id, epoch).await?,
                    None => Vec::new(),
                };
                Some(Box::new(ValidatorFacts {
                    history,
                    day_before,
                }))
            }
            None => None,
        };
        let disk_free = if rules[Rule::DiskForecast.index()].enabled {
            store
                .machine_series(machine.id, Process::System, now_ms - DAY_MS, now_ms, 10)
                .await?
                .iter()
                .filter_map(|object| {
                    let free = field_number(&object.to_json(), "disk_node_bytes_free")?;
                    Some((object.received_ms, free))
                })
                .collect()
        } else {
            Vec::new()
        };
        observations.push(Observation::Machine {
            validators,
            execution: store
                .execution_report(machine.id)
                .await?
                .map(|(received_ms, report)| (received_ms, Box::new(report))),
            disk_free,
            system: newest(Process::System),
            beaconnode: newest(Process::BeaconNode),
            validator: newest(Process::Validator),
            key: machine.key.clone(),
            machine: machine.machine.clone(),
            last_seen_ms: machine.last_seen_ms,
        });
    }
    for node in store.node_contacts().await? {
        observations.push(Observation::StreamNode {
            peer_id: node.peer_id,
            name: node.name,
            last_seen_ms: node.last_seen_ms,
        });
    }
    Ok(observations)
}
