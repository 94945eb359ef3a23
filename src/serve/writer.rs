//! Group commit: requests hand their objects to one writer task, which stores whatever has queued
//! up in one transaction and answers each request when that transaction is committed. A durable
//! commit costs a disk flush; sharing it is what lets one instance take thousands of requests per
//! second without answering before the data is on disk. A request the database refuses for good
//! fails alone: the batch is halved until it stands apart (`store::halving`).

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::store::halving::Halving;
use super::store::{Store, StoreError, Submission};
use crate::wire::client_stats::fields::Process;

/// Requests waiting for the writer; when full, new requests wait for room (bounded memory).
const QUEUE: usize = 1024;
/// At most this many requests share a transaction, so one commit stays short.
const MAX_BATCH: usize = 256;

type Reply = oneshot::Sender<Result<Vec<Process>, Arc<StoreError>>>;

#[derive(Clone)]
pub struct Writer {
    queue: mpsc::Sender<(Submission, Reply)>,
}

impl Writer {
    /// Starts the writer task; it ends when every `Writer` clone is dropped and the queue is empty.
    pub fn start<S: Store>(store: Arc<S>) -> (Writer, JoinHandle<()>) {
        let (queue, receiver) = mpsc::channel(QUEUE);
        let task = tokio::spawn(write_batches(store, receiver));
        (Writer { queue }, task)
    }

    /// Stores the submission; returns the processes of the objects that were stored, once they
    /// are committed.
    pub async fn submit(&self, submission: Submission) -> Result<Vec<Process>, Arc<StoreError>> {
        let (reply, answer) = oneshot::channel();
        let stopped = || {
            Arc::new(StoreError::Unavailable(
                "the server is shutting down".into(),
            ))
        };
        self.queue
            .send((submission, reply))
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn write_batches<S: Store>(store: Arc<S>, mut receiver: mpsc::Receiver<(Submission, Reply)>) {
    let mut pending = Vec::with_capacity(MAX_BATCH);
    while receiver.recv_many(&mut pending, MAX_BATCH).await > 0 {
        let (batch, mut replies): (Vec<Submission>, Vec<Option<Reply>>) = pending
            .drain(..)
            .map(|(submission, reply)| (submission, Some(reply)))
            .unzip();
        // A request the database refuses for good fails alone; the others are stored.
        let mut groups = Halving::new(batch.len());
        while let Some(group) = groups.next_group() {
            let answers: Vec<_> = match store.insert(&batch[group.clone()]).await {
                // An aborted group is written again in halves, as one refused: every write of a
                // half is the new try PostgreSQL asks for, and a lone request is told to retry.
                Err(StoreError::Failed(_) | StoreError::Aborted(_)) if groups.halve(&group) => {
                    continue;
                }
                Ok(stored) => stored.into_iter().map(Ok).collect(),
                Err(err) => {
                    let err = Arc::new(err);
                    group.clone().map(|_| Err(Arc::clone(&err))).collect()
                }
            };
            for (reply, answer) in replies[group].iter_mut().zip(answers) {
                // A request whose client went away no longer waits for its answer.
                if let Some(reply) = reply.take() {
                    let _ = reply.send(answer);
                }
            }
        }
    }
}
