//! DNSDB API v2 (`/dnsdb/v2/...`, SAF) and v1 (`/lookup/...`, bare NDJSON): lookups,
//! summaries, flex search, rate_limit and ping, as reference section 4.1 describes them.

use std::sync::Arc;
use std::time::Instant;

use dnsledger_keys::{KeyInfo, RateStatus, Scope};
use dnsledger_query::{cof_object, spec, timefmt, Presented, Summary};
use dnsledger_store::{Lookup, Row, RowRequest, RowStream, Selection, StoreError};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use serde_json::{json, Value};

use crate::answer::{End, Framing, Out, Start};
use crate::auth::{self, Caller, Refusal};
use crate::flex::{self, FlexQuery};
use crate::params::{self, Params, DEFAULT_LIMIT};
use crate::routes::{FlexMethod, FlexTarget, Form, Verb};
use crate::service::{json_response, stream, Body, Streamed};
use crate::state::{Exchange, State};

/// Everything a query needs once it is admitted.
struct Admitted {
    caller: Caller,
    params: Params,
    /// Rows the answer may carry before it ends as `limited`.
    cap: RowCap,
}

/// The row cap of one answer: the asked limit within the key's (or server's) maximum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RowCap {
    pub rows: u64,
    /// Whether the maximum, not the request, set it (said in the `limited` message).
    pub by_maximum: bool,
}

impl RowCap {
    /// `asked` as DNSDB's `limit` (None: the default, 0: the maximum) within `maximum`.
    pub fn new(asked: Option<u64>, maximum: u64) -> RowCap {
        match asked.unwrap_or(DEFAULT_LIMIT) {
            0 => RowCap {
                rows: maximum,
                by_maximum: true,
            },
            asked if asked > maximum => RowCap {
                rows: maximum,
                by_maximum: true,
            },
            asked => RowCap {
                rows: asked,
                by_maximum: false,
            },
        }
    }

    pub fn limited(&self) -> End {
        End::Limited(match self.by_maximum {
            true => format!("Result limit reached: results_max is {}", self.rows),
            false => "Result limit reached".to_string(),
        })
    }
}

/// A query whose key, Accept and parameters passed, not yet counted against quotas.
struct Checked {
    key: std::sync::Arc<KeyInfo>,
    params: Params,
    cap: RowCap,
}

/// Authenticates, checks Accept and the parameters, in the order DNSDB reports problems.
/// Quotas come last ([`Checked::admit`]), after the handler has checked its own part, so
/// that a refused query consumes nothing.
fn check(state: &State, parts: &Parts, exchange: &mut Exchange) -> Result<Checked, Refusal> {
    let key = auth::identify(state, &parts.headers, Scope::Query, exchange)?;
    check_accept(&parts.headers)?;
    let params = params::parse(parts.uri.query(), exchange.time)
        .map_err(|m| Refusal::new(StatusCode::BAD_REQUEST, m))?;
    check_offset(&key, params.offset)?;
    let cap = RowCap::new(params.limit, state.results_max(&key));
    Ok(Checked { key, params, cap })
}

impl Checked {
    /// Counts the query against the key's quotas (429 or 503 when over).
    fn admit(self, state: &State, now: i64) -> Result<Admitted, Refusal> {
        Ok(Admitted {
            caller: auth::admit(state, self.key, now)?,
            params: self.params,
            cap: self.cap,
        })
    }
}

/// DNSDB clients send `application/x-ndjson`; `application/json` and wildcards are fine.
pub fn check_accept(headers: &HeaderMap) -> Result<(), Refusal> {
    let Some(accept) = headers.get(http::header::ACCEPT) else {
        return Ok(());
    };
    let accept = accept.to_str().unwrap_or("");
    let acceptable = accept.split(',').any(|range| {
        let media = range.split(';').next().unwrap_or("").trim();
        [
            "application/x-ndjson",
            "application/json",
            "*/*",
            "application/*",
        ]
        .iter()
        .any(|ok| media.eq_ignore_ascii_case(ok))
    });
    match acceptable {
        true => Ok(()),
        false => Err(Refusal::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("cannot answer as {accept:?}: accept application/x-ndjson or application/json"),
        )),
    }
}

