//! `GET /api/v1/stream/new`: the feed of newly observed domains and names.
//!
//! First the events of the store's log after `since=SEQ` (or the `Last-Event-ID` a
//! reconnecting EventSource sends), then live ones as the server catches up with the
//! writer. Server-Sent Events by default (`id:` is the sequence, so a reconnect resumes
//! exactly), NDJSON with `format=ndjson` or `Accept: application/x-ndjson`. With
//! `watched=true`, only the names that hit a watchlist rule of the store (`dnsledger watch
//! add`), each with its `hits`: the live side of `dnsledger watch check`.
//!
//! Why it polls the log rather than fanning events out: the log is on disk, so a subscriber
//! is only a cursor; every subscriber reads the same events in the same order whether it
//! joined early or late, and memory per subscriber is its few chunks in flight. A client
//! that stops reading for [`SLOW_CLIENT_TIMEOUT`] is cut off and counted
//! (`streams_ended{end="slow"}`); it can resume from its last id.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use dnsledger_keys::Scope;
use dnsledger_store::{NewName, NoveltyFilter, NoveltyKind};
use dnsledger_watch::stored::{active_watchlist, StoredRule};
use dnsledger_watch::Watchlist;
use dnsledger_wire::NameBuf;
use http::request::Parts;
use http::{header, HeaderValue, Response, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tokio::sync::{mpsc, watch};

use crate::answer::ChannelBody;
use crate::auth::{self, Caller, Refusal};
use crate::params;
use crate::service::Body;
use crate::state::{Exchange, State};

/// Events read from the log per step: one chunk to the client.
const EVENTS_PER_CHUNK: usize = 256;
/// Chunks between the log and the socket: a subscriber's memory bound.
const CHUNKS_IN_FLIGHT: usize = 4;
/// How often a caught-up subscriber looks at the log again (the server catches up with
/// its writer as often).
const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// An idle SSE stream sends a comment this often, so proxies keep it and a vanished client
/// is noticed.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(15);
/// A client that has not taken a chunk for this long is cut off.
pub const SLOW_CLIENT_TIMEOUT: Duration = Duration::from_secs(30);

/// The server's hold on its feeds: they end when it shuts down, rather than hold the
/// graceful drain until its timeout (a feed that follows never ends by itself).
pub struct Feeds {
    closing: watch::Sender<bool>,
}

impl Default for Feeds {
    fn default() -> Feeds {
        Feeds {
            closing: watch::channel(false).0,
        }
    }
}

impl Feeds {
    /// Ends every feed at its next step.
    pub fn close(&self) {
        self.closing.send_replace(true);
    }
}

/// How events are framed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Sse,
    Ndjson,
}

impl Format {
    fn content_type(self) -> &'static str {
        match self {
            Format::Sse => "text/event-stream",
            Format::Ndjson => "application/x-ndjson",
        }
    }
}

/// What a subscriber asked for.
#[derive(Debug)]
struct Subscription {
    filter: NoveltyFilter,
    since: u64,
    /// Start this many events before the end of the log instead (before filtering).
    tail: Option<u64>,
    format: Format,
    limit: Option<u64>,
    follow: bool,
    /// Only names that hit the store's watchlist (its rules as the feed starts).
    watched: bool,
}

/// How a feed ended, as `streams_ended` labels it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FeedEnd {
    /// `follow=false` and the log is read to its end.
    Succeeded,
    /// `limit` events sent.
    Limited,
    /// The client did not read for [`SLOW_CLIENT_TIMEOUT`].
    Slow,
    Disconnected,
    /// The server is shutting down.
    ServerClosing,
    Failed,
}

impl FeedEnd {
    fn label(self) -> &'static str {
        match self {
            FeedEnd::Succeeded => "succeeded",
            FeedEnd::Limited => "limited",
            FeedEnd::Slow => "slow",
            FeedEnd::Disconnected => "disconnected",
            FeedEnd::ServerClosing => "server_closing",
            FeedEnd::Failed => "failed",
        }
    }
}

/// The store's rules in force and their watchlist, for a `watched` feed.
type Watched = (Vec<StoredRule>, Watchlist);

