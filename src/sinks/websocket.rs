//! Streaming telemetry over a WebSocket, one task per `--telemetry-url`.
//!
//! The connection looks after itself: a connect timeout, reconnects with jittered exponential
//! backoff (1 s up to a minute, reset after a healthy minute), the node re-identified first after
//! every reconnect, and while disconnected only the newest cycle is kept, so the first frames after a
//! reconnect describe now rather than replay a backlog. One `select!` serves the newest cycle, the
//! server's frames (pings are answered by the library on the next read or write), a keepalive
//! (servers drop a node silent for 60 s) and shutdown.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::{SinkExt, StreamExt};
use reqwest::Url;
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::Message;

use super::retry::{BASE_DELAY, Backoff, Jitter, MAX_DELAY};
use super::{DeliveryError, Until};
use crate::agent::Cycle;
use crate::formats::telemetry::{Format, RateTracker, Rates, Session};
use crate::secret::without_credentials;
use crate::telemetry::Telemetry;

/// The level of every message nodepulse sends: Substrate's `system.*`, `block.import` and
/// `notify.finalized` are level 0, so an endpoint of any verbosity takes them.
const MESSAGE_VERBOSITY: u8 = 0;
/// Well inside the 60 s after which telemetry servers drop a silent node.
const KEEPALIVE: Duration = Duration::from_secs(25);
/// A connection that lasted this long was healthy: the next reconnect starts from a short wait.
const HEALTHY_SESSION: Duration = Duration::from_secs(60);

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
    let mut backoff = Backoff::new(BASE_DELAY, MAX_DELAY, Jitter::from_entropy());
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
                if started.elapsed() >= HEALTHY_SESSION {
                    backoff.reset();
                }
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
        let retry_at = Instant::now() + backoff.next_delay();
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
            let _ =
                tokio::time::timeout(Duration::from_secs(1), outgoing.send(Message::Close(None)))
                    .await;
            return Ended::Settled;
        }
        tokio::select! {
            _ = stop.changed() => {
                // A clean goodbye, but never a hang on the way out.
                let _ = tokio::time::timeout(Duration::from_secs(1), outgoing.send(Message::Close(None))).await;
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
