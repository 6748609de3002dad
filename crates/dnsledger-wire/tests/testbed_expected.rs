//! Presentation text against real dnspython output: every rdata of the testbed's expected
//! resolver-to-authoritative RRsets (written by the testbed's `expected.py` with dnspython)
//! must format exactly like dnspython printed it, from the canonical wire it recorded.

use std::io::Read;
use std::path::PathBuf;

use dnsledger_wire::{rdata_to_text, type_from_name};

/// A copy of the testbed's `expected/run3_attack.resolver_auth.rrsets.jsonl` (see its SOURCE.md).
const EXPECTED: &str = "../../fixtures/testbed/run3_attack.resolver_auth.rrsets.jsonl.gz";

fn hex_decode(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length: {s}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or_else(|_| panic!("bad hex {s}")))
        .collect()
}

#[test]
fn every_rdata_formats_like_dnspython() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(EXPECTED);
    let file = std::fs::File::open(&path)
        .unwrap_or_else(|e| panic!("testbed expected file {} is missing: {e}", path.display()));
    let mut text = String::new();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut text)
        .expect("the fixture decompresses");
    let mut checked = 0usize;
    let mut failures = Vec::new();
    for (lineno, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let v: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        let rrtype = v["rrtype"].as_str().expect("rrtype");
        let rtype = type_from_name(rrtype).unwrap_or_else(|| panic!("unknown type {rrtype}"));
        let rdata = v["rdata"].as_array().expect("rdata list");
        let hexes = v["rdata_hex"].as_array().expect("rdata_hex list");
        assert_eq!(rdata.len(), hexes.len(), "line {}", lineno + 1);
        for (want, hex) in rdata.iter().zip(hexes) {
            let want = want.as_str().expect("rdata string");
            let wire = hex_decode(hex.as_str().expect("hex string"));
            let got = rdata_to_text(rtype, &wire);
            if got.as_deref() != Ok(want) {
                failures.push(format!(
                    "line {} {rrtype}: want {want:?}, got {got:?}",
                    lineno + 1
                ));
            }
            checked += 1;
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked > 800, "only {checked} rdata checked");
}
