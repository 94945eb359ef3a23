//! Stream messages are written in batches, as substrate-analytics writes them: up to
//! `--db-batch-size` messages or `--db-save-latency` after the first one waits, whichever comes
//! first. A batch the database refuses for now (unavailable) is retried, with backoff, until it is
//! stored; the queue in front is bounded, so connections then wait to be read (TCP pushes back on
//! the nodes, which drop what they cannot send). A batch the database refuses outright is halved
//! until the refused messages stand alone; each of those is tried three times, then counted as
//! unstorable and logged: never dropped without a trace, and never costing another node its own.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::live::Live;
use crate::serve::metrics::{ServeMetrics, StreamRefusal};
use crate::serve::store::StoreError;
use crate::serve::store::halving::Halving;
use crate::serve::store::streams::{
    BlockRow, Connect, Gone, LogRow, NodeRef, Seen, StreamBatch, StreamStore, sample_minute,
};
use crate::wire::telemetry::decode::{BestBlock, MAX_STATE_FIELDS, fits_state, lenient_number};

/// Items waiting for the batcher; when full, connections wait (bounded memory).
const QUEUE: usize = 16 * 1024;
const FAILED_ATTEMPTS: u32 = 3;
const BACKOFF_FIRST: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// How often the nodes' last contacts and states are written (and a node's when it goes away).
/// Rewriting every node's row in every batch cost a sixth of the server's CPU at 10,000 frames/s;
/// its messages themselves are written at once.
pub(super) const CONTACT_EVERY_MS: i64 = 5_000;

/// A node as a connection knows it: its database id, filled in by the batcher once its `Connect`
/// is committed, and its merged state, which the connection updates with every message and the
/// batcher writes, with the last contact, at its first message and then in the sweep every
/// `CONTACT_EVERY_MS` (serializing it per message cost more than storing the message).
#[derive(Debug, Default)]
pub struct NodeHandle {
    id: AtomicI64,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    fields: Map<String, Value>,
    changed: bool,
    /// The newest message received (server clock, ms), and the one last written as contact.
    seen_ms: i64,
    written_seen_ms: i64,
    /// A contact was taken for writing, and not given back (`rewind`): the next is the sweep's.
    contact_taken: bool,
    /// The minute (`sample_minute`) of the last sample taken.
    sampled_minute: Option<i64>,
}

impl NodeHandle {
    fn id(&self) -> Option<i64> {
        Some(self.id.load(Ordering::Acquire)).filter(|id| *id > 0)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Merges a message's `update` into the node's state, within the state's bounds: values of
    /// bounded size (`fits_state`) and at most `MAX_STATE_FIELDS` fields, new ones past that
    /// not kept. (Every frame comes through here: one look-up a field.)
    pub fn merge(&self, update: Map<String, Value>) {
        let mut guard = self.state();
        let state = &mut *guard;
        for (key, value) in update {
            if !fits_state(&key, &value) {
                continue;
            }
            let room = state.fields.len() < MAX_STATE_FIELDS;
            match state.fields.get_mut(&key) {
                Some(known) if *known != value => {
                    *known = value;
                    state.changed = true;
                }
                Some(_) => {}
                None if room => {
                    state.fields.insert(key, value);
                    state.changed = true;
                }
                None => {}
            }
        }
    }

    fn saw(&self, at_ms: i64) {
        let mut state = self.state();
        state.seen_ms = state.seen_ms.max(at_ms);
    }

    /// The newest message received, if any was.
    fn heard_ms(&self) -> Option<i64> {
        Some(self.state().seen_ms).filter(|seen_ms| *seen_ms > 0)
    }

    /// A message of the node's is newer than its contact as written, or changed its state (in
    /// the same millisecond as the last written).
    fn unwritten(&self) -> bool {
        self.state().unwritten()
    }

    /// The contact to write now, if one is due: the newest message's time, the state as JSON if
    /// it changed since last written, and the state's figures if the newest message opened a
    /// minute no sample was taken in yet. A message makes the node's first contact due; later
    /// ones wait for the sweep or the node's going (`Due::Now`).
    fn contact(&self, node: NodeRef, due: Due) -> Option<Seen> {
        let mut state = self.state();
        if (due == Due::First && state.contact_taken) || !state.unwritten() {
            return None;
        }
        state.contact_taken = true;
        state.written_seen_ms = state.seen_ms;
        let minute = sample_minute(state.seen_ms);
        let sampled = state.sampled_minute.is_none_or(|last| minute > last);
        if sampled {
            state.sampled_minute = Some(minute);
        }
        let changed = std::mem::take(&mut state.changed);
        // A map of JSON values always serializes. A sample keeps the figures, the fields that
        // read as numbers: hashes and names, half a state's bytes, would be kept for the whole
        // retention for no chart.
        let fields = changed.then(|| serde_json::to_string(&state.fields).unwrap_or_default());
        let sample = sampled.then(|| {
            let figures: Map<String, Value> = state
                .fields
                .iter()
                .filter(|(_, value)| lenient_number(value).is_some())
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect();
            serde_json::to_string(&figures).unwrap_or_default()
        });
        Some(Seen {
            node,
            at_ms: state.seen_ms,
            state: fields,
            sample,
        })
    }

    /// `seen` was not written after all: it is due again, with the state and the minute's sample
    /// if it carried them.
    fn rewind(&self, seen: &Seen) {
        let mut state = self.state();
        state.contact_taken = false;
        state.written_seen_ms = state.written_seen_ms.min(seen.at_ms - 1);
        state.changed |= seen.state.is_some();
        if seen.sample.is_some() {
            state.sampled_minute = None;
        }
    }
}

impl State {
    fn unwritten(&self) -> bool {
        self.seen_ms > self.written_seen_ms || self.changed
    }
}

/// When a node's contact is written (`NodeHandle::contact`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Due {
    /// With a message: only if none was written yet.
    First,
    /// In the sweep, or as the node goes.
    Now,
}

