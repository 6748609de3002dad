//! `dnsledger cluster status`: the stream, each consumer's lag, the last batch of each
//! sensor and the health of the NATS nodes, as JetStream reports them.

use std::collections::BTreeMap;
use std::fmt;

use async_nats::header::NATS_MESSAGE_ID;
use dnsledger_submit::BatchId;
use futures_util::TryStreamExt;

use crate::{nats_error, ClusterError, NatsConfig};

/// How many of the newest batches are read to find each sensor's last one (a request
/// each): a sensor silent for longer is not listed.
pub const RECENT_BATCHES: u64 = 1000;

/// One durable consumer: a store node (or one partition of it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumerLag {
    pub name: String,
    pub filter: String,
    /// Batches not yet delivered.
    pub pending: u64,
    /// Delivered and not yet acknowledged.
    pub unacknowledged: u64,
    pub redelivered: u64,
    /// The stream sequence below which everything is acknowledged.
    pub ack_floor: u64,
}

/// A NATS node holding a copy of the stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeHealth {
    pub name: String,
    pub leader: bool,
    /// Caught up with the leader.
    pub current: bool,
    pub offline: bool,
    /// Operations behind the leader.
    pub lag: u64,
}

/// A sensor's newest batch among the recent ones.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SensorLast {
    pub batch: String,
    pub stream_sequence: u64,
    pub time: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub stream: String,
    pub batches: u64,
    pub bytes: u64,
    pub first_sequence: u64,
    pub last_sequence: u64,
    pub nodes: Vec<NodeHealth>,
    pub consumers: Vec<ConsumerLag>,
    pub sensors: BTreeMap<String, SensorLast>,
}

impl Status {
    /// Asks NATS. Fails when no server answers (the client gives up after its timeout).
    pub async fn read(config: &NatsConfig) -> Result<Status, ClusterError> {
        let client = config.connect("dnsledger-cluster-status").await?;
        let jetstream = config.jetstream(client);
        let mut stream = jetstream
            .get_stream(&config.stream)
            .await
            .map_err(nats_error)?;
        let info = stream.info().await.map_err(nats_error)?.clone();
        let mut consumers: Vec<ConsumerLag> = stream
            .consumers()
            .map_ok(|c| ConsumerLag {
                name: c.name,
                filter: c.config.filter_subject,
                pending: c.num_pending,
                unacknowledged: c.num_ack_pending as u64,
                redelivered: c.num_redelivered as u64,
                ack_floor: c.ack_floor.stream_sequence,
            })
            .try_collect()
            .await
            .map_err(nats_error)?;
        consumers.sort_by(|a, b| a.name.cmp(&b.name));
        let state = &info.state;
        let mut sensors = BTreeMap::new();
        let first = state
            .first_sequence
            .max(state.last_sequence.saturating_sub(RECENT_BATCHES - 1));
        for sequence in (first..=state.last_sequence).filter(|&s| s > 0) {
            // A sequence may be gone (expired, terminated and deleted): skip it.
            let Ok(message) = stream.get_raw_message(sequence).await else {
                continue;
            };
            let id = message
                .headers
                .get(NATS_MESSAGE_ID)
                .and_then(|id| id.as_str().parse::<BatchId>().ok());
            if let Some(id) = id {
                sensors.insert(
                    id.sensor().to_string(),
                    SensorLast {
                        batch: id.to_string(),
                        stream_sequence: sequence,
                        time: message.time.to_string(),
                    },
                );
            }
        }
        Ok(Status {
            stream: config.stream.clone(),
            batches: state.messages,
            bytes: state.bytes,
            first_sequence: state.first_sequence,
            last_sequence: state.last_sequence,
            nodes: nodes(info.cluster.as_ref()),
            consumers,
            sensors,
        })
    }
}

/// The stream's leader and replicas.
fn nodes(cluster: Option<&async_nats::jetstream::stream::ClusterInfo>) -> Vec<NodeHealth> {
    let Some(cluster) = cluster else {
        return Vec::new();
    };
    let leader = cluster.leader.iter().map(|name| NodeHealth {
        name: name.clone(),
        leader: true,
        current: true,
        offline: false,
        lag: 0,
    });
    let replicas = cluster.replicas.iter().map(|peer| NodeHealth {
        name: peer.name.clone(),
        leader: false,
        current: peer.current,
        offline: peer.offline,
        lag: peer.lag.unwrap_or(0),
    });
    leader.chain(replicas).collect()
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "stream {}: {} batches, {} bytes, sequences {}..{}",
            self.stream, self.batches, self.bytes, self.first_sequence, self.last_sequence
        )?;
        for node in &self.nodes {
            let role = if node.leader { "leader" } else { "replica" };
            let health = match (node.offline, node.current) {
                (true, _) => "OFFLINE".to_string(),
                (false, true) => "current".to_string(),
                (false, false) => format!("behind by {}", node.lag),
            };
            writeln!(f, "node {} {role} {health}", node.name)?;
        }
        for c in &self.consumers {
            writeln!(
                f,
                "consumer {} ({}): lag {} pending + {} unacknowledged, {} redelivered, acknowledged up to {}",
                c.name, c.filter, c.pending, c.unacknowledged, c.redelivered, c.ack_floor
            )?;
        }
        for (sensor, last) in &self.sensors {
            writeln!(
                f,
                "sensor {sensor}: last batch {} (sequence {}, {})",
                last.batch, last.stream_sequence, last.time
            )?;
        }
        Ok(())
    }
}
