//! Every bundled fixture scrape maps to the payload stored beside it, is detected as its client, and
//! Prysm's own client-stats test cases (in ../shared/peer-cases) give the answers Prysm asserts.

mod common;

use nodepulse::exposition::Exposition;
use nodepulse::formats::client_stats::{self, StatsObject};
use nodepulse::profiles::{self, ClientChoice, Profiles};
use serde_json::Value;

use common::CONSENSUS_FIXTURES;

/// The client-stats object one scrape maps to with the built-in profiles, as JSON without its
/// timestamp.
fn mapped(body: &[u8], process: &str, choice: ClientChoice) -> Value {
    mapped_with(&Profiles::builtin(), body, process, choice)
}

/// The same with `profiles`.
fn mapped_with(profiles: &Profiles, body: &[u8], process: &str, choice: ClientChoice) -> Value {
    let exposition = Exposition::parse(body).expect("fixture parses");
    let profile = profiles
        .select(&choice, &exposition)
        .expect("a profile reads it");
    let object = match process {
        "beacon" => StatsObject::BeaconNode(client_stats::beacon_node(
            &profiles::map_beacon_node(&profile, &exposition),
            0,
        )),
        _ => StatsObject::Validator(client_stats::validator_client(
            &profiles::map_validator(&profile, &exposition),
            0,
        )),
    };
    let mut json = serde_json::to_value(object).expect("serializes");
    json.as_object_mut().expect("an object").remove("timestamp");
    json
}

fn expected(path: &str) -> Value {
    serde_json::from_slice(&common::fixture(path)).expect("expected payload is JSON")
}

#[test]
fn every_fixture_maps_to_its_expected_payload() {
    let mut checked = 0;
    for (name, has_validator) in CONSENSUS_FIXTURES {
        for process in ["beacon", "validator"] {
            let scrape = format!("{name}/{process}.prom");
            if process == "validator" && !has_validator {
                continue;
            }
            let got = mapped(&common::fixture(&scrape), process, ClientChoice::Auto);
            let want = expected(&format!("{name}/{process}.json"));
            assert_eq!(
                got,
                want,
                "{scrape}:\n got: {}\nwant: {}",
                serde_json::to_string_pretty(&got).unwrap_or_default(),
                serde_json::to_string_pretty(&want).unwrap_or_default()
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 10);
}

#[test]
fn detection_picks_each_fixtures_client() {
    let profiles = Profiles::builtin();
    let mut checked = 0;
    for (name, has_validator) in CONSENSUS_FIXTURES {
        for process in ["beacon", "validator"] {
            let path = format!("{name}/{process}.prom");
            if process == "validator" && !has_validator {
                continue;
            }
            let body = common::fixture(&path);
            let exposition = Exposition::parse(&body).expect("parses");
            let (detected, signature) = profiles.detect(&exposition).expect("detected");
            assert_eq!(detected.client_name, name, "{path} (matched {signature})");
            checked += 1;
        }
    }
    assert_eq!(checked, 10);
}

/// Removes every line of a family from a scrape.
fn without(body: &[u8], family: &str) -> Vec<u8> {
    let text = String::from_utf8(body.to_vec()).expect("fixture is UTF-8");
    text.lines()
        .filter(|line| {
            let name = line
                .trim_start_matches("# HELP ")
                .trim_start_matches("# TYPE ");
            !(name.starts_with(family) && name[family.len()..].starts_with([' ', '{']))
        })
        .map(|line| format!("{line}\n"))
        .collect::<String>()
        .into_bytes()
}

#[test]
fn missing_metrics_are_left_out_not_zero() {
    let body = common::fixture("lighthouse/beacon.prom");
    let body = without(&body, "libp2p_peers");
    let body = without(&body, "store_freezer_db_size");
    let body = without(&body, "sync_eth2_synced");
    let body = without(&body, "slotclock_present_slot");
    let got = mapped(&body, "beacon", ClientChoice::Auto);
    for key in [
        "network_peers_connected",
        "disk_beaconchain_bytes_total",
        "sync_eth2_synced",
    ] {
        assert!(got.get(key).is_none(), "{key} must be absent: {got}");
    }
    assert_eq!(
        got["sync_beacon_head_slot"], 10_123_456,
        "the rest still maps"
    );

    let body = without(
        &common::fixture("prysm/validator.prom"),
        "validator_statuses",
    );
    let got = mapped(&body, "validator", ClientChoice::Auto);
    assert!(got.get("validator_total").is_none(), "{got}");
    assert!(got.get("validator_active").is_none(), "{got}");
}

#[test]
fn a_forced_client_maps_with_its_own_profile() {
    let got = mapped(
        &common::fixture("lighthouse/beacon.prom"),
        "beacon",
        ClientChoice::Fixed(Profiles::builtin().get("teku").expect("built in").clone()),
    );
    assert_eq!(got["client_name"], "teku");
    assert!(
        got.get("client_version").is_none(),
        "no Teku version metric in a Lighthouse scrape"
    );
    assert_eq!(got["network_peers_connected"], 88, "libp2p_peers is shared");
}

/// Prysm's own client-stats test cases, with the answers its tests assert.
#[test]
fn prysm_peer_cases_conform() {
    let dir = std::env::var("NODEPULSE_PEER_CASES").map_or_else(
        |_| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/peer-cases/prysm"),
        std::path::PathBuf::from,
    );
    let expectations: serde_json::Map<String, Value> = serde_json::from_slice(
        &std::fs::read(dir.join("expected.json")).unwrap_or_else(|err| {
            panic!(
                "Prysm's peer cases are missing at {} ({err}): the tests need the project's \
                     shared/ folder beside the repository (as CI lays it), or \
                     NODEPULSE_PEER_CASES naming the folder with expected.json",
                dir.display()
            )
        }),
    )
    .expect("expected.json is JSON");
    assert_eq!(expectations.len(), 5);
    for (file, want) in expectations {
        let body = std::fs::read(dir.join(&file)).expect("peer case scrape");
        let want = want.as_object().expect("expectations are objects");
        let process = if want["process"] == "validator" {
            "validator"
        } else {
            "beacon"
        };
        let got = mapped(&body, process, ClientChoice::Auto);
        for (key, value) in want {
            match key.strip_suffix("_contains") {
                Some(field) => {
                    let text = got[field].as_str().unwrap_or_default();
                    let part = value.as_str().expect("a string");
                    assert!(
                        text.contains(part),
                        "{file}: {field} = {text:?} lacks {part:?}"
                    );
                }
                None => assert_eq!(&got[key], value, "{file}: {key} in {got}"),
            }
        }
    }
}
