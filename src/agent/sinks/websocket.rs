//! Streaming telemetry over a WebSocket, one task per `--telemetry-url`.
//!
//! The connection looks after itself: a connect timeout, reconnects with jittered exponential
//! backoff (1 s up to 20 s, reset after a healthy minute), the node re-identified first after
//! every reconnect, and while disconnected only the newest cycle is kept, so the first frames after a
//! reconnect describe now rather than replay a backlog. One `select!` serves the newest cycle, the
//! server's frames (pings are answered by the library on the next read or write), a keepalive
//! (servers drop a node silent for 60 s) and shutdown, which closes the stream properly: a Close
//! with 1001 (going away), then the server's Close, waited for briefly.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use reqwest::Url;
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::{DeliveryError, Until};
use crate::agent::Cycle;
use crate::agent::telemetry::Telemetry;
use crate::retry::{BASE_DELAY, Backoff, Jitter};
use crate::secret::without_credentials;
use crate::wire::telemetry::{Format, RateTracker, Rates, Session};

/// The level of every message nodepulse sends: Substrate's `system.*`, `block.import` and
/// `notify.finalized` are level 0, so an endpoint of any verbosity takes them.
const MESSAGE_VERBOSITY: u8 = 0;
/// Well inside the 60 s after which telemetry servers drop a silent node.
const KEEPALIVE: Duration = Duration::from_secs(25);
/// A connection that lasted this long was healthy: the next reconnect starts from a short wait.
const HEALTHY_SESSION: Duration = Duration::from_secs(60);
/// The longest wait between reconnects. Substrate's own nodes come back after a random 10-20 s;
/// a node that waits longer stays missing from the server's list after the server is back.
const MAX_RECONNECT_DELAY: Duration = Duration::from_secs(20);
/// How long a goodbye waits for the server's Close: well inside the agent's 3 s shutdown grace.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// A `--telemetry-url 'URL VERBOSITY'`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelemetryEndpoint {
    pub url: Url,
    pub verbosity: u8,
}

impl TelemetryEndpoint {
    /// The Substrate convention: the URL, a space, a verbosity 0-9.
    pub fn parse(text: &str) -> Result<TelemetryEndpoint, String> {
        let how = "write it as 'wss://telemetry.example/submit 0': the URL, a space, a verbosity from 0 to 9";
        let (url, verbosity) = text
            .trim()
            .split_once(' ')
            .ok_or_else(|| format!("`{text}` has no verbosity; {how}"))?;
        let verbosity: u8 = verbosity
            .trim()
            .parse()
            .ok()
            .filter(|level| *level <= 9)
            .ok_or_else(|| {
                format!(
                    "`{}` is not a verbosity from 0 to 9; {how}",
                    verbosity.trim()
                )
            })?;
        let url = Url::parse(url).map_err(|err| format!("`{url}` is not a valid URL: {err}"))?;
        if !matches!(url.scheme(), "ws" | "wss") {
            return Err(format!("`{url}` is not a ws:// or wss:// URL"));
        }
        Ok(TelemetryEndpoint { url, verbosity })
    }

    fn accepts(&self, level: u8) -> bool {
        level <= self.verbosity
    }
}

impl fmt::Display for TelemetryEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&without_credentials(&self.url))
    }
}

/// How one stream is set up.
#[derive(Debug, Clone)]
pub struct StreamSettings {
    pub endpoint: TelemetryEndpoint,
    pub format: Format,
    pub node_name: String,
    /// For connecting and for each send.
    pub timeout: Duration,
}

/// When to connect again: waits grow from 1 s to `MAX_RECONNECT_DELAY`, and start over after a
/// connection that stayed up for `HEALTHY_SESSION` (a server that restarts once a day should not
/// find a node waiting 20 s because of last week's outage).
struct Reconnect {
    backoff: Backoff,
}

impl Reconnect {
    fn new(jitter: Jitter) -> Self {
        Reconnect {
            backoff: Backoff::new(BASE_DELAY, MAX_RECONNECT_DELAY, jitter),
        }
    }

    /// A connection ended after `lasted`.
    fn session_ended(&mut self, lasted: Duration) {
        if lasted >= HEALTHY_SESSION {
            self.backoff.reset();
        }
    }

    fn next_wait(&mut self) -> Duration {
        self.backoff.next_delay()
    }
}

