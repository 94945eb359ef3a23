//! One instance's feed: the chain list every reader is told, and for each chain someone follows,
//! what its readers were last told. When writes commit (`streams::live` tells of this instance's
//! and, with PostgreSQL, every instance's), the hub reads the changed chains once, compares and
//! sends the difference to all their readers as one frame, written once: the cost of a block is one
//! read per followed chain, whatever the number of readers.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
use serde_json::{Value, json};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::time::{Instant, MissedTickBehavior};

use super::facts::{ChainFacts, NodeFacts};
use super::message::{Action, FEED_VERSION, FeedFrame};
use crate::serve::metrics::ServeMetrics;
use crate::serve::network::measure::CATCH_UP_MS;
use crate::serve::network::read::{MAX_LISTED_CHAINS, chain_reads};
use crate::serve::store::network::ChainSummary;
use crate::serve::store::{Database, StoreError};
use crate::serve::streams::Streams;

/// How often changed chains are read again: what readers see is at most this late.
const TICK: Duration = Duration::from_millis(250);
/// The chain list is read at most this often.
const LIST_EVERY: Duration = Duration::from_secs(1);
/// A followed chain is read this often even without news: peers, bandwidth and disconnections
/// change without a block.
const FOLLOWED_EVERY: Duration = Duration::from_secs(5);
/// After a failed read, the wait before the next.
const RETRY_AFTER: Duration = Duration::from_secs(1);
/// Frames a reader may fall behind by before it is told everything again.
const BACKLOG: usize = 256;
/// A frame tells at most this many nodes (about 32 KB, as the real core's).
const NODES_PER_FRAME: usize = 64;

/// A frame to the feed readers: to every reader (the chain list) or to a chain's; written once,
/// shared by all.
pub type ToReaders = Bytes;

/// What the hub reads with: the store, its reads timed in serve's metrics.
pub struct Reads<'a, S> {
    pub store: &'a S,
    pub metrics: &'a ServeMetrics,
}

impl<S> Clone for Reads<'_, S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S> Copy for Reads<'_, S> {}

/// The feed of one instance.
pub struct FeedHub {
    told: Mutex<Told>,
    to_all: broadcast::Sender<ToReaders>,
    expose_node_ip: bool,
}

/// What the readers were told.
#[derive(Default)]
struct Told {
    /// The chains listed, in order: key, label and connected nodes.
    chains: Vec<(String, String, i64)>,
    listed_at: Option<Instant>,
    followed: HashMap<String, Followed>,
}

/// A followed chain: its readers, and what they were told of it.
struct Followed {
    to_readers: broadcast::Sender<ToReaders>,
    best: Value,
    finalized: Value,
    stats: Value,
    /// By the node's id in the store: its number in the feed, and what was told of it.
    nodes: HashMap<i64, (usize, NodeFacts)>,
    free_numbers: Vec<usize>,
    next_number: usize,
    read_at: Instant,
}

/// A reader following a chain: what it is told first, then its news.
pub struct Following {
    pub chain: String,
    pub first: Vec<String>,
    pub news: broadcast::Receiver<ToReaders>,
}

impl FeedHub {
    pub fn new(expose_node_ip: bool) -> FeedHub {
        FeedHub {
            told: Mutex::default(),
            to_all: broadcast::channel(BACKLOG).0,
            expose_node_ip,
        }
    }

    fn told(&self) -> MutexGuard<'_, Told> {
        self.told
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A new reader's first frame (the version, then every chain), and the chain list's news
    /// from then on.
    pub async fn hello<S: Database>(
        &self,
        reads: Reads<'_, S>,
    ) -> Result<(String, broadcast::Receiver<ToReaders>), StoreError> {
        let stale = self
            .told()
            .listed_at
            .is_none_or(|at| at.elapsed() >= LIST_EVERY);
        if stale {
            self.read_chain_list(reads).await?;
        }
        let told = self.told();
        let mut frame = FeedFrame::default();
        frame.push(Action::FeedVersion, &json!(FEED_VERSION));
        frame.push(
            Action::TelemetryInfo,
            &json!({"git_hash": env!("NODEPULSE_GIT_COMMIT")}),
        );
        push_chains(&mut frame, &told.chains);
        let first = frame.finish().unwrap_or_default();
        Ok((first, self.to_all.subscribe()))
    }

