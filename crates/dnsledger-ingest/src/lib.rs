//! Inputs into the history store, exactly once.
//!
//! What it is: [`ingest`] reads one input — a capture (pcap, pcapng; through the sensor), COF
//! NDJSON (our `sensor` output, DNSDB `-j`, CIRCL) or a gamelinux passivedns log, any of them
//! gzip-compressed, the format told by the content — and writes its observations to a
//! [`Store`] in atomic batches, recording after each batch how far the input got.
//!
//! What it is not: it parses nothing itself (`dnsledger-capture`, `dnsledger-wire`) and keeps
//! no state outside the store.
//!
//! Exactly once: inputs are known by the SHA-256 of their bytes. Every reader is
//! deterministic (the sensor and the text readers flush by count and packet time only), so
//! reading an input again yields the same batches in the same order; a batch and its
//! progress record (`input/<sha256>` = `partial <max_rrsets> <batches>`, then `done`) are
//! one atomic write. An ingest killed at any moment leaves a consistent store, and running
//! it again skips the batches already written and the inputs already done.

mod detect;
mod progress;
mod stats;
mod text;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use dnsledger_capture::{CaptureReader, Decoder, DecoderConfig};
use dnsledger_rrset::{Observation, ObservationSink, SinkError};
use dnsledger_sensor::{Aggregator, Sensor, SensorConfig};
use dnsledger_store::keys::Source;
use dnsledger_store::{Store, StoreError};

pub use detect::InputFormat;
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
    #[error("{path}: not a capture, COF NDJSON or passivedns log (first bytes {start:02x?})")]
    UnknownFormat { path: String, start: Vec<u8> },
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
    /// Damage that ended the input early (a truncated capture); what came before is stored.
    pub damage: Option<String>,
    /// Stopped by `IngestOptions::stop`: the input is partly ingested and resumes next time.
    pub interrupted: bool,
}

/// How reading an input ended.
enum Outcome {
    /// At its end, or at damage that ends it.
    Finished { damage: Option<String> },
    /// At a stop request.
    Interrupted,
}

