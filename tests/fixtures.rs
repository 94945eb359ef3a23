//! Every bundled fixture scrape maps to the payload stored beside it, is detected as its client, and
//! Prysm's own client-stats test cases (in ../shared/peer-cases) give the answers Prysm asserts.

use nodepulse::agent::profiles::{self, ClientChoice, Profiles};
use nodepulse::wire::client_stats::{self, StatsObject};
use nodepulse::wire::exposition::Exposition;
use serde_json::Value;

use crate::common::{CONSENSUS_FIXTURES, NEWEST_FIXTURES};

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
    serde_json::from_slice(&crate::common::fixture(path)).expect("expected payload is JSON")
}

/// A fixture scrape, the process it is read as, the client it comes from, and its expected payload.
struct Case {
    scrape: String,
    process: &'static str,
    client: &'static str,
    expected: String,
}

/// Every fixture case: the older shapes (`{client}/{process}.prom`) and the newest releases'
/// (`{client}/{process}-{release}.prom`, where Nimbus and Grandine read their validator object
/// from the beacon node's scrape).
fn every_case() -> Vec<Case> {
    let mut cases = Vec::new();
    for (client, has_validator) in CONSENSUS_FIXTURES {
        for process in ["beacon", "validator"] {
            if process == "validator" && !has_validator {
                continue;
            }
            cases.push(Case {
                scrape: format!("{client}/{process}.prom"),
                process,
                client,
                expected: format!("{client}/{process}.json"),
            });
        }
    }
    for (client, release, validator_scrape) in NEWEST_FIXTURES {
        for (process, scrape) in [("beacon", "beacon"), ("validator", validator_scrape)] {
            cases.push(Case {
                scrape: format!("{client}/{scrape}-{release}.prom"),
                process,
                client,
                expected: format!("{client}/{process}-{release}.json"),
            });
        }
    }
    cases
}

#[test]
fn every_fixture_maps_to_its_expected_payload() {
    let cases = every_case();
    for case in &cases {
        let got = mapped(
            &crate::common::fixture(&case.scrape),
            case.process,
            ClientChoice::Auto,
        );
        let want = expected(&case.expected);
        assert_eq!(
            got,
            want,
            "{} as {}:\n got: {}\nwant: {}",
            case.scrape,
            case.process,
            serde_json::to_string_pretty(&got).unwrap_or_default(),
            serde_json::to_string_pretty(&want).unwrap_or_default()
        );
    }
    assert_eq!(cases.len(), 10 + 2 * NEWEST_FIXTURES.len());
}

#[test]
fn detection_picks_each_fixtures_client() {
    let profiles = Profiles::builtin();
    for case in every_case() {
        let body = crate::common::fixture(&case.scrape);
        let exposition = Exposition::parse(&body).expect("parses");
        let (detected, signature) = profiles.detect(&exposition).expect("detected");
        assert_eq!(
            detected.client_name, case.client,
            "{} (matched {signature})",
            case.scrape
        );
    }
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
    let body = crate::common::fixture("lighthouse/beacon.prom");
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
        &crate::common::fixture("prysm/validator.prom"),
        "validator_statuses",
    );
    let got = mapped(&body, "validator", ClientChoice::Auto);
    assert!(got.get("validator_total").is_none(), "{got}");
    assert!(got.get("validator_active").is_none(), "{got}");
}

#[test]
fn a_forced_client_maps_with_its_own_profile() {
    let got = mapped(
        &crate::common::fixture("lighthouse/beacon.prom"),
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

/// A scrape, the process it is read as, and fields with the values worked out by hand.
type HandWorked = (&'static str, &'static str, &'static [(&'static str, u64)]);

