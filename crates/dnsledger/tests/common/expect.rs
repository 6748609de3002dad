//! What each query form must answer, derived from the testbed's expected RRsets (never from
//! a store): rrset and rdata rows, summaries, flex groups and CIRCL records. The store tests
//! and the client tests compare against the same answers.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde_json::{json, Value};

use super::{fixture, read_gz_lines, ExpectedRow};

/// The RRsets the testbed's attack capture must yield (812).
const EXPECTED: &str = "testbed/run3_attack.resolver_auth.rrsets.jsonl.gz";

/// The types `ANY` leaves out and `ANY-DNSSEC` keeps.
const DNSSEC: [&str; 10] = [
    "DS",
    "RRSIG",
    "NSEC",
    "DNSKEY",
    "NSEC3",
    "NSEC3PARAM",
    "DLV",
    "CDS",
    "CDNSKEY",
    "TA",
];

pub fn expected() -> Vec<ExpectedRow> {
    read_gz_lines(&fixture(EXPECTED))
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// An answer row reduced to what identifies it and what was counted: (rrname, rrtype,
/// bailiwick, sorted rdata, count, first, last).
pub type Answer = (String, String, Option<String>, Vec<String>, u64, i64, i64);

/// A record object as DNSDB, dnsdbq and COF write it (rdata a string or an array).
pub fn answer_from_json(v: &Value) -> Answer {
    let rdata = match &v["rdata"] {
        Value::String(one) => vec![one.clone()],
        many => many
            .as_array()
            .unwrap_or_else(|| panic!("rdata is neither a string nor an array: {v}"))
            .iter()
            .map(|r| r.as_str().unwrap().to_string())
            .collect(),
    };
    let field = |name: &str| {
        v[name]
            .as_str()
            .unwrap_or_else(|| panic!("{name} is not a string: {v}"))
            .to_string()
    };
    let integer = |name: &str| {
        v[name]
            .as_i64()
            .unwrap_or_else(|| panic!("{name} is not an integer: {v}"))
    };
    (
        field("rrname"),
        field("rrtype"),
        v["bailiwick"].as_str().map(str::to_string),
        sorted(rdata),
        integer("count") as u64,
        integer("time_first"),
        integer("time_last"),
    )
}

/// Record objects, sorted (so that answers compare whatever order they came in).
pub fn answers_from_values<'a>(values: impl IntoIterator<Item = &'a Value>) -> Vec<Answer> {
    let mut rows: Vec<Answer> = values.into_iter().map(answer_from_json).collect();
    rows.sort();
    rows
}

/// JSON lines of record objects, sorted.
pub fn answers_from_json(stdout: &str) -> Vec<Answer> {
    let values: Vec<Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}")))
        .collect();
    answers_from_values(&values)
}

pub fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn seen(row: &ExpectedRow) -> (u64, i64, i64) {
    (
        row.count,
        row.time_first.floor() as i64,
        row.time_last.floor() as i64,
    )
}

pub fn rrset_answer(row: &ExpectedRow) -> Answer {
    let (count, first, last) = seen(row);
    (
        row.rrname.clone(),
        row.rrtype.clone(),
        row.bailiwick.clone(),
        sorted(row.rdata.clone()),
        count,
        first,
        last,
    )
}

/// The rdata rows the expected RRsets imply: one per (rrname, rrtype, rdata), merged.
pub fn rdata_answers(
    rows: &[ExpectedRow],
    keep: impl Fn(&ExpectedRow, &str) -> bool,
) -> Vec<Answer> {
    let mut merged: BTreeMap<(String, String, String), (u64, i64, i64)> = BTreeMap::new();
    for row in rows {
        for rdata in &row.rdata {
            if !keep(row, rdata) {
                continue;
            }
            let seen = seen(row);
            merged
                .entry((row.rrname.clone(), row.rrtype.clone(), rdata.clone()))
                .and_modify(|m| *m = (m.0 + seen.0, m.1.min(seen.1), m.2.max(seen.2)))
                .or_insert(seen);
        }
    }
    merged
        .into_iter()
        .map(|((n, t, r), (c, f, l))| (n, t, None, vec![r], c, f, l))
        .collect()
}

/// Whether `name` is `zone` or below it (both with the trailing dot).
pub fn under(name: &str, zone: &str) -> bool {
    name == zone || name.ends_with(&format!(".{zone}"))
}

/// Not a DNSSEC type: what `ANY` (and a query without a type) answers.
pub fn is_dns(row: &ExpectedRow) -> bool {
    !DNSSEC.contains(&row.rrtype.as_str())
}

