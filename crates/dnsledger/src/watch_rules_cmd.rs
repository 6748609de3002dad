//! `dnsledger watch add|list|remove|check|hits`: watchlist rules kept in the store, checked
//! against every owner name of the history, with a hit log. The rules and the matcher are
//! `dnsledger-watch` (docs/watchlists.md); the meta keys are in docs/encoding.md.

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use dnsledger_query::timefmt;
use dnsledger_store::{
    Access, Family, Lookup, NamePattern, NoveltyFilter, Store, TimeFence, TypeFilter,
    MAX_EVENTS_PER_READ,
};
use dnsledger_watch::stored::{active_watchlist, put_rule, stored_rules, StoredRule};
use dnsledger_watch::{Rule, Watchlist};
use dnsledger_wire::{is_dnssec_type, push_name_text, NameBuf};

use crate::exit;

/// Meta key prefix of the hit log: `watch/hit/<id>/<name>` = `<first> <last> <reason>`.
const HIT_PREFIX: &str = "watch/hit/";
/// Hit log records written per durable write: one sync per hit would make a broad rule
/// take minutes; this many bounds the memory held.
const HITS_PER_WRITE: usize = 1024;

/// The watchlist's subcommands of `dnsledger watch`.
#[derive(Subcommand, Debug)]
pub enum RuleCommand {
    /// Adds a rule: exact:NAME, suffix:NAME, glob:PATTERN, regex:EXPR or lookalike:DOMAIN.
    Add {
        /// KIND:VALUE, e.g. `lookalike:paypal.com` (docs/watchlists.md); a bad one exits 2.
        #[arg(value_name = "RULE")]
        rule: Rule,
    },
    /// Lists the rules in force: id and rule.
    List,
    /// Removes a rule. Its id is never given again, and its hits stay in the hit log.
    Remove {
        #[arg(value_name = "ID")]
        id: u64,
    },
    /// Checks every owner name in the history against the rules; prints and logs the hits.
    Check {
        /// One JSON object per hit instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Prints the hit log, of every rule or of one.
    Hits {
        #[arg(long, value_name = "ID")]
        rule: Option<u64>,
        /// One JSON object per hit instead of text.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(db: &Path, command: &RuleCommand) -> Result<u8> {
    // `add` may create the store (rules can be set before the first ingest); the others
    // need one.
    let access = match command {
        RuleCommand::List | RuleCommand::Hits { .. } => Access::ReadOnly,
        RuleCommand::Remove { .. } | RuleCommand::Check { .. } if !db.is_dir() => {
            bail!("opening the store {}: there is none", db.display())
        }
        _ => Access::ReadWrite,
    };
    let store =
        Store::open(db, access).with_context(|| format!("opening the store {}", db.display()))?;
    match command {
        RuleCommand::Add { rule } => add(&store, rule),
        RuleCommand::List => list(&store),
        RuleCommand::Remove { id } => remove(&store, *id),
        RuleCommand::Check { json } => check(&store, *json),
        RuleCommand::Hits { rule, json } => hits(&store, *rule, *json),
    }
}

fn add(store: &Store, rule: &Rule) -> Result<u8> {
    let rules = stored_rules(store)?;
    let canonical = rule.to_string();
    if let Some(same) = rules
        .iter()
        .find(|r| r.active && r.rule.to_string() == canonical)
    {
        println!("{}\t{canonical}\t(already watched)", same.id);
        return Ok(exit::OK);
    }
    let id = rules.last().map_or(1, |r| r.id + 1);
    put_rule(store, id, true, rule)?;
    println!("{id}\t{canonical}");
    Ok(exit::OK)
}

fn list(store: &Store) -> Result<u8> {
    for stored in stored_rules(store)?.iter().filter(|r| r.active) {
        println!("{}\t{}", stored.id, stored.rule);
    }
    Ok(exit::OK)
}

fn remove(store: &Store, id: u64) -> Result<u8> {
    let rules = stored_rules(store)?;
    let Some(stored) = rules.iter().find(|r| r.id == id && r.active) else {
        eprintln!("dnsledger: no rule {id} in force (see `dnsledger watch list`)");
        return Ok(exit::USAGE);
    };
    put_rule(store, id, false, &stored.rule)?;
    println!("{id}\t{}\t(removed)", stored.rule);
    Ok(exit::OK)
}

/// One owner name of the history with the time range of its rows.
struct Owner {
    wire: Vec<u8>,
    dnssec: bool,
    first: i64,
    last: i64,
}

/// One `watch check`: the rules in force, where hits go, and what it did so far.
struct Check<'a, W: Write> {
    store: &'a Store,
    rules: Vec<StoredRule>,
    watchlist: Watchlist,
    json: bool,
    out: W,
    /// Hit log records not written yet.
    unlogged: Vec<(String, String)>,
    names: u64,
    hits: u64,
    names_hit: u64,
}

fn check(store: &Store, json: bool) -> Result<u8> {
    let (rules, watchlist) = active_watchlist(store)?;
    if rules.is_empty() {
        eprintln!("dnsledger: no rules to check (add one with `dnsledger watch add RULE`)");
        return Ok(exit::USAGE);
    }
    let mut check = Check {
        store,
        watchlist,
        rules,
        json,
        out: std::io::BufWriter::new(std::io::stdout().lock()),
        unlogged: Vec::new(),
        names: 0,
        hits: 0,
        names_hit: 0,
    };
    let mut owner: Option<Owner> = None;
    for row in store.all_rows(Family::RRsets) {
        let row = row?;
        let dnssec = is_dnssec_type(row.rrtype());
        match &mut owner {
            Some(o) if o.wire == row.rrname() && o.dnssec == dnssec => {
                o.first = o.first.min(row.seen.time_first);
                o.last = o.last.max(row.seen.time_last);
            }
            _ => {
                let next = Owner {
                    wire: row.rrname().to_vec(),
                    dnssec,
                    first: row.seen.time_first,
                    last: row.seen.time_last,
                };
                if let Some(done) = owner.replace(next) {
                    check.owner(&done)?;
                }
            }
        }
    }
    if let Some(done) = owner {
        check.owner(&done)?;
    }
    check.write_log()?;
    check.out.flush()?;
    eprintln!(
        "checked {} names against {} rules: {} hits on {} names",
        check.names,
        check.rules.len(),
        check.hits,
        check.names_hit
    );
    Ok(exit::OK)
}

impl<W: Write> Check<'_, W> {
    /// Checks one owner, and prints and logs its hits. The scan reads the DNS rows, then
    /// the DNSSEC rows: an owner of DNSSEC rows that also has DNS rows was checked in the
    /// first pass.
    fn owner(&mut self, owner: &Owner) -> Result<()> {
        let name = NameBuf::from_wire(&owner.wire).context("an owner name in the store")?;
        if owner.dnssec && has_dns_rows(self.store, &name)? {
            return Ok(());
        }
        let mut text = String::new();
        push_name_text(&mut text, &owner.wire);
        self.names += 1;
        let hits = self.watchlist.check(&text);
        if !hits.is_empty() {
            self.names_hit += 1;
        }
        for hit in hits {
            self.hits += 1;
            let rule = self
                .rules
                .iter()
                .find(|r| r.id == hit.rule)
                .context("a hit of an unknown rule")?;
            let logged = LoggedHit {
                name: text.clone(),
                rule: hit.rule,
                first: owner.first,
                last: owner.last,
                reason: hit.reason.to_string(),
            };
            logged.print(&rule.rule.to_string(), self.json, &mut self.out)?;
            self.unlogged.push((logged.key(), logged.value()));
            if self.unlogged.len() >= HITS_PER_WRITE {
                self.write_log()?;
            }
        }
        Ok(())
    }

