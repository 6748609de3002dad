//! dnstap through the real binary, on Unbound's own dnstap of the testbed's `run1_qmin_on`
//! scenario: `sensor --read` on the (gzip-compressed) file must give exactly the expected
//! RRsets and counters, and a live receiver fed the same frames over a unix socket must give
//! the same RRsets.

mod common;

use std::io::Read;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::dnstap::{assert_counters_match_summary, fixture_frames, merged_rows};
use common::{
    assert_same_rows, expected_rows_from_lines, fixture, our_rows, read_gz_lines, run_sensor,
    scratch_dir, CofRow,
};
use dnsledger_dnstap::StreamWriter;
use serde_json::Value;

const DNSTAP: &str = "testbed/run1_qmin_on.resolver.dnstap.gz";
const EXPECTED: &str = "testbed/run1_qmin_on.dnstap.rrsets.jsonl.gz";
const SUMMARY: &str = "testbed/run1_qmin_on.summary.json";

fn expected() -> std::collections::BTreeMap<common::RowKey, (u64, i64, i64)> {
    expected_rows_from_lines(&read_gz_lines(&fixture(EXPECTED)))
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn parse_rows(text: &str) -> Vec<CofRow> {
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line:?}: {e}")))
        .collect()
}

#[test]
fn a_dnstap_file_gives_exactly_the_expected_rrsets_and_counters() {
    let dir = scratch_dir("dnstap-file");
    let stats = dir.join("stats.json");
    let run = run_sensor(&[
        "--stats-json",
        stats.to_str().unwrap(),
        "--read",
        &fixture(DNSTAP),
    ]);
    assert_eq!(run.status, 0, "stderr: {}", run.stderr);
    let ours = our_rows(&run.rows);
    assert_same_rows(&expected(), &ours, "run1_qmin_on dnstap");
    assert_eq!(ours.len(), 820);
    let summary = read_json(Path::new(&fixture(SUMMARY)));
    assert_counters_match_summary(&read_json(&stats), &summary, ours.len(), "run1_qmin_on");
    assert!(
        run.stderr.contains("dnstap.resolver_responses 7342"),
        "{}",
        run.stderr
    );
}

#[test]
fn ingest_stores_what_the_dnstap_file_gives() {
    let db = scratch_dir("dnstap-ingest").join("db");
    let (status, _, stderr) =
        common::server::run(&["ingest", "--db", db.to_str().unwrap(), &fixture(DNSTAP)]);
    assert_eq!(status, 0, "{stderr}");
    assert!(
        stderr.contains("dnstap.resolver_responses 7342"),
        "{stderr}"
    );
    let (status, dump, stderr) = common::server::run(&["dump", "--db", db.to_str().unwrap()]);
    assert_eq!(status, 0, "{stderr}");
    let stored = our_rows(&parse_rows(&dump));
    assert_same_rows(&expected(), &stored, "run1_qmin_on dnstap ingested");
}

#[test]
fn a_dnstap_file_cut_short_is_used_up_to_the_damage() {
    let dir = scratch_dir("dnstap-cut");
    let mut whole = Vec::new();
    let file = std::fs::File::open(fixture(DNSTAP)).unwrap();
    flate2::read::GzDecoder::new(file)
        .read_to_end(&mut whole)
        .unwrap();
    let cut = dir.join("cut.dnstap");
    std::fs::write(&cut, &whole[..whole.len() / 2]).unwrap();
    let run = run_sensor(&["--read", cut.to_str().unwrap()]);
    assert_eq!(run.status, 3, "stderr: {}", run.stderr);
    assert!(
        run.stderr.contains("the data before it was used"),
        "{}",
        run.stderr
    );
    assert!(!run.rows.is_empty());
}

#[test]
fn a_bad_endpoint_is_a_usage_error() {
    let run = run_sensor(&["--dnstap", "udp:127.0.0.1:6000"]);
    assert_eq!(run.status, 2, "stderr: {}", run.stderr);
}

/// Connects to the sensor's socket once it listens.
fn connect_when_listening(socket: &Path, child: &mut Child) -> UnixStream {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(stream) = UnixStream::connect(socket) {
            return stream;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the sensor exited before listening: {status}");
        }
        assert!(Instant::now() < deadline, "the sensor never listened");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until `done` holds, for at most 30 seconds.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn start_live_sensor(socket: &Path, output: &Path, stats: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_dnsledger"))
        .arg("sensor")
        .arg("--dnstap")
        .arg(format!("unix:{}", socket.display()))
        .arg("--output")
        .arg(output)
        .arg("--stats-json")
        .arg(stats)
        .args(["--flush-interval", "0.2"])
        .stderr(Stdio::piped())
        .spawn()
        .expect("the dnsledger binary runs")
}

#[test]
fn a_live_receiver_gives_what_the_file_gives() {
    let dir = scratch_dir("dnstap-live");
    let socket: PathBuf = dir.join("dnstap.sock");
    let (output, stats) = (dir.join("out.jsonl"), dir.join("stats.json"));
    let mut child = start_live_sensor(&socket, &output, &stats);
    let frames = fixture_frames(DNSTAP);
    let mut writer = StreamWriter::connect(connect_when_listening(&socket, &mut child)).unwrap();
    for frame in &frames {
        writer.write(frame).unwrap();
    }
    // FINISH comes back once the sensor's side has queued every frame.
    writer.finish().unwrap();
    // The wall-clock flush writes rows while the sensor still runs.
    wait_until("rows flushed before any signal", || {
        std::fs::metadata(&output).is_ok_and(|m| m.len() > 0)
    });
    assert_eq!(
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) },
        0
    );
    let mut status = None;
    wait_until("the sensor to exit on SIGTERM", || {
        status = child.try_wait().unwrap();
        status.is_some()
    });
    let stderr = std::io::read_to_string(child.stderr.take().unwrap()).unwrap();
    assert_eq!(status.unwrap().code(), Some(0), "stderr: {stderr}");
    let rows = parse_rows(&std::fs::read_to_string(&output).unwrap());
    assert_same_rows(&expected(), &merged_rows(&rows), "live dnstap");
    let counters = read_json(&stats);
    assert_eq!(counters["dnstap.frames_received"], frames.len() as u64);
    assert_eq!(counters["dnstap.frames"], frames.len() as u64);
    assert_eq!(counters["dnstap.frames_dropped_queue_full"], 0);
    assert_eq!(counters["dnstap.connections_finished"], 1);
    assert!(!socket.exists(), "the socket file is removed on exit");
}
