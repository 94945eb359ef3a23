//! Parse, detect and map with every profile, then encode client-stats: never a panic, and never a
//! negative or fractional number in the payload, whatever the scrape says.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nodepulse::wire::exposition::Exposition;
use nodepulse::wire::client_stats;
use nodepulse::agent::profiles::{self, Profiles};

fuzz_target!(|body: &[u8]| {
    let Ok(exposition) = Exposition::parse(body) else {
        return;
    };
    let profiles = Profiles::builtin();
    let _ = profiles.detect(&exposition);
    for profile in profiles.iter() {
        let beacon = client_stats::beacon_node(&profiles::map_beacon_node(profile, &exposition), 0);
        let validator =
            client_stats::validator_client(&profiles::map_validator(profile, &exposition), 0);
        for object in [
            serde_json::to_value(beacon).expect("serializes"),
            serde_json::to_value(validator).expect("serializes"),
        ] {
            for value in object.as_object().expect("an object").values() {
                if let Some(number) = value.as_number() {
                    assert!(number.is_u64(), "{object}");
                }
            }
        }
    }
});
