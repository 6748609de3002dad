//! `dnsledger query`: dnsdbq's command line over the local store.

use std::io::{BufRead, Write};
use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use dnsledger_store::{Access, Lookup, NamePattern, Row, Store, TimeFence, TypeFilter};
use dnsledger_wire::NameBuf;

use crate::present::{Format, Presented, Presenter, Summary};
use crate::{exit, timefmt};

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
    #[arg(short = 'p', value_enum, default_value = "text")]
    format: Format,
    /// Same as -p json.
    #[arg(short = 'j')]
    json: bool,
}

/// A usage problem: exit status 2 and a message that says what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadQuery(pub String);

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
    let given = [
        &args.rrset,
        &args.rdata_name,
        &args.rdata_ip,
        &args.raw_rrset,
        &args.raw_rdata,
    ]
    .iter()
    .filter(|o| o.is_some())
    .count()
        + usize::from(args.batch.is_some());
    if given != 1 {
        return bad("give exactly one of -r, -n, -i, -R, -N or -f");
    }
    let type_override = args.rrtype.as_deref();
    let single = if let Some(text) = &args.rrset {
        rrset_lookup(text, false, type_override, args.bailiwick.as_deref())?
    } else if let Some(text) = &args.raw_rrset {
        rrset_lookup(text, true, type_override, args.bailiwick.as_deref())?
    } else if let Some(text) = &args.rdata_name {
        rdata_name_lookup(text, type_override)?
    } else if let Some(text) = &args.rdata_ip {
        ip_lookup(text)?
    } else if let Some(text) = &args.raw_rdata {
        raw_rdata_lookup(text, type_override)?
    } else {
        return batch_lookups(
            args.batch
                .as_deref()
                .unwrap_or_else(|| std::path::Path::new("-")),
            args,
        );
    };
    Ok(vec![single])
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
        let lookup = batch_line(line, args)
            .map_err(|e| BadQuery(format!("{} line {}: {e}", path.display(), index + 1)))?;
        lookups.push(lookup);
    }
    Ok(lookups)
}

/// `rrset/name/X[/T[/B]]`, `rrset/raw/HEX[/T]`, `rdata/name/X[/T]`, `rdata/ip/X`, `rdata/raw/HEX[/T]`.
fn batch_line(line: &str, args: &QueryArgs) -> Result<Lookup> {
    let mut parts = line.splitn(3, '/');
    let (kind, form, rest) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    );
    let rrtype = args.rrtype.as_deref();
    match (kind, form) {
        ("rrset", "name") => rrset_lookup(rest, false, rrtype, args.bailiwick.as_deref()),
        ("rrset", "raw") => rrset_lookup(rest, true, rrtype, args.bailiwick.as_deref()),
        ("rdata", "name") => rdata_name_lookup(rest, rrtype),
        ("rdata", "ip") => ip_lookup(rest),
        ("rdata", "raw") => raw_rdata_lookup(rest, rrtype),
        _ => bad(format!(
            "{line:?}: expected rrset/name/, rrset/raw/, rdata/name/, rdata/ip/ or rdata/raw/"
        )),
    }
}

fn type_filter(in_value: Option<&str>, option: Option<&str>) -> Result<TypeFilter> {
    match option.or(in_value) {
        None => Ok(TypeFilter::Any),
        Some(text) => TypeFilter::parse(text).map_err(|e| BadQuery(e.0).into()),
    }
}

fn name(text: &str) -> Result<NameBuf> {
    NameBuf::from_text(text).map_err(|e| BadQuery(format!("bad name {text:?}: {e}")).into())
}

fn rrset_lookup(
    text: &str,
    raw: bool,
    rrtype: Option<&str>,
    bailiwick: Option<&str>,
) -> Result<Lookup> {
    let mut parts = text.split('/');
    let owner_text = parts.next().unwrap_or_default();
    let owner = match raw {
        true => NamePattern::Exact(
            NameBuf::from_wire(&hex(owner_text)?)
                .map_err(|e| BadQuery(format!("bad owner wire bytes: {e}")))?,
        ),
        false => NamePattern::parse(owner_text).map_err(|e| BadQuery(e.0))?,
    };
    let rrtype = type_filter(parts.next(), rrtype)?;
    let bailiwick = parts.next().or(bailiwick).map(name).transpose()?;
    if parts.next().is_some() {
        return bad(format!("{text:?}: expected NAME[/TYPE[/BAILIWICK]]"));
    }
    if bailiwick.is_some() && !matches!(owner, NamePattern::Exact(_)) {
        return bad("a bailiwick goes with an exact owner name only");
    }
    Ok(Lookup::RRset {
        owner,
        rrtype,
        bailiwick,
    })
}

