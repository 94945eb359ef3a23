//! The agent: each cycle scrapes the targets concurrently, samples the host, maps and encodes, and
//! hands the payload to the sink; `run` schedules cycles and stops cleanly on SIGINT/SIGTERM.
//!
//! A target that fails costs only its own object for that cycle, with one warning naming it; the
//! system object always goes out.

use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::time::MissedTickBehavior;

use crate::Error;
use crate::config::{Config, Mode};
use crate::exposition::{Exposition, ParseError};
use crate::formats::client_stats;
use crate::host;
use crate::profiles::{self, ClientChoice, DetectError, Profile};
use crate::scrape::{ScrapeError, Scraper, Target};
use crate::sinks::http::StatsSink;
use crate::sinks::stdout;
use crate::snapshot::{BeaconSnapshot, NodeSnapshot, ValidatorSnapshot};

/// Why one target gave nothing this cycle.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error(transparent)]
    Scrape(#[from] ScrapeError),
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error(transparent)]
    Detect(#[from] DetectError),
}

/// Parses a scrape and picks its profile: the pipeline's first half, shared by the agent, tests and
/// benchmarks.
pub fn read_scrape(
    body: &[u8],
    choice: ClientChoice,
) -> Result<(&'static Profile, Exposition), TargetError> {
    let exposition = Exposition::parse(body)?;
    let profile = profiles::select(choice, &exposition)?;
    Ok((profile, exposition))
}

struct Agent {
    config: Config,
    scraper: Scraper,
}

impl Agent {
    async fn cycle(&self) -> NodeSnapshot {
        let (beacon_node, validator) = tokio::join!(
            self.scrape("beacon node", self.config.beacon_node.as_ref()),
            self.scrape("validator", self.config.validator.as_ref()),
        );
        NodeSnapshot {
            beacon_node: beacon_node.map(|(profile, exposition)| -> BeaconSnapshot {
                profiles::map_beacon_node(profile, &exposition)
            }),
            validator: validator.map(|(profile, exposition)| -> ValidatorSnapshot {
                profiles::map_validator(profile, &exposition)
            }),
            host: host::sample(&self.config.host),
        }
    }

    async fn scrape(
        &self,
        role: &'static str,
        target: Option<&Target>,
    ) -> Option<(&'static Profile, Exposition)> {
        let target = target?;
        let result = async {
            let body = self.scraper.fetch(target).await?;
            read_scrape(&body, self.config.client)
        }
        .await;
        match result {
            Ok((profile, exposition)) => {
                tracing::debug!(%target, client = %profile.client, families = exposition.len(), "scraped {role}");
                Some((profile, exposition))
            }
            Err(err) => {
                tracing::warn!(%target, "{role} scrape failed, its object is left out this cycle: {err}");
                None
            }
        }
    }

    async fn payload(&self) -> Vec<client_stats::StatsObject> {
        let snapshot = self.cycle().await;
        client_stats::encode(&snapshot, unix_millis())
    }
}

/// Runs the configured mode to its end.
pub async fn run(config: Config) -> Result<ExitCode, Error> {
    let scraper = Scraper::new(config.timeout, config.max_scrape_bytes)
        .map_err(|err| Error::Setup(format!("cannot build the HTTP client: {err}")))?;
    let sink = config
        .stats_endpoint
        .clone()
        .map(|endpoint| StatsSink::new(endpoint, config.timeout))
        .transpose()
        .map_err(|err| Error::Setup(format!("cannot build the HTTP client: {err}")))?;
    let agent = Agent { config, scraper };

    match (agent.config.mode, sink) {
        (Mode::DryRun, _) => {
            let objects = agent.payload().await;
            stdout::print(&client_stats::to_pretty(&objects)).map_err(Error::Output)?;
            Ok(ExitCode::SUCCESS)
        }
        (Mode::Once, Some(sink)) => {
            let objects = agent.payload().await;
            sink.send(client_stats::to_body(&objects)).await?;
            tracing::info!(objects = objects.len(), "client-stats accepted");
            Ok(ExitCode::SUCCESS)
        }
        (Mode::Continuous, Some(sink)) => {
            run_continuously(&agent, &sink).await?;
            Ok(ExitCode::SUCCESS)
        }
        // Config validation requires a receiver outside dry runs.
        (Mode::Once | Mode::Continuous, None) => {
            Err(Error::Config(crate::config::ConfigError::NoReceiver))
        }
    }
}

async fn run_continuously(agent: &Agent, sink: &StatsSink) -> Result<(), Error> {
    let shutdown = shutdown_signal()?;
    tokio::pin!(shutdown);
    let mut ticker = tokio::time::interval(agent.config.interval);
    // After a stall, carry on at the normal pace instead of bursting: the receiver keeps one insert
    // per process per minute anyway.
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    tracing::info!(interval = %humantime::format_duration(agent.config.interval), "started");
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            _ = ticker.tick() => {}
        }
        let cycle = async {
            let objects = agent.payload().await;
            match sink.send(client_stats::to_body(&objects)).await {
                Ok(()) => tracing::info!(objects = objects.len(), "client-stats accepted"),
                Err(err) => tracing::error!("{err}"),
            }
        };
        tokio::select! {
            () = &mut shutdown => break,
            () = cycle => {}
        }
    }
    tracing::info!("stopping on signal");
    Ok(())
}

/// Resolves on the first SIGINT or SIGTERM.
fn shutdown_signal() -> Result<impl Future<Output = ()>, Error> {
    use tokio::signal::unix::{SignalKind, signal};
    let setup = |err: std::io::Error| Error::Setup(format!("cannot listen for signals: {err}"));
    let mut interrupt = signal(SignalKind::interrupt()).map_err(setup)?;
    let mut terminate = signal(SignalKind::terminate()).map_err(setup)?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

/// Now, in Unix milliseconds. A clock set before 1970 is not a state the receiver can use either;
/// it reads as 0 rather than aborting the cycle.
fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as u64)
}