fn check_offset(key: &KeyInfo, offset: u64) -> Result<(), Refusal> {
    match key.limits.offset_max {
        Some(max) if offset > max => Err(Refusal::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            format!("offset {offset} is over this key's offset_max of {max}"),
        )),
        _ => Ok(()),
    }
}

pub fn lookup_of(form: &Form) -> Result<Lookup, Refusal> {
    let values: Vec<&str> = form.values.iter().map(String::as_str).collect();
    spec::from_segments(&form.kind, &form.form, &values, spec::Overrides::default())
        .map_err(|e| Refusal::new(StatusCode::BAD_REQUEST, e.0))
}

/// `/dnsdb/v2/{lookup|summarize}/...` and v1's `/lookup/...`.
pub async fn query(
    state: &Arc<State>,
    parts: &Parts,
    exchange: &mut Exchange,
    verb: Verb,
    form: &Form,
    v1: bool,
) -> Result<Response<Body>, Refusal> {
    let checked = check(state, parts, exchange)?;
    let lookup = lookup_of(form)?;
    let admitted = checked.admit(state, exchange.time)?;
    let rate = rate_headers(state, &admitted.caller.key, exchange.time);
    let framing = match v1 {
        true => Framing::Bare,
        false => Framing::Saf,
    };
    let Admitted {
        caller,
        params,
        cap,
    } = admitted;
    let produce = move |state: &State, out: &mut Out, deadline: Instant| match verb {
        Verb::Lookup => produce_lookup(state, &lookup, &params, cap, v1, out, deadline),
        Verb::Summarize => produce_summary(state, &lookup, &params, cap, out, deadline),
    };
    let streamed = Streamed {
        caller,
        framing,
        headers: rate,
        exchange: exchange.clone(),
    };
    Ok(stream(state, streamed, produce).await)
}

/// The rows of a lookup, bounded by the deadline, of which the answer takes at most
/// `wanted`; `None` when the store refuses its plan (the answer then starts as a 400 with
/// the store's reason).
fn start_scan<'a>(
    state: &'a State,
    lookup: &Lookup,
    params: &Params,
    wanted: u64,
    out: &mut Out,
    deadline: Instant,
) -> Option<RowStream<'a>> {
    let request = RowRequest {
        fence: params.fence,
        shape: params.shape(),
        deadline: Some(deadline),
        wanted: Some(wanted),
        ..RowRequest::new(Selection::Lookup(lookup.clone()))
    };
    match state.history.rows(&request) {
        Ok(rows) => Some(rows),
        Err(refused) => {
            out.start(Start::Refused(refused.0));
            None
        }
    }
}

/// The rows of a lookup, after the offset and up to the cap.
fn produce_lookup(
    state: &State,
    lookup: &Lookup,
    params: &Params,
    cap: RowCap,
    empty_is_not_found: bool,
    out: &mut Out,
    deadline: Instant,
) -> End {
    // One row past the cap tells a limited answer from a complete one.
    let wanted = params.offset.saturating_add(cap.rows).saturating_add(1);
    let Some(rows) = start_scan(state, lookup, params, wanted, out, deadline) else {
        return End::Failed("refused".into());
    };
    let mut skipped = 0u64;
    for row in rows {
        let row = match row {
            Ok(row) => row,
            Err(error) => return failure(error, state),
        };
        if skipped < params.offset {
            skipped += 1;
            continue;
        }
        if out.rows == cap.rows {
            return cap.limited();
        }
        if out.object(&row_object(&row, params.humantime)).is_err() {
            return End::Disconnected;
        }
    }
    if out.rows == 0 && empty_is_not_found {
        out.start(Start::Empty);
    }
    End::Succeeded
}

