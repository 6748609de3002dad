//! `dnsledger serve` over HTTP on loopback: the DNSDB status codes and framing, path
//! decoding, quotas and their headers, v1, the audit log, metrics, OpenAPI, and answers
//! that stream in flat memory, stop when the client goes and end within their budget.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::time::{Duration, Instant};

use common::scratch_dir;
use common::server::{add_key, run, testbed_store, TestServer};
use serde_json::Value;

/// What a test needs of one response.
struct Answer {
    status: u16,
    body: String,
    headers: Vec<(String, String)>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn lines(&self) -> Vec<Value> {
        self.body
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
            .collect()
    }

    /// The `obj` of every SAF line that has one.
    fn objects(&self) -> Vec<Value> {
        self.lines()
            .into_iter()
            .filter_map(|l| l.get("obj").cloned())
            .collect()
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// GET with the key (if any) in X-API-Key and extra headers.
fn get(url: &str, key: Option<&str>, headers: &[(&str, &str)]) -> Answer {
    let mut request = agent().get(url);
    if let Some(key) = key {
        request = request.header("X-API-Key", key);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut response = request.call().unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    Answer {
        status: response.status().as_u16(),
        body: response.body_mut().read_to_string().unwrap(),
        headers,
    }
}

/// The testbed served with a default key.
fn testbed_server(name: &str) -> (TestServer, String) {
    let db = testbed_store(name);
    let key = add_key(&db, "analyst", &[]);
    (TestServer::start(&db, &[]), key)
}

fn assert_one_plain_line(answer: &Answer, status: u16, context: &str) {
    assert_eq!(answer.status, status, "{context}: {}", answer.body);
    assert!(
        answer
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/plain")),
        "{context}: {:?}",
        answer.headers
    );
    assert!(
        answer.body.ends_with('\n') && answer.body.trim_end().lines().count() == 1,
        "{context}: body {:?} is not one line",
        answer.body
    );
}

#[test]
fn every_refusal_has_its_status_and_a_one_line_reason() {
    let (server, key) = testbed_server("serve-refusals");
    let db = &server.db;
    let revoked = add_key(db, "gone", &[]);
    run(&["keys", "--db", db.to_str().unwrap(), "revoke", "gone"]);
    let expired = add_key(db, "old", &["--expires", "2000-01-01"]);
    let submitter = add_key(db, "sensor", &["--scope", "submit"]);
    let small_offsets = add_key(db, "pager", &["--offset-max", "5"]);
    let url = |path: &str| format!("{}{path}", server.url);
    let lookup = url("/dnsdb/v2/lookup/rrset/name/target-one.com");
    // The keyring is re-read at most once a second: let it see the keys made after start.
    std::thread::sleep(Duration::from_millis(1100));

    for path in [
        "/nope",
        "/dnsdb/v2/lookup/zone/name/x",
        "/dnsdb/v2/lookup/rrset/name",
        "/dnsdb/v3/ping",
    ] {
        assert_one_plain_line(&get(&url(path), Some(&key), &[]), 404, path);
    }
    for path in [
        "/dnsdb/v2/lookup/rrset/name/www.*.com",
        "/dnsdb/v2/lookup/rrset/name/*.example.*",
        "/dnsdb/v2/lookup/rdata/ip/300.1.1.1",
        "/dnsdb/v2/lookup/rdata/ip/192.0.2.1/AAAA",
        "/dnsdb/v2/lookup/rrset/name/x.example/NOTATYPE",
        "/dnsdb/v2/lookup/rdata/raw/abc",
        "/dnsdb/v2/lookup/rrset/name/%FF%FE",
        "/dnsdb/v2/lookup/rrset/name/x.example?limit=ten",
        "/dnsdb/v2/lookup/rrset/name/x.example?time_last_after=soon",
        "/dnsdb/v2/regex/rrnames/(unclosed",
    ] {
        assert_one_plain_line(&get(&url(path), Some(&key), &[]), 400, path);
    }
    assert_one_plain_line(&get(&lookup, None, &[]), 403, "no key");
    assert_one_plain_line(&get(&lookup, Some("dnsl_wrong"), &[]), 403, "bad key");
    assert_one_plain_line(&get(&lookup, Some(&revoked), &[]), 401, "revoked");
    assert_one_plain_line(&get(&lookup, Some(&expired), &[]), 401, "expired");
    assert_one_plain_line(&get(&lookup, Some(&submitter), &[]), 401, "submit scope");
    let csv = get(&lookup, Some(&key), &[("Accept", "text/csv")]);
    assert_one_plain_line(&csv, 415, "Accept: text/csv");
    let far = get(&format!("{lookup}?offset=6"), Some(&small_offsets), &[]);
    assert_one_plain_line(&far, 416, "offset over offset_max");
    assert_eq!(
        get(&format!("{lookup}?offset=5"), Some(&small_offsets), &[]).status,
        200
    );
    let post = agent()
        .post(&lookup)
        .header("X-API-Key", &key)
        .send_empty()
        .unwrap();
    assert_eq!(post.status().as_u16(), 405);
}

#[test]
fn quotas_refuse_with_429_and_report_the_same_numbers() {
    let (server, _) = testbed_server("serve-quotas");
    let daily = add_key(&server.db, "daily", &["--daily", "3"]);
    let burst = add_key(&server.db, "bursty", &["--burst", "2/3600"]);
    std::thread::sleep(Duration::from_millis(1100));
    let lookup = format!("{}/dnsdb/v2/lookup/rrset/name/target-one.com", server.url);
    let rate = |key: &str| {
        get(
            &format!("{}/dnsdb/v2/rate_limit", server.url),
            Some(key),
            &[("Accept", "application/x-ndjson")],
        )
        .lines()[0]["rate"]
            .clone()
    };
    assert_eq!(rate(&daily)["limit"], 3);
    assert_eq!(rate(&daily)["remaining"], 3);
    for remaining in ["2", "1", "0"] {
        let answer = get(&lookup, Some(&daily), &[]);
        assert_eq!(answer.status, 200);
        assert_eq!(answer.header("x-ratelimit-limit"), Some("3"));
        assert_eq!(answer.header("x-ratelimit-remaining"), Some(remaining));
        assert!(answer.header("x-ratelimit-reset").is_some());
    }
    assert_one_plain_line(&get(&lookup, Some(&daily), &[]), 429, "daily");
    assert_eq!(rate(&daily)["remaining"], 0);

    // Refused queries consume nothing: after bad queries, the quota is still whole.
    let fresh = add_key(&server.db, "careful", &["--daily", "1"]);
    std::thread::sleep(Duration::from_millis(1100));
    let bad_form = format!("{}/dnsdb/v2/lookup/rrset/name/www.*.com", server.url);
    let bad_regex = format!("{}/dnsdb/v2/regex/rrnames/(x", server.url);
    assert_eq!(get(&bad_form, Some(&fresh), &[]).status, 400);
    assert_eq!(get(&bad_regex, Some(&fresh), &[]).status, 400);
    assert_eq!(
        get(&format!("{lookup}?limit=x"), Some(&fresh), &[]).status,
        400
    );
    assert_eq!(get(&lookup, Some(&fresh), &[]).status, 200);

    assert_eq!(rate(&burst)["burst_size"], 2);
    assert_eq!(rate(&burst)["burst_window"], 3600);
    assert_eq!(get(&lookup, Some(&burst), &[]).status, 200);
    assert_eq!(get(&lookup, Some(&burst), &[]).status, 200);
    assert_one_plain_line(&get(&lookup, Some(&burst), &[]), 429, "burst");
}

#[test]
fn saf_answers_are_framed_line_by_line() {
    let (server, key) = testbed_server("serve-saf");
    let small = add_key(&server.db, "small", &["--results-max", "3"]);
    std::thread::sleep(Duration::from_millis(1100));
    let v2 = |path: &str| format!("{}/dnsdb/v2/{path}", server.url);

    let answer = get(&v2("lookup/rrset/name/target-one.com/NS"), Some(&key), &[]);
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("content-type"), Some("application/x-ndjson"));
    assert!(answer.body.ends_with("{\"cond\":\"succeeded\"}\n"));
    let lines = answer.lines();
    assert_eq!(lines[0], serde_json::json!({"cond": "begin"}));
    assert_eq!(answer.objects().len(), 2, "{}", answer.body);
    for object in answer.objects() {
        assert!(object["count"].is_u64() && object["time_first"].is_i64());
        assert!(object["rdata"].is_array() && object["bailiwick"].is_string());
    }

    let empty = get(&v2("lookup/rrset/name/nothing.example"), Some(&key), &[]);
    assert_eq!(
        empty.body,
        "{\"cond\":\"begin\"}\n{\"cond\":\"succeeded\"}\n"
    );

    let limited = get(&v2("lookup/rdata/ip/192.0.2.0,24?limit=2"), Some(&key), &[]);
    assert_eq!(limited.objects().len(), 2);
    assert_eq!(limited.lines().last().unwrap()["cond"], "limited");
    assert!(
        limited.objects()[0]["rdata"].is_string(),
        "rdata rows carry one string"
    );

    let capped = get(
        &v2("lookup/rdata/ip/192.0.2.0,24?limit=0"),
        Some(&small),
        &[],
    );
    assert_eq!(capped.objects().len(), 3);
    let end = &capped.lines()[capped.lines().len() - 1];
    assert_eq!(end["cond"], "limited");
    assert!(end["msg"].as_str().unwrap().contains("results_max"));

    let human = get(
        &v2("lookup/rrset/name/target-one.com/NS?humantime=t"),
        Some(&key),
        &[],
    );
    let first = human.objects()[0]["time_first"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        first.len() == 20 && first.ends_with('Z') && first.contains('T'),
        "{first}"
    );

    let summary = get(&v2("summarize/rdata/ip/192.0.2.0,24"), Some(&key), &[]);
    let objects = summary.objects();
    assert_eq!(objects.len(), 1);
    assert!(objects[0]["num_results"].as_u64().unwrap() > 3);
    assert!(objects[0]["count"].as_u64().unwrap() >= objects[0]["num_results"].as_u64().unwrap());
}

#[test]
fn paths_are_split_then_decoded_and_every_accept_clients_send_works() {
    let (server, key) = testbed_server("serve-paths");
    let plain = get(
        &format!(
            "{}/dnsdb/v2/lookup/rrset/name/*.target-one.com/NS",
            server.url
        ),
        Some(&key),
        &[],
    );
    let encoded = get(
        &format!(
            "{}//dnsdb//v2/lookup/rrset/name/%2A.target-one.com/NS/",
            server.url
        ),
        None,
        &[("x-api-key", &key), ("Accept", "application/x-ndjson")],
    );
    assert_eq!(plain.status, 200);
    assert_eq!(plain.body, encoded.body);
    assert!(plain.objects().len() >= 2, "{}", plain.body);
    for accept in ["application/json", "*/*", "text/html, */*;q=0.8"] {
        let answer = get(
            &format!("{}/dnsdb/v2/lookup/rrset/name/target-one.com", server.url),
            Some(&key),
            &[("Accept", accept)],
        );
        assert_eq!(answer.status, 200, "Accept: {accept}");
    }
    let ping = get(&format!("{}/dnsdb/v2/ping", server.url), None, &[]);
    assert_eq!(ping.body, "{\"ping\":\"ok\"}\n");
}

#[test]
fn v1_paths_answer_bare_lines_and_404_when_nothing_matches() {
    let (server, key) = testbed_server("serve-v1");
    let found = get(
        &format!("{}/lookup/rrset/name/target-one.com/NS", server.url),
        Some(&key),
        &[("Accept", "application/json")],
    );
    assert_eq!(found.status, 200);
    let lines = found.lines();
    assert_eq!(lines.len(), 2, "{}", found.body);
    assert!(lines
        .iter()
        .all(|l| l["rrname"] == "target-one.com." && l.get("cond").is_none()));
    let missing = get(
        &format!("{}/lookup/rrset/name/nothing.example", server.url),
        Some(&key),
        &[],
    );
    assert_one_plain_line(&missing, 404, "v1 empty");
}

#[test]
fn the_audit_log_and_metrics_record_each_query() {
    let (server, key) = testbed_server("serve-audit");
    let lookup = format!(
        "{}/dnsdb/v2/lookup/rrset/name/target-one.com/NS",
        server.url
    );
    assert_eq!(get(&lookup, Some(&key), &[]).status, 200);
    assert_eq!(
        get(&format!("{lookup}?limit=x"), Some(&key), &[]).status,
        400
    );
    // The audit line of a stream is written as it ends, just after the last byte.
    std::thread::sleep(Duration::from_millis(300));
    let audit = std::fs::read_to_string(server.db.join("audit/audit.log")).unwrap();
    let entries: Vec<Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ok = entries
        .iter()
        .find(|e| e["status"] == 200)
        .expect("the 200 is audited");
    assert_eq!(ok["key"], "analyst");
    assert_eq!(ok["endpoint"], "dnsdb_lookup");
    assert_eq!(ok["rows"], 2);
    assert!(ok["query"].as_str().unwrap().contains("target-one.com/NS"));
    assert!(entries.iter().any(|e| e["status"] == 400));

    let metrics = get(&format!("{}/metrics", server.url), None, &[]).body;
    assert!(
        metrics
            .contains("dnsledger_http_requests_total{endpoint=\"dnsdb_lookup\",status=\"200\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("dnsledger_rows_streamed_total{endpoint=\"dnsdb_lookup\"} 2"));
    assert!(metrics.contains("dnsledger_http_request_duration_seconds_bucket"));
    assert!(metrics.contains("dnsledger_store_estimated_keys{column_family=\"rrset\"}"));
}

#[test]
fn openapi_describes_the_served_paths() {
    let (server, _) = testbed_server("serve-openapi");
    let document: Value =
        serde_json::from_str(&get(&format!("{}/openapi.json", server.url), None, &[]).body)
            .unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    let paths = document["paths"].as_object().unwrap();
    for path in [
        "/dnsdb/v2/{verb}/rrset/name/{owner}",
        "/dnsdb/v2/{verb}/rdata/ip/{ip}",
        "/dnsdb/v2/{method}/{target}/{expr}",
        "/dnsdb/v2/rate_limit",
        "/pdns/query/{value}",
        "/metrics",
    ] {
        assert!(paths.contains_key(path), "{path} missing");
    }
}

/// Names in the big store: `n{i}.big.example.` with one A record each.
const BIG_ROWS: usize = 1_000_000;

/// A store with BIG_ROWS RRsets under big.example, ingested from COF.
fn big_store(name: &str) -> std::path::PathBuf {
    let dir = scratch_dir(name);
    let cof = dir.join("big.cof");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&cof).unwrap());
    for i in 0..BIG_ROWS {
        writeln!(
            out,
            "{{\"rrname\":\"n{i}.big.example.\",\"rrtype\":\"A\",\"rdata\":[\"10.{}.{}.{}\"],\"bailiwick\":\"big.example.\",\"count\":1,\"time_first\":1700000000,\"time_last\":1700000100}}",
            i >> 16 & 255,
            i >> 8 & 255,
            i & 255
        )
        .unwrap();
    }
    out.flush().unwrap();
    drop(out);
    let db = dir.join("db");
    let (status, _, stderr) = run(&[
        "ingest",
        "--db",
        db.to_str().unwrap(),
        cof.to_str().unwrap(),
    ]);
    assert_eq!(status, 0, "{stderr}");
    std::fs::remove_file(&cof).unwrap();
    db
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// A streamed GET, left open: the caller reads as it likes.
fn open_stream(url: &str, key: &str) -> (u16, BufReader<impl std::io::Read>) {
    let response = agent().get(url).header("X-API-Key", key).call().unwrap();
    let status = response.status().as_u16();
    (status, BufReader::new(response.into_body().into_reader()))
}

fn metric(server: &TestServer, line_start: &str) -> Option<u64> {
    let text = get(&format!("{}/metrics", server.url), None, &[]).body;
    text.lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[test]
fn a_million_row_answer_streams_in_flat_memory_and_stops_when_the_client_goes() {
    let db = big_store("serve-big");
    let key = add_key(&db, "bulk", &[]);
    let single = add_key(&db, "single", &["--concurrent", "1"]);
    let server = TestServer::start(&db, &[]);
    let everything = format!(
        "{}/dnsdb/v2/lookup/rrset/name/*.big.example/A?limit=0",
        server.url
    );
    let baseline = rss_kib(server.pid());

    let started = Instant::now();
    let (status, mut reader) = open_stream(&everything, &key);
    assert_eq!(status, 200);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    reader.read_line(&mut line).unwrap();
    let first_row = started.elapsed();
    assert!(line.contains("\"obj\""), "{line}");
    let (mut rows, mut peak, mut last) = (1u64, baseline, String::new());
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap() == 0 {
            break;
        }
        if line.starts_with("{\"obj\"") {
            rows += 1;
            if rows % 100_000 == 0 {
                peak = peak.max(rss_kib(server.pid()));
            }
        } else {
            last = line.clone();
        }
    }
    let total = started.elapsed();
    assert_eq!(rows, BIG_ROWS as u64);
    assert_eq!(last, "{\"cond\":\"succeeded\"}\n");
    assert!(
        first_row * 20 < total,
        "the first row came after {first_row:?} of {total:?}: not streamed"
    );
    // A buffered answer would hold ~150 MB here; the stream holds a few chunks.
    assert!(
        peak.saturating_sub(baseline) < 64 * 1024,
        "server memory grew from {baseline} KiB to {peak} KiB"
    );

    // A client that reads one line and goes: the scan stops, counted as disconnected.
    let (_, mut reader) = open_stream(&everything, &key);
    reader.read_line(&mut line).unwrap();
    drop(reader);
    let disconnected =
        "dnsledger_streams_ended_total{endpoint=\"dnsdb_lookup\",end=\"disconnected\"}";
    let deadline = Instant::now() + Duration::from_secs(10);
    while metric(&server, disconnected) != Some(1) {
        assert!(Instant::now() < deadline, "the abandoned scan did not stop");
        std::thread::sleep(Duration::from_millis(100));
    }

    // One request in flight for a --concurrent 1 key: the second is refused with 503.
    let (_, mut held) = open_stream(&everything, &single);
    held.read_line(&mut line).unwrap();
    let second = get(&everything, Some(&single), &[]);
    assert_one_plain_line(&second, 503, "concurrency");
    drop(held);

    // A second server on the same store with a one-second budget: a client that stalls
    // past it gets the rest of the answer and then `failed`, never a silent cut.
    let strict = TestServer::start(&db, &["--query-timeout", "1"]);
    let (status, mut reader) = open_stream(&everything.replace(&server.url, &strict.url), &key);
    assert_eq!(status, 200);
    reader.read_line(&mut line).unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let last = reader.lines().map(Result::unwrap).last().unwrap();
    let last: Value = serde_json::from_str(&last).unwrap();
    assert_eq!(last["cond"], "failed", "{last}");
    assert!(last["msg"].as_str().unwrap().contains("time budget"));
}

#[test]
fn an_ingest_running_beside_the_server_shows_up_within_seconds() {
    let (server, key) = testbed_server("serve-beside-ingest");
    let lookup = format!("{}/dnsdb/v2/lookup/rrset/name/fresh.example", server.url);
    assert!(get(&lookup, Some(&key), &[]).objects().is_empty());
    let cof = scratch_dir("serve-beside-ingest-input").join("fresh.cof");
    std::fs::write(
        &cof,
        "{\"rrname\":\"fresh.example.\",\"rrtype\":\"A\",\"rdata\":[\"192.0.2.99\"],\"bailiwick\":\"example.\",\"count\":5,\"time_first\":1700000000,\"time_last\":1700000500}\n",
    )
    .unwrap();
    let (status, _, stderr) = run(&[
        "ingest",
        "--db",
        server.db.to_str().unwrap(),
        cof.to_str().unwrap(),
    ]);
    assert_eq!(status, 0, "{stderr}");
    let written = Instant::now();
    loop {
        let objects = get(&lookup, Some(&key), &[]).objects();
        if let Some(row) = objects.first() {
            assert_eq!(row["count"], 5);
            break;
        }
        assert!(
            written.elapsed() < Duration::from_secs(3),
            "the ingested row was not served within 3 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn tls_serves_the_same_api_over_https() {
    let dir = scratch_dir("serve-tls");
    let (cert, key_file) = (dir.join("cert.pem"), dir.join("key.pem"));
    let openssl = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ])
        .args([
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-days",
            "1",
        ])
        .arg("-keyout")
        .arg(&key_file)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl (Debian's openssl package) makes the test certificate");
    assert!(
        openssl.status.success(),
        "{}",
        String::from_utf8_lossy(&openssl.stderr)
    );
    let db = testbed_store("serve-tls-store");
    let api_key = add_key(&db, "tls", &[]);
    let server = TestServer::start(
        &db,
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key_file.to_str().unwrap(),
        ],
    );
    assert!(server.url.starts_with("https://"), "{}", server.url);
    let curl = std::process::Command::new("curl")
        .args(["-sS", "--cacert", cert.to_str().unwrap(), "-H"])
        .arg(format!("X-API-Key: {api_key}"))
        .arg(format!(
            "{}/dnsdb/v2/lookup/rrset/name/target-one.com/NS",
            server.url
        ))
        .output()
        .expect("curl");
    let body = String::from_utf8_lossy(&curl.stdout);
    assert!(
        curl.status.success(),
        "{}",
        String::from_utf8_lossy(&curl.stderr)
    );
    assert!(
        body.starts_with("{\"cond\":\"begin\"}\n") && body.ends_with("{\"cond\":\"succeeded\"}\n"),
        "{body}"
    );
    let plain_http = std::process::Command::new("curl")
        .args(["-sS", "--max-time", "5"])
        .arg(server.url.replace("https://", "http://") + "/dnsdb/v2/ping")
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&plain_http.stdout).contains("ok"),
        "plain HTTP answered on the TLS port"
    );
}

