//! Inputs into the history store, exactly once.
//!
//! What it is: [`plan`] looks at the inputs of one command — captures (pcap, pcapng; through
//! the sensor), COF NDJSON (our `sensor` output, DNSDB `-j`, CIRCL) or gamelinux passivedns
//! logs, any of them gzip-compressed, the format told by the content — and [`ingest`] reads
//! each resulting [`Input`] into a [`Store`] in atomic batches, recording after each batch how
//! far the input got. The captures of one command form one [`CaptureSet`]: they are read as
//! one stream through one decoder and one sensor, in the order of their first packets, so
//! that a capture split into pieces gives what the whole capture gives.
//!
//! What it is not: it parses nothing itself (`dnsledger-capture`, `dnsledger-wire`) and keeps
//! no state outside the store.
//!
//! Exactly once: inputs are known by the SHA-256 of their bytes, a capture set by the
//! SHA-256 of its pieces' sorted digests. Every reader is deterministic (the sensor and the
//! text readers flush by count and packet time only; a set's order comes from its content),
//! so reading an input again yields the same batches in the same order; a batch and its
//! progress record (`input/<sha256>` = `partial <max_rrsets> <batches>`, then `done`) are
//! one atomic write. The pieces of a set are marked `in-set <set digest>` before its first
//! batch and stand as their set does, so the set's `done` marks them all at once: a piece
//! given alone afterwards is already ingested. An ingest killed at any moment leaves a
//! consistent store, and running it again skips the batches already written and the inputs
//! already done.

mod capture_set;
mod detect;
mod input;
mod progress;
mod stats;
#[cfg(test)]
mod testutil;
mod text;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use dnsledger_capture::{CaptureReader, Decoder, DecoderConfig};
use dnsledger_rrset::{Observation, ObservationSink, SinkError};
use dnsledger_sensor::{Aggregator, Sensor, SensorConfig};
use dnsledger_store::keys::Source;
use dnsledger_store::{Store, StoreError};

pub use capture_set::CaptureSet;
pub use detect::InputFormat;
pub use input::{plan, Input, InputFile, Plan};
pub use progress::InputState;
pub use stats::{IngestCounters, IngestStats};
pub use text::Reject;

use progress::BatchWriter;

/// Why an input could not be ingested at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    #[error("{path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not a capture, dnstap file, COF NDJSON or passivedns log (first bytes {start:02x?})")]
    UnknownFormat { path: String, start: Vec<u8> },
    #[error(
        "{path}: part of a capture set whose ingest was interrupted (set {set}); only that \
         ingest, run again with all its captures, completes it"
    )]
    InUnfinishedSet { path: String, set: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{path}: writing to the store failed: {message}")]
    Write { path: String, message: String },
}

/// Settings of an ingest.
#[derive(Clone, Debug)]
pub struct IngestOptions {
    /// The sensor's settings, for captures.
    pub sensor: SensorConfig,
    /// Distinct RRsets aggregated before a batch is written (all formats).
    pub max_rrsets: usize,
    /// Set (by a signal handler) to stop at the next packet or line. What is aggregated but
    /// not yet written is dropped: a later run derives exactly those batches again.
    pub stop: Arc<AtomicBool>,
}

impl Default for IngestOptions {
    fn default() -> IngestOptions {
        IngestOptions {
            sensor: SensorConfig::default(),
            max_rrsets: 500_000,
            stop: Arc::default(),
        }
    }
}

/// What became of one input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputReport {
    pub format: InputFormat,
    /// How the input stood before this run.
    pub before: InputState,
    /// Batches written by this run, and skipped because an earlier run wrote them.
    pub batches_written: u64,
    pub batches_skipped: u64,
    /// RRset rows (observations) written by this run.
    pub rows_written: u64,
    /// Damage that ended a file early (a truncated capture); what came before is stored, and
    /// a capture set goes on with its next piece.
    pub damage: Vec<Damage>,
    /// Stopped by `IngestOptions::stop`: the input is partly ingested and resumes next time.
    pub interrupted: bool,
}

