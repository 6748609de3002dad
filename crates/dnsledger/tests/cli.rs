//! The sensor command's contract with its caller: inputs from files, gzip or standard input,
//! clear one-line errors, and exit statuses that tell damage from failure.

mod common;

use std::io::{Read, Write};
use std::process::{Command, Stdio};

use common::{fixture, our_rows, run_sensor, scratch_dir};

const CAPTURE_GZ: &str = "testbed/run3_attack.resolver_auth.pcap.gz";

/// The fixture capture, decompressed.
fn capture_bytes() -> Vec<u8> {
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(fixture(CAPTURE_GZ)).unwrap())
        .read_to_end(&mut bytes)
        .unwrap();
    bytes
}

fn hints() -> String {
    fixture("testbed/root.hints")
}

#[test]
fn plain_and_gzip_input_give_the_same_rrsets() {
    let dir = scratch_dir("plain_and_gzip");
    let plain = dir.join("capture.pcap");
    std::fs::write(&plain, capture_bytes()).unwrap();
    let from_plain = run_sensor(&["--root-hints", &hints(), "--read", plain.to_str().unwrap()]);
    let from_gzip = run_sensor(&["--root-hints", &hints(), "--read", &fixture(CAPTURE_GZ)]);
    assert_eq!(from_plain.status, 0);
    assert_eq!(from_plain.rows.len(), 812);
    assert_eq!(from_plain.stdout, from_gzip.stdout);
}

#[test]
fn standard_input_is_read_with_a_dash() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dnsledger"))
        .args(["sensor", "--root-hints", &hints(), "--read", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let bytes = std::fs::read(fixture(CAPTURE_GZ)).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&bytes));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap().lines().count(),
        812
    );
}

#[test]
fn a_capture_split_in_two_files_pairs_across_the_boundary() {
    let dir = scratch_dir("split");
    let bytes = capture_bytes();
    let (first, second) = split_pcap(&bytes, bytes.len() / 2);
    let paths = [dir.join("a.pcap"), dir.join("b.pcap")];
    std::fs::write(&paths[0], first).unwrap();
    std::fs::write(&paths[1], second).unwrap();
    let split = run_sensor(&[
        "--root-hints",
        &hints(),
        "--read",
        paths[0].to_str().unwrap(),
        paths[1].to_str().unwrap(),
    ]);
    let whole = run_sensor(&["--root-hints", &hints(), "--read", &fixture(CAPTURE_GZ)]);
    assert_eq!(split.status, 0, "{}", split.stderr);
    assert_eq!(our_rows(&split.rows), our_rows(&whole.rows));
}

/// Splits a little-endian microsecond pcap at the first record boundary after `at`; both
/// halves get the global header.
fn split_pcap(bytes: &[u8], at: usize) -> (Vec<u8>, Vec<u8>) {
    let mut offset = 24;
    while offset < at {
        let caplen = u32::from_le_bytes(bytes[offset + 8..offset + 12].try_into().unwrap());
        offset += 16 + caplen as usize;
    }
    let mut second = bytes[..24].to_vec();
    second.extend_from_slice(&bytes[offset..]);
    (bytes[..offset].to_vec(), second)
}

#[test]
fn a_truncated_capture_is_used_up_to_the_damage_and_exits_3() {
    let dir = scratch_dir("truncated");
    let bytes = capture_bytes();
    let path = dir.join("cut.pcap");
    std::fs::write(&path, &bytes[..bytes.len() * 2 / 3 + 7]).unwrap();
    let run = run_sensor(&["--root-hints", &hints(), "--read", path.to_str().unwrap()]);
    assert_eq!(run.status, 3, "stderr: {}", run.stderr);
    assert!(
        run.rows.len() > 400,
        "the data before the damage is used: {} rows",
        run.rows.len()
    );
    assert!(
        run.stderr.contains("cut.pcap"),
        "the damage is reported: {}",
        run.stderr
    );
}

#[test]
fn a_file_that_is_not_a_capture_is_a_one_line_error() {
    let dir = scratch_dir("not_a_capture");
    let path = dir.join("notes.txt");
    std::fs::write(&path, "these are not packets\n").unwrap();
    let run = run_sensor(&["--read", path.to_str().unwrap()]);
    assert_eq!(run.status, 1);
    let errors: Vec<&str> = run.stderr.lines().filter(|l| l.contains("error")).collect();
    assert_eq!(errors.len(), 1, "{}", run.stderr);
    assert!(errors[0].contains("notes.txt"), "{}", errors[0]);
    assert!(run.rows.is_empty());
}

#[test]
fn a_missing_file_is_an_error_naming_it() {
    let run = run_sensor(&["--read", "/nonexistent/dnsledger-test.pcap"]);
    assert_eq!(run.status, 1);
    assert!(
        run.stderr.contains("/nonexistent/dnsledger-test.pcap"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_bad_root_hints_file_is_refused_with_its_line() {
    let dir = scratch_dir("bad_hints");
    let path = dir.join("hints");
    std::fs::write(&path, ". NS a.root.\na.root. A not-an-address\n").unwrap();
    let run = run_sensor(&[
        "--root-hints",
        path.to_str().unwrap(),
        "--read",
        &fixture(CAPTURE_GZ),
    ]);
    assert_eq!(run.status, 1);
    assert!(run.stderr.contains("line 2"), "{}", run.stderr);
}

#[test]
fn without_the_private_root_hints_nothing_is_trusted() {
    let run = run_sensor(&["--read", &fixture(CAPTURE_GZ)]);
    assert_eq!(run.status, 0);
    assert!(
        run.rows.is_empty(),
        "the IANA roots do not serve the testbed's loopback hierarchy"
    );
    assert!(
        run.stderr
            .contains("sensor.responses_dropped_unknown_server"),
        "{}",
        run.stderr
    );
}

/// A reader that goes away (`dnsledger stats | head -1`) ends the command quietly, with
/// status 0: no panic, no error message.
#[test]
fn a_closed_standard_output_is_not_an_error() {
    let db = common::server::testbed_store("cli_closed_stdout");
    for args in [
        vec!["stats", "--verify"],
        vec!["dump"],
        vec!["stats", "--history"],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_dnsledger"))
            .args(&args)
            .args(["--db", db.to_str().unwrap()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(output.status.code(), Some(0), "{args:?}: {stderr}");
    }
}
