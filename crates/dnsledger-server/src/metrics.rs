//! `/metrics` in the Prometheus text format: requests by endpoint and status, latency,
//! rows streamed, how streams ended, and the store's estimated rows and bytes.

use std::sync::Mutex;
use std::time::Duration;

use dnsledger_store::{cf, Store};
use http::{Response, StatusCode};
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::service::{bytes_response, plain, Body};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    endpoint: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndpointLabels {
    endpoint: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StreamLabels {
    endpoint: String,
    end: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FamilyLabels {
    column_family: String,
}

type LatencyFamily = Family<EndpointLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 0.1 ms to ~6.5 s.
    Histogram::new(exponential_buckets(0.0001, 2.0, 17))
}

pub struct Metrics {
    registry: Mutex<Registry>,
    requests: Family<RequestLabels, Counter>,
    latency: LatencyFamily,
    rows: Family<EndpointLabels, Counter>,
    streams: Family<StreamLabels, Counter>,
    store_keys: Family<FamilyLabels, Gauge>,
    store_bytes: Family<FamilyLabels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let metrics = Metrics {
            registry: Mutex::new(Registry::with_prefix("dnsledger")),
            requests: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
            rows: Family::default(),
            streams: Family::default(),
            store_keys: Family::default(),
            store_bytes: Family::default(),
        };
        metrics.register();
        metrics
    }

    fn register(&self) {
        let mut registry = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        registry.register(
            "http_requests",
            "HTTP requests by endpoint and status",
            self.requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to the response headers (streams: time to the first byte)",
            self.latency.clone(),
        );
        registry.register(
            "rows_streamed",
            "Result objects sent, by endpoint",
            self.rows.clone(),
        );
        registry.register(
            "streams_ended",
            "Streamed answers by how they ended: succeeded, limited, failed, disconnected",
            self.streams.clone(),
        );
        registry.register(
            "store_estimated_keys",
            "RocksDB's estimate of the keys per column family",
            self.store_keys.clone(),
        );
        registry.register(
            "store_bytes",
            "Bytes in table files and memtables per column family",
            self.store_bytes.clone(),
        );
    }

    pub fn request(&self, endpoint: &str, status: StatusCode, elapsed: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                endpoint: endpoint.to_string(),
                status: status.as_u16().to_string(),
            })
            .inc();
        self.latency
            .get_or_create(&EndpointLabels {
                endpoint: endpoint.to_string(),
            })
            .observe(elapsed.as_secs_f64());
    }

    pub fn stream_ended(&self, endpoint: &str, end: &str, rows: u64) {
        self.rows
            .get_or_create(&EndpointLabels {
                endpoint: endpoint.to_string(),
            })
            .inc_by(rows);
        self.streams
            .get_or_create(&StreamLabels {
                endpoint: endpoint.to_string(),
                end: end.to_string(),
            })
            .inc();
    }

    /// The exposition, with the store gauges read now.
    pub fn render(&self, store: &Store) -> Response<Body> {
        for name in cf::ALL {
            let labels = FamilyLabels {
                column_family: name.to_string(),
            };
            let gauge = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
            self.store_keys
                .get_or_create(&labels)
                .set(gauge(store.estimated_keys(name)));
            self.store_bytes
                .get_or_create(&labels)
                .set(gauge(store.estimated_bytes(name)));
        }
        let mut text = String::new();
        let registry = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        match encode(&mut text, &registry) {
            Ok(()) => bytes_response(
                StatusCode::OK,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                text.into(),
            ),
            Err(_) => plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "encoding the metrics failed",
            ),
        }
    }
}
