//! nodepulse: telemetry for blockchain nodes, in two halves that meet at the wire formats.
//!
//! - `agent` (`run`, `check`): scrape -> profiles -> snapshot (+ host) -> `wire` encoders -> sinks.
//! - `serve`: ingest -> `wire` decoders -> store -> queries.
//!
//! `wire` is pure; the rest of this level is plumbing both halves share.

pub mod agent;
pub mod cli;
pub mod http;
pub mod logging;
pub mod retry;
pub mod secret;
pub mod serve;
pub mod service;
pub mod settings;
pub mod stdout;
pub mod wire;

use std::process::ExitCode;

use agent::config::Config;
use agent::sinks::DeliveryError;
use cli::{Cli, Command};
use settings::ConfigError;

/// Sent with every request, so receivers and node operators can tell who is calling.
pub const USER_AGENT: &str = concat!("nodepulse/", env!("CARGO_PKG_VERSION"));

/// `--version`: the release and the commit it was built from (set by build.rs).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("NODEPULSE_GIT_COMMIT"),
    ")"
);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Delivery(Vec<DeliveryError>),
    #[error("{0}")]
    Setup(String),
    #[error("cannot write to stdout: {0}")]
    Output(std::io::Error),
    #[error("{0}")]
    Check(String),
}

impl Error {
    /// 2 for a command line or configuration the user must fix, 1 for a failure at run time.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Config(_) => 2,
            Error::Delivery(_) | Error::Setup(_) | Error::Output(_) | Error::Check(_) => 1,
        }
    }
}

/// The HTTP client every outgoing request uses: our User-Agent, and `timeout` over each whole
/// exchange.
pub(crate) fn http_client(timeout: std::time::Duration) -> Result<reqwest::Client, Error> {
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .timeout(timeout)
        // Node.js servers (Lodestar's REST API among them) close a kept-alive connection after 5 s
        // idle; one reused just then fails its request. Idle connections are dropped before.
        .pool_idle_timeout(std::time::Duration::from_secs(4))
        .build()
        .map_err(|err| Error::Setup(format!("cannot build the HTTP client: {err}")))
}

/// `at` in Unix milliseconds. A clock set before 1970 is not a state a receiver can use either; it
/// reads as 0 rather than failing.
pub(crate) fn unix_millis(at: std::time::SystemTime) -> u64 {
    at.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as u64)
}

/// Runs a parsed command line to its end.
pub fn run(cli: Cli) -> Result<ExitCode, Error> {
    // One TLS crypto provider for every command and every client (reqwest, the WebSocket stream,
    // serve's listener and webhooks, PostgreSQL): rustls panics at the first connection if
    // several are linked and none is the default. Installed once, before anything connects.
    let _ = rustls::crypto::ring::default_provider().install_default();
    match cli.command {
        Command::Run(args) => {
            let config = Config::load(&args)?;
            runtime()?.block_on(agent::run(config))
        }
        Command::Check(args) => runtime()?.block_on(agent::check::run(*args)),
        Command::Serve(args) => {
            let config = serve::config::ServeConfig::load(&args)?;
            if args.test_alert {
                return runtime()?.block_on(serve::test_alert(config));
            }
            server_runtime()?.block_on(serve::run(config))
        }
        Command::Keys { command, database } => {
            runtime()?.block_on(serve::manage_keys(command, database))
        }
        Command::Completions { shell } => {
            // Generated whole, then written: `nodepulse completions fish | head` is not an error.
            let mut command = <Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut command, "nodepulse", &mut script);
            stdout::write(&script).map_err(Error::Output)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Profiles { command } => profiles_command(command),
        Command::Man => {
            let command = <Cli as clap::CommandFactory>::command();
            let mut page = Vec::new();
            clap_mangen::Man::new(command)
                .render(&mut page)
                .map_err(Error::Output)?;
            stdout::write(&page).map_err(Error::Output)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `nodepulse profiles list|show NAME`.
fn profiles_command(command: cli::ProfilesCommand) -> Result<ExitCode, Error> {
    let text = match command {
        cli::ProfilesCommand::List => {
            let builtin = agent::profiles::Profiles::builtin();
            let lines: Vec<String> = builtin
                .iter()
                .map(|profile| {
                    let signatures: Vec<String> =
                        profile.detect.iter().map(ToString::to_string).collect();
                    format!(
                        "{:<12} detected by {}",
                        profile.client_name,
                        signatures.join(", ")
                    )
                })
                .collect();
            lines.join("\n")
        }
        cli::ProfilesCommand::Show { name } => agent::profiles::builtin_text(&name)
            .ok_or_else(|| ConfigError::UnknownProfile {
                known: agent::profiles::builtin_names()
                    .collect::<Vec<_>>()
                    .join(", "),
                name,
            })?
            .trim_end()
            .to_owned(),
    };
    stdout::print(&text).map_err(Error::Output)?;
    Ok(ExitCode::SUCCESS)
}

/// A server uses every core.
fn server_runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|err| Error::Setup(format!("cannot start the runtime: {err}")))
}

/// One thread is plenty for a sidecar that waits on the network most of the time.
fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| Error::Setup(format!("cannot start the runtime: {err}")))
}
