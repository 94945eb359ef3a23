//! Telling clients apart by the metrics only they expose.

use std::fmt;

use super::profile;
use crate::exposition::Exposition;
use crate::snapshot::Client;

/// A metric that only one client exposes.
#[derive(Debug, Clone, Copy)]
pub enum Signature {
    /// A family with this exact name.
    Family(&'static str),
    /// Any family whose name starts with this prefix.
    Prefix(&'static str),
    /// A family with this name whose series carry this label (Nimbus's bare `version` would be
    /// too generic on its own).
    FamilyWithLabel {
        name: &'static str,
        label: &'static str,
    },
}

impl Signature {
    /// The exact name, or the prefix, this signature looks for.
    pub fn name(&self) -> (Option<&'static str>, Option<&'static str>) {
        match *self {
            Signature::Family(name) | Signature::FamilyWithLabel { name, .. } => (Some(name), None),
            Signature::Prefix(prefix) => (None, Some(prefix)),
        }
    }

    fn matches(&self, exposition: &Exposition) -> bool {
        match *self {
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

#[derive(Debug, thiserror::Error, PartialEq)]
#[error(
    "no known client's signature metric in the scrape (looked for {looked_for}); name the client with --client"
)]
pub struct DetectError {
    looked_for: String,
}

/// The client whose signature the scrape carries, and the signature that matched.
///
/// Nimbus comes last: its signature is the loosest, and a scrape that also has another client's
/// exact marker belongs to that client.
pub fn detect(exposition: &Exposition) -> Result<(Client, Signature), DetectError> {
    const ORDER: [Client; 5] = [
        Client::Prysm,
        Client::Lighthouse,
        Client::Teku,
        Client::Lodestar,
        Client::Nimbus,
    ];
    ORDER
        .into_iter()
        .find_map(|client| {
            profile(client)
                .signature
                .iter()
                .find(|signature| signature.matches(exposition))
                .map(|signature| (client, *signature))
        })
        .ok_or_else(|| DetectError {
            looked_for: ORDER
                .iter()
                .flat_map(|client| profile(*client).signature)
                .map(Signature::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detect_in(text: &str) -> Result<Client, DetectError> {
        let exposition = Exposition::parse(text.as_bytes()).expect("valid test exposition");
        detect(&exposition).map(|(client, _)| client)
    }

    #[test]
    fn each_signature() {
        assert_eq!(
            detect_in("prysm_version{version=\"v5\"} 1\n"),
            Ok(Client::Prysm)
        );
        assert_eq!(
            detect_in("lighthouse_info{version=\"x\"} 1\n"),
            Ok(Client::Lighthouse)
        );
        assert_eq!(
            detect_in("beacon_teku_version{version=\"x\"} 1\n"),
            Ok(Client::Teku)
        );
        assert_eq!(
            detect_in("validator_teku_version_total{version=\"x\"} 1\n"),
            Ok(Client::Teku)
        );
        assert_eq!(
            detect_in("lodestar_version{version=\"x\"} 1\n"),
            Ok(Client::Lodestar)
        );
        assert_eq!(detect_in("nbc_peers 3\n"), Ok(Client::Nimbus));
        assert_eq!(
            detect_in("version{version=\"v24.1.0\"} 1\n"),
            Ok(Client::Nimbus)
        );
    }

    #[test]
    fn unknown_scrape_names_what_was_looked_for() {
        let err = detect_in("up 1\nversion 3\n").expect_err("no signature");
        let message = err.to_string();
        assert!(message.contains("prysm_version"), "{message}");
        assert!(message.contains("nbc_*"), "{message}");
        assert!(message.contains("--client"), "{message}");
    }
}