/// A message without its node, which the batcher resolves.
#[derive(Debug)]
pub struct NodeMessage {
    pub created_ms: i64,
    pub msg: String,
    pub target: Option<String>,
    pub audit: bool,
    pub log: String,
    /// The new best block it reports, if any.
    pub sighting: Option<Sighting>,
}

/// A node's new best block, on its chain; `import` as in `BlockRow`.
#[derive(Debug)]
pub struct Sighting {
    pub chain: Arc<str>,
    pub block: BestBlock,
    pub import: bool,
}

/// What a connection hands the batcher, in the order its node did it.
#[derive(Debug)]
pub enum ToBatcher {
    Connect(Arc<NodeHandle>, Connect),
    Message(Arc<NodeHandle>, NodeMessage),
    Disconnect(Arc<NodeHandle>, i64),
    /// A node whose contact may still be unwritten: written now if it is. The batcher's own,
    /// from `Heard`'s sweep.
    Heard(Arc<NodeHandle>),
}

#[derive(Debug, Clone, Copy)]
pub struct BatchLimits {
    pub messages: usize,
    pub latency: Duration,
    /// The stream bench's floor (`--bench-discard-streams`): batches are dropped, not written.
    pub discard: bool,
}

#[derive(Clone)]
pub struct Batcher {
    queue: mpsc::Sender<ToBatcher>,
    unsettled: Arc<AtomicUsize>,
}

/// The batcher's task, and what it holds that is not written yet.
pub struct BatcherTask {
    task: JoinHandle<()>,
    unsettled: Arc<AtomicUsize>,
}

impl Batcher {
    /// Starts the batcher task; it ends, after writing what is queued, when every `Batcher` clone
    /// is dropped.
    pub fn start<S: StreamStore>(
        store: Arc<S>,
        limits: BatchLimits,
        metrics: Arc<ServeMetrics>,
        live: Arc<Live>,
    ) -> (Batcher, BatcherTask) {
        let (queue, receiver) = mpsc::channel(QUEUE);
        let unsettled = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn(run(
            store,
            limits,
            metrics,
            live,
            receiver,
            Arc::clone(&unsettled),
        ));
        let batcher = Batcher {
            queue,
            unsettled: Arc::clone(&unsettled),
        };
        (batcher, BatcherTask { task, unsettled })
    }

    /// Hands an item over; waits while the queue is full. False once the batcher has stopped.
    pub async fn send(&self, item: ToBatcher) -> bool {
        let message = matches!(item, ToBatcher::Message(..));
        if message {
            self.unsettled.fetch_add(1, Ordering::Relaxed);
        }
        let sent = self.queue.send(item).await.is_ok();
        if message && !sent {
            self.unsettled.fetch_sub(1, Ordering::Relaxed);
        }
        sent
    }

    /// Items handed over and not yet taken into a batch.
    pub fn waiting(&self) -> usize {
        self.queue.max_capacity() - self.queue.capacity()
    }
}

