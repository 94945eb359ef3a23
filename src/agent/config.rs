//! From what the user wrote to a validated `Config`, in two stages.
//!
//! Stage one merges the raw settings: flags (clap has already put environment variables in where a
//! flag was not given) beat the config file, which beats the defaults. Stage two checks every value
//! and turns it into its real type: targets, URLs, durations, sizes, the API key as a `Secret`.
//! Every rejection names the flag (and so the env variable and file key) at fault.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use regex::Regex;
use reqwest::Url;

use crate::agent::duties::ValidatorId;
use crate::agent::host::HostSource;
use crate::agent::profiles::{ClientChoice, Profiles};
use crate::agent::scrape::Target;
use crate::agent::sinks::pushgateway::PushTarget;
use crate::agent::sinks::reports::ReportRoutes;
use crate::agent::sinks::websocket::TelemetryEndpoint;
use crate::cli::{RunArgs, SettingsArgs};
use crate::secret::{Secret, SensitiveUrl};
use crate::settings::{ConfigError, duration, invalid, parse_size, read_file};
use crate::wire::telemetry::Format;

/// beaconcha.in takes one insert per process per wall-clock minute, and free accounts have a
/// monthly request budget that a 60 s cadence exhausts (Prysm moved to 120 s for that reason).
const DEFAULT_INTERVAL: Duration = Duration::from_secs(90);
/// Long enough for a busy node's large scrape, short enough to keep a cycle well inside the interval.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Real consensus-client scrapes are 100 KB to a few MB; 64 MiB leaves room for the largest while
/// bounding what a broken or hostile target can make us hold.
const DEFAULT_MAX_SCRAPE_BYTES: u64 = 64 * 1024 * 1024;
const DEFAULT_STATS_BASE_URL: &str = "https://beaconcha.in";
const DEFAULT_PUSH_JOB: &str = "nodepulse";
const DEFAULT_PROCFS: &str = "/proc";

/// What one `run` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One cycle, print the payloads, send nothing.
    DryRun,
    /// One cycle, send once.
    Once,
    /// A cycle every interval until a signal.
    Continuous,
}

/// The validated configuration of `run`.
#[derive(Debug, Clone)]
pub struct Config {
    pub mode: Mode,
    pub beacon_node: Option<Target>,
    pub validator: Option<Target>,
    pub client: ClientChoice,
    /// The built-in profiles and the user's.
    pub profiles: Arc<Profiles>,
    pub host: HostSource,
    pub stats_endpoint: Option<SensitiveUrl>,
    /// Hold a process's next client-stats object until the next wall-clock minute.
    pub stats_one_per_minute: bool,
    pub pushgateway: Option<PushTarget>,
    /// Where to serve the agent's own /metrics and /healthz.
    pub listen: Option<SocketAddr>,
    pub telemetry: Vec<TelemetryEndpoint>,
    pub telemetry_format: Format,
    pub chain_rpc: Option<Url>,
    /// The beacon API and the validators watched through it.
    pub validators: Option<ValidatorWatch>,
    /// Series per validator on /metrics, besides the counts.
    pub per_validator_metrics: bool,
    /// The execution client's JSON-RPC.
    pub execution_rpc: Option<Url>,
    /// Where the validator view's reports go: a nodepulse serve, never beaconcha.in.
    pub reports: Option<ReportRoutes>,
    /// A Starknet or Substrate node's metrics.
    pub node: Option<Target>,
    pub node_name: String,
    pub interval: Duration,
    pub timeout: Duration,
    pub max_scrape_bytes: u64,
}

