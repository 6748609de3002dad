//! The on-disk format does not drift: the stores written by format versions 1, 2 and 3 (kept
//! in `fixtures/store-v1/` to `fixtures/store-v3/`) read back exactly, today's ingest writes
//! the same rows, and a writer upgrades older stores to version 3 (values gain a per-day
//! activity, the store the new-name feed's column families, the forward index one entry
//! per owner).

mod common;

use std::path::{Path, PathBuf};

use common::server::run;
use common::{fixture, scratch_dir};

/// A copy of the fixture store (readers leave files of their own nowhere near it, but a
/// test must not be able to change the repository).
fn fixture_store_copy(name: &str) -> PathBuf {
    fixture_copy("store-v1", name)
}

fn fixture_copy(fixture_name: &str, name: &str) -> PathBuf {
    let db = scratch_dir(name).join("db");
    std::fs::create_dir_all(&db).unwrap();
    for entry in std::fs::read_dir(fixture(&format!("{fixture_name}/db"))).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), db.join(entry.file_name())).unwrap();
    }
    db
}

fn dump(db: &Path) -> String {
    let (status, stdout, stderr) = run(&["dump", "--db", db.to_str().unwrap()]);
    assert_eq!(status, 0, "{stderr}");
    stdout
}

fn expected_dump() -> String {
    std::fs::read_to_string(fixture("store-v1/dump.cof")).unwrap()
}

#[test]
fn a_version_1_store_reads_back_exactly_and_verifies() {
    let db = fixture_store_copy("format-v1-read");
    assert_eq!(dump(&db), expected_dump());
    let (status, stdout, stderr) = run(&["stats", "--db", db.to_str().unwrap(), "--verify"]);
    assert_eq!(status, 0, "{stderr}");
    assert!(stdout.contains("format_version 1\n"), "{stdout}");
    assert!(stdout.contains("verify ok"), "{stdout}");
    let (status, stdout, _) = run(&[
        "query",
        "--db",
        db.to_str().unwrap(),
        "-n",
        "mail.example.com",
        "-j",
    ]);
    assert_eq!(status, 0);
    assert!(
        stdout.contains("\"rdata\":\"10 mail.example.com.\""),
        "{stdout}"
    );
}

#[test]
fn todays_ingest_writes_what_version_1_wrote_and_remembers_its_inputs() {
    let fresh = scratch_dir("format-v1-fresh").join("db");
    let input = fixture("store-v1/input.cof");
    let (status, _, stderr) = run(&["ingest", "--db", fresh.to_str().unwrap(), &input]);
    assert_eq!(status, 0, "{stderr}");
    assert_eq!(dump(&fresh), expected_dump());

    let old = fixture_store_copy("format-v1-reingest");
    let (status, _, stderr) = run(&["ingest", "--db", old.to_str().unwrap(), &input]);
    assert_eq!(status, 0, "{stderr}");
    assert!(stderr.contains("already ingested"), "{stderr}");
    assert_eq!(dump(&old), expected_dump());
}

/// Ingests `lines` (COF) into the store `db` of an older format: the store is upgraded to
/// version 3 and verifies. The input goes beside `db` (`scratch_dir` would empty it).
fn ingest_upgrades_and_verifies(db: &Path, lines: &[&str]) {
    let more = db.with_file_name("more.cof");
    std::fs::write(&more, lines.join("\n")).unwrap();
    let (status, _, stderr) = run(&[
        "ingest",
        "--db",
        db.to_str().unwrap(),
        more.to_str().unwrap(),
    ]);
    assert_eq!(status, 0, "{stderr}");
    let (status, stdout, stderr) = run(&["stats", "--db", db.to_str().unwrap(), "--verify"]);
    assert_eq!(status, 0, "{stderr}");
    assert!(
        stdout.contains("format_version 3\n") && stdout.contains("verify ok"),
        "{stdout}"
    );
}

#[test]
fn a_writer_upgrades_a_version_1_store_and_old_counts_stay_out_of_the_activity() {
    let db = fixture_store_copy("format-v1-upgrade");
    ingest_upgrades_and_verifies(
        &db,
        &[
            r#"{"count":2,"time_first":1700100000,"time_last":1700100100,"rrname":"www.example.com.","rrtype":"A","bailiwick":"example.com.","rdata":["192.0.2.80"]}"#,
        ],
    );
    assert_eq!(
        rrset_lines(&db, "www.example.*"),
        [
            r#""www.example.com." "A" ["192.0.2.80"]"#,
            r#""www.example.com." "CNAME" ["example.com."]"#,
        ]
    );
    let (status, stdout, stderr) = run(&["dump", "--activity", "--db", db.to_str().unwrap()]);
    assert_eq!(status, 0, "{stderr}");
    let rows: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let new = rows
        .iter()
        .find(|r| r["rdata"][0] == "192.0.2.80")
        .expect("the new row");
    assert_eq!(
        new["activity"]["buckets"],
        serde_json::json!([[1700092800, 2]])
    );
    assert_eq!(
        rows.len(),
        14,
        "the fixture's 13 rows and the new one: {stdout}"
    );
    assert!(
        rows.iter()
            .filter(|r| r["rdata"][0] != "192.0.2.80")
            .all(|r| r.get("activity").is_none()),
        "version-1 rows have no activity: {stdout}"
    );
}