/// Summarize: one object over the selected rows (none when nothing matched).
fn produce_summary(
    state: &State,
    lookup: &Lookup,
    params: &Params,
    cap: RowCap,
    out: &mut Out,
    deadline: Instant,
) -> End {
    let wanted = cap.rows.saturating_add(1);
    let Some(rows) = start_scan(state, lookup, params, wanted, out, deadline) else {
        return End::Failed("refused".into());
    };
    let mut summary = Summary::default();
    let mut end = End::Succeeded;
    for row in rows {
        let row = match row {
            Ok(row) => row,
            Err(error) => return failure(error, state),
        };
        if summary.num_results == cap.rows {
            end = cap.limited();
            break;
        }
        summary.add(&row.seen, row.source);
        if params.max_count.is_some_and(|max| summary.count >= max) {
            break;
        }
    }
    if summary.num_results > 0 {
        let object = humanize(summary.json(), params.humantime);
        if out.object(&object).is_err() {
            return End::Disconnected;
        }
    }
    end
}

/// A store error mid-answer: the budget message, or the error (logged, it is ours).
pub fn failure(error: StoreError, state: &State) -> End {
    match error {
        StoreError::OutOfTime { .. } => End::Failed(format!(
            "query time budget of {} s exceeded; narrow the query or use limit and offset",
            state.config.query_budget.as_secs()
        )),
        StoreError::Shard { .. } => {
            tracing::warn!(%error, "a shard failed during a query");
            End::Failed(error.to_string())
        }
        other => {
            tracing::error!(error = %other, "store error during a query");
            End::Failed(format!("store error: {other}"))
        }
    }
}

/// A row as DNSDB's record object.
pub fn row_object(row: &Row, humantime: bool) -> Value {
    humanize(cof_object(&Presented::from(row)), humantime)
}

/// With `humantime`, the time fields become RFC 3339 strings.
pub fn humanize(mut object: Value, humantime: bool) -> Value {
    if !humantime {
        return object;
    }
    for field in [
        "time_first",
        "time_last",
        "zone_time_first",
        "zone_time_last",
    ] {
        if let Some(value) = object.get_mut(field) {
            if let Some(epoch) = value.as_i64() {
                *value = json!(rfc3339(epoch));
            }
        }
    }
    object
}

/// `YYYY-MM-DDTHH:MM:SSZ`.
pub fn rfc3339(epoch: i64) -> String {
    format!("{}Z", timefmt::format(epoch).replacen(' ', "T", 1))
}

/// `/dnsdb/v2/{regex|glob}/{rrnames|rdata}/EXPR[/RRTYPE]`.
pub async fn flex(
    state: &Arc<State>,
    parts: &Parts,
    exchange: &mut Exchange,
    method: FlexMethod,
    target: FlexTarget,
    expr: &str,
    rrtype: Option<&str>,
) -> Result<Response<Body>, Refusal> {
    let checked = check(state, parts, exchange)?;
    let bad = |m: String| Refusal::new(StatusCode::BAD_REQUEST, m);
    let query = FlexQuery {
        target,
        matcher: flex::matcher(method, expr).map_err(bad)?,
        exclude: checked
            .params
            .exclude
            .as_deref()
            .map(|e| flex::matcher(method, e))
            .transpose()
            .map_err(bad)?,
        rrtype: spec::type_filter(rrtype).map_err(|e| bad(e.0))?,
    };
    let admitted = checked.admit(state, exchange.time)?;
    let rate = rate_headers(state, &admitted.caller.key, exchange.time);
    let Admitted {
        caller,
        params,
        cap,
    } = admitted;
    let produce = move |state: &State, out: &mut Out, deadline: Instant| {
        flex::produce(state, &query, &params, cap, out, deadline)
    };
    let streamed = Streamed {
        caller,
        framing: Framing::Saf,
        headers: rate,
        exchange: exchange.clone(),
    };
    Ok(stream(state, streamed, produce).await)
}

/// `/dnsdb/v2/rate_limit` (and v1's): the key's quota, from the counters that enforce it.
pub fn rate_limit(
    state: &State,
    parts: &Parts,
    exchange: &mut Exchange,
) -> Result<Response<Body>, Refusal> {
    let key = auth::identify(state, &parts.headers, Scope::Query, exchange)?;
    check_accept(&parts.headers)?;
    let status = state.quotas.status(&key, exchange.time);
    Ok(json_response(
        StatusCode::OK,
        &rate_object(&status, state.results_max(&key)),
    ))
}