/// The event's object, with its watchlist hits when the feed is `watched`; `None` when
/// it is and the name hits no rule.
pub fn watched_object(event: &NewName, watched: Option<&Watched>) -> Option<Value> {
    let mut object = new_name_object(event);
    let Some((rules, watchlist)) = watched else {
        return Some(object);
    };
    let hits: Vec<Value> = watchlist
        .check(&event.name.to_text())
        .into_iter()
        .map(|hit| {
            let rule = rules
                .iter()
                .find(|r| r.id == hit.rule)
                .map(|r| r.rule.to_string());
            json!({"rule": hit.rule, "text": rule, "reason": hit.reason.to_string()})
        })
        .collect();
    if hits.is_empty() {
        return None;
    }
    object["hits"] = Value::Array(hits);
    Some(object)
}

/// The JSON object of one event (the NDJSON line, the SSE `data:`, `dnsledger watch new
/// --json`).
pub fn new_name_object(event: &NewName) -> Value {
    let rrset = &event.rrset;
    json!({
        "seq": event.seq,
        "kind": event.kind.as_str(),
        "name": event.name.to_text(),
        "first_seen": event.first_seen,
        "rrname": rrset.rrname().to_text(),
        "rrtype": rrset.rrtype_text(),
        "bailiwick": rrset.bailiwick().map(|zone| zone.to_text()),
        "rdata": rrset.rdata_text(),
    })
}

pub async fn new_names(
    state: &Arc<State>,
    parts: &Parts,
    exchange: &mut Exchange,
) -> Result<Response<Body>, Refusal> {
    let key = auth::identify(state, &parts.headers, Scope::Query, exchange)?;
    let mut subscription =
        subscription(parts).map_err(|message| Refusal::new(StatusCode::BAD_REQUEST, message))?;
    let caller = auth::admit(state, key, exchange.time)?;
    if let Some(tail) = subscription.tail {
        let last = state.store.last_new_name_seq().map_err(|error| {
            tracing::error!(%error, "reading the new-name log");
            Refusal::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the new-name log cannot be read",
            )
        })?;
        subscription.since = last.saturating_sub(tail);
    }
    let (tx, rx) = mpsc::channel(CHUNKS_IN_FLIGHT);
    let format = subscription.format;
    tokio::spawn(serve_feed(
        state.clone(),
        subscription,
        caller,
        exchange.clone(),
        tx,
    ));
    let mut response = Response::new(BodyExt::boxed(ChannelBody::new(rx)));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// Reads the query string and headers into a subscription.
fn subscription(parts: &Parts) -> Result<Subscription, String> {
    let mut subscription = Subscription {
        filter: NoveltyFilter::default(),
        since: 0,
        tail: None,
        format: match accepts_ndjson(parts) {
            true => Format::Ndjson,
            false => Format::Sse,
        },
        limit: None,
        follow: true,
        watched: false,
    };
    let query = parts.uri.query().unwrap_or("");
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = params::decode(value)?;
        match name {
            "suffix" => subscription
                .filter
                .suffixes
                .push(NameBuf::from_text(&value).map_err(|e| format!("suffix={value:?}: {e}"))?),
            "kind" => subscription.filter.kind = Some(kind(&value)?),
            "since" => subscription.since = params::number(name, &value)?,
            "tail" => subscription.tail = Some(params::number(name, &value)?),
            "limit" => subscription.limit = Some(params::number(name, &value)?.max(1)),
            "follow" => subscription.follow = params::boolean(name, &value)?,
            "watched" => subscription.watched = params::boolean(name, &value)?,
            "format" => subscription.format = format(&value)?,
            _ => {}
        }
    }
    if let Some(id) = parts.headers.get("last-event-id") {
        let id = id.to_str().unwrap_or("");
        subscription.since = params::number("Last-Event-ID", id.trim())?;
        subscription.tail = None;
    }
    Ok(subscription)
}

