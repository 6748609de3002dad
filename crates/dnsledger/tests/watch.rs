//! Watchlists through the real binary: look-alike traffic ingested beside the testbed's
//! history, rules added, and `watch check` finding every look-alike and nothing else;
//! the hit log, removal, and the command's errors.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::server::{run as dnsledger, testbed_store};
use common::{fixture, read_gz_lines, scratch_dir};
use dnsledger_watch::{generate, Lookalike};
use serde_json::{json, Value};

const BRANDS: [&str; 3] = ["paypal.com", "google.com", "amazon.co.uk"];
const DS_DIGEST: &str =
    "64032 15 2 fc266abc084b0acbb00f9208337b84b5b88eaf1b5e3526d163529845829b06a0";

/// COF lines for `names`: an A RRset each; every third also a DS RRset (so the check
/// sees it in both scans), every seventh a DS RRset only (a DNSSEC-only owner).
fn cof_lines(names: &[String]) -> String {
    let mut lines = String::new();
    for (i, name) in names.iter().enumerate() {
        let mut rrsets = Vec::new();
        if i % 7 != 0 {
            rrsets.push(("A", "192.0.2.1"));
        }
        if i % 3 == 0 || i % 7 == 0 {
            rrsets.push(("DS", DS_DIGEST));
        }
        for (rrtype, rdata) in rrsets {
            let row = json!({
                "rrname": format!("{name}."), "rrtype": rrtype, "bailiwick": format!("{name}."),
                "rdata": [rdata], "count": 1, "time_first": 1_700_000_000 + i,
                "time_last": 1_700_000_100 + i,
            });
            lines.push_str(&format!("{row}\n"));
        }
    }
    lines
}

fn watch(db: &Path, args: &[&str]) -> (i32, String, String) {
    let db = db.to_str().unwrap();
    dnsledger(&[&["watch", "--db", db], args].concat())
}

/// Ingests `cof_lines(names)` into `db`; nothing may be rejected.
fn ingest_names(db: &Path, scratch: &str, names: &[String]) {
    let cof = scratch_dir(scratch).join("lookalikes.jsonl");
    std::fs::write(&cof, cof_lines(names)).unwrap();
    let args = [
        "ingest",
        "--db",
        db.to_str().unwrap(),
        cof.to_str().unwrap(),
    ];
    let (status, _, stderr) = dnsledger(&args);
    assert_eq!(status, 0, "{stderr}");
    assert!(!stderr.contains("rejected"), "{stderr}");
}

fn json_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// (name, rule id) -> hit object.
fn by_name_and_rule(hits: &[Value]) -> BTreeMap<(String, u64), Value> {
    let mut map = BTreeMap::new();
    for hit in hits {
        let key = (
            hit["name"].as_str().unwrap().to_owned(),
            hit["rule"].as_u64().unwrap(),
        );
        assert!(map.insert(key, hit.clone()).is_none(), "hit twice: {hit}");
    }
    map
}

fn testbed_names_under(suffix: &str) -> BTreeSet<String> {
    read_gz_lines(&fixture(
        "testbed/run3_attack.resolver_auth.rrsets.jsonl.gz",
    ))
    .iter()
    .map(|line| {
        serde_json::from_str::<Value>(line).unwrap()["rrname"]
            .as_str()
            .unwrap()
            .to_owned()
    })
    .filter(|name| name == suffix || name.ends_with(&format!(".{suffix}")))
    .collect()
}

