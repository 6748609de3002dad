//! Helpers shared by the binary's integration tests: run the real binary, read fixtures.

#![allow(dead_code)] // each test file uses a different subset

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::Command;

use serde::Deserialize;

pub mod dnstap;
pub mod expect;
pub mod netns;
pub mod router;
pub mod server;

/// Absolute path of a file under the repository's `fixtures/`.
pub fn fixture(relative: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(relative);
    assert!(path.exists(), "fixture missing: {}", path.display());
    path.to_string_lossy().into_owned()
}

/// A fresh directory for one test's files, under the target directory.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn read_gz_lines(path: &str) -> Vec<String> {
    let file = std::fs::File::open(path).unwrap();
    BufReader::new(flate2::read::GzDecoder::new(file))
        .lines()
        .map(Result::unwrap)
        .filter(|l| !l.trim().is_empty())
        .collect()
}

/// One COF line as `dnsledger sensor` writes it.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct CofRow {
    pub rrname: String,
    pub rrtype: String,
    pub rdata: Vec<String>,
    pub bailiwick: Option<String>,
    pub count: u64,
    pub time_first: i64,
    pub time_last: i64,
}

/// One line of the testbed's expected files.
#[derive(Debug, Clone, Deserialize)]
pub struct ExpectedRow {
    pub rrname: String,
    pub rrtype: String,
    pub rdata: Vec<String>,
    pub bailiwick: Option<String>,
    pub count: u64,
    pub time_first: f64,
    pub time_last: f64,
}

/// (rrname, rrtype, bailiwick, sorted rdata): the RRset identity in presentation form.
pub type RowKey = (String, String, String, Vec<String>);

fn key(rrname: &str, rrtype: &str, bailiwick: &str, rdata: &[String]) -> RowKey {
    let mut rdata = rdata.to_vec();
    rdata.sort();
    (
        rrname.to_string(),
        rrtype.to_string(),
        bailiwick.to_string(),
        rdata,
    )
}

impl CofRow {
    pub fn key(&self) -> RowKey {
        key(
            &self.rrname,
            &self.rrtype,
            self.bailiwick.as_deref().unwrap_or(""),
            &self.rdata,
        )
    }
}

impl ExpectedRow {
    pub fn key(&self) -> RowKey {
        key(
            &self.rrname,
            &self.rrtype,
            self.bailiwick.as_deref().unwrap_or(""),
            &self.rdata,
        )
    }
}

pub struct SensorRun {
    pub status: i32,
    pub rows: Vec<CofRow>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `dnsledger sensor ARGS...` and parses its standard output as COF lines.
pub fn run_sensor(args: &[&str]) -> SensorRun {
    let output = Command::new(env!("CARGO_BIN_EXE_dnsledger"))
        .arg("sensor")
        .args(args)
        .output()
        .expect("the dnsledger binary runs");
    let stdout = String::from_utf8(output.stdout).expect("output is UTF-8");
    let rows = stdout
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("bad COF line {line:?}: {e}"))
        })
        .collect();
    SensorRun {
        status: output.status.code().unwrap_or(-1),
        rows,
        stdout,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The shared corpus for the corpus tier: `DNSLEDGER_CORPUS` must name it. Missing = failure,
/// never a skip.
pub fn corpus_dir() -> PathBuf {
    let dir = std::env::var_os("DNSLEDGER_CORPUS")
        .map(PathBuf::from)
        .expect("DNSLEDGER_CORPUS must name the shared corpus (run: scripts/test --corpus DIR)");
    assert!(
        dir.join("testbed").is_dir(),
        "{} has no testbed/",
        dir.display()
    );
    assert!(
        dir.join("public").is_dir(),
        "{} has no public/",
        dir.display()
    );
    dir
}

/// Expected rows of a testbed file, keyed by identity, with (count, first s, last s).
pub fn expected_rows(path: &std::path::Path) -> BTreeMap<RowKey, (u64, i64, i64)> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    expected_rows_from_lines(&lines)
}