#[test]
fn query_with_server_prints_what_the_local_query_prints() {
    let (server, key) = testbed_server("serve-remote-cli");
    let db = server.db.to_str().unwrap().to_string();
    let batch = scratch_dir("serve-remote-cli-batch").join("queries");
    std::fs::write(
        &batch,
        "rrset/name/target-one.com/NS\nrdata/ip/192.0.2.0,24\n",
    )
    .unwrap();
    let cases: [&[&str]; 9] = [
        &["-r", "target-one.com/NS"],
        &["-r", "*.papa-signed.org", "-t", "ANY-DNSSEC", "-j"],
        &["-r", "target-one.com", "-b", "com", "-p", "csv"],
        &["-i", "192.0.2.0/24", "-l", "3"],
        &["-n", "ns1.oscar-secure.org", "-p", "minimal"],
        &["-r", "*.com", "-V", "summarize"],
        &[
            "-i",
            "192.0.2.0/24",
            "-s",
            "-k",
            "count,name",
            "-j",
            "-A",
            "2020-01-01",
        ],
        &["-N", "c000020a"],
        &["-f", batch.to_str().unwrap()],
    ];
    for case in cases {
        let mut local = vec!["query", "--db", &db];
        local.extend_from_slice(case);
        let mut remote = vec!["query", "--server", &server.url, "--key", &key];
        remote.extend_from_slice(case);
        let (local_status, local_out, local_err) = run(&local);
        let (remote_status, remote_out, remote_err) = run(&remote);
        assert_eq!(local_status, 0, "{case:?}: {local_err}");
        assert_eq!(remote_status, 0, "{case:?}: {remote_err}");
        assert!(!local_out.is_empty(), "{case:?} found nothing");
        assert_eq!(local_out, remote_out, "{case:?}");
        assert_eq!(
            local_err.contains("limited"),
            remote_err.contains("limited"),
            "{case:?}: {local_err} / {remote_err}"
        );
    }
    let (status, _, stderr) = run(&[
        "query",
        "--server",
        &server.url,
        "--key",
        "dnsl_nope",
        "-r",
        "x.example",
    ]);
    assert_eq!(status, 1);
    assert!(stderr.contains("403"), "{stderr}");
    let (status, _, stderr) = run(&[
        "query",
        "--server",
        &server.url,
        "--key",
        &key,
        "-r",
        "www.*.example",
    ]);
    assert_eq!(status, 2, "{stderr}");
}

