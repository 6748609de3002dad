//! The inverse of a look-alike rule: the names an attacker would register to imitate a
//! protected domain (what dnstwist does), each with the technique that made it. The tests
//! check that every one of them hits the rule with that technique.

use std::collections::HashSet;

use crate::edit::{bit_flips, is_host_char, keyboard_neighbours, VOWELS};
use crate::fold::{ascii_lookalikes, fold, unicode_label};
use crate::lookalike::{max_distance, ADDED_WORDS, MIN_TYPO_LABEL};
use crate::name::MAX_LABEL_LEN;
use crate::rule::{Rule, RuleError, RuleKind};
use crate::technique::Technique;

/// Other public suffixes for TLD swaps (ICANN suffixes only, so each gives a registered
/// domain of its own).
const SWAP_SUFFIXES: [&str; 12] = [
    "com", "net", "org", "info", "co", "io", "xyz", "co.uk", "de", "com.br", "ru", "online",
];

/// Registered domains an embedding is put under (`paypal.com.evil-example.net`).
const EMBEDDING_DOMAINS: [&str; 2] = ["evil-example.net", "account-check.info"];

/// Unicode letters whose UTS #39 skeleton is an ASCII letter: Cyrillic and Greek
/// look-alikes, and accented forms (their accent decomposes and is dropped by the fold).
const UNICODE_LOOKALIKES: [(char, &[char]); 14] = [
    ('a', &['\u{430}', '\u{e0}', '\u{e4}']),
    ('c', &['\u{441}']),
    ('d', &['\u{501}']),
    ('e', &['\u{435}', '\u{e9}']),
    ('h', &['\u{4bb}']),
    ('i', &['\u{456}', '\u{ed}']),
    ('j', &['\u{458}']),
    ('n', &['\u{578}']),
    ('o', &['\u{43e}', '\u{3bf}', '\u{f6}']),
    ('p', &['\u{440}']),
    ('s', &['\u{455}']),
    ('u', &['\u{fc}']),
    ('x', &['\u{445}']),
    ('y', &['\u{443}']),
];

/// One generated look-alike.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Lookalike {
    /// The name, in canonical ASCII form (IDN labels as `xn--`).
    pub name: String,
    /// The technique that produced it.
    pub technique: Technique,
}

/// Every look-alike of `protected` (a registered domain, as in `lookalike:DOMAIN`) that the
/// look-alike rule is meant to catch, without duplicates. Typo patterns are generated
/// only for labels of at least 4 characters, generic edits only within the label's edit
/// distance threshold, as the matcher applies them.
pub fn generate(protected: &str) -> Result<Vec<Lookalike>, RuleError> {
    let rule = Rule::parse(&format!("{}:{protected}", RuleKind::Lookalike))?;
    let name = rule.value();
    let (ascii_label, suffix) = name.split_once('.').unwrap_or((name, ""));
    // Edits apply to what a reader sees: the Unicode form of an `xn--` label.
    let label = unicode_label(ascii_label);
    let chars: Vec<char> = label.chars().collect();
    let mut out = Generated {
        suffix,
        protected: name,
        seen: HashSet::new(),
        list: Vec::new(),
    };
    if chars.len() >= MIN_TYPO_LABEL {
        typos(&chars, &mut out);
    }
    edits(&chars, &mut out);
    homoglyphs(&chars, &mut out);
    for swapped in SWAP_SUFFIXES.into_iter().filter(|s| *s != suffix) {
        let name = format!("{ascii_label}.{swapped}");
        // `github.io` is itself a public suffix: nobody registers it as a domain.
        if dnsledger_psl::registered_domain(&name) == Some(name.as_str()) {
            out.push_name(name, Technique::TldSwap);
        }
    }
    for word in ADDED_WORDS {
        for added in [
            format!("{label}-{word}"),
            format!("{label}{word}"),
            format!("{word}-{label}"),
            format!("{word}{label}"),
        ] {
            out.push_label(&added.chars().collect::<Vec<_>>(), Technique::AddedWord);
        }
    }
    for domain in EMBEDDING_DOMAINS {
        out.push_name(format!("{name}.{domain}"), Technique::Embedded);
        out.push_name(format!("login.{name}.{domain}"), Technique::Embedded);
    }
    Ok(out.list)
}

