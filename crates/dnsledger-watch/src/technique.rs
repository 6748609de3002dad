//! The ways a name can imitate a protected domain, and sets of them.

use std::fmt;

/// One way a name imitates a protected domain. `docs/watchlists.md` describes each, with
/// its thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Technique {
    /// The registered label is within the Damerau-Levenshtein threshold of the protected one.
    EditDistance,
    /// An ASCII label that reads as the protected one: look-alike characters (`rn` for
    /// `m`, `0` for `o`, `1` for `l`, `vv` for `w`, `cl` for `d`), or a protected IDN
    /// without its accents (`munchen` for `münchen`).
    Homoglyph,
    /// An internationalized label (`xn--`) that reads as the protected one (its UTS #39
    /// confusable skeleton, accents dropped, is the protected label's).
    IdnHomoglyph,
    /// One character left out.
    Omission,
    /// One character doubled.
    Repetition,
    /// Two adjacent characters swapped.
    Transposition,
    /// One character replaced by a neighbour on a QWERTY keyboard.
    Replacement,
    /// A keyboard neighbour of a character inserted next to it.
    Insertion,
    /// One vowel replaced by another.
    VowelSwap,
    /// A hyphen inserted between two characters.
    Hyphenation,
    /// One character with one bit flipped, still a valid host-name character.
    Bitsquatting,
    /// The protected label (or an imitation of it) under another public suffix.
    TldSwap,
    /// The protected label with words like `login` or `secure` before or after it.
    AddedWord,
    /// The protected name as labels under another registered domain.
    Embedded,
}

impl Technique {
    /// Every technique, in the order they are reported.
    pub const ALL: [Technique; 14] = [
        Technique::EditDistance,
        Technique::Homoglyph,
        Technique::IdnHomoglyph,
        Technique::Omission,
        Technique::Repetition,
        Technique::Transposition,
        Technique::Replacement,
        Technique::Insertion,
        Technique::VowelSwap,
        Technique::Hyphenation,
        Technique::Bitsquatting,
        Technique::TldSwap,
        Technique::AddedWord,
        Technique::Embedded,
    ];

    /// The stable kebab-case name used in output and the hit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Technique::EditDistance => "edit-distance",
            Technique::Homoglyph => "homoglyph",
            Technique::IdnHomoglyph => "idn-homoglyph",
            Technique::Omission => "omission",
            Technique::Repetition => "repetition",
            Technique::Transposition => "transposition",
            Technique::Replacement => "replacement",
            Technique::Insertion => "insertion",
            Technique::VowelSwap => "vowel-swap",
            Technique::Hyphenation => "hyphenation",
            Technique::Bitsquatting => "bitsquatting",
            Technique::TldSwap => "tld-swap",
            Technique::AddedWord => "added-word",
            Technique::Embedded => "embedded",
        }
    }

    fn bit(self) -> u16 {
        1 << self as u16
    }
}

impl fmt::Display for Technique {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of [`Technique`]s: everything that explains one look-alike hit.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Techniques(u16);

impl Techniques {
    /// Whether the set holds nothing.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether the set holds `technique`.
    pub fn contains(self, technique: Technique) -> bool {
        self.0 & technique.bit() != 0
    }

    /// Adds `technique`.
    pub fn insert(&mut self, technique: Technique) {
        self.0 |= technique.bit();
    }

    /// Adds every technique of `other`.
    pub fn extend(&mut self, other: Techniques) {
        self.0 |= other.0;
    }

    /// The techniques held, in [`Technique::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Technique> {
        Technique::ALL
            .into_iter()
            .filter(move |t| self.contains(*t))
    }
}

impl From<Technique> for Techniques {
    fn from(technique: Technique) -> Self {
        Techniques(technique.bit())
    }
}

/// `omission+edit-distance`: the names joined by `+`.
impl fmt::Display for Techniques {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, technique) in self.iter().enumerate() {
            if i > 0 {
                f.write_str("+")?;
            }
            f.write_str(technique.as_str())?;
        }
        Ok(())
    }
}

impl fmt::Debug for Techniques {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Techniques({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_hold_what_was_inserted_and_print_in_order() {
        let mut set = Techniques::from(Technique::TldSwap);
        set.insert(Technique::Omission);
        assert!(set.contains(Technique::Omission));
        assert!(!set.contains(Technique::Homoglyph));
        assert_eq!(set.to_string(), "omission+tld-swap");
        assert!(Techniques::default().is_empty());
    }

    #[test]
    fn every_technique_has_its_own_bit() {
        let mut all = Techniques::default();
        for technique in Technique::ALL {
            assert!(!all.contains(technique), "{technique} shares a bit");
            all.insert(technique);
        }
        assert_eq!(all.iter().count(), Technique::ALL.len());
    }
}
