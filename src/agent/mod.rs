//! The agent: each cycle scrapes the targets concurrently, samples the host and maps them into a
//! `Cycle`, which every sink (each its own task) takes from a newest-wins channel; `run` schedules
//! cycles and stops cleanly on SIGINT/SIGTERM.
//!
//! A target that fails costs only its own object for that cycle, with one warning naming it; the
//! system object always goes out.

pub mod beacon;
pub mod check;
pub mod config;
pub mod duties;
pub mod execution;
pub mod host;
pub mod listen;
pub mod nodes;
pub mod profiles;
pub mod rpc;
pub mod scrape;
pub mod sinks;
pub mod telemetry;

use std::fmt;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use crate::Error;
use crate::service;
use crate::stdout;
use crate::wire::client_stats;
use crate::wire::execution::ExecutionReport;
use crate::wire::exposition::{Exposition, NameFilter};
use crate::wire::snapshot::{ChainNode, NodeSnapshot};
use crate::wire::telemetry::{Format, Rates, Session};
use crate::wire::validators::EpochReport;
use beacon::BeaconApi;
use config::{Config, Mode};
use duties::{DutyWatcher, When};
use profiles::{DetectError, Profile};
use rpc::RpcClient;
use scrape::{ScrapeError, Scraper, Target};
use sinks::pushgateway::PushSink;
use sinks::reports::ReportSink;
use sinks::stats::StatsSink;
use sinks::websocket::{self, StreamSettings};
use sinks::{DeliveryError, Sink, Until, deliver};
use telemetry::Telemetry;

/// How long an in-flight send may finish after SIGTERM: a healthy receiver answers in well under a
/// second, and systemd's stop timeout (90 s by default) is never approached.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// The part a scraped process plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    BeaconNode,
    Validator,
    /// A Starknet or Substrate node's metrics (`--node`).
    Node,
}

impl Role {
    /// The `target` label in metrics and pushes.
    pub fn label(self) -> &'static str {
        match self {
            Role::BeaconNode => "beacon-node",
            Role::Validator => "validator",
            Role::Node => "node",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::BeaconNode => "beacon node",
            Role::Validator => "validator",
            Role::Node => "node",
        })
    }
}

/// One target's scrape this cycle, kept for sinks that forward raw series.
#[derive(Debug)]
pub struct TargetScrape {
    pub role: Role,
    /// `None` when the target could not be scraped.
    pub exposition: Option<Exposition>,
}

/// Everything one cycle produced.
#[derive(Debug)]
pub struct Cycle {
    /// When the cycle's scrapes finished, Unix milliseconds.
    pub timestamp_ms: u64,
    pub snapshot: NodeSnapshot,
    /// The configured targets' scrapes; empty unless a sink forwards raw series.
    pub scrapes: Vec<TargetScrape>,
    /// The epoch the watched validators' report became due in this cycle, if one did.
    pub validators: Option<EpochReport>,
    pub execution: Option<ExecutionReport>,
}

