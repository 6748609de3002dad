//! Where the sensor's observations go (`--output`): COF NDJSON to a file or standard output,
//! batches submitted to a server (`http(s)://HOST:PORT`, with a spool for when it is away),
//! batches published to NATS JetStream (`nats://HOST:PORT[,...]`, the same spool), or a
//! local store written directly (`db:DIR`).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;
use dnsledger_cluster::Publisher;
use dnsledger_rrset::{CofSink, EncodedObservation, Observation, ObservationSink, SinkError};
use dnsledger_store::keys::Source;
use dnsledger_store::{Access, Store, StoreSink};
use dnsledger_submit::{
    Client, ClientConfig, LiveStats, Outcome, SubmitConfig, SubmitSink, Transport,
};

use crate::cluster_cmd::NatsArgs;
use crate::exit;

/// The environment variable an API key for submission may come from.
const KEY_VARIABLE: &str = "DNSLEDGER_SUBMIT_KEY";
/// One attempt to send a batch, connecting included.
const SEND_TIMEOUT: Duration = Duration::from_secs(60);

/// How a sensor submits to a server or publishes to NATS (with an `http(s)://` or
/// `nats://` output).
#[derive(Args, Debug)]
pub struct SubmitArgs {
    /// Names this sensor in batch ids (default: the host name).
    #[arg(long, value_name = "ID")]
    pub sensor_id: Option<String>,

    #[command(flatten)]
    pub delivery: DeliveryArgs,
}

impl SubmitArgs {
    /// The delivery settings: spool, bounds, and the sensor id naming new batches.
    pub fn config(&self) -> Result<SubmitConfig> {
        let sensor_id = match &self.sensor_id {
            Some(id) => id.clone(),
            None => dnsledger_submit::batch::hostname_sensor_id()
                .context("no usable host name: name the sensor with --sensor-id")?,
        };
        Ok(self.delivery.config(sensor_id))
    }
}

/// How batches reach a server (or NATS) and wait when it is away: the sensor's and
/// `submit`'s.
#[derive(Args, Debug)]
pub struct DeliveryArgs {
    /// A file holding the API key (scope submit); without it the key comes from
    /// $DNSLEDGER_SUBMIT_KEY. Never on the command line, where ps shows it.
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,

    /// Batches the server has not acknowledged wait here, in order, until it takes them.
    #[arg(long, default_value = "./dnsledger-spool", value_name = "DIR")]
    pub spool: PathBuf,

    /// The spool's bound; when full, new batches are dropped (and counted).
    #[arg(long, default_value_t = 1 << 30, value_name = "BYTES")]
    pub spool_max_bytes: u64,

    /// PEM certificates to trust for https instead of the built-in roots.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,

    /// At the end, seconds to keep retrying batches the server has not acknowledged; what is
    /// left stays in the spool for the next run.
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub drain_timeout: u64,

    #[command(flatten)]
    pub nats: NatsArgs,
}

impl DeliveryArgs {
    /// The delivery settings, new batches named after `sensor_id`.
    pub fn config(&self, sensor_id: String) -> SubmitConfig {
        SubmitConfig {
            sensor_id,
            spool: self.spool.clone(),
            spool_max_bytes: self.spool_max_bytes,
            drain_timeout: Duration::from_secs(self.drain_timeout),
        }
    }

    /// Where batches go: the server at `http(s)://...`, or the NATS servers at
    /// `nats://...` (connecting as `sensor_id`).
    pub fn transport(&self, url: &str, sensor_id: &str) -> Result<Box<dyn Transport>> {
        if url.starts_with("nats://") {
            let name = format!("dnsledger-sensor-{sensor_id}");
            let publisher = Publisher::connect(self.nats.config(url)?, &name)
                .with_context(|| format!("publishing to {url}"))?;
            return Ok(Box::new(publisher));
        }
        let config = ClientConfig {
            url: url.to_string(),
            key: self.key()?,
            ca_cert: self.ca_cert.clone(),
            timeout: SEND_TIMEOUT,
        };
        let client = Client::new(&config).with_context(|| format!("submitting to {url}"))?;
        Ok(Box::new(client))
    }

    fn key(&self) -> Result<String> {
        let key = match &self.key_file {
            Some(path) => std::fs::read_to_string(path)
                .with_context(|| format!("reading the key file {}", path.display()))?,
            None => std::env::var(KEY_VARIABLE).unwrap_or_default(),
        };
        let key = key.trim();
        if key.is_empty() {
            bail!(
                "submitting needs an API key of scope submit: --key-file FILE or ${KEY_VARIABLE}"
            );
        }
        Ok(key.to_string())
    }
}

/// What `--output` names.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    /// COF NDJSON to a file, or to standard output for `-`.
    Cof(PathBuf),
    /// Batches delivered: a dnsledger server's base URL, or NATS servers
    /// (`nats://HOST:PORT[,HOST:PORT...]`).
    Remote(String),
    /// A store directory.
    Store(PathBuf),
}

impl Target {
    fn parse(output: &Path) -> Result<Target> {
        let text = output.to_string_lossy();
        if ["http://", "https://", "nats://"]
            .iter()
            .any(|scheme| text.starts_with(scheme))
        {
            return Ok(Target::Remote(text.into_owned()));
        }
        match text.strip_prefix("db:") {
            Some("") => bail!("--output db:DIR needs a directory"),
            Some(dir) => Ok(Target::Store(PathBuf::from(dir))),
            None => Ok(Target::Cof(output.to_path_buf())),
        }
    }
}

