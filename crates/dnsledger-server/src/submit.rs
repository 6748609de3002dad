//! `POST /api/v1/submit`: a sensor's batch into the store, exactly once.
//!
//! The batch's observations and its id's record (`batch/<sensor-id>/<sequence>` in the meta
//! column family) are one atomic durable write, and the answer (200) comes after it: an
//! acknowledged batch survives a crash, and a batch whose id is recorded is answered
//! `duplicate` without writing anything. A bad line refuses the whole batch (400): a batch
//! is stored entirely or not at all, so it can always be sent again as it is.
//!
//! Bounds: the body and its decompressed text at most [`MAX_BATCH_BYTES`] each (413);
//! at most [`MAX_IN_FLIGHT`] batches read, decoded and written at once whatever the keys
//! (the others wait up to [`SLOT_WAIT`], then 503); a key's `concurrent` limit counts its
//! submissions in flight (503). Daily and burst quotas are query quotas: a submission
//! neither consumes nor needs them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use dnsledger_keys::{KeyInfo, Scope};
use dnsledger_store::keys::Source;
use dnsledger_store::Store;
use dnsledger_submit::batch::{self, BatchId, BodyError, MAX_BATCH_BYTES};
use http::request::Parts;
use http::{HeaderMap, Response, StatusCode};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::json;
use tokio::sync::Semaphore;

use crate::auth::{self, Refusal};
use crate::service::{json_response, Body};
use crate::state::{Exchange, State};

/// Batches in memory at once: each may hold up to 2 x 64 MiB (body and text) and its
/// observations.
const MAX_IN_FLIGHT: usize = 4;
/// How long a batch waits for one of those slots before it is told to come back.
const SLOT_WAIT: Duration = Duration::from_secs(30);

/// Said to a submit key when the server only reads the store.
pub const NOT_A_WRITER: &str =
    "this server does not accept submissions; start it with --accept-submissions";

/// What a writing server keeps for submissions.
pub struct Submissions {
    slots: Semaphore,
    /// Submissions in flight per key name, for the keys' `concurrent` limits.
    per_key: Mutex<HashMap<String, u32>>,
    recorder: BatchRecorder,
}

impl Default for Submissions {
    fn default() -> Submissions {
        Submissions {
            slots: Semaphore::new(MAX_IN_FLIGHT),
            per_key: Mutex::new(HashMap::new()),
            recorder: BatchRecorder::default(),
        }
    }
}

/// One submission of a key in flight; dropping it ends it.
struct KeySlot<'a> {
    submissions: &'a Submissions,
    key: String,
}

impl Drop for KeySlot<'_> {
    fn drop(&mut self) {
        if let Some(n) = lock(&self.submissions.per_key).get_mut(&self.key) {
            *n = n.saturating_sub(1);
        }
    }
}

// Every update leaves the state consistent before anything can panic.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Submissions {
    /// Counts a submission against the key's `concurrent` limit (503 when over).
    fn admit(&self, key: &KeyInfo) -> Result<KeySlot<'_>, Refusal> {
        let mut per_key = lock(&self.per_key);
        let in_flight = per_key.entry(key.name.clone()).or_default();
        if let Some(limit) = key.limits.concurrent.filter(|&l| *in_flight >= l) {
            return Err(Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("too many concurrent submissions for this key (limit {limit})"),
            ));
        }
        *in_flight += 1;
        Ok(KeySlot {
            submissions: self,
            key: key.name.clone(),
        })
    }
}

/// `POST /api/v1/submit`.
pub async fn submit<B>(
    state: &Arc<State>,
    parts: &Parts,
    body: B,
    exchange: &mut Exchange,
) -> Result<Response<Body>, Refusal>
where
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    // The key first: only its holder learns how this server is configured.
    let key = auth::identify(state, &parts.headers, Scope::Submit, exchange)?;
    let Some(submissions) = &state.submissions else {
        return Err(Refusal::new(StatusCode::SERVICE_UNAVAILABLE, NOT_A_WRITER));
    };
    let id = batch_id(&parts.headers)?;
    exchange.query = format!("{} batch={id}", exchange.query);
    let gzip = gzip_encoded(&parts.headers)?;
    let _key_slot = submissions.admit(&key)?;
    let _slot = tokio::time::timeout(SLOT_WAIT, submissions.slots.acquire())
        .await
        .ok()
        .and_then(Result::ok)
        .ok_or_else(|| {
            Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the server is busy with other submissions; send the batch again later",
            )
        })?;
    let body = read_body(body).await?;
    let task_state = state.clone();
    let task_id = id.clone();
    let recorded = tokio::task::spawn_blocking(move || {
        let submissions = task_state.submissions.as_ref().expect("checked above");
        record(&task_state.store, submissions, &task_id, &body, gzip)
    })
    .await
    .map_err(|_| Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, "the write stopped"))??;
    state.audit(exchange, recorded.accepted, 200);
    Ok(json_response(
        StatusCode::OK,
        &json!({"accepted": recorded.accepted, "batch": id.to_string(), "duplicate": recorded.duplicate}),
    ))
}

