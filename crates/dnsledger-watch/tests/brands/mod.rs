//! The protected brands both test binaries watch: well-known phishing targets, with short
//! (`ebay`), long (`bankofamerica`) and multi-label-suffix (`amazon.co.uk`) names.

use dnsledger_watch::{Rule, Watchlist};

pub const BRANDS: [&str; 20] = [
    "paypal.com",
    "google.com",
    "microsoft.com",
    "apple.com",
    "amazon.com",
    "amazon.co.uk",
    "facebook.com",
    "instagram.com",
    "netflix.com",
    "linkedin.com",
    "twitter.com",
    "ebay.com",
    "dropbox.com",
    "github.com",
    "yahoo.com",
    "outlook.com",
    "chase.com",
    "wellsfargo.com",
    "bankofamerica.com",
    "coinbase.com",
];

/// A watchlist of one look-alike rule per brand; rule ids are indexes into [`BRANDS`].
pub fn brand_watchlist() -> Watchlist {
    let rules: Vec<Rule> = BRANDS
        .iter()
        .map(|brand| Rule::parse(&format!("lookalike:{brand}")).unwrap())
        .collect();
    Watchlist::new((0..).zip(&rules))
}
