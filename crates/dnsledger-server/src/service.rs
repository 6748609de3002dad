//! One request in, one response out: routing, the uniform error answers, and the bridge
//! from a blocking store scan to a streamed body.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::request::Parts;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use serde_json::Value;

use crate::answer::{self, End, Framing, Out, Start};
use crate::auth::{Caller, Refusal};
use crate::routes::{self, Route, RouteError, Verb};
use crate::state::{now, Exchange, State};
use crate::{circl, dnsdb, native, openapi, shard, stream as feed, submit, trends, ui, zone};

pub type Body = BoxBody<Bytes, Infallible>;

/// Answers one request; never fails (every problem is a status and a one-line body).
pub async fn handle<B>(state: Arc<State>, request: Request<B>) -> Result<Response<Body>, Infallible>
where
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (parts, body) = request.into_parts();
    let route = routes::route(parts.uri.path());
    let mut exchange = Exchange {
        endpoint: route.as_ref().map_or("unknown", endpoint_label),
        query: parts
            .uri
            .path_and_query()
            .map_or_else(String::new, |p| p.as_str().to_string()),
        key: None,
        time: now(),
        started: Instant::now(),
    };
    let response = match (&parts.method, route) {
        (&Method::POST, Ok(Route::Submit)) => {
            let answer = submit::submit(&state, &parts, body, &mut exchange).await;
            refused_or(&state, &exchange, answer)
        }
        (_, Ok(Route::Submit)) => not_allowed("POST"),
        (&Method::GET | &Method::HEAD, Ok(route)) => {
            let answer = dispatch(&state, &parts, &mut exchange, route).await;
            refused_or(&state, &exchange, answer)
        }
        (_, Ok(_)) => not_allowed("GET, HEAD"),
        (_, Err(RouteError::NotFound)) => plain(StatusCode::NOT_FOUND, "no such endpoint"),
        (_, Err(RouteError::BadEncoding)) => plain(
            StatusCode::BAD_REQUEST,
            "the path is not valid percent-encoded UTF-8",
        ),
    };
    state.metrics.request(
        exchange.endpoint,
        response.status(),
        exchange.started.elapsed(),
    );
    Ok(response)
}

/// The answer, or the refusal as a one-line answer (and an audit line).
fn refused_or(
    state: &State,
    exchange: &Exchange,
    answer: Result<Response<Body>, Refusal>,
) -> Response<Body> {
    answer.unwrap_or_else(|refusal| {
        state.audit(exchange, 0, refusal.status.as_u16());
        plain(refusal.status, &refusal.message)
    })
}

/// 405 with the methods the endpoint takes.
fn not_allowed(allow: &'static str) -> Response<Body> {
    let mut response = plain(
        StatusCode::METHOD_NOT_ALLOWED,
        &format!("only {allow} is served here"),
    );
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}

async fn dispatch(
    state: &Arc<State>,
    parts: &Parts,
    exchange: &mut Exchange,
    route: Route,
) -> Result<Response<Body>, Refusal> {
    if state.is_router() && reads_local_store_only(&route) {
        return Err(Refusal::new(
            StatusCode::NOT_IMPLEMENTED,
            "a router answers every query but the new-name feed, a log per store: follow each \
             shard's",
        ));
    }
    match route {
        Route::Query { verb, form } => {
            dnsdb::query(state, parts, exchange, verb, &form, false).await
        }
        Route::V1Lookup { form } => {
            dnsdb::query(state, parts, exchange, Verb::Lookup, &form, true).await
        }
        Route::Flex {
            method,
            target,
            expr,
            rrtype,
        } => {
            dnsdb::flex(
                state,
                parts,
                exchange,
                method,
                target,
                &expr,
                rrtype.as_deref(),
            )
            .await
        }
        Route::RateLimit { .. } => dnsdb::rate_limit(state, parts, exchange),
        Route::Ping => Ok(dnsdb::ping()),
        Route::Circl { value } => circl::query(state, parts, exchange, &value).await,
        Route::Interpret => native::interpret(parts),
        Route::KeyInfo => native::key_info(state, parts, exchange),
        Route::Stats => native::stats(state, parts, exchange),
        Route::StatsHistory => trends::history(state, parts, exchange).await,
        Route::Zone { zone } => zone::export(state, parts, exchange, &zone).await,
        Route::NewNames => feed::new_names(state, parts, exchange).await,
        Route::ShardRows { rows_of } => shard::rows(state, parts, exchange, rows_of).await,
        Route::OpenApi => Ok(json_response(StatusCode::OK, openapi::document())),
        Route::Metrics => Ok(state.metrics.render(&state.store)),
        Route::Ui { asset } => ui::asset(&asset),
        // POST only, answered before dispatching.
        Route::Submit => Err(Refusal::new(StatusCode::METHOD_NOT_ALLOWED, "POST only")),
    }
}

