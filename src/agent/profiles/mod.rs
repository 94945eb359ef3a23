//! Client profiles: for each consensus client, where each client-stats field lives in its metrics.
//!
//! A profile is data, a TOML file (`source.rs` has its vocabulary): the client's name, the signature
//! metrics that detect it, and for each payload field, keyed by its name in the payload, the rule that
//! reads it. A field a profile does not name is left out of payloads. The built-in profiles are such
//! files (`builtin/`), compiled in; `--profile FILE` adds a client or replaces a built-in one of the
//! same name. `map_beacon_node` and `map_validator` apply any profile to a parsed scrape.

pub mod detect;
pub mod source;

use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use serde::Deserialize;

pub use detect::{DetectError, Signature};
use source::{Flag, Source, TextSource};

use crate::wire::exposition::{Exposition, NameFilter};
use crate::wire::snapshot::{BeaconSnapshot, ProcessSnapshot, ValidatorSnapshot};

/// The built-in profiles, in the order detection tries them: Nimbus last, since its signature is the
/// loosest and a scrape that also has another client's exact marker belongs to that client.
const BUILTIN: [(&str, &str); 6] = [
    ("prysm", include_str!("builtin/prysm.toml")),
    ("lighthouse", include_str!("builtin/lighthouse.toml")),
    ("teku", include_str!("builtin/teku.toml")),
    ("lodestar", include_str!("builtin/lodestar.toml")),
    ("grandine", include_str!("builtin/grandine.toml")),
    ("nimbus", include_str!("builtin/nimbus.toml")),
];

/// One client's profile.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// `client_name` in payloads, and the name `--client` takes.
    pub client_name: String,
    /// Any one of these in a scrape identifies the client.
    pub detect: Vec<Signature>,
    #[serde(default)]
    pub fields: Fields,
}

/// Where the profile reads each client-stats field, keyed as in the payload.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fields {
    // Every process.
    pub client_version: Option<TextSource>,
    pub client_build: Option<TextSource>,
    pub cpu_process_seconds_total: Option<Source>,
    pub memory_process_bytes: Option<Source>,
    // The beacon node.
    pub sync_beacon_head_slot: Option<Source>,
    pub sync_eth2_synced: Option<Flag>,
    pub network_peers_connected: Option<Source>,
    pub sync_eth1_connected: Option<Flag>,
    pub sync_eth1_fallback_configured: Option<Flag>,
    pub sync_eth1_fallback_connected: Option<Flag>,
    pub disk_beaconchain_bytes_total: Option<Source>,
    pub network_libp2p_bytes_total_receive: Option<Source>,
    pub network_libp2p_bytes_total_transmit: Option<Source>,
    pub slasher_active: Option<Flag>,
    // The validator client.
    pub validator_total: Option<Source>,
    pub validator_active: Option<Source>,
    pub sync_eth2_fallback_configured: Option<Flag>,
    pub sync_eth2_fallback_connected: Option<Flag>,
}

/// Which profile maps a scrape: detected from it, or named by the user.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientChoice {
    Auto,
    Fixed(Arc<Profile>),
}

/// A profile file that cannot be used, said so that the user can mend it: the file, the line and
/// the key (from the TOML parser), and what was expected.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("profile {path}: {reason}")]
pub struct ProfileError {
    pub path: PathBuf,
    pub reason: String,
}

/// A profile that cannot be used is a setting the user must fix (exit code 2).
impl From<ProfileError> for crate::settings::ConfigError {
    fn from(err: ProfileError) -> Self {
        crate::settings::ConfigError::Profile(err.to_string())
    }
}

impl Profile {
    /// Reads a profile from its TOML text; the error is the parser's, with line and column.
    pub fn from_toml(text: &str) -> Result<Profile, String> {
        let profile: Profile =
            toml::from_str(text).map_err(|err| err.to_string().trim_end().to_owned())?;
        if profile.client_name.trim().is_empty() {
            return Err("`client_name` is empty".into());
        }
        if profile.detect.is_empty() {
            return Err(
                "`detect` names no signature metric: the client could never be detected \
                 (give at least one, and use --client to force it)"
                    .into(),
            );
        }
        Ok(profile)
    }

