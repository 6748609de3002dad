//! Newly observed domains and names (issue 8, item 3): the testbed's captures replayed
//! twice into one store through `dnsledger sensor --output db:`, with `dnsledger serve`
//! restarted in between. The feed must announce each registered domain and each owner name
//! exactly once, all in the first replay; what it must announce comes from the testbed's
//! expected RRsets, never from the store.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::time::{Duration, Instant};

use common::server::{add_key, http_get, run, TestServer};
use common::{fixture, read_gz_lines, scratch_dir, ExpectedRow};
use serde_json::Value;

/// The testbed's captures, each with the RRsets it must yield.
const CAPTURES: [(&str, &str); 2] = [
    (
        "testbed/run3_attack.resolver_auth.pcap.gz",
        "testbed/run3_attack.resolver_auth.rrsets.jsonl.gz",
    ),
    (
        "testbed/run1_qmin_on.resolver.dnstap.gz",
        "testbed/run1_qmin_on.dnstap.rrsets.jsonl.gz",
    ),
];
/// How long the server may take to see what a writer wrote (it catches up every 250 ms).
const SEE_TIMEOUT: Duration = Duration::from_secs(30);

fn expected_rows() -> Vec<ExpectedRow> {
    CAPTURES
        .iter()
        .flat_map(|(_, expected)| read_gz_lines(&fixture(expected)))
        .map(|line| serde_json::from_str(&line).unwrap())
        .collect()
}

/// Each name the feed must announce, by (kind, name), with the expected rows it may cite.
fn expected_announcements(rows: &[ExpectedRow]) -> BTreeMap<(String, String), Vec<&ExpectedRow>> {
    let mut expected: BTreeMap<(String, String), Vec<&ExpectedRow>> = BTreeMap::new();
    for row in rows {
        let name = row.rrname.to_ascii_lowercase();
        if let Some(domain) = dnsledger_psl::registered_domain(&name) {
            expected
                .entry(("domain".into(), domain.to_string()))
                .or_default()
                .push(row);
        }
        expected.entry(("name".into(), name)).or_default().push(row);
    }
    expected
}

/// Writes every capture into the store, as a sensor writing to it does.
fn replay(db: &Path) {
    let output = format!("db:{}", db.display());
    for (capture, _) in CAPTURES {
        let (status, _, stderr) = run(&[
            "sensor",
            "--root-hints",
            &fixture("testbed/root.hints"),
            "--read",
            &fixture(capture),
            "--output",
            &output,
        ]);
        assert_eq!(status, 0, "replaying {capture}: {stderr}");
    }
}

/// One name none of the captures has, written after a replay: once the server shows it,
/// it has seen everything written before it.
fn write_sentinel(db: &Path, dir: &Path, n: u32) -> String {
    let name = format!("sentinel{n}.novelty-check.example.");
    let file = dir.join(format!("sentinel{n}.jsonl"));
    let line = serde_json::json!({"rrname": name, "rrtype": "A", "rdata": ["192.0.2.99"],
        "bailiwick": "example.", "time_first": 1_700_000_000 + n, "time_last": 1_700_000_000 + n, "count": 1});
    std::fs::write(&file, format!("{line}\n")).unwrap();
    let (status, _, stderr) = run(&[
        "ingest",
        "--db",
        db.to_str().unwrap(),
        file.to_str().unwrap(),
    ]);
    assert_eq!(status, 0, "{stderr}");
    name
}

/// The whole log as the server streams it (NDJSON, not following).
fn feed(server: &TestServer, key: &str, query: &str) -> Vec<Value> {
    let url = format!(
        "{}/api/v1/stream/new?format=ndjson&follow=false{query}",
        server.url
    );
    let (status, body) = http_get(&url, Some(key));
    assert_eq!(status, 200, "{body}");
    body.lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line:?}: {e}")))
        .collect()
}

