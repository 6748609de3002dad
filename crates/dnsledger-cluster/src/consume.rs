//! The store node's end: durable consumers that apply batches exactly once.
//!
//! One durable pull consumer per owned partition (NATS 2.9 filters a consumer on one
//! subject), or one for the whole stream. Each fetches a few batches at a time, applies each
//! through the [`BatchRecorder`] on a blocking thread and acknowledges it only once the write
//! is durable: a node killed between the write and the acknowledgement gets the batch again,
//! finds its record and acknowledges it without writing. A batch that can never be applied
//! (no id, bad gzip, a bad line) is terminated and counted; a store failure is negatively
//! acknowledged, so JetStream delivers it again later. Losing NATS ends a fetch with an
//! error; the loop attaches again after a pause, and the durable consumer resumes where its
//! acknowledgements stopped.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_nats::header::NATS_MESSAGE_ID;
use async_nats::jetstream::consumer::pull;
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, PullConsumer};
use async_nats::jetstream::{AckKind, Context, Message};
use dnsledger_server::{BatchRecorder, RecordError};
use dnsledger_store::Store;
use dnsledger_submit::BatchId;
use futures_util::StreamExt;
use tokio::task::JoinHandle;

use crate::config::check_name;
use crate::{nats_error, ClusterError, NatsConfig};

/// Batches fetched at once per partition: with the recorder's bound on a batch's text this
/// bounds a node's memory.
const FETCH_BATCHES: usize = 4;
/// How long a fetch waits for batches before asking again.
const FETCH_WAIT: Duration = Duration::from_secs(5);
/// Batches delivered and not yet acknowledged, per consumer.
const MAX_ACK_PENDING: i64 = 64;
/// How long JetStream waits for an acknowledgement before delivering again: longer than a
/// write of one batch usually takes, short enough that a batch lost with a NATS node comes
/// back soon (one that comes back while still being written is then a duplicate).
const ACK_WAIT: Duration = Duration::from_secs(30);
/// The pause before attaching again after NATS failed, and before a store failure's batch
/// comes back.
const RETRY_PAUSE: Duration = Duration::from_secs(2);

/// What a store node consumes.
#[derive(Clone, Debug)]
pub struct ConsumeConfig {
    pub nats: NatsConfig,
    /// Names this node's durable consumers (`NODE`, or `NODE-pN` per partition): a node
    /// restarted with the same name resumes where it stopped.
    pub node: String,
    /// The partitions this node owns; `None`: the whole stream (a replica).
    pub partitions: Option<Vec<u32>>,
}

impl ConsumeConfig {
    /// Checks the names and the partitions against the partition count.
    pub fn new(
        nats: NatsConfig,
        node: &str,
        partitions: Option<Vec<u32>>,
    ) -> Result<ConsumeConfig, ClusterError> {
        check_name("node name", node)?;
        for &partition in partitions.iter().flatten() {
            if partition >= nats.partitions {
                return Err(ClusterError::Partition {
                    partition,
                    count: nats.partitions,
                });
            }
        }
        Ok(ConsumeConfig {
            nats,
            node: node.to_string(),
            partitions,
        })
    }

    /// (durable consumer name, filter subject) of each consumer this node runs.
    fn consumers(&self) -> Vec<(String, String)> {
        match &self.partitions {
            None => vec![(self.node.clone(), format!("{}.*", self.nats.stream))],
            Some(list) => list
                .iter()
                .map(|&p| (format!("{}-p{p}", self.node), self.nats.subject(p)))
                .collect(),
        }
    }
}

dnsledger_rrset::counters! {
    /// What a store node's consumers did (`cluster.*` in `/metrics`).
    pub struct ConsumeStats {
        /// Batches written to the store, then acknowledged.
        batches_applied,
        /// Batches whose record existed (a re-delivery, or a resend the stream kept twice):
        /// acknowledged without a write.
        batches_duplicate,
        /// Deliveries JetStream marked as repeated (the batch was not acknowledged in time).
        redeliveries,
        /// Dropped: batches that can never be applied (no id, bad gzip, a bad line),
        /// terminated in the stream.
        batches_rejected,
        /// Store writes that failed; the batch comes again.
        store_failures,
        /// Acknowledgements that NATS did not confirm; the batch comes again and is a
        /// duplicate then.
        ack_failures,
        /// Fetches or attachments that failed (NATS away); retried.
        nats_failures,
        /// Observations written.
        observations_applied,
        /// Batches in the stream not yet delivered to this node, plus those delivered and
        /// not acknowledged, as of each consumer's last fetch: the node's lag.
        lag_batches,
    }
}

