//! `dnsledger`: the command line. Thin glue: argument parsing, wiring of the library
//! crates, progress and exit codes. The work happens in the `dnsledger-*` crates.

mod sensor_cmd;

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
    Sensor(sensor_cmd::SensorArgs),
}

/// Exit statuses, documented in the README.
pub mod exit {
    /// Everything was read and used.
    pub const OK: u8 = 0;
    /// An input could not be read at all, or output failed.
    pub const ERROR: u8 = 1;
    // 2 is clap's status for a bad command line.
    /// Some input was damaged (a capture truncated mid-record): what came before was used.
    pub const DAMAGED_INPUT: u8 = 3;
}

fn main() -> ExitCode {
    init_logging();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Sensor(args) => sensor_cmd::run(&args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("dnsledger: error: {error:#}");
            ExitCode::from(exit::ERROR)
        }
    }
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
