//! Privacy and scope through the real binary, on the testbed's attack capture (812 RRsets
//! unfiltered) and its dnstap recording: `--exclude-suffix` removes exactly the RRsets of a
//! zone, `--include-suffix` keeps exactly those of the zones named, list files work as the
//! options do, `ingest` and dnstap input take the same scope, every drop is counted, and the
//! resolver's address (127.0.0.2) appears in no output.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{
    assert_same_rows, fixture, mentions_address, our_rows, run_sensor, scratch_dir, server::run,
    CofRow, RowKey,
};
use serde_json::Value;

const CAPTURE: &str = "testbed/run3_attack.resolver_auth.pcap.gz";
const DNSTAP: &str = "testbed/run1_qmin_on.resolver.dnstap.gz";
/// The address the testbed's resolver sends its queries from (captures and dnstap alike).
const RESOLVER: &str = "127.0.0.2";

type Rows = BTreeMap<RowKey, (u64, i64, i64)>;

/// One sensor run: its rows by identity and its counters.
struct Run {
    rows: Rows,
    counters: Value,
}

/// `sensor --read INPUT ARGS...` with the testbed's root hints.
fn sensor(name: &str, input: &str, args: &[&str]) -> Run {
    let stats = scratch_dir(&format!("scope-{name}")).join("stats.json");
    let mut all = vec![
        "--root-hints".to_string(),
        fixture("testbed/root.hints"),
        "--stats-json".to_string(),
        stats.to_str().unwrap().to_string(),
        "--read".to_string(),
        fixture(input),
    ];
    all.extend(args.iter().map(|arg| arg.to_string()));
    let run = run_sensor(&all.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(run.status, 0, "{name}: {}", run.stderr);
    Run {
        rows: our_rows(&run.rows),
        counters: read_json(&stats),
    }
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Whether `name` (presentation, absolute) is at or below `suffix` (label-wise).
fn at_or_below(name: &str, suffix: &str) -> bool {
    let suffix = suffix.trim_end_matches('.').to_ascii_lowercase() + ".";
    let name = name.to_ascii_lowercase();
    name == suffix || name.ends_with(&format!(".{suffix}"))
}

fn counter(counters: &Value, name: &str) -> u64 {
    counters[name]
        .as_u64()
        .unwrap_or_else(|| panic!("no counter {name}"))
}

/// The counters that say what a scope dropped; every other one must read as unfiltered.
const SCOPE_COUNTERS: [&str; 5] = [
    "sensor.responses_used",
    "sensor.responses_dropped_scope",
    "sensor.rrsets_accepted",
    "sensor.rrsets_dropped_scope",
    "sensor.rrsets_flushed",
];

/// A scoped run against the unfiltered one: drops moved from "used" to "dropped by scope",
/// one for one, and nothing else changed (the authority learnt is the same).
fn assert_drops_counted(unfiltered: &Value, scoped: &Value) {
    let used = |c: &Value| counter(c, "sensor.responses_used");
    let accepted = |c: &Value| counter(c, "sensor.rrsets_accepted");
    assert_eq!(
        used(scoped) + counter(scoped, "sensor.responses_dropped_scope"),
        used(unfiltered)
    );
    assert_eq!(
        accepted(scoped) + counter(scoped, "sensor.rrsets_dropped_scope"),
        accepted(unfiltered)
    );
    assert!(counter(scoped, "sensor.responses_dropped_scope") > 0);
    for (name, value) in unfiltered.as_object().unwrap() {
        if !SCOPE_COUNTERS.contains(&name.as_str()) {
            assert_eq!(&scoped[name], value, "{name}");
        }
    }
}

#[test]
fn excluding_a_zone_removes_exactly_its_rrsets_and_counts_them() {
    let all = sensor("unfiltered", CAPTURE, &[]);
    assert_eq!(all.rows.len(), 812);
    let zone = "oscar-secure.org";
    let scoped = sensor("exclude", CAPTURE, &["--exclude-suffix", zone]);
    let (removed, kept): (Rows, Rows) = all
        .rows
        .into_iter()
        .partition(|(k, _)| at_or_below(&k.0, zone));
    assert!(removed.len() > 50, "the zone has RRsets: {}", removed.len());
    // Counts included: no answer to a question outside this zone carries one of its RRsets.
    assert_same_rows(&kept, &scoped.rows, "--exclude-suffix");
    let observations: u64 = removed.values().map(|(count, _, _)| count).sum();
    assert_eq!(
        counter(&scoped.counters, "sensor.rrsets_dropped_scope"),
        observations
    );
    assert_drops_counted(&all.counters, &scoped.counters);
}

const INCLUDED: [&str; 2] = ["alpha-bank.com", "hotel-sub.com"];

#[test]
fn including_two_zones_keeps_exactly_theirs() {
    let all = sensor("unfiltered-2", CAPTURE, &[]);
    // Any case, trailing dot or not.
    let args = [
        "--include-suffix",
        "Alpha-Bank.COM",
        "--include-suffix",
        "hotel-sub.com.",
    ];
    let scoped = sensor("include", CAPTURE, &args);
    let wanted: Rows = all
        .rows
        .iter()
        .filter(|(k, _)| INCLUDED.iter().any(|zone| at_or_below(&k.0, zone)))
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    assert!(wanted.len() > 50, "the zones have RRsets: {}", wanted.len());
    assert_eq!(
        scoped.rows.keys().collect::<Vec<_>>(),
        wanted.keys().collect::<Vec<_>>()
    );
    // Glue of these zones' servers also comes in referrals for other zones, whose
    // questions are out of scope: those observations are dropped, so counts may be lower.
    for (key, (count, first, last)) in &scoped.rows {
        let (all_count, all_first, all_last) = wanted[key];
        assert!(
            *count <= all_count && *first >= all_first && *last <= all_last,
            "{key:?}"
        );
    }
    assert_drops_counted(&all.counters, &scoped.counters);
}

#[test]
fn suffix_files_work_as_the_options_do() {
    let dir = scratch_dir("scope-files");
    let include = dir.join("include.txt");
    std::fs::write(
        &include,
        "# the two zones of the include test\n\nalpha-bank.com\n  HOTEL-SUB.com.  # trailing comment\n",
    )
    .unwrap();
    let exclude = dir.join("exclude.txt");
    std::fs::write(&exclude, "oscar-secure.org # the exclude test's zone\n").unwrap();
    let by_options = sensor(
        "include-options",
        CAPTURE,
        &[
            "--include-suffix",
            INCLUDED[0],
            "--include-suffix",
            INCLUDED[1],
        ],
    );
    let by_file = sensor(
        "include-file",
        CAPTURE,
        &["--include-suffixes", include.to_str().unwrap()],
    );
    assert_same_rows(&by_options.rows, &by_file.rows, "--include-suffixes");
    assert_eq!(by_options.counters, by_file.counters);
    let by_option = sensor(
        "exclude-option",
        CAPTURE,
        &["--exclude-suffix", "oscar-secure.org"],
    );
    let by_file = sensor(
        "exclude-file",
        CAPTURE,
        &["--exclude-suffixes", exclude.to_str().unwrap()],
    );
    assert_same_rows(&by_option.rows, &by_file.rows, "--exclude-suffixes");
    // Both kinds together: the included zones, minus what is excluded within them.
    let both = sensor(
        "include-and-exclude",
        CAPTURE,
        &[
            "--include-suffixes",
            include.to_str().unwrap(),
            "--exclude-suffix",
            "ns1.alpha-bank.com",
        ],
    );
    let expected = without(&by_options.rows, "ns1.alpha-bank.com");
    assert_eq!(
        both.rows.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
}

/// `rows` but those at or below `suffix` (some are).
fn without(rows: &Rows, suffix: &str) -> Rows {
    let mut kept = rows.clone();
    kept.retain(|k, _| !at_or_below(&k.0, suffix));
    assert!(kept.len() < rows.len());
    kept
}

#[test]
fn a_bad_suffix_is_refused() {
    let run = run_sensor(&["--read", &fixture(CAPTURE), "--include-suffix", "bad..name"]);
    assert_eq!(run.status, 2, "{}", run.stderr);
    assert!(run.stderr.contains("not a domain name"), "{}", run.stderr);
    let list = scratch_dir("scope-bad-list").join("list.txt");
    std::fs::write(&list, "example.com\nbad..name\n").unwrap();
    let run = run_sensor(&[
        "--read",
        &fixture(CAPTURE),
        "--exclude-suffixes",
        list.to_str().unwrap(),
    ]);
    assert_eq!(run.status, 1, "{}", run.stderr);
    assert!(run.stderr.contains("line 2"), "{}", run.stderr);
    assert!(run.rows.is_empty());
}

#[test]
fn ingest_and_dnstap_input_take_the_same_scope() {
    let zone = "oscar-secure.org";
    let from_capture = sensor("exclude-for-ingest", CAPTURE, &["--exclude-suffix", zone]);
    let db = scratch_dir("scope-ingest").join("db");
    let db = db.to_str().unwrap();
    let hints = fixture("testbed/root.hints");
    let (status, _, stderr) = run(&[
        "ingest",
        "--db",
        db,
        "--root-hints",
        &hints,
        "--exclude-suffix",
        zone,
        &fixture(CAPTURE),
    ]);
    assert_eq!(status, 0, "{stderr}");
    assert!(stderr.contains("sensor.rrsets_dropped_scope "), "{stderr}");
    let (status, dump, stderr) = run(&["dump", "--db", db]);
    assert_eq!(status, 0, "{stderr}");
    assert_same_rows(&from_capture.rows, &our_rows(&parse_rows(&dump)), "ingest");

    let all = sensor("dnstap-unfiltered", DNSTAP, &[]);
    let scoped = sensor("dnstap-exclude", DNSTAP, &["--exclude-suffix", zone]);
    let kept = without(&all.rows, zone);
    assert_eq!(
        scoped.rows.keys().collect::<Vec<_>>(),
        kept.keys().collect::<Vec<_>>()
    );
    assert_drops_counted(&all.counters, &scoped.counters);
}

fn parse_rows(text: &str) -> Vec<CofRow> {
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[test]
fn the_resolver_address_appears_in_no_output() {
    let dir = scratch_dir("scope-privacy");
    let db = dir.join("db");
    let mut outputs = Vec::new();
    for input in [CAPTURE, DNSTAP] {
        let (cof, stats) = (dir.join("out.jsonl"), dir.join("stats.json"));
        let hints = fixture("testbed/root.hints");
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_dnsledger"))
            .env("RUST_LOG", "trace")
            .args(["sensor", "--root-hints", &hints, "--read", &fixture(input)])
            .args(["--output", cof.to_str().unwrap()])
            .args(["--stats-json", stats.to_str().unwrap()])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(output.status.success(), "{stderr}");
        outputs.push(stderr);
        outputs.push(std::fs::read_to_string(&cof).unwrap());
        outputs.push(std::fs::read_to_string(&stats).unwrap());
        let db_output = format!("db:{}", db.display());
        let (status, stdout, stderr) = run(&[
            "sensor",
            "--root-hints",
            &hints,
            "--read",
            &fixture(input),
            "-o",
            &db_output,
        ]);
        assert_eq!(status, 0, "{stderr}");
        outputs.extend([stdout, stderr]);
    }
    for command in ["dump", "stats"] {
        let (status, stdout, stderr) = run(&[command, "--db", db.to_str().unwrap()]);
        assert_eq!(status, 0, "{stderr}");
        outputs.extend([stdout, stderr]);
    }
    // The check can see addresses: the servers' own A records are there.
    assert!(outputs
        .iter()
        .any(|text| mentions_address(text, "127.0.0.20")));
    for text in &outputs {
        assert!(
            !mentions_address(text, RESOLVER),
            "the resolver's address in: {text}"
        );
    }
}
