//! Edits of a label: the distance between two labels, which typing mistake turns one into
//! the other, and the tables both the matcher and the generator use.

use crate::technique::{Technique, Techniques};

/// QWERTY neighbours of each key (the table dnstwist uses), so a slipped finger is
/// recognised the same way it is generated.
const QWERTY: [(char, &str); 36] = [
    ('1', "2q"),
    ('2', "3wq1"),
    ('3', "4ew2"),
    ('4', "5re3"),
    ('5', "6tr4"),
    ('6', "7yt5"),
    ('7', "8uy6"),
    ('8', "9iu7"),
    ('9', "0oi8"),
    ('0', "po9"),
    ('q', "12wa"),
    ('w', "3esaq2"),
    ('e', "4rdsw3"),
    ('r', "5tfde4"),
    ('t', "6ygfr5"),
    ('y', "7uhgt6"),
    ('u', "8ijhy7"),
    ('i', "9okju8"),
    ('o', "0plki9"),
    ('p', "lo0"),
    ('a', "qwsz"),
    ('s', "edxzaw"),
    ('d', "rfcxse"),
    ('f', "tgvcdr"),
    ('g', "yhbvft"),
    ('h', "ujnbgy"),
    ('j', "ikmnhu"),
    ('k', "olmji"),
    ('l', "kop"),
    ('z', "asx"),
    ('x', "zsdc"),
    ('c', "xdfv"),
    ('v', "cfgb"),
    ('b', "vghn"),
    ('n', "bhjm"),
    ('m', "njk"),
];

pub(crate) const VOWELS: &str = "aeiou";

/// The keys next to `c` on a QWERTY keyboard (empty for anything else).
pub(crate) fn keyboard_neighbours(c: char) -> &'static str {
    QWERTY
        .iter()
        .find(|(key, _)| *key == c)
        .map_or("", |(_, near)| near)
}

fn are_keyboard_neighbours(a: char, b: char) -> bool {
    keyboard_neighbours(a).contains(b) || keyboard_neighbours(b).contains(a)
}

fn is_vowel(c: char) -> bool {
    VOWELS.contains(c)
}

/// Characters allowed in a host-name label (lower case).
pub(crate) fn is_host_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
}

/// The host-name characters one flipped bit away from `c`. Flipping the case bit is left
/// out: DNS names are case-insensitive, so it yields the same name.
pub(crate) fn bit_flips(c: char) -> impl Iterator<Item = char> {
    let byte = u8::try_from(c).ok().filter(u8::is_ascii);
    (0..8).filter_map(move |bit| {
        let flipped = char::from(byte? ^ (1 << bit));
        (is_host_char(flipped) && !flipped.eq_ignore_ascii_case(&c)).then_some(flipped)
    })
}

fn is_bit_flip(a: char, b: char) -> bool {
    a.is_ascii() && b.is_ascii() && (a as u32 ^ b as u32).count_ones() == 1
}

/// Longest label [`distance`] compares: a DNS label is at most 63 octets, so 63
/// characters, and a candidate is compared only within 2 of the protected length.
const MAX_COMPARED: usize = 66;

/// The restricted Damerau-Levenshtein (optimal string alignment) distance between `a` and
/// `b`, or `None` when it is above `max` (or a label is longer than any DNS label). It
/// runs for every checked name and look-alike rule, so the rows live on the stack and the
/// length test skips most pairs.
pub(crate) fn distance(a: &[char], b: &[char], max: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > max || a.len() > MAX_COMPARED || b.len() > MAX_COMPARED {
        return None;
    }
    let width = b.len() + 1;
    let mut rows = [[0u8; MAX_COMPARED + 1]; 3];
    for (j, cell) in rows[1].iter_mut().enumerate().take(width) {
        *cell = j as u8;
    }
    for i in 1..=a.len() {
        let [before, previous, current] = &mut rows;
        current[0] = i as u8;
        let mut row_min = current[0];
        for j in 1..width {
            let cost = u8::from(a[i - 1] != b[j - 1]);
            let mut best = (previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(before[j - 2] + 1);
            }
            current[j] = best;
            row_min = row_min.min(best);
        }
        if usize::from(row_min) > max {
            return None;
        }
        rows.rotate_left(1);
    }
    Some(usize::from(rows[1][b.len()])).filter(|d| *d <= max)
}

/// Which typing mistakes turn `protected` into `candidate` in one edit. Several can apply
/// (`giogle` for `google` is both a vowel swap and a keyboard slip); empty when the two are
/// not one edit apart or the edit is none of the named mistakes.
pub(crate) fn single_edit(candidate: &[char], protected: &[char]) -> Techniques {
    let mut found = Techniques::default();
    if candidate.len() + 1 == protected.len() {
        if removal_positions(protected, candidate).next().is_some() {
            found.insert(Technique::Omission);
        }
    } else if candidate.len() == protected.len() + 1 {
        for i in removal_positions(candidate, protected) {
            found.extend(insertion_kind(candidate, i));
        }
    } else if candidate.len() == protected.len() {
        found.extend(same_length_edit(candidate, protected));
    }
    found
}

