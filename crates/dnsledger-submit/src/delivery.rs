//! Getting batches to the server with nothing lost and nothing counted twice: send when
//! the way is clear, spool when it is not, replay the spool in order before anything new.
//! Where batches go is a [`Transport`]: a dnsledger server over HTTP ([`Client`]), or
//! another carrier with the same promise (an acknowledgement means the batch is kept).

use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use dnsledger_rrset::{Observation, ObservationSink, SinkError};

use crate::batch::{self, Batch, BatchId, TARGET_BATCH_BYTES};
use crate::client::{Ack, SendError};
use crate::spool::{Spool, SpoolError};
use crate::SubmitError;

/// The first wait after a failed attempt; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Flushes handed over but not yet sent or spooled; the sensor waits beyond that.
const QUEUED_FLUSHES: usize = 2;

/// Where a delivery sends batches.
pub trait Transport: Send {
    /// Sends one batch; `Ok` only once the other end keeps it.
    fn send(&mut self, batch: &Batch) -> Result<Ack, SendError>;

    /// Splits a flush into the groups that must travel in separate batches (each group is
    /// encoded on its own). By default a flush is one group.
    fn group(&self, observations: Vec<Observation>) -> Vec<Vec<Observation>> {
        vec![observations]
    }

    /// Where batches are cut (bytes of text before compression): what one message of this
    /// transport comfortably carries.
    fn batch_text_bytes(&self) -> usize {
        TARGET_BATCH_BYTES
    }
}

/// How a sensor submits, whatever the transport.
#[derive(Clone, Debug)]
pub struct SubmitConfig {
    /// The first half of every batch id.
    pub sensor_id: String,
    pub spool: PathBuf,
    /// Bytes of batch files the spool may hold (rejected ones included).
    pub spool_max_bytes: u64,
    /// At the end, how long spooled batches are retried before they are left for the next
    /// run.
    pub drain_timeout: Duration,
}

dnsledger_rrset::counters! {
    /// What happened to the batches, by name (`submit.*` in the sensor's report).
    pub struct SubmitStats {
        /// Acknowledged at the first attempt.
        batches_sent,
        /// Acknowledged when replayed from the spool.
        batches_replayed,
        /// Of those acknowledged, the ones the server already had (a resend after a lost
        /// answer): recorded once.
        batches_duplicate,
        /// Written to the spool: the server was unreachable or refused for now, or older
        /// batches were waiting.
        batches_spooled,
        /// Refused by the server as malformed (400, 413, 415), kept in `rejected/`.
        batches_rejected,
        /// Lost: the spool was full.
        batches_dropped_spool_full,
        /// Lost: writing to the spool failed.
        batches_dropped_spool_error,
        /// Still in the spool at the end, for the next run.
        batches_left_in_spool,
        /// Observations the server acknowledged as new.
        observations_sent,
        /// Compressed bytes acknowledged.
        bytes_sent,
        /// Attempts that failed and will be repeated.
        send_failures,
    }
}

/// What a delivery ended with.
#[derive(Debug)]
pub struct Outcome {
    pub stats: SubmitStats,
    /// The last failure, when batches are left or were lost: what to tell the operator.
    pub last_failure: Option<String>,
    pub spool: PathBuf,
}

/// When to try again after failures.
#[derive(Debug)]
struct Backoff {
    delay: Duration,
    next_try: Option<Instant>,
}

impl Backoff {
    fn new() -> Backoff {
        Backoff {
            delay: FIRST_BACKOFF,
            next_try: None,
        }
    }

    fn ready(&self) -> bool {
        self.next_try.is_none_or(|at| Instant::now() >= at)
    }

    fn failed(&mut self) {
        self.next_try = Some(Instant::now() + self.delay);
        self.delay = (self.delay * 2).min(MAX_BACKOFF);
    }

    fn succeeded(&mut self) {
        *self = Backoff::new();
    }
}

