//! Submission: a sensor's aggregated observations to a dnsledger server, exactly once.
//!
//! What it is: both ends of `POST /api/v1/submit`. [`batch`] is what they share: the
//! [`BatchId`] (`<sensor-id>/<sequence>`, the idempotency key the server records with the
//! batch in one atomic write), the body (COF NDJSON as the sensor writes it, gzip) and its
//! bounds ([`batch::gunzip`] stops gzip bombs). The sensor side: [`Client`] posts one batch
//! and tells a batch worth resending from one the server condemned; [`Spool`] keeps the
//! batches not yet acknowledged on disk, in order, crash-safe and bounded; [`Delivery`]
//! combines them (send, or spool behind older batches; replay in order with backoff) and
//! [`SubmitSink`] runs it on its own thread as the sensor's `ObservationSink`. Both are
//! generic over the [`Transport`], so another carrier (NATS JetStream, `dnsledger-cluster`)
//! reuses the spool and the replay.
//!
//! What it is not: it neither writes the store (the server does) nor aggregates.
//!
//! Nothing lost: a batch leaves the sensor's memory only for the spool or with the server's
//! acknowledgement, and leaves the spool only when acknowledged (or refused as malformed:
//! then into `rejected/`). Nothing twice: every batch keeps its id through any number of
//! resends, and the server answers `duplicate` for an id it has.

pub mod batch;
mod client;
mod delivery;
mod spool;

use std::path::PathBuf;

pub use batch::{Batch, BatchId};
pub use client::{root_certs, Ack, Client, ClientConfig, SendError, SUBMIT_PATH};
pub use delivery::{
    Delivery, LiveStats, Outcome, SubmitConfig, SubmitSink, SubmitStats, Transport,
};
pub use spool::{Spool, SpoolError};

/// Why submission cannot start.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error(transparent)]
    Id(#[from] batch::BadId),
    #[error(transparent)]
    Spool(#[from] SpoolError),
    #[error("{path}: reading the CA certificates: {what}")]
    CaCert { path: PathBuf, what: String },
    #[error("the submission thread: {0}")]
    Thread(#[source] std::io::Error),
}