    fn write_log(&mut self) -> Result<()> {
        self.store.meta_put_all(&self.unlogged)?;
        self.unlogged.clear();
        Ok(())
    }
}

fn has_dns_rows(store: &Store, name: &NameBuf) -> Result<bool> {
    let lookup = Lookup::RRset {
        owner: NamePattern::Exact(name.clone()),
        rrtype: TypeFilter::Any,
        bailiwick: None,
    };
    let mut rows = store.lookup(&lookup, TimeFence::default())?;
    Ok(rows.next().transpose()?.is_some())
}

/// One record of the hit log.
struct LoggedHit {
    name: String,
    rule: u64,
    first: i64,
    last: i64,
    reason: String,
}

impl LoggedHit {
    fn key(&self) -> String {
        format!("{HIT_PREFIX}{}/{}", self.rule, self.name)
    }

    fn value(&self) -> String {
        format!("{} {} {}", self.first, self.last, self.reason)
    }

    fn decode(key: &str, value: &[u8]) -> Result<LoggedHit> {
        let (rule, name) = key[HIT_PREFIX.len()..]
            .split_once('/')
            .context("no rule id")?;
        let value = std::str::from_utf8(value).context("not UTF-8")?;
        let mut fields = value.splitn(3, ' ');
        let mut field = |what| fields.next().with_context(|| format!("no {what}"));
        Ok(LoggedHit {
            rule: rule.parse().context("bad rule id")?,
            name: name.to_owned(),
            first: field("first time")?.parse().context("bad first time")?,
            last: field("last time")?.parse().context("bad last time")?,
            reason: field("reason")?.to_owned(),
        })
    }