/// The sending side of one sensor: client, spool, retry schedule and counters.
pub struct Delivery {
    transport: Box<dyn Transport>,
    spool: Spool,
    sensor_id: String,
    backoff: Backoff,
    stats: SubmitStats,
    last_failure: Option<String>,
}

impl Delivery {
    pub fn open(
        config: &SubmitConfig,
        transport: Box<dyn Transport>,
    ) -> Result<Delivery, SubmitError> {
        batch::check_sensor_id(&config.sensor_id)?;
        Ok(Delivery {
            transport,
            spool: Spool::open(&config.spool, config.spool_max_bytes)?,
            sensor_id: config.sensor_id.clone(),
            backoff: Backoff::new(),
            stats: SubmitStats::default(),
            last_failure: None,
        })
    }

    /// Batches waiting in the spool.
    pub fn spooled(&self) -> usize {
        self.spool.len()
    }

    /// Sends a flush's observations as batches, or spools them behind the waiting ones.
    pub fn submit(&mut self, observations: Vec<Observation>) {
        for group in self.transport.group(observations) {
            self.submit_group(group);
        }
    }

    fn submit_group(&mut self, observations: Vec<Observation>) {
        let encoded = match batch::encode(observations, self.transport.batch_text_bytes()) {
            Ok(encoded) => encoded,
            Err(error) => return self.dropped(format!("encoding a batch: {error}"), false),
        };
        for encoded in encoded {
            let id = self
                .spool
                .take_sequence()
                .map_err(SubmitError::from)
                .and_then(|seq| BatchId::new(&self.sensor_id, seq).map_err(SubmitError::from));
            let id = match id {
                Ok(id) => id,
                Err(error) => {
                    self.dropped(error.to_string(), false);
                    continue;
                }
            };
            self.submit_one(Batch {
                id,
                observations: encoded.observations,
                body: encoded.body,
            });
        }
    }

    fn submit_one(&mut self, batch: Batch) {
        if self.backoff.ready() {
            self.replay();
        }
        if !self.spool.is_empty() || !self.backoff.ready() {
            return self.spool_new(&batch);
        }
        match self.transport.send(&batch) {
            Ok(ack) => self.acknowledged(&batch, ack, false),
            Err(SendError::Transient(message)) => {
                self.failed(message);
                self.spool_new(&batch);
            }
            Err(SendError::Rejected(message)) => {
                self.rejected(&batch, &message);
                if let Err(error) = self.spool.reject(&batch) {
                    self.dropped_by_spool(error);
                }
            }
        }
    }

    /// Sends the spooled batches, oldest first, until the spool is empty or an attempt
    /// fails (then the backoff decides when to go on).
    pub fn replay(&mut self) {
        while self.backoff.ready() {
            let batch = match self.spool.front() {
                None => return,
                Some(Ok(batch)) => batch,
                Some(Err(error)) => {
                    // A damaged file can never be sent; it must not block the others.
                    tracing::warn!(%error, "moving a damaged spool file to rejected/");
                    self.stats.batches_rejected += 1;
                    self.settle_front(Spool::reject_front);
                    continue;
                }
            };
            match self.transport.send(&batch) {
                Ok(ack) => {
                    self.acknowledged(&batch, ack, true);
                    self.settle_front(Spool::remove_front);
                }
                Err(SendError::Transient(message)) => self.failed(message),
                Err(SendError::Rejected(message)) => {
                    self.rejected(&batch, &message);
                    self.settle_front(Spool::reject_front);
                }
            }
        }
    }

    /// Replays until the spool is empty or `deadline` passes, waiting out the backoff.
    pub fn drain(&mut self, deadline: Instant) {
        loop {
            self.replay();
            match self.next_retry() {
                Some(at) if at < deadline => {
                    std::thread::sleep(at.saturating_duration_since(Instant::now()))
                }
                _ => return,
            }
        }
    }

