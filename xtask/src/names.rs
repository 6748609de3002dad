//! Names of the synthetic namespace: registrable words and child names.

use dnsledger_wire::NameBuf;

use crate::rng::Rng;

/// Consonant-vowel syllables: 16 x 4 = 64, so a syllable carries 6 bits of an index.
const CONSONANTS: &[u8; 16] = b"bcdfghklmnprstvz";
const VOWELS: &[u8; 4] = b"aeio";
const SYLLABLE_BITS: u32 = 6;
/// Syllables spelling the index: a fixed width, so that the index part of every word has
/// the same length and no decorated word can spell another index.
const INDEX_SYLLABLES: u32 = 3;
/// How many distinct words [`word`] can make.
pub const MAX_WORDS: u32 = 1 << (SYLLABLE_BITS * INDEX_SYLLABLES);

/// A pronounceable label unique to `index` (below [`MAX_WORDS`]): its last three syllables
/// spell the index in base 64, preceded by zero to two decorative syllables chosen by
/// `flavour`, so that names vary in length as real ones do.
pub fn word(index: u32, flavour: u64) -> String {
    assert!(index < MAX_WORDS, "word index {index} out of range");
    let prefix = (flavour % 3) as u32;
    let mut out = String::with_capacity(2 * (INDEX_SYLLABLES + prefix) as usize);
    for k in 0..prefix {
        push_syllable(&mut out, (flavour >> (8 + SYLLABLE_BITS * k)) as u32);
    }
    for k in (0..INDEX_SYLLABLES).rev() {
        push_syllable(&mut out, index >> (SYLLABLE_BITS * k));
    }
    out
}

fn push_syllable(out: &mut String, bits: u32) {
    out.push(char::from(CONSONANTS[(bits >> 2) as usize & 15]));
    out.push(char::from(VOWELS[bits as usize & 3]));
}

/// `label.parent`. Labels here are generated (letters, digits, `-`, `_`, at most 63).
pub fn child(label: &str, parent: &NameBuf) -> NameBuf {
    let mut wire = Vec::with_capacity(1 + label.len() + parent.as_wire().len());
    wire.push(label.len() as u8);
    wire.extend_from_slice(label.as_bytes());
    wire.extend_from_slice(parent.as_wire());
    NameBuf::from_wire(&wire).expect("generated labels form a valid name")
}

/// A name from presentation text written in this crate.
pub fn name(text: &str) -> NameBuf {
    NameBuf::from_text(text).expect("names written in the generator are valid")
}

/// A random label as typos, probes and malware produce them: the NXDOMAIN long tail.
pub fn random_label(rng: &mut Rng) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let len = rng.between(5, 14) as usize;
    (0..len).map(|_| char::from(*rng.pick(ALPHABET))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn words_are_unique_per_index_whatever_the_flavour() {
        let words: HashSet<String> = (0..70_000u32)
            .map(|i| word(i, u64::from(i).wrapping_mul(0x9e37_79b9_7f4a_7c15)))
            .collect();
        assert_eq!(words.len(), 70_000);
    }

    #[test]
    fn child_prepends_a_label() {
        assert_eq!(
            child("www", &name("example.com.")).to_text(),
            "www.example.com."
        );
    }
}