fn batch_id(headers: &HeaderMap) -> Result<BatchId, Refusal> {
    let bad = |message: String| Refusal::new(StatusCode::BAD_REQUEST, message);
    let text = headers
        .get("x-batch-id")
        .ok_or_else(|| bad("missing X-Batch-Id: SENSOR/SEQUENCE".into()))?
        .to_str()
        .map_err(|_| bad("X-Batch-Id is not ASCII".into()))?;
    text.trim()
        .parse()
        .map_err(|e: batch::BadId| bad(e.to_string()))
}

/// Whether the body is gzip (`Content-Encoding: gzip`) or plain (none, `identity`).
fn gzip_encoded(headers: &HeaderMap) -> Result<bool, Refusal> {
    let encoding = headers
        .get(http::header::CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap_or("?").trim().to_ascii_lowercase());
    match encoding.as_deref() {
        None | Some("identity") => Ok(false),
        Some("gzip") => Ok(true),
        Some(other) => Err(Refusal::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Content-Encoding {other:?}: send gzip or nothing"),
        )),
    }
}

async fn read_body<B>(body: B) -> Result<Bytes, Refusal>
where
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    match Limited::new(body, MAX_BATCH_BYTES).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<LengthLimitError>() => Err(too_large()),
        Err(error) => Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            format!("reading the body: {error}"),
        )),
    }
}

fn too_large() -> Refusal {
    Refusal::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("a batch may hold at most {MAX_BATCH_BYTES} bytes, compressed or not"),
    )
}

/// The meta key that records a batch.
fn meta_key(id: &BatchId) -> String {
    format!("batch/{id}")
}

/// How a batch was recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recorded {
    pub accepted: u64,
    /// The batch's record existed: nothing was written.
    pub duplicate: bool,
}