/// The expected RRsets `filter` keeps, as sorted rrset rows.
pub fn expect_rrsets(filter: impl Fn(&ExpectedRow) -> bool) -> Vec<Answer> {
    let mut rows: Vec<Answer> = expected()
        .iter()
        .filter(|r| filter(r))
        .map(rrset_answer)
        .collect();
    rows.sort();
    rows
}

/// The expected rdata rows `keep` admits, sorted.
pub fn expect_rdata(keep: impl Fn(&ExpectedRow, &str) -> bool) -> Vec<Answer> {
    rdata_answers(&expected(), keep)
}

/// Whether an rdata text is an address within `lo..=hi`.
pub fn in_range(rdata: &str, lo: &str, hi: &str) -> bool {
    let (Ok(addr), Ok(lo), Ok(hi)) = (
        rdata.parse::<IpAddr>(),
        lo.parse::<IpAddr>(),
        hi.parse::<IpAddr>(),
    ) else {
        return false;
    };
    lo <= addr && addr <= hi
}

/// The name an rdata-by-name lookup finds this rdata by: the target of NS, CNAME, DNAME and
/// PTR, the primary server of SOA, the exchange of MX, the target of SRV, SVCB and HTTPS.
pub fn name_in_rdata<'a>(rrtype: &str, rdata: &'a str) -> Option<&'a str> {
    let field = match rrtype {
        "NS" | "CNAME" | "DNAME" | "PTR" => return Some(rdata),
        "SOA" => 0,
        "MX" | "SVCB" | "HTTPS" => 1,
        "SRV" => 3,
        _ => return None,
    };
    rdata.split_whitespace().nth(field)
}

/// The summarize object of these rows.
pub fn summary_of(rows: &[Answer]) -> Value {
    json!({
        "count": rows.iter().map(|r| r.4).sum::<u64>(),
        "num_results": rows.len(),
        "time_first": rows.iter().map(|r| r.5).min(),
        "time_last": rows.iter().map(|r| r.6).max(),
    })
}

/// A flex search result: (rrname or rdata, rrtype, count, first, last).
pub type FlexGroup = (String, String, u64, i64, i64);

/// Flex over owner names: one group per (rrname, rrtype) of the RRsets `keep` admits.
pub fn flex_rrnames(keep: impl Fn(&ExpectedRow) -> bool) -> Vec<FlexGroup> {
    let rows = expected();
    let seen = rows
        .iter()
        .filter(|row| keep(row))
        .map(|row| ((row.rrname.clone(), row.rrtype.clone()), seen(row)));
    groups(seen)
}

/// Flex over rdata: one group per (rdata, rrtype) of the records `keep` admits, whoever
/// owns them.
pub fn flex_rdata(keep: impl Fn(&ExpectedRow, &str) -> bool) -> Vec<FlexGroup> {
    let rows = expected();
    let seen = rows.iter().flat_map(|row| {
        row.rdata
            .iter()
            .filter(|rdata| keep(row, rdata))
            .map(|rdata| ((rdata.clone(), row.rrtype.clone()), seen(row)))
    });
    groups(seen)
}

fn groups(seen: impl Iterator<Item = ((String, String), (u64, i64, i64))>) -> Vec<FlexGroup> {
    let mut merged: BTreeMap<(String, String), (u64, i64, i64)> = BTreeMap::new();
    for (key, seen) in seen {
        merged
            .entry(key)
            .and_modify(|m| *m = (m.0 + seen.0, m.1.min(seen.1), m.2.max(seen.2)))
            .or_insert(seen);
    }
    merged
        .into_iter()
        .map(|((text, rrtype), (count, first, last))| (text, rrtype, count, first, last))
        .collect()
}

/// What CIRCL answers for a name: the records it owns (every type) and the records naming
/// it in their rdata, one per (rrname, rrtype, rdata).
pub fn circl_name_records(name: &str) -> Vec<Answer> {
    expect_rdata(|row, rdata| {
        row.rrname == name || (is_dns(row) && name_in_rdata(&row.rrtype, rdata) == Some(name))
    })
}

/// What CIRCL answers for an address: the A or AAAA records pointing at it.
pub fn circl_address_records(address: &str) -> Vec<Answer> {
    expect_rdata(|_, rdata| in_range(rdata, address, address))
}

/// A time between two of `times` as far as possible from either: a fence there keeps the
/// same rows even when "now" moves a few seconds between two clocks reading it.
pub fn quiet_time(times: impl Iterator<Item = i64>) -> i64 {
    let mut times: Vec<i64> = times.collect();
    times.sort();
    times.dedup();
    let (lo, hi) = times
        .windows(2)
        .map(|w| (w[0], w[1]))
        .max_by_key(|(lo, hi)| hi - lo)
        .expect("at least two distinct times");
    assert!(hi - lo >= 6, "no quiet time: the widest gap is {lo}..{hi}");
    (lo + hi) / 2
}
