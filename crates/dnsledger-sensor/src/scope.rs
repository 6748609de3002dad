//! Scope: which names a sensor may record, by suffix lists (`--include-suffix`,
//! `--exclude-suffix`).
//!
//! A name is in scope when it is at or below an included suffix (if any is given) and not at
//! or below an excluded one, label-wise and case-insensitively (`example.com` encloses
//! `www.example.com` and `EXAMPLE.com`, not `badexample.com`). Lists may be large (block
//! lists, a customer's zones): a set is probed once per enclosing name of the name asked
//! about, so the cost follows the name's depth, never the list's length.

use dnsledger_wire::NameBuf;
use hashbrown::HashSet;

use crate::authority::suffixes;

/// A set of name suffixes, kept in canonical (lower-case, uncompressed) wire form.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SuffixSet {
    names: HashSet<Box<[u8]>>,
}

/// A suffix that is not a domain name.
#[derive(Debug, PartialEq, Eq)]
pub struct SuffixError {
    /// Its line in a list (1-based); 0 for a suffix given on its own.
    pub line: usize,
    pub text: String,
    pub reason: String,
}

impl std::fmt::Display for SuffixError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line > 0 {
            write!(f, "line {}: ", self.line)?;
        }
        write!(f, "{:?} is not a domain name: {}", self.text, self.reason)
    }
}

impl std::error::Error for SuffixError {}

impl SuffixSet {
    /// Adds a suffix.
    pub fn insert(&mut self, suffix: &NameBuf) {
        self.names.insert(suffix.as_wire().into());
    }

    /// Adds a suffix given as text (`example.com`, trailing dot optional, any case).
    pub fn insert_text(&mut self, text: &str) -> Result<(), SuffixError> {
        let name = NameBuf::from_text(text).map_err(|error| SuffixError {
            line: 0,
            text: text.to_string(),
            reason: error.to_string(),
        })?;
        self.insert(&name);
        Ok(())
    }

    /// Adds the suffixes of a list: one per line; `#` starts a comment; blank lines are
    /// skipped. A bad line is an error naming it (1-based).
    pub fn insert_list(&mut self, text: &str) -> Result<(), SuffixError> {
        for (index, line) in text.lines().enumerate() {
            let content = line.split('#').next().unwrap_or_default().trim();
            if content.is_empty() {
                continue;
            }
            self.insert_text(content).map_err(|error| SuffixError {
                line: index + 1,
                ..error
            })?;
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether `name` (canonical wire form, as the sensor holds qnames and owners) is at or
    /// below a suffix of the set.
    pub fn encloses(&self, name: &[u8]) -> bool {
        !self.names.is_empty() && suffixes(name).any(|suffix| self.names.contains(suffix))
    }
}

/// The names a sensor records. The default records everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scope {
    /// When not empty, only names at or below one of these are in scope.
    pub include: SuffixSet,
    /// Names at or below one of these are never in scope.
    pub exclude: SuffixSet,
}

impl Scope {
    /// Whether `name` (canonical wire form) is in scope.
    pub fn admits(&self, name: &[u8]) -> bool {
        (self.include.is_empty() || self.include.encloses(name)) && !self.exclude.encloses(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(text: &str) -> Vec<u8> {
        NameBuf::from_text(text).unwrap().as_wire().to_vec()
    }

    fn set(suffixes: &[&str]) -> SuffixSet {
        let mut set = SuffixSet::default();
        for suffix in suffixes {
            set.insert_text(suffix).unwrap();
        }
        set
    }

    #[test]
    fn a_suffix_encloses_itself_and_the_names_below_it_on_label_boundaries() {
        let set = set(&["example.com"]);
        for inside in ["example.com.", "www.example.com.", "a.b.example.com."] {
            assert!(set.encloses(&wire(inside)), "{inside}");
        }
        for outside in [
            "badexample.com.",
            "com.",
            ".",
            "example.net.",
            "example.com.evil.",
        ] {
            assert!(!set.encloses(&wire(outside)), "{outside}");
        }
    }

    #[test]
    fn case_and_the_trailing_dot_do_not_matter() {
        let set = set(&["Example.COM."]);
        assert!(set.encloses(&wire("www.EXAMPLE.com")));
        assert_eq!(set, self::set(&["example.com"]));
    }

    #[test]
    fn the_root_encloses_everything_and_an_empty_set_nothing() {
        assert!(set(&["."]).encloses(&wire("www.example.com.")));
        assert!(!SuffixSet::default().encloses(&wire("www.example.com.")));
    }

    #[test]
    fn a_list_has_one_suffix_per_line_with_comments() {
        let mut list = SuffixSet::default();
        list.insert_list("# customers\nexample.com\n\n  example.net. # trailing comment\n")
            .unwrap();
        assert_eq!(list, set(&["example.com", "example.net"]));
        let error = SuffixSet::default()
            .insert_list("example.com\nbad..name\n")
            .unwrap_err();
        assert_eq!(error.line, 2);
        assert_eq!(error.text, "bad..name");
    }

    #[test]
    fn a_big_list_is_probed_by_the_names_depth() {
        let mut big = SuffixSet::default();
        for n in 0..20_000 {
            big.insert_text(&format!("zone{n}.example")).unwrap();
        }
        assert_eq!(big.len(), 20_000);
        assert!(big.encloses(&wire("www.zone19999.example.")));
        assert!(!big.encloses(&wire("www.zone20000.example.")));
    }

    #[test]
    fn scope_includes_then_excludes() {
        let everything = Scope::default();
        assert!(everything.admits(&wire("anything.test.")));
        let scope = Scope {
            include: set(&["example.com", "example.net"]),
            exclude: set(&["private.example.com"]),
        };
        assert!(scope.admits(&wire("www.example.com.")));
        assert!(scope.admits(&wire("example.net.")));
        assert!(!scope.admits(&wire("host.private.example.com.")));
        assert!(!scope.admits(&wire("private.example.com.")));
        assert!(!scope.admits(&wire("example.org.")));
        assert!(!scope.admits(&wire("com.")));
        let exclude_only = Scope {
            exclude: set(&["example.com"]),
            ..Scope::default()
        };
        assert!(exclude_only.admits(&wire("example.org.")));
        assert!(!exclude_only.admits(&wire("a.example.com.")));
    }
}
