//! `dnsledger serve`: the HTTP APIs over a store (DNSDB v2/v1, CIRCL, native, metrics),
//! optionally with collectors in the same process (`--interface`, `--dnstap`: [`collect`])
//! or fed by a NATS JetStream stream (`--consume`: [`cluster_cmd`]), or as the router of
//! a sharded deployment (`--shards`: [`dnsledger_cluster::Router`]).
//!
//! [`collect`]: crate::collect
//! [`cluster_cmd`]: crate::cluster_cmd

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{ArgGroup, Args};
use dnsledger_cluster::{ConsumeConfig, Consumer, Router, ShardsFile};
use dnsledger_server::{MetricSource, Server, ServerConfig, Shards};
use tokio::sync::Notify;

use crate::cluster_cmd::{self, ConsumeArgs};
use crate::collect::{CollectArgs, Collectors};
use crate::exit;
use crate::sensor_options::PRIVACY;

#[derive(Args, Debug)]
#[command(after_help = PRIVACY)]
#[command(group(ArgGroup::new("collector").args(["interface", "dnstap"]).multiple(true)))]
// The sensor's settings mean nothing without a collector (submitted batches are not filtered).
#[command(group(ArgGroup::new("collector_settings")
    .args(["root_hints", "accept_rd", "noerror_only", "pair_timeout", "dns_ports", "max_rrsets",
           "flush_interval", "include_suffix", "include_suffixes", "exclude_suffix",
           "exclude_suffixes", "dnstap_queue"])
    .multiple(true)
    .requires("collector")))]
pub struct ServeArgs {
    /// The store directory; its API keys, quota counters and audit log live there too.
    #[arg(long, default_value = "./dnsledger-data", value_name = "DIR")]
    pub db: PathBuf,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1:8053", value_name = "ADDR:PORT")]
    pub listen: SocketAddr,
    /// PEM certificate chain: serve HTTPS (with --tls-key).
    #[arg(long, requires = "tls_key", value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, requires = "tls_cert", value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// Seconds a query may stream before it ends with `failed`.
    #[arg(long, default_value_t = 120, value_name = "SECONDS")]
    pub query_timeout: u64,
    /// Rows per answer for keys without their own --results-max.
    #[arg(long, default_value_t = 1_000_000, value_name = "N")]
    pub results_max: u64,
    /// Take sensors' batches at POST /api/v1/submit (keys of scope submit). The server then
    /// is the store's one writer: no `ingest` can run beside it (submit instead).
    #[arg(long)]
    pub accept_submissions: bool,

    /// Collect in this process too (--interface, --dnstap; then the server is the store's
    /// writer, as with --accept-submissions): each collector's RRsets are written every
    /// --flush-interval, its counters join /metrics, and SIGINT or SIGTERM stops it after a
    /// last write.
    #[command(flatten, next_help_heading = "Collection in the server")]
    pub collect: CollectArgs,

    /// Be a store node of a NATS JetStream deployment (then the server is the store's
    /// writer): sensors publish with --output nats://..., this server applies their batches.
    #[command(
        flatten,
        next_help_heading = "Store node of a NATS JetStream deployment"
    )]
    pub cluster: ConsumeArgs,

    /// Be the router of a sharded deployment: answer every query from the shards listed in
    /// FILE (lines `key-file PATH` and `shard NAME URL [URL...]`, replicas after the first
    /// URL), asked in parallel and merged in order. --db then holds only the router's keys,
    /// quotas and audit log. See docs/deployment.md.
    #[arg(long, value_name = "FILE", help_heading = "Router of a sharded deployment",
          conflicts_with_all = ["accept_submissions", "collector", "consume"])]
    pub shards: Option<PathBuf>,
}

impl ServeArgs {
    fn config(&self) -> Result<ServerConfig> {
        let mut config = ServerConfig::new(self.db.clone(), self.listen);
        config.tls = self.tls_cert.clone().zip(self.tls_key.clone());
        config.query_budget = Duration::from_secs(self.query_timeout.max(1));
        config.results_max = self.results_max.max(1);
        config.writer = self.accept_submissions;
        if let Some(path) = &self.shards {
            let router = ShardsFile::read(path)
                .and_then(|file| Router::new(&file))
                .context("reading the shards file")?;
            let router = Arc::new(router);
            let counting = Arc::clone(&router);
            config
                .metric_sources
                .push(MetricSource::counters(move || counting.counters()));
            config.shards = Some(Shards(router));
        }
        Ok(config)
    }
}

pub fn run(args: &ServeArgs) -> Result<u8> {
    let collectors = Collectors::open(&args.collect)?;
    let consume = args.cluster.config()?;
    serve_collecting(args.config()?, collectors, consume, |url| {
        println!("dnsledger: serving {url}");
    })
}

/// Binds, tells `ready` the base URL, and serves until SIGINT or SIGTERM.
pub fn serve(config: ServerConfig, ready: impl FnOnce(&str)) -> Result<u8> {
    serve_collecting(config, None, None, ready)
}

/// [`serve`], with `collectors` running beside the server (then the store's writer) from
/// before `ready` until the server stops: on a signal, or when one of them fails; and with
/// a NATS consumer (`consume`, then the store's writer too) for as long as it serves.
fn serve_collecting(
    mut config: ServerConfig,
    collectors: Option<Collectors<'_>>,
    consume: Option<ConsumeConfig>,
    ready: impl FnOnce(&str),
) -> Result<u8> {
    if let Some(collectors) = &collectors {
        config.writer = true;
        config.metric_sources = collectors.metric_sources();
    }
    let mut consumer = consume.map(Consumer::new);
    if let Some(consumer) = &consumer {
        config.writer = true;
        config
            .metric_sources
            .extend(cluster_cmd::metric_sources(consumer));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    std::thread::scope(|scope| {
        runtime.block_on(async {
            let writer = config.writer.then(|| config.db.display().to_string());
            let server = Server::bind(config).await.with_context(|| match &writer {
                Some(db) => format!(
                    "starting the server as the writer of {db} (--accept-submissions, \
                     --interface, --dnstap, --consume): is an ingest or another writing \
                     server using it?"
                ),
                None => "starting the server".into(),
            })?;
            // Installed before the URL is announced: a signal right after it must stop us
            // cleanly.
            let shutdown = shutdown_signal().context("installing the signal handlers")?;
            let stop = Arc::new(AtomicBool::new(false));
            let ended = Arc::new(Notify::new());
            let running = collectors.map(|collectors| {
                let store = server
                    .writer_store()
                    .expect("a collecting server is the writer");
                collectors.start(scope, &store, &stop, &ended)
            });
            if let Some(consumer) = &mut consumer {
                let store = server
                    .writer_store()
                    .expect("a consuming server is the writer");
                consumer
                    .start(store)
                    .await
                    .context("starting the NATS consumer")?;
            }
            let scheme = if server.is_tls() { "https" } else { "http" };
            ready(&format!("{scheme}://{}", server.local_addr()));
            use std::io::Write;
            let _ = std::io::stdout().flush();
            let stopping = async {
                tokio::select! {
                    () = shutdown => {}
                    () = ended.notified() => {}
                }
                // The collectors write their last RRsets while answers drain.
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
            };
            let served = server.run(stopping).await;
            // Batches being applied are not acknowledged: they come again, as duplicates.
            drop(consumer);
            let collected = running.map_or(Ok(()), |running| running.stop());
            served?;
            collected?;
            eprintln!("dnsledger serve: stopped");
            Ok(exit::OK)
        })
    })
}

/// Completes on SIGINT or SIGTERM; the handlers are in place when this returns.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}