    /// Every listed chain again, for a reader that fell behind the list's news.
    pub fn chain_list(&self) -> Option<String> {
        let mut frame = FeedFrame::default();
        push_chains(&mut frame, &self.told().chains);
        frame.finish()
    }

    /// Starts following `chain` for a reader that followed `previous` (told it no longer does);
    /// `None` for a chain not listed, as the real core ignores those.
    pub async fn follow<S: Database>(
        &self,
        reads: Reads<'_, S>,
        chain: &str,
        previous: Option<&str>,
    ) -> Result<Option<Following>, StoreError> {
        let (listed, followed) = {
            let told = self.told();
            let listed = told.chains.iter().any(|(key, _, _)| key == chain);
            (listed, told.followed.contains_key(chain))
        };
        if !listed {
            return Ok(None);
        }
        // Read before taking the lock, which no read may hold; another reader may have started
        // following meanwhile, and then this read is not needed.
        let fresh = match followed {
            true => None,
            false => self.read(reads, chain).await?,
        };
        let mut told = self.told();
        let followed = match (told.followed.entry(chain.to_owned()), fresh) {
            (Entry::Occupied(entry), _) => entry.into_mut(),
            (Entry::Vacant(entry), Some(facts)) => entry.insert(Followed::new(facts)),
            (Entry::Vacant(_), None) => return Ok(None),
        };
        Ok(Some(Following {
            chain: chain.to_owned(),
            first: followed.everything(chain, previous),
            news: followed.to_readers.subscribe(),
        }))
    }

    async fn read<S: Database>(
        &self,
        reads: Reads<'_, S>,
        chain: &str,
    ) -> Result<Option<ChainFacts>, StoreError> {
        let now_ms = crate::serve::now_ms();
        let since_ms = now_ms.saturating_sub(CATCH_UP_MS);
        let Some(read) = chain_reads(reads.store, reads.metrics, chain, since_ms).await? else {
            return Ok(None);
        };
        Ok(Some(ChainFacts::of(
            &read.summary,
            &read.nodes,
            &read.delays,
            &read.blocks,
            self.expose_node_ip,
            now_ms,
        )))
    }

    /// Reads the chain list and tells every reader what changed.
    async fn read_chain_list<S: Database>(&self, reads: Reads<'_, S>) -> Result<(), StoreError> {
        let summaries = reads.metrics.timed("chains", reads.store.chains()).await?;
        let chains = listed(&summaries);
        let mut told = self.told();
        let mut frame = FeedFrame::default();
        for (key, label, _) in &told.chains {
            let kept = chains
                .iter()
                .any(|(new_key, new_label, _)| new_key == key && new_label == label);
            if !kept {
                frame.push(Action::RemovedChain, &json!(key));
            }
        }
        for chain in &chains {
            if !told.chains.contains(chain) {
                let (key, label, count) = chain;
                frame.push(Action::AddedChain, &json!([label, key, count]));
            }
        }
        told.chains = chains;
        told.listed_at = Some(Instant::now());
        if let Some(frame) = frame.finish() {
            // No reader is no one to tell.
            let _ = self.to_all.send(frame.into());
        }
        Ok(())
    }

    /// Reads `chain` again and tells its readers what changed; forgets it once nobody follows.
    async fn refresh<S: Database>(
        &self,
        reads: Reads<'_, S>,
        chain: &str,
    ) -> Result<(), StoreError> {
        let facts = self.read(reads, chain).await?;
        let mut told = self.told();
        let Some(followed) = told.followed.get_mut(chain) else {
            return Ok(());
        };
        match facts {
            Some(facts) => {
                if let Some(frame) = followed.update(facts) {
                    let _ = followed.to_readers.send(frame.into());
                }
            }
            // The chain is gone (purged): its readers hear of it from the chain list.
            None => {
                told.followed.remove(chain);
            }
        }
        Ok(())
    }