#[test]
fn every_lookalike_in_the_history_hits_and_nothing_else_does() {
    let db = testbed_store("watch-history");
    let generated: Vec<(u64, Lookalike)> = (1..)
        .zip(BRANDS)
        .flat_map(|(rule, brand)| generate(brand).unwrap().into_iter().map(move |l| (rule, l)))
        .filter(|(_, l)| !BRANDS.contains(&l.name.as_str()))
        .collect();
    let names: BTreeSet<String> = generated.iter().map(|(_, l)| l.name.clone()).collect();
    ingest_names(
        &db,
        "watch-history-input",
        &names.iter().cloned().collect::<Vec<_>>(),
    );

    for (id, rule) in (1..).zip(BRANDS.map(|b| format!("lookalike:{b}")).iter().chain(&[
        "suffix:alpha-bank.com".to_owned(),
        "exact:www.oscar-secure.org.".to_owned(),
    ])) {
        let (status, stdout, stderr) = watch(&db, &["add", rule]);
        assert_eq!(status, 0, "{stderr}");
        assert_eq!(stdout, format!("{id}\t{}\n", rule.trim_end_matches('.')));
    }

    let (status, stdout, stderr) = watch(&db, &["check", "--json"]);
    assert_eq!(status, 0, "{stderr}");
    let hits = by_name_and_rule(&json_lines(&stdout));

    // Every generated look-alike hits its brand's rule with the technique that made it.
    for (rule, lookalike) in &generated {
        let hit = hits
            .get(&(format!("{}.", lookalike.name), *rule))
            .unwrap_or_else(|| panic!("{lookalike:?} did not hit rule {rule}"));
        let techniques: Vec<&str> = hit["techniques"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        assert!(techniques.contains(&lookalike.technique.as_str()), "{hit}");
    }
    // The look-alike rules hit nothing else: none of the testbed's real names.
    let lookalike_hits: BTreeSet<String> = hits
        .keys()
        .filter(|(_, rule)| *rule <= 3)
        .map(|(name, _)| name.trim_end_matches('.').to_owned())
        .collect();
    assert_eq!(lookalike_hits, names);
    // The name rules hit exactly the testbed names they name.
    let named = |rule: u64| -> BTreeSet<String> {
        hits.keys()
            .filter(|(_, r)| *r == rule)
            .map(|(name, _)| name.clone())
            .collect()
    };
    let alpha = testbed_names_under("alpha-bank.com.");
    assert!(alpha.len() > 5, "{alpha:?}");
    assert_eq!(named(4), alpha);
    assert_eq!(
        named(5),
        BTreeSet::from(["www.oscar-secure.org.".to_owned()])
    );
    assert!(stderr.contains(&format!("{} hits", hits.len())), "{stderr}");

    // The hit log holds the same hits, and a second check rewrites it identically.
    let (status, logged, _) = watch(&db, &["hits", "--json"]);
    assert_eq!(status, 0);
    assert_eq!(by_name_and_rule(&json_lines(&logged)), hits);
    assert_eq!(
        watch(&db, &["check", "--json"]).1.lines().count(),
        hits.len()
    );
    assert_eq!(watch(&db, &["hits", "--json"]).1, logged);
    let (_, of_rule_five, _) = watch(&db, &["hits", "--rule", "5"]);
    assert!(
        of_rule_five.starts_with("www.oscar-secure.org.\t5\texact:www.oscar-secure.org\texact\t"),
        "{of_rule_five}"
    );
}

#[test]
fn rules_are_added_once_listed_and_removed_for_good() {
    let db = testbed_store("watch-rules");
    assert_eq!(
        watch(&db, &["add", "suffix:Alpha-Bank.com."]).1,
        "1\tsuffix:alpha-bank.com\n"
    );
    assert_eq!(
        watch(&db, &["add", "suffix:alpha-bank.com"]).1,
        "1\tsuffix:alpha-bank.com\t(already watched)\n"
    );
    assert_eq!(
        watch(&db, &["add", "glob:*.hotel-sub.com"]).1,
        "2\tglob:*.hotel-sub.com\n"
    );
    assert_eq!(
        watch(&db, &["list"]).1,
        "1\tsuffix:alpha-bank.com\n2\tglob:*.hotel-sub.com\n"
    );

    assert_eq!(watch(&db, &["check"]).0, 0);
    let (status, stdout, _) = watch(&db, &["remove", "1"]);
    assert_eq!(
        (status, stdout.as_str()),
        (0, "1\tsuffix:alpha-bank.com\t(removed)\n")
    );
    assert_eq!(watch(&db, &["list"]).1, "2\tglob:*.hotel-sub.com\n");
    // A removed rule's id is never given again; its hits stay in the log, marked.
    assert_eq!(
        watch(&db, &["add", "regex:^mail\\."]).1,
        "3\tregex:^mail\\.\n"
    );
    let (_, log, _) = watch(&db, &["hits", "--rule", "1"]);
    assert!(
        !log.is_empty()
            && log
                .lines()
                .all(|l| l.contains("\tsuffix:alpha-bank.com (removed)\t")),
        "{log}"
    );
    let (_, stdout, _) = watch(&db, &["check"]);
    assert!(stdout.lines().all(|l| !l.contains("\t1\t")), "{stdout}");
    assert!(
        stdout.contains("mail.alpha-bank.com.\t3\tregex:^mail\\.\tregex\t"),
        "{stdout}"
    );
}

#[test]
fn bad_rules_and_ids_are_usage_errors() {
    let db = scratch_dir("watch-errors").join("db");
    let (status, _, stderr) = watch(&db, &["add", "lookalike:www.paypal.com"]);
    assert_eq!(status, 2);
    assert!(
        stderr.contains(
            "lookalike:www.paypal.com: protect a registered domain (its registered domain is \
             paypal.com)"
        ),
        "{stderr}"
    );
    let (status, _, stderr) = watch(&db, &["add", "regex:(unclosed"]);
    assert_eq!(status, 2);
    assert!(stderr.contains("regex:(unclosed"), "{stderr}");
    assert!(!db.exists(), "a refused rule created the store");
    let (status, _, stderr) = watch(&db, &["check"]);
    assert_eq!(status, 1);
    assert!(stderr.contains("there is none"), "{stderr}");
    assert_eq!(watch(&db, &["add", "exact:a.example"]).0, 0);
    let (status, _, stderr) = watch(&db, &["remove", "9"]);
    assert_eq!(status, 2);
    assert!(stderr.contains("no rule 9 in force"), "{stderr}");
    assert_eq!(watch(&db, &["remove", "1"]).0, 0);
    let (status, _, stderr) = watch(&db, &["check"]);
    assert_eq!(status, 2);
    assert!(stderr.contains("no rules to check"), "{stderr}");
    let missing = scratch_dir("watch-errors-missing").join("nothing");
    let (status, _, stderr) = watch(&missing, &["list"]);
    assert_eq!(status, 1);
    assert!(stderr.contains("opening the store"), "{stderr}");
}

/// The live side: the new-name feed with `watched`, from the store and from a server,
/// carries exactly the new look-alike names, each with the rule it hit.
#[test]
fn the_watched_feed_carries_each_new_lookalike_with_its_rule() {
    let db = testbed_store("watch-feed");
    for brand in BRANDS {
        let (status, _, stderr) = watch(&db, &["add", &format!("lookalike:{brand}")]);
        assert_eq!(status, 0, "{stderr}");
    }
    let generated: BTreeMap<String, u64> = (1..)
        .zip(BRANDS)
        .flat_map(|(rule, brand)| {
            generate(brand)
                .unwrap()
                .into_iter()
                .map(move |l| (l.name, rule))
        })
        .filter(|(name, _)| !BRANDS.contains(&name.as_str()))
        .collect();
    let names: Vec<String> = generated.keys().cloned().collect();
    ingest_names(&db, "watch-feed-input", &names);

    let hits_by_name = |objects: &[Value]| -> BTreeMap<String, u64> {
        objects
            .iter()
            .map(|object| {
                let name = object["name"]
                    .as_str()
                    .unwrap()
                    .trim_end_matches('.')
                    .to_owned();
                let hits = object["hits"].as_array().unwrap();
                assert_eq!(hits.len(), 1, "{object}");
                assert!(
                    hits[0]["reason"]
                        .as_str()
                        .unwrap()
                        .starts_with("lookalike/"),
                    "{object}"
                );
                (name, hits[0]["rule"].as_u64().unwrap())
            })
            .collect()
    };
    let (status, stdout, stderr) = watch(
        &db,
        &[
            "new",
            "--watched",
            "--kind",
            "name",
            "--no-follow",
            "--json",
        ],
    );
    assert_eq!(status, 0, "{stderr}");
    let local = json_lines(&stdout);
    assert_eq!(
        hits_by_name(&local),
        generated,
        "every new look-alike, and no testbed name"
    );

    let key = common::server::add_key(&db, "analyst", &["--scope", "query"]);
    let server = common::server::TestServer::start(&db, &[]);
    let url = format!(
        "{}/api/v1/stream/new?watched=true&kind=name&follow=false&format=ndjson",
        server.url
    );
    let (status, body) = common::server::http_get(&url, Some(&key));
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        json_lines(&body),
        local,
        "the server's feed is the command's"
    );
}
