//! The bodies of dnsledger's fuzz targets.
//!
//! **What it is.** One public function per fuzz target in `fuzz/` (the cargo-fuzz package):
//! each takes arbitrary bytes and pushes them through a part of the pipeline, asserting the
//! invariants that must hold for *every* input. Keeping the bodies here, as plain Rust,
//! means the stable test suite replays every seed and every crash ever found
//! (`tests/regressions.rs`) without nightly, libFuzzer or sanitizers.
//!
//! - [`wire_message`]: `dnsledger-wire` alone: message, names, canonical rdata, text.
//! - [`capture_file`]: a whole capture file through reader, decoder and sensor.
//! - [`decoder_frames`]: frames straight into the decoder (see [`encode_frame`] for the
//!   input format), so the fuzzer reaches fragment and TCP reassembly without having to
//!   produce a valid pcap first.
//! - [`sensor_messages`]: DNS messages as query/response exchanges straight into the sensor.
//!
//! **What it is not.** No fuzzing engine and no corpus: `fuzz/` has the libFuzzer shims and
//! the regression inputs, `fuzz/README.md` says how to run them. Nothing here checks that
//! results are *right* (the crates' own tests do); only that no input panics, hangs or
//! breaks an invariant the crates promise.
//!
//! The sensor and decoder run with limits far below the defaults (`pipeline.rs`), so that
//! inputs of a few kilobytes reach every bound, flush and expiry path.

mod capture;
mod frames;
mod input;
mod messages;
mod pipeline;
mod wire;

pub use capture::capture_file;
pub use frames::{decoder_frames, encode_frame};
pub use messages::sensor_messages;
pub use wire::wire_message;
