//! `cargo xtask`: the project's automation commands (see the library documentation).

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};
use xtask::bench::{self, BenchArgs};
use xtask::bench_store::{self, BenchStoreArgs, ProbeArgs, ScanArgs};
use xtask::generate::{generate_files, GenParams};
use xtask::hierarchy::{DEFAULT_DOMAINS, MAX_DOMAINS};

#[derive(Parser, Debug)]
#[command(
    name = "xtask",
    bin_name = "cargo xtask",
    about = "dnsledger project automation"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Generates a deterministic resolver<->authoritative capture and its root hints.
    GenCapture(GenCaptureArgs),
    /// Measures `dnsledger sensor` against tshark on a generated capture (one core each).
    Bench(BenchArgs),
    /// Measures the history store on a generated history: ingest, lookups, scans, bytes.
    BenchStore(BenchStoreArgs),
    /// Part of bench-store: exact lookups in a fresh process (the cold case).
    #[command(hide = true)]
    StoreProbe(ProbeArgs),
    /// Times the benchmark's scans on an existing store (after a change to the read path).
    #[command(hide = true)]
    StoreScan(ScanArgs),
}

#[derive(clap::Args, Debug)]
struct GenCaptureArgs {
    /// Packets in the capture (exactly).
    #[arg(long, default_value_t = 2_000_000)]
    packets: u64,
    /// Seed of every random choice: the same seed gives the same bytes.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Registered domains in the synthetic namespace.
    #[arg(long, default_value_t = DEFAULT_DOMAINS,
          value_parser = clap::value_parser!(u32).range(10..=i64::from(MAX_DOMAINS)))]
    domains: u32,
    /// Where to write the capture (pcap, Ethernet, microseconds).
    #[arg(long, value_name = "FILE.pcap")]
    out: PathBuf,
    /// Where to write the root hints (named.root format) for `sensor --root-hints`.
    #[arg(long, value_name = "FILE.hints")]
    hints_out: PathBuf,
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::GenCapture(args) => {
            let params = GenParams {
                packets: args.packets,
                seed: args.seed,
                domains: args.domains,
            };
            let summary = generate_files(&params, &args.out, &args.hints_out)?;
            println!("{}: {summary}", args.out.display());
            Ok(())
        }
        Command::Bench(args) => bench::run(&args),
        Command::BenchStore(args) => bench_store::run(&args),
        Command::StoreProbe(args) => bench_store::probe(&args),
        Command::StoreScan(args) => bench_store::scan(&args),
    }
}
