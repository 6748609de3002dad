//! Profiling aid: the `dnsledger sensor --read` pipeline (capture reader, decoder, sensor,
//! COF formatting into a discarding writer) over one capture, outside the binary, whose
//! store dependency makes a release build take RocksDB's fifteen minutes: this one builds
//! in about one, so `perf record` can follow every change. `scripts/bench` stays the
//! measurement of record.
//!
//! `cargo run --release -p dnsledger-sensor --example sensor_throughput -- [--accept-rd] CAPTURE [HINTS [COF]]`
//!
//! `--accept-rd` is the sensor's client-side mode (responses to RD=1 queries kept without
//! bailiwick), which records RRsets from most public captures. An empty `HINTS` (`""`)
//! keeps the real root servers. With `COF`, the rows are written to that file instead of
//! discarded, so that a change to the sensor can be checked to leave the output byte for
//! byte the same.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::time::Instant;

use dnsledger_capture::{CaptureReader, Decoder, DecoderConfig};
use dnsledger_rrset::CofSink;
use dnsledger_sensor::{RootHints, Sensor, SensorConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1).peekable();
    let mut config = SensorConfig {
        accept_recursion_desired: args.next_if_eq("--accept-rd").is_some(),
        ..SensorConfig::default()
    };
    let capture = args
        .next()
        .ok_or("usage: sensor_throughput [--accept-rd] CAPTURE [ROOT_HINTS [COF]]")?;
    // An empty HINTS keeps the default (real) root servers, so that COF can be asked for
    // on a capture of public traffic.
    if let Some(hints) = args.next().filter(|hints| !hints.is_empty()) {
        config.root_hints = RootHints::parse(&std::fs::read_to_string(hints)?)?;
    }
    let output: Box<dyn Write> = match args.next() {
        Some(path) => Box::new(BufWriter::new(File::create(path)?)),
        None => Box::new(std::io::sink()),
    };
    let started = Instant::now();
    let mut reader = CaptureReader::open(std::path::Path::new(&capture))?;
    let mut decoder = Decoder::new(DecoderConfig::default());
    let mut sensor = Sensor::new(config, CofSink::new(output));
    let mut frames = 0u64;
    let mut sink_error = None;
    while let Some(frame) = reader.next_frame()? {
        decoder.decode(&frame, &mut |payload| {
            if let Err(error) = sensor.handle(payload) {
                sink_error.get_or_insert(error);
            }
        });
        frames += 1;
    }
    if let Some(error) = sink_error {
        return Err(error.into());
    }
    let input_ended = Instant::now();
    let (_, stats) = sensor.finish()?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{frames} frames, {} RRsets written in {seconds:.3} s ({:.3} s of them at the end \
         of input): {:.0} packets/s",
        stats.rrsets_flushed,
        input_ended.elapsed().as_secs_f64(),
        frames as f64 / seconds
    );
    Ok(())
}