    /// When spooled batches should next be tried; `None` with an empty spool.
    fn next_retry(&self) -> Option<Instant> {
        match self.spool.is_empty() {
            true => None,
            false => Some(self.backoff.next_try.unwrap_or_else(Instant::now)),
        }
    }

    pub fn finish(mut self) -> Outcome {
        self.stats.batches_left_in_spool = self.spool.len() as u64;
        let quiet = self.stats.batches_left_in_spool == 0
            && self.stats.batches_rejected == 0
            && self.stats.batches_dropped_spool_full + self.stats.batches_dropped_spool_error == 0;
        Outcome {
            stats: self.stats,
            last_failure: self.last_failure.filter(|_| !quiet),
            spool: self.spool.dir().to_path_buf(),
        }
    }

    fn acknowledged(&mut self, batch: &Batch, ack: Ack, replayed: bool) {
        self.backoff.succeeded();
        match replayed {
            true => self.stats.batches_replayed += 1,
            false => self.stats.batches_sent += 1,
        }
        match ack.duplicate {
            true => self.stats.batches_duplicate += 1,
            false => self.stats.observations_sent += ack.accepted,
        }
        self.stats.bytes_sent += batch.body.len() as u64;
    }

    fn failed(&mut self, message: String) {
        tracing::info!(%message, "submission failed; the batch waits in the spool");
        self.stats.send_failures += 1;
        self.backoff.failed();
        self.last_failure = Some(message);
    }

    fn rejected(&mut self, batch: &Batch, message: &str) {
        tracing::warn!(batch = %batch.id, %message, "the server refused a batch; kept in rejected/");
        self.stats.batches_rejected += 1;
        self.last_failure = Some(format!("batch {} refused: {message}", batch.id));
    }

    fn spool_new(&mut self, batch: &Batch) {
        match self.spool.push(batch) {
            Ok(()) => self.stats.batches_spooled += 1,
            Err(error) => self.dropped_by_spool(error),
        }
    }

    fn dropped_by_spool(&mut self, error: SpoolError) {
        let full = matches!(error, SpoolError::Full { .. });
        self.dropped(error.to_string(), full);
    }

    fn dropped(&mut self, message: String, full: bool) {
        tracing::warn!(%message, "a batch was dropped");
        match full {
            true => self.stats.batches_dropped_spool_full += 1,
            false => self.stats.batches_dropped_spool_error += 1,
        }
        self.last_failure = Some(message);
    }

    /// Removes or rejects the front batch; when the file system refuses, waits like after a
    /// failed send (the batch stays first and is dealt with again later).
    fn settle_front(&mut self, settle: fn(&mut Spool) -> Result<(), SpoolError>) {
        if let Err(error) = settle(&mut self.spool) {
            self.failed(error.to_string());
        }
    }
}

enum Message {
    Batch(Vec<Observation>),
    /// Answered once every batch before it was sent or spooled.
    Flush(SyncSender<()>),
}

/// The sensor's sink for `--output http(s)://...` and `nats://...`: hands each flush to a thread that
/// delivers it, so capture never waits on the network (only on a full hand-over queue).
pub struct SubmitSink {
    tx: SyncSender<Message>,
    worker: JoinHandle<Outcome>,
    stats: LiveStats,
}

/// The delivery thread's counters as of its last batch, readable from any thread (a live
/// sensor's `/metrics`).
#[derive(Clone, Debug, Default)]
pub struct LiveStats(Arc<Mutex<SubmitStats>>);

impl LiveStats {
    pub fn snapshot(&self) -> SubmitStats {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set(&self, stats: &SubmitStats) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = stats.clone();
    }
}

