//! Settings plumbing both commands share: the error every rejected setting becomes (exit code 2),
//! reading the TOML file, and the parsers for durations and sizes. Each command's own validation
//! (`agent::config`, `serve::config`) builds on these.

use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    #[error("config file {}: {reason}", path.display())]
    File { path: PathBuf, reason: String },
    #[error("--{flag}: {reason}")]
    Invalid { flag: &'static str, reason: String },
    /// A client profile file that cannot be used (its own message says where).
    #[error("{0}")]
    Profile(String),
    #[error("no built-in profile `{name}`; built in: {known}")]
    UnknownProfile { name: String, known: String },
    #[error(
        "nothing to send to: give --stats-endpoint, --api-key with --machine, or --pushgateway; or use --dry-run"
    )]
    NoReceiver,
}

pub fn invalid(flag: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        flag,
        reason: reason.into(),
    }
}

/// A TOML settings file, keys as the long flags.
pub fn read_file<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, ConfigError> {
    let file_error = |reason: String| ConfigError::File {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|err| file_error(err.to_string()))?;
    toml::from_str(&text).map_err(|err| file_error(err.to_string().trim_end().to_owned()))
}

pub fn duration(
    flag: &'static str,
    text: Option<&str>,
    default: Duration,
) -> Result<Duration, ConfigError> {
    let Some(text) = text else {
        return Ok(default);
    };
    let value = humantime::parse_duration(text).map_err(|err| {
        invalid(
            flag,
            format!("`{text}` is not a duration like 90s or 2m: {err}"),
        )
    })?;
    if value.is_zero() {
        return Err(invalid(flag, "must be longer than zero"));
    }
    Ok(value)
}

/// A byte count: plain bytes, or with a KiB/MiB/GiB suffix.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a size like 64MiB or 1048576"))?;
    let multiplier: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        other => {
            return Err(format!(
                "unknown unit `{other}` in `{text}`: use B, KiB, MiB or GiB"
            ));
        }
    };
    let bytes = number
        .checked_mul(multiplier)
        .ok_or_else(|| format!("`{text}` is too large"))?;
    if bytes == 0 {
        return Err("must be larger than zero".into());
    }
    Ok(bytes)
}