/// The newest cycle and the rates it gives, kept across connections.
struct Latest {
    tracker: RateTracker,
    cycle: Option<(Arc<Cycle>, Rates)>,
}

impl Latest {
    fn take(&mut self, cycles: &mut watch::Receiver<Option<Arc<Cycle>>>) {
        let newest = cycles.borrow_and_update().clone();
        if let Some(cycle) = newest {
            let rates = self.tracker.update(cycle.timestamp_ms, &cycle.snapshot);
            self.cycle = Some((cycle, rates));
        }
    }
}

enum Ended {
    Stopped,
    /// `--once`: the first frames went out.
    Settled,
    Lost(String),
}

/// Streams until `stop` changes or the agent is gone, or (`Until::Settled`) until the first
/// frames of a connection went out.
pub async fn stream(
    settings: StreamSettings,
    mut cycles: watch::Receiver<Option<Arc<Cycle>>>,
    mut stop: watch::Receiver<bool>,
    telemetry: Arc<Telemetry>,
    until: Until,
) -> Result<(), DeliveryError> {
    let url = settings.endpoint.to_string();
    let mut reconnect = Reconnect::new(Jitter::from_entropy());
    let mut latest = Latest {
        tracker: RateTracker::default(),
        cycle: None,
    };
    latest.take(&mut cycles);
    loop {
        let connecting = tokio::time::timeout(
            settings.timeout,
            tokio_tungstenite::connect_async(settings.endpoint.url.as_str()),
        );
        let connected = tokio::select! {
            _ = stop.changed() => return Ok(()),
            connected = connecting => connected,
        };
        match connected {
            Ok(Ok((socket, _))) => {
                telemetry.stream_connected(&url);
                let started = Instant::now();
                let ended = session(
                    socket,
                    &settings,
                    &mut latest,
                    (&mut cycles, &mut stop),
                    &telemetry,
                    until,
                )
                .await;
                match ended {
                    Ended::Stopped | Ended::Settled => return Ok(()),
                    Ended::Lost(reason) => {
                        telemetry.stream_down(&url, &format!("telemetry stream lost: {reason}"));
                    }
                }
                reconnect.session_ended(started.elapsed());
            }
            Ok(Err(err)) => {
                telemetry.stream_down(&url, &format!("cannot connect the telemetry stream: {err}"));
            }
            Err(_) => telemetry.stream_down(
                &url,
                &format!(
                    "cannot connect the telemetry stream: no answer within {}",
                    humantime::format_duration(settings.timeout)
                ),
            ),
        }
        // Wait before reconnecting, keeping up with the newest cycle meanwhile.
        let retry_at = Instant::now() + reconnect.next_wait();
        loop {
            tokio::select! {
                _ = stop.changed() => return Ok(()),
                changed = cycles.changed() => {
                    if changed.is_err() {
                        return Ok(());
                    }
                    latest.take(&mut cycles);
                }
                () = tokio::time::sleep_until(retry_at) => break,
            }
        }
    }
}

type Channels<'a> = (
    &'a mut watch::Receiver<Option<Arc<Cycle>>>,
    &'a mut watch::Receiver<bool>,
);