/// The stored expected payloads guard against change; these guard against being wrong. Each value
/// was worked out by hand from the scrape's lines (quoted in the comments), not by running the
/// code, so a wrong mapping fails here even if `--update` rewrote the JSON files.
#[test]
fn key_fields_match_values_read_from_the_scrapes_by_hand() {
    let cases: [HandWorked; 22] = [
        // beacon_head_slot 1.0123456e+07; p2p_peer_count{state="Connected"} 72 (not Bad/Connecting);
        // bcnode_disk_beaconchain_bytes_total 1.58421317632e+11; process_cpu_seconds_total 48213.57
        (
            "prysm/beacon.prom",
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
            "prysm/validator.prom",
            "validator",
            &[("validator_total", 4), ("validator_active", 3)],
        ),
        // store_disk_db_size 131938172928 + store_freezer_db_size 65231880192; Inbound over three
        // protocol sets 841110000000 + 122880000000 + 1024; Outbound 639120000000 + 99000000000 + 512
        (
            "lighthouse/beacon.prom",
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
            "lighthouse/validator.prom",
            "validator",
            &[("validator_total", 16), ("validator_active", 15)],
        ),
        // beacon_head_slot 1.0123455E7, libp2p_peers 95.0, process_resident_memory_bytes 8.925544448E9
        (
            "teku/beacon.prom",
            "beacon",
            &[
                ("sync_beacon_head_slot", 10_123_455),
                ("network_peers_connected", 95),
                ("memory_process_bytes", 8_925_544_448),
            ],
        ),
        // validator_local_validator_counts: 2 pending_queued + 30 active_ongoing + 1 exited_unslashed
        (
            "teku/validator.prom",
            "validator",
            &[("validator_total", 33), ("validator_active", 30)],
        ),
        // nbc_peers 160.0; libp2p_network_bytes_total{direction="in"} 9.8711224e10, "out" 7.2251011e10
        (
            "nimbus/beacon.prom",
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
            "lodestar/beacon.prom",
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
            "lodestar/validator.prom",
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
            "grandine/beacon.prom",
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
            "lodestar/validator.prom",
            "validator",
            &[("memory_process_bytes", 389_111_808)],
        ),
        // ---- The newest releases' shapes ----
        // prysm 7.1.8: p2p_peer_count{state="Connected"} 68 (agents 2+2+23+4+5+20+8+4 = 68 too);
        // bcnode_disk_beaconchain_bytes_total 1.8765432832e+11 + blob_disk_bytes 0;
        // prysm_version{buildDate="1785170513",...}; beacon_head_slot 1.4881569e+07
        (
            "prysm/beacon-7.1.8.prom",
            "beacon",
            &[
                ("network_peers_connected", 68),
                ("disk_beaconchain_bytes_total", 187_654_328_320),
                ("client_build", 1_785_170_513),
                ("sync_beacon_head_slot", 14_881_569),
                ("cpu_process_seconds_total", 230_276),
            ],
        ),
        // six validator_statuses series: 3, 2, 3, 3, 3, 0
        (
            "prysm/validator-7.1.8.prom",
            "validator",
            &[("validator_total", 6), ("validator_active", 4)],
        ),
        // store_disk_db_size 176839213056 + store_freezer_db_size 24410861568; Inbound over four
        // protocol sets 311882011204 + 204117300882 + 48211930551 + 31004118337; Outbound
        // 241009881390 + 159660204117 + 37118004220 + 26551390018
        (
            "lighthouse/beacon-5.3.0.prom",
            "beacon",
            &[
                ("disk_beaconchain_bytes_total", 201_250_074_624),
                ("network_libp2p_bytes_total_receive", 595_215_360_974),
                ("network_libp2p_bytes_total_transmit", 464_339_479_745),
                ("network_peers_connected", 98),
                ("sync_beacon_head_slot", 13_374_211),
            ],
        ),
        // vc_validators_total_count 16; vc_beacon_attester_count{task="current_epoch"} 14 (not
        // vc_validators_enabled_count 15)
        (
            "lighthouse/validator-5.3.0.prom",
            "validator",
            &[("validator_total", 16), ("validator_active", 14)],
        ),
        // beacon_head_slot 1.3000127E7; libp2p_peers 100.0; process_resident_memory_bytes 7.301234688E9
        (
            "teku/beacon-26.8.0.prom",
            "beacon",
            &[
                ("sync_beacon_head_slot", 13_000_127),
                ("network_peers_connected", 100),
                ("memory_process_bytes", 7_301_234_688),
            ],
        ),
        // validator_local_validator_counts: active_ongoing 7 + active_exiting 1 + active_slashed 0
        // active, plus pending_queued 1 and unknown 1: 10 in all
        (
            "teku/validator-26.8.0.prom",
            "validator",
            &[("validator_total", 10), ("validator_active", 8)],
        ),
        // nbc_peers 158.0; libp2p_network_bytes_total{direction="in"} 1948736512345.0, "out"
        // 1461552384123.0; process_cpu_seconds_total 612345.67
        (
            "nimbus/beacon-24.9.0.prom",
            "beacon",
            &[
                ("network_peers_connected", 158),
                ("network_libp2p_bytes_total_receive", 1_948_736_512_345),
                ("network_libp2p_bytes_total_transmit", 1_461_552_384_123),
                ("cpu_process_seconds_total", 612_345),
            ],
        ),
        // validators 8.0; validator_monitor_active{validator="total"} 7.0
        (
            "nimbus/beacon-24.9.0.prom",
            "validator",
            &[("validator_total", 8), ("validator_active", 7)],
        ),
        // libp2p_data_transfer_bytes_total{protocol="global received"} 1684739254277, "global sent"
        // 1213551616493; lodestar_db_size_bytes_total 231458709504; libp2p_peers 198
        (
            "lodestar/beacon-1.44.0.prom",
            "beacon",
            &[
                ("network_libp2p_bytes_total_receive", 1_684_739_254_277),
                ("network_libp2p_bytes_total_transmit", 1_213_551_616_493),
                ("disk_beaconchain_bytes_total", 231_458_709_504),
                ("network_peers_connected", 198),
            ],
        ),
        // vc_signers_count 16, vc_indices_count 15
        (
            "lodestar/validator-1.44.0.prom",
            "validator",
            &[("validator_total", 16), ("validator_active", 15)],
        ),
        // libp2p_bandwidth_bytes_total Inbound 318774512903 + 452118004117 + 97552318440 +
        // 214660903512, Outbound 287091774306 + 336502118947 + 81307662115 + 158993420772;
        // GRANDINE_DISK_USAGE 171842906112; libp2p_peers 94
        (
            "grandine/beacon-2.0.0.prom",
            "beacon",
            &[
                ("network_libp2p_bytes_total_receive", 1_083_105_738_972),
                ("network_libp2p_bytes_total_transmit", 863_894_976_140),
                ("disk_beaconchain_bytes_total", 171_842_906_112),
                ("network_peers_connected", 94),
                ("sync_beacon_head_slot", 13_377_597),
            ],
        ),
    ];

    let mut clients: Vec<&str> = cases
        .iter()
        .filter_map(|(scrape, _, _)| scrape.split('/').next())
        .collect();
    clients.sort_unstable();
    clients.dedup();
    assert_eq!(
        clients.len(),
        CONSENSUS_FIXTURES.len(),
        "every client has a case"
    );
    for (scrape, process, fields) in cases {
        let got = mapped(&crate::common::fixture(scrape), process, ClientChoice::Auto);
        for (field, want) in fields {
            assert_eq!(
                got[*field], *want,
                "{scrape} as {process}: {field} in {got}"
            );
        }
    }
}