/// The sensor's sink, whichever the output.
pub enum OutputSink {
    Cof(CofSink<Box<dyn Write>>),
    Submit(SubmitSink),
    /// Each flush is one atomic durable write. Shared with the server whose collectors
    /// write through it (`serve --interface`, `--dnstap`).
    Store(Arc<Store>),
}

impl OutputSink {
    pub fn open(output: &Path, submit: &SubmitArgs) -> Result<OutputSink> {
        match Target::parse(output)? {
            Target::Cof(path) => Ok(OutputSink::Cof(CofSink::new(open_file(&path)?))),
            Target::Remote(url) => {
                let config = submit.config()?;
                let transport = submit.delivery.transport(&url, &config.sensor_id)?;
                let sink = SubmitSink::start(config, transport)
                    .with_context(|| format!("delivering to {url}"))?;
                Ok(OutputSink::Submit(sink))
            }
            Target::Store(dir) => Store::open(&dir, Access::ReadWrite)
                .map(|store| OutputSink::Store(Arc::new(store)))
                .with_context(|| {
                    format!(
                        "opening the store {} (one writer at a time: if a server started with \
                         --accept-submissions has it, submit to that server instead)",
                        dir.display()
                    )
                }),
        }
    }

    /// A submission's counters as it goes on (`/metrics` of a live sensor).
    pub fn live_stats(&self) -> Option<LiveStats> {
        match self {
            OutputSink::Submit(sink) => Some(sink.live_stats()),
            OutputSink::Cof(_) | OutputSink::Store(_) => None,
        }
    }

    /// Ends the output once the sensor has flushed into it: a submission's counters
    /// (`submit.*`) and the exit status it calls for.
    pub fn finish(self) -> Result<(Vec<(&'static str, u64)>, u8)> {
        match self {
            OutputSink::Submit(sink) => {
                let outcome = sink.finish().context("ending the submission")?;
                Ok((outcome.stats.counters(), submission_status(&outcome)))
            }
            OutputSink::Cof(_) | OutputSink::Store(_) => Ok((Vec::new(), exit::OK)),
        }
    }
}

/// Says what a submission left undone: batches still spooled are safe (a later run sends
/// them); batches lost or refused make the run an error.
pub fn submission_status(outcome: &Outcome) -> u8 {
    let stats = &outcome.stats;
    let why = outcome.last_failure.as_deref().unwrap_or("unknown");
    if stats.batches_left_in_spool > 0 {
        eprintln!(
            "dnsledger: warning: {} batches wait in the spool {} for the server (last failure: \
             {why}); the next run sends them first, or `dnsledger submit --server URL --spool {}`",
            stats.batches_left_in_spool,
            outcome.spool.display(),
            outcome.spool.display(),
        );
    }
    let lost = stats.batches_dropped_spool_full + stats.batches_dropped_spool_error;
    if lost + stats.batches_rejected == 0 {
        return exit::OK;
    }
    eprintln!(
        "dnsledger: error: {lost} batches lost, {} refused by the server (kept in {}/rejected): \
         {why}",
        stats.batches_rejected,
        outcome.spool.display(),
    );
    exit::ERROR
}

impl ObservationSink for OutputSink {
    fn accept(&mut self, batch: Vec<Observation>) -> Result<(), SinkError> {
        match self {
            OutputSink::Cof(sink) => sink.accept(batch),
            OutputSink::Submit(sink) => sink.accept(batch),
            OutputSink::Store(store) => StoreSink::new(store, Source::Sensor).accept(batch),
        }
    }

    /// The sensor's flush: COF formats the lent rows as they are (no copy per row).
    fn accept_encoded(&mut self, batch: &[EncodedObservation<'_>]) -> Result<(), SinkError> {
        match self {
            OutputSink::Cof(sink) => sink.accept_encoded(batch),
            OutputSink::Submit(sink) => sink.accept_encoded(batch),
            OutputSink::Store(store) => StoreSink::new(store, Source::Sensor).accept_encoded(batch),
        }
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        match self {
            OutputSink::Cof(sink) => sink.flush(),
            OutputSink::Submit(sink) => sink.flush(),
            OutputSink::Store(_) => Ok(()),
        }
    }
}

/// Output buffered 1 MiB at a time: a sensor's output is often hundreds of MB of COF (the
/// benchmark capture's 120 MB took 15,000 write calls with the default 8 KiB buffer).
const OUTPUT_BUFFER: usize = 1 << 20;

fn open_file(path: &Path) -> Result<Box<dyn Write>> {
    if path.as_os_str() == "-" {
        let stdout = std::io::stdout().lock();
        return Ok(Box::new(BufWriter::with_capacity(OUTPUT_BUFFER, stdout)));
    }
    let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    Ok(Box::new(BufWriter::with_capacity(OUTPUT_BUFFER, file)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_output_names_a_file_a_server_or_a_store() {
        let parse = |text: &str| Target::parse(Path::new(text)).unwrap();
        assert_eq!(parse("-"), Target::Cof("-".into()));
        assert_eq!(parse("out.jsonl"), Target::Cof("out.jsonl".into()));
        assert_eq!(parse("./db:x"), Target::Cof("./db:x".into()));
        assert_eq!(
            parse("https://pdns.example:8053"),
            Target::Remote("https://pdns.example:8053".into())
        );
        assert_eq!(
            parse("nats://10.0.0.1:4222,10.0.0.2:4222"),
            Target::Remote("nats://10.0.0.1:4222,10.0.0.2:4222".into())
        );
        assert_eq!(
            parse("db:/var/lib/pdns"),
            Target::Store("/var/lib/pdns".into())
        );
        assert!(Target::parse(Path::new("db:")).is_err());
    }
}
