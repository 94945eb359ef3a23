//! The command line as the user wrote it. Every setting can also come from an environment variable
//! (`NODEPULSE_*`, read by clap) or from the `--config` file; `agent/config.rs` and
//! `serve/config.rs` merge and validate them.
//! Nothing here is validated beyond its shape, so that the rules live in one place.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::Deserialize;

#[derive(Debug, Parser)]
#[command(
    name = "nodepulse",
    version = crate::VERSION,
    about = "Telemetry sidecar for blockchain nodes: scrape, map, forward."
)]
pub struct Cli {
    #[command(flatten)]
    pub log: LogArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scrape the node and forward client-stats every --interval (or once, or print them).
    Run(Box<RunArgs>),
    /// Map scrapes and report field by field, or compare with an expected payload (for CI).
    Check(Box<CheckArgs>),
    /// Receive client-stats from agents and clients' reporters, store them, answer queries.
    Serve(Box<ServeArgs>),
    /// The API keys `serve` accepts: add, list, remove.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
        /// The database `serve` uses.
        #[arg(long, global = true, env = "NODEPULSE_DATABASE", value_name = "URL")]
        database: Option<String>,
    },
    /// Print a shell completion script: nodepulse completions bash > /etc/bash_completion.d/nodepulse
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): nodepulse man > nodepulse.1
    Man,
    /// The built-in client profiles, in the format of a user's profile file (--profile).
    Profiles {
        #[command(subcommand)]
        command: ProfilesCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProfilesCommand {
    /// Every built-in profile, with the signature metrics that detect it.
    List,
    /// A built-in profile as a profile file: save it, edit it, load it with --profile.
    Show { name: String },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Make a key and print it once, alone on stdout (scripts capture it).
    Add {
        name: String,
        /// The key reads every key's machines.
        #[arg(long)]
        admin: bool,
    },
    /// Names, admin flag, created and last used; never the keys.
    List,
    /// Stop a key working at once; its data stays until retention purges it.
    Remove { name: String },
}

/// Settings of `serve`: like `run`'s, from flags, `NODEPULSE_*` variables or the `--config` file,
/// in that order.
#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    /// TOML file with the same settings (keys as the long flags, e.g. `offline-after`).
    #[arg(long, env = "NODEPULSE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Send a test notification to every alert webhook and exit: 0 when each took it, 1 if not.
    #[arg(long)]
    pub test_alert: bool,

    #[command(flatten)]
    pub settings: ServeSettings,
}