    /// Every series name this profile reads, its signatures' among them.
    fn names(&self) -> Vec<&str> {
        let fields = &self.fields;
        let sources = [
            &fields.cpu_process_seconds_total,
            &fields.memory_process_bytes,
            &fields.sync_beacon_head_slot,
            &fields.network_peers_connected,
            &fields.disk_beaconchain_bytes_total,
            &fields.network_libp2p_bytes_total_receive,
            &fields.network_libp2p_bytes_total_transmit,
            &fields.validator_total,
            &fields.validator_active,
        ];
        let flags = [
            &fields.sync_eth2_synced,
            &fields.sync_eth1_connected,
            &fields.sync_eth1_fallback_configured,
            &fields.sync_eth1_fallback_connected,
            &fields.sync_eth2_fallback_configured,
            &fields.sync_eth2_fallback_connected,
            &fields.slasher_active,
        ];
        let texts = [&fields.client_version, &fields.client_build];
        let mut names: Vec<&str> = sources
            .into_iter()
            .flatten()
            .flat_map(Source::names)
            .collect();
        names.extend(flags.into_iter().flatten().flat_map(Flag::names));
        names.extend(
            texts
                .into_iter()
                .flatten()
                .flat_map(|text| text.names.iter().map(String::as_str)),
        );
        names.extend(
            self.detect
                .iter()
                .filter_map(|signature| signature.name().0),
        );
        names
    }

    /// Each client-stats field of a process and where this profile reads it (`None`: nowhere).
    pub fn field_sources(&self, validator: bool) -> Vec<(&'static str, Option<String>)> {
        let fields = &self.fields;
        let text = |rule: &Option<Source>| rule.as_ref().map(Source::to_string);
        let flag = |rule: &Option<Flag>| rule.as_ref().map(Flag::to_string);
        let label = |rule: &Option<TextSource>| rule.as_ref().map(TextSource::to_string);
        let mut list = vec![
            (
                "cpu_process_seconds_total",
                text(&fields.cpu_process_seconds_total),
            ),
            ("memory_process_bytes", text(&fields.memory_process_bytes)),
            (
                "client_name",
                Some(format!("the {} profile", self.client_name)),
            ),
            ("client_version", label(&fields.client_version)),
            ("client_build", label(&fields.client_build)),
        ];
        if validator {
            list.extend([
                ("validator_total", text(&fields.validator_total)),
                ("validator_active", text(&fields.validator_active)),
                (
                    "sync_eth2_fallback_configured",
                    flag(&fields.sync_eth2_fallback_configured),
                ),
                (
                    "sync_eth2_fallback_connected",
                    flag(&fields.sync_eth2_fallback_connected),
                ),
            ]);
        } else {
            list.extend([
                ("sync_beacon_head_slot", text(&fields.sync_beacon_head_slot)),
                ("sync_eth2_synced", flag(&fields.sync_eth2_synced)),
                (
                    "network_peers_connected",
                    text(&fields.network_peers_connected),
                ),
                ("sync_eth1_connected", flag(&fields.sync_eth1_connected)),
                (
                    "sync_eth1_fallback_configured",
                    flag(&fields.sync_eth1_fallback_configured),
                ),
                (
                    "sync_eth1_fallback_connected",
                    flag(&fields.sync_eth1_fallback_connected),
                ),
                ("slasher_active", flag(&fields.slasher_active)),
                (
                    "disk_beaconchain_bytes_total",
                    text(&fields.disk_beaconchain_bytes_total),
                ),
                (
                    "network_libp2p_bytes_total_receive",
                    text(&fields.network_libp2p_bytes_total_receive),
                ),
                (
                    "network_libp2p_bytes_total_transmit",
                    text(&fields.network_libp2p_bytes_total_transmit),
                ),
            ]);
        }
        list
    }
}

