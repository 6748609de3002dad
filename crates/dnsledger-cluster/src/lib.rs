//! Scale-out over NATS JetStream: many sensors, several store nodes.
//!
//! What it is: the two ends of a JetStream stream that carries the submission batches of
//! `dnsledger-submit` unchanged (gzip COF NDJSON, ids `<sensor-id>/<sequence>`).
//! [`Publisher`] is one more [`Transport`](dnsledger_submit::Transport) of the sensor's
//! delivery: the spool, the replay and the counters are the HTTP submission's; a batch is
//! acknowledged once the stream has stored it (a publish acknowledgement), and its id is the
//! `Nats-Msg-Id`, so that the stream keeps a resent batch once within its duplicate window.
//! [`Consumer`] runs in a store node: durable pull consumers that apply each batch through
//! the server's [`BatchRecorder`](dnsledger_server::BatchRecorder) (observations and batch
//! record in one atomic durable write) and acknowledge only after it; a batch whose record
//! exists is acknowledged without a write, so re-deliveries and resends older than the
//! duplicate window are applied once. [`partition`] chooses a batch's subject by a stable
//! hash of the registered domain, so shards each hold whole domains. [`status`] reads the
//! stream's and the consumers' state for `dnsledger cluster status`. [`Router`] answers a
//! router's queries (`serve --shards`) by merging the rows of every shard in order.
//!
//! What it is not: a transport of its own. Replication, ordering and redelivery are
//! JetStream's; this crate only maps batches onto subjects and acknowledgements.

mod config;
mod consume;
pub mod partition;
mod publish;
mod router;
pub mod status;

pub use config::{Credentials, NatsConfig};
pub use consume::{ConsumeConfig, ConsumeStats, Consumer};
pub use publish::Publisher;
pub use router::{Router, Shard, ShardsFile, ShardsFileError};

/// Why the cluster side cannot start or answer.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("bad NATS address {text:?}: expected nats://HOST:PORT[,HOST:PORT...]")]
    Address { text: String },
    #[error("{path}: {what}")]
    Credentials {
        path: std::path::PathBuf,
        what: String,
    },
    #[error("bad {what} {text:?}: expected {expected}")]
    Name {
        what: &'static str,
        text: String,
        expected: &'static str,
    },
    #[error("partition {partition} is not below the partition count {count}")]
    Partition { partition: u32, count: u32 },
    #[error("NATS: {0}")]
    Nats(String),
    #[error("the NATS runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

/// A NATS client error as text: the client's error types differ by call.
fn nats_error(error: impl std::fmt::Display) -> ClusterError {
    ClusterError::Nats(error.to_string())
}
