//! Which endpoint a request path names.
//!
//! DNSDB clients build paths by hand, so the path is taken the way DNSDB takes it: split on
//! `/` first, empty segments dropped (duplicate and trailing slashes collapse), then each
//! segment percent-decoded (`%2F` inside a name stays inside that segment).

use dnsledger_store::Family;
use percent_encoding::percent_decode_str;

use crate::shard::RowsOf;

/// `lookup` or `summarize`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verb {
    Lookup,
    Summarize,
}

/// DNSDB flex search: `regex` or `glob`, over owner names or rdata.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlexMethod {
    Regex,
    Glob,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlexTarget {
    RRnames,
    Rdata,
}

/// A lookup form and its value segments, as `spec::from_segments` takes them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Form {
    pub kind: String,
    pub form: String,
    pub values: Vec<String>,
}

/// Every endpoint served.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// `/dnsdb/v2/{lookup|summarize}/...`
    Query {
        verb: Verb,
        form: Form,
    },
    /// `/dnsdb/v2/{regex|glob}/{rrnames|rdata}/EXPR[/RRTYPE]`
    Flex {
        method: FlexMethod,
        target: FlexTarget,
        expr: String,
        rrtype: Option<String>,
    },
    /// `/dnsdb/v2/rate_limit` and v1's `/lookup/rate_limit`
    RateLimit {
        v1: bool,
    },
    /// `/dnsdb/v2/ping`
    Ping,
    /// v1: `/lookup/{rrset|rdata}/...`, bare NDJSON, 404 when empty.
    V1Lookup {
        form: Form,
    },
    /// CIRCL: `/pdns/query/VALUE`
    Circl {
        value: String,
    },
    /// `/api/v1/interpret?q=...`: what the search box text means.
    Interpret,
    /// `/api/v1/key`: the caller's key and its limits.
    KeyInfo,
    /// `/api/v1/stats`: store size and rows.
    Stats,
    /// `/api/v1/stats/history`: new names, IPv6 and DNSSEC shares per day.
    StatsHistory,
    /// `/api/v1/zone/ZONE?at=T | ?from=A&to=B`: a zone rebuilt from history, as a master file.
    Zone {
        zone: String,
    },
    /// `POST /api/v1/submit`: a sensor's batch of observations.
    Submit,
    /// `/api/v1/stream/new`: newly observed domains and names.
    NewNames,
    /// `/internal/v1/rows/...`: a shard's rows for a router.
    ShardRows {
        rows_of: crate::shard::RowsOf,
    },
    OpenApi,
    Metrics,
    /// `/` and `/ui/...`: the web UI's page and assets.
    Ui {
        asset: String,
    },
}

/// Why a path names no endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteError {
    /// 404: nothing is served there.
    NotFound,
    /// 400: a segment is not valid percent-encoded UTF-8.
    BadEncoding,
}

/// Splits, collapses and decodes a raw (still percent-encoded) path.
pub fn segments(raw_path: &str) -> Result<Vec<String>, RouteError> {
    raw_path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            percent_decode_str(s)
                .decode_utf8()
                .map(|d| d.into_owned())
                .map_err(|_| RouteError::BadEncoding)
        })
        .collect()
}

/// The endpoint a raw path names.
pub fn route(raw_path: &str) -> Result<Route, RouteError> {
    let segments = segments(raw_path)?;
    let parts: Vec<&str> = segments.iter().map(String::as_str).collect();
    match parts.as_slice() {
        ["dnsdb", "v2", rest @ ..] => dnsdb_v2(rest),
        ["lookup", "rate_limit"] => Ok(Route::RateLimit { v1: true }),
        ["lookup", kind @ ("rrset" | "rdata"), form, values @ ..] => Ok(Route::V1Lookup {
            form: lookup_form(kind, form, values)?,
        }),
        ["pdns", "query", value] => Ok(Route::Circl {
            value: (*value).to_string(),
        }),
        ["api", "v1", "interpret"] => Ok(Route::Interpret),
        ["api", "v1", "key"] => Ok(Route::KeyInfo),
        ["api", "v1", "stats"] => Ok(Route::Stats),
        ["api", "v1", "stats", "history"] => Ok(Route::StatsHistory),
        ["api", "v1", "zone", zone] => Ok(Route::Zone {
            zone: (*zone).to_string(),
        }),
        ["api", "v1", "submit"] => Ok(Route::Submit),
        ["api", "v1", "stream", "new"] => Ok(Route::NewNames),
        ["internal", "v1", "rows", "all", family] => Ok(Route::ShardRows {
            rows_of: RowsOf::Family(match *family {
                "rrsets" => Family::RRsets,
                "rdata" => Family::Rdata,
                _ => return Err(RouteError::NotFound),
            }),
        }),
        ["internal", "v1", "rows", kind @ ("rrset" | "rdata"), form, values @ ..] => {
            Ok(Route::ShardRows {
                rows_of: RowsOf::Lookup(lookup_form(kind, form, values)?),
            })
        }
        ["openapi.json"] => Ok(Route::OpenApi),
        ["metrics"] => Ok(Route::Metrics),
        [] => Ok(Route::Ui {
            asset: "index.html".into(),
        }),
        ["ui", asset] => Ok(Route::Ui {
            asset: (*asset).to_string(),
        }),
        _ => Err(RouteError::NotFound),
    }
}

