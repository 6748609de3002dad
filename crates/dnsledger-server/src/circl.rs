//! CIRCL Passive DNS: `GET /pdns/query/VALUE`, answered in the Common Output Format.
//!
//! An address answers the A/AAAA records pointing at it; a name answers the records it
//! owns and the records naming it in their rdata (as CIRCL does). One object per record,
//! (rrname, rrtype, rdata) unique within the answer, as the COF draft asks: RRset rows of
//! one owner are split into their records and merged per record. Pages follow the v2.0
//! `dribble-*` headers; the next page's cursor is returned in `x-dribble-cursor` while more
//! remain.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use dnsledger_keys::Scope;
use dnsledger_query::spec;
use dnsledger_rrset::Seen;
use dnsledger_store::{Lookup, NamePattern, Row, RowRequest, Selection, TypeFilter};
use dnsledger_wire::{push_name_text, push_rdata_text, type_name};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use serde_json::{json, Value};

use crate::auth::{self, Refusal};
use crate::service::{ndjson_response, Body};
use crate::state::{Exchange, State};

/// One record of the answer, keyed so that the answer is sorted and unique.
type RecordKey = (String, String, String);

/// What the dribble headers ask for.
struct Paging {
    rrtype: Option<u16>,
    /// The rrtype header named no type: the answer is empty (pypdns documents this).
    unknown_rrtype: bool,
    count: Option<usize>,
    cursor: usize,
}

fn paging(headers: &HeaderMap) -> Result<Paging, Refusal> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let number = |name: &str| -> Result<Option<usize>, Refusal> {
        text(name)
            .map(|t| {
                t.parse::<usize>().map_err(|_| {
                    Refusal::new(
                        StatusCode::BAD_REQUEST,
                        format!("{name}: {t:?} is not a number"),
                    )
                })
            })
            .transpose()
    };
    let filter = text("dribble-filter-rrtype").map(|t| spec::type_filter(Some(t)));
    Ok(Paging {
        rrtype: match filter {
            Some(Ok(TypeFilter::Only(rrtype))) => Some(rrtype),
            _ => None,
        },
        unknown_rrtype: matches!(filter, Some(Err(_))),
        count: number("dribble-paginate-count")?.filter(|c| *c > 0),
        cursor: number("dribble-paginate-cursor")?.unwrap_or(0),
    })
}

pub async fn query(
    state: &Arc<State>,
    parts: &Parts,
    exchange: &mut Exchange,
    value: &str,
) -> Result<Response<Body>, Refusal> {
    let key = auth::identify(state, &parts.headers, Scope::Query, exchange)?;
    let paging = paging(&parts.headers)?;
    let lookups = lookups(value)?;
    let caller = auth::admit(state, key, exchange.time)?;
    let cap = state.results_max(&caller.key);
    let task_state = state.clone();
    let records = tokio::task::spawn_blocking(move || {
        let _in_flight = caller.permit;
        collect(&task_state, &lookups, &paging, cap).map(|records| (records, paging))
    })
    .await
    .map_err(|_| Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, "the query stopped"))?;
    let (records, paging) = records?;
    let (page, next) = page(records, &paging);
    state.audit(exchange, page.len() as u64, 200);
    let mut response = ndjson_response(&page);
    if let Some(next) = next {
        response
            .headers_mut()
            .insert("x-dribble-cursor", HeaderValue::from(next));
    }
    Ok(response)
}

/// An address: rdata by IP. A name: the RRsets it owns (DNS and DNSSEC) and the rdata naming it.
fn lookups(value: &str) -> Result<Vec<Lookup>, Refusal> {
    if let Ok(address) = value.parse::<IpAddr>() {
        return Ok(vec![Lookup::RdataIp {
            lo: address,
            hi: address,
        }]);
    }
    let bad = |e: spec::BadQuery| Refusal::new(StatusCode::BAD_REQUEST, e.0);
    let owner = match NamePattern::parse(value).map_err(|e| bad(spec::BadQuery(e.0)))? {
        NamePattern::Exact(name) => name,
        _ => {
            return Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                "CIRCL queries take a name or an address, without wildcards",
            ))
        }
    };
    let rrsets = |rrtype| Lookup::RRset {
        owner: NamePattern::Exact(owner.clone()),
        rrtype,
        bailiwick: None,
    };
    Ok(vec![
        rrsets(TypeFilter::Any),
        rrsets(TypeFilter::AnyDnssec),
        Lookup::RdataName {
            name: NamePattern::Exact(owner.clone()),
            rrtype: TypeFilter::Any,
        },
    ])
}

