//! Telling clients apart by the metrics only they expose.

use std::fmt;

use serde::Deserialize;
use toml::Value;

use super::source::is_valid_name;
use crate::wire::exposition::Exposition;

/// A metric that only one client exposes. In a profile file: `"lighthouse_info"` (a family),
/// `"nbc_*"` (any family with that prefix), `"version{version}"` (a family whose series carry that
/// label).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Value")]
pub enum Signature {
    Family(String),
    Prefix(String),
    /// For a name too generic on its own (Nimbus's bare `version`).
    FamilyWithLabel {
        name: String,
        label: String,
    },
}

impl Signature {
    /// The exact name, or the prefix, this signature looks for.
    pub fn name(&self) -> (Option<&str>, Option<&str>) {
        match self {
            Signature::Family(name) | Signature::FamilyWithLabel { name, .. } => (Some(name), None),
            Signature::Prefix(prefix) => (None, Some(prefix)),
        }
    }

    pub fn matches(&self, exposition: &Exposition) -> bool {
        match self {
            Signature::Family(name) => exposition.contains(name),
            Signature::Prefix(prefix) => exposition.names().any(|name| name.starts_with(prefix)),
            Signature::FamilyWithLabel { name, label } => exposition
                .samples(name)
                .any(|sample| sample.label(label).is_some()),
        }
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Signature::Family(name) => write!(f, "{name}"),
            Signature::Prefix(prefix) => write!(f, "{prefix}*"),
            Signature::FamilyWithLabel { name, label } => write!(f, "{name}{{{label}}}"),
        }
    }
}

impl TryFrom<Value> for Signature {
    type Error = String;

    fn try_from(value: Value) -> Result<Signature, String> {
        let how = "a signature is a family name (\"lighthouse_info\"), a prefix (\"nbc_*\") or a \
                   family with a label (\"version{version}\")";
        let Value::String(text) = value else {
            return Err(format!("{how}; found {}", value.type_str()));
        };
        let signature = if let Some(prefix) = text.strip_suffix('*') {
            Signature::Prefix(prefix.to_owned())
        } else if let Some((name, label)) =
            text.strip_suffix('}').and_then(|rest| rest.split_once('{'))
        {
            if !is_valid_name(label) {
                return Err(format!("`{text}`: `{label}` is not a label name; {how}"));
            }
            Signature::FamilyWithLabel {
                name: name.to_owned(),
                label: label.to_owned(),
            }
        } else {
            Signature::Family(text.clone())
        };
        let name = signature.name();
        match name.0.or(name.1) {
            Some(name) if is_valid_name(name) => Ok(signature),
            _ => Err(format!("`{text}` is not a metric name; {how}")),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error(
    "no known client's signature metric in the scrape (looked for {looked_for}); name the client with --client"
)]
pub struct DetectError {
    pub looked_for: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signature(text: &str) -> Result<Signature, String> {
        Signature::try_from(Value::String(text.to_owned()))
    }

    #[test]
    fn the_three_forms() {
        assert_eq!(
            signature("lighthouse_info"),
            Ok(Signature::Family("lighthouse_info".into()))
        );
        assert_eq!(signature("nbc_*"), Ok(Signature::Prefix("nbc_".into())));
        assert_eq!(
            signature("version{version}"),
            Ok(Signature::FamilyWithLabel {
                name: "version".into(),
                label: "version".into()
            })
        );
        assert!(signature("*").is_err());
        assert!(signature("lighthouse info").is_err());
        assert!(signature("version{1x}").is_err());
    }

    #[test]
    fn family_with_label_needs_the_label() {
        let exposition =
            Exposition::parse(b"version 3\nother{version=\"1\"} 1\n").expect("valid exposition");
        let nimbus = signature("version{version}").expect("valid");
        assert!(!nimbus.matches(&exposition));
        let labelled =
            Exposition::parse(b"version{version=\"v24.1.0\"} 1\n").expect("valid exposition");
        assert!(nimbus.matches(&labelled));
    }
}
