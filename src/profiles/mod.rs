//! Client profiles: for each consensus client, where each snapshot field lives in its metrics.
//!
//! A profile is a table of rules (see `source.rs`); `map_beacon_node` and `map_validator` apply any
//! profile to a parsed scrape. The profiles themselves are one file per client, and `detect.rs`
//! tells them apart by their signature metrics.

mod detect;
mod lighthouse;
mod lodestar;
mod nimbus;
mod prysm;
pub mod source;
mod teku;

pub use detect::{DetectError, detect};

use crate::exposition::{Exposition, NameFilter};
use crate::snapshot::{BeaconSnapshot, Client, ProcessSnapshot, ValidatorSnapshot};
use source::{LabelSource, Source, SyncSignal, in_sync_by_slots};

/// Every client reports these the same way: they come from the Prometheus client libraries' standard
/// process collector. (Lodestar's own client-stats exporter reads the user-only CPU counter; the total
/// is what the spec asks for.)
pub const CPU_SECONDS: Source = Source::Value("process_cpu_seconds_total");
pub const RESIDENT_MEMORY: Source = Source::Value("process_resident_memory_bytes");

/// Where one client keeps each field. `None` means the client has no such metric: the field is then
/// always left out of the payload for that client.
#[derive(Debug)]
pub struct Profile {
    pub client: Client,
    /// Any one of these in a scrape identifies the client.
    pub signature: &'static [detect::Signature],
    pub version: LabelSource,
    pub build: Option<LabelSource>,
    pub head_slot: Option<Source>,
    pub clock_slot: Option<Source>,
    pub sync: SyncSignal,
    pub peers: Option<Source>,
    pub execution_connected: Option<Source>,
    pub execution_fallback_configured: Option<Source>,
    pub execution_fallback_connected: Option<Source>,
    pub database_bytes: Option<Source>,
    pub p2p_bytes_received: Option<Source>,
    pub p2p_bytes_sent: Option<Source>,
    pub validators_total: Option<Source>,
    pub validators_active: Option<Source>,
}

/// Which profile maps a scrape: detected from it, or named by the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientChoice {
    Auto,
    Fixed(Client),
}

/// The profile for a scrape.
pub fn select(
    choice: ClientChoice,
    exposition: &Exposition,
) -> Result<&'static Profile, DetectError> {
    match choice {
        ClientChoice::Fixed(client) => Ok(profile(client)),
        ClientChoice::Auto => detect(exposition).map(|(client, _)| profile(client)),
    }
}

impl Profile {
    /// Every series name this profile reads, its signatures' among them.
    fn names(&self) -> Vec<&'static str> {
        let rules = [
            self.head_slot,
            self.clock_slot,
            self.peers,
            self.execution_connected,
            self.execution_fallback_configured,
            self.execution_fallback_connected,
            self.database_bytes,
            self.p2p_bytes_received,
            self.p2p_bytes_sent,
            self.validators_total,
            self.validators_active,
            Some(CPU_SECONDS),
            Some(RESIDENT_MEMORY),
        ];
        let mut names: Vec<&'static str> = rules.iter().flatten().flat_map(Source::names).collect();
        names.extend(self.sync.names());
        names.extend(self.version.names);
        names.extend(self.build.iter().flat_map(|label| label.names));
        names.extend(
            self.signature
                .iter()
                .filter_map(|signature| signature.name().0),
        );
        names
    }
}

/// The series a scrape must keep for `choice`: that client's, or every client's when detecting.
pub fn wanted(choice: ClientChoice) -> NameFilter {
    let clients: Vec<Client> = match choice {
        ClientChoice::Fixed(client) => vec![client],
        ClientChoice::Auto => Client::ALL.to_vec(),
    };
    let profiles: Vec<&Profile> = clients.into_iter().map(profile).collect();
    NameFilter::new(
        profiles.iter().flat_map(|profile| profile.names()),
        profiles.iter().flat_map(|profile| {
            profile
                .signature
                .iter()
                .filter_map(|signature| signature.name().1)
        }),
    )
}

/// The profile of a client.
pub fn profile(client: Client) -> &'static Profile {
    match client {
        Client::Prysm => &prysm::PROFILE,
        Client::Lighthouse => &lighthouse::PROFILE,
        Client::Teku => &teku::PROFILE,
        Client::Nimbus => &nimbus::PROFILE,
        Client::Lodestar => &lodestar::PROFILE,
    }
}

/// Maps a beacon node's scrape into its snapshot.
pub fn map_beacon_node(profile: &Profile, exposition: &Exposition) -> BeaconSnapshot {
    let read = |rule: Option<Source>| rule.and_then(|source| source.read(exposition));
    let flag = |rule: Option<Source>| read(rule).and_then(as_flag);
    let head_slot = read(profile.head_slot);
    BeaconSnapshot {
        process: map_process(profile, exposition),
        head_slot,
        synced: synced(profile, exposition, head_slot),
        peers: read(profile.peers),
        execution_connected: flag(profile.execution_connected),
        execution_fallback_configured: flag(profile.execution_fallback_configured),
        execution_fallback_connected: flag(profile.execution_fallback_connected),
        database_bytes: read(profile.database_bytes),
        p2p_bytes_received: read(profile.p2p_bytes_received),
        p2p_bytes_sent: read(profile.p2p_bytes_sent),
    }
}

/// Maps a validator client's scrape into its snapshot.
pub fn map_validator(profile: &Profile, exposition: &Exposition) -> ValidatorSnapshot {
    let read = |rule: Option<Source>| rule.and_then(|source| source.read(exposition));
    ValidatorSnapshot {
        process: map_process(profile, exposition),
        validators_total: read(profile.validators_total),
        validators_active: read(profile.validators_active),
    }
}