/// DNSDB's `{"rate":{...}}`: integers, or "unlimited" / "n/a" where a limit does not apply.
/// The burst pair is left out without a burst limit: dnsdbq accepts only integers there.
pub fn rate_object(status: &RateStatus, results_max: u64) -> Value {
    let or = |value: Option<u64>, absent: &str| value.map_or(json!(absent), |v| json!(v));
    let time_or = |value: Option<i64>| value.map_or(json!("n/a"), |v| json!(v));
    let mut rate = json!({
        "reset": time_or(status.reset),
        "limit": or(status.limit, "unlimited"),
        "remaining": or(status.remaining, "n/a"),
        "results_max": results_max,
        "offset_max": or(status.offset_max, "n/a"),
        "expires": time_or(status.expires),
    });
    if let (Some(size), Some(window)) = (status.burst_size, status.burst_window) {
        rate["burst_size"] = json!(size);
        rate["burst_window"] = json!(window);
    }
    json!({ "rate": rate })
}

/// `X-RateLimit-Limit/Remaining/Reset` for keys with a daily quota.
fn rate_headers(state: &State, key: &KeyInfo, now: i64) -> Vec<(&'static str, HeaderValue)> {
    let status = state.quotas.status(key, now);
    let (Some(limit), Some(remaining), Some(reset)) =
        (status.limit, status.remaining, status.reset)
    else {
        return Vec::new();
    };
    vec![
        ("x-ratelimit-limit", HeaderValue::from(limit)),
        ("x-ratelimit-remaining", HeaderValue::from(remaining)),
        ("x-ratelimit-reset", HeaderValue::from(reset)),
    ]
}

/// `/dnsdb/v2/ping`: answers without a key, as a connectivity check should.
pub fn ping() -> Response<Body> {
    json_response(StatusCode::OK, &json!({"ping": "ok"}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_row_cap_is_the_limit_within_the_maximum() {
        assert_eq!(
            RowCap::new(None, 1_000_000),
            RowCap {
                rows: DEFAULT_LIMIT,
                by_maximum: false
            }
        );
        assert_eq!(
            RowCap::new(Some(0), 500),
            RowCap {
                rows: 500,
                by_maximum: true
            }
        );
        assert_eq!(RowCap::new(Some(900), 500).rows, 500);
        assert_eq!(RowCap::new(Some(5), 500).rows, 5);
    }

    #[test]
    fn humantime_turns_times_into_rfc3339() {
        let object = humanize(
            json!({"count": 2, "time_first": 1_380_123_423, "time_last": 0}),
            true,
        );
        assert_eq!(
            object,
            json!({"count": 2, "time_first": "2013-09-25T15:37:03Z", "time_last": "1970-01-01T00:00:00Z"})
        );
    }

    #[test]
    fn accept_takes_what_clients_send_and_refuses_the_rest() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(http::header::ACCEPT, value.parse().unwrap());
            check_accept(&headers).map_err(|r| r.status)
        };
        assert!(with("application/x-ndjson").is_ok());
        assert!(with("text/html, application/json;q=0.9").is_ok());
        assert!(with("*/*").is_ok());
        assert_eq!(with("text/csv"), Err(StatusCode::UNSUPPORTED_MEDIA_TYPE));
        assert!(check_accept(&HeaderMap::new()).is_ok());
    }

    #[test]
    fn rate_limit_says_unlimited_and_n_a_where_no_limit_applies() {
        let status = RateStatus {
            limit: None,
            remaining: None,
            reset: None,
            burst_size: None,
            burst_window: None,
            results_max: None,
            offset_max: Some(100),
            expires: None,
        };
        let object = rate_object(&status, 1000);
        assert_eq!(object["rate"]["limit"], json!("unlimited"));
        assert_eq!(object["rate"]["remaining"], json!("n/a"));
        assert_eq!(object["rate"]["offset_max"], json!(100));
        assert_eq!(object["rate"]["results_max"], json!(1000));
        assert!(object["rate"].get("burst_size").is_none());
        let burst = RateStatus {
            burst_size: Some(10),
            burst_window: Some(60),
            ..status
        };
        assert_eq!(rate_object(&burst, 1000)["rate"]["burst_window"], json!(60));
    }
}
