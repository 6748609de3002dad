//! Look-alike detection: does a name imitate a protected registered domain, and how.
//!
//! Everything is compared on registered domains (Public Suffix List): the candidate's
//! registered label (`paypa1` in `login.paypa1.co.uk`) against the protected one (`paypal`
//! in `paypal.com`), and its public suffix against the protected suffix. The protected
//! domain itself and every name below it are never look-alikes.

use crate::edit;
use crate::fold::{fold, unicode_label};
use crate::name::is_at_or_below;
use crate::technique::{Technique, Techniques};

/// Shortest protected label the single-edit typo patterns apply to: below it, one edit
/// away is most of the namespace (`ebay` -> `eba`, `bay`, `ebby` are fine at 4; `hp`
/// -> `h`, `p`, `hq` are not).
pub(crate) const MIN_TYPO_LABEL: usize = 4;

/// Words phishing names add to a brand (`paypal-login`, `securepaypal`).
pub(crate) const ADDED_WORDS: [&str; 24] = [
    "login",
    "signin",
    "secure",
    "security",
    "account",
    "accounts",
    "verify",
    "verification",
    "support",
    "update",
    "online",
    "service",
    "services",
    "help",
    "billing",
    "payment",
    "auth",
    "wallet",
    "confirm",
    "my",
    "official",
    "portal",
    "web",
    "app",
];

/// The Damerau-Levenshtein threshold for a protected label of `len` characters: short
/// labels get none (one edit of a 4-letter word is usually another word), then one edit,
/// then two from 9 characters on.
pub(crate) fn max_distance(len: usize) -> usize {
    match len {
        0..=4 => 0,
        5..=8 => 1,
        _ => 2,
    }
}

/// A protected registered domain, prepared once per rule.
#[derive(Debug, Clone)]
pub(crate) struct Protected {
    /// Canonical name, e.g. `paypal.com`.
    name: String,
    /// The registered label, e.g. `paypal`.
    label: String,
    label_chars: Vec<char>,
    /// The public suffix, e.g. `com`.
    suffix: String,
    folded: String,
}

impl Protected {
    /// `name` must be canonical and its own registered domain (the rule parser checks).
    pub(crate) fn new(name: &str) -> Self {
        let (label, suffix) = name.split_once('.').unwrap_or((name, ""));
        let label = unicode_label(label).into_owned();
        Protected {
            name: name.to_owned(),
            label_chars: label.chars().collect(),
            folded: fold(&label),
            label,
            suffix: suffix.to_owned(),
        }
    }

    /// The techniques by which `candidate` imitates this domain (empty: it does not).
    pub(crate) fn techniques(&self, candidate: &Candidate<'_>) -> Techniques {
        let mut found = Techniques::default();
        if is_at_or_below(candidate.name, &self.name) {
            return found;
        }
        if self.is_embedded_in(candidate) {
            found.insert(Technique::Embedded);
        }
        if let Some(registered) = &candidate.registered {
            let by_label = self.label_techniques(registered);
            if !by_label.is_empty() && registered.suffix != self.suffix {
                found.insert(Technique::TldSwap);
            }
            found.extend(by_label);
        }
        found
    }

    /// How the candidate's registered label imitates the protected label. An identical
    /// label is an imitation too: under another suffix it is a TLD swap.
    fn label_techniques(&self, registered: &Registered<'_>) -> Techniques {
        let mut found = Techniques::default();
        if registered.label == self.label {
            found.insert(Technique::TldSwap);
            return found;
        }
        if registered.folded == self.folded {
            found.insert(if registered.is_ascii {
                Technique::Homoglyph
            } else {
                Technique::IdnHomoglyph
            });
        }
        let len = self.label_chars.len();
        let limit = max_distance(len).max(usize::from(len >= MIN_TYPO_LABEL));
        if let Some(distance) = edit::distance(&registered.chars, &self.label_chars, limit) {
            if distance <= max_distance(len) {
                found.insert(Technique::EditDistance);
            }
            if distance == 1 && len >= MIN_TYPO_LABEL {
                found.extend(edit::single_edit(&registered.chars, &self.label_chars));
            }
        }
        if self.has_added_words(&registered.label) {
            found.insert(Technique::AddedWord);
        }
        found
    }

    /// `paypal.com.evil.example`: the protected labels, in order, among the labels above
    /// the candidate's registered domain.
    fn is_embedded_in(&self, candidate: &Candidate<'_>) -> bool {
        let Some(above) = candidate
            .registered
            .as_ref()
            .and_then(|r| candidate.name.strip_suffix(r.domain))
            .and_then(|above| above.strip_suffix('.'))
        else {
            return false;
        };
        contains_labels(above, &self.name)
    }

    /// `paypal-login`, `securepaypal`, `my-paypal-account`: the protected label once, and
    /// around it only [`ADDED_WORDS`] and hyphens (at least one word).
    fn has_added_words(&self, label: &str) -> bool {
        label.match_indices(self.label.as_str()).any(|(start, _)| {
            let (before, after) = (&label[..start], &label[start + self.label.len()..]);
            let has_a_word = before.trim_matches('-').len() + after.trim_matches('-').len() > 0;
            has_a_word && is_words(before) && is_words(after)
        })
    }
}

/// Whether `dotted` has the labels of `name` as a contiguous run of whole labels.
fn contains_labels(dotted: &str, name: &str) -> bool {
    let bytes = dotted.as_bytes();
    bytes.len() >= name.len()
        && dotted.match_indices(name).any(|(start, _)| {
            let end = start + name.len();
            (start == 0 || bytes[start - 1] == b'.') && (end == bytes.len() || bytes[end] == b'.')
        })
}