fn accepts_ndjson(parts: &Parts) -> bool {
    parts
        .headers
        .get(header::ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .is_some_and(|accept| accept.contains("application/x-ndjson"))
}

fn kind(value: &str) -> Result<NoveltyKind, String> {
    match value {
        "domain" => Ok(NoveltyKind::Domain),
        "name" => Ok(NoveltyKind::Name),
        _ => Err(format!("kind={value:?}: expected domain or name")),
    }
}

fn format(value: &str) -> Result<Format, String> {
    match value {
        "sse" => Ok(Format::Sse),
        "ndjson" => Ok(Format::Ndjson),
        _ => Err(format!("format={value:?}: expected sse or ndjson")),
    }
}

/// Runs one subscriber to its end, then records how it ended.
async fn serve_feed(
    state: Arc<State>,
    subscription: Subscription,
    caller: Caller,
    exchange: Exchange,
    tx: mpsc::Sender<Bytes>,
) {
    let _in_flight = caller.permit;
    state.metrics.feed_subscribers(1);
    let mut sent = 0u64;
    let end = follow_log(&state, &subscription, &tx, &mut sent).await;
    state.metrics.feed_subscribers(-1);
    if end == FeedEnd::Slow {
        tracing::info!(key = ?exchange.key, sent, "a new-name subscriber stopped reading: cut off");
    }
    state
        .metrics
        .stream_ended(exchange.endpoint, end.label(), sent);
    state.audit(&exchange, sent, 200);
}

/// The log from the subscription's start, then its growth, into `tx`.
async fn follow_log(
    state: &Arc<State>,
    subscription: &Subscription,
    tx: &mpsc::Sender<Bytes>,
    sent: &mut u64,
) -> FeedEnd {
    let mut cursor = subscription.since;
    let mut last_sent = Instant::now();
    let mut closing = state.feeds.closing.subscribe();
    let watched = match subscription.watched {
        false => None,
        true => match load_watchlist(state).await {
            Some(watched) => Some(watched),
            None => return FeedEnd::Failed,
        },
    };
    loop {
        let remaining = subscription.limit.map(|limit| limit - *sent);
        let page = remaining.map_or(EVENTS_PER_CHUNK, |r| {
            usize::try_from(r).map_or(EVENTS_PER_CHUNK, |r| r.min(EVENTS_PER_CHUNK))
        });
        let read_state = state.clone();
        let filter = subscription.filter.clone();
        let read = tokio::task::spawn_blocking(move || {
            read_state.store.new_names_after(cursor, page, &filter)
        })
        .await;
        let (events, last) = match read {
            Ok(Ok(read)) => read,
            Ok(Err(error)) => {
                tracing::error!(%error, "reading the new-name log");
                return FeedEnd::Failed;
            }
            Err(_) => return FeedEnd::Failed,
        };
        let advanced = last > cursor;
        cursor = last;
        let objects: Vec<(u64, Value)> = events
            .iter()
            .filter_map(|event| Some((event.seq, watched_object(event, watched.as_ref())?)))
            .collect();
        if !objects.is_empty() {
            let chunk = frame(&objects, subscription.format);
            if let Some(end) = send(tx, chunk).await {
                return end;
            }
            *sent += objects.len() as u64;
            state.metrics.feed_events_sent(objects.len() as u64);
            last_sent = Instant::now();
        }
        if subscription.limit.is_some_and(|limit| *sent >= limit) {
            return FeedEnd::Limited;
        }
        if advanced {
            continue;
        }
        if !subscription.follow {
            return FeedEnd::Succeeded;
        }
        if subscription.format == Format::Sse && last_sent.elapsed() >= KEEPALIVE_INTERVAL {
            if let Some(end) = send(tx, Bytes::from_static(b":\n\n")).await {
                return end;
            }
            last_sent = Instant::now();
        }
        tokio::select! {
            () = tokio::time::sleep(POLL_INTERVAL) => {}
            () = tx.closed() => return FeedEnd::Disconnected,
            _ = closing.wait_for(|closing| *closing) => return FeedEnd::ServerClosing,
        }
    }
}

/// The store's watchlist, read on a blocking thread; `None` (logged) when it cannot be.
async fn load_watchlist(state: &Arc<State>) -> Option<Watched> {
    let reading = state.clone();
    match tokio::task::spawn_blocking(move || active_watchlist(&reading.store)).await {
        Ok(Ok(watched)) => Some(watched),
        Ok(Err(error)) => {
            tracing::error!(%error, "reading the watchlist");
            None
        }
        Err(_) => None,
    }
}

/// Hands a chunk to the body; `Some` when the feed must end.
async fn send(tx: &mpsc::Sender<Bytes>, chunk: Bytes) -> Option<FeedEnd> {
    match tokio::time::timeout(SLOW_CLIENT_TIMEOUT, tx.send(chunk)).await {
        Ok(Ok(())) => None,
        Ok(Err(_)) => Some(FeedEnd::Disconnected),
        Err(_) => Some(FeedEnd::Slow),
    }
}

/// Event objects as SSE messages (`id:` the sequence and one `data:` line each) or NDJSON
/// lines.
fn frame(objects: &[(u64, Value)], format: Format) -> Bytes {
    let mut out = Vec::with_capacity(objects.len() * 256);
    for (seq, object) in objects {
        if format == Format::Sse {
            out.extend_from_slice(format!("id: {seq}\ndata: ").as_bytes());
        }
        // Writing a Value into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut out, object);
        out.extend_from_slice(match format {
            Format::Sse => b"\n\n",
            Format::Ndjson => b"\n",
        });
    }
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dnsledger_rrset::RRset;

    fn parts(uri: &str, headers: &[(&str, &str)]) -> Parts {
        let mut request = http::Request::builder().uri(uri);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.body(()).unwrap().into_parts().0
    }

    #[test]
    fn subscriptions_read_filters_cursor_and_format() {
        let s = subscription(&parts(
            "/api/v1/stream/new?suffix=cz.cc&suffix=example.com&kind=domain&since=7&limit=0&follow=f",
            &[],
        ))
        .unwrap();
        assert_eq!(s.filter.suffixes.len(), 2);
        assert_eq!(s.filter.kind, Some(NoveltyKind::Domain));
        assert_eq!(
            (s.since, s.limit, s.follow, s.format),
            (7, Some(1), false, Format::Sse)
        );
        let s = subscription(&parts(
            "/api/v1/stream/new?since=7",
            &[("last-event-id", "42"), ("accept", "application/x-ndjson")],
        ))
        .unwrap();
        assert_eq!((s.since, s.tail, s.format), (42, None, Format::Ndjson));
        let s = subscription(&parts("/api/v1/stream/new?tail=100", &[])).unwrap();
        assert_eq!(s.tail, Some(100));
        for bad in [
            "kind=zone",
            "since=x",
            "format=xml",
            "suffix=a..b",
            "follow=maybe",
        ] {
            let uri = format!("/api/v1/stream/new?{bad}");
            assert!(subscription(&parts(&uri, &[])).is_err(), "{bad}");
        }
    }

    #[test]
    fn sse_frames_carry_the_sequence_as_id() {
        let name = |text: &str| NameBuf::from_text(text).unwrap();
        let event = NewName {
            seq: 9,
            kind: NoveltyKind::Name,
            name: name("www.example.com"),
            first_seen: 100,
            rrset: RRset::new(
                name("www.example.com"),
                1,
                Some(name("example.com")),
                vec![vec![192, 0, 2, 1]],
            ),
        };
        let objects = [(event.seq, new_name_object(&event))];
        let text = String::from_utf8(frame(&objects, Format::Sse).to_vec()).unwrap();
        assert!(text.starts_with("id: 9\ndata: {"), "{text}");
        assert!(text.ends_with("}\n\n"), "{text}");
        let line = frame(&objects, Format::Ndjson);
        let object: Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(object["bailiwick"], "example.com.");
        assert_eq!(object["rdata"], json!(["192.0.2.1"]));
        assert_eq!(object["rrtype"], "A");

        let rule = dnsledger_watch::Rule::parse("lookalike:example.com").unwrap();
        let stored = dnsledger_watch::stored::StoredRule {
            id: 4,
            active: true,
            rule: rule.clone(),
        };
        let watched = (vec![stored], Watchlist::new([(4, &rule)]));
        assert_eq!(
            watched_object(&event, Some(&watched)),
            None,
            "the protected name itself"
        );
        let lookalike = NewName {
            name: name("examp1e.com"),
            ..event
        };
        let object = watched_object(&lookalike, Some(&watched)).unwrap();
        assert_eq!(object["hits"][0]["rule"], 4);
        assert_eq!(object["hits"][0]["text"], "lookalike:example.com");
        assert!(object["hits"][0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("lookalike/"));
    }
}
