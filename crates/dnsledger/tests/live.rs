//! `dnsledger sensor --interface` on the loopback interface of a network namespace each test
//! creates for itself (as root; no other interface is touched, and the namespace is deleted
//! even when the test fails). A generated resolver<->authoritative capture is sent onto that
//! `lo` frame by frame, in order, from a thread that joined the namespace; the live sensor
//! must record the RRsets, with the counts, that `sensor --read` records from the same
//! capture (its times are wall-clock times instead), with one capture thread or two.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::netns::{counts_by_rrset, generate_capture, send_capture_onto_lo, Namespace, PACKETS};
use common::{run_sensor, scratch_dir, CofRow};

const METRICS: &str = "127.0.0.1:9464";

#[test]
fn one_capture_thread_records_what_reading_the_capture_records() {
    live_equals_read("one-thread", 1);
}

#[test]
fn two_capture_threads_record_the_same() {
    live_equals_read("two-threads", 2);
}

#[test]
fn without_cap_net_raw_the_error_says_what_is_needed() {
    // Root, but without CAP_NET_RAW in any set: socket(AF_PACKET) is refused.
    let output = Command::new("setpriv")
        .args(["--inh-caps=-net_raw", "--bounding-set=-net_raw"])
        .arg(env!("CARGO_BIN_EXE_dnsledger"))
        .args(["sensor", "--interface", "lo"])
        .output()
        .expect("setpriv (util-linux) runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr,
        "dnsledger: error: capturing on lo needs CAP_NET_RAW (run as root or setcap \
         cap_net_raw+ep on the binary)\n"
    );
}

