//! The feed protocol's frames, as substrate-telemetry's core writes them (`FEED_VERSION` 33): one
//! JSON array per frame, of action codes each followed by its payload. Its web frontend and the
//! third-party feed readers (the 1KV programme, the w3f exporter) decode exactly this.

use serde_json::Value;

/// The protocol version the frontend checks before it reads anything else.
pub const FEED_VERSION: u32 = 33;

/// What a payload is, by the code the protocol gives it (the codes the frontend no longer reads,
/// 16 to 19, are not sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    FeedVersion = 0,
    BestBlock = 1,
    BestFinalized = 2,
    AddedNode = 3,
    RemovedNode = 4,
    ImportedBlock = 6,
    FinalizedBlock = 7,
    NodeStats = 8,
    NodeHardware = 9,
    TimeSync = 10,
    AddedChain = 11,
    RemovedChain = 12,
    SubscribedTo = 13,
    UnsubscribedFrom = 14,
    Pong = 15,
    NodeIo = 21,
    ChainStatsUpdate = 22,
    TelemetryInfo = 23,
}

/// A frame being written: `push` appends, `finish` closes it.
#[derive(Debug, Default)]
pub struct FeedFrame(String);

impl FeedFrame {
    pub fn push(&mut self, action: Action, payload: &Value) {
        self.0.push(if self.0.is_empty() { '[' } else { ',' });
        self.0.push_str(&(action as u8).to_string());
        self.0.push(',');
        self.0.push_str(&payload.to_string());
    }

    /// The frame's text; `None` when nothing was pushed (the protocol has no empty frame).
    pub fn finish(mut self) -> Option<String> {
        if self.0.is_empty() {
            return None;
        }
        self.0.push(']');
        Some(self.0)
    }
}

/// What a feed reader may send: the frontend sends `ping:ID` and `subscribe:GENESIS_HASH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FromFeed {
    Ping(String),
    Subscribe(String),
}

impl FromFeed {
    /// `None` for anything else, which the real core ignores too.
    pub fn parse(text: &str) -> Option<FromFeed> {
        let (command, value) = text.split_once(':')?;
        match command {
            "ping" => Some(FromFeed::Ping(value.to_owned())),
            "subscribe" => Some(FromFeed::Subscribe(value.to_owned())),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_frame_alternates_action_codes_and_payloads() {
        let mut frame = FeedFrame::default();
        frame.push(Action::FeedVersion, &json!(FEED_VERSION));
        frame.push(Action::AddedChain, &json!(["Polkadot", "0x91b1", 3]));
        frame.push(Action::Pong, &json!("7"));
        assert_eq!(
            frame.finish().as_deref(),
            Some(r#"[0,33,11,["Polkadot","0x91b1",3],15,"7"]"#)
        );
        assert_eq!(FeedFrame::default().finish(), None);
    }

    #[test]
    fn commands_are_pings_and_subscriptions() {
        assert_eq!(
            FromFeed::parse("ping:12"),
            Some(FromFeed::Ping("12".into()))
        );
        assert_eq!(
            FromFeed::parse("subscribe:0x91b1:x"),
            Some(FromFeed::Subscribe("0x91b1:x".into()))
        );
        assert_eq!(FromFeed::parse("subscribe"), None);
        assert_eq!(FromFeed::parse("send-finality:0x91b1"), None);
    }
}
