//! One WebSocket connection: its frames read, decoded, matched to the nodes it carries, and
//! handed to the batcher; the limits enforced as the connection goes.
//!
//! A Substrate connection carries up to `MAX_NODES` nodes, one per `id`, each existing from its
//! `system.connected`; a Starknet connection carries one node, identified by its first update.
//! Which of the two a connection speaks is settled by its first frame.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::FutureExt;
use serde_json::{Map, Value};
use tokio::time::{Instant, MissedTickBehavior};

use super::Streams;
use super::batcher::{self, NodeHandle, ToBatcher};
use super::limits::{ByteRate, Slot};
use crate::serve::metrics::StreamRefusal;
use crate::serve::store::streams::{Connect, StreamFormat, chain_key};
use crate::wire::telemetry::decode::{
    self, BestBlock, Frame, Identity, starknet_best, starknet_identity, substrate_best,
    substrate_identity, substrate_state,
};

/// Nodes per connection, as substrate-telemetry's shards allow.
pub const MAX_NODES: usize = 20;

/// WebSocket close codes (RFC 6455, 7.4.1).
const POLICY_VIOLATION: u16 = 1008;
const MESSAGE_TOO_BIG: u16 = 1009;
const GOING_AWAY: u16 = 1001;
/// How long a stopping server waits for a node to answer its Close.
const DRAIN: Duration = Duration::from_secs(2);

/// Why the server closes a connection: a WebSocket close code and reason.
type Closing = (u16, String);

/// A node on this connection.
struct Session {
    handle: Arc<NodeHandle>,
    last_frame: Instant,
    /// Its chain (`store::streams::chain_key`), and the highest best block it reported here.
    chain: Arc<str>,
    best_height: Option<i64>,
}

impl Session {
    /// A reported best block, if it is new: higher than any before on this connection. The first
    /// is a sighting but not an import (the node may have had it long before it connected).
    fn sighting(&mut self, block: Option<BestBlock>) -> Option<batcher::Sighting> {
        let block = block?;
        let import = match self.best_height {
            Some(best) if block.height <= best => return None,
            Some(_) => true,
            None => false,
        };
        self.best_height = Some(block.height);
        Some(batcher::Sighting {
            chain: Arc::clone(&self.chain),
            block,
            import,
        })
    }
}

struct Connection {
    peer: SocketAddr,
    audit: bool,
    streams: Arc<Streams>,
    format: Option<StreamFormat>,
    sessions: HashMap<u64, Session>,
    rate: ByteRate,
    last_frame: Instant,
    /// Refusals already logged on this connection, so a misbehaving node costs one line each.
    logged: Vec<StreamRefusal>,
}

/// Serves the connection until the peer closes it, a limit closes it, or the server stops.
/// `slot` is its place among its address's connections; `None` means there was none.
pub async fn serve(
    mut socket: WebSocket,
    peer: SocketAddr,
    audit: bool,
    slot: Option<Slot>,
    streams: Arc<Streams>,
) {
    let metrics = Arc::clone(&streams.metrics);
    let Some(_slot) = slot else {
        metrics.stream_refused(StreamRefusal::TooManyConnections, 1);
        tracing::warn!(%peer, limit = streams.settings.connections_per_address, "stream refused: too many connections from this address");
        close(
            &mut socket,
            POLICY_VIOLATION,
            "too many connections from this address",
        )
        .await;
        return;
    };
    let _open = metrics.stream_connection();
    let now = Instant::now();
    let mut connection = Connection {
        peer,
        audit,
        rate: ByteRate::new(streams.settings.bytes_per_second, now),
        streams,
        format: None,
        sessions: HashMap::new(),
        last_frame: now,
        logged: Vec::new(),
    };
    let silence = connection.streams.settings.silence;
    let mut stopping = connection.streams.stopping.clone();
    let mut tick = tokio::time::interval((silence / 4).max(Duration::from_millis(100)));
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let closing = loop {
        tokio::select! {
            received = socket.recv() => {
                // No pause to let a busy connection's frames gather (tried: 200 ms brought reads
                // down to 0.43 a frame): a frame is stamped when read, and the pause moved
                // blocks' sightings, what propagation is measured on, up to that much later.
                if let ControlFlow::Break(closing) = connection.burst(&mut socket, received).await {
                    break closing;
                }
            }
            // Only ever set to true; a dropped sender means the server is gone too.
            _ = stopping.changed() => {
                break Some((GOING_AWAY, "the server is shutting down".into()));
            }
            _ = tick.tick() => {
                if let Err(closing) = connection.silent().await {
                    break Some(closing);
                }
            }
        }
    };
    if let Some((code, reason)) = closing {
        close(&mut socket, code, &reason).await;
        if code == GOING_AWAY {
            connection.drain(&mut socket).await;
        }
    }
    connection.end().await;
}

