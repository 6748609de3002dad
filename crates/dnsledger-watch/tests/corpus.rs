//! Corpus tier: the false-positive rate of a 20-brand look-alike watchlist on real names.
//! Every owner name of the testbed's expected RRsets, and every question and record owner
//! name in the public captures, is checked; none of them imitates a brand on purpose, so
//! every hit is counted as a false positive and printed. Needs `DNSLEDGER_CORPUS` (see
//! `scripts/test --corpus`); fails when it is missing.

mod brands;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use brands::{brand_watchlist, BRANDS};
use dnsledger_capture::testutil::decode_path;
use dnsledger_capture::DecoderConfig;
use dnsledger_watch::Watchlist;
use dnsledger_wire::Message;

/// The rate stays below this; docs/watchlists.md reports the measured one.
const MAX_FALSE_POSITIVE_RATE: f64 = 0.01;

fn corpus_dir() -> PathBuf {
    let dir = std::env::var_os("DNSLEDGER_CORPUS")
        .map(PathBuf::from)
        .expect("DNSLEDGER_CORPUS must name the shared corpus (run: scripts/test --corpus DIR)");
    assert!(
        dir.join("testbed/expected").is_dir(),
        "{} has no testbed/expected",
        dir.display()
    );
    assert!(
        dir.join("public").is_dir(),
        "{} has no public/",
        dir.display()
    );
    dir
}

fn testbed_owner_names(dir: &Path) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for entry in std::fs::read_dir(dir.join("testbed/expected")).unwrap() {
        let path = entry.unwrap().path();
        if !path.to_string_lossy().ends_with(".rrsets.jsonl") {
            continue;
        }
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            let row: serde_json::Value = serde_json::from_str(line).unwrap();
            let name = row["rrname"].as_str();
            names.insert(
                name.unwrap_or_else(|| panic!("{}: {line}", path.display()))
                    .into(),
            );
        }
    }
    names
}

fn captures(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            captures(&path, out);
        } else if path
            .extension()
            .is_some_and(|e| e == "pcap" || e == "pcapng")
        {
            out.push(path);
        }
    }
}

/// Question and record owner names of every DNS message in the public captures (files
/// the decoder cannot read are part of the corpus on purpose and give what they give).
fn public_names(dir: &Path) -> BTreeSet<String> {
    let mut files = Vec::new();
    captures(&dir.join("public"), &mut files);
    assert!(files.len() > 100, "only {} captures", files.len());
    let mut names = BTreeSet::new();
    for file in files {
        for payload in decode_path(&file, DecoderConfig::default()).payloads {
            let Ok(message) = Message::parse(&payload.data) else {
                continue;
            };
            if let Some(question) = message.question() {
                names.insert(question.qname.to_name_buf().to_text());
            }
            for record in message.records().flatten() {
                names.insert(record.owner.to_name_buf().to_text());
            }
        }
    }
    names
}

fn false_positives(watchlist: &Watchlist, names: &BTreeSet<String>) -> Vec<String> {
    names
        .iter()
        .filter_map(|name| {
            let hits = watchlist.check(name);
            let reasons: Vec<String> = hits
                .iter()
                .map(|hit| format!("{} {}", BRANDS[hit.rule as usize], hit.reason))
                .collect();
            (!hits.is_empty()).then(|| format!("{name}: {}", reasons.join(", ")))
        })
        .collect()
}

fn report(corpus: &str, names: &BTreeSet<String>, hits: &[String]) -> f64 {
    let rate = hits.len() as f64 / names.len() as f64;
    println!(
        "{corpus}: {} of {} distinct names hit ({:.3}%)",
        hits.len(),
        names.len(),
        rate * 100.0
    );
    for hit in hits {
        println!("  {hit}");
    }
    rate
}

#[test]
fn brand_lookalikes_rarely_hit_real_names() {
    let dir = corpus_dir();
    let watchlist = brand_watchlist();
    let testbed = testbed_owner_names(&dir);
    assert!(testbed.len() > 300, "only {} testbed names", testbed.len());
    let public = public_names(&dir);
    assert!(public.len() > 1000, "only {} public names", public.len());
    let testbed_rate = report("testbed", &testbed, &false_positives(&watchlist, &testbed));
    let public_rate = report("public", &public, &false_positives(&watchlist, &public));
    assert!(
        testbed_rate <= MAX_FALSE_POSITIVE_RATE,
        "testbed: {testbed_rate}"
    );
    assert!(
        public_rate <= MAX_FALSE_POSITIVE_RATE,
        "public: {public_rate}"
    );
}
