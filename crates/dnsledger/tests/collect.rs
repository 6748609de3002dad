//! Collectors inside `dnsledger serve`, on a scratch store: `serve --dnstap unix:PATH` is fed
//! the testbed's dnstap recording over its socket, `serve --interface lo` (in a network
//! namespace of the test's own, as root) sees a generated capture replayed onto that `lo`.
//! The data must be served within 2 seconds of the last frame, the collector's counters
//! must show at `/metrics`, and after SIGTERM the store must hold what `ingest` of the
//! recording stores, or (live) the RRsets and counts `sensor --read` records of the capture.

mod common;

use std::collections::BTreeMap;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use common::dnstap::fixture_frames;
use common::netns::{counts_by_rrset, generate_capture, send_capture_onto_lo, Namespace, PACKETS};
use common::server::{add_key, http_get, run, TestServer};
use common::{
    assert_same_rows, mentions_address, our_rows, run_sensor, scratch_dir, CofRow, RowKey,
};
use dnsledger_dnstap::StreamWriter;

const DNSTAP: &str = "testbed/run1_qmin_on.resolver.dnstap.gz";
/// A name in the recording, and how often the recording answers it with an A RRset.
const NAME: &str = "www.alpha-bank.com.";
const NAME_COUNT: u64 = 10;
/// The recording's resolver.
const RESOLVER: &str = "127.0.0.2";

type Rows = std::collections::BTreeMap<RowKey, (u64, i64, i64)>;

/// Every row of the store in `db`, by identity.
fn dump(db: &Path) -> Rows {
    let (status, dump, stderr) = run(&["dump", "--db", db.to_str().unwrap()]);
    assert_eq!(status, 0, "{stderr}");
    let rows: Vec<CofRow> = dump
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    our_rows(&rows)
}

/// What `ingest` stores of the recording.
fn ingested(name: &str) -> Rows {
    let db = scratch_dir(name).join("db");
    let fixture = common::fixture(DNSTAP);
    let (status, _, stderr) = run(&["ingest", "--db", db.to_str().unwrap(), &fixture]);
    assert_eq!(status, 0, "{stderr}");
    dump(&db)
}

