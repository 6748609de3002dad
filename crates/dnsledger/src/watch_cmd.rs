//! `dnsledger watch`: follow what the store learns. `watch new` (also `watch --new`) prints
//! newly observed registered domains and names as they arrive, from a local store or from a
//! server's `/api/v1/stream/new`; the watchlist's subcommands are `watch_rules_cmd`'s.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use dnsledger_query::timefmt;
use dnsledger_server::watched_object;
use dnsledger_store::{Access, NoveltyFilter, NoveltyKind, Store, MAX_EVENTS_PER_READ};
use dnsledger_watch::stored::active_watchlist;
use dnsledger_wire::NameBuf;
use serde_json::Value;

use crate::watch_rules_cmd::{self, RuleCommand};
use crate::{exit, remote};

/// How often a caught-up local watch looks at the store again.
const POLL_INTERVAL: Duration = Duration::from_millis(250);

#[derive(Args, Debug)]
pub struct WatchArgs {
    /// The store directory.
    #[arg(
        long,
        default_value = "./dnsledger-data",
        value_name = "DIR",
        global = true
    )]
    db: PathBuf,
    #[command(subcommand)]
    command: Option<WatchCommand>,
    /// The same as `watch new`.
    #[arg(long = "new")]
    new: bool,
    #[command(flatten)]
    new_args: NewArgs,
}

#[derive(Subcommand, Debug)]
enum WatchCommand {
    /// Newly observed registered domains and owner names, each once, as they arrive.
    New(NewArgs),
    #[command(flatten)]
    Rules(RuleCommand),
}

#[derive(Args, Debug)]
pub struct NewArgs {
    #[command(flatten)]
    remote: remote::ServerArgs,
    /// Only names at or below this suffix (repeatable).
    #[arg(long, value_name = "SUFFIX")]
    suffix: Vec<String>,
    /// Only new registered domains, or only new full names.
    #[arg(long, value_enum)]
    kind: Option<Kind>,
    /// Start after this event (the `seq` of the last one seen); 0 = the whole log.
    #[arg(long, default_value_t = 0, value_name = "SEQ")]
    since: u64,
    /// Stop after this many events.
    #[arg(long, value_name = "N")]
    limit: Option<u64>,
    /// Stop once the log is read instead of waiting for more.
    #[arg(long)]
    no_follow: bool,
    /// Only names that hit the store's watchlist (`watch add`), each with its hits.
    #[arg(long)]
    watched: bool,
    /// One JSON object per line (the API's objects) instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Kind {
    Domain,
    Name,
}

impl Kind {
    fn store_kind(self) -> NoveltyKind {
        match self {
            Kind::Domain => NoveltyKind::Domain,
            Kind::Name => NoveltyKind::Name,
        }
    }
}

pub fn run(args: &WatchArgs) -> Result<u8> {
    match (&args.command, args.new) {
        (Some(_), true) => bail!(dnsledger_query::BadQuery(
            "--new is `watch new`: give one or the other, not with another subcommand".into()
        )),
        (Some(WatchCommand::New(new_args)), false) => watch_new(&args.db, new_args),
        (Some(WatchCommand::Rules(command)), false) => watch_rules_cmd::run(&args.db, command),
        (None, true) => watch_new(&args.db, &args.new_args),
        (None, false) => bail!(dnsledger_query::BadQuery(
            "say what to do: `watch new` (or `watch --new`), or add, list, remove, check, hits"
                .into()
        )),
    }
}

fn watch_new(db: &Path, args: &NewArgs) -> Result<u8> {
    let mut printer = Printer {
        out: std::io::stdout().lock(),
        json: args.json,
        left: args.limit,
    };
    match args.remote.client()? {
        Some(client) => follow_server(args, &client, &mut printer),
        None => follow_store(db, args, &mut printer),
    }
}

/// Reads the local store's log, catching up with its writer while following.
fn follow_store(db: &Path, args: &NewArgs, printer: &mut Printer<impl Write>) -> Result<u8> {
    let filter = NoveltyFilter {
        suffixes: args
            .suffix
            .iter()
            .map(|text| {
                NameBuf::from_text(text).map_err(|e| {
                    dnsledger_query::BadQuery(format!("--suffix {text:?}: {e}")).into()
                })
            })
            .collect::<Result<_>>()?,
        kind: args.kind.map(Kind::store_kind),
    };
    let store = Store::open(db, Access::ReadOnly)
        .with_context(|| format!("opening the store {}", db.display()))?;
    let watched = match args.watched {
        true => Some(active_watchlist(&store)?),
        false => None,
    };
    let stop = crate::stop_on_signals()?;
    let mut cursor = args.since;
    while !stop.load(Ordering::Relaxed) {
        let (events, last) = store.new_names_after(cursor, MAX_EVENTS_PER_READ, &filter)?;
        let objects = events
            .iter()
            .filter_map(|event| watched_object(event, watched.as_ref()));
        for object in objects {
            if !printer.print(&object)? {
                return Ok(exit::OK);
            }
        }
        if last > cursor {
            cursor = last;
            continue;
        }
        if args.no_follow {
            return Ok(exit::OK);
        }
        std::thread::sleep(POLL_INTERVAL);
        store.catch_up()?;
    }
    Ok(exit::INTERRUPTED)
}