/// Endpoints that read what a router's (empty) local store cannot stand in for: the
/// new-name log.
fn reads_local_store_only(route: &Route) -> bool {
    matches!(route, Route::NewNames)
}

/// The endpoint label of metrics and the audit log: a fixed, small set.
fn endpoint_label(route: &Route) -> &'static str {
    match route {
        Route::Query {
            verb: Verb::Lookup, ..
        } => "dnsdb_lookup",
        Route::Query {
            verb: Verb::Summarize,
            ..
        } => "dnsdb_summarize",
        Route::Flex { .. } => "dnsdb_flex",
        Route::RateLimit { .. } => "dnsdb_rate_limit",
        Route::Ping => "dnsdb_ping",
        Route::V1Lookup { .. } => "dnsdb_v1_lookup",
        Route::Circl { .. } => "circl_query",
        Route::Interpret => "api_interpret",
        Route::KeyInfo => "api_key",
        Route::Stats => "api_stats",
        Route::StatsHistory => "api_stats_history",
        Route::Zone { .. } => "api_zone",
        Route::NewNames => "api_stream_new",
        Route::ShardRows { .. } => "internal_rows",
        Route::OpenApi => "openapi",
        Route::Metrics => "metrics",
        Route::Ui { .. } => "ui",
        Route::Submit => "api_submit",
    }
}

/// A one-line plain-text answer (every error).
pub fn plain(status: StatusCode, message: &str) -> Response<Body> {
    let mut line = message.replace(['\n', '\r'], " ");
    line.push('\n');
    bytes_response(status, "text/plain; charset=utf-8", Bytes::from(line))
}

pub fn json_response(status: StatusCode, value: &Value) -> Response<Body> {
    let mut body = serde_json::to_vec(value).unwrap_or_default();
    body.push(b'\n');
    bytes_response(status, "application/json", Bytes::from(body))
}

/// Objects one per line (CIRCL).
pub fn ndjson_response(objects: &[Value]) -> Response<Body> {
    let mut body = Vec::new();
    for object in objects {
        let _ = serde_json::to_writer(&mut body, object);
        body.push(b'\n');
    }
    bytes_response(StatusCode::OK, "application/x-ndjson", Bytes::from(body))
}

pub fn bytes_response(
    status: StatusCode,
    content_type: &'static str,
    body: Bytes,
) -> Response<Body> {
    let mut response = Response::new(Full::new(body).boxed());
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// A query admitted to stream its answer.
pub struct Streamed {
    pub caller: Caller,
    pub framing: Framing,
    /// Extra response headers (X-RateLimit-*).
    pub headers: Vec<(&'static str, HeaderValue)>,
    pub exchange: Exchange,
}

/// Runs `produce` on a blocking thread and answers with its lines as they come. The
/// producer holds the caller's permit until it ends; it records the audit line and the
/// stream metrics itself, since only it knows how many rows left and how it ended.
pub async fn stream<F>(state: &Arc<State>, streamed: Streamed, produce: F) -> Response<Body>
where
    F: FnOnce(&State, &mut Out, Instant) -> End + Send + 'static,
{
    let (mut out, pending) = answer::channel(streamed.framing);
    let task_state = state.clone();
    let Streamed {
        caller,
        framing,
        headers,
        exchange,
    } = streamed;
    let deadline = Instant::now() + state.config.query_budget;
    tokio::task::spawn_blocking(move || {
        let _in_flight = caller.permit;
        let end = produce(&task_state, &mut out, deadline);
        let (rows, status) = (out.rows, out.status());
        out.finish(&end);
        task_state
            .metrics
            .stream_ended(exchange.endpoint, end.label(), rows);
        task_state.audit(&exchange, rows, status);
    });
    match pending.start.await {
        Ok(Start::Body) => {
            let mut response = Response::new(BodyExt::boxed(pending.body));
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(framing.content_type()),
            );
            for (name, value) in headers {
                response.headers_mut().insert(name, value);
            }
            response
        }
        Ok(Start::Empty) => plain(StatusCode::NOT_FOUND, "Error: no results found for query."),
        Ok(Start::Refused(message)) => plain(StatusCode::BAD_REQUEST, &message),
        Err(_) => plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the query stopped before it began",
        ),
    }
}