/// The profiles in force: the built-in ones, with the user's files added or in their place.
#[derive(Debug, Clone, PartialEq)]
pub struct Profiles {
    /// In the order detection tries them.
    list: Vec<Arc<Profile>>,
}

impl Profiles {
    /// The built-in profiles alone: parsed once per process, then shared.
    pub fn builtin() -> Profiles {
        static PARSED: LazyLock<Profiles> = LazyLock::new(|| Profiles {
            list: BUILTIN
                .iter()
                .map(|(name, text)| match Profile::from_toml(text) {
                    Ok(profile) => Arc::new(profile),
                    // A test loads every built-in profile: this cannot ship.
                    Err(err) => panic!("the built-in {name} profile does not load: {err}"),
                })
                .collect(),
        });
        PARSED.clone()
    }

    /// The built-in profiles with these files: a file whose `client_name` is a built-in one takes
    /// its place; a new client is tried before the built-in ones, its signature being the user's
    /// deliberate choice.
    pub fn with_files(paths: &[PathBuf]) -> Result<Profiles, ProfileError> {
        let mut profiles = Profiles::builtin();
        let mut added = Vec::new();
        for path in paths {
            let profile = Arc::new(read_profile(path)?);
            match profiles
                .list
                .iter_mut()
                .find(|known| known.client_name == profile.client_name)
            {
                Some(known) => *known = profile,
                None => added.push(profile),
            }
        }
        added.append(&mut profiles.list);
        profiles.list = added;
        Ok(profiles)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<Profile>> {
        self.list.iter()
    }

    pub fn get(&self, name: &str) -> Option<&Arc<Profile>> {
        self.list
            .iter()
            .find(|profile| profile.client_name.eq_ignore_ascii_case(name))
    }

    /// The profile whose signature the scrape carries, and the signature that matched.
    pub fn detect(
        &self,
        exposition: &Exposition,
    ) -> Result<(&Arc<Profile>, &Signature), DetectError> {
        self.list
            .iter()
            .find_map(|profile| {
                profile
                    .detect
                    .iter()
                    .find(|signature| signature.matches(exposition))
                    .map(|signature| (profile, signature))
            })
            .ok_or_else(|| DetectError {
                looked_for: self
                    .list
                    .iter()
                    .flat_map(|profile| &profile.detect)
                    .map(Signature::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// The profile for a scrape.
    pub fn select(
        &self,
        choice: &ClientChoice,
        exposition: &Exposition,
    ) -> Result<Arc<Profile>, DetectError> {
        match choice {
            ClientChoice::Fixed(profile) => Ok(Arc::clone(profile)),
            ClientChoice::Auto => self
                .detect(exposition)
                .map(|(profile, _)| Arc::clone(profile)),
        }
    }

    /// The series a scrape must keep for `choice`: that client's, or every client's when detecting.
    pub fn wanted(&self, choice: &ClientChoice) -> NameFilter {
        let profiles: Vec<&Profile> = match choice {
            ClientChoice::Fixed(profile) => vec![profile],
            ClientChoice::Auto => self.list.iter().map(|profile| &**profile).collect(),
        };
        NameFilter::new(
            profiles.iter().flat_map(|profile| profile.names()),
            profiles.iter().flat_map(|profile| {
                profile
                    .detect
                    .iter()
                    .filter_map(|signature| signature.name().1)
            }),
        )
    }
}

/// The text of a built-in profile: exactly what `nodepulse profiles show` prints.
pub fn builtin_text(name: &str) -> Option<&'static str> {
    BUILTIN
        .iter()
        .find(|(builtin, _)| builtin.eq_ignore_ascii_case(name))
        .map(|(_, text)| *text)
}

/// The names of the built-in profiles, in detection order.
pub fn builtin_names() -> impl Iterator<Item = &'static str> {
    BUILTIN.iter().map(|(name, _)| *name)
}

fn read_profile(path: &Path) -> Result<Profile, ProfileError> {
    let error = |reason: String| ProfileError {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|err| error(err.to_string()))?;
    Profile::from_toml(&text).map_err(error)
}

/// Maps a beacon node's scrape into its snapshot.
pub fn map_beacon_node(profile: &Profile, exposition: &Exposition) -> BeaconSnapshot {
    let fields = &profile.fields;
    let read = |rule: &Option<Source>| rule.as_ref().and_then(|source| source.read(exposition));
    let flag = |rule: &Option<Flag>| rule.as_ref().and_then(|flag| flag.read(exposition));
    BeaconSnapshot {
        process: map_process(profile, exposition),
        head_slot: read(&fields.sync_beacon_head_slot),
        synced: flag(&fields.sync_eth2_synced),
        peers: read(&fields.network_peers_connected),
        execution_connected: flag(&fields.sync_eth1_connected),
        execution_fallback_configured: flag(&fields.sync_eth1_fallback_configured),
        execution_fallback_connected: flag(&fields.sync_eth1_fallback_connected),
        database_bytes: read(&fields.disk_beaconchain_bytes_total),
        p2p_bytes_received: read(&fields.network_libp2p_bytes_total_receive),
        p2p_bytes_sent: read(&fields.network_libp2p_bytes_total_transmit),
        slasher_active: flag(&fields.slasher_active),
    }
}

/// Maps a validator client's scrape into its snapshot.
pub fn map_validator(profile: &Profile, exposition: &Exposition) -> ValidatorSnapshot {
    let fields = &profile.fields;
    let read = |rule: &Option<Source>| rule.as_ref().and_then(|source| source.read(exposition));
    let flag = |rule: &Option<Flag>| rule.as_ref().and_then(|flag| flag.read(exposition));
    ValidatorSnapshot {
        process: map_process(profile, exposition),
        validators_total: read(&fields.validator_total),
        validators_active: read(&fields.validator_active),
        beacon_fallback_configured: flag(&fields.sync_eth2_fallback_configured),
        beacon_fallback_connected: flag(&fields.sync_eth2_fallback_connected),
    }
}

fn map_process(profile: &Profile, exposition: &Exposition) -> ProcessSnapshot {
    let fields = &profile.fields;
    let read = |rule: &Option<Source>| rule.as_ref().and_then(|source| source.read(exposition));
    let text = |rule: &Option<TextSource>| rule.as_ref().and_then(|text| text.read(exposition));
    ProcessSnapshot {
        client: profile.client_name.clone(),
        version: text(&fields.client_version).map(|raw| release_version(raw).to_owned()),
        build: text(&fields.client_build).and_then(|raw| raw.trim().parse::<f64>().ok()),
        cpu_seconds: read(&fields.cpu_process_seconds_total),
        resident_memory_bytes: read(&fields.memory_process_bytes),
    }
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

    fn builtin(name: &str) -> Arc<Profile> {
        Arc::clone(Profiles::builtin().get(name).expect("a built-in profile"))
    }

    #[test]
    fn every_builtin_profile_loads_and_is_detected_by_its_signature() {
        let profiles = Profiles::builtin();
        assert_eq!(profiles.iter().count(), BUILTIN.len());
        for name in builtin_names() {
            let profile = profiles.get(name).expect("loaded");
            assert_eq!(profile.client_name, name);
            // Grandine exposes no version metric.
            assert_eq!(
                profile.fields.client_version.is_some(),
                name != "grandine",
                "{name}"
            );
        }
    }

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
        // Teku's label since 21.3: the bare release, or a build between releases.
        assert_eq!(release_version("26.8.0"), "26.8.0");
        assert_eq!(release_version("26.8.0+12-gabc1234"), "26.8.0+12-gabc1234");
    }

    #[test]
    fn slot_distance_is_the_fallback_when_the_own_signal_is_absent() {
        let exposition = Exposition::parse(b"beacon_head_slot 100\nslotclock_present_slot 101\n")
            .expect("valid");
        let snapshot = map_beacon_node(&builtin("lighthouse"), &exposition);
        assert_eq!(snapshot.synced, Some(true));
    }

    /// Every scrape under `fixtures/{client}/`, older shapes and the newest release's alike.
    fn fixture_scrapes(client: &str) -> Vec<std::path::PathBuf> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(client);
        let mut scrapes: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "prom"))
            .collect();
        scrapes.sort();
        scrapes
    }

    #[test]
    fn a_filtered_scrape_maps_like_a_whole_one() {
        let profiles = Profiles::builtin();
        for name in builtin_names() {
            let scrapes = fixture_scrapes(name);
            // An older shape and the newest release's, at least.
            assert!(scrapes.len() >= 2, "{name}: {scrapes:?}");
            for path in scrapes {
                let body = std::fs::read(&path).expect("fixture readable");
                let whole = Exposition::parse(body.as_slice()).expect("fixture parses");
                let fixed = ClientChoice::Fixed(builtin(name));
                for choice in [ClientChoice::Auto, fixed] {
                    let wanted = profiles.wanted(&choice);
                    let part =
                        Exposition::parse_wanted(body.as_slice(), whole.syntax(), Some(&wanted))
                            .expect("parses");
                    let path = path.display();
                    assert!(
                        part.len() < whole.len(),
                        "{path}: the filter skips the families no rule reads"
                    );
                    let profile = profiles.select(&choice, &part).expect("detected");
                    assert_eq!(profile.client_name, name);
                    assert_eq!(
                        map_beacon_node(&profile, &part),
                        map_beacon_node(&profile, &whole),
                        "{path}"
                    );
                    assert_eq!(
                        map_validator(&profile, &part),
                        map_validator(&profile, &whole),
                        "{path}"
                    );
                }
            }
        }
    }

    #[test]
    fn validator_fallback_flags_from_each_clients_own_metrics() {
        let validator = |client: &str, text: &str| {
            let exposition = Exposition::parse(text.as_bytes()).expect("valid");
            let snapshot = map_validator(&builtin(client), &exposition);
            (
                snapshot.beacon_fallback_configured,
                snapshot.beacon_fallback_connected,
            )
        };
        // Lighthouse's own gauges first; an older release only counts its beacon nodes.
        assert_eq!(
            validator(
                "lighthouse",
                "sync_eth2_fallback_configured 1\nsync_eth2_fallback_connected 1\n\
                 vc_beacon_nodes_total_count 2\n"
            ),
            (Some(true), Some(true))
        );
        assert_eq!(
            validator("lighthouse", "vc_beacon_nodes_total_count 2\n"),
            (Some(true), None)
        );
        assert_eq!(
            validator("lighthouse", "vc_beacon_nodes_total_count 1\n"),
            (Some(false), None)
        );
        // Lodestar: one score series per beacon node URL.
        assert_eq!(
            validator(
                "lodestar",
                "vc_rest_api_client_urls_score{urlIndex=\"0\"} 10\n\
                 vc_rest_api_client_urls_score{urlIndex=\"1\"} 3\n"
            ),
            (Some(true), None)
        );
        assert_eq!(
            validator(
                "lodestar",
                "vc_rest_api_client_urls_score{urlIndex=\"0\"} 10\n"
            ),
            (Some(false), None)
        );
        assert_eq!(
            validator("teku", "validator_local_validator_counts 1\n"),
            (None, None)
        );
    }

    #[test]
    fn nan_flag_is_unknown() {
        let exposition =
            Exposition::parse(b"sync_eth1_connected NaN\nbeacon_head_slot 5\n").expect("valid");
        let snapshot = map_beacon_node(&builtin("lighthouse"), &exposition);
        assert_eq!(snapshot.execution_connected, None);
        assert_eq!(snapshot.synced, None, "no clock slot, no signal: unknown");
    }

    #[test]
    fn a_running_slasher_is_read_where_the_client_shows_it() {
        let slasher = |client: &str, text: &str| {
            let exposition = Exposition::parse(text.as_bytes()).expect("valid");
            map_beacon_node(&builtin(client), &exposition).slasher_active
        };
        // Prysm registers its slasher's counters with or without `--slasher`.
        let prysm = "# TYPE slasher_blocks_received_total counter\nslasher_blocks_received_total";
        assert_eq!(slasher("prysm", &format!("{prysm} 0\n")), Some(false));
        assert_eq!(slasher("prysm", &format!("{prysm} 1234\n")), Some(true));
        assert_eq!(
            slasher("prysm", "beacon_head_slot 5\n"),
            None,
            "an older Prysm"
        );
        // Lighthouse counts its slasher's task while it runs, beside its other tasks.
        let lighthouse = "# TYPE blocking_tasks_count gauge\n\
            blocking_tasks_count{blocking_task_count=\"slasher_server_processor\"} 1\n\
            blocking_tasks_count{blocking_task_count=\"beacon_processor\"} 4\n";
        assert_eq!(slasher("lighthouse", lighthouse), Some(true));
        let without = "blocking_tasks_count{blocking_task_count=\"beacon_processor\"} 4\n";
        assert_eq!(slasher("lighthouse", without), Some(false));
        let ended = "blocking_tasks_count{blocking_task_count=\"slasher_server_processor\"} 0\n";
        assert_eq!(slasher("lighthouse", ended), Some(false));
        assert_eq!(
            slasher("lighthouse", "libp2p_peers 3\n"),
            None,
            "no task counts"
        );
        // A client with no slasher says nothing of one.
        assert_eq!(slasher("teku", "beacon_head_slot 5\n"), None);
    }

    #[test]
    fn detection_order_and_an_unknown_scrape() {
        let profiles = Profiles::builtin();
        let detect = |text: &str| {
            let exposition = Exposition::parse(text.as_bytes()).expect("valid exposition");
            profiles
                .detect(&exposition)
                .map(|(profile, _)| profile.client_name.clone())
        };
        assert_eq!(
            detect("prysm_version{version=\"v5\"} 1\n").as_deref(),
            Ok("prysm")
        );
        assert_eq!(
            detect("validator_teku_version_total{version=\"x\"} 1\n").as_deref(),
            Ok("teku")
        );
        assert_eq!(detect("nbc_peers 3\n").as_deref(), Ok("nimbus"));
        assert_eq!(
            detect("GRANDINE_USED_MEMORY 1\n").as_deref(),
            Ok("grandine")
        );
        assert_eq!(
            detect("version{version=\"v1\"} 1\nlodestar_version{version=\"v1\"} 1\n").as_deref(),
            Ok("lodestar"),
            "an exact marker beats Nimbus's loose one"
        );
        let message = detect("up 1\nversion 3\n")
            .expect_err("no signature")
            .to_string();
        assert!(message.contains("prysm_version"), "{message}");
        assert!(message.contains("nbc_*"), "{message}");
        assert!(message.contains("--client"), "{message}");
    }

    #[test]
    fn a_wrong_profile_names_the_line_the_key_and_what_was_expected() {
        let err = Profile::from_toml(
            "client_name = \"x\"\ndetect = [\"x_info\"]\n[fields]\nvalidator_totl = \"a\"\n",
        )
        .expect_err("unknown field");
        assert!(err.contains("line 4"), "{err}");
        assert!(err.contains("validator_totl"), "{err}");
        assert!(
            err.contains("validator_total"),
            "lists the valid ones: {err}"
        );

        let err = Profile::from_toml(
            "client_name = \"x\"\ndetect = [\"x_info\"]\n[fields]\n\
             sync_beacon_head_slot = { metric = \"a\", sum = \"b\" }\n",
        )
        .expect_err("two kinds");
        assert!(err.contains("line 4"), "{err}");
        assert!(err.contains("metric and sum together"), "{err}");

        let err = Profile::from_toml("client_name = \"x\"\ndetect = []\n").expect_err("no detect");
        assert!(err.contains("`detect`"), "{err}");
    }
}