fn rdata_name_lookup(text: &str, rrtype: Option<&str>) -> Result<Lookup> {
    let (name_text, type_text) = match text.split_once('/') {
        Some((n, t)) => (n, Some(t)),
        None => (text, None),
    };
    let name = NamePattern::parse(name_text).map_err(|e| BadQuery(e.0))?;
    Ok(Lookup::RdataName {
        name,
        rrtype: type_filter(type_text, rrtype)?,
    })
}

fn raw_rdata_lookup(text: &str, rrtype: Option<&str>) -> Result<Lookup> {
    let (hex_text, type_text) = match text.split_once('/') {
        Some((h, t)) => (h, Some(t)),
        None => (text, None),
    };
    Ok(Lookup::RdataRaw {
        rdata: hex(hex_text)?,
        rrtype: type_filter(type_text, rrtype)?,
    })
}

fn hex(text: &str) -> Result<Vec<u8>> {
    let digits = text.trim();
    if !digits.len().is_multiple_of(2) || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return bad(format!("{text:?} is not an even number of hex digits"));
    }
    Ok((0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).unwrap_or_default())
        .collect())
}

/// An address, `ADDR/LEN` (or DNSDB's `ADDR,LEN`), or `LO-HI`.
fn ip_lookup(text: &str) -> Result<Lookup> {
    let addr = |t: &str| {
        t.trim()
            .parse::<IpAddr>()
            .map_err(|_| BadQuery(format!("bad address {t:?}")))
    };
    if let Some((lo, hi)) = text.split_once('-') {
        return Ok(Lookup::RdataIp {
            lo: addr(lo)?,
            hi: addr(hi)?,
        });
    }
    let Some((base, len)) = text.split_once(['/', ',']) else {
        let one = addr(text)?;
        return Ok(Lookup::RdataIp { lo: one, hi: one });
    };
    let base = addr(base)?;
    let len: u32 = len
        .parse()
        .map_err(|_| BadQuery(format!("bad prefix length {len:?}")))?;
    let (lo, hi) = prefix_range(base, len)
        .ok_or_else(|| BadQuery(format!("prefix length {len} is too long")))?;
    Ok(Lookup::RdataIp { lo, hi })
}

/// The first and last address of a prefix.
fn prefix_range(base: IpAddr, len: u32) -> Option<(IpAddr, IpAddr)> {
    match base {
        IpAddr::V4(v4) if len <= 32 => {
            let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
            let lo = u32::from(v4) & mask;
            Some((
                IpAddr::from(lo.to_be_bytes()),
                IpAddr::from((lo | !mask).to_be_bytes()),
            ))
        }
        IpAddr::V6(v6) if len <= 128 => {
            let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
            let lo = u128::from(v6) & mask;
            Some((
                IpAddr::from(lo.to_be_bytes()),
                IpAddr::from((lo | !mask).to_be_bytes()),
            ))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_become_ranges() {
        let ip = |t: &str| t.parse::<IpAddr>().unwrap();
        assert_eq!(
            prefix_range(ip("192.0.2.77"), 24),
            Some((ip("192.0.2.0"), ip("192.0.2.255")))
        );
        assert_eq!(
            prefix_range(ip("10.1.2.3"), 0),
            Some((ip("0.0.0.0"), ip("255.255.255.255")))
        );
        assert_eq!(
            prefix_range(ip("2001:db8::1"), 32),
            Some((
                ip("2001:db8::"),
                ip("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")
            ))
        );
        assert_eq!(prefix_range(ip("192.0.2.1"), 33), None);
    }

    #[test]
    fn hex_must_be_whole_bytes() {
        assert_eq!(hex("c0000201").unwrap(), vec![192, 0, 2, 1]);
        assert!(hex("abc").is_err());
        assert!(hex("zz").is_err());
    }
}
