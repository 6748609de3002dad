//! The benchmark capture generator: deterministic, exact in size, and coherent enough that
//! the sensor's hardening keeps what a real resolver<->authoritative tap would give it.

use std::io::Cursor;

use dnsledger_capture::testutil::decode_bytes;
use dnsledger_capture::{CaptureReader, DecodeStats, Decoder, DecoderConfig};
use dnsledger_rrset::VecSink;
use dnsledger_sensor::{RootHints, Sensor, SensorConfig, SensorStats};
use xtask::generate::{generate, CaptureSummary, GenParams, HashWriter};
use xtask::hierarchy::Hierarchy;

/// Fewer domains than the benchmark's 200k keep debug-build tests quick; the structure of
/// the tree does not depend on the count.
const DOMAINS: u32 = 20_000;

fn params(packets: u64, seed: u64) -> GenParams {
    GenParams {
        packets,
        seed,
        domains: DOMAINS,
    }
}

fn capture(params: &GenParams) -> (Vec<u8>, CaptureSummary) {
    generate(params, Vec::new()).unwrap()
}

fn hash(params: &GenParams) -> u64 {
    generate(params, HashWriter::default()).unwrap().0.hash
}

#[test]
fn the_same_seed_gives_the_same_bytes() {
    let a = hash(&params(5000, 7));
    assert_eq!(a, hash(&params(5000, 7)));
    assert_ne!(a, hash(&params(5000, 8)));
}

#[test]
fn the_packet_count_is_exact() {
    for packets in [1, 2, 3, 10, 1001, 4000] {
        let (bytes, summary) = capture(&params(packets, 3));
        assert_eq!(summary.packets, packets);
        assert_eq!(summary.bytes, bytes.len() as u64);
        let decoded = decode_bytes(bytes, DecoderConfig::default());
        assert!(decoded.error.is_none(), "{:?}", decoded.error);
        assert_eq!(decoded.frames, packets);
    }
}

/// Runs the capture through the capture decoder and the sensor, as `dnsledger sensor` does.
fn sense(bytes: Vec<u8>, hints: &str) -> (DecodeStats, SensorStats) {
    let config = SensorConfig {
        root_hints: RootHints::parse(hints).unwrap(),
        ..SensorConfig::default()
    };
    let mut sensor = Sensor::new(config, VecSink::default());
    let mut reader = CaptureReader::from_reader(Box::new(Cursor::new(bytes))).unwrap();
    let mut decoder = Decoder::new(DecoderConfig::default());
    while let Some(frame) = reader.next_frame().unwrap() {
        decoder.decode(&frame, &mut |payload| sensor.handle(payload).unwrap());
    }
    decoder.finish();
    let (_, stats) = sensor.finish().unwrap();
    (decoder.stats().clone(), stats)
}

#[test]
fn the_sensor_accepts_the_generated_hierarchy() {
    let params = params(30_000, 1);
    let (bytes, summary) = capture(&params);
    let hints = Hierarchy::build(params.seed, params.domains).root_hints();
    let (capture, sensor) = sense(bytes, &hints);

    // Every TCP connection gives its query and response back (the packet budget turns
    // an exchange that would not fit into UDP, never cuts one), nothing is malformed.
    assert_eq!(capture.frames, params.packets);
    assert_eq!(capture.tcp_messages, 2 * summary.traffic.tcp);
    assert_eq!(capture.udp_checksum_invalid, 0);
    assert_eq!(sensor.dropped_malformed_message, 0);
    assert_eq!(sensor.responses_dropped_malformed_records, 0);

    // Bailiwick reconstruction follows the hierarchy from the hints down.
    assert_eq!(sensor.responses_dropped_unknown_server, 0);
    assert_eq!(sensor.rrsets_dropped_out_of_bailiwick, 0);
    assert!(
        sensor.responses_used * 10 >= sensor.pairs * 9,
        "{} used of {} paired",
        sensor.responses_used,
        sensor.pairs
    );

    // The drops are exactly the generated anomalies.
    assert_eq!(sensor.responses, summary.traffic.responses);
    assert_eq!(
        sensor.responses_dropped_truncated_tc,
        summary.traffic.truncated
    );
    assert_eq!(
        sensor.responses_dropped_unsolicited,
        summary.traffic.late_duplicates
    );
    let unanswered = summary.traffic.lost + summary.traffic.unanswered;
    assert_eq!(sensor.queries_unanswered, unanswered);
    assert!(
        sensor.rrsets_flushed > 1000,
        "{} RRsets",
        sensor.rrsets_flushed
    );
}
