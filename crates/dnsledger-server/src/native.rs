//! The native endpoints under `/api/v1`, for the web UI and scripts: what a search box's
//! text means, the caller's key and limits, and the store's size.

use dnsledger_keys::Scope;
use dnsledger_query::spec;
use http::request::Parts;
use http::{Response, StatusCode};
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde_json::{json, Value};

use crate::auth::{self, Refusal};
use crate::dnsdb::rate_object;
use crate::service::{json_response, Body};
use crate::state::{Exchange, State};

/// `/api/v1/interpret?q=TEXT`: the DNSDB query a search box's text stands for.
pub fn interpret(parts: &Parts) -> Result<Response<Body>, Refusal> {
    let text = query_param(parts, "q").unwrap_or_default();
    let (form, value) = interpretation(text.trim())
        .map_err(|message| Refusal::new(StatusCode::BAD_REQUEST, message))?;
    let path = format!(
        "lookup/{form}/{}",
        utf8_percent_encode(&value, NON_ALPHANUMERIC)
    );
    Ok(json_response(
        StatusCode::OK,
        &json!({"form": form, "value": value, "path": path}),
    ))
}

/// An address, `ADDR/LEN` or `LO-HI` -> rdata by IP; `0x` + hex -> raw rdata; anything
/// else a name (wildcards allowed) -> RRsets by owner.
fn interpretation(text: &str) -> Result<(&'static str, String), String> {
    if text.is_empty() {
        return Err("type a name, *.suffix, prefix.*, an address, a prefix or a range".into());
    }
    let ip_form = text.replace('/', ",");
    if spec::rdata_ip(&ip_form, None).is_ok() {
        return Ok(("rdata/ip", ip_form));
    }
    if let Some(hex) = text.strip_prefix("0x") {
        spec::hex(hex).map_err(|e| e.0)?;
        return Ok(("rdata/raw", hex.to_string()));
    }
    spec::rrset(text, false, None, None).map_err(|e| e.0)?;
    Ok(("rrset/name", text.to_string()))
}

pub(crate) fn query_param(parts: &Parts, name: &str) -> Option<String> {
    parts.uri.query()?.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then(|| {
            percent_encoding::percent_decode_str(&value.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        })
    })
}

/// `/api/v1/key`: the caller's key, its scopes and limits, and its quota now.
pub fn key_info(
    state: &State,
    parts: &Parts,
    exchange: &mut Exchange,
) -> Result<Response<Body>, Refusal> {
    let key = auth::identify(state, &parts.headers, Scope::Query, exchange)?;
    let status = state.quotas.status(&key, exchange.time);
    let scopes: Vec<String> = key.scopes.iter().map(|s| s.to_string()).collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "name": key.name,
            "id": key.id,
            "scopes": scopes,
            "created": key.created,
            "rate": rate_object(&status, state.results_max(&key))["rate"],
        }),
    ))
}

/// `/api/v1/stats`: estimated rows and bytes per column family (a router: its shards' sums).
pub fn stats(
    state: &State,
    parts: &Parts,
    exchange: &mut Exchange,
) -> Result<Response<Body>, Refusal> {
    auth::identify(state, &parts.headers, Scope::Query, exchange)?;
    let sizes = state.history.sizes().map_err(|error| {
        Refusal::new(
            StatusCode::BAD_GATEWAY,
            format!("the sizes are unknown: {error}"),
        )
    })?;
    let families: serde_json::Map<String, Value> = sizes
        .into_iter()
        .map(|size| {
            let numbers = json!({
                "estimated_keys": size.estimated_keys,
                "estimated_bytes": size.estimated_bytes,
            });
            (size.name, numbers)
        })
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({"column_families": families}),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_box_text_becomes_a_query_form() {
        let form = |t: &str| interpretation(t).map(|(f, v)| format!("{f} {v}"));
        assert_eq!(form("192.0.2.1").unwrap(), "rdata/ip 192.0.2.1");
        assert_eq!(form("10.0.0.0/8").unwrap(), "rdata/ip 10.0.0.0,8");
        assert_eq!(
            form("2001:db8::1-2001:db8::ff").unwrap(),
            "rdata/ip 2001:db8::1-2001:db8::ff"
        );
        assert_eq!(form("0xc0000201").unwrap(), "rdata/raw c0000201");
        assert_eq!(form("*.example.com").unwrap(), "rrset/name *.example.com");
        assert_eq!(form("www.example.*").unwrap(), "rrset/name www.example.*");
        assert!(form("").is_err());
        assert!(form("www.*.com").is_err());
        assert!(form("0xabc").is_err());
    }
}
