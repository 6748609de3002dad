//! `dnsledger keys add|list|revoke`: the API keys of a store's server.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use dnsledger_keys::{Burst, KeyFile, KeyInfo, Limits, Scope};
use dnsledger_query::timefmt;
use dnsledger_store::{Access, Store};

use crate::exit;

#[derive(Args, Debug)]
pub struct KeysArgs {
    /// The store directory the server runs on.
    #[arg(
        long,
        default_value = "./dnsledger-data",
        value_name = "DIR",
        global = true
    )]
    db: PathBuf,
    #[command(subcommand)]
    command: KeysCommand,
}

#[derive(Subcommand, Debug)]
enum KeysCommand {
    /// Creates a key and prints it once (only its hash is kept).
    Add(AddArgs),
    /// Lists the keys: name, id, scopes, limits, state.
    List,
    /// Revokes a key: a running server refuses it within a second.
    Revoke {
        #[arg(value_name = "NAME")]
        name: String,
    },
}

#[derive(Args, Debug)]
pub struct AddArgs {
    /// A name for the key's holder (letters, digits, . _ @ -).
    #[arg(value_name = "NAME")]
    pub name: String,
    /// What the key may do (repeatable): query, submit, admin (admin implies the others).
    #[arg(long = "scope", value_name = "SCOPE", default_value = "query")]
    pub scopes: Vec<Scope>,
    /// Queries per UTC day.
    #[arg(long, value_name = "N")]
    pub daily: Option<u64>,
    /// At most N queries in any window of SECONDS.
    #[arg(long, value_name = "N/SECONDS")]
    pub burst: Option<Burst>,
    /// Rows per answer at most.
    #[arg(long, value_name = "N")]
    pub results_max: Option<u64>,
    /// Largest offset allowed.
    #[arg(long, value_name = "N")]
    pub offset_max: Option<u64>,
    /// Requests in flight at once.
    #[arg(long, value_name = "N")]
    pub concurrent: Option<u32>,
    /// When the key stops working: YYYY-MM-DD[ HH:MM:SS] (UTC), epoch seconds, or 30d.
    #[arg(long, value_name = "DATE")]
    pub expires: Option<String>,
}

pub fn run(args: &KeysArgs) -> Result<u8> {
    let file = KeyFile::new(&args.db);
    let now = crate::now();
    match &args.command {
        KeysCommand::Add(add) => {
            let (info, secret) = add_key(&args.db, add, now)?;
            eprintln!(
                "dnsledger keys: created {} (id {}, scopes {}); this is the only time the key is shown:",
                info.name,
                info.id,
                scopes_text(&info)
            );
            println!("{secret}");
        }
        KeysCommand::List => {
            for info in file.list().context("reading the keys")? {
                println!("{}", describe(&info, now));
            }
        }
        KeysCommand::Revoke { name } => {
            let info = file
                .revoke(name, now)
                .with_context(|| format!("revoking {name}"))?;
            eprintln!("dnsledger keys: revoked {}", info.name);
        }
    }
    Ok(exit::OK)
}

/// Creates the key (and the store, when the directory holds none yet, so that the store
/// can still be created atomically in place).
pub fn add_key(db: &Path, add: &AddArgs, now: i64) -> Result<(KeyInfo, dnsledger_keys::Secret)> {
    if !db.join("CURRENT").exists() {
        drop(Store::open(db, Access::ReadWrite).context("creating the store")?);
    }
    let expires = add
        .expires
        .as_deref()
        .map(|text| expiry(text, now))
        .transpose()?;
    let limits = Limits {
        daily: add.daily,
        burst: add.burst,
        results_max: add.results_max,
        offset_max: add.offset_max,
        concurrent: add.concurrent,
        expires,
    };
    KeyFile::new(db)
        .add(&add.name, &add.scopes, limits, now)
        .with_context(|| format!("adding the key {}", add.name))
}

/// An expiry: an absolute time, or a span from now (`30d`).
fn expiry(text: &str, now: i64) -> Result<i64> {
    let parse =
        |anchor| timefmt::parse(text, anchor).map_err(|e| anyhow::anyhow!("--expires: {e}"));
    let ago = parse(now)?;
    // Only relative forms depend on the anchor. `timefmt` reads them as "that long ago";
    // an expiry means "that long from now".
    Ok(match parse(0)? == ago {
        true => ago,
        false => now + (now - ago),
    })
}

fn scopes_text(info: &KeyInfo) -> String {
    let scopes: Vec<String> = info.scopes.iter().map(|s| s.to_string()).collect();
    scopes.join(",")
}

fn describe(info: &KeyInfo, now: i64) -> String {
    let limit = |name: &str, value: Option<String>| value.map(|v| format!(" {name}={v}"));
    let limits = &info.limits;
    let parts: String = [
        limit("daily", limits.daily.map(|v| v.to_string())),
        limit("burst", limits.burst.as_ref().map(|b| b.to_string())),
        limit("results_max", limits.results_max.map(|v| v.to_string())),
        limit("offset_max", limits.offset_max.map(|v| v.to_string())),
        limit("concurrent", limits.concurrent.map(|v| v.to_string())),
        limit("expires", limits.expires.map(timefmt::format)),
    ]
    .into_iter()
    .flatten()
    .collect();
    let state = match (info.revoked, limits.expires) {
        (Some(when), _) => format!("revoked {}", timefmt::format(when)),
        (None, Some(when)) if when <= now => "expired".to_string(),
        _ => "active".to_string(),
    };
    format!(
        "{}\t{}\t{}\t{state}\tcreated {}{parts}",
        info.name,
        info.id,
        scopes_text(info),
        timefmt::format(info.created)
    )
}
