//! A reader of substrate-telemetry's feed (`/feed`), blocking, as its web frontend and the
//! third-party readers use it: commands out as text, frames in as JSON arrays of action codes and
//! payloads.

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::runtime::Runtime;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The feed's action codes, as the protocol numbers them.
pub const FEED_VERSION: u64 = 0;
pub const BEST_BLOCK: u64 = 1;
pub const BEST_FINALIZED: u64 = 2;
pub const ADDED_NODE: u64 = 3;
pub const REMOVED_NODE: u64 = 4;
pub const IMPORTED_BLOCK: u64 = 6;
pub const FINALIZED_BLOCK: u64 = 7;
pub const NODE_STATS: u64 = 8;
pub const TIME_SYNC: u64 = 10;
pub const ADDED_CHAIN: u64 = 11;
pub const SUBSCRIBED_TO: u64 = 13;
pub const UNSUBSCRIBED_FROM: u64 = 14;
pub const PONG: u64 = 15;
pub const CHAIN_STATS: u64 = 22;
pub const TELEMETRY_INFO: u64 = 23;

/// One message of a frame: its action code and payload.
pub type FeedMessage = (u64, Value);

pub struct FeedClient {
    runtime: Runtime,
    socket: WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>,
    /// Messages of a frame read but not yet taken.
    unread: VecDeque<FeedMessage>,
}

impl FeedClient {
    /// Opens `ws://ADDRESS/feed`, the upgrade carrying `cookie` if any; the refusal as
    /// `Err(status)`.
    pub fn try_open(address: &str, cookie: Option<&str>) -> Result<FeedClient, u16> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let mut request = format!("ws://{address}/feed")
            .into_client_request()
            .expect("a request");
        if let Some(cookie) = cookie {
            request
                .headers_mut()
                .insert("cookie", cookie.parse().expect("a header value"));
        }
        match runtime.block_on(tokio_tungstenite::connect_async(request)) {
            Ok((socket, _)) => Ok(FeedClient {
                runtime,
                socket,
                unread: VecDeque::new(),
            }),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                Err(response.status().as_u16())
            }
            Err(err) => panic!("open the feed at {address}: {err}"),
        }
    }

    pub fn open(address: &str) -> FeedClient {
        FeedClient::try_open(address, None)
            .unwrap_or_else(|status| panic!("/feed answered {status}"))
    }

    pub fn command(&mut self, text: &str) {
        self.runtime
            .block_on(self.socket.send(Message::text(text.to_owned())))
            .expect("the feed takes a command");
    }

    /// The next frame's messages (binary, as the real core sends them); none may be left unread.
    pub fn frame(&mut self) -> Vec<FeedMessage> {
        self.frame_within(Duration::from_secs(60))
            .expect("a frame within 60 s")
    }

    /// The next frame's messages, if one comes within `wait`.
    pub fn frame_within(&mut self, wait: Duration) -> Option<Vec<FeedMessage>> {
        assert!(
            self.unread.is_empty(),
            "messages left unread: {:?}",
            self.unread
        );
        let next = self
            .runtime
            .block_on(async { tokio::time::timeout(wait, self.socket.next()).await });
        let message = next.ok()?.expect("the feed open").expect("a frame");
        let Message::Binary(bytes) = message else {
            panic!("a binary frame, not {message:?}");
        };
        let items: Vec<Value> = serde_json::from_slice(&bytes).expect("a JSON array");
        assert!(
            items.len().is_multiple_of(2),
            "codes and payloads in pairs: {items:?}"
        );
        let messages = items
            .chunks(2)
            .map(|pair| (pair[0].as_u64().expect("an action code"), pair[1].clone()))
            .collect();
        Some(messages)
    }

    /// The next `count` messages of the frame being read.
    pub fn unread(&mut self, count: usize) -> Vec<FeedMessage> {
        assert!(
            self.unread.len() >= count,
            "{count} more messages in {:?}",
            self.unread
        );
        self.unread.drain(..count).collect()
    }

    /// The rest of the frame being read.
    pub fn rest(&mut self) -> Vec<FeedMessage> {
        self.unread.drain(..).collect()
    }

    pub fn message(&mut self) -> FeedMessage {
        loop {
            if let Some(message) = self.unread.pop_front() {
                return message;
            }
            let frame = self.frame();
            self.unread.extend(frame);
        }
    }

    /// Reads until a message `wanted` holds for; every message read, that one last.
    pub fn until(&mut self, wanted: impl Fn(&FeedMessage) -> bool) -> Vec<FeedMessage> {
        let mut read = Vec::new();
        loop {
            let message = self.message();
            let found = wanted(&message);
            read.push(message);
            if found {
                return read;
            }
        }
    }
}
