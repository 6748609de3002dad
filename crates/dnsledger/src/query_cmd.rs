//! `dnsledger query`: dnsdbq's command line over the local store.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use dnsledger_query::{spec, timefmt, BadQuery, Format, Presented, Presenter, Summary};
use dnsledger_store::{Access, Lookup, Row, Store, TimeFence};

use crate::exit;

#[derive(Args, Debug)]
pub struct QueryArgs {
    /// The store directory.
    #[arg(long, default_value = "./dnsledger-data", value_name = "DIR")]
    db: PathBuf,
    /// RRsets by owner: NAME, *.SUFFIX or PREFIX.*, optionally /TYPE and /BAILIWICK.
    #[arg(short = 'r', value_name = "NAME[/TYPE[/BAILIWICK]]")]
    rrset: Option<String>,
    /// Rdata by a name inside NS, CNAME, DNAME, PTR, MX, SRV, SOA, SVCB or HTTPS rdata.
    #[arg(short = 'n', value_name = "NAME[/TYPE]")]
    rdata_name: Option<String>,
    /// Rdata by address: one address, ADDR/LEN or LO-HI (IPv4 or IPv6).
    #[arg(short = 'i', value_name = "ADDR[/LEN]|LO-HI")]
    rdata_ip: Option<String>,
    /// RRsets by owner given as hex wire bytes.
    #[arg(short = 'R', value_name = "HEX[/TYPE[/BAILIWICK]]")]
    raw_rrset: Option<String>,
    /// Rdata given as hex wire bytes.
    #[arg(short = 'N', value_name = "HEX[/TYPE]")]
    raw_rdata: Option<String>,
    /// Queries from a file (`-` = standard input), one per line: rrset/name/X[/T[/B]],
    /// rrset/raw/HEX[/T], rdata/name/X[/T], rdata/ip/X, rdata/raw/HEX[/T].
    #[arg(short = 'f', value_name = "FILE")]
    batch: Option<PathBuf>,
    /// The rrtype: a mnemonic, TYPEnnn, ANY (all but DNSSEC) or ANY-DNSSEC.
    #[arg(short = 't', value_name = "TYPE")]
    rrtype: Option<String>,
    /// Only RRsets of this bailiwick.
    #[arg(short = 'b', value_name = "BAILIWICK")]
    bailiwick: Option<String>,
    /// Only records seen after this time (with -c: first seen after it).
    #[arg(short = 'A', value_name = "TIME", allow_hyphen_values = true)]
    after: Option<String>,
    /// Only records seen before this time (with -c: last seen before it).
    #[arg(short = 'B', value_name = "TIME", allow_hyphen_values = true)]
    before: Option<String>,
    /// Complete fencing: -A and -B bound the whole first..last span.
    #[arg(short = 'c')]
    complete: bool,
    /// At most this many rows (0 = no limit).
    #[arg(short = 'l', default_value_t = 10_000, value_name = "N")]
    limit: u64,
    /// Skip this many rows first.
    #[arg(short = 'O', default_value_t = 0, value_name = "N")]
    offset: u64,
    /// `summarize`: one answer with the total count, rows, first and last seen.
    #[arg(short = 'V', value_name = "VERB", value_parser = ["lookup", "summarize"], default_value = "lookup")]
    verb: String,
    /// Sort ascending (-s) or descending (-S) by the -k keys.
    #[arg(short = 's', conflicts_with = "sort_descending")]
    sort_ascending: bool,
    #[arg(short = 'S')]
    sort_descending: bool,
    /// Sort keys, comma-separated: first, last, count, name, data.
    #[arg(short = 'k', value_delimiter = ',', value_parser = ["first", "last", "count", "name", "data"])]
    sort_keys: Vec<String>,
    /// Output format.
    #[arg(short = 'p', default_value = "text", value_parser = clap::value_parser!(Format))]
    format: Format,
    /// Same as -p json.
    #[arg(short = 'j')]
    json: bool,
}

fn bad<T>(message: impl Into<String>) -> Result<T> {
    Err(BadQuery(message.into()).into())
}

pub fn run(args: &QueryArgs) -> Result<u8> {
    let lookups = lookups(args)?;
    let fence = fence(args)?;
    let store = Store::open(&args.db, Access::ReadOnly)
        .with_context(|| format!("opening the store {}", args.db.display()))?;
    let format = if args.json { Format::Json } else { args.format };
    let mut presenter = Presenter::new(std::io::BufWriter::new(std::io::stdout().lock()), format);
    let mut total = 0u64;
    for (index, lookup) in lookups.iter().enumerate() {
        if lookups.len() > 1 && index > 0 {
            presenter.flush()?;
            println!("--");
        }
        total += answer(&store, lookup, fence, args, &mut presenter)?;
    }
    presenter.flush()?;
    if total == 0 {
        eprintln!("no results");
    }
    Ok(exit::OK)
}