/// Every position of `longer` whose removal gives `shorter` (one longer by one).
fn removal_positions<'a>(
    longer: &'a [char],
    shorter: &'a [char],
) -> impl Iterator<Item = usize> + 'a {
    let fits = longer.len() == shorter.len() + 1;
    let prefix = longer
        .iter()
        .zip(shorter)
        .take_while(|(a, b)| a == b)
        .count();
    (0..=prefix.min(shorter.len()))
        .filter(move |_| fits)
        .filter(move |&i| longer[i + 1..] == shorter[i..])
}

/// What inserting `candidate[i]` was.
fn insertion_kind(candidate: &[char], i: usize) -> Techniques {
    let c = candidate[i];
    let before = i.checked_sub(1).map(|j| candidate[j]);
    let after = candidate.get(i + 1).copied();
    let mut found = Techniques::default();
    if c == '-' {
        found.insert(Technique::Hyphenation);
    }
    if before == Some(c) || after == Some(c) {
        found.insert(Technique::Repetition);
    }
    if [before, after]
        .into_iter()
        .flatten()
        .any(|next| are_keyboard_neighbours(c, next))
    {
        found.insert(Technique::Insertion);
    }
    found
}

/// A substitution or an adjacent transposition between two labels of the same length.
fn same_length_edit(candidate: &[char], protected: &[char]) -> Techniques {
    let mut differ = (0..candidate.len()).filter(|&i| candidate[i] != protected[i]);
    let mut found = Techniques::default();
    match (differ.next(), differ.next(), differ.next()) {
        (Some(i), None, None) => {
            let (was, now) = (protected[i], candidate[i]);
            if are_keyboard_neighbours(was, now) {
                found.insert(Technique::Replacement);
            }
            if is_vowel(was) && is_vowel(now) {
                found.insert(Technique::VowelSwap);
            }
            if is_bit_flip(was, now) {
                found.insert(Technique::Bitsquatting);
            }
        }
        (Some(i), Some(j), None)
            if j == i + 1 && candidate[i] == protected[j] && candidate[j] == protected[i] =>
        {
            found.insert(Technique::Transposition);
        }
        _ => {}
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    fn dist(a: &str, b: &str, max: usize) -> Option<usize> {
        distance(&chars(a), &chars(b), max)
    }

    fn edit(candidate: &str, protected: &str) -> String {
        single_edit(&chars(candidate), &chars(protected)).to_string()
    }

    #[test]
    fn distance_counts_transpositions_as_one_edit() {
        assert_eq!(dist("paypal", "paypal", 2), Some(0));
        assert_eq!(dist("paypla", "paypal", 2), Some(1));
        assert_eq!(dist("pypal", "paypal", 2), Some(1));
        assert_eq!(dist("paypall", "paypal", 2), Some(1));
        assert_eq!(dist("kitten", "sitting", 3), Some(3));
        assert_eq!(dist("kitten", "sitting", 2), None);
        assert_eq!(dist("a", "abcd", 2), None);
        assert_eq!(dist("", "ab", 2), Some(2));
        let long = "a".repeat(200);
        assert_eq!(dist(&long, &long, 2), None);
    }

    #[test]
    fn each_typing_mistake_is_named() {
        assert_eq!(edit("gogle", "google"), "omission");
        assert_eq!(edit("googgle", "google"), "repetition");
        assert_eq!(edit("goolge", "google"), "transposition");
        assert_eq!(edit("goohle", "google"), "replacement");
        assert_eq!(edit("googhle", "google"), "insertion");
        assert_eq!(edit("gaogle", "google"), "vowel-swap");
        assert_eq!(edit("goo-gle", "google"), "hyphenation");
        assert_eq!(edit("googme", "google"), "bitsquatting");
        assert_eq!(edit("giogle", "google"), "replacement+vowel-swap");
    }

    #[test]
    fn edits_that_are_no_named_mistake_give_nothing() {
        assert_eq!(edit("goozle", "google"), "");
        assert_eq!(edit("google", "google"), "");
        assert_eq!(edit("elgoog", "google"), "");
        assert_eq!(edit("gxxgle", "google"), "");
    }

    #[test]
    fn bit_flips_stay_host_characters_and_skip_the_case_bit() {
        let flips: Vec<char> = bit_flips('a').collect();
        assert!(flips.contains(&'c') && flips.contains(&'e') && flips.contains(&'q'));
        assert!(!flips.contains(&'A'));
        assert!(flips.iter().all(|c| is_host_char(*c)));
        assert!(bit_flips('é').next().is_none());
    }
}
