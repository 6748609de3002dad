//! The router behind `dnsledger serve --shards FILE`: one [`History`] over several shard
//! servers, each holding whole registered domains (its partitions).
//!
//! A request goes to every shard at once (`GET /internal/v1/rows/...` with the router's
//! key), each answer is read on its own thread into a small bounded channel, and the rows
//! are merged by [`Position`]: every store plans a request as the same scans, so the merge
//! is the order of one store holding everything, and the server's offsets, caps and
//! formats apply to it unchanged. A row at the same position on two shards (a partition
//! given to both) is merged the way the store merges (min first, max last, sum count).
//!
//! Failures: a shard with replicas is asked at each address in turn until one answers; a
//! shard none of whose addresses answers, or whose answer breaks off, ends the merged
//! answer with an error naming it: a router never passes a partial history off as whole.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dnsledger_query::spec::lookup_path;
use dnsledger_store::value::{self, Value};
use dnsledger_store::{
    Family, FamilySize, Frame, FrameReader, History, Position, QueryError, Row, RowRequest,
    RowStream, Selection, StoreError, TimeFence, TransitEnd,
};

/// Rows read ahead of the merge per shard: the memory bound of one routed answer.
const ROWS_AHEAD: usize = 256;
/// How long connecting to one shard address may take before the next is tried.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a shard may take to start answering.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);
/// Idle connections kept open per shard address.
const IDLE_CONNECTIONS: usize = 128;
/// How much of a refusal's text is kept.
const MESSAGE_BYTES: u64 = 1024;

/// One shard: a name for messages and metrics, the base URLs of its replicas, the file
/// holding the API key (scope query) the router presents to it, and for `https://` shards
/// with a private CA or self-signed certificates, the PEM file of the roots to trust.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shard {
    pub name: String,
    pub urls: Vec<String>,
    pub key_file: PathBuf,
    pub ca_file: Option<PathBuf>,
}

/// A shards file: the shards a router asks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardsFile {
    pub shards: Vec<Shard>,
}

/// Why a shards file cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {what}")]
pub struct ShardsFileError {
    pub path: PathBuf,
    pub what: String,
}

impl ShardsFile {
    /// Reads lines `shard NAME URL [URL...]`, each using the key of the `key-file PATH`
    /// line above it and the roots of the `ca-file PATH` line above it, if any (paths
    /// relative to the shards file); `#` comments and blank lines allowed.
    pub fn read(path: &Path) -> Result<ShardsFile, ShardsFileError> {
        let bad = |what: String| ShardsFileError {
            path: path.to_path_buf(),
            what,
        };
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let mut file = ShardsFile::parse(&text).map_err(bad)?;
        let dir = path.parent().unwrap_or(Path::new("."));
        for shard in &mut file.shards {
            shard.key_file = dir.join(&shard.key_file);
            shard.ca_file = shard.ca_file.as_ref().map(|ca| dir.join(ca));
        }
        Ok(file)
    }

    pub fn parse(text: &str) -> Result<ShardsFile, String> {
        let mut key_file: Option<PathBuf> = None;
        let mut ca_file: Option<PathBuf> = None;
        let mut shards: Vec<Shard> = Vec::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            let words: Vec<&str> = line.split_whitespace().collect();
            let at = |what: &str| format!("line {}: {what}", number + 1);
            match words.as_slice() {
                [] => {}
                ["key-file", path] => key_file = Some(PathBuf::from(path)),
                ["ca-file", path] => ca_file = Some(PathBuf::from(path)),
                ["shard", name, urls @ ..] if !urls.is_empty() => {
                    if shards.iter().any(|s| s.name == *name) {
                        return Err(at(&format!("shard {name:?} named twice")));
                    }
                    if let Some(url) = urls.iter().find(|u| !is_http_url(u)) {
                        return Err(at(&format!("{url:?} is not an http:// or https:// URL")));
                    }
                    let Some(key_file) = key_file.clone() else {
                        return Err(at("a shard before any `key-file PATH` line"));
                    };
                    shards.push(Shard {
                        name: (*name).to_string(),
                        urls: urls
                            .iter()
                            .map(|u| u.trim_end_matches('/').into())
                            .collect(),
                        key_file,
                        ca_file: ca_file.clone(),
                    });
                }
                _ => {
                    return Err(at(
                        "expected `key-file PATH`, `ca-file PATH` or `shard NAME URL [URL...]`",
                    ))
                }
            }
        }
        if shards.is_empty() {
            return Err("no `shard NAME URL` line".into());
        }
        Ok(ShardsFile { shards })
    }
}

