//! What every request shares: the store, the keys and their quotas, the audit log, metrics.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use dnsledger_keys::{AuditEntry, AuditLog, Keyring, Quotas};
use dnsledger_store::{Access, History, Store};

use crate::metrics::{MetricSource, Metrics};
use crate::submit::Submissions;
use crate::trends::TrendsCache;
use crate::ServerError;

/// How `dnsledger serve` runs.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The store directory; keys, quota counters and the audit log live there too.
    pub db: PathBuf,
    pub listen: std::net::SocketAddr,
    /// PEM certificate chain and private key: HTTPS instead of HTTP.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// A query still streaming after this long ends with `failed`.
    pub query_budget: Duration,
    /// Rows per answer for keys without their own `results_max`.
    pub results_max: u64,
    /// The server is the store's one writer (RocksDB's lock): it accepts submissions, and
    /// collectors running in-process write through it. No `ingest` can run beside it.
    pub writer: bool,
    /// Counters of work running beside the server (in-process collectors), at `/metrics`.
    pub metric_sources: Vec<MetricSource>,
    /// A router: answers read the shards' rows instead of the local store's.
    pub shards: Option<Shards>,
}

/// The shards a router reads (`serve --shards`).
#[derive(Clone)]
pub struct Shards(pub Arc<dyn History>);

impl std::fmt::Debug for Shards {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Shards(..)")
    }
}

impl ServerConfig {
    pub fn new(db: PathBuf, listen: std::net::SocketAddr) -> ServerConfig {
        ServerConfig {
            db,
            listen,
            tls: None,
            query_budget: Duration::from_secs(120),
            results_max: 1_000_000,
            writer: false,
            metric_sources: Vec::new(),
            shards: None,
        }
    }
}

pub struct State {
    /// The local store: the rows of a single node or a shard; a router's holds nothing.
    pub store: Arc<Store>,
    /// Where answers read rows: the local store, or a router's shards.
    pub history: Arc<dyn History>,
    pub keyring: Keyring,
    pub quotas: Quotas,
    pub audit: AuditLog,
    pub metrics: Metrics,
    /// Present when the server is the store's writer.
    pub submissions: Option<Submissions>,
    /// The statistics pages' last full scan.
    pub trends: TrendsCache,
    /// The new-name feeds being followed (`stream`).
    pub feeds: crate::stream::Feeds,
    pub config: ServerConfig,
}

impl State {
    /// Opens the store: as its writer for a writing server, otherwise as a reader beside any
    /// writer (creating an empty one first when the directory holds none, so a fresh server
    /// answers instead of failing). A writer answers queries from the same instance, so it
    /// sees every write at once and needs no catching up.
    pub fn open(config: ServerConfig) -> Result<State, ServerError> {
        let db = &config.db;
        let store = match config.writer {
            true => Store::open(db, Access::ReadWrite)?,
            false => {
                if !db.join("CURRENT").exists() {
                    drop(Store::open(db, Access::ReadWrite)?);
                }
                Store::open(db, Access::ReadOnly)?
            }
        };
        let metrics = Metrics::new();
        metrics.add_metric_sources(config.metric_sources.clone());
        let store = Arc::new(store);
        let history: Arc<dyn History> = match &config.shards {
            Some(Shards(shards)) => Arc::clone(shards),
            None => store.clone(),
        };
        Ok(State {
            history,
            keyring: Keyring::load(db)?,
            quotas: Quotas::open(db),
            audit: AuditLog::open(db)?,
            metrics,
            store,
            submissions: config.writer.then(Submissions::default),
            trends: TrendsCache::default(),
            feeds: crate::stream::Feeds::default(),
            config,
        })
    }

    /// Whether this server routes queries to shards instead of answering from its store.
    pub fn is_router(&self) -> bool {
        self.config.shards.is_some()
    }

    /// The rows an answer may carry for this key: its own maximum within the server's.
    pub fn results_max(&self, key: &dnsledger_keys::KeyInfo) -> u64 {
        key.limits
            .results_max
            .unwrap_or(self.config.results_max)
            .min(self.config.results_max)
    }

    /// One line in the audit log; a failure to write it is logged, not fatal to the answer.
    pub fn audit(&self, exchange: &Exchange, rows: u64, status: u16) {
        let Some(key) = exchange.key.as_deref() else {
            return;
        };
        let entry = AuditEntry {
            time: exchange.time,
            key,
            endpoint: exchange.endpoint,
            query: &exchange.query,
            rows,
            status,
        };
        if let Err(error) = self.audit.record(&entry) {
            tracing::warn!(%error, "writing the audit log");
        }
    }
}

/// What the audit log and the metrics say of one request.
#[derive(Clone, Debug)]
pub struct Exchange {
    pub endpoint: &'static str,
    /// Path and query string as received.
    pub query: String,
    /// The key's name once authenticated.
    pub key: Option<String>,
    pub time: i64,
    pub started: std::time::Instant,
}

/// Seconds since the epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}