/// Expected rows from the lines of a testbed file; times are floored to whole seconds, as
/// COF carries them.
pub fn expected_rows_from_lines(lines: &[String]) -> BTreeMap<RowKey, (u64, i64, i64)> {
    lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|line| serde_json::from_str::<ExpectedRow>(line).unwrap())
        .map(|row| {
            let seen = (
                row.count,
                row.time_first.floor() as i64,
                row.time_last.floor() as i64,
            );
            (row.key(), seen)
        })
        .collect()
}

/// Our rows keyed like [`expected_rows`]; panics if an RRset appears twice.
pub fn our_rows(rows: &[CofRow]) -> BTreeMap<RowKey, (u64, i64, i64)> {
    let map: BTreeMap<_, _> = rows
        .iter()
        .map(|row| (row.key(), (row.count, row.time_first, row.time_last)))
        .collect();
    assert_eq!(map.len(), rows.len(), "an RRset was written more than once");
    map
}

/// Asserts two keyed row sets are equal, showing a few differences of each kind.
pub fn assert_same_rows(
    expected: &BTreeMap<RowKey, (u64, i64, i64)>,
    ours: &BTreeMap<RowKey, (u64, i64, i64)>,
    what: &str,
) {
    let missing: Vec<_> = expected
        .keys()
        .filter(|k| !ours.contains_key(*k))
        .take(5)
        .collect();
    let extra: Vec<_> = ours
        .keys()
        .filter(|k| !expected.contains_key(*k))
        .take(5)
        .collect();
    let differing: Vec<_> = expected
        .iter()
        .filter(|(k, v)| ours.get(*k).is_some_and(|o| o != *v))
        .map(|(k, v)| (k, v, ours[k]))
        .take(5)
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty() && differing.is_empty(),
        "{what}: missing {missing:#?}\nextra {extra:#?}\n(count, first, last) differ (key, expected, ours) {differing:#?}"
    );
}

/// Whether `text` holds `address` as a whole IPv4 address (`127.0.0.2`, not `127.0.0.20` or
/// `10.127.0.0.2`): for checks that an address appears nowhere.
pub fn mentions_address(text: &str, address: &str) -> bool {
    text.match_indices(address).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + address.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_digit() || c == '.')
            && !after.is_some_and(|c| c.is_ascii_digit())
    })
}

/// A private CA and a server certificate it signed for 127.0.0.1 (Debian's openssl): the
/// CA file for the sensor, the certificate and key for the server.
pub fn test_certificates(dir: &std::path::Path) -> (PathBuf, PathBuf, PathBuf) {
    let path = |name: &str| dir.join(name).to_str().unwrap().to_string();
    let (ca, ca_key, cert, key) = (
        path("ca.pem"),
        path("ca.key"),
        path("cert.pem"),
        path("key.pem"),
    );
    let (csr, extensions) = (path("server.csr"), path("server.ext"));
    std::fs::write(
        &extensions,
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    let new_key = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let steps: [Vec<&str>; 3] = [
        [
            &["req", "-x509"][..],
            &new_key,
            &["-subj", "/CN=test-ca", "-days", "1"],
        ]
        .concat(),
        [&["req"][..], &new_key, &["-subj", "/CN=localhost"]].concat(),
        vec![
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
        ],
    ];
    let outputs: [&[&str]; 3] = [
        &["-keyout", &ca_key, "-out", &ca],
        &["-keyout", &key, "-out", &csr],
        &["-days", "1", "-extfile", &extensions, "-out", &cert],
    ];
    for (step, output) in steps.iter().zip(outputs) {
        let run = Command::new("openssl")
            .args(step)
            .args(output)
            .output()
            .expect("openssl (Debian's openssl package) makes the test certificates");
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
    }
    (ca.into(), cert.into(), key.into())
}