/// The HTTP client of one shard: errors as answers, no redirects, bounded waits, and the
/// shard's own roots when it has a CA file.
fn agent(shard: &Shard) -> Result<ureq::Agent, ShardsFileError> {
    let mut config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .timeout_recv_response(Some(ANSWER_TIMEOUT))
        // One connection per query in flight stays open for the next: a router asks every
        // shard for every query, and a new connection per request costs more than the lookup.
        .max_idle_connections_per_host(IDLE_CONNECTIONS)
        .max_idle_connections(IDLE_CONNECTIONS)
        .user_agent(concat!("dnsledger-router/", env!("CARGO_PKG_VERSION")));
    if let Some(path) = &shard.ca_file {
        let roots = dnsledger_submit::root_certs(path).map_err(|e| ShardsFileError {
            path: path.clone(),
            what: e.to_string(),
        })?;
        config = config.tls_config(ureq::tls::TlsConfig::builder().root_certs(roots).build());
    }
    Ok(config.build().into())
}

fn read_key(path: &Path) -> Result<String, ShardsFileError> {
    let bad = |what: String| ShardsFileError {
        path: path.to_path_buf(),
        what,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    match text.trim() {
        "" => Err(bad("the key file is empty".into())),
        key => Ok(key.to_string()),
    }
}

fn is_http_url(text: &str) -> bool {
    ["http://", "https://"].iter().any(|scheme| {
        text.strip_prefix(scheme)
            .is_some_and(|rest| !rest.is_empty())
    })
}

/// What the router counts, per shard, for `/metrics`.
#[derive(Debug, Default)]
struct ShardCounters {
    requests: AtomicU64,
    /// An address did not answer and the next replica was asked.
    failovers: AtomicU64,
    /// No address answered, or the answer broke off.
    failures: AtomicU64,
    rows: AtomicU64,
}

/// Asks the shards and merges their rows.
pub struct Router {
    shards: Vec<Arc<ShardClient>>,
}

/// One shard as the router reaches it: its addresses, key, HTTP client and counters.
struct ShardClient {
    shard: Shard,
    key: String,
    agent: ureq::Agent,
    counters: ShardCounters,
}

/// What asking a shard's addresses in turn came to.
enum Answer {
    /// An address answered 200: its body.
    Body(ureq::Body),
    /// The request itself was refused (400): every replica would say the same.
    Refused(String),
    /// No address answered; the last one's reason.
    Failed(String),
}

impl ShardClient {
    /// GETs `target` (path and query) at each address in turn until one answers 200 or 400.
    fn get(&self, target: &str) -> Answer {
        let mut last_error = String::from("no address");
        for (attempt, url) in self.shard.urls.iter().enumerate() {
            if attempt > 0 {
                self.counters.failovers.fetch_add(1, Ordering::Relaxed);
                // Counted, not logged: a replica that stays down would log every query.
                tracing::debug!(shard = %self.shard.name, %last_error, "asking the next replica");
            }
            let answer = self
                .agent
                .get(format!("{url}{target}"))
                .header("X-API-Key", &self.key)
                .call();
            let mut response = match answer {
                Ok(response) => response,
                Err(error) => {
                    last_error = format!("{url}: {error}");
                    continue;
                }
            };
            match response.status().as_u16() {
                200 => return Answer::Body(response.into_body()),
                400 => return Answer::Refused(refusal_text(&mut response)),
                status => {
                    last_error = format!("{url} answered {status}: {}", refusal_text(&mut response))
                }
            }
        }
        Answer::Failed(last_error)
    }

    /// The shard failed with `what` (counted).
    fn failure(&self, what: String) -> StoreError {
        self.counters.failures.fetch_add(1, Ordering::Relaxed);
        StoreError::Shard {
            shard: self.shard.name.clone(),
            what,
        }
    }
}

impl Router {
    /// A router over the shards of `file`, with their keys read from their key files.
    pub fn new(file: &ShardsFile) -> Result<Router, ShardsFileError> {
        let shards = file
            .shards
            .iter()
            .map(|shard| {
                Ok(Arc::new(ShardClient {
                    key: read_key(&shard.key_file)?,
                    agent: agent(shard)?,
                    shard: shard.clone(),
                    counters: ShardCounters::default(),
                }))
            })
            .collect::<Result<_, ShardsFileError>>()?;
        Ok(Router { shards })
    }

    /// `(section.name, value)` counters per shard, for the server's `/metrics`.
    pub fn counters(&self) -> Vec<(String, u64)> {
        let mut all = Vec::new();
        for client in &self.shards {
            let counters = &client.counters;
            for (name, value) in [
                ("requests", &counters.requests),
                ("failovers", &counters.failovers),
                ("failures", &counters.failures),
                ("rows", &counters.rows),
            ] {
                all.push((
                    format!("router.shard_{}_{name}", client.shard.name),
                    value.load(Ordering::Relaxed),
                ));
            }
        }
        all
    }
}

/// What a shard's reader thread sends: first how the answer opened, then rows and an end.
enum Message {
    Opened,
    /// The shard refused the request itself (400): every shard would.
    Refused(String),
    Row(Position, Row),
    Done,
    Failed(String),
}

impl History for Router {
    fn rows(&self, request: &RowRequest) -> Result<RowStream<'_>, QueryError> {
        let target = request_target(request);
        let mut feeds = Vec::with_capacity(self.shards.len());
        for client in &self.shards {
            let (tx, rx) = mpsc::sync_channel(ROWS_AHEAD);
            let (reading, target) = (Arc::clone(client), target.clone());
            client.counters.requests.fetch_add(1, Ordering::Relaxed);
            std::thread::Builder::new()
                .name(format!("shard-{}", client.shard.name))
                .spawn(move || read_into(&reading, &target, &tx))
                .map_err(|e| QueryError(format!("starting a shard reader: {e}")))?;
            feeds.push(Feed { rx, done: false });
        }
        let mut merge = Merge {
            router: self,
            feeds,
            heads: BinaryHeap::new(),
            deadline: request.deadline,
            failed: None,
            returned: 0,
        };
        merge.open()?;
        Ok(Box::new(merge))
    }

    /// The shards' sizes, summed per column family (in the first shard's order).
    fn sizes(&self) -> Result<Vec<FamilySize>, StoreError> {
        let mut summed: Vec<FamilySize> = Vec::new();
        for client in &self.shards {
            for size in shard_sizes(client)? {
                match summed.iter_mut().find(|s| s.name == size.name) {
                    Some(sum) => {
                        sum.estimated_keys += size.estimated_keys;
                        sum.estimated_bytes += size.estimated_bytes;
                    }
                    None => summed.push(size),
                }
            }
        }
        Ok(summed)
    }
}

