//! `dnsledger`: the command line. Thin glue: argument parsing, wiring of the library
//! crates, progress and exit codes. The work happens in the `dnsledger-*` crates.

mod cluster_cmd;
mod collect;
mod demo_cmd;
mod dump_cmd;
mod ingest_cmd;
mod keys_cmd;
mod live;
mod output;
mod query_cmd;
mod remote;
mod sensor_cmd;
mod sensor_dnstap;
mod sensor_options;
mod serve_cmd;
mod submit_cmd;
mod watch_cmd;
mod watch_rules_cmd;
mod zone_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Passive DNS: collect, store and serve the history of what authoritative servers answered.
#[derive(Parser, Debug)]
#[command(name = "dnsledger", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Reads captures, pairs and hardens DNS traffic, and writes aggregated RRsets as COF NDJSON.
    Sensor(Box<sensor_cmd::SensorArgs>),
    /// Adds captures, COF NDJSON or passivedns logs to the history store (resumable, exactly once).
    Ingest(ingest_cmd::IngestArgs),
    /// Asks the history store, with dnsdbq's options.
    Query(Box<query_cmd::QueryArgs>),
    /// Writes every row of the store as COF NDJSON, in key order.
    Dump(dump_cmd::DumpArgs),
    /// Row counts, time range, bytes on disk and format version; `--verify` checks every row.
    Stats(dump_cmd::StatsArgs),
    /// Serves the store over HTTP: DNSDB API v2/v1, CIRCL passive DNS, web UI, metrics.
    Serve(Box<serve_cmd::ServeArgs>),
    /// Sends the batches a sensor left in its spool to a server, oldest first.
    Submit(submit_cmd::SubmitCmdArgs),
    /// Creates, lists and revokes the API keys of a store's server.
    Keys(keys_cmd::KeysArgs),
    /// Ingests the bundled captures, creates a key and serves them on 127.0.0.1:8053.
    Demo(demo_cmd::DemoArgs),
    /// Imports a zone's master files (or dig/kdig AXFR output) as zone-file rows, exactly once.
    ImportZone(zone_cmd::ImportZoneArgs),
    /// Rebuilds a zone from history as a master file (delegation, glue and the zone's own data).
    ZoneExport(zone_cmd::ZoneExportArgs),
    /// Newly observed domains and names (`watch new`, or `--new`), and watchlists: add,
    /// list and remove rules, check the history against them, read the hits.
    Watch(watch_cmd::WatchArgs),
    /// A NATS JetStream deployment: `status` shows lag, sensors and node health.
    Cluster(cluster_cmd::ClusterArgs),
}

/// Exit statuses, documented in the README.
pub mod exit {
    /// Everything was read and used.
    pub const OK: u8 = 0;
    /// An input could not be read at all, or output failed.
    pub const ERROR: u8 = 1;
    /// A bad command line or query (clap uses it too).
    pub const USAGE: u8 = 2;
    /// Stopped by SIGINT or SIGTERM (after reporting what was written), as shells expect.
    pub const INTERRUPTED: u8 = 130;
    /// Some input was damaged (a capture truncated mid-record): what came before was used.
    pub const DAMAGED_INPUT: u8 = 3;
}

fn main() -> ExitCode {
    init_logging();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Sensor(args) => sensor_cmd::run(&args),
        Command::Ingest(args) => ingest_cmd::run(&args),
        Command::Query(args) => query_cmd::run(&args),
        Command::Dump(args) => dump_cmd::dump(&args),
        Command::Stats(args) => dump_cmd::stats(&args),
        Command::Serve(args) => serve_cmd::run(&args),
        Command::Submit(args) => submit_cmd::run(&args),
        Command::Keys(args) => keys_cmd::run(&args),
        Command::Demo(args) => demo_cmd::run(&args),
        Command::ImportZone(args) => zone_cmd::import_zone(&args),
        Command::ZoneExport(args) => zone_cmd::zone_export(&args),
        Command::Watch(args) => watch_cmd::run(&args),
        Command::Cluster(args) => cluster_cmd::run(&args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        // A reader that went away (`| head`) is not an error of ours.
        Err(error) if is_broken_pipe(&error) => ExitCode::from(exit::OK),
        Err(error) if error.is::<dnsledger_query::BadQuery>() => {
            eprintln!("dnsledger: bad query: {error}");
            ExitCode::from(exit::USAGE)
        }
        Err(error) => {
            eprintln!("dnsledger: error: {error:#}");
            ExitCode::from(exit::ERROR)
        }
    }
}

/// The flag SIGINT and SIGTERM set, so that long work (ingest, live collection) stops at a
/// safe point, writes what it holds and reports; a second signal ends the process at once
/// (exit 1), in case that writing hangs.
pub fn stop_on_signals() -> anyhow::Result<std::sync::Arc<std::sync::atomic::AtomicBool>> {
    use anyhow::Context;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(signal, 1, std::sync::Arc::clone(&stop))
            .and_then(|_| signal_hook::flag::register(signal, std::sync::Arc::clone(&stop)))
            .context("installing the signal handlers")?;
    }
    Ok(stop)
}

/// Seconds since the epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// Structured logs on stderr; `RUST_LOG` selects the level (default: warnings).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