    /// Text: `name  id  rule  reason  first  last`; JSON: one object with the same facts,
    /// and the look-alike techniques as a list.
    fn print(&self, rule_text: &str, json: bool, out: &mut impl Write) -> Result<()> {
        if json {
            let mut object = serde_json::json!({
                "name": self.name,
                "rule": self.rule,
                "rule_text": rule_text,
                "reason": self.reason,
                "time_first": self.first,
                "time_last": self.last,
            });
            if let Some(techniques) = self.reason.strip_prefix("lookalike/") {
                object["techniques"] = techniques.split('+').collect();
            }
            writeln!(out, "{object}")?;
        } else {
            writeln!(
                out,
                "{}\t{}\t{rule_text}\t{}\t{}\t{}",
                self.name,
                self.rule,
                self.reason,
                timefmt::format(self.first),
                timefmt::format(self.last)
            )?;
        }
        Ok(())
    }
}

/// The hit log of `check`, then the live hits: names of the new-name feed that hit a rule
/// in force and are not in the log (their times are the name's first sighting).
fn hits(store: &Store, rule: Option<u64>, json: bool) -> Result<u8> {
    let rules = stored_rules(store)?;
    let prefix = match rule {
        Some(id) => format!("{HIT_PREFIX}{id}/"),
        None => HIT_PREFIX.to_owned(),
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut logged_names = std::collections::HashSet::new();
    for entry in store.meta_scan(&prefix) {
        let (key, value) = entry?;
        let logged =
            LoggedHit::decode(&key, &value).with_context(|| format!("meta record {key}"))?;
        let rule_text = match rules.iter().find(|r| r.id == logged.rule) {
            Some(stored) if stored.active => stored.rule.to_string(),
            Some(stored) => format!("{} (removed)", stored.rule),
            None => "(unknown rule)".to_owned(),
        };
        logged.print(&rule_text, json, &mut out)?;
        logged_names.insert((logged.rule, logged.name));
    }
    for hit in live_hits(store, rule)? {
        if logged_names.insert((hit.rule, hit.name.clone())) {
            let rule_text = rules
                .iter()
                .find(|r| r.id == hit.rule)
                .map(|r| r.rule.to_string());
            hit.print(
                &format!("{} (live)", rule_text.unwrap_or_default()),
                json,
                &mut out,
            )?;
        }
    }
    out.flush()?;
    Ok(exit::OK)
}

/// The new-name feed's names that hit the rules in force (`rule` only, if given).
fn live_hits(store: &Store, rule: Option<u64>) -> Result<Vec<LoggedHit>> {
    let (_, watchlist) = active_watchlist(store)?;
    let mut hits = Vec::new();
    let mut cursor = 0;
    loop {
        let (events, last) =
            store.new_names_after(cursor, MAX_EVENTS_PER_READ, &NoveltyFilter::default())?;
        for event in &events {
            let name = event.name.to_text();
            for hit in watchlist.check(&name) {
                if rule.is_none_or(|id| id == hit.rule) {
                    hits.push(LoggedHit {
                        name: name.clone(),
                        rule: hit.rule,
                        first: event.first_seen,
                        last: event.first_seen,
                        reason: hit.reason.to_string(),
                    });
                }
            }
        }
        if last <= cursor {
            return Ok(hits);
        }
        cursor = last;
    }
}