async fn session<S>(
    socket: tokio_tungstenite::WebSocketStream<S>,
    settings: &StreamSettings,
    latest: &mut Latest,
    (cycles, stop): Channels<'_>,
    telemetry: &Telemetry,
    until: Until,
) -> Ended
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let url = settings.endpoint.to_string();
    let (mut outgoing, mut incoming) = socket.split();
    let mut session = Session::new(settings.format, &settings.node_name);
    let mut keepalive = tokio::time::interval_at(Instant::now() + KEEPALIVE, KEEPALIVE);
    keepalive.set_missed_tick_behavior(MissedTickBehavior::Delay);
    // The newest state first: identification, then what is current.
    let mut pending: Vec<Message> = frames_for(&mut session, latest, settings);
    loop {
        let sending = !pending.is_empty();
        for message in pending.drain(..) {
            let sent = tokio::time::timeout(settings.timeout, outgoing.send(message)).await;
            match sent {
                Ok(Ok(())) => {
                    telemetry.stream_frame_sent(&url);
                    keepalive.reset();
                }
                Ok(Err(err)) => return Ended::Lost(format!("sending failed: {err}")),
                Err(_) => return Ended::Lost("a send did not complete in time".into()),
            }
        }
        if sending && until == Until::Settled {
            goodbye(&mut outgoing, &mut incoming).await;
            return Ended::Settled;
        }
        tokio::select! {
            _ = stop.changed() => {
                goodbye(&mut outgoing, &mut incoming).await;
                return Ended::Stopped;
            }
            changed = cycles.changed() => {
                if changed.is_err() {
                    return Ended::Stopped;
                }
                latest.take(cycles);
                pending = frames_for(&mut session, latest, settings);
            }
            _ = keepalive.tick() => {
                let refresh = latest.cycle.as_ref().and_then(|(cycle, rates)| {
                    session.keepalive(&cycle.snapshot, rates, SystemTime::now())
                });
                pending = vec![match refresh {
                    Some(frame) => Message::text(frame),
                    None => Message::Ping(Vec::new().into()),
                }];
            }
            frame = incoming.next() => match frame {
                None | Some(Ok(Message::Close(_))) => return Ended::Lost("the server closed the connection".into()),
                Some(Err(err)) => return Ended::Lost(err.to_string()),
                // Pings are answered by the library; anything else the server says is not for us.
                Some(Ok(_)) => {}
            }
        }
    }
}

