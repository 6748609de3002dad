//! Corpus tier: the whole shared corpus through the real binary. Needs `DNSLEDGER_CORPUS`
//! (see `scripts/test --corpus`); fails when it is missing.

mod common;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{assert_same_rows, corpus_dir, expected_rows, our_rows, run_sensor};

fn testbed(dir: &Path, relative: &str) -> String {
    let path = dir.join("testbed").join(relative);
    assert!(path.exists(), "{} is missing", path.display());
    path.to_string_lossy().into_owned()
}

#[test]
fn every_testbed_scenario_reproduces_its_expected_rrsets() {
    let dir = corpus_dir();
    let hints = testbed(&dir, "config/root.hints");
    for scenario in ["run1_qmin_on", "run3_attack"] {
        let capture = testbed(&dir, &format!("captures/{scenario}/resolver_auth.pcap"));
        let run = run_sensor(&["--root-hints", &hints, "--read", &capture]);
        assert_eq!(run.status, 0, "{scenario}: {}", run.stderr);
        let expected = expected_rows(Path::new(&testbed(
            &dir,
            &format!("expected/{scenario}.resolver_auth.rrsets.jsonl"),
        )));
        assert!(expected.len() > 800, "{scenario}: expected file too small");
        assert_same_rows(&expected, &our_rows(&run.rows), scenario);
    }
}

#[test]
fn client_side_captures_give_nothing_by_default_and_the_stub_view_with_accept_rd() {
    let dir = corpus_dir();
    for scenario in ["run1_qmin_on", "run3_attack"] {
        let capture = testbed(&dir, &format!("captures/{scenario}/client_resolver.pcap"));
        let strict = run_sensor(&["--read", &capture]);
        assert_eq!(strict.status, 0, "{}", strict.stderr);
        assert!(
            strict.rows.is_empty(),
            "{scenario}: RD=1 traffic must not be stored by default"
        );
        let client_side = run_sensor(&["--accept-rd", "--read", &capture]);
        let expected = expected_rows(Path::new(&testbed(
            &dir,
            &format!("expected/{scenario}.client_resolver.stub_view.rrsets.jsonl"),
        )));
        assert!(client_side.rows.iter().all(|row| row.bailiwick.is_none()));
        assert_same_rows(
            &expected,
            &our_rows(&client_side.rows),
            &format!("{scenario} stub view"),
        );
    }
}

/// Every capture file of the public corpus, recursively.
fn public_captures(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.join("public")];
    while let Some(next) = stack.pop() {
        for entry in std::fs::read_dir(&next).unwrap().map(Result::unwrap) {
            let path = entry.path();
            let name = path.to_string_lossy();
            if path.is_dir() {
                stack.push(path);
            } else if name.ends_with(".pcap")
                || name.ends_with(".pcapng")
                || name.ends_with(".gz")
                || name.ends_with(".cap")
            {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// Runs the sensor on one file under a memory limit and a time bound; returns a problem.
fn check_one(path: &Path) -> Option<String> {
    const MEMORY_LIMIT: u64 = 1 << 30;
    const TIME_LIMIT: Duration = Duration::from_secs(30);
    let mut command = Command::new(env!("CARGO_BIN_EXE_dnsledger"));
    command
        .args(["sensor", "--accept-rd", "--output", "/dev/null", "--read"])
        .arg(path)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: MEMORY_LIMIT,
                rlim_max: MEMORY_LIMIT,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = command.spawn().expect("spawn dnsledger");
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let stderr = std::io::read_to_string(child.stderr.take().unwrap()).unwrap_or_default();
            return match status.code() {
                Some(0 | 1 | 3) => None,
                other => Some(format!("{}: exit {other:?}: {stderr}", path.display())),
            };
        }
        if started.elapsed() > TIME_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            return Some(format!(
                "{}: still running after {TIME_LIMIT:?}",
                path.display()
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn every_public_capture_is_read_without_crash_hang_or_runaway_memory() {
    let dir = corpus_dir();
    let captures = public_captures(&dir);
    assert!(
        captures.len() >= 380,
        "found only {} captures",
        captures.len()
    );
    let problems: Vec<String> = captures.iter().filter_map(|p| check_one(p)).collect();
    assert!(
        problems.is_empty(),
        "{} of {} captures failed:\n{}",
        problems.len(),
        captures.len(),
        problems.join("\n")
    );
}
