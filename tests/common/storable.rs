//! What every row the decoders accept must be, to be stored on either database: no NUL in any
//! string that goes into a text column (PostgreSQL's text cannot hold it), each within its
//! documented bound, and every JSON text written parses back. Shared by the property test
//! (tests/properties.rs, in CI) and the fuzz target (fuzz/fuzz_targets/decoded_rows.rs).

use nodepulse::wire::client_stats::decode::{self as client_stats, MAX_TEXT_BYTES, Value};
use nodepulse::wire::telemetry::decode::{
    self as telemetry, Frame, Identity, MAX_MSG_BYTES, MAX_NAME_BYTES, MAX_NETWORK_ID_CHARS,
    MAX_STATE_VALUE_BYTES,
};

fn text_column(what: &str, text: &str, max_bytes: usize) {
    assert!(!text.contains('\0'), "{what} holds NUL: {text:?}");
    assert!(text.len() <= max_bytes, "{what} is {} bytes", text.len());
}

fn json_column(what: &str, json: &str) {
    assert!(
        serde_json::from_str::<serde_json::Value>(json).is_ok(),
        "{what} is not JSON: {json}"
    );
    assert!(!json.contains('\0'), "{what} holds a raw NUL");
}

fn identity(identity: &Identity) {
    // A Substrate network id is at most 64 characters; a Starknet peer id is cut like a name.
    text_column(
        "peer_id",
        &identity.peer_id,
        MAX_NAME_BYTES.max(MAX_NETWORK_ID_CHARS * 4),
    );
    text_column("genesis_hash", &identity.genesis_hash, 66);
    for (what, field) in [
        ("name", &identity.name),
        ("chain", &identity.chain),
        ("implementation", &identity.implementation),
        ("version", &identity.version),
    ] {
        if let Some(text) = field {
            text_column(what, text, MAX_NAME_BYTES);
        }
    }
}

/// Decodes `body` as both a client-stats request and a telemetry frame, and checks every row
/// either would store.
pub fn check(body: &[u8]) {
    if let Ok(objects) = client_stats::decode(body) {
        for object in objects {
            for (field, value) in &object.values {
                if let Value::Text(text) = value {
                    text_column(field.name, text, MAX_TEXT_BYTES);
                }
            }
            for (name, value) in &object.extensions {
                text_column("an extension's name", name, 64);
                if let Some(text) = value.as_str() {
                    text_column(name, text, MAX_TEXT_BYTES);
                }
            }
            json_column(
                "the answered object",
                &serde_json::Value::Object(object.to_json()).to_string(),
            );
        }
    }
    let Ok(frame) = telemetry::decode(body) else {
        return;
    };
    match frame {
        Frame::Substrate { message, .. } => {
            let msg = message
                .get("msg")
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default();
            text_column("msg", msg, MAX_MSG_BYTES);
            if let Some(target) = telemetry::target(&message) {
                text_column("target", &target, MAX_MSG_BYTES);
            }
            if let Ok(connected) = telemetry::substrate_identity(&message) {
                identity(&connected);
            }
            state(telemetry::substrate_state(&message));
            json_column(
                "the message",
                &serde_json::Value::Object(message).to_string(),
            );
        }
        Frame::Starknet { update } => {
            if let Some(connected) = telemetry::starknet_identity(&update) {
                identity(&connected);
            }
            json_column(
                "the update",
                &serde_json::Value::Object(update.clone()).to_string(),
            );
            state(update);
        }
    }
}

fn state(update: serde_json::Map<String, serde_json::Value>) {
    let kept = telemetry::bounded_state(update);
    for (key, value) in &kept {
        text_column("a state field's name", key, MAX_MSG_BYTES);
        let size = match value {
            serde_json::Value::String(text) => text.len(),
            // A number or a flag is short whatever it is.
            serde_json::Value::Number(_) | serde_json::Value::Bool(_) | serde_json::Value::Null => {
                0
            }
            other => other.to_string().len(),
        };
        assert!(size <= MAX_STATE_VALUE_BYTES, "{key}: {value}");
    }
    json_column("the state", &serde_json::Value::Object(kept).to_string());
}
