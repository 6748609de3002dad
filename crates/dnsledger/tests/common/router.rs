//! The router's check: the same queries, every form and parameter, asked of a router and of
//! one store holding the whole history; answers compared byte for byte.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::server::{add_key, http_get, TestServer};

/// One shard line of a shards file.
pub struct ShardLine {
    pub name: &'static str,
    pub urls: Vec<String>,
    /// The key the router presents to it ([`router_key`]).
    pub key: String,
    /// The roots to trust for its `https://` addresses.
    pub ca_file: Option<PathBuf>,
}

impl ShardLine {
    /// A shard at one plain-HTTP address.
    pub fn at(name: &'static str, url: &str, key: &str) -> ShardLine {
        ShardLine {
            name,
            urls: vec![url.to_string()],
            key: key.to_string(),
            ca_file: None,
        }
    }
}

/// Writes a shards file for `shards` and returns its path.
pub fn shards_file(dir: &Path, shards: &[ShardLine]) -> PathBuf {
    let mut text = String::from("# the shards of a test deployment\n");
    for shard in shards {
        let key_file = format!("{}.key", shard.name);
        std::fs::write(dir.join(&key_file), &shard.key).unwrap();
        text.push_str(&format!("key-file {key_file}\n"));
        if let Some(ca) = &shard.ca_file {
            text.push_str(&format!("ca-file {}\n", ca.display()));
        }
        text.push_str(&format!("shard {} {}\n", shard.name, shard.urls.join(" ")));
    }
    let path = dir.join("shards.conf");
    std::fs::write(&path, text).unwrap();
    path
}

/// A key for the router in a shard's store. Made before the shard starts: a running server
/// takes up a new key only when it next reloads its key file.
pub fn router_key(shard_db: &Path) -> String {
    add_key(shard_db, "router", &[])
}

/// Query paths covering every query form and the parameters that change an answer, with
/// names and addresses taken from `dump` (a store's COF rows, `dnsledger dump`).
pub fn every_query_form(dump: &str) -> Vec<String> {
    let rows: Vec<Value> = dump
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let find = |rrtype: &str| {
        rows.iter()
            .filter(|row| row["rrtype"] == rrtype)
            .max_by_key(|row| row["count"].as_u64())
            .unwrap_or_else(|| panic!("no {rrtype} row to query"))
    };
    let a = find("A");
    let owner = a["rrname"].as_str().unwrap().to_string();
    let bailiwick = a["bailiwick"].as_str().unwrap().to_string();
    let address = a["rdata"][0].as_str().unwrap().to_string();
    let ipv6 = find("AAAA")["rdata"][0].as_str().unwrap().to_string();
    let name_server = find("NS")["rdata"][0].as_str().unwrap().to_string();
    let zone = bailiwick.trim_end_matches('.').to_string();
    let first_label = owner.split('.').next().unwrap().to_string();
    let time = a["time_first"].as_i64().unwrap();
    let octets: Vec<u8> = address.split('.').map(|o| o.parse().unwrap()).collect();
    let address_hex: String = octets.iter().map(|o| format!("{o:02x}")).collect();
    let owner_hex: String = owner
        .trim_end_matches('.')
        .split('.')
        .flat_map(|label| {
            std::iter::once(format!("{:02x}", label.len()))
                .chain(label.bytes().map(|b| format!("{b:02x}")))
        })
        .chain(std::iter::once("00".to_string()))
        .collect();
    let v2 = "/dnsdb/v2/lookup";
    let mut paths = vec![
        format!("{v2}/rrset/name/{owner}"),
        format!("{v2}/rrset/name/{owner}/A"),
        format!("{v2}/rrset/name/{owner}/A/{bailiwick}"),
        format!("{v2}/rrset/raw/{owner_hex}"),
        format!("{v2}/rrset/name/{first_label}.*"),
        format!("{v2}/rrset/name/*.{zone}/ANY-DNSSEC"),
        format!("{v2}/rdata/name/{name_server}"),
        format!("{v2}/rdata/name/*.{zone}"),
        format!("{v2}/rdata/name/{first_label}.*"),
        format!("{v2}/rdata/ip/{address}"),
        format!("{v2}/rdata/ip/{}.{}.0.0,16", octets[0], octets[1]),
        format!(
            "{v2}/rdata/ip/{}.0.0.0-{}.255.255.255",
            octets[0], octets[0]
        ),
        format!("{v2}/rdata/ip/{ipv6},32"),
        format!("{v2}/rdata/raw/{address_hex}/A"),
        format!("/dnsdb/v2/summarize/rrset/name/*.{zone}"),
        format!("/dnsdb/v2/summarize/rdata/ip/{address},8?max_count=3"),
        "/dnsdb/v2/regex/rrnames/^[a-m].*/A".to_string(),
        "/dnsdb/v2/glob/rdata/*.net.?limit=5&offset=2".to_string(),
        format!("/lookup/rrset/name/{owner}"),
        "/lookup/rrset/name/nothing.invalid".to_string(),
        format!("/pdns/query/{owner}"),
        format!("/pdns/query/{address}"),
        format!("/api/v1/zone/{zone}"),
        "/api/v1/stats/history?days=3660&tlds=100".to_string(),
        "/dnsdb/v2/lookup/rrset/name/www.*.com".to_string(),
    ];
    // The parameters on the widest lookups: offsets and limits cut the merged order.
    for wide in [
        format!("{v2}/rrset/name/*.{}", top_level(&zone)),
        format!("{v2}/rdata/ip/0.0.0.0-255.255.255.255"),
    ] {
        for query in [
            "",
            "?limit=7",
            "?limit=5&offset=3",
            "?offset=40&limit=0",
            "?aggr=false&limit=50",
            "?activity=true&limit=20",
            "?humantime=true&limit=3",
        ] {
            paths.push(format!("{wide}{query}"));
        }
        paths.push(format!(
            "{wide}?time_first_after={time}&time_last_before={}",
            time + 86_400
        ));
    }
    paths
}

fn top_level(zone: &str) -> &str {
    zone.rsplit('.').next().unwrap_or(zone)
}

/// Asks `router` and `single` each path, with their keys, and asserts equal status and body.
pub fn assert_same_answers(
    router: (&TestServer, &str),
    single: (&TestServer, &str),
    paths: &[String],
) {
    let mut non_empty = 0;
    for path in paths {
        let (status, body) = http_get(&format!("{}{path}", single.0.url), Some(single.1));
        let routed = http_get(&format!("{}{path}", router.0.url), Some(router.1));
        assert_eq!(routed, (status, body.clone()), "{path}");
        non_empty += usize::from(status == 200 && body.lines().count() > 2);
    }
    assert!(
        non_empty * 4 >= paths.len() * 3,
        "only {non_empty} of {} answers carry rows",
        paths.len()
    );
}