/// One shard's `/api/v1/stats`.
fn shard_sizes(client: &ShardClient) -> Result<Vec<FamilySize>, StoreError> {
    match client.get("/api/v1/stats") {
        Answer::Body(body) => serde_json::from_reader(body.into_reader())
            .map(|stats: serde_json::Value| family_sizes(&stats))
            .map_err(|e| client.failure(format!("its statistics: {e}"))),
        Answer::Refused(what) | Answer::Failed(what) => Err(client.failure(what)),
    }
}

/// The column families of a `/api/v1/stats` answer.
fn family_sizes(body: &serde_json::Value) -> Vec<FamilySize> {
    let number = |value: &serde_json::Value, field: &str| value[field].as_u64().unwrap_or(0);
    body["column_families"]
        .as_object()
        .map(|families| {
            families
                .iter()
                .map(|(name, numbers)| FamilySize {
                    name: name.clone(),
                    estimated_keys: number(numbers, "estimated_keys"),
                    estimated_bytes: number(numbers, "estimated_bytes"),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The path and query of the rows endpoint for `request`.
fn request_target(request: &RowRequest) -> String {
    let path = match &request.selection {
        Selection::Lookup(lookup) => lookup_path(lookup),
        Selection::Family(Family::RRsets) => "all/rrsets".into(),
        Selection::Family(Family::Rdata) => "all/rdata".into(),
    };
    let mut query = fence_parameters(&request.fence);
    query.push(format!("aggr={}", !request.shape.periods));
    query.push(format!("activity={}", request.shape.activity));
    if let Some(wanted) = request.wanted {
        query.push(format!("limit={wanted}"));
    }
    format!("/internal/v1/rows/{path}?{}", query.join("&"))
}

fn fence_parameters(fence: &TimeFence) -> Vec<String> {
    [
        ("time_first_after", fence.first_after),
        ("time_first_before", fence.first_before),
        ("time_last_after", fence.last_after),
        ("time_last_before", fence.last_before),
    ]
    .into_iter()
    .filter_map(|(name, time)| time.map(|t| format!("{name}={t}")))
    .collect()
}

/// One shard's part of a request, run on its reader thread: forwards the answer's frames
/// until it ends or the merge hangs up (its answer is complete or its client went away).
fn read_into(client: &ShardClient, target: &str, tx: &SyncSender<Message>) {
    match client.get(target) {
        Answer::Body(body) => {
            if tx.send(Message::Opened).is_ok() {
                // Frame lengths are read a byte at a time: buffered, not a read call each.
                let mut reader = std::io::BufReader::new(body.into_reader());
                if forward_frames(&mut reader, tx) {
                    // What follows the end frame is the body's own end (the last chunk):
                    // read, it lets the connection go back to the pool for the next query.
                    let _ = std::io::copy(&mut reader, &mut std::io::sink());
                }
            }
        }
        Answer::Refused(text) => drop(tx.send(Message::Refused(text))),
        Answer::Failed(what) => drop(tx.send(Message::Failed(what))),
    }
}

fn refusal_text(response: &mut ureq::http::Response<ureq::Body>) -> String {
    use std::io::Read;
    let mut text = String::new();
    let _ = response
        .body_mut()
        .as_reader()
        .take(MESSAGE_BYTES)
        .read_to_string(&mut text);
    text.trim().to_string()
}

/// Sends the body's frames on; true when it ended with its end frame, all of it sent.
fn forward_frames(body: impl std::io::Read, tx: &SyncSender<Message>) -> bool {
    for frame in FrameReader::new(body) {
        let (message, ended) = match frame {
            Ok(Frame::Row(position, row)) => (Message::Row(position, row), false),
            Ok(Frame::End(TransitEnd::Complete)) => (Message::Done, true),
            Ok(Frame::End(TransitEnd::Failed(message))) => (Message::Failed(message), true),
            Err(error) => (Message::Failed(error.to_string()), false),
        };
        if tx.send(message).is_err() {
            return false;
        }
        if ended {
            return true;
        }
    }
    false
}

/// One shard's rows as they arrive.
struct Feed {
    rx: Receiver<Message>,
    done: bool,
}

/// The next row of a shard, ordered by position (then shard, for equal positions).
struct Head {
    position: Position,
    shard: usize,
    row: Row,
}

impl PartialEq for Head {
    fn eq(&self, other: &Head) -> bool {
        (&self.position, self.shard) == (&other.position, other.shard)
    }
}

impl Eq for Head {}

impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Head) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Head {
    fn cmp(&self, other: &Head) -> std::cmp::Ordering {
        (&self.position, self.shard).cmp(&(&other.position, other.shard))
    }
}

/// The k-way merge of the shards' rows.
struct Merge<'r> {
    router: &'r Router,
    feeds: Vec<Feed>,
    /// The next row of every shard that has one, smallest position first.
    heads: BinaryHeap<Reverse<Head>>,
    deadline: Option<Instant>,
    /// Set when a shard failed: the answer ends with it.
    failed: Option<StoreError>,
    returned: u64,
}

impl Merge<'_> {
    /// Waits until every shard has opened its answer, then reads each one's first row.
    fn open(&mut self) -> Result<(), QueryError> {
        for index in 0..self.feeds.len() {
            match self.receive(index) {
                Ok(Some(Message::Opened)) => {}
                Ok(Some(Message::Refused(message))) => return Err(QueryError(message)),
                Ok(other) => self.fail(index, other),
                Err(error) => self.failed = Some(error),
            }
        }
        for index in 0..self.feeds.len() {
            self.advance(index);
        }
        Ok(())
    }

    /// The next message of shard `index`, within the deadline; `None` once it hung up.
    fn receive(&mut self, index: usize) -> Result<Option<Message>, StoreError> {
        let rx = &self.feeds[index].rx;
        let received = match self.deadline {
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some(deadline) => rx.recv_timeout(deadline.saturating_duration_since(Instant::now())),
        };
        match received {
            Ok(message) => Ok(Some(message)),
            Err(RecvTimeoutError::Disconnected) => Ok(None),
            Err(RecvTimeoutError::Timeout) => Err(StoreError::OutOfTime {
                scanned: self.returned,
            }),
        }
    }

    /// Reads shard `index`'s next row into the heads (or notes its end or failure).
    fn advance(&mut self, index: usize) {
        if self.feeds[index].done || self.failed.is_some() {
            return;
        }
        match self.receive(index) {
            Ok(Some(Message::Row(position, row))) => {
                self.router.shards[index]
                    .counters
                    .rows
                    .fetch_add(1, Ordering::Relaxed);
                self.heads.push(Reverse(Head {
                    position,
                    shard: index,
                    row,
                }));
            }
            Ok(Some(Message::Done)) => self.feeds[index].done = true,
            Ok(other) => self.fail(index, other),
            Err(error) => self.failed = Some(error),
        }
    }

    /// Shard `index` failed (or sent what it must not): the answer ends with its reason.
    fn fail(&mut self, index: usize, message: Option<Message>) {
        let what = match message {
            Some(Message::Failed(what) | Message::Refused(what)) => what,
            None => "the answer stopped before its end".into(),
            Some(_) => "unexpected message".into(),
        };
        self.feeds[index].done = true;
        self.failed = Some(self.router.shards[index].failure(what));
    }
}

impl Iterator for Merge<'_> {
    type Item = Result<Row, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(error) = self.failed.take() {
            self.feeds.iter_mut().for_each(|feed| feed.done = true);
            self.heads.clear();
            return Some(Err(error));
        }
        let Reverse(head) = self.heads.pop()?;
        self.advance(head.shard);
        let mut row = head.row;
        while self
            .heads
            .peek()
            .is_some_and(|Reverse(next)| next.position == head.position)
        {
            let Some(Reverse(same)) = self.heads.pop() else {
                break;
            };
            self.advance(same.shard);
            merge_into(&mut row, &same.row);
        }
        if let Some(error) = self.failed.take() {
            return Some(Err(error));
        }
        self.returned += 1;
        Some(Ok(row))
    }
}

