//! The check of issue 8: a watchlist of protected names against generated look-alike
//! traffic. Every generated look-alike hits its brand's rule with the technique that made
//! it; unrelated names hit nothing; and the matcher is fast enough for every observed name.

mod brands;

use std::time::{Duration, Instant};

use brands::{brand_watchlist, BRANDS};
use dnsledger_watch::{generate, Hit, Reason, Rule, Technique, Watchlist};

/// Real, unrelated names (well-known sites, infrastructure, the testbed's zones) and the
/// brands' own subdomains, which are never look-alikes of them.
const UNRELATED: [&str; 60] = [
    "wikipedia.org",
    "en.wikipedia.org",
    "example.com",
    "www.iana.org",
    "ietf.org",
    "rust-lang.org",
    "crates.io",
    "deb.debian.org",
    "kernel.org",
    "mozilla.org",
    "cloudflare.com",
    "a248.e.akamai.net",
    "bbc.co.uk",
    "nytimes.com",
    "theguardian.com",
    "reddit.com",
    "stackoverflow.com",
    "youtube.com",
    "wordpress.org",
    "gitlab.com",
    "bitbucket.org",
    "spotify.com",
    "zoom.us",
    "slack.com",
    "adobe.com",
    "oracle.com",
    "ibm.com",
    "samsung.com",
    "sony.co.jp",
    "baidu.com",
    "yandex.ru",
    "a.root-servers.net",
    "b.gtld-servers.net",
    "1.0.0.127.in-addr.arpa",
    "_dmarc.alpha-bank.com",
    "www.alpha-bank.com",
    "login.target-one.com",
    "mail.charlie-mail.com",
    "static.edge.bravo-cdn.com",
    "cart.echo-shop.com",
    "booking.hotel-sub.com",
    "v6only.india-ipv6.com",
    "b38tqujpbufh0j9b2j2lvpu1suk8h3ke.oscar-secure.org",
    "sel1._domainkey.charlie-mail.com",
    "www.paypal.com",
    "paypal.com",
    "mail.google.com",
    "accounts.google.com",
    "login.microsoftonline.com.evil.example",
    "outlook.office365.com",
    "signin.ebay.com",
    "www.amazon.co.uk",
    "s3.amazonaws.com",
    "fbcdn.net",
    "cdninstagram.com",
    "licdn.com",
    "twimg.com",
    "githubusercontent.com",
    "dropboxusercontent.com",
    "secure.chase.com",
];

/// Whether one of `hits` is of rule `rule` and names `technique`.
fn hits_with(hits: &[Hit], rule: u64, technique: Technique) -> bool {
    hits.iter().any(|hit| {
        hit.rule == rule
            && matches!(hit.reason, Reason::Lookalike(found) if found.contains(technique))
    })
}

#[test]
fn every_generated_lookalike_hits_with_its_technique() {
    let watchlist = brand_watchlist();
    let mut checked = 0;
    let mut misses = Vec::new();
    for (rule, brand) in (0..).zip(BRANDS) {
        for lookalike in generate(brand).unwrap() {
            checked += 1;
            // `amazon.co.uk` is a TLD swap of `amazon.com`, but both are protected: the
            // owner's own domains are never look-alikes.
            if BRANDS.contains(&lookalike.name.as_str()) {
                assert!(watchlist.check(&lookalike.name).is_empty(), "{lookalike:?}");
                continue;
            }
            if !hits_with(&watchlist.check(&lookalike.name), rule, lookalike.technique) {
                misses.push(format!(
                    "{} ({} of {brand})",
                    lookalike.name, lookalike.technique
                ));
            }
        }
    }
    assert!(checked > 5_000, "only {checked} look-alikes generated");
    assert!(
        misses.is_empty(),
        "{} of {checked} missed: {misses:#?}",
        misses.len()
    );
    println!(
        "{checked} generated look-alikes of {} brands, all hit",
        BRANDS.len()
    );
}

#[test]
fn lookalikes_of_an_internationalized_domain_hit_too() {
    // münchen.de: the edits apply to the Unicode label, written back as `xn--`.
    let rule = Rule::parse("lookalike:xn--mnchen-3ya.de").unwrap();
    let watchlist = Watchlist::new([(7, &rule)]);
    let generated = generate("xn--mnchen-3ya.de").unwrap();
    assert!(
        generated.iter().any(|l| l.name == "xn--mnchn-kva.de"),
        "omission of e"
    );
    assert!(
        generated.iter().any(|l| l.name == "munchen.de"),
        "the accent dropped"
    );
    for lookalike in generated {
        assert!(
            hits_with(&watchlist.check(&lookalike.name), 7, lookalike.technique),
            "{lookalike:?}"
        );
    }
}

#[test]
fn every_technique_is_generated_and_hit_for_a_long_brand() {
    let watchlist = brand_watchlist();
    let generated = generate("paypal.com").unwrap();
    for technique in Technique::ALL {
        let name = &generated
            .iter()
            .find(|l| l.technique == technique)
            .unwrap_or_else(|| panic!("no {technique}"))
            .name;
        assert!(hits_with(&watchlist.check(name), 0, technique), "{name}");
    }
}

#[test]
fn unrelated_names_hit_nothing() {
    let watchlist = brand_watchlist();
    let hits: Vec<_> = UNRELATED
        .iter()
        .map(|name| (name, watchlist.check(name)))
        .filter(|(_, hits)| !hits.is_empty())
        .collect();
    assert!(hits.is_empty(), "{hits:#?}");
}

#[test]
fn matching_keeps_up_with_every_observed_name() {
    let mut rules: Vec<Rule> = BRANDS
        .iter()
        .map(|brand| Rule::parse(&format!("lookalike:{brand}")).unwrap())
        .collect();
    for text in [
        "exact:www.example.com",
        "suffix:example.net",
        "glob:*.paypa?.*",
        "regex:^login\\.",
    ] {
        rules.push(Rule::parse(text).unwrap());
    }
    let watchlist = Watchlist::new((0..).zip(&rules));
    let mut names: Vec<String> = UNRELATED.iter().map(|n| format!("{n}.")).collect();
    names.extend(
        generate("paypal.com")
            .unwrap()
            .into_iter()
            .map(|l| l.name)
            .take(60),
    );
    let started = Instant::now();
    let mut checked = 0u64;
    let mut hits = 0usize;
    while started.elapsed() < Duration::from_secs(2) {
        for name in &names {
            hits += watchlist.check(name).len();
        }
        checked += names.len() as u64;
    }
    let rate = checked as f64 / started.elapsed().as_secs_f64();
    println!(
        "{checked} names against {} rules: {rate:.0} names/s ({} build)",
        rules.len(),
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    assert!(hits > 0);
    // Far below the release rate (see docs/watchlists.md), so an unoptimised build on a
    // busy machine passes, and a quadratic slip still fails.
    assert!(rate > 5_000.0, "{rate:.0} names/s");
}