/// Polls `answer` every 20 ms until it gives something, for at most `limit`; what it gave
/// and when.
fn first_answer<T>(limit: Duration, mut answer: impl FnMut() -> Option<T>) -> (T, Duration) {
    let start = Instant::now();
    loop {
        if let Some(found) = answer() {
            return (found, start.elapsed());
        }
        assert!(start.elapsed() < limit, "nothing within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `Some` once the server reports `count` observations of `name`'s `rrtype` RRsets.
fn served(url: &str, key: &str, name: &str, rrtype: &str, count: u64) -> Option<()> {
    let lookup = format!("{url}/dnsdb/v2/lookup/rrset/name/{name}/{rrtype}");
    let (status, body) = http_get(&lookup, Some(key));
    assert_eq!(status, 200, "{body}");
    let counts = body
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|line| line["obj"]["count"].as_u64());
    (counts.sum::<u64>() == count).then_some(())
}

/// The most observed RRset type of a name, and its observations: what to ask a server for.
fn busiest(counts: &BTreeMap<RowKey, u64>) -> (String, String, u64) {
    let mut by_name: BTreeMap<(String, String), u64> = BTreeMap::new();
    for ((name, rrtype, _, _), count) in counts {
        *by_name.entry((name.clone(), rrtype.clone())).or_default() += count;
    }
    let ((name, rrtype), count) = by_name.into_iter().max_by_key(|(_, count)| *count).unwrap();
    (name, rrtype, count)
}

/// The value of a counter at `/metrics`, when it has one.
fn metric(url: &str, name: &str) -> Option<u64> {
    let (_, text) = http_get(&format!("{url}/metrics"), None);
    let line = text
        .lines()
        .find(|line| line.starts_with(&format!("{name} ")))?;
    line.rsplit(' ').next()?.parse().ok()
}

#[test]
fn served_dnstap_is_queryable_within_two_seconds_and_stored_as_ingest_stores_it() {
    let dir = scratch_dir("collect-dnstap");
    let db = dir.join("db");
    let key = add_key(&db, "analyst", &[]);
    let socket = dir.join("dnstap.sock");
    let server = TestServer::start(&db, &["--dnstap", &format!("unix:{}", socket.display())]);
    // The socket listens before the URL is announced.
    let mut writer = StreamWriter::connect(UnixStream::connect(&socket).unwrap()).unwrap();
    let frames = fixture_frames(DNSTAP);
    for frame in &frames {
        writer.write(frame).unwrap();
    }
    let sent = Instant::now();
    // FINISH comes back once the server's side has queued every frame.
    writer.finish().unwrap();
    let (_, waited) = first_answer(Duration::from_secs(10), || {
        served(&server.url, &key, NAME, "A", NAME_COUNT)
    });
    let served = sent.elapsed();
    eprintln!("served {served:?} after the last frame");
    assert!(
        served <= Duration::from_secs(2),
        "served {served:?} after the last frame ({waited:?} of polling)"
    );

    let frames_received = "dnsledger_dnstap_frames_received_total";
    first_answer(Duration::from_secs(5), || {
        metric(&server.url, frames_received).filter(|&n| n == frames.len() as u64)
    });
    let (_, metrics) = http_get(&format!("{}/metrics", server.url), None);
    for counter in [
        "dnsledger_sensor_responses_used_total",
        "dnsledger_sensor_responses_dropped_truncated_tc_total",
        "dnsledger_sensor_responses_dropped_scope_total",
        "dnsledger_dnstap_frames_dropped_queue_full_total 0",
    ] {
        assert!(metrics.contains(counter), "{counter}: {metrics}");
    }
    assert!(!mentions_address(&metrics, RESOLVER), "{metrics}");

    // SAFETY: signalling our own child process.
    assert_eq!(unsafe { libc::kill(server.pid() as i32, libc::SIGTERM) }, 0);
    let status = server
        .wait(Duration::from_secs(20))
        .expect("the server stops on SIGTERM");
    assert!(status.success(), "{status:?}");
    assert!(!socket.exists(), "the socket file is removed on exit");
    assert_same_rows(
        &ingested("collect-dnstap-ingest"),
        &dump(&db),
        "serve --dnstap",
    );
}

#[test]
fn a_collector_needs_its_input_and_its_options_need_a_collector() {
    let dir = scratch_dir("collect-refusals");
    let db = dir.join("db");
    let db = db.to_str().unwrap();
    let (status, _, stderr) = run(&["serve", "--db", db, "--exclude-suffix", "example.com"]);
    assert_eq!(status, 2, "{stderr}");
    let (status, _, stderr) = run(&["serve", "--db", db, "--workers", "2"]);
    assert_eq!(status, 2, "{stderr}");
    // A file that is not a socket is in the way: refused before serving anything.
    let blocker = dir.join("not-a-socket");
    std::fs::write(&blocker, "").unwrap();
    let endpoint = format!("unix:{}", blocker.display());
    let (status, stdout, stderr) = run(&[
        "serve",
        "--db",
        db,
        "--listen",
        "127.0.0.1:0",
        "--dnstap",
        &endpoint,
    ]);
    assert_eq!(status, 1, "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("not a socket"), "{stderr}");
}

#[test]
fn served_live_capture_is_stored_as_reading_the_capture_records() {
    let dir = scratch_dir("collect-live");
    let (capture, hints) = generate_capture(&dir);
    let hints = hints.to_str().unwrap();
    let read = run_sensor(&["--root-hints", hints, "--read", capture.to_str().unwrap()]);
    assert_eq!(read.status, 0, "{}", read.stderr);
    let expected = counts_by_rrset(&read.rows);
    let db = dir.join("db");
    let key = add_key(&db, "analyst", &[]);
    let namespace = Namespace::create("serve");
    let binary = namespace.command(env!("CARGO_BIN_EXE_dnsledger"));
    let extra = ["--interface", "lo", "--root-hints", hints];
    let server = TestServer::start_with(binary, &db, "127.0.0.1:0", &extra);
    let sent = namespace.run(move || send_capture_onto_lo(&capture));
    assert_eq!(sent, PACKETS as usize);
    let last_frame = Instant::now();
    let (name, rrtype, count) = busiest(&expected);
    let (url, key_in_namespace) = (server.url.clone(), key.clone());
    namespace.run(move || {
        first_answer(Duration::from_secs(10), || {
            served(&url, &key_in_namespace, &name, &rrtype, count)
        })
    });
    let served = last_frame.elapsed();
    eprintln!("served {served:?} after the last frame");
    assert!(
        served <= Duration::from_secs(2),
        "served {served:?} after the last frame"
    );
    let url = server.url.clone();
    let metrics = namespace.run(move || {
        let frames = |n: u64| (n == PACKETS).then_some(());
        first_answer(Duration::from_secs(5), || {
            metric(&url, "dnsledger_capture_frames_total").and_then(frames)
        });
        http_get(&format!("{url}/metrics"), None).1
    });
    for counter in [
        "dnsledger_live_kernel_drops_total 0",
        "dnsledger_sensor_responses_used_total",
        "dnsledger_sensor_responses_dropped_unsolicited_total",
    ] {
        assert!(metrics.contains(counter), "{counter}: {metrics}");
    }

    // SAFETY: signalling our own child process (`ip netns exec` became the server).
    assert_eq!(unsafe { libc::kill(server.pid() as i32, libc::SIGTERM) }, 0);
    let status = server
        .wait(Duration::from_secs(20))
        .expect("the server stops on SIGTERM");
    assert!(status.success(), "{status:?}");
    let stored: BTreeMap<RowKey, u64> = dump(&db)
        .into_iter()
        .map(|(key, (count, _, _))| (key, count))
        .collect();
    assert_eq!(stored, expected);
}
