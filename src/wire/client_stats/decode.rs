//! Reading client-stats request bodies by the rules of beaconcha.in's receiver, so that every
//! reporter that works against it works against ours, and nothing it refuses is stored here.
//!
//! The one deliberate difference: a key that is missing stays missing. The explorer reads it as 0
//! or false; a stored zero would then stand for a value nobody sent.

use serde_json::{Map, Value as Json};

use super::fields::{Field, Kind, Process};

/// A request with this many objects or more is refused whole.
pub const MAX_OBJECTS: usize = 10;
/// Longer strings are refused: no client name or version comes near it. (`field_error` says it.)
pub const MAX_TEXT_BYTES: usize = 256;

/// A reporter's own fields beyond the table (the exporter's `exporter_version`) are kept, up to
/// this many per object...
pub const MAX_EXTENSIONS: usize = 8;
/// ...each named in at most this many bytes of `a-z`, `0-9` and `_`, its value a number, a boolean
/// or a string of at most `MAX_TEXT_BYTES` without NUL. Others are not kept.
pub const MAX_EXTENSION_NAME_BYTES: usize = 64;

/// One accepted object: its envelope, the known fields it carried, and the reporter's own fields
/// within the bounds above.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    pub version: u64,
    /// The sender's clock, Unix milliseconds.
    pub timestamp: Option<u64>,
    pub process: Process,
    pub values: Vec<(&'static Field, Value)>,
    pub extensions: Map<String, Json>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Integer(u64),
    Flag(bool),
    Text(String),
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DecodeError {
    #[error("the body is not JSON: {0}")]
    NotJson(String),
    #[error("the body is neither a JSON object nor an array of objects")]
    NotObjects,
    #[error("the array is empty")]
    Empty,
    #[error("Max number of stat entries are {MAX_OBJECTS} (got {0})")]
    TooMany(usize),
    #[error("object {index}: this version is not supported (1 or 2)")]
    Version { index: usize },
    #[error("object {index}: unknown process (validator, beaconnode, slasher or system)")]
    Process { index: usize },
    #[error("object {index}: `{field}` must be {expected}, got {got}")]
    Field {
        index: usize,
        field: &'static str,
        expected: &'static str,
        got: String,
    },
}

impl Received {
    /// The object as it is answered: the envelope and the fields it carried, under their stored
    /// names.
    pub fn to_json(&self) -> Map<String, Json> {
        let mut object = Map::new();
        object.insert("version".into(), self.version.into());
        if let Some(timestamp) = self.timestamp {
            object.insert("timestamp".into(), timestamp.into());
        }
        object.insert("process".into(), self.process.as_str().into());
        for (field, value) in &self.values {
            let value = match value {
                Value::Integer(number) => Json::from(*number),
                Value::Flag(flag) => Json::from(*flag),
                Value::Text(text) => Json::from(text.as_str()),
            };
            object.insert(field.name.into(), value);
        }
        for (name, value) in &self.extensions {
            object.entry(name.clone()).or_insert_with(|| value.clone());
        }
        object
    }
}

/// The reporter's own fields of `map`, within the bounds: not the envelope, not a field of any
/// process, not a name an answer uses itself.
pub fn extensions(map: &Map<String, Json>) -> Map<String, Json> {
    const ANSWER_NAMES: [&str; 5] = ["version", "timestamp", "process", "machine", "received"];
    map.iter()
        .filter(|(name, value)| {
            !ANSWER_NAMES.contains(&name.as_str())
                && !super::fields::is_known(name)
                && !name.is_empty()
                && name.len() <= MAX_EXTENSION_NAME_BYTES
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                && match value {
                    Json::String(text) => text.len() <= MAX_TEXT_BYTES && !text.contains('\0'),
                    Json::Number(_) | Json::Bool(_) => true,
                    Json::Null | Json::Array(_) | Json::Object(_) => false,
                }
        })
        .take(MAX_EXTENSIONS)
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

/// A body of one object or an array of up to nine.
pub fn decode(body: &[u8]) -> Result<Vec<Received>, DecodeError> {
    let json: Json =
        serde_json::from_slice(body).map_err(|err| DecodeError::NotJson(err.to_string()))?;
    let objects = match json {
        Json::Array(items) => items,
        object @ Json::Object(_) => vec![object],
        _ => return Err(DecodeError::NotObjects),
    };
    if objects.is_empty() {
        return Err(DecodeError::Empty);
    }
    if objects.len() >= MAX_OBJECTS {
        return Err(DecodeError::TooMany(objects.len()));
    }
    objects
        .iter()
        .enumerate()
        .map(|(index, object)| match object {
            Json::Object(map) => decode_object(index, map),
            _ => Err(DecodeError::NotObjects),
        })
        .collect()
}

fn decode_object(index: usize, map: &Map<String, Json>) -> Result<Received, DecodeError> {
    let integer = |name: &'static str| -> Result<Option<u64>, DecodeError> {
        map.get(name)
            .map(|value| {
                unsigned(value).map_err(|got| field_error(index, name, Kind::Integer, got))
            })
            .transpose()
            .map(Option::flatten)
    };
    let version = integer("version")?.unwrap_or(0);
    if !(1..=2).contains(&version) {
        return Err(DecodeError::Version { index });
    }
    let timestamp = integer("timestamp")?;
    let process = map
        .get("process")
        .and_then(Json::as_str)
        .and_then(Process::parse)
        .ok_or(DecodeError::Process { index })?;

    let mut values = Vec::new();
    for field in process.fields() {
        let Some((name, json)) = std::iter::once(field.name)
            .chain(field.aliases.iter().copied())
            .find_map(|name| map.get(name).map(|json| (name, json)))
        else {
            continue;
        };
        let value = match field.kind {
            Kind::Integer => unsigned(json).map(|number| number.map(Value::Integer)),
            Kind::Flag => match json {
                Json::Bool(flag) => Ok(Some(Value::Flag(*flag))),
                Json::Null => Ok(None),
                other => Err(describe(other)),
            },
            Kind::Text => match json {
                Json::String(text) if text.len() > MAX_TEXT_BYTES => {
                    Err(format!("a string of {} bytes", text.len()))
                }
                // PostgreSQL's text cannot hold NUL; both databases refuse it alike, here.
                Json::String(text) if text.contains('\0') => {
                    Err("a string with a NUL character (\\u0000)".into())
                }
                Json::String(text) => Ok(Some(Value::Text(text.clone()))),
                Json::Null => Ok(None),
                other => Err(describe(other)),
            },
        }
        .map_err(|got| field_error(index, name_of(field, name), field.kind, got))?;
        if let Some(value) = value {
            values.push((field, value));
        }
    }
    Ok(Received {
        version,
        timestamp,
        process,
        values,
        extensions: extensions(map),
    })
}

/// The name as the sender spelled it, for the error message.
fn name_of(field: &'static Field, sent: &str) -> &'static str {
    field
        .aliases
        .iter()
        .find(|alias| **alias == sent)
        .copied()
        .unwrap_or(field.name)
}

/// The largest number taken: the explorer's database columns are signed 64-bit, so it fails to
/// store anything above, and ours are the same.
pub const MAX_INTEGER: u64 = i64::MAX as u64;

/// A non-negative JSON number up to `MAX_INTEGER`, fractions truncated; `null` is a missing value.
fn unsigned(json: &Json) -> Result<Option<u64>, String> {
    match json {
        Json::Null => Ok(None),
        Json::Number(number) => {
            if let Some(whole) = number.as_u64() {
                return if whole <= MAX_INTEGER {
                    Ok(Some(whole))
                } else {
                    Err(format!("{number}, above 2^63-1"))
                };
            }
            match number.as_f64() {
                // Below 2^63 exactly: the largest double under it truncates into range.
                Some(float) if (0.0..9_223_372_036_854_775_808.0).contains(&float) => {
                    Ok(Some(float.trunc() as u64))
                }
                _ => Err(format!("the number {number}")),
            }
        }
        other => Err(describe(other)),
    }
}

fn describe(json: &Json) -> String {
    match json {
        Json::String(text) => format!("the string {:?}", truncate(text)),
        Json::Bool(flag) => format!("the boolean {flag}"),
        Json::Array(_) => "an array".into(),
        Json::Object(_) => "an object".into(),
        Json::Number(number) => format!("the number {number}"),
        Json::Null => "null".into(),
    }
}

fn truncate(text: &str) -> &str {
    match text.char_indices().nth(32) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

fn field_error(index: usize, field: &'static str, kind: Kind, got: String) -> DecodeError {
    let expected = match kind {
        Kind::Integer => "an unsigned integer",
        Kind::Flag => "true or false",
        Kind::Text => "a string of at most 256 bytes without NUL characters",
    };
    DecodeError::Field {
        index,
        field,
        expected,
        got,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decoded(body: Json) -> Result<Vec<Received>, DecodeError> {
        decode(body.to_string().as_bytes())
    }

    fn one(body: Json) -> Map<String, Json> {
        let objects = decoded(body).expect("accepted");
        assert_eq!(objects.len(), 1);
        objects[0].to_json()
    }

    #[test]
    fn one_object_or_an_array_of_up_to_nine() {
        let system = json!({"version": 1, "timestamp": 1, "process": "system"});
        assert_eq!(decoded(system.clone()).map(|all| all.len()), Ok(1));
        assert_eq!(
            decoded(Json::Array(vec![system.clone(); 9])).map(|all| all.len()),
            Ok(9)
        );
        assert_eq!(
            decoded(Json::Array(vec![system; 10])),
            Err(DecodeError::TooMany(10))
        );
        assert_eq!(decoded(json!([])), Err(DecodeError::Empty));
        assert_eq!(decoded(json!("system")), Err(DecodeError::NotObjects));
        assert_eq!(decoded(json!([1])), Err(DecodeError::NotObjects));
        assert!(matches!(
            decode(b"{\"version\":"),
            Err(DecodeError::NotJson(_))
        ));
    }

    #[test]
    fn version_one_or_two_and_a_known_process() {
        for version in [json!(1), json!(2), json!(2.9)] {
            assert!(decoded(json!({"version": version, "process": "slasher"})).is_ok());
        }
        for version in [json!(0), json!(3), json!(null)] {
            let refused = decoded(json!({"version": version, "process": "system"}));
            assert_eq!(refused, Err(DecodeError::Version { index: 0 }), "{version}");
        }
        assert_eq!(
            decoded(json!({"process": "system"})),
            Err(DecodeError::Version { index: 0 })
        );
        let second_unknown = json!([
            {"version": 1, "process": "validator"},
            {"version": 1, "process": "beacon"}
        ]);
        assert_eq!(
            decoded(second_unknown),
            Err(DecodeError::Process { index: 1 })
        );
    }

    #[test]
    fn numbers_are_unsigned_and_fractions_truncated() {
        let object = one(json!({
            "version": 1, "process": "system", "cpu_cores": 8.9, "memory_node_bytes_total": 0,
            "disk_node_bytes_total": MAX_INTEGER
        }));
        assert_eq!(object["cpu_cores"], json!(8));
        assert_eq!(object["memory_node_bytes_total"], json!(0));
        assert_eq!(object["disk_node_bytes_total"], json!(MAX_INTEGER));
        let too_large = json!(MAX_INTEGER + 1);
        for bad in [
            json!(-1),
            json!(-0.5),
            json!("8"),
            json!(true),
            json!(1e19),
            too_large,
            json!([8]),
        ] {
            let refused = decoded(json!({"version": 1, "process": "system", "cpu_cores": bad}));
            let Err(DecodeError::Field {
                index: 0,
                field: "cpu_cores",
                ..
            }) = refused
            else {
                panic!("{bad} was not refused: {refused:?}");
            };
        }
    }

    #[test]
    fn flags_only_as_booleans_and_strings_only_as_strings() {
        let object = one(json!({
            "version": 1, "process": "beaconnode", "sync_eth2_synced": true,
            "client_name": "lighthouse", "sync_eth1_connected": null
        }));
        assert_eq!(object["sync_eth2_synced"], json!(true));
        assert_eq!(object["client_name"], json!("lighthouse"));
        assert!(!object.contains_key("sync_eth1_connected"));
        let refused =
            decoded(json!({"version": 1, "process": "beaconnode", "sync_eth2_synced": 1}));
        assert_eq!(
            refused.map_err(|err| err.to_string()),
            Err("object 0: `sync_eth2_synced` must be true or false, got the number 1".into())
        );
        let refused = decoded(json!({"version": 1, "process": "validator", "client_version": 4}));
        assert!(matches!(
            refused,
            Err(DecodeError::Field {
                field: "client_version",
                ..
            })
        ));
        let refused = decoded(json!([
            {"version": 1, "process": "system"},
            {"version": 1, "process": "validator", "client_name": "lodestar\u{0}x"}
        ]));
        assert_eq!(
            refused.map_err(|err| err.to_string()),
            Err(
                "object 1: `client_name` must be a string of at most 256 bytes without NUL \
                 characters, got a string with a NUL character (\\u0000)"
                    .into()
            )
        );
        let long = "v".repeat(MAX_TEXT_BYTES + 1);
        let refused =
            decoded(json!({"version": 1, "process": "validator", "client_version": long}));
        assert!(matches!(
            refused,
            Err(DecodeError::Field {
                field: "client_version",
                ..
            })
        ));
    }

    #[test]
    fn other_processes_fields_are_dropped_a_reporters_own_kept_bounded_and_missing_stays_missing() {
        let object = one(json!({
            "version": 2, "timestamp": 1_700_000_000_000u64, "process": "validator",
            "validator_total": 3, "exporter_version": "beaconcha.in@v0.4.1", "cpu_cores": 4,
            "machine": "spoofed", "Bad-Name": 1, "nested": {"a": 1}, "nul": "a\u{0}b",
            "long": "x".repeat(MAX_TEXT_BYTES + 1), "client_build": null
        }));
        let keys: Vec<&str> = object.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "exporter_version",
                "process",
                "timestamp",
                "validator_total",
                "version"
            ]
        );
        let many: Map<String, Json> = (0..20)
            .map(|n| (format!("extra_{n:02}"), Json::from(n)))
            .collect();
        let mut body = json!({"version": 1, "process": "system"});
        body.as_object_mut().expect("an object").extend(many);
        assert_eq!(one(body).len(), 2 + MAX_EXTENSIONS);
    }

    #[test]
    fn both_spellings_real_reporters_send_are_taken() {
        let object = one(json!({
            "version": 1, "process": "system", "memory_node_bytes_buffered": 5,
            "misc_node_boot_ts_system": 1_700_000_000
        }));
        assert_eq!(object["memory_node_bytes_buffers"], json!(5));
        let table = one(json!({"version": 1, "process": "system", "memory_node_bytes_bufferd": 6}));
        assert_eq!(table["memory_node_bytes_buffers"], json!(6));
        assert_eq!(object["misc_node_boot_ts_seconds"], json!(1_700_000_000));
        let refused =
            decoded(json!({"version": 1, "process": "system", "memory_node_bytes_buffered": -5}));
        assert!(matches!(
            refused,
            Err(DecodeError::Field {
                field: "memory_node_bytes_buffered",
                ..
            })
        ));
    }
}