impl SubmitSink {
    /// Opens the spool and the client (their errors come out here), then starts the thread.
    pub fn start(
        config: SubmitConfig,
        transport: Box<dyn Transport>,
    ) -> Result<SubmitSink, SubmitError> {
        let delivery = Delivery::open(&config, transport)?;
        let (tx, rx) = mpsc::sync_channel(QUEUED_FLUSHES);
        let drain_timeout = config.drain_timeout;
        let stats = LiveStats::default();
        let shared = stats.clone();
        let worker = std::thread::Builder::new()
            .name("dnsledger-submit".into())
            .spawn(move || deliver(delivery, rx, drain_timeout, &shared))
            .map_err(SubmitError::Thread)?;
        Ok(SubmitSink { tx, worker, stats })
    }

    /// The counters as the delivery goes on.
    pub fn live_stats(&self) -> LiveStats {
        self.stats.clone()
    }

    /// Ends the input: sends or spools what is left, retries the spool for the drain
    /// timeout, and says how it went.
    pub fn finish(self) -> Result<Outcome, SubmitError> {
        drop(self.tx);
        self.worker
            .join()
            .map_err(|_| SubmitError::Thread(std::io::Error::other("the thread panicked")))
    }

    fn hand_over(&self, message: Message) -> Result<(), SinkError> {
        self.tx
            .send(message)
            .map_err(|_| SinkError::Refused("the submission thread stopped".into()))
    }
}

impl ObservationSink for SubmitSink {
    fn accept(&mut self, batch: Vec<Observation>) -> Result<(), SinkError> {
        self.hand_over(Message::Batch(batch))
    }

    /// Waits until everything accepted so far is acknowledged or on disk in the spool.
    fn flush(&mut self) -> Result<(), SinkError> {
        let (done_tx, done_rx) = mpsc::sync_channel(1);
        self.hand_over(Message::Flush(done_tx))?;
        done_rx
            .recv()
            .map_err(|_| SinkError::Refused("the submission thread stopped".into()))
    }
}