/// Why a batch was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The body cannot be read (too large, not gzip): sending it again cannot help.
    #[error(transparent)]
    Body(#[from] BodyError),
    /// A bad line: sending it again cannot help.
    #[error("the batch is refused whole: {0}")]
    Lines(#[from] batch::LineError),
    /// The store failed: the batch may be sent again.
    #[error("the store could not take the batch: {0}")]
    Store(#[from] dnsledger_store::StoreError),
}

/// Applies batches to a store exactly once, whoever carries them (HTTP submission, a NATS
/// JetStream consumer): the observations and the batch's record in one atomic durable
/// write; a batch whose record exists is a duplicate and writes nothing.
#[derive(Default)]
pub struct BatchRecorder {
    /// Held from "is this id recorded?" to its write, so that the same batch arriving twice
    /// at once is written once.
    record: Mutex<()>,
}

impl BatchRecorder {
    /// Decodes the batch (`gzip` or plain COF NDJSON) and writes it with its record, unless
    /// the record exists already. Returns after the write is durable.
    pub fn record(
        &self,
        store: &Store,
        id: &BatchId,
        body: &[u8],
        gzip: bool,
    ) -> Result<Recorded, RecordError> {
        let key = meta_key(id);
        // A resend after a lost answer is the common duplicate: known before decoding.
        if let Some(recorded) = recorded(store, &key)? {
            return Ok(recorded);
        }
        let text = match gzip {
            true => batch::gunzip(body, MAX_BATCH_BYTES)?,
            false => body.to_vec(),
        };
        let observations = batch::decode(&text)?;
        let accepted = observations.len() as u64;
        let _recording = lock(&self.record);
        if let Some(recorded) = recorded(store, &key)? {
            return Ok(recorded);
        }
        let value = format!("{accepted} {}", crate::state::now());
        store.write(
            &[(Source::Sensor, &observations)],
            Some((&key, value.as_bytes())),
        )?;
        Ok(Recorded {
            accepted,
            duplicate: false,
        })
    }
}

/// The record of a batch written before: `<accepted> <epoch seconds>`.
fn recorded(store: &Store, key: &str) -> Result<Option<Recorded>, RecordError> {
    let value = store.meta_get(key)?;
    Ok(value.map(|value| Recorded {
        accepted: String::from_utf8_lossy(&value)
            .split(' ')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0),
        duplicate: true,
    }))
}

/// Records a submitted batch, the failure as the answer the sensor gets: 413 or 400 when the
/// batch itself is bad, 500 (send again) when the store failed.
fn record(
    store: &Store,
    submissions: &Submissions,
    id: &BatchId,
    body: &[u8],
    gzip: bool,
) -> Result<Recorded, Refusal> {
    submissions
        .recorder
        .record(store, id, body, gzip)
        .map_err(|error| match error {
            RecordError::Body(BodyError::TooLarge) => too_large(),
            RecordError::Body(_) | RecordError::Lines(_) => {
                Refusal::new(StatusCode::BAD_REQUEST, error.to_string())
            }
            RecordError::Store(_) => {
                tracing::error!(%error, "writing a submitted batch");
                Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, error.to_string())
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::headers;

    #[test]
    fn the_batch_id_header_is_required_and_checked() {
        let id = batch_id(&headers(&[("x-batch-id", " tap-1/7 ")])).unwrap();
        assert_eq!(id.to_string(), "tap-1/7");
        for bad in [headers(&[]), headers(&[("x-batch-id", "tap-1/07")])] {
            assert_eq!(batch_id(&bad).unwrap_err().status, StatusCode::BAD_REQUEST);
        }
    }

    #[test]
    fn gzip_or_plain_bodies_only() {
        assert!(!gzip_encoded(&headers(&[])).unwrap());
        assert!(!gzip_encoded(&headers(&[("content-encoding", "identity")])).unwrap());
        assert!(gzip_encoded(&headers(&[("content-encoding", "GZIP")])).unwrap());
        let refusal = gzip_encoded(&headers(&[("content-encoding", "br")])).unwrap_err();
        assert_eq!(refusal.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }

    #[test]
    fn a_keys_concurrent_limit_counts_its_submissions_in_flight() {
        let submissions = Submissions::default();
        let mut key: KeyInfo = serde_json::from_value(json!({
            "name": "tap", "id": "dnsl_x", "scopes": ["submit"], "created": 0
        }))
        .unwrap();
        key.limits.concurrent = Some(1);
        let first = submissions.admit(&key).unwrap();
        let refused = submissions.admit(&key).map(drop).unwrap_err();
        assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
        drop(first);
        assert!(submissions.admit(&key).is_ok());
    }

    fn observation_line(count: u64) -> String {
        format!(
            "{{\"rrname\":\"a.example.\",\"rrtype\":\"A\",\"rdata\":[\"192.0.2.1\"],\
             \"bailiwick\":\"example.\",\"count\":{count},\"time_first\":10,\"time_last\":20}}\n"
        )
    }

    #[test]
    fn a_batch_is_written_once_with_its_record_and_a_bad_one_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            Store::open(&dir.path().join("db"), dnsledger_store::Access::ReadWrite).unwrap();
        let submissions = Submissions::default();
        let id: BatchId = "tap/1".parse().unwrap();
        let body = observation_line(3);
        let first = record(&store, &submissions, &id, body.as_bytes(), false).unwrap();
        assert_eq!((first.accepted, first.duplicate), (1, false));
        let again = record(&store, &submissions, &id, b"not even json", false).unwrap();
        assert_eq!((again.accepted, again.duplicate), (1, true));
        assert!(store.meta_get("batch/tap/1").unwrap().is_some());
        let bad_id: BatchId = "tap/2".parse().unwrap();
        let bad = format!("{}{{\"rrname\":1}}\n", observation_line(1));
        let refusal = record(&store, &submissions, &bad_id, bad.as_bytes(), false)
            .map(|_| ())
            .unwrap_err();
        assert_eq!(refusal.status, StatusCode::BAD_REQUEST);
        assert!(refusal.message.contains("line 2"), "{}", refusal.message);
        assert!(store.meta_get("batch/tap/2").unwrap().is_none());
    }
}
