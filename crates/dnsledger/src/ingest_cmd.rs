//! `dnsledger ingest --db DIR FILE...`: captures, COF NDJSON and passivedns logs into the store.

use std::path::PathBuf;
use std::sync::atomic::Ordering;

use anyhow::{Context, Result};
use clap::Args;
use dnsledger_ingest::{
    ingest, plan, IngestError, IngestOptions, IngestStats, Input, InputReport, InputState,
};
use dnsledger_sensor::SensorConfig;
use dnsledger_store::{Access, Store};
use indicatif::ProgressBar;

use crate::exit;
use crate::sensor_cmd::{load_root_hints, progress_bar, write_stats_json};
use crate::sensor_options::ScopeArgs;

#[derive(Args, Debug)]
pub struct IngestArgs {
    /// The store directory (created when missing).
    #[arg(long, default_value = "./dnsledger-data", value_name = "DIR")]
    db: PathBuf,
    /// Inputs: pcap/pcapng captures, COF NDJSON, passivedns logs, any gzip-compressed; the
    /// format is told by the content. The captures are read first, one after another as one
    /// stream, in the order of their first packets; then the other inputs in this order.
    /// `-` = standard input (a capture on its own; not resumable).
    #[arg(required = true, value_name = "FILE")]
    inputs: Vec<PathBuf>,
    /// Root hints for the sensor, in named.root format (default: the IANA root servers).
    #[arg(long, value_name = "FILE")]
    root_hints: Option<PathBuf>,
    /// Client-side mode for captures: also use responses to RD=1 queries, without bailiwick.
    #[arg(long)]
    accept_rd: bool,
    /// Distinct RRsets aggregated before a batch is written.
    #[arg(long, default_value_t = 500_000, value_name = "N")]
    max_rrsets: usize,
    /// Also write every counter as one JSON object to this file.
    #[arg(long, value_name = "PATH")]
    stats_json: Option<PathBuf>,
    /// Then compact the whole store into its bottom level (after a large ingest: fewer
    /// bytes, faster scans and cold lookups; takes about as long as writing it did).
    #[arg(long)]
    compact: bool,
    /// Which names captures and dnstap files may add (COF and passivedns inputs are stored
    /// as they are). A resumed ingest must be given the same scope.
    #[command(flatten)]
    scope: ScopeArgs,
}

impl IngestArgs {
    /// Captures into a store, with the defaults of the command line.
    pub fn new(db: PathBuf, inputs: Vec<PathBuf>, root_hints: Option<PathBuf>) -> IngestArgs {
        IngestArgs {
            db,
            inputs,
            root_hints,
            accept_rd: false,
            max_rrsets: 500_000,
            stats_json: None,
            compact: false,
            scope: ScopeArgs::default(),
        }
    }
}

pub fn run(args: &IngestArgs) -> Result<u8> {
    let options = IngestOptions {
        sensor: SensorConfig {
            root_hints: load_root_hints(args.root_hints.as_deref())?,
            accept_recursion_desired: args.accept_rd,
            scope: args.scope.scope()?,
            ..SensorConfig::default()
        },
        max_rrsets: args.max_rrsets,
        stop: crate::stop_on_signals()?,
    };
    let store = Store::open(&args.db, Access::Ingest).with_context(|| {
        format!(
            "opening the store {} (if another process holds its lock, e.g. a server started \
             with --accept-submissions, send to it with `dnsledger sensor --output http://...`)",
            args.db.display()
        )
    })?;
    if args.compact {
        // The compaction at the end rewrites every table: zstd before it is wasted work.
        store
            .defer_bottom_level_compression()
            .context("configuring the store for a compacted load")?;
    }
    let plan = plan(&store, &args.inputs).context("the store failed")?;
    let bar = progress_bar(&args.inputs);
    let mut stats = IngestStats::default();
    let mut status = exit::OK;
    for error in &plan.refused {
        eprintln!("dnsledger ingest: error: {error}");
        status = exit::ERROR;
    }
    for input in &plan.inputs {
        status = status.max(ingest_one(&store, input, &options, &mut stats, &bar)?);
        if options.stop.load(Ordering::Relaxed) {
            status = exit::INTERRUPTED;
            break;
        }
    }
    if args.compact && status != exit::INTERRUPTED {
        compact(&store, &bar)?;
    }
    bar.finish_and_clear();
    let one_stream = match stats.ingest.captures_read_as_one_stream {
        0 => String::new(),
        captures => format!(" ({captures} captures as one stream)"),
    };
    eprintln!(
        "dnsledger ingest: {} inputs read{one_stream}, {} already in the store; {} rows in {} batches written (durable), {} batches skipped",
        stats.ingest.inputs_done,
        stats.ingest.inputs_already_done,
        stats.ingest.rows_written,
        stats.ingest.batches_written,
        stats.ingest.batches_skipped
    );
    let counters = stats.counters();
    for (name, value) in counters.iter().filter(|(_, v)| *v > 0) {
        eprintln!("{name} {value}");
    }
    if let Some(path) = &args.stats_json {
        write_stats_json(path, counters.iter().map(|(n, v)| (n.as_str(), *v)))?;
    }
    Ok(status)
}

fn compact(store: &Store, bar: &ProgressBar) -> Result<()> {
    bar.set_message("compacting the store");
    let start = std::time::Instant::now();
    store.compact().context("compacting the store")?;
    eprintln!(
        "dnsledger ingest: compacted the store in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// One input: errors that concern only this input are reported and remembered in the exit
/// status; a failing store ends the run.
fn ingest_one(
    store: &Store,
    input: &Input,
    options: &IngestOptions,
    stats: &mut IngestStats,
    bar: &ProgressBar,
) -> Result<u8> {
    bar.set_message(input.to_string());
    if let Input::CaptureSet(_) = input {
        eprintln!("dnsledger ingest: {input}, in the order of their first packets");
    }
    let start = bar.position();
    let mut progress = |bytes: u64| bar.set_position(start + bytes);
    match ingest(store, input, options, stats, &mut progress) {
        Ok(report) => Ok(report_input(input, &report)),
        Err(IngestError::Store(error)) => Err(error).context("the store failed"),
        Err(error) => {
            eprintln!("dnsledger ingest: error: {error}");
            Ok(exit::ERROR)
        }
    }
}

/// Tells what became of one input; returns its exit status.
fn report_input(input: &Input, report: &InputReport) -> u8 {
    match report.before {
        InputState::Done => eprintln!("dnsledger ingest: {input}: already ingested, skipped"),
        InputState::Partial { batches, .. } => {
            eprintln!("dnsledger ingest: {input}: resumed after {batches} durable batches")
        }
        _ => {}
    }
    if report.interrupted {
        eprintln!("dnsledger ingest: {input}: interrupted; run the same ingest again to resume");
    }
    for damage in &report.damage {
        eprintln!(
            "dnsledger ingest: warning: {}: {}; the data before it was stored",
            damage.path.display(),
            damage.message
        );
    }
    match report.damage.is_empty() {
        true => exit::OK,
        false => exit::DAMAGED_INPUT,
    }
}
