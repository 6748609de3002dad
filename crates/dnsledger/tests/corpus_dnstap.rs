//! Corpus tier for dnstap: every `*.dnstap` of the testbed gives exactly its expected RRsets
//! and counters and stores no poisoned record (run3's forged response with a wrong question
//! included); the public corpus's dnstap files are read without error. Needs
//! `DNSLEDGER_CORPUS` (see `scripts/test --corpus`); fails when it is missing.

mod common;

use std::path::{Path, PathBuf};

use common::dnstap::{assert_counters_match_summary, assert_no_poisoned_record};
use common::{assert_same_rows, corpus_dir, expected_rows, our_rows, run_sensor, scratch_dir};
use serde_json::Value;

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// Every file named `*.dnstap` under `dir`, recursively, sorted.
fn dnstap_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(next) = stack.pop() {
        for entry in std::fs::read_dir(&next).unwrap().map(Result::unwrap) {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "dnstap") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

#[test]
fn every_testbed_dnstap_file_reproduces_its_expected_rrsets_and_counters() {
    let testbed = corpus_dir().join("testbed");
    let files = dnstap_files(&testbed.join("captures"));
    assert!(files.len() >= 2, "found only {files:?}");
    let poisoned = read_json(&testbed.join("expected/poisoned_records.json"));
    let stats = scratch_dir("corpus-dnstap").join("stats.json");
    for file in &files {
        let scenario = file
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy();
        let run = run_sensor(&[
            "--stats-json",
            stats.to_str().unwrap(),
            "--read",
            file.to_str().unwrap(),
        ]);
        assert_eq!(run.status, 0, "{scenario}: {}", run.stderr);
        let expected = testbed.join(format!("expected/{scenario}.dnstap.rrsets.jsonl"));
        let ours = our_rows(&run.rows);
        assert_same_rows(&expected_rows(&expected), &ours, &scenario);
        let summary = read_json(&testbed.join(format!("expected/{scenario}.summary.json")));
        assert_counters_match_summary(&read_json(&stats), &summary, ours.len(), &scenario);
        assert_no_poisoned_record(&run.rows, &poisoned);
    }
}

#[test]
fn the_attack_scenarios_forged_response_with_a_wrong_question_is_not_stored() {
    let testbed = corpus_dir().join("testbed");
    let file = testbed.join("captures/run3_attack/resolver.dnstap");
    let stats = scratch_dir("corpus-dnstap-attack").join("stats.json");
    let run = run_sensor(&[
        "--stats-json",
        stats.to_str().unwrap(),
        "--read",
        file.to_str().unwrap(),
    ]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    let counters = read_json(&stats);
    assert_eq!(counters["sensor.responses_dropped_unsolicited"], 1);
    let poisoned = read_json(&testbed.join("expected/poisoned_records.json"));
    assert_no_poisoned_record(&run.rows, &poisoned);
}

#[test]
fn the_public_corpus_dnstap_files_are_read_without_error() {
    let files = dnstap_files(&corpus_dir().join("public"));
    assert!(!files.is_empty(), "no dnstap file in the public corpus");
    for file in &files {
        let run = run_sensor(&["--accept-rd", "--read", file.to_str().unwrap()]);
        assert_eq!(run.status, 0, "{}: {}", file.display(), run.stderr);
        assert!(
            run.stderr.contains("dnstap.frames "),
            "{}: {}",
            file.display(),
            run.stderr
        );
    }
}
