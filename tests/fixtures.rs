//! Every bundled fixture scrape maps to the payload stored beside it, is detected as its client, and
//! Prysm's own client-stats test cases (in ../shared/peer-cases) give the answers Prysm asserts.

mod common;

use nodepulse::agent::profiles::{self, ClientChoice, Profiles};
use nodepulse::wire::client_stats::{self, StatsObject};
use nodepulse::wire::exposition::Exposition;
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

/// A client, a process, and fields with the values worked out by hand.
type HandWorked = (&'static str, &'static str, &'static [(&'static str, u64)]);

/// The stored expected payloads guard against change; these guard against being wrong. Each value
/// was worked out by hand from the scrape's lines (quoted in the comments), not by running the
/// code, so a wrong mapping fails here even if `--update` rewrote the JSON files.
#[test]
fn key_fields_match_values_read_from_the_scrapes_by_hand() {
    let cases: [HandWorked; 11] = [
        // beacon_head_slot 1.0123456e+07; p2p_peer_count{state="Connected"} 72 (not Bad/Connecting);
        // bcnode_disk_beaconchain_bytes_total 1.58421317632e+11; process_cpu_seconds_total 48213.57
        (
            "prysm",
            "beacon",
            &[
                ("sync_beacon_head_slot", 10_123_456),
                ("network_peers_connected", 72),
                ("disk_beaconchain_bytes_total", 158_421_317_632),
                ("cpu_process_seconds_total", 48_213),
                ("memory_process_bytes", 5_821_452_288),
            ],
        ),
        // four validator_statuses series, three of them 3 (ACTIVE), one 2 (PENDING)
        (
            "prysm",
            "validator",
            &[("validator_total", 4), ("validator_active", 3)],
        ),
        // store_disk_db_size 131938172928 + store_freezer_db_size 65231880192; Inbound over three
        // protocol sets 841110000000 + 122880000000 + 1024; Outbound 639120000000 + 99000000000 + 512
        (
            "lighthouse",
            "beacon",
            &[
                ("sync_beacon_head_slot", 10_123_456),
                ("network_peers_connected", 88),
                ("disk_beaconchain_bytes_total", 197_170_053_120),
                ("network_libp2p_bytes_total_receive", 963_990_001_024),
                ("network_libp2p_bytes_total_transmit", 738_120_000_512),
                ("cpu_process_seconds_total", 93_511),
            ],
        ),
        // vc_validators_total_count 16, vc_validators_enabled_count 15
        (
            "lighthouse",
            "validator",
            &[("validator_total", 16), ("validator_active", 15)],
        ),
        // beacon_head_slot 1.0123455E7, libp2p_peers 95.0, process_resident_memory_bytes 8.925544448E9
        (
            "teku",
            "beacon",
            &[
                ("sync_beacon_head_slot", 10_123_455),
                ("network_peers_connected", 95),
                ("memory_process_bytes", 8_925_544_448),
            ],
        ),
        // validator_local_validator_counts: 2 pending_queued + 30 active_ongoing + 1 exited_unslashed
        (
            "teku",
            "validator",
            &[("validator_total", 33), ("validator_active", 30)],
        ),
        // nbc_peers 160.0; libp2p_network_bytes_total{direction="in"} 9.8711224e10, "out" 7.2251011e10
        (
            "nimbus",
            "beacon",
            &[
                ("sync_beacon_head_slot", 10_123_456),
                ("network_peers_connected", 160),
                ("network_libp2p_bytes_total_receive", 98_711_224_000),
                ("network_libp2p_bytes_total_transmit", 72_251_011_000),
                ("cpu_process_seconds_total", 61_233),
            ],
        ),
        // libp2p_data_transfer_bytes_total{protocol="global received"} 412398331904 and
        // "global sent" 300112912384 (not the per-protocol series); lodestar_db_size_bytes_total
        (
            "lodestar",
            "beacon",
            &[
                ("sync_beacon_head_slot", 10_123_440),
                ("network_peers_connected", 50),
                ("disk_beaconchain_bytes_total", 171_798_691_840),
                ("network_libp2p_bytes_total_receive", 412_398_331_904),
                ("network_libp2p_bytes_total_transmit", 300_112_912_384),
            ],
        ),
        // vc_signers_count 10 (keys loaded), vc_indices_count 8 (keys with an index)
        (
            "lodestar",
            "validator",
            &[
                ("validator_total", 10),
                ("validator_active", 8),
                ("cpu_process_seconds_total", 4_301),
            ],
        ),
        // GRANDINE_TOTAL_CPU_SECONDS 38422, GRANDINE_USED_MEMORY 6013792256,
        // GRANDINE_DISK_USAGE 248771930112, libp2p_peers 74
        (
            "grandine",
            "beacon",
            &[
                ("cpu_process_seconds_total", 38_422),
                ("memory_process_bytes", 6_013_792_256),
                ("disk_beaconchain_bytes_total", 248_771_930_112),
                ("network_peers_connected", 74),
                ("sync_beacon_head_slot", 10_123_456),
            ],
        ),
        // process_resident_memory_bytes 389111808 of the validator client
        (
            "lodestar",
            "validator",
            &[("memory_process_bytes", 389_111_808)],
        ),
    ];
    let mut clients: Vec<&str> = cases.iter().map(|(client, _, _)| *client).collect();
    clients.dedup();
    assert_eq!(
        clients.len(),
        CONSENSUS_FIXTURES.len() + 1,
        "every client has a case"
    );
    for (client, process, fields) in cases {
        let scrape = common::fixture(&format!("{client}/{process}.prom"));
        let got = mapped(&scrape, process, ClientChoice::Auto);
        for (field, want) in fields {
            assert_eq!(got[*field], *want, "{client}/{process}: {field} in {got}");
        }
    }
}

/// The fixture scrapes were taken without a slasher; the same scrapes with one running carry
/// `slasher_active`, from the client's own metrics.
#[test]
fn a_running_slasher_is_in_the_payload() {
    let with = |name: &str, lines: &str| {
        let mut body = common::fixture(&format!("{name}/beacon.prom"));
        body.extend_from_slice(lines.as_bytes());
        mapped(&body, "beacon", ClientChoice::Auto)
    };
    let prysm = with(
        "prysm",
        "# HELP slasher_blocks_received_total Blocks received by the slasher\n\
         # TYPE slasher_blocks_received_total counter\nslasher_blocks_received_total 412\n",
    );
    assert_eq!(prysm["slasher_active"], true, "{prysm}");
    let idle = with("prysm", "slasher_blocks_received_total 0\n");
    assert_eq!(idle["slasher_active"], false, "{idle}");
    let lighthouse = with(
        "lighthouse",
        "blocking_tasks_count{blocking_task_count=\"slasher_server_processor\"} 1\n",
    );
    assert_eq!(lighthouse["slasher_active"], true, "{lighthouse}");
    // Without: left out, as every fixture's payload shows.
    assert!(
        expected("prysm/beacon.json")
            .get("slasher_active")
            .is_none()
    );
}
