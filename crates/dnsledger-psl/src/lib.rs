//! Registered domains: which part of a name was bought from a registry.
//!
//! The Public Suffix List is compiled in (the `psl` crate), so the answer never depends on
//! a file at run time and every node of a deployment agrees on it. Names are DNS
//! presentation names, absolute (`www.example.co.uk.`) or not; the answers are slices of
//! the input, with its trailing dot when it had one. Names not under a listed suffix fall
//! under the list's implicit `*` rule: their last label is the suffix.

/// The registered domain of `name`: its public suffix plus one label
/// (`www.example.co.uk.` -> `example.co.uk.`). `None` when `name` is itself a public
/// suffix (`co.uk.`), the root, or not a usable name.
pub fn registered_domain(name: &str) -> Option<&str> {
    tail_of(name, psl::domain_str)
}

/// The public suffix of `name` (`www.example.co.uk.` -> `co.uk.`). `None` for the root.
pub fn public_suffix(name: &str) -> Option<&str> {
    tail_of(name, psl::suffix_str)
}

/// Applies `find` to `name` without its trailing dot and returns the same number of
/// trailing characters of `name` itself, so the answer keeps the caller's absolute form.
fn tail_of(name: &str, find: impl Fn(&str) -> Option<&str>) -> Option<&str> {
    let relative = name.strip_suffix('.').unwrap_or(name);
    if relative.is_empty() {
        return None;
    }
    let found = find(relative)?;
    let start = relative.len().checked_sub(found.len())?;
    if start > 0 && relative.as_bytes()[start - 1] != b'.' {
        return None;
    }
    Some(&name[start..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_domain_keeps_the_absolute_form() {
        assert_eq!(
            registered_domain("www.example.co.uk."),
            Some("example.co.uk.")
        );
        assert_eq!(
            registered_domain("www.example.co.uk"),
            Some("example.co.uk")
        );
        assert_eq!(registered_domain("example.com."), Some("example.com."));
    }

    #[test]
    fn a_public_suffix_has_no_registered_domain() {
        assert_eq!(registered_domain("co.uk."), None);
        assert_eq!(registered_domain("com."), None);
        assert_eq!(registered_domain("."), None);
        assert_eq!(registered_domain(""), None);
    }

    #[test]
    fn private_suffixes_count() {
        assert_eq!(
            registered_domain("a.b.blogspot.com."),
            Some("b.blogspot.com.")
        );
        assert_eq!(public_suffix("a.b.blogspot.com."), Some("blogspot.com."));
    }

    #[test]
    fn unlisted_tlds_fall_under_the_star_rule() {
        assert_eq!(
            registered_domain("x.y.example-test."),
            Some("y.example-test.")
        );
        assert_eq!(public_suffix("x.y.example-test."), Some("example-test."));
    }

    #[test]
    fn punycode_stays_punycode() {
        assert_eq!(
            registered_domain("www.xn--80ak6aa92e.com."),
            Some("xn--80ak6aa92e.com.")
        );
    }
}