/// The counters the consumers update and `/metrics` reads.
#[derive(Default)]
struct Shared {
    stats: Mutex<ConsumeStats>,
    /// Each consumer's last known lag.
    lag: Mutex<BTreeMap<String, u64>>,
}

impl Shared {
    fn count(&self, update: impl FnOnce(&mut ConsumeStats)) {
        update(&mut self.stats.lock().unwrap_or_else(PoisonError::into_inner));
    }

    fn snapshot(&self) -> ConsumeStats {
        let mut stats = self
            .stats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let lag = self.lag.lock().unwrap_or_else(PoisonError::into_inner);
        stats.lag_batches = lag.values().sum();
        stats
    }
}

/// A store node's consumers; started, they work on the current tokio runtime. Dropping it
/// stops them (an unacknowledged batch is delivered again, and is a duplicate if it was
/// written).
pub struct Consumer {
    config: ConsumeConfig,
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Consumer {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Consumer {
    /// Consumers not started yet: their counters can be wired before the store is open.
    pub fn new(config: ConsumeConfig) -> Consumer {
        Consumer {
            config,
            shared: Arc::new(Shared::default()),
            tasks: Vec::new(),
        }
    }

    /// A reader of the counters, for `/metrics`.
    pub fn stats_reader(&self) -> impl Fn() -> ConsumeStats + Send + Sync + 'static {
        let shared = Arc::clone(&self.shared);
        move || shared.snapshot()
    }

    /// Connects (in the background: NATS may be away) and starts one task per durable
    /// consumer, writing to `store`.
    pub async fn start(&mut self, store: Arc<Store>) -> Result<(), ClusterError> {
        let config = &self.config;
        let client = config
            .nats
            .connect(&format!("dnsledger-store-{}", config.node))
            .await?;
        let jetstream = config.nats.jetstream(client);
        let recorder = Arc::new(BatchRecorder::default());
        for (name, subject) in config.consumers() {
            let partition = PartitionConsumer {
                config: config.nats.clone(),
                jetstream: jetstream.clone(),
                name,
                subject,
                store: Arc::clone(&store),
                recorder: Arc::clone(&recorder),
                shared: Arc::clone(&self.shared),
            };
            self.tasks.push(tokio::spawn(partition.run()));
        }
        Ok(())
    }
}

/// One durable consumer and what it writes to.
struct PartitionConsumer {
    config: NatsConfig,
    jetstream: Context,
    name: String,
    subject: String,
    store: Arc<Store>,
    recorder: Arc<BatchRecorder>,
    shared: Arc<Shared>,
}

impl PartitionConsumer {
    /// Attaches and consumes; after any NATS failure, pauses and attaches again.
    async fn run(self) {
        loop {
            let result = match self.attach().await {
                Ok(consumer) => self.consume(consumer).await,
                Err(error) => Err(error),
            };
            if let Err(error) = result {
                tracing::info!(consumer = %self.name, %error, "NATS failed; attaching again");
                self.shared.count(|s| s.nats_failures += 1);
            }
            tokio::time::sleep(RETRY_PAUSE).await;
        }
    }

    /// The stream (created when missing) and this node's durable consumer on it.
    async fn attach(&self) -> Result<PullConsumer, ClusterError> {
        let stream = self
            .jetstream
            .get_or_create_stream(self.config.stream_config())
            .await
            .map_err(nats_error)?;
        let config = pull::Config {
            durable_name: Some(self.name.clone()),
            filter_subject: self.subject.clone(),
            deliver_policy: DeliverPolicy::All,
            ack_policy: AckPolicy::Explicit,
            ack_wait: ACK_WAIT,
            max_ack_pending: MAX_ACK_PENDING,
            ..Default::default()
        };
        stream
            .get_or_create_consumer(&self.name, config)
            .await
            .map_err(nats_error)
    }

