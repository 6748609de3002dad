//! Rules in their text form (`KIND:VALUE`), parsed and compiled.

use std::fmt;
use std::str::FromStr;

use regex::{Regex, RegexBuilder};

use crate::lookalike::Protected;
use crate::name::{canonical, name_problem};

/// Longest rule text accepted: rules are typed by people, and a bound keeps a hostile one
/// from costing anything.
pub const MAX_RULE_LEN: usize = 1024;

/// Compiled-size bound of a glob or regex program (the `regex` crate's `size_limit`), so a
/// rule like `(a{100}){100}` is refused instead of using memory.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// The kinds of rule, as written before the colon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuleKind {
    /// `exact:NAME`: that name only.
    Exact,
    /// `suffix:NAME`: the name and every name below it.
    Suffix,
    /// `glob:PATTERN`: `*` any run of characters (dots included), `?` one character other
    /// than a dot; everything else literal; the whole name must match.
    Glob,
    /// `regex:EXPR`: the `regex` crate's syntax, searched in the canonical name (anchor
    /// with `^`/`$` to match the whole name).
    Regex,
    /// `lookalike:DOMAIN`: names imitating a registered domain.
    Lookalike,
}

impl RuleKind {
    /// Every kind, as listed in error messages.
    pub const ALL: [RuleKind; 5] = [
        RuleKind::Exact,
        RuleKind::Suffix,
        RuleKind::Glob,
        RuleKind::Regex,
        RuleKind::Lookalike,
    ];

    /// The name written before the colon.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::Exact => "exact",
            RuleKind::Suffix => "suffix",
            RuleKind::Glob => "glob",
            RuleKind::Regex => "regex",
            RuleKind::Lookalike => "lookalike",
        }
    }
}

impl fmt::Display for RuleKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a rule's text was refused.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("rule {0:?} has no kind: write KIND:VALUE, KIND one of exact, suffix, glob, regex, lookalike")]
    MissingKind(String),
    #[error("unknown rule kind {0:?}: use one of exact, suffix, glob, regex, lookalike")]
    UnknownKind(String),
    #[error("the {0} rule has nothing after the colon")]
    Empty(RuleKind),
    #[error("the rule is {0} characters long; the limit is {MAX_RULE_LEN}")]
    TooLong(usize),
    #[error("{kind}:{name}: {problem}")]
    BadName {
        kind: RuleKind,
        name: String,
        problem: &'static str,
    },
    #[error("lookalike:{name}: protect a registered domain ({hint})")]
    NotRegisteredDomain { name: String, hint: String },
    #[error("{kind}:{pattern}: {source}")]
    Pattern {
        kind: RuleKind,
        pattern: String,
        #[source]
        source: Box<regex::Error>,
    },
}

/// One parsed and compiled rule. `Display` gives back its canonical text form, which
/// parses to the same rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// The value in canonical form (names lower-cased, no trailing dot; patterns as given).
    value: String,
    compiled: Compiled,
}

/// What a rule checks with; the variant is the rule's kind.
#[derive(Debug, Clone)]
pub(crate) enum Compiled {
    /// Exact and suffix rules need nothing beyond the canonical name.
    Exact,
    Suffix,
    Glob(Regex),
    Regex(Regex),
    Lookalike(Box<Protected>),
}

impl Rule {
    /// Parses `KIND:VALUE`.
    pub fn parse(text: &str) -> Result<Rule, RuleError> {
        let text = text.trim();
        if text.len() > MAX_RULE_LEN {
            return Err(RuleError::TooLong(text.len()));
        }
        let (kind, value) = text
            .split_once(':')
            .ok_or_else(|| RuleError::MissingKind(text.to_owned()))?;
        let kind = RuleKind::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(kind.trim()))
            .ok_or_else(|| RuleError::UnknownKind(kind.to_owned()))?;
        let value = value.trim();
        if value.is_empty() {
            return Err(RuleError::Empty(kind));
        }
        let (value, compiled) = match kind {
            RuleKind::Exact => (checked_name(kind, value)?, Compiled::Exact),
            RuleKind::Suffix => (checked_name(kind, value)?, Compiled::Suffix),
            RuleKind::Glob => (
                value.to_owned(),
                Compiled::Glob(compile(kind, value, &glob_to_regex(value))?),
            ),
            RuleKind::Regex => (
                value.to_owned(),
                Compiled::Regex(compile(kind, value, value)?),
            ),
            RuleKind::Lookalike => {
                let name = protected_domain(value)?;
                let protected = Box::new(Protected::new(&name));
                (name, Compiled::Lookalike(protected))
            }
        };
        Ok(Rule { value, compiled })
    }

    /// The kind of rule.
    pub fn kind(&self) -> RuleKind {
        match self.compiled {
            Compiled::Exact => RuleKind::Exact,
            Compiled::Suffix => RuleKind::Suffix,
            Compiled::Glob(_) => RuleKind::Glob,
            Compiled::Regex(_) => RuleKind::Regex,
            Compiled::Lookalike(_) => RuleKind::Lookalike,
        }
    }

    /// The value after the colon, canonical.
    pub fn value(&self) -> &str {
        &self.value
    }

    pub(crate) fn compiled(&self) -> &Compiled {
        &self.compiled
    }
}

