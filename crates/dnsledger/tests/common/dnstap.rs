//! Expectations for dnstap input, shared by the fixture and corpus tiers: the counters a
//! run must report given the testbed's summary, and the poisoned records it must not store.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{CofRow, RowKey};

/// Our counters (`--stats-json`) against the testbed summary's `dnstap.stats` and totals.
pub fn assert_counters_match_summary(ours: &Value, summary: &Value, rows: usize, what: &str) {
    let dnstap = &summary["dnstap"];
    let expected = &dnstap["stats"];
    let expected_count = |name: &str| expected[name].as_u64().unwrap_or(0);
    let pairs = [
        (
            "dnstap.resolver_queries",
            expected_count("frames_RESOLVER_QUERY"),
        ),
        ("sensor.queries", expected_count("frames_RESOLVER_QUERY")),
        (
            "dnstap.resolver_responses",
            expected_count("frames_RESOLVER_RESPONSE"),
        ),
        ("sensor.responses_used", expected_count("used")),
        (
            "sensor.responses_dropped_truncated_tc",
            expected_count("dropped_tc"),
        ),
        (
            "sensor.responses_dropped_rcode_refused",
            expected_count("dropped_rcode_REFUSED"),
        ),
        (
            "sensor.rrsets_dropped_out_of_bailiwick",
            expected_count("rrsets_dropped_out_of_bailiwick"),
        ),
        // The testbed tells a response that matches no query apart from one whose question
        // differs from its query's; both are unsolicited here.
        (
            "sensor.responses_dropped_unsolicited",
            expected_count("dropped_question_mismatch") + expected_count("dropped_unpaired"),
        ),
        (
            "sensor.rrsets_accepted",
            dnstap["observations"].as_u64().unwrap(),
        ),
        ("dnstap.frames_malformed", 0),
        ("sensor.responses_dropped_qname_outside_zone", 0),
    ];
    for (name, value) in pairs {
        assert_eq!(ours[name].as_u64(), Some(value), "{what}: {name}");
    }
    assert_eq!(
        Some(rows as u64),
        dnstap["rrsets"].as_u64(),
        "{what}: rrsets"
    );
}

/// Asserts that none of the testbed's poisoned records (rrname, rrtype, rdata) was stored,
/// whatever its bailiwick.
pub fn assert_no_poisoned_record(rows: &[CofRow], poisoned: &Value) {
    let present: BTreeSet<(&str, &str, &str)> = rows
        .iter()
        .flat_map(|row| {
            row.rdata
                .iter()
                .map(move |r| (row.rrname.as_str(), row.rrtype.as_str(), r.as_str()))
        })
        .collect();
    let records = poisoned.as_array().expect("an array of records");
    assert!(!records.is_empty());
    for record in records {
        let field = |name: &str| record[name].as_str().unwrap();
        let key = (field("rrname"), field("rrtype"), field("rdata"));
        assert!(!present.contains(&key), "poisoned record stored: {key:?}");
    }
}

/// Rows keyed by identity with their partial rows merged (min first, max last, sum count):
/// a live sensor flushes on a timer, so one RRset may leave in several rows.
pub fn merged_rows(rows: &[CofRow]) -> BTreeMap<RowKey, (u64, i64, i64)> {
    let mut merged: BTreeMap<RowKey, (u64, i64, i64)> = BTreeMap::new();
    for row in rows {
        merged
            .entry(row.key())
            .and_modify(|m| {
                *m = (
                    m.0 + row.count,
                    m.1.min(row.time_first),
                    m.2.max(row.time_last),
                )
            })
            .or_insert((row.count, row.time_first, row.time_last));
    }
    merged
}

/// The data frames of a dnstap fixture (`fixtures/RELATIVE`), in order.
pub fn fixture_frames(relative: &str) -> Vec<Vec<u8>> {
    let path = super::fixture(relative);
    let mut reader = dnsledger_dnstap::open_file(std::path::Path::new(&path)).unwrap();
    let mut frames = Vec::new();
    while let Some(frame) = reader.next_data().unwrap() {
        frames.push(frame.to_vec());
    }
    frames
}
