//! The OpenAPI 3 description of every endpoint, served at `/openapi.json`.

use std::sync::OnceLock;

use serde_json::{json, Map, Value};

/// Built once: it never changes while the server runs.
pub fn document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(build)
}

fn build() -> Value {
    let mut paths = Map::new();
    dnsdb_paths(&mut paths);
    other_paths(&mut paths);
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "dnsledger",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Passive DNS history: DNSDB API v2 (SAF streaming) and v1, CIRCL passive DNS (COF), and dnsledger's own endpoints. Errors are one plain-text line."
        },
        "components": {
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                "basic": {"type": "http", "scheme": "basic", "description": "any user name; the API key as the password"}
            }
        },
        "security": [{"apiKey": []}],
        "paths": paths
    })
}

/// A path parameter of type string.
fn path_param(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "schema": {"type": "string", "minLength": 1}, "description": description})
}

fn query_param(name: &str, schema: Value, description: &str) -> Value {
    json!({"name": name, "in": "query", "required": false, "schema": schema, "description": description})
}

fn boolean_param(name: &str, description: &str) -> Value {
    query_param(
        name,
        json!({"type": "string", "enum": ["t", "f", "true", "false", "1", "0"]}),
        description,
    )
}

/// The query parameters of lookups, summaries and flex searches.
fn query_params() -> Vec<Value> {
    let integer = json!({"type": "integer", "minimum": 0, "maximum": 1_000_000_000_000i64});
    let time =
        json!({"type": "integer", "minimum": -4_000_000_000i64, "maximum": 4_000_000_000i64});
    vec![
        query_param(
            "limit",
            integer.clone(),
            "rows at most; 0 = the key's maximum (default 10000)",
        ),
        query_param("offset", integer.clone(), "rows to skip first"),
        query_param(
            "time_first_before",
            time.clone(),
            "first seen <= T (negative: seconds before now)",
        ),
        query_param("time_first_after", time.clone(), "first seen >= T"),
        query_param("time_last_before", time.clone(), "last seen <= T"),
        query_param("time_last_after", time, "last seen >= T"),
        boolean_param(
            "aggr",
            "aggregated rows (the default); false: one row per day of activity",
        ),
        boolean_param(
            "activity",
            "rows carry `activity`, their per-day observation histogram (dnsledger)",
        ),
        boolean_param("humantime", "times as RFC 3339 strings"),
        query_param(
            "max_count",
            integer,
            "summarize: stop once the count reaches this",
        ),
        query_param("swclient", json!({"type": "string"}), "informational"),
        query_param("version", json!({"type": "string"}), "informational"),
        query_param("id", json!({"type": "string"}), "informational"),
    ]
}

fn text_response(description: &str) -> Value {
    json!({"description": description, "content": {"text/plain": {"schema": {"type": "string"}}}})
}

/// The error statuses a query can answer.
fn error_responses(responses: &mut Map<String, Value>) {
    for (status, description) in [
        ("400", "malformed query"),
        ("401", "key not allowed here, revoked or expired"),
        ("403", "missing or unknown key"),
        ("404", "unknown path, or (v1) no results"),
        ("415", "unsupported Accept"),
        ("416", "offset over the key's maximum"),
        ("429", "daily or burst quota exhausted"),
        ("503", "too many concurrent requests for the key"),
    ] {
        responses.insert(status.into(), text_response(description));
    }
}

fn ndjson_operation(summary: &str, params: Vec<Value>) -> Value {
    let mut responses = Map::new();
    responses.insert(
        "200".into(),
        json!({
            "description": "newline-delimited JSON: SAF lines ({\"cond\":\"begin\"}, {\"obj\":{...}}, then succeeded, limited or failed) for v2, bare objects for v1 and CIRCL",
            "content": {"application/x-ndjson": {"schema": {"type": "string"}}}
        }),
    );
    error_responses(&mut responses);
    json!({"get": {"summary": summary, "parameters": params, "responses": responses}})
}

fn json_operation(summary: &str, params: Vec<Value>, schema: Value, secured: bool) -> Value {
    let mut responses = Map::new();
    responses.insert(
        "200".into(),
        json!({"description": "OK", "content": {"application/json": {"schema": schema}}}),
    );
    error_responses(&mut responses);
    let mut operation = json!({"summary": summary, "parameters": params, "responses": responses});
    if !secured {
        operation["security"] = json!([]);
    }
    json!({"get": operation})
}

fn with(mut params: Vec<Value>, more: &[Value]) -> Vec<Value> {
    params.extend_from_slice(more);
    params
}

