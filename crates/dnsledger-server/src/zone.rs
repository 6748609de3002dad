//! `GET /api/v1/zone/ZONE[?at=TIME | ?from=A&to=B]`: a zone rebuilt from history as a master
//! file (what `dnsledger zone-export` writes), streamed name by name as it is built.

use std::sync::Arc;
use std::time::Instant;

use dnsledger_keys::Scope;
use dnsledger_query::timefmt;
use dnsledger_store::StoreError;
use dnsledger_wire::NameBuf;
use dnsledger_zone::{export_zone, ExportOptions, Window, ZoneError};
use http::request::Parts;
use http::{HeaderValue, Response, StatusCode};

use crate::answer::{End, Framing, Out, Start, TextWriter};
use crate::auth::{self, Refusal};
use crate::native::query_param;
use crate::service::{stream, Body, Streamed};
use crate::state::{Exchange, State};

/// RFC 4027's media type for master files.
const ZONE_FILE: &str = "text/dns; charset=utf-8";

pub async fn export(
    state: &Arc<State>,
    parts: &Parts,
    exchange: &mut Exchange,
    zone_text: &str,
) -> Result<Response<Body>, Refusal> {
    let key = auth::identify(state, &parts.headers, Scope::Query, exchange)?;
    let bad = |message: String| Refusal::new(StatusCode::BAD_REQUEST, message);
    let zone =
        NameBuf::from_text(zone_text).map_err(|e| bad(format!("bad zone {zone_text:?}: {e}")))?;
    let window = window(parts, exchange.time).map_err(bad)?;
    let caller = auth::admit(state, key, exchange.time)?;
    let file_name = format!("{}zone", zone.to_text());
    let disposition = format!("attachment; filename=\"{file_name}\"");
    let streamed = Streamed {
        caller,
        framing: Framing::Text(ZONE_FILE),
        headers: HeaderValue::from_str(&disposition)
            .map(|value| vec![("content-disposition", value)])
            .unwrap_or_default(),
        exchange: exchange.clone(),
    };
    Ok(stream(
        state,
        streamed,
        move |state: &State, out: &mut Out, deadline: Instant| {
            let options = ExportOptions {
                window,
                deadline: Some(deadline),
            };
            let result = export_zone(&*state.history, &zone, &options, &mut TextWriter(out));
            ending(result.map(|_| ()), out, state)
        },
    )
    .await)
}

/// `at=T`, or `from=A&to=B`, or neither (the whole history).
fn window(parts: &Parts, now: i64) -> Result<Window, String> {
    let time = |name: &str| {
        query_param(parts, name)
            .map(|text| timefmt::parse(&text, now).map_err(|e| format!("{name}: {e}")))
            .transpose()
    };
    match (time("at")?, time("from")?, time("to")?) {
        (None, None, None) => Ok(Window::Whole),
        (Some(at), None, None) => Ok(Window::At(at)),
        (None, Some(from), Some(to)) if from <= to => Ok(Window::Between(from, to)),
        (None, Some(_), Some(_)) => Err("from is after to".into()),
        _ => Err("give at=TIME, or from=TIME and to=TIME, or neither".into()),
    }
}

/// How an export ended; text already sent gets a closing comment when it is incomplete.
fn ending(result: Result<(), ZoneError>, out: &mut Out, state: &State) -> End {
    let incomplete = |out: &mut Out, why: &str| {
        let _ = out.text(format!("; incomplete: {why}\n").as_bytes());
    };
    match result {
        Ok(()) => End::Succeeded,
        Err(ZoneError::NothingObserved { .. }) => {
            out.start(Start::Empty);
            End::Succeeded
        }
        Err(ZoneError::Write(_)) => End::Disconnected,
        Err(ZoneError::Store(StoreError::OutOfTime { .. })) => {
            let why = format!(
                "the export ran past its time budget of {} s",
                state.config.query_budget.as_secs()
            );
            incomplete(out, &why);
            End::Failed(why)
        }
        Err(other) => {
            tracing::error!(error = %other, "zone export failed");
            incomplete(out, &other.to_string());
            End::Failed(other.to_string())
        }
    }
}
