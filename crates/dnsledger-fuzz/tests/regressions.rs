//! The fuzz targets on stable, without a fuzzing engine:
//!
//! - every input under `fuzz/regressions/<target>/` (the seeds and every crash ever found)
//!   is replayed; a missing or empty folder fails, so no target loses its regressions;
//! - every target runs over a few thousand deterministic mutations of valid inputs
//!   (`seeds`), which catches the shallow bugs before anyone starts libFuzzer.
//!
//! A failing mutated input is written to the temporary directory (the panic output says
//! where) so that it can be copied into `fuzz/regressions/<target>/`. With
//! `DNSLEDGER_FUZZ_EXPORT_SEEDS=DIR` the seeds are also written to `DIR/<target>/`, to
//! start a libFuzzer corpus from them (see `fuzz/README.md`).

mod seeds;

use std::panic::{catch_unwind, resume_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dnsledger_fuzz::{capture_file, decoder_frames, sensor_messages, wire_message};

type Target = fn(&[u8]);

/// Mutated inputs per target: a few seconds of a debug build.
const CASES: usize = 3_000;
/// The work of every target is bounded by its input's size; an input of a few kilobytes
/// taking this long even in a debug build means that bound is broken.
const MAX_CASE_TIME: Duration = Duration::from_secs(5);

#[test]
fn wire_message_regressions() {
    replay("wire_message", wire_message);
}

#[test]
fn capture_file_regressions() {
    replay("capture_file", capture_file);
}

#[test]
fn decoder_frames_regressions() {
    replay("decoder_frames", decoder_frames);
}

#[test]
fn sensor_messages_regressions() {
    replay("sensor_messages", sensor_messages);
}

#[test]
fn wire_message_mutations() {
    mutate_and_run("wire_message", wire_message, &seeds::wire());
}

#[test]
fn capture_file_mutations() {
    mutate_and_run("capture_file", capture_file, &seeds::captures());
}

#[test]
fn decoder_frames_mutations() {
    mutate_and_run("decoder_frames", decoder_frames, &seeds::frames());
}

#[test]
fn sensor_messages_mutations() {
    mutate_and_run("sensor_messages", sensor_messages, &seeds::messages());
}

/// Runs the seeds unchanged first (they must pass as they are), then mutations of them.
fn mutate_and_run(target: &str, run: Target, seeds: &[Vec<u8>]) {
    assert!(!seeds.is_empty());
    if let Some(dir) = std::env::var_os("DNSLEDGER_FUZZ_EXPORT_SEEDS") {
        export_seeds(&Path::new(&dir).join(target), seeds);
    }
    for (i, seed) in seeds.iter().enumerate() {
        run_case(target, run, seed, &format!("seed-{i}"));
    }
    // A fixed generator seed per target: the same cases on every run and machine.
    let mut rng = XorShift(target.bytes().fold(0x9e37_79b9_7f4a_7c15, |h, b| {
        h.rotate_left(8) ^ u64::from(b)
    }));
    for case in 0..CASES {
        let base = &seeds[case % seeds.len()];
        let donor = &seeds[rng.below(seeds.len())];
        let input = mutate(&mut rng, base, donor);
        run_case(target, run, &input, &format!("case-{case}"));
    }
}

fn export_seeds(dir: &Path, seeds: &[Vec<u8>]) {
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for (i, seed) in seeds.iter().enumerate() {
        let path = dir.join(format!("seed-{i:04}"));
        std::fs::write(&path, seed).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}

fn replay(target: &str, run: Target) {
    let dir = regressions_dir().join(target);
    let files = input_files(&dir);
    assert!(
        !files.is_empty(),
        "{} holds no inputs: every target keeps at least one seed",
        dir.display()
    );
    for file in files {
        let input = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let name = file.file_name().unwrap_or_default().to_string_lossy();
        run_case(target, run, &input, &name);
    }
}

fn regressions_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/regressions")
}

/// The files in `dir`, sorted (a missing folder is a failure, not an empty list).
fn input_files(dir: &Path) -> Vec<PathBuf> {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|entry| {
            entry
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .path()
        })
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

/// Runs one input; on a panic saves it for reproduction, then lets the panic fail the test.
fn run_case(target: &str, run: Target, input: &[u8], label: &str) {
    let start = Instant::now();
    if let Err(panic) = catch_unwind(|| run(input)) {
        let saved = std::env::temp_dir().join(format!("dnsledger-fuzz-{target}-{label}"));
        match std::fs::write(&saved, input) {
            Ok(()) => eprintln!(
                "{target} panicked on {label}: input saved as {}",
                saved.display()
            ),
            Err(e) => eprintln!("{target} panicked on {label}; saving it failed: {e}"),
        }
        resume_unwind(panic);
    }
    let elapsed = start.elapsed();
    assert!(
        elapsed < MAX_CASE_TIME,
        "{target} took {elapsed:?} on {label} ({} bytes)",
        input.len()
    );
}

/// Xorshift64: deterministic, dependency-free, plenty for choosing mutations.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform enough in `0..n`; `n` must be positive.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
}

/// Byte values that flip structure: label lengths and pointer marks, length limits.
const INTERESTING: [u8; 9] = [0x00, 0x01, 0x0c, 0x3f, 0x40, 0x7f, 0x80, 0xc0, 0xff];

/// One to four stacked mutations of `base`, some borrowing bytes from `donor`.
fn mutate(rng: &mut XorShift, base: &[u8], donor: &[u8]) -> Vec<u8> {
    let mut input = base.to_vec();
    for _ in 0..=rng.below(4) {
        mutate_once(rng, &mut input, donor);
    }
    input
}

fn mutate_once(rng: &mut XorShift, input: &mut Vec<u8>, donor: &[u8]) {
    if input.is_empty() {
        input.push(rng.byte());
        return;
    }
    let at = rng.below(input.len());
    let span = 1 + rng.below((input.len() - at).min(32));
    match rng.below(7) {
        0 => input[at] ^= 1 << rng.below(8),
        1 => input[at] = INTERESTING[rng.below(INTERESTING.len())],
        2 => input[at] = rng.byte(),
        3 => {
            input.drain(at..at + span);
        }
        4 => input.insert(at, rng.byte()),
        5 => input.truncate(at),
        _ => splice(rng, input, at, donor),
    }
}

/// Overwrites from `at` with a run of the donor's bytes, growing the input if needed.
fn splice(rng: &mut XorShift, input: &mut Vec<u8>, at: usize, donor: &[u8]) {
    if donor.is_empty() {
        return;
    }
    let from = rng.below(donor.len());
    let run = &donor[from..(from + 64).min(donor.len())];
    let end = (at + run.len()).min(input.len());
    input.splice(at..end, run.iter().copied());
}