/// What one read from the socket means.
enum Read {
    Frame(Vec<u8>),
    Skip,
    /// The connection is over; closed by the server with this code, if `Some`.
    End(Option<Closing>),
}

async fn close(socket: &mut WebSocket, code: u16, reason: &str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    // The peer may be gone already; there is nothing more to tell it then.
    let _ = socket.send(Message::Close(Some(frame))).await;
}

impl Connection {
    fn refuse(&mut self, refusal: StreamRefusal, detail: &dyn std::fmt::Display) {
        self.streams.metrics.stream_refused(refusal, 1);
        if !self.logged.contains(&refusal) {
            self.logged.push(refusal);
            tracing::warn!(peer = %self.peer, "stream frame refused ({}): {detail}; further ones on this connection are only counted", refusal.label());
        }
    }

    fn read(&mut self, received: Option<Result<Message, axum::Error>>) -> Read {
        match received {
            None | Some(Ok(Message::Close(_))) => Read::End(None),
            Some(Ok(Message::Text(text))) => Read::Frame(text.as_str().as_bytes().to_vec()),
            Some(Ok(Message::Binary(bytes))) => Read::Frame(bytes.to_vec()),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => Read::Skip,
            Some(Err(err)) => Read::End(self.read_failed(err)),
        }
    }

    /// Handles `first` and then every frame already read behind it, without waiting for more;
    /// `Break` when the connection is over, closed by the server with the code if `Some`. (The
    /// runtime's budget ends a burst that would never end.)
    async fn burst(
        &mut self,
        socket: &mut WebSocket,
        first: Option<Result<Message, axum::Error>>,
    ) -> ControlFlow<Option<Closing>> {
        let mut received = first;
        loop {
            match self.read(received) {
                Read::Frame(bytes) => {
                    if let Err(closing) = self.frame(&bytes).await {
                        return ControlFlow::Break(Some(closing));
                    }
                }
                Read::Skip => {}
                Read::End(closing) => return ControlFlow::Break(closing),
            }
            match socket.recv().now_or_never() {
                Some(next) => received = next,
                None => return ControlFlow::Continue(()),
            }
        }
    }

    /// After the server's Close on stopping: what the node sent before it saw that Close is
    /// still read and kept, until its own Close answers (RFC 6455's closing handshake) or
    /// `DRAIN` has passed since the Close: a node that never answers, and streams on, does not
    /// hold the stop up.
    async fn drain(&mut self, socket: &mut WebSocket) {
        let deadline = tokio::time::Instant::now() + DRAIN;
        loop {
            let Ok(received) = tokio::time::timeout_at(deadline, socket.recv()).await else {
                return;
            };
            match self.read(received) {
                Read::Frame(bytes) => {
                    if self.frame(&bytes).await.is_err() {
                        return;
                    }
                }
                Read::Skip => {}
                Read::End(_) => return,
            }
        }
    }

    /// The connection broke a limit: counted, logged, closed with `code`, and its address refused
    /// for `--block-for`, so that it cannot reconnect and break it again at once.
    fn broke_limit(&self, refusal: StreamRefusal, code: u16, reason: String) -> Closing {
        self.streams.metrics.stream_refused(refusal, 1);
        self.streams.blocked.block(self.peer.ip(), Instant::now());
        tracing::warn!(peer = %self.peer, "stream closed, the address refused for a while: {reason}");
        (code, reason)
    }