/// Damage found in one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Damage {
    pub path: PathBuf,
    pub message: String,
}

/// How reading an input ended.
enum Outcome {
    /// At its end; damage ended some of its files early.
    Finished { damage: Vec<Damage> },
    /// At a stop request.
    Interrupted,
}

/// Reads one input of a [`Plan`] into the store. `progress` is called with the bytes read so
/// far; `stats` gathers every counter.
pub fn ingest(
    store: &Store,
    input: &Input,
    options: &IngestOptions,
    stats: &mut IngestStats,
    progress: &mut dyn FnMut(u64),
) -> Result<InputReport, IngestError> {
    let state = match input.digest() {
        Some(digest) => progress::state(store, digest)?,
        None => InputState::New,
    };
    if let InputState::InCaptureSet { set } = state {
        let path = input.to_string();
        return Err(IngestError::InUnfinishedSet { path, set });
    }
    let files = input.files().len() as u64;
    let report = InputReport {
        format: input.format(),
        before: state.clone(),
        batches_written: 0,
        batches_skipped: 0,
        rows_written: 0,
        damage: Vec::new(),
        interrupted: false,
    };
    if state == InputState::Done {
        stats.ingest.inputs_already_done += files;
        return Ok(report);
    }
    if let (Input::CaptureSet(set), InputState::New) = (input, &state) {
        let pieces = set.pieces().iter().filter_map(InputFile::digest);
        progress::mark_pieces(store, set.digest(), pieces)?;
    }
    let max_rrsets = match state {
        InputState::Partial { max_rrsets, .. } => max_rrsets,
        _ => options.max_rrsets,
    };
    let digest = input.digest().map(str::to_owned);
    std::thread::scope(|scope| {
        let writer = BatchWriter::new(scope, store, digest, &state, max_rrsets).map_err(|e| {
            IngestError::Write {
                path: input.to_string(),
                message: format!("starting the writer thread: {e}"),
            }
        })?;
        read_and_write(input, options, max_rrsets, writer, stats, progress, report)
    })
}

/// Reads `input` and writes its batches through `writer`, then waits until they are durable
/// and completes `report`.
fn read_and_write(
    input: &Input,
    options: &IngestOptions,
    max_rrsets: usize,
    mut writer: BatchWriter<'_>,
    stats: &mut IngestStats,
    progress: &mut dyn FnMut(u64),
    mut report: InputReport,
) -> Result<InputReport, IngestError> {
    let files = input.files().len() as u64;
    let outcome = match input {
        Input::File(file) if file.format == InputFormat::Dnstap => {
            read_dnstap(file, options, max_rrsets, &mut writer, stats, progress)
        }
        Input::File(file) if file.format != InputFormat::Capture => read_text(
            file,
            &options.stop,
            max_rrsets,
            &mut writer,
            stats,
            progress,
        ),
        _ => read_captures(
            input.files(),
            options,
            max_rrsets,
            &mut writer,
            stats,
            progress,
        ),
    };
    // What was handed over is durable (or failed) before anything is reported.
    let outcome = outcome
        .and_then(|outcome| writer.wait().map(|()| outcome))
        .map_err(|e| IngestError::Write {
            path: input.to_string(),
            message: e.to_string(),
        })?;
    match outcome {
        Outcome::Finished { damage } => {
            writer.finish()?;
            report.damage = damage;
            stats.ingest.inputs_done += files;
            if let Input::CaptureSet(_) = input {
                stats.ingest.captures_read_as_one_stream += files;
            }
        }
        Outcome::Interrupted => report.interrupted = true,
    }
    report.batches_written = writer.batches_written();
    report.batches_skipped = writer.batches_skipped();
    report.rows_written = writer.rows_written();
    stats.ingest.rows_written += report.rows_written;
    stats.ingest.batches_written += report.batches_written;
    stats.ingest.batches_skipped += report.batches_skipped;
    Ok(report)
}