impl Config {
    /// Reads the config file (if any) and the host name, merges, and validates.
    pub fn load(args: &RunArgs) -> Result<Config, ConfigError> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => SettingsArgs::default(),
        };
        let settings = args.settings.clone().or(file);
        let procfs = settings
            .procfs
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_PROCFS));
        let hostname = std::fs::read_to_string(procfs.join("sys/kernel/hostname"))
            .ok()
            .map(|name| name.trim().to_owned())
            .filter(|name| !name.is_empty());
        let profiles = Profiles::with_files(&settings.profile)?;
        Config::from_settings(args, settings, hostname.as_deref(), profiles)
    }

    /// Validates merged settings. No I/O: the host name (the default Pushgateway instance) and the
    /// profiles (built in, and read from the `--profile` files) are given.
    pub fn from_settings(
        args: &RunArgs,
        settings: SettingsArgs,
        hostname: Option<&str>,
        profiles: Profiles,
    ) -> Result<Config, ConfigError> {
        let mode = if args.dry_run {
            Mode::DryRun
        } else if args.once {
            Mode::Once
        } else {
            Mode::Continuous
        };
        let target = |flag, text: Option<String>| {
            text.map(|text| Target::parse(&text).map_err(|reason| invalid(flag, reason)))
                .transpose()
        };
        let stats_endpoint = stats_endpoint(&settings)?;
        let pushgateway = pushgateway(&settings, hostname)?;
        let telemetry = settings
            .telemetry_url
            .iter()
            .map(|text| {
                TelemetryEndpoint::parse(text).map_err(|reason| invalid("telemetry-url", reason))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let (telemetry_format, chain_rpc) = chain_source(&settings)?;
        let validators = validator_watch(
            settings.beacon_api.as_deref(),
            settings.watch_validators.as_deref(),
        )?;
        let execution_rpc = settings
            .execution_rpc
            .as_deref()
            .map(|url| http_url("execution-rpc", url).map(|url| url.expose().clone()))
            .transpose()?;
        let listen = settings
            .listen
            .as_deref()
            .map(|text| {
                text.parse::<SocketAddr>().map_err(|_| {
                    invalid(
                        "listen",
                        format!("`{text}` is not an address like 127.0.0.1:9101"),
                    )
                })
            })
            .transpose()?;
        let reports = if validators.is_some() || execution_rpc.is_some() {
            report_routes(&settings)?
        } else {
            None
        };
        // The validator view has receivers of its own: a nodepulse serve, and the operator's
        // Prometheus at --listen.
        let has_own_receiver = (validators.is_some() || execution_rpc.is_some())
            && (listen.is_some() || reports.is_some());
        if stats_endpoint.is_none()
            && pushgateway.is_none()
            && telemetry.is_empty()
            && !has_own_receiver
            && mode != Mode::DryRun
        {
            return Err(ConfigError::NoReceiver);
        }
        Ok(Config {
            mode,
            per_validator_metrics: settings.per_validator_metrics.unwrap_or(false),
            validators,
            execution_rpc,
            reports,
            beacon_node: target("beacon-node", settings.beacon_node)?,
            validator: target("validator", settings.validator)?,
            client: client_choice(settings.client.as_deref(), &profiles)?,
            profiles: Arc::new(profiles),
            host: HostSource {
                procfs: settings
                    .procfs
                    .unwrap_or_else(|| PathBuf::from(DEFAULT_PROCFS)),
                data_dir: settings.data_dir.unwrap_or_else(|| PathBuf::from("/")),
            },
            stats_endpoint,
            stats_one_per_minute: settings.stats_minute_limit.unwrap_or(true),
            pushgateway,
            listen,
            telemetry,
            telemetry_format,
            chain_rpc,
            node: target("node", settings.node)?,
            node_name: match (settings.node_name, hostname) {
                (Some(name), _) if !name.is_empty() => name,
                (Some(_), _) => return Err(invalid("node-name", "the node name is empty")),
                (None, Some(hostname)) => hostname.to_owned(),
                (None, None) => "nodepulse".to_owned(),
            },
            interval: duration("interval", settings.interval.as_deref(), DEFAULT_INTERVAL)?,
            timeout: duration("timeout", settings.timeout.as_deref(), DEFAULT_TIMEOUT)?,
            max_scrape_bytes: match settings.max_scrape_size.as_deref() {
                Some(text) => {
                    parse_size(text).map_err(|reason| invalid("max-scrape-size", reason))?
                }
                None => DEFAULT_MAX_SCRAPE_BYTES,
            },
        })
    }
}

impl SettingsArgs {
    /// Each setting from `self`, or from `lower` where `self` has none.
    pub fn or(self, lower: SettingsArgs) -> SettingsArgs {
        SettingsArgs {
            beacon_node: self.beacon_node.or(lower.beacon_node),
            validator: self.validator.or(lower.validator),
            client: self.client.or(lower.client),
            profile: if self.profile.is_empty() {
                lower.profile
            } else {
                self.profile
            },
            data_dir: self.data_dir.or(lower.data_dir),
            procfs: self.procfs.or(lower.procfs),
            stats_endpoint: self.stats_endpoint.or(lower.stats_endpoint),
            api_key: self.api_key.or(lower.api_key),
            machine: self.machine.or(lower.machine),
            stats_base_url: self.stats_base_url.or(lower.stats_base_url),
            stats_minute_limit: self.stats_minute_limit.or(lower.stats_minute_limit),
            pushgateway: self.pushgateway.or(lower.pushgateway),
            push_job: self.push_job.or(lower.push_job),
            push_instance: self.push_instance.or(lower.push_instance),
            push_include: self.push_include.or(lower.push_include),
            pushgateway_user: self.pushgateway_user.or(lower.pushgateway_user),
            pushgateway_password: self.pushgateway_password.or(lower.pushgateway_password),
            listen: self.listen.or(lower.listen),
            telemetry_url: if self.telemetry_url.is_empty() {
                lower.telemetry_url
            } else {
                self.telemetry_url
            },
            telemetry_format: self.telemetry_format.or(lower.telemetry_format),
            beacon_api: self.beacon_api.or(lower.beacon_api),
            watch_validators: self.watch_validators.or(lower.watch_validators),
            per_validator_metrics: self.per_validator_metrics.or(lower.per_validator_metrics),
            execution_rpc: self.execution_rpc.or(lower.execution_rpc),
            starknet_rpc: self.starknet_rpc.or(lower.starknet_rpc),
            substrate_rpc: self.substrate_rpc.or(lower.substrate_rpc),
            node: self.node.or(lower.node),
            node_name: self.node_name.or(lower.node_name),
            interval: self.interval.or(lower.interval),
            timeout: self.timeout.or(lower.timeout),
            max_scrape_size: self.max_scrape_size.or(lower.max_scrape_size),
        }
    }
}

/// `--client`: auto, or the name of one of `profiles`.
pub fn client_choice(name: Option<&str>, profiles: &Profiles) -> Result<ClientChoice, ConfigError> {
    match name {
        None => Ok(ClientChoice::Auto),
        Some(name) if name.eq_ignore_ascii_case("auto") => Ok(ClientChoice::Auto),
        Some(name) => profiles
            .get(name)
            .map(|profile| ClientChoice::Fixed(Arc::clone(profile)))
            .ok_or_else(|| {
                let valid: Vec<&str> = profiles
                    .iter()
                    .map(|profile| profile.client_name.as_str())
                    .collect();
                invalid(
                    "client",
                    format!("unknown client `{name}`; valid: auto, {}", valid.join(", ")),
                )
            }),
    }
}

fn stats_endpoint(settings: &SettingsArgs) -> Result<Option<SensitiveUrl>, ConfigError> {
    let key_pair = (settings.api_key.as_deref(), settings.machine.as_deref());
    match (settings.stats_endpoint.as_deref(), key_pair) {
        (Some(_), (Some(_), _) | (_, Some(_))) => Err(invalid(
            "stats-endpoint",
            "give either --stats-endpoint or --api-key with --machine, not both",
        )),
        (Some(url), (None, None)) => http_url("stats-endpoint", url).map(Some),
        (None, (Some(key), Some(machine))) => {
            let base = settings
                .stats_base_url
                .as_deref()
                .unwrap_or(DEFAULT_STATS_BASE_URL);
            let key = Secret::new(key.to_owned());
            stats_url(base, &key, machine).map(Some)
        }
        (None, (Some(_), None)) => Err(invalid("machine", "--api-key needs --machine")),
        (None, (None, Some(_))) => Err(invalid("api-key", "--machine needs --api-key")),
        (None, (None, None)) => Ok(None),
    }
}

/// `--beacon-api` and `--watch-validators`: the URL and what to watch through it.
#[derive(Debug, Clone)]
pub struct ValidatorWatch {
    pub beacon_api: Url,
    pub watched: Vec<ValidatorId>,
}

/// Both flags or neither; the list inline or, when it names a file, in it (one per line, `#`
/// comments), each entry an index or a public key.
pub fn validator_watch(
    beacon_api: Option<&str>,
    watch_validators: Option<&str>,
) -> Result<Option<ValidatorWatch>, ConfigError> {
    let (api, list) = match (beacon_api, watch_validators) {
        (None, None) => return Ok(None),
        (Some(_), None) => {
            return Err(invalid(
                "watch-validators",
                "--beacon-api needs the validators to watch",
            ));
        }
        (None, Some(_)) => {
            return Err(invalid(
                "beacon-api",
                "--watch-validators needs the beacon node's REST API",
            ));
        }
        (Some(api), Some(list)) => (api, list),
    };
    let beacon_api = http_url("beacon-api", api)?.expose().clone();
    let path = std::path::Path::new(list);
    let (text, place): (String, Box<dyn Fn(usize) -> String>) = if path.is_file() {
        let text = std::fs::read_to_string(path)
            .map_err(|err| invalid("watch-validators", format!("{list}: {err}")))?;
        (text, Box::new(move |n| format!("{list}, line {}", n + 1)))
    } else {
        (
            list.replace(',', "\n"),
            Box::new(|n| format!("entry {}", n + 1)),
        )
    };
    let mut watched = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let entry = line.split('#').next().unwrap_or_default().trim();
        if entry.is_empty() {
            continue;
        }
        let id = ValidatorId::parse(entry)
            .map_err(|reason| invalid("watch-validators", format!("{}: {reason}", place(n))))?;
        if !watched.contains(&id) {
            watched.push(id);
        }
    }
    if watched.is_empty() {
        return Err(invalid("watch-validators", "names no validator"));
    }
    Ok(Some(ValidatorWatch {
        beacon_api,
        watched,
    }))
}

