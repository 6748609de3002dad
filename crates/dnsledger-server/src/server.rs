//! The listening socket: HTTP/1.1, optionally over TLS (rustls), connections bounded in
//! number and in how long their headers may take, background upkeep, graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

use crate::service::handle;
use crate::state::{now, ServerConfig, State};
use crate::ServerError;

/// Connections open at once; more wait in the kernel's accept queue.
const MAX_CONNECTIONS: usize = 4096;
/// A client that has not sent its request headers by then is dropped (slowloris).
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// On shutdown, answers still streaming get this long to finish.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the reader catches up with a writer in another process.
const CATCH_UP_INTERVAL: Duration = Duration::from_millis(250);
/// How often the daily quota counters are saved.
const QUOTA_SAVE_INTERVAL: Duration = Duration::from_secs(10);

/// A bound, ready server.
pub struct Server {
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    state: Arc<State>,
}

impl Server {
    /// Opens the store, the keys and the audit log, and binds the address.
    pub async fn bind(config: ServerConfig) -> Result<Server, ServerError> {
        let tls = match &config.tls {
            Some((cert, key)) => Some(tls_acceptor(cert, key)?),
            None => None,
        };
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| ServerError::Bind {
                    address: config.listen,
                    source,
                })?;
        let state = Arc::new(State::open(config)?);
        if state.keyring.is_empty() {
            tracing::warn!("no API keys yet: every query is refused until `dnsledger keys add`");
        }
        Ok(Server {
            listener,
            tls,
            state,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| self.state.config.listen)
    }

    /// The store, when the server is its writer ([`ServerConfig::writer`]): what collectors
    /// running in-process write to, since no other handle can open it meanwhile.
    pub fn writer_store(&self) -> Option<Arc<dnsledger_store::Store>> {
        self.state
            .config
            .writer
            .then(|| Arc::clone(&self.state.store))
    }

    /// Whether it speaks HTTPS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Serves until `shutdown` completes, then lets running answers finish (up to a bound).
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), ServerError> {
        let Server {
            listener,
            tls,
            state,
        } = self;
        let upkeep = tokio::spawn(upkeep(state.clone()));
        let graceful = GracefulShutdown::new();
        let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        tokio::pin!(shutdown);
        loop {
            let slot = tokio::select! {
                slot = slots.clone().acquire_owned() => slot,
                () = &mut shutdown => break,
            };
            let Ok(slot) = slot else { break };
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                () = &mut shutdown => break,
            };
            let (stream, peer) = match accepted {
                Ok(pair) => pair,
                Err(error) => {
                    // Out of file descriptors and the like: pause rather than spin.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let state = state.clone();
            let tls = tls.clone();
            let watcher = graceful.watcher();
            tokio::spawn(async move {
                let _slot = slot;
                let service = service_fn(move |request| handle(state.clone(), request));
                let builder = {
                    let mut builder = http1::Builder::new();
                    builder
                        .timer(TokioTimer::new())
                        .header_read_timeout(HEADER_TIMEOUT);
                    builder
                };
                let result = match tls {
                    Some(acceptor) => match acceptor.accept(stream).await {
                        Ok(stream) => {
                            let connection =
                                builder.serve_connection(TokioIo::new(stream), service);
                            watcher.watch(connection).await
                        }
                        Err(error) => {
                            tracing::debug!(%peer, %error, "TLS handshake failed");
                            return;
                        }
                    },
                    None => {
                        let connection = builder.serve_connection(TokioIo::new(stream), service);
                        watcher.watch(connection).await
                    }
                };
                if let Err(error) = result {
                    tracing::debug!(%peer, %error, "connection ended with an error");
                }
            });
        }
        drop(listener);
        state.feeds.close();
        if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!("answers still streaming after the drain timeout were cut");
        }
        upkeep.abort();
        save_quotas(&state);
        Ok(())
    }
}

/// Periodic work: see new writes, reload keys, save quota counters.
async fn upkeep(state: Arc<State>) {
    let mut catch_up = tokio::time::interval(CATCH_UP_INTERVAL);
    let mut save = tokio::time::interval(QUOTA_SAVE_INTERVAL);
    loop {
        tokio::select! {
            _ = catch_up.tick() => {
                let state = state.clone();
                let _ = tokio::task::spawn_blocking(move || {
                    if let Err(error) = state.store.catch_up() {
                        tracing::warn!(%error, "catching up with the store's writer");
                    }
                    state.keyring.refresh(now());
                })
                .await;
            }
            _ = save.tick() => save_quotas(&state),
        }
    }
}

fn save_quotas(state: &State) {
    if let Err(error) = state.quotas.save() {
        tracing::warn!(%error, "saving the quota counters");
    }
}

fn tls_acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, ServerError> {
    let tls_error = |message: String| ServerError::Tls(message);
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| tls_error(format!("{}: {e}", cert.display())))?
        .collect::<Result<_, _>>()
        .map_err(|e| tls_error(format!("{}: {e}", cert.display())))?;
    if certs.is_empty() {
        return Err(tls_error(format!("{}: no certificate", cert.display())));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| tls_error(format!("{}: {e}", key.display())))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| tls_error(e.to_string()))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}
