//! `serve`'s settings, validated: flags over environment over the config file, then defaults.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::alerts::AlertConfig;
use super::connections::ConnectionLimits;
use super::streams::limits::{AllowList, Cidr};
use super::streams::{BatchLimits, StreamSettings};
use crate::cli::{ServeArgs, ServeSettings};
use crate::secret::Secret;
use crate::settings::{ConfigError, duration, invalid, parse_size, read_file};

pub const DEFAULT_DATABASE: &str = "sqlite://nodepulse.db";

#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    /// May carry a password.
    pub database: Secret,
    pub retention: Duration,
    /// How long stream messages are kept: never longer than `retention`.
    pub raw_window: Duration,
    pub purge_every: Duration,
    pub offline_after: Duration,
    pub key_rate: u32,
    pub key_burst: u32,
    pub fleet_metrics: bool,
    /// Certificate chain and key, for HTTPS.
    pub tls: Option<(PathBuf, PathBuf)>,
    pub public_reads: bool,
    pub expose_node_ip: bool,
    pub connections: ConnectionLimits,
    pub streams: StreamSettings,
    pub alerts: AlertConfig,
    /// How long requests in flight may finish after SIGTERM.
    pub shutdown_grace: Duration,
}

impl ServeConfig {
    pub fn load(args: &ServeArgs) -> Result<ServeConfig, ConfigError> {
        let file: ServeSettings = match &args.config {
            Some(path) => read_file(path)?,
            None => ServeSettings::default(),
        };
        ServeConfig::from_settings(args.settings.clone().or(file))
    }

    pub fn from_settings(settings: ServeSettings) -> Result<ServeConfig, ConfigError> {
        let listen = settings.listen.as_deref().unwrap_or("127.0.0.1:8080");
        let listen = listen.parse().map_err(|_| {
            invalid(
                "listen",
                format!("`{listen}` is not an address like 127.0.0.1:8080"),
            )
        })?;
        let database = database_url(settings.database)?;
        let retention = duration(
            "retention",
            settings.retention.as_deref(),
            Duration::from_secs(31 * 86_400),
        )?;
        let raw_window = duration(
            "raw-window",
            settings.raw_window.as_deref(),
            Duration::from_secs(48 * 3600),
        )?
        .min(retention);
        let offline_after = duration(
            "offline-after",
            settings.offline_after.as_deref(),
            Duration::from_secs(600),
        )?;
        let positive = |flag: &'static str, value: Option<u32>, default: u32| match value {
            Some(0) => Err(invalid(flag, "must be at least 1")),
            other => Ok(other.unwrap_or(default)),
        };
        let longer_than_zero =
            |flag: &'static str, value: Option<&str>, default: Duration| match duration(
                flag, value, default,
            )? {
                zero if zero.is_zero() => Err(invalid(flag, "must be longer than 0s")),
                positive => Ok(positive),
            };
        let size = |flag: &'static str, value: Option<&str>, default: u64| match value {
            None => Ok(default),
            Some(text) => match parse_size(text) {
                Ok(0) => Err(invalid(flag, "must be at least 1 byte")),
                Ok(bytes) => Ok(bytes),
                Err(err) => Err(invalid(flag, err)),
            },
        };
        let ranges = |flag: &'static str, ranges: &[String]| {
            ranges
                .iter()
                .map(|range| range.parse::<Cidr>().map_err(|err| invalid(flag, err)))
                .collect::<Result<Vec<_>, _>>()
        };
        let allow = ranges("submit-allow", &settings.submit_allow)?;
        let streams = StreamSettings {
            max_frame_bytes: usize::try_from(size(
                "max-frame-size",
                settings.max_frame_size.as_deref(),
                512 * 1024,
            )?)
            .map_err(|_| invalid("max-frame-size", "is too large"))?,
            bytes_per_second: size(
                "max-stream-rate",
                settings.max_stream_rate.as_deref(),
                256 * 1024,
            )?,
            connections_per_address: positive(
                "max-connections-per-ip",
                settings.max_connections_per_ip,
                64,
            )? as usize,
            silence: longer_than_zero(
                "node-silence",
                settings.node_silence.as_deref(),
                Duration::from_secs(60),
            )?,
            allow: AllowList(allow),
            origins: settings
                .submit_origins
                .iter()
                .map(|origin| origin.trim().trim_end_matches('/').to_owned())
                .collect(),
            block_for: duration(
                "block-for",
                settings.block_for.as_deref(),
                Duration::from_secs(600),
            )?,
            batch: BatchLimits {
                messages: positive("db-batch-size", settings.db_batch_size, 1024)? as usize,
                latency: duration(
                    "db-save-latency",
                    settings.db_save_latency.as_deref(),
                    Duration::from_millis(100),
                )?,
                discard: settings.bench_discard_streams,
            },
        };
        let connections = ConnectionLimits {
            per_address: positive(
                "max-http-connections-per-ip",
                settings.max_http_connections_per_ip,
                256,
            )? as usize,
            header_timeout: longer_than_zero(
                "header-timeout",
                settings.header_timeout.as_deref(),
                Duration::from_secs(20),
            )?,
            trusted_proxies: ranges("trusted-proxies", &settings.trusted_proxies)?,
        };
        Ok(ServeConfig {
            shutdown_grace: longer_than_zero(
                "shutdown-grace",
                settings.shutdown_grace.as_deref(),
                Duration::from_secs(4),
            )?,
            listen,
            database,
            retention,
            raw_window,
            purge_every: longer_than_zero(
                "purge-every",
                settings.purge_every.as_deref(),
                Duration::from_secs(3600),
            )?,
            offline_after,
            key_rate: positive("key-rate", settings.key_rate, 20)?,
            key_burst: positive("key-burst", settings.key_burst, 100)?,
            fleet_metrics: settings.fleet_metrics,
            tls: match (settings.tls_cert, settings.tls_key) {
                (Some(cert), Some(key)) => Some((cert, key)),
                (None, None) => None,
                (Some(_), None) => return Err(invalid("tls-cert", "needs --tls-key")),
                (None, Some(_)) => return Err(invalid("tls-key", "needs --tls-cert")),
            },
            public_reads: settings.public_reads,
            expose_node_ip: settings.expose_node_ip,
            connections,
            streams,
            alerts: AlertConfig::from_settings(settings.alerts)?,
        })
    }
}

