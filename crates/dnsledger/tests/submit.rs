//! Submission end to end: `dnsledger sensor --output http(s)://...` into `dnsledger serve
//! --accept-submissions`, through outages, replays and resends, must end with exactly the
//! store a local `ingest` of the same capture makes; and the endpoint's refusals.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::server::{add_key, run, testbed_store, TestServer};
use common::{fixture, scratch_dir, test_certificates};

const CAPTURE: &str = "testbed/run3_attack.resolver_auth.pcap.gz";
/// Small flushes: the capture becomes a few dozen batches, so order and resends matter.
const MAX_RRSETS: &str = "60";

/// `dnsledger dump` of a store (it reads beside a running writer).
fn dump(db: &Path) -> String {
    let (status, stdout, stderr) = run(&["dump", "--db", db.to_str().unwrap()]);
    assert_eq!(status, 0, "dump failed: {stderr}");
    stdout
}

/// What every submission must end with: the rows of a local ingest of the capture.
fn expected_rows(name: &str) -> String {
    let rows = dump(&testbed_store(name));
    assert_eq!(rows.lines().count(), 812);
    rows
}

/// A store with a submit key made before the server starts (keys are re-read only once a
/// second); the key in a file, as sensors take it.
fn store_with_submit_key(dir: &Path) -> (PathBuf, PathBuf) {
    let db = dir.join("db");
    let key = add_key(&db, "tap", &["--scope", "submit"]);
    let key_file = dir.join("submit.key");
    std::fs::write(&key_file, format!("{key}\n")).unwrap();
    (db, key_file)
}

/// `dnsledger sensor` reading the capture (or `-`) and submitting to `url`.
fn sensor_command(
    input: &str,
    url: &str,
    key_file: &Path,
    spool: &Path,
    extra: &[&str],
) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dnsledger"));
    command
        .args(["sensor", "--read", input, "--root-hints"])
        .arg(fixture("testbed/root.hints"))
        .args(["--max-rrsets", MAX_RRSETS, "--sensor-id", "tap-1"])
        .args(["--output", url, "--key-file"])
        .arg(key_file)
        .arg("--spool")
        .arg(spool)
        .args(extra);
    command
}

/// Runs it to the end: (status, stderr).
fn run_sensor(url: &str, key_file: &Path, spool: &Path, extra: &[&str]) -> (i32, String) {
    let output = sensor_command(&fixture(CAPTURE), url, key_file, spool, extra)
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The value of a `submit.NAME VALUE` line of a report (0 when absent: zeros are not printed).
fn counter(report: &str, name: &str) -> u64 {
    report
        .lines()
        .find_map(|line| line.strip_prefix(&format!("submit.{name} ")))
        .map_or(0, |v| v.trim().parse().unwrap())
}

/// Batches waiting in a spool directory.
fn spooled(spool: &Path) -> usize {
    std::fs::read_dir(spool)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension() == Some("batch".as_ref()))
        .count()
}

/// A loopback address where nothing listens (a server that is down).
fn free_address() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

#[test]
fn a_sensor_submits_over_https_and_the_store_equals_a_local_ingest() {
    let expected = expected_rows("submit-https-expected");
    let dir = scratch_dir("submit-https");
    let (ca, cert, tls_key) = test_certificates(&dir);
    let (db, key_file) = store_with_submit_key(&dir);
    let server = TestServer::start(
        &db,
        &[
            "--accept-submissions",
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            tls_key.to_str().unwrap(),
        ],
    );
    assert!(server.url.starts_with("https://"), "{}", server.url);
    let spool = dir.join("spool");
    let (status, report) = run_sensor(
        &server.url,
        &key_file,
        &spool,
        &["--ca-cert", ca.to_str().unwrap()],
    );
    assert_eq!(status, 0, "{report}");
    assert!(counter(&report, "batches_sent") > 10, "{report}");
    assert_eq!(counter(&report, "batches_spooled"), 0, "{report}");
    let flushed: u64 = report
        .lines()
        .find_map(|l| l.strip_prefix("sensor.rrsets_flushed "))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(counter(&report, "observations_sent"), flushed, "{report}");
    assert_eq!(spooled(&spool), 0);
    assert_eq!(dump(&db), expected);
}