/// The fixture scrapes were taken without a slasher; the same scrapes with one running carry
/// `slasher_active`, from the client's own metrics.
#[test]
fn a_running_slasher_is_in_the_payload() {
    let with = |name: &str, lines: &str| {
        let mut body = crate::common::fixture(&format!("{name}/beacon.prom"));
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

/// The newest release's scrape of `client`'s `process`, with `replace` applied to its text.
fn newest_edited(client: &str, scrape: &str, replace: &[(&str, &str)]) -> Vec<u8> {
    let (_, release, _) = NEWEST_FIXTURES
        .iter()
        .find(|(name, _, _)| *name == client)
        .expect("a newest fixture");
    let mut text = String::from_utf8(crate::common::fixture(&format!(
        "{client}/{scrape}-{release}.prom"
    )))
    .expect("fixture is UTF-8");
    for (from, to) in replace {
        assert!(text.contains(from), "{client}: {from:?} is in the fixture");
        text = text.replace(from, to);
    }
    text.into_bytes()
}

/// A Teku validator client counts its requests per endpoint with one beacon node as with several:
/// a fallback is a second endpoint, not the family's presence.
#[test]
fn teku_reports_a_fallback_only_for_a_second_endpoint() {
    let one = mapped(
        &newest_edited("teku", "validator", &[]),
        "validator",
        ClientChoice::Auto,
    );
    assert_eq!(one["sync_eth2_fallback_configured"], false, "{one}");
    // A request relayed to a ready failover adds its endpoint.
    let failover = "validator_remote_beacon_nodes_requests_total{endpoint=\"http://10.0.0.6:5051/\",\
        method=\"publish_attestation\",outcome=\"success\"} 12.0\n# HELP validator_teku_version_total";
    let two = mapped(
        &newest_edited(
            "teku",
            "validator",
            &[("# HELP validator_teku_version_total", failover)],
        ),
        "validator",
        ClientChoice::Auto,
    );
    assert_eq!(two["sync_eth2_fallback_configured"], true, "{two}");
    assert!(two.get("sync_eth2_fallback_connected").is_none(), "{two}");
}

/// Teku's version label is the bare release now; the long form some tools show reads as before.
#[test]
fn teku_version_reads_in_both_shapes() {
    let bare = mapped(
        &newest_edited("teku", "beacon", &[]),
        "beacon",
        ClientChoice::Auto,
    );
    assert_eq!(bare["client_version"], "26.8.0");
    let long = mapped(
        &newest_edited(
            "teku",
            "beacon",
            &[(
                "{version=\"26.8.0\"}",
                "{version=\"teku/v26.8.0/linux-x86_64/-eclipseadoptium-openjdk64bitservervm-java-21\"}",
            )],
        ),
        "beacon",
        ClientChoice::Auto,
    );
    assert_eq!(long["client_version"], "v26.8.0");
}

/// Nimbus counts its attached validators and, per validator or in total, the active ones; two
/// execution URLs in its engine API responses are a fallback.
#[test]
fn nimbus_fills_validator_counts_and_its_execution_fallback() {
    // `--validator-monitor-details`: one 0/1 series per validator instead of the total.
    let details = newest_edited(
        "nimbus",
        "beacon",
        &[(
            "validator_monitor_active{validator=\"total\"} 7.0",
            "validator_monitor_active{validator=\"8f2c1a03\"} 1.0\n\
             validator_monitor_active{validator=\"a1b2c3d4\"} 1.0\n\
             validator_monitor_active{validator=\"c0ffee12\"} 0.0",
        )],
    );
    let got = mapped(&details, "validator", ClientChoice::Auto);
    assert_eq!(got["validator_active"], 2, "{got}");
    assert_eq!(got["validator_total"], 8, "{got}");
    // One `--el` URL: every response carries the same url.
    let one_url = newest_edited(
        "nimbus",
        "beacon",
        &[(
            "url=\"http://10.0.4.12:8551\"",
            "url=\"http://127.0.0.1:8551\"",
        )],
    );
    let got = mapped(&one_url, "beacon", ClientChoice::Auto);
    assert_eq!(got["sync_eth1_fallback_configured"], false, "{got}");
    assert!(got.get("sync_eth1_connected").is_none(), "{got}");
}

/// Current Prysm has no `libp2p_peers`: peers come from its peer states, or else its count by
/// agent; blobs on disk are part of the beacon chain's disk use; its eth1 fallback gauges are gone.
#[test]
fn prysm_reads_peers_and_disk_where_current_releases_put_them() {
    let body = newest_edited("prysm", "beacon", &[]);
    assert!(
        !String::from_utf8_lossy(&body).contains("\nlibp2p_peers"),
        "the fixture has no libp2p_peers, as current releases"
    );
    let by_agent = without(&body, "p2p_peer_count");
    let got = mapped(&by_agent, "beacon", ClientChoice::Auto);
    // connected_libp2p_peers by agent: 2 + 2 + 23 + 4 + 5 + 20 + 8 + 4
    assert_eq!(got["network_peers_connected"], 68, "{got}");
    // Before Fulu a node keeps its blobs as such: 131072 bytes each, 3 per block over 18 days.
    let with_blobs = newest_edited(
        "prysm",
        "beacon",
        &[("blob_disk_bytes 0", "blob_disk_bytes 5.0960793600e+10")],
    );
    let got = mapped(&with_blobs, "beacon", ClientChoice::Auto);
    assert_eq!(
        got["disk_beaconchain_bytes_total"],
        187_654_328_320u64 + 50_960_793_600,
        "{got}"
    );
    // A release without blob storage: the database alone.
    let got = mapped(
        &without(&body, "blob_disk_bytes"),
        "beacon",
        ClientChoice::Auto,
    );
    assert_eq!(got["disk_beaconchain_bytes_total"], 187_654_328_320u64);
    for key in [
        "sync_eth1_fallback_configured",
        "sync_eth1_fallback_connected",
    ] {
        assert!(got.get(key).is_none(), "{key}: {got}");
    }
}

/// Lighthouse has no eth1 fallback metrics (only its own reporter names them); its validator client
/// says whether a synced fallback is there by how many of its beacon nodes are synced.
#[test]
fn lighthouse_reads_no_eth1_fallback_and_counts_synced_beacon_nodes() {
    let beacon = mapped(
        &newest_edited("lighthouse", "beacon", &[]),
        "beacon",
        ClientChoice::Auto,
    );
    for key in [
        "sync_eth1_fallback_configured",
        "sync_eth1_fallback_connected",
    ] {
        assert!(beacon.get(key).is_none(), "{key}: {beacon}");
    }
    // A release without its own fallback gauges: the counts say it.
    let body = newest_edited("lighthouse", "validator", &[]);
    let body = without(
        &without(&body, "sync_eth2_fallback_configured"),
        "sync_eth2_fallback_connected",
    );
    let synced = mapped(&body, "validator", ClientChoice::Auto);
    assert_eq!(synced["sync_eth2_fallback_configured"], true, "{synced}");
    assert_eq!(synced["sync_eth2_fallback_connected"], true, "{synced}");
    let text = String::from_utf8(body).expect("UTF-8");
    let one_synced = text.replace(
        "vc_beacon_nodes_synced_count 2",
        "vc_beacon_nodes_synced_count 1",
    );
    let got = mapped(one_synced.as_bytes(), "validator", ClientChoice::Auto);
    assert_eq!(got["sync_eth2_fallback_connected"], false, "{got}");
}
