//! `dnsledger sensor --read` on the testbed's attack scenario (a real capture of Unbound
//! talking to NSD and Knot, with forged responses injected): the RRsets must be exactly
//! the expected ones, counts and first/last seconds included, and no poisoned record may
//! appear.

mod common;

use std::collections::BTreeSet;

use common::{
    assert_same_rows, expected_rows_from_lines, fixture, our_rows, read_gz_lines, run_sensor,
    CofRow,
};

const CAPTURE: &str = "testbed/run3_attack.resolver_auth.pcap.gz";
const EXPECTED: &str = "testbed/run3_attack.resolver_auth.rrsets.jsonl.gz";

#[test]
fn attack_capture_gives_exactly_the_expected_rrsets() {
    let run = run_sensor(&[
        "--root-hints",
        &fixture("testbed/root.hints"),
        "--read",
        &fixture(CAPTURE),
    ]);
    assert_eq!(run.status, 0, "stderr: {}", run.stderr);
    let ours = our_rows(&run.rows);
    let expected = expected_rows_from_lines(&read_gz_lines(&fixture(EXPECTED)));
    assert_same_rows(&expected, &ours, "run3_attack resolver_auth");
    assert_eq!(ours.len(), 812);
}

#[test]
fn no_poisoned_record_appears() {
    let run = run_sensor(&[
        "--root-hints",
        &fixture("testbed/root.hints"),
        "--read",
        &fixture(CAPTURE),
    ]);
    let poisoned: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("testbed/poisoned_records.json")).unwrap(),
    )
    .unwrap();
    let records = poisoned.as_array().expect("an array of records");
    assert_eq!(records.len(), 41);
    let present: BTreeSet<(String, String, String)> = run
        .rows
        .iter()
        .flat_map(|row| {
            row.rdata
                .iter()
                .map(move |r| (row.rrname.clone(), row.rrtype.clone(), r.clone()))
        })
        .collect();
    for record in records {
        let key = (
            record["rrname"].as_str().unwrap().to_string(),
            record["rrtype"].as_str().unwrap().to_string(),
            record["rdata"].as_str().unwrap().to_string(),
        );
        assert!(!present.contains(&key), "poisoned record stored: {key:?}");
    }
}

#[test]
fn counters_match_the_testbed_summary() {
    let dir = common::scratch_dir("counters");
    let stats_path = dir.join("stats.json");
    let run = run_sensor(&[
        "--root-hints",
        &fixture("testbed/root.hints"),
        "--stats-json",
        stats_path.to_str().unwrap(),
        "--read",
        &fixture(CAPTURE),
    ]);
    assert_eq!(run.status, 0);
    let ours: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&stats_path).unwrap()).unwrap();
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("testbed/run3_attack.summary.json")).unwrap(),
    )
    .unwrap();
    let expected = &summary["resolver_auth"]["stats"];
    let pairs = [
        ("sensor.queries", "queries"),
        ("sensor.responses_used", "responses_used"),
        ("sensor.rrsets_accepted", "rrsets_accepted"),
        (
            "sensor.rrsets_dropped_out_of_bailiwick",
            "rrsets_dropped_out_of_bailiwick",
        ),
        (
            "sensor.responses_dropped_truncated_tc",
            "responses_dropped_tc",
        ),
        (
            "sensor.responses_dropped_rcode_refused",
            "responses_dropped_rcode_REFUSED",
        ),
        ("capture.dns_payloads", "dns_messages"),
    ];
    for (ours_name, expected_name) in pairs {
        assert_eq!(
            ours[ours_name], expected[expected_name],
            "{ours_name} vs {expected_name}"
        );
    }
    let rows: Vec<CofRow> = run.rows;
    assert!(!rows.is_empty());
}