/// The validator view's routes on the `nodepulse serve` that `--stats-base-url`, `--api-key` and
/// `--machine` name; `None` without a key and machine, or when the base is beaconcha.in's (it has
/// no such routes).
fn report_routes(settings: &SettingsArgs) -> Result<Option<ReportRoutes>, ConfigError> {
    let (Some(key), Some(machine)) = (settings.api_key.as_deref(), settings.machine.as_deref())
    else {
        return Ok(None);
    };
    let base = settings
        .stats_base_url
        .as_deref()
        .unwrap_or(DEFAULT_STATS_BASE_URL);
    let base = http_url("stats-base-url", base)?.expose().clone();
    if base
        .host_str()
        .is_some_and(|host| host.ends_with("beaconcha.in"))
    {
        return Ok(None);
    }
    let route = |name: &str| -> Result<SensitiveUrl, ConfigError> {
        let mut url = base.clone();
        url.path_segments_mut()
            .map_err(|()| invalid("stats-base-url", "not a base URL"))?
            .pop_if_empty()
            .extend(["api", "v1", "client", name]);
        url.query_pairs_mut()
            .append_pair("apikey", key)
            .append_pair("machine", machine);
        Ok(SensitiveUrl::new(url))
    };
    Ok(Some(ReportRoutes {
        validators: route("validators")?,
        execution: route("execution")?,
    }))
}

