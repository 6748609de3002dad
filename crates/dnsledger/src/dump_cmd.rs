//! `dnsledger dump` (every row as COF NDJSON, in key order) and `dnsledger stats`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use dnsledger_store::{Access, Family, Store};

use crate::exit;
use dnsledger_query::{cof_object, timefmt, Presented, Shape, Summary};

#[derive(Args, Debug)]
pub struct DumpArgs {
    /// The store directory.
    #[arg(long, default_value = "./dnsledger-data", value_name = "DIR")]
    db: PathBuf,
    /// Dump the per-RR rdata rows instead of the RRset rows.
    #[arg(long)]
    rdata: bool,
    /// With each row's per-day observation histogram (field `activity`).
    #[arg(long)]
    activity: bool,
}

pub fn dump(args: &DumpArgs) -> Result<u8> {
    let store = Store::open(&args.db, Access::ReadOnly)
        .with_context(|| format!("opening the store {}", args.db.display()))?;
    let family = if args.rdata {
        Family::Rdata
    } else {
        Family::RRsets
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let shape = Shape {
        periods: false,
        activity: args.activity,
    };
    for row in shape.apply(store.all_rows(family)) {
        writeln!(out, "{}", cof_object(&Presented::from(&row?)))?;
    }
    out.flush()?;
    Ok(exit::OK)
}

/// `stats --history`: no deadline, this is the offline way to the numbers.
fn history(store: &Store, args: &StatsArgs) -> Result<u8> {
    let mut out = std::io::stdout().lock();
    let no_deadline = std::time::Instant::now() + std::time::Duration::from_secs(u32::MAX.into());
    let trends = dnsledger_store::trends(store, no_deadline)?;
    let answer = dnsledger_query::trends::trends_json(&trends, args.days, args.tlds);
    writeln!(out, "{}", serde_json::to_string_pretty(&answer)?)?;
    Ok(exit::OK)
}

#[derive(Args, Debug)]
pub struct StatsArgs {
    /// The store directory.
    #[arg(long, default_value = "./dnsledger-data", value_name = "DIR")]
    db: PathBuf,
    /// Also check that every key and value decodes and every index entry points at a row.
    #[arg(long)]
    verify: bool,
    /// Instead: the statistics pages' numbers as JSON (new names per day and TLD, IPv6 and
    /// DNSSEC-signed shares per day), from one full scan.
    #[arg(long, conflicts_with = "verify")]
    history: bool,
    /// With --history: the days shown, counted back from the latest.
    #[arg(long, default_value_t = 90, value_name = "N", requires = "history")]
    days: u32,
    /// With --history: the top-level domains listed, most new names first.
    #[arg(long, default_value_t = 10, value_name = "N", requires = "history")]
    tlds: usize,
}

pub fn stats(args: &StatsArgs) -> Result<u8> {
    let store = Store::open(&args.db, Access::ReadOnly)
        .with_context(|| format!("opening the store {}", args.db.display()))?;
    if args.history {
        return history(&store, args);
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "format_version {}", store.format_version()?)?;
    for (name, family) in [
        ("rrset_rows", Family::RRsets),
        ("rdata_rows", Family::Rdata),
    ] {
        let mut summary = Summary::default();
        for row in store.all_rows(family) {
            let row = row?;
            summary.add(&row.seen, row.source);
        }
        writeln!(out, "{name} {}", summary.num_results)?;
        if family == Family::RRsets {
            writeln!(out, "observations {}", summary.count)?;
            if let Some((first, last)) = summary.sensor {
                writeln!(
                    out,
                    "time_range {} .. {}",
                    timefmt::format(first),
                    timefmt::format(last)
                )?;
            }
        }
    }
    writeln!(out, "bytes_on_disk {}", dir_size(&args.db)?)?;
    if args.verify {
        let problems = store.verify()?;
        for problem in &problems {
            writeln!(out, "problem {problem}")?;
        }
        writeln!(
            out,
            "verify {}",
            if problems.is_empty() { "ok" } else { "FAILED" }
        )?;
        if !problems.is_empty() {
            return Ok(exit::ERROR);
        }
    }
    Ok(exit::OK)
}

fn dir_size(dir: &std::path::Path) -> Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() {
            dir_size(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}
