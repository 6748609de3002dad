//! Canonical names: what rules and checked names are compared as.

use std::borrow::Cow;

/// Longest name in presentation form without the trailing dot (RFC 1035: 255 octets on the
/// wire).
pub(crate) const MAX_NAME_LEN: usize = 253;
/// Longest label (RFC 1035).
pub(crate) const MAX_LABEL_LEN: usize = 63;

/// `name` in canonical form: ASCII lower case, no trailing dot. Borrows when the name is
/// already canonical, which is the common case for names read from the store.
pub(crate) fn canonical(name: &str) -> Cow<'_, str> {
    let relative = name.strip_suffix('.').unwrap_or(name);
    if relative.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(relative.to_ascii_lowercase())
    } else {
        Cow::Borrowed(relative)
    }
}

/// Why a name in a rule is not usable, or `None` when it is. Rule names are written by
/// people: printable ASCII only (IDNs in their `xn--` form), no empty label, RFC lengths.
pub(crate) fn name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("the name is empty");
    }
    if name.len() > MAX_NAME_LEN {
        return Some("the name is longer than 253 characters");
    }
    if !name.bytes().all(|b| b.is_ascii_graphic()) {
        return Some("only printable ASCII is allowed (write IDNs in their xn-- form)");
    }
    if name.split('.').any(str::is_empty) {
        return Some("the name has an empty label");
    }
    if name.split('.').any(|label| label.len() > MAX_LABEL_LEN) {
        return Some("a label is longer than 63 characters");
    }
    None
}

/// Whether `name` is `ancestor` or below it, label-wise (`www.example.com` is below
/// `example.com`; `anexample.com` is not).
pub(crate) fn is_at_or_below(name: &str, ancestor: &str) -> bool {
    match name.strip_suffix(ancestor) {
        Some("") => true,
        Some(rest) => rest.ends_with('.'),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_form_lowercases_and_drops_the_trailing_dot() {
        assert_eq!(canonical("Www.Example.COM."), "www.example.com");
        assert!(matches!(canonical("www.example.com."), Cow::Borrowed(_)));
        assert_eq!(canonical("."), "");
    }

    #[test]
    fn problems_are_named() {
        assert_eq!(name_problem("example.com"), None);
        assert_eq!(name_problem("_dmarc.example.com"), None);
        assert!(name_problem("").is_some());
        assert!(name_problem("a..b").is_some());
        assert!(name_problem("a b.com").is_some());
        assert!(name_problem("пример.рф").is_some());
        assert!(name_problem(&"a".repeat(64)).is_some());
        assert!(name_problem(&["a"; 130].join(".")).is_some());
    }

    #[test]
    fn below_is_label_wise() {
        assert!(is_at_or_below("example.com", "example.com"));
        assert!(is_at_or_below("www.example.com", "example.com"));
        assert!(!is_at_or_below("anexample.com", "example.com"));
        assert!(!is_at_or_below("com", "example.com"));
    }
}
