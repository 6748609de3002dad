//! `dnsledger serve`: the HTTP APIs over a store (DNSDB v2/v1, CIRCL, native, metrics).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use dnsledger_server::{Server, ServerConfig};

use crate::exit;

#[derive(Args, Debug)]
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
}

impl ServeArgs {
    fn config(&self) -> ServerConfig {
        let mut config = ServerConfig::new(self.db.clone(), self.listen);
        config.tls = self.tls_cert.clone().zip(self.tls_key.clone());
        config.query_budget = Duration::from_secs(self.query_timeout.max(1));
        config.results_max = self.results_max.max(1);
        config.writer = self.accept_submissions;
        config
    }
}

pub fn run(args: &ServeArgs) -> Result<u8> {
    serve(args.config(), |url| {
        println!("dnsledger: serving {url}");
    })
}

/// Binds, tells `ready` the base URL, and serves until SIGINT or SIGTERM.
pub fn serve(config: ServerConfig, ready: impl FnOnce(&str)) -> Result<u8> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let writer = config.writer.then(|| config.db.display().to_string());
        let server = Server::bind(config).await.with_context(|| match &writer {
            Some(db) => format!(
                "starting the server as the writer of {db} (--accept-submissions): is an \
                 ingest or another writing server using it?"
            ),
            None => "starting the server".into(),
        })?;
        // Installed before the URL is announced: a signal right after it must stop us cleanly.
        let shutdown = shutdown_signal().context("installing the signal handlers")?;
        let scheme = if server.is_tls() { "https" } else { "http" };
        ready(&format!("{scheme}://{}", server.local_addr()));
        use std::io::Write;
        let _ = std::io::stdout().flush();
        server.run(shutdown).await?;
        eprintln!("dnsledger serve: stopped");
        Ok(exit::OK)
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