/// The log once the server shows `sentinel` in it.
fn feed_through(server: &TestServer, key: &str, sentinel: &str) -> Vec<Value> {
    let deadline = Instant::now() + SEE_TIMEOUT;
    loop {
        let events = feed(server, key, "");
        if events.iter().any(|e| e["name"] == sentinel) {
            return events;
        }
        assert!(
            Instant::now() < deadline,
            "the server never showed {sentinel}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn key_of(event: &Value) -> (String, String) {
    (
        event["kind"].as_str().unwrap().to_string(),
        event["name"].as_str().unwrap().to_string(),
    )
}

/// Checks each event against the expected rows it may cite: its first rdata, type,
/// bailiwick and first-seen time are those of one expected RRset of that name.
fn assert_cites_an_expected_rrset(event: &Value, rows: &[&ExpectedRow]) {
    let mut rdata: Vec<String> = event["rdata"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_string())
        .collect();
    rdata.sort();
    let cited = rows.iter().any(|row| {
        let mut expected = row.rdata.clone();
        expected.sort();
        row.rrname
            .eq_ignore_ascii_case(event["rrname"].as_str().unwrap())
            && row.rrtype == event["rrtype"]
            && row.bailiwick.as_deref() == event["bailiwick"].as_str()
            && expected == rdata
            && row.time_first.floor() as i64 == event["first_seen"].as_i64().unwrap()
    });
    assert!(cited, "{event} cites no expected RRset of its name");
}

#[test]
fn replaying_the_captures_twice_announces_each_name_once_in_the_first_replay_only() {
    let dir = scratch_dir("novelty_replay");
    let db = dir.join("db");
    let rows = expected_rows();
    let expected = expected_announcements(&rows);
    assert!(expected.len() > 400, "{} names expected", expected.len());

    let server = TestServer::start(&db, &[]);
    let key = add_key(&db, "analyst", &[]);
    replay(&db);
    let sentinel = write_sentinel(&db, &dir, 1);
    let first = feed_through(&server, &key, &sentinel);
    let (sentinel_events, announced): (Vec<&Value>, Vec<&Value>) =
        first.iter().partition(|e| e["rrname"] == sentinel.as_str());
    assert_eq!(sentinel_events.len(), 2, "the sentinel's domain and name");

    let mut seen = BTreeSet::new();
    for event in &announced {
        let key = key_of(event);
        assert!(seen.insert(key.clone()), "{key:?} announced twice");
        let rows = expected
            .get(&key)
            .unwrap_or_else(|| panic!("{event} announces a name no expected RRset has"));
        assert_cites_an_expected_rrset(event, rows);
    }
    let missing: Vec<_> = expected.keys().filter(|k| !seen.contains(*k)).collect();
    assert!(missing.is_empty(), "never announced: {missing:?}");
    let seqs: Vec<u64> = first.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "sequence numbers increase"
    );
    let last_first = *seqs.last().unwrap();

    // Restart, then a subscriber following from the end of the first replay: the second
    // replay must give it nothing but the next sentinel.
    drop(server);
    let server = TestServer::start(&db, &[]);
    let live = follow_sse(&server, &key, last_first);
    replay(&db);
    let sentinel = write_sentinel(&db, &dir, 2);
    let second = feed_through(&server, &key, &sentinel);
    assert_eq!(
        second.len(),
        first.len() + 1,
        "only the second sentinel's name is new"
    );
    assert_eq!(&second[..first.len()], &first[..], "the log is unchanged");
    let (id, data) = live
        .recv_timeout(SEE_TIMEOUT)
        .expect("the live subscriber got the sentinel");
    assert_eq!(id, last_first + 1);
    assert_eq!(data["name"], sentinel.as_str());

    // The same log through the command line, from the store and from the server.
    let db_arg = db.to_str().unwrap();
    let (status, stdout, stderr) = run(&["watch", "new", "--db", db_arg, "--no-follow", "--json"]);
    assert_eq!(status, 0, "{stderr}");
    let local: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(local, second);
    let (status, stdout, stderr) = run(&[
        "watch",
        "--new",
        "--server",
        &server.url,
        "--key",
        &key,
        "--suffix",
        "example.",
        "--kind",
        "name",
        "--limit",
        "1",
        "--since",
        &last_first.to_string(),
    ]);
    assert_eq!(status, 0, "{stderr}");
    assert!(stdout.contains(&format!("name    {sentinel}")), "{stdout}");
}

/// Follows the server's SSE feed after `since` on a thread; the first event's id and data.
/// The thread keeps the connection open, reading, until the server ends it.
fn follow_sse(
    server: &TestServer,
    key: &str,
    since: u64,
) -> std::sync::mpsc::Receiver<(u64, Value)> {
    let url = format!("{}/api/v1/stream/new?since={since}", server.url);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let response = agent
        .get(&url)
        .header("X-API-Key", key)
        .call()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.headers().get("content-type").unwrap(),
        "text/event-stream"
    );
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut id = None;
        for line in BufReader::new(response.into_body().into_reader()).lines() {
            let Ok(line) = line else { return };
            if let Some(value) = line.strip_prefix("id: ") {
                id = value.parse().ok();
            } else if let Some(data) = line.strip_prefix("data: ") {
                let _ = tx.send((id.unwrap_or(0), serde_json::from_str(data).unwrap()));
            }
        }
    });
    rx
}

#[test]
fn the_feed_refuses_bad_parameters_and_unknown_keys() {
    let db = common::server::testbed_store("novelty_refusals");
    let key = add_key(&db, "analyst", &[]);
    let server = TestServer::start(&db, &[]);
    let url = |query: &str| format!("{}/api/v1/stream/new?follow=false&{query}", server.url);
    assert_eq!(http_get(&url(""), None).0, 403);
    assert_eq!(http_get(&url(""), Some("dnsl_wrong")).0, 403);
    for bad in ["kind=zone", "since=-1", "format=xml", "suffix=a..b"] {
        let (status, body) = http_get(&url(bad), Some(&key));
        assert_eq!(status, 400, "{bad}: {body}");
    }
    let (status, body) = http_get(&url("kind=domain&format=ndjson&limit=3"), Some(&key));
    assert_eq!(status, 200, "{body}");
    let events: Vec<Value> = body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 3);
    assert!(events.iter().all(|e| e["kind"] == "domain"));
    let (_, metrics) = http_get(&format!("{}/metrics", server.url), None);
    assert!(
        metrics.contains(
            "dnsledger_streams_ended_total{endpoint=\"api_stream_new\",end=\"limited\"} 1"
        ),
        "{metrics}"
    );
}

#[test]
fn a_followed_feed_does_not_hold_up_the_servers_shutdown() {
    let db = common::server::testbed_store("novelty_shutdown");
    let key = add_key(&db, "analyst", &[]);
    let server = TestServer::start(&db, &[]);
    let first = follow_sse(&server, &key, 0);
    first
        .recv_timeout(SEE_TIMEOUT)
        .expect("the feed sent the log's first event");
    let pid = i32::try_from(server.pid()).unwrap();
    let asked = Instant::now();
    // SAFETY: kill(2) on the server child this test started.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = server
        .wait(Duration::from_secs(8))
        .expect("the server stopped before its 10 s drain timeout");
    assert!(status.success(), "{status}");
    assert!(asked.elapsed() < Duration::from_secs(8));
}