fn map_process(profile: &Profile, exposition: &Exposition) -> ProcessSnapshot {
    ProcessSnapshot {
        client: profile.client,
        version: profile
            .version
            .read(exposition)
            .map(|raw| release_version(raw).to_owned()),
        build: profile
            .build
            .and_then(|label| label.read(exposition))
            .and_then(|raw| raw.trim().parse::<f64>().ok()),
        cpu_seconds: CPU_SECONDS.read(exposition),
        resident_memory_bytes: RESIDENT_MEMORY.read(exposition),
    }
}

/// The client's own sync signal when it has one and exposes it; otherwise the slot comparison,
/// when both slots are known; otherwise unknown.
fn synced(profile: &Profile, exposition: &Exposition, head_slot: Option<f64>) -> Option<bool> {
    let own_signal = match profile.sync {
        SyncSignal::SyncedFlag(source) => source.read(exposition).and_then(as_flag),
        SyncSignal::SyncingFlag(source) => source
            .read(exposition)
            .and_then(as_flag)
            .map(|syncing| !syncing),
        SyncSignal::StatusEquals(source, synced) => source
            .read(exposition)
            .filter(|status| status.is_finite())
            .map(|status| status == synced),
        SyncSignal::SlotDistance => None,
    };
    own_signal.or_else(|| {
        let clock = profile
            .clock_slot
            .and_then(|source| source.read(exposition))?;
        let head = head_slot?;
        (head.is_finite() && clock.is_finite()).then(|| in_sync_by_slots(head, clock))
    })
}

/// A 0/1 gauge as a flag; anything that is not a number reads as unknown.
fn as_flag(value: f64) -> Option<bool> {
    (!value.is_nan()).then_some(value != 0.0)
}

/// The release part of a client's version label.
///
/// Clients pack more than the release into the label: `Lighthouse/v5.3.0-d6ba8c3`,
/// `teku/v24.10.0/linux-x86_64/-eclipseadoptium-openjdk64bitservervm-java-21`,
/// `v1.22.0/stable/abc1234`, older Lodestar `0.16.0 developer/feature-1 ac99f2b5`. The release is the
/// first part (split at `/` and spaces) that starts with a digit or with `v` and a digit; a label
/// without such a part is kept whole.
pub fn release_version(raw: &str) -> &str {
    raw.split(['/', ' '])
        .find(|part| {
            let digits = part.strip_prefix(['v', 'V']).unwrap_or(part);
            digits.starts_with(|c: char| c.is_ascii_digit())
        })
        .unwrap_or(raw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::Syntax;

    #[test]
    fn release_version_of_each_client() {
        assert_eq!(
            release_version("Lighthouse/v5.3.0-d6ba8c3"),
            "v5.3.0-d6ba8c3"
        );
        assert_eq!(
            release_version(
                "teku/v24.10.0/linux-x86_64/-eclipseadoptium-openjdk64bitservervm-java-21"
            ),
            "v24.10.0"
        );
        assert_eq!(release_version("v1.22.0/stable/abc1234"), "v1.22.0");
        assert_eq!(
            release_version("0.16.0 developer/feature-1 ac99f2b5"),
            "0.16.0"
        );
        assert_eq!(
            release_version("v24.10.0-a1b2c3-stateofus"),
            "v24.10.0-a1b2c3-stateofus"
        );
        assert_eq!(
            release_version("v1.3.8-hotfix+6c0942"),
            "v1.3.8-hotfix+6c0942"
        );
        assert_eq!(release_version("unstable"), "unstable");
    }

    #[test]
    fn slot_distance_is_the_fallback_when_the_own_signal_is_absent() {
        let exposition = Exposition::parse(b"beacon_head_slot 100\nslotclock_present_slot 101\n")
            .expect("valid");
        let snapshot = map_beacon_node(profile(Client::Lighthouse), &exposition);
        assert_eq!(snapshot.synced, Some(true));
    }

    #[test]
    fn a_filtered_scrape_maps_like_a_whole_one() {
        for client in Client::ALL {
            for process in ["beacon", "validator"] {
                let path = format!(
                    "{}/fixtures/{client}/{process}.prom",
                    env!("CARGO_MANIFEST_DIR")
                );
                let Ok(body) = std::fs::read(&path) else {
                    continue;
                };
                let whole = Exposition::parse(body.as_slice()).expect("fixture parses");
                for choice in [ClientChoice::Auto, ClientChoice::Fixed(client)] {
                    let wanted = wanted(choice);
                    let part =
                        Exposition::parse_wanted(body.as_slice(), Syntax::Classic, Some(&wanted))
                            .expect("parses");
                    assert!(
                        part.len() < whole.len(),
                        "{path}: the filter skips the families no rule reads"
                    );
                    let profile = select(choice, &part).expect("detected from the kept series");
                    assert_eq!(profile.client, client);
                    assert_eq!(
                        map_beacon_node(profile, &part),
                        map_beacon_node(profile, &whole),
                        "{path}"
                    );
                    assert_eq!(
                        map_validator(profile, &part),
                        map_validator(profile, &whole),
                        "{path}"
                    );
                }
            }
        }
    }

    #[test]
    fn nan_flag_is_unknown() {
        let exposition =
            Exposition::parse(b"sync_eth1_connected NaN\nbeacon_head_slot 5\n").expect("valid");
        let snapshot = map_beacon_node(profile(Client::Lighthouse), &exposition);
        assert_eq!(snapshot.execution_connected, None);
        assert_eq!(snapshot.synced, None, "no clock slot, no signal: unknown");
    }
}