/// The telemetry format and the node's JSON-RPC endpoint, which must agree.
fn chain_source(settings: &SettingsArgs) -> Result<(Format, Option<Url>), ConfigError> {
    let explicit = match settings.telemetry_format.as_deref() {
        None => None,
        Some("starknet") => Some(Format::Starknet),
        Some("substrate") => Some(Format::Substrate),
        Some(other) => {
            return Err(invalid(
                "telemetry-format",
                format!("unknown format `{other}`; valid: starknet, substrate"),
            ));
        }
    };
    let rpc = |flag: &'static str, text: &str| -> Result<Url, ConfigError> {
        http_url(flag, text).map(|url| url.expose().clone())
    };
    let (starknet, substrate) = (
        settings.starknet_rpc.as_deref(),
        settings.substrate_rpc.as_deref(),
    );
    match (starknet, substrate, explicit) {
        (Some(_), Some(_), _) => Err(invalid(
            "substrate-rpc",
            "give --starknet-rpc or --substrate-rpc, not both",
        )),
        (Some(_), None, Some(Format::Substrate)) => Err(invalid(
            "starknet-rpc",
            "a Starknet node streams in the starknet format; drop --telemetry-format substrate",
        )),
        (None, Some(_), Some(Format::Starknet)) => Err(invalid(
            "substrate-rpc",
            "a Substrate node streams in the substrate format; drop --telemetry-format starknet",
        )),
        (Some(url), None, _) => Ok((Format::Starknet, Some(rpc("starknet-rpc", url)?))),
        (None, Some(url), _) => Ok((Format::Substrate, Some(rpc("substrate-rpc", url)?))),
        (None, None, format) => Ok((format.unwrap_or(Format::Starknet), None)),
    }
}