/// Captures, one after another, through one decoder and one sensor: one capture on its own,
/// or the pieces of a capture set. Damage ends a file, not the stream.
fn read_captures(
    files: &[InputFile],
    options: &IngestOptions,
    max_rrsets: usize,
    writer: &mut BatchWriter<'_>,
    stats: &mut IngestStats,
    progress: &mut dyn FnMut(u64),
) -> Result<Outcome, SinkError> {
    let mut decoder = Decoder::new(DecoderConfig {
        dns_ports: options.sensor.dns_ports.clone(),
        ..DecoderConfig::default()
    });
    let mut sensor = batch_sensor(options, max_rrsets, writer);
    let mut damage = Vec::new();
    let mut bytes_before = 0;
    for file in files {
        let mut file_progress = |bytes| progress(bytes_before + bytes);
        let stream = (&mut decoder, &mut sensor);
        match feed_capture(&file.path, stream, &options.stop, &mut file_progress)? {
            Fed::Interrupted => return Ok(Outcome::Interrupted),
            Fed::End {
                bytes,
                damage: found,
            } => {
                bytes_before += bytes;
                if let Some(message) = found {
                    let path = file.path.clone();
                    damage.push(Damage { path, message });
                }
            }
        }
    }
    decoder.finish();
    let (_, sensor_stats) = sensor.finish()?;
    stats.capture.merge(decoder.stats());
    stats.sensor.merge(&sensor_stats);
    Ok(Outcome::Finished { damage })
}

/// How feeding one capture to the stream ended.
enum Fed {
    /// At its end, or at damage that ends it; `bytes` of the file were read.
    End {
        bytes: u64,
        damage: Option<String>,
    },
    Interrupted,
}

/// One capture's frames into the decoder, its DNS payloads into the sensor.
fn feed_capture(
    path: &Path,
    (decoder, sensor): (&mut Decoder, &mut Sensor<SensorSink<'_, '_>>),
    stop: &AtomicBool,
    progress: &mut dyn FnMut(u64),
) -> Result<Fed, SinkError> {
    let mut reader = match CaptureReader::open(path) {
        Ok(reader) => reader,
        Err(error) => {
            let damage = Some(error.to_string());
            return Ok(Fed::End { bytes: 0, damage });
        }
    };
    let mut failure: Option<SinkError> = None;
    let mut damage = None;
    let mut frames = 0u64;
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(Fed::Interrupted);
        }
        match reader.next_frame() {
            Ok(Some(frame)) => decoder.decode(&frame, &mut |payload| {
                if failure.is_none() {
                    failure = sensor.handle(payload).err();
                }
            }),
            Ok(None) => break,
            Err(error) => {
                damage = Some(error.to_string());
                break;
            }
        }
        if let Some(error) = failure.take() {
            return Err(error);
        }
        frames += 1;
        if frames.is_multiple_of(16 * 1024) {
            progress(reader.bytes_read());
        }
    }
    let bytes = reader.bytes_read();
    progress(bytes);
    Ok(Fed::End { bytes, damage })
}

/// Sensor output goes to the batch writer as sensor-side rows.
struct SensorSink<'w, 's> {
    writer: &'w mut BatchWriter<'s>,
}

/// A sensor whose output goes to the batch writer, flushing by count only (never by the
/// clock), so that reading the input again yields the same batches.
fn batch_sensor<'w, 's>(
    options: &IngestOptions,
    max_rrsets: usize,
    writer: &'w mut BatchWriter<'s>,
) -> Sensor<SensorSink<'w, 's>> {
    let config = SensorConfig {
        max_rrsets,
        flush_interval_nanos: None,
        ..options.sensor.clone()
    };
    Sensor::new(config, SensorSink { writer })
}