impl BatcherTask {
    /// Waits up to `within` for the batcher to write what it was handed and end (once every
    /// `Batcher` is dropped). Past that (the database is down or far behind) the batcher is
    /// stopped, and the messages it had taken and not written, stored nor counted as lost, are
    /// the error.
    pub async fn finish(self, within: Duration) -> Result<(), usize> {
        let BatcherTask {
            mut task,
            unsettled,
        } = self;
        if tokio::time::timeout(within, &mut task).await.is_ok() {
            return Ok(());
        }
        task.abort();
        // Awaited so that a write finishing meanwhile is not counted as unwritten.
        let _ = task.await;
        Err(unsettled.load(Ordering::Relaxed))
    }
}

async fn run<S: StreamStore>(
    store: Arc<S>,
    limits: BatchLimits,
    metrics: Arc<ServeMetrics>,
    live: Arc<Live>,
    mut receiver: mpsc::Receiver<ToBatcher>,
    unsettled: Arc<AtomicUsize>,
) {
    let mut items = Vec::new();
    let mut heard = Heard::new(Instant::now());
    loop {
        // Wait for the first item (or the sweep), then gather until the batch is full or its
        // first item has waited `latency`.
        let first = match heard.sweep_at() {
            Some(at) => tokio::time::timeout_at(at, receiver.recv()).await.ok(),
            None => Some(receiver.recv().await),
        };
        let mut closed = false;
        match first {
            Some(Some(item)) => {
                items.push(item);
                let deadline = Instant::now() + limits.latency;
                // Whatever is queued is taken at once; the messages are counted as they come.
                let mut messages = messages_in(&items);
                while messages < limits.messages {
                    let taken = items.len();
                    let wanted = limits.messages - messages;
                    match tokio::time::timeout_at(deadline, receiver.recv_many(&mut items, wanted))
                        .await
                    {
                        Ok(0) => {
                            closed = true;
                            break;
                        }
                        Ok(_) => messages += messages_in(&items[taken..]),
                        Err(_) => break,
                    }
                }
            }
            Some(None) => return,
            None => {} // only the sweep is due
        }
        heard.note(&items);
        // The sweep is a batch of its own: a message refused for good halves its batch until it
        // stands alone, which would take ten thousand contacts along each time.
        let swept = heard.sweep(Instant::now());
        for batch in [std::mem::take(&mut items), swept] {
            if limits.discard {
                unsettled.fetch_sub(messages_in(&batch), Ordering::Relaxed);
            } else if !batch.is_empty() {
                write(&*store, &metrics, &live, &unsettled, batch).await;
            }
        }
        if closed {
            return;
        }
    }
}

/// The nodes heard from, whose contact may not be written yet. Every `CONTACT_EVERY_MS` those
/// whose is not are swept into one batch, their contacts written together in the order of ids:
/// a page of the nodes' table holds a few nodes' rows, and writing each node's contact with its
/// own messages rewrote a page for nearly every node (60 % of SQLite's writes at 10,000
/// frames/s, 19 MB/s).
struct Heard {
    /// By the handle's address (a raw pointer would make the batcher's future not `Send`).
    nodes: HashMap<usize, Arc<NodeHandle>>,
    next_sweep: Instant,
}

impl Heard {
    const EVERY: Duration = Duration::from_millis(CONTACT_EVERY_MS as u64);

    fn new(now: Instant) -> Heard {
        Heard {
            nodes: HashMap::new(),
            next_sweep: now + Self::EVERY,
        }
    }

    /// When the batcher must wake for a sweep though nothing comes; `None` while nothing waits.
    fn sweep_at(&self) -> Option<Instant> {
        (!self.nodes.is_empty()).then_some(self.next_sweep)
    }

    fn note(&mut self, items: &[ToBatcher]) {
        for item in items {
            if let ToBatcher::Message(handle, _) = item {
                self.nodes
                    .entry(Arc::as_ptr(handle) as usize)
                    .or_insert_with(|| Arc::clone(handle));
            }
        }
    }

    /// The sweep's batch, once it is due. Nodes written since the last are forgotten, and so are
    /// nodes gone (held by no connection nor queued item: their going wrote their last contact).
    fn sweep(&mut self, now: Instant) -> Vec<ToBatcher> {
        if now < self.next_sweep {
            return Vec::new();
        }
        // On the sweep's own beat, not the batches': a contact is at most `EVERY` old when taken.
        self.next_sweep = (self.next_sweep + Self::EVERY).max(now);
        self.nodes
            .retain(|_, handle| Arc::strong_count(handle) > 1 && handle.unwritten());
        self.nodes
            .values()
            .map(|handle| ToBatcher::Heard(Arc::clone(handle)))
            .collect()
    }
}

