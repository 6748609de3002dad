//! Activity beyond first/last: per-day histograms kept with each row (identical whatever the
//! order and split of the input), the unaggregated view (`query -g`, `aggr=false`), and
//! the `activity` field, through the real binary and server.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::scratch_dir;
use common::server::{add_key, http_get, run as dnsledger, TestServer};
use serde_json::Value;

const DAY: i64 = 86_400;
/// 2024-01-01 00:00:00 UTC.
const START: i64 = 1_704_067_200;

/// Observations of three RRsets over `days` days, as COF lines: a deterministic schedule
/// where each RRset is seen on some days, some days more than once.
fn cof_lines(days: i64) -> Vec<String> {
    let mut lines = Vec::new();
    let mut state = 0x2545_f491_u64;
    for day in 0..days {
        for (name, address) in [("a", "192.0.2.1"), ("b", "192.0.2.2"), ("c", "192.0.2.3")] {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            let times = (state >> 60) % 4;
            for n in 0..times {
                let at = START + day * DAY + 3600 * (n as i64 + 1);
                lines.push(format!(
                    r#"{{"count":{},"time_first":{at},"time_last":{},"rrname":"{name}.example.com.","rrtype":"A","bailiwick":"example.com.","rdata":["{address}"]}}"#,
                    n + 1,
                    at + 60
                ));
            }
        }
    }
    lines
}

/// Each RRset's count per day, from the lines themselves (not from the code under test).
fn expected_days(lines: &[String]) -> BTreeMap<String, BTreeMap<i64, u64>> {
    let mut days: BTreeMap<String, BTreeMap<i64, u64>> = BTreeMap::new();
    for line in lines {
        let row: Value = serde_json::from_str(line).unwrap();
        let day = row["time_first"].as_i64().unwrap() / DAY * DAY;
        *days
            .entry(row["rrname"].as_str().unwrap().to_string())
            .or_default()
            .entry(day)
            .or_default() += row["count"].as_u64().unwrap();
    }
    days
}

fn ingest(db: &Path, files: &[&Path]) {
    let mut args = vec!["ingest", "--db", db.to_str().unwrap()];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    let (status, _, stderr) = dnsledger(&args);
    assert_eq!(status, 0, "{stderr}");
}

