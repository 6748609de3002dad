//! The sensor's end: batches published to the stream, acknowledged once stored.

use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::Context;
use dnsledger_rrset::Observation;
use dnsledger_submit::{Ack, Batch, SendError, Transport};

use crate::partition::{partition_of_body, split};
use crate::{nats_error, ClusterError, NatsConfig};

/// Where batches are cut for NATS: 1 MiB of text, NATS's default `max_payload`, so that a
/// compressed batch (a fraction of its text: COF compresses several times) fits a server
/// left at its defaults.
const BATCH_TEXT_BYTES: usize = 1024 * 1024;

/// Publishes batches to the deployment's stream: [`Transport`] for the sensor's delivery.
/// The NATS client is asynchronous; it runs on a small runtime of its own, because the
/// delivery thread is not.
pub struct Publisher {
    config: NatsConfig,
    jetstream: Context,
    /// The stream was found or created: done once per run, when NATS first answers.
    stream_ready: bool,
    runtime: tokio::runtime::Runtime,
}

impl Publisher {
    /// Starts connecting (in the background: NATS may be away) as client `name`.
    pub fn connect(config: NatsConfig, name: &str) -> Result<Publisher, ClusterError> {
        // One worker keeps the connection alive (pings, reconnects) between batches.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("dnsledger-nats")
            .enable_all()
            .build()
            .map_err(ClusterError::Runtime)?;
        let client = runtime.block_on(config.connect(name))?;
        // The context starts a task of its own (acknowledgement bookkeeping).
        let jetstream = {
            let _entered = runtime.enter();
            config.jetstream(client)
        };
        Ok(Publisher {
            jetstream,
            config,
            stream_ready: false,
            runtime,
        })
    }

    async fn publish(&mut self, batch: &Batch, subject: String) -> Result<Ack, SendError> {
        if !self.stream_ready {
            self.jetstream
                .get_or_create_stream(self.config.stream_config())
                .await
                .map_err(|e| SendError::Transient(nats_error(e).to_string()))?;
            self.stream_ready = true;
        }
        let message = PublishMessage::build()
            .payload(batch.body.clone().into())
            .message_id(batch.id.to_string());
        let stored = async { self.jetstream.send_publish(subject, message).await?.await };
        match stored.await {
            Ok(ack) => Ok(Ack {
                accepted: if ack.duplicate { 0 } else { batch.observations },
                duplicate: ack.duplicate,
            }),
            Err(error) if error.kind() == PublishErrorKind::MaxPayloadExceeded => Err(
                SendError::Rejected(format!("{error}: raise max_payload in the NATS servers")),
            ),
            Err(error) => Err(SendError::Transient(format!("NATS: {error}"))),
        }
    }
}

impl Transport for Publisher {
    fn send(&mut self, batch: &Batch) -> Result<Ack, SendError> {
        let partition = partition_of_body(&batch.body, self.config.partitions)
            .map_err(|e| SendError::Rejected(e.to_string()))?;
        let subject = self.config.subject(partition);
        let runtime = self.runtime.handle().clone();
        runtime.block_on(self.publish(batch, subject))
    }

    /// One batch never mixes partitions: the consumer of a partition applies all of it.
    fn group(&self, observations: Vec<Observation>) -> Vec<Vec<Observation>> {
        split(observations, self.config.partitions)
    }

    fn batch_text_bytes(&self) -> usize {
        BATCH_TEXT_BYTES
    }
}
