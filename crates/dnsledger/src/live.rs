//! `dnsledger sensor --interface IF`: live capture (Linux, AF_PACKET) into the sensor until
//! SIGINT or SIGTERM, RRsets to the output every flush interval, a status line every 10
//! seconds, optionally `/metrics`. `serve --interface` runs the same capture ([`open`],
//! [`run_capture`]) on a thread of its own.

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;
use dnsledger_capture::DecoderConfig;
use dnsledger_live::{metrics, Filter, LiveCapture, LiveConfig, Totals};
use dnsledger_rrset::ObservationSink;
use dnsledger_sensor::SensorConfig;
use dnsledger_submit::{LiveStats, SubmitStats};

use crate::output::OutputSink;
use crate::sensor_cmd::write_stats_json;

/// The status line goes to standard error at most this often (at a flush).
const STATUS_EVERY: Duration = Duration::from_secs(10);

/// The live capture options (`sensor` and `serve`).
#[derive(Args, Debug)]
pub struct LiveArgs {
    /// Capture live from this network interface (Linux; needs CAP_NET_RAW), until SIGINT or
    /// SIGTERM: then everything held is written and the counters printed.
    #[arg(long, value_name = "IF")]
    pub interface: Option<String>,

    /// What the kernel keeps: `dns` (UDP and TCP to or from a --dns-port, and IP
    /// fragments), `port N[,M...]` (the same for these ports, which are then DNS ports too),
    /// or `all` (every frame; the decoder counts what is not DNS).
    #[arg(
        long,
        default_value = "dns",
        value_name = "FILTER",
        requires = "interface"
    )]
    filter: Filter,

    /// Capture threads, one socket each: the kernel gives each flow to one of them
    /// (PACKET_FANOUT, flow-symmetric hash); one sensor takes their messages in time order.
    #[arg(long, default_value_t = 1, value_name = "N", requires = "interface")]
    workers: usize,

    /// Each capture thread's kernel ring in MiB: what absorbs bursts while the sensor is
    /// busy. When it is full the kernel drops, and counts (`live.kernel_drops`).
    #[arg(long, default_value_t = 64, value_name = "MIB", requires = "interface",
          value_parser = clap::value_parser!(u32).range(1..=4096))]
    ring_mib: u32,
}

/// `dnsledger sensor --interface`: where the capture and its counters go.
pub struct LiveRun<'a> {
    pub interface: &'a str,
    pub metrics_listen: Option<SocketAddr>,
    pub stats_json: Option<&'a Path>,
}

impl LiveRun<'_> {
    /// Captures into `output` until a signal; the exit status is the output's.
    pub fn run(
        &self,
        args: &LiveArgs,
        sensor: SensorConfig,
        flush_interval: Duration,
        output: OutputSink,
    ) -> Result<u8> {
        let interface = self.interface;
        let capture = open(args, interface, sensor, flush_interval)?;
        let stop = crate::stop_on_signals()?;
        let snapshot = Arc::new(Mutex::new(Totals::default()));
        if let Some(address) = self.metrics_listen {
            serve_metrics(address, Arc::clone(&snapshot), output.live_stats())?;
        }
        announce("dnsledger sensor", &capture, args, interface);
        let (output, totals) = run_capture(capture, interface, output, &stop, |totals| {
            *snapshot.lock().unwrap_or_else(|e| e.into_inner()) = totals.clone();
        })?;
        let (submit, output_status) = output.finish()?;
        report(interface, &totals, &submit, self.stats_json)?;
        Ok(output_status)
    }
}

/// Opens the capture sockets on `interface` (capturing starts with [`run_capture`]).
pub fn open(
    args: &LiveArgs,
    interface: &str,
    sensor: SensorConfig,
    flush_interval: Duration,
) -> Result<LiveCapture> {
    let config = live_config(args, interface, sensor, flush_interval);
    Ok(LiveCapture::open(config)?)
}

/// Says on standard error what `command` captures.
pub fn announce(command: &str, capture: &LiveCapture, args: &LiveArgs, interface: &str) {
    eprintln!(
        "{command}: capturing on {interface} ({}, {} capture threads, filter {}); SIGINT or \
         SIGTERM stops",
        capture.link(),
        args.workers,
        args.filter
    );
}

/// Captures into `output` until `stop` is set, with a status line on standard error every
/// 10 seconds; `on_flush` gets the counters at every flush.
pub fn run_capture<S: ObservationSink>(
    capture: LiveCapture,
    interface: &str,
    output: S,
    stop: &Arc<AtomicBool>,
    mut on_flush: impl FnMut(&Totals),
) -> Result<(S, Totals)> {
    let mut status_due = Instant::now() + STATUS_EVERY;
    let captured = capture.run(output, stop, |totals| {
        on_flush(totals);
        if Instant::now() >= status_due {
            status_due = Instant::now() + STATUS_EVERY;
            eprintln!("{}", totals.status_line(interface));
        }
    })?;
    Ok(captured)
}

fn live_config(
    args: &LiveArgs,
    interface: &str,
    sensor: SensorConfig,
    flush_interval: Duration,
) -> LiveConfig {
    let mut config = LiveConfig::new(interface);
    config.workers = args.workers;
    config.filter = args.filter.clone();
    config.ring.blocks = args.ring_mib; // of 1 MiB blocks
    config.flush_interval = flush_interval;
    config.decoder = DecoderConfig {
        dns_ports: sensor.dns_ports.clone(),
        ..DecoderConfig::default()
    };
    config.sensor = sensor;
    config
}

/// `/metrics`: the capture's counters as of the last flush, and a submission's as it goes.
/// A submission's counters as `submit.*`.
fn submit_counters<'a>(
    counters: &'a [(&'static str, u64)],
) -> impl Iterator<Item = (String, u64)> + 'a {
    counters.iter().map(|(n, v)| (format!("submit.{n}"), *v))
}

fn with_submission(
    mut counters: Vec<(String, u64)>,
    submitted: Option<&SubmitStats>,
) -> Vec<(String, u64)> {
    if let Some(stats) = submitted {
        counters.extend(submit_counters(&stats.counters()));
    }
    counters
}

fn serve_metrics(
    address: SocketAddr,
    snapshot: Arc<Mutex<Totals>>,
    submission: Option<LiveStats>,
) -> Result<()> {
    let listener = TcpListener::bind(address).with_context(|| format!("listening on {address}"))?;
    let bound = listener.local_addr()?;
    metrics::serve(listener, move || {
        let totals = snapshot.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let submitted = submission.as_ref().map(LiveStats::snapshot);
        metrics::prometheus_text(&with_submission(totals.counters(), submitted.as_ref()))
    })
    .context("starting the metrics thread")?;
    eprintln!("dnsledger sensor: metrics at http://{bound}/metrics");
    Ok(())
}

/// The last status line, then every non-zero counter by name; optionally all as JSON.
pub fn report(
    interface: &str,
    totals: &Totals,
    submit: &[(&'static str, u64)],
    json_path: Option<&Path>,
) -> Result<()> {
    let mut all = totals.counters();
    all.extend(submit_counters(submit));
    let mut err = std::io::stderr().lock();
    writeln!(err, "{}", totals.status_line(interface))?;
    for (name, value) in all.iter().filter(|(_, v)| *v > 0) {
        writeln!(err, "{name} {value}")?;
    }
    if let Some(path) = json_path {
        write_stats_json(path, all.iter().map(|(n, v)| (n.as_str(), *v)))?;
    }
    Ok(())
}