    /// Until the server stops: reads what changed, every `TICK` at most, while anyone reads the
    /// feed.
    pub async fn run<S: Database>(
        self: Arc<Self>,
        store: Arc<S>,
        metrics: Arc<ServeMetrics>,
        streams: Arc<Streams>,
    ) {
        let reads = Reads {
            store: &*store,
            metrics: &metrics,
        };
        let mut news = streams.live.listen();
        let mut stopping = streams.stopping();
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut pending = Pending::default();
        loop {
            tokio::select! {
                _ = stopping.changed() => return,
                next = news.recv() => match next {
                    Ok(chain) => {
                        pending.chains.insert(chain.to_string());
                        pending.list = true;
                    }
                    Err(RecvError::Lagged(_)) => {
                        pending.everything = true;
                        pending.list = true;
                    }
                    Err(RecvError::Closed) => return,
                },
                _ = tick.tick() => {
                    if let Err(err) = self.catch_up(reads, &mut pending).await {
                        tracing::warn!("the feed was not brought up to date (tried again in a second): {err}");
                        tokio::time::sleep(RETRY_AFTER).await;
                    }
                }
            }
        }
    }

    /// Reads what `pending` says changed, and what is due anyway; what is read is no longer
    /// pending.
    async fn catch_up<S: Database>(
        &self,
        reads: Reads<'_, S>,
        pending: &mut Pending,
    ) -> Result<(), StoreError> {
        if self.to_all.receiver_count() == 0 {
            self.told().followed.clear();
            *pending = Pending::default();
            return Ok(());
        }
        let listed_for = self.told().listed_at.map(|at| at.elapsed());
        let list_due = match listed_for {
            None => true,
            Some(listed_for) => {
                (pending.list && listed_for >= LIST_EVERY) || listed_for >= FOLLOWED_EVERY
            }
        };
        if list_due {
            self.read_chain_list(reads).await?;
            pending.list = false;
        }
        let due: Vec<String> = {
            let mut told = self.told();
            told.followed
                .retain(|_, followed| followed.to_readers.receiver_count() > 0);
            told.followed
                .iter()
                .filter(|(chain, followed)| {
                    pending.everything
                        || pending.chains.contains(*chain)
                        || followed.read_at.elapsed() >= FOLLOWED_EVERY
                })
                .map(|(chain, _)| chain.clone())
                .collect()
        };
        for chain in due {
            self.refresh(reads, &chain).await?;
            pending.chains.remove(&chain);
        }
        // What nobody follows needs no reading.
        pending.chains.clear();
        pending.everything = false;
        Ok(())
    }
}

/// What changed since it was last read.
#[derive(Default)]
struct Pending {
    chains: HashSet<String>,
    /// The news fell behind: every followed chain may have changed.
    everything: bool,
    list: bool,
}

/// The chains with connected nodes, those with the most first, at most `MAX_LISTED_CHAINS`.
fn listed(summaries: &[ChainSummary]) -> Vec<(String, String, i64)> {
    summaries
        .iter()
        .filter(|summary| summary.connected > 0)
        .take(MAX_LISTED_CHAINS)
        .map(|summary| {
            let label = summary
                .name
                .clone()
                .unwrap_or_else(|| summary.chain.clone());
            (summary.chain.clone(), label, summary.connected)
        })
        .collect()
}

fn push_chains(frame: &mut FeedFrame, chains: &[(String, String, i64)]) {
    for (key, label, count) in chains {
        frame.push(Action::AddedChain, &json!([label, key, count]));
    }
}

impl Followed {
    fn new(facts: ChainFacts) -> Followed {
        let mut followed = Followed {
            to_readers: broadcast::channel(BACKLOG).0,
            best: Value::Null,
            finalized: Value::Null,
            stats: Value::Null,
            nodes: HashMap::new(),
            free_numbers: Vec::new(),
            next_number: 0,
            read_at: Instant::now(),
        };
        // Nobody follows yet: what it would say is told by `everything`.
        let _ = followed.update(facts);
        followed
    }

    /// What a reader starting to follow is told: the chain, then its nodes.
    fn everything(&self, chain: &str, previous: Option<&str>) -> Vec<String> {
        let mut frame = FeedFrame::default();
        if let Some(previous) = previous {
            frame.push(Action::UnsubscribedFrom, &json!(previous));
        }
        frame.push(Action::SubscribedTo, &json!(chain));
        frame.push(Action::TimeSync, &json!(crate::serve::now_ms()));
        frame.push(Action::BestBlock, &self.best);
        frame.push(Action::BestFinalized, &self.finalized);
        frame.push(Action::ChainStatsUpdate, &self.stats);
        let mut numbered: Vec<&(usize, NodeFacts)> = self.nodes.values().collect();
        numbered.sort_unstable_by_key(|(number, _)| *number);
        let mut frames: Vec<String> = frame.finish().into_iter().collect();
        for nodes in numbered.chunks(NODES_PER_FRAME) {
            let mut frame = FeedFrame::default();
            for (number, node) in nodes {
                push_added(&mut frame, *number, node);
            }
            frames.extend(frame.finish());
        }
        frames
    }

