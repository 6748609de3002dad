//! `dnsledger query`: dnsdbq's command line over the local store, or over a server with
//! `--server URL --key KEY` (same options, same output).

use std::io::{BufRead, Write};
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use dnsledger_query::{spec, timefmt, BadQuery, Format, Presented, Presenter, Shape, Summary};
use dnsledger_store::{Access, Lookup, Store, TimeFence};

use crate::exit;
use crate::remote::{self, Event};

#[derive(Args, Debug)]
pub struct QueryArgs {
    /// The store directory.
    #[arg(long, default_value = "./dnsledger-data", value_name = "DIR")]
    db: PathBuf,
    #[command(flatten)]
    remote: remote::ServerArgs,
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
    /// Unaggregated: one row per day of activity behind each aggregate (DNSDB's aggr=false).
    #[arg(short = 'g')]
    periods: bool,
    /// Show each row's per-day observation histogram (JSON field `activity`).
    #[arg(long)]
    activity: bool,
}

impl QueryArgs {
    fn shape(&self) -> Shape {
        Shape {
            periods: self.periods,
            activity: self.activity,
        }
    }
}

fn bad<T>(message: impl Into<String>) -> Result<T> {
    Err(BadQuery(message.into()).into())
}

pub fn run(args: &QueryArgs) -> Result<u8> {
    let queries = queries(args)?;
    let fence = fence(args)?;
    let source = Source::open(args)?;
    let format = if args.json { Format::Json } else { args.format };
    let mut presenter = Presenter::new(std::io::BufWriter::new(std::io::stdout().lock()), format);
    let mut total = 0u64;
    for (index, query) in queries.iter().enumerate() {
        if queries.len() > 1 && index > 0 {
            presenter.flush()?;
            println!("--");
        }
        total += answer(&source, query, fence, args, &mut presenter)?;
    }
    presenter.flush()?;
    if total == 0 {
        eprintln!("no results");
    }
    Ok(exit::OK)
}

/// Where answers come from: the local store, or a server.
enum Source {
    /// Boxed: a store handle is several times the size of a client.
    Local(Box<Store>),
    Remote(remote::Client),
}

impl Source {
    fn open(args: &QueryArgs) -> Result<Source> {
        match args.remote.client()? {
            Some(client) => Ok(Source::Remote(client)),
            None => Ok(Source::Local(Box::new(
                Store::open(&args.db, Access::ReadOnly)
                    .with_context(|| format!("opening the store {}", args.db.display()))?,
            ))),
        }
    }
}

/// One query: its form as typed (for the server's path) and as a store lookup.
struct Query {
    line: String,
    lookup: Lookup,
}

impl Query {
    fn parse(line: &str, overrides: spec::Overrides) -> Result<Query, BadQuery> {
        Ok(Query {
            line: line.to_string(),
            lookup: spec::from_line(line, overrides)?,
        })
    }

    /// The DNSDB API path of this query.
    fn path(&self, overrides: spec::Overrides) -> String {
        let segments: Vec<&str> = self.line.split('/').collect();
        spec::dnsdb_path(segments[0], segments[1], &segments[2..], overrides)
    }
}

/// Runs one query and prints its answer; returns the rows printed.
fn answer<W: Write>(
    source: &Source,
    query: &Query,
    fence: TimeFence,
    args: &QueryArgs,
    presenter: &mut Presenter<W>,
) -> Result<u64> {
    if args.verb == "summarize" {
        let summary = match source {
            Source::Local(store) => local_summary(store, &query.lookup, fence, args.shape())?,
            Source::Remote(client) => client.summarize(
                &query.path(overrides(args)),
                &server_params(args, fence, false),
            )?,
        };
        presenter.summary(&summary)?;
        return Ok(summary.num_results);
    }
    let events: Box<dyn Iterator<Item = Result<Event>>> = match source {
        Source::Local(store) => Box::new(local_events(store, &query.lookup, fence, args)?),
        Source::Remote(client) => Box::new(client.lookup(
            &query.path(overrides(args)),
            &server_params(args, fence, true),
        )?),
    };
    let sorted = args.sort_ascending || args.sort_descending;
    let mut printed = 0u64;
    let mut selected: Vec<Presented> = Vec::new();
    for event in events {
        match event? {
            Event::Limited(message) => {
                eprintln!("dnsledger query: limited: {message}; use -O to page");
                break;
            }
            Event::Row(row) if sorted => selected.push(row),
            Event::Row(row) => presenter.row(&row)?,
        }
        printed += 1;
    }
    if sorted {
        sort_rows(&mut selected, &args.sort_keys, args.sort_descending);
        for row in &selected {
            presenter.row(row)?;
        }
    }
    Ok(printed)
}