/// Runs one lookup and prints its answer; returns the rows printed.
fn answer<W: Write>(
    store: &Store,
    lookup: &Lookup,
    fence: TimeFence,
    args: &QueryArgs,
    presenter: &mut Presenter<W>,
) -> Result<u64> {
    let mut rows = store.lookup(lookup, fence).map_err(|e| BadQuery(e.0))?;
    if args.verb == "summarize" {
        let mut summary = Summary::default();
        for row in rows.by_ref() {
            let row = row?;
            summary.add(&row.seen, row.source);
        }
        presenter.summary(&summary)?;
        report_counters(&rows.counters());
        return Ok(summary.num_results);
    }
    let limit = if args.limit == 0 {
        u64::MAX
    } else {
        args.limit
    };
    let sorted = args.sort_ascending || args.sort_descending;
    let mut printed = 0u64;
    let mut selected: Vec<Row> = Vec::new();
    for row in rows
        .by_ref()
        .skip(usize::try_from(args.offset).unwrap_or(usize::MAX))
    {
        let row = row?;
        if printed == limit {
            eprintln!(
                "dnsledger query: limited: more rows than -l {}; use -O to page",
                args.limit
            );
            break;
        }
        printed += 1;
        match sorted {
            true => selected.push(row),
            false => presenter.row(&Presented::from(&row))?,
        }
    }
    if sorted {
        sort_rows(&mut selected, &args.sort_keys, args.sort_descending);
        for row in &selected {
            presenter.row(&Presented::from(row))?;
        }
    }
    report_counters(&rows.counters());
    Ok(printed)
}

fn report_counters(counters: &dnsledger_store::QueryCounters) {
    tracing::info!(
        scanned = counters.scanned,
        filtered = counters.filtered,
        returned = counters.returned,
        "query cost"
    );
}

/// dnsdbq's sort: by the keys in order, each ascending unless -S.
fn sort_rows(rows: &mut [Row], keys: &[String], descending: bool) {
    let keys: Vec<&str> = match keys.is_empty() {
        true => vec!["first", "last", "count", "name", "data"],
        false => keys.iter().map(String::as_str).collect(),
    };
    rows.sort_by(|a, b| {
        let ordering = keys
            .iter()
            .map(|key| match *key {
                "first" => a.seen.time_first.cmp(&b.seen.time_first),
                "last" => a.seen.time_last.cmp(&b.seen.time_last),
                "count" => a.seen.count.cmp(&b.seen.count),
                "name" => a.rrname.cmp(&b.rrname),
                _ => a.rdata.cmp(&b.rdata),
            })
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal);
        if descending {
            ordering.reverse()
        } else {
            ordering
        }
    });
}

/// The time fences from -A, -B and -c.
fn fence(args: &QueryArgs) -> Result<TimeFence> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    let parse = |text: &Option<String>| {
        text.as_deref()
            .map(|t| timefmt::parse(t, now))
            .transpose()
            .map_err(BadQuery)
    };
    let (after, before) = (parse(&args.after)?, parse(&args.before)?);
    Ok(match args.complete {
        true => TimeFence {
            first_after: after,
            last_before: before,
            ..TimeFence::default()
        },
        false => TimeFence {
            last_after: after,
            first_before: before,
            ..TimeFence::default()
        },
    })
}

/// The lookups asked for: exactly one of -r -n -i -R -N, or a batch file.
fn lookups(args: &QueryArgs) -> Result<Vec<Lookup>> {
    let forms = [
        (&args.rrset, "rrset/name"),
        (&args.rdata_name, "rdata/name"),
        (&args.rdata_ip, "rdata/ip"),
        (&args.raw_rrset, "rrset/raw"),
        (&args.raw_rdata, "rdata/raw"),
    ];
    let mut given = forms
        .iter()
        .filter_map(|(value, form)| Some((value.as_ref()?, *form)));
    match (given.next(), given.next(), &args.batch) {
        (Some((value, form)), None, None) => Ok(vec![spec::from_line(
            &format!("{form}/{value}"),
            overrides(args),
        )?]),
        (None, None, Some(path)) => batch_lookups(path, args),
        _ => bad("give exactly one of -r, -n, -i, -R, -N or -f"),
    }
}

fn overrides(args: &QueryArgs) -> spec::Overrides<'_> {
    spec::Overrides {
        rrtype: args.rrtype.as_deref(),
        bailiwick: args.bailiwick.as_deref(),
    }
}

fn batch_lookups(path: &std::path::Path, args: &QueryArgs) -> Result<Vec<Lookup>> {
    let input: Box<dyn BufRead> = match path.as_os_str() == "-" {
        true => Box::new(std::io::stdin().lock()),
        false => Box::new(std::io::BufReader::new(
            std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?,
        )),
    };
    let mut lookups = Vec::new();
    for (index, line) in input.lines().enumerate() {
        let line = line?;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let lookup = spec::from_line(line, overrides(args))
            .map_err(|e| BadQuery(format!("{} line {}: {e}", path.display(), index + 1)))?;
        lookups.push(lookup);
    }
    Ok(lookups)
}