    /// Fetches and applies batches until NATS fails.
    async fn consume(&self, mut consumer: PullConsumer) -> Result<(), ClusterError> {
        loop {
            let mut batches = consumer
                .fetch()
                .max_messages(FETCH_BATCHES)
                .expires(FETCH_WAIT)
                .messages()
                .await
                .map_err(nats_error)?;
            while let Some(message) = batches.next().await {
                self.apply(message.map_err(nats_error)?).await;
            }
            let info = consumer.info().await.map_err(nats_error)?;
            let lag = info.num_pending + info.num_ack_pending as u64;
            self.shared
                .lag
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(self.name.clone(), lag);
        }
    }

    /// Applies one batch and settles it with JetStream.
    async fn apply(&self, message: Message) {
        if message.info().is_ok_and(|info| info.delivered > 1) {
            self.shared.count(|s| s.redeliveries += 1);
        }
        let id = message
            .headers
            .as_ref()
            .and_then(|headers| headers.get(NATS_MESSAGE_ID))
            .and_then(|id| id.as_str().parse::<BatchId>().ok());
        let Some(id) = id else {
            tracing::warn!(consumer = %self.name, "a message without a batch id; terminated");
            self.shared.count(|s| s.batches_rejected += 1);
            return self.settle(&message, AckKind::Term).await;
        };
        let (store, recorder) = (Arc::clone(&self.store), Arc::clone(&self.recorder));
        let (task_id, body) = (id.clone(), message.payload.clone());
        let recorded =
            tokio::task::spawn_blocking(move || recorder.record(&store, &task_id, &body, true))
                .await;
        let ack = match recorded {
            Ok(Ok(recorded)) => {
                self.shared.count(|s| match recorded.duplicate {
                    true => s.batches_duplicate += 1,
                    false => {
                        s.batches_applied += 1;
                        s.observations_applied += recorded.accepted;
                    }
                });
                AckKind::Ack
            }
            Ok(Err(error @ (RecordError::Body(_) | RecordError::Lines(_)))) => {
                tracing::warn!(consumer = %self.name, batch = %id, %error, "batch refused; terminated");
                self.shared.count(|s| s.batches_rejected += 1);
                AckKind::Term
            }
            Ok(Err(error)) => {
                tracing::error!(consumer = %self.name, batch = %id, %error, "writing a batch");
                self.shared.count(|s| s.store_failures += 1);
                AckKind::Nak(Some(RETRY_PAUSE))
            }
            Err(error) => {
                tracing::error!(consumer = %self.name, batch = %id, %error, "the write stopped");
                self.shared.count(|s| s.store_failures += 1);
                AckKind::Nak(Some(RETRY_PAUSE))
            }
        };
        self.settle(&message, ack).await;
    }

    /// Sends the acknowledgement and waits for NATS to confirm it (an unconfirmed one means
    /// the batch may come again: harmless, it is recorded).
    async fn settle(&self, message: &Message, kind: AckKind) {
        if let Err(error) = message.double_ack_with(kind).await {
            tracing::info!(consumer = %self.name, %error, "acknowledgement not confirmed");
            self.shared.count(|s| s.ack_failures += 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nats(partitions: u32) -> NatsConfig {
        let mut config = NatsConfig::new("nats://127.0.0.1:4222", "DNSLEDGER").unwrap();
        config.partitions = partitions;
        config
    }

    #[test]
    fn a_shard_runs_one_durable_consumer_per_partition_and_a_replica_one_for_all() {
        let shard = ConsumeConfig::new(nats(4), "store-a", Some(vec![0, 3])).unwrap();
        assert_eq!(
            shard.consumers(),
            [
                ("store-a-p0".to_string(), "DNSLEDGER.0".to_string()),
                ("store-a-p3".to_string(), "DNSLEDGER.3".to_string())
            ]
        );
        let replica = ConsumeConfig::new(nats(4), "store-b", None).unwrap();
        assert_eq!(
            replica.consumers(),
            [("store-b".to_string(), "DNSLEDGER.*".to_string())]
        );
        assert!(matches!(
            ConsumeConfig::new(nats(4), "store-a", Some(vec![4])),
            Err(ClusterError::Partition {
                partition: 4,
                count: 4
            })
        ));
        assert!(ConsumeConfig::new(nats(1), "a.b", None).is_err());
    }
}