#[test]
fn batches_spooled_while_the_server_is_down_are_replayed_once_and_resends_count_once() {
    let expected = expected_rows("submit-replay-expected");
    let dir = scratch_dir("submit-replay");
    let (db, key_file) = store_with_submit_key(&dir);
    let spool = dir.join("spool");
    let down = format!("http://{}", free_address());
    let (status, report) = run_sensor(&down, &key_file, &spool, &["--drain-timeout", "0"]);
    assert_eq!(
        status, 0,
        "spooled batches are safe, not an error: {report}"
    );
    let batches = spooled(&spool);
    assert!(batches > 10, "{batches} batches spooled: {report}");
    assert_eq!(counter(&report, "batches_spooled"), batches as u64);
    assert!(report.contains("wait in the spool"), "{report}");
    // Kept aside: the same batches again later, as if their deletion had been lost.
    let copies = dir.join("copies");
    copy_batches(&spool, &copies);

    let server = TestServer::start(&db, &["--accept-submissions"]);
    let replay = |spool: &Path| {
        let (status, _, stderr) = run(&[
            "submit",
            "--server",
            &server.url,
            "--spool",
            spool.to_str().unwrap(),
            "--key-file",
            key_file.to_str().unwrap(),
        ]);
        (status, stderr)
    };
    let (status, report) = replay(&spool);
    assert_eq!(status, 0, "{report}");
    assert_eq!(
        counter(&report, "batches_replayed"),
        batches as u64,
        "{report}"
    );
    assert_eq!(counter(&report, "batches_duplicate"), 0, "{report}");
    assert_eq!(spooled(&spool), 0);
    assert_eq!(dump(&db), expected);

    copy_batches(&copies, &spool);
    let (status, report) = replay(&spool);
    assert_eq!(status, 0, "{report}");
    assert_eq!(
        counter(&report, "batches_duplicate"),
        batches as u64,
        "{report}"
    );
    assert_eq!(counter(&report, "observations_sent"), 0, "{report}");
    assert_eq!(dump(&db), expected, "a resent batch was counted twice");
}

fn copy_batches(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        if path.extension() == Some("batch".as_ref()) {
            std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
        }
    }
}

/// The issue's check: a server stopped for a while mid-run (here a few seconds) and the
/// sensor still ends with the same store. The sensor reads the capture from a pipe, so the
/// outage falls between its flushes.
#[test]
fn a_server_outage_mid_run_loses_nothing_and_counts_nothing_twice() {
    let expected = expected_rows("submit-outage-expected");
    let dir = scratch_dir("submit-outage");
    let (db, key_file) = store_with_submit_key(&dir);
    let address = free_address();
    let server = TestServer::start_on(&db, &address, &["--accept-submissions"]);
    let pcap = decompressed_capture();
    let spool = dir.join("spool");
    let mut sensor = sensor_command("-", &server.url, &key_file, &spool, &[])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = sensor.stdin.take().unwrap();
    let third = pcap.len() / 3;
    input.write_all(&pcap[..third]).unwrap();
    input.flush().unwrap();
    wait_for_batches(&server.url, 1);

    drop(server);
    input.write_all(&pcap[third..2 * third]).unwrap();
    input.flush().unwrap();
    wait_until_spooled(&spool);
    std::thread::sleep(Duration::from_secs(2));
    let server = TestServer::start_on(&db, &address, &["--accept-submissions"]);
    input.write_all(&pcap[2 * third..]).unwrap();
    drop(input);

    let mut report = String::new();
    sensor
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut report)
        .unwrap();
    let status = sensor.wait().unwrap();
    assert!(status.success(), "{report}");
    assert!(counter(&report, "batches_spooled") > 0, "{report}");
    assert!(counter(&report, "batches_replayed") > 0, "{report}");
    assert_eq!(counter(&report, "batches_left_in_spool"), 0, "{report}");
    assert_eq!(spooled(&spool), 0);
    assert_eq!(dump(&server.db), expected);
}

fn decompressed_capture() -> Vec<u8> {
    let mut pcap = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(fixture(CAPTURE)).unwrap())
        .read_to_end(&mut pcap)
        .unwrap();
    pcap
}