/// Reads one input (`-` = standard input, which cannot be resumed) into the store.
/// `progress` is called with the bytes read so far; `stats` gathers every counter.
pub fn ingest(
    store: &Store,
    path: &Path,
    options: &IngestOptions,
    stats: &mut IngestStats,
    progress: &mut dyn FnMut(u64),
) -> Result<InputReport, IngestError> {
    let display = path.display().to_string();
    let read_error = |source| IngestError::Read {
        path: display.clone(),
        source,
    };
    let digest = match path.as_os_str() == "-" {
        true => None,
        false => Some(progress::sha256_file(path).map_err(read_error)?),
    };
    let format =
        detect::detect(path)
            .map_err(read_error)?
            .ok_or_else(|| IngestError::UnknownFormat {
                path: display.clone(),
                start: detect::first_bytes(path).unwrap_or_default(),
            })?;
    let state = match &digest {
        Some(digest) => progress::state(store, digest)?,
        None => InputState::New,
    };
    let mut report = InputReport {
        format,
        before: state.clone(),
        batches_written: 0,
        batches_skipped: 0,
        rows_written: 0,
        damage: None,
        interrupted: false,
    };
    if state == InputState::Done {
        stats.ingest.inputs_already_done += 1;
        return Ok(report);
    }
    let max_rrsets = match state {
        InputState::Partial { max_rrsets, .. } => max_rrsets,
        _ => options.max_rrsets,
    };
    let mut writer = BatchWriter::new(store, digest, &state, max_rrsets);
    let outcome = match format {
        InputFormat::Capture => {
            read_capture(path, options, max_rrsets, &mut writer, stats, progress)
        }
        InputFormat::Cof | InputFormat::PassiveDns => read_text(
            path,
            format,
            &options.stop,
            max_rrsets,
            &mut writer,
            stats,
            progress,
        ),
    };
    let outcome = outcome.map_err(|e| IngestError::Write {
        path: display.clone(),
        message: e.to_string(),
    })?;
    match outcome {
        Outcome::Finished { damage } => {
            writer.finish()?;
            report.damage = damage;
            stats.ingest.inputs_done += 1;
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

/// A capture through the decoder and the sensor. Returns the damage that ended it, if any.
fn read_capture(
    path: &Path,
    options: &IngestOptions,
    max_rrsets: usize,
    writer: &mut BatchWriter<'_>,
    stats: &mut IngestStats,
    progress: &mut dyn FnMut(u64),
) -> Result<Outcome, SinkError> {
    let mut reader = match CaptureReader::open(path) {
        Ok(reader) => reader,
        Err(error) => {
            return Ok(Outcome::Finished {
                damage: Some(error.to_string()),
            })
        }
    };
    let mut decoder = Decoder::new(DecoderConfig {
        dns_ports: options.sensor.dns_ports.clone(),
        ..DecoderConfig::default()
    });
    let config = SensorConfig {
        max_rrsets,
        flush_interval_nanos: None,
        ..options.sensor.clone()
    };
    let mut sensor = Sensor::new(config, SensorSink { writer });
    let mut failure: Option<SinkError> = None;
    let mut damage = None;
    let mut frames = 0u64;
    loop {
        if options.stop.load(Ordering::Relaxed) {
            return Ok(Outcome::Interrupted);
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
    progress(reader.bytes_read());
    decoder.finish();
    let (_, sensor_stats) = sensor.finish()?;
    stats.capture.merge(decoder.stats());
    stats.sensor.merge(&sensor_stats);
    Ok(Outcome::Finished { damage })
}

/// Sensor output goes to the batch writer as sensor-side rows.
struct SensorSink<'w, 's> {
    writer: &'w mut BatchWriter<'s>,
}

impl ObservationSink for SensorSink<'_, '_> {
    fn accept(&mut self, batch: Vec<Observation>) -> Result<(), SinkError> {
        self.writer.write(&batch, &[])
    }
}

/// COF or passivedns lines, aggregated per source, written in batches of `max_rrsets`.
fn read_text(
    path: &Path,
    format: InputFormat,
    stop: &AtomicBool,
    max_rrsets: usize,
    writer: &mut BatchWriter<'_>,
    stats: &mut IngestStats,
    progress: &mut dyn FnMut(u64),
) -> Result<Outcome, SinkError> {
    let (input, counted) = detect::open_decompressed(path)?;
    let mut sensor_rows = Aggregator::new(max_rrsets);
    let mut zone_rows = Aggregator::new(max_rrsets);
    for (index, line) in BufReader::new(input).lines().enumerate() {
        if stop.load(Ordering::Relaxed) {
            return Ok(Outcome::Interrupted);
        }
        let line = match line {
            Ok(line) => line,
            Err(error) => {
                let damage = Some(format!("line {}: {error}", index + 1));
                return Ok(Outcome::Finished { damage });
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        stats.ingest.lines += 1;
        let parsed = match format {
            InputFormat::Cof => text::cof_line(&line),
            _ => text::passivedns_line(&line).map(|obs| (Source::Sensor, obs)),
        };
        match parsed {
            Ok((Source::Sensor, obs)) => sensor_rows.merge(obs),
            Ok((Source::ZoneFile, obs)) => zone_rows.merge(obs),
            Err(reason) => stats.reject(reason),
        }
        if sensor_rows.is_full() || zone_rows.is_full() {
            writer.write(&sensor_rows.drain(), &zone_rows.drain())?;
        }
        if index.is_multiple_of(16 * 1024) {
            progress(counted.get());
        }
    }
    progress(counted.get());
    if !sensor_rows.is_empty() || !zone_rows.is_empty() {
        writer.write(&sensor_rows.drain(), &zone_rows.drain())?;
    }
    Ok(Outcome::Finished { damage: None })
}
