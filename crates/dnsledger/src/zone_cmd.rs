//! `dnsledger import-zone` (master files into the store as zone-file rows) and
//! `dnsledger zone-export` (a zone rebuilt from history as a master file).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use anyhow::{Context, Result};
use clap::Args;
use dnsledger_query::{timefmt, BadQuery};
use dnsledger_store::{Access, Store};
use dnsledger_wire::NameBuf;
use dnsledger_zone::{
    export_zone, import, ExportOptions, ExportSummary, ImportOptions, ImportReport, ImportState,
    Window, ZoneError,
};

use crate::exit;
use crate::sensor_cmd::write_stats_json;

#[derive(Args, Debug)]
pub struct ImportZoneArgs {
    /// The store directory (created when missing).
    #[arg(long, default_value = "./dnsledger-data", value_name = "DIR")]
    db: PathBuf,
    /// The zone: the origin the files start with and the bailiwick of every row. Records
    /// outside it are counted and skipped.
    #[arg(long, value_name = "ZONE")]
    origin: String,
    /// The zone time of this import (epoch seconds, `YYYY-MM-DD[ HH:MM:SS]`, `-SECONDS` or
    /// `1w2d` ago). Default: the newest modification time of the FILEs.
    #[arg(long, value_name = "TIME")]
    time: Option<String>,
    /// RRsets per atomic write.
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    batch_rrsets: usize,
    /// Also write every counter as one JSON object to this file.
    #[arg(long, value_name = "PATH")]
    stats_json: Option<PathBuf>,
    /// Master files of the zone, or `dig`/`kdig` AXFR output, gzip-compressed or not;
    /// several are read as one zone, in this order.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

pub fn import_zone(args: &ImportZoneArgs) -> Result<u8> {
    let zone = zone_name(&args.origin)?;
    let time = match &args.time {
        Some(text) => parse_time(text)?,
        None => newest_modification(&args.files)?,
    };
    let options = ImportOptions {
        batch_rrsets: args.batch_rrsets,
        ..ImportOptions::new(zone.clone(), time)
    };
    let store = Store::open(&args.db, Access::ReadWrite)
        .with_context(|| format!("opening the store {}", args.db.display()))?;
    let report = match import(&store, &args.files, &options) {
        Ok(report) => report,
        Err(ZoneError::Store(error)) => return Err(error).context("the store failed"),
        Err(error) => {
            eprintln!("dnsledger import-zone: error: {error}; nothing was imported");
            return Ok(exit::ERROR);
        }
    };
    tell(&zone, &report);
    let counters = report.stats.counters();
    for (name, value) in counters.iter().filter(|(_, v)| *v > 0) {
        eprintln!("{name} {value}");
    }
    if let Some(path) = &args.stats_json {
        write_stats_json(path, counters.into_iter())?;
    }
    Ok(match report.stats.read.entries_bad {
        0 => exit::OK,
        _ => exit::DAMAGED_INPUT,
    })
}

/// Tells what became of the import: its state before, its bad entries, what was written.
fn tell(zone: &NameBuf, report: &ImportReport) {
    let stats = &report.stats;
    match report.before {
        ImportState::Done => eprintln!(
            "dnsledger import-zone: {zone}: these files were imported before (zone/{}), skipped",
            report.digest
        ),
        ImportState::Partial { batches, .. } => {
            eprintln!("dnsledger import-zone: {zone}: resumed after {batches} durable batches")
        }
        ImportState::New => {}
    }
    for problem in &report.problems {
        eprintln!("dnsledger import-zone: warning: {problem}; entry skipped");
    }
    let unreported = stats.read.entries_bad - report.problems.len() as u64;
    if unreported > 0 {
        eprintln!("dnsledger import-zone: warning: {unreported} more bad entries skipped");
    }
    if stats.read.generate_skipped > 0 {
        eprintln!(
            "dnsledger import-zone: warning: $GENERATE is not supported: {} directives skipped",
            stats.read.generate_skipped
        );
    }
    eprintln!(
        "dnsledger import-zone: {zone}: {} records read, {} RRsets written in {} batches \
         (durable) at zone time {}",
        stats.read.records_read,
        stats.rrsets_written,
        stats.batches_written,
        timefmt::format(report.time)
    );
}

/// The latest modification time of the files, in epoch seconds.
fn newest_modification(files: &[PathBuf]) -> Result<i64> {
    let mut newest = 0i64;
    for path in files {
        let modified = std::fs::metadata(path)
            .and_then(|m| m.modified())
            .with_context(|| format!("{}: reading its modification time", path.display()))?;
        let seconds = modified
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        newest = newest.max(seconds);
    }
    Ok(newest)
}

#[derive(Args, Debug)]
pub struct ZoneExportArgs {
    /// The store directory.
    #[arg(long, default_value = "./dnsledger-data", value_name = "DIR")]
    db: PathBuf,
    /// The zone to rebuild.
    #[arg(value_name = "ZONE")]
    zone: String,
    /// Only rows seen at this time (epoch seconds, `YYYY-MM-DD[ HH:MM:SS]`, `-SECONDS` or
    /// `1w2d` ago). Default: the whole history.
    #[arg(long, value_name = "TIME", conflicts_with = "between")]
    at: Option<String>,
    /// Only rows seen at some time between A and B (inclusive).
    #[arg(long, num_args = 2, value_names = ["A", "B"])]
    between: Option<Vec<String>>,
    /// Write the master file here (replaced only when complete) instead of standard output.
    #[arg(long, short, value_name = "PATH")]
    output: Option<PathBuf>,
}

pub fn zone_export(args: &ZoneExportArgs) -> Result<u8> {
    let zone = zone_name(&args.zone)?;
    let window = window(args)?;
    let store = Store::open(&args.db, Access::ReadOnly)
        .with_context(|| format!("opening the store {}", args.db.display()))?;
    let options = ExportOptions {
        window,
        deadline: None,
    };
    let exported = match &args.output {
        Some(path) => export_to_file(&store, &zone, &options, path),
        None => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            export_zone(&store, &zone, &options, &mut out)
        }
    };
    match exported {
        Ok(summary) => {
            tell_export(&zone, &summary);
            Ok(exit::OK)
        }
        Err(error @ ZoneError::NothingObserved { .. }) => {
            eprintln!("dnsledger zone-export: {error}");
            Ok(exit::ERROR)
        }
        Err(error) => Err(error).context("exporting the zone"),
    }
}