/// The single typing mistakes.
fn typos(chars: &[char], out: &mut Generated<'_>) {
    for i in 0..chars.len() {
        out.push_label(&removed(chars, i), Technique::Omission);
        out.push_label(&inserted(chars, i, chars[i]), Technique::Repetition);
        if i + 1 < chars.len() && chars[i] != chars[i + 1] {
            let mut swapped = chars.to_vec();
            swapped.swap(i, i + 1);
            out.push_label(&swapped, Technique::Transposition);
        }
        for near in keyboard_neighbours(chars[i]).chars() {
            out.push_label(&replaced(chars, i, near), Technique::Replacement);
            out.push_label(&inserted(chars, i, near), Technique::Insertion);
            out.push_label(&inserted(chars, i + 1, near), Technique::Insertion);
        }
        if VOWELS.contains(chars[i]) {
            for vowel in VOWELS.chars().filter(|v| *v != chars[i]) {
                out.push_label(&replaced(chars, i, vowel), Technique::VowelSwap);
            }
        }
        if i > 0 {
            out.push_label(&inserted(chars, i, '-'), Technique::Hyphenation);
        }
        for flipped in bit_flips(chars[i]) {
            out.push_label(&replaced(chars, i, flipped), Technique::Bitsquatting);
        }
    }
}

/// Arbitrary edits within the distance threshold: one substitution by a letter no typo
/// pattern explains, and two for long labels.
fn edits(chars: &[char], out: &mut Generated<'_>) {
    let allowed = max_distance(chars.len());
    for i in 0..chars.len() {
        let unexplained = if chars[i] == 'z' { 'j' } else { 'z' };
        let once = replaced(chars, i, unexplained);
        if allowed >= 1 {
            out.push_label(&once, Technique::EditDistance);
        }
        if allowed >= 2 && i + 3 < chars.len() {
            out.push_label(&removed(&once, i + 3), Technique::EditDistance);
        }
    }
}

/// ASCII look-alikes (each occurrence alone, then all at once) and Unicode confusables
/// (each one alone, then the first of each letter everywhere), the latter as `xn--`.
fn homoglyphs(chars: &[char], out: &mut Generated<'_>) {
    let label: String = chars.iter().collect();
    // In an internationalized label, ASCII substitutions still give an IDN.
    let ascii_technique = if label.is_ascii() {
        Technique::Homoglyph
    } else {
        Technique::IdnHomoglyph
    };
    for (letter, lookalike) in ascii_lookalikes() {
        for (at, _) in label.match_indices(letter) {
            let replaced = format!("{}{lookalike}{}", &label[..at], &label[at + letter.len()..]);
            out.push_label(&replaced.chars().collect::<Vec<_>>(), ascii_technique);
        }
        let everywhere = label.replace(letter, lookalike);
        out.push_label(&everywhere.chars().collect::<Vec<_>>(), ascii_technique);
    }
    // An internationalized label read in plain ASCII (`münchen` as `munchen`).
    let folded = fold(&label);
    if folded.is_ascii() && folded != label {
        out.push_label(&folded.chars().collect::<Vec<_>>(), Technique::Homoglyph);
    }
    let mut whole = chars.to_vec();
    for (i, c) in chars.iter().enumerate() {
        let Some((_, lookalikes)) = UNICODE_LOOKALIKES.iter().find(|(letter, _)| letter == c)
        else {
            continue;
        };
        for lookalike in lookalikes.iter() {
            out.push_label(&replaced(chars, i, *lookalike), Technique::IdnHomoglyph);
        }
        whole[i] = lookalikes[0];
    }
    out.push_label(&whole, Technique::IdnHomoglyph);
}

