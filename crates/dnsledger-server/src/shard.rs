//! `GET /internal/v1/rows/{lookup form | all/{rrsets|rdata}}`: the rows a router reads from
//! a shard, with their positions, as transit frames (`dnsledger_store::transit`).
//!
//! It takes the lookup forms of the DNSDB paths and the fence and shape parameters of a
//! query (`time_*`, `aggr`, `activity`), and `limit` as the most rows wanted. Offsets, row
//! caps and presentation stay with the router, which applies them to the merged rows
//! exactly as a single node applies them to its own.

use std::sync::Arc;
use std::time::Instant;

use dnsledger_keys::Scope;
use dnsledger_store::{write_end, write_row, Family, RowRequest, Selection, TransitEnd};
use http::request::Parts;
use http::{Response, StatusCode};

use crate::answer::{End, Framing, Out, Start};
use crate::auth::{self, Refusal};
use crate::dnsdb::lookup_of;
use crate::params;
use crate::routes::Form;
use crate::service::{stream, Body, Streamed};
use crate::state::{Exchange, State};

/// The media type of a body of transit frames.
pub const TRANSIT_TYPE: &str = "application/x-dnsledger-rows";

/// What the rows endpoint is asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RowsOf {
    Lookup(Form),
    Family(Family),
}

pub async fn rows(
    state: &Arc<State>,
    parts: &Parts,
    exchange: &mut Exchange,
    rows_of: RowsOf,
) -> Result<Response<Body>, Refusal> {
    if state.is_router() {
        return Err(Refusal::new(
            StatusCode::NOT_FOUND,
            "this server is a router and holds no rows: ask its shards",
        ));
    }
    let key = auth::identify(state, &parts.headers, Scope::Query, exchange)?;
    let params = params::parse(parts.uri.query(), exchange.time)
        .map_err(|m| Refusal::new(StatusCode::BAD_REQUEST, m))?;
    let selection = match rows_of {
        RowsOf::Lookup(form) => Selection::Lookup(lookup_of(&form)?),
        RowsOf::Family(family) => Selection::Family(family),
    };
    let request = RowRequest {
        fence: params.fence,
        shape: params.shape(),
        wanted: params.limit,
        ..RowRequest::new(selection)
    };
    let streamed = Streamed {
        caller: auth::admit(state, key, exchange.time)?,
        framing: Framing::Text(TRANSIT_TYPE),
        headers: Vec::new(),
        exchange: exchange.clone(),
    };
    Ok(stream(
        state,
        streamed,
        move |state: &State, out: &mut Out, deadline: Instant| {
            produce(state, request, out, deadline)
        },
    )
    .await)
}

/// Writes the rows with their positions, then the end frame.
fn produce(state: &State, mut request: RowRequest, out: &mut Out, deadline: Instant) -> End {
    request.deadline = Some(deadline);
    let mut rows = match state.store.request(&request) {
        Ok(rows) => rows.with_positions(),
        Err(refused) => {
            out.start(Start::Refused(refused.0));
            return End::Failed("refused".into());
        }
    };
    let mut frame = Vec::with_capacity(256);
    let end = loop {
        if request.wanted.is_some_and(|wanted| out.rows >= wanted) {
            break TransitEnd::Complete;
        }
        let row = match rows.next() {
            None => break TransitEnd::Complete,
            Some(Err(error)) => break TransitEnd::Failed(error.to_string()),
            Some(Ok(row)) => row,
        };
        frame.clear();
        write_row(
            &mut frame,
            rows.position().unwrap_or(&Default::default()),
            &row,
        );
        if out.text(&frame).is_err() {
            return End::Disconnected;
        }
        out.rows += 1;
    };
    frame.clear();
    write_end(&mut frame, &end);
    if out.text(&frame).is_err() {
        return End::Disconnected;
    }
    match end {
        TransitEnd::Complete => End::Succeeded,
        TransitEnd::Failed(message) => End::Failed(message),
    }
}
