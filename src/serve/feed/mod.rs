//! `GET /feed`: substrate-telemetry's feed protocol (`FEED_VERSION` 33) over WebSocket, so that its
//! own web frontend and the third-party feed readers show the nodes streaming here, live, from
//! this instance or any other sharing the database. A reader is told the chain list, follows one
//! chain (`subscribe:GENESIS_HASH`) and is told its nodes and their changes; the `hub` reads and
//! writes each change once for every reader. Like the pages: a signed-in viewer, or anyone with
//! `--public-reads`; each reader holds one of the open pages' places. Node addresses only with
//! `--expose-node-ip`.

mod facts;
pub mod hub;
mod message;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade, close_code};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use crate::serve::auth::Viewer;
use crate::serve::state::AppState;
use crate::serve::store::Database;
use crate::serve::streams::live::MAX_OPEN_PAGES;
use hub::{Following, Reads, ToReaders};
use message::{Action, FeedFrame, FromFeed};

/// A reader sends only short commands.
const MAX_COMMAND_BYTES: usize = 1024;
const READ_BUFFER_BYTES: usize = 4096;
/// A reader that takes no frame for this long is let go: its place and its backlog are for others.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);

pub async fn feed<S: Database>(
    State(shared): State<Arc<AppState<S>>>,
    Viewer(record): Viewer,
    upgrade: WebSocketUpgrade,
) -> Response {
    if record.is_none() && !shared.public_reads {
        return (StatusCode::UNAUTHORIZED, "sign in to read the feed").into_response();
    }
    let Some(place) = shared.streams.live.place() else {
        let busy = format!("{MAX_OPEN_PAGES} pages are open on this server: try again later");
        return (StatusCode::SERVICE_UNAVAILABLE, busy).into_response();
    };
    upgrade
        // tungstenite's buffers are 128 KiB each by default: most of what a reader would cost.
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(0)
        .max_message_size(MAX_COMMAND_BYTES)
        .max_frame_size(MAX_COMMAND_BYTES)
        .on_upgrade(move |socket| async move {
            let mut reader = Reader { socket, shared };
            let Err(closing) = reader.serve().await;
            reader.close(closing).await;
            drop(place);
        })
}

/// One feed reader's connection.
struct Reader<S> {
    socket: WebSocket,
    shared: Arc<AppState<S>>,
}

/// Why a reader's connection ends: it went away, or this server closes it with a code.
type Closing = Option<(u16, &'static str)>;

const STOPPING: Closing = Some((close_code::AWAY, "the server is stopping"));

impl<S: Database> Reader<S> {
    fn reads(&self) -> Reads<'_, S> {
        Reads {
            store: &self.shared.store,
            metrics: &self.shared.metrics,
        }
    }

    /// Until the reader goes or is let go.
    async fn serve(&mut self) -> Result<Infallible, Closing> {
        let hub = Arc::clone(&self.shared.feed);
        let (hello, mut chain_list) = match hub.hello(self.reads()).await {
            Ok(hello) => hello,
            Err(err) => {
                tracing::warn!("a feed reader was turned away: {err}");
                return Err(Some((close_code::ERROR, "the database cannot be read")));
            }
        };
        self.send(hello).await?;
        let mut stopping = self.shared.streams.stopping();
        let mut following: Option<Following> = None;
        loop {
            tokio::select! {
                _ = stopping.changed() => return Err(STOPPING),
                command = self.socket.recv() => match command {
                    Some(Ok(Message::Text(text))) => match FromFeed::parse(&text) {
                        Some(FromFeed::Ping(id)) => {
                            let mut frame = FeedFrame::default();
                            frame.push(Action::Pong, &json!(id));
                            self.send_frame(frame).await?;
                        }
                        Some(FromFeed::Subscribe(chain)) => {
                            following = self.follow(&chain, following.take()).await?;
                        }
                        // The real core ignores what it does not know.
                        None => {}
                    },
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return Err(None),
                    Some(Ok(_)) => {}
                },
                news = chain_list.recv() => match news {
                    Ok(frame) => self.send_shared(frame).await?,
                    Err(RecvError::Lagged(_)) => {
                        if let Some(frame) = hub.chain_list() {
                            self.send(frame).await?;
                        }
                    }
                    Err(RecvError::Closed) => return Err(STOPPING),
                },
                news = chain_news(&mut following) => match news {
                    Ok(frame) => self.send_shared(frame).await?,
                    // Fell behind: told everything again, as after a subscription.
                    Err(_) => {
                        let chain = following.as_ref().map(|followed| followed.chain.clone());
                        if let Some(chain) = chain {
                            following = self.follow(&chain, following.take()).await?;
                        }
                    }
                },
            }
        }
    }

    /// Follows `chain` instead of what `previous` follows; a chain not listed is not followed,
    /// as with the real core.
    async fn follow(
        &mut self,
        chain: &str,
        previous: Option<Following>,
    ) -> Result<Option<Following>, Closing> {
        let previous_chain = previous.as_ref().map(|previous| previous.chain.as_str());
        match self
            .shared
            .feed
            .follow(self.reads(), chain, previous_chain)
            .await
        {
            Ok(Some(following)) => {
                for frame in &following.first {
                    self.send(frame.clone()).await?;
                }
                Ok(Some(following))
            }
            Ok(None) => Ok(None),
            Err(err) => {
                tracing::warn!("a feed reader's chain could not be read: {err}");
                Err(Some((close_code::ERROR, "the database cannot be read")))
            }
        }
    }

    async fn send_frame(&mut self, frame: FeedFrame) -> Result<(), Closing> {
        match frame.finish() {
            Some(frame) => self.send(frame).await,
            None => Ok(()),
        }
    }

    async fn send(&mut self, frame: String) -> Result<(), Closing> {
        self.send_shared(frame.into()).await
    }

    /// The real core sends binary frames, and its readers expect them.
    async fn send_shared(&mut self, frame: ToReaders) -> Result<(), Closing> {
        let sent = tokio::time::timeout(SEND_TIMEOUT, self.socket.send(Message::Binary(frame)));
        match sent.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(None),
            Err(_) => Err(Some((close_code::POLICY, "the feed was not read"))),
        }
    }

    async fn close(&mut self, closing: Closing) {
        if let Some((code, reason)) = closing {
            let frame = CloseFrame {
                code,
                reason: Utf8Bytes::from_static(reason),
            };
            let close = self.socket.send(Message::Close(Some(frame)));
            let _ = tokio::time::timeout(SEND_TIMEOUT, close).await;
        }
    }
}

/// The followed chain's next frame; never, while no chain is followed.
async fn chain_news(following: &mut Option<Following>) -> Result<ToReaders, RecvError> {
    match following {
        Some(following) => following.news.recv().await,
        None => std::future::pending().await,
    }
}
