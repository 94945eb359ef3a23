//! What every handler shares, one value for the whole server: the store, the writer, the rate
//! limits, the streams, the alerts and the settings requests are answered by; and the address a
//! request came from.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use super::alerts::Alerts;
use super::error::ApiError;
use super::feed::hub::FeedHub;
use super::metrics::ServeMetrics;
use super::rate::RateLimit;
use super::store::StoreError;
use super::store::streams::{StreamNode, StreamStore};
use super::streams::Streams;
use super::writer::Writer;
use crate::wire::telemetry::decode::PeerReputation;

/// A key's last use is written at most this often (reads would otherwise write on every request).
const LAST_USED_EVERY_MS: i64 = 60_000;

/// The state every handler gets, behind an `Arc`.
pub struct AppState<S> {
    pub store: Arc<S>,
    pub writer: Writer,
    pub rate: RateLimit,
    /// The same rate for what comes without a key (public reads, failed sign-ins), by address.
    pub address_rate: RateLimit<IpAddr>,
    /// When each key's last use was written.
    pub last_used: LastUsed,
    pub metrics: Arc<ServeMetrics>,
    pub streams: Arc<Streams>,
    /// What fires now, for the page.
    pub alerts: Arc<Alerts>,
    /// `--offline-after`, in the unit the store's times are in.
    pub offline_after_ms: i64,
    pub fleet_metrics: bool,
    /// Stream reads need no key.
    pub public_reads: bool,
    /// Stream answers carry node addresses.
    pub expose_node_ip: bool,
    /// Served over TLS: the sign-in cookie is `Secure`.
    pub secure_cookies: bool,
    /// The chains' `/metrics` families, kept a few seconds.
    pub exported_chains: Kept<(), String, StoreError>,
    /// `/nodes` and `/api/nodes` as sent, JSON, kept a few seconds: each reads every node.
    pub nodes_answer: Kept<(), Bytes, ApiError>,
    pub node_data_answer: Kept<(), Bytes, ApiError>,
    /// The status page's table of stream nodes, rendered a few seconds at a time.
    pub stream_table: Kept<(), Arc<RenderedTable>, StoreError>,
    /// `/api/chains/{chain}?window=` as sent, by chain and window in ms (`None`: no such chain).
    pub chain_answers: Kept<(String, i64), Option<Bytes>, ApiError>,
    /// A chain page's name and `main`, the same for every reader, by chain, window and page of
    /// its nodes.
    pub chain_pages: Kept<ChainPageKey, Option<(String, String)>, StoreError>,
    /// `/nodes/log_stats` as sent, by `peer_id` (`None`: every node's).
    pub log_stats_answer: Kept<Option<String>, Bytes, ApiError>,
    /// `/stats/db` as sent: it counts the rows of every table.
    pub db_stats_answer: Kept<(), Bytes, ApiError>,
    /// Each node's newest network state stamped in the last `max_age_s` seconds, by `max_age_s`:
    /// what every reputation route reads (a node's is thousands of bytes). One is kept: a reader
    /// asking for a new `max_age_s` each time would otherwise have the server hold several.
    pub network_states: Kept<u64, Arc<Vec<PeersSeen>>, StoreError>,
    /// What substrate-telemetry's feed readers were told.
    pub feed: Arc<FeedHub>,
}

impl<S: StreamStore> AppState<S> {
    /// Every stream node, read and timed: what the kept answers over all nodes are made from.
    pub async fn stream_nodes(&self) -> Result<Vec<StreamNode>, StoreError> {
        self.metrics
            .timed("stream_nodes", self.store.stream_nodes())
            .await
    }
}

impl<S> AppState<S> {
    /// A request for a kept answer that writes to the streams change, asked now.
    pub fn asked_now(&self) -> Asked {
        Asked {
            at_ms: super::now_ms(),
            changes: self.streams.live.changes(),
        }
    }
}

