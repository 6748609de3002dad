//! One batch to the server: `POST /api/v1/submit`, and what its answer means for the batch.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use ureq::tls::{PemItem, RootCerts, TlsConfig};

use crate::batch::Batch;
use crate::delivery::Transport;
use crate::SubmitError;

/// The server's path for submissions, below its base URL.
pub const SUBMIT_PATH: &str = "/api/v1/submit";

/// Where and how to send.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// The server's base URL, `http://HOST:PORT` or `https://HOST:PORT`.
    pub url: String,
    /// An API key of scope `submit`.
    pub key: String,
    /// PEM certificates to trust instead of the built-in roots (a private CA, a
    /// self-signed server).
    pub ca_cert: Option<PathBuf>,
    /// How long one attempt may take, connecting included.
    pub timeout: Duration,
}

/// The server recorded the batch: now, or already before (`duplicate`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub struct Ack {
    pub accepted: u64,
    pub duplicate: bool,
}

/// Why a batch was not acknowledged.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth trying again later: the server was unreachable, slow, busy, not accepting
    /// submissions yet, or refused the key (which can be fixed without touching the batch).
    #[error("{0}")]
    Transient(String),
    /// The server read the batch and refused it (400, 413, 415): sending it again cannot help.
    #[error("{0}")]
    Rejected(String),
}

/// The statuses that condemn the batch itself; any other failure leaves it to be resent.
const REJECTED_STATUSES: [u16; 3] = [400, 413, 415];
/// How much of an error answer is kept for the message.
const MESSAGE_BYTES: u64 = 1024;

pub struct Client {
    endpoint: String,
    key: String,
    agent: ureq::Agent,
}

impl Client {
    pub fn new(config: &ClientConfig) -> Result<Client, SubmitError> {
        let mut builder = ureq::Agent::config_builder()
            .http_status_as_error(false)
            // A redirect would turn the POST into a GET: the URL must name the server.
            .max_redirects(0)
            .timeout_global(Some(config.timeout))
            .user_agent(concat!("dnsledger/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &config.ca_cert {
            builder =
                builder.tls_config(TlsConfig::builder().root_certs(root_certs(path)?).build());
        }
        Ok(Client {
            endpoint: format!("{}{SUBMIT_PATH}", config.url.trim_end_matches('/')),
            key: config.key.clone(),
            agent: builder.build().into(),
        })
    }

    /// Posts one batch and classifies the answer.
    pub fn send(&self, batch: &Batch) -> Result<Ack, SendError> {
        let mut response = self
            .agent
            .post(&self.endpoint)
            .header("X-API-Key", &self.key)
            .header("X-Batch-Id", batch.id.to_string())
            .header("Content-Type", "application/x-ndjson")
            .header("Content-Encoding", "gzip")
            .send(&batch.body[..])
            .map_err(|e| SendError::Transient(format!("{}: {e}", self.endpoint)))?;
        let status = response.status().as_u16();
        let mut text = String::new();
        let read = response
            .body_mut()
            .as_reader()
            .take(MESSAGE_BYTES)
            .read_to_string(&mut text);
        if status == 200 {
            // An answer cut short or garbled may hide a write that happened: resending is
            // safe, the server then says duplicate.
            return read
                .ok()
                .and_then(|_| serde_json::from_str(&text).ok())
                .ok_or_else(|| SendError::Transient(format!("unreadable answer {text:?}")));
        }
        let message = format!("the server answered {status}: {}", text.trim());
        match REJECTED_STATUSES.contains(&status) {
            true => Err(SendError::Rejected(message)),
            false => Err(SendError::Transient(message)),
        }
    }
}

impl Transport for Client {
    fn send(&mut self, batch: &Batch) -> Result<Ack, SendError> {
        Client::send(self, batch)
    }
}

/// The certificates of a PEM file, as the only roots trusted (a private CA, a self-signed
/// server): for submissions, and for a router's shards.
pub fn root_certs(path: &Path) -> Result<RootCerts, SubmitError> {
    let bad = |what: String| SubmitError::CaCert {
        path: path.to_path_buf(),
        what,
    };
    let pem = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        if let PemItem::Certificate(cert) = item.map_err(|e| bad(e.to_string()))? {
            certs.push(cert);
        }
    }
    match certs.is_empty() {
        true => Err(bad("no certificate in the file".into())),
        false => Ok(RootCerts::new_with_certs(&certs)),
    }
}
