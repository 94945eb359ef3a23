//! News for open pages: which chains changed, as writes commit. The batcher tells its own commits;
//! with PostgreSQL every instance's commits arrive instead through the database (`write_streams`
//! notifies, each instance listens), so a page open on one instance changes when a frame arrived
//! at another. Pages hear it over server-sent events (`page::live`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, broadcast, watch};

use crate::serve::store::streams::{ChainChanges, StreamStore};

/// Changes a slow page may fall behind by before it is told only that something changed.
const BACKLOG: usize = 1024;
/// Pages open at once on this instance; more are refused until one closes.
pub const MAX_OPEN_PAGES: usize = 4096;
/// After the listening connection fails, the wait before it listens again.
const RELISTEN_AFTER: Duration = Duration::from_secs(1);

/// A chain that changed, to every open page.
pub type ToPages = Arc<str>;

pub struct Live {
    to_pages: broadcast::Sender<ToPages>,
    open: Arc<Semaphore>,
    /// The database tells every instance of every commit, this one's included.
    told_by_database: bool,
    /// Changes heard of since the start, this instance's or (with PostgreSQL) any instance's:
    /// kept answers begun before the latest are computed again (`state::Kept`).
    changes: Arc<AtomicU64>,
}

/// An open page's place: its news, and its share of `MAX_OPEN_PAGES`.
pub struct Subscription {
    pub news: broadcast::Receiver<ToPages>,
    pub _place: OwnedSemaphorePermit,
}

impl Live {
    /// Starts listening to the database when it tells of other instances' commits; a database
    /// that cannot (or fails to start listening) leaves this instance telling its own.
    pub async fn start<S: StreamStore>(store: &S, stop: watch::Receiver<bool>) -> Live {
        let (to_pages, _) = broadcast::channel(BACKLOG);
        let heard = Arc::new(AtomicU64::new(0));
        let told_by_database = match store.chain_changes().await {
            Ok(Some(changes)) => {
                tokio::spawn(forward(changes, to_pages.clone(), Arc::clone(&heard), stop));
                true
            }
            Ok(None) => false,
            Err(err) => {
                tracing::warn!(
                    "live pages hear only this instance's writes: listening failed: {err}"
                );
                false
            }
        };
        Live {
            to_pages,
            open: Arc::new(Semaphore::new(MAX_OPEN_PAGES)),
            told_by_database,
            changes: heard,
        }
    }

    /// How many changes this instance has heard of since it started.
    pub fn changes(&self) -> u64 {
        self.changes.load(Ordering::Acquire)
    }

    /// A write touching `chains` was committed here.
    pub fn committed(&self, chains: Vec<String>) {
        if self.told_by_database {
            return;
        }
        for chain in chains {
            self.changes.fetch_add(1, Ordering::AcqRel);
            // No page open is no one to tell.
            let _ = self.to_pages.send(chain.into());
        }
    }

    /// A page's subscription; `None` while `MAX_OPEN_PAGES` are open.
    pub fn subscribe(&self) -> Option<Subscription> {
        Some(Subscription {
            _place: self.place()?,
            news: self.to_pages.subscribe(),
        })
    }

    /// A place for an open page that hears its news elsewhere (a feed reader hears the feed's);
    /// `None` while `MAX_OPEN_PAGES` are open.
    pub fn place(&self) -> Option<OwnedSemaphorePermit> {
        Arc::clone(&self.open).try_acquire_owned().ok()
    }

    /// The news, for a part of the server that tells pages of its own (the feed).
    pub fn listen(&self) -> broadcast::Receiver<ToPages> {
        self.to_pages.subscribe()
    }
}

/// The database's news to the pages, until the server stops.
async fn forward(
    mut changes: ChainChanges,
    to_pages: broadcast::Sender<ToPages>,
    heard: Arc<AtomicU64>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            next = changes.next() => match next {
                Ok(chain) => {
                    heard.fetch_add(1, Ordering::AcqRel);
                    let _ = to_pages.send(chain.into());
                }
                Err(err) => {
                    // The listener connects again at the next call.
                    tracing::warn!("live pages: listening to the database failed: {err}");
                    tokio::time::sleep(RELISTEN_AFTER).await;
                }
            },
        }
    }
}