/// Why one target gave nothing this cycle.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error(transparent)]
    Scrape(#[from] ScrapeError),
    #[error(transparent)]
    Detect(#[from] DetectError),
}

struct Agent {
    config: Config,
    scraper: Scraper,
    /// The series the profiles read; `None` when a sink forwards whole scrapes.
    wanted: Option<NameFilter>,
    chain_rpc: Option<RpcClient>,
    /// Remembers which client the Starknet node is.
    starknet: nodes::starknet::Observer,
    duties: Option<DutyWatcher>,
    execution_rpc: Option<RpcClient>,
    telemetry: Arc<Telemetry>,
}

impl Agent {
    async fn cycle(&self) -> Cycle {
        let (beacon_node, validator, (chain_node, node_metrics), validators, execution) = tokio::join!(
            self.scrape(Role::BeaconNode, self.config.beacon_node.as_ref()),
            self.scrape(Role::Validator, self.config.validator.as_ref()),
            self.chain_node(),
            self.validators(),
            self.execution(),
        );
        let snapshot = NodeSnapshot {
            beacon_node: beacon_node
                .as_ref()
                .map(|(profile, exposition)| profiles::map_beacon_node(profile, exposition)),
            validator: validator
                .as_ref()
                .map(|(profile, exposition)| profiles::map_validator(profile, exposition)),
            chain_node,
            host: host::sample(&self.config.host),
        };
        // Only the Pushgateway forwards raw series; otherwise a scrape is dropped once mapped.
        let mut scrapes = Vec::new();
        if self.config.pushgateway.is_some() {
            let configured = [
                (
                    Role::BeaconNode,
                    self.config.beacon_node.is_some(),
                    beacon_node.map(|(_, e)| e),
                ),
                (
                    Role::Validator,
                    self.config.validator.is_some(),
                    validator.map(|(_, e)| e),
                ),
                (Role::Node, self.config.node.is_some(), node_metrics),
            ];
            for (role, is_configured, exposition) in configured {
                if is_configured {
                    scrapes.push(TargetScrape { role, exposition });
                }
            }
        }
        Cycle {
            timestamp_ms: crate::unix_millis(SystemTime::now()),
            snapshot,
            scrapes,
            validators,
            execution,
        }
    }

    async fn execution(&self) -> Option<ExecutionReport> {
        let rpc = self.execution_rpc.as_ref()?;
        let observed = execution::observe(rpc, SystemTime::now()).await;
        self.telemetry
            .execution_observed(&rpc.to_string(), &observed);
        observed.ok()
    }

    /// The watched validators' report, when an epoch became due.
    async fn validators(&self) -> Option<EpochReport> {
        let watcher = self.duties.as_ref()?;
        let when = match self.config.mode {
            Mode::DryRun => When::Now,
            Mode::Once | Mode::Continuous => When::Due,
        };
        match watcher.observe(SystemTime::now(), when).await {
            Ok(Some(report)) => {
                self.telemetry
                    .epoch_reported(&report, self.config.per_validator_metrics);
                Some(report)
            }
            Ok(None) => None,
            Err(err) => {
                self.telemetry
                    .beacon_api_failed(&watcher.api().to_string(), &err);
                None
            }
        }
    }

    /// The Starknet or Substrate node, from its JSON-RPC and its metrics; and the metrics scrape.
    async fn chain_node(&self) -> (Option<ChainNode>, Option<Exposition>) {
        let metrics = self.scrape_node_metrics().await;
        let format = self.config.telemetry_format;
        let node = match &self.chain_rpc {
            Some(rpc) => {
                let observed = match format {
                    Format::Starknet => self.starknet.observe(rpc, metrics.as_ref()).await,
                    Format::Substrate => nodes::substrate::observe(rpc, metrics.as_ref()).await,
                };
                match observed {
                    Ok(node) => Some(node),
                    Err(err) => {
                        tracing::warn!(rpc = %rpc, "node JSON-RPC failed, using its metrics alone this cycle: {err}");
                        metrics.as_ref().map(|m| nodes::from_metrics(format, m))
                    }
                }
            }
            None => metrics.as_ref().map(|m| nodes::from_metrics(format, m)),
        };
        (node, metrics)
    }

    async fn scrape_node_metrics(&self) -> Option<Exposition> {
        let target = self.config.node.as_ref()?;
        self.scrape_and_read(Role::Node, target, None, |_| Ok(()))
            .await
            .map(|((), exposition)| exposition)
    }

    async fn scrape(
        &self,
        role: Role,
        target: Option<&Target>,
    ) -> Option<(Arc<Profile>, Exposition)> {
        let target = target?;
        let (choice, profiles) = (&self.config.client, &self.config.profiles);
        let (profile, exposition) = self
            .scrape_and_read(role, target, self.wanted.as_ref(), |exposition| {
                Ok(profiles.select(choice, exposition)?)
            })
            .await?;
        let client = &profile.client_name;
        tracing::debug!(%target, %client, "{role} is {client}");
        Some((profile, exposition))
    }

    /// Scrapes `target` (the `wanted` series, or all) and reads what is needed of it with `read`,
    /// recording how long it took and how it went; `None` when either step failed.
    async fn scrape_and_read<T>(
        &self,
        role: Role,
        target: &Target,
        wanted: Option<&NameFilter>,
        read: impl FnOnce(&Exposition) -> Result<T, TargetError>,
    ) -> Option<(T, Exposition)> {
        let started = Instant::now();
        let result = match self.scraper.scrape(target, wanted).await {
            Ok(exposition) => read(&exposition).map(|value| (value, exposition)),
            Err(err) => Err(err.into()),
        };
        let took = started.elapsed();
        match result {
            Ok((value, exposition)) => {
                self.telemetry
                    .scrape_succeeded(role, target, took, &exposition);
                Some((value, exposition))
            }
            Err(err) => {
                self.telemetry.scrape_failed(role, target, took, &err);
                None
            }
        }
    }
}

/// Runs the configured mode to its end.
pub async fn run(config: Config) -> Result<ExitCode, Error> {
    let scraper = Scraper::new(config.timeout, config.max_scrape_bytes)?;
    let chain_rpc = config
        .chain_rpc
        .clone()
        .map(|url| RpcClient::new(url, config.timeout))
        .transpose()?;
    let duties = match &config.validators {
        Some(watch) => Some(DutyWatcher::new(
            BeaconApi::new(watch.beacon_api.clone(), config.timeout)?,
            watch.watched.clone(),
        )),
        None => None,
    };
    let execution_rpc = config
        .execution_rpc
        .clone()
        .map(|url| RpcClient::new(url, config.timeout))
        .transpose()?;
    let telemetry = Arc::new(Telemetry::new(config.interval));
    let wanted = config
        .pushgateway
        .is_none()
        .then(|| config.profiles.wanted(&config.client));
    let agent = Agent {
        config,
        scraper,
        wanted,
        chain_rpc,
        starknet: nodes::starknet::Observer::default(),
        duties,
        execution_rpc,
        telemetry,
    };
    match agent.config.mode {
        Mode::DryRun => {
            let cycle = agent.cycle().await;
            stdout::print(&dry_run_output(&agent.config, &cycle)).map_err(Error::Output)?;
            Ok(ExitCode::SUCCESS)
        }
        Mode::Once => run_once(&agent).await,
        Mode::Continuous => run_continuously(&agent).await,
    }
}

/// The channels between the agent and its sink tasks.
struct Sinks {
    cycles: watch::Sender<Option<Arc<Cycle>>>,
    stop: watch::Sender<bool>,
    /// Each task with its sink's name in health and logs.
    tasks: Vec<(String, JoinHandle<Result<(), DeliveryError>>)>,
}

impl Sinks {
    fn start(agent: &Agent, until: Until) -> Result<Sinks, Error> {
        let (cycles, cycles_rx) = watch::channel(None);
        let (stop, stop_rx) = watch::channel(false);
        let mut sinks = Sinks {
            cycles,
            stop,
            tasks: Vec::new(),
        };
        let config = &agent.config;
        if let Some(endpoint) = &config.stats_endpoint {
            let sink = StatsSink::new(
                endpoint.clone(),
                config.timeout,
                config.stats_one_per_minute,
            )?;
            sinks.spawn(sink, agent, &cycles_rx, &stop_rx, until);
        }
        if let Some(routes) = &config.reports {
            let sink = ReportSink::new(routes.clone(), config.timeout)?;
            sinks.spawn(sink, agent, &cycles_rx, &stop_rx, until);
        } else if config.validators.is_some() || config.execution_rpc.is_some() {
            tracing::info!(
                "the validator view goes to --listen's /metrics only: its reports go to a nodepulse serve named by --stats-base-url, --api-key and --machine"
            );
        }
        if let Some(target) = &config.pushgateway {
            let sink = PushSink::new(target.clone(), config.timeout, Arc::clone(&agent.telemetry))?;
            sinks.spawn(sink, agent, &cycles_rx, &stop_rx, until);
        }
        for endpoint in &config.telemetry {
            let settings = StreamSettings {
                endpoint: endpoint.clone(),
                format: config.telemetry_format,
                node_name: config.node_name.clone(),
                timeout: config.timeout,
            };
            let task = tokio::spawn(websocket::stream(
                settings,
                cycles_rx.clone(),
                stop_rx.clone(),
                Arc::clone(&agent.telemetry),
                until,
            ));
            sinks
                .tasks
                .push((telemetry::stream_sink(&endpoint.to_string()), task));
        }
        Ok(sinks)
    }

    fn spawn<S: Sink>(
        &mut self,
        sink: S,
        agent: &Agent,
        cycles: &watch::Receiver<Option<Arc<Cycle>>>,
        stop: &watch::Receiver<bool>,
        until: Until,
    ) {
        let name = sink.name();
        let task = tokio::spawn(deliver(
            sink,
            cycles.clone(),
            stop.clone(),
            Arc::clone(&agent.telemetry),
            agent.config.interval,
            until,
        ));
        self.tasks.push((name.to_owned(), task));
    }

    /// Hands every sink the newest cycle, replacing one they have not sent yet.
    fn publish(&self, cycle: Cycle) {
        self.cycles.send_replace(Some(Arc::new(cycle)));
    }
}

/// One cycle, delivered by every sink: retried for up to one interval, exit 0 once all accepted.
async fn run_once(agent: &Agent) -> Result<ExitCode, Error> {
    let sinks = Sinks::start(agent, Until::Settled)?;
    let cycle = agent.cycle().await;
    let give_up = Instant::now() + agent.config.interval;
    sinks.publish(cycle);
    let mut failures = Vec::new();
    for (name, task) in sinks.tasks {
        let outcome = match tokio::time::timeout_at(give_up, task).await {
            Ok(Ok(result)) => result,
            Ok(Err(join_error)) => Err(DeliveryError {
                sink: name.clone(),
                reason: format!("the delivery task failed: {join_error}"),
            }),
            Err(_) => Err(DeliveryError {
                sink: name.clone(),
                reason: format!(
                    "gave up after {}: {}",
                    humantime::format_duration(agent.config.interval),
                    agent
                        .telemetry
                        .last_failure(&name)
                        .unwrap_or_else(|| "no answer".into())
                ),
            }),
        };
        match outcome {
            Ok(()) => tracing::info!(sink = name, "accepted"),
            Err(err) => failures.push(err),
        }
    }
    if failures.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(Error::Delivery(failures))
    }
}