#[derive(Debug, Clone, Default, Args, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ServeSettings {
    /// Address to answer on [default: 127.0.0.1:8080].
    #[arg(long, env = "NODEPULSE_LISTEN", value_name = "ADDR")]
    pub listen: Option<String>,
    /// sqlite://FILE (created on first start; sqlite:///abs/path) or
    /// postgres://user:password@host/db [default: sqlite://nodepulse.db].
    #[arg(long, env = "NODEPULSE_DATABASE", value_name = "URL")]
    pub database: Option<String>,
    /// Objects older than this are purged [default: 31d].
    #[arg(long, env = "NODEPULSE_RETENTION", value_name = "DURATION")]
    pub retention: Option<String>,
    /// Stream messages themselves are kept this long, at most the retention; each node's
    /// minute samples, which the charts read, for the whole retention [default: 48h].
    #[arg(long, env = "NODEPULSE_RAW_WINDOW", value_name = "DURATION")]
    pub raw_window: Option<String>,
    /// How often what is past its window is purged [default: 1h].
    #[arg(long, env = "NODEPULSE_PURGE_EVERY", value_name = "DURATION")]
    pub purge_every: Option<String>,
    /// A machine with nothing newer than this is offline [default: 10m].
    #[arg(long, env = "NODEPULSE_OFFLINE_AFTER", value_name = "DURATION")]
    pub offline_after: Option<String>,
    /// Requests per second one API key may make, on average [default: 20].
    #[arg(long, env = "NODEPULSE_KEY_RATE", value_name = "N")]
    pub key_rate: Option<u32>,
    /// Requests one API key may make at once [default: 100].
    #[arg(long, env = "NODEPULSE_KEY_BURST", value_name = "N")]
    pub key_burst: Option<u32>,
    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
    #[arg(
        long,
        env = "NODEPULSE_TLS_CERT",
        value_name = "FILE",
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(
        long,
        env = "NODEPULSE_TLS_KEY",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,
    /// /metrics also carries each machine's newest numbers, labelled by key name, machine and
    /// process.
    #[arg(long, env = "NODEPULSE_FLEET_METRICS")]
    #[serde(default)]
    pub fleet_metrics: bool,
    /// Reads of stream nodes need no key (a public page); client-stats reads and `/stats/db`
    /// still do.
    #[arg(long, env = "NODEPULSE_PUBLIC_READS", help_heading = "Streams")]
    #[serde(default)]
    pub public_reads: bool,
    /// Answers carry the addresses stream nodes connect from (hidden by default).
    #[arg(long, env = "NODEPULSE_EXPOSE_NODE_IP", help_heading = "Streams")]
    #[serde(default)]
    pub expose_node_ip: bool,
    /// Connections one address may hold open, of every kind (requests and streams); past it a new
    /// one is closed at once [default: 256].
    #[arg(long, env = "NODEPULSE_MAX_HTTP_CONNECTIONS_PER_IP", value_name = "N")]
    pub max_http_connections_per_ip: Option<u32>,
    /// After SIGTERM, requests in flight get this long to finish [default: 4s].
    #[arg(long, env = "NODEPULSE_SHUTDOWN_GRACE", value_name = "DURATION")]
    pub shutdown_grace: Option<String>,
    /// A request's headers must arrive within this, and an idle kept-alive connection is closed
    /// after it [default: 20s].
    #[arg(long, env = "NODEPULSE_HEADER_TIMEOUT", value_name = "DURATION")]
    pub header_timeout: Option<String>,
    /// Reverse proxies (CIDR ranges, comma-separated) whose X-Forwarded-For or Forwarded header
    /// names the client: from them, every limit, allow list and log sees the client's address
    /// [default: none; the headers are ignored].
    #[arg(
        long,
        env = "NODEPULSE_TRUSTED_PROXIES",
        value_name = "CIDR,...",
        value_delimiter = ','
    )]
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// Only these addresses may stream to /submit and /audit: CIDR ranges, comma-separated
    /// [default: any].
    #[arg(
        long,
        env = "NODEPULSE_SUBMIT_ALLOW",
        value_name = "CIDR,...",
        value_delimiter = ',',
        help_heading = "Streams"
    )]
    #[serde(default)]
    pub submit_allow: Vec<String>,
    /// Browser pages (origins, e.g. https://example.org) that may stream to /submit and /audit;
    /// nodes send no Origin, and an upgrade that carries another is refused [default: none].
    #[arg(
        long,
        env = "NODEPULSE_SUBMIT_ORIGINS",
        value_name = "ORIGIN,...",
        value_delimiter = ',',
        help_heading = "Streams"
    )]
    #[serde(default)]
    pub submit_origins: Vec<String>,
    /// An address whose stream broke a limit (bytes per second, frame size) is refused this long
    /// [default: 10m; 0s: never].
    #[arg(
        long,
        env = "NODEPULSE_BLOCK_FOR",
        value_name = "DURATION",
        help_heading = "Streams"
    )]
    pub block_for: Option<String>,
    /// Largest stream frame; a bigger one closes its connection with 1009 [default: 512KiB].
    #[arg(
        long,
        env = "NODEPULSE_MAX_FRAME_SIZE",
        value_name = "SIZE",
        help_heading = "Streams"
    )]
    pub max_frame_size: Option<String>,
    /// Bytes per second one stream connection may send, averaged over 10 s [default: 256KiB].
    #[arg(
        long,
        env = "NODEPULSE_MAX_STREAM_RATE",
        value_name = "SIZE",
        help_heading = "Streams"
    )]
    pub max_stream_rate: Option<String>,
    /// Stream connections one address may hold open [default: 64].
    #[arg(
        long,
        env = "NODEPULSE_MAX_CONNECTIONS_PER_IP",
        value_name = "N",
        help_heading = "Streams"
    )]
    pub max_connections_per_ip: Option<u32>,
    /// A stream node silent this long is marked disconnected [default: 60s].
    #[arg(
        long,
        env = "NODEPULSE_NODE_SILENCE",
        value_name = "DURATION",
        help_heading = "Streams"
    )]
    pub node_silence: Option<String>,
    /// Stream messages written per batch at most (substrate-analytics' DB_BATCH_SIZE) [default: 1024].
    #[arg(
        long,
        env = "NODEPULSE_DB_BATCH_SIZE",
        value_name = "N",
        help_heading = "Streams"
    )]
    pub db_batch_size: Option<u32>,
    /// Longest a stream message waits for its batch (DB_SAVE_LATENCY_MS) [default: 100ms].
    #[arg(
        long,
        env = "NODEPULSE_DB_SAVE_LATENCY",
        value_name = "DURATION",
        help_heading = "Streams"
    )]
    pub db_save_latency: Option<String>,
    /// The stream bench's floor only: stream frames are read and decoded, then dropped (nothing
    /// stored, nothing computed from them), so that the bench can say what storing costs.
    #[arg(long, hide = true)]
    #[serde(skip)]
    pub bench_discard_streams: bool,
    /// Alert rules and webhooks: the config file's `[alerts]` table only.
    #[arg(skip)]
    #[serde(default)]
    pub alerts: Option<AlertSettings>,
}