/// The thread's loop: new batches as they come, the spool whenever its backoff is over.
fn deliver(
    mut delivery: Delivery,
    rx: Receiver<Message>,
    drain_timeout: Duration,
    live: &LiveStats,
) -> Outcome {
    loop {
        let message = match delivery.next_retry() {
            Some(at) => match rx.recv_timeout(at.saturating_duration_since(Instant::now())) {
                Ok(message) => Some(message),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => break,
            },
            None => match rx.recv() {
                Ok(message) => Some(message),
                Err(_) => break,
            },
        };
        match message {
            Some(Message::Batch(observations)) => delivery.submit(observations),
            Some(Message::Flush(done)) => {
                // The sensor waits on the other end; if it is gone, nobody needs the answer.
                let _ = done.send(());
            }
            None => delivery.replay(),
        }
        live.set(&delivery.stats);
    }
    delivery.drain(Instant::now() + drain_timeout);
    let outcome = delivery.finish();
    live.set(&outcome.stats);
    outcome
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;

    use dnsledger_rrset::{RRset, Seen};
    use dnsledger_wire::NameBuf;

    use super::*;
    use crate::client::{Client, ClientConfig};

    /// A loopback HTTP server answering request after request with the scripted statuses and
    /// bodies; it returns the batch ids it was sent, in order.
    fn scripted_server(answers: Vec<(u16, &'static str)>) -> (String, JoinHandle<Vec<String>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let server = std::thread::spawn(move || {
            let mut ids = Vec::new();
            for (status, body) in answers {
                let (stream, _) = listener.accept().unwrap();
                let mut reader = BufReader::new(stream);
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    let line = line.trim_end().to_ascii_lowercase();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(value) = line.strip_prefix("content-length:") {
                        length = value.trim().parse().unwrap();
                    }
                    if let Some(value) = line.strip_prefix("x-batch-id:") {
                        ids.push(value.trim().to_string());
                    }
                }
                reader.read_exact(&mut vec![0; length]).unwrap();
                let answer = format!(
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                reader.get_mut().write_all(answer.as_bytes()).unwrap();
            }
            ids
        });
        (url, server)
    }

    fn observation(owner: &str) -> Vec<Observation> {
        let rrset = RRset::new(
            NameBuf::from_text(owner).unwrap(),
            1,
            None,
            vec![vec![192, 0, 2, 1]],
        );
        vec![Observation {
            rrset,
            seen: Seen::once(10),
        }]
    }

    /// Sensor `tap`, spooling into `spool`, not waiting for the spool at the end.
    fn config(spool: &std::path::Path) -> SubmitConfig {
        SubmitConfig {
            sensor_id: "tap".into(),
            spool: spool.to_path_buf(),
            spool_max_bytes: 1 << 20,
            drain_timeout: Duration::ZERO,
        }
    }

    fn client(url: String) -> Box<dyn Transport> {
        Box::new(
            Client::new(&ClientConfig {
                url,
                key: "k".into(),
                ca_cert: None,
                timeout: Duration::from_secs(10),
            })
            .unwrap(),
        )
    }

    #[test]
    fn a_running_sink_shows_its_counters_before_it_finishes() {
        let accepted = r#"{"accepted":1,"batch":"x","duplicate":false}"#;
        let (url, server) = scripted_server(vec![(200, accepted), (200, accepted)]);
        let spool = tempfile::tempdir().unwrap();
        let config = config(spool.path());
        let mut sink = SubmitSink::start(config, client(url)).unwrap();
        let live = sink.live_stats();
        assert_eq!(live.snapshot(), SubmitStats::default());
        for owner in ["a.example.", "b.example."] {
            sink.accept(observation(owner)).unwrap();
            sink.flush().unwrap();
        }
        let running = live.snapshot();
        assert_eq!((running.batches_sent, running.observations_sent), (2, 2));
        let outcome = sink.finish().unwrap();
        assert_eq!(live.snapshot(), outcome.stats);
        assert_eq!(server.join().unwrap().len(), 2);
    }

    #[test]
    fn failed_batches_wait_in_order_keep_their_ids_and_condemned_ones_are_set_aside() {
        let new = r#"{"accepted":1,"batch":"x","duplicate":false}"#;
        let again = r#"{"accepted":1,"batch":"x","duplicate":true}"#;
        let (url, server) = scripted_server(vec![
            (503, "busy"),
            (200, new),
            (200, again),
            (400, "line 1"),
        ]);
        let spool = tempfile::tempdir().unwrap();
        let config = config(spool.path());
        let mut delivery = Delivery::open(&config, client(url)).unwrap();
        delivery.submit(observation("a.example."));
        // Backing off after the 503: spooled behind the first without an attempt.
        delivery.submit(observation("b.example."));
        assert_eq!(delivery.spooled(), 2);
        delivery.drain(Instant::now() + Duration::from_secs(10));
        assert_eq!(delivery.spooled(), 0);
        delivery.submit(observation("c.example."));
        let outcome = delivery.finish();

        let ids = server.join().unwrap();
        let seq = |id: &String| id.strip_prefix("tap/").unwrap().parse::<u64>().unwrap();
        let seqs: Vec<u64> = ids.iter().map(seq).collect();
        assert_eq!(
            seqs,
            [seqs[0], seqs[0], seqs[0] + 1, seqs[0] + 2],
            "{ids:?}"
        );
        let stats = &outcome.stats;
        assert_eq!(
            (
                stats.batches_spooled,
                stats.batches_replayed,
                stats.batches_duplicate
            ),
            (2, 2, 1)
        );
        assert_eq!((stats.observations_sent, stats.send_failures), (1, 1));
        assert_eq!(
            (stats.batches_rejected, stats.batches_left_in_spool),
            (1, 0)
        );
        assert!(outcome.last_failure.unwrap().contains("400"));
        let rejected = std::fs::read_dir(spool.path().join("rejected")).unwrap();
        assert_eq!(rejected.count(), 1);
    }
}
