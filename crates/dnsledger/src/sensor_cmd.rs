//! `dnsledger sensor --read FILE...`: captures in, COF NDJSON RRsets out.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{ArgGroup, Args};
use dnsledger_capture::{CaptureReader, DecodeStats, Decoder, DecoderConfig};
use dnsledger_rrset::SinkError;
use dnsledger_sensor::{RootHints, Sensor, SensorStats};
use indicatif::{ProgressBar, ProgressStyle};

use crate::exit;
use crate::output::{OutputSink, SubmitArgs};
use crate::sensor_dnstap::{DnstapArgs, DnstapInput};
use crate::sensor_options::{SensorOptions, PRIVACY};

#[derive(Args, Debug)]
#[command(after_help = PRIVACY)]
// A live capture is an input of its own: neither files nor dnstap beside it. (Its options
// need a group of their own: clap waives `requires` for an argument in conflict.)
#[command(group(ArgGroup::new("live_capture")
    .args(["interface"])
    .conflicts_with_all(["read", "dnstap"])))]
#[command(group(ArgGroup::new("live_capture_options")
    .args(["filter", "workers", "ring_mib", "metrics_listen"])
    .multiple(true)
    .conflicts_with_all(["read", "dnstap"])))]
pub struct SensorArgs {
    /// Capture files to read (pcap, pcapng, dnstap, any gzip-compressed; `-` = standard
    /// input, a capture). Read in order through one sensor, so a query in one file pairs with
    /// its response in the next.
    #[arg(long = "read", short = 'r', required_unless_present_any = ["dnstap", "interface"], num_args = 1.., value_name = "FILE")]
    read: Vec<PathBuf>,

    #[command(flatten)]
    dnstap: DnstapArgs,

    #[command(flatten)]
    live: crate::live::LiveArgs,

    /// With --interface: serve the counters in Prometheus' text format at
    /// http://ADDR:PORT/metrics.
    #[arg(long, value_name = "ADDR:PORT", requires = "interface")]
    metrics_listen: Option<SocketAddr>,

    /// Where the aggregated RRsets go: a file of COF NDJSON (`-` = standard output), a
    /// dnsledger server (`http(s)://HOST:PORT`, batches submitted with the options below),
    /// NATS JetStream (`nats://HOST:PORT[,HOST:PORT...]`, batches published with the same
    /// spool and the --nats-* options), or a local store written directly (`db:DIR`).
    #[arg(long, short = 'o', default_value = "-", value_name = "PATH|URL|db:DIR")]
    output: PathBuf,

    #[command(flatten)]
    submit: SubmitArgs,

    /// Also write every counter as one JSON object to this file.
    #[arg(long, value_name = "PATH")]
    stats_json: Option<PathBuf>,

    #[command(flatten)]
    sensor: SensorOptions,
}

pub fn run(args: &SensorArgs) -> Result<u8> {
    let config = args.sensor.config()?;
    let flush_interval = args.sensor.flush_interval()?;
    let output = OutputSink::open(&args.output, &args.submit)?;
    if let Some(interface) = &args.live.interface {
        let live = crate::live::LiveRun {
            interface,
            metrics_listen: args.metrics_listen,
            stats_json: args.stats_json.as_deref(),
        };
        return live.run(&args.live, config, flush_interval, output);
    }
    let mut decoder = Decoder::new(DecoderConfig {
        dns_ports: config.dns_ports.clone(),
        ..DecoderConfig::default()
    });
    let mut sensor = Sensor::new(config, output);
    let progress = progress_bar(&args.read);
    let mut dnstap = DnstapInput::new(&args.dnstap, args.sensor.accept_rd);
    let mut status = exit::OK;
    for path in &args.read {
        let outcome = match DnstapInput::claims(path) {
            true => dnstap.read_file(path, &mut sensor, &progress)?,
            false => read_capture(path, &mut decoder, &mut sensor, &progress)?,
        };
        status = status.max(outcome);
    }
    progress.finish_and_clear();
    dnstap.receive_until_signal(&mut sensor, flush_interval)?;
    decoder.finish();
    let (output, sensor_stats) = sensor.finish().context("writing the output")?;
    let (submit_stats, output_status) = output.finish()?;
    report(
        decoder.stats(),
        &sensor_stats,
        &submit_stats,
        &dnstap.counters(),
        args.stats_json.as_deref(),
    )?;
    Ok(status.max(output_status))
}