/// Reads the server's NDJSON feed.
fn follow_server(
    args: &NewArgs,
    client: &remote::Client,
    printer: &mut Printer<impl Write>,
) -> Result<u8> {
    let mut params: Vec<(&str, String)> = vec![
        ("format", "ndjson".into()),
        ("since", args.since.to_string()),
        ("follow", (!args.no_follow).to_string()),
        ("watched", args.watched.to_string()),
    ];
    params.extend(args.suffix.iter().map(|s| ("suffix", s.clone())));
    if let Some(kind) = args.kind {
        params.push(("kind", kind.store_kind().as_str().into()));
    }
    if let Some(limit) = args.limit {
        params.push(("limit", limit.to_string()));
    }
    let lines = client.get_lines("api/v1/stream/new", &params)?.lines();
    for line in lines {
        let line = line.context("reading the server's feed")?;
        let object: Value = serde_json::from_str(&line)
            .with_context(|| format!("the server sent a line that is not JSON: {line:?}"))?;
        if !printer.print(&object)? {
            return Ok(exit::OK);
        }
    }
    if !args.no_follow && printer.left != Some(0) {
        bail!("the server ended the feed");
    }
    Ok(exit::OK)
}

/// Prints events, counting down `--limit`.
struct Printer<W: Write> {
    out: W,
    json: bool,
    left: Option<u64>,
}

impl<W: Write> Printer<W> {
    /// Prints one event; `false` once the limit is reached or the reader went away.
    fn print(&mut self, event: &Value) -> Result<bool> {
        if self.left == Some(0) {
            return Ok(false);
        }
        let written = match self.json {
            true => writeln!(self.out, "{event}"),
            false => writeln!(self.out, "{}", text_line(event)),
        };
        if let Err(error) = written.and_then(|()| self.out.flush()) {
            if error.kind() == std::io::ErrorKind::BrokenPipe {
                return Ok(false);
            }
            return Err(error).context("writing to standard output");
        }
        self.left = self.left.map(|left| left - 1);
        Ok(self.left != Some(0))
    }
}

/// `TIME  KIND    NAME  first: RRNAME TYPE RDATA (bailiwick ZONE)`, then the watchlist
/// hits: `  hits: #ID RULE (REASON)`.
fn text_line(event: &Value) -> String {
    let text = |field: &str| event[field].as_str().unwrap_or("-").to_string();
    let rdata: Vec<&str> = event["rdata"]
        .as_array()
        .map(|all| all.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let time = event["first_seen"]
        .as_i64()
        .map_or_else(|| "-".into(), timefmt::format);
    let hits: Vec<String> = event["hits"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|hit| {
            format!(
                "#{} {} ({})",
                hit["rule"],
                hit["text"].as_str().unwrap_or("-"),
                hit["reason"].as_str().unwrap_or("-")
            )
        })
        .collect();
    let hits = match hits.is_empty() {
        true => String::new(),
        false => format!("  hits: {}", hits.join(", ")),
    };
    format!(
        "{time}  {:<6}  {}  first: {} {} {} (bailiwick {}){hits}",
        text("kind"),
        text("name"),
        text("rrname"),
        text("rrtype"),
        rdata.join(" | "),
        text("bailiwick"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        watch: WatchArgs,
    }

    #[test]
    fn watch_new_and_watch_dash_dash_new_are_the_same_command() {
        let sub = Cli::try_parse_from(["x", "new", "--suffix", "cz.cc"]).unwrap();
        assert!(matches!(&sub.watch.command, Some(WatchCommand::New(a)) if a.suffix == ["cz.cc"]));
        let flag = Cli::try_parse_from(["x", "--new", "--suffix", "cz.cc"]).unwrap();
        assert!(flag.watch.new && flag.watch.new_args.suffix == ["cz.cc"]);
    }

    #[test]
    fn text_lines_show_time_kind_name_and_first_rdata() {
        let event = serde_json::json!({"seq": 1, "kind": "domain", "name": "example.cz.cc.", "first_seen": 0,
            "rrname": "www.example.cz.cc.", "rrtype": "A", "bailiwick": "cz.cc.", "rdata": ["192.0.2.1"]});
        assert_eq!(
            text_line(&event),
            "1970-01-01 00:00:00  domain  example.cz.cc.  first: www.example.cz.cc. A 192.0.2.1 (bailiwick cz.cc.)"
        );
    }
}