/// Ends a stream as RFC 6455 asks: a Close with 1001 (going away), then the server's Close, waited
/// for at most `CLOSE_WAIT` so that a server that never answers cannot hold up the exit. Whether the
/// server answered.
async fn goodbye<S>(
    outgoing: &mut SplitSink<WebSocketStream<S>, Message>,
    incoming: &mut SplitStream<WebSocketStream<S>>,
) -> bool
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let close = Message::Close(Some(CloseFrame {
        code: CloseCode::Away,
        reason: "nodepulse is stopping".into(),
    }));
    let handshake = async {
        outgoing.send(close).await.ok()?;
        loop {
            match incoming.next().await? {
                Ok(Message::Close(_)) => return Some(()),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
    };
    matches!(
        tokio::time::timeout(CLOSE_WAIT, handshake).await,
        Ok(Some(()))
    )
}

fn frames_for(session: &mut Session, latest: &Latest, settings: &StreamSettings) -> Vec<Message> {
    if !settings.endpoint.accepts(MESSAGE_VERBOSITY) {
        return Vec::new();
    }
    let Some((cycle, rates)) = &latest.cycle else {
        return Vec::new();
    };
    session
        .frames(
            &cycle.snapshot,
            rates,
            SystemTime::now(),
            cycle.timestamp_ms,
        )
        .into_iter()
        .map(Message::text)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_tungstenite::tungstenite::protocol::Role;

    /// A client and a server stream over an in-memory pipe.
    async fn pair() -> (
        WebSocketStream<tokio::io::DuplexStream>,
        WebSocketStream<tokio::io::DuplexStream>,
    ) {
        let (client, server) = tokio::io::duplex(64 * 1024);
        (
            WebSocketStream::from_raw_socket(client, Role::Client, None).await,
            WebSocketStream::from_raw_socket(server, Role::Server, None).await,
        )
    }

    #[tokio::test(start_paused = true)]
    async fn goodbye_sends_going_away_and_waits_for_the_servers_close() {
        let (client, mut server) = pair().await;
        let answering = tokio::spawn(async move {
            // The server reads the Close; the library answers it with its own as it reads on.
            let code = match server.next().await {
                Some(Ok(Message::Close(Some(frame)))) => Some(frame.code),
                _ => None,
            };
            while server.next().await.is_some() {}
            code
        });
        let (mut outgoing, mut incoming) = client.split();
        let started = Instant::now();
        assert!(
            goodbye(&mut outgoing, &mut incoming).await,
            "the server answered"
        );
        assert!(started.elapsed() < CLOSE_WAIT);
        assert_eq!(answering.await.ok().flatten(), Some(CloseCode::Away));
    }

    #[tokio::test(start_paused = true)]
    async fn goodbye_gives_a_silent_server_close_wait_and_no_more() {
        let (client, _server) = pair().await;
        let (mut outgoing, mut incoming) = client.split();
        let started = Instant::now();
        assert!(!goodbye(&mut outgoing, &mut incoming).await);
        assert_eq!(started.elapsed(), CLOSE_WAIT);
    }

    /// A stream with nothing new to say still speaks every 25 s: servers drop a node silent for 60.
    #[tokio::test(start_paused = true)]
    async fn a_quiet_stream_is_kept_alive() {
        let (client, mut server) = pair().await;
        let (_cycles_tx, mut cycles) = watch::channel(None);
        let (stop_tx, mut stop) = watch::channel(false);
        let started = Instant::now();
        let streaming = tokio::spawn(async move {
            let settings = StreamSettings {
                endpoint: TelemetryEndpoint::parse("ws://127.0.0.1:9 0").expect("valid"),
                format: Format::Starknet,
                node_name: "quiet".into(),
                timeout: Duration::from_secs(10),
            };
            let mut latest = Latest {
                tracker: RateTracker::default(),
                cycle: None,
            };
            let telemetry = Telemetry::new(Duration::from_secs(90));
            let channels = (&mut cycles, &mut stop);
            matches!(
                session(
                    client,
                    &settings,
                    &mut latest,
                    channels,
                    &telemetry,
                    Until::Shutdown
                )
                .await,
                Ended::Stopped
            )
        });
        for beat in 1..=2u32 {
            let frame = server.next().await.expect("a frame").expect("readable");
            assert!(matches!(frame, Message::Ping(_)), "{frame:?}");
            assert_eq!(started.elapsed(), KEEPALIVE * beat);
        }
        stop_tx.send(true).expect("the session listens");
        while server.next().await.is_some() {}
        assert!(
            streaming.await.expect("the session ends"),
            "stopped on request"
        );
    }

    #[test]
    fn waits_start_over_after_a_healthy_connection_only() {
        // Two reconnectors drawing the same jitter, after six failed connects each: the one whose
        // last session was a blip keeps its grown ceiling, the one after a healthy minute starts
        // again at one second. Same draws, so the first never waits less.
        let mut longer = 0;
        for seed in 1..=50 {
            let mut after_blip = Reconnect::new(Jitter::seeded(seed));
            let mut after_healthy = Reconnect::new(Jitter::seeded(seed));
            for _ in 0..6 {
                after_blip.next_wait();
                after_healthy.next_wait();
            }
            after_blip.session_ended(Duration::from_secs(5));
            after_healthy.session_ended(HEALTHY_SESSION);
            let (blip, healthy) = (after_blip.next_wait(), after_healthy.next_wait());
            assert!(healthy <= BASE_DELAY, "seed {seed}: {healthy:?}");
            assert!(blip >= healthy, "seed {seed}: {blip:?} < {healthy:?}");
            longer += usize::from(blip > healthy);
        }
        assert!(longer > 40, "a blip keeps the grown waits: {longer} of 50");
    }

    #[test]
    fn reconnects_never_wait_more_than_twenty_seconds() {
        let mut backoff = Backoff::new(BASE_DELAY, MAX_RECONNECT_DELAY, Jitter::seeded(3));
        let delays: Vec<Duration> = (0..200).map(|_| backoff.next_delay()).collect();
        assert!(delays.iter().all(|delay| *delay <= Duration::from_secs(20)));
        assert!(
            delays.iter().any(|delay| *delay > Duration::from_secs(10)),
            "the cap is reached, with jitter below it: {delays:?}"
        );
    }

    #[test]
    fn telemetry_url_syntax() {
        let endpoint =
            TelemetryEndpoint::parse("wss://telemetry.polkadot.io/submit/ 5").expect("valid");
        assert_eq!(endpoint.verbosity, 5);
        assert_eq!(endpoint.url.as_str(), "wss://telemetry.polkadot.io/submit/");
        let missing = TelemetryEndpoint::parse("ws://127.0.0.1:8080").expect_err("no verbosity");
        assert!(missing.contains("URL, a space, a verbosity"), "{missing}");
        assert!(TelemetryEndpoint::parse("ws://x 10").is_err());
        assert!(TelemetryEndpoint::parse("ws://x high").is_err());
        assert!(TelemetryEndpoint::parse("http://x 1").is_err());
        assert!(TelemetryEndpoint::parse("ws://x 0").is_ok_and(|e| e.accepts(MESSAGE_VERBOSITY)));
    }
}