/// A chain page as asked for: the chain, `?window=` and the page of its node list.
pub type ChainPageKey = (String, &'static str, usize);

/// A node's newest network state as the reputation routes read it: kept, and shared among
/// readers, instead of the state itself (thousands of bytes, many times that parsed).
#[derive(Debug)]
pub struct PeersSeen {
    pub reporting_peer: String,
    pub created_ms: i64,
    pub peers: Vec<PeerReputation>,
}

/// A table rendered once for many readers: the HTML of each page of its rows, how many rows, and
/// the rows something fires for (by the name they show) with what fires.
pub struct RenderedTable {
    pub pages: Vec<String>,
    pub rows: usize,
    pub firing: Vec<(String, Vec<&'static str>)>,
}

/// Answers computed now and then and shared, by what was asked (`()` when there is one answer).
/// Keyless readers may ask for answers that read every node: a crowd of them costs one
/// computation and one copy, not one each. Answers are computed one at a time; those who ask
/// meanwhile wait for that one. An answer is taken while it is younger than a given age and no
/// write has changed what it shows since it was begun (`Asked::changes`); else it is computed
/// again, but so that computing takes at most `1 / BUSY_SHARE` of the time: the next
/// computation, of any key, begins no sooner than `BUSY_SHARE - 1` times the last one's length
/// after that one ended (a later asker waits out the rest). So a page redrawn after a write shows
/// it (at once, where the answer is small), and a crowd costs at most a fifth of a core for each
/// kind of answer, also one that asks for a new key each time (the keys are the readers' own:
/// `max_age_s`, a peer id). A failure goes to those who waited for it (while the database is
/// down, a crowd is told at once, not one after another) and to no later asker. At most
/// `MAX_KEPT` answers are kept (or as `Kept::holding` says), the oldest forgotten first, before
/// the next is computed, and none past its age once another is asked for; a reader who waited
/// behind another key's computation may then find its key's answer forgotten, and compute it.
/// Failures are kept beside them, `MAX_KEPT` in all.
pub struct Kept<K, T, E> {
    kept: tokio::sync::Mutex<Answers<K, T, E>>,
    /// How many answers are kept at most.
    holding: usize,
    /// Each asker's turn, taken as it asks: who was waiting when a computation failed.
    turns: AtomicU64,
}

struct Answers<K, T, E> {
    by_key: Vec<KeptAnswer<K, T, E>>,
    /// When the next computation may begin; none after a failure (which waited, not computed).
    next_after: Option<tokio::time::Instant>,
}

struct KeptAnswer<K, T, E> {
    key: K,
    /// When and after how many changes its computation began.
    asked: Asked,
    answer: Result<T, Failure<E>>,
}

/// A failed computation, and the first turn not taken when it ended.
struct Failure<E> {
    error: E,
    turns_then: u64,
}

/// When an answer was asked for, and how many writes that change the answers had been heard of
/// by then (`Live::changes`; 0 for an answer no write changes).
#[derive(Debug, Clone, Copy)]
pub struct Asked {
    pub at_ms: i64,
    pub changes: u64,
}

const MAX_KEPT: usize = 4;
const BUSY_SHARE: u32 = 5;

impl<K, T, E> Default for Kept<K, T, E> {
    fn default() -> Kept<K, T, E> {
        Kept::holding(MAX_KEPT)
    }
}

impl<K, T, E> Kept<K, T, E> {
    /// Keeping at most `answers` answers (at least one): fewer for answers that read every node
    /// whole, whose every key a reader may ask for.
    pub fn holding(answers: usize) -> Kept<K, T, E> {
        Kept {
            kept: tokio::sync::Mutex::new(Answers {
                by_key: Vec::new(),
                next_after: None,
            }),
            holding: answers.max(1),
            turns: AtomicU64::new(0),
        }
    }
}

impl<K: PartialEq, T: Clone, E: Clone> Kept<K, T, E> {
    /// The answer to `key`, asked as `asked` says: the kept one if it began less than
    /// `max_age_ms` before and after every change heard of, else `compute`'s (begun once the
    /// one before allows), or the failure of one it waited for.
    pub async fn get(
        &self,
        key: K,
        asked: Asked,
        max_age_ms: i64,
        compute: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        let turn = self.turns.fetch_add(1, Ordering::AcqRel);
        let mut answers = self.kept.lock().await;
        let young = |began: &Asked| asked.at_ms.saturating_sub(began.at_ms) < max_age_ms;
        answers.by_key.retain(|kept| young(&kept.asked));
        if let Some(before) = answers.by_key.iter().find(|kept| kept.key == key) {
            match &before.answer {
                Ok(answer) if before.asked.changes >= asked.changes => return Ok(answer.clone()),
                Err(failure) if turn < failure.turns_then => {
                    return Err(failure.error.clone());
                }
                Ok(_) | Err(_) => {}
            }
        }
        // Room made before computing, so that a forgotten answer is not held beside the new one:
        // the oldest answers go. Failures, small, stay for those who waited for them (a reader of
        // another key may have come between), up to `MAX_KEPT` kept in all.
        answers.by_key.retain(|kept| kept.key != key);
        let mut held = answers
            .by_key
            .iter()
            .filter(|kept| kept.answer.is_ok())
            .count();
        answers.by_key.retain(|kept| {
            let forgotten = kept.answer.is_ok() && held >= self.holding;
            held -= usize::from(forgotten);
            !forgotten
        });
        while answers.by_key.len() >= MAX_KEPT {
            answers.by_key.remove(0);
        }
        if let Some(earliest) = answers.next_after {
            tokio::time::sleep_until(earliest).await;
        }
        // Stamped as asked, though begun later: those who wait behind this one asked before it
        // began, so it shows every change they had heard of.
        let began = tokio::time::Instant::now();
        let answer = compute.await.map_err(|error| Failure {
            error,
            turns_then: self.turns.load(Ordering::Acquire),
        });
        answers.next_after = answer
            .is_ok()
            .then(|| tokio::time::Instant::now() + began.elapsed() * (BUSY_SHARE - 1));
        let shown = match &answer {
            Ok(answer) => Ok(answer.clone()),
            Err(failure) => Err(failure.error.clone()),
        };
        answers.by_key.push(KeptAnswer { key, asked, answer });
        shown
    }
}

/// The address a request came from (`serve/connections.rs` hands it to every request).
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub SocketAddr);

/// When each key's last use was written.
#[derive(Default)]
pub struct LastUsed(Mutex<HashMap<i64, i64>>);

impl LastUsed {
    /// Whether key `key_id`'s use at `now_ms` is to be written.
    pub fn due(&self, key_id: i64, now_ms: i64) -> bool {
        let mut written = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let due = written
            .get(&key_id)
            .is_none_or(|at| now_ms.saturating_sub(*at) >= LAST_USED_EVERY_MS);
        if due {
            written.insert(key_id, now_ms);
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    use super::*;

    /// A computation that counts itself and answers `answer`.
    async fn counted(count: &AtomicUsize, answer: u32) -> Result<u32, String> {
        count.fetch_add(1, Ordering::SeqCst);
        Ok(answer)
    }

    fn at(at_ms: i64, changes: u64) -> Asked {
        Asked { at_ms, changes }
    }

    /// What a first asker's computation gives (`first`, once five more asked while it ran), what
    /// each of the five got, and how many of them computed.
    async fn crowd_behind(first: Result<u32, String>) -> (Vec<Result<u32, String>>, usize) {
        let kept = Arc::new(Kept::<(), u32, String>::default());
        let (started, computing) = tokio::sync::oneshot::channel();
        let (finish, finished) = tokio::sync::oneshot::channel::<()>();
        let first = tokio::spawn({
            let kept = Arc::clone(&kept);
            async move {
                kept.get((), at(1_000, 3), 5_000, async move {
                    let _ = started.send(());
                    let _ = finished.await;
                    first
                })
                .await
            }
        });
        computing.await.expect("the first computation started");
        let count = Arc::new(AtomicUsize::new(0));
        let crowd: Vec<_> = (0..5)
            .map(|n| {
                let (kept, count) = (Arc::clone(&kept), Arc::clone(&count));
                tokio::spawn(async move {
                    kept.get((), at(1_000 + n, 3), 5_000, counted(&count, 99))
                        .await
                })
            })
            .collect();
        finish.send(()).expect("the first is waiting");
        let mut answers = vec![first.await.expect("first")];
        for asker in crowd {
            answers.push(asker.await.expect("asker"));
        }
        (answers, count.load(Ordering::SeqCst))
    }

    /// Those who ask while the answer is computed wait for it and take it: one computation for
    /// the crowd.
    #[tokio::test]
    async fn those_who_ask_meanwhile_take_the_answer_being_computed() {
        let (answers, computed) = crowd_behind(Ok(7)).await;
        assert_eq!(answers, vec![Ok(7); 6]);
        assert_eq!(computed, 0, "no asker computed again");
    }

    /// A failure goes to those who waited for it, at once, and to no one who asks after it.
    #[tokio::test]
    async fn a_failure_goes_to_those_who_waited_for_it() {
        let down = Err("the database is unavailable".to_owned());
        let (answers, computed) = crowd_behind(down.clone()).await;
        assert_eq!(answers, vec![down; 6]);
        assert_eq!(computed, 0, "the waiters did not try again");
        let kept = Kept::<(), u32, String>::default();
        let count = AtomicUsize::new(0);
        let failed = kept
            .get((), at(0, 0), 5_000, async {
                Err::<u32, _>("down".to_owned())
            })
            .await;
        assert_eq!(failed, Err("down".to_owned()));
        assert_eq!(
            kept.get((), at(0, 0), 5_000, counted(&count, 9)).await,
            Ok(9)
        );
    }

    /// An answer is taken until it is `max_age_ms` old, then computed again; each key has its
    /// own.
    #[tokio::test]
    async fn answers_are_kept_by_key_until_their_age() {
        let kept = Kept::<&str, u32, String>::default();
        let count = AtomicUsize::new(0);
        assert_eq!(
            kept.get("a", at(0, 0), 100, counted(&count, 1)).await,
            Ok(1)
        );
        assert_eq!(
            kept.get("a", at(99, 0), 100, counted(&count, 2)).await,
            Ok(1)
        );
        assert_eq!(
            kept.get("b", at(99, 0), 100, counted(&count, 3)).await,
            Ok(3)
        );
        assert_eq!(
            kept.get("a", at(100, 0), 100, counted(&count, 4)).await,
            Ok(4)
        );
        assert_eq!(count.load(Ordering::SeqCst), 3);
        let failed = kept
            .get("c", at(100, 0), 100, async {
                Err::<u32, _>("down".to_owned())
            })
            .await;
        assert_eq!(failed, Err("down".to_owned()));
        assert_eq!(
            kept.get("c", at(101, 0), 100, counted(&count, 5)).await,
            Ok(5)
        );
    }

    /// After a change is heard of, the answer begun before it is not taken: it is computed again,
    /// once as long after the last one ended as `BUSY_SHARE - 1` times that one took. (The clock
    /// is tokio's, paused: it moves only when every task waits, and a computation here takes
    /// 100 ms of it.)
    #[tokio::test(start_paused = true)]
    async fn a_change_is_shown_once_the_last_computation_allows() {
        let kept = Kept::<(), u32, String>::default();
        let count = AtomicUsize::new(0);
        let count = &count;
        let computed = |answer| async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            counted(count, answer).await
        };
        let start = tokio::time::Instant::now();
        assert_eq!(kept.get((), at(0, 4), 60_000, computed(1)).await, Ok(1));
        assert_eq!(kept.get((), at(10, 4), 60_000, computed(2)).await, Ok(1));
        assert_eq!(
            start.elapsed(),
            Duration::from_millis(100),
            "no change: taken at once"
        );
        assert_eq!(kept.get((), at(20, 5), 60_000, computed(3)).await, Ok(3));
        assert_eq!(
            start.elapsed(),
            Duration::from_millis(100 + 400 + 100),
            "begun 400 ms after the last one ended"
        );
        assert_eq!(kept.get((), at(30, 5), 60_000, computed(4)).await, Ok(3));
        assert_eq!(count.load(Ordering::SeqCst), 2);
    }

    /// A reader asking for a new key each time gets its computations no sooner than one asking
    /// again after changes: one in `BUSY_SHARE` of the time, whatever the keys (the clock paused,
    /// a computation 100 ms of it).
    #[tokio::test(start_paused = true)]
    async fn new_keys_wait_their_turn_as_changes_do() {
        let kept = Kept::<u64, u64, String>::default();
        let computed = |answer| async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            Ok::<_, String>(answer)
        };
        let start = tokio::time::Instant::now();
        for key in 1..=3 {
            assert_eq!(
                kept.get(key, at(0, 0), 60_000, computed(key)).await,
                Ok(key)
            );
        }
        assert_eq!(
            start.elapsed(),
            Duration::from_millis(100 + 400 + 100 + 400 + 100),
            "each begun 400 ms after the one before ended"
        );
        // Kept keys are taken at once all the same.
        assert_eq!(kept.get(2, at(10, 0), 60_000, computed(9)).await, Ok(2));
        assert_eq!(start.elapsed(), Duration::from_millis(1_100));
        // After a failure the next one begins at once: the failure computed nothing.
        let failed = kept
            .get(4, at(10, 0), 60_000, async {
                Err::<u64, _>("down".to_owned())
            })
            .await;
        assert_eq!(failed, Err("down".to_owned()));
        let after = tokio::time::Instant::now();
        assert_eq!(kept.get(5, at(10, 0), 60_000, computed(5)).await, Ok(5));
        assert_eq!(after.elapsed(), Duration::from_millis(100));
    }

    /// At most `MAX_KEPT` answers are kept, the oldest forgotten first; stale ones go as soon
    /// as another is asked for.
    #[tokio::test]
    async fn few_answers_are_kept() {
        let kept = Kept::<usize, usize, String>::default();
        for key in 0..=MAX_KEPT {
            let _ = kept
                .get(key, at(0, 0), 1_000, async { Ok::<_, String>(key) })
                .await;
        }
        let keys = |kept: &Kept<usize, usize, String>| {
            kept.kept
                .try_lock()
                .map(|kept| kept.by_key.iter().map(|kept| kept.key).collect::<Vec<_>>())
                .expect("not locked")
        };
        assert_eq!(keys(&kept), (1..=MAX_KEPT).collect::<Vec<_>>());
        let _ = kept
            .get(0, at(1_000, 0), 1_000, async { Ok::<_, String>(0) })
            .await;
        assert_eq!(keys(&kept), [0]);
    }

    /// A `Kept` holding one answer has let the last one go when the next is computed: a reader
    /// changing keys never has two held (the answer here an `Arc`, as the network states').
    #[tokio::test]
    async fn one_answer_held_is_let_go_before_the_next_is_computed() {
        let kept = Kept::<u64, Arc<Vec<u8>>, String>::holding(1);
        let first = Arc::downgrade(
            &kept
                .get(1, at(0, 0), 60_000, async {
                    Ok::<_, String>(Arc::new(vec![1; 1024]))
                })
                .await
                .expect("computed"),
        );
        let second = kept
            .get(2, at(1, 0), 60_000, async {
                assert!(first.upgrade().is_none(), "the first answer still held");
                Ok::<_, String>(Arc::new(vec![2; 1024]))
            })
            .await;
        assert_eq!(second.as_deref(), Ok(&vec![2; 1024]));
        // Asked again, the first is computed again.
        let again = kept
            .get(1, at(2, 0), 60_000, async {
                Ok::<_, String>(Arc::new(vec![3]))
            })
            .await;
        assert_eq!(again.as_deref(), Ok(&vec![3]));
    }

    /// Holding one answer, a failure still reaches those who waited for it when a reader of
    /// another key came between them: it is not forgotten to make room.
    #[tokio::test]
    async fn a_failure_reaches_its_waiters_past_another_keys_computation() {
        let kept = Arc::new(Kept::<u64, u32, String>::holding(1));
        let (started, computing) = tokio::sync::oneshot::channel();
        let (finish, finished) = tokio::sync::oneshot::channel::<()>();
        let failing = tokio::spawn({
            let kept = Arc::clone(&kept);
            async move {
                kept.get(1, at(0, 0), 60_000, async move {
                    let _ = started.send(());
                    let _ = finished.await;
                    Err::<u32, _>("down".to_owned())
                })
                .await
            }
        });
        computing.await.expect("the first computation started");
        let count = Arc::new(AtomicUsize::new(0));
        let askers: Vec<_> = [2, 1]
            .into_iter()
            .map(|key| {
                let (kept, count) = (Arc::clone(&kept), Arc::clone(&count));
                tokio::spawn(
                    async move { kept.get(key, at(1, 0), 60_000, counted(&count, 9)).await },
                )
            })
            .collect();
        finish.send(()).expect("the first is waiting");
        assert_eq!(failing.await.expect("first"), Err("down".to_owned()));
        let mut answers = Vec::new();
        for asker in askers {
            answers.push(asker.await.expect("asker"));
        }
        assert_eq!(answers, [Ok(9), Err("down".to_owned())]);
        assert_eq!(count.load(Ordering::SeqCst), 1, "only key 2 was computed");
    }
}
