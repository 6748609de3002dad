//! Differential test against dnspython: `tests/data/dnspython_vectors.tsv` holds random
//! well-formed and mutated rdata of every type we format, with what dnspython printed for
//! each (`!` where dnspython refused the rdata). See `gen_dnspython_vectors.py` there.

use dnsledger_wire::{rdata_generic, rdata_to_text, type_from_name};

const VECTORS: &str = include_str!("data/dnspython_vectors.tsv");

fn hex_decode(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// Compares one vector; `None` if it matches.
fn check(rtype_text: &str, wire: &[u8], want: &str) -> Option<String> {
    let rtype = type_from_name(rtype_text).expect("known type");
    // The one deliberate difference: dnspython prints an empty generic rdata as `\# 0 `
    // (with a trailing space); we print RFC 3597's `\# 0`.
    let want = if want == "\\# 0 " { "\\# 0" } else { want };
    let got = rdata_to_text(rtype, wire);
    let ok = match (&got, want) {
        // dnspython refused it: so must we (callers then print the generic form).
        (Err(_), "!") => true,
        (Ok(text), want) => text == want,
        (Err(_), _) => false,
    };
    (!ok).then(|| {
        format!(
            "{rtype_text} {}: want {want:?}, got {got:?}",
            rdata_generic(wire)
        )
    })
}

#[test]
fn rdata_text_matches_dnspython() {
    let mut checked = 0usize;
    let mut refused = 0usize;
    let mut failures = Vec::new();
    for line in VECTORS
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let mut fields = line.splitn(3, '\t');
        let (Some(t), Some(hex), Some(want)) = (fields.next(), fields.next(), fields.next()) else {
            panic!("bad vector line {line:?}");
        };
        checked += 1;
        refused += usize::from(want == "!");
        failures.extend(check(t, &hex_decode(hex), want));
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        checked > 1500 && refused > 300,
        "{checked} vectors, {refused} refused"
    );
}