/// Writes into a temporary file beside `path`, renamed into place once complete.
fn export_to_file(
    store: &Store,
    zone: &NameBuf,
    options: &ExportOptions,
    path: &Path,
) -> Result<ExportSummary, ZoneError> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    let io_error = |source| ZoneError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file =
        tempfile::NamedTempFile::new_in(dir.unwrap_or(Path::new("."))).map_err(io_error)?;
    let summary = {
        let mut out = std::io::BufWriter::new(file.as_file_mut());
        let summary = export_zone(store, zone, options, &mut out)?;
        out.flush().map_err(ZoneError::Write)?;
        summary
    };
    file.persist(path).map_err(|e| io_error(e.error))?;
    Ok(summary)
}

fn tell_export(zone: &NameBuf, summary: &ExportSummary) {
    eprintln!(
        "dnsledger zone-export: {zone}: {} RRsets written ({} chosen among versions), {} as \
         comments{}",
        summary.rrsets,
        summary.rrsets_with_versions,
        summary.rrsets_commented,
        match summary.soa_synthesized {
            true => "; no SOA observed: one synthesized",
            false => "",
        }
    );
    if summary.name_servers_without_address > 0 {
        eprintln!(
            "dnsledger zone-export: warning: {} in-zone name servers of the apex have no \
             address observed; named-checkzone will refuse the file",
            summary.name_servers_without_address
        );
    }
}

fn window(args: &ZoneExportArgs) -> Result<Window> {
    if let Some(at) = &args.at {
        return Ok(Window::At(parse_time(at)?));
    }
    let Some([from, to]) = args.between.as_deref() else {
        return Ok(Window::Whole);
    };
    let (from, to) = (parse_time(from)?, parse_time(to)?);
    if from > to {
        return Err(BadQuery("--between: the first time is after the second".into()).into());
    }
    Ok(Window::Between(from, to))
}

fn zone_name(text: &str) -> Result<NameBuf> {
    NameBuf::from_text(text).map_err(|e| BadQuery(format!("bad zone name {text:?}: {e}")).into())
}

fn parse_time(text: &str) -> Result<i64> {
    timefmt::parse(text, crate::now()).map_err(|e| BadQuery(e).into())
}