/// Whether `text` is made only of [`ADDED_WORDS`] and hyphens (the empty text is).
fn is_words(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut reachable = vec![false; bytes.len() + 1];
    reachable[0] = true;
    for start in 0..bytes.len() {
        if !reachable[start] {
            continue;
        }
        if bytes[start] == b'-' {
            reachable[start + 1] = true;
        }
        for word in ADDED_WORDS {
            if text[start..].starts_with(word) {
                reachable[start + word.len()] = true;
            }
        }
    }
    reachable[bytes.len()]
}

/// A checked name, analysed once for every look-alike rule.
#[derive(Debug)]
pub(crate) struct Candidate<'a> {
    /// Canonical name.
    name: &'a str,
    registered: Option<Registered<'a>>,
}

/// The registered domain of a checked name, split and decoded.
#[derive(Debug)]
struct Registered<'a> {
    /// e.g. `xn--pypal-4ve.com`
    domain: &'a str,
    /// The label, Unicode (punycode decoded), e.g. `pаypal`.
    label: std::borrow::Cow<'a, str>,
    chars: Vec<char>,
    is_ascii: bool,
    folded: String,
    /// e.g. `com`
    suffix: &'a str,
}

impl<'a> Candidate<'a> {
    /// `name` must be canonical.
    pub(crate) fn new(name: &'a str) -> Self {
        let registered = dnsledger_psl::registered_domain(name).and_then(|domain| {
            let (label, suffix) = domain.split_once('.')?;
            let label = unicode_label(label);
            Some(Registered {
                domain,
                chars: label.chars().collect(),
                is_ascii: label.is_ascii(),
                folded: fold(&label),
                label,
                suffix,
            })
        });
        Candidate { name, registered }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn techniques(protected: &str, name: &str) -> String {
        Protected::new(protected)
            .techniques(&Candidate::new(name))
            .to_string()
    }

    #[test]
    fn the_protected_domain_and_its_subdomains_are_not_lookalikes() {
        assert_eq!(techniques("paypal.com", "paypal.com"), "");
        assert_eq!(techniques("paypal.com", "www.paypal.com"), "");
        assert_eq!(techniques("paypal.com", "a.b.paypal.com"), "");
    }

    #[test]
    fn unrelated_names_are_not_lookalikes() {
        for name in [
            "example.com",
            "www.alpha-bank.com",
            "pay.com",
            "palpay.com",
            "com",
        ] {
            assert_eq!(techniques("paypal.com", name), "", "{name}");
        }
    }

    #[test]
    fn each_technique_is_recognised() {
        let cases = [
            ("paypal.net", "tld-swap"),
            ("www.paypal.co.uk", "tld-swap"),
            ("paypa1.com", "edit-distance+homoglyph"),
            ("xn--pypal-4ve.com", "edit-distance+idn-homoglyph"),
            ("paypl.com", "edit-distance+omission"),
            ("paypal-login.com", "added-word"),
            ("securepaypal.com", "added-word"),
            ("my-paypal-account.com", "added-word"),
            ("paypal.com.evil.example", "embedded"),
            ("login.paypal.com.evil.example", "embedded"),
            ("paypal.com.au.evil.example", "embedded"),
            ("paypa1.net", "edit-distance+homoglyph+tld-swap"),
        ];
        for (name, expected) in cases {
            assert_eq!(techniques("paypal.com", name), expected, "{name}");
        }
    }

    #[test]
    fn the_examples_of_docs_watchlists_md_hit_with_their_technique() {
        let examples = [
            ("paypxl.com", Technique::EditDistance),
            ("paypa1.com", Technique::Homoglyph),
            ("xn--pypal-4ve.com", Technique::IdnHomoglyph),
            ("paypl.com", Technique::Omission),
            ("paypall.com", Technique::Repetition),
            ("papyal.com", Technique::Transposition),
            ("paypak.com", Technique::Replacement),
            ("paypaol.com", Technique::Insertion),
            ("paypel.com", Technique::VowelSwap),
            ("pay-pal.com", Technique::Hyphenation),
            ("paypcl.com", Technique::Bitsquatting),
            ("paypal.co.uk", Technique::TldSwap),
            ("paypa1.net", Technique::TldSwap),
            ("paypal-login.com", Technique::AddedWord),
            ("login.paypal.com.evil.example", Technique::Embedded),
        ];
        let protected = Protected::new("paypal.com");
        for (name, technique) in examples {
            let found = protected.techniques(&Candidate::new(name));
            assert!(found.contains(technique), "{name}: {found}");
        }
        assert_eq!(techniques("paypal.com", "paypxl.com"), "edit-distance");
        assert_eq!(techniques("paypal.com", "paypa1-login.com"), "");
        assert_eq!(techniques("paypal.com", "paypal.evil.example"), "");
    }

    #[test]
    fn embedding_is_label_wise() {
        assert_eq!(techniques("paypal.com", "notpaypal.com.evil.example"), "");
        assert_eq!(
            techniques("paypal.com", "paypal.community.evil.example"),
            ""
        );
    }

    #[test]
    fn thresholds_follow_the_label_length() {
        assert_eq!(techniques("ebay.com", "ebby.com"), "");
        assert_eq!(techniques("ebay.com", "eby.com"), "omission");
        assert_eq!(techniques("microsoft.com", "micrsft.com"), "edit-distance");
        assert_eq!(techniques("paypal.com", "pyapl.com"), "");
    }

    #[test]
    fn added_words_need_a_listed_word() {
        assert!(is_words(""));
        assert!(is_words("-login-secure"));
        assert!(is_words("securelogin"));
        assert!(!is_words("shop"));
        assert_eq!(techniques("paypal.com", "paypalshop.com"), "");
        assert_eq!(techniques("paypal.com", "paypal--.com"), "");
    }
}
