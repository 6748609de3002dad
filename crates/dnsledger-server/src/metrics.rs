//! `/metrics` in the Prometheus text format: requests by endpoint and status, latency,
//! rows streamed, how streams ended, the store's estimated rows and bytes, and the counters
//! of work running beside the server ([`MetricSource`]: in-process collectors).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dnsledger_store::{cf, Store};
use http::{Response, StatusCode};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::metrics::MetricType;
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
    feed_subscribers: Gauge,
    feed_events: Counter,
    feed_last_seq: Gauge,
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
            feed_subscribers: Gauge::default(),
            feed_events: Counter::default(),
            feed_last_seq: Gauge::default(),
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
        registry.register(
            "new_name_subscribers",
            "Clients following /api/v1/stream/new now",
            self.feed_subscribers.clone(),
        );
        registry.register(
            "new_name_events_sent",
            "New-name events sent to subscribers (how feeds ended: streams_ended, endpoint api_stream_new; slow = cut off)",
            self.feed_events.clone(),
        );
        registry.register(
            "new_name_log_sequence",
            "The sequence number of the newest event in the store's new-name log",
            self.feed_last_seq.clone(),
        );
    }

    /// A new-name subscriber came (1) or went (-1).
    pub fn feed_subscribers(&self, delta: i64) {
        self.feed_subscribers.inc_by(delta);
    }

    pub fn feed_events_sent(&self, events: u64) {
        self.feed_events.inc_by(events);
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

    /// Adds counters kept elsewhere to every exposition from now on.
    pub fn add_metric_sources(&self, sources: Vec<MetricSource>) {
        if sources.is_empty() {
            return;
        }
        let mut registry = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        registry.register_collector(Box::new(ExternalMetrics(sources)));
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
        match store.last_new_name_seq() {
            Ok(seq) => {
                self.feed_last_seq
                    .set(i64::try_from(seq).unwrap_or(i64::MAX));
            }
            Err(error) => tracing::warn!(%error, "reading the new-name log"),
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

/// Whether a source's values only grow or go up and down.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum MetricKind {
    /// Shown as `dnsledger_section_name_total`.
    Counter,
    /// Shown as `dnsledger_section_name`.
    Gauge,
}

/// Metrics kept outside the server and read at each exposition: `(section.name, value)`
/// pairs, such as a collector's `sensor.responses_dropped_scope` (the counter
/// `dnsledger_sensor_responses_dropped_scope_total`, the name a sensor's own `/metrics`
/// gives it) or a NATS consumer's `cluster.lag_batches` (a gauge).
#[derive(Clone)]
pub struct MetricSource {
    read: Arc<dyn Fn() -> Vec<(String, u64)> + Send + Sync>,
    kind: MetricKind,
}

impl MetricSource {
    /// Counters: `read` gives them as they are now; it must not block for long.
    pub fn counters(read: impl Fn() -> Vec<(String, u64)> + Send + Sync + 'static) -> MetricSource {
        MetricSource {
            read: Arc::new(read),
            kind: MetricKind::Counter,
        }
    }

    /// Gauges, read the same way.
    pub fn gauges(read: impl Fn() -> Vec<(String, u64)> + Send + Sync + 'static) -> MetricSource {
        MetricSource {
            read: Arc::new(read),
            kind: MetricKind::Gauge,
        }
    }
}

impl std::fmt::Debug for MetricSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MetricSource({:?})", self.kind)
    }
}

/// Every source's metrics; a name several sources report (two collectors' `sensor.*`) is
/// shown once, summed.
#[derive(Debug)]
struct ExternalMetrics(Vec<MetricSource>);

impl Collector for ExternalMetrics {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut summed: BTreeMap<(MetricKind, String), u64> = BTreeMap::new();
        for source in &self.0 {
            for (name, value) in (source.read)() {
                let name = name.replace(['.', '-'], "_");
                let sum = summed.entry((source.kind, name)).or_default();
                *sum = sum.saturating_add(value);
            }
        }
        for ((kind, name), value) in &summed {
            let help = "A metric of work running beside the server (see the sensor's counters)";
            match kind {
                MetricKind::Counter => {
                    let metric =
                        encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
                    ConstCounter::new(*value).encode(metric)?;
                }
                MetricKind::Gauge => {
                    let metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
                    ConstGauge::new(*value).encode(metric)?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_sources_are_summed_by_name_and_exposed_as_counters() {
        let metrics = Metrics::new();
        let source = |value: u64| {
            MetricSource::counters(move || {
                vec![
                    ("sensor.rrsets_dropped_scope".to_string(), value),
                    ("live.kernel_drops".to_string(), 0),
                ]
            })
        };
        metrics.add_metric_sources(vec![source(2), source(3)]);
        let mut text = String::new();
        encode(&mut text, &metrics.registry.lock().unwrap()).unwrap();
        assert!(
            text.contains("\ndnsledger_sensor_rrsets_dropped_scope_total 5\n"),
            "{text}"
        );
        assert!(
            text.contains("\ndnsledger_live_kernel_drops_total 0\n"),
            "{text}"
        );
        assert!(text.contains("# TYPE dnsledger_sensor_rrsets_dropped_scope counter\n"));
    }

    #[test]
    fn gauge_sources_are_exposed_as_gauges() {
        let metrics = Metrics::new();
        metrics.add_metric_sources(vec![MetricSource::gauges(|| {
            vec![("cluster.lag_batches".to_string(), 7)]
        })]);
        let mut text = String::new();
        encode(&mut text, &metrics.registry.lock().unwrap()).unwrap();
        assert!(
            text.contains(
                "# TYPE dnsledger_cluster_lag_batches gauge\ndnsledger_cluster_lag_batches 7\n"
            ),
            "{text}"
        );
    }
}
