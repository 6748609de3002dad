//! What a key is: its scopes, its limits and the public facts `keys list` shows.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a key may do. `Admin` implies `Query` and `Submit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Lookups and the rate-limit status.
    Query,
    /// Submitting observations.
    Submit,
    /// Everything, including administration.
    Admin,
}

impl Scope {
    fn as_str(self) -> &'static str {
        match self {
            Scope::Query => "query",
            Scope::Submit => "submit",
            Scope::Admin => "admin",
        }
    }

    /// Whether holding `self` is enough for an action that needs `wanted`.
    fn grants(self, wanted: Scope) -> bool {
        self == wanted || self == Scope::Admin
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = String;

    fn from_str(text: &str) -> Result<Scope, String> {
        [Scope::Query, Scope::Submit, Scope::Admin]
            .into_iter()
            .find(|scope| scope.as_str() == text)
            .ok_or_else(|| format!("unknown scope {text:?}: use query, submit or admin"))
    }
}

/// At most `size` queries in any sliding window of `window_secs` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Burst {
    /// Queries admitted per window.
    pub size: u64,
    /// The window's length in seconds.
    pub window_secs: u64,
}

impl fmt::Display for Burst {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.size, self.window_secs)
    }
}

/// Parses `N/SECONDS`, e.g. `10/60`; both at least 1.
impl FromStr for Burst {
    type Err = String;

    fn from_str(text: &str) -> Result<Burst, String> {
        let bad = || format!("bad burst {text:?}: use QUERIES/SECONDS, e.g. 10/60");
        let (size, window) = text.split_once('/').ok_or_else(bad)?;
        let size: u64 = size.parse().map_err(|_| bad())?;
        let window_secs: u64 = window.parse().map_err(|_| bad())?;
        if size == 0 || window_secs == 0 {
            return Err(bad());
        }
        Ok(Burst { size, window_secs })
    }
}

/// A key's limits; `None` is unlimited.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Queries per UTC day.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub daily: Option<u64>,
    /// Queries in any sliding window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub burst: Option<Burst>,
    /// Rows per answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub results_max: Option<u64>,
    /// The largest offset a query may ask for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset_max: Option<u64>,
    /// Requests in flight at once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrent: Option<u32>,
    /// Epoch seconds from which the key is refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<i64>,
}

/// The public facts of a key: everything `keys.json` holds about it except the secret's hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyInfo {
    /// Unique among the keys not revoked.
    pub name: String,
    /// The first characters of the secret, so a holder can tell which listed key is theirs.
    pub id: String,
    /// Sorted, without duplicates.
    pub scopes: Vec<Scope>,
    /// What the quotas allow it.
    #[serde(default)]
    pub limits: Limits,
    /// Epoch seconds.
    pub created: i64,
    /// Epoch seconds of the revocation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<i64>,
}

impl KeyInfo {
    /// Whether the key's scopes cover `wanted` (ignoring revocation and expiry).
    pub(crate) fn allows(&self, wanted: Scope) -> bool {
        self.scopes.iter().any(|scope| scope.grants(wanted))
    }
}

/// Key names are shown in logs and used as quota keys: a short, plain alphabet keeps them
/// unambiguous there.
pub(crate) fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'@' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_text_round_trips_and_rejects_others() {
        for scope in [Scope::Query, Scope::Submit, Scope::Admin] {
            assert_eq!(scope.to_string().parse::<Scope>(), Ok(scope));
            let json = serde_json::to_string(&scope).unwrap();
            assert_eq!(json, format!("\"{scope}\""));
        }
        assert!("Query".parse::<Scope>().is_err());
        assert!("".parse::<Scope>().is_err());
    }

    #[test]
    fn admin_implies_query_and_submit_but_not_the_reverse() {
        assert!(Scope::Admin.grants(Scope::Query));
        assert!(Scope::Admin.grants(Scope::Submit));
        assert!(!Scope::Query.grants(Scope::Submit));
        assert!(!Scope::Submit.grants(Scope::Admin));
    }

    #[test]
    fn burst_parses_n_per_seconds() {
        let burst: Burst = "10/60".parse().unwrap();
        assert_eq!(
            burst,
            Burst {
                size: 10,
                window_secs: 60
            }
        );
        assert_eq!(burst.to_string(), "10/60");
        for bad in ["10", "0/60", "10/0", "a/60", "10/-1", "/", "10/60/1"] {
            assert!(bad.parse::<Burst>().is_err(), "{bad}");
        }
    }

    #[test]
    fn names_use_a_small_alphabet_and_length() {
        assert!(valid_name("alice@example.org"));
        assert!(valid_name("ci-bot_2.0"));
        assert!(valid_name(&"a".repeat(64)));
        assert!(!valid_name(""));
        assert!(!valid_name(&"a".repeat(65)));
        assert!(!valid_name("with space"));
        assert!(!valid_name("slash/name"));
        assert!(!valid_name("é"));
    }
}