/// `[alerts]`: how often rules are evaluated, how often a firing alert may be told again, each
/// rule's settings (`[alerts.rules.NAME]`), and where notifications go (`[[alerts.webhooks]]`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct AlertSettings {
    pub evaluate_every: Option<String>,
    pub repeat_interval: Option<String>,
    #[serde(default)]
    pub rules: std::collections::BTreeMap<String, AlertRuleSettings>,
    /// Changes for one key's machines: `[alerts.keys.KEY.RULE]`.
    #[serde(default)]
    pub keys:
        std::collections::BTreeMap<String, std::collections::BTreeMap<String, AlertRuleSettings>>,
    /// Changes for one machine: `[alerts.machines."KEY/MACHINE".RULE]`.
    #[serde(default)]
    pub machines:
        std::collections::BTreeMap<String, std::collections::BTreeMap<String, AlertRuleSettings>>,
    #[serde(default)]
    pub webhooks: Vec<WebhookSettings>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct AlertRuleSettings {
    pub enabled: Option<bool>,
    /// Percent for disk-free and memory-used, a count for peers.
    pub threshold: Option<f64>,
    /// Silence before offline (machine-offline, stream-node-silent); how long the condition must
    /// hold (the others).
    pub after: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct WebhookSettings {
    pub url: String,
    /// json (the default), ntfy, discord or slack.
    pub kind: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// The beacon node's metrics: http(s) URL or file path.
    #[arg(long, value_name = "TARGET", help_heading = "Targets")]
    pub beacon_node: Option<String>,
    /// The validator client's metrics: http(s) URL or file path.
    #[arg(long, value_name = "TARGET", help_heading = "Targets")]
    pub validator: Option<String>,
    /// The consensus client, or auto to detect it [default: auto].
    #[arg(long, value_name = "NAME", help_heading = "Targets")]
    pub client: Option<String>,
    /// A client profile file (TOML) adding a client or replacing the built-in one of its name;
    /// repeatable.
    #[arg(long, value_name = "FILE", help_heading = "Targets")]
    pub profile: Vec<PathBuf>,
    /// The beacon node's REST API: report which of the validator view's routes it answers.
    #[arg(long, value_name = "URL", help_heading = "Targets")]
    pub beacon_api: Option<String>,
    /// The validators to ask it about (as `run --watch-validators`).
    #[arg(long, value_name = "LIST|FILE", help_heading = "Targets")]
    pub watch_validators: Option<String>,
    /// Compare with this expected payload (JSON, timestamps ignored); exit 1 on any difference.
    #[arg(long, value_name = "FILE", help_heading = "Comparing")]
    pub expect: Option<PathBuf>,
    /// Rewrite the --expect file with what the scrapes map to.
    #[arg(long, help_heading = "Comparing")]
    pub update: bool,
    /// The report's format, without --expect.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text, help_heading = "Comparing")]
    pub format: ReportFormat,
    /// Limit for one scrape.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = humantime::parse_duration, help_heading = "Timing")]
    pub timeout: std::time::Duration,
    /// Largest scrape body accepted, after decompression.
    #[arg(long, value_name = "SIZE", default_value = "64MiB", value_parser = crate::settings::parse_size, help_heading = "Timing")]
    pub max_scrape_size: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct LogArgs {
    /// Log line format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "NODEPULSE_LOG_FORMAT", help_heading = "Logging")]
    pub log_format: LogFormat,
    /// More log detail (-v debug, -vv trace). RUST_LOG, when set, wins.
    #[arg(short, long, global = true, action = clap::ArgAction::Count, help_heading = "Logging")]
    pub verbose: u8,
    /// Only warnings and errors (-q), or only errors (-qq).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "verbose", help_heading = "Logging")]
    pub quiet: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Settings of `run`. Options are `Option` without clap defaults: a value absent here may still come
/// from the config file, and the defaults are applied after merging.
#[derive(Debug, Clone, Default, Args)]
pub struct RunArgs {
    /// One cycle: print the JSON that would be sent to stdout, send nothing.
    #[arg(long, conflicts_with = "once", help_heading = "Mode")]
    pub dry_run: bool,
    /// One cycle: send once, exit 0 when the receiver accepted it.
    #[arg(long, help_heading = "Mode")]
    pub once: bool,
    /// TOML file with the same settings (keys as the long flags, e.g. `beacon-node`).
    #[arg(long, env = "NODEPULSE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(flatten)]
    pub settings: SettingsArgs,
}

/// The settings proper. The config file holds the same keys, spelled as the long flags.
#[derive(Debug, Clone, Default, Args, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SettingsArgs {
    /// The beacon node's metrics endpoint: http(s) URL or file path.
    #[arg(
        long,
        env = "NODEPULSE_BEACON_NODE",
        value_name = "TARGET",
        help_heading = "Targets"
    )]
    pub beacon_node: Option<String>,
    /// The validator client's metrics endpoint: http(s) URL or file path.
    #[arg(
        long,
        env = "NODEPULSE_VALIDATOR",
        value_name = "TARGET",
        help_heading = "Targets"
    )]
    pub validator: Option<String>,
    /// The consensus client: auto (detect from the metrics), or a profile's name (prysm, lighthouse, teku, lodestar, grandine, nimbus, or a --profile's).
    #[arg(
        long,
        env = "NODEPULSE_CLIENT",
        value_name = "NAME",
        help_heading = "Targets"
    )]
    pub client: Option<String>,
    /// A client profile file (TOML) adding a client or replacing the built-in one of its name;
    /// repeatable (`nodepulse profiles show NAME` prints one to start from). In the environment,
    /// separate several with `;`.
    #[arg(
        long,
        env = "NODEPULSE_PROFILE",
        value_name = "FILE",
        value_delimiter = ';',
        help_heading = "Targets"
    )]
    #[serde(default)]
    pub profile: Vec<PathBuf>,
    /// The beacon node's standard REST API, for the validators' duties (e.g. http://127.0.0.1:5052).
    #[arg(
        long,
        env = "NODEPULSE_BEACON_API",
        value_name = "URL",
        help_heading = "Validators"
    )]
    pub beacon_api: Option<String>,
    /// The validators to watch: indices or 0x public keys, comma-separated, or a file with one per
    /// line.
    #[arg(
        long,
        env = "NODEPULSE_WATCH_VALIDATORS",
        value_name = "LIST|FILE",
        help_heading = "Validators"
    )]
    pub watch_validators: Option<String>,
    /// Series per watched validator on --listen's /metrics (balance, attested) [default: false:
    /// counts by status and outcome only, so that thousands of validators cost no thousands of series].
    #[arg(
        long,
        env = "NODEPULSE_PER_VALIDATOR_METRICS",
        value_name = "BOOL",
        help_heading = "Validators"
    )]
    pub per_validator_metrics: Option<bool>,
    /// The execution client's JSON-RPC, for its sync state, head and peers (e.g. http://127.0.0.1:8545).
    #[arg(
        long,
        env = "NODEPULSE_EXECUTION_RPC",
        value_name = "URL",
        help_heading = "Validators"
    )]
    pub execution_rpc: Option<String>,
    /// A Starknet node's JSON-RPC endpoint (Juno, Pathfinder, Madara, Papyrus).
    #[arg(
        long,
        env = "NODEPULSE_STARKNET_RPC",
        value_name = "URL",
        help_heading = "Targets"
    )]
    pub starknet_rpc: Option<String>,
    /// A Substrate node's JSON-RPC endpoint.
    #[arg(
        long,
        env = "NODEPULSE_SUBSTRATE_RPC",
        value_name = "URL",
        help_heading = "Targets"
    )]
    pub substrate_rpc: Option<String>,
    /// That node's Prometheus metrics endpoint (URL or file), for what only metrics carry.
    #[arg(
        long,
        env = "NODEPULSE_NODE",
        value_name = "TARGET",
        help_heading = "Targets"
    )]
    pub node: Option<String>,
    /// The node's name in telemetry [default: the host name].
    #[arg(
        long,
        env = "NODEPULSE_NODE_NAME",
        value_name = "NAME",
        help_heading = "Targets"
    )]
    pub node_name: Option<String>,
    /// The node's data directory: its filesystem's size and free space are reported [default: /].
    #[arg(
        long,
        env = "NODEPULSE_DATA_DIR",
        value_name = "PATH",
        help_heading = "Targets"
    )]
    pub data_dir: Option<PathBuf>,
    /// Where procfs is mounted (a container reading its host's /proc) [default: /proc].
    #[arg(
        long,
        env = "NODEPULSE_PROCFS",
        value_name = "PATH",
        help_heading = "Targets"
    )]
    pub procfs: Option<PathBuf>,

    /// Full client-stats URL, e.g. https://beaconcha.in/api/v1/stats/KEY/MACHINE.
    #[arg(
        long,
        env = "NODEPULSE_STATS_ENDPOINT",
        value_name = "URL",
        hide_env_values = true,
        help_heading = "Receivers"
    )]
    pub stats_endpoint: Option<String>,
    /// beaconcha.in API key (with --machine, instead of --stats-endpoint).
    #[arg(
        long,
        env = "NODEPULSE_API_KEY",
        value_name = "KEY",
        hide_env_values = true,
        help_heading = "Receivers"
    )]
    pub api_key: Option<String>,
    /// Machine name shown on beaconcha.in (with --api-key).
    #[arg(
        long,
        env = "NODEPULSE_MACHINE",
        value_name = "NAME",
        help_heading = "Receivers"
    )]
    pub machine: Option<String>,
    /// Base URL for --api-key/--machine [default: https://beaconcha.in].
    #[arg(
        long,
        env = "NODEPULSE_STATS_BASE_URL",
        value_name = "URL",
        help_heading = "Receivers"
    )]
    pub stats_base_url: Option<String>,
    /// Send each process at most once per wall-clock minute, as beaconcha.in keeps only one [default: true].
    #[arg(
        long,
        env = "NODEPULSE_STATS_MINUTE_LIMIT",
        value_name = "BOOL",
        help_heading = "Receivers"
    )]
    pub stats_minute_limit: Option<bool>,
    /// Prometheus Pushgateway base URL: each cycle replaces the group job/JOB/instance/INSTANCE.
    #[arg(
        long,
        env = "NODEPULSE_PUSHGATEWAY",
        value_name = "URL",
        help_heading = "Receivers"
    )]
    pub pushgateway: Option<String>,
    /// Pushgateway `job` grouping label [default: nodepulse].
    #[arg(
        long,
        env = "NODEPULSE_PUSH_JOB",
        value_name = "NAME",
        help_heading = "Receivers"
    )]
    pub push_job: Option<String>,
    /// Pushgateway `instance` grouping label [default: the host name].
    #[arg(
        long,
        env = "NODEPULSE_PUSH_INSTANCE",
        value_name = "NAME",
        help_heading = "Receivers"
    )]
    pub push_instance: Option<String>,
    /// Push only the families whose whole name matches this regex [default: all].
    #[arg(
        long,
        env = "NODEPULSE_PUSH_INCLUDE",
        value_name = "REGEX",
        help_heading = "Receivers"
    )]
    pub push_include: Option<String>,
    /// Pushgateway basic-auth user name.
    #[arg(
        long,
        env = "NODEPULSE_PUSHGATEWAY_USER",
        value_name = "NAME",
        help_heading = "Receivers"
    )]
    pub pushgateway_user: Option<String>,
    /// Pushgateway basic-auth password (better given by the environment than on the command line).
    #[arg(
        long,
        env = "NODEPULSE_PUSHGATEWAY_PASSWORD",
        value_name = "PASSWORD",
        hide_env_values = true,
        help_heading = "Receivers"
    )]
    pub pushgateway_password: Option<String>,
    /// WebSocket telemetry endpoint 'URL VERBOSITY' (verbosity 0-9), repeatable; in the environment,
    /// separate several with `;`.
    #[arg(
        long = "telemetry-url",
        env = "NODEPULSE_TELEMETRY_URL",
        value_name = "'URL VERBOSITY'",
        value_delimiter = ';',
        help_heading = "Receivers"
    )]
    #[serde(default)]
    pub telemetry_url: Vec<String>,
    /// Telemetry stream format: starknet or substrate [default: substrate with --substrate-rpc, else starknet].
    #[arg(
        long,
        env = "NODEPULSE_TELEMETRY_FORMAT",
        value_name = "FORMAT",
        help_heading = "Receivers"
    )]
    pub telemetry_format: Option<String>,
    /// Serve the agent's own /metrics and /healthz on this address while `run` loops, e.g. 127.0.0.1:9101 [default: off].
    #[arg(
        long,
        env = "NODEPULSE_LISTEN",
        value_name = "ADDR",
        help_heading = "Receivers"
    )]
    pub listen: Option<String>,

    /// Time between cycles, e.g. 90s or 2m [default: 90s].
    #[arg(
        long,
        env = "NODEPULSE_INTERVAL",
        value_name = "DURATION",
        help_heading = "Timing"
    )]
    pub interval: Option<String>,
    /// Limit for one scrape or one send, e.g. 10s [default: 10s].
    #[arg(
        long,
        env = "NODEPULSE_TIMEOUT",
        value_name = "DURATION",
        help_heading = "Timing"
    )]
    pub timeout: Option<String>,
    /// Largest scrape body accepted, after decompression, e.g. 64MiB [default: 64MiB].
    #[arg(
        long,
        env = "NODEPULSE_MAX_SCRAPE_SIZE",
        value_name = "SIZE",
        help_heading = "Timing"
    )]
    pub max_scrape_size: Option<String>,
}