fn pushgateway(
    settings: &SettingsArgs,
    hostname: Option<&str>,
) -> Result<Option<PushTarget>, ConfigError> {
    let Some(base) = settings.pushgateway.as_deref() else {
        return Ok(None);
    };
    let base = Url::parse(base)
        .map_err(|err| invalid("pushgateway", format!("not a valid URL: {err}")))?;
    if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
        return Err(invalid("pushgateway", "not an http(s) base URL"));
    }
    let grouping = |flag: &'static str, value: Option<&str>| -> Result<String, ConfigError> {
        let value = value
            .ok_or_else(|| invalid(flag, "no host name could be read; give the instance name"))?;
        if value.is_empty() || value.contains('/') {
            return Err(invalid(
                flag,
                format!("`{value}` must be non-empty and without `/`"),
            ));
        }
        Ok(value.to_owned())
    };
    let include = settings
        .push_include
        .as_deref()
        .map(|pattern| {
            Regex::new(pattern)
                .map_err(|err| invalid("push-include", format!("not a valid regex: {err}")))
        })
        .transpose()?;
    if settings.pushgateway_password.is_some() && settings.pushgateway_user.is_none() {
        return Err(invalid(
            "pushgateway-password",
            "a password needs --pushgateway-user",
        ));
    }
    Ok(Some(PushTarget {
        base,
        job: grouping(
            "push-job",
            Some(settings.push_job.as_deref().unwrap_or(DEFAULT_PUSH_JOB)),
        )?,
        instance: grouping(
            "push-instance",
            settings.push_instance.as_deref().or(hostname),
        )?,
        include,
        username: settings.pushgateway_user.clone(),
        password: settings.pushgateway_password.clone().map(Secret::new),
    }))
}

/// `BASE/api/v1/stats/KEY/MACHINE`, each part percent-encoded as a path segment.
fn stats_url(base: &str, key: &Secret, machine: &str) -> Result<SensitiveUrl, ConfigError> {
    if key.expose().is_empty() {
        return Err(invalid("api-key", "the API key is empty"));
    }
    if machine.is_empty() {
        return Err(invalid("machine", "the machine name is empty"));
    }
    let mut url = http_url("stats-base-url", base)?.expose().clone();
    url.path_segments_mut()
        .map_err(|()| invalid("stats-base-url", "not a base URL"))?
        .pop_if_empty()
        .extend(["api", "v1", "stats", key.expose(), machine]);
    Ok(SensitiveUrl::new(url))
}

