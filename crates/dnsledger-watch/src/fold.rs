//! What a label looks like to a reader: punycode decoded, then folded so that labels which
//! look alike fold to the same string.

use std::borrow::Cow;

use unicode_normalization::char::is_combining_mark;

/// ASCII sequences read as another letter. The digits come first because the Unicode
/// skeleton maps them before anything else (`c1` reads `cl`, then `d`); the skeleton
/// also spells `m` as `rn`, which the first pair folds back.
const ASCII_LOOKALIKES: [(&str, &str); 5] = [
    ("0", "o"),
    ("1", "l"),
    ("rn", "m"),
    ("vv", "w"),
    ("cl", "d"),
];

/// The Unicode form of a label: an `xn--` label decoded from punycode. A label that does
/// not decode stays as it is (it is still a name someone registered).
pub(crate) fn unicode_label(label: &str) -> Cow<'_, str> {
    label
        .strip_prefix("xn--")
        .and_then(idna::punycode::decode_to_string)
        .map_or(Cow::Borrowed(label), Cow::Owned)
}

/// The homoglyph fold of a (Unicode) label: the UTS #39 confusable skeleton, without the
/// combining marks that decompose from accented letters (`ä` reads as `a`), lower-cased,
/// then the ASCII look-alike table. Two labels with the same fold look alike.
pub(crate) fn fold(label: &str) -> String {
    let mut folded: String = if is_host_label(label) {
        // The skeleton changes no host-name character but `0`, `1` and `m`, which the
        // table below folds the same way: skip its normalization passes.
        label.to_ascii_lowercase()
    } else {
        unicode_security::skeleton(label)
            .filter(|c| !is_combining_mark(*c))
            .flat_map(char::to_lowercase)
            .collect()
    };
    for (from, to) in ASCII_LOOKALIKES {
        if folded.contains(from) {
            folded = folded.replace(from, to);
        }
    }
    folded
}

fn is_host_label(label: &str) -> bool {
    label
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The ASCII look-alike substitutions, for the generator: each pair read as the other.
pub(crate) fn ascii_lookalikes() -> impl Iterator<Item = (&'static str, &'static str)> {
    ASCII_LOOKALIKES.iter().map(|(from, to)| (*to, *from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn punycode_labels_decode_and_others_stay() {
        assert_eq!(unicode_label("xn--pypal-4ve"), "p\u{430}ypal");
        assert_eq!(unicode_label("paypal"), "paypal");
        assert_eq!(unicode_label("xn--!!"), "xn--!!");
    }

    #[test]
    fn look_alikes_fold_together() {
        let paypal = fold("paypal");
        for lookalike in [
            "paypa1",
            "p\u{430}ypal",
            "payp\u{e4}l",
            "p\u{430}yp\u{430}1",
        ] {
            assert_eq!(fold(lookalike), paypal, "{lookalike}");
        }
        assert_eq!(fold("rnicrosoft"), fold("microsoft"));
        assert_eq!(fold("g00gle"), fold("google"));
        assert_eq!(fold("vvikipedia"), fold("wikipedia"));
        assert_eq!(fold("clropbox"), fold("dropbox"));
        assert_ne!(fold("paypal"), fold("paypel"));
        assert_eq!(fold("c1ropbox"), fold("dropbox"));
    }

    #[test]
    fn the_host_name_shortcut_folds_like_the_skeleton() {
        let skeleton = |label: &str| -> String {
            let mut folded: String = unicode_security::skeleton(label)
                .flat_map(char::to_lowercase)
                .collect();
            for (from, to) in ASCII_LOOKALIKES {
                folded = folded.replace(from, to);
            }
            folded
        };
        let alphabet = "abcdefghijklmnopqrstuvwxyz0123456789-_";
        for a in alphabet.chars() {
            for b in alphabet.chars() {
                let label = format!("x{a}{b}m1");
                assert_eq!(fold(&label), skeleton(&label), "{label}");
            }
        }
    }
}
