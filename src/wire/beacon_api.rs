//! The beacon node's standard REST API (ethereum/beacon-APIs), as far as the validator report
//! reads it: the answers' shapes and their decoding. Pure: the agent asks, this reads.
//!
//! The specification sends 64-bit numbers as decimal strings; some clients send JSON numbers
//! instead (Lodestar 1.5.1's liveness answer), so every number here takes either.

use std::collections::HashMap;
use std::fmt;

use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

/// Every answer wraps its content in `data`.
#[derive(Deserialize)]
struct Envelope<T> {
    data: T,
}

/// Reads an answer's `data` as `T`; the error says what did not fit and where.
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    serde_json::from_slice::<Envelope<T>>(body)
        .map(|envelope| envelope.data)
        .map_err(|err| format!("unexpected answer: {err}"))
}

/// The error message of a refused request (`{"code": 404, "message": "..."}`), or the start of a
/// plain-text body.
pub fn refusal_message(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct Refusal {
        message: String,
    }
    match serde_json::from_slice::<Refusal>(body) {
        Ok(refusal) => refusal.message.chars().take(300).collect(),
        Err(_) => String::from_utf8_lossy(body).chars().take(300).collect(),
    }
}

/// `GET /eth/v1/beacon/genesis`
#[derive(Debug, Deserialize)]
pub struct Genesis {
    #[serde(deserialize_with = "number")]
    pub genesis_time: u64,
}

/// The two figures of `GET /eth/v1/config/spec` the slot clock needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotTimes {
    pub seconds_per_slot: u64,
    pub slots_per_epoch: u64,
}

impl SlotTimes {
    /// From the spec's string map; both must be there, within what any chain uses (a slot of 1 s
    /// to an hour, 1 to 1,024 slots an epoch: mainnet has 12 and 32), so that time arithmetic
    /// never overflows.
    pub fn from_spec(spec: &HashMap<String, serde_json::Value>) -> Result<SlotTimes, String> {
        let read = |key: &str, most: u64| {
            let value = spec
                .get(key)
                .ok_or_else(|| format!("the spec lacks {key}"))?;
            value
                .as_str()
                .and_then(|text| text.parse::<u64>().ok())
                .or_else(|| value.as_u64())
                .filter(|n| (1..=most).contains(n))
                .ok_or_else(|| {
                    format!("the spec's {key} is not a number from 1 to {most}: {value}")
                })
        };
        Ok(SlotTimes {
            seconds_per_slot: read("SECONDS_PER_SLOT", 3600)?,
            slots_per_epoch: read("SLOTS_PER_EPOCH", 1024)?,
        })
    }
}

/// `GET /eth/v1/node/syncing`
#[derive(Debug, Deserialize)]
pub struct Syncing {
    #[serde(deserialize_with = "number")]
    pub head_slot: u64,
    pub is_syncing: bool,
}

/// One entry of `GET /eth/v1/validator/duties/proposer/{epoch}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct ProposerDuty {
    #[serde(deserialize_with = "number")]
    pub validator_index: u64,
    #[serde(deserialize_with = "number")]
    pub slot: u64,
}

/// One entry of the liveness answer (the standard POST and Lodestar's GET alike).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct Liveness {
    #[serde(deserialize_with = "number")]
    pub index: u64,
    pub is_live: bool,
}

/// `POST /eth/v1/beacon/rewards/attestations/{epoch}`
#[derive(Debug, Deserialize)]
pub struct AttestationRewards {
    pub total_rewards: Vec<AttestationReward>,
}

/// One validator's attestation rewards, in gwei (negative: a penalty).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct AttestationReward {
    #[serde(deserialize_with = "number")]
    pub validator_index: u64,
    #[serde(deserialize_with = "signed")]
    pub head: i64,
    #[serde(deserialize_with = "signed")]
    pub target: i64,
    #[serde(deserialize_with = "signed")]
    pub source: i64,
}

/// `GET /eth/v1/beacon/headers/{slot}`
#[derive(Debug, Deserialize)]
pub struct HeaderAnswer {
    pub root: String,
    pub header: SignedHeader,
}

#[derive(Debug, Deserialize)]
pub struct SignedHeader {
    pub message: HeaderMessage,
}

#[derive(Debug, Deserialize)]
pub struct HeaderMessage {
    #[serde(deserialize_with = "number")]
    pub slot: u64,
    #[serde(deserialize_with = "number")]
    pub proposer_index: u64,
}

/// One entry of `.../states/{state}/validators`.
#[derive(Debug, Clone, Deserialize)]
pub struct ValidatorState {
    #[serde(deserialize_with = "number")]
    pub index: u64,
    #[serde(deserialize_with = "number")]
    pub balance: u64,
    pub status: String,
    pub validator: ValidatorRecord,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ValidatorRecord {
    pub pubkey: String,
    #[serde(deserialize_with = "number")]
    pub effective_balance: u64,
}

/// One entry of `POST /eth/v1/validator/duties/sync/{epoch}`: a member of the sync committee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct SyncDuty {
    #[serde(deserialize_with = "number")]
    pub validator_index: u64,
}

