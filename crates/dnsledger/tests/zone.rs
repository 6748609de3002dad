//! Zone files through the real binary: `import-zone` beside sensor history, zone rows in every
//! output format, exactly-once imports, dig AXFR output, and `zone-export` of the testbed's
//! zones, checked by parsing the export back and by `named-checkzone` (Debian bind9-utils).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{fixture, read_gz_lines, scratch_dir, ExpectedRow};
use dnsledger_wire::{rdata_to_text, type_name, NameBuf};
use dnsledger_zone::MasterReader;

const CAPTURE: &str = "testbed/run3_attack.resolver_auth.pcap.gz";
const EXPECTED: &str = "testbed/run3_attack.resolver_auth.rrsets.jsonl.gz";
/// The zones copied from the testbed (`fixtures/zones/SOURCE.md`).
const ZONES: [&str; 6] = [
    "com.",
    "org.",
    "alpha-bank.com.",
    "hotel-sub.com.",
    "oscar-secure.org.",
    "xray-mx.org.",
];
/// 2025-01-01 00:00:00 UTC, the zone time of the imports.
const ZONE_TIME: &str = "1735689600";

use common::server::run as dnsledger;

fn zone_file(zone: &str) -> String {
    fixture(&format!("zones/{zone}zone"))
}

fn ingest_capture(db: &Path) {
    let hints = fixture("testbed/root.hints");
    let db = db.to_str().unwrap();
    let (status, _, stderr) = dnsledger(&[
        "ingest",
        "--db",
        db,
        "--root-hints",
        &hints,
        &fixture(CAPTURE),
    ]);
    assert_eq!(status, 0, "{stderr}");
}

fn import_zone(db: &Path, zone: &str, file: &str) -> (i32, String) {
    let db = db.to_str().unwrap();
    let args = [
        "import-zone",
        "--db",
        db,
        "--origin",
        zone,
        "--time",
        ZONE_TIME,
        file,
    ];
    let (status, _, stderr) = dnsledger(&args);
    (status, stderr)
}

/// `zone-export` into a file; returns its path.
fn export(db: &Path, zone: &str, window: &[&str]) -> PathBuf {
    let path = db.with_file_name(format!("{zone}export"));
    let (db, out) = (db.to_str().unwrap(), path.to_str().unwrap());
    let mut args = vec!["zone-export", "--db", db, zone, "--output", out];
    args.extend_from_slice(window);
    let (status, stdout, stderr) = dnsledger(&args);
    assert_eq!((status, stdout.as_str()), (0, ""), "{stderr}");
    path
}

/// (owner, type, RRSIG covered type) -> rdata texts: a zone's RRsets as presentation text.
type RRsets = BTreeMap<(String, String, String), BTreeSet<String>>;

/// Reads a master file with the crate the import uses; every entry must parse.
fn rrsets(path: &Path, zone: &str) -> RRsets {
    let mut out = RRsets::new();
    let origin = NameBuf::from_text(zone).unwrap();
    for record in MasterReader::new(&[path.to_path_buf()], origin) {
        let record = record.unwrap_or_else(|e| panic!("{e}"));
        let rdata = rdata_to_text(record.rtype, &record.rdata).unwrap();
        let rtype = type_name(record.rtype).into_owned();
        let covered = match rtype.as_str() {
            "RRSIG" => rdata.split(' ').next().unwrap_or_default().to_string(),
            _ => String::new(),
        };
        out.entry((record.owner.to_text(), rtype, covered))
            .or_default()
            .insert(rdata);
    }
    out
}