#[test]
fn a_zone_is_served_as_a_master_file_rebuilt_from_history() {
    let (server, key) = testbed_server("serve-zone");
    let zone = |query: &str| {
        get(
            &format!("{}/api/v1/zone/alpha-bank.com{query}", server.url),
            Some(&key),
            &[],
        )
    };
    let whole = zone("");
    assert_eq!(whole.status, 200, "{}", whole.body);
    assert!(whole
        .header("content-type")
        .is_some_and(|t| t.starts_with("text/dns")));
    assert!(
        whole.body.contains("$ORIGIN alpha-bank.com."),
        "{}",
        whole.body
    );
    assert!(whole.body.contains("NS"), "{}", whole.body);
    assert!(!whole.body.contains("; incomplete"), "{}", whole.body);
    let long_ago = zone("?at=2000-01-01");
    assert_one_plain_line(&long_ago, 404, "nothing seen in 2000");
    assert_one_plain_line(
        &zone("?from=2030-01-01&to=2020-01-01"),
        400,
        "from after to",
    );
    assert_one_plain_line(&zone("?at=yesterday-ish"), 400, "bad time");
    let missing = get(
        &format!("{}/api/v1/zone/nothing.example", server.url),
        Some(&key),
        &[],
    );
    assert_one_plain_line(&missing, 404, "unknown zone");
    let (status, cli, stderr) = run(&[
        "zone-export",
        "--db",
        server.db.to_str().unwrap(),
        "alpha-bank.com",
    ]);
    assert_eq!(status, 0, "{stderr}");
    assert_eq!(
        whole.body, cli,
        "the API and zone-export write the same file"
    );
}

#[test]
fn the_server_stops_cleanly_on_sigterm() {
    let (server, _) = testbed_server("serve-sigterm");
    let pid = server.pid() as i32;
    // SAFETY: signalling our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = server
        .wait(Duration::from_secs(15))
        .expect("the server did not stop on SIGTERM");
    assert!(status.success(), "{status:?}");
}
