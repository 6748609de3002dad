//! The router (`serve --shards`): two shards each holding part of the observations of the
//! same RRsets (two captures of overlapping traffic, ingested apart) answer through the
//! router exactly as one store that ingested both, for every query form and parameter: the
//! router merges rows at the same position the way the store merges. A shard served over
//! HTTPS (a private CA) and listed behind a dead address first fails over to its replica; a shard that is down ends answers with
//! `failed` and its name; row caps and quotas are the router's keys'.

mod common;

use std::path::Path;

use common::router::{assert_same_answers, every_query_form, router_key, shards_file, ShardLine};
use common::server::{add_key, http_get, https_get, metric_value as metric, run, TestServer};
use common::{fixture, scratch_dir, test_certificates};

fn ingest(db: &Path, captures: &[&str]) {
    let mut args = vec![
        "ingest".to_string(),
        "--db".into(),
        db.to_str().unwrap().into(),
        "--root-hints".into(),
        fixture("testbed/root.hints"),
    ];
    args.extend(captures.iter().map(|c| fixture(c)));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (status, _, stderr) = run(&args);
    assert_eq!(status, 0, "ingest failed: {stderr}");
}

#[test]
fn a_router_over_two_shards_answers_every_query_form_as_one_store_holding_both() {
    let dir = scratch_dir("router");
    let captures = [
        "testbed/run3_attack.resolver_auth.pcap.gz",
        "testbed/run1_qmin_on.resolver.dnstap.gz",
    ];
    let single_db = dir.join("single");
    ingest(&single_db, &captures);
    let shard_dbs = [dir.join("shard0"), dir.join("shard1")];
    ingest(&shard_dbs[0], &captures[..1]);
    ingest(&shard_dbs[1], &captures[1..]);

    let router_db = dir.join("router");
    let single_key = add_key(&single_db, "analyst", &[]);
    let analyst_key = add_key(&router_db, "analyst", &[]);
    let limits = ["--results-max", "3", "--daily", "2"];
    let single_capped = add_key(&single_db, "capped", &limits);
    let router_capped = add_key(&router_db, "capped", &limits);
    let shard_keys = shard_dbs.each_ref().map(|db| router_key(db));
    let single = TestServer::start(&single_db, &[]);
    let shard0 = TestServer::start(&shard_dbs[0], &[]);
    // Shard 1 serves HTTPS with a certificate of a private CA.
    let (ca, cert, tls_key) = test_certificates(&dir);
    let shard1 = TestServer::start(
        &shard_dbs[1],
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            tls_key.to_str().unwrap(),
        ],
    );
    assert!(shard1.url.starts_with("https://"), "{}", shard1.url);
    // Nothing listens on port 1: the router fails over to shard 1's second address.
    let file = shards_file(
        &dir,
        &[
            ShardLine::at("s0", &shard0.url, &shard_keys[0]),
            ShardLine {
                name: "s1",
                urls: vec!["https://127.0.0.1:1".into(), shard1.url.clone()],
                key: shard_keys[1].clone(),
                ca_file: Some(ca.clone()),
            },
        ],
    );
    let router = TestServer::start(&router_db, &["--shards", file.to_str().unwrap()]);

    let (status, dump, stderr) = run(&["dump", "--db", single_db.to_str().unwrap()]);
    assert_eq!(status, 0, "{stderr}");
    let paths = every_query_form(&dump);
    assert!(paths.len() >= 40, "{}", paths.len());
    assert_same_answers((&router, &analyst_key), (&single, &single_key), &paths);
    assert!(metric(&router, "dnsledger_router_shard_s1_failovers_total") >= paths.len() as u64);
    assert!(metric(&router, "dnsledger_router_shard_s0_rows_total") > 100);
    assert_eq!(
        metric(&router, "dnsledger_router_shard_s0_failures_total"),
        0
    );

    // Row caps and quotas are the router's own keys': the same as on one store.
    let wide = &paths[paths.len() - 1];
    for _ in 0..3 {
        let expected = http_get(&format!("{}{wide}", single.url), Some(&single_capped));
        let routed = http_get(&format!("{}{wide}", router.url), Some(&router_capped));
        assert_eq!(
            routed.0, expected.0,
            "{wide}: {} / {}",
            routed.1, expected.1
        );
        if expected.0 == 200 {
            assert_eq!(routed.1, expected.1);
        }
    }
    let (status, _) = http_get(&format!("{}{wide}", router.url), Some(&router_capped));
    assert_eq!(status, 429);

    // A router has no rows and no new-name feed of its own.
    for (path, expected) in [
        ("/internal/v1/rows/all/rrsets", 404),
        ("/api/v1/stream/new", 501),
    ] {
        let (status, body) = http_get(&format!("{}{path}", router.url), Some(&analyst_key));
        assert_eq!(status, expected, "{path}: {body}");
    }
    // Its sizes are its shards' sums.
    let estimated_rrset_keys = |(status, body): (u16, String)| {
        assert_eq!(status, 200, "{body}");
        let stats: serde_json::Value = serde_json::from_str(&body).unwrap();
        stats["column_families"]["rrset"]["estimated_keys"]
            .as_u64()
            .unwrap()
    };
    let stats = |server: &TestServer| format!("{}/api/v1/stats", server.url);
    let shards_sum = estimated_rrset_keys(http_get(&stats(&shard0), Some(&shard_keys[0])))
        + estimated_rrset_keys(https_get(&stats(&shard1), Some(&shard_keys[1]), &ca));
    assert!(shards_sum > 0);
    assert_eq!(
        estimated_rrset_keys(http_get(&stats(&router), Some(&analyst_key))),
        shards_sum
    );

    // A shard down: the answer says which, instead of passing half the history off as whole.
    drop(shard0);
    let (status, body) = http_get(&format!("{}{}", router.url, paths[0]), Some(&analyst_key));
    assert_eq!(status, 200, "{body}");
    let last = body.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("{\"cond\":\"failed\",\"msg\":\"shard s0: "),
        "{body}"
    );
    assert!(metric(&router, "dnsledger_router_shard_s0_failures_total") >= 1);
}