fn dnsdb_paths(paths: &mut Map<String, Value>) {
    let verb = json!({"name": "verb", "in": "path", "required": true, "schema": {"type": "string", "enum": ["lookup", "summarize"]}});
    let rrtype = path_param("rrtype", "a mnemonic, TYPEnnn, ANY or ANY-DNSSEC");
    let forms: [(&str, &str, Vec<Value>); 10] = [
        (
            "rrset/name/{owner}",
            "RRsets by owner (*.suffix and prefix.* wildcards)",
            vec![path_param("owner", "owner name")],
        ),
        (
            "rrset/name/{owner}/{rrtype}",
            "RRsets by owner and type",
            vec![path_param("owner", "owner name"), rrtype.clone()],
        ),
        (
            "rrset/name/{owner}/{rrtype}/{bailiwick}",
            "RRsets by owner, type and bailiwick",
            vec![
                path_param("owner", "owner name"),
                rrtype.clone(),
                path_param("bailiwick", "zone"),
            ],
        ),
        (
            "rrset/raw/{hex}",
            "RRsets by owner in wire format (hex)",
            vec![path_param("hex", "hex wire bytes")],
        ),
        (
            "rrset/raw/{hex}/{rrtype}",
            "RRsets by raw owner and type",
            vec![path_param("hex", "hex wire bytes"), rrtype.clone()],
        ),
        (
            "rdata/name/{name}",
            "records naming NAME in their rdata",
            vec![path_param("name", "name")],
        ),
        (
            "rdata/name/{name}/{rrtype}",
            "records of a type naming NAME in their rdata",
            vec![path_param("name", "name"), rrtype.clone()],
        ),
        (
            "rdata/ip/{ip}",
            "A/AAAA records by address, ADDR,LEN or LO-HI",
            vec![path_param("ip", "address, prefix or range")],
        ),
        (
            "rdata/raw/{hex}",
            "records by rdata in wire format (hex)",
            vec![path_param("hex", "hex rdata")],
        ),
        (
            "rdata/raw/{hex}/{rrtype}",
            "records by raw rdata and type",
            vec![path_param("hex", "hex rdata"), rrtype.clone()],
        ),
    ];
    for (form, summary, params) in forms {
        let params = with(with(vec![verb.clone()], &params), &query_params());
        paths.insert(
            format!("/dnsdb/v2/{{verb}}/{form}"),
            ndjson_operation(summary, params),
        );
    }
    let method = json!({"name": "method", "in": "path", "required": true, "schema": {"type": "string", "enum": ["regex", "glob"]}});
    let target = json!({"name": "target", "in": "path", "required": true, "schema": {"type": "string", "enum": ["rrnames", "rdata"]}});
    let flex_params = with(
        vec![method, target, path_param("expr", "the regex or glob")],
        &with(
            query_params(),
            &[
                query_param(
                    "exclude",
                    json!({"type": "string"}),
                    "drop results this expression matches",
                ),
                boolean_param("verbose", "with count and times (default)"),
            ],
        ),
    );
    paths.insert(
        "/dnsdb/v2/{method}/{target}/{expr}".into(),
        ndjson_operation("flex search over owner names or rdata", flex_params),
    );
    let rate =
        json!({"type": "object", "required": ["rate"], "properties": {"rate": {"type": "object"}}});
    paths.insert(
        "/dnsdb/v2/rate_limit".into(),
        json_operation("the key's quota", vec![], rate.clone(), true),
    );
    paths.insert(
        "/lookup/rate_limit".into(),
        json_operation("the key's quota (v1)", vec![], rate, true),
    );
    paths.insert(
        "/dnsdb/v2/ping".into(),
        json_operation(
            "connectivity check",
            vec![],
            json!({"type": "object", "required": ["ping"], "properties": {"ping": {"type": "string", "enum": ["ok"]}}}),
            false,
        ),
    );
    paths.insert(
        "/lookup/rrset/name/{owner}".into(),
        ndjson_operation(
            "v1: RRsets by owner, bare NDJSON, 404 when empty",
            with(vec![path_param("owner", "owner name")], &query_params()),
        ),
    );
    paths.insert(
        "/lookup/rdata/ip/{ip}".into(),
        ndjson_operation(
            "v1: records by address",
            with(
                vec![path_param("ip", "address, prefix or range")],
                &query_params(),
            ),
        ),
    );
    paths.insert(
        "/lookup/rdata/name/{name}".into(),
        ndjson_operation(
            "v1: records naming NAME",
            with(vec![path_param("name", "name")], &query_params()),
        ),
    );
}

