//! The compiled set of rules and the check of one name against all of them.

use std::collections::{HashMap, HashSet};
use std::fmt;

use regex::Regex;

use crate::lookalike::{Candidate, Protected};
use crate::name::canonical;
use crate::rule::{Compiled, Rule};
use crate::technique::Techniques;

/// Rules compiled for checking many names: exact and suffix rules are hash lookups (one per
/// label of the checked name), patterns and look-alikes are tried one by one, and the
/// checked name is analysed once for all look-alike rules.
#[derive(Debug, Default)]
pub struct Watchlist {
    exact: HashMap<String, Vec<u64>>,
    suffix: HashMap<String, Vec<u64>>,
    patterns: Vec<(u64, Reason, Regex)>,
    lookalikes: Vec<(u64, Protected)>,
    /// The domains of the look-alike rules: names at or below any of them are the
    /// owner's own (protecting `amazon.com` and `amazon.co.uk` makes neither a TLD swap
    /// of the other).
    protected: HashSet<String>,
}

/// One rule a name hit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// The id the rule was given to [`Watchlist::new`].
    pub rule: u64,
    /// Why it hit.
    pub reason: Reason,
}

/// Why a name hit a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The name is the rule's name.
    Exact,
    /// The name is the rule's name or below it.
    Suffix,
    /// The name matches the rule's glob.
    Glob,
    /// The rule's expression matches in the name.
    Regex,
    /// The techniques by which the name imitates the protected domain (never empty).
    Lookalike(Techniques),
}

/// `exact`, `suffix`, `glob`, `regex`, `lookalike/omission+edit-distance`.
impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Exact => f.write_str("exact"),
            Reason::Suffix => f.write_str("suffix"),
            Reason::Glob => f.write_str("glob"),
            Reason::Regex => f.write_str("regex"),
            Reason::Lookalike(techniques) => write!(f, "lookalike/{techniques}"),
        }
    }
}

impl Watchlist {
    /// Compiles `rules`, each under the caller's id (reported back in [`Hit::rule`]).
    pub fn new<'a>(rules: impl IntoIterator<Item = (u64, &'a Rule)>) -> Watchlist {
        let mut list = Watchlist::default();
        for (id, rule) in rules {
            list.add(id, rule);
        }
        list
    }

    fn add(&mut self, id: u64, rule: &Rule) {
        match rule.compiled() {
            Compiled::Exact => push(&mut self.exact, rule.value(), id),
            Compiled::Suffix => push(&mut self.suffix, rule.value(), id),
            Compiled::Glob(regex) => self.patterns.push((id, Reason::Glob, regex.clone())),
            Compiled::Regex(regex) => self.patterns.push((id, Reason::Regex, regex.clone())),
            Compiled::Lookalike(protected) => {
                self.protected.insert(rule.value().to_owned());
                self.lookalikes.push((id, (**protected).clone()));
            }
        }
    }

    /// Whether the list has no rule.
    pub fn is_empty(&self) -> bool {
        self.exact.is_empty()
            && self.suffix.is_empty()
            && self.patterns.is_empty()
            && self.lookalikes.is_empty()
    }

    /// The rules `name` hits (any case, with or without the trailing dot), in the order
    /// exact, suffix, patterns, look-alikes. A name at or below the domain of any
    /// look-alike rule hits no look-alike rule.
    pub fn check(&self, name: &str) -> Vec<Hit> {
        let name = canonical(name);
        let mut hits = Vec::new();
        let hit = |reason| move |&rule: &u64| Hit { rule, reason };
        if let Some(ids) = self.exact.get(name.as_ref()) {
            hits.extend(ids.iter().map(hit(Reason::Exact)));
        }
        for ancestor in ancestors(&name) {
            if let Some(ids) = self.suffix.get(ancestor) {
                hits.extend(ids.iter().map(hit(Reason::Suffix)));
            }
        }
        for (rule, reason, regex) in &self.patterns {
            if regex.is_match(&name) {
                hits.push(Hit {
                    rule: *rule,
                    reason: *reason,
                });
            }
        }
        let is_protected = || ancestors(&name).any(|a| self.protected.contains(a));
        if !self.lookalikes.is_empty() && !is_protected() {
            let candidate = Candidate::new(&name);
            for (rule, protected) in &self.lookalikes {
                let techniques = protected.techniques(&candidate);
                if !techniques.is_empty() {
                    hits.push(Hit {
                        rule: *rule,
                        reason: Reason::Lookalike(techniques),
                    });
                }
            }
        }
        hits
    }
}

fn push(map: &mut HashMap<String, Vec<u64>>, name: &str, id: u64) {
    map.entry(name.to_owned()).or_default().push(id);
}