fn write_lines(path: &Path, lines: &[String]) {
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

fn dump_with_activity(db: &Path) -> String {
    let (status, stdout, stderr) = dnsledger(&["dump", "--activity", "--db", db.to_str().unwrap()]);
    assert_eq!(status, 0, "{stderr}");
    stdout
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A store of `days` days of the schedule, ingested in order, and the lines it came from.
fn store_of_days(name: &str, days: i64) -> (std::path::PathBuf, Vec<String>) {
    let dir = scratch_dir(name);
    let lines = cof_lines(days);
    let file = dir.join("all.jsonl");
    write_lines(&file, &lines);
    let db = dir.join("db");
    ingest(&db, &[&file]);
    (db, lines)
}

#[test]
fn histograms_are_identical_whatever_the_order_and_split_of_the_input() {
    let (whole, lines) = store_of_days("activity_order", 90);
    let reference = dump_with_activity(&whole);
    let dir = scratch_dir("activity_order_split");

    // Reversed, cut in three, each piece ingested by its own command, last piece first.
    let reversed: Vec<String> = lines.iter().rev().cloned().collect();
    let pieces: Vec<std::path::PathBuf> = reversed
        .chunks(reversed.len() / 3 + 1)
        .enumerate()
        .map(|(i, chunk)| {
            let piece = dir.join(format!("piece{i}.jsonl"));
            write_lines(&piece, chunk);
            piece
        })
        .collect();
    let split = dir.join("split");
    for piece in pieces.iter().rev() {
        ingest(&split, &[piece]);
    }
    assert_eq!(dump_with_activity(&split), reference);

    let expected = expected_days(&lines);
    let rows = json_lines(&reference);
    assert_eq!(rows.len(), 3);
    for row in rows {
        let name = row["rrname"].as_str().unwrap();
        let activity = &row["activity"];
        assert_eq!(activity["bucket_seconds"], DAY, "90 days fit daily buckets");
        let buckets: BTreeMap<i64, u64> = activity["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|pair| (pair[0].as_i64().unwrap(), pair[1].as_u64().unwrap()))
            .collect();
        assert_eq!(buckets, expected[name], "{name}");
        assert_eq!(
            buckets.values().sum::<u64>(),
            row["count"].as_u64().unwrap()
        );
    }
}

#[test]
fn a_year_of_activity_keeps_a_bounded_histogram_of_aligned_buckets() {
    let (db, _) = store_of_days("activity_year", 400);
    for row in json_lines(&dump_with_activity(&db)) {
        let width = row["activity"]["bucket_seconds"].as_i64().unwrap();
        assert_eq!(
            width,
            4 * DAY,
            "400 days need 4-day buckets to stay within 128"
        );
        let buckets = row["activity"]["buckets"].as_array().unwrap();
        assert!(buckets.len() <= 128, "{} buckets", buckets.len());
        assert!(buckets.iter().all(|b| b[0].as_i64().unwrap() % width == 0));
    }
}

#[test]
fn query_g_gives_one_row_per_day_behind_each_aggregate() {
    let (db, lines) = store_of_days("activity_periods", 90);
    let expected = expected_days(&lines);
    let query = |extra: &[&str]| {
        let mut args = vec!["query", "--db", db.to_str().unwrap(), "-j", "-l", "0"];
        args.extend_from_slice(extra);
        let (status, stdout, stderr) = dnsledger(&args);
        assert_eq!(status, 0, "{stderr}");
        json_lines(&stdout)
    };
    let periods = query(&["-g", "-r", "a.example.com"]);
    let days: BTreeMap<i64, u64> = periods
        .iter()
        .map(|row| {
            let first = row["time_first"].as_i64().unwrap();
            let last = row["time_last"].as_i64().unwrap();
            assert_eq!(
                first / DAY,
                last / DAY,
                "a period lies within one day: {row}"
            );
            (first / DAY * DAY, row["count"].as_u64().unwrap())
        })
        .collect();
    assert_eq!(days, expected["a.example.com."]);
    assert_eq!(days.len(), periods.len(), "one row per day");

    // The fences apply to the periods: the first ten days only.
    let tenth = (START + 10 * DAY).to_string();
    let early = query(&["-g", "-r", "a.example.com", "-B", &tenth, "-c"]);
    let early_days: Vec<i64> = expected["a.example.com."]
        .keys()
        .copied()
        .filter(|day| *day + DAY <= START + 10 * DAY)
        .collect();
    assert_eq!(early.len(), early_days.len(), "{early:?}");

    // Aggregated, the same lookup is one row, and --activity shows the histogram.
    let aggregate = query(&["-r", "a.example.com", "--activity"]);
    assert_eq!(aggregate.len(), 1);
    assert_eq!(
        aggregate[0]["activity"]["buckets"]
            .as_array()
            .unwrap()
            .len(),
        days.len()
    );
    assert!(query(&["-r", "a.example.com"])[0].get("activity").is_none());
}

#[test]
fn the_api_takes_aggr_false_and_activity() {
    let (db, lines) = store_of_days("activity_api", 90);
    let expected = expected_days(&lines);
    let key = add_key(&db, "analyst", &["--scope", "query"]);
    let server = TestServer::start(&db, &[]);
    let lookup = |params: &str| {
        let url = format!(
            "{}/dnsdb/v2/lookup/rrset/name/b.example.com?{params}",
            server.url
        );
        let (status, body) = http_get(&url, Some(&key));
        assert_eq!(status, 200, "{body}");
        json_lines(&body)
            .into_iter()
            .filter_map(|line| line.get("obj").cloned())
            .collect::<Vec<Value>>()
    };
    let periods = lookup("aggr=f");
    assert_eq!(periods.len(), expected["b.example.com."].len());
    let limited = lookup("aggr=false&limit=3&offset=2");
    assert_eq!(limited, periods[2..5], "limit and offset count periods");
    let plain = lookup("");
    assert_eq!(plain.len(), 1);
    assert!(plain[0].get("activity").is_none(), "off by default");
    let with_activity = lookup("activity=t");
    let total: u64 = with_activity[0]["activity"]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| pair[1].as_u64().unwrap())
        .sum();
    assert_eq!(total, plain[0]["count"].as_u64().unwrap());
}

/// One COF line on day `day` (counted from START).
fn line(name: &str, rrtype: &str, bailiwick: &str, rdata: &str, day: i64) -> String {
    let at = START + day * DAY + 600;
    format!(
        r#"{{"count":1,"time_first":{at},"time_last":{at},"rrname":"{name}","rrtype":"{rrtype}","bailiwick":"{bailiwick}","rdata":["{rdata}"]}}"#
    )
}

#[test]
fn statistics_count_new_names_and_the_ipv6_and_dnssec_shares_per_day() {
    let dir = scratch_dir("activity_stats");
    let lines = [
        line("a.example.com.", "A", "example.com.", "192.0.2.1", 0),
        line("b.example.com.", "AAAA", "example.com.", "2001:db8::1", 0),
        line("example.com.", "NS", "com.", "ns1.example.com.", 0),
        line("a.example.com.", "AAAA", "example.com.", "2001:db8::2", 1),
        line("c.example.org.", "A", "example.org.", "192.0.2.3", 1),
        line("example.org.", "NS", "org.", "ns1.example.org.", 1),
        line(
            "example.org.",
            "DS",
            "org.",
            "60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118",
            1,
        ),
        line("a.example.com.", "A", "example.com.", "192.0.2.1", 2),
    ];
    let file = dir.join("stats.jsonl");
    write_lines(&file, &lines);
    let db = dir.join("db");
    ingest(&db, &[&file]);

    let (status, stdout, stderr) = dnsledger(&[
        "stats",
        "--history",
        "--days",
        "30",
        "--db",
        db.to_str().unwrap(),
    ]);
    assert_eq!(status, 0, "{stderr}");
    let offline: Value = serde_json::from_str(&stdout).unwrap();
    let days = offline["days"].as_array().unwrap();
    let fields = |d: &Value| {
        [
            "new_names",
            "new_domains",
            "names_with_a",
            "names_with_aaaa",
            "delegations",
            "signed_delegations",
        ]
        .map(|f| d[f].as_u64().unwrap())
    };
    assert_eq!(days.len(), 3, "{offline}");
    assert_eq!(days[0]["day"], "2024-01-01");
    assert_eq!(fields(&days[0]), [3, 1, 1, 1, 1, 0]);
    assert_eq!(fields(&days[1]), [2, 1, 1, 1, 1, 1]);
    assert_eq!(fields(&days[2]), [0, 0, 1, 0, 0, 0]);
    assert_eq!(days[1]["ipv6_share"], 0.5);
    assert_eq!(days[1]["dnssec_share"], 1.0);
    assert_eq!(days[0]["dnssec_share"], 0.0);
    let tlds: Vec<(&str, u64)> = offline["tlds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["tld"].as_str().unwrap(), t["new_names"].as_u64().unwrap()))
        .collect();
    assert_eq!(tlds, [("com", 3), ("org", 2)]);

    let key = add_key(&db, "analyst", &["--scope", "query"]);
    let server = TestServer::start(&db, &[]);
    let url = format!("{}/api/v1/stats/history?days=30", server.url);
    let (status, body) = http_get(&url, Some(&key));
    assert_eq!(status, 200, "{body}");
    let served: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(served, offline, "the API and the command line agree");
    let (status, body) = http_get(
        &format!("{}/api/v1/stats/history?days=0", server.url),
        Some(&key),
    );
    assert_eq!(status, 400, "{body}");
    let (status, _) = http_get(&url, None);
    assert_eq!(status, 403, "a key is needed");
}