/// Root hints from a named.root-format file, or the IANA root servers.
pub fn load_root_hints(path: Option<&Path>) -> Result<RootHints> {
    let Some(path) = path else {
        return Ok(RootHints::iana());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading root hints {}", path.display()))?;
    RootHints::parse(&text).with_context(|| format!("in {}", path.display()))
}

/// A byte progress bar over all inputs; invisible when stderr is not a terminal.
pub fn progress_bar(paths: &[PathBuf]) -> ProgressBar {
    let total: u64 = paths
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// The progress bar takes a lock; updating it every frame would cost more than decoding.
const PROGRESS_EVERY_FRAMES: u64 = 16 * 1024;

/// Reads one capture through the decoder into the sensor. A file that cannot be opened is
/// an error line and `exit::ERROR`; damage part-way is reported and `exit::DAMAGED_INPUT`;
/// only a failing output aborts the run.
fn read_capture(
    path: &Path,
    decoder: &mut Decoder,
    sensor: &mut Sensor<OutputSink>,
    progress: &ProgressBar,
) -> Result<u8> {
    let mut reader = match CaptureReader::open(path) {
        Ok(reader) => reader,
        Err(error) => {
            eprintln!("dnsledger: error: {}: {error}", path.display());
            return Ok(exit::ERROR);
        }
    };
    progress.set_message(path.display().to_string());
    let start = progress.position();
    let mut sink_error: Option<SinkError> = None;
    let mut status = exit::OK;
    let mut frames: u64 = 0;
    loop {
        match reader.next_frame() {
            Ok(Some(frame)) => decoder.decode(&frame, &mut |payload| {
                if sink_error.is_none() {
                    sink_error = sensor.handle(payload).err();
                }
            }),
            Ok(None) => break,
            Err(error) => {
                eprintln!(
                    "dnsledger: warning: {}: {error}; the data before it was used",
                    path.display()
                );
                status = exit::DAMAGED_INPUT;
                break;
            }
        }
        if let Some(error) = sink_error.take() {
            return Err(error).context("writing the output");
        }
        frames += 1;
        if frames.is_multiple_of(PROGRESS_EVERY_FRAMES) {
            progress.set_position(start + reader.bytes_read());
        }
    }
    progress.set_position(start + reader.bytes_read());
    Ok(status)
}

/// What happened, in one line: input, pairing, use, output.
fn summary_line(capture: &DecodeStats, sensor: &SensorStats) -> String {
    let dropped = sensor.responses - sensor.responses_used;
    format!(
        "dnsledger sensor: {} frames, {} DNS messages, {} queries, {} responses ({} paired, {} used, \
         {dropped} dropped), {} RRset observations, {} RRsets written",
        capture.frames,
        sensor.messages,
        sensor.queries,
        sensor.responses,
        sensor.pairs,
        sensor.responses_used,
        sensor.rrsets_accepted,
        sensor.rrsets_flushed,
    )
}

/// Counters on stderr, every non-zero one by name; optionally all of them as JSON.
fn report(
    capture: &DecodeStats,
    sensor: &SensorStats,
    submit: &[(&'static str, u64)],
    dnstap: &[(&'static str, u64)],
    json_path: Option<&Path>,
) -> Result<()> {
    let mut err = std::io::stderr().lock();
    writeln!(err, "{}", summary_line(capture, sensor))?;
    let capture = capture.counters();
    let sensor = sensor.counters();
    for (section, counters) in [
        ("capture", &capture[..]),
        ("sensor", &sensor),
        ("submit", submit),
        ("dnstap", dnstap),
    ] {
        for (name, value) in counters.iter().filter(|(_, v)| *v > 0) {
            writeln!(err, "{section}.{name} {value}")?;
        }
    }
    if let Some(path) = json_path {
        let all = capture.iter().map(|(n, v)| (format!("capture.{n}"), *v));
        let all: Vec<(String, u64)> = all
            .chain(sensor.iter().map(|(n, v)| (format!("sensor.{n}"), *v)))
            .chain(submit.iter().map(|(n, v)| (format!("submit.{n}"), *v)))
            .chain(dnstap.iter().map(|(n, v)| (format!("dnstap.{n}"), *v)))
            .collect();
        write_stats_json(path, all.iter().map(|(n, v)| (n.as_str(), *v)))?;
    }
    Ok(())
}

/// Every counter as one JSON object, for scripts and tests.
pub fn write_stats_json<'a>(
    path: &Path,
    counters: impl Iterator<Item = (&'a str, u64)>,
) -> Result<()> {
    let object: serde_json::Map<String, serde_json::Value> =
        counters.map(|(n, v)| (n.to_string(), v.into())).collect();
    std::fs::write(path, serde_json::to_string_pretty(&object)? + "\n")
        .with_context(|| format!("writing {}", path.display()))
}