fn compile(kind: RuleKind, value: &str, expression: &str) -> Result<Regex, RuleError> {
    RegexBuilder::new(expression)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|source| RuleError::Pattern {
            kind,
            pattern: value.to_owned(),
            source: Box::new(source),
        })
}

/// The canonical protected name of a look-alike rule: it must be a registered domain, so
/// that "the protected name and everything below it" is well defined.
fn protected_domain(value: &str) -> Result<String, RuleError> {
    let name = checked_name(RuleKind::Lookalike, value)?;
    match dnsledger_psl::registered_domain(&name) {
        Some(registered) if registered == name => Ok(name),
        Some(registered) => Err(RuleError::NotRegisteredDomain {
            hint: format!("its registered domain is {registered}"),
            name,
        }),
        None => Err(RuleError::NotRegisteredDomain {
            hint: "this is a public suffix".to_owned(),
            name,
        }),
    }
}

impl FromStr for Rule {
    type Err = RuleError;

    fn from_str(text: &str) -> Result<Rule, RuleError> {
        Rule::parse(text)
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind(), self.value)
    }
}

fn checked_name(kind: RuleKind, value: &str) -> Result<String, RuleError> {
    let name = canonical(value).into_owned();
    match name_problem(&name) {
        None => Ok(name),
        Some(problem) => Err(RuleError::BadName {
            kind,
            name: value.to_owned(),
            problem,
        }),
    }
}

/// The anchored regular expression of a glob (see [`RuleKind::Glob`]).
fn glob_to_regex(glob: &str) -> String {
    let mut expression = String::with_capacity(glob.len() * 2 + 2);
    expression.push('^');
    for c in glob.to_ascii_lowercase().chars() {
        match c {
            '*' => expression.push_str(".*"),
            '?' => expression.push_str("[^.]"),
            _ => expression.push_str(&regex::escape(c.encode_utf8(&mut [0; 4]))),
        }
    }
    expression.push('$');
    expression
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        Rule::parse(text).unwrap_err().to_string()
    }

    #[test]
    fn rules_parse_to_their_canonical_text() {
        for (text, canonical) in [
            ("exact:WWW.Example.com.", "exact:www.example.com"),
            ("suffix:example.com", "suffix:example.com"),
            (" Glob: *.paypa?.* ", "glob:*.paypa?.*"),
            ("regex:^login\\.", "regex:^login\\."),
            ("lookalike:PayPal.com.", "lookalike:paypal.com"),
            ("lookalike:amazon.co.uk", "lookalike:amazon.co.uk"),
        ] {
            let rule = Rule::parse(text).unwrap();
            assert_eq!(rule.to_string(), canonical);
            assert_eq!(Rule::parse(canonical).unwrap().to_string(), canonical);
        }
    }

    #[test]
    fn bad_rules_say_what_is_wrong() {
        assert!(error("example.com").contains("has no kind"));
        assert!(error("prefix:example.com").contains("unknown rule kind \"prefix\""));
        assert!(error("exact:").contains("nothing after the colon"));
        assert!(error("exact:a..b").contains("empty label"));
        assert!(error("suffix:a b").contains("printable ASCII"));
        assert!(error("regex:(").contains("regex:("));
        assert!(error("lookalike:www.paypal.com").contains("registered domain is paypal.com"));
        assert!(error("lookalike:co.uk").contains("public suffix"));
        assert!(error(&format!("exact:{}", "a".repeat(2000))).contains("limit is 1024"));
    }

    #[test]
    fn huge_regexes_are_refused_not_compiled() {
        assert!(error("regex:(\\w{100}){100}").contains("size limit"));
    }

    #[test]
    fn globs_become_anchored_regexes() {
        assert_eq!(glob_to_regex("*.paypa?.*"), "^.*\\.paypa[^.]\\..*$");
        assert_eq!(glob_to_regex("a+b"), "^a\\+b$");
    }
}