/// The delegation data among RRsets: NS and DS RRsets, and A/AAAA of names that NS RRsets
/// name (glue, and the addresses of the zone's own name servers).
fn delegation(all: &RRsets) -> RRsets {
    let targets: BTreeSet<&String> = all
        .iter()
        .filter(|((_, t, _), _)| t == "NS")
        .flat_map(|(_, rdata)| rdata.iter())
        .collect();
    all.iter()
        .filter(|((owner, t, _), _)| match t.as_str() {
            "NS" | "DS" => true,
            "A" | "AAAA" => targets.contains(owner),
            _ => false,
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// named-checkzone must load the file (`-i local`: integrity checks without lookups of
/// names outside the zone, so no network is asked).
fn named_checkzone(zone: &str, path: &Path) {
    let output = Command::new("named-checkzone")
        .args(["-i", "local", zone, path.to_str().unwrap()])
        .output()
        .expect("named-checkzone (Debian bind9-utils; scripts/ensure-deps test installs it)");
    assert!(
        output.status.success(),
        "named-checkzone {zone}: {}{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        std::fs::read_to_string(path).unwrap()
    );
}

#[test]
fn zone_rows_show_zone_times_beside_sensor_rows_in_every_format() {
    let db = scratch_dir("zone_formats").join("db");
    ingest_capture(&db);
    let (status, stderr) = import_zone(&db, "alpha-bank.com.", &zone_file("alpha-bank.com."));
    assert_eq!(status, 0, "{stderr}");
    assert!(
        stderr.contains("alpha-bank.com.: 27 records read, 20 RRsets written in 1 batches"),
        "{stderr}"
    );
    let query = |extra: &[&str]| {
        let mut args = vec![
            "query",
            "--db",
            db.to_str().unwrap(),
            "-r",
            "alpha-bank.com/ANY",
        ];
        args.extend_from_slice(extra);
        let (status, stdout, stderr) = dnsledger(&args);
        assert_eq!(status, 0, "{stderr}");
        stdout
    };
    let text = query(&[]);
    assert!(
        text.contains(";;   zone times: 2025-01-01 00:00:00 .. 2025-01-01 00:00:00 (~0s)\n;; count: 1; bailiwick: alpha-bank.com.\nalpha-bank.com.  NS  ns1.alpha-bank.com.\n"),
        "{text}"
    );
    assert!(text.contains(";; record times: "), "{text}");
    let json = query(&["-j"]);
    let objects: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let zone_rows: Vec<_> = objects
        .iter()
        .filter(|o| o.get("zone_time_first").is_some())
        .collect();
    assert_eq!(zone_rows.len(), 7, "{json}"); // SOA NS A AAAA MX TXT CAA at the apex
    assert!(zone_rows
        .iter()
        .all(|o| o["zone_time_last"] == 1_735_689_600
            && o["count"] == 1
            && o.get("time_first").is_none()));
    assert!(
        objects.iter().any(|o| o.get("time_first").is_some()),
        "{json}"
    );
    let csv = query(&["-p", "csv"]);
    assert!(
        csv.starts_with("time_first,time_last,zone_first,zone_last,count,"),
        "{csv}"
    );
    assert!(
        csv.contains("\n,,\"2025-01-01 00:00:00\",\"2025-01-01 00:00:00\",1,\"alpha-bank.com.\",\"alpha-bank.com.\",\"NS\",\"ns1.alpha-bank.com.\"\n"),
        "{csv}"
    );
    let summary: serde_json::Value =
        serde_json::from_str(query(&["-V", "summarize", "-j"]).trim()).unwrap();
    assert_eq!(summary["zone_time_first"], 1_735_689_600);
    assert_eq!(summary["zone_time_last"], 1_735_689_600);
    assert!(
        summary["time_first"].as_i64().unwrap() > 1_735_689_600,
        "{summary}"
    );
    let summary_text = query(&["-V", "summarize"]);
    assert!(summary_text.contains(";; record times: "), "{summary_text}");
    assert!(summary_text.contains(";;   zone times: 2025-01-01 00:00:00 .. 2025-01-01 00:00:00\n"));
}

#[test]
fn the_same_zone_counts_once_compressed_or_not_and_a_changed_one_moves_zone_time_last() {
    let dir = scratch_dir("zone_exactly_once");
    let db = dir.join("db");
    let original = zone_file("xray-mx.org.");
    assert_eq!(import_zone(&db, "xray-mx.org.", &original).0, 0);
    let packed = dir.join("xray-mx.org.zone.gz");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut encoder, &std::fs::read(&original).unwrap()).unwrap();
    std::fs::write(&packed, encoder.finish().unwrap()).unwrap();
    let (status, stderr) = import_zone(&db, "xray-mx.org.", packed.to_str().unwrap());
    assert_eq!(status, 0, "{stderr}");
    assert!(
        stderr.contains("these files were imported before"),
        "{stderr}"
    );

    let changed = dir.join("changed.zone");
    let text = std::fs::read_to_string(&original).unwrap();
    std::fs::write(&changed, format!("{text}new A 192.0.2.200\n")).unwrap();
    let db_text = db.to_str().unwrap();
    let (status, _, stderr) = dnsledger(&[
        "import-zone",
        "--db",
        db_text,
        "--origin",
        "xray-mx.org",
        "--time",
        "2025-02-01",
        changed.to_str().unwrap(),
    ]);
    assert_eq!(status, 0, "{stderr}");
    let (_, stdout, _) = dnsledger(&["query", "--db", db_text, "-r", "xray-mx.org/NS", "-j"]);
    let row: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(
        (
            &row["count"],
            &row["zone_time_first"],
            &row["zone_time_last"]
        ),
        (&2.into(), &1_735_689_600.into(), &1_738_368_000.into())
    );
}

#[test]
fn dig_axfr_output_imports_as_the_zone_file_does() {
    let dir = scratch_dir("zone_axfr");
    let (from_zone, from_axfr) = (dir.join("zone"), dir.join("axfr"));
    assert_eq!(
        import_zone(&from_zone, "xray-mx.org.", &zone_file("xray-mx.org.")).0,
        0
    );
    let (status, stderr) = import_zone(
        &from_axfr,
        "xray-mx.org.",
        &fixture("zones/xray-mx.org.axfr"),
    );
    assert_eq!(status, 0, "{stderr}");
    assert!(
        stderr.contains("12 records read, 9 RRsets written"),
        "{stderr}"
    );
    let dump = |db: &Path| dnsledger(&["dump", "--db", db.to_str().unwrap()]).1;
    assert_eq!(dump(&from_axfr), dump(&from_zone));
    assert_eq!(dump(&from_zone).lines().count(), 9);
}

#[test]
fn bad_entries_are_reported_with_file_and_line_and_the_rest_is_imported() {
    let dir = scratch_dir("zone_errors");
    let db = dir.join("db");
    let file = dir.join("bad.zone");
    std::fs::write(
        &file,
        "$ORIGIN example.com.\n@ NS ns1\nns1 A 192.0.2.300\nns1 A 192.0.2.1\nelsewhere.org. A 192.0.2.2\n",
    )
    .unwrap();
    let (status, stderr) = import_zone(&db, "example.com", file.to_str().unwrap());
    assert_eq!(status, 3, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "warning: {}:3: bad A rdata: bad presentation text: bad IPv4 address; entry skipped",
            file.display()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("zone.records_outside_zone 1"), "{stderr}");
    assert!(
        stderr.contains("3 records read, 2 RRsets written"),
        "{stderr}"
    );

    let (status, stderr) = import_zone(&db, "example.com", "/nonexistent/zone");
    assert_eq!(status, 1, "{stderr}");
    assert!(
        stderr.contains("/nonexistent/zone: No such file"),
        "{stderr}"
    );
    let (status, _, stderr) = dnsledger(&["import-zone", "--origin", "a..b", "x"]);
    assert_eq!(status, 2, "{stderr}");
    let (status, _, stderr) = dnsledger(&[
        "zone-export",
        "--db",
        db.to_str().unwrap(),
        "never-seen.example.",
    ]);
    assert_eq!(status, 1, "{stderr}");
    assert!(stderr.contains("nothing was observed with bailiwick never-seen.example."));
}

#[test]
fn zone_import_then_export_reproduces_each_testbed_zone_and_its_delegation_data() {
    let db = scratch_dir("zone_round_trip").join("db");
    for zone in ZONES {
        let (status, stderr) = import_zone(&db, zone, &zone_file(zone));
        assert_eq!(status, 0, "{zone}: {stderr}");
    }
    for zone in ZONES {
        let original = rrsets(Path::new(&zone_file(zone)), zone);
        let exported_file = export(&db, zone, &["--at", ZONE_TIME]);
        let exported = rrsets(&exported_file, zone);
        let delegation_data = delegation(&original);
        assert!(delegation_data.keys().any(|(_, t, _)| t == "NS"), "{zone}");
        assert_eq!(delegation(&exported), delegation_data, "{zone}");
        assert_eq!(exported, original, "{zone}");
        named_checkzone(zone, &exported_file);
    }
    // The delegations the TLD files hold: glue beside NS, DS beside NS for signed children.
    let com = rrsets(&db.with_file_name("com.export"), "com.");
    let key = |owner: &str, t: &str| (owner.to_string(), t.to_string(), String::new());
    assert!(com.contains_key(&key("ns1.alpha-bank.com.", "A")));
    let org = rrsets(&db.with_file_name("org.export"), "org.");
    assert!(org.contains_key(&key("oscar-secure.org.", "DS")));
}

#[test]
fn zone_export_from_sensor_history_alone_holds_what_the_capture_saw() {
    let db = scratch_dir("zone_from_sensor").join("db");
    ingest_capture(&db);
    let zone = "alpha-bank.com.";
    let path = export(&db, zone, &[]);
    let exported = rrsets(&path, zone);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("synthesized"), "{text}");
    let mut expected = RRsets::new();
    for line in read_gz_lines(&fixture(EXPECTED)) {
        let row: ExpectedRow = serde_json::from_str(&line).unwrap();
        if row.bailiwick.as_deref() == Some(zone) {
            let key = (row.rrname.clone(), row.rrtype.clone(), String::new());
            expected.insert(key, row.rdata.into_iter().collect());
        }
    }
    assert!(expected.len() > 10);
    assert_eq!(exported, expected);
    let ns = (zone.to_string(), "NS".to_string(), String::new());
    assert_eq!(
        exported[&ns],
        BTreeSet::from([
            "ns1.alpha-bank.com.".to_string(),
            "ns2.alpha-bank.com.".to_string()
        ])
    );
    named_checkzone(zone, &path);
}