fn dump_with_activity(db: &Path) -> String {
    let (status, stdout, stderr) = run(&["dump", "--activity", "--db", db.to_str().unwrap()]);
    assert_eq!(status, 0, "{stderr}");
    stdout
}

fn new_names(db: &Path) -> String {
    let args = [
        "watch",
        "new",
        "--db",
        db.to_str().unwrap(),
        "--no-follow",
        "--json",
    ];
    let (status, stdout, stderr) = run(&args);
    assert_eq!(status, 0, "{stderr}");
    stdout
}

/// What `query -r PATTERN -j` answers, one `rrname rrtype rdata` line per row.
fn rrset_lines(db: &Path, pattern: &str) -> Vec<String> {
    let (status, stdout, stderr) =
        run(&["query", "--db", db.to_str().unwrap(), "-r", pattern, "-j"]);
    assert_eq!(status, 0, "{stderr}");
    stdout
        .lines()
        .map(|line| {
            let row: serde_json::Value = serde_json::from_str(line).unwrap();
            format!("{} {} {}", row["rrname"], row["rrtype"], row["rdata"])
        })
        .collect()
}

/// A fixture store of format `version` reads back as its `dump.cof` and `new-names.jsonl`
/// say, verifies, and is what today's ingest of its `input.cof` writes.
fn reads_back_exactly(version: u32) {
    let name = format!("store-v{version}");
    let expected =
        |file: &str| std::fs::read_to_string(fixture(&format!("{name}/{file}"))).unwrap();
    let db = fixture_copy(&name, &format!("format-v{version}-read"));
    assert_eq!(dump_with_activity(&db), expected("dump.cof"));
    assert_eq!(new_names(&db), expected("new-names.jsonl"));
    let (status, stdout, stderr) = run(&["stats", "--db", db.to_str().unwrap(), "--verify"]);
    assert_eq!(status, 0, "{stderr}");
    assert!(
        stdout.contains(&format!("format_version {version}\n")) && stdout.contains("verify ok"),
        "{stdout}"
    );
    assert_eq!(
        rrset_lines(&db, "www.example.*"),
        [r#""www.example.com." "CNAME" ["example.com."]"#]
    );

    let fresh = scratch_dir(&format!("format-v{version}-fresh")).join("db");
    let input = fixture(&format!("{name}/input.cof"));
    let (status, _, stderr) = run(&["ingest", "--db", fresh.to_str().unwrap(), &input]);
    assert_eq!(status, 0, "{stderr}");
    assert_eq!(
        dump_with_activity(&fresh),
        expected("dump.cof"),
        "today's ingest"
    );
    assert_eq!(
        new_names(&fresh),
        expected("new-names.jsonl"),
        "today's feed"
    );
}

#[test]
fn a_version_2_store_reads_back_exactly_with_its_activity_and_new_names() {
    reads_back_exactly(2);
}

#[test]
fn a_version_3_store_reads_back_exactly_with_its_activity_and_new_names() {
    reads_back_exactly(3);
}

#[test]
fn a_writer_upgrades_a_version_2_store_to_owner_entries_and_single_rdata_keys() {
    let db = fixture_copy("store-v2", "format-v2-upgrade");
    // Ingesting the fixture's own input again writes nothing but upgrades the store.
    let input = fixture("store-v2/input.cof");
    let (status, _, stderr) = run(&["ingest", "--db", db.to_str().unwrap(), &input]);
    assert!(
        status == 0 && stderr.contains("already ingested"),
        "{stderr}"
    );
    let expected = std::fs::read_to_string(fixture("store-v2/dump.cof")).unwrap();
    assert_eq!(dump_with_activity(&db), expected);
    ingest_upgrades_and_verifies(
        &db,
        &[
            r#"{"count":2,"time_first":1700100000,"time_last":1700100100,"rrname":"www.example.com.","rrtype":"A","bailiwick":"example.com.","rdata":["192.0.2.80"]}"#,
            r#"{"count":1,"time_first":1700100000,"time_last":1700100000,"rrname":"www.example.org.","rrtype":"A","bailiwick":"example.org.","rdata":["192.0.2.81"]}"#,
        ],
    );
    let (status, stdout, stderr) = run(&[
        "query",
        "--db",
        db.to_str().unwrap(),
        "-i",
        "192.0.2.0/24",
        "-j",
    ]);
    assert_eq!(status, 0, "{stderr}");
    assert_eq!(
        stdout.lines().count(),
        4,
        "the fixture's 2 addresses and 2 new: {stdout}"
    );
    // The old owner's new row, its old one, and a new owner: each once.
    assert_eq!(
        rrset_lines(&db, "www.example.*"),
        [
            r#""www.example.com." "A" ["192.0.2.80"]"#,
            r#""www.example.com." "CNAME" ["example.com."]"#,
            r#""www.example.org." "A" ["192.0.2.81"]"#,
        ]
    );
}
