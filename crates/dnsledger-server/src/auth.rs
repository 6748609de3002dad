//! Who is asking: the API key from the headers each client family sends, checked against
//! the keyring, then admitted by the key's quotas.
//!
//! DNSDB clients send `X-API-Key` (header names are case-insensitive in HTTP, so any case
//! works); CIRCL clients use HTTP Basic with the key as the password, or a bare token in
//! `Authorization` (pypdns sends the token alone, others prefix `Bearer` or `Token`).

use std::sync::Arc;

use base64::Engine;
use dnsledger_keys::{AuthError, KeyInfo, Permit, QuotaError, Scope};
use http::{HeaderMap, StatusCode};

use crate::state::State;

/// A request allowed to run: its key, and the permit that counts it as in flight.
pub struct Caller {
    pub key: Arc<KeyInfo>,
    pub permit: Permit,
}

/// Why a request is refused before it runs: a status and a one-line reason.
#[derive(Debug)]
pub struct Refusal {
    pub status: StatusCode,
    pub message: String,
}

impl Refusal {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Refusal {
        Refusal {
            status,
            message: message.into(),
        }
    }
}

/// The key presented, if any.
pub fn presented_key(headers: &HeaderMap) -> Option<String> {
    if let Some(key) = header(headers, "x-api-key") {
        return Some(key.trim().to_string());
    }
    let authorization = header(headers, "authorization")?.trim();
    let (scheme, rest) = authorization.split_once(' ').unwrap_or(("", authorization));
    match scheme.to_ascii_lowercase().as_str() {
        "basic" => basic_password(rest.trim()),
        "bearer" | "token" => Some(rest.trim().to_string()),
        _ => Some(authorization.to_string()),
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The password of `Basic base64(user:password)`: any user name goes.
fn basic_password(encoded: &str) -> Option<String> {
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (_, password) = text.split_once(':')?;
    Some(password.to_string())
}

/// The key behind the request, with the scope the endpoint needs (403 or 401 otherwise).
pub fn authenticate(
    state: &State,
    headers: &HeaderMap,
    scope: Scope,
    now: i64,
) -> Result<Arc<KeyInfo>, Refusal> {
    let Some(secret) = presented_key(headers) else {
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "missing API key: send it in the X-API-Key header",
        ));
    };
    state.keyring.refresh(now);
    state
        .keyring
        .authenticate(&secret, scope, now)
        .map_err(|error| {
            let status = match error {
                AuthError::Unknown => StatusCode::FORBIDDEN,
                _ => StatusCode::UNAUTHORIZED,
            };
            Refusal::new(status, error.to_string())
        })
}

/// [`authenticate`], and the key's name recorded for the audit log.
pub fn identify(
    state: &State,
    headers: &HeaderMap,
    scope: Scope,
    exchange: &mut crate::state::Exchange,
) -> Result<Arc<KeyInfo>, Refusal> {
    let key = authenticate(state, headers, scope, exchange.time)?;
    exchange.key = Some(key.name.clone());
    Ok(key)
}

/// Counts the request against the key's quotas (429 or 503 when over).
pub fn admit(state: &State, key: Arc<KeyInfo>, now: i64) -> Result<Caller, Refusal> {
    match state.quotas.admit(&key, now) {
        Ok(permit) => Ok(Caller { key, permit }),
        Err(error) => {
            let status = match error {
                QuotaError::Concurrency { .. } => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::TOO_MANY_REQUESTS,
            };
            Err(Refusal::new(status, error.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::headers;

    #[test]
    fn each_client_family_presents_its_key() {
        assert_eq!(
            presented_key(&headers(&[("X-Api-Key", "k1")])).as_deref(),
            Some("k1")
        );
        // "user:k2" in base64: pypdns' basic_auth=("user", key).
        assert_eq!(
            presented_key(&headers(&[("authorization", "Basic dXNlcjprMg==")])).as_deref(),
            Some("k2")
        );
        assert_eq!(
            presented_key(&headers(&[("authorization", "k3")])).as_deref(),
            Some("k3")
        );
        assert_eq!(
            presented_key(&headers(&[("authorization", "Bearer k4")])).as_deref(),
            Some("k4")
        );
        assert_eq!(presented_key(&headers(&[])), None);
        assert_eq!(
            presented_key(&headers(&[("authorization", "Basic !!!")])),
            None
        );
    }
}
