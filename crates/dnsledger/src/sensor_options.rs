//! The sensor's settings on the command line, shared by the commands that run one: `sensor`
//! and `serve` (in-process collectors) take them all; `ingest` takes the scope options.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use dnsledger_sensor::{Scope, SensorConfig, SuffixSet};
use dnsledger_wire::NameBuf;

use crate::sensor_cmd::load_root_hints;

/// What `--help` says about privacy, next to the scope options.
pub const PRIVACY: &str = "\
Privacy: no address from the DNS traffic (resolver, client, server) is ever stored or sent. \
RRset rows (COF, the store, submitted batches) hold the name, type, rdata, bailiwick, count \
and times only; addresses serve pairing and bailiwick reconstruction in memory, and no \
counter, metric or log line names one. Responses to RD=1 queries (stub <-> resolver traffic, \
which ties names to clients) are dropped and counted \
(sensor.responses_dropped_recursion_desired) unless --accept-rd. --include-suffix and \
--exclude-suffix narrow which names are recorded.";

/// How a sensor pairs, hardens, aggregates and scopes.
#[derive(Args, Debug)]
pub struct SensorOptions {
    /// Root hints in named.root zone-file format (default: the IANA root servers).
    #[arg(long, value_name = "FILE")]
    pub root_hints: Option<PathBuf>,

    /// Client-side mode: also use responses to RD=1 queries (stub <-> resolver traffic).
    /// They carry no bailiwick and are written without one. Without it they are dropped and
    /// counted (`sensor.responses_dropped_recursion_desired`).
    #[arg(long, help_heading = SCOPE_HEADING)]
    pub accept_rd: bool,

    /// Keep NOERROR responses only (as DNSDB does); by default NXDOMAIN is used too.
    #[arg(long)]
    pub noerror_only: bool,

    /// Seconds a query waits for its response (packet time).
    #[arg(long, default_value_t = 5.0, value_name = "SECONDS")]
    pub pair_timeout: f64,

    /// Server-side DNS ports (repeat for several).
    #[arg(long = "dns-port", default_values_t = [53u16], value_name = "PORT")]
    pub dns_ports: Vec<u16>,

    /// Distinct RRsets held in memory before they are flushed to the output.
    #[arg(long, default_value_t = 2_000_000, value_name = "N")]
    pub max_rrsets: usize,

    /// Live inputs: seconds (wall clock) between two flushes of the aggregated RRsets.
    #[arg(long, default_value_t = 1.0, value_name = "SECONDS")]
    pub flush_interval: f64,

    #[command(flatten)]
    pub scope: ScopeArgs,
}

impl SensorOptions {
    pub fn config(&self) -> Result<SensorConfig> {
        anyhow::ensure!(
            self.pair_timeout.is_finite() && self.pair_timeout > 0.0,
            "--pair-timeout must be a positive number of seconds"
        );
        Ok(SensorConfig {
            dns_ports: self.dns_ports.clone(),
            pair_timeout_nanos: (self.pair_timeout * 1e9) as i64,
            accept_recursion_desired: self.accept_rd,
            noerror_only: self.noerror_only,
            root_hints: load_root_hints(self.root_hints.as_deref())?,
            max_rrsets: self.max_rrsets,
            scope: self.scope.scope()?,
            ..SensorConfig::default()
        })
    }

    pub fn flush_interval(&self) -> Result<Duration> {
        Duration::try_from_secs_f64(self.flush_interval)
            .ok()
            .filter(|interval| !interval.is_zero())
            .context("--flush-interval must be a positive number of seconds")
    }
}

const SCOPE_HEADING: &str = "Privacy and scope";

/// Which names are recorded: `--include-suffix`, `--exclude-suffix` and their list files.
#[derive(Args, Debug, Default)]
#[command(next_help_heading = SCOPE_HEADING)]
pub struct ScopeArgs {
    /// Record only responses whose question is at or below SUFFIX (label-wise, any case,
    /// trailing dot optional), and of those only the RRsets whose owner is too. Repeat for
    /// several; dropped responses and RRsets are counted (`sensor.responses_dropped_scope`,
    /// `sensor.rrsets_dropped_scope`).
    #[arg(long, value_name = "SUFFIX", value_parser = parse_suffix)]
    pub include_suffix: Vec<NameBuf>,

    /// --include-suffix for every suffix in FILE: one per line, `#` comments.
    #[arg(long, value_name = "FILE")]
    pub include_suffixes: Vec<PathBuf>,

    /// Never record a response whose question, nor an RRset whose owner, is at or below
    /// SUFFIX (so an excluded subtree stays out even when another answer carries it).
    /// Repeat for several; exclusion wins over inclusion.
    #[arg(long, value_name = "SUFFIX", value_parser = parse_suffix)]
    pub exclude_suffix: Vec<NameBuf>,

    /// --exclude-suffix for every suffix in FILE: one per line, `#` comments.
    #[arg(long, value_name = "FILE")]
    pub exclude_suffixes: Vec<PathBuf>,
}

impl ScopeArgs {
    /// The scope the options describe (everything when none is given).
    pub fn scope(&self) -> Result<Scope> {
        Ok(Scope {
            include: suffix_set(&self.include_suffix, &self.include_suffixes)?,
            exclude: suffix_set(&self.exclude_suffix, &self.exclude_suffixes)?,
        })
    }
}

/// A suffix on the command line: a bad one is a usage error.
fn parse_suffix(text: &str) -> Result<NameBuf, String> {
    NameBuf::from_text(text).map_err(|error| format!("not a domain name: {error}"))
}

/// The suffixes given one by one and in the list `files`.
fn suffix_set(suffixes: &[NameBuf], files: &[PathBuf]) -> Result<SuffixSet> {
    let mut set = SuffixSet::default();
    for suffix in suffixes {
        set.insert(suffix);
    }
    for file in files {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("reading the suffix list {}", file.display()))?;
        set.insert_list(&text)
            .with_context(|| format!("in the suffix list {}", file.display()))?;
    }
    Ok(set)
}