fn messages_in(items: &[ToBatcher]) -> usize {
    items
        .iter()
        .filter(|item| matches!(item, ToBatcher::Message(..)))
        .count()
}

/// Writes the items, halving a group the database refuses for good until the refused items stand
/// alone (`store::halving`): only they are lost, and counted. Each group's messages are settled
/// (taken off `unsettled`) once stored or counted as lost.
async fn write<S: StreamStore>(
    store: &S,
    metrics: &ServeMetrics,
    live: &Live,
    unsettled: &AtomicUsize,
    items: Vec<ToBatcher>,
) {
    let mut groups = Halving::new(items.len());
    while let Some(group) = groups.next_group() {
        match write_group(store, metrics, live, &items[group.clone()]).await {
            Err(StoreError::Failed(_)) if groups.halve(&group) => {}
            Ok(()) => {
                unsettled.fetch_sub(messages_in(&items[group]), Ordering::Relaxed);
            }
            Err(err) => {
                let messages = messages_in(&items[group]);
                unsettled.fetch_sub(messages, Ordering::Relaxed);
                tracing::error!(
                    messages,
                    "stream messages could not be stored and are counted as lost: {err}"
                );
                metrics.stream_refused(StreamRefusal::Unstorable, messages as u64);
            }
        }
    }
}