fn removed(chars: &[char], i: usize) -> Vec<char> {
    let mut out = chars.to_vec();
    out.remove(i);
    out
}

fn inserted(chars: &[char], i: usize, c: char) -> Vec<char> {
    let mut out = chars.to_vec();
    out.insert(i, c);
    out
}

fn replaced(chars: &[char], i: usize, c: char) -> Vec<char> {
    let mut out = chars.to_vec();
    out[i] = c;
    out
}

/// The list being built: only valid names, each (name, technique) once, never the
/// protected name itself.
struct Generated<'a> {
    suffix: &'a str,
    protected: &'a str,
    seen: HashSet<(String, Technique)>,
    list: Vec<Lookalike>,
}

impl Generated<'_> {
    fn push_label(&mut self, label: &[char], technique: Technique) {
        if let Some(label) = host_label(label) {
            self.push_name(format!("{label}.{}", self.suffix), technique);
        }
    }

    fn push_name(&mut self, name: String, technique: Technique) {
        if name != self.protected && self.seen.insert((name.clone(), technique)) {
            self.list.push(Lookalike { name, technique });
        }
    }
}

/// `chars` as a label a registry would accept: letters, digits and inner hyphens (no
/// `--` in positions 3-4, reserved for `xn--`), or an IDN label in its `xn--` form.
fn host_label(chars: &[char]) -> Option<String> {
    let label = if chars.iter().all(char::is_ascii) {
        let label: String = chars.iter().collect();
        let valid = chars.iter().all(|c| is_host_char(*c))
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.get(2..4) != Some("--");
        valid.then_some(label)?
    } else {
        format!("xn--{}", idna::punycode::encode(chars)?)
    };
    (!label.is_empty() && label.len() <= MAX_LABEL_LEN).then_some(label)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(protected: &str, technique: Technique) -> Vec<String> {
        generate(protected)
            .unwrap()
            .into_iter()
            .filter(|l| l.technique == technique)
            .map(|l| l.name)
            .collect()
    }

    #[test]
    fn every_technique_produces_names() {
        let generated = generate("paypal.com").unwrap();
        for technique in Technique::ALL {
            assert!(
                generated.iter().any(|l| l.technique == technique),
                "no {technique} look-alike of paypal.com"
            );
        }
    }

    #[test]
    fn known_lookalikes_are_among_them() {
        assert!(names("paypal.com", Technique::Omission).contains(&"paypl.com".into()));
        assert!(names("paypal.com", Technique::Homoglyph).contains(&"paypa1.com".into()));
        assert!(names("paypal.com", Technique::IdnHomoglyph).contains(&"xn--pypal-4ve.com".into()));
        assert!(names("paypal.com", Technique::TldSwap).contains(&"paypal.co.uk".into()));
        assert!(names("google.com", Technique::Hyphenation).contains(&"goo-gle.com".into()));
        assert!(names("paypal.com", Technique::Embedded)
            .contains(&"paypal.com.evil-example.net".into()));
    }

    #[test]
    fn generated_labels_are_valid_and_never_the_protected_name() {
        for lookalike in generate("google.com").unwrap() {
            assert_ne!(lookalike.name, "google.com");
            for label in lookalike.name.split('.') {
                assert!(!label.is_empty() && label.len() <= 63, "{lookalike:?}");
                assert!(
                    !label.starts_with('-') && !label.ends_with('-'),
                    "{lookalike:?}"
                );
                assert!(
                    label.bytes().all(|b| is_host_char(b.into())),
                    "{lookalike:?}"
                );
            }
        }
    }

    #[test]
    fn short_labels_get_no_typos() {
        assert!(names("hp.com", Technique::Omission).is_empty());
        assert!(!names("hp.com", Technique::TldSwap).is_empty());
    }

    #[test]
    fn the_protected_name_must_be_a_registered_domain() {
        assert!(generate("www.paypal.com").is_err());
    }
}