/// An http(s) URL, with errors that never repeat the URL (it may hold the key).
fn http_url(flag: &'static str, text: &str) -> Result<SensitiveUrl, ConfigError> {
    let url = Url::parse(text).map_err(|err| invalid(flag, format!("not a valid URL: {err}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(
            flag,
            format!("scheme `{}` is not http or https", url.scheme()),
        ));
    }
    Ok(SensitiveUrl::new(url))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dry_run() -> RunArgs {
        RunArgs {
            dry_run: true,
            ..RunArgs::default()
        }
    }

    fn validate(settings: SettingsArgs) -> Result<Config, ConfigError> {
        Config::from_settings(&dry_run(), settings, Some("node-1"), Profiles::builtin())
    }

    fn flag_of(result: Result<Config, ConfigError>) -> &'static str {
        match result {
            Err(ConfigError::Invalid { flag, .. }) => flag,
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    #[test]
    fn defaults() {
        let config = validate(SettingsArgs::default()).expect("defaults are valid");
        assert_eq!(config.interval, Duration::from_secs(90));
        assert_eq!(config.timeout, Duration::from_secs(10));
        assert_eq!(config.max_scrape_bytes, 64 << 20);
        assert_eq!(config.client, ClientChoice::Auto);
        assert_eq!(config.host.procfs, PathBuf::from("/proc"));
        assert!(config.beacon_node.is_none() && config.stats_endpoint.is_none());
    }

    #[test]
    fn higher_settings_win_field_by_field() {
        let flags = SettingsArgs {
            client: Some("teku".into()),
            ..SettingsArgs::default()
        };
        let file = SettingsArgs {
            client: Some("prysm".into()),
            interval: Some("2m".into()),
            ..SettingsArgs::default()
        };
        let merged = flags.or(file);
        assert_eq!(merged.client.as_deref(), Some("teku"));
        assert_eq!(merged.interval.as_deref(), Some("2m"));
    }

    /// String settings as a config file gives them.
    fn settings(pairs: &[(&str, &str)]) -> SettingsArgs {
        let text: String = pairs
            .iter()
            .map(|(key, value)| format!("{key} = {value:?}\n"))
            .collect();
        toml::from_str(&text).expect("valid settings file")
    }

    #[test]
    fn each_rejection_names_its_flag() {
        const GATEWAY: (&str, &str) = ("pushgateway", "http://127.0.0.1:9091");
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("client", "geth")], "client"),
            (&[("interval", "soon")], "interval"),
            (&[("timeout", "0s")], "timeout"),
            (&[("max-scrape-size", "64MB")], "max-scrape-size"),
            (&[("beacon-node", "ftp://x/metrics")], "beacon-node"),
            (&[("validator", "http://")], "validator"),
            (&[("api-key", "k")], "machine"),
            (&[("machine", "m")], "api-key"),
            (&[("stats-endpoint", "ws://x/")], "stats-endpoint"),
            (
                &[
                    ("stats-endpoint", "https://x/"),
                    ("api-key", "k"),
                    ("machine", "m"),
                ],
                "stats-endpoint",
            ),
            (&[("pushgateway", "gateway:9091")], "pushgateway"),
            (&[GATEWAY, ("push-job", "a/b")], "push-job"),
            (&[GATEWAY, ("push-instance", "")], "push-instance"),
            (&[GATEWAY, ("push-include", "beacon_(")], "push-include"),
            (
                &[GATEWAY, ("pushgateway-password", "pw")],
                "pushgateway-password",
            ),
            (&[("listen", ":9101")], "listen"),
            (&[("node", "ftp://n/metrics")], "node"),
            (&[("node-name", "")], "node-name"),
            (&[("telemetry-format", "polkadot")], "telemetry-format"),
            (
                &[("starknet-rpc", "http://a"), ("substrate-rpc", "http://b")],
                "substrate-rpc",
            ),
            (
                &[
                    ("starknet-rpc", "http://a"),
                    ("telemetry-format", "substrate"),
                ],
                "starknet-rpc",
            ),
            (&[("substrate-rpc", "127.0.0.1:9944")], "substrate-rpc"),
        ];
        for (pairs, flag) in cases {
            assert_eq!(flag_of(validate(settings(pairs))), *flag, "{pairs:?}");
        }
    }

    #[test]
    fn pushgateway_defaults_to_job_nodepulse_and_the_host_name() {
        let config =
            validate(settings(&[("pushgateway", "http://127.0.0.1:9091")])).expect("valid");
        let push = config.pushgateway.expect("configured");
        assert_eq!(
            (push.job.as_str(), push.instance.as_str()),
            ("nodepulse", "node-1")
        );
        let err = Config::from_settings(
            &dry_run(),
            settings(&[("pushgateway", "http://g")]),
            None,
            Profiles::builtin(),
        )
        .expect_err("no host name");
        assert!(err.to_string().starts_with("--push-instance:"), "{err}");
        let config = validate(settings(&[])).expect("valid");
        assert!(
            config.stats_one_per_minute,
            "beaconcha.in's rule applies by default"
        );
        let config =
            validate(toml::from_str("stats-minute-limit = false").expect("toml")).expect("valid");
        assert!(!config.stats_one_per_minute);
    }

    #[test]
    fn telemetry_urls_and_format() {
        let config = validate(
            toml::from_str(
                "telemetry-url = ['ws://127.0.0.1:8080 5', 'wss://telemetry.example/submit 0']\n\
             substrate-rpc = 'http://127.0.0.1:9944'",
            )
            .expect("toml"),
        )
        .expect("valid");
        assert_eq!(config.telemetry.len(), 2);
        assert_eq!(config.telemetry[0].verbosity, 5);
        assert_eq!(
            config.telemetry_format,
            Format::Substrate,
            "inferred from --substrate-rpc"
        );
        assert_eq!(config.node_name, "node-1", "the host name by default");
        let err =
            validate(toml::from_str("telemetry-url = ['ws://127.0.0.1:8080']").expect("toml"))
                .expect_err("no verbosity");
        assert!(
            err.to_string()
                .contains("'wss://telemetry.example/submit 0'"),
            "{err}"
        );
    }

    #[test]
    fn unknown_client_lists_the_valid_ones() {
        let err = validate(SettingsArgs {
            client: Some("geth".into()),
            ..Default::default()
        })
        .expect_err("unknown client");
        assert_eq!(
            err.to_string(),
            "--client: unknown client `geth`; valid: auto, prysm, lighthouse, teku, lodestar, grandine, nimbus"
        );
    }

    #[test]
    fn api_key_and_machine_build_the_url_and_stay_secret() {
        let config = validate(SettingsArgs {
            api_key: Some("S3CRET".into()),
            machine: Some("rig 1".into()),
            stats_base_url: Some("http://127.0.0.1:9/".into()),
            ..Default::default()
        })
        .expect("valid");
        let endpoint = config.stats_endpoint.as_ref().expect("endpoint built");
        assert_eq!(
            endpoint.expose().as_str(),
            "http://127.0.0.1:9/api/v1/stats/S3CRET/rig%201"
        );
        assert!(!format!("{config:?}").contains("S3CRET"));
    }

    #[test]
    fn sending_needs_a_receiver() {
        let once = RunArgs {
            once: true,
            ..RunArgs::default()
        };
        let err = Config::from_settings(&once, SettingsArgs::default(), None, Profiles::builtin())
            .expect_err("no receiver");
        assert_eq!(err, ConfigError::NoReceiver);
        let push_only = SettingsArgs {
            pushgateway: Some("http://127.0.0.1:9091".into()),
            ..SettingsArgs::default()
        };
        assert!(
            Config::from_settings(&once, push_only, Some("h"), Profiles::builtin()).is_ok(),
            "a Pushgateway is a receiver"
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("2 GiB"), Ok(2 << 30));
        assert!(parse_size("0").is_err());
        assert!(parse_size("MiB").is_err());
        assert!(parse_size("99999999999999GiB").is_err());
    }

    #[test]
    fn config_file_rejects_unknown_keys_with_the_place() {
        let err = toml::from_str::<SettingsArgs>("beacon-node = \"x\"\nbeacon_nod = \"y\"\n")
            .expect_err("unknown key");
        let message = err.to_string();
        assert!(message.contains("beacon_nod"), "{message}");
        assert!(
            message.contains("line 2") || message.contains("2:"),
            "{message}"
        );
    }
}