    /// A read error: over the frame cap closes with 1009; anything else ends the connection.
    fn read_failed(&mut self, err: axum::Error) -> Option<Closing> {
        use tokio_tungstenite::tungstenite::Error as WsError;
        let inner = err.into_inner();
        match inner.downcast_ref::<WsError>() {
            Some(WsError::Capacity(capacity)) => {
                let cap = self.streams.settings.max_frame_bytes;
                Some(self.broke_limit(
                    StreamRefusal::TooLarge,
                    MESSAGE_TOO_BIG,
                    format!("frames are limited to {cap} bytes ({capacity})"),
                ))
            }
            _ => {
                tracing::debug!(peer = %self.peer, "stream ended: {inner}");
                None
            }
        }
    }

    /// One frame; an error closes the connection.
    async fn frame(&mut self, bytes: &[u8]) -> Result<(), Closing> {
        let now = Instant::now();
        self.last_frame = now;
        if !self.rate.admit(bytes.len() as u64, now) {
            let limit = self.streams.settings.bytes_per_second;
            return Err(self.broke_limit(
                StreamRefusal::RateLimited,
                POLICY_VIOLATION,
                format!("over {limit} bytes per second averaged over 10 s"),
            ));
        }
        let frame = match decode::decode(bytes) {
            Ok(frame) => frame,
            Err(err) => {
                self.refuse(StreamRefusal::Malformed, &err);
                return Ok(());
            }
        };
        let format = match &frame {
            Frame::Substrate { .. } => StreamFormat::Substrate,
            Frame::Starknet { .. } => StreamFormat::Starknet,
        };
        if *self.format.get_or_insert(format) != format {
            self.refuse(
                StreamRefusal::Malformed,
                &format!(
                    "a {} frame on a {} connection",
                    format.name(),
                    self.format.map_or("", StreamFormat::name)
                ),
            );
            return Ok(());
        }
        self.streams.metrics.stream_frame(frame.kind());
        let received_ms = crate::serve::now_ms();
        match frame {
            Frame::Substrate { id, message } => self.substrate(id, message, received_ms, now).await,
            Frame::Starknet { update } => self.starknet(update, received_ms, now).await,
        }
    }

    async fn substrate(
        &mut self,
        id: u64,
        mut message: Map<String, Value>,
        received_ms: i64,
        now: Instant,
    ) -> Result<(), Closing> {
        let msg = message
            .get("msg")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if msg == "system.connected" {
            let identity = match substrate_identity(&message) {
                Ok(identity) => identity,
                Err(err) => {
                    self.refuse(StreamRefusal::Malformed, &err);
                    return Ok(());
                }
            };
            if !self.sessions.contains_key(&id) && self.sessions.len() >= MAX_NODES {
                self.refuse(
                    StreamRefusal::TooManyNodes,
                    &format!(
                        "id {id} would be node {} on one connection (at most {MAX_NODES})",
                        MAX_NODES + 1
                    ),
                );
                return Ok(());
            }
            self.connect(id, identity, StreamFormat::Substrate, received_ms, now)
                .await?;
        }
        let Some(session) = self.sessions.get_mut(&id) else {
            self.refuse(
                StreamRefusal::BeforeConnected,
                &format!("a {msg} message for id {id}, which has sent no system.connected"),
            );
            return Ok(());
        };
        session.last_frame = now;
        session.handle.merge(substrate_state(&message));
        let sighting = session.sighting(substrate_best(&message));
        let handle = Arc::clone(&session.handle);
        let target = decode::target(&message);
        // The message's `msg` is kept in a column of its own, and put back when the message is
        // read: not stored twice, it saves a twentieth of a message's bytes on disk.
        if !msg.is_empty() {
            message.remove("msg");
        }
        let log = Value::Object(message).to_string();
        self.send(ToBatcher::Message(
            handle,
            batcher::NodeMessage {
                created_ms: received_ms,
                msg,
                target,
                audit: self.audit,
                log,
                sighting,
            },
        ))
        .await
    }