#[test]
fn an_unknown_interface_is_named() {
    let namespace = Namespace::create("unknown");
    let output = namespace
        .command(env!("CARGO_BIN_EXE_dnsledger"))
        .args(["sensor", "--interface", "nosuch0"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "dnsledger: error: there is no network interface \"nosuch0\"\n"
    );
}

#[test]
fn a_port_filter_keeps_other_ports_out_of_the_ring() {
    let dir = scratch_dir("live-port-filter");
    let (capture, _) = generate_capture(&dir);
    let namespace = Namespace::create("port-filter");
    let stats = dir.join("stats.json");
    let mut sensor = Sensor::start(
        &namespace,
        &[
            "--interface",
            "lo",
            "--filter",
            "port 5353",
            "--output",
            "/dev/null",
            "--stats-json",
            stats.to_str().unwrap(),
        ],
    );
    let sent = namespace.run(move || send_capture_onto_lo(&capture));
    assert_eq!(sent, PACKETS as usize);
    std::thread::sleep(Duration::from_millis(500));
    let status = sensor.stop();
    let stderr = sensor.stderr();
    assert!(status.success(), "{stderr}");
    let stats: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    assert_eq!(stats["live.kernel_packets"], 0, "{stderr}");
    assert_eq!(stats["capture.frames"], 0, "{stderr}");
}

/// The scenario: read the capture, then capture it live with `workers` threads and compare.
fn live_equals_read(name: &str, workers: usize) {
    let dir = scratch_dir(&format!("live-{name}"));
    let (capture, hints) = generate_capture(&dir);
    let hints_arg = hints.to_str().unwrap();
    let read = run_sensor(&[
        "--root-hints",
        hints_arg,
        "--read",
        capture.to_str().unwrap(),
    ]);
    assert_eq!(read.status, 0, "{}", read.stderr);
    let expected = counts_by_rrset(&read.rows);
    assert!(expected.len() > 500, "the capture yields RRsets");

    let namespace = Namespace::create(name);
    let started = unix_now();
    let (output, stats) = (dir.join("live.cof"), dir.join("stats.json"));
    let mut sensor = Sensor::start(
        &namespace,
        &[
            "--interface",
            "lo",
            "--workers",
            &workers.to_string(),
            "--root-hints",
            hints_arg,
            "--output",
            output.to_str().unwrap(),
            "--stats-json",
            stats.to_str().unwrap(),
            "--metrics-listen",
            METRICS,
        ],
    );
    let sent = namespace.run(move || send_capture_onto_lo(&capture));
    assert_eq!(sent, PACKETS as usize);

    // The flush timer writes while the capture runs: all frames are counted and rows are out
    // before any signal.
    let metrics = namespace.run(|| wait_for_metric("dnsledger_capture_frames_total", PACKETS));
    assert!(
        metrics.contains("dnsledger_live_kernel_drops_total 0\n"),
        "{metrics}"
    );
    wait_for(|| std::fs::metadata(&output).is_ok_and(|m| m.len() > 0));

    let status = sensor.stop();
    let stderr = sensor.stderr();
    assert!(status.success(), "{stderr}");
    let ended = unix_now();
    let rows = read_rows(&output);
    assert_eq!(counts_by_rrset(&rows), expected, "{stderr}");
    for row in &rows {
        assert!(
            started <= row.time_first && row.time_last <= ended,
            "{row:?}"
        );
    }
    let stats: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    for (counter, value) in [
        ("capture.frames", PACKETS),
        ("live.kernel_packets", PACKETS),
        ("live.kernel_drops", 0),
        ("live.socket_errors", 0),
        ("live.ring_blocks_malformed", 0),
        ("live.messages_released_early", 0),
        ("live.messages_out_of_order", 0),
    ] {
        assert_eq!(stats[counter], value, "{counter}: {stderr}");
    }
    assert!(stderr.contains(" 0 kernel drops\n"), "{stderr}");
}

fn read_rows(path: &Path) -> Vec<CofRow> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Polls `done` for up to 20 seconds.
fn wait_for(mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Asks the sensor's `/metrics` until `metric` has `value`; returns that answer.
fn wait_for_metric(metric: &str, value: u64) -> String {
    let wanted = format!("\n{metric} {value}\n");
    let mut answer = String::new();
    wait_for(|| {
        answer = http_get(METRICS, "/metrics");
        answer.contains(&wanted)
    });
    answer
}

fn http_get(address: &str, path: &str) -> String {
    let Ok(mut stream) = TcpStream::connect(address) else {
        return String::new();
    };
    write!(stream, "GET {path} HTTP/1.1\r\nHost: sensor\r\n\r\n").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

/// `dnsledger sensor` running in a namespace, killed on drop if the test fails first.
struct Sensor {
    child: Child,
    stderr: mpsc::Receiver<String>,
    lines: Vec<String>,
}

impl Sensor {
    /// Starts it and waits until it says it is capturing.
    fn start(namespace: &Namespace, args: &[&str]) -> Sensor {
        let mut child = namespace
            .command(env!("CARGO_BIN_EXE_dnsledger"))
            .arg("sensor")
            .args(args)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (lines_out, lines_in) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = lines_out.send(line);
            }
        });
        let mut sensor = Sensor {
            child,
            stderr: lines_in,
            lines: Vec::new(),
        };
        sensor.wait_for_line("dnsledger sensor: capturing on lo");
        sensor
    }

    fn wait_for_line(&mut self, start: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.lines.iter().any(|line| line.starts_with(start)) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) => self.lines.push(line),
                Err(_) => panic!("no {start:?} from the sensor: {:?}", self.lines),
            }
        }
    }

    /// SIGTERM, then the exit status (within 20 seconds).
    fn stop(&mut self) -> ExitStatus {
        // SAFETY: kill(2) with the pid of our own child, which has not been reaped yet.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "the sensor did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Everything it wrote to standard error (after it exited).
    fn stderr(&mut self) -> String {
        self.lines.extend(self.stderr.iter());
        self.lines.join("\n") + "\n"
    }
}

impl Drop for Sensor {
    fn drop(&mut self) {
        if self.child.try_wait().is_ok_and(|status| status.is_none()) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