/// The parameters a server takes for what the local store does here.
fn server_params(args: &QueryArgs, fence: TimeFence, lookup: bool) -> Vec<(&'static str, String)> {
    let mut params = vec![("swclient", "dnsledger".to_string())];
    if args.periods {
        params.push(("aggr", "false".to_string()));
    }
    if args.activity {
        params.push(("activity", "true".to_string()));
    }
    if lookup {
        params.push(("limit", args.limit.to_string()));
        params.push(("offset", args.offset.to_string()));
    }
    for (name, value) in [
        ("time_first_after", fence.first_after),
        ("time_first_before", fence.first_before),
        ("time_last_after", fence.last_after),
        ("time_last_before", fence.last_before),
    ] {
        if let Some(value) = value {
            params.push((name, value.to_string()));
        }
    }
    params
}

fn local_summary(
    store: &Store,
    lookup: &Lookup,
    fence: TimeFence,
    shape: Shape,
) -> Result<Summary> {
    let mut rows = shape.apply(store.lookup(lookup, fence).map_err(|e| BadQuery(e.0))?);
    let mut summary = Summary::default();
    for row in rows.by_ref() {
        let row = row?;
        summary.add(&row.seen, row.source);
    }
    report_counters(&rows.counters());
    Ok(summary)
}

/// The store's rows after -O, up to -l, then `Limited` if more remain.
fn local_events<'a>(
    store: &'a Store,
    lookup: &Lookup,
    fence: TimeFence,
    args: &QueryArgs,
) -> Result<impl Iterator<Item = Result<Event>> + 'a> {
    let mut rows = args
        .shape()
        .apply(store.lookup(lookup, fence).map_err(|e| BadQuery(e.0))?);
    let limit = match args.limit {
        0 => u64::MAX,
        n => n,
    };
    let mut to_skip = args.offset;
    let mut emitted = 0u64;
    let limit_text = args.limit;
    Ok(std::iter::from_fn(move || loop {
        let Some(row) = rows.next() else {
            report_counters(&rows.counters());
            return None;
        };
        let row = match row {
            Ok(row) => row,
            Err(error) => return Some(Err(error.into())),
        };
        if to_skip > 0 {
            to_skip -= 1;
            continue;
        }
        if emitted == limit {
            return Some(Ok(Event::Limited(format!(
                "more rows than -l {limit_text}"
            ))));
        }
        emitted += 1;
        return Some(Ok(Event::Row(Presented::from(&row))));
    }))
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
fn sort_rows(rows: &mut [Presented], keys: &[String], descending: bool) {
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
    let now = crate::now();
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

/// The queries asked for: exactly one of -r -n -i -R -N, or a batch file.
fn queries(args: &QueryArgs) -> Result<Vec<Query>> {
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
        (Some((value, form)), None, None) => Ok(vec![Query::parse(
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

fn batch_lookups(path: &std::path::Path, args: &QueryArgs) -> Result<Vec<Query>> {
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
        let query = Query::parse(line, overrides(args))
            .map_err(|e| BadQuery(format!("{} line {}: {e}", path.display(), index + 1)))?;
        lookups.push(query);
    }
    Ok(lookups)
}