async fn run_continuously(agent: &Agent) -> Result<ExitCode, Error> {
    let shutdown = service::shutdown_signal()?;
    tokio::pin!(shutdown);
    let sinks = Sinks::start(agent, Until::Shutdown)?;
    if let Some(addr) = agent.config.listen {
        // Bound before the first cycle: a port in use is an error at start-up, not a log line later.
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|err| Error::Setup(format!("--listen {addr}: {err}")))?;
        tokio::spawn(listen::serve(
            listener,
            Arc::clone(&agent.telemetry),
            sinks.stop.subscribe(),
        ));
        tracing::info!(%addr, "serving /metrics and /healthz");
    }
    let watchdog = tokio::spawn(service::watchdog());
    service::ready();
    let mut ticker = tokio::time::interval(agent.config.interval);
    // After a stall, carry on at the normal pace instead of bursting.
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    tracing::info!(interval = %humantime::format_duration(agent.config.interval), "started");
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            _ = ticker.tick() => {}
        }
        tokio::select! {
            () = &mut shutdown => break,
            cycle = agent.cycle() => sinks.publish(cycle),
        }
    }
    tracing::info!("stopping on signal");
    service::stopping();
    watchdog.abort();
    let _ = sinks.stop.send(true);
    let grace_ends = Instant::now() + SHUTDOWN_GRACE;
    for (name, mut task) in sinks.tasks {
        if tokio::time::timeout_at(grace_ends, &mut task)
            .await
            .is_err()
        {
            tracing::warn!(
                sink = name,
                "send still in flight after the grace period; abandoned"
            );
            task.abort();
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// What `--dry-run` prints: the telemetry frames a new connection would get when a telemetry
/// stream or a Starknet/Substrate node is configured; with `--beacon-api` or `--execution-rpc`, an
/// object of the client-stats array and the validator and execution reports; the client-stats
/// array otherwise.
fn dry_run_output(config: &Config, cycle: &Cycle) -> String {
    let streams =
        !config.telemetry.is_empty() || config.chain_rpc.is_some() || config.node.is_some();
    if config.validators.is_some() || config.execution_rpc.is_some() {
        if config.validators.is_some() && cycle.validators.is_none() {
            tracing::warn!(
                "no validator report: the beacon API did not answer for a finished epoch"
            );
        }
        let bodies = serde_json::json!({
            "client_stats": client_stats::encode(&cycle.snapshot, cycle.timestamp_ms),
            "validators": cycle.validators,
            "execution": cycle.execution,
        });
        return serde_json::to_string_pretty(&bodies).unwrap_or_default();
    }
    if !streams {
        let objects = client_stats::encode(&cycle.snapshot, cycle.timestamp_ms);
        return client_stats::to_pretty(&objects);
    }
    let mut session = Session::new(config.telemetry_format, &config.node_name);
    let frames: Vec<serde_json::Value> = session
        .frames(
            &cycle.snapshot,
            &Rates::default(),
            SystemTime::now(),
            cycle.timestamp_ms,
        )
        .iter()
        .filter_map(|frame| serde_json::from_str(frame).ok())
        .collect();
    if frames.is_empty() {
        tracing::warn!(
            "no telemetry frame yet: Substrate servers need the genesis hash, which only --substrate-rpc gives"
        );
    }
    serde_json::to_string_pretty(&frames).unwrap_or_default()
}