/// The store's merge of two copies of one row (times, count and activity).
fn merge_into(row: &mut Row, other: &Row) {
    let bytes = |row: &Row| {
        value::to_bytes(&Value {
            seen: row.seen,
            activity: row.activity.clone(),
        })
    };
    let (mine, theirs) = (bytes(row), bytes(other));
    if let Some(merged) = value::decode(&value::merge(Some(&mine), [&theirs[..]])) {
        row.seen = merged.seen;
        row.activity = merged.activity;
    }
}

#[cfg(test)]
mod tests {
    use dnsledger_store::{Lookup, NamePattern, Shape, TypeFilter};
    use dnsledger_wire::NameBuf;

    use super::*;

    #[test]
    fn a_shards_file_gives_each_shard_the_key_file_above_it() {
        let file = ShardsFile::parse(
            "# two shards, the second with a replica\n\
             key-file a.key\n\
             shard a http://10.0.0.1:8053/\n\
             key-file b.key\n\
             ca-file private-ca.pem\n\
             shard b https://10.0.0.2:8053 https://10.0.0.3:8053  # replica\n",
        )
        .unwrap();
        assert_eq!(
            file.shards,
            vec![
                Shard {
                    name: "a".into(),
                    urls: vec!["http://10.0.0.1:8053".into()],
                    key_file: "a.key".into(),
                    ca_file: None,
                },
                Shard {
                    name: "b".into(),
                    urls: vec![
                        "https://10.0.0.2:8053".into(),
                        "https://10.0.0.3:8053".into()
                    ],
                    key_file: "b.key".into(),
                    ca_file: Some("private-ca.pem".into()),
                },
            ]
        );
    }