/// One entry of `POST /eth/v1/beacon/rewards/sync_committee/{block}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct SyncReward {
    #[serde(deserialize_with = "number")]
    pub validator_index: u64,
    #[serde(deserialize_with = "signed")]
    pub reward: i64,
}

/// The body of the POST routes that take validator indices: a JSON array of decimal strings.
pub fn index_list(indices: &[u64]) -> String {
    let strings: Vec<String> = indices.iter().map(u64::to_string).collect();
    serde_json::to_string(&strings).unwrap_or_else(|_| "[]".into())
}

/// The body of `POST .../states/{state}/validators`.
#[derive(Debug, Serialize)]
pub struct ValidatorQuery<'a> {
    pub ids: &'a [String],
}

fn number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    deserializer.deserialize_any(NumberOrString::<u64>(std::marker::PhantomData))
}

fn signed<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    deserializer.deserialize_any(NumberOrString::<i64>(std::marker::PhantomData))
}

/// A JSON integer or a decimal string holding one.
struct NumberOrString<T>(std::marker::PhantomData<T>);

impl<T> Visitor<'_> for NumberOrString<T>
where
    T: TryFrom<u64> + TryFrom<i64> + std::str::FromStr,
{
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer, or a decimal string holding one")
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<T, E> {
        T::try_from(n).map_err(|_| E::custom(format!("{n} is out of range")))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<T, E> {
        T::try_from(n).map_err(|_| E::custom(format!("{n} is out of range")))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<T, E> {
        text.parse()
            .map_err(|_| E::custom(format!("{text:?} is not an integer")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_come_as_strings_or_numbers_and_nothing_else() {
        let duties: Vec<ProposerDuty> = decode(
            br#"{"dependent_root":"0x00","data":[{"pubkey":"0xa1","validator_index":"7","slot":97}]}"#,
        )
        .expect("decodes");
        assert_eq!(
            duties,
            [ProposerDuty {
                validator_index: 7,
                slot: 97
            }]
        );
        let err = decode::<Vec<ProposerDuty>>(br#"{"data":[{"validator_index":"x7","slot":"1"}]}"#)
            .expect_err("not a number");
        assert!(err.contains("\"x7\" is not an integer"), "{err}");
        assert!(err.contains("column"), "says where: {err}");
        let err = decode::<Vec<ProposerDuty>>(br#"{"data":[{"validator_index":-1,"slot":"1"}]}"#)
            .expect_err("negative index");
        assert!(err.contains("-1 is out of range"), "{err}");
    }

    #[test]
    fn penalties_are_negative_rewards() {
        let rewards: AttestationRewards = decode(
            br#"{"execution_optimistic":false,"finalized":true,"data":{"ideal_rewards":[],
                "total_rewards":[{"validator_index":"0","head":"2000","target":"-3000","source":"-1500","inclusion_delay":"0","inactivity":"0"}]}}"#,
        )
        .expect("decodes");
        assert_eq!(
            rewards.total_rewards,
            [AttestationReward {
                validator_index: 0,
                head: 2000,
                target: -3000,
                source: -1500
            }]
        );
    }

    #[test]
    fn the_slot_clock_needs_both_figures() {
        let spec: HashMap<String, serde_json::Value> = decode(
            br#"{"data":{"SECONDS_PER_SLOT":"12","SLOTS_PER_EPOCH":"32","CONFIG_NAME":"mainnet"}}"#,
        )
        .expect("decodes");
        assert_eq!(
            SlotTimes::from_spec(&spec),
            Ok(SlotTimes {
                seconds_per_slot: 12,
                slots_per_epoch: 32
            })
        );
        let spec: HashMap<String, serde_json::Value> =
            decode(br#"{"data":{"SECONDS_PER_SLOT":"0","SLOTS_PER_EPOCH":"32"}}"#)
                .expect("decodes");
        assert!(SlotTimes::from_spec(&spec).is_err());
        let spec: HashMap<String, serde_json::Value> = decode(
            br#"{"data":{"SECONDS_PER_SLOT":"12","SLOTS_PER_EPOCH":"18446744073709551615"}}"#,
        )
        .expect("decodes");
        assert_eq!(
            SlotTimes::from_spec(&spec),
            Err(
                "the spec's SLOTS_PER_EPOCH is not a number from 1 to 1024: \"18446744073709551615\""
                    .into()
            )
        );
    }

    #[test]
    fn refusals_say_the_nodes_message() {
        assert_eq!(
            refusal_message(br#"{"statusCode":404,"error":"Not Found","message":"Route POST:/eth/v1/validator/liveness/3 not found"}"#),
            "Route POST:/eth/v1/validator/liveness/3 not found"
        );
        assert_eq!(refusal_message(b"Not Found"), "Not Found");
    }
}