fn dnsdb_v2(rest: &[&str]) -> Result<Route, RouteError> {
    match rest {
        ["ping"] => Ok(Route::Ping),
        ["rate_limit"] => Ok(Route::RateLimit { v1: false }),
        [verb @ ("lookup" | "summarize"), kind @ ("rrset" | "rdata"), form, values @ ..] => {
            Ok(Route::Query {
                verb: match *verb {
                    "lookup" => Verb::Lookup,
                    _ => Verb::Summarize,
                },
                form: lookup_form(kind, form, values)?,
            })
        }
        [method @ ("regex" | "glob"), target @ ("rrnames" | "rdata"), expr, rrtype @ ..]
            if rrtype.len() <= 1 =>
        {
            Ok(Route::Flex {
                method: match *method {
                    "regex" => FlexMethod::Regex,
                    _ => FlexMethod::Glob,
                },
                target: match *target {
                    "rrnames" => FlexTarget::RRnames,
                    _ => FlexTarget::Rdata,
                },
                expr: (*expr).to_string(),
                rrtype: rrtype.first().map(|t| (*t).to_string()),
            })
        }
        _ => Err(RouteError::NotFound),
    }
}

/// Only the forms DNSDB serves are routes; their values are checked later (400, not 404).
fn lookup_form(kind: &str, form: &str, values: &[&str]) -> Result<Form, RouteError> {
    let known = matches!(
        (kind, form),
        ("rrset", "name" | "raw") | ("rdata", "name" | "ip" | "raw")
    );
    if !known || values.is_empty() {
        return Err(RouteError::NotFound);
    }
    Ok(Form {
        kind: kind.into(),
        form: form.into(),
        values: values.iter().map(|v| (*v).to_string()).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(kind: &str, form: &str, values: &[&str]) -> Form {
        Form {
            kind: kind.into(),
            form: form.into(),
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    #[test]
    fn segments_are_split_then_decoded_and_duplicate_slashes_collapse() {
        assert_eq!(
            route("//dnsdb/v2//lookup/rrset/name/%2A.example.com/ANY/example.com/").unwrap(),
            Route::Query {
                verb: Verb::Lookup,
                form: form("rrset", "name", &["*.example.com", "ANY", "example.com"])
            }
        );
        assert_eq!(
            route("/dnsdb/v2/summarize/rdata/ip/2001%3Adb8%3A%3A,32").unwrap(),
            Route::Query {
                verb: Verb::Summarize,
                form: form("rdata", "ip", &["2001:db8::,32"])
            }
        );
        assert_eq!(
            route("/dnsdb/v2/lookup/rdata/name/a%2Fb.example").unwrap(),
            Route::Query {
                verb: Verb::Lookup,
                form: form("rdata", "name", &["a/b.example"])
            }
        );
    }

    #[test]
    fn every_endpoint_has_its_route() {
        assert_eq!(route("/dnsdb/v2/ping"), Ok(Route::Ping));
        assert_eq!(
            route("/dnsdb/v2/rate_limit"),
            Ok(Route::RateLimit { v1: false })
        );
        assert_eq!(
            route("/lookup/rate_limit"),
            Ok(Route::RateLimit { v1: true })
        );
        assert_eq!(
            route("/dnsdb/v2/regex/rrnames/%5Ewww%5C./A"),
            Ok(Route::Flex {
                method: FlexMethod::Regex,
                target: FlexTarget::RRnames,
                expr: "^www\\.".into(),
                rrtype: Some("A".into())
            })
        );
        assert_eq!(
            route("/lookup/rdata/ip/192.0.2.1"),
            Ok(Route::V1Lookup {
                form: form("rdata", "ip", &["192.0.2.1"])
            })
        );
        assert_eq!(
            route("/pdns/query/example.com"),
            Ok(Route::Circl {
                value: "example.com".into()
            })
        );
        assert_eq!(route("/openapi.json"), Ok(Route::OpenApi));
        assert_eq!(route("/api/v1/submit"), Ok(Route::Submit));
        assert_eq!(
            route("/"),
            Ok(Route::Ui {
                asset: "index.html".into()
            })
        );
    }

    #[test]
    fn garbage_paths_are_not_found_or_bad_encoding() {
        for path in [
            "/dnsdb/v2",
            "/dnsdb/v2/lookup/rrset",
            "/dnsdb/v2/lookup/rrset/name",
            "/dnsdb/v2/lookup/zone/name/x",
            "/dnsdb/v3/ping",
            "/dnsdb/v2/regex/rrnames/x/A/extra",
            "/pdns/query",
            "/../../etc/passwd",
        ] {
            assert_eq!(route(path), Err(RouteError::NotFound), "{path}");
        }
        assert_eq!(
            route("/dnsdb/v2/lookup/rrset/name/%FF%FE"),
            Err(RouteError::BadEncoding)
        );
    }
}