    /// Takes `facts` as what was told; the frame that tells what changed, if anything did.
    fn update(&mut self, facts: ChainFacts) -> Option<String> {
        self.read_at = Instant::now();
        let mut frame = FeedFrame::default();
        // The frontend forgets every node's propagation time at `BestBlock`, as the real core
        // sends it before the first report of a new best. Ours comes once the block is
        // corroborated, after reports of it were told: those are told again after it.
        let higher = |told: &Value, now: &Value| now[0].as_i64() > told[0].as_i64();
        let best_moved = (self.best.is_null() || higher(&self.best, &facts.best))
            .then(|| facts.best[0].as_i64())
            .flatten();
        if self.best.is_null() || higher(&self.best, &facts.best) {
            frame.push(Action::BestBlock, &facts.best);
            self.best = facts.best;
        }
        let present: HashSet<i64> = facts.nodes.iter().map(|(id, _)| *id).collect();
        let gone: Vec<i64> = self
            .nodes
            .keys()
            .filter(|id| !present.contains(id))
            .copied()
            .collect();
        for id in gone {
            if let Some((number, _)) = self.nodes.remove(&id) {
                frame.push(Action::RemovedNode, &json!(number));
                self.free_numbers.push(number);
            }
        }
        for (id, node) in facts.nodes {
            match self.nodes.get_mut(&id) {
                // A node that says something else of itself is told anew.
                Some((number, told)) if told.details != node.details => {
                    frame.push(Action::RemovedNode, &json!(number));
                    push_added(&mut frame, *number, &node);
                    *told = node;
                }
                Some((number, told)) => tell_changes(&mut frame, *number, told, node, best_moved),
                None => {
                    let number = self.free_numbers.pop().unwrap_or_else(|| {
                        self.next_number += 1;
                        self.next_number - 1
                    });
                    push_added(&mut frame, number, &node);
                    self.nodes.insert(id, (number, node));
                }
            }
        }
        if self.finalized.is_null() || higher(&self.finalized, &facts.finalized) {
            frame.push(Action::BestFinalized, &facts.finalized);
            self.finalized = facts.finalized;
        }
        if self.stats != facts.stats {
            frame.push(Action::ChainStatsUpdate, &facts.stats);
            self.stats = facts.stats;
        }
        frame.finish()
    }
}

/// `AddedNode`, then the node's finalized block, which the frontend reads from no other message.
fn push_added(frame: &mut FeedFrame, number: usize, node: &NodeFacts) {
    frame.push(Action::AddedNode, &node.added(number));
    let (height, hash) = &node.finalized;
    frame.push(Action::FinalizedBlock, &json!([number, height, hash]));
}

/// What changed of a node already told, taken as told; its heights never go down on the screen.
/// Its block is told again when the chain's best just moved to it (`best_moved`).
fn tell_changes(
    frame: &mut FeedFrame,
    number: usize,
    told: &mut NodeFacts,
    now: NodeFacts,
    best_moved: Option<i64>,
) {
    if now.block.height >= told.block.height
        && (now.block != told.block || best_moved.is_some_and(|best| now.block.height >= best))
    {
        frame.push(Action::ImportedBlock, &json!([number, now.block.payload()]));
        told.block = now.block;
    }
    if now.finalized != told.finalized && now.finalized.0 >= told.finalized.0 {
        let (height, hash) = &now.finalized;
        frame.push(Action::FinalizedBlock, &json!([number, height, hash]));
        told.finalized = now.finalized;
    }
    if now.stats != told.stats {
        frame.push(Action::NodeStats, &json!([number, now.stats]));
        told.stats = now.stats;
    }
    if now.hardware != told.hardware {
        frame.push(Action::NodeHardware, &json!([number, now.hardware]));
        told.hardware = now.hardware;
    }
    if now.io != told.io {
        frame.push(Action::NodeIo, &json!([number, now.io]));
        told.io = now.io;
    }
    told.startup_time = now.startup_time;
}