    async fn starknet(
        &mut self,
        update: Map<String, Value>,
        received_ms: i64,
        now: Instant,
    ) -> Result<(), Closing> {
        if !self.sessions.contains_key(&0) {
            let Some(identity) = starknet_identity(&update) else {
                self.refuse(
                    StreamRefusal::BeforeConnected,
                    &"the first Starknet frame carries neither `peer_id` nor `name`",
                );
                return Ok(());
            };
            self.connect(0, identity, StreamFormat::Starknet, received_ms, now)
                .await?;
        }
        let Some(session) = self.sessions.get_mut(&0) else {
            return Ok(());
        };
        session.last_frame = now;
        // A map of JSON values always serializes.
        let log = serde_json::to_string(&update).unwrap_or_default();
        let sighting = session.sighting(starknet_best(&update));
        session.handle.merge(update);
        let handle = Arc::clone(&session.handle);
        self.send(ToBatcher::Message(
            handle,
            batcher::NodeMessage {
                created_ms: received_ms,
                msg: "starknet".into(),
                target: None,
                audit: self.audit,
                log,
                sighting,
            },
        ))
        .await
    }

    /// A (new) node on `id`: the one it replaces, if any, went away now.
    async fn connect(
        &mut self,
        id: u64,
        identity: Identity,
        format: StreamFormat,
        received_ms: i64,
        now: Instant,
    ) -> Result<(), Closing> {
        let handle = Arc::new(NodeHandle::default());
        let replaced = self.sessions.insert(
            id,
            Session {
                handle: Arc::clone(&handle),
                last_frame: now,
                chain: chain_key(&identity).into(),
                best_height: None,
            },
        );
        if let Some(replaced) = replaced {
            self.streams.metrics.stream_node_left();
            self.send(ToBatcher::Disconnect(replaced.handle, received_ms))
                .await?;
        }
        self.streams.metrics.stream_node_joined();
        let connect = Connect {
            identity,
            format,
            ip: self.peer.ip().to_string(),
            audit: self.audit,
            at_ms: received_ms,
        };
        self.send(ToBatcher::Connect(handle, connect)).await
    }

    /// Marks nodes silent for `silence` as gone; closes a connection on which nothing came for
    /// that long.
    async fn silent(&mut self) -> Result<(), Closing> {
        let silence = self.streams.settings.silence;
        let now = Instant::now();
        let gone: Vec<u64> = self
            .sessions
            .iter()
            .filter(|(_, session)| now.duration_since(session.last_frame) >= silence)
            .map(|(id, _)| *id)
            .collect();
        let at_ms = crate::serve::now_ms();
        for id in gone {
            if let Some(session) = self.sessions.remove(&id) {
                self.streams.metrics.stream_node_left();
                tracing::info!(peer = %self.peer, id, "stream node silent for {silence:?}: disconnected");
                self.send(ToBatcher::Disconnect(session.handle, at_ms))
                    .await?;
            }
        }
        if now.duration_since(self.last_frame) >= silence {
            tracing::info!(peer = %self.peer, "stream closed: nothing received for {silence:?}");
            return Err((
                POLICY_VIOLATION,
                format!("nothing received for {}s", silence.as_secs()),
            ));
        }
        Ok(())
    }

    /// The connection is over: its nodes went away now.
    async fn end(&mut self) {
        let at_ms = crate::serve::now_ms();
        for (_, session) in self.sessions.drain() {
            let _ = self
                .streams
                .batcher
                .send(ToBatcher::Disconnect(session.handle, at_ms))
                .await;
            // After the send: once the gauge shows a closed connection's nodes gone, their
            // goings are queued (a test waits on it).
            self.streams.metrics.stream_node_left();
        }
    }

    /// To the batcher, which refuses only once the server is shutting down (1001, going away).
    async fn send(&self, item: ToBatcher) -> Result<(), Closing> {
        if self.streams.batcher.send(item).await {
            Ok(())
        } else {
            Err((GOING_AWAY, "the server is shutting down".into()))
        }
    }
}
