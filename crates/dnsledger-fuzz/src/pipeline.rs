//! The decoder and sensor behind the capture-level targets, with limits scaled down to fuzz
//! input sizes, and the invariants checked on what comes out of them.

use std::sync::OnceLock;

use dnsledger_capture::{Decoder, DecoderConfig, DnsPayload, Frame, Limits};
use dnsledger_sensor::model::{Observation, VecSink};
use dnsledger_sensor::{Sensor, SensorConfig};

const MILLISECOND: i64 = 1_000_000;
const SECOND: i64 = 1_000_000_000;

/// A sensor whose every bound a few-kilobyte input can hit: the pairing table, the authority
/// map and the aggregator fill after a handful of messages, queries expire after 100 ms of
/// packet time and the aggregator flushes every second of it. The authority map keeps room
/// for the IANA root hints (about 65 facts) and a few dozen learned ones.
pub(crate) fn sensor() -> Sensor<VecSink> {
    // Built once: parsing the root hints for every input would dominate short runs.
    static CONFIG: OnceLock<SensorConfig> = OnceLock::new();
    let config = CONFIG.get_or_init(|| SensorConfig {
        pair_timeout_nanos: 100 * MILLISECOND,
        max_pending_queries: 8,
        max_authority_facts: 96,
        max_rrsets: 16,
        flush_interval_nanos: Some(SECOND),
        ..SensorConfig::default()
    });
    Sensor::new(config.clone(), VecSink::default())
}

/// Hands one payload to the sensor.
pub(crate) fn handle(sensor: &mut Sensor<VecSink>, payload: &DnsPayload<'_>) {
    sensor
        .handle(payload)
        .expect("a VecSink never refuses a batch");
}

/// Ends the input and checks what the sensor stored.
pub(crate) fn finish(sensor: Sensor<VecSink>) {
    let (sink, stats) = sensor.finish().expect("a VecSink never refuses a batch");
    assert_eq!(sink.observations.len() as u64, stats.rrsets_flushed);
    sink.observations.iter().for_each(check_observation);
}

/// The stored-data invariants of ARCHITECTURE.md: RD=1 data is off (so every RRset has a
/// bailiwick), the owner lies at or below it, the rdata set is sorted and distinct.
fn check_observation(observation: &Observation) {
    let rrset = &observation.rrset;
    let bailiwick = rrset
        .bailiwick()
        .expect("server-side RRsets have a bailiwick");
    assert!(
        rrset.rrname().is_subdomain_of(&bailiwick),
        "{rrset:?} stored outside its bailiwick"
    );
    let rdata: Vec<&[u8]> = rrset.rdata().collect();
    assert!(
        rdata.windows(2).all(|pair| pair[0] < pair[1]),
        "{rrset:?}: rdata not sorted and distinct"
    );
    let seen = observation.seen;
    assert!(
        seen.count >= 1 && seen.time_first <= seen.time_last,
        "{seen:?}"
    );
}

/// Limits a few-kilobyte input can hit: a handful of datagrams and streams, a few KiB each.
/// The per-datagram limit stays above the largest UDP message so that reassembly itself runs.
fn decoder_limits() -> Limits {
    Limits {
        fragment_timeout_nanos: 2 * SECOND,
        max_fragment_bytes_per_datagram: 65_535 + 120,
        max_fragment_bytes_total: 96 * 1024,
        max_fragment_datagrams: 8,
        tcp_timeout_nanos: 3 * SECOND,
        max_tcp_bytes_per_stream: 8 * 1024,
        max_tcp_bytes_total: 24 * 1024,
        max_tcp_streams: 8,
    }
}

/// Frames in, payloads into the sensor, invariants checked after every frame.
pub(crate) struct Pipeline {
    decoder: Decoder,
    sensor: Sensor<VecSink>,
    limits: Limits,
    emitted: u64,
}

impl Pipeline {
    pub(crate) fn new() -> Pipeline {
        let limits = decoder_limits();
        let config = DecoderConfig {
            limits,
            ..DecoderConfig::default()
        };
        Pipeline {
            decoder: Decoder::new(config),
            sensor: sensor(),
            limits,
            emitted: 0,
        }
    }

    pub(crate) fn frame(&mut self, frame: &Frame<'_>) {
        let (sensor, emitted) = (&mut self.sensor, &mut self.emitted);
        self.decoder.decode(frame, &mut |payload| {
            *emitted += 1;
            handle(sensor, payload);
        });
        self.check_bounds();
    }

    /// The decoder's memory promise (ARCHITECTURE.md, "Bounds"), and its bookkeeping.
    fn check_bounds(&self) {
        let limits = &self.limits;
        let max_bytes = limits.max_fragment_bytes_total + limits.max_tcp_bytes_total;
        let max_states = limits.max_fragment_datagrams + limits.max_tcp_streams;
        assert!(self.decoder.buffered_bytes() <= max_bytes);
        assert!(self.decoder.tracked_states() <= max_states);
        assert_eq!(self.decoder.stats().dns_payloads, self.emitted);
    }

    pub(crate) fn finish(mut self) {
        self.decoder.finish();
        assert_eq!(self.decoder.buffered_bytes(), 0);
        assert_eq!(self.decoder.tracked_states(), 0);
        finish(self.sensor);
    }
}