/// `name` and every name above it, up to its last label (`a.b.c`, `b.c`, `c`).
fn ancestors(name: &str) -> impl Iterator<Item = &str> {
    let starts = name.match_indices('.').map(|(dot, _)| dot + 1);
    std::iter::once(0)
        .chain(starts)
        .map(move |start| &name[start..])
        .filter(|ancestor| !ancestor.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::technique::Technique;

    fn watchlist(rules: &[&str]) -> Watchlist {
        let rules: Vec<Rule> = rules.iter().map(|r| Rule::parse(r).unwrap()).collect();
        Watchlist::new(rules.iter().enumerate().map(|(i, r)| (i as u64, r)))
    }

    fn reasons(list: &Watchlist, name: &str) -> Vec<(u64, String)> {
        list.check(name)
            .into_iter()
            .map(|hit| (hit.rule, hit.reason.to_string()))
            .collect()
    }

    #[test]
    fn each_kind_hits_what_it_names() {
        let list = watchlist(&[
            "exact:www.example.com",
            "suffix:example.com",
            "glob:*.paypa?.*",
            "regex:^login\\.",
            "lookalike:paypal.com",
        ]);
        assert_eq!(
            reasons(&list, "WWW.example.com."),
            [(0, "exact".into()), (1, "suffix".into())]
        );
        assert_eq!(reasons(&list, "example.com"), [(1, "suffix".into())]);
        assert_eq!(reasons(&list, "anexample.com"), []);
        assert_eq!(
            reasons(&list, "login.paypal.com"),
            [(2, "glob".into()), (3, "regex".into())]
        );
        assert_eq!(
            reasons(&list, "www.paypa1.com"),
            [
                (2, "glob".into()),
                (4, "lookalike/edit-distance+homoglyph".into())
            ]
        );
        assert_eq!(reasons(&list, "www.paypal.com"), [(2, "glob".into())]);
        assert_eq!(reasons(&list, "unrelated.org"), []);
    }

    #[test]
    fn globs_do_not_let_question_marks_cross_labels() {
        let list = watchlist(&["glob:a?c.example"]);
        assert_eq!(reasons(&list, "abc.example").len(), 1);
        assert_eq!(reasons(&list, "a.c.example"), []);
    }

    #[test]
    fn several_rules_may_share_a_name() {
        let list = watchlist(&["suffix:example.com", "suffix:example.com"]);
        assert_eq!(list.check("a.example.com").len(), 2);
    }

    #[test]
    fn an_empty_list_hits_nothing() {
        let list = watchlist(&[]);
        assert!(list.is_empty());
        assert!(list.check("paypal.com").is_empty());
        assert!(list.check("").is_empty());
        assert!(list.check(".").is_empty());
    }

    #[test]
    fn lookalike_hits_carry_their_techniques() {
        let list = watchlist(&["lookalike:google.com"]);
        let hits = list.check("gooogle.com");
        let Reason::Lookalike(techniques) = hits[0].reason else {
            panic!("{hits:?}")
        };
        assert!(techniques.contains(Technique::Repetition));
    }

    #[test]
    fn protected_domains_are_never_lookalikes_of_each_other() {
        let list = watchlist(&["lookalike:amazon.com", "lookalike:amazon.co.uk"]);
        assert_eq!(reasons(&list, "www.amazon.co.uk"), []);
        assert_eq!(reasons(&list, "amazon.com"), []);
        assert_eq!(
            reasons(&list, "amazon.de"),
            [
                (0, "lookalike/tld-swap".into()),
                (1, "lookalike/tld-swap".into())
            ]
        );
    }

    #[test]
    fn hostile_names_are_checked_without_panic() {
        let list = watchlist(&[
            "lookalike:paypal.com",
            "lookalike:xn--mnchen-3ya.de",
            "suffix:example.com",
            "glob:*a*a*a*a*",
            "regex:^(a|aa)+$",
        ]);
        let pieces = [
            "a",
            "paypal",
            "xn--",
            "xn--pypal-4ve",
            "-",
            ".",
            "..",
            "\\000",
            "\u{430}",
            "\u{308}",
            "é",
            "𝔭",
            "\u{200d}",
            "0",
            "1",
            "rn",
            "com",
            "co.uk",
            "login",
            " ",
            "\u{0}",
        ];
        // A deterministic walk over concatenations of the pieces, with very long ones.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for round in 0..5_000 {
            let mut name = String::new();
            let parts = if round % 100 == 0 {
                2_000
            } else {
                1 + round % 40
            };
            for _ in 0..parts {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                name.push_str(pieces[(state % pieces.len() as u64) as usize]);
            }
            list.check(&name);
        }
        let long_label = format!("{}.com", "paypal".repeat(1_000));
        let hits = list.check(&long_label);
        assert_eq!(
            hits,
            [Hit {
                rule: 3,
                reason: Reason::Glob
            }]
        );
    }

    #[test]
    fn ancestors_walk_label_boundaries() {
        assert_eq!(
            ancestors("a.b.c").collect::<Vec<_>>(),
            ["a.b.c", "b.c", "c"]
        );
        assert_eq!(ancestors("").count(), 0);
    }
}
