//! `/api/v1/stats/history`: the statistics pages' numbers ([`dnsledger_query::trends`]).
//! They take one full scan of the store, so a scan's answer serves every caller for
//! [`FRESH_FOR`]; callers arriving while a scan runs wait for it instead of starting
//! another.

use std::sync::Arc;
use std::time::{Duration, Instant};

use dnsledger_keys::Scope;
use dnsledger_query::trends::trends_json;
use dnsledger_store::{StoreError, Trends};
use http::request::Parts;
use http::{Response, StatusCode};

use crate::auth::{self, Refusal};
use crate::native::query_param;
use crate::service::{json_response, Body};
use crate::state::{Exchange, State};

/// How long one scan's trends are served before the next request scans again.
pub const FRESH_FOR: Duration = Duration::from_secs(300);
/// Days shown when the request names none, and the most it may name (ten years).
const DEFAULT_DAYS: u32 = 90;
const MAX_DAYS: u32 = 3660;
/// Top-level domains listed when the request names none, and the most it may name.
const DEFAULT_TLDS: usize = 10;
const MAX_TLDS: usize = 100;

/// The latest trends and when they were computed.
#[derive(Default)]
pub struct TrendsCache {
    latest: tokio::sync::Mutex<Option<(Instant, Arc<Trends>)>>,
}

impl TrendsCache {
    /// Fresh trends: the cached ones, or a new scan (on a blocking thread, under the query
    /// budget) when they are older than [`FRESH_FOR`].
    async fn get(&self, state: &Arc<State>) -> Result<Arc<Trends>, Refusal> {
        let mut latest = self.latest.lock().await;
        if let Some((computed, trends)) = latest.as_ref() {
            if computed.elapsed() < FRESH_FOR {
                return Ok(Arc::clone(trends));
            }
        }
        let scanning = Arc::clone(state);
        let scanned = tokio::task::spawn_blocking(move || {
            let deadline = Instant::now() + scanning.config.query_budget;
            dnsledger_store::trends(&*scanning.history, deadline)
        })
        .await
        .map_err(|_| Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, "the scan stopped"))?;
        let trends = Arc::new(scanned.map_err(|error| refusal(error, state))?);
        *latest = Some((Instant::now(), Arc::clone(&trends)));
        Ok(trends)
    }
}

fn refusal(error: StoreError, state: &State) -> Refusal {
    match error {
        StoreError::OutOfTime { scanned } => Refusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "the statistics scan read {scanned} rows in the {} s query budget without \
                 finishing; `dnsledger stats --history` computes them offline",
                state.config.query_budget.as_secs()
            ),
        ),
        other => {
            tracing::error!(error = %other, "store error during the statistics scan");
            Refusal::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("store error: {other}"),
            )
        }
    }
}

/// A numeric parameter within `1..=max`, or `default` when absent.
fn bounded<T: std::str::FromStr + PartialOrd + From<u8>>(
    parts: &Parts,
    name: &str,
    default: T,
    max: T,
) -> Result<T, Refusal> {
    let Some(text) = query_param(parts, name) else {
        return Ok(default);
    };
    text.parse::<T>()
        .ok()
        .filter(|n| *n >= T::from(1) && *n <= max)
        .ok_or_else(|| {
            Refusal::new(
                StatusCode::BAD_REQUEST,
                format!("{name} must be a whole number from 1 to the maximum"),
            )
        })
}

/// `GET /api/v1/stats/history?days=N&tlds=N`.
pub async fn history(
    state: &Arc<State>,
    parts: &Parts,
    exchange: &mut Exchange,
) -> Result<Response<Body>, Refusal> {
    auth::identify(state, &parts.headers, Scope::Query, exchange)?;
    let days = bounded(parts, "days", DEFAULT_DAYS, MAX_DAYS)?;
    let tlds = bounded(parts, "tlds", DEFAULT_TLDS, MAX_TLDS)?;
    let trends = state.trends.get(state).await?;
    Ok(json_response(
        StatusCode::OK,
        &trends_json(&trends, days, tlds),
    ))
}