/// Waits until the server has acknowledged `n` batches (its request metrics say so).
fn wait_for_batches(url: &str, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let pattern = "endpoint=\"api_submit\",status=\"200\"";
    loop {
        let metrics = ureq::get(&format!("{url}/metrics"))
            .call()
            .unwrap()
            .into_body()
            .read_to_string()
            .unwrap();
        let done: u64 = metrics
            .lines()
            .filter(|l| l.contains(pattern) && l.starts_with("dnsledger_http_requests_total"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum();
        if done >= n {
            return;
        }
        assert!(Instant::now() < deadline, "no batch arrived:\n{metrics}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn wait_until_spooled(spool: &Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while spooled(spool) == 0 {
        assert!(
            Instant::now() < deadline,
            "nothing was spooled during the outage"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_endpoint_refuses_wrong_keys_bad_batches_and_bombs_and_records_each_batch_once() {
    let dir = scratch_dir("submit-endpoint");
    let (db, key_file) = store_with_submit_key(&dir);
    let submit_key = std::fs::read_to_string(&key_file)
        .unwrap()
        .trim()
        .to_string();
    let query_key = add_key(&db, "analyst", &[]);
    let server = TestServer::start(&db, &["--accept-submissions"]);
    let submit = |key: &str, id: &str, encoding: &str, body: &[u8]| {
        let headers = [
            ("X-API-Key", key),
            ("X-Batch-Id", id),
            ("Content-Encoding", encoding),
        ];
        post(&server.url, &headers, body)
    };
    let line = |count: u64| {
        format!(
            "{{\"rrname\":\"www.example.\",\"rrtype\":\"A\",\"rdata\":[\"192.0.2.1\"],\
             \"bailiwick\":\"example.\",\"count\":{count},\"time_first\":100,\"time_last\":200}}\n"
        )
    };

    let batch = gzip(line(3).as_bytes());
    assert_eq!(
        submit(&query_key, "tap-1/1", "gzip", &batch).0,
        401,
        "a query key cannot submit"
    );
    assert_eq!(submit("dnsl_unknown", "tap-1/1", "gzip", &batch).0, 403);
    let (status, body) = submit(&submit_key, "tap-1/1", "gzip", &batch);
    assert_eq!(
        (status, body.as_str()),
        (
            200,
            "{\"accepted\":1,\"batch\":\"tap-1/1\",\"duplicate\":false}\n"
        )
    );
    let (status, body) = submit(&submit_key, "tap-1/1", "gzip", &batch);
    assert_eq!(
        (status, body.as_str()),
        (
            200,
            "{\"accepted\":1,\"batch\":\"tap-1/1\",\"duplicate\":true}\n"
        )
    );
    let row = dump(&db);
    assert!(
        row.contains("\"count\":3,"),
        "the duplicate was counted: {row}"
    );

    let bad = format!("{}{{\"rrname\":\"x.\",\"rrtype\":\"A\"}}\n", line(1));
    let (status, body) = submit(&submit_key, "tap-1/2", "identity", bad.as_bytes());
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("line 2"), "{body}");
    let (status, body) = submit(&submit_key, "tap-1/2", "", line(1).as_bytes());
    assert_eq!(
        (status, body.contains("\"duplicate\":false")),
        (200, true),
        "{body}"
    );
    assert!(dump(&db).contains("\"count\":4,"));

    assert_eq!(submit(&submit_key, "tap-1/3", "br", &batch).0, 415);
    assert_eq!(submit(&submit_key, "tap-1/03", "gzip", &batch).0, 400);
    assert_eq!(submit(&submit_key, "tap-1/3", "gzip", b"not gzip").0, 400);
    let (status, body) = submit(&submit_key, "tap-1/3", "gzip", &gzip_bomb());
    assert_eq!(status, 413, "{body}");
    assert_eq!(
        ureq::get(&format!("{}/api/v1/submit", server.url))
            .config()
            .http_status_as_error(false)
            .build()
            .call()
            .unwrap()
            .status()
            .as_u16(),
        405
    );

    let (status, _, stderr) = run(&["ingest", "--db", db.to_str().unwrap(), &fixture(CAPTURE)]);
    assert_ne!(
        status, 0,
        "an ingest ran beside the writing server: {stderr}"
    );

    // Without --accept-submissions the server reads the store and says how to change that.
    let reader_dir = scratch_dir("submit-endpoint-reader");
    let (reader_db, reader_key_file) = store_with_submit_key(&reader_dir);
    let reader_key = std::fs::read_to_string(&reader_key_file).unwrap();
    let reader = TestServer::start(&reader_db, &[]);
    let (status, body) = post_to(&reader.url, reader_key.trim(), &batch);
    assert_eq!(status, 503);
    assert!(body.contains("--accept-submissions"), "{body}");
}

fn post_to(url: &str, key: &str, body: &[u8]) -> (u16, String) {
    post(
        url,
        &[
            ("X-API-Key", key),
            ("X-Batch-Id", "t/1"),
            ("Content-Encoding", "gzip"),
        ],
        body,
    )
}

/// POSTs to `/api/v1/submit` with these headers (empty values left out): (status, body).
fn post(url: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String) {
    let mut request = ureq::post(&format!("{url}/api/v1/submit"))
        .config()
        .http_status_as_error(false)
        .build();
    for (name, value) in headers.iter().filter(|(_, v)| !v.is_empty()) {
        request = request.header(*name, *value);
    }
    let mut response = request.send(body).unwrap();
    let status = response.status().as_u16();
    (
        status,
        response.body_mut().read_to_string().unwrap_or_default(),
    )
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// About 1 MB that inflates to 1 GiB: 64 gzip members of 16 MiB of newlines each.
fn gzip_bomb() -> Vec<u8> {
    gzip(&vec![b'\n'; 16 << 20]).repeat(64)
}

#[test]
fn db_output_writes_a_local_store() {
    let expected = expected_rows("submit-db-expected");
    let db = scratch_dir("submit-db").join("db");
    let (status, _, stderr) = run(&[
        "sensor",
        "--read",
        &fixture(CAPTURE),
        "--root-hints",
        &fixture("testbed/root.hints"),
        "--max-rrsets",
        MAX_RRSETS,
        "--output",
        &format!("db:{}", db.display()),
    ]);
    assert_eq!(status, 0, "{stderr}");
    assert_eq!(dump(&db), expected);
}