/// `--database`, checked for its scheme; the value stays secret (it may hold a password).
pub fn database_url(given: Option<String>) -> Result<Secret, ConfigError> {
    let url = given.unwrap_or_else(|| DEFAULT_DATABASE.to_owned());
    let scheme = url.split_once("://").map(|(scheme, _)| scheme);
    match scheme {
        Some("sqlite" | "postgres" | "postgresql") => Ok(Secret::new(url)),
        _ => Err(invalid(
            "database",
            "must start with sqlite:// or postgres:// (the value is not shown: it may hold a password)",
        )),
    }
}

impl ServeSettings {
    /// Each setting from `self`, or from `lower` where `self` has none.
    pub fn or(self, lower: ServeSettings) -> ServeSettings {
        ServeSettings {
            listen: self.listen.or(lower.listen),
            database: self.database.or(lower.database),
            retention: self.retention.or(lower.retention),
            raw_window: self.raw_window.or(lower.raw_window),
            purge_every: self.purge_every.or(lower.purge_every),
            offline_after: self.offline_after.or(lower.offline_after),
            key_rate: self.key_rate.or(lower.key_rate),
            key_burst: self.key_burst.or(lower.key_burst),
            fleet_metrics: self.fleet_metrics || lower.fleet_metrics,
            tls_cert: self.tls_cert.or(lower.tls_cert),
            tls_key: self.tls_key.or(lower.tls_key),
            public_reads: self.public_reads || lower.public_reads,
            expose_node_ip: self.expose_node_ip || lower.expose_node_ip,
            max_http_connections_per_ip: self
                .max_http_connections_per_ip
                .or(lower.max_http_connections_per_ip),
            header_timeout: self.header_timeout.or(lower.header_timeout),
            shutdown_grace: self.shutdown_grace.or(lower.shutdown_grace),
            submit_allow: if self.submit_allow.is_empty() {
                lower.submit_allow
            } else {
                self.submit_allow
            },
            submit_origins: if self.submit_origins.is_empty() {
                lower.submit_origins
            } else {
                self.submit_origins
            },
            block_for: self.block_for.or(lower.block_for),
            trusted_proxies: if self.trusted_proxies.is_empty() {
                lower.trusted_proxies
            } else {
                self.trusted_proxies
            },
            max_frame_size: self.max_frame_size.or(lower.max_frame_size),
            max_stream_rate: self.max_stream_rate.or(lower.max_stream_rate),
            max_connections_per_ip: self.max_connections_per_ip.or(lower.max_connections_per_ip),
            node_silence: self.node_silence.or(lower.node_silence),
            db_batch_size: self.db_batch_size.or(lower.db_batch_size),
            db_save_latency: self.db_save_latency.or(lower.db_save_latency),
            bench_discard_streams: self.bench_discard_streams || lower.bench_discard_streams,
            alerts: self.alerts.or(lower.alerts),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_flags_over_the_file() {
        let config = ServeConfig::from_settings(ServeSettings::default()).expect("defaults");
        assert_eq!(config.listen, "127.0.0.1:8080".parse().expect("address"));
        assert_eq!(config.database.expose(), DEFAULT_DATABASE);
        assert_eq!(config.retention, Duration::from_secs(31 * 86_400));
        assert_eq!(config.raw_window, Duration::from_secs(48 * 3600));
        assert_eq!(config.purge_every, Duration::from_secs(3600));
        assert_eq!(config.offline_after, Duration::from_secs(600));
        assert_eq!((config.key_rate, config.key_burst), (20, 100));
        assert_eq!(config.connections.header_timeout, Duration::from_secs(20));
        assert_eq!(config.connections.per_address, 256);

        let flags = ServeSettings {
            retention: Some("7d".into()),
            ..ServeSettings::default()
        };
        let file: ServeSettings =
            toml::from_str("retention = \"1d\"\noffline-after = \"5m\"").expect("toml");
        let config = ServeConfig::from_settings(flags.or(file)).expect("valid");
        assert_eq!(config.retention, Duration::from_secs(7 * 86_400));
        assert_eq!(config.raw_window, Duration::from_secs(48 * 3600));
        assert_eq!(config.offline_after, Duration::from_secs(300));

        // The messages are never kept longer than the retention.
        let short: ServeSettings = toml::from_str("retention = \"1d\"").expect("toml");
        let config = ServeConfig::from_settings(short).expect("valid");
        assert_eq!(config.raw_window, Duration::from_secs(86_400));
        let raw: ServeSettings = toml::from_str("raw-window = \"6h\"").expect("toml");
        let config = ServeConfig::from_settings(raw).expect("valid");
        assert_eq!(config.raw_window, Duration::from_secs(6 * 3600));
    }

    #[test]
    fn the_packaged_alerts_example_is_valid_and_a_wrong_rule_is_named() {
        let packaged = include_str!("../../packaging/serve.toml");
        let start = packaged.find("# [alerts]").expect("an alerts example");
        let example: String = packaged[start..]
            .lines()
            .map(|line| line.strip_prefix("# ").unwrap_or(line))
            .map(|line| line.split("  #").next().unwrap_or(line))
            .collect::<Vec<_>>()
            .join("\n");
        let file: ServeSettings = toml::from_str(&example).expect("the example parses");
        let config = ServeConfig::from_settings(file).expect("valid");
        assert_eq!(config.alerts.evaluate_every, Duration::from_secs(60));
        assert_eq!(config.alerts.webhooks.len(), 1);
        assert_eq!(config.alerts.rules.everyone[1].threshold, 10.0);

        let wrong: ServeSettings =
            toml::from_str("[alerts.rules.disk-full]\nthreshold = 5.0").expect("toml");
        let err = ServeConfig::from_settings(wrong).expect_err("no such rule");
        assert!(err.to_string().contains("no rule `disk-full`"), "{err}");
    }

    #[test]
    fn a_machine_beats_its_key_which_beats_everyone() {
        use crate::serve::alerts::rules::Rule;
        let file: ServeSettings = toml::from_str(
            "[alerts.rules.disk-free]\nthreshold = 15.0\n\
             [alerts.keys.ops.disk-free]\nthreshold = 20.0\n\
             [alerts.keys.ops.attestations-missed]\nthreshold = 4.0\n\
             [alerts.machines.\"ops/rig-1\".disk-free]\nthreshold = 30.0\n\
             [alerts.machines.\"lab/rig-9\".peers]\nenabled = false\n",
        )
        .expect("toml");
        let config = ServeConfig::from_settings(file).expect("valid");
        let book = &config.alerts.rules;
        let of = |subject: &str, rule: Rule| book.for_subject(subject)[rule.index()];
        assert_eq!(of("ops/rig-1", Rule::DiskFree).threshold, 30.0);
        assert_eq!(
            of("ops/rig-1", Rule::AttestationsMissed).threshold,
            4.0,
            "its key's"
        );
        assert_eq!(of("ops/rig-2", Rule::DiskFree).threshold, 20.0);
        assert_eq!(of("lab/rig-3", Rule::DiskFree).threshold, 15.0);
        assert!(!of("lab/rig-9", Rule::Peers).enabled);
        assert_eq!(of("lab/rig-9", Rule::DiskFree).threshold, 15.0);
        assert_eq!(of("12D3KooWPeer", Rule::DiskFree).threshold, 15.0);

        let wrong: ServeSettings =
            toml::from_str("[alerts.machines.rig-1.peers]\nenabled = false").expect("toml");
        let err = ServeConfig::from_settings(wrong).expect_err("no key");
        assert!(err.to_string().contains("KEY/MACHINE"), "{err}");
        let wrong: ServeSettings =
            toml::from_str("[alerts.keys.ops.disk-full]\nthreshold = 5.0").expect("toml");
        let err = ServeConfig::from_settings(wrong).expect_err("no such rule");
        assert!(err.to_string().contains("no rule `disk-full`"), "{err}");
    }

    #[test]
    fn the_packaged_config_file_is_valid() {
        let file: ServeSettings =
            toml::from_str(include_str!("../../packaging/serve.toml")).expect("parses");
        let config = ServeConfig::from_settings(file).expect("valid");
        assert_eq!(
            config.database.expose(),
            "sqlite:///var/lib/nodepulse-serve/nodepulse.db"
        );
    }

    #[test]
    fn bad_values_name_their_flag_and_never_show_the_database_url() {
        let with = |settings: ServeSettings| {
            ServeConfig::from_settings(settings)
                .expect_err("refused")
                .to_string()
        };
        let message = with(ServeSettings {
            database: Some("mysql://root:hunter2@db/x".into()),
            ..ServeSettings::default()
        });
        assert!(message.starts_with("--database:"), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
        let message = with(ServeSettings {
            listen: Some("8080".into()),
            ..ServeSettings::default()
        });
        assert!(message.starts_with("--listen:"), "{message}");
        let message = with(ServeSettings {
            key_rate: Some(0),
            ..ServeSettings::default()
        });
        assert!(message.starts_with("--key-rate:"), "{message}");
        let message = with(ServeSettings {
            header_timeout: Some("0s".into()),
            ..ServeSettings::default()
        });
        assert!(message.starts_with("--header-timeout:"), "{message}");
        let message = with(ServeSettings {
            max_http_connections_per_ip: Some(0),
            ..ServeSettings::default()
        });
        assert!(
            message.starts_with("--max-http-connections-per-ip:"),
            "{message}"
        );
    }
}