/// A dnstap file (a resolver's RESOLVER_QUERY/RESPONSE log) through the sensor, with the
/// bailiwick each response names. Damage ends the file; what came before is stored.
fn read_dnstap(
    file: &InputFile,
    options: &IngestOptions,
    max_rrsets: usize,
    writer: &mut BatchWriter<'_>,
    stats: &mut IngestStats,
    progress: &mut dyn FnMut(u64),
) -> Result<Outcome, SinkError> {
    let damaged = |message: String| Damage {
        path: file.path.clone(),
        message,
    };
    let (content, counted) = detect::open_decompressed(&file.path)?;
    let mut reader = match dnsledger_dnstap::FileReader::new(content) {
        Ok(reader) => reader,
        Err(error) => {
            return Ok(Outcome::Finished {
                damage: vec![damaged(error.to_string())],
            })
        }
    };
    let mut sensor = batch_sensor(options, max_rrsets, writer);
    let mut feeder = dnsledger_dnstap::Feeder::new(options.sensor.accept_recursion_desired);
    let mut frames = 0u64;
    let end = dnsledger_dnstap::feed_file(&mut reader, &mut feeder, &mut sensor, || {
        if options.stop.load(Ordering::Relaxed) {
            return std::ops::ControlFlow::Break(());
        }
        frames += 1;
        if frames.is_multiple_of(16 * 1024) {
            progress(counted.get());
        }
        std::ops::ControlFlow::Continue(())
    })?;
    progress(counted.get());
    let damage = match end {
        dnsledger_dnstap::FileEnd::Interrupted => return Ok(Outcome::Interrupted),
        dnsledger_dnstap::FileEnd::Complete => Vec::new(),
        dnsledger_dnstap::FileEnd::Damaged(error) => vec![damaged(error.to_string())],
    };
    let (_, sensor_stats) = sensor.finish()?;
    stats.sensor.merge(&sensor_stats);
    stats.dnstap.merge(feeder.stats());
    Ok(Outcome::Finished { damage })
}

impl ObservationSink for SensorSink<'_, '_> {
    fn accept(&mut self, batch: Vec<Observation>) -> Result<(), SinkError> {
        self.writer.write(batch, Vec::new())
    }
}

/// COF or passivedns lines, aggregated per source, written in batches of `max_rrsets`.
fn read_text(
    file: &InputFile,
    stop: &AtomicBool,
    max_rrsets: usize,
    writer: &mut BatchWriter<'_>,
    stats: &mut IngestStats,
    progress: &mut dyn FnMut(u64),
) -> Result<Outcome, SinkError> {
    let (input, counted) = detect::open_decompressed(&file.path)?;
    let mut sensor_rows = Aggregator::new(max_rrsets);
    let mut zone_rows = Aggregator::new(max_rrsets);
    for (index, line) in BufReader::new(input).lines().enumerate() {
        if stop.load(Ordering::Relaxed) {
            return Ok(Outcome::Interrupted);
        }
        let line = match line {
            Ok(line) => line,
            Err(error) => {
                let damage = vec![Damage {
                    path: file.path.clone(),
                    message: format!("line {}: {error}", index + 1),
                }];
                return Ok(Outcome::Finished { damage });
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        stats.ingest.lines += 1;
        let parsed = match file.format {
            InputFormat::Cof => text::cof_line(&line),
            _ => text::passivedns_line(&line).map(|obs| (Source::Sensor, obs)),
        };
        match parsed {
            Ok((Source::Sensor, obs)) => sensor_rows.merge(obs),
            Ok((Source::ZoneFile, obs)) => zone_rows.merge(obs),
            Err(reason) => stats.reject(reason),
        }
        if sensor_rows.is_full() || zone_rows.is_full() {
            writer.write(sensor_rows.drain(), zone_rows.drain())?;
        }
        if index.is_multiple_of(16 * 1024) {
            progress(counted.get());
        }
    }
    progress(counted.get());
    if !sensor_rows.is_empty() || !zone_rows.is_empty() {
        writer.write(sensor_rows.drain(), zone_rows.drain())?;
    }
    Ok(Outcome::Finished { damage: Vec::new() })
}
