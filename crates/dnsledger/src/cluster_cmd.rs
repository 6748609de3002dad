//! Scale-out over NATS JetStream, the binary's side: the NATS options a sensor
//! (`--output nats://...`) and a store node (`serve --consume nats://...`) share, the store
//! node's consumer, and `dnsledger cluster status`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use dnsledger_cluster::status::Status;
use dnsledger_cluster::{ConsumeConfig, Consumer, Credentials, NatsConfig};
use dnsledger_server::MetricSource;

use crate::exit;

/// What every sensor and store node of a deployment must agree on.
#[derive(Args, Debug)]
pub struct NatsArgs {
    /// A file with the NATS credentials: a line `token=TOKEN`, or lines `user=NAME` and
    /// `password=SECRET`. Never on the command line, where ps shows it.
    #[arg(long, value_name = "FILE")]
    pub nats_credentials: Option<PathBuf>,

    /// The JetStream stream carrying the batches (subjects STREAM.PARTITION).
    #[arg(long, default_value = "DNSLEDGER", value_name = "NAME")]
    pub nats_stream: String,

    /// Copies of each batch NATS keeps when it creates the stream (3 for a three-node
    /// cluster); an existing stream keeps its own.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub nats_replicas: usize,

    /// How many partitions batches are spread over, by registered domain: the same for every
    /// sensor and store node of a deployment.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1024), value_name = "N")]
    pub nats_partitions: u32,
}

impl NatsArgs {
    /// The settings for the NATS servers of `url`.
    pub fn config(&self, url: &str) -> Result<NatsConfig> {
        let mut config = NatsConfig::new(url, &self.nats_stream)?;
        config.replicas = self.nats_replicas;
        config.partitions = self.nats_partitions;
        config.credentials = match &self.nats_credentials {
            Some(path) => Some(Credentials::read(path)?),
            None => None,
        };
        Ok(config)
    }
}

/// `serve --consume`: a store node fed by the stream.
#[derive(Args, Debug)]
pub struct ConsumeArgs {
    /// Apply the batches of the NATS JetStream stream at nats://HOST:PORT[,HOST:PORT...]
    /// to the store (then the server is its writer), each acknowledged once durable.
    #[arg(long, value_name = "URL")]
    pub consume: Option<String>,

    /// This store node's name, which names its durable consumers: a node restarted with the
    /// same name resumes where it stopped; every node needs its own.
    #[arg(long, requires = "consume", value_name = "NAME")]
    pub node: Option<String>,

    /// The partitions this node owns (a shard), e.g. 0,2; without it the node takes every
    /// batch (a replica).
    #[arg(long, requires = "consume", value_delimiter = ',', value_name = "LIST")]
    pub partitions: Option<Vec<u32>>,

    #[command(flatten)]
    pub nats: NatsArgs,
}

impl ConsumeArgs {
    /// The consumer's settings, when `--consume` is given.
    pub fn config(&self) -> Result<Option<ConsumeConfig>> {
        let Some(url) = &self.consume else {
            return Ok(None);
        };
        let node = self
            .node
            .as_deref()
            .context("--consume needs --node NAME (it names the node's durable consumers)")?;
        let config = ConsumeConfig::new(self.nats.config(url)?, node, self.partitions.clone())?;
        Ok(Some(config))
    }
}

/// A consumer's metrics (`cluster.*`) for `/metrics`: its counters, and its lag (the
/// batches not yet acknowledged) as a gauge.
pub fn metric_sources(consumer: &Consumer) -> [MetricSource; 2] {
    /// The one reading that goes down as well as up.
    const LAG: &str = "lag_batches";
    let read = consumer.stats_reader();
    let counters = MetricSource::counters(move || {
        read()
            .counters()
            .into_iter()
            .filter(|(name, _)| *name != LAG)
            .map(|(name, value)| (format!("cluster.{name}"), value))
            .collect()
    });
    let read = consumer.stats_reader();
    let lag = MetricSource::gauges(move || vec![(format!("cluster.{LAG}"), read().lag_batches)]);
    [counters, lag]
}

#[derive(Args, Debug)]
pub struct ClusterArgs {
    #[command(subcommand)]
    command: ClusterCommand,
}

#[derive(Subcommand, Debug)]
enum ClusterCommand {
    /// The stream, each store node's lag, each sensor's last batch and the NATS nodes' health.
    Status {
        /// The NATS servers: nats://HOST:PORT[,HOST:PORT...]
        #[arg(long, value_name = "URL")]
        nats: String,

        #[command(flatten)]
        options: NatsArgs,
    },
}

pub fn run(args: &ClusterArgs) -> Result<u8> {
    match &args.command {
        ClusterCommand::Status { nats, options } => {
            let config = options.config(nats)?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("starting the async runtime")?;
            let status = runtime
                .block_on(Status::read(&config))
                .with_context(|| format!("reading the cluster status from {nats}"))?;
            print!("{status}");
            Ok(exit::OK)
        }
    }
}