fn other_paths(paths: &mut Map<String, Value>) {
    let dribble = |name: &str, description: &str| json!({"name": name, "in": "header", "required": false, "schema": {"type": "string"}, "description": description});
    let mut circl = ndjson_operation(
        "CIRCL passive DNS: an address or a name, COF objects",
        vec![
            path_param("value", "an IP address or a name"),
            dribble("dribble-filter-rrtype", "only this rrtype"),
            dribble("dribble-paginate-count", "page size"),
            dribble("dribble-paginate-cursor", "the cursor of the page"),
        ],
    );
    circl["get"]["security"] = json!([{"apiKey": []}, {"basic": []}]);
    paths.insert("/pdns/query/{value}".into(), circl);
    paths.insert(
        "/api/v1/interpret".into(),
        json_operation(
            "what a search box's text means as a DNSDB query",
            vec![query_param("q", json!({"type": "string"}), "the text")],
            json!({"type": "object", "required": ["form", "value", "path"], "properties": {"form": {"type": "string"}, "value": {"type": "string"}, "path": {"type": "string"}}}),
            false,
        ),
    );
    paths.insert(
        "/api/v1/key".into(),
        json_operation(
            "the caller's key and quota",
            vec![],
            json!({"type": "object", "required": ["name", "scopes", "rate"]}),
            true,
        ),
    );
    paths.insert(
        "/api/v1/stats".into(),
        json_operation(
            "estimated rows and bytes per column family",
            vec![],
            json!({"type": "object", "required": ["column_families"]}),
            true,
        ),
    );
    paths.insert(
        "/api/v1/stats/history".into(),
        json_operation(
            "per day: new names and registered domains (also per TLD), the IPv6 share (names with AAAA among names with A or AAAA) and the DNSSEC-signed share (delegations with DS); one full scan, cached for 5 minutes",
            vec![
                query_param(
                    "days",
                    json!({"type": "integer", "minimum": 1, "maximum": 3660}),
                    "days shown, counted back from the latest (default 90)",
                ),
                query_param(
                    "tlds",
                    json!({"type": "integer", "minimum": 1, "maximum": 100}),
                    "top-level domains listed, most new names first (default 10)",
                ),
            ],
            json!({"type": "object", "required": ["from", "to", "days", "tlds"]}),
            true,
        ),
    );
    paths.insert("/api/v1/submit".into(), submit_operation());
    let mut zone = json_operation(
        "a zone rebuilt from history as a master file (the records observed with it as bailiwick, the parent's delegation and glue)",
        vec![
            path_param("zone", "the zone's name"),
            query_param("at", json!({"type": "string"}), "rows seen at this time (epoch seconds, -SECONDS, YYYY-MM-DD)"),
            query_param("from", json!({"type": "string"}), "with to: rows seen in this window"),
            query_param("to", json!({"type": "string"}), "with from: rows seen in this window"),
        ],
        json!({"type": "string"}),
        true,
    );
    zone["get"]["responses"]["200"] = json!({"description": "an RFC 1035 master file", "content": {"text/dns": {"schema": {"type": "string"}}}});
    paths.insert("/api/v1/zone/{zone}".into(), zone);
    paths.insert("/api/v1/stream/new".into(), new_names_operation());
    paths.insert(
        "/openapi.json".into(),
        json_operation("this document", vec![], json!({"type": "object"}), false),
    );
    let mut metrics = json_operation(
        "Prometheus metrics",
        vec![],
        json!({"type": "string"}),
        false,
    );
    metrics["get"]["responses"]["200"] = json!({"description": "OpenMetrics text", "content": {"application/openmetrics-text": {"schema": {"type": "string"}}}});
    paths.insert("/metrics".into(), metrics);
    let mut index = json_operation("the web UI", vec![], json!({"type": "string"}), false);
    index["get"]["responses"]["200"] =
        json!({"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}});
    paths.insert("/".into(), index);
}

/// `GET /api/v1/stream/new`: the new-name feed. `follow` is listed as required with only
/// its bounded value, so a client generated from this document (or schemathesis) never
/// waits on a stream that does not end; the server's default is to follow.
fn new_names_operation() -> Value {
    let mut responses = Map::new();
    responses.insert(
        "200".into(),
        json!({
            "description": "new-name events, oldest first: Server-Sent Events (`id:` is the event's seq, `data:` its JSON object) or NDJSON",
            "content": {
                "text/event-stream": {"schema": {"type": "object", "required": ["id", "data"], "properties": {"id": {"type": "string"}, "data": {"type": "string"}, "event": {"type": "string", "enum": ["message"]}}}},
                "application/x-ndjson": {"schema": {"type": "string"}}
            }
        }),
    );
    error_responses(&mut responses);
    let follow = json!({"name": "follow", "in": "query", "required": true, "schema": {"type": "string", "enum": ["f", "false", "0"]}, "description": "false: end once the log is read; true (the server's default when absent): keep the stream open and send events as the store receives them"});
    let parameters = vec![
        json!({"name": "suffix", "in": "query", "required": false, "style": "form", "explode": true, "schema": {"type": "array", "items": {"type": "string"}}, "description": "only names at or below one of these (repeatable)"}),
        query_param(
            "kind",
            json!({"type": "string", "enum": ["domain", "name"]}),
            "only new registered domains, or only new full names",
        ),
        boolean_param(
            "watched",
            "only names that hit a watchlist rule of the store, each with its hits (rule id, rule, reason)",
        ),
        query_param(
            "since",
            json!({"type": "integer", "minimum": 0, "maximum": 1_000_000_000_000i64}),
            "events after this seq (Last-Event-ID overrides it)",
        ),
        query_param(
            "tail",
            json!({"type": "integer", "minimum": 0, "maximum": 1_000_000}),
            "start this many events before the end of the log (before filtering) instead of at since",
        ),
        query_param(
            "limit",
            json!({"type": "integer", "minimum": 1, "maximum": 1_000_000}),
            "end after this many events",
        ),
        query_param(
            "format",
            json!({"type": "string", "enum": ["sse", "ndjson"]}),
            "sse (default) or ndjson (also Accept: application/x-ndjson)",
        ),
        follow,
    ];
    json!({"get": {
        "summary": "newly observed registered domains and owner names, each with first-seen time, first rdata, type and bailiwick",
        "parameters": parameters,
        "responses": responses
    }})
}

/// `POST /api/v1/submit`: a sensor's batch (dnsledger-submit's protocol).
fn submit_operation() -> Value {
    let header = |name: &str, required: bool, schema: Value, description: &str| json!({"name": name, "in": "header", "required": required, "schema": schema, "description": description});
    let mut responses = Map::new();
    responses.insert(
        "200".into(),
        json!({
            "description": "the batch is durable in the store: written now, or already before (duplicate, nothing written)",
            "content": {"application/json": {"schema": {
                "type": "object",
                "required": ["accepted", "batch", "duplicate"],
                "properties": {
                    "accepted": {"type": "integer", "minimum": 0},
                    "batch": {"type": "string"},
                    "duplicate": {"type": "boolean"}
                }
            }}}
        }),
    );
    for (status, description) in [
        ("400", "bad X-Batch-Id, body not gzip, or a bad line: the batch is refused whole"),
        ("401", "key without the submit scope, revoked or expired"),
        ("403", "missing or unknown key"),
        ("413", "body or decompressed text over 64 MiB"),
        ("415", "Content-Encoding other than gzip or identity"),
        ("500", "the store could not write the batch: send it again"),
        ("503", "not started with --accept-submissions, busy, or too many concurrent submissions for the key: send it again later"),
    ] {
        responses.insert(status.into(), text_response(description));
    }
    json!({"post": {
        "summary": "a sensor's batch of observations, stored exactly once",
        "parameters": [
            header("X-Batch-Id", true, json!({"type": "string"}), "SENSOR/SEQUENCE: the batch's idempotency key"),
            header("Content-Encoding", false, json!({"type": "string", "enum": ["gzip", "identity"]}), "gzip (what sensors send) or none"),
        ],
        "requestBody": {
            "required": true,
            "content": {
                "application/x-ndjson": {"schema": {"type": "string"}},
                "text/plain": {"schema": {"type": "string"}}
            },
            "description": "COF NDJSON as `dnsledger sensor` writes it: one RRset per line with rrname, rrtype, rdata (array), bailiwick, count, time_first, time_last"
        },
        "responses": responses
    }})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_template_has_an_operation_with_responses() {
        let document = document();
        let paths = document["paths"].as_object().unwrap();
        assert!(paths.len() >= 20, "{} paths", paths.len());
        for (path, item) in paths {
            let method = if path == "/api/v1/submit" {
                "post"
            } else {
                "get"
            };
            let responses = item[method]["responses"].as_object().unwrap();
            assert!(responses.contains_key("200"), "{path}");
            for param in item[method]["parameters"].as_array().into_iter().flatten() {
                if param["in"] == "path" {
                    let name = param["name"].as_str().unwrap();
                    assert!(path.contains(&format!("{{{name}}}")), "{path} lacks {name}");
                }
            }
        }
    }
}