/// Every record of the answer, merged per (rrname, rrtype, rdata), at most `cap`.
fn collect(
    state: &State,
    lookups: &[Lookup],
    paging: &Paging,
    cap: u64,
) -> Result<BTreeMap<RecordKey, Seen>, Refusal> {
    let mut records = BTreeMap::new();
    if paging.unknown_rrtype {
        return Ok(records);
    }
    let deadline = std::time::Instant::now() + state.config.query_budget;
    for lookup in lookups {
        let request = RowRequest {
            deadline: Some(deadline),
            ..RowRequest::new(Selection::Lookup(lookup.clone()))
        };
        let rows = state
            .history
            .rows(&request)
            .map_err(|e| Refusal::new(StatusCode::BAD_REQUEST, e.0))?;
        for row in rows {
            let row = row.map_err(|e| {
                Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, format!("store: {e}"))
            })?;
            if paging.rrtype.is_some_and(|t| t != row.rrtype()) {
                continue;
            }
            add_records(&mut records, &row);
            if records.len() as u64 >= cap {
                return Ok(records);
            }
        }
    }
    Ok(records)
}

fn add_records(records: &mut BTreeMap<RecordKey, Seen>, row: &Row) {
    let parts = row.parts();
    let mut rrname = String::new();
    push_name_text(&mut rrname, parts.rrname);
    let rrtype = type_name(parts.rrtype).into_owned();
    for rdata in parts.rdata() {
        let mut text = String::new();
        push_rdata_text(&mut text, parts.rrtype, rdata);
        records
            .entry((rrname.clone(), rrtype.clone(), text))
            .and_modify(|seen: &mut Seen| seen.merge(&row.seen))
            .or_insert(row.seen);
    }
}

/// The requested page as COF objects, and the cursor of the next one if more remain.
fn page(records: BTreeMap<RecordKey, Seen>, paging: &Paging) -> (Vec<Value>, Option<usize>) {
    let total = records.len();
    let count = paging.count.unwrap_or(total);
    let objects = records
        .into_iter()
        .skip(paging.cursor)
        .take(count)
        .map(|((rrname, rrtype, rdata), seen)| {
            json!({
                "rrname": rrname,
                "rrtype": rrtype,
                "rdata": [rdata],
                "time_first": seen.time_first,
                "time_last": seen.time_last,
                "count": seen.count,
            })
        })
        .collect();
    let next = paging.cursor.saturating_add(count);
    (objects, (next < total).then_some(next))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::headers;

    fn records(n: usize) -> BTreeMap<RecordKey, Seen> {
        (0..n)
            .map(|i| {
                (
                    (
                        format!("n{i:02}.example."),
                        "A".into(),
                        format!("192.0.2.{i}"),
                    ),
                    Seen::once(1),
                )
            })
            .collect()
    }

    #[test]
    fn pages_carry_a_cursor_while_more_remain() {
        let paging = paging(&headers(&[("dribble-paginate-count", "4")])).unwrap();
        let (first, next) = page(records(10), &paging);
        assert_eq!((first.len(), next), (4, Some(4)));
        let paging = super::paging(&headers(&[
            ("dribble-paginate-count", "4"),
            ("dribble-paginate-cursor", "8"),
        ]))
        .unwrap();
        let (last, next) = page(records(10), &paging);
        assert_eq!((last.len(), next), (2, None));
        assert_eq!(last[0]["rrname"], json!("n08.example."));
        let (all, next) = page(records(3), &super::paging(&HeaderMap::new()).unwrap());
        assert_eq!((all.len(), next), (3, None));
    }

    #[test]
    fn the_rrtype_header_filters_and_an_unknown_type_empties() {
        let paging = paging(&headers(&[("dribble-filter-rrtype", "aaaa")])).unwrap();
        assert_eq!(paging.rrtype, Some(28));
        assert!(
            super::paging(&headers(&[("dribble-filter-rrtype", "nope")]))
                .unwrap()
                .unknown_rrtype
        );
        assert!(super::paging(&headers(&[("dribble-paginate-count", "x")])).is_err());
    }

    #[test]
    fn wildcards_are_refused_and_addresses_become_ip_lookups() {
        assert!(lookups("*.example.com").is_err());
        assert_eq!(lookups("192.0.2.1").unwrap().len(), 1);
        assert_eq!(lookups("example.com").unwrap().len(), 3);
    }
}
