//! `dnsledger demo`: the whole system on the bundled data in one command. Builds a store from
//! the testbed's attack capture (compiled into the binary), creates an API key, and serves
//! the APIs and the web UI on loopback, printing the URL, the key and example commands.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use dnsledger_keys::{KeyFile, Scope};
use dnsledger_server::ServerConfig;

use crate::{exit, ingest_cmd, keys_cmd, serve_cmd};

/// Real Unbound <-> NSD/Knot traffic with forged answers injected (fixtures/testbed/SOURCE.md).
const CAPTURE: &[u8] =
    include_bytes!("../../../fixtures/testbed/run3_attack.resolver_auth.pcap.gz");
/// The testbed's own root: its captures start below it.
const ROOT_HINTS: &[u8] = include_bytes!("../../../fixtures/testbed/root.hints");
const DEMO_KEY: &str = "demo";

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Where the demo store goes (re-running reuses it; the capture is ingested once).
    #[arg(long, default_value = "./dnsledger-demo-data", value_name = "DIR")]
    db: PathBuf,
    /// The address to serve on (loopback by default).
    #[arg(long, default_value = "127.0.0.1:8053", value_name = "ADDR:PORT")]
    listen: SocketAddr,
}

pub fn run(args: &DemoArgs) -> Result<u8> {
    let status = ingest_bundled(&args.db)?;
    if status != exit::OK {
        return Ok(status);
    }
    let key = fresh_key(&args.db)?;
    serve_cmd::serve(ServerConfig::new(args.db.clone(), args.listen), |url| {
        print_welcome(url, &key)
    })
}

/// Ingests the bundled capture (a no-op when this store already holds it).
fn ingest_bundled(db: &std::path::Path) -> Result<u8> {
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let capture = dir.path().join("run3_attack.resolver_auth.pcap.gz");
    let hints = dir.path().join("root.hints");
    std::fs::write(&capture, CAPTURE).context("writing the bundled capture")?;
    std::fs::write(&hints, ROOT_HINTS).context("writing the bundled root hints")?;
    eprintln!(
        "dnsledger demo: ingesting the bundled testbed capture into {}",
        db.display()
    );
    ingest_cmd::run(&ingest_cmd::IngestArgs::new(
        db.to_path_buf(),
        vec![capture],
        Some(hints),
    ))
}

/// A new `demo` key each run (the previous one revoked): a key is shown only when created.
fn fresh_key(db: &std::path::Path) -> Result<String> {
    let now = crate::now();
    let file = KeyFile::new(db);
    let active = file
        .list()?
        .into_iter()
        .any(|k| k.name == DEMO_KEY && k.revoked.is_none());
    if active {
        file.revoke(DEMO_KEY, now)?;
    }
    let add = keys_cmd::AddArgs {
        name: DEMO_KEY.into(),
        scopes: vec![Scope::Query],
        daily: None,
        burst: None,
        results_max: None,
        offset_max: None,
        concurrent: None,
        expires: None,
    };
    let (_, secret) = keys_cmd::add_key(db, &add, now)?;
    Ok(secret.to_string())
}

fn print_welcome(url: &str, key: &str) {
    println!(
        "\ndnsledger demo: serving the testbed's history at {url}/\n\
         \n  web UI:   {url}/\
         \n  API key:  {key}\
         \n\nTry:\
         \n  curl -H 'X-API-Key: {key}' {url}/dnsdb/v2/lookup/rrset/name/target-one.com/NS\
         \n  cargo run --release -- query --server {url} --key {key} -i 192.0.2.0/24\
         \n  DNSDB_SERVER={url} DNSDB_API_KEY={key} dnsdbq -r '*.papa-signed.org' -l 5\
         \n\nCtrl-C stops the server.\n"
    );
}
