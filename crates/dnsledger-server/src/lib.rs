//! `dnsledger serve`: the HTTP server over the history store.
//!
//! What it is: the APIs that existing passive DNS clients speak — DNSDB API v2 with SAF
//! streaming and the v1 paths ([`dnsdb`], [`flex`]), CIRCL's passive DNS in the Common
//! Output Format ([`circl`]) — plus dnsledger's own endpoints for the web UI
//! ([`native`], [`ui`]), `/openapi.json` and `/metrics`. Every query runs as a scan on a
//! blocking thread whose rows stream out through a bounded channel ([`answer`]); keys,
//! quotas and the audit log come from `dnsledger-keys`.
//!
//! What it is not, by default: a writer. It opens the store as a reader beside any writer
//! and catches up every quarter second, so an `ingest` running meanwhile shows up within a
//! second. Started as the store's writer ([`ServerConfig::writer`], `serve
//! --accept-submissions`), it takes sensors' batches at `POST /api/v1/submit` ([`submit`]),
//! each written with its batch id in one atomic durable write; then no `ingest` can run
//! beside it. Collectors running in the same process (`serve --interface`, `--dnstap`)
//! write through [`Server::writer_store`], and their counters join `/metrics` as
//! [`MetricSource`]s.
//!
//! A router (`serve --shards`, [`ServerConfig::shards`]) answers the same queries from the
//! rows of several shard servers, which serve them to it at `/internal/v1/rows/...`
//! ([`shard`], [`TRANSIT_TYPE`]); every answer reads rows through one
//! [`History`](dnsledger_store::History), so offsets, caps and formats are the same code.
//!
//! Main types: [`Server`] (bind, then run until shutdown), [`ServerConfig`].

mod answer;
mod auth;
mod circl;
mod dnsdb;
mod flex;
mod metrics;
mod native;
mod openapi;
mod params;
mod routes;
mod server;
mod service;
mod shard;
mod state;
mod stream;
mod submit;
mod trends;
mod ui;
mod zone;

#[cfg(test)]
mod testutil;

pub use metrics::MetricSource;
pub use server::Server;
pub use shard::TRANSIT_TYPE;
pub use state::{ServerConfig, Shards};
pub use stream::{new_name_object, watched_object};
pub use submit::{BatchRecorder, RecordError, Recorded};

/// Why the server cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Store(#[from] dnsledger_store::StoreError),
    #[error(transparent)]
    Keys(#[from] dnsledger_keys::KeyError),
    #[error("listening on {address}: {source}")]
    Bind {
        address: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("TLS: {0}")]
    Tls(String),
}