    #[test]
    fn a_shards_file_says_what_is_wrong_and_where() {
        for (text, expected) in [
            (
                "shard a http://h:1\n",
                "line 1: a shard before any `key-file PATH` line",
            ),
            (
                "key-file k\nshard a ftp://h\n",
                "line 2: \"ftp://h\" is not an http:// or https:// URL",
            ),
            (
                "key-file k\nshard a http://h:1\nshard a http://h:2\n",
                "line 3: shard \"a\" named twice",
            ),
            ("key-file k\n", "no `shard NAME URL` line"),
            (
                "key-file k\nshard a\n",
                "line 2: expected `key-file PATH`, `ca-file PATH` or `shard NAME URL [URL...]`",
            ),
        ] {
            assert_eq!(ShardsFile::parse(text), Err(expected.to_string()), "{text}");
        }
    }

    #[test]
    fn a_request_becomes_the_rows_path_with_its_fences_shape_and_wanted_rows() {
        let request = RowRequest {
            fence: TimeFence {
                first_after: Some(10),
                last_before: Some(20),
                ..TimeFence::default()
            },
            shape: Shape {
                periods: true,
                activity: false,
            },
            wanted: Some(11),
            ..RowRequest::new(Selection::Lookup(Lookup::RRset {
                owner: NamePattern::Below(NameBuf::from_text("example.com").unwrap()),
                rrtype: TypeFilter::Only(1),
                bailiwick: None,
            }))
        };
        assert_eq!(
            request_target(&request),
            "/internal/v1/rows/rrset/name/*.example.com./A\
             ?time_first_after=10&time_last_before=20&aggr=false&activity=false&limit=11"
        );
        assert_eq!(
            request_target(&RowRequest::new(Selection::Family(Family::Rdata))),
            "/internal/v1/rows/all/rdata?aggr=true&activity=false"
        );
    }
}