/// Builds one group's batch and writes it, retrying while the database is unavailable and, for a
/// lone item, a few times when it refuses; tells each handle its id. Its items are counted here
/// once written; a refused group's are counted by the caller.
async fn write_group<S: StreamStore>(
    store: &S,
    metrics: &ServeMetrics,
    live: &Live,
    items: &[ToBatcher],
) -> Result<(), StoreError> {
    let assembled = assemble(items);
    let batch = &assembled.batch;
    let mut backoff = BACKOFF_FIRST;
    let mut failures = 0;
    loop {
        let result = metrics
            .timed("write_streams", store.write_streams(batch))
            .await;
        match result {
            Ok(ids) => {
                for (handle, id) in assembled.connecting.iter().zip(ids) {
                    handle.id.store(id, Ordering::Release);
                }
                if assembled.orphans > 0 {
                    // Their node's connect was in a batch that could not be stored.
                    metrics.stream_refused(StreamRefusal::Unstorable, assembled.orphans);
                }
                metrics.stream_batch(batch.logs.len());
                live.committed(batch.chains());
                return Ok(());
            }
            Err(StoreError::Unavailable(reason) | StoreError::Aborted(reason)) => {
                tracing::warn!(
                    messages = batch.logs.len(),
                    "the database did not take the batch now, retrying it in {backoff:?}: {reason}"
                );
            }
            Err(err) => {
                failures += 1;
                if items.len() > 1 || failures >= FAILED_ATTEMPTS {
                    // The contacts taken for this batch are written with a later one.
                    for (handle, seen) in assembled.contacts.iter().zip(&batch.seen) {
                        handle.rewind(seen);
                    }
                    return Err(err);
                }
                tracing::warn!(
                    "storing a stream message failed, trying again in {backoff:?}: {err}"
                );
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

/// A batch in the store's terms, with what the batcher needs back from it.
struct Assembled {
    batch: StreamBatch,
    /// The handles of `batch.connects`, in order.
    connecting: Vec<Arc<NodeHandle>>,
    /// The handles of `batch.seen`, in order.
    contacts: Vec<Arc<NodeHandle>>,
    /// Items whose node could not be resolved.
    orphans: u64,
}

/// The batch in the store's terms: each handle becomes its id, or its place among this batch's
/// connects; the contacts due go once per node, in the order of the nodes.
fn assemble(items: &[ToBatcher]) -> Assembled {
    let mut batch = StreamBatch::default();
    let mut connecting: Vec<Arc<NodeHandle>> = Vec::new();
    let mut contacts: Vec<Arc<NodeHandle>> = Vec::new();
    let mut in_batch: HashMap<*const NodeHandle, usize> = HashMap::new();
    let mut touched: HashMap<*const NodeHandle, (NodeRef, &Arc<NodeHandle>, Due)> = HashMap::new();
    let mut orphans = 0;
    let resolve = |handle: &Arc<NodeHandle>, in_batch: &HashMap<*const NodeHandle, usize>| {
        in_batch
            .get(&Arc::as_ptr(handle))
            .map(|index| NodeRef::Connecting(*index))
            .or_else(|| handle.id().map(NodeRef::Known))
    };
    for item in items {
        match item {
            ToBatcher::Connect(handle, connect) => {
                in_batch.insert(Arc::as_ptr(handle), batch.connects.len());
                batch.connects.push(connect.clone());
                connecting.push(Arc::clone(handle));
            }
            ToBatcher::Message(handle, message) => {
                let Some(node) = resolve(handle, &in_batch) else {
                    orphans += 1;
                    continue;
                };
                batch.logs.push(LogRow {
                    node,
                    created_ms: message.created_ms,
                    msg: message.msg.clone(),
                    target: message.target.clone(),
                    audit: message.audit,
                    log: message.log.clone(),
                });
                if let Some(sighting) = &message.sighting {
                    batch.blocks.push(BlockRow {
                        node,
                        chain: Arc::clone(&sighting.chain),
                        height: sighting.block.height,
                        hash: sighting.block.hash.clone(),
                        at_ms: message.created_ms,
                        import: sighting.import,
                    });
                }
                handle.saw(message.created_ms);
                touched
                    .entry(Arc::as_ptr(handle))
                    .or_insert((node, handle, Due::First));
            }
            ToBatcher::Heard(handle) => {
                if let Some(node) = resolve(handle, &in_batch) {
                    touched.insert(Arc::as_ptr(handle), (node, handle, Due::Now));
                }
            }
            ToBatcher::Disconnect(handle, at_ms) => match resolve(handle, &in_batch) {
                Some(node) => {
                    // Its last contact and state, written before it is marked gone.
                    touched.insert(Arc::as_ptr(handle), (node, handle, Due::Now));
                    batch.disconnects.push(Gone {
                        node,
                        at_ms: *at_ms,
                        heard_ms: handle.heard_ms().unwrap_or(*at_ms),
                    });
                }
                None => orphans += 1,
            },
        }
    }
    let mut taken: Vec<(Seen, &Arc<NodeHandle>)> = touched
        .into_values()
        .filter_map(|(node, handle, due)| Some((handle.contact(node, due)?, handle)))
        .collect();
    // Of two handles on one node (it connected again before its old connection was let go), the
    // newer contact: one statement updating a row twice keeps either.
    taken.sort_unstable_by_key(|(seen, _)| (seen.node, std::cmp::Reverse(seen.at_ms)));
    taken.dedup_by_key(|(seen, _)| seen.node);
    for (seen, handle) in taken {
        batch.seen.push(seen);
        contacts.push(Arc::clone(handle));
    }
    Assembled {
        batch,
        connecting,
        contacts,
        orphans,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::store::streams::StreamFormat;
    use crate::wire::telemetry::decode::Identity;

    fn connect(peer_id: &str) -> Connect {
        Connect {
            identity: Identity {
                peer_id: peer_id.into(),
                ..Identity::default()
            },
            format: StreamFormat::Starknet,
            ip: "127.0.0.1".into(),
            audit: false,
            at_ms: 1,
        }
    }

    fn message(at: i64) -> NodeMessage {
        NodeMessage {
            created_ms: at,
            msg: "starknet".into(),
            target: None,
            audit: false,
            log: "{}".into(),
            sighting: None,
        }
    }

    #[test]
    fn a_batch_refers_to_its_own_connects_and_to_known_nodes() {
        let known = Arc::new(NodeHandle::default());
        known.id.store(41, Ordering::Release);
        known.merge(serde_json::from_str(r#"{"a":1}"#).expect("a map"));
        let fresh = Arc::new(NodeHandle::default());
        let lost = Arc::new(NodeHandle::default());
        let items = vec![
            ToBatcher::Message(Arc::clone(&known), message(5)),
            ToBatcher::Connect(Arc::clone(&fresh), connect("fresh")),
            ToBatcher::Message(Arc::clone(&fresh), message(6)),
            ToBatcher::Message(Arc::clone(&known), message(7)),
            ToBatcher::Message(Arc::clone(&lost), message(8)),
            ToBatcher::Disconnect(Arc::clone(&fresh), 9),
        ];
        let Assembled {
            batch,
            connecting,
            contacts,
            orphans,
        } = assemble(&items);
        assert_eq!(contacts.len(), batch.seen.len());
        assert_eq!(orphans, 1);
        assert_eq!(connecting.len(), 1);
        assert!(Arc::ptr_eq(&connecting[0], &fresh));
        let nodes: Vec<NodeRef> = batch.logs.iter().map(|log| log.node).collect();
        assert_eq!(
            nodes,
            [
                NodeRef::Known(41),
                NodeRef::Connecting(0),
                NodeRef::Known(41)
            ]
        );
        assert_eq!(
            batch.disconnects,
            [Gone {
                node: NodeRef::Connecting(0),
                at_ms: 9,
                heard_ms: 6
            }]
        );
        // One contact per node: the newest message's time, and the state when it changed.
        let contact = |node: NodeRef| batch.seen.iter().find(|seen| seen.node == node).cloned();
        let known_seen = contact(NodeRef::Known(41)).expect("a first contact is due at once");
        assert_eq!(
            (known_seen.at_ms, known_seen.state.as_deref()),
            (7, Some(r#"{"a":1}"#))
        );
        assert_eq!(
            contact(NodeRef::Connecting(0)).map(|seen| seen.at_ms),
            Some(6)
        );
        assert_eq!(
            batch.seen.iter().map(|seen| seen.node).collect::<Vec<_>>(),
            [NodeRef::Known(41), NodeRef::Connecting(0)],
            "in the nodes' order, a going node's among them"
        );
    }

    #[test]
    fn a_contact_is_written_at_the_first_message_then_by_the_sweep_and_as_the_node_goes() {
        let node = NodeRef::Known(1);
        let handle = NodeHandle::default();
        handle.saw(1_000);
        handle.merge(serde_json::from_str(r#"{"best_height":1}"#).expect("a map"));
        let first = handle.contact(node, Due::First).expect("the first is due");
        assert_eq!(first.state.as_deref(), Some(r#"{"best_height":1}"#));
        handle.saw(2_000);
        handle.merge(serde_json::from_str(r#"{"best_height":2}"#).expect("a map"));
        assert_eq!(handle.contact(node, Due::First), None, "the sweep's");
        // A batch the database refused: its contact is due again, state and all.
        handle.rewind(&first);
        let again = handle.contact(node, Due::First).expect("due again");
        assert_eq!(
            (again.at_ms, again.state.as_deref()),
            (2_000, Some(r#"{"best_height":2}"#))
        );
        handle.saw(3_000);
        handle.merge(serde_json::from_str(r#"{"best_height":3}"#).expect("a map"));
        assert_eq!(handle.contact(node, Due::First), None, "the sweep's");
        let swept = handle.contact(node, Due::Now).expect("the sweep takes it");
        assert_eq!(
            (swept.at_ms, swept.state.as_deref()),
            (3_000, Some(r#"{"best_height":3}"#))
        );
        assert_eq!(handle.contact(node, Due::Now), None, "nothing new since");
        handle.saw(20_500);
        let last = handle.contact(node, Due::Now).expect("taken when it goes");
        assert_eq!(
            (last.at_ms, last.state, last.sample),
            (20_500, None, None),
            "the state did not change, and the minute has its sample"
        );
    }

    /// The sweep writes every node's contact in one batch, in the order of the nodes' ids, so
    /// that the rows sharing a page of the nodes' table are written together.
    #[test]
    fn the_sweep_writes_contacts_in_the_order_of_the_nodes() {
        // Ids 1 to 24, out of order: a map's order would put them in order by chance once in
        // 24! runs.
        let handles: Vec<Arc<NodeHandle>> = (1..=24).map(|n| known(n * 7 % 25)).collect();
        let sent = |at: i64| -> Vec<ToBatcher> {
            handles
                .iter()
                .map(|handle| ToBatcher::Message(Arc::clone(handle), message(at)))
                .collect()
        };
        let first = assemble(&sent(1_000)).batch;
        let order = |batch: &StreamBatch| -> Vec<NodeRef> {
            batch.seen.iter().map(|seen| seen.node).collect()
        };
        let ids: Vec<NodeRef> = (1..=24).map(NodeRef::Known).collect();
        assert_eq!(
            order(&first),
            ids,
            "the first contacts, in the nodes' order"
        );
        let start = Instant::now();
        let mut heard = Heard::new(start);
        let later = sent(2_000);
        assert!(assemble(&later).batch.seen.is_empty(), "the sweep's");
        heard.note(&later);
        let swept = assemble(&heard.sweep(start + Heard::EVERY)).batch;
        assert_eq!(order(&swept), ids);
        assert!(swept.seen.iter().all(|seen| seen.at_ms == 2_000));
    }

    /// A node that goes quiet right after a message whose contact was held back still has that
    /// contact written, by the sweep, without another message.
    #[test]
    fn a_quiet_nodes_held_back_contact_is_swept_into_a_batch() {
        let handle = Arc::new(NodeHandle::default());
        handle.id.store(7, Ordering::Release);
        let sent = |at: i64| ToBatcher::Message(Arc::clone(&handle), message(at));
        let start = Instant::now();
        let mut heard = Heard::new(start);
        assert_eq!(heard.sweep_at(), None, "nothing heard yet");
        let first = [sent(1_000)];
        let written = assemble(&first);
        assert_eq!(
            written.batch.seen.len(),
            1,
            "the first contact is due at once"
        );
        heard.note(&first);

        let second = [sent(2_000)];
        assert!(assemble(&second).batch.seen.is_empty(), "held back");
        heard.note(&second);
        assert_eq!(heard.sweep_at(), Some(start + Heard::EVERY));
        assert!(heard.sweep(start + Heard::EVERY / 2).is_empty(), "not yet");

        let swept = heard.sweep(start + Heard::EVERY);
        assert_eq!(swept.len(), 1);
        let batch = assemble(&swept).batch;
        assert!(batch.logs.is_empty(), "a sweep writes no message");
        assert_eq!(
            batch.seen.iter().map(|seen| seen.at_ms).collect::<Vec<_>>(),
            [2_000]
        );
        assert!(
            heard.sweep(start + Heard::EVERY * 2).is_empty(),
            "written: the next sweep has nothing"
        );
        assert_eq!(heard.sweep_at(), None, "and nothing waits");
    }

    fn known(id: i64) -> Arc<NodeHandle> {
        let handle = Arc::new(NodeHandle::default());
        handle.id.store(id, Ordering::Release);
        handle
    }

    /// Under load a node sends in every batch: the sweep's item for it must write its contact
    /// even beside its messages, which alone would wait for the sweep.
    #[test]
    fn the_sweep_writes_a_contact_beside_the_nodes_messages() {
        let handle = known(3);
        let sent = |at: i64| ToBatcher::Message(Arc::clone(&handle), message(at));
        assert_eq!(assemble(&[sent(1_000)]).batch.seen.len(), 1, "the first");
        let both = [
            sent(2_000),
            ToBatcher::Heard(Arc::clone(&handle)),
            sent(3_000),
        ];
        let seen = assemble(&both).batch.seen;
        assert_eq!(
            seen.iter().map(|seen| seen.at_ms).collect::<Vec<_>>(),
            [3_000]
        );
    }

    /// A state changed in the millisecond of the contact last written is still written.
    #[test]
    fn a_change_in_the_written_millisecond_is_written() {
        let node = NodeRef::Known(1);
        let handle = NodeHandle::default();
        handle.saw(1_000);
        handle.merge(serde_json::from_str(r#"{"peers":1}"#).expect("a map"));
        assert!(handle.contact(node, Due::First).is_some());
        handle.merge(serde_json::from_str(r#"{"peers":2}"#).expect("a map"));
        handle.saw(1_000);
        assert!(handle.unwritten(), "the sweep keeps it");
        let seen = handle.contact(node, Due::Now).expect("due");
        assert_eq!(
            (seen.at_ms, seen.state.as_deref()),
            (1_000, Some(r#"{"peers":2}"#))
        );
    }

    /// A node held by nothing but the sweep is gone (its going wrote its last contact): forgotten,
    /// not swept every 5 s for ever.
    #[test]
    fn the_sweep_forgets_nodes_gone() {
        let start = Instant::now();
        let mut heard = Heard::new(start);
        let kept = known(1);
        let gone = known(2);
        heard.note(&[
            ToBatcher::Message(Arc::clone(&kept), message(1_000)),
            ToBatcher::Message(Arc::clone(&gone), message(1_000)),
        ]);
        kept.saw(1_000);
        gone.saw(1_000);
        drop(gone);
        let swept = heard.sweep(start + Heard::EVERY);
        assert_eq!(swept.len(), 1);
        assert!(matches!(&swept[0], ToBatcher::Heard(handle) if Arc::ptr_eq(handle, &kept)));
        // On its own beat: a sweep that ran late does not push the next one back.
        let mut late = Heard::new(start);
        late.note(&[ToBatcher::Message(Arc::clone(&kept), message(2_000))]);
        late.sweep(start + Heard::EVERY + Heard::EVERY / 2);
        assert_eq!(late.sweep_at(), Some(start + Heard::EVERY * 2));
    }

    /// A node that connected again on another connection before the old one was let go has two
    /// handles on one row: one contact is written, the newer.
    #[test]
    fn two_handles_on_one_node_write_the_newer_contact() {
        let old = known(5);
        let new = known(5);
        let items = [
            ToBatcher::Message(Arc::clone(&new), message(2_000)),
            ToBatcher::Message(Arc::clone(&old), message(1_000)),
            ToBatcher::Disconnect(Arc::clone(&old), 1_500),
        ];
        let Assembled {
            batch, contacts, ..
        } = assemble(&items);
        assert_eq!(
            batch.seen.iter().map(|seen| seen.at_ms).collect::<Vec<_>>(),
            [2_000]
        );
        assert!(Arc::ptr_eq(&contacts[0], &new));
    }

    /// A going carries its connection's newest message, which a newer contact (the node heard
    /// again elsewhere) outlives; a node that sent none goes as of its going.
    #[test]
    fn a_going_carries_its_connections_newest_message() {
        let talked = known(3);
        let mute = known(4);
        let items = [
            ToBatcher::Message(Arc::clone(&talked), message(1_000)),
            ToBatcher::Message(Arc::clone(&talked), message(1_200)),
            ToBatcher::Disconnect(Arc::clone(&talked), 9_000),
            ToBatcher::Disconnect(Arc::clone(&mute), 9_500),
        ];
        let Assembled { batch, .. } = assemble(&items);
        assert_eq!(
            batch.disconnects,
            [
                Gone {
                    node: NodeRef::Known(3),
                    at_ms: 9_000,
                    heard_ms: 1_200
                },
                Gone {
                    node: NodeRef::Known(4),
                    at_ms: 9_500,
                    heard_ms: 9_500
                }
            ]
        );
    }

    #[test]
    fn a_sample_is_taken_at_a_nodes_first_contact_in_each_minute() {
        let node = NodeRef::Known(1);
        let handle = NodeHandle::default();
        let minute = 29_000_000 * 60_000;
        handle.merge(
            serde_json::from_str(r#"{"best_height":1,"best_hash":"0xab","peers":"3"}"#)
                .expect("a map"),
        );
        handle.saw(minute + 59_000);
        let first = handle.contact(node, Due::First).expect("due");
        // The figures, as numbers or numbers in strings; not the hash.
        let whole = r#"{"best_height":1,"peers":"3"}"#;
        assert_eq!(first.sample.as_deref(), Some(whole));
        // The next minute's first contact: the figures again, though they did not change.
        handle.saw(minute + 64_000);
        let next = handle.contact(node, Due::Now).expect("due");
        assert_eq!((next.state, next.sample.as_deref()), (None, Some(whole)));
        handle.saw(minute + 70_000);
        let same = handle.contact(node, Due::Now).expect("due");
        assert_eq!(same.sample, None, "the minute has its sample");
        // A refused batch takes its sample back: the minute's next contact carries one.
        handle.merge(serde_json::from_str(r#"{"peers":4}"#).expect("a map"));
        handle.saw(minute + 125_000);
        let refused = handle.contact(node, Due::Now).expect("due");
        assert!(refused.sample.is_some());
        handle.rewind(&refused);
        handle.saw(minute + 126_000);
        let again = handle.contact(node, Due::First).expect("due again at once");
        assert_eq!(
            (again.at_ms, again.sample.as_deref()),
            (minute + 126_000, Some(r#"{"best_height":1,"peers":4}"#))
        );
    }

    #[test]
    fn a_nodes_state_stays_bounded_whatever_it_sends() {
        let handle = NodeHandle::default();
        let fields: Map<String, Value> = (0..100)
            .map(|n| (format!("field_{n:03}"), Value::from(n)))
            .collect();
        handle.merge(fields);
        handle.merge(serde_json::from_str(r#"{"field_000": 7, "field_099": 1}"#).expect("a map"));
        let huge = "x".repeat(1_000_000);
        handle
            .merge(serde_json::from_str(&format!(r#"{{"field_001": "{huge}"}}"#)).expect("a map"));
        let state = handle.state();
        assert_eq!(state.fields.len(), MAX_STATE_FIELDS);
        assert_eq!(state.fields["field_000"], 7, "a known field is updated");
        assert!(!state.fields.contains_key("field_099"), "past the cap");
        assert_eq!(state.fields["field_001"], 1, "a huge value is not kept");
    }
}
